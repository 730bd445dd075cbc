/*
 * claims.h: JSON claim sets (the payload of a JWT, a userinfo response):
 * parsing with bounds, dotted-path lookup, a walk over every leaf, and
 * the checks that OpenID Connect and RFC 9068 / RFC 7519 ask of ID tokens,
 * access tokens and logout tokens.
 *
 * Signatures are jose.c's business; this file trusts nothing it reads.
 */
#ifndef OAUTH2_CLAIMS_H
#define OAUTH2_CLAIMS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <json-c/json.h>

/** A parsed claim set: a JSON object owned by a pool (json_object_put
 * runs in the pool's cleanup). Used by one thread at a time: json-c caches
 * the printed text of numbers inside the object. */
typedef struct oauth2_claims_t oauth2_claims_t;

/**
 * Parses len bytes of JSON text that must be an object, nested no deeper
 * than OAUTH2_MAX_JSON_DEPTH (the top-level object counts as one level),
 * with no NUL byte, valid UTF-8, and nothing but whitespace after it.
 * @return APR_SUCCESS, OAUTH2_EMALFORMED (too deep included),
 *         OAUTH2_ETOOBIG (> len limit the caller passes as max); *err on
 *         failure (a constant or from p)
 */
apr_status_t oauth2_claims_parse(apr_pool_t *p, const char *json,
                                 apr_size_t len, apr_size_t max,
                                 oauth2_claims_t **claims, const char **err);

/** The underlying JSON object (owned by the claim set; do not put it). */
json_object *oauth2_claims_json(const oauth2_claims_t *claims);

/**
 * Looks up a claim by path. The whole path is first tried as one member
 * name (so namespaced claims such as "https://example.com/groups" work);
 * otherwise it is split on '.' (at most OAUTH2_MAX_CLAIM_SEGMENTS segments,
 * at most OAUTH2_MAX_CLAIM_PATH bytes) and each segment is a member of the
 * object before it: "realm_access.roles", "resource_access.app.roles".
 * @return the JSON value, or NULL when absent or path is NULL/invalid
 */
json_object *oauth2_claims_get(const oauth2_claims_t *claims, const char *path);

/** The claim at path when it is a JSON string, else NULL (also NULL when
 * the string holds a NUL byte, which would cut it short as a C string). */
const char *oauth2_claims_get_string(const oauth2_claims_t *claims,
                                     const char *path);

/**
 * The claim at path as a list of strings (const char *), allocated from p:
 * a string gives itself; a number or boolean its JSON text ("42", "true");
 * an array one entry per element of those kinds (nested arrays, objects
 * and nulls are skipped, as are strings holding a NUL byte). Absent
 * claims, nulls and objects give an empty array; p == NULL gives NULL.
 */
apr_array_header_t *oauth2_claims_get_values(apr_pool_t *p,
                                             const oauth2_claims_t *claims,
                                             const char *path);

/**
 * Adds every member of `from` that `into` does not have (used to merge a
 * userinfo response into the ID token's claims; ID token members win).
 */
void oauth2_claims_merge(oauth2_claims_t *into, const oauth2_claims_t *from);

/**
 * Callback of oauth2_claims_walk: one scalar leaf. path is dotted
 * ("address.country"), value its text as in oauth2_claims_get_values.
 * Return non-zero to stop the walk.
 */
typedef int (*oauth2_claims_leaf_fn)(void *ctx, const char *path,
                                     const char *value, apr_size_t len);

/**
 * Visits every scalar leaf of the claim set, depth-first in member order,
 * down to OAUTH2_MAX_CLAIM_SEGMENTS levels; array elements are visited
 * under their array's path. Leaves are those of oauth2_claims_get_values
 * (nulls skipped); members with an empty name, or whose path would be
 * longer than OAUTH2_MAX_CLAIM_PATH, are skipped. path and value are valid
 * during the callback only. Nothing is allocated from p at present (it
 * must not be NULL).
 */
void oauth2_claims_walk(apr_pool_t *p, const oauth2_claims_t *claims,
                        oauth2_claims_leaf_fn fn, void *ctx);

/** What a token is, which decides the rules of oauth2_claims_validate. */
typedef enum {
    /* OpenID Connect Core §3.1.3.7: iss, aud (+azp), exp, iat, nonce, sub. */
    OAUTH2_TOKEN_ID,
    /* An ID token returned by a refresh (OIDC Core §12.2): as an ID
     * token, without the nonce check. */
    OAUTH2_TOKEN_ID_REFRESHED,
    /* A JWT access token presented as a bearer token (RFC 9068 §4):
     * iss, aud, exp required; nbf and iat checked when present. */
    OAUTH2_TOKEN_ACCESS,
    /* OpenID Connect Back-Channel Logout 1.0 §2.6: iss, aud, iat, jti,
     * events with the back-channel-logout member, sid or sub, no nonce. */
    OAUTH2_TOKEN_LOGOUT
} oauth2_token_kind_e;

/** The expected values for oauth2_claims_validate. */
typedef struct {
    oauth2_token_kind_e kind;
    const char *issuer;   /* exact match with "iss" (required) */
    const char *audience; /* must be "aud" or one element of it (required) */
    const char *nonce;    /* ID tokens: must equal "nonce" (required) */
    apr_time_t now;       /* the clock, passed in for testability */
    apr_interval_time_t skew; /* allowed clock difference */
    /* Access tokens: also accept untyped ones (no typ, or "JWT") that do
     * not look like an ID or logout token (OAuth2BearerAllowUntyped). */
    int allow_untyped;
    /* Access tokens: our client id, when it is not the audience: a token
     * addressed to it is the client's ID token, not an access token. */
    const char *client_id;
} oauth2_claims_expect_t;

/**
 * Checks the registered claims of a token against x. Numeric dates must be
 * JSON numbers (integers or reals), within a sane range.
 * @return APR_SUCCESS;
 *         OAUTH2_EMISMATCH for a wrong iss, aud, azp or nonce, a missing
 *         required claim, or a logout token without its event or with a
 *         nonce;
 *         OAUTH2_EEXPIRED when exp <= now - skew;
 *         OAUTH2_ENOTYET when nbf or iat > now + skew;
 *         OAUTH2_EMALFORMED when a claim has the wrong JSON type (sub,
 *         jti, sid present but empty included), or claims/x is NULL;
 *         OAUTH2_ECONFIG when x has no (or an empty) issuer or audience,
 *         or a skew outside [0, OAUTH2_MAX_CLOCK_SKEW seconds].
 *         An ID token checked without x->nonce (NULL or empty) is
 *         OAUTH2_EMISMATCH.
 *         *err (from p) says which claim.
 */
apr_status_t oauth2_claims_validate(apr_pool_t *p,
                                    const oauth2_claims_t *claims,
                                    const oauth2_claims_expect_t *x,
                                    const char **err);

/**
 * Checks that a token is what x->kind says by its JOSE "typ" header (typ
 * may be NULL) and, where the type is not explicit, by its shape, so that
 * one kind of token never passes for another (RFC 8725 §3.11, RFC 9068
 * §2.1 and §4, Back-Channel Logout §2.4). typ is compared without case
 * and without an "application/" prefix (RFC 7515 §4.1.9).
 * - access tokens: never with a "cnf" claim (sender-constrained: RFC 9449
 *   DPoP, RFC 8705 mTLS; their proof is not checked here); "at+jwt";
 *   untyped ones (no typ or "JWT") only with
 *   x->allow_untyped, and then not with nonce, at_hash, c_hash, s_hash or
 *   events, nor with a "typ" claim other than "Bearer", nor addressed to
 *   x->client_id (when that is set and is not the audience);
 * - ID tokens: no typ or "JWT";
 * - logout tokens: "logout+jwt", or no typ or "JWT".
 * Call it after oauth2_claims_validate.
 * @return APR_SUCCESS, or OAUTH2_EMISMATCH with *err saying why
 */
apr_status_t oauth2_claims_check_typ(apr_pool_t *p,
                                     const oauth2_claims_t *claims,
                                     const char *typ,
                                     const oauth2_claims_expect_t *x,
                                     const char **err);

#endif /* OAUTH2_CLAIMS_H */
