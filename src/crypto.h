/*
 * crypto.h: the small cryptographic toolbox of the engine, on OpenSSL 3
 * EVP: CSPRNG bytes, constant-time comparison, SHA-256 (with a context
 * per thread for the per-request session-id hash), HKDF-SHA256.
 *
 * Authenticated encryption lives in seal.c; signatures in jose.c.
 */
#ifndef OAUTH2_CRYPTO_H
#define OAUTH2_CRYPTO_H

#include <apr_pools.h>
#include <apr.h>

#define OAUTH2_SHA256_LEN 32

/**
 * Fetches the algorithms used on the hot path once (EVP_MD_fetch), so that
 * hashing does not pay for an implicit fetch on every call. Call during
 * single-threaded startup (post_config, and in unit tests before use);
 * idempotent. @return APR_SUCCESS or OAUTH2_ECRYPTO
 */
apr_status_t oauth2_crypto_init(void);

/**
 * Undoes oauth2_crypto_init: deletes the key of the per-thread contexts
 * (the calling thread's context freed; other threads' are not, so call it
 * where no other thread hashes: when the parent's configuration pool is
 * cleared, before httpd unloads the module) and frees the fetched
 * algorithms. oauth2_crypto_init may be called again after it.
 */
void oauth2_crypto_shutdown(void);

/**
 * oauth2_crypto_init, undone (oauth2_crypto_shutdown) when p is cleared:
 * for httpd's configuration pool, which is cleared at every restart
 * before the module is unloaded and loaded anew (in the parent, where no
 * other thread hashes). @return APR_SUCCESS or OAUTH2_ECRYPTO
 */
apr_status_t oauth2_crypto_init_with(apr_pool_t *p);

/**
 * Fills buf with len bytes from OpenSSL's CSPRNG (RAND_bytes == 1).
 * @return APR_SUCCESS or OAUTH2_ECRYPTO (buf is then cleansed)
 */
apr_status_t oauth2_crypto_random(unsigned char *buf, apr_size_t len);

/**
 * nbytes of CSPRNG output as a base64url string (from p), for state,
 * nonce, PKCE verifiers and session ids. @return APR_SUCCESS or
 * OAUTH2_ECRYPTO
 */
apr_status_t oauth2_crypto_random_b64(apr_pool_t *p, apr_size_t nbytes,
                                      char **out);

/**
 * The OR of a[i] ^ b[i] over n bytes: 0 when they are equal. Every byte is
 * read, whatever differs first (no early exit), 64 bytes a turn where SSE2
 * is there (every x86-64): session ids, bearer tokens and cookie sessions
 * are compared with it on every request of a kept connection.
 */
apr_uint64_t oauth2_crypto_diff(const void *a, const void *b, apr_size_t n);

/**
 * 1 when the two byte strings are equal, 0 otherwise (also when either is
 * NULL). Lengths are compared first, then the contents with
 * oauth2_crypto_diff, so the time does not depend on where they differ.
 */
int oauth2_crypto_equal(const void *a, apr_size_t alen, const void *b,
                        apr_size_t blen);

/**
 * SHA-256 of (a, alen) | (b, blen) (b may be NULL) into out, with the
 * calling thread's own context: made on the thread's first call, reused
 * by every later one (no allocation per hash), freed when the thread
 * ends. For the per-request hash of a session id: a connection that
 * carries one request pays no context of its own.
 * @return APR_SUCCESS or OAUTH2_ECRYPTO
 */
apr_status_t oauth2_crypto_sha256_pair(const void *a, apr_size_t alen,
                                       const void *b, apr_size_t blen,
                                       unsigned char out[OAUTH2_SHA256_LEN]);

/**
 * One-shot SHA-256 (not for the hot path: allocates an EVP_MD_CTX).
 * @return APR_SUCCESS or OAUTH2_ECRYPTO
 */
apr_status_t oauth2_crypto_sha256(const void *data, apr_size_t len,
                                  unsigned char out[OAUTH2_SHA256_LEN]);

/**
 * HKDF-SHA256 (RFC 5869) of ikm with salt and info into out (outlen
 * bytes). @return APR_SUCCESS or OAUTH2_ECRYPTO (*err says why, from p)
 */
apr_status_t oauth2_crypto_hkdf(apr_pool_t *p, const void *ikm,
                                apr_size_t ikmlen, const char *salt,
                                const char *info, unsigned char *out,
                                apr_size_t outlen, const char **err);

/**
 * The text of the oldest OpenSSL error of this thread (from p, or a fixed
 * string when there is none); clears the thread's error queue so stale
 * errors do not surface in its next request.
 */
const char *oauth2_crypto_error(apr_pool_t *p, const char *what);

#endif /* OAUTH2_CRYPTO_H */
