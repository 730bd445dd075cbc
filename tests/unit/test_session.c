/*
 * test_session.c: unit tests for src/session.c: building a session from
 * claims (user, email, email_verified, groups, flattened claims, control
 * characters), the record encoding and its decoder (round trip, every
 * truncation, corrupted header and field table, every single-byte
 * corruption), hot-only copies, list iteration, token replacement and
 * the size limit; the groups and resources provider APIs add.
 */
#include "session.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "crypto.h"
#include "errors.h"

/* A fixed clock: 2025-01-01T00:00:00Z. */
#define NOW     ((apr_time_t)1735689600 * APR_USEC_PER_SEC)
#define MAX_AGE apr_time_from_sec(28800)

static apr_pool_t *pool;

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    assert_int_equal(oauth2_crypto_init(), APR_SUCCESS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

static const oauth2_claims_t *claims(const char *json)
{
    oauth2_claims_t *c = NULL;
    const char *err = NULL;

    if (oauth2_claims_parse(pool, json, strlen(json), 1 << 20, &c, &err)
        != APR_SUCCESS) {
        fail_msg("bad test JSON (%s): %s", err, json);
    }
    return c;
}

static oauth2_session_input_t input(const char *json, const char *user,
                                    const char *groups)
{
    oauth2_session_input_t in;

    memset(&in, 0, sizeof(in));
    in.claims = claims(json);
    in.user_claim = user;
    in.groups_claim = groups;
    in.access_token = "AT-123";
    in.refresh_token = "RT-456";
    in.id_token = "eyJ.id.token";
    in.access_expires = NOW + apr_time_from_sec(300);
    in.now = NOW;
    in.max_age = MAX_AGE;
    return in;
}

static oauth2_session_t *build(const char *json, const char *user,
                               const char *groups)
{
    oauth2_session_input_t in = input(json, user, groups);
    oauth2_session_t *s = NULL;
    const char *err = NULL;

    if (oauth2_session_build(pool, &in, &s, &err) != APR_SUCCESS) {
        fail_msg("build failed: %s", err);
    }
    assert_non_null(s);
    return s;
}

/* The entries of a list field joined with '|'. */
static const char *list(const oauth2_session_t *s, oauth2_session_field_e f)
{
    const char *pos = NULL, *e, *out = "";
    int guard = 0;

    while ((e = oauth2_session_list_next(s, f, &pos)) != NULL) {
        out = apr_pstrcat(pool, out, *out || guard ? "|" : "", e, NULL);
        assert_true(++guard < 100000);
    }
    return out;
}

static int list_count(const oauth2_session_t *s, oauth2_session_field_e f)
{
    const char *pos = NULL;
    int n = 0;

    while (oauth2_session_list_next(s, f, &pos) != NULL) {
        assert_true(++n < 100000);
    }
    return n;
}

/* The value of claim path as the session's readers see it
 * (oauth2_session_claims_next: the claims list, then what fields hold),
 * '|' between several, or NULL when absent. */
static const char *claim(const oauth2_session_t *s, const char *path)
{
    oauth2_session_claims_t it = { NULL, 0 };
    const char *p, *v, *out = NULL;
    int guard = 0;

    while (oauth2_session_claims_next(s, &it, &p, &v)) {
        assert_non_null(v);
        assert_true(++guard < 100000);
        if (strcmp(p, path) == 0) {
            out = out ? apr_pstrcat(pool, out, "|", v, NULL) : v;
        }
    }
    return out;
}

/* The value of claim path in the claims list itself, or NULL. */
static const char *listed(const oauth2_session_t *s, const char *path)
{
    const char *pos = NULL, *p, *v, *out = NULL;

    while ((p = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos)) != NULL) {
        v = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos);
        assert_non_null(v);
        if (strcmp(p, path) == 0) {
            out = out ? apr_pstrcat(pool, out, "|", v, NULL) : v;
        }
    }
    return out;
}

#define FULL                                                               \
    "{\"iss\":\"https://idp.example.com\",\"sub\":\"u-1\",\"aud\":\"c\","  \
    "\"sid\":\"sid-9\",\"email\":\"alice@example.com\","                   \
    "\"email_verified\":true,\"preferred_username\":\"alice\","            \
    "\"name\":\"Alice A\",\"groups\":[\"dev\",\"ops\"],"                   \
    "\"nonce\":\"N\",\"at_hash\":\"A\",\"c_hash\":\"C\",\"s_hash\":\"S\"," \
    "\"address\":{\"country\":\"FR\"},\"exp\":1735693200}"

static void test_session_build_full(void **state)
{
    oauth2_session_t *s = build(FULL, "sub", "groups");
    int i;

    (void)state;
    assert_string_equal(s->f[OAUTH2_SF_USER], "u-1");
    assert_string_equal(s->f[OAUTH2_SF_EMAIL], "alice@example.com");
    assert_string_equal(s->f[OAUTH2_SF_USERNAME], "alice");
    assert_string_equal(s->f[OAUTH2_SF_GROUPS_HEADER], "dev,ops");
    assert_string_equal(list(s, OAUTH2_SF_GROUPS), "dev|ops");
    assert_int_equal(s->ngroups, 2);
    assert_string_equal(s->f[OAUTH2_SF_SUB], "u-1");
    assert_string_equal(s->f[OAUTH2_SF_SID], "sid-9");
    assert_string_equal(s->f[OAUTH2_SF_ISS], "https://idp.example.com");
    assert_string_equal(s->f[OAUTH2_SF_ACCESS_TOKEN], "AT-123");
    assert_string_equal(s->f[OAUTH2_SF_REFRESH_TOKEN], "RT-456");
    assert_string_equal(s->f[OAUTH2_SF_ID_TOKEN], "eyJ.id.token");
    assert_true(s->flags & OAUTH2_SESSION_EMAIL_VERIFIED);
    assert_int_equal(s->created, NOW);
    assert_int_equal(s->max_expires, NOW + MAX_AGE);
    assert_int_equal(s->access_expires, NOW + apr_time_from_sec(300));
    /* flattened claims: nested paths, arrays one pair per element */
    assert_string_equal(claim(s, "name"), "Alice A");
    assert_string_equal(claim(s, "address.country"), "FR");
    assert_string_equal(claim(s, "groups"), "dev|ops");
    assert_string_equal(claim(s, "email_verified"), "true");
    assert_string_equal(claim(s, "exp"), "1735693200");
    /* nonce and the hash claims describe the token: not kept */
    assert_null(claim(s, "nonce"));
    assert_null(claim(s, "at_hash"));
    assert_null(claim(s, "c_hash"));
    assert_null(claim(s, "s_hash"));
    assert_string_equal(claim(s, "sub"), "u-1");
    assert_string_equal(claim(s, "iss"), "https://idp.example.com");
    assert_string_equal(claim(s, "sid"), "sid-9");
    assert_string_equal(claim(s, "email"), "alice@example.com");
    assert_string_equal(claim(s, "preferred_username"), "alice");
    /* each value once: what a field holds is not in the claims list */
    assert_null(listed(s, "sub"));
    assert_null(listed(s, "iss"));
    assert_null(listed(s, "sid"));
    assert_null(listed(s, "email"));
    assert_null(listed(s, "preferred_username"));
    assert_null(listed(s, "groups"));
    assert_string_equal(listed(s, "name"), "Alice A");
    /* aud email_verified name address.country exp */
    assert_int_equal(s->nclaims, 5);
    assert_int_equal(list_count(s, OAUTH2_SF_CLAIMS), 10);
    assert_string_equal(list(s, OAUTH2_SF_PATHS), "sub|groups");
    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        if (i != OAUTH2_SF_GROUPS && i != OAUTH2_SF_CLAIMS
            && i != OAUTH2_SF_PATHS) {
            assert_int_equal(s->len[i], strlen(s->f[i]));
        }
    }
}

/* A missing, empty or non-scalar user claim: OAUTH2_EMISMATCH naming the
 * claim. The user is "a string, or a number's text" (session.h). */
static void test_session_user_claim_refusals(void **state)
{
    static const struct {
        const char *json;
        const char *user;
    } cases[] = {
        { "{\"email\":\"a@b.c\"}", "sub" },
        { "{\"sub\":\"\"}", "sub" },
        { "{\"sub\":null}", "sub" },
        { "{\"sub\":{\"id\":\"x\"}}", "sub" },
        { "{\"sub\":[]}", "sub" },
        { "{\"sub\":[\"a\",\"b\"]}", "sub" },
        { "{\"sub\":true}", "sub" },
        { "{\"sub\":\"ad\\u0000min\"}", "sub" }, /* never cut to "ad" */
        { "{\"sub\":\"x\"}", "oid" },
        { "{\"a\":{\"b\":\"x\"}}", "a.c" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_session_input_t in = input(cases[i].json, cases[i].user, "g");
        oauth2_session_t *s = NULL;
        const char *err = NULL;
        apr_status_t rv = oauth2_session_build(pool, &in, &s, &err);

        if (rv != OAUTH2_EMISMATCH) {
            fail_msg("case %zu (%s): %d", i, cases[i].json, rv);
        }
        assert_non_null(err);
        assert_non_null(strstr(err, cases[i].user));
    }
}

/* The user from other claims: a number's text, a dotted path, a
 * namespaced claim. */
static void test_session_user_claim_kinds(void **state)
{
    static const struct {
        const char *json;
        const char *claim;
        const char *user;
    } cases[] = {
        { "{\"id\":12345}", "id", "12345" },
        { "{\"id\":-7}", "id", "-7" },
        { "{\"oid\":\"0000-aaaa\"}", "oid", "0000-aaaa" },
        { "{\"a\":{\"b\":\"nested\"}}", "a.b", "nested" },
        { "{\"https://x.example/uid\":\"ns\"}", "https://x.example/uid", "ns" },
        { "{\"email\":\"Bob@Example.COM\"}", "email", "Bob@Example.COM" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_session_t *s = build(cases[i].json, cases[i].claim, "groups");

        assert_string_equal(s->f[OAUTH2_SF_USER], cases[i].user);
    }
}

/* Groups: a string, an array (scalars only, empty strings dropped), a
 * dotted path, absent. */
static void test_session_groups_shapes(void **state)
{
    static const struct {
        const char *json;
        const char *claim;
        const char *list;
        const char *header;
        apr_uint32_t n;
    } cases[] = {
        { "{\"sub\":\"u\",\"groups\":\"admins\"}", "groups", "admins", "admins",
          1 },
        { "{\"sub\":\"u\",\"groups\":[\"a\",\"b\",\"c\"]}", "groups", "a|b|c",
          "a,b,c", 3 },
        { "{\"sub\":\"u\",\"groups\":[\"a\",\"\",1,true,null,{\"x\":1},"
          "[\"n\"],\"b\"]}",
          "groups", "a|1|true|b", "a,1,true,b", 4 },
        { "{\"sub\":\"u\",\"realm_access\":{\"roles\":[\"r1\",\"r2\"]}}",
          "realm_access.roles", "r1|r2", "r1,r2", 2 },
        { "{\"sub\":\"u\",\"resource_access\":{\"app\":{\"roles\":[\"x\"]}}}",
          "resource_access.app.roles", "x", "x", 1 },
        { "{\"sub\":\"u\"}", "groups", "", "", 0 },
        { "{\"sub\":\"u\",\"groups\":[]}", "groups", "", "", 0 },
        { "{\"sub\":\"u\",\"groups\":{\"a\":\"b\"}}", "groups", "", "", 0 },
        { "{\"sub\":\"u\",\"groups\":\"\"}", "groups", "", "", 0 },
        { "{\"sub\":\"u\",\"groups\":[\"a\\r\\nb\",\"c\"]}", "groups", "a  b|c",
          "a  b,c", 2 },
        /* A ',' in a name would make a backend that splits the header see
         * "admins" (issue 17): ',' and '%' are percent-encoded there. */
        { "{\"sub\":\"u\",\"groups\":[\"staff,admins\",\"100%\",\"x\"]}",
          "groups", "staff,admins|100%|x", "staff%2Cadmins,100%25,x", 3 },
        { "{\"sub\":\"u\",\"groups\":\"cn=a,dc=example\"}", "groups",
          "cn=a,dc=example", "cn=a%2Cdc=example", 1 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_session_t *s = build(cases[i].json, "sub", cases[i].claim);

        assert_string_equal(list(s, OAUTH2_SF_GROUPS), cases[i].list);
        assert_string_equal(s->f[OAUTH2_SF_GROUPS_HEADER], cases[i].header);
        assert_int_equal(s->ngroups, cases[i].n);
        assert_int_equal(list_count(s, OAUTH2_SF_GROUPS), cases[i].n);
    }
}

static void test_session_group_text(void **state)
{
    const char *plain = "staff";

    (void)state;
    assert_ptr_equal(oauth2_session_group_text(pool, plain), plain);
    assert_string_equal(oauth2_session_group_text(pool, "a,b%c"), "a%2Cb%25c");
    assert_string_equal(oauth2_session_group_text(pool, ",%"), "%2C%25");
    assert_string_equal(oauth2_session_group_text(pool, ""), "");
}

/* The claims of n groups named g0..g(n-1), each padded to width. */
static const char *groups_json(int n, int width)
{
    char *json = apr_pstrdup(pool, "{\"sub\":\"u\",\"groups\":[");
    int i;

    for (i = 0; i < n; i++) {
        json = apr_psprintf(pool, "%s%s\"g%0*d\"", json, i ? "," : "",
                            width - 1, i);
    }
    return apr_pstrcat(pool, json, "]}", NULL);
}

/* OAUTH2_MAX_GROUPS groups are kept; one more, or more than
 * OAUTH2_MAX_SESSION_GROUPS bytes of names, is refused, never cut short
 * (a group left out could be the one a <RequireNone> refuses). */
static void test_session_groups_capped(void **state)
{
    oauth2_session_input_t in;
    oauth2_session_t *s;
    const char *err = NULL;

    (void)state;
    s = build(groups_json(OAUTH2_MAX_GROUPS, 5), "sub", "groups");
    assert_int_equal(s->ngroups, OAUTH2_MAX_GROUPS);
    assert_int_equal(list_count(s, OAUTH2_SF_GROUPS), OAUTH2_MAX_GROUPS);
    in = input(groups_json(OAUTH2_MAX_GROUPS + 1, 5), "sub", "groups");
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), OAUTH2_ETOOBIG);
    assert_non_null(strstr(err, "OAuth2GroupsFilter"));
    /* 100 names of 480 bytes fit, 110 do not (49,152 bytes) */
    build(groups_json(100, 480), "sub", "groups");
    in = input(groups_json(110, 480), "sub", "groups");
    err = NULL;
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), OAUTH2_ETOOBIG);
    assert_non_null(err);
}

/* email_verified must be the JSON true: false, the string "true", 1 and
 * absence leave the email unverified (OIDC Core §5.1). */
static void test_session_email_verified(void **state)
{
    static const struct {
        const char *json;
        int verified;
    } cases[] = {
        { "{\"sub\":\"u\",\"email\":\"a@b.c\",\"email_verified\":true}", 1 },
        { "{\"sub\":\"u\",\"email\":\"a@b.c\",\"email_verified\":false}", 0 },
        { "{\"sub\":\"u\",\"email\":\"a@b.c\",\"email_verified\":\"true\"}",
          0 },
        { "{\"sub\":\"u\",\"email\":\"a@b.c\",\"email_verified\":1}", 0 },
        { "{\"sub\":\"u\",\"email\":\"a@b.c\",\"email_verified\":null}", 0 },
        { "{\"sub\":\"u\",\"email\":\"a@b.c\",\"email_verified\":[true]}", 0 },
        { "{\"sub\":\"u\",\"email\":\"a@b.c\"}", 0 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_session_t *s = build(cases[i].json, "sub", "groups");

        assert_int_equal(!!(s->flags & OAUTH2_SESSION_EMAIL_VERIFIED),
                         cases[i].verified);
        assert_string_equal(s->f[OAUTH2_SF_EMAIL], "a@b.c");
    }
}

/* Control characters become spaces in every value and claim name, so
 * nothing can split a header; a string holding a NUL is never cut short
 * (the claim layer drops it). */
static void test_session_control_characters(void **state)
{
    oauth2_session_t *s =
        build("{\"sub\":\"u\\r\\n1\",\"email\":\"a\\tb@c.d\","
              "\"preferred_username\":\"x\\u007fy\","
              "\"name\":\"Set-Cookie:\\r\\nX: y\",\"k\\nk\":\"v\","
              "\"bad\":\"be\\u0000fore\",\"iss\":\"i\\u001b\"}",
              "sub", "groups");
    int i;

    (void)state;
    assert_string_equal(s->f[OAUTH2_SF_USER], "u  1");
    assert_string_equal(s->f[OAUTH2_SF_SUB], "u  1");
    assert_string_equal(s->f[OAUTH2_SF_EMAIL], "a b@c.d");
    assert_string_equal(s->f[OAUTH2_SF_USERNAME], "x y");
    assert_string_equal(s->f[OAUTH2_SF_ISS], "i ");
    assert_string_equal(claim(s, "name"), "Set-Cookie:  X: y");
    assert_string_equal(claim(s, "k k"), "v");
    assert_null(claim(s, "bad"));
    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        apr_uint32_t j;

        for (j = 0; j < s->len[i]; j++) {
            unsigned char c = (unsigned char)s->f[i][j];

            /* list fields hold NUL separators, nothing else below 0x20 */
            assert_true(
                c >= 0x20
                || (c == 0
                    && (i == OAUTH2_SF_GROUPS || i == OAUTH2_SF_CLAIMS)));
            assert_true(c != 0x7f);
        }
    }
}

/* Values longer than OAUTH2_MAX_HEADER_VALUE are cut to it. */
static void test_session_long_values_capped(void **state)
{
    char *big = apr_palloc(pool, 20001);
    oauth2_session_t *s;

    (void)state;
    memset(big, 'x', 20000);
    big[20000] = '\0';
    s = build(apr_psprintf(pool, "{\"sub\":\"u\",\"email\":\"%s\"}", big),
              "sub", "groups");
    assert_int_equal(strlen(s->f[OAUTH2_SF_EMAIL]), OAUTH2_MAX_HEADER_VALUE);
    assert_int_equal(strlen(claim(s, "email")), OAUTH2_MAX_HEADER_VALUE);
    s = build(apr_psprintf(pool, "{\"sub\":\"u\",\"name\":\"%s\"}", big), "sub",
              "groups");
    assert_int_equal(strlen(claim(s, "name")), OAUTH2_MAX_HEADER_VALUE);
}

/* The flattened claims stop at their cap on a whole pair: never a name
 * without its value. */
static void test_session_claims_cap_keeps_pairs(void **state)
{
    char *json = apr_pstrdup(pool, "{\"sub\":\"u\"");
    char *value = apr_palloc(pool, 1001);
    oauth2_session_t *s;
    int i;

    (void)state;
    memset(value, 'v', 1000);
    value[1000] = '\0';
    for (i = 0; i < 40; i++) {
        json = apr_psprintf(pool, "%s,\"k%04d\":\"%s\"", json, i, value);
    }
    json = apr_pstrcat(pool, json, "}", NULL);
    s = build(json, "sub", "groups");
    assert_true(s->nclaims > 10 && s->nclaims < 40);
    assert_int_equal(list_count(s, OAUTH2_SF_CLAIMS), 2 * (int)s->nclaims);
    assert_true(s->len[OAUTH2_SF_CLAIMS] <= 16 * 1024);
}

/* Compares two sessions field by field. */
static void assert_same(const oauth2_session_t *a, const oauth2_session_t *b)
{
    int i;

    assert_int_equal(a->created, b->created);
    assert_int_equal(a->max_expires, b->max_expires);
    assert_int_equal(a->access_expires, b->access_expires);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->moved, b->moved);
    assert_int_equal(a->ngroups, b->ngroups);
    assert_int_equal(a->nclaims, b->nclaims);
    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        assert_int_equal(a->len[i], b->len[i]);
        assert_memory_equal(a->f[i], b->f[i], a->len[i]);
        assert_int_equal(b->f[i][b->len[i]], '\0');
    }
}

static void encode(const oauth2_session_t *s, char **rec, apr_size_t *len)
{
    assert_int_equal(oauth2_session_encode(pool, s, rec, len), APR_SUCCESS);
    assert_true(*len >= OAUTH2_SESSION_HEADER_LEN);
}

static void test_session_encode_decode_round_trip(void **state)
{
    oauth2_session_t *s = build(FULL, "sub", "groups"), d;
    char *rec;
    apr_size_t len, i;

    (void)state;
    encode(s, &rec, &len);
    assert_memory_equal(rec, "OA2S\x04", 5);
    memset(&d, 0, sizeof(d));
    assert_int_equal(oauth2_session_decode(rec, len, &d), APR_SUCCESS);
    /* the decoded fields point into the record; the groups header is
     * not stored, its reader builds it */
    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        if (i == OAUTH2_SF_GROUPS_HEADER) {
            assert_string_equal(d.f[i], "");
            continue;
        }
        assert_true(d.f[i] >= rec && d.f[i] + d.len[i] < rec + len);
    }
    /* SUB equals USER: stored once */
    assert_ptr_equal(d.f[OAUTH2_SF_SUB], d.f[OAUTH2_SF_USER]);
    assert_int_equal(oauth2_session_decode_p(pool, rec, len, &d), APR_SUCCESS);
    assert_same(s, &d);
    assert_string_equal(list(&d, OAUTH2_SF_GROUPS), "dev|ops");
    assert_string_equal(claim(&d, "address.country"), "FR");
    assert_string_equal(claim(&d, "groups"), "dev|ops");
    assert_string_equal(claim(&d, "sub"), "u-1");
    assert_string_equal(claim(&d, "email"), "alice@example.com");
}

/* A session with nothing but a user (empty lists, no tokens) and one with
 * negative and extreme times survive the round trip. */
static void test_session_round_trip_edges(void **state)
{
    oauth2_session_input_t in = input("{\"sub\":\"u\"}", "sub", "groups");
    oauth2_session_t *s, d;
    const char *err = NULL;
    char *rec;
    apr_size_t len;

    (void)state;
    in.access_token = NULL;
    in.refresh_token = NULL;
    in.id_token = NULL;
    in.access_expires = 0;
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    assert_string_equal(s->f[OAUTH2_SF_ACCESS_TOKEN], "");
    assert_string_equal(list(s, OAUTH2_SF_GROUPS), "");
    encode(s, &rec, &len);
    assert_int_equal(oauth2_session_decode_p(pool, rec, len, &d), APR_SUCCESS);
    assert_same(s, &d);
    assert_null(oauth2_session_list_next(&d, OAUTH2_SF_GROUPS,
                                         &(const char *){ NULL }));

    s->created = INT64_MIN;
    s->max_expires = INT64_MAX;
    s->access_expires = -1;
    s->flags = 0xff;
    encode(s, &rec, &len);
    assert_int_equal(oauth2_session_decode_p(pool, rec, len, &d), APR_SUCCESS);
    assert_same(s, &d);
}

/* Cut at every length: below the hot length always refused; from the hot
 * length on, the hot fields intact and each token either whole or empty
 * (a hot-only copy). */
static void test_session_decode_every_truncation(void **state)
{
    oauth2_session_t *s = build(FULL, "sub", "groups"), d;
    apr_size_t len, n, hot;
    char *rec, *copy;
    int i;

    (void)state;
    encode(s, &rec, &len);
    hot = oauth2_session_hot_len(rec, len);
    assert_true(hot > OAUTH2_SESSION_HEADER_LEN && hot < len);
    for (n = 0; n < len; n++) {
        /* a copy of exactly n bytes, so ASan sees any read past it */
        copy = malloc(n ? n : 1);
        memcpy(copy, rec, n);
        if (n < hot) {
            assert_int_equal(oauth2_session_decode(copy, n, &d),
                             OAUTH2_EMALFORMED);
            free(copy);
            continue;
        }
        assert_int_equal(oauth2_session_decode(copy, n, &d), APR_SUCCESS);
        for (i = 0; i < OAUTH2_SF_HOT_END; i++) {
            if (i == OAUTH2_SF_GROUPS_HEADER) {
                continue;
            }
            assert_int_equal(d.len[i], s->len[i]);
            assert_memory_equal(d.f[i], s->f[i], s->len[i]);
        }
        for (i = OAUTH2_SF_HOT_END; i < OAUTH2_SF_COUNT; i++) {
            assert_true(d.len[i] == 0 || d.len[i] == s->len[i]);
            if (d.len[i] != 0) {
                assert_string_equal(d.f[i], s->f[i]);
            }
        }
        if (n == hot) {
            for (i = OAUTH2_SF_HOT_END; i < OAUTH2_SF_COUNT; i++) {
                assert_string_equal(d.f[i], "");
            }
        }
        free(copy);
    }
}

/* The hot length: what a reader of the hot fields copies. */
static void test_session_hot_len(void **state)
{
    oauth2_session_t *s = build(FULL, "sub", "groups"), d;
    apr_size_t len, hot;
    char *rec, *copy;
    int i;

    (void)state;
    encode(s, &rec, &len);
    hot = oauth2_session_hot_len(rec, len);
    /* the hot fields end where the access token begins */
    assert_int_equal(hot, len - (s->len[OAUTH2_SF_ACCESS_TOKEN] + 1)
                              - (s->len[OAUTH2_SF_REFRESH_TOKEN] + 1)
                              - (s->len[OAUTH2_SF_ID_TOKEN] + 1));
    copy = malloc(hot);
    memcpy(copy, rec, hot);
    assert_int_equal(oauth2_session_hot_len(copy, hot), hot);
    assert_int_equal(oauth2_session_decode(copy, hot, &d), APR_SUCCESS);
    for (i = 0; i < OAUTH2_SF_HOT_END; i++) {
        if (i != OAUTH2_SF_GROUPS_HEADER) {
            assert_memory_equal(d.f[i], s->f[i], s->len[i] + 1);
        }
    }
    for (i = OAUTH2_SF_HOT_END; i < OAUTH2_SF_COUNT; i++) {
        assert_string_equal(d.f[i], "");
        assert_int_equal(d.len[i], 0);
    }
    assert_string_equal(list(&d, OAUTH2_SF_GROUPS), "dev|ops");
    free(copy);

    assert_int_equal(oauth2_session_hot_len(NULL, 100), 0);
    assert_int_equal(oauth2_session_hot_len(rec, OAUTH2_SESSION_HEADER_LEN - 1),
                     0);
    assert_int_equal(oauth2_session_hot_len(rec, hot - 1), 0);
}

/* The record's integers are big-endian (bytes.h). */
static void put16(char *b, apr_uint32_t v)
{
    b[0] = (char)((v >> 8) & 0xff);
    b[1] = (char)(v & 0xff);
}

/* Where field f's length is in the header: the stored fields (all but
 * the groups header) in order, 2 bytes each, from 38. */
static apr_size_t len_at(int f)
{
    return 38 + 2 * (apr_size_t)(f > OAUTH2_SF_GROUPS_HEADER ? f - 1 : f);
}

/* Corrupted header and field lengths, each refused. Offsets from the
 * layout in session.h: magic 0, version 4, hot_len 36, field lengths from
 * 38. */
static void test_session_decode_corruptions(void **state)
{
    oauth2_session_t *s = build(FULL, "sub", "groups"), d;
    char *rec, *bad;
    apr_size_t len;
    int i;

    (void)state;
    encode(s, &rec, &len);
    bad = malloc(len);
#define RESET() memcpy(bad, rec, len)
#define REFUSED() \
    assert_int_equal(oauth2_session_decode(bad, len, &d), OAUTH2_EMALFORMED)

    for (i = 0; i < 4; i++) { /* magic */
        RESET();
        bad[i] ^= 0x20;
        REFUSED();
    }
    /* Another version (1: before API groups and resources; 2: integers
     * in host order; 3: offsets and 32-bit lengths) is not read: its user
     * logs in again. */
    for (i = 0; i < 5; i++) {
        RESET();
        bad[4] = (char)(i == 4 ? 0xff : i);
        assert_int_equal(oauth2_session_decode(bad, len, &d), OAUTH2_EEXPIRED);
    }
    RESET();
    put16(bad + 36, 0); /* hot_len inside the header */
    REFUSED();
    RESET();
    put16(bad + 36, OAUTH2_SESSION_HEADER_LEN - 1);
    REFUSED();
    RESET();
    put16(bad + 36, (apr_uint32_t)len + 1); /* hot_len past the end */
    REFUSED();
    RESET();
    put16(bad + 36, 0xffff);
    REFUSED();
    RESET();
    put16(bad + 36, oauth2_session_hot_len(rec, len) - 1); /* not the end */
    REFUSED();

    for (i = 0; i < OAUTH2_SF_HOT_END; i++) {
        if (i == OAUTH2_SF_GROUPS_HEADER) {
            continue;
        }
        RESET();
        put16(bad + len_at(i), 0xffff); /* past the end */
        REFUSED();
        RESET();
        put16(bad + len_at(i), (apr_uint32_t)len);
        REFUSED();
        RESET();
        put16(bad + len_at(i), s->len[i] + 1); /* not ending on a NUL */
        REFUSED();
    }
    /* a field whose terminating NUL is gone */
    RESET();
    bad[OAUTH2_SESSION_HEADER_LEN + s->len[OAUTH2_SF_USER]] = 'X';
    REFUSED();
    /* a length one too short no longer ends on a NUL */
    RESET();
    put16(bad + len_at(OAUTH2_SF_USER), s->len[OAUTH2_SF_USER] - 1);
    REFUSED();
    /* a token field running past the end reads as absent, never out of
     * bounds */
    RESET();
    put16(bad + len_at(OAUTH2_SF_ID_TOKEN), 0xfff0);
    assert_int_equal(oauth2_session_decode(bad, len, &d), APR_SUCCESS);
    assert_string_equal(d.f[OAUTH2_SF_ID_TOKEN], "");
#undef RESET
#undef REFUSED
    free(bad);
}

/* Walks the claims in pairs as the consumers do (authz.c, apache.c): a
 * corrupted list may end on a name without a value. */
static void pairs_tolerant(const oauth2_session_t *s)
{
    const char *pos = NULL, *p, *v;
    int guard = 0;

    while ((p = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos)) != NULL) {
        v = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos);
        if (v == NULL) {
            break;
        }
        assert_true(strlen(p) <= s->len[OAUTH2_SF_CLAIMS]);
        assert_true(++guard < 100000);
    }
}

/* Every position set to several values: the decoder never reads out of
 * bounds (ASan in the sanitizer build) and either refuses or returns
 * fields inside the record, each ending on a NUL, whose lists iterate
 * to an end inside the field. */
static void test_session_decode_single_byte_fuzz(void **state)
{
    static const unsigned char values[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
    oauth2_session_t *s = build(FULL, "sub", "groups"), d;
    apr_size_t len, pos, v;
    char *rec, *bad;
    int i, ok = 0, refused = 0;

    (void)state;
    encode(s, &rec, &len);
    bad = malloc(len);
    for (pos = 0; pos < len; pos++) {
        for (v = 0; v < sizeof(values) + 1; v++) {
            memcpy(bad, rec, len);
            bad[pos] = v < sizeof(values) ? (char)values[v] : (char)~rec[pos];
            if (oauth2_session_decode(bad, len, &d) != APR_SUCCESS) {
                refused++;
                continue;
            }
            ok++;
            for (i = 0; i < OAUTH2_SF_COUNT; i++) {
                if (d.len[i] == 0 && d.f[i][0] == '\0') {
                    continue;
                }
                assert_true(d.f[i] >= bad + OAUTH2_SESSION_HEADER_LEN);
                assert_true(d.f[i] + d.len[i] < bad + len);
                assert_int_equal(d.f[i][d.len[i]], '\0');
            }
            (void)list_count(&d, OAUTH2_SF_GROUPS);
            (void)list_count(&d, OAUTH2_SF_CLAIMS);
            pairs_tolerant(&d);
        }
    }
    assert_true(ok > 0 && refused > 0);
    free(bad);
}

/* Decoding needs a record: NULL, empty and header-only input refused. */
static void test_session_decode_short_inputs(void **state)
{
    oauth2_session_t d;
    char zero[OAUTH2_SESSION_HEADER_LEN + 8];

    (void)state;
    memset(zero, 0, sizeof(zero));
    assert_int_equal(oauth2_session_decode(NULL, 0, &d), OAUTH2_EMALFORMED);
    assert_int_equal(oauth2_session_decode("", 0, &d), OAUTH2_EMALFORMED);
    assert_int_equal(oauth2_session_decode("OA2S", 4, &d), OAUTH2_EMALFORMED);
    assert_int_equal(oauth2_session_decode(zero, sizeof(zero), &d),
                     OAUTH2_EMALFORMED);
    memcpy(zero, "OA2S\x01", 5);
    assert_int_equal(oauth2_session_decode(zero, sizeof(zero), &d),
                     OAUTH2_EMALFORMED);
}

/* New tokens after a refresh: a copy; NULL refresh or ID token keeps the
 * old one, NULL access token empties it; the original is unchanged. */
static void test_session_with_tokens(void **state)
{
    oauth2_session_t *s = build(FULL, "sub", "groups"), *n, d;
    char *rec;
    apr_size_t len;

    (void)state;
    n = oauth2_session_with_tokens(pool, s, "AT-new", NULL, NULL, NOW + 7);
    assert_ptr_not_equal(n, s);
    assert_string_equal(n->f[OAUTH2_SF_ACCESS_TOKEN], "AT-new");
    assert_int_equal(n->len[OAUTH2_SF_ACCESS_TOKEN], 6);
    assert_string_equal(n->f[OAUTH2_SF_REFRESH_TOKEN], "RT-456");
    assert_string_equal(n->f[OAUTH2_SF_ID_TOKEN], "eyJ.id.token");
    assert_int_equal(n->access_expires, NOW + 7);
    assert_string_equal(s->f[OAUTH2_SF_ACCESS_TOKEN], "AT-123");
    assert_int_equal(s->access_expires, NOW + apr_time_from_sec(300));
    assert_string_equal(n->f[OAUTH2_SF_USER], "u-1");

    n = oauth2_session_with_tokens(pool, s, NULL, "RT-longer-than-before",
                                   "id2", 0);
    assert_string_equal(n->f[OAUTH2_SF_ACCESS_TOKEN], "");
    assert_int_equal(n->len[OAUTH2_SF_ACCESS_TOKEN], 0);
    assert_string_equal(n->f[OAUTH2_SF_REFRESH_TOKEN], "RT-longer-than-before");
    assert_int_equal(n->len[OAUTH2_SF_REFRESH_TOKEN], 21);
    assert_string_equal(n->f[OAUTH2_SF_ID_TOKEN], "id2");
    assert_int_equal(n->len[OAUTH2_SF_ID_TOKEN], 3);

    /* works on a decoded session too, and encodes again */
    encode(s, &rec, &len);
    assert_int_equal(oauth2_session_decode(rec, len, &d), APR_SUCCESS);
    n = oauth2_session_with_tokens(pool, &d, "AT-3", "RT-3", NULL, 1);
    encode(n, &rec, &len);
    assert_int_equal(oauth2_session_decode(rec, len, &d), APR_SUCCESS);
    assert_string_equal(d.f[OAUTH2_SF_ACCESS_TOKEN], "AT-3");
    assert_string_equal(d.f[OAUTH2_SF_REFRESH_TOKEN], "RT-3");
    assert_string_equal(d.f[OAUTH2_SF_ID_TOKEN], "eyJ.id.token");
    assert_string_equal(list(&d, OAUTH2_SF_GROUPS), "dev|ops");
}

/* A record over OAUTH2_MAX_SESSION_RECORD: build says so (session.h), and
 * encode refuses it too (after a refresh with huge tokens). */
static void test_session_too_big(void **state)
{
    oauth2_session_input_t in = input(FULL, "sub", "groups");
    oauth2_session_t *s = NULL, *n, d;
    char *huge = apr_palloc(pool, OAUTH2_MAX_SESSION_RECORD + 1);
    const char *err = NULL;
    char *rec = NULL;
    apr_size_t len = 0;

    (void)state;
    memset(huge, 'T', OAUTH2_MAX_SESSION_RECORD);
    huge[OAUTH2_MAX_SESSION_RECORD] = '\0';
    in.access_token = huge;
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), OAUTH2_ETOOBIG);
    assert_non_null(err);

    s = build(FULL, "sub", "groups");
    n = oauth2_session_with_tokens(pool, s, huge, NULL, NULL, 0);
    assert_int_equal(oauth2_session_encode(pool, n, &rec, &len),
                     OAUTH2_ETOOBIG);
    /* exactly at the limit encodes, one byte more does not: the record
     * without an access token, plus the token */
    {
        apr_size_t other;

        n = oauth2_session_with_tokens(pool, s, NULL, NULL, NULL, 0);
        encode(n, &rec, &other);
        huge[OAUTH2_MAX_SESSION_RECORD - other] = '\0';
        n = oauth2_session_with_tokens(pool, s, huge, NULL, NULL, 0);
        assert_int_equal(oauth2_session_encode(pool, n, &rec, &len),
                         APR_SUCCESS);
        assert_int_equal(len, OAUTH2_MAX_SESSION_RECORD);
        assert_int_equal(oauth2_session_decode(rec, len, &d), APR_SUCCESS);
        assert_int_equal(d.len[OAUTH2_SF_ACCESS_TOKEN],
                         OAUTH2_MAX_SESSION_RECORD - other);
        huge[OAUTH2_MAX_SESSION_RECORD - other] = 'T';
        huge[OAUTH2_MAX_SESSION_RECORD - other + 1] = '\0';
        n = oauth2_session_with_tokens(pool, s, huge, NULL, NULL, 0);
        assert_int_equal(oauth2_session_encode(pool, n, &rec, &len),
                         OAUTH2_ETOOBIG);
    }
}

/* An array of strings from a '|'-separated list. */
static apr_array_header_t *strs(const char *v)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    char *copy = apr_pstrdup(pool, v), *tok, *last = NULL;

    for (tok = apr_strtok(copy, "|", &last); tok != NULL;
         tok = apr_strtok(NULL, "|", &last)) {
        APR_ARRAY_PUSH(a, const char *) = tok;
    }
    return a;
}

/* Resources from "key=level|key=level". */
static apr_array_header_t *res(const char *v)
{
    apr_array_header_t *a = strs(v), *out;
    int i;

    out = apr_array_make(pool, 4, sizeof(oauth2_session_resource_t));
    for (i = 0; i < a->nelts; i++) {
        char *e = apr_pstrdup(pool, APR_ARRAY_IDX(a, i, const char *));
        char *eq = strrchr(e, '=');
        oauth2_session_resource_t *r = apr_array_push(out);

        *eq = '\0';
        r->key = e;
        r->level = atoi(eq + 1);
    }
    return out;
}

/* API groups (lower case) follow the claims' groups in the header; the
 * resources are pairs; all of it survives the round trip. */
static void test_session_api_fields(void **state)
{
    oauth2_session_input_t in = input(FULL, "sub", "groups");
    oauth2_session_t *s = NULL, d;
    const char *err = NULL;
    char *rec;
    apr_size_t len;
    int level = -1;

    (void)state;
    in.api_groups = strs("Eng@Example.com|all@example.com");
    in.resources = res("project:acme/app=30|repo:acme/app=0");
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    assert_string_equal(s->f[OAUTH2_SF_GROUPS_HEADER],
                        "dev,ops,eng@example.com,all@example.com");
    assert_string_equal(list(s, OAUTH2_SF_GROUPS), "dev|ops");
    assert_int_equal(s->ngroups, 2);
    assert_string_equal(list(s, OAUTH2_SF_API_GROUPS),
                        "eng@example.com|all@example.com");
    assert_string_equal(list(s, OAUTH2_SF_RESOURCES),
                        "project:acme/app|30|repo:acme/app|0");
    encode(s, &rec, &len);
    assert_int_equal(oauth2_session_decode_p(pool, rec, len, &d), APR_SUCCESS);
    assert_same(s, &d);
    assert_true(oauth2_session_resource(&d, "project:acme/app", &level));
    assert_int_equal(level, 30);
    assert_true(oauth2_session_resource(&d, "repo:acme/app", &level));
    assert_int_equal(level, 0);
    assert_false(oauth2_session_resource(&d, "project:acme/other", &level));
    assert_false(oauth2_session_resource(&d, "30", &level));
    /* hot fields: a request needs them, so they come before the tokens */
    assert_true(OAUTH2_SF_API_GROUPS < OAUTH2_SF_HOT_END);
    assert_true(OAUTH2_SF_RESOURCES < OAUTH2_SF_HOT_END);
}

/* Only API groups: the header has no leading comma. */
static void test_session_api_groups_only(void **state)
{
    oauth2_session_input_t in = input("{\"sub\":\"u\"}", "sub", "groups");
    oauth2_session_t *s = NULL;
    const char *err = NULL;

    (void)state;
    in.api_groups = strs("a@example.com");
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    assert_string_equal(s->f[OAUTH2_SF_GROUPS_HEADER], "a@example.com");
    assert_int_equal(s->ngroups, 0);
}

/* After a refresh the API's answers replace the old ones; a rule resolved
 * on first use adds its answer, replacing an older one of the same key. */
static void test_session_with_api(void **state)
{
    oauth2_session_input_t in = input(FULL, "sub", "groups");
    oauth2_session_t *s = NULL, *n = NULL, d;
    const char *err = NULL;
    char *rec;
    apr_size_t len;

    (void)state;
    in.api_groups = strs("old@example.com");
    in.resources = res("project:a/b=30|repo:c/d=3");
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    assert_int_equal(oauth2_session_with_api(pool, s, strs("new@example.com"),
                                             res("project:a/b=10"), 0, &n,
                                             &err),
                     APR_SUCCESS);
    assert_string_equal(list(n, OAUTH2_SF_API_GROUPS), "new@example.com");
    assert_string_equal(n->f[OAUTH2_SF_GROUPS_HEADER],
                        "dev,ops,new@example.com");
    assert_string_equal(list(n, OAUTH2_SF_RESOURCES), "project:a/b|10");
    assert_string_equal(list(s, OAUTH2_SF_API_GROUPS), "old@example.com");
    assert_int_equal(oauth2_session_with_api(pool, s, NULL,
                                             res("repo:c/d=5|repo:e/f=0"), 1,
                                             &n, &err),
                     APR_SUCCESS);
    assert_string_equal(list(n, OAUTH2_SF_API_GROUPS), "old@example.com");
    assert_string_equal(list(n, OAUTH2_SF_RESOURCES),
                        "project:a/b|30|repo:c/d|5|repo:e/f|0");
    assert_string_equal(n->f[OAUTH2_SF_ACCESS_TOKEN], "AT-123");
    encode(n, &rec, &len);
    assert_int_equal(oauth2_session_decode_p(pool, rec, len, &d), APR_SUCCESS);
    assert_same(n, &d);
}

/* More API groups than a session holds is an error, never a silent cut
 * (a shorter list could pass a <RequireNone>). */
static void test_session_api_too_many(void **state)
{
    oauth2_session_input_t in = input(FULL, "sub", "groups");
    apr_array_header_t *g = apr_array_make(pool, 8, sizeof(const char *));
    oauth2_session_t *s = NULL, *n = NULL;
    const char *err = NULL;
    int i;

    (void)state;
    for (i = 0; i <= OAUTH2_MAX_GROUPS; i++) {
        APR_ARRAY_PUSH(g, const char *) =
            apr_psprintf(pool, "group-%d@example.com", i);
    }
    in.api_groups = g;
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), OAUTH2_ETOOBIG);
    in.api_groups = NULL;
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    err = NULL;
    assert_int_equal(oauth2_session_with_api(pool, s, g, NULL, 0, &n, &err),
                     OAUTH2_ETOOBIG);
    assert_non_null(err);
}

/* A test matcher: the "expression" is a substring. */
static int contains(const void *re, const char *value)
{
    return strstr(value, re) != NULL;
}

/* OAuth2GroupsFilter: only matching groups are kept, claim groups and API
 * groups alike; the groups claim's values read back filtered too. */
static void test_session_groups_filter(void **state)
{
    oauth2_session_input_t in =
        input("{\"sub\":\"u\",\"groups\":[\"app-admins\",\"hr\","
              "\"app-users\",\"finance\"]}",
              "sub", "groups");
    oauth2_regex_t f = { "app-", "app-", contains };
    oauth2_session_t *s = NULL;
    const char *err = NULL;

    (void)state;
    in.groups_filter = &f;
    in.api_groups = strs("app-x@example.com|other@example.com");
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    assert_string_equal(list(s, OAUTH2_SF_GROUPS), "app-admins|app-users");
    assert_int_equal(s->ngroups, 2);
    assert_string_equal(list(s, OAUTH2_SF_API_GROUPS), "app-x@example.com");
    assert_string_equal(s->f[OAUTH2_SF_GROUPS_HEADER],
                        "app-admins,app-users,app-x@example.com");
    assert_string_equal(claim(s, "groups"), "app-admins|app-users");
    /* more groups than a session holds, but few of them kept: served */
    in = input(groups_json(OAUTH2_MAX_GROUPS + 500, 5), "sub", "groups");
    f.re = "g000";
    in.groups_filter = &f;
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    assert_int_equal(s->ngroups, 10);
    /* without a filter, the list itself */
    assert_ptr_equal(oauth2_session_filter_groups(pool, NULL, in.api_groups),
                     in.api_groups);
}

/* Each value once: fields equal to USER are stored empty (OAuth2RemoteUser
 * Claim email), a user claim no field holds is named in PATHS, and the
 * claims read back whole after a round trip. */
static void test_session_values_once(void **state)
{
    oauth2_session_t *s, d;
    char *rec, *rec2;
    apr_size_t len, len2;

    (void)state;
    s = build("{\"sub\":\"u-1\",\"email\":\"a@b.c\",\"preferred_username\":"
              "\"a@b.c\",\"oid\":\"O-9\",\"roles\":[\"r1\",\"r2\"]}",
              "email", "roles");
    encode(s, &rec, &len);
    assert_int_equal(oauth2_session_decode_p(pool, rec, len, &d), APR_SUCCESS);
    assert_string_equal(d.f[OAUTH2_SF_USER], "a@b.c");
    assert_string_equal(d.f[OAUTH2_SF_EMAIL], "a@b.c");
    assert_string_equal(d.f[OAUTH2_SF_USERNAME], "a@b.c");
    assert_string_equal(d.f[OAUTH2_SF_SUB], "u-1");
    assert_string_equal(d.f[OAUTH2_SF_GROUPS_HEADER], "r1,r2");
    assert_string_equal(claim(&d, "email"), "a@b.c");
    assert_string_equal(claim(&d, "preferred_username"), "a@b.c");
    assert_string_equal(claim(&d, "roles"), "r1|r2");
    assert_string_equal(claim(&d, "oid"), "O-9");
    assert_null(listed(&d, "roles"));
    /* "a@b.c" once in the record */
    assert_ptr_equal(d.f[OAUTH2_SF_EMAIL], d.f[OAUTH2_SF_USER]);
    /* the user claim no field holds: named in PATHS */
    s = build("{\"sub\":\"u-1\",\"oid\":\"O-9\"}", "oid", "groups");
    assert_null(listed(s, "oid"));
    assert_string_equal(claim(s, "oid"), "O-9");
    assert_string_equal(list(s, OAUTH2_SF_PATHS), "oid|groups");
    encode(s, &rec2, &len2);
    assert_int_equal(oauth2_session_decode(rec2, len2, &d), APR_SUCCESS);
    assert_string_equal(claim(&d, "oid"), "O-9");
    assert_string_equal(claim(&d, "sub"), "u-1");
    /* a claim of the same name with another value stays in the list */
    s = build("{\"sub\":\"u-1\",\"email\":[\"a@b.c\",\"x@y.z\"]}", "sub",
              "groups");
    assert_string_equal(claim(s, "email"), "a@b.c|x@y.z");
}

/* Sessions that nothing reads the tokens of leave them out. */
static void test_session_no_tokens(void **state)
{
    oauth2_session_input_t in = input(FULL, "sub", "groups");
    oauth2_session_t *s = NULL, d;
    const char *err = NULL;
    char *rec;
    apr_size_t len;

    (void)state;
    in.no_tokens = 1;
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    assert_true(s->flags & OAUTH2_SESSION_NO_TOKENS);
    assert_string_equal(s->f[OAUTH2_SF_ACCESS_TOKEN], "");
    assert_string_equal(s->f[OAUTH2_SF_REFRESH_TOKEN], "");
    assert_int_equal(s->access_expires, 0);
    assert_string_equal(s->f[OAUTH2_SF_ID_TOKEN], "eyJ.id.token");
    encode(s, &rec, &len);
    assert_int_equal(oauth2_session_decode(rec, len, &d), APR_SUCCESS);
    assert_true(d.flags & OAUTH2_SESSION_NO_TOKENS);
    assert_string_equal(d.f[OAUTH2_SF_ACCESS_TOKEN], "");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_session_build_full),
        T(test_session_user_claim_refusals),
        T(test_session_user_claim_kinds),
        T(test_session_groups_shapes),
        T(test_session_group_text),
        T(test_session_groups_capped),
        T(test_session_email_verified),
        T(test_session_control_characters),
        T(test_session_long_values_capped),
        T(test_session_claims_cap_keeps_pairs),
        T(test_session_encode_decode_round_trip),
        T(test_session_round_trip_edges),
        T(test_session_decode_every_truncation),
        T(test_session_hot_len),
        T(test_session_decode_corruptions),
        T(test_session_decode_single_byte_fuzz),
        T(test_session_decode_short_inputs),
        T(test_session_with_tokens),
        T(test_session_too_big),
        T(test_session_api_fields),
        T(test_session_api_groups_only),
        T(test_session_with_api),
        T(test_session_api_too_many),
        T(test_session_groups_filter),
        T(test_session_values_once),
        T(test_session_no_tokens),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
