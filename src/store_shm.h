/*
 * store_shm.h: the session table of one host, in APR shared memory that
 * every child process maps at the same address (created by the parent
 * before it forks).
 *
 * Records are opaque byte strings (session.c serializes them) under a
 * 32-byte key (a SHA-256 of the session id, never the id itself), each
 * with an absolute expiry. Readers take no lock: every slot carries a
 * version counter (a seqlock: odd while a writer is inside) and a reader
 * retries, a bounded number of times, when it changed under it. Writers
 * serialize on one global mutex that the caller creates (the glue
 * registers it with ap_mutex_register so the Mutex directive applies).
 * Work per call is bounded: a fixed probe window, a fixed number of slots
 * swept for expired records per write; never a scan of the whole table,
 * except once after a writer died holding the mutex (the next writer then
 * repairs the table before it writes). One-time markers live in a pool of
 * their own and never take a record's place. A record is expired at now
 * when expires <= now. The layout is described at the top of store_shm.c
 * (1,888.5 bytes of segment per record). Links, index entries that name
 * a record, live in a third pool (oauth2_shm_link).
 */
#ifndef OAUTH2_STORE_SHM_H
#define OAUTH2_STORE_SHM_H

#include <apr_pools.h>
#include <apr_global_mutex.h>
#include <apr_time.h>

#define OAUTH2_SHM_KEY_LEN 32
/* Capacity limits (records); the segment size is computed from these. */
#define OAUTH2_SHM_MIN_CAPACITY 64
#define OAUTH2_SHM_MAX_CAPACITY 4000000

/** What a record is, which decides what it may evict when its window is
 * full (and what may evict it). */
typedef enum {
    OAUTH2_SHM_SESSION = 0, /* a session (the default): evicts caches and
                               sessions */
    OAUTH2_SHM_CACHE = 1,   /* what can be had again (a verified bearer
                               token, an API token): evicts only caches */
    OAUTH2_SHM_PINNED = 2   /* never evicted while it lives (a revocation
                               of cookie sessions); evicts only caches,
                               and holds at most a quarter of the slots
                               (then OAUTH2_EFULL) */
} oauth2_shm_class_e;
#define OAUTH2_SHM_CLASSES 3

/** A mapped session table. */
typedef struct oauth2_shm_t oauth2_shm_t;

/** What a read learns about a record besides its bytes. */
typedef struct {
    apr_time_t expires;   /* absolute expiry of the record */
    apr_uint32_t slot;    /* slot index, for oauth2_shm_check() */
    apr_uint32_t version; /* the slot's version when read */
} oauth2_shm_meta_t;

/** Counters for the status page. */
typedef struct {
    apr_uint32_t capacity;     /* slots (and marker entries) */
    apr_uint32_t live;         /* records stored (expired ones included
                                  until swept) */
    apr_uint32_t chunks_total; /* overflow chunks */
    apr_uint32_t chunks_free;
    apr_uint64_t evictions;       /* live records dropped to make room */
    apr_uint64_t markers_evicted; /* live markers dropped for markers */
    apr_uint64_t refused;         /* puts answered OAUTH2_EFULL */
    apr_uint32_t repairs;         /* repairs after a writer died inside */
    apr_uint64_t size;            /* bytes of the segment */
    apr_uint32_t live_class[OAUTH2_SHM_CLASSES]; /* live by class */
    apr_uint32_t links;                          /* link entries */
    apr_uint64_t links_evicted; /* live links dropped for links */
} oauth2_shm_stats_t;

/** What oauth2_shm_report() has to tell. */
typedef struct {
    apr_uint64_t evictions; /* since the last report */
    apr_uint32_t repairs;   /* since the last report */
    apr_uint32_t capacity;
} oauth2_shm_report_t;

/**
 * Bytes needed for a table of `capacity` records (slots plus overflow
 * chunks), computed in 64 bits; 0 when capacity is outside
 * [OAUTH2_SHM_MIN_CAPACITY, OAUTH2_SHM_MAX_CAPACITY] or the size does not
 * fit in apr_size_t. Size it at ~1.5x the records expected: random keys
 * filling 65% of the slots evict 0.02% of them, at 75% 0.25%, at 90%
 * 2.5%. The overflow chunks (4 per slot) hold a full table of records
 * averaging up to 1,472 bytes; beyond that records holding chunks are
 * evicted to make room. The marker pool has as many entries as slots,
 * the link pool four times as many.
 */
apr_uint64_t oauth2_shm_size(apr_uint32_t capacity);

/**
 * Writes an empty table into the memory at base (size bytes, as returned
 * by oauth2_shm_size), with seed (16 random bytes) keying the slot hash.
 * Called once, by the process that created the segment.
 * @return APR_SUCCESS or APR_EINVAL (size too small, bad capacity)
 */
apr_status_t oauth2_shm_format(void *base, apr_uint64_t size,
                               apr_uint32_t capacity,
                               const unsigned char seed[16]);

/**
 * Attaches to a formatted table at base. The handle is allocated from p;
 * mutex (required) serializes writers (may be shared by several
 * processes). Works on a table that already holds records.
 * @return APR_SUCCESS, or APR_EINVAL when base does not hold a table of
 *         this version and size or mutex is NULL (*err says why: a
 *         constant string)
 */
apr_status_t oauth2_shm_attach(apr_pool_t *p, void *base, apr_uint64_t size,
                               apr_global_mutex_t *mutex, oauth2_shm_t **shm,
                               const char **err);

/** The capacity a formatted table was made with (0 when base is not a
 * table); lets the glue decide whether a kept segment can be reused.
 * Reuse it only together with the same mutex: during a graceful restart
 * children of the old generation still write to the segment, and writers
 * under two different mutexes would corrupt it. */
apr_uint32_t oauth2_shm_capacity(const void *base, apr_uint64_t size);

/**
 * Copies the record stored under key into buf, without taking a lock or
 * making a system call. meta may be NULL; buf may be NULL with bufsize 0
 * (a size query).
 * @return APR_SUCCESS with *len and *meta set;
 *         OAUTH2_ENOTFOUND when absent or expired at now;
 *         OAUTH2_ETOOBIG when bufsize is too small (*len = needed size);
 *         OAUTH2_EBUSY when writers kept changing the slot during
 *         every retry (rare; callers treat it as a store failure);
 *         APR_EINVAL when shm, key or len is NULL
 */
apr_status_t oauth2_shm_get(oauth2_shm_t *shm,
                            const unsigned char key[OAUTH2_SHM_KEY_LEN],
                            apr_time_t now, void *buf, apr_size_t bufsize,
                            apr_size_t *len, oauth2_shm_meta_t *meta);

/**
 * As oauth2_shm_get, but a record larger than bufsize is not an error:
 * its first bufsize bytes are copied and *len is its whole length (so a
 * reader that needs only the start of a record — the "hot" fields of a
 * session — copies no more). buf must not be NULL.
 * @return as oauth2_shm_get, without OAUTH2_ETOOBIG
 */
apr_status_t oauth2_shm_get_prefix(oauth2_shm_t *shm,
                                   const unsigned char key[OAUTH2_SHM_KEY_LEN],
                                   apr_time_t now, void *buf,
                                   apr_size_t bufsize, apr_size_t *len,
                                   oauth2_shm_meta_t *meta);

/**
 * Is the record last read as (meta->slot, meta->version) unchanged and
 * not expired at now? Lock-free; lets a connection that kept a copy of a
 * record skip the copy. Sets *expires (may be NULL) to the current
 * expiry, which oauth2_shm_touch() may have moved without a change.
 * @return APR_SUCCESS, OAUTH2_ENOTFOUND (changed, removed or expired),
 *         APR_EINVAL when shm or meta is NULL
 */
apr_status_t oauth2_shm_check(oauth2_shm_t *shm, const oauth2_shm_meta_t *meta,
                              apr_time_t now, apr_time_t *expires);

/**
 * Stores (inserts or replaces) the record under key, expiring at expires.
 * Takes the mutex. To make room it reuses an empty or expired slot in the
 * key's probe window, else evicts the record there that expires first;
 * when the overflow chunks run short, it frees expired records and then
 * evicts records that hold chunks, those closest to expiry first (a
 * bounded number). Evictions of live records count in
 * oauth2_shm_stats_t.evictions. A replace happens in place: concurrent
 * readers of the key retry, and may get OAUTH2_EBUSY, but never ENOTFOUND
 * or a mix of the two records.
 * @return APR_SUCCESS; OAUTH2_ETOOBIG (len > OAUTH2_MAX_SESSION_RECORD);
 *         OAUTH2_EFULL (not enough overflow chunks even after sweeping and
 *         evicting; the key's own record is unchanged, and the refusal
 *         counts in oauth2_shm_stats_t.refused); APR_EINVAL (NULL shm or
 *         key, or NULL rec with len > 0); an APR code from the mutex
 */
apr_status_t oauth2_shm_put(oauth2_shm_t *shm,
                            const unsigned char key[OAUTH2_SHM_KEY_LEN],
                            const void *rec, apr_size_t len, apr_time_t expires,
                            apr_time_t now);

/**
 * oauth2_shm_put for a record of class klass (oauth2_shm_put stores
 * sessions): a full window or want of chunks evicts only what that class
 * may evict, else OAUTH2_EFULL.
 * @return as oauth2_shm_put; APR_EINVAL for an unknown class
 */
apr_status_t oauth2_shm_put_class(oauth2_shm_t *shm,
                                  const unsigned char key[OAUTH2_SHM_KEY_LEN],
                                  const void *rec, apr_size_t len,
                                  apr_time_t expires, apr_time_t now,
                                  oauth2_shm_class_e klass);

/**
 * Sets the link under key to value (the key of a record) until expires,
 * unless a link is there that is live: unexpired, and its record present
 * and unexpired. Links have a pool of their own, four entries per slot,
 * with the same bounded probe window: a new link takes an empty, expired
 * or dead entry (its record gone), else evicts the live link of its
 * window that expires first, and removes the record it names (a session
 * no index finds must not stay; counted in links_evicted and
 * evictions). A link never
 * takes a record's slot. oauth2_shm_delete() removes links too. Takes the
 * mutex.
 * @return APR_SUCCESS, OAUTH2_EREPLAY (a live link has key), APR_EINVAL,
 *         an APR code from the mutex
 */
apr_status_t oauth2_shm_link(oauth2_shm_t *shm,
                             const unsigned char key[OAUTH2_SHM_KEY_LEN],
                             const unsigned char value[OAUTH2_SHM_KEY_LEN],
                             apr_time_t expires, apr_time_t now);

/**
 * Reads the link under key (its value) when unexpired, whether or not its
 * record is still there. Takes the mutex (links are read at logout only).
 * @return APR_SUCCESS, OAUTH2_ENOTFOUND, APR_EINVAL, an APR code from the
 *         mutex
 */
apr_status_t oauth2_shm_link_get(oauth2_shm_t *shm,
                                 const unsigned char key[OAUTH2_SHM_KEY_LEN],
                                 apr_time_t now,
                                 unsigned char value[OAUTH2_SHM_KEY_LEN]);

/**
 * Sets a one-time marker under key until expires, unless an unexpired one
 * is there (a used login state, a logout token's jti, a refresh lock).
 * Markers have no record and a pool of their own, as many entries as
 * slots, with the same bounded probe window: a new marker takes an empty
 * or expired entry, else evicts the marker of its window that expires
 * first (counted in oauth2_shm_stats_t.markers_evicted). A marker never
 * takes a record's slot, so clients that cannot log in cannot push
 * sessions out. oauth2_shm_delete() removes markers too; oauth2_shm_get()
 * does not see them. Takes the mutex.
 * @return APR_SUCCESS, OAUTH2_EREPLAY (present), APR_EINVAL (NULL shm or
 *         key), an APR code from the mutex
 */
apr_status_t oauth2_shm_mark(oauth2_shm_t *shm,
                             const unsigned char key[OAUTH2_SHM_KEY_LEN],
                             apr_time_t expires, apr_time_t now);

/**
 * Moves the expiry of the record under key to expires (the sliding
 * inactivity timeout). Uses a try-lock: when another writer holds the
 * mutex the update is skipped and APR_EBUSY returned (the next request
 * will try again). Only the expiry changes, not the slot's version, so
 * copies validated with oauth2_shm_check() stay valid. It does not look
 * at the current expiry: touch after a successful get, not blindly.
 * @return APR_SUCCESS, OAUTH2_ENOTFOUND, APR_EBUSY, APR_EINVAL
 */
apr_status_t oauth2_shm_touch(oauth2_shm_t *shm,
                              const unsigned char key[OAUTH2_SHM_KEY_LEN],
                              apr_time_t expires);

/**
 * Removes the record, the marker or the link under key (takes the
 * mutex).
 * @return APR_SUCCESS, OAUTH2_ENOTFOUND, APR_EINVAL, an APR code from
 *         the mutex
 */
apr_status_t oauth2_shm_delete(oauth2_shm_t *shm,
                               const unsigned char key[OAUTH2_SHM_KEY_LEN]);

/** Current counters (read without a lock; approximate under writes). */
void oauth2_shm_stats(const oauth2_shm_t *shm, oauth2_shm_stats_t *stats);

/**
 * For a rate-limited log line: whether live records were evicted or the
 * table repaired since the last report, and at least interval has passed
 * since that report. Across every process attached
 * to the table, one caller per interval gets 1 and *out (the counts since
 * the last report); everyone else gets 0. Lock-free, no system call.
 * @return 1 with *out set, else 0
 */
int oauth2_shm_report(oauth2_shm_t *shm, apr_time_t now,
                      apr_interval_time_t interval, oauth2_shm_report_t *out);

#endif /* OAUTH2_STORE_SHM_H */
