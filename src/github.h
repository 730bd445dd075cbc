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
 * Enterprise Server; a trailing '/' is ignored). Every call sends
 * "Authorization: Bearer", "Accept: application/vnd.github+json",
 * "X-GitHub-Api-Version: 2022-11-28" and http->user_agent (GitHub refuses
 * requests without a User-Agent). Lists are read 100 to a page, following
 * the Link header's "next" target for at most OAUTH2_MAX_PAGES pages, and
 * only while that target stays under api_base (same scheme, host, port
 * and path prefix, no dot segments): the token is never sent elsewhere.
 *
 * Fails closed: any page that cannot be read, a next link that leaves the
 * API, more pages or groups than the limits, all refuse the login, so a
 * user never gets fewer groups than GitHub has for them.
 *
 * @param p       the claims and *err are allocated from it; the pages are
 *                read in subpools destroyed before returning
 * @return APR_SUCCESS; OAUTH2_EUPSTREAM (an API error: 401, 403 with or
 *         without a rate limit, 429, any status but 200, a malformed
 *         answer, an off-API next link, more than OAUTH2_MAX_GROUPS
 *         groups, an access token unfit for a header); OAUTH2_ETOOBIG
 *         (more than OAUTH2_MAX_PAGES pages, or a body over the cap);
 *         OAUTH2_EUNREACHABLE; OAUTH2_ECONFIG (no API base URL or token).
 *         *err names the call, the page and the status, and never holds
 *         the token.
 */
apr_status_t oauth2_github_claims(apr_pool_t *p, const oauth2_http_opts_t *http,
                                  const char *api_base,
                                  const char *access_token,
                                  oauth2_claims_t **claims, const char **err);

/**
 * What the owner of access_token may do in the repository "owner/name",
 * from GET /repos/{owner}/{repo} (GitHub docs "Get a repository": its
 * "permissions" object for the authenticated user), as a rank: admin 5,
 * maintain 4, push 3, triage 2, pull 1, 0 for none. Every user can pull a
 * public (or, in an enterprise, internal) repository, so pull alone
 * counts there as 0: only a private repository's pull shows a
 * collaborator. A repository the user cannot see answers 404, which is 0
 * too (a private repository also answers 404 to a token without the repo
 * scope). Same headers and bounds as oauth2_github_claims.
 * @return APR_SUCCESS with *rank; OAUTH2_EUPSTREAM (401, 403 with or
 *         without a rate limit, 429, 301 for a renamed repository, any
 *         other status, no "permissions"); OAUTH2_EUNREACHABLE;
 *         OAUTH2_ETOOBIG; OAUTH2_ECONFIG (no API URL, repository or
 *         usable token)
 */
apr_status_t
oauth2_github_repo_permission(apr_pool_t *p, const oauth2_http_opts_t *http,
                              const char *api_base, const char *access_token,
                              const char *repo, int *rank, const char **err);

#endif /* OAUTH2_GITHUB_H */
