/*
 * headers.h: the edits of a request's header tables, which the glue hands
 * over as they are (request_rec's APR tables): the identity headers a
 * client sent and the module's cookies taken out before anyone reads
 * them; a response put in (the identity for the backend, Set-Cookie,
 * Location, the page's headers). What a response says is the engine's
 * (response.h); these functions only write it.
 */
#ifndef OAUTH2_HEADERS_H
#define OAUTH2_HEADERS_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "response.h"

/** Reports a removal (OA2101, a debug line): msg is the whole line. */
typedef void (*oauth2_headers_log_fn)(void *ctx, const char *msg);

/**
 * Removes from in the identity headers a client sent (any case, '_' for
 * '-': oauth2_request_identity_header) and their names from Connection
 * (oauth2_request_connection_strip), logging each through log. Runs on
 * every request: one pass over in, most headers out at their first byte.
 */
void oauth2_headers_strip_identity(apr_pool_t *p, apr_table_t *in,
                                   oauth2_headers_log_fn log, void *ctx);

/**
 * Removes the cookies of names (const char *: the server's session cookie
 * names, with their chunks and the login states, see oauth2_cookie_strip)
 * from the Cookie header of in, so that no backend receives a session
 * credential. done is a name taken out already (this host's, by
 * authentication), or NULL; with one name on the whole server, that was
 * all.
 */
void oauth2_headers_strip_cookies(apr_pool_t *p, apr_table_t *in,
                                  const apr_array_header_t *names,
                                  const char *done);

/**
 * Puts a CONTINUE response into the request: its Set-Cookie headers
 * (err_out), and for the backend its identity, when it has one: the
 * identity headers that have a value (the access token only where it is
 * passed), the claims as headers (in) and/or variables (env), array
 * elements comma-joined, and the Cookie header without the module's.
 * again: in may hold ours already (an internal redirect shares the
 * headers of the request before it); else the client's copies are gone
 * (oauth2_headers_strip_identity) and adding is enough.
 */
void oauth2_headers_identity(apr_pool_t *p, apr_table_t *in, apr_table_t *env,
                             apr_table_t *err_out,
                             const oauth2_response_t *resp, int again);

/** The headers of any other response: Set-Cookie, Location (out),
 * Cache-Control: no-store and WWW-Authenticate. */
void oauth2_headers_response(const oauth2_response_t *resp, apr_table_t *out,
                             apr_table_t *err_out);

/** What every page of the module's carries besides its body and its type
 * (OAUTH2_PAGE_CONTENT_TYPE): no caching, no sniffing, its CSP, in
 * err_out and nowhere else (out: an error response's headers_out are
 * the err_headers_out of before, ap_send_error_response; said once);
 * frame is the origin that may frame it (NULL: none may). */
void oauth2_headers_page(apr_pool_t *p, apr_table_t *out, apr_table_t *err_out,
                         const char *frame);

#endif /* OAUTH2_HEADERS_H */
