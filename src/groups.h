/*
 * groups.h: what provider APIs add to a user for the Require oauth2-group
 * rules, beyond the claims: Google Workspace groups (google.h), the
 * user's level in GitLab projects (gitlab.h) and GitHub repositories
 * (github.h). At login every group address and resource that the
 * server configuration's rules name is resolved and kept in the session
 * (session.h: API groups, resources), so a request with a session calls
 * no API; a resource first named in an .htaccess file is resolved on its
 * first use and then kept as well. A session refresh resolves them
 * again.
 */
#ifndef OAUTH2_GROUPS_H
#define OAUTH2_GROUPS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "config.h"
#include "http.h"
#include "login.h"
#include "metadata.h"
#include "store.h"

/** A virtual host's API lookups (read-only once created). */
typedef struct oauth2_groups_t oauth2_groups_t;

/**
 * Prepares the lookups of a finalized configuration (startup; no
 * network): the resources and group addresses its rules name, the
 * Google service account and admin. store caches the Google access token
 * (the session store; may be NULL).
 * @return APR_SUCCESS or APR_EINVAL (*err: a recorded rule that does not
 *         parse, which the Require parser would have refused)
 */
apr_status_t oauth2_groups_create(apr_pool_t *p, const oauth2_cfg_t *cfg,
                                  const oauth2_http_opts_t *http,
                                  const oauth2_store_t *store,
                                  oauth2_groups_t **g, const char **err);

/** What the APIs said about one user. */
typedef struct {
    apr_array_header_t *groups;    /* Google groups (const char *), or NULL
                                      when they were not asked */
    apr_array_header_t *resources; /* oauth2_session_resource_t */
} oauth2_groups_result_t;

/**
 * Asks the APIs about the user with the verified address email (NULL:
 * none) and the provider's access_token. terms NULL: everything the
 * configuration names (Google groups when a service account is set,
 * GitLab projects when ep has a GitLab API, GitHub repositories when it
 * has a GitHub API); else those resource terms only (oauth2_res_term_t,
 * each of which needs its API).
 * @return APR_SUCCESS; the errors of oauth2_google_groups,
 *         oauth2_gitlab_project_access and oauth2_github_repo_permission
 *         (*err says which call failed); OAUTH2_ECONFIG for a term whose
 *         API this provider lacks
 */
apr_status_t oauth2_groups_resolve(apr_pool_t *p, const oauth2_groups_t *g,
                                   const oauth2_endpoints_t *ep,
                                   const char *email, const char *access_token,
                                   const apr_array_header_t *terms,
                                   apr_time_t now, oauth2_groups_result_t *out,
                                   const char **err);

/**
 * oauth2_groups_resolve at login, for the user of res (its verified
 * email claim, its access token); the result goes to res->api_groups and
 * res->resources.
 */
apr_status_t oauth2_groups_login(apr_pool_t *p, const oauth2_groups_t *g,
                                 const oauth2_endpoints_t *ep,
                                 oauth2_login_result_t *res, apr_time_t now,
                                 const char **err);

#endif /* OAUTH2_GROUPS_H */
