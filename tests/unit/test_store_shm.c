/*
 * test_store_shm.c: the shared-memory session table (src/store_shm.c) on
 * a real anonymous APR shm segment and a real global mutex: records of
 * every size class, expiry at a fixed now, eviction (for slots and for
 * chunks), one-time markers in their own pool, the sweep, a corrupted
 * segment, readers racing writers in several processes, and writers that
 * die holding the mutex (a deterministic crash, and SIGKILL at random
 * points) followed by the repair. Prints (does not assert) the cost of a
 * get at 10,000 and 100,000 records.
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
#define T_HEADER    256u
#define T_SLOT      512u
#define T_SLOT_HEAD 64u
#define T_INLINE    (T_SLOT - T_SLOT_HEAD)
#define T_CHUNK     256u
/* Per record: tag, slot, 4 chunks and their next links, a marker entry,
 * four link entries; plus one bit per chunk (the repair's bitmap), a region
 * of its own. */
#define T_PER_RECORD 1888u
#define T_OWNED(c)   ((((c)*4 + 7) / 8 + 63) / 64 * 64)
#define T_MAX        OAUTH2_MAX_SESSION_RECORD
/* The header's free chunk list head (after magic .. seed). */
#define T_HDR_FREE_HEAD 56u

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
    /* The documented layout: 256 + 1,888.5 bytes per record when every
     * region is already 64-byte aligned (capacity a multiple of 128). */
    assert_true(oauth2_shm_size(64)
                == T_HEADER + 64ull * T_PER_RECORD + T_OWNED(64));
    assert_true(oauth2_shm_size(128) - oauth2_shm_size(64)
                == 64ull * T_PER_RECORD + T_OWNED(128) - T_OWNED(64));
    if (sizeof(apr_size_t) >= 8) {
        assert_true(
            oauth2_shm_size(OAUTH2_SHM_MAX_CAPACITY)
            == T_HEADER + (apr_uint64_t)OAUTH2_SHM_MAX_CAPACITY * T_PER_RECORD
                   + OAUTH2_SHM_MAX_CAPACITY / 2);
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
    /* One header field at a time: magic, layout version (1: the layout
     * before the marker pool), capacity. */
    for (i = 0; i < 3; i++) {
        apr_uint32_t saved = hdr32[i];
        apr_uint32_t bad[] = { 0x12345678u, 1u, 65u };

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

static void test_store_shm_mark_refuses_replay(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN], buf[8];
    apr_size_t len = 0;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    make_key(key, 3);
    assert_int_equal(oauth2_shm_mark(fx.shm, key, 600, 0), APR_SUCCESS);
    assert_int_equal(oauth2_shm_mark(fx.shm, key, 900, 10), OAUTH2_EREPLAY);
    assert_int_equal(oauth2_shm_mark(fx.shm, key, 900, 599), OAUTH2_EREPLAY);
    /* A marker is no record: get does not see it, and no slot holds it. */
    assert_int_equal(
        oauth2_shm_get(fx.shm, key, 20, buf, sizeof(buf), &len, NULL),
        OAUTH2_ENOTFOUND);
    assert_int_equal(stats_of(&fx).live, 0);
    /* Once expired, the marker no longer blocks. */
    assert_int_equal(oauth2_shm_mark(fx.shm, key, 1200, 600), APR_SUCCESS);
    assert_int_equal(oauth2_shm_mark(fx.shm, key, 1200, 700), OAUTH2_EREPLAY);
    /* Deleted (a refresh lock let go), it can be set again. */
    assert_int_equal(oauth2_shm_delete(fx.shm, key), APR_SUCCESS);
    assert_int_equal(oauth2_shm_delete(fx.shm, key), OAUTH2_ENOTFOUND);
    assert_int_equal(oauth2_shm_mark(fx.shm, key, 1200, 700), APR_SUCCESS);
    assert_int_equal(oauth2_shm_mark(NULL, key, 1200, 700), APR_EINVAL);
    assert_int_equal(oauth2_shm_mark(fx.shm, NULL, 1200, 700), APR_EINVAL);
    fx_close(&fx);
}

/* put record n of class klass. */
static apr_status_t put_class_n(fx_t *fx, apr_uint64_t n, apr_size_t len,
                                apr_time_t expires, apr_time_t now,
                                oauth2_shm_class_e klass)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    unsigned char *rec = apr_palloc(fx->pool, len + 1);

    make_key(key, n);
    fill(rec, len, n);
    return oauth2_shm_put_class(fx->shm, key, rec, len, expires, now, klass);
}

/* oauth2_shm_link: an index entry naming a record's key, written only
 * where no live one is (concurrent logins never share an entry); a link
 * whose record is gone, or that expired, is free again; links live in a
 * pool of their own. */
static void test_store_shm_link(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN], rec[OAUTH2_SHM_KEY_LEN],
        other[OAUTH2_SHM_KEY_LEN], got[OAUTH2_SHM_KEY_LEN];
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    make_key(key, 7);
    make_key(rec, 1);
    make_key(other, 2);
    assert_int_equal(put_n(&fx, 1, 10, 5000, 0), APR_SUCCESS);
    assert_int_equal(put_n(&fx, 2, 10, 5000, 0), APR_SUCCESS);
    assert_int_equal(oauth2_shm_link(fx.shm, key, rec, 3000, 0), APR_SUCCESS);
    assert_int_equal(oauth2_shm_link(fx.shm, key, other, 3000, 10),
                     OAUTH2_EREPLAY);
    assert_int_equal(oauth2_shm_link_get(fx.shm, key, 10, got), APR_SUCCESS);
    assert_memory_equal(got, rec, sizeof(rec));
    /* Not a record, and no slot taken. */
    assert_int_equal(get_n(&fx, 7, 10, 0, NULL), OAUTH2_ENOTFOUND);
    assert_int_equal(stats_of(&fx).live, 2);
    assert_int_equal(stats_of(&fx).links, 256);
    /* Its record gone, the link is free for another. */
    assert_int_equal(oauth2_shm_delete(fx.shm, rec), APR_SUCCESS);
    assert_int_equal(oauth2_shm_link_get(fx.shm, key, 10, got), APR_SUCCESS);
    assert_int_equal(oauth2_shm_link(fx.shm, key, other, 3000, 10),
                     APR_SUCCESS);
    assert_int_equal(oauth2_shm_link_get(fx.shm, key, 10, got), APR_SUCCESS);
    assert_memory_equal(got, other, sizeof(other));
    /* Expired, likewise (the record expired too: 5000). */
    assert_int_equal(oauth2_shm_link_get(fx.shm, key, 3000, got),
                     OAUTH2_ENOTFOUND);
    assert_int_equal(oauth2_shm_link(fx.shm, key, rec, 4000, 3000),
                     APR_SUCCESS);
    assert_int_equal(oauth2_shm_link(fx.shm, key, rec, 6000, 5000),
                     APR_SUCCESS);
    /* Deleted like a record. */
    assert_int_equal(oauth2_shm_delete(fx.shm, key), APR_SUCCESS);
    assert_int_equal(oauth2_shm_link_get(fx.shm, key, 5000, got),
                     OAUTH2_ENOTFOUND);
    assert_int_equal(oauth2_shm_link(NULL, key, rec, 1, 0), APR_EINVAL);
    assert_int_equal(oauth2_shm_link(fx.shm, key, NULL, 1, 0), APR_EINVAL);
    assert_int_equal(oauth2_shm_link_get(fx.shm, NULL, 0, got), APR_EINVAL);
    fx_close(&fx);
}

/* Re-review D: index entries never push sessions out, however many
 * logins one account makes; entries of ended sessions make room first. */
static void test_store_shm_links_never_evict_records(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN], rec[OAUTH2_SHM_KEY_LEN];
    oauth2_shm_stats_t st;
    apr_uint64_t n;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    for (n = 0; n < 20; n++) {
        assert_int_equal(put_n(&fx, n, 100, 1000, 0), APR_SUCCESS);
    }
    /* Links that name sessions ended long ago, outliving every record. */
    for (n = 0; n < 5000; n++) {
        make_key(key, 100000 + n);
        make_key(rec, 200000 + n);
        assert_int_equal(oauth2_shm_link(fx.shm, key, rec, 9000, 0),
                         APR_SUCCESS);
    }
    st = stats_of(&fx);
    assert_int_equal(st.live, 20);
    assert_true(st.evictions == 0);
    /* Dead links made room: no live link was evicted. */
    assert_true(st.links_evicted == 0);
    /* A full table of sessions with two links each (a sid and a sub)
     * fills half the pool: no live link is evicted (third review L). */
    fx_close(&fx);
    fx_open(&fx, 64);
    for (n = 0; n < 64 * 3; n++) {
        assert_int_equal(put_n(&fx, n, 100, 1000 + n, 0), APR_SUCCESS);
        make_key(rec, n);
        make_key(key, 300000 + 2 * n);
        assert_int_equal(oauth2_shm_link(fx.shm, key, rec, 900, 0),
                         APR_SUCCESS);
        make_key(key, 300001 + 2 * n);
        assert_int_equal(oauth2_shm_link(fx.shm, key, rec, 900, 0),
                         APR_SUCCESS);
    }
    st = stats_of(&fx);
    assert_true(st.evictions > 0); /* slots: the table is full */
    assert_true(st.links_evicted == 0);
    fx_close(&fx);
}

/* Third review L: where a live link must be evicted after all, the
 * record it names goes with it: no session stays that no index finds. */
static void test_store_shm_link_eviction_ends_its_record(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN], rec[OAUTH2_SHM_KEY_LEN],
        got[OAUTH2_SHM_KEY_LEN];
    oauth2_shm_stats_t st;
    apr_uint64_t n, linked = 0, alive = 0;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    for (n = 0; n < 20; n++) {
        assert_int_equal(put_n(&fx, n, 100, 1000, 0), APR_SUCCESS);
    }
    /* Far more live links of those 20 records than the pool holds. */
    for (n = 0; n < 5000; n++) {
        make_key(key, 300000 + n);
        make_key(rec, n % 20);
        assert_int_equal(oauth2_shm_link(fx.shm, key, rec, 900, 0),
                         APR_SUCCESS);
    }
    st = stats_of(&fx);
    assert_true(st.links_evicted > 0);
    assert_true(st.evictions > 0);
    /* A link is gone only where its record is (evicted with it, or
     * dead and reused): records are not put again here. */
    for (n = 0; n < 20; n++) {
        alive += get_n(&fx, n, 500, 100, NULL) == APR_SUCCESS;
    }
    for (n = 0; n < 5000; n++) {
        make_key(key, 300000 + n);
        if (oauth2_shm_link_get(fx.shm, key, 10, got) != APR_SUCCESS) {
            assert_int_not_equal(get_n(&fx, n % 20, 10, 100, NULL),
                                 APR_SUCCESS);
        }
        else {
            linked++;
        }
    }
    assert_true(alive < 20);
    assert_true(linked > 0);
    fx_close(&fx);
}

/* How many of records first..first+count-1 (len bytes each) are there. */
static apr_uint64_t alive_n(fx_t *fx, apr_uint64_t first, apr_uint64_t count,
                            apr_size_t len, apr_time_t now)
{
    apr_uint64_t n, alive = 0;

    for (n = first; n < first + count; n++) {
        alive += get_n(fx, n, now, len, NULL) == APR_SUCCESS;
    }
    return alive;
}

/* Re-review E: cache entries (verified bearer tokens) never evict a
 * session, neither for a slot nor for chunks; they evict each other, and
 * sessions evict them first. */
static void test_store_shm_cache_never_evicts_sessions(void **state)
{
    oauth2_shm_stats_t st;
    apr_uint64_t n, kept;
    apr_status_t rv;
    fx_t fx;

    (void)state;
    /* Slots: a table full of sessions has no room for a cache entry. */
    fx_open(&fx, 64);
    for (n = 0; n < 300; n++) {
        assert_int_equal(put_n(&fx, n, 100, 1000, 0), APR_SUCCESS);
    }
    kept = alive_n(&fx, 0, 300, 100, 10);
    assert_int_equal(stats_of(&fx).live_class[OAUTH2_SHM_SESSION], kept);
    for (n = 0; n < 500; n++) {
        rv = put_class_n(&fx, 1000 + n, 100, 9000, 0, OAUTH2_SHM_CACHE);
        assert_true(rv == OAUTH2_EFULL || rv == APR_SUCCESS);
    }
    st = stats_of(&fx);
    assert_true(st.refused > 0);
    assert_int_equal(alive_n(&fx, 0, 300, 100, 10), kept);
    assert_int_equal(st.live_class[OAUTH2_SHM_SESSION], kept);
    assert_int_equal(st.live, kept + st.live_class[OAUTH2_SHM_CACHE]);
    fx_close(&fx);
    /* Chunks: large cache entries take chunks from each other only. */
    fx_open(&fx, 64);
    for (n = 0; n < 20; n++) {
        assert_int_equal(put_n(&fx, n, 2000, 1000, 0), APR_SUCCESS);
    }
    for (n = 0; n < 500; n++) {
        rv = put_class_n(&fx, 1000 + n, 4000, 9000, 0, OAUTH2_SHM_CACHE);
        assert_true(rv == OAUTH2_EFULL || rv == APR_SUCCESS);
    }
    st = stats_of(&fx);
    assert_int_equal(alive_n(&fx, 0, 20, 2000, 10), 20);
    assert_true(st.live_class[OAUTH2_SHM_CACHE] > 0);
    /* A session evicts cache entries before sessions. */
    for (n = 0; n < 10; n++) {
        assert_int_equal(put_n(&fx, 5000 + n, 2000, 1000, 10), APR_SUCCESS);
    }
    assert_int_equal(alive_n(&fx, 0, 20, 2000, 10), 20);
    assert_int_equal(alive_n(&fx, 5000, 10, 2000, 10), 10);
    assert_int_equal(put_class_n(&fx, 1, 10, 9000, 0, OAUTH2_SHM_CLASSES),
                     APR_EINVAL);
    fx_close(&fx);
}

/* Re-review F: a pinned record (a revocation) stays while it lives,
 * whatever is written after it. */
static void test_store_shm_pinned_stays(void **state)
{
    apr_uint64_t n;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    for (n = 0; n < 8; n++) {
        assert_int_equal(put_class_n(&fx, n, 1, 1000, 0, OAUTH2_SHM_PINNED),
                         APR_SUCCESS);
    }
    for (n = 0; n < 3000; n++) {
        put_class_n(&fx, 100 + n, n % 3 ? 1500 : 50, 9000, 0,
                    n % 2 ? OAUTH2_SHM_CACHE : OAUTH2_SHM_SESSION);
    }
    for (n = 0; n < 8; n++) {
        assert_int_equal(get_n(&fx, n, 999, 1, NULL), APR_SUCCESS);
    }
    assert_int_equal(stats_of(&fx).live_class[OAUTH2_SHM_PINNED], 8);
    /* Expired, it goes like any record. */
    for (n = 0; n < 3000; n++) {
        put_class_n(&fx, 10000 + n, 50, 9000, 1000, OAUTH2_SHM_SESSION);
    }
    for (n = 0; n < 8; n++) {
        assert_int_equal(get_n(&fx, n, 1000, 1, NULL), OAUTH2_ENOTFOUND);
    }
    fx_close(&fx);
}

/* Third review H: pinned records (revocations, which one account can
 * cause by the hundred) never evict a session, and hold at most a
 * quarter of the slots; a replace of one keeps its place. */
static void test_store_shm_pinned_never_evicts_sessions(void **state)
{
    apr_uint64_t n, ok = 0, kept;
    apr_status_t rv;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    for (n = 0; n < 300; n++) {
        assert_int_equal(put_n(&fx, n, 100, 1000, 0), APR_SUCCESS);
    }
    kept = alive_n(&fx, 0, 300, 100, 10);
    for (n = 0; n < 200; n++) {
        rv = put_class_n(&fx, 1000 + n, 1, 9000, 10, OAUTH2_SHM_PINNED);
        assert_true(rv == OAUTH2_EFULL || rv == APR_SUCCESS);
    }
    /* A full table of sessions: no pinned record got in. */
    assert_int_equal(alive_n(&fx, 0, 300, 100, 10), kept);
    assert_int_equal(stats_of(&fx).live_class[OAUTH2_SHM_PINNED], 0);
    fx_close(&fx);
    /* An empty table: a quarter of it, no more. */
    fx_open(&fx, 64);
    for (n = 0; n < 200; n++) {
        ok += put_class_n(&fx, 1000 + n, 1, 9000, 10, OAUTH2_SHM_PINNED)
              == APR_SUCCESS;
    }
    assert_int_equal(ok, 16);
    assert_int_equal(stats_of(&fx).live_class[OAUTH2_SHM_PINNED], 16);
    assert_true(stats_of(&fx).refused > 0);
    /* A replace in place still works at the limit. */
    assert_int_equal(put_class_n(&fx, 1000, 1, 9500, 10, OAUTH2_SHM_PINNED),
                     APR_SUCCESS);
    /* Sessions fill the other slots and evict none of the pinned. */
    for (n = 0; n < 300; n++) {
        put_n(&fx, n, 100, 1000, 10);
    }
    assert_int_equal(stats_of(&fx).live_class[OAUTH2_SHM_PINNED], 16);
    /* Once they expire, the room is there again (the sweep finds them). */
    assert_int_equal(put_class_n(&fx, 5000, 1, 20000, 9600, OAUTH2_SHM_PINNED),
                     APR_SUCCESS);
    fx_close(&fx);
}

/* Issue 12 item 8: markers (which a client that never logs in can make
 * as fast as it likes) never push a record out, however many. */
static void test_store_shm_markers_never_evict_records(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    oauth2_shm_stats_t st;
    apr_uint64_t n;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    for (n = 0; n < 20; n++) {
        assert_int_equal(put_n(&fx, n, 100 + n * 100, 1000, 0), APR_SUCCESS);
    }
    /* Markers that outlive the records: as entries of the same table,
     * the records would be the first to go. */
    for (n = 0; n < 5000; n++) {
        make_key(key, 100000 + n);
        assert_int_equal(oauth2_shm_mark(fx.shm, key, 2000, 0), APR_SUCCESS);
    }
    for (n = 0; n < 20; n++) {
        assert_int_equal(get_n(&fx, n, 500, 100 + n * 100, NULL), APR_SUCCESS);
    }
    st = stats_of(&fx);
    assert_int_equal(st.live, 20);
    assert_true(st.evictions == 0);
    /* The pool is bounded: markers made room for markers. */
    assert_true(st.markers_evicted >= 5000 - 64);
    /* The newest marker is still there. */
    assert_int_equal(oauth2_shm_mark(fx.shm, key, 2000, 10), OAUTH2_EREPLAY);
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

/* Issue 12 item 9: when the overflow chunks run short, records that hold
 * chunks make room (expired ones first, then those closest to expiry),
 * never an inline record, which would free none. */
static void test_store_shm_chunk_shortage_evicts_chunk_holders(void **state)
{
    oauth2_shm_stats_t st;
    apr_status_t rv3, rv4;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64); /* 256 chunks; a T_MAX record takes 255 */
    assert_int_equal(put_n(&fx, 1, T_MAX, 1000, 0), APR_SUCCESS);
    assert_int_equal(stats_of(&fx).chunks_free, 1);
    /* Records that fit inline need no chunk; this one expires first. */
    assert_int_equal(put_n(&fx, 5, T_INLINE, 500, 0), APR_SUCCESS);
    /* Record 1, the only one holding chunks, makes room for record 2. */
    assert_int_equal(put_n(&fx, 2, T_MAX, 2000, 0), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 1, 0, 0, NULL), OAUTH2_ENOTFOUND);
    assert_int_equal(get_n(&fx, 2, 0, T_MAX, NULL), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 5, 0, T_INLINE, NULL), APR_SUCCESS);
    st = stats_of(&fx);
    assert_true(st.evictions == 1);
    assert_int_equal(st.chunks_free, 1);
    /* Replacing a record may reuse its own chunks: no eviction. */
    assert_int_equal(put_n(&fx, 2, T_MAX, 2000, 0), APR_SUCCESS);
    assert_true(stats_of(&fx).evictions == 1);
    assert_int_equal(put_n(&fx, 3, T_INLINE + 1, 3000, 0), APR_SUCCESS);
    assert_int_equal(stats_of(&fx).chunks_free, 0);
    /* One chunk more: one of the two chunk holders goes, not record 5. */
    assert_int_equal(put_n(&fx, 4, T_INLINE + 1, 4000, 0), APR_SUCCESS);
    rv3 = get_n(&fx, 3, 0, T_INLINE + 1, NULL);
    rv4 = get_n(&fx, 2, 0, T_MAX, NULL);
    assert_true((rv3 == APR_SUCCESS) != (rv4 == APR_SUCCESS));
    assert_int_equal(get_n(&fx, 4, 0, T_INLINE + 1, NULL), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 5, 0, T_INLINE, NULL), APR_SUCCESS);
    st = stats_of(&fx);
    assert_true(st.evictions == 2);
    assert_true(st.refused == 0);
    /* Chunks held by expired records are swept before anything live is
     * evicted. */
    assert_int_equal(put_n(&fx, 6, T_MAX - T_CHUNK, 9000, 5000), APR_SUCCESS);
    assert_int_equal(get_n(&fx, 6, 5000, T_MAX - T_CHUNK, NULL), APR_SUCCESS);
    assert_true(stats_of(&fx).evictions == 2);
    fx_close(&fx);
}

/* Eviction for chunks is bounded (SHM_EVICT_ROUNDS = 64 records): a huge
 * record among many small chunk holders is refused with OAUTH2_EFULL,
 * counted, and its key's own record is left as it was. */
static void test_store_shm_chunk_eviction_is_bounded(void **state)
{
    oauth2_shm_stats_t before, after;
    apr_uint64_t n;
    fx_t fx;

    (void)state;
    fx_open(&fx, 1024); /* 4096 chunks */
    for (n = 0; n < 12; n++) {
        assert_int_equal(put_n(&fx, n, T_MAX, 9000, 0), APR_SUCCESS);
    }
    for (n = 100; n < 1000; n++) {
        assert_int_equal(put_n(&fx, n, T_INLINE + 1, 5000, 0), APR_SUCCESS);
    }
    assert_int_equal(put_n(&fx, 5000, 100, 9000, 0), APR_SUCCESS);
    before = stats_of(&fx);
    assert_true(before.chunks_free + 64 < 255);
    assert_int_equal(put_n(&fx, 5000, T_MAX, 9000, 0), OAUTH2_EFULL);
    after = stats_of(&fx);
    assert_true(after.refused == 1);
    assert_true(after.evictions - before.evictions == 64);
    assert_int_equal(after.chunks_free, before.chunks_free + 64);
    assert_int_equal(get_n(&fx, 5000, 0, 100, NULL), APR_SUCCESS);
    for (n = 0; n < 12; n++) {
        assert_int_equal(get_n(&fx, n, 0, T_MAX, NULL), APR_SUCCESS);
    }
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
        (void)oauth2_shm_mark(fx->shm, key, 1000, 0);
        (void)oauth2_shm_touch(fx->shm, key, 2000);
        (void)oauth2_shm_delete(fx->shm, key);
    }
}

/* Regions of a capacity-64 table (the layout comment in store_shm.c). */
#define C64_TAGS   T_HEADER
#define C64_SLOTS  (C64_TAGS + 64 * 8)
#define C64_CHUNKS (C64_SLOTS + 64 * T_SLOT)
#define C64_NEXT   (C64_CHUNKS + 256 * T_CHUNK)
#define C64_MARKS  (C64_NEXT + 256 * 4)
#define C64_LINKS  (C64_MARKS + 64 * 40)
#define C64_OWNED  (C64_LINKS + 256 * 72)
#define C64_END    (C64_OWNED + T_OWNED(64))

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
            rv = oauth2_shm_mark(shm, key, exp, now);
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

/*
 * Writers killed at random points (SIGKILL: a prefork child leaving from
 * its SIGHUP handler, the OOM killer, a crash in another module), while a
 * reader checks every record it gets. After each round the next writer
 * must find the table whole: every slot's version even, every chunk
 * either free (once, on the free list) or in the chain of exactly one
 * record, the counters right, and every record readable as written.
 * OAUTH2_SHM_KILL_SECONDS sets the duration (./build.sh soak runs it
 * longer than the unit tests do).
 */
#define KILL_KEYS 96

typedef struct {
    volatile int stop;
    unsigned started; /* writers of this round that are writing */
    apr_uint64_t ok, torn;
} kill_shared_t;

static int kill_seconds(void)
{
    const char *s = getenv("OAUTH2_SHM_KILL_SECONDS");
    int n = s != NULL ? atoi(s) : 0;

    return n > 0 ? n : 3;
}

/* Chunks a record of len bytes needs (the layout comment). */
static apr_uint32_t t_chunks(apr_uint32_t len)
{
    return len <= T_INLINE ? 0 : (len - T_INLINE + T_CHUNK - 1) / T_CHUNK;
}

/* Writes until killed: mostly records that need chunks. */
static void kill_writer(fx_t *fx, unsigned int rs, kill_shared_t *sh)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    apr_global_mutex_t *m = fx->mutex;
    oauth2_shm_t *shm = NULL;
    unsigned char *buf;
    const char *err;
    apr_uint32_t gen = rs << 20, n, len, op;
    apr_time_t now;

    if (apr_global_mutex_child_init(&m, NULL, fx->pool) != APR_SUCCESS
        || oauth2_shm_attach(fx->pool, fx->base, fx->size, m, &shm, &err)
               != APR_SUCCESS) {
        _exit(2);
    }
    buf = apr_palloc(fx->pool, T_MAX);
    __atomic_fetch_add(&sh->started, 1, __ATOMIC_RELEASE);
    for (;;) {
        n = (apr_uint32_t)rand_r(&rs) % KILL_KEYS;
        op = (apr_uint32_t)rand_r(&rs) % 100;
        len = op % 3 == 0 ? 16 + (apr_uint32_t)rand_r(&rs) % 12000
                          : 16 + (apr_uint32_t)rand_r(&rs) % 2000;
        now = apr_time_now();
        make_key(key, n);
        if (op < 70) {
            mp_make(buf, n, ++gen, len);
            (void)oauth2_shm_put(shm, key, buf, len, now + 600000000, now);
        }
        else if (op < 85) {
            (void)oauth2_shm_delete(shm, key);
        }
        else if (op < 95) {
            make_key(key, 1000 + (apr_uint64_t)rand_r(&rs) % 200);
            (void)oauth2_shm_mark(shm, key, now + 600000000, now);
        }
        else {
            (void)oauth2_shm_touch(shm, key, now + 900000000);
        }
    }
}

static void kill_reader(fx_t *fx, kill_shared_t *sh, pid_t parent)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    oauth2_shm_t *shm = NULL;
    unsigned char *buf = apr_palloc(fx->pool, T_MAX);
    unsigned int rs = 77;
    const char *err;
    apr_size_t len;
    apr_uint32_t n;

    if (oauth2_shm_attach(fx->pool, fx->base, fx->size, fx->mutex, &shm, &err)
        != APR_SUCCESS) {
        _exit(2);
    }
    /* Until told, or until the test process is gone. */
    while (!sh->stop && getppid() == parent) {
        n = (apr_uint32_t)rand_r(&rs) % KILL_KEYS;
        make_key(key, n);
        if (oauth2_shm_get(shm, key, apr_time_now(), buf, T_MAX, &len, NULL)
            == APR_SUCCESS) {
            sh->ok++;
            sh->torn += !mp_valid(buf, len, n);
        }
    }
    _exit(0);
}

/* What breaks the table's invariants, or NULL; checked from the layout
 * alone (capacity 64). */
static const char *kill_audit(fx_t *fx)
{
    const apr_uint32_t *u32 = (const apr_uint32_t *)fx->base;
    const apr_uint64_t *tags = (const apr_uint64_t *)(fx->base + C64_TAGS);
    const apr_uint32_t *next = u32 + C64_NEXT / 4;
    unsigned char seen[257];
    oauth2_shm_stats_t st = stats_of(fx);
    apr_uint32_t s, i, idx, owned = 0, used = 0, nfree = 0;

    memset(seen, 0, sizeof(seen));
    for (s = 0; s < 64; s++) {
        const apr_uint32_t *h = u32 + (C64_SLOTS + s * T_SLOT) / 4;

        if (h[0] % 2 != 0) {
            return "a slot still has a writer inside (odd version)";
        }
        if (!(h[1] & 1)) {
            if (tags[s] != 0) {
                return "an empty slot has a tag";
            }
            continue;
        }
        used++;
        if (tags[s] == 0 || h[2] > T_MAX || h[4] != t_chunks(h[2])) {
            return "a record's tag, length or chunk count is wrong";
        }
        for (i = 0, idx = h[3]; i < h[4]; i++, idx = next[idx - 1]) {
            if (idx < 1 || idx > 256 || seen[idx]) {
                return "a chunk belongs to two records, or a chain is broken";
            }
            seen[idx] = 1;
            owned++;
        }
    }
    for (idx = u32[T_HDR_FREE_HEAD / 4]; idx != 0; idx = next[idx - 1]) {
        if (idx > 256 || seen[idx]) {
            return "the free list holds a record's chunk, or loops";
        }
        seen[idx] = 2;
        nfree++;
    }
    if (nfree != st.chunks_free) {
        return "the free chunk count is wrong";
    }
    if (owned + nfree != 256) {
        return "chunks leaked: neither free nor in a record";
    }
    return used == st.live ? NULL : "the live record count is wrong";
}

/* Every record the table answers with is one that was written under its
 * key. */
static void kill_check_reads(fx_t *fx, unsigned char *buf)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    apr_size_t len;
    apr_status_t rv;
    apr_uint32_t n;

    for (n = 0; n < KILL_KEYS; n++) {
        make_key(key, n);
        rv = oauth2_shm_get(fx->shm, key, apr_time_now(), buf, T_MAX, &len,
                            NULL);
        assert_true(rv == APR_SUCCESS || rv == OAUTH2_ENOTFOUND);
        if (rv == APR_SUCCESS) {
            assert_true(mp_valid(buf, len, n));
        }
    }
}

/* Forks two writers, kills them at random moments once both write (or
 * after a second, on a machine too busy to run them), reaps them. */
static void kill_round(fx_t *fx, unsigned int *rs, kill_shared_t *sh)
{
    apr_time_t until = apr_time_now() + apr_time_from_sec(1);
    pid_t pids[2];
    int i, status;

    __atomic_store_n(&sh->started, 0, __ATOMIC_RELAXED);
    for (i = 0; i < 2; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            kill_writer(fx, (unsigned int)rand_r(rs), sh);
        }
    }
    while (__atomic_load_n(&sh->started, __ATOMIC_ACQUIRE) < 2
           && apr_time_now() < until) {
        usleep(50);
    }
    for (i = 0; i < 2; i++) {
        usleep((useconds_t)(rand_r(rs) % 1500));
        kill(pids[i], SIGKILL);
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFSIGNALED(status));
    }
}

static void test_store_shm_writer_killed_anywhere_is_repaired(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    apr_time_t deadline;
    kill_shared_t *sh;
    apr_shm_t *cseg;
    unsigned char *buf;
    unsigned int rs = 4242;
    unsigned rounds = 0;
    const char *why;
    apr_status_t rv;
    pid_t reader, parent;
    int status;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    buf = apr_palloc(fx.pool, T_MAX);
    assert_int_equal(apr_shm_create(&cseg, sizeof(*sh), NULL, fx.pool),
                     APR_SUCCESS);
    sh = apr_shm_baseaddr_get(cseg);
    memset(sh, 0, sizeof(*sh));
    parent = getpid();
    reader = fork();
    assert_true(reader >= 0);
    if (reader == 0) {
        kill_reader(&fx, sh, parent);
    }
    deadline = apr_time_now() + apr_time_from_sec(kill_seconds());
    make_key(key, KILL_KEYS + 1); /* never written */
    /* Past the deadline (by 30 s at most) until a kill has landed inside a
     * write at least once: on a busy machine the first ones may not. */
    while (apr_time_now() < deadline
           || (stats_of(&fx).repairs == 0
               && apr_time_now() < deadline + apr_time_from_sec(30))) {
        kill_round(&fx, &rs, sh);
        rounds++;
        /* The next writer finds what the dead ones left. */
        rv = oauth2_shm_delete(fx.shm, key);
        assert_int_equal(rv, OAUTH2_ENOTFOUND);
        why = kill_audit(&fx);
        if (why != NULL) {
            sh->stop = 1;
            fail_msg("after %u rounds (%u writers killed): %s", rounds,
                     2 * rounds, why);
        }
        kill_check_reads(&fx, buf);
    }
    sh->stop = 1;
    assert_int_equal(waitpid(reader, &status, 0), reader);
    for (rs = 0; rs < KILL_KEYS; rs++) {
        make_key(key, rs);
        (void)oauth2_shm_delete(fx.shm, key);
    }
    why = kill_audit(&fx);
    print_message("  %u rounds, %u writers killed, %u repairs; reader: %llu "
                  "records read, %llu wrong\n",
                  rounds, 2 * rounds, stats_of(&fx).repairs,
                  (unsigned long long)sh->ok, (unsigned long long)sh->torn);
    assert_null(why);
    /* Writers were killed inside, not only between their writes. */
    assert_true(stats_of(&fx).repairs > 0);
    assert_true(sh->torn == 0);
    assert_int_equal(stats_of(&fx).chunks_free, 256);
    assert_int_equal(stats_of(&fx).live, 0);
    fx_close(&fx);
}

/* A buffer of len bytes whose bytes from readable on lie on a page that
 * cannot be read: a writer copying it dies there, inside the mutex. */
static const unsigned char *trap_buffer(fx_t *fx, apr_size_t len,
                                        apr_size_t readable)
{
    const apr_size_t page = (apr_size_t)sysconf(_SC_PAGESIZE);
    apr_size_t *span = apr_palloc(fx->pool, 2 * sizeof(*span));
    unsigned char *map;

    span[1] = (readable + page - 1) / page * page + page;
    map = mmap(NULL, span[1], PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    span[0] = (apr_size_t)map;
    apr_pool_cleanup_register(fx->pool, span, unmap_cleanup,
                              apr_pool_cleanup_null);
    assert_true(len > readable);
    assert_int_equal(mprotect(map + span[1] - page, page, PROT_NONE), 0);
    return map + span[1] - page - readable;
}

/* A child process that attaches and dies in oauth2_shm_put(key n). */
static void die_in_put(fx_t *fx, apr_uint64_t n, const unsigned char *rec,
                       apr_size_t len)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    apr_global_mutex_t *m = fx->mutex;
    oauth2_shm_t *shm = NULL;
    const char *err;
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        if (apr_global_mutex_child_init(&m, NULL, fx->pool) != APR_SUCCESS
            || oauth2_shm_attach(fx->pool, fx->base, fx->size, m, &shm, &err)
                   != APR_SUCCESS) {
            _exit(2);
        }
        make_key(key, n);
        (void)oauth2_shm_put(shm, key, rec, len, 1000, 0);
        _exit(3); /* the copy did not fault */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* Killed by the fault (or, under ASan, its report's exit). */
    assert_true(WIFSIGNALED(status)
                || (WIFEXITED(status) && WEXITSTATUS(status) != 2
                    && WEXITSTATUS(status) != 3));
}

/* Issue 12 item 3, deterministically: a writer dies in the middle of
 * copying a new record (its chunks taken, its slot's version odd), then
 * in the middle of replacing one (the old chain given back, a new one
 * taken). The next writer repairs: no slot stays unreadable, no chunk is
 * lost or shared, the other records are intact, and the repair counts. */
static void test_store_shm_writer_death_is_repaired(void **state)
{
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    const unsigned char *trap;
    oauth2_shm_report_t rep;
    apr_uint64_t n;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    for (n = 1; n <= 3; n++) {
        assert_int_equal(put_n(&fx, n, 2000, 1000, 0), APR_SUCCESS);
    }
    trap = trap_buffer(&fx, 5000, 1500);
    die_in_put(&fx, 4, trap, 5000);
    assert_int_equal(put_n(&fx, 5, 3000, 1000, 0), APR_SUCCESS);
    assert_null(kill_audit(&fx));
    assert_int_equal(get_n(&fx, 4, 0, 0, NULL), OAUTH2_ENOTFOUND);
    for (n = 1; n <= 3; n++) {
        assert_int_equal(get_n(&fx, n, 0, 2000, NULL), APR_SUCCESS);
    }
    assert_int_equal(get_n(&fx, 5, 0, 3000, NULL), APR_SUCCESS);
    assert_int_equal(stats_of(&fx).repairs, 1);
    /* Record 2 half replaced: gone, and its chunks with it. */
    die_in_put(&fx, 2, trap, 5000);
    make_key(key, 999); /* never written */
    assert_int_equal(oauth2_shm_delete(fx.shm, key), OAUTH2_ENOTFOUND);
    assert_null(kill_audit(&fx));
    assert_int_equal(get_n(&fx, 2, 0, 0, NULL), OAUTH2_ENOTFOUND);
    assert_int_equal(get_n(&fx, 3, 0, 2000, NULL), APR_SUCCESS);
    assert_int_equal(stats_of(&fx).live, 3);
    assert_int_equal(stats_of(&fx).repairs, 2);
    for (n = 1; n <= 5; n++) {
        make_key(key, n);
        (void)oauth2_shm_delete(fx.shm, key);
    }
    assert_int_equal(stats_of(&fx).chunks_free, 256);
    assert_int_equal(oauth2_shm_report(fx.shm, 10, 60, &rep), 1);
    assert_int_equal(rep.repairs, 2);
    fx_close(&fx);
}

/* The counters behind the glue's rate-limited warnings: one report per
 * interval, with what happened since the last one. */
static void test_store_shm_report_is_rate_limited(void **state)
{
    oauth2_shm_report_t rep;
    apr_uint64_t n;
    fx_t fx;

    (void)state;
    fx_open(&fx, 64);
    assert_int_equal(oauth2_shm_report(fx.shm, 100, 60, &rep), 0);
    for (n = 0; n < 200; n++) {
        assert_int_equal(put_n(&fx, n, 100, 10000 + n, 0), APR_SUCCESS);
    }
    assert_int_equal(oauth2_shm_report(fx.shm, 100, 60, &rep), 1);
    assert_true(rep.evictions == stats_of(&fx).evictions);
    assert_true(rep.evictions >= 200 - 64);
    assert_int_equal(rep.repairs, 0);
    assert_int_equal(rep.capacity, 64);
    /* Within the interval: nothing, however much happens. */
    assert_int_equal(put_n(&fx, 1000, 100, 20000, 0), APR_SUCCESS);
    assert_int_equal(oauth2_shm_report(fx.shm, 159, 60, &rep), 0);
    /* After it: what happened since the last report. */
    assert_int_equal(oauth2_shm_report(fx.shm, 160, 60, &rep), 1);
    assert_true(rep.evictions == 1);
    /* Nothing new: nothing to report. */
    assert_int_equal(oauth2_shm_report(fx.shm, 1000, 60, &rep), 0);
    assert_int_equal(oauth2_shm_report(NULL, 1000, 60, &rep), 0);
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
        cmocka_unit_test(test_store_shm_mark_refuses_replay),
        cmocka_unit_test(test_store_shm_markers_never_evict_records),
        cmocka_unit_test(test_store_shm_link),
        cmocka_unit_test(test_store_shm_links_never_evict_records),
        cmocka_unit_test(test_store_shm_link_eviction_ends_its_record),
        cmocka_unit_test(test_store_shm_pinned_never_evicts_sessions),
        cmocka_unit_test(test_store_shm_cache_never_evicts_sessions),
        cmocka_unit_test(test_store_shm_pinned_stays),
        cmocka_unit_test(test_store_shm_expiry_at_fixed_now),
        cmocka_unit_test(test_store_shm_touch_moves_expiry),
        cmocka_unit_test(test_store_shm_touch_busy_when_locked),
        cmocka_unit_test(test_store_shm_check_tracks_changes),
        cmocka_unit_test(test_store_shm_record_sizes_at_boundaries),
        cmocka_unit_test(test_store_shm_too_big),
        cmocka_unit_test(test_store_shm_get_prefix),
        cmocka_unit_test(test_store_shm_evicts_when_window_full),
        cmocka_unit_test(test_store_shm_reuses_expired_before_evicting),
        cmocka_unit_test(test_store_shm_chunk_shortage_evicts_chunk_holders),
        cmocka_unit_test(test_store_shm_chunk_eviction_is_bounded),
        cmocka_unit_test(test_store_shm_sweep_reclaims_expired),
        cmocka_unit_test(test_store_shm_reattach_keeps_records),
        cmocka_unit_test(test_store_shm_corrupted_segment_is_safe),
        cmocka_unit_test(test_store_shm_concurrent_readers_never_see_torn),
        cmocka_unit_test(test_store_shm_writer_death_is_repaired),
        cmocka_unit_test(test_store_shm_writer_killed_anywhere_is_repaired),
        cmocka_unit_test(test_store_shm_report_is_rate_limited),
        cmocka_unit_test(test_store_shm_get_cost_is_flat),
    };
    int rc;

    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&root, NULL) != APR_SUCCESS) {
        return 1;
    }
    /* The long kill test of ./build.sh soak: the writer-death tests only. */
    if (getenv("OAUTH2_SHM_KILL_SECONDS") != NULL) {
        cmocka_set_test_filter("test_store_shm_writer_*");
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
