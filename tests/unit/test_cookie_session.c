/*
 * test_cookie_session.c: unit tests for src/cookie_session.c, sessions
 * kept in the browser: a record sealed into the session cookie, or split
 * into chunks ("<name>=~N", "<name>_1".."<name>_N") when larger; opened
 * back only whole, untampered, unexpired, under this site's scope; left-
 * over chunks of a larger session expired; more than 16 chunks refused;
 * revocation markers of back-channel logout (by sid; by sub for sessions
 * made before it) on a real shm store.
 */
#include "cookie_session.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "crypto.h"
#include "errors.h"
#include "site_fixture.h"
#include "store.h"

#define NOW      SF_NOW
#define LATER(s) (NOW + apr_time_from_sec(s))
#define CLAIMS   "{\"sub\":\"alice\",\"sid\":\"s-1\"}"

static sf_opts_t cookie_opts = { 1, NULL, 0, 0, 0, 0 };

/* Opens what a browser would send back after resp, at now. */
static apr_status_t reopen(sf_t *f, const oauth2_response_t *resp,
                           apr_time_t now, oauth2_session_t *s,
                           apr_time_t *expires)
{
    oauth2_request_t *r = sf_request(f, "GET", "/", "Cookie",
                                     sf_cookie_header(f->pool, resp), NULL);
    const char *rec;
    apr_size_t len;

    r->now = now;
    return oauth2_cookie_session_open(
        f->site, r, oauth2_request_header(r, "Cookie"), s, &rec, &len, expires);
}

/* Claims of n characters in all (values are capped at 8 KiB each). */
static const char *claims_of(sf_t *f, apr_size_t n)
{
    char *v = apr_palloc(f->pool, 4001);
    const char *out = "{\"sub\":\"alice\"";
    apr_size_t i;

    memset(v, 'x', 4000);
    v[4000] = '\0';
    for (i = 0; i * 4000 < n; i++) {
        out = apr_psprintf(f->pool, "%s,\"c%d\":\"%s\"", out, (int)i, v);
    }
    return apr_pstrcat(f->pool, out, "}", NULL);
}

static void test_cookie_session_one_cookie(void **state)
{
    oauth2_response_t resp;
    oauth2_session_t s;
    apr_time_t exp = 0;
    const char *rec, *c, *err = NULL;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    memset(&resp, 0, sizeof(resp));
    rec = sf_record(&f, CLAIMS, NULL, 0, &len);
    assert_int_equal(
        oauth2_cookie_session_write(f.site, sf_request(&f, "GET", "/", NULL),
                                    &resp, rec, len, LATER(600), &err),
        APR_SUCCESS);
    assert_int_equal(resp.cookies->nelts, 1);
    c = sf_set_cookie(&resp, "oauth2_session");
    assert_non_null(c);
    assert_non_null(strstr(c, "HttpOnly"));
    assert_null(strstr(c, "Max-Age")); /* a browser-session cookie */
    assert_int_equal(reopen(&f, &resp, NOW, &s, &exp), APR_SUCCESS);
    assert_string_equal(s.f[OAUTH2_SF_USER], "alice");
    assert_int_equal(exp, LATER(600));
    /* The inactivity expiry and the max age are both checked. */
    assert_int_equal(reopen(&f, &resp, LATER(600), &s, &exp), OAUTH2_EREFUSED);
    sf_close(&f);
}

/* No cookie at all is not a refusal; a forged or foreign one is. */
static void test_cookie_session_refusals(void **state)
{
    oauth2_response_t resp;
    oauth2_session_t s;
    oauth2_request_t *r;
    oauth2_site_t *other;
    oauth2_cfg_t *c2;
    apr_time_t exp;
    const char *rec, *err = NULL, *hdr;
    apr_size_t len;
    char *tampered;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    r = sf_request(&f, "GET", "/", NULL);
    assert_int_equal(
        oauth2_cookie_session_open(f.site, r, "a=b", &s, &rec, &len, &exp),
        OAUTH2_ENOTFOUND);
    assert_int_equal(oauth2_cookie_session_open(f.site, r,
                                                "oauth2_session=junk", &s, &rec,
                                                &len, &exp),
                     OAUTH2_EREFUSED);
    memset(&resp, 0, sizeof(resp));
    rec = sf_record(&f, CLAIMS, NULL, 0, &len);
    oauth2_cookie_session_write(f.site, r, &resp, rec, len, LATER(600), &err);
    hdr = sf_cookie_header(f.pool, &resp);
    tampered = apr_pstrdup(f.pool, hdr);
    tampered[strlen(tampered) - 5] ^= 1;
    assert_int_equal(
        oauth2_cookie_session_open(f.site, r, tampered, &s, &rec, &len, &exp),
        OAUTH2_EREFUSED);
    /* Another client's site (another scope) cannot open it. */
    c2 = apr_pmemdup(f.pool, f.cfg, sizeof(*f.cfg));
    c2->client_id = "other-app";
    assert_int_equal(oauth2_site_create(f.pool, c2, "t", &other, &err),
                     APR_SUCCESS);
    other->store = f.store;
    assert_int_equal(
        oauth2_cookie_session_open(other, r, hdr, &s, &rec, &len, &exp),
        OAUTH2_EREFUSED);
    assert_int_equal(
        oauth2_cookie_session_open(f.site, r, hdr, &s, &rec, &len, &exp),
        APR_SUCCESS);
    sf_close(&f);
}

static void test_cookie_session_chunks(void **state)
{
    oauth2_response_t resp;
    oauth2_session_t s;
    apr_time_t exp;
    const char *rec, *hdr, *err = NULL, *name;
    apr_size_t len;
    sf_t f;
    int i, n;

    (void)state;
    sf_open(&f, &cookie_opts);
    memset(&resp, 0, sizeof(resp));
    rec = sf_record(&f, claims_of(&f, 9000), NULL, 0, &len);
    assert_int_equal(
        oauth2_cookie_session_write(f.site, sf_request(&f, "GET", "/", NULL),
                                    &resp, rec, len, LATER(600), &err),
        APR_SUCCESS);
    n = resp.cookies->nelts - 1;
    assert_true(n >= 3);
    assert_non_null(strstr(sf_set_cookie(&resp, "oauth2_session"),
                           apr_psprintf(f.pool, "oauth2_session=~%d;", n)));
    for (i = 1; i <= n; i++) {
        const char *c =
            sf_set_cookie(&resp, apr_psprintf(f.pool, "oauth2_session_%d", i));

        assert_non_null(c);
        assert_true(strcspn(c, ";") <= 17 + OAUTH2_COOKIE_SESSION_CHUNK);
    }
    assert_int_equal(reopen(&f, &resp, NOW, &s, &exp), APR_SUCCESS);
    assert_int_equal(s.len[OAUTH2_SF_CLAIMS] > 9000, 1);
    /* A missing chunk: no session (as no cookie). */
    hdr = sf_cookie_header(f.pool, &resp);
    name = apr_psprintf(f.pool, "oauth2_session_%d=", n);
    {
        char *cut = apr_pstrdup(f.pool, hdr);

        *strstr(cut, name) = 'X';
        assert_int_equal(
            oauth2_cookie_session_open(f.site, sf_request(&f, "GET", "/", NULL),
                                       cut, &s, &rec, &len, &exp),
            OAUTH2_ENOTFOUND);
    }
    /* Forged counts cost nothing and open nothing. */
    assert_int_equal(oauth2_cookie_session_open(
                         f.site, sf_request(&f, "GET", "/", NULL),
                         "oauth2_session=~99999999", &s, &rec, &len, &exp),
                     OAUTH2_EREFUSED);
    sf_close(&f);
}

/* A smaller session replaces a larger one: the chunks it no longer has
 * are expired. */
static void test_cookie_session_leftover_chunks(void **state)
{
    oauth2_response_t resp;
    oauth2_request_t *r;
    const char *rec, *err = NULL, *c;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    memset(&resp, 0, sizeof(resp));
    r = sf_request(&f, "GET", "/", "Cookie",
                   "oauth2_session=~4; oauth2_session_1=a; oauth2_session_2=b; "
                   "oauth2_session_3=c; oauth2_session_4=d; other=1",
                   NULL);
    rec = sf_record(&f, CLAIMS, NULL, 0, &len);
    assert_int_equal(oauth2_cookie_session_write(f.site, r, &resp, rec, len,
                                                 LATER(600), &err),
                     APR_SUCCESS);
    assert_int_equal(resp.cookies->nelts, 5);
    c = sf_set_cookie(&resp, "oauth2_session_4");
    assert_non_null(strstr(c, "Max-Age=0"));
    assert_null(sf_set_cookie(&resp, "oauth2_session_5"));
    assert_null(sf_set_cookie(&resp, "other"));
    /* A chunked session over more chunks: those beyond it expire. */
    memset(&resp, 0, sizeof(resp));
    r = sf_request(&f, "GET", "/", "Cookie",
                   "oauth2_session=~6; oauth2_session_5=e; "
                   "oauth2_session_6=f; oauth2_session_1=a",
                   NULL);
    rec = sf_record(&f, claims_of(&f, 5000), NULL, 0, &len);
    assert_int_equal(oauth2_cookie_session_write(f.site, r, &resp, rec, len,
                                                 LATER(600), &err),
                     APR_SUCCESS);
    assert_int_equal(resp.cookies->nelts, 1 + 3 + 2); /* ~3, 3 chunks, 2 */
    assert_non_null(
        strstr(sf_set_cookie(&resp, "oauth2_session_5"), "Max-Age=0"));
    assert_non_null(
        strstr(sf_set_cookie(&resp, "oauth2_session_6"), "Max-Age=0"));
    assert_null(strstr(sf_set_cookie(&resp, "oauth2_session_1"), "Max-Age"));
    sf_close(&f);
}

static void test_cookie_session_too_large(void **state)
{
    oauth2_response_t resp;
    const char *rec, *err = NULL;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    memset(&resp, 0, sizeof(resp));
    /* Claims are capped at 16 KiB, tokens are not. */
    {
        char *token = apr_palloc(f.pool, 50001);

        memset(token, 't', 50000);
        token[50000] = '\0';
        rec = sf_record(&f, CLAIMS, token, LATER(60), &len);
    }
    assert_int_equal(
        oauth2_cookie_session_write(f.site, sf_request(&f, "GET", "/", NULL),
                                    &resp, rec, len, LATER(600), &err),
        OAUTH2_ETOOBIG);
    assert_non_null(strstr(err, "too large for cookies"));
    assert_null(resp.cookies);
    sf_close(&f);
}

/* Back-channel logout: a sid revokes its sessions; a sub those made
 * before the revocation. */
static void test_cookie_session_revocation(void **state)
{
    oauth2_response_t resp;
    oauth2_session_t s;
    apr_time_t exp;
    const char *rec, *err = NULL;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    memset(&resp, 0, sizeof(resp));
    rec = sf_record(&f, CLAIMS, NULL, 0, &len);
    oauth2_cookie_session_write(f.site, sf_request(&f, "GET", "/", NULL), &resp,
                                rec, len, LATER(600), &err);
    assert_int_equal(
        oauth2_cookie_session_revoke(f.site, sf_request(&f, "POST", "/", NULL),
                                     "s-2", NULL),
        APR_SUCCESS);
    assert_int_equal(reopen(&f, &resp, NOW, &s, &exp), APR_SUCCESS);
    assert_int_equal(
        oauth2_cookie_session_revoke(f.site, sf_request(&f, "POST", "/", NULL),
                                     "s-1", NULL),
        APR_SUCCESS);
    assert_int_equal(reopen(&f, &resp, NOW, &s, &exp), OAUTH2_EREFUSED);
    sf_close(&f);

    /* By sub: the session made at NOW is refused after a revocation at
     * NOW + 1 s (the marker outlives every session made before it). */
    sf_open(&f, &cookie_opts);
    memset(&resp, 0, sizeof(resp));
    rec = sf_record(&f, "{\"sub\":\"alice\"}", NULL, 0, &len);
    oauth2_cookie_session_write(f.site, sf_request(&f, "GET", "/", NULL), &resp,
                                rec, len, LATER(600), &err);
    {
        oauth2_request_t *r = sf_request(&f, "POST", "/", NULL);

        r->now = LATER(1);
        assert_int_equal(oauth2_cookie_session_revoke(f.site, r, NULL, "alice"),
                         APR_SUCCESS);
    }
    assert_int_equal(reopen(&f, &resp, LATER(2), &s, &exp), OAUTH2_EREFUSED);
    sf_close(&f);
}

/* Third review H: a logout token with a sub revokes by sub, one record
 * per sub replaced in place, so one account's hundreds of provider
 * sessions pin one record; a session of the sub made after the
 * revocation works; a revocation that finds no room says so. */
static void test_cookie_session_revocation_per_sub(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_response_t resp;
    oauth2_shm_stats_t st;
    oauth2_session_t s;
    oauth2_request_t *r;
    apr_time_t exp;
    const char *rec, *err = NULL;
    apr_size_t len;
    int i;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    for (i = 0; i < 300; i++) {
        assert_int_equal(oauth2_cookie_session_revoke(
                             f.site, sf_request(&f, "POST", "/", NULL),
                             apr_psprintf(f.pool, "mallory-sid-%d", i),
                             "mallory"),
                         APR_SUCCESS);
    }
    oauth2_shm_stats(f.shm, &st);
    assert_int_equal(st.live_class[OAUTH2_SHM_PINNED], 1);
    /* alice's session (sid s-1), revoked a second before it was made:
     * it stays; revoked by a token of another sid of hers, it ends. */
    memset(&resp, 0, sizeof(resp));
    rec = sf_record(&f, CLAIMS, NULL, 0, &len);
    oauth2_cookie_session_write(f.site, sf_request(&f, "GET", "/", NULL), &resp,
                                rec, len, LATER(600), &err);
    r = sf_request(&f, "POST", "/", NULL);
    r->now = NOW - apr_time_from_sec(1);
    assert_int_equal(oauth2_cookie_session_revoke(f.site, r, "s-0", "alice"),
                     APR_SUCCESS);
    assert_int_equal(reopen(&f, &resp, NOW, &s, &exp), APR_SUCCESS);
    assert_int_equal(
        oauth2_cookie_session_revoke(f.site, sf_request(&f, "POST", "/", NULL),
                                     "s-9", "alice"),
        APR_SUCCESS);
    assert_int_equal(reopen(&f, &resp, NOW, &s, &exp), OAUTH2_EREFUSED);
    /* A table full of sessions: no room, and no session evicted. */
    for (i = 0; i < 2000; i++) {
        memset(key, 0, sizeof(key));
        memcpy(key, &i, sizeof(i));
        oauth2_store_put(f.store, f.pool, key, "x", 1, LATER(3600), NOW);
    }
    oauth2_shm_stats(f.shm, &st);
    assert_int_equal(
        oauth2_cookie_session_revoke(f.site, sf_request(&f, "POST", "/", NULL),
                                     NULL, "bob"),
        OAUTH2_EFULL);
    i = (int)st.live_class[OAUTH2_SHM_SESSION];
    oauth2_shm_stats(f.shm, &st);
    assert_int_equal(st.live_class[OAUTH2_SHM_SESSION], i);
    sf_close(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_cookie_session_one_cookie),
        T(test_cookie_session_refusals),
        T(test_cookie_session_chunks),
        T(test_cookie_session_leftover_chunks),
        T(test_cookie_session_too_large),
        T(test_cookie_session_revocation),
        T(test_cookie_session_revocation_per_sub),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
