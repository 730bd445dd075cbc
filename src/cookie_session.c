/*
 * cookie_session.c: sessions kept in the browser (see cookie_session.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "bounds.h"
#include "bytes.h"
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

/* The whole sealed value from the request's cookies (joined chunks), or
 * NULL (no session cookie, or a chunk missing or too long). */
static const char *joined_value(const oauth2_site_t *site, apr_pool_t *p,
                                const char *header)
{
    const char *base = site->cfg->cookie_name;
    oauth2_cookie_t c;
    char *joined;
    int n, i;

    if (oauth2_cookie_find(header, base, &c, 1) == 0) {
        return NULL;
    }
    n = chunk_count(c.value, c.value_len);
    if (n == 0) {
        return apr_pstrmemdup(p, c.value, c.value_len);
    }
    joined = "";
    for (i = 1; i <= n; i++) {
        if (oauth2_cookie_find(header, chunk_name(p, base, i), &c, 1) == 0
            || c.value_len > OAUTH2_COOKIE_SESSION_CHUNK) {
            return NULL;
        }
        joined = apr_pstrcat(p, joined, apr_pstrmemdup(p, c.value, c.value_len),
                             NULL);
    }
    return joined;
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

apr_status_t oauth2_cookie_session_open(const oauth2_site_t *site,
                                        oauth2_request_t *req,
                                        const char *header, oauth2_session_t *s,
                                        const char **rec, apr_size_t *len,
                                        apr_time_t *expires)
{
    const char *value = joined_value(site, req->pool, header);
    unsigned char *pt;
    apr_size_t n;
    const char *err;

    if (value == NULL) {
        return OAUTH2_ENOTFOUND;
    }
    /* expiry (8 bytes) | record */
    if (oauth2_seal_open_b64(req->pool, site->seal_session, site->session_aad,
                             value, strlen(value),
                             (apr_size_t)OAUTH2_COOKIE_SESSION_CHUNK
                                 * OAUTH2_MAX_COOKIE_CHUNKS,
                             &pt, &n, &err)
            != APR_SUCCESS
        || n < 8) {
        return OAUTH2_EREFUSED;
    }
    *expires = (apr_time_t)oauth2_u64_read(pt);
    if (*expires <= req->now
        || oauth2_session_decode((char *)pt + 8, n - 8, s) != APR_SUCCESS
        || s->max_expires <= req->now || revoked(site, req, s)) {
        return OAUTH2_EREFUSED;
    }
    *rec = (char *)pt + 8;
    *len = n - 8;
    return APR_SUCCESS;
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

apr_status_t oauth2_cookie_session_write(const oauth2_site_t *site,
                                         oauth2_request_t *req,
                                         oauth2_response_t *resp,
                                         const char *rec, apr_size_t len,
                                         apr_time_t expires, const char **err)
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
    n = (int)((vlen + OAUTH2_COOKIE_SESSION_CHUNK - 1)
              / OAUTH2_COOKIE_SESSION_CHUNK);
    if (n > OAUTH2_MAX_COOKIE_CHUNKS) {
        *err = "the session is too large for cookies (use shm or a socache "
               "store)";
        return OAUTH2_ETOOBIG;
    }
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
    apr_status_t rv = oauth2_site_marker_key(
        site, req, sid ? "revoked-sid" : "revoked-sub", sid ? sid : sub, key);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Pinned: no other record may take its place while it lives (a
     * revoked cookie is good until its max age otherwise). */
    return oauth2_store_put_class(site->store, req->pool, key, "1", 1, until,
                                  req->now, OAUTH2_SHM_PINNED);
}
