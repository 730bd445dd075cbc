/*
 * bounds.h: the named maximum of every input that crosses a trust boundary.
 *
 * Each limit is checked before the input is parsed; going over returns
 * OAUTH2_ETOOBIG. Change a limit here, nowhere else.
 */
#ifndef OAUTH2_BOUNDS_H
#define OAUTH2_BOUNDS_H

/* A whole Cookie request header that the module is willing to scan. */
#define OAUTH2_MAX_COOKIE_HEADER (64 * 1024)
/* One cookie value of ours (session id, sealed state, session chunk). */
#define OAUTH2_MAX_COOKIE_VALUE 4000
/* Session id: 256 random bits, base64url without padding = 43 chars. */
#define OAUTH2_SESSION_ID_BYTES 32
#define OAUTH2_SESSION_ID_CHARS 43
/* A sealed state cookie value (base64url). */
#define OAUTH2_MAX_STATE_COOKIE 2048
/* The `state` parameter we generate: 128 bits, base64url = 22 chars. */
#define OAUTH2_STATE_ID_BYTES 16
/* Login state cookies a browser may hold at once (parallel tabs). */
#define OAUTH2_MAX_STATE_COOKIES 8
/* Lifetime of a login state, in seconds. */
#define OAUTH2_STATE_LIFETIME 300
/* A compact JWS (ID token, bearer token, logout token): an ID token of a
 * user in 400 groups of 60 characters is about 33 KB (Keycloak sends every
 * group). */
#define OAUTH2_MAX_JWT (64 * 1024)
/* A JWS protected header, decoded. */
#define OAUTH2_MAX_JWS_HEADER 2048
/* A JWK Set document. */
#define OAUTH2_MAX_JWKS (256 * 1024)
/* Keys taken from one JWK Set. */
#define OAUTH2_MAX_JWKS_KEYS 64
/* Nesting depth accepted by every JSON parse. */
#define OAUTH2_MAX_JSON_DEPTH 16
/* Any response body read from the provider (discovery, token, userinfo). */
#define OAUTH2_MAX_RESPONSE (512 * 1024)
/* Response headers read from the provider, all together. */
#define OAUTH2_MAX_RESPONSE_HEADERS (32 * 1024)
/* A redirect target (rd, original URL, post-logout target). */
#define OAUTH2_MAX_URL 4096
/* A dotted claim path and its number of segments. */
#define OAUTH2_MAX_CLAIM_PATH     256
#define OAUTH2_MAX_CLAIM_SEGMENTS 8
/* A serialized session record (claims, groups, tokens). */
#define OAUTH2_MAX_SESSION_RECORD (64 * 1024)
/* Groups kept per session (after OAuth2GroupsFilter), and their names'
 * bytes: a user with more is refused at login, never cut short. */
#define OAUTH2_MAX_GROUPS         1024
#define OAUTH2_MAX_SESSION_GROUPS (48 * 1024)
/* Length of one value sent to the backend in a header. */
#define OAUTH2_MAX_HEADER_VALUE 8192
/* Cookie-store chunks: count and total size. */
#define OAUTH2_MAX_COOKIE_CHUNKS 16
/* Pages followed when a provider API paginates (GitHub Link headers). */
#define OAUTH2_MAX_PAGES 20
/* An OAuth2Page template file, and how deep its sections nest. */
#define OAUTH2_MAX_PAGE_TEMPLATE (64 * 1024)
#define OAUTH2_MAX_PAGE_NESTING  8
/* The sid of a front-channel logout request (its syntax is a client id's,
 * OAuth 2.0 VSCHAR: printable ASCII). */
#define OAUTH2_MAX_SID 255

/* Clock skew accepted when checking exp, nbf and iat, in seconds (the
 * range of OAuth2ClockSkew). */
#define OAUTH2_MAX_CLOCK_SKEW 3600
/* RSA modulus of a JWK (larger keys are skipped: verification cost). */
#define OAUTH2_MAX_RSA_BITS 8192

#endif /* OAUTH2_BOUNDS_H */
