/*
 * test_metadata.c: unit tests for src/metadata.c: providers made from the
 * configuration (presets, issuers, overrides; no network at startup), the
 * discovery document's checks (OpenID Connect Discovery 1.0 §3, §4.3:
 * exactly this issuer, http(s) endpoints, jwks_uri unless overridden),
 * and the cache against a loopback server (fake_server.c): one fetch for
 * many reads, a foreign or broken document refused with a reason, the
 * back-off after a failure; providers sharing the server's view (equal
 * settings, one entry). (The view shared by several processes is
 * test_provider_shm.c's and provider-view.test.mjs's.)
 */
#include "metadata.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "errors.h"
#include "fake_server.h"
#include "provider_shm.h"

static apr_pool_t *pool;
static oauth2_http_opts_t http = {
    3000, 2000, NULL, 0, "test-agent/1.0", OAUTH2_CALL_OTHER
};

/* A provider made at startup, not yet shared nor initialized in a
 * child. */
static oauth2_provider_t *provider_new(const char *a1, const char *a2,
                                       const char *jwks_override)
{
    oauth2_cfg_t *c = oauth2_cfg_create(pool);
    oauth2_provider_t *prov = NULL;
    const char *err = NULL;

    assert_null(oauth2_cfg_set_provider(pool, c, a1, a2));
    if (jwks_override != NULL) {
        assert_null(oauth2_cfg_set_endpoint(pool, c, "jwks", jwks_override));
    }
    c->client_id = "app";
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) = "x";
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_int_equal(oauth2_provider_create(pool, c, &http, &prov, &err),
                     APR_SUCCESS);
    return prov;
}

static oauth2_provider_t *provider(const char *a1, const char *a2,
                                   const char *jwks_override)
{
    oauth2_provider_t *prov = provider_new(a1, a2, jwks_override);

    assert_int_equal(oauth2_provider_child_init(prov, pool), APR_SUCCESS);
    return prov;
}

static const char *doc(const char *issuer, const char *extra)
{
    return apr_psprintf(pool,
                        "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/"
                        "auth\",\"token_endpoint\":\"%s/token\",\"jwks_uri\":"
                        "\"%s/jwks\"%s}",
                        issuer, issuer, issuer, issuer, extra ? extra : "");
}

static void test_metadata_presets_need_no_network(void **state)
{
    const oauth2_endpoints_t *ep;
    const char *err = NULL;
    oauth2_provider_t *gh = provider("github", NULL, NULL);

    (void)state;
    assert_string_equal(oauth2_provider_issuer(gh), "");
    assert_int_equal(
        oauth2_provider_endpoints(gh, pool, apr_time_now(), &ep, &err),
        APR_SUCCESS);
    assert_string_equal(ep->authorization,
                        "https://github.com/login/oauth/authorize");
    assert_int_equal(ep->oidc, 0);
    assert_non_null(ep->github_api);
    /* Without an issuer, the authorization endpoint names the provider. */
    assert_string_equal(oauth2_provider_identity(gh), ep->authorization);
    assert_string_equal(oauth2_provider_issuer(provider("google", NULL, NULL)),
                        "https://accounts.google.com");
}

static const struct {
    const char *name;
    const char *body;
    const char *reason; /* part of *err; NULL: accepted */
} docs[] = {
    { "complete", NULL, NULL },
    { "another issuer", "{\"issuer\":\"https://evil.example\"}", "issuer" },
    { "a trailing slash on the issuer", "TRAILING", "issuer" },
    { "not an object", "[1,2]", "" },
    { "no token endpoint",
      "{\"issuer\":\"ISS\",\"authorization_endpoint\":\"https://op.example/"
      "a\",\"jwks_uri\":\"https://op.example/k\"}",
      "token" },
    { "a javascript: endpoint",
      "{\"issuer\":\"ISS\",\"authorization_endpoint\":\"javascript:alert(1)\","
      "\"token_endpoint\":\"https://op.example/t\",\"jwks_uri\":\"https://"
      "op.example/k\"}",
      "authorization" },
    { "no jwks_uri",
      "{\"issuer\":\"ISS\",\"authorization_endpoint\":\"https://op.example/"
      "a\",\"token_endpoint\":\"https://op.example/t\"}",
      "jwks" },
};

static void test_metadata_parse_discovery(void **state)
{
    const char *iss = "https://op.example";
    oauth2_provider_t *prov = provider(iss, NULL, NULL);
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        oauth2_endpoints_t ep;
        const char *err = NULL, *body = docs[i].body;
        apr_status_t rv;

        if (body == NULL) {
            body = doc(iss, ",\"backchannel_logout_supported\":true,"
                            "\"frontchannel_logout_supported\":true");
        }
        else if (strcmp(body, "TRAILING") == 0) {
            body = doc("https://op.example/", NULL);
        }
        else {
            body = apr_pstrdup(pool, body);
            while (strstr(body, "ISS") != NULL) {
                char *at = strstr(body, "ISS");

                body = apr_psprintf(pool, "%.*s%s%s", (int)(at - body), body,
                                    iss, at + 3);
            }
        }
        memset(&ep, 0, sizeof(ep));
        rv = oauth2_provider_parse_discovery(prov, pool, body, strlen(body),
                                             &ep, &err);
        if (docs[i].reason == NULL) {
            if (rv != APR_SUCCESS) {
                fail_msg("%s: refused: %s", docs[i].name, err);
            }
            assert_string_equal(ep.token, "https://op.example/token");
            assert_int_equal(ep.backchannel_logout, 1);
            assert_int_equal(ep.frontchannel_logout, 1);
        }
        else if (rv != OAUTH2_EUPSTREAM || err == NULL
                 || strstr(err, docs[i].reason) == NULL) {
            fail_msg("%s: %s (%s)", docs[i].name, oauth2_strerror(rv),
                     err ? err : "no reason");
        }
    }
    /* OAuth2Endpoint jwks: the document needs no jwks_uri. */
    {
        oauth2_provider_t *o = provider(iss, NULL, "https://keys.example/k");
        oauth2_endpoints_t ep;
        const char *err = NULL, *body = docs[6].body;

        body = apr_psprintf(pool,
                            "{\"issuer\":\"%s\",\"authorization_endpoint\":"
                            "\"https://op.example/a\",\"token_endpoint\":"
                            "\"https://op.example/t\"}",
                            iss);
        assert_int_equal(oauth2_provider_parse_discovery(
                             o, pool, body, strlen(body), &ep, &err),
                         APR_SUCCESS);
        assert_string_equal(ep.jwks, "https://keys.example/k");
    }
}

/* Against a server: one fetch serves many reads; a foreign issuer is no
 * provider; the stats count what happened. */
static void test_metadata_fetches_once(void **state)
{
    fs_t srv;
    const oauth2_endpoints_t *ep;
    oauth2_provider_stats_t st;
    oauth2_provider_use_t use;
    const char *err = NULL, *text;
    oauth2_provider_t *prov;
    apr_time_t now = apr_time_now();
    int i;

    (void)state;
    memset(&srv, 0, sizeof(srv));
    fs_route(&srv, "GET", "/.well-known/openid-configuration", 200,
             "Content-Type: application/json\r\n",
             "{\"issuer\":\"{base}\",\"authorization_endpoint\":\"{base}/"
             "auth\",\"token_endpoint\":\"{base}/token\",\"jwks_uri\":"
             "\"{base}/jwks\"}");
    fs_start(&srv);
    prov = provider(srv.base, NULL, NULL);
    /* The debug log's account of it: fetched once, then cached. */
    assert_int_equal(
        oauth2_provider_endpoints_used(prov, pool, now, &ep, &err, &use),
        APR_SUCCESS);
    assert_int_equal(use.fetched, 1);
    text = oauth2_provider_use_text(pool, &use, now);
    assert_non_null(strstr(text, "fetched from "));
    assert_non_null(strstr(text, "/.well-known/openid-configuration in "));
    assert_non_null(strstr(text, " ms"));
    for (i = 0; i < 5; i++) {
        assert_int_equal(
            oauth2_provider_endpoints_used(
                prov, pool, now + apr_time_from_sec(3), &ep, &err, &use),
            APR_SUCCESS);
        assert_int_equal(use.fetched, 0);
        assert_string_equal(
            oauth2_provider_use_text(pool, &use, now + apr_time_from_sec(3)),
            apr_psprintf(pool, "cached, fetched %ld s ago",
                         (long)apr_time_sec(now + apr_time_from_sec(3)
                                            - use.fetched_at)));
        assert_int_equal(oauth2_provider_endpoints(prov, pool, now, &ep, &err),
                         APR_SUCCESS);
    }
    assert_string_equal(ep->token, apr_pstrcat(pool, srv.base, "/token", NULL));
    assert_int_equal(fs_count(pool, &srv, "openid-configuration"), 1);
    oauth2_provider_stats(prov, &st);
    assert_int_equal(st.discovery_fetches, 1);
    fs_stop(&srv);
}

static void test_metadata_refuses_foreign_and_backs_off(void **state)
{
    fs_t srv;
    const oauth2_endpoints_t *ep;
    oauth2_provider_stats_t st;
    const char *err = NULL;
    oauth2_provider_t *prov;
    apr_time_t now = apr_time_now();

    (void)state;
    memset(&srv, 0, sizeof(srv));
    fs_route(&srv, "GET", "/.well-known/openid-configuration", 200,
             "Content-Type: application/json\r\n",
             "{\"issuer\":\"https://evil.example\",\"authorization_endpoint\":"
             "\"https://evil.example/a\",\"token_endpoint\":\"https://"
             "evil.example/t\",\"jwks_uri\":\"https://evil.example/k\"}");
    fs_start(&srv);
    prov = provider(srv.base, NULL, NULL);
    assert_int_equal(oauth2_provider_endpoints(prov, pool, now, &ep, &err),
                     OAUTH2_EUPSTREAM);
    assert_non_null(strstr(err, "issuer"));
    /* Within the back-off the server is not asked again. */
    err = NULL;
    assert_int_not_equal(oauth2_provider_endpoints(prov, pool, now, &ep, &err),
                         APR_SUCCESS);
    assert_non_null(err);
    assert_int_equal(fs_count(pool, &srv, "openid-configuration"), 1);
    oauth2_provider_stats(prov, &st);
    assert_true(st.fetch_failures >= 1);
    fs_stop(&srv);
}

/* OAuth2Endpoint metadata: the document where the provider publishes it
 * (Glewlwyd with its issuer at the root serves it under /api/oidc/); the
 * issuer inside must still be the configured one. */
static void test_metadata_document_elsewhere(void **state)
{
    fs_t srv;
    const oauth2_endpoints_t *ep;
    oauth2_cfg_t *c;
    oauth2_provider_t *prov = NULL;
    const char *err = NULL;

    (void)state;
    memset(&srv, 0, sizeof(srv));
    fs_route(&srv, "GET", "/api/oidc/.well-known/openid-configuration", 200,
             "Content-Type: application/json\r\n",
             "{\"issuer\":\"{base}\",\"authorization_endpoint\":\"{base}/"
             "api/oidc/auth\",\"token_endpoint\":\"{base}/api/oidc/token\","
             "\"jwks_uri\":\"{base}/api/oidc/jwks\"}");
    fs_route(&srv, "GET", "/.well-known/openid-configuration", 404, NULL,
             "not here");
    fs_start(&srv);
    c = oauth2_cfg_create(pool);
    assert_null(oauth2_cfg_set_provider(pool, c, srv.base, NULL));
    assert_null(oauth2_cfg_set_endpoint(
        pool, c, "metadata",
        apr_pstrcat(pool, srv.base,
                    "/api/oidc/.well-known/openid-configuration", NULL)));
    c->client_id = "app";
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) = "x";
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_int_equal(oauth2_provider_create(pool, c, &http, &prov, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_provider_child_init(prov, pool), APR_SUCCESS);
    assert_int_equal(
        oauth2_provider_endpoints(prov, pool, apr_time_now(), &ep, &err),
        APR_SUCCESS);
    assert_string_equal(ep->token,
                        apr_pstrcat(pool, srv.base, "/api/oidc/token", NULL));
    assert_int_equal(fs_count(pool, &srv, "/api/oidc/.well-known"), 1);
    assert_int_equal(fs_count(pool, &srv, "GET /.well-known"), 0);
    fs_stop(&srv);
}

/* Every endpoint configured: no discovery at all, ID tokens included. */
static void test_metadata_manual_provider(void **state)
{
    const oauth2_endpoints_t *ep;
    oauth2_provider_use_t use;
    oauth2_cfg_t *c = oauth2_cfg_create(pool);
    oauth2_provider_t *prov = NULL;
    const char *err = NULL;

    (void)state;
    /* Port 9 (discard): were anything fetched, it would fail. */
    assert_null(oauth2_cfg_set_provider(pool, c, "http://127.0.0.1:9", NULL));
    assert_null(oauth2_cfg_set_endpoint(pool, c, "authorization",
                                        "http://127.0.0.1:9/auth"));
    assert_null(
        oauth2_cfg_set_endpoint(pool, c, "token", "http://127.0.0.1:9/token"));
    assert_null(
        oauth2_cfg_set_endpoint(pool, c, "jwks", "http://127.0.0.1:9/jwks"));
    c->client_id = "app";
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) = "x";
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_int_equal(oauth2_provider_create(pool, c, &http, &prov, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_provider_child_init(prov, pool), APR_SUCCESS);
    assert_int_equal(
        oauth2_provider_endpoints(prov, pool, apr_time_now(), &ep, &err),
        APR_SUCCESS);
    assert_string_equal(ep->issuer, "http://127.0.0.1:9");
    assert_string_equal(ep->jwks, "http://127.0.0.1:9/jwks");
    assert_int_equal(ep->oidc, 1);
    assert_int_equal(oauth2_provider_endpoints_used(prov, pool, apr_time_now(),
                                                    &ep, &err, &use),
                     APR_SUCCESS);
    assert_string_equal(oauth2_provider_use_text(pool, &use, apr_time_now()),
                        "none: the endpoints are configured");
    /* Without the jwks, an OpenID provider still needs its document. */
    c = oauth2_cfg_create(pool);
    assert_null(oauth2_cfg_set_provider(pool, c, "http://127.0.0.1:9", NULL));
    assert_null(oauth2_cfg_set_endpoint(pool, c, "authorization",
                                        "http://127.0.0.1:9/auth"));
    assert_null(
        oauth2_cfg_set_endpoint(pool, c, "token", "http://127.0.0.1:9/token"));
    c->client_id = "app";
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) = "x";
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_int_equal(oauth2_provider_create(pool, c, &http, &prov, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_provider_child_init(prov, pool), APR_SUCCESS);
    assert_int_not_equal(
        oauth2_provider_endpoints(prov, pool, apr_time_now(), &ep, &err),
        APR_SUCCESS);
}

/* The server's view (startup): providers with equal settings share an
 * entry, so the document one of them fetched serves the other without a
 * fetch; more distinct providers than entries are refused. */
static void test_metadata_share(void **state)
{
    fs_t srv;
    const oauth2_endpoints_t *ep;
    oauth2_provider_t *provs[3];
    apr_uint64_t size = oauth2_pshm_size(2);
    void *base = apr_pcalloc(pool, (apr_size_t)size);
    apr_global_mutex_t *mutex;
    const char *err = NULL;
    apr_time_t now = apr_time_now();

    (void)state;
    memset(&srv, 0, sizeof(srv));
    fs_route(&srv, "GET", "/.well-known/openid-configuration", 200,
             "Content-Type: application/json\r\n",
             "{\"issuer\":\"{base}\",\"authorization_endpoint\":\"{base}/"
             "auth\",\"token_endpoint\":\"{base}/token\",\"jwks_uri\":"
             "\"{base}/jwks\"}");
    fs_start(&srv);
    assert_int_equal(
        apr_global_mutex_create(&mutex, NULL, APR_LOCK_DEFAULT, pool),
        APR_SUCCESS);
    assert_int_equal(oauth2_pshm_format(base, size, 2), APR_SUCCESS);
    provs[0] = provider_new(srv.base, NULL, NULL);
    provs[1] = provider_new("https://other.example", NULL, NULL);
    provs[2] = provider_new(srv.base, NULL, NULL);
    assert_int_equal(
        oauth2_provider_share(pool, pool, provs, 3, base, size, mutex, &err),
        APR_SUCCESS);
    assert_int_equal(oauth2_provider_child_init(provs[0], pool), APR_SUCCESS);
    assert_int_equal(oauth2_provider_child_init(provs[2], pool), APR_SUCCESS);
    assert_int_equal(oauth2_provider_endpoints(provs[0], pool, now, &ep, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_provider_endpoints(provs[2], pool, now, &ep, &err),
                     APR_SUCCESS);
    assert_string_equal(ep->token, apr_pstrcat(pool, srv.base, "/token", NULL));
    assert_int_equal(fs_count(pool, &srv, "openid-configuration"), 1);
    fs_stop(&srv);
    /* Three distinct providers, two entries. */
    provs[2] = provider_new("https://third.example", NULL, NULL);
    err = NULL;
    assert_int_equal(
        oauth2_provider_share(pool, pool, provs, 3, base, size, mutex, &err),
        OAUTH2_EFULL);
    assert_string_equal(err, "not enough entries");
    /* Not a view at all. */
    memset(base, 0, (apr_size_t)size);
    err = NULL;
    assert_int_not_equal(
        oauth2_provider_share(pool, pool, provs, 1, base, size, mutex, &err),
        APR_SUCCESS);
    assert_non_null(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata_presets_need_no_network),
        cmocka_unit_test(test_metadata_parse_discovery),
        cmocka_unit_test(test_metadata_fetches_once),
        cmocka_unit_test(test_metadata_refuses_foreign_and_backs_off),
        cmocka_unit_test(test_metadata_document_elsewhere),
        cmocka_unit_test(test_metadata_manual_provider),
        cmocka_unit_test(test_metadata_share),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
