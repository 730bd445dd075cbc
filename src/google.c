/*
 * google.c: Google Workspace groups through the Admin SDK Directory API
 * (see google.h): the service account key, the JWT assertion and its
 * exchange (RFC 7523), the shared token cache, and the Directory calls.
 *
 * Google's error bodies come in two shapes: the token endpoint answers
 * as RFC 6749 §5.2 says ({"error": "invalid_grant", "error_description":
 * "..."}); the Directory API with its JSON error format ({"error": {"code":
 * 403, "message": "...", "errors": [{"reason": "forbidden", ...}]}}). Both
 * are quoted in *err, bounded, so that an administrator reads Google's
 * own words in the log.
 */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <json-c/json.h>

#include "bounds.h"
#include "claims.h"
#include "crypto.h"
#include "errors.h"
#include "google.h"
#include "jose.h"

/* RFC 7523 §2.1. */
#define JWT_BEARER_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"
/* groups.list: "Maximum number of results to return. Max allowed value
 * is 200." */
#define GOOGLE_PAGE_SIZE "200"
/* The token is used until this long before Google says it expires. */
#define TOKEN_MARGIN apr_time_from_sec(60)
/* While another process exchanges, the store is polled this often. */
#define WAIT_STEP apr_time_from_msec(50)

struct oauth2_google_sa_t {
    const char *email;     /* client_email */
    const char *client_id; /* for messages, or "" */
    const char *key_id;    /* private_key_id, or NULL */
    const char *token_uri;
    oauth2_jose_key_t *key;
};

/* ------------------------------------------------------------------ */
/* The key file                                                        */

/* A required string member of the key file, or NULL with *err set. */
static const char *sa_string(apr_pool_t *p, const oauth2_claims_t *c,
                             const char *name, const char **err)
{
    const char *v = oauth2_claims_get_string(c, name);

    if (v == NULL || *v == '\0') {
        *err = apr_psprintf(p, "the key has no \"%s\"", name);
    }
    return v != NULL && *v != '\0' ? v : NULL;
}

/* token_uri: an absolute http(s) URL (it is also the assertion's aud). */
static int uri_ok(const char *u)
{
    return (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0)
           && strpbrk(u, " \t\r\n#") == NULL;
}

apr_status_t oauth2_google_sa_parse(apr_pool_t *p, const char *json,
                                    apr_size_t len, oauth2_google_sa_t **out,
                                    const char **err)
{
    oauth2_google_sa_t *sa = apr_pcalloc(p, sizeof(*sa));
    const char *type, *pem;
    oauth2_claims_t *c;

    if (oauth2_claims_parse(p, json, len, OAUTH2_MAX_RESPONSE, &c, err)
        != APR_SUCCESS) {
        *err = apr_pstrcat(p, "not a JSON key file: ", *err, NULL);
        return OAUTH2_EMALFORMED;
    }
    type = oauth2_claims_get_string(c, "type");
    if (type == NULL || strcmp(type, "service_account") != 0) {
        *err = apr_psprintf(p,
                            "not a service account key (\"type\" is "
                            "'%.40s', not 'service_account')",
                            type ? type : "absent");
        return OAUTH2_EMALFORMED;
    }
    sa->email = sa_string(p, c, "client_email", err);
    pem = sa->email ? sa_string(p, c, "private_key", err) : NULL;
    sa->token_uri = pem ? sa_string(p, c, "token_uri", err) : NULL;
    if (sa->token_uri == NULL) {
        return OAUTH2_EMALFORMED;
    }
    if (strchr(sa->email, '@') == NULL || !uri_ok(sa->token_uri)) {
        *err = "the key's client_email or token_uri is malformed";
        return OAUTH2_EMALFORMED;
    }
    if (oauth2_jose_key_pem(p, pem, strlen(pem), &sa->key, err)
        != APR_SUCCESS) {
        *err = apr_pstrcat(p, "the key's private_key: ", *err, NULL);
        return OAUTH2_EMALFORMED;
    }
    sa->key_id = oauth2_claims_get_string(c, "private_key_id");
    sa->client_id = oauth2_claims_get_string(c, "client_id");
    sa->client_id = sa->client_id ? sa->client_id : "";
    *out = sa;
    return APR_SUCCESS;
}

const char *oauth2_google_sa_email(const oauth2_google_sa_t *sa)
{
    return sa->email;
}

const char *oauth2_google_sa_token_uri(const oauth2_google_sa_t *sa)
{
    return sa->token_uri;
}

/* ------------------------------------------------------------------ */
/* The assertion and its exchange                                      */

static apr_status_t json_put_cleanup(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

/* A JSON object owned by p. */
static json_object *pool_object(apr_pool_t *p)
{
    json_object *o = json_object_new_object();

    apr_pool_cleanup_register(p, o, json_put_cleanup, apr_pool_cleanup_null);
    return o;
}

static void put_str(json_object *o, const char *name, const char *v)
{
    json_object_object_add(o, name, json_object_new_string(v));
}

apr_status_t oauth2_google_assertion(apr_pool_t *p,
                                     const oauth2_google_sa_t *sa,
                                     const char *admin, apr_time_t now,
                                     char **jwt, const char **err)
{
    json_object *h = pool_object(p), *c = pool_object(p);
    apr_int64_t iat = (apr_int64_t)apr_time_sec(now);

    put_str(h, "alg", "RS256");
    put_str(h, "typ", "JWT");
    if (sa->key_id != NULL) {
        put_str(h, "kid", sa->key_id);
    }
    put_str(c, "iss", sa->email);
    put_str(c, "sub", admin);
    put_str(c, "scope", OAUTH2_GOOGLE_SCOPE);
    put_str(c, "aud", sa->token_uri);
    json_object_object_add(c, "iat", json_object_new_int64(iat));
    json_object_object_add(
        c, "exp", json_object_new_int64(iat + OAUTH2_GOOGLE_ASSERTION_TTL));
    return oauth2_jose_sign_rs256(
        p, sa->key, json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN),
        json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN), jwt, err);
}

/* RFC 6749 §5.2 error of the token endpoint, with a hint for the errors
 * an administrator can fix. */
static const char *token_error(apr_pool_t *p, const oauth2_google_t *g,
                               const oauth2_http_response_t *resp)
{
    oauth2_claims_t *c = NULL;
    const char *e = NULL, *d = NULL, *ignored, *hint = "";

    if (oauth2_claims_parse(p, resp->body, resp->body_len, OAUTH2_MAX_RESPONSE,
                            &c, &ignored)
        == APR_SUCCESS) {
        e = oauth2_claims_get_string(c, "error");
        d = oauth2_claims_get_string(c, "error_description");
    }
    if (e != NULL && strcmp(e, "unauthorized_client") == 0) {
        hint = apr_psprintf(p,
                            " (grant domain-wide delegation to client ID "
                            "%.40s with the scope " OAUTH2_GOOGLE_SCOPE ")",
                            g->sa->client_id);
    }
    else if (e != NULL && strcmp(e, "invalid_grant") == 0) {
        hint = " (a deleted key, a clock off by minutes, or an "
               "OAuth2GoogleAdminEmail Google does not know)";
    }
    return apr_psprintf(p,
                        "Google token endpoint answered HTTP %ld, error "
                        "'%.60s': %.200s%s",
                        resp->status, e ? e : "(none)", d ? d : "", hint);
}

/* Reads a 200 token response: the token and when to stop using it. */
static apr_status_t token_parse(apr_pool_t *p,
                                const oauth2_http_response_t *resp,
                                apr_time_t now, const char **token,
                                apr_time_t *until, const char **err)
{
    oauth2_claims_t *c;
    json_object *exp;
    const char *type;
    apr_int64_t secs = 0;

    if (oauth2_claims_parse(p, resp->body, resp->body_len, OAUTH2_MAX_RESPONSE,
                            &c, err)
        != APR_SUCCESS) {
        *err = apr_pstrcat(p, "Google token endpoint: ", *err, NULL);
        return OAUTH2_EUPSTREAM;
    }
    *token = oauth2_claims_get_string(c, "access_token");
    type = oauth2_claims_get_string(c, "token_type");
    exp = oauth2_claims_get(c, "expires_in");
    if (exp != NULL && json_object_is_type(exp, json_type_int)) {
        secs = json_object_get_int64(exp);
    }
    if (!oauth2_http_token_ok(*token)
        || (type != NULL && strcasecmp(type, "Bearer") != 0)) {
        *err = "Google token endpoint: no usable Bearer access_token";
        return OAUTH2_EUPSTREAM;
    }
    /* Without a lifetime, or a short one, the token is used once. */
    *until = secs > 120 && secs < 86400
                 ? now + apr_time_from_sec(secs) - TOKEN_MARGIN
                 : 0;
    return APR_SUCCESS;
}

/* One exchange at the token endpoint; the token is cached under key. */
static apr_status_t exchange(apr_pool_t *p, const oauth2_google_t *g,
                             apr_time_t now, const unsigned char *key,
                             const char **token, const char **err)
{
    apr_array_header_t *h = apr_array_make(p, 1, sizeof(const char *));
    oauth2_http_response_t *resp;
    apr_time_t until = 0;
    char *jwt;
    apr_status_t rv;

    rv = oauth2_google_assertion(p, g->sa, g->admin, now, &jwt, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    APR_ARRAY_PUSH(h, const char *) = "Accept: application/json";
    rv = oauth2_http_call(
        p, g->http, g->sa->token_uri, h,
        apr_pstrcat(p,
                    "grant_type=", oauth2_http_form_encode(p, JWT_BEARER_GRANT),
                    "&assertion=", jwt, NULL),
        "application/x-www-form-urlencoded", &resp, err);
    if (rv != APR_SUCCESS) {
        *err = apr_pstrcat(p, "Google token endpoint: ", *err, NULL);
        return rv;
    }
    if (resp->status != 200) {
        *err = token_error(p, g, resp);
        return OAUTH2_EUPSTREAM;
    }
    rv = token_parse(p, resp, now, token, &until, err);
    if (rv == APR_SUCCESS && until > now && g->store != NULL) {
        /* A store failure only costs an exchange next time. */
        oauth2_store_put_class(g->store, p, key, *token, strlen(*token), until,
                               now, OAUTH2_SHM_CACHE);
    }
    return rv;
}

/* The cache and lock keys: the service account, the admin and the
 * scope name the token. */
static apr_status_t cache_keys(const oauth2_google_t *g, apr_pool_t *p,
                               unsigned char *key, unsigned char *lock)
{
    const char *id =
        apr_pstrcat(p, "google-directory-token\n", g->sa->email, "\n", g->admin,
                    "\n", g->sa->token_uri, "\n", OAUTH2_GOOGLE_SCOPE, NULL);
    const char *lid = apr_pstrcat(p, "lock\n", id, NULL);

    if (oauth2_crypto_sha256(id, strlen(id), key) != APR_SUCCESS
        || oauth2_crypto_sha256(lid, strlen(lid), lock) != APR_SUCCESS) {
        return OAUTH2_ECRYPTO;
    }
    return APR_SUCCESS;
}

/* The cached token, if any. */
static int token_cached(apr_pool_t *p, const oauth2_google_t *g,
                        const unsigned char *key, apr_time_t now,
                        const char **token)
{
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;

    if (oauth2_store_get(g->store, p, key, now, &rec, &len, &meta)
            != APR_SUCCESS
        || len == 0 || len > OAUTH2_MAX_JWT) {
        return 0;
    }
    *token = apr_pstrmemdup(p, rec, len);
    return oauth2_http_token_ok(*token);
}

apr_status_t oauth2_google_token(apr_pool_t *p, const oauth2_google_t *g,
                                 apr_time_t now, const char **token,
                                 const char **err)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN], lock[OAUTH2_STORE_KEY_LEN];
    apr_interval_time_t patience =
        apr_time_from_msec(g->http->timeout_ms) + apr_time_from_sec(2);
    apr_time_t deadline = now + patience;
    apr_status_t rv;

    if (cache_keys(g, p, key, lock) != APR_SUCCESS) {
        *err = "cannot hash the token cache key";
        return OAUTH2_ECRYPTO;
    }
    if (g->store == NULL) {
        return exchange(p, g, now, key, token, err);
    }
    for (;;) {
        if (token_cached(p, g, key, now, token)) {
            return APR_SUCCESS;
        }
        rv = oauth2_store_add(g->store, p, lock, now + patience, now);
        if (rv != OAUTH2_EREPLAY) {
            /* Ours (or the store failed: exchange all the same). */
            apr_status_t xrv = exchange(p, g, now, key, token, err);

            if (rv == APR_SUCCESS) {
                oauth2_store_remove(g->store, p, lock);
            }
            return xrv;
        }
        if (now >= deadline) {
            *err = "another process is fetching the Directory API token, and "
                   "none arrived in time";
            return OAUTH2_EBUSY;
        }
        apr_sleep(WAIT_STEP);
        now = apr_time_now();
    }
}

/* ------------------------------------------------------------------ */
/* The Directory API                                                   */

/* One run of oauth2_google_groups. */
typedef struct {
    apr_pool_t *p;
    const oauth2_google_t *g;
    const char *base; /* the API base without a trailing '/' */
    apr_array_header_t *headers;
    const char *email;
    apr_array_header_t *groups; /* lower case */
    apr_time_t now;
} dir_t;

/* Google's reason and message ({"error": {"message", "errors": [{"reason"}
 * ]}}); reason is "" when absent. */
static void api_error(apr_pool_t *p, const oauth2_http_response_t *resp,
                      const char **reason, const char **message)
{
    oauth2_claims_t *c = NULL;
    json_object *errs = NULL, *first;
    const char *ignored;

    *reason = "";
    *message = "";
    if (oauth2_claims_parse(p, resp->body, resp->body_len, OAUTH2_MAX_RESPONSE,
                            &c, &ignored)
        != APR_SUCCESS) {
        return;
    }
    *message = oauth2_claims_get_string(c, "error.message");
    *message = *message ? *message : "";
    errs = oauth2_claims_get(c, "error.errors");
    if (errs != NULL && json_object_is_type(errs, json_type_array)
        && json_object_array_length(errs) > 0) {
        first = json_object_array_get_idx(errs, 0);
        if (json_object_object_get_ex(first, "reason", &first)
            && json_object_is_type(first, json_type_string)) {
            *reason = apr_pstrdup(p, json_object_get_string(first));
        }
    }
}

/* 1 for Google's rate limit reasons ("Directory API: Limits and Quotas":
 * 403 or 429 with rateLimitExceeded, userRateLimitExceeded, quotaExceeded). */
static int rate_limited(const char *reason)
{
    return strcmp(reason, "rateLimitExceeded") == 0
           || strcmp(reason, "userRateLimitExceeded") == 0
           || strcmp(reason, "quotaExceeded") == 0;
}

/* The failure of a Directory call: *err names the call, Google's reason
 * and message, and what to check. A refused token leaves the cache. */
static apr_status_t dir_failed(dir_t *d, const char *call,
                               const oauth2_http_response_t *resp,
                               const char **err)
{
    const char *reason, *message, *what;
    unsigned char key[OAUTH2_STORE_KEY_LEN], lock[OAUTH2_STORE_KEY_LEN];

    api_error(d->p, resp, &reason, &message);
    if (resp->status == 401) {
        what = "the access token was refused; it is dropped from the cache";
        if (d->g->store != NULL
            && cache_keys(d->g, d->p, key, lock) == APR_SUCCESS) {
            oauth2_store_remove(d->g->store, d->p, key);
        }
    }
    else if (resp->status == 429 || rate_limited(reason)) {
        what = "rate limit";
    }
    else if (resp->status == 403) {
        what = "not authorized: OAuth2GoogleAdminEmail must be a Workspace "
               "administrator allowed to read groups, and the service "
               "account needs domain-wide delegation for " OAUTH2_GOOGLE_SCOPE;
    }
    else {
        what = "unexpected answer";
    }
    *err = apr_psprintf(
        d->p, "Google Directory API %s: HTTP %ld%s%.40s, %s: %.200s", call,
        resp->status, *reason ? " " : "", reason, what, message);
    return OAUTH2_EUPSTREAM;
}

/* GETs a Directory URL with the access token. */
static apr_status_t dir_get(dir_t *d, const char *url, const char *call,
                            oauth2_http_response_t **resp, const char **err)
{
    apr_status_t rv = oauth2_http_call(d->p, d->g->http, url, d->headers, NULL,
                                       NULL, resp, err);

    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(d->p, "Google Directory API %s: %s", call, *err);
    }
    return rv;
}

/* A 200 answer as a JSON object. */
static apr_status_t dir_object(dir_t *d, const oauth2_http_response_t *resp,
                               const char *call, oauth2_claims_t **c,
                               const char **err)
{
    if (oauth2_claims_parse(d->p, resp->body, resp->body_len,
                            OAUTH2_MAX_RESPONSE, c, err)
        != APR_SUCCESS) {
        *err = apr_psprintf(d->p, "Google Directory API %s: %s", call, *err);
        return OAUTH2_EUPSTREAM;
    }
    return APR_SUCCESS;
}

/* Adds a group address (lower case) unless it is there already. */
static apr_status_t add_group(dir_t *d, const char *email, const char **err)
{
    char *g = apr_pstrdup(d->p, email), *c;
    int i;

    for (c = g; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    for (i = 0; i < d->groups->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(d->groups, i, const char *), g) == 0) {
            return APR_SUCCESS;
        }
    }
    if (d->groups->nelts >= OAUTH2_MAX_GROUPS) {
        *err = apr_psprintf(d->p, "Google Directory API: more than %d groups",
                            OAUTH2_MAX_GROUPS);
        return OAUTH2_ETOOBIG;
    }
    APR_ARRAY_PUSH(d->groups, const char *) = g;
    return APR_SUCCESS;
}

/* The groups of one groups.list page; *next the nextPageToken or NULL. */
static apr_status_t list_page(dir_t *d, const oauth2_claims_t *c, int page,
                              const char **next, const char **err)
{
    json_object *list = oauth2_claims_get(c, "groups"), *e, *v;
    apr_status_t rv = APR_SUCCESS;
    size_t i;

    *next = oauth2_claims_get_string(c, "nextPageToken");
    *next = *next && **next ? *next : NULL;
    if (list == NULL) {
        return APR_SUCCESS; /* Google leaves "groups" out when empty */
    }
    if (!json_object_is_type(list, json_type_array)) {
        *err = apr_psprintf(d->p,
                            "Google Directory API groups.list (page "
                            "%d): \"groups\" is not an array",
                            page);
        return OAUTH2_EUPSTREAM;
    }
    for (i = 0; rv == APR_SUCCESS && i < json_object_array_length(list); i++) {
        e = json_object_array_get_idx(list, i);
        if (!json_object_is_type(e, json_type_object)
            || !json_object_object_get_ex(e, "email", &v)
            || !json_object_is_type(v, json_type_string)
            || json_object_get_string_len(v) == 0) {
            *err = apr_psprintf(d->p,
                                "Google Directory API groups.list (page %d): "
                                "group %d has no email",
                                page, (int)i);
            return OAUTH2_EUPSTREAM;
        }
        rv = add_group(d, json_object_get_string(v), err);
    }
    return rv;
}

/* groups.list?userKey=: the direct groups, every page. */
static apr_status_t list_groups(dir_t *d, const char **err)
{
    const char *base =
        apr_pstrcat(d->p, d->base, "/admin/directory/v1/groups?userKey=",
                    oauth2_http_url_encode(d->p, d->email),
                    "&maxResults=" GOOGLE_PAGE_SIZE, NULL);
    const char *url = base, *next = NULL;
    oauth2_http_response_t *resp;
    oauth2_claims_t *c;
    apr_status_t rv;
    int page;

    for (page = 1; url != NULL; page++) {
        if (page > OAUTH2_MAX_PAGES) {
            *err = apr_psprintf(d->p,
                                "Google Directory API groups.list: more than "
                                "%d pages",
                                OAUTH2_MAX_PAGES);
            return OAUTH2_ETOOBIG;
        }
        rv = dir_get(d, url, "groups.list", &resp, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (resp->status == 404 && page == 1) {
            return APR_SUCCESS; /* a user the directory does not know */
        }
        if (resp->status != 200) {
            return dir_failed(d, "groups.list", resp, err);
        }
        rv = dir_object(d, resp, "groups.list", &c, err);
        if (rv == APR_SUCCESS) {
            rv = list_page(d, c, page, &next, err);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        url = next ? apr_pstrcat(d->p, base, "&pageToken=",
                                 oauth2_http_url_encode(d->p, next), NULL)
                   : NULL;
    }
    return APR_SUCCESS;
}

/* members.get: direct membership of an address outside the domain,
 * counted when ACTIVE (1), else 0. */
static apr_status_t member_get(dir_t *d, const char *group, int *member,
                               const char **err)
{
    const char *url =
        apr_pstrcat(d->p, d->base, "/admin/directory/v1/groups/",
                    oauth2_http_url_encode(d->p, group), "/members/",
                    oauth2_http_url_encode(d->p, d->email), NULL);
    oauth2_http_response_t *resp;
    oauth2_claims_t *c;
    const char *status;
    apr_status_t rv = dir_get(d, url, "members.get", &resp, err);

    *member = 0;
    if (rv != APR_SUCCESS || resp->status == 404) {
        return rv;
    }
    if (resp->status != 200) {
        return dir_failed(d, "members.get", resp, err);
    }
    rv = dir_object(d, resp, "members.get", &c, err);
    status = rv == APR_SUCCESS ? oauth2_claims_get_string(c, "status") : NULL;
    *member = status != NULL && strcmp(status, "ACTIVE") == 0;
    return rv;
}

/* members.hasMember: direct or nested membership of a named group. */
static apr_status_t has_member(dir_t *d, const char *group, int *member,
                               const char **err)
{
    const char *url =
        apr_pstrcat(d->p, d->base, "/admin/directory/v1/groups/",
                    oauth2_http_url_encode(d->p, group), "/hasMember/",
                    oauth2_http_url_encode(d->p, d->email), NULL);
    oauth2_http_response_t *resp;
    oauth2_claims_t *c;
    json_object *v;
    apr_status_t rv = dir_get(d, url, "members.hasMember", &resp, err);

    *member = 0;
    if (rv != APR_SUCCESS || resp->status == 404) {
        return rv; /* no such group (or member): not a member */
    }
    if (resp->status == 400) {
        /* "Invalid input": nesting across domains is not resolved. */
        return member_get(d, group, member, err);
    }
    if (resp->status != 200) {
        return dir_failed(d, "members.hasMember", resp, err);
    }
    rv = dir_object(d, resp, "members.hasMember", &c, err);
    v = rv == APR_SUCCESS ? oauth2_claims_get(c, "isMember") : NULL;
    if (rv == APR_SUCCESS && !json_object_is_type(v, json_type_boolean)) {
        *err = "Google Directory API members.hasMember: no isMember";
        return OAUTH2_EUPSTREAM;
    }
    *member = rv == APR_SUCCESS && json_object_get_boolean(v);
    return rv;
}

/* 1 when d->groups has group (case-insensitively). */
static int have_group(const dir_t *d, const char *group)
{
    int i;

    for (i = 0; i < d->groups->nelts; i++) {
        if (strcasecmp(APR_ARRAY_IDX(d->groups, i, const char *), group) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The named groups the direct list lacks, through nesting. */
static apr_status_t nested_groups(dir_t *d, const apr_array_header_t *named,
                                  const char **err)
{
    apr_status_t rv = APR_SUCCESS;
    int i, member;

    for (i = 0; rv == APR_SUCCESS && named != NULL && i < named->nelts; i++) {
        const char *g = APR_ARRAY_IDX(named, i, const char *);

        if (have_group(d, g)) {
            continue;
        }
        rv = has_member(d, g, &member, err);
        if (rv == APR_SUCCESS && member) {
            rv = add_group(d, g, err);
        }
    }
    return rv;
}

apr_status_t oauth2_google_groups(apr_pool_t *p, const oauth2_google_t *g,
                                  const char *email,
                                  const apr_array_header_t *named,
                                  apr_time_t now, apr_array_header_t **groups,
                                  const char **err)
{
    dir_t d;
    const char *token;
    apr_status_t rv;

    if (g == NULL || g->sa == NULL || g->admin == NULL || g->directory == NULL
        || email == NULL || strchr(email, '@') == NULL) {
        *err = "Google Directory API: no service account, admin, API URL or "
               "user address";
        return OAUTH2_ECONFIG;
    }
    rv = oauth2_google_token(p, g, now, &token, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    memset(&d, 0, sizeof(d));
    d.p = p;
    d.g = g;
    d.base = apr_pstrdup(p, g->directory);
    while (*d.base && d.base[strlen(d.base) - 1] == '/') {
        ((char *)d.base)[strlen(d.base) - 1] = '\0';
    }
    d.email = email;
    d.now = now;
    d.groups = apr_array_make(p, 8, sizeof(const char *));
    d.headers = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(d.headers, const char *) =
        apr_pstrcat(p, "Authorization: Bearer ", token, NULL);
    APR_ARRAY_PUSH(d.headers, const char *) = "Accept: application/json";
    rv = list_groups(&d, err);
    if (rv == APR_SUCCESS) {
        rv = nested_groups(&d, named, err);
    }
    *groups = d.groups;
    return rv;
}
