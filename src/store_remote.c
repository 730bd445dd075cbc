/*
 * store_remote.c: the store interface over a shared key-value cache (see
 * store_remote.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "bounds.h"
#include "bytes.h"
#include "errors.h"
#include "seal.h"
#include "store_remote.h"

#define EXPIRY_LEN 8
/* The largest value read back: a sealed maximal record plus its expiry. */
#define MAX_VALUE \
    (OAUTH2_MAX_SESSION_RECORD + OAUTH2_SEAL_OVERHEAD + EXPIRY_LEN)

/** What the cache answered. */
typedef enum {
    OAUTH2_REMOTE_OK,
    OAUTH2_REMOTE_NOTFOUND,
    OAUTH2_REMOTE_REFUSED, /* the connection was refused: not tried again */
    OAUTH2_REMOTE_FAILED
} oauth2_remote_e;

struct oauth2_remote_t {
    const oauth2_remote_ops_t *ops;
    oauth2_remote_locks_t locks;
    void *ctx;
    const char *name;
    /* Set when the cache failed in this process, cleared by its next
     * success (see store_remote.h). __atomic access: threads share it. */
    apr_uint32_t failed;
};

/* The probe's key: store keys are SHA-256 values, never this. */
static const unsigned char probe_key[OAUTH2_STORE_KEY_LEN] =
    "mod_auth_oauth2 liveness probe.";

apr_size_t oauth2_remote_max_record(void)
{
    return MAX_VALUE - EXPIRY_LEN;
}

/* The caches say "not found" in more than one way. */
static oauth2_remote_e answer(apr_status_t rv)
{
    if (rv == APR_SUCCESS) {
        return OAUTH2_REMOTE_OK;
    }
    if (rv == APR_NOTFOUND || APR_STATUS_IS_NOTFOUND(rv)
        || APR_STATUS_IS_ENOENT(rv)) {
        return OAUTH2_REMOTE_NOTFOUND;
    }
    return APR_STATUS_IS_ECONNREFUSED(rv) ? OAUTH2_REMOTE_REFUSED
                                          : OAUTH2_REMOTE_FAILED;
}

static void set_failed(oauth2_remote_t *r, int failed)
{
    if (__atomic_load_n(&r->failed, __ATOMIC_RELAXED) != (apr_uint32_t)failed) {
        __atomic_store_n(&r->failed, (apr_uint32_t)failed, __ATOMIC_RELAXED);
    }
}

/* Is the cache answering? Asked only after a failure, when a "not found"
 * is ambiguous: a write, which no server answers "not found", tells. */
static int probe(oauth2_remote_t *r, apr_pool_t *p)
{
    unsigned char one = 1;
    oauth2_remote_e rv = answer(r->ops->store(
        r->ctx, p, probe_key, apr_time_now() + apr_time_from_sec(60), &one, 1));

    set_failed(r, rv != OAUTH2_REMOTE_OK);
    return rv == OAUTH2_REMOTE_OK;
}

/* One call (retrieve, store or remove) with the failure handling all
 * three need (store_remote.h). */
typedef oauth2_remote_e (*call_fn)(oauth2_remote_t *r, apr_pool_t *p,
                                   const unsigned char *key, void *baton);

/* A mutex of the store's, where it has one. */
static apr_status_t lock(apr_global_mutex_t **m)
{
    return m != NULL ? apr_global_mutex_lock(*m) : APR_SUCCESS;
}

static void unlock(apr_global_mutex_t **m)
{
    if (m != NULL) {
        apr_global_mutex_unlock(*m);
    }
}

static oauth2_remote_e attempt(oauth2_remote_t *r, apr_pool_t *p,
                               const unsigned char *key, call_fn call,
                               void *baton)
{
    oauth2_remote_e rv;

    if (lock(r->locks.call) != APR_SUCCESS) {
        return OAUTH2_REMOTE_FAILED;
    }
    rv = call(r, p, key, baton);
    if (rv == OAUTH2_REMOTE_FAILED) {
        set_failed(r, 1);
        rv = call(r, p, key, baton);
    }
    else if (rv == OAUTH2_REMOTE_REFUSED) {
        set_failed(r, 1);
    }
    if (rv == OAUTH2_REMOTE_NOTFOUND
        && __atomic_load_n(&r->failed, __ATOMIC_RELAXED)) {
        rv = probe(r, p) ? call(r, p, key, baton) : OAUTH2_REMOTE_FAILED;
    }
    if (rv == OAUTH2_REMOTE_OK) {
        set_failed(r, 0);
    }
    else if (rv != OAUTH2_REMOTE_NOTFOUND) {
        set_failed(r, 1);
    }
    unlock(r->locks.call);
    return rv;
}

static void failure(oauth2_remote_t *r, apr_pool_t *p, const char *tag,
                    const char *what)
{
    if (r->ops->log_failure != NULL) {
        r->ops->log_failure(r->ctx, apr_psprintf(p,
                                                 "%s: session store %s: "
                                                 "%s failed",
                                                 tag, r->name, what));
    }
}

typedef struct {
    unsigned char *buf;
    unsigned int n;
} get_baton_t;

static oauth2_remote_e call_retrieve(oauth2_remote_t *r, apr_pool_t *p,
                                     const unsigned char *key, void *baton)
{
    get_baton_t *g = baton;

    g->n = MAX_VALUE;
    return answer(r->ops->retrieve(r->ctx, p, key, g->buf, &g->n));
}

static apr_status_t remote_get(void *ctx, apr_pool_t *p,
                               const unsigned char *key, apr_time_t now,
                               char **rec, apr_size_t *len,
                               oauth2_store_meta_t *meta)
{
    oauth2_remote_t *r = ctx;
    get_baton_t g;
    oauth2_remote_e rv;

    g.buf = apr_palloc(p, MAX_VALUE);
    rv = attempt(r, p, key, call_retrieve, &g);
    if (rv == OAUTH2_REMOTE_NOTFOUND) {
        return OAUTH2_ENOTFOUND;
    }
    if (rv != OAUTH2_REMOTE_OK) {
        failure(r, p, "OA2110", "read");
        return OAUTH2_ESTORE;
    }
    if (g.n < EXPIRY_LEN || g.n > MAX_VALUE) {
        return OAUTH2_ENOTFOUND;
    }
    meta->expires = (apr_time_t)oauth2_u64_read(g.buf);
    if (meta->expires <= now) {
        return OAUTH2_ENOTFOUND;
    }
    *rec = (char *)g.buf + EXPIRY_LEN;
    *len = g.n - EXPIRY_LEN;
    return APR_SUCCESS;
}

typedef struct {
    const unsigned char *val;
    unsigned int len;
    apr_time_t expires;
} put_baton_t;

/* No server answers a write "not found": that is a client that thinks the
 * server dead, a failure. */
static oauth2_remote_e call_store(oauth2_remote_t *r, apr_pool_t *p,
                                  const unsigned char *key, void *baton)
{
    put_baton_t *b = baton;
    oauth2_remote_e rv =
        answer(r->ops->store(r->ctx, p, key, b->expires, b->val, b->len));

    return rv == OAUTH2_REMOTE_NOTFOUND ? OAUTH2_REMOTE_FAILED : rv;
}

static apr_status_t remote_put(void *ctx, apr_pool_t *p,
                               const unsigned char *key, const char *rec,
                               apr_size_t len, apr_time_t expires,
                               apr_time_t now)
{
    oauth2_remote_t *r = ctx;
    unsigned char *val;
    put_baton_t b;

    if (len > MAX_VALUE - EXPIRY_LEN) {
        return OAUTH2_ETOOBIG;
    }
    val = apr_palloc(p, len + EXPIRY_LEN);
    oauth2_u64_write(val, (apr_uint64_t)expires);
    memcpy(val + EXPIRY_LEN, rec, len);
    b.val = val;
    b.len = (unsigned int)(len + EXPIRY_LEN);
    b.expires = expires;
    if (attempt(r, p, key, call_store, &b) != OAUTH2_REMOTE_OK) {
        failure(r, p, "OA2111", "write");
        return OAUTH2_ESTORE;
    }
    return APR_SUCCESS;
}

/* A read, then a write, then a read to see that the write was not
 * replaced (see store_remote.h), under the host's add lock. */
static apr_status_t add_locked(void *ctx, apr_pool_t *p,
                               const unsigned char *key, const char *rec,
                               apr_size_t len, apr_time_t expires,
                               apr_time_t now)
{
    char *old;
    apr_size_t oldlen;
    oauth2_store_meta_t meta;
    apr_status_t rv = remote_get(ctx, p, key, now, &old, &oldlen, &meta);

    if (rv == APR_SUCCESS) {
        return OAUTH2_EREPLAY;
    }
    if (rv == OAUTH2_ENOTFOUND) {
        rv = remote_put(ctx, p, key, rec, len, expires, now);
    }
    if (rv == APR_SUCCESS) {
        rv = remote_get(ctx, p, key, now, &old, &oldlen, &meta);
    }
    if (rv == APR_SUCCESS && (oldlen != len || memcmp(old, rec, len) != 0)) {
        /* Another host wrote between the read and the write. */
        return OAUTH2_EREPLAY;
    }
    return rv == OAUTH2_ENOTFOUND ? OAUTH2_EREPLAY : rv;
}

static apr_status_t remote_add(void *ctx, apr_pool_t *p,
                               const unsigned char *key, const char *rec,
                               apr_size_t len, apr_time_t expires,
                               apr_time_t now)
{
    oauth2_remote_t *r = ctx;
    apr_status_t rv;

    if (lock(r->locks.add) != APR_SUCCESS) {
        failure(r, p, "OA2111", "lock for a write");
        return OAUTH2_ESTORE;
    }
    rv = add_locked(ctx, p, key, rec, len, expires, now);
    unlock(r->locks.add);
    return rv;
}

static apr_status_t remote_touch(void *ctx, apr_pool_t *p,
                                 const unsigned char *key, apr_time_t expires,
                                 apr_time_t now)
{
    char *rec;
    apr_size_t len;
    oauth2_store_meta_t meta;
    apr_status_t rv = remote_get(ctx, p, key, now, &rec, &len, &meta);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    return remote_put(ctx, p, key, rec, len, expires, now);
}

static oauth2_remote_e call_remove(oauth2_remote_t *r, apr_pool_t *p,
                                   const unsigned char *key, void *baton)
{
    (void)baton;
    return answer(r->ops->remove(r->ctx, p, key));
}

static apr_status_t remote_remove(void *ctx, apr_pool_t *p,
                                  const unsigned char *key)
{
    oauth2_remote_t *r = ctx;
    /* After a failure, attempt() asks again once the cache answers: a
     * logout must not pass for done while nothing was removed. */
    oauth2_remote_e rv = attempt(r, p, key, call_remove, NULL);

    if (rv == OAUTH2_REMOTE_NOTFOUND) {
        return OAUTH2_ENOTFOUND;
    }
    if (rv != OAUTH2_REMOTE_OK) {
        failure(r, p, "OA2112", "remove");
        return OAUTH2_ESTORE;
    }
    return APR_SUCCESS;
}

static const oauth2_store_ops_t remote_ops = {
    .name = "socache",
    .get = remote_get,
    .put = remote_put,
    .add = remote_add,
    .touch = remote_touch,
    .remove = remote_remove,
    .put_new = remote_add,
};

oauth2_store_t *oauth2_store_remote(apr_pool_t *p,
                                    const oauth2_remote_ops_t *ops, void *ctx,
                                    const char *name, const oauth2_seal_t *seal,
                                    const oauth2_remote_locks_t *locks,
                                    oauth2_remote_t **remote)
{
    oauth2_remote_t *r = apr_pcalloc(p, sizeof(*r));

    if (locks != NULL) {
        r->locks = *locks;
    }
    r->ops = ops;
    r->ctx = ctx;
    r->name = name;
    if (remote != NULL) {
        *remote = r;
    }
    return oauth2_store_create(p, &remote_ops, r, seal);
}
