/*
 * apache_socache.h: session stores on ap_socache providers
 * (apache_socache.c).
 */
#ifndef AUTH_OAUTH2_APACHE_SOCACHE_H
#define AUTH_OAUTH2_APACHE_SOCACHE_H

#include "apache.h"

#include "ap_socache.h"

/** The socache provider a store spec ("redis:host:port") names and an
 * instance made from its arguments (nothing is opened), from p; provider
 * and inst may be NULL (`apache2 -t` only asks). Returns NULL or the whole
 * reason ("OAuth2SessionStore redis:...: no socache provider ..."). */
const char *auth_oauth2_socache_open(apr_pool_t *p, apr_pool_t *ptemp,
                                     const char *spec,
                                     const ap_socache_provider_t **provider,
                                     ap_socache_instance_t **inst);

/** Sets up a socache session store (post_config), its mutex re-attached
 * in the children with the others (apache_shm.h). Returns NULL or an
 * error message. */
const char *auth_oauth2_socache_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                       server_rec *s, const char *spec,
                                       const oauth2_seal_t *seal,
                                       oauth2_store_t **store);

#endif /* AUTH_OAUTH2_APACHE_SOCACHE_H */
