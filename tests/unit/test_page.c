/*
 * test_page.c: unit tests for src/page.c: the template syntax (variables,
 * sections, nesting), the refusals a site's file gets at configuration
 * time (unknown variables, unclosed tags and sections, a NUL byte, a
 * missing, relative or oversized file), the page keys, and the built-in
 * templates (each parses and offers its link).
 */
#include "page.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"

static apr_pool_t *pool;

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    return apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

static const oauth2_page_tpl_t *parse(const char *text)
{
    const oauth2_page_tpl_t *t = NULL;
    const char *err = NULL;

    if (oauth2_page_parse(pool, text, strlen(text), &t, &err) != APR_SUCCESS) {
        fail_msg("%s: %s", text, err);
    }
    return t;
}

/* Renders text with the values title=T, user=U (others empty). */
static const char *render(const char *text, const char *title, const char *user)
{
    const char *v[OAUTH2_PV_COUNT] = { NULL };

    v[OAUTH2_PV_TITLE] = title;
    v[OAUTH2_PV_USER] = user;
    return oauth2_page_render(pool, parse(text), v);
}

static void test_page_variables_and_sections(void **state)
{
    (void)state;
    assert_string_equal(render("<h1>{{title}}</h1>", "Hi", NULL),
                        "<h1>Hi</h1>");
    assert_string_equal(render("{{ title }}|{{user}}|", "T", NULL), "T||");
    assert_string_equal(render("", "T", NULL), "");
    assert_string_equal(render("no tags at all", "T", NULL), "no tags at all");
    assert_string_equal(render("a{{#user}}[{{user}}]{{/user}}b", "T", "u"),
                        "a[u]b");
    assert_string_equal(render("a{{#user}}[{{user}}]{{/user}}b", "T", NULL),
                        "ab");
    assert_string_equal(render("a{{#user}}[{{user}}]{{/user}}b", "T", ""),
                        "ab");
    assert_string_equal(render("{{^user}}nobody{{/user}}", "T", NULL),
                        "nobody");
    assert_string_equal(render("{{^user}}nobody{{/user}}", "T", "u"), "");
    /* Nested, and a section after a skipped one. */
    assert_string_equal(
        render("{{#title}}<{{#user}}{{user}}{{/user}}>{{/title}}"
               "{{#user}}x{{/user}}.",
               "T", NULL),
        "<>.");
    assert_string_equal(
        render("{{#title}}<{{#user}}{{user}}{{/user}}>{{/title}}", NULL, "u"),
        "");
    /* Values go in as they are (the caller escapes them). */
    assert_string_equal(render("{{title}}", "<b>{{user}}</b>", "u"),
                        "<b>{{user}}</b>");
    /* Braces that are not a tag's. */
    assert_string_equal(render("a { b } {c} }} d", "T", NULL),
                        "a { b } {c} }} d");
}

static void test_page_refusals(void **state)
{
    static const struct {
        const char *text;
        const char *want;
    } bad[] = {
        { "{{usr}}", "line 1: unknown variable {{usr}}" },
        { "a\nb\n{{ nope }}", "line 3: unknown variable {{ nope }}" },
        { "{{}}", "unknown variable {{}}" },
        { "{{{title}}}", "unknown variable {{{title}}" },
        { "{{>partial}}", "unknown variable" },
        { "x {{title", "line 1: {{ without }}" },
        { "{{#user}}x", "{{#user}} is not closed" },
        { "{{/user}}", "{{/user}} closes no {{#user}}" },
        { "{{#user}}{{/title}}", "{{/title}} closes no {{#title}}" },
        { "{{#title}}\n\n{{#user}}{{/title}}{{/user}}",
          "line 3: {{/title}} closes no" },
        { "{{#title}}{{#title}}{{#title}}{{#title}}{{#title}}{{#title}}"
          "{{#title}}{{#title}}{{#title}}",
          "nest deeper than 8" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const oauth2_page_tpl_t *t = NULL;
        const char *err = NULL;

        assert_int_equal(
            oauth2_page_parse(pool, bad[i].text, strlen(bad[i].text), &t, &err),
            APR_EINVAL);
        if (err == NULL || strstr(err, bad[i].want) == NULL) {
            fail_msg("%s: %s", bad[i].text, err ? err : "(no error)");
        }
    }
    /* The message lists the variables. */
    {
        const oauth2_page_tpl_t *t = NULL;
        const char *err = NULL;

        oauth2_page_parse(pool, "{{x}}", 5, &t, &err);
        assert_non_null(strstr(err, oauth2_page_vars()));
    }
}

static void test_page_keys(void **state)
{
    int k;

    (void)state;
    assert_int_equal(oauth2_page_kind("refused"), OAUTH2_PAGE_REFUSED);
    assert_int_equal(oauth2_page_kind("signed-out"), OAUTH2_PAGE_SIGNED_OUT);
    /* the sign-in page of named providers (OAuth2Page choose) */
    assert_int_equal(oauth2_page_kind("choose"), OAUTH2_PAGE_CHOOSE);
    assert_string_equal(oauth2_page_key(OAUTH2_PAGE_CHOOSE), "choose");
    assert_non_null(strstr(oauth2_page_keys(), ", choose"));
    assert_non_null(strstr(oauth2_page_vars(), ", providers"));
    assert_int_equal(oauth2_page_kind("Refused"), -1);
    assert_int_equal(oauth2_page_kind("nope"), -1);
    assert_int_equal(oauth2_page_kind(NULL), -1);
    for (k = 0; k < OAUTH2_PAGE_COUNT; k++) {
        assert_int_equal(oauth2_page_kind(oauth2_page_key(k)), k);
        assert_non_null(strstr(oauth2_page_keys(), oauth2_page_key(k)));
    }
    assert_string_equal(oauth2_page_key(OAUTH2_PAGE_COUNT), "error");
}

/* Every built-in page parses, shows its title and message, offers its
 * link only when there is one, and its request id when there is one. */
static void test_page_defaults(void **state)
{
    int k;

    (void)state;
    for (k = 0; k < OAUTH2_PAGE_COUNT; k++) {
        const oauth2_page_tpl_t *t = oauth2_page_default(pool, k);
        const char *v[OAUTH2_PV_COUNT] = {
            "The title", "The message",    "403", "alice", "forbidden", "RID-1",
            "/again",    "/oauth2/logout", NULL
        };
        const char *html, *none;

        assert_non_null(t);
        html = oauth2_page_render(pool, t, v);
        assert_non_null(strstr(html, "<title>The title</title>"));
        assert_non_null(strstr(html, "<h1>The title</h1>"));
        assert_non_null(strstr(html, "<p>The message</p>"));
        assert_non_null(strstr(html, "RID-1"));
        assert_null(strstr(html, "{{"));
        assert_null(strstr(html, "<script"));
        assert_null(strstr(html, "http"));
        if (k == OAUTH2_PAGE_REFUSED) {
            assert_non_null(strstr(html, "<a href=\"/oauth2/logout\">Log out "
                                         "to use another account</a>"));
        }
        else if (k == OAUTH2_PAGE_CHOOSE) {
            /* Its links are the providers variable, put in as it is. */
            assert_null(strstr(html, "<a "));
            v[OAUTH2_PV_PROVIDERS] = "<p><a href=\"/oauth2/a/start\">A</a></p>";
            assert_non_null(strstr(oauth2_page_render(pool, t, v),
                                   "<p><a href=\"/oauth2/a/start\">A</a></p>"));
            v[OAUTH2_PV_PROVIDERS] = NULL;
        }
        else {
            assert_non_null(strstr(html, "<a href=\"/again\">"));
        }
        v[OAUTH2_PV_REQUEST_ID] = NULL;
        v[OAUTH2_PV_TRY_AGAIN_URL] = NULL;
        v[OAUTH2_PV_LOGOUT_URL] = "";
        none = oauth2_page_render(pool, t, v);
        assert_null(strstr(none, "<a "));
        assert_null(strstr(none, "Request ID"));
    }
    assert_non_null(strstr(oauth2_page_default_text(OAUTH2_PAGE_SIGNED_OUT),
                           "Sign in again"));
    assert_non_null(strstr(oauth2_page_default_text(OAUTH2_PAGE_LOGIN_FAILED),
                           "Try again"));
}

/* Writes a temporary file; returns its path. */
static const char *temp_file(const char *content, apr_size_t len)
{
    char *path = apr_pstrdup(pool, "/tmp/test_page_XXXXXX");
    apr_file_t *f;
    apr_size_t n = len;

    assert_int_equal(apr_file_mktemp(&f, path,
                                     APR_FOPEN_CREATE | APR_FOPEN_READ
                                         | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                                     pool),
                     APR_SUCCESS);
    assert_int_equal(apr_file_write_full(f, content, len, &n), APR_SUCCESS);
    apr_file_close(f);
    return path;
}

static void test_page_load(void **state)
{
    const oauth2_page_tpl_t *t = NULL;
    const char *path, *err;
    const char *v[OAUTH2_PV_COUNT] = { "T" };
    char *big;

    (void)state;
    path = temp_file("<p>{{title}}</p>\n", 17);
    assert_null(oauth2_page_load(pool, path, &t));
    assert_string_equal(oauth2_page_render(pool, t, v), "<p>T</p>\n");
    apr_file_remove(path, pool);
    /* Missing, relative, a directory. */
    err = oauth2_page_load(pool, "/nonexistent/refused.html", &t);
    assert_non_null(strstr(err, "cannot read /nonexistent/refused.html"));
    err = oauth2_page_load(pool, "refused.html", &t);
    assert_non_null(strstr(err, "not an absolute path"));
    err = oauth2_page_load(pool, "/tmp", &t);
    assert_non_null(strstr(err, "/tmp"));
    /* A mistake names the file and the line. */
    path = temp_file("ok\n{{titel}}\n", 13);
    err = oauth2_page_load(pool, path, &t);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "line 2: unknown variable {{titel}}"));
    apr_file_remove(path, pool);
    /* A NUL byte. */
    path = temp_file("a\0b", 3);
    assert_non_null(strstr(oauth2_page_load(pool, path, &t), "NUL byte"));
    apr_file_remove(path, pool);
    /* Larger than the bound. */
    big = apr_palloc(pool, OAUTH2_MAX_PAGE_TEMPLATE + 1);
    memset(big, 'x', OAUTH2_MAX_PAGE_TEMPLATE + 1);
    path = temp_file(big, OAUTH2_MAX_PAGE_TEMPLATE + 1);
    assert_non_null(strstr(oauth2_page_load(pool, path, &t), "at most"));
    apr_file_remove(path, pool);
    path = temp_file(big, OAUTH2_MAX_PAGE_TEMPLATE);
    assert_null(oauth2_page_load(pool, path, &t));
    apr_file_remove(path, pool);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_page_variables_and_sections),
        T(test_page_refusals),
        T(test_page_keys),
        T(test_page_defaults),
        T(test_page_load),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
