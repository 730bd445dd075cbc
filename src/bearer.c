/*
 * bearer.c: bearer JWT access tokens (see bearer.h).
 */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "base64url.h"
#include "bearer.h"
#include "bounds.h"
#include "errors.h"
#include "jose.h"
#include "login.h"

const char *oauth2_bearer_raw(const char *header)
{
    const char *t;

    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0) {
        return NULL;
    }
    t = header + 7;
    while (*t == ' ') {
        t++;
    }
    return t;
}

const char *oauth2_bearer_token(const char *header)
{
    const char *t = oauth2_bearer_raw(header), *s;
    apr_size_t len;

    if (t == NULL) {
        return NULL;
    }
    len = strlen(t);
    s = t + oauth2_base64url_token_span(t, len);
    if (s == t) {
        return NULL; /* at least one character before any '=' */
    }
    while (*s == '=') {
        s++;
    }
    if (*s != '\0' || (apr_size_t)(s - t) > OAUTH2_MAX_JWT) {
        return NULL;
    }
    return t;
}

apr_status_t oauth2_bearer_verify(apr_pool_t *p, oauth2_provider_t *prov,
                                  const char *token,
                                  const oauth2_bearer_expect_t *e,
                                  apr_time_t now, oauth2_claims_t **claims,
                                  const char **err)
{
    oauth2_claims_expect_t x;

    if (token == NULL || e == NULL || e->audience == NULL) {
        *err = "no token or no audience";
        return OAUTH2_EMALFORMED;
    }
    memset(&x, 0, sizeof(x));
    x.kind = OAUTH2_TOKEN_ACCESS;
    x.issuer = oauth2_provider_issuer(prov);
    x.audience = e->audience;
    x.client_id = e->client_id;
    x.allow_untyped = e->allow_untyped;
    x.now = now;
    x.skew = e->skew;
    return oauth2_login_verify_jwt(p, prov, token, &x, claims, err);
}
