/*
 * site_fixture.h: a virtual host of the engine for the unit tests of the
 * request path (sessions, cookie sessions, the index, the memo, access,
 * endpoints): a finalized configuration, its site with a real
 * shared-memory session table (an anonymous APR segment and a real global
 * mutex, as store_shm.c runs under Apache), and request views at a fixed
 * clock whose log lines the test reads back.
 *
 * The provider is plain OAuth 2.0 (no openid scope: no discovery, no ID
 * token) with its endpoints under base: a loopback server of the test
 * (fake_server.h) when it needs answers, else a host never called.
 */
#ifndef SITE_FIXTURE_H
#define SITE_FIXTURE_H

#include <apr_global_mutex.h>
#include <apr_pools.h>
#include <apr_shm.h>

#include "fake_server.h"
#include "request.h"
#include "response.h"
#include "site.h"
#include "store_shm.h"

/* A fixed clock: 2025-01-01T00:00:00Z. */
#define SF_NOW    ((apr_time_t)1735689600 * APR_USEC_PER_SEC)
#define SF_SECRET "0123456789abcdef0123456789abcdef-fixture"

typedef struct {
    int cookie_sessions; /* OAuth2SessionStore cookie */
    const char *base;    /* the provider's endpoints; NULL: unreachable */
    int session_timeout; /* 0: the default */
    int max_age;         /* 0: the default */
    int no_store;        /* no session store at all */
    int oidc;            /* OpenID Connect: discovery from base */
    /* <OAuth2Provider NAME> sections, names separated by spaces (NULL:
     * none): each plain OAuth 2.0 at https://NAME.example.com, client
     * NAME-app. */
    const char *named;
    int hub; /* the host has no provider of its own (named ones only) */
} sf_opts_t;

typedef struct {
    apr_pool_t *pool;
    apr_shm_t *seg;
    apr_global_mutex_t *mutex;
    oauth2_shm_t *shm;
    oauth2_store_t *store;
    oauth2_cfg_t *cfg;
    oauth2_site_t *site;
} sf_t;

/** The group setup and teardown of the tests that use the fixture: APR,
 * OpenSSL; the key (sf_done). */
int sf_setup(void **state);
int sf_teardown(void **state);

/** Builds the site (asserts on failure). */
void sf_open(sf_t *f, const sf_opts_t *o);

/** Destroys the site's pool (segment, mutex). */
void sf_close(sf_t *f);

/**
 * A GET-like request view at SF_NOW for method and uri (path?query) of
 * http://app.example.com, with the headers given as name, value pairs
 * ending in NULL (a NULL value leaves that header out), logging at DEBUG
 * into the fixture's log (sf_log), without a connection memo.
 */
oauth2_request_t *sf_request(sf_t *f, const char *method, const char *uri, ...);

/**
 * An encoded session record whose claims are claims_json (the user is
 * "sub"), with an access token (may be NULL) expiring at access_expires,
 * created at SF_NOW with an 8-hour max age; from the fixture's pool.
 */
const char *sf_record(sf_t *f, const char *claims_json, const char *access,
                      apr_time_t access_expires, apr_size_t *len);

/** A body for the next request's read_body. */
void sf_body(const char *body);

/**
 * A store of another kind than shm (as a socache store is to the engine):
 * the basic operations only, over a hash table in the fixture's pool;
 * records sealed with seal when not NULL. Every operation answers
 * sf_mem_fail's status instead while it is not APR_SUCCESS.
 */
oauth2_store_t *sf_mem_store(sf_t *f, const oauth2_seal_t *seal);
void sf_mem_fail(apr_status_t rv);
/** Writes raw bytes into the memory store (no sealing). */
void sf_mem_put_raw(const unsigned char *key, const char *rec, apr_size_t len,
                    apr_time_t expires);
/** The raw bytes the memory store holds under key (sealed or not). */
const char *sf_mem_raw(const unsigned char *key, apr_size_t *len);

/**
 * An RSA key of the test's provider (made once per process, kid "k1"):
 * its JWK Set as JSON, and JWTs it signs with RS256 (header and claims as
 * JSON texts), from p.
 */
const char *sf_jwks(apr_pool_t *p);
const char *sf_jwt(apr_pool_t *p, const char *header, const char *claims);

/** Frees the key (sf_teardown does). */
void sf_done(void);

/** Routes of an OpenID provider for a loopback server (fake_server.h),
 * before its start: discovery at {base} (with extra members, "" for
 * none) and the JWK Set (sf_jwks, from p). */
void sf_oidc_routes(fs_t *fs, apr_pool_t *p, const char *extra);

/** Everything logged since the last sf_log_clear, one line each. */
const char *sf_log(void);
void sf_log_clear(void);

/** The Set-Cookie value of resp for name, or NULL. */
const char *sf_set_cookie(const oauth2_response_t *resp, const char *name);

/** The Cookie header a browser would send after resp (cookies it sets
 * with a value; deletions dropped), from p. */
const char *sf_cookie_header(apr_pool_t *p, const oauth2_response_t *resp);

#endif /* SITE_FIXTURE_H */
