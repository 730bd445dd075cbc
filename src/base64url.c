/*
 * base64url.c: base64url without padding (RFC 4648 §5; RFC 7515 §2 and
 * Appendix C), strict in what it decodes so that every byte string has
 * exactly one accepted encoding (RFC 4648 §3.5: non-zero pad bits are
 * refused). Table-driven (four characters, four lookups, one store), no
 * allocation in the _buf variants.
 *
 * Size limits of what is decoded belong to the callers (bounds.h).
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <apr_strings.h>

#include "base64url.h"
#include "errors.h"

/* RFC 4648 §5, Table 2: the URL and filename safe alphabet. */
static const char enc_table[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of byte c in the alphabet (0..63), or 64 for everything else
 * ('=', '+', '/', whitespace, NUL and bytes >= 0x80 included). */
#define B64V(c)                                  \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'      \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26 \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52 \
     : (c) == '-'               ? 62             \
     : (c) == '_'               ? 63             \
                                : 64)

/* 256 entries of f(value of the byte), built by the compiler. */
#define B64E(f, c) f(B64V(c))
#define B64ROW(f, b)                                                      \
    B64E(f, b + 0), B64E(f, b + 1), B64E(f, b + 2), B64E(f, b + 3),       \
        B64E(f, b + 4), B64E(f, b + 5), B64E(f, b + 6), B64E(f, b + 7),   \
        B64E(f, b + 8), B64E(f, b + 9), B64E(f, b + 10), B64E(f, b + 11), \
        B64E(f, b + 12), B64E(f, b + 13), B64E(f, b + 14), B64E(f, b + 15)
#define B64TABLE(f)                                                         \
    {                                                                       \
        B64ROW(f, 0x00), B64ROW(f, 0x10), B64ROW(f, 0x20), B64ROW(f, 0x30), \
            B64ROW(f, 0x40), B64ROW(f, 0x50), B64ROW(f, 0x60),              \
            B64ROW(f, 0x70), B64ROW(f, 0x80), B64ROW(f, 0x90),              \
            B64ROW(f, 0xa0), B64ROW(f, 0xb0), B64ROW(f, 0xc0),              \
            B64ROW(f, 0xd0), B64ROW(f, 0xe0), B64ROW(f, 0xf0)               \
    }

#define B64SELF(v) (v)
static const unsigned char dec_table[256] = B64TABLE(B64SELF);

#if defined(__SSE2__)
/* The lanes of 16 bytes that are letters, in lo..hi, or one of a, b, c,
 * as a 16-bit mask: the base64url alphabet and RFC 6750's b64token are
 * both such classes. Signed compares: bytes >= 0x80 are below every
 * bound, so never in. */
static int class16(const unsigned char *s, char lo, char hi, char a, char b,
                   char c)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)s);
    /* Letters of either case: bit 0x20 cleared, then 'A'..'Z'. */
    const __m128i u = _mm_and_si128(v, _mm_set1_epi8((char)0xdf));
    __m128i in = _mm_and_si128(_mm_cmpgt_epi8(u, _mm_set1_epi8('A' - 1)),
                               _mm_cmpgt_epi8(_mm_set1_epi8('Z' + 1), u));

    in = _mm_or_si128(
        in, _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8((char)(lo - 1))),
                          _mm_cmpgt_epi8(_mm_set1_epi8((char)(hi + 1)), v)));
    in = _mm_or_si128(in, _mm_cmpeq_epi8(v, _mm_set1_epi8(a)));
    in = _mm_or_si128(in, _mm_cmpeq_epi8(v, _mm_set1_epi8(b)));
    in = _mm_or_si128(in, _mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
    return _mm_movemask_epi8(in);
}
#endif

int oauth2_base64url_alphabet(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char bad = 0;
    apr_size_t i = 0;

    /* Every byte is looked at (no early exit): 16 a turn where SSE2 is
     * there (every x86-64), the rest by table, where values above 63 set
     * the bit 64 in the OR. */
#if defined(__SSE2__)
    int all = 0xffff;

    for (; i + 16 <= len; i += 16) {
        all &= class16(u + i, '0', '9', '-', '_', '_');
    }
    bad = all == 0xffff ? 0 : 64;
#endif
    for (; i < len; i++) {
        bad |= dec_table[u[i]];
    }
    return (bad & 64) == 0;
}

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
 * "+" / "/" ) *"=" */
static int b64token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '-' && c <= '9') /* - . / 0-9 */
           || c == '_' || c == '~' || c == '+';
}

apr_size_t oauth2_base64url_token_span(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0;

#if defined(__SSE2__)
    int m;

    for (; i + 16 <= len; i += 16) {
        if ((m = class16(u + i, '-', '9', '_', '~', '+')) != 0xffff) {
            return i + (apr_size_t)__builtin_ctz(~m & 0xffff);
        }
    }
#endif
    while (i < len && b64token_char(u[i])) {
        i++;
    }
    return i;
}

/* The main loop decodes four characters with four lookups: each of the
 * tables below holds a character's 6 bits already in their place of the
 * 3 output bytes, as a 32-bit word laid out in memory order (byte k at
 * shift B<k>), so one OR joins them and one store writes them. A
 * character outside the alphabet gives BAD, a bit no valid value uses. */
#if APR_IS_BIGENDIAN
#define B0  24
#define B1  16
#define B2  8
#define BAD 0x01u
#else
#define B0  0
#define B1  8
#define B2  16
#define BAD 0x01000000u
#endif
#define D0(v) ((v) == 64 ? BAD : (apr_uint32_t)(v) << (2 + B0))
#define D1(v)                                   \
    ((v) == 64 ? BAD                            \
               : ((apr_uint32_t)(v) >> 4) << B0 \
                     | ((apr_uint32_t)(v)&0x0f) << (4 + B1))
#define D2(v)                                   \
    ((v) == 64 ? BAD                            \
               : ((apr_uint32_t)(v) >> 2) << B1 \
                     | ((apr_uint32_t)(v)&0x03) << (6 + B2))
#define D3(v) ((v) == 64 ? BAD : (apr_uint32_t)(v) << B2)
static const apr_uint32_t dec[4][256] = {
    B64TABLE(D0),
    B64TABLE(D1),
    B64TABLE(D2),
    B64TABLE(D3),
};

/* The 3 bytes of four characters in memory order (and BAD when one of
 * them is not in the alphabet). */
static APR_INLINE apr_uint32_t quantum(const unsigned char *s)
{
    return dec[0][s[0]] | dec[1][s[1]] | dec[2][s[2]] | dec[3][s[3]];
}

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
    /* Two quanta a turn, while a third follows: a 4-byte store writes one
     * byte past its quantum's three, which the next one overwrites. */
    for (; i + 12 <= len; i += 8, o += 6) {
        apr_uint32_t w1 = quantum(s + i), w2 = quantum(s + i + 4);

        if ((w1 | w2) & BAD) {
            return OAUTH2_EMALFORMED;
        }
        memcpy(o, &w1, 4);
        memcpy(o + 3, &w2, 4);
    }
    for (; i + 8 <= len; i += 4, o += 3) {
        apr_uint32_t w = quantum(s + i);

        if (w & BAD) {
            return OAUTH2_EMALFORMED;
        }
        memcpy(o, &w, 4);
    }
    if (i + 4 <= len) {
        unsigned char last[4];
        apr_uint32_t w = quantum(s + i);

        if (w & BAD) {
            return OAUTH2_EMALFORMED;
        }
        memcpy(last, &w, 4);
        memcpy(o, last, 3);
        o += 3;
        i += 4;
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
