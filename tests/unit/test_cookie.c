/*
 * test_cookie.c: unit tests for src/cookie.c (Cookie header reading,
 * RFC 6265 §4.2.1 / §5.4, and Set-Cookie writing, §4.1).
 */
#include "cookie.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "errors.h"

static apr_pool_t *pool;

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* Joins every pair of header as "name=value|" into a string. */
static const char *pairs(const char *header)
{
    const char *pos = header, *end = header + strlen(header);
    const char *s = "";
    oauth2_cookie_t c;
    int guard = 0;

    while (oauth2_cookie_next(&pos, end, &c) == APR_SUCCESS) {
        s = apr_psprintf(pool, "%s%.*s=%.*s|", s, (int)c.name_len, c.name,
                         (int)c.value_len, c.value);
        assert_true(++guard < 10000);
    }
    assert_ptr_equal(pos, end);
    return s;
}

/* Header -> pairs seen, for odd and hostile headers. */
static const struct {
    const char *header;
    const char *pairs;
} next_cases[] = {
    { "", "" },
    { ";", "" },
    { " ; ;\t;; ", "" },
    { "a=1", "a=1|" },
    { "a=1; b=2", "a=1|b=2|" },
    { "a=1;b=2", "a=1|b=2|" },
    { "  a = 1 ;\tb\t=\t2\t", "a=1|b=2|" },
    { "a=", "a=|" },
    { "a=;b=2", "a=|b=2|" },
    { "noeq; a=1", "a=1|" },
    { "noeq", "" },
    { "=1; a=2", "a=2|" },
    { " =x;  =; a=3", "a=3|" },
    { "a=\"q v\"", "a=q v|" },
    { "a=\"\"", "a=|" },
    { "a=\"", "a=\"|" },
    { "a=\"x", "a=\"x|" },
    { "a=b=c", "a=b=c|" },
    { "a=1; a=2", "a=1|a=2|" },
    { "a b=1", "a b=1|" },
    { "a=1;;;;b=2;", "a=1|b=2|" },
    { "a=1, b=2", "a=1, b=2|" },
};

static void test_cookie_next_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]); i++) {
        const char *got = pairs(next_cases[i].header);

        if (strcmp(got, next_cases[i].pairs) != 0) {
            fail_msg("header \"%s\": got \"%s\", want \"%s\"",
                     next_cases[i].header, got, next_cases[i].pairs);
        }
    }
}

static void test_cookie_next_refuses_null(void **state)
{
    const char *h = "a=1", *pos = h, *past = h + 2;
    const char *null_pos = NULL;
    oauth2_cookie_t c;

    (void)state;
    assert_int_equal(oauth2_cookie_next(NULL, h + 3, &c), APR_EINVAL);
    assert_int_equal(oauth2_cookie_next(&null_pos, h + 3, &c), APR_EINVAL);
    assert_int_equal(oauth2_cookie_next(&pos, NULL, &c), APR_EINVAL);
    assert_int_equal(oauth2_cookie_next(&pos, h + 3, NULL), APR_EINVAL);
    assert_int_equal(oauth2_cookie_next(&past, h + 1, &c), APR_EINVAL);
    assert_int_equal(oauth2_cookie_next(&pos, h + 3, &c), APR_SUCCESS);
    assert_int_equal(oauth2_cookie_next(&pos, h + 3, &c), APR_EOF);
    assert_int_equal(oauth2_cookie_next(&pos, h + 3, &c), APR_EOF);
}

static void test_cookie_next_stops_at_end_and_nul(void **state)
{
    const char h[] = "a=1; b=2\0c=3";
    const char *pos = h;
    oauth2_cookie_t c;

    (void)state;
    /* end inside the second pair: its value is cut there */
    assert_int_equal(oauth2_cookie_next(&pos, h + 7, &c), APR_SUCCESS);
    assert_int_equal(oauth2_cookie_next(&pos, h + 7, &c), APR_SUCCESS);
    assert_int_equal(c.name_len, 1);
    assert_int_equal(c.value_len, 0);
    assert_int_equal(oauth2_cookie_next(&pos, h + 7, &c), APR_EOF);
    /* an embedded NUL ends the header */
    pos = h;
    assert_int_equal(oauth2_cookie_next(&pos, h + sizeof(h) - 1, &c),
                     APR_SUCCESS);
    assert_int_equal(oauth2_cookie_next(&pos, h + sizeof(h) - 1, &c),
                     APR_SUCCESS);
    assert_int_equal(oauth2_cookie_next(&pos, h + sizeof(h) - 1, &c), APR_EOF);
}

static void test_cookie_find_returns_duplicates_in_order(void **state)
{
    oauth2_cookie_t out[4];
    const char *h = "oauth2_session=first; other=x; oauth2_session=\"second\";"
                    " OAUTH2_SESSION=case; oauth2_session2=no";

    (void)state;
    assert_int_equal(oauth2_cookie_find(h, "oauth2_session", out, 4), 2);
    assert_int_equal(out[0].value_len, 5);
    assert_memory_equal(out[0].value, "first", 5);
    assert_int_equal(out[1].value_len, 6);
    assert_memory_equal(out[1].value, "second", 6);
    assert_int_equal(oauth2_cookie_find(h, "oauth2_session", out, 1), 1);
    assert_memory_equal(out[0].value, "first", 5);
    assert_int_equal(oauth2_cookie_find(h, "missing", out, 4), 0);
}

static void test_cookie_find_refuses_bad_arguments(void **state)
{
    oauth2_cookie_t out[1];

    (void)state;
    assert_int_equal(oauth2_cookie_find(NULL, "a", out, 1), 0);
    assert_int_equal(oauth2_cookie_find("a=1", NULL, out, 1), 0);
    assert_int_equal(oauth2_cookie_find("a=1", "a", NULL, 1), 0);
    assert_int_equal(oauth2_cookie_find("a=1", "a", out, 0), 0);
    assert_int_equal(oauth2_cookie_find("=1", "", out, 1), 0);
    assert_int_equal(oauth2_cookie_find("a=1", "a", out, 1), 1);
}

static void test_cookie_find_handles_200_cookies(void **state)
{
    oauth2_cookie_t out[8];
    const char *h = "";
    int i;

    (void)state;
    for (i = 0; i < 200; i++) {
        h = apr_psprintf(pool, "%sc%d=v%d; ", h, i, i);
    }
    h = apr_pstrcat(pool, h, "target=last", NULL);
    assert_int_equal(oauth2_cookie_find(h, "target", out, 8), 1);
    assert_int_equal(out[0].value_len, 4);
    assert_int_equal(oauth2_cookie_find(h, "c199", out, 8), 1);
    assert_memory_equal(out[0].value, "v199", 4);
}

static void test_cookie_find_refuses_over_long_headers(void **state)
{
    apr_size_t len = OAUTH2_MAX_COOKIE_HEADER;
    char *h = apr_palloc(pool, len + 2);
    oauth2_cookie_t out[1];

    (void)state;
    /* exactly the limit: scanned; the cookie sits at the very end */
    memset(h, ' ', len);
    memcpy(h + len - 3, "a=1", 3);
    h[len] = '\0';
    assert_int_equal(oauth2_cookie_find(h, "a", out, 1), 1);
    /* one byte more: not scanned at all */
    memmove(h + 1, h, len + 1);
    h[0] = ' ';
    assert_int_equal(oauth2_cookie_find(h, "a", out, 1), 0);
}

static void test_cookie_set_header_session(void **state)
{
    oauth2_cookie_attrs_t a = { NULL, NULL, "Lax", 1 };

    (void)state;
    assert_string_equal(
        oauth2_cookie_set_header(pool, "oauth2_session", "abc", -1, &a),
        "oauth2_session=abc; Path=/; HttpOnly; Secure; SameSite=Lax");
    a.path = "/app";
    a.domain = "example.com";
    a.same_site = NULL;
    a.secure = 0;
    assert_string_equal(
        oauth2_cookie_set_header(pool, "s", "v", 600, &a),
        "s=v; Path=/app; Domain=example.com; Max-Age=600; HttpOnly");
}

static void test_cookie_set_header_deletion(void **state)
{
    oauth2_cookie_attrs_t a = { NULL, NULL, "Strict", 0 };

    (void)state;
    assert_string_equal(oauth2_cookie_set_header(pool, "s", "", 0, &a),
                        "s=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 "
                        "00:00:00 GMT; HttpOnly; SameSite=Strict");
    assert_string_equal(oauth2_cookie_set_header(pool, "s", "v", 0, &a),
                        "s=v; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
}

/* Inputs that must give NULL: no header injection, no invalid cookie. */
static const struct {
    const char *name;
    const char *value;
    oauth2_cookie_attrs_t attrs;
} bad_set_cases[] = {
    { "", "v", { NULL, NULL, NULL, 0 } },
    { "a b", "v", { NULL, NULL, NULL, 0 } },
    { "a=b", "v", { NULL, NULL, NULL, 0 } },
    { "a;b", "v", { NULL, NULL, NULL, 0 } },
    { "a\r\nSet-Cookie: x", "v", { NULL, NULL, NULL, 0 } },
    { "a", "v;Domain=evil", { NULL, NULL, NULL, 0 } },
    { "a", "v w", { NULL, NULL, NULL, 0 } },
    { "a", "v\r\nX: y", { NULL, NULL, NULL, 0 } },
    { "a", "\"v\"", { NULL, NULL, NULL, 0 } },
    { "a", "v\\", { NULL, NULL, NULL, 0 } },
    { "a", "v,w", { NULL, NULL, NULL, 0 } },
    { "a", "v\x80", { NULL, NULL, NULL, 0 } },
    { "a", "v", { "app", NULL, NULL, 0 } },
    { "a", "v", { "/a;b", NULL, NULL, 0 } },
    { "a", "v", { "/a\n", NULL, NULL, 0 } },
    { "a", "v", { NULL, "", NULL, 0 } },
    { "a", "v", { NULL, "ex.com; Secure", NULL, 0 } },
    { "a", "v", { NULL, NULL, "lax", 0 } },
    { "a", "v", { NULL, NULL, "Lax; x", 0 } },
    { "a", "v", { NULL, NULL, "None", 0 } },
};

static void test_cookie_set_header_refuses_bad_input(void **state)
{
    oauth2_cookie_attrs_t a = { NULL, NULL, NULL, 0 };
    char *big = apr_palloc(pool, OAUTH2_MAX_COOKIE_VALUE + 2);
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_set_cases) / sizeof(bad_set_cases[0]); i++) {
        if (oauth2_cookie_set_header(pool, bad_set_cases[i].name,
                                     bad_set_cases[i].value, -1,
                                     &bad_set_cases[i].attrs)) {
            fail_msg("case %zu (\"%s\"=\"%s\") was accepted", i,
                     bad_set_cases[i].name, bad_set_cases[i].value);
        }
    }
    assert_null(oauth2_cookie_set_header(NULL, "a", "v", -1, &a));
    assert_null(oauth2_cookie_set_header(pool, NULL, "v", -1, &a));
    assert_null(oauth2_cookie_set_header(pool, "a", NULL, -1, &a));
    assert_null(oauth2_cookie_set_header(pool, "a", "v", -1, NULL));
    memset(big, 'x', OAUTH2_MAX_COOKIE_VALUE + 1);
    big[OAUTH2_MAX_COOKIE_VALUE + 1] = '\0';
    assert_null(oauth2_cookie_set_header(pool, "a", big, -1, &a));
    big[OAUTH2_MAX_COOKIE_VALUE] = '\0';
    assert_non_null(oauth2_cookie_set_header(pool, "a", big, -1, &a));
}

static void test_cookie_set_header_same_site_none_needs_secure(void **state)
{
    oauth2_cookie_attrs_t a = { "/", NULL, "None", 1 };

    (void)state;
    assert_string_equal(oauth2_cookie_set_header(pool, "a", "v", 1, &a),
                        "a=v; Path=/; Max-Age=1; HttpOnly; Secure; "
                        "SameSite=None");
}

/* A header written by set_header reads back as the same pair. */
static void test_cookie_round_trip(void **state)
{
    oauth2_cookie_attrs_t a = { NULL, NULL, "Lax", 1 };
    const char *v = "q1w2-e3_r4";
    char *set = oauth2_cookie_set_header(pool, "oauth2_state_1", v, 60, &a);
    char *header;
    oauth2_cookie_t out[1];

    (void)state;
    assert_non_null(set);
    /* a browser sends back only name=value */
    header = apr_pstrcat(pool, "x=y; ",
                         apr_pstrndup(pool, set, strcspn(set, ";")), NULL);
    assert_int_equal(oauth2_cookie_find(header, "oauth2_state_1", out, 1), 1);
    assert_int_equal(out[0].value_len, strlen(v));
    assert_memory_equal(out[0].value, v, strlen(v));
}

/* oauth2_cookie_owned: the session cookie, its chunks, login states;
 * nothing that only starts like them. */
static void test_cookie_owned_names(void **state)
{
    static const struct {
        const char *name;
        int owned;
    } cases[] = {
        { "oauth2_session", 1 },    { "oauth2_session_1", 1 },
        { "oauth2_session_16", 1 }, { "oauth2_session_999", 1 },
        { "oauth2_state_abc", 1 },  { "oauth2_state_x", 1 },
        { "oauth2_state_", 0 },     { "oauth2_session_", 0 },
        { "oauth2_sessionX", 0 },   { "oauth2_session_1a", 0 },
        { "Oauth2_session", 0 },    { "oauth2_sessio", 0 },
        { "xoauth2_session", 0 },   { "oauth2_session-1", 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (oauth2_cookie_owned(cases[i].name, strlen(cases[i].name),
                                "oauth2_session")
            != cases[i].owned) {
            fail_msg("%s: want %d", cases[i].name, cases[i].owned);
        }
    }
    assert_int_equal(oauth2_cookie_owned("x", 1, NULL), 0);
    assert_int_equal(oauth2_cookie_owned(NULL, 0, "x"), 0);
}

/* oauth2_cookie_strip: what the backend's Cookie header becomes (review
 * findings 1 and 5: chunks and a fifth copy reached backends). */
static void test_cookie_strip_table(void **state)
{
    static const struct {
        const char *in, *out; /* out NULL: unchanged */
    } cases[] = {
        { "a=1; b=2", NULL },
        { "oauth2_session=X", "" },
        { "a=1; oauth2_session=X; b=2", "a=1; b=2" },
        { "oauth2_session=~2; oauth2_session_1=A; oauth2_session_2=B; c=3",
          "c=3" },
        { "a=1; oauth2_state_q=S; oauth2_session_17=x", "a=1" },
        { "oauth2_session=a; oauth2_session=b; oauth2_session=c; "
          "oauth2_session=d; oauth2_session=e; oauth2_session=REAL; z=9",
          "z=9" },
        { "a=1; b=2; c=3; oauth2_sessionX=1", NULL },
        { "a=1;b=2;c=3;oauth2_sessionX=1", "a=1; b=2; c=3; oauth2_sessionX=1" },
        { "=x, oauth2_session=S; a=1", "a=1" },
        { "a=1;b=2;oauth2_session=x", "a=1;b=2" },
        { "a=1;b=2;c=3;oauth2_session=x;oauth2_sessionX=1",
          "a=1; b=2; c=3; oauth2_sessionX=1" },
        { "q=\"v\"; oauth2_session=\"X\"; r=1", "q=\"v\"; r=1" },
        { " oauth2_session = X ;a=1", "a=1" },
        { "a=1, oauth2_session=X; b=2, oauth2_session_1=Y", "a=1; b=2" },
        { "a=oauth2_session; oauth2_session=X", "a=oauth2_session" },
        { "oauth2_session_=k; oauth2_session_1a=k2", NULL },
        { "oauth2_session_=k;oauth2_session_1a=k2",
          "oauth2_session_=k; oauth2_session_1a=k2" },
        /* our names inside the value of ours (the quick cut does not look
         * there: the value goes whole) and inside another's (it does) */
        { "a=1; oauth2_session=xoauth2_session=y;oauth2_state_z; b=2",
          "a=1; b=2" },
        { "oauth2_session=oauth2_sessionoauth2_state_q", "" },
        { "a=oauth2_session_1; oauth2_session=X; b=oauth2_state_q",
          "a=oauth2_session_1; b=oauth2_state_q" },
    };
    oauth2_cookie_found_t found;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *base = "oauth2_session", *quick, *full;

        oauth2_cookie_find_own(cases[i].in, base, &found);
        quick = oauth2_cookie_strip(pool, cases[i].in, base, &found);
        full = oauth2_cookie_strip(pool, cases[i].in, base, NULL);

        if ((cases[i].out == NULL) != (quick == NULL)
            || (quick && strcmp(quick, cases[i].out) != 0)
            || (cases[i].out == NULL) != (full == NULL)
            || (full && strcmp(full, cases[i].out) != 0)) {
            fail_msg("%s: got \"%s\" / \"%s\", want \"%s\"", cases[i].in,
                     quick ? quick : "(unchanged)", full ? full : "(unchanged)",
                     cases[i].out ? cases[i].out : "(unchanged)");
        }
    }
}

/* Headers, odd and hostile ones among them, for the two ways of
 * oauth2_cookie_strip. */
static const char *const strip_inputs[] = {
    "",
    "a=1",
    "oauth2_session=X",
    "a=1; oauth2_session=X; b=2",
    "a=1;oauth2_session=X;b=2",
    "  oauth2_session = \"X\" ;  a=1 ; ",
    "a=1; oauth2_session=X; oauth2_session=Y; b=2",
    "oauth2_session=a; oauth2_session=b; oauth2_session=c; "
    "oauth2_session=d; oauth2_session=e; z=9",
    "a=1; oauth2_session_1=Y; oauth2_session=X",
    "a=1; oauth2_state_q=S; oauth2_session=X",
    "a=1; oauth2_stat=S; oauth2_session=X",
    "a=1; oauth2_session=X; oauth2_s",
    "oauth2_session; a=1",
    "oauth2_session=X; junk; =v; ;; b",
    "a=oauth2_session; oauth2_session=X",
    "a=1, oauth2_session=X; b=2",
    "oauth2_session=X, oauth2_session_1=Y; b=2",
    "=x, oauth2_session=S; a=1",
    "xoauth2_session=1; oauth2_sessionx=2; oauth2_session=X",
    "oauth2_session=X; oauth2_session=Y;oauth2_session=Z",
    "a=\"oauth2_session=q\"; oauth2_session=\"X\"; b=\"2\"",
    "oauth2_session\t=\tX\t;\tb=2",
    "oauth2_session=oauth2_state_x; b=oauth2_s",
    "oauth2_sessio",
    "oauth2_session=",
    "oauth2_session=\"",
    "b=2; oauth2_session=X; oauth2_session",
};

/* Is the pair at name one of the n found? */
static int among(const char *name, const oauth2_cookie_t *found, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (found[i].name == name) {
            return 1;
        }
    }
    return 0;
}

/* oauth2_cookie_find_own: its copies are oauth2_cookie_find's; when it
 * says alone, the full parse finds no pair of ours but those (the quick
 * cut misses none), and both ways of oauth2_cookie_strip leave the same
 * pairs. Names that share little with the login states' prefix ("s",
 * "a_1") take the way of two searches. */
static void test_cookie_strip_quick_agrees_with_full(void **state)
{
    static const char *const bases[] = { "oauth2_session", "s", "a_1",
                                         "oauth2_s" };
    oauth2_cookie_found_t own, full_way;
    oauth2_cookie_t found[5], c;
    size_t i, b;
    apr_size_t k;

    (void)state;
    for (b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
        for (i = 0; i < sizeof(strip_inputs) / sizeof(strip_inputs[0]); i++) {
            const char *h = strip_inputs[i], *pos = h, *quick, *full;

            oauth2_cookie_find_own(h, bases[b], &own);
            assert_ptr_equal(own.header, h);
            assert_int_equal(own.len, strlen(h));
            assert_int_equal(own.n, oauth2_cookie_find(h, bases[b], found, 5));
            for (k = 0; k < own.n; k++) {
                assert_ptr_equal(own.at[k].name, found[k].name);
                assert_ptr_equal(own.at[k].value, found[k].value);
                assert_int_equal(own.at[k].value_len, found[k].value_len);
            }
            while (own.alone
                   && oauth2_cookie_next(&pos, h + strlen(h), &c)
                          == APR_SUCCESS) {
                if (oauth2_cookie_owned(c.name, c.name_len, bases[b])
                    && !among(c.name, own.at, own.n)) {
                    fail_msg("%s (%s): alone, but %.*s was not found", h,
                             bases[b], (int)c.name_len, c.name);
                }
            }
            quick = oauth2_cookie_strip(pool, h, bases[b], &own);
            full_way = own;
            full_way.alone = 0; /* the full parse */
            full = oauth2_cookie_strip(pool, h, bases[b], &full_way);
            if (strcmp(pairs(quick ? quick : h), pairs(full ? full : h)) != 0) {
                fail_msg("%s (%s): \"%s\" / \"%s\"", h, bases[b],
                         quick ? quick : "(unchanged)",
                         full ? full : "(unchanged)");
            }
        }
    }
}

/* The quick cut is the hot path's: a browser's header with one session
 * cookie takes it; a second name of ours or a mention outside a value
 * does not. */
static void test_cookie_find_own_alone(void **state)
{
    static const struct {
        const char *base, *in;
        int alone;
    } cases[] = {
        { "oauth2_session", "_ga=GA1.1; theme=dark; oauth2_session=X; l=en",
          1 },
        { "oauth2_session", "a=1", 1 },
        { "oauth2_session", "a=1; oauth2_session=oauth2_state_x", 1 },
        { "oauth2_session", "a=1; oauth2_session=X; oauth2_state_q=S", 0 },
        { "oauth2_session", "oauth2_session_1=Y; oauth2_session=X", 0 },
        { "oauth2_session", "a=oauth2_s; oauth2_session=X", 0 },
        { "oauth2_session", "a=1, oauth2_session=X", 0 },
        { "oauth2_session", "oauth2_session; a=1", 0 },
        { "oauth2_session",
          "oauth2_session=a; oauth2_session=b; oauth2_session=c; "
          "oauth2_session=d; oauth2_session=e",
          0 },
        { "s", "a=1; s=X", 1 },
        { "s", "a=1; s=X; oauth2_state_q=S", 0 },
        { "s", "a=s; s=X", 0 },
    };
    oauth2_cookie_found_t f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_cookie_find_own(cases[i].in, cases[i].base, &f);
        if (f.alone != cases[i].alone) {
            fail_msg("%s (%s): alone %d", cases[i].in, cases[i].base, f.alone);
        }
    }
    assert_int_equal(oauth2_cookie_find_own(NULL, "s", &f), 0);
    assert_int_equal(f.alone, 0);
    assert_int_equal(oauth2_cookie_find_own("s=1", "", &f), 0);
    assert_int_equal(f.alone, 0);
}

/* Over OAUTH2_MAX_COOKIE_HEADER: no copies are searched for, the full
 * parse takes ours out, and a header without any is left as it is. */
static void test_cookie_strip_over_long_header(void **state)
{
    apr_size_t len = OAUTH2_MAX_COOKIE_HEADER + 10;
    char *big = apr_palloc(pool, len + 1);
    oauth2_cookie_found_t f;
    const char *out;

    (void)state;
    memset(big, 'v', len);
    memcpy(big, "a=1;b=", 6);
    big[len] = '\0';
    assert_int_equal(oauth2_cookie_find_own(big, "oauth2_session", &f), 0);
    assert_int_equal(f.alone, 1);
    assert_null(oauth2_cookie_strip(pool, big, "oauth2_session", NULL));
    memcpy(big + len - 16, ";oauth2_session=", 16);
    assert_int_equal(oauth2_cookie_find_own(big, "oauth2_session", &f), 0);
    assert_int_equal(f.alone, 0);
    out = oauth2_cookie_strip(pool, big, "oauth2_session", &f);
    assert_non_null(out);
    assert_null(strstr(out, "oauth2_session"));
    assert_int_equal(strlen(out), len - 16 + 1); /* "a=1; b=vvv..." */
}

/* A header of many short pairs grows when ";" becomes "; ": the result
 * must still fit (it did not: a pool overflow before the engine took
 * this over). */
static void test_cookie_strip_output_may_grow(void **state)
{
    char *in = "", *want = "";
    const char *out;
    int i;

    (void)state;
    for (i = 0; i < 500; i++) {
        in = apr_psprintf(pool, "%sa%d=1;", in, i % 10);
        want = apr_psprintf(pool, "%s%sa%d=1", want, i ? "; " : "", i % 10);
    }
    in = apr_pstrcat(pool, in, "oauth2_state_x=1", NULL);
    out = oauth2_cookie_strip(pool, in, "oauth2_session", NULL);
    assert_non_null(out);
    assert_true(strlen(out) > strlen(in));
    assert_string_equal(out, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_next_table),
        cmocka_unit_test(test_cookie_next_refuses_null),
        cmocka_unit_test(test_cookie_next_stops_at_end_and_nul),
        cmocka_unit_test(test_cookie_find_returns_duplicates_in_order),
        cmocka_unit_test(test_cookie_find_refuses_bad_arguments),
        cmocka_unit_test(test_cookie_find_handles_200_cookies),
        cmocka_unit_test(test_cookie_find_refuses_over_long_headers),
        cmocka_unit_test(test_cookie_set_header_session),
        cmocka_unit_test(test_cookie_set_header_deletion),
        cmocka_unit_test(test_cookie_set_header_refuses_bad_input),
        cmocka_unit_test(test_cookie_set_header_same_site_none_needs_secure),
        cmocka_unit_test(test_cookie_round_trip),
        cmocka_unit_test(test_cookie_owned_names),
        cmocka_unit_test(test_cookie_strip_table),
        cmocka_unit_test(test_cookie_strip_output_may_grow),
        cmocka_unit_test(test_cookie_strip_quick_agrees_with_full),
        cmocka_unit_test(test_cookie_find_own_alone),
        cmocka_unit_test(test_cookie_strip_over_long_header),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
