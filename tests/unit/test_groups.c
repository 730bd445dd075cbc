/*
 * test_groups.c: unit tests for src/groups.c, the API lookups behind
 * Require oauth2-group, against a loopback server (fake_server.c) playing
 * GitLab's and GitHub's APIs: which configured resources a provider
 * resolves (those it has an API for), explicit terms (a rule met in
 * .htaccess), each key once, errors passed on, and the login's use of the
 * verified email only.
 */
#include "groups.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "authz.h"
#include "crypto.h"
#include "errors.h"
#include "fake_server.h"
#include "session.h"

#define NOW   ((apr_time_t)1735689600 * APR_USEC_PER_SEC)
#define TOKEN "tok-123"

typedef struct {
    apr_pool_t *p;
    fs_t srv;
    oauth2_http_opts_t http;
    oauth2_cfg_t *cfg;
    oauth2_endpoints_t ep;
} fix_t;

static int group_setup(void **state)
{
    (void)state;
    apr_initialize();
    return oauth2_crypto_init() == APR_SUCCESS ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    apr_terminate();
    return 0;
}

static apr_array_header_t *strs(apr_pool_t *p, const char *a, const char *b,
                                const char *c)
{
    apr_array_header_t *r = apr_array_make(p, 3, sizeof(const char *));
    const char *v[] = { a, b, c };
    int i;

    for (i = 0; i < 3; i++) {
        if (v[i] != NULL) {
            APR_ARRAY_PUSH(r, const char *) = v[i];
        }
    }
    return r;
}

static int setup(void **state)
{
    fix_t *f = calloc(1, sizeof(*f));

    if (f == NULL || apr_pool_create(&f->p, NULL) != APR_SUCCESS) {
        return -1;
    }
    f->http.timeout_ms = 3000;
    f->http.connect_timeout_ms = 2000;
    f->http.user_agent = "test-agent/1.0";
    f->cfg = oauth2_cfg_create(f->p);
    f->cfg->rule_resources =
        strs(f->p, "project:acme/app", "repo:acme/lib", "project:acme/app");
    /* GitLab answers developer for acme/app; GitHub push for acme/lib. */
    fs_route(&f->srv, "GET", "/gl/projects/acme%2Fapp", 200, NULL,
             "{\"permissions\":{\"project_access\":{\"access_level\":30},"
             "\"group_access\":null}}");
    fs_route(&f->srv, "GET", "/gl/projects/acme%2Ftools", 404, NULL,
             "{\"message\":\"404 Project Not Found\"}");
    fs_route(&f->srv, "GET", "/gl/projects/acme%2Fbroken", 500, NULL, "{}");
    fs_route(&f->srv, "GET", "/gh/repos/acme/lib", 200, NULL,
             "{\"private\":true,\"visibility\":\"private\",\"permissions\":"
             "{\"admin\":false,\"maintain\":false,\"push\":true,\"triage\":"
             "true,\"pull\":true}}");
    fs_start(&f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_t *f = *state;

    fs_stop(&f->srv);
    apr_pool_destroy(f->p);
    free(f);
    return 0;
}

static oauth2_groups_t *create(fix_t *f)
{
    oauth2_groups_t *g = NULL;
    const char *err = NULL;

    assert_int_equal(
        oauth2_groups_create(f->p, f->cfg, &f->http, NULL, &g, &err),
        APR_SUCCESS);
    return g;
}

static int level_of(const oauth2_groups_result_t *r, const char *key)
{
    int i;

    for (i = 0; i < r->resources->nelts; i++) {
        const oauth2_session_resource_t *e =
            &APR_ARRAY_IDX(r->resources, i, oauth2_session_resource_t);

        if (strcmp(e->key, key) == 0) {
            return e->level;
        }
    }
    return -1;
}

/* The configured resources this provider has an API for, each once. */
static void test_groups_configured(void **state)
{
    fix_t *f = *state;
    oauth2_groups_t *g = create(f);
    oauth2_groups_result_t r;
    const char *err = NULL;

    f->ep.gitlab_api = apr_pstrcat(f->p, f->srv.base, "/gl", NULL);
    assert_int_equal(oauth2_groups_resolve(f->p, g, &f->ep, NULL, TOKEN, NULL,
                                           NOW, &r, &err),
                     APR_SUCCESS);
    assert_null(r.groups);
    assert_int_equal(r.resources->nelts, 1);
    assert_int_equal(level_of(&r, "project:acme/app"), 30);
    assert_int_equal(fs_count(f->p, &f->srv, NULL), 1);
    f->ep.github_api = apr_pstrcat(f->p, f->srv.base, "/gh", NULL);
    assert_int_equal(oauth2_groups_resolve(f->p, g, &f->ep, NULL, TOKEN, NULL,
                                           NOW, &r, &err),
                     APR_SUCCESS);
    assert_int_equal(r.resources->nelts, 2);
    assert_int_equal(level_of(&r, "repo:acme/lib"), 3);
    assert_int_equal(fs_count(f->p, &f->srv, NULL), 3);
}

/* Explicit terms (a rule from .htaccess): those only; a 404 is level 0;
 * a term without its API is a configuration error; failures pass on. */
static void test_groups_terms(void **state)
{
    fix_t *f = *state;
    oauth2_groups_t *g = create(f);
    apr_array_header_t *terms =
        apr_array_make(f->p, 2, sizeof(oauth2_res_term_t));
    oauth2_groups_result_t r;
    const char *err = NULL;

    f->ep.gitlab_api = apr_pstrcat(f->p, f->srv.base, "/gl/", NULL);
    assert_int_equal(oauth2_authz_parse_resource(f->p, "project:acme/tools",
                                                 apr_array_push(terms), &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_groups_resolve(f->p, g, &f->ep, NULL, TOKEN, terms,
                                           NOW, &r, &err),
                     APR_SUCCESS);
    assert_int_equal(r.resources->nelts, 1);
    assert_int_equal(level_of(&r, "project:acme/tools"), 0);
    assert_int_equal(fs_count(f->p, &f->srv, NULL), 1);

    assert_int_equal(oauth2_authz_parse_resource(f->p, "repo:acme/lib",
                                                 apr_array_push(terms), &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_groups_resolve(f->p, g, &f->ep, NULL, TOKEN, terms,
                                           NOW, &r, &err),
                     OAUTH2_ECONFIG);
    assert_non_null(strstr(err, "repo:acme/lib needs OAuth2Provider github"));

    terms = apr_array_make(f->p, 1, sizeof(oauth2_res_term_t));
    assert_int_equal(oauth2_authz_parse_resource(f->p, "project:acme/broken",
                                                 apr_array_push(terms), &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_groups_resolve(f->p, g, &f->ep, NULL, TOKEN, terms,
                                           NOW, &r, &err),
                     OAUTH2_EUPSTREAM);
    assert_non_null(strstr(err, "GitLab API project acme/broken: HTTP 500"));
}

/* Nothing configured: nothing asked. */
static void test_groups_nothing(void **state)
{
    fix_t *f = *state;
    oauth2_groups_t *g = NULL;
    oauth2_groups_result_t r;
    const char *err = NULL;

    assert_int_equal(oauth2_groups_create(f->p, oauth2_cfg_create(f->p),
                                          &f->http, NULL, &g, &err),
                     APR_SUCCESS);
    f->ep.gitlab_api = f->srv.base;
    f->ep.github_api = f->srv.base;
    assert_int_equal(oauth2_groups_resolve(f->p, g, &f->ep, "a@example.com",
                                           TOKEN, NULL, NOW, &r, &err),
                     APR_SUCCESS);
    assert_null(r.groups);
    assert_int_equal(r.resources->nelts, 0);
    assert_int_equal(oauth2_groups_resolve(f->p, NULL, &f->ep, NULL, TOKEN,
                                           NULL, NOW, &r, &err),
                     APR_SUCCESS);
    assert_int_equal(fs_count(f->p, &f->srv, NULL), 0);
}

/* A recorded rule that does not parse (never from the Require parser). */
static void test_groups_create_refuses(void **state)
{
    fix_t *f = *state;
    oauth2_groups_t *g = NULL;
    const char *err = NULL;

    f->cfg->rule_resources = strs(f->p, "project:acme", NULL, NULL);
    assert_int_equal(
        oauth2_groups_create(f->p, f->cfg, &f->http, NULL, &g, &err),
        APR_EINVAL);
}

/* At login: the result goes to the login result; without a Google
 * service account no groups are asked, whatever the email. */
static void test_groups_login(void **state)
{
    fix_t *f = *state;
    oauth2_groups_t *g = create(f);
    oauth2_login_result_t res;
    const char *err = NULL, *json = "{\"sub\":\"1\",\"email\":\"a@example."
                                    "com\",\"email_verified\":true}";

    memset(&res, 0, sizeof(res));
    assert_int_equal(oauth2_claims_parse(f->p, json, strlen(json), 1 << 16,
                                         &res.claims, &err),
                     APR_SUCCESS);
    res.access_token = TOKEN;
    f->ep.gitlab_api = apr_pstrcat(f->p, f->srv.base, "/gl", NULL);
    assert_int_equal(oauth2_groups_login(f->p, g, &f->ep, &res, NOW, &err),
                     APR_SUCCESS);
    assert_null(res.api_groups);
    assert_int_equal(res.resources->nelts, 1);
    assert_string_equal(
        APR_ARRAY_IDX(res.resources, 0, oauth2_session_resource_t).key,
        "project:acme/app");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_groups_configured), T(test_groups_terms),
        T(test_groups_nothing),    T(test_groups_create_refuses),
        T(test_groups_login),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
