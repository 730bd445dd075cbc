/*
 * fuzz_cookie.c: libFuzzer target for src/cookie.c. The input is a Cookie
 * header: every pair that oauth2_cookie_next returns must lie inside the
 * header and be well-formed (non-empty trimmed name without '=' or ';'),
 * oauth2_cookie_find must agree with the iteration, and a Set-Cookie built
 * from a pair must be a single, injection-free header line that reads back
 * as the same pair. oauth2_cookie_strip, by either of its ways, must leave
 * none of the module's cookies (the session, its chunks, login states),
 * whether the header is read as pairs or as comma-merged lines, however
 * many copies there are, and keep every other pair; its quick way is
 * taken only when oauth2_cookie_find_own's copies are all of ours.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "cookie.h"

#define MAX_FOUND 8

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    return 0;
}

static void check_pair(const char *h, const char *end, const oauth2_cookie_t *c)
{
    apr_size_t i;

    if (c->name < h || c->name + c->name_len > end || c->value < h
        || c->value + c->value_len > end || c->name_len == 0) {
        abort();
    }
    if (c->name[0] == ' ' || c->name[0] == '\t'
        || c->name[c->name_len - 1] == ' '
        || c->name[c->name_len - 1] == '\t') {
        abort();
    }
    for (i = 0; i < c->name_len; i++) {
        if (c->name[i] == '=' || c->name[i] == ';' || c->name[i] == '\0') {
            abort();
        }
    }
    for (i = 0; i < c->value_len; i++) {
        if (c->value[i] == ';' || c->value[i] == '\0') {
            abort();
        }
    }
}

/* Set-Cookie from a pair: one line, and it reads back as the same pair. */
static void check_set_header(apr_pool_t *p, const oauth2_cookie_t *c)
{
    static const oauth2_cookie_attrs_t attrs = { "/", NULL, "Lax", 1 };
    const char *name = apr_pstrmemdup(p, c->name, c->name_len);
    const char *value = apr_pstrmemdup(p, c->value, c->value_len);
    char *set = oauth2_cookie_set_header(p, name, value, 60, &attrs);
    oauth2_cookie_t back[1];

    if (!set) {
        return;
    }
    if (strpbrk(set, "\r\n") || strstr(set, "; HttpOnly") == NULL) {
        abort();
    }
    set[strcspn(set, ";")] = '\0';
    if (oauth2_cookie_find(set, name, back, 1) != 1
        || back[0].value_len != c->value_len
        || memcmp(back[0].value, c->value, c->value_len) != 0) {
        abort();
    }
}

/* No pair of out is ours, read with ';' or after a ','. */
static void check_none_owned(const char *out, const char *base)
{
    const char *pos = out, *end = out + strlen(out), *s;
    oauth2_cookie_t c;

    while (oauth2_cookie_next(&pos, end, &c) == APR_SUCCESS) {
        if (oauth2_cookie_owned(c.name, c.name_len, base)) {
            abort();
        }
    }
    for (s = strchr(out, ','); s != NULL; s = strchr(s + 1, ',')) {
        const char *n = s + 1;
        apr_size_t len;

        while (*n == ' ' || *n == '\t') {
            n++;
        }
        len = strcspn(n, "=;, \t");
        if (n[len + strspn(n + len, " \t")] == '='
            && oauth2_cookie_owned(n, len, base)) {
            abort();
        }
    }
}

/* Joins every pair of header as "name=value|" (from p). */
static const char *pairs(apr_pool_t *p, const char *header)
{
    const char *pos = header, *end = header + strlen(header), *s = "";
    oauth2_cookie_t c;

    while (oauth2_cookie_next(&pos, end, &c) == APR_SUCCESS) {
        s = apr_psprintf(p, "%s%.*s=%.*s|", s, (int)c.name_len, c.name,
                         (int)c.value_len, c.value);
    }
    return s;
}

/* Does the full parse of h find a pair of ours that oauth2_cookie_find_own
 * did not (n copies at found)? */
static int missed(const char *h, const char *base, const oauth2_cookie_t *found,
                  apr_size_t n)
{
    const char *pos = h, *end = h + strlen(h);
    oauth2_cookie_t c;
    apr_size_t i;

    while (oauth2_cookie_next(&pos, end, &c) == APR_SUCCESS) {
        if (!oauth2_cookie_owned(c.name, c.name_len, base)) {
            continue;
        }
        for (i = 0; i < n && found[i].name != c.name; i++) {
        }
        if (i == n) {
            return 1;
        }
    }
    return 0;
}

/* Both ways of oauth2_cookie_strip: nothing of ours is left; when
 * oauth2_cookie_find_own says its copies are all of ours, the full parse
 * finds no other, its copies are oauth2_cookie_find's, and the quick cut
 * leaves the pairs the full parse leaves (without a ','). */
static void check_strip(apr_pool_t *p, const char *h)
{
    static const char *const bases[] = { "oauth2_session", "s", "a_1" };
    oauth2_cookie_found_t found, full_way;
    oauth2_cookie_t plain[OAUTH2_COOKIE_MAX_FOUND];
    apr_size_t i, k;

    for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        const char *base = bases[i], *quick, *full, *searched, *q, *f;

        oauth2_cookie_find_own(h, base, &found);
        quick = oauth2_cookie_strip(p, h, base, &found);
        full_way = found;
        full_way.alone = 0;
        full = oauth2_cookie_strip(p, h, base, &full_way);
        searched = oauth2_cookie_strip(p, h, base, NULL);
        q = quick ? quick : h;
        f = full ? full : h;
        if (found.len != strlen(h)
            || found.n
                   != oauth2_cookie_find(h, base, plain,
                                         OAUTH2_COOKIE_MAX_FOUND)) {
            abort();
        }
        for (k = 0; k < found.n; k++) {
            if (plain[k].name != found.at[k].name
                || plain[k].value != found.at[k].value
                || plain[k].value_len != found.at[k].value_len) {
                abort();
            }
        }
        if (found.alone && missed(h, base, found.at, found.n)) {
            abort();
        }
        check_none_owned(q, base);
        check_none_owned(f, base);
        if ((quick == NULL) != (searched == NULL)
            || (quick && strcmp(quick, searched) != 0)) {
            abort();
        }
        if (strchr(h, ',') == NULL && strcmp(pairs(p, q), pairs(p, f)) != 0) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *h;
    const char *pos, *end;
    oauth2_cookie_t c, first, found[MAX_FOUND];
    apr_size_t n = 0, same = 0, got;

    apr_pool_create(&p, root);
    h = apr_pstrmemdup(p, (const char *)data, size);
    end = h + strlen(h);
    pos = h;
    while (oauth2_cookie_next(&pos, end, &c) == APR_SUCCESS) {
        check_pair(h, end, &c);
        if (n == 0) {
            first = c;
        }
        same += (n > 0 && c.name_len == first.name_len
                 && memcmp(c.name, first.name, c.name_len) == 0);
        if (++n > size) {
            abort(); /* more pairs than bytes: the loop does not advance */
        }
    }
    if (n > 0) {
        const char *name = apr_pstrmemdup(p, first.name, first.name_len);

        got = oauth2_cookie_find(h, name, found, MAX_FOUND);
        if (strlen(h) <= OAUTH2_MAX_COOKIE_HEADER
            && got != (same + 1 < MAX_FOUND ? same + 1 : MAX_FOUND)) {
            abort();
        }
        check_set_header(p, &first);
    }
    check_strip(p, h);
    apr_pool_destroy(p);
    return 0;
}
