/*
 * fuzz_cookie.c: libFuzzer target for src/cookie.c. The input is a Cookie
 * header: every pair that oauth2_cookie_next returns must lie inside the
 * header and be well-formed (non-empty trimmed name without '=' or ';'),
 * oauth2_cookie_find must agree with the iteration, and a Set-Cookie built
 * from a pair must be a single, injection-free header line that reads back
 * as the same pair.
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
    apr_pool_destroy(p);
    return 0;
}
