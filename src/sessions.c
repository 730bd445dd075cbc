/*
 * sessions.c: the life of a session on requests (see sessions.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "base64url.h"
#include "bounds.h"
#include "conn.h"
#include "cookie_session.h"
#include "crypto.h"
#include "errors.h"
#include "groups.h"
#include "metrics.h"
#include "session_index.h"
#include "sessions.h"

/* Once a minute at most, across processes. */
#define REPORT_INTERVAL apr_time_from_sec(60)

/* A session id as we issue them: 43 base64url characters. Checking the
 * shape first keeps junk cookies away from the hash and the store. */
static int id_shape_ok(const char *v, apr_size_t n)
{
    return n == OAUTH2_SESSION_ID_CHARS && oauth2_base64url_alphabet(v, n);
}

/* When the inactivity expiry is due to move: at least a tenth of the
 * timeout (1 s .. 5 min) after the last write-back, so an ordinary request
 * writes nothing. Returns the new expiry, or 0 when not due. */
static apr_time_t slide_due(const oauth2_site_t *site,
                            const oauth2_session_t *s, apr_time_t now,
                            apr_time_t expires)
{
    apr_interval_time_t timeout = apr_time_from_sec(site->cfg->session_timeout);
    apr_interval_time_t step = timeout / 10;
    apr_time_t want = now + timeout;

    if (step < apr_time_from_sec(1)) {
        step = apr_time_from_sec(1);
    }
    if (step > apr_time_from_sec(300)) {
        step = apr_time_from_sec(300);
    }
    if (want > s->max_expires) {
        want = s->max_expires;
    }
    return want - expires >= step ? want : 0;
}

/* A session decoded for this request only: the connection's copy is never
 * written through a->session. */
static oauth2_session_t *own_session(oauth2_request_t *req, oauth2_authn_t *a)
{
    oauth2_session_t *s = apr_palloc(req->pool, sizeof(*s));

    a->session = s;
    return s;
}

/* What a failed read or decode means to the request: a record of an older
 * format is no session (its user logs in again); anything but "none" or
 * "malformed" is the store's failure. */
static apr_status_t read_status(apr_status_t rv)
{
    if (rv == OAUTH2_ENOTFOUND || rv == OAUTH2_EEXPIRED) {
        return OAUTH2_ENOTFOUND;
    }
    return rv == OAUTH2_EMALFORMED ? rv : OAUTH2_ESTORE;
}

apr_status_t oauth2_sessions_read(const oauth2_site_t *site,
                                  oauth2_request_t *req, oauth2_authn_t *a)
{
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    rv = oauth2_store_get(site->store, req->pool, a->key, req->now, &rec, &len,
                          &meta);
    if (rv != APR_SUCCESS) {
        return rv == OAUTH2_ENOTFOUND ? rv : OAUTH2_ESTORE;
    }
    rv = oauth2_session_decode_p(req->pool, rec, len, own_session(req, a));
    if (rv != APR_SUCCESS) {
        return read_status(rv);
    }
    a->record = rec;
    a->record_len = len;
    a->expires = meta.expires;
    return APR_SUCCESS;
}

/* a is the user of the connection's copy, valid until expires. */
static void from_memo(oauth2_conn_t *cs, apr_time_t expires, oauth2_authn_t *a)
{
    memcpy(a->key, cs->key, sizeof(a->key));
    a->session = &cs->session;
    a->record = cs->buf;
    a->record_len = cs->len;
    a->expires = expires;
}

/* Is id the connection's (cs) remembered id, its record still standing?
 * Then a is the user of the connection's copy. */
static int recalled(oauth2_conn_t *cs, const oauth2_site_t *site,
                    oauth2_request_t *req, const char *id, apr_size_t len,
                    int need_tokens, oauth2_authn_t *a)
{
    apr_time_t expires;

    if (!oauth2_conn_recall(cs, site, site->store, id, len, need_tokens,
                            req->now, &expires)) {
        return 0;
    }
    from_memo(cs, expires, a);
    return 1;
}

/* The read through the connection's memo: the same id again on this
 * connection costs a version check, not a hash and a copy. shaped: what
 * an id must look like before it is hashed (NULL: anything). */
static apr_status_t memo_read(const oauth2_site_t *site, oauth2_request_t *req,
                              const char *id, apr_size_t len,
                              int (*shaped)(const char *, apr_size_t),
                              int need_tokens, oauth2_authn_t *a)
{
    oauth2_conn_t *cs = req->conn ? req->conn : oauth2_conn_of(req);
    apr_status_t rv;

    if (cs == NULL) {
        return OAUTH2_ECRYPTO;
    }
    if (recalled(cs, site, req, id, len, need_tokens, a)) {
        return APR_SUCCESS;
    }
    /* Checked here, not before the recall: a value equal to the
     * connection's id has had its shape checked already (the id of a
     * bearer token holds a '\n', which no cookie value can). */
    if (shaped != NULL && !shaped(id, len)) {
        return OAUTH2_ENOTFOUND;
    }
    /* a->key also when nothing is found: the bearer cache writes there. */
    rv = oauth2_site_key(site, id, len, a->key);
    if (rv == APR_SUCCESS) {
        rv = oauth2_conn_load(cs, site, site->store, req->pool, a->key, id, len,
                              req->now, need_tokens);
    }
    if (rv != APR_SUCCESS) {
        return read_status(rv);
    }
    from_memo(cs, cs->meta.expires, a);
    return APR_SUCCESS;
}

apr_status_t oauth2_sessions_recall_id(const oauth2_site_t *site,
                                       oauth2_request_t *req, const char *id,
                                       apr_size_t len, int need_tokens,
                                       oauth2_authn_t *a)
{
    oauth2_conn_t *cs;

    if (!site->memo) {
        return OAUTH2_ENOTFOUND;
    }
    cs = req->conn ? req->conn : oauth2_conn_of(req);
    return cs != NULL && recalled(cs, site, req, id, len, need_tokens, a)
               ? APR_SUCCESS
               : OAUTH2_ENOTFOUND;
}

apr_status_t oauth2_sessions_read_id(const oauth2_site_t *site,
                                     oauth2_request_t *req, const char *id,
                                     apr_size_t len, int need_tokens,
                                     oauth2_authn_t *a)
{
    apr_status_t rv;

    if (site->memo) {
        rv = memo_read(site, req, id, len, NULL, need_tokens, a);
        return rv == OAUTH2_EMALFORMED ? OAUTH2_ENOTFOUND : rv;
    }
    if (oauth2_site_key(site, id, len, a->key) != APR_SUCCESS) {
        return OAUTH2_ESTORE;
    }
    return oauth2_sessions_read(site, req, a);
}

/* The read of a store that cannot check a copy (socache): every request
 * reads the record. */
static apr_status_t plain_read(const oauth2_site_t *site, oauth2_request_t *req,
                               const oauth2_cookie_t *c, oauth2_authn_t *a)
{
    if (!id_shape_ok(c->value, c->value_len)) {
        return OAUTH2_ENOTFOUND;
    }
    if (oauth2_site_key(site, c->value, c->value_len, a->key) != APR_SUCCESS) {
        return OAUTH2_ESTORE;
    }
    return oauth2_sessions_read(site, req, a);
}

/* Looks one candidate cookie value up in the store. */
static apr_status_t store_lookup(const oauth2_site_t *site,
                                 oauth2_request_t *req,
                                 const oauth2_cookie_t *c, int need_tokens,
                                 oauth2_authn_t *a)
{
    apr_time_t want;
    apr_status_t rv;

    rv = site->memo ? memo_read(site, req, c->value, c->value_len, id_shape_ok,
                                need_tokens, a)
                    : plain_read(site, req, c, a);
    if (rv == OAUTH2_EMALFORMED) {
        OAUTH2_LOG(req, OAUTH2_LOG_ERR,
                   "OA2103: a session record in the store is malformed");
        return OAUTH2_ENOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (a->session->max_expires <= req->now) {
        oauth2_store_remove(site->store, req->pool, a->key);
        oauth2_metrics_inc(OAUTH2_METRIC_ENDED_EXPIRED);
        return OAUTH2_ENOTFOUND;
    }
    want = slide_due(site, a->session, req->now, a->expires);
    if (want != 0
        && oauth2_store_touch(site->store, req->pool, a->key, want, req->now)
               == APR_SUCCESS) {
        a->expires = want;
    }
    return APR_SUCCESS;
}

static void log_no_session(oauth2_request_t *req, oauth2_authn_t *a)
{
    a->stale = 1;
    OAUTH2_LOG(req, OAUTH2_LOG_INFO,
               "OA2104: session cookie present but no valid session "
               "(expired, logged out, or forged)");
}

/* The session cookies of header into found, and the header without the
 * module's cookies (for the backend, when the session is valid), through
 * the connection's memo where there is one. */
static void find_cookies(const oauth2_site_t *site, oauth2_request_t *req,
                         const char *header, oauth2_sessions_found_t *found)
{
    oauth2_conn_t *cs = req->conn ? req->conn : oauth2_conn_of(req);

    if (cs != NULL) {
        oauth2_conn_cookies(cs, site, req->pool, header, site->cfg->cookie_name,
                            &found->cookies, &found->stripped);
        return;
    }
    oauth2_cookie_find_own(header, site->cfg->cookie_name, &found->cookies);
    found->stripped = oauth2_cookie_strip(
        req->pool, header, site->cfg->cookie_name, &found->cookies);
}

static apr_status_t store_find(const oauth2_site_t *site, oauth2_request_t *req,
                               const char *header, int need_tokens,
                               oauth2_authn_t *a,
                               oauth2_sessions_found_t *found)
{
    const oauth2_cookie_found_t *fc = &found->cookies;
    apr_size_t i;
    apr_status_t rv = OAUTH2_ENOTFOUND;

    find_cookies(site, req, header, found);
    /* Duplicates (another path or a parent domain): the first one that
     * names a live session wins; the others are never trusted more. At
     * most four are tried (the fifth is only found to tell the cookie
     * stripping that there may be more). */
    for (i = 0; i < fc->n && i < OAUTH2_SESSIONS_MAX_FOUND - 1; i++) {
        rv = store_lookup(site, req, &fc->at[i], need_tokens, a);
        if (rv != OAUTH2_ENOTFOUND) {
            break;
        }
    }
    if (rv == OAUTH2_ENOTFOUND && fc->n > 0) {
        log_no_session(req, a);
    }
    return rv;
}

/* The request's cookie session: the first session cookie (its copies
 * and positions noted in found, for taking them out of the backend's
 * header), opened (through the connection's memo), its expiry slid when
 * due. */
static apr_status_t cookie_find(const oauth2_site_t *site,
                                oauth2_request_t *req, const char *header,
                                oauth2_authn_t *a,
                                oauth2_sessions_found_t *found,
                                oauth2_response_t *resp)
{
    const char *err = NULL;
    apr_time_t want;
    apr_status_t rv;

    find_cookies(site, req, header, found);
    rv = oauth2_cookie_session_open(
        site, req, header, found->cookies.n > 0 ? &found->cookies.at[0] : NULL,
        &a->session, &a->record, &a->record_len, &a->expires);
    if (rv == OAUTH2_EREFUSED) {
        log_no_session(req, a);
    }
    if (rv != APR_SUCCESS) {
        return OAUTH2_ENOTFOUND;
    }
    want = slide_due(site, a->session, req->now, a->expires);
    if (want != 0
        && oauth2_cookie_session_write(site, req, resp, a->record,
                                       a->record_len, want, &err)
               == APR_SUCCESS) {
        a->expires = want;
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_sessions_find(const oauth2_site_t *site,
                                  oauth2_request_t *req, int need_tokens,
                                  oauth2_authn_t *a,
                                  oauth2_sessions_found_t *found,
                                  oauth2_response_t *resp)
{
    const char *header = oauth2_request_header(req, "Cookie");
    oauth2_sessions_found_t mine;
    apr_status_t rv;

    if (header == NULL || site->store == NULL) {
        return OAUTH2_ENOTFOUND;
    }
    rv = site->cookie_sessions
             ? cookie_find(site, req, header, a, found ? found : &mine, resp)
             : store_find(site, req, header, need_tokens, a,
                          found ? found : &mine);
    if (rv == APR_SUCCESS) {
        a->authenticated = 1;
    }
    return rv;
}

/* Does the provider end sessions by sid or sub, through back-channel or
 * front-channel logout (its discovery document says so)? */
static int logout_by_supported(const oauth2_site_t *site, oauth2_request_t *req)
{
    const oauth2_endpoints_t *ep;
    const char *err;

    return oauth2_provider_endpoints(site->prov, req->pool, req->now, &ep, &err)
               == APR_SUCCESS
           && (ep->backchannel_logout || ep->frontchannel_logout);
}

/* The entries of a list field, comma-separated, at most 1000 bytes. */
static const char *list_text(apr_pool_t *p, const oauth2_session_t *s,
                             oauth2_session_field_e field)
{
    const char *pos = NULL, *g, *out = "";

    while ((g = oauth2_session_list_next(s, field, &pos)) != NULL
           && strlen(out) < 1000) {
        out = apr_pstrcat(p, out, *out ? ", " : "", g, NULL);
    }
    return *out ? out : "(none)";
}

/* The debug line of the identity a login chose. */
static void story_user(const oauth2_site_t *site, oauth2_request_t *req,
                       const oauth2_session_t *s)
{
    OAUTH2_LOG(req, OAUTH2_LOG_DEBUG,
               "OA2407: user %.200s (claim %s), email %.200s%s, groups "
               "(claim %s) %.1000s%s%.1000s",
               s->f[OAUTH2_SF_USER], site->cfg->remote_user_claim,
               s->len[OAUTH2_SF_EMAIL] ? s->f[OAUTH2_SF_EMAIL] : "(none)",
               s->flags & OAUTH2_SESSION_EMAIL_VERIFIED ? " (verified)" : "",
               site->cfg->groups_claim,
               list_text(req->pool, s, OAUTH2_SF_GROUPS),
               s->len[OAUTH2_SF_API_GROUPS] ? ", from the provider's API " : "",
               s->len[OAUTH2_SF_API_GROUPS]
                   ? list_text(req->pool, s, OAUTH2_SF_API_GROUPS)
                   : "");
}

/* Does the provider end its sessions at RP-initiated logout? Only then is
 * the ID token read again (the logout's id_token_hint), and kept. */
static int rp_logout(const oauth2_site_t *site, oauth2_request_t *req)
{
    const oauth2_endpoints_t *ep;
    const char *err;

    return oauth2_provider_endpoints(site->prov, req->pool, req->now, &ep, &err)
               == APR_SUCCESS
           && ep->end_session != NULL;
}

/* Builds the session of in again without its ID token, after a first
 * build found the record too large (OAUTH2_MAX_SESSION_RECORD): an ID
 * token repeats the claims, so it is the first thing to go. */
static apr_status_t build_without_id_token(oauth2_request_t *req,
                                           oauth2_session_input_t *in,
                                           oauth2_session_t **s,
                                           const char **err)
{
    const char *first = *err;

    in->id_token = NULL;
    if (oauth2_session_build(req->pool, in, s, err) != APR_SUCCESS) {
        return OAUTH2_ETOOBIG;
    }
    (*s)->flags |= OAUTH2_SESSION_NO_ID_TOKEN;
    OAUTH2_LOG(req, OAUTH2_LOG_INFO,
               "OA2141: the session of %.200s leaves its ID token out (%s): "
               "a logout at the provider names the client instead",
               (*s)->f[OAUTH2_SF_USER], first ? first : "too large");
    return APR_SUCCESS;
}

/* Builds the session of a login and its record: what the configuration
 * needs, each value once (session.h). */
static apr_status_t session_build(const oauth2_site_t *site,
                                  oauth2_request_t *req,
                                  const oauth2_login_result_t *res,
                                  oauth2_session_t **s, char **rec,
                                  apr_size_t *len, const char **err)
{
    oauth2_session_input_t in;
    apr_status_t rv;

    memset(&in, 0, sizeof(in));
    in.claims = res->claims;
    in.user_claim = site->cfg->remote_user_claim;
    in.groups_claim = site->cfg->groups_claim;
    in.access_token = res->access_token;
    in.refresh_token = res->refresh_token;
    in.id_token = rp_logout(site, req) ? res->id_token : NULL;
    in.access_expires = res->access_expires;
    in.now = req->now;
    in.max_age = apr_time_from_sec(site->cfg->session_max_age);
    in.api_groups = res->api_groups;
    in.resources = res->resources;
    in.groups_filter = site->cfg->groups_filter;
    /* A cookie carries every byte on every request: tokens only where
     * something reads them (server-side stores keep them for .htaccess
     * files that may ask later). */
    in.no_tokens = site->cookie_sessions && !oauth2_cfg_keeps_tokens(site->cfg);
    rv = oauth2_session_build(req->pool, &in, s, err);
    if (rv == OAUTH2_ETOOBIG && in.id_token != NULL) {
        rv = build_without_id_token(req, &in, s, err);
    }
    if (rv == APR_SUCCESS) {
        story_user(site, req, *s);
        rv = oauth2_session_encode(req->pool, *s, rec, len);
        *err = "the session is too large";
    }
    return rv;
}

/* A copy of s without its ID token. */
static oauth2_session_t *without_id_token(apr_pool_t *p,
                                          const oauth2_session_t *s)
{
    oauth2_session_t *n = apr_pmemdup(p, s, sizeof(*s));

    n->f[OAUTH2_SF_ID_TOKEN] = "";
    n->len[OAUTH2_SF_ID_TOKEN] = 0;
    n->flags |= OAUTH2_SESSION_NO_ID_TOKEN;
    return n;
}

/* Writes s into the cookies (*rec, *len its record). The ID token (an
 * ID token repeats the claims, signed and encoded: often more than the
 * rest of the session) is kept only while the session fits in one cookie
 * with it: every request carries every byte. Without it a logout at the
 * provider names the client instead (RP-Initiated Logout 1.0 §2,
 * client_id). Past the budget without one, the session is refused
 * (EBUDGET). */
static apr_status_t cookie_save(const oauth2_site_t *site,
                                oauth2_request_t *req, oauth2_response_t *resp,
                                const oauth2_session_t **s, apr_time_t expires,
                                char **rec, apr_size_t *len, const char **err)
{
    apr_status_t rv = oauth2_session_encode(req->pool, *s, rec, len);

    if (rv == APR_SUCCESS) {
        rv = oauth2_cookie_session_write_n(
            site, req, resp, *rec, *len, expires,
            (*s)->len[OAUTH2_SF_ID_TOKEN] > 0 ? 1 : OAUTH2_MAX_COOKIE_CHUNKS,
            err);
    }
    if (rv != OAUTH2_EBUDGET || (*s)->len[OAUTH2_SF_ID_TOKEN] == 0) {
        return rv == OAUTH2_ETOOBIG ? OAUTH2_EBUDGET : rv;
    }
    OAUTH2_LOG(req, OAUTH2_LOG_INFO,
               "OA2141: the cookie session of %.200s leaves its ID token out "
               "(%s): a logout at the provider names the client instead",
               (*s)->f[OAUTH2_SF_USER], *err);
    *s = without_id_token(req->pool, *s);
    rv = oauth2_session_encode(req->pool, *s, rec, len);
    if (rv == APR_SUCCESS) {
        rv = oauth2_cookie_session_write(site, req, resp, *rec, *len, expires,
                                         err);
    }
    return rv == OAUTH2_ETOOBIG ? OAUTH2_EBUDGET : rv;
}

/* Stores a new session under a new id: one the browser presented is
 * never reused. */
static apr_status_t store_new(const oauth2_site_t *site, oauth2_request_t *req,
                              const oauth2_session_t *s, const char *rec,
                              apr_size_t len, apr_time_t expires,
                              oauth2_response_t *resp, const char **err)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    char *id;
    int indexed;
    apr_status_t rv;

    rv = oauth2_crypto_random_b64(req->pool, OAUTH2_SESSION_ID_BYTES, &id);
    if (rv == APR_SUCCESS) {
        rv = oauth2_site_key(site, id, strlen(id), key);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_store_put(site->store, req->pool, key, rec, len, expires,
                              req->now);
        *err = rv == OAUTH2_EFULL
                   ? apr_psprintf(req->pool,
                                  "the session (%" APR_SIZE_T_FMT " bytes) "
                                  "does not fit in the session table",
                                  len)
                   : "the session store failed";
    }
    /* A session a back-channel logout could not find is not handed out
     * (finding I of the third review). */
    indexed = rv == APR_SUCCESS && logout_by_supported(site, req);
    if (indexed) {
        rv = oauth2_session_index_add(site, req, s, key);
        if (rv != APR_SUCCESS) {
            oauth2_store_remove(site->store, req->pool, key);
            *err =
                "the session cannot be indexed for back-channel or front-channel logout";
            rv = rv == OAUTH2_ECRYPTO ? rv : OAUTH2_ESTORE;
        }
    }
    oauth2_sessions_report(site, req);
    if (rv != APR_SUCCESS) {
        return rv == OAUTH2_ECRYPTO || rv == OAUTH2_EFULL ? rv : OAUTH2_ESTORE;
    }
    OAUTH2_LOG(req, OAUTH2_LOG_DEBUG,
               "OA2408: session stored in the %s store (%" APR_SIZE_T_FMT
               " bytes), ends after %d s without requests or %d s after the "
               "login%s",
               oauth2_store_name(site->store), len, site->cfg->session_timeout,
               site->cfg->session_max_age,
               indexed ? "; indexed for back- or front-channel logout" : "");
    oauth2_site_cookie(site, req, resp, site->cfg->cookie_name, id, -1, "/");
    return APR_SUCCESS;
}

apr_status_t oauth2_sessions_create(const oauth2_site_t *site,
                                    oauth2_request_t *req,
                                    const oauth2_login_result_t *res,
                                    oauth2_response_t *resp, const char **user,
                                    const char **err)
{
    oauth2_session_t *s;
    char *rec;
    apr_size_t len;
    apr_time_t expires;
    apr_status_t rv = session_build(site, req, res, &s, &rec, &len, err);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    expires = req->now + apr_time_from_sec(site->cfg->session_timeout);
    expires = expires < s->max_expires ? expires : s->max_expires;
    *user = s->f[OAUTH2_SF_USER];
    if (site->cookie_sessions) {
        const oauth2_session_t *cs = s;

        rv = cookie_save(site, req, resp, &cs, expires, &rec, &len, err);
        if (rv == APR_SUCCESS) {
            OAUTH2_LOG(req, OAUTH2_LOG_DEBUG,
                       "OA2408: session sealed into the browser's cookies "
                       "(%" APR_SIZE_T_FMT " bytes before sealing)",
                       len);
        }
    }
    else {
        rv = store_new(site, req, s, rec, len, expires, resp, err);
    }
    if (rv == APR_SUCCESS) {
        oauth2_metrics_inc(OAUTH2_METRIC_SESSIONS_CREATED);
    }
    return rv;
}

void oauth2_sessions_report(const oauth2_site_t *site, oauth2_request_t *req)
{
    oauth2_store_report_t rep;

    if (site->store == NULL
        || !oauth2_store_report(site->store, req->now, REPORT_INTERVAL, &rep)) {
        return;
    }
    if (rep.evictions > 0) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2130: the session table is full: %" APR_UINT64_T_FMT
                   " live entries (sessions) were evicted to make room "
                   "since the last report; raise N in OAuth2SessionStore "
                   "shm:%u",
                   rep.evictions, rep.capacity);
    }
    if (rep.repairs > 0) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2131: a process died while writing the session "
                   "table; the next writer repaired it (%u time(s) since "
                   "the last report; entries it was writing are gone)",
                   rep.repairs);
    }
}

void oauth2_sessions_remove(const oauth2_site_t *site, oauth2_request_t *req,
                            const oauth2_authn_t *a, oauth2_response_t *resp)
{
    if (!site->cookie_sessions && site->store != NULL) {
        if (logout_by_supported(site, req)) {
            oauth2_session_index_forget(site, req, a->key);
        }
        oauth2_store_remove(site->store, req->pool, a->key);
    }
    oauth2_site_cookie(site, req, resp, site->cfg->cookie_name, "", 0, "/");
    oauth2_cookie_session_clear(site, req, resp, 1);
}

apr_status_t oauth2_sessions_logout_by(const oauth2_site_t *site,
                                       oauth2_request_t *req, const char *sid,
                                       const char *sub, int *ended)
{
    *ended = 0;
    if (sid == NULL && sub == NULL) {
        return APR_SUCCESS;
    }
    if (site->cookie_sessions) {
        /* Nothing server-side to delete: remember the revocation until
         * every session it covers has expired anyway. */
        return oauth2_cookie_session_revoke(site, req, sid, sub);
    }
    return oauth2_session_index_logout(site, req, sid ? "sid" : "sub",
                                       sid ? sid : sub, ended);
}

apr_status_t oauth2_sessions_save(const oauth2_site_t *site,
                                  oauth2_request_t *req, oauth2_authn_t *a,
                                  const oauth2_session_t *s,
                                  oauth2_response_t *resp, const char **err)
{
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    if (site->cookie_sessions) {
        rv = cookie_save(site, req, resp, &s, a->expires, &rec, &len, err);
    }
    else {
        rv = oauth2_session_encode(req->pool, s, &rec, &len);
        *err = "the session is too large";
        if (rv == APR_SUCCESS) {
            *err = "the session store failed";
            rv = oauth2_store_put(site->store, req->pool, a->key, rec, len,
                                  a->expires, req->now);
            oauth2_sessions_report(site, req);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_session_decode_p(req->pool, rec, len, own_session(req, a));
        a->record = rec;
        a->record_len = len;
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* Refreshing the access token                                         */

/* The verified address of a session, for Google groups (or NULL). */
static const char *verified_email(const oauth2_session_t *s)
{
    return (s->flags & OAUTH2_SESSION_EMAIL_VERIFIED)
                   && s->len[OAUTH2_SF_EMAIL] > 0
               ? s->f[OAUTH2_SF_EMAIL]
               : NULL;
}

/* Writes the session with its new tokens back where it lives; the
 * groups and resources the APIs give are asked again with the new token
 * (a failure ends the session: fail closed). */
static apr_status_t refresh_save(const oauth2_site_t *site,
                                 oauth2_request_t *req, oauth2_authn_t *a,
                                 const oauth2_endpoints_t *ep,
                                 const oauth2_login_result_t *res,
                                 oauth2_response_t *resp, const char **err)
{
    oauth2_session_t *s = oauth2_session_with_tokens(
        req->pool, a->session, res->access_token, res->refresh_token,
        res->id_token, res->access_expires);
    oauth2_groups_result_t api;
    apr_status_t rv;

    rv = oauth2_groups_resolve(req->pool, site->groups, ep, verified_email(s),
                               s->f[OAUTH2_SF_ACCESS_TOKEN], NULL, req->now,
                               &api, err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_session_with_api(
            req->pool, s,
            oauth2_session_filter_groups(req->pool, site->cfg->groups_filter,
                                         api.groups),
            api.resources, 0, &s, err);
    }
    return rv == APR_SUCCESS ? oauth2_sessions_save(site, req, a, s, resp, err)
                             : rv;
}

/* Another process or host holds the refresh: wait for its result. */
static apr_status_t refresh_wait(const oauth2_site_t *site,
                                 oauth2_request_t *req, oauth2_authn_t *a)
{
    apr_time_t before = a->session->access_expires, start = apr_time_now();
    oauth2_session_t *s = apr_palloc(req->pool, sizeof(*s));
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;
    int i;

    for (i = 0; i < 50; i++) {
        apr_sleep(apr_time_from_msec(100));
        /* The request's clock, moved on by the time waited. */
        if (oauth2_store_get(site->store, req->pool, a->key,
                             req->now + (apr_time_now() - start), &rec, &len,
                             &meta)
                != APR_SUCCESS
            || oauth2_session_decode_p(req->pool, rec, len, s) != APR_SUCCESS) {
            return OAUTH2_ENOTFOUND; /* the refresh failed: session ended */
        }
        if (s->access_expires != before) {
            a->session = s;
            a->record = rec;
            a->record_len = len;
            return APR_SUCCESS;
        }
    }
    return OAUTH2_EBUSY;
}

/* Redeems the refresh token; ends the session when that fails. */
static apr_status_t refresh_run(const oauth2_site_t *site,
                                oauth2_request_t *req, oauth2_authn_t *a,
                                oauth2_response_t *resp)
{
    const oauth2_endpoints_t *ep;
    oauth2_login_result_t *res = NULL;
    oauth2_client_t cl;
    const char *err = NULL;
    apr_status_t rv;

    oauth2_site_client(site, req, &cl);
    rv = oauth2_provider_endpoints(site->prov, req->pool, req->now, &ep, &err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_login_refresh(
            req->pool, &cl, ep, a->session->f[OAUTH2_SF_REFRESH_TOKEN],
            a->session->f[OAUTH2_SF_SUB], req->now, &res, &err);
    }
    if (rv == APR_SUCCESS) {
        rv = refresh_save(site, req, a, ep, res, resp, &err);
    }
    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2120: refreshing the access token failed, session "
                   "ended: %s (%s)",
                   err ? err : "", oauth2_strerror(rv));
        oauth2_sessions_remove(site, req, a, resp);
        oauth2_metrics_inc(OAUTH2_METRIC_ENDED_REFRESH_FAILED);
        return OAUTH2_ENOTFOUND;
    }
    OAUTH2_LOG(req, OAUTH2_LOG_INFO, "OA2121: access token of %.200s refreshed",
               a->session->f[OAUTH2_SF_USER]);
    oauth2_metrics_inc(OAUTH2_METRIC_SESSIONS_REFRESHED);
    return APR_SUCCESS;
}

apr_status_t oauth2_sessions_refresh(const oauth2_site_t *site,
                                     oauth2_request_t *req, oauth2_authn_t *a,
                                     oauth2_response_t *resp)
{
    const oauth2_session_t *s = a->session;
    unsigned char lkey[OAUTH2_STORE_KEY_LEN];
    apr_time_t now = req->now;
    const char *id;
    apr_status_t rv;

    /* Fresh enough (with a margin for the request's way to the backend). */
    if (s->access_expires == 0
        || s->access_expires > now + apr_time_from_sec(2)) {
        return APR_SUCCESS;
    }
    if (s->len[OAUTH2_SF_REFRESH_TOKEN] == 0) {
        OAUTH2_LOG(req, OAUTH2_LOG_INFO,
                   "OA2122: access token expired and no refresh token: "
                   "session ended");
        oauth2_sessions_remove(site, req, a, resp);
        oauth2_metrics_inc(OAUTH2_METRIC_ENDED_REFRESH_FAILED);
        return OAUTH2_ENOTFOUND;
    }
    /* One refresh per session at a time, across processes and hosts: a
     * marker in the store is the lock. */
    id = apr_pstrcat(
        req->pool, "refresh:",
        oauth2_base64url_encode(req->pool, a->key, OAUTH2_STORE_KEY_LEN), NULL);
    rv = oauth2_site_key(site, id, strlen(id), lkey);
    if (rv == APR_SUCCESS) {
        rv = oauth2_store_add(site->store, req->pool, lkey,
                              now + apr_time_from_sec(30), now);
    }
    if (rv == OAUTH2_EREPLAY) {
        /* A cookie session is refreshed by the browser's other request,
         * whose cookie will replace this one: pass this token as it is. */
        return site->cookie_sessions ? APR_SUCCESS : refresh_wait(site, req, a);
    }
    if (rv != APR_SUCCESS) {
        return OAUTH2_ESTORE;
    }
    rv = refresh_run(site, req, a, resp);
    oauth2_store_remove(site->store, req->pool, lkey);
    return rv;
}

/* ------------------------------------------------------------------ */
/* Rules resolved on first use                                         */

apr_status_t oauth2_sessions_resolve(const oauth2_site_t *site,
                                     oauth2_request_t *req, oauth2_authn_t *a,
                                     const apr_array_header_t *terms,
                                     oauth2_response_t *resp, const char **err)
{
    const oauth2_endpoints_t *ep;
    oauth2_groups_result_t api;
    oauth2_session_t *s;
    apr_status_t rv = APR_SUCCESS;

    if (a->bearer) {
        *err = "a bearer token's user has no session to look up with";
        return OAUTH2_ECONFIG;
    }
    /* The memo copied the hot fields only: the token is needed. */
    if (!site->cookie_sessions
        && a->session->len[OAUTH2_SF_ACCESS_TOKEN] == 0) {
        rv = oauth2_sessions_read(site, req, a);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_sessions_refresh(site, req, a, resp);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_provider_endpoints(site->prov, req->pool, req->now, &ep,
                                       err);
    }
    if (rv != APR_SUCCESS) {
        *err = *err ? *err : "the session cannot be read again";
        return rv;
    }
    rv = oauth2_groups_resolve(req->pool, site->groups, ep, NULL,
                               a->session->f[OAUTH2_SF_ACCESS_TOKEN], terms,
                               req->now, &api, err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_session_with_api(req->pool, a->session, NULL, api.resources,
                                     1, &s, err);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_sessions_save(site, req, a, s, resp, err);
    }
    return rv;
}
