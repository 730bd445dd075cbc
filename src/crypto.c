/*
 * crypto.c: CSPRNG, constant-time comparison, SHA-256 and HKDF on OpenSSL
 * 3 EVP (see crypto.h).
 */
#include <limits.h>
#include <pthread.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "base64url.h"
#include "crypto.h"
#include "errors.h"

/* Fetched once during startup (oauth2_crypto_init), read-only after. */
static EVP_MD *sha256_md;

/* Each thread's SHA-256 context (oauth2_crypto_sha256_pair), freed when
 * the thread ends. The key is deleted by oauth2_crypto_shutdown: httpd
 * unloads the module at every restart and loads it anew (a new key), and a
 * process has only PTHREAD_KEYS_MAX (1024) of them. */
static pthread_key_t thread_ctx;
static int thread_ctx_made;

static void thread_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

apr_status_t oauth2_crypto_init(void)
{
    if (sha256_md != NULL) {
        return APR_SUCCESS;
    }
    if (!thread_ctx_made) {
        if (pthread_key_create(&thread_ctx, thread_ctx_free) != 0) {
            return OAUTH2_ECRYPTO;
        }
        thread_ctx_made = 1;
    }
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (sha256_md == NULL) {
        ERR_clear_error();
        return OAUTH2_ECRYPTO;
    }
    return APR_SUCCESS;
}

void oauth2_crypto_shutdown(void)
{
    if (thread_ctx_made) {
        /* pthread_key_delete runs no destructor: free this thread's. */
        EVP_MD_CTX_free(pthread_getspecific(thread_ctx));
        pthread_setspecific(thread_ctx, NULL);
        pthread_key_delete(thread_ctx);
        thread_ctx_made = 0;
    }
    EVP_MD_free(sha256_md);
    sha256_md = NULL;
}

static apr_status_t shutdown_cleanup(void *data)
{
    (void)data;
    oauth2_crypto_shutdown();
    return APR_SUCCESS;
}

apr_status_t oauth2_crypto_init_with(apr_pool_t *p)
{
    apr_status_t rv = oauth2_crypto_init();

    if (rv == APR_SUCCESS) {
        apr_pool_cleanup_register(p, NULL, shutdown_cleanup,
                                  apr_pool_cleanup_null);
    }
    return rv;
}

const char *oauth2_crypto_error(apr_pool_t *p, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();

    ERR_clear_error();
    if (e == 0) {
        return apr_pstrcat(p, what, ": failed", NULL);
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    return apr_pstrcat(p, what, ": ", buf, NULL);
}

apr_status_t oauth2_crypto_random(unsigned char *buf, apr_size_t len)
{
    if (buf == NULL || len > INT_MAX) {
        return OAUTH2_ECRYPTO;
    }
    if (RAND_bytes(buf, (int)len) != 1) {
        OPENSSL_cleanse(buf, len);
        ERR_clear_error();
        return OAUTH2_ECRYPTO;
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_crypto_random_b64(apr_pool_t *p, apr_size_t nbytes,
                                      char **out)
{
    unsigned char buf[64];
    apr_status_t rv;

    if (nbytes == 0 || nbytes > sizeof(buf)) {
        return APR_EINVAL;
    }
    rv = oauth2_crypto_random(buf, nbytes);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = oauth2_base64url_encode(p, buf, nbytes);
    OPENSSL_cleanse(buf, sizeof(buf));
    return APR_SUCCESS;
}

apr_uint64_t oauth2_crypto_diff(const void *pa, const void *pb, apr_size_t n)
{
    const char *a = pa, *b = pb;
    apr_uint64_t d = 0, x, y;
    apr_size_t j = 0;
#if defined(__SSE2__)
    __m128i v = _mm_setzero_si128();
    apr_uint64_t w[2];

#define XOR16(o)                                                   \
    _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + j + (o))), \
                  _mm_loadu_si128((const __m128i *)(b + j + (o))))
    for (; j + 64 <= n; j += 64) {
        v = _mm_or_si128(v, _mm_or_si128(_mm_or_si128(XOR16(0), XOR16(16)),
                                         _mm_or_si128(XOR16(32), XOR16(48))));
    }
    for (; j + 16 <= n; j += 16) {
        v = _mm_or_si128(v, XOR16(0));
    }
#undef XOR16
    _mm_storeu_si128((__m128i *)w, v);
    d = w[0] | w[1];
#endif
    for (; j + 8 <= n; j += 8) {
        memcpy(&x, a + j, 8);
        memcpy(&y, b + j, 8);
        d |= x ^ y;
    }
    for (; j < n; j++) {
        d |= (unsigned char)(a[j] ^ b[j]);
    }
    return d;
}

int oauth2_crypto_equal(const void *a, apr_size_t alen, const void *b,
                        apr_size_t blen)
{
    return a != NULL && b != NULL && alen == blen
           && oauth2_crypto_diff(a, b, alen) == 0;
}

/* SHA-256 of a | b (b may be NULL) with ctx. */
static apr_status_t sha256_two(EVP_MD_CTX *ctx, const void *a, apr_size_t alen,
                               const void *b, apr_size_t blen,
                               unsigned char out[OAUTH2_SHA256_LEN])
{
    unsigned int outlen = 0;

    if (ctx == NULL || a == NULL || sha256_md == NULL) {
        return OAUTH2_ECRYPTO;
    }
    if (EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1
        || EVP_DigestUpdate(ctx, a, alen) != 1
        || (b != NULL && EVP_DigestUpdate(ctx, b, blen) != 1)
        || EVP_DigestFinal_ex(ctx, out, &outlen) != 1
        || outlen != OAUTH2_SHA256_LEN) {
        ERR_clear_error();
        return OAUTH2_ECRYPTO;
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_crypto_sha256_pair(const void *a, apr_size_t alen,
                                       const void *b, apr_size_t blen,
                                       unsigned char out[OAUTH2_SHA256_LEN])
{
    EVP_MD_CTX *ctx;

    if (!thread_ctx_made && oauth2_crypto_init() != APR_SUCCESS) {
        return OAUTH2_ECRYPTO;
    }
    ctx = pthread_getspecific(thread_ctx);
    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL || pthread_setspecific(thread_ctx, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            ERR_clear_error();
            return OAUTH2_ECRYPTO;
        }
    }
    return sha256_two(ctx, a, alen, b, blen, out);
}

apr_status_t oauth2_crypto_sha256(const void *data, apr_size_t len,
                                  unsigned char out[OAUTH2_SHA256_LEN])
{
    size_t outlen = 0;

    if (data == NULL) {
        return OAUTH2_ECRYPTO;
    }
    if (EVP_Q_digest(NULL, "SHA256", NULL, data, len, out, &outlen) != 1
        || outlen != OAUTH2_SHA256_LEN) {
        ERR_clear_error();
        return OAUTH2_ECRYPTO;
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_crypto_hkdf(apr_pool_t *p, const void *ikm,
                                apr_size_t ikmlen, const char *salt,
                                const char *info, unsigned char *out,
                                apr_size_t outlen, const char **err)
{
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[5];
    apr_status_t rv = OAUTH2_ECRYPTO;

    if (ikm == NULL || salt == NULL || info == NULL || out == NULL) {
        *err = "HKDF: missing input";
        return OAUTH2_ECRYPTO;
    }
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  (void *)ikm, ikmlen);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                  (void *)salt, strlen(salt));
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  (void *)info, strlen(info));
    params[4] = OSSL_PARAM_construct_end();
    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    if (kctx == NULL || EVP_KDF_derive(kctx, out, outlen, params) != 1) {
        *err = oauth2_crypto_error(p, "HKDF");
        OPENSSL_cleanse(out, outlen);
        goto cleanup;
    }
    rv = APR_SUCCESS;
cleanup:
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rv;
}
