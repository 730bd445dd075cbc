/*
 * site.h: what a virtual host's requests need at run time, built once
 * from its finalized configuration (post_config) and read-only after:
 * the provider and the HTTP options of calls to it, the three seals
 * (login states, cookie sessions, records in remote stores), the session
 * store, the scope that binds sessions to this client, the callback path,
 * the API lookups of the group rules.
 *
 * The store is plugged in after the site is made: the glue builds socache
 * stores (Apache's API) with the site's store seal; shm is made once for
 * the whole server.
 */
#ifndef OAUTH2_SITE_H
#define OAUTH2_SITE_H

#include <apr_pools.h>

#include "config.h"
#include "groups.h"
#include "http.h"
#include "login.h"
#include "metadata.h"
#include "request.h"
#include "response.h"
#include "seal.h"
#include "store.h"

/** A virtual host at run time, or one of its named providers. Fields are
 * set by the functions below. */
typedef struct oauth2_site_s {
    const oauth2_cfg_t *cfg;
    oauth2_provider_t *prov;
    oauth2_http_opts_t http;
    oauth2_seal_t *seal_state;
    oauth2_seal_t *seal_session;
    oauth2_seal_t *seal_store;
    oauth2_store_t *store;     /* sessions; with cookie sessions only the
                                  one-time markers and the bearer cache */
    int cookie_sessions;       /* OAuth2SessionStore cookie */
    int memo;                  /* the store can check a kept copy
                                  (oauth2_store_can_check): the connection's
                                  memo serves */
    unsigned char key_tag[8];  /* binds session keys to the scope */
    const char *session_aad;   /* binds cookie sessions to the scope */
    const char *callback_path; /* path part of the redirect URI */
    const char *service;       /* the sign-in service, for pages */
    oauth2_groups_t *groups;   /* API lookups for Require rules */
    /* <OAuth2Provider NAME>: a named provider's site has its name; a
     * virtual host's site lists its named providers' sites (the same
     * store; each its own provider, client, scope, state seal, cookie and
     * endpoints under OAuth2Prefix/NAME). A virtual host with named
     * providers only has a site without a provider (prov NULL): its
     * endpoints under OAuth2Prefix serve all of them (access.h,
     * endpoints.h). */
    const char *name;
    const struct oauth2_site_s **named;
    int nnamed;
    const char *choice_cookie; /* the remembered choice, with named ones */
} oauth2_site_t;

/**
 * Builds a site from a finalized configuration (startup, no network): its
 * seals, provider, HTTP options (user_agent for calls), callback path,
 * scope. From p. A configuration without a provider of its own (named
 * ones only) makes a site without one. A named provider's state seal is
 * its own, so a login state made for one never opens at another's
 * callback (mix-up, RFC 9700 §4.4).
 * @return APR_SUCCESS, or an error with *err
 */
apr_status_t oauth2_site_create(apr_pool_t *p, const oauth2_cfg_t *cfg,
                                const char *user_agent, oauth2_site_t **out,
                                const char **err);

/**
 * Plugs the session store in (may be NULL: none) and prepares the API
 * lookups, which cache their tokens there.
 * @return APR_SUCCESS, or an error with *err
 */
apr_status_t oauth2_site_set_store(oauth2_site_t *site, apr_pool_t *p,
                                   oauth2_store_t *store, const char **err);

/**
 * The store key of an id (a session id, "state:...", "bearer:..."):
 * SHA-256 of the scope's tag and the id, so that no other scope finds it.
 * @return APR_SUCCESS or OAUTH2_ECRYPTO
 */
apr_status_t oauth2_site_key(const oauth2_site_t *site, const char *id,
                             apr_size_t len, unsigned char *key);

/** The key of a marker or index entry: "kind:value" under the scope. */
apr_status_t oauth2_site_marker_key(const oauth2_site_t *site,
                                    oauth2_request_t *req, const char *kind,
                                    const char *value, unsigned char *key);

/**
 * Adds a Set-Cookie to resp with the site's attributes (domain,
 * SameSite, Secure by OAuth2CookieSecure or the request's scheme).
 * max_age < 0: a browser-session cookie; 0 with "": a deletion.
 */
void oauth2_site_cookie(const oauth2_site_t *site, oauth2_request_t *req,
                        oauth2_response_t *resp, const char *name,
                        const char *value, long max_age, const char *path);

/**
 * Builds the sites of cfg's named providers (oauth2_cfg_finalize's
 * cfg->named) into site->named, each with site's store.
 * @return APR_SUCCESS, or an error with *err naming the provider
 */
apr_status_t oauth2_site_add_named(oauth2_site_t *site, apr_pool_t *p,
                                   const char *user_agent, const char **err);

/** The named provider of site called name (any case), or NULL. */
const oauth2_site_t *oauth2_site_named(const oauth2_site_t *site,
                                       const char *name);

/** The absolute callback URL for this request. */
const char *oauth2_site_redirect_uri(const oauth2_site_t *site,
                                     oauth2_request_t *req);

/**
 * The provider's endpoints for a login's request (oauth2_provider_
 * endpoints), with a debug line (OA2402) saying how the discovery document
 * was got: cached, fetched (and how long it took), configured.
 */
apr_status_t oauth2_site_endpoints(const oauth2_site_t *site,
                                   oauth2_request_t *req,
                                   const oauth2_endpoints_t **ep,
                                   const char **err);

/** The client this site is to its provider, for this request. */
void oauth2_site_client(const oauth2_site_t *site, oauth2_request_t *req,
                        oauth2_client_t *cl);

#endif /* OAUTH2_SITE_H */
