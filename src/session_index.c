/*
 * session_index.c: the back-channel logout index (see session_index.h).
 */
#include <apr_strings.h>

#include "errors.h"
#include "session_index.h"
#include "store.h"

/* The key of entry n of kind:value. The value goes in with its length in
 * front, so that no value and number spell another's (without it, entry
 * 0 of "dave" and the entries of a sub "dave#0" shared keys). */
static apr_status_t index_key(const oauth2_site_t *site, oauth2_request_t *req,
                              const char *kind, const char *value, int n,
                              unsigned char *key)
{
    const char *v = apr_psprintf(req->pool, "%" APR_SIZE_T_FMT ":%s#%d",
                                 strlen(value), value, n);

    return oauth2_site_marker_key(
        site, req, apr_pstrcat(req->pool, "idx:", kind, NULL), v, key);
}

static void add_one(const oauth2_site_t *site, oauth2_request_t *req,
                    const char *kind, const char *value,
                    const unsigned char *skey, apr_time_t expires)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    apr_status_t rv = OAUTH2_EREPLAY;
    int n;

    /* The first free number: entries whose session is gone are free in
     * shm, and expire with the session's max age elsewhere. */
    for (n = 0; n < OAUTH2_INDEX_PROBES && rv == OAUTH2_EREPLAY; n++) {
        rv = index_key(site, req, kind, value, n, key);
        if (rv == APR_SUCCESS) {
            rv = oauth2_store_link(site->store, req->pool, key, skey, expires,
                                   req->now);
        }
    }
    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2113: cannot index a session under its %s for "
                   "back-channel logout (%s)",
                   kind,
                   rv == OAUTH2_EREPLAY
                       ? "too many sessions of one user at once"
                       : oauth2_strerror(rv));
    }
}

void oauth2_session_index_add(const oauth2_site_t *site, oauth2_request_t *req,
                              const oauth2_session_t *s,
                              const unsigned char *key)
{
    if (s->len[OAUTH2_SF_SID] > 0) {
        add_one(site, req, "sid", s->f[OAUTH2_SF_SID], key, s->max_expires);
    }
    if (s->len[OAUTH2_SF_SUB] > 0) {
        add_one(site, req, "sub", s->f[OAUTH2_SF_SUB], key, s->max_expires);
    }
}

/* Removes the session of entry n and the entry; 1 when there was one. */
static int take(const oauth2_site_t *site, oauth2_request_t *req,
                const char *kind, const char *value, int n, int *removed)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN], skey[OAUTH2_STORE_KEY_LEN];

    if (index_key(site, req, kind, value, n, key) != APR_SUCCESS
        || oauth2_store_link_get(site->store, req->pool, key, req->now, skey)
               != APR_SUCCESS) {
        return 0;
    }
    if (oauth2_store_remove(site->store, req->pool, skey) == APR_SUCCESS) {
        (*removed)++;
    }
    oauth2_store_remove(site->store, req->pool, key);
    return 1;
}

int oauth2_session_index_logout(const oauth2_site_t *site,
                                oauth2_request_t *req, const char *kind,
                                const char *value)
{
    int n, misses, removed = 0;

    for (n = 0, misses = 0; misses < OAUTH2_INDEX_MISSES; n++) {
        misses = take(site, req, kind, value, n, &removed) ? 0 : misses + 1;
    }
    return removed;
}
