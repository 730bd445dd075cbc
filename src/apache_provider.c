/*
 * apache_provider.c: the Apache side of the server's provider view
 * (src/provider_shm.h): the shared memory segment and its global mutex,
 * made in the parent at post_config and kept in the process pool (as the
 * session table is), so that a graceful restart keeps every fetched
 * document; each virtual host's provider gets its entry (hosts with the
 * same provider settings share one). A full restart (SIGHUP: every child
 * has exited) starts an empty view.
 */
#include "apache_provider.h"
#include "apache_shm.h"

#include "apr_shm.h"
#include "unixd.h"
#include "util_mutex.h"

#include "provider_shm.h"

#define VIEW_USERDATA       "auth_oauth2_view"
#define VIEW_MUTEX_USERDATA "auth_oauth2_view_mutex"
/* Spare entries in a new view, so that a graceful restart that adds a
 * provider or two keeps it (unused entries cost address space, not
 * memory). */
#define VIEW_SPARE 4

/* Handles made during single-threaded startup, read-only afterwards. */
static apr_shm_t *view_segment;
static apr_global_mutex_t *view_mutex;

/* The provider view's segment, for at least `want` providers: the kept one
 * when it is large enough, emptied unless this is a graceful restart (a
 * full restart refetches everything; its children are all gone), else a
 * new one (children of the old generation keep their mapping of the old). */
static apr_status_t view_segment_setup(server_rec *s, apr_uint32_t want)
{
    apr_uint32_t cap = 0;
    apr_uint64_t size = 0;
    void *kept = NULL;
    apr_status_t rv;

    apr_pool_userdata_get(&kept, VIEW_USERDATA, s->process->pool);
    view_segment = kept;
    if (view_segment != NULL) {
        size = apr_shm_size_get(view_segment);
        cap = oauth2_pshm_capacity(apr_shm_baseaddr_get(view_segment), size);
        if (cap < want) {
            apr_shm_destroy(view_segment);
            view_segment = NULL;
            apr_pool_userdata_set(NULL, VIEW_USERDATA, NULL, s->process->pool);
        }
        else if (ap_unixd_mpm_get_retained_data()->was_graceful) {
            return APR_SUCCESS;
        }
    }
    if (view_segment == NULL) {
        cap = want + VIEW_SPARE > OAUTH2_PSHM_MAX_ENTRIES ? want
                                                          : want + VIEW_SPARE;
        size = oauth2_pshm_size(cap);
        rv = size == 0 ? APR_EINVAL
                       : apr_shm_create(&view_segment, (apr_size_t)size, NULL,
                                        s->process->pool);
        if (rv != APR_SUCCESS) {
            view_segment = NULL;
            return rv;
        }
        apr_pool_userdata_set(view_segment, VIEW_USERDATA, NULL,
                              s->process->pool);
    }
    return oauth2_pshm_format(apr_shm_baseaddr_get(view_segment), size, cap);
}

/* The keys of every virtual host's provider, in server order (*n of
 * them, from p). */
static unsigned char *provider_keys(apr_pool_t *p, server_rec *s,
                                    apr_uint32_t *n)
{
    unsigned char *keys;
    apr_uint32_t i = 0;
    server_rec *vs;

    *n = 0;
    for (vs = s; vs != NULL; vs = vs->next) {
        *n += auth_oauth2_srv(vs)->prov != NULL;
    }
    keys = apr_palloc(p, (apr_size_t)*n * OAUTH2_PSHM_KEY_LEN + 1);
    for (vs = s; vs != NULL; vs = vs->next) {
        if (auth_oauth2_srv(vs)->prov != NULL) {
            memcpy(keys + OAUTH2_PSHM_KEY_LEN * i++,
                   oauth2_provider_key(auth_oauth2_srv(vs)->prov),
                   OAUTH2_PSHM_KEY_LEN);
        }
    }
    return keys;
}

apr_status_t auth_oauth2_provider_view_setup(apr_pool_t *pconf,
                                             apr_pool_t *ptemp, server_rec *s)
{
    apr_uint32_t n, i, *slots;
    unsigned char *keys = provider_keys(ptemp, s, &n);
    oauth2_pshm_t *view = NULL;
    const char *err = "mutex";
    server_rec *vs;
    apr_status_t rv;

    if (n == 0) {
        return APR_SUCCESS;
    }
    rv = view_segment_setup(s, n);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2011: cannot create the shared memory of the view of "
                     "%u providers (at most %u)",
                     n, OAUTH2_PSHM_MAX_ENTRIES);
        return rv;
    }
    rv = auth_oauth2_kept_mutex(s, VIEW_MUTEX_USERDATA,
                                AUTH_OAUTH2_PROVIDER_MUTEX, 0, &view_mutex);
    if (rv == APR_SUCCESS) {
        rv = oauth2_pshm_attach(pconf, apr_shm_baseaddr_get(view_segment),
                                apr_shm_size_get(view_segment), view_mutex,
                                &view, &err);
    }
    slots = apr_palloc(ptemp, n * sizeof(*slots));
    if (rv == APR_SUCCESS) {
        err = "not enough entries";
        rv = oauth2_pshm_bind(view, ptemp, keys, n, slots);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2012: cannot attach the provider view: %s", err);
        return rv;
    }
    for (i = 0, vs = s; vs != NULL; vs = vs->next) {
        if (auth_oauth2_srv(vs)->prov != NULL) {
            oauth2_provider_share(auth_oauth2_srv(vs)->prov, view, slots[i++]);
        }
    }
    return APR_SUCCESS;
}

void auth_oauth2_provider_view_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (view_mutex == NULL) {
        return;
    }
    rv = apr_global_mutex_child_init(&view_mutex,
                                     apr_global_mutex_lockfile(view_mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "OA2013: cannot attach the provider view's mutex");
    }
}
