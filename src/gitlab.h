/*
 * gitlab.h: what a GitLab user may do in a project, from GitLab's REST
 * API with the user's own access token (scope read_api):
 *
 *   GET API/projects/:id      :id the URL-encoded path ("acme%2Fapp")
 *
 * answers the project with a "permissions" object: "project_access" (a
 * direct membership of the project) and "group_access" (the highest
 * membership in the project's group or any ancestor group), each null or
 * {"access_level": N}. The user's level is the higher of the two, as
 * GitLab's own permissions count it; 0 when both are null (a public or
 * internal project the user only sees) or when GitLab answers 404 (a
 * project the user cannot see, or none of that path).
 *
 * What GitLab leaves out of "permissions" is left out here too: access
 * through a group the project is shared with, and an administrator's
 * access to every project.
 */
#ifndef OAUTH2_GITLAB_H
#define OAUTH2_GITLAB_H

#include <apr_pools.h>

#include "http.h"

/**
 * The user's access level in the project at path ("group/sub/project")
 * from the API at api_base ("https://gitlab.com/api/v4"; a trailing '/'
 * is ignored), with "Authorization: Bearer access_token".
 * @return APR_SUCCESS with *level 0..50; OAUTH2_EUPSTREAM (401: the token
 *         was refused; 403: insufficient_scope, the token lacks read_api;
 *         429: rate limited; any other status; a malformed answer);
 *         OAUTH2_EUNREACHABLE; OAUTH2_ETOOBIG; OAUTH2_ECONFIG (no API URL,
 *         path or usable token). *err names the project and the status,
 *         never the token.
 */
apr_status_t
oauth2_gitlab_project_access(apr_pool_t *p, const oauth2_http_opts_t *http,
                             const char *api_base, const char *access_token,
                             const char *path, int *level, const char **err);

#endif /* OAUTH2_GITLAB_H */
