/*
 * session_index.c: the back-channel logout index (see session_index.h).
 */
#include <apr_strings.h>

#include "bytes.h"
#include "errors.h"
#include "session_index.h"
#include "store.h"

/* The key of entry n of kind:value, or of its hint (n < 0). */
static apr_status_t index_key(const oauth2_site_t *site, oauth2_request_t *req,
                              const char *kind, const char *value,
                              apr_int64_t n, unsigned char *key)
{
    const char *v =
        n < 0 ? value
              : apr_psprintf(req->pool, "%s#%" APR_INT64_T_FMT, value, n);

    return oauth2_site_marker_key(
        site, req, apr_pstrcat(req->pool, "idx:", kind, NULL), v, key);
}

/* The hint: the n after the newest entry (0 when there is none). */
static apr_int64_t index_hint(const oauth2_site_t *site, oauth2_request_t *req,
                              const char *kind, const char *value)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;

    if (index_key(site, req, kind, value, -1, key) != APR_SUCCESS
        || oauth2_store_get(site->store, req->pool, key, req->now, &rec, &len,
                            &meta)
               != APR_SUCCESS
        || len != 8) {
        return 0;
    }
    return (apr_int64_t)(oauth2_u64_read((const unsigned char *)rec)
                         & 0x7fffffffffffffffULL);
}

static void add_one(const oauth2_site_t *site, oauth2_request_t *req,
                    const char *kind, const char *value,
                    const unsigned char *skey, apr_time_t expires)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN], hint[8];
    apr_int64_t n = index_hint(site, req, kind, value),
                end = n + OAUTH2_INDEX_PROBES;
    apr_status_t rv = OAUTH2_EREPLAY;

    for (; n < end && rv == OAUTH2_EREPLAY; n++) {
        rv = index_key(site, req, kind, value, n, key);
        if (rv == APR_SUCCESS) {
            rv = oauth2_store_add_rec(site->store, req->pool, key,
                                      (const char *)skey, OAUTH2_STORE_KEY_LEN,
                                      expires, req->now);
        }
    }
    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2113: cannot index a session under its %s for "
                   "back-channel logout (%s)",
                   kind, oauth2_strerror(rv));
        return;
    }
    oauth2_u64_write(hint, (apr_uint64_t)n);
    if (index_key(site, req, kind, value, -1, key) == APR_SUCCESS) {
        oauth2_store_put(site->store, req->pool, key, (const char *)hint, 8,
                         expires, req->now);
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
                const char *kind, const char *value, apr_int64_t n,
                int *removed)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;

    if (index_key(site, req, kind, value, n, key) != APR_SUCCESS
        || oauth2_store_get(site->store, req->pool, key, req->now, &rec, &len,
                            &meta)
               != APR_SUCCESS) {
        return 0;
    }
    if (len == OAUTH2_STORE_KEY_LEN
        && oauth2_store_remove(site->store, req->pool,
                               (const unsigned char *)rec)
               == APR_SUCCESS) {
        (*removed)++;
    }
    oauth2_store_remove(site->store, req->pool, key);
    return 1;
}

int oauth2_session_index_logout(const oauth2_site_t *site,
                                oauth2_request_t *req, const char *kind,
                                const char *value)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    apr_int64_t hint = index_hint(site, req, kind, value), n;
    int misses, removed = 0;

    for (n = hint - 1, misses = 0; n >= 0 && misses < OAUTH2_INDEX_MISSES;
         n--) {
        misses = take(site, req, kind, value, n, &removed) ? 0 : misses + 1;
    }
    for (n = hint, misses = 0; misses < OAUTH2_INDEX_MISSES; n++) {
        misses = take(site, req, kind, value, n, &removed) ? 0 : misses + 1;
    }
    if (index_key(site, req, kind, value, -1, key) == APR_SUCCESS) {
        oauth2_store_remove(site->store, req->pool, key);
    }
    return removed;
}
