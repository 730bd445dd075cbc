/*
 * store.h: where sessions and one-time markers live, behind one interface:
 * the shared-memory table of this host (store_shm.c, through the
 * functions below), or an ap_socache provider shared by several hosts
 * (implemented by the glue, which owns Apache's API). Cookie sessions
 * keep only their markers in a store (cookie_session.c).
 *
 * Keys are SHA-256 digests, never the secret they came from. Records in a
 * store outside this host are sealed (AES-256-GCM, the key as associated
 * data) by this layer, so a dump of that store reveals no token and a
 * record cannot be moved to another key.
 *
 * Besides the basic operations a store may offer what the request hot
 * path and the status page need (oauth2_store_extra_t): a read of a
 * record's first bytes, a check that a record read before is unchanged,
 * counters, and rate-limited news for the log. Where a store does not,
 * the functions below say so (APR_ENOTIMPL) or fall back to a whole read.
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
    apr_uint64_t stamp; /* names this version of the record, for
                           oauth2_store_check (0: the store has none) */
} oauth2_store_meta_t;

/** Counters for the status page. */
typedef struct {
    apr_uint32_t capacity;        /* records (and markers) it holds */
    apr_uint32_t live;            /* records stored */
    apr_uint32_t chunks_free;     /* room for large records */
    apr_uint64_t size;            /* bytes */
    apr_uint64_t evictions;       /* live records dropped to make room */
    apr_uint64_t refused;         /* writes refused for want of room */
    apr_uint64_t markers_evicted; /* live markers dropped for markers */
    apr_uint32_t repairs;         /* repairs after a writer died inside */
    apr_uint32_t sessions;        /* live session records */
    apr_uint64_t links_evicted;   /* live index entries dropped for room */
} oauth2_store_stats_t;

/** What oauth2_store_report has to tell. */
typedef struct {
    apr_uint64_t evictions; /* since the last report */
    apr_uint32_t repairs;   /* since the last report */
    apr_uint32_t capacity;
} oauth2_store_report_t;

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
     * kept like a session, never in a marker pool (links, where the store
     * has no link operation). */
    apr_status_t (*put_new)(void *ctx, apr_pool_t *p, const unsigned char *key,
                            const char *rec, apr_size_t len, apr_time_t expires,
                            apr_time_t now);
} oauth2_store_ops_t;

/** What a store may offer besides the basic operations (each may be
 * NULL); the matching oauth2_store_* functions say what they mean. */
typedef struct {
    apr_status_t (*get_prefix)(void *ctx, const unsigned char *key,
                               apr_time_t now, char *buf, apr_size_t bufsize,
                               apr_size_t *len, oauth2_store_meta_t *meta);
    apr_status_t (*check)(void *ctx, const oauth2_store_meta_t *meta,
                          apr_time_t now, apr_time_t *expires);
    apr_status_t (*stats)(void *ctx, oauth2_store_stats_t *stats);
    int (*report)(void *ctx, apr_time_t now, apr_interval_time_t interval,
                  oauth2_store_report_t *out);
    apr_status_t (*put_class)(void *ctx, const unsigned char *key,
                              const char *rec, apr_size_t len,
                              apr_time_t expires, apr_time_t now,
                              oauth2_shm_class_e klass);
    apr_status_t (*link)(void *ctx, const unsigned char *key,
                         const unsigned char *value, apr_time_t expires,
                         apr_time_t now);
    apr_status_t (*link_get)(void *ctx, const unsigned char *key,
                             apr_time_t now, unsigned char *value);
} oauth2_store_extra_t;

/** A store: an implementation, its context, and (for remote stores) the
 * keys that seal its records. */
typedef struct oauth2_store_t oauth2_store_t;

/**
 * A store over ops/ctx. seal non-NULL makes every record sealed.
 */
oauth2_store_t *oauth2_store_create(apr_pool_t *p,
                                    const oauth2_store_ops_t *ops, void *ctx,
                                    const oauth2_seal_t *seal);

/** The same, with the extra operations of extra (may be NULL; a sealed
 * store uses none of its reads, which would skip the opening). */
oauth2_store_t *oauth2_store_create_extra(apr_pool_t *p,
                                          const oauth2_store_ops_t *ops,
                                          const oauth2_store_extra_t *extra,
                                          void *ctx, const oauth2_seal_t *seal);

/** A store over a shared-memory table (records not sealed: they never
 * leave this host's memory), with every extra operation. */
oauth2_store_t *oauth2_store_shm(apr_pool_t *p, oauth2_shm_t *shm);

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

/** Writes a record of class klass (store_shm.h: what it may evict, and
 * what may evict it, in the shm table; other stores treat every record
 * alike). oauth2_store_put writes a session's. */
apr_status_t oauth2_store_put_class(const oauth2_store_t *st, apr_pool_t *p,
                                    const unsigned char *key, const char *rec,
                                    apr_size_t len, apr_time_t expires,
                                    apr_time_t now, oauth2_shm_class_e klass);

/**
 * Writes a link: an index entry under key naming the record under value
 * (a store key), unless a live one is there (OAUTH2_EREPLAY). In shm, in
 * the links' own pool, where a link whose record is gone counts as free
 * (oauth2_shm_link); elsewhere a record of its own (sealed), written only
 * where none is: in a socache store a read then a write (store_remote.h).
 */
apr_status_t oauth2_store_link(const oauth2_store_t *st, apr_pool_t *p,
                               const unsigned char *key,
                               const unsigned char *value, apr_time_t expires,
                               apr_time_t now);

/** Do links die with the record they name (shm: a link whose record is
 * gone counts as free)? Elsewhere a link lives until removed or
 * expired. */
int oauth2_store_links_die(const oauth2_store_t *st);

/** Reads the link under key into value (OAUTH2_STORE_KEY_LEN bytes).
 * @return APR_SUCCESS, OAUTH2_ENOTFOUND, OAUTH2_EMALFORMED, a store
 *         failure */
apr_status_t oauth2_store_link_get(const oauth2_store_t *st, apr_pool_t *p,
                                   const unsigned char *key, apr_time_t now,
                                   unsigned char *value);

/** Moves a record's expiry (sliding inactivity timeout). */
apr_status_t oauth2_store_touch(const oauth2_store_t *st, apr_pool_t *p,
                                const unsigned char *key, apr_time_t expires,
                                apr_time_t now);

/** Removes a record. */
apr_status_t oauth2_store_remove(const oauth2_store_t *st, apr_pool_t *p,
                                 const unsigned char *key);

/**
 * Copies at most bufsize bytes of the record under key into buf (buf
 * non-NULL), *len its whole length: a reader of a record's first part
 * copies no more. Lock-free in shm; elsewhere a whole read from p, then
 * the copy. @return as oauth2_store_get
 */
apr_status_t oauth2_store_get_prefix(const oauth2_store_t *st, apr_pool_t *p,
                                     const unsigned char *key, apr_time_t now,
                                     char *buf, apr_size_t bufsize,
                                     apr_size_t *len,
                                     oauth2_store_meta_t *meta);

/** Does oauth2_store_check work here (a copy of a record may be kept and
 * checked instead of read again)? */
int oauth2_store_can_check(const oauth2_store_t *st);

/**
 * Is the record read as meta unchanged and unexpired at now? Sets
 * *expires (may be NULL) to its current expiry, which a touch may have
 * moved without a change. Lock-free, no system call (shm).
 * @return APR_SUCCESS, OAUTH2_ENOTFOUND (changed, removed or expired),
 *         APR_ENOTIMPL (the store cannot tell)
 */
apr_status_t oauth2_store_check(const oauth2_store_t *st,
                                const oauth2_store_meta_t *meta, apr_time_t now,
                                apr_time_t *expires);

/** The store's counters. @return APR_SUCCESS or APR_ENOTIMPL */
apr_status_t oauth2_store_stats(const oauth2_store_t *st,
                                oauth2_store_stats_t *stats);

/**
 * For a rate-limited log line: whether live records were evicted or the
 * store repaired since the last report, once per interval across every
 * process using it. Cheap when there is nothing to say.
 * @return 1 with *out set, else 0 (also for stores that keep no such
 *         count)
 */
int oauth2_store_report(const oauth2_store_t *st, apr_time_t now,
                        apr_interval_time_t interval,
                        oauth2_store_report_t *out);

#endif /* OAUTH2_STORE_H */
