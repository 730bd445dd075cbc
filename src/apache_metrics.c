/*
 * apache_metrics.c: the Apache side of the server-wide counters
 * (src/metrics.h): one small anonymous shared memory segment, made in the
 * parent at post_config and kept in the process pool's userdata (as the
 * session table and the provider view are), so that the counters go on
 * across graceful and plain restarts (httpd unloads and reloads the
 * module, but the process pool and the mapping stay); a stop and start
 * begins at zero. Children inherit the mapping when they are forked.
 */
#include "apache_metrics.h"

#include "apr_shm.h"

#include "metrics.h"

#define METRICS_USERDATA "auth_oauth2_metrics"

/* The kept segment, or a new one; NULL when none can be made. */
static apr_shm_t *metrics_segment(server_rec *s, int *kept)
{
    apr_pool_t *pool = s->process->pool;
    void *data = NULL;
    apr_shm_t *shm;
    apr_status_t rv;

    apr_pool_userdata_get(&data, METRICS_USERDATA, pool);
    shm = data;
    *kept = shm != NULL && apr_shm_size_get(shm) >= oauth2_metrics_size();
    if (*kept) {
        return shm;
    }
    if (shm != NULL) {
        apr_shm_destroy(shm); /* a layout that grew: start anew */
    }
    rv = apr_shm_create(&shm, oauth2_metrics_size(), NULL, pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "OA2051: cannot create %" APR_SIZE_T_FMT
                     " bytes of shared memory for the counters; "
                     "oauth2-status shows none",
                     oauth2_metrics_size());
        apr_pool_userdata_set(NULL, METRICS_USERDATA, NULL, pool);
        return NULL;
    }
    apr_pool_userdata_set(shm, METRICS_USERDATA, NULL, pool);
    return shm;
}

void auth_oauth2_metrics_setup(server_rec *s, const char *version)
{
    int kept = 0;
    apr_shm_t *shm = metrics_segment(s, &kept);

    oauth2_metrics_use(shm ? oauth2_metrics_format(apr_shm_baseaddr_get(shm),
                                                   apr_shm_size_get(shm), &kept)
                           : NULL,
                       version);
    /* NOTICE: written whatever the LogLevel, once per start and restart. */
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 "OA2050: mod_auth_oauth2 %s configured (counters %s)", version,
                 shm == NULL ? "unavailable"
                 : kept      ? "kept across the restart"
                             : "started");
}
