/*
 * directives.c: the directive table and its setters (see directives.h).
 * The numeric ranges come from config.c's table of limits; values that may
 * be file:/path or env:NAME are resolved here, at configuration time, so
 * that `apache2 -t` finds a missing file or variable.
 */
#include <string.h>
#include <strings.h>

#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "bounds.h"
#include "directives.h"
#include "google.h"
#include "page.h"
#include "seal.h"

#define FIELD(target, d, type) ((type *)((char *)(target) + (d)->offset))

static const char *set_string(apr_pool_t *p, const oauth2_directive_t *d,
                              void *target, const char *a1, const char *a2)
{
    *FIELD(target, d, const char *) = a1;
    return NULL;
}

/* A value that may be file:/path or env:NAME (the client secret). */
static const char *set_value(apr_pool_t *p, const oauth2_directive_t *d,
                             void *target, const char *a1, const char *a2)
{
    const char *v = NULL, *err = oauth2_cfg_resolve_value(p, a1, &v);

    if (err == NULL) {
        *FIELD(target, d, const char *) = v;
    }
    return err;
}

/* Whole seconds (or a count) in the range config.c's table gives. */
static const char *set_limited(apr_pool_t *p, const oauth2_directive_t *d,
                               void *target, const char *a1, const char *a2)
{
    return oauth2_cfg_parse_limited(p, d->name, a1, FIELD(target, d, int));
}

static const char *set_flag(apr_pool_t *p, const oauth2_directive_t *d,
                            void *target, const char *a1, const char *a2)
{
    *FIELD(target, d, int) = strcasecmp(a1, "on") == 0;
    return NULL;
}

static const char *set_provider(apr_pool_t *p, const oauth2_directive_t *d,
                                void *target, const char *a1, const char *a2)
{
    return oauth2_cfg_set_provider(p, target, a1, a2);
}

static const char *set_endpoint(apr_pool_t *p, const oauth2_directive_t *d,
                                void *target, const char *a1, const char *a2)
{
    return oauth2_cfg_set_endpoint(p, target, a1, a2);
}

/* OAuth2ProviderMetadataURL URL: OAuth2Endpoint metadata URL under the name
 * that mod_auth_openidc's users know (OIDCProviderMetadataURL). */
static const char *set_metadata_url(apr_pool_t *p, const oauth2_directive_t *d,
                                    void *target, const char *a1,
                                    const char *a2)
{
    return oauth2_cfg_set_endpoint(p, target, "metadata", a1);
}

static const char *set_client_auth(apr_pool_t *p, const oauth2_directive_t *d,
                                   void *target, const char *a1, const char *a2)
{
    if (strcasecmp(a1, "basic") != 0 && strcasecmp(a1, "post") != 0) {
        return "must be basic or post";
    }
    ((oauth2_cfg_t *)target)->client_auth_post = strcasecmp(a1, "post") == 0;
    return NULL;
}

static const char *set_auth_params(apr_pool_t *p, const oauth2_directive_t *d,
                                   void *target, const char *a1, const char *a2)
{
    return oauth2_cfg_parse_auth_params(p, a1,
                                        &((oauth2_cfg_t *)target)->auth_params);
}

/* OAuth2Secret: each value a secret; the first seals, all open. */
static const char *set_secret(apr_pool_t *p, const oauth2_directive_t *d,
                              void *target, const char *a1, const char *a2)
{
    oauth2_cfg_t *c = target;
    const char *v = NULL, *err = oauth2_cfg_resolve_value(p, a1, &v);

    if (err != NULL) {
        return err;
    }
    if (strlen(v) < OAUTH2_SEAL_MIN_SECRET) {
        return apr_psprintf(p,
                            "a secret needs at least %d characters (try "
                            "`openssl rand -base64 48`)",
                            OAUTH2_SEAL_MIN_SECRET);
    }
    if (c->secrets == NULL) {
        c->secrets = apr_array_make(p, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->secrets, const char *) = v;
    return NULL;
}

static const char *set_prefix(apr_pool_t *p, const oauth2_directive_t *d,
                              void *target, const char *a1, const char *a2)
{
    apr_size_t n = strlen(a1);

    if (a1[0] != '/' || n < 2 || a1[n - 1] == '/' || strpbrk(a1, "?#%")) {
        return "must be a path such as /oauth2 (no trailing slash, query or "
               "escapes)";
    }
    ((oauth2_cfg_t *)target)->prefix = a1;
    return NULL;
}

static const char *set_redirect_uri(apr_pool_t *p, const oauth2_directive_t *d,
                                    void *target, const char *a1,
                                    const char *a2)
{
    const char *err = oauth2_cfg_check_url(p, a1, 1);

    if (err == NULL) {
        ((oauth2_cfg_t *)target)->redirect_uri = a1;
    }
    return err;
}

static const char *set_store(apr_pool_t *p, const oauth2_directive_t *d,
                             void *target, const char *a1, const char *a2)
{
    return oauth2_cfg_set_store(p, target, a1);
}

/* Cookie names: RFC 6265 §4.1.1 token characters. */
static const char *set_cookie_name(apr_pool_t *p, const oauth2_directive_t *d,
                                   void *target, const char *a1, const char *a2)
{
    const char *s;

    if (*a1 == '\0') {
        return "must not be empty";
    }
    for (s = a1; *s; s++) {
        if (!apr_isalnum(*s) && !strchr("!#$&'*+-.^_`|~", *s)) {
            return "a cookie name is letters, digits and !#$&'*+-.^_`|~ only";
        }
    }
    ((oauth2_cfg_t *)target)->cookie_name = a1;
    return NULL;
}

/* Host names (with a leading '.' for subdomains where allowed). */
static int is_host(const char *s)
{
    if (*s == '\0') {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isalnum(*s) && *s != '.' && *s != '-') {
            return 0;
        }
    }
    return 1;
}

static const char *set_cookie_domain(apr_pool_t *p, const oauth2_directive_t *d,
                                     void *target, const char *a1,
                                     const char *a2)
{
    if (!is_host(a1)) {
        return "must be a domain name";
    }
    ((oauth2_cfg_t *)target)->cookie_domain = a1;
    return NULL;
}

static const char *set_samesite(apr_pool_t *p, const oauth2_directive_t *d,
                                void *target, const char *a1, const char *a2)
{
    static const char *const v[] = { "Lax", "Strict", "None" };
    int i;

    for (i = 0; i < 3; i++) {
        if (strcasecmp(a1, v[i]) == 0) {
            ((oauth2_cfg_t *)target)->cookie_samesite = v[i];
            return NULL;
        }
    }
    return "must be Lax, Strict or None";
}

/* Claim paths: non-empty, bounded, no spaces. */
static const char *set_claim(apr_pool_t *p, const oauth2_directive_t *d,
                             void *target, const char *a1, const char *a2)
{
    if (*a1 == '\0' || strlen(a1) > OAUTH2_MAX_CLAIM_PATH
        || strpbrk(a1, " \t")) {
        return "must be a claim name or dotted path";
    }
    return set_string(p, d, target, a1, a2);
}

static const char *set_groups_filter(apr_pool_t *p, const oauth2_directive_t *d,
                                     void *target, const char *a1,
                                     const char *a2)
{
    return oauth2_cfg_set_groups_filter(p, target, a1);
}

static const char *set_ca_file(apr_pool_t *p, const oauth2_directive_t *d,
                               void *target, const char *a1, const char *a2)
{
    apr_finfo_t fi;

    if (apr_stat(&fi, a1, APR_FINFO_TYPE, p) != APR_SUCCESS
        || fi.filetype != APR_REG) {
        return apr_psprintf(p, "%s is not a file", a1);
    }
    ((oauth2_cfg_t *)target)->ca_file = a1;
    return NULL;
}

static const char *set_redirect_host(apr_pool_t *p, const oauth2_directive_t *d,
                                     void *target, const char *a1,
                                     const char *a2)
{
    oauth2_cfg_t *c = target;
    char *host, *s;

    if (!is_host(a1)) {
        return "takes host names (.example.com for subdomains)";
    }
    if (c->redirect_hosts == NULL) {
        c->redirect_hosts = apr_array_make(p, 2, sizeof(char *));
    }
    host = apr_pstrdup(p, a1);
    for (s = host; *s; s++) {
        *s = (char)apr_tolower(*s);
    }
    APR_ARRAY_PUSH(c->redirect_hosts, char *) = host;
    return NULL;
}

/* OAuth2GoogleServiceAccount file:/path/key.json (or env:NAME): the key is
 * read and checked now, so that `apache2 -t` finds a bad one. */
static const char *set_google_sa(apr_pool_t *p, const oauth2_directive_t *d,
                                 void *target, const char *a1, const char *a2)
{
    oauth2_google_sa_t *sa = NULL;
    const char *v = NULL, *err;

    if (strncmp(a1, "file:", 5) != 0 && strncmp(a1, "env:", 4) != 0) {
        return "takes file:/path/key.json (or env:NAME), the key Google "
               "issued for the service account";
    }
    err = oauth2_cfg_resolve_value(p, a1, &v);
    if (err == NULL
        && oauth2_google_sa_parse(p, v, strlen(v), &sa, &err) != APR_SUCCESS) {
        return apr_psprintf(p, "%s: %s", a1, err);
    }
    if (err == NULL) {
        ((oauth2_cfg_t *)target)->google_sa = sa;
    }
    return err;
}

/* OAuth2Page KEY /path: the site's own template for a page, read and
 * checked now, so that `apache2 -t` finds a missing file or a mistake. */
static const char *set_page(apr_pool_t *p, const oauth2_directive_t *d,
                            void *target, const char *a1, const char *a2)
{
    int kind = oauth2_page_kind(a1);
    const oauth2_page_tpl_t *tpl = NULL;
    const char *err;

    if (kind < 0) {
        return apr_psprintf(p, "unknown page '%s' (the pages are %s)", a1,
                            oauth2_page_keys());
    }
    err = oauth2_page_load(p, a2, &tpl);
    if (err != NULL) {
        return err;
    }
    ((oauth2_cfg_t *)target)->pages[kind] = tpl;
    return NULL;
}

static const char *set_email(apr_pool_t *p, const oauth2_directive_t *d,
                             void *target, const char *a1, const char *a2)
{
    const char *err = oauth2_cfg_check_email(p, a1);

    return err ? err : set_string(p, d, target, a1, a2);
}

static const char *set_unauth(apr_pool_t *p, const oauth2_directive_t *d,
                              void *target, const char *a1, const char *a2)
{
    static const char *const names[] = { "auto", "login", "401", "403",
                                         "pass" };
    static const oauth2_unauth_e values[] = {
        OAUTH2_UNAUTH_AUTO, OAUTH2_UNAUTH_LOGIN, OAUTH2_UNAUTH_401,
        OAUTH2_UNAUTH_403,  OAUTH2_UNAUTH_PASS,
    };
    int i;

    for (i = 0; i < 5; i++) {
        if (strcasecmp(a1, names[i]) == 0) {
            ((oauth2_dir_cfg_t *)target)->unauth = values[i];
            return NULL;
        }
    }
    return "must be auto, login, 401, 403 or pass";
}

static const char *set_pass_claims(apr_pool_t *p, const oauth2_directive_t *d,
                                   void *target, const char *a1, const char *a2)
{
    static const char *const names[] = { "none", "headers", "env", "both" };
    static const int values[] = { 0, OAUTH2_PASS_HEADERS, OAUTH2_PASS_ENV,
                                  OAUTH2_PASS_HEADERS | OAUTH2_PASS_ENV };
    int i;

    for (i = 0; i < 4; i++) {
        if (strcasecmp(a1, names[i]) == 0) {
            ((oauth2_dir_cfg_t *)target)->pass_claims = values[i];
            return NULL;
        }
    }
    return "must be headers, env, both or none";
}

/* OAuth2Use NAME...: the named providers of a place, in order. */
static const char *set_use(apr_pool_t *p, const oauth2_directive_t *d,
                           void *target, const char *a1, const char *a2)
{
    return oauth2_cfg_add_use(p, target, a1);
}

/* <OAuth2Provider NAME>: the glue opens it (oauth2_cfg_section). */
static const char *set_section(apr_pool_t *p, const oauth2_directive_t *d,
                               void *target, const char *a1, const char *a2)
{
    oauth2_cfg_t *inner;

    return oauth2_cfg_section(p, target, a1, &inner);
}

/* A directive with a generic setter and the field it sets (SRV, DIR), or
 * with a setter of its own (SRVX, DIRX). */
#define SRV(name, args, fn, field, help)                       \
    {                                                          \
        name, OAUTH2_DIRECTIVE_SERVER, OAUTH2_ARGS_##args, fn, \
            APR_OFFSETOF(oauth2_cfg_t, field), help            \
    }
#define SRVX(name, args, fn, help)                                     \
    {                                                                  \
        name, OAUTH2_DIRECTIVE_SERVER, OAUTH2_ARGS_##args, fn, 0, help \
    }
#define DIR(name, args, fn, field, help)                    \
    {                                                       \
        name, OAUTH2_DIRECTIVE_DIR, OAUTH2_ARGS_##args, fn, \
            APR_OFFSETOF(oauth2_dir_cfg_t, field), help     \
    }
#define DIRX(name, args, fn, help)                                  \
    {                                                               \
        name, OAUTH2_DIRECTIVE_DIR, OAUTH2_ARGS_##args, fn, 0, help \
    }

const oauth2_directive_t oauth2_directives[] = {
    SRVX("OAuth2Provider", TAKE12, set_provider,
         "issuer URL, or a preset (google, github, gitlab, microsoft, "
         "keycloak) and its base URL"),
    SRVX("OAuth2Endpoint", TAKE2, set_endpoint,
         "KIND URL: override one provider endpoint"),
    SRVX("OAuth2ProviderMetadataURL", TAKE1, set_metadata_url,
         "URL: the provider's discovery document, when it is not at "
         "ISSUER/.well-known/openid-configuration (its issuer must still "
         "be OAuth2Provider's)"),
    SRV("OAuth2ClientID", TAKE1, set_string, client_id,
        "the client id registered at the provider"),
    SRV("OAuth2ClientSecret", TAKE1, set_value, client_secret,
        "the client secret (or file:/path, env:NAME)"),
    SRVX("OAuth2ClientAuth", TAKE1, set_client_auth,
         "token endpoint authentication: basic or post"),
    SRV("OAuth2Scope", TAKE1, set_string, scope, "requested scopes"),
    SRVX("OAuth2AuthParams", TAKE1, set_auth_params,
         "extra authorization request parameters \"k=v k=v\""),
    SRVX("OAuth2Secret", ITERATE, set_secret,
         "keys sealing cookies and state; the first seals, all open "
         "(file:/path, env:NAME)"),
    SRVX("OAuth2Prefix", TAKE1, set_prefix,
         "where the module's endpoints live (default /oauth2)"),
    SRVX("OAuth2RedirectURI", TAKE1, set_redirect_uri,
         "absolute callback URL when the public URL differs"),
    SRVX("OAuth2SessionStore", TAKE1, set_store,
         "shm, shm:CAPACITY, cookie, or a socache provider spec"),
    SRV("OAuth2SessionTimeout", TAKE1, set_limited, session_timeout,
        "inactivity timeout in seconds (default 3600)"),
    SRV("OAuth2SessionMaxAge", TAKE1, set_limited, session_max_age,
        "absolute session lifetime in seconds (default 28800)"),
    SRVX("OAuth2Cookie", TAKE1, set_cookie_name,
         "session cookie name (default oauth2_session)"),
    SRVX("OAuth2CookieDomain", TAKE1, set_cookie_domain,
         "session cookie domain (default: this host only)"),
    SRVX("OAuth2CookieSameSite", TAKE1, set_samesite,
         "Lax (default), Strict or None"),
    SRV("OAuth2CookieSecure", FLAG, set_flag, cookie_secure,
        "mark cookies Secure (default: when the request is https)"),
    SRV("OAuth2RemoteUserClaim", TAKE1, set_claim, remote_user_claim,
        "claim that becomes REMOTE_USER (default sub)"),
    SRV("OAuth2GroupsClaim", TAKE1, set_claim, groups_claim,
        "claim holding the groups (default groups)"),
    SRVX("OAuth2GroupsFilter", TAKE1, set_groups_filter,
         "a regular expression: only the groups it matches are kept in "
         "the session"),
    SRV("OAuth2ClockSkew", TAKE1, set_limited, clock_skew,
        "allowed clock difference in seconds (default 60)"),
    SRV("OAuth2HTTPTimeout", TAKE1, set_limited, http_timeout,
        "timeout of calls to the provider in seconds (default 10)"),
    SRVX("OAuth2CAFile", TAKE1, set_ca_file,
         "CA bundle for calls to the provider"),
    SRVX("OAuth2AllowedRedirectHosts", ITERATE, set_redirect_host,
         "hosts besides this one that redirects may go to"),
    SRVX("OAuth2GoogleServiceAccount", TAKE1, set_google_sa,
         "file:/path/key.json: a Google service account key with "
         "domain-wide delegation, to read Workspace groups"),
    SRV("OAuth2GoogleAdminEmail", TAKE1, set_email, google_admin,
        "the Workspace administrator the service account acts as"),
    SRVX("OAuth2Page", TAKE2, set_page,
         "KEY /path/page.html: the site's own template of a page (error, "
         "login-failed, refused, provider-down, unavailable, "
         "session-expired, signed-out)"),
    DIRX("OAuth2UnauthAction", TAKE1, set_unauth,
         "auto, login, 401, 403 or pass"),
    DIR("OAuth2AcceptBearer", FLAG, set_flag, accept_bearer,
        "also accept Authorization: Bearer JWT access tokens"),
    DIR("OAuth2BearerAudience", TAKE1, set_string, bearer_audience,
        "the audience bearer tokens must carry"),
    DIR("OAuth2BearerAllowUntyped", FLAG, set_flag, bearer_untyped,
        "also accept bearer JWTs without typ at+jwt that do not look like "
        "ID tokens (default Off)"),
    DIR("OAuth2PassAccessToken", FLAG, set_flag, pass_access_token,
        "send X-Forwarded-Access-Token to the backend"),
    DIRX("OAuth2PassClaims", TAKE1, set_pass_claims,
         "headers, env, both or none"),
    SRVX("<OAuth2Provider", SECTION, set_section,
         "<OAuth2Provider NAME>: a named provider, chosen per place with "
         "OAuth2Use"),
    DIRX("OAuth2Use", ITERATE, set_use,
         "the named providers this place logs in with"),
    { NULL, OAUTH2_DIRECTIVE_SERVER, OAUTH2_ARGS_TAKE1, NULL, 0, NULL },
};

apr_size_t oauth2_directive_count(void)
{
    return sizeof(oauth2_directives) / sizeof(oauth2_directives[0]) - 1;
}

const oauth2_directive_t *oauth2_directive_find(const char *name)
{
    const oauth2_directive_t *d;

    for (d = oauth2_directives; name != NULL && d->name != NULL; d++) {
        if (strcasecmp(d->name, name) == 0) {
            return d;
        }
    }
    return NULL;
}

const char *oauth2_directive_apply(apr_pool_t *p, const oauth2_directive_t *d,
                                   void *target, const char *a1, const char *a2)
{
    const char *bad = a1 != NULL && *a1 == '#'   ? a1
                      : a2 != NULL && *a2 == '#' ? a2
                                                 : NULL;
    const char *err;

    if (d == NULL || target == NULL || a1 == NULL) {
        return "no directive or no argument";
    }
    err = bad != NULL ? apr_psprintf(p, OAUTH2_NO_EOL_COMMENT, bad)
                      : d->set(p, d, target, a1, a2);
    return err != NULL ? apr_pstrcat(p, d->name, ": ", err, NULL) : NULL;
}

const char *oauth2_directive_set(apr_pool_t *p, const oauth2_directive_t *d,
                                 oauth2_cfg_t *srv, oauth2_dir_cfg_t *dir,
                                 const char *a1, const char *a2, int startup)
{
    const char *err;

    if (srv != NULL && srv->name != NULL && d != NULL
        && !oauth2_cfg_in_section(d->name)) {
        return apr_psprintf(p,
                            "%s cannot be inside <OAuth2Provider %s>: a "
                            "section holds the provider, its client and its "
                            "claims; the rest belongs to the virtual host",
                            d->name, srv->name);
    }
    err = oauth2_directive_apply(
        p, d, d->scope == OAUTH2_DIRECTIVE_SERVER ? (void *)srv : dir, a1, a2);

    /* What a section of the configuration (not an .htaccess file, read
     * while serving) asks of every session of the virtual host. */
    if (err == NULL && d->scope == OAUTH2_DIRECTIVE_DIR && startup) {
        oauth2_cfg_note_dir(srv, dir);
    }
    return err;
}
