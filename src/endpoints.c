/*
 * endpoints.c: the module's own endpoints (see endpoints.h).
 */
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <json.h>

#include "access.h"
#include "authz.h"
#include "base64url.h"
#include "bounds.h"
#include "cookie.h"
#include "endpoints.h"
#include "errors.h"
#include "http.h"
#include "login.h"
#include "metrics.h"
#include "redirect.h"
#include "sessions.h"
#include "state.h"

/* Query parameters that must appear at most once (RFC 6749 §3.1: "request
 * and response parameters MUST NOT be included more than once"). */
static const char *const single_params[] = {
    "state", "code", "error", "iss", "rd", "sid", NULL,
};

/* Answers with a row of the table and logs nothing (the caller did). */
/* The remembered choice of a named provider lasts this long (seconds). */
#define CHOICE_MAX_AGE (90L * 24 * 3600)

static void answer(oauth2_request_t *req, oauth2_response_t *resp,
                   oauth2_answer_e a, const char *message, const char *link)
{
    oauth2_response_answer(resp, req->pool, a, message, link);
}

/* A login that ends at the callback with answer a: counted by it. */
static void failed(oauth2_request_t *req, oauth2_response_t *resp,
                   oauth2_answer_e a, const char *message, const char *link)
{
    oauth2_metrics_login_failed(a);
    answer(req, resp, a, message, link);
}

/* A state value as we generate them: 22 base64url characters. */
static int state_shape_ok(const char *s)
{
    apr_size_t i, n = strlen(s);

    if (n != OAUTH2_BASE64URL_LEN(OAUTH2_STATE_ID_BYTES)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!apr_isalnum(s[i]) && s[i] != '-' && s[i] != '_') {
            return 0;
        }
    }
    return 1;
}

/* Finds, clears and opens the state cookie of this callback. 0 with *st,
 * or 1 when resp is the answer. */
static int callback_state(const oauth2_site_t *site, oauth2_request_t *req,
                          const char *state, oauth2_state_t **st,
                          oauth2_response_t *resp)
{
    const char *name, *err = NULL;
    oauth2_cookie_t c;
    apr_status_t rv;

    if (state == NULL || !state_shape_ok(state)) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2201: callback without a valid state parameter");
        failed(req, resp, OAUTH2_ANS_CB_NO_STATE, NULL, "/");
        return 1;
    }
    name = oauth2_state_cookie_name(req->pool, state);
    if (oauth2_cookie_find(oauth2_request_header(req, "Cookie"), name, &c, 1)
        == 0) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2202: callback without its state cookie (expired, "
                   "another browser, or login CSRF)");
        failed(req, resp, OAUTH2_ANS_CB_NO_COOKIE, NULL, "/");
        return 1;
    }
    oauth2_site_cookie(site, req, resp, name, "", 0, site->callback_path);
    rv = oauth2_state_open(req->pool, site->seal_state, c.value, c.value_len,
                           state, req->now,
                           apr_time_from_sec(OAUTH2_STATE_LIFETIME), st, &err);
    if (rv != APR_SUCCESS) {
        oauth2_answer_e a = rv == OAUTH2_EEXPIRED ? OAUTH2_ANS_CB_EXPIRED
                                                  : OAUTH2_ANS_CB_BAD_STATE;

        OAUTH2_LOG(req, oauth2_answer(a)->level,
                   "OA2203: state cookie refused: %s", err);
        failed(req, resp, a, NULL, "/");
        return 1;
    }
    return 0;
}

/* Marks the state used (RFC 9700 §4.7: one-time use); refuses a replay.
 * 0, or 1 when resp is the answer. */
static int callback_once(const oauth2_site_t *site, oauth2_request_t *req,
                         const oauth2_state_t *st, oauth2_response_t *resp)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    const char *id = apr_pstrcat(req->pool, "state:", st->state, NULL);
    apr_status_t rv;

    if (site->store == NULL) {
        return 0; /* no store: the cleared cookie is all */
    }
    rv = oauth2_site_key(site, id, strlen(id), key);
    if (rv == APR_SUCCESS) {
        rv = oauth2_store_add(
            site->store, req->pool, key,
            st->created + apr_time_from_sec(OAUTH2_STATE_LIFETIME), req->now);
    }
    if (rv == OAUTH2_EREPLAY) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2204: replayed login state refused");
        failed(req, resp, OAUTH2_ANS_CB_REPLAY, NULL, "/");
        return 1;
    }
    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_ERR,
                   "OA2205: session store failed while checking the state "
                   "(%s)",
                   oauth2_strerror(rv));
        failed(req, resp, OAUTH2_ANS_CB_STORE_DOWN, NULL, NULL);
        return 1;
    }
    return 0;
}

/* The provider answered with error= (RFC 6749 §4.1.2.1). A user who
 * cancelled or may not log in gets plain words and a way to try again
 * (403), never a 5xx: that pages nobody's on-call. The provider's
 * error_description is shown escaped and bounded. */
static void callback_error(oauth2_request_t *req, const apr_table_t *args,
                           const char *error, const oauth2_state_t *st,
                           oauth2_response_t *resp)
{
    const char *desc = apr_table_get(args, "error_description");
    oauth2_answer_e a = OAUTH2_ANS_CB_ERROR;
    const char *msg;

    if (strcmp(error, "access_denied") == 0) {
        a = OAUTH2_ANS_CB_DENIED;
    }
    else if (strcmp(error, "login_required") == 0
             || strcmp(error, "consent_required") == 0
             || strcmp(error, "interaction_required") == 0
             || strcmp(error, "account_selection_required") == 0) {
        a = OAUTH2_ANS_CB_INTERACTION;
    }
    OAUTH2_LOG(req, oauth2_answer(a)->level,
               "OA2206: the provider ended the login with error=%.64s", error);
    msg = oauth2_answer(a)->message;
    if (desc != NULL && *desc != '\0') {
        msg = apr_psprintf(req->pool, "%s It said: \"%.300s\"", msg, desc);
    }
    failed(req, resp, a, msg, st->return_to);
}

/* Microsoft Entra ID leaves the groups out of a token when a user has
 * too many ("group overage": _claim_names.groups or hasgroups instead);
 * group rules then see none, which an administrator should learn. */
static void warn_overage(oauth2_request_t *req, const oauth2_claims_t *claims)
{
    json_object *has = oauth2_claims_get(claims, "hasgroups");

    if (oauth2_claims_get(claims, "_claim_names.groups") != NULL
        || (has != NULL && json_object_get_boolean(has))) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2217: the provider left the user's groups out of the "
                   "token (group overage): Require oauth2-group sees no "
                   "groups for this user");
    }
}

/* The provider refused the code (invalid_grant): a reload of the
 * callback, a double click, the back button, a code used twice. The
 * user's doing, not an outage: the state was valid, so the browser starts
 * a fresh login to the same place, once; a second refusal in a row ends
 * on a 400 page with a link to start again. */
static void callback_refused_code(const oauth2_site_t *site,
                                  oauth2_request_t *req,
                                  const oauth2_state_t *st, const char *err,
                                  oauth2_response_t *resp)
{
    if (!st->retry) {
        OAUTH2_LOG(req, OAUTH2_LOG_INFO,
                   "OA2220: the provider refused the code (%s): starting "
                   "a fresh login",
                   err ? err : "invalid_grant");
        oauth2_metrics_login_failed(OAUTH2_ANS_CB_CODE_REFUSED);
        oauth2_access_login(site, req, st->return_to, 1, resp);
        return;
    }
    OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_CB_CODE_REFUSED)->level,
               "OA2220: the provider refused the code of a restarted login "
               "too (%s)",
               err ? err : "invalid_grant");
    failed(req, resp, OAUTH2_ANS_CB_CODE_REFUSED, NULL, st->return_to);
}

/* The code could not be redeemed. */
static void callback_redeem_failed(const oauth2_site_t *site,
                                   oauth2_request_t *req,
                                   const oauth2_state_t *st, apr_status_t rv,
                                   const char *err, oauth2_response_t *resp)
{
    oauth2_answer_e a = oauth2_answer_redeem(rv);

    if (a == OAUTH2_ANS_CB_CODE_REFUSED) {
        callback_refused_code(site, req, st, err, resp);
        return;
    }
    OAUTH2_LOG(req, oauth2_answer(a)->level, "OA2207: login failed: %s (%s)",
               err ? err : "", oauth2_strerror(rv));
    if (a == OAUTH2_ANS_PROVIDER_DOWN) {
        oauth2_metrics_login_failed(a);
        oauth2_access_provider_down(site, req, resp, st->return_to);
        return;
    }
    failed(req, resp, a, NULL, st->return_to);
}

/* The session could not be created. The table may have had no room for
 * it, even after evicting (issue 12 item 9): the session is refused,
 * other users go on. */
static void callback_session_failed(const oauth2_site_t *site,
                                    oauth2_request_t *req, apr_status_t rv,
                                    const char *user, const char *err,
                                    oauth2_response_t *resp)
{
    oauth2_answer_e a = oauth2_answer_session(rv);
    oauth2_store_stats_t st;

    if (a == OAUTH2_ANS_SESSION_COOKIE) {
        OAUTH2_LOG(req, oauth2_answer(a)->level,
                   "OA2140: login of %.200s refused: %s; keep sessions on "
                   "the server (OAuth2SessionStore shm or redis:HOST:PORT), "
                   "keep fewer groups (OAuth2GroupsFilter REGEX) or raise "
                   "LimitRequestFieldSize",
                   user ? user : "", err);
        answer(req, resp, a, NULL, NULL);
        return;
    }
    if (a == OAUTH2_ANS_SESSION_FULL) {
        oauth2_store_stats(site->store, &st);
        OAUTH2_LOG(req, oauth2_answer(a)->level,
                   "OA2132: login of %.200s refused: %s; raise N in "
                   "OAuth2SessionStore shm:%u or make sessions smaller "
                   "(fewer claims or groups)",
                   user, err, st.capacity);
        failed(req, resp, a, NULL, NULL);
        return;
    }
    OAUTH2_LOG(req, oauth2_answer(a)->level,
               "OA2208: cannot create the session: %s", err);
    failed(req, resp, a, err, NULL);
}

/* Redeems the code and logs the user in. */
static void callback_finish(const oauth2_site_t *site, oauth2_request_t *req,
                            const oauth2_state_t *st, const char *code,
                            oauth2_response_t *resp)
{
    const oauth2_endpoints_t *ep;
    oauth2_login_result_t *res = NULL;
    oauth2_client_t cl;
    const char *err = NULL, *user = NULL;
    apr_status_t rv;

    oauth2_site_client(site, req, &cl);
    rv = oauth2_site_endpoints(site, req, &ep, &err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_login_redeem(req->pool, &cl, ep, st, code, req->now, &res,
                                 &err);
    }
    if (rv != APR_SUCCESS) {
        callback_redeem_failed(site, req, st, rv, err, resp);
        return;
    }
    warn_overage(req, res->claims);
    /* Google groups, GitLab projects, GitHub repositories the rules name:
     * a failure refuses the login (fail closed), like a GitHub API's. */
    rv = oauth2_groups_login(req->pool, site->groups, ep, res, req->now, &err);
    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_API_GROUPS)->level,
                   "OA2219: login failed: %s (%s)", err ? err : "",
                   oauth2_strerror(rv));
        failed(req, resp, OAUTH2_ANS_API_GROUPS, NULL, st->return_to);
        return;
    }
    rv = oauth2_sessions_create(site, req, res, resp, &user, &err);
    resp->user = user;
    if (rv != APR_SUCCESS) {
        callback_session_failed(site, req, rv, user, err, resp);
        return;
    }
    OAUTH2_LOG(req, OAUTH2_LOG_INFO, "OA2209: user %.200s logged in", user);
    oauth2_metrics_inc(OAUTH2_METRIC_LOGINS);
    oauth2_response_redirect(resp, st->return_to);
    /* A named provider's login that ended in a session: this browser's
     * choice for the next login at a place that offers several. */
    if (site->name != NULL) {
        oauth2_site_cookie(site, req, resp, site->choice_cookie, site->name,
                           CHOICE_MAX_AGE, "/");
    }
}

/* The checks of the callback's parameters after its state: error=, the
 * issuer (RFC 9207 §2.4: an iss parameter must name our provider, the
 * mix-up defence), the code. Returns the code, or NULL when resp is the
 * answer. */
static const char *callback_code(const oauth2_site_t *site,
                                 oauth2_request_t *req, const apr_table_t *args,
                                 const oauth2_state_t *st,
                                 oauth2_response_t *resp)
{
    const char *error = apr_table_get(args, "error");
    const char *iss = apr_table_get(args, "iss");
    const char *code = apr_table_get(args, "code");

    if (error != NULL) {
        callback_error(req, args, error, st, resp);
        return NULL;
    }
    if (iss != NULL && strcmp(iss, oauth2_provider_issuer(site->prov)) != 0) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2211: callback from another issuer %.200s", iss);
        failed(req, resp, OAUTH2_ANS_CB_ISSUER, NULL, "/");
        return NULL;
    }
    if (code == NULL || *code == '\0' || strlen(code) > OAUTH2_MAX_URL) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2212: callback without a usable code");
        failed(req, resp, OAUTH2_ANS_CB_NO_CODE, NULL, "/");
        return NULL;
    }
    return code;
}

/* The debug line of a callback whose state is good: how old the login
 * is, where it returns, which parameters came (names only: the code and
 * the state are secrets). */
static void story_callback(oauth2_request_t *req, const apr_table_t *args,
                           const oauth2_state_t *st)
{
    const apr_array_header_t *arr = apr_table_elts(args);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const char *names = "";
    int i;

    if (!oauth2_request_logs(req, OAUTH2_LOG_DEBUG)) {
        return;
    }
    for (i = 0; i < arr->nelts && i < 16; i++) {
        names = apr_psprintf(req->pool, "%s%s%.40s", names, i ? ", " : "",
                             e[i].key);
    }
    OAUTH2_LOG(req, OAUTH2_LOG_DEBUG,
               "OA2409: callback with a valid state: the login began %ld s "
               "ago and returns to %.200s; parameters: %s",
               (long)apr_time_sec(req->now - st->created), st->return_to,
               names);
}

static void endpoint_callback(const oauth2_site_t *site, oauth2_request_t *req,
                              oauth2_response_t *resp)
{
    apr_table_t *args;
    const char *bad = NULL, *code;
    oauth2_state_t *st = NULL;

    resp->redact_query = 1;
    if (oauth2_request_parse_query(req->pool, req->args, single_params, &args,
                                   &bad)
        != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2210: callback with a repeated or malformed "
                   "parameter %s",
                   bad);
        failed(req, resp, OAUTH2_ANS_CB_MALFORMED, NULL, "/");
        return;
    }
    if (callback_state(site, req, apr_table_get(args, "state"), &st, resp)) {
        return;
    }
    story_callback(req, args, st);
    /* Nothing below writes to the store before the callback carries a
     * code: an error= answer, or a callback that anyone can make with a
     * state from /start, costs no store entry (issue 12 item 8). */
    code = callback_code(site, req, args, st, resp);
    if (code != NULL && !callback_once(site, req, st, resp)) {
        callback_finish(site, req, st, code, resp);
    }
}

/* The query of start and logout: NULL (and resp a 400) when malformed. */
static apr_table_t *query(oauth2_request_t *req, oauth2_response_t *resp)
{
    apr_table_t *args;
    const char *bad;

    if (oauth2_request_parse_query(req->pool, req->args, single_params, &args,
                                   &bad)
        == APR_SUCCESS) {
        return args;
    }
    OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_BAD_QUERY)->level,
               "OA2218: malformed or repeated query parameters on %.100s",
               req->path);
    answer(req, resp, OAUTH2_ANS_BAD_QUERY, NULL, "/");
    return NULL;
}

/* The providers of a virtual host, as its sign-in page lists them and
 * its logout and userinfo look at them: its own, then its named ones (a named
 * provider's: itself). */
static int providers_of(const oauth2_site_t *site, const oauth2_site_t **all)
{
    int i, n = 0;

    if (site->prov != NULL) {
        all[n++] = site;
    }
    for (i = 0; i < site->nnamed; i++) {
        all[n++] = site->named[i];
    }
    return n;
}

/* choose?rd=URL: the sign-in page with every provider of the virtual
 * host (its own, then its named ones). */
static void endpoint_choose(const oauth2_site_t *site, oauth2_request_t *req,
                            oauth2_response_t *resp)
{
    const oauth2_site_t *all[OAUTH2_MAX_PROVIDERS + 1];
    apr_table_t *args = query(req, resp);

    if (args != NULL) {
        oauth2_access_choose(site, all, providers_of(site, all), req,
                             apr_table_get(args, "rd"), resp);
    }
}

/* start?rd=URL: begins a login explicitly. Without a provider of its own
 * (named ones only), the virtual host's is the sign-in page. */
static void endpoint_start(const oauth2_site_t *site, oauth2_request_t *req,
                           oauth2_response_t *resp)
{
    apr_table_t *args;
    const char *rd;

    if (site->prov == NULL) {
        endpoint_choose(site, req, resp);
        return;
    }
    args = query(req, resp);
    if (args != NULL) {
        rd = apr_table_get(args, "rd");
        oauth2_access_login(site, req, rd ? rd : "/", 0, resp);
    }
}

/* A validated rd, or NULL (none, or refused). */
static const char *checked_rd(const oauth2_site_t *site, oauth2_request_t *req,
                              const char *rd)
{
    const char *out, *err = NULL;

    if (rd == NULL) {
        return NULL;
    }
    oauth2_request_complete(req);
    if (oauth2_redirect_validate(req->pool, rd, req->host,
                                 site->cfg->redirect_hosts, &out, &err)
        != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_WARNING,
                   "OA2213: refused redirect target %.200s (%s); showing the "
                   "signed-out page",
                   rd, err ? err : "");
        return NULL;
    }
    return out;
}

/* Where a logout without a (valid) rd ends: the signed-out page, never
 * straight back into the provider's login form. */
static const char *signed_out_path(const oauth2_site_t *site, apr_pool_t *p)
{
    return apr_pstrcat(p, site->cfg->prefix, "/signed-out", NULL);
}

/* RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2): the
 * provider's end_session_endpoint with the ID token as a hint and the
 * (absolute) target to come back to, which the provider must have
 * registered as a post_logout_redirect_uri. A cookie session too large
 * for its budget with its ID token left it out: client_id alone then
 * tells the provider which client's URIs to check (§2). A session that
 * never had one (OAuth 2.0 only) ends here. */
static const char *end_session_url(const oauth2_site_t *site,
                                   oauth2_request_t *req,
                                   const oauth2_session_t *s, const char *rd)
{
    const oauth2_endpoints_t *ep;
    const char *err, *back, *hint = "";

    if ((s->len[OAUTH2_SF_ID_TOKEN] == 0
         && !(s->flags & OAUTH2_SESSION_NO_ID_TOKEN))
        || oauth2_provider_endpoints(site->prov, req->pool, req->now, &ep, &err)
               != APR_SUCCESS
        || ep->end_session == NULL) {
        return NULL;
    }
    if (s->len[OAUTH2_SF_ID_TOKEN] > 0) {
        hint = apr_pstrcat(
            req->pool, "id_token_hint=",
            oauth2_http_url_encode(req->pool, s->f[OAUTH2_SF_ID_TOKEN]), "&",
            NULL);
    }
    back = rd[0] == '/' ? oauth2_request_url(req, rd) : rd;
    return apr_pstrcat(
        req->pool, ep->end_session, strchr(ep->end_session, '?') ? "&" : "?",
        hint,
        "client_id=", oauth2_http_url_encode(req->pool, site->cfg->client_id),
        "&post_logout_redirect_uri=", oauth2_http_url_encode(req->pool, back),
        NULL);
}

/* Ends site's session of this browser, if any (1), and removes its
 * cookies; *to: the provider's logout URL of the first that has one. */
static int logout_one(const oauth2_site_t *site, oauth2_request_t *req,
                      const char *rd, const char **to, oauth2_response_t *resp)
{
    oauth2_authn_t a;
    const char *url = NULL;

    memset(&a, 0, sizeof(a));
    if (oauth2_sessions_find(site, req, 1, &a, NULL, resp) == APR_SUCCESS) {
        url = end_session_url(site, req, a.session, rd);
        OAUTH2_LOG(req, OAUTH2_LOG_INFO, "OA2214: user %.200s logged out%s%s%s",
                   a.session->f[OAUTH2_SF_USER],
                   site->name ? " of provider " : "",
                   site->name ? site->name : "",
                   url && !*to ? ", continuing at the provider" : "");
        oauth2_metrics_inc(OAUTH2_METRIC_ENDED_LOGOUT);
        *to = *to ? *to : url;
    }
    oauth2_sessions_remove(site, req, &a, resp);
    return a.session != NULL;
}

/* logout?rd=URL: ends the local sessions (a virtual host's: of every
 * provider; a named provider's: its own), then at the provider of the
 * first that has one; ends on rd or the signed-out page. */
static void endpoint_logout(const oauth2_site_t *site, oauth2_request_t *req,
                            oauth2_response_t *resp)
{
    const oauth2_site_t *all[OAUTH2_MAX_PROVIDERS + 1];
    apr_table_t *args = query(req, resp);
    const char *rd, *to = NULL;
    int i, n, ended = 0;

    if (args == NULL) {
        return;
    }
    rd = checked_rd(site, req, apr_table_get(args, "rd"));
    if (rd == NULL) {
        rd = signed_out_path(site, req->pool);
    }
    n = providers_of(site, all);
    for (i = 0; i < n; i++) {
        ended += logout_one(all[i], req, rd, &to, resp);
    }
    /* Signed out of them all: the next login may choose again. */
    if (site->choice_cookie != NULL && site->name == NULL) {
        oauth2_site_cookie(site, req, resp, site->choice_cookie, "", 0, "/");
    }
    OAUTH2_LOG(req, OAUTH2_LOG_DEBUG, "OA2410: logout: %s; on to %.*s",
               ended > 1    ? "the sessions and their cookies removed"
               : ended == 1 ? "the session and its cookies removed"
                            : "no session, its cookies removed",
               (int)strcspn(to ? to : rd, "?"), to ? to : rd);
    oauth2_response_redirect(resp, to ? to : rd);
}

/* signed-out: where a logout ends without an rd (the provider's
 * post_logout_redirect_uri, or straight from logout), with a way to sign
 * in again. */
static void endpoint_signed_out(const oauth2_site_t *site,
                                oauth2_request_t *req, oauth2_response_t *resp)
{
    oauth2_page_t *pg = apr_pcalloc(req->pool, sizeof(*pg));

    pg->status = 200;
    pg->kind = OAUTH2_PAGE_SIGNED_OUT;
    pg->reason = "signed-out";
    pg->title = "Signed out";
    pg->message = "You have signed out of this site.";
    pg->link = apr_pstrcat(req->pool, site->cfg->prefix, "/start?rd=%2F", NULL);
    oauth2_response_page_body(resp, pg);
}

/* The origin (scheme://host[:port]) of the provider's issuer: the only
 * one that may frame the front-channel logout page. NULL without one. */
static const char *issuer_origin(const oauth2_site_t *site, apr_pool_t *p)
{
    const char *iss = oauth2_provider_issuer(site->prov);
    apr_uri_t u;

    if (iss == NULL || *iss == '\0' || apr_uri_parse(p, iss, &u) != APR_SUCCESS
        || u.scheme == NULL || u.hostinfo == NULL
        || strpbrk(u.hostinfo, " \t;,'\"@") != NULL) {
        return NULL;
    }
    return apr_pstrcat(p, u.scheme, "://", u.hostinfo, NULL);
}

/* Why a front-channel logout request is refused, or NULL. */
static const char *frontchannel_refusal(const oauth2_site_t *site,
                                        const char *iss, const char *sid)
{
    const char *want = oauth2_provider_issuer(site->prov);
    apr_size_t i, n;

    if (iss == NULL || sid == NULL) {
        return iss ? "no sid" : "no iss";
    }
    if (want == NULL || *want == '\0' || strcmp(iss, want) != 0) {
        return "iss is not this provider's issuer";
    }
    n = strlen(sid);
    if (n == 0 || n > OAUTH2_MAX_SID) {
        return "sid is empty or too long";
    }
    for (i = 0; i < n; i++) {
        if (sid[i] < 0x20 || sid[i] > 0x7e) {
            return "sid has a character outside printable ASCII";
        }
    }
    return NULL;
}

/* frontchannel-logout?iss=..&sid=..: the provider's logout page loads this
 * in an iframe (OpenID Connect Front-Channel Logout 1.0 §2, §3): ends the
 * sessions of that sid. The answer is a small page that is never cached
 * (§3) and that only the provider's origin may frame. */
static void endpoint_frontchannel(const oauth2_site_t *site,
                                  oauth2_request_t *req,
                                  oauth2_response_t *resp)
{
    apr_table_t *args = NULL;
    const char *bad = NULL, *why, *sid = NULL;
    oauth2_page_t *pg;
    int n;

    if (oauth2_request_parse_query(req->pool, req->args, single_params, &args,
                                   &bad)
        != APR_SUCCESS) {
        why = "malformed or repeated query parameters";
    }
    else {
        sid = apr_table_get(args, "sid");
        why = frontchannel_refusal(site, apr_table_get(args, "iss"), sid);
    }
    if (why != NULL) {
        OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_FRONTCHANNEL)->level,
                   "OA2223: front-channel logout refused: %s", why);
        answer(req, resp, OAUTH2_ANS_FRONTCHANNEL, NULL, NULL);
        resp->frame_ancestors = issuer_origin(site, req->pool);
        return;
    }
    if (oauth2_sessions_logout_by(site, req, sid, NULL, &n) != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_ERR,
                   "OA2225: front-channel logout of sid %.200s not done: the "
                   "session store failed",
                   sid);
        answer(req, resp, OAUTH2_ANS_STORE_DOWN, NULL, NULL);
        return;
    }
    OAUTH2_LOG(req, OAUTH2_LOG_INFO,
               "OA2224: front-channel logout of sid %.200s: %d session(s)", sid,
               n);
    pg = apr_pcalloc(req->pool, sizeof(*pg));
    pg->status = 200;
    pg->kind = OAUTH2_PAGE_SIGNED_OUT;
    pg->reason = "signed-out";
    pg->title = "Signed out";
    pg->message = "You have signed out of this site.";
    oauth2_response_page_body(resp, pg);
    resp->frame_ancestors = issuer_origin(site, req->pool);
}

/* An error answer of the back-channel logout endpoint (§2.8). */
static void backchannel_error(oauth2_request_t *req, oauth2_response_t *resp,
                              const char *why)
{
    OAUTH2_LOG(req, oauth2_answer(OAUTH2_ANS_BACKCHANNEL)->level,
               "OA2215: back-channel logout refused: %s", why);
    answer(req, resp, OAUTH2_ANS_BACKCHANNEL, NULL, NULL);
}

/* Marks the logout token's jti used (§2.6: a replay is refused); key
 * the marker's. */
static apr_status_t backchannel_once(const oauth2_site_t *site,
                                     oauth2_request_t *req, const char *jti,
                                     unsigned char *key)
{
    apr_status_t rv = oauth2_site_key(
        site, apr_pstrcat(req->pool, "jti:", jti, NULL), strlen(jti) + 4, key);

    if (rv == APR_SUCCESS) {
        rv = oauth2_store_add(site->store, req->pool, key,
                              req->now + apr_time_from_sec(3600), req->now);
    }
    return rv;
}

/* Ends the sessions of the logout token's sid or sub and says so; 0 when
 * that failed (then the caller answers 503). */
static int backchannel_end(const oauth2_site_t *site, oauth2_request_t *req,
                           const char *sid, const char *sub)
{
    /* Cookie sessions are revoked by sub where there is one. */
    int by_sub = sid == NULL || (site->cookie_sessions && sub != NULL), n;
    const char *kind = by_sub ? "sub" : "sid", *value = by_sub ? sub : sid;
    apr_status_t rv = oauth2_sessions_logout_by(site, req, sid, sub, &n);

    if (rv != APR_SUCCESS) {
        OAUTH2_LOG(req, OAUTH2_LOG_ERR,
                   "OA2221: back-channel logout of %s %.200s not done: %s "
                   "(%s); answered 503 for the provider to try again",
                   kind, value,
                   rv == OAUTH2_EFULL ? "no room for the revocation in the "
                                        "session table"
                                      : "the session store failed",
                   oauth2_strerror(rv));
        return 0;
    }
    oauth2_metrics_add(OAUTH2_METRIC_ENDED_BACKCHANNEL,
                       n > 0 ? (apr_uint64_t)n : 0);
    if (site->cookie_sessions) {
        OAUTH2_LOG(req, OAUTH2_LOG_INFO,
                   "OA2216: back-channel logout of %s %.200s: its cookie "
                   "sessions%s are revoked",
                   kind, value, by_sub ? " created until now" : "");
    }
    else {
        OAUTH2_LOG(req, OAUTH2_LOG_INFO,
                   "OA2216: back-channel logout of %s %.200s: %d session(s)",
                   kind, value, n);
    }
    return 1;
}

/* backchannel-logout: the provider POSTs a logout token (OpenID Connect
 * Back-Channel Logout 1.0 §2.5-2.8). */
static void endpoint_backchannel(const oauth2_site_t *site,
                                 oauth2_request_t *req, oauth2_response_t *resp)
{
    const char *token = NULL, *err = NULL, *sid, *sub;
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_claims_t *claims;
    oauth2_client_t cl;
    apr_status_t rv;

    if (oauth2_request_form_value(req, "logout_token", OAUTH2_MAX_JWT + 1024,
                                  OAUTH2_MAX_JWT, &token)
        != APR_SUCCESS) {
        backchannel_error(req, resp, "no single logout_token in a form body");
        return;
    }
    oauth2_site_client(site, req, &cl);
    rv = oauth2_login_verify_logout_token(req->pool, &cl, token, req->now,
                                          &claims, &err);
    if (rv != APR_SUCCESS) {
        backchannel_error(req, resp, err ? err : oauth2_strerror(rv));
        return;
    }
    rv = backchannel_once(site, req, oauth2_claims_get_string(claims, "jti"),
                          key);
    if (rv != APR_SUCCESS) {
        backchannel_error(req, resp,
                          rv == OAUTH2_EREPLAY ? "replayed logout token (jti)"
                                               : "the store failed");
        return;
    }
    sid = oauth2_claims_get_string(claims, "sid");
    sub = oauth2_claims_get_string(claims, "sub");
    if (!backchannel_end(site, req, sid, sub)) {
        /* The jti is free again, so the provider's retry is done, not
         * refused as a replay (finding H of the third review). */
        oauth2_store_remove(site->store, req->pool, key);
        answer(req, resp, OAUTH2_ANS_LOGOUT_RETRY, NULL, NULL);
        return;
    }
    oauth2_response_body(resp, 200, NULL, NULL);
}

/* A JSON string literal (RFC 8259 §7) of s. */
static const char *json_str(apr_pool_t *p, const char *s)
{
    json_object *o = json_object_new_string(s);
    const char *out = apr_pstrdup(
        p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE));

    json_object_put(o);
    return out;
}

/* The entries of a list field as JSON strings, each after sep. */
static const char *json_list(apr_pool_t *p, const oauth2_session_t *s,
                             oauth2_session_field_e field, const char *out)
{
    const char *pos = NULL, *g;

    while ((g = oauth2_session_list_next(s, field, &pos)) != NULL) {
        out = apr_pstrcat(p, out, *out ? "," : "", json_str(p, g), NULL);
    }
    return out;
}

/* The session's resources as JSON members: "project:acme/app":
 * "developer", "repo:acme/app": "none", ... */
static const char *resources_json(apr_pool_t *p, const oauth2_session_t *s)
{
    const char *pos = NULL, *k, *v, *out = "";

    while ((k = oauth2_session_list_next(s, OAUTH2_SF_RESOURCES, &pos)) != NULL
           && (v = oauth2_session_list_next(s, OAUTH2_SF_RESOURCES, &pos))
                  != NULL) {
        out = apr_pstrcat(p, out, *out ? "," : "", json_str(p, k), ":",
                          json_str(p, oauth2_authz_level_name(p, k, atoi(v))),
                          NULL);
    }
    return out;
}

/* userinfo: the current session as JSON, or 401. */
static void endpoint_userinfo(const oauth2_site_t *site, oauth2_request_t *req,
                              oauth2_response_t *resp)
{
    const oauth2_site_t *all[OAUTH2_MAX_PROVIDERS + 1];
    const oauth2_session_t *s;
    const char *groups;
    oauth2_authn_t a;
    int i, n = providers_of(site, all);
    apr_status_t rv = OAUTH2_ENOTFOUND;

    memset(&a, 0, sizeof(a));
    for (i = 0; i < n && rv != APR_SUCCESS; i++) {
        rv = oauth2_sessions_find(all[i], req, 0, &a, NULL, resp);
    }
    if (rv != APR_SUCCESS) {
        answer(req, resp, OAUTH2_ANS_NOT_LOGGED_IN, NULL, NULL);
        resp->www_authenticate = "Bearer realm=\"oauth2\"";
        return;
    }
    s = a.session;
    groups = json_list(req->pool, s, OAUTH2_SF_GROUPS, "");
    groups = json_list(req->pool, s, OAUTH2_SF_API_GROUPS, groups);
    oauth2_response_body(
        resp, 200, "application/json",
        apr_psprintf(
            req->pool,
            "{\"user\":%s,\"email\":%s,\"preferred_username\":%s,"
            "\"groups\":[%s],\"resources\":{%s},\"expires\":%" APR_TIME_T_FMT
            "}\n",
            json_str(req->pool, s->f[OAUTH2_SF_USER]),
            json_str(req->pool, s->f[OAUTH2_SF_EMAIL]),
            json_str(req->pool, s->f[OAUTH2_SF_USERNAME]), groups,
            resources_json(req->pool, s),
            apr_time_sec(a.expires < s->max_expires ? a.expires
                                                    : s->max_expires)));
}

typedef void (*endpoint_fn)(const oauth2_site_t *, oauth2_request_t *,
                            oauth2_response_t *);

/* The endpoints, each with the one method it answers (HEAD is a GET). */
static const struct {
    const char *name;
    const char *method;
    endpoint_fn fn;
} endpoints[] = {
    { "callback", "GET", endpoint_callback },
    { "start", "GET", endpoint_start },
    { "logout", "GET", endpoint_logout },
    { "userinfo", "GET", endpoint_userinfo },
    { "backchannel-logout", "POST", endpoint_backchannel },
    { "signed-out", "GET", endpoint_signed_out },
    { "frontchannel-logout", "GET", endpoint_frontchannel },
    { "choose", "GET", endpoint_choose },
};
#define NENDPOINTS ((int)(sizeof(endpoints) / sizeof(endpoints[0])))

/* The endpoint name a path gives, or NULL. */
static const char *endpoint_name(const oauth2_site_t *site, const char *u)
{
    const char *prefix = site->cfg->prefix;
    apr_size_t n;

    /* Every request comes here: most are out at their second character
     * (both paths start with '/'). */
    if (u[0] == '/' && prefix[1] != '\0' && u[1] != prefix[1]
        && u[1] != site->callback_path[1]) {
        return NULL;
    }
    if (strcmp(u, site->callback_path) == 0) {
        return "callback";
    }
    n = strlen(prefix);
    if (strncmp(u, prefix, n) != 0 || u[n] != '/') {
        return NULL;
    }
    return u + n + 1;
}

/* Does site serve endpoint fn? The sign-in page where there are named
 * providers; the provider's own endpoints where there is one. */
static int serves(const oauth2_site_t *site, endpoint_fn fn)
{
    if (fn == endpoint_choose) {
        return site->nnamed > 0;
    }
    return site->prov != NULL
           || (fn != endpoint_callback && fn != endpoint_backchannel
               && fn != endpoint_frontchannel);
}

static int match_one(const oauth2_site_t *site, const char *path)
{
    const char *name = endpoint_name(site, path);
    int i;

    for (i = 0; name != NULL && i < NENDPOINTS; i++) {
        if (strcmp(name, endpoints[i].name) == 0) {
            return serves(site, endpoints[i].fn) ? i : -1;
        }
    }
    return -1;
}

int oauth2_endpoints_match(const oauth2_site_t *site, const char *path)
{
    int i, which;

    if (path == NULL) {
        return -1;
    }
    which = match_one(site, path);
    /* A named provider's: (1 + its index) * NENDPOINTS + which. */
    for (i = 0; which < 0 && i < site->nnamed; i++) {
        which = match_one(site->named[i], path);
        which = which < 0 ? -1 : (i + 1) * NENDPOINTS + which;
    }
    return which;
}

/* Does the request's method count as m (HEAD as GET, as Apache counts)? */
static int method_is(const oauth2_request_t *req, const char *m)
{
    return req->method != NULL
           && (strcmp(req->method, m) == 0
               || (strcmp(m, "GET") == 0 && strcmp(req->method, "HEAD") == 0));
}

void oauth2_endpoints_handle(const oauth2_site_t *site, int which,
                             oauth2_request_t *req, oauth2_response_t *resp)
{
    if (which >= NENDPOINTS && which / NENDPOINTS <= site->nnamed) {
        site = site->named[which / NENDPOINTS - 1];
        which %= NENDPOINTS;
    }
    if (which < 0 || which >= NENDPOINTS) {
        resp->kind = OAUTH2_RESPONSE_DECLINE;
        return;
    }
    if (!method_is(req, endpoints[which].method)) {
        answer(req, resp, OAUTH2_ANS_METHOD, NULL, NULL);
        resp->allow = endpoints[which].method;
        return;
    }
    endpoints[which].fn(site, req, resp);
}

/* The live sessions of the site's store: absent where the store cannot
 * tell (no stats, a socache store) and for cookie sessions (the store then
 * holds only their one-time markers). */
static const char *sessions_live(apr_pool_t *p, const oauth2_site_t *site,
                                 const oauth2_store_stats_t *st)
{
    if (site->cookie_sessions || !st->sessions_known) {
        return "";
    }
    return apr_psprintf(p,
                        "# HELP oauth2_sessions_live Live sessions in the "
                        "session store.\n"
                        "# TYPE oauth2_sessions_live gauge\n"
                        "oauth2_sessions_live %u\n",
                        st->sessions);
}

/* The store's own figures in Prometheus text format ("" for a store that
 * keeps none: redis, memcache). */
static const char *store_metrics(apr_pool_t *p, const oauth2_site_t *site)
{
    oauth2_store_stats_t st;

    if (site->store == NULL
        || oauth2_store_stats(site->store, &st) != APR_SUCCESS) {
        return "";
    }
    return apr_psprintf(
        p,
        "%s"
        "# HELP oauth2_store_entries Entries in the shm table: sessions, "
        "back-channel logout index entries, cached bearer tokens (expired "
        "ones until swept).\n"
        "# TYPE oauth2_store_entries gauge\n"
        "oauth2_store_entries %u\n"
        "# HELP oauth2_sessions_capacity Entries the shm table holds "
        "(OAuth2SessionStore shm:N).\n"
        "# TYPE oauth2_sessions_capacity gauge\n"
        "oauth2_sessions_capacity %u\n"
        "# HELP oauth2_shm_chunks_free Free overflow chunks of the shm table "
        "(room for large sessions).\n"
        "# TYPE oauth2_shm_chunks_free gauge\n"
        "oauth2_shm_chunks_free %u\n"
        "# HELP oauth2_shm_bytes Size of the shm table's segment.\n"
        "# TYPE oauth2_shm_bytes gauge\n"
        "oauth2_shm_bytes %" APR_UINT64_T_FMT "\n"
        "# HELP oauth2_store_evictions_total Live entries (sessions, cached "
        "tokens) the shm table evicted to make room (OA2130).\n"
        "# TYPE oauth2_store_evictions_total counter\n"
        "oauth2_store_evictions_total %" APR_UINT64_T_FMT "\n"
        "# HELP oauth2_sessions_evicted_total Live sessions the shm table "
        "evicted to make room (OA2130): raise OAuth2SessionStore shm:N.\n"
        "# TYPE oauth2_sessions_evicted_total counter\n"
        "oauth2_sessions_evicted_total %u\n"
        "# HELP oauth2_index_links_evicted_total Live back-channel logout "
        "index entries evicted for newer ones (their sessions end).\n"
        "# TYPE oauth2_index_links_evicted_total counter\n"
        "oauth2_index_links_evicted_total %" APR_UINT64_T_FMT "\n"
        "# HELP oauth2_sessions_refused_total Sessions the shm table had no "
        "room for (OA2132).\n"
        "# TYPE oauth2_sessions_refused_total counter\n"
        "oauth2_sessions_refused_total %" APR_UINT64_T_FMT "\n"
        "# HELP oauth2_markers_evicted_total One-time markers (used login "
        "states, logout token ids) evicted for newer markers.\n"
        "# TYPE oauth2_markers_evicted_total counter\n"
        "oauth2_markers_evicted_total %" APR_UINT64_T_FMT "\n"
        "# HELP oauth2_shm_repairs_total Repairs of the shm table after a "
        "process died writing it (OA2131).\n"
        "# TYPE oauth2_shm_repairs_total counter\n"
        "oauth2_shm_repairs_total %u\n",
        sessions_live(p, site, &st), st.live, st.capacity, st.chunks_free,
        st.size, st.evictions, st.sessions_evicted, st.links_evicted,
        st.refused, st.markers_evicted, st.repairs);
}

/* One sample of a provider counter: unlabelled for the virtual host's
 * own provider, {provider="NAME"} for a named one. */
static const char *provider_sample(apr_pool_t *p, const char *metric,
                                   const oauth2_site_t *site, unsigned int v)
{
    return site->name ? apr_psprintf(p, "%s{provider=\"%s\"} %u\n", metric,
                                     site->name, v)
                      : apr_psprintf(p, "%s %u\n", metric, v);
}

/* The provider view's counters (the whole server's, for this site's
 * providers: its own and its named ones). */
static const char *provider_metrics(apr_pool_t *p, const oauth2_site_t *site)
{
    static const char *const help[3][2] = {
        { "oauth2_discovery_fetches_total",
          "Discovery documents fetched for this virtual host's provider." },
        { "oauth2_jwks_fetches_total",
          "JWK Sets fetched for this virtual host's provider." },
        { "oauth2_fetch_failures_total",
          "Failed fetches of this virtual host's provider's documents." },
    };
    const oauth2_site_t *all[OAUTH2_MAX_PROVIDERS + 1];
    const char *out = "";
    int i, k, n = providers_of(site, all);

    for (k = 0; k < 3; k++) {
        out = apr_pstrcat(p, out, "# HELP ", help[k][0], " ", help[k][1],
                          "\n# TYPE ", help[k][0], " counter\n", NULL);
        for (i = 0; i < n; i++) {
            oauth2_provider_stats_t ps;

            oauth2_provider_stats(all[i]->prov, &ps);
            out = apr_pstrcat(p, out,
                              provider_sample(p, help[k][0], all[i],
                                              k == 0   ? ps.discovery_fetches
                                              : k == 1 ? ps.jwks_fetches
                                                       : ps.fetch_failures),
                              NULL);
        }
    }
    return out;
}

void oauth2_endpoints_status(const oauth2_site_t *site, oauth2_request_t *req,
                             oauth2_response_t *resp)
{
    const char *body;

    if (!method_is(req, "GET")) {
        answer(req, resp, OAUTH2_ANS_METHOD, NULL, NULL);
        resp->allow = "GET";
        return;
    }
    body = oauth2_metrics_text(req->pool, oauth2_metrics_current());
    if (site != NULL) {
        body = apr_pstrcat(req->pool, body, store_metrics(req->pool, site),
                           provider_metrics(req->pool, site), NULL);
    }
    oauth2_response_body(resp, 200, "text/plain; version=0.0.4; charset=utf-8",
                         body);
}
