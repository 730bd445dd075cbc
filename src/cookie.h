/*
 * cookie.h: reading the Cookie request header (RFC 6265 §5.4 / §4.2.1,
 * leniently, as browsers send it) and writing Set-Cookie values.
 *
 * Reading never allocates: results point into the header. Headers longer
 * than OAUTH2_MAX_COOKIE_HEADER are not scanned. Sealing cookie contents is
 * seal.c's business, splitting large sessions into chunks is session's.
 */
#ifndef OAUTH2_COOKIE_H
#define OAUTH2_COOKIE_H

#include <apr_pools.h>

/** One name=value pair of a Cookie header; pointers into the header. */
typedef struct {
    const char *name;
    apr_size_t name_len;
    const char *value;
    apr_size_t value_len;
} oauth2_cookie_t;

/**
 * Iterates over the pairs of a Cookie header. *pos starts at the header
 * and advances; separators (';', spaces, tabs) are skipped, pairs without
 * '=' and pairs with an empty name are skipped, surrounding spaces are
 * trimmed and a value in double quotes loses its quotes. A NUL byte before
 * end also ends the header.
 * @return APR_SUCCESS with *c set, APR_EOF at the end, or APR_EINVAL for a
 *         NULL argument or *pos past end
 */
apr_status_t oauth2_cookie_next(const char **pos, const char *end,
                                oauth2_cookie_t *c);

/**
 * Finds every cookie called name (exact, case-sensitive) in header, up to
 * max of them, in the order sent (the browser puts the most specific path
 * first). Returns how many were found (0 .. max); a header that is NULL or
 * longer than OAUTH2_MAX_COOKIE_HEADER gives 0.
 */
apr_size_t oauth2_cookie_find(const char *header, const char *name,
                              oauth2_cookie_t *out, apr_size_t max);

/**
 * How many times text occurs anywhere in header (cookie names, values or
 * separators alike): a cheap test of whether a header can hold one of
 * our cookies at all. 0 for NULL or empty arguments.
 */
apr_size_t oauth2_cookie_mentions(const char *header, const char *text);

/* Prefix of login state cookie names: "<prefix><state>" (state.h). */
#define OAUTH2_STATE_COOKIE_PREFIX "oauth2_state_"

/**
 * Does the cookie name [name, name + len) belong to the module: the
 * session cookie base, one of its chunks ("<base>_<digits>": a chunk is
 * never a harmless cookie to hand on, whatever the store), or a login
 * state ("oauth2_state_...")? Exact and case-sensitive, as browsers
 * match cookie names.
 */
int oauth2_cookie_owned(const char *name, apr_size_t len, const char *base);

/**
 * The Cookie header without any cookie oauth2_cookie_owned names, however
 * many copies and whatever their spacing or quotes, also after a ','
 * (several Cookie lines reach a server merged with ", "). Other pairs keep
 * their order and their text, joined with "; ".
 * found/nfound: what oauth2_cookie_find(header, base, found, max) gave for
 * this very header, or NULL/0 to have it searched here. When those are
 * the only places base occurs (nfound < max, no chunk, no state, no ',')
 * the header is cut around them without a parse: the request hot path.
 * No size bound: the work is linear, and a long header must not carry a
 * session to the backend.
 * @return NULL when the header holds none of ours (keep it as it is), else
 *         the new header from p ("" when nothing is left)
 */
const char *oauth2_cookie_strip(apr_pool_t *p, const char *header,
                                const char *base, const oauth2_cookie_t *found,
                                apr_size_t nfound, apr_size_t max);

/** Attributes of a cookie the module sets. */
typedef struct {
    const char *path;      /* Path=; NULL means "/" */
    const char *domain;    /* Domain=, or NULL for a host-only cookie */
    const char *same_site; /* "Lax", "Strict", "None", or NULL to omit */
    int secure;            /* add Secure */
} oauth2_cookie_attrs_t;

/**
 * A Set-Cookie header value from p: name=value; Path; Domain; Max-Age
 * (max_age < 0: no Max-Age, a browser-session cookie; max_age == 0 with
 * an empty value: deletion, with an Expires in the past as well);
 * HttpOnly always; Secure; SameSite. name and value must already be
 * cookie-safe (the module only writes base64url and its own names).
 * @return the value, or NULL for a NULL argument, a name that is not a
 *         token, a value that is not cookie-octets or is longer than
 *         OAUTH2_MAX_COOKIE_VALUE, a Path not starting with '/', a Path or
 *         Domain with ';' or controls, a SameSite other than the three
 *         keywords, or SameSite=None without Secure (RFC 6265 §4.1.1,
 *         RFC 6265bis §5.6.7: browsers drop such cookies)
 */
char *oauth2_cookie_set_header(apr_pool_t *p, const char *name,
                               const char *value, long max_age,
                               const oauth2_cookie_attrs_t *attrs);

#endif /* OAUTH2_COOKIE_H */
