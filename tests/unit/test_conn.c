/*
 * test_conn.c: unit tests for src/conn.c, the per-connection memo, on a
 * real shared-memory store: the same session id again is a version check
 * only (no copy); a changed, removed or expired record, another id or
 * another site is read again; only the hot part is copied unless the
 * tokens are needed (or the hot part does not fit the first read); store
 * keys from the connection's hasher; the Cookie header memo answers as
 * the engine does, for the same bytes only, within its bounds.
 */
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
#include "site_fixture.h"

#define NOW      SF_NOW
#define LATER(s) (NOW + apr_time_from_sec(s))
#define ID       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define ID2      "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define CLAIMS   "{\"sub\":\"alice\",\"email\":\"a@example.com\"}"

static const unsigned char tag[8] = "scope...";

/* Stores a record under the key of id; the key in key. */
static void put(sf_t *f, const char *id, const char *rec, apr_size_t len,
                unsigned char *key)
{
    assert_int_equal(
        oauth2_crypto_sha256_pair(tag, sizeof(tag), id, strlen(id), key),
        APR_SUCCESS);
    assert_int_equal(
        oauth2_store_put(f->store, f->pool, key, rec, len, LATER(600), NOW),
        APR_SUCCESS);
}

/* The same id again: only the version check; a change: read again. */
static void test_conn_memo_same_and_changed(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    apr_time_t exp = 0;
    const char *rec;
    apr_size_t len;
    oauth2_conn_t *c;
    char *copy;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_int_equal(oauth2_conn_create(f.pool, &c), APR_SUCCESS);
    rec = sf_record(&f, CLAIMS, NULL, 0, &len);
    put(&f, ID, rec, len, key);
    assert_false(oauth2_conn_recall(c, f.site, f.store, ID, 43, 0, NOW, &exp));
    assert_int_equal(
        oauth2_conn_load(c, f.site, f.store, f.pool, key, ID, 43, NOW, 0),
        APR_SUCCESS);
    assert_true(c->valid);
    assert_true(c->whole);
    assert_string_equal(c->session.f[OAUTH2_SF_USER], "alice");
    assert_int_equal(c->meta.expires, LATER(600));
    copy = c->buf;
    assert_true(oauth2_conn_recall(c, f.site, f.store, ID, 43, 0, NOW, &exp));
    assert_true(oauth2_conn_recall(c, f.site, f.store, ID, 43, 1, NOW, &exp));
    assert_int_equal(exp, LATER(600));
    /* A touch keeps the copy valid and moves its expiry. */
    oauth2_store_touch(f.store, f.pool, key, LATER(900), NOW);
    assert_true(oauth2_conn_recall(c, f.site, f.store, ID, 43, 0, NOW, &exp));
    assert_int_equal(exp, LATER(900));
    /* Another id, another site, a later clock past the expiry. */
    assert_false(oauth2_conn_recall(c, f.site, f.store, ID2, 43, 0, NOW, &exp));
    assert_false(oauth2_conn_recall(c, f.store, f.store, ID, 43, 0, NOW, &exp));
    assert_false(oauth2_conn_recall(c, f.site, f.store, ID, 42, 0, NOW, &exp));
    assert_false(
        oauth2_conn_recall(c, f.site, f.store, ID, 43, 0, LATER(900), &exp));
    /* The record is rewritten: the copy is stale, a load reads the new. */
    rec = sf_record(&f, "{\"sub\":\"alice2\"}", NULL, 0, &len);
    assert_int_equal(
        oauth2_store_put(f.store, f.pool, key, rec, len, LATER(600), NOW),
        APR_SUCCESS);
    assert_false(oauth2_conn_recall(c, f.site, f.store, ID, 43, 0, NOW, &exp));
    assert_int_equal(
        oauth2_conn_load(c, f.site, f.store, f.pool, key, ID, 43, NOW, 0),
        APR_SUCCESS);
    assert_string_equal(c->session.f[OAUTH2_SF_USER], "alice2");
    assert_ptr_equal(c->buf, copy); /* the buffer is reused */
    /* Removed: gone from the memo as well. */
    oauth2_store_remove(f.store, f.pool, key);
    assert_false(oauth2_conn_recall(c, f.site, f.store, ID, 43, 0, NOW, &exp));
    assert_int_equal(
        oauth2_conn_load(c, f.site, f.store, f.pool, key, ID, 43, NOW, 0),
        OAUTH2_ENOTFOUND);
    assert_false(c->valid);
    sf_close(&f);
}

/* A long token: the first read copies the hot part only; a request that
 * needs the tokens reads the whole record. */
static void test_conn_memo_hot_part(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    char token[4001];
    apr_time_t exp;
    const char *rec;
    apr_size_t len;
    oauth2_conn_t *c;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    memset(token, 't', sizeof(token) - 1);
    token[sizeof(token) - 1] = '\0';
    assert_int_equal(oauth2_conn_create(f.pool, &c), APR_SUCCESS);
    rec = sf_record(&f, CLAIMS, token, LATER(3600), &len);
    assert_true(len > OAUTH2_CONN_FIRST_READ);
    put(&f, ID, rec, len, key);
    assert_int_equal(
        oauth2_conn_load(c, f.site, f.store, f.pool, key, ID, 43, NOW, 0),
        APR_SUCCESS);
    assert_false(c->whole);
    assert_int_equal(c->len, OAUTH2_CONN_FIRST_READ);
    assert_string_equal(c->session.f[OAUTH2_SF_USER], "alice");
    assert_int_equal(c->session.len[OAUTH2_SF_ACCESS_TOKEN], 0);
    assert_true(oauth2_conn_recall(c, f.site, f.store, ID, 43, 0, NOW, &exp));
    assert_false(oauth2_conn_recall(c, f.site, f.store, ID, 43, 1, NOW, &exp));
    assert_int_equal(
        oauth2_conn_load(c, f.site, f.store, f.pool, key, ID, 43, NOW, 1),
        APR_SUCCESS);
    assert_true(c->whole);
    assert_int_equal(c->session.len[OAUTH2_SF_ACCESS_TOKEN], 4000);
    assert_true(oauth2_conn_recall(c, f.site, f.store, ID, 43, 1, NOW, &exp));
    sf_close(&f);
}

/* Hot fields larger than the first read: the whole record is read. */
static void test_conn_memo_large_hot_part(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    char *claims, big[3001];
    const char *rec;
    apr_size_t len;
    oauth2_conn_t *c;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    claims =
        apr_pstrcat(f.pool, "{\"sub\":\"alice\",\"note\":\"", big, "\"}", NULL);
    assert_int_equal(oauth2_conn_create(f.pool, &c), APR_SUCCESS);
    rec = sf_record(&f, claims, NULL, 0, &len);
    put(&f, ID, rec, len, key);
    assert_int_equal(
        oauth2_conn_load(c, f.site, f.store, f.pool, key, ID, 43, NOW, 0),
        APR_SUCCESS);
    assert_true(c->whole);
    assert_int_equal(c->len, len);
    sf_close(&f);
}

/* A record of an older format or a malformed one is not remembered. */
static void test_conn_memo_bad_records(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    apr_time_t exp;
    oauth2_conn_t *c;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_int_equal(oauth2_conn_create(f.pool, &c), APR_SUCCESS);
    put(&f, ID, "not a session", 13, key);
    assert_int_equal(
        oauth2_conn_load(c, f.site, f.store, f.pool, key, ID, 43, NOW, 0),
        OAUTH2_EMALFORMED);
    assert_false(c->valid);
    assert_false(oauth2_conn_recall(c, f.site, f.store, ID, 43, 0, NOW, &exp));
    sf_close(&f);
}

static void test_conn_of_request(void **state)
{
    oauth2_request_t *r;
    oauth2_conn_t *c, *mine;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    r = sf_request(&f, "GET", "/", NULL);
    c = oauth2_conn_of(r);
    assert_non_null(c);
    assert_ptr_equal(oauth2_conn_of(r), c);
    assert_int_equal(oauth2_conn_create(f.pool, &mine), APR_SUCCESS);
    r = sf_request(&f, "GET", "/", NULL);
    r->conn = mine;
    assert_ptr_equal(oauth2_conn_of(r), mine);
    sf_close(&f);
}

/* Cookie headers, odd ones among them, for the header memo. */
static const char *const headers[] = {
    "a=1; oauth2_session=X; b=2",
    "oauth2_session=X",
    "_ga=GA1.1.1; theme=dark; oauth2_session=X; lang=en",
    "oauth2_session=X; oauth2_state_q=S; c=3",
    "a=1;oauth2_session=X;oauth2_session=Y;b=2",
    "oauth2_session=~2; oauth2_session_1=A; oauth2_session_2=B; c=3",
    "a=oauth2_session; oauth2_session=\"X\"",
    "a=1, oauth2_session=X; b=2",
    " oauth2_session = X ;a=1",
    "oauth2_session=",
    "a=1; b=2",
    "",
};

/* oauth2_conn_cookies into f/stripped for a copy of h at a new address
 * (as the next request's header is), checked against the engine's own
 * search and strip. */
static void cookies_of(oauth2_conn_t *c, const void *owner, apr_pool_t *p,
                       const char *h, oauth2_cookie_found_t *f,
                       const char **stripped)
{
    const char *copy = apr_pstrdup(p, h), *want;
    oauth2_cookie_found_t w;
    apr_size_t i;

    oauth2_conn_cookies(c, owner, p, copy, "oauth2_session", f, stripped);
    oauth2_cookie_find_own(copy, "oauth2_session", &w);
    want = oauth2_cookie_strip(p, copy, "oauth2_session", &w);
    assert_ptr_equal(f->header, copy);
    assert_int_equal(f->len, w.len);
    assert_int_equal(f->n, w.n);
    assert_int_equal(f->alone, w.alone);
    for (i = 0; i < w.n; i++) {
        assert_ptr_equal(f->at[i].name, w.at[i].name);
        assert_int_equal(f->at[i].name_len, w.at[i].name_len);
        assert_ptr_equal(f->at[i].value, w.at[i].value);
        assert_int_equal(f->at[i].value_len, w.at[i].value_len);
    }
    if (want == NULL) {
        assert_null(*stripped);
    }
    else {
        assert_non_null(*stripped);
        assert_string_equal(*stripped, want);
        assert_true(*stripped != c->header.stripped); /* the request's own */
    }
}

/* The header memo answers as the engine does, for each header right after
 * itself (from the memo) and after another (read anew); what it keeps is
 * the last header that names the session cookie. */
static void test_conn_cookies_same_answers(void **state)
{
    oauth2_conn_t *c;
    oauth2_cookie_found_t f;
    const char *stripped;
    size_t i, j;
    sf_t f0;

    (void)state;
    sf_open(&f0, NULL);
    assert_int_equal(oauth2_conn_create(f0.pool, &c), APR_SUCCESS);
    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        for (j = 0; j < sizeof(headers) / sizeof(headers[0]); j++) {
            cookies_of(c, f0.site, f0.pool, headers[i], &f, &stripped);
            cookies_of(c, f0.site, f0.pool, headers[j], &f, &stripped);
            cookies_of(c, f0.site, f0.pool, headers[j], &f, &stripped);
            assert_int_equal(c->header.valid, f.n > 0);
            if (c->header.valid) {
                assert_string_equal(c->header.text, headers[j]);
            }
        }
    }
    sf_close(&f0);
}

/* A kept header is used only for the same bytes, the same site and the
 * same cookie name: a byte changed anywhere (in place, same length), or
 * another site or name, reads the header anew. */
static void test_conn_cookies_only_same_bytes(void **state)
{
    oauth2_conn_t *c;
    oauth2_cookie_found_t f;
    const char *stripped;
    char *h;
    apr_size_t i, len;
    sf_t f0;

    (void)state;
    sf_open(&f0, NULL);
    assert_int_equal(oauth2_conn_create(f0.pool, &c), APR_SUCCESS);
    h = apr_pstrdup(f0.pool, "a=1; oauth2_session=SESSIONID; b=2");
    len = strlen(h);
    for (i = 0; i < len; i++) {
        char was = h[i];

        oauth2_conn_cookies(c, f0.site, f0.pool, h, "oauth2_session", &f,
                            &stripped);
        h[i] = was == 'x' ? 'y' : 'x';
        cookies_of(c, f0.site, f0.pool, h, &f, &stripped);
        h[i] = was;
    }
    oauth2_conn_cookies(c, f0.site, f0.pool, h, "oauth2_session", &f,
                        &stripped);
    assert_true(c->header.valid);
    /* Another site (owner) or another name: read anew, kept anew. */
    oauth2_conn_cookies(c, f0.store, f0.pool, h, "oauth2_session", &f,
                        &stripped);
    assert_ptr_equal(c->header.owner, f0.store);
    oauth2_conn_cookies(c, f0.store, f0.pool, h, "b", &f, &stripped);
    assert_int_equal(f.n, 1);
    assert_string_equal(stripped, "a=1; oauth2_session=SESSIONID");
    assert_string_equal(c->header.base, "b");
    sf_close(&f0);
}

/* A connection's first header is not kept (a connection that carries one
 * request pays for no copy); its second is, and the third is answered
 * from it. */
static void test_conn_cookies_first_not_kept(void **state)
{
    oauth2_conn_t *c;
    oauth2_cookie_found_t f;
    const char *stripped;
    sf_t f0;

    (void)state;
    sf_open(&f0, NULL);
    assert_int_equal(oauth2_conn_create(f0.pool, &c), APR_SUCCESS);
    cookies_of(c, f0.site, f0.pool, headers[0], &f, &stripped);
    assert_false(c->header.valid);
    assert_null(c->header.text);
    cookies_of(c, f0.site, f0.pool, headers[0], &f, &stripped);
    assert_true(c->header.valid);
    assert_string_equal(c->header.text, headers[0]);
    cookies_of(c, f0.site, f0.pool, headers[0], &f, &stripped);
    assert_true(c->header.valid);
    sf_close(&f0);
}

/* Not kept: a header without the session cookie, one over
 * OAUTH2_CONN_MAX_HEADER; a header that grows by a byte a request grows
 * the buffers by doubling, not once a request. */
static void test_conn_cookies_bounds(void **state)
{
    oauth2_conn_t *c;
    oauth2_cookie_found_t f;
    const char *stripped;
    char *big;
    apr_size_t i, grown = 0, cap = 0;
    sf_t f0;

    (void)state;
    sf_open(&f0, NULL);
    assert_int_equal(oauth2_conn_create(f0.pool, &c), APR_SUCCESS);
    oauth2_conn_cookies(c, f0.site, f0.pool, "a=1; b=2", "oauth2_session", &f,
                        &stripped);
    assert_false(c->header.valid);
    big = apr_palloc(f0.pool, OAUTH2_CONN_MAX_HEADER + 2);
    memset(big, 'v', OAUTH2_CONN_MAX_HEADER + 1);
    memcpy(big, "oauth2_session=X; b=", 20);
    big[OAUTH2_CONN_MAX_HEADER + 1] = '\0';
    cookies_of(c, f0.site, f0.pool, big, &f, &stripped);
    assert_false(c->header.valid);
    for (i = 20; i < 4000; i++) {
        big[i] = '\0';
        cookies_of(c, f0.site, f0.pool, big, &f, &stripped);
        assert_true(c->header.valid);
        grown += c->header.text_cap != cap;
        cap = c->header.text_cap;
        big[i] = 'v';
    }
    assert_true(grown <= 6); /* 256, 512, ... 4096 */
    sf_close(&f0);
}

/* A connection's pool is recycled (mpm_event clears a connection's pool
 * and hands it to the next one): the new memo sits where the old one was,
 * every field it does not clear still holding the last connection's
 * session, sealed value and header. None of it answers: not the same id,
 * not the same sealed value, not the same header (not even kept on the
 * first lookup); a failed load and a failed keep leave nothing either. */
static void test_conn_recycled_pool_answers_nothing(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_store_meta_t epoch;
    oauth2_cookie_found_t fc;
    oauth2_cookie_t part = { "oauth2_session", 14, "SEALEDVALUE", 11 };
    apr_pool_t *p;
    const char *rec, *stripped;
    apr_size_t len, got;
    apr_time_t exp;
    oauth2_conn_t *c, *c2;
    char buf[256];
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    rec = sf_record(&f, CLAIMS, NULL, 0, &len);
    put(&f, ID, rec, len, key);
    assert_int_equal(oauth2_store_get_prefix(f.store, f.pool, key, NOW, buf,
                                             sizeof(buf), &got, &epoch),
                     APR_SUCCESS);
    apr_pool_create(&p, f.pool);
    assert_int_equal(oauth2_conn_create(p, &c), APR_SUCCESS);
    assert_int_equal(
        oauth2_conn_load(c, f.site, f.store, p, key, ID, 43, NOW, 0),
        APR_SUCCESS);
    assert_int_equal(oauth2_conn_cookie_keep(c, f.site, "SEALEDVALUE", 11, rec,
                                             len, LATER(600), &epoch),
                     APR_SUCCESS);
    assert_true(oauth2_conn_cookie_recall(c, f.site, f.store, &part, 1, NOW));
    cookies_of(c, f.site, p, headers[0], &fc, &stripped);
    cookies_of(c, f.site, p, headers[0], &fc, &stripped);
    assert_true(c->header.valid);

    apr_pool_clear(p);
    assert_int_equal(oauth2_conn_create(p, &c2), APR_SUCCESS);
    assert_ptr_equal(c2, c); /* the same bytes, the old session in them */
    assert_false(oauth2_conn_recall(c2, f.site, f.store, ID, 43, 0, NOW, &exp));
    assert_false(oauth2_conn_cookie_recall(c2, f.site, f.store, &part, 1, NOW));
    cookies_of(c2, f.site, p, headers[0], &fc, &stripped);
    assert_false(c2->header.valid); /* computed, and not kept the first time */
    /* A load of an id the store does not have; a keep of a bad record. */
    memset(key, 0x55, sizeof(key));
    assert_int_equal(
        oauth2_conn_load(c2, f.site, f.store, p, key, ID, 43, NOW, 0),
        OAUTH2_ENOTFOUND);
    assert_false(oauth2_conn_recall(c2, f.site, f.store, ID, 43, 0, NOW, &exp));
    assert_int_not_equal(oauth2_conn_cookie_keep(c2, f.site, "SEALEDVALUE", 11,
                                                 "junk", 4, LATER(600), &epoch),
                         APR_SUCCESS);
    assert_false(oauth2_conn_cookie_recall(c2, f.site, f.store, &part, 1, NOW));
    sf_close(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_conn_memo_same_and_changed),
        T(test_conn_memo_hot_part),
        T(test_conn_memo_large_hot_part),
        T(test_conn_memo_bad_records),
        T(test_conn_of_request),
        T(test_conn_cookies_same_answers),
        T(test_conn_cookies_only_same_bytes),
        T(test_conn_cookies_first_not_kept),
        T(test_conn_cookies_bounds),
        T(test_conn_recycled_pool_answers_nothing),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
