/*
 * response.h: what the engine answers a request with, for the glue to
 * apply in one place (liboauth2's oauth2_http_response_t in spirit): a
 * status, or "carry on" with a user for an authenticated request; the
 * headers and cookies to set; a redirect; a page of the module's (one
 * template, every value escaped) or another body. The engine never writes
 * to a request; the glue never decides what to answer.
 *
 * A response is small enough to live on the glue's stack: zero it, hand
 * it to the engine, apply it. Strings and the cookie list come from the
 * request's pool.
 */
#ifndef OAUTH2_RESPONSE_H
#define OAUTH2_RESPONSE_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "errors.h"
#include "page.h"
#include "session.h"

/** What the glue does with a response. */
typedef enum {
    /* Not the engine's: the server goes on as if it had not asked. */
    OAUTH2_RESPONSE_DECLINE = 0,
    /* The request goes on, as `user` (authenticated, or let through
     * anonymously with user ""), with `identity` for the backend. */
    OAUTH2_RESPONSE_CONTINUE,
    /* `status` through the server's error response (redirects, and the
     * errors of hooks); `page`, when set, replaces its body unless the
     * site has an ErrorDocument for the status. */
    OAUTH2_RESPONSE_STATUS,
    /* `status` with a body of the engine's: `page`, or `body` of
     * `content_type`. */
    OAUTH2_RESPONSE_BODY
} oauth2_response_kind_e;

/** A page of the module's own: the values of its template (page.h). */
typedef struct {
    int status;
    oauth2_page_kind_e kind; /* its template */
    const char *title;
    const char *message;
    const char *reason; /* a short stable word, or NULL */
    const char *user;   /* the logged-in user, or NULL */
    const char *link;   /* "Try again", "Sign in again": NULL none */
    const char *logout; /* "Log out": NULL none */
    /* The choose page: a sign-in link per provider (label, then URL:
     * const char * pairs), or NULL. */
    const apr_array_header_t *choices;
} oauth2_page_t;

/* What a page's response carries besides its body. The policy lets a
 * site's own template (OAuth2Page) use inline style and this site's
 * images, styles and fonts; no script, no other origin. */
#define OAUTH2_PAGE_CONTENT_TYPE "text/html; charset=utf-8"
#define OAUTH2_PAGE_CSP                                                     \
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' " \
    "data:; font-src 'self'; base-uri 'none'; form-action 'self'; "         \
    "frame-ancestors "
/* No page of the module's may be framed (clickjacking of "Log out"), but
 * the front-channel logout page by the provider's origin. */
#define OAUTH2_PAGE_FRAME_NONE "'none'"

/* Bits of oauth2_response_t.pass: OAUTH2_PASS_HEADERS and OAUTH2_PASS_ENV
 * (config.h, OAuth2PassClaims), and the access token header. */
#define OAUTH2_PASS_TOKEN 4

/** The identity headers a backend receives, in order, with the session
 * field each carries (the user always; the others when not empty; the
 * access token with OAUTH2_PASS_TOKEN). */
typedef struct {
    const char *name;
    oauth2_session_field_e field;
} oauth2_identity_header_t;

#define OAUTH2_IDENTITY_HEADERS 5
extern const oauth2_identity_header_t
    oauth2_identity_headers[OAUTH2_IDENTITY_HEADERS];

/** The response. Zero it before use (kind DECLINE). */
typedef struct {
    oauth2_response_kind_e kind;
    int status;                   /* HTTP status (STATUS, BODY) */
    const char *location;         /* Location (redirects) */
    int no_store;                 /* Cache-Control: no-store */
    const char *www_authenticate; /* WWW-Authenticate */
    const char *allow;            /* the method an endpoint allows (405) */
    apr_array_header_t *cookies;  /* Set-Cookie values (const char *) */
    const oauth2_page_t *page;    /* STATUS, BODY: the module's page */
    const char *frame_ancestors;  /* the origin that may frame the page
                                     (NULL: none may) */
    const char *content_type;     /* BODY without a page */
    const char *body;
    apr_size_t body_len;
    int redact_query; /* the request line carries a code and a state:
                         the access log gets it redacted */
    /* CONTINUE */
    const char *user;                 /* REMOTE_USER ("" anonymous) */
    const oauth2_session_t *identity; /* for the backend, or NULL */
    int pass;                         /* OAUTH2_PASS_* bits */
    const char *groups_claim;  /* its names written as the groups header's
                                  (OAuth2GroupsClaim), or NULL */
    const char *cookie_in;     /* the Cookie header for the backend without
                                  the module's cookies ("": none left;
                                  NULL: leave it) */
    const char *cookie_in_was; /* the header value it replaces */
} oauth2_response_t;

/**
 * Answers with a row of the answer table (errors.h): its status and how it
 * is shown; message NULL takes the row's own, link NULL shows none. A
 * JSON row's body is its message. Pages and bodies are not to be cached;
 * a bare status leaves caching to the server.
 */
void oauth2_response_answer(oauth2_response_t *resp, apr_pool_t *p,
                            oauth2_answer_e a, const char *message,
                            const char *link);

/** The page of a row of the answer table (from p); message NULL takes
 * the row's own. */
const oauth2_page_t *oauth2_response_page(apr_pool_t *p, oauth2_answer_e a,
                                          const char *message,
                                          const char *link);

/** status with the module's page pg as its body (not to be cached). */
void oauth2_response_page_body(oauth2_response_t *resp,
                               const oauth2_page_t *pg);

/** A 302 to location, not to be cached. */
void oauth2_response_redirect(oauth2_response_t *resp, const char *location);

/** status with body of content_type (not to be cached). */
void oauth2_response_body(oauth2_response_t *resp, int status,
                          const char *content_type, const char *body);

/** Adds a Set-Cookie value (oauth2_cookie_set_header's). */
void oauth2_response_cookie(oauth2_response_t *resp, apr_pool_t *p,
                            const char *set_cookie);

/**
 * The page as HTML (from p): the template of its kind from set (the
 * site's, OAUTH2_PAGE_COUNT entries, see oauth2_cfg_t.pages; NULL or a
 * NULL entry: the built-in one), every value escaped as oauth2_html_escape
 * does; request_id (mod_unique_id's, or NULL) is {{request_id}}.
 */
const char *oauth2_page_html(apr_pool_t *p, const oauth2_page_t *pg,
                             const oauth2_page_tpl_t *const *set,
                             const char *request_id);

/**
 * s with <, >, &, " and ' as entities and every byte outside ASCII as a
 * numeric reference ("&#195;"), from p (the escaping of httpd's
 * ap_escape_html2 with toasc, and ' for a site's templates that quote
 * attributes with it).
 */
const char *oauth2_html_escape(apr_pool_t *p, const char *s);

/**
 * The name a claim is passed under: "OAuth2-Claim-<path>" (env 0) with
 * anything but letters, digits, '-', '.' and '_' turned into '_', or
 * "OAUTH2_CLAIM_<path>" (env 1) with anything but letters, digits and '_'
 * turned into '_'. From p.
 */
const char *oauth2_response_claim_name(apr_pool_t *p, const char *path,
                                       int env);

/**
 * The claims of s as a backend receives them (OAuth2PassClaims), in a table
 * from p: names as oauth2_response_claim_name gives them (env 0: headers,
 * 1: variables); the elements of an array joined with ',' (as
 * X-Forwarded-Groups; two claims that get the same name are joined too);
 * the values of groups_claim written as oauth2_session_group_text writes
 * group names; empty values left out, so an absent value is no header
 * rather than an empty one.
 */
apr_table_t *oauth2_response_claims(apr_pool_t *p, const oauth2_session_t *s,
                                    const char *groups_claim, int env);

#endif /* OAUTH2_RESPONSE_H */
