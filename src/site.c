/*
 * site.c: a virtual host at run time (see site.h).
 */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include "base64url.h"
#include "conn.h"
#include "cookie.h"
#include "crypto.h"
#include "errors.h"
#include "site.h"

/* The name of the sign-in service for pages: its host. */
static const char *service_name(apr_pool_t *p, const oauth2_provider_t *prov)
{
    apr_uri_t u;

    if (apr_uri_parse(p, oauth2_provider_identity(prov), &u) == APR_SUCCESS
        && u.hostname) {
        return u.hostname;
    }
    return "the sign-in service";
}

/* A session is bound to its scope: the provider and client that made it,
 * the claims that chose its user and groups, and its cookie. A session id
 * from a virtual host with another scope never finds a record here (the
 * key), and a cookie session made there never opens here (the associated
 * data of its seal). */
static apr_status_t scope(apr_pool_t *p, oauth2_site_t *site, const char **err)
{
    const oauth2_cfg_t *c = site->cfg;
    unsigned char d[OAUTH2_SHA256_LEN];
    const char *ident =
        apr_pstrcat(p, oauth2_provider_identity(site->prov), "\n", c->client_id,
                    "\n", c->remote_user_claim, "\n", c->groups_claim, "\n",
                    c->cookie_name, NULL);

    if (oauth2_crypto_sha256(ident, strlen(ident), d) != APR_SUCCESS) {
        *err = "cannot hash the client identity";
        return OAUTH2_ECRYPTO;
    }
    memcpy(site->key_tag, d, sizeof(site->key_tag));
    site->session_aad = apr_pstrcat(
        p, c->cookie_name, ":", oauth2_base64url_encode(p, d, sizeof(d)), NULL);
    return APR_SUCCESS;
}

apr_status_t oauth2_site_create(apr_pool_t *p, const oauth2_cfg_t *cfg,
                                const char *user_agent, oauth2_site_t **out,
                                const char **err)
{
    oauth2_site_t *site = apr_pcalloc(p, sizeof(*site));
    apr_uri_t u;
    apr_status_t rv;

    site->cfg = cfg;
    site->http.timeout_ms = cfg->http_timeout * 1000L;
    site->http.connect_timeout_ms = cfg->http_timeout * 1000L;
    site->http.ca_file = cfg->ca_file;
    site->http.user_agent = user_agent;
    rv = oauth2_seal_create(
        p, cfg->secrets,
        cfg->name ? apr_pstrcat(p, "state:", cfg->name, NULL) : "state",
        &site->seal_state, err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_seal_create(p, cfg->secrets, "session", &site->seal_session,
                                err);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_seal_create(p, cfg->secrets, "store", &site->seal_store,
                                err);
    }
    if (rv == APR_SUCCESS && cfg->provider_set) {
        rv = oauth2_provider_create(p, cfg, &site->http, &site->prov, err);
        if (rv == APR_SUCCESS) {
            rv = scope(p, site, err);
        }
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    site->callback_path = apr_pstrcat(p, cfg->prefix, "/callback", NULL);
    if (cfg->redirect_uri != NULL
        && apr_uri_parse(p, cfg->redirect_uri, &u) == APR_SUCCESS) {
        site->callback_path = u.path ? u.path : "/";
    }
    site->service =
        site->prov ? service_name(p, site->prov) : "the sign-in service";
    site->cookie_sessions = cfg->store == OAUTH2_STORE_COOKIE;
    site->name = cfg->name;
    *out = site;
    return APR_SUCCESS;
}

apr_status_t oauth2_site_add_named(oauth2_site_t *site, apr_pool_t *p,
                                   const char *user_agent, const char **err)
{
    const apr_array_header_t *named = site->cfg->named;
    int i;

    if (named == NULL || named->nelts == 0) {
        return APR_SUCCESS;
    }
    site->named = apr_pcalloc(p, sizeof(*site->named) * named->nelts);
    site->choice_cookie = apr_pstrcat(p, site->cfg->cookie_name,
                                      OAUTH2_CHOICE_COOKIE_SUFFIX, NULL);
    for (i = 0; i < named->nelts; i++) {
        const oauth2_cfg_t *c = APR_ARRAY_IDX(named, i, const oauth2_cfg_t *);
        oauth2_site_t *n = NULL;
        apr_status_t rv = oauth2_site_create(p, c, user_agent, &n, err);

        if (rv == APR_SUCCESS) {
            rv = oauth2_site_set_store(n, p, site->store, err);
        }
        if (rv != APR_SUCCESS) {
            *err = apr_psprintf(p, "<OAuth2Provider %s>: %s", c->name, *err);
            return rv;
        }
        n->choice_cookie = site->choice_cookie;
        site->named[site->nnamed++] = n;
    }
    return APR_SUCCESS;
}

const oauth2_site_t *oauth2_site_named(const oauth2_site_t *site,
                                       const char *name)
{
    int i;

    for (i = 0; site != NULL && i < site->nnamed; i++) {
        if (strcasecmp(site->named[i]->name, name) == 0) {
            return site->named[i];
        }
    }
    return NULL;
}

apr_status_t oauth2_site_set_store(oauth2_site_t *site, apr_pool_t *p,
                                   oauth2_store_t *store, const char **err)
{
    site->store = store;
    site->memo = store != NULL && oauth2_store_can_check(store);
    return oauth2_groups_create(p, site->cfg, &site->http, store, &site->groups,
                                err);
}

apr_status_t oauth2_site_key(const oauth2_site_t *site, const char *id,
                             apr_size_t len, unsigned char *key)
{
    return oauth2_crypto_sha256_pair(site->key_tag, sizeof(site->key_tag), id,
                                     len, key);
}

apr_status_t oauth2_site_marker_key(const oauth2_site_t *site,
                                    oauth2_request_t *req, const char *kind,
                                    const char *value, unsigned char *key)
{
    const char *id = apr_pstrcat(req->pool, kind, ":", value, NULL);

    return oauth2_site_key(site, id, strlen(id), key);
}

void oauth2_site_cookie(const oauth2_site_t *site, oauth2_request_t *req,
                        oauth2_response_t *resp, const char *name,
                        const char *value, long max_age, const char *path)
{
    const oauth2_cfg_t *c = site->cfg;
    oauth2_cookie_attrs_t a;

    if (c->cookie_secure == OAUTH2_UNSET) {
        oauth2_request_complete(req);
    }
    a.path = path ? path : "/";
    a.domain = c->cookie_domain;
    a.same_site = c->cookie_samesite;
    a.secure = c->cookie_secure == OAUTH2_UNSET ? req->https : c->cookie_secure;
    oauth2_response_cookie(
        resp, req->pool,
        oauth2_cookie_set_header(req->pool, name, value, max_age, &a));
}

const char *oauth2_site_redirect_uri(const oauth2_site_t *site,
                                     oauth2_request_t *req)
{
    if (site->cfg->redirect_uri != NULL) {
        return site->cfg->redirect_uri;
    }
    return oauth2_request_url(req, site->callback_path);
}

/* The trace line of the endpoints a login uses (URLs without their
 * query: a configured one may carry parameters). */
static void story_endpoints(oauth2_request_t *req, const oauth2_endpoints_t *ep)
{
#define URL(u) (int)strcspn((u) ? (u) : "(none)", "?"), (u) ? (u) : "(none)"
    OAUTH2_LOG(req, OAUTH2_LOG_TRACE2,
               "OA2411: endpoints: authorization %.*s, token %.*s, userinfo "
               "%.*s, jwks %.*s, end_session %.*s; ID tokens %s, back-channel "
               "logout %s",
               URL(ep->authorization), URL(ep->token), URL(ep->userinfo),
               URL(ep->jwks), URL(ep->end_session),
               ep->oidc ? "expected" : "not expected",
               ep->backchannel_logout ? "supported" : "not supported");
#undef URL
}

apr_status_t oauth2_site_endpoints(const oauth2_site_t *site,
                                   oauth2_request_t *req,
                                   const oauth2_endpoints_t **ep,
                                   const char **err)
{
    oauth2_provider_use_t use;
    apr_status_t rv = oauth2_provider_endpoints_used(site->prov, req->pool,
                                                     req->now, ep, err, &use);

    if (rv == APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_DEBUG,
                   "OA2402: provider %.200s: discovery document %s",
                   oauth2_provider_identity(site->prov),
                   oauth2_provider_use_text(req->pool, &use, req->now));
        story_endpoints(req, *ep);
    }
    return rv;
}

void oauth2_site_client(const oauth2_site_t *site, oauth2_request_t *req,
                        oauth2_client_t *cl)
{
    cl->cfg = site->cfg;
    cl->prov = site->prov;
    cl->http = &site->http;
    cl->redirect_uri = oauth2_site_redirect_uri(site, req);
    cl->req = req;
}
