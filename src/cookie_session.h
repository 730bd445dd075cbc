/*
 * cookie_session.h: sessions kept in the browser (OAuth2SessionStore
 * cookie): the record and its inactivity expiry, sealed with the site's
 * session seal under the site's scope (its associated data), in the
 * session cookie, or split into chunks when larger than one cookie holds:
 *     <name>=~N   <name>_1=...   ...   <name>_N=...   (N <= 16)
 * Nothing about them lives server-side, except what revokes them: a
 * back-channel logout leaves a marker (revoked-sid, revoked-sub) in the
 * site's store that outlives every session it covers.
 */
#ifndef OAUTH2_COOKIE_SESSION_H
#define OAUTH2_COOKIE_SESSION_H

#include <apr_pools.h>
#include <apr_time.h>

#include "request.h"
#include "response.h"
#include "session.h"
#include "site.h"

/* Characters per chunk; with the name and attributes a cookie stays under
 * the 4 KB browsers accept. */
#define OAUTH2_COOKIE_SESSION_CHUNK 3800

/**
 * Opens the cookie session of header (the request's Cookie header): joins
 * its chunks, opens the seal, checks both expiries at req->now and the
 * revocation markers. s points into *rec (from the request's pool).
 * @return APR_SUCCESS with *s, *rec, *len, *expires; OAUTH2_ENOTFOUND
 *         (no session cookie, or a chunk of it missing); OAUTH2_EREFUSED
 *         (a cookie that is not a valid session: forged, expired,
 *         revoked, another scope's)
 */
apr_status_t oauth2_cookie_session_open(const oauth2_site_t *site,
                                        oauth2_request_t *req,
                                        const char *header, oauth2_session_t *s,
                                        const char **rec, apr_size_t *len,
                                        apr_time_t *expires);

/**
 * Seals expiry | record into the session cookie, or into chunks, and
 * expires the chunks the request carries beyond them (left over from a
 * larger session).
 * @return APR_SUCCESS; OAUTH2_ECRYPTO; OAUTH2_ETOOBIG (more than 16
 *         chunks: *err says so)
 */
apr_status_t oauth2_cookie_session_write(const oauth2_site_t *site,
                                         oauth2_request_t *req,
                                         oauth2_response_t *resp,
                                         const char *rec, apr_size_t len,
                                         apr_time_t expires, const char **err);

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
 * the table (store_shm.h).
 * @return APR_SUCCESS, or the store's failure (OAUTH2_EFULL: no room):
 *         then nothing is revoked, and the caller must not answer 200
 */
apr_status_t oauth2_cookie_session_revoke(const oauth2_site_t *site,
                                          oauth2_request_t *req,
                                          const char *sid, const char *sub);

#endif /* OAUTH2_COOKIE_SESSION_H */
