/*
 * apache_shm.c: what lives in shared memory for the whole server and
 * survives restarts: the session table's segment and its writers' mutex
 * (the provider view's are apache_provider.c's, through the same kept-
 * mutex helper). Kept in the process pool's userdata, so that a graceful
 * or plain restart, which rereads the configuration in the same parent,
 * finds them again; the engine's store_shm.c formats and uses the table.
 */
#include "apache_shm.h"

#include "apr_shm.h"
#include "util_mutex.h"

#include "crypto.h"
#include "store_shm.h"

#define SHM_USERDATA       "auth_oauth2_shm"
#define SHM_MUTEX_USERDATA "auth_oauth2_shm_mutex"

/* Handles made during single-threaded startup, read-only afterwards. */
static apr_shm_t *shm_segment;
static apr_global_mutex_t *shm_mutex;

apr_status_t auth_oauth2_kept_mutex(server_rec *s, const char *key,
                                    const char *type, int fresh,
                                    apr_global_mutex_t **mutex)
{
    void *kept = NULL;
    apr_status_t rv = APR_SUCCESS;

    apr_pool_userdata_get(&kept, key, s->process->pool);
    *mutex = kept;
    if (*mutex == NULL || fresh) {
        rv = ap_global_mutex_create(mutex, NULL, type, NULL, s,
                                    s->process->pool, 0);
        if (rv == APR_SUCCESS) {
            apr_pool_userdata_set(*mutex, key, NULL, s->process->pool);
        }
    }
    return rv;
}

/* A new, empty table of capacity records in shm_segment. */
static apr_status_t shm_create(server_rec *s, apr_uint32_t capacity)
{
    apr_uint64_t size = oauth2_shm_size(capacity);
    unsigned char seed[16];
    apr_status_t rv;

    rv = apr_shm_create(&shm_segment, (apr_size_t)size, NULL, s->process->pool);
    if (rv == APR_SUCCESS) {
        rv = oauth2_crypto_random(seed, sizeof(seed));
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_shm_format(apr_shm_baseaddr_get(shm_segment), size,
                               capacity, seed);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2003: cannot create %" APR_UINT64_T_FMT
                     " bytes of shared memory for %u sessions",
                     size, capacity);
        return rv;
    }
    apr_pool_userdata_set(shm_segment, SHM_USERDATA, NULL, s->process->pool);
    return APR_SUCCESS;
}

apr_status_t auth_oauth2_shm_setup(apr_pool_t *pconf, server_rec *s,
                                   apr_uint32_t capacity, oauth2_shm_t **table)
{
    const char *err = NULL;
    void *kept = NULL;
    int fresh = 0;
    apr_status_t rv;

    apr_pool_userdata_get(&kept, SHM_USERDATA, s->process->pool);
    shm_segment = kept;
    if (shm_segment != NULL
        && oauth2_shm_capacity(apr_shm_baseaddr_get(shm_segment),
                               apr_shm_size_get(shm_segment))
               != capacity) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "OA2002: session table capacity or layout changed; "
                     "sessions reset");
        apr_shm_destroy(shm_segment);
        shm_segment = NULL;
        apr_pool_userdata_set(NULL, SHM_USERDATA, NULL, s->process->pool);
    }
    if (shm_segment == NULL) {
        fresh = 1;
        rv = shm_create(s, capacity);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    /* The writers' mutex lives as long as the segment: during a graceful
     * restart, children of both generations write to the same table. */
    rv = auth_oauth2_kept_mutex(s, SHM_MUTEX_USERDATA, AUTH_OAUTH2_SHM_MUTEX,
                                fresh, &shm_mutex);
    if (rv == APR_SUCCESS) {
        rv = oauth2_shm_attach(pconf, apr_shm_baseaddr_get(shm_segment),
                               apr_shm_size_get(shm_segment), shm_mutex, table,
                               &err);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2004: cannot attach the session table: %s",
                     err ? err : "mutex");
    }
    return rv;
}

void auth_oauth2_shm_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (shm_mutex == NULL) {
        return;
    }
    rv = apr_global_mutex_child_init(&shm_mutex,
                                     apr_global_mutex_lockfile(shm_mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "OA2007: cannot attach the session table's mutex");
    }
}
