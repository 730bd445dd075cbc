/*
 * request.h: the view of an HTTP request that the engine reads, built by
 * the glue (src/apache.c) on its stack for each call into the engine, so
 * that no engine file needs request_rec and unit tests can make one.
 *
 * What every request needs is plain fields, filled for the price of a few
 * pointer copies (the hot path: a request with a session reads its Cookie
 * header and nothing else). The rest is filled on demand: the scheme, host
 * and port by oauth2_request_complete() through the glue's complete(),
 * the body by read_body(). Logging goes through the glue's log(), so the
 * server's own error log, its levels and its per-module LogLevel apply.
 */
#ifndef OAUTH2_REQUEST_H
#define OAUTH2_REQUEST_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "errors.h"

typedef struct oauth2_request_t oauth2_request_t;

/** The per-connection memo of sessions.c (conn.h). */
struct oauth2_conn_t;

/** What the server gives the engine besides plain values. */
typedef struct {
    /** Fills https, host, host_port, base_url, auth_name and
     * field_limit. */
    void (*complete)(oauth2_request_t *req);
    /** Reads the request body, at most max bytes, into *body (from
     * req->pool, NUL-terminated). @return APR_SUCCESS, OAUTH2_ETOOBIG
     * (longer than max), or a read error */
    apr_status_t (*read_body)(oauth2_request_t *req, apr_size_t max,
                              const char **body, apr_size_t *len);
    /** Writes msg (formatted already) to the error log of the request at
     * level (OAUTH2_LOG_*), as written at file:line. */
    void (*log)(const oauth2_request_t *req, const char *file, int line,
                int level, const char *msg);
    /** The highest level the request's log records (asked once, when a
     * view with log_level OAUTH2_LOG_ASK first logs). */
    int (*log_level)(const oauth2_request_t *req);
} oauth2_request_ops_t;

/* A view's log_level before the first line: ask ops->log_level. Nothing is
 * asked on a request that logs nothing (the hot path). */
#define OAUTH2_LOG_ASK 99

/** A request as the engine sees it. Strings may be NULL when absent. */
struct oauth2_request_t {
    apr_pool_t *pool;           /* the request's */
    apr_time_t now;             /* when the request arrived */
    const char *method;         /* "GET" */
    const char *uri;            /* path?query as received */
    const char *path;           /* the path, decoded, without the query */
    const char *args;           /* the query, or NULL */
    const apr_table_t *headers; /* request headers (read only) */
    struct oauth2_conn_t *conn; /* the connection's memo, or NULL */
    int log_level; /* lines above this level are not logged; OAUTH2_LOG_ASK */
    const oauth2_request_ops_t *ops;
    void *ctx; /* the glue's (its request) */
    /* Valid once completed (oauth2_request_complete): */
    int completed;
    int https;             /* 1 when the client used TLS */
    const char *host;      /* host name, lower-case, no port */
    const char *host_port; /* host[:port] as the client addressed it */
    const char *base_url;  /* scheme://host[:port], for absolute URLs */
    const char *auth_name; /* AuthName of the place, or NULL */
    /* LimitRequestFieldSize: the longest request header line the server
     * reads (the Cookie header with every cookie in it); 0 unknown. */
    apr_size_t field_limit;
};

/** Fills the on-demand fields (once; a view without a complete() keeps
 * what its maker set). */
void oauth2_request_complete(oauth2_request_t *req);

/** A request header (any case), or NULL. */
const char *oauth2_request_header(const oauth2_request_t *req,
                                  const char *name);

/** The absolute URL of a local path on this request's host (completes
 * the view), from its pool. */
const char *oauth2_request_url(oauth2_request_t *req, const char *path);

/**
 * Formats and logs a line through the glue (nothing without ops->log).
 * Use OAUTH2_LOG, which skips the formatting when the level is off.
 */
void oauth2_request_log(oauth2_request_t *req, const char *file, int line,
                        int level, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define OAUTH2_LOG(req, level, ...)                                \
    do {                                                           \
        if ((level) <= (req)->log_level) {                         \
            oauth2_request_log((req), __FILE__, __LINE__, (level), \
                               __VA_ARGS__);                       \
        }                                                          \
    } while (0)

/**
 * Parses a query (or a form body: '+' is a space, %XX escapes) into a
 * table from p. A parameter of single (a NULL-terminated list) that comes
 * twice, a bad escape or an escaped NUL is an error: *bad names the
 * parameter, or "(malformed)". RFC 6749 §3.1: "request and response
 * parameters MUST NOT be included more than once".
 * @return APR_SUCCESS, or OAUTH2_EMALFORMED with *bad
 */
apr_status_t oauth2_request_parse_query(apr_pool_t *p, const char *query,
                                        const char *const *single,
                                        apr_table_t **out, const char **bad);

/**
 * The one value of name in the request's form body
 * (application/x-www-form-urlencoded, at most max bytes of body, at most
 * 8 parameters, the value 1..max_value bytes).
 * @return APR_SUCCESS with *value; OAUTH2_EMALFORMED (another content
 *         type, a malformed body, name absent, repeated or out of
 *         bounds); OAUTH2_ETOOBIG; a read error
 */
apr_status_t oauth2_request_form_value(oauth2_request_t *req, const char *name,
                                       apr_size_t max, apr_size_t max_value,
                                       const char **value);

/** The LimitRequestFieldSize that applies to a request (field_limit):
 * headers are read before the virtual host is known, so under name-based
 * virtual hosting the default server of the address sets the limit (the
 * LimitRequestFieldSize documentation). The smaller of the virtual
 * host's (host) and the address's default server's (base; 0: none). */
apr_size_t oauth2_request_field_limit(apr_size_t host, apr_size_t base);

/** A request line (method, target, protocol) with the values of its code
 * and state parameters replaced by 'x', from p: what the access log may
 * keep of a callback. */
const char *oauth2_request_redact(apr_pool_t *p, const char *line);

/**
 * Is this a browser navigation that may be sent to log in (OAuth2UnauthAction
 * auto)? Yes for GET and HEAD with Sec-Fetch-Mode "navigate", or without
 * Sec-Fetch headers when Accept allows HTML (or is absent) and the request
 * does not say X-Requested-With. Everything else (scripts, APIs, other
 * methods, cors and no-cors fetches) is not. Reads the method and the
 * headers only.
 */
int oauth2_request_is_navigation(const oauth2_request_t *req);

/**
 * Is name a request header that carries identity to the backend (SPEC
 * "What the backend receives"): X-Forwarded-User, -Email, -Groups,
 * -Preferred-Username, -Access-Token or OAuth2-Claim-*, in any case and
 * with '_' for '-'? A client's copies are removed on every request.
 */
int oauth2_request_identity_header(const char *name);

/**
 * A Connection header value without the names of identity headers, so a
 * client cannot have a proxy drop the module's own headers as hop-by-hop
 * ones. A proxy may end a name at ',', spaces, ';' or quotes (httpd's
 * mod_proxy reads names with ap_get_token, which stops at ';'): whatever
 * its way, a name it finds is a run of token characters (RFC 9110 §5.6.2),
 * so when any run names one of ours, the value keeps only the runs that
 * do not, joined with ", " (hop-by-hop options are the client's to lose).
 * @return NULL when conn names none of ours (keep it as it is), else the
 *         new value from p ("" when nothing is left)
 */
const char *oauth2_request_connection_strip(apr_pool_t *p, const char *conn);

#endif /* OAUTH2_REQUEST_H */
