/*
 * base64url.c: base64url without padding (RFC 4648 §5; RFC 7515 §2 and
 * Appendix C), strict in what it decodes so that every byte string has
 * exactly one accepted encoding (RFC 4648 §3.5: non-zero pad bits are
 * refused). Table-driven, no allocation in the _buf variants.
 *
 * Size limits of what is decoded belong to the callers (bounds.h).
 */
#include <apr_strings.h>

#include "base64url.h"
#include "errors.h"

/* RFC 4648 §5, Table 2: the URL and filename safe alphabet. */
static const char enc_table[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of each byte in the alphabet, 64 for everything else ('=', '+',
 * '/', whitespace, NUL and bytes >= 0x80 included). */
#define XX 64
static const unsigned char dec_table[256] = {
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x00 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x10 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, /* 0x20 */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, XX, XX, XX, /* 0x30 */
    XX, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, /* 0x40 */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, 63, /* 0x50 */
    XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, /* 0x60 */
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX, /* 0x70 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x80 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x90 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xa0 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xb0 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xc0 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xd0 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xe0 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xf0 */
};
#undef XX

apr_size_t oauth2_base64url_encode_buf(char *out, const unsigned char *in,
                                       apr_size_t len)
{
    apr_size_t i = 0;
    char *o = out;

    for (; i + 3 <= len; i += 3) {
        unsigned long v = ((unsigned long)in[i] << 16)
                          | ((unsigned long)in[i + 1] << 8) | in[i + 2];
        *o++ = enc_table[(v >> 18) & 0x3f];
        *o++ = enc_table[(v >> 12) & 0x3f];
        *o++ = enc_table[(v >> 6) & 0x3f];
        *o++ = enc_table[v & 0x3f];
    }
    /* RFC 4648 §4 final quantum, without the '=' padding (§5, RFC 7515
     * §2). */
    if (len - i == 1) {
        *o++ = enc_table[in[i] >> 2];
        *o++ = enc_table[(in[i] & 0x03) << 4];
    }
    else if (len - i == 2) {
        *o++ = enc_table[in[i] >> 2];
        *o++ = enc_table[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        *o++ = enc_table[(in[i + 1] & 0x0f) << 2];
    }
    *o = '\0';
    return (apr_size_t)(o - out);
}

char *oauth2_base64url_encode(apr_pool_t *p, const unsigned char *in,
                              apr_size_t len)
{
    char *out = apr_palloc(p, OAUTH2_BASE64URL_LEN(len) + 1);

    oauth2_base64url_encode_buf(out, in, len);
    return out;
}

/* Bytes that len characters decode to, or -1 when no string of that
 * length is a valid unpadded encoding (len % 4 == 1 carries 6 bits). */
static apr_ssize_t decoded_len(apr_size_t len)
{
    if (len % 4 == 1) {
        return -1;
    }
    return (apr_ssize_t)((len / 4) * 3 + ((len % 4) * 3) / 4);
}

/* Decodes a final group of 2 or 3 characters; refuses set pad bits. */
static apr_status_t decode_tail(unsigned char *o, const unsigned char *s,
                                apr_size_t n)
{
    unsigned int a = dec_table[s[0]];
    unsigned int b = dec_table[s[1]];
    unsigned int c = n == 3 ? dec_table[s[2]] : 0;

    if ((a | b | c) & 0x40) {
        return OAUTH2_EMALFORMED;
    }
    o[0] = (unsigned char)((a << 2) | (b >> 4));
    if (n == 2) {
        /* 12 bits carry 8: the low 4 bits of b must be zero. */
        return (b & 0x0f) ? OAUTH2_EMALFORMED : APR_SUCCESS;
    }
    o[1] = (unsigned char)(((b & 0x0f) << 4) | (c >> 2));
    /* 18 bits carry 16: the low 2 bits of c must be zero. */
    return (c & 0x03) ? OAUTH2_EMALFORMED : APR_SUCCESS;
}

apr_status_t oauth2_base64url_decode_buf(unsigned char *out, apr_size_t outsize,
                                         const char *in, apr_size_t len,
                                         apr_size_t *outlen)
{
    const unsigned char *s = (const unsigned char *)in;
    apr_ssize_t need = decoded_len(len);
    apr_size_t i = 0;
    unsigned char *o = out;

    if (in == NULL || outlen == NULL || need < 0) {
        return OAUTH2_EMALFORMED;
    }
    if ((apr_size_t)need > outsize || (need > 0 && out == NULL)) {
        return OAUTH2_ETOOBIG;
    }
    for (; i + 4 <= len; i += 4) {
        unsigned int a = dec_table[s[i]], b = dec_table[s[i + 1]];
        unsigned int c = dec_table[s[i + 2]], d = dec_table[s[i + 3]];

        if ((a | b | c | d) & 0x40) {
            return OAUTH2_EMALFORMED;
        }
        *o++ = (unsigned char)((a << 2) | (b >> 4));
        *o++ = (unsigned char)(((b & 0x0f) << 4) | (c >> 2));
        *o++ = (unsigned char)(((c & 0x03) << 6) | d);
    }
    if (i < len && decode_tail(o, s + i, len - i) != APR_SUCCESS) {
        return OAUTH2_EMALFORMED;
    }
    *outlen = (apr_size_t)need;
    return APR_SUCCESS;
}

apr_status_t oauth2_base64url_decode(apr_pool_t *p, const char *in,
                                     apr_size_t len, unsigned char **out,
                                     apr_size_t *outlen)
{
    apr_ssize_t need = decoded_len(len);
    unsigned char *buf;
    apr_status_t rv;

    if (p == NULL || in == NULL || out == NULL || outlen == NULL || need < 0) {
        return OAUTH2_EMALFORMED;
    }
    buf = apr_palloc(p, (apr_size_t)need + 1);
    rv = oauth2_base64url_decode_buf(buf, (apr_size_t)need, in, len, outlen);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    buf[*outlen] = '\0';
    *out = buf;
    return APR_SUCCESS;
}
