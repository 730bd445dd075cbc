/*
 * apache_check.h: what `apache2 -t` must refuse (apache_check.c).
 */
#ifndef AUTH_OAUTH2_APACHE_CHECK_H
#define AUTH_OAUTH2_APACHE_CHECK_H

#include "apache.h"

/** What `apache2 -t` must refuse, from the configuration tree and the
 * servers' settings (check_config). Logs and returns an HTTP status on
 * the first mistake, else OK. */
int auth_oauth2_check_tree(apr_pool_t *ptemp, server_rec *s);

#endif /* AUTH_OAUTH2_APACHE_CHECK_H */
