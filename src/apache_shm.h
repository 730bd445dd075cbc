/*
 * apache_shm.h: what lives in shared memory for the whole server and
 * survives restarts (apache_shm.c): the session table and the global
 * mutexes kept across restarts.
 */
#ifndef AUTH_OAUTH2_APACHE_SHM_H
#define AUTH_OAUTH2_APACHE_SHM_H

#include "apache.h"

#include "apr_global_mutex.h"

#include "store_shm.h"

/** The shm session table for the whole server: the kept one when its
 * capacity is unchanged, else a new one (post_config). */
apr_status_t auth_oauth2_shm_setup(apr_pool_t *pconf, server_rec *s,
                                   apr_uint32_t capacity, oauth2_shm_t **table);

/** Re-attaches the session table's mutex in a child. */
void auth_oauth2_shm_child_init(apr_pool_t *p, server_rec *s);

/** A global mutex of type (Mutex directive) kept in the process pool under
 * key across restarts; made anew when absent or fresh. */
apr_status_t auth_oauth2_kept_mutex(server_rec *s, const char *key,
                                    const char *type, int fresh,
                                    apr_global_mutex_t **mutex);

#endif /* AUTH_OAUTH2_APACHE_SHM_H */
