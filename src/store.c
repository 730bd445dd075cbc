/*
 * store.c: the store interface over its implementations, sealing records
 * that leave this host (see store.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "bounds.h"
#include "base64url.h"
#include "errors.h"
#include "store.h"

/* First guess for a record buffer; a larger record is read again. */
#define STORE_FIRST_BUF 4096

struct oauth2_store_t {
    const oauth2_store_ops_t *ops;
    void *ctx;
    const oauth2_seal_t *seal;
    oauth2_shm_t *shm;
};

oauth2_store_t *oauth2_store_create(apr_pool_t *p,
                                    const oauth2_store_ops_t *ops, void *ctx,
                                    const oauth2_seal_t *seal)
{
    oauth2_store_t *st = apr_pcalloc(p, sizeof(*st));

    st->ops = ops;
    st->ctx = ctx;
    st->seal = seal;
    return st;
}

static apr_status_t shm_get(void *ctx, apr_pool_t *p, const unsigned char *key,
                            apr_time_t now, char **rec, apr_size_t *len,
                            oauth2_store_meta_t *meta)
{
    apr_size_t size = STORE_FIRST_BUF;
    apr_status_t rv;
    char *buf = apr_palloc(p, size);

    rv = oauth2_shm_get(ctx, key, now, buf, size, len, &meta->shm);
    if (rv == OAUTH2_EBUSY) {
        /* A writer replaced this very record while we read; once more. */
        rv = oauth2_shm_get(ctx, key, now, buf, size, len, &meta->shm);
    }
    if (rv == OAUTH2_ETOOBIG && *len <= OAUTH2_MAX_SESSION_RECORD) {
        size = *len;
        buf = apr_palloc(p, size);
        rv = oauth2_shm_get(ctx, key, now, buf, size, len, &meta->shm);
    }
    if (rv == APR_SUCCESS) {
        *rec = buf;
        meta->expires = meta->shm.expires;
    }
    return rv == OAUTH2_EBUSY ? OAUTH2_ESTORE : rv;
}

static apr_status_t shm_put(void *ctx, apr_pool_t *p, const unsigned char *key,
                            const char *rec, apr_size_t len, apr_time_t expires,
                            apr_time_t now)
{
    return oauth2_shm_put(ctx, key, rec, len, expires, now);
}

/* A marker in the table's own pool: it holds no record. */
static apr_status_t shm_add(void *ctx, apr_pool_t *p, const unsigned char *key,
                            const char *rec, apr_size_t len, apr_time_t expires,
                            apr_time_t now)
{
    return oauth2_shm_mark(ctx, key, expires, now);
}

static apr_status_t shm_touch(void *ctx, apr_pool_t *p,
                              const unsigned char *key, apr_time_t expires,
                              apr_time_t now)
{
    apr_status_t rv = oauth2_shm_touch(ctx, key, expires);

    /* Another writer holds the lock: the next request will touch. */
    return rv == APR_EBUSY ? APR_SUCCESS : rv;
}

static apr_status_t shm_remove(void *ctx, apr_pool_t *p,
                               const unsigned char *key)
{
    return oauth2_shm_delete(ctx, key);
}

static apr_status_t shm_put_new(void *ctx, apr_pool_t *p,
                                const unsigned char *key, const char *rec,
                                apr_size_t len, apr_time_t expires,
                                apr_time_t now)
{
    return oauth2_shm_put_new(ctx, key, rec, len, expires, now);
}

static const oauth2_store_ops_t shm_ops = {
    "shm", shm_get, shm_put, shm_add, shm_touch, shm_remove, shm_put_new,
};

oauth2_store_t *oauth2_store_shm(apr_pool_t *p, oauth2_shm_t *shm)
{
    oauth2_store_t *st = oauth2_store_create(p, &shm_ops, shm, NULL);

    st->shm = shm;
    return st;
}

oauth2_shm_t *oauth2_store_get_shm(const oauth2_store_t *st)
{
    return st->shm;
}

const char *oauth2_store_name(const oauth2_store_t *st)
{
    return st->ops->name;
}

/* The associated data binding a sealed record to its key. */
static const char *key_aad(apr_pool_t *p, const unsigned char *key)
{
    return oauth2_base64url_encode(p, key, OAUTH2_STORE_KEY_LEN);
}

apr_status_t oauth2_store_get(const oauth2_store_t *st, apr_pool_t *p,
                              const unsigned char *key, apr_time_t now,
                              char **rec, apr_size_t *len,
                              oauth2_store_meta_t *meta)
{
    unsigned char *pt;
    const char *err;
    apr_status_t rv;

    memset(meta, 0, sizeof(*meta));
    rv = st->ops->get(st->ctx, p, key, now, rec, len, meta);
    if (rv != APR_SUCCESS || st->seal == NULL) {
        return rv;
    }
    rv =
        oauth2_seal_open_raw(p, st->seal, key_aad(p, key),
                             (const unsigned char *)*rec, *len, &pt, len, &err);
    if (rv != APR_SUCCESS) {
        /* A record that does not open is as good as none. */
        return OAUTH2_ENOTFOUND;
    }
    *rec = (char *)pt;
    return APR_SUCCESS;
}

/* Seals rec for key when the store is remote. */
static apr_status_t seal_for(const oauth2_store_t *st, apr_pool_t *p,
                             const unsigned char *key, const char **rec,
                             apr_size_t *len)
{
    unsigned char *out;
    apr_size_t outlen;
    const char *err;
    apr_status_t rv;

    if (st->seal == NULL) {
        return APR_SUCCESS;
    }
    rv = oauth2_seal_raw(p, st->seal, key_aad(p, key), *rec, *len, &out,
                         &outlen, &err);
    if (rv == APR_SUCCESS) {
        *rec = (const char *)out;
        *len = outlen;
    }
    return rv;
}

apr_status_t oauth2_store_put(const oauth2_store_t *st, apr_pool_t *p,
                              const unsigned char *key, const char *rec,
                              apr_size_t len, apr_time_t expires,
                              apr_time_t now)
{
    apr_status_t rv = seal_for(st, p, key, &rec, &len);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    return st->ops->put(st->ctx, p, key, rec, len, expires, now);
}

apr_status_t oauth2_store_add(const oauth2_store_t *st, apr_pool_t *p,
                              const unsigned char *key, apr_time_t expires,
                              apr_time_t now)
{
    return st->ops->add(st->ctx, p, key, "1", 1, expires, now);
}

apr_status_t oauth2_store_add_rec(const oauth2_store_t *st, apr_pool_t *p,
                                  const unsigned char *key, const char *rec,
                                  apr_size_t len, apr_time_t expires,
                                  apr_time_t now)
{
    apr_status_t rv = seal_for(st, p, key, &rec, &len);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    return st->ops->put_new(st->ctx, p, key, rec, len, expires, now);
}

apr_status_t oauth2_store_touch(const oauth2_store_t *st, apr_pool_t *p,
                                const unsigned char *key, apr_time_t expires,
                                apr_time_t now)
{
    return st->ops->touch(st->ctx, p, key, expires, now);
}

apr_status_t oauth2_store_remove(const oauth2_store_t *st, apr_pool_t *p,
                                 const unsigned char *key)
{
    return st->ops->remove(st->ctx, p, key);
}
