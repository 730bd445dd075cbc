/*
 * store_remote.h: the store interface (store.h) over a plain key-value
 * cache shared by several hosts — what Apache's ap_socache providers
 * (redis, memcache, shmcb, ...) offer: retrieve, store with an expiry,
 * remove. The glue supplies those three calls (apache_socache.c); this
 * file adds what such caches lack and what their clients get wrong:
 *   - each value carries its own expiry in front (the caches do not
 *     return it): expiry (8 bytes, big-endian usec) | record;
 *   - "touch" as a read then a write; "add if absent" as a read, a write
 *     and a read back, under a lock of this server's (locks.add): on one
 *     host two adds of one key never both succeed; two hosts racing on
 *     the same key within a round trip can (the read back catches the
 *     later writer only when its write lands before the earlier one reads
 *     back; documented in SECURITY.md);
 *   - failure handling: a failed call is tried once more (on a fresh
 *     connection, as the clients reconnect after a failure); and while
 *     the cache has failed in this process, a "not found" is believed only
 *     once a probe write reaches it (apr_redis and apr_memcache answer
 *     "not found" without asking while they think a server dead, which must
 *     not pass for "no such session" or for a logout done).
 * Records arrive sealed (store.c seals for remote stores).
 */
#ifndef OAUTH2_STORE_REMOTE_H
#define OAUTH2_STORE_REMOTE_H

#include <apr_global_mutex.h>
#include <apr_pools.h>
#include <apr_time.h>

#include "store.h"

/** The calls of the cache, and the log for its failures. Each answers as
 * the ap_socache providers do: APR_SUCCESS; "not found" (APR_NOTFOUND,
 * or APR_ENOENT as some say it); APR_ECONNREFUSED when the connection was
 * refused (not tried again); any other status, a failure. */
typedef struct {
    /* Reads the value under key into buf (at most *len bytes; *len is set
     * to the value's length). */
    apr_status_t (*retrieve)(void *ctx, apr_pool_t *p, const unsigned char *key,
                             unsigned char *buf, unsigned int *len);
    apr_status_t (*store)(void *ctx, apr_pool_t *p, const unsigned char *key,
                          apr_time_t expires, const unsigned char *val,
                          unsigned int len);
    apr_status_t (*remove)(void *ctx, apr_pool_t *p, const unsigned char *key);
    /* Reports a failure: the whole message, with its tag ("OA2110:
     * session store redis:...: read failed"; OA2111 write, OA2112 remove). */
    void (*log_failure)(void *ctx, const char *message);
} oauth2_remote_ops_t;

/** The global mutexes a remote store holds (each NULL when not needed;
 * pointers to where the glue keeps them, as a child re-attaches them). */
typedef struct {
    /* Around each call: providers that are not thread- or process-safe. */
    apr_global_mutex_t **call;
    /* Around each "add if absent" (a read, a write and a read back), so
     * that two processes of the server never both add one key: one for
     * the whole server per cache, kept across restarts. */
    apr_global_mutex_t **add;
} oauth2_remote_locks_t;

/** A remote store's state (one per virtual host that names the cache). */
typedef struct oauth2_remote_t oauth2_remote_t;

/** The largest record a remote store takes (a sealed maximal session). */
apr_size_t oauth2_remote_max_record(void);

/**
 * A store over the cache's calls; name is the cache as configured
 * ("redis:127.0.0.1:6379"), seal seals every record, locks (copied; NULL:
 * none) the mutexes it holds.
 */
oauth2_store_t *oauth2_store_remote(apr_pool_t *p,
                                    const oauth2_remote_ops_t *ops, void *ctx,
                                    const char *name, const oauth2_seal_t *seal,
                                    const oauth2_remote_locks_t *locks,
                                    oauth2_remote_t **remote);

#endif /* OAUTH2_STORE_REMOTE_H */
