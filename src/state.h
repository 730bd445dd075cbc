/*
 * state.h: the login state of one authorization request (RFC 6749 §10.12,
 * RFC 9700 §2.1, OpenID Connect Core §3.1.2.1): the `state` value sent to
 * the provider, the nonce, the PKCE code verifier (RFC 7636) and the URL
 * to return to, sealed into a short-lived cookie of its own.
 *
 * One cookie per login (its name carries the state value) lets several
 * logins run in parallel tabs; the cookie only exists in the browser that
 * started the login, which binds the callback to it (login CSRF). That a
 * state is used only once is the caller's business (a replay marker in the
 * session store, keyed by a hash of the state).
 */
#ifndef OAUTH2_STATE_H
#define OAUTH2_STATE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "cookie.h"
#include "seal.h"

/** One login in progress. All strings are base64url or a validated URL. */
typedef struct {
    const char *state;     /* 128 random bits */
    const char *nonce;     /* 128 random bits */
    const char *verifier;  /* PKCE code_verifier: 256 random bits, 43 chars */
    const char *challenge; /* BASE64URL(SHA256(verifier)), RFC 7636 §4.2 */
    const char *return_to; /* where to go after login (already validated) */
    int retry;             /* 1: this login restarts one whose code the
                              provider refused (never restarted again) */
    apr_time_t created;
} oauth2_state_t;

/**
 * A fresh state for a login that returns to return_to.
 * @return APR_SUCCESS or OAUTH2_ECRYPTO
 */
apr_status_t oauth2_state_create(apr_pool_t *p, const char *return_to,
                                 apr_time_t now, oauth2_state_t **st);

/** The cookie name for a state value (from p). */
const char *oauth2_state_cookie_name(apr_pool_t *p, const char *state);

/**
 * Seals st for its cookie (the cookie name is the associated data).
 * @return APR_SUCCESS or OAUTH2_ECRYPTO
 */
apr_status_t oauth2_state_seal(apr_pool_t *p, const oauth2_seal_t *seal,
                               const oauth2_state_t *st, char **value,
                               const char **err);

/**
 * Opens the cookie value that came with the callback whose `state`
 * parameter is state_param, and checks it: it opens under the cookie name
 * derived from state_param, the state inside equals state_param (constant
 * time), it was created within lifetime seconds before now (and not after
 * now plus skew).
 * @return APR_SUCCESS with *st; OAUTH2_EMALFORMED, OAUTH2_ETOOBIG,
 *         OAUTH2_EBADSIG (tampered, other key, other name),
 *         OAUTH2_EMISMATCH (other state), OAUTH2_EEXPIRED
 */
apr_status_t oauth2_state_open(apr_pool_t *p, const oauth2_seal_t *seal,
                               const char *value, apr_size_t len,
                               const char *state_param, apr_time_t now,
                               apr_interval_time_t lifetime,
                               oauth2_state_t **st, const char **err);

#endif /* OAUTH2_STATE_H */
