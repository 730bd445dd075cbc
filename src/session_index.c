/*
 * session_index.c: the back-channel logout index (see session_index.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "base64url.h"
#include "crypto.h"
#include "errors.h"
#include "session_index.h"
#include "store.h"

/* Random numbers a full index tries to make room at (another login of
 * the same user may take the one freed first). */
#define ROOM_TRIES 4

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

/* The key of the record that names the entries of the session under skey
 * (stores whose links outlive their session). */
static apr_status_t forget_key(const oauth2_site_t *site, oauth2_request_t *req,
                               const unsigned char *skey, unsigned char *key)
{
    return oauth2_site_marker_key(
        site, req, "idx-of",
        oauth2_base64url_encode(req->pool, skey, OAUTH2_STORE_KEY_LEN), key);
}

/* Removes the session of entry n and the entry (*removed counts the
 * session when it was there). @return APR_SUCCESS, OAUTH2_ENOTFOUND (no
 * entry), OAUTH2_ESTORE */
static apr_status_t take(const oauth2_site_t *site, oauth2_request_t *req,
                         const char *kind, const char *value, int n,
                         int *removed)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN], skey[OAUTH2_STORE_KEY_LEN];
    apr_status_t rv = index_key(site, req, kind, value, n, key);

    if (rv == APR_SUCCESS) {
        rv = oauth2_store_link_get(site->store, req->pool, key, req->now, skey);
    }
    if (rv == OAUTH2_EMALFORMED) {
        oauth2_store_remove(site->store, req->pool, key);
        return OAUTH2_ENOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        return rv == OAUTH2_ENOTFOUND ? rv : OAUTH2_ESTORE;
    }
    rv = oauth2_store_remove(site->store, req->pool, skey);
    if (rv != APR_SUCCESS && rv != OAUTH2_ENOTFOUND) {
        return OAUTH2_ESTORE; /* the session may be there still */
    }
    *removed += rv == APR_SUCCESS;
    /* A failure leaves an entry whose session is gone: harmless. */
    oauth2_store_remove(site->store, req->pool, key);
    return APR_SUCCESS;
}

/* Writes entry n of kind:value (its key in key) naming skey. */
static apr_status_t link_at(const oauth2_site_t *site, oauth2_request_t *req,
                            const char *kind, const char *value, int n,
                            const unsigned char *skey, apr_time_t expires,
                            unsigned char *key)
{
    apr_status_t rv = index_key(site, req, kind, value, n, key);

    return rv == APR_SUCCESS ? oauth2_store_link(site->store, req->pool, key,
                                                 skey, expires, req->now)
                             : rv;
}

/* Every number of kind:value names a live session: ends the session of a
 * random one and takes its number. Only that user's sessions are at
 * stake, and a session the index missed would outlive a logout. */
static apr_status_t make_room(const oauth2_site_t *site, oauth2_request_t *req,
                              const char *kind, const char *value,
                              const unsigned char *skey, apr_time_t expires,
                              unsigned char *key)
{
    apr_status_t rv = OAUTH2_EREPLAY;
    unsigned char r[2];
    int i, n, removed = 0;

    for (i = 0; i < ROOM_TRIES && rv == OAUTH2_EREPLAY; i++) {
        rv = oauth2_crypto_random(r, sizeof(r));
        n = ((r[0] << 8) | r[1]) % OAUTH2_INDEX_MAX;
        if (rv == APR_SUCCESS) {
            rv = take(site, req, kind, value, n, &removed);
        }
        if (rv == APR_SUCCESS || rv == OAUTH2_ENOTFOUND) {
            rv = link_at(site, req, kind, value, n, skey, expires, key);
        }
    }
    if (removed > 0) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2114: %d sessions of the %s %.200s at once: one of "
                   "them was ended to index the new one for back-channel "
                   "logout",
                   OAUTH2_INDEX_MAX, kind, value);
    }
    return rv;
}

/* Indexes skey under the first free number of kind:value (its entry's
 * key in key). */
static apr_status_t add_one(const oauth2_site_t *site, oauth2_request_t *req,
                            const char *kind, const char *value,
                            const unsigned char *skey, apr_time_t expires,
                            unsigned char *key)
{
    apr_status_t rv = OAUTH2_EREPLAY;
    int n;

    /* The first free number: entries whose session is gone are free in
     * shm; elsewhere they go with their session. */
    for (n = 0; n < OAUTH2_INDEX_MAX && rv == OAUTH2_EREPLAY; n++) {
        rv = link_at(site, req, kind, value, n, skey, expires, key);
    }
    if (rv == OAUTH2_EREPLAY) {
        rv = make_room(site, req, kind, value, skey, expires, key);
    }
    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_ERR,
                   "OA2113: cannot index a session under its %s for "
                   "back-channel logout (%s): the login is refused",
                   kind, oauth2_strerror(rv));
    }
    return rv;
}

/* Records which entries name the session under skey (count of them, in
 * ent), where they outlive it, so that a local logout removes them. */
static apr_status_t remember(const oauth2_site_t *site, oauth2_request_t *req,
                             const unsigned char *skey,
                             const unsigned char *ent, int count,
                             apr_time_t expires)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    apr_status_t rv;

    if (count == 0 || oauth2_store_links_die(site->store)) {
        return APR_SUCCESS;
    }
    rv = forget_key(site, req, skey, key);
    if (rv == APR_SUCCESS) {
        rv = oauth2_store_put(site->store, req->pool, key, (const char *)ent,
                              (apr_size_t)count * OAUTH2_STORE_KEY_LEN, expires,
                              req->now);
    }
    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_ERR,
                   "OA2113: cannot record a session's back-channel logout "
                   "index entries (%s): the login is refused",
                   oauth2_strerror(rv));
    }
    return rv;
}

apr_status_t oauth2_session_index_add(const oauth2_site_t *site,
                                      oauth2_request_t *req,
                                      const oauth2_session_t *s,
                                      const unsigned char *key)
{
    unsigned char ent[2 * OAUTH2_STORE_KEY_LEN];
    static const char *const kinds[2] = { "sid", "sub" };
    const int fields[2] = { OAUTH2_SF_SID, OAUTH2_SF_SUB };
    apr_status_t rv = APR_SUCCESS;
    int i, count = 0;

    for (i = 0; i < 2 && rv == APR_SUCCESS; i++) {
        if (s->len[fields[i]] > 0) {
            rv = add_one(site, req, kinds[i], s->f[fields[i]], key,
                         s->max_expires, ent + count * OAUTH2_STORE_KEY_LEN);
            count += rv == APR_SUCCESS;
        }
    }
    if (rv == APR_SUCCESS) {
        rv = remember(site, req, key, ent, count, s->max_expires);
    }
    /* A session that is not in the index is not handed out: its entries
     * go (the caller removes the session). */
    for (i = 0; rv != APR_SUCCESS && i < count; i++) {
        oauth2_store_remove(site->store, req->pool,
                            ent + i * OAUTH2_STORE_KEY_LEN);
    }
    return rv;
}

void oauth2_session_index_forget(const oauth2_site_t *site,
                                 oauth2_request_t *req,
                                 const unsigned char *key)
{
    unsigned char fkey[OAUTH2_STORE_KEY_LEN], named[OAUTH2_STORE_KEY_LEN];
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len, off;

    if (site->store == NULL || oauth2_store_links_die(site->store)
        || forget_key(site, req, key, fkey) != APR_SUCCESS
        || oauth2_store_get(site->store, req->pool, fkey, req->now, &rec, &len,
                            &meta)
               != APR_SUCCESS) {
        return;
    }
    /* Each entry only while it still names this session. */
    for (off = 0;
         off + OAUTH2_STORE_KEY_LEN <= len && off < 2 * OAUTH2_STORE_KEY_LEN;
         off += OAUTH2_STORE_KEY_LEN) {
        const unsigned char *ekey = (const unsigned char *)rec + off;

        if (oauth2_store_link_get(site->store, req->pool, ekey, req->now, named)
                == APR_SUCCESS
            && memcmp(named, key, OAUTH2_STORE_KEY_LEN) == 0) {
            oauth2_store_remove(site->store, req->pool, ekey);
        }
    }
    oauth2_store_remove(site->store, req->pool, fkey);
}

apr_status_t oauth2_session_index_logout(const oauth2_site_t *site,
                                         oauth2_request_t *req,
                                         const char *kind, const char *value,
                                         int *removed)
{
    apr_status_t rv = APR_SUCCESS;
    int n;

    *removed = 0;
    /* Every number: entries that expired or were removed leave gaps
     * below live ones. A store failure stops the walk: the caller answers
     * so that the logout is tried again. */
    for (n = 0; n < OAUTH2_INDEX_MAX && rv != OAUTH2_ESTORE; n++) {
        rv = take(site, req, kind, value, n, removed);
    }
    return rv == OAUTH2_ESTORE ? rv : APR_SUCCESS;
}
