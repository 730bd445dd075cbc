/*
 * fuzz_jws.c: libFuzzer target for the compact JWS parser and verifier of
 * src/jose.c. The input is a compact JWS; it is parsed, and what parses is
 * verified against a fixed JWK Set (the RFC 7515 A.2-A.4 and RFC 8037 A.2
 * keys, an RSA key marked "alg":"PS256", a P-384 and an Ed448 key), and its
 * payload is parsed as claims. Invariants: every failure has a reason, no
 * OpenSSL error is left queued, only accepted algorithms can verify, and a
 * verified payload is exactly what the token carries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <openssl/err.h>

#include "bounds.h"
#include "claims.h"
#include "errors.h"
#include "jose.h"

/* The fixed objects live as long as the process, in pool memory that
 * LeakSanitizer does not scan (APR's allocator uses mmap): they are made
 * with leak detection off, so that they are not reported as leaks. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define LSAN_OFF() __lsan_disable()
#define LSAN_ON()  __lsan_enable()
#endif
#endif
#ifndef LSAN_OFF
#define LSAN_OFF()
#define LSAN_ON()
#endif

static const char fixed_jwks[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJ"
    "cyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT"
    "-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-b"
    "Sf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsm"
    "tdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAc"
    "o9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\",\"e\":\"AQAB\"},{"
    "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus"
    "9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},{\""
    "kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk"
    "06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk\",\"y\":\"ADSm"
    "RA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0A"
    "ZMaZmh9ubmf63e3kyMj2\"},{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYK"
    "xCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},{\"kty\":\"RSA\",\"kid\":\"rsa-p"
    "s\",\"alg\":\"PS256\",\"use\":\"sig\",\"n\":\"0Jef5w28ncfJU0wdWq4khYE5VOu7ZD"
    "3sEShCwEMo-R0OIU2aTtnhZ_CUQRQnUZjtN0evvCjKU-qWSzyLy0Q5esajkD9QVx"
    "vn15l9lzNED8ZirnKVGd1czNy_5T68A7vyAwpnZ0VbCgXyRGiE97U_PiIF8a33SC"
    "t_pws83jdujvLeNPSgo8gBjUg__xPJkkHUQ4R1ZRN3ln9dNwt8FZA3tXIDZ-hi0M"
    "1VimRW0GzdhEjojAeIcd2lPpxYFw4NIgTQoLlb8vpjm2UulLvuWkVkcqhg1Twbu5"
    "5AzWQD68bfQz1kXkUIGxfEoZzsNZmnzzlh4JuIdNvLb2CxyEmAXn7FfQ\",\"e\":\"A"
    "QAB\"},{\"kty\":\"EC\",\"kid\":\"p384\",\"crv\":\"P-384\",\"x\":\"bF5Nb_I47Eya-b"
    "3L0QhffJpD7y51pkn98oMEj6KrdMV2jNJcEbkbbb2CFNrwufG8\",\"y\":\"RNB5xWw"
    "dsObagJZQCpPzju_hkLxw6L1o0tOXztXDXhC_wXCqlKHMVIdEsCqatTtr\"},{\"kt"
    "y\":\"OKP\",\"kid\":\"ed448\",\"crv\":\"Ed448\",\"x\":\"hdZbKNhKLrAdqdTNu17iGI"
    "lW1iDZTLMwrRFUpL902CFmt-PtzqubnmuZGVqRAJ9LhcJ9VxRayiEA\"}]}";

static apr_pool_t *root;
static oauth2_jwks_t *jwks;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *err = NULL;

    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    LSAN_OFF();
    if (oauth2_jose_jwks_parse(root, fixed_jwks, sizeof(fixed_jwks) - 1, &jwks,
                               &err)
            != APR_SUCCESS
        || oauth2_jose_jwks_count(jwks) != 7) {
        abort();
    }
    LSAN_ON();
    return 0;
}

/* Only the algorithms of jose.h may ever verify. */
static void check_verified(const oauth2_jws_t *jws)
{
    static const char *const ok[] = { "RS256", "RS384", "RS512", "PS256",
                                      "PS384", "PS512", "ES256", "ES384",
                                      "ES512", "EdDSA" };
    const char *alg = oauth2_jose_jws_alg(jws);
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (strcmp(alg, ok[i]) == 0) {
            return;
        }
    }
    abort();
}

static void check_parsed(apr_pool_t *p, const oauth2_jws_t *jws)
{
    apr_size_t len = 0;
    const char *payload = oauth2_jose_jws_payload(jws, &len);
    const char *err = NULL;
    oauth2_claims_t *claims;
    apr_status_t rv;

    if (oauth2_jose_jws_alg(jws) == NULL || payload == NULL
        || payload[len] != '\0' || len > OAUTH2_MAX_JWT) {
        abort();
    }
    rv = oauth2_jose_jws_verify(p, jws, jwks, &err);
    if (rv == APR_SUCCESS) {
        check_verified(jws);
    }
    else if (err == NULL
             || (rv != OAUTH2_EREFUSED && rv != OAUTH2_ENOTFOUND
                 && rv != OAUTH2_EBADSIG && rv != OAUTH2_ECRYPTO)) {
        abort();
    }
    (void)oauth2_claims_parse(p, payload, len, OAUTH2_MAX_JWT, &claims, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    oauth2_jws_t *jws = NULL;
    const char *err = NULL;
    apr_status_t rv;

    apr_pool_create(&p, root);
    rv = oauth2_jose_jws_parse(p, (const char *)data, size, &jws, &err);
    if (rv == APR_SUCCESS) {
        check_parsed(p, jws);
    }
    else if (err == NULL || jws != NULL
             || (rv != OAUTH2_EMALFORMED && rv != OAUTH2_ETOOBIG)) {
        abort();
    }
    if (ERR_peek_error() != 0) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
