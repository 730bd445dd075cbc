/*
 * test_session_index.c: unit tests for src/session_index.c, the
 * back-channel logout index (OpenID Connect Back-Channel Logout 1.0 §2.7),
 * on a real shm store: every session of a sid or a sub is found and
 * removed, however many, also when the hint record is lost; other users'
 * sessions stay; an index entry never replaces another; a second logout
 * finds nothing.
 */
#include "session_index.h"

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
#include "store.h"

#define NOW      SF_NOW
#define LATER(s) (NOW + apr_time_from_sec(s))

/* Stores session number i of claims under a key of its own and indexes
 * it until max_expires (0: its own max age); the key in key. */
static void login_until(sf_t *f, const char *claims, int i, unsigned char *key,
                        apr_time_t max_expires)
{
    oauth2_request_t *r = sf_request(f, "GET", "/oauth2/callback", NULL);
    oauth2_session_t s;
    const char *rec, *id = apr_psprintf(f->pool, "session-%d", i);
    apr_size_t len;

    rec = sf_record(f, claims, NULL, 0, &len);
    assert_int_equal(oauth2_session_decode(rec, len, &s), APR_SUCCESS);
    if (max_expires != 0) {
        s.max_expires = max_expires;
    }
    assert_int_equal(oauth2_site_key(f->site, id, strlen(id), key),
                     APR_SUCCESS);
    assert_int_equal(oauth2_store_put(f->site->store, f->pool, key, rec, len,
                                      LATER(3600), NOW),
                     APR_SUCCESS);
    assert_int_equal(oauth2_session_index_add(f->site, r, &s, key),
                     APR_SUCCESS);
}

static void login(sf_t *f, const char *claims, int i, unsigned char *key)
{
    login_until(f, claims, i, key, 0);
}

static int alive(sf_t *f, const unsigned char *key)
{
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;

    return oauth2_store_get(f->site->store, f->pool, key, NOW, &rec, &len,
                            &meta)
           == APR_SUCCESS;
}

/* A logout at now of kind:value that must succeed: the sessions ended. */
static int logout_at(sf_t *f, const char *kind, const char *value,
                     apr_time_t now)
{
    oauth2_request_t *r =
        sf_request(f, "POST", "/oauth2/backchannel-logout", NULL);
    int n = -1;

    r->now = now;
    assert_int_equal(oauth2_session_index_logout(f->site, r, kind, value, &n),
                     APR_SUCCESS);
    return n;
}

static int logout(sf_t *f, const char *kind, const char *value)
{
    return logout_at(f, kind, value, NOW);
}

static void test_session_index_every_session_of_a_sub(void **state)
{
    unsigned char keys[20][OAUTH2_STORE_KEY_LEN], bob[OAUTH2_STORE_KEY_LEN];
    int i;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    for (i = 0; i < 20; i++) {
        login(&f, "{\"sub\":\"dave\"}", i, keys[i]);
    }
    login(&f, "{\"sub\":\"bob\"}", 100, bob);
    assert_int_equal(logout(&f, "sub", "dave"), 20);
    for (i = 0; i < 20; i++) {
        assert_false(alive(&f, keys[i]));
    }
    assert_true(alive(&f, bob));
    assert_int_equal(logout(&f, "sub", "dave"), 0);
    assert_int_equal(logout(&f, "sub", "bob"), 1);
    assert_string_equal(sf_log(), "");
    sf_close(&f);
}

/* Two sessions of one sid (two logins in one browser) both end; the
 * sub's index finds them too. */
static void test_session_index_sid(void **state)
{
    unsigned char a[OAUTH2_STORE_KEY_LEN], b[OAUTH2_STORE_KEY_LEN],
        c[OAUTH2_STORE_KEY_LEN];
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    login(&f, "{\"sub\":\"alice\",\"sid\":\"s-1\"}", 1, a);
    login(&f, "{\"sub\":\"alice\",\"sid\":\"s-1\"}", 2, b);
    login(&f, "{\"sub\":\"alice\",\"sid\":\"s-2\"}", 3, c);
    assert_int_equal(logout(&f, "sid", "s-1"), 2);
    assert_false(alive(&f, a));
    assert_false(alive(&f, b));
    assert_true(alive(&f, c));
    assert_int_equal(logout(&f, "sub", "alice"), 1);
    assert_false(alive(&f, c));
    sf_close(&f);
}

/* Re-review B: a sub that spells another's entry ("dave#0", entry 0 of
 * "dave" once) is a user of its own: dave's logout ends dave's session
 * only, and that one. */
static void test_session_index_value_with_hash(void **state)
{
    unsigned char dave[OAUTH2_STORE_KEY_LEN], other[OAUTH2_STORE_KEY_LEN];
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    login(&f, "{\"sub\":\"dave\"}", 1, dave);
    login(&f, "{\"sub\":\"dave#0\"}", 2, other);
    assert_int_equal(logout(&f, "sub", "dave"), 1);
    assert_false(alive(&f, dave));
    assert_true(alive(&f, other));
    assert_int_equal(logout(&f, "sub", "dave#0"), 1);
    assert_false(alive(&f, other));
    sf_close(&f);
}

/* Re-review D: the entries of ended sessions are free again, so one
 * account that logs in and out many times (more than an add tries)
 * still gets its newest session indexed, and costs no more room. */
static void test_session_index_ended_sessions_free_entries(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN], last[OAUTH2_STORE_KEY_LEN];
    int i;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    for (i = 0; i < OAUTH2_INDEX_MAX + 20; i++) {
        login(&f, "{\"sub\":\"mallory\",\"sid\":\"m\"}", i, key);
        assert_int_equal(oauth2_store_remove(f.store, f.pool, key),
                         APR_SUCCESS);
    }
    login(&f, "{\"sub\":\"mallory\",\"sid\":\"m\"}", i, last);
    assert_int_equal(logout(&f, "sub", "mallory"), 1);
    assert_false(alive(&f, last));
    sf_close(&f);
}

/* A store that fails: the session is not indexed, and the log says so. */
static void test_session_index_store_failure(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_session_t s;
    const char *rec;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    f.site->store = sf_mem_store(&f, NULL);
    sf_mem_fail(OAUTH2_ESTORE);
    rec = sf_record(&f, "{\"sub\":\"frank\"}", NULL, 0, &len);
    assert_int_equal(oauth2_session_decode(rec, len, &s), APR_SUCCESS);
    memset(key, 7, sizeof(key));
    assert_int_equal(oauth2_session_index_add(
                         f.site, sf_request(&f, "GET", "/", NULL), &s, key),
                     OAUTH2_ESTORE);
    assert_non_null(strstr(sf_log(), "OA2113: cannot index a session under "
                                     "its sub for back-channel logout"));
    sf_mem_fail(APR_SUCCESS);
    sf_close(&f);
}

/* Third review J: the walk does not stop at a gap. 65 entries that
 * expired before a 66th: the logout still finds that one. */
static void test_session_index_gap(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN], late[OAUTH2_STORE_KEY_LEN];
    int i;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    for (i = 0; i < 65; i++) {
        login_until(&f, "{\"sub\":\"mallory\"}", i, key, LATER(10));
    }
    login(&f, "{\"sub\":\"mallory\"}", i, late);
    assert_int_equal(logout_at(&f, "sub", "mallory", LATER(20)), 1);
    assert_false(alive(&f, late));
    sf_close(&f);
}

/* Third review I: a user with more live sessions than the index numbers
 * (OAUTH2_INDEX_MAX) still has every live session indexed: each login
 * beyond ends one of the others (OA2114), and the logout ends the rest. A
 * store of another kind, whose entries do not die with their session. */
static void test_session_index_full_ends_one(void **state)
{
    unsigned char(*keys)[OAUTH2_STORE_KEY_LEN];
    int i, n = OAUTH2_INDEX_MAX + 6, left = 0;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    f.site->store = sf_mem_store(&f, NULL);
    keys = apr_palloc(f.pool, (apr_size_t)n * OAUTH2_STORE_KEY_LEN);
    for (i = 0; i < n; i++) {
        login(&f, "{\"sub\":\"mallory\"}", i, keys[i]);
    }
    assert_non_null(strstr(sf_log(), "OA2114: 1024 sessions of the sub "
                                     "mallory at once"));
    for (i = 0; i < n; i++) {
        left += alive(&f, keys[i]);
    }
    assert_int_equal(left, OAUTH2_INDEX_MAX);
    assert_int_equal(logout(&f, "sub", "mallory"), OAUTH2_INDEX_MAX);
    for (i = 0; i < n; i++) {
        assert_false(alive(&f, keys[i]));
    }
    sf_close(&f);
}

/* Third review I: where entries outlive their session (socache), a local
 * logout removes them, so logging in and out costs no numbers. */
static void test_session_index_forget(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN], last[OAUTH2_STORE_KEY_LEN];
    oauth2_request_t *r;
    int i;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    f.site->store = sf_mem_store(&f, NULL);
    for (i = 0; i < OAUTH2_INDEX_MAX + 20; i++) {
        login(&f, "{\"sub\":\"mallory\",\"sid\":\"m\"}", i, key);
        r = sf_request(&f, "GET", "/oauth2/logout", NULL);
        oauth2_session_index_forget(f.site, r, key);
        assert_int_equal(oauth2_store_remove(f.site->store, f.pool, key),
                         APR_SUCCESS);
    }
    login(&f, "{\"sub\":\"mallory\",\"sid\":\"m\"}", i, last);
    assert_null(strstr(sf_log(), "OA2114"));
    assert_int_equal(logout(&f, "sid", "m"), 1);
    assert_false(alive(&f, last));
    sf_close(&f);
}

/* A store that fails during the walk: the logout says so. */
static void test_session_index_logout_store_failure(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    int n = -1;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    f.site->store = sf_mem_store(&f, NULL);
    login(&f, "{\"sub\":\"frank\"}", 1, key);
    sf_mem_fail(OAUTH2_ESTORE);
    assert_int_equal(
        oauth2_session_index_logout(f.site, sf_request(&f, "POST", "/", NULL),
                                    "sub", "frank", &n),
        OAUTH2_ESTORE);
    sf_mem_fail(APR_SUCCESS);
    assert_true(alive(&f, key));
    sf_close(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_session_index_every_session_of_a_sub),
        T(test_session_index_sid),
        T(test_session_index_value_with_hash),
        T(test_session_index_ended_sessions_free_entries),
        T(test_session_index_store_failure),
        T(test_session_index_gap),
        T(test_session_index_full_ends_one),
        T(test_session_index_forget),
        T(test_session_index_logout_store_failure),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
