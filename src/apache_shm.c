/*
 * apache_shm.c: what the whole server shares between its processes (see
 * apache_shm.h): global mutexes re-attached in every child, and the
 * shared memory the engine keeps across restarts (kept.c decides what is
 * kept and keeps the list of mutexes; store_shm.c, provider_shm.c and
 * metadata.c format and use the memory). This file gives the engine
 * Apache's process pool, Apache's mutexes (the Mutex directive) and its
 * log lines.
 */
#include "apache_shm.h"

#include "unixd.h"
#include "util_mutex.h"

#include "kept.h"
#include "provider_shm.h"

apr_status_t auth_oauth2_mutex(apr_pool_t *pconf, server_rec *s,
                               const char *type, const char *name,
                               apr_global_mutex_t **mutex)
{
    apr_status_t rv =
        ap_global_mutex_create(mutex, NULL, type, name, s, pconf, 0);

    if (rv == APR_SUCCESS) {
        oauth2_kept_remember(pconf, mutex);
    }
    return rv;
}

static void child_report(void *ctx, apr_status_t rv, const char *name)
{
    ap_log_error(APLOG_MARK, APLOG_CRIT, rv, ctx,
                 "OA2007: cannot set up %s in a child", name);
}

void auth_oauth2_shm_child_init(apr_pool_t *p, server_rec *s)
{
    oauth2_kept_child_init(p, child_report, s);
}

/* A kept segment's mutex, in the process pool it is kept in (kept.c). */
static apr_status_t kept_mutex(void *ctx, apr_pool_t *kp, const char *type,
                               apr_global_mutex_t **mutex)
{
    return ap_global_mutex_create(mutex, NULL, type, NULL, ctx, kp, 0);
}

/* The writers' mutex lives as long as the segment: during a graceful
 * restart, children of both generations write to the same table. */
static oauth2_kept_t table = {
    .key = "auth_oauth2_shm",
    .mutex_type = AUTH_OAUTH2_SHM_MUTEX,
};

apr_status_t auth_oauth2_shm_setup(apr_pool_t *pconf, server_rec *s,
                                   apr_uint32_t capacity, oauth2_shm_t **out)
{
    const char *err = NULL;
    int attach = 0;
    apr_status_t rv =
        oauth2_kept_table(pconf, s->process->pool, &table, capacity, kept_mutex,
                          s, out, &attach, &err);

    if (table.renewed) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "OA2002: session table capacity or layout changed; "
                     "sessions reset");
    }
    if (rv != APR_SUCCESS && !attach) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2003: cannot create the session table for %u "
                     "sessions (%" APR_UINT64_T_FMT " bytes): %s",
                     capacity, oauth2_shm_size(capacity), err);
    }
    else if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2004: cannot attach the session table: %s", err);
    }
    return rv;
}

static oauth2_kept_t view = {
    .key = "auth_oauth2_view",
    .mutex_type = AUTH_OAUTH2_PROVIDER_MUTEX,
};

apr_status_t auth_oauth2_provider_view_setup(apr_pool_t *pconf,
                                             apr_pool_t *ptemp, server_rec *s,
                                             const apr_array_header_t *provs)
{
    const char *err = NULL;
    apr_status_t rv;

    if (provs->nelts == 0) {
        return APR_SUCCESS;
    }
    rv = oauth2_kept_view(
        pconf, ptemp, s->process->pool, &view,
        (oauth2_provider_t *const *)provs->elts, (apr_uint32_t)provs->nelts,
        ap_unixd_mpm_get_retained_data()->was_graceful, kept_mutex, s, &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2011: cannot set up the view of %d providers (at "
                     "most %u) in shared memory: %s",
                     provs->nelts, OAUTH2_PSHM_MAX_ENTRIES, err);
    }
    return rv;
}

void auth_oauth2_metrics_setup(server_rec *s, const char *version)
{
    const char *line;
    apr_status_t rv = oauth2_kept_metrics(s->process->pool, s->process->pconf,
                                          version, &line);

    /* NOTICE: written whatever the LogLevel, once per start and restart,
     * the version with it (OA2051, no counters, too). */
    ap_log_error(APLOG_MARK, APLOG_NOTICE, rv, s, "%s", line);
}
