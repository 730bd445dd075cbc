/*
 * mod_auth_oauth2.c: OAuth 2.0 / OpenID Connect login for Apache httpd 2.4.
 *
 * The Apache glue only: the module record, Apache's command table built
 * from the engine's directive table (src/directives.c: each directive is
 * one call into it), the configuration records, startup (the engine's
 * src/server.c checks the configuration and builds the sites; this file
 * hands it Apache's tree and virtual hosts and logs what it says), and
 * the hooks, each a few lines: build the request view, call the engine,
 * apply its response (src/apache.c). The engine lives in src/ (see the
 * README's "How it is built"); it decides every answer.
 */
#include "apr_lib.h"
#include "apr_strings.h"
#include "ap_config.h"
#include "ap_mpm.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "util_cfgtree.h"
#include "util_mutex.h"

#define AUTH_OAUTH2_GLUE
#include "src/apache.h"
#include "src/apache_authz.h"
#include "src/apache_shm.h"
#include "src/apache_socache.h"
#include "src/access.h"
#include "src/crypto.h"
#include "src/directives.h"
#include "src/endpoints.h"
#include "src/errors.h"
#include "src/google.h"
#include "src/headers.h"
#include "src/server.h"
#include "src/store_shm.h"

/* ------------------------------------------------------------------ */
/* Configuration records                                               */

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    auth_oauth2_srv_conf *c = apr_pcalloc(p, sizeof(*c));

    c->cfg = oauth2_cfg_create(p);
    c->cfg->regex = &auth_oauth2_regex;
    return c;
}

static void *merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    auth_oauth2_srv_conf *base = basev, *add = addv;
    auth_oauth2_srv_conf *c = apr_pcalloc(p, sizeof(*c));

    c->cfg = oauth2_cfg_merge(p, base->cfg, add->cfg);
    return c;
}

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    return oauth2_dir_cfg_create(p);
}

static void *merge_dir_conf(apr_pool_t *p, void *base, void *add)
{
    return oauth2_dir_cfg_merge(p, base, add);
}

/* ------------------------------------------------------------------ */
/* Directives: Apache's command table, built from the engine's one.    */

/* Every directive comes here: the engine checks and stores it into the
 * virtual host's configuration or the directory's (dcfg). */
static const char *directive(cmd_parms *cmd, void *dcfg, const char *a1,
                             const char *a2)
{
    return oauth2_directive_set(
        cmd->pool, cmd->info, auth_oauth2_srv(cmd->server)->cfg, dcfg, a1, a2,
        ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_RUN_MPM);
}

static const char *directive_flag(cmd_parms *cmd, void *dcfg, int on)
{
    return directive(cmd, dcfg, on ? "On" : "Off", NULL);
}

/* <OAuth2Provider NAME>: what it encloses fills the section's own
 * configuration; walked with the section vector, as <IfModule> does. */
static const char *section(cmd_parms *cmd, void *dcfg, const char *raw)
{
    auth_oauth2_srv_conf *c = auth_oauth2_srv(cmd->server);
    oauth2_cfg_t *outer = c->cfg;
    const char *err = oauth2_cfg_section(cmd->pool, outer, raw, &c->cfg);

    if (err == NULL) {
        err = ap_walk_config(cmd->directive->first_child, cmd, cmd->context);
    }
    c->cfg = outer;
    return err;
}

/* One argument (TAKE1, ITERATE), or a section's line (RAW_ARGS). */
static const char *directive1(cmd_parms *cmd, void *dcfg, const char *a1)
{
    const oauth2_directive_t *d = cmd->info;

    return d->args == OAUTH2_ARGS_SECTION ? section(cmd, dcfg, a1)
                                          : directive(cmd, dcfg, a1, NULL);
}

/* Filled from oauth2_directives when the module is loaded (mod_so reads
 * the command table before any hook of ours could run). */
static command_rec auth_oauth2_cmds[64];

static void __attribute__((constructor)) build_commands(void)
{
    static const enum cmd_how hows[] = {
        [OAUTH2_ARGS_TAKE1] = TAKE1,   [OAUTH2_ARGS_TAKE2] = TAKE2,
        [OAUTH2_ARGS_TAKE12] = TAKE12, [OAUTH2_ARGS_ITERATE] = ITERATE,
        [OAUTH2_ARGS_FLAG] = FLAG,     [OAUTH2_ARGS_SECTION] = RAW_ARGS,
    };
    apr_size_t i, n = oauth2_directive_count();

    for (i = 0;
         i < n
         && i + 1 < sizeof(auth_oauth2_cmds) / sizeof(auth_oauth2_cmds[0]);
         i++) {
        const oauth2_directive_t *d = &oauth2_directives[i];
        command_rec *c = &auth_oauth2_cmds[i];

        c->name = d->name;
        c->cmd_data = (void *)d; /* read back as const */
        c->req_override =
            d->scope == OAUTH2_DIRECTIVE_SERVER ? RSRC_CONF : OR_AUTHCFG;
        c->errmsg = d->help;
        c->args_how = hows[d->args];
        if (c->args_how == FLAG) {
            c->func.flag = directive_flag;
        }
        else if (c->args_how == TAKE2 || c->args_how == TAKE12) {
            c->func.take2 = directive;
        }
        else {
            c->func.take1 = directive1; /* TAKE1, ITERATE, RAW_ARGS */
        }
    }
}

/* ------------------------------------------------------------------ */
/* Startup                                                             */

/* The Mutex directive's names of the module's global mutexes. */
static const char *const mutex_types[] = {
    AUTH_OAUTH2_SHM_MUTEX,
    AUTH_OAUTH2_PROVIDER_MUTEX,
    AUTH_OAUTH2_SOCACHE_MUTEX,
};

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    apr_size_t i;

    for (i = 0; i < sizeof(mutex_types) / sizeof(mutex_types[0]); i++) {
        if (ap_mutex_register(pconf, mutex_types[i], NULL, APR_LOCK_DEFAULT, 0)
            != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

/* Apache's configuration tree from d, flattened for the engine in its
 * order (a section before what it encloses). */
static void flatten(apr_pool_t *p, const ap_directive_t *d, int parent,
                    apr_array_header_t *lines)
{
    for (; d != NULL; d = d->next) {
        oauth2_conf_line_t *l = apr_array_push(lines);
        const char *args = d->args ? d->args : "";

        l->name = d->directive;
        l->args = args;
        l->arg = ap_getword_conf(p, &args);
        l->file = d->filename;
        l->line = d->line_num;
        l->parent = parent;
        flatten(p, d->first_child, lines->nelts - 1, lines);
    }
}

static const char *socache_usable(void *ctx, apr_pool_t *p, const char *spec)
{
    return auth_oauth2_socache_open(p, p, spec, NULL, NULL);
}

/* Finalizes and checks every virtual host's configuration with the tree
 * (oauth2_server_check says what is refused); runs for `apache2 -t` too,
 * which never runs post_config, so a missing OAuth2Secret stops the
 * configuration test. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    apr_array_header_t *lines =
        apr_array_make(ptemp, 64, sizeof(oauth2_conf_line_t));
    const apr_array_header_t *hosts = auth_oauth2_hosts(ptemp, s), *found;
    int i;

    flatten(ptemp, ap_conftree, -1, lines);
    found =
        oauth2_server_check(ptemp, pconf, hosts, lines, socache_usable, NULL);
    for (i = 0; i < found->nelts; i++) {
        const oauth2_finding_t *f = &APR_ARRAY_IDX(found, i, oauth2_finding_t);

        ap_log_error(APLOG_MARK,
                     APLOG_STARTUP | (f->refused ? APLOG_EMERG : APLOG_WARNING),
                     0, APR_ARRAY_IDX(hosts, f->host, oauth2_host_t).server,
                     "%s: %s", f->tag, f->message);
        if (f->refused) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

/* A virtual host's socache store (oauth2_server_sites builds the rest of
 * its site); ctx is post_config's ptemp. */
static const char *socache_store(void *ctx, apr_pool_t *pconf,
                                 const oauth2_host_t *h,
                                 const oauth2_seal_t *seal,
                                 oauth2_store_t **store)
{
    return auth_oauth2_socache_create(pconf, ctx, h->server, h->cfg->store_spec,
                                      seal, store);
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    apr_array_header_t *hosts = auth_oauth2_hosts(ptemp, s);
    apr_uint32_t cap = oauth2_server_shm_capacity(hosts);
    oauth2_shm_t *table = NULL;
    oauth2_store_t *shm = NULL;
    const char *err;
    int i, bad = 0;

    /* httpd reads its configuration twice at startup; the first pass is
     * thrown away, so build nothing that lasts in it. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (oauth2_crypto_init_with(pconf) != APR_SUCCESS
        || oauth2_http_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "OA2005: cannot initialize OpenSSL or libcurl");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    auth_oauth2_metrics_setup(s, AUTH_OAUTH2_VERSION);
    if (cap > 0) {
        if (auth_oauth2_shm_setup(pconf, s, cap, &table) != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        shm = oauth2_store_shm(pconf, table);
    }
    err = oauth2_server_sites(pconf, hosts,
                              "mod_auth_oauth2/" AUTH_OAUTH2_VERSION, shm,
                              socache_store, ptemp, &bad);
    if (err != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0,
                     APR_ARRAY_IDX(hosts, bad, oauth2_host_t).server,
                     "OA2006: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (i = 0; i < hosts->nelts; i++) {
        const oauth2_host_t *h = &APR_ARRAY_IDX(hosts, i, oauth2_host_t);

        auth_oauth2_srv(h->server)->site = h->site;
    }
    oauth2_server_cookie_names(pconf, hosts);
    if (auth_oauth2_provider_view_setup(pconf, ptemp, s,
                                        oauth2_server_providers(ptemp, hosts))
        != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

/* The engine's removal lines, as debug lines of the request. */
static void strip_log(void *ctx, const char *msg)
{
    request_rec *r = ctx;

    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "%s", msg);
}

/* Every request: the client's identity headers go before anyone reads
 * them. */
static int post_read_request(request_rec *r)
{
    oauth2_headers_strip_identity(r->pool, r->headers_in, strip_log, r);
    if (r->prev != NULL) {
        auth_oauth2_refused_redirect(r);
    }
    return DECLINED;
}

/* An endpoint's answer (out of quick_handler, whose every-request way
 * stays short). */
static int __attribute__((noinline))
endpoint(request_rec *r, const oauth2_site_t *site, int which)
{
    oauth2_request_t v;
    oauth2_response_t resp;

    auth_oauth2_view(r, &v);
    memset(&resp, 0, sizeof(resp));
    oauth2_endpoints_handle(site, which, &v, &resp);
    return auth_oauth2_respond(r, &resp);
}

/* The module's endpoints, before any access control. */
static int quick_handler(request_rec *r, int lookup)
{
    const oauth2_site_t *site;
    int which;

    if (lookup || r->main != NULL) {
        return DECLINED;
    }
    site = auth_oauth2_srv(r->server)->site;
    which = site ? oauth2_endpoints_match(site, r->uri) : -1;
    return which < 0 ? DECLINED : endpoint(r, site, which);
}

/* SetHandler oauth2-status: the counters. */
static int status_handler(request_rec *r)
{
    oauth2_request_t v;
    oauth2_response_t resp;

    if (r->handler == NULL || strcmp(r->handler, AUTH_OAUTH2_STATUS) != 0) {
        return DECLINED;
    }
    auth_oauth2_view(r, &v);
    memset(&resp, 0, sizeof(resp));
    oauth2_endpoints_status(auth_oauth2_srv(r->server)->site, &v, &resp);
    return auth_oauth2_respond(r, &resp);
}

static int is_ours(request_rec *r)
{
    const char *type = ap_auth_type(r);

    return type != NULL && strcasecmp(type, AUTH_OAUTH2_TYPE) == 0;
}

/* A subrequest inherits the user its main request established, and an
 * internal redirect (ErrorDocument, mod_rewrite's [PT]) the one of the
 * request before it: by then the fixups may have taken the module's
 * cookies out of the headers they share. An internal redirect ran
 * post_read_request again, which took the module's own identity headers
 * for a client's: they are set again. Not a user of a provider, or a
 * token of an audience, the place does not take (oauth2_access_inherits). */
static int inherited(request_rec *r, const oauth2_site_t *site)
{
    request_rec *from = r->main != NULL ? r->main : r->prev;
    auth_oauth2_req_t *parent = from ? auth_oauth2_req_find(from) : NULL;
    oauth2_response_t resp;

    if (from == NULL || from->user == NULL || parent == NULL
        || !oauth2_access_inherits(site, auth_oauth2_dir(r), &parent->authn)) {
        return 0;
    }
    ap_set_module_config(r->request_config, &auth_oauth2_module, parent);
    r->user = from->user;
    r->ap_auth_type = from->ap_auth_type;
    if (r->main == NULL) {
        oauth2_access_identity(site, auth_oauth2_dir(r), &parent->authn, &resp);
        auth_oauth2_respond(r, &resp);
    }
    return 1;
}

static int check_authn(request_rec *r)
{
    const oauth2_site_t *site;
    auth_oauth2_req_t *req;
    oauth2_request_t v;
    oauth2_response_t resp;

    if (!is_ours(r)) {
        return DECLINED;
    }
    site = auth_oauth2_srv(r->server)->site;
    if (site != NULL && inherited(r, site)) {
        return OK;
    }
    req = auth_oauth2_req(r);
    auth_oauth2_view(r, &v);
    memset(&resp, 0, sizeof(resp));
    oauth2_access_check(site, auth_oauth2_dir(r), &v, &req->authn, &resp);
    /* The fixups need not take the module's cookies out again. */
    req->cookies_stripped = resp.cookie_in_was != NULL;
    return auth_oauth2_respond(r, &resp);
}

/* No backend sees the module's cookies, of this virtual host or another.
 * check_authn took this host's own out already on the common way of an
 * authenticated request (the subrequests and internal redirects that
 * share its state share or copy its headers). */
static int fixups(request_rec *r)
{
    const auth_oauth2_req_t *req = auth_oauth2_req_find(r);
    const oauth2_site_t *site = auth_oauth2_srv(r->server)->site;

    if (oauth2_server_owned_cookies() != NULL) {
        oauth2_headers_strip_cookies(
            r->pool, r->headers_in, oauth2_server_owned_cookies(),
            req != NULL && req->cookies_stripped && site != NULL
                ? site->cfg->cookie_name
                : NULL);
    }
    return DECLINED;
}

/* OAuth2UnauthAction pass: authenticate even where Require lets everyone
 * in, so a logged-in user is still known there. */
static int force_authn(request_rec *r)
{
    return is_ours(
               r) && oauth2_dir_unauth(auth_oauth2_dir(r)) == OAUTH2_UNAUTH_PASS
               ? OK
               : DECLINED;
}

/* mod_authz_core asks the AuthType's module to explain a 401. For a
 * logged-in user who failed a Require rule that is a 403 instead (see
 * insert_error_filter), whatever AuthzSendForbiddenOnFailure says. */
static int note_auth_failure(request_rec *r, const char *type)
{
    auth_oauth2_req_t *req;

    if (strcasecmp(type, AUTH_OAUTH2_TYPE) != 0) {
        return DECLINED;
    }
    req = auth_oauth2_req_find(r);
    if (req != NULL && req->authn.authenticated) {
        if (r->main == NULL) {
            oauth2_access_refused(&req->authn); /* subrequests: not a 403 */
        }
        auth_oauth2_refused(r, req);
        return OK;
    }
    if (apr_table_get(r->err_headers_out, "WWW-Authenticate") == NULL) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       "Bearer realm=\"oauth2\"");
    }
    return OK;
}

/* An error response of a request the engine answered with a status and a
 * page of the module's (auth_oauth2_respond keeps it), or of a refused
 * logged-in user. */
static void insert_error_filter(request_rec *r)
{
    const auth_oauth2_req_t *req = auth_oauth2_req_find(r);

    if (req != NULL && req->page != NULL
        && (req->forbidden    ? r->status == HTTP_UNAUTHORIZED
            : req->api_failed ? r->status == HTTP_INTERNAL_SERVER_ERROR
                              : r->status == req->page->status)) {
        ap_add_output_filter(AUTH_OAUTH2_PAGE_FILTER, NULL, r, r->connection);
    }
}

static void register_hooks(apr_pool_t *p)
{
    auth_oauth2_register_authz(p);
    ap_register_output_filter(AUTH_OAUTH2_PAGE_FILTER, auth_oauth2_page_filter,
                              NULL, AP_FTYPE_CONTENT_SET);
    ap_hook_insert_error_filter(insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(auth_oauth2_shm_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_quick_handler(quick_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_check_authn(check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_force_authn(force_authn, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_note_auth_failure(note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_LAST);
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

/* Visible to httpd's loader; everything else is hidden (-fvisibility). */
module AP_MODULE_DECLARE_DATA __attribute__((visibility("default")))
auth_oauth2_module;

AP_DECLARE_MODULE(auth_oauth2) = {
    STANDARD20_MODULE_STUFF, create_dir_conf,
    merge_dir_conf,          create_srv_conf,
    merge_srv_conf,          auth_oauth2_cmds,
    register_hooks,          AP_MODULE_FLAG_ALWAYS_MERGE,
};
