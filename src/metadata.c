/*
 * metadata.c: provider discovery (OpenID Connect Discovery 1.0 §4) and
 * JWKS caching (see metadata.h).
 *
 * Two levels. The server's view (provider_shm.c) holds each document as
 * fetched, its generation, the fetch lease, the back-off and the kid
 * refetch limit; this file decides, per request, whether the process's
 * parsed copy will do, reads and parses a newer shared copy, or fetches
 * when the view says it is this caller's turn. The process's copy of a
 * document is a snapshot in a pool of its own (created unmanaged, so
 * threads never create pools under a shared parent); the provider's
 * (thread) mutex guards the snapshot pointers and their reference counts,
 * never a network call or the view's global mutex; a second mutex per
 * document lets one thread per process parse a new generation.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <json-c/json.h>

#include "bounds.h"
#include "claims.h"
#include "crypto.h"
#include "errors.h"
#include "metadata.h"

/* Reads and waits per request are bounded: the view answers NEWER at most
 * once per new generation, and BUSY waits end at OAUTH2_FETCH_WAIT. */
#define MAX_TURNS 64

/* An immutable parsed document. */
typedef struct {
    apr_pool_t *pool;
    apr_uint32_t refs; /* guarded by the provider's mutex */
    apr_uint32_t gen;  /* the shared generation it was parsed from */
    apr_time_t fetched;
    oauth2_endpoints_t ep; /* OAUTH2_PSHM_DISCOVERY */
    oauth2_jwks_t *jwks;   /* OAUTH2_PSHM_JWKS */
} snap_t;

/* This process's copy of one document. */
typedef struct {
    snap_t *cur; /* guarded by the provider's mutex */
    /* One thread per process parses a new generation. */
    apr_thread_mutex_t *load_mutex;
} cache_t;

struct oauth2_provider_t {
    const oauth2_cfg_t *cfg;
    oauth2_http_opts_t http;
    const char *issuer;
    const char *discovery_url; /* NULL: no discovery (static endpoints) */
    oauth2_endpoints_t fixed;  /* preset endpoints and overrides */
    unsigned char key[OAUTH2_PSHM_KEY_LEN]; /* its entry in the view */
    oauth2_pshm_t *view;
    apr_uint32_t slot;
    apr_thread_mutex_t *mutex;
    cache_t docs[2]; /* by oauth2_pshm_doc_e */
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
/* Is there a discovery document to read? Not for GitHub, nor for a
 * provider whose every endpoint is configured (OAuth2Endpoint
 * authorization, token and, for OpenID Connect, jwks): a fully manual
 * provider, for those whose discovery document is missing or wrong. */
static int needs_discovery(const oauth2_provider_t *prov)
{
    if (prov->cfg->preset == OAUTH2_PRESET_GITHUB) {
        return 0;
    }
    if (prov->cfg->endpoints[OAUTH2_EP_METADATA] != NULL) {
        return 1;
    }
    return prov->fixed.authorization == NULL || prov->fixed.token == NULL
           || (prov->fixed.oidc && prov->fixed.jwks == NULL);
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

/* One field of the key's input: its length first, so that no two lists of
 * values make the same text ("-" for an absent value). */
static const char *key_field(apr_pool_t *p, const char *acc, const char *v)
{
    return v == NULL
               ? apr_pstrcat(p, acc, "-", NULL)
               : apr_psprintf(p, "%s%" APR_SIZE_T_FMT ":%s", acc, strlen(v), v);
}

/* The provider's key in the view: what decides which documents it fetches
 * and how it checks them (parse_discovery reads the issuer, the overrides
 * and oidc; the CA file decides whom it trusts). */
static apr_status_t provider_key(apr_pool_t *p, oauth2_provider_t *prov)
{
    const char *in = "oauth2-provider-view-1\n";
    int i;

    in = key_field(p, in, prov->issuer);
    in = key_field(p, in, prov->discovery_url);
    in = key_field(p, in, prov->fixed.oidc ? "oidc" : "oauth2");
    in = key_field(p, in, prov->fixed.authorization);
    in = key_field(p, in, prov->fixed.token);
    in = key_field(p, in, prov->fixed.github_api);
    for (i = 0; i < OAUTH2_EP_COUNT; i++) {
        in = key_field(p, in, prov->cfg->endpoints[i]);
    }
    in = key_field(p, in, prov->http.ca_file);
    return oauth2_crypto_sha256(in, strlen(in), prov->key);
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
    if (cfg->endpoints[OAUTH2_EP_METADATA] != NULL) {
        /* Where the provider publishes it (OAuth2Endpoint metadata); the
         * issuer inside must still be exactly the configured one. */
        prov->discovery_url = cfg->endpoints[OAUTH2_EP_METADATA];
    }
    else if (needs_discovery(prov)) {
        const char *iss = prov->issuer;
        apr_size_t n = strlen(iss);

        /* OIDC Discovery §4: the issuer with any trailing '/' removed. */
        prov->discovery_url = apr_pstrcat(
            p, apr_pstrmemdup(p, iss, n > 0 && iss[n - 1] == '/' ? n - 1 : n),
            "/.well-known/openid-configuration", NULL);
    }
    if (provider_key(p, prov) != APR_SUCCESS) {
        *err = "cannot hash the provider's configuration";
        return APR_EINVAL;
    }
    *out = prov;
    return APR_SUCCESS;
}

apr_status_t oauth2_provider_share(apr_pool_t *pconf, apr_pool_t *ptemp,
                                   oauth2_provider_t *const *provs,
                                   apr_uint32_t n, void *base,
                                   apr_uint64_t size, apr_global_mutex_t *mutex,
                                   const char **err)
{
    unsigned char *keys = apr_palloc(ptemp, n * OAUTH2_PSHM_KEY_LEN + 1);
    apr_uint32_t *slots = apr_palloc(ptemp, (n + 1) * sizeof(*slots));
    oauth2_pshm_t *view = NULL;
    apr_uint32_t i;
    apr_status_t rv;

    for (i = 0; i < n; i++) {
        memcpy(keys + i * OAUTH2_PSHM_KEY_LEN, provs[i]->key,
               OAUTH2_PSHM_KEY_LEN);
    }
    rv = oauth2_pshm_attach(pconf, base, size, mutex, &view, err);
    if (rv == APR_SUCCESS) {
        *err = "not enough entries";
        rv = oauth2_pshm_bind(view, ptemp, keys, n, slots);
    }
    for (i = 0; i < n && rv == APR_SUCCESS; i++) {
        provs[i]->view = view;
        provs[i]->slot = slots[i];
    }
    return rv;
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

/* A view of the provider's own, for a provider the glue never shared (unit
 * tests, tools): the same rules within one process. */
static apr_status_t private_view(oauth2_provider_t *prov, apr_pool_t *p)
{
    apr_uint64_t size = oauth2_pshm_size(1);
    void *base = apr_palloc(p, (apr_size_t)size);
    apr_global_mutex_t *mutex;
    const char *err;
    apr_status_t rv;

    rv = apr_global_mutex_create(&mutex, NULL, APR_LOCK_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = oauth2_pshm_format(base, size, 1);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_pshm_attach(p, base, size, mutex, &prov->view, &err);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_pshm_bind(prov->view, p, prov->key, 1, &prov->slot);
    }
    return rv;
}

apr_status_t oauth2_provider_child_init(oauth2_provider_t *prov,
                                        apr_pool_t *pchild)
{
    apr_status_t rv;
    int i;

    apr_pool_cleanup_register(pchild, prov, provider_cleanup,
                              apr_pool_cleanup_null);
    rv =
        apr_thread_mutex_create(&prov->mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
    for (i = 0; i < 2 && rv == APR_SUCCESS; i++) {
        rv = apr_thread_mutex_create(&prov->docs[i].load_mutex,
                                     APR_THREAD_MUTEX_DEFAULT, pchild);
    }
    if (rv == APR_SUCCESS && prov->view == NULL) {
        rv = private_view(prov, pchild);
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
    /* Back-Channel Logout 1.0 §2.1, Front-Channel Logout 1.0 §3: only then
     * are sessions indexed by sid and sub (two more store entries per
     * session otherwise unused). */
    ep->backchannel_logout = doc_true(doc, "backchannel_logout_supported");
    ep->frontchannel_logout = doc_true(doc, "frontchannel_logout_supported");
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
                          const char *url, oauth2_pshm_doc_e kind,
                          oauth2_http_response_t **resp, const char **err)
{
    apr_array_header_t *h = apr_array_make(p, 1, sizeof(const char *));
    oauth2_http_opts_t o = oauth2_http_for(
        &prov->http,
        kind == OAUTH2_PSHM_JWKS ? OAUTH2_CALL_JWKS : OAUTH2_CALL_DISCOVERY);
    apr_size_t max =
        kind == OAUTH2_PSHM_JWKS ? OAUTH2_MAX_JWKS : OAUTH2_MAX_RESPONSE;
    apr_status_t rv;

    if (url == NULL) {
        *err = "no URL to fetch";
        return OAUTH2_ECONFIG;
    }
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

/* Parses a document into a new snapshot (a pool of its own); errors are
 * copied into errp. */
static apr_status_t snap_parse(oauth2_provider_t *prov, oauth2_pshm_doc_e kind,
                               const char *body, apr_size_t len,
                               apr_time_t fetched, snap_t **out,
                               apr_pool_t *errp, const char **err)
{
    apr_pool_t *sp;
    snap_t *s;
    apr_status_t rv = apr_pool_create_unmanaged_ex(&sp, NULL, NULL);

    if (rv != APR_SUCCESS) {
        *err = "cannot create a pool";
        return rv;
    }
    s = apr_pcalloc(sp, sizeof(*s));
    s->pool = sp;
    s->fetched = fetched;
    if (kind == OAUTH2_PSHM_DISCOVERY) {
        rv = parse_discovery(sp, prov, body, len, &s->ep, err);
    }
    else {
        rv = oauth2_jose_jwks_parse(sp, body, len, &s->jwks, err);
        if (rv == APR_SUCCESS && oauth2_jose_jwks_count(s->jwks) == 0) {
            *err = "the JWKS holds no usable signing key";
            rv = OAUTH2_EUPSTREAM;
        }
    }
    if (rv != APR_SUCCESS) {
        *err = apr_pstrdup(errp, *err);
        apr_pool_destroy(sp);
        return rv == OAUTH2_ETOOBIG ? rv : OAUTH2_EUPSTREAM;
    }
    *out = s;
    return APR_SUCCESS;
}

/* The process's snapshot of kind, held for p, or NULL. */
static snap_t *local_get(oauth2_provider_t *prov, oauth2_pshm_doc_e kind,
                         apr_pool_t *p)
{
    snap_t *s;

    apr_thread_mutex_lock(prov->mutex);
    s = prov->docs[kind].cur;
    if (s != NULL) {
        hold_locked(prov, p, s);
    }
    apr_thread_mutex_unlock(prov->mutex);
    return s;
}

/* Makes fresh the process's snapshot unless it already has a later
 * generation; the snapshot then current, held for p. */
static snap_t *local_put(oauth2_provider_t *prov, oauth2_pshm_doc_e kind,
                         apr_pool_t *p, snap_t *fresh)
{
    cache_t *c = &prov->docs[kind];
    snap_t *s;

    apr_thread_mutex_lock(prov->mutex);
    fresh->refs = 1; /* the cache's own reference, or the one dropped here */
    if (c->cur == NULL || fresh->gen > c->cur->gen) {
        snap_unref_locked(c->cur);
        c->cur = fresh;
    }
    else {
        snap_unref_locked(fresh);
    }
    s = c->cur;
    hold_locked(prov, p, s);
    apr_thread_mutex_unlock(prov->mutex);
    return s;
}

static apr_uint32_t shared_gen(oauth2_provider_t *prov, oauth2_pshm_doc_e kind)
{
    return oauth2_pshm_generation(prov->view, prov->slot, prov->key, kind);
}

/* Reads and parses the shared copy when its generation is not the
 * process's (one thread of the process at a time). *s: the process's
 * snapshot before, and after; the entry may have gone (NULL stays). */
static apr_status_t load(oauth2_provider_t *prov, oauth2_pshm_doc_e kind,
                         apr_pool_t *p, snap_t **s, const char **err)
{
    cache_t *c = &prov->docs[kind];
    snap_t *cur, *fresh;
    const char *body;
    apr_size_t len;
    apr_uint32_t gen;
    apr_time_t fetched;
    apr_pool_t *tmp;
    apr_status_t rv = APR_SUCCESS;

    apr_thread_mutex_lock(c->load_mutex);
    cur = local_get(prov, kind, p);
    if (cur == NULL || cur->gen != shared_gen(prov, kind)) {
        apr_pool_create(&tmp, p);
        if (oauth2_pshm_read(prov->view, prov->slot, prov->key, kind, tmp,
                             &body, &len, &gen, &fetched)
            == APR_SUCCESS) {
            rv = snap_parse(prov, kind, body, len, fetched, &fresh, p, err);
            if (rv == APR_SUCCESS) {
                fresh->gen = gen;
                cur = local_put(prov, kind, p, fresh);
            }
        }
        apr_pool_destroy(tmp);
    }
    apr_thread_mutex_unlock(c->load_mutex);
    *s = cur != NULL ? cur : *s;
    return rv;
}

/* GETs a document (the caller holds the lease token), gives the bytes to
 * the view and the parsed snapshot to the process. */
static apr_status_t fetch_share(oauth2_provider_t *prov, oauth2_pshm_doc_e kind,
                                const char *url, apr_pool_t *p, apr_time_t now,
                                apr_uint32_t token, snap_t **out,
                                const char **err)
{
    apr_time_t t0 = apr_time_now(), end;
    oauth2_http_response_t *resp = NULL;
    snap_t *s = NULL;
    apr_uint32_t gen;
    apr_pool_t *tmp;
    apr_status_t rv;

    apr_pool_create(&tmp, p);
    rv = fetch(tmp, prov, url, kind, &resp, err);
    end = now + (apr_time_now() - t0);
    if (rv == APR_SUCCESS) {
        rv =
            snap_parse(prov, kind, resp->body, resp->body_len, end, &s, p, err);
    }
    else {
        *err = apr_pstrdup(p, *err);
    }
    gen = oauth2_pshm_end(prov->view, prov->slot, prov->key, kind, token, end,
                          rv == APR_SUCCESS,
                          rv == APR_SUCCESS ? resp->body : NULL,
                          rv == APR_SUCCESS ? resp->body_len : 0, *err);
    apr_pool_destroy(tmp);
    if (rv != APR_SUCCESS) {
        return rv == OAUTH2_EUNREACHABLE || rv == OAUTH2_ETOOBIG
                   ? rv
                   : OAUTH2_EUPSTREAM;
    }
    s->gen = gen;
    *out = local_put(prov, kind, p, s);
    return APR_SUCCESS;
}

/* How long a fetch may hold the lease: the HTTP timeout, plus slack. */
static apr_interval_time_t lease_time(const oauth2_provider_t *prov)
{
    return apr_time_from_msec(prov->http.timeout_ms) + OAUTH2_FETCH_LEASE_SLACK;
}

/* The JWKS URL (discovered, or OAuth2Endpoint jwks). */
static apr_status_t jwks_url(oauth2_provider_t *prov, apr_pool_t *p,
                             apr_time_t now, const char **url, const char **err)
{
    const oauth2_endpoints_t *ep = NULL;
    apr_status_t rv = oauth2_provider_endpoints(prov, p, now, &ep, err);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (ep->jwks == NULL) {
        *err = "the provider has no jwks_uri";
        return OAUTH2_ECONFIG;
    }
    *url = ep->jwks;
    return APR_SUCCESS;
}

/* What a request wants: a fresh copy, or (kid) one newer than kid's. */
typedef struct {
    oauth2_pshm_doc_e kind;
    const snap_t *kid; /* a JWKS that lacks a token's kid, or NULL */
    apr_time_t now;    /* the request's clock */
    apr_time_t start;  /* real time this lookup started */
    const char *url;
    oauth2_provider_use_t *use; /* what happened, or NULL */
} want_t;

static int will_do(const want_t *w, const snap_t *s, apr_time_t now)
{
    if (s == NULL) {
        return 0;
    }
    return w->kid != NULL ? s->gen != w->kid->gen
                          : now - s->fetched < OAUTH2_METADATA_TTL;
}

/* Acts on the view's decision: APR_SUCCESS with *out, an error, or
 * APR_EAGAIN to ask the view again. */
static apr_status_t on_turn(oauth2_provider_t *prov, const want_t *w,
                            oauth2_pshm_turn_e t, apr_uint32_t token,
                            apr_pool_t *p, apr_time_t now, snap_t **s,
                            const char **err)
{
    apr_interval_time_t waited = apr_time_now() - w->start;
    apr_status_t rv;

    switch (t) {
    case OAUTH2_PSHM_FETCH:
        rv = fetch_share(prov, w->kind, w->url, p, now, token, s, err);
        if (w->use != NULL) {
            /* The fetch took what the lookup took since this turn began. */
            w->use->fetched = 1;
            w->use->took = apr_time_now() - w->start - waited;
            w->use->url = w->url;
        }
        /* The new copy, or (failed) the old one. */
        return *s != NULL ? APR_SUCCESS : rv;
    case OAUTH2_PSHM_NEWER:
        return APR_EAGAIN;
    case OAUTH2_PSHM_BUSY:
        /* Someone fetches: an old copy serves meanwhile; without one (or
         * for an unknown kid) wait a little for the result. */
        if (*s != NULL && w->kid == NULL) {
            return APR_SUCCESS;
        }
        if (waited < OAUTH2_FETCH_WAIT) {
            oauth2_pshm_wait(prov->view, prov->slot, prov->key, w->kind,
                             *s != NULL ? (*s)->gen : 0,
                             OAUTH2_FETCH_WAIT - waited);
            return APR_EAGAIN;
        }
        *err = "another process is fetching it and has no answer yet";
        return *s != NULL ? APR_SUCCESS : OAUTH2_EUNREACHABLE;
    case OAUTH2_PSHM_BACKOFF:
    case OAUTH2_PSHM_LIMITED:
        return *s != NULL ? APR_SUCCESS : OAUTH2_EUPSTREAM;
    }
    return OAUTH2_EUPSTREAM;
}

/* The slow way of cache_get: load a newer shared copy, or ask the view
 * whose turn it is to fetch, a bounded number of times. */
static apr_status_t cache_turns(oauth2_provider_t *prov, want_t *w,
                                apr_pool_t *p, snap_t *s, snap_t **out,
                                const char **err)
{
    apr_status_t rv = APR_EAGAIN;
    apr_uint32_t token, g;
    oauth2_pshm_turn_e t;
    apr_time_t now;
    int i;

    w->url = prov->discovery_url;
    if (w->kind == OAUTH2_PSHM_JWKS) {
        rv = jwks_url(prov, p, w->now, &w->url, err);
        if (rv != APR_SUCCESS) {
            /* Without the discovery document an old JWKS still serves. */
            *out = s;
            return s != NULL && w->kid == NULL ? APR_SUCCESS : rv;
        }
        rv = APR_EAGAIN;
    }
    for (i = 0; i < MAX_TURNS && rv == APR_EAGAIN; i++) {
        now = w->now + (apr_time_now() - w->start);
        g = shared_gen(prov, w->kind);
        if (g != 0 && (s == NULL || s->gen != g)) {
            rv = load(prov, w->kind, p, &s, err);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            if (w->use != NULL && s != NULL && s->gen == g) {
                w->use->loaded = 1;
            }
            rv = APR_EAGAIN;
        }
        if (will_do(w, s, now)) {
            rv = APR_SUCCESS;
            break;
        }
        t = oauth2_pshm_begin(prov->view, prov->slot, prov->key, w->kind, now,
                              s ? s->gen : 0, w->kid != NULL, lease_time(prov),
                              &token, p, err);
        rv = on_turn(prov, w, t, token, p, now, &s, err);
    }
    if (rv == APR_EAGAIN) {
        *err = "the provider's shared copy kept changing";
        rv = s != NULL ? APR_SUCCESS : OAUTH2_EBUSY;
    }
    *out = s;
    return rv;
}

/* A usable snapshot of a document: the process's own while it is the
 * shared generation and fresh (no lock but the process's mutex), else by
 * the slow way. kid: a JWKS snapshot that lacks a token's kid (then only a
 * newer one will do, and if none comes *out is the current one). */
static apr_status_t cache_get(oauth2_provider_t *prov, oauth2_pshm_doc_e kind,
                              apr_pool_t *p, apr_time_t now, const snap_t *kid,
                              snap_t **out, const char **err,
                              oauth2_provider_use_t *use)
{
    want_t w = { kind, kid, now, 0, NULL, use };
    apr_uint32_t g = shared_gen(prov, kind);
    snap_t *s = local_get(prov, kind, p);
    apr_status_t rv;

    if (s != NULL && s->gen == g && will_do(&w, s, now)) {
        *out = s;
        rv = APR_SUCCESS;
    }
    else {
        w.start = apr_time_now();
        rv = cache_turns(prov, &w, p, s, out, err);
    }
    if (use != NULL && rv == APR_SUCCESS && *out != NULL) {
        use->fetched_at = (*out)->fetched;
    }
    return rv;
}

apr_status_t oauth2_provider_endpoints(oauth2_provider_t *prov, apr_pool_t *p,
                                       apr_time_t now,
                                       const oauth2_endpoints_t **ep,
                                       const char **err)
{
    return oauth2_provider_endpoints_used(prov, p, now, ep, err, NULL);
}

apr_status_t oauth2_provider_endpoints_used(oauth2_provider_t *prov,
                                            apr_pool_t *p, apr_time_t now,
                                            const oauth2_endpoints_t **ep,
                                            const char **err,
                                            oauth2_provider_use_t *use)
{
    snap_t *s;
    apr_status_t rv;

    if (use != NULL) {
        memset(use, 0, sizeof(*use));
    }
    if (prov->discovery_url == NULL) {
        if (use != NULL) {
            use->configured = 1;
        }
        *ep = &prov->fixed;
        return APR_SUCCESS;
    }
    rv = cache_get(prov, OAUTH2_PSHM_DISCOVERY, p, now, NULL, &s, err, use);
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
    return oauth2_provider_verify_used(prov, p, now, jws, err, NULL);
}

apr_status_t oauth2_provider_verify_used(oauth2_provider_t *prov, apr_pool_t *p,
                                         apr_time_t now,
                                         const oauth2_jws_t *jws,
                                         const char **err,
                                         oauth2_provider_use_t *use)
{
    snap_t *s, *again = NULL;
    const char *why;
    apr_status_t rv;

    if (use != NULL) {
        memset(use, 0, sizeof(*use));
    }
    rv = cache_get(prov, OAUTH2_PSHM_JWKS, p, now, NULL, &s, err, use);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = oauth2_jose_jws_verify(p, jws, s->jwks, err);
    if (rv != OAUTH2_ENOTFOUND) {
        return rv;
    }
    /* An unknown kid: the provider may have rotated its keys. */
    why = *err;
    if (cache_get(prov, OAUTH2_PSHM_JWKS, p, now, s, &again, err, use)
            != APR_SUCCESS
        || again == NULL || again->gen == s->gen) {
        *err = why;
        return OAUTH2_ENOTFOUND;
    }
    if (use != NULL) {
        use->refetched = 1;
    }
    return oauth2_jose_jws_verify(p, jws, again->jwks, err);
}

const char *oauth2_provider_use_text(apr_pool_t *p,
                                     const oauth2_provider_use_t *use,
                                     apr_time_t now)
{
    long age = (long)apr_time_sec(now - use->fetched_at);

    if (use->configured) {
        return "none: the endpoints are configured";
    }
    if (use->fetched) {
        return apr_psprintf(p, "%sfetched from %.200s in %ld ms",
                            use->refetched ? "for an unknown kid, " : "",
                            use->url ? use->url : "?",
                            (long)apr_time_as_msec(use->took));
    }
    return apr_psprintf(p, "%s %ld s ago",
                        use->loaded ? "fetched by another process"
                                    : "cached, fetched",
                        age < 0 ? 0 : age);
}

void oauth2_provider_stats(oauth2_provider_t *prov, oauth2_provider_stats_t *st)
{
    oauth2_pshm_stats_t v;

    oauth2_pshm_stats(prov->view, prov->slot, &v);
    st->discovery_fetches = v.fetches[OAUTH2_PSHM_DISCOVERY];
    st->jwks_fetches = v.fetches[OAUTH2_PSHM_JWKS];
    st->fetch_failures = v.failures;
}
