/*
 * fuzz_jwks.c: libFuzzer target for the JWK Set parser of src/jose.c. The
 * input is a JWK Set document; what parses is used to verify the RFC 7515
 * A.2 (RS256), A.3 (ES256), A.4 (ES512) and RFC 8037 A.4 (EdDSA) tokens,
 * so that every key the parser accepts also goes through EVP_DigestVerify.
 * Invariants: at most OAUTH2_MAX_JWKS_KEYS keys, a reason for every
 * failure, an empty set finds no key, and no OpenSSL error is left queued.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <openssl/err.h>

#include "bounds.h"
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

static const char *const tokens[] = {
    /* RFC 7515 A.2 */
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"
    "bS9pc19yb290Ijp0cnVlfQ"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4B"
    "h-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
    "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_"
    "dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6L"
    "bgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
    /* RFC 7515 A.3 */
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"
    "bS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKT"
    "UJqPP3-Kg6NU1Q",
    /* RFC 7515 A.4 */
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA"
    ".AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-"
    "KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKv"
    "U8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn",
    /* RFC 8037 A.4 */
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g"
    "7sVvpAr_MuM0KAg",
};
#define NTOKENS (sizeof(tokens) / sizeof(tokens[0]))

static apr_pool_t *root;
static oauth2_jws_t *jws[NTOKENS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    size_t i;

    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    LSAN_OFF();
    for (i = 0; i < NTOKENS; i++) {
        if (oauth2_jose_jws_parse(root, tokens[i], strlen(tokens[i]), &jws[i],
                                  NULL)
            != APR_SUCCESS) {
            abort();
        }
    }
    LSAN_ON();
    return 0;
}

static void check_set(apr_pool_t *p, const oauth2_jwks_t *set)
{
    int n = oauth2_jose_jwks_count(set);
    size_t i;

    if (n < 0 || n > OAUTH2_MAX_JWKS_KEYS) {
        abort();
    }
    for (i = 0; i < NTOKENS; i++) {
        const char *err = NULL;
        apr_status_t rv = oauth2_jose_jws_verify(p, jws[i], set, &err);

        /* The tokens have no kid: without keys there is nothing to try. */
        if ((n == 0 && rv != OAUTH2_ENOTFOUND)
            || (rv != APR_SUCCESS && err == NULL)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    oauth2_jwks_t *set = NULL;
    const char *err = NULL;
    apr_status_t rv;

    apr_pool_create(&p, root);
    rv = oauth2_jose_jwks_parse(p, (const char *)data, size, &set, &err);
    if (rv == APR_SUCCESS) {
        check_set(p, set);
    }
    else if (err == NULL || set != NULL) {
        abort();
    }
    if (ERR_peek_error() != 0) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
