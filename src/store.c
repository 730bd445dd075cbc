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
    const oauth2_store_extra_t *extra; /* never NULL */
    void *ctx;
    const oauth2_seal_t *seal;
};

/* For stores without extra operations. */
static const oauth2_store_extra_t no_extra = { NULL };

oauth2_store_t *oauth2_store_create(apr_pool_t *p,
                                    const oauth2_store_ops_t *ops, void *ctx,
                                    const oauth2_seal_t *seal)
{
    return oauth2_store_create_extra(p, ops, NULL, ctx, seal);
}

oauth2_store_t *oauth2_store_create_extra(apr_pool_t *p,
                                          const oauth2_store_ops_t *ops,
                                          const oauth2_store_extra_t *extra,
                                          void *ctx, const oauth2_seal_t *seal)
{
    oauth2_store_t *st = apr_pcalloc(p, sizeof(*st));

    st->ops = ops;
    st->extra = extra ? extra : &no_extra;
    st->ctx = ctx;
    st->seal = seal;
    return st;
}

/* The shm table's slot and version, as a store stamp and back. */
static void shm_meta_out(const oauth2_shm_meta_t *in, oauth2_store_meta_t *out)
{
    out->expires = in->expires;
    out->stamp = ((apr_uint64_t)in->slot << 32) | in->version;
}

static void shm_meta_in(const oauth2_store_meta_t *in, oauth2_shm_meta_t *out)
{
    out->expires = in->expires;
    out->slot = (apr_uint32_t)(in->stamp >> 32);
    out->version = (apr_uint32_t)in->stamp;
}

static apr_status_t shm_get(void *ctx, apr_pool_t *p, const unsigned char *key,
                            apr_time_t now, char **rec, apr_size_t *len,
                            oauth2_store_meta_t *meta)
{
    apr_size_t size = STORE_FIRST_BUF;
    oauth2_shm_meta_t m;
    apr_status_t rv;
    char *buf = apr_palloc(p, size);

    rv = oauth2_shm_get(ctx, key, now, buf, size, len, &m);
    if (rv == OAUTH2_EBUSY) {
        /* A writer replaced this very record while we read; once more. */
        rv = oauth2_shm_get(ctx, key, now, buf, size, len, &m);
    }
    if (rv == OAUTH2_ETOOBIG && *len <= OAUTH2_MAX_SESSION_RECORD) {
        size = *len;
        buf = apr_palloc(p, size);
        rv = oauth2_shm_get(ctx, key, now, buf, size, len, &m);
    }
    if (rv == APR_SUCCESS) {
        *rec = buf;
        shm_meta_out(&m, meta);
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

static apr_status_t shm_put_class(void *ctx, const unsigned char *key,
                                  const char *rec, apr_size_t len,
                                  apr_time_t expires, apr_time_t now,
                                  oauth2_shm_class_e klass)
{
    return oauth2_shm_put_class(ctx, key, rec, len, expires, now, klass);
}

static apr_status_t shm_link(void *ctx, const unsigned char *key,
                             const unsigned char *value, apr_time_t expires,
                             apr_time_t now)
{
    return oauth2_shm_link(ctx, key, value, expires, now);
}

static apr_status_t shm_link_get(void *ctx, const unsigned char *key,
                                 apr_time_t now, unsigned char *value)
{
    return oauth2_shm_link_get(ctx, key, now, value);
}

static apr_status_t shm_get_prefix(void *ctx, const unsigned char *key,
                                   apr_time_t now, char *buf,
                                   apr_size_t bufsize, apr_size_t *len,
                                   oauth2_store_meta_t *meta)
{
    oauth2_shm_meta_t m;
    apr_status_t rv =
        oauth2_shm_get_prefix(ctx, key, now, buf, bufsize, len, &m);

    if (rv == OAUTH2_EBUSY) {
        /* A writer replaced this very record while we read; once more. */
        rv = oauth2_shm_get_prefix(ctx, key, now, buf, bufsize, len, &m);
    }
    if (rv == APR_SUCCESS) {
        shm_meta_out(&m, meta);
    }
    return rv;
}

static apr_status_t shm_check(void *ctx, const oauth2_store_meta_t *meta,
                              apr_time_t now, apr_time_t *expires)
{
    oauth2_shm_meta_t m;

    shm_meta_in(meta, &m);
    return oauth2_shm_check(ctx, &m, now, expires);
}

static apr_status_t shm_stats(void *ctx, oauth2_store_stats_t *out)
{
    oauth2_shm_stats_t st;

    oauth2_shm_stats(ctx, &st);
    out->capacity = st.capacity;
    out->live = st.live;
    out->chunks_free = st.chunks_free;
    out->size = st.size;
    out->evictions = st.evictions;
    out->refused = st.refused;
    out->markers_evicted = st.markers_evicted;
    out->repairs = st.repairs;
    out->sessions = st.live_class[OAUTH2_SHM_SESSION];
    out->links_evicted = st.links_evicted;
    return APR_SUCCESS;
}

static int shm_report(void *ctx, apr_time_t now, apr_interval_time_t interval,
                      oauth2_store_report_t *out)
{
    oauth2_shm_report_t rep;

    if (!oauth2_shm_report(ctx, now, interval, &rep)) {
        return 0;
    }
    out->evictions = rep.evictions;
    out->repairs = rep.repairs;
    out->capacity = rep.capacity;
    return 1;
}

static const oauth2_store_ops_t shm_ops = {
    "shm", shm_get, shm_put, shm_add, shm_touch, shm_remove, NULL,
};

static const oauth2_store_extra_t shm_extra = {
    shm_get_prefix, shm_check, shm_stats,    shm_report,
    shm_put_class,  shm_link,  shm_link_get,
};

oauth2_store_t *oauth2_store_shm(apr_pool_t *p, oauth2_shm_t *shm)
{
    return oauth2_store_create_extra(p, &shm_ops, &shm_extra, shm, NULL);
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

apr_status_t oauth2_store_put_class(const oauth2_store_t *st, apr_pool_t *p,
                                    const unsigned char *key, const char *rec,
                                    apr_size_t len, apr_time_t expires,
                                    apr_time_t now, oauth2_shm_class_e klass)
{
    if (st->extra->put_class == NULL || st->seal != NULL) {
        return oauth2_store_put(st, p, key, rec, len, expires, now);
    }
    return st->extra->put_class(st->ctx, key, rec, len, expires, now, klass);
}

apr_status_t oauth2_store_link(const oauth2_store_t *st, apr_pool_t *p,
                               const unsigned char *key,
                               const unsigned char *value, apr_time_t expires,
                               apr_time_t now)
{
    const char *rec = (const char *)value;
    apr_size_t len = OAUTH2_STORE_KEY_LEN;
    apr_status_t rv;

    if (st->extra->link != NULL && st->seal == NULL) {
        return st->extra->link(st->ctx, key, value, expires, now);
    }
    rv = seal_for(st, p, key, &rec, &len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return st->ops->put_new(st->ctx, p, key, rec, len, expires, now);
}

int oauth2_store_links_die(const oauth2_store_t *st)
{
    return st->extra->link != NULL && st->seal == NULL;
}

apr_status_t oauth2_store_link_get(const oauth2_store_t *st, apr_pool_t *p,
                                   const unsigned char *key, apr_time_t now,
                                   unsigned char *value)
{
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    if (st->extra->link_get != NULL && st->seal == NULL) {
        return st->extra->link_get(st->ctx, key, now, value);
    }
    rv = oauth2_store_get(st, p, key, now, &rec, &len, &meta);
    if (rv == APR_SUCCESS && len != OAUTH2_STORE_KEY_LEN) {
        return OAUTH2_EMALFORMED;
    }
    if (rv == APR_SUCCESS) {
        memcpy(value, rec, OAUTH2_STORE_KEY_LEN);
    }
    return rv;
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

apr_status_t oauth2_store_get_prefix(const oauth2_store_t *st, apr_pool_t *p,
                                     const unsigned char *key, apr_time_t now,
                                     char *buf, apr_size_t bufsize,
                                     apr_size_t *len, oauth2_store_meta_t *meta)
{
    char *rec;
    apr_status_t rv;

    memset(meta, 0, sizeof(*meta));
    if (st->extra->get_prefix != NULL && st->seal == NULL) {
        return st->extra->get_prefix(st->ctx, key, now, buf, bufsize, len,
                                     meta);
    }
    rv = oauth2_store_get(st, p, key, now, &rec, len, meta);
    if (rv == APR_SUCCESS) {
        memcpy(buf, rec, *len < bufsize ? *len : bufsize);
    }
    return rv;
}

int oauth2_store_can_check(const oauth2_store_t *st)
{
    return st->extra->check != NULL && st->seal == NULL;
}

apr_status_t oauth2_store_check(const oauth2_store_t *st,
                                const oauth2_store_meta_t *meta, apr_time_t now,
                                apr_time_t *expires)
{
    if (st->extra->check == NULL || st->seal != NULL) {
        return APR_ENOTIMPL;
    }
    return st->extra->check(st->ctx, meta, now, expires);
}

apr_status_t oauth2_store_stats(const oauth2_store_t *st,
                                oauth2_store_stats_t *stats)
{
    memset(stats, 0, sizeof(*stats));
    if (st->extra->stats == NULL) {
        return APR_ENOTIMPL;
    }
    return st->extra->stats(st->ctx, stats);
}

int oauth2_store_report(const oauth2_store_t *st, apr_time_t now,
                        apr_interval_time_t interval,
                        oauth2_store_report_t *out)
{
    return st->extra->report != NULL
           && st->extra->report(st->ctx, now, interval, out);
}
