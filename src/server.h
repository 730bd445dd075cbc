/*
 * server.h: the whole server as startup sees it: every virtual host's
 * configuration, and what Apache's configuration tree says around the
 * module's directives. It decides what `apache2 -t` must refuse (the
 * configuration test runs check_config, never post_config, so every
 * mistake that would stop a start or fail every request is found here)
 * and what post_config needs over all virtual hosts (the shm table's
 * capacity, the cookie names every host strips).
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

/** A virtual host (the main server first, then Apache's order). */
typedef struct {
    oauth2_cfg_t *cfg;
    const char *name;                    /* ServerName, or NULL */
    unsigned int port;                   /* its port, for messages */
    const apr_array_header_t *names;     /* ServerAlias (const char *) */
    const apr_array_header_t *wildcards; /* ServerAlias with * or ? */
} oauth2_host_t;

/** One directive of the configuration tree, in the tree's order (a
 * section before what it encloses). Inactive <IfModule> and <IfDefine>
 * sections are not in the tree. */
typedef struct {
    const char *name; /* as written: "AuthType", "<VirtualHost" */
    const char *arg;  /* its first argument, unquoted ("" when none) */
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
 * (const char *, from p): a browser sends one host's cookies to every
 * port and virtual host of the same name, so each strips them all, also
 * where no provider is configured.
 */
apr_array_header_t *oauth2_server_cookie_names(apr_pool_t *p,
                                               const apr_array_header_t *hosts);

#endif /* OAUTH2_SERVER_H */
