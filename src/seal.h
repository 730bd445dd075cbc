/*
 * seal.h: authenticated encryption (AES-256-GCM) of everything the module
 * hands to a party it does not trust with the contents: state cookies,
 * cookie sessions, records in stores on other hosts.
 *
 * Keys come from the OAuth2Secret values through HKDF-SHA256, one key per
 * secret and purpose ("state", "session", "store"), so a value sealed for
 * one purpose never opens for another. Several secrets make a rotation:
 * the first seals, every one is tried to open. A sealed value is
 *     version (1 byte, 0x01) | nonce (12 random bytes) | ciphertext | tag (16)
 * and the caller's associated data (a cookie name, a store key) is bound
 * to it, so a value moved to another name does not open.
 */
#ifndef OAUTH2_SEAL_H
#define OAUTH2_SEAL_H

#include <apr_pools.h>
#include <apr_tables.h>

#define OAUTH2_SEAL_OVERHEAD (1 + 12 + 16)
/* Shortest secret accepted (bytes): 256 bits' worth of base64. */
#define OAUTH2_SEAL_MIN_SECRET 32
#define OAUTH2_SEAL_MAX_KEYS   8

/** Keys for one purpose, derived at startup; read-only afterwards. */
typedef struct oauth2_seal_t oauth2_seal_t;

/**
 * Derives the keys of purpose from secrets (an array of const char *,
 * first one sealing). Each secret must have at least
 * OAUTH2_SEAL_MIN_SECRET bytes; at most OAUTH2_SEAL_MAX_KEYS are used.
 * Key material is cleansed when p is destroyed.
 * @return APR_SUCCESS, APR_EINVAL (no secret, a short one), OAUTH2_ECRYPTO
 */
apr_status_t oauth2_seal_create(apr_pool_t *p,
                                const apr_array_header_t *secrets,
                                const char *purpose, oauth2_seal_t **seal,
                                const char **err);

/**
 * Seals len bytes with the first key and aad; *out (from p) holds
 * len + OAUTH2_SEAL_OVERHEAD bytes. @return APR_SUCCESS, OAUTH2_ECRYPTO
 */
apr_status_t oauth2_seal_raw(apr_pool_t *p, const oauth2_seal_t *seal,
                             const char *aad, const void *in, apr_size_t len,
                             unsigned char **out, apr_size_t *outlen,
                             const char **err);

/**
 * Opens a sealed value with any key; the tag is checked before any
 * plaintext is used. *out (from p) has one NUL byte after the data.
 * @return APR_SUCCESS, OAUTH2_EMALFORMED (too short, wrong version),
 *         OAUTH2_EBADSIG (no key opens it: tampered, wrong aad, unknown
 *         key), OAUTH2_ECRYPTO
 */
apr_status_t oauth2_seal_open_raw(apr_pool_t *p, const oauth2_seal_t *seal,
                                  const char *aad, const unsigned char *in,
                                  apr_size_t len, unsigned char **out,
                                  apr_size_t *outlen, const char **err);

/** oauth2_seal_raw, then base64url (for cookies). */
apr_status_t oauth2_seal_b64(apr_pool_t *p, const oauth2_seal_t *seal,
                             const char *aad, const void *in, apr_size_t len,
                             char **out, const char **err);

/** base64url-decode (at most max characters), then oauth2_seal_open_raw;
 * adds OAUTH2_ETOOBIG for len > max. */
apr_status_t oauth2_seal_open_b64(apr_pool_t *p, const oauth2_seal_t *seal,
                                  const char *aad, const char *in,
                                  apr_size_t len, apr_size_t max,
                                  unsigned char **out, apr_size_t *outlen,
                                  const char **err);

#endif /* OAUTH2_SEAL_H */
