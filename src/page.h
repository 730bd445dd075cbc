/*
 * page.h: the one template mechanism behind every page the module shows
 * (login failed, access refused, sign-in unavailable, signed out, session
 * expired, ...): a page kind names a template, a built-in default or the
 * site's own file (OAuth2Page KIND /path), parsed once when the
 * configuration is read, so a mistake fails `apache2 -t`.
 *
 * Syntax: {{name}} is a variable; {{#name}}...{{/name}} keeps its text
 * only when the variable is not empty, {{^name}}...{{/name}} only when it
 * is (sections nest). Anything else between {{ and }} is refused, an
 * unknown name too. The caller escapes the values (response.c does it
 * for HTML); this file only puts them in place.
 */
#ifndef OAUTH2_PAGE_H
#define OAUTH2_PAGE_H

#include <apr_pools.h>

/** The pages: each has a key for OAuth2Page and a template. */
typedef enum {
    OAUTH2_PAGE_ERROR = 0,       /* "error": any other failure */
    OAUTH2_PAGE_LOGIN_FAILED,    /* "login-failed": the login did not end
                                    in a session */
    OAUTH2_PAGE_REFUSED,         /* "refused": a logged-in user refused by
                                    a Require rule (403) */
    OAUTH2_PAGE_PROVIDER_DOWN,   /* "provider-down": the sign-in service
                                    or its API cannot be reached (502) */
    OAUTH2_PAGE_UNAVAILABLE,     /* "unavailable": the session store
                                    cannot be used (503) */
    OAUTH2_PAGE_SESSION_EXPIRED, /* "session-expired": the session ended
                                    and the request is not sent to log in
                                    (401) */
    OAUTH2_PAGE_SIGNED_OUT,      /* "signed-out": after a logout */
    OAUTH2_PAGE_CHOOSE,          /* "choose": sign in with one of several
                                    named providers */
    OAUTH2_PAGE_COUNT
} oauth2_page_kind_e;

/** The variables a template can name. */
typedef enum {
    OAUTH2_PV_TITLE = 0,     /* "title" */
    OAUTH2_PV_MESSAGE,       /* "message": what happened, in a sentence */
    OAUTH2_PV_STATUS,        /* "status": the HTTP status, "403" */
    OAUTH2_PV_USER,          /* "user": who is logged in (refused) */
    OAUTH2_PV_REASON,        /* "reason": a short stable word for what
                                happened ("state-expired") */
    OAUTH2_PV_REQUEST_ID,    /* "request_id": mod_unique_id's UNIQUE_ID */
    OAUTH2_PV_TRY_AGAIN_URL, /* "try_again_url": try again, sign in again */
    OAUTH2_PV_LOGOUT_URL,    /* "logout_url": log out, switch account */
    OAUTH2_PV_PROVIDERS,     /* "providers": the sign-in links of the
                                choose page, as HTML the module makes
                                (each name and URL escaped) */
    OAUTH2_PV_COUNT
} oauth2_page_var_e;

/** A parsed template. */
typedef struct oauth2_page_tpl_t oauth2_page_tpl_t;

/** The kind of an OAuth2Page key ("refused"), or -1. */
int oauth2_page_kind(const char *key);

/** The OAuth2Page key of a kind ("refused"). */
const char *oauth2_page_key(oauth2_page_kind_e kind);

/** The keys, for messages: "login-failed, refused, ...". */
const char *oauth2_page_keys(void);

/** The variables, for messages and the README: "title, message, ...". */
const char *oauth2_page_vars(void);

/**
 * Parses a template of len bytes (NUL-terminated at text[len]) into *tpl
 * from p. @return APR_SUCCESS, or APR_EINVAL with *err ("line 3: unknown
 * variable {{usr}} ...")
 */
apr_status_t oauth2_page_parse(apr_pool_t *p, const char *text, apr_size_t len,
                               const oauth2_page_tpl_t **tpl, const char **err);

/**
 * Reads and parses the template file path (absolute, at most
 * OAUTH2_MAX_PAGE_TEMPLATE bytes, no NUL byte). Returns NULL with *tpl
 * set, or why not, naming the file (from p).
 */
const char *oauth2_page_load(apr_pool_t *p, const char *path,
                             const oauth2_page_tpl_t **tpl);

/** The built-in template of a kind, as text. */
const char *oauth2_page_default_text(oauth2_page_kind_e kind);

/** The built-in template of a kind, parsed (from p). */
const oauth2_page_tpl_t *oauth2_page_default(apr_pool_t *p,
                                             oauth2_page_kind_e kind);

/**
 * Renders tpl with vars (OAUTH2_PV_COUNT entries, each NULL or "" when
 * empty), put in as they are: the caller escapes them. From p.
 */
const char *oauth2_page_render(apr_pool_t *p, const oauth2_page_tpl_t *tpl,
                               const char *const *vars);

#endif /* OAUTH2_PAGE_H */
