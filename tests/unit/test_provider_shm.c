/*
 * test_provider_shm.c: the server's provider view (src/provider_shm.c) on
 * a real anonymous APR shm segment and a real global mutex: size
 * arithmetic and refusals, binding keys to entries across restarts, the
 * fetch lease (one at a time, its deadline, a killed holder), the shared
 * back-off and its cap, the unknown-kid limit (the regular fetch does not
 * count), documents at and over their caps, an entry given to another
 * provider, and several processes racing for the lease.
 */
#include "provider_shm.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_shm.h>

#include "bounds.h"
#include "errors.h"

/* A fixed clock: 2025-01-01T00:00:00Z. */
#define T0     ((apr_time_t)1735689600 * APR_USEC_PER_SEC)
#define SEC(n) apr_time_from_sec(n)
#define LEASE  SEC(15)
#define DISC   OAUTH2_PSHM_DISCOVERY
#define JWKS   OAUTH2_PSHM_JWKS

static apr_pool_t *root;

typedef struct {
    apr_pool_t *pool;
    apr_shm_t *seg;
    apr_global_mutex_t *mutex;
    oauth2_pshm_t *v;
    void *base;
    apr_uint64_t size;
    unsigned char keys[4][OAUTH2_PSHM_KEY_LEN];
    apr_uint32_t slot[4];
} fx_t;

static void fx_open(fx_t *fx, apr_uint32_t entries)
{
    const char *err = NULL;
    int i;

    memset(fx, 0, sizeof(*fx));
    assert_int_equal(apr_pool_create(&fx->pool, root), APR_SUCCESS);
    fx->size = oauth2_pshm_size(entries);
    assert_true(fx->size > 0);
    assert_int_equal(
        apr_shm_create(&fx->seg, (apr_size_t)fx->size, NULL, fx->pool),
        APR_SUCCESS);
    fx->base = apr_shm_baseaddr_get(fx->seg);
    assert_int_equal(
        apr_global_mutex_create(&fx->mutex, NULL, APR_LOCK_DEFAULT, fx->pool),
        APR_SUCCESS);
    assert_int_equal(oauth2_pshm_format(fx->base, fx->size, entries),
                     APR_SUCCESS);
    assert_int_equal(oauth2_pshm_attach(fx->pool, fx->base, fx->size, fx->mutex,
                                        &fx->v, &err),
                     APR_SUCCESS);
    for (i = 0; i < 4; i++) {
        memset(fx->keys[i], 'a' + i, OAUTH2_PSHM_KEY_LEN);
    }
}

static void fx_close(fx_t *fx)
{
    apr_pool_destroy(fx->pool);
}

/* Binds keys[0..n) and checks every call succeeded. */
static void bind_keys(fx_t *fx, apr_uint32_t n)
{
    assert_int_equal(
        oauth2_pshm_bind(fx->v, fx->pool, &fx->keys[0][0], n, fx->slot),
        APR_SUCCESS);
}

static oauth2_pshm_turn_e begin(fx_t *fx, int k, oauth2_pshm_doc_e doc,
                                apr_time_t now, apr_uint32_t seen, int kid,
                                apr_uint32_t *token, const char **err)
{
    apr_uint32_t t = 0;
    const char *e = NULL;
    oauth2_pshm_turn_e r =
        oauth2_pshm_begin(fx->v, fx->slot[k], fx->keys[k], doc, now, seen, kid,
                          LEASE, &t, fx->pool, &e);

    if (token != NULL) {
        *token = t;
    }
    if (err != NULL) {
        *err = e;
    }
    return r;
}

static apr_uint32_t end_ok(fx_t *fx, int k, oauth2_pshm_doc_e doc,
                           apr_uint32_t token, apr_time_t now, const char *body)
{
    return oauth2_pshm_end(fx->v, fx->slot[k], fx->keys[k], doc, token, now, 1,
                           body, strlen(body), NULL);
}

static void end_fail(fx_t *fx, int k, oauth2_pshm_doc_e doc, apr_uint32_t token,
                     apr_time_t now, const char *why)
{
    assert_int_equal(oauth2_pshm_end(fx->v, fx->slot[k], fx->keys[k], doc,
                                     token, now, 0, NULL, 0, why),
                     0);
}

/* A successful fetch of doc at now with body; the new generation. */
static apr_uint32_t fetch(fx_t *fx, int k, oauth2_pshm_doc_e doc,
                          apr_time_t now, apr_uint32_t seen, const char *body)
{
    apr_uint32_t token;

    assert_int_equal(begin(fx, k, doc, now, seen, 0, &token, NULL),
                     OAUTH2_PSHM_FETCH);
    assert_true(token != 0);
    return end_ok(fx, k, doc, token, now, body);
}

static void assert_doc(fx_t *fx, int k, oauth2_pshm_doc_e doc, const char *want,
                       apr_uint32_t want_gen)
{
    const char *body = NULL;
    apr_size_t len = 0;
    apr_uint32_t gen = 0;
    apr_time_t fetched = 0;

    assert_int_equal(oauth2_pshm_read(fx->v, fx->slot[k], fx->keys[k], doc,
                                      fx->pool, &body, &len, &gen, &fetched),
                     APR_SUCCESS);
    assert_int_equal(len, strlen(want));
    assert_string_equal(body, want);
    assert_int_equal(gen, want_gen);
    assert_int_equal(
        oauth2_pshm_generation(fx->v, fx->slot[k], fx->keys[k], doc), want_gen);
}

static void test_pshm_size_and_refusals(void **state)
{
    fx_t fx;
    apr_uint64_t one = oauth2_pshm_size(1);
    const char *err = NULL;
    oauth2_pshm_t *v = NULL;
    char junk[512];

    (void)state;
    assert_int_equal(oauth2_pshm_size(0), 0);
    assert_int_equal(oauth2_pshm_size(OAUTH2_PSHM_MAX_ENTRIES + 1), 0);
    /* Each entry reserves both documents at their caps. */
    assert_true(one >= 256 + OAUTH2_MAX_RESPONSE + OAUTH2_MAX_JWKS);
    assert_true(one < 256 + OAUTH2_MAX_RESPONSE + OAUTH2_MAX_JWKS + 1024);
    /* The layout comment of src/provider_shm.c: E = 768 KiB + 576 B. */
    assert_int_equal(oauth2_pshm_size(2) - one, 768 * 1024 + 576);
    assert_int_equal(oauth2_pshm_size(3) - oauth2_pshm_size(2), one - 256);
    assert_int_equal(oauth2_pshm_format(junk, sizeof(junk), 1), APR_EINVAL);
    memset(junk, 0x5a, sizeof(junk));
    assert_int_equal(oauth2_pshm_capacity(junk, sizeof(junk)), 0);
    assert_int_equal(
        oauth2_pshm_attach(root, junk, sizeof(junk), NULL, &v, &err),
        APR_EINVAL);
    assert_non_null(err);

    fx_open(&fx, 3);
    assert_int_equal(oauth2_pshm_capacity(fx.base, fx.size), 3);
    /* A segment smaller than the header says is not a view. */
    assert_int_equal(oauth2_pshm_capacity(fx.base, fx.size - 1), 0);
    err = NULL;
    assert_int_equal(
        oauth2_pshm_attach(fx.pool, fx.base, fx.size, NULL, &v, &err),
        APR_EINVAL);
    assert_string_equal(err, "no mutex");
    fx_close(&fx);
}

static void test_pshm_bind(void **state)
{
    fx_t fx;
    apr_uint32_t kept[4];
    unsigned char list[3][OAUTH2_PSHM_KEY_LEN];

    (void)state;
    fx_open(&fx, 3);
    bind_keys(&fx, 2);
    assert_int_not_equal(fx.slot[0], fx.slot[1]);
    assert_true(fx.slot[0] < 3 && fx.slot[1] < 3);
    assert_int_equal(fetch(&fx, 0, DISC, T0, 0, "{\"a\":1}"), 1);

    /* A restart with the same providers: same entries, documents kept. */
    memcpy(kept, fx.slot, sizeof(kept));
    bind_keys(&fx, 2);
    assert_memory_equal(kept, fx.slot, 2 * sizeof(apr_uint32_t));
    assert_doc(&fx, 0, DISC, "{\"a\":1}", 1);

    /* Equal keys (two hosts, one provider) share an entry. */
    memcpy(list[0], fx.keys[2], OAUTH2_PSHM_KEY_LEN);
    memcpy(list[1], fx.keys[0], OAUTH2_PSHM_KEY_LEN);
    memcpy(list[2], fx.keys[2], OAUTH2_PSHM_KEY_LEN);
    assert_int_equal(oauth2_pshm_bind(fx.v, fx.pool, &list[0][0], 3, kept),
                     APR_SUCCESS);
    assert_int_equal(kept[0], kept[2]);
    assert_int_equal(kept[1], fx.slot[0]);
    assert_int_not_equal(kept[0], kept[1]);
    fx_close(&fx);
}

static void test_pshm_bind_reuses_and_refuses(void **state)
{
    fx_t fx;
    apr_uint32_t slots[4];
    const char *err = NULL;

    (void)state;
    fx_open(&fx, 2);
    bind_keys(&fx, 2); /* a and b */
    assert_int_equal(fetch(&fx, 1, JWKS, T0, 0, "{\"keys\":[]}"), 1);
    /* More providers than entries: refused, and nothing changed. */
    assert_int_equal(oauth2_pshm_bind(fx.v, fx.pool, &fx.keys[1][0], 3, slots),
                     OAUTH2_EFULL);
    assert_doc(&fx, 1, JWKS, "{\"keys\":[]}", 1);
    /* a left the configuration, c came: c gets a's entry, emptied; b keeps
     * its entry and documents. */
    assert_int_equal(oauth2_pshm_bind(fx.v, fx.pool, &fx.keys[1][0], 2, slots),
                     APR_SUCCESS);
    assert_int_equal(slots[0], fx.slot[1]);
    assert_int_equal(slots[1], fx.slot[0]);
    assert_doc(&fx, 1, JWKS, "{\"keys\":[]}", 1);
    assert_int_equal(oauth2_pshm_generation(fx.v, slots[1], fx.keys[2], JWKS),
                     0);
    /* A process that still has a's entry (an old child during a graceful
     * restart) finds it gone: no generation, no bytes, no lease, no write. */
    assert_int_equal(oauth2_pshm_generation(fx.v, fx.slot[0], fx.keys[0], DISC),
                     0);
    assert_int_equal(begin(&fx, 0, DISC, T0, 0, 0, NULL, &err),
                     OAUTH2_PSHM_BACKOFF);
    assert_string_equal(err, "the provider's shared entry was reassigned");
    assert_int_equal(end_ok(&fx, 0, DISC, 1, T0, "{}"), 0);
    assert_int_equal(oauth2_pshm_generation(fx.v, slots[1], fx.keys[2], DISC),
                     0);
    fx_close(&fx);
}

static void test_pshm_lease(void **state)
{
    fx_t fx;
    apr_uint32_t t1, t2, t3;

    (void)state;
    fx_open(&fx, 1);
    bind_keys(&fx, 1);
    assert_int_equal(oauth2_pshm_generation(fx.v, fx.slot[0], fx.keys[0], DISC),
                     0);
    assert_int_equal(begin(&fx, 0, DISC, T0, 0, 0, &t1, NULL),
                     OAUTH2_PSHM_FETCH);
    /* One fetch at a time, for this document only. */
    assert_int_equal(begin(&fx, 0, DISC, T0 + SEC(1), 0, 0, &t2, NULL),
                     OAUTH2_PSHM_BUSY);
    assert_int_equal(t2, 0);
    assert_int_equal(begin(&fx, 0, JWKS, T0 + SEC(1), 0, 0, &t3, NULL),
                     OAUTH2_PSHM_FETCH);
    assert_int_equal(end_ok(&fx, 0, JWKS, t3, T0 + SEC(1), "{\"keys\":[1]}"),
                     1);
    /* The holder finishes: a new generation, the lease is free. */
    assert_int_equal(end_ok(&fx, 0, DISC, t1, T0 + SEC(2), "{\"d\":1}"), 1);
    assert_doc(&fx, 0, DISC, "{\"d\":1}", 1);
    /* A caller with an older generation reads the new one first. */
    assert_int_equal(begin(&fx, 0, DISC, T0 + SEC(3), 0, 0, NULL, NULL),
                     OAUTH2_PSHM_NEWER);
    /* A holder killed mid-fetch: its lease expires, another takes over,
     * and the late holder's end neither frees nor spoils the new lease. */
    assert_int_equal(begin(&fx, 0, DISC, T0 + SEC(10), 1, 0, &t1, NULL),
                     OAUTH2_PSHM_FETCH);
    assert_int_equal(
        begin(&fx, 0, DISC, T0 + SEC(10) + LEASE - 1, 1, 0, NULL, NULL),
        OAUTH2_PSHM_BUSY);
    assert_int_equal(begin(&fx, 0, DISC, T0 + SEC(10) + LEASE, 1, 0, &t2, NULL),
                     OAUTH2_PSHM_FETCH);
    assert_int_not_equal(t1, t2);
    assert_int_equal(end_ok(&fx, 0, DISC, t1, T0 + SEC(30), "{\"d\":2}"), 2);
    assert_int_equal(begin(&fx, 0, DISC, T0 + SEC(31), 2, 0, NULL, NULL),
                     OAUTH2_PSHM_BUSY);
    assert_int_equal(end_ok(&fx, 0, DISC, t2, T0 + SEC(31), "{\"d\":3}"), 3);
    assert_int_equal(begin(&fx, 0, DISC, T0 + SEC(32), 3, 0, &t3, NULL),
                     OAUTH2_PSHM_FETCH);
    fx_close(&fx);
}

static void test_pshm_backoff(void **state)
{
    static const int waits[] = { 1, 2, 3, 3, 3 };
    fx_t fx;
    apr_uint32_t token;
    apr_time_t now = T0;
    const char *err = NULL;
    oauth2_pshm_stats_t st;
    size_t i;

    (void)state;
    fx_open(&fx, 1);
    bind_keys(&fx, 1);
    for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
        assert_int_equal(begin(&fx, 0, DISC, now, 0, 0, &token, NULL),
                         OAUTH2_PSHM_FETCH);
        end_fail(&fx, 0, DISC, token, now, "connection refused");
        /* Every caller, whatever it had, waits out the same back-off. */
        assert_int_equal(
            begin(&fx, 0, DISC, now + SEC(waits[i]) - 1, 0, 0, NULL, &err),
            OAUTH2_PSHM_BACKOFF);
        assert_non_null(strstr(err, "connection refused"));
        now += SEC(waits[i]);
    }
    oauth2_pshm_stats(fx.v, fx.slot[0], &st);
    assert_int_equal(st.failures, 5);
    assert_int_equal(st.fetches[DISC], 0);
    /* A success ends the back-off: the next failure waits 1 s again. */
    assert_int_equal(fetch(&fx, 0, DISC, now, 0, "{}"), 1);
    assert_int_equal(begin(&fx, 0, DISC, now + SEC(1), 1, 0, &token, NULL),
                     OAUTH2_PSHM_FETCH);
    end_fail(&fx, 0, DISC, token, now + SEC(1), NULL);
    assert_int_equal(begin(&fx, 0, DISC, now + SEC(2) - 1, 1, 0, NULL, &err),
                     OAUTH2_PSHM_BACKOFF);
    assert_non_null(strstr(err, "the fetch failed"));
    assert_int_equal(begin(&fx, 0, DISC, now + SEC(2), 1, 0, NULL, NULL),
                     OAUTH2_PSHM_FETCH);
    oauth2_pshm_stats(fx.v, fx.slot[0], &st);
    assert_int_equal(st.fetches[DISC], 1);
    assert_int_equal(st.failures, 6);
    fx_close(&fx);
}

static void test_pshm_unknown_kid_limit(void **state)
{
    fx_t fx;
    apr_uint32_t token, busy;

    (void)state;
    fx_open(&fx, 1);
    bind_keys(&fx, 1);
    /* The regular fetch does not count: a kid refetch right after it. */
    assert_int_equal(fetch(&fx, 0, JWKS, T0, 0, "{\"keys\":[1]}"), 1);
    assert_int_equal(begin(&fx, 0, JWKS, T0 + SEC(1), 1, 1, &token, NULL),
                     OAUTH2_PSHM_FETCH);
    assert_int_equal(end_ok(&fx, 0, JWKS, token, T0 + SEC(1), "{\"keys\":[2]}"),
                     2);
    /* Within the interval: no other kid refetch, anywhere. */
    assert_int_equal(begin(&fx, 0, JWKS,
                           T0 + SEC(1) + OAUTH2_JWKS_MIN_INTERVAL - 1, 2, 1,
                           NULL, NULL),
                     OAUTH2_PSHM_LIMITED);
    /* ...but a regular refresh (expired copy) is not limited. */
    assert_int_equal(begin(&fx, 0, JWKS, T0 + SEC(2), 2, 0, &token, NULL),
                     OAUTH2_PSHM_FETCH);
    /* While it runs, a kid refetch waits for it and takes no turn. */
    assert_int_equal(begin(&fx, 0, JWKS, T0 + SEC(10), 2, 1, &busy, NULL),
                     OAUTH2_PSHM_BUSY);
    assert_int_equal(end_ok(&fx, 0, JWKS, token, T0 + SEC(2), "{\"keys\":[3]}"),
                     3);
    /* Someone else refetched since the caller's copy: it reads that; and
     * the interval counts from the last kid refetch (T0 + 1 s), not from
     * the BUSY answer (T0 + 10 s). */
    assert_int_equal(begin(&fx, 0, JWKS, T0 + SEC(10), 2, 1, NULL, NULL),
                     OAUTH2_PSHM_NEWER);
    assert_int_equal(begin(&fx, 0, JWKS, T0 + SEC(1) + OAUTH2_JWKS_MIN_INTERVAL,
                           3, 1, &token, NULL),
                     OAUTH2_PSHM_FETCH);
    end_fail(&fx, 0, JWKS, token, T0 + SEC(40), "503");
    /* A failed kid refetch counts too (and the back-off applies). */
    assert_int_equal(begin(&fx, 0, JWKS, T0 + SEC(45), 3, 1, NULL, NULL),
                     OAUTH2_PSHM_LIMITED);
    fx_close(&fx);
}

static void test_pshm_document_caps(void **state)
{
    fx_t fx;
    apr_uint32_t token;
    char *big = malloc(OAUTH2_MAX_RESPONSE + 1);
    const char *err = NULL;

    (void)state;
    assert_non_null(big);
    fx_open(&fx, 2);
    bind_keys(&fx, 2);
    /* Each document at its cap fits, and does not touch the other. */
    memset(big, 'x', OAUTH2_MAX_RESPONSE);
    big[OAUTH2_MAX_RESPONSE] = '\0';
    assert_int_equal(fetch(&fx, 0, DISC, T0, 0, big), 1);
    big[OAUTH2_MAX_JWKS] = '\0';
    memset(big, 'y', OAUTH2_MAX_JWKS);
    assert_int_equal(fetch(&fx, 0, JWKS, T0, 0, big), 1);
    assert_int_equal(fetch(&fx, 1, DISC, T0, 0, "{}"), 1);
    assert_doc(&fx, 0, JWKS, big, 1);
    memset(big, 'x', OAUTH2_MAX_RESPONSE);
    big[OAUTH2_MAX_RESPONSE] = '\0';
    assert_doc(&fx, 0, DISC, big, 1);
    assert_doc(&fx, 1, DISC, "{}", 1);
    /* One byte over: a failure, the old copy stays. */
    big[OAUTH2_MAX_JWKS + 1] = '\0';
    assert_int_equal(begin(&fx, 0, JWKS, T0, 1, 0, &token, NULL),
                     OAUTH2_PSHM_FETCH);
    assert_int_equal(end_ok(&fx, 0, JWKS, token, T0, big), 0);
    assert_int_equal(oauth2_pshm_generation(fx.v, fx.slot[0], fx.keys[0], JWKS),
                     1);
    assert_int_equal(begin(&fx, 0, JWKS, T0, 1, 0, NULL, &err),
                     OAUTH2_PSHM_BACKOFF);
    assert_non_null(strstr(err, "size limit"));
    free(big);
    fx_close(&fx);
}

/* Children race for the lease of one document; each "fetch" checks that
 * nobody else is inside, then sleeps a little. */
static void race_child(fx_t *fx, volatile apr_uint32_t *inside,
                       volatile apr_uint32_t *overlap, int rounds)
{
    apr_global_mutex_t *m = fx->mutex;
    apr_uint32_t token, seen = 0;
    int done = 0;

    if (apr_global_mutex_child_init(&m, NULL, fx->pool) != APR_SUCCESS) {
        _exit(2);
    }
    while (done < rounds) {
        apr_time_t now = apr_time_now();
        oauth2_pshm_turn_e t =
            oauth2_pshm_begin(fx->v, fx->slot[0], fx->keys[0], DISC, now, seen,
                              0, LEASE, &token, fx->pool, &(const char *){ 0 });

        if (t == OAUTH2_PSHM_NEWER) {
            seen =
                oauth2_pshm_generation(fx->v, fx->slot[0], fx->keys[0], DISC);
            continue;
        }
        if (t != OAUTH2_PSHM_FETCH) {
            oauth2_pshm_wait(fx->v, fx->slot[0], fx->keys[0], DISC, seen,
                             apr_time_from_msec(100));
            continue;
        }
        if (__atomic_add_fetch(inside, 1, __ATOMIC_SEQ_CST) != 1) {
            __atomic_add_fetch(overlap, 1, __ATOMIC_SEQ_CST);
        }
        apr_sleep(2000);
        __atomic_sub_fetch(inside, 1, __ATOMIC_SEQ_CST);
        seen = oauth2_pshm_end(fx->v, fx->slot[0], fx->keys[0], DISC, token,
                               apr_time_now(), 1, "{}", 2, NULL);
        done++;
    }
    _exit(0);
}

static void test_pshm_processes_take_turns(void **state)
{
    enum {
        NPROC = 4,
        ROUNDS = 25
    };
    fx_t fx;
    apr_shm_t *cseg;
    volatile apr_uint32_t *counts;
    pid_t pids[NPROC];
    oauth2_pshm_stats_t st;
    int i, status;

    (void)state;
    fx_open(&fx, 1);
    bind_keys(&fx, 1);
    assert_int_equal(apr_shm_create(&cseg, 64, NULL, fx.pool), APR_SUCCESS);
    counts = apr_shm_baseaddr_get(cseg);
    counts[0] = counts[1] = 0;
    for (i = 0; i < NPROC; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            race_child(&fx, &counts[0], &counts[1], ROUNDS);
        }
    }
    for (i = 0; i < NPROC; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(counts[1], 0); /* never two fetchers at once */
    oauth2_pshm_stats(fx.v, fx.slot[0], &st);
    assert_int_equal(st.fetches[DISC], NPROC * ROUNDS);
    assert_int_equal(oauth2_pshm_generation(fx.v, fx.slot[0], fx.keys[0], DISC),
                     NPROC * ROUNDS);
    fx_close(&fx);
}

/* A waiter wakes when the fetch ends, and when a killed holder's lease
 * expires; never later than its bound. */
static void test_pshm_wait(void **state)
{
    fx_t fx;
    apr_uint32_t token;
    apr_time_t t;
    pid_t pid;
    int status, fds[2];
    char c;

    (void)state;
    fx_open(&fx, 1);
    bind_keys(&fx, 1);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        apr_global_mutex_t *m = fx.mutex;

        apr_global_mutex_child_init(&m, NULL, fx.pool);
        if (oauth2_pshm_begin(fx.v, fx.slot[0], fx.keys[0], DISC,
                              apr_time_now(), 0, 0, LEASE, &token, fx.pool,
                              &(const char *){ 0 })
                != OAUTH2_PSHM_FETCH
            || write(fds[1], "x", 1) != 1) {
            _exit(3);
        }
        apr_sleep(apr_time_from_msec(300));
        oauth2_pshm_end(fx.v, fx.slot[0], fx.keys[0], DISC, token,
                        apr_time_now(), 1, "{\"w\":1}", 7, NULL);
        _exit(0);
    }
    assert_int_equal(read(fds[0], &c, 1), 1); /* the child holds the lease */
    close(fds[0]);
    close(fds[1]);
    assert_int_equal(begin(&fx, 0, DISC, apr_time_now(), 0, 0, NULL, NULL),
                     OAUTH2_PSHM_BUSY);
    t = apr_time_now();
    oauth2_pshm_wait(fx.v, fx.slot[0], fx.keys[0], DISC, 0, SEC(5));
    t = apr_time_now() - t;
    assert_true(t < apr_time_from_msec(1500));
    assert_doc(&fx, 0, DISC, "{\"w\":1}", 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(WEXITSTATUS(status), 0);

    /* A holder killed with the lease: waiters wake at its deadline. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        apr_global_mutex_t *m = fx.mutex;

        apr_global_mutex_child_init(&m, NULL, fx.pool);
        oauth2_pshm_begin(fx.v, fx.slot[0], fx.keys[0], DISC, apr_time_now(), 1,
                          0, SEC(1), &token, fx.pool, &(const char *){ 0 });
        kill(getpid(), SIGKILL);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(begin(&fx, 0, DISC, apr_time_now(), 1, 0, NULL, NULL),
                     OAUTH2_PSHM_BUSY);
    t = apr_time_now();
    oauth2_pshm_wait(fx.v, fx.slot[0], fx.keys[0], DISC, 1, SEC(5));
    t = apr_time_now() - t;
    assert_true(t < apr_time_from_msec(2500));
    assert_int_equal(begin(&fx, 0, DISC, apr_time_now(), 1, 0, NULL, NULL),
                     OAUTH2_PSHM_FETCH);
    /* And a wait never outlasts its bound. */
    t = apr_time_now();
    oauth2_pshm_wait(fx.v, fx.slot[0], fx.keys[0], DISC, 1,
                     apr_time_from_msec(100));
    assert_true(apr_time_now() - t < apr_time_from_msec(1000));
    fx_close(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pshm_size_and_refusals),
        cmocka_unit_test(test_pshm_bind),
        cmocka_unit_test(test_pshm_bind_reuses_and_refuses),
        cmocka_unit_test(test_pshm_lease),
        cmocka_unit_test(test_pshm_backoff),
        cmocka_unit_test(test_pshm_unknown_kid_limit),
        cmocka_unit_test(test_pshm_document_caps),
        cmocka_unit_test(test_pshm_processes_take_turns),
        cmocka_unit_test(test_pshm_wait),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&root, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(root);
    apr_terminate();
    return rc;
}
