/*
 * bearer.c: bearer JWT access tokens (see bearer.h).
 */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "bearer.h"
#include "bounds.h"
#include "errors.h"
#include "jose.h"
#include "login.h"

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
 * "+" / "/" ) *"=" */
static int b64token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~' || c == '+' || c == '/';
}

const char *oauth2_bearer_token(const char *header)
{
    const char *t, *s;

    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0) {
        return NULL;
    }
    t = header + 7;
    while (*t == ' ') {
        t++;
    }
    for (s = t; b64token_char(*s); s++) {
    }
    while (*s == '=') {
        s++;
    }
    if (s == t || *s != '\0' || (apr_size_t)(s - t) > OAUTH2_MAX_JWT) {
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
