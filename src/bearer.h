/*
 * bearer.h: JWT access tokens presented as `Authorization: Bearer`
 * (RFC 6750, RFC 9068), for API clients of a place with
 * OAuth2AcceptBearer On. Verified with the same JWS verifier and provider
 * keys as ID tokens.
 */
#ifndef OAUTH2_BEARER_H
#define OAUTH2_BEARER_H

#include <apr_pools.h>
#include <apr_time.h>

#include "claims.h"
#include "metadata.h"

/**
 * Extracts the token of an Authorization header value: "Bearer" (any
 * case), one or more spaces, then a b64token (RFC 6750 §2.1) with nothing
 * after it. Returns the token (pointing into header) or NULL.
 */
const char *oauth2_bearer_token(const char *header);

/**
 * What follows "Bearer" (any case) and its spaces in an Authorization
 * header value, unchecked: the bytes oauth2_bearer_token would check.
 * NULL when the value does not start with "Bearer ".
 */
const char *oauth2_bearer_raw(const char *header);

/** What a place expects of its bearer tokens. */
typedef struct {
    const char *audience;  /* OAuth2BearerAudience (required) */
    const char *client_id; /* OAuth2ClientID: its ID tokens are refused */
    int allow_untyped;     /* OAuth2BearerAllowUntyped */
    apr_interval_time_t skew;
} oauth2_bearer_expect_t;

/**
 * Verifies a bearer JWT: its signature with the provider's keys, then iss
 * (the provider's issuer), aud (must contain the audience), exp
 * (required), nbf and iat with skew, and that it is an access token: typ
 * at+jwt, or untyped where allowed and not shaped like an ID or logout
 * token (oauth2_claims_check_typ).
 * @return APR_SUCCESS with *claims; the errors of oauth2_jose_jws_parse,
 *         oauth2_provider_verify, oauth2_claims_validate and
 *         oauth2_claims_check_typ
 */
apr_status_t oauth2_bearer_verify(apr_pool_t *p, oauth2_provider_t *prov,
                                  const char *token,
                                  const oauth2_bearer_expect_t *e,
                                  apr_time_t now, oauth2_claims_t **claims,
                                  const char **err);

#endif /* OAUTH2_BEARER_H */
