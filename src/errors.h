/*
 * errors.h: the status codes every engine function returns.
 *
 * Engine functions return apr_status_t: APR_SUCCESS, an APR code from a
 * system call (APR_ENOMEM, APR_TIMEUP, ...), or one of the module codes
 * below, which start at APR_OS_START_USERERR so that they never collide
 * with APR's own. On failure a function also sets `const char **err` to a
 * short reason allocated from the pool it was given; the glue logs that
 * reason once and maps the code to an HTTP status in one place
 * (auth_oauth2_http_status() in mod_auth_oauth2.c).
 */
#ifndef OAUTH2_ERRORS_H
#define OAUTH2_ERRORS_H

#include <apr_errno.h>

enum {
    /* Input that does not parse: bad base64, bad JSON, wrong shape. */
    OAUTH2_EMALFORMED = APR_OS_START_USERERR + 1,
    /* Input larger than its named limit in bounds.h. */
    OAUTH2_ETOOBIG,
    /* A MAC, GCM tag or signature does not verify. */
    OAUTH2_EBADSIG,
    /* Something valid once, and no longer: exp, session, state. */
    OAUTH2_EEXPIRED,
    /* Not valid yet: nbf or iat in the future beyond the clock skew. */
    OAUTH2_ENOTYET,
    /* A claim or parameter with the wrong value: iss, aud, nonce, state. */
    OAUTH2_EMISMATCH,
    /* Refused by policy: alg none, HMAC with a public key, bad redirect. */
    OAUTH2_EREFUSED,
    /* Used before: a replayed state, jti or code. */
    OAUTH2_EREPLAY,
    /* No such key, session or cookie. */
    OAUTH2_ENOTFOUND,
    /* The provider answered with an error or something unusable. */
    OAUTH2_EUPSTREAM,
    /* The provider could not be reached or did not answer in time. */
    OAUTH2_EUNREACHABLE,
    /* The session store failed or is unreachable. */
    OAUTH2_ESTORE,
    /* A cryptographic library call failed (not a verification failure). */
    OAUTH2_ECRYPTO,
    /* The configuration does not allow this (missing endpoint, ...). */
    OAUTH2_ECONFIG,
    /* A bounded resource is full (store, chunk pool). */
    OAUTH2_EFULL,
    /* Another process or thread holds the work (refresh in progress). */
    OAUTH2_EBUSY
};

/**
 * A short, constant name for a status: "OAUTH2_EBADSIG", "APR_ENOMEM", or
 * "apr_status_t N" for anything else. Never NULL; never allocates.
 */
const char *oauth2_strerror(apr_status_t rv);

#endif /* OAUTH2_ERRORS_H */
