/*
 * test_sessions.c: unit tests for src/sessions.c, the life of a session
 * on requests, on a real shm store (and a store of another kind, as a
 * socache one is): create (a new id, the cookie, the record), find (the
 * cookie's shape, duplicates, the memo of a keep-alive connection, both
 * expiries, the sliding expiry written only when due, a malformed record,
 * a failing store), remove, save, cookie sessions, refresh (one at a
 * time: the token endpoint of a loopback provider, its failure ending the
 * session, a refresh another process runs), back-channel logout, the
 * rate-limited store report.
 */
#include "sessions.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "base64url.h"
#include "conn.h"
#include "crypto.h"
#include "errors.h"
#include "fake_server.h"
#include "site_fixture.h"

#define NOW      SF_NOW
#define LATER(s) (NOW + apr_time_from_sec(s))
#define CLAIMS                                                    \
    "{\"sub\":\"alice\",\"email\":\"alice@example.com\",\"sid\":" \
    "\"s-1\",\"groups\":[\"staff\",\"ops\"]}"

/* A login's result for claims, with tokens. */
static oauth2_login_result_t *result(sf_t *f, const char *claims,
                                     apr_time_t access_expires)
{
    oauth2_login_result_t *res = apr_pcalloc(f->pool, sizeof(*res));
    const char *err = NULL;

    assert_int_equal(oauth2_claims_parse(f->pool, claims, strlen(claims),
                                         1 << 20, &res->claims, &err),
                     APR_SUCCESS);
    res->access_token = "at-1";
    res->refresh_token = "rt-1";
    res->access_expires = access_expires;
    return res;
}

/* Logs a user in: the Cookie header a browser sends afterwards. */
static const char *create(sf_t *f, const char *claims,
                          apr_time_t access_expires)
{
    oauth2_response_t resp;
    const char *user = NULL, *err = NULL;

    memset(&resp, 0, sizeof(resp));
    assert_int_equal(oauth2_sessions_create(
                         f->site, sf_request(f, "GET", "/cb", NULL),
                         result(f, claims, access_expires), &resp, &user, &err),
                     APR_SUCCESS);
    assert_string_equal(user, "alice");
    return sf_cookie_header(f->pool, &resp);
}

/* Finds the session of cookie at now on connection c (may be NULL). */
static apr_status_t find(sf_t *f, const char *cookie, apr_time_t now,
                         oauth2_conn_t *c, oauth2_authn_t *a,
                         oauth2_response_t *resp)
{
    oauth2_request_t *r = sf_request(f, "GET", "/app", "Cookie", cookie, NULL);

    r->now = now;
    r->conn = c;
    memset(a, 0, sizeof(*a));
    memset(resp, 0, sizeof(*resp));
    return oauth2_sessions_find(f->site, r, 0, a, NULL, resp);
}

static void test_sessions_create_and_find(void **state)
{
    oauth2_response_t resp;
    oauth2_sessions_found_t found;
    oauth2_request_t *r;
    oauth2_authn_t a;
    const char *cookie;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    cookie = create(&f, CLAIMS, 0);
    /* "oauth2_session=" and 43 base64url characters. */
    assert_int_equal(strlen(cookie), 15 + OAUTH2_SESSION_ID_CHARS);
    r = sf_request(&f, "GET", "/app", "Cookie",
                   apr_pstrcat(f.pool, "a=1; ", cookie, "; b=2", NULL), NULL);
    memset(&a, 0, sizeof(a));
    memset(&resp, 0, sizeof(resp));
    assert_int_equal(oauth2_sessions_find(f.site, r, 0, &a, &found, &resp),
                     APR_SUCCESS);
    assert_true(a.authenticated);
    assert_string_equal(a.session->f[OAUTH2_SF_USER], "alice");
    assert_string_equal(a.session->f[OAUTH2_SF_EMAIL], "alice@example.com");
    assert_string_equal(a.session->f[OAUTH2_SF_GROUPS_HEADER], "staff,ops");
    assert_int_equal(a.expires, LATER(3600));
    assert_int_equal(found.cookies.n, 1);
    assert_ptr_equal(found.cookies.header, oauth2_request_header(r, "Cookie"));
    assert_null(resp.cookies); /* nothing written */
    /* Each login is a new session. */
    assert_string_not_equal(create(&f, CLAIMS, 0), cookie);
    sf_close(&f);
}

/* What is no session, and what the log says of it. */
static void test_sessions_not_found(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_int_equal(find(&f, NULL, NOW, NULL, &a, &resp), OAUTH2_ENOTFOUND);
    assert_int_equal(find(&f, "other=1", NOW, NULL, &a, &resp),
                     OAUTH2_ENOTFOUND);
    assert_string_equal(sf_log(), "");
    /* A junk value never reaches the hash; a well-shaped unknown one
     * does; both are logged. */
    assert_int_equal(find(&f, "oauth2_session=short", NOW, NULL, &a, &resp),
                     OAUTH2_ENOTFOUND);
    assert_non_null(strstr(sf_log(), "OA2104: session cookie present but no "
                                     "valid session"));
    assert_int_equal(
        find(&f, "oauth2_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
             NOW, NULL, &a, &resp),
        OAUTH2_ENOTFOUND);
    assert_false(a.authenticated);
    sf_close(&f);
}

/* Duplicates (another path, a parent domain): the first that names a live
 * session wins. */
static void test_sessions_duplicates(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *cookie;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    cookie = create(&f, CLAIMS, 0);
    assert_int_equal(
        find(&f,
             apr_pstrcat(f.pool,
                         "oauth2_session=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
                         "BBBBB; oauth2_session=x; ",
                         cookie, NULL),
             NOW, NULL, &a, &resp),
        APR_SUCCESS);
    assert_string_equal(a.session->f[OAUTH2_SF_USER], "alice");
    /* Four are tried: a fifth copy is not. */
    assert_int_equal(find(&f,
                          apr_pstrcat(f.pool,
                                      "oauth2_session=a; "
                                      "oauth2_session=b; "
                                      "oauth2_session=c; "
                                      "oauth2_session=d; ",
                                      cookie, NULL),
                          NOW, NULL, &a, &resp),
                     OAUTH2_ENOTFOUND);
    sf_close(&f);
}

/* On a keep-alive connection the same session again is the memo's copy;
 * a logout seen elsewhere ends it there too. */
static void test_sessions_memo(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_conn_t *c;
    const oauth2_session_t *first;
    const char *cookie;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_true(f.site->memo);
    assert_int_equal(oauth2_conn_create(f.pool, &c), APR_SUCCESS);
    cookie = create(&f, CLAIMS, 0);
    assert_int_equal(find(&f, cookie, NOW, c, &a, &resp), APR_SUCCESS);
    first = a.session;
    assert_ptr_equal(first, &c->session);
    assert_int_equal(find(&f, cookie, LATER(1), c, &a, &resp), APR_SUCCESS);
    assert_ptr_equal(a.session, first);
    oauth2_sessions_remove(f.site, sf_request(&f, "GET", "/logout", NULL), &a,
                           &resp);
    assert_int_equal(find(&f, cookie, LATER(2), c, &a, &resp),
                     OAUTH2_ENOTFOUND);
    assert_false(c->valid);
    sf_close(&f);
}

/* The inactivity timeout slides, written back only when a tenth of it
 * has passed; the max age does not; past either there is no session. */
static void test_sessions_expiry(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *cookie;
    sf_t f;
    sf_opts_t o = { 0, NULL, 1000, 3000, 0, 0, NULL, 0 };

    (void)state;
    sf_open(&f, &o);
    cookie = create(&f, CLAIMS, 0);
    assert_int_equal(find(&f, cookie, LATER(50), NULL, &a, &resp), APR_SUCCESS);
    assert_int_equal(a.expires, LATER(1000)); /* not due */
    assert_int_equal(find(&f, cookie, LATER(150), NULL, &a, &resp),
                     APR_SUCCESS);
    assert_int_equal(a.expires, LATER(1150)); /* moved */
    assert_int_equal(find(&f, cookie, LATER(1100), NULL, &a, &resp),
                     APR_SUCCESS);
    assert_int_equal(a.expires, LATER(2100));
    assert_int_equal(find(&f, cookie, LATER(2050), NULL, &a, &resp),
                     APR_SUCCESS);
    assert_int_equal(a.expires, LATER(3000)); /* capped by the max age */
    assert_int_equal(find(&f, cookie, LATER(3000), NULL, &a, &resp),
                     OAUTH2_ENOTFOUND);
    sf_close(&f);

    /* A record the store would keep longer than the session's max age
     * (written with a late expiry): the max age ends it, and the record
     * goes. */
    sf_open(&f, NULL);
    {
        unsigned char key[OAUTH2_STORE_KEY_LEN];
        static const char id[] = "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE";
        oauth2_store_meta_t meta;
        const char *rec;
        char *back;
        apr_size_t len;

        rec = sf_record(&f, CLAIMS, NULL, 0, &len); /* max age 8 h */
        assert_int_equal(oauth2_site_key(f.site, id, 43, key), APR_SUCCESS);
        oauth2_store_put(f.store, f.pool, key, rec, len, LATER(40000), NOW);
        cookie = apr_pstrcat(f.pool, "oauth2_session=", id, NULL);
        assert_int_equal(find(&f, cookie, LATER(28799), NULL, &a, &resp),
                         APR_SUCCESS);
        assert_int_equal(find(&f, cookie, LATER(28800), NULL, &a, &resp),
                         OAUTH2_ENOTFOUND);
        assert_int_equal(oauth2_store_get(f.store, f.pool, key, LATER(28800),
                                          &back, &len, &meta),
                         OAUTH2_ENOTFOUND);
    }
    sf_close(&f);

    /* Idle longer than the timeout: gone. */
    sf_open(&f, &o);
    cookie = create(&f, CLAIMS, 0);
    assert_int_equal(find(&f, cookie, LATER(1000), NULL, &a, &resp),
                     OAUTH2_ENOTFOUND);
    sf_close(&f);
}

/* A malformed record is logged and is no session; a failing store is
 * not "no session". */
static void test_sessions_bad_record_and_store(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    static const char id[] = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_int_equal(oauth2_site_key(f.site, id, 43, key), APR_SUCCESS);
    oauth2_store_put(f.store, f.pool, key, "junk", 4, LATER(60), NOW);
    assert_int_equal(find(&f, apr_pstrcat(f.pool, "oauth2_session=", id, NULL),
                          NOW, NULL, &a, &resp),
                     OAUTH2_ENOTFOUND);
    assert_non_null(strstr(sf_log(), "OA2103: a session record in the store "
                                     "is malformed"));
    /* A store of another kind that fails. */
    f.site->store = sf_mem_store(&f, NULL);
    f.site->memo = 0;
    sf_mem_fail(OAUTH2_ESTORE);
    assert_int_equal(find(&f, apr_pstrcat(f.pool, "oauth2_session=", id, NULL),
                          NOW, NULL, &a, &resp),
                     OAUTH2_ESTORE);
    sf_mem_fail(APR_SUCCESS);
    sf_close(&f);
}

/* A store that cannot check a copy (socache): every request reads, and
 * its records are sealed. */
static void test_sessions_other_store(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_conn_t *c;
    const char *cookie;
    const char *err = NULL;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_int_equal(oauth2_site_set_store(f.site, f.pool,
                                           sf_mem_store(&f, f.site->seal_store),
                                           &err),
                     APR_SUCCESS);
    assert_false(f.site->memo);
    assert_int_equal(oauth2_conn_create(f.pool, &c), APR_SUCCESS);
    cookie = create(&f, CLAIMS, 0);
    assert_int_equal(find(&f, cookie, NOW, c, &a, &resp), APR_SUCCESS);
    assert_string_equal(a.session->f[OAUTH2_SF_USER], "alice");
    assert_false(c->valid);
    assert_int_equal(find(&f, cookie, LATER(500), c, &a, &resp), APR_SUCCESS);
    assert_int_equal(a.expires, LATER(4100)); /* touched */
    sf_close(&f);
}

static void test_sessions_remove_and_save(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_session_t *changed;
    oauth2_request_t *r;
    const char *cookie, *err = NULL;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    cookie = create(&f, CLAIMS, 0);
    assert_int_equal(find(&f, cookie, NOW, NULL, &a, &resp), APR_SUCCESS);
    changed = oauth2_session_with_tokens(f.pool, a.session, "at-2", "rt-2",
                                         NULL, LATER(99));
    r = sf_request(&f, "GET", "/", NULL);
    assert_int_equal(oauth2_sessions_save(f.site, r, &a, changed, &resp, &err),
                     APR_SUCCESS);
    assert_int_equal(a.session->access_expires, LATER(99));
    assert_int_equal(find(&f, cookie, NOW, NULL, &a, &resp), APR_SUCCESS);
    assert_int_equal(a.session->access_expires, LATER(99));
    oauth2_sessions_remove(f.site, r, &a, &resp);
    assert_non_null(strstr(sf_set_cookie(&resp, "oauth2_session"),
                           "oauth2_session=; Path=/"));
    assert_int_equal(find(&f, cookie, NOW, NULL, &a, &resp), OAUTH2_ENOTFOUND);
    sf_close(&f);
}

static void test_sessions_create_refusals(void **state)
{
    oauth2_response_t resp;
    const char *user = NULL, *err = NULL;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    memset(&resp, 0, sizeof(resp));
    assert_int_equal(
        oauth2_sessions_create(f.site, sf_request(&f, "GET", "/", NULL),
                               result(&f, "{\"email\":\"x@y\"}", 0), &resp,
                               &user, &err),
        OAUTH2_EMISMATCH);
    assert_null(resp.cookies);
    f.site->store = sf_mem_store(&f, NULL);
    sf_mem_fail(APR_EGENERAL);
    assert_int_equal(
        oauth2_sessions_create(f.site, sf_request(&f, "GET", "/", NULL),
                               result(&f, CLAIMS, 0), &resp, &user, &err),
        OAUTH2_ESTORE);
    assert_string_equal(err, "the session store failed");
    assert_null(resp.cookies);
    sf_mem_fail(APR_SUCCESS);
    sf_close(&f);
}

/* Cookie sessions: the record travels in the cookie, the slide writes a
 * new one, the removal expires it. */
static void test_sessions_cookie_store(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *cookie;
    sf_t f;
    sf_opts_t o = { 1, NULL, 1000, 0, 0, 0, NULL, 0 };

    (void)state;
    sf_open(&f, &o);
    cookie = create(&f, CLAIMS, 0);
    assert_true(strlen(cookie) > 100);
    assert_int_equal(find(&f, cookie, LATER(10), NULL, &a, &resp), APR_SUCCESS);
    assert_null(resp.cookies);
    assert_int_equal(find(&f, cookie, LATER(200), NULL, &a, &resp),
                     APR_SUCCESS);
    assert_non_null(sf_set_cookie(&resp, "oauth2_session"));
    assert_int_equal(a.expires, LATER(1200));
    assert_int_equal(find(&f, "oauth2_session=forged", NOW, NULL, &a, &resp),
                     OAUTH2_ENOTFOUND);
    assert_non_null(strstr(sf_log(), "OA2104"));
    /* Back-channel logout of a cookie session: a marker. */
    {
        int n = -1;

        assert_int_equal(
            oauth2_sessions_logout_by(f.site, sf_request(&f, "POST", "/", NULL),
                                      "s-1", NULL, &n),
            APR_SUCCESS);
        assert_int_equal(n, 0);
    }
    assert_int_equal(find(&f, cookie, LATER(10), NULL, &a, &resp),
                     OAUTH2_ENOTFOUND);
    sf_close(&f);
}

/* A back-channel logout of sid or sub that must succeed: how many
 * sessions it ended. */
static int logout_by(sf_t *f, const char *sid, const char *sub)
{
    int n = -1;

    assert_int_equal(oauth2_sessions_logout_by(f->site,
                                               sf_request(f, "POST", "/", NULL),
                                               sid, sub, &n),
                     APR_SUCCESS);
    return n;
}

/* Back-channel logout in a store: every session of the sid. */
static void test_sessions_logout_by(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *one, *two;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    /* Indexed when the provider sends logout tokens (its discovery says
     * so): here, its fixed endpoints say nothing. */
    one = create(&f, CLAIMS, 0);
    assert_int_equal(logout_by(&f, "s-1", NULL), 0);
    assert_int_equal(find(&f, one, NOW, NULL, &a, &resp), APR_SUCCESS);
    assert_int_equal(logout_by(&f, NULL, NULL), 0);
    two = create(&f, CLAIMS, 0);
    assert_string_not_equal(one, two);
    sf_close(&f);
}

/* A provider that ends sessions by sid (its discovery document, extra,
 * says so): every session is indexed, and a logout ends all of a sid's. */
static void logout_by_indexed(const char *extra)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *one, *two, *other;
    apr_pool_t *p;
    fs_t fs;
    sf_t f;
    sf_opts_t o = { 0, NULL, 0, 0, 0, 1, NULL, 0 };

    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    memset(&fs, 0, sizeof(fs));
    sf_oidc_routes(&fs, p, extra);
    fs_start(&fs);
    o.base = fs.base;
    sf_open(&f, &o);
    one = create(&f, CLAIMS, 0);
    two = create(&f, CLAIMS, 0);
    other = create(&f, "{\"sub\":\"alice\",\"sid\":\"s-9\"}", 0);
    assert_int_equal(logout_by(&f, "s-1", NULL), 2);
    assert_int_equal(find(&f, one, NOW, NULL, &a, &resp), OAUTH2_ENOTFOUND);
    assert_int_equal(find(&f, two, NOW, NULL, &a, &resp), OAUTH2_ENOTFOUND);
    assert_int_equal(find(&f, other, NOW, NULL, &a, &resp), APR_SUCCESS);
    assert_int_equal(logout_by(&f, NULL, "alice"),
                     1); /* the two others ended already */
    assert_int_equal(find(&f, other, NOW, NULL, &a, &resp), OAUTH2_ENOTFOUND);
    sf_close(&f);
    fs_stop(&fs);
    apr_pool_destroy(p);
}

/* Back-channel logout (Back-Channel Logout 1.0 §2.1). */
static void test_sessions_logout_by_indexed(void **state)
{
    (void)state;
    logout_by_indexed(",\"backchannel_logout_supported\":true");
}

/* Front-channel logout only, as LemonLDAP::NG (Front-Channel Logout 1.0
 * §3): indexed too. */
static void test_sessions_logout_by_frontchannel(void **state)
{
    (void)state;
    logout_by_indexed(",\"backchannel_logout_supported\":false,"
                      "\"frontchannel_logout_supported\":true");
}

/* Far more sessions than the table holds: evictions, reported once. */
static void test_sessions_report(void **state)
{
    int i;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    for (i = 0; i < 700; i++) {
        create(&f, CLAIMS, 0);
    }
    assert_non_null(strstr(sf_log(), "OA2130: the session table is full"));
    assert_non_null(strstr(sf_log(), "shm:256"));
    sf_log_clear();
    create(&f, CLAIMS, 0);
    /* Once a minute (the debug lines of the login are there). */
    assert_null(strstr(sf_log(), "OA2130"));
    sf_close(&f);
}

/* ---- refresh, against a loopback token endpoint ---- */

static const char *const TOKENS =
    "{\"access_token\":\"at-2\",\"token_type\":\"Bearer\","
    "\"expires_in\":3600,\"refresh_token\":\"rt-2\"}";

static apr_status_t refresh(sf_t *f, const char *cookie, oauth2_authn_t *a,
                            oauth2_response_t *resp)
{
    oauth2_request_t *r = sf_request(f, "GET", "/app", "Cookie", cookie, NULL);

    memset(a, 0, sizeof(*a));
    memset(resp, 0, sizeof(*resp));
    assert_int_equal(oauth2_sessions_find(f->site, r, 1, a, NULL, resp),
                     APR_SUCCESS);
    return oauth2_sessions_refresh(f->site, r, a, resp);
}

static void test_sessions_refresh(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *cookie;
    fs_t fs;
    sf_t f;
    sf_opts_t o = { 0, NULL, 0, 0, 0, 0, NULL, 0 };

    (void)state;
    memset(&fs, 0, sizeof(fs));
    fs_route(&fs, "POST", "/token", 200, NULL, TOKENS);
    fs_start(&fs);
    o.base = fs.base;
    sf_open(&f, &o);
    /* Fresh: nothing asked. */
    cookie = create(&f, CLAIMS, LATER(600));
    assert_int_equal(refresh(&f, cookie, &a, &resp), APR_SUCCESS);
    assert_int_equal(fs_count(f.pool, &fs, "/token"), 0);
    /* Expired (with the margin): refreshed once, written back. */
    cookie = create(&f, CLAIMS, LATER(1));
    assert_int_equal(refresh(&f, cookie, &a, &resp), APR_SUCCESS);
    assert_int_equal(fs_count(f.pool, &fs, "/token"), 1);
    assert_string_equal(a.session->f[OAUTH2_SF_ACCESS_TOKEN], "at-2");
    assert_non_null(strstr(sf_log(), "OA2121: access token of alice "
                                     "refreshed"));
    assert_non_null(strstr(fs_log(f.pool, &fs),
                           "grant_type=refresh_token&refresh_token=rt-1"));
    /* The debug line names the tokens that came back, never a value. */
    assert_non_null(strstr(sf_log(), "OA2403: token endpoint "));
    assert_non_null(strstr(sf_log(), "(refresh token): access_token (expires "
                                     "in 3600 s), refresh_token"));
    assert_null(strstr(sf_log(), "at-2"));
    assert_null(strstr(sf_log(), "rt-"));
    assert_int_equal(refresh(&f, cookie, &a, &resp), APR_SUCCESS);
    assert_string_equal(a.session->f[OAUTH2_SF_ACCESS_TOKEN], "at-2");
    assert_int_equal(fs_count(f.pool, &fs, "/token"), 1);
    sf_close(&f);
    fs_stop(&fs);
}

static void test_sessions_refresh_fails(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *cookie;
    fs_t fs;
    sf_t f;
    sf_opts_t o = { 0, NULL, 0, 0, 0, 0, NULL, 0 };

    (void)state;
    memset(&fs, 0, sizeof(fs));
    fs_route(&fs, "POST", "/token", 400, NULL, "{\"error\":\"invalid_grant\"}");
    fs_start(&fs);
    o.base = fs.base;
    sf_open(&f, &o);
    cookie = create(&f, CLAIMS, LATER(1));
    assert_int_equal(refresh(&f, cookie, &a, &resp), OAUTH2_ENOTFOUND);
    assert_non_null(strstr(sf_log(), "OA2120: refreshing the access token "
                                     "failed, session ended"));
    assert_non_null(
        strstr(sf_set_cookie(&resp, "oauth2_session"), "Max-Age=0"));
    memset(&a, 0, sizeof(a));
    assert_int_equal(
        oauth2_sessions_find(f.site,
                             sf_request(&f, "GET", "/", "Cookie", cookie, NULL),
                             1, &a, NULL, &resp),
        OAUTH2_ENOTFOUND);
    sf_close(&f);
    fs_stop(&fs);
}

/* No refresh token: the session ends (OA2122). */
static void test_sessions_refresh_without_token(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_login_result_t *res;
    oauth2_request_t *r;
    const char *user, *err, *cookie;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    res = result(&f, CLAIMS, LATER(1));
    res->refresh_token = NULL;
    memset(&resp, 0, sizeof(resp));
    assert_int_equal(oauth2_sessions_create(f.site,
                                            sf_request(&f, "GET", "/", NULL),
                                            res, &resp, &user, &err),
                     APR_SUCCESS);
    cookie = sf_cookie_header(f.pool, &resp);
    r = sf_request(&f, "GET", "/", "Cookie", cookie, NULL);
    memset(&a, 0, sizeof(a));
    assert_int_equal(oauth2_sessions_find(f.site, r, 1, &a, NULL, &resp),
                     APR_SUCCESS);
    assert_int_equal(oauth2_sessions_refresh(f.site, r, &a, &resp),
                     OAUTH2_ENOTFOUND);
    assert_non_null(strstr(sf_log(), "OA2122: access token expired and no "
                                     "refresh token"));
    sf_close(&f);
}

/* Another process holds the refresh: this request waits for its result
 * (the record changes) instead of asking the provider too. */
static void test_sessions_refresh_waits(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    oauth2_request_t *r;
    unsigned char lkey[OAUTH2_STORE_KEY_LEN];
    const char *cookie, *id, *rec;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    cookie = create(&f, CLAIMS, LATER(1));
    r = sf_request(&f, "GET", "/", "Cookie", cookie, NULL);
    memset(&a, 0, sizeof(a));
    memset(&resp, 0, sizeof(resp));
    assert_int_equal(oauth2_sessions_find(f.site, r, 1, &a, NULL, &resp),
                     APR_SUCCESS);
    id = apr_pstrcat(f.pool, "refresh:",
                     oauth2_base64url_encode(f.pool, a.key, sizeof(a.key)),
                     NULL);
    assert_int_equal(oauth2_site_key(f.site, id, strlen(id), lkey),
                     APR_SUCCESS);
    assert_int_equal(oauth2_store_add(f.store, f.pool, lkey, LATER(30), NOW),
                     APR_SUCCESS);
    /* The other process's result, already in the store. */
    rec = sf_record(&f, CLAIMS, "at-other", LATER(3600), &len);
    assert_int_equal(
        oauth2_store_put(f.store, f.pool, a.key, rec, len, LATER(3600), NOW),
        APR_SUCCESS);
    assert_int_equal(oauth2_sessions_refresh(f.site, r, &a, &resp),
                     APR_SUCCESS);
    assert_string_equal(a.session->f[OAUTH2_SF_ACCESS_TOKEN], "at-other");
    sf_close(&f);
}

/* Rules resolved on first use need a session: a bearer token's user has
 * none. */
static void test_sessions_resolve_bearer(void **state)
{
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *err = NULL;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    memset(&a, 0, sizeof(a));
    memset(&resp, 0, sizeof(resp));
    a.bearer = 1;
    assert_int_equal(oauth2_sessions_resolve(f.site,
                                             sf_request(&f, "GET", "/", NULL),
                                             &a, NULL, &resp, &err),
                     OAUTH2_ECONFIG);
    assert_non_null(strstr(err, "bearer token"));
    sf_close(&f);
}

/* A session of claims whose login brought an ID token of n characters,
 * created and found again: the session a request gets. */
static const oauth2_session_t *with_id_token(sf_t *f, apr_size_t n)
{
    oauth2_login_result_t *res = result(f, CLAIMS, 0);
    oauth2_response_t resp;
    oauth2_authn_t a;
    const char *user = NULL, *err = NULL, *cookie;
    char *id = apr_palloc(f->pool, n + 1);

    memset(id, 'i', n);
    id[n] = '\0';
    res->id_token = id;
    memset(&resp, 0, sizeof(resp));
    assert_int_equal(oauth2_sessions_create(f->site,
                                            sf_request(f, "GET", "/cb", NULL),
                                            res, &resp, &user, &err),
                     APR_SUCCESS);
    cookie = sf_cookie_header(f->pool, &resp);
    /* one cookie, never a chunk */
    assert_null(strstr(cookie, "oauth2_session_1"));
    memset(&a, 0, sizeof(a));
    memset(&resp, 0, sizeof(resp));
    /* with the tokens (a store's find copies the hot part only) */
    assert_int_equal(oauth2_sessions_find(
                         f->site,
                         sf_request(f, "GET", "/app", "Cookie", cookie, NULL),
                         1, &a, NULL, &resp),
                     APR_SUCCESS);
    return a.session;
}

/* The ID token is kept while the cookie session fits in one cookie with
 * it; else left out (OA2141, NO_ID_TOKEN: logout names the client). A
 * store's record past 64 KiB goes without it too. */
static void test_sessions_id_token_left_out(void **state)
{
    const oauth2_session_t *s;
    sf_t f;
    sf_opts_t cookie = { 1, "http://127.0.0.1:9", 1000, 0, 0, 0, NULL, 0 };
    sf_opts_t shm = { 0, "http://127.0.0.1:9", 1000, 0, 0, 0, NULL, 0 };

    (void)state;
    sf_open(&f, &cookie);
    s = with_id_token(&f, 1000);
    assert_int_equal(s->len[OAUTH2_SF_ID_TOKEN], 1000);
    assert_false(s->flags & OAUTH2_SESSION_NO_ID_TOKEN);
    assert_null(strstr(sf_log(), "OA2141"));
    s = with_id_token(&f, 3000);
    assert_int_equal(s->len[OAUTH2_SF_ID_TOKEN], 0);
    assert_true(s->flags & OAUTH2_SESSION_NO_ID_TOKEN);
    assert_non_null(strstr(sf_log(), "OA2141: the cookie session of alice "
                                     "leaves its ID token out (the session "
                                     "needs more than 1 cookie of 3800"));
    assert_string_equal(s->f[OAUTH2_SF_USER], "alice");
    sf_close(&f);

    sf_log_clear();
    sf_open(&f, &shm);
    s = with_id_token(&f, 3000);
    assert_int_equal(s->len[OAUTH2_SF_ID_TOKEN], 3000);
    assert_null(strstr(sf_log(), "OA2141"));
    s = with_id_token(&f, OAUTH2_MAX_SESSION_RECORD);
    assert_int_equal(s->len[OAUTH2_SF_ID_TOKEN], 0);
    assert_true(s->flags & OAUTH2_SESSION_NO_ID_TOKEN);
    assert_non_null(strstr(sf_log(), "OA2141: the session of alice leaves "
                                     "its ID token out"));
    sf_close(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_sessions_create_and_find),
        T(test_sessions_not_found),
        T(test_sessions_duplicates),
        T(test_sessions_memo),
        T(test_sessions_expiry),
        T(test_sessions_bad_record_and_store),
        T(test_sessions_other_store),
        T(test_sessions_remove_and_save),
        T(test_sessions_create_refusals),
        T(test_sessions_cookie_store),
        T(test_sessions_id_token_left_out),
        T(test_sessions_logout_by),
        T(test_sessions_logout_by_indexed),
        T(test_sessions_logout_by_frontchannel),
        T(test_sessions_report),
        T(test_sessions_refresh),
        T(test_sessions_refresh_fails),
        T(test_sessions_refresh_without_token),
        T(test_sessions_refresh_waits),
        T(test_sessions_resolve_bearer),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
