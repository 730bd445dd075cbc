/*
 * test_endpoints.c: unit tests for src/endpoints.c, the module's own
 * endpoints, at a fixed clock on a real shm store, with a loopback
 * provider (plain OAuth 2.0: a token endpoint and userinfo) where a login
 * completes: which paths are endpoints and with which method; start; the
 * callback's every refusal (a repeated or malformed parameter, no state,
 * no state cookie, a bad state cookie, a replayed state, error=, another
 * issuer, no code) and its redemption (a login, a refused code restarted
 * once then refused, an unreachable provider's 502, a user without a
 * subject refused); logout; userinfo; back-channel logout's refusals; the
 * status body. Each answer with its status, page and log tag.
 */
#include "endpoints.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "crypto.h"
#include "metrics.h"
#include "errors.h"
#include "fake_server.h"
#include "sessions.h"
#include "site_fixture.h"
#include "store.h"

#define TOKENS                                              \
    "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\"," \
    "\"expires_in\":3600}"
#define USERINFO                                                     \
    "{\"sub\":\"alice\",\"email\":\"alice@example.com\",\"groups\":" \
    "[\"staff\",\"ops\"]}"

/* Answers a request of method to uri with the given headers. */
static oauth2_response_t *call(sf_t *f, const char *method, const char *uri,
                               const char *cookie)
{
    oauth2_response_t *resp = apr_pcalloc(f->pool, sizeof(*resp));
    oauth2_request_t *r = sf_request(
        f, method, uri, "Cookie", cookie, "Content-Type",
        strcmp(method, "POST") == 0 ? "application/x-www-form-urlencoded"
                                    : NULL,
        NULL);

    oauth2_endpoints_handle(f->site, oauth2_endpoints_match(f->site, r->path),
                            r, resp);
    return resp;
}

/* The value of query parameter name in url (not decoded), from p. */
static const char *param(apr_pool_t *p, const char *url, const char *name)
{
    const char *s = strstr(url, apr_pstrcat(p, name, "=", NULL));

    if (s == NULL) {
        return NULL;
    }
    s += strlen(name) + 1;
    return apr_pstrmemdup(p, s, strcspn(s, "&"));
}

/* A started login: its state and the Cookie header the browser holds. */
static const char *start(sf_t *f, const char *rd, const char **cookie)
{
    oauth2_response_t *resp = call(
        f, "GET", apr_pstrcat(f->pool, "/oauth2/start?rd=", rd, NULL), NULL);

    assert_int_equal(resp->status, 302);
    *cookie = sf_cookie_header(f->pool, resp);
    return param(f->pool, resp->location, "state");
}

/* The callback of a started login with a code. */
static oauth2_response_t *callback(sf_t *f, const char *code, const char *st,
                                   const char *cookie)
{
    return call(f, "GET",
                apr_pstrcat(f->pool, "/oauth2/callback?code=", code,
                            "&state=", st, NULL),
                cookie);
}

static void test_endpoints_match(void **state)
{
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/callback"), 0);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/start"), 1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/logout"), 2);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/userinfo"), 3);
    assert_int_equal(
        oauth2_endpoints_match(f.site, "/oauth2/backchannel-logout"), 4);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/signed-out"), 5);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/other"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2x/start"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/app/oauth2/start"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, NULL), -1);
    sf_close(&f);
}

static void test_endpoints_methods(void **state)
{
    oauth2_response_t *resp;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    resp = call(&f, "POST", "/oauth2/start", NULL);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(resp->status, 405);
    assert_string_equal(resp->allow, "GET");
    resp = call(&f, "GET", "/oauth2/backchannel-logout", NULL);
    assert_int_equal(resp->status, 405);
    assert_string_equal(resp->allow, "POST");
    resp = call(&f, "HEAD", "/oauth2/start", NULL);
    assert_int_equal(resp->status, 302);
    memset(resp, 0, sizeof(*resp));
    oauth2_endpoints_handle(f.site, -1, sf_request(&f, "GET", "/x", NULL),
                            resp);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_DECLINE);
    sf_close(&f);
}

static void test_endpoints_start(void **state)
{
    oauth2_response_t *resp;
    const char *cookie, *st;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    st = start(&f, "%2Fapp%3Fx%3D1", &cookie);
    assert_int_equal(strlen(st), 22);
    assert_int_equal(strncmp(cookie, "oauth2_state_", 13), 0);
    assert_non_null(strstr(sf_log(), "returning to /app?x=1"));
    resp = call(&f, "GET", "/oauth2/start?rd=/a&rd=/b", NULL);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_BODY);
    assert_int_equal(resp->status, 400);
    assert_string_equal(resp->page->title, "Bad request");
    assert_non_null(strstr(sf_log(), "OA2218: malformed or repeated query "
                                     "parameters on /oauth2/start"));
    sf_close(&f);
}

/* uri with "state=S" made "state=<st>". */
static const char *with_state(apr_pool_t *p, const char *uri, const char *st)
{
    const char *s = strstr(uri, "state=S");

    if (s == NULL) {
        return uri;
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, uri, (apr_size_t)(s - uri)),
                       "state=", st, s + 7, NULL);
}

/* Every refusal of the callback before the provider is asked: a 400 page
 * (the module's, as the body), the request line redacted, a log tag. */
static void test_endpoints_callback_refusals(void **state)
{
    static const struct {
        const char *query;
        int with_cookie;
        const char *tag;
        const char *message;
    } cases[] = {
        { "code=a&code=b&state=S", 1, "OA2210",
          "The login response is malformed." },
        { "code=%zz&state=S", 1, "OA2210", "The login response is malformed." },
        { "code=a", 1, "OA2201", "The login response is incomplete." },
        { "code=a&state=short", 1, "OA2201",
          "The login response is incomplete." },
        { "code=a&state=S", 0, "OA2202",
          "This login was not started in this browser, or it took too long." },
        { "state=S&iss=https%3A%2F%2Fevil.example", 1, "OA2211",
          "The login response came from another provider." },
        { "state=S", 1, "OA2212", "The login response has no code." },
        { "state=S&code=", 1, "OA2212", "The login response has no code." },
    };
    apr_size_t i;
    sf_t f;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_response_t *resp;
        const char *cookie, *st, *q;

        sf_open(&f, NULL);
        st = start(&f, "/app", &cookie);
        q = with_state(
            f.pool,
            apr_pstrcat(f.pool, "/oauth2/callback?", cases[i].query, NULL), st);
        sf_log_clear();
        resp = call(&f, "GET", q, cases[i].with_cookie ? cookie : NULL);
        if (resp->kind != OAUTH2_RESPONSE_BODY || resp->status != 400
            || strcmp(resp->page->message, cases[i].message) != 0
            || strstr(sf_log(), cases[i].tag) == NULL || !resp->redact_query) {
            fail_msg("%s: %d %s / %s", cases[i].query, resp->status,
                     resp->page ? resp->page->message : "-", sf_log());
        }
        sf_close(&f);
    }
}

/* A state cookie that does not open, for this state. */
static void test_endpoints_callback_bad_state(void **state)
{
    oauth2_response_t *resp;
    const char *cookie, *st, *other_cookie;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    st = start(&f, "/app", &cookie);
    start(&f, "/app", &other_cookie);
    /* The other login's sealed value under this login's name. */
    resp = call(&f, "GET",
                apr_pstrcat(f.pool, "/oauth2/callback?code=c&state=", st, NULL),
                apr_pstrcat(f.pool, "oauth2_state_", st, "=",
                            strchr(other_cookie, '=') + 1, NULL));
    assert_int_equal(resp->status, 400);
    assert_string_equal(resp->page->message, "The login state is not valid.");
    assert_non_null(strstr(sf_log(), "OA2203: state cookie refused"));
    /* The state cookie is cleared whatever happens. */
    assert_non_null(
        strstr(APR_ARRAY_IDX(resp->cookies, 0, const char *), "Max-Age=0"));
    sf_close(&f);
}

/* error= from the provider: plain words, a 403 for the user's doing, the
 * provider's description escaped by the template, a link to try again. */
static void test_endpoints_callback_error(void **state)
{
    oauth2_response_t *resp;
    const char *cookie, *st;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    st = start(&f, "/app", &cookie);
    resp = call(&f, "GET",
                apr_pstrcat(f.pool,
                            "/oauth2/callback?error=access_denied&state=", st,
                            "&error_description=The+user+%3Cb%3Esaid%3C%2Fb%3E"
                            "+no",
                            NULL),
                cookie);
    assert_int_equal(resp->status, 403);
    assert_string_equal(resp->page->title, "Not signed in");
    assert_string_equal(resp->page->message,
                        "The login was cancelled, or the sign-in service did "
                        "not allow this account to sign in here. It said: "
                        "\"The user <b>said</b> no\"");
    assert_string_equal(resp->page->link, "/app");
    assert_non_null(strstr(sf_log(), "OA2206: the provider ended the login "
                                     "with error=access_denied"));
    st = start(&f, "/app", &cookie);
    resp = call(&f, "GET",
                apr_pstrcat(f.pool,
                            "/oauth2/callback?error=server_error&state=", st,
                            NULL),
                cookie);
    assert_int_equal(resp->status, 502);
    assert_string_equal(resp->page->title, "Login failed");
    sf_close(&f);
}

/* A site whose loopback provider's token endpoint answers status/body. */
static void open_with(sf_t *f, fs_t *fs, int status, const char *body,
                      const char *userinfo)
{
    sf_opts_t o = { 0, NULL, 0, 0, 0, 0, NULL, 0 };

    memset(fs, 0, sizeof(*fs));
    fs_route(fs, "POST", "/token", status, NULL, body);
    fs_route(fs, "GET", "/userinfo", 200, NULL, userinfo);
    fs_start(fs);
    o.base = fs->base;
    sf_open(f, &o);
}

static void close_with(sf_t *f, fs_t *fs)
{
    sf_close(f);
    fs_stop(fs);
}

static void test_endpoints_login(void **state)
{
    oauth2_response_t *resp;
    const char *cookie, *st, *session;
    fs_t fs;
    sf_t f;

    (void)state;
    open_with(&f, &fs, 200, TOKENS, USERINFO);
    st = start(&f, "/app", &cookie);
    resp = callback(&f, "c1", st, cookie);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(resp->status, 302);
    assert_string_equal(resp->location, "/app");
    assert_string_equal(resp->user, "alice");
    assert_true(resp->redact_query);
    assert_non_null(strstr(sf_log(), "OA2209: user alice logged in"));
    assert_non_null(strstr(fs_log(f.pool, &fs), "code=c1"));
    /* The story at debug: names, never the code, the state or a token. */
    assert_non_null(strstr(sf_log(), "OA2409: callback with a valid state: "
                                     "the login began 0 s ago and returns to "
                                     "/app; parameters: code, state"));
    assert_non_null(strstr(sf_log(), "OA2406: claims received: "));
    assert_non_null(strstr(sf_log(), "OA2407: user alice (claim sub)"));
    assert_non_null(strstr(sf_log(), "OA2408: session stored in the "));
    assert_null(strstr(sf_log(), st));
    session = sf_set_cookie(resp, "oauth2_session");
    assert_non_null(session);
    session = apr_pstrmemdup(f.pool, session, strcspn(session, ";"));
    /* The same response again: the state was used. */
    resp = callback(&f, "c1", st, cookie);
    assert_int_equal(resp->status, 400);
    assert_string_equal(resp->page->message,
                        "This login response was already used.");
    assert_non_null(strstr(sf_log(), "OA2204"));
    /* userinfo with the session, and without. */
    resp = call(&f, "GET", "/oauth2/userinfo", session);
    assert_int_equal(resp->status, 200);
    assert_string_equal(resp->content_type, "application/json");
    assert_non_null(strstr(resp->body,
                           "{\"user\":\"alice\",\"email\":"
                           "\"alice@example.com\",\"preferred_"
                           "username\":\"\",\"groups\":[\"staff\","
                           "\"ops\"],\"resources\":{},\"expires\":"));
    assert_int_equal(resp->no_store, 1);
    resp = call(&f, "GET", "/oauth2/userinfo", NULL);
    assert_int_equal(resp->status, 401);
    assert_string_equal(resp->body, "{\"error\":\"not logged in\"}\n");
    assert_string_equal(resp->www_authenticate, "Bearer realm=\"oauth2\"");
    /* logout: to rd, the session gone. */
    resp = call(&f, "GET", "/oauth2/logout?rd=/bye", session);
    assert_int_equal(resp->status, 302);
    assert_string_equal(resp->location, "/bye");
    assert_non_null(strstr(sf_log(), "OA2214: user alice logged out\n"));
    assert_non_null(strstr(sf_log(), "OA2410: logout: the session and its "
                                     "cookies removed; on to /bye"));
    assert_non_null(strstr(sf_set_cookie(resp, "oauth2_session"), "Max-Age=0"));
    resp = call(&f, "GET", "/oauth2/userinfo", session);
    assert_int_equal(resp->status, 401);
    /* Without a (valid) rd: the signed-out page, not the login form. */
    resp = call(&f, "GET", "/oauth2/logout?rd=//evil.example", NULL);
    assert_string_equal(resp->location, "/oauth2/signed-out");
    assert_non_null(strstr(sf_log(), "OA2213: refused redirect target "
                                     "//evil.example"));
    resp = call(&f, "GET", "/oauth2/logout", NULL);
    assert_string_equal(resp->location, "/oauth2/signed-out");
    resp = call(&f, "GET", "/oauth2/signed-out", NULL);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_BODY);
    assert_int_equal(resp->no_store, 1);
    assert_int_equal(resp->page->kind, OAUTH2_PAGE_SIGNED_OUT);
    assert_string_equal(resp->page->title, "Signed out");
    assert_string_equal(resp->page->link, "/oauth2/start?rd=%2F");
    close_with(&f, &fs);
}

/* invalid_grant: a fresh login once, then a 400 page. */
static void test_endpoints_refused_code(void **state)
{
    oauth2_response_t *resp;
    const char *cookie, *st;
    fs_t fs;
    sf_t f;

    (void)state;
    open_with(&f, &fs, 400, "{\"error\":\"invalid_grant\"}", USERINFO);
    st = start(&f, "/app", &cookie);
    resp = callback(&f, "c", st, cookie);
    assert_int_equal(resp->status, 302);
    assert_non_null(strstr(resp->location, "/authorize?"));
    assert_non_null(strstr(sf_log(), "OA2220: the provider refused the code "
                                     "(token endpoint answered HTTP 400, "
                                     "error 'invalid_grant'): starting a "
                                     "fresh login"));
    /* The restarted login's own refusal is final. */
    st = param(f.pool, resp->location, "state");
    cookie = sf_cookie_header(f.pool, resp);
    resp = callback(&f, "c", st, cookie);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_BODY);
    assert_int_equal(resp->status, 400);
    assert_string_equal(resp->page->message,
                        "The sign-in service did not accept this login. "
                        "Please start again.");
    assert_string_equal(resp->page->link, "/app");
    close_with(&f, &fs);
}

/* The provider fails: a 502 through the error response, naming it. A user
 * the provider gives no subject: 403, the reason on the page. */
static void test_endpoints_provider_faults(void **state)
{
    oauth2_response_t *resp;
    const char *cookie, *st;
    fs_t fs;
    sf_t f;

    (void)state;
    open_with(&f, &fs, 500, "{}", USERINFO);
    st = start(&f, "/app", &cookie);
    resp = callback(&f, "c", st, cookie);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(resp->status, 502);
    assert_string_equal(resp->page->title, "Sign-in is unavailable");
    assert_non_null(strstr(resp->page->message, "(127.0.0.1)"));
    assert_non_null(strstr(sf_log(), "OA2207: login failed"));
    close_with(&f, &fs);

    open_with(&f, &fs, 200, TOKENS, "{\"email\":\"nobody@example.com\"}");
    st = start(&f, "/app", &cookie);
    resp = callback(&f, "c", st, cookie);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_BODY);
    assert_int_equal(resp->status, 403);
    assert_string_equal(resp->page->title, "Login failed");
    assert_non_null(strstr(sf_log(), "OA2208: cannot create the session"));
    assert_null(sf_set_cookie(resp, "oauth2_session"));
    close_with(&f, &fs);
}

static void test_endpoints_backchannel_refusals(void **state)
{
    oauth2_response_t *resp;
    oauth2_request_t *r;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    resp = call(&f, "POST", "/oauth2/backchannel-logout", NULL);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_BODY);
    assert_int_equal(resp->status, 400);
    assert_string_equal(resp->body, "{\"error\":\"invalid_request\"}\n");
    assert_non_null(strstr(sf_log(), "OA2215: back-channel logout refused: no "
                                     "single logout_token in a form body"));
    sf_body("logout_token=abc");
    resp = call(&f, "POST", "/oauth2/backchannel-logout", NULL);
    assert_int_equal(resp->status, 400);
    sf_body("logout_token=a&logout_token=b");
    sf_log_clear();
    resp = call(&f, "POST", "/oauth2/backchannel-logout", NULL);
    assert_int_equal(resp->status, 400);
    assert_non_null(strstr(sf_log(), "no single logout_token"));
    /* Another content type: the body is not read. */
    sf_body("logout_token=abc");
    r = sf_request(&f, "POST", "/oauth2/backchannel-logout", "Content-Type",
                   "text/plain", NULL);
    memset(resp, 0, sizeof(*resp));
    sf_log_clear();
    oauth2_endpoints_handle(f.site, 4, r, resp);
    assert_int_equal(resp->status, 400);
    assert_non_null(strstr(sf_log(), "no single logout_token"));
    sf_close(&f);
}

/* Front-channel logout: the provider's iss and a sid, else a 400 page;
 * both framed by the provider's origin only, never cached. */
static void test_endpoints_frontchannel(void **state)
{
    static const struct {
        const char *query;
        const char *why;
    } bad[] = {
        { "", "no iss" },
        { "?sid=s1", "no iss" },
        { "?iss=https%3A%2F%2Fop.example.com", "no sid" },
        { "?iss=https%3A%2F%2Fother.example.com&sid=s1",
          "iss is not this provider's issuer" },
        { "?iss=https%3A%2F%2Fop.example.com%2F&sid=s1",
          "iss is not this provider's issuer" },
        { "?iss=https%3A%2F%2Fop.example.com&sid=", "sid is empty" },
        { "?iss=https%3A%2F%2Fop.example.com&sid=a%01b", "outside printable" },
        { "?iss=https%3A%2F%2Fop.example.com&sid=a&sid=b", "repeated" },
        { "?iss=https%3A%2F%2Fop.example.com&sid=%zz", "malformed" },
    };
    oauth2_response_t *resp;
    char *uri;
    sf_t f;
    size_t i;

    (void)state;
    sf_open(&f, NULL);
    assert_int_equal(
        oauth2_endpoints_match(f.site, "/oauth2/frontchannel-logout"), 6);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sf_log_clear();
        resp = call(&f, "GET",
                    apr_pstrcat(f.pool, "/oauth2/frontchannel-logout",
                                bad[i].query, NULL),
                    NULL);
        assert_int_equal(resp->status, 400);
        assert_int_equal(resp->kind, OAUTH2_RESPONSE_BODY);
        assert_int_equal(resp->no_store, 1);
        assert_string_equal(resp->frame_ancestors, "https://op.example.com");
        if (strstr(sf_log(), "OA2223: front-channel logout refused") == NULL
            || strstr(sf_log(), bad[i].why) == NULL) {
            fail_msg("%s: %s", bad[i].query, sf_log());
        }
    }
    uri = apr_pstrcat(f.pool, "/oauth2/frontchannel-logout?iss=",
                      "https%3A%2F%2Fop.example.com&sid=", NULL);
    uri = apr_pstrcat(f.pool, uri, apr_psprintf(f.pool, "%0*d", 256, 0), NULL);
    sf_log_clear();
    assert_int_equal(call(&f, "GET", uri, NULL)->status, 400);
    assert_non_null(strstr(sf_log(), "too long"));
    sf_log_clear();
    resp = call(&f, "GET",
                "/oauth2/frontchannel-logout?iss=https%3A%2F%2Fop.example.com"
                "&sid=s-1",
                NULL);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->no_store, 1);
    assert_int_equal(resp->page->kind, OAUTH2_PAGE_SIGNED_OUT);
    assert_null(resp->page->link);
    assert_string_equal(resp->frame_ancestors, "https://op.example.com");
    assert_non_null(
        strstr(sf_log(), "OA2224: front-channel logout of sid s-1: 0 "));
    resp = call(&f, "POST",
                "/oauth2/frontchannel-logout?iss=https%3A%2F%2Fop.example.com"
                "&sid=s-1",
                NULL);
    assert_int_equal(resp->status, 405);
    sf_close(&f);
}

/* Third review H: a revocation of cookie sessions that finds no room in
 * the table is not answered 200: 503 (OA2221), and the jti stays free,
 * so the provider's retry is done once there is room. */
static void test_endpoints_backchannel_retry(void **state)
{
    unsigned char key[32];
    oauth2_response_t *resp;
    const char *token;
    apr_pool_t *p;
    fs_t fs;
    sf_t f;
    sf_opts_t o = { 1, NULL, 0, 0, 0, 1, NULL, 0 };
    int i;

    (void)state;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    memset(&fs, 0, sizeof(fs));
    sf_oidc_routes(&fs, p, ",\"backchannel_logout_supported\":true");
    fs_start(&fs);
    o.base = fs.base;
    sf_open(&f, &o);
    token = sf_jwt(
        f.pool, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"logout+jwt\"}",
        apr_psprintf(f.pool,
                     "{\"iss\":\"%s\",\"aud\":\"app\",\"sub\":\"alice\","
                     "\"iat\":%ld,\"jti\":\"j-1\",\"events\":{\"http://"
                     "schemas.openid.net/event/backchannel-logout\":{}}}",
                     fs.base, (long)apr_time_sec(SF_NOW)));
    /* A table full of sessions that live long. */
    for (i = 0; i < 2000; i++) {
        memset(key, 0, sizeof(key));
        memcpy(key, &i, sizeof(i));
        oauth2_store_put(f.store, f.pool, key, "x", 1,
                         SF_NOW + apr_time_from_sec(60), SF_NOW);
    }
    sf_body(apr_pstrcat(f.pool, "logout_token=", token, NULL));
    resp = call(&f, "POST", "/oauth2/backchannel-logout", NULL);
    assert_int_equal(resp->status, 503);
    assert_non_null(strstr(sf_log(), "OA2221: back-channel logout of sub "
                                     "alice not done: no room"));
    assert_null(strstr(sf_log(), "OA2216"));
    /* Room again (the sessions end): the same token is done. */
    for (i = 0; i < 2000; i++) {
        memset(key, 0, sizeof(key));
        memcpy(key, &i, sizeof(i));
        oauth2_store_remove(f.store, f.pool, key);
    }
    sf_log_clear();
    sf_body(apr_pstrcat(f.pool, "logout_token=", token, NULL));
    resp = call(&f, "POST", "/oauth2/backchannel-logout", NULL);
    assert_int_equal(resp->status, 200);
    assert_non_null(strstr(sf_log(), "OA2216: back-channel logout of sub "
                                     "alice: its cookie sessions created "
                                     "until now are revoked"));
    /* And now it is spent. */
    sf_body(apr_pstrcat(f.pool, "logout_token=", token, NULL));
    resp = call(&f, "POST", "/oauth2/backchannel-logout", NULL);
    assert_int_equal(resp->status, 400);
    sf_close(&f);
    fs_stop(&fs);
    apr_pool_destroy(p);
}

static void test_endpoints_status(void **state)
{
    oauth2_response_t resp;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    memset(&resp, 0, sizeof(resp));
    oauth2_endpoints_status(f.site, sf_request(&f, "GET", "/status", NULL),
                            &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type,
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(resp.body, "oauth2_sessions_capacity 256\n"));
    assert_non_null(strstr(resp.body, "oauth2_sessions_live 0\n"));
    assert_non_null(strstr(resp.body, "oauth2_index_links_evicted_total 0\n"));
    assert_non_null(strstr(resp.body, "oauth2_discovery_fetches_total 0\n"));
    /* Sessions in cookies: the store holds their markers only, so it says
     * nothing of how many sessions there are. */
    f.site->cookie_sessions = 1;
    memset(&resp, 0, sizeof(resp));
    oauth2_endpoints_status(f.site, sf_request(&f, "GET", "/status", NULL),
                            &resp);
    assert_null(strstr(resp.body, "oauth2_sessions_live"));
    assert_non_null(strstr(resp.body, "oauth2_store_entries 0\n"));
    f.site->cookie_sessions = 0;
    /* Without a site: the version alone (no counters in this process). */
    memset(&resp, 0, sizeof(resp));
    oauth2_endpoints_status(NULL, sf_request(&f, "GET", "/status", NULL),
                            &resp);
    assert_string_equal(resp.body,
                        "# HELP oauth2_build_info The module's version "
                        "(always 1).\n"
                        "# TYPE oauth2_build_info gauge\n"
                        "oauth2_build_info{version=\"unknown\"} 1\n");
    memset(&resp, 0, sizeof(resp));
    oauth2_endpoints_status(f.site, sf_request(&f, "POST", "/status", NULL),
                            &resp);
    assert_int_equal(resp.status, 405);
    assert_string_equal(resp.allow, "GET");
    /* A store that keeps no counters: the provider's only. */
    f.site->store = sf_mem_store(&f, NULL);
    memset(&resp, 0, sizeof(resp));
    oauth2_endpoints_status(f.site, sf_request(&f, "GET", "/status", NULL),
                            &resp);
    assert_null(strstr(resp.body, "oauth2_sessions_capacity"));
    assert_non_null(strstr(resp.body, "oauth2_jwks_fetches_total"));
    sf_close(&f);
}

/* The server-wide counters: a failed callback and a login count in the
 * block in use, and the status body shows them with the version. */
static void test_endpoints_status_counters(void **state)
{
    static apr_uint64_t block[4096];
    oauth2_metrics_t *m;
    oauth2_response_t resp;
    int keep = 0;
    sf_t f;

    (void)state;
    assert_true(oauth2_metrics_size() <= sizeof(block));
    m = oauth2_metrics_format(block, sizeof(block), &keep);
    oauth2_metrics_use(m, "9.8.7");
    sf_open(&f, NULL);
    memset(&resp, 0, sizeof(resp));
    oauth2_endpoints_handle(
        f.site, 0, sf_request(&f, "GET", "/oauth2/callback?code=x", NULL),
        &resp);
    assert_int_equal(resp.status, 400);
    assert_int_equal(
        oauth2_metrics_get_login_failed(m, OAUTH2_LOGIN_FAIL_NO_STATE), 1);
    memset(&resp, 0, sizeof(resp));
    oauth2_endpoints_status(f.site, sf_request(&f, "GET", "/status", NULL),
                            &resp);
    assert_non_null(
        strstr(resp.body, "oauth2_build_info{version=\"9.8.7\"} 1\n"));
    assert_non_null(strstr(
        resp.body, "oauth2_login_failures_total{reason=\"no_state\"} 1\n"));
    assert_non_null(strstr(resp.body, "# TYPE oauth2_logins_total counter\n"));
    oauth2_metrics_use(NULL, NULL);
    sf_close(&f);
}

/* ---- named providers (<OAuth2Provider NAME>) ---- */

#define SID "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"
#define N   8 /* the endpoints of a site: callback ... choose */

/* Stores a session of user for site under the id SID. */
static void named_session(sf_t *f, const oauth2_site_t *site, const char *user)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    const char *rec;
    apr_size_t len;

    rec = sf_record(f, apr_psprintf(f->pool, "{\"sub\":\"%s\"}", user), NULL, 0,
                    &len);
    assert_int_equal(oauth2_site_key(site, SID, strlen(SID), key), APR_SUCCESS);
    assert_int_equal(oauth2_store_put(f->store, f->pool, key, rec, len,
                                      SF_NOW + apr_time_from_sec(600), SF_NOW),
                     APR_SUCCESS);
}

/* Is there a session of site for the cookie SID? */
static int has_session(sf_t *f, const oauth2_site_t *site)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *cookie =
        apr_pstrcat(f->pool, site->cfg->cookie_name, "=" SID, NULL);

    memset(&a, 0, sizeof(a));
    memset(&resp, 0, sizeof(resp));
    return oauth2_sessions_find(
               site, sf_request(f, "GET", "/", "Cookie", cookie, NULL), 0, &a,
               NULL, &resp)
           == APR_SUCCESS;
}

/* A named provider's endpoints are under OAuth2Prefix/NAME, numbered
 * (1 + its index) * N + the endpoint's; choose only where there are
 * named providers, and not under a named one. */
static void test_endpoints_match_named(void **state)
{
    static const sf_opts_t o = { 0, NULL, 0, 0, 0, 0, "a b", 0 };
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/choose"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/a/start"), -1);
    sf_close(&f);

    sf_open(&f, &o);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/callback"), 0);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/start"), 1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/choose"), 7);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/a/callback"),
                     N + 0);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/a/start"), N + 1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/a/logout"), N + 2);
    assert_int_equal(
        oauth2_endpoints_match(f.site, "/oauth2/a/backchannel-logout"), N + 4);
    assert_int_equal(
        oauth2_endpoints_match(f.site, "/oauth2/a/frontchannel-logout"), N + 6);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/b/callback"),
                     2 * N + 0);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/b/userinfo"),
                     2 * N + 3);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/b/signed-out"),
                     2 * N + 5);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/a/choose"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/c/start"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/a"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/a/"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/a/b/start"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/ab/start"), -1);
    sf_close(&f);
}

/* A host with named providers only (the hub): no callback or logout
 * channels of its own; its start is the sign-in page. */
static void test_endpoints_hub(void **state)
{
    static const sf_opts_t o = { 0, NULL, 0, 0, 0, 0, "a b", 1 };
    oauth2_response_t *resp;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/callback"), -1);
    assert_int_equal(
        oauth2_endpoints_match(f.site, "/oauth2/backchannel-logout"), -1);
    assert_int_equal(
        oauth2_endpoints_match(f.site, "/oauth2/frontchannel-logout"), -1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/start"), 1);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/logout"), 2);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/userinfo"), 3);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/signed-out"), 5);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/choose"), 7);
    assert_int_equal(oauth2_endpoints_match(f.site, "/oauth2/a/callback"),
                     N + 0);
    assert_int_equal(
        oauth2_endpoints_match(f.site, "/oauth2/b/backchannel-logout"),
        2 * N + 4);
    resp = call(&f, "GET", "/oauth2/start?rd=%2Fapp", NULL);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_BODY);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->page->kind, OAUTH2_PAGE_CHOOSE);
    assert_int_equal(resp->page->choices->nelts, 4);
    assert_string_equal(APR_ARRAY_IDX(resp->page->choices, 1, const char *),
                        "/oauth2/a/start?rd=%2Fapp");
    assert_string_equal(APR_ARRAY_IDX(resp->page->choices, 3, const char *),
                        "/oauth2/b/start?rd=%2Fapp");
    assert_null(resp->cookies);
    resp = call(&f, "GET", "/oauth2/choose?rd=%2Fx", NULL);
    assert_int_equal(resp->status, 200);
    assert_string_equal(APR_ARRAY_IDX(resp->page->choices, 1, const char *),
                        "/oauth2/a/start?rd=%2Fx");
    resp = call(&f, "POST", "/oauth2/choose", NULL);
    assert_int_equal(resp->status, 405);
    resp = call(&f, "GET", "/oauth2/choose?rd=1&rd=2", NULL);
    assert_int_equal(resp->status, 400);
    sf_close(&f);
}

/* The choose endpoint of a host with its own provider and named ones
 * lists its own first; a named provider's start goes to it and remembers
 * nothing yet (the callback of a login that ended in a session does); the
 * host's logout forgets the choice, a named provider's does not. */
static void test_endpoints_named_start(void **state)
{
    static const sf_opts_t o = { 0, NULL, 0, 0, 0, 0, "a b", 0 };
    oauth2_response_t *resp;
    const char *c;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    resp = call(&f, "GET", "/oauth2/choose", NULL);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->page->choices->nelts, 6);
    assert_string_equal(APR_ARRAY_IDX(resp->page->choices, 0, const char *),
                        "op.example.com");
    assert_string_equal(APR_ARRAY_IDX(resp->page->choices, 1, const char *),
                        "/oauth2/start?rd=%2F");
    assert_string_equal(APR_ARRAY_IDX(resp->page->choices, 2, const char *),
                        "a (a.example.com)");

    resp = call(&f, "GET", "/oauth2/b/start?rd=%2Fapp", NULL);
    assert_int_equal(resp->status, 302);
    assert_int_equal(
        strncmp(resp->location, "https://b.example.com/authorize?", 32), 0);
    assert_non_null(strstr(resp->location, "client_id=b-app"));
    assert_non_null(strstr(resp->location, "redirect_uri=http%3A%2F%2Fapp."
                                           "example.com%2Foauth2%2Fb%2F"
                                           "callback"));
    /* only the state cookie: the choice waits for the login's end */
    assert_null(sf_set_cookie(resp, "oauth2_session-provider"));
    assert_int_equal(resp->cookies->nelts, 1);
    assert_non_null(strstr(APR_ARRAY_IDX(resp->cookies, 0, const char *),
                           "Path=/oauth2/b/callback"));
    /* the host's logout forgets the choice; a named provider's keeps it */
    resp = call(&f, "GET", "/oauth2/logout", NULL);
    c = sf_set_cookie(resp, "oauth2_session-provider");
    assert_non_null(c);
    assert_int_equal(strncmp(c, "oauth2_session-provider=;", 25), 0);
    assert_non_null(strstr(c, "Max-Age=0"));
    resp = call(&f, "GET", "/oauth2/a/logout", NULL);
    assert_null(sf_set_cookie(resp, "oauth2_session-provider"));
    /* the host's own start: no choice remembered */
    resp = call(&f, "GET", "/oauth2/start?rd=%2Fapp", NULL);
    assert_int_equal(resp->status, 302);
    assert_int_equal(strncmp(resp->location, "https://op.example.com/", 23), 0);
    assert_null(sf_set_cookie(resp, "oauth2_session-provider"));
    /* a refused start remembers nothing */
    resp = call(&f, "GET", "/oauth2/a/start?rd=1&rd=2", NULL);
    assert_int_equal(resp->status, 400);
    assert_null(sf_set_cookie(resp, "oauth2_session-provider"));
    /* which beyond the named ones: declined */
    memset(resp, 0, sizeof(*resp));
    oauth2_endpoints_handle(f.site, 3 * N + 1,
                            sf_request(&f, "GET", "/x", NULL), resp);
    assert_int_equal(resp->kind, OAUTH2_RESPONSE_DECLINE);
    sf_close(&f);
}

/* A state made at A's start is refused at B's callback (and at the
 * host's): 400, OA2203, no call to either provider. */
static void test_endpoints_named_state_mixup(void **state)
{
    static const sf_opts_t o = { 0, NULL, 0, 0, 0, 0, "a b", 0 };
    oauth2_response_t *resp;
    const char *cookie, *st;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    resp = call(&f, "GET", "/oauth2/a/start?rd=%2Fapp", NULL);
    assert_int_equal(resp->status, 302);
    st = param(f.pool, resp->location, "state");
    cookie = sf_cookie_header(f.pool, resp);
    sf_log_clear();
    resp =
        call(&f, "GET",
             apr_pstrcat(f.pool, "/oauth2/b/callback?code=c&state=", st, NULL),
             cookie);
    assert_int_equal(resp->status, 400);
    assert_non_null(strstr(sf_log(), "OA2203: state cookie refused"));
    sf_log_clear();
    resp = call(&f, "GET",
                apr_pstrcat(f.pool, "/oauth2/callback?code=c&state=", st, NULL),
                cookie);
    assert_int_equal(resp->status, 400);
    assert_non_null(strstr(sf_log(), "OA2203: state cookie refused"));
    sf_close(&f);
}

/* /oauth2/logout ends the sessions of every provider of the host;
 * /oauth2/NAME/logout only NAME's. */
static void test_endpoints_named_logout(void **state)
{
    static const sf_opts_t o = { 0, NULL, 0, 0, 0, 0, "a b", 0 };
    const char *all = "oauth2_session=" SID "; oauth2_session_a=" SID
                      "; oauth2_session_b=" SID;
    oauth2_response_t *resp;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    named_session(&f, f.site, "own");
    named_session(&f, f.site->named[0], "alice");
    named_session(&f, f.site->named[1], "bob");
    assert_true(has_session(&f, f.site->named[0]));
    sf_log_clear();
    resp = call(&f, "GET", "/oauth2/a/logout", all);
    assert_int_equal(resp->status, 302);
    assert_string_equal(resp->location, "/oauth2/a/signed-out");
    assert_non_null(
        strstr(sf_log(), "OA2214: user alice logged out of provider a"));
    assert_null(strstr(sf_log(), "user bob"));
    assert_non_null(strstr(sf_log(), "OA2410: logout: the session and its "
                                     "cookies removed"));
    assert_false(has_session(&f, f.site->named[0]));
    assert_true(has_session(&f, f.site->named[1]));
    assert_true(has_session(&f, f.site));
    assert_non_null(sf_set_cookie(resp, "oauth2_session_a"));
    assert_null(sf_set_cookie(resp, "oauth2_session_b"));
    assert_null(sf_set_cookie(resp, "oauth2_session"));

    named_session(&f, f.site->named[0], "alice");
    sf_log_clear();
    resp = call(&f, "GET", "/oauth2/logout", all);
    assert_int_equal(resp->status, 302);
    assert_string_equal(resp->location, "/oauth2/signed-out");
    assert_non_null(strstr(sf_log(), "OA2214: user own logged out\n"));
    assert_non_null(
        strstr(sf_log(), "OA2214: user alice logged out of provider a"));
    assert_non_null(
        strstr(sf_log(), "OA2214: user bob logged out of provider b"));
    assert_non_null(strstr(sf_log(), "OA2410: logout: the sessions and their "
                                     "cookies removed"));
    assert_false(has_session(&f, f.site));
    assert_false(has_session(&f, f.site->named[0]));
    assert_false(has_session(&f, f.site->named[1]));
    assert_non_null(sf_set_cookie(resp, "oauth2_session"));
    assert_non_null(sf_set_cookie(resp, "oauth2_session_a"));
    assert_non_null(sf_set_cookie(resp, "oauth2_session_b"));
    sf_log_clear();
    resp = call(&f, "GET", "/oauth2/logout", all);
    assert_non_null(strstr(sf_log(), "OA2410: logout: no session"));
    sf_close(&f);
}

/* /oauth2/userinfo: the first session found (the host's own, then the
 * named ones in order); /oauth2/NAME/userinfo: NAME's only. */
static void test_endpoints_named_userinfo(void **state)
{
    static const sf_opts_t o = { 0, NULL, 0, 0, 0, 0, "a b", 1 };
    oauth2_response_t *resp;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    named_session(&f, f.site->named[1], "bob");
    resp = call(&f, "GET", "/oauth2/userinfo", "oauth2_session_b=" SID);
    assert_int_equal(resp->status, 200);
    assert_non_null(strstr(resp->body, "\"user\":\"bob\""));
    named_session(&f, f.site->named[0], "alice");
    resp = call(&f, "GET", "/oauth2/userinfo",
                "oauth2_session_b=" SID "; oauth2_session_a=" SID);
    assert_int_equal(resp->status, 200);
    assert_non_null(strstr(resp->body, "\"user\":\"alice\""));
    resp = call(&f, "GET", "/oauth2/b/userinfo",
                "oauth2_session_b=" SID "; oauth2_session_a=" SID);
    assert_int_equal(resp->status, 200);
    assert_non_null(strstr(resp->body, "\"user\":\"bob\""));
    resp = call(&f, "GET", "/oauth2/b/userinfo", "oauth2_session_a=" SID);
    assert_int_equal(resp->status, 401);
    resp = call(&f, "GET", "/oauth2/userinfo", NULL);
    assert_int_equal(resp->status, 401);
    sf_close(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_endpoints_match),
        T(test_endpoints_methods),
        T(test_endpoints_start),
        T(test_endpoints_callback_refusals),
        T(test_endpoints_callback_bad_state),
        T(test_endpoints_callback_error),
        T(test_endpoints_login),
        T(test_endpoints_refused_code),
        T(test_endpoints_provider_faults),
        T(test_endpoints_backchannel_refusals),
        T(test_endpoints_frontchannel),
        T(test_endpoints_backchannel_retry),
        T(test_endpoints_status),
        T(test_endpoints_status_counters),
        T(test_endpoints_match_named),
        T(test_endpoints_hub),
        T(test_endpoints_named_start),
        T(test_endpoints_named_state_mixup),
        T(test_endpoints_named_logout),
        T(test_endpoints_named_userinfo),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
