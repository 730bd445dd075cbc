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
#include "state.h"

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
    assert_int_equal(oauth2_site_key(a, "id", 2, ka), APR_SUCCESS);
    assert_int_equal(oauth2_site_key(a, "id", 2, ka2), APR_SUCCESS);
    assert_int_equal(oauth2_site_key(b, "id", 2, kb), APR_SUCCESS);
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
    assert_int_equal(oauth2_site_key(a, "state:x", 7, ka), APR_SUCCESS);
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

/* <OAuth2Provider NAME>: a site per named provider, with the host's
 * store, its own callback, cookie, service and scope; found by name in
 * any case. */
static void test_site_named(void **state)
{
    static const sf_opts_t o = { .named = "a b" };
    const oauth2_site_t *a, *b;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    assert_null(f.site->name);
    assert_non_null(f.site->prov);
    assert_int_equal(f.site->nnamed, 2);
    a = f.site->named[0];
    b = f.site->named[1];
    assert_string_equal(a->name, "a");
    assert_string_equal(b->name, "b");
    assert_non_null(a->prov);
    assert_ptr_not_equal(a->prov, f.site->prov);
    assert_ptr_not_equal(a->prov, b->prov);
    assert_ptr_equal(a->store, f.store);
    assert_ptr_equal(b->store, f.store);
    assert_string_equal(a->callback_path, "/oauth2/a/callback");
    assert_string_equal(a->cfg->prefix, "/oauth2/a");
    assert_string_equal(a->cfg->cookie_name, "oauth2_session_a");
    assert_string_equal(a->cfg->client_id, "a-app");
    assert_string_equal(a->service, "a.example.com");
    assert_string_equal(b->service, "b.example.com");
    assert_string_equal(f.site->choice_cookie, "oauth2_session-provider");
    assert_ptr_equal(a->choice_cookie, f.site->choice_cookie);
    assert_int_equal(a->nnamed, 0);
    assert_ptr_equal(oauth2_site_named(f.site, "a"), a);
    assert_ptr_equal(oauth2_site_named(f.site, "B"), b);
    assert_null(oauth2_site_named(f.site, "c"));
    assert_null(oauth2_site_named(f.site, "a "));
    assert_null(oauth2_site_named(NULL, "a"));
    assert_null(oauth2_site_named(a, "a"));
    /* each its own scope: keys and cookie sessions are not shared */
    assert_memory_not_equal(a->key_tag, b->key_tag, sizeof(a->key_tag));
    assert_memory_not_equal(a->key_tag, f.site->key_tag, sizeof(a->key_tag));
    assert_string_not_equal(a->session_aad, b->session_aad);
    assert_string_not_equal(a->session_aad, f.site->session_aad);
    sf_close(&f);

    /* without sections: none, and no choice cookie */
    sf_open(&f, NULL);
    assert_int_equal(f.site->nnamed, 0);
    assert_null(f.site->named);
    assert_null(f.site->choice_cookie);
    sf_close(&f);
}

/* Seals st with from, opens it with to. */
static apr_status_t state_across(sf_t *f, const oauth2_site_t *from,
                                 const oauth2_site_t *to)
{
    oauth2_state_t *st = NULL, *back = NULL;
    const char *err = NULL;
    char *value = NULL;

    assert_int_equal(oauth2_state_create(f->pool, "/app", SF_NOW, &st),
                     APR_SUCCESS);
    assert_int_equal(
        oauth2_state_seal(f->pool, from->seal_state, st, &value, &err),
        APR_SUCCESS);
    return oauth2_state_open(f->pool, to->seal_state, value, strlen(value),
                             st->state, SF_NOW, apr_time_from_sec(600), &back,
                             &err);
}

/* A named provider's state seal is its own: a state made for A never
 * opens at B's callback, nor at the host's (mix-up, RFC 9700 §4.4). */
static void test_site_named_state_seal(void **state)
{
    static const sf_opts_t o = { .named = "a b" };
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    assert_int_equal(state_across(&f, f.site->named[0], f.site->named[0]),
                     APR_SUCCESS);
    assert_int_equal(state_across(&f, f.site, f.site), APR_SUCCESS);
    assert_int_not_equal(state_across(&f, f.site->named[0], f.site->named[1]),
                         APR_SUCCESS);
    assert_int_not_equal(state_across(&f, f.site->named[1], f.site->named[0]),
                         APR_SUCCESS);
    assert_int_not_equal(state_across(&f, f.site->named[0], f.site),
                         APR_SUCCESS);
    assert_int_not_equal(state_across(&f, f.site, f.site->named[0]),
                         APR_SUCCESS);
    sf_close(&f);
}

/* A host with named providers only: a site without a provider (the hub),
 * its pages naming no provider. */
static void test_site_hub(void **state)
{
    static const sf_opts_t o = { .named = "a", .hub = 1 };
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    assert_null(f.site->prov);
    assert_null(f.site->name);
    assert_string_equal(f.site->service, "the sign-in service");
    assert_string_equal(f.site->callback_path, "/oauth2/callback");
    assert_ptr_equal(f.site->store, f.store);
    assert_int_equal(f.site->nnamed, 1);
    assert_non_null(f.site->named[0]->prov);
    assert_string_equal(f.site->named[0]->service, "a.example.com");
    sf_close(&f);
}

/* A named provider whose site cannot be made: the error names it. */
static void test_site_named_refusal(void **state)
{
    static const sf_opts_t o = { .named = "a" };
    oauth2_cfg_t *c, *bad;
    oauth2_site_t *s = NULL;
    const char *err = NULL;
    sf_t f;

    (void)state;
    sf_open(&f, &o);
    c = apr_pmemdup(f.pool, f.cfg, sizeof(*f.cfg));
    bad = apr_pmemdup(f.pool, APR_ARRAY_IDX(f.cfg->named, 0, oauth2_cfg_t *),
                      sizeof(*bad));
    bad->secrets = apr_array_make(f.pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(bad->secrets, const char *) = "short";
    c->named = apr_array_make(f.pool, 1, sizeof(oauth2_cfg_t *));
    APR_ARRAY_PUSH(c->named, oauth2_cfg_t *) = bad;
    assert_int_equal(oauth2_site_create(f.pool, c, "t", &s, &err), APR_SUCCESS);
    assert_int_not_equal(oauth2_site_add_named(s, f.pool, "t", &err),
                         APR_SUCCESS);
    assert_non_null(err);
    assert_true(strncmp(err, "<OAuth2Provider a>: ", 20) == 0);
    sf_close(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_site_defaults),         T(test_site_scope),
        T(test_site_redirect_uri),     T(test_site_cookie_attributes),
        T(test_site_refusals),         T(test_site_named),
        T(test_site_named_state_seal), T(test_site_hub),
        T(test_site_named_refusal),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
