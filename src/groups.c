/*
 * groups.c: the API lookups behind Require oauth2-group (see groups.h).
 */
#include <string.h>

#include <apr_strings.h>
#include <json-c/json.h>

#include "authz.h"
#include "errors.h"
#include "github.h"
#include "gitlab.h"
#include "google.h"
#include "groups.h"
#include "session.h"

struct oauth2_groups_t {
    const oauth2_http_opts_t *http;
    oauth2_google_t google;    /* sa NULL: no Google groups */
    apr_array_header_t *named; /* group addresses the rules name */
    apr_array_header_t *terms; /* oauth2_res_term_t the rules name */
};

apr_status_t oauth2_groups_create(apr_pool_t *p, const oauth2_cfg_t *cfg,
                                  const oauth2_http_opts_t *http,
                                  const oauth2_store_t *store,
                                  oauth2_groups_t **out, const char **err)
{
    oauth2_groups_t *g = apr_pcalloc(p, sizeof(*g));
    const apr_array_header_t *keys = cfg->rule_resources;
    int i;

    g->http = http;
    g->google.sa = cfg->google_sa;
    g->google.admin = cfg->google_admin;
    g->google.http = http;
    g->google.store = store;
    g->named = cfg->rule_groups;
    g->terms = apr_array_make(p, 4, sizeof(oauth2_res_term_t));
    for (i = 0; keys != NULL && i < keys->nelts; i++) {
        if (oauth2_authz_parse_resource(p, APR_ARRAY_IDX(keys, i, const char *),
                                        apr_array_push(g->terms), err)
            != APR_SUCCESS) {
            return APR_EINVAL;
        }
    }
    *out = g;
    return APR_SUCCESS;
}

/* The API base of a term's kind at this provider, or NULL. */
static const char *api_of(const oauth2_endpoints_t *ep,
                          const oauth2_res_term_t *t)
{
    return t->kind == OAUTH2_RES_PROJECT ? ep->gitlab_api : ep->github_api;
}

/* One resource: the user's level from its API. */
static apr_status_t resolve_term(apr_pool_t *p, const oauth2_groups_t *g,
                                 const oauth2_endpoints_t *ep,
                                 const char *token, const oauth2_res_term_t *t,
                                 int *level, const char **err)
{
    const char *api = api_of(ep, t);

    if (api == NULL) {
        *err = apr_psprintf(p,
                            "Require oauth2-group %s needs %s (this virtual "
                            "host's provider has no such API)",
                            t->key,
                            t->kind == OAUTH2_RES_PROJECT
                                ? "OAuth2Provider gitlab or OAuth2Endpoint "
                                  "gitlab_api"
                                : "OAuth2Provider github or OAuth2Endpoint "
                                  "github_api");
        return OAUTH2_ECONFIG;
    }
    if (t->kind == OAUTH2_RES_PROJECT) {
        return oauth2_gitlab_project_access(p, g->http, api, token, t->path,
                                            level, err);
    }
    return oauth2_github_repo_permission(p, g->http, api, token, t->path, level,
                                         err);
}

/* The resources: the given terms, or the configured ones this provider
 * has an API for. Each key once. */
static apr_status_t resolve_terms(apr_pool_t *p, const oauth2_groups_t *g,
                                  const oauth2_endpoints_t *ep,
                                  const char *token,
                                  const apr_array_header_t *terms,
                                  apr_array_header_t *out, const char **err)
{
    const apr_array_header_t *list = terms ? terms : g->terms;
    apr_status_t rv = APR_SUCCESS;
    int i, j;

    for (i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const oauth2_res_term_t *t = &APR_ARRAY_IDX(list, i, oauth2_res_term_t);
        oauth2_session_resource_t r;

        for (j = 0; j < out->nelts; j++) {
            if (strcmp(APR_ARRAY_IDX(out, j, oauth2_session_resource_t).key,
                       t->key)
                == 0) {
                break;
            }
        }
        if (j < out->nelts || (terms == NULL && api_of(ep, t) == NULL)) {
            continue;
        }
        r.key = t->key;
        rv = resolve_term(p, g, ep, token, t, &r.level, err);
        if (rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(out, oauth2_session_resource_t) = r;
        }
    }
    return rv;
}

apr_status_t oauth2_groups_resolve(apr_pool_t *p, const oauth2_groups_t *g,
                                   const oauth2_endpoints_t *ep,
                                   const char *email, const char *access_token,
                                   const apr_array_header_t *terms,
                                   apr_time_t now, oauth2_groups_result_t *out,
                                   const char **err)
{
    oauth2_google_t google;
    apr_status_t rv = APR_SUCCESS;

    out->groups = NULL;
    out->resources = apr_array_make(p, 4, sizeof(oauth2_session_resource_t));
    if (g == NULL) {
        return APR_SUCCESS;
    }
    if (terms == NULL && g->google.sa != NULL) {
        out->groups = apr_array_make(p, 4, sizeof(const char *));
        google = g->google;
        google.directory = ep->google_directory;
        if (email != NULL) {
            rv = oauth2_google_groups(p, &google, email, g->named, now,
                                      &out->groups, err);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = resolve_terms(p, g, ep, access_token, terms, out->resources, err);
    }
    return rv;
}

apr_status_t oauth2_groups_login(apr_pool_t *p, const oauth2_groups_t *g,
                                 const oauth2_endpoints_t *ep,
                                 oauth2_login_result_t *res, apr_time_t now,
                                 const char **err)
{
    json_object *verified = oauth2_claims_get(res->claims, "email_verified");
    const char *email = oauth2_claims_get_string(res->claims, "email");
    oauth2_groups_result_t out;
    apr_status_t rv;

    /* Only an address the provider verified names the user to Google. */
    if (verified == NULL || !json_object_is_type(verified, json_type_boolean)
        || !json_object_get_boolean(verified)) {
        email = NULL;
    }
    rv = oauth2_groups_resolve(p, g, ep, email, res->access_token, NULL, now,
                               &out, err);
    if (rv == APR_SUCCESS) {
        res->api_groups = out.groups;
        res->resources = out.resources;
    }
    return rv;
}
