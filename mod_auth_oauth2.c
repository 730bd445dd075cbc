/*
 * mod_auth_oauth2.c: OAuth 2.0 / OpenID Connect login for Apache httpd 2.4.
 *
 * The Apache glue only: the module record, the directive table and its
 * setters, configuration create/merge/check, startup, and the hooks, each
 * a few lines: build the request view, call the engine, apply its
 * response (src/apache.c). The engine lives in src/ (see README); it
 * decides every answer.
 */
#include "apr_lib.h"
#include "apr_strings.h"
#include "ap_config.h"
#include "ap_mpm.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "util_mutex.h"

#define AUTH_OAUTH2_GLUE
#include "src/apache.h"
#include "src/apache_authz.h"
#include "src/apache_check.h"
#include "src/apache_provider.h"
#include "src/apache_socache.h"
#include "src/access.h"
#include "src/crypto.h"
#include "src/endpoints.h"
#include "src/errors.h"
#include "src/google.h"
#include "src/store_shm.h"

#define SHM_MUTEX_TYPE     "auth-oauth2-shm"
#define SHM_USERDATA       "auth_oauth2_shm"
#define SHM_MUTEX_USERDATA "auth_oauth2_shm_mutex"

/* Handles made during single-threaded startup, read-only afterwards. */
static apr_shm_t *shm_segment;
static apr_global_mutex_t *shm_mutex;

/* ------------------------------------------------------------------ */
/* Configuration records                                               */

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    auth_oauth2_srv_conf *c = apr_pcalloc(p, sizeof(*c));

    c->cfg = oauth2_cfg_create(p);
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
/* Directive setters: each validates fully and names itself on error.  */

static oauth2_cfg_t *cmd_cfg(cmd_parms *cmd)
{
    return auth_oauth2_srv(cmd->server)->cfg;
}

static const char *cmd_err(cmd_parms *cmd, const char *err)
{
    return err ? apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL) : NULL;
}

/* The error for an argument that starts with '#', or NULL. Setters whose
 * arity admits a pasted "# comment" call it first, so that the message
 * says why; check_config looks at every OAuth2* directive as well. */
static const char *eol_comment_arg(cmd_parms *cmd, const char *arg)
{
    return arg != NULL && *arg == '#' ? cmd_err(
               cmd, apr_psprintf(cmd->pool, OAUTH2_NO_EOL_COMMENT, arg))
                                      : NULL;
}

static const char *set_cfg_string(cmd_parms *cmd, void *d, const char *arg)
{
    *(const char **)((char *)cmd_cfg(cmd) + (apr_size_t)cmd->info) = arg;
    return NULL;
}

/* A value that may be file:/path or env:NAME (client secret). */
static const char *set_cfg_value(cmd_parms *cmd, void *d, const char *arg)
{
    const char *v = NULL;
    const char *err = oauth2_cfg_resolve_value(cmd->pool, arg, &v);

    if (err == NULL) {
        *(const char **)((char *)cmd_cfg(cmd) + (apr_size_t)cmd->info) = v;
    }
    return cmd_err(cmd, err);
}

/* Seconds: whole numbers in a range given by the directive. */
static const char *set_cfg_seconds(cmd_parms *cmd, void *d, const char *arg)
{
    int *field = (int *)((char *)cmd_cfg(cmd) + (apr_size_t)cmd->info);

    return cmd_err(
        cmd, oauth2_cfg_parse_limited(cmd->pool, cmd->cmd->name, arg, field));
}

static const char *set_cfg_flag(cmd_parms *cmd, void *d, int on)
{
    *(int *)((char *)cmd_cfg(cmd) + (apr_size_t)cmd->info) = on;
    return NULL;
}

static const char *set_provider(cmd_parms *cmd, void *d, const char *a1,
                                const char *a2)
{
    if (eol_comment_arg(cmd, a2) != NULL) {
        return eol_comment_arg(cmd, a2);
    }
    return cmd_err(cmd,
                   oauth2_cfg_set_provider(cmd->pool, cmd_cfg(cmd), a1, a2));
}

static const char *set_endpoint(cmd_parms *cmd, void *d, const char *kind,
                                const char *url)
{
    if (eol_comment_arg(cmd, url) != NULL) {
        return eol_comment_arg(cmd, url);
    }
    return cmd_err(cmd,
                   oauth2_cfg_set_endpoint(cmd->pool, cmd_cfg(cmd), kind, url));
}

static const char *set_client_auth(cmd_parms *cmd, void *d, const char *arg)
{
    if (strcasecmp(arg, "basic") == 0 || strcasecmp(arg, "post") == 0) {
        cmd_cfg(cmd)->client_auth_post = strcasecmp(arg, "post") == 0;
        return NULL;
    }
    return cmd_err(cmd, "must be basic or post");
}

static const char *set_auth_params(cmd_parms *cmd, void *d, const char *arg)
{
    return cmd_err(cmd, oauth2_cfg_parse_auth_params(
                            cmd->pool, arg, &cmd_cfg(cmd)->auth_params));
}

/* OAuth2Secret: each value a secret; the first seals, all open. */
static const char *set_secret(cmd_parms *cmd, void *d, const char *arg)
{
    oauth2_cfg_t *c = cmd_cfg(cmd);
    const char *v = NULL, *err = eol_comment_arg(cmd, arg);

    if (err != NULL) {
        return err;
    }
    err = oauth2_cfg_resolve_value(cmd->pool, arg, &v);
    if (err != NULL) {
        return cmd_err(cmd, err);
    }
    if (strlen(v) < OAUTH2_SEAL_MIN_SECRET) {
        return cmd_err(cmd, apr_psprintf(cmd->pool,
                                         "a secret needs at least %d "
                                         "characters (try `openssl rand "
                                         "-base64 48`)",
                                         OAUTH2_SEAL_MIN_SECRET));
    }
    if (c->secrets == NULL) {
        c->secrets = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->secrets, const char *) = v;
    return NULL;
}

static const char *set_prefix(cmd_parms *cmd, void *d, const char *arg)
{
    apr_size_t n = strlen(arg);

    if (arg[0] != '/' || n < 2 || arg[n - 1] == '/' || strpbrk(arg, "?#%")) {
        return cmd_err(cmd, "must be a path such as /oauth2 (no trailing "
                            "slash, query or escapes)");
    }
    cmd_cfg(cmd)->prefix = arg;
    return NULL;
}

static const char *set_url(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = oauth2_cfg_check_url(cmd->pool, arg, 1);

    if (err == NULL) {
        cmd_cfg(cmd)->redirect_uri = arg;
    }
    return cmd_err(cmd, err);
}

static const char *set_store(cmd_parms *cmd, void *d, const char *arg)
{
    return cmd_err(cmd, oauth2_cfg_set_store(cmd->pool, cmd_cfg(cmd), arg));
}

/* Cookie names: RFC 6265 §4.1.1 token characters. */
static const char *set_cookie_name(cmd_parms *cmd, void *d, const char *arg)
{
    const char *s;

    for (s = arg; *s; s++) {
        if (!apr_isalnum(*s) && !strchr("!#$&'*+-.^_`|~", *s)) {
            return cmd_err(cmd, "a cookie name is letters, digits and "
                                "!#$&'*+-.^_`|~ only");
        }
    }
    cmd_cfg(cmd)->cookie_name = *arg ? arg : NULL;
    return *arg ? NULL : cmd_err(cmd, "must not be empty");
}

static const char *set_cookie_domain(cmd_parms *cmd, void *d, const char *arg)
{
    const char *s;

    for (s = arg; *s; s++) {
        if (!apr_isalnum(*s) && *s != '.' && *s != '-') {
            return cmd_err(cmd, "must be a domain name");
        }
    }
    cmd_cfg(cmd)->cookie_domain = arg;
    return NULL;
}

static const char *set_samesite(cmd_parms *cmd, void *d, const char *arg)
{
    static const char *const v[] = { "Lax", "Strict", "None" };
    int i;

    for (i = 0; i < 3; i++) {
        if (strcasecmp(arg, v[i]) == 0) {
            cmd_cfg(cmd)->cookie_samesite = v[i];
            return NULL;
        }
    }
    return cmd_err(cmd, "must be Lax, Strict or None");
}

/* Claim paths: non-empty, bounded, no spaces. */
static const char *set_claim(cmd_parms *cmd, void *d, const char *arg)
{
    if (*arg == '\0' || strlen(arg) > 256 || strpbrk(arg, " \t")) {
        return cmd_err(cmd, "must be a claim name or dotted path");
    }
    return set_cfg_string(cmd, d, arg);
}

static const char *set_ca_file(cmd_parms *cmd, void *d, const char *arg)
{
    apr_finfo_t fi;

    if (apr_stat(&fi, arg, APR_FINFO_TYPE, cmd->pool) != APR_SUCCESS
        || fi.filetype != APR_REG) {
        return cmd_err(cmd, apr_psprintf(cmd->pool, "%s is not a file", arg));
    }
    cmd_cfg(cmd)->ca_file = arg;
    return NULL;
}

static const char *set_redirect_host(cmd_parms *cmd, void *d, const char *arg)
{
    oauth2_cfg_t *c = cmd_cfg(cmd);
    const char *s;
    char *host;

    if (eol_comment_arg(cmd, arg) != NULL) {
        return eol_comment_arg(cmd, arg);
    }
    for (s = arg; *s; s++) {
        if (!apr_isalnum(*s) && *s != '.' && *s != '-') {
            return cmd_err(cmd, "takes host names (.example.com for "
                                "subdomains)");
        }
    }
    if (c->redirect_hosts == NULL) {
        c->redirect_hosts = apr_array_make(cmd->pool, 2, sizeof(char *));
    }
    host = apr_pstrdup(cmd->pool, arg);
    ap_str_tolower(host);
    APR_ARRAY_PUSH(c->redirect_hosts, char *) = host;
    return NULL;
}

/* OAuth2GoogleServiceAccount file:/path/key.json (or env:NAME): the key
 * is read and checked now, so that `apache2 -t` finds a bad one. */
static const char *set_google_sa(cmd_parms *cmd, void *d, const char *arg)
{
    const oauth2_google_sa_t *sa = NULL;
    const char *v = NULL, *err = NULL;

    if (strncmp(arg, "file:", 5) != 0 && strncmp(arg, "env:", 4) != 0) {
        return cmd_err(cmd, "takes file:/path/key.json (or env:NAME), the "
                            "key Google issued for the service account");
    }
    err = oauth2_cfg_resolve_value(cmd->pool, arg, &v);
    if (err == NULL
        && oauth2_google_sa_parse(cmd->pool, v, strlen(v),
                                  (oauth2_google_sa_t **)&sa, &err)
               != APR_SUCCESS) {
        err = apr_psprintf(cmd->pool, "%s: %s", arg, err);
    }
    if (err == NULL) {
        cmd_cfg(cmd)->google_sa = sa;
    }
    return cmd_err(cmd, err);
}

static const char *set_google_admin(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = oauth2_cfg_check_email(cmd->pool, arg);

    if (err == NULL) {
        cmd_cfg(cmd)->google_admin = arg;
    }
    return cmd_err(cmd, err);
}

static const char *set_unauth(cmd_parms *cmd, void *dv, const char *arg)
{
    static const char *const names[] = { "auto", "login", "401", "403",
                                         "pass" };
    static const oauth2_unauth_e values[] = {
        OAUTH2_UNAUTH_AUTO, OAUTH2_UNAUTH_LOGIN, OAUTH2_UNAUTH_401,
        OAUTH2_UNAUTH_403,  OAUTH2_UNAUTH_PASS,
    };
    oauth2_dir_cfg_t *d = dv;
    int i;

    for (i = 0; i < 5; i++) {
        if (strcasecmp(arg, names[i]) == 0) {
            d->unauth = values[i];
            return NULL;
        }
    }
    return cmd_err(cmd, "must be auto, login, 401, 403 or pass");
}

static const char *set_pass_claims(cmd_parms *cmd, void *dv, const char *arg)
{
    oauth2_dir_cfg_t *d = dv;

    if (strcasecmp(arg, "headers") == 0) {
        d->pass_claims = OAUTH2_PASS_HEADERS;
    }
    else if (strcasecmp(arg, "env") == 0) {
        d->pass_claims = OAUTH2_PASS_ENV;
    }
    else if (strcasecmp(arg, "both") == 0) {
        d->pass_claims = OAUTH2_PASS_HEADERS | OAUTH2_PASS_ENV;
    }
    else if (strcasecmp(arg, "none") == 0) {
        d->pass_claims = 0;
    }
    else {
        return cmd_err(cmd, "must be headers, env, both or none");
    }
    return NULL;
}

static const char *set_dir_flag(cmd_parms *cmd, void *dv, int on)
{
    *(int *)((char *)dv + (apr_size_t)cmd->info) = on;
    return NULL;
}

static const char *set_audience(cmd_parms *cmd, void *dv, const char *arg)
{
    ((oauth2_dir_cfg_t *)dv)->bearer_audience = arg;
    return NULL;
}

#define SRV(name, fn, field, how, help)                                \
    AP_INIT_##how(name, fn, (void *)APR_OFFSETOF(oauth2_cfg_t, field), \
                  RSRC_CONF, help)
#define DIR(name, fn, field, how, help)                                    \
    AP_INIT_##how(name, fn, (void *)APR_OFFSETOF(oauth2_dir_cfg_t, field), \
                  OR_AUTHCFG, help)

static const command_rec auth_oauth2_cmds[] = {
    AP_INIT_TAKE12("OAuth2Provider", set_provider, NULL, RSRC_CONF,
                   "issuer URL, or a preset (google, github, gitlab, "
                   "microsoft, keycloak) and its base URL"),
    AP_INIT_TAKE2("OAuth2Endpoint", set_endpoint, NULL, RSRC_CONF,
                  "KIND URL: override one provider endpoint"),
    SRV("OAuth2ClientID", set_cfg_string, client_id, TAKE1,
        "the client id registered at the provider"),
    SRV("OAuth2ClientSecret", set_cfg_value, client_secret, TAKE1,
        "the client secret (or file:/path, env:NAME)"),
    AP_INIT_TAKE1("OAuth2ClientAuth", set_client_auth, NULL, RSRC_CONF,
                  "token endpoint authentication: basic or post"),
    SRV("OAuth2Scope", set_cfg_string, scope, TAKE1, "requested scopes"),
    AP_INIT_TAKE1("OAuth2AuthParams", set_auth_params, NULL, RSRC_CONF,
                  "extra authorization request parameters \"k=v k=v\""),
    AP_INIT_ITERATE("OAuth2Secret", set_secret, NULL, RSRC_CONF,
                    "keys sealing cookies and state; the first seals, all "
                    "open (file:/path, env:NAME)"),
    AP_INIT_TAKE1("OAuth2Prefix", set_prefix, NULL, RSRC_CONF,
                  "where the module's endpoints live (default /oauth2)"),
    AP_INIT_TAKE1("OAuth2RedirectURI", set_url, NULL, RSRC_CONF,
                  "absolute callback URL when the public URL differs"),
    AP_INIT_TAKE1("OAuth2SessionStore", set_store, NULL, RSRC_CONF,
                  "shm, shm:CAPACITY, cookie, or a socache provider spec"),
    SRV("OAuth2SessionTimeout", set_cfg_seconds, session_timeout, TAKE1,
        "inactivity timeout in seconds (default 3600)"),
    SRV("OAuth2SessionMaxAge", set_cfg_seconds, session_max_age, TAKE1,
        "absolute session lifetime in seconds (default 28800)"),
    AP_INIT_TAKE1("OAuth2Cookie", set_cookie_name, NULL, RSRC_CONF,
                  "session cookie name (default oauth2_session)"),
    AP_INIT_TAKE1("OAuth2CookieDomain", set_cookie_domain, NULL, RSRC_CONF,
                  "session cookie domain (default: this host only)"),
    AP_INIT_TAKE1("OAuth2CookieSameSite", set_samesite, NULL, RSRC_CONF,
                  "Lax (default), Strict or None"),
    SRV("OAuth2CookieSecure", set_cfg_flag, cookie_secure, FLAG,
        "mark cookies Secure (default: when the request is https)"),
    SRV("OAuth2RemoteUserClaim", set_claim, remote_user_claim, TAKE1,
        "claim that becomes REMOTE_USER (default sub)"),
    SRV("OAuth2GroupsClaim", set_claim, groups_claim, TAKE1,
        "claim holding the groups (default groups)"),
    SRV("OAuth2ClockSkew", set_cfg_seconds, clock_skew, TAKE1,
        "allowed clock difference in seconds (default 60)"),
    SRV("OAuth2HTTPTimeout", set_cfg_seconds, http_timeout, TAKE1,
        "timeout of calls to the provider in seconds (default 10)"),
    AP_INIT_TAKE1("OAuth2CAFile", set_ca_file, NULL, RSRC_CONF,
                  "CA bundle for calls to the provider"),
    AP_INIT_ITERATE("OAuth2AllowedRedirectHosts", set_redirect_host, NULL,
                    RSRC_CONF,
                    "hosts besides this one that redirects may go to"),
    AP_INIT_TAKE1("OAuth2GoogleServiceAccount", set_google_sa, NULL, RSRC_CONF,
                  "file:/path/key.json: a Google service account key with "
                  "domain-wide delegation, to read Workspace groups"),
    AP_INIT_TAKE1("OAuth2GoogleAdminEmail", set_google_admin, NULL, RSRC_CONF,
                  "the Workspace administrator the service account acts as"),
    AP_INIT_TAKE1("OAuth2UnauthAction", set_unauth, NULL, OR_AUTHCFG,
                  "auto, login, 401, 403 or pass"),
    DIR("OAuth2AcceptBearer", set_dir_flag, accept_bearer, FLAG,
        "also accept Authorization: Bearer JWT access tokens"),
    AP_INIT_TAKE1("OAuth2BearerAudience", set_audience, NULL, OR_AUTHCFG,
                  "the audience bearer tokens must carry"),
    DIR("OAuth2BearerAllowUntyped", set_dir_flag, bearer_untyped, FLAG,
        "also accept bearer JWTs without typ at+jwt that do not look like "
        "ID tokens (default Off)"),
    DIR("OAuth2PassAccessToken", set_dir_flag, pass_access_token, FLAG,
        "send X-Forwarded-Access-Token to the backend"),
    AP_INIT_TAKE1("OAuth2PassClaims", set_pass_claims, NULL, OR_AUTHCFG,
                  "headers, env, both or none"),
    { NULL },
};

/* ------------------------------------------------------------------ */
/* Startup                                                             */

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    if (ap_mutex_register(pconf, SHM_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0)
            != APR_SUCCESS
        || ap_mutex_register(pconf, AUTH_OAUTH2_PROVIDER_MUTEX, NULL,
                             APR_LOCK_DEFAULT, 0)
               != APR_SUCCESS
        || ap_mutex_register(pconf, AUTH_OAUTH2_SOCACHE_MUTEX, NULL,
                             APR_LOCK_DEFAULT, 0)
               != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* Finalizes every virtual host's configuration; runs for `apache2 -t`
 * too, so a missing OAuth2Secret stops the configuration test. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    server_rec *vs;

    for (vs = s; vs != NULL; vs = vs->next) {
        const char *err = oauth2_cfg_finalize(pconf, auth_oauth2_srv(vs)->cfg);

        if (err != NULL) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, vs,
                         "OA2001: %s (virtual host %s:%u)", err,
                         vs->server_hostname ? vs->server_hostname : "*",
                         vs->port);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return auth_oauth2_check_tree(ptemp, s);
}

/* The writers' mutex lives as long as the segment: during a graceful
 * restart, children of both generations write to the same table. */
static apr_status_t shm_mutex_setup(server_rec *s, int fresh)
{
    void *kept = NULL;
    apr_status_t rv = APR_SUCCESS;

    apr_pool_userdata_get(&kept, SHM_MUTEX_USERDATA, s->process->pool);
    shm_mutex = kept;
    if (shm_mutex == NULL || fresh) {
        rv = ap_global_mutex_create(&shm_mutex, NULL, SHM_MUTEX_TYPE, NULL, s,
                                    s->process->pool, 0);
        if (rv == APR_SUCCESS) {
            apr_pool_userdata_set(shm_mutex, SHM_MUTEX_USERDATA, NULL,
                                  s->process->pool);
        }
    }
    return rv;
}

/* The shared-memory session table: one for the whole server, kept in
 * the process pool so that a graceful or plain restart (which rereads the
 * configuration in the same parent) keeps every session. */
static apr_status_t shm_setup(apr_pool_t *pconf, server_rec *s,
                              apr_uint32_t capacity, oauth2_shm_t **table)
{
    apr_uint64_t size = oauth2_shm_size(capacity);
    unsigned char seed[16];
    const char *err = NULL;
    void *kept = NULL;
    int fresh = 0;
    apr_status_t rv;

    apr_pool_userdata_get(&kept, SHM_USERDATA, s->process->pool);
    shm_segment = kept;
    if (shm_segment != NULL
        && oauth2_shm_capacity(apr_shm_baseaddr_get(shm_segment),
                               apr_shm_size_get(shm_segment))
               != capacity) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "OA2002: session table capacity or layout changed; "
                     "sessions reset");
        apr_shm_destroy(shm_segment);
        shm_segment = NULL;
    }
    if (shm_segment == NULL) {
        fresh = 1;
        rv = apr_shm_create(&shm_segment, (apr_size_t)size, NULL,
                            s->process->pool);
        if (rv == APR_SUCCESS) {
            rv = oauth2_crypto_random(seed, sizeof(seed));
        }
        if (rv == APR_SUCCESS) {
            rv = oauth2_shm_format(apr_shm_baseaddr_get(shm_segment), size,
                                   capacity, seed);
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "OA2003: cannot create %" APR_UINT64_T_FMT
                         " bytes of shared memory for %u sessions",
                         size, capacity);
            return rv;
        }
        apr_pool_userdata_set(shm_segment, SHM_USERDATA, NULL,
                              s->process->pool);
    }
    rv = shm_mutex_setup(s, fresh);
    if (rv == APR_SUCCESS) {
        rv = oauth2_shm_attach(pconf, apr_shm_baseaddr_get(shm_segment),
                               apr_shm_size_get(shm_segment), shm_mutex, table,
                               &err);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "OA2004: cannot attach the session table: %s",
                     err ? err : "mutex");
    }
    return rv;
}

/* Builds a virtual host's site (the engine's) with its store: the shm
 * table, or a socache store the glue makes with the site's store seal. */
static const char *srv_setup(apr_pool_t *pconf, apr_pool_t *ptemp,
                             server_rec *s, auth_oauth2_srv_conf *srv,
                             oauth2_store_t *shm)
{
    oauth2_site_t *site = NULL;
    oauth2_store_t *store = shm;
    const char *err = NULL;

    if (oauth2_site_create(pconf, srv->cfg,
                           "mod_auth_oauth2/" AUTH_OAUTH2_VERSION, &site, &err)
        != APR_SUCCESS) {
        return err;
    }
    if (srv->cfg->store == OAUTH2_STORE_SOCACHE) {
        err =
            auth_oauth2_socache_create(pconf, ptemp, s, srv->cfg->store_spec,
                                       site->seal_store, &srv->socache, &store);
        if (err != NULL) {
            return err;
        }
    }
    if (oauth2_site_set_store(site, pconf, store, &err) != APR_SUCCESS) {
        return err;
    }
    srv->site = site;
    srv->prov = site->prov;
    return NULL;
}

/* The largest shm capacity any virtual host asks for (0: none uses shm). */
static apr_uint32_t shm_capacity(server_rec *s)
{
    apr_uint32_t cap = 0;

    for (; s != NULL; s = s->next) {
        const oauth2_cfg_t *c = auth_oauth2_srv(s)->cfg;

        if (c->provider_set && c->store != OAUTH2_STORE_SOCACHE
            && (apr_uint32_t)c->shm_capacity > cap) {
            cap = (apr_uint32_t)c->shm_capacity;
        }
    }
    return cap;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    apr_uint32_t cap = shm_capacity(s);
    oauth2_shm_t *table = NULL;
    oauth2_store_t *shm = NULL;
    server_rec *vs;

    /* httpd reads its configuration twice at startup; the first pass is
     * thrown away, so build nothing that lasts in it. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (oauth2_crypto_init() != APR_SUCCESS
        || oauth2_http_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "OA2005: cannot initialize OpenSSL or libcurl");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (cap > 0) {
        if (shm_setup(pconf, s, cap, &table) != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        shm = oauth2_store_shm(pconf, table);
    }
    for (vs = s; vs != NULL; vs = vs->next) {
        auth_oauth2_srv_conf *srv = auth_oauth2_srv(vs);
        const char *err;

        if (!srv->cfg->provider_set) {
            continue;
        }
        err = srv_setup(pconf, ptemp, vs, srv, shm);
        if (err != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, vs, "OA2006: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return auth_oauth2_provider_view_setup(pconf, ptemp, s) == APR_SUCCESS
               ? OK
               : HTTP_INTERNAL_SERVER_ERROR;
}

static void child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (shm_mutex != NULL) {
        rv = apr_global_mutex_child_init(
            &shm_mutex, apr_global_mutex_lockfile(shm_mutex), p);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "OA2007: cannot attach the session table's mutex");
        }
    }
    auth_oauth2_provider_view_child_init(p, s);
    for (; s != NULL; s = s->next) {
        auth_oauth2_srv_conf *srv = auth_oauth2_srv(s);

        auth_oauth2_socache_child_init(srv->socache, p);
        if (srv->site != NULL
            && oauth2_provider_child_init(srv->site->prov, p) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         "OA2008: cannot create the provider's mutexes");
        }
    }
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

/* Every request: the client's identity headers go before anyone reads
 * them. */
static int post_read_request(request_rec *r)
{
    auth_oauth2_strip_identity(r);
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
 * for a client's: they are set again. */
static int inherited(request_rec *r)
{
    request_rec *from = r->main != NULL ? r->main : r->prev;
    auth_oauth2_req_t *parent;
    oauth2_response_t resp;

    if (from == NULL || from->user == NULL) {
        return 0;
    }
    parent = auth_oauth2_req_find(from);
    if (parent == NULL || !parent->authn.authenticated) {
        return 0;
    }
    ap_set_module_config(r->request_config, &auth_oauth2_module, parent);
    r->user = from->user;
    r->ap_auth_type = from->ap_auth_type;
    if (r->main == NULL) {
        memset(&resp, 0, sizeof(resp));
        oauth2_access_identity(auth_oauth2_dir(r), &parent->authn, &resp);
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
    if (site != NULL && inherited(r)) {
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

/* The backend never sees the module's cookies (check_authn took them out
 * already on the common way of an authenticated request). */
static int fixups(request_rec *r)
{
    const oauth2_site_t *site = auth_oauth2_srv(r->server)->site;

    if (site != NULL) {
        auth_oauth2_strip_cookies(r, site);
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
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
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
