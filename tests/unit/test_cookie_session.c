/*
 * test_cookie_session.c: unit tests for src/cookie_session.c, sessions
 * kept in the browser: a record sealed into the session cookie, or split
 * into chunks ("<name>=~N", "<name>_1".."<name>_N") when larger; opened
 * back only whole, untampered, unexpired, under this site's scope; left-
 * over chunks of a larger session expired; more than 16 chunks refused;
 * revocation markers of back-channel logout (by sid; by sub for sessions
 * made before it) on a real shm store; the budget (a share of
 * LimitRequestFieldSize: the bytes the cookies add to the Cookie header,
 * counted exactly; nothing written past it); the connection's memo (the
 * same bytes again open nothing, other bytes are opened, a revocation or
 * an expiry is seen on a kept connection).
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

#include "base64url.h"
#include "bounds.h"
#include "conn.h"
#include "seal.h"
#include "crypto.h"
#include "errors.h"
#include "site_fixture.h"
#include "store.h"

#define NOW      SF_NOW
#define LATER(s) (NOW + apr_time_from_sec(s))
#define CLAIMS   "{\"sub\":\"alice\",\"sid\":\"s-1\"}"

static sf_opts_t cookie_opts = { 1, NULL, 0, 0, 0, 0, NULL, 0 };

/* Opens the session of a Cookie header with request r. */
static apr_status_t open_header(sf_t *f, oauth2_request_t *r, const char *hdr,
                                const oauth2_session_t **s, apr_time_t *expires)
{
    oauth2_cookie_t first;
    const char *rec;
    apr_size_t len;
    int n = (int)oauth2_cookie_find(hdr, f->cfg->cookie_name, &first, 1);

    return oauth2_cookie_session_open(f->site, r, hdr, n ? &first : NULL, s,
                                      &rec, &len, expires);
}

/* A request whose server takes header lines of any length (for sessions
 * larger than the default budget). */
static oauth2_request_t *big_request(sf_t *f, const char *cookie)
{
    oauth2_request_t *r = sf_request(f, "GET", "/", "Cookie", cookie, NULL);

    r->field_limit = 1 << 20;
    return r;
}

/* Opens what a browser would send back after resp, at now. */
static apr_status_t reopen(sf_t *f, const oauth2_response_t *resp,
                           apr_time_t now, const oauth2_session_t **s,
                           apr_time_t *expires)
{
    const char *hdr = sf_cookie_header(f->pool, resp);
    oauth2_request_t *r = sf_request(f, "GET", "/", "Cookie", hdr, NULL);

    r->now = now;
    return open_header(f, r, hdr, s, expires);
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
    const oauth2_session_t *s;
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
    assert_string_equal(s->f[OAUTH2_SF_USER], "alice");
    assert_int_equal(exp, LATER(600));
    /* The inactivity expiry and the max age are both checked. */
    assert_int_equal(reopen(&f, &resp, LATER(600), &s, &exp), OAUTH2_EREFUSED);
    sf_close(&f);
}

/* No cookie at all is not a refusal; a forged or foreign one is. */
static void test_cookie_session_refusals(void **state)
{
    oauth2_response_t resp;
    const oauth2_session_t *s;
    oauth2_request_t *r;
    oauth2_site_t *other;
    oauth2_cfg_t *c2;
    oauth2_cookie_t first;
    apr_time_t exp;
    const char *rec, *err = NULL, *hdr;
    apr_size_t len;
    char *tampered;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    r = sf_request(&f, "GET", "/", NULL);
    assert_int_equal(open_header(&f, r, "a=b", &s, &exp), OAUTH2_ENOTFOUND);
    assert_int_equal(open_header(&f, r, "oauth2_session=junk", &s, &exp),
                     OAUTH2_EREFUSED);
    assert_int_equal(open_header(&f, r, "oauth2_session=", &s, &exp),
                     OAUTH2_EREFUSED);
    memset(&resp, 0, sizeof(resp));
    rec = sf_record(&f, CLAIMS, NULL, 0, &len);
    oauth2_cookie_session_write(f.site, r, &resp, rec, len, LATER(600), &err);
    hdr = sf_cookie_header(f.pool, &resp);
    tampered = apr_pstrdup(f.pool, hdr);
    tampered[strlen(tampered) - 5] ^= 1;
    assert_int_equal(open_header(&f, r, tampered, &s, &exp), OAUTH2_EREFUSED);
    /* Another client's site (another scope) cannot open it. */
    c2 = apr_pmemdup(f.pool, f.cfg, sizeof(*f.cfg));
    c2->client_id = "other-app";
    assert_int_equal(oauth2_site_create(f.pool, c2, "t", &other, &err),
                     APR_SUCCESS);
    other->store = f.store;
    assert_int_equal(oauth2_cookie_find(hdr, "oauth2_session", &first, 1), 1);
    assert_int_equal(
        oauth2_cookie_session_open(other, r, hdr, &first, &s, &rec, &len, &exp),
        OAUTH2_EREFUSED);
    assert_int_equal(open_header(&f, r, hdr, &s, &exp), APR_SUCCESS);
    sf_close(&f);
}

static void test_cookie_session_chunks(void **state)
{
    oauth2_response_t resp;
    const oauth2_session_t *s;
    apr_time_t exp;
    const char *rec, *hdr, *err = NULL, *name;
    apr_size_t len;
    sf_t f;
    int i, n;

    (void)state;
    sf_open(&f, &cookie_opts);
    memset(&resp, 0, sizeof(resp));
    rec = sf_record(&f, claims_of(&f, 9000), NULL, 0, &len);
    assert_int_equal(oauth2_cookie_session_write(f.site, big_request(&f, NULL),
                                                 &resp, rec, len, LATER(600),
                                                 &err),
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
    assert_int_equal(s->len[OAUTH2_SF_CLAIMS] > 9000, 1);
    /* A missing chunk: no session (as no cookie). */
    hdr = sf_cookie_header(f.pool, &resp);
    name = apr_psprintf(f.pool, "oauth2_session_%d=", n);
    {
        char *cut = apr_pstrdup(f.pool, hdr);

        *strstr(cut, name) = 'X';
        assert_int_equal(
            open_header(&f, sf_request(&f, "GET", "/", NULL), cut, &s, &exp),
            OAUTH2_ENOTFOUND);
    }
    /* Forged counts cost nothing and open nothing. */
    assert_int_equal(open_header(&f, sf_request(&f, "GET", "/", NULL),
                                 "oauth2_session=~99999999", &s, &exp),
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
    r->field_limit = 1 << 20;
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

/* More than 16 chunks, where the server's limit would take them. */
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
    assert_int_equal(oauth2_cookie_session_write(f.site, big_request(&f, NULL),
                                                 &resp, rec, len, LATER(600),
                                                 &err),
                     OAUTH2_EBUDGET);
    assert_non_null(strstr(err, "more than 16 cookies"));
    assert_null(resp.cookies);
    sf_close(&f);
}

/* The bytes a session's cookies add to the Cookie header, counted as a
 * browser sends them: one cookie, a count and chunks, two-digit chunk
 * numbers. */
static void test_cookie_session_header_bytes(void **state)
{
    static const apr_size_t sizes[] = { 10, 3000, 3700, 6000, 12000, 40000 };
    apr_size_t i;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        oauth2_response_t resp;
        const char *rec, *err = NULL, *hdr;
        apr_size_t len, vlen;

        memset(&resp, 0, sizeof(resp));
        rec = sf_record(&f, claims_of(&f, sizes[i]), NULL, 0, &len);
        assert_int_equal(
            oauth2_cookie_session_write(f.site, big_request(&f, NULL), &resp,
                                        rec, len, LATER(600), &err),
            APR_SUCCESS);
        hdr = sf_cookie_header(f.pool, &resp);
        /* The sealed value: 8 bytes of expiry, the record, the seal's
         * overhead, in base64url. */
        vlen = OAUTH2_BASE64URL_LEN(len + 8 + OAUTH2_SEAL_OVERHEAD);
        assert_int_equal(
            oauth2_cookie_session_header_bytes("oauth2_session", vlen),
            strlen(hdr) + 2);
    }
    assert_int_equal(oauth2_cookie_session_header_bytes("s", 3),
                     strlen("s=abc; "));
    /* 16 chunks: numbers 10..16 take two digits. */
    assert_int_equal(oauth2_cookie_session_header_bytes("s", 16 * 3800),
                     strlen("s=~16; ") + 16 * 3800 + 9 * strlen("s_1=; ")
                         + 7 * strlen("s_10=; "));
    sf_close(&f);
}

/* The budget is the set share of LimitRequestFieldSize (8190 when the
 * server does not say); past it nothing is written. */
static void test_cookie_session_budget(void **state)
{
    oauth2_response_t resp;
    oauth2_request_t *r;
    const char *rec, *err = NULL;
    apr_size_t len, budget;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    r = sf_request(&f, "GET", "/", NULL);
    assert_int_equal(oauth2_cookie_session_budget(r),
                     8190 * OAUTH2_COOKIE_SESSION_BUDGET / 100);
    r->field_limit = 16384;
    assert_int_equal(oauth2_cookie_session_budget(r),
                     16384 * OAUTH2_COOKIE_SESSION_BUDGET / 100);
    /* A record that takes 6,000 bytes in the header passes 8190's budget
     * (6,142) and fits in 16384's. */
    memset(&resp, 0, sizeof(resp));
    rec = sf_record(&f, claims_of(&f, 4300), NULL, 0, &len);
    budget = oauth2_cookie_session_header_bytes(
        "oauth2_session", OAUTH2_BASE64URL_LEN(len + 8 + OAUTH2_SEAL_OVERHEAD));
    assert_true(budget > 8190 * 3 / 4 && budget < 16384 * 3 / 4);
    r->field_limit = 8190;
    assert_int_equal(oauth2_cookie_session_write(f.site, r, &resp, rec, len,
                                                 LATER(600), &err),
                     OAUTH2_EBUDGET);
    assert_null(resp.cookies);
    assert_non_null(strstr(err, "LimitRequestFieldSize 8190"));
    assert_non_null(strstr(
        err, apr_psprintf(f.pool, "needs %lu bytes", (unsigned long)budget)));
    r->field_limit = 16384;
    assert_int_equal(oauth2_cookie_session_write(f.site, r, &resp, rec, len,
                                                 LATER(600), &err),
                     APR_SUCCESS);
    /* The count, then the chunks. */
    assert_int_equal(resp.cookies->nelts,
                     1
                         + (OAUTH2_BASE64URL_LEN(len + 8 + OAUTH2_SEAL_OVERHEAD)
                            + OAUTH2_COOKIE_SESSION_CHUNK - 1)
                               / OAUTH2_COOKIE_SESSION_CHUNK);
    sf_close(&f);
}

/* The browser's other cookies count: with several named providers each
 * session within its budget, two of them could pass LimitRequestFieldSize
 * together, and Apache would answer 400 to every request of the host. The
 * session's own old cookies do not count (the new ones replace them). */
static void test_cookie_session_budget_others(void **state)
{
    oauth2_response_t resp;
    oauth2_request_t *r;
    const char *rec, *err = NULL, *big;
    apr_size_t len;
    char *fill;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    rec = sf_record(&f, claims_of(&f, 2000), NULL, 0, &len);
    fill = apr_palloc(f.pool, 4001);
    memset(fill, 'x', 4000);
    fill[4000] = '\0';
    /* alone: within 8190's budget */
    memset(&resp, 0, sizeof(resp));
    r = sf_request(&f, "GET", "/", NULL);
    assert_int_equal(oauth2_cookie_session_write(f.site, r, &resp, rec, len,
                                                 LATER(600), &err),
                     APR_SUCCESS);
    /* another provider's session of 4,000 bytes: not written */
    big = apr_pstrcat(f.pool, "a=b; oauth2_session_partner=", fill, NULL);
    memset(&resp, 0, sizeof(resp));
    r = sf_request(&f, "GET", "/", "Cookie", big, NULL);
    r->field_limit = 8190;
    assert_int_equal(oauth2_cookie_session_write(f.site, r, &resp, rec, len,
                                                 LATER(600), &err),
                     OAUTH2_EBUDGET);
    assert_null(resp.cookies);
    assert_non_null(strstr(err, "other cookies"));
    /* its own old session of 4,000 bytes: replaced, written */
    big = apr_pstrcat(f.pool, "a=b; oauth2_session=", fill, NULL);
    memset(&resp, 0, sizeof(resp));
    r = sf_request(&f, "GET", "/", "Cookie", big, NULL);
    r->field_limit = 8190;
    assert_int_equal(oauth2_cookie_session_write(f.site, r, &resp, rec, len,
                                                 LATER(600), &err),
                     APR_SUCCESS);
    sf_close(&f);
}

/* Back-channel logout: a sid revokes its sessions; a sub those made
 * before the revocation. */
static void test_cookie_session_revocation(void **state)
{
    oauth2_response_t resp;
    const oauth2_session_t *s;
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

/* A request of connection c (its memo) at now. */
static oauth2_request_t *conn_request(sf_t *f, oauth2_conn_t *c,
                                      const char *hdr, apr_time_t now)
{
    oauth2_request_t *r = big_request(f, hdr);

    r->conn = c;
    r->now = now;
    return r;
}

/* A seal of another secret for the site's sessions: a value sealed under
 * the real one no longer opens, so only the memo can serve it. */
static oauth2_seal_t *other_seal(sf_t *f)
{
    apr_array_header_t *secrets = apr_array_make(f->pool, 1, sizeof(char *));
    oauth2_seal_t *seal = NULL;
    const char *err = NULL;

    APR_ARRAY_PUSH(secrets, const char *) =
        "another-secret-0123456789abcdef0123456789";
    assert_int_equal(
        oauth2_seal_create(f->pool, secrets, "session", &seal, &err),
        APR_SUCCESS);
    return seal;
}

/* The connection's memo: the same bytes again open nothing (they are
 * served even when the seal could not open them now); other bytes, another
 * site, an expiry and a revocation are all seen. */
static void run_memo(sf_t *f, const char *claims, int chunked)
{
    oauth2_response_t resp;
    const oauth2_session_t *s;
    oauth2_seal_t *real = f->site->seal_session;
    oauth2_conn_t *c, *fresh;
    apr_time_t exp;
    const char *rec, *err = NULL, *hdr;
    apr_size_t len, i;
    int in_value;
    char *flipped;

    memset(&resp, 0, sizeof(resp));
    rec = sf_record(f, claims, NULL, 0, &len);
    assert_int_equal(oauth2_cookie_session_write(f->site, big_request(f, NULL),
                                                 &resp, rec, len, LATER(600),
                                                 &err),
                     APR_SUCCESS);
    assert_int_equal(resp.cookies->nelts > 1, chunked);
    hdr = sf_cookie_header(f->pool, &resp);
    assert_int_equal(oauth2_conn_create(f->pool, &c), APR_SUCCESS);
    assert_int_equal(oauth2_conn_create(f->pool, &fresh), APR_SUCCESS);
    assert_int_equal(
        open_header(f, conn_request(f, c, hdr, NOW), hdr, &s, &exp),
        APR_SUCCESS);
    assert_ptr_equal(s, &c->cookie.session);
    assert_true(c->cookie.valid);
    assert_string_equal(s->f[OAUTH2_SF_USER], "alice");
    /* The seal now opens nothing: only the memo answers. */
    f->site->seal_session = other_seal(f);
    assert_int_equal(
        open_header(f, conn_request(f, fresh, hdr, NOW), hdr, &s, &exp),
        OAUTH2_EREFUSED);
    assert_int_equal(
        open_header(f, conn_request(f, c, hdr, LATER(10)), hdr, &s, &exp),
        APR_SUCCESS);
    assert_ptr_equal(s, &c->cookie.session);
    assert_int_equal(exp, LATER(600));
    /* One byte else, the same length, at every position of every value
     * (the comparison's 64- and 16-byte blocks, its 8-byte words and its
     * tail): opened (and refused), never recalled; the memo stays for the
     * genuine bytes. */
    for (i = 0, in_value = 0; hdr[i] != '\0'; i++) {
        if (hdr[i] == '=' || hdr[i] == ';') {
            in_value = hdr[i] == '=';
            continue;
        }
        if (!in_value) {
            continue; /* names and separators: only values are compared */
        }
        flipped = apr_pstrdup(f->pool, hdr);
        flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
        assert_int_equal(
            open_header(f, conn_request(f, c, flipped, NOW), flipped, &s, &exp),
            OAUTH2_EREFUSED);
    }
    assert_int_equal(
        open_header(f, conn_request(f, c, hdr, NOW), hdr, &s, &exp),
        APR_SUCCESS);
    /* Past its expiry the memo does not answer. */
    assert_int_equal(
        open_header(f, conn_request(f, c, hdr, LATER(600)), hdr, &s, &exp),
        OAUTH2_EREFUSED);
    f->site->seal_session = real;
    /* Revoked by a back-channel logout on another connection: refused on
     * this one too. */
    assert_int_equal(
        open_header(f, conn_request(f, c, hdr, NOW), hdr, &s, &exp),
        APR_SUCCESS);
    assert_int_equal(
        oauth2_cookie_session_revoke(
            f->site, conn_request(f, fresh, NULL, LATER(1)), "s-1", NULL),
        APR_SUCCESS);
    assert_int_equal(
        open_header(f, conn_request(f, c, hdr, LATER(2)), hdr, &s, &exp),
        OAUTH2_EREFUSED);
    assert_false(c->cookie.valid);
}

static void test_cookie_session_memo(void **state)
{
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    run_memo(&f, CLAIMS, 0);
    sf_close(&f);
    sf_open(&f, &cookie_opts);
    {
        char *big = apr_palloc(f.pool, 6001);

        memset(big, 'x', 6000);
        big[6000] = '\0';
        run_memo(&f,
                 apr_psprintf(f.pool,
                              "{\"sub\":\"alice\",\"sid\":\"s-1\","
                              "\"name\":\"%s\"}",
                              big),
                 1);
    }
    sf_close(&f);
}

/* Another site on the same connection is not served the memo; a store
 * that cannot check an epoch keeps no memo at all. */
static void test_cookie_session_memo_owner(void **state)
{
    oauth2_response_t resp;
    const oauth2_session_t *s;
    oauth2_site_t *other;
    oauth2_cfg_t *c2;
    oauth2_conn_t *c;
    oauth2_cookie_t first;
    apr_time_t exp;
    const char *rec, *err = NULL, *hdr;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, &cookie_opts);
    memset(&resp, 0, sizeof(resp));
    rec = sf_record(&f, CLAIMS, NULL, 0, &len);
    oauth2_cookie_session_write(f.site, big_request(&f, NULL), &resp, rec, len,
                                LATER(600), &err);
    hdr = sf_cookie_header(f.pool, &resp);
    assert_int_equal(oauth2_conn_create(f.pool, &c), APR_SUCCESS);
    assert_int_equal(
        open_header(&f, conn_request(&f, c, hdr, NOW), hdr, &s, &exp),
        APR_SUCCESS);
    c2 = apr_pmemdup(f.pool, f.cfg, sizeof(*f.cfg));
    c2->client_id = "other-app";
    assert_int_equal(oauth2_site_create(f.pool, c2, "t", &other, &err),
                     APR_SUCCESS);
    other->store = f.store;
    other->memo = 1;
    assert_int_equal(oauth2_cookie_find(hdr, "oauth2_session", &first, 1), 1);
    assert_int_equal(
        oauth2_cookie_session_open(other, conn_request(&f, c, hdr, NOW), hdr,
                                   &first, &s, &rec, &len, &exp),
        OAUTH2_EREFUSED);
    /* No memo where the store cannot check. */
    assert_int_equal(oauth2_conn_create(f.pool, &c), APR_SUCCESS);
    f.site->memo = 0;
    assert_int_equal(
        open_header(&f, conn_request(&f, c, hdr, NOW), hdr, &s, &exp),
        APR_SUCCESS);
    assert_false(c->cookie.valid);
    assert_ptr_not_equal(s, &c->cookie.session);
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
    const oauth2_session_t *s;
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
    /* mallory's record, and the site's revocation epoch. */
    oauth2_shm_stats(f.shm, &st);
    assert_int_equal(st.live_class[OAUTH2_SHM_PINNED], 2);
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
        T(test_cookie_session_header_bytes),
        T(test_cookie_session_budget),
        T(test_cookie_session_budget_others),
        T(test_cookie_session_memo),
        T(test_cookie_session_memo_owner),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
