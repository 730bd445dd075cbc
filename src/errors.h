/*
 * errors.h: the status codes every engine function returns, and the one
 * table of what the module answers for a failure.
 *
 * Engine functions return apr_status_t: APR_SUCCESS, an APR code from a
 * system call (APR_ENOMEM, APR_TIMEUP, ...), or one of the module codes
 * below, which start at APR_OS_START_USERERR so that they never collide
 * with APR's own. On failure a function also sets `const char **err` to a
 * short reason allocated from the pool it was given.
 *
 * The answer table (errors.c) gives each failure the module answers its
 * HTTP status, the level of the log line that reports it, and its page;
 * the codes of the two operations whose failure a user sees (redeeming a
 * code, creating a session) map to answers next to it. Nothing else
 * decides a status: the engine's responses (response.h) take theirs from
 * it, and the glue applies them.
 */
#ifndef OAUTH2_ERRORS_H
#define OAUTH2_ERRORS_H

#include <apr_errno.h>

#include "page.h"

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
    OAUTH2_EBUSY,
    /* More than the share of a server limit it may take: a cookie session
     * beyond its part of LimitRequestFieldSize. */
    OAUTH2_EBUDGET
};

/* Log levels: syslog's numbers, which Apache's APLOG_* use as well. */
#define OAUTH2_LOG_ERR     3
#define OAUTH2_LOG_WARNING 4
#define OAUTH2_LOG_NOTICE  5
#define OAUTH2_LOG_INFO    6
#define OAUTH2_LOG_DEBUG   7

/** How an answer reaches the browser. */
typedef enum {
    /* The status alone: the server's own error response (and its
     * ErrorDocument). */
    OAUTH2_SHOW_BARE = 0,
    /* The module's page is the response (an endpoint's answer). */
    OAUTH2_SHOW_PAGE,
    /* The status goes through the server's error response; the module's
     * page replaces the server's body unless the site has an
     * ErrorDocument for the status (an answer of a hook). */
    OAUTH2_SHOW_ERROR_PAGE,
    /* A JSON body (the message), for machines. */
    OAUTH2_SHOW_JSON
} oauth2_show_e;

/** Every failure the module answers; one row each in errors.c. */
typedef enum {
    OAUTH2_ANS_NO_PROVIDER = 0, /* OA2009: AuthType oauth2, no provider */
    OAUTH2_ANS_STORE_DOWN,      /* OA2010: the session cannot be checked */
    OAUTH2_ANS_UNAUTH_401,      /* OAuth2UnauthAction 401 (or auto, API) */
    OAUTH2_ANS_UNAUTH_403,      /* OAuth2UnauthAction 403 */
    OAUTH2_ANS_BEARER_CONFIG,   /* OA2302 */
    OAUTH2_ANS_BEARER_INVALID,  /* OA2303 */
    OAUTH2_ANS_STATE_FAILED,    /* OA2107: no login state could be made */
    OAUTH2_ANS_PROVIDER_DOWN,   /* OA2106, OA2207: unreachable provider */
    OAUTH2_ANS_BAD_QUERY,       /* OA2218 */
    OAUTH2_ANS_CB_MALFORMED,    /* OA2210 */
    OAUTH2_ANS_CB_NO_STATE,     /* OA2201 */
    OAUTH2_ANS_CB_NO_COOKIE,    /* OA2202 */
    OAUTH2_ANS_CB_EXPIRED,      /* OA2203, the state is too old */
    OAUTH2_ANS_CB_BAD_STATE,    /* OA2203, any other refusal */
    OAUTH2_ANS_CB_REPLAY,       /* OA2204 */
    OAUTH2_ANS_CB_STORE_DOWN,   /* OA2205 */
    OAUTH2_ANS_CB_DENIED,       /* OA2206 access_denied */
    OAUTH2_ANS_CB_INTERACTION,  /* OA2206 login_required and friends */
    OAUTH2_ANS_CB_ERROR,        /* OA2206 any other error= */
    OAUTH2_ANS_CB_ISSUER,       /* OA2211 */
    OAUTH2_ANS_CB_NO_CODE,      /* OA2212 */
    OAUTH2_ANS_CB_CODE_REFUSED, /* OA2220, the restarted login's */
    OAUTH2_ANS_TOKEN_INVALID,   /* OA2207, the tokens do not verify */
    OAUTH2_ANS_LOGIN_INTERNAL,  /* OA2207, configuration or crypto */
    OAUTH2_ANS_API_GROUPS,      /* OA2219 */
    OAUTH2_ANS_SESSION_FULL,    /* OA2132 */
    OAUTH2_ANS_SESSION_REFUSED, /* OA2208, the user's claims */
    OAUTH2_ANS_SESSION_STORE,   /* OA2208, the store */
    OAUTH2_ANS_SESSION_FAILED,  /* OA2208, anything else */
    OAUTH2_ANS_SESSION_COOKIE,  /* OA2140: too large for cookies */
    OAUTH2_ANS_BACKCHANNEL,     /* OA2215 */
    OAUTH2_ANS_LOGOUT_RETRY,    /* OA2221: not done; the provider retries */
    OAUTH2_ANS_NOT_LOGGED_IN,   /* userinfo without a session */
    OAUTH2_ANS_METHOD,          /* an endpoint asked with another method */
    OAUTH2_ANS_FORBIDDEN,       /* OA2301: a logged-in user refused */
    OAUTH2_ANS_API_FAILED,      /* OA2304: a rule's API did not answer */
    OAUTH2_ANS_SESSION_EXPIRED, /* a session cookie that names no session
                                   any more, not sent to log in (401) */
    OAUTH2_ANS_FRONTCHANNEL,    /* OA2223: a bad front-channel logout */
    OAUTH2_ANS_COUNT
} oauth2_answer_e;

/** One row of the answer table. */
typedef struct {
    int status;              /* HTTP status */
    int level;               /* OAUTH2_LOG_* of the line that reports it */
    oauth2_show_e show;      /* how the browser gets it */
    oauth2_page_kind_e page; /* the template of its page (OAuth2Page) */
    const char *reason;      /* a short stable word for it, the page's
                                {{reason}} ("state-expired") */
    const char *title;       /* page title (NULL: no page) */
    const char *message;     /* page message, or the JSON body; NULL: the
                                caller's words */
} oauth2_answer_t;

/** The row of an answer (never NULL: an unknown one gives a bare 500). */
const oauth2_answer_t *oauth2_answer(oauth2_answer_e a);

/**
 * The answer to a failed code redemption (oauth2_login_redeem): a token
 * that does not verify (401), the module's configuration or crypto (500),
 * the provider's fault or absence (502). OAUTH2_EREPLAY (the provider
 * refused the code) is OAUTH2_ANS_CB_CODE_REFUSED: the caller restarts
 * the login once before it answers that.
 */
oauth2_answer_e oauth2_answer_redeem(apr_status_t rv);

/**
 * The answer to a session that could not be created: the user's claims
 * (403), no room in the table (503), the store (503), too large for
 * cookie sessions (500, naming the remedies), anything else (500).
 */
oauth2_answer_e oauth2_answer_session(apr_status_t rv);

/**
 * A short, constant name for a status: "OAUTH2_EBADSIG", "APR_ENOMEM", or
 * "apr_status_t N" for anything else. Never NULL; never allocates.
 */
const char *oauth2_strerror(apr_status_t rv);

#endif /* OAUTH2_ERRORS_H */
