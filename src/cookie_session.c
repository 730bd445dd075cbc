/*
 * cookie_session.c: sessions kept in the browser (see cookie_session.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "bounds.h"
#include "bytes.h"
#include "conn.h"
#include "cookie.h"
#include "cookie_session.h"
#include "errors.h"
#include "seal.h"
#include "store.h"

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

/* The parts of the sealed value whose session cookie is first: its own
 * value, or its chunks in order. Returns how many, or 0 (a chunk missing
 * or too long). Pointers into the header: nothing is copied. */
static int value_parts(const oauth2_site_t *site, apr_pool_t *p,
                       const char *header, const oauth2_cookie_t *first,
                       oauth2_cookie_t *parts)
{
    const char *base = site->cfg->cookie_name;
    int n = chunk_count(first->value, first->value_len);
    int i;

    if (n == 0) {
        parts[0] = *first;
        return 1;
    }
    for (i = 1; i <= n; i++) {
        oauth2_cookie_t *c = &parts[i - 1];

        if (oauth2_cookie_find(header, chunk_name(p, base, i), c, 1) == 0
            || c->value_len > OAUTH2_COOKIE_SESSION_CHUNK) {
            return 0;
        }
    }
    return n;
}

/* The parts joined (from p), *len its length. */
static char *joined(apr_pool_t *p, const oauth2_cookie_t *parts, int n,
                    apr_size_t *len)
{
    apr_size_t total = 0, off = 0;
    char *v;
    int i;

    for (i = 0; i < n; i++) {
        total += parts[i].value_len;
    }
    v = apr_palloc(p, total + 1);
    for (i = 0; i < n; i++) {
        memcpy(v + off, parts[i].value, parts[i].value_len);
        off += parts[i].value_len;
    }
    v[total] = '\0';
    *len = total;
    return v;
}

/* Is there an unexpired marker under kind:value? *expires its expiry. */
static int marked(const oauth2_site_t *site, oauth2_request_t *req,
                  const char *kind, const char *value, apr_time_t *expires)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_store_meta_t meta;
    char *rec;
    apr_size_t len;

    if (oauth2_site_marker_key(site, req, kind, value, key) != APR_SUCCESS
        || oauth2_store_get(site->store, req->pool, key, req->now, &rec, &len,
                            &meta)
               != APR_SUCCESS) {
        return 0;
    }
    *expires = meta.expires;
    return 1;
}

/* Has a back-channel logout revoked this session (by sid, or by sub after
 * the session was created)? */
static int revoked(const oauth2_site_t *site, oauth2_request_t *req,
                   const oauth2_session_t *s)
{
    apr_time_t until;

    if (s->len[OAUTH2_SF_SID] > 0
        && marked(site, req, "revoked-sid", s->f[OAUTH2_SF_SID], &until)) {
        return 1;
    }
    /* The marker expires one max age after the revocation: sessions
     * created before the revocation are refused. */
    return s->len[OAUTH2_SF_SUB] > 0
           && marked(site, req, "revoked-sub", s->f[OAUTH2_SF_SUB], &until)
           && s->created + apr_time_from_sec(site->cfg->session_max_age)
                  <= until;
}

/* The store key of the revocation epoch. */
static apr_status_t epoch_key(const oauth2_site_t *site, oauth2_request_t *req,
                              unsigned char *key)
{
    return oauth2_site_marker_key(site, req, "revoked-epoch", "", key);
}

/* The revocation epoch as the store has it now (made when there is none):
 * a connection may keep a session it checked at this epoch for as long
 * as the epoch's version stays. */
static apr_status_t epoch_read(const oauth2_site_t *site, oauth2_request_t *req,
                               oauth2_store_meta_t *meta)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    apr_time_t until = req->now + apr_time_from_sec(site->cfg->session_max_age);
    char *rec;
    apr_size_t len;
    apr_status_t rv = epoch_key(site, req, key);

    if (rv == APR_SUCCESS) {
        rv = oauth2_store_get(site->store, req->pool, key, req->now, &rec, &len,
                              meta);
    }
    /* Made by whichever reader comes first; two at once only make the
     * memos of the moment open their sessions once more. Pinned like the
     * markers it stands for. */
    if (rv == OAUTH2_ENOTFOUND) {
        rv = oauth2_store_put_class(site->store, req->pool, key, "0", 1, until,
                                    req->now, OAUTH2_SHM_PINNED);
        if (rv == APR_SUCCESS) {
            rv = oauth2_store_get(site->store, req->pool, key, req->now, &rec,
                                  &len, meta);
        }
    }
    return rv;
}

/* Is the opened session s (expires: its sealed inactivity expiry) one to
 * serve at req->now? */
static int usable(const oauth2_site_t *site, oauth2_request_t *req,
                  const oauth2_session_t *s, apr_time_t expires)
{
    return expires > req->now && s->max_expires > req->now
           && !revoked(site, req, s);
}

/* Opens the sealed value of parts: expiry (8 bytes) | record. Into the
 * connection's memo c when there is one (the epoch read before the
 * revocation check, so a revocation in between is seen next time), else
 * into the request. */
static apr_status_t open_value(const oauth2_site_t *site, oauth2_request_t *req,
                               oauth2_conn_t *c, const oauth2_cookie_t *parts,
                               int nparts, const oauth2_session_t **s,
                               const char **rec, apr_size_t *len,
                               apr_time_t *expires)
{
    apr_size_t vlen, n;
    const char *value = joined(req->pool, parts, nparts, &vlen), *err;
    oauth2_store_meta_t epoch;
    oauth2_session_t *own;
    unsigned char *pt;

    if (c != NULL && epoch_read(site, req, &epoch) != APR_SUCCESS) {
        c = NULL; /* the epoch cannot be checked later: keep nothing */
    }
    if (oauth2_seal_open_b64(
            req->pool, site->seal_session, site->session_aad, value, vlen,
            (apr_size_t)OAUTH2_COOKIE_SESSION_CHUNK * OAUTH2_MAX_COOKIE_CHUNKS,
            &pt, &n, &err)
            != APR_SUCCESS
        || n < 8) {
        return OAUTH2_EREFUSED;
    }
    *expires = (apr_time_t)oauth2_u64_read(pt);
    *rec = (char *)pt + 8;
    *len = n - 8;
    if (c != NULL
        && oauth2_conn_cookie_keep(c, site, value, vlen, *rec, *len, *expires,
                                   &epoch)
               == APR_SUCCESS) {
        *s = &c->cookie.session;
        *rec = c->cookie.rec;
        c->cookie.valid = usable(site, req, *s, *expires);
        return c->cookie.valid ? APR_SUCCESS : OAUTH2_EREFUSED;
    }
    own = apr_palloc(req->pool, sizeof(*own));
    if (oauth2_session_decode_p(req->pool, *rec, *len, own) != APR_SUCCESS
        || !usable(site, req, own, *expires)) {
        return OAUTH2_EREFUSED;
    }
    *s = own;
    return APR_SUCCESS;
}

apr_status_t
oauth2_cookie_session_open(const oauth2_site_t *site, oauth2_request_t *req,
                           const char *header, const oauth2_cookie_t *first,
                           const oauth2_session_t **s, const char **rec,
                           apr_size_t *len, apr_time_t *expires)
{
    oauth2_cookie_t parts[OAUTH2_MAX_COOKIE_CHUNKS];
    oauth2_conn_t *c = site->memo ? oauth2_conn_of(req) : NULL;
    int n = first ? value_parts(site, req->pool, header, first, parts) : 0;

    if (n == 0) {
        return OAUTH2_ENOTFOUND;
    }
    /* The same bytes again on this connection: the session it opened. */
    if (c != NULL
        && oauth2_conn_cookie_recall(c, site, site->store, parts, n,
                                     req->now)) {
        *s = &c->cookie.session;
        *rec = c->cookie.rec;
        *len = c->cookie.rec_len;
        *expires = c->cookie.expires;
        return APR_SUCCESS;
    }
    return open_value(site, req, c, parts, n, s, rec, len, expires);
}

void oauth2_cookie_session_clear(const oauth2_site_t *site,
                                 oauth2_request_t *req, oauth2_response_t *resp,
                                 int first)
{
    const char *header = oauth2_request_header(req, "Cookie");
    oauth2_cookie_t c;
    int i;

    for (i = first; header != NULL && i <= OAUTH2_MAX_COOKIE_CHUNKS; i++) {
        const char *name = chunk_name(req->pool, site->cfg->cookie_name, i);

        if (oauth2_cookie_find(header, name, &c, 1) > 0) {
            oauth2_site_cookie(site, req, resp, name, "", 0, "/");
        }
    }
}

/* Sets the chunks of a sealed value of vlen characters (n of them). */
static void write_chunks(const oauth2_site_t *site, oauth2_request_t *req,
                         oauth2_response_t *resp, const char *value,
                         apr_size_t vlen, int n)
{
    const char *base = site->cfg->cookie_name;
    int i;

    oauth2_site_cookie(site, req, resp, base, apr_psprintf(req->pool, "~%d", n),
                       -1, "/");
    for (i = 1; i <= n; i++) {
        apr_size_t off = (apr_size_t)(i - 1) * OAUTH2_COOKIE_SESSION_CHUNK;
        apr_size_t size = vlen - off < OAUTH2_COOKIE_SESSION_CHUNK
                              ? vlen - off
                              : OAUTH2_COOKIE_SESSION_CHUNK;

        oauth2_site_cookie(site, req, resp, chunk_name(req->pool, base, i),
                           apr_pstrmemdup(req->pool, value + off, size), -1,
                           "/");
    }
}

/* Digits of i (i >= 1). */
static apr_size_t digits(apr_size_t i)
{
    apr_size_t d = 1;

    while (i >= 10) {
        i /= 10;
        d++;
    }
    return d;
}

apr_size_t oauth2_cookie_session_header_bytes(const char *base, apr_size_t vlen)
{
    apr_size_t b = strlen(base), n, i, total;

    /* "name=value; " */
    if (vlen <= OAUTH2_COOKIE_SESSION_CHUNK) {
        return b + 1 + vlen + 2;
    }
    n = (vlen + OAUTH2_COOKIE_SESSION_CHUNK - 1) / OAUTH2_COOKIE_SESSION_CHUNK;
    /* "name=~N; ", then "name_i=chunk; " for each */
    total = b + 2 + digits(n) + 2 + vlen;
    for (i = 1; i <= n; i++) {
        total += b + 1 + digits(i) + 1 + 2;
    }
    return total;
}

apr_size_t oauth2_cookie_session_budget(oauth2_request_t *req)
{
    apr_size_t limit;

    oauth2_request_complete(req);
    limit = req->field_limit > 0 ? req->field_limit
                                 : OAUTH2_COOKIE_SESSION_FIELD_LIMIT;
    return limit / 100 * OAUTH2_COOKIE_SESSION_BUDGET
           + limit % 100 * OAUTH2_COOKIE_SESSION_BUDGET / 100;
}

/* The bytes of the request's Cookie header without site's own session
 * cookies (which a new session replaces). */
static apr_size_t others_bytes(const oauth2_site_t *site, oauth2_request_t *req)
{
    const char *h = oauth2_request_header(req, "Cookie");
    const char *rest =
        h ? oauth2_cookie_strip(req->pool, h, site->cfg->cookie_name, NULL)
          : NULL;

    return rest ? strlen(rest) : h ? strlen(h) : 0;
}

/* Refuses a sealed value of vlen characters that its cookies cannot
 * carry: past the budget, with the browser's other cookies past the
 * whole line, or more than max_chunks chunks. */
static apr_status_t check_budget(const oauth2_site_t *site,
                                 oauth2_request_t *req, apr_size_t vlen,
                                 int max_chunks, const char **err)
{
    apr_size_t bytes =
        oauth2_cookie_session_header_bytes(site->cfg->cookie_name, vlen);
    apr_size_t budget = oauth2_cookie_session_budget(req);
    apr_size_t others = others_bytes(site, req);
    apr_size_t limit = req->field_limit > 0
                           ? req->field_limit
                           : (apr_size_t)OAUTH2_COOKIE_SESSION_FIELD_LIMIT;

    /* "Cookie: " and the rest of the browser's cookies (another named
     * provider's session among them) must fit in the line as well. */
    if (bytes <= budget && others > 0
        && bytes + others + sizeof("Cookie: ") > limit) {
        *err = apr_psprintf(req->pool,
                            "the session needs %" APR_SIZE_T_FMT
                            " bytes of cookies, and the browser's other "
                            "cookies (other providers' sessions among them) "
                            "take %" APR_SIZE_T_FMT
                            ": together more than LimitRequestFieldSize "
                            "%" APR_SIZE_T_FMT,
                            bytes, others, limit);
        return OAUTH2_EBUDGET;
    }
    if (bytes > budget) {
        *err =
            apr_psprintf(req->pool,
                         "the session needs %" APR_SIZE_T_FMT
                         " bytes of cookies, more than the %" APR_SIZE_T_FMT
                         " a cookie session may take (%d %% of "
                         "LimitRequestFieldSize %" APR_SIZE_T_FMT ")",
                         bytes, budget, OAUTH2_COOKIE_SESSION_BUDGET,
                         req->field_limit > 0
                             ? req->field_limit
                             : (apr_size_t)OAUTH2_COOKIE_SESSION_FIELD_LIMIT);
        return OAUTH2_EBUDGET;
    }
    if (vlen > (apr_size_t)OAUTH2_COOKIE_SESSION_CHUNK * max_chunks) {
        *err = apr_psprintf(req->pool,
                            "the session needs more than %d cookie%s of %d "
                            "characters",
                            max_chunks, max_chunks > 1 ? "s" : "",
                            OAUTH2_COOKIE_SESSION_CHUNK);
        return OAUTH2_EBUDGET;
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_cookie_session_write(const oauth2_site_t *site,
                                         oauth2_request_t *req,
                                         oauth2_response_t *resp,
                                         const char *rec, apr_size_t len,
                                         apr_time_t expires, const char **err)
{
    return oauth2_cookie_session_write_n(site, req, resp, rec, len, expires,
                                         OAUTH2_MAX_COOKIE_CHUNKS, err);
}

apr_status_t oauth2_cookie_session_write_n(const oauth2_site_t *site,
                                           oauth2_request_t *req,
                                           oauth2_response_t *resp,
                                           const char *rec, apr_size_t len,
                                           apr_time_t expires, int max_chunks,
                                           const char **err)
{
    unsigned char *pt = apr_palloc(req->pool, len + 8);
    char *value;
    apr_size_t vlen;
    int n;

    oauth2_u64_write(pt, (apr_uint64_t)expires);
    memcpy(pt + 8, rec, len);
    if (oauth2_seal_b64(req->pool, site->seal_session, site->session_aad, pt,
                        len + 8, &value, err)
        != APR_SUCCESS) {
        return OAUTH2_ECRYPTO;
    }
    vlen = strlen(value);
    if (check_budget(site, req, vlen, max_chunks, err) != APR_SUCCESS) {
        return OAUTH2_EBUDGET;
    }
    n = (int)((vlen + OAUTH2_COOKIE_SESSION_CHUNK - 1)
              / OAUTH2_COOKIE_SESSION_CHUNK);
    if (n <= 1) {
        oauth2_site_cookie(site, req, resp, site->cfg->cookie_name, value, -1,
                           "/");
        oauth2_cookie_session_clear(site, req, resp, 1);
        return APR_SUCCESS;
    }
    write_chunks(site, req, resp, value, vlen, n);
    oauth2_cookie_session_clear(site, req, resp, n + 1);
    return APR_SUCCESS;
}

apr_status_t oauth2_cookie_session_revoke(const oauth2_site_t *site,
                                          oauth2_request_t *req,
                                          const char *sid, const char *sub)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    apr_time_t until = req->now + apr_time_from_sec(site->cfg->session_max_age);
    /* By sub when there is one: one record per user (revoked() reads
     * "created until now" from its expiry). */
    apr_status_t rv = oauth2_site_marker_key(
        site, req, sub ? "revoked-sub" : "revoked-sid", sub ? sub : sid, key);

    /* Pinned: no other record may take its place while it lives (a
     * revoked cookie is good until its max age otherwise). A replace of
     * the sub's record keeps its place. */
    if (rv == APR_SUCCESS) {
        rv = oauth2_store_put_class(site->store, req->pool, key, "1", 1, until,
                                    req->now, OAUTH2_SHM_PINNED);
    }
    /* After the marker: a connection that reads the new epoch finds the
     * marker when it checks again. */
    if (rv == APR_SUCCESS) {
        rv = epoch_key(site, req, key);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_store_put_class(site->store, req->pool, key, "1", 1, until,
                                    req->now, OAUTH2_SHM_PINNED);
    }
    return rv;
}
