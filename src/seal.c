/*
 * seal.c: AES-256-GCM sealing with HKDF-derived keys and key rotation
 * (see seal.h). Follows mod_session_crypto: seal with the first key, try
 * every key to open, check the tag before touching the plaintext.
 */
#include <limits.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "base64url.h"
#include "crypto.h"
#include "errors.h"
#include "seal.h"

#define SEAL_VERSION 0x01
#define SEAL_NONCE   12
#define SEAL_TAG     16
#define SEAL_KEY     32
#define SEAL_SALT    "mod_auth_oauth2 seal v1"

struct oauth2_seal_t {
    int nkeys;
    unsigned char keys[OAUTH2_SEAL_MAX_KEYS][SEAL_KEY];
};

static apr_status_t seal_cleanup(void *data)
{
    oauth2_seal_t *s = data;

    OPENSSL_cleanse(s->keys, sizeof(s->keys));
    return APR_SUCCESS;
}

apr_status_t oauth2_seal_create(apr_pool_t *p,
                                const apr_array_header_t *secrets,
                                const char *purpose, oauth2_seal_t **seal,
                                const char **err)
{
    oauth2_seal_t *s;
    int i;

    if (secrets == NULL || secrets->nelts < 1 || purpose == NULL) {
        *err = "no secret";
        return APR_EINVAL;
    }
    s = apr_pcalloc(p, sizeof(*s));
    apr_pool_cleanup_register(p, s, seal_cleanup, apr_pool_cleanup_null);
    for (i = 0; i < secrets->nelts && i < OAUTH2_SEAL_MAX_KEYS; i++) {
        const char *secret = APR_ARRAY_IDX(secrets, i, const char *);
        apr_status_t rv;

        if (secret == NULL || strlen(secret) < OAUTH2_SEAL_MIN_SECRET) {
            *err = apr_psprintf(p, "secret %d is shorter than %d bytes", i + 1,
                                OAUTH2_SEAL_MIN_SECRET);
            return APR_EINVAL;
        }
        rv = oauth2_crypto_hkdf(p, secret, strlen(secret), SEAL_SALT, purpose,
                                s->keys[i], SEAL_KEY, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    s->nkeys = i;
    *seal = s;
    return APR_SUCCESS;
}

/* One AES-256-GCM operation; enc selects the direction. For decryption
 * tag is the expected tag, checked by EVP_DecryptFinal_ex before the
 * caller sees any plaintext. */
static int gcm(int enc, const unsigned char *key, const unsigned char *iv,
               const char *aad, const unsigned char *in, int len,
               unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ok = 0;
    int aadlen = aad ? (int)strlen(aad) : 0;

    if (ctx == NULL) {
        return 0;
    }
    if (EVP_CipherInit_ex2(ctx, EVP_aes_256_gcm(), key, iv, enc, NULL) != 1
        || (aadlen > 0
            && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad,
                                aadlen)
                   != 1)
        || EVP_CipherUpdate(ctx, out, &n, in, len) != 1) {
        goto cleanup;
    }
    if (!enc
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) != 1) {
        goto cleanup;
    }
    if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) {
        goto cleanup;
    }
    if (enc
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag) != 1) {
        goto cleanup;
    }
    ok = 1;
cleanup:
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

apr_status_t oauth2_seal_raw(apr_pool_t *p, const oauth2_seal_t *seal,
                             const char *aad, const void *in, apr_size_t len,
                             unsigned char **out, apr_size_t *outlen,
                             const char **err)
{
    unsigned char *buf;

    if (seal == NULL || seal->nkeys < 1 || in == NULL
        || len > INT_MAX - OAUTH2_SEAL_OVERHEAD) {
        *err = "seal: bad input";
        return OAUTH2_ECRYPTO;
    }
    buf = apr_palloc(p, len + OAUTH2_SEAL_OVERHEAD);
    buf[0] = SEAL_VERSION;
    if (oauth2_crypto_random(buf + 1, SEAL_NONCE) != APR_SUCCESS) {
        *err = "seal: no random bytes";
        return OAUTH2_ECRYPTO;
    }
    if (!gcm(1, seal->keys[0], buf + 1, aad, in, (int)len, buf + 1 + SEAL_NONCE,
             buf + 1 + SEAL_NONCE + len)) {
        *err = oauth2_crypto_error(p, "seal");
        return OAUTH2_ECRYPTO;
    }
    *out = buf;
    *outlen = len + OAUTH2_SEAL_OVERHEAD;
    return APR_SUCCESS;
}

apr_status_t oauth2_seal_open_raw(apr_pool_t *p, const oauth2_seal_t *seal,
                                  const char *aad, const unsigned char *in,
                                  apr_size_t len, unsigned char **out,
                                  apr_size_t *outlen, const char **err)
{
    unsigned char *pt, tag[SEAL_TAG];
    apr_size_t ctlen;
    int i;

    if (seal == NULL || in == NULL || len < OAUTH2_SEAL_OVERHEAD
        || len > INT_MAX) {
        *err = "sealed value too short";
        return OAUTH2_EMALFORMED;
    }
    if (in[0] != SEAL_VERSION) {
        *err = "sealed value has an unknown version";
        return OAUTH2_EMALFORMED;
    }
    ctlen = len - OAUTH2_SEAL_OVERHEAD;
    pt = apr_palloc(p, ctlen + 1);
    for (i = 0; i < seal->nkeys; i++) {
        memcpy(tag, in + len - SEAL_TAG, SEAL_TAG);
        if (gcm(0, seal->keys[i], in + 1, aad, in + 1 + SEAL_NONCE, (int)ctlen,
                pt, tag)) {
            pt[ctlen] = '\0';
            *out = pt;
            *outlen = ctlen;
            return APR_SUCCESS;
        }
        ERR_clear_error();
    }
    OPENSSL_cleanse(pt, ctlen);
    *err = "sealed value does not open with any key (tampered or foreign)";
    return OAUTH2_EBADSIG;
}

apr_status_t oauth2_seal_b64(apr_pool_t *p, const oauth2_seal_t *seal,
                             const char *aad, const void *in, apr_size_t len,
                             char **out, const char **err)
{
    unsigned char *raw;
    apr_size_t rawlen;
    apr_status_t rv;

    rv = oauth2_seal_raw(p, seal, aad, in, len, &raw, &rawlen, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = oauth2_base64url_encode(p, raw, rawlen);
    return APR_SUCCESS;
}

apr_status_t oauth2_seal_open_b64(apr_pool_t *p, const oauth2_seal_t *seal,
                                  const char *aad, const char *in,
                                  apr_size_t len, apr_size_t max,
                                  unsigned char **out, apr_size_t *outlen,
                                  const char **err)
{
    unsigned char *raw;
    apr_size_t rawlen;

    if (in == NULL) {
        *err = "no sealed value";
        return OAUTH2_EMALFORMED;
    }
    if (len > max) {
        *err = "sealed value too long";
        return OAUTH2_ETOOBIG;
    }
    if (oauth2_base64url_decode(p, in, len, &raw, &rawlen) != APR_SUCCESS) {
        *err = "sealed value is not base64url";
        return OAUTH2_EMALFORMED;
    }
    return oauth2_seal_open_raw(p, seal, aad, raw, rawlen, out, outlen, err);
}
