/*
 * test_headers.c: unit tests for src/headers.c, the edits of a request's
 * header tables: a client's identity headers (any case, '_' for '-', more
 * than one batch) and their names in Connection removed with a log line
 * each; the server's session cookies taken out of the Cookie header in
 * place (all names but the one authentication took out); a response's
 * identity for the backend (headers with a value, the access token only
 * where passed, claims as headers and variables, array elements joined,
 * set again on an internal redirect) and its other headers.
 */
#include "headers.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "config.h"

static apr_pool_t *pool;

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    return apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* A table of the given headers (name, value, ..., NULL). */
static apr_table_t *table(const char *name, ...)
{
    apr_table_t *t = apr_table_make(pool, 8);
    va_list ap;

    va_start(ap, name);
    for (; name != NULL; name = va_arg(ap, const char *)) {
        apr_table_addn(t, name, va_arg(ap, const char *));
    }
    va_end(ap);
    return t;
}

/* The log lines, joined with '|'. */
static void log_line(void *ctx, const char *msg)
{
    const char **lines = ctx;

    *lines = *lines ? apr_pstrcat(pool, *lines, "|", msg, NULL) : msg;
}

static void test_headers_strip_identity(void **state)
{
    apr_table_t *t = table(
        "Host", "a.example", "X-Forwarded-User", "admin", "x_forwarded_email",
        "a@b", "OAuth2-Claim-role", "root", "Cookie", "a=1", "Cache-Control",
        "no-cache", "Connection", "keep-alive, X-Forwarded-Groups",
        "X-Forwarded-For", "10.0.0.1", "Accept", "*/*", NULL);
    const char *lines = NULL;

    (void)state;
    oauth2_headers_strip_identity(pool, t, log_line, &lines);
    assert_null(apr_table_get(t, "X-Forwarded-User"));
    assert_null(apr_table_get(t, "X-Forwarded-Email"));
    assert_null(apr_table_get(t, "OAuth2-Claim-role"));
    assert_string_equal(apr_table_get(t, "Connection"), "keep-alive");
    /* Not ours: kept. */
    assert_string_equal(apr_table_get(t, "X-Forwarded-For"), "10.0.0.1");
    assert_string_equal(apr_table_get(t, "Cookie"), "a=1");
    assert_string_equal(apr_table_get(t, "Cache-Control"), "no-cache");
    assert_int_equal(apr_table_elts(t)->nelts, 6);
    assert_string_equal(lines,
                        "OA2101: removed client-sent header X-Forwarded-User|"
                        "OA2101: removed client-sent header x_forwarded_email|"
                        "OA2101: removed client-sent header OAuth2-Claim-role|"
                        "OA2101: removed identity header names from "
                        "Connection");
}

/* More identity headers than one batch; a Connection with nothing else
 * left goes; a request without any is left alone and logs nothing. */
static void test_headers_strip_identity_batches(void **state)
{
    apr_table_t *t = table("Connection", "X-Forwarded-User", NULL);
    const char *lines = NULL;
    int i;

    (void)state;
    for (i = 0; i < 40; i++) {
        apr_table_addn(t, apr_psprintf(pool, "OAuth2-Claim-c%d", i), "v");
    }
    apr_table_addn(t, "X-Forwarded-Access-Token", "t");
    oauth2_headers_strip_identity(pool, t, log_line, &lines);
    assert_int_equal(apr_table_elts(t)->nelts, 0);
    lines = NULL;
    t = table("Host", "a", "Connection", "close", "Cookie", "x=1", NULL);
    oauth2_headers_strip_identity(pool, t, log_line, &lines);
    assert_null(lines);
    assert_int_equal(apr_table_elts(t)->nelts, 3);
    assert_string_equal(apr_table_get(t, "Connection"), "close");
}

static apr_array_header_t *names(const char *a, const char *b)
{
    apr_array_header_t *n = apr_array_make(pool, 2, sizeof(const char *));

    APR_ARRAY_PUSH(n, const char *) = a;
    if (b != NULL) {
        APR_ARRAY_PUSH(n, const char *) = b;
    }
    return n;
}

static void test_headers_strip_cookies(void **state)
{
    apr_table_t *t = table("Host", "a", "Cookie",
                           "a=1; oauth2_session=x; other=2; intranet=y",
                           "Accept", "*/*", NULL);
    const apr_table_entry_t *e;

    (void)state;
    oauth2_headers_strip_cookies(pool, t, names("oauth2_session", "intranet"),
                                 NULL);
    /* In place: the entry keeps its position. */
    e = (const apr_table_entry_t *)apr_table_elts(t)->elts;
    assert_string_equal(e[1].key, "Cookie");
    assert_string_equal(e[1].val, "a=1; other=2");
    assert_int_equal(apr_table_elts(t)->nelts, 3);
    /* The name authentication took out is not looked for again. */
    t = table("Cookie", "oauth2_session=x; intranet=y", NULL);
    oauth2_headers_strip_cookies(pool, t, names("oauth2_session", "intranet"),
                                 "oauth2_session");
    assert_string_equal(apr_table_get(t, "Cookie"), "oauth2_session=x");
    /* With one name on the server, that was all. */
    oauth2_headers_strip_cookies(pool, t, names("oauth2_session", NULL),
                                 "oauth2_session");
    assert_string_equal(apr_table_get(t, "Cookie"), "oauth2_session=x");
    /* Nothing left: no Cookie header. */
    oauth2_headers_strip_cookies(pool, t, names("oauth2_session", NULL), NULL);
    assert_null(apr_table_get(t, "Cookie"));
    /* No Cookie header, no names: nothing to do. */
    oauth2_headers_strip_cookies(pool, t, names("oauth2_session", NULL), NULL);
    oauth2_headers_strip_cookies(
        pool, t, apr_array_make(pool, 1, sizeof(const char *)), NULL);
    assert_int_equal(apr_table_elts(t)->nelts, 0);
}

/* A session with user, email, groups, an access token and claims (the
 * role once, the team twice: an array). */
static oauth2_session_t *session(void)
{
    static const char claims[] = "role\0admin\0team\0a\0team\0b";
    oauth2_session_t *s = apr_pcalloc(pool, sizeof(*s));
    int i;

    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        s->f[i] = "";
    }
    s->f[OAUTH2_SF_USER] = "alice";
    s->f[OAUTH2_SF_EMAIL] = "alice@example.com";
    s->f[OAUTH2_SF_GROUPS_HEADER] = "admins,dev";
    s->f[OAUTH2_SF_ACCESS_TOKEN] = "token";
    s->f[OAUTH2_SF_CLAIMS] = claims;
    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        s->len[i] = (apr_uint32_t)strlen(s->f[i]);
    }
    s->len[OAUTH2_SF_CLAIMS] = sizeof(claims);
    return s;
}

static void test_headers_identity(void **state)
{
    const char *was = "a=1; oauth2_session=x";
    apr_table_t *in = table("Host", "a", "Cookie", was, NULL);
    apr_table_t *env = apr_table_make(pool, 4);
    apr_table_t *err = apr_table_make(pool, 4);
    oauth2_response_t r;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.kind = OAUTH2_RESPONSE_CONTINUE;
    oauth2_response_cookie(&r, pool, "a=1; Path=/");
    r.user = "alice";
    r.identity = session();
    r.pass = OAUTH2_PASS_HEADERS | OAUTH2_PASS_ENV;
    r.cookie_in = "a=1";
    r.cookie_in_was = apr_table_get(in, "Cookie");
    oauth2_headers_identity(pool, in, env, err, &r, 0);
    assert_string_equal(apr_table_get(in, "X-Forwarded-User"), "alice");
    assert_string_equal(apr_table_get(in, "X-Forwarded-Email"),
                        "alice@example.com");
    assert_string_equal(apr_table_get(in, "X-Forwarded-Groups"), "admins,dev");
    /* Empty: not sent; the token: only where passed. */
    assert_null(apr_table_get(in, "X-Forwarded-Preferred-Username"));
    assert_null(apr_table_get(in, "X-Forwarded-Access-Token"));
    assert_string_equal(apr_table_get(in, "OAuth2-Claim-role"), "admin");
    /* Array elements joined with ',' as X-Forwarded-Groups (issue 17). */
    assert_string_equal(apr_table_get(in, "OAuth2-Claim-team"), "a,b");
    assert_string_equal(apr_table_get(env, "OAUTH2_CLAIM_team"), "a,b");
    assert_string_equal(apr_table_get(in, "Cookie"), "a=1");
    assert_string_equal(apr_table_get(err, "Set-Cookie"), "a=1; Path=/");
    /* Headers only, with the token; an internal redirect's request holds
     * ours already: each is there once. */
    env = apr_table_make(pool, 4);
    r.pass = OAUTH2_PASS_HEADERS | OAUTH2_PASS_TOKEN;
    r.cookie_in = NULL;
    apr_table_unset(in, "OAuth2-Claim-role");
    apr_table_unset(in, "OAuth2-Claim-team");
    oauth2_headers_identity(pool, in, env, err, &r, 1);
    assert_int_equal(apr_table_elts(env)->nelts, 0);
    assert_string_equal(apr_table_get(in, "X-Forwarded-Access-Token"), "token");
    assert_int_equal(apr_table_elts(in)->nelts, 8);
    /* Without an identity (an anonymous request let through): the
     * cookies only. */
    r.identity = NULL;
    in = apr_table_make(pool, 4);
    err = apr_table_make(pool, 4);
    oauth2_headers_identity(pool, in, env, err, &r, 0);
    assert_int_equal(apr_table_elts(in)->nelts, 0);
    assert_int_equal(apr_table_elts(err)->nelts, 1);
}

static void test_headers_response(void **state)
{
    apr_table_t *out = apr_table_make(pool, 4);
    apr_table_t *err = apr_table_make(pool, 4);
    oauth2_response_t r;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.kind = OAUTH2_RESPONSE_CONTINUE;
    oauth2_response_cookie(&r, pool, "a=1; Path=/");
    oauth2_response_cookie(&r, pool, "b=2; Path=/");
    r.location = "https://elsewhere.example/";
    r.no_store = 1;
    r.kind = OAUTH2_RESPONSE_STATUS;
    r.www_authenticate = "Bearer realm=\"oauth2\"";
    err = apr_table_make(pool, 4);
    oauth2_headers_response(&r, out, err);
    assert_string_equal(apr_table_get(out, "Location"),
                        "https://elsewhere.example/");
    assert_string_equal(apr_table_get(err, "Cache-Control"), "no-store");
    assert_string_equal(apr_table_get(err, "WWW-Authenticate"),
                        "Bearer realm=\"oauth2\"");
    assert_int_equal(apr_table_elts(err)->nelts, 4);
    err = apr_table_make(pool, 4);
    out = apr_table_make(pool, 4);
    apr_table_set(out, "Cache-Control", "no-store");
    apr_table_set(out, "X-Content-Type-Options", "nosniff");
    apr_table_set(out, "Content-Security-Policy", "x");
    apr_table_set(out, "Content-Language", "en");
    oauth2_headers_page(pool, out, err, NULL);
    /* Said once: an error response's headers_out held them from before. */
    assert_int_equal(apr_table_elts(out)->nelts, 1);
    assert_string_equal(apr_table_get(err, "Cache-Control"), "no-store");
    assert_string_equal(apr_table_get(err, "X-Content-Type-Options"),
                        "nosniff");
    assert_string_equal(apr_table_get(err, "Content-Security-Policy"),
                        OAUTH2_PAGE_CSP "'none'");
    /* The front-channel logout page: the provider's origin may frame it. */
    oauth2_headers_page(pool, out, err, "https://op.example");
    assert_string_equal(apr_table_get(err, "Content-Security-Policy"),
                        OAUTH2_PAGE_CSP "https://op.example");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_strip_identity),
        cmocka_unit_test(test_headers_strip_identity_batches),
        cmocka_unit_test(test_headers_strip_cookies),
        cmocka_unit_test(test_headers_identity),
        cmocka_unit_test(test_headers_response),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
