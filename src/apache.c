/*
 * apache.c: the adapter between Apache's request_rec and the engine: the
 * request view, sessions on requests (the hot path), the identity handed
 * to the backend, starting a login, cookies and pages.
 */
#include <string.h>

#include "apr_lib.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_core.h"

#include "apache.h"
#include "base64url.h"
#include "bearer.h"
#include "bounds.h"
#include "cookie.h"
#include "errors.h"
#include "login.h"
#include "redirect.h"
#include "state.h"

auth_oauth2_srv_conf *auth_oauth2_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &auth_oauth2_module);
}

oauth2_dir_cfg_t *auth_oauth2_dir(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &auth_oauth2_module);
}

auth_oauth2_req_t *auth_oauth2_req(request_rec *r)
{
    auth_oauth2_req_t *req =
        ap_get_module_config(r->request_config, &auth_oauth2_module);

    if (req == NULL) {
        req = apr_pcalloc(r->pool, sizeof(*req));
        ap_set_module_config(r->request_config, &auth_oauth2_module, req);
    }
    return req;
}

const oauth2_request_t *auth_oauth2_view(request_rec *r)
{
    oauth2_request_t *v = apr_pcalloc(r->pool, sizeof(*v));
    apr_port_t port = ap_get_server_port(r);

    v->method = r->method;
    v->https = strcmp(ap_http_scheme(r), "https") == 0;
    v->host = r->hostname ? apr_pstrdup(r->pool, r->hostname) : "";
    ap_str_tolower((char *)v->host);
    v->host_port = ap_is_default_port(port, r)
                       ? v->host
                       : apr_psprintf(r->pool, "%s:%u", v->host, port);
    v->uri = r->unparsed_uri;
    v->cookie = apr_table_get(r->headers_in, "Cookie");
    v->accept = apr_table_get(r->headers_in, "Accept");
    v->requested_with = apr_table_get(r->headers_in, "X-Requested-With");
    v->sec_fetch_mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    v->authorization = apr_table_get(r->headers_in, "Authorization");
    return v;
}

/* Drops identity header names from Connection, so a client cannot have
 * mod_proxy remove the module's own headers as hop-by-hop ones. */
static void strip_connection(request_rec *r, const char *conn)
{
    const char *kept = oauth2_request_connection_strip(r->pool, conn);

    if (kept == NULL) {
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "OA2101: removed identity header names from Connection");
    if (*kept != '\0') {
        apr_table_setn(r->headers_in, "Connection", kept);
    }
    else {
        apr_table_unset(r->headers_in, "Connection");
    }
}

/* The first characters of the header names strip_identity looks at:
 * X-Forwarded-*, OAuth2-Claim-*, Connection. */
static const unsigned char first_of_interest[256] = {
    ['x'] = 1, ['X'] = 1, ['o'] = 1, ['O'] = 1, ['c'] = 1, ['C'] = 1,
};

void auth_oauth2_strip_identity(request_rec *r)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const char *drop[16];
    int i, n = 0;
    const char *conn = NULL;

    for (i = 0; i < arr->nelts; i++) {
        const char *k = e[i].key;

        /* Most headers are out after one character. */
        if (k == NULL || !first_of_interest[(unsigned char)k[0]]) {
            continue;
        }
        if ((k[0] | 0x20) == 'c') {
            /* "Cookie", "Cache-Control" are out at their third byte. */
            if (k[1] != '\0' && (k[2] | 0x20) == 'n'
                && strcasecmp(k, "Connection") == 0) {
                conn = e[i].val;
            }
            continue;
        }
        if (oauth2_request_identity_header(k)) {
            if (n == (int)(sizeof(drop) / sizeof(drop[0]))) {
                break;
            }
            drop[n++] = k;
        }
    }
    for (i = 0; i < n; i++) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "OA2101: removed client-sent header %.64s", drop[i]);
        apr_table_unset(r->headers_in, drop[i]);
    }
    if (n == (int)(sizeof(drop) / sizeof(drop[0]))) {
        auth_oauth2_strip_identity(r); /* more than one batch */
        return;
    }
    if (conn != NULL) {
        strip_connection(r, conn);
    }
}

/* WWW-Authenticate for requests that cannot be sent to log in (RFC 6750
 * §3); the realm is AuthName, quoted safely. */
static void www_authenticate(request_rec *r, const char *error)
{
    const char *realm = ap_auth_name(r) ? ap_auth_name(r) : "oauth2";
    char *q = apr_pstrdup(r->pool, realm), *s;

    for (s = q; *s; s++) {
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) {
            *s = '_';
        }
    }
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   error ? apr_psprintf(
                       r->pool, "Bearer realm=\"%s\", error=\"%s\"", q, error)
                         : apr_psprintf(r->pool, "Bearer realm=\"%s\"", q));
}

/* Builds and caches the session of a freshly verified bearer token. */
static apr_status_t bearer_store(request_rec *r,
                                 const auth_oauth2_srv_conf *srv,
                                 const oauth2_claims_t *claims,
                                 auth_oauth2_req_t *req, apr_time_t now,
                                 const char **err)
{
    oauth2_session_input_t in;
    oauth2_session_t *s;
    json_object *exp = oauth2_claims_get(claims, "exp");
    apr_time_t expires = apr_time_from_sec(json_object_get_int64(exp));
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    memset(&in, 0, sizeof(in));
    in.claims = claims;
    in.user_claim = srv->cfg->remote_user_claim;
    in.groups_claim = srv->cfg->groups_claim;
    in.now = now;
    in.max_age = expires - now;
    rv = oauth2_session_build(r->pool, &in, &s, err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_session_encode(r->pool, s, &rec, &len);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* A cache failure only costs a verification next time. */
    oauth2_store_put(srv->store, r->pool, req->key, rec, len, expires, now);
    auth_oauth2_store_report(r, srv);
    req->session = s;
    req->expires = expires;
    return APR_SUCCESS;
}

/* 401 for a bad bearer token (RFC 6750 §3.1). */
static int bearer_refused(request_rec *r, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "OA2303: bearer token refused: %s", why);
    www_authenticate(r, "invalid_token");
    return HTTP_UNAUTHORIZED;
}

int auth_oauth2_bearer(request_rec *r, const auth_oauth2_srv_conf *srv,
                       const oauth2_dir_cfg_t *dir, auth_oauth2_req_t *req)
{
    const char *header, *token, *id, *err = NULL;
    oauth2_bearer_expect_t expect;
    oauth2_claims_t *claims;
    apr_time_t now;
    apr_status_t rv;

    if (dir == NULL || !oauth2_dir_flag(dir->accept_bearer)) {
        return DECLINED;
    }
    header = apr_table_get(r->headers_in, "Authorization");
    if (header == NULL || strncasecmp(header, "Bearer", 6) != 0) {
        return DECLINED;
    }
    now = apr_time_now();
    if (dir->bearer_audience == NULL || srv->store == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "OA2302: OAuth2AcceptBearer On needs "
                      "OAuth2BearerAudience (and a server-side store)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    token = oauth2_bearer_token(header);
    if (token == NULL) {
        return bearer_refused(r, "malformed Authorization header");
    }
    /* The audience and the type rule are part of the key: a token good
     * for one place is not cached as good for another's. */
    id = apr_pstrcat(r->pool, "bearer:", dir->bearer_audience,
                     oauth2_dir_flag(dir->bearer_untyped) ? "\nu\n" : "\n",
                     token, NULL);
    rv = auth_oauth2_session_key(r, srv, id, strlen(id), req->key);
    if (rv == APR_SUCCESS) {
        rv = auth_oauth2_record_read(r, srv, now, req);
    }
    if (rv == APR_SUCCESS) {
        req->authenticated = 1;
        req->bearer = 1;
        return OK;
    }
    expect.audience = dir->bearer_audience;
    expect.client_id = srv->cfg->client_id;
    expect.allow_untyped = oauth2_dir_flag(dir->bearer_untyped);
    expect.skew = apr_time_from_sec(srv->cfg->clock_skew);
    rv = oauth2_bearer_verify(r->pool, srv->prov, token, &expect, now, &claims,
                              &err);
    if (rv == APR_SUCCESS) {
        rv = bearer_store(r, srv, claims, req, now, &err);
    }
    if (rv != APR_SUCCESS) {
        return bearer_refused(r, err ? err : oauth2_strerror(rv));
    }
    req->authenticated = 1;
    req->bearer = 1;
    return OK;
}

/* The claim's header name: OAuth2-Claim-<path> with anything but
 * letters, digits, '-', '.', '_' turned into '_'. */
static const char *claim_name(apr_pool_t *p, const char *prefix,
                              const char *path, int env)
{
    char *n = apr_pstrcat(p, prefix, path, NULL);
    char *s;

    for (s = n + strlen(prefix); *s; s++) {
        if (!apr_isalnum(*s) && (env || (*s != '-' && *s != '.'))
            && *s != '_') {
            *s = '_';
        }
    }
    return n;
}

/* Passes every claim as a header and/or variable; array elements (the
 * same path repeated) are comma-joined. */
static void pass_claims(request_rec *r, const oauth2_session_t *s, int how)
{
    const char *pos = NULL, *path, *value;

    while ((path = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos))
           != NULL) {
        value = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos);
        if (value == NULL) {
            break;
        }
        if (how & OAUTH2_PASS_HEADERS) {
            apr_table_merge(r->headers_in,
                            claim_name(r->pool, "OAuth2-Claim-", path, 0),
                            value);
        }
        if (how & OAUTH2_PASS_ENV) {
            apr_table_merge(r->subprocess_env,
                            claim_name(r->pool, "OAUTH2_CLAIM_", path, 1),
                            value);
        }
    }
}

/* Sets an identity header. On a request as the client sent it, the
 * client's copies are gone already (post_read_request), so adding is
 * enough and skips a scan of the table; an internal redirect shares the
 * headers of the request before it, which may hold ours. */
static void put_header(request_rec *r, const char *name, const char *value)
{
    if (r->prev == NULL) {
        apr_table_addn(r->headers_in, name, value);
    }
    else {
        apr_table_setn(r->headers_in, name, value);
    }
}

void auth_oauth2_identity_set(request_rec *r, const auth_oauth2_srv_conf *srv,
                              const oauth2_dir_cfg_t *dir,
                              const auth_oauth2_req_t *req)
{
    const oauth2_session_t *s = req->session;
    int how = oauth2_dir_pass_claims(dir);

    r->user = (char *)s->f[OAUTH2_SF_USER];
    r->ap_auth_type = AUTH_OAUTH2_TYPE;
    put_header(r, "X-Forwarded-User", s->f[OAUTH2_SF_USER]);
    if (s->len[OAUTH2_SF_EMAIL] > 0) {
        put_header(r, "X-Forwarded-Email", s->f[OAUTH2_SF_EMAIL]);
    }
    if (s->len[OAUTH2_SF_USERNAME] > 0) {
        put_header(r, "X-Forwarded-Preferred-Username",
                   s->f[OAUTH2_SF_USERNAME]);
    }
    if (s->len[OAUTH2_SF_GROUPS_HEADER] > 0) {
        put_header(r, "X-Forwarded-Groups", s->f[OAUTH2_SF_GROUPS_HEADER]);
    }
    if (oauth2_dir_flag(dir ? dir->pass_access_token : OAUTH2_UNSET)
        && s->len[OAUTH2_SF_ACCESS_TOKEN] > 0) {
        put_header(r, "X-Forwarded-Access-Token", s->f[OAUTH2_SF_ACCESS_TOKEN]);
    }
    if (how != 0) {
        pass_claims(r, s, how);
    }
}

int auth_oauth2_unauthenticated(request_rec *r, const auth_oauth2_srv_conf *srv,
                                const oauth2_dir_cfg_t *dir)
{
    switch (oauth2_dir_unauth(dir)) {
    case OAUTH2_UNAUTH_PASS:
        /* Through, as nobody: "" satisfies mod_authz_core's need for a
         * user, and the oauth2-* rules deny an anonymous request. */
        auth_oauth2_req(r)->anonymous = 1;
        r->user = "";
        return OK;
    case OAUTH2_UNAUTH_403:
        return HTTP_FORBIDDEN;
    case OAUTH2_UNAUTH_401:
        www_authenticate(r, NULL);
        return HTTP_UNAUTHORIZED;
    case OAUTH2_UNAUTH_AUTO:
        if (!oauth2_request_is_navigation(auth_oauth2_view(r))) {
            www_authenticate(r, NULL);
            return HTTP_UNAUTHORIZED;
        }
        break;
    case OAUTH2_UNAUTH_LOGIN:
    case OAUTH2_UNAUTH_UNSET:
        break;
    }
    return auth_oauth2_login_start(r, srv, r->unparsed_uri, 0);
}

void auth_oauth2_client(request_rec *r, const auth_oauth2_srv_conf *srv,
                        oauth2_client_t *cl)
{
    cl->cfg = srv->cfg;
    cl->prov = srv->prov;
    cl->http = &srv->http;
    cl->redirect_uri = auth_oauth2_redirect_uri(r, srv);
}

const char *auth_oauth2_redirect_uri(request_rec *r,
                                     const auth_oauth2_srv_conf *srv)
{
    if (srv->cfg->redirect_uri != NULL) {
        return srv->cfg->redirect_uri;
    }
    return ap_construct_url(r->pool, srv->callback_path, r);
}

void auth_oauth2_set_cookie(request_rec *r, const auth_oauth2_srv_conf *srv,
                            const char *name, const char *value, long max_age,
                            const char *path)
{
    const oauth2_cfg_t *c = srv->cfg;
    oauth2_cookie_attrs_t a;

    a.path = path ? path : "/";
    a.domain = c->cookie_domain;
    a.same_site = c->cookie_samesite;
    a.secure = c->cookie_secure == OAUTH2_UNSET
                   ? strcmp(ap_http_scheme(r), "https") == 0
                   : c->cookie_secure;
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   oauth2_cookie_set_header(r->pool, name, value, max_age, &a));
}

/* Expires the login states a browser still holds when it already has
 * the maximum, so state cookies never pile up. */
static void prune_states(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    const char *header = apr_table_get(r->headers_in, "Cookie");
    const char *pos = header, *end;
    oauth2_cookie_t c;
    const char *names[OAUTH2_MAX_STATE_COOKIES];
    int n = 0, i;
    const apr_size_t plen = sizeof(OAUTH2_STATE_COOKIE_PREFIX) - 1;

    if (header == NULL || strlen(header) > OAUTH2_MAX_COOKIE_HEADER) {
        return;
    }
    end = header + strlen(header);
    while (oauth2_cookie_next(&pos, end, &c) == APR_SUCCESS) {
        if (c.name_len > plen
            && strncmp(c.name, OAUTH2_STATE_COOKIE_PREFIX, plen) == 0) {
            if (n == OAUTH2_MAX_STATE_COOKIES - 1) {
                break;
            }
            names[n++] = apr_pstrmemdup(r->pool, c.name, c.name_len);
        }
    }
    if (n < OAUTH2_MAX_STATE_COOKIES - 1) {
        return;
    }
    for (i = 0; i < n; i++) {
        auth_oauth2_set_cookie(r, srv, names[i], "", 0, srv->callback_path);
    }
}

/* The name of the sign-in service for pages: its host. */
static const char *service_name(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    apr_uri_t u;
    const char *id = oauth2_provider_identity(srv->prov);

    if (apr_uri_parse(r->pool, id, &u) == APR_SUCCESS && u.hostname) {
        return u.hostname;
    }
    return "the sign-in service";
}

int auth_oauth2_provider_down(request_rec *r, const auth_oauth2_srv_conf *srv,
                              const char *link)
{
    return auth_oauth2_fail(
        r, HTTP_BAD_GATEWAY, "Sign-in is unavailable",
        apr_psprintf(r->pool,
                     "The sign-in service (%s) cannot be reached right now, "
                     "so you cannot be logged in. Please try again in a few "
                     "moments.",
                     service_name(r, srv)),
        link);
}

int auth_oauth2_login_start(request_rec *r, const auth_oauth2_srv_conf *srv,
                            const char *return_to, int retry)
{
    const oauth2_request_t *v = auth_oauth2_view(r);
    const oauth2_endpoints_t *ep;
    oauth2_client_t cl;
    oauth2_state_t *st;
    const char *err = NULL, *target;
    char *value;
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    rv = oauth2_redirect_validate(r->pool, return_to, v->host,
                                  srv->cfg->redirect_hosts, &target, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2105: refused return URL %.200s (%s); using /",
                      return_to ? return_to : "(none)", err ? err : "");
        target = "/";
    }
    rv = oauth2_provider_endpoints(srv->prov, r->pool, now, &ep, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "OA2106: cannot start a login: %s (%s)", err,
                      oauth2_strerror(rv));
        return auth_oauth2_provider_down(r, srv, target);
    }
    rv = oauth2_state_create(r->pool, target, now, &st);
    if (rv == APR_SUCCESS) {
        st->retry = retry;
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_state_seal(r->pool, srv->seal_state, st, &value, &err);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "OA2107: cannot create a login state: %s",
                      err ? err : oauth2_strerror(rv));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    prune_states(r, srv);
    auth_oauth2_set_cookie(r, srv, oauth2_state_cookie_name(r->pool, st->state),
                           value, OAUTH2_STATE_LIFETIME, srv->callback_path);
    auth_oauth2_client(r, srv, &cl);
    apr_table_setn(r->headers_out, "Location",
                   oauth2_login_authorize_url(r->pool, &cl, ep, st));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "OA2108: sent to log in, returning to %.200s", target);
    return HTTP_MOVED_TEMPORARILY;
}

/* The one page template: every value escaped. */
static const char *page_html(apr_pool_t *p, const auth_oauth2_page_t *pg)
{
    return apr_pstrcat(
        p,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>",
        ap_escape_html2(p, pg->title, 1),
        "</title><style>body{font-family:sans-serif;max-width:40em;"
        "margin:4em auto;padding:0 1em;line-height:1.4}</style></head>"
        "<body><h1>",
        ap_escape_html2(p, pg->title, 1), "</h1><p>",
        ap_escape_html2(p, pg->message, 1), "</p>",
        pg->link ? "<p><a href=\"" : "",
        pg->link ? ap_escape_html2(p, pg->link, 1) : "", pg->link ? "\">" : "",
        pg->link
            ? ap_escape_html2(p, pg->link_text ? pg->link_text : "Try again", 1)
            : "",
        pg->link ? "</a></p>" : "", "</body></html>\n", NULL);
}

/* What every page of the module's carries besides its body. */
static void page_headers(request_rec *r)
{
    ap_set_content_type(r, "text/html; charset=utf-8");
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'");
}

static auth_oauth2_page_t *make_page(request_rec *r, int status,
                                     const char *title, const char *message,
                                     const char *link)
{
    auth_oauth2_page_t *pg = apr_pcalloc(r->pool, sizeof(*pg));

    pg->status = status;
    pg->title = title;
    pg->message = message;
    pg->link = link;
    return pg;
}

int auth_oauth2_page(request_rec *r, int status, const char *title,
                     const char *message, const char *link)
{
    r->status = status;
    page_headers(r);
    ap_rputs(page_html(r->pool, make_page(r, status, title, message, link)), r);
    return OK;
}

int auth_oauth2_fail(request_rec *r, int status, const char *title,
                     const char *message, const char *link)
{
    auth_oauth2_req(r)->page = make_page(r, status, title, message, link);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return status;
}

int auth_oauth2_has_error_document(request_rec *r, int status)
{
    return ap_response_code_string(r, ap_index_of_response(status)) != NULL;
}

const char *auth_oauth2_log_hash(apr_pool_t *p, const char *secret)
{
    unsigned char d[OAUTH2_SHA256_LEN];

    if (secret == NULL
        || oauth2_crypto_sha256(secret, strlen(secret), d) != APR_SUCCESS) {
        return "-";
    }
    return oauth2_base64url_encode(p, d, 6);
}

/* Gives the table entry whose value is old (the pointer apr_table_get
 * returned) the value val, in place: a table's index is by name, so this
 * is what apr_table_setn does without its scan for the name and for
 * duplicates (the client's Cookie lines are one entry since Apache merged
 * them). 0 when no entry has that value any more. */
static int replace_value(apr_table_t *t, const char *old, const char *val)
{
    const apr_array_header_t *a = apr_table_elts(t);
    apr_table_entry_t *e = (apr_table_entry_t *)a->elts;
    int i;

    /* From the end: Cookie is among the last of a browser's headers. */
    for (i = a->nelts - 1; i >= 0; i--) {
        if (e[i].val == old) {
            e[i].val = (char *)val;
            return 1;
        }
    }
    return 0;
}

/* Gives the request the Cookie header stripped of ours (the engine's
 * oauth2_cookie_strip) in place of header. */
static void put_stripped(request_rec *r, const char *header, const char *out)
{
    if (*out == '\0') {
        apr_table_unset(r->headers_in, "Cookie");
    }
    else if (!replace_value(r->headers_in, header, out)) {
        apr_table_setn(r->headers_in, "Cookie", out);
    }
}

void auth_oauth2_strip_session_cookies(request_rec *r,
                                       const auth_oauth2_srv_conf *srv,
                                       auth_oauth2_req_t *req)
{
    const char *out;

    if (req->cookie_header == NULL || srv->cookie_sessions) {
        return;
    }
    out =
        oauth2_cookie_strip(r->pool, req->cookie_header, srv->cfg->cookie_name,
                            req->found, req->nfound, AUTH_OAUTH2_MAX_FOUND);
    if (out != NULL) {
        put_stripped(r, req->cookie_header, out);
    }
    req->cookies_stripped = 1;
}

void auth_oauth2_strip_cookies(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    const auth_oauth2_req_t *req =
        ap_get_module_config(r->request_config, &auth_oauth2_module);
    const char *header, *out;

    /* Authentication took them out already (the subrequests and internal
     * redirects that share its state share or copy its headers). */
    if (req != NULL && req->cookies_stripped) {
        return;
    }
    header = apr_table_get(r->headers_in, "Cookie");
    if (header == NULL || srv->cfg->cookie_name == NULL) {
        return;
    }
    out =
        oauth2_cookie_strip(r->pool, header, srv->cfg->cookie_name, NULL, 0, 0);
    if (out != NULL) {
        put_stripped(r, header, out);
    }
}

/* Overwrites the value of param in s (a copy of the request line). */
static void redact_param(char *s, const char *param)
{
    apr_size_t n = strlen(param);
    char *p = s;

    while ((p = strstr(p, param)) != NULL) {
        if (p > s && (p[-1] == '?' || p[-1] == '&') && p[n] == '=') {
            char *v = p + n + 1;

            while (*v && *v != '&' && *v != ' ' && *v != '#') {
                *v++ = 'x';
            }
        }
        p += n;
    }
}

void auth_oauth2_redact_request_line(request_rec *r)
{
    char *line;

    if (r->the_request == NULL) {
        return;
    }
    line = apr_pstrdup(r->pool, r->the_request);
    redact_param(line, "code");
    redact_param(line, "state");
    r->the_request = line;
}

/* The page a logged-in user gets when a Require rule refuses them. */
static const auth_oauth2_page_t *forbidden_page(request_rec *r)
{
    const auth_oauth2_srv_conf *srv = auth_oauth2_srv(r->server);
    auth_oauth2_page_t *pg = make_page(
        r, HTTP_FORBIDDEN, "Access denied",
        apr_psprintf(r->pool,
                     "You are logged in as %s, but this account is not "
                     "allowed to open this page.",
                     r->user ? r->user : ""),
        srv->cfg->prefix
            ? apr_pstrcat(r->pool, srv->cfg->prefix, "/logout?rd=/", NULL)
            : NULL);

    pg->link_text = "Log out to use another account";
    return pg;
}

void auth_oauth2_refused(request_rec *r, auth_oauth2_req_t *req)
{
    const char *doc403 =
        ap_response_code_string(r, ap_index_of_response(HTTP_FORBIDDEN));

    req->forbidden = 1;
    req->page = forbidden_page(r);
    /* mod_authz_core answers 401 and Apache would show ErrorDocument 401:
     * the refused user gets the site's 403 document instead (a local one
     * is redirected to with 403, see auth_oauth2_refused_redirect), or,
     * without one, the module's page (the filter). */
    if (doc403 != NULL) {
        ap_custom_response(r, HTTP_UNAUTHORIZED, doc403);
    }
    else if (auth_oauth2_has_error_document(r, HTTP_UNAUTHORIZED)) {
        ap_custom_response(r, HTTP_UNAUTHORIZED, "Access denied");
    }
}

void auth_oauth2_api_failed(request_rec *r, auth_oauth2_req_t *req)
{
    req->api_failed = 1;
    req->page = make_page(r, HTTP_BAD_GATEWAY, "Access not checked",
                          "The login provider's API did not answer whether "
                          "this account may open this page. Please try "
                          "again in a few moments.",
                          r->unparsed_uri);
}

void auth_oauth2_refused_redirect(request_rec *r)
{
    const auth_oauth2_req_t *prev =
        ap_get_module_config(r->prev->request_config, &auth_oauth2_module);

    if (prev != NULL && prev->forbidden && r->status == HTTP_UNAUTHORIZED) {
        r->status = HTTP_FORBIDDEN;
        apr_table_setn(r->subprocess_env, "REDIRECT_STATUS", "403");
    }
}

apr_status_t auth_oauth2_page_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const auth_oauth2_req_t *req =
        ap_get_module_config(r->request_config, &auth_oauth2_module);
    apr_bucket *e;
    const char *page;
    int eos = 0, keep;

    if (req == NULL || req->page == NULL) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    if (req->forbidden || req->api_failed) {
        /* mod_authz_core's 401 for a refused user, its 500 for a rule a
         * provider API could not check (AUTHZ_GENERAL_ERROR). */
        r->status = req->page->status;
        r->status_line = NULL;
        apr_table_unset(r->headers_out, "WWW-Authenticate");
        apr_table_unset(r->err_headers_out, "WWW-Authenticate");
    }
    /* The site's own ErrorDocument text for this status stays. */
    keep = auth_oauth2_has_error_document(r, req->forbidden ? HTTP_FORBIDDEN
                                                            : r->status);
    if (keep) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        eos |= APR_BUCKET_IS_EOS(e);
    }
    /* Apache's error body is dropped; ours replaces it at the end. */
    apr_brigade_cleanup(bb);
    if (!eos) {
        return APR_SUCCESS;
    }
    apr_table_unset(r->headers_out, "Content-Length");
    page_headers(r);
    page = page_html(r->pool, req->page);
    APR_BRIGADE_INSERT_TAIL(
        bb, apr_bucket_immortal_create(page, strlen(page), f->c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}
