/*
 * server.c: the whole server as startup sees it (see server.h).
 */
#include <string.h>
#include <strings.h>

#include <apr_fnmatch.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "server.h"

#define HOST(hosts, i) (&APR_ARRAY_IDX(hosts, i, oauth2_host_t))
#define LINE(lines, i) (&APR_ARRAY_IDX(lines, i, oauth2_conf_line_t))

static void found(apr_array_header_t *out, const char *tag, int refused,
                  int host, const char *message)
{
    oauth2_finding_t *f = apr_array_push(out);

    f->tag = tag;
    f->refused = refused;
    f->host = host;
    f->message = message;
}

/* A refusal about a line of the configuration: its directive, line and
 * file, then why. */
static void refuse_line(apr_pool_t *p, apr_array_header_t *out,
                        const oauth2_conf_line_t *l, const char *tag,
                        const char *why)
{
    found(out, tag, 1, 0,
          apr_psprintf(p, "%s on line %d of %s: %s", l->name, l->line, l->file,
                       why));
}

static int named(const oauth2_conf_line_t *l, const char *name)
{
    return strcasecmp(l->name, name) == 0;
}

/* Is there a directive called name directly in the section at index
 * section (-1: the top)? */
static int in_section(const apr_array_header_t *lines, int section,
                      const char *name)
{
    int i;

    for (i = section + 1; i < lines->nelts; i++) {
        if (LINE(lines, i)->parent == section && named(LINE(lines, i), name)) {
            return 1;
        }
    }
    return 0;
}

/* Is name set in the section of line i or one that encloses it? */
static int in_scope(const apr_array_header_t *lines, int i, const char *name)
{
    int section = LINE(lines, i)->parent;

    for (;;) {
        if (in_section(lines, section, name)) {
            return 1;
        }
        if (section < 0) {
            return 0;
        }
        section = LINE(lines, section)->parent;
    }
}

/* Does a section outside any <VirtualHost> (a <Directory> every virtual
 * host uses) have a provider: the main server's, or one in every virtual
 * host? */
static int top_level_provider(const apr_array_header_t *hosts)
{
    int i;

    if (oauth2_cfg_has_provider(HOST(hosts, 0)->cfg)) {
        return 1;
    }
    for (i = 1; i < hosts->nelts; i++) {
        if (!oauth2_cfg_has_provider(HOST(hosts, i)->cfg)) {
            return 0;
        }
    }
    return hosts->nelts > 1;
}

/* The next word of a directive's arguments (quotes as Apache takes them,
 * without escapes), "" at the end. */
static const char *next_word(apr_pool_t *p, const char **s)
{
    const char *b = *s + strspn(*s, " \t"), *e;
    char q = *b == '"' || *b == '\'' ? *b : '\0';

    if (q != '\0') {
        b++;
        e = strchr(b, q);
        e = e ? e : b + strlen(b);
        *s = *e ? e + 1 : e;
    }
    else {
        e = b + strcspn(b, " \t");
        *s = e;
    }
    return apr_pstrndup(p, b, (apr_size_t)(e - b));
}

/* Is name one of some host's named providers? */
static int provider_named(const apr_array_header_t *hosts, const char *name)
{
    int i, j;

    for (i = 0; i < hosts->nelts; i++) {
        const apr_array_header_t *n = HOST(hosts, i)->cfg->providers;

        for (j = 0; n != NULL && j < n->nelts; j++) {
            if (strcasecmp(APR_ARRAY_IDX(n, j, oauth2_cfg_t *)->name, name)
                == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* Line i inside an <OAuth2Provider> section that is not one of the
 * provider's directives (Apache ran it already, for the server: a
 * ServerName there would rename the host), or an OAuth2Use naming a
 * provider no host has: OA2013. */
static int section_refusal(apr_pool_t *p, const apr_array_header_t *hosts,
                           const apr_array_header_t *lines, int i,
                           apr_array_header_t *out)
{
    const oauth2_conf_line_t *l = LINE(lines, i);
    const char *args = l->args ? l->args : l->arg, *w;

    if (l->parent >= 0 && named(LINE(lines, l->parent), "<OAuth2Provider")
        && !oauth2_cfg_in_section(l->name)) {
        refuse_line(p, out, l, "OA2013",
                    "only the provider's own directives (OAuth2Provider, "
                    "its client, endpoints and claims) may be inside "
                    "<OAuth2Provider>");
        return 1;
    }
    while (named(l, "OAuth2Use") && *(w = next_word(p, &args)) != '\0') {
        if (!provider_named(hosts, w)) {
            refuse_line(p, out, l, "OA2013",
                        apr_psprintf(p,
                                     "no <OAuth2Provider %s> section is "
                                     "configured",
                                     w));
            return 1;
        }
    }
    return 0;
}

/* The tree's refusals (OA2009, OA2302, OA2013), at most one. has[i] is whether
 * a provider applies to what line i encloses: a <VirtualHost> has one of its
 * own or the main server's. */
static void check_tree(apr_pool_t *p, const apr_array_header_t *hosts,
                       const apr_array_header_t *lines, apr_array_header_t *out)
{
    int top = top_level_provider(hosts);
    int main_has = oauth2_cfg_has_provider(HOST(hosts, 0)->cfg);
    char *has = apr_pcalloc(p, (apr_size_t)lines->nelts + 1);
    int i;

    for (i = 0; i < lines->nelts; i++) {
        const oauth2_conf_line_t *l = LINE(lines, i);
        int provider = l->parent < 0 ? top : has[l->parent];

        has[i] = named(l, "<VirtualHost")
                     ? main_has || in_section(lines, i, "OAuth2Provider")
                           || in_section(lines, i, "<OAuth2Provider")
                     : provider;
        if (section_refusal(p, hosts, lines, i, out)) {
            return;
        }
        if (named(l, "AuthType") && strcasecmp(l->arg, "oauth2") == 0
            && !provider) {
            refuse_line(p, out, l, "OA2009",
                        "AuthType oauth2, but this virtual host has no "
                        "OAuth2Provider");
            return;
        }
        if (named(l, "OAuth2AcceptBearer") && strcasecmp(l->arg, "on") == 0
            && !in_scope(lines, i, "OAuth2BearerAudience")) {
            refuse_line(p, out, l, "OA2302",
                        "OAuth2AcceptBearer On needs OAuth2BearerAudience "
                        "in the same section or one that encloses it");
            return;
        }
    }
}

/* Is host one of the names of h (ServerName, ServerAlias, wildcards, any
 * case)? */
static int names_host(const oauth2_host_t *h, const char *host)
{
    int i;

    if (h->name != NULL && strcasecmp(h->name, host) == 0) {
        return 1;
    }
    for (i = 0; h->names != NULL && i < h->names->nelts; i++) {
        if (strcasecmp(APR_ARRAY_IDX(h->names, i, const char *), host) == 0) {
            return 1;
        }
    }
    for (i = 0; h->wildcards != NULL && i < h->wildcards->nelts; i++) {
        if (apr_fnmatch(APR_ARRAY_IDX(h->wildcards, i, const char *), host,
                        APR_FNM_CASE_BLIND)
            == APR_SUCCESS) {
            return 1;
        }
    }
    return 0;
}

/* An OAuth2RedirectURI of c (the host's, or a named provider's) on a host
 * that is not one of h's names: warned, OA2012. */
static void check_redirect_uri(apr_pool_t *p, const oauth2_host_t *h,
                               const oauth2_cfg_t *c, int i,
                               apr_array_header_t *out)
{
    apr_uri_t u;

    if (c->redirect_uri == NULL
        || apr_uri_parse(p, c->redirect_uri, &u) != APR_SUCCESS
        || u.hostname == NULL || names_host(h, u.hostname)) {
        return;
    }
    found(out, "OA2012", 0, i,
          apr_psprintf(p,
                       "OAuth2RedirectURI %s%s%s is on host %s, which is not "
                       "a name of this virtual host (%s): the callback will "
                       "reach another server unless a proxy in front maps "
                       "it here",
                       c->redirect_uri, c->name ? " of provider " : "",
                       c->name ? c->name : "", u.hostname,
                       h->name ? h->name : "no ServerName"));
}

/* A host's own checks (OA2006 refused, OA2012 warned). */
static void check_host(apr_pool_t *p, const oauth2_host_t *h, int i,
                       oauth2_socache_usable_fn usable, void *ctx,
                       apr_array_header_t *out)
{
    const oauth2_cfg_t *c = h->cfg;
    const char *err = NULL;
    int j;

    if (c->store == OAUTH2_STORE_SOCACHE) {
        err = usable(ctx, p, c->store_spec);
    }
    if (err != NULL) {
        found(out, "OA2006", 1, i, err);
        return;
    }
    check_redirect_uri(p, h, c, i, out);
    for (j = 0; c->named != NULL && j < c->named->nelts; j++) {
        check_redirect_uri(p, h, APR_ARRAY_IDX(c->named, j, oauth2_cfg_t *), i,
                           out);
    }
}

static int refused(const apr_array_header_t *out)
{
    return out->nelts > 0
           && APR_ARRAY_IDX(out, out->nelts - 1, oauth2_finding_t).refused;
}

apr_array_header_t *oauth2_server_check(apr_pool_t *p, apr_pool_t *pconf,
                                        const apr_array_header_t *hosts,
                                        const apr_array_header_t *lines,
                                        oauth2_socache_usable_fn usable,
                                        void *ctx)
{
    apr_array_header_t *out = apr_array_make(p, 2, sizeof(oauth2_finding_t));
    int i;

    for (i = 0; i < hosts->nelts; i++) {
        const oauth2_host_t *h = HOST(hosts, i);
        const char *err = oauth2_cfg_finalize(pconf, h->cfg);

        if (err != NULL) {
            found(out, "OA2001", 1, i,
                  apr_psprintf(p, "%s (virtual host %s:%u)", err,
                               h->name ? h->name : "*", h->port));
            return out;
        }
    }
    check_tree(p, hosts, lines, out);
    for (i = 0; i < hosts->nelts && !refused(out); i++) {
        if (oauth2_cfg_has_provider(HOST(hosts, i)->cfg)) {
            check_host(p, HOST(hosts, i), i, usable, ctx, out);
        }
    }
    return out;
}

apr_uint32_t oauth2_server_shm_capacity(const apr_array_header_t *hosts)
{
    apr_uint32_t cap = 0;
    int i;

    for (i = 0; i < hosts->nelts; i++) {
        const oauth2_cfg_t *c = HOST(hosts, i)->cfg;

        if (oauth2_cfg_has_provider(c) && c->store != OAUTH2_STORE_SOCACHE
            && (apr_uint32_t)c->shm_capacity > cap) {
            cap = (apr_uint32_t)c->shm_capacity;
        }
    }
    return cap;
}

/* The generation's owned cookie names (oauth2_server_owned_cookies). */
static apr_array_header_t *owned;

static apr_status_t owned_reset(void *names)
{
    if (owned == names) {
        owned = NULL;
    }
    return APR_SUCCESS;
}

const apr_array_header_t *oauth2_server_owned_cookies(void)
{
    return owned;
}

/* Adds name to names unless it is there. */
static void add_name(apr_array_header_t *names, const char *name)
{
    int j;

    for (j = 0; j < names->nelts; j++) {
        if (strcmp(APR_ARRAY_IDX(names, j, const char *), name) == 0) {
            return;
        }
    }
    APR_ARRAY_PUSH(names, const char *) = name;
}

apr_array_header_t *oauth2_server_cookie_names(apr_pool_t *pconf,
                                               const apr_array_header_t *hosts)
{
    apr_array_header_t *names = apr_array_make(pconf, 2, sizeof(const char *));
    int i, j;

    apr_pool_cleanup_register(pconf, names, owned_reset, apr_pool_cleanup_null);
    owned = names;

    for (i = 0; i < hosts->nelts; i++) {
        const oauth2_cfg_t *c = HOST(hosts, i)->cfg;
        const apr_array_header_t *n = c->named;

        if (c->provider_set) {
            add_name(names, c->cookie_name);
        }
        for (j = 0; n != NULL && j < n->nelts; j++) {
            add_name(names, APR_ARRAY_IDX(n, j, oauth2_cfg_t *)->cookie_name);
        }
        if (n != NULL && n->nelts > 0) {
            add_name(names, apr_pstrcat(pconf, c->cookie_name,
                                        OAUTH2_CHOICE_COOKIE_SUFFIX, NULL));
        }
    }
    return names;
}

const char *oauth2_server_sites(apr_pool_t *pconf, apr_array_header_t *hosts,
                                const char *agent, oauth2_store_t *shm,
                                oauth2_store_make_fn make, void *ctx, int *bad)
{
    const char *err = NULL;
    int i;

    for (i = 0; i < hosts->nelts; i++) {
        oauth2_host_t *h = HOST(hosts, i);
        oauth2_site_t *site = NULL;
        oauth2_store_t *store = shm;

        h->site = NULL;
        if (!oauth2_cfg_has_provider(h->cfg)) {
            continue;
        }
        *bad = i;
        if (oauth2_site_create(pconf, h->cfg, agent, &site, &err)
            != APR_SUCCESS) {
            return err;
        }
        if (h->cfg->store == OAUTH2_STORE_SOCACHE) {
            err = make(ctx, pconf, h, site->seal_store, &store);
            if (err != NULL) {
                return err;
            }
        }
        if (oauth2_site_set_store(site, pconf, store, &err) != APR_SUCCESS
            || oauth2_site_add_named(site, pconf, agent, &err) != APR_SUCCESS) {
            return err;
        }
        h->site = site;
    }
    return NULL;
}

apr_array_header_t *oauth2_server_providers(apr_pool_t *p,
                                            const apr_array_header_t *hosts)
{
    apr_array_header_t *provs =
        apr_array_make(p, 4, sizeof(oauth2_provider_t *));
    int i;

    int j;

    for (i = 0; i < hosts->nelts; i++) {
        const oauth2_site_t *site = HOST(hosts, i)->site;

        if (site != NULL && site->prov != NULL) {
            APR_ARRAY_PUSH(provs, oauth2_provider_t *) = site->prov;
        }
        for (j = 0; site != NULL && j < site->nnamed; j++) {
            APR_ARRAY_PUSH(provs, oauth2_provider_t *) = site->named[j]->prov;
        }
    }
    return provs;
}
