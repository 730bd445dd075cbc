/*
 * session_index.h: the back-channel logout index (OpenID Connect
 * Back-Channel Logout 1.0 §2.7: "log out every session of that sid or
 * sub") of sessions in a store. Each session of a sid (or sub) has an
 * entry of its own, "idx:<kind>:<value>#<n>", whose record is the
 * session's store key, written only where none is (oauth2_store_add_rec),
 * so two logins never take the same n; a hint record "idx:<kind>:<value>"
 * holds the n after the newest. Entries live as long as their session can
 * (its max age) and come in order of creation, so a logout walks from the
 * hint down until a run of empty entries (sessions older than that have
 * expired), and up from it in case the hint was lost. However many
 * sessions a sid or sub has, each is found.
 */
#ifndef OAUTH2_SESSION_INDEX_H
#define OAUTH2_SESSION_INDEX_H

#include "request.h"
#include "session.h"
#include "site.h"

/* Adds tried from the hint on; empty entries in a row that end a walk. */
#define OAUTH2_INDEX_PROBES 64
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
