/*
 * apache_session.c: sessions on requests: finding the request's session
 * (the hot path: cookie, one SHA-256, a lock-free store read), creating
 * one at login, removing it at logout, sliding its expiry, refreshing its
 * access token, cookie sessions (the whole session sealed into the
 * browser's cookies), and the sid/sub index that back-channel logout uses.
 */
#include <string.h>

#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "apache.h"
#include "base64url.h"
#include "bytes.h"
#include "bounds.h"
#include "cookie.h"
#include "errors.h"
#include "login.h"

/* Per connection: a SHA-256 context reused by its requests, and the
 * session it verified last. A keep-alive connection that presents the
 * same session id again skips the hash and the copy, and only rechecks
 * the slot's version and expiry (oauth2_shm_check). */
typedef struct {
    oauth2_hasher_t *hasher;
    const auth_oauth2_srv_conf *srv; /* the virtual host of the copy */
    int valid;                       /* the fields below describe a copy */
    int whole;                       /* the copy holds the tokens too */
    char id[OAUTH2_SESSION_ID_CHARS];
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_shm_meta_t meta;
    oauth2_session_t session; /* decoded, points into buf */
    char *buf;                /* from the connection's pool */
    apr_size_t cap;
    apr_size_t len; /* bytes copied */
} auth_oauth2_conn_t;

/* The first copy of a record reads this much: the hot fields of an
 * ordinary session, and nothing per request beyond it. */
#define CONN_FIRST_READ 2048

/* The connection's state, created with its first request. */
static auth_oauth2_conn_t *conn_state(request_rec *r)
{
    conn_rec *c = r->connection;
    auth_oauth2_conn_t *cs =
        ap_get_module_config(c->conn_config, &auth_oauth2_module);

    if (cs == NULL) {
        cs = apr_pcalloc(c->pool, sizeof(*cs));
        if (oauth2_hasher_create(c->pool, &cs->hasher) != APR_SUCCESS) {
            return NULL;
        }
        ap_set_module_config(c->conn_config, &auth_oauth2_module, cs);
    }
    return cs;
}

static oauth2_hasher_t *conn_hasher(request_rec *r)
{
    auth_oauth2_conn_t *cs = conn_state(r);

    return cs ? cs->hasher : NULL;
}

apr_status_t auth_oauth2_session_key(request_rec *r,
                                     const auth_oauth2_srv_conf *srv,
                                     const char *id, apr_size_t len,
                                     unsigned char *key)
{
    oauth2_hasher_t *h = conn_hasher(r);

    if (h == NULL) {
        return OAUTH2_ECRYPTO;
    }
    return oauth2_hasher_sha256(h, srv->key_tag, sizeof(srv->key_tag), id, len,
                                key);
}

/* A session id as we issue them: 43 base64url characters. Checking the
 * shape first keeps junk cookies away from the hash and the store. */
static int id_shape_ok(const char *v, apr_size_t n)
{
    apr_size_t i;

    if (n != OAUTH2_SESSION_ID_CHARS) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = v[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
            return 0;
        }
    }
    return 1;
}

/* When the inactivity expiry is due to move: at least a tenth of the
 * timeout (1 s .. 5 min) after the last write-back, so an ordinary request
 * writes nothing. Returns the new expiry, or 0 when not due. */
static apr_time_t slide_due(const auth_oauth2_srv_conf *srv,
                            const oauth2_session_t *s, apr_time_t now,
                            apr_time_t expires)
{
    apr_interval_time_t timeout = apr_time_from_sec(srv->cfg->session_timeout);
    apr_interval_time_t step = timeout / 10;
    apr_time_t want = now + timeout;

    if (step < apr_time_from_sec(1)) {
        step = apr_time_from_sec(1);
    }
    if (step > apr_time_from_sec(300)) {
        step = apr_time_from_sec(300);
    }
    if (want > s->max_expires) {
        want = s->max_expires;
    }
    return want - expires >= step ? want : 0;
}

/* ------------------------------------------------------------------ */
/* Sessions in a store (shm, socache)                                  */

/* Grows the connection's copy buffer to at least n bytes. */
static void conn_reserve(request_rec *r, auth_oauth2_conn_t *cs, apr_size_t n)
{
    if (cs->cap < n) {
        cs->cap = n < CONN_FIRST_READ ? CONN_FIRST_READ : n;
        cs->buf = apr_palloc(r->connection->pool, cs->cap);
    }
}

/* Copies the record of cs->key from shared memory into the connection's
 * buffer: its hot part only unless the tokens are needed. */
static apr_status_t shm_copy(request_rec *r, oauth2_shm_t *shm,
                             auth_oauth2_conn_t *cs, apr_time_t now,
                             int need_tokens)
{
    apr_size_t len = 0;
    apr_status_t rv;

    conn_reserve(r, cs, CONN_FIRST_READ);
    rv = oauth2_shm_get_prefix(shm, cs->key, now, cs->buf, cs->cap, &len,
                               &cs->meta);
    if (rv == OAUTH2_EBUSY) {
        /* A writer replaced this very record while we read; once more. */
        rv = oauth2_shm_get_prefix(shm, cs->key, now, cs->buf, cs->cap, &len,
                                   &cs->meta);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    cs->len = len < cs->cap ? len : cs->cap;
    if (len > cs->cap
        && (need_tokens || oauth2_session_hot_len(cs->buf, cs->len) == 0)) {
        conn_reserve(r, cs, len);
        rv = oauth2_shm_get(shm, cs->key, now, cs->buf, cs->cap, &cs->len,
                            &cs->meta);
    }
    cs->whole = rv == APR_SUCCESS && cs->len == len;
    return rv;
}

/* A session decoded for this request only: the connection's copy (shm
 * way) is never written through req->session. */
static oauth2_session_t *own_session(request_rec *r, auth_oauth2_req_t *req)
{
    oauth2_session_t *s = apr_palloc(r->pool, sizeof(*s));

    req->session = s;
    return s;
}

/* The shared-memory read with the connection's copy: the same session id
 * again on this connection costs a version check, not a hash and a copy. */
static apr_status_t shm_read(request_rec *r, const auth_oauth2_srv_conf *srv,
                             oauth2_shm_t *shm, const oauth2_cookie_t *c,
                             apr_time_t now, int need_tokens,
                             auth_oauth2_req_t *req)
{
    auth_oauth2_conn_t *cs = conn_state(r);
    apr_time_t expires;
    apr_status_t rv;

    if (cs == NULL) {
        return OAUTH2_ECRYPTO;
    }
    if (!(cs->valid && cs->srv == srv && (cs->whole || !need_tokens)
          && oauth2_crypto_equal(cs->id, sizeof(cs->id), c->value, c->value_len)
          && oauth2_shm_check(shm, &cs->meta, now, &expires) == APR_SUCCESS)) {
        /* Checked here, not before the comparison above: a value equal
         * to the connection's id has had its shape checked already. */
        if (!id_shape_ok(c->value, c->value_len)) {
            return OAUTH2_ENOTFOUND;
        }
        cs->valid = 0;
        rv = auth_oauth2_session_key(r, srv, c->value, c->value_len, cs->key);
        if (rv == APR_SUCCESS) {
            rv = shm_copy(r, shm, cs, now, need_tokens);
        }
        if (rv != APR_SUCCESS) {
            return rv == OAUTH2_ENOTFOUND ? rv : OAUTH2_ESTORE;
        }
        rv = oauth2_session_decode(cs->buf, cs->len, &cs->session);
        if (rv != APR_SUCCESS) {
            /* A session of an older version: its user logs in again. */
            return rv == OAUTH2_EEXPIRED ? OAUTH2_ENOTFOUND : rv;
        }
        memcpy(cs->id, c->value, sizeof(cs->id));
        cs->srv = srv;
        cs->valid = 1;
        expires = cs->meta.expires;
    }
    memcpy(req->key, cs->key, sizeof(req->key));
    req->session = &cs->session;
    req->record = cs->buf;
    req->record_len = cs->len;
    req->expires = expires;
    return APR_SUCCESS;
}

apr_status_t auth_oauth2_record_read(request_rec *r,
                                     const auth_oauth2_srv_conf *srv,
                                     apr_time_t now, auth_oauth2_req_t *req)
{
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    rv =
        oauth2_store_get(srv->store, r->pool, req->key, now, &rec, &len, &meta);
    if (rv != APR_SUCCESS) {
        return rv == OAUTH2_ENOTFOUND ? rv : OAUTH2_ESTORE;
    }
    rv = oauth2_session_decode(rec, len, own_session(r, req));
    if (rv != APR_SUCCESS) {
        return rv == OAUTH2_EEXPIRED ? OAUTH2_ENOTFOUND : rv;
    }
    req->record = rec;
    req->record_len = len;
    req->expires = meta.expires;
    return APR_SUCCESS;
}

/* Reads a session from a store of another kind (socache). */
static apr_status_t other_read(request_rec *r, const auth_oauth2_srv_conf *srv,
                               const oauth2_cookie_t *c, apr_time_t now,
                               auth_oauth2_req_t *req)
{
    apr_status_t rv;

    if (!id_shape_ok(c->value, c->value_len)) {
        return OAUTH2_ENOTFOUND;
    }
    rv = auth_oauth2_session_key(r, srv, c->value, c->value_len, req->key);
    return rv == APR_SUCCESS ? auth_oauth2_record_read(r, srv, now, req)
                             : OAUTH2_ESTORE;
}

/* Looks one candidate cookie value up in the store. */
static apr_status_t store_lookup(request_rec *r,
                                 const auth_oauth2_srv_conf *srv,
                                 const oauth2_cookie_t *c, apr_time_t now,
                                 int need_tokens, auth_oauth2_req_t *req)
{
    oauth2_shm_t *shm = oauth2_store_get_shm(srv->store);
    apr_time_t want;
    apr_status_t rv;

    rv = shm ? shm_read(r, srv, shm, c, now, need_tokens, req)
             : other_read(r, srv, c, now, req);
    if (rv == OAUTH2_EMALFORMED) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "OA2103: a session record in the store is malformed");
        return OAUTH2_ENOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (req->session->max_expires <= now) {
        oauth2_store_remove(srv->store, r->pool, req->key);
        return OAUTH2_ENOTFOUND;
    }
    want = slide_due(srv, req->session, now, req->expires);
    if (want != 0
        && oauth2_store_touch(srv->store, r->pool, req->key, want, now)
               == APR_SUCCESS) {
        req->expires = want;
    }
    return APR_SUCCESS;
}

static apr_status_t store_find(request_rec *r, const auth_oauth2_srv_conf *srv,
                               const char *header, apr_time_t now,
                               int need_tokens, auth_oauth2_req_t *req)
{
    oauth2_cookie_t *found = req->found;
    apr_size_t n, i;
    apr_status_t rv = OAUTH2_ENOTFOUND;

    /* Kept for taking them out of the backend's header. */
    n = oauth2_cookie_find(header, srv->cfg->cookie_name, found,
                           sizeof(req->found) / sizeof(req->found[0]));
    req->cookie_header = header;
    req->nfound = n;
    /* Duplicates (another path or a parent domain): the first one that
     * names a live session wins; the others are never trusted more. At
     * most four are tried (the fifth is only found to tell the cookie
     * stripping that there may be more). */
    for (i = 0; i < n && i < AUTH_OAUTH2_MAX_FOUND - 1; i++) {
        rv = store_lookup(r, srv, &found[i], now, need_tokens, req);
        if (rv != OAUTH2_ENOTFOUND) {
            break;
        }
    }
    if (rv == OAUTH2_ENOTFOUND && n > 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "OA2104: session cookie present but no valid session "
                      "(expired, logged out, or forged)");
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* Cookie sessions: the record, sealed, in the browser's cookies       */

/* Characters per cookie; with the name and attributes a cookie stays
 * under the 4 KB browsers accept. Larger sessions are split into
 * "<name>_1" .. "<name>_N" with "<name>=~N" (N <= OAUTH2_MAX_COOKIE_CHUNKS). */
#define CHUNK_CHARS 3800

static const char *chunk_name(apr_pool_t *p, const char *base, int i)
{
    return apr_psprintf(p, "%s_%d", base, i);
}

/* The chunk count of a "~N" value: 1..OAUTH2_MAX_COOKIE_CHUNKS, else 0.
 * A forged count costs nothing: at most two digits are read. */
static int chunk_count(const char *v, apr_size_t len)
{
    int n = 0;
    apr_size_t i;

    if (len < 2 || len > 3 || v[0] != '~') {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return 0;
        }
        n = n * 10 + (v[i] - '0');
    }
    return n >= 1 && n <= OAUTH2_MAX_COOKIE_CHUNKS ? n : 0;
}

/* The whole sealed value from the request's cookies (joined chunks). */
static const char *cookie_value(request_rec *r, const auth_oauth2_srv_conf *srv,
                                const char *header)
{
    const char *base = srv->cfg->cookie_name;
    oauth2_cookie_t c;
    char *joined;
    int n, i;

    if (oauth2_cookie_find(header, base, &c, 1) == 0) {
        return NULL;
    }
    n = chunk_count(c.value, c.value_len);
    if (n == 0) {
        return apr_pstrmemdup(r->pool, c.value, c.value_len);
    }
    joined = "";
    for (i = 1; i <= n; i++) {
        if (oauth2_cookie_find(header, chunk_name(r->pool, base, i), &c, 1) == 0
            || c.value_len > CHUNK_CHARS) {
            return NULL;
        }
        joined =
            apr_pstrcat(r->pool, joined,
                        apr_pstrmemdup(r->pool, c.value, c.value_len), NULL);
    }
    return joined;
}

/* Opens a cookie session: expiry (8 bytes) | record. */
static apr_status_t cookie_open(request_rec *r, const auth_oauth2_srv_conf *srv,
                                const char *value, apr_time_t now,
                                auth_oauth2_req_t *req)
{
    unsigned char *pt;
    apr_size_t len;
    const char *err;

    if (oauth2_seal_open_b64(
            r->pool, srv->seal_session, srv->session_aad, value, strlen(value),
            (apr_size_t)CHUNK_CHARS * OAUTH2_MAX_COOKIE_CHUNKS, &pt, &len, &err)
            != APR_SUCCESS
        || len < 8) {
        return OAUTH2_ENOTFOUND;
    }
    req->expires = (apr_time_t)oauth2_u64_read(pt);
    if (req->expires <= now
        || oauth2_session_decode((char *)pt + 8, len - 8, own_session(r, req))
               != APR_SUCCESS
        || req->session->max_expires <= now) {
        return OAUTH2_ENOTFOUND;
    }
    req->record = (char *)pt + 8;
    req->record_len = len - 8;
    return APR_SUCCESS;
}

/* Expires the chunk cookies from first to the maximum that the request
 * carries (left over from a larger session). */
static void cookie_clear_chunks(request_rec *r, const auth_oauth2_srv_conf *srv,
                                int first)
{
    const char *header = apr_table_get(r->headers_in, "Cookie");
    oauth2_cookie_t c;
    int i;

    for (i = first; header != NULL && i <= OAUTH2_MAX_COOKIE_CHUNKS; i++) {
        const char *name = chunk_name(r->pool, srv->cfg->cookie_name, i);

        if (oauth2_cookie_find(header, name, &c, 1) > 0) {
            auth_oauth2_set_cookie(r, srv, name, "", 0, "/");
        }
    }
}

/* Seals expiry | record into the session cookie(s). */
static apr_status_t cookie_write(request_rec *r,
                                 const auth_oauth2_srv_conf *srv,
                                 const char *rec, apr_size_t len,
                                 apr_time_t expires, const char **err)
{
    const char *base = srv->cfg->cookie_name;
    unsigned char *pt = apr_palloc(r->pool, len + 8);
    char *value;
    apr_size_t vlen;
    int i, n;

    oauth2_u64_write(pt, (apr_uint64_t)expires);
    memcpy(pt + 8, rec, len);
    if (oauth2_seal_b64(r->pool, srv->seal_session, srv->session_aad, pt,
                        len + 8, &value, err)
        != APR_SUCCESS) {
        return OAUTH2_ECRYPTO;
    }
    vlen = strlen(value);
    n = (int)((vlen + CHUNK_CHARS - 1) / CHUNK_CHARS);
    if (n > OAUTH2_MAX_COOKIE_CHUNKS) {
        *err = "the session is too large for cookies (use shm or a socache "
               "store)";
        return OAUTH2_ETOOBIG;
    }
    if (n <= 1) {
        auth_oauth2_set_cookie(r, srv, base, value, -1, "/");
        cookie_clear_chunks(r, srv, 1);
        return APR_SUCCESS;
    }
    auth_oauth2_set_cookie(r, srv, base, apr_psprintf(r->pool, "~%d", n), -1,
                           "/");
    for (i = 1; i <= n; i++) {
        apr_size_t off = (apr_size_t)(i - 1) * CHUNK_CHARS;

        auth_oauth2_set_cookie(
            r, srv, chunk_name(r->pool, base, i),
            apr_pstrmemdup(r->pool, value + off,
                           vlen - off < CHUNK_CHARS ? vlen - off : CHUNK_CHARS),
            -1, "/");
    }
    cookie_clear_chunks(r, srv, n + 1);
    return APR_SUCCESS;
}

/* A key for an index or marker entry: kind and value under the client. */
static apr_status_t marker_key(request_rec *r, const auth_oauth2_srv_conf *srv,
                               const char *kind, const char *value,
                               unsigned char *key)
{
    const char *id = apr_pstrcat(r->pool, kind, ":", value, NULL);

    return auth_oauth2_session_key(r, srv, id, strlen(id), key);
}

/* Has a back-channel logout revoked this cookie session (by sid, or by
 * sub after the session was created)? */
static int cookie_revoked(request_rec *r, const auth_oauth2_srv_conf *srv,
                          const oauth2_session_t *s, apr_time_t now)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;

    if (s->len[OAUTH2_SF_SID] > 0
        && marker_key(r, srv, "revoked-sid", s->f[OAUTH2_SF_SID], key)
               == APR_SUCCESS
        && oauth2_store_get(srv->store, r->pool, key, now, &rec, &len, &meta)
               == APR_SUCCESS) {
        return 1;
    }
    if (s->len[OAUTH2_SF_SUB] > 0
        && marker_key(r, srv, "revoked-sub", s->f[OAUTH2_SF_SUB], key)
               == APR_SUCCESS
        && oauth2_store_get(srv->store, r->pool, key, now, &rec, &len, &meta)
               == APR_SUCCESS) {
        /* The marker expires one max age after the revocation: sessions
         * created before the revocation are refused. */
        return s->created + apr_time_from_sec(srv->cfg->session_max_age)
               <= meta.expires;
    }
    return 0;
}

static apr_status_t cookie_find(request_rec *r, const auth_oauth2_srv_conf *srv,
                                const char *header, apr_time_t now,
                                auth_oauth2_req_t *req)
{
    const char *value = cookie_value(r, srv, header);
    const char *err = NULL;
    apr_time_t want;

    if (value == NULL) {
        return OAUTH2_ENOTFOUND;
    }
    if (cookie_open(r, srv, value, now, req) != APR_SUCCESS
        || cookie_revoked(r, srv, req->session, now)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "OA2104: session cookie present but no valid session "
                      "(expired, logged out, or forged)");
        return OAUTH2_ENOTFOUND;
    }
    want = slide_due(srv, req->session, now, req->expires);
    if (want != 0
        && cookie_write(r, srv, req->record, req->record_len, want, &err)
               == APR_SUCCESS) {
        req->expires = want;
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Finding, creating, removing                                         */

apr_status_t auth_oauth2_session_find(request_rec *r,
                                      const auth_oauth2_srv_conf *srv,
                                      int need_tokens, auth_oauth2_req_t *req)
{
    const char *header = apr_table_get(r->headers_in, "Cookie");
    /* When the request arrived (Apache read the clock then already). */
    apr_time_t now = r->request_time;
    apr_status_t rv;

    if (header == NULL || srv->store == NULL) {
        return OAUTH2_ENOTFOUND;
    }
    rv = srv->cookie_sessions
             ? cookie_find(r, srv, header, now, req)
             : store_find(r, srv, header, now, need_tokens, req);
    if (rv == APR_SUCCESS) {
        req->authenticated = 1;
    }
    return rv;
}

/* The back-channel logout index (OpenID Connect Back-Channel Logout 1.0
 * §2.7: "log out every session of that sid or sub"). Each session of a
 * sid (or sub) has an entry of its own, "idx:<kind>:<value>#<n>", whose
 * record is the session's store key, written with an add so that two
 * logins never take the same n; a hint record "idx:<kind>:<value>" holds
 * the n after the newest. Entries live as long as their session can
 * (its max age) and come in order of creation, so a logout walks from the
 * hint down until a run of INDEX_MISSES empty entries (sessions older than
 * that have expired), and up from it in case the hint was lost. However
 * many sessions a sid or sub has, each is found. */
#define INDEX_PROBES 64 /* adds tried from the hint on */
#define INDEX_MISSES 64 /* empty entries in a row that end a walk */

static apr_status_t index_key(request_rec *r, const auth_oauth2_srv_conf *srv,
                              const char *kind, const char *value,
                              apr_int64_t n, unsigned char *key)
{
    const char *v =
        n < 0 ? value : apr_psprintf(r->pool, "%s#%" APR_INT64_T_FMT, value, n);

    return marker_key(r, srv, apr_pstrcat(r->pool, "idx:", kind, NULL), v, key);
}

/* The hint: the n after the newest entry (0 when there is none). */
static apr_int64_t index_hint(request_rec *r, const auth_oauth2_srv_conf *srv,
                              const char *kind, const char *value,
                              apr_time_t now)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;

    if (index_key(r, srv, kind, value, -1, key) != APR_SUCCESS
        || oauth2_store_get(srv->store, r->pool, key, now, &rec, &len, &meta)
               != APR_SUCCESS
        || len != 8) {
        return 0;
    }
    return (apr_int64_t)(oauth2_u64_read((const unsigned char *)rec)
                         & 0x7fffffffffffffffULL);
}

static void index_add_one(request_rec *r, const auth_oauth2_srv_conf *srv,
                          const char *kind, const char *value,
                          const unsigned char *skey, apr_time_t expires,
                          apr_time_t now)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN], hint[8];
    apr_int64_t n = index_hint(r, srv, kind, value, now),
                end = n + INDEX_PROBES;
    apr_status_t rv = OAUTH2_EREPLAY;

    for (; n < end && rv == OAUTH2_EREPLAY; n++) {
        rv = index_key(r, srv, kind, value, n, key);
        if (rv == APR_SUCCESS) {
            rv = oauth2_store_add_rec(srv->store, r->pool, key,
                                      (const char *)skey, OAUTH2_STORE_KEY_LEN,
                                      expires, now);
        }
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2113: cannot index a session under its %s for "
                      "back-channel logout (%s)",
                      kind, oauth2_strerror(rv));
        return;
    }
    oauth2_u64_write(hint, (apr_uint64_t)n);
    if (index_key(r, srv, kind, value, -1, key) == APR_SUCCESS) {
        oauth2_store_put(srv->store, r->pool, key, (const char *)hint, 8,
                         expires, now);
    }
}

static void index_add(request_rec *r, const auth_oauth2_srv_conf *srv,
                      const oauth2_session_t *s, const unsigned char *key,
                      apr_time_t now)
{
    if (s->len[OAUTH2_SF_SID] > 0) {
        index_add_one(r, srv, "sid", s->f[OAUTH2_SF_SID], key, s->max_expires,
                      now);
    }
    if (s->len[OAUTH2_SF_SUB] > 0) {
        index_add_one(r, srv, "sub", s->f[OAUTH2_SF_SUB], key, s->max_expires,
                      now);
    }
}

/* Removes the session of entry n and the entry; 1 when there was one. */
static int index_take(request_rec *r, const auth_oauth2_srv_conf *srv,
                      const char *kind, const char *value, apr_int64_t n,
                      apr_time_t now, int *removed)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;

    if (index_key(r, srv, kind, value, n, key) != APR_SUCCESS
        || oauth2_store_get(srv->store, r->pool, key, now, &rec, &len, &meta)
               != APR_SUCCESS) {
        return 0;
    }
    if (len == OAUTH2_STORE_KEY_LEN
        && oauth2_store_remove(srv->store, r->pool, (const unsigned char *)rec)
               == APR_SUCCESS) {
        (*removed)++;
    }
    oauth2_store_remove(srv->store, r->pool, key);
    return 1;
}

/* Removes every session the index has for kind:value. */
static int index_logout(request_rec *r, const auth_oauth2_srv_conf *srv,
                        const char *kind, const char *value, apr_time_t now)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    apr_int64_t hint = index_hint(r, srv, kind, value, now), n;
    int misses, removed = 0;

    for (n = hint - 1, misses = 0; n >= 0 && misses < INDEX_MISSES; n--) {
        misses =
            index_take(r, srv, kind, value, n, now, &removed) ? 0 : misses + 1;
    }
    for (n = hint, misses = 0; misses < INDEX_MISSES; n++) {
        misses =
            index_take(r, srv, kind, value, n, now, &removed) ? 0 : misses + 1;
    }
    if (index_key(r, srv, kind, value, -1, key) == APR_SUCCESS) {
        oauth2_store_remove(srv->store, r->pool, key);
    }
    return removed;
}

/* Does the provider send back-channel logout tokens (its discovery
 * document says so)? */
static int backchannel_supported(request_rec *r,
                                 const auth_oauth2_srv_conf *srv,
                                 apr_time_t now)
{
    const oauth2_endpoints_t *ep;
    const char *err;

    return oauth2_provider_endpoints(srv->prov, r->pool, now, &ep, &err)
               == APR_SUCCESS
           && ep->backchannel_logout;
}

/* Builds the session of a login. */
static apr_status_t session_build(request_rec *r,
                                  const auth_oauth2_srv_conf *srv,
                                  const oauth2_login_result_t *res,
                                  apr_time_t now, oauth2_session_t **s,
                                  const char **err)
{
    oauth2_session_input_t in;

    memset(&in, 0, sizeof(in));
    in.claims = res->claims;
    in.user_claim = srv->cfg->remote_user_claim;
    in.groups_claim = srv->cfg->groups_claim;
    in.access_token = res->access_token;
    in.refresh_token = res->refresh_token;
    in.id_token = res->id_token;
    in.access_expires = res->access_expires;
    in.now = now;
    in.max_age = apr_time_from_sec(srv->cfg->session_max_age);
    in.api_groups = res->api_groups;
    in.resources = res->resources;
    return oauth2_session_build(r->pool, &in, s, err);
}

apr_status_t auth_oauth2_session_create(request_rec *r,
                                        const auth_oauth2_srv_conf *srv,
                                        const oauth2_login_result_t *res,
                                        const char **err)
{
    oauth2_session_t *s;
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    char *id, *rec;
    apr_size_t len;
    apr_time_t now = apr_time_now(), expires;
    apr_status_t rv = session_build(r, srv, res, now, &s, err);

    if (rv == APR_SUCCESS) {
        rv = oauth2_session_encode(r->pool, s, &rec, &len);
        *err = "the session is too large";
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    expires = now + apr_time_from_sec(srv->cfg->session_timeout);
    expires = expires < s->max_expires ? expires : s->max_expires;
    r->user = (char *)s->f[OAUTH2_SF_USER];
    if (srv->cookie_sessions) {
        return cookie_write(r, srv, rec, len, expires, err);
    }
    /* Always a new id: one the browser presented is never reused. */
    rv = oauth2_crypto_random_b64(r->pool, OAUTH2_SESSION_ID_BYTES, &id);
    if (rv == APR_SUCCESS) {
        rv = auth_oauth2_session_key(r, srv, id, strlen(id), key);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_store_put(srv->store, r->pool, key, rec, len, expires, now);
        *err = rv == OAUTH2_EFULL
                   ? apr_psprintf(r->pool,
                                  "the session (%" APR_SIZE_T_FMT " bytes) "
                                  "does not fit in the session table",
                                  len)
                   : "the session store failed";
    }
    if (rv == APR_SUCCESS && backchannel_supported(r, srv, now)) {
        index_add(r, srv, s, key, now);
    }
    auth_oauth2_store_report(r, srv);
    if (rv != APR_SUCCESS) {
        return rv == OAUTH2_ECRYPTO || rv == OAUTH2_EFULL ? rv : OAUTH2_ESTORE;
    }
    auth_oauth2_set_cookie(r, srv, srv->cfg->cookie_name, id, -1, "/");
    return APR_SUCCESS;
}

/* Once a minute at most, across processes. */
#define STORE_REPORT_INTERVAL apr_time_from_sec(60)

void auth_oauth2_store_report(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    oauth2_shm_t *shm = srv->store ? oauth2_store_get_shm(srv->store) : NULL;
    oauth2_shm_report_t rep;

    if (shm == NULL
        || !oauth2_shm_report(shm, apr_time_now(), STORE_REPORT_INTERVAL,
                              &rep)) {
        return;
    }
    if (rep.evictions > 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2130: the session table is full: %" APR_UINT64_T_FMT
                      " live entries (sessions) were evicted to make room "
                      "since the last report; raise N in OAuth2SessionStore "
                      "shm:%u",
                      rep.evictions, rep.capacity);
    }
    if (rep.repairs > 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2131: a process died while writing the session "
                      "table; the next writer repaired it (%u time(s) since "
                      "the last report; entries it was writing are gone)",
                      rep.repairs);
    }
}

void auth_oauth2_session_remove(request_rec *r, const auth_oauth2_srv_conf *srv,
                                const auth_oauth2_req_t *req)
{
    if (!srv->cookie_sessions) {
        oauth2_store_remove(srv->store, r->pool, req->key);
    }
    auth_oauth2_set_cookie(r, srv, srv->cfg->cookie_name, "", 0, "/");
    cookie_clear_chunks(r, srv, 1);
}

int auth_oauth2_session_logout_by(request_rec *r,
                                  const auth_oauth2_srv_conf *srv,
                                  const char *sid, const char *sub)
{
    unsigned char ikey[OAUTH2_STORE_KEY_LEN];
    apr_time_t now = apr_time_now();
    apr_time_t until = now + apr_time_from_sec(srv->cfg->session_max_age);
    const char *kind = sid ? "sid" : "sub", *value = sid ? sid : sub;

    if (value == NULL) {
        return 0;
    }
    if (srv->cookie_sessions) {
        /* Nothing server-side to delete: remember the revocation until
         * every session it covers has expired anyway. */
        if (marker_key(r, srv, sid ? "revoked-sid" : "revoked-sub", value, ikey)
            == APR_SUCCESS) {
            oauth2_store_put(srv->store, r->pool, ikey, "1", 1, until, now);
        }
        return 1;
    }
    return index_logout(r, srv, kind, value, now);
}

/* ------------------------------------------------------------------ */
/* Refreshing the access token                                         */

/* Writes a changed session back where it lives (the store under
 * req->key, or the cookies), and makes it the request's. */
static apr_status_t session_save(request_rec *r,
                                 const auth_oauth2_srv_conf *srv,
                                 auth_oauth2_req_t *req,
                                 const oauth2_session_t *s, apr_time_t now,
                                 const char **err)
{
    char *rec;
    apr_size_t len;
    apr_status_t rv = oauth2_session_encode(r->pool, s, &rec, &len);

    *err = "the session is too large";
    if (rv == APR_SUCCESS) {
        *err = "the session store failed";
        rv = srv->cookie_sessions
                 ? cookie_write(r, srv, rec, len, req->expires, err)
                 : oauth2_store_put(srv->store, r->pool, req->key, rec, len,
                                    req->expires, now);
        auth_oauth2_store_report(r, srv);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_session_decode(rec, len, own_session(r, req));
        req->record = rec;
        req->record_len = len;
    }
    return rv;
}

/* The verified address of a session, for Google groups (or NULL). */
static const char *verified_email(const oauth2_session_t *s)
{
    return (s->flags & OAUTH2_SESSION_EMAIL_VERIFIED)
                   && s->len[OAUTH2_SF_EMAIL] > 0
               ? s->f[OAUTH2_SF_EMAIL]
               : NULL;
}

/* Writes the session with its new tokens back where it lives; the
 * groups and resources the APIs give are asked again with the new token
 * (a failure ends the session: fail closed). */
static apr_status_t
refresh_save(request_rec *r, const auth_oauth2_srv_conf *srv,
             auth_oauth2_req_t *req, const oauth2_endpoints_t *ep,
             const oauth2_login_result_t *res, apr_time_t now, const char **err)
{
    oauth2_session_t *s = oauth2_session_with_tokens(
        r->pool, req->session, res->access_token, res->refresh_token,
        res->id_token, res->access_expires);
    oauth2_groups_result_t api;
    apr_status_t rv;

    rv = oauth2_groups_resolve(r->pool, srv->groups, ep, verified_email(s),
                               s->f[OAUTH2_SF_ACCESS_TOKEN], NULL, now, &api,
                               err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_session_with_api(r->pool, s, api.groups, api.resources, 0,
                                     &s, err);
    }
    return rv == APR_SUCCESS ? session_save(r, srv, req, s, now, err) : rv;
}

/* Another process or host holds the refresh: wait for its result. */
static apr_status_t refresh_wait(request_rec *r,
                                 const auth_oauth2_srv_conf *srv,
                                 auth_oauth2_req_t *req)
{
    apr_time_t before = req->session->access_expires;
    oauth2_session_t *s = apr_palloc(r->pool, sizeof(*s));
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;
    int i;

    for (i = 0; i < 50 && !srv->cookie_sessions; i++) {
        apr_sleep(apr_time_from_msec(100));
        if (oauth2_store_get(srv->store, r->pool, req->key, apr_time_now(),
                             &rec, &len, &meta)
                != APR_SUCCESS
            || oauth2_session_decode(rec, len, s) != APR_SUCCESS) {
            return OAUTH2_ENOTFOUND; /* the refresh failed: session ended */
        }
        if (s->access_expires != before) {
            req->session = s;
            req->record = rec;
            req->record_len = len;
            return APR_SUCCESS;
        }
    }
    return OAUTH2_EBUSY;
}

/* Redeems the refresh token; ends the session when that fails. */
static apr_status_t refresh_run(request_rec *r, const auth_oauth2_srv_conf *srv,
                                auth_oauth2_req_t *req, apr_time_t now)
{
    const oauth2_endpoints_t *ep;
    oauth2_login_result_t *res = NULL;
    oauth2_client_t cl;
    const char *err = NULL;
    apr_status_t rv;

    auth_oauth2_client(r, srv, &cl);
    rv = oauth2_provider_endpoints(srv->prov, r->pool, now, &ep, &err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_login_refresh(
            r->pool, &cl, ep, req->session->f[OAUTH2_SF_REFRESH_TOKEN],
            req->session->f[OAUTH2_SF_SUB], now, &res, &err);
    }
    if (rv == APR_SUCCESS) {
        rv = refresh_save(r, srv, req, ep, res, now, &err);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2120: refreshing the access token failed, session "
                      "ended: %s (%s)",
                      err ? err : "", oauth2_strerror(rv));
        auth_oauth2_session_remove(r, srv, req);
        return OAUTH2_ENOTFOUND;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "OA2121: access token of %.200s refreshed",
                  req->session->f[OAUTH2_SF_USER]);
    return APR_SUCCESS;
}

apr_status_t auth_oauth2_session_refresh(request_rec *r,
                                         const auth_oauth2_srv_conf *srv,
                                         auth_oauth2_req_t *req)
{
    const oauth2_session_t *s = req->session;
    unsigned char lkey[OAUTH2_STORE_KEY_LEN];
    apr_time_t now = apr_time_now();
    const char *id;
    apr_status_t rv;

    /* Fresh enough (with a margin for the request's way to the backend). */
    if (s->access_expires == 0
        || s->access_expires > now + apr_time_from_sec(2)) {
        return APR_SUCCESS;
    }
    if (s->len[OAUTH2_SF_REFRESH_TOKEN] == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "OA2122: access token expired and no refresh token: "
                      "session ended");
        auth_oauth2_session_remove(r, srv, req);
        return OAUTH2_ENOTFOUND;
    }
    /* One refresh per session at a time, across processes and hosts: a
     * marker in the store is the lock. */
    id = apr_pstrcat(
        r->pool, "refresh:",
        oauth2_base64url_encode(r->pool, req->key, OAUTH2_STORE_KEY_LEN), NULL);
    rv = auth_oauth2_session_key(r, srv, id, strlen(id), lkey);
    if (rv == APR_SUCCESS) {
        rv = oauth2_store_add(srv->store, r->pool, lkey,
                              now + apr_time_from_sec(30), now);
    }
    if (rv == OAUTH2_EREPLAY) {
        /* A cookie session is refreshed by the browser's other request,
         * whose cookie will replace this one: pass this token as it is. */
        return srv->cookie_sessions ? APR_SUCCESS : refresh_wait(r, srv, req);
    }
    if (rv != APR_SUCCESS) {
        return OAUTH2_ESTORE;
    }
    rv = refresh_run(r, srv, req, now);
    oauth2_store_remove(srv->store, r->pool, lkey);
    return rv;
}

/* ------------------------------------------------------------------ */
/* Rules resolved on first use                                         */

apr_status_t auth_oauth2_session_resolve(request_rec *r,
                                         const auth_oauth2_srv_conf *srv,
                                         auth_oauth2_req_t *req,
                                         const apr_array_header_t *terms,
                                         const char **err)
{
    const oauth2_endpoints_t *ep;
    oauth2_groups_result_t api;
    oauth2_session_t *s;
    apr_time_t now = apr_time_now();
    apr_status_t rv = APR_SUCCESS;

    if (req->bearer) {
        *err = "a bearer token's user has no session to look up with";
        return OAUTH2_ECONFIG;
    }
    /* The shm way copied the hot fields only: the token is needed. */
    if (!srv->cookie_sessions
        && req->session->len[OAUTH2_SF_ACCESS_TOKEN] == 0) {
        rv = auth_oauth2_record_read(r, srv, now, req);
    }
    if (rv == APR_SUCCESS) {
        rv = auth_oauth2_session_refresh(r, srv, req);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_provider_endpoints(srv->prov, r->pool, now, &ep, err);
    }
    if (rv != APR_SUCCESS) {
        *err = *err ? *err : "the session cannot be read again";
        return rv;
    }
    rv = oauth2_groups_resolve(r->pool, srv->groups, ep, NULL,
                               req->session->f[OAUTH2_SF_ACCESS_TOKEN], terms,
                               now, &api, err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_session_with_api(r->pool, req->session, NULL, api.resources,
                                     1, &s, err);
    }
    if (rv == APR_SUCCESS) {
        rv = session_save(r, srv, req, s, now, err);
    }
    return rv;
}
