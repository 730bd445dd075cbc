/*
 * test_request.c: unit tests for src/request.c: which requests are browser
 * navigations that OAuth2UnauthAction auto may send to log in, and which
 * get a 401 (scripts, APIs, other methods, fetches). Sec-Fetch-Mode per
 * the Fetch Metadata Request Headers spec (W3C, §2.3).
 */
#include "request.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>

#include "crypto.h"

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    assert_int_equal(oauth2_crypto_init(), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    apr_terminate();
    return 0;
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

        memset(&r, 0, sizeof(r));
        r.method = cases[i].method;
        r.requested_with = cases[i].xrw;
        r.sec_fetch_mode = cases[i].mode;
        r.accept = cases[i].accept;
        r.uri = "/app";
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
    memset(&r, 0, sizeof(r));
    r.method = "GET";
    r.accept = "application/json";
    r.cookie = "a=b";
    r.authorization = "Bearer x";
    r.https = 1;
    assert_int_equal(oauth2_request_is_navigation(&r), 0);
    r.accept = HTML;
    assert_int_equal(oauth2_request_is_navigation(&r), 1);
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

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_request_navigation_table),
        T(test_request_navigation_ignores_other_fields),
        T(test_request_identity_headers),
        T(test_request_connection_strip_table),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
