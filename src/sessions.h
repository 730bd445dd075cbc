/*
 * sessions.h: the life of a session on requests: finding the request's
 * session (the hot path: the cookie, one SHA-256, a lock-free store read,
 * or on a keep-alive connection only a version check of the memo,
 * conn.h), creating one at login, removing it at logout, sliding its
 * expiry, writing it back changed, refreshing its access token (one
 * refresh at a time, across processes and hosts), resolving the rules an
 * .htaccess names on first use, and back-channel logout. Sessions live in
 * the site's store under a hash of their id (session_index.h indexes
 * them by sid and sub), or sealed in the browser's cookies
 * (cookie_session.h).
 */
#ifndef OAUTH2_SESSIONS_H
#define OAUTH2_SESSIONS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "cookie.h"
#include "login.h"
#include "request.h"
#include "response.h"
#include "session.h"
#include "site.h"
#include "store.h"

/* Copies of the session cookie a request's lookup notes; it tries one
 * fewer (finding this many sends the Cookie header to the full parse). */
#define OAUTH2_SESSIONS_MAX_FOUND OAUTH2_COOKIE_MAX_FOUND

/** What one request learned about its user. */
typedef struct {
    /* Decoded, points into record: the connection's copy on the memo way
     * (never written through this pointer), else the request's own. */
    const oauth2_session_t *session;
    const char *record;
    apr_size_t record_len;
    unsigned char key[OAUTH2_STORE_KEY_LEN]; /* its store key */
    apr_time_t expires;                      /* when it ends if idle */
    int authenticated; /* a valid session or bearer token */
    int anonymous;     /* let through by OAuth2UnauthAction pass */
    int bearer;        /* a bearer token's (no session to write) */
    int refused_by;    /* 1 + the oauth2_rule_kind_e of the last oauth2-*
                          rule that refused the user (0: none) */
    int stale;         /* a session cookie that names no valid session
                          (expired, logged out): the session ended */
    const oauth2_site_t *site; /* the provider's site that authenticated the
                                  user (a named one, or the host's) */
    /* A bearer token's: the OAuth2BearerAudience and OAuth2BearerAllowUntyped
     * it was accepted under (a place of others does not inherit its user). */
    const char *audience;
    int untyped;
} oauth2_authn_t;

/** Where the session cookies of a request's Cookie header are, and the
 * header as the backend gets it: without the module's cookies
 * (oauth2_cookie_strip: NULL when it holds none). */
typedef struct {
    oauth2_cookie_found_t cookies;
    const char *stripped;
} oauth2_sessions_found_t;

/**
 * Finds the request's session: cookie, key, store (through the
 * connection's memo where the store can check), expiry checks, the
 * sliding expiry written back when due (a Set-Cookie in resp for cookie
 * sessions). need_tokens: the tokens must be read too (otherwise only
 * the fields a request needs are copied). found may be NULL.
 * @return APR_SUCCESS (a filled, authenticated); OAUTH2_ENOTFOUND (no
 *         valid session); OAUTH2_ESTORE or OAUTH2_ECRYPTO (the session
 *         cannot be checked)
 */
apr_status_t oauth2_sessions_find(const oauth2_site_t *site,
                                  oauth2_request_t *req, int need_tokens,
                                  oauth2_authn_t *a,
                                  oauth2_sessions_found_t *found,
                                  oauth2_response_t *resp);

/**
 * Reads the whole record under a->key from the site's store into the
 * request's pool and decodes it into a (session, record, expires).
 * @return APR_SUCCESS, OAUTH2_ENOTFOUND (also for a record of an older
 *         format), OAUTH2_EMALFORMED, or OAUTH2_ESTORE
 */
apr_status_t oauth2_sessions_read(const oauth2_site_t *site,
                                  oauth2_request_t *req, oauth2_authn_t *a);

/**
 * The record of the store key of id (len bytes: a bearer token with its
 * audience) decoded into a, through the connection's memo where the store
 * can check a copy: the same id again on a keep-alive connection costs a
 * compare and a version check, not a hash, a copy and a decode. a->key
 * is the store key of id, also when nothing is found there.
 * @return APR_SUCCESS, OAUTH2_ENOTFOUND (also for a malformed record or
 *         one of an older format), OAUTH2_ESTORE or OAUTH2_ECRYPTO
 */
apr_status_t oauth2_sessions_read_id(const oauth2_site_t *site,
                                     oauth2_request_t *req, const char *id,
                                     apr_size_t len, int need_tokens,
                                     oauth2_authn_t *a);

/**
 * a is the user of id (len bytes) when the connection's memo holds id and
 * its record still stands (the store's version check), else
 * OAUTH2_ENOTFOUND: nothing is hashed or read. For a caller that checks
 * what it builds id of only when the connection does not remember it.
 */
apr_status_t oauth2_sessions_recall_id(const oauth2_site_t *site,
                                       oauth2_request_t *req, const char *id,
                                       apr_size_t len, int need_tokens,
                                       oauth2_authn_t *a);

/**
 * Creates the session of a finished login: in the store under a new id
 * (the cookie in resp; indexed for back-channel logout when the provider
 * sends logout tokens), or sealed into cookies. *user: its user.
 * @return APR_SUCCESS; OAUTH2_EMISMATCH (no user claim); OAUTH2_EFULL
 *         (no room in the table); OAUTH2_ETOOBIG; OAUTH2_ECRYPTO;
 *         OAUTH2_ESTORE; *err says why
 */
apr_status_t oauth2_sessions_create(const oauth2_site_t *site,
                                    oauth2_request_t *req,
                                    const oauth2_login_result_t *res,
                                    oauth2_response_t *resp, const char **user,
                                    const char **err);

/** Removes the request's session: its record (a->key) and its cookies. */
void oauth2_sessions_remove(const oauth2_site_t *site, oauth2_request_t *req,
                            const oauth2_authn_t *a, oauth2_response_t *resp);

/**
 * Writes a changed session s back where a's lives (its store key, or the
 * cookies), and makes it a's. @return APR_SUCCESS, or the store's or
 * encoder's error with *err
 */
apr_status_t oauth2_sessions_save(const oauth2_site_t *site,
                                  oauth2_request_t *req, oauth2_authn_t *a,
                                  const oauth2_session_t *s,
                                  oauth2_response_t *resp, const char **err);

/**
 * Refreshes an expired access token (OAuth2PassAccessToken): one refresh
 * per session at a time, across processes and hosts (a marker in the
 * store); a request that finds another refresh running waits for its
 * result; a failed refresh ends the session.
 * @return APR_SUCCESS; OAUTH2_ENOTFOUND (the session ended);
 *         OAUTH2_EBUSY (the other refresh took too long); OAUTH2_ESTORE
 */
apr_status_t oauth2_sessions_refresh(const oauth2_site_t *site,
                                     oauth2_request_t *req, oauth2_authn_t *a,
                                     oauth2_response_t *resp);

/**
 * Resolves resource words that the session records nothing for (rules
 * met first in .htaccess) with the session's access token (refreshed
 * first when it expired), and writes the session back with the answers,
 * so the next request asks no API.
 * @return APR_SUCCESS; OAUTH2_ECONFIG (a bearer token's user, or no API
 *         for the kind); OAUTH2_ENOTFOUND (the session ended); the API's
 *         errors (*err says which call)
 */
apr_status_t oauth2_sessions_resolve(const oauth2_site_t *site,
                                     oauth2_request_t *req, oauth2_authn_t *a,
                                     const apr_array_header_t *terms,
                                     oauth2_response_t *resp, const char **err);

/**
 * Back-channel logout: ends the sessions of a sid (or, without one, of a
 * sub); *ended how many. Cookie sessions are revoked instead (*ended 0):
 * with a sub, every one of that sub created until now; with a sid alone,
 * those of the sid (oauth2_cookie_session_revoke).
 * @return APR_SUCCESS, or the store's failure: the logout may be undone
 *         in part, and must be answered so that the provider tries again
 */
apr_status_t oauth2_sessions_logout_by(const oauth2_site_t *site,
                                       oauth2_request_t *req, const char *sid,
                                       const char *sub, int *ended);

/**
 * Logs, at most once a minute across all processes, what the store did
 * since the last such line: live entries evicted for room (OA2130,
 * naming OAuth2SessionStore shm:N), repairs after a process died writing
 * it (OA2131). Call after a store write; a few atomic loads when there is
 * nothing to say.
 */
void oauth2_sessions_report(const oauth2_site_t *site, oauth2_request_t *req);

#endif /* OAUTH2_SESSIONS_H */
