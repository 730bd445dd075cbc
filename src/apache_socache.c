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
    /* When the store last failed (this process). apr_redis and
     * apr_memcache answer "not found" without trying while they consider
     * a server dead (a few seconds after a failure), which must not pass
     * for "no such session". */
    apr_uint64_t failed_at; /* __atomic access: threads share it */
};

/* How long after a failure a "not found" is not believed. */
#define SOCACHE_DEAD_WINDOW apr_time_from_sec(6)

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

/* Remembers failures; a "not found" soon after one is a failure too. */
static apr_status_t health(auth_oauth2_socache_t *c, apr_status_t rv)
{
    apr_time_t now = apr_time_now();

    apr_uint64_t failed = __atomic_load_n(&c->failed_at, __ATOMIC_RELAXED);

    if (rv == APR_SUCCESS) {
        if (failed != 0) {
            __atomic_store_n(&c->failed_at, 0, __ATOMIC_RELAXED);
        }
        return rv;
    }
    if (!is_notfound(rv)) {
        __atomic_store_n(&c->failed_at, (apr_uint64_t)now, __ATOMIC_RELAXED);
        return rv;
    }
    if (failed != 0 && now - (apr_time_t)failed < SOCACHE_DEAD_WINDOW) {
        return APR_EGENERAL;
    }
    return rv;
}

static void put_expiry(unsigned char *b, apr_time_t t)
{
    apr_uint64_t u = (apr_uint64_t)t;
    int i;

    for (i = 7; i >= 0; i--) {
        b[i] = (unsigned char)(u & 0xff);
        u >>= 8;
    }
}

static apr_time_t get_expiry(const unsigned char *b)
{
    apr_uint64_t u = 0;
    int i;

    for (i = 0; i < 8; i++) {
        u = (u << 8) | b[i];
    }
    return (apr_time_t)u;
}

/* Reads the raw value (expiry and record) under key. */
static apr_status_t raw_get(auth_oauth2_socache_t *c, apr_pool_t *p,
                            const unsigned char *key, unsigned char **val,
                            unsigned int *len)
{
    unsigned int n = SOCACHE_MAX_VALUE;
    unsigned char *buf = apr_palloc(p, n);
    apr_status_t rv = lock(c);

    if (rv != APR_SUCCESS) {
        return OAUTH2_ESTORE;
    }
    rv = c->provider->retrieve(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN, buf,
                               &n, p);
    if (rv != APR_SUCCESS && !is_notfound(rv)
        && !APR_STATUS_IS_ECONNREFUSED(rv)) {
        /* A connection the server closed fails once (apr_redis,
         * apr_memcache drop it then): try again on a fresh one. */
        n = SOCACHE_MAX_VALUE;
        rv = c->provider->retrieve(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN,
                                   buf, &n, p);
    }
    unlock(c);
    rv = health(c, rv);
    if (is_notfound(rv)) {
        return OAUTH2_ENOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, c->s,
                     "OA2110: session store %s: read failed", c->spec);
        return OAUTH2_ESTORE;
    }
    if (n < SOCACHE_EXPIRY_LEN) {
        return OAUTH2_ENOTFOUND;
    }
    *val = buf;
    *len = n;
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
    meta->expires = get_expiry(val);
    if (meta->expires <= now) {
        return OAUTH2_ENOTFOUND;
    }
    *rec = (char *)val + SOCACHE_EXPIRY_LEN;
    *len = n - SOCACHE_EXPIRY_LEN;
    return APR_SUCCESS;
}

static apr_status_t sc_put(void *ctx, apr_pool_t *p, const unsigned char *key,
                           const char *rec, apr_size_t len, apr_time_t expires,
                           apr_time_t now)
{
    auth_oauth2_socache_t *c = ctx;
    unsigned char *val;
    apr_status_t rv;

    if (len > SOCACHE_MAX_VALUE - SOCACHE_EXPIRY_LEN) {
        return OAUTH2_ETOOBIG;
    }
    val = apr_palloc(p, len + SOCACHE_EXPIRY_LEN);
    put_expiry(val, expires);
    memcpy(val + SOCACHE_EXPIRY_LEN, rec, len);
    rv = lock(c);
    if (rv == APR_SUCCESS) {
        rv = c->provider->store(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN,
                                expires, val,
                                (unsigned int)(len + SOCACHE_EXPIRY_LEN), p);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_ECONNREFUSED(rv)) {
            /* once more, as in raw_get */
            rv = c->provider->store(
                c->inst, c->s, key, OAUTH2_STORE_KEY_LEN, expires, val,
                (unsigned int)(len + SOCACHE_EXPIRY_LEN), p);
        }
        unlock(c);
    }
    rv = health(c, rv == APR_SUCCESS || !is_notfound(rv) ? rv : APR_EGENERAL);
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

static apr_status_t sc_remove(void *ctx, apr_pool_t *p,
                              const unsigned char *key)
{
    auth_oauth2_socache_t *c = ctx;
    apr_status_t rv = lock(c);

    if (rv == APR_SUCCESS) {
        rv = c->provider->remove(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN, p);
        if (rv != APR_SUCCESS && !is_notfound(rv)) { /* as in raw_get */
            rv = c->provider->remove(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN,
                                     p);
        }
        unlock(c);
    }
    if (is_notfound(rv)) {
        return OAUTH2_ENOTFOUND;
    }
    return rv == APR_SUCCESS ? APR_SUCCESS : OAUTH2_ESTORE;
}

static const oauth2_store_ops_t socache_ops = {
    "socache", sc_get, sc_put, sc_add, sc_touch, sc_remove,
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
