/*
 * server.h: the whole server as startup sees it: every virtual host's
 * configuration, and what Apache's configuration tree says around the
 * module's directives. It decides what `apache2 -t` must refuse (the
 * configuration test runs check_config, never post_config, so every
 * mistake that would stop a start or fail every request is found here)
 * and what post_config builds over all virtual hosts (the shm table's
 * capacity, each host's site with its store, the providers of the shared
 * view, the cookie names every host strips).
 *
 * The glue flattens Apache's structures into the plain ones below
 * (mod_auth_oauth2.c's check_config, src/apache.c's auth_oauth2_hosts)
 * and logs the findings; it decides nothing.
 */
#ifndef OAUTH2_SERVER_H
#define OAUTH2_SERVER_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "config.h"
#include "site.h"
#include "store.h"

/** A virtual host (the main server first, then Apache's order). */
typedef struct {
    oauth2_cfg_t *cfg;
    const char *name;                    /* ServerName, or NULL */
    unsigned int port;                   /* its port, for messages */
    const apr_array_header_t *names;     /* ServerAlias (const char *) */
    const apr_array_header_t *wildcards; /* ServerAlias with * or ? */
    void *server;        /* the glue's own handle (server_rec) */
    oauth2_site_t *site; /* oauth2_server_sites: NULL without a provider */
} oauth2_host_t;

/** One directive of the configuration tree, in the tree's order (a
 * section before what it encloses). Inactive <IfModule> and <IfDefine>
 * sections are not in the tree. */
typedef struct {
    const char *name; /* as written: "AuthType", "<VirtualHost" */
    const char *arg;  /* its first argument, unquoted ("" when none) */
    const char *args; /* all of them, as written (or NULL) */
    const char *file;
    int line;
    int parent; /* index of the enclosing section, -1 at the top */
} oauth2_conf_line_t;

/** What the check found (in the order found; a refusal is the last). */
typedef struct {
    const char *tag; /* "OA2009" */
    int refused;     /* the configuration is refused; else a warning */
    int host;        /* index of the virtual host it is about */
    const char *message;
} oauth2_finding_t;

/** Whether the socache provider of spec ("redis:host:port") is loaded
 * and takes its arguments: NULL, or the whole reason (Apache knows its
 * providers, the engine does not). */
typedef const char *(*oauth2_socache_usable_fn)(void *ctx, apr_pool_t *p,
                                                const char *spec);

/**
 * Checks the server's configuration, in this order, and stops at the
 * first refusal:
 *   - finalizes every host's configuration (oauth2_cfg_finalize, from
 *     pconf, so the hosts keep it): OA2001;
 *   - AuthType oauth2 where no provider applies (a section of a
 *     <VirtualHost> without an OAuth2Provider of its own or the main
 *     server's; outside any, unless the main server or every virtual
 *     host has one): OA2009;
 *   - OAuth2AcceptBearer On without an OAuth2BearerAudience in its
 *     section or one that encloses it: OA2302;
 *   - a directive other than the provider's own inside <OAuth2Provider>,
 *     an OAuth2Use naming a provider no host has: OA2013;
 *   - per host with a provider: a socache store usable() refuses, OA2006;
 *     an OAuth2RedirectURI on a host that is not one of the host's names
 *     (ServerName, ServerAlias, wildcards) is a warning, OA2012.
 * .htaccess files are read per request: their mistakes are found there.
 * @return the findings (oauth2_finding_t), from p; empty when all is well
 */
apr_array_header_t *oauth2_server_check(apr_pool_t *p, apr_pool_t *pconf,
                                        const apr_array_header_t *hosts,
                                        const apr_array_header_t *lines,
                                        oauth2_socache_usable_fn usable,
                                        void *ctx);

/** The largest shm capacity a host with a provider asks for (0: none
 * keeps its sessions in the shm table). */
apr_uint32_t oauth2_server_shm_capacity(const apr_array_header_t *hosts);

/**
 * Every session cookie name a host with a provider owns, each once
 * (const char *, from pconf): a browser sends one host's cookies to every
 * port and virtual host of the same name, so each strips them all, also
 * where no provider is configured. Kept for the generation (until pconf
 * is cleared) as oauth2_server_owned_cookies (post_config: startup is
 * single-threaded, the children only read it).
 */
apr_array_header_t *oauth2_server_cookie_names(apr_pool_t *pconf,
                                               const apr_array_header_t *hosts);

/** The names of the last oauth2_server_cookie_names of this generation,
 * or NULL. */
const apr_array_header_t *oauth2_server_owned_cookies(void);

/** Makes the session store of host h, whose OAuth2SessionStore is a
 * socache (Apache knows its providers, the engine does not), sealed with
 * seal: NULL, or the whole reason. */
typedef const char *(*oauth2_store_make_fn)(void *ctx, apr_pool_t *pconf,
                                            const oauth2_host_t *h,
                                            const oauth2_seal_t *seal,
                                            oauth2_store_t **store);

/**
 * Builds the site of every host with a provider (post_config, from
 * pconf; h->site, agent its HTTP clients' User-Agent), with its store:
 * shm (the server's session table, every host's but the socache ones), or
 * the one make makes with the site's store seal. Stops at the first
 * failure.
 * @return NULL, or the reason (*bad: the index of its host)
 */
const char *oauth2_server_sites(apr_pool_t *pconf, apr_array_header_t *hosts,
                                const char *agent, oauth2_store_t *shm,
                                oauth2_store_make_fn make, void *ctx, int *bad);

/** The providers of the hosts' sites (oauth2_provider_t *, in the hosts'
 * order, from p), for the server's provider view (kept.h). */
apr_array_header_t *oauth2_server_providers(apr_pool_t *p,
                                            const apr_array_header_t *hosts);

#endif /* OAUTH2_SERVER_H */
