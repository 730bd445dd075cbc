/*
 * apache_socache.c: sessions in an ap_socache provider (redis, memcache,
 * shmcb, dbm, ...) so that several Apache hosts share their users
 * (OAuth2SessionStore redis:host:port). Implements the store interface of
 * src/store.h; store.c seals every record before it gets here.
 *
 * socache has no "touch", no "add if absent" and does not return an
 * entry's expiry, so each value carries its own expiry in front:
 *     expiry (8 bytes, big-endian usec) | record
 * "add" is a retrieve then a store: two hosts racing on the same one-time
 * marker within that window could both succeed (documented). Providers
 * flagged AP_SOCACHE_FLAG_NOTMPSAFE are called under a global mutex.
 */
#include "apache.h"
#include "bytes.h"

#include "apr_strings.h"
#include "ap_socache.h"
#include "util_mutex.h"

#include "bounds.h"
#include "errors.h"
#include "seal.h"

#define SOCACHE_EXPIRY_LEN 8
/* The largest value read back: a sealed maximal record plus its expiry. */
#define SOCACHE_MAX_VALUE \
    (OAUTH2_MAX_SESSION_RECORD + OAUTH2_SEAL_OVERHEAD + SOCACHE_EXPIRY_LEN)

struct auth_oauth2_socache_t {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *inst;
    apr_global_mutex_t *mutex; /* only for NOTMPSAFE providers */
    server_rec *s;
    const char *spec;
    /* Set when the store failed in this process, cleared by its next
     * success. apr_redis and apr_memcache answer "not found" without
     * asking while they consider a server dead (after a failure, until a
     * ping, tried every 5 s on a pooled connection that may be just as
     * stale, succeeds): meanwhile a "not found" must not pass for "no
     * such session" or for a logout done. */
    apr_uint32_t failed; /* __atomic access: threads share it */
};

/* The probe's key: store keys are SHA-256 values, never this. */
static const unsigned char probe_key[OAUTH2_STORE_KEY_LEN] =
    "mod_auth_oauth2 liveness probe.";

static apr_status_t lock(const auth_oauth2_socache_t *c)
{
    return c->mutex ? apr_global_mutex_lock(c->mutex) : APR_SUCCESS;
}

static void unlock(const auth_oauth2_socache_t *c)
{
    if (c->mutex) {
        apr_global_mutex_unlock(c->mutex);
    }
}

/* socache providers say "not found" in more than one way. */
static int is_notfound(apr_status_t rv)
{
    return rv == APR_NOTFOUND || APR_STATUS_IS_NOTFOUND(rv)
           || APR_STATUS_IS_ENOENT(rv);
}

static void set_failed(auth_oauth2_socache_t *c, int failed)
{
    if (__atomic_load_n(&c->failed, __ATOMIC_RELAXED) != (apr_uint32_t)failed) {
        __atomic_store_n(&c->failed, (apr_uint32_t)failed, __ATOMIC_RELAXED);
    }
}

/* Is the server answering? Asked only after a failure, when a "not
 * found" is ambiguous: a write, which no server answers "not found", tells
 * (the clients answer it "not found" too while they think the server
 * dead). Called under lock(). */
static int probe(auth_oauth2_socache_t *c, apr_pool_t *p)
{
    unsigned char one = 1;
    apr_status_t rv =
        c->provider->store(c->inst, c->s, probe_key, OAUTH2_STORE_KEY_LEN,
                           apr_time_now() + apr_time_from_sec(60), &one, 1, p);

    set_failed(c, rv != APR_SUCCESS);
    return rv == APR_SUCCESS;
}

/* One operation (retrieve, store or remove) with the failure handling all
 * three need: a connection the server closed fails once (apr_redis,
 * apr_memcache drop it then), so a failure is tried again on a fresh one;
 * a "not found" after a failure is believed only once a probe has found
 * the server answering, and is then asked again. Called under lock(). */
typedef apr_status_t (*sc_op_fn)(auth_oauth2_socache_t *c, apr_pool_t *p,
                                 const unsigned char *key, void *baton);

static apr_status_t attempt(auth_oauth2_socache_t *c, apr_pool_t *p,
                            const unsigned char *key, sc_op_fn op, void *baton)
{
    apr_status_t rv = op(c, p, key, baton);

    if (rv != APR_SUCCESS && !is_notfound(rv)) {
        set_failed(c, 1);
        if (APR_STATUS_IS_ECONNREFUSED(rv)) {
            return rv;
        }
        rv = op(c, p, key, baton);
    }
    if (is_notfound(rv) && __atomic_load_n(&c->failed, __ATOMIC_RELAXED)) {
        rv = probe(c, p) ? op(c, p, key, baton) : APR_EGENERAL;
    }
    if (rv == APR_SUCCESS) {
        set_failed(c, 0);
    }
    else if (!is_notfound(rv)) {
        set_failed(c, 1);
    }
    return rv;
}

typedef struct {
    unsigned char *buf;
    unsigned int n;
} get_baton_t;

static apr_status_t op_retrieve(auth_oauth2_socache_t *c, apr_pool_t *p,
                                const unsigned char *key, void *baton)
{
    get_baton_t *g = baton;

    g->n = SOCACHE_MAX_VALUE;
    return c->provider->retrieve(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN,
                                 g->buf, &g->n, p);
}

/* Reads the raw value (expiry and record) under key. */
static apr_status_t raw_get(auth_oauth2_socache_t *c, apr_pool_t *p,
                            const unsigned char *key, unsigned char **val,
                            unsigned int *len)
{
    get_baton_t g;
    apr_status_t rv = lock(c);

    if (rv != APR_SUCCESS) {
        return OAUTH2_ESTORE;
    }
    g.buf = apr_palloc(p, SOCACHE_MAX_VALUE);
    rv = attempt(c, p, key, op_retrieve, &g);
    unlock(c);
    if (is_notfound(rv)) {
        return OAUTH2_ENOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, c->s,
                     "OA2110: session store %s: read failed", c->spec);
        return OAUTH2_ESTORE;
    }
    if (g.n < SOCACHE_EXPIRY_LEN) {
        return OAUTH2_ENOTFOUND;
    }
    *val = g.buf;
    *len = g.n;
    return APR_SUCCESS;
}

static apr_status_t sc_get(void *ctx, apr_pool_t *p, const unsigned char *key,
                           apr_time_t now, char **rec, apr_size_t *len,
                           oauth2_store_meta_t *meta)
{
    unsigned char *val;
    unsigned int n;
    apr_status_t rv = raw_get(ctx, p, key, &val, &n);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    meta->expires = (apr_time_t)oauth2_u64_read(val);
    if (meta->expires <= now) {
        return OAUTH2_ENOTFOUND;
    }
    *rec = (char *)val + SOCACHE_EXPIRY_LEN;
    *len = n - SOCACHE_EXPIRY_LEN;
    return APR_SUCCESS;
}

typedef struct {
    unsigned char *val;
    unsigned int len;
    apr_time_t expires;
} put_baton_t;

/* No server answers a write "not found": that is a client that thinks the
 * server dead, a failure. */
static apr_status_t op_store(auth_oauth2_socache_t *c, apr_pool_t *p,
                             const unsigned char *key, void *baton)
{
    put_baton_t *b = baton;
    apr_status_t rv =
        c->provider->store(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN, b->expires,
                           b->val, b->len, p);

    return is_notfound(rv) ? APR_EGENERAL : rv;
}

static apr_status_t sc_put(void *ctx, apr_pool_t *p, const unsigned char *key,
                           const char *rec, apr_size_t len, apr_time_t expires,
                           apr_time_t now)
{
    auth_oauth2_socache_t *c = ctx;
    unsigned char *val;
    put_baton_t b;
    apr_status_t rv;

    if (len > SOCACHE_MAX_VALUE - SOCACHE_EXPIRY_LEN) {
        return OAUTH2_ETOOBIG;
    }
    val = apr_palloc(p, len + SOCACHE_EXPIRY_LEN);
    oauth2_u64_write(val, (apr_uint64_t)expires);
    memcpy(val + SOCACHE_EXPIRY_LEN, rec, len);
    b.val = val;
    b.len = (unsigned int)(len + SOCACHE_EXPIRY_LEN);
    b.expires = expires;
    rv = lock(c);
    if (rv == APR_SUCCESS) {
        rv = attempt(c, p, key, op_store, &b);
        unlock(c);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, c->s,
                     "OA2111: session store %s: write failed", c->spec);
        return OAUTH2_ESTORE;
    }
    return APR_SUCCESS;
}

static apr_status_t sc_add(void *ctx, apr_pool_t *p, const unsigned char *key,
                           const char *rec, apr_size_t len, apr_time_t expires,
                           apr_time_t now)
{
    char *old;
    apr_size_t oldlen;
    oauth2_store_meta_t meta;
    apr_status_t rv = sc_get(ctx, p, key, now, &old, &oldlen, &meta);

    if (rv == APR_SUCCESS) {
        return OAUTH2_EREPLAY;
    }
    if (rv != OAUTH2_ENOTFOUND) {
        return rv;
    }
    return sc_put(ctx, p, key, rec, len, expires, now);
}

static apr_status_t sc_touch(void *ctx, apr_pool_t *p, const unsigned char *key,
                             apr_time_t expires, apr_time_t now)
{
    char *rec;
    apr_size_t len;
    oauth2_store_meta_t meta;
    apr_status_t rv = sc_get(ctx, p, key, now, &rec, &len, &meta);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    return sc_put(ctx, p, key, rec, len, expires, now);
}

static apr_status_t op_remove(auth_oauth2_socache_t *c, apr_pool_t *p,
                              const unsigned char *key, void *baton)
{
    (void)baton;
    return c->provider->remove(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN, p);
}

static apr_status_t sc_remove(void *ctx, apr_pool_t *p,
                              const unsigned char *key)
{
    auth_oauth2_socache_t *c = ctx;
    apr_status_t rv = lock(c);

    if (rv == APR_SUCCESS) {
        /* After a failure, attempt() asks again once the server answers:
         * a logout must not pass for done while nothing was removed. */
        rv = attempt(c, p, key, op_remove, NULL);
        unlock(c);
    }
    if (is_notfound(rv)) {
        return OAUTH2_ENOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, c->s,
                     "OA2112: session store %s: remove failed", c->spec);
        return OAUTH2_ESTORE;
    }
    return APR_SUCCESS;
}

static const oauth2_store_ops_t socache_ops = {
    "socache", sc_get, sc_put, sc_add, sc_touch, sc_remove, sc_add,
};

const char *auth_oauth2_socache_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                       server_rec *s, const char *spec,
                                       const oauth2_seal_t *seal,
                                       auth_oauth2_socache_t **out,
                                       oauth2_store_t **store)
{
    auth_oauth2_socache_t *c = apr_pcalloc(pconf, sizeof(*c));
    const char *colon = strchr(spec, ':');
    const char *name = apr_pstrmemdup(ptemp, spec, (apr_size_t)(colon - spec));
    struct ap_socache_hints hints = { 32, 2048, apr_time_from_sec(60) };
    const char *err;
    apr_status_t rv;

    c->s = s;
    c->spec = spec;
    c->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                     AP_SOCACHE_PROVIDER_VERSION);
    if (c->provider == NULL) {
        return apr_psprintf(pconf,
                            "OAuth2SessionStore: no socache provider '%s' "
                            "(LoadModule socache_%s_module?)",
                            name, name);
    }
    err = c->provider->create(&c->inst, colon + 1, ptemp, pconf);
    if (err != NULL) {
        return apr_psprintf(pconf, "OAuth2SessionStore %s: %s", spec, err);
    }
    rv = c->provider->init(c->inst, "auth_oauth2", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(pconf, "OAuth2SessionStore %s: cannot initialize",
                            spec);
    }
    if ((c->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE)
        && ap_global_mutex_create(&c->mutex, NULL, AUTH_OAUTH2_SOCACHE_MUTEX,
                                  NULL, s, pconf, 0)
               != APR_SUCCESS) {
        return "OAuth2SessionStore: cannot create the store's mutex";
    }
    *out = c;
    *store = oauth2_store_create(pconf, &socache_ops, c, seal);
    return NULL;
}

void auth_oauth2_socache_child_init(auth_oauth2_socache_t *c, apr_pool_t *p)
{
    if (c != NULL && c->mutex != NULL) {
        apr_global_mutex_child_init(&c->mutex,
                                    apr_global_mutex_lockfile(c->mutex), p);
    }
}
