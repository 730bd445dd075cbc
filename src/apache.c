/*
 * apache.c: the Apache side's common part (see apache.h): the virtual
 * hosts and the request view for the engine, the response applied to
 * request_rec (its header tables through the engine's headers.c), the
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
#include "headers.h"

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

apr_array_header_t *auth_oauth2_hosts(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *hosts = apr_array_make(p, 4, sizeof(oauth2_host_t));

    for (; s != NULL; s = s->next) {
        oauth2_host_t *h = apr_array_push(hosts);

        h->cfg = auth_oauth2_srv(s)->cfg;
        h->name = s->server_hostname;
        h->port = s->port;
        h->names = s->names;
        h->wildcards = s->wild_names;
        h->server = s;
        h->site = auth_oauth2_srv(s)->site;
    }
    return hosts;
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
    v->field_limit = oauth2_request_field_limit(
        (apr_size_t)r->server->limit_req_fieldsize,
        r->connection->base_server
            ? (apr_size_t)r->connection->base_server->limit_req_fieldsize
            : 0);
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

/* The connection's memo, made with its first request (not nested: conn.h). */
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
    v->conn = r->main == NULL && r->prev == NULL ? conn_memo(r) : NULL;
    v->log_level = OAUTH2_LOG_ASK;
    v->ops = &view_ops;
    v->ctx = r;
    v->completed = 0;
}

/* ------------------------------------------------------------------ */
/* The response                                                        */

/* What every page of the module's carries besides its body; frame: the
 * origin that may frame it, or NULL. */
static void page_headers(request_rec *r, const char *frame)
{
    ap_set_content_type(r, OAUTH2_PAGE_CONTENT_TYPE);
    oauth2_headers_page(r->pool, r->headers_out, r->err_headers_out, frame);
}

/* The request goes on as the response's user, with its identity for the
 * backend. */
static int carry_on(request_rec *r, const oauth2_response_t *resp)
{
    r->user = (char *)resp->user;
    if (resp->identity != NULL) {
        r->ap_auth_type = AUTH_OAUTH2_TYPE;
    }
    oauth2_headers_identity(r->pool, r->headers_in, r->subprocess_env,
                            r->err_headers_out, resp, r->prev != NULL);
    return OK;
}

/* What a response that ends the request sets. */
static void put_answer(request_rec *r, const oauth2_response_t *resp)
{
    oauth2_headers_response(resp, r->headers_out, r->err_headers_out);
    if (resp->user != NULL) {
        r->user = (char *)resp->user;
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

/* An answer with a body of the engine's (a handler's, or a protected
 * place's sign-in page): DONE, nothing else runs for the request. */
static int send_body(request_rec *r, const oauth2_response_t *resp)
{
    r->status = resp->status;
    if (resp->page != NULL) {
        page_headers(r, resp->frame_ancestors);
        ap_rputs(page_html(r, resp->page), r);
        return DONE;
    }
    if (resp->content_type != NULL) {
        ap_set_content_type(r, resp->content_type);
    }
    if (resp->body_len > 0) {
        ap_rwrite(resp->body, (int)resp->body_len, r);
    }
    return DONE;
}

int auth_oauth2_respond(request_rec *r, const oauth2_response_t *resp)
{
    if (resp->kind == OAUTH2_RESPONSE_CONTINUE) {
        return carry_on(r, resp);
    }
    put_answer(r, resp);
    switch (resp->kind) {
    case OAUTH2_RESPONSE_DECLINE:
        return DECLINED;
    case OAUTH2_RESPONSE_CONTINUE:
        return OK; /* carried on above */
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
