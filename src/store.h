/*
 * store.h: where sessions and one-time markers live, behind one interface:
 * the shared-memory table of this host (store_shm.c), an ap_socache
 * provider shared by several hosts (implemented by the glue, which owns
 * Apache's API), or nothing server-side at all (cookie sessions, handled
 * by the glue).
 *
 * Keys are SHA-256 digests, never the secret they came from. Records in a
 * store outside this host are sealed (AES-256-GCM, the key as associated
 * data) by this layer, so a dump of that store reveals no token and a
 * record cannot be moved to another key.
 */
#ifndef OAUTH2_STORE_H
#define OAUTH2_STORE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "seal.h"
#include "store_shm.h"

#define OAUTH2_STORE_KEY_LEN 32

/** What a get learns besides the record. */
typedef struct {
    apr_time_t expires;
    oauth2_shm_meta_t shm; /* shm only: slot and version */
} oauth2_store_meta_t;

/** A store implementation. Every function returns APR_SUCCESS,
 * OAUTH2_ENOTFOUND, OAUTH2_EREPLAY (add), OAUTH2_EFULL (put: no room,
 * shm), or OAUTH2_ESTORE / an APR code for a store failure. */
typedef struct {
    const char *name;
    apr_status_t (*get)(void *ctx, apr_pool_t *p, const unsigned char *key,
                        apr_time_t now, char **rec, apr_size_t *len,
                        oauth2_store_meta_t *meta);
    apr_status_t (*put)(void *ctx, apr_pool_t *p, const unsigned char *key,
                        const char *rec, apr_size_t len, apr_time_t expires,
                        apr_time_t now);
    apr_status_t (*add)(void *ctx, apr_pool_t *p, const unsigned char *key,
                        const char *rec, apr_size_t len, apr_time_t expires,
                        apr_time_t now);
    apr_status_t (*touch)(void *ctx, apr_pool_t *p, const unsigned char *key,
                          apr_time_t expires, apr_time_t now);
    apr_status_t (*remove)(void *ctx, apr_pool_t *p, const unsigned char *key);
    /* A record written only where none is (OAUTH2_EREPLAY otherwise),
     * kept like a session, never in a marker pool. */
    apr_status_t (*put_new)(void *ctx, apr_pool_t *p, const unsigned char *key,
                            const char *rec, apr_size_t len, apr_time_t expires,
                            apr_time_t now);
} oauth2_store_ops_t;

/** A store: an implementation, its context, and (for remote stores) the
 * keys that seal its records. */
typedef struct oauth2_store_t oauth2_store_t;

/**
 * A store over ops/ctx. seal non-NULL makes every record sealed.
 */
oauth2_store_t *oauth2_store_create(apr_pool_t *p,
                                    const oauth2_store_ops_t *ops, void *ctx,
                                    const oauth2_seal_t *seal);

/** A store over a shared-memory table (records not sealed: they never
 * leave this host's memory). */
oauth2_store_t *oauth2_store_shm(apr_pool_t *p, oauth2_shm_t *shm);

/** The shm table under a store, or NULL for other kinds. */
oauth2_shm_t *oauth2_store_get_shm(const oauth2_store_t *st);

/** The implementation's name ("shm", "redis", ...). */
const char *oauth2_store_name(const oauth2_store_t *st);

/** Reads a record (opened when sealed). *rec from p. */
apr_status_t oauth2_store_get(const oauth2_store_t *st, apr_pool_t *p,
                              const unsigned char *key, apr_time_t now,
                              char **rec, apr_size_t *len,
                              oauth2_store_meta_t *meta);

/** Writes a record (sealed when the store is remote). */
apr_status_t oauth2_store_put(const oauth2_store_t *st, apr_pool_t *p,
                              const unsigned char *key, const char *rec,
                              apr_size_t len, apr_time_t expires,
                              apr_time_t now);

/** Writes a one-time marker; OAUTH2_EREPLAY when it exists. */
apr_status_t oauth2_store_add(const oauth2_store_t *st, apr_pool_t *p,
                              const unsigned char *key, apr_time_t expires,
                              apr_time_t now);

/** Writes a record only if no unexpired one has its key (sealed when the
 * store is remote); OAUTH2_EREPLAY when one exists. Kept like a session
 * (never in the shm marker pool). Atomic in shm; in a socache store a
 * read, then a write (see apache_socache.c). */
apr_status_t oauth2_store_add_rec(const oauth2_store_t *st, apr_pool_t *p,
                                  const unsigned char *key, const char *rec,
                                  apr_size_t len, apr_time_t expires,
                                  apr_time_t now);

/** Moves a record's expiry (sliding inactivity timeout). */
apr_status_t oauth2_store_touch(const oauth2_store_t *st, apr_pool_t *p,
                                const unsigned char *key, apr_time_t expires,
                                apr_time_t now);

/** Removes a record. */
apr_status_t oauth2_store_remove(const oauth2_store_t *st, apr_pool_t *p,
                                 const unsigned char *key);

#endif /* OAUTH2_STORE_H */
