/*
 * github.c: GitHub identity through its REST API (see github.h).
 * PLACEHOLDER until implemented: refuses every login.
 */
#include "errors.h"
#include "github.h"

apr_status_t oauth2_github_claims(apr_pool_t *p, const oauth2_http_opts_t *http,
                                  const char *api_base,
                                  const char *access_token,
                                  oauth2_claims_t **claims, const char **err)
{
    *err = "GitHub identity is not implemented yet";
    return OAUTH2_ECONFIG;
}
