/*
 * session_index.h: the back-channel logout index (OpenID Connect
 * Back-Channel Logout 1.0 §2.7: "log out every session of that sid or
 * sub") of sessions in a store. Each session of a sid (or sub) has an
 * entry of its own, a link (oauth2_store_link) under
 * "idx:<kind>:<length>:<value>#<n>" naming the session's store key, at
 * the first n free: a link is written only where no live one is, so two
 * logins never take the same n (on one host; see store_remote.h for
 * several sharing a cache). In shm, links live in a pool of their own and
 * a link whose session is gone counts as free, so links never push a
 * session out and each session costs its two links, whatever its user
 * does; elsewhere a session's entries go with it at a local logout (a
 * small record under "idx-of" names them) and expire with its max age
 * otherwise. A logout walks every n below OAUTH2_INDEX_MAX (gaps left by
 * expired or removed entries do not stop it), so each session is found.
 *
 * A session is never handed out unindexed: when all OAUTH2_INDEX_MAX
 * numbers of its sid or sub hold live sessions, one of them, picked at
 * random, is ended to make room (OA2114); when the store fails, the login
 * fails (OA2113).
 */
#ifndef OAUTH2_SESSION_INDEX_H
#define OAUTH2_SESSION_INDEX_H

#include "request.h"
#include "session.h"
#include "site.h"

/* Entries of one sid or sub: the most sessions it has at once. A logout
 * looks at every one (a lookup each; logouts are rare). */
#define OAUTH2_INDEX_MAX 1024

/**
 * Indexes the session s stored under key by its sid and its sub (those it
 * has), until its max expiry, ending one of the user's sessions where
 * every number is taken (logged, OA2114).
 * @return APR_SUCCESS, or the store's failure (logged, OA2113; nothing of
 *         this session is left in the index: the caller removes it)
 */
apr_status_t oauth2_session_index_add(const oauth2_site_t *site,
                                      oauth2_request_t *req,
                                      const oauth2_session_t *s,
                                      const unsigned char *key);

/**
 * Removes the index entries of the session stored under key (a local
 * logout), where the store keeps them apart from the session (not shm,
 * where they die with it). Best effort: what is left expires with the
 * session's max age.
 */
void oauth2_session_index_forget(const oauth2_site_t *site,
                                 oauth2_request_t *req,
                                 const unsigned char *key);

/**
 * Removes every session the index has for kind ("sid" or "sub") and
 * value, with their entries; *removed how many sessions were removed.
 * @return APR_SUCCESS, or OAUTH2_ESTORE when the store failed on the way
 *         (some sessions may be left: the caller answers so that the
 *         logout is tried again)
 */
apr_status_t oauth2_session_index_logout(const oauth2_site_t *site,
                                         oauth2_request_t *req,
                                         const char *kind, const char *value,
                                         int *removed);

#endif /* OAUTH2_SESSION_INDEX_H */
