/*
 * fuzz_bearer.c: libFuzzer target for the Authorization header rules of
 * src/bearer.c and src/base64url.c. The input is a header value (cut at
 * its first NUL, in a buffer of exactly its size, so that an SSE2 load
 * past its end is an AddressSanitizer report):
 *   - oauth2_base64url_token_span counts what a byte-at-a-time reading of
 *     RFC 6750's b64token counts, from every start offset;
 *   - oauth2_bearer_raw is what follows "Bearer " (any case) and its
 *     spaces, or NULL;
 *   - oauth2_bearer_token answers as RFC 6750 §2.1 read byte by byte
 *     ("Bearer", spaces, b64token, '=' padding, nothing after, at most
 *     OAUTH2_MAX_JWT), and is the raw bytes whenever it is not NULL: the
 *     bearer memo relies on that (d3120df).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64url.h"
#include "bearer.h"
#include "bounds.h"

static int b64token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~' || c == '+' || c == '/';
}

static size_t ref_span(const char *s, size_t len)
{
    size_t n = 0;

    while (n < len && b64token_char((unsigned char)s[n])) {
        n++;
    }
    return n;
}

static const char *ref_raw(const char *h)
{
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        return NULL;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    return h;
}

static const char *ref_token(const char *h)
{
    const char *t = ref_raw(h);
    size_t n = 0, m;

    if (t == NULL) {
        return NULL;
    }
    while (t[n] != '\0' && b64token_char((unsigned char)t[n])) {
        n++;
    }
    if (n == 0) {
        return NULL;
    }
    for (m = n; t[m] == '='; m++) {
    }
    return t[m] == '\0' && m <= OAUTH2_MAX_JWT ? t : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t len = nul ? (size_t)(nul - data) : size, i;
    char *h = malloc(len + 1), *span_buf = malloc(len ? len : 1);
    const char *raw, *token;

    if (h == NULL || span_buf == NULL) {
        free(h);
        free(span_buf);
        return 0;
    }
    memcpy(h, data, len);
    h[len] = '\0';
    /* The span on its own, no terminator after the bytes, from each of the
     * first 17 offsets (every alignment of the 16-byte loads). */
    memcpy(span_buf, data, len);
    for (i = 0; i <= len && i < 17; i++) {
        if (oauth2_base64url_token_span(span_buf + i, len - i)
            != ref_span(span_buf + i, len - i)) {
            abort();
        }
    }
    raw = oauth2_bearer_raw(h);
    token = oauth2_bearer_token(h);
    if (raw != ref_raw(h) || token != ref_token(h)
        || (token != NULL && token != raw)) {
        abort();
    }
    free(span_buf);
    free(h);
    return 0;
}
