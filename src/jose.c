/*
 * jose.c: JWK Sets (RFC 7517 §5) turned into OpenSSL 3 EVP_PKEYs, compact
 * JWS parsing (RFC 7515 §7.1) and signature verification (RFC 7518 §3,
 * RFC 8037 §3.1) with EVP_DigestVerify.
 *
 * Only asymmetric algorithms exist here: "none" and HS* are refused by
 * name before any key is looked at, so no key material can ever serve as
 * an HMAC secret. An algorithm must fit its key (type, curve, size, the
 * key's own "alg"). JSON parsing is claims.c's (bounded, strict); what the
 * payload claims is checked there too. Embedded or referenced keys in a
 * JWS header (jwk, jku, x5u, x5c) are ignored: keys come from the JWKS.
 */
#include <string.h>

#include <apr_strings.h>
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base64url.h"
#include "bounds.h"
#include "claims.h"
#include "errors.h"
#include "jose.h"

/* RFC 7518 §3.3 and §3.5: "A key of size 2048 bits or larger MUST be
 * used with these algorithms." */
#define JOSE_RSA_MIN_BITS 2048
/* Public exponents longer than 64 bits make verification slow and are
 * never used in practice (65537 is 3 bytes). */
#define JOSE_RSA_MAX_E_BYTES 8
/* The largest EC coordinate (P-521: 66 bytes) and Ed448 key (57). */
#define JOSE_MAX_COORD 66

/* What a parsed key is; decides which algorithms it fits. */
typedef enum {
    KEY_RSA,
    KEY_P256,
    KEY_P384,
    KEY_P521,
    KEY_ED25519,
    KEY_ED448
} key_kind_e;

typedef enum {
    FAM_RSA,  /* RSASSA-PKCS1-v1_5, RFC 7518 §3.3 */
    FAM_PSS,  /* RSASSA-PSS, RFC 7518 §3.5 */
    FAM_EC,   /* ECDSA, RFC 7518 §3.4 */
    FAM_EDDSA /* EdDSA, RFC 8037 §3.1 */
} alg_family_e;

typedef struct {
    const char *name;
    alg_family_e family;
    const EVP_MD *(*md)(void); /* NULL for EdDSA (no prehash) */
    key_kind_e curve;          /* ES*: the one curve that fits */
    apr_size_t coord;          /* ES*: bytes of R and of S */
} alg_info_t;

/* RFC 7518 §3.1 and RFC 8037 §3.1: every algorithm accepted. */
static const alg_info_t algs[] = {
    { "RS256", FAM_RSA, EVP_sha256, KEY_RSA, 0 },
    { "RS384", FAM_RSA, EVP_sha384, KEY_RSA, 0 },
    { "RS512", FAM_RSA, EVP_sha512, KEY_RSA, 0 },
    { "PS256", FAM_PSS, EVP_sha256, KEY_RSA, 0 },
    { "PS384", FAM_PSS, EVP_sha384, KEY_RSA, 0 },
    { "PS512", FAM_PSS, EVP_sha512, KEY_RSA, 0 },
    { "ES256", FAM_EC, EVP_sha256, KEY_P256, 32 },
    { "ES384", FAM_EC, EVP_sha384, KEY_P384, 48 },
    { "ES512", FAM_EC, EVP_sha512, KEY_P521, 66 },
    { "EdDSA", FAM_EDDSA, NULL, KEY_ED25519, 0 },
};

/* RFC 7518 §6.2.1.1 curves, with OpenSSL's group names. */
static const struct {
    const char *crv;
    const char *group;
    key_kind_e kind;
    apr_size_t coord;
} ec_curves[] = {
    { "P-256", "prime256v1", KEY_P256, 32 },
    { "P-384", "secp384r1", KEY_P384, 48 },
    { "P-521", "secp521r1", KEY_P521, 66 },
};

typedef struct {
    const char *kid; /* NULL when absent */
    const char *alg; /* the key's own "alg", NULL when absent */
    key_kind_e kind;
    int bits;
    EVP_PKEY *pkey;
} jwk_t;

struct oauth2_jwks_t {
    int nkeys;
    jwk_t keys[OAUTH2_MAX_JWKS_KEYS];
};

struct oauth2_jws_t {
    const char *alg;
    const char *kid;
    const char *typ;
    const char *signing_input; /* BASE64URL(header) '.' BASE64URL(payload) */
    apr_size_t signing_input_len;
    const char *payload;
    apr_size_t payload_len;
    const unsigned char *sig;
    apr_size_t sig_len;
};

static void set_err(const char **err, const char *msg)
{
    if (err != NULL) {
        *err = msg;
    }
}

/* The first queued OpenSSL error as text, prefixed by what failed; the
 * queue is emptied so that it cannot surface in a later request. */
static const char *ossl_error(apr_pool_t *p, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();

    ERR_clear_error();
    if (e == 0) {
        return what;
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    return apr_pstrcat(p, what, ": ", buf, NULL);
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

/* Member name of obj as a string without NUL bytes: returns 1 with *out
 * NULL when absent, 1 with *out set when a string, 0 otherwise. */
static int opt_string(json_object *obj, const char *name, const char **out)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(obj, name, &v)) {
        return 1;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return 0;
    }
    *out = json_object_get_string(v);
    return strlen(*out) == (apr_size_t)json_object_get_string_len(v);
}

/* Decodes the base64url string member name into at most max bytes. */
static apr_status_t b64_member(apr_pool_t *p, json_object *obj,
                               const char *name, apr_size_t max,
                               unsigned char **out, apr_size_t *len)
{
    const char *s;

    if (!opt_string(obj, name, &s) || s == NULL) {
        return OAUTH2_EMALFORMED;
    }
    if (strlen(s) > OAUTH2_BASE64URL_LEN(max)) {
        return OAUTH2_ETOOBIG;
    }
    return oauth2_base64url_decode(p, s, strlen(s), out, len);
}

/*
 * JWK Set parsing
 */

/* Builds a public key of type name ("RSA", "EC") from bld's parameters. */
static apr_status_t pkey_fromdata(const char *name, OSSL_PARAM_BLD *bld,
                                  EVP_PKEY **out)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = NULL;
    apr_status_t rv = OAUTH2_ECRYPTO;

    if (params == NULL) {
        goto cleanup;
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        goto cleanup;
    }
    rv = APR_SUCCESS;
cleanup:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rv;
}

/* RFC 7518 §6.3.1: "n" and "e", unsigned big-endian, base64url. */
static apr_status_t jwk_rsa(apr_pool_t *tmp, json_object *k, jwk_t *key)
{
    unsigned char *nb, *eb;
    apr_size_t nlen, elen;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    apr_status_t rv = OAUTH2_EMALFORMED;

    /* One spare byte: some providers send n with a leading zero. */
    if (b64_member(tmp, k, "n", OAUTH2_MAX_RSA_BITS / 8 + 1, &nb, &nlen)
            != APR_SUCCESS
        || b64_member(tmp, k, "e", JOSE_RSA_MAX_E_BYTES, &eb, &elen)
               != APR_SUCCESS
        || nlen == 0 || elen == 0) {
        return OAUTH2_EMALFORMED;
    }
    n = BN_bin2bn(nb, (int)nlen, NULL);
    e = BN_bin2bn(eb, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (n == NULL || e == NULL || bld == NULL
        || BN_num_bits(n) > OAUTH2_MAX_RSA_BITS || BN_is_odd(e) != 1
        || BN_is_one(e)
        || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1
        || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
        goto cleanup;
    }
    rv = pkey_fromdata("RSA", bld, &key->pkey);
    key->kind = KEY_RSA;
    key->bits = rv == APR_SUCCESS ? EVP_PKEY_get_bits(key->pkey) : 0;
cleanup:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rv;
}

/* RFC 7518 §6.2.1: "crv", "x" and "y", each coordinate its full size. */
static apr_status_t jwk_ec(apr_pool_t *tmp, json_object *k, jwk_t *key)
{
    unsigned char point[1 + 2 * JOSE_MAX_COORD];
    unsigned char *x, *y;
    apr_size_t xlen, ylen, i;
    const char *crv;
    OSSL_PARAM_BLD *bld;
    apr_status_t rv = OAUTH2_EMALFORMED;

    if (!opt_string(k, "crv", &crv) || crv == NULL) {
        return OAUTH2_EMALFORMED;
    }
    for (i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++) {
        if (strcmp(crv, ec_curves[i].crv) == 0) {
            break;
        }
    }
    if (i == sizeof(ec_curves) / sizeof(ec_curves[0])
        || b64_member(tmp, k, "x", JOSE_MAX_COORD, &x, &xlen) != APR_SUCCESS
        || b64_member(tmp, k, "y", JOSE_MAX_COORD, &y, &ylen) != APR_SUCCESS
        || xlen != ec_curves[i].coord || ylen != ec_curves[i].coord) {
        return OAUTH2_EMALFORMED;
    }
    /* SEC 1 §2.3.3 uncompressed point: 0x04 || x || y. */
    point[0] = 0x04;
    memcpy(point + 1, x, xlen);
    memcpy(point + 1 + xlen, y, ylen);
    bld = OSSL_PARAM_BLD_new();
    if (bld != NULL
        && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                           ec_curves[i].group, 0)
               == 1
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                            1 + xlen + ylen)
               == 1) {
        /* OpenSSL refuses a point that is not on the curve here. */
        rv = pkey_fromdata("EC", bld, &key->pkey);
    }
    OSSL_PARAM_BLD_free(bld);
    key->kind = ec_curves[i].kind;
    return rv;
}

/* RFC 8037 §2: "crv" Ed25519 or Ed448 and the raw public key "x". X25519
 * and X448 are key agreement keys, not for signatures. */
static apr_status_t jwk_okp(apr_pool_t *tmp, json_object *k, jwk_t *key)
{
    unsigned char *x;
    apr_size_t xlen;
    const char *crv;
    int type;

    if (!opt_string(k, "crv", &crv) || crv == NULL) {
        return OAUTH2_EMALFORMED;
    }
    if (strcmp(crv, "Ed25519") == 0) {
        type = EVP_PKEY_ED25519;
        key->kind = KEY_ED25519;
    }
    else if (strcmp(crv, "Ed448") == 0) {
        type = EVP_PKEY_ED448;
        key->kind = KEY_ED448;
    }
    else {
        return OAUTH2_EMALFORMED;
    }
    if (b64_member(tmp, k, "x", JOSE_MAX_COORD, &x, &xlen) != APR_SUCCESS
        || xlen != (type == EVP_PKEY_ED25519 ? 32u : 57u)) {
        return OAUTH2_EMALFORMED;
    }
    key->pkey = EVP_PKEY_new_raw_public_key(type, NULL, x, xlen);
    return key->pkey == NULL ? OAUTH2_ECRYPTO : APR_SUCCESS;
}

/* RFC 7517 §4.2 and §4.3: a key whose "use" is not "sig", or whose
 * "key_ops" does not list "verify", is not for checking signatures. */
static int jwk_for_signatures(json_object *k)
{
    json_object *ops;
    const char *use;
    size_t i, n;

    if (!opt_string(k, "use", &use)) {
        return 0;
    }
    if (use != NULL && strcmp(use, "sig") != 0) {
        return 0;
    }
    if (!json_object_object_get_ex(k, "key_ops", &ops)) {
        return 1;
    }
    if (!json_object_is_type(ops, json_type_array)) {
        return 0;
    }
    n = json_object_array_length(ops);
    for (i = 0; i < n; i++) {
        json_object *op = json_object_array_get_idx(ops, i);

        if (json_object_is_type(op, json_type_string)
            && strcmp(json_object_get_string(op), "verify") == 0) {
            return 1;
        }
    }
    return 0;
}

/* Parses one key of the set into key (pkey freed with p); a key that
 * cannot be used returns non-success and is skipped by the caller. */
static apr_status_t jwk_parse(apr_pool_t *p, apr_pool_t *tmp, json_object *k,
                              jwk_t *key)
{
    const char *kty, *kid, *alg;
    apr_status_t rv;

    if (!json_object_is_type(k, json_type_object) || !jwk_for_signatures(k)
        || !opt_string(k, "kty", &kty) || kty == NULL
        || !opt_string(k, "kid", &kid) || !opt_string(k, "alg", &alg)) {
        return OAUTH2_EMALFORMED;
    }
    if (strcmp(kty, "RSA") == 0) {
        rv = jwk_rsa(tmp, k, key);
    }
    else if (strcmp(kty, "EC") == 0) {
        rv = jwk_ec(tmp, k, key);
    }
    else if (strcmp(kty, "OKP") == 0) {
        rv = jwk_okp(tmp, k, key);
    }
    else {
        /* "oct" (RFC 7518 §6.4) and anything unknown: never used. */
        return OAUTH2_EMALFORMED;
    }
    if (rv != APR_SUCCESS) {
        ERR_clear_error();
        return rv;
    }
    apr_pool_cleanup_register(p, key->pkey, pkey_cleanup,
                              apr_pool_cleanup_null);
    key->kid = kid == NULL ? NULL : apr_pstrdup(p, kid);
    key->alg = alg == NULL ? NULL : apr_pstrdup(p, alg);
    return APR_SUCCESS;
}

/* The "keys" array of a parsed document (RFC 7517 §5.1). */
static apr_status_t jwks_keys(const oauth2_claims_t *doc, json_object **keys,
                              const char **err)
{
    if (!json_object_object_get_ex(oauth2_claims_json(doc), "keys", keys)
        || !json_object_is_type(*keys, json_type_array)) {
        set_err(err, "JWKS: no \"keys\" array");
        return OAUTH2_EMALFORMED;
    }
    return APR_SUCCESS;
}

static void jwks_fill(apr_pool_t *p, apr_pool_t *tmp, json_object *keys,
                      oauth2_jwks_t *set)
{
    size_t i, n = json_object_array_length(keys);

    for (i = 0; i < n && set->nkeys < OAUTH2_MAX_JWKS_KEYS; i++) {
        jwk_t key;

        memset(&key, 0, sizeof(key));
        if (jwk_parse(p, tmp, json_object_array_get_idx(keys, i), &key)
            == APR_SUCCESS) {
            set->keys[set->nkeys++] = key;
        }
    }
}

apr_status_t oauth2_jose_jwks_parse(apr_pool_t *p, const char *json,
                                    apr_size_t len, oauth2_jwks_t **jwks,
                                    const char **err)
{
    oauth2_claims_t *doc;
    json_object *keys;
    apr_pool_t *tmp;
    apr_status_t rv;

    if (p == NULL || json == NULL || jwks == NULL) {
        set_err(err, "JWKS: no input");
        return OAUTH2_EMALFORMED;
    }
    if (len > OAUTH2_MAX_JWKS) {
        set_err(err, "JWKS: too long");
        return OAUTH2_ETOOBIG;
    }
    /* The document is bulky and short-lived: parse it in a subpool. */
    rv = apr_pool_create(&tmp, p);
    if (rv != APR_SUCCESS) {
        set_err(err, "JWKS: no memory");
        return rv;
    }
    rv = oauth2_claims_parse(tmp, json, len, OAUTH2_MAX_JWKS, &doc, err);
    if (rv == APR_SUCCESS) {
        rv = jwks_keys(doc, &keys, err);
    }
    if (rv == APR_SUCCESS) {
        *jwks = apr_pcalloc(p, sizeof(**jwks));
        jwks_fill(p, tmp, keys, *jwks);
    }
    else if (err != NULL && *err != NULL) {
        *err = apr_pstrcat(p, "JWKS: ", *err, NULL);
    }
    apr_pool_destroy(tmp);
    return rv;
}

int oauth2_jose_jwks_count(const oauth2_jwks_t *jwks)
{
    return jwks == NULL ? 0 : jwks->nkeys;
}

/*
 * Compact JWS parsing (RFC 7515 §7.1, §5.2)
 */

/* RFC 7515 §5.2 steps 2-4: the protected header is a JSON object with a
 * string "alg"; "crit" (§4.1.11) names extensions we do not implement,
 * so its presence alone refuses the token. */
static apr_status_t jws_header(apr_pool_t *p, const char *b64, apr_size_t len,
                               oauth2_jws_t *jws, const char **err)
{
    unsigned char *text;
    apr_size_t tlen;
    oauth2_claims_t *hdr;
    json_object *obj;
    apr_status_t rv;

    if (len > OAUTH2_BASE64URL_LEN(OAUTH2_MAX_JWS_HEADER)) {
        set_err(err, "JWS: header too long");
        return OAUTH2_ETOOBIG;
    }
    if (oauth2_base64url_decode(p, b64, len, &text, &tlen) != APR_SUCCESS) {
        set_err(err, "JWS: header is not base64url");
        return OAUTH2_EMALFORMED;
    }
    rv = oauth2_claims_parse(p, (const char *)text, tlen, OAUTH2_MAX_JWS_HEADER,
                             &hdr, err);
    if (rv != APR_SUCCESS) {
        if (err != NULL && *err != NULL) {
            *err = apr_pstrcat(p, "JWS header: ", *err, NULL);
        }
        return rv;
    }
    obj = oauth2_claims_json(hdr);
    if (json_object_object_get_ex(obj, "crit", NULL)) {
        set_err(err, "JWS: \"crit\" header is not supported");
        return OAUTH2_EMALFORMED;
    }
    if (!opt_string(obj, "alg", &jws->alg) || jws->alg == NULL
        || *jws->alg == '\0' || !opt_string(obj, "kid", &jws->kid)
        || !opt_string(obj, "typ", &jws->typ)) {
        set_err(err, "JWS: header lacks a string alg, or kid/typ is not "
                     "a string");
        return OAUTH2_EMALFORMED;
    }
    return APR_SUCCESS;
}

static apr_status_t jws_segment(apr_pool_t *p, const char *b64, apr_size_t len,
                                const char *what, unsigned char **out,
                                apr_size_t *outlen, const char **err)
{
    if (oauth2_base64url_decode(p, b64, len, out, outlen) != APR_SUCCESS) {
        set_err(err, apr_pstrcat(p, "JWS: ", what, " is not base64url", NULL));
        return OAUTH2_EMALFORMED;
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_jose_jws_parse(apr_pool_t *p, const char *compact,
                                   apr_size_t len, oauth2_jws_t **jws,
                                   const char **err)
{
    const char *d1, *d2, *end = compact + len;
    unsigned char *payload, *sig;
    oauth2_jws_t *t;
    apr_status_t rv;

    if (p == NULL || compact == NULL || jws == NULL) {
        set_err(err, "JWS: no input");
        return OAUTH2_EMALFORMED;
    }
    if (len > OAUTH2_MAX_JWT) {
        set_err(err, "JWS: too long");
        return OAUTH2_ETOOBIG;
    }
    /* RFC 7515 §7.1: exactly three segments, none of them empty here
     * (an empty signature is what "none" would need). */
    d1 = memchr(compact, '.', len);
    d2 = d1 == NULL ? NULL : memchr(d1 + 1, '.', (apr_size_t)(end - d1 - 1));
    if (d2 == NULL || memchr(d2 + 1, '.', (apr_size_t)(end - d2 - 1)) != NULL
        || d1 == compact || d2 == d1 + 1 || d2 + 1 == end) {
        set_err(err, "JWS: not three non-empty segments");
        return OAUTH2_EMALFORMED;
    }
    t = apr_pcalloc(p, sizeof(*t));
    t->signing_input_len = (apr_size_t)(d2 - compact);
    t->signing_input = apr_pstrmemdup(p, compact, t->signing_input_len);
    rv = jws_header(p, compact, (apr_size_t)(d1 - compact), t, err);
    if (rv == APR_SUCCESS) {
        rv = jws_segment(p, d1 + 1, (apr_size_t)(d2 - d1 - 1), "payload",
                         &payload, &t->payload_len, err);
    }
    if (rv == APR_SUCCESS) {
        rv = jws_segment(p, d2 + 1, (apr_size_t)(end - d2 - 1), "signature",
                         &sig, &t->sig_len, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    t->payload = (const char *)payload;
    t->sig = sig;
    *jws = t;
    return APR_SUCCESS;
}

const char *oauth2_jose_jws_alg(const oauth2_jws_t *jws)
{
    return jws == NULL ? NULL : jws->alg;
}

const char *oauth2_jose_jws_kid(const oauth2_jws_t *jws)
{
    return jws == NULL ? NULL : jws->kid;
}

const char *oauth2_jose_jws_typ(const oauth2_jws_t *jws)
{
    return jws == NULL ? NULL : jws->typ;
}

const char *oauth2_jose_jws_payload(const oauth2_jws_t *jws, apr_size_t *len)
{
    if (jws == NULL) {
        if (len != NULL) {
            *len = 0;
        }
        return NULL;
    }
    if (len != NULL) {
        *len = jws->payload_len;
    }
    return jws->payload;
}

/*
 * Verification
 */

static const alg_info_t *alg_lookup(const char *name)
{
    apr_size_t i;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(name, algs[i].name) == 0) {
            return &algs[i];
        }
    }
    return NULL;
}

/* Why key cannot check alg, or NULL when it fits. */
static const char *key_misfit(const jwk_t *key, const alg_info_t *alg)
{
    if (key->alg != NULL && strcmp(key->alg, alg->name) != 0) {
        return "JWS: the key's own alg differs from the token's";
    }
    switch (alg->family) {
    case FAM_RSA:
    case FAM_PSS:
        if (key->kind != KEY_RSA) {
            return "JWS: alg needs an RSA key";
        }
        return key->bits < JOSE_RSA_MIN_BITS
                   ? "JWS: RSA key shorter than 2048 bits"
                   : NULL;
    case FAM_EC:
        return key->kind == alg->curve ? NULL
                                       : "JWS: alg needs an EC key on its "
                                         "own curve";
    case FAM_EDDSA:
        return key->kind == KEY_ED25519 || key->kind == KEY_ED448
                   ? NULL
                   : "JWS: EdDSA needs an Ed25519 or Ed448 key";
    }
    return "JWS: unsupported alg";
}

/* RFC 7518 §3.4: R || S, each exactly coord bytes, to the DER
 * ECDSA-Sig-Value that OpenSSL verifies. */
static apr_status_t ecdsa_to_der(apr_pool_t *p, const unsigned char *raw,
                                 apr_size_t rawlen, apr_size_t coord,
                                 unsigned char **der, apr_size_t *derlen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)coord, NULL);
    BIGNUM *s = BN_bin2bn(raw + coord, (int)coord, NULL);
    apr_status_t rv = OAUTH2_ECRYPTO;
    unsigned char *q;
    int n;

    if (es == NULL || r == NULL || s == NULL || rawlen != 2 * coord
        || ECDSA_SIG_set0(es, r, s) != 1) {
        goto cleanup;
    }
    r = s = NULL; /* owned by es now */
    n = i2d_ECDSA_SIG(es, NULL);
    if (n <= 0) {
        goto cleanup;
    }
    *der = apr_palloc(p, (apr_size_t)n);
    q = *der;
    if (i2d_ECDSA_SIG(es, &q) != n) {
        goto cleanup;
    }
    *derlen = (apr_size_t)n;
    rv = APR_SUCCESS;
cleanup:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return rv;
}

/* RFC 7518 §3.3 PKCS#1 v1.5; §3.5 PSS with MGF1 on the same hash and a
 * salt exactly as long as the hash (RSA_PSS_SALTLEN_DIGEST). */
static int set_padding(EVP_PKEY_CTX *pctx, const alg_info_t *alg)
{
    switch (alg->family) {
    case FAM_RSA:
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    case FAM_PSS:
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0
               && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
                      > 0
               && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, alg->md()) > 0;
    case FAM_EC:
    case FAM_EDDSA:
        return 1;
    }
    return 0;
}

/* The signature in the form OpenSSL verifies, with its length checked
 * first: a wrong length is a bad signature, not a library failure. */
static apr_status_t sig_for_openssl(apr_pool_t *p, const oauth2_jws_t *jws,
                                    const jwk_t *key, const alg_info_t *alg,
                                    const unsigned char **sig,
                                    apr_size_t *siglen)
{
    unsigned char *der;

    *sig = jws->sig;
    *siglen = jws->sig_len;
    if (alg->family == FAM_EC) {
        if (jws->sig_len != 2 * alg->coord) {
            return OAUTH2_EBADSIG;
        }
        if (ecdsa_to_der(p, jws->sig, jws->sig_len, alg->coord, &der, siglen)
            != APR_SUCCESS) {
            return OAUTH2_ECRYPTO;
        }
        *sig = der;
        return APR_SUCCESS;
    }
    if (jws->sig_len != (apr_size_t)EVP_PKEY_get_size(key->pkey)) {
        return OAUTH2_EBADSIG;
    }
    return APR_SUCCESS;
}

/* One EVP_DigestVerify of the signing input (RFC 7515 §5.2 step 8) with
 * a key that fits alg. */
static apr_status_t verify_with(apr_pool_t *p, const oauth2_jws_t *jws,
                                const jwk_t *key, const alg_info_t *alg,
                                const char **err)
{
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    const unsigned char *sig;
    apr_size_t siglen;
    apr_status_t rv;

    rv = sig_for_openssl(p, jws, key, alg, &sig, &siglen);
    if (rv != APR_SUCCESS) {
        set_err(err, rv == OAUTH2_EBADSIG
                         ? "JWS: signature has the wrong length"
                         : ossl_error(p, "JWS: ECDSA signature encoding"));
        return rv;
    }
    mctx = EVP_MD_CTX_new();
    if (mctx == NULL
        || EVP_DigestVerifyInit(mctx, &pctx, alg->md ? alg->md() : NULL, NULL,
                                key->pkey)
               != 1
        || !set_padding(pctx, alg)) {
        set_err(err, ossl_error(p, "JWS: verifier set-up"));
        rv = OAUTH2_ECRYPTO;
        goto cleanup;
    }
    if (EVP_DigestVerify(mctx, sig, siglen,
                         (const unsigned char *)jws->signing_input,
                         jws->signing_input_len)
        != 1) {
        set_err(err, ossl_error(p, "JWS: signature does not verify"));
        rv = OAUTH2_EBADSIG;
        goto cleanup;
    }
    rv = APR_SUCCESS;
cleanup:
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    return rv;
}

/* The best outcome so far over the keys tried: success beats a failed
 * verification with a fitting key, which beats a misfit, which beats no
 * key at all. */
typedef struct {
    apr_status_t rv;
    const char *why;
} outcome_t;

static int outcome_rank(apr_status_t rv)
{
    if (rv == APR_SUCCESS) {
        return 3;
    }
    if (rv == OAUTH2_EBADSIG || rv == OAUTH2_ECRYPTO) {
        return 2;
    }
    return rv == OAUTH2_EREFUSED ? 1 : 0;
}

static void outcome_note(outcome_t *o, apr_status_t rv, const char *why)
{
    if (outcome_rank(rv) > outcome_rank(o->rv)) {
        o->rv = rv;
        o->why = why;
    }
}

apr_status_t oauth2_jose_jws_verify(apr_pool_t *p, const oauth2_jws_t *jws,
                                    const oauth2_jwks_t *jwks, const char **err)
{
    outcome_t o = { OAUTH2_ENOTFOUND, NULL };
    const alg_info_t *alg;
    int i;

    if (p == NULL || jws == NULL || jwks == NULL) {
        set_err(err, "JWS: nothing to verify");
        return OAUTH2_EREFUSED;
    }
    /* RFC 8725 §3.1 and §3.2: the token's alg must be on our list, so
     * "none" and HMAC never reach a key. */
    alg = alg_lookup(jws->alg);
    if (alg == NULL) {
        set_err(err, apr_psprintf(p, "JWS: alg \"%.32s\" is not accepted",
                                  jws->alg));
        return OAUTH2_EREFUSED;
    }
    /* RFC 7515 §4.1.4: with a kid only that key is used; without one,
     * every key that fits is tried. */
    for (i = 0; i < jwks->nkeys && o.rv != APR_SUCCESS; i++) {
        const jwk_t *key = &jwks->keys[i];
        const char *misfit, *why = NULL;
        apr_status_t rv;

        if (jws->kid != NULL
            && (key->kid == NULL || strcmp(key->kid, jws->kid) != 0)) {
            continue;
        }
        misfit = key_misfit(key, alg);
        if (misfit != NULL) {
            /* Without a kid a key of another type is no key at all. */
            outcome_note(&o, jws->kid ? OAUTH2_EREFUSED : OAUTH2_ENOTFOUND,
                         misfit);
            continue;
        }
        rv = verify_with(p, jws, key, alg, &why);
        outcome_note(&o, rv, why);
    }
    if (o.rv != APR_SUCCESS) {
        set_err(err, o.why != NULL ? o.why : "JWS: no key for this token");
    }
    return o.rv;
}

/* ------------------------------------------------------------------ */
/* Signing (JWT assertions, RFC 7523)                                  */

struct oauth2_jose_key_t {
    EVP_PKEY *pkey;
};

/* PEM password callback: no password, so an encrypted key fails instead
 * of prompting on a terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

apr_status_t oauth2_jose_key_pem(apr_pool_t *p, const char *pem, apr_size_t len,
                                 oauth2_jose_key_t **key, const char **err)
{
    BIO *bio;
    EVP_PKEY *pkey;

    if (pem == NULL || len == 0 || len > 64 * 1024) {
        set_err(err, "no PEM private key");
        return OAUTH2_EMALFORMED;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL) : NULL;
    BIO_free(bio);
    if (pkey == NULL) {
        set_err(err, ossl_error(p, "not a PEM private key"));
        return OAUTH2_EMALFORMED;
    }
    ERR_clear_error();
    apr_pool_cleanup_register(p, pkey, pkey_cleanup, apr_pool_cleanup_null);
    if (!EVP_PKEY_is_a(pkey, "RSA")
        || EVP_PKEY_get_bits(pkey) < JOSE_RSA_MIN_BITS) {
        set_err(err, "the private key is not an RSA key of at least 2048 "
                     "bits (RS256)");
        return OAUTH2_EMALFORMED;
    }
    *key = apr_palloc(p, sizeof(**key));
    (*key)->pkey = pkey;
    return APR_SUCCESS;
}

apr_status_t oauth2_jose_sign_rs256(apr_pool_t *p, const oauth2_jose_key_t *key,
                                    const char *header, const char *payload,
                                    char **compact, const char **err)
{
    const char *input =
        apr_pstrcat(p,
                    oauth2_base64url_encode(p, (const unsigned char *)header,
                                            strlen(header)),
                    ".",
                    oauth2_base64url_encode(p, (const unsigned char *)payload,
                                            strlen(payload)),
                    NULL);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t siglen = (size_t)EVP_PKEY_get_size(key->pkey);
    unsigned char *sig = apr_palloc(p, siglen);
    apr_status_t rv = OAUTH2_ECRYPTO;

    if (mctx == NULL
        || EVP_DigestSignInit(mctx, &pctx, EVP_sha256(), NULL, key->pkey) != 1
        || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0
        || EVP_DigestSign(mctx, sig, &siglen, (const unsigned char *)input,
                          strlen(input))
               != 1) {
        set_err(err, ossl_error(p, "RS256 signature"));
        goto cleanup;
    }
    *compact = apr_pstrcat(p, input, ".",
                           oauth2_base64url_encode(p, sig, siglen), NULL);
    rv = APR_SUCCESS;
cleanup:
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    return rv;
}
