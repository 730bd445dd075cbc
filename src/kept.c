/*
 * kept.c: shared memory segments and mutexes kept across restarts (see
 * kept.h).
 */
#include "kept.h"

#include <apr_shm.h>
#include <apr_strings.h>

#include "crypto.h"
#include "metrics.h"
#include "provider_shm.h"

/* The mutexes to re-attach in each child (apr_global_mutex_t **) and the
 * providers of the view to set up there (oauth2_provider_t *), from pconf;
 * written during single-threaded startup, read-only afterwards. */
static apr_array_header_t *mutexes, *providers;

static apr_status_t mutexes_reset(void *unused)
{
    (void)unused;
    mutexes = NULL;
    providers = NULL;
    return APR_SUCCESS;
}

void oauth2_kept_remember(apr_pool_t *pconf, apr_global_mutex_t **mutex)
{
    if (mutexes == NULL) {
        mutexes = apr_array_make(pconf, 4, sizeof(apr_global_mutex_t **));
        apr_pool_cleanup_register(pconf, NULL, mutexes_reset,
                                  apr_pool_cleanup_null);
    }
    APR_ARRAY_PUSH(mutexes, apr_global_mutex_t **) = mutex;
}

int oauth2_kept_child_init(apr_pool_t *p, oauth2_kept_report_fn report,
                           void *ctx)
{
    int i, n = 0;

    for (i = 0; mutexes != NULL && i < mutexes->nelts; i++) {
        apr_global_mutex_t **m =
            APR_ARRAY_IDX(mutexes, i, apr_global_mutex_t **);
        apr_status_t rv =
            apr_global_mutex_child_init(m, apr_global_mutex_lockfile(*m), p);

        if (rv != APR_SUCCESS) {
            report(ctx, rv,
                   apr_pstrcat(p, "the global mutex ",
                               apr_global_mutex_name(*m), NULL));
        }
        n += rv == APR_SUCCESS;
    }
    for (i = 0; providers != NULL && i < providers->nelts; i++) {
        oauth2_provider_t *prov =
            APR_ARRAY_IDX(providers, i, oauth2_provider_t *);
        apr_status_t rv = oauth2_provider_child_init(prov, p);

        if (rv != APR_SUCCESS) {
            report(ctx, rv, "a provider's thread mutexes");
        }
        n += rv == APR_SUCCESS;
    }
    return n;
}

apr_status_t oauth2_kept_mutex(apr_pool_t *pconf, apr_pool_t *kp,
                               const char *key, const char *name,
                               apr_status_t (*make)(void *mctx, apr_pool_t *kp,
                                                    const char *name,
                                                    apr_global_mutex_t **m),
                               void *mctx, apr_global_mutex_t ***out)
{
    void *slot = NULL, *seen = NULL;
    apr_status_t rv;

    apr_pool_userdata_get(&slot, key, kp);
    if (slot == NULL) {
        slot = apr_pcalloc(kp, sizeof(apr_global_mutex_t *));
        rv = make(mctx, kp, name, slot);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        key = apr_pstrdup(kp, key);
        apr_pool_userdata_set(slot, key, NULL, kp);
    }
    /* Once per generation, however many hosts name it. */
    apr_pool_userdata_get(&seen, key, pconf);
    if (seen == NULL) {
        oauth2_kept_remember(pconf, slot);
        apr_pool_userdata_set(slot, apr_pstrdup(pconf, key), NULL, pconf);
    }
    *out = slot;
    return APR_SUCCESS;
}

/* k's mutex: the kept one, unless the segment is new. */
static apr_status_t kept_mutex(apr_pool_t *kp, oauth2_kept_t *k, int renew,
                               oauth2_kept_mutex_fn mutex, void *mctx)
{
    void *kept = NULL;
    apr_status_t rv;

    apr_pool_userdata_get(&kept, k->mutex_type, kp);
    k->mutex = kept;
    if (k->mutex == NULL || renew) {
        rv = mutex(mctx, kp, k->mutex_type, &k->mutex);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        apr_pool_userdata_set(k->mutex, k->mutex_type, NULL, kp);
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_kept(apr_pool_t *kp, oauth2_kept_t *k, apr_uint64_t size,
                         oauth2_kept_judge_fn judge, const void *ctx,
                         oauth2_kept_mutex_fn mutex, void *mctx,
                         const char **err)
{
    void *kept = NULL;
    apr_shm_t *shm;
    oauth2_keep_e keep = OAUTH2_RENEW;
    apr_status_t rv = APR_SUCCESS;

    apr_pool_userdata_get(&kept, k->key, kp);
    shm = kept;
    if (shm != NULL) {
        keep = judge(ctx, apr_shm_baseaddr_get(shm), apr_shm_size_get(shm));
    }
    k->renewed = shm != NULL && keep == OAUTH2_RENEW;
    if (k->renewed) {
        apr_shm_destroy(shm);
        apr_pool_userdata_set(NULL, k->key, NULL, kp);
    }
    if (keep == OAUTH2_RENEW) {
        rv = size == 0 || size != (apr_size_t)size
                 ? APR_EINVAL
                 : apr_shm_create(&shm, (apr_size_t)size, NULL, kp);
        if (rv != APR_SUCCESS) {
            *err = "shared memory";
            return rv;
        }
        apr_pool_userdata_set(shm, k->key, NULL, kp);
    }
    k->base = apr_shm_baseaddr_get(shm);
    k->size = apr_shm_size_get(shm);
    k->keep = keep;
    rv = kept_mutex(kp, k, keep == OAUTH2_RENEW, mutex, mctx);
    *err = rv != APR_SUCCESS ? "mutex" : NULL;
    return rv;
}

/* ------------------------------------------------------------------ */
/* The session table                                                   */

/* A kept table serves when its capacity (and layout) is the one asked. */
static oauth2_keep_e table_judge(const void *ctx, const void *base,
                                 apr_uint64_t size)
{
    return oauth2_shm_capacity(base, size) == *(const apr_uint32_t *)ctx
               ? OAUTH2_KEEP
               : OAUTH2_RENEW;
}

apr_status_t oauth2_kept_table(apr_pool_t *pconf, apr_pool_t *kp,
                               oauth2_kept_t *k, apr_uint32_t capacity,
                               oauth2_kept_mutex_fn mutex, void *mctx,
                               oauth2_shm_t **table, int *attach,
                               const char **err)
{
    unsigned char seed[16];
    apr_status_t rv = oauth2_kept(kp, k, oauth2_shm_size(capacity), table_judge,
                                  &capacity, mutex, mctx, err);

    *attach = 0;
    if (rv == APR_SUCCESS && k->keep != OAUTH2_KEEP) {
        rv = oauth2_crypto_random(seed, sizeof(seed));
        if (rv == APR_SUCCESS) {
            rv = oauth2_shm_format(k->base, k->size, capacity, seed);
        }
        *err = "shared memory";
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *attach = 1;
    rv = oauth2_shm_attach(pconf, k->base, k->size, k->mutex, table, err);
    if (rv == APR_SUCCESS) {
        oauth2_kept_remember(pconf, &k->mutex);
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* The provider view                                                   */

typedef struct {
    apr_uint32_t n;
    int graceful;
} view_need_t;

/* A kept view serves when it has entries enough: as it is in a graceful
 * restart (children of the old generation keep using it), emptied in a
 * full one (its children are all gone: everything is fetched again). */
static oauth2_keep_e view_judge(const void *ctx, const void *base,
                                apr_uint64_t size)
{
    const view_need_t *need = ctx;

    if (oauth2_pshm_capacity(base, size) < need->n) {
        return OAUTH2_RENEW;
    }
    return need->graceful ? OAUTH2_KEEP : OAUTH2_REFORMAT;
}

apr_status_t oauth2_kept_view(apr_pool_t *pconf, apr_pool_t *ptemp,
                              apr_pool_t *kp, oauth2_kept_t *k,
                              oauth2_provider_t *const *provs, apr_uint32_t n,
                              int graceful, oauth2_kept_mutex_fn mutex,
                              void *mctx, const char **err)
{
    view_need_t need = { n, graceful };
    apr_uint32_t cap = n + OAUTH2_KEPT_VIEW_SPARE > OAUTH2_PSHM_MAX_ENTRIES
                           ? n
                           : n + OAUTH2_KEPT_VIEW_SPARE;
    apr_status_t rv = oauth2_kept(kp, k, oauth2_pshm_size(cap), view_judge,
                                  &need, mutex, mctx, err);

    if (rv == APR_SUCCESS && k->keep != OAUTH2_KEEP) {
        *err = "format";
        rv = oauth2_pshm_format(k->base, k->size,
                                k->keep == OAUTH2_RENEW
                                    ? cap
                                    : oauth2_pshm_capacity(k->base, k->size));
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = oauth2_provider_share(pconf, ptemp, provs, n, k->base, k->size,
                               k->mutex, err);
    if (rv == APR_SUCCESS) {
        oauth2_kept_remember(pconf, &k->mutex);
        if (providers == NULL) {
            providers = apr_array_make(pconf, n, sizeof(oauth2_provider_t *));
        }
        while (n-- > 0) {
            APR_ARRAY_PUSH(providers, oauth2_provider_t *) = *provs++;
        }
    }
    return rv;
}

/* The counters' name in the kept pool's userdata. */
#define METRICS_KEY "auth_oauth2_metrics"

apr_status_t oauth2_kept_metrics(apr_pool_t *kp, apr_pool_t *p,
                                 const char *version, const char **line)
{
    void *data = NULL;
    apr_shm_t *shm;
    apr_status_t rv = APR_SUCCESS;
    int kept;

    apr_pool_userdata_get(&data, METRICS_KEY, kp);
    shm = data;
    kept = shm != NULL && apr_shm_size_get(shm) >= oauth2_metrics_size();
    if (!kept) {
        if (shm != NULL) {
            apr_shm_destroy(shm); /* a layout that grew: start anew */
        }
        rv = apr_shm_create(&shm, oauth2_metrics_size(), NULL, kp);
        if (rv != APR_SUCCESS) {
            shm = NULL;
        }
        apr_pool_userdata_set(shm, METRICS_KEY, NULL, kp);
    }
    oauth2_metrics_use(shm ? oauth2_metrics_format(apr_shm_baseaddr_get(shm),
                                                   apr_shm_size_get(shm), &kept)
                           : NULL,
                       version);
    *line = shm == NULL
                ? apr_psprintf(p,
                               "OA2051: mod_auth_oauth2 %s: cannot create "
                               "%" APR_SIZE_T_FMT " bytes of shared memory "
                               "for the counters; oauth2-status shows none",
                               version, oauth2_metrics_size())
                : apr_psprintf(p,
                               "OA2050: mod_auth_oauth2 %s configured "
                               "(counters %s)",
                               version,
                               kept ? "kept across the restart" : "started");
    return rv;
}
