/*
 * test_jose.c: unit tests for src/jose.c: JWK Set parsing, compact JWS
 * parsing and signature verification.
 *
 * Known-good cases: the RFC 7515 Appendix A.2 (RS256) and A.3 (ES256)
 * examples and the RFC 8037 Appendix A.4 (Ed25519) example, verbatim; for
 * every other algorithm, keys generated here with OpenSSL, tokens signed
 * with the private key, and JWKs built from the public components.
 * Negative cases are tables: malformed compact forms, refused algorithms
 * (none, HMAC with the RSA public key as secret), alg/key mismatches, bad
 * signatures, and JWK Sets with garbage in them.
 */
#include "jose.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base64url.h"
#include "bounds.h"
#include "errors.h"

/* RFC 7515 Appendix A.2: RS256. */
static const char *a2_jwks =
    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_"
    "wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-"
    "SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3"
    "qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kz"
    "k2PAcDTW9gb54h4FRWyuXpoQ\",\"e\":\"AQAB\"}]}";
static const char *a2_jws =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"
    "bS9pc19yb290Ijp0cnVlfQ"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4B"
    "h-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
    "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_"
    "dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6L"
    "bgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
/* The A.2 and A.3 payload (CRLF line breaks included). */
static const char *a2_payload = "{\"iss\":\"joe\",\r\n"
                                " \"exp\":1300819380,\r\n"
                                " \"http://example.com/is_root\":true}";

/* RFC 7515 Appendix A.3: ES256. */
static const char *a3_jwks =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";
static const char *a3_jws =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"
    "bS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKT"
    "UJqPP3-Kg6NU1Q";

/* RFC 7515 Appendix A.4: ES512 (P-521, 66-byte coordinates). */
static const char *a4_jwks =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-521\","
    "\"x\":\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvL"
    "FV1jSfS9tsz4qUxcWceqwQGk\","
    "\"y\":\"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4K"
    "kd0AZMaZmh9ubmf63e3kyMj2\"}]}";
static const char *a4_jws =
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA"
    ".AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-"
    "KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKv"
    "U8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

/* RFC 8037 Appendix A.2 (public key) and A.4 (JWS): Ed25519. */
static const char *rfc8037_jwks =
    "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";
static const char *rfc8037_jws =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g"
    "7sVvpAr_MuM0KAg";

/*
 * Keys generated once for the whole run.
 */
typedef enum {
    K_RSA,
    K_RSA1024,
    K_P256,
    K_P384,
    K_P521,
    K_ED25519,
    K_ED448,
    K_COUNT
} kname_e;

typedef struct {
    const char *kid;
    const char *type; /* EVP_PKEY_Q_keygen type */
    const char *param;
    size_t bits;
    EVP_PKEY *pkey;
    const char *jwk; /* public members, without braces, kid or alg */
} tkey_t;

static tkey_t tkeys[K_COUNT] = {
    { "rsa", "RSA", NULL, 2048, NULL, NULL },
    { "rsa1024", "RSA", NULL, 1024, NULL, NULL },
    { "p256", "EC", "P-256", 0, NULL, NULL },
    { "p384", "EC", "P-384", 0, NULL, NULL },
    { "p521", "EC", "P-521", 0, NULL, NULL },
    { "ed25519", "ED25519", NULL, 0, NULL, NULL },
    { "ed448", "ED448", NULL, 0, NULL, NULL },
};

static apr_pool_t *gpool; /* keys and their JWKs, for the whole run */

static const char *b64(apr_pool_t *p, const void *data, size_t len)
{
    return oauth2_base64url_encode(p, data, len);
}

static const char *b64s(apr_pool_t *p, const char *s)
{
    return b64(p, s, strlen(s));
}

static const char *bn_param_b64(apr_pool_t *p, EVP_PKEY *pk, const char *name,
                                int pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;

    assert_int_equal(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
    n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    assert_true(n > 0);
    BN_free(bn);
    return b64(p, buf, (size_t)n);
}

static const char *public_jwk(apr_pool_t *p, const tkey_t *k)
{
    unsigned char raw[64];
    size_t rawlen = sizeof(raw);
    int coord;

    if (strcmp(k->type, "RSA") == 0) {
        return apr_psprintf(p, "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"",
                            bn_param_b64(p, k->pkey, OSSL_PKEY_PARAM_RSA_N, 0),
                            bn_param_b64(p, k->pkey, OSSL_PKEY_PARAM_RSA_E, 0));
    }
    if (strcmp(k->type, "EC") == 0) {
        coord = strcmp(k->param, "P-256") == 0   ? 32
                : strcmp(k->param, "P-384") == 0 ? 48
                                                 : 66;
        return apr_psprintf(
            p, "\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"",
            k->param, bn_param_b64(p, k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, coord),
            bn_param_b64(p, k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, coord));
    }
    assert_int_equal(EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen), 1);
    return apr_psprintf(p, "\"kty\":\"OKP\",\"crv\":\"%s\",\"x\":\"%s\"",
                        strcmp(k->type, "ED25519") == 0 ? "Ed25519" : "Ed448",
                        b64(p, raw, rawlen));
}

static int group_setup(void **state)
{
    int i;

    (void)state;
    if (apr_pool_create(&gpool, NULL) != APR_SUCCESS) {
        return -1;
    }
    for (i = 0; i < K_COUNT; i++) {
        tkey_t *k = &tkeys[i];

        if (k->bits) {
            k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, k->type, k->bits);
        }
        else if (k->param) {
            k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, k->type, k->param);
        }
        else {
            k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, k->type);
        }
        if (k->pkey == NULL) {
            return -1;
        }
        k->jwk = public_jwk(gpool, k);
    }
    return 0;
}

static int group_teardown(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < K_COUNT; i++) {
        EVP_PKEY_free(tkeys[i].pkey);
    }
    apr_pool_destroy(gpool);
    return 0;
}

static int setup(void **state)
{
    apr_pool_t *p = NULL;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(*state);
    /* Every failure path must leave OpenSSL's error queue empty. */
    if (ERR_peek_error() != 0) {
        ERR_print_errors_fp(stderr);
        return -1;
    }
    return 0;
}

/* A JWK Set with every generated key, each with its kid (and an "alg"
 * member when alg is not NULL for key k_alg). */
static const char *all_keys_jwks(apr_pool_t *p, int k_alg, const char *alg)
{
    char *s = "{\"keys\":[";
    int i;

    for (i = 0; i < K_COUNT; i++) {
        s = apr_psprintf(
            p, "%s%s{\"kid\":\"%s\",%s%s%s%s}", s, i ? "," : "", tkeys[i].kid,
            tkeys[i].jwk, i == k_alg && alg ? ",\"alg\":\"" : "",
            i == k_alg && alg ? alg : "", i == k_alg && alg ? "\"" : "");
    }
    return apr_pstrcat(p, s, "]}", NULL);
}

static oauth2_jwks_t *jwks_ok(apr_pool_t *p, const char *json)
{
    oauth2_jwks_t *jwks = NULL;
    const char *err = NULL;

    if (oauth2_jose_jwks_parse(p, json, strlen(json), &jwks, &err)
        != APR_SUCCESS) {
        fail_msg("JWKS refused: %s", err);
    }
    /* Skipped keys must not leave errors behind for the next caller. */
    assert_int_equal(ERR_peek_error(), 0);
    return jwks;
}

static const EVP_MD *alg_md(const char *alg)
{
    if (strcmp(alg, "EdDSA") == 0) {
        return NULL;
    }
    if (strcmp(alg + 2, "256") == 0) {
        return EVP_sha256();
    }
    return strcmp(alg + 2, "384") == 0 ? EVP_sha384() : EVP_sha512();
}

/* RFC 7518 §3.4: the DER signature OpenSSL makes, as R || S. */
static void der_to_raw(const unsigned char *der, size_t derlen,
                       unsigned char *raw, int coord)
{
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)derlen);
    const BIGNUM *r, *s;

    assert_non_null(es);
    ECDSA_SIG_get0(es, &r, &s);
    assert_int_equal(BN_bn2binpad(r, raw, coord), coord);
    assert_int_equal(BN_bn2binpad(s, raw + coord, coord), coord);
    ECDSA_SIG_free(es);
}

/* PSS parameters for signing; the defaults are RFC 7518 §3.5's. */
typedef struct {
    int saltlen;
    const EVP_MD *mgf1; /* NULL: the signature hash */
} pss_opt_t;

static const pss_opt_t pss_default = { RSA_PSS_SALTLEN_DIGEST, NULL };

static void sign_raw(EVP_PKEY *pk, const char *alg, const pss_opt_t *o,
                     const char *in, unsigned char *sig, size_t *siglen)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    const EVP_MD *md = alg_md(alg);

    assert_int_equal(EVP_DigestSignInit(m, &pc, md, NULL, pk), 1);
    if (alg[0] == 'P') {
        assert_int_equal(
            EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, o->saltlen), 1);
        assert_int_equal(
            EVP_PKEY_CTX_set_rsa_mgf1_md(pc, o->mgf1 ? o->mgf1 : md), 1);
    }
    assert_int_equal(
        EVP_DigestSign(m, sig, siglen, (const unsigned char *)in, strlen(in)),
        1);
    EVP_MD_CTX_free(m);
}

/* A compact JWS of payload with header hdr (JSON), signed by pk as alg. */
static char *sign_hdr(apr_pool_t *p, EVP_PKEY *pk, const char *alg,
                      const char *hdr, const char *payload, const pss_opt_t *o)
{
    char *input = apr_pstrcat(p, b64s(p, hdr), ".", b64s(p, payload), NULL);
    unsigned char sig[1024], raw[132];
    size_t siglen = sizeof(sig);
    int coord;

    sign_raw(pk, alg, o ? o : &pss_default, input, sig, &siglen);
    if (alg[0] == 'E' && alg[1] == 'S') {
        coord = alg[2] == '2' ? 32 : alg[2] == '3' ? 48 : 66;
        der_to_raw(sig, siglen, raw, coord);
        return apr_pstrcat(p, input, ".", b64(p, raw, 2 * (size_t)coord), NULL);
    }
    return apr_pstrcat(p, input, ".", b64(p, sig, siglen), NULL);
}

static char *sign_as(apr_pool_t *p, kname_e k, const char *alg, const char *kid)
{
    const char *hdr =
        kid ? apr_psprintf(p, "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid)
            : apr_psprintf(p, "{\"alg\":\"%s\"}", alg);

    return sign_hdr(p, tkeys[k].pkey, alg, hdr, "{\"sub\":\"alice\"}", NULL);
}

static apr_status_t verify(apr_pool_t *p, const char *compact,
                           const oauth2_jwks_t *jwks, const char **err)
{
    oauth2_jws_t *jws = NULL;
    apr_status_t rv;

    rv = oauth2_jose_jws_parse(p, compact, strlen(compact), &jws, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return oauth2_jose_jws_verify(p, jws, jwks, err);
}

/*
 * Known-good cases.
 */

static void test_jose_rfc7515_a2_rs256(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(p, a2_jwks);
    oauth2_jws_t *jws = NULL;
    const char *err = NULL;
    apr_size_t len = 0;

    assert_int_equal(oauth2_jose_jwks_count(jwks), 1);
    assert_int_equal(
        oauth2_jose_jws_parse(p, a2_jws, strlen(a2_jws), &jws, &err),
        APR_SUCCESS);
    assert_string_equal(oauth2_jose_jws_alg(jws), "RS256");
    assert_null(oauth2_jose_jws_kid(jws));
    assert_null(oauth2_jose_jws_typ(jws));
    assert_string_equal(oauth2_jose_jws_payload(jws, &len), a2_payload);
    assert_int_equal(len, strlen(a2_payload));
    assert_int_equal(oauth2_jose_jws_verify(p, jws, jwks, &err), APR_SUCCESS);
}

static void test_jose_rfc7515_a3_es256(void **state)
{
    apr_pool_t *p = *state;
    const char *err = NULL;

    assert_int_equal(verify(p, a3_jws, jwks_ok(p, a3_jwks), &err), APR_SUCCESS);
}

static void test_jose_rfc7515_a4_es512(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jws_t *jws = NULL;
    const char *err = NULL;

    assert_int_equal(
        oauth2_jose_jws_parse(p, a4_jws, strlen(a4_jws), &jws, &err),
        APR_SUCCESS);
    assert_string_equal(oauth2_jose_jws_payload(jws, NULL), "Payload");
    assert_int_equal(oauth2_jose_jws_verify(p, jws, jwks_ok(p, a4_jwks), &err),
                     APR_SUCCESS);
}

static void test_jose_rfc8037_a4_ed25519(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jws_t *jws = NULL;
    const char *err = NULL;

    assert_int_equal(
        oauth2_jose_jws_parse(p, rfc8037_jws, strlen(rfc8037_jws), &jws, &err),
        APR_SUCCESS);
    assert_string_equal(oauth2_jose_jws_payload(jws, NULL),
                        "Example of Ed25519 signing");
    assert_int_equal(
        oauth2_jose_jws_verify(p, jws, jwks_ok(p, rfc8037_jwks), &err),
        APR_SUCCESS);
}

static const struct {
    const char *alg;
    kname_e key;
} good[] = {
    { "RS256", K_RSA },     { "RS384", K_RSA },   { "RS512", K_RSA },
    { "PS256", K_RSA },     { "PS384", K_RSA },   { "PS512", K_RSA },
    { "ES256", K_P256 },    { "ES384", K_P384 },  { "ES512", K_P521 },
    { "EdDSA", K_ED25519 }, { "EdDSA", K_ED448 },
};

static void test_jose_every_alg_verifies(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(p, all_keys_jwks(p, -1, NULL));
    size_t i;

    assert_int_equal(oauth2_jose_jwks_count(jwks), K_COUNT);
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const char *kid = tkeys[good[i].key].kid;
        const char *err = NULL;
        apr_status_t rv;

        /* With the kid, then without: every fitting key is tried. */
        rv = verify(p, sign_as(p, good[i].key, good[i].alg, kid), jwks, &err);
        if (rv != APR_SUCCESS) {
            fail_msg("%s/%s: %s (%s)", good[i].alg, kid, oauth2_strerror(rv),
                     err);
        }
        rv = verify(p, sign_as(p, good[i].key, good[i].alg, NULL), jwks, &err);
        if (rv != APR_SUCCESS) {
            fail_msg("%s without kid: %s (%s)", good[i].alg,
                     oauth2_strerror(rv), err);
        }
    }
}

static void test_jose_key_alg_member_matching(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(p, all_keys_jwks(p, K_RSA, "PS256"));

    assert_int_equal(verify(p, sign_as(p, K_RSA, "PS256", "rsa"), jwks, NULL),
                     APR_SUCCESS);
}

static void test_jose_header_fields(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jws_t *jws = NULL;
    char *t = sign_hdr(p, tkeys[K_P256].pkey, "ES256",
                       "{\"typ\":\"logout+jwt\",\"alg\":\"ES256\","
                       "\"kid\":\"p256\",\"x-extra\":[1,{}]}",
                       "{}", NULL);

    assert_int_equal(oauth2_jose_jws_parse(p, t, strlen(t), &jws, NULL),
                     APR_SUCCESS);
    assert_string_equal(oauth2_jose_jws_typ(jws), "logout+jwt");
    assert_string_equal(oauth2_jose_jws_kid(jws), "p256");
    assert_null(oauth2_jose_jws_alg(NULL));
    assert_null(oauth2_jose_jws_kid(NULL));
    assert_null(oauth2_jose_jws_typ(NULL));
    assert_null(oauth2_jose_jws_payload(NULL, NULL));
}

/*
 * Refused algorithms and alg/key mismatches.
 */

static void test_jose_alg_none_refused(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(p, all_keys_jwks(p, -1, NULL));
    const char *payload = b64s(p, "{\"sub\":\"admin\"}");
    const char *nones[] = { "none", "None", "NONE", "nOnE" };
    size_t i;

    for (i = 0; i < sizeof(nones) / sizeof(nones[0]); i++) {
        const char *hdr =
            b64s(p, apr_psprintf(p, "{\"alg\":\"%s\"}", nones[i]));
        const char *err = NULL;

        /* RFC 7519 §6.1 unsecured form: empty signature. */
        assert_int_equal(
            verify(p, apr_pstrcat(p, hdr, ".", payload, ".", NULL), jwks, &err),
            OAUTH2_EMALFORMED);
        /* The same with a signature that some other key made. */
        assert_int_equal(
            verify(
                p,
                apr_pstrcat(p, hdr, ".", payload, ".",
                            strrchr(sign_as(p, K_RSA, "RS256", NULL), '.') + 1,
                            NULL),
                jwks, &err),
            OAUTH2_EREFUSED);
        assert_non_null(err);
    }
}

/* The classic key confusion: the RSA public key, as PEM or DER bytes, used
 * as an HMAC secret (RFC 8725 §2.1). */
static void test_jose_hmac_with_public_key_refused(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(p, all_keys_jwks(p, -1, NULL));
    const char *hs[] = { "HS256", "HS384", "HS512" };
    BIO *bio = BIO_new(BIO_s_mem());
    unsigned char *der = NULL;
    char *pem;
    long pemlen;
    int derlen;
    size_t i;

    assert_int_equal(PEM_write_bio_PUBKEY(bio, tkeys[K_RSA].pkey), 1);
    pemlen = BIO_get_mem_data(bio, &pem);
    derlen = i2d_PUBKEY(tkeys[K_RSA].pkey, &der);
    assert_true(derlen > 0);
    for (i = 0; i < 2 * sizeof(hs) / sizeof(hs[0]); i++) {
        const char *alg = hs[i / 2];
        const void *secret = i % 2 ? (const void *)der : (const void *)pem;
        size_t secretlen = i % 2 ? (size_t)derlen : (size_t)pemlen;
        char *input = apr_pstrcat(
            p,
            b64s(p, apr_psprintf(p, "{\"alg\":\"%s\",\"kid\":\"rsa\"}", alg)),
            ".", b64s(p, "{\"sub\":\"admin\"}"), NULL);
        unsigned char mac[64];
        size_t maclen = 0;
        const char *err = NULL;

        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL,
                                  alg[3] == '2'   ? "SHA256"
                                  : alg[3] == '3' ? "SHA384"
                                                  : "SHA512",
                                  NULL, secret, secretlen,
                                  (unsigned char *)input, strlen(input), mac,
                                  sizeof(mac), &maclen));
        assert_int_equal(
            verify(p, apr_pstrcat(p, input, ".", b64(p, mac, maclen), NULL),
                   jwks, &err),
            OAUTH2_EREFUSED);
    }
    OPENSSL_free(der);
    BIO_free(bio);
}

static void test_jose_oct_keys_skipped(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(
        p, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\",\"alg\":\"HS256\","
           "\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH"
           "75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}]}");
    unsigned char mac[32] = { 1, 2, 3 };
    const char *t = apr_pstrcat(p, b64s(p, "{\"alg\":\"HS256\",\"kid\":\"h\"}"),
                                ".e30.", b64(p, mac, sizeof(mac)), NULL);

    assert_int_equal(oauth2_jose_jwks_count(jwks), 0);
    assert_int_equal(verify(p, t, jwks, NULL), OAUTH2_EREFUSED);
}

static const struct {
    const char *name;
    kname_e signer;   /* key that signs */
    const char *alg;  /* alg in the header */
    const char *kid;  /* kid in the header */
    int key_with_alg; /* key that gets an "alg" member (-1: none) */
    const char *kalg; /* its value */
    apr_status_t rv;
} mismatch[] = {
    { "RS256 with an EC key's kid", K_RSA, "RS256", "p256", -1, NULL,
      OAUTH2_EREFUSED },
    { "ES256 with a P-384 key", K_P384, "ES256", "p384", -1, NULL,
      OAUTH2_EREFUSED },
    { "ES384 with a P-256 key", K_P256, "ES384", "p256", -1, NULL,
      OAUTH2_EREFUSED },
    { "ES512 with a P-384 key", K_P384, "ES512", "p384", -1, NULL,
      OAUTH2_EREFUSED },
    { "ES256 with an RSA key", K_RSA, "ES256", "rsa", -1, NULL,
      OAUTH2_EREFUSED },
    { "ES256 with an Ed25519 key", K_ED25519, "ES256", "ed25519", -1, NULL,
      OAUTH2_EREFUSED },
    { "EdDSA with an RSA key", K_RSA, "EdDSA", "rsa", -1, NULL,
      OAUTH2_EREFUSED },
    { "EdDSA with a P-256 key", K_P256, "EdDSA", "p256", -1, NULL,
      OAUTH2_EREFUSED },
    { "PS256 with a P-256 key", K_P256, "PS256", "p256", -1, NULL,
      OAUTH2_EREFUSED },
    { "PS256 with a key that says RS256", K_RSA, "PS256", "rsa", K_RSA, "RS256",
      OAUTH2_EREFUSED },
    { "RS256 with a key that says PS256", K_RSA, "RS256", "rsa", K_RSA, "PS256",
      OAUTH2_EREFUSED },
    { "ES256 with a key that says ES384", K_P256, "ES256", "p256", K_P256,
      "ES384", OAUTH2_EREFUSED },
    { "RS256 with a 1024-bit key", K_RSA1024, "RS256", "rsa1024", -1, NULL,
      OAUTH2_EREFUSED },
    { "PS256 with a 1024-bit key", K_RSA1024, "PS256", "rsa1024", -1, NULL,
      OAUTH2_EREFUSED },
    { "unknown kid", K_RSA, "RS256", "rotated-away", -1, NULL,
      OAUTH2_ENOTFOUND },
    { "kid differs only in case", K_RSA, "RS256", "RSA", -1, NULL,
      OAUTH2_ENOTFOUND },
    { "1024-bit key, no kid: no key fits", K_RSA1024, "RS256", NULL, K_RSA,
      "PS256", OAUTH2_ENOTFOUND },
    { "ES256 without kid, signed by the P-384 key", K_P384, "ES256", NULL, -1,
      NULL, OAUTH2_EBADSIG },
};

static void test_jose_alg_key_mismatch_refused(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(mismatch) / sizeof(mismatch[0]); i++) {
        oauth2_jwks_t *jwks = jwks_ok(
            p, all_keys_jwks(p, mismatch[i].key_with_alg, mismatch[i].kalg));
        const char *alg = mismatch[i].alg;
        /* Sign with the signer's own algorithm family where the header's
         * alg cannot be produced by that key. */
        const char *signalg =
            strcmp(tkeys[mismatch[i].signer].type, "RSA") == 0
                ? (alg[0] == 'P' ? alg : "RS256")
            : strcmp(tkeys[mismatch[i].signer].type, "EC") == 0
                ? (mismatch[i].signer == K_P256   ? "ES256"
                   : mismatch[i].signer == K_P384 ? "ES384"
                                                  : "ES512")
                : "EdDSA";
        const char *hdr =
            mismatch[i].kid ? apr_psprintf(p, "{\"alg\":\"%s\",\"kid\":\"%s\"}",
                                           alg, mismatch[i].kid)
                            : apr_psprintf(p, "{\"alg\":\"%s\"}", alg);
        char *t = sign_hdr(p, tkeys[mismatch[i].signer].pkey, signalg, hdr,
                           "{}", NULL);
        const char *err = NULL;
        apr_status_t rv = verify(p, t, jwks, &err);

        if (rv != mismatch[i].rv) {
            fail_msg("%s: got %s (%s), want %s", mismatch[i].name,
                     oauth2_strerror(rv), err ? err : "",
                     oauth2_strerror(mismatch[i].rv));
        }
        assert_non_null(err);
    }
}

/*
 * Bad signatures.
 */

static void test_jose_bit_flips_refused(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(p, all_keys_jwks(p, -1, NULL));
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *t = sign_as(p, good[i].key, good[i].alg, tkeys[good[i].key].kid);
        char *dot = strrchr(t, '.');
        unsigned char *sig;
        apr_size_t siglen;
        const char *flipped;
        char *payload_flip;

        /* One bit of the signature, then one bit of the payload. */
        assert_int_equal(
            oauth2_base64url_decode(p, dot + 1, strlen(dot + 1), &sig, &siglen),
            APR_SUCCESS);
        sig[siglen / 2] ^= 0x01;
        flipped = apr_pstrcat(p, apr_pstrmemdup(p, t, (apr_size_t)(dot - t)),
                              ".", b64(p, sig, siglen), NULL);
        if (verify(p, flipped, jwks, NULL) != OAUTH2_EBADSIG) {
            fail_msg("%s: flipped signature bit accepted", good[i].alg);
        }
        /* The payload's first character 'e' becomes 'f': still valid
         * base64url, one bit different. */
        payload_flip = apr_pstrdup(p, t);
        dot = strchr(payload_flip, '.');
        assert_int_equal(dot[1], 'e');
        dot[1] = 'f';
        if (verify(p, payload_flip, jwks, NULL) != OAUTH2_EBADSIG) {
            fail_msg("%s: changed payload accepted", good[i].alg);
        }
    }
}

static void test_jose_pss_parameters_enforced(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(p, all_keys_jwks(p, -1, NULL));
    const char *hdr = "{\"alg\":\"PS256\",\"kid\":\"rsa\"}";
    pss_opt_t salt0 = { 0, NULL };
    pss_opt_t saltmax = { RSA_PSS_SALTLEN_MAX, NULL };
    pss_opt_t mgf_sha1 = { RSA_PSS_SALTLEN_DIGEST, EVP_sha1() };

    /* RFC 7518 §3.5: salt as long as the hash, MGF1 with the same hash. */
    assert_int_equal(
        verify(p,
               sign_hdr(p, tkeys[K_RSA].pkey, "PS256", hdr, "{}", &pss_default),
               jwks, NULL),
        APR_SUCCESS);
    assert_int_equal(
        verify(p, sign_hdr(p, tkeys[K_RSA].pkey, "PS256", hdr, "{}", &salt0),
               jwks, NULL),
        OAUTH2_EBADSIG);
    assert_int_equal(
        verify(p, sign_hdr(p, tkeys[K_RSA].pkey, "PS256", hdr, "{}", &saltmax),
               jwks, NULL),
        OAUTH2_EBADSIG);
    assert_int_equal(
        verify(p, sign_hdr(p, tkeys[K_RSA].pkey, "PS256", hdr, "{}", &mgf_sha1),
               jwks, NULL),
        OAUTH2_EBADSIG);
    /* A PKCS#1 v1.5 signature presented as PS256, and the reverse. */
    assert_int_equal(
        verify(p, sign_hdr(p, tkeys[K_RSA].pkey, "RS256", hdr, "{}", NULL),
               jwks, NULL),
        OAUTH2_EBADSIG);
    assert_int_equal(
        verify(p,
               sign_hdr(p, tkeys[K_RSA].pkey, "PS256",
                        "{\"alg\":\"RS256\",\"kid\":\"rsa\"}", "{}", NULL),
               jwks, NULL),
        OAUTH2_EBADSIG);
}

/* ECDSA signatures that are not exactly R || S of the curve's size. */
static void test_jose_ecdsa_signature_form(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(p, a3_jwks);
    const char *input = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOj"
                        "EzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb2"
                        "90Ijp0cnVlfQ";
    const char *dot = strrchr(a3_jws, '.') + 1;
    unsigned char *sig, big[65], der[80], *q = der;
    apr_size_t siglen;
    ECDSA_SIG *es = ECDSA_SIG_new();
    int derlen;

    assert_int_equal(
        oauth2_base64url_decode(p, dot, strlen(dot), &sig, &siglen),
        APR_SUCCESS);
    assert_int_equal(siglen, 64);
    /* 63 bytes, 65 bytes (leading zero), and the DER form. */
    assert_int_equal(verify(p,
                            apr_pstrcat(p, input, ".", b64(p, sig, 63), NULL),
                            jwks, NULL),
                     OAUTH2_EBADSIG);
    big[0] = 0;
    memcpy(big + 1, sig, 64);
    assert_int_equal(verify(p,
                            apr_pstrcat(p, input, ".", b64(p, big, 65), NULL),
                            jwks, NULL),
                     OAUTH2_EBADSIG);
    ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    derlen = i2d_ECDSA_SIG(es, &q);
    ECDSA_SIG_free(es);
    assert_int_equal(
        verify(p, apr_pstrcat(p, input, ".", b64(p, der, (size_t)derlen), NULL),
               jwks, NULL),
        OAUTH2_EBADSIG);
    /* R = 0 and S = 0. */
    memset(big, 0, 64);
    assert_int_equal(verify(p,
                            apr_pstrcat(p, input, ".", b64(p, big, 64), NULL),
                            jwks, NULL),
                     OAUTH2_EBADSIG);
}

static void test_jose_rsa_signature_length(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(p, a2_jwks);
    const char *dot = strrchr(a2_jws, '.');
    const char *input = apr_pstrmemdup(p, a2_jws, (apr_size_t)(dot - a2_jws));
    unsigned char *sig, longer[257];
    apr_size_t siglen;

    assert_int_equal(
        oauth2_base64url_decode(p, dot + 1, strlen(dot + 1), &sig, &siglen),
        APR_SUCCESS);
    longer[0] = 0;
    memcpy(longer + 1, sig, 256);
    assert_int_equal(
        verify(p, apr_pstrcat(p, input, ".", b64(p, longer, 257), NULL), jwks,
               NULL),
        OAUTH2_EBADSIG);
    assert_int_equal(
        verify(p, apr_pstrcat(p, input, ".", b64(p, sig + 1, 255), NULL), jwks,
               NULL),
        OAUTH2_EBADSIG);
}

/*
 * Malformed compact serializations.
 */

static void test_jose_parse_malformed_table(void **state)
{
    apr_pool_t *p = *state;
    const char *h = "eyJhbGciOiJSUzI1NiJ9"; /* {"alg":"RS256"} */
    const char *pl = "e30";                 /* {} */
    const char *sg = "c2ln";                /* "sig" */
    const struct {
        const char *name;
        const char *t;
        apr_status_t rv;
    } cases[] = {
        { "empty", "", OAUTH2_EMALFORMED },
        { "one segment", h, OAUTH2_EMALFORMED },
        { "two segments", apr_pstrcat(p, h, ".", pl, NULL), OAUTH2_EMALFORMED },
        { "four segments", apr_pstrcat(p, h, ".", pl, ".", sg, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "five segments (JWE)",
          apr_pstrcat(p, h, ".", pl, ".", sg, ".", sg, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "dots only", "..", OAUTH2_EMALFORMED },
        { "empty header", apr_pstrcat(p, ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "empty payload", apr_pstrcat(p, h, "..", sg, NULL),
          OAUTH2_EMALFORMED },
        { "empty signature", apr_pstrcat(p, h, ".", pl, ".", NULL),
          OAUTH2_EMALFORMED },
        { "trailing dot", apr_pstrcat(p, h, ".", pl, ".", sg, ".", NULL),
          OAUTH2_EMALFORMED },
        { "header padded",
          apr_pstrcat(p, "eyJhbGciOiJSUzI1NiJ9==", ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "payload padded", apr_pstrcat(p, h, ".e30=.", sg, NULL),
          OAUTH2_EMALFORMED },
        { "signature with +", apr_pstrcat(p, h, ".", pl, ".c2+n", NULL),
          OAUTH2_EMALFORMED },
        { "signature with /", apr_pstrcat(p, h, ".", pl, ".c2/n", NULL),
          OAUTH2_EMALFORMED },
        { "payload with space", apr_pstrcat(p, h, ".e3 0.", sg, NULL),
          OAUTH2_EMALFORMED },
        { "trailing newline", apr_pstrcat(p, h, ".", pl, ".", sg, "\n", NULL),
          OAUTH2_EMALFORMED },
        { "leading space", apr_pstrcat(p, " ", h, ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "header pad bits",
          apr_pstrcat(p, "eyJhbGciOiJSUzI1NiJ9f", ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "header is an array",
          apr_pstrcat(p, b64s(p, "[\"RS256\"]"), ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "header is a string",
          apr_pstrcat(p, b64s(p, "\"RS256\""), ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "header is null",
          apr_pstrcat(p, b64s(p, "null"), ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "header not JSON",
          apr_pstrcat(p, b64s(p, "{alg:RS256}"), ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "header truncated",
          apr_pstrcat(p, b64s(p, "{\"alg\":\"RS256\""), ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "header with trailing garbage",
          apr_pstrcat(p, b64s(p, "{\"alg\":\"RS256\"}x"), ".", pl, ".", sg,
                      NULL),
          OAUTH2_EMALFORMED },
        { "missing alg",
          apr_pstrcat(p, b64s(p, "{\"kid\":\"rsa\"}"), ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "alg number",
          apr_pstrcat(p, b64s(p, "{\"alg\":256}"), ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "alg null",
          apr_pstrcat(p, b64s(p, "{\"alg\":null}"), ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "alg empty",
          apr_pstrcat(p, b64s(p, "{\"alg\":\"\"}"), ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "alg with NUL",
          apr_pstrcat(p, b64s(p, "{\"alg\":\"RS256\\u0000x\"}"), ".", pl, ".",
                      sg, NULL),
          OAUTH2_EMALFORMED },
        { "kid number",
          apr_pstrcat(p, b64s(p, "{\"alg\":\"RS256\",\"kid\":1}"), ".", pl, ".",
                      sg, NULL),
          OAUTH2_EMALFORMED },
        { "typ object",
          apr_pstrcat(p, b64s(p, "{\"alg\":\"RS256\",\"typ\":{}}"), ".", pl,
                      ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "crit present",
          apr_pstrcat(p,
                      b64s(p, "{\"alg\":\"RS256\",\"crit\":[\"exp\"],"
                              "\"exp\":1}"),
                      ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "crit empty",
          apr_pstrcat(p, b64s(p, "{\"alg\":\"RS256\",\"crit\":[]}"), ".", pl,
                      ".", sg, NULL),
          OAUTH2_EMALFORMED },
        { "b64 false (RFC 7797)",
          apr_pstrcat(p,
                      b64s(p, "{\"alg\":\"RS256\",\"b64\":false,"
                              "\"crit\":[\"b64\"]}"),
                      ".", pl, ".", sg, NULL),
          OAUTH2_EMALFORMED },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_jws_t *jws = NULL;
        const char *err = NULL;
        apr_status_t rv = oauth2_jose_jws_parse(p, cases[i].t,
                                                strlen(cases[i].t), &jws, &err);

        if (rv != cases[i].rv) {
            fail_msg("%s: got %s, want %s", cases[i].name, oauth2_strerror(rv),
                     oauth2_strerror(cases[i].rv));
        }
        assert_null(jws);
        assert_non_null(err);
    }
}

/* A header of exactly len bytes: {"alg":"RS256","x":"xxx..."}. */
static char *header_of_len(apr_pool_t *p, size_t len)
{
    size_t fixed = strlen("{\"alg\":\"RS256\",\"x\":\"\"}");
    char *pad = apr_palloc(p, len - fixed + 1);

    memset(pad, 'x', len - fixed);
    pad[len - fixed] = '\0';
    return apr_psprintf(p, "{\"alg\":\"RS256\",\"x\":\"%s\"}", pad);
}

static void test_jose_parse_size_limits(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jws_t *jws = NULL;
    char *big = apr_palloc(p, OAUTH2_MAX_JWT + 2);
    char *hdr, *t;

    /* A whole token one byte over the limit. */
    memset(big, 'A', OAUTH2_MAX_JWT + 1);
    big[OAUTH2_MAX_JWT + 1] = '\0';
    big[10] = '.';
    big[20] = '.';
    assert_int_equal(oauth2_jose_jws_parse(p, big, strlen(big), &jws, NULL),
                     OAUTH2_ETOOBIG);
    /* A header of OAUTH2_MAX_JWS_HEADER + 1 decoded bytes, then one at
     * the limit. */
    hdr = header_of_len(p, OAUTH2_MAX_JWS_HEADER + 1);
    t = apr_pstrcat(p, b64s(p, hdr), ".e30.c2ln", NULL);
    assert_int_equal(oauth2_jose_jws_parse(p, t, strlen(t), &jws, NULL),
                     OAUTH2_ETOOBIG);
    assert_null(jws);
    hdr = header_of_len(p, OAUTH2_MAX_JWS_HEADER);
    t = apr_pstrcat(p, b64s(p, hdr), ".e30.c2ln", NULL);
    assert_int_equal(oauth2_jose_jws_parse(p, t, strlen(t), &jws, NULL),
                     APR_SUCCESS);
}

static void test_jose_parse_uses_len(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jws_t *jws = NULL;
    char *t = apr_pstrcat(p, rfc8037_jws, ".garbage", NULL);

    /* Only len bytes count: what follows is not part of the token. */
    assert_int_equal(
        oauth2_jose_jws_parse(p, t, strlen(rfc8037_jws), &jws, NULL),
        APR_SUCCESS);
    assert_int_equal(
        oauth2_jose_jws_verify(p, jws, jwks_ok(p, rfc8037_jwks), NULL),
        APR_SUCCESS);
    /* A NUL byte inside the given length is not base64url. */
    t = apr_pstrdup(p, rfc8037_jws);
    t[5] = '\0';
    assert_int_equal(
        oauth2_jose_jws_parse(p, t, strlen(rfc8037_jws), &jws, NULL),
        OAUTH2_EMALFORMED);
}

static void test_jose_null_inputs_refused(void **state)
{
    apr_pool_t *p = *state;
    oauth2_jwks_t *jwks = jwks_ok(p, a2_jwks);
    oauth2_jws_t *jws = NULL;
    const char *err = NULL;

    assert_int_equal(oauth2_jose_jws_parse(p, NULL, 0, &jws, &err),
                     OAUTH2_EMALFORMED);
    assert_int_equal(
        oauth2_jose_jws_parse(p, a2_jws, strlen(a2_jws), NULL, &err),
        OAUTH2_EMALFORMED);
    assert_int_equal(oauth2_jose_jwks_parse(p, NULL, 0, &jwks, &err),
                     OAUTH2_EMALFORMED);
    assert_int_equal(oauth2_jose_jwks_parse(p, "{}", 2, NULL, &err),
                     OAUTH2_EMALFORMED);
    assert_int_equal(
        oauth2_jose_jws_parse(p, a2_jws, strlen(a2_jws), &jws, NULL),
        APR_SUCCESS);
    assert_int_equal(oauth2_jose_jws_verify(p, NULL, jwks, &err),
                     OAUTH2_EREFUSED);
    assert_int_equal(oauth2_jose_jws_verify(p, jws, NULL, &err),
                     OAUTH2_EREFUSED);
    assert_int_equal(oauth2_jose_jwks_count(NULL), 0);
}

/*
 * JWK Sets.
 */

static void test_jose_jwks_garbage_keys_skipped(void **state)
{
    apr_pool_t *p = *state;
    const char *keys[] = {
        "1",
        "\"key\"",
        "null",
        "[]",
        "{}",
        "{\"kty\":1}",
        "{\"kty\":\"RSA\"}",
        "{\"kty\":\"RSA\",\"n\":\"AQAB\"}",
        "{\"kty\":\"RSA\",\"n\":\"AQAB=\",\"e\":\"AQAB\"}",
        "{\"kty\":\"RSA\",\"n\":5,\"e\":\"AQAB\"}",
        "{\"kty\":\"RSA\",\"n\":\"\",\"e\":\"AQAB\"}",
        /* even and trivial public exponents */
        "{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0t\",\"e\":\"AQAA\"}",
        "{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0t\",\"e\":\"AQ\"}",
        /* e longer than 8 bytes */
        "{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0t\",\"e\":\"AQABAQABAQABAQAB\"}",
        "{\"kty\":\"EC\",\"crv\":\"P-256\"}",
        "{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":\"AA\"}",
        "{\"kty\":\"EC\",\"crv\":\"secp256k1\","
        "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
        /* x one byte short (leading zero stripped) */
        "{\"kty\":\"EC\",\"crv\":\"P-256\","
        "\"x\":\"83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
        /* a point that is not on the curve */
        "{\"kty\":\"EC\",\"crv\":\"P-256\","
        "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5aw\"}",
        /* P-256 coordinates labelled P-384 */
        "{\"kty\":\"EC\",\"crv\":\"P-384\","
        "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
        "{\"kty\":\"OKP\",\"crv\":\"X25519\","
        "\"x\":\"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg\"}",
        "{\"kty\":\"OKP\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
        "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}",
        "{\"kty\":\"unknown\"}",
        /* good keys with the wrong use, key_ops, or a non-string kid */
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"use\":\"enc\","
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"use\":1,"
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"key_ops\":[\"encrypt\"],"
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"key_ops\":\"verify\","
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":7,"
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":[\"EdDSA\"],"
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
    };
    /* The one usable key, last, with use and key_ops that allow it. */
    const char *good_key =
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"use\":\"sig\","
        "\"key_ops\":[\"sign\",\"verify\"],"
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
    char *json = "{\"keys\":[";
    oauth2_jwks_t *jwks;
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *one = apr_pstrcat(p, "{\"keys\":[", keys[i], "]}", NULL);

        jwks = jwks_ok(p, one);
        if (oauth2_jose_jwks_count(jwks) != 0) {
            fail_msg("garbage key accepted: %s", keys[i]);
        }
        json = apr_pstrcat(p, json, keys[i], ",", NULL);
    }
    jwks = jwks_ok(p, apr_pstrcat(p, json, good_key, "]}", NULL));
    assert_int_equal(oauth2_jose_jwks_count(jwks), 1);
    assert_int_equal(verify(p, rfc8037_jws, jwks, NULL), APR_SUCCESS);
}

static void test_jose_jwks_document_refused(void **state)
{
    apr_pool_t *p = *state;
    const struct {
        const char *json;
        apr_status_t rv;
    } docs[] = {
        { "", OAUTH2_EMALFORMED },
        { "not json", OAUTH2_EMALFORMED },
        { "[]", OAUTH2_EMALFORMED },
        { "{}", OAUTH2_EMALFORMED },
        { "{\"keys\":{}}", OAUTH2_EMALFORMED },
        { "{\"keys\":\"x\"}", OAUTH2_EMALFORMED },
        { "{\"keys\":null}", OAUTH2_EMALFORMED },
        { "{\"keys\":[]", OAUTH2_EMALFORMED },
        { "{\"keys\":[]}garbage", OAUTH2_EMALFORMED },
        { "<html>502 Bad Gateway</html>", OAUTH2_EMALFORMED },
    };
    char *big;
    size_t i;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        oauth2_jwks_t *jwks = NULL;
        const char *err = NULL;

        if (oauth2_jose_jwks_parse(p, docs[i].json, strlen(docs[i].json), &jwks,
                                   &err)
            != docs[i].rv) {
            fail_msg("JWKS %s: unexpected result", docs[i].json);
        }
        assert_null(jwks);
        assert_non_null(err);
    }
    big = apr_palloc(p, OAUTH2_MAX_JWKS + 1);
    memset(big, ' ', OAUTH2_MAX_JWKS + 1);
    memcpy(big, "{\"keys\":[]}", 11);
    assert_int_equal(
        oauth2_jose_jwks_parse(p, big, OAUTH2_MAX_JWKS + 1, NULL, NULL),
        OAUTH2_EMALFORMED);
    {
        oauth2_jwks_t *jwks = NULL;

        assert_int_equal(
            oauth2_jose_jwks_parse(p, big, OAUTH2_MAX_JWKS + 1, &jwks, NULL),
            OAUTH2_ETOOBIG);
        assert_int_equal(
            oauth2_jose_jwks_parse(p, big, OAUTH2_MAX_JWKS, &jwks, NULL),
            APR_SUCCESS);
        assert_int_equal(oauth2_jose_jwks_count(jwks), 0);
    }
}

static void test_jose_jwks_key_limit(void **state)
{
    apr_pool_t *p = *state;
    char *json = "{\"keys\":[";
    int i;

    for (i = 0; i < OAUTH2_MAX_JWKS_KEYS + 6; i++) {
        json = apr_psprintf(p, "%s%s{\"kid\":\"k%d\",%s}", json, i ? "," : "",
                            i, tkeys[K_ED25519].jwk);
    }
    json = apr_pstrcat(p, json, "]}", NULL);
    assert_int_equal(oauth2_jose_jwks_count(jwks_ok(p, json)),
                     OAUTH2_MAX_JWKS_KEYS);
}

static void test_jose_jwks_outlives_document(void **state)
{
    apr_pool_t *p = *state;
    char *json = apr_pstrdup(p, all_keys_jwks(p, -1, NULL));
    oauth2_jwks_t *jwks = jwks_ok(p, json);

    /* Keys and kids are copies: the document text can go away. */
    memset(json, 'x', strlen(json));
    assert_int_equal(verify(p, sign_as(p, K_P384, "ES384", "p384"), jwks, NULL),
                     APR_SUCCESS);
}

/*
 * Signing (JWT assertions): RS256 with a PEM private key.
 */

/* The PEM text of a key: private (PKCS#8), encrypted with a password
 * when pass is set, or public. */
static char *pem_of(apr_pool_t *p, EVP_PKEY *pk, int private_, const char *pass)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out;
    long n;

    assert_non_null(bio);
    if (!private_) {
        assert_int_equal(PEM_write_bio_PUBKEY(bio, pk), 1);
    }
    else if (pass != NULL) {
        assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pk,
                                                       EVP_aes_256_cbc(), NULL,
                                                       0, NULL, (void *)pass),
                         1);
    }
    else {
        assert_int_equal(
            PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
    }
    n = BIO_get_mem_data(bio, &data);
    out = apr_pstrmemdup(p, data, (apr_size_t)n);
    BIO_free(bio);
    return out;
}

/* A signed JWT verifies with the key's public half (our verifier and
 * OpenSSL's), and its segments are the header and payload as given. */
static void test_jose_sign_rs256(void **state)
{
    apr_pool_t *p = *state;
    const char *pem = pem_of(p, tkeys[K_RSA].pkey, 1, NULL), *err = NULL;
    const char *hdr = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"rsa\"}";
    const char *payload = "{\"iss\":\"sa@x.iam.gserviceaccount.com\"}";
    oauth2_jose_key_t *key = NULL;
    oauth2_jws_t *jws = NULL;
    char *jwt = NULL;
    apr_size_t len;

    assert_int_equal(oauth2_jose_key_pem(p, pem, strlen(pem), &key, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_jose_sign_rs256(p, key, hdr, payload, &jwt, &err),
                     APR_SUCCESS);
    assert_int_equal(
        verify(p, jwt, jwks_ok(p, all_keys_jwks(p, -1, NULL)), &err),
        APR_SUCCESS);
    assert_int_equal(oauth2_jose_jws_parse(p, jwt, strlen(jwt), &jws, &err),
                     APR_SUCCESS);
    assert_string_equal(oauth2_jose_jws_payload(jws, &len), payload);
    assert_string_equal(oauth2_jose_jws_kid(jws), "rsa");
    assert_string_equal(oauth2_jose_jws_typ(jws), "JWT");
    /* RSASSA-PKCS1-v1_5 is deterministic: the same input, the same JWT */
    {
        char *again = NULL;

        assert_int_equal(
            oauth2_jose_sign_rs256(p, key, hdr, payload, &again, &err),
            APR_SUCCESS);
        assert_string_equal(again, jwt);
    }
}

/* Only an RSA private key of 2048 bits or more, never prompting for a
 * password. */
static void test_jose_key_pem_refusals(void **state)
{
    apr_pool_t *p = *state;
    const struct {
        const char *what, *pem;
    } cases[] = {
        { "garbage", "not a key" },
        { "EC", pem_of(p, tkeys[K_P256].pkey, 1, NULL) },
        { "Ed25519", pem_of(p, tkeys[K_ED25519].pkey, 1, NULL) },
        { "RSA 1024", pem_of(p, tkeys[K_RSA1024].pkey, 1, NULL) },
        { "a public key", pem_of(p, tkeys[K_RSA].pkey, 0, NULL) },
        { "encrypted", pem_of(p, tkeys[K_RSA].pkey, 1, "secret") },
        { "truncated",
          apr_pstrndup(p, pem_of(p, tkeys[K_RSA].pkey, 1, NULL), 200) },
    };
    oauth2_jose_key_t *key;
    const char *err;
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        key = NULL;
        err = NULL;
        if (oauth2_jose_key_pem(p, cases[i].pem, strlen(cases[i].pem), &key,
                                &err)
            != OAUTH2_EMALFORMED) {
            fail_msg("%s accepted", cases[i].what);
        }
        assert_non_null(err);
        assert_int_equal(ERR_peek_error(), 0);
    }
    assert_int_equal(oauth2_jose_key_pem(p, NULL, 0, &key, &err),
                     OAUTH2_EMALFORMED);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_jose_rfc7515_a2_rs256),
        T(test_jose_rfc7515_a3_es256),
        T(test_jose_rfc7515_a4_es512),
        T(test_jose_rfc8037_a4_ed25519),
        T(test_jose_every_alg_verifies),
        T(test_jose_key_alg_member_matching),
        T(test_jose_header_fields),
        T(test_jose_alg_none_refused),
        T(test_jose_hmac_with_public_key_refused),
        T(test_jose_oct_keys_skipped),
        T(test_jose_alg_key_mismatch_refused),
        T(test_jose_bit_flips_refused),
        T(test_jose_pss_parameters_enforced),
        T(test_jose_ecdsa_signature_form),
        T(test_jose_rsa_signature_length),
        T(test_jose_parse_malformed_table),
        T(test_jose_parse_size_limits),
        T(test_jose_parse_uses_len),
        T(test_jose_null_inputs_refused),
        T(test_jose_jwks_garbage_keys_skipped),
        T(test_jose_jwks_document_refused),
        T(test_jose_jwks_key_limit),
        T(test_jose_jwks_outlives_document),
        T(test_jose_sign_rs256),
        T(test_jose_key_pem_refusals),
    };
#undef T

    apr_initialize();
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
