/*
 * conn.h: what the engine keeps per client connection (the glue allocates
 * it in the connection's pool and hands it over in every request view):
 * the session record it read last. A keep-alive connection that presents the
 * same session id again skips the hash and the copy, and only asks the store
 * whether the record is unchanged (oauth2_store_check: a version and an
 * expiry, lock-free in shm). The same holds for a bearer token: the id is
 * then the token with its audience, compared whole, and the record the one
 * its verification cached.
 *
 * Cookie sessions (OAuth2SessionStore cookie) have a memo of their own:
 * the sealed value the cookies carried (chunks joined) and the session it
 * opened to. A request that presents exactly those bytes again skips the
 * base64url decoding, the AES-GCM opening and the revocation lookups; it
 * only asks the store whether the revocation epoch (a record every
 * back-channel logout of cookie sessions rewrites, cookie_session.h) is
 * unchanged, so a revoked session is refused on a kept connection too.
 *
 * The Cookie header a connection's lookup read last is kept too, with
 * where the session cookies are in it and what it is without the
 * module's: a browser sends the same header with every request of a
 * page, and a request that sends exactly those bytes again costs one
 * compare (in a time that depends on the length only) and a copy.
 *
 * One thread serves a connection at a time, so nothing here is locked.
 * The copies are never written through: a request that changes its
 * session decodes its own.
 */
#ifndef OAUTH2_CONN_H
#define OAUTH2_CONN_H

#include <apr_pools.h>
#include <apr_time.h>

#include "bounds.h"
#include "cookie.h"
#include "crypto.h"
#include "request.h"
#include "session.h"
#include "store.h"

/* The first copy of a record reads this much: the hot fields of an
 * ordinary session, and nothing per request beyond it. */
#define OAUTH2_CONN_FIRST_READ 2048

/** The cookie session a connection opened last. */
typedef struct {
    const void *owner; /* the site whose session it is */
    int valid;
    char *value; /* the sealed value, as the cookies carried it */
    apr_size_t value_len, value_cap;
    char *rec; /* the record it opened to */
    apr_size_t rec_len, rec_cap;
    char *hdr; /* the session's groups header */
    apr_size_t hdr_cap;
    /* Not cleared when made (oauth2_conn_create): set before valid is. */
    oauth2_session_t session;  /* decoded, points into rec and hdr */
    apr_time_t expires;        /* its inactivity expiry */
    oauth2_store_meta_t epoch; /* the revocation epoch it was checked at */
} oauth2_conn_cookie_t;

/* Cookie headers longer than this are not kept (Apache's default limit of
 * a header line, LimitRequestFieldSize, is 8190 bytes). */
#define OAUTH2_CONN_MAX_HEADER 8192

/** The Cookie header a connection's session lookup read last. */
typedef struct {
    const void *owner; /* the site that read it */
    const char *base;  /* the session cookie name it searched for */
    int looked;        /* a header has been read on this connection */
    int valid;
    char *text; /* the header's bytes, NUL-terminated */
    apr_size_t text_cap;
    char *stripped; /* oauth2_cookie_strip's answer */
    int changed;    /* 0: it was NULL (the header unchanged) */
    apr_size_t stripped_len, stripped_cap;
    /* Not cleared when made (oauth2_conn_create): set before valid is. */
    oauth2_cookie_found_t found; /* oauth2_cookie_find_own's, into text */
} oauth2_conn_header_t;

/** The per-connection memo. Fields are read by sessions.c and tests. */
typedef struct oauth2_conn_t {
    apr_pool_t *pool;  /* the connection's: the copy's buffer */
    const void *owner; /* the site whose session the copy is */
    int valid;         /* the fields below describe a copy */
    int whole;         /* the copy holds the tokens too */
    char *buf;
    apr_size_t cap;
    apr_size_t len; /* bytes copied */
    char *hdr;      /* the session's groups header */
    apr_size_t hdr_cap;
    char *id; /* what the store key is the hash of: a session id, or a
                 bearer token with its audience */
    apr_size_t id_cap;
    /* Not cleared when made (oauth2_conn_create): set before valid is. */
    apr_size_t id_len;
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_store_meta_t meta;
    oauth2_session_t session; /* decoded, points into buf */
    oauth2_conn_cookie_t cookie;
    oauth2_conn_header_t header;
} oauth2_conn_t;

/**
 * A memo for a connection, from p (the connection's pool).
 * @return APR_SUCCESS
 */
apr_status_t oauth2_conn_create(apr_pool_t *p, oauth2_conn_t **out);

/**
 * The request's memo: its connection's, or one made for this request
 * alone (views without a connection: tests, tools, and a subrequest or an
 * internal redirect, whose view the glue gives none: the request before
 * it still holds the record it read into the connection's memo, its user
 * and session point there, and a nested lookup of another session must
 * not rewrite them). NULL when none can be made.
 */
oauth2_conn_t *oauth2_conn_of(oauth2_request_t *req);

/**
 * Does the copy hold the session of id (compared in constant time) for
 * owner, with the tokens when need_tokens, unchanged in st at now? Sets
 * *expires to its current expiry. Costs no hash and no copy.
 */
int oauth2_conn_recall(oauth2_conn_t *c, const void *owner,
                       const oauth2_store_t *st, const char *id, apr_size_t len,
                       int need_tokens, apr_time_t now, apr_time_t *expires);

/**
 * Copies the record under key from st (which must be able to check:
 * oauth2_store_can_check) into the connection's buffer, its hot part only
 * unless need_tokens, decodes it and remembers it as the session of id
 * for owner. scratch: a pool for the store's temporary use.
 * @return APR_SUCCESS; OAUTH2_ENOTFOUND; OAUTH2_EMALFORMED and
 *         OAUTH2_EEXPIRED (oauth2_session_decode); a store failure
 */
apr_status_t oauth2_conn_load(oauth2_conn_t *c, const void *owner,
                              const oauth2_store_t *st, apr_pool_t *scratch,
                              const unsigned char *key, const char *id,
                              apr_size_t len, apr_time_t now, int need_tokens);

/**
 * Does the cookie memo hold the session of this sealed value for owner,
 * unexpired at now, its revocation epoch unchanged in st? The value comes
 * in n parts (the session cookie, or its chunks in order: pointers into
 * the Cookie header), compared with the kept bytes in a time that depends
 * on their length only. Costs no decoding, no decryption, no hash.
 */
int oauth2_conn_cookie_recall(oauth2_conn_t *c, const void *owner,
                              const oauth2_store_t *st,
                              const oauth2_cookie_t *parts, int n,
                              apr_time_t now);

/**
 * Keeps an opened cookie session in the memo: its sealed value (vlen
 * bytes), its record (copied into the connection's buffers and decoded
 * there, its groups header built), its expiry and the revocation epoch
 * it was checked at. A failure leaves the memo empty.
 * @return APR_SUCCESS, or oauth2_session_decode's error
 */
apr_status_t oauth2_conn_cookie_keep(oauth2_conn_t *c, const void *owner,
                                     const char *value, apr_size_t vlen,
                                     const char *rec, apr_size_t rlen,
                                     apr_time_t expires,
                                     const oauth2_store_meta_t *epoch);

/**
 * The session cookies of header for owner, whose session cookie is base
 * (oauth2_cookie_find_own into f), and the header without the module's
 * cookies (oauth2_cookie_strip: *stripped from p, NULL when unchanged),
 * through the memo: a header equal to the last one owner read on this
 * connection costs a compare and a copy of *stripped. A header that
 * names the session cookie (and is at most OAUTH2_CONN_MAX_HEADER bytes)
 * is kept for the next request, from the connection's second lookup on:
 * a connection that carries one request pays for no copy.
 */
void oauth2_conn_cookies(oauth2_conn_t *c, const void *owner, apr_pool_t *p,
                         const char *header, const char *base,
                         oauth2_cookie_found_t *f, const char **stripped);

#endif /* OAUTH2_CONN_H */
