/*
 * test_gitlab.c: unit tests for src/gitlab.c against a loopback server
 * (fake_server.c) answering as GitLab's "Get a single project" does: the
 * project path URL-encoded in :id, the bearer token, the level as the
 * higher of project_access and group_access (GitLab docs "Projects API",
 * "Roles and permissions"), 404 as no access, and GitLab's refusals (401,
 * 403 insufficient_scope, 429 with Retry-After), malformed answers.
 */
#include "gitlab.h"

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

#define TOKEN  "a1b2c3d4e5f6"
#define TARGET "/api/v4/projects/acme%2Fdev%2Fapp"

typedef struct {
    apr_pool_t *p;
    fs_t srv;
    oauth2_http_opts_t http;
} fix_t;

static int setup(void **state)
{
    fix_t *f = calloc(1, sizeof(*f));

    if (f == NULL || apr_pool_create(&f->p, NULL) != APR_SUCCESS) {
        return -1;
    }
    f->http.timeout_ms = 3000;
    f->http.connect_timeout_ms = 2000;
    f->http.user_agent = "test-agent/1.0";
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

static int group_setup(void **state)
{
    (void)state;
    return apr_initialize() == APR_SUCCESS ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    apr_terminate();
    return 0;
}

static apr_status_t run(fix_t *f, const char *base, int *level,
                        const char **err)
{
    *level = -1;
    *err = NULL;
    return oauth2_gitlab_project_access(f->p, &f->http, base, TOKEN,
                                        "acme/dev/app", level, err);
}

#define PROJECT(perms)                                                   \
    "{\"id\":7,\"path_with_namespace\":\"acme/dev/app\",\"visibility\":" \
    "\"private\",\"archived\":false,\"permissions\":" perms "}"
#define ACCESS(n) "{\"access_level\":" #n ",\"notification_level\":3}"

/* The level: the higher of project and group access; both null: 0. */
static void test_gitlab_levels(void **state)
{
    static const struct {
        const char *body;
        int level;
    } cases[] = {
        { PROJECT("{\"project_access\":" ACCESS(30) ",\"group_access\":null}"),
          30 },
        { PROJECT("{\"project_access\":null,\"group_access\":" ACCESS(50) "}"),
          50 },
        { PROJECT("{\"project_access\":" ACCESS(10) ",\"group_access\":" ACCESS(
              40) "}"),
          40 },
        { PROJECT("{\"project_access\":" ACCESS(40) ",\"group_access\":" ACCESS(
              20) "}"),
          40 },
        { PROJECT("{\"project_access\":null,\"group_access\":null}"), 0 },
        { PROJECT("{}"), 0 },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fix_t *f = *state;
        const char *err, *log;
        int level;

        memset(&f->srv, 0, sizeof(f->srv));
        fs_route(&f->srv, "GET", TARGET, 200, NULL, cases[i].body);
        fs_start(&f->srv);
        assert_int_equal(run(f,
                             apr_pstrcat(f->p, f->srv.base, "/api/v4/", NULL),
                             &level, &err),
                         APR_SUCCESS);
        assert_int_equal(level, cases[i].level);
        log = fs_log(f->p, &f->srv);
        assert_non_null(strstr(log, "GET " TARGET " HTTP/1.1\r\n"));
        assert_non_null(strstr(log, "Authorization: Bearer " TOKEN "\r\n"));
        fs_stop(&f->srv);
    }
}

/* 404 (a project the user cannot see, or none): no access, no error. */
static void test_gitlab_not_found(void **state)
{
    fix_t *f = *state;
    const char *err;
    int level;

    fs_route(&f->srv, "GET", TARGET, 404, NULL,
             "{\"message\":\"404 Project Not Found\"}");
    fs_start(&f->srv);
    assert_int_equal(
        run(f, apr_pstrcat(f->p, f->srv.base, "/api/v4", NULL), &level, &err),
        APR_SUCCESS);
    assert_int_equal(level, 0);
}

/* GitLab's refusals and malformed answers fail, naming the project. */
static void test_gitlab_errors(void **state)
{
    static const struct {
        int status;
        const char *headers, *body, *want;
    } cases[] = {
        { 401, NULL, "{\"message\":\"401 Unauthorized\"}",
          "GitLab API project acme/dev/app: HTTP 401, the access token was "
          "refused" },
        { 403, NULL,
          "{\"error\":\"insufficient_scope\",\"error_description\":\"The "
          "request requires higher privileges than provided by the access "
          "token.\",\"scope\":\"api read_api\"}",
          "HTTP 403, insufficient_scope: the token lacks read_api" },
        { 403, NULL, "{\"message\":\"403 Forbidden\"}",
          "HTTP 403, forbidden: 403 Forbidden" },
        { 429, "Retry-After: 60\r\n", "Retry later",
          "HTTP 429, rate limited (Retry-After: 60)" },
        { 500, NULL, "{\"message\":\"500 Internal Server Error\"}",
          "HTTP 500, unexpected status: 500 Internal Server Error" },
        { 301, NULL, "", "HTTP 301" },
        { 200, NULL, "{\"id\": 7", "GitLab API project acme/dev/app: " },
        { 200, NULL, "[]", "GitLab API project acme/dev/app: " },
        { 200, NULL, "{\"id\":7}", "no readable \"permissions\"" },
        { 200, NULL, PROJECT("[]"), "no readable \"permissions\"" },
        { 200, NULL, PROJECT("{\"project_access\":{\"access_level\":\"30\"}}"),
          "no readable \"permissions\"" },
        { 200, NULL, PROJECT("{\"project_access\":{}}"),
          "no readable \"permissions\"" },
        { 200, NULL, PROJECT("{\"group_access\":" ACCESS(60) "}"),
          "no readable \"permissions\"" },
        { 200, NULL, PROJECT("{\"group_access\":" ACCESS(-1) "}"),
          "no readable \"permissions\"" },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fix_t *f = *state;
        const char *err;
        int level;

        memset(&f->srv, 0, sizeof(f->srv));
        fs_route(&f->srv, "GET", TARGET, cases[i].status, cases[i].headers,
                 cases[i].body);
        fs_start(&f->srv);
        assert_int_not_equal(
            run(f, apr_pstrcat(f->p, f->srv.base, "/api/v4", NULL), &level,
                &err),
            APR_SUCCESS);
        if (err == NULL || strstr(err, cases[i].want) == NULL) {
            fail_msg("case %d: '%s' lacks '%s'", (int)i, err ? err : "",
                     cases[i].want);
        }
        assert_null(strstr(err, TOKEN));
        fs_stop(&f->srv);
    }
}

static void test_gitlab_unreachable_and_arguments(void **state)
{
    fix_t *f = *state;
    const char *err = NULL;
    int level;

    fs_start(&f->srv);
    fs_stop(&f->srv);
    assert_int_equal(run(f, f->srv.base, &level, &err), OAUTH2_EUNREACHABLE);
    assert_non_null(strstr(err, "GitLab API project acme/dev/app: "));
    assert_int_equal(oauth2_gitlab_project_access(f->p, &f->http, f->srv.base,
                                                  "bad\r\ntoken", "a/b", &level,
                                                  &err),
                     OAUTH2_ECONFIG);
    assert_int_equal(oauth2_gitlab_project_access(f->p, &f->http, f->srv.base,
                                                  TOKEN, "", &level, &err),
                     OAUTH2_ECONFIG);
    assert_int_equal(oauth2_gitlab_project_access(f->p, &f->http, NULL, TOKEN,
                                                  "a/b", &level, &err),
                     OAUTH2_ECONFIG);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_gitlab_levels),
        T(test_gitlab_not_found),
        T(test_gitlab_errors),
        T(test_gitlab_unreachable_and_arguments),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
