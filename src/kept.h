/*
 * kept.h: shared memory segments and global mutexes that survive
 * restarts, and their users: the session table (store_shm.h), the
 * provider view (provider_shm.h, metadata.h), the counters (metrics.h)
 * and the socache store's add mutex (oauth2_kept_mutex).
 *
 * A segment lives in the userdata of the pool it is kept in (the glue
 * passes Apache's process pool), so that a graceful or plain restart,
 * which rereads the configuration in the same parent, finds it again:
 * children of both generations then share the memory and the mutex (a
 * new segment gets a new mutex; the old generation keeps its own). The
 * glue makes the mutexes (Apache's Mutex directive applies to them);
 * these functions decide what is kept, renewed or reformatted, and keep
 * the list of the generation's global mutexes (these segments' and any
 * other the glue makes at startup) to re-attach in each child.
 */
#ifndef OAUTH2_KEPT_H
#define OAUTH2_KEPT_H

#include <apr_global_mutex.h>
#include <apr_pools.h>

#include "metadata.h"
#include "store_shm.h"

/** Remembers a global mutex of this generation (startup, single-threaded)
 * until pconf is cleared; *mutex must stay where it is (static or pconf
 * memory). oauth2_kept_table and oauth2_kept_view remember theirs. */
void oauth2_kept_remember(apr_pool_t *pconf, apr_global_mutex_t **mutex);

/** Reports what a child could not set up (rv, what it is). */
typedef void (*oauth2_kept_report_fn)(void *ctx, apr_status_t rv,
                                      const char *name);

/** Re-attaches every remembered mutex in a child (child_init) and sets
 * up the per-process part of the providers given to oauth2_kept_view
 * (oauth2_provider_child_init), each failure reported (what failed).
 * Returns how many were set up. */
int oauth2_kept_child_init(apr_pool_t *p, oauth2_kept_report_fn report,
                           void *ctx);

/**
 * A global mutex of its own kept in kp under key (a unique name), made by
 * make(mctx, kp, name, ...) the first time (name: its lock's name, may be
 * NULL), found again after a restart; remembered once per generation
 * (pconf) for the children. *out points at it (in kp's memory).
 * @return APR_SUCCESS, or make's failure
 */
apr_status_t oauth2_kept_mutex(apr_pool_t *pconf, apr_pool_t *kp,
                               const char *key, const char *name,
                               apr_status_t (*make)(void *mctx, apr_pool_t *kp,
                                                    const char *name,
                                                    apr_global_mutex_t **m),
                               void *mctx, apr_global_mutex_t ***out);

/** What a kept segment's user says of the segment it finds kept. */
typedef enum {
    OAUTH2_KEEP,     /* its contents serve as they are */
    OAUTH2_REFORMAT, /* the memory serves, its contents not */
    OAUTH2_RENEW     /* too small or another layout: a new one */
} oauth2_keep_e;

/** Makes a global mutex of type (a Mutex directive's name) from pool,
 * which is the pool the segment is kept in. */
typedef apr_status_t (*oauth2_kept_mutex_fn)(void *ctx, apr_pool_t *pool,
                                             const char *type,
                                             apr_global_mutex_t **mutex);

/** A kept segment. key and mutex_type are the user's (unique names);
 * the rest is set by the functions below. */
typedef struct {
    const char *key;        /* its name in the kept pool's userdata */
    const char *mutex_type; /* its Mutex type (the mutex's userdata name) */
    void *base;
    apr_uint64_t size;
    apr_global_mutex_t *mutex;
    /* KEEP; REFORMAT; RENEW: a new segment. The user writes an empty
     * layout unless KEEP. */
    oauth2_keep_e keep;
    int renewed; /* a kept segment was replaced by a new one */
} oauth2_kept_t;

/** What to do with the kept segment at base (size bytes); ctx is
 * oauth2_kept's. */
typedef oauth2_keep_e (*oauth2_kept_judge_fn)(const void *ctx, const void *base,
                                              apr_uint64_t size);

/**
 * The segment of k, kept in kp: the one kept when judge says so, else a
 * new one of size bytes; with its mutex (the kept one, unless the segment
 * is new: mutex makes it).
 * @return APR_SUCCESS (*err NULL), or the failure (*err: "shared memory"
 *         or "mutex")
 */
apr_status_t oauth2_kept(apr_pool_t *kp, oauth2_kept_t *k, apr_uint64_t size,
                         oauth2_kept_judge_fn judge, const void *ctx,
                         oauth2_kept_mutex_fn mutex, void *mctx,
                         const char **err);

/**
 * The session table for capacity records (post_config): the kept one
 * when its capacity and layout are unchanged (k->renewed: it was not, its
 * sessions are gone), else a new, empty one keyed with a fresh random
 * seed; attached from pconf.
 * @return APR_SUCCESS, or the failure, *err saying what failed ("shared
 *         memory", "mutex"; *attach set when the table was made but could
 *         not be attached)
 */
apr_status_t oauth2_kept_table(apr_pool_t *pconf, apr_pool_t *kp,
                               oauth2_kept_t *k, apr_uint32_t capacity,
                               oauth2_kept_mutex_fn mutex, void *mctx,
                               oauth2_shm_t **table, int *attach,
                               const char **err);

/** Spare entries in a new provider view, so that a graceful restart that
 * adds a provider or two keeps it (unused entries cost address space,
 * not memory). */
#define OAUTH2_KEPT_VIEW_SPARE 4

/**
 * Gives the n providers (n > 0) their entries in the server's provider
 * view (post_config, after every provider is created). A kept view serves
 * when it has entries enough: as it is in a graceful restart (children of
 * the old generation keep using it), emptied in a full one (graceful 0:
 * its children are all gone, everything is fetched again).
 * @return APR_SUCCESS, or the failure, *err saying what failed
 */
apr_status_t oauth2_kept_view(apr_pool_t *pconf, apr_pool_t *ptemp,
                              apr_pool_t *kp, oauth2_kept_t *k,
                              oauth2_provider_t *const *provs, apr_uint32_t n,
                              int graceful, oauth2_kept_mutex_fn mutex,
                              void *mctx, const char **err);

/**
 * The server-wide counters (metrics.h) in a segment kept in kp (no mutex:
 * atomic adds): the kept one when it is large enough, its counters going
 * on, else a new, empty one; handed to oauth2_metrics_use with version
 * (post_config, before the children are made). On failure the server runs
 * without counters (oauth2_metrics_use(NULL)). *line: the startup log
 * line, with the version (OA2050: "... (counters kept across the
 * restart)" or "(counters started)"; OA2051 on failure), from p.
 * @return APR_SUCCESS, or apr_shm_create's failure
 */
apr_status_t oauth2_kept_metrics(apr_pool_t *kp, apr_pool_t *p,
                                 const char *version, const char **line);

#endif /* OAUTH2_KEPT_H */
