/*
 * test_store.c: unit tests for src/store.c, the store interface: the shm
 * store with its extra operations (a prefix read, the version check of a
 * record read before, counters, the rate-limited report) on a real
 * shared-memory table; a store of another kind (the basic operations
 * only, as a socache store is) where those answer "not supported" or fall
 * back to a whole read; records sealed for a remote store, bound to their
 * key.
 */
#include "store.h"

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

static const unsigned char k1[OAUTH2_STORE_KEY_LEN] =
    "key one.........................";
static const unsigned char k2[OAUTH2_STORE_KEY_LEN] =
    "key two.........................";

/* Does buf hold text anywhere? */
static int contains(const char *buf, apr_size_t len, const char *text)
{
    apr_size_t i, n = strlen(text);

    for (i = 0; i + n <= len; i++) {
        if (memcmp(buf + i, text, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static void test_store_shm_basic(void **state)
{
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_string_equal(oauth2_store_name(f.store), "shm");
    assert_int_equal(
        oauth2_store_put(f.store, f.pool, k1, "hello", 5, LATER(60), NOW),
        APR_SUCCESS);
    assert_int_equal(
        oauth2_store_get(f.store, f.pool, k1, NOW, &rec, &len, &meta),
        APR_SUCCESS);
    assert_int_equal(len, 5);
    assert_memory_equal(rec, "hello", 5);
    assert_int_equal(meta.expires, LATER(60));
    assert_int_not_equal(meta.stamp, 0);
    assert_int_equal(
        oauth2_store_get(f.store, f.pool, k1, LATER(60), &rec, &len, &meta),
        OAUTH2_ENOTFOUND);
    assert_int_equal(oauth2_store_add(f.store, f.pool, k2, LATER(10), NOW),
                     APR_SUCCESS);
    assert_int_equal(oauth2_store_add(f.store, f.pool, k2, LATER(10), NOW),
                     OAUTH2_EREPLAY);
    assert_int_equal(oauth2_store_link(f.store, f.pool, k2, k1, LATER(10), NOW),
                     APR_SUCCESS);
    assert_int_equal(oauth2_store_link(f.store, f.pool, k2, k2, LATER(10), NOW),
                     OAUTH2_EREPLAY);
    assert_int_equal(oauth2_store_touch(f.store, f.pool, k1, LATER(90), NOW),
                     APR_SUCCESS);
    assert_int_equal(oauth2_store_remove(f.store, f.pool, k1), APR_SUCCESS);
    assert_int_equal(
        oauth2_store_get(f.store, f.pool, k1, NOW, &rec, &len, &meta),
        OAUTH2_ENOTFOUND);
    sf_close(&f);
}

/* A prefix read copies no more than asked and says the whole length. */
static void test_store_shm_prefix(void **state)
{
    oauth2_store_meta_t meta;
    char big[3000], buf[100];
    apr_size_t len = 0;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    memset(big, 'a', sizeof(big));
    big[0] = 'X';
    assert_int_equal(
        oauth2_store_put(f.store, f.pool, k1, big, sizeof(big), LATER(60), NOW),
        APR_SUCCESS);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(oauth2_store_get_prefix(f.store, f.pool, k1, NOW, buf,
                                             sizeof(buf), &len, &meta),
                     APR_SUCCESS);
    assert_int_equal(len, sizeof(big));
    assert_int_equal(buf[0], 'X');
    assert_int_equal(meta.expires, LATER(60));
    assert_int_equal(oauth2_store_get_prefix(f.store, f.pool, k2, NOW, buf,
                                             sizeof(buf), &len, &meta),
                     OAUTH2_ENOTFOUND);
    sf_close(&f);
}

/* The version check: unchanged and a touch pass (with the new expiry); a
 * rewrite, a removal or the expiry do not. */
static void test_store_shm_check(void **state)
{
    oauth2_store_meta_t meta, again;
    apr_time_t exp = 0;
    char buf[16];
    apr_size_t len;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_true(oauth2_store_can_check(f.store));
    oauth2_store_put(f.store, f.pool, k1, "v1", 2, LATER(60), NOW);
    oauth2_store_get_prefix(f.store, f.pool, k1, NOW, buf, sizeof(buf), &len,
                            &meta);
    assert_int_equal(oauth2_store_check(f.store, &meta, NOW, &exp),
                     APR_SUCCESS);
    assert_int_equal(exp, LATER(60));
    oauth2_store_touch(f.store, f.pool, k1, LATER(120), NOW);
    assert_int_equal(oauth2_store_check(f.store, &meta, NOW, &exp),
                     APR_SUCCESS);
    assert_int_equal(exp, LATER(120));
    assert_int_equal(oauth2_store_check(f.store, &meta, LATER(120), &exp),
                     OAUTH2_ENOTFOUND);
    oauth2_store_put(f.store, f.pool, k1, "v2", 2, LATER(60), NOW);
    assert_int_equal(oauth2_store_check(f.store, &meta, NOW, &exp),
                     OAUTH2_ENOTFOUND);
    oauth2_store_get_prefix(f.store, f.pool, k1, NOW, buf, sizeof(buf), &len,
                            &again);
    assert_int_not_equal(again.stamp, meta.stamp);
    oauth2_store_remove(f.store, f.pool, k1);
    assert_int_equal(oauth2_store_check(f.store, &again, NOW, &exp),
                     OAUTH2_ENOTFOUND);
    sf_close(&f);
}

static void test_store_shm_stats_report(void **state)
{
    oauth2_store_stats_t st;
    oauth2_store_report_t rep;
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    int i;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_int_equal(oauth2_store_stats(f.store, &st), APR_SUCCESS);
    assert_int_equal(st.capacity, 256);
    assert_int_equal(st.live, 0);
    assert_true(st.size > 0);
    assert_int_equal(
        oauth2_store_report(f.store, NOW, apr_time_from_sec(60), &rep), 0);
    /* Far more records than slots: live ones are evicted for room. */
    for (i = 0; i < 2000; i++) {
        memset(key, 0, sizeof(key));
        memcpy(key, &i, sizeof(i));
        oauth2_store_put(f.store, f.pool, key, "r", 1, LATER(600), NOW);
    }
    assert_int_equal(oauth2_store_stats(f.store, &st), APR_SUCCESS);
    assert_true(st.evictions > 0);
    assert_true(st.live <= 256);
    assert_int_equal(
        oauth2_store_report(f.store, LATER(61), apr_time_from_sec(60), &rep),
        1);
    assert_true(rep.evictions > 0);
    assert_int_equal(rep.capacity, 256);
    /* Once per interval. */
    assert_int_equal(
        oauth2_store_report(f.store, LATER(62), apr_time_from_sec(60), &rep),
        0);
    sf_close(&f);
}

/* A store with the basic operations only: a prefix read is a whole read
 * and a copy; the rest is not supported. */
static void test_store_other_kind(void **state)
{
    oauth2_store_t *st;
    oauth2_store_meta_t meta;
    oauth2_store_stats_t stats;
    oauth2_store_report_t rep;
    char buf[4];
    apr_size_t len = 0;
    apr_time_t exp;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    st = sf_mem_store(&f, NULL);
    assert_string_equal(oauth2_store_name(st), "memory");
    assert_int_equal(
        oauth2_store_put(st, f.pool, k1, "abcdef", 6, LATER(60), NOW),
        APR_SUCCESS);
    assert_int_equal(oauth2_store_get_prefix(st, f.pool, k1, NOW, buf,
                                             sizeof(buf), &len, &meta),
                     APR_SUCCESS);
    assert_int_equal(len, 6);
    assert_memory_equal(buf, "abcd", 4);
    assert_false(oauth2_store_can_check(st));
    assert_int_equal(oauth2_store_check(st, &meta, NOW, &exp), APR_ENOTIMPL);
    assert_int_equal(oauth2_store_stats(st, &stats), APR_ENOTIMPL);
    assert_int_equal(stats.capacity, 0);
    assert_int_equal(oauth2_store_report(st, NOW, apr_time_from_sec(60), &rep),
                     0);
    sf_close(&f);
}

/* A remote store holds sealed records: no plaintext, bound to the key. */
static void test_store_sealed(void **state)
{
    oauth2_store_t *st;
    oauth2_store_meta_t meta;
    const char *raw;
    char *rec, buf[64];
    apr_size_t len = 0, rawlen = 0;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    st = sf_mem_store(&f, f.site->seal_store);
    assert_int_equal(
        oauth2_store_put(st, f.pool, k1, "secret token", 12, LATER(60), NOW),
        APR_SUCCESS);
    raw = sf_mem_raw(k1, &rawlen);
    assert_non_null(raw);
    assert_int_equal(rawlen, 12 + OAUTH2_SEAL_OVERHEAD);
    assert_false(contains(raw, rawlen, "secret"));
    assert_int_equal(oauth2_store_get(st, f.pool, k1, NOW, &rec, &len, &meta),
                     APR_SUCCESS);
    assert_int_equal(len, 12);
    assert_memory_equal(rec, "secret token", 12);
    /* The prefix read opens the record too (never the extra op). */
    assert_int_equal(oauth2_store_get_prefix(st, f.pool, k1, NOW, buf,
                                             sizeof(buf), &len, &meta),
                     APR_SUCCESS);
    assert_memory_equal(buf, "secret token", 12);
    /* Moved to another key: as good as none. */
    raw = sf_mem_raw(k1, &rawlen);
    sf_mem_put_raw(k2, raw, rawlen, LATER(60));
    assert_int_equal(oauth2_store_get(st, f.pool, k2, NOW, &rec, &len, &meta),
                     OAUTH2_ENOTFOUND);
    /* Tampered: as good as none. */
    {
        char *t = apr_pmemdup(f.pool, sf_mem_raw(k1, &rawlen), rawlen);

        t[rawlen - 1] ^= 1;
        sf_mem_put_raw(k1, t, rawlen, LATER(60));
    }
    assert_int_equal(oauth2_store_get(st, f.pool, k1, NOW, &rec, &len, &meta),
                     OAUTH2_ENOTFOUND);
    sf_close(&f);
}

static apr_status_t always(void *ctx, const oauth2_store_meta_t *meta,
                           apr_time_t now, apr_time_t *expires)
{
    (void)ctx;
    (void)meta;
    (void)now;
    (void)expires;
    return APR_SUCCESS;
}

/* A sealed store never checks a copy: its records must be opened. */
static void test_store_sealed_never_checks(void **state)
{
    static const oauth2_store_extra_t extra = { .check = always };
    oauth2_store_t *plain, *sealed, *mem;
    oauth2_store_meta_t meta;
    apr_time_t exp;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    mem = sf_mem_store(&f, NULL);
    (void)mem;
    memset(&meta, 0, sizeof(meta));
    plain = oauth2_store_create_extra(f.pool, NULL, &extra, NULL, NULL);
    sealed = oauth2_store_create_extra(f.pool, NULL, &extra, NULL,
                                       f.site->seal_store);
    assert_true(oauth2_store_can_check(plain));
    assert_int_equal(oauth2_store_check(plain, &meta, NOW, &exp), APR_SUCCESS);
    assert_false(oauth2_store_can_check(sealed));
    assert_int_equal(oauth2_store_check(sealed, &meta, NOW, &exp),
                     APR_ENOTIMPL);
    sf_close(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_store_shm_basic),           T(test_store_shm_prefix),
        T(test_store_shm_check),           T(test_store_shm_stats_report),
        T(test_store_other_kind),          T(test_store_sealed),
        T(test_store_sealed_never_checks),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
