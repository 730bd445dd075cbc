/*
 * apache_shm.h: what the whole server shares between its processes
 * (apache_shm.c): global mutexes, re-attached in every child; shared
 * memory segments kept across restarts; and the two that use them, the
 * session table and the provider view.
 */
#ifndef AUTH_OAUTH2_APACHE_SHM_H
#define AUTH_OAUTH2_APACHE_SHM_H

#include "apache.h"

#include "apr_global_mutex.h"

#include "store_shm.h"

/** A global mutex of type (a Mutex directive's name, registered in
 * pre_config) for this generation, from pconf; *mutex must stay where it
 * is (static or pconf memory): auth_oauth2_shm_child_init re-attaches it
 * in each child, as every mutex of this file (OA2007 on failure). */
apr_status_t auth_oauth2_mutex(apr_pool_t *pconf, server_rec *s,
                               const char *type, apr_global_mutex_t **mutex);

/** What a kept segment's user says of the segment it finds kept. */
typedef enum {
    AUTH_OAUTH2_KEEP,     /* its contents serve as they are */
    AUTH_OAUTH2_REFORMAT, /* the memory serves, its contents not */
    AUTH_OAUTH2_RENEW     /* too small or another layout: a new one */
} auth_oauth2_keep_e;

/**
 * A shared memory segment and its global mutex that survive restarts.
 * They live in the process pool's userdata, so that a graceful or plain
 * restart, which rereads the configuration in the same parent, finds
 * them again: children of both generations then share the memory and
 * the mutex (a new segment gets a new mutex; the old generation keeps
 * its own). To add one (the session table and the provider view below
 * are the models):
 *   - register its Mutex type in pre_config (ap_mutex_register);
 *   - give it a static auth_oauth2_kept_t with key, mutex_type and judge
 *     (unique key and mutex_type);
 *   - in post_config call auth_oauth2_kept with the size it needs, write
 *     the empty layout unless keep is AUTH_OAUTH2_KEEP, then attach to
 *     base and size;
 *   - child_init needs nothing more: auth_oauth2_shm_child_init
 *     re-attaches the mutex.
 */
typedef struct {
    const char *key;        /* its name in the process pool's userdata */
    const char *mutex_type; /* its Mutex type (the mutex's userdata name) */
    /* What to do with the kept segment at base (size bytes); ctx is
     * auth_oauth2_kept's. */
    auth_oauth2_keep_e (*judge)(const void *ctx, const void *base,
                                apr_uint64_t size);
    /* Set by auth_oauth2_kept: */
    void *base;
    apr_uint64_t size;
    apr_global_mutex_t *mutex;
    /* KEEP; REFORMAT; RENEW: a new segment. The user writes an empty
     * layout unless KEEP. */
    auth_oauth2_keep_e keep;
    int renewed; /* a kept segment was replaced by a new one */
} auth_oauth2_kept_t;

/**
 * The kept segment of k (post_config): the one kept when judge says so,
 * else a new one of size bytes; with its mutex.
 * @return APR_SUCCESS (*err NULL), or the failure (*err: "shared memory"
 *         or "mutex")
 */
apr_status_t auth_oauth2_kept(apr_pool_t *pconf, server_rec *s,
                              auth_oauth2_kept_t *k, apr_uint64_t size,
                              const void *ctx, const char **err);

/** The shm session table for the whole server: the kept one when its
 * capacity is unchanged, else a new one (post_config; OA2002 when the
 * sessions are reset, OA2003/OA2004 on failure). */
apr_status_t auth_oauth2_shm_setup(apr_pool_t *pconf, server_rec *s,
                                   apr_uint32_t capacity, oauth2_shm_t **table);

/** Gives every virtual host's provider its entry in the server's provider
 * view, creating or keeping the shared memory (post_config, after every
 * provider is created; OA2011 on failure). A full restart (SIGHUP: every
 * child has exited) starts an empty view. */
apr_status_t auth_oauth2_provider_view_setup(apr_pool_t *pconf,
                                             apr_pool_t *ptemp, server_rec *s);

/** Re-attaches every global mutex of auth_oauth2_mutex in a child. */
void auth_oauth2_shm_child_init(apr_pool_t *p, server_rec *s);

#endif /* AUTH_OAUTH2_APACHE_SHM_H */
