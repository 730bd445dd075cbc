/*
 * apache.c: the Apache side's common part (see apache.h): the request
 * view, the response applied to request_rec, the header-table edits, the
 * page filter. What to answer is the engine's business; this file only
 * translates.
 */
#include <string.h>

#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_core.h"

#include "apache.h"
#include "access.h"
#include "conn.h"
#include "cookie.h"

auth_oauth2_srv_conf *auth_oauth2_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &auth_oauth2_module);
}

oauth2_dir_cfg_t *auth_oauth2_dir(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &auth_oauth2_module);
}

auth_oauth2_req_t *auth_oauth2_req_find(const request_rec *r)
{
    return ap_get_module_config(r->request_config, &auth_oauth2_module);
}

auth_oauth2_req_t *auth_oauth2_req(request_rec *r)
{
    auth_oauth2_req_t *req = auth_oauth2_req_find(r);

    if (req == NULL) {
        req = apr_pcalloc(r->pool, sizeof(*req));
        ap_set_module_config(r->request_config, &auth_oauth2_module, req);
    }
    return req;
}

/* ------------------------------------------------------------------ */
/* The request view                                                    */

static void view_complete(oauth2_request_t *v)
{
    request_rec *r = v->ctx;
    apr_port_t port = ap_get_server_port(r);
    char *host = apr_pstrdup(r->pool, r->hostname ? r->hostname : "");

    ap_str_tolower(host);
    v->https = strcmp(ap_http_scheme(r), "https") == 0;
    v->host = host;
    v->host_port = ap_is_default_port(port, r)
                       ? host
                       : apr_psprintf(r->pool, "%s:%u", host, port);
    v->base_url = ap_construct_url(r->pool, "", r);
    v->auth_name = ap_auth_name(r);
    /* Headers are read before the virtual host is known: under name-based
     * virtual hosting the default server of the address sets the limit
     * (the LimitRequestFieldSize documentation). The smaller of both. */
    v->field_limit = (apr_size_t)r->server->limit_req_fieldsize;
    if (r->connection->base_server != NULL
        && (apr_size_t)r->connection->base_server->limit_req_fieldsize
               < v->field_limit) {
        v->field_limit =
            (apr_size_t)r->connection->base_server->limit_req_fieldsize;
    }
}

/* The body, at most max bytes (one more is read to tell a longer one). */
static apr_status_t view_read_body(oauth2_request_t *v, apr_size_t max,
                                   const char **body, apr_size_t *len)
{
    request_rec *r = v->ctx;
    char *buf = apr_palloc(r->pool, max + 2);
    apr_size_t n = 0;
    long got = 0;

    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
        return APR_EGENERAL;
    }
    if (ap_should_client_block(r)) {
        while (n <= max
               && (got = ap_get_client_block(r, buf + n, max + 1 - n)) > 0) {
            n += (apr_size_t)got;
        }
    }
    if (got < 0) {
        return APR_EGENERAL;
    }
    if (n > max) {
        return OAUTH2_ETOOBIG;
    }
    buf[n] = '\0';
    *body = buf;
    *len = n;
    return APR_SUCCESS;
}

/* The engine's log lines, as this module's: LogLevel auth_oauth2:...
 * applies, and the line names the engine's file. */
static void view_log(const oauth2_request_t *v, const char *file, int line,
                     int level, const char *msg)
{
    ap_log_rerror_(file, line, APLOG_MODULE_INDEX, level, 0, v->ctx, "%s", msg);
}

static int view_log_level(const oauth2_request_t *v)
{
    const request_rec *r = v->ctx;

    return ap_get_request_module_loglevel(r, APLOG_MODULE_INDEX);
}

static const oauth2_request_ops_t view_ops = {
    view_complete,
    view_read_body,
    view_log,
    view_log_level,
};

/* The connection's memo, made with its first request. */
static oauth2_conn_t *conn_memo(request_rec *r)
{
    conn_rec *c = r->connection;
    oauth2_conn_t *m =
        ap_get_module_config(c->conn_config, &auth_oauth2_module);

    if (m == NULL && oauth2_conn_create(c->pool, &m) == APR_SUCCESS) {
        ap_set_module_config(c->conn_config, &auth_oauth2_module, m);
    }
    return m;
}

/* Every request that reaches the engine asks for this view (the hot
 * path): plain copies only; view_complete sets the rest when asked. */
void auth_oauth2_view(request_rec *r, oauth2_request_t *v)
{
    v->pool = r->pool;
    v->now = r->request_time;
    v->method = r->method;
    v->uri = r->unparsed_uri;
    v->path = r->uri;
    v->args = r->args;
    v->headers = r->headers_in;
    v->conn = conn_memo(r);
    v->log_level = OAUTH2_LOG_ASK;
    v->ops = &view_ops;
    v->ctx = r;
    v->completed = 0;
}

/* ------------------------------------------------------------------ */
/* The response                                                        */

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

/* Gives the request the Cookie header stripped of ours in place of
 * header. */
static void put_stripped(request_rec *r, const char *header, const char *out)
{
    if (*out == '\0') {
        apr_table_unset(r->headers_in, "Cookie");
    }
    else if (!replace_value(r->headers_in, header, out)) {
        apr_table_setn(r->headers_in, "Cookie", out);
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

static int put_claim_header(void *r, const char *name, const char *value)
{
    put_header(r, name, value);
    return 1;
}

static int put_claim_env(void *r, const char *name, const char *value)
{
    apr_table_setn(((request_rec *)r)->subprocess_env, name, value);
    return 1;
}

/* Every claim as a header and/or variable, as the engine writes them. */
static void pass_claims(request_rec *r, const oauth2_session_t *s, int how)
{
    const oauth2_site_t *site = auth_oauth2_srv(r->server)->site;
    const char *groups = site ? site->cfg->groups_claim : NULL;

    if (how & OAUTH2_PASS_HEADERS) {
        apr_table_do(put_claim_header, r,
                     oauth2_response_claims(r->pool, s, groups, 0), NULL);
    }
    if (how & OAUTH2_PASS_ENV) {
        apr_table_do(put_claim_env, r,
                     oauth2_response_claims(r->pool, s, groups, 1), NULL);
    }
}

/* The request goes on as the response's user, with its identity: the
 * user, then the headers that have a value (the access token only where
 * it is passed), the claims, and the Cookie header without ours. */
static void carry_on(request_rec *r, const oauth2_response_t *resp)
{
    const oauth2_session_t *s = resp->identity;
    const oauth2_identity_header_t *h = oauth2_identity_headers;
    int i;

    r->user = (char *)resp->user;
    if (s == NULL) {
        return;
    }
    r->ap_auth_type = AUTH_OAUTH2_TYPE;
    put_header(r, h[0].name, s->f[h[0].field]);
    for (i = 1; i < OAUTH2_IDENTITY_HEADERS; i++) {
        if (s->len[h[i].field] > 0
            && (h[i].field != OAUTH2_SF_ACCESS_TOKEN
                || (resp->pass & OAUTH2_PASS_TOKEN))) {
            put_header(r, h[i].name, s->f[h[i].field]);
        }
    }
    if (resp->pass & (OAUTH2_PASS_HEADERS | OAUTH2_PASS_ENV)) {
        pass_claims(r, s, resp->pass);
    }
    if (resp->cookie_in != NULL) {
        put_stripped(r, resp->cookie_in_was, resp->cookie_in);
    }
}

/* What every page of the module's carries besides its body; frame: the
 * origin that may frame it, or NULL. */
static void page_headers(request_rec *r, const char *frame)
{
    ap_set_content_type(r, OAUTH2_PAGE_CONTENT_TYPE);
    /* An error response's headers_out are the err_headers_out of before
     * (ap_send_error_response): said once. */
    apr_table_unset(r->headers_out, "Cache-Control");
    apr_table_unset(r->headers_out, "Content-Security-Policy");
    apr_table_unset(r->headers_out, "X-Content-Type-Options");
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                   frame ? apr_pstrcat(r->pool, OAUTH2_PAGE_CSP, frame, NULL)
                         : OAUTH2_PAGE_CSP OAUTH2_PAGE_FRAME_NONE);
}

/* The headers of any response. */
static void put_headers(request_rec *r, const oauth2_response_t *resp)
{
    int i;

    for (i = 0; resp->cookies != NULL && i < resp->cookies->nelts; i++) {
        apr_table_addn(r->err_headers_out, "Set-Cookie",
                       APR_ARRAY_IDX(resp->cookies, i, const char *));
    }
    if (resp->kind == OAUTH2_RESPONSE_CONTINUE) {
        return;
    }
    if (resp->user != NULL) {
        r->user = (char *)resp->user;
    }
    if (resp->location != NULL) {
        apr_table_setn(r->headers_out, "Location", resp->location);
    }
    if (resp->no_store) {
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    }
    if (resp->www_authenticate != NULL) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       resp->www_authenticate);
    }
    if (resp->allow != NULL) {
        ap_allow_methods(r, 1, resp->allow, NULL);
    }
    if (resp->redact_query && r->the_request != NULL) {
        r->the_request = (char *)oauth2_request_redact(r->pool, r->the_request);
    }
}

/* The page as the site shows it: its OAuth2Page templates, the request's
 * id from mod_unique_id when it is loaded. */
static const char *page_html(request_rec *r, const oauth2_page_t *pg)
{
    const oauth2_site_t *site = auth_oauth2_srv(r->server)->site;

    return oauth2_page_html(r->pool, pg, site ? site->cfg->pages : NULL,
                            apr_table_get(r->subprocess_env, "UNIQUE_ID"));
}

/* A handler's answer with a body of the engine's. */
static int send_body(request_rec *r, const oauth2_response_t *resp)
{
    r->status = resp->status;
    if (resp->page != NULL) {
        page_headers(r, resp->frame_ancestors);
        ap_rputs(page_html(r, resp->page), r);
        return OK;
    }
    if (resp->content_type != NULL) {
        ap_set_content_type(r, resp->content_type);
    }
    if (resp->body_len > 0) {
        ap_rwrite(resp->body, (int)resp->body_len, r);
    }
    return OK;
}

int auth_oauth2_respond(request_rec *r, const oauth2_response_t *resp)
{
    put_headers(r, resp);
    switch (resp->kind) {
    case OAUTH2_RESPONSE_DECLINE:
        return DECLINED;
    case OAUTH2_RESPONSE_CONTINUE:
        carry_on(r, resp);
        return OK;
    case OAUTH2_RESPONSE_STATUS:
        if (resp->page != NULL) {
            auth_oauth2_req(r)->page = resp->page;
        }
        return resp->status;
    case OAUTH2_RESPONSE_BODY:
        return send_body(r, resp);
    }
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* ------------------------------------------------------------------ */
/* Header-table edits                                                  */

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

void auth_oauth2_strip_cookies(request_rec *r, const apr_array_header_t *names)
{
    const auth_oauth2_req_t *req = auth_oauth2_req_find(r);
    const oauth2_site_t *site = auth_oauth2_srv(r->server)->site;
    const char *header, *in, *out, *name;
    int i, own_done = req != NULL && req->cookies_stripped;

    /* Authentication took this host's own out already (the subrequests
     * and internal redirects that share its state share or copy its
     * headers); with one name on the whole server that was all. */
    if (names->nelts == 0 || (own_done && names->nelts == 1)) {
        return;
    }
    header = apr_table_get(r->headers_in, "Cookie");
    for (in = header, i = 0; in != NULL && i < names->nelts; i++) {
        name = APR_ARRAY_IDX(names, i, const char *);
        if (own_done && site != NULL
            && strcmp(name, site->cfg->cookie_name) == 0) {
            continue;
        }
        out = oauth2_cookie_strip(r->pool, in, name, NULL, 0, 0);
        in = out != NULL ? out : in;
    }
    if (in != header) {
        put_stripped(r, header, in);
    }
}

/* ------------------------------------------------------------------ */
/* Refused users and the page filter                                   */

/* Whether the site has an ErrorDocument for status (any kind). */
static int has_error_document(request_rec *r, int status)
{
    return ap_response_code_string(r, ap_index_of_response(status)) != NULL;
}

void auth_oauth2_refused(request_rec *r, auth_oauth2_req_t *req)
{
    const char *doc403 =
        ap_response_code_string(r, ap_index_of_response(HTTP_FORBIDDEN));

    req->forbidden = 1;
    req->page = oauth2_access_forbidden_page(auth_oauth2_srv(r->server)->site,
                                             r->pool, r->user);
    /* mod_authz_core answers 401 and Apache would show ErrorDocument 401:
     * the refused user gets the site's 403 document instead (a local one
     * is redirected to with 403, see auth_oauth2_refused_redirect), or,
     * without one, the module's page (the filter). */
    if (doc403 != NULL) {
        ap_custom_response(r, HTTP_UNAUTHORIZED, doc403);
    }
    else if (has_error_document(r, HTTP_UNAUTHORIZED)) {
        ap_custom_response(r, HTTP_UNAUTHORIZED, "Access denied");
    }
}

void auth_oauth2_api_failed(request_rec *r, auth_oauth2_req_t *req)
{
    req->api_failed = 1;
    req->page = oauth2_response_page(r->pool, OAUTH2_ANS_API_FAILED, NULL,
                                     r->unparsed_uri);
}

void auth_oauth2_refused_redirect(request_rec *r)
{
    const auth_oauth2_req_t *prev = auth_oauth2_req_find(r->prev);

    if (prev != NULL && prev->forbidden && r->status == HTTP_UNAUTHORIZED) {
        r->status = HTTP_FORBIDDEN;
        apr_table_setn(r->subprocess_env, "REDIRECT_STATUS", "403");
    }
}

apr_status_t auth_oauth2_page_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const auth_oauth2_req_t *req = auth_oauth2_req_find(r);
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
    keep = has_error_document(r, req->forbidden ? HTTP_FORBIDDEN : r->status);
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
    page_headers(r, NULL);
    page = page_html(r, req->page);
    APR_BRIGADE_INSERT_TAIL(
        bb, apr_bucket_immortal_create(page, strlen(page), f->c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}
