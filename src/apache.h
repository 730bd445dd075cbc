/*
 * apache.h: the Apache side of the module, shared by the glue
 * (mod_auth_oauth2.c: directives, hooks) and the adapter files
 * (src/apache.c: request view, sessions on requests, identity, pages;
 * src/apache_endpoints.c: the module's own endpoints). These are the only
 * files that see request_rec.
 *
 * Log tags: every message starts with "OA2nnnn: ", stable for tests and
 * administrators' alerts:
 *   OA2001-OA2099 configuration and startup (mod_auth_oauth2.c)
 *   OA2100-OA2199 sessions and identity on requests (apache.c)
 *   OA2200-OA2299 login, callback and logout (apache_endpoints.c)
 *   OA2300-OA2399 authorization rules and bearer tokens
 */
#ifndef AUTH_OAUTH2_APACHE_H
#define AUTH_OAUTH2_APACHE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_filter.h"

#include "config.h"
#include "cookie.h"
#include "crypto.h"
#include "groups.h"
#include "http.h"
#include "login.h"
#include "metadata.h"
#include "request.h"
#include "seal.h"
#include "session.h"
#include "store.h"

/* The glue declares the module (AP_DECLARE_MODULE); the other files use
 * its log index, so LogLevel auth_oauth2:... applies to them as well. */
#ifndef AUTH_OAUTH2_GLUE
APLOG_USE_MODULE(auth_oauth2);
#endif
extern module AP_MODULE_DECLARE_DATA auth_oauth2_module;

#define AUTH_OAUTH2_TYPE          "oauth2"
#define AUTH_OAUTH2_STATUS        "oauth2-status"
#define AUTH_OAUTH2_SOCACHE_MUTEX "auth-oauth2-socache"
/* The session table's writers (Mutex auth-oauth2-shm ...). */
#define AUTH_OAUTH2_SHM_MUTEX "auth-oauth2-shm"
/* The lock of the provider view (Mutex auth-oauth2-provider ...). */
#define AUTH_OAUTH2_PROVIDER_MUTEX "auth-oauth2-provider"
/* AUTH_OAUTH2_VERSION is AC_INIT's version in configure.ac, which
 * Makefile.am passes with -D: the version is written in one place only. */
#ifndef AUTH_OAUTH2_VERSION
#error "AUTH_OAUTH2_VERSION comes from the build (configure.ac, Makefile.am)"
#endif

/** A session store on an ap_socache provider (apache_socache.c). */
typedef struct auth_oauth2_socache_t auth_oauth2_socache_t;

/** Server config: the engine config plus what post_config builds from it
 * (read-only once children run). */
typedef struct {
    oauth2_cfg_t *cfg;
    oauth2_provider_t *prov; /* NULL when no OAuth2Provider */
    oauth2_http_opts_t http;
    oauth2_seal_t *seal_state;
    oauth2_seal_t *seal_session;
    oauth2_seal_t *seal_store;
    oauth2_store_t *store;          /* sessions; with cookie sessions only the
                                       one-time markers and the bearer cache */
    auth_oauth2_socache_t *socache; /* when the store is a socache */
    int cookie_sessions;            /* OAuth2SessionStore cookie */
    unsigned char key_tag[8];       /* binds session keys to the scope */
    const char *session_aad;        /* binds cookie sessions to the scope */
    const char *callback_path;      /* path part of the redirect URI */
    oauth2_groups_t *groups;        /* API lookups for Require rules */
} auth_oauth2_srv_conf;

/* Copies of the session cookie a request's lookup finds (duplicates come
 * from other paths or a parent domain); it tries one fewer, and finding
 * this many sends the Cookie header to the full parse when our cookies
 * are taken out of it. */
#define AUTH_OAUTH2_MAX_FOUND 5

/** A page of the module's own: an HTML page with a title, a message and
 * a link, every value escaped. */
typedef struct {
    int status;
    const char *title;
    const char *message;
    const char *link;      /* NULL: none */
    const char *link_text; /* default "Try again" */
} auth_oauth2_page_t;

/** What one request learned about its user (r->request_config). */
typedef struct {
    /* Decoded, points into record; the connection's copy on the shm way
     * (never written through this pointer), else the request's own. */
    const oauth2_session_t *session;
    const char *record;
    apr_size_t record_len;
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    apr_time_t expires;        /* when the session ends if idle */
    int authenticated;         /* a valid session or bearer token */
    int anonymous;             /* let through by OAuth2UnauthAction pass */
    const char *cookie_header; /* the Cookie header the session came from */
    oauth2_cookie_t found[AUTH_OAUTH2_MAX_FOUND]; /* our session cookies in
                                                     it (the first ones) */
    apr_size_t nfound;
    int forbidden;                  /* a logged-in user failed a Require rule */
    const auth_oauth2_page_t *page; /* the body of an error status a hook
                                       answered (auth_oauth2_fail) */
    int cookies_stripped; /* the backend's Cookie header is without ours */
    int bearer;           /* authenticated by a bearer token */
    int api_failed;       /* a provider API failed during a Require rule */
} auth_oauth2_req_t;

/** Module configs of a request. */
auth_oauth2_srv_conf *auth_oauth2_srv(const server_rec *s);
oauth2_dir_cfg_t *auth_oauth2_dir(const request_rec *r);

/** The request view for the engine (built once, cached per request). */
const oauth2_request_t *auth_oauth2_view(request_rec *r);

/** Per-request state, created on first use. */
auth_oauth2_req_t *auth_oauth2_req(request_rec *r);

/** Removes client-sent identity headers (any case, '_' for '-') and their
 * names from Connection; runs on every request. */
void auth_oauth2_strip_identity(request_rec *r);

/** Removes the module's own cookies (session, login states) from the
 * Cookie header, so the backend never receives a session credential. */
void auth_oauth2_strip_cookies(request_rec *r, const auth_oauth2_srv_conf *srv);

/** The same, right after authentication, with the positions the session
 * lookup found; sets req->cookies_stripped when done (the fixups then skip
 * it), else the fixups take the general way (merged Cookie lines, cookie
 * sessions). */
void auth_oauth2_strip_session_cookies(request_rec *r,
                                       const auth_oauth2_srv_conf *srv,
                                       auth_oauth2_req_t *req);

/** Replaces the code and state values in the request line that the access
 * log writes (%r), for the callback. */
void auth_oauth2_redact_request_line(request_rec *r);

/**
 * Finds the request's session: cookie, hash, store, expiry checks, sliding
 * expiry written back when due. need_tokens: the tokens must be read too
 * (otherwise only the fields a request needs are copied). @return APR_SUCCESS
 * (req filled), OAUTH2_ENOTFOUND (no valid session), OAUTH2_ESTORE (store
 * failure)
 */
apr_status_t auth_oauth2_session_find(request_rec *r,
                                      const auth_oauth2_srv_conf *srv,
                                      int need_tokens, auth_oauth2_req_t *req);

/** Creates the session of a finished login: in the store with a new id
 * in the cookie, or sealed into the cookies. Sets r->user. */
apr_status_t auth_oauth2_session_create(request_rec *r,
                                        const auth_oauth2_srv_conf *srv,
                                        const oauth2_login_result_t *res,
                                        const char **err);

/** Logs, at most once a minute across all processes, what the shm session
 * table did since the last such line: live entries evicted for room
 * (OA2130, naming OAuth2SessionStore shm:N), repairs after a process died
 * writing it (OA2131). Call after a store write; costs a few atomic loads
 * when there is nothing to say. */
void auth_oauth2_store_report(request_rec *r, const auth_oauth2_srv_conf *srv);

/** Removes the request's session (store record and cookies). */
void auth_oauth2_session_remove(request_rec *r, const auth_oauth2_srv_conf *srv,
                                const auth_oauth2_req_t *req);

/** Back-channel logout: removes the sessions of a sid (or, without one,
 * of a sub). Returns how many were removed (1 for cookie sessions, which
 * are revoked by a marker). */
int auth_oauth2_session_logout_by(request_rec *r,
                                  const auth_oauth2_srv_conf *srv,
                                  const char *sid, const char *sub);

/** Refreshes an expired access token (OAuth2PassAccessToken): one
 * refresh per session at a time; a failed refresh ends the session.
 * @return APR_SUCCESS, OAUTH2_ENOTFOUND (session ended), OAUTH2_EBUSY,
 *         OAUTH2_ESTORE */
apr_status_t auth_oauth2_session_refresh(request_rec *r,
                                         const auth_oauth2_srv_conf *srv,
                                         auth_oauth2_req_t *req);

/**
 * Resolves resource words that the session records nothing for (rules
 * met first in .htaccess) with the session's access token (refreshed
 * first when it expired), and writes the session back with the answers,
 * so the next request asks no API. @return APR_SUCCESS; OAUTH2_ECONFIG (a
 * bearer token's user, or no API for the kind); OAUTH2_ENOTFOUND (the
 * session ended); the API's errors (*err says which call)
 */
apr_status_t auth_oauth2_session_resolve(request_rec *r,
                                         const auth_oauth2_srv_conf *srv,
                                         auth_oauth2_req_t *req,
                                         const apr_array_header_t *terms,
                                         const char **err);

/** The shm session table for the whole server (apache_shm.c): the kept
 * one when its capacity is unchanged, else a new one (post_config). */
apr_status_t auth_oauth2_shm_setup(apr_pool_t *pconf, server_rec *s,
                                   apr_uint32_t capacity, oauth2_shm_t **table);

/** Re-attaches the session table's mutex in a child. */
void auth_oauth2_shm_child_init(apr_pool_t *p, server_rec *s);

/** A global mutex of type (Mutex directive) kept in the process pool under
 * key across restarts; made anew when absent or fresh. */
apr_status_t auth_oauth2_kept_mutex(server_rec *s, const char *key,
                                    const char *type, int fresh,
                                    apr_global_mutex_t **mutex);

/** Sets up a socache session store (post_config). Returns NULL or an
 * error message. */
const char *auth_oauth2_socache_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                       server_rec *s, const char *spec,
                                       const oauth2_seal_t *seal,
                                       auth_oauth2_socache_t **out,
                                       oauth2_store_t **store);

/** Re-attaches the socache store's mutex in a child. */
void auth_oauth2_socache_child_init(auth_oauth2_socache_t *c, apr_pool_t *p);

/** Gives every virtual host's provider its entry in the server's provider
 * view, creating or keeping the shared memory (post_config, after every
 * provider is created). Logs OA2011/OA2012 on failure.
 * @return APR_SUCCESS or the failure's status */
apr_status_t auth_oauth2_provider_view_setup(apr_pool_t *pconf,
                                             apr_pool_t *ptemp, server_rec *s);

/** Re-attaches the provider view's mutex in a child (logs OA2013). */
void auth_oauth2_provider_view_child_init(apr_pool_t *p, server_rec *s);

/** The store key of a session id (SHA-256 of the client tag and the id). */
apr_status_t auth_oauth2_session_key(request_rec *r,
                                     const auth_oauth2_srv_conf *srv,
                                     const char *id, apr_size_t len,
                                     unsigned char *key);

/**
 * Authenticates an `Authorization: Bearer` JWT where OAuth2AcceptBearer is
 * On. A verified token is cached in the store under a hash of the token
 * until it expires, so a repeated token costs one hash. @return OK (req
 * filled), DECLINED (no bearer token here), or an HTTP status (401 with
 * WWW-Authenticate error="invalid_token", 500, 503)
 */
int auth_oauth2_bearer(request_rec *r, const auth_oauth2_srv_conf *srv,
                       const oauth2_dir_cfg_t *dir, auth_oauth2_req_t *req);

/** Sets r->user and the backend's identity headers/variables. */
void auth_oauth2_identity_set(request_rec *r, const auth_oauth2_srv_conf *srv,
                              const oauth2_dir_cfg_t *dir,
                              const auth_oauth2_req_t *req);

/** What to do without a session (OAuth2UnauthAction); an HTTP status. */
int auth_oauth2_unauthenticated(request_rec *r, const auth_oauth2_srv_conf *srv,
                                const oauth2_dir_cfg_t *dir);

/** Starts a login that returns to return_to: state cookie and redirect.
 * retry: this login restarts one whose code the provider refused (it is
 * not restarted again). Returns HTTP_MOVED_TEMPORARILY or an error status
 * with the module's page (auth_oauth2_fail). */
int auth_oauth2_login_start(request_rec *r, const auth_oauth2_srv_conf *srv,
                            const char *return_to, int retry);

/** The provider cannot be reached: 502 with the module's page naming the
 * sign-in service (auth_oauth2_fail); link: where "try again" goes. */
int auth_oauth2_provider_down(request_rec *r, const auth_oauth2_srv_conf *srv,
                              const char *link);

/** Adds a Set-Cookie (err_headers_out, so it survives error pages). */
void auth_oauth2_set_cookie(request_rec *r, const auth_oauth2_srv_conf *srv,
                            const char *name, const char *value, long max_age,
                            const char *path);

/** The client this virtual host is to its provider, for this request. */
void auth_oauth2_client(request_rec *r, const auth_oauth2_srv_conf *srv,
                        oauth2_client_t *cl);

/** Reads the record under req->key from the store and decodes it into
 * req (session, record, expires). @return APR_SUCCESS, OAUTH2_ENOTFOUND,
 * OAUTH2_EMALFORMED, or OAUTH2_ESTORE */
apr_status_t auth_oauth2_record_read(request_rec *r,
                                     const auth_oauth2_srv_conf *srv,
                                     apr_time_t now, auth_oauth2_req_t *req);

/** The absolute callback URL for this request. */
const char *auth_oauth2_redirect_uri(request_rec *r,
                                     const auth_oauth2_srv_conf *srv);

/** Sends a small HTML page (status, title, message, optional link) from a
 * handler; returns OK. The message is escaped. */
int auth_oauth2_page(request_rec *r, int status, const char *title,
                     const char *message, const char *link);

/** The same page for an error status that a hook returns (Apache then
 * sends it through its error response): remembered for the request, put
 * in place of Apache's body by AUTH_OAUTH2_PAGE_FILTER, unless the site
 * has an ErrorDocument for that status. Returns status. */
int auth_oauth2_fail(request_rec *r, int status, const char *title,
                     const char *message, const char *link);

/** Whether the site has an ErrorDocument for status (any kind). */
int auth_oauth2_has_error_document(request_rec *r, int status);

/** The module's endpoints under OAuth2Prefix (quick handler). */
int auth_oauth2_endpoint(request_rec *r, const auth_oauth2_srv_conf *srv);

/** The output filter of error responses (insert_error_filter): the
 * request's auth_oauth2_page_t in place of Apache's body, and for a
 * logged-in user refused by a Require rule, mod_authz_core's 401 turned
 * into a 403 (with the site's own text where it has an ErrorDocument
 * text for it). */
#define AUTH_OAUTH2_PAGE_FILTER "OAUTH2_PAGE"
apr_status_t auth_oauth2_page_filter(ap_filter_t *f, apr_bucket_brigade *bb);

/** A logged-in user failed a Require rule (note_auth_failure): the answer
 * becomes a 403 with the site's ErrorDocument 403, or the module's page;
 * an ErrorDocument 401 is never shown to them. */
void auth_oauth2_refused(request_rec *r, auth_oauth2_req_t *req);

/** A provider API failed while a Require rule needed it (a resource first
 * named in .htaccess): mod_authz_core's 500 becomes a 502 with the
 * module's page. */
void auth_oauth2_api_failed(request_rec *r, auth_oauth2_req_t *req);

/** An internal redirect to the ErrorDocument of a refused user carries
 * 403, not mod_authz_core's 401 (post_read_request of the redirect). */
void auth_oauth2_refused_redirect(request_rec *r);

/** What `apache2 -t` must refuse, from the configuration tree and the
 * servers' settings (check_config; apache_check.c). Logs and returns an
 * HTTP status on the first mistake, else OK. */
int auth_oauth2_check_tree(apr_pool_t *ptemp, server_rec *s);

/** Registers the oauth2-group, oauth2-claim and oauth2-email-domain
 * authorization providers (register_hooks). */
void auth_oauth2_register_authz(apr_pool_t *p);

/** SetHandler oauth2-status. */
int auth_oauth2_status_handler(request_rec *r);

/** A short, non-reversible tag of a secret value for logs. */
const char *auth_oauth2_log_hash(apr_pool_t *p, const char *secret);

#endif /* AUTH_OAUTH2_APACHE_H */
