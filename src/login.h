/*
 * login.h: the OAuth 2.0 authorization code flow with PKCE as an OpenID
 * Connect relying party (RFC 6749 §4.1, RFC 7636, OpenID Connect Core
 * §3.1, RFC 9700): the authorization request, the token request, the
 * verification of the ID token, userinfo, and refreshing tokens.
 *
 * This file knows nothing about cookies or Apache: it turns a state and a
 * code into verified claims and tokens; sessions.c turns those into a
 * session and a cookie.
 */
#ifndef OAUTH2_LOGIN_H
#define OAUTH2_LOGIN_H

#include <apr_pools.h>
#include <apr_time.h>

#include "claims.h"
#include "config.h"
#include "metadata.h"
#include "request.h"
#include "state.h"

/** What a finished login (or refresh) produced. */
typedef struct {
    oauth2_claims_t *claims; /* ID token claims + userinfo claims */
    const char *access_token;
    const char *refresh_token; /* NULL when none was issued */
    const char *id_token;      /* NULL for plain OAuth 2.0 */
    apr_time_t access_expires; /* 0 when the provider did not say */
    /* From provider APIs (groups.c), for the session; NULL when none. */
    apr_array_header_t *api_groups; /* Google groups */
    apr_array_header_t *resources;  /* oauth2_session_resource_t */
} oauth2_login_result_t;

/** The client: who we are to the provider. */
typedef struct {
    const oauth2_cfg_t *cfg; /* client id, secret, auth method, scope */
    oauth2_provider_t *prov;
    const oauth2_http_opts_t *http;
    const char *redirect_uri; /* the callback URL for this request */
    oauth2_request_t *req;    /* whose log tells the story (debug and
                                 trace levels), or NULL */
} oauth2_client_t;

/**
 * The authorization request URL (RFC 6749 §4.1.1 with PKCE S256, state,
 * nonce, and OAuth2AuthParams), from p.
 */
const char *oauth2_login_authorize_url(apr_pool_t *p, const oauth2_client_t *cl,
                                       const oauth2_endpoints_t *ep,
                                       const oauth2_state_t *st);

/**
 * Redeems code at the token endpoint (with the PKCE verifier and the
 * client's authentication), verifies the ID token (signature, then
 * iss, aud, azp, exp, iat, nbf, nonce against st) and adds the userinfo
 * claims when the provider has a userinfo endpoint (its sub must equal
 * the ID token's). Without an ID token (plain OAuth 2.0) the userinfo
 * endpoint supplies the claims.
 * @return APR_SUCCESS; OAUTH2_EREPLAY (the token endpoint refused the
 *         grant: invalid_grant, GitHub's bad_verification_code — a code
 *         used twice or expired); OAUTH2_EUPSTREAM (another error or an
 *         unusable response from the provider); OAUTH2_EUNREACHABLE;
 *         OAUTH2_ETOOBIG;
 *         OAUTH2_EBADSIG, OAUTH2_EREFUSED, OAUTH2_ENOTFOUND (ID token
 *         signature); OAUTH2_EMISMATCH, OAUTH2_EEXPIRED, OAUTH2_ENOTYET
 *         (ID token claims). *err says what, never with a token or code.
 */
apr_status_t oauth2_login_redeem(apr_pool_t *p, const oauth2_client_t *cl,
                                 const oauth2_endpoints_t *ep,
                                 const oauth2_state_t *st, const char *code,
                                 apr_time_t now, oauth2_login_result_t **res,
                                 const char **err);

/**
 * Uses a refresh token (RFC 6749 §6). A new ID token, when returned, is
 * verified like a login's (without nonce) and its sub must equal sub.
 * @return as oauth2_login_redeem
 */
apr_status_t oauth2_login_refresh(apr_pool_t *p, const oauth2_client_t *cl,
                                  const oauth2_endpoints_t *ep,
                                  const char *refresh_token, const char *sub,
                                  apr_time_t now, oauth2_login_result_t **res,
                                  const char **err);

/**
 * Verifies a JWT of the provider: a compact JWS no longer than
 * OAUTH2_MAX_JWT, signed with one of the provider's keys (oauth2_provider_
 * verify), whose claims pass oauth2_claims_validate against x (x->now is
 * the clock). The one verifier of ID tokens, logout tokens and bearer
 * access tokens.
 * @return the errors of the three steps; *err says which
 */
apr_status_t oauth2_login_verify_jwt(apr_pool_t *p, oauth2_provider_t *prov,
                                     const char *token,
                                     const oauth2_claims_expect_t *x,
                                     oauth2_claims_t **claims,
                                     const char **err);

/** What a verification saw, for the debug log. */
typedef struct {
    const char *alg;            /* the JWS header's */
    const char *kid;            /* NULL: none */
    oauth2_provider_use_t jwks; /* how the keys were got */
} oauth2_login_seen_t;

/** oauth2_login_verify_jwt, telling *seen (may be NULL) what it saw. */
apr_status_t
oauth2_login_verify_jwt_seen(apr_pool_t *p, oauth2_provider_t *prov,
                             const char *token, const oauth2_claims_expect_t *x,
                             oauth2_claims_t **claims, const char **err,
                             oauth2_login_seen_t *seen);

/**
 * Verifies a back-channel logout token (OpenID Connect Back-Channel Logout
 * 1.0 §2.6): signature with the provider's keys, then iss, aud (our client
 * id), iat, jti, the back-channel-logout event, sid or sub, no nonce.
 * Replay of its jti is the caller's check.
 * @return as oauth2_claims_validate, plus the signature errors
 */
apr_status_t oauth2_login_verify_logout_token(apr_pool_t *p,
                                              const oauth2_client_t *cl,
                                              const char *token, apr_time_t now,
                                              oauth2_claims_t **claims,
                                              const char **err);

#endif /* OAUTH2_LOGIN_H */
