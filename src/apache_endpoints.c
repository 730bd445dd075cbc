/*
 * apache_endpoints.c: the module's own endpoints under OAuth2Prefix,
 * served from the quick handler, before any access control, so they need
 * no AuthType block and a Require rule around them cannot lock the login
 * out: callback (the authorization response), start, logout, userinfo.
 */
#include <stdlib.h>
#include <string.h>

#include "apr_lib.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "apache.h"
#include "authz.h"
#include "base64url.h"
#include "bounds.h"
#include "cookie.h"
#include "errors.h"
#include "login.h"
#include "redirect.h"
#include "state.h"
#include "http.h"

/* Query parameters that must appear at most once (RFC 6749 §3.1: "request
 * and response parameters MUST NOT be included more than once"). */
static const char *const single_params[] = {
    "state", "code", "error", "iss", "rd", NULL,
};

/* Parses r->args into a table. A repeated single parameter is an error
 * (returned as its name). */
static const char *parse_args(request_rec *r, apr_table_t **out)
{
    apr_table_t *t = apr_table_make(r->pool, 8);
    char *args, *pair, *last = NULL;
    int i;

    *out = t;
    if (r->args == NULL) {
        return NULL;
    }
    args = apr_pstrdup(r->pool, r->args);
    for (pair = apr_strtok(args, "&", &last); pair != NULL;
         pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');
        char *v = eq ? eq + 1 : "";

        if (eq != NULL) {
            *eq = '\0';
        }
        if (ap_unescape_urlencoded(pair) != OK
            || ap_unescape_urlencoded(v) != OK) {
            return "(malformed)";
        }
        for (i = 0; single_params[i] != NULL; i++) {
            if (strcmp(pair, single_params[i]) == 0
                && apr_table_get(t, pair) != NULL) {
                return single_params[i];
            }
        }
        apr_table_addn(t, pair, v);
    }
    return NULL;
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

/* Finds, clears and opens the state cookie of this callback. */
static int callback_state(request_rec *r, const auth_oauth2_srv_conf *srv,
                          const char *state, oauth2_state_t **st)
{
    const char *name, *err = NULL;
    oauth2_cookie_t c;
    apr_status_t rv;

    if (state == NULL || !state_shape_ok(state)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2201: callback without a valid state parameter");
        return auth_oauth2_page(r, HTTP_BAD_REQUEST, "Login failed",
                                "The login response is incomplete.", "/");
    }
    name = oauth2_state_cookie_name(r->pool, state);
    if (oauth2_cookie_find(apr_table_get(r->headers_in, "Cookie"), name, &c, 1)
        == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2202: callback without its state cookie (expired, "
                      "another browser, or login CSRF)");
        return auth_oauth2_page(r, HTTP_BAD_REQUEST, "Login failed",
                                "This login was not started in this browser, "
                                "or it took too long.",
                                "/");
    }
    auth_oauth2_set_cookie(r, srv, name, "", 0, srv->callback_path);
    rv = oauth2_state_open(r->pool, srv->seal_state, c.value, c.value_len,
                           state, apr_time_now(),
                           apr_time_from_sec(OAUTH2_STATE_LIFETIME), st, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK,
                      rv == OAUTH2_EEXPIRED ? APLOG_INFO : APLOG_WARNING, 0, r,
                      "OA2203: state cookie refused: %s", err);
        return auth_oauth2_page(r, HTTP_BAD_REQUEST, "Login failed",
                                rv == OAUTH2_EEXPIRED
                                    ? "The login took too long."
                                    : "The login state is not valid.",
                                "/");
    }
    return DECLINED;
}

/* Marks the state used (RFC 9700 §4.7: one-time use); refuses a replay. */
static int callback_once(request_rec *r, const auth_oauth2_srv_conf *srv,
                         const oauth2_state_t *st)
{
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    const char *id = apr_pstrcat(r->pool, "state:", st->state, NULL);
    apr_status_t rv;

    if (srv->store == NULL) {
        return DECLINED; /* cookie sessions: the cleared cookie is all */
    }
    rv = auth_oauth2_session_key(r, srv, id, strlen(id), key);
    if (rv == APR_SUCCESS) {
        rv = oauth2_store_add(srv->store, r->pool, key,
                              st->created
                                  + apr_time_from_sec(OAUTH2_STATE_LIFETIME),
                              apr_time_now());
    }
    if (rv == OAUTH2_EREPLAY) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2204: replayed login state refused");
        return auth_oauth2_page(r, HTTP_BAD_REQUEST, "Login failed",
                                "This login response was already used.", "/");
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "OA2205: session store failed while checking the state "
                      "(%s)",
                      oauth2_strerror(rv));
        return auth_oauth2_page(r, HTTP_SERVICE_UNAVAILABLE,
                                "Login unavailable",
                                "The session store is not available.", NULL);
    }
    return DECLINED;
}

/* The provider answered with error= (RFC 6749 §4.1.2.1). A user who
 * cancelled or may not log in gets plain words and a way to try again
 * (403), never a 5xx: that pages nobody's on-call. The provider's
 * error_description is shown escaped and bounded. */
static int callback_error(request_rec *r, const apr_table_t *args,
                          const char *error, const oauth2_state_t *st)
{
    const char *desc = apr_table_get(args, "error_description");
    int denied = strcmp(error, "access_denied") == 0
                 || strcmp(error, "login_required") == 0
                 || strcmp(error, "consent_required") == 0
                 || strcmp(error, "interaction_required") == 0
                 || strcmp(error, "account_selection_required") == 0;
    const char *msg;

    ap_log_rerror(APLOG_MARK, denied ? APLOG_INFO : APLOG_ERR, 0, r,
                  "OA2206: the provider ended the login with error=%.64s",
                  error);
    if (strcmp(error, "access_denied") == 0) {
        msg = "The login was cancelled, or the sign-in service did not "
              "allow this account to sign in here.";
    }
    else if (denied) {
        msg = "The sign-in service needs you to sign in or agree first.";
    }
    else {
        msg = "The sign-in service could not complete the login.";
    }
    if (desc != NULL && *desc != '\0') {
        msg = apr_psprintf(r->pool, "%s It said: \"%.300s\"", msg, desc);
    }
    return auth_oauth2_page(r, denied ? HTTP_FORBIDDEN : HTTP_BAD_GATEWAY,
                            denied ? "Not signed in" : "Login failed", msg,
                            st->return_to);
}

/* HTTP status and log level for a failed redemption. */
static int redeem_status(apr_status_t rv, int *level)
{
    switch (rv) {
    case OAUTH2_EBADSIG:
    case OAUTH2_EREFUSED:
    case OAUTH2_ENOTFOUND:
    case OAUTH2_EMISMATCH:
    case OAUTH2_EEXPIRED:
    case OAUTH2_ENOTYET:
    case OAUTH2_EMALFORMED:
        *level = APLOG_WARNING;
        return HTTP_UNAUTHORIZED;
    case OAUTH2_ECONFIG:
    case OAUTH2_ECRYPTO:
        *level = APLOG_ERR;
        return HTTP_INTERNAL_SERVER_ERROR;
    default:
        *level = APLOG_ERR;
        return HTTP_BAD_GATEWAY;
    }
}

/* Microsoft Entra ID leaves the groups out of a token when a user has
 * too many ("group overage": _claim_names.groups or hasgroups instead);
 * group rules then see none, which an administrator should learn. */
static void warn_overage(request_rec *r, const oauth2_claims_t *claims)
{
    json_object *has = oauth2_claims_get(claims, "hasgroups");

    if (oauth2_claims_get(claims, "_claim_names.groups") != NULL
        || (has != NULL && json_object_get_boolean(has))) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2217: the provider left the user's groups out of the "
                      "token (group overage): Require oauth2-group sees no "
                      "groups for this user");
    }
}

/* HTTP status for a session that could not be created: the user's claims
 * (403), the store (503), or the configuration (500, e.g. a session too
 * large for cookies). */
static int session_status(apr_status_t rv)
{
    if (rv == OAUTH2_EMISMATCH) {
        return HTTP_FORBIDDEN;
    }
    return rv == OAUTH2_ESTORE ? HTTP_SERVICE_UNAVAILABLE
                               : HTTP_INTERNAL_SERVER_ERROR;
}

/* The provider refused the code (invalid_grant): a reload of the
 * callback, a double click, the back button, a code used twice. The
 * user's doing, not an outage: the state was valid, so the browser starts
 * a fresh login to the same place, once; a second refusal in a row ends
 * on a 400 page with a link to start again. */
static int callback_refused_code(request_rec *r,
                                 const auth_oauth2_srv_conf *srv,
                                 const oauth2_state_t *st, const char *err)
{
    if (!st->retry) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "OA2220: the provider refused the code (%s): starting "
                      "a fresh login",
                      err ? err : "invalid_grant");
        return auth_oauth2_login_start(r, srv, st->return_to, 1);
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "OA2220: the provider refused the code of a restarted login "
                  "too (%s)",
                  err ? err : "invalid_grant");
    return auth_oauth2_page(r, HTTP_BAD_REQUEST, "Login failed",
                            "The sign-in service did not accept this login. "
                            "Please start again.",
                            st->return_to);
}

/* The session table had no room for this session, even after evicting
 * (issue 12 item 9): the session is refused, other users go on. */
static int session_full(request_rec *r, const auth_oauth2_srv_conf *srv,
                        const char *err)
{
    oauth2_shm_stats_t st;

    memset(&st, 0, sizeof(st));
    oauth2_shm_stats(oauth2_store_get_shm(srv->store), &st);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "OA2132: login of %.200s refused: %s; raise N in "
                  "OAuth2SessionStore shm:%u or make sessions smaller "
                  "(fewer claims or groups)",
                  r->user, err, st.capacity);
    return auth_oauth2_page(r, HTTP_SERVICE_UNAVAILABLE, "Login unavailable",
                            "The session store has no room for this "
                            "session. Please try again later.",
                            NULL);
}

/* Redeems the code and logs the user in. */
static int callback_finish(request_rec *r, const auth_oauth2_srv_conf *srv,
                           const oauth2_state_t *st, const char *code)
{
    const oauth2_endpoints_t *ep;
    oauth2_login_result_t *res = NULL;
    oauth2_client_t cl;
    const char *err = NULL;
    apr_time_t now = apr_time_now();
    apr_status_t rv;
    int level, status;

    auth_oauth2_client(r, srv, &cl);
    rv = oauth2_provider_endpoints(srv->prov, r->pool, now, &ep, &err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_login_redeem(r->pool, &cl, ep, st, code, now, &res, &err);
    }
    if (rv == OAUTH2_EREPLAY) {
        return callback_refused_code(r, srv, st, err);
    }
    if (rv != APR_SUCCESS) {
        status = redeem_status(rv, &level);
        ap_log_rerror(APLOG_MARK, level, 0, r, "OA2207: login failed: %s (%s)",
                      err ? err : "", oauth2_strerror(rv));
        if (status == HTTP_BAD_GATEWAY) {
            return auth_oauth2_provider_down(r, srv, st->return_to);
        }
        return auth_oauth2_page(r, status, "Login failed",
                                status == HTTP_UNAUTHORIZED
                                    ? "The identity token could not be "
                                      "verified."
                                    : "The login could not be completed.",
                                st->return_to);
    }
    warn_overage(r, res->claims);
    /* Google groups, GitLab projects, GitHub repositories the rules name:
     * a failure refuses the login (fail closed), like a GitHub API's. */
    rv = oauth2_groups_login(r->pool, srv->groups, ep, res, now, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "OA2219: login failed: %s (%s)", err ? err : "",
                      oauth2_strerror(rv));
        return auth_oauth2_page(r, HTTP_BAD_GATEWAY, "Login failed",
                                "The login provider's API could not tell "
                                "which groups this account is in.",
                                st->return_to);
    }
    rv = auth_oauth2_session_create(r, srv, res, &err);
    if (rv == OAUTH2_EFULL) {
        return session_full(r, srv, err);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK,
                      rv == OAUTH2_EMISMATCH ? APLOG_WARNING : APLOG_ERR, 0, r,
                      "OA2208: cannot create the session: %s", err);
        return auth_oauth2_page(r, session_status(rv), "Login failed", err,
                                NULL);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "OA2209: user %.200s logged in",
                  r->user);
    apr_table_setn(r->headers_out, "Location", st->return_to);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_MOVED_TEMPORARILY;
}

static int endpoint_callback(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    apr_table_t *args;
    const char *dup = parse_args(r, &args), *error, *iss, *code;
    oauth2_state_t *st = NULL;
    int rc;

    auth_oauth2_redact_request_line(r);
    if (dup != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2210: callback with a repeated or malformed "
                      "parameter %s",
                      dup);
        return auth_oauth2_page(r, HTTP_BAD_REQUEST, "Login failed",
                                "The login response is malformed.", "/");
    }
    rc = callback_state(r, srv, apr_table_get(args, "state"), &st);
    if (rc != DECLINED) {
        return rc;
    }
    /* Nothing below writes to the store before the callback carries a
     * code: an error= answer, or a callback that anyone can make with a
     * state from /start, costs no store entry (issue 12 item 8). */
    error = apr_table_get(args, "error");
    if (error != NULL) {
        return callback_error(r, args, error, st);
    }
    /* RFC 9207 §2.4: an iss parameter must name our provider (mix-up). */
    iss = apr_table_get(args, "iss");
    if (iss != NULL && strcmp(iss, oauth2_provider_issuer(srv->prov)) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2211: callback from another issuer %.200s", iss);
        return auth_oauth2_page(r, HTTP_BAD_REQUEST, "Login failed",
                                "The login response came from another "
                                "provider.",
                                "/");
    }
    code = apr_table_get(args, "code");
    if (code == NULL || *code == '\0' || strlen(code) > OAUTH2_MAX_URL) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2212: callback without a usable code");
        return auth_oauth2_page(r, HTTP_BAD_REQUEST, "Login failed",
                                "The login response has no code.", "/");
    }
    rc = callback_once(r, srv, st);
    return rc != DECLINED ? rc : callback_finish(r, srv, st, code);
}

/* A query with a repeated or undecodable parameter (400). */
static int bad_query(request_rec *r)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "OA2218: malformed or repeated query parameters on %.100s",
                  r->uri);
    return auth_oauth2_page(r, HTTP_BAD_REQUEST, "Bad request",
                            "The request's parameters are malformed or "
                            "repeated.",
                            "/");
}

/* start?rd=URL: begins a login explicitly. */
static int endpoint_start(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    apr_table_t *args;
    const char *rd;

    if (parse_args(r, &args) != NULL) {
        return bad_query(r);
    }
    rd = apr_table_get(args, "rd");
    return auth_oauth2_login_start(r, srv, rd ? rd : "/", 0);
}

/* A validated rd, or "/". */
static const char *checked_rd(request_rec *r, const auth_oauth2_srv_conf *srv,
                              const char *rd)
{
    const char *out, *err = NULL;

    if (rd == NULL) {
        return "/";
    }
    if (oauth2_redirect_validate(r->pool, rd, auth_oauth2_view(r)->host,
                                 srv->cfg->redirect_hosts, &out, &err)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "OA2213: refused redirect target %.200s (%s)", rd,
                      err ? err : "");
        return "/";
    }
    return out;
}

/* RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2): the
 * provider's end_session_endpoint with the ID token as a hint and the
 * (absolute) target to come back to, which the provider must have
 * registered as a post_logout_redirect_uri. */
static const char *end_session_url(request_rec *r,
                                   const auth_oauth2_srv_conf *srv,
                                   const auth_oauth2_req_t *req, const char *rd)
{
    const oauth2_endpoints_t *ep;
    const char *err, *back;

    if (req->session->len[OAUTH2_SF_ID_TOKEN] == 0
        || oauth2_provider_endpoints(srv->prov, r->pool, apr_time_now(), &ep,
                                     &err)
               != APR_SUCCESS
        || ep->end_session == NULL) {
        return NULL;
    }
    back = rd[0] == '/' ? ap_construct_url(r->pool, rd, r) : rd;
    return apr_pstrcat(
        r->pool, ep->end_session, strchr(ep->end_session, '?') ? "&" : "?",
        "id_token_hint=",
        oauth2_http_url_encode(r->pool, req->session->f[OAUTH2_SF_ID_TOKEN]),
        "&client_id=", oauth2_http_url_encode(r->pool, srv->cfg->client_id),
        "&post_logout_redirect_uri=", oauth2_http_url_encode(r->pool, back),
        NULL);
}

/* logout?rd=URL: ends the local session, then at the provider. */
static int endpoint_logout(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    apr_table_t *args;
    auth_oauth2_req_t *req = auth_oauth2_req(r);
    const char *rd, *to = NULL;

    if (parse_args(r, &args) != NULL) {
        return bad_query(r);
    }
    rd = checked_rd(r, srv, apr_table_get(args, "rd"));
    if (auth_oauth2_session_find(r, srv, 1, req) == APR_SUCCESS) {
        to = end_session_url(r, srv, req, rd);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "OA2214: user %.200s logged out%s",
                      req->session->f[OAUTH2_SF_USER],
                      to ? ", continuing at the provider" : "");
    }
    auth_oauth2_session_remove(r, srv, req);
    apr_table_setn(r->headers_out, "Location", to ? to : rd);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_MOVED_TEMPORARILY;
}

/* An error answer of the back-channel logout endpoint (§2.8). */
static int backchannel_error(request_rec *r, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "OA2215: back-channel logout refused: %s", why);
    r->status = HTTP_BAD_REQUEST;
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    ap_set_content_type(r, "application/json");
    ap_rputs("{\"error\":\"invalid_request\"}\n", r);
    return OK;
}

/* The logout_token of a form-encoded POST body (bounded). */
static const char *backchannel_token(request_rec *r)
{
    apr_array_header_t *pairs = NULL;
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    const char *token = NULL;
    int i;

    if (ct == NULL
        || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0
        || ap_parse_form_data(r, NULL, &pairs, 8, OAUTH2_MAX_JWT + 1024) != OK
        || pairs == NULL) {
        return NULL;
    }
    for (i = 0; i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t len = 0;
        apr_size_t size;
        char *buf;

        if (strcmp(pair->name, "logout_token") != 0) {
            continue;
        }
        if (token != NULL) {
            return NULL; /* repeated */
        }
        apr_brigade_length(pair->value, 1, &len);
        if (len <= 0 || len > OAUTH2_MAX_JWT) {
            return NULL;
        }
        size = (apr_size_t)len;
        buf = apr_palloc(r->pool, size + 1);
        apr_brigade_flatten(pair->value, buf, &size);
        buf[size] = '\0';
        token = buf;
    }
    return token;
}

/* backchannel-logout: the provider POSTs a logout token (OpenID Connect
 * Back-Channel Logout 1.0 §2.5-2.8). */
static int endpoint_backchannel(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    const char *token = backchannel_token(r), *err = NULL, *jti, *sid, *sub;
    unsigned char key[OAUTH2_STORE_KEY_LEN];
    oauth2_claims_t *claims;
    oauth2_client_t cl;
    apr_time_t now = apr_time_now();
    apr_status_t rv;
    int n;

    if (token == NULL) {
        return backchannel_error(r, "no single logout_token in a form body");
    }
    auth_oauth2_client(r, srv, &cl);
    rv = oauth2_login_verify_logout_token(r->pool, &cl, token, now, &claims,
                                          &err);
    if (rv != APR_SUCCESS) {
        return backchannel_error(r, err ? err : oauth2_strerror(rv));
    }
    jti = oauth2_claims_get_string(claims, "jti");
    rv = auth_oauth2_session_key(
        r, srv, apr_pstrcat(r->pool, "jti:", jti, NULL), strlen(jti) + 4, key);
    if (rv == APR_SUCCESS) {
        rv = oauth2_store_add(srv->store, r->pool, key,
                              now + apr_time_from_sec(3600), now);
    }
    if (rv != APR_SUCCESS) {
        return backchannel_error(r, rv == OAUTH2_EREPLAY
                                        ? "replayed logout token (jti)"
                                        : "the store failed");
    }
    sid = oauth2_claims_get_string(claims, "sid");
    sub = oauth2_claims_get_string(claims, "sub");
    n = auth_oauth2_session_logout_by(r, srv, sid, sub);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "OA2216: back-channel logout of %s %.200s: %d session(s)",
                  sid ? "sid" : "sub", sid ? sid : sub, n);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return OK;
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
static int endpoint_userinfo(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    auth_oauth2_req_t *req = auth_oauth2_req(r);
    const oauth2_session_t *s;
    const char *pos = NULL, *g, *groups = "";

    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    if (auth_oauth2_session_find(r, srv, 0, req) != APR_SUCCESS) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       "Bearer realm=\"oauth2\"");
        r->status = HTTP_UNAUTHORIZED;
        ap_set_content_type(r, "application/json");
        ap_rputs("{\"error\":\"not logged in\"}\n", r);
        return OK;
    }
    s = req->session;
    while ((g = oauth2_session_list_next(s, OAUTH2_SF_GROUPS, &pos)) != NULL) {
        groups = apr_pstrcat(r->pool, groups, *groups ? "," : "",
                             json_str(r->pool, g), NULL);
    }
    pos = NULL;
    while ((g = oauth2_session_list_next(s, OAUTH2_SF_API_GROUPS, &pos))
           != NULL) {
        groups = apr_pstrcat(r->pool, groups, *groups ? "," : "",
                             json_str(r->pool, g), NULL);
    }
    ap_set_content_type(r, "application/json");
    ap_rprintf(r,
               "{\"user\":%s,\"email\":%s,\"preferred_username\":%s,"
               "\"groups\":[%s],\"resources\":{%s},\"expires\":%" APR_TIME_T_FMT
               "}\n",
               json_str(r->pool, s->f[OAUTH2_SF_USER]),
               json_str(r->pool, s->f[OAUTH2_SF_EMAIL]),
               json_str(r->pool, s->f[OAUTH2_SF_USERNAME]), groups,
               resources_json(r->pool, s),
               apr_time_sec(req->expires < s->max_expires ? req->expires
                                                          : s->max_expires));
    return OK;
}

/* Which endpoint a path names, or NULL. */
static const char *endpoint_name(request_rec *r,
                                 const auth_oauth2_srv_conf *srv)
{
    const char *prefix = srv->cfg->prefix, *u = r->uri;
    apr_size_t n;

    /* Every request comes here: most are out at their second character
     * (both paths start with '/'). */
    if (u[0] == '/' && prefix[1] != '\0' && u[1] != prefix[1]
        && u[1] != srv->callback_path[1]) {
        return NULL;
    }
    n = strlen(prefix);
    if (strcmp(r->uri, srv->callback_path) == 0) {
        return "callback";
    }
    if (strncmp(r->uri, prefix, n) != 0 || r->uri[n] != '/') {
        return NULL;
    }
    return r->uri + n + 1;
}

typedef int (*endpoint_fn)(request_rec *, const auth_oauth2_srv_conf *);

/* The endpoints, each with the one method it answers. */
static const struct {
    const char *name;
    int method;
    endpoint_fn fn;
} endpoints[] = {
    { "callback", M_GET, endpoint_callback },
    { "start", M_GET, endpoint_start },
    { "logout", M_GET, endpoint_logout },
    { "userinfo", M_GET, endpoint_userinfo },
    { "backchannel-logout", M_POST, endpoint_backchannel },
};

int auth_oauth2_endpoint(request_rec *r, const auth_oauth2_srv_conf *srv)
{
    const char *sub = endpoint_name(r, srv);
    apr_size_t i;

    if (sub == NULL) {
        return DECLINED;
    }
    for (i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        if (strcmp(sub, endpoints[i].name) != 0) {
            continue;
        }
        if (r->method_number != endpoints[i].method) {
            ap_allow_methods(
                r, 1, endpoints[i].method == M_GET ? "GET" : "POST", NULL);
            return HTTP_METHOD_NOT_ALLOWED;
        }
        return endpoints[i].fn(r, srv);
    }
    return DECLINED;
}

int auth_oauth2_status_handler(request_rec *r)
{
    const auth_oauth2_srv_conf *srv = auth_oauth2_srv(r->server);
    oauth2_shm_t *shm;
    oauth2_shm_stats_t st;
    oauth2_provider_stats_t ps;

    if (r->handler == NULL || strcmp(r->handler, AUTH_OAUTH2_STATUS) != 0) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        ap_allow_methods(r, 1, "GET", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    shm = srv->store ? oauth2_store_get_shm(srv->store) : NULL;
    if (shm != NULL) {
        oauth2_shm_stats(shm, &st);
        ap_rprintf(r,
                   "# TYPE oauth2_sessions_capacity gauge\n"
                   "oauth2_sessions_capacity %u\n"
                   "# TYPE oauth2_sessions_live gauge\n"
                   "oauth2_sessions_live %u\n"
                   "# TYPE oauth2_shm_chunks_free gauge\n"
                   "oauth2_shm_chunks_free %u\n"
                   "# TYPE oauth2_shm_bytes gauge\n"
                   "oauth2_shm_bytes %" APR_UINT64_T_FMT "\n"
                   "# TYPE oauth2_sessions_evicted_total counter\n"
                   "oauth2_sessions_evicted_total %" APR_UINT64_T_FMT "\n"
                   "# TYPE oauth2_sessions_refused_total counter\n"
                   "oauth2_sessions_refused_total %" APR_UINT64_T_FMT "\n"
                   "# TYPE oauth2_markers_evicted_total counter\n"
                   "oauth2_markers_evicted_total %" APR_UINT64_T_FMT "\n"
                   "# TYPE oauth2_shm_repairs_total counter\n"
                   "oauth2_shm_repairs_total %u\n",
                   st.capacity, st.live, st.chunks_free, st.size, st.evictions,
                   st.refused, st.markers_evicted, st.repairs);
    }
    if (srv->prov != NULL) {
        oauth2_provider_stats(srv->prov, &ps);
        /* The provider view is the whole server's: so are its counters. */
        ap_rprintf(r,
                   "# TYPE oauth2_discovery_fetches_total counter\n"
                   "oauth2_discovery_fetches_total %u\n"
                   "# TYPE oauth2_jwks_fetches_total counter\n"
                   "oauth2_jwks_fetches_total %u\n"
                   "# TYPE oauth2_fetch_failures_total counter\n"
                   "oauth2_fetch_failures_total %u\n",
                   ps.discovery_fetches, ps.jwks_fetches, ps.fetch_failures);
    }
    return OK;
}
