/*
 * http.h: outgoing HTTP calls to the provider (discovery, JWKS, token,
 * userinfo, provider APIs) with libcurl, bounded in size and time.
 *
 * Every call: TLS verification on (OAuth2CAFile may name the CA bundle),
 * http and https only, no redirects followed, connect and total timeouts,
 * the response body and headers capped (OAUTH2_ETOOBIG beyond), no signal
 * handlers (safe in threaded MPMs). The engine calls these; nothing here
 * logs. Every call counts in the server's metrics (metrics.h) under the
 * endpoint its options name, with its outcome and duration.
 */
#ifndef OAUTH2_HTTP_H
#define OAUTH2_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "metrics.h"

/** How to make calls; lives in the server configuration. */
typedef struct {
    long timeout_ms;         /* whole call, connect included */
    long connect_timeout_ms; /* TCP + TLS handshake */
    const char *ca_file;     /* CA bundle, or NULL for the system default */
    apr_size_t max_body;     /* response body cap (bytes) */
    const char *user_agent;  /* User-Agent header */
    oauth2_call_e call;      /* the endpoint, for the metrics (a caller
                                sets it in its copy) */
} oauth2_http_opts_t;

/** A response. Header names are as sent (look up case-insensitively). */
typedef struct {
    long status;      /* HTTP status */
    const char *body; /* NUL-terminated copy of the body */
    apr_size_t body_len;
    apr_table_t *headers;     /* response headers (last response only) */
    apr_interval_time_t took; /* how long the call took */
} oauth2_http_response_t;

/** A copy of o whose calls count under the endpoint call (metrics.h). */
oauth2_http_opts_t oauth2_http_for(const oauth2_http_opts_t *o,
                                   oauth2_call_e call);

/**
 * One-time libcurl initialization; call during single-threaded startup.
 * @return APR_SUCCESS or APR_EGENERAL
 */
apr_status_t oauth2_http_init(void);

/**
 * Makes a request. body == NULL makes a GET, otherwise a POST of body with
 * content_type. headers (may be NULL) are added as given ("Name: value").
 * @return APR_SUCCESS whenever an HTTP response arrived, whatever its
 *         status; OAUTH2_EUNREACHABLE (connect failure, DNS, TLS, timeout);
 *         OAUTH2_ETOOBIG (body or headers over their caps);
 *         OAUTH2_EMALFORMED (bad URL or scheme). *err says what, from p;
 *         it never contains the request body.
 */
apr_status_t oauth2_http_call(apr_pool_t *p, const oauth2_http_opts_t *opts,
                              const char *url,
                              const apr_array_header_t *headers,
                              const char *body, const char *content_type,
                              oauth2_http_response_t **resp, const char **err);

/**
 * application/x-www-form-urlencoded encoding of one name or value
 * (RFC 6749 Appendix B), from p.
 */
char *oauth2_http_form_encode(apr_pool_t *p, const char *s);

/**
 * Percent-encodes s for a URL query component (RFC 3986 unreserved kept).
 */
char *oauth2_http_url_encode(apr_pool_t *p, const char *s);

/**
 * 1 when t can go into an Authorization header as a bearer token: not
 * empty, at most OAUTH2_MAX_JWT bytes, printable ASCII without spaces
 * (RFC 6750 §2.1 b64token characters and their kin; never CR or LF).
 */
int oauth2_http_token_ok(const char *t);

#endif /* OAUTH2_HTTP_H */
