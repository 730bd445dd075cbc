/*
 * google.h: Google Workspace groups through the Admin SDK Directory API,
 * the way Google documents server-to-server calls ("Using OAuth 2.0 for
 * Server to Server Applications"): the module holds a service account key;
 * it signs a JWT assertion (RS256) saying that the service account acts
 * as a Workspace administrator (domain-wide delegation) with the one
 * scope OAUTH2_GOOGLE_SCOPE, and exchanges it at the key's token_uri for
 * an access token (RFC 7523 §2.1 JWT bearer grant). With that token it
 * reads, for the address Google verified at login:
 *
 *   GET DIR/admin/directory/v1/groups?userKey=EMAIL&maxResults=200
 *       the groups the user is a direct member of (pageToken paging);
 *   GET DIR/admin/directory/v1/groups/GROUP/hasMember/EMAIL
 *       for each group the configuration names that the list lacks:
 *       membership through nested groups, as Google counts it;
 *   GET DIR/admin/directory/v1/groups/GROUP/members/EMAIL
 *       when hasMember answers "Invalid Input" (an address outside the
 *       group's domain, whose nesting Google does not resolve): direct
 *       membership, counted when the member is ACTIVE.
 *
 * The access token is cached in a store (the session store: shared by
 * every process of the server, or by every host with a socache store)
 * for its lifetime, and one exchange runs at a time: an oauth2_store_add
 * marker is the lock, as for refreshing a session.
 */
#ifndef OAUTH2_GOOGLE_H
#define OAUTH2_GOOGLE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "http.h"
#include "store.h"

/* The one scope the service account needs (Admin SDK Directory API,
 * groups.list and members.hasMember "Authorization scopes"). */
#define OAUTH2_GOOGLE_SCOPE \
    "https://www.googleapis.com/auth/admin.directory.group.readonly"
/* Admin SDK Directory API, "Service endpoint". */
#define OAUTH2_GOOGLE_DIRECTORY "https://admin.googleapis.com"
/* An assertion lives one hour at most (Google: "a maximum of 1 hour
 * after the issued time"). */
#define OAUTH2_GOOGLE_ASSERTION_TTL 3600

/** A parsed service account key (read-only once parsed). */
typedef struct oauth2_google_sa_t oauth2_google_sa_t;

/**
 * Parses the JSON key file Google issues for a service account: "type"
 * "service_account", "client_email", "private_key" (PEM, RSA of at least
 * 2048 bits), "token_uri" (http or https), and the optional
 * "private_key_id" (sent as the assertion's kid) and "client_id" (named
 * in messages: domain-wide delegation is granted to it).
 * @param p the key and its EVP_PKEY live as long as p
 * @return APR_SUCCESS or OAUTH2_EMALFORMED (*err says what is wrong)
 */
apr_status_t oauth2_google_sa_parse(apr_pool_t *p, const char *json,
                                    apr_size_t len, oauth2_google_sa_t **sa,
                                    const char **err);

/** The service account's address (client_email). */
const char *oauth2_google_sa_email(const oauth2_google_sa_t *sa);

/** Where assertions are exchanged (token_uri), which is also their aud. */
const char *oauth2_google_sa_token_uri(const oauth2_google_sa_t *sa);

/**
 * The signed JWT assertion (RFC 7523 §3): header alg RS256, typ JWT, kid
 * the key id; claims iss the service account, sub admin, scope
 * OAUTH2_GOOGLE_SCOPE, aud the token_uri, iat now, exp now + one hour.
 * @return APR_SUCCESS or OAUTH2_ECRYPTO
 */
apr_status_t oauth2_google_assertion(apr_pool_t *p,
                                     const oauth2_google_sa_t *sa,
                                     const char *admin, apr_time_t now,
                                     char **jwt, const char **err);

/** Everything a Directory API call needs (plain values; the glue fills
 * it at startup through groups.c). */
typedef struct {
    const oauth2_google_sa_t *sa;
    const char *admin;     /* OAuth2GoogleAdminEmail */
    const char *directory; /* API base, OAUTH2_GOOGLE_DIRECTORY or the
                              OAuth2Endpoint google_directory override */
    const oauth2_http_opts_t *http;
    const oauth2_store_t *store; /* token cache and lock; NULL: none */
} oauth2_google_t;

/**
 * An access token for the Directory API: the cached one, or a new one
 * from the token endpoint (cached until a minute before it expires). When
 * another process holds the exchange, waits for its token (at most the
 * HTTP timeout and two seconds), polling the store.
 * @return APR_SUCCESS; OAUTH2_EUPSTREAM (the token endpoint refused: its
 *         error and description in *err, e.g. unauthorized_client when
 *         domain-wide delegation is missing, invalid_grant for a key or
 *         clock Google refuses); OAUTH2_EUNREACHABLE; OAUTH2_ETOOBIG;
 *         OAUTH2_EBUSY (no token arrived while waiting); OAUTH2_ECRYPTO
 */
apr_status_t oauth2_google_token(apr_pool_t *p, const oauth2_google_t *g,
                                 apr_time_t now, const char **token,
                                 const char **err);

/**
 * The groups of the user with address email (lower case, from p): the
 * direct ones (every page, at most OAUTH2_MAX_PAGES and OAUTH2_MAX_GROUPS),
 * and those of named (group addresses of the configuration) the user is a
 * member of through nesting. A user the directory does not know (404)
 * has no direct groups. Fails closed: any other error refuses.
 * @return APR_SUCCESS; OAUTH2_EUPSTREAM (HTTP 401, 403 "Not Authorized to
 *         access this resource/api", 403/429 rate limits, any unexpected
 *         status or answer: *err names the call, Google's reason and
 *         message); OAUTH2_ETOOBIG (pages or groups over the limits); the
 *         errors of oauth2_google_token
 */
apr_status_t oauth2_google_groups(apr_pool_t *p, const oauth2_google_t *g,
                                  const char *email,
                                  const apr_array_header_t *named,
                                  apr_time_t now, apr_array_header_t **groups,
                                  const char **err);

#endif /* OAUTH2_GOOGLE_H */
