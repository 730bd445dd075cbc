/*
 * apache_authz.h: the authorization providers behind Require oauth2-group,
 * oauth2-claim and oauth2-email-domain, and httpd's regular expressions
 * for the engine (apache_authz.c).
 */
#ifndef AUTH_OAUTH2_APACHE_AUTHZ_H
#define AUTH_OAUTH2_APACHE_AUTHZ_H

#include "apache.h"

/** httpd's regular expressions (ap_pregcomp, PCRE; searched with
 * ap_regexec) for the engine: Require oauth2-claim NAME~REGEX and
 * OAuth2GroupsFilter use the same flavour. */
extern const oauth2_regex_ops_t auth_oauth2_regex;

/** Registers the three providers with mod_authz_core (register_hooks). */
void auth_oauth2_register_authz(apr_pool_t *p);

#endif /* AUTH_OAUTH2_APACHE_AUTHZ_H */
