/*
 * apache_socache.h: session stores on ap_socache providers
 * (apache_socache.c).
 */
#ifndef AUTH_OAUTH2_APACHE_SOCACHE_H
#define AUTH_OAUTH2_APACHE_SOCACHE_H

#include "apache.h"

/** Sets up a socache session store (post_config). Returns NULL or an
 * error message. */
const char *auth_oauth2_socache_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                       server_rec *s, const char *spec,
                                       const oauth2_seal_t *seal,
                                       auth_oauth2_socache_t **out,
                                       oauth2_store_t **store);

/** Re-attaches the socache store's mutex in a child. */
void auth_oauth2_socache_child_init(auth_oauth2_socache_t *c, apr_pool_t *p);

#endif /* AUTH_OAUTH2_APACHE_SOCACHE_H */
