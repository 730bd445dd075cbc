/*
 * test_directives.c: unit tests for src/directives.c: the table itself,
 * every setter's checks (what `apache2 -t` refuses), and the refusal of an
 * argument that starts with '#' on every directive (Apache has no
 * end-of-line comments).
 */
#include "directives.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
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
    apr_pool_create(&pool, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* The target a directive writes to. */
static void *target_of(const oauth2_directive_t *d)
{
    return d->scope == OAUTH2_DIRECTIVE_SERVER
               ? (void *)oauth2_cfg_create(pool)
               : (void *)oauth2_dir_cfg_create(pool);
}

static const char *apply(const char *name, const char *a1, const char *a2,
                         void **target)
{
    const oauth2_directive_t *d = oauth2_directive_find(name);

    if (d == NULL) {
        fail_msg("no directive %s", name);
    }
    *target = target_of(d);
    return oauth2_directive_apply(pool, d, *target, a1, a2);
}

static void test_directives_table(void **state)
{
    apr_size_t i, j, n = oauth2_directive_count();

    (void)state;
    assert_true(n >= 31);
    assert_null(oauth2_directives[n].name);
    for (i = 0; i < n; i++) {
        const oauth2_directive_t *d = &oauth2_directives[i];

        assert_non_null(d->set);
        assert_non_null(d->help);
        /* <OAuth2Provider NAME> is a section */
        assert_int_equal(strncmp(d->name + (d->name[0] == '<'), "OAuth2", 6),
                         0);
        assert_ptr_equal(oauth2_directive_find(d->name), d);
        for (j = i + 1; j < n; j++) {
            assert_true(strcasecmp(d->name, oauth2_directives[j].name) != 0);
        }
    }
    assert_non_null(oauth2_directive_find("oauth2clientid"));
    assert_null(oauth2_directive_find("OAuth2Nothing"));
    assert_null(oauth2_directive_find(NULL));
}

/* Every directive refuses a first (and, taking two, a second) argument
 * that starts with '#', and says why. */
static void test_directives_refuse_comments(void **state)
{
    apr_size_t i, n = oauth2_directive_count();

    (void)state;
    for (i = 0; i < n; i++) {
        const oauth2_directive_t *d = &oauth2_directives[i];
        void *t = target_of(d);
        const char *err = oauth2_directive_apply(pool, d, t, "#x", NULL);

        if (err == NULL || strstr(err, "no end-of-line comments") == NULL
            || strncmp(err, d->name, strlen(d->name)) != 0) {
            fail_msg("%s accepts \"#x\": %s", d->name, err ? err : "(ok)");
        }
        if (d->args == OAUTH2_ARGS_TAKE2 || d->args == OAUTH2_ARGS_TAKE12) {
            err = oauth2_directive_apply(pool, d, t, "userinfo", "#x");
            if (err == NULL || strstr(err, "no end-of-line comments") == NULL) {
                fail_msg("%s accepts a second \"#x\"", d->name);
            }
        }
    }
}

static const struct {
    const char *name, *a1, *a2;
    const char *err; /* NULL: accepted; else a part of the message */
} cases[] = {
    { "OAuth2Provider", "https://op.example", NULL, NULL },
    { "OAuth2Provider", "facebook", NULL, "is neither" },
    { "OAuth2Provider", "keycloak", NULL, "realm URL" },
    { "OAuth2Endpoint", "token", "https://op.example/t", NULL },
    { "OAuth2Endpoint", "tokens", "https://op.example/t", "unknown endpoint" },
    { "OAuth2ProviderMetadataURL", "https://op.example/api/.well-known/x", NULL,
      NULL },
    { "OAuth2ProviderMetadataURL", "op.example/x", NULL, "" },
    { "OAuth2ClientID", "app", NULL, NULL },
    { "OAuth2ClientSecret", "env:OAUTH2_TEST_SURELY_UNSET", NULL, "not set" },
    { "OAuth2ClientAuth", "post", NULL, NULL },
    { "OAuth2ClientAuth", "jwt", NULL, "basic or post" },
    { "OAuth2AuthParams", "prompt=login", NULL, NULL },
    { "OAuth2AuthParams", "state=x", NULL, "set by the module" },
    { "OAuth2Secret", "0123456789abcdef0123456789abcdef-ok", NULL, NULL },
    { "OAuth2Secret", "short", NULL, "at least" },
    { "OAuth2Prefix", "/auth", NULL, NULL },
    { "OAuth2Prefix", "/auth/", NULL, "must be a path" },
    { "OAuth2Prefix", "auth", NULL, "must be a path" },
    { "OAuth2Prefix", "/a?b", NULL, "must be a path" },
    { "OAuth2RedirectURI", "https://app.example/oauth2/callback", NULL, NULL },
    { "OAuth2RedirectURI", "/oauth2/callback", NULL, "absolute" },
    { "OAuth2SessionStore", "shm:100", NULL, NULL },
    { "OAuth2SessionStore", "shm:12", NULL, "outside" },
    { "OAuth2SessionStore", "disk", NULL, "is not" },
    { "OAuth2SessionTimeout", "60", NULL, NULL },
    { "OAuth2SessionTimeout", "0", NULL, "outside" },
    { "OAuth2SessionTimeout", "1h", NULL, "not a whole number" },
    { "OAuth2SessionMaxAge", "31536001", NULL, "outside" },
    { "OAuth2Cookie", "__Host-s", NULL, NULL },
    { "OAuth2Cookie", "a b", NULL, "a cookie name" },
    { "OAuth2Cookie", "", NULL, "must not be empty" },
    { "OAuth2CookieDomain", ".example.com", NULL, NULL },
    { "OAuth2CookieDomain", "example.com;x", NULL, "domain name" },
    { "OAuth2CookieSameSite", "strict", NULL, NULL },
    { "OAuth2CookieSameSite", "Sometimes", NULL, "Lax, Strict or None" },
    { "OAuth2CookieSecure", "On", NULL, NULL },
    { "OAuth2RemoteUserClaim", "preferred_username", NULL, NULL },
    { "OAuth2RemoteUserClaim", "a b", NULL, "claim name" },
    { "OAuth2GroupsClaim", "realm_access.roles", NULL, NULL },
    { "OAuth2ClockSkew", "0", NULL, NULL },
    { "OAuth2ClockSkew", "3601", NULL, "outside" },
    { "OAuth2ClockSkew", "-5", NULL, "not a whole number" },
    { "OAuth2HTTPTimeout", "300", NULL, NULL },
    { "OAuth2HTTPTimeout", "301", NULL, "outside" },
    { "OAuth2CAFile", "/nonexistent/ca.pem", NULL, "is not a file" },
    { "OAuth2AllowedRedirectHosts", ".example.com", NULL, NULL },
    { "OAuth2AllowedRedirectHosts", "a/b", NULL, "host names" },
    { "OAuth2GoogleServiceAccount", "/etc/key.json", NULL, "file:" },
    { "OAuth2GoogleAdminEmail", "admin@example.com", NULL, NULL },
    { "OAuth2GoogleAdminEmail", "admin", NULL, "" },
    { "OAuth2UnauthAction", "pass", NULL, NULL },
    { "OAuth2UnauthAction", "maybe", NULL, "auto, login, 401, 403 or pass" },
    { "OAuth2AcceptBearer", "On", NULL, NULL },
    { "OAuth2BearerAudience", "https://api.example", NULL, NULL },
    { "OAuth2BearerAllowUntyped", "Off", NULL, NULL },
    { "OAuth2PassAccessToken", "On", NULL, NULL },
    { "OAuth2PassClaims", "both", NULL, NULL },
    { "OAuth2PassClaims", "cookies", NULL, "headers, env, both or none" },
    { "OAuth2Page", "nope", "/x.html", "unknown page 'nope' (the pages are" },
    { "OAuth2Page", "refused", "refused.html", "not an absolute path" },
    { "OAuth2Page", "refused", "/nonexistent/refused.html",
      "cannot read /nonexistent/refused.html" },
    { "OAuth2Use", "staff", NULL, NULL },
    { "OAuth2Use", "1x", NULL, "\"1x\" is not a provider name" },
    { "OAuth2Use", "a/b", NULL, "is not a provider name" },
    { "<OAuth2Provider", "staff>", NULL, NULL },
    { "<OAuth2Provider", "a b>", NULL, "is not a provider name" },
    { "<OAuth2Provider", "staff", NULL, "must end with '>'" },
};

static void test_directives_setters(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        void *t;
        const char *err = apply(cases[i].name, cases[i].a1, cases[i].a2, &t);

        if (cases[i].err == NULL && err != NULL) {
            fail_msg("%s %s: refused: %s", cases[i].name, cases[i].a1, err);
        }
        if (cases[i].err != NULL
            && (err == NULL || strstr(err, cases[i].err) == NULL)) {
            fail_msg("%s %s: want \"%s\", got %s", cases[i].name, cases[i].a1,
                     cases[i].err, err ? err : "(accepted)");
        }
    }
}

/* What the setters store. */
static void test_directives_values(void **state)
{
    oauth2_cfg_t *c;
    oauth2_dir_cfg_t *d;
    void *t;

    (void)state;
    assert_null(apply("OAuth2ClockSkew", "90", NULL, &t));
    assert_int_equal(((oauth2_cfg_t *)t)->clock_skew, 90);
    assert_null(apply("OAuth2CookieSameSite", "strict", NULL, &t));
    assert_string_equal(((oauth2_cfg_t *)t)->cookie_samesite, "Strict");
    assert_null(apply("OAuth2CookieSecure", "Off", NULL, &t));
    assert_int_equal(((oauth2_cfg_t *)t)->cookie_secure, 0);
    assert_null(apply("OAuth2ClientAuth", "POST", NULL, &t));
    assert_int_equal(((oauth2_cfg_t *)t)->client_auth_post, 1);
    /* The same as OAuth2Endpoint metadata. */
    assert_null(apply("OAuth2ProviderMetadataURL",
                      "https://sso.example/api/oidc/.well-known/x", NULL, &t));
    assert_string_equal(((oauth2_cfg_t *)t)->endpoints[OAUTH2_EP_METADATA],
                        "https://sso.example/api/oidc/.well-known/x");
    assert_null(apply("OAuth2AllowedRedirectHosts", "A.Example.COM", NULL, &t));
    c = t;
    assert_string_equal(APR_ARRAY_IDX(c->redirect_hosts, 0, char *),
                        "a.example.com");
    assert_null(apply("OAuth2PassClaims", "env", NULL, &t));
    d = t;
    assert_int_equal(d->pass_claims, OAUTH2_PASS_ENV);
    assert_null(apply("OAuth2UnauthAction", "401", NULL, &t));
    assert_int_equal(((oauth2_dir_cfg_t *)t)->unauth, OAUTH2_UNAUTH_401);
    assert_null(apply("OAuth2AcceptBearer", "On", NULL, &t));
    assert_int_equal(((oauth2_dir_cfg_t *)t)->accept_bearer, 1);
    /* OAuth2Secret is ITERATE: every value is kept, the first seals. */
    c = oauth2_cfg_create(pool);
    assert_null(
        oauth2_directive_apply(pool, oauth2_directive_find("OAuth2Secret"), c,
                               "first-0123456789abcdef0123456789abcdef", NULL));
    assert_null(oauth2_directive_apply(
        pool, oauth2_directive_find("OAuth2Secret"), c,
        "second-0123456789abcdef0123456789abcdef", NULL));
    assert_int_equal(c->secrets->nelts, 2);
    assert_non_null(oauth2_directive_apply(pool, NULL, c, "x", NULL));
    assert_non_null(oauth2_directive_apply(
        pool, oauth2_directive_find("OAuth2ClientID"), c, NULL, NULL));
}

/* OAuth2Page reads and checks the site's file when the configuration is
 * read; finalizing fills the other pages with the built-in ones. */
static void test_directives_page(void **state)
{
    char path[] = "/tmp/test_directives_XXXXXX";
    const char *good = "<h1>{{title}}</h1>{{#logout_url}}x{{/logout_url}}";
    const char *bad = "<h1>{{title}}</h1>\n{{users}}";
    apr_file_t *f;
    apr_size_t n;
    oauth2_cfg_t *c;
    const char *err;
    int k;

    (void)state;
    assert_int_equal(apr_file_mktemp(&f, path,
                                     APR_FOPEN_CREATE | APR_FOPEN_READ
                                         | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                                     pool),
                     APR_SUCCESS);
    assert_int_equal(apr_file_write_full(f, good, strlen(good), &n),
                     APR_SUCCESS);
    apr_file_close(f);
    c = oauth2_cfg_create(pool);
    assert_null(oauth2_directive_apply(
        pool, oauth2_directive_find("OAuth2Page"), c, "refused", path));
    assert_non_null(c->pages[OAUTH2_PAGE_REFUSED]);
    assert_null(c->pages[OAUTH2_PAGE_LOGIN_FAILED]);
    assert_null(oauth2_cfg_finalize(pool, c));
    for (k = 0; k < OAUTH2_PAGE_COUNT; k++) {
        assert_non_null(c->pages[k]);
    }
    assert_ptr_not_equal(c->pages[OAUTH2_PAGE_REFUSED],
                         c->pages[OAUTH2_PAGE_ERROR]);
    /* An unknown variable: the directive, the file and the line. */
    assert_int_equal(apr_file_open(&f, path,
                                   APR_FOPEN_WRITE | APR_FOPEN_TRUNCATE,
                                   APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    assert_int_equal(apr_file_write_full(f, bad, strlen(bad), &n), APR_SUCCESS);
    apr_file_close(f);
    err = oauth2_directive_apply(pool, oauth2_directive_find("OAuth2Page"), c,
                                 "login-failed", path);
    assert_non_null(err);
    assert_int_equal(strncmp(err, "OAuth2Page: ", 12), 0);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "line 2: unknown variable {{users}}"));
    apr_file_remove(path, pool);
}

/* The glue's one call: a directive reaches its scope's configuration; a
 * directory directive read at startup notes what sessions must keep, one
 * of an .htaccess file (read while serving) does not. */
static void test_directives_set(void **state)
{
    oauth2_cfg_t *srv = oauth2_cfg_create(pool);
    oauth2_dir_cfg_t *dir = oauth2_dir_cfg_create(pool);
    const oauth2_directive_t *pass =
        oauth2_directive_find("OAuth2PassAccessToken");

    (void)state;
    assert_null(oauth2_directive_set(pool, pass, srv, dir, "On", NULL, 0));
    assert_int_equal(dir->pass_access_token, 1);
    assert_int_equal(srv->tokens_wanted, 0);
    assert_null(oauth2_directive_set(pool, pass, srv, dir, "On", NULL, 1));
    assert_int_equal(srv->tokens_wanted, 1);
    assert_null(oauth2_directive_set(pool,
                                     oauth2_directive_find("OAuth2ClientID"),
                                     srv, dir, "app", NULL, 1));
    assert_string_equal(srv->client_id, "app");
    assert_non_null(oauth2_directive_set(pool, pass, srv, dir, "#x", NULL, 1));
}

/* Inside an <OAuth2Provider NAME> section (srv is the section's): the
 * provider's own directives only; the host's (OAuth2Secret, OAuth2Cookie,
 * a nested section) and directory directives are refused, naming the
 * section. */
static void test_directives_set_in_section(void **state)
{
    oauth2_cfg_t *host = oauth2_cfg_create(pool), *sec;
    oauth2_dir_cfg_t *dir = oauth2_dir_cfg_create(pool);
    const oauth2_directive_t *open = oauth2_directive_find("<OAuth2Provider");
    const char *err;

    (void)state;
    assert_non_null(open);
    assert_int_equal(open->scope, OAUTH2_DIRECTIVE_SERVER);
    assert_int_equal(open->args, OAUTH2_ARGS_SECTION);
    assert_null(oauth2_directive_set(pool, open, host, dir, "staff>", NULL, 1));
    assert_int_equal(host->providers->nelts, 1);
    sec = APR_ARRAY_IDX(host->providers, 0, oauth2_cfg_t *);
    assert_string_equal(sec->name, "staff");

    assert_null(
        oauth2_directive_set(pool, oauth2_directive_find("OAuth2Provider"), sec,
                             dir, "https://idp.example.com", NULL, 1));
    assert_int_equal(sec->provider_set, 1);
    assert_int_equal(host->provider_set, 0);
    assert_null(oauth2_directive_set(pool,
                                     oauth2_directive_find("OAuth2ClientID"),
                                     sec, dir, "staff-app", NULL, 1));
    assert_string_equal(sec->client_id, "staff-app");
    assert_null(host->client_id);
    assert_null(oauth2_directive_set(
        pool, oauth2_directive_find("OAuth2RemoteUserClaim"), sec, dir, "email",
        NULL, 1));
    assert_string_equal(sec->remote_user_claim, "email");

    err = oauth2_directive_set(pool, oauth2_directive_find("OAuth2Secret"), sec,
                               dir, "0123456789abcdef0123456789abcdef-ok", NULL,
                               1);
    assert_non_null(err);
    assert_non_null(
        strstr(err, "OAuth2Secret cannot be inside <OAuth2Provider staff>"));
    assert_null(sec->secrets);
    err = oauth2_directive_set(pool, oauth2_directive_find("OAuth2Cookie"), sec,
                               dir, "s", NULL, 1);
    assert_non_null(strstr(err, "cannot be inside <OAuth2Provider staff>"));
    assert_null(sec->cookie_name);
    /* directory directives */
    err =
        oauth2_directive_set(pool, oauth2_directive_find("OAuth2UnauthAction"),
                             sec, dir, "401", NULL, 1);
    assert_non_null(
        strstr(err, "OAuth2UnauthAction cannot be inside <OAuth2Provider"));
    assert_int_equal(dir->unauth, oauth2_dir_cfg_create(pool)->unauth);
    err = oauth2_directive_set(pool, oauth2_directive_find("OAuth2Use"), sec,
                               dir, "staff", NULL, 1);
    assert_non_null(strstr(err, "OAuth2Use cannot be inside"));
    assert_null(dir->use);
    /* a section in a section */
    err = oauth2_directive_set(pool, open, sec, dir, "other>", NULL, 1);
    assert_non_null(err);
    assert_null(sec->providers);
    assert_int_equal(host->providers->nelts, 1);
    /* at the host, the same directives are taken */
    assert_null(oauth2_directive_set(
        pool, oauth2_directive_find("OAuth2Cookie"), host, dir, "s", NULL, 1));
    assert_string_equal(host->cookie_name, "s");
}

/* OAuth2Use NAME...: one call per name (ITERATE), in order, each checked
 * and '#' refused. */
static void test_directives_use(void **state)
{
    const oauth2_directive_t *use = oauth2_directive_find("oauth2use");
    oauth2_cfg_t *srv = oauth2_cfg_create(pool);
    oauth2_dir_cfg_t *dir = oauth2_dir_cfg_create(pool);
    const char *err;

    (void)state;
    assert_non_null(use);
    assert_int_equal(use->scope, OAUTH2_DIRECTIVE_DIR);
    assert_int_equal(use->args, OAUTH2_ARGS_ITERATE);
    assert_null(oauth2_directive_set(pool, use, srv, dir, "staff", NULL, 1));
    assert_null(
        oauth2_directive_set(pool, use, srv, dir, "contractors", NULL, 1));
    assert_int_equal(dir->use->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(dir->use, 0, const char *), "staff");
    assert_string_equal(APR_ARRAY_IDX(dir->use, 1, const char *),
                        "contractors");
    err = oauth2_directive_set(pool, use, srv, dir, "#staff", NULL, 1);
    assert_non_null(err);
    assert_non_null(strstr(err, "no end-of-line comments"));
    err = oauth2_directive_set(pool, use, srv, dir, "bad name", NULL, 1);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2Use: ", 11) == 0);
    assert_int_equal(dir->use->nelts, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directives_table),
        cmocka_unit_test(test_directives_refuse_comments),
        cmocka_unit_test(test_directives_setters),
        cmocka_unit_test(test_directives_values),
        cmocka_unit_test(test_directives_page),
        cmocka_unit_test(test_directives_set),
        cmocka_unit_test(test_directives_set_in_section),
        cmocka_unit_test(test_directives_use),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
