/*
 * bearer.c: bearer JWT access tokens (see bearer.h).
 */
#include <string.h>
#include <strings.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <apr_strings.h>

#include "bearer.h"
#include "bounds.h"
#include "errors.h"
#include "jose.h"
#include "login.h"

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
 * "+" / "/" ) *"=" */
static int b64token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '-' && c <= '9') /* - . / 0-9 */
           || c == '_' || c == '~' || c == '+';
}

#if defined(__SSE2__)
/* The lanes of 16 bytes that are b64token characters, as a 16-bit mask.
 * Signed compares: bytes >= 0x80 are below every bound, so never in. */
static int b64token16(const char *s)
{
    const __m128i c = _mm_loadu_si128((const __m128i *)s);
    const __m128i u = _mm_and_si128(c, _mm_set1_epi8((char)0xdf));
    __m128i in = _mm_and_si128(_mm_cmpgt_epi8(u, _mm_set1_epi8('A' - 1)),
                               _mm_cmpgt_epi8(_mm_set1_epi8('Z' + 1), u));

    in = _mm_or_si128(in,
                      _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('-' - 1)),
                                    _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), c)));
    in = _mm_or_si128(in, _mm_cmpeq_epi8(c, _mm_set1_epi8('_')));
    in = _mm_or_si128(in, _mm_cmpeq_epi8(c, _mm_set1_epi8('~')));
    in = _mm_or_si128(in, _mm_cmpeq_epi8(c, _mm_set1_epi8('+')));
    return _mm_movemask_epi8(in);
}
#endif

/* How many of the len bytes at s are b64token characters from the start:
 * 16 a turn where SSE2 is there (a token is read on every API request). */
static apr_size_t b64token_span(const char *s, apr_size_t len)
{
    apr_size_t i = 0;

#if defined(__SSE2__)
    int m;

    for (; i + 16 <= len; i += 16) {
        if ((m = b64token16(s + i)) != 0xffff) {
            return i + (apr_size_t)__builtin_ctz(~m & 0xffff);
        }
    }
#endif
    while (i < len && b64token_char((unsigned char)s[i])) {
        i++;
    }
    return i;
}

const char *oauth2_bearer_token(const char *header)
{
    const char *t, *s;
    apr_size_t len;

    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0) {
        return NULL;
    }
    t = header + 7;
    while (*t == ' ') {
        t++;
    }
    len = strlen(t);
    s = t + b64token_span(t, len);
    if (s == t) {
        return NULL; /* at least one character before any '=' */
    }
    while (*s == '=') {
        s++;
    }
    if (*s != '\0' || (apr_size_t)(s - t) > OAUTH2_MAX_JWT) {
        return NULL;
    }
    return t;
}

apr_status_t oauth2_bearer_verify(apr_pool_t *p, oauth2_provider_t *prov,
                                  const char *token,
                                  const oauth2_bearer_expect_t *e,
                                  apr_time_t now, oauth2_claims_t **claims,
                                  const char **err)
{
    oauth2_claims_expect_t x;

    if (token == NULL || e == NULL || e->audience == NULL) {
        *err = "no token or no audience";
        return OAUTH2_EMALFORMED;
    }
    memset(&x, 0, sizeof(x));
    x.kind = OAUTH2_TOKEN_ACCESS;
    x.issuer = oauth2_provider_issuer(prov);
    x.audience = e->audience;
    x.client_id = e->client_id;
    x.allow_untyped = e->allow_untyped;
    x.now = now;
    x.skew = e->skew;
    return oauth2_login_verify_jwt(p, prov, token, &x, claims, err);
}
