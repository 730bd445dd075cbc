/*
 * apache_check.c: what `apache2 -t` must refuse. The configuration test
 * runs the check_config hook but never post_config, so every mistake that
 * would stop a start or fail every request is found here, from the
 * configuration tree (what Apache will run: inactive <IfModule> and
 * <IfDefine> sections are not in it) and from the servers' settings:
 *   - AuthType oauth2 in a virtual host without a provider, OA2009;
 *   - OAuth2AcceptBearer On with no OAuth2BearerAudience in its section
 *     or an enclosing one, OA2302;
 *   - an OAuth2SessionStore socache whose provider module is not loaded
 *     or whose arguments it refuses, OA2006;
 * and it warns (OA2012) about an OAuth2RedirectURI on a host that is not
 * one of the virtual host's names. .htaccess files are read per request:
 * their mistakes are found there (the same tags, answered with 500).
 */
#include <strings.h>

#include "apr_strings.h"
#include "ap_socache.h"
#include "http_config.h"
#include "http_log.h"
#include "util_cfgtree.h"

#include "apache_check.h"

static int named(const ap_directive_t *d, const char *name)
{
    return strcasecmp(d->directive, name) == 0;
}

/* The first word of a directive's arguments. */
static const char *first_arg(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args ? d->args : "";

    return ap_getword_conf(p, &args);
}

/* Is there a directive called name among the siblings starting at d? */
static int sibling(const ap_directive_t *d, const char *name)
{
    for (; d != NULL; d = d->next) {
        if (named(d, name)) {
            return 1;
        }
    }
    return 0;
}

/* Is name set in the section of d or one that encloses it? */
static int in_scope(const ap_directive_t *d, const char *name)
{
    for (; d != NULL; d = d->parent) {
        const ap_directive_t *first =
            d->parent ? d->parent->first_child : ap_conftree;

        if (sibling(first, name)) {
            return 1;
        }
    }
    return 0;
}

static int refuse(server_rec *s, const ap_directive_t *d, const char *tag,
                  const char *what)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                 "%s: %s on line %d of %s: %s", tag, d->directive, d->line_num,
                 d->filename, what);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* One directive: provider is whether its virtual host (or the main
 * server, outside any) has a provider. */
static int check_one(apr_pool_t *p, server_rec *s, const ap_directive_t *d,
                     int provider)
{
    if (named(d, "AuthType")
        && strcasecmp(first_arg(p, d), AUTH_OAUTH2_TYPE) == 0 && !provider) {
        return refuse(s, d, "OA2009",
                      "AuthType oauth2, but this virtual host has no "
                      "OAuth2Provider");
    }
    if (named(d, "OAuth2AcceptBearer") && strcasecmp(first_arg(p, d), "on") == 0
        && !in_scope(d, "OAuth2BearerAudience")) {
        return refuse(s, d, "OA2302",
                      "OAuth2AcceptBearer On needs OAuth2BearerAudience in "
                      "the same section or one that encloses it");
    }
    return OK;
}

/* Walks the tree from d; provider as in check_one. A <VirtualHost> has a
 * provider of its own or the main server's. */
static int walk(apr_pool_t *p, server_rec *s, const ap_directive_t *d,
                int provider)
{
    int rc;

    for (; d != NULL; d = d->next) {
        int inner = provider;

        rc = check_one(p, s, d, provider);
        if (rc != OK) {
            return rc;
        }
        if (named(d, "<VirtualHost")) {
            inner = auth_oauth2_srv(s)->cfg->provider_set
                    || sibling(d->first_child, "OAuth2Provider");
        }
        rc = walk(p, s, d->first_child, inner);
        if (rc != OK) {
            return rc;
        }
    }
    return OK;
}

/* The socache provider of a store spec is loaded and takes its arguments
 * (create parses them; nothing is opened). */
static const char *socache_usable(apr_pool_t *p, const char *spec)
{
    const char *colon = strchr(spec, ':');
    const char *name = apr_pstrmemdup(p, spec, (apr_size_t)(colon - spec));
    const ap_socache_provider_t *prov = ap_lookup_provider(
        AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    ap_socache_instance_t *inst = NULL;
    const char *err;

    if (prov == NULL) {
        return apr_psprintf(p,
                            "OAuth2SessionStore %s: no socache provider '%s' "
                            "(LoadModule socache_%s_module, a2enmod "
                            "socache_%s)",
                            spec, name, name, name);
    }
    err = prov->create(&inst, colon + 1, p, p);
    return err ? apr_psprintf(p, "OAuth2SessionStore %s: %s", spec, err) : NULL;
}

/* Is host one of the names of s (ServerName, ServerAlias, wildcards)? */
static int names_host(apr_pool_t *p, const server_rec *s, const char *host)
{
    const apr_array_header_t *lists[2] = { s->names, s->wild_names };
    int i, j;

    if (s->server_hostname && strcasecmp(s->server_hostname, host) == 0) {
        return 1;
    }
    for (i = 0; i < 2; i++) {
        for (j = 0; lists[i] != NULL && j < lists[i]->nelts; j++) {
            const char *n = APR_ARRAY_IDX(lists[i], j, const char *);

            if (i == 0 ? strcasecmp(n, host) == 0
                       : ap_strcasecmp_match(host, n) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static void check_redirect_host(apr_pool_t *p, server_rec *s,
                                const oauth2_cfg_t *c)
{
    apr_uri_t u;

    if (c->redirect_uri == NULL
        || apr_uri_parse(p, c->redirect_uri, &u) != APR_SUCCESS
        || u.hostname == NULL || names_host(p, s, u.hostname)) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                 "OA2012: OAuth2RedirectURI %s is on host %s, which is not a "
                 "name of this virtual host (%s): the callback will reach "
                 "another server unless a proxy in front maps it here",
                 c->redirect_uri, u.hostname,
                 s->server_hostname ? s->server_hostname : "no ServerName");
}

/* Does a section outside any <VirtualHost> (a <Directory> every virtual
 * host uses) have a provider: the main server's, or one in every virtual
 * host? */
static int top_level_provider(const server_rec *s)
{
    const server_rec *vs;

    if (auth_oauth2_srv(s)->cfg->provider_set) {
        return 1;
    }
    for (vs = s->next; vs != NULL; vs = vs->next) {
        if (!auth_oauth2_srv(vs)->cfg->provider_set) {
            return 0;
        }
    }
    return s->next != NULL;
}

int auth_oauth2_check_tree(apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;
    int rc = walk(ptemp, s, ap_conftree, top_level_provider(s));

    for (vs = s; rc == OK && vs != NULL; vs = vs->next) {
        const oauth2_cfg_t *c = auth_oauth2_srv(vs)->cfg;
        const char *err = NULL;

        if (!c->provider_set) {
            continue;
        }
        if (c->store == OAUTH2_STORE_SOCACHE) {
            err = socache_usable(ptemp, c->store_spec);
        }
        if (err != NULL) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, vs,
                         "OA2006: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        check_redirect_host(ptemp, vs, c);
    }
    return rc;
}
