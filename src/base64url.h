/*
 * base64url.h: base64url without padding (RFC 4648 §5, as JOSE uses it,
 * RFC 7515 §2 and Appendix C).
 *
 * Encoding never fails. Decoding is strict: no padding, no whitespace, no
 * characters outside the url-safe alphabet, no impossible lengths
 * (len % 4 == 1) and no non-zero bits left over in the last character, so
 * every byte string has exactly one accepted encoding.
 */
#ifndef OAUTH2_BASE64URL_H
#define OAUTH2_BASE64URL_H

#include <apr_pools.h>

/** Characters needed to encode len bytes, without the terminating NUL. */
#define OAUTH2_BASE64URL_LEN(len) (((len) / 3) * 4 + (((len) % 3) * 4 + 2) / 3)

/**
 * Encodes len bytes into out, which must hold OAUTH2_BASE64URL_LEN(len) + 1
 * bytes; writes a terminating NUL and returns the number of characters.
 * Allocates nothing (usable on the request hot path).
 */
apr_size_t oauth2_base64url_encode_buf(char *out, const unsigned char *in,
                                       apr_size_t len);

/**
 * Encodes len bytes; returns a NUL-terminated string allocated from p.
 */
char *oauth2_base64url_encode(apr_pool_t *p, const unsigned char *in,
                              apr_size_t len);

/**
 * 1 when each of the len bytes of s is in the url-safe alphabet
 * (A-Z a-z 0-9 - _), else 0. Every byte is looked at, 16 a turn with
 * SSE2, the rest by table: the shape check of a session id on the hot
 * path.
 */
int oauth2_base64url_alphabet(const char *s, apr_size_t len);

/**
 * How many of the len bytes at s, from the start, are RFC 6750 b64token
 * characters (A-Z a-z 0-9 - . _ ~ + /; the '=' padding after them is the
 * caller's): 16 a turn with SSE2, for the bearer token of every API
 * request. Reads nothing past len.
 */
apr_size_t oauth2_base64url_token_span(const char *s, apr_size_t len);

/**
 * Decodes len characters of in. On success *out (allocated from p, with one
 * extra NUL byte after the data so that text can be used as a C string) and
 * *outlen are set. Returns APR_SUCCESS or OAUTH2_EMALFORMED; in == NULL is
 * OAUTH2_EMALFORMED.
 */
apr_status_t oauth2_base64url_decode(apr_pool_t *p, const char *in,
                                     apr_size_t len, unsigned char **out,
                                     apr_size_t *outlen);

/**
 * Decodes into a caller buffer of outsize bytes (no allocation). Returns
 * APR_SUCCESS, OAUTH2_EMALFORMED, or OAUTH2_ETOOBIG when outsize is too
 * small.
 */
apr_status_t oauth2_base64url_decode_buf(unsigned char *out, apr_size_t outsize,
                                         const char *in, apr_size_t len,
                                         apr_size_t *outlen);

#endif /* OAUTH2_BASE64URL_H */
