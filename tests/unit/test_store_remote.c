/*
 * test_store_remote.c: unit tests for src/store_remote.c, the store over a
 * shared cache, with an in-process cache that can misbehave the way
 * apr_redis and apr_memcache do: fail a call, refuse connections, and —
 * after a failure, while they think the server dead — answer "not found"
 * to every read and remove without asking; "not found" said in the ways
 * the socache providers say it (APR_NOTFOUND, APR_ENOENT). (The real thing,
 * redis-server and memcached with a link cut in the middle, is in
 * sessions.test.mjs.)
 */
#include "store_remote.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "crypto.h"
#include "errors.h"
#include "seal.h"

static apr_pool_t *pool;

/* The cache: values by key, and its faults. */
typedef struct {
    apr_hash_t *values;
    int fail_next; /* calls that fail before the next one works */
    int refuse;    /* connections refused (every call) */
    int dead;      /* "thinks the server dead": reads and removes say
                      not found, writes fail */
    int calls;
    apr_global_mutex_t *call_mutex, *add_mutex;
    int unguarded; /* calls made without the call mutex held */
    int in_add;    /* calls made with the add mutex held */
    int clobber;   /* writes another host overwrites at once */
    const char *logged;
} cache_t;

/* Whether m is held (by this thread: a non-recursive mutex). */
static int held(apr_global_mutex_t *m)
{
    if (apr_global_mutex_trylock(m) == APR_SUCCESS) {
        apr_global_mutex_unlock(m);
        return 0;
    }
    return 1;
}

static apr_status_t fault(cache_t *c)
{
    c->calls++;
    c->unguarded += !held(c->call_mutex);
    c->in_add += held(c->add_mutex);
    if (c->refuse) {
        return APR_ECONNREFUSED;
    }
    if (c->fail_next > 0) {
        c->fail_next--;
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static apr_status_t c_retrieve(void *ctx, apr_pool_t *p,
                               const unsigned char *key, unsigned char *buf,
                               unsigned int *len)
{
    cache_t *c = ctx;
    apr_status_t rv = fault(c);
    const char *v;

    if (rv != APR_SUCCESS) {
        return rv;
    }
    v = apr_hash_get(c->values, key, OAUTH2_STORE_KEY_LEN);
    if (c->dead || v == NULL) {
        return APR_NOTFOUND;
    }
    memcpy(buf, v + sizeof(unsigned int), *(const unsigned int *)v);
    *len = *(const unsigned int *)v;
    return APR_SUCCESS;
}

static apr_status_t c_store(void *ctx, apr_pool_t *p, const unsigned char *key,
                            apr_time_t expires, const unsigned char *val,
                            unsigned int len)
{
    cache_t *c = ctx;
    apr_status_t rv = fault(c);
    char *v;

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (c->dead) {
        return APR_NOTFOUND; /* as apr_memcache says it */
    }
    v = apr_palloc(pool, sizeof(unsigned int) + len);
    memcpy(v, &len, sizeof(len));
    memcpy(v + sizeof(len), val, len);
    if (c->clobber > 0 && len > 0) {
        c->clobber--;
        v[sizeof(len) + len - 1] ^= 1;
    }
    apr_hash_set(c->values, apr_pmemdup(pool, key, OAUTH2_STORE_KEY_LEN),
                 OAUTH2_STORE_KEY_LEN, v);
    return APR_SUCCESS;
}

static apr_status_t c_remove(void *ctx, apr_pool_t *p, const unsigned char *key)
{
    cache_t *c = ctx;
    apr_status_t rv = fault(c);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (c->dead || apr_hash_get(c->values, key, OAUTH2_STORE_KEY_LEN) == NULL) {
        return APR_ENOENT; /* "not found" as some providers say it */
    }
    apr_hash_set(c->values, key, OAUTH2_STORE_KEY_LEN, NULL);
    return APR_SUCCESS;
}

static void c_log(void *ctx, const char *message)
{
    ((cache_t *)ctx)->logged = apr_pstrdup(pool, message);
}

static const oauth2_remote_ops_t calls = {
    c_retrieve,
    c_store,
    c_remove,
    c_log,
};

typedef struct {
    cache_t cache;
    oauth2_remote_locks_t locks;
    oauth2_store_t *store;
} fx_t;

static void fx_open(fx_t *fx, int sealed)
{
    apr_array_header_t *secrets = apr_array_make(pool, 1, sizeof(char *));
    oauth2_seal_t *seal = NULL;
    const char *err;

    memset(fx, 0, sizeof(*fx));
    fx->cache.values = apr_hash_make(pool);
    assert_int_equal(apr_global_mutex_create(&fx->cache.call_mutex, NULL,
                                             APR_LOCK_DEFAULT, pool),
                     APR_SUCCESS);
    assert_int_equal(apr_global_mutex_create(&fx->cache.add_mutex, NULL,
                                             APR_LOCK_DEFAULT, pool),
                     APR_SUCCESS);
    fx->locks.call = &fx->cache.call_mutex;
    fx->locks.add = &fx->cache.add_mutex;
    APR_ARRAY_PUSH(secrets, const char *) =
        "remote-test-secret-0123456789abcdefghijkl";
    if (sealed) {
        assert_int_equal(
            oauth2_seal_create(pool, secrets, "store", &seal, &err),
            APR_SUCCESS);
    }
    fx->store = oauth2_store_remote(
        pool, &calls, &fx->cache, "redis:127.0.0.1:1", seal, &fx->locks, NULL);
}

static void key_of(unsigned char *key, int n)
{
    memset(key, 0, OAUTH2_STORE_KEY_LEN);
    key[0] = (unsigned char)n;
    key[1] = 0x5a;
}

static apr_status_t get(fx_t *fx, int n, apr_time_t now, const char **rec)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_store_meta_t meta;
    char *r = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    key_of(key, n);
    rv = oauth2_store_get(fx->store, pool, key, now, &r, &len, &meta);
    *rec = rv == APR_SUCCESS ? apr_pstrmemdup(pool, r, len) : NULL;
    return rv;
}

static apr_status_t put(fx_t *fx, int n, const char *rec, apr_time_t expires)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];

    key_of(key, n);
    return oauth2_store_put(fx->store, pool, key, rec, strlen(rec), expires, 0);
}

static void test_store_remote_round_trip(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    const char *rec;
    fx_t fx;

    (void)state;
    fx_open(&fx, 1);
    assert_int_equal(put(&fx, 1, "hello", 1000), APR_SUCCESS);
    assert_int_equal(get(&fx, 1, 10, &rec), APR_SUCCESS);
    assert_string_equal(rec, "hello");
    /* The expiry travels in the value: expired at 1000. */
    assert_int_equal(get(&fx, 1, 1000, &rec), OAUTH2_ENOTFOUND);
    assert_int_equal(get(&fx, 2, 10, &rec), OAUTH2_ENOTFOUND);
    /* Touch rewrites the expiry. */
    key_of(key, 1);
    assert_int_equal(oauth2_store_touch(fx.store, pool, key, 5000, 10),
                     APR_SUCCESS);
    assert_int_equal(get(&fx, 1, 4000, &rec), APR_SUCCESS);
    /* Add: once. */
    key_of(key, 3);
    assert_int_equal(oauth2_store_add(fx.store, pool, key, 1000, 0),
                     APR_SUCCESS);
    assert_int_equal(oauth2_store_add(fx.store, pool, key, 1000, 0),
                     OAUTH2_EREPLAY);
    assert_int_equal(oauth2_store_link(fx.store, pool, key, key, 1000, 0),
                     OAUTH2_EREPLAY);
    assert_int_equal(oauth2_store_remove(fx.store, pool, key), APR_SUCCESS);
    assert_int_equal(oauth2_store_remove(fx.store, pool, key),
                     OAUTH2_ENOTFOUND);
    assert_int_equal(fx.cache.unguarded, 0);
    assert_false(held(fx.cache.call_mutex));
    assert_null(fx.cache.logged);
}

/* Links (the back-channel index): added once, under the host's add
 * lock, and refused when another host's write replaced ours between the
 * read and the read back (re-review C). */
static void test_store_remote_link(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN], a[OAUTH2_STORE_KEY_LEN],
        b[OAUTH2_STORE_KEY_LEN], got[OAUTH2_STORE_KEY_LEN];
    fx_t fx;

    (void)state;
    fx_open(&fx, 1);
    key_of(key, 40);
    key_of(a, 41);
    key_of(b, 42);
    assert_int_equal(oauth2_store_link(fx.store, pool, key, a, 1000, 0),
                     APR_SUCCESS);
    assert_int_equal(oauth2_store_link(fx.store, pool, key, b, 1000, 0),
                     OAUTH2_EREPLAY);
    assert_int_equal(oauth2_store_link_get(fx.store, pool, key, 10, got),
                     APR_SUCCESS);
    assert_memory_equal(got, a, sizeof(a));
    /* Each add under the add mutex: the first's read, write and read
     * back, the second's read; link_get outside it. */
    assert_int_equal(fx.cache.in_add, 4);
    assert_false(held(fx.cache.add_mutex));
    /* Another host's write lands between ours and the read back. */
    key_of(key, 43);
    fx.cache.clobber = 1;
    assert_int_equal(oauth2_store_link(fx.store, pool, key, a, 1000, 0),
                     OAUTH2_EREPLAY);
    /* Expired: free again. */
    key_of(key, 40);
    assert_int_equal(oauth2_store_link_get(fx.store, pool, key, 1000, got),
                     OAUTH2_ENOTFOUND);
    assert_int_equal(oauth2_store_link(fx.store, pool, key, b, 3000, 1000),
                     APR_SUCCESS);
    assert_int_equal(oauth2_store_link_get(fx.store, pool, key, 1001, got),
                     APR_SUCCESS);
    assert_memory_equal(got, b, sizeof(b));
    assert_false(held(fx.cache.add_mutex));
    assert_int_equal(fx.cache.unguarded, 0);
}

/* The cache holds sealed records only: no plaintext in it. */
static void test_store_remote_sealed(void **state)
{
    apr_hash_index_t *hi;
    fx_t fx;

    (void)state;
    fx_open(&fx, 1);
    assert_int_equal(put(&fx, 1, "alice@example.com", 1000), APR_SUCCESS);
    for (hi = apr_hash_first(pool, fx.cache.values); hi;
         hi = apr_hash_next(hi)) {
        const void *v;

        apr_hash_this(hi, NULL, NULL, (void **)&v);
        assert_null(
            memmem((const char *)v + sizeof(unsigned int), 60, "alice", 5));
    }
}

/* A failed call is tried once more (a fresh connection). */
static void test_store_remote_retries_once(void **state)
{
    const char *rec;
    fx_t fx;

    (void)state;
    fx_open(&fx, 0);
    fx.cache.fail_next = 1;
    assert_int_equal(put(&fx, 1, "v", 1000), APR_SUCCESS);
    fx.cache.fail_next = 1;
    assert_int_equal(get(&fx, 1, 10, &rec), APR_SUCCESS);
    fx.cache.fail_next = 2;
    assert_int_equal(get(&fx, 1, 10, &rec), OAUTH2_ESTORE);
    assert_non_null(strstr(fx.cache.logged, "OA2110: session store "
                                            "redis:127.0.0.1:1: read failed"));
    /* A refused connection is not tried again. */
    fx.cache.refuse = 1;
    fx.cache.calls = 0;
    assert_int_equal(put(&fx, 1, "v", 1000), OAUTH2_ESTORE);
    assert_int_equal(fx.cache.calls, 1);
    assert_non_null(strstr(fx.cache.logged, "OA2111"));
    assert_int_equal(fx.cache.unguarded, 0);
    assert_false(held(fx.cache.call_mutex));
}

/* After a failure, a client that thinks the server dead answers "not
 * found" to everything: that must not be "no such session" (a 401 for a
 * live session) nor "removed" (a logout that did nothing). */
static void test_store_remote_dead_client_is_no_answer(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    const char *rec;
    fx_t fx;

    (void)state;
    fx_open(&fx, 0);
    assert_int_equal(put(&fx, 1, "live", 1000), APR_SUCCESS);
    /* A plain "not found" before any failure is believed. */
    assert_int_equal(get(&fx, 9, 10, &rec), OAUTH2_ENOTFOUND);
    /* A failure, then the client thinks the server dead. */
    fx.cache.fail_next = 2;
    assert_int_equal(get(&fx, 1, 10, &rec), OAUTH2_ESTORE);
    fx.cache.dead = 1;
    assert_int_equal(get(&fx, 1, 10, &rec), OAUTH2_ESTORE);
    key_of(key, 1);
    assert_int_equal(oauth2_store_remove(fx.store, pool, key), OAUTH2_ESTORE);
    assert_non_null(strstr(fx.cache.logged, "OA2112"));
    /* The server answers again: the probe write reaches it, the record is
     * read, and "not found" is believed again. */
    fx.cache.dead = 0;
    assert_int_equal(get(&fx, 1, 10, &rec), APR_SUCCESS);
    assert_string_equal(rec, "live");
    assert_int_equal(get(&fx, 9, 10, &rec), OAUTH2_ENOTFOUND);
    assert_int_equal(fx.cache.unguarded, 0);
    assert_false(held(fx.cache.call_mutex));
}

static void test_store_remote_bounds(void **state)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    apr_size_t max = oauth2_remote_max_record();
    char *big = apr_pcalloc(pool, max + 2);
    fx_t fx;

    (void)state;
    fx_open(&fx, 0);
    key_of(key, 1);
    memset(big, 'a', max + 1);
    assert_int_equal(
        oauth2_store_put(fx.store, pool, key, big, max + 1, 1000, 0),
        OAUTH2_ETOOBIG);
    assert_int_equal(oauth2_store_put(fx.store, pool, key, big, max, 1000, 0),
                     APR_SUCCESS);
    assert_string_equal(oauth2_store_name(fx.store), "socache");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_remote_round_trip),
        cmocka_unit_test(test_store_remote_link),
        cmocka_unit_test(test_store_remote_sealed),
        cmocka_unit_test(test_store_remote_retries_once),
        cmocka_unit_test(test_store_remote_dead_client_is_no_answer),
        cmocka_unit_test(test_store_remote_bounds),
    };
    int rc;

    apr_initialize();
    oauth2_crypto_init();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
