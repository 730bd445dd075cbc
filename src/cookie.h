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

/* Copies of the session cookie oauth2_cookie_find_own notes (duplicates
 * come from other paths or a parent domain); finding this many sends the
 * header to the full parse when ours are taken out of it. */
#define OAUTH2_COOKIE_MAX_FOUND 5

/** Where the session cookies of a Cookie header are: what
 * oauth2_cookie_strip needs to take them out without a parse. */
typedef struct {
    const char *header;
    apr_size_t len; /* the header's */
    oauth2_cookie_t at[OAUTH2_COOKIE_MAX_FOUND];
    apr_size_t n;
    int alone; /* at are all of ours (oauth2_cookie_find_own) */
} oauth2_cookie_found_t;

/**
 * oauth2_cookie_find for the session cookie base into f (its header, the
 * header's length, up to OAUTH2_COOKIE_MAX_FOUND copies), which also says
 * whether the copies found are all of the module's cookies the header
 * can hold (f->alone): fewer than the maximum, and no other mention of a
 * name of ours (base, a chunk, a login state) anywhere outside their
 * values, in a name, a value or a broken pair. Then oauth2_cookie_strip
 * can cut them out without a parse. One search serves both when base
 * shares its first four bytes or more with OAUTH2_STATE_COOKIE_PREFIX
 * (the default name does). A header longer than OAUTH2_MAX_COOKIE_HEADER
 * is not searched for copies (0), but f->alone still says whether it
 * names none of ours. Returns f->n.
 */
apr_size_t oauth2_cookie_find_own(const char *header, const char *base,
                                  oauth2_cookie_found_t *f);

/**
 * The Cookie header without any cookie oauth2_cookie_owned names, however
 * many copies and whatever their spacing or quotes, also after a ','
 * (several Cookie lines reach a server merged with ", "). Other pairs keep
 * their order and their text, joined with "; ".
 * found: what oauth2_cookie_find_own(header, base, found) gave, or NULL
 * to have the header searched here. When found->alone says those copies
 * are the only places a name of ours occurs, and the header has no ',',
 * it is cut around them without a parse: the request hot path. Otherwise
 * every pair is parsed.
 * No size bound: the work is linear, and a long header must not carry a
 * session to the backend.
 * @return NULL when the header holds none of ours (keep it as it is), else
 *         the new header from p ("" when nothing is left)
 */
const char *oauth2_cookie_strip(apr_pool_t *p, const char *header,
                                const char *base,
                                const oauth2_cookie_found_t *found);

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
