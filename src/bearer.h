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
 * Verifies a bearer JWT: its signature with the provider's keys, then iss
 * (the provider's issuer), aud (must contain audience), exp (required),
 * nbf and iat with skew.
 * @return APR_SUCCESS with *claims; the errors of oauth2_jose_jws_parse,
 *         oauth2_provider_verify and oauth2_claims_validate
 */
apr_status_t oauth2_bearer_verify(apr_pool_t *p, oauth2_provider_t *prov,
                                  const char *token, const char *audience,
                                  apr_time_t now, apr_interval_time_t skew,
                                  oauth2_claims_t **claims, const char **err);

#endif /* OAUTH2_BEARER_H */
