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
 * does; elsewhere they expire with the session's max age. A logout walks
 * n up from 0 until a run of empty entries, so however many sessions a
 * sid or sub has (up to OAUTH2_INDEX_PROBES at once), each is found.
 */
#ifndef OAUTH2_SESSION_INDEX_H
#define OAUTH2_SESSION_INDEX_H

#include "request.h"
#include "session.h"
#include "site.h"

/* Numbers an add tries; empty entries in a row that end a walk. */
#define OAUTH2_INDEX_PROBES 256
#define OAUTH2_INDEX_MISSES 64

/**
 * Indexes the session s stored under key by its sid and its sub (those it
 * has), until its max expiry. A failure is logged (OA2113) and costs only
 * that a back-channel logout will not find this session.
 */
void oauth2_session_index_add(const oauth2_site_t *site, oauth2_request_t *req,
                              const oauth2_session_t *s,
                              const unsigned char *key);

/**
 * Removes every session the index has for kind ("sid" or "sub") and
 * value, with their entries and the hint. Returns how many sessions were
 * removed.
 */
int oauth2_session_index_logout(const oauth2_site_t *site,
                                oauth2_request_t *req, const char *kind,
                                const char *value);

#endif /* OAUTH2_SESSION_INDEX_H */
