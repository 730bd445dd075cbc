/*
 * apache_socache.c: sessions in an ap_socache provider (redis, memcache,
 * shmcb, dbm, ...) so that several Apache hosts share their users
 * (OAuth2SessionStore redis:host:port). Only the provider's calls, its
 * mutexes (one for providers that are not thread- or process-safe, and
 * the server's lock around each "add if absent") and the log live here:
 * the store itself (expiry in each value, touch and add, what a
 * provider's answer means, the failure handling the clients need) is the
 * engine's src/store_remote.c.
 */
#include "apache_socache.h"
#include "apache_shm.h"

#include "apr_hash.h"
#include "apr_strings.h"
#include "ap_socache.h"
#include "util_mutex.h"

#include "kept.h"
#include "store_remote.h"

typedef struct {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *inst;
    apr_global_mutex_t *mutex; /* only for NOTMPSAFE providers */
    /* locks.add: one per store spec for the whole server, kept across
     * restarts (third review K: one per virtual host let two hosts
     * sharing a cache add the same number; one per generation would let
     * old and new children do so during a graceful restart). */
    oauth2_remote_locks_t locks;
    server_rec *s;
} auth_oauth2_socache_t;

static apr_status_t sc_retrieve(void *ctx, apr_pool_t *p,
                                const unsigned char *key, unsigned char *buf,
                                unsigned int *len)
{
    auth_oauth2_socache_t *c = ctx;

    return c->provider->retrieve(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN, buf,
                                 len, p);
}

static apr_status_t sc_store(void *ctx, apr_pool_t *p, const unsigned char *key,
                             apr_time_t expires, const unsigned char *val,
                             unsigned int len)
{
    auth_oauth2_socache_t *c = ctx;

    return c->provider->store(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN, expires,
                              (unsigned char *)val, len, p);
}

static apr_status_t sc_remove(void *ctx, apr_pool_t *p,
                              const unsigned char *key)
{
    auth_oauth2_socache_t *c = ctx;

    return c->provider->remove(c->inst, c->s, key, OAUTH2_STORE_KEY_LEN, p);
}

/* The add mutex of a spec (its lock named by a hash of the spec, which
 * may hold any character); kept.c keeps it. */
static apr_status_t make_add(void *s, apr_pool_t *kp, const char *name,
                             apr_global_mutex_t **mutex)
{
    return ap_global_mutex_create(mutex, NULL, AUTH_OAUTH2_SOCACHE_MUTEX, name,
                                  s, kp, 0);
}

static void sc_log(void *ctx, const char *message)
{
    auth_oauth2_socache_t *c = ctx;

    ap_log_error(APLOG_MARK, APLOG_ERR, 0, c->s, "%s", message);
}

static const oauth2_remote_ops_t socache_calls = {
    sc_retrieve,
    sc_store,
    sc_remove,
    sc_log,
};

const char *auth_oauth2_socache_open(apr_pool_t *p, apr_pool_t *ptemp,
                                     const char *spec,
                                     const ap_socache_provider_t **provider,
                                     ap_socache_instance_t **inst)
{
    const char *colon = strchr(spec, ':');
    const char *name = apr_pstrmemdup(ptemp, spec, (apr_size_t)(colon - spec));
    const ap_socache_provider_t *prov = ap_lookup_provider(
        AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    ap_socache_instance_t *made = NULL;
    const char *err;

    if (prov == NULL) {
        return apr_psprintf(p,
                            "OAuth2SessionStore %s: no socache provider '%s' "
                            "(LoadModule socache_%s_module, a2enmod "
                            "socache_%s)",
                            spec, name, name, name);
    }
    err = prov->create(&made, colon + 1, ptemp, p);
    if (err != NULL) {
        return apr_psprintf(p, "OAuth2SessionStore %s: %s", spec, err);
    }
    if (provider != NULL) {
        *provider = prov;
        *inst = made;
    }
    return NULL;
}

const char *auth_oauth2_socache_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                       server_rec *s, const char *spec,
                                       const oauth2_seal_t *seal,
                                       oauth2_store_t **store)
{
    auth_oauth2_socache_t *c = apr_pcalloc(pconf, sizeof(*c));
    struct ap_socache_hints hints = { 32, 2048, apr_time_from_sec(60) };
    apr_ssize_t len = (apr_ssize_t)strlen(spec);
    const char *err =
        auth_oauth2_socache_open(pconf, ptemp, spec, &c->provider, &c->inst);

    if (err != NULL) {
        return err;
    }
    c->s = s;
    if (c->provider->init(c->inst, "auth_oauth2", &hints, s, pconf)
        != APR_SUCCESS) {
        return apr_psprintf(pconf, "OAuth2SessionStore %s: cannot initialize",
                            spec);
    }
    if (c->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        c->locks.call = &c->mutex;
    }
    if ((c->locks.call != NULL
         && auth_oauth2_mutex(pconf, s, AUTH_OAUTH2_SOCACHE_MUTEX, NULL,
                              &c->mutex)
                != APR_SUCCESS)
        || oauth2_kept_mutex(
               pconf, s->process->pool,
               apr_pstrcat(ptemp, "auth_oauth2_socache_add:", spec, NULL),
               apr_psprintf(ptemp, "add%08x", apr_hashfunc_default(spec, &len)),
               make_add, s, &c->locks.add)
               != APR_SUCCESS) {
        return "OAuth2SessionStore: cannot create the store's mutex";
    }
    *store = oauth2_store_remote(pconf, &socache_calls, c, spec, seal,
                                 &c->locks, NULL);
    return NULL;
}
