/*
 * config.c: creating, merging, validating and defaulting the engine's
 * configuration (see config.h). Every parser refuses what it does not
 * understand, so a mistake stops `apache2 -t` instead of a login.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "bounds.h"
#include "config.h"
#include "http.h"
#include "store_shm.h"

#define MAX_VALUE_FILE (64 * 1024)

static const char *const preset_names[] = {
    "", "google", "github", "gitlab", "microsoft", "keycloak",
};

static const char *const endpoint_names[OAUTH2_EP_COUNT] = {
    "authorization", "token",      "userinfo",   "jwks",
    "end_session",   "github_api", "gitlab_api", "google_directory",
    "metadata",
};

oauth2_cfg_t *oauth2_cfg_create(apr_pool_t *p)
{
    oauth2_cfg_t *c = apr_pcalloc(p, sizeof(*c));

    c->client_auth_post = OAUTH2_UNSET;
    c->shm_capacity = OAUTH2_UNSET;
    c->session_timeout = OAUTH2_UNSET;
    c->session_max_age = OAUTH2_UNSET;
    c->cookie_secure = OAUTH2_UNSET;
    c->clock_skew = OAUTH2_UNSET;
    c->http_timeout = OAUTH2_UNSET;
    return c;
}

#define MERGE_PTR(f) c->f = add->f != NULL ? add->f : base->f
#define MERGE_INT(f) c->f = add->f != OAUTH2_UNSET ? add->f : base->f

/* Both lists of strings, each entry once (rules of the main server apply
 * to the virtual hosts' places too). */
static apr_array_header_t *merge_union(apr_pool_t *p,
                                       const apr_array_header_t *a,
                                       const apr_array_header_t *b)
{
    apr_array_header_t *out;
    int i, j;

    if (a == NULL || b == NULL) {
        return (apr_array_header_t *)(a ? a : b);
    }
    out = apr_array_copy(p, a);
    for (i = 0; i < b->nelts; i++) {
        const char *v = APR_ARRAY_IDX(b, i, const char *);

        for (j = 0; j < a->nelts; j++) {
            if (strcasecmp(APR_ARRAY_IDX(a, j, const char *), v) == 0) {
                break;
            }
        }
        if (j == a->nelts) {
            APR_ARRAY_PUSH(out, const char *) = v;
        }
    }
    return out;
}

static int provider_index(const apr_array_header_t *providers, const char *name)
{
    int i;

    for (i = 0; providers != NULL && i < providers->nelts; i++) {
        if (strcasecmp(APR_ARRAY_IDX(providers, i, oauth2_cfg_t *)->name, name)
            == 0) {
            return i;
        }
    }
    return -1;
}

/* The main server's named providers and the virtual host's: a virtual
 * host's section of the same name replaces the main server's. */
static apr_array_header_t *merge_providers(apr_pool_t *p,
                                           const apr_array_header_t *base,
                                           const apr_array_header_t *add)
{
    apr_array_header_t *out;
    int i, j;

    if (base == NULL || add == NULL) {
        return (apr_array_header_t *)(base ? base : add);
    }
    out = apr_array_copy(p, base);
    for (i = 0; i < add->nelts; i++) {
        oauth2_cfg_t *sec = APR_ARRAY_IDX(add, i, oauth2_cfg_t *);

        j = provider_index(out, sec->name);
        if (j >= 0) {
            APR_ARRAY_IDX(out, j, oauth2_cfg_t *) = sec;
        }
        else {
            APR_ARRAY_PUSH(out, oauth2_cfg_t *) = sec;
        }
    }
    return out;
}

oauth2_cfg_t *oauth2_cfg_merge(apr_pool_t *p, const oauth2_cfg_t *base,
                               const oauth2_cfg_t *add)
{
    oauth2_cfg_t *c = apr_pcalloc(p, sizeof(*c));
    const oauth2_cfg_t *prov = add->provider_set ? add : base;
    int i;

    /* The provider and its client are one unit: a virtual host that names
     * its own provider inherits none of the main server's client
     * settings or endpoints; one that does not may still override them
     * (an OAuth2Endpoint of its own replaces that one endpoint). */
    c->issuer = prov->issuer;
    c->preset = prov->preset;
    c->preset_base = prov->preset_base;
    c->provider_set = prov->provider_set;
    for (i = 0; i < OAUTH2_EP_COUNT; i++) {
        c->endpoints[i] =
            add->endpoints[i] ? add->endpoints[i] : prov->endpoints[i];
    }
    c->client_id = add->client_id ? add->client_id : prov->client_id;
    c->client_secret =
        add->client_secret ? add->client_secret : prov->client_secret;
    c->client_auth_post = add->client_auth_post != OAUTH2_UNSET
                              ? add->client_auth_post
                              : prov->client_auth_post;
    c->scope = add->scope ? add->scope : prov->scope;
    c->auth_params = add->auth_params ? add->auth_params : prov->auth_params;
    MERGE_PTR(secrets);
    MERGE_PTR(prefix);
    MERGE_PTR(redirect_uri);
    c->store = add->store != OAUTH2_STORE_UNSET ? add->store : base->store;
    MERGE_PTR(store_spec);
    MERGE_INT(shm_capacity);
    MERGE_INT(session_timeout);
    MERGE_INT(session_max_age);
    MERGE_PTR(cookie_name);
    MERGE_PTR(cookie_domain);
    MERGE_PTR(cookie_samesite);
    MERGE_INT(cookie_secure);
    MERGE_PTR(remote_user_claim);
    MERGE_PTR(groups_claim);
    MERGE_INT(clock_skew);
    MERGE_INT(http_timeout);
    MERGE_PTR(ca_file);
    MERGE_PTR(redirect_hosts);
    MERGE_PTR(google_sa);
    MERGE_PTR(google_admin);
    for (i = 0; i < OAUTH2_PAGE_COUNT; i++) {
        c->pages[i] = add->pages[i] ? add->pages[i] : base->pages[i];
    }
    c->rule_groups = merge_union(p, base->rule_groups, add->rule_groups);
    c->rule_resources =
        merge_union(p, base->rule_resources, add->rule_resources);
    MERGE_PTR(regex);
    MERGE_PTR(groups_filter);
    /* A section of the main server applies to the virtual hosts too. */
    c->tokens_wanted = base->tokens_wanted || add->tokens_wanted;
    c->providers = merge_providers(p, base->providers, add->providers);
    return c;
}

const char *oauth2_cfg_set_groups_filter(apr_pool_t *p, oauth2_cfg_t *cfg,
                                         const char *arg)
{
    oauth2_regex_t *f;
    const char *err = NULL;

    if (*arg == '\0') {
        return "must be a regular expression (the groups to keep)";
    }
    if (cfg->regex == NULL || cfg->regex->compile == NULL
        || cfg->regex->match == NULL) {
        return "regular expressions are not available here";
    }
    f = apr_pcalloc(p, sizeof(*f));
    f->pattern = arg;
    f->match = cfg->regex->match;
    f->re = cfg->regex->compile(p, arg, &err);
    if (f->re == NULL) {
        return err ? err
                   : apr_psprintf(p, "'%s' is not a regular expression", arg);
    }
    cfg->groups_filter = f;
    return NULL;
}

void oauth2_cfg_note_dir(oauth2_cfg_t *cfg, const oauth2_dir_cfg_t *dir)
{
    if (cfg != NULL && dir != NULL && dir->pass_access_token == 1) {
        cfg->tokens_wanted = 1;
    }
}

int oauth2_cfg_keeps_tokens(const oauth2_cfg_t *cfg)
{
    return cfg->tokens_wanted || cfg->preset == OAUTH2_PRESET_GITHUB
           || cfg->preset == OAUTH2_PRESET_GITLAB
           || cfg->endpoints[OAUTH2_EP_GITHUB_API] != NULL
           || cfg->endpoints[OAUTH2_EP_GITLAB_API] != NULL;
}

/* 1 when the space-separated scope holds word. */
static int scope_has(const char *scope, const char *word)
{
    apr_size_t n = strlen(word);

    while (scope != NULL && *scope != '\0') {
        apr_size_t len;

        scope += strspn(scope, " \t");
        len = strcspn(scope, " \t");
        if (len == n && strncmp(scope, word, n) == 0) {
            return 1;
        }
        scope += len;
    }
    return 0;
}

/* 1 when the rules name a resource key with this prefix. */
static int rules_name(const oauth2_cfg_t *c, const char *prefix)
{
    int i;

    for (i = 0; c->rule_resources != NULL && i < c->rule_resources->nelts;
         i++) {
        if (strncmp(APR_ARRAY_IDX(c->rule_resources, i, const char *), prefix,
                    strlen(prefix))
            == 0) {
            return 1;
        }
    }
    return 0;
}

/* Does this provider read GitLab projects / GitHub repositories? */
static int reads_projects(const oauth2_cfg_t *c)
{
    return (c->preset == OAUTH2_PRESET_GITLAB
            || c->endpoints[OAUTH2_EP_GITLAB_API] != NULL)
           && rules_name(c, "project:");
}

static int reads_repos(const oauth2_cfg_t *c)
{
    return (c->preset == OAUTH2_PRESET_GITHUB
            || c->endpoints[OAUTH2_EP_GITHUB_API] != NULL)
           && rules_name(c, "repo:");
}

/* The default scope, with what the rules need from the provider's API:
 * GitLab docs "OAuth 2.0 scopes": read_api for GET /projects/:id; GitHub
 * docs "Scopes for OAuth apps": repo to see private repositories. */
static const char *default_scope(apr_pool_t *p, const oauth2_cfg_t *c)
{
    const char *scope = c->preset == OAUTH2_PRESET_GITHUB
                            ? "read:user user:email read:org"
                            : OAUTH2_DEFAULT_SCOPE;

    if (reads_projects(c)) {
        scope = apr_pstrcat(p, scope, " read_api", NULL);
    }
    if (reads_repos(c)) {
        scope = apr_pstrcat(p, scope, " repo", NULL);
    }
    return scope;
}

/* Scope, claim and client defaults that depend on the preset. */
static void finalize_preset(apr_pool_t *p, oauth2_cfg_t *c)
{
    int github = c->preset == OAUTH2_PRESET_GITHUB;

    /* GitHub docs "Scopes for OAuth apps": read:user for /user,
     * user:email for /user/emails, read:org for /user/orgs and teams. */
    if (c->scope == NULL) {
        c->scope = default_scope(p, c);
    }
    /* GitHub's numeric id means nothing to people; its login does. */
    if (c->remote_user_claim == NULL) {
        c->remote_user_claim =
            github ? "preferred_username" : OAUTH2_DEFAULT_USER_CLAIM;
    }
    /* GitLab: "groups_direct" is in the ID token; "groups" (userinfo)
     * adds the subgroups inherited from an ancestor group. */
    if (c->groups_claim == NULL) {
        c->groups_claim = c->preset == OAUTH2_PRESET_GITLAB
                              ? "groups_direct"
                              : OAUTH2_DEFAULT_GROUPS_CLAIM;
    }
    /* GitHub docs "Authorizing OAuth apps", step 2: client_id and
     * client_secret are parameters of the access_token request. */
    if (c->client_auth_post == OAUTH2_UNSET && github) {
        c->client_auth_post = 1;
    }
}

/* The defaults of every UNSET field (SPEC.md). */
static void finalize_defaults(apr_pool_t *p, oauth2_cfg_t *c)
{
    int i;

    finalize_preset(p, c);
    if (c->prefix == NULL) {
        c->prefix = OAUTH2_DEFAULT_PREFIX;
    }
    if (c->client_auth_post == OAUTH2_UNSET) {
        c->client_auth_post = 0;
    }
    if (c->store == OAUTH2_STORE_UNSET) {
        c->store = OAUTH2_STORE_SHM;
    }
    if (c->shm_capacity == OAUTH2_UNSET) {
        c->shm_capacity = OAUTH2_DEFAULT_SHM_CAPACITY;
    }
    if (c->session_timeout == OAUTH2_UNSET) {
        c->session_timeout = OAUTH2_DEFAULT_TIMEOUT;
    }
    if (c->session_max_age == OAUTH2_UNSET) {
        c->session_max_age = OAUTH2_DEFAULT_MAX_AGE;
    }
    if (c->cookie_name == NULL) {
        c->cookie_name = OAUTH2_DEFAULT_COOKIE;
    }
    if (c->cookie_samesite == NULL) {
        c->cookie_samesite = "Lax";
    }
    if (c->clock_skew == OAUTH2_UNSET) {
        c->clock_skew = OAUTH2_DEFAULT_SKEW;
    }
    if (c->http_timeout == OAUTH2_UNSET) {
        c->http_timeout = OAUTH2_DEFAULT_HTTP_TIMEOUT;
    }
    for (i = 0; i < OAUTH2_PAGE_COUNT; i++) {
        if (c->pages[i] == NULL) {
            c->pages[i] = oauth2_page_default(p, (oauth2_page_kind_e)i);
        }
    }
}

/* The cookie attributes that browsers would refuse together. */
static const char *check_cookie(const oauth2_cfg_t *c)
{
    if (strcmp(c->cookie_samesite, "None") == 0 && c->cookie_secure == 0) {
        return "OAuth2CookieSameSite: None requires OAuth2CookieSecure On";
    }
    if (strncmp(c->cookie_name, "__Host-", 7) == 0
        && c->cookie_domain != NULL) {
        return "OAuth2CookieDomain: a __Host- cookie cannot have a domain";
    }
    /* RFC 6265bis §4.1.3: browsers drop __Secure-/__Host- cookies that
     * are not Secure (with OAuth2CookieSecure unset, https requests set
     * it; Off would make every login loop). */
    if ((strncmp(c->cookie_name, "__Host-", 7) == 0
         || strncmp(c->cookie_name, "__Secure-", 9) == 0)
        && c->cookie_secure == 0) {
        return "OAuth2Cookie: a __Host- or __Secure- cookie needs "
               "OAuth2CookieSecure On";
    }
    return NULL;
}

/* Google Workspace groups: the service account and the admin it acts
 * as come together, and only with Google's own logins (the directory is
 * asked about the address Google verified). */
static const char *check_google(const oauth2_cfg_t *c)
{
    if (c->google_sa != NULL && c->google_admin == NULL) {
        return "OAuth2GoogleAdminEmail: required with "
               "OAuth2GoogleServiceAccount (the Workspace administrator the "
               "service account acts as)";
    }
    if (c->google_admin != NULL && c->google_sa == NULL) {
        return "OAuth2GoogleServiceAccount: required with "
               "OAuth2GoogleAdminEmail";
    }
    if (c->google_sa != NULL && c->preset != OAUTH2_PRESET_GOOGLE) {
        return "OAuth2GoogleServiceAccount: needs OAuth2Provider google "
               "(Google groups are looked up by the address Google "
               "verified)";
    }
    return NULL;
}

/* The provider's own fields, which a section sets and nothing inherits
 * (the virtual host's are another provider's). */
static void take_provider(oauth2_cfg_t *c, const oauth2_cfg_t *sec)
{
    c->issuer = sec->issuer;
    c->preset = sec->preset;
    c->preset_base = sec->preset_base;
    c->provider_set = sec->provider_set;
    memcpy(c->endpoints, sec->endpoints, sizeof(c->endpoints));
    c->client_id = sec->client_id;
    c->client_secret = sec->client_secret;
    c->client_auth_post = sec->client_auth_post;
    c->scope = sec->scope;
    c->auth_params = sec->auth_params;
    c->redirect_uri = sec->redirect_uri;
    c->remote_user_claim = sec->remote_user_claim;
    c->groups_claim = sec->groups_claim;
    c->google_sa = sec->google_sa;
    c->google_admin = sec->google_admin;
    c->groups_filter = sec->groups_filter;
    c->name = sec->name;
}

static const char *check_provider(apr_pool_t *p, oauth2_cfg_t *c);

/* A section made whole: a copy of the finalized virtual host with the
 * section's provider, its endpoints under PREFIX/NAME and its own session
 * cookie (COOKIE_NAME), then finalized. */
static const char *finalize_section(apr_pool_t *p, const oauth2_cfg_t *host,
                                    const oauth2_cfg_t *sec, oauth2_cfg_t **out)
{
    oauth2_cfg_t *c = apr_pmemdup(p, host, sizeof(*c));
    const char *err;

    take_provider(c, sec);
    c->providers = NULL;
    c->named = NULL;
    c->prefix = apr_pstrcat(p, host->prefix, "/", sec->name, NULL);
    c->cookie_name = apr_pstrcat(p, host->cookie_name, "_", sec->name, NULL);
    if (!c->provider_set) {
        return apr_psprintf(p,
                            "<OAuth2Provider %s>: needs OAuth2Provider "
                            "ISSUER-URL or PRESET inside it",
                            sec->name);
    }
    finalize_defaults(p, c);
    err = check_provider(p, c);
    if (err != NULL) {
        return apr_psprintf(p, "<OAuth2Provider %s>: %s", sec->name, err);
    }
    *out = c;
    return NULL;
}

/* The path of c's callback (as oauth2_site_create takes it). */
static const char *callback_path(apr_pool_t *p, const oauth2_cfg_t *c)
{
    apr_uri_t u;

    if (c->redirect_uri != NULL
        && apr_uri_parse(p, c->redirect_uri, &u) == APR_SUCCESS) {
        return u.path ? u.path : "/";
    }
    return apr_pstrcat(p, c->prefix, "/callback", NULL);
}

/* Two providers of a host with one callback path (OAuth2RedirectURI):
 * the first would take the other's every callback and refuse its state
 * (each seals its own), so the other's logins could never end. */
static const char *shared_callback(apr_pool_t *p, const oauth2_cfg_t *c,
                                   const apr_array_header_t *whole)
{
    int i, j;

    for (i = 0; i < whole->nelts; i++) {
        const oauth2_cfg_t *n = APR_ARRAY_IDX(whole, i, const oauth2_cfg_t *);
        const char *path = callback_path(p, n);

        for (j = -1; j < i; j++) {
            const oauth2_cfg_t *o =
                j < 0 ? c : APR_ARRAY_IDX(whole, j, const oauth2_cfg_t *);

            if ((j >= 0 || c->provider_set)
                && strcmp(path, callback_path(p, o)) == 0) {
                return apr_psprintf(
                    p,
                    "<OAuth2Provider %s>: its callback %s is also %s%s%s: "
                    "give each provider a callback of its own "
                    "(OAuth2RedirectURI)",
                    n->name, path, o->name ? "<OAuth2Provider " : "",
                    o->name ? o->name : "the virtual host's own provider's",
                    o->name ? ">'s" : "");
            }
        }
    }
    return NULL;
}

/* The named providers of a finalized virtual host, made whole. */
static const char *finalize_sections(apr_pool_t *p, oauth2_cfg_t *c)
{
    apr_array_header_t *whole;
    int i;

    c->named = NULL;
    if (c->providers == NULL || c->providers->nelts == 0) {
        return NULL;
    }
    if (c->secrets == NULL || c->secrets->nelts == 0) {
        return "OAuth2Secret: required when <OAuth2Provider> sections are "
               "set (e.g. OAuth2Secret file:/etc/apache2/oauth2.secret with "
               "the output of `openssl rand -base64 48`)";
    }
    whole = apr_array_make(p, c->providers->nelts, sizeof(oauth2_cfg_t *));
    for (i = 0; i < c->providers->nelts; i++) {
        const char *err = finalize_section(
            p, c, APR_ARRAY_IDX(c->providers, i, oauth2_cfg_t *),
            apr_array_push(whole));

        if (err != NULL) {
            return err;
        }
    }
    c->named = whole;
    return shared_callback(p, c, whole);
}

const char *oauth2_cfg_finalize(apr_pool_t *p, oauth2_cfg_t *c)
{
    const char *err;

    finalize_defaults(p, c);
    err = c->provider_set ? check_provider(p, c) : NULL;
    return err ? err : finalize_sections(p, c);
}

/* What only a provider's whole configuration can tell. */
static const char *check_provider(apr_pool_t *p, oauth2_cfg_t *c)
{
    const char *err;

    err = check_google(c);
    if (err != NULL) {
        return err;
    }
    if (reads_projects(c) && !scope_has(c->scope, "read_api")
        && !scope_has(c->scope, "api")) {
        return "OAuth2Scope: Require oauth2-group project:... reads GitLab's "
               "API: add read_api to the scopes";
    }
    if (c->client_id == NULL) {
        /* The usual way to get here: a client set in the main server, a
         * provider in the virtual host (which then inherits no client). */
        return "OAuth2ClientID: required when OAuth2Provider is set (a "
               "virtual host that sets its own OAuth2Provider inherits "
               "no OAuth2ClientID, OAuth2ClientSecret, OAuth2Scope or "
               "OAuth2Endpoint from the main server: set them next to it)";
    }
    if (c->secrets == NULL || c->secrets->nelts == 0) {
        return "OAuth2Secret: required when OAuth2Provider is set (e.g. "
               "OAuth2Secret file:/etc/apache2/oauth2.secret with the output "
               "of `openssl rand -base64 48`)";
    }
    return check_cookie(c);
}

oauth2_dir_cfg_t *oauth2_dir_cfg_create(apr_pool_t *p)
{
    oauth2_dir_cfg_t *d = apr_pcalloc(p, sizeof(*d));

    d->unauth = OAUTH2_UNAUTH_UNSET;
    d->accept_bearer = OAUTH2_UNSET;
    d->bearer_untyped = OAUTH2_UNSET;
    d->pass_access_token = OAUTH2_UNSET;
    d->pass_claims = OAUTH2_UNSET;
    return d;
}

oauth2_dir_cfg_t *oauth2_dir_cfg_merge(apr_pool_t *p,
                                       const oauth2_dir_cfg_t *base,
                                       const oauth2_dir_cfg_t *add)
{
    oauth2_dir_cfg_t *c = apr_palloc(p, sizeof(*c));

    c->unauth = add->unauth != OAUTH2_UNAUTH_UNSET ? add->unauth : base->unauth;
    MERGE_INT(accept_bearer);
    MERGE_PTR(bearer_audience);
    MERGE_INT(bearer_untyped);
    MERGE_INT(pass_access_token);
    MERGE_INT(pass_claims);
    MERGE_PTR(use);
    return c;
}

oauth2_unauth_e oauth2_dir_unauth(const oauth2_dir_cfg_t *d)
{
    return d == NULL || d->unauth == OAUTH2_UNAUTH_UNSET ? OAUTH2_UNAUTH_AUTO
                                                         : d->unauth;
}

int oauth2_dir_pass_claims(const oauth2_dir_cfg_t *d)
{
    return d == NULL || d->pass_claims == OAUTH2_UNSET ? 0 : d->pass_claims;
}

int oauth2_dir_flag(int value)
{
    return value == OAUTH2_UNSET ? 0 : value;
}

static const oauth2_cfg_limit_t limits[] = {
    { "OAuth2SessionTimeout", 1, 31536000 },
    { "OAuth2SessionMaxAge", 1, 31536000 },
    { "OAuth2ClockSkew", 0, OAUTH2_MAX_CLOCK_SKEW },
    { "OAuth2HTTPTimeout", 1, 300 },
    { "OAuth2SessionStore shm:N", OAUTH2_SHM_MIN_CAPACITY,
      OAUTH2_SHM_MAX_CAPACITY },
};

const oauth2_cfg_limit_t *oauth2_cfg_limit(const char *directive)
{
    apr_size_t i;

    for (i = 0; directive != NULL && i < sizeof(limits) / sizeof(limits[0]);
         i++) {
        if (strcasecmp(limits[i].directive, directive) == 0) {
            return &limits[i];
        }
    }
    return NULL;
}

const char *oauth2_cfg_parse_limited(apr_pool_t *p, const char *directive,
                                     const char *arg, int *out)
{
    const oauth2_cfg_limit_t *l = oauth2_cfg_limit(directive);

    if (l == NULL) {
        return apr_psprintf(p, "%s has no range", directive);
    }
    return oauth2_cfg_parse_int(p, arg, l->min, l->max, out);
}

const char *oauth2_cfg_parse_int(apr_pool_t *p, const char *arg, int min,
                                 int max, int *out)
{
    apr_int64_t v;
    char *end = NULL;
    const char *s;

    if (arg == NULL || *arg == '\0') {
        return "a number is required";
    }
    for (s = arg; *s; s++) {
        if (*s < '0' || *s > '9') {
            return apr_psprintf(p, "'%s' is not a whole number", arg);
        }
    }
    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno == ERANGE || end == NULL || *end != '\0' || v < min || v > max) {
        return apr_psprintf(p, "'%s' is outside %d..%d", arg, min, max);
    }
    *out = (int)v;
    return NULL;
}

/* Reads a whole (small) file into a string, without a trailing newline. */
static const char *read_value_file(apr_pool_t *p, const char *path,
                                   const char **out)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    char *buf;

    if (apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p)
        != APR_SUCCESS) {
        return apr_psprintf(p, "cannot read %s", path);
    }
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS
        || fi.size > MAX_VALUE_FILE) {
        apr_file_close(f);
        return apr_psprintf(p, "%s is larger than %d bytes", path,
                            MAX_VALUE_FILE);
    }
    n = (apr_size_t)fi.size;
    buf = apr_pcalloc(p, n + 1);
    if (n > 0 && apr_file_read_full(f, buf, n, &n) != APR_SUCCESS) {
        apr_file_close(f);
        return apr_psprintf(p, "cannot read %s", path);
    }
    apr_file_close(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    *out = buf;
    return NULL;
}

const char *oauth2_cfg_resolve_value(apr_pool_t *p, const char *arg,
                                     const char **out)
{
    const char *v = arg;
    char *env = NULL;

    if (arg == NULL) {
        return "a value is required";
    }
    if (strncmp(arg, "file:", 5) == 0) {
        const char *err = read_value_file(p, arg + 5, &v);

        if (err != NULL) {
            return err;
        }
    }
    else if (strncmp(arg, "env:", 4) == 0) {
        if (apr_env_get(&env, arg + 4, p) != APR_SUCCESS || env == NULL) {
            return apr_psprintf(p, "environment variable %s is not set",
                                arg + 4);
        }
        v = env;
    }
    if (*v == '\0') {
        return "the value is empty";
    }
    *out = v;
    return NULL;
}

const char *oauth2_cfg_check_email(apr_pool_t *p, const char *arg)
{
    const char *at = arg ? strchr(arg, '@') : NULL, *s;

    if (at == NULL || at == arg || at[1] == '\0' || strchr(at + 1, '@')
        || strchr(at + 1, '.') == NULL || strlen(arg) > 254) {
        return apr_psprintf(p, "'%s' is not an email address", arg);
    }
    for (s = arg; *s; s++) {
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
            return apr_psprintf(p, "'%s' is not an email address", arg);
        }
    }
    return NULL;
}

const char *oauth2_cfg_check_url(apr_pool_t *p, const char *arg, int no_query)
{
    apr_uri_t u;

    if (arg == NULL || apr_uri_parse(p, arg, &u) != APR_SUCCESS
        || u.scheme == NULL || u.hostname == NULL || *u.hostname == '\0') {
        return apr_psprintf(p, "'%s' is not an absolute URL", arg);
    }
    if (strcasecmp(u.scheme, "https") != 0
        && strcasecmp(u.scheme, "http") != 0) {
        return apr_psprintf(p, "'%s' is not an http or https URL", arg);
    }
    if (u.user != NULL || u.password != NULL || u.fragment != NULL
        || strchr(arg, '#') != NULL) {
        return apr_psprintf(p, "'%s' must not have userinfo or a fragment",
                            arg);
    }
    if (no_query && u.query != NULL) {
        return apr_psprintf(p, "'%s' must not have a query", arg);
    }
    return NULL;
}

/* A preset name to its enum; OAUTH2_PRESET_NONE when unknown. */
static oauth2_preset_e preset_lookup(const char *name)
{
    int i;

    for (i = 1; i < (int)(sizeof(preset_names) / sizeof(preset_names[0]));
         i++) {
        if (strcasecmp(name, preset_names[i]) == 0) {
            return (oauth2_preset_e)i;
        }
    }
    return OAUTH2_PRESET_NONE;
}

const char *oauth2_cfg_preset_name(oauth2_preset_e preset)
{
    return preset_names[preset];
}

/* 8-4-4-4-12 hexadecimal digits. */
static int is_guid(const char *s)
{
    static const int groups[] = { 8, 4, 4, 4, 12 };
    int g, i;

    for (g = 0; g < 5; g++) {
        for (i = 0; i < groups[g]; i++, s++) {
            if (!apr_isxdigit(*s)) {
                return 0;
            }
        }
        if (*s != (g < 4 ? '-' : '\0')) {
            return 0;
        }
        s++;
    }
    return 1;
}

/* The preset's base URL argument: required for keycloak, a tenant (or
 * URL) for microsoft, optional elsewhere. */
static const char *set_preset_base(apr_pool_t *p, oauth2_cfg_t *cfg,
                                   const char *arg2)
{
    if (arg2 == NULL) {
        if (cfg->preset == OAUTH2_PRESET_KEYCLOAK) {
            return "keycloak needs the realm URL, e.g. "
                   "https://sso.example.com/realms/myrealm";
        }
        if (cfg->preset == OAUTH2_PRESET_MICROSOFT) {
            return "microsoft needs the tenant ID (a GUID: Entra admin "
                   "center, Overview) or the full issuer URL";
        }
        return NULL;
    }
    if (cfg->preset == OAUTH2_PRESET_MICROSOFT && strstr(arg2, "://") == NULL) {
        /* Entra ID's discovery document names the tenant by its ID: with
         * "common", "organizations" or a domain name the issuer could never
         * match exactly, and every login would fail. */
        if (!is_guid(arg2)) {
            return apr_psprintf(p,
                                "'%s' is not a tenant ID: give the tenant's "
                                "GUID (multi-tenant \"common\"/"
                                "\"organizations\" and domain names cannot "
                                "be checked against the issuer)",
                                arg2);
        }
        cfg->preset_base = arg2;
        return NULL;
    }
    cfg->preset_base = apr_pstrdup(p, arg2);
    while (*cfg->preset_base
           && cfg->preset_base[strlen(cfg->preset_base) - 1] == '/') {
        ((char *)cfg->preset_base)[strlen(cfg->preset_base) - 1] = '\0';
    }
    return oauth2_cfg_check_url(p, cfg->preset_base, 1);
}

const char *oauth2_cfg_set_provider(apr_pool_t *p, oauth2_cfg_t *cfg,
                                    const char *arg1, const char *arg2)
{
    const char *err;

    if (cfg->provider_set) {
        return "is set twice in this scope (one provider per virtual host)";
    }
    cfg->provider_set = 1;
    if (strstr(arg1, "://") != NULL) {
        if (arg2 != NULL) {
            return "an issuer URL takes no second argument";
        }
        err = oauth2_cfg_check_url(p, arg1, 1);
        if (err != NULL) {
            return err;
        }
        cfg->issuer = arg1;
        cfg->preset = OAUTH2_PRESET_NONE;
        return NULL;
    }
    cfg->preset = preset_lookup(arg1);
    if (cfg->preset == OAUTH2_PRESET_NONE) {
        return apr_psprintf(p,
                            "'%s' is neither an issuer URL nor a preset "
                            "(google, github, gitlab, microsoft, keycloak)",
                            arg1);
    }
    return set_preset_base(p, cfg, arg2);
}

const char *oauth2_cfg_set_endpoint(apr_pool_t *p, oauth2_cfg_t *cfg,
                                    const char *kind, const char *url)
{
    int i;
    const char *err;

    for (i = 0; i < OAUTH2_EP_COUNT; i++) {
        if (strcasecmp(kind, endpoint_names[i]) == 0) {
            break;
        }
    }
    if (i == OAUTH2_EP_COUNT) {
        return apr_psprintf(p,
                            "unknown endpoint '%s' (authorization, token, "
                            "userinfo, jwks, end_session, github_api, "
                            "gitlab_api, google_directory)",
                            kind);
    }
    err = oauth2_cfg_check_url(p, url, 0);
    if (err != NULL) {
        return err;
    }
    cfg->endpoints[i] = url;
    return NULL;
}

const char *oauth2_cfg_set_store(apr_pool_t *p, oauth2_cfg_t *cfg,
                                 const char *arg)
{
    if (strcasecmp(arg, "shm") == 0) {
        cfg->store = OAUTH2_STORE_SHM;
        return NULL;
    }
    if (strncasecmp(arg, "shm:", 4) == 0) {
        cfg->store = OAUTH2_STORE_SHM;
        return oauth2_cfg_parse_limited(p, "OAuth2SessionStore shm:N", arg + 4,
                                        &cfg->shm_capacity);
    }
    if (strcasecmp(arg, "cookie") == 0) {
        cfg->store = OAUTH2_STORE_COOKIE;
        return NULL;
    }
    if (strchr(arg, ':') == NULL || arg[0] == ':'
        || strchr(arg, ':')[1] == '\0') {
        return apr_psprintf(p,
                            "'%s' is not shm, shm:CAPACITY, cookie or a "
                            "socache provider spec such as "
                            "redis:127.0.0.1:6379",
                            arg);
    }
    cfg->store = OAUTH2_STORE_SOCACHE;
    cfg->store_spec = arg;
    return NULL;
}

/* Checks one k=v pair of OAuth2AuthParams; the protocol's own
 * parameters cannot be overridden. */
static const char *check_param(apr_pool_t *p, const char *k)
{
    static const char *const reserved[] = {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        NULL,
    };
    int i;

    for (i = 0; reserved[i] != NULL; i++) {
        if (strcasecmp(k, reserved[i]) == 0) {
            return apr_psprintf(p, "'%s' is set by the module itself", k);
        }
    }
    return NULL;
}

const char *oauth2_cfg_parse_auth_params(apr_pool_t *p, const char *arg,
                                         const char **out)
{
    char *copy = apr_pstrdup(p, arg), *tok, *last = NULL;
    const char *q = "";

    for (tok = apr_strtok(copy, " \t", &last); tok != NULL;
         tok = apr_strtok(NULL, " \t", &last)) {
        char *eq = strchr(tok, '=');
        const char *err;

        if (eq == NULL || eq == tok) {
            return apr_psprintf(p, "'%s' is not name=value", tok);
        }
        *eq = '\0';
        err = check_param(p, tok);
        if (err != NULL) {
            return err;
        }
        q = apr_pstrcat(p, q, "&", oauth2_http_url_encode(p, tok), "=",
                        oauth2_http_url_encode(p, eq + 1), NULL);
    }
    *out = q;
    return NULL;
}

/* A provider's name: letters, digits, '-' and '_', a letter first (it
 * becomes a path segment and part of a cookie name, COOKIE_NAME, which
 * must not look like a chunk of the session cookie, COOKIE_1), and not
 * ending in '_' and digits: COOKIE_X_1 is the first chunk of provider X's
 * cookie sessions, and provider X_1's cookie would be written over it. */
int oauth2_cfg_provider_name_ok(const char *s)
{
    apr_size_t i, d = 0;

    if (!apr_isalpha(s[0])) {
        return 0;
    }
    for (i = 0; s[i] != '\0'; i++) {
        if (i >= OAUTH2_PROVIDER_NAME_MAX
            || (!apr_isalnum(s[i]) && s[i] != '-' && s[i] != '_')) {
            return 0;
        }
        d = apr_isdigit(s[i]) ? d + 1 : 0;
    }
    return d == 0 || s[i - d - 1] != '_';
}

const char *oauth2_cfg_section(apr_pool_t *p, oauth2_cfg_t *outer,
                               const char *raw, oauth2_cfg_t **inner)
{
    const char *end = strrchr(raw, '>');
    char *name;
    oauth2_cfg_t *c;

    if (outer->name != NULL) {
        return "<OAuth2Provider> cannot be inside another <OAuth2Provider> "
               "section";
    }
    if (end == NULL || end[strspn(end + 1, " \t") + 1] != '\0') {
        return "<OAuth2Provider NAME>: the section's line must end with '>'";
    }
    /* Spaces around the name only: "a b" is not "ab". */
    raw += strspn(raw, " \t");
    while (end > raw && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    name = apr_pstrndup(p, raw, (apr_size_t)(end - raw));
    if (!oauth2_cfg_provider_name_ok(name)) {
        return apr_psprintf(p,
                            "<OAuth2Provider>: \"%.40s\" is not a provider "
                            "name (1 to %d letters, digits, '-' or '_', a "
                            "letter first, not ending in '_' and digits)",
                            name, OAUTH2_PROVIDER_NAME_MAX);
    }
    if (provider_index(outer->providers, name) >= 0) {
        return apr_psprintf(p, "<OAuth2Provider %s> is there twice", name);
    }
    if (outer->providers == NULL) {
        outer->providers = apr_array_make(p, 2, sizeof(oauth2_cfg_t *));
    }
    if (outer->providers->nelts >= OAUTH2_MAX_PROVIDERS) {
        return apr_psprintf(p,
                            "<OAuth2Provider>: at most %d named providers "
                            "per virtual host",
                            OAUTH2_MAX_PROVIDERS);
    }
    c = oauth2_cfg_create(p);
    c->name = name;
    c->regex = outer->regex;
    APR_ARRAY_PUSH(outer->providers, oauth2_cfg_t *) = c;
    *inner = c;
    return NULL;
}

int oauth2_cfg_in_section(const char *directive)
{
    static const char *const allowed[] = {
        "OAuth2Provider",
        "OAuth2ProviderMetadataURL",
        "OAuth2Endpoint",
        "OAuth2ClientID",
        "OAuth2ClientSecret",
        "OAuth2ClientAuth",
        "OAuth2Scope",
        "OAuth2AuthParams",
        "OAuth2RedirectURI",
        "OAuth2RemoteUserClaim",
        "OAuth2GroupsClaim",
        "OAuth2GroupsFilter",
        "OAuth2GoogleServiceAccount",
        "OAuth2GoogleAdminEmail",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (strcasecmp(directive, allowed[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *oauth2_cfg_add_use(apr_pool_t *p, oauth2_dir_cfg_t *dir,
                               const char *name)
{
    if (!oauth2_cfg_provider_name_ok(name)) {
        return apr_psprintf(p, "\"%.40s\" is not a provider name", name);
    }
    if (dir->use == NULL) {
        dir->use = apr_array_make(p, 2, sizeof(const char *));
    }
    if (dir->use->nelts >= OAUTH2_MAX_PROVIDERS) {
        return "names too many providers";
    }
    APR_ARRAY_PUSH(dir->use, const char *) = name;
    return NULL;
}

int oauth2_cfg_has_provider(const oauth2_cfg_t *cfg)
{
    return cfg->provider_set
           || (cfg->providers != NULL && cfg->providers->nelts > 0);
}
