/*
 * github.c: GitHub identity through its REST API (see github.h).
 *
 * Four lists are read with the user's token, each page in a subpool of its
 * own: /user, /user/emails, /user/orgs, /user/teams. Lists follow the
 * "next" target of the Link header (RFC 8288 §3; GitHub docs "Using
 * pagination in the REST API") for at most OAUTH2_MAX_PAGES pages, and
 * only while it stays under the configured API base URL: a link anywhere
 * else would receive the token, so it ends the login instead.
 *
 * Everything fails closed: a page that cannot be read, or a list longer
 * than the limits, refuses the login rather than yield a user with fewer
 * groups than GitHub says (a `Require` inside `RequireNone` would admit
 * them). The claims are built with json-c and parsed back with
 * oauth2_claims_parse(), so they obey the same bounds as any provider's.
 */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <apr_uri.h>
#include <json-c/json.h>

#include "bounds.h"
#include "errors.h"
#include "github.h"

/* GitHub docs "API Versions": the version this code was written against. */
#define GITHUB_API_VERSION "2022-11-28"
/* GitHub docs "Using pagination": per_page is at most 100. */
#define GITHUB_PER_PAGE "100"

/* One run of oauth2_github_claims. */
typedef struct {
    apr_pool_t *p;   /* the caller's pool: *err and the claims */
    apr_pool_t *tmp; /* everything else; destroyed at the end */
    const oauth2_http_opts_t *http;
    const char *base;            /* api_base without trailing '/' */
    apr_uri_t api;               /* base, parsed: where links may point */
    apr_array_header_t *headers; /* request headers, the token included */
    json_object *claims;         /* being built (owned by tmp) */
    json_object *groups;         /* member of claims */
    int ngroups;
    const char *email; /* primary verified email, or NULL */
} gh_t;

/* Called for each element of a list; returns non-zero for malformed. */
typedef int (*gh_item_fn)(gh_t *gh, json_object *item);

static apr_status_t json_put_cleanup(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

/* RFC 6750 §2.1: the token goes into a header, so it must be printable
 * ASCII without spaces (no CR/LF that would add a header of its own). */
static int token_printable(const char *t)
{
    const unsigned char *s = (const unsigned char *)t;

    if (*s == '\0') {
        return 0;
    }
    for (; *s; s++) {
        if (*s <= 0x20 || *s >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* Checks the arguments and prepares the headers of every call. */
static apr_status_t gh_setup(gh_t *gh, const char *api_base, const char *token,
                             const char **err)
{
    apr_size_t n = strlen(api_base);

    while (n > 0 && api_base[n - 1] == '/') {
        n--;
    }
    gh->base = apr_pstrmemdup(gh->tmp, api_base, n);
    if (apr_uri_parse(gh->tmp, gh->base, &gh->api) != APR_SUCCESS
        || gh->api.scheme == NULL || gh->api.hostname == NULL) {
        *err = apr_psprintf(gh->p, "GitHub API base '%.200s' is not a URL",
                            api_base);
        return OAUTH2_ECONFIG;
    }
    if (!token_printable(token) || strlen(token) > OAUTH2_MAX_JWT) {
        *err = "GitHub API: the access token is not usable";
        return OAUTH2_EUPSTREAM;
    }
    gh->headers = apr_array_make(gh->tmp, 4, sizeof(const char *));
    APR_ARRAY_PUSH(gh->headers, const char *) =
        apr_pstrcat(gh->tmp, "Authorization: Bearer ", token, NULL);
    APR_ARRAY_PUSH(gh->headers, const char *) =
        "Accept: application/vnd.github+json";
    APR_ARRAY_PUSH(gh->headers, const char *) =
        "X-GitHub-Api-Version: " GITHUB_API_VERSION;
    return APR_SUCCESS;
}

/* Bounded strict JSON, as claims.c parses (but any top-level type):
 * depth OAUTH2_MAX_JSON_DEPTH, valid UTF-8, no NUL, nothing after it.
 * The result belongs to p. */
static json_object *parse_json(apr_pool_t *p, const char *body, apr_size_t len)
{
    struct json_tokener *tok;
    json_object *obj;
    apr_size_t end;

    if (len > OAUTH2_MAX_RESPONSE || memchr(body, '\0', len) != NULL) {
        return NULL;
    }
    tok = json_tokener_new_ex(OAUTH2_MAX_JSON_DEPTH);
    if (tok == NULL) {
        return NULL;
    }
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, body, (int)len);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (obj == NULL) {
        return NULL;
    }
    apr_pool_cleanup_register(p, obj, json_put_cleanup, apr_pool_cleanup_null);
    while (end < len && strchr(" \t\r\n", body[end]) != NULL) {
        end++;
    }
    return end == len ? obj : NULL;
}

/* GitHub's own explanation of an error answer ({"message": ...}), if any. */
static const char *api_message(apr_pool_t *p, const oauth2_http_response_t *r)
{
    json_object *o = parse_json(p, r->body, r->body_len), *m;

    if (o == NULL || !json_object_object_get_ex(o, "message", &m)
        || !json_object_is_type(m, json_type_string)) {
        return "";
    }
    return apr_psprintf(p, ": %.120s", json_object_get_string(m));
}

/* The reason for a status other than 200 (GitHub docs "Rate limits for
 * the REST API": over the primary limit, 403 or 429 with
 * x-ratelimit-remaining: 0; a secondary limit, 403 or 429). */
static const char *status_reason(apr_pool_t *p, const oauth2_http_response_t *r)
{
    const char *left = apr_table_get(r->headers, "x-ratelimit-remaining");
    const char *reset = apr_table_get(r->headers, "x-ratelimit-reset");

    if ((r->status == 403 || r->status == 429) && left != NULL
        && strcmp(left, "0") == 0) {
        return apr_psprintf(p, "rate limit exhausted (resets at %.20s)",
                            reset ? reset : "?");
    }
    switch (r->status) {
    case 401:
        return "the access token was refused";
    case 403:
        return "forbidden (scopes read:user user:email read:org granted? "
               "app approved by the organization?)";
    case 429:
        return "too many requests (secondary rate limit)";
    default:
        return "unexpected status";
    }
}

/* GETs url (page `page` of `what`) into a JSON value of type want, owned
 * by pp. *err (from gh->p) names the call; it never holds the token. */
static apr_status_t gh_get(gh_t *gh, apr_pool_t *pp, const char *url,
                           const char *what, int page, json_type want,
                           oauth2_http_response_t **resp, json_object **out,
                           const char **err)
{
    const char *call =
        apr_psprintf(gh->p, "GitHub API %s (page %d)", what, page);
    oauth2_http_opts_t o = oauth2_http_for(gh->http, OAUTH2_CALL_GITHUB_API);
    apr_status_t rv;

    rv = oauth2_http_call(pp, &o, url, gh->headers, NULL, NULL, resp, err);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(gh->p, "%s: %s", call, *err);
        return rv;
    }
    if ((*resp)->status != 200) {
        *err = apr_psprintf(gh->p, "%s: HTTP %ld, %s%s", call, (*resp)->status,
                            status_reason(pp, *resp), api_message(pp, *resp));
        return OAUTH2_EUPSTREAM;
    }
    *out = parse_json(pp, (*resp)->body, (*resp)->body_len);
    if (*out == NULL || !json_object_is_type(*out, want)) {
        *err = apr_psprintf(gh->p, "%s: the answer is not a JSON %s", call,
                            want == json_type_array ? "array" : "object");
        return OAUTH2_EUPSTREAM;
    }
    return APR_SUCCESS;
}

/* Skips optional whitespace (RFC 9110 §5.6.3 OWS). */
static const char *ows(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

/* 1 when the space-separated relation types of v include "next"
 * (RFC 8288 §3.3: compared case-insensitively). */
static int rel_has_next(apr_pool_t *p, const char *v, apr_size_t n)
{
    char *copy = apr_pstrmemdup(p, v, n), *t, *last = NULL;

    for (t = apr_strtok(copy, " \t", &last); t != NULL;
         t = apr_strtok(NULL, " \t", &last)) {
        if (strcasecmp(t, "next") == 0) {
            return 1;
        }
    }
    return 0;
}

/* Reads the link-params after one "<target>" (RFC 8288 §3: ";" name
 * ["=" token / quoted-string]), setting *next when rel has "next".
 * Returns the position after the link-value's ",". */
static const char *link_params(apr_pool_t *p, const char *s, int *next)
{
    for (s = ows(s); *s == ';'; s = ows(s)) {
        const char *name = ows(s + 1), *v;
        apr_size_t nlen = strcspn(name, "=;, \t"), vlen = 0;

        s = ows(name + nlen);
        v = s;
        if (*s == '=') {
            s = ows(s + 1);
            v = s + (*s == '"');
            vlen = *s == '"' ? strcspn(v, "\"") : strcspn(v, ";, \t");
            s = v + vlen + (*s == '"' && v[vlen] == '"');
        }
        if (nlen == 3 && strncasecmp(name, "rel", 3) == 0
            && rel_has_next(p, v, vlen)) {
            *next = 1;
        }
    }
    s += strcspn(s, ",");
    return *s == ',' ? s + 1 : s;
}

/* The target of the first link in a Link header value whose relation
 * types include "next", or NULL. */
static const char *link_next(apr_pool_t *p, const char *s)
{
    for (s = ows(s); *s != '\0'; s = ows(s)) {
        const char *target, *end;
        int next = 0;

        if (*s == ',') {
            s++;
            continue;
        }
        end = *s == '<' ? strchr(s, '>') : NULL;
        if (end == NULL) {
            return NULL;
        }
        target = s + 1;
        s = link_params(p, end + 1, &next);
        if (next) {
            return apr_pstrmemdup(p, target, end - target);
        }
    }
    return NULL;
}

/* apr_table_do state: the first Link header with a next target. */
typedef struct {
    apr_pool_t *p;
    const char *next;
} link_ctx_t;

static int find_next(void *ctx, const char *key, const char *value)
{
    link_ctx_t *l = ctx;

    l->next = link_next(l->p, value);
    return l->next == NULL; /* 0 stops the walk */
}

/* 1 when path has a "." or ".." segment: curl removes them (RFC 3986
 * §5.2.4), so "/api/v3/../x" would leave the base path. */
static int dot_segment(const char *path)
{
    const char *seg = path;

    while (seg != NULL) {
        apr_size_t n;

        seg += *seg == '/';
        n = strcspn(seg, "/");
        if ((n == 1 && seg[0] == '.')
            || (n == 2 && strncmp(seg, "..", 2) == 0)) {
            return 1;
        }
        seg = seg[n] == '/' ? seg + n : NULL;
    }
    return 0;
}

/* 1 when url is under the API base: same scheme, host and port, and a
 * path below the base's (GitHub Enterprise Server: /api/v3). The token is
 * only ever sent there. */
static int under_api(gh_t *gh, apr_pool_t *pp, const char *url)
{
    const char *bpath = gh->api.path ? gh->api.path : "";
    apr_size_t blen = strlen(bpath);
    const unsigned char *c;
    apr_uri_t u;

    for (c = (const unsigned char *)url; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f) {
            return 0;
        }
    }
    if (strlen(url) > OAUTH2_MAX_URL
        || apr_uri_parse(pp, url, &u) != APR_SUCCESS || u.scheme == NULL
        || u.hostname == NULL || u.user != NULL || u.password != NULL) {
        return 0;
    }
    if (strcasecmp(u.scheme, gh->api.scheme) != 0
        || strcasecmp(u.hostname, gh->api.hostname) != 0) {
        return 0;
    }
    if ((u.port_str ? u.port : apr_uri_port_of_scheme(u.scheme))
        != (gh->api.port_str ? gh->api.port
                             : apr_uri_port_of_scheme(gh->api.scheme))) {
        return 0;
    }
    while (blen > 0 && bpath[blen - 1] == '/') {
        blen--;
    }
    return u.path != NULL && strncmp(u.path, bpath, blen) == 0
           && (u.path[blen] == '/' || u.path[blen] == '\0')
           && !dot_segment(u.path);
}

/* The next page's URL from resp's Link headers: NULL at the last page;
 * OAUTH2_EUPSTREAM for a link that leaves the API. */
static apr_status_t next_page(gh_t *gh, apr_pool_t *pp,
                              const oauth2_http_response_t *resp,
                              const char *what, const char **url,
                              const char **err)
{
    link_ctx_t l = { pp, NULL };

    apr_table_do(find_next, &l, resp->headers, "Link", NULL);
    if (l.next != NULL && !under_api(gh, pp, l.next)) {
        *err = apr_psprintf(gh->p,
                            "GitHub API %s: the next page link "
                            "'%.200s' leaves %s; not followed",
                            what, l.next, gh->base);
        return OAUTH2_EUPSTREAM;
    }
    *url = l.next ? apr_pstrdup(gh->tmp, l.next) : NULL;
    return APR_SUCCESS;
}

/* Reads every page of a list (at most OAUTH2_MAX_PAGES), calling fn for
 * each element; each page lives in a subpool of its own. */
static apr_status_t gh_list(gh_t *gh, const char *what, gh_item_fn fn,
                            const char **err)
{
    const char *url = apr_pstrcat(gh->tmp, gh->base, what,
                                  "?per_page=" GITHUB_PER_PAGE, NULL);
    apr_status_t rv = APR_SUCCESS;
    int page;

    for (page = 1; url != NULL && rv == APR_SUCCESS; page++) {
        oauth2_http_response_t *resp;
        json_object *list;
        apr_pool_t *pp;
        size_t i;

        if (page > OAUTH2_MAX_PAGES) {
            *err = apr_psprintf(gh->p, "GitHub API %s: more than %d pages",
                                what, OAUTH2_MAX_PAGES);
            return OAUTH2_ETOOBIG;
        }
        rv = apr_pool_create(&pp, gh->tmp);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        rv =
            gh_get(gh, pp, url, what, page, json_type_array, &resp, &list, err);
        for (i = 0; rv == APR_SUCCESS && i < json_object_array_length(list);
             i++) {
            if (fn(gh, json_object_array_get_idx(list, i)) != 0) {
                *err = apr_psprintf(gh->p,
                                    "GitHub API %s (page %d): element %d "
                                    "is malformed or over the limits",
                                    what, page, (int)i);
                rv = OAUTH2_EUPSTREAM;
            }
        }
        if (rv == APR_SUCCESS) {
            rv = next_page(gh, pp, resp, what, &url, err);
        }
        apr_pool_destroy(pp);
    }
    return rv;
}

/* Member name of o when it is a non-empty string without a NUL byte
 * (which would cut it short as a C string), else NULL. */
static const char *member_string(json_object *o, const char *name)
{
    json_object *v;
    const char *s;

    if (!json_object_is_type(o, json_type_object)
        || !json_object_object_get_ex(o, name, &v)
        || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    s = json_object_get_string(v);
    if (*s == '\0' || strlen(s) != (size_t)json_object_get_string_len(v)) {
        return NULL;
    }
    return s;
}

/* 1 when member name of o is the JSON literal true. */
static int member_true(json_object *o, const char *name)
{
    json_object *v;

    return json_object_object_get_ex(o, name, &v)
           && json_object_is_type(v, json_type_boolean)
           && json_object_get_boolean(v);
}

/* Adds one group name; fails beyond OAUTH2_MAX_GROUPS. */
static int add_group(gh_t *gh, const char *name)
{
    if (++gh->ngroups > OAUTH2_MAX_GROUPS) {
        return 1;
    }
    json_object_array_add(gh->groups, json_object_new_string(name));
    return 0;
}

/* /user/emails element: {"email", "primary", "verified", "visibility"}.
 * Only the primary address, and only once GitHub verified it. */
static int item_email(gh_t *gh, json_object *item)
{
    const char *email = member_string(item, "email");

    if (email == NULL) {
        return 1;
    }
    if (gh->email == NULL && member_true(item, "primary")
        && member_true(item, "verified")) {
        gh->email = apr_pstrdup(gh->tmp, email);
    }
    return 0;
}

/* /user/orgs element: the organisation's login is the group. */
static int item_org(gh_t *gh, json_object *item)
{
    const char *login = member_string(item, "login");

    return login == NULL ? 1 : add_group(gh, login);
}

/* /user/teams element: "org:team-slug", as oauth2-proxy names teams. */
static int item_team(gh_t *gh, json_object *item)
{
    const char *slug = member_string(item, "slug"), *org;
    json_object *o;

    if (slug == NULL || !json_object_object_get_ex(item, "organization", &o)) {
        return 1;
    }
    org = member_string(o, "login");
    if (org == NULL) {
        return 1;
    }
    return add_group(gh, apr_pstrcat(gh->tmp, org, ":", slug, NULL));
}

/* GET /user: sub (the numeric id: logins can be renamed and reused),
 * preferred_username (the login), name. */
static apr_status_t gh_user(gh_t *gh, const char **err)
{
    oauth2_http_response_t *resp;
    json_object *user, *id;
    const char *login, *name;
    apr_status_t rv;

    rv = gh_get(gh, gh->tmp, apr_pstrcat(gh->tmp, gh->base, "/user", NULL),
                "/user", 1, json_type_object, &resp, &user, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    login = member_string(user, "login");
    if (login == NULL || !json_object_object_get_ex(user, "id", &id)
        || !json_object_is_type(id, json_type_int)
        || json_object_get_int64(id) <= 0) {
        *err = "GitHub API /user: no login or no numeric id";
        return OAUTH2_EUPSTREAM;
    }
    json_object_object_add(
        gh->claims, "sub",
        json_object_new_string(apr_psprintf(gh->tmp, "%" APR_INT64_T_FMT,
                                            json_object_get_int64(id))));
    json_object_object_add(gh->claims, "preferred_username",
                           json_object_new_string(login));
    name = member_string(user, "name");
    if (name != NULL) {
        json_object_object_add(gh->claims, "name",
                               json_object_new_string(name));
    }
    return APR_SUCCESS;
}

/* Reads the user and the lists into gh->claims. */
static apr_status_t gh_collect(gh_t *gh, const char **err)
{
    apr_status_t rv = gh_user(gh, err);

    if (rv == APR_SUCCESS) {
        rv = gh_list(gh, "/user/emails", item_email, err);
    }
    if (rv == APR_SUCCESS) {
        rv = gh_list(gh, "/user/orgs", item_org, err);
    }
    if (rv == APR_SUCCESS) {
        rv = gh_list(gh, "/user/teams", item_team, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (gh->email != NULL) {
        json_object_object_add(gh->claims, "email",
                               json_object_new_string(gh->email));
        json_object_object_add(gh->claims, "email_verified",
                               json_object_new_boolean(1));
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_github_claims(apr_pool_t *p, const oauth2_http_opts_t *http,
                                  const char *api_base,
                                  const char *access_token,
                                  oauth2_claims_t **claims, const char **err)
{
    gh_t gh;
    const char *text;
    apr_status_t rv;

    if (api_base == NULL || access_token == NULL || http == NULL) {
        *err = "GitHub API: no API URL or no access token";
        return OAUTH2_ECONFIG;
    }
    memset(&gh, 0, sizeof(gh));
    gh.p = p;
    gh.http = http;
    rv = apr_pool_create(&gh.tmp, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    gh.claims = json_object_new_object();
    apr_pool_cleanup_register(gh.tmp, gh.claims, json_put_cleanup,
                              apr_pool_cleanup_null);
    gh.groups = json_object_new_array();
    json_object_object_add(gh.claims, "groups", gh.groups);
    rv = gh_setup(&gh, api_base, access_token, err);
    if (rv == APR_SUCCESS) {
        rv = gh_collect(&gh, err);
    }
    if (rv == APR_SUCCESS) {
        text =
            json_object_to_json_string_ext(gh.claims, JSON_C_TO_STRING_PLAIN);
        rv = oauth2_claims_parse(p, text, strlen(text), OAUTH2_MAX_RESPONSE,
                                 claims, err);
    }
    apr_pool_destroy(gh.tmp);
    return rv;
}

/* ------------------------------------------------------------------ */
/* Repository permissions                                              */

/* The highest role set in a "permissions" object, as a rank; -1 when the
 * object is missing or not all booleans. */
static int repo_rank(json_object *perms)
{
    static const char *const roles[] = { "pull", "triage", "push", "maintain",
                                         "admin" };
    json_object *v;
    int i, rank = 0;

    if (!json_object_is_type(perms, json_type_object)) {
        return -1;
    }
    for (i = 0; i < 5; i++) {
        if (!json_object_object_get_ex(perms, roles[i], &v)) {
            continue; /* older servers have no maintain or triage */
        }
        if (!json_object_is_type(v, json_type_boolean)) {
            return -1;
        }
        rank = json_object_get_boolean(v) ? i + 1 : rank;
    }
    return rank;
}

/* The rank of a 200 answer: pull counts in private repositories only. */
static apr_status_t repo_answer(apr_pool_t *p, const char *repo,
                                const oauth2_http_response_t *resp, int *rank,
                                const char **err)
{
    json_object *o = parse_json(p, resp->body, resp->body_len), *v;
    const char *vis = NULL;
    int private_ = 0;

    if (o != NULL && json_object_object_get_ex(o, "visibility", &v)
        && json_object_is_type(v, json_type_string)) {
        vis = json_object_get_string(v);
    }
    if (o != NULL && json_object_object_get_ex(o, "private", &v)) {
        private_ = json_object_get_boolean(v);
    }
    *rank = o != NULL && json_object_object_get_ex(o, "permissions", &v)
                ? repo_rank(v)
                : -1;
    if (*rank < 0) {
        *err = apr_psprintf(p,
                            "GitHub API /repos/%s: no readable "
                            "\"permissions\" in the answer",
                            repo);
        return OAUTH2_EUPSTREAM;
    }
    if (*rank == 1
        && !(private_ && (vis == NULL || strcmp(vis, "private") == 0))) {
        *rank = 0;
    }
    return APR_SUCCESS;
}

apr_status_t
oauth2_github_repo_permission(apr_pool_t *p, const oauth2_http_opts_t *http,
                              const char *api_base, const char *access_token,
                              const char *repo, int *rank, const char **err)
{
    oauth2_http_response_t *resp;
    oauth2_http_opts_t o;
    apr_status_t rv;
    gh_t gh;

    if (api_base == NULL || repo == NULL || http == NULL || access_token == NULL
        || strchr(repo, '/') == NULL
        || strspn(repo, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-_./")
               != strlen(repo)) {
        *err = "GitHub API: no API URL, repository or access token";
        return OAUTH2_ECONFIG;
    }
    memset(&gh, 0, sizeof(gh));
    gh.p = p;
    gh.tmp = p;
    gh.http = http;
    rv = gh_setup(&gh, api_base, access_token, err);
    if (rv == APR_SUCCESS) {
        o = oauth2_http_for(http, OAUTH2_CALL_GITHUB_API);
        rv = oauth2_http_call(p, &o,
                              apr_pstrcat(p, gh.base, "/repos/", repo, NULL),
                              gh.headers, NULL, NULL, &resp, err);
    }
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "GitHub API /repos/%s: %s", repo, *err);
        return rv;
    }
    *rank = 0;
    if (resp->status == 404) {
        return APR_SUCCESS; /* not visible to this user: no access */
    }
    if (resp->status == 301) {
        *err = apr_psprintf(p,
                            "GitHub API /repos/%s: HTTP 301, the repository "
                            "was renamed or moved (update the rule)",
                            repo);
        return OAUTH2_EUPSTREAM;
    }
    if (resp->status != 200) {
        *err = apr_psprintf(p, "GitHub API /repos/%s: HTTP %ld, %s%s", repo,
                            resp->status, status_reason(p, resp),
                            api_message(p, resp));
        return OAUTH2_EUPSTREAM;
    }
    return repo_answer(p, repo, resp, rank, err);
}
