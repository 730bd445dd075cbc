/*
 * metadata.c: provider discovery (OpenID Connect Discovery 1.0 §4) and
 * JWKS caching (see metadata.h).
 *
 * Each cached document is a snapshot in a pool of its own (created
 * unmanaged, so threads never create pools under a shared parent). The
 * provider's mutex guards the snapshot pointers, the reference counts and
 * the backoff state, never a network call; a second mutex per document
 * lets one thread per process fetch it while the others wait for the
 * result.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <json-c/json.h>

#include "bounds.h"
#include "claims.h"
#include "errors.h"
#include "metadata.h"

typedef enum {
    SNAP_DISCOVERY,
    SNAP_JWKS
} snap_kind_e;

/* An immutable fetched document. */
typedef struct {
    apr_pool_t *pool;
    apr_uint32_t refs; /* guarded by the provider's mutex */
    apr_time_t fetched;
    oauth2_endpoints_t ep; /* SNAP_DISCOVERY */
    oauth2_jwks_t *jwks;   /* SNAP_JWKS */
} snap_t;

/* Cache state of one document. */
typedef struct {
    snap_t *cur;
    apr_time_t next_try; /* no fetch before this (backoff) */
    apr_interval_time_t backoff;
    apr_uint32_t fetches;
    apr_uint32_t failures;
    /* One fetch of this document at a time per process. A JWKS fetch may
     * fetch the discovery document inside its own (lock order: JWKS, then
     * discovery; never the other way). */
    apr_thread_mutex_t *fetch_mutex;
} cache_t;

struct oauth2_provider_t {
    const oauth2_cfg_t *cfg;
    oauth2_http_opts_t http;
    const char *issuer;
    const char *discovery_url; /* NULL: no discovery (static endpoints) */
    oauth2_endpoints_t fixed;  /* preset endpoints and overrides */
    apr_thread_mutex_t *mutex;
    cache_t docs[2]; /* by snap_kind_e */
};

/* A held reference to a snapshot, released with the request pool. */
typedef struct {
    oauth2_provider_t *prov;
    snap_t *snap;
} hold_t;

static void snap_unref_locked(snap_t *s)
{
    if (s != NULL && --s->refs == 0) {
        apr_pool_destroy(s->pool);
    }
}

static apr_status_t hold_release(void *data)
{
    hold_t *h = data;

    apr_thread_mutex_lock(h->prov->mutex);
    snap_unref_locked(h->snap);
    apr_thread_mutex_unlock(h->prov->mutex);
    return APR_SUCCESS;
}

/* Takes a reference (mutex held) that lives as long as p. */
static void hold_locked(oauth2_provider_t *prov, apr_pool_t *p, snap_t *s)
{
    hold_t *h = apr_palloc(p, sizeof(*h));

    s->refs++;
    h->prov = prov;
    h->snap = s;
    apr_pool_cleanup_register(p, h, hold_release, apr_pool_cleanup_null);
}

/* Preset issuers and static endpoints. */
static const char *preset_setup(apr_pool_t *p, oauth2_provider_t *prov)
{
    const oauth2_cfg_t *c = prov->cfg;
    const char *base = c->preset_base;

    switch (c->preset) {
    case OAUTH2_PRESET_NONE:
        prov->issuer = c->issuer;
        break;
    case OAUTH2_PRESET_GOOGLE:
        prov->issuer = base ? base : "https://accounts.google.com";
        /* Admin SDK Directory API, "Service endpoint". */
        prov->fixed.google_directory = "https://admin.googleapis.com";
        break;
    case OAUTH2_PRESET_GITLAB:
        prov->issuer = base ? base : "https://gitlab.com";
        /* GitLab docs "REST API": BASE/api/v4. */
        prov->fixed.gitlab_api = apr_pstrcat(p, prov->issuer, "/api/v4", NULL);
        break;
    case OAUTH2_PRESET_KEYCLOAK:
        prov->issuer = base;
        break;
    case OAUTH2_PRESET_MICROSOFT:
        prov->issuer =
            strstr(base, "://") != NULL
                ? base
                : apr_pstrcat(p, "https://login.microsoftonline.com/", base,
                              "/v2.0", NULL);
        break;
    case OAUTH2_PRESET_GITHUB:
        prov->issuer = "";
        prov->fixed.authorization =
            apr_pstrcat(p, base ? base : "https://github.com",
                        "/login/oauth/authorize", NULL);
        prov->fixed.token = apr_pstrcat(p, base ? base : "https://github.com",
                                        "/login/oauth/access_token", NULL);
        prov->fixed.github_api = base ? apr_pstrcat(p, base, "/api/v3", NULL)
                                      : "https://api.github.com";
        break;
    }
    if (prov->issuer == NULL) {
        return "OAuth2Provider: no issuer";
    }
    return NULL;
}

/* 1 when the space-separated scope holds "openid": without it the
 * request is plain OAuth 2.0 (OIDC Core §3.1.2.1) and no ID token comes
 * back; identity is then the userinfo endpoint's business. */
static int scope_has_openid(const char *scope)
{
    const char *s = scope ? scope : OAUTH2_DEFAULT_SCOPE;

    while (*s != '\0') {
        apr_size_t n;

        s += strspn(s, " \t");
        n = strcspn(s, " \t");
        if (n == 6 && strncmp(s, "openid", 6) == 0) {
            return 1;
        }
        s += n;
    }
    return 0;
}

/* OpenID Connect always reads the discovery document (issuer, keys);
 * plain OAuth 2.0 only when OAuth2Endpoint does not name both the
 * authorization and the token endpoints; GitHub never. */
static int needs_discovery(const oauth2_provider_t *prov)
{
    if (prov->cfg->preset == OAUTH2_PRESET_GITHUB) {
        return 0;
    }
    return prov->fixed.oidc || prov->fixed.authorization == NULL
           || prov->fixed.token == NULL;
}

/* Endpoint overrides win over everything discovered. */
static void apply_overrides(const oauth2_cfg_t *c, oauth2_endpoints_t *ep)
{
    const char *const *o = c->endpoints;

    ep->authorization = o[OAUTH2_EP_AUTHORIZATION] ? o[OAUTH2_EP_AUTHORIZATION]
                                                   : ep->authorization;
    ep->token = o[OAUTH2_EP_TOKEN] ? o[OAUTH2_EP_TOKEN] : ep->token;
    ep->userinfo = o[OAUTH2_EP_USERINFO] ? o[OAUTH2_EP_USERINFO] : ep->userinfo;
    ep->jwks = o[OAUTH2_EP_JWKS] ? o[OAUTH2_EP_JWKS] : ep->jwks;
    ep->end_session =
        o[OAUTH2_EP_END_SESSION] ? o[OAUTH2_EP_END_SESSION] : ep->end_session;
    ep->github_api =
        o[OAUTH2_EP_GITHUB_API] ? o[OAUTH2_EP_GITHUB_API] : ep->github_api;
    ep->gitlab_api =
        o[OAUTH2_EP_GITLAB_API] ? o[OAUTH2_EP_GITLAB_API] : ep->gitlab_api;
    ep->google_directory = o[OAUTH2_EP_GOOGLE_DIRECTORY]
                               ? o[OAUTH2_EP_GOOGLE_DIRECTORY]
                               : ep->google_directory;
}

apr_status_t oauth2_provider_create(apr_pool_t *p, const oauth2_cfg_t *cfg,
                                    const oauth2_http_opts_t *http,
                                    oauth2_provider_t **out, const char **err)
{
    oauth2_provider_t *prov = apr_pcalloc(p, sizeof(*prov));
    const char *e;

    prov->cfg = cfg;
    prov->http = *http;
    e = preset_setup(p, prov);
    if (e != NULL) {
        *err = e;
        return APR_EINVAL;
    }
    prov->fixed.issuer = prov->issuer;
    prov->fixed.oidc =
        cfg->preset != OAUTH2_PRESET_GITHUB && scope_has_openid(cfg->scope);
    apply_overrides(cfg, &prov->fixed);
    if (needs_discovery(prov)) {
        const char *iss = prov->issuer;
        apr_size_t n = strlen(iss);

        /* OIDC Discovery §4: the issuer with any trailing '/' removed. */
        prov->discovery_url = apr_pstrcat(
            p, apr_pstrmemdup(p, iss, n > 0 && iss[n - 1] == '/' ? n - 1 : n),
            "/.well-known/openid-configuration", NULL);
    }
    *out = prov;
    return APR_SUCCESS;
}

/* Releases the cached documents when the process ends (their pools are
 * unmanaged: nothing else would free them). */
static apr_status_t provider_cleanup(void *data)
{
    oauth2_provider_t *prov = data;
    int i;

    for (i = 0; i < 2; i++) {
        snap_unref_locked(prov->docs[i].cur);
        prov->docs[i].cur = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_provider_child_init(oauth2_provider_t *prov,
                                        apr_pool_t *pchild)
{
    apr_status_t rv;

    apr_pool_cleanup_register(pchild, prov, provider_cleanup,
                              apr_pool_cleanup_null);
    rv =
        apr_thread_mutex_create(&prov->mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_mutex_create(&prov->docs[SNAP_DISCOVERY].fetch_mutex,
                                     APR_THREAD_MUTEX_DEFAULT, pchild);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_mutex_create(&prov->docs[SNAP_JWKS].fetch_mutex,
                                     APR_THREAD_MUTEX_DEFAULT, pchild);
    }
    return rv;
}

const char *oauth2_provider_issuer(const oauth2_provider_t *prov)
{
    return prov->issuer;
}

const char *oauth2_provider_identity(const oauth2_provider_t *prov)
{
    if (prov->issuer != NULL && *prov->issuer != '\0') {
        return prov->issuer;
    }
    return prov->fixed.authorization ? prov->fixed.authorization : "";
}

/* A member that must be an absolute http(s) URL when present. */
static apr_status_t doc_url(apr_pool_t *p, const oauth2_claims_t *doc,
                            const char *name, int required, const char **out,
                            const char **err)
{
    const char *v = oauth2_claims_get_string(doc, name);

    *out = NULL;
    if (v == NULL) {
        if (required) {
            *err = apr_psprintf(p, "discovery document has no %s", name);
            return OAUTH2_EUPSTREAM;
        }
        return APR_SUCCESS;
    }
    if (oauth2_cfg_check_url(p, v, 0) != NULL) {
        *err = apr_psprintf(p, "discovery document has a bad %s", name);
        return OAUTH2_EUPSTREAM;
    }
    *out = apr_pstrdup(p, v);
    return APR_SUCCESS;
}

/* A member that is the JSON boolean true. */
static int doc_true(const oauth2_claims_t *doc, const char *name)
{
    json_object *v = oauth2_claims_get(doc, name);

    return v != NULL && json_object_is_type(v, json_type_boolean)
           && json_object_get_boolean(v);
}

/* Checks and copies a discovery document into ep. */
static apr_status_t parse_discovery(apr_pool_t *p, oauth2_provider_t *prov,
                                    const char *body, apr_size_t len,
                                    oauth2_endpoints_t *ep, const char **err)
{
    oauth2_claims_t *doc;
    const char *iss;
    apr_status_t rv;
    /* Plain OAuth 2.0 has no ID token to verify, so no keys to find. */
    int no_jwks =
        prov->cfg->endpoints[OAUTH2_EP_JWKS] != NULL || !prov->fixed.oidc;

    rv = oauth2_claims_parse(p, body, len, OAUTH2_MAX_RESPONSE, &doc, err);
    if (rv != APR_SUCCESS) {
        *err = apr_pstrcat(p, "discovery document: ", *err, NULL);
        return OAUTH2_EUPSTREAM;
    }
    iss = oauth2_claims_get_string(doc, "issuer");
    /* OIDC Discovery §4.3: the issuer must be exactly the one configured,
     * or a provider could vouch for another one's tokens. */
    if (iss == NULL || strcmp(iss, prov->issuer) != 0) {
        *err = apr_psprintf(p,
                            "discovery document names issuer '%.200s', "
                            "not the configured '%s'",
                            iss ? iss : "(none)", prov->issuer);
        return OAUTH2_EUPSTREAM;
    }
    *ep = prov->fixed;
    rv = doc_url(p, doc, "authorization_endpoint", 1, &ep->authorization, err);
    if (rv == APR_SUCCESS) {
        rv = doc_url(p, doc, "token_endpoint", 1, &ep->token, err);
    }
    if (rv == APR_SUCCESS) {
        rv = doc_url(p, doc, "jwks_uri", !no_jwks, &ep->jwks, err);
    }
    if (rv == APR_SUCCESS) {
        rv = doc_url(p, doc, "userinfo_endpoint", 0, &ep->userinfo, err);
    }
    if (rv == APR_SUCCESS) {
        rv = doc_url(p, doc, "end_session_endpoint", 0, &ep->end_session, err);
    }
    /* Back-Channel Logout 1.0 §2.1: only then are sessions indexed by sid
     * and sub (two more store entries per session otherwise unused). */
    ep->backchannel_logout = doc_true(doc, "backchannel_logout_supported");
    apply_overrides(prov->cfg, ep);
    return rv;
}

apr_status_t oauth2_provider_parse_discovery(oauth2_provider_t *prov,
                                             apr_pool_t *p, const char *body,
                                             apr_size_t len,
                                             oauth2_endpoints_t *ep,
                                             const char **err)
{
    if (prov == NULL || body == NULL || ep == NULL) {
        *err = "no document";
        return OAUTH2_EUPSTREAM;
    }
    return parse_discovery(p, prov, body, len, ep, err);
}

/* GET url; anything but a 200 is the provider's failure. */
static apr_status_t fetch(apr_pool_t *p, oauth2_provider_t *prov,
                          const char *url, apr_size_t max,
                          oauth2_http_response_t **resp, const char **err)
{
    apr_array_header_t *h = apr_array_make(p, 1, sizeof(const char *));
    oauth2_http_opts_t o = prov->http;
    apr_status_t rv;

    o.max_body = max;
    APR_ARRAY_PUSH(h, const char *) = "Accept: application/json";
    rv = oauth2_http_call(p, &o, url, h, NULL, NULL, resp, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((*resp)->status != 200) {
        *err =
            apr_psprintf(p, "%.200s answered HTTP %ld", url, (*resp)->status);
        return OAUTH2_EUPSTREAM;
    }
    return APR_SUCCESS;
}

/* Fetches one document into a new snapshot pool. */
static apr_status_t fetch_snap(oauth2_provider_t *prov, snap_kind_e kind,
                               apr_pool_t *reqp, apr_time_t now, snap_t **out,
                               const char **err)
{
    const oauth2_endpoints_t *ep = NULL;
    oauth2_http_response_t *resp;
    apr_pool_t *sp;
    snap_t *s;
    apr_status_t rv;

    if (kind == SNAP_JWKS) {
        rv = oauth2_provider_endpoints(prov, reqp, now, &ep, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (ep->jwks == NULL) {
            *err = "the provider has no jwks_uri";
            return OAUTH2_ECONFIG;
        }
    }
    rv = apr_pool_create_unmanaged_ex(&sp, NULL, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s = apr_pcalloc(sp, sizeof(*s));
    s->pool = sp;
    s->fetched = now;
    if (kind == SNAP_DISCOVERY) {
        rv = fetch(sp, prov, prov->discovery_url, OAUTH2_MAX_RESPONSE, &resp,
                   err);
        if (rv == APR_SUCCESS) {
            rv = parse_discovery(sp, prov, resp->body, resp->body_len, &s->ep,
                                 err);
        }
    }
    else {
        rv = fetch(sp, prov, ep->jwks, OAUTH2_MAX_JWKS, &resp, err);
        if (rv == APR_SUCCESS) {
            rv = oauth2_jose_jwks_parse(sp, resp->body, resp->body_len,
                                        &s->jwks, err);
        }
        if (rv == APR_SUCCESS && oauth2_jose_jwks_count(s->jwks) == 0) {
            *err = "the JWKS holds no usable signing key";
            rv = OAUTH2_EUPSTREAM;
        }
    }
    if (rv != APR_SUCCESS) {
        *err = apr_pstrdup(reqp, *err);
        apr_pool_destroy(sp);
        return rv == OAUTH2_EUNREACHABLE || rv == OAUTH2_ETOOBIG
                   ? rv
                   : OAUTH2_EUPSTREAM;
    }
    *out = s;
    return APR_SUCCESS;
}

/* Installs the result of a fetch (mutex held). */
static snap_t *install_locked(cache_t *c, apr_status_t rv, snap_t *fresh,
                              apr_time_t now)
{
    if (rv == APR_SUCCESS) {
        snap_unref_locked(c->cur);
        fresh->refs = 1; /* the cache's own reference */
        c->cur = fresh;
        c->backoff = 0;
        c->next_try = 0;
        c->fetches++;
        return fresh;
    }
    c->failures++;
    c->backoff = c->backoff == 0 ? OAUTH2_FETCH_BACKOFF_MIN : c->backoff * 2;
    if (c->backoff > OAUTH2_FETCH_BACKOFF_MAX) {
        c->backoff = OAUTH2_FETCH_BACKOFF_MAX;
    }
    c->next_try = now + c->backoff;
    return c->cur; /* stale, or NULL */
}

/* A fresh-enough snapshot, if the cache has one (mutex held). */
static snap_t *usable_locked(cache_t *c, apr_time_t now, int force)
{
    snap_t *s = c->cur;

    if (s == NULL) {
        return NULL;
    }
    if (!force && now - s->fetched < OAUTH2_METADATA_TTL) {
        return s;
    }
    /* Stale (or a refetch was asked for) but in backoff: keep using it. */
    return now < c->next_try ? s : NULL;
}

/* Gets a document: cached, or fetched by one thread at a time. stale, when
 * not NULL, asks for a refetch of that snapshot (an unknown kid): unless
 * another thread has already replaced it, which then serves. */
static apr_status_t cache_get(oauth2_provider_t *prov, snap_kind_e kind,
                              apr_pool_t *p, apr_time_t now,
                              const snap_t *stale, snap_t **out,
                              const char **err)
{
    cache_t *c = &prov->docs[kind];
    snap_t *s, *before, *fresh = NULL;
    apr_status_t rv;

    apr_thread_mutex_lock(prov->mutex);
    s = usable_locked(c, now, stale != NULL);
    if (stale != NULL && c->cur != NULL && c->cur != stale) {
        s = c->cur;
    }
    before = stale != NULL ? (snap_t *)stale : c->cur;
    if (s == NULL && c->cur == NULL && now < c->next_try) {
        apr_thread_mutex_unlock(prov->mutex);
        *err = "the provider failed recently; waiting before the next try";
        return OAUTH2_EUPSTREAM;
    }
    if (s != NULL) {
        hold_locked(prov, p, s);
        apr_thread_mutex_unlock(prov->mutex);
        *out = s;
        return APR_SUCCESS;
    }
    apr_thread_mutex_unlock(prov->mutex);

    apr_thread_mutex_lock(c->fetch_mutex);
    apr_thread_mutex_lock(prov->mutex);
    s = c->cur != before ? c->cur : NULL; /* another thread just fetched */
    apr_thread_mutex_unlock(prov->mutex);
    rv = s != NULL ? APR_SUCCESS : fetch_snap(prov, kind, p, now, &fresh, err);
    apr_thread_mutex_lock(prov->mutex);
    if (s == NULL) {
        s = install_locked(c, rv, fresh, now);
    }
    if (s != NULL) {
        hold_locked(prov, p, s);
    }
    apr_thread_mutex_unlock(prov->mutex);
    apr_thread_mutex_unlock(c->fetch_mutex);
    if (s == NULL) {
        return rv;
    }
    *out = s;
    return APR_SUCCESS;
}

apr_status_t oauth2_provider_endpoints(oauth2_provider_t *prov, apr_pool_t *p,
                                       apr_time_t now,
                                       const oauth2_endpoints_t **ep,
                                       const char **err)
{
    snap_t *s;
    apr_status_t rv;

    if (prov->discovery_url == NULL) {
        *ep = &prov->fixed;
        return APR_SUCCESS;
    }
    rv = cache_get(prov, SNAP_DISCOVERY, p, now, NULL, &s, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *ep = &s->ep;
    return APR_SUCCESS;
}

apr_status_t oauth2_provider_verify(oauth2_provider_t *prov, apr_pool_t *p,
                                    apr_time_t now, const oauth2_jws_t *jws,
                                    const char **err)
{
    snap_t *s, *again;
    apr_status_t rv;

    rv = cache_get(prov, SNAP_JWKS, p, now, NULL, &s, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = oauth2_jose_jws_verify(p, jws, s->jwks, err);
    if (rv != OAUTH2_ENOTFOUND || now - s->fetched < OAUTH2_JWKS_MIN_INTERVAL) {
        return rv;
    }
    /* An unknown kid: the provider may have rotated its keys. */
    rv = cache_get(prov, SNAP_JWKS, p, now, s, &again, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (again == s) {
        *err = "no key of the provider's JWKS matches the token";
        return OAUTH2_ENOTFOUND;
    }
    return oauth2_jose_jws_verify(p, jws, again->jwks, err);
}

void oauth2_provider_stats(oauth2_provider_t *prov, oauth2_provider_stats_t *st)
{
    apr_thread_mutex_lock(prov->mutex);
    st->discovery_fetches = prov->docs[SNAP_DISCOVERY].fetches;
    st->jwks_fetches = prov->docs[SNAP_JWKS].fetches;
    st->fetch_failures =
        prov->docs[SNAP_DISCOVERY].failures + prov->docs[SNAP_JWKS].failures;
    apr_thread_mutex_unlock(prov->mutex);
}
