/*
 * apache_shm.c: what the whole server shares between its processes (see
 * apache_shm.h): global mutexes re-attached in every child, and shared
 * memory kept across restarts, written once for the session table, the
 * provider view and whatever else needs it. The engine formats and uses
 * the memory (store_shm.c, provider_shm.c, metadata.c).
 */
#include "apache_shm.h"

#include "apr_shm.h"
#include "unixd.h"
#include "util_mutex.h"

#include "crypto.h"
#include "metadata.h"
#include "provider_shm.h"

/* The mutexes to re-attach in each child (apr_global_mutex_t **), from
 * pconf; written during single-threaded startup, read-only afterwards. */
static apr_array_header_t *mutexes;

static apr_status_t mutexes_reset(void *unused)
{
    mutexes = NULL;
    return APR_SUCCESS;
}

static void remember(apr_pool_t *pconf, apr_global_mutex_t **mutex)
{
    if (mutexes == NULL) {
        mutexes = apr_array_make(pconf, 4, sizeof(apr_global_mutex_t **));
        apr_pool_cleanup_register(pconf, NULL, mutexes_reset,
                                  apr_pool_cleanup_null);
    }
    APR_ARRAY_PUSH(mutexes, apr_global_mutex_t **) = mutex;
}

apr_status_t auth_oauth2_mutex(apr_pool_t *pconf, server_rec *s,
                               const char *type, apr_global_mutex_t **mutex)
{
    apr_status_t rv =
        ap_global_mutex_create(mutex, NULL, type, NULL, s, pconf, 0);

    if (rv == APR_SUCCESS) {
        remember(pconf, mutex);
    }
    return rv;
}

/* k's mutex: the kept one, unless the segment is new. */
static apr_status_t kept_mutex(apr_pool_t *pconf, server_rec *s,
                               auth_oauth2_kept_t *k, int renew)
{
    apr_pool_t *pp = s->process->pool;
    void *kept = NULL;
    apr_status_t rv = APR_SUCCESS;

    apr_pool_userdata_get(&kept, k->mutex_type, pp);
    k->mutex = kept;
    if (k->mutex == NULL || renew) {
        rv = ap_global_mutex_create(&k->mutex, NULL, k->mutex_type, NULL, s, pp,
                                    0);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        apr_pool_userdata_set(k->mutex, k->mutex_type, NULL, pp);
    }
    remember(pconf, &k->mutex);
    return APR_SUCCESS;
}

apr_status_t auth_oauth2_kept(apr_pool_t *pconf, server_rec *s,
                              auth_oauth2_kept_t *k, apr_uint64_t size,
                              const void *ctx, const char **err)
{
    apr_pool_t *pp = s->process->pool;
    void *kept = NULL;
    apr_shm_t *shm;
    auth_oauth2_keep_e keep = AUTH_OAUTH2_RENEW;
    apr_status_t rv = APR_SUCCESS;

    apr_pool_userdata_get(&kept, k->key, pp);
    shm = kept;
    if (shm != NULL) {
        keep = k->judge(ctx, apr_shm_baseaddr_get(shm), apr_shm_size_get(shm));
    }
    k->renewed = shm != NULL && keep == AUTH_OAUTH2_RENEW;
    if (k->renewed) {
        apr_shm_destroy(shm);
        apr_pool_userdata_set(NULL, k->key, NULL, pp);
    }
    if (keep == AUTH_OAUTH2_RENEW) {
        rv = size == 0 || size != (apr_size_t)size
                 ? APR_EINVAL
                 : apr_shm_create(&shm, (apr_size_t)size, NULL, pp);
        if (rv != APR_SUCCESS) {
            *err = "shared memory";
            return rv;
        }
        apr_pool_userdata_set(shm, k->key, NULL, pp);
    }
    k->base = apr_shm_baseaddr_get(shm);
    k->size = apr_shm_size_get(shm);
    k->keep = keep;
    rv = kept_mutex(pconf, s, k, keep == AUTH_OAUTH2_RENEW);
    *err = rv != APR_SUCCESS ? "mutex" : NULL;
    return rv;
}

void auth_oauth2_shm_child_init(apr_pool_t *p, server_rec *s)
{
    int i;

    for (i = 0; mutexes != NULL && i < mutexes->nelts; i++) {
        apr_global_mutex_t **m =
            APR_ARRAY_IDX(mutexes, i, apr_global_mutex_t **);
        apr_status_t rv =
            apr_global_mutex_child_init(m, apr_global_mutex_lockfile(*m), p);

        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "OA2007: cannot attach a global mutex (%s) in a "
                         "child",
                         apr_global_mutex_name(*m));
        }
    }
}

/* ------------------------------------------------------------------ */
/* The session table                                                   */

/* A kept table serves when its capacity (and layout) is the one asked. */
static auth_oauth2_keep_e table_judge(const void *ctx, const void *base,
                                      apr_uint64_t size)
{
    return oauth2_shm_capacity(base, size) == *(const apr_uint32_t *)ctx
               ? AUTH_OAUTH2_KEEP
               : AUTH_OAUTH2_RENEW;
}

/* The writers' mutex lives as long as the segment: during a graceful
 * restart, children of both generations write to the same table. */
static auth_oauth2_kept_t table = {
    .key = "auth_oauth2_shm",
    .mutex_type = AUTH_OAUTH2_SHM_MUTEX,
    .judge = table_judge,
};

apr_status_t auth_oauth2_shm_setup(apr_pool_t *pconf, server_rec *s,
                                   apr_uint32_t capacity, oauth2_shm_t **out)
{
    unsigned char seed[16];
    const char *err = NULL;
    apr_status_t rv = auth_oauth2_kept(
        pconf, s, &table, oauth2_shm_size(capacity), &capacity, &err);

    if (table.renewed) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "OA2002: session table capacity or layout changed; "
                     "sessions reset");
    }
    if (rv == APR_SUCCESS && table.keep != AUTH_OAUTH2_KEEP) {
        rv = oauth2_crypto_random(seed, sizeof(seed));
        if (rv == APR_SUCCESS) {
            rv = oauth2_shm_format(table.base, table.size, capacity, seed);
        }
        err = "shared memory";
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2003: cannot create the session table for %u "
                     "sessions (%" APR_UINT64_T_FMT " bytes): %s",
                     capacity, oauth2_shm_size(capacity), err);
        return rv;
    }
    rv = oauth2_shm_attach(pconf, table.base, table.size, table.mutex, out,
                           &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2004: cannot attach the session table: %s", err);
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* The provider view                                                   */

/* Spare entries in a new view, so that a graceful restart that adds a
 * provider or two keeps it (unused entries cost address space, not
 * memory). */
#define VIEW_SPARE 4

/* A kept view serves when it has entries enough: as it is in a graceful
 * restart (children of the old generation keep using it), emptied in a
 * full one (its children are all gone: everything is fetched again). */
static auth_oauth2_keep_e view_judge(const void *ctx, const void *base,
                                     apr_uint64_t size)
{
    if (oauth2_pshm_capacity(base, size) < *(const apr_uint32_t *)ctx) {
        return AUTH_OAUTH2_RENEW;
    }
    return ap_unixd_mpm_get_retained_data()->was_graceful
               ? AUTH_OAUTH2_KEEP
               : AUTH_OAUTH2_REFORMAT;
}

static auth_oauth2_kept_t view = {
    .key = "auth_oauth2_view",
    .mutex_type = AUTH_OAUTH2_PROVIDER_MUTEX,
    .judge = view_judge,
};

apr_status_t auth_oauth2_provider_view_setup(apr_pool_t *pconf,
                                             apr_pool_t *ptemp, server_rec *s)
{
    apr_array_header_t *provs =
        apr_array_make(ptemp, 4, sizeof(oauth2_provider_t *));
    const char *err = NULL;
    apr_uint32_t n, cap;
    server_rec *vs;
    apr_status_t rv;

    for (vs = s; vs != NULL; vs = vs->next) {
        if (auth_oauth2_srv(vs)->site != NULL) {
            APR_ARRAY_PUSH(provs, oauth2_provider_t *) =
                auth_oauth2_srv(vs)->site->prov;
        }
    }
    n = (apr_uint32_t)provs->nelts;
    cap = n + VIEW_SPARE > OAUTH2_PSHM_MAX_ENTRIES ? n : n + VIEW_SPARE;
    if (n == 0) {
        return APR_SUCCESS;
    }
    rv = auth_oauth2_kept(pconf, s, &view, oauth2_pshm_size(cap), &n, &err);
    if (rv == APR_SUCCESS && view.keep != AUTH_OAUTH2_KEEP) {
        err = "format";
        rv = oauth2_pshm_format(
            view.base, view.size,
            view.keep == AUTH_OAUTH2_RENEW
                ? cap
                : oauth2_pshm_capacity(view.base, view.size));
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_provider_share(pconf, ptemp,
                                   (oauth2_provider_t *const *)provs->elts, n,
                                   view.base, view.size, view.mutex, &err);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2011: cannot set up the view of %u providers (at "
                     "most %u) in shared memory: %s",
                     n, OAUTH2_PSHM_MAX_ENTRIES, err);
    }
    return rv;
}
