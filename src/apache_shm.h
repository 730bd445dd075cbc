/*
 * apache_shm.h: what the whole server shares between its processes
 * (apache_shm.c): global mutexes, re-attached in every child; and the
 * users of shared memory kept across restarts (kept.h): the session
 * table, the provider view and the counters. To add another kept segment:
 * register its Mutex type in pre_config (ap_mutex_register), give it a static
 * oauth2_kept_t with a unique key and mutex_type, get it in post_config
 * with oauth2_kept (kept_mutex in apache_shm.c makes its mutex), then
 * oauth2_kept_remember its mutex so that the children re-attach it.
 */
#ifndef AUTH_OAUTH2_APACHE_SHM_H
#define AUTH_OAUTH2_APACHE_SHM_H

#include "apache.h"

#include "apr_global_mutex.h"

#include "store_shm.h"

/** A global mutex of type (a Mutex directive's name, registered in
 * pre_config; name tells apart mutexes of one type, or NULL) for this
 * generation, from pconf; *mutex must stay where it is (static or pconf
 * memory): auth_oauth2_shm_child_init re-attaches it in each child, as
 * every mutex of this file (OA2007 on failure). */
apr_status_t auth_oauth2_mutex(apr_pool_t *pconf, server_rec *s,
                               const char *type, const char *name,
                               apr_global_mutex_t **mutex);

/** The shm session table for the whole server: the kept one when its
 * capacity is unchanged, else a new one (post_config; OA2002 when the
 * sessions are reset, OA2003/OA2004 on failure). */
apr_status_t auth_oauth2_shm_setup(apr_pool_t *pconf, server_rec *s,
                                   apr_uint32_t capacity, oauth2_shm_t **table);

/** Gives the virtual hosts' providers (oauth2_provider_t *) their
 * entries in the server's provider view, creating or keeping the shared
 * memory (post_config, after every provider is created; OA2011 on
 * failure). A full restart (SIGHUP: every child has exited) starts an
 * empty view. */
apr_status_t auth_oauth2_provider_view_setup(apr_pool_t *pconf,
                                             apr_pool_t *ptemp, server_rec *s,
                                             const apr_array_header_t *provs);

/** The child_init hook: re-attaches every global mutex of this
 * generation and sets up the providers' per-process part (kept.c). */
void auth_oauth2_shm_child_init(apr_pool_t *p, server_rec *s);

/** The server-wide counters' memory (kept.c; post_config, in the
 * parent, before the children are made); logs the module's version at
 * startup (OA2050). A failure (OA2051) leaves the server running without
 * counters. */
void auth_oauth2_metrics_setup(server_rec *s, const char *version);

#endif /* AUTH_OAUTH2_APACHE_SHM_H */
