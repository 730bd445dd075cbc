/*
 * apache_provider.h: the server's provider view in shared memory
 * (apache_provider.c).
 */
#ifndef AUTH_OAUTH2_APACHE_PROVIDER_H
#define AUTH_OAUTH2_APACHE_PROVIDER_H

#include "apache.h"

/** Gives every virtual host's provider its entry in the server's provider
 * view, creating or keeping the shared memory (post_config, after every
 * provider is created). Logs OA2011/OA2012 on failure.
 * @return APR_SUCCESS or the failure's status */
apr_status_t auth_oauth2_provider_view_setup(apr_pool_t *pconf,
                                             apr_pool_t *ptemp, server_rec *s);

/** Re-attaches the provider view's mutex in a child (logs OA2013). */
void auth_oauth2_provider_view_child_init(apr_pool_t *p, server_rec *s);

#endif /* AUTH_OAUTH2_APACHE_PROVIDER_H */
