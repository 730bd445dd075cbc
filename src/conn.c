/*
 * conn.c: the per-connection memo (see conn.h).
 */
#include <string.h>

#include "conn.h"
#include "errors.h"

apr_status_t oauth2_conn_create(apr_pool_t *p, oauth2_conn_t **out)
{
    oauth2_conn_t *c = apr_pcalloc(p, sizeof(*c));

    c->pool = p;
    if (oauth2_hasher_create(p, &c->hasher) != APR_SUCCESS) {
        return OAUTH2_ECRYPTO;
    }
    *out = c;
    return APR_SUCCESS;
}

oauth2_conn_t *oauth2_conn_of(oauth2_request_t *req)
{
    if (req->conn == NULL
        && oauth2_conn_create(req->pool, &req->conn) != APR_SUCCESS) {
        return NULL;
    }
    return req->conn;
}

apr_status_t oauth2_conn_key(oauth2_conn_t *c, const unsigned char *tag,
                             apr_size_t taglen, const char *id, apr_size_t len,
                             unsigned char key[OAUTH2_STORE_KEY_LEN])
{
    return oauth2_hasher_sha256(c->hasher, tag, taglen, id, len, key);
}

int oauth2_conn_recall(oauth2_conn_t *c, const void *owner,
                       const oauth2_store_t *st, const char *id, apr_size_t len,
                       int need_tokens, apr_time_t now, apr_time_t *expires)
{
    return c->valid && c->owner == owner && (c->whole || !need_tokens)
           && oauth2_crypto_equal(c->id, sizeof(c->id), id, len)
           && oauth2_store_check(st, &c->meta, now, expires) == APR_SUCCESS;
}

/* Grows the copy buffer to at least n bytes. */
static void reserve(oauth2_conn_t *c, apr_size_t n)
{
    if (c->cap < n) {
        c->cap = n < OAUTH2_CONN_FIRST_READ ? OAUTH2_CONN_FIRST_READ : n;
        c->buf = apr_palloc(c->pool, c->cap);
    }
}

/* Copies the record of c->key: its hot part only unless the tokens are
 * needed (or the hot part does not fit the first read). */
static apr_status_t copy(oauth2_conn_t *c, const oauth2_store_t *st,
                         apr_pool_t *scratch, apr_time_t now, int need_tokens)
{
    apr_size_t len = 0;
    apr_status_t rv;

    reserve(c, OAUTH2_CONN_FIRST_READ);
    rv = oauth2_store_get_prefix(st, scratch, c->key, now, c->buf, c->cap, &len,
                                 &c->meta);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    c->len = len < c->cap ? len : c->cap;
    if (len > c->cap
        && (need_tokens || oauth2_session_hot_len(c->buf, c->len) == 0)) {
        reserve(c, len);
        rv = oauth2_store_get_prefix(st, scratch, c->key, now, c->buf, c->cap,
                                     &len, &c->meta);
        c->len = len < c->cap ? len : c->cap;
    }
    c->whole = rv == APR_SUCCESS && c->len == len;
    return rv;
}

apr_status_t oauth2_conn_load(oauth2_conn_t *c, const void *owner,
                              const oauth2_store_t *st, apr_pool_t *scratch,
                              const unsigned char *key, const char *id,
                              apr_size_t len, apr_time_t now, int need_tokens)
{
    apr_status_t rv;

    c->valid = 0;
    if (len != sizeof(c->id)) {
        return OAUTH2_ENOTFOUND;
    }
    memcpy(c->key, key, sizeof(c->key));
    rv = copy(c, st, scratch, now, need_tokens);
    if (rv == APR_SUCCESS) {
        rv = oauth2_session_decode(c->buf, c->len, &c->session);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    memcpy(c->id, id, sizeof(c->id));
    c->owner = owner;
    c->valid = 1;
    return APR_SUCCESS;
}
