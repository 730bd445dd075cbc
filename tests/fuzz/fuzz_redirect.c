/*
 * fuzz_redirect.c: libFuzzer target for src/redirect.c. The input is a
 * redirect target. Whatever the validator accepts must pass an
 * independent, deliberately simple oracle, or the target abort()s:
 *   - it is returned unchanged, is at most OAUTH2_MAX_URL bytes, and holds
 *     only printable ASCII without space or backslash;
 *   - fully percent-decoded, it holds no control character or backslash;
 *   - raw and decoded, it is either a same-host relative path ('/', then
 *     neither '/' nor '\\') or "http(s)://" + an allowed host (exactly this
 *     host, good.com, 10.0.0.1 or [::1], or a subdomain of example.com)
 *     with an optional numeric port, and no '@' in the authority.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "bounds.h"
#include "errors.h"
#include "redirect.h"

#define THIS_HOST "www.whitelisteddomain.tld"

static apr_pool_t *root;
static apr_array_header_t *allowed;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    allowed = apr_array_make(root, 4, sizeof(const char *));
    APR_ARRAY_PUSH(allowed, const char *) = "good.com";
    APR_ARRAY_PUSH(allowed, const char *) = ".example.com";
    APR_ARRAY_PUSH(allowed, const char *) = "10.0.0.1";
    APR_ARRAY_PUSH(allowed, const char *) = "::1";
    return 0;
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* One round of %XX decoding into out; returns the new length. */
static size_t decode_once(const char *in, size_t len, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        if (in[i] == '%' && i + 2 < len && hexv(in[i + 1]) >= 0
            && hexv(in[i + 2]) >= 0) {
            out[o++] = (char)(hexv(in[i + 1]) * 16 + hexv(in[i + 2]));
            i += 2;
        }
        else {
            out[o++] = in[i];
        }
    }
    return o;
}

static int ieq(const char *a, const char *b, size_t n)
{
    return strncasecmp(a, b, n) == 0;
}

static int host_ok(const char *h, size_t n)
{
    static const char *const exact[] = { THIS_HOST, "good.com", "10.0.0.1",
                                         "[::1]" };
    static const char suffix[] = ".example.com";
    size_t i, sl = sizeof(suffix) - 1;

    for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        if (n == strlen(exact[i]) && ieq(h, exact[i], n)) {
            return 1;
        }
    }
    if (n <= sl + 0 || !ieq(h + n - sl, suffix, sl) || h[n - sl - 1] == '.') {
        return 0;
    }
    for (i = 0; i < n - sl; i++) {
        if (h[i] == '\0'
            || !strchr("abcdefghijklmnopqrstuvwxyz"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
                       h[i])) {
            return 0;
        }
    }
    return h[0] != '.';
}

/* One form (raw or decoded) of an accepted target. */
static void check_form(const char *s, size_t len)
{
    size_t start, end, hlen, i;

    if (len >= 1 && s[0] == '/') {
        if (len >= 2 && (s[1] == '/' || s[1] == '\\')) {
            abort();
        }
        return;
    }
    if (len >= 7 && ieq(s, "http://", 7)) {
        start = 7;
    }
    else if (len >= 8 && ieq(s, "https://", 8)) {
        start = 8;
    }
    else {
        abort();
    }
    for (end = start; end < len && !strchr("/?#\\", s[end]); end++) {
        if (s[end] == '@' || s[end] == '\0') {
            abort();
        }
    }
    hlen = end - start;
    /* strip ":port" (digits only) */
    for (i = end; i > start && s[i - 1] >= '0' && s[i - 1] <= '9'; i--) {
    }
    if (i > start && i < end && s[i - 1] == ':') {
        hlen = i - 1 - start;
    }
    if (!host_ok(s + start, hlen)) {
        abort();
    }
}

static void check_accepted(const char *t)
{
    size_t i, len = strlen(t), n;
    char *a = malloc(len + 1), *b = malloc(len + 1);

    if (len == 0 || len > OAUTH2_MAX_URL || !a || !b) {
        abort();
    }
    for (i = 0; i < len; i++) {
        if (t[i] <= 0x20 || t[i] >= 0x7F || t[i] == '\\') {
            abort();
        }
    }
    check_form(t, len);
    memcpy(a, t, len);
    for (n = decode_once(a, len, b); n != len; n = decode_once(a, len, b)) {
        for (i = 0; i < n; i++) {
            if ((unsigned char)b[i] < 0x20 || b[i] == 0x7F || b[i] == '\\') {
                abort();
            }
        }
        check_form(b, n);
        memcpy(a, b, n);
        len = n;
    }
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *target;
    const char *out = NULL, *err = NULL;
    apr_status_t rv;

    apr_pool_create(&p, root);
    target = apr_pstrmemdup(p, (const char *)data, size);
    rv = oauth2_redirect_validate(p, target, THIS_HOST, allowed, &out, &err);
    if (rv == APR_SUCCESS) {
        if (out != target) {
            abort();
        }
        check_accepted(target);
    }
    else if (out != NULL || err == NULL
             || (rv != OAUTH2_EREFUSED && rv != OAUTH2_ETOOBIG
                 && rv != OAUTH2_EMALFORMED)) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
