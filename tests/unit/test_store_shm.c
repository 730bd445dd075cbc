/*
 * test_store_shm.c: the shared-memory session table (src/store_shm.c) on
 * a real anonymous APR shm segment and a real global mutex: records of
 * every size class, expiry at a fixed now, eviction, chunk exhaustion,
 * the sweep, a corrupted segment, and readers racing writers in several
 * processes. Prints (does not assert) the cost of a get at 10,000 and
 * 100,000 records.
 */
#include "store_shm.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_shm.h>

#include "bounds.h"
#include "errors.h"

/* Layout facts from the comment at the top of src/store_shm.c, for the
 * white-box tests (test_store_shm_size_arithmetic checks they hold). */
#define T_HEADER     256u
#define T_SLOT       512u
#define T_SLOT_HEAD  64u
#define T_INLINE     (T_SLOT - T_SLOT_HEAD)
#define T_CHUNK      256u
#define T_PER_RECORD 1560u
#define T_MAX        OAUTH2_MAX_SESSION_RECORD

static apr_pool_t *root;
static const unsigned char seed[16] = { 7, 1, 8, 2, 8, 1, 8, 2,
                                        8, 4, 5, 9, 0, 4, 5, 2 };

typedef struct {
    apr_pool_t *pool;
    apr_shm_t *seg;
    apr_global_mutex_t *mutex;
    oauth2_shm_t *shm;
    unsigned char *base;
    apr_uint64_t size;
    apr_uint32_t capacity;
} fx_t;

static void fx_open(fx_t *fx, apr_uint32_t capacity)
{
    const char *err = NULL;

    memset(fx, 0, sizeof(*fx));
    fx->capacity = capacity;
    assert_int_equal(apr_pool_create(&fx->pool, root), APR_SUCCESS);
    fx->size = oauth2_shm_size(capacity);
    assert_true(fx->size > 0);
    assert_int_equal(
        apr_shm_create(&fx->seg, (apr_size_t)fx->size, NULL, fx->pool),
        APR_SUCCESS);
    fx->base = apr_shm_baseaddr_get(fx->seg);
    assert_int_equal(
        apr_global_mutex_create(&fx->mutex, NULL, APR_LOCK_DEFAULT, fx->pool),
        APR_SUCCESS);
    assert_int_equal(oauth2_shm_format(fx->base, fx->size, capacity, seed),
                     APR_SUCCESS);
    assert_int_equal(oauth2_shm_attach(fx->pool, fx->base, fx->size, fx->mutex,
                                       &fx->shm, &err),
                     APR_SUCCESS);
}

static apr_status_t unmap_cleanup(void *data)
{
    const apr_size_t *span = data;

    munmap((void *)span[0], span[1]);
    return APR_SUCCESS;
}

/* Like fx_open, but the table ends exactly where a PROT_NONE page
 * starts, so that any read past the segment crashes the test. */
static void fx_open_guarded(fx_t *fx, apr_uint32_t capacity)
{
    const apr_size_t page = (apr_size_t)sysconf(_SC_PAGESIZE);
    apr_size_t *span;
    const char *err = NULL;
    unsigned char *map;

    memset(fx, 0, sizeof(*fx));
    fx->capacity = capacity;
    assert_int_equal(apr_pool_create(&fx->pool, root), APR_SUCCESS);
    fx->size = oauth2_shm_size(capacity);
    span = apr_palloc(fx->pool, 2 * sizeof(*span));
    span[1] = (fx->size + page - 1) / page * page + 2 * page;
    map = mmap(NULL, span[1], PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    span[0] = (apr_size_t)map;
    apr_pool_cleanup_register(fx->pool, span, unmap_cleanup,
                              apr_pool_cleanup_null);
    assert_int_equal(mprotect(map, page, PROT_NONE), 0);
    assert_int_equal(mprotect(map + span[1] - page, page, PROT_NONE), 0);
    fx->base = map + span[1] - page - fx->size;
    assert_int_equal(
        apr_global_mutex_create(&fx->mutex, NULL, APR_LOCK_DEFAULT, fx->pool),
        APR_SUCCESS);
    assert_int_equal(oauth2_shm_format(fx->base, fx->size, capacity, seed),
                     APR_SUCCESS);
    assert_int_equal(oauth2_shm_attach(fx->pool, fx->base, fx->size, fx->mutex,
                                       &fx->shm, &err),
                     APR_SUCCESS);
}

static void fx_close(fx_t *fx)
{
    apr_pool_destroy(fx->pool);
}

static apr_uint64_t mix64(apr_uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A stand-in for SHA-256(session id): 32 well-mixed bytes from n. */
static void make_key(unsigned char key[OAUTH2_SHM_KEY_LEN], apr_uint64_t n)
{
    apr_uint64_t v;
    int i, j;

    for (i = 0; i < 4; i++) {
        v = mix64(n * 4 + (apr_uint64_t)i);
        for (j = 0; j < 8; j++) {
            key[i * 8 + j] = (unsigned char)(v >> (8 * j));
        }
    }
}

static unsigned char pattern(apr_uint64_t n, apr_uint64_t gen, apr_size_t i)
{
    return (unsigned char)(n * 131 + gen * 29 + i * 7 + (i >> 8));
}

static void fill(unsigned char *buf, apr_size_t len, apr_uint64_t n)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = pattern(n, 0, i);
    }
}

static int matches(const unsigned char *buf, apr_size_t len, apr_uint64_t n)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (buf[i] != pattern(n, 0, i)) {
            return 0;
        }
    }
    return 1;
}

/* put record n (pattern of len bytes) under key n. */
static apr_status_t put_n(fx_t *fx, apr_uint64_t n, apr_size_t len,
                          apr_time_t expires, apr_time_t now)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    unsigned char *rec = apr_palloc(fx->pool, len + 1);

    make_key(key, n);
    fill(rec, len, n);
    return oauth2_shm_put(fx->shm, key, rec, len, expires, now);
}

/* get key n into buf and check it holds record n of want bytes. */
static apr_status_t get_n(fx_t *fx, apr_uint64_t n, apr_time_t now,
                          apr_size_t want, oauth2_shm_meta_t *meta)
{
    static unsigned char buf[T_MAX];
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    apr_size_t len = 0;
    apr_status_t rv;

    make_key(key, n);
    rv = oauth2_shm_get(fx->shm, key, now, buf, sizeof(buf), &len, meta);
    if (rv == APR_SUCCESS) {
        assert_int_equal(len, want);
        assert_true(matches(buf, len, n));
    }
    return rv;
}

static oauth2_shm_stats_t stats_of(const fx_t *fx)
{
    oauth2_shm_stats_t st;

    oauth2_shm_stats(fx->shm, &st);
    return st;
}

static void test_store_shm_size_arithmetic(void **state)
{
    apr_uint32_t caps[] = { OAUTH2_SHM_MIN_CAPACITY, 1000, 65536,
                            OAUTH2_SHM_MAX_CAPACITY };
    apr_uint64_t prev = 0;
    size_t i;

    (void)state;
    assert_true(oauth2_shm_size(0) == 0);
    assert_true(oauth2_shm_size(OAUTH2_SHM_MIN_CAPACITY - 1) == 0);
    assert_true(oauth2_shm_size(OAUTH2_SHM_MAX_CAPACITY + 1) == 0);
    assert_true(oauth2_shm_size(UINT32_MAX) == 0);
    for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        apr_uint64_t sz = oauth2_shm_size(caps[i]);

        if (sizeof(apr_size_t) < 8 && caps[i] > 65536) {
            continue; /* does not fit a 32-bit address space: 0 */
        }
        assert_true(sz > prev);
        /* SPEC "Performance": <= 2 KB of shared memory per session. */
        assert_true(sz <= (apr_uint64_t)caps[i] * 2048);
        prev = sz;
    }
    /* The documented layout: 256 + 1,560 bytes per record when every
     * region is already 64-byte aligned (capacity a multiple of 8). */
    assert_true(oauth2_shm_size(64) == T_HEADER + 64ull * T_PER_RECORD);
    assert_true(oauth2_shm_size(72) - oauth2_shm_size(64)
                == 8ull * T_PER_RECORD);
    if (sizeof(apr_size_t) >= 8) {
        assert_true(
            oauth2_shm_size(OAUTH2_SHM_MAX_CAPACITY)
            == T_HEADER + (apr_uint64_t)OAUTH2_SHM_MAX_CAPACITY * T_PER_RECORD);
    }
    /* Capacities that are not multiples of 8 round regions up. */
    assert_true(oauth2_shm_size(65) >= T_HEADER + 65ull * T_PER_RECORD);
    assert_true(oauth2_shm_size(65) % 64 == 0);
}

static void test_store_shm_format_and_attach_refuse_bad_input(void **state)
{
    unsigned char junk[512] __attribute__((aligned(64)));
    apr_uint32_t *hdr32;
    oauth2_shm_t *other = NULL;
    const char *err = NULL;
    fx_t fx;
    size_t i;

    (void)state;
    fx_open(&fx, 64);
    hdr32 = (apr_uint32_t *)fx.base; /* magic, layout, capacity, ... */
    assert_int_equal(oauth2_shm_format(NULL, fx.size, 64, seed), APR_EINVAL);
    assert_int_equal(oauth2_shm_format(fx.base, fx.size - 1, 64, seed),
                     APR_EINVAL);
    assert_int_equal(oauth2_shm_format(fx.base, fx.size, 63, seed), APR_EINVAL);
    assert_int_equal(oauth2_shm_format(fx.base, fx.size, 0, seed), APR_EINVAL);
    assert_int_equal(oauth2_shm_format(fx.base, fx.size, 64, NULL), APR_EINVAL);
    assert_int_equal(oauth2_shm_format(fx.base + 1, fx.size - 1, 64, seed),
                     APR_EINVAL);
    assert_int_equal(
        oauth2_shm_attach(fx.pool, fx.base, fx.size, NULL, &other, &err),
        APR_EINVAL);
    assert_int_equal(oauth2_shm_attach(fx.pool, fx.base, fx.size - 1, fx.mutex,
                                       &other, &err),
                     APR_EINVAL);
    assert_non_null(err);
    assert_int_equal(oauth2_shm_capacity(fx.base, fx.size), 64);
    assert_int_equal(oauth2_shm_capacity(fx.base, fx.size - 1), 0);
    assert_int_equal(oauth2_shm_capacity(NULL, fx.size), 0);
    /* One header field at a time: magic, layout version, capacity. */
    for (i = 0; i < 3; i++) {
        apr_uint32_t saved = hdr32[i];
        apr_uint32_t bad[] = { 0x12345678u, 2u, 65u };

        hdr32[i] = bad[i];
        err = NULL;
        assert_int_equal(oauth2_shm_attach(fx.pool, fx.base, fx.size, fx.mutex,
                                           &other, &err),
                         APR_EINVAL);
        assert_non_null(err);
        assert_int_equal(oauth2_shm_capacity(fx.base, fx.size), 0);
        hdr32[i] = saved;
    }
    assert_int_equal(
        oauth2_shm_attach(fx.pool, fx.base, fx.size, fx.mutex, &other, &err),
        APR_SUCCESS);
    srand(1);
    for (i = 0; i < sizeof(junk); i++) {
        junk[i] = (unsigned char)rand();
    }
    assert_int_equal(oauth2_shm_capacity(junk, sizeof(junk)), 0);
    fx_close(&fx);
}

static void test_store_shm_refuses_null_arguments(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN], buf[16];
    oauth2_shm_meta_t meta = { 0, 0, 0 };
    apr_size_t len = 0;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    make_key(key, 1);
    assert_int_equal(oauth2_shm_get(NULL, key, 0, buf, 16, &len, NULL),
                     APR_EINVAL);
    assert_int_equal(oauth2_shm_get(fx.shm, NULL, 0, buf, 16, &len, NULL),
                     APR_EINVAL);
    assert_int_equal(oauth2_shm_get(fx.shm, key, 0, buf, 16, NULL, NULL),
                     APR_EINVAL);
    assert_int_equal(oauth2_shm_put(fx.shm, key, NULL, 4, 10, 0), APR_EINVAL);
    assert_int_equal(oauth2_shm_put(fx.shm, NULL, buf, 4, 10, 0), APR_EINVAL);
    assert_int_equal(oauth2_shm_touch(fx.shm, NULL, 10), APR_EINVAL);
    assert_int_equal(oauth2_shm_delete(fx.shm, NULL), APR_EINVAL);
    assert_int_equal(oauth2_shm_check(fx.shm, NULL, 0, NULL), APR_EINVAL);
    assert_int_equal(oauth2_shm_check(NULL, &meta, 0, NULL), APR_EINVAL);
    fx_close(&fx);
}

static void test_store_shm_put_get_roundtrip(void **state)
{
    oauth2_shm_meta_t meta;
    oauth2_shm_stats_t st;
    fx_t fx;
    int n;

    (void)state;
    fx_open(&fx, 256);
    for (n = 0; n < 100; n++) {
        assert_int_equal(put_n(&fx, n, 300 + n * 12, 1000 + n, 0), APR_SUCCESS);
    }
    for (n = 0; n < 100; n++) {
        assert_int_equal(get_n(&fx, n, 10, 300 + n * 12, &meta), APR_SUCCESS);
        assert_true(meta.expires == 1000 + n);
        assert_true(meta.slot < 256);
        assert_int_equal(meta.version % 2, 0);
    }
    assert_int_equal(get_n(&fx, 100, 10, 0, NULL), OAUTH2_ENOTFOUND);
    st = stats_of(&fx);
    assert_int_equal(st.capacity, 256);
    assert_int_equal(st.live, 100);
    assert_int_equal(st.chunks_total, 1024);
    assert_true(st.evictions == 0);
    assert_true(st.size == fx.size);
    fx_close(&fx);
}

static void test_store_shm_replace(void **state)
{
    oauth2_shm_stats_t st;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    assert_int_equal(put_n(&fx, 5, 100, 1000, 0), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 5, 0, 100, NULL), APR_SUCCESS);
    /* Larger: 5000 bytes = 448 inline + 18 chunks. */
    assert_int_equal(put_n(&fx, 5, 5000, 2000, 0), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 5, 1500, 5000, NULL), APR_SUCCESS);
    st = stats_of(&fx);
    assert_int_equal(st.live, 1);
    assert_int_equal(st.chunks_free, 256 - 18);
    /* Smaller again: the chunks come back. */
    assert_int_equal(put_n(&fx, 5, 10, 3000, 0), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 5, 2500, 10, NULL), APR_SUCCESS);
    st = stats_of(&fx);
    assert_int_equal(st.live, 1);
    assert_int_equal(st.chunks_free, 256);
    assert_true(st.evictions == 0);
    fx_close(&fx);
}

static void test_store_shm_delete(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    oauth2_shm_stats_t st;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    make_key(key, 9);
    assert_int_equal(oauth2_shm_delete(fx.shm, key), OAUTH2_ENOTFOUND);
    assert_int_equal(put_n(&fx, 9, 2000, 1000, 0), APR_SUCCESS);
    assert_int_equal(put_n(&fx, 10, 2000, 1000, 0), APR_SUCCESS);
    assert_int_equal(oauth2_shm_delete(fx.shm, key), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 9, 0, 0, NULL), OAUTH2_ENOTFOUND);
    assert_int_equal(get_n(&fx, 10, 0, 2000, NULL), APR_SUCCESS);
    assert_int_equal(oauth2_shm_delete(fx.shm, key), OAUTH2_ENOTFOUND);
    st = stats_of(&fx);
    assert_int_equal(st.live, 1);
    assert_int_equal(st.chunks_free, 256 - 7);
    fx_close(&fx);
}

static void test_store_shm_add_refuses_replay(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    make_key(key, 3);
    assert_int_equal(oauth2_shm_add(fx.shm, key, "first", 5, 600, 0),
                     APR_SUCCESS);
    assert_int_equal(oauth2_shm_add(fx.shm, key, "again", 5, 900, 10),
                     OAUTH2_EREPLAY);
    assert_int_equal(oauth2_shm_add(fx.shm, key, "again", 5, 900, 599),
                     OAUTH2_EREPLAY);
    {
        char buf[8];
        apr_size_t len = 0;
        oauth2_shm_meta_t meta;

        assert_int_equal(
            oauth2_shm_get(fx.shm, key, 20, buf, sizeof(buf), &len, &meta),
            APR_SUCCESS);
        assert_memory_equal(buf, "first", 5);
        assert_true(meta.expires == 600);
    }
    /* Once expired, the marker no longer blocks. */
    assert_int_equal(oauth2_shm_add(fx.shm, key, "later", 5, 1200, 600),
                     APR_SUCCESS);
    assert_int_equal(oauth2_shm_add(fx.shm, key, "later", 5, 1200, 700),
                     OAUTH2_EREPLAY);
    fx_close(&fx);
}

static void test_store_shm_expiry_at_fixed_now(void **state)
{
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    assert_int_equal(put_n(&fx, 1, 50, 1000, 0), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 1, 0, 50, NULL), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 1, 999, 50, NULL), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 1, 1000, 50, NULL), OAUTH2_ENOTFOUND);
    assert_int_equal(get_n(&fx, 1, 5000, 50, NULL), OAUTH2_ENOTFOUND);
    /* Already expired when stored: never found. */
    assert_int_equal(put_n(&fx, 2, 50, 100, 200), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 2, 200, 50, NULL), OAUTH2_ENOTFOUND);
    fx_close(&fx);
}

static void test_store_shm_touch_moves_expiry(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    oauth2_shm_meta_t meta;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    make_key(key, 4);
    assert_int_equal(oauth2_shm_touch(fx.shm, key, 5000), OAUTH2_ENOTFOUND);
    assert_int_equal(put_n(&fx, 4, 1000, 1000, 0), APR_SUCCESS);
    assert_int_equal(oauth2_shm_touch(fx.shm, key, 5000), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 4, 4999, 1000, &meta), APR_SUCCESS);
    assert_true(meta.expires == 5000);
    assert_int_equal(get_n(&fx, 4, 5000, 1000, NULL), OAUTH2_ENOTFOUND);
    fx_close(&fx);
}

static void test_store_shm_touch_busy_when_locked(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    int status = -1;
    pid_t pid;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    make_key(key, 4);
    assert_int_equal(put_n(&fx, 4, 100, 1000, 0), APR_SUCCESS);
    assert_int_equal(apr_global_mutex_lock(fx.mutex), APR_SUCCESS);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Another process, as a second Apache child would be. */
        apr_global_mutex_t *m = fx.mutex;
        oauth2_shm_t *shm = NULL;
        const char *err;

        if (apr_global_mutex_child_init(&m, NULL, fx.pool) != APR_SUCCESS
            || oauth2_shm_attach(fx.pool, fx.base, fx.size, m, &shm, &err)
                   != APR_SUCCESS) {
            _exit(2);
        }
        _exit(oauth2_shm_touch(shm, key, 9000) == APR_EBUSY ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(apr_global_mutex_unlock(fx.mutex), APR_SUCCESS);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(oauth2_shm_touch(fx.shm, key, 9000), APR_SUCCESS);
    fx_close(&fx);
}

static void test_store_shm_check_tracks_changes(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    oauth2_shm_meta_t meta, bad;
    apr_time_t exp = 0;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    make_key(key, 6);
    assert_int_equal(put_n(&fx, 6, 800, 1000, 0), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 6, 0, 800, &meta), APR_SUCCESS);
    assert_int_equal(oauth2_shm_check(fx.shm, &meta, 10, &exp), APR_SUCCESS);
    assert_true(exp == 1000);
    /* A touch keeps the copy valid and moves the expiry. */
    assert_int_equal(oauth2_shm_touch(fx.shm, key, 3000), APR_SUCCESS);
    assert_int_equal(oauth2_shm_check(fx.shm, &meta, 2000, &exp), APR_SUCCESS);
    assert_true(exp == 3000);
    assert_int_equal(oauth2_shm_check(fx.shm, &meta, 3000, &exp),
                     OAUTH2_ENOTFOUND);
    /* A write to another key leaves it valid. */
    assert_int_equal(put_n(&fx, 7, 800, 1000, 0), APR_SUCCESS);
    assert_int_equal(oauth2_shm_check(fx.shm, &meta, 10, NULL), APR_SUCCESS);
    /* A replace does not. */
    assert_int_equal(put_n(&fx, 6, 800, 4000, 0), APR_SUCCESS);
    assert_int_equal(oauth2_shm_check(fx.shm, &meta, 10, NULL),
                     OAUTH2_ENOTFOUND);
    assert_int_equal(get_n(&fx, 6, 0, 800, &meta), APR_SUCCESS);
    assert_int_equal(oauth2_shm_check(fx.shm, &meta, 10, NULL), APR_SUCCESS);
    /* Nor does a delete. */
    assert_int_equal(oauth2_shm_delete(fx.shm, key), APR_SUCCESS);
    assert_int_equal(oauth2_shm_check(fx.shm, &meta, 10, NULL),
                     OAUTH2_ENOTFOUND);
    /* Nonsense metadata. */
    bad = meta;
    bad.slot = 64;
    assert_int_equal(oauth2_shm_check(fx.shm, &bad, 10, NULL),
                     OAUTH2_ENOTFOUND);
    bad.slot = UINT32_MAX;
    assert_int_equal(oauth2_shm_check(fx.shm, &bad, 10, NULL),
                     OAUTH2_ENOTFOUND);
    bad = meta;
    bad.version |= 1;
    assert_int_equal(oauth2_shm_check(fx.shm, &bad, 10, NULL),
                     OAUTH2_ENOTFOUND);
    fx_close(&fx);
}

static void test_store_shm_record_sizes_at_boundaries(void **state)
{
    const apr_size_t lens[] = {
        0,
        1,
        T_INLINE - 1,
        T_INLINE,
        T_INLINE + 1,
        T_INLINE + T_CHUNK - 1,
        T_INLINE + T_CHUNK,
        T_INLINE + T_CHUNK + 1,
        T_INLINE + 3 * T_CHUNK,
        T_INLINE + 3 * T_CHUNK + 1,
        1500,
        30000,
        T_MAX - T_CHUNK,
        T_MAX - 1,
        T_MAX,
    };
    unsigned char *buf;
    oauth2_shm_stats_t st;
    apr_size_t i, len;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    buf = apr_palloc(fx.pool, T_MAX);
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        unsigned char key[OAUTH2_SHM_KEY_LEN];

        make_key(key, i);
        assert_int_equal(put_n(&fx, i, lens[i], 1000, 0), APR_SUCCESS);
        /* A buffer of exactly the record's size is enough. */
        len = 12345;
        assert_int_equal(
            oauth2_shm_get(fx.shm, key, 0, buf, lens[i], &len, NULL),
            APR_SUCCESS);
        assert_int_equal(len, lens[i]);
        assert_true(matches(buf, len, i));
        if (lens[i] > 0) {
            len = 0;
            assert_int_equal(
                oauth2_shm_get(fx.shm, key, 0, buf, lens[i] - 1, &len, NULL),
                OAUTH2_ETOOBIG);
            assert_int_equal(len, lens[i]);
        }
        assert_int_equal(oauth2_shm_delete(fx.shm, key), APR_SUCCESS);
        st = stats_of(&fx);
        assert_int_equal(st.chunks_free, st.chunks_total);
        assert_int_equal(st.live, 0);
    }
    fx_close(&fx);
}

static void test_store_shm_too_big(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN], small[100];
    unsigned char *rec;
    apr_size_t len = 0;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    rec = apr_pcalloc(fx.pool, T_MAX + 1);
    make_key(key, 1);
    assert_int_equal(oauth2_shm_put(fx.shm, key, rec, T_MAX + 1, 1000, 0),
                     OAUTH2_ETOOBIG);
    assert_int_equal(oauth2_shm_add(fx.shm, key, rec, T_MAX + 1, 1000, 0),
                     OAUTH2_ETOOBIG);
    assert_int_equal(put_n(&fx, 1, 2000, 1000, 0), APR_SUCCESS);
    assert_int_equal(
        oauth2_shm_get(fx.shm, key, 0, small, sizeof(small), &len, NULL),
        OAUTH2_ETOOBIG);
    assert_int_equal(len, 2000);
    /* No buffer at all: a size query. */
    len = 0;
    assert_int_equal(oauth2_shm_get(fx.shm, key, 0, NULL, 0, &len, NULL),
                     OAUTH2_ETOOBIG);
    assert_int_equal(len, 2000);
    /* An expired record is not found, whatever the buffer. */
    assert_int_equal(
        oauth2_shm_get(fx.shm, key, 1000, small, sizeof(small), &len, NULL),
        OAUTH2_ENOTFOUND);
    fx_close(&fx);
}

/* get_prefix copies the start of a larger record (inline part and into
 * the chunks) and reports the whole length; smaller records come whole. */
static void test_store_shm_get_prefix(void **state)
{
    static const apr_size_t sizes[] = { 1, 100, 447, 448, 449, 1000, 3000 };
    unsigned char key[OAUTH2_SHM_KEY_LEN], buf[1000];
    oauth2_shm_meta_t meta;
    apr_size_t len, i;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        memset(buf, 0, sizeof(buf));
        assert_int_equal(put_n(&fx, i + 1, sizes[i], 1000, 0), APR_SUCCESS);
        make_key(key, i + 1);
        len = 0;
        assert_int_equal(oauth2_shm_get_prefix(fx.shm, key, 0, buf, sizeof(buf),
                                               &len, &meta),
                         APR_SUCCESS);
        assert_int_equal(len, sizes[i]);
        assert_true(matches(buf, len < sizeof(buf) ? len : sizeof(buf), i + 1));
        assert_int_equal(meta.expires, 1000);
        {
            apr_time_t exp = 0;

            assert_int_equal(oauth2_shm_check(fx.shm, &meta, 0, &exp),
                             APR_SUCCESS);
            assert_int_equal(exp, 1000);
        }
    }
    assert_int_equal(oauth2_shm_get_prefix(fx.shm, key, 0, NULL, 0, &len, NULL),
                     APR_EINVAL);
    make_key(key, 99);
    assert_int_equal(
        oauth2_shm_get_prefix(fx.shm, key, 0, buf, sizeof(buf), &len, NULL),
        OAUTH2_ENOTFOUND);
    fx_close(&fx);
}

static void test_store_shm_evicts_when_window_full(void **state)
{
    oauth2_shm_stats_t st;
    apr_uint32_t present = 0;
    apr_status_t rv;
    fx_t fx;
    int n;

    (void)state;
    fx_open(&fx, 64);
    /* 1,000 live records in 64 slots: most must be evicted, always the
     * one in the window that expires first. */
    for (n = 0; n < 1000; n++) {
        assert_int_equal(put_n(&fx, n, 200, 100000 + n, 0), APR_SUCCESS);
    }
    st = stats_of(&fx);
    assert_true(st.live <= 64 && st.live >= 32);
    assert_true(st.evictions == 1000 - st.live);
    for (n = 0; n < 1000; n++) {
        rv = get_n(&fx, n, 0, 200, NULL);
        assert_true(rv == APR_SUCCESS || rv == OAUTH2_ENOTFOUND);
        present += rv == APR_SUCCESS;
    }
    assert_int_equal(present, st.live);
    /* The newest record expires last: it was never the one evicted. */
    assert_int_equal(get_n(&fx, 999, 0, 200, NULL), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 0, 0, 200, NULL), OAUTH2_ENOTFOUND);
    fx_close(&fx);
}

static void test_store_shm_reuses_expired_before_evicting(void **state)
{
    oauth2_shm_stats_t st;
    apr_uint64_t evicted;
    fx_t fx;
    int n;

    (void)state;
    fx_open(&fx, 64);
    for (n = 0; n < 1000 && stats_of(&fx).live < 64; n++) {
        assert_int_equal(put_n(&fx, n, 100, 500, 0), APR_SUCCESS);
    }
    assert_int_equal(stats_of(&fx).live, 64);
    evicted = stats_of(&fx).evictions;
    /* All expired at 600: new records take their slots, no eviction. */
    for (n = 0; n < 30; n++) {
        assert_int_equal(put_n(&fx, 5000 + n, 100, 10000, 600), APR_SUCCESS);
    }
    for (n = 0; n < 30; n++) {
        assert_int_equal(get_n(&fx, 5000 + n, 600, 100, NULL), APR_SUCCESS);
    }
    st = stats_of(&fx);
    assert_true(st.evictions == evicted);
    fx_close(&fx);
}

static void test_store_shm_chunk_exhaustion_and_recovery(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    oauth2_shm_stats_t st;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64); /* 256 chunks; a T_MAX record takes 255 */
    assert_int_equal(put_n(&fx, 1, T_MAX, 1000, 0), APR_SUCCESS);
    assert_int_equal(stats_of(&fx).chunks_free, 1);
    assert_int_equal(put_n(&fx, 2, T_MAX, 1000, 0), OAUTH2_EFULL);
    assert_int_equal(put_n(&fx, 3, T_INLINE + T_CHUNK, 1000, 0), APR_SUCCESS);
    assert_int_equal(put_n(&fx, 4, T_INLINE + 1, 1000, 0), OAUTH2_EFULL);
    /* Records that fit inline need no chunk. */
    assert_int_equal(put_n(&fx, 5, T_INLINE, 1000, 0), APR_SUCCESS);
    /* Replacing a record may reuse its own chunks. */
    assert_int_equal(put_n(&fx, 1, T_MAX, 1000, 0), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 1, 0, T_MAX, NULL), APR_SUCCESS);
    /* A failed put leaves what was there. */
    assert_int_equal(get_n(&fx, 2, 0, 0, NULL), OAUTH2_ENOTFOUND);
    assert_int_equal(get_n(&fx, 3, 0, T_INLINE + T_CHUNK, NULL), APR_SUCCESS);
    make_key(key, 1);
    assert_int_equal(oauth2_shm_delete(fx.shm, key), APR_SUCCESS);
    assert_int_equal(put_n(&fx, 2, T_MAX, 1000, 0), APR_SUCCESS);
    assert_int_equal(put_n(&fx, 4, T_INLINE + 1, 1000, 0), OAUTH2_EFULL);
    /* Chunks held by expired records are swept when they run short. */
    assert_int_equal(put_n(&fx, 4, T_INLINE + 1, 1000, 1000), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 4, 1000, T_INLINE + 1, NULL), OAUTH2_ENOTFOUND);
    st = stats_of(&fx);
    assert_int_equal(st.chunks_free, 256 - 1);
    assert_int_equal(st.live, 1);
    fx_close(&fx);
}

static void test_store_shm_sweep_reclaims_expired(void **state)
{
    oauth2_shm_stats_t st;
    fx_t fx;
    int n;

    (void)state;
    fx_open(&fx, 64);
    /* 40 records of 3 chunks each, expiring at 100. */
    for (n = 0; n < 40; n++) {
        assert_int_equal(put_n(&fx, n, 1000, 100, 0), APR_SUCCESS);
    }
    st = stats_of(&fx);
    assert_int_equal(st.live, 40);
    assert_int_equal(st.chunks_free, 256 - 120);
    /* Each write sweeps 8 slots: 8 writes visit all 64. */
    for (n = 0; n < 8; n++) {
        assert_int_equal(put_n(&fx, 1000 + n, 10, 1000, 200), APR_SUCCESS);
    }
    st = stats_of(&fx);
    assert_int_equal(st.live, 8);
    assert_int_equal(st.chunks_free, 256);
    assert_true(st.evictions == 0);
    fx_close(&fx);
}

static void test_store_shm_reattach_keeps_records(void **state)
{
    oauth2_shm_t *again = NULL;
    oauth2_shm_stats_t st;
    apr_pool_t *p2;
    const char *err = NULL;
    fx_t fx;
    int n;

    (void)state;
    fx_open(&fx, 128);
    for (n = 0; n < 20; n++) {
        assert_int_equal(put_n(&fx, n, 100 * n, 1000, 0), APR_SUCCESS);
    }
    /* A graceful restart: same capacity, same segment, a new handle. */
    assert_int_equal(oauth2_shm_capacity(fx.base, fx.size), 128);
    assert_int_equal(apr_pool_create(&p2, fx.pool), APR_SUCCESS);
    assert_int_equal(
        oauth2_shm_attach(p2, fx.base, fx.size, fx.mutex, &again, &err),
        APR_SUCCESS);
    fx.shm = again;
    for (n = 0; n < 20; n++) {
        assert_int_equal(get_n(&fx, n, 0, 100 * n, NULL), APR_SUCCESS);
    }
    assert_int_equal(put_n(&fx, 99, 3000, 1000, 0), APR_SUCCESS);
    oauth2_shm_stats(again, &st);
    assert_int_equal(st.live, 21);
    fx_close(&fx);
}

/* Every get and check on the (corrupted) table returns, and a success
 * never claims more than the buffer. */
static void probe_all(fx_t *fx, unsigned char *buf)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    oauth2_shm_meta_t meta;
    apr_size_t len;
    apr_time_t exp;
    apr_status_t rv;
    int n;

    for (n = 0; n < 120; n++) {
        make_key(key, n);
        len = 0;
        rv = oauth2_shm_get(fx->shm, key, 0, buf, T_MAX, &len, &meta);
        assert_true(rv != APR_SUCCESS || len <= T_MAX);
        rv = oauth2_shm_get(fx->shm, key, 0, buf, 600, &len, &meta);
        assert_true(rv != APR_SUCCESS || len <= 600);
        meta.slot = (apr_uint32_t)rand() % (fx->capacity + 2);
        meta.version = (apr_uint32_t)rand();
        (void)oauth2_shm_check(fx->shm, &meta, 0, &exp);
    }
    /* Writers must stay in bounds too. */
    for (n = 0; n < 120; n++) {
        make_key(key, n);
        (void)oauth2_shm_put(fx->shm, key, buf, (apr_size_t)rand() % 5000, 1000,
                             0);
        (void)oauth2_shm_add(fx->shm, key, buf, 10, 1000, 0);
        (void)oauth2_shm_touch(fx->shm, key, 2000);
        (void)oauth2_shm_delete(fx->shm, key);
    }
}

/* Regions of a capacity-64 table (the layout comment in store_shm.c). */
#define C64_TAGS   T_HEADER
#define C64_SLOTS  (C64_TAGS + 64 * 8)
#define C64_CHUNKS (C64_SLOTS + 64 * T_SLOT)
#define C64_NEXT   (C64_CHUNKS + 256 * T_CHUNK)
#define C64_END    (C64_NEXT + 256 * 4)

/* Damages a capacity-64 table in one of six ways. */
static void corrupt(fx_t *fx, int round)
{
    apr_uint32_t *u32 = (apr_uint32_t *)fx->base;
    apr_size_t i, s;

    switch (round) {
    case 0: /* slot heads: flags, length, first chunk, chunk count */
        for (s = 0; s < 64; s++) {
            for (i = 1; i < 5; i++) {
                u32[(C64_SLOTS + s * T_SLOT) / 4 + i] =
                    rand() % 2 ? (apr_uint32_t)rand()
                               : (apr_uint32_t)rand() % 300;
            }
        }
        break;
    case 1: /* chunk links: random values and self-loops */
        for (i = 0; i < 256; i++) {
            u32[C64_NEXT / 4 + i] =
                rand() % 3 ? (apr_uint32_t)(i + 1) : (apr_uint32_t)rand() % 300;
        }
        break;
    case 2: /* everything but the header and the tags */
    case 3: /* everything but the header */
        for (i = round == 2 ? C64_SLOTS : C64_TAGS; i < C64_END; i++) {
            fx->base[i] = (unsigned char)rand();
        }
        break;
    case 4:
        memset(fx->base + C64_TAGS, 0xff, C64_END - C64_TAGS);
        break;
    default: /* the writer state in the header, and small numbers */
        for (i = 56; i < T_HEADER; i++) {
            fx->base[i] = (unsigned char)rand();
        }
        for (i = C64_SLOTS; i < C64_END; i += 4) {
            u32[i / 4] = (apr_uint32_t)rand() % 300;
        }
        break;
    }
}

static void test_store_shm_corrupted_segment_is_safe(void **state)
{
    unsigned char *buf;
    int round, n;
    fx_t fx;

    (void)state;
    srand(42);
    for (round = 0; round < 6; round++) {
        fx_open_guarded(&fx, 64);
        assert_true(fx.size == C64_END);
        buf = apr_palloc(fx.pool, T_MAX);
        fill(buf, T_MAX, 0);
        for (n = 0; n < 50; n++) {
            /* 180 of the 256 chunks in all. */
            assert_int_equal(put_n(&fx, n, (apr_size_t)(n % 10) * 250, 1000, 0),
                             APR_SUCCESS);
        }
        corrupt(&fx, round);
        alarm(30); /* a hang fails the run instead of stalling it */
        probe_all(&fx, buf);
        alarm(0);
        fx_close(&fx);
    }
}

/*
 * Several processes: writers store self-checking records (key number,
 * length, writer generation, a pattern, a checksum) while readers check
 * every record they get. A torn read returned as APR_SUCCESS fails.
 */
#define MP_KEYS     400
#define MP_CAPACITY 256
#define MP_SECONDS  2
#define MP_WRITERS  2
#define MP_READERS  2

typedef struct {
    apr_uint64_t ok, notfound, busy, toobig, torn, checks, writes, efull;
} mp_counts_t;

static void put32(unsigned char *p, apr_uint32_t v)
{
    memcpy(p, &v, 4);
}

static apr_uint32_t get32(const unsigned char *p)
{
    apr_uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static apr_uint32_t fnv1a(const unsigned char *p, apr_size_t len)
{
    apr_uint32_t h = 2166136261u;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

static void mp_make(unsigned char *buf, apr_uint32_t n, apr_uint32_t gen,
                    apr_uint32_t len)
{
    apr_uint32_t i;

    put32(buf, n);
    put32(buf + 4, len);
    put32(buf + 8, gen);
    for (i = 12; i < len - 4; i++) {
        buf[i] = pattern(n, gen, i);
    }
    put32(buf + len - 4, fnv1a(buf, len - 4));
}

static int mp_valid(const unsigned char *buf, apr_size_t len, apr_uint32_t n)
{
    apr_uint32_t gen, i;

    if (len < 16 || get32(buf) != n || get32(buf + 4) != len) {
        return 0;
    }
    gen = get32(buf + 8);
    for (i = 12; i < len - 4; i++) {
        if (buf[i] != pattern(n, gen, i)) {
            return 0;
        }
    }
    return get32(buf + len - 4) == fnv1a(buf, len - 4);
}

static apr_uint32_t mp_len(unsigned int *rs)
{
    int r = rand_r(rs) % 100;

    if (r < 80) {
        return 16 + (apr_uint32_t)rand_r(rs) % 1500;
    }
    if (r < 99) {
        return 1500 + (apr_uint32_t)rand_r(rs) % 2500;
    }
    return 16 + (apr_uint32_t)rand_r(rs) % (T_MAX - 16);
}

static void mp_writer(oauth2_shm_t *shm, int id, mp_counts_t *c,
                      unsigned char *buf, apr_time_t deadline)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    unsigned int rs = 1000u + (unsigned int)id;
    apr_uint32_t gen = (apr_uint32_t)id << 24, n, len, op;
    apr_time_t now = apr_time_now(), exp;
    apr_status_t rv;

    for (; now < deadline; now = apr_time_now()) {
        n = (apr_uint32_t)rand_r(&rs) % MP_KEYS;
        op = (apr_uint32_t)rand_r(&rs) % 100;
        len = mp_len(&rs);
        make_key(key, n);
        mp_make(buf, n, ++gen, len);
        /* A quarter of the records expire within 2 ms: the sweep runs. */
        exp = now + (op % 4 == 0 ? 2000 : 10 * APR_USEC_PER_SEC);
        if (op < 70) {
            rv = oauth2_shm_put(shm, key, buf, len, exp, now);
        }
        else if (op < 80) {
            rv = oauth2_shm_add(shm, key, buf, len, exp, now);
        }
        else if (op < 92) {
            rv = oauth2_shm_delete(shm, key);
        }
        else {
            rv = oauth2_shm_touch(shm, key, exp);
        }
        c->writes++;
        c->efull += rv == OAUTH2_EFULL;
    }
}

static void mp_reader(oauth2_shm_t *shm, int id, mp_counts_t *c,
                      unsigned char *buf, apr_time_t deadline)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    unsigned int rs = 2000u + (unsigned int)id;
    oauth2_shm_meta_t meta;
    apr_size_t len, size;
    apr_uint32_t n;
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    for (; now < deadline; now = apr_time_now()) {
        n = (apr_uint32_t)rand_r(&rs) % MP_KEYS;
        size = rand_r(&rs) % 10 == 0 ? 1024 : T_MAX;
        make_key(key, n);
        len = 0;
        rv = oauth2_shm_get(shm, key, now, buf, size, &len, &meta);
        if (rv == APR_SUCCESS) {
            c->ok++;
            c->torn += !mp_valid(buf, len, n);
            c->checks += oauth2_shm_check(shm, &meta, now, NULL) == APR_SUCCESS;
        }
        else if (rv == OAUTH2_ETOOBIG) {
            c->toobig++;
            c->torn += len <= size || len > T_MAX;
        }
        else if (rv == OAUTH2_EBUSY) {
            c->busy++;
        }
        else {
            c->notfound++;
            c->torn += rv != OAUTH2_ENOTFOUND;
        }
    }
}

static void mp_child(fx_t *fx, int role, mp_counts_t *c, apr_time_t deadline)
{
    apr_global_mutex_t *m = fx->mutex;
    oauth2_shm_t *shm = NULL;
    unsigned char *buf;
    const char *err;

    if (apr_global_mutex_child_init(&m, NULL, fx->pool) != APR_SUCCESS
        || oauth2_shm_attach(fx->pool, fx->base, fx->size, m, &shm, &err)
               != APR_SUCCESS) {
        _exit(2);
    }
    buf = apr_palloc(fx->pool, T_MAX);
    if (role < MP_WRITERS) {
        mp_writer(shm, role, c, buf, deadline);
    }
    else {
        mp_reader(shm, role, c, buf, deadline);
    }
    _exit(c->torn == 0 ? 0 : 1);
}

static void mp_add(mp_counts_t *sum, const mp_counts_t *c)
{
    sum->ok += c->ok;
    sum->notfound += c->notfound;
    sum->busy += c->busy;
    sum->toobig += c->toobig;
    sum->torn += c->torn;
    sum->checks += c->checks;
    sum->writes += c->writes;
    sum->efull += c->efull;
}

static void test_store_shm_concurrent_readers_never_see_torn(void **state)
{
    const int nproc = MP_WRITERS + MP_READERS;
    pid_t pids[MP_WRITERS + MP_READERS];
    int statuses[MP_WRITERS + MP_READERS];
    apr_shm_t *cseg;
    mp_counts_t *counts, sum;
    apr_time_t deadline;
    int i;
    fx_t fx;

    (void)state;
    fx_open(&fx, MP_CAPACITY);
    assert_int_equal(
        apr_shm_create(&cseg, sizeof(mp_counts_t) * nproc, NULL, fx.pool),
        APR_SUCCESS);
    counts = apr_shm_baseaddr_get(cseg);
    memset(counts, 0, sizeof(mp_counts_t) * nproc);
    deadline = apr_time_now() + MP_SECONDS * APR_USEC_PER_SEC;
    for (i = 0; i < nproc; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            mp_child(&fx, i, &counts[i], deadline);
        }
    }
    memset(&sum, 0, sizeof(sum));
    for (i = 0; i < nproc; i++) {
        assert_int_equal(waitpid(pids[i], &statuses[i], 0), pids[i]);
        mp_add(&sum, &counts[i]);
    }
    print_message("  %d writers, %d readers, %ds: writes %llu (efull %llu); "
                  "gets ok %llu, notfound %llu, toobig %llu, busy %llu, "
                  "torn %llu; checks ok %llu\n",
                  MP_WRITERS, MP_READERS, MP_SECONDS,
                  (unsigned long long)sum.writes, (unsigned long long)sum.efull,
                  (unsigned long long)sum.ok, (unsigned long long)sum.notfound,
                  (unsigned long long)sum.toobig, (unsigned long long)sum.busy,
                  (unsigned long long)sum.torn, (unsigned long long)sum.checks);
    for (i = 0; i < nproc; i++) {
        assert_true(WIFEXITED(statuses[i]));
        assert_int_equal(WEXITSTATUS(statuses[i]), 0);
    }
    assert_true(sum.torn == 0);
    assert_true(sum.ok > 1000);
    assert_true(sum.writes > 1000);
    fx_close(&fx);
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per get of records n < span, picked at random, out of the table. */
static double time_gets(fx_t *fx, const unsigned char *keys, apr_uint32_t span)
{
    const apr_uint32_t gets = 1000000;
    unsigned char buf[1024];
    apr_uint64_t sum = 0, x = 1;
    apr_size_t len;
    apr_uint32_t n, i;
    double t0, t1;

    t0 = now_ns();
    for (i = 0; i < gets; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        n = (apr_uint32_t)((x >> 33) % span);
        if (oauth2_shm_get(fx->shm, keys + (apr_size_t)n * OAUTH2_SHM_KEY_LEN,
                           0, buf, sizeof(buf), &len, NULL)
            == APR_SUCCESS) {
            sum += len;
        }
    }
    t1 = now_ns();
    assert_true(sum > 0);
    return (t1 - t0) / gets;
}

/* Fills a table with 700-byte records (inline + 1 chunk) and times gets:
 * uniformly over all records (each one a cold cache miss once the table
 * outgrows the caches), and over 1,000 of them (the work per lookup). */
static void measure_get(apr_uint32_t records, apr_uint32_t capacity)
{
    unsigned char *keys;
    oauth2_shm_stats_t st;
    double all, hot;
    apr_uint32_t n;
    fx_t fx;

    fx_open(&fx, capacity);
    keys = apr_palloc(fx.pool, (apr_size_t)records * OAUTH2_SHM_KEY_LEN);
    for (n = 0; n < records; n++) {
        make_key(keys + (apr_size_t)n * OAUTH2_SHM_KEY_LEN, n);
        assert_int_equal(put_n(&fx, n, 700, 1000, 0), APR_SUCCESS);
    }
    st = stats_of(&fx);
    all = time_gets(&fx, keys, records);
    hot = time_gets(&fx, keys, 1000);
    print_message("  %6u records (capacity %6u, %llu evicted, %.0f MB): "
                  "%.0f ns per get over all, %.0f ns over 1,000 of them\n",
                  records, capacity, (unsigned long long)st.evictions,
                  (double)fx.size / 1e6, all, hot);
    fx_close(&fx);
}

static void test_store_shm_get_cost_is_flat(void **state)
{
    (void)state;
    measure_get(10000, 13000);
    measure_get(100000, 130000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_shm_size_arithmetic),
        cmocka_unit_test(test_store_shm_format_and_attach_refuse_bad_input),
        cmocka_unit_test(test_store_shm_refuses_null_arguments),
        cmocka_unit_test(test_store_shm_put_get_roundtrip),
        cmocka_unit_test(test_store_shm_replace),
        cmocka_unit_test(test_store_shm_delete),
        cmocka_unit_test(test_store_shm_add_refuses_replay),
        cmocka_unit_test(test_store_shm_expiry_at_fixed_now),
        cmocka_unit_test(test_store_shm_touch_moves_expiry),
        cmocka_unit_test(test_store_shm_touch_busy_when_locked),
        cmocka_unit_test(test_store_shm_check_tracks_changes),
        cmocka_unit_test(test_store_shm_record_sizes_at_boundaries),
        cmocka_unit_test(test_store_shm_too_big),
        cmocka_unit_test(test_store_shm_get_prefix),
        cmocka_unit_test(test_store_shm_evicts_when_window_full),
        cmocka_unit_test(test_store_shm_reuses_expired_before_evicting),
        cmocka_unit_test(test_store_shm_chunk_exhaustion_and_recovery),
        cmocka_unit_test(test_store_shm_sweep_reclaims_expired),
        cmocka_unit_test(test_store_shm_reattach_keeps_records),
        cmocka_unit_test(test_store_shm_corrupted_segment_is_safe),
        cmocka_unit_test(test_store_shm_concurrent_readers_never_see_torn),
        cmocka_unit_test(test_store_shm_get_cost_is_flat),
    };
    int rc;

    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&root, NULL) != APR_SUCCESS) {
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
