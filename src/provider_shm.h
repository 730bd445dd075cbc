/*
 * provider_shm.h: the server's one view of its providers, in shared memory
 * that every child process maps (the glue creates the segment in the parent
 * before it forks and keeps it in the process pool, so a graceful restart
 * keeps it; see README "Provider metadata").
 *
 * One entry per provider, named by a 32-byte key (a SHA-256 of what decides
 * the documents: metadata.c computes it). Per entry and per document (the
 * discovery document, the JWKS):
 *   - the bytes as last fetched, with a generation counter (0: never; +1 at
 *     each successful fetch) and the time of that fetch. A process parses
 *     a document only when the generation differs from the one it parsed;
 *     reading the generation takes no lock.
 *   - a fetch lease: one fetch at a time for the whole server. The lease
 *     has a deadline, so a fetcher killed mid-fetch holds it no longer.
 *   - the back-off after a failed fetch (shared: once any process fetches
 *     successfully, every process sees it at its next login), with the
 *     reason of the last failure.
 *   - (JWKS) the time of the last refetch for an unknown kid, so that the
 *     OAUTH2_JWKS_MIN_INTERVAL limit holds for the server, not per process;
 *     the regular fetch (expired copy) does not count.
 *   - counters for the status page.
 *
 * This file keeps the bytes and decides who fetches when; it neither
 * fetches nor parses (metadata.c does both), and never logs. Writers and
 * readers of the bytes take one global mutex (the caller creates it; the
 * glue registers it with ap_mutex_register), never during a network call.
 * The layout is described at the top of provider_shm.c.
 */
#ifndef OAUTH2_PROVIDER_SHM_H
#define OAUTH2_PROVIDER_SHM_H

#include <apr_pools.h>
#include <apr_global_mutex.h>
#include <apr_time.h>

#define OAUTH2_PSHM_KEY_LEN 32
/* Entries a segment may hold (providers configured in one server); each
 * reserves OAUTH2_MAX_RESPONSE + OAUTH2_MAX_JWKS bytes of address space
 * (768 KiB), of which only the pages the documents fill are ever touched. */
#define OAUTH2_PSHM_MAX_ENTRIES 1024

/* At most one JWKS refetch for an unknown kid per this interval, for the
 * whole server (the regular fetch of an expired copy does not count). */
#define OAUTH2_JWKS_MIN_INTERVAL apr_time_from_sec(30)
/* Back-off after a failed fetch: starts here, doubles, stops at the max.
 * With one fetch at a time for the whole server the provider sees at most
 * one attempt per interval, so the cap is short: every process logs in
 * again within OAUTH2_FETCH_BACKOFF_MAX (plus one fetch) of the provider's
 * return, however long the outage. */
#define OAUTH2_FETCH_BACKOFF_MIN apr_time_from_sec(1)
#define OAUTH2_FETCH_BACKOFF_MAX apr_time_from_sec(3)
/* How long a request without any copy of a document waits for another
 * process's fetch of it before it answers 502 (a black-holed provider
 * then holds one worker for the HTTP timeout, the others this long). */
#define OAUTH2_FETCH_WAIT apr_time_from_sec(2)
/* A lease lasts the HTTP timeout plus this (parsing, scheduling). */
#define OAUTH2_FETCH_LEASE_SLACK apr_time_from_sec(5)
/* Bytes of the last failure's reason kept for the other processes. */
#define OAUTH2_PSHM_ERR_LEN 200

/** The two documents of a provider. */
typedef enum {
    OAUTH2_PSHM_DISCOVERY = 0,
    OAUTH2_PSHM_JWKS = 1
} oauth2_pshm_doc_e;

/** What oauth2_pshm_begin() decided. */
typedef enum {
    /* The caller holds the lease: fetch, then oauth2_pshm_end(). */
    OAUTH2_PSHM_FETCH,
    /* The shared copy is not the generation the caller has: read it. */
    OAUTH2_PSHM_NEWER,
    /* Another fetch is under way (its lease has not expired). */
    OAUTH2_PSHM_BUSY,
    /* A fetch failed less than the back-off ago (*err: its reason). */
    OAUTH2_PSHM_BACKOFF,
    /* Unknown kid: a refetch for one happened within the interval. */
    OAUTH2_PSHM_LIMITED
} oauth2_pshm_turn_e;

/** A mapped view. */
typedef struct oauth2_pshm_t oauth2_pshm_t;

/** Counters of one entry (whole server). */
typedef struct {
    apr_uint32_t fetches[2]; /* successful fetches, by oauth2_pshm_doc_e */
    apr_uint32_t failures;   /* failed fetches of either document */
} oauth2_pshm_stats_t;

/**
 * Bytes of a segment for `entries` entries, computed in 64 bits; 0 when
 * entries is 0 or above OAUTH2_PSHM_MAX_ENTRIES, or the size does not fit
 * in apr_size_t.
 */
apr_uint64_t oauth2_pshm_size(apr_uint32_t entries);

/**
 * Writes an empty view (every entry free) into the memory at base (size
 * bytes, as oauth2_pshm_size returned for entries). Touches the header and
 * the entries' heads only. Not safe while other processes use the memory.
 * @return APR_SUCCESS or APR_EINVAL (size too small, bad entries)
 */
apr_status_t oauth2_pshm_format(void *base, apr_uint64_t size,
                                apr_uint32_t entries);

/** The entries a formatted view at base was made with; 0 when base does not
 * hold a view of this layout and size (the glue then makes a new one). */
apr_uint32_t oauth2_pshm_capacity(const void *base, apr_uint64_t size);

/**
 * Attaches to a formatted view. The handle comes from p; mutex (required)
 * serializes every change and every read of the bytes, across processes.
 * @return APR_SUCCESS, or APR_EINVAL (*err: a constant string)
 */
apr_status_t oauth2_pshm_attach(apr_pool_t *p, void *base, apr_uint64_t size,
                                apr_global_mutex_t *mutex, oauth2_pshm_t **v,
                                const char **err);

/**
 * Gives each of the n keys (n * OAUTH2_PSHM_KEY_LEN bytes; p for scratch
 * space) an entry (startup, in the parent; takes the
 * mutex, since children of the previous generation may still use the
 * view): the entry that already has the key, with its documents, else a
 * free one, else one whose key is not among these (a provider that left
 * the configuration), emptied. Equal keys get the same entry.
 * @return APR_SUCCESS (slots[i] for keys[i]); OAUTH2_EFULL when there are
 *         not enough entries (nothing changed); an APR code from the mutex
 */
apr_status_t oauth2_pshm_bind(oauth2_pshm_t *v, apr_pool_t *p,
                              const unsigned char *keys, apr_uint32_t n,
                              apr_uint32_t *slots);

/**
 * The generation of a document (0: none yet, or the entry is no longer
 * key's). Takes no lock, makes no system call.
 */
apr_uint32_t oauth2_pshm_generation(oauth2_pshm_t *v, apr_uint32_t slot,
                                    const unsigned char *key,
                                    oauth2_pshm_doc_e doc);

/**
 * Copies the current bytes of a document into p (NUL-terminated; *len
 * without the NUL), with their generation and fetch time (takes the
 * mutex).
 * @return APR_SUCCESS; OAUTH2_ENOTFOUND (no document, or the entry is no
 *         longer key's); an APR code from the mutex
 */
apr_status_t oauth2_pshm_read(oauth2_pshm_t *v, apr_uint32_t slot,
                              const unsigned char *key, oauth2_pshm_doc_e doc,
                              apr_pool_t *p, const char **body, apr_size_t *len,
                              apr_uint32_t *gen, apr_time_t *fetched);

/**
 * May this caller fetch the document now? seen is the generation the
 * caller has (0: none); unknown_kid says the caller wants a refetch
 * because a token names a kid that generation lacks. In this order:
 * NEWER when the shared generation is not 0 and not seen; BUSY while
 * another lease runs; LIMITED for unknown_kid when such a refetch took a
 * lease less than OAUTH2_JWKS_MIN_INTERVAL ago; BACKOFF before the end of
 * the back-off (*err: the failure's reason, from p); else FETCH: the lease
 * is the caller's until now + lease (*token names it for oauth2_pshm_end).
 * @return the decision; BACKOFF with *err "the provider's shared entry was
 *         reassigned" when the entry is no longer key's, or the mutex
 *         failed
 */
oauth2_pshm_turn_e
oauth2_pshm_begin(oauth2_pshm_t *v, apr_uint32_t slot, const unsigned char *key,
                  oauth2_pshm_doc_e doc, apr_time_t now, apr_uint32_t seen,
                  int unknown_kid, apr_interval_time_t lease,
                  apr_uint32_t *token, apr_pool_t *p, const char **err);

/**
 * Ends a fetch begun with oauth2_pshm_begin(): releases the lease (when
 * token still holds it) and records the result at now (the time the
 * fetch ended). ok: body (len <= the document's cap: OAUTH2_MAX_RESPONSE,
 * OAUTH2_MAX_JWKS) becomes the shared copy, a new generation, and the
 * back-off ends. Else the back-off grows (doubling from
 * OAUTH2_FETCH_BACKOFF_MIN to OAUTH2_FETCH_BACKOFF_MAX) and reason (may be
 * NULL) is kept for the others.
 * @return the new generation; 0 when nothing was stored (a failure, a
 *         body over the cap, the entry no longer key's, the mutex)
 */
apr_uint32_t oauth2_pshm_end(oauth2_pshm_t *v, apr_uint32_t slot,
                             const unsigned char *key, oauth2_pshm_doc_e doc,
                             apr_uint32_t token, apr_time_t now, int ok,
                             const char *body, apr_size_t len,
                             const char *reason);

/**
 * Waits (sleeping in steps of 10-50 ms, at most max) until the document's
 * generation is no longer seen or no lease runs; for a caller told BUSY.
 */
void oauth2_pshm_wait(oauth2_pshm_t *v, apr_uint32_t slot,
                      const unsigned char *key, oauth2_pshm_doc_e doc,
                      apr_uint32_t seen, apr_interval_time_t max);

/** The counters of an entry (read without a lock). */
void oauth2_pshm_stats(oauth2_pshm_t *v, apr_uint32_t slot,
                       oauth2_pshm_stats_t *st);

#endif /* OAUTH2_PROVIDER_SHM_H */
