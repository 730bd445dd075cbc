/*
 * access.c: a request to a protected place (see access.h).
 */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <json.h>

#include "access.h"
#include "bearer.h"
#include "bounds.h"
#include "cookie.h"
#include "errors.h"
#include "metrics.h"
#include "http.h"
#include "redirect.h"
#include "state.h"

/* WWW-Authenticate for requests that cannot be sent to log in (RFC 6750
 * §3); the realm is AuthName, quoted safely. */
static const char *www_authenticate(oauth2_request_t *req, const char *error)
{
    char *q, *s;

    oauth2_request_complete(req);
    q = apr_pstrdup(req->pool, req->auth_name ? req->auth_name : "oauth2");
    for (s = q; *s; s++) {
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) {
            *s = '_';
        }
    }
    return error ? apr_psprintf(req->pool, "Bearer realm=\"%s\", error=\"%s\"",
                                q, error)
                 : apr_psprintf(req->pool, "Bearer realm=\"%s\"", q);
}

/* CONTINUE as a's user, passing its access token when pass_token. */
static void carry_on(const oauth2_dir_cfg_t *dir, const oauth2_authn_t *a,
                     int pass_token, oauth2_response_t *resp)
{
    resp->kind = OAUTH2_RESPONSE_CONTINUE;
    resp->user = a->session->f[OAUTH2_SF_USER];
    resp->identity = a->session;
    resp->pass =
        oauth2_dir_pass_claims(dir) | (pass_token ? OAUTH2_PASS_TOKEN : 0);
}

void oauth2_access_identity(const oauth2_site_t *site,
                            const oauth2_dir_cfg_t *dir,
                            const oauth2_authn_t *a, oauth2_response_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    site = a->site != NULL ? a->site : site;
    resp->groups_claim = site != NULL ? site->cfg->groups_claim : NULL;
    carry_on(dir, a,
             oauth2_dir_flag(dir ? dir->pass_access_token : OAUTH2_UNSET),
             resp);
}

/* Builds and caches the session of a freshly verified bearer token. */
static apr_status_t bearer_store(const oauth2_site_t *site,
                                 oauth2_request_t *req,
                                 const oauth2_claims_t *claims,
                                 oauth2_authn_t *a, const char **err)
{
    oauth2_session_input_t in;
    oauth2_session_t *s;
    json_object *exp = oauth2_claims_get(claims, "exp");
    apr_time_t expires = apr_time_from_sec(json_object_get_int64(exp));
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    memset(&in, 0, sizeof(in));
    in.claims = claims;
    in.user_claim = site->cfg->remote_user_claim;
    in.groups_claim = site->cfg->groups_claim;
    in.groups_filter = site->cfg->groups_filter;
    in.now = req->now;
    in.max_age = expires - req->now;
    rv = oauth2_session_build(req->pool, &in, &s, err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_session_encode(req->pool, s, &rec, &len);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* A cache failure only costs a verification next time. */
    oauth2_store_put_class(site->store, req->pool, a->key, rec, len, expires,
                           req->now, OAUTH2_SHM_CACHE);
    oauth2_sessions_report(site, req);
    a->session = s;
    a->expires = expires;
    return APR_SUCCESS;
}

/* a is the user of a bearer token accepted under dir's audience and type
 * rule (a place of another does not inherit it: oauth2_access_inherits). */
static void bearer_accepted(oauth2_authn_t *a, const oauth2_dir_cfg_t *dir)
{
    a->authenticated = 1;
    a->bearer = 1;
    a->audience = dir->bearer_audience;
    a->untyped = oauth2_dir_flag(dir->bearer_untyped);
}

/* 401 for a bad bearer token (RFC 6750 §3.1). */
static void bearer_refused(oauth2_request_t *req, oauth2_response_t *resp,
                           const char *why)
{
    OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_BEARER_INVALID)->level,
               "OA2303: bearer token refused: %s", why);
    oauth2_metrics_inc(OAUTH2_METRIC_BEARER_REFUSED);
    oauth2_response_answer(resp, req->pool, OAUTH2_ANS_BEARER_INVALID, NULL,
                           NULL);
    resp->www_authenticate = www_authenticate(req, "invalid_token");
}

/* Verifies the bearer token and caches what it says under a->key. */
static void bearer_verify(const oauth2_site_t *site,
                          const oauth2_dir_cfg_t *dir, oauth2_request_t *req,
                          const char *token, oauth2_authn_t *a,
                          oauth2_response_t *resp)
{
    oauth2_bearer_expect_t expect;
    oauth2_claims_t *claims;
    const char *err = NULL;
    apr_status_t rv;

    expect.audience = dir->bearer_audience;
    expect.client_id = site->cfg->client_id;
    expect.allow_untyped = oauth2_dir_flag(dir->bearer_untyped);
    expect.skew = apr_time_from_sec(site->cfg->clock_skew);
    rv = oauth2_bearer_verify(req->pool, site->prov, token, &expect, req->now,
                              &claims, &err);
    if (rv == APR_SUCCESS) {
        rv = bearer_store(site, req, claims, a, &err);
    }
    if (rv != APR_SUCCESS) {
        bearer_refused(req, resp, err ? err : oauth2_strerror(rv));
        return;
    }
    bearer_accepted(a, dir);
    oauth2_metrics_inc(OAUTH2_METRIC_BEARER_ACCEPTED);
    OAUTH2_LOG(req, OAUTH2_LOG_DEBUG,
               "OA2430: bearer token verified for %.200s (aud %.200s), "
               "kept until it expires in %ld s",
               a->session->f[OAUTH2_SF_USER], dir->bearer_audience,
               (long)apr_time_sec(a->expires - req->now));
}

/* The store id of the bytes raw of a token at dir (NULL for NULL): the
 * audience and the type rule are part of it, so a token good for one place
 * is not cached as good for another's. */
static const char *bearer_id(apr_pool_t *p, const oauth2_dir_cfg_t *dir,
                             const char *raw)
{
    if (raw == NULL) {
        return NULL;
    }
    return apr_pstrcat(p, "bearer:", dir->bearer_audience,
                       oauth2_dir_flag(dir->bearer_untyped) ? "\nu\n" : "\n",
                       raw, NULL);
}

/* An `Authorization: Bearer` JWT where OAuth2AcceptBearer is On. A
 * verified token is cached in the store under a hash of the token until
 * it expires, so a repeated token costs one hash. Returns 0 when the
 * request has no bearer token here, else 1 (a authenticated, or resp the
 * answer). */
static int bearer(const oauth2_site_t *site, const oauth2_dir_cfg_t *dir,
                  oauth2_request_t *req, oauth2_authn_t *a,
                  oauth2_response_t *resp)
{
    const char *header, *raw, *id;
    apr_size_t len;
    int need;

    if (dir == NULL || !oauth2_dir_flag(dir->accept_bearer)) {
        return 0;
    }
    header = oauth2_request_header(req, "Authorization");
    if (header == NULL || strncasecmp(header, "Bearer", 6) != 0) {
        return 0;
    }
    if (dir->bearer_audience == NULL || site->store == NULL) {
        OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_BEARER_CONFIG)->level,
                   "OA2302: OAuth2AcceptBearer On needs "
                   "OAuth2BearerAudience (and a server-side store)");
        oauth2_response_answer(resp, req->pool, OAUTH2_ANS_BEARER_CONFIG, NULL,
                               NULL);
        return 1;
    }
    /* The bytes the connection remembers passed the syntax check when it
     * read them: only others are checked. */
    raw = oauth2_bearer_raw(header);
    id = bearer_id(req->pool, dir, raw);
    len = id == NULL ? 0 : strlen(id);
    need = oauth2_dir_flag(dir->pass_access_token);
    if (id == NULL
        || oauth2_sessions_recall_id(site, req, id, len, need, a)
               != APR_SUCCESS) {
        if (oauth2_bearer_token(header) == NULL) {
            bearer_refused(req, resp, "malformed Authorization header");
            return 1;
        }
        if (oauth2_sessions_read_id(site, req, id, len, need, a)
            != APR_SUCCESS) {
            bearer_verify(site, dir, req, raw, a, resp);
            return 1;
        }
    }
    bearer_accepted(a, dir);
    oauth2_metrics_inc(OAUTH2_METRIC_BEARER_ACCEPTED);
    return 1;
}

/* The debug line of a request without a session: why, and what
 * OAuth2UnauthAction makes of it. */
static void story_unauth(oauth2_request_t *req, int had_cookie,
                         const char *what)
{
    OAUTH2_LOG(req, OAUTH2_LOG_DEBUG,
               "OA2401: %s %.200s: %s; OAuth2UnauthAction %s", req->method,
               req->path,
               had_cookie ? "the session cookie names no valid session"
                          : "no valid session cookie",
               what);
}

/* A 401 for a request whose session ended (its cookie names none any
 * more) and that is not sent to log in: the page says so and offers to
 * sign in again (several: through the sign-in page), to this page when it
 * was a GET. */
static void session_expired(const oauth2_site_t *site, oauth2_request_t *req,
                            int several, oauth2_response_t *resp)
{
    int get = req->method != NULL
              && (strcmp(req->method, "GET") == 0
                  || strcmp(req->method, "HEAD") == 0);
    const char *rd = get && req->uri != NULL ? req->uri : "/";

    oauth2_response_answer(resp, req->pool, OAUTH2_ANS_SESSION_EXPIRED, NULL,
                           apr_pstrcat(req->pool, site->cfg->prefix,
                                       several ? "/choose?rd=" : "/start?rd=",
                                       oauth2_http_url_encode(req->pool, rd),
                                       NULL));
}

/* The remembered choice among use (the cookie a named provider's start
 * sets), or NULL. */
static const oauth2_site_t *remembered(const oauth2_site_t *site,
                                       const oauth2_site_t *const *use, int n,
                                       oauth2_request_t *req)
{
    const char *header = oauth2_request_header(req, "Cookie");
    oauth2_cookie_t v;
    int i;

    if (header == NULL || site->choice_cookie == NULL
        || oauth2_cookie_find(header, site->choice_cookie, &v, 1) != 1) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (strlen(use[i]->name) == v.value_len
            && strncasecmp(use[i]->name, v.value, v.value_len) == 0) {
            return use[i];
        }
    }
    return NULL;
}

/* Sends the request to log in: at its one provider, at the one this
 * browser chose before, or to the sign-in page listing them. */
static void login(const oauth2_site_t *site, const oauth2_site_t *const *use,
                  int n, oauth2_request_t *req, oauth2_response_t *resp)
{
    const oauth2_site_t *one = n == 1 ? use[0] : remembered(site, use, n, req);

    if (one != NULL) {
        oauth2_access_login(one, req, req->uri, 0, resp);
        return;
    }
    oauth2_access_choose(site, use, n, req, req->uri, resp);
}

/* What to do without a session (OAuth2UnauthAction) at a place that logs
 * in with use (n of them; site: the one, or the host's); had_cookie: the
 * request carried a session cookie. */
static void unauthenticated(const oauth2_site_t *site,
                            const oauth2_site_t *const *use, int n,
                            const oauth2_dir_cfg_t *dir, oauth2_request_t *req,
                            oauth2_authn_t *a, int had_cookie,
                            oauth2_response_t *resp)
{
    switch (oauth2_dir_unauth(dir)) {
    case OAUTH2_UNAUTH_PASS:
        story_unauth(req, had_cookie, "pass: through as nobody");
        /* Through, as nobody: "" satisfies mod_authz_core's need for a
         * user, and the oauth2-* rules deny an anonymous request. */
        a->anonymous = 1;
        resp->kind = OAUTH2_RESPONSE_CONTINUE;
        resp->user = "";
        return;
    case OAUTH2_UNAUTH_403:
        story_unauth(req, had_cookie, "403");
        oauth2_response_answer(resp, req->pool, OAUTH2_ANS_UNAUTH_403, NULL,
                               NULL);
        return;
    case OAUTH2_UNAUTH_401:
        story_unauth(req, had_cookie, "401");
        break;
    case OAUTH2_UNAUTH_AUTO:
        if (oauth2_request_is_navigation(req)) {
            story_unauth(req, had_cookie, "auto, a browser navigation: log in");
            login(site, use, n, req, resp);
            return;
        }
        story_unauth(req, had_cookie,
                     "auto, not a browser navigation (a script, an API "
                     "client, another method): 401");
        break;
    case OAUTH2_UNAUTH_LOGIN:
    case OAUTH2_UNAUTH_UNSET:
        story_unauth(req, had_cookie, "login");
        login(site, use, n, req, resp);
        return;
    }
    if (a->stale) {
        session_expired(site, req, n > 1, resp);
    }
    else {
        oauth2_response_answer(resp, req->pool, OAUTH2_ANS_UNAUTH_401, NULL,
                               NULL);
    }
    resp->www_authenticate = www_authenticate(req, NULL);
}

/* The backend never sees the module's cookies: the session lookup took
 * them out of the Cookie header at the places it found them. */
static void strip_cookies(const oauth2_sessions_found_t *found,
                          oauth2_response_t *resp)
{
    if (found->cookies.header == NULL) {
        return;
    }
    resp->cookie_in_was = found->cookies.header;
    resp->cookie_in = found->stripped;
}

/* The user of site's session or bearer token: 1 when decided (a user, a
 * refused token, a store that cannot tell), 0 when there is none (*had:
 * a session cookie came). */
static int session_of(const oauth2_site_t *site, const oauth2_dir_cfg_t *dir,
                      oauth2_request_t *req, oauth2_authn_t *a, int *had,
                      oauth2_response_t *resp)
{
    oauth2_sessions_found_t found;
    int need_tokens =
        oauth2_dir_flag(dir ? dir->pass_access_token : OAUTH2_UNSET);
    apr_status_t rv;

    a->site = site;
    if (bearer(site, dir, req, a, resp)) {
        if (a->authenticated) {
            carry_on(dir, a, need_tokens, resp);
            resp->groups_claim = site->cfg->groups_claim;
        }
        return 1;
    }
    found.cookies.header = NULL;
    rv = oauth2_sessions_find(site, req, need_tokens, a, &found, resp);
    if (rv == APR_SUCCESS && need_tokens) {
        rv = oauth2_sessions_refresh(site, req, a, resp);
        a->stale = rv == OAUTH2_ENOTFOUND; /* the refresh ended it */
    }
    if (rv == APR_SUCCESS) {
        carry_on(dir, a, need_tokens, resp);
        resp->groups_claim = site->cfg->groups_claim;
        strip_cookies(&found, resp);
        return 1;
    }
    a->authenticated = 0;
    if (rv != OAUTH2_ENOTFOUND) {
        OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_STORE_DOWN)->level,
                   "OA2010: the session store (%s) is unavailable (%s)",
                   site->store ? oauth2_store_name(site->store) : "cookie",
                   oauth2_strerror(rv));
        oauth2_response_answer(resp, req->pool, OAUTH2_ANS_STORE_DOWN, NULL,
                               req->uri);
        return 1;
    }
    /* found.cookies.n is set with its header (the store's lookup). */
    *had = found.cookies.header != NULL && found.cookies.n > 0;
    return 0;
}

/* The providers a place logs in with, into use (OAUTH2_MAX_PROVIDERS):
 * OAuth2Use's, else the host's own, else all its named ones. -1 when
 * OAuth2Use names one this host does not have (*unknown: that name). */
static int providers_of(const oauth2_site_t *site, const oauth2_dir_cfg_t *dir,
                        const oauth2_site_t **use, const char **unknown)
{
    int i, n = 0;

    if (dir == NULL || dir->use == NULL) {
        if (site->prov != NULL) {
            use[0] = site;
            return 1;
        }
        for (i = 0; i < site->nnamed; i++) {
            use[i] = site->named[i];
        }
        return site->nnamed;
    }
    for (i = 0; i < dir->use->nelts && n < OAUTH2_MAX_PROVIDERS; i++) {
        *unknown = APR_ARRAY_IDX(dir->use, i, const char *);
        use[n] = oauth2_site_named(site, *unknown);
        if (use[n++] == NULL) {
            return -1;
        }
    }
    return n;
}

/* providers_of, or -1 and resp a 500 for an OAuth2Use name this host does
 * not have. */
static int chosen(const oauth2_site_t *site, const oauth2_dir_cfg_t *dir,
                  oauth2_request_t *req, const oauth2_site_t **use,
                  oauth2_response_t *resp)
{
    const char *name = NULL;
    int n = providers_of(site, dir, use, &name);

    if (n < 0) {
        OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_NO_PROVIDER)->level,
                   "OA2013: OAuth2Use %.40s at %.200s, but this virtual "
                   "host has no <OAuth2Provider %.40s>",
                   name, req->path, name);
        oauth2_response_answer(resp, req->pool, OAUTH2_ANS_NO_PROVIDER, NULL,
                               NULL);
    }
    return n;
}

/* Was a bearer token's user accepted under the audience and type rule of
 * dir? A token is good for the place that checked it. */
static int bearer_fits(const oauth2_dir_cfg_t *dir, const oauth2_authn_t *a)
{
    return dir != NULL && oauth2_dir_flag(dir->accept_bearer)
           && dir->bearer_audience != NULL && a->audience != NULL
           && strcmp(dir->bearer_audience, a->audience) == 0
           && oauth2_dir_flag(dir->bearer_untyped) == a->untyped;
}

int oauth2_access_inherits(const oauth2_site_t *site,
                           const oauth2_dir_cfg_t *dir, const oauth2_authn_t *a)
{
    const oauth2_site_t *use[OAUTH2_MAX_PROVIDERS];
    const char *unknown;
    int i, n;

    if (a == NULL || !a->authenticated || (a->bearer && !bearer_fits(dir, a))) {
        return 0;
    }
    if (site == NULL || site->nnamed == 0) {
        return 1; /* one provider: the same everywhere in the host */
    }
    n = providers_of(site, dir, use, &unknown);
    /* A place checks tokens against its first provider only (session_of:
     * the token decides there), so a token of another, even one the place
     * logs in with, is not its user. */
    if (a->bearer) {
        return n > 0 && a->site == use[0];
    }
    for (i = 0; i < n; i++) {
        if (a->site == use[i]) {
            return 1;
        }
    }
    return 0;
}

void oauth2_access_check(const oauth2_site_t *site, const oauth2_dir_cfg_t *dir,
                         oauth2_request_t *req, oauth2_authn_t *a,
                         oauth2_response_t *resp)
{
    const oauth2_site_t *use[OAUTH2_MAX_PROVIDERS];
    int i, n, had = 0, h = 0;

    if (site == NULL) {
        OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_NO_PROVIDER)->level,
                   "OA2009: AuthType oauth2 at %s, but this virtual host "
                   "has no OAuth2Provider",
                   req->path);
        oauth2_response_answer(resp, req->pool, OAUTH2_ANS_NO_PROVIDER, NULL,
                               NULL);
        return;
    }
    if (site->nnamed == 0) { /* one provider: the common way */
        if (!session_of(site, dir, req, a, &had, resp)) {
            unauthenticated(site, &site, 1, dir, req, a, had, resp);
        }
        return;
    }
    n = chosen(site, dir, req, use, resp);
    for (i = 0; i < n; i++) {
        if (session_of(use[i], dir, req, a, &h, resp)) {
            /* The fixups take every owned cookie out but this host's own
             * (oauth2_headers_strip_cookies): another's stays theirs. */
            if (use[i] != site) {
                resp->cookie_in = resp->cookie_in_was = NULL;
            }
            return;
        }
        had |= h;
    }
    if (n > 0) {
        unauthenticated(n == 1 ? use[0] : site, use, n, dir, req, a, had, resp);
    }
}

void oauth2_access_provider_down(const oauth2_site_t *site,
                                 oauth2_request_t *req, oauth2_response_t *resp,
                                 const char *link)
{
    oauth2_response_answer(
        resp, req->pool, OAUTH2_ANS_PROVIDER_DOWN,
        apr_psprintf(req->pool,
                     "The sign-in service (%s) cannot be reached right now, "
                     "so you cannot be logged in. Please try again in a few "
                     "moments.",
                     site->service),
        link);
}

/* Expires the login states a browser still holds when it already has
 * the maximum, so state cookies never pile up. */
static void prune_states(const oauth2_site_t *site, oauth2_request_t *req,
                         oauth2_response_t *resp)
{
    const char *header = oauth2_request_header(req, "Cookie");
    const char *pos = header, *end;
    oauth2_cookie_t c;
    const char *names[OAUTH2_MAX_STATE_COOKIES];
    int n = 0, i;
    const apr_size_t plen = sizeof(OAUTH2_STATE_COOKIE_PREFIX) - 1;

    if (header == NULL || strlen(header) > OAUTH2_MAX_COOKIE_HEADER) {
        return;
    }
    end = header + strlen(header);
    while (oauth2_cookie_next(&pos, end, &c) == APR_SUCCESS) {
        if (c.name_len > plen
            && strncmp(c.name, OAUTH2_STATE_COOKIE_PREFIX, plen) == 0) {
            if (n == OAUTH2_MAX_STATE_COOKIES - 1) {
                break;
            }
            names[n++] = apr_pstrmemdup(req->pool, c.name, c.name_len);
        }
    }
    if (n < OAUTH2_MAX_STATE_COOKIES - 1) {
        return;
    }
    for (i = 0; i < n; i++) {
        oauth2_site_cookie(site, req, resp, names[i], "", 0,
                           site->callback_path);
    }
}

/* The trace line of an authorization request: its parameters' names
 * (state, nonce and the PKCE challenge are values of the login's own). */
static void story_authorize(oauth2_request_t *req, const char *url)
{
    const char *q = strchr(url, '?'), *names = "";
    apr_size_t n;

    if (q == NULL || !oauth2_request_logs(req, OAUTH2_LOG_TRACE1)) {
        return;
    }
    for (q++; *q; q += n + (q[n] == '&')) {
        n = strcspn(q, "&");
        names = apr_psprintf(req->pool, "%s%s%.*s", names, *names ? ", " : "",
                             (int)strcspn(q, "=&"), q);
    }
    OAUTH2_LOG(req, OAUTH2_LOG_TRACE1,
               "OA2412: authorization request parameters: %s", names);
}

/* A fresh state for a login to target, sealed for its cookie. */
static apr_status_t new_state(const oauth2_site_t *site, oauth2_request_t *req,
                              const char *target, int retry,
                              oauth2_state_t **st, char **value)
{
    const char *err = NULL;
    apr_status_t rv = oauth2_state_create(req->pool, target, req->now, st);

    if (rv == APR_SUCCESS) {
        (*st)->retry = retry;
        rv = oauth2_state_seal(req->pool, site->seal_state, *st, value, &err);
    }
    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_STATE_FAILED)->level,
                   "OA2107: cannot create a login state: %s",
                   err ? err : oauth2_strerror(rv));
    }
    return rv;
}

void oauth2_access_login(const oauth2_site_t *site, oauth2_request_t *req,
                         const char *return_to, int retry,
                         oauth2_response_t *resp)
{
    const oauth2_endpoints_t *ep;
    oauth2_client_t cl;
    oauth2_state_t *st;
    const char *err = NULL, *target, *url;
    char *value;
    apr_status_t rv;

    oauth2_request_complete(req);
    rv = oauth2_redirect_validate(req->pool, return_to, req->host,
                                  site->cfg->redirect_hosts, &target, &err);
    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2105: refused return URL %.200s (%s); using /",
                   return_to ? return_to : "(none)", err ? err : "");
        target = "/";
    }
    rv = oauth2_site_endpoints(site, req, &ep, &err);
    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_PROVIDER_DOWN)->level,
                   "OA2106: cannot start a login: %s (%s)", err,
                   oauth2_strerror(rv));
        oauth2_access_provider_down(site, req, resp, target);
        return;
    }
    if (new_state(site, req, target, retry, &st, &value) != APR_SUCCESS) {
        oauth2_response_answer(resp, req->pool, OAUTH2_ANS_STATE_FAILED, NULL,
                               NULL);
        return;
    }
    prune_states(site, req, resp);
    oauth2_site_cookie(site, req, resp,
                       oauth2_state_cookie_name(req->pool, st->state), value,
                       OAUTH2_STATE_LIFETIME, site->callback_path);
    oauth2_site_client(site, req, &cl);
    url = oauth2_login_authorize_url(req->pool, &cl, ep, st);
    oauth2_response_redirect(resp, url);
    oauth2_metrics_inc(OAUTH2_METRIC_LOGINS_STARTED);
    story_authorize(req, url);
    OAUTH2_LOG(req, OAUTH2_LOG_DEBUG,
               "OA2413: authorization request to %.*s: scope \"%.200s\", "
               "PKCE S256%s",
               (int)strcspn(ep->authorization, "?"), ep->authorization,
               site->cfg->scope, ep->oidc ? ", nonce" : "");
    OAUTH2_LOG(req, OAUTH2_LOG_DEBUG,
               "OA2108: sent to log in, returning to %.200s", target);
}

void oauth2_access_choose(const oauth2_site_t *site,
                          const oauth2_site_t *const *use, int n,
                          oauth2_request_t *req, const char *return_to,
                          oauth2_response_t *resp)
{
    oauth2_page_t *pg = apr_pcalloc(req->pool, sizeof(*pg));
    apr_array_header_t *c =
        apr_array_make(req->pool, 2 * n + 1, sizeof(const char *));
    const char *rd =
        oauth2_http_url_encode(req->pool, return_to ? return_to : "/");
    int i;

    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(c, const char *) =
            use[i]->name ? apr_psprintf(req->pool, "%s (%s)", use[i]->name,
                                        use[i]->service)
                         : use[i]->service;
        APR_ARRAY_PUSH(c, const char *) =
            apr_pstrcat(req->pool, use[i]->cfg->prefix, "/start?rd=", rd, NULL);
    }
    pg->status = 200;
    pg->kind = OAUTH2_PAGE_CHOOSE;
    pg->reason = "choose";
    pg->title = "Sign in";
    pg->message = "Choose how to sign in to this site.";
    pg->choices = c;
    oauth2_response_page_body(resp, pg);
    OAUTH2_LOG(req, OAUTH2_LOG_DEBUG,
               "OA2414: %d providers for %.200s: the sign-in page", n,
               site->cfg->prefix);
}

/* The Require word of a rule, for messages. */
static const char *rule_name(const oauth2_rule_t *rule)
{
    const char *name = oauth2_authz_rule_name((int)rule->kind);

    return name ? name : "oauth2-?";
}

/* Resolves the resources of a rule that the session does not know yet
 * (the rule comes from an .htaccess file). 0: resolved (or nothing to
 * resolve); else the failure is logged. A bearer token has no session to
 * ask the APIs with: its resources stay unknown, so such words do not
 * admit it. */
static int resolve(const oauth2_site_t *site, oauth2_request_t *req,
                   oauth2_authn_t *a, const char *user,
                   const oauth2_rule_t *rule, const char *line,
                   oauth2_response_t *resp)
{
    apr_array_header_t *terms =
        a->bearer ? NULL : oauth2_authz_unresolved(req->pool, rule, a->session);
    const char *err = NULL;
    apr_status_t rv;

    if (terms == NULL) {
        return 0;
    }
    rv = oauth2_sessions_resolve(site, req, a, terms, resp, &err);
    if (rv == APR_SUCCESS) {
        return 0;
    }
    OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_API_FAILED)->level,
               "OA2304: Require oauth2-group %.200s could not be checked "
               "for %.200s: %s (%s)",
               line, user, err ? err : "", oauth2_strerror(rv));
    return -1;
}

/* The debug line of a Require decision (the refusal's reason is
 * OA2301's). Returns rc. */
static oauth2_access_e decided(oauth2_request_t *req, const oauth2_rule_t *rule,
                               const char *line, const char *user,
                               oauth2_access_e rc)
{
    OAUTH2_LOG(req, OAUTH2_LOG_DEBUG, "OA2420: Require %s %.200s: %s %.200s",
               rule_name(rule), line,
               rc == OAUTH2_ACCESS_GRANTED ? "granted to" : "denied to", user);
    return rc;
}

/* Require oauth2-provider: is the named provider that made the session
 * one of the rule's? */
static int provider_listed(const oauth2_rule_t *rule, const oauth2_site_t *site)
{
    int i;

    for (i = 0; site != NULL && site->name != NULL && i < rule->values->nelts;
         i++) {
        if (strcasecmp(APR_ARRAY_IDX(rule->values, i, const char *), site->name)
            == 0) {
            return 1;
        }
    }
    return 0;
}

oauth2_access_e oauth2_access_authorize(const oauth2_site_t *site,
                                        oauth2_request_t *req,
                                        oauth2_authn_t *a, const char *user,
                                        const oauth2_rule_t *rule,
                                        const char *line,
                                        oauth2_response_t *resp)
{
    if (user == NULL) {
        return OAUTH2_ACCESS_NO_USER;
    }
    if (rule == NULL) {
        return OAUTH2_ACCESS_ERROR;
    }
    if (a == NULL || !a->authenticated) {
        return OAUTH2_ACCESS_DENIED;
    }
    if (a->site != NULL) {
        site = a->site; /* its provider's API answers for its user */
    }
    if (rule->kind == OAUTH2_RULE_PROVIDER
            ? provider_listed(rule, site)
            : oauth2_authz_check(rule, a->session)) {
        return decided(req, rule, line, user, OAUTH2_ACCESS_GRANTED);
    }
    if (rule->kind == OAUTH2_RULE_PROVIDER) {
        OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_FORBIDDEN)->level,
                   "OA2301: user %.200s does not satisfy Require %s %.200s: "
                   "signed in with %s",
                   user, rule_name(rule), line,
                   site && site->name ? site->name : "the host's own provider");
        a->refused_by = 1 + (int)rule->kind;
        return decided(req, rule, line, user, OAUTH2_ACCESS_DENIED);
    }
    if (site == NULL || resolve(site, req, a, user, rule, line, resp) != 0) {
        return site == NULL ? OAUTH2_ACCESS_ERROR : OAUTH2_ACCESS_API_FAILED;
    }
    if (oauth2_authz_check(rule, a->session)) {
        return decided(req, rule, line, user, OAUTH2_ACCESS_GRANTED);
    }
    /* The rule and why (issue 17: a refusal that did not say the provider
     * sent no email_verified); the user's id and claims, never a token. */
    OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_FORBIDDEN)->level,
               "OA2301: user %.200s does not satisfy Require %s %.200s: %s",
               user, rule_name(rule), line,
               oauth2_authz_explain(req->pool, rule, a->session));
    a->refused_by = 1 + (int)rule->kind;
    return decided(req, rule, line, user, OAUTH2_ACCESS_DENIED);
}

void oauth2_access_refused(const oauth2_authn_t *a)
{
    switch (a->refused_by - 1) {
    case OAUTH2_RULE_GROUP:
        oauth2_metrics_inc(OAUTH2_METRIC_REFUSED_GROUP);
        return;
    case OAUTH2_RULE_CLAIM:
        oauth2_metrics_inc(OAUTH2_METRIC_REFUSED_CLAIM);
        return;
    case OAUTH2_RULE_EMAIL_DOMAIN:
        oauth2_metrics_inc(OAUTH2_METRIC_REFUSED_EMAIL_DOMAIN);
        return;
    }
    oauth2_metrics_inc(OAUTH2_METRIC_REFUSED_OTHER);
}

const oauth2_page_t *oauth2_access_forbidden_page(const oauth2_site_t *site,
                                                  apr_pool_t *p,
                                                  const char *user)
{
    oauth2_page_t *pg = (oauth2_page_t *)oauth2_response_page(
        p, OAUTH2_ANS_FORBIDDEN,
        apr_psprintf(p,
                     "You are logged in as %s, but this account is not "
                     "allowed to open this page.",
                     user ? user : ""),
        NULL);

    /* Log out, or switch account: the logout ends on the signed-out page,
     * not straight back at the provider's login form. */
    pg->user = user;
    pg->logout = site && site->cfg->prefix
                     ? apr_pstrcat(p, site->cfg->prefix, "/logout", NULL)
                     : NULL;
    return pg;
}
