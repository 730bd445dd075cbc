/*
 * cookie_session.h: sessions kept in the browser (OAuth2SessionStore
 * cookie): the record and its inactivity expiry, sealed with the site's
 * session seal under the site's scope (its associated data), in the
 * session cookie, or split into chunks when larger than one cookie holds:
 *     <name>=~N   <name>_1=...   ...   <name>_N=...   (N <= 16)
 * Nothing about them lives server-side, except what revokes them: a
 * back-channel logout leaves a marker (revoked-sid, revoked-sub) in the
 * site's store that outlives every session it covers, and rewrites the
 * revocation epoch, a record whose version tells a connection's memo
 * (conn.h) that a session it opened before must be checked again.
 *
 * Browsers send every cookie of a site in one Cookie header, which Apache
 * refuses whole (400, on every request until the cookies go) when it is
 * longer than LimitRequestFieldSize. A cookie session therefore takes at
 * most OAUTH2_COOKIE_SESSION_BUDGET per cent of that limit, leaving the
 * rest to the site's other cookies; a larger one is not written
 * (OAUTH2_EBUDGET), so a login fails with a page that says why instead of
 * locking the user out.
 */
#ifndef OAUTH2_COOKIE_SESSION_H
#define OAUTH2_COOKIE_SESSION_H

#include <apr_pools.h>
#include <apr_time.h>

#include "cookie.h"
#include "request.h"
#include "response.h"
#include "session.h"
#include "site.h"

/* Characters per chunk; with the name and attributes a cookie stays under
 * the 4 KB browsers accept. */
#define OAUTH2_COOKIE_SESSION_CHUNK 3800

/* The share of LimitRequestFieldSize (per cent) a cookie session may take
 * in the Cookie header; the rest is the site's other cookies'. */
#define OAUTH2_COOKIE_SESSION_BUDGET 75

/* Apache's LimitRequestFieldSize when the request does not say
 * (DEFAULT_LIMIT_REQUEST_FIELDSIZE). */
#define OAUTH2_COOKIE_SESSION_FIELD_LIMIT 8190

/**
 * How many bytes the session cookies of a sealed value of vlen characters
 * add to a browser's Cookie header: each "name=value" and the "; " that
 * separates it, the chunks and their count included.
 */
apr_size_t oauth2_cookie_session_header_bytes(const char *base,
                                              apr_size_t vlen);

/**
 * The most a cookie session may add to this request's Cookie header:
 * OAUTH2_COOKIE_SESSION_BUDGET per cent of the server's
 * LimitRequestFieldSize (completes the view).
 */
apr_size_t oauth2_cookie_session_budget(oauth2_request_t *req);

/**
 * Opens the cookie session of header (the request's Cookie header) whose
 * session cookie is first (found by the caller): joins its chunks, opens
 * the seal, checks both expiries at req->now and the revocation markers.
 * On a connection that opened the same bytes before, the connection's
 * memo answers instead (conn.h): no decoding, no decryption. *s and *rec
 * are the memo's or the request's; never write through them.
 * @return APR_SUCCESS with *s, *rec, *len, *expires; OAUTH2_ENOTFOUND
 *         (no session cookie, or a chunk of it missing); OAUTH2_EREFUSED
 *         (a cookie that is not a valid session: forged, expired,
 *         revoked, another scope's)
 */
apr_status_t
oauth2_cookie_session_open(const oauth2_site_t *site, oauth2_request_t *req,
                           const char *header, const oauth2_cookie_t *first,
                           const oauth2_session_t **s, const char **rec,
                           apr_size_t *len, apr_time_t *expires);

/**
 * Seals expiry | record into the session cookie, or into chunks, and
 * expires the chunks the request carries beyond them (left over from a
 * larger session). Nothing is written when the cookies would pass the
 * request's budget (oauth2_cookie_session_budget) or 16 chunks.
 * @return APR_SUCCESS; OAUTH2_ECRYPTO; OAUTH2_EBUDGET (*err says how
 *         large, against which limit)
 */
apr_status_t oauth2_cookie_session_write(const oauth2_site_t *site,
                                         oauth2_request_t *req,
                                         oauth2_response_t *resp,
                                         const char *rec, apr_size_t len,
                                         apr_time_t expires, const char **err);

/**
 * oauth2_cookie_session_write in at most max_chunks cookies (1: the
 * session cookie alone, no chunks): OAUTH2_EBUDGET when it needs more.
 */
apr_status_t oauth2_cookie_session_write_n(const oauth2_site_t *site,
                                           oauth2_request_t *req,
                                           oauth2_response_t *resp,
                                           const char *rec, apr_size_t len,
                                           apr_time_t expires, int max_chunks,
                                           const char **err);

/** Expires the chunk cookies from first up that the request carries. */
void oauth2_cookie_session_clear(const oauth2_site_t *site,
                                 oauth2_request_t *req, oauth2_response_t *resp,
                                 int first);

/**
 * Back-channel logout of cookie sessions: a record that lives one
 * OAuth2SessionMaxAge, so every session it covers is refused until it
 * would have expired anyway. With a sub, one record per sub, replaced in
 * place: "every session of this sub created until now" (also those of
 * other sids: cookie sessions cannot be listed, and a record per sid
 * would let one account pin as many records as it has provider
 * sessions); with a sid alone, one per sid. Pinned in shm: never evicted
 * while it lives, never evicting a session, and at most a quarter of
 * the table (store_shm.h). Then a new revocation epoch, so connections
 * that opened a session before check it again.
 * @return APR_SUCCESS, or the store's failure (OAUTH2_EFULL: no room):
 *         then nothing is revoked, and the caller must not answer 200
 */
apr_status_t oauth2_cookie_session_revoke(const oauth2_site_t *site,
                                          oauth2_request_t *req,
                                          const char *sid, const char *sub);

#endif /* OAUTH2_COOKIE_SESSION_H */
