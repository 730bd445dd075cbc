/*
 * conn.c: the per-connection memo (see conn.h).
 */
#include <stddef.h>
#include <string.h>

#include <apr_strings.h>

#include "conn.h"
#include "errors.h"

apr_status_t oauth2_conn_create(apr_pool_t *p, oauth2_conn_t **out)
{
    /* About 1 KB, most of it decoded sessions and cookie places that are
     * read only once their memo is valid: only the rest is cleared, so a
     * connection that carries one request does not pay for the whole. */
    oauth2_conn_t *c = apr_palloc(p, sizeof(*c));

    memset(c, 0, offsetof(oauth2_conn_t, id_len));
    memset(&c->cookie, 0, offsetof(oauth2_conn_cookie_t, session));
    memset(&c->header, 0, offsetof(oauth2_conn_header_t, found));
    c->pool = p;
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

int oauth2_conn_recall(oauth2_conn_t *c, const void *owner,
                       const oauth2_store_t *st, const char *id, apr_size_t len,
                       int need_tokens, apr_time_t now, apr_time_t *expires)
{
    return c->valid && c->owner == owner && (c->whole || !need_tokens)
           && oauth2_crypto_equal(c->id, c->id_len, id, len)
           && oauth2_store_check(st, &c->meta, now, expires) == APR_SUCCESS;
}

/* Grows a buffer of the connection's to at least n bytes (at least min):
 * a connection keeps one buffer per use, as large as its largest need. */
static char *grow(apr_pool_t *p, char **buf, apr_size_t *cap, apr_size_t n,
                  apr_size_t min)
{
    if (*cap < n || *buf == NULL) {
        *cap = n < min ? min : n;
        *buf = apr_palloc(p, *cap);
    }
    return *buf;
}

/* Grows a buffer of the memo to at least n bytes, at least doubling it
 * (the id, the header): a client whose header grows by a byte a request costs
 * the connection a few buffers, not one a request. */
static char *grow_twice(apr_pool_t *p, char **buf, apr_size_t *cap,
                        apr_size_t n)
{
    if (*buf == NULL || *cap < n) {
        *cap = n < 2 * *cap ? 2 * *cap : (n < 256 ? 256 : n);
        *buf = apr_palloc(p, *cap);
    }
    return *buf;
}

/* Grows the copy buffer to at least n bytes. */
static void reserve(oauth2_conn_t *c, apr_size_t n)
{
    grow(c->pool, &c->buf, &c->cap, n, OAUTH2_CONN_FIRST_READ);
}

/* Decodes the record in buf (len bytes) into s, its groups header into the
 * buffer hdr. */
static apr_status_t decode(apr_pool_t *p, const char *buf, apr_size_t len,
                           oauth2_session_t *s, char **hdr, apr_size_t *cap)
{
    apr_status_t rv = oauth2_session_decode(buf, len, s);

    if (rv == APR_SUCCESS) {
        oauth2_session_header(
            s, grow(p, hdr, cap, oauth2_session_header_size(s), 256));
    }
    return rv;
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
    memcpy(c->key, key, sizeof(c->key));
    rv = copy(c, st, scratch, now, need_tokens);
    if (rv == APR_SUCCESS) {
        rv = decode(c->pool, c->buf, c->len, &c->session, &c->hdr, &c->hdr_cap);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    memcpy(grow_twice(c->pool, &c->id, &c->id_cap, len), id, len);
    c->id_len = len;
    c->owner = owner;
    c->valid = 1;
    return APR_SUCCESS;
}

/* Do the n parts, joined, differ from kept (klen bytes)? Every byte is
 * compared (xor_or): a connection a proxy shares between users learns
 * nothing of another's cookie from the time this takes. */
static int parts_differ(const char *kept, apr_size_t klen,
                        const oauth2_cookie_t *parts, int n)
{
    apr_uint64_t d = 0;
    apr_size_t off = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (parts[i].value_len > klen - off) {
            return 1;
        }
        d |= oauth2_crypto_diff(parts[i].value, kept + off, parts[i].value_len);
        off += parts[i].value_len;
    }
    return d != 0 || off != klen;
}

int oauth2_conn_cookie_recall(oauth2_conn_t *c, const void *owner,
                              const oauth2_store_t *st,
                              const oauth2_cookie_t *parts, int n,
                              apr_time_t now)
{
    const oauth2_conn_cookie_t *k = &c->cookie;

    return k->valid && k->owner == owner && n > 0 && k->expires > now
           && k->session.max_expires > now
           && !parts_differ(k->value, k->value_len, parts, n)
           && oauth2_store_check(st, &k->epoch, now, NULL) == APR_SUCCESS;
}

apr_status_t oauth2_conn_cookie_keep(oauth2_conn_t *c, const void *owner,
                                     const char *value, apr_size_t vlen,
                                     const char *rec, apr_size_t rlen,
                                     apr_time_t expires,
                                     const oauth2_store_meta_t *epoch)
{
    oauth2_conn_cookie_t *k = &c->cookie;
    apr_status_t rv;

    k->valid = 0;
    memcpy(grow(c->pool, &k->value, &k->value_cap, vlen, 1024), value, vlen);
    memcpy(grow(c->pool, &k->rec, &k->rec_cap, rlen, 1024), rec, rlen);
    rv = decode(c->pool, k->rec, rlen, &k->session, &k->hdr, &k->hdr_cap);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    k->value_len = vlen;
    k->rec_len = rlen;
    k->expires = expires;
    k->epoch = *epoch;
    k->owner = owner;
    k->valid = 1;
    return APR_SUCCESS;
}

/* Points the copies of f, found in from, at the same places in to. */
static void rebase(oauth2_cookie_found_t *f, const char *from, const char *to)
{
    apr_size_t i;

    f->header = to;
    for (i = 0; i < f->n; i++) {
        f->at[i].name = to + (f->at[i].name - from);
        f->at[i].value = to + (f->at[i].value - from);
    }
}

/* Keeps header (f: what was found in it, stripped: it without ours). */
static void keep_header(oauth2_conn_t *c, const void *owner, const char *base,
                        const oauth2_cookie_found_t *f, const char *stripped)
{
    oauth2_conn_header_t *m = &c->header;

    m->valid = 0;
    if (f->n == 0 || f->len > OAUTH2_CONN_MAX_HEADER) {
        return;
    }
    memcpy(grow_twice(c->pool, &m->text, &m->text_cap, f->len + 1), f->header,
           f->len + 1);
    m->found = *f;
    rebase(&m->found, f->header, m->text);
    m->changed = stripped != NULL;
    m->stripped_len = stripped != NULL ? strlen(stripped) : 0;
    memcpy(grow_twice(c->pool, &m->stripped, &m->stripped_cap,
                      m->stripped_len + 1),
           stripped != NULL ? stripped : "", m->stripped_len + 1);
    m->owner = owner;
    m->base = base;
    m->valid = 1;
}

void oauth2_conn_cookies(oauth2_conn_t *c, const void *owner, apr_pool_t *p,
                         const char *header, const char *base,
                         oauth2_cookie_found_t *f, const char **stripped)
{
    const oauth2_conn_header_t *m = &c->header;
    apr_size_t len = strlen(header);

    /* Every byte is compared (xor_or): a connection a proxy shares
     * between users learns nothing of another's header from the time. */
    if (m->valid && m->owner == owner && m->base == base && m->found.len == len
        && oauth2_crypto_diff(m->text, header, len) == 0) {
        *f = m->found;
        rebase(f, m->text, header);
        *stripped =
            m->changed ? apr_pstrmemdup(p, m->stripped, m->stripped_len) : NULL;
        return;
    }
    oauth2_cookie_find_own(header, base, f);
    *stripped = oauth2_cookie_strip(p, header, base, f);
    if (m->looked) {
        keep_header(c, owner, base, f, *stripped);
    }
    c->header.looked = 1;
}
