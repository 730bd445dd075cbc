/*
 * login.c: authorization request, code redemption, ID token verification,
 * userinfo and refresh (see login.h).
 */
#include <string.h>
#include <strings.h>

#include <apr_base64.h>
#include <apr_strings.h>

#include "bounds.h"
#include "errors.h"
#include "github.h"
#include "http.h"
#include "jose.h"
#include "login.h"

/* A line of the login's story in the request's log (debug and trace
 * levels): names, statuses and timings, never a token or a code. */
#define STORY(cl, level, ...)                            \
    do {                                                 \
        if ((cl)->req != NULL) {                         \
            OAUTH2_LOG((cl)->req, (level), __VA_ARGS__); \
        }                                                \
    } while (0)

const char *oauth2_login_authorize_url(apr_pool_t *p, const oauth2_client_t *cl,
                                       const oauth2_endpoints_t *ep,
                                       const oauth2_state_t *st)
{
    const char *sep = strchr(ep->authorization, '?') ? "&" : "?";
    const char *url;

    url = apr_pstrcat(
        p, ep->authorization, sep, "response_type=code&client_id=",
        oauth2_http_url_encode(p, cl->cfg->client_id),
        "&redirect_uri=", oauth2_http_url_encode(p, cl->redirect_uri),
        "&scope=", oauth2_http_url_encode(p, cl->cfg->scope),
        "&state=", st->state, "&code_challenge=", st->challenge,
        "&code_challenge_method=S256", NULL);
    if (ep->oidc) {
        url = apr_pstrcat(p, url, "&nonce=", st->nonce, NULL);
    }
    if (cl->cfg->auth_params != NULL) {
        url = apr_pstrcat(p, url, cl->cfg->auth_params, NULL);
    }
    return url;
}

/* RFC 6749 §2.3.1: client_secret_basic with form-encoded id and secret. */
static const char *basic_auth(apr_pool_t *p, const oauth2_cfg_t *cfg)
{
    const char *cred =
        apr_pstrcat(p, oauth2_http_form_encode(p, cfg->client_id), ":",
                    oauth2_http_form_encode(p, cfg->client_secret), NULL);
    int n = (int)strlen(cred);
    char *b64 = apr_palloc(p, apr_base64_encode_len(n));

    apr_base64_encode(b64, cred, n);
    return apr_pstrcat(p, "Authorization: Basic ", b64, NULL);
}

/* POSTs a form to the token endpoint with the client's authentication. */
static apr_status_t token_call(apr_pool_t *p, const oauth2_client_t *cl,
                               const oauth2_endpoints_t *ep, const char *form,
                               oauth2_http_response_t **resp, const char **err)
{
    apr_array_header_t *h = apr_array_make(p, 2, sizeof(const char *));
    const oauth2_cfg_t *cfg = cl->cfg;
    oauth2_http_opts_t o = oauth2_http_for(cl->http, OAUTH2_CALL_TOKEN);

    if (ep->token == NULL) {
        *err = "the provider has no token endpoint";
        return OAUTH2_ECONFIG;
    }
    APR_ARRAY_PUSH(h, const char *) = "Accept: application/json";
    if (cfg->client_secret != NULL && !cfg->client_auth_post) {
        APR_ARRAY_PUSH(h, const char *) = basic_auth(p, cfg);
    }
    else {
        form = apr_pstrcat(p, form, "&client_id=",
                           oauth2_http_form_encode(p, cfg->client_id), NULL);
        if (cfg->client_secret != NULL) {
            form = apr_pstrcat(p, form, "&client_secret=",
                               oauth2_http_form_encode(p, cfg->client_secret),
                               NULL);
        }
    }
    return oauth2_http_call(p, &o, ep->token, h, form,
                            "application/x-www-form-urlencoded", resp, err);
}

/* A token value must be printable ASCII (RFC 6750 §2.1 b64token and
 * RFC 6749 Appendix A.12-13 VSCHAR): it may end up in a header. */
static int token_ok(const char *t)
{
    const unsigned char *s = (const unsigned char *)t;

    if (t == NULL || *t == '\0' || strlen(t) > OAUTH2_MAX_JWT) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < 0x20 || *s > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* When the access token expires (RFC 6749 §5.1 expires_in, seconds): a
 * JSON number, or a string of digits as some providers send; 0 when
 * absent or out of range. */
static apr_time_t expires_at(const oauth2_claims_t *tr, apr_time_t now)
{
    json_object *exp = oauth2_claims_get(tr, "expires_in");
    apr_int64_t secs = 0;
    const char *s;

    if (exp != NULL && json_object_is_type(exp, json_type_int)) {
        secs = json_object_get_int64(exp);
    }
    else if (exp != NULL && json_object_is_type(exp, json_type_string)) {
        s = json_object_get_string(exp);
        for (; *s >= '0' && *s <= '9' && secs < 1000000000; s++) {
            secs = secs * 10 + (*s - '0');
        }
        secs = *s == '\0' ? secs : 0;
    }
    if (secs <= 0 || secs >= 10L * 365 * 86400) {
        return 0;
    }
    return now + apr_time_from_sec(secs);
}

/* The names of a JSON object's members, comma-separated (from p). */
static const char *member_names(apr_pool_t *p, const oauth2_claims_t *c)
{
    json_object *o = c ? oauth2_claims_json(c) : NULL;
    const char *out = "";

    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        return "(none)";
    }
    json_object_object_foreach(o, k, v)
    {
        (void)v;
        out = apr_pstrcat(p, out, *out ? ", " : "", k, NULL);
    }
    return *out ? out : "(none)";
}

/* Reads a token response (RFC 6749 §5.1/§5.2). */
static apr_status_t token_parse(apr_pool_t *p, const oauth2_client_t *cl,
                                const oauth2_http_response_t *resp,
                                apr_time_t now, oauth2_login_result_t *res,
                                const char **err)
{
    oauth2_claims_t *tr;
    const char *e, *type;

    if (oauth2_claims_parse(p, resp->body, resp->body_len, OAUTH2_MAX_RESPONSE,
                            &tr, err)
        != APR_SUCCESS) {
        *err = apr_psprintf(p,
                            "token endpoint answered HTTP %ld with no "
                            "JSON object (%s)",
                            resp->status, *err);
        return OAUTH2_EUPSTREAM;
    }
    STORY(cl, OAUTH2_LOG_TRACE2, "OA2403: token response members: %s",
          member_names(p, tr));
    e = oauth2_claims_get_string(tr, "error");
    if (e != NULL || resp->status != 200) {
        *err = apr_psprintf(p,
                            "token endpoint answered HTTP %ld, error "
                            "'%.100s'",
                            resp->status, e ? e : "(none)");
        /* RFC 6749 §5.2: the grant (code or refresh token) is invalid,
         * expired, used or revoked: not an outage. */
        return e != NULL
                       && (strcmp(e, "invalid_grant") == 0
                           /* GitHub's name for it, at HTTP 200 */
                           || strcmp(e, "bad_verification_code") == 0)
                   ? OAUTH2_EREPLAY
                   : OAUTH2_EUPSTREAM;
    }
    res->access_token = oauth2_claims_get_string(tr, "access_token");
    res->refresh_token = oauth2_claims_get_string(tr, "refresh_token");
    res->id_token = oauth2_claims_get_string(tr, "id_token");
    if (!token_ok(res->access_token)
        || (res->refresh_token != NULL && !token_ok(res->refresh_token))) {
        *err = "token response has no usable access_token";
        return OAUTH2_EUPSTREAM;
    }
    /* RFC 6749 §7.1: a token of a type the client does not understand
     * (DPoP, MAC) must not be used as a bearer token. */
    type = oauth2_claims_get_string(tr, "token_type");
    if (type != NULL && strcasecmp(type, "bearer") != 0) {
        *err = apr_psprintf(p,
                            "token response has token_type '%.40s', not "
                            "Bearer",
                            type);
        return OAUTH2_EUPSTREAM;
    }
    res->access_expires = expires_at(tr, now);
    return APR_SUCCESS;
}

/* The debug line of a token request: the endpoint, its answer and how
 * long it took, and which tokens came back (their names, never a value). */
static void story_token(apr_pool_t *p, const oauth2_client_t *cl,
                        const char *url, const char *grant, apr_status_t rv,
                        const oauth2_http_response_t *resp,
                        const oauth2_login_result_t *res, apr_time_t now,
                        const char *err)
{
    if (cl->req == NULL) {
        return;
    }
    if (resp == NULL || rv != APR_SUCCESS) {
        STORY(cl, OAUTH2_LOG_DEBUG,
              "OA2403: token request (%s) to %.200s failed%s%s in %ld ms: "
              "%s",
              grant, url ? url : "(no token endpoint)",
              resp ? apr_psprintf(p, " (HTTP %ld)", resp->status) : "",
              resp ? "" : " without an answer",
              resp ? (long)apr_time_as_msec(resp->took) : 0L,
              err ? err : oauth2_strerror(rv));
        return;
    }
    STORY(cl, OAUTH2_LOG_DEBUG,
          "OA2403: token endpoint %.200s answered HTTP %ld in %ld ms (%s): "
          "access_token (%s)%s%s",
          url, resp->status, (long)apr_time_as_msec(resp->took), grant,
          res->access_expires
              ? apr_psprintf(p, "expires in %ld s",
                             (long)apr_time_sec(res->access_expires - now))
              : "no expiry given",
          res->id_token ? ", id_token" : "",
          res->refresh_token ? ", refresh_token" : "");
}

/* A token request of grant (form) and its answer in res. */
static apr_status_t exchange(apr_pool_t *p, const oauth2_client_t *cl,
                             const oauth2_endpoints_t *ep, const char *form,
                             const char *grant, apr_time_t now,
                             oauth2_login_result_t *res, const char **err)
{
    oauth2_http_response_t *resp = NULL;
    apr_status_t rv = token_call(p, cl, ep, form, &resp, err);

    if (rv == APR_SUCCESS) {
        rv = token_parse(p, cl, resp, now, res, err);
    }
    story_token(p, cl, ep->token, grant, rv, resp, res, now, *err);
    return rv;
}

/* Verifies an ID token: signature with the provider's keys, then the
 * claims (OIDC Core §3.1.3.7). nonce NULL: a refreshed token (§12.2). */
apr_status_t oauth2_login_verify_jwt(apr_pool_t *p, oauth2_provider_t *prov,
                                     const char *token,
                                     const oauth2_claims_expect_t *x,
                                     oauth2_claims_t **claims, const char **err)
{
    return oauth2_login_verify_jwt_seen(p, prov, token, x, claims, err, NULL);
}

apr_status_t
oauth2_login_verify_jwt_seen(apr_pool_t *p, oauth2_provider_t *prov,
                             const char *token, const oauth2_claims_expect_t *x,
                             oauth2_claims_t **claims, const char **err,
                             oauth2_login_seen_t *seen)
{
    oauth2_provider_use_t use;
    oauth2_jws_t *jws;
    const char *payload;
    apr_size_t plen;
    apr_status_t rv;

    if (token == NULL || strlen(token) > OAUTH2_MAX_JWT) {
        *err = "no token, or one too long";
        return OAUTH2_EMALFORMED;
    }
    rv = oauth2_jose_jws_parse(p, token, strlen(token), &jws, err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_provider_verify_used(prov, p, x->now, jws, err,
                                         seen ? &seen->jwks : &use);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (seen != NULL) {
        seen->alg = oauth2_jose_jws_alg(jws);
        seen->kid = oauth2_jose_jws_kid(jws);
    }
    payload = oauth2_jose_jws_payload(jws, &plen);
    rv = oauth2_claims_parse(p, payload, plen, OAUTH2_MAX_JWT, claims, err);
    if (rv != APR_SUCCESS) {
        *err = apr_pstrcat(p, "payload: ", *err, NULL);
        return OAUTH2_EMALFORMED;
    }
    rv = oauth2_claims_validate(p, *claims, x, err);
    if (rv == APR_SUCCESS) {
        rv = oauth2_claims_check_typ(p, *claims, oauth2_jose_jws_typ(jws), x,
                                     err);
    }
    return rv;
}

/* The expectations for a token of the provider addressed to us. */
static oauth2_claims_expect_t expect(const oauth2_client_t *cl,
                                     oauth2_token_kind_e kind,
                                     const char *nonce, apr_time_t now)
{
    oauth2_claims_expect_t x;

    memset(&x, 0, sizeof(x));
    x.kind = kind;
    x.issuer = oauth2_provider_issuer(cl->prov);
    x.audience = cl->cfg->client_id;
    x.nonce = nonce;
    x.now = now;
    x.skew = apr_time_from_sec(cl->cfg->clock_skew);
    return x;
}

/* Verifies an ID token (OIDC Core §3.1.3.7); nonce NULL: a refreshed
 * token (§12.2). */
static apr_status_t verify_id_token(apr_pool_t *p, const oauth2_client_t *cl,
                                    const char *id_token, const char *nonce,
                                    apr_time_t now, oauth2_claims_t **claims,
                                    const char **err)
{
    oauth2_claims_expect_t x = expect(
        cl, nonce ? OAUTH2_TOKEN_ID : OAUTH2_TOKEN_ID_REFRESHED, nonce, now);
    oauth2_login_seen_t seen;
    apr_status_t rv = oauth2_login_verify_jwt_seen(p, cl->prov, id_token, &x,
                                                   claims, err, &seen);

    if (rv != APR_SUCCESS) {
        *err = apr_pstrcat(p, "ID token: ", *err, NULL);
        return rv;
    }
    STORY(cl, OAUTH2_LOG_DEBUG,
          "OA2404: ID token verified: %s signature (kid %.100s) with the "
          "provider's JWKS (%s); iss, aud, azp, exp (in %ld s), iat, nbf, %s "
          "checked",
          seen.alg ? seen.alg : "?", seen.kid ? seen.kid : "none",
          oauth2_provider_use_text(p, &seen.jwks, now),
          (long)(json_object_get_int64(oauth2_claims_get(*claims, "exp"))
                 - apr_time_sec(now)),
          nonce ? "nonce and typ" : "typ (no nonce: a refreshed token)");
    return APR_SUCCESS;
}

/* Fetches the userinfo claims with the access token (OIDC Core §5.3). */
static apr_status_t userinfo(apr_pool_t *p, const oauth2_client_t *cl,
                             const char *url, const char *access_token,
                             oauth2_claims_t **claims, const char **err)
{
    apr_array_header_t *h = apr_array_make(p, 2, sizeof(const char *));
    oauth2_http_opts_t o = oauth2_http_for(cl->http, OAUTH2_CALL_USERINFO);
    oauth2_http_response_t *resp;
    apr_status_t rv;

    APR_ARRAY_PUSH(h, const char *) = "Accept: application/json";
    APR_ARRAY_PUSH(h, const char *) =
        apr_pstrcat(p, "Authorization: Bearer ", access_token, NULL);
    rv = oauth2_http_call(p, &o, url, h, NULL, NULL, &resp, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    STORY(cl, OAUTH2_LOG_DEBUG,
          "OA2405: userinfo endpoint %.200s answered HTTP %ld in %ld ms", url,
          resp->status, (long)apr_time_as_msec(resp->took));
    if (resp->status != 200) {
        *err = apr_psprintf(p, "userinfo endpoint answered HTTP %ld",
                            resp->status);
        return OAUTH2_EUPSTREAM;
    }
    rv = oauth2_claims_parse(p, resp->body, resp->body_len, OAUTH2_MAX_RESPONSE,
                             claims, err);
    if (rv != APR_SUCCESS) {
        *err = apr_pstrcat(p, "userinfo response: ", *err, NULL);
        return OAUTH2_EUPSTREAM;
    }
    return APR_SUCCESS;
}

/* Adds the userinfo claims; OIDC Core §5.3.2: its sub must be the ID
 * token's, or the response is for someone else and must not be used. */
static apr_status_t add_userinfo(apr_pool_t *p, const oauth2_client_t *cl,
                                 const oauth2_endpoints_t *ep,
                                 oauth2_login_result_t *res, const char **err)
{
    oauth2_claims_t *ui;
    const char *sub, *uisub;
    apr_status_t rv;

    if (ep->github_api != NULL && res->claims == NULL) {
        return oauth2_github_claims(p, cl->http, ep->github_api,
                                    res->access_token, &res->claims, err);
    }
    if (ep->userinfo == NULL) {
        if (res->claims == NULL) {
            *err = "no ID token and no userinfo endpoint: nothing says who "
                   "the user is (set OAuth2Endpoint userinfo)";
            return OAUTH2_ECONFIG;
        }
        return APR_SUCCESS;
    }
    rv = userinfo(p, cl, ep->userinfo, res->access_token, &ui, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (res->claims == NULL) {
        res->claims = ui;
        return APR_SUCCESS;
    }
    sub = oauth2_claims_get_string(res->claims, "sub");
    uisub = oauth2_claims_get_string(ui, "sub");
    if (uisub == NULL || sub == NULL || strcmp(sub, uisub) != 0) {
        *err = "userinfo is about another subject than the ID token";
        return OAUTH2_EMISMATCH;
    }
    oauth2_claims_merge(res->claims, ui);
    return APR_SUCCESS;
}

apr_status_t oauth2_login_redeem(apr_pool_t *p, const oauth2_client_t *cl,
                                 const oauth2_endpoints_t *ep,
                                 const oauth2_state_t *st, const char *code,
                                 apr_time_t now, oauth2_login_result_t **out,
                                 const char **err)
{
    oauth2_login_result_t *res = apr_pcalloc(p, sizeof(*res));
    const char *form;
    apr_status_t rv;

    form = apr_pstrcat(
        p,
        "grant_type=authorization_code&code=", oauth2_http_form_encode(p, code),
        "&redirect_uri=", oauth2_http_form_encode(p, cl->redirect_uri),
        "&code_verifier=", st->verifier, NULL);
    rv = exchange(p, cl, ep, form, "authorization code", now, res, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (ep->oidc && res->id_token == NULL) {
        *err = "token response has no id_token (is the openid scope set?)";
        return OAUTH2_EUPSTREAM;
    }
    if (!ep->oidc) {
        /* Plain OAuth 2.0: no ID token was asked for (no openid scope, no
         * nonce); one sent anyway is neither verified nor kept. */
        res->id_token = NULL;
    }
    if (res->id_token != NULL) {
        rv = verify_id_token(p, cl, res->id_token, st->nonce, now, &res->claims,
                             err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    rv = add_userinfo(p, cl, ep, res, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    STORY(cl, OAUTH2_LOG_DEBUG, "OA2406: claims received: %s",
          member_names(p, res->claims));
    *out = res;
    return APR_SUCCESS;
}

apr_status_t oauth2_login_refresh(apr_pool_t *p, const oauth2_client_t *cl,
                                  const oauth2_endpoints_t *ep,
                                  const char *refresh_token, const char *sub,
                                  apr_time_t now, oauth2_login_result_t **out,
                                  const char **err)
{
    oauth2_login_result_t *res = apr_pcalloc(p, sizeof(*res));
    const char *form, *nsub;
    apr_status_t rv;

    form = apr_pstrcat(p, "grant_type=refresh_token&refresh_token=",
                       oauth2_http_form_encode(p, refresh_token), NULL);
    rv = exchange(p, cl, ep, form, "refresh token", now, res, err);
    if (rv != APR_SUCCESS || res->id_token == NULL) {
        *out = res;
        return rv;
    }
    rv = verify_id_token(p, cl, res->id_token, NULL, now, &res->claims, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* OIDC Core §12.2: a refreshed ID token is about the same subject. */
    nsub = oauth2_claims_get_string(res->claims, "sub");
    if (sub == NULL || nsub == NULL || strcmp(sub, nsub) != 0) {
        *err = "refreshed ID token is about another subject";
        return OAUTH2_EMISMATCH;
    }
    *out = res;
    return APR_SUCCESS;
}

apr_status_t oauth2_login_verify_logout_token(apr_pool_t *p,
                                              const oauth2_client_t *cl,
                                              const char *token, apr_time_t now,
                                              oauth2_claims_t **claims,
                                              const char **err)
{
    oauth2_claims_expect_t x = expect(cl, OAUTH2_TOKEN_LOGOUT, NULL, now);

    return oauth2_login_verify_jwt(p, cl->prov, token, &x, claims, err);
}
