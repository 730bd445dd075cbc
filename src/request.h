/*
 * request.h: the small view of an HTTP request that the engine reads,
 * built once per request by the Apache adapter (src/apache.c) so that no
 * other engine file needs request_rec, and unit tests can make one.
 */
#ifndef OAUTH2_REQUEST_H
#define OAUTH2_REQUEST_H

#include <apr_pools.h>

/** A request as the engine sees it. Strings may be NULL when absent. */
typedef struct {
    const char *method;         /* "GET" */
    int https;                  /* 1 when the client used TLS */
    const char *host;           /* host name, lower-case, no port */
    const char *host_port;      /* host[:port] as the client addressed it */
    const char *uri;            /* path?query as received */
    const char *cookie;         /* Cookie header */
    const char *accept;         /* Accept */
    const char *requested_with; /* X-Requested-With */
    const char *sec_fetch_mode; /* Sec-Fetch-Mode */
    const char *authorization;  /* Authorization */
} oauth2_request_t;

/**
 * Is this a browser navigation that may be sent to log in (OAuth2UnauthAction
 * auto)? Yes for GET and HEAD with Sec-Fetch-Mode "navigate", or without
 * Sec-Fetch headers when Accept allows HTML (or is absent) and the request
 * does not say X-Requested-With. Everything else (scripts, APIs, other
 * methods, cors and no-cors fetches) is not.
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
