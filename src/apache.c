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

#include "apache.h"
#include "base64url.h"
#include "bearer.h"
#include "bounds.h"
#include "cookie.h"
#include "errors.h"
#include "login.h"
#include "redirect.h"
#include "state.h"

/* Request headers that carry identity to the backend: a client's copies
 * are removed on every request (SPEC: "What the backend receives"). */
static const char *const identity_headers[] = {
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-groups",
    "x-forwarded-access-token",
};
#define CLAIM_HEADER_PREFIX "oauth2-claim-"

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

/* Does name equal want (lower-case, '-' separated), ignoring case and
 * accepting '_' for '-'? want_len bytes of want are compared; prefix
 * allows name to be longer. */
static int name_matches(const char *name, const char *want, apr_size_t n,
                        int prefix)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        char c = apr_tolower(name[i]);

        if (name[i] == '\0'
            || (c != want[i] && !(c == '_' && want[i] == '-'))) {
            return 0;
        }
    }
    return prefix || name[n] == '\0';
}

static int is_identity_header(const char *name)
{
    apr_size_t i;

    /* Every request runs this for every header: the first characters
     * rule out nearly all of them ("x-f", "x_f", "oa"). */
    if (name[0] == 'o' || name[0] == 'O') {
        return (name[1] == 'a' || name[1] == 'A')
               && name_matches(name, CLAIM_HEADER_PREFIX,
                               sizeof(CLAIM_HEADER_PREFIX) - 1, 1);
    }
    if ((name[0] != 'x' && name[0] != 'X') || (name[1] != '-' && name[1] != '_')
        || (name[2] != 'f' && name[2] != 'F')) {
        return 0;
    }
    for (i = 0; i < sizeof(identity_headers) / sizeof(identity_headers[0]);
         i++) {
        if (name_matches(name, identity_headers[i], strlen(identity_headers[i]),
                         0)) {
            return 1;
        }
    }
    return 0;
}

/* Could a Connection header name one of ours: does any of its tokens
 * start with 'x' or 'o'? ("keep-alive", "close", "Upgrade" do not.) */
static int connection_suspect(const char *conn)
{
    const char *s;
    int start = 1;

    /* "keep-alive" is out at once. */
    if (strpbrk(conn, "xXoO") == NULL) {
        return 0;
    }
    for (s = conn; *s; s++) {
        if (start && (*s == 'x' || *s == 'X' || *s == 'o' || *s == 'O')) {
            return 1;
        }
        start = *s == ',' || *s == ' ' || *s == '\t';
    }
    return 0;
}

/* Drops identity header names from Connection, so a client cannot have
 * mod_proxy remove the module's own headers as hop-by-hop ones. */
static void strip_connection(request_rec *r, const char *conn)
{
    char *copy = apr_pstrdup(r->pool, conn), *tok, *last = NULL;
    const char *kept = NULL;
    int dropped = 0;

    for (tok = apr_strtok(copy, ", \t", &last); tok != NULL;
         tok = apr_strtok(NULL, ", \t", &last)) {
        if (is_identity_header(tok)) {
            dropped = 1;
            continue;
        }
        kept = kept ? apr_pstrcat(r->pool, kept, ", ", tok, NULL) : tok;
    }
    if (!dropped) {
        return;
    }
    if (kept != NULL) {
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
        if (is_identity_header(k)) {
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
    if (conn != NULL && connection_suspect(conn)) {
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
    /* The audience is part of the key: a token good for one place's
     * audience is not cached as good for another's. */
    id = apr_pstrcat(r->pool, "bearer:", dir->bearer_audience, "\n", token,
                     NULL);
    rv = auth_oauth2_session_key(r, srv, id, strlen(id), req->key);
    if (rv == APR_SUCCESS) {
        rv = auth_oauth2_record_read(r, srv, now, req);
    }
    if (rv == APR_SUCCESS) {
        req->authenticated = 1;
        req->bearer = 1;
        return OK;
    }
    rv = oauth2_bearer_verify(r->pool, srv->prov, token, dir->bearer_audience,
                              now, apr_time_from_sec(srv->cfg->clock_skew),
                              &claims, &err);
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
    return auth_oauth2_login_start(r, srv, r->unparsed_uri);
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

int auth_oauth2_login_start(request_rec *r, const auth_oauth2_srv_conf *srv,
                            const char *return_to)
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
        return HTTP_BAD_GATEWAY;
    }
    rv = oauth2_state_create(r->pool, target, now, &st);
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

int auth_oauth2_page(request_rec *r, int status, const char *title,
                     const char *message, const char *link)
{
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'");
    ap_rprintf(r,
               "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
               "<title>%s</title><style>body{font-family:sans-serif;"
               "max-width:40em;margin:4em auto;padding:0 1em}</style></head>"
               "<body><h1>%s</h1><p>%s</p>",
               ap_escape_html2(r->pool, title, 1),
               ap_escape_html2(r->pool, title, 1),
               ap_escape_html2(r->pool, message, 1));
    if (link != NULL) {
        ap_rprintf(r, "<p><a href=\"%s\">Try again</a></p>",
                   ap_escape_html2(r->pool, link, 1));
    }
    ap_rputs("</body></html>\n", r);
    return OK;
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

/* Is this cookie one of the module's own? */
static int own_cookie(const auth_oauth2_srv_conf *srv, const oauth2_cookie_t *c)
{
    const char *name = srv->cfg->cookie_name;
    apr_size_t n = strlen(name);
    const apr_size_t plen = sizeof(OAUTH2_STATE_COOKIE_PREFIX) - 1;

    return (c->name_len == n && memcmp(c->name, name, n) == 0)
           || (c->name_len > plen
               && memcmp(c->name, OAUTH2_STATE_COOKIE_PREFIX, plen) == 0);
}

/* Does s (at a crumb start) name one of our cookies: the session cookie,
 * a chunk of it (name_N) or a login state, followed by '='? */
static int own_crumb(const auth_oauth2_srv_conf *srv, const char *s)
{
    const char *name = srv->cfg->cookie_name;
    apr_size_t n = strlen(name);
    const apr_size_t plen = sizeof(OAUTH2_STATE_COOKIE_PREFIX) - 1;

    if (strncmp(s, OAUTH2_STATE_COOKIE_PREFIX, plen) == 0) {
        return 1;
    }
    if (strncmp(s, name, n) != 0) {
        return 0;
    }
    s += n;
    if (*s == '_') {
        for (s++; *s >= '0' && *s <= '9'; s++) {
        }
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return *s == '=';
}

/* Several Cookie lines reach the module merged with ", " (apr tables):
 * our cookies after a comma are cut out too, up to the next ',' or ';'. */
static void strip_comma_crumbs(const auth_oauth2_srv_conf *srv, char *s)
{
    char *p = s, *start, *end;

    while ((p = strchr(p, ',')) != NULL) {
        start = p + 1;
        while (*start == ' ' || *start == '\t') {
            start++;
        }
        if (!own_crumb(srv, start)) {
            p++;
            continue;
        }
        end = start + strcspn(start, ",;");
        memmove(p, end, strlen(end) + 1);
    }
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

/* The common case of an authenticated request: the only cookies of ours
 * are one or a few session cookies, found by a search; the header is
 * copied around them. Returns 0 when the slow path must run instead. */
static int strip_fast(request_rec *r, const auth_oauth2_srv_conf *srv,
                      const auth_oauth2_req_t *req, const char *header)
{
    const char *name = srv->cfg->cookie_name, *end, *from;
    apr_size_t n, i, len;
    const oauth2_cookie_t *found;
    oauth2_cookie_t own[4];
    char *out, *o;

    /* Cookie sessions (chunks) and merged Cookie lines take the full
     * parse. Login states are only sent to the callback path (their
     * cookie Path), never here but by a client that made them up: the
     * fast path leaves them, as it leaves a client's made-up chunks in
     * store mode, where they are nobody's credential. */
    if (srv->cookie_sessions || strchr(header, ',')) {
        return 0;
    }
    /* Authentication found our cookies in this very header already. */
    if (req != NULL && req->cookie_header == header) {
        found = req->found;
        n = req->nfound;
    }
    else {
        found = own;
        n = oauth2_cookie_find(header, name, own, 4);
    }
    if (n == 0) {
        return 0;
    }
    /* Only the text after our last cookie is left to measure. */
    from = found[n - 1].value + found[n - 1].value_len;
    len = (apr_size_t)(from - header) + strlen(from);
    o = out = apr_palloc(r->pool, len + 1);
    from = header;
    for (i = 0; i <= n; i++) {
        end = i < n ? found[i].name : header + len;
        /* The text between two of ours, without separators at its ends. */
        while (from < end && (*from == ';' || *from == ' ' || *from == '\t')) {
            from++;
        }
        while (end > from
               && (end[-1] == ';' || end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        if (end > from) {
            if (o != out) {
                memcpy(o, "; ", 2);
                o += 2;
            }
            memcpy(o, from, (apr_size_t)(end - from));
            o += end - from;
        }
        if (i < n) {
            from = found[i].value + found[i].value_len;
            from += *from == '"';
        }
    }
    *o = '\0';
    if (o == out) {
        apr_table_unset(r->headers_in, "Cookie");
    }
    else if (!replace_value(r->headers_in, header, out)) {
        apr_table_setn(r->headers_in, "Cookie", out);
    }
    return 1;
}

void auth_oauth2_strip_session_cookies(request_rec *r,
                                       const auth_oauth2_srv_conf *srv,
                                       auth_oauth2_req_t *req)
{
    req->cookies_stripped = req->cookie_header != NULL
                            && strip_fast(r, srv, req, req->cookie_header);
}

void auth_oauth2_strip_cookies(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    const auth_oauth2_req_t *req =
        ap_get_module_config(r->request_config, &auth_oauth2_module);
    const char *header, *pos, *end;
    char *out, *o;
    oauth2_cookie_t c;
    int dropped = 0;

    /* Authentication took them out already (the subrequests and internal
     * redirects that share its state share or copy its headers). */
    if (req != NULL && req->cookies_stripped) {
        return;
    }
    header = apr_table_get(r->headers_in, "Cookie");
    /* No size bound here: the scan is linear, and a header too long to
     * look at must not carry the session cookie to the backend. */
    if (header == NULL || srv->cfg->cookie_name == NULL
        || strip_fast(r, srv, req, header)
        || (oauth2_cookie_mentions(header, srv->cfg->cookie_name) == 0
            && oauth2_cookie_mentions(header, OAUTH2_STATE_COOKIE_PREFIX)
                   == 0)) {
        return;
    }
    pos = header;
    end = header + strlen(header);
    o = out = apr_palloc(r->pool, (apr_size_t)(end - header) + 1);
    while (oauth2_cookie_next(&pos, end, &c) == APR_SUCCESS) {
        if (own_cookie(srv, &c)) {
            dropped = 1;
            continue;
        }
        if (o != out) {
            memcpy(o, "; ", 2);
            o += 2;
        }
        /* name=value exactly as sent, quotes included. */
        memcpy(o, c.name, c.name_len);
        o += c.name_len;
        *o++ = '=';
        if (c.value > header && c.value[-1] == '"' && c.value < end
            && c.value[c.value_len] == '"') {
            memcpy(o, c.value - 1, c.value_len + 2);
            o += c.value_len + 2;
        }
        else {
            memcpy(o, c.value, c.value_len);
            o += c.value_len;
        }
    }
    *o = '\0';
    if (strchr(out, ',') != NULL) {
        char *before = apr_pstrdup(r->pool, out);

        strip_comma_crumbs(srv, out);
        dropped |= strcmp(before, out) != 0;
        o = out + strlen(out);
    }
    if (!dropped) {
        return;
    }
    if (o == out) {
        apr_table_unset(r->headers_in, "Cookie");
    }
    else {
        apr_table_setn(r->headers_in, "Cookie", out);
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

/* The page a logged-in user gets when a Require rule refuses them, or
 * when the provider's API could not tell (api_failed). */
static const char *forbidden_page(request_rec *r, int api_failed)
{
    const char *user = r->user ? r->user : "";

    if (api_failed) {
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
               "<title>Access not checked</title></head><body><h1>Access "
               "not checked</h1><p>The login provider's API did not answer "
               "whether this account may open this page. Please try again "
               "later.</p></body></html>\n";
    }
    return apr_psprintf(
        r->pool,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<title>Access denied</title><style>body{font-family:sans-serif;"
        "max-width:40em;margin:4em auto;padding:0 1em}</style></head><body>"
        "<h1>Access denied</h1><p>You are logged in as <b>%s</b>, but this "
        "account is not allowed to open this page.</p></body></html>\n",
        ap_escape_html2(r->pool, user, 1));
}

apr_status_t auth_oauth2_forbidden_filter(ap_filter_t *f,
                                          apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const auth_oauth2_req_t *req =
        ap_get_module_config(r->request_config, &auth_oauth2_module);
    int api_failed = req != NULL && req->api_failed;
    apr_bucket *e;
    const char *page;
    int eos = 0;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        eos |= APR_BUCKET_IS_EOS(e);
    }
    /* mod_authz_core's 401 page is dropped; ours replaces it at the end. */
    apr_brigade_cleanup(bb);
    if (!eos) {
        return APR_SUCCESS;
    }
    r->status = api_failed ? HTTP_BAD_GATEWAY : HTTP_FORBIDDEN;
    r->status_line = NULL;
    apr_table_unset(r->headers_out, "WWW-Authenticate");
    apr_table_unset(r->err_headers_out, "WWW-Authenticate");
    apr_table_unset(r->headers_out, "Content-Length");
    ap_set_content_type(r, "text/html; charset=utf-8");
    page = forbidden_page(r, api_failed);
    APR_BRIGADE_INSERT_TAIL(
        bb, apr_bucket_immortal_create(page, strlen(page), f->c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}
