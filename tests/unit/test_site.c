/*
 * test_site.c: unit tests for src/site.c: what a virtual host's requests
 * need, built from its finalized configuration: the callback path (the
 * prefix's, or OAuth2RedirectURI's path), the scope that binds session
 * keys and cookie sessions to this client (another client, claim or
 * cookie name is another scope), the service named on pages, cookies with
 * the site's attributes, the absolute redirect URI.
 */
#include "site.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "crypto.h"
#include "errors.h"
#include "site_fixture.h"

static void test_site_defaults(void **state)
{
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    assert_string_equal(f.site->callback_path, "/oauth2/callback");
    assert_string_equal(f.site->service, "op.example.com");
    assert_int_equal(f.site->cookie_sessions, 0);
    assert_ptr_equal(f.site->store, f.store);
    assert_non_null(f.site->groups);
    assert_string_equal(f.site->http.user_agent, "test/1.0");
    assert_int_equal(f.site->http.timeout_ms, 10000);
    assert_int_equal(strncmp(f.site->session_aad, "oauth2_session:", 15), 0);
    sf_close(&f);
}

/* Another client, user claim or cookie is another scope: another key for
 * the same id, another associated data for cookie sessions. */
static void test_site_scope(void **state)
{
    apr_pool_t *p;
    oauth2_site_t *a, *b;
    oauth2_request_t *r;
    unsigned char ka[OAUTH2_STORE_KEY_LEN], ka2[OAUTH2_STORE_KEY_LEN],
        kb[OAUTH2_STORE_KEY_LEN];
    sf_t f;
    oauth2_cfg_t *c2;
    const char *err = NULL;

    (void)state;
    sf_open(&f, NULL);
    p = f.pool;
    a = f.site;
    c2 = apr_pmemdup(p, f.cfg, sizeof(*f.cfg));
    c2->client_id = "other";
    assert_int_equal(oauth2_site_create(p, c2, "t", &b, &err), APR_SUCCESS);
    r = sf_request(&f, "GET", "/", NULL);
    assert_int_equal(oauth2_site_key(a, r, "id", 2, ka), APR_SUCCESS);
    assert_int_equal(oauth2_site_key(a, r, "id", 2, ka2), APR_SUCCESS);
    assert_int_equal(oauth2_site_key(b, r, "id", 2, kb), APR_SUCCESS);
    assert_memory_equal(ka, ka2, sizeof(ka));
    assert_memory_not_equal(ka, kb, sizeof(ka));
    assert_string_not_equal(a->session_aad, b->session_aad);
    c2 = apr_pmemdup(p, f.cfg, sizeof(*f.cfg));
    c2->remote_user_claim = "email";
    assert_int_equal(oauth2_site_create(p, c2, "t", &b, &err), APR_SUCCESS);
    assert_memory_not_equal(a->key_tag, b->key_tag, sizeof(a->key_tag));
    c2 = apr_pmemdup(p, f.cfg, sizeof(*f.cfg));
    c2->cookie_name = "other_session";
    assert_int_equal(oauth2_site_create(p, c2, "t", &b, &err), APR_SUCCESS);
    assert_memory_not_equal(a->key_tag, b->key_tag, sizeof(a->key_tag));
    c2 = apr_pmemdup(p, f.cfg, sizeof(*f.cfg));
    c2->groups_claim = "roles";
    assert_int_equal(oauth2_site_create(p, c2, "t", &b, &err), APR_SUCCESS);
    assert_memory_not_equal(a->key_tag, b->key_tag, sizeof(a->key_tag));
    /* A marker key is "kind:value" under the scope. */
    assert_int_equal(oauth2_site_marker_key(a, r, "state", "x", kb),
                     APR_SUCCESS);
    assert_int_equal(oauth2_site_key(a, r, "state:x", 7, ka), APR_SUCCESS);
    assert_memory_equal(ka, kb, sizeof(ka));
    sf_close(&f);
}

static void test_site_redirect_uri(void **state)
{
    oauth2_site_t *s;
    oauth2_cfg_t *c;
    oauth2_request_t *r;
    oauth2_client_t cl;
    const char *err = NULL;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    r = sf_request(&f, "GET", "/", NULL);
    assert_string_equal(oauth2_site_redirect_uri(f.site, r),
                        "http://app.example.com/oauth2/callback");
    oauth2_site_client(f.site, r, &cl);
    assert_ptr_equal(cl.prov, f.site->prov);
    assert_string_equal(cl.redirect_uri,
                        "http://app.example.com/oauth2/callback");
    c = apr_pmemdup(f.pool, f.cfg, sizeof(*f.cfg));
    c->redirect_uri = "https://public.example.com/auth/cb";
    assert_int_equal(oauth2_site_create(f.pool, c, "t", &s, &err), APR_SUCCESS);
    assert_string_equal(s->callback_path, "/auth/cb");
    assert_string_equal(oauth2_site_redirect_uri(s, r),
                        "https://public.example.com/auth/cb");
    sf_close(&f);
}

static void test_site_cookie_attributes(void **state)
{
    oauth2_response_t resp;
    oauth2_request_t *r;
    const char *c;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    memset(&resp, 0, sizeof(resp));
    r = sf_request(&f, "GET", "/", NULL);
    oauth2_site_cookie(f.site, r, &resp, "n", "v", -1, NULL);
    c = APR_ARRAY_IDX(resp.cookies, 0, const char *);
    assert_non_null(strstr(c, "n=v; Path=/"));
    assert_non_null(strstr(c, "HttpOnly"));
    assert_non_null(strstr(c, "SameSite=Lax"));
    /* Secure by the request's scheme, unless OAuth2CookieSecure says. */
    assert_null(strstr(c, "Secure;"));
    r = sf_request(&f, "GET", "/", NULL);
    r->completed = 1;
    r->https = 1;
    oauth2_site_cookie(f.site, r, &resp, "n", "", 0, "/oauth2/callback");
    c = APR_ARRAY_IDX(resp.cookies, 1, const char *);
    assert_non_null(strstr(c, "Secure"));
    assert_non_null(strstr(c, "Path=/oauth2/callback"));
    assert_non_null(strstr(c, "Max-Age=0"));
    f.cfg->cookie_secure = 1;
    f.cfg->cookie_domain = "example.com";
    r = sf_request(&f, "GET", "/", NULL);
    oauth2_site_cookie(f.site, r, &resp, "n", "v", 60, NULL);
    c = APR_ARRAY_IDX(resp.cookies, 2, const char *);
    assert_non_null(strstr(c, "Secure"));
    assert_non_null(strstr(c, "Domain=example.com"));
    assert_int_equal(r->completed, 0); /* no need to ask the scheme */
    sf_close(&f);
}

/* A configuration whose seal or provider cannot be made: the reason. */
static void test_site_refusals(void **state)
{
    oauth2_site_t *s = NULL;
    oauth2_cfg_t *c;
    const char *err = NULL;
    sf_t f;

    (void)state;
    sf_open(&f, NULL);
    c = apr_pmemdup(f.pool, f.cfg, sizeof(*f.cfg));
    c->secrets = apr_array_make(f.pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) = "short";
    assert_int_not_equal(oauth2_site_create(f.pool, c, "t", &s, &err),
                         APR_SUCCESS);
    assert_non_null(err);
    sf_close(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_site_defaults),     T(test_site_scope),
        T(test_site_redirect_uri), T(test_site_cookie_attributes),
        T(test_site_refusals),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
