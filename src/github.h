/*
 * github.h: who a GitHub user is, for the github preset. GitHub is plain
 * OAuth 2.0 without ID tokens: identity comes from its REST API with the
 * user's access token (GET /user, /user/emails, /user/orgs, /user/teams,
 * following Link pagination), turned into OpenID Connect-shaped claims so
 * that the rest of the module treats GitHub like any provider:
 *
 *   sub                 the numeric user id, as a string
 *   preferred_username  the login
 *   name                the display name (when set)
 *   email               the primary verified email (absent when none)
 *   email_verified      true when email is present
 *   groups              the organisations ("org") and teams ("org:team",
 *                       the team slug, as oauth2-proxy names them)
 */
#ifndef OAUTH2_GITHUB_H
#define OAUTH2_GITHUB_H

#include <apr_pools.h>

#include "claims.h"
#include "http.h"

/**
 * Builds the claims of the user who owns access_token from the API at
 * api_base ("https://api.github.com", or "https://HOST/api/v3" for GitHub
 * Enterprise Server). At most OAUTH2_MAX_PAGES pages per list.
 * @return APR_SUCCESS; OAUTH2_EUPSTREAM (an API error: 401, 403 rate
 *         limit, a malformed answer; *err says which call and status);
 *         OAUTH2_EUNREACHABLE; OAUTH2_ETOOBIG
 */
apr_status_t oauth2_github_claims(apr_pool_t *p, const oauth2_http_opts_t *http,
                                  const char *api_base,
                                  const char *access_token,
                                  oauth2_claims_t **claims, const char **err);

#endif /* OAUTH2_GITHUB_H */
