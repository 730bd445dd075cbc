/*
 * test_response.c: unit tests for src/response.c: answers built from the
 * answer table (a bare status, the module's page as a body or in place of
 * an error body, JSON), redirects, bodies, cookies; the one page template
 * with every value escaped as httpd's ap_escape_html2 does (so pages read
 * as they always did); the names claims are passed under.
 */
#include "response.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>

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

static void test_response_answer_kinds(void **state)
{
    oauth2_response_t r;

    (void)state;
    /* A bare status: the server's own error response, caching its call. */
    memset(&r, 0, sizeof(r));
    oauth2_response_answer(&r, pool, OAUTH2_ANS_UNAUTH_403, NULL, NULL);
    assert_int_equal(r.kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(r.status, 403);
    assert_null(r.page);
    assert_int_equal(r.no_store, 0);
    /* A handler's page. */
    memset(&r, 0, sizeof(r));
    oauth2_response_answer(&r, pool, OAUTH2_ANS_CB_REPLAY, NULL, "/");
    assert_int_equal(r.kind, OAUTH2_RESPONSE_BODY);
    assert_int_equal(r.status, 400);
    assert_int_equal(r.no_store, 1);
    assert_int_equal(r.page->status, 400);
    assert_string_equal(r.page->title, "Login failed");
    assert_string_equal(r.page->message,
                        "This login response was already used.");
    assert_string_equal(r.page->link, "/");
    assert_int_equal(r.page->kind, OAUTH2_PAGE_LOGIN_FAILED);
    assert_string_equal(r.page->reason, "state-replayed");
    /* A hook's status with the page for the error body. */
    memset(&r, 0, sizeof(r));
    oauth2_response_answer(&r, pool, OAUTH2_ANS_STORE_DOWN, NULL, "/app");
    assert_int_equal(r.kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.no_store, 1);
    assert_string_equal(r.page->title, "Temporarily unavailable");
    /* JSON, and a message of the caller's. */
    memset(&r, 0, sizeof(r));
    oauth2_response_answer(&r, pool, OAUTH2_ANS_BACKCHANNEL, NULL, NULL);
    assert_int_equal(r.kind, OAUTH2_RESPONSE_BODY);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.body, "{\"error\":\"invalid_request\"}\n");
    assert_int_equal(r.body_len, strlen(r.body));
    memset(&r, 0, sizeof(r));
    oauth2_response_answer(&r, pool, OAUTH2_ANS_SESSION_REFUSED, "why", NULL);
    assert_string_equal(r.page->message, "why");
    assert_null(r.page->link);
}

static void test_response_redirect_body_cookies(void **state)
{
    oauth2_response_t r;

    (void)state;
    memset(&r, 0, sizeof(r));
    oauth2_response_redirect(&r, "https://op.example.com/authorize?x=1");
    assert_int_equal(r.kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(r.status, 302);
    assert_int_equal(r.no_store, 1);
    assert_string_equal(r.location, "https://op.example.com/authorize?x=1");
    oauth2_response_body(&r, 200, "text/plain", "ok\n");
    assert_int_equal(r.kind, OAUTH2_RESPONSE_BODY);
    assert_int_equal(r.body_len, 3);
    oauth2_response_body(&r, 200, NULL, NULL);
    assert_int_equal(r.body_len, 0);
    assert_null(r.cookies);
    oauth2_response_cookie(&r, pool, "a=1; Path=/");
    oauth2_response_cookie(&r, pool, NULL);
    oauth2_response_cookie(&r, pool, "b=2; Path=/");
    assert_int_equal(r.cookies->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(r.cookies, 1, const char *),
                        "b=2; Path=/");
}

static void test_response_escape(void **state)
{
    (void)state;
    assert_string_equal(oauth2_html_escape(pool, "<b>&\"x\"'</b>"),
                        "&lt;b&gt;&amp;&quot;x&quot;&#39;&lt;/b&gt;");
    /* Bytes outside ASCII as three-digit references (ap_escape_html2). */
    assert_string_equal(oauth2_html_escape(pool, "caf\xc3\xa9"),
                        "caf&#195;&#169;");
    assert_string_equal(oauth2_html_escape(pool, "\x80\xff"), "&#128;&#255;");
    assert_string_equal(oauth2_html_escape(pool, ""), "");
}

static void test_response_page_template(void **state)
{
    oauth2_page_t pg = { 403,
                         OAUTH2_PAGE_LOGIN_FAILED,
                         "Not <signed> in",
                         "It said: \"no\" 'x'",
                         "access-denied",
                         NULL,
                         "/x?a=1&b=2",
                         NULL,
                         NULL };
    const char *html;

    (void)state;
    html = oauth2_page_html(pool, &pg, NULL, NULL);
    assert_non_null(strstr(html, "<title>Not &lt;signed&gt; in</title>"));
    assert_non_null(strstr(html, "<h1>Not &lt;signed&gt; in</h1>"));
    assert_non_null(strstr(html, "<p>It said: &quot;no&quot; &#39;x&#39;</p>"));
    assert_non_null(strstr(html, "<a href=\"/x?a=1&amp;b=2\">Try again</a>"));
    assert_non_null(strstr(html, "Error 403 &middot; access-denied"));
    assert_null(strstr(html, "Request ID"));
    /* The request's id, escaped. */
    assert_non_null(strstr(oauth2_page_html(pool, &pg, NULL, "id<1>"),
                           "Request ID id&lt;1&gt;"));
    pg.link = NULL;
    html = oauth2_page_html(pool, &pg, NULL, NULL);
    assert_null(strstr(html, "<a "));
    /* The refused page: who, and a way to log out. */
    pg.kind = OAUTH2_PAGE_REFUSED;
    pg.logout = "/oauth2/logout";
    assert_non_null(strstr(oauth2_page_html(pool, &pg, NULL, NULL),
                           "<a href=\"/oauth2/logout\">Log out to use "
                           "another account</a>"));
}

/* A site's template (OAuth2Page) replaces the built-in one of its kind
 * only; every variable is escaped. */
static void test_response_page_site_template(void **state)
{
    const oauth2_page_tpl_t *set[OAUTH2_PAGE_COUNT] = { NULL };
    const char *text = "<b>{{title}}|{{message}}|{{status}}|{{user}}|"
                       "{{reason}}|{{request_id}}|{{try_again_url}}|"
                       "{{logout_url}}</b>";
    const char *err = NULL;
    oauth2_page_t pg = { 403,           OAUTH2_PAGE_REFUSED, "T<",
                         "M&",          "forbidden",         "al'ice",
                         "/again?a=\"", "/oauth2/logout",    NULL };

    (void)state;
    assert_int_equal(oauth2_page_parse(pool, text, strlen(text),
                                       &set[OAUTH2_PAGE_REFUSED], &err),
                     APR_SUCCESS);
    assert_string_equal(oauth2_page_html(pool, &pg, set, "R1"),
                        "<b>T&lt;|M&amp;|403|al&#39;ice|forbidden|R1|"
                        "/again?a=&quot;|/oauth2/logout</b>");
    pg.kind = OAUTH2_PAGE_LOGIN_FAILED;
    assert_non_null(
        strstr(oauth2_page_html(pool, &pg, set, "R1"), "<!DOCTYPE html>"));
}

static void test_response_claim_names(void **state)
{
    (void)state;
    assert_string_equal(
        oauth2_response_claim_name(pool, "realm_access.roles", 0),
        "OAuth2-Claim-realm_access.roles");
    assert_string_equal(oauth2_response_claim_name(pool, "a b:c-d\r\n", 0),
                        "OAuth2-Claim-a_b_c-d__");
    assert_string_equal(
        oauth2_response_claim_name(pool, "realm_access.roles", 1),
        "OAUTH2_CLAIM_realm_access_roles");
    assert_string_equal(oauth2_response_claim_name(pool, "x-y", 1),
                        "OAUTH2_CLAIM_x_y");
}

/* A session built from claims, as a login builds it. */
static const oauth2_session_t *session(const char *json)
{
    oauth2_session_input_t in;
    oauth2_claims_t *c = NULL;
    oauth2_session_t *s = NULL;
    const char *err = NULL;

    assert_int_equal(
        oauth2_claims_parse(pool, json, strlen(json), 1 << 20, &c, &err),
        APR_SUCCESS);
    memset(&in, 0, sizeof(in));
    in.claims = c;
    in.user_claim = "sub";
    in.groups_claim = "groups";
    in.max_age = apr_time_from_sec(60);
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    return s;
}

/* What OAuth2PassClaims passes (issue 17): arrays joined with ',' as
 * X-Forwarded-Groups is, the groups claim written as group names are
 * there, empty values left out. */
static void test_response_claims(void **state)
{
    const oauth2_session_t *s =
        session("{\"sub\":\"u\",\"groups\":[\"staff,admins\",\"a%b\",\"x\"],"
                "\"roles\":[\"r1\",\"r2\"],\"name\":\"Doe, J. 100%\","
                "\"preferred_username\":\"\",\"tags\":[\"\",\"t\",\"\"],"
                "\"a b\":\"1\",\"a_b\":\"2\",\"realm_access\":{\"roles\":"
                "[\"e\",\"v\"]}}");
    apr_table_t *h = oauth2_response_claims(pool, s, "groups", 0);
    apr_table_t *e;

    (void)state;
    assert_string_equal(apr_table_get(h, "OAuth2-Claim-groups"),
                        "staff%2Cadmins,a%25b,x");
    assert_string_equal(apr_table_get(h, "OAuth2-Claim-roles"), "r1,r2");
    /* A plain claim is passed as it is. */
    assert_string_equal(apr_table_get(h, "OAuth2-Claim-name"), "Doe, J. 100%");
    assert_null(apr_table_get(h, "OAuth2-Claim-preferred_username"));
    assert_string_equal(apr_table_get(h, "OAuth2-Claim-tags"), "t");
    assert_string_equal(apr_table_get(h, "OAuth2-Claim-a_b"), "1,2");
    assert_string_equal(apr_table_get(h, "OAuth2-Claim-realm_access.roles"),
                        "e,v");
    assert_string_equal(apr_table_get(h, "OAuth2-Claim-sub"), "u");
    e = oauth2_response_claims(pool, s, "realm_access.roles", 1);
    assert_string_equal(apr_table_get(e, "OAUTH2_CLAIM_groups"),
                        "staff,admins,a%b,x");
    assert_string_equal(apr_table_get(e, "OAUTH2_CLAIM_realm_access_roles"),
                        "e,v");
    assert_null(apr_table_get(e, "OAUTH2_CLAIM_preferred_username"));
    assert_int_equal(
        apr_table_elts(
            oauth2_response_claims(pool, session("{\"sub\":\"u\"}"), NULL, 0))
            ->nelts,
        1);
}

static void test_response_identity_headers(void **state)
{
    (void)state;
    assert_string_equal(oauth2_identity_headers[0].name, "X-Forwarded-User");
    assert_int_equal(oauth2_identity_headers[0].field, OAUTH2_SF_USER);
    assert_string_equal(oauth2_identity_headers[4].name,
                        "X-Forwarded-Access-Token");
    assert_int_equal(oauth2_identity_headers[4].field, OAUTH2_SF_ACCESS_TOKEN);
}

/* The choose page: a link per provider, its label and URL escaped (a
 * provider label or return URL cannot inject markup); in a site's
 * template too, through {{providers}}. */
static void test_response_choose_page(void **state)
{
    const oauth2_page_tpl_t *set[OAUTH2_PAGE_COUNT] = { NULL };
    const char *text = "<ul>{{providers}}</ul>";
    apr_array_header_t *c = apr_array_make(pool, 4, sizeof(const char *));
    oauth2_page_t pg = {
        200, OAUTH2_PAGE_CHOOSE, "Sign in", "Choose", NULL, NULL, NULL, NULL, c
    };
    const char *html, *err = NULL;

    (void)state;
    APR_ARRAY_PUSH(c, const char *) = "staff (<script>alert(1)</script>)";
    APR_ARRAY_PUSH(c, const char *) = "/oauth2/staff/start?rd=%2F\"onclick=x&y";
    APR_ARRAY_PUSH(c, const char *) = "github.com";
    APR_ARRAY_PUSH(c, const char *) = "/oauth2/gh/start?rd=%2F";
    html = oauth2_page_html(pool, &pg, NULL, NULL);
    assert_null(strstr(html, "<script>"));
    assert_null(strstr(html, "\"onclick"));
    assert_non_null(strstr(html, "<p class=\"actions\"><a href=\""
                                 "/oauth2/staff/start?rd=%2F&quot;onclick=x"
                                 "&amp;y\">Sign in with staff (&lt;script&gt;"
                                 "alert(1)&lt;/script&gt;)</a></p>\n"
                                 "<p class=\"actions\"><a href=\"/oauth2/gh/"
                                 "start?rd=%2F\">Sign in with github.com</a>"
                                 "</p>\n"));
    assert_non_null(strstr(html, "<h1>Sign in</h1>"));
    /* a label without its URL is left out */
    APR_ARRAY_PUSH(c, const char *) = "lonely";
    assert_null(strstr(oauth2_page_html(pool, &pg, NULL, NULL), "lonely"));
    /* the site's template */
    assert_int_equal(oauth2_page_parse(pool, text, strlen(text),
                                       &set[OAUTH2_PAGE_CHOOSE], &err),
                     APR_SUCCESS);
    html = oauth2_page_html(pool, &pg, set, NULL);
    assert_int_equal(strncmp(html, "<ul><p class=\"actions\"><a href=\"", 32),
                     0);
    assert_non_null(strstr(html, "Sign in with github.com</a></p>\n</ul>"));
    /* no choices: nothing */
    pg.choices = NULL;
    assert_string_equal(oauth2_page_html(pool, &pg, set, NULL), "<ul></ul>");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_answer_kinds),
        cmocka_unit_test(test_response_redirect_body_cookies),
        cmocka_unit_test(test_response_escape),
        cmocka_unit_test(test_response_page_template),
        cmocka_unit_test(test_response_page_site_template),
        cmocka_unit_test(test_response_claim_names),
        cmocka_unit_test(test_response_claims),
        cmocka_unit_test(test_response_identity_headers),
        cmocka_unit_test(test_response_choose_page),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
