/*
 * test_request.c: unit tests for src/request.c: which requests are browser
 * navigations that OAuth2UnauthAction auto may send to log in, and which
 * get a 401 (scripts, APIs, other methods, fetches; Sec-Fetch-Mode per
 * the Fetch Metadata Request Headers spec, W3C §2.3); the view's
 * on-demand fields and log; query and form parsing (RFC 6749 §3.1: no
 * parameter twice); the redacted request line; identity headers and the
 * Connection header.
 */
#include "request.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "crypto.h"

static apr_pool_t *pool;

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    assert_int_equal(oauth2_crypto_init(), 0);
    assert_int_equal(apr_pool_create(&pool, NULL), APR_SUCCESS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* A view with the given headers (name, value, ..., NULL). */
static void view(oauth2_request_t *r, const char *method, ...)
{
    apr_table_t *t = apr_table_make(pool, 8);
    const char *name;
    va_list ap;

    memset(r, 0, sizeof(*r));
    va_start(ap, method);
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);

        if (value != NULL) {
            apr_table_set(t, name, value);
        }
    }
    va_end(ap);
    r->pool = pool;
    r->method = method;
    r->uri = "/app";
    r->path = "/app";
    r->headers = t;
}

#define HTML "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

static const struct {
    const char *method;
    const char *xrw;  /* X-Requested-With */
    const char *mode; /* Sec-Fetch-Mode */
    const char *accept;
    int navigation;
} cases[] = {
    /* a browser following a link or typing the URL */
    { "GET", NULL, "navigate", HTML, 1 },
    { "HEAD", NULL, "navigate", HTML, 1 },
    { "GET", NULL, "NAVIGATE", HTML, 1 },
    /* Sec-Fetch-Mode decides when present, whatever Accept says */
    { "GET", NULL, "navigate", "application/json", 1 },
    { "GET", NULL, "navigate", NULL, 1 },
    { "GET", NULL, "cors", HTML, 0 },
    { "GET", NULL, "no-cors", HTML, 0 },
    { "GET", NULL, "same-origin", HTML, 0 },
    { "GET", NULL, "websocket", HTML, 0 },
    { "GET", NULL, "", HTML, 0 },
    { "GET", NULL, "navigate ", HTML, 0 },
    /* older browsers and tools: Accept decides */
    { "GET", NULL, NULL, HTML, 1 },
    { "GET", NULL, NULL, NULL, 1 },
    { "GET", NULL, NULL, "", 1 },
    { "GET", NULL, NULL, "*/*", 1 },
    { "GET", NULL, NULL, "text/html", 1 },
    { "GET", NULL, NULL, "TEXT/HTML", 1 },
    { "GET", NULL, NULL, "text/html;q=0.9", 1 },
    { "GET", NULL, NULL, "application/json, text/html;q=0.9", 1 },
    { "GET", NULL, NULL, "text/*", 1 },
    { "GET", NULL, NULL, "application/xhtml+xml", 1 },
    { "GET", NULL, NULL, "application/json", 0 },
    { "GET", NULL, NULL, "application/json, text/plain, */*", 1 },
    { "GET", NULL, NULL, "image/avif,image/webp,image/*", 0 },
    { "GET", NULL, NULL, "text/plain", 0 },
    { "GET", NULL, NULL, "application/xml", 0 },
    /* scripts that say so */
    { "GET", "XMLHttpRequest", NULL, HTML, 0 },
    { "GET", "XMLHttpRequest", "navigate", HTML, 0 },
    { "GET", "anything", NULL, NULL, 0 },
    { "GET", "", NULL, HTML, 1 },
    /* only GET and HEAD, by exact (case-sensitive, RFC 9110 §9.1) name */
    { "POST", NULL, "navigate", HTML, 0 },
    { "POST", NULL, NULL, HTML, 0 },
    { "PUT", NULL, NULL, NULL, 0 },
    { "DELETE", NULL, NULL, NULL, 0 },
    { "OPTIONS", NULL, NULL, "*/*", 0 },
    { "PATCH", NULL, "navigate", HTML, 0 },
    { "get", NULL, "navigate", HTML, 0 },
    { "GETX", NULL, NULL, HTML, 0 },
    { "", NULL, NULL, HTML, 0 },
    { NULL, NULL, "navigate", HTML, 0 },
};

static void test_request_navigation_table(void **state)
{
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_request_t r;

        view(&r, cases[i].method, "X-Requested-With", cases[i].xrw,
             "Sec-Fetch-Mode", cases[i].mode, "Accept", cases[i].accept, NULL);
        r.host = "app.example.com";
        if (oauth2_request_is_navigation(&r) != cases[i].navigation) {
            fail_msg("case %zu: %s xrw=%s mode=%s accept=%s: expected %d", i,
                     cases[i].method ? cases[i].method : "(null)",
                     cases[i].xrw ? cases[i].xrw : "(null)",
                     cases[i].mode ? cases[i].mode : "(null)",
                     cases[i].accept ? cases[i].accept : "(null)",
                     cases[i].navigation);
        }
    }
}

/* Nothing else in the view (cookies, authorization, scheme, host) sways
 * the decision. */
static void test_request_navigation_ignores_other_fields(void **state)
{
    oauth2_request_t r;

    (void)state;
    view(&r, "GET", "Accept", "application/json", "Cookie", "a=b",
         "Authorization", "Bearer x", NULL);
    r.https = 1;
    assert_int_equal(oauth2_request_is_navigation(&r), 0);
    view(&r, "GET", "Accept", HTML, "Cookie", "a=b", "Authorization",
         "Bearer x", NULL);
    assert_int_equal(oauth2_request_is_navigation(&r), 1);
    /* Header names in any case (the table's lookup). */
    view(&r, "GET", "accept", "application/json", "sec-fetch-mode", "navigate",
         NULL);
    assert_int_equal(oauth2_request_is_navigation(&r), 1);
}

/* ---- the view's on-demand fields and its log ---- */

static int completes;

static void complete_cb(oauth2_request_t *r)
{
    completes++;
    r->https = 1;
    r->host = "app.example.com";
    r->host_port = "app.example.com:8443";
    r->base_url = "https://app.example.com:8443";
    r->auth_name = "Staff";
}

static char logged[512];
static int logged_level, log_calls;

static void log_cb(const oauth2_request_t *r, const char *file, int line,
                   int level, const char *msg)
{
    (void)r;
    assert_non_null(strstr(file, "test_request.c"));
    assert_true(line > 0);
    log_calls++;
    logged_level = level;
    apr_cpystrn(logged, msg, sizeof(logged));
}

static apr_status_t no_body(oauth2_request_t *r, apr_size_t max,
                            const char **body, apr_size_t *len)
{
    (void)r;
    (void)max;
    (void)body;
    (void)len;
    return APR_EGENERAL;
}

static int asked;

static int level_cb(const oauth2_request_t *r)
{
    (void)r;
    asked++;
    return OAUTH2_LOG_INFO;
}

static const oauth2_request_ops_t ops = { complete_cb, no_body, log_cb,
                                          level_cb };

static void test_request_complete_once(void **state)
{
    oauth2_request_t r;

    (void)state;
    view(&r, "GET", NULL);
    r.ops = &ops;
    completes = 0;
    assert_string_equal(oauth2_request_url(&r, "/oauth2/callback"),
                        "https://app.example.com:8443/oauth2/callback");
    oauth2_request_complete(&r);
    assert_int_equal(completes, 1);
    assert_int_equal(r.https, 1);
    assert_string_equal(r.auth_name, "Staff");
}

/* Without a complete(): what the maker set, and defaults for the rest. */
static void test_request_complete_defaults(void **state)
{
    oauth2_request_t r;

    (void)state;
    view(&r, "GET", NULL);
    r.host = "h.example";
    oauth2_request_complete(&r);
    assert_string_equal(r.host_port, "h.example");
    assert_string_equal(r.base_url, "http://h.example");
    assert_string_equal(oauth2_request_url(&r, "/x"), "http://h.example/x");
    view(&r, "GET", NULL);
    oauth2_request_complete(&r);
    assert_string_equal(r.host, "");
    assert_null(oauth2_request_header(&r, "Cookie"));
}

static void test_request_log_levels(void **state)
{
    oauth2_request_t r;

    (void)state;
    view(&r, "GET", NULL);
    r.ops = &ops;
    r.log_level = OAUTH2_LOG_INFO;
    log_calls = 0;
    OAUTH2_LOG(&r, OAUTH2_LOG_WARNING, "OA9999: %s and %d", "words", 42);
    assert_int_equal(log_calls, 1);
    assert_int_equal(logged_level, OAUTH2_LOG_WARNING);
    assert_string_equal(logged, "OA9999: words and 42");
    OAUTH2_LOG(&r, OAUTH2_LOG_INFO, "OA9998: %.3s", "abcdef");
    assert_int_equal(log_calls, 2);
    assert_string_equal(logged, "OA9998: abc");
    /* Above the level: not formatted, not logged. */
    OAUTH2_LOG(&r, OAUTH2_LOG_DEBUG, "OA9997: %s", "no");
    assert_int_equal(log_calls, 2);
    /* A view that asks: once, at its first line (none on a request that
     * logs nothing), and the answer holds. */
    r.log_level = OAUTH2_LOG_ASK;
    asked = 0;
    OAUTH2_LOG(&r, OAUTH2_LOG_DEBUG, "OA9995: %s", "no");
    assert_int_equal(asked, 1);
    assert_int_equal(r.log_level, OAUTH2_LOG_INFO);
    assert_int_equal(log_calls, 2);
    OAUTH2_LOG(&r, OAUTH2_LOG_ERR, "OA9994: yes");
    assert_int_equal(asked, 1);
    assert_int_equal(log_calls, 3);
    assert_string_equal(logged, "OA9994: yes");
    /* A view without a log is silent. */
    r.ops = NULL;
    OAUTH2_LOG(&r, OAUTH2_LOG_ERR, "OA9996");
    assert_int_equal(log_calls, 3);
}

/* ---- queries and forms ---- */

static const char *const single[] = { "state", "code", NULL };

static void test_request_parse_query(void **state)
{
    apr_table_t *t;
    const char *bad = NULL;

    (void)state;
    assert_int_equal(
        oauth2_request_parse_query(pool, "code=a%2Bb+c&state=x&&rd=%2F&x",
                                   single, &t, &bad),
        APR_SUCCESS);
    assert_string_equal(apr_table_get(t, "code"), "a+b c");
    assert_string_equal(apr_table_get(t, "state"), "x");
    assert_string_equal(apr_table_get(t, "rd"), "/");
    assert_string_equal(apr_table_get(t, "x"), "");
    /* No query: an empty table. */
    assert_int_equal(oauth2_request_parse_query(pool, NULL, single, &t, &bad),
                     APR_SUCCESS);
    assert_int_equal(apr_table_elts(t)->nelts, 0);
    /* Other parameters may repeat. */
    assert_int_equal(
        oauth2_request_parse_query(pool, "a=1&a=2", single, &t, &bad),
        APR_SUCCESS);
}

static void test_request_parse_query_refusals(void **state)
{
    static const struct {
        const char *query;
        const char *bad;
    } refusals[] = {
        { "state=a&state=b", "state" },   { "code=1&x=2&code=1", "code" },
        { "st%61te=a&state=b", "state" }, /* the decoded name counts */
        { "code=%zz", "(malformed)" },    { "code=%4", "(malformed)" },
        { "code=a%00b", "(malformed)" },  { "%=1", "(malformed)" },
    };
    apr_table_t *t;
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        const char *bad = NULL;

        if (oauth2_request_parse_query(pool, refusals[i].query, single, &t,
                                       &bad)
                != OAUTH2_EMALFORMED
            || bad == NULL || strcmp(bad, refusals[i].bad) != 0) {
            fail_msg("%s: expected a refusal naming %s", refusals[i].query,
                     refusals[i].bad);
        }
    }
}

static const char *body_text;

static apr_status_t body_cb(oauth2_request_t *r, apr_size_t max,
                            const char **body, apr_size_t *len)
{
    (void)r;
    if (strlen(body_text) > max) {
        return OAUTH2_ETOOBIG;
    }
    *body = body_text;
    *len = strlen(body_text);
    return APR_SUCCESS;
}

static const oauth2_request_ops_t body_ops = { NULL, body_cb, NULL, NULL };

/* The form value of body under a Content-Type, or NULL. */
static const char *form(const char *ct, const char *body)
{
    oauth2_request_t r;
    const char *v = NULL;

    view(&r, "POST", "Content-Type", ct, NULL);
    r.ops = &body_ops;
    body_text = body;
    return oauth2_request_form_value(&r, "logout_token", 64, 16, &v)
                   == APR_SUCCESS
               ? v
               : NULL;
}

static void test_request_form_value(void **state)
{
    static const char *const ct = "application/x-www-form-urlencoded";

    (void)state;
    assert_string_equal(form(ct, "logout_token=abc"), "abc");
    assert_string_equal(form("Application/X-WWW-Form-Urlencoded; charset=utf-8",
                             "x=1&logout_token=a%2Eb+c"),
                        "a.b c");
    assert_null(form(NULL, "logout_token=abc"));
    assert_null(form("text/plain", "logout_token=abc"));
    assert_null(form(ct, "x=1"));
    assert_null(form(ct, "logout_token="));
    assert_null(form(ct, "logout_token=a&logout_token=b"));
    assert_null(form(ct, "logout_token=%zz"));
    /* Bounds: the value, the body, the number of parameters. */
    assert_null(form(ct, "logout_token=0123456789abcdefX"));
    assert_null(form(ct, "logout_token=a&pad=0123456789012345678901234567890"
                         "12345678901234567890"));
    assert_string_equal(form(ct, "a=1&b=2&c=3&d=4&e=5&f=6&g=7&logout_token=z"),
                        "z");
    assert_null(form(ct, "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&logout_token=z"));
}

static void test_request_form_without_body(void **state)
{
    oauth2_request_t r;
    const char *v = NULL;

    (void)state;
    view(&r, "POST", "Content-Type", "application/x-www-form-urlencoded", NULL);
    assert_int_equal(oauth2_request_form_value(&r, "t", 64, 16, &v),
                     OAUTH2_EMALFORMED);
    r.ops = &ops;
    assert_int_equal(oauth2_request_form_value(&r, "t", 64, 16, &v),
                     APR_EGENERAL);
}

static void test_request_redact(void **state)
{
    (void)state;
    assert_string_equal(
        oauth2_request_redact(
            pool, "GET /oauth2/callback?code=abc&state=xyz&iss=i HTTP/1.1"),
        "GET /oauth2/callback?code=xxx&state=xxx&iss=i HTTP/1.1");
    assert_string_equal(
        oauth2_request_redact(pool, "GET /x?xcode=1&code=22#f HTTP/1.1"),
        "GET /x?xcode=1&code=xx#f HTTP/1.1");
    assert_string_equal(oauth2_request_redact(pool, "GET /code=1 HTTP/1.1"),
                        "GET /code=1 HTTP/1.1");
    assert_null(oauth2_request_redact(pool, NULL));
}

static void test_request_identity_headers(void **state)
{
    static const char *const ours[] = {
        "X-Forwarded-User",         "x-forwarded-user",
        "X_FORWARDED_USER",         "x_forwarded-email",
        "X-Forwarded-Groups",       "X-Forwarded-Preferred-Username",
        "x-forwarded-access-token", "OAuth2-Claim-sub",
        "oauth2_claim_x",           "OAUTH2-CLAIM-",
    };
    static const char *const others[] = {
        "X-Forwarded-For", "X-Forwarded-Users", "X-Forwarded-Use", "Cookie",
        "Connection",      "OAuth2-Claims",     "oauth2claim-x",   "",
        "X-Forwarded-",    "XForwarded-User",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
        if (!oauth2_request_identity_header(ours[i])) {
            fail_msg("%s is ours", ours[i]);
        }
    }
    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        if (oauth2_request_identity_header(others[i])) {
            fail_msg("%s is not ours", others[i]);
        }
    }
    assert_int_equal(oauth2_request_identity_header(NULL), 0);
}

/* Review finding 4: mod_proxy ends a Connection name at ';' as well. */
static void test_request_connection_strip_table(void **state)
{
    static const struct {
        const char *in, *out; /* out NULL: unchanged */
    } conn_cases[] = {
        { "keep-alive", NULL },
        { "close", NULL },
        { "Upgrade, HTTP2-Settings", NULL },
        { "X-Forwarded-For", NULL },
        { "X-Forwarded-User", "" },
        { "keep-alive, X-Forwarded-User", "keep-alive" },
        { "X-Forwarded-User;x", "x" },
        { "keep-alive;X-Forwarded-User", "keep-alive" },
        { "a;X-Forwarded-Email;b, X-Forwarded-Groups;q=1", "a, b, q, 1" },
        { "\"q\";x_forwarded_user", "q" },
        { "\tX-Forwarded-User\t;\tOAuth2-Claim-sub", "" },
        { "X-Forwarded-User\"x\"", "x" },
    };
    apr_pool_t *p;
    size_t i;

    (void)state;
    apr_pool_create(&p, NULL);
    for (i = 0; i < sizeof(conn_cases) / sizeof(conn_cases[0]); i++) {
        const char *out = oauth2_request_connection_strip(p, conn_cases[i].in);

        if ((out == NULL) != (conn_cases[i].out == NULL)
            || (out && strcmp(out, conn_cases[i].out) != 0)) {
            fail_msg("%s: got \"%s\", want \"%s\"", conn_cases[i].in,
                     out ? out : "(unchanged)",
                     conn_cases[i].out ? conn_cases[i].out : "(unchanged)");
        }
    }
    apr_pool_destroy(p);
}

/* The smaller of the virtual host's limit and the address's default
 * server's, which reads the headers. */
static void test_request_field_limit(void **state)
{
    (void)state;
    assert_int_equal(oauth2_request_field_limit(8190, 4000), 4000);
    assert_int_equal(oauth2_request_field_limit(4000, 8190), 4000);
    assert_int_equal(oauth2_request_field_limit(8190, 0), 8190);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_request_navigation_table),
        T(test_request_navigation_ignores_other_fields),
        T(test_request_complete_once),
        T(test_request_complete_defaults),
        T(test_request_log_levels),
        T(test_request_parse_query),
        T(test_request_parse_query_refusals),
        T(test_request_form_value),
        T(test_request_form_without_body),
        T(test_request_redact),
        T(test_request_identity_headers),
        T(test_request_connection_strip_table),
        T(test_request_field_limit),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
