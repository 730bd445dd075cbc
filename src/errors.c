/*
 * errors.c: names for the engine's status codes, and the answer table
 * (see errors.h).
 */
#include "errors.h"

#define ERR     OAUTH2_LOG_ERR
#define WARNING OAUTH2_LOG_WARNING
#define INFO    OAUTH2_LOG_INFO
#define DEBUG   OAUTH2_LOG_DEBUG
#define BARE    OAUTH2_SHOW_BARE
#define PAGE    OAUTH2_SHOW_PAGE
#define EPAGE   OAUTH2_SHOW_ERROR_PAGE
#define JSON    OAUTH2_SHOW_JSON

/* Statuses, as numbers (RFC 9110 §15): the engine sees no httpd.h. */
#define S400 400
#define S401 401
#define S403 403
#define S405 405
#define S500 500
#define S502 502
#define S503 503

/* The pages (page.h). */
#define P_ERROR   OAUTH2_PAGE_ERROR
#define P_LOGIN   OAUTH2_PAGE_LOGIN_FAILED
#define P_REFUSED OAUTH2_PAGE_REFUSED
#define P_DOWN    OAUTH2_PAGE_PROVIDER_DOWN
#define P_UNAVAIL OAUTH2_PAGE_UNAVAILABLE
#define P_EXPIRED OAUTH2_PAGE_SESSION_EXPIRED

/* Indexed by oauth2_answer_e. A user's own doing (a cancelled login, a
 * reloaded callback) is never a 5xx: that would page someone's on-call.
 * The reasons are stable: templates and support staff read them. */
static const oauth2_answer_t answers[OAUTH2_ANS_COUNT] = {
    [OAUTH2_ANS_NO_PROVIDER] = { S500, ERR, BARE, P_ERROR, "no-provider", NULL,
                                 NULL },
    [OAUTH2_ANS_STORE_DOWN] = { S503, ERR, EPAGE, P_UNAVAIL, "store-down",
                                "Temporarily unavailable",
                                "Your session cannot be checked right now. "
                                "Please try again in a few moments." },
    [OAUTH2_ANS_UNAUTH_401] = { S401, DEBUG, BARE, P_ERROR, "unauthenticated",
                                NULL, NULL },
    [OAUTH2_ANS_UNAUTH_403] = { S403, DEBUG, BARE, P_ERROR, "unauthenticated",
                                NULL, NULL },
    [OAUTH2_ANS_BEARER_CONFIG] = { S500, ERR, BARE, P_ERROR, "bearer-config",
                                   NULL, NULL },
    [OAUTH2_ANS_BEARER_INVALID] = { S401, INFO, BARE, P_ERROR, "bearer-invalid",
                                    NULL, NULL },
    [OAUTH2_ANS_STATE_FAILED] = { S500, ERR, BARE, P_ERROR, "state-failed",
                                  NULL, NULL },
    /* The message names the service (oauth2_response_provider_down). */
    [OAUTH2_ANS_PROVIDER_DOWN] = { S502, ERR, EPAGE, P_DOWN, "provider-down",
                                   "Sign-in is unavailable", NULL },
    [OAUTH2_ANS_BAD_QUERY] = { S400, INFO, PAGE, P_ERROR, "bad-request",
                               "Bad request",
                               "The request's parameters are malformed or "
                               "repeated." },
    [OAUTH2_ANS_CB_MALFORMED] = { S400, WARNING, PAGE, P_LOGIN,
                                  "callback-malformed", "Login failed",
                                  "The login response is malformed." },
    [OAUTH2_ANS_CB_NO_STATE] = { S400, WARNING, PAGE, P_LOGIN,
                                 "callback-no-state", "Login failed",
                                 "The login response is incomplete." },
    [OAUTH2_ANS_CB_NO_COOKIE] = { S400, WARNING, PAGE, P_LOGIN,
                                  "state-cookie-missing", "Login failed",
                                  "This login was not started in this "
                                  "browser, or it took too long." },
    [OAUTH2_ANS_CB_EXPIRED] = { S400, INFO, PAGE, P_LOGIN, "state-expired",
                                "Login failed", "The login took too long." },
    [OAUTH2_ANS_CB_BAD_STATE] = { S400, WARNING, PAGE, P_LOGIN, "state-invalid",
                                  "Login failed",
                                  "The login state is not valid." },
    [OAUTH2_ANS_CB_REPLAY] = { S400, WARNING, PAGE, P_LOGIN, "state-replayed",
                               "Login failed",
                               "This login response was already used." },
    [OAUTH2_ANS_CB_STORE_DOWN] = { S503, ERR, PAGE, P_UNAVAIL, "store-down",
                                   "Login unavailable",
                                   "The session store is not available." },
    [OAUTH2_ANS_CB_DENIED] = { S403, INFO, PAGE, P_LOGIN, "access-denied",
                               "Not signed in",
                               "The login was cancelled, or the sign-in "
                               "service did not allow this account to sign "
                               "in here." },
    [OAUTH2_ANS_CB_INTERACTION] = { S403, INFO, PAGE, P_LOGIN,
                                    "interaction-required", "Not signed in",
                                    "The sign-in service needs you to sign "
                                    "in or agree first." },
    [OAUTH2_ANS_CB_ERROR] = { S502, ERR, PAGE, P_LOGIN, "provider-error",
                              "Login failed",
                              "The sign-in service could not complete the "
                              "login." },
    [OAUTH2_ANS_CB_ISSUER] = { S400, WARNING, PAGE, P_LOGIN, "wrong-issuer",
                               "Login failed",
                               "The login response came from another "
                               "provider." },
    [OAUTH2_ANS_CB_NO_CODE] = { S400, WARNING, PAGE, P_LOGIN, "no-code",
                                "Login failed",
                                "The login response has no code." },
    [OAUTH2_ANS_CB_CODE_REFUSED] = { S400, WARNING, PAGE, P_LOGIN,
                                     "code-refused", "Login failed",
                                     "The sign-in service did not accept "
                                     "this login. Please start again." },
    [OAUTH2_ANS_TOKEN_INVALID] = { S401, WARNING, PAGE, P_LOGIN,
                                   "token-invalid", "Login failed",
                                   "The identity token could not be "
                                   "verified." },
    [OAUTH2_ANS_LOGIN_INTERNAL] = { S500, ERR, PAGE, P_LOGIN, "login-internal",
                                    "Login failed",
                                    "The login could not be completed." },
    [OAUTH2_ANS_API_GROUPS] = { S502, ERR, PAGE, P_LOGIN, "api-failed",
                                "Login failed",
                                "The login provider's API could not tell "
                                "which groups this account is in." },
    [OAUTH2_ANS_SESSION_FULL] = { S503, WARNING, PAGE, P_UNAVAIL,
                                  "session-table-full", "Login unavailable",
                                  "The session store has no room for this "
                                  "session. Please try again later." },
    /* The message of the three: the reason the session failed. */
    [OAUTH2_ANS_SESSION_REFUSED] = { S403, WARNING, PAGE, P_LOGIN,
                                     "session-refused", "Login failed", NULL },
    [OAUTH2_ANS_SESSION_STORE] = { S503, ERR, PAGE, P_UNAVAIL, "store-down",
                                   "Login failed", NULL },
    [OAUTH2_ANS_SESSION_FAILED] = { S500, ERR, PAGE, P_LOGIN, "session-failed",
                                    "Login failed", NULL },
    /* Retrying cannot help, nor can the user: the page says what the
     * site's administrator can do. */
    [OAUTH2_ANS_SESSION_COOKIE] = { S500, ERR, PAGE, P_LOGIN,
                                    "session-cookie-too-large", "Login failed",
                                    "This account belongs to more groups "
                                    "than this site can keep in its session "
                                    "cookies, so the login cannot be "
                                    "completed. The site's administrator can "
                                    "keep sessions on the server "
                                    "(OAuth2SessionStore shm or redis) or "
                                    "keep only the groups the site uses "
                                    "(OAuth2GroupsFilter)." },
    [OAUTH2_ANS_BACKCHANNEL] = { S400, WARNING, JSON, P_ERROR,
                                 "logout-token-invalid", NULL,
                                 "{\"error\":\"invalid_request\"}\n" },
    /* The provider tries again later (§2.8: a non-200 answer). */
    [OAUTH2_ANS_LOGOUT_RETRY] = { S503, ERR, JSON, P_ERROR, "logout-retry",
                                  NULL,
                                  "{\"error\":\"temporarily_"
                                  "unavailable\"}\n" },
    [OAUTH2_ANS_NOT_LOGGED_IN] = { S401, DEBUG, JSON, P_ERROR, "not-logged-in",
                                   NULL, "{\"error\":\"not logged in\"}\n" },
    [OAUTH2_ANS_METHOD] = { S405, DEBUG, BARE, P_ERROR, "method", NULL, NULL },
    /* The message names the user (oauth2_access_forbidden_page). */
    [OAUTH2_ANS_FORBIDDEN] = { S403, INFO, EPAGE, P_REFUSED, "forbidden",
                               "Access denied", NULL },
    [OAUTH2_ANS_API_FAILED] = { S502, ERR, EPAGE, P_DOWN, "api-failed",
                                "Access not checked",
                                "The login provider's API did not answer "
                                "whether this account may open this page. "
                                "Please try again in a few moments." },
    [OAUTH2_ANS_SESSION_EXPIRED] = { S401, DEBUG, EPAGE, P_EXPIRED,
                                     "session-expired", "Session expired",
                                     "Your session has ended. Sign in again "
                                     "to continue." },
    [OAUTH2_ANS_FRONTCHANNEL] = { S400, WARNING, PAGE, P_ERROR,
                                  "logout-request-invalid", "Bad request",
                                  "This logout request is not valid." },
};

static const oauth2_answer_t unknown = { S500,    ERR,  BARE, P_ERROR,
                                         "error", NULL, NULL };

const oauth2_answer_t *oauth2_answer(oauth2_answer_e a)
{
    if ((int)a < 0 || a >= OAUTH2_ANS_COUNT || answers[a].status == 0) {
        return &unknown;
    }
    return &answers[a];
}

oauth2_answer_e oauth2_answer_redeem(apr_status_t rv)
{
    switch (rv) {
    case OAUTH2_EBADSIG:
    case OAUTH2_EREFUSED:
    case OAUTH2_ENOTFOUND:
    case OAUTH2_EMISMATCH:
    case OAUTH2_EEXPIRED:
    case OAUTH2_ENOTYET:
    case OAUTH2_EMALFORMED:
        return OAUTH2_ANS_TOKEN_INVALID;
    case OAUTH2_ECONFIG:
    case OAUTH2_ECRYPTO:
        return OAUTH2_ANS_LOGIN_INTERNAL;
    case OAUTH2_EREPLAY:
        return OAUTH2_ANS_CB_CODE_REFUSED;
    default:
        return OAUTH2_ANS_PROVIDER_DOWN;
    }
}

oauth2_answer_e oauth2_answer_session(apr_status_t rv)
{
    switch (rv) {
    case OAUTH2_EMISMATCH:
        return OAUTH2_ANS_SESSION_REFUSED;
    case OAUTH2_EFULL:
        return OAUTH2_ANS_SESSION_FULL;
    case OAUTH2_ESTORE:
        return OAUTH2_ANS_SESSION_STORE;
    case OAUTH2_EBUDGET:
        return OAUTH2_ANS_SESSION_COOKIE;
    default:
        return OAUTH2_ANS_SESSION_FAILED;
    }
}

const char *oauth2_strerror(apr_status_t rv)
{
    switch (rv) {
    case APR_SUCCESS:
        return "success";
    case APR_ENOMEM:
        return "APR_ENOMEM";
    case APR_TIMEUP:
        return "APR_TIMEUP";
    case APR_EINVAL:
        return "APR_EINVAL";
    case OAUTH2_EMALFORMED:
        return "OAUTH2_EMALFORMED";
    case OAUTH2_ETOOBIG:
        return "OAUTH2_ETOOBIG";
    case OAUTH2_EBADSIG:
        return "OAUTH2_EBADSIG";
    case OAUTH2_EEXPIRED:
        return "OAUTH2_EEXPIRED";
    case OAUTH2_ENOTYET:
        return "OAUTH2_ENOTYET";
    case OAUTH2_EMISMATCH:
        return "OAUTH2_EMISMATCH";
    case OAUTH2_EREFUSED:
        return "OAUTH2_EREFUSED";
    case OAUTH2_EREPLAY:
        return "OAUTH2_EREPLAY";
    case OAUTH2_ENOTFOUND:
        return "OAUTH2_ENOTFOUND";
    case OAUTH2_EUPSTREAM:
        return "OAUTH2_EUPSTREAM";
    case OAUTH2_EUNREACHABLE:
        return "OAUTH2_EUNREACHABLE";
    case OAUTH2_ESTORE:
        return "OAUTH2_ESTORE";
    case OAUTH2_ECRYPTO:
        return "OAUTH2_ECRYPTO";
    case OAUTH2_ECONFIG:
        return "OAUTH2_ECONFIG";
    case OAUTH2_EFULL:
        return "OAUTH2_EFULL";
    case OAUTH2_EBUSY:
        return "OAUTH2_EBUSY";
    case OAUTH2_EBUDGET:
        return "OAUTH2_EBUDGET";
    default:
        return "other apr_status_t";
    }
}
