/*
 * fuzz_session.c: libFuzzer target for the session record decoder
 * (src/session.c) and what reads a decoded session (list iteration,
 * src/authz.c). The input is a record as a store or a cookie would hand
 * it back. Whatever decodes must have every field inside the record and
 * ending on a NUL, lists that iterate to an end inside their field, a hot
 * length no longer than the record, and must survive being encoded and
 * decoded again unchanged, and a copy with resources added (a rule
 * resolved on first use) or replaced must encode and decode. ASan catches
 * any read outside the input. Seeds: tests/fuzz/corpus/session/ (records
 * made by oauth2_session_build and oauth2_session_encode, hot-only
 * copies, corrupted tables; version 3: API groups and resources, integers
 * in network byte order).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "authz.h"
#include "bounds.h"
#include "errors.h"
#include "session.h"

static apr_pool_t *root;
static oauth2_rule_t *rules[3];

static int prefix_match(const void *re, const char *value)
{
    return strncmp(value, re, strlen(re)) == 0;
}

static const void *prefix_compile(apr_pool_t *p, const char *pattern,
                                  const char **err)
{
    (void)err;
    return apr_pstrdup(p, pattern);
}

static void make_rule(int i, oauth2_rule_kind_e kind, const char *w1,
                      const char *w2)
{
    apr_array_header_t *w = apr_array_make(root, 2, sizeof(const char *));
    const char *err = NULL;

    APR_ARRAY_PUSH(w, const char *) = w1;
    APR_ARRAY_PUSH(w, const char *) = w2;
    if (oauth2_authz_parse(root, kind, w, prefix_compile, prefix_match,
                           &rules[i], &err)
        != APR_SUCCESS) {
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    make_rule(0, OAUTH2_RULE_GROUP, "dev", "project:acme/app=developer");
    make_rule(1, OAUTH2_RULE_CLAIM, "email~alice", "roles:admin");
    make_rule(2, OAUTH2_RULE_EMAIL_DOMAIN, "example.com", "example.org");
    return 0;
}

/* A list field iterates to its end inside the field, entry by entry. */
static void check_list(const oauth2_session_t *s, oauth2_session_field_e f)
{
    const char *start = s->f[f], *end = start + s->len[f], *pos = NULL, *e;
    apr_size_t n = 0;

    while ((e = oauth2_session_list_next(s, f, &pos)) != NULL) {
        if (e < start || e >= end || e + strlen(e) > end) {
            abort();
        }
        if (++n > s->len[f]) {
            abort(); /* more entries than bytes: no progress */
        }
    }
}

/* Claims are read in pairs; a corrupted list may end on a lone name. */
static void check_pairs(const oauth2_session_t *s)
{
    const char *pos = NULL, *path, *value;

    while ((path = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos))
           != NULL) {
        value = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos);
        if (value == NULL) {
            break;
        }
        (void)strlen(path);
        (void)strlen(value);
    }
}

static void check_fields(const oauth2_session_t *s, const char *rec, size_t len)
{
    int i;

    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        if (s->f[i] == NULL) {
            abort();
        }
        if (s->len[i] == 0 && s->f[i][0] == '\0') {
            continue; /* absent: may be a constant "" */
        }
        if (s->f[i] < rec + OAUTH2_SESSION_HEADER_LEN
            || s->f[i] + s->len[i] >= rec + len || s->f[i][s->len[i]] != '\0') {
            abort();
        }
    }
}

/* Encoding the decoded session and decoding that gives it back. */
static void check_reencode(apr_pool_t *p, const oauth2_session_t *s)
{
    oauth2_session_t d;
    char *rec;
    apr_size_t len;
    int i;

    if (oauth2_session_encode(p, s, &rec, &len) != APR_SUCCESS) {
        return; /* overlapping fields may add up past the limit */
    }
    if (oauth2_session_decode(rec, len, &d) != APR_SUCCESS) {
        abort();
    }
    if (d.created != s->created || d.max_expires != s->max_expires
        || d.access_expires != s->access_expires || d.flags != s->flags
        || d.ngroups != s->ngroups || d.nclaims != s->nclaims) {
        abort();
    }
    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        if (d.len[i] != s->len[i] || memcmp(d.f[i], s->f[i], s->len[i]) != 0) {
            abort();
        }
    }
    if (oauth2_session_hot_len(rec, len) == 0) {
        abort();
    }
}

/* Resources added to (or replacing those of) a decoded session encode,
 * decode, and are found again; nothing unresolved remains. */
static void check_with_api(apr_pool_t *p, const oauth2_session_t *s)
{
    apr_array_header_t *r =
        apr_array_make(p, 1, sizeof(oauth2_session_resource_t));
    apr_array_header_t *g = apr_array_make(p, 1, sizeof(const char *));
    oauth2_session_resource_t *e = apr_array_push(r);
    oauth2_session_t *n, d;
    const char *err;
    char *rec;
    apr_size_t len;
    int i, level;

    e->key = "project:acme/app";
    e->level = 30;
    APR_ARRAY_PUSH(g, const char *) = "Eng@Example.com";
    for (i = 0; i < 2; i++) {
        if (oauth2_session_with_api(p, s, i ? g : NULL, r, i, &n, &err)
                != APR_SUCCESS
            || oauth2_session_encode(p, n, &rec, &len) != APR_SUCCESS) {
            continue; /* over the limits: refused, never cut */
        }
        if (oauth2_session_decode(rec, len, &d) != APR_SUCCESS
            || !oauth2_session_resource(&d, e->key, &level) || level != 30
            || oauth2_authz_unresolved(p, rules[0], &d) != NULL) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *rec = (const char *)data;
    apr_size_t hot = oauth2_session_hot_len(rec, size);
    oauth2_session_t s;
    apr_pool_t *p;
    int i;

    if (hot > size || (hot != 0 && hot < OAUTH2_SESSION_HEADER_LEN)) {
        abort();
    }
    memset(&s, 0xA5, sizeof(s));
    if (oauth2_session_decode(rec, size, &s) != APR_SUCCESS) {
        return 0;
    }
    if (hot == 0) {
        abort(); /* decoded without a hot length */
    }
    check_fields(&s, rec, size);
    check_list(&s, OAUTH2_SF_GROUPS);
    check_list(&s, OAUTH2_SF_CLAIMS);
    check_list(&s, OAUTH2_SF_API_GROUPS);
    check_list(&s, OAUTH2_SF_RESOURCES);
    check_pairs(&s);
    for (i = 0; i < 3; i++) {
        (void)oauth2_authz_check(rules[i], &s);
    }
    apr_pool_create(&p, root);
    check_reencode(p, &s);
    check_with_api(p, &s);
    (void)oauth2_session_with_tokens(p, &s, "at", NULL, "id", 0);
    apr_pool_destroy(p);
    return 0;
}
