/*
 * test_kept.c: unit tests for src/kept.c, the shared memory kept across
 * restarts (each "restart" below is one more call with the same kept
 * pool, as post_config is called again in the same parent): the session
 * table kept with its records and its mutex while its capacity is
 * unchanged, renewed (new memory, new mutex, no records) when it changes;
 * the provider view kept as it is in a graceful restart, emptied in a
 * full one, renewed when more providers need entries than it has; a
 * failure to make the memory or the mutex said as such; the generation's
 * mutexes re-attached in a child.
 */
#include "kept.h"
#include "metrics.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "config.h"
#include "crypto.h"
#include "provider_shm.h"
#include "store.h"

static apr_pool_t *pool;
static apr_pool_t *gen; /* a test's pconf: the mutexes' list lives in it */

static int gen_setup(void **state)
{
    (void)state;
    return apr_pool_create(&gen, pool) == APR_SUCCESS ? 0 : -1;
}

static int gen_teardown(void **state)
{
    (void)state;
    apr_pool_destroy(gen);
    return 0;
}

/* The glue's mutex maker: counts the mutexes made, fails when told. */
typedef struct {
    int made;
    int fail;
} maker_t;

static apr_status_t make_mutex(void *ctx, apr_pool_t *p, const char *type,
                               apr_global_mutex_t **mutex)
{
    maker_t *m = ctx;

    assert_non_null(type);
    if (m->fail) {
        return APR_EGENERAL;
    }
    m->made++;
    return apr_global_mutex_create(mutex, NULL, APR_LOCK_DEFAULT, p);
}

static const unsigned char key1[OAUTH2_STORE_KEY_LEN] = { 1 };

/* The session table of capacity (kp kept across "restarts"); its store
 * holds key1 or not. */
static oauth2_store_t *table(apr_pool_t *kp, oauth2_kept_t *k,
                             apr_uint32_t capacity, maker_t *m)
{
    oauth2_shm_t *t = NULL;
    const char *err = NULL;
    int attach = -1;

    assert_int_equal(oauth2_kept_table(gen, kp, k, capacity, make_mutex, m, &t,
                                       &attach, &err),
                     APR_SUCCESS);
    assert_int_equal(attach, 1);
    assert_int_equal(oauth2_shm_capacity(k->base, k->size), capacity);
    return oauth2_store_shm(pool, t);
}

static int holds_key1(oauth2_store_t *st)
{
    char *rec = NULL;
    apr_size_t len = 0;
    oauth2_store_meta_t meta;

    return oauth2_store_get(st, pool, key1, 10, &rec, &len, &meta)
           == APR_SUCCESS;
}

static void test_kept_table(void **state)
{
    apr_pool_t *kp;
    oauth2_kept_t k = { .key = "test_table", .mutex_type = "test-table" };
    maker_t m = { 0, 0 };
    oauth2_store_t *st;
    apr_global_mutex_t *first;
    void *base;

    (void)state;
    apr_pool_create(&kp, pool);
    /* First start: a new table and mutex. */
    st = table(kp, &k, 64, &m);
    assert_int_equal(k.keep, OAUTH2_RENEW);
    assert_false(k.renewed);
    assert_int_equal(m.made, 1);
    assert_false(holds_key1(st));
    assert_int_equal(oauth2_store_put(st, pool, key1, "rec", 3, 1000, 1),
                     APR_SUCCESS);
    first = k.mutex;
    base = k.base;
    /* A restart with the same capacity: the same memory, records, mutex. */
    st = table(kp, &k, 64, &m);
    assert_int_equal(k.keep, OAUTH2_KEEP);
    assert_false(k.renewed);
    assert_ptr_equal(k.base, base);
    assert_ptr_equal(k.mutex, first);
    assert_int_equal(m.made, 1);
    assert_true(holds_key1(st));
    /* Another capacity: sessions reset, a new mutex. */
    st = table(kp, &k, 128, &m);
    assert_int_equal(k.keep, OAUTH2_RENEW);
    assert_true(k.renewed);
    assert_ptr_not_equal(k.mutex, first);
    assert_int_equal(m.made, 2);
    assert_false(holds_key1(st));
    apr_pool_destroy(kp);
}

static void test_kept_failures(void **state)
{
    apr_pool_t *kp;
    oauth2_kept_t k = { .key = "test_fail", .mutex_type = "test-fail" };
    maker_t m = { 0, 1 };
    oauth2_shm_t *t = NULL;
    const char *err = NULL;
    int attach = -1;

    (void)state;
    apr_pool_create(&kp, pool);
    /* No mutex: said as such; the table is not attached. */
    assert_int_not_equal(
        oauth2_kept_table(gen, kp, &k, 64, make_mutex, &m, &t, &attach, &err),
        APR_SUCCESS);
    assert_string_equal(err, "mutex");
    assert_int_equal(attach, 0);
    assert_null(t);
    /* No memory of size 0. */
    k.key = "test_fail_size";
    m.fail = 0;
    err = NULL;
    assert_int_equal(oauth2_kept(kp, &k, 0, NULL, NULL, make_mutex, &m, &err),
                     APR_EINVAL);
    assert_string_equal(err, "shared memory");
    apr_pool_destroy(kp);
}

/* A provider whose discovery fails at once (nothing listens on port 1):
 * the failure is counted in its entry of the view. */
static oauth2_provider_t *provider(const char *issuer)
{
    static oauth2_http_opts_t http = { 2000, 2000,       NULL,
                                       0,    "test/1.0", OAUTH2_CALL_OTHER };
    oauth2_cfg_t *c = oauth2_cfg_create(pool);
    oauth2_provider_t *prov = NULL;
    const char *err = NULL;

    assert_null(oauth2_cfg_set_provider(pool, c, issuer, NULL));
    c->client_id = "app";
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) = "x";
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_int_equal(oauth2_provider_create(pool, c, &http, &prov, &err),
                     APR_SUCCESS);
    return prov;
}

/* The view for n providers (the first one's issuer is fail_once's) after
 * a "restart"; the failures its first provider's entry counts. */
static apr_uint32_t view(apr_pool_t *kp, oauth2_kept_t *k, apr_uint32_t n,
                         int graceful, maker_t *m)
{
    oauth2_provider_t *provs[OAUTH2_KEPT_VIEW_SPARE + 2];
    oauth2_provider_stats_t st;
    const char *err = NULL;
    apr_uint32_t i;

    for (i = 0; i < n; i++) {
        provs[i] =
            provider(apr_psprintf(pool, "http://127.0.0.1:1/issuer%u", i));
    }
    assert_int_equal(oauth2_kept_view(gen, pool, kp, k, provs, n, graceful,
                                      make_mutex, m, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_provider_child_init(provs[0], pool), APR_SUCCESS);
    oauth2_provider_stats(provs[0], &st);
    return st.fetch_failures;
}

static void fail_once(apr_pool_t *kp, oauth2_kept_t *k, maker_t *m)
{
    oauth2_provider_t *prov = provider("http://127.0.0.1:1/issuer0");
    const oauth2_endpoints_t *ep = NULL;
    const char *err = NULL;

    assert_int_equal(
        oauth2_kept_view(gen, pool, kp, k, &prov, 1, 1, make_mutex, m, &err),
        APR_SUCCESS);
    assert_int_equal(oauth2_provider_child_init(prov, pool), APR_SUCCESS);
    assert_int_not_equal(
        oauth2_provider_endpoints(prov, pool, apr_time_now(), &ep, &err),
        APR_SUCCESS);
}

static void test_kept_view(void **state)
{
    apr_pool_t *kp;
    oauth2_kept_t k = { .key = "test_view", .mutex_type = "test-view" };
    maker_t m = { 0, 0 };
    void *base;

    (void)state;
    apr_pool_create(&kp, pool);
    /* First start: room for spare providers; a failed fetch is shared. */
    fail_once(kp, &k, &m);
    assert_int_equal(k.keep, OAUTH2_RENEW);
    assert_int_equal(oauth2_pshm_capacity(k.base, k.size),
                     1 + OAUTH2_KEPT_VIEW_SPARE);
    base = k.base;
    /* A graceful restart keeps what the old generation fetched. */
    assert_int_equal(view(kp, &k, 2, 1, &m), 1);
    assert_int_equal(k.keep, OAUTH2_KEEP);
    assert_ptr_equal(k.base, base);
    /* A full restart: the same memory, emptied. */
    assert_int_equal(view(kp, &k, 2, 0, &m), 0);
    assert_int_equal(k.keep, OAUTH2_REFORMAT);
    assert_ptr_equal(k.base, base);
    assert_int_equal(m.made, 1);
    /* More providers than entries: a new view, with a new mutex. */
    fail_once(kp, &k, &m);
    assert_int_equal(view(kp, &k, OAUTH2_KEPT_VIEW_SPARE + 2, 1, &m), 0);
    assert_int_equal(k.keep, OAUTH2_RENEW);
    assert_true(k.renewed);
    assert_int_equal(m.made, 2);
    apr_pool_destroy(kp);
}

static int reports;

static void report(void *ctx, apr_status_t rv, const char *name)
{
    (void)ctx;
    (void)rv;
    assert_non_null(name);
    reports++;
}

/* What a child does (in a pool of its own, gone before the mutexes). */
static int child_init(void)
{
    apr_pool_t *child;
    int n;

    apr_pool_create(&child, pool);
    n = oauth2_kept_child_init(child, report, NULL);
    apr_pool_destroy(child);
    return n;
}

/* The generation's mutexes: the table's and any other remembered are
 * re-attached in a child; a new generation (pconf cleared) starts an
 * empty list. */
static void test_kept_child_init(void **state)
{
    apr_pool_t *pconf, *kp;
    oauth2_kept_t k = { .key = "test_gen", .mutex_type = "test-gen" };
    oauth2_kept_t v = { .key = "test_gen_view", .mutex_type = "test-gen-v" };
    oauth2_provider_t *prov = provider("http://127.0.0.1:1/issuer0");
    maker_t m = { 0, 0 };
    apr_global_mutex_t *other;
    oauth2_shm_t *t = NULL;
    const char *err = NULL;
    int attach = 0;

    (void)state;
    apr_pool_create(&kp, pool);
    apr_pool_create(&pconf, pool);
    reports = 0;
    assert_int_equal(child_init(), 0);
    assert_int_equal(
        oauth2_kept_table(pconf, kp, &k, 64, make_mutex, &m, &t, &attach, &err),
        APR_SUCCESS);
    assert_int_equal(
        apr_global_mutex_create(&other, NULL, APR_LOCK_DEFAULT, pconf),
        APR_SUCCESS);
    oauth2_kept_remember(pconf, &other);
    assert_int_equal(child_init(), 2);
    /* The view's providers get their per-process part too. */
    assert_int_equal(oauth2_kept_view(pconf, pool, kp, &v, &prov, 1, 1,
                                      make_mutex, &m, &err),
                     APR_SUCCESS);
    assert_int_equal(child_init(), 4);
    assert_int_equal(apr_global_mutex_lock(k.mutex), APR_SUCCESS);
    assert_int_equal(apr_global_mutex_unlock(k.mutex), APR_SUCCESS);
    /* The next generation. */
    apr_pool_clear(pconf);
    assert_int_equal(child_init(), 0);
    assert_int_equal(reports, 0);
    apr_pool_destroy(pconf);
    apr_pool_destroy(kp);
}

/* A kept mutex of its own: made once, found again after a restart (a
 * new pconf) and remembered once per generation however often named. */
static void test_kept_mutex(void **state)
{
    apr_pool_t *pconf, *kp;
    maker_t m = { 0, 0 };
    apr_global_mutex_t **a = NULL, **b = NULL;

    (void)state;
    apr_pool_create(&kp, pool);
    apr_pool_create(&pconf, pool);
    reports = 0;
    assert_int_equal(
        oauth2_kept_mutex(pconf, kp, "add:x", "n", make_mutex, &m, &a),
        APR_SUCCESS);
    assert_int_equal(
        oauth2_kept_mutex(pconf, kp, "add:x", "n", make_mutex, &m, &b),
        APR_SUCCESS);
    assert_ptr_equal(a, b);
    assert_int_equal(m.made, 1);
    assert_int_equal(child_init(), 1);
    apr_pool_clear(pconf);
    assert_int_equal(child_init(), 0);
    assert_int_equal(
        oauth2_kept_mutex(pconf, kp, "add:x", "n", make_mutex, &m, &b),
        APR_SUCCESS);
    assert_ptr_equal(a, b);
    assert_int_equal(m.made, 1);
    assert_int_equal(child_init(), 1);
    assert_int_equal(apr_global_mutex_lock(*b), APR_SUCCESS);
    assert_int_equal(apr_global_mutex_unlock(*b), APR_SUCCESS);
    /* Another key, another mutex; a failure is passed on. */
    m.fail = 1;
    assert_int_not_equal(
        oauth2_kept_mutex(pconf, kp, "add:y", "n", make_mutex, &m, &b),
        APR_SUCCESS);
    assert_int_equal(reports, 0);
    apr_pool_destroy(pconf);
    apr_pool_destroy(kp);
}

/* The counters go on across a restart (the same kept pool) and start
 * anew in a new one (a stop and start). */
static void test_kept_metrics(void **state)
{
    apr_pool_t *kp;
    const char *line = NULL;

    (void)state;
    apr_pool_create(&kp, pool);
    assert_int_equal(oauth2_kept_metrics(kp, pool, "1.0", &line), APR_SUCCESS);
    assert_string_equal(line,
                        "OA2050: mod_auth_oauth2 1.0 configured (counters "
                        "started)");
    assert_non_null(oauth2_metrics_current());
    oauth2_metrics_inc(OAUTH2_METRIC_LOGINS);
    oauth2_metrics_inc(OAUTH2_METRIC_LOGINS);
    assert_int_equal(oauth2_kept_metrics(kp, pool, "1.0", &line), APR_SUCCESS);
    assert_non_null(strstr(line, "(counters kept across the restart)"));
    assert_int_equal(
        oauth2_metrics_get(oauth2_metrics_current(), OAUTH2_METRIC_LOGINS), 2);
    apr_pool_destroy(kp);
    apr_pool_create(&kp, pool);
    assert_int_equal(oauth2_kept_metrics(kp, pool, "1.0", &line), APR_SUCCESS);
    assert_non_null(strstr(line, "(counters started)"));
    assert_int_equal(
        oauth2_metrics_get(oauth2_metrics_current(), OAUTH2_METRIC_LOGINS), 0);
    apr_pool_destroy(kp);
    oauth2_metrics_use(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kept_table, gen_setup,
                                        gen_teardown),
        cmocka_unit_test_setup_teardown(test_kept_failures, gen_setup,
                                        gen_teardown),
        cmocka_unit_test_setup_teardown(test_kept_view, gen_setup,
                                        gen_teardown),
        cmocka_unit_test_setup_teardown(test_kept_child_init, gen_setup,
                                        gen_teardown),
        cmocka_unit_test_setup_teardown(test_kept_mutex, gen_setup,
                                        gen_teardown),
        cmocka_unit_test_setup_teardown(test_kept_metrics, gen_setup,
                                        gen_teardown),
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
