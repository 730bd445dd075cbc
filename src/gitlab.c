/*
 * gitlab.c: a user's access level in a GitLab project (see gitlab.h),
 * from GET /projects/:id (GitLab docs "Projects API: Get a single
 * project"; "Roles and permissions" for the levels).
 */
#include <string.h>

#include <apr_strings.h>
#include <json-c/json.h>

#include "bounds.h"
#include "claims.h"
#include "errors.h"
#include "gitlab.h"

/* The highest level GitLab has (Owner); anything above is malformed. */
#define GITLAB_MAX_LEVEL 50

/* One of the permissions members: null (0), or {"access_level": N}.
 * Returns -1 when malformed. */
static int access_level(json_object *perms, const char *name)
{
    json_object *a, *l;

    if (!json_object_object_get_ex(perms, name, &a) || a == NULL) {
        return 0;
    }
    if (!json_object_is_type(a, json_type_object)
        || !json_object_object_get_ex(a, "access_level", &l)
        || !json_object_is_type(l, json_type_int)
        || json_object_get_int64(l) < 0
        || json_object_get_int64(l) > GITLAB_MAX_LEVEL) {
        return -1;
    }
    return (int)json_object_get_int64(l);
}

/* The level of a 200 answer: the higher of project and group access. */
static apr_status_t level_of(apr_pool_t *p, const char *path,
                             const oauth2_http_response_t *resp, int *level,
                             const char **err)
{
    oauth2_claims_t *c;
    json_object *perms;
    int pa, ga;

    if (oauth2_claims_parse(p, resp->body, resp->body_len, OAUTH2_MAX_RESPONSE,
                            &c, err)
        != APR_SUCCESS) {
        *err = apr_psprintf(p, "GitLab API project %s: %s", path, *err);
        return OAUTH2_EUPSTREAM;
    }
    perms = oauth2_claims_get(c, "permissions");
    pa = json_object_is_type(perms, json_type_object)
             ? access_level(perms, "project_access")
             : -1;
    ga = pa >= 0 ? access_level(perms, "group_access") : -1;
    if (pa < 0 || ga < 0) {
        *err = apr_psprintf(p,
                            "GitLab API project %s: no readable "
                            "\"permissions\" in the answer",
                            path);
        return OAUTH2_EUPSTREAM;
    }
    *level = pa > ga ? pa : ga;
    return APR_SUCCESS;
}

/* Why GitLab refused (its JSON "error" or "message", bounded). */
static const char *refusal(apr_pool_t *p, const oauth2_http_response_t *resp)
{
    oauth2_claims_t *c;
    const char *ignored, *e = NULL, *m = NULL;

    if (oauth2_claims_parse(p, resp->body, resp->body_len, OAUTH2_MAX_RESPONSE,
                            &c, &ignored)
        == APR_SUCCESS) {
        e = oauth2_claims_get_string(c, "error");
        m = oauth2_claims_get_string(c, "message");
    }
    switch (resp->status) {
    case 401:
        return "the access token was refused (expired or revoked)";
    case 403:
        if (e != NULL && strcmp(e, "insufficient_scope") == 0) {
            return "insufficient_scope: the token lacks read_api (add it to "
                   "the GitLab application's scopes)";
        }
        return apr_psprintf(p, "forbidden: %.120s", e ? e : m ? m : "");
    case 429:
        return apr_psprintf(p, "rate limited (Retry-After: %.20s)",
                            apr_table_get(resp->headers, "Retry-After")
                                ? apr_table_get(resp->headers, "Retry-After")
                                : "?");
    default:
        return apr_psprintf(p, "unexpected status: %.120s", e ? e : m ? m : "");
    }
}

apr_status_t
oauth2_gitlab_project_access(apr_pool_t *p, const oauth2_http_opts_t *http,
                             const char *api_base, const char *access_token,
                             const char *path, int *level, const char **err)
{
    apr_array_header_t *h;
    oauth2_http_response_t *resp;
    oauth2_http_opts_t o;
    apr_size_t n;
    apr_status_t rv;

    if (http == NULL || api_base == NULL || path == NULL || *path == '\0'
        || !oauth2_http_token_ok(access_token)) {
        *err = "GitLab API: no API URL, project or usable access token";
        return OAUTH2_ECONFIG;
    }
    n = strlen(api_base);
    while (n > 0 && api_base[n - 1] == '/') {
        n--;
    }
    h = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(h, const char *) =
        apr_pstrcat(p, "Authorization: Bearer ", access_token, NULL);
    APR_ARRAY_PUSH(h, const char *) = "Accept: application/json";
    /* "URL-encoded path of the project": the '/' become %2F. */
    o = oauth2_http_for(http, OAUTH2_CALL_GITLAB_API);
    rv = oauth2_http_call(p, &o,
                          apr_pstrcat(p, apr_pstrmemdup(p, api_base, n),
                                      "/projects/",
                                      oauth2_http_url_encode(p, path), NULL),
                          h, NULL, NULL, &resp, err);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "GitLab API project %s: %s", path, *err);
        return rv;
    }
    *level = 0;
    if (resp->status == 404) {
        return APR_SUCCESS; /* not visible to this user: no access */
    }
    if (resp->status != 200) {
        *err = apr_psprintf(p, "GitLab API project %s: HTTP %ld, %s", path,
                            resp->status, refusal(p, resp));
        return OAUTH2_EUPSTREAM;
    }
    return level_of(p, path, resp, level, err);
}
