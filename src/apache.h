/*
 * apache.h: the Apache side's common part (src/apache.c): the module's
 * configuration records, the per-request state, the virtual hosts and the
 * request view the engine reads (built from server_rec and request_rec),
 * the one function that applies the engine's response (the header-table
 * edits themselves are the engine's headers.c), and the filter that puts
 * the module's page in place of an error body. The glue files
 * (mod_auth_oauth2.c, src/apache_*.c) are the only ones that see
 * request_rec; each has a header of its own, which includes this one and
 * no other glue header. The engine (every other src/ file) includes none.
 *
 * Log tags: every message starts with "OA2nnnn: ", stable for tests and
 * administrators' alerts:
 *   OA2001-OA2099 configuration and startup (server.c's findings, logged
 *                 by check_config; the glue's startup)
 *   OA2100-OA2199 sessions, stores and identity on requests (sessions.c,
 *                 session_index.c, headers.c, store_remote.c)
 *   OA2200-OA2299 login, callback and logout (access.c, endpoints.c)
 *   OA2300-OA2399 authorization rules and bearer tokens (access.c)
 */
#ifndef AUTH_OAUTH2_APACHE_H
#define AUTH_OAUTH2_APACHE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_filter.h"

#include "config.h"
#include "metadata.h"
#include "request.h"
#include "response.h"
#include "server.h"
#include "sessions.h"
#include "site.h"
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

/** Server config: the engine config, and the site post_config builds from
 * it (read-only once children run). */
typedef struct {
    oauth2_cfg_t *cfg;
    oauth2_site_t *site; /* NULL when no OAuth2Provider */
} auth_oauth2_srv_conf;

/** What one request learned (r->request_config). */
typedef struct {
    oauth2_authn_t authn;      /* its user, for the authz providers */
    int forbidden;             /* a logged-in user failed a Require rule */
    int api_failed;            /* a provider API failed during a rule */
    int cookies_stripped;      /* the backend's Cookie header is without
                                  ours */
    const oauth2_page_t *page; /* the body of an error status a hook
                                  answered */
} auth_oauth2_req_t;

/** Module configs of a request. */
auth_oauth2_srv_conf *auth_oauth2_srv(const server_rec *s);
oauth2_dir_cfg_t *auth_oauth2_dir(const request_rec *r);

/** The virtual hosts of s, the main server first (oauth2_host_t, from p):
 * what the engine's startup decisions (server.h) read. */
apr_array_header_t *auth_oauth2_hosts(apr_pool_t *p, server_rec *s);

/** Per-request state: created on first use, or NULL when none yet. */
auth_oauth2_req_t *auth_oauth2_req(request_rec *r);
auth_oauth2_req_t *auth_oauth2_req_find(const request_rec *r);

/** Fills the engine's view of r (on the caller's stack): plain fields
 * now, host and scheme when the engine asks, the body on demand, the log
 * through ap_log_rerror with the module's index. */
void auth_oauth2_view(request_rec *r, oauth2_request_t *v);

/**
 * Applies the engine's response to r: headers, cookies, the identity for
 * the backend (and the Cookie header without the module's cookies), the
 * body or the page. Returns what the hook returns: OK, DECLINED, or the
 * HTTP status.
 */
int auth_oauth2_respond(request_rec *r, const oauth2_response_t *resp);

/** A logged-in user failed a Require rule (note_auth_failure): the answer
 * becomes a 403 with the site's ErrorDocument 403, or the module's page;
 * an ErrorDocument 401 is never shown to them. */
void auth_oauth2_refused(request_rec *r, auth_oauth2_req_t *req);

/** A provider API failed while a Require rule needed it: mod_authz_core's
 * 500 becomes a 502 with the module's page. */
void auth_oauth2_api_failed(request_rec *r, auth_oauth2_req_t *req);

/** An internal redirect to the ErrorDocument of a refused user carries
 * 403, not mod_authz_core's 401 (post_read_request of the redirect). */
void auth_oauth2_refused_redirect(request_rec *r);

/** The output filter of error responses (insert_error_filter): the
 * request's page in place of Apache's body, and for a logged-in user
 * refused by a Require rule, mod_authz_core's 401 turned into a 403 (with
 * the site's own text where it has an ErrorDocument text for it). */
#define AUTH_OAUTH2_PAGE_FILTER "OAUTH2_PAGE"
apr_status_t auth_oauth2_page_filter(ap_filter_t *f, apr_bucket_brigade *bb);

#endif /* AUTH_OAUTH2_APACHE_H */
