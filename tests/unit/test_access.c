/*
 * test_access.c: unit tests for src/access.c, a request to a protected
 * place, on a real shm store at a fixed clock: a valid session carries on
 * with its identity and the module's cookies out of the backend's Cookie
 * header; without one, OAuth2UnauthAction decides (a login for a browser
 * navigation, 401 with the AuthName realm for scripts, 403, through as
 * nobody); a store that cannot answer is a 503 page, not a login; bearer
 * tokens (configuration refused, malformed, cached); starting a login
 * (state cookie, pruning, a refused return URL, an unreachable provider's
 * 502 page); the decision of Require rules; the refused user's page.
 */
#include "access.h"
#include "conn.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "crypto.h"
#include "errors.h"
#include "fake_server.h"
#include "site_fixture.h"

#define NOW      SF_NOW
#define LATER(s) (NOW + apr_time_from_sec(s))
#define SID      "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"
#define CLAIMS \
    "{\"sub\":\"alice\",\"email\":\"a@example.com\",\"groups\":[\"staff\"]}"
#define BROWSER "text/html,application/xhtml+xml"

/* Stores a session of claims under the id SID. */
static void session(sf_t *f, const char *claims, const char *access)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    const char *rec;
    apr_size_t len;

    rec = sf_record(f, claims, access, access ? LATER(3600) : 0, &len);
    assert_int_equal(oauth2_site_key(f->site, SID, strlen(SID), key),
                     APR_SUCCESS);
    assert_int_equal(
        oauth2_store_put(f->store, f->pool, key, rec, len, LATER(600), NOW),
        APR_SUCCESS);
}

static oauth2_dir_cfg_t *dir(sf_t *f)
{
    return oauth2_dir_cfg_create(f->pool);
}

/* check on a request with the given headers (name, value pairs, NULL). */
static void check(sf_t *f, const oauth2_site_t *site, oauth2_dir_cfg_t *d,
                  oauth2_request_t *r, oauth2_authn_t *a,
                  oauth2_response_t *resp)
{
    memset(a, 0, sizeof(*a));
    memset(resp, 0, sizeof(*resp));
    (void)f;
    oauth2_access_check(site, d, r, a, resp);
}

static void test_access_no_provider(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    check(&f, NULL, dir(&f), sf_request(&f, "GET", "/app", NULL), &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(resp.status, 500);
    assert_non_null(strstr(sf_log(),
                           "OA2009: AuthType oauth2 at /app, but "
                           "this virtual host has no OAuth2Provider"));
    sf_close(&f);
}

/* The hot path: the user, the identity to pass, the Cookie header the
 * backend gets (ours out, the others as they were). */
static void test_access_session(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_request_t *r;
    oauth2_dir_cfg_t *d;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    session(&f, CLAIMS, "at-1");
    d = dir(&f);
    r = sf_request(&f, "GET", "/app", "Cookie",
                   "a=1; oauth2_session=" SID "; b=2", NULL);
    check(&f, f.site, d, r, &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_CONTINUE);
    assert_string_equal(resp.user, "alice");
    assert_ptr_equal(resp.identity, a.session);
    assert_int_equal(resp.pass, 0);
    assert_true(a.authenticated);
    assert_ptr_equal(resp.cookie_in_was, oauth2_request_header(r, "Cookie"));
    assert_string_equal(resp.cookie_in, "a=1; b=2");
    assert_null(resp.cookies);
    assert_string_equal(sf_log(), "");
    /* OAuth2PassAccessToken and OAuth2PassClaims: passed on. */
    d->pass_access_token = 1;
    d->pass_claims = OAUTH2_PASS_HEADERS | OAUTH2_PASS_ENV;
    r = sf_request(&f, "GET", "/app", "Cookie", "oauth2_session=" SID, NULL);
    check(&f, f.site, d, r, &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_CONTINUE);
    assert_int_equal(resp.pass,
                     OAUTH2_PASS_TOKEN | OAUTH2_PASS_HEADERS | OAUTH2_PASS_ENV);
    assert_string_equal(resp.identity->f[OAUTH2_SF_ACCESS_TOKEN], "at-1");
    assert_string_equal(resp.cookie_in, "");
    sf_close(&f);
}

/* OAuth2UnauthAction auto: a browser navigation logs in, a script gets
 * 401 with the place's AuthName as the realm. */
static void test_access_unauth_auto(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *loc;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    check(&f, f.site, dir(&f),
          sf_request(&f, "GET", "/app?x=1", "Accept", BROWSER, NULL), &a,
          &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(resp.status, 302);
    assert_int_equal(resp.no_store, 1);
    loc = resp.location;
    assert_int_equal(strncmp(loc, "https://op.example.com/authorize?", 33), 0);
    assert_non_null(strstr(loc, "code_challenge_method=S256"));
    assert_non_null(strstr(loc, "redirect_uri=http%3A%2F%2Fapp.example.com"
                                "%2Foauth2%2Fcallback"));
    assert_int_equal(resp.cookies->nelts, 1);
    assert_non_null(strstr(APR_ARRAY_IDX(resp.cookies, 0, const char *),
                           "Path=/oauth2/callback; Max-Age=300"));
    assert_non_null(strstr(sf_log(), "OA2401: GET /app: no valid session "
                                     "cookie; OAuth2UnauthAction auto, a "
                                     "browser navigation: log in"));
    assert_non_null(strstr(sf_log(), "OA2413: authorization request to "
                                     "https://op.example.com/authorize: "
                                     "scope \""));
    assert_non_null(strstr(sf_log(), "OA2108: sent to log in, returning to "
                                     "/app?x=1"));
    sf_log_clear();
    check(&f, f.site, dir(&f),
          sf_request(&f, "GET", "/app", "Accept", BROWSER, "X-Requested-With",
                     "XMLHttpRequest", NULL),
          &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(resp.status, 401);
    assert_string_equal(resp.www_authenticate, "Bearer realm=\"Staff\"");
    assert_null(resp.cookies);
    assert_null(resp.page);
    assert_non_null(strstr(sf_log(), "OA2401: GET /app: no valid session "
                                     "cookie; OAuth2UnauthAction auto, not a "
                                     "browser navigation"));
    sf_close(&f);
}

static void test_access_unauth_actions(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_dir_cfg_t *d;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    d = dir(&f);
    d->unauth = OAUTH2_UNAUTH_403;
    check(&f, f.site, d, sf_request(&f, "GET", "/app", NULL), &a, &resp);
    assert_int_equal(resp.status, 403);
    assert_null(resp.www_authenticate);
    d->unauth = OAUTH2_UNAUTH_401;
    check(&f, f.site, d, sf_request(&f, "GET", "/app", "Accept", BROWSER, NULL),
          &a, &resp);
    assert_int_equal(resp.status, 401);
    d->unauth = OAUTH2_UNAUTH_LOGIN;
    check(&f, f.site, d,
          sf_request(&f, "POST", "/app", "X-Requested-With", "x", NULL), &a,
          &resp);
    assert_int_equal(resp.status, 302);
    d->unauth = OAUTH2_UNAUTH_PASS;
    check(&f, f.site, d, sf_request(&f, "GET", "/app", NULL), &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_CONTINUE);
    assert_string_equal(resp.user, "");
    assert_null(resp.identity);
    assert_true(a.anonymous);
    assert_false(a.authenticated);
    sf_close(&f);
}

/* The session cannot be checked: a 503 page, never a login. */
static void test_access_store_down(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    f.site->store = sf_mem_store(&f, NULL);
    f.site->memo = 0;
    sf_mem_fail(OAUTH2_ESTORE);
    check(&f, f.site, dir(&f),
          sf_request(&f, "GET", "/app?q", "Accept", BROWSER, "Cookie",
                     "oauth2_session=" SID, NULL),
          &a, &resp);
    sf_mem_fail(APR_SUCCESS);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(resp.status, 503);
    assert_string_equal(resp.page->title, "Temporarily unavailable");
    assert_string_equal(resp.page->link, "/app?q");
    assert_non_null(strstr(sf_log(), "OA2010: the session store (memory) is "
                                     "unavailable (OAUTH2_ESTORE)"));
    sf_close(&f);
}

static void test_access_bearer(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_dir_cfg_t *d;
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    const char *rec, *id;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    d = dir(&f);
    d->accept_bearer = 1;
    check(&f, f.site, d,
          sf_request(&f, "GET", "/api", "Authorization", "Bearer abc", NULL),
          &a, &resp);
    assert_int_equal(resp.status, 500);
    assert_non_null(strstr(sf_log(), "OA2302"));
    d->bearer_audience = "api";
    check(&f, f.site, d,
          sf_request(&f, "GET", "/api", "Authorization", "Bearer a b", NULL),
          &a, &resp);
    assert_int_equal(resp.status, 401);
    assert_string_equal(resp.www_authenticate,
                        "Bearer realm=\"Staff\", error=\"invalid_token\"");
    assert_non_null(strstr(sf_log(), "OA2303: bearer token refused: malformed "
                                     "Authorization header"));
    /* Not a bearer header: the session's way. */
    check(&f, f.site, d,
          sf_request(&f, "GET", "/api", "Authorization", "Basic eA==", "Accept",
                     "application/json", NULL),
          &a, &resp);
    assert_int_equal(resp.status, 401);
    assert_null(strstr(resp.www_authenticate, "invalid_token"));
    /* A token verified before: its cached session, no verification. */
    id = "bearer:api\ntok.en.x";
    assert_int_equal(oauth2_site_key(f.site, id, strlen(id), key), APR_SUCCESS);
    rec = sf_record(&f, "{\"sub\":\"svc\"}", NULL, 0, &len);
    oauth2_store_put(f.store, f.pool, key, rec, len, LATER(60), NOW);
    check(
        &f, f.site, d,
        sf_request(&f, "GET", "/api", "Authorization", "Bearer tok.en.x", NULL),
        &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_CONTINUE);
    assert_string_equal(resp.user, "svc");
    assert_true(a.bearer);
    assert_null(resp.cookie_in_was);
    /* The same token for another audience is verified (and fails). */
    d->bearer_audience = "other";
    check(
        &f, f.site, d,
        sf_request(&f, "GET", "/api", "Authorization", "Bearer tok.en.x", NULL),
        &a, &resp);
    assert_int_equal(resp.status, 401);
    sf_close(&f);
}

/* A site whose provider is a fake OpenID Provider (discovery, JWKS) in
 * fs, with its own pool *p; api_close stops both. */
static void api_open(sf_t *f, fs_t *fs, apr_pool_t **p)
{
    sf_opts_t o = { 0, NULL, 0, 0, 0, 1, NULL, 0 };

    assert_int_equal(apr_pool_create(p, NULL), APR_SUCCESS);
    memset(fs, 0, sizeof(*fs));
    sf_oidc_routes(fs, *p, "");
    fs_start(fs);
    o.base = fs->base;
    sf_open(f, &o);
}

static void api_close(sf_t *f, fs_t *fs, apr_pool_t *p)
{
    sf_close(f);
    fs_stop(fs);
    apr_pool_destroy(p);
}

/* An RS256 at+jwt of fs's issuer for the audience "api", of sub, with
 * the claims of more (",\"name\":..." or ""), valid 600 s from NOW. */
static const char *api_token(sf_t *f, const fs_t *fs, const char *sub,
                             const char *more)
{
    return sf_jwt(
        f->pool, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}",
        apr_psprintf(f->pool,
                     "{\"iss\":\"%s\",\"aud\":\"api\",\"sub\":\"%s\"%s,"
                     "\"iat\":%ld,\"exp\":%ld}",
                     fs->base, sub, more, (long)apr_time_sec(NOW),
                     (long)apr_time_sec(NOW) + 600));
}

/* A token verified once is cached under its hash until it expires: the
 * next request costs a hash, not a verification (no JWKS fetch). A token
 * that does not verify is a 401 with invalid_token. */
static void test_access_bearer_verified_and_cached(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_dir_cfg_t *d;
    const char *token, *hdr;
    apr_pool_t *p;
    fs_t fs;
    sf_t f;

    (void)state;
    api_open(&f, &fs, &p);
    token = api_token(&f, &fs, "svc", ",\"groups\":[\"bots\"]");
    hdr = apr_pstrcat(f.pool, "Bearer ", token, NULL);
    d = dir(&f);
    d->accept_bearer = 1;
    d->bearer_audience = "api";
    check(&f, f.site, d,
          sf_request(&f, "GET", "/api", "Authorization", hdr, NULL), &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_CONTINUE);
    assert_string_equal(resp.user, "svc");
    assert_string_equal(resp.identity->f[OAUTH2_SF_GROUPS_HEADER], "bots");
    assert_true(a.bearer);
    assert_int_equal(a.expires, LATER(600));
    assert_int_equal(fs_count(f.pool, &fs, "/jwks"), 1);
    /* The cache: the token's session under a hash of the audience and the
     * token, until the token expires. */
    {
        unsigned char key[OAUTH2_STORE_KEY_LEN];
        const char *id = apr_pstrcat(f.pool, "bearer:api\n", token, NULL);
        oauth2_store_meta_t meta;
        char *rec;
        apr_size_t len;

        assert_int_equal(oauth2_site_key(f.site, id, strlen(id), key),
                         APR_SUCCESS);
        assert_int_equal(
            oauth2_store_get(f.store, f.pool, key, NOW, &rec, &len, &meta),
            APR_SUCCESS);
        assert_int_equal(meta.expires, LATER(600));
    }
    check(&f, f.site, d,
          sf_request(&f, "GET", "/api", "Authorization", hdr, NULL), &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_CONTINUE);
    assert_int_equal(fs_count(f.pool, &fs, "/jwks"), 1);
    assert_int_equal(fs_count(f.pool, &fs, NULL), 2); /* discovery, jwks */
    /* The same token for another audience: verified, and refused. */
    d->bearer_audience = "other";
    check(&f, f.site, d,
          sf_request(&f, "GET", "/api", "Authorization", hdr, NULL), &a, &resp);
    assert_int_equal(resp.status, 401);
    assert_non_null(strstr(resp.www_authenticate, "error=\"invalid_token\""));
    assert_non_null(strstr(sf_log(), "OA2303: bearer token refused"));
    api_close(&f, &fs, p);
}

/* d, made a place of audience api that takes bearer tokens. */
static oauth2_dir_cfg_t *api_of(oauth2_dir_cfg_t *d)
{
    d->accept_bearer = 1;
    d->bearer_audience = "api";
    return d;
}

/* A request with a bearer token on the kept connection c, at now. */
static void header_on(sf_t *f, oauth2_dir_cfg_t *d, oauth2_conn_t *c,
                      const char *header, apr_time_t now, oauth2_authn_t *a,
                      oauth2_response_t *resp)
{
    oauth2_request_t *r =
        sf_request(f, "GET", "/api", "Authorization", header, NULL);

    r->conn = c;
    r->now = now;
    check(f, f->site, d, r, a, resp);
}

static void bearer_on(sf_t *f, oauth2_dir_cfg_t *d, oauth2_conn_t *c,
                      const char *token, apr_time_t now, oauth2_authn_t *a,
                      oauth2_response_t *resp)
{
    header_on(f, d, c, apr_pstrcat(f->pool, "Bearer ", token, NULL), now, a,
              resp);
}

/* The remembered token's bytes in a header that is not well formed, each
 * right after the connection answered the token: refused, as the syntax
 * check refuses them on a connection that remembers nothing. Spaces
 * before the token and the scheme's case are the syntax's own. */
static void kept_token_spellings(sf_t *f, oauth2_dir_cfg_t *d, oauth2_conn_t *c,
                                 const char *token)
{
    /* Before and after the token. */
    static const char *const bad[][2] = {
        { "Bearer", "" },    { "Bearer\t", "" }, { "Bearer ", " " },
        { "Bearer ", "\t" }, { "Bearer ", "," }, { "Bearer ", " x" },
    };
    static const char *const good[] = { "bearer ", "BEARER    " };
    oauth2_response_t resp;
    oauth2_authn_t a;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bearer_on(f, d, c, token, NOW, &a, &resp);
        assert_string_equal(resp.user, "alice");
        header_on(f, d, c,
                  apr_pstrcat(f->pool, bad[i][0], token, bad[i][1], NULL), NOW,
                  &a, &resp);
        assert_int_equal(resp.status, 401);
        assert_false(a.authenticated);
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        header_on(f, d, c, apr_pstrcat(f->pool, good[i], token, NULL), NOW, &a,
                  &resp);
        assert_string_equal(resp.user, "alice");
        assert_ptr_equal(a.session, &c->session);
    }
}

/* A keep-alive API client: the connection remembers the token it
 * verified (with its audience) and answers the same bytes again without
 * a hash; a token that differs in one byte, another audience, another
 * user's token or an expired one on the same connection is not the
 * remembered one. */
static void test_access_bearer_kept_connection(void **state)
{
    static const size_t flips[] = { 0, 7, 40, 100 };
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_dir_cfg_t *d;
    oauth2_conn_t *c;
    const char *alice, *bob, *id;
    char *forged;
    apr_pool_t *p;
    size_t i;
    fs_t fs;
    sf_t f;

    (void)state;
    api_open(&f, &fs, &p);
    alice = api_token(&f, &fs, "alice", "");
    bob = api_token(&f, &fs, "bob", "");
    d = dir(&f);
    d->accept_bearer = 1;
    d->bearer_audience = "api";
    assert_int_equal(oauth2_conn_create(f.pool, &c), APR_SUCCESS);
    /* Verified (and cached in the store), then read from the store into
     * the connection, then answered by the connection. */
    for (i = 0; i < 3; i++) {
        bearer_on(&f, d, c, alice, NOW, &a, &resp);
        assert_int_equal(resp.kind, OAUTH2_RESPONSE_CONTINUE);
        assert_string_equal(resp.user, "alice");
        assert_true(a.bearer);
    }
    id = apr_pstrcat(f.pool, "bearer:api\n", alice, NULL);
    assert_true(c->valid);
    assert_int_equal(c->id_len, strlen(id));
    assert_memory_equal(c->id, id, c->id_len);
    assert_ptr_equal(a.session, &c->session);
    /* One byte changed anywhere: not alice's (the signature fails). */
    for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
        forged = apr_pstrdup(f.pool, alice);
        forged[flips[i]] = forged[flips[i]] == 'A' ? 'B' : 'A';
        bearer_on(&f, d, c, forged, NOW, &a, &resp);
        assert_int_equal(resp.status, 401);
        bearer_on(&f, d, c, alice, NOW, &a, &resp);
        assert_string_equal(resp.user, "alice");
    }
    kept_token_spellings(&f, d, c, alice);
    /* Another user's token on the same connection: that user. */
    bearer_on(&f, d, c, bob, NOW, &a, &resp);
    assert_string_equal(resp.user, "bob");
    bearer_on(&f, d, c, alice, NOW, &a, &resp);
    assert_string_equal(resp.user, "alice");
    /* Another audience: verified for it, and refused. */
    d->bearer_audience = "other";
    bearer_on(&f, d, c, alice, NOW, &a, &resp);
    assert_int_equal(resp.status, 401);
    d->bearer_audience = "api";
    bearer_on(&f, d, c, alice, NOW, &a, &resp);
    assert_string_equal(resp.user, "alice");
    /* Past the token's expiry (and the clock skew allowed): not answered
     * from the connection. */
    bearer_on(&f, d, c, alice, LATER(600 + OAUTH2_DEFAULT_SKEW + 1), &a, &resp);
    assert_int_equal(resp.status, 401);
    assert_int_equal(fs_count(f.pool, &fs, "/jwks"), 1);
    api_close(&f, &fs, p);
}

/* A subrequest or internal redirect that checks the request itself reads
 * with a memo of its own (the glue gives its view none): the request
 * before it keeps its user and session, which point into the connection's
 * memo, though the nested one reads another session (finding I2: a
 * MultiViews variant at a place of sessions only read bob's cookie, and
 * the token's request became bob). */
static void test_access_nested_own_memo(void **state)
{
    oauth2_response_t resp, sub;
    oauth2_authn_t a, b;
    oauth2_request_t *r;
    oauth2_dir_cfg_t *d;
    oauth2_conn_t *c;
    const char *alice, *user;
    apr_pool_t *p;
    fs_t fs;
    sf_t f;

    (void)state;
    api_open(&f, &fs, &p);
    alice = api_token(&f, &fs, "alice", "");
    d = api_of(dir(&f));
    assert_int_equal(oauth2_conn_create(f.pool, &c), APR_SUCCESS);
    bearer_on(&f, d, c, alice, NOW, &a, &resp); /* verified, cached */
    bearer_on(&f, d, c, alice, NOW, &a, &resp); /* through the memo */
    assert_ptr_equal(a.session, &c->session);
    user = resp.user;
    session(&f, "{\"sub\":\"bob\"}", NULL);
    r = sf_request(&f, "GET", "/app", "Cookie", "oauth2_session=" SID, NULL);
    assert_null(r->conn);
    check(&f, f.site, dir(&f), r, &b, &sub);
    assert_string_equal(sub.user, "bob");
    assert_ptr_not_equal(b.session, &c->session);
    assert_string_equal(user, "alice");
    assert_string_equal(a.session->f[OAUTH2_SF_USER], "alice");
    api_close(&f, &fs, p);
}

/* A browser that holds the maximum of login states gets them expired. */
static void test_access_login_prunes_states(void **state)
{
    oauth2_response_t resp;
    const char *cookies = "x=1";
    int i, expired = 0;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    for (i = 0; i < 7; i++) {
        cookies = apr_psprintf(f.pool, "%s; oauth2_state_s%d=v", cookies, i);
    }
    memset(&resp, 0, sizeof(resp));
    oauth2_access_login(f.site,
                        sf_request(&f, "GET", "/", "Cookie", cookies, NULL),
                        "//evil.example/", 0, &resp);
    assert_int_equal(resp.status, 302);
    for (i = 0; i < resp.cookies->nelts; i++) {
        expired +=
            strstr(APR_ARRAY_IDX(resp.cookies, i, const char *), "Max-Age=0")
            != NULL;
    }
    assert_int_equal(expired, 7);
    assert_int_equal(resp.cookies->nelts, 8);
    assert_non_null(strstr(sf_log(), "OA2105: refused return URL "
                                     "//evil.example/"));
    assert_non_null(strstr(sf_log(), "returning to /\n"));
    sf_close(&f);
}

/* The provider's discovery cannot be fetched: 502 naming the service. */
static void test_access_provider_down(void **state)
{
    oauth2_response_t resp;
    sf_opts_t o = { 0, "http://127.0.0.1:9", 0, 0, 0, 1, NULL, 0 };
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    memset(&resp, 0, sizeof(resp));
    oauth2_access_login(f.site, sf_request(&f, "GET", "/", NULL), "/app", 0,
                        &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(resp.status, 502);
    assert_string_equal(resp.page->title, "Sign-in is unavailable");
    assert_non_null(strstr(resp.page->message, "The sign-in service "
                                               "(127.0.0.1) cannot be "
                                               "reached"));
    assert_string_equal(resp.page->link, "/app");
    assert_null(resp.cookies);
    assert_non_null(strstr(sf_log(), "OA2106: cannot start a login"));
    sf_close(&f);
}

static oauth2_rule_t *rule(sf_t *f, oauth2_rule_kind_e kind, const char *w)
{
    apr_array_header_t *words = apr_array_make(f->pool, 1, sizeof(char *));
    oauth2_rule_t *r = NULL;
    const char *err = NULL;

    APR_ARRAY_PUSH(words, const char *) = w;
    assert_int_equal(
        oauth2_authz_parse(f->pool, kind, words, NULL, NULL, &r, &err),
        APR_SUCCESS);
    return r;
}

static void test_access_authorize(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_request_t *r;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    session(&f, CLAIMS, NULL);
    r = sf_request(&f, "GET", "/app", "Cookie", "oauth2_session=" SID, NULL);
    check(&f, f.site, dir(&f), r, &a, &resp);
    assert_true(a.authenticated);
    memset(&resp, 0, sizeof(resp));
    assert_int_equal(oauth2_access_authorize(
                         f.site, r, &a, "alice",
                         rule(&f, OAUTH2_RULE_GROUP, "staff"), "staff", &resp),
                     OAUTH2_ACCESS_GRANTED);
    assert_int_equal(
        oauth2_access_authorize(f.site, r, &a, "alice",
                                rule(&f, OAUTH2_RULE_GROUP, "admins"), "admins",
                                &resp),
        OAUTH2_ACCESS_DENIED);
    assert_non_null(strstr(sf_log(), "OA2301: user alice does not satisfy "
                                     "Require oauth2-group admins"));
    /* The refusal says why (issue 17). */
    assert_non_null(strstr(sf_log(), "Require oauth2-group admins: the "
                                     "user's groups are: staff"));
    assert_int_equal(oauth2_access_authorize(
                         f.site, r, &a, "alice",
                         rule(&f, OAUTH2_RULE_EMAIL_DOMAIN, "example.com"),
                         "example.com", &resp),
                     OAUTH2_ACCESS_DENIED); /* the email is not verified */
    assert_non_null(strstr(sf_log(), "did not send email_verified true"));
    assert_int_equal(oauth2_access_authorize(
                         f.site, r, &a, NULL,
                         rule(&f, OAUTH2_RULE_GROUP, "staff"), "staff", &resp),
                     OAUTH2_ACCESS_NO_USER);
    assert_int_equal(
        oauth2_access_authorize(f.site, r, &a, "alice", NULL, "x", &resp),
        OAUTH2_ACCESS_ERROR);
    a.authenticated = 0;
    assert_int_equal(oauth2_access_authorize(
                         f.site, r, &a, "",
                         rule(&f, OAUTH2_RULE_GROUP, "staff"), "staff", &resp),
                     OAUTH2_ACCESS_DENIED);
    sf_close(&f);
}

static void test_access_pages_and_identity(void **state)
{
    const oauth2_page_t *pg;
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_dir_cfg_t *d;
    oauth2_session_t s;
    const char *rec;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    pg = oauth2_access_forbidden_page(f.site, f.pool, "alice");
    assert_int_equal(pg->status, 403);
    assert_string_equal(pg->title, "Access denied");
    assert_string_equal(pg->message, "You are logged in as alice, but this "
                                     "account is not allowed to open this "
                                     "page.");
    /* Log out or switch account: the logout ends on the signed-out page. */
    assert_null(pg->link);
    assert_string_equal(pg->logout, "/oauth2/logout");
    assert_string_equal(pg->user, "alice");
    assert_int_equal(pg->kind, OAUTH2_PAGE_REFUSED);
    rec = sf_record(&f, CLAIMS, "at", LATER(60), &len);
    assert_int_equal(oauth2_session_decode(rec, len, &s), APR_SUCCESS);
    memset(&a, 0, sizeof(a));
    a.session = &s;
    d = dir(&f);
    d->pass_access_token = 1;
    resp.status = 403;
    oauth2_access_identity(f.site, d, &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_CONTINUE);
    assert_int_equal(resp.status, 0);
    assert_string_equal(resp.user, "alice");
    assert_int_equal(resp.pass, OAUTH2_PASS_TOKEN);
    assert_string_equal(resp.groups_claim, f.site->cfg->groups_claim);
    oauth2_access_identity(NULL, NULL, &a, &resp);
    assert_int_equal(resp.pass, 0);
    assert_null(resp.groups_claim);
    sf_close(&f);
}

/* ---- named providers (<OAuth2Provider NAME>, OAuth2Use) ---- */

/* Stores a session of claims for site (a named provider's or the
 * host's) under the id SID. */
static void session_of(sf_t *f, const oauth2_site_t *site, const char *claims)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    const char *rec;
    apr_size_t len;

    rec = sf_record(f, claims, NULL, 0, &len);
    assert_int_equal(oauth2_site_key(site, SID, strlen(SID), key), APR_SUCCESS);
    assert_int_equal(
        oauth2_store_put(f->store, f->pool, key, rec, len, LATER(600), NOW),
        APR_SUCCESS);
}

/* A place's OAuth2Use: the names given, NULL-terminated. */
static oauth2_dir_cfg_t *use(sf_t *f, ...)
{
    oauth2_dir_cfg_t *d = dir(f);
    const char *name;
    va_list ap;

    va_start(ap, f);
    while ((name = va_arg(ap, const char *)) != NULL) {
        assert_null(oauth2_cfg_add_use(f->pool, d, name));
    }
    va_end(ap);
    return d;
}

/* A browser's navigation to /app?x=1 with cookie (or none). */
static oauth2_request_t *navigation(sf_t *f, const char *cookie)
{
    return sf_request(f, "GET", "/app?x=1", "Accept", BROWSER, "Cookie", cookie,
                      NULL);
}

/* The choice i of a choose page: label and link. */
static void assert_choice(const oauth2_response_t *resp, int i,
                          const char *label, const char *link)
{
    const apr_array_header_t *c = resp->page->choices;

    assert_non_null(c);
    assert_true(2 * i + 1 < c->nelts);
    assert_string_equal(APR_ARRAY_IDX(c, 2 * i, const char *), label);
    assert_string_equal(APR_ARRAY_IDX(c, 2 * i + 1, const char *), link);
}

/* Several providers and no session: the sign-in page (200, choose) with a
 * link to each one's start, returning here; all the named ones of a host
 * without its own, or OAuth2Use's in its order. */
static void test_access_choose_page(void **state)
{
    static const sf_opts_t o = { .named = "a b", .hub = 1 };
    oauth2_response_t resp;
    oauth2_authn_t a;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    check(&f, f.site, dir(&f), navigation(&f, NULL), &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_BODY);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.no_store, 1);
    assert_non_null(resp.page);
    assert_int_equal(resp.page->kind, OAUTH2_PAGE_CHOOSE);
    assert_int_equal(resp.page->choices->nelts, 4);
    assert_choice(&resp, 0, "a (a.example.com)",
                  "/oauth2/a/start?rd=%2Fapp%3Fx%3D1");
    assert_choice(&resp, 1, "b (b.example.com)",
                  "/oauth2/b/start?rd=%2Fapp%3Fx%3D1");
    assert_null(resp.cookies);
    assert_false(a.authenticated);
    assert_non_null(strstr(sf_log(), "OA2414: 2 providers for /oauth2: the "
                                     "sign-in page"));
    /* OAuth2Use b a: those, in that order */
    check(&f, f.site, use(&f, "b", "a", NULL), navigation(&f, NULL), &a, &resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.page->choices->nelts, 4);
    assert_choice(&resp, 0, "b (b.example.com)",
                  "/oauth2/b/start?rd=%2Fapp%3Fx%3D1");
    /* one: straight to it */
    check(&f, f.site, use(&f, "b", NULL), navigation(&f, NULL), &a, &resp);
    assert_int_equal(resp.status, 302);
    assert_int_equal(
        strncmp(resp.location, "https://b.example.com/authorize?", 32), 0);
    assert_non_null(strstr(resp.location, "redirect_uri=http%3A%2F%2Fapp."
                                          "example.com%2Foauth2%2Fb%2F"
                                          "callback"));
    assert_non_null(strstr(resp.location, "client_id=b-app"));
    /* a script is not shown a page: 401 as with one provider */
    check(&f, f.site, dir(&f),
          sf_request(&f, "GET", "/app", "Accept", "application/json", NULL), &a,
          &resp);
    assert_int_equal(resp.status, 401);
    assert_null(resp.page);
    sf_close(&f);
}

/* The remembered choice (OAuth2Cookie-provider) goes straight to that
 * provider when it is one of the place's; otherwise the page. */
static void test_access_choose_remembered(void **state)
{
    static const sf_opts_t o = { .named = "a b c", .hub = 1 };
    oauth2_response_t resp;
    oauth2_authn_t a;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    check(&f, f.site, dir(&f), navigation(&f, "x=1; oauth2_session-provider=b"),
          &a, &resp);
    assert_int_equal(resp.status, 302);
    assert_int_equal(
        strncmp(resp.location, "https://b.example.com/authorize?", 32), 0);
    check(&f, f.site, dir(&f), navigation(&f, "oauth2_session-provider=C"), &a,
          &resp);
    assert_int_equal(resp.status, 302);
    assert_int_equal(strncmp(resp.location, "https://c.example.com/", 22), 0);
    /* not among the place's: the page */
    check(&f, f.site, use(&f, "a", "c", NULL),
          navigation(&f, "oauth2_session-provider=b"), &a, &resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.page->kind, OAUTH2_PAGE_CHOOSE);
    assert_int_equal(resp.page->choices->nelts, 4);
    /* no such provider, a prefix of one, an empty value: the page */
    check(&f, f.site, dir(&f), navigation(&f, "oauth2_session-provider=d"), &a,
          &resp);
    assert_int_equal(resp.status, 200);
    check(&f, f.site, dir(&f), navigation(&f, "oauth2_session-provider=bb"), &a,
          &resp);
    assert_int_equal(resp.status, 200);
    check(&f, f.site, dir(&f), navigation(&f, "oauth2_session-provider="), &a,
          &resp);
    assert_int_equal(resp.status, 200);
    /* another cookie's name ending like it */
    check(&f, f.site, dir(&f), navigation(&f, "xoauth2_session-provider=b"), &a,
          &resp);
    assert_int_equal(resp.status, 200);
    sf_close(&f);
}

/* OAuth2Use naming a provider this host lacks (an .htaccess file's): 500
 * and OA2013, no login. */
static void test_access_use_absent(void **state)
{
    static const sf_opts_t o = { .named = "a" };
    oauth2_response_t resp;
    oauth2_authn_t a;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    check(&f, f.site, use(&f, "a", "nope", NULL), navigation(&f, NULL), &a,
          &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_STATUS);
    assert_int_equal(resp.status, 500);
    assert_null(resp.location);
    assert_false(a.authenticated);
    assert_non_null(strstr(sf_log(), "OA2013: OAuth2Use nope at /app, but "
                                     "this virtual host has no "
                                     "<OAuth2Provider nope>"));
    sf_close(&f);
}

/* A session is the user only at a place that uses its provider: B's
 * session at a place of A's is not looked at (the user is sent to A);
 * a->site says which provider made it. */
static void test_access_named_sessions(void **state)
{
    static const sf_opts_t o = { .named = "a b" };
    const oauth2_site_t *na, *nb;
    oauth2_response_t resp;
    oauth2_authn_t a;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    na = f.site->named[0];
    nb = f.site->named[1];
    session_of(&f, nb, CLAIMS);
    check(&f, f.site, use(&f, "a", NULL),
          navigation(&f, "oauth2_session_b=" SID), &a, &resp);
    assert_false(a.authenticated);
    assert_int_equal(resp.status, 302);
    assert_int_equal(
        strncmp(resp.location, "https://a.example.com/authorize?", 32), 0);
    /* at the host's own (no OAuth2Use: the host's provider) neither */
    check(&f, f.site, dir(&f), navigation(&f, "oauth2_session_b=" SID), &a,
          &resp);
    assert_false(a.authenticated);
    assert_int_equal(strncmp(resp.location, "https://op.example.com/", 23), 0);
    /* the same session under A's cookie name is not A's (its scope) */
    check(&f, f.site, use(&f, "a", NULL),
          navigation(&f, "oauth2_session_a=" SID), &a, &resp);
    assert_false(a.authenticated);
    /* at B's place, and at a place of both: the user, made by B */
    check(&f, f.site, use(&f, "b", NULL),
          navigation(&f, "oauth2_session_b=" SID), &a, &resp);
    assert_true(a.authenticated);
    assert_ptr_equal(a.site, nb);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_CONTINUE);
    assert_string_equal(resp.user, "alice");
    assert_string_equal(resp.groups_claim, "groups");
    /* another provider's cookies are not taken out for the backend */
    assert_null(resp.cookie_in);
    check(&f, f.site, use(&f, "a", "b", NULL),
          navigation(&f, "oauth2_session_b=" SID), &a, &resp);
    assert_true(a.authenticated);
    assert_ptr_equal(a.site, nb);
    /* A's session comes first at a place of both */
    session_of(&f, na, "{\"sub\":\"bob\"}");
    check(&f, f.site, use(&f, "b", "a", NULL),
          navigation(&f, "oauth2_session_a=" SID "; oauth2_session_b=" SID), &a,
          &resp);
    assert_ptr_equal(a.site, nb);
    assert_string_equal(resp.user, "alice");
    check(&f, f.site, use(&f, "a", "b", NULL),
          navigation(&f, "oauth2_session_a=" SID "; oauth2_session_b=" SID), &a,
          &resp);
    assert_ptr_equal(a.site, na);
    assert_string_equal(resp.user, "bob");
    /* the host's own session at its own place: a->site is the host's */
    session_of(&f, f.site, CLAIMS);
    check(&f, f.site, dir(&f), navigation(&f, "oauth2_session=" SID), &a,
          &resp);
    assert_true(a.authenticated);
    assert_ptr_equal(a.site, f.site);
    assert_string_equal(resp.cookie_in, "");
    sf_close(&f);
}

/* Require oauth2-provider: granted when the session's provider is
 * listed (any case); the host's own provider has no name. The rule is
 * decided on a->site, not the site the glue passes. */
static void test_access_authorize_provider(void **state)
{
    static const sf_opts_t o = { .named = "a b" };
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_request_t *r;
    oauth2_rule_t *ra, *rb2;
    apr_array_header_t *words;
    const char *err = NULL;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    ra = rule(&f, OAUTH2_RULE_PROVIDER, "A");
    words = apr_array_make(f.pool, 2, sizeof(char *));
    APR_ARRAY_PUSH(words, const char *) = "c";
    APR_ARRAY_PUSH(words, const char *) = "b";
    assert_int_equal(oauth2_authz_parse(f.pool, OAUTH2_RULE_PROVIDER, words,
                                        NULL, NULL, &rb2, &err),
                     APR_SUCCESS);
    session_of(&f, f.site->named[0], CLAIMS);
    r = navigation(&f, "oauth2_session_a=" SID);
    check(&f, f.site, use(&f, "a", "b", NULL), r, &a, &resp);
    assert_true(a.authenticated);
    memset(&resp, 0, sizeof(resp));
    sf_log_clear();
    assert_int_equal(
        oauth2_access_authorize(f.site, r, &a, "alice", ra, "A", &resp),
        OAUTH2_ACCESS_GRANTED);
    assert_int_equal(
        oauth2_access_authorize(f.site, r, &a, "alice", rb2, "c b", &resp),
        OAUTH2_ACCESS_DENIED);
    assert_non_null(strstr(sf_log(), "OA2301: user alice does not satisfy "
                                     "Require oauth2-provider c b: signed in "
                                     "with a"));
    assert_int_equal(a.refused_by, 1 + (int)OAUTH2_RULE_PROVIDER);
    /* b's session */
    session_of(&f, f.site->named[1], CLAIMS);
    r = navigation(&f, "oauth2_session_b=" SID);
    check(&f, f.site, use(&f, "b", NULL), r, &a, &resp);
    assert_true(a.authenticated);
    assert_int_equal(
        oauth2_access_authorize(f.site, r, &a, "alice", rb2, "c b", &resp),
        OAUTH2_ACCESS_GRANTED);
    assert_int_equal(
        oauth2_access_authorize(f.site, r, &a, "alice", ra, "A", &resp),
        OAUTH2_ACCESS_DENIED);
    /* the host's own provider never matches a name */
    session_of(&f, f.site, CLAIMS);
    r = navigation(&f, "oauth2_session=" SID);
    check(&f, f.site, dir(&f), r, &a, &resp);
    assert_true(a.authenticated);
    sf_log_clear();
    assert_int_equal(
        oauth2_access_authorize(f.site, r, &a, "alice", ra, "A", &resp),
        OAUTH2_ACCESS_DENIED);
    assert_non_null(strstr(sf_log(), "signed in with the host's own "
                                     "provider"));
    /* the group rules still work on a named provider's session */
    r = navigation(&f, "oauth2_session_b=" SID);
    check(&f, f.site, use(&f, "b", NULL), r, &a, &resp);
    assert_int_equal(oauth2_access_authorize(
                         f.site, r, &a, "alice",
                         rule(&f, OAUTH2_RULE_GROUP, "staff"), "staff", &resp),
                     OAUTH2_ACCESS_GRANTED);
    sf_close(&f);
}

/* The identity of a named provider's session names its groups claim, not
 * the host's. */
static void test_access_identity_named(void **state)
{
    static const sf_opts_t o = { .named = "a" };
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_session_t s;
    const char *rec;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    ((oauth2_cfg_t *)f.site->named[0]->cfg)->groups_claim = "roles";
    rec = sf_record(&f, CLAIMS, NULL, 0, &len);
    assert_int_equal(oauth2_session_decode(rec, len, &s), APR_SUCCESS);
    memset(&a, 0, sizeof(a));
    a.session = &s;
    a.site = f.site->named[0];
    oauth2_access_identity(f.site, dir(&f), &a, &resp);
    assert_string_equal(resp.groups_claim, "roles");
    a.site = NULL;
    oauth2_access_identity(f.site, dir(&f), &a, &resp);
    assert_string_equal(resp.groups_claim, "groups");
    /* and check says the same */
    session_of(&f, f.site->named[0], CLAIMS);
    check(&f, f.site, use(&f, "a", NULL),
          navigation(&f, "oauth2_session_a=" SID), &a, &resp);
    assert_true(a.authenticated);
    assert_string_equal(resp.groups_claim, "roles");
    sf_close(&f);
}

/* A subrequest or internal redirect inherits its parent's user only at a
 * place that logs in with the parent's provider (an ErrorDocument of a
 * place of a, at a place of b only, is not a's user). */
static void test_access_inherits(void **state)
{
    static const sf_opts_t one = { 0 }, own = { .named = "a b" },
                           hub = { .named = "a b", .hub = 1 };
    oauth2_authn_t a;
    sf_t f;

    (void)state;
    memset(&a, 0, sizeof(a));
    sf_open(&f, &one);
    assert_false(oauth2_access_inherits(f.site, dir(&f), &a));
    a.authenticated = 1;
    a.site = f.site;
    assert_true(oauth2_access_inherits(f.site, dir(&f), &a));
    sf_close(&f);

    sf_open(&f, &own);
    a.site = f.site->named[0];
    assert_true(oauth2_access_inherits(f.site, use(&f, "a", NULL), &a));
    assert_true(oauth2_access_inherits(f.site, use(&f, "b", "A", NULL), &a));
    assert_false(oauth2_access_inherits(f.site, use(&f, "b", NULL), &a));
    assert_false(oauth2_access_inherits(f.site, dir(&f), &a));
    a.site = f.site;
    assert_true(oauth2_access_inherits(f.site, dir(&f), &a));
    assert_false(oauth2_access_inherits(f.site, use(&f, "a", NULL), &a));
    a.site = NULL;
    assert_false(oauth2_access_inherits(f.site, use(&f, "nope", NULL), &a));
    sf_close(&f);

    sf_open(&f, &hub);
    a.site = f.site->named[1];
    assert_true(oauth2_access_inherits(f.site, dir(&f), &a));
    assert_false(oauth2_access_inherits(f.site, use(&f, "a", NULL), &a));
    a.site = f.site;
    assert_false(oauth2_access_inherits(f.site, dir(&f), &a));
    sf_close(&f);
}

/* A bearer token's user is inherited only at a place that takes tokens of
 * the audience and type rule it was accepted under: an ErrorDocument of
 * an API place of one audience, at a place of another or at a place that
 * takes no token, checks the request itself. */
static void test_access_inherits_bearer(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_dir_cfg_t *d, *other;
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *rec, *id = "bearer:api\ntok.en.x";
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    d = dir(&f);
    d->accept_bearer = 1;
    d->bearer_audience = "api";
    assert_int_equal(oauth2_site_key(f.site, id, strlen(id), key), APR_SUCCESS);
    rec = sf_record(&f, "{\"sub\":\"svc\"}", NULL, 0, &len);
    oauth2_store_put(f.store, f.pool, key, rec, len, LATER(60), NOW);
    check(
        &f, f.site, d,
        sf_request(&f, "GET", "/api", "Authorization", "Bearer tok.en.x", NULL),
        &a, &resp);
    assert_int_equal(resp.kind, OAUTH2_RESPONSE_CONTINUE);
    assert_true(a.bearer);
    assert_true(oauth2_access_inherits(f.site, d, &a));
    /* Another place of the same audience (its own merged configuration). */
    other = dir(&f);
    other->accept_bearer = 1;
    other->bearer_audience = apr_pstrdup(f.pool, "api");
    assert_true(oauth2_access_inherits(f.site, other, &a));
    other->bearer_audience = "apis";
    assert_false(oauth2_access_inherits(f.site, other, &a));
    other->bearer_audience = "ap";
    assert_false(oauth2_access_inherits(f.site, other, &a));
    other->bearer_audience = NULL;
    assert_false(oauth2_access_inherits(f.site, other, &a));
    other->bearer_audience = "api";
    other->bearer_untyped = 1;
    assert_false(oauth2_access_inherits(f.site, other, &a));
    other->bearer_untyped = 0;
    other->accept_bearer = 0;
    assert_false(oauth2_access_inherits(f.site, other, &a));
    assert_false(oauth2_access_inherits(f.site, dir(&f), &a));
    assert_false(oauth2_access_inherits(f.site, NULL, &a));
    /* A session's user is not bound to an audience. */
    a.bearer = 0;
    assert_true(oauth2_access_inherits(f.site, dir(&f), &a));
    sf_close(&f);
}

/* A bearer token of b: a place of a and b checks tokens against a only
 * (the first of its OAuth2Use), so a token b accepted is not its user,
 * though a session of b would be; "b a" and "b" are b's (finding I1). */
static void test_access_inherits_bearer_provider(void **state)
{
    static const sf_opts_t own = { .named = "a b" },
                           hub = { .named = "a b", .hub = 1 };
    oauth2_authn_t a;
    sf_t f;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.authenticated = a.bearer = 1;
    a.audience = "api";
    sf_open(&f, &own);
    a.site = f.site->named[1];
    assert_true(oauth2_access_inherits(f.site, api_of(use(&f, "b", NULL)), &a));
    assert_true(
        oauth2_access_inherits(f.site, api_of(use(&f, "B", "a", NULL)), &a));
    assert_false(
        oauth2_access_inherits(f.site, api_of(use(&f, "a", "b", NULL)), &a));
    assert_false(oauth2_access_inherits(f.site, api_of(dir(&f)), &a));
    a.bearer = 0; /* a session of b */
    assert_true(
        oauth2_access_inherits(f.site, api_of(use(&f, "a", "b", NULL)), &a));
    a.bearer = 1;
    a.site = f.site; /* the host's own: a place without OAuth2Use */
    assert_true(oauth2_access_inherits(f.site, api_of(dir(&f)), &a));
    assert_false(
        oauth2_access_inherits(f.site, api_of(use(&f, "a", NULL)), &a));
    sf_close(&f);

    sf_open(&f, &hub); /* no provider of its own: a place checks with a */
    a.site = f.site->named[1];
    assert_false(oauth2_access_inherits(f.site, api_of(dir(&f)), &a));
    a.site = f.site->named[0];
    assert_true(oauth2_access_inherits(f.site, api_of(dir(&f)), &a));
    a.site = NULL;
    assert_false(
        oauth2_access_inherits(f.site, api_of(use(&f, "nope", NULL)), &a));
    sf_close(&f);
}

/* oauth2_access_choose: the host's own provider is listed by its service
 * name; no return URL returns to "/". */
static void test_access_choose(void **state)
{
    static const sf_opts_t o = { .named = "a" };
    const oauth2_site_t *all[2];
    oauth2_response_t resp;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    all[0] = f.site;
    all[1] = f.site->named[0];
    memset(&resp, 0, sizeof(resp));
    oauth2_access_choose(f.site, all, 2, sf_request(&f, "GET", "/", NULL), NULL,
                         &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.page->reason, "choose");
    assert_choice(&resp, 0, "op.example.com", "/oauth2/start?rd=%2F");
    assert_choice(&resp, 1, "a (a.example.com)", "/oauth2/a/start?rd=%2F");
    sf_close(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_access_no_provider),
        T(test_access_session),
        T(test_access_unauth_auto),
        T(test_access_unauth_actions),
        T(test_access_store_down),
        T(test_access_bearer),
        T(test_access_bearer_verified_and_cached),
        T(test_access_bearer_kept_connection),
        T(test_access_nested_own_memo),
        T(test_access_login_prunes_states),
        T(test_access_provider_down),
        T(test_access_authorize),
        T(test_access_pages_and_identity),
        T(test_access_choose_page),
        T(test_access_choose_remembered),
        T(test_access_use_absent),
        T(test_access_named_sessions),
        T(test_access_authorize_provider),
        T(test_access_identity_named),
        T(test_access_choose),
        T(test_access_inherits),
        T(test_access_inherits_bearer),
        T(test_access_inherits_bearer_provider),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
