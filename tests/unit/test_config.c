/*
 * test_config.c: unit tests for src/config.c: the parsers behind the
 * directive setters (numbers, file:/env: values, URLs, OAuth2Provider,
 * OAuth2Endpoint, OAuth2SessionStore, OAuth2AuthParams), merging server
 * and directory configs, and the defaults and whole-config checks of
 * oauth2_cfg_finalize.
 */
#include "config.h"
#include "bounds.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "crypto.h"
#include "errors.h"

static apr_pool_t *pool;
static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    assert_int_equal(oauth2_crypto_init(), APR_SUCCESS);
    strcpy(tmpdir, "/tmp/test_config.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* Writes len bytes to a file in tmpdir; returns its path. */
static const char *write_file(const char *name, const char *data,
                              apr_size_t len)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Decimal digits only, in [min, max]; *out untouched on error. */
static void test_config_parse_int(void **state)
{
    static const struct {
        const char *arg;
        int min, max;
        int ok;
        int value;
    } cases[] = {
        { "0", 0, 10, 1, 0 },
        { "10", 0, 10, 1, 10 },
        { "007", 0, 10, 1, 7 },
        { "2147483647", 0, 2147483647, 1, 2147483647 },
        { "11", 0, 10, 0, 0 },
        { "4", 5, 10, 0, 0 },
        { "", 0, 10, 0, 0 },
        { "+5", 0, 10, 0, 0 },
        { "-1", -5, 10, 0, 0 },
        { " 5", 0, 10, 0, 0 },
        { "5 ", 0, 10, 0, 0 },
        { "5\n", 0, 10, 0, 0 },
        { "0x10", 0, 100, 0, 0 },
        { "1e3", 0, 10000, 0, 0 },
        { "5.0", 0, 10, 0, 0 },
        { "five", 0, 10, 0, 0 },
        { "2147483648", 0, 2147483647, 0, 0 },
        { "99999999999999999999", 0, 2147483647, 0, 0 },
        { "18446744073709551616", 0, 2147483647, 0, 0 },
        { "9223372036854775808", 0, 2147483647, 0, 0 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int out = -12345;
        const char *err = oauth2_cfg_parse_int(pool, cases[i].arg, cases[i].min,
                                               cases[i].max, &out);

        if (cases[i].ok) {
            if (err != NULL) {
                fail_msg("case %zu '%s': %s", i, cases[i].arg, err);
            }
            assert_int_equal(out, cases[i].value);
        }
        else {
            if (err == NULL) {
                fail_msg("case %zu '%s' accepted", i, cases[i].arg);
            }
            assert_int_equal(out, -12345);
        }
    }
    {
        int out = 1;

        assert_non_null(oauth2_cfg_parse_int(pool, NULL, 0, 10, &out));
        assert_int_equal(out, 1);
    }
}

static const char *resolve(const char *arg, const char **err)
{
    const char *out = "untouched";

    *err = oauth2_cfg_resolve_value(pool, arg, &out);
    return out;
}

/* Literal values, and the empty value refused. */
static void test_config_resolve_literal(void **state)
{
    const char *err;

    (void)state;
    assert_string_equal(resolve("s3cret", &err), "s3cret");
    assert_null(err);
    assert_string_equal(resolve("has file: inside", &err), "has file: inside");
    assert_null(err);
    assert_string_equal(resolve("FILE:/x", &err), "FILE:/x"); /* literal */
    assert_null(err);
    assert_string_equal(resolve("", &err), "untouched");
    assert_non_null(err);
    assert_string_equal(resolve(NULL, &err), "untouched");
    assert_non_null(err);
}

/* file: the contents without trailing CR/LF, at most 64 KiB. */
static void test_config_resolve_file(void **state)
{
    static const struct {
        const char *data;
        apr_size_t len;
        const char *value; /* NULL: refused */
    } cases[] = {
        { "secret", 6, "secret" },
        { "secret\n", 7, "secret" },
        { "secret\r\n", 8, "secret" },
        { "secret\n\n\n", 9, "secret" },
        { "sec ret \n", 9, "sec ret " },
        { "line1\nline2\n", 12, "line1\nline2" },
        { "", 0, NULL },
        { "\n", 1, NULL },
        { "\r\n\r\n", 4, NULL },
    };
    apr_size_t i;
    const char *err, *path, *v;
    char *big;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        path = write_file(apr_psprintf(pool, "f%d", (int)i), cases[i].data,
                          cases[i].len);
        v = resolve(apr_pstrcat(pool, "file:", path, NULL), &err);
        if (cases[i].value != NULL) {
            assert_null(err);
            assert_string_equal(v, cases[i].value);
        }
        else {
            assert_non_null(err);
            assert_string_equal(v, "untouched");
        }
    }

    /* exactly 64 KiB is read whole; one byte more is refused */
    big = apr_palloc(pool, 65537);
    memset(big, 'k', 65537);
    path = write_file("big", big, 65536);
    v = resolve(apr_pstrcat(pool, "file:", path, NULL), &err);
    assert_null(err);
    assert_int_equal(strlen(v), 65536);
    path = write_file("bigger", big, 65537);
    v = resolve(apr_pstrcat(pool, "file:", path, NULL), &err);
    assert_non_null(err);
    assert_string_equal(v, "untouched");

    /* missing, a directory, and no path */
    v = resolve(apr_pstrcat(pool, "file:", tmpdir, "/nonexistent", NULL), &err);
    assert_non_null(err);
    assert_non_null(strstr(err, "nonexistent"));
    v = resolve(apr_pstrcat(pool, "file:", tmpdir, NULL), &err);
    assert_non_null(err);
    v = resolve("file:", &err);
    assert_non_null(err);
    assert_string_equal(v, "untouched");
}

/* A file that cannot be opened for reading: a path through a regular
 * file (ENOTDIR, for every user), and mode 000 (root may read anything,
 * so that part only runs for other users). */
static void test_config_resolve_file_unreadable(void **state)
{
    const char *path = write_file("locked", "secret", 6), *err, *v;

    (void)state;
    v = resolve(apr_pstrcat(pool, "file:", path, "/inside", NULL), &err);
    assert_non_null(err);
    assert_string_equal(v, "untouched");
    assert_int_equal(chmod(path, 0), 0);
    if (geteuid() != 0) {
        v = resolve(apr_pstrcat(pool, "file:", path, NULL), &err);
        assert_non_null(err);
        assert_string_equal(v, "untouched");
    }
}

/* env: set, unset, empty. */
static void test_config_resolve_env(void **state)
{
    const char *err, *v;

    (void)state;
    setenv("OAUTH2_TEST_SECRET", "from-env", 1);
    unsetenv("OAUTH2_TEST_UNSET");
    setenv("OAUTH2_TEST_EMPTY", "", 1);
    v = resolve("env:OAUTH2_TEST_SECRET", &err);
    assert_null(err);
    assert_string_equal(v, "from-env");
    v = resolve("env:OAUTH2_TEST_UNSET", &err);
    assert_non_null(err);
    assert_non_null(strstr(err, "OAUTH2_TEST_UNSET"));
    assert_string_equal(v, "untouched");
    v = resolve("env:OAUTH2_TEST_EMPTY", &err);
    assert_non_null(err);
    assert_string_equal(v, "untouched");
    v = resolve("env:", &err);
    assert_non_null(err);
    unsetenv("OAUTH2_TEST_SECRET");
    unsetenv("OAUTH2_TEST_EMPTY");
}

/* Absolute http(s) URLs with a host; no userinfo, no fragment; a query
 * only when allowed. */
static void test_config_check_url(void **state)
{
    static const struct {
        const char *url;
        int ok;          /* with no_query = 0 */
        int ok_no_query; /* with no_query = 1 */
    } cases[] = {
        { "https://idp.example.com", 1, 1 },
        { "https://idp.example.com/", 1, 1 },
        { "http://127.0.0.1:8080/realms/x", 1, 1 },
        { "https://[::1]:8443/issuer", 1, 1 },
        { "HTTPS://IDP.EXAMPLE.COM/", 1, 1 },
        { "https://idp.example.com/auth?tenant=x", 1, 0 },
        { "https://idp.example.com/?", 1, 0 },
        { "", 0, 0 },
        { "idp.example.com", 0, 0 },
        { "/relative/path", 0, 0 },
        { "//idp.example.com/x", 0, 0 },
        { "ftp://idp.example.com/", 0, 0 },
        { "file:///etc/passwd", 0, 0 },
        { "javascript:alert(1)", 0, 0 },
        { "ldap://idp.example.com", 0, 0 },
        { "https://", 0, 0 },
        { "https:///path", 0, 0 },
        { "https://user@idp.example.com/", 0, 0 },
        { "https://user:pw@idp.example.com/", 0, 0 },
        { "https://:pw@idp.example.com/", 0, 0 },
        { "https://idp.example.com/#frag", 0, 0 },
        { "https://idp.example.com/#", 0, 0 },
        { "https://idp.example.com/?q=1#f", 0, 0 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *e0 = oauth2_cfg_check_url(pool, cases[i].url, 0);
        const char *e1 = oauth2_cfg_check_url(pool, cases[i].url, 1);

        if ((e0 == NULL) != cases[i].ok
            || (e1 == NULL) != cases[i].ok_no_query) {
            fail_msg("case %zu '%s': %s / %s", i, cases[i].url, e0 ? e0 : "ok",
                     e1 ? e1 : "ok");
        }
        if (e0 != NULL) {
            assert_non_null(strstr(e0, cases[i].url));
        }
    }
    assert_non_null(oauth2_cfg_check_url(pool, NULL, 0));
}

/* OAuth2Provider: an issuer URL, or a preset with its base argument. */
static void test_config_set_provider(void **state)
{
    static const struct {
        const char *a1, *a2;
        int ok;
        oauth2_preset_e preset;
        const char *issuer, *base;
    } cases[] = {
        { "https://idp.example.com", NULL, 1, OAUTH2_PRESET_NONE,
          "https://idp.example.com", NULL },
        { "https://idp.example.com/realms/x/", NULL, 1, OAUTH2_PRESET_NONE,
          "https://idp.example.com/realms/x/", NULL },
        { "https://idp.example.com", "extra", 0, 0, NULL, NULL },
        { "https://idp.example.com/?x=1", NULL, 0, 0, NULL, NULL },
        { "ftp://idp.example.com", NULL, 0, 0, NULL, NULL },
        { "https://user@idp.example.com", NULL, 0, 0, NULL, NULL },
        { "google", NULL, 1, OAUTH2_PRESET_GOOGLE, NULL, NULL },
        { "GitHub", NULL, 1, OAUTH2_PRESET_GITHUB, NULL, NULL },
        { "github", "https://github.example.com/", 1, OAUTH2_PRESET_GITHUB,
          NULL, "https://github.example.com" },
        { "github", "not a url", 0, 0, NULL, NULL },
        { "gitlab", NULL, 1, OAUTH2_PRESET_GITLAB, NULL, NULL },
        { "gitlab", "https://gitlab.example.com//", 1, OAUTH2_PRESET_GITLAB,
          NULL, "https://gitlab.example.com" },
        { "microsoft", NULL, 0, 0, NULL, NULL },
        /* Only a tenant ID can match Entra ID's issuer exactly. */
        { "microsoft", "organizations", 0, 0, NULL, NULL },
        { "microsoft", "common", 0, 0, NULL, NULL },
        { "microsoft", "contoso.onmicrosoft.com", 0, 0, NULL, NULL },
        { "microsoft", "9188040d-6c67-4c5b-b112-36a304b66da", 0, 0, NULL,
          NULL },
        { "microsoft", "9188040d-6c67-4c5b-b112-36a304b66dadd", 0, 0, NULL,
          NULL },
        { "microsoft", "9188040d_6c67-4c5b-b112-36a304b66dad", 0, 0, NULL,
          NULL },
        { "microsoft", "9188040d-6c67-4c5b-b112-36a304b66dad", 1,
          OAUTH2_PRESET_MICROSOFT, NULL,
          "9188040d-6c67-4c5b-b112-36a304b66dad" },
        { "microsoft", "a/b", 0, 0, NULL, NULL },
        { "microsoft", "common?x", 0, 0, NULL, NULL },
        { "microsoft", "", 0, 0, NULL, NULL },
        { "microsoft", "..", 0, 0, NULL, NULL },
        { "microsoft", "https://login.example.com/tenant", 1,
          OAUTH2_PRESET_MICROSOFT, NULL, "https://login.example.com/tenant" },
        { "keycloak", NULL, 0, 0, NULL, NULL },
        { "keycloak", "myrealm", 0, 0, NULL, NULL },
        { "keycloak", "https://sso.example.com/realms/r/", 1,
          OAUTH2_PRESET_KEYCLOAK, NULL, "https://sso.example.com/realms/r" },
        { "keycloak", "https://sso.example.com/realms/r?x", 0, 0, NULL, NULL },
        { "okta", NULL, 0, 0, NULL, NULL },
        { "", NULL, 0, 0, NULL, NULL },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_cfg_t *c = oauth2_cfg_create(pool);
        const char *err =
            oauth2_cfg_set_provider(pool, c, cases[i].a1, cases[i].a2);

        if ((err == NULL) != cases[i].ok) {
            fail_msg("case %zu '%s' '%s': %s", i, cases[i].a1,
                     cases[i].a2 ? cases[i].a2 : "(none)",
                     err ? err : "accepted");
        }
        if (!cases[i].ok) {
            continue;
        }
        assert_int_equal(c->provider_set, 1);
        assert_int_equal(c->preset, cases[i].preset);
        if (cases[i].issuer) {
            assert_string_equal(c->issuer, cases[i].issuer);
        }
        else {
            assert_null(c->issuer);
        }
        if (cases[i].base) {
            assert_string_equal(c->preset_base, cases[i].base);
        }
        else {
            assert_null(c->preset_base);
        }
    }
}

/* One provider per scope: a second OAuth2Provider is refused. */
static void test_config_set_provider_twice(void **state)
{
    oauth2_cfg_t *c = oauth2_cfg_create(pool);
    const char *err;

    (void)state;
    assert_null(oauth2_cfg_set_provider(pool, c, "google", NULL));
    err = oauth2_cfg_set_provider(pool, c, "https://idp.example.com", NULL);
    assert_non_null(err);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(c->preset, OAUTH2_PRESET_GOOGLE);
    assert_null(c->issuer);
}

static void test_config_preset_names(void **state)
{
    (void)state;
    assert_string_equal(oauth2_cfg_preset_name(OAUTH2_PRESET_NONE), "");
    assert_string_equal(oauth2_cfg_preset_name(OAUTH2_PRESET_GOOGLE), "google");
    assert_string_equal(oauth2_cfg_preset_name(OAUTH2_PRESET_GITHUB), "github");
    assert_string_equal(oauth2_cfg_preset_name(OAUTH2_PRESET_GITLAB), "gitlab");
    assert_string_equal(oauth2_cfg_preset_name(OAUTH2_PRESET_MICROSOFT),
                        "microsoft");
    assert_string_equal(oauth2_cfg_preset_name(OAUTH2_PRESET_KEYCLOAK),
                        "keycloak");
}

/* OAuth2Endpoint KIND URL: every kind by name (any case); unknown kinds
 * and bad URLs refused; a query is allowed here. */
static void test_config_set_endpoint(void **state)
{
    static const struct {
        const char *kind;
        oauth2_endpoint_e e;
    } kinds[] = {
        { "authorization", OAUTH2_EP_AUTHORIZATION },
        { "token", OAUTH2_EP_TOKEN },
        { "USERINFO", OAUTH2_EP_USERINFO },
        { "jwks", OAUTH2_EP_JWKS },
        { "end_session", OAUTH2_EP_END_SESSION },
        { "github_api", OAUTH2_EP_GITHUB_API },
        { "gitlab_api", OAUTH2_EP_GITLAB_API },
        { "Google_Directory", OAUTH2_EP_GOOGLE_DIRECTORY },
        { "metadata", OAUTH2_EP_METADATA },
    };
    oauth2_cfg_t *c = oauth2_cfg_create(pool);
    apr_size_t i;
    int j;

    (void)state;
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const char *url =
            apr_psprintf(pool, "https://idp.example.com/%d?x=1", (int)i);

        assert_null(oauth2_cfg_set_endpoint(pool, c, kinds[i].kind, url));
        assert_string_equal(c->endpoints[kinds[i].e], url);
    }
    for (j = 0; j < OAUTH2_EP_COUNT; j++) {
        assert_non_null(c->endpoints[j]);
    }
    assert_non_null(
        oauth2_cfg_set_endpoint(pool, c, "revocation", "https://x.example/"));
    assert_non_null(oauth2_cfg_set_endpoint(pool, c, "", "https://x.example/"));
    assert_non_null(
        oauth2_cfg_set_endpoint(pool, c, "end-session", "https://x.example/"));
    assert_non_null(oauth2_cfg_set_endpoint(pool, c, "token", "/token"));
    assert_non_null(
        oauth2_cfg_set_endpoint(pool, c, "token", "https://x.example/#f"));
    assert_non_null(
        oauth2_cfg_set_endpoint(pool, c, "jwks", "file:///etc/passwd"));
    assert_string_equal(c->endpoints[OAUTH2_EP_TOKEN],
                        "https://idp.example.com/1?x=1");
}

/* OAuth2SessionStore: shm, shm:N (64..4000000), cookie, socache specs. */
static void test_config_set_store(void **state)
{
    static const struct {
        const char *arg;
        int ok;
        oauth2_store_kind_e kind;
        int capacity; /* OAUTH2_UNSET when not given */
        const char *spec;
    } cases[] = {
        { "shm", 1, OAUTH2_STORE_SHM, OAUTH2_UNSET, NULL },
        { "SHM", 1, OAUTH2_STORE_SHM, OAUTH2_UNSET, NULL },
        { "shm:64", 1, OAUTH2_STORE_SHM, 64, NULL },
        { "shm:100000", 1, OAUTH2_STORE_SHM, 100000, NULL },
        { "shm:4000000", 1, OAUTH2_STORE_SHM, 4000000, NULL },
        { "shm:63", 0, 0, 0, NULL },
        { "shm:4000001", 0, 0, 0, NULL },
        { "shm:0", 0, 0, 0, NULL },
        { "shm:", 0, 0, 0, NULL },
        { "shm:-100", 0, 0, 0, NULL },
        { "shm:1k", 0, 0, 0, NULL },
        { "shm:99999999999999999999", 0, 0, 0, NULL },
        { "cookie", 1, OAUTH2_STORE_COOKIE, OAUTH2_UNSET, NULL },
        { "Cookie", 1, OAUTH2_STORE_COOKIE, OAUTH2_UNSET, NULL },
        { "redis:127.0.0.1:6379", 1, OAUTH2_STORE_SOCACHE, OAUTH2_UNSET,
          "redis:127.0.0.1:6379" },
        { "memcache:cache.example:11211", 1, OAUTH2_STORE_SOCACHE, OAUTH2_UNSET,
          "memcache:cache.example:11211" },
        { "shmcb:/run/apache2/oauth2(512000)", 1, OAUTH2_STORE_SOCACHE,
          OAUTH2_UNSET, "shmcb:/run/apache2/oauth2(512000)" },
        { "redis", 0, 0, 0, NULL },
        { "redis:", 0, 0, 0, NULL },
        { "files", 0, 0, 0, NULL },
        { ":6379", 0, 0, 0, NULL },
        { "", 0, 0, 0, NULL },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_cfg_t *c = oauth2_cfg_create(pool);
        const char *err = oauth2_cfg_set_store(pool, c, cases[i].arg);

        if ((err == NULL) != cases[i].ok) {
            fail_msg("case %zu '%s': %s", i, cases[i].arg,
                     err ? err : "accepted");
        }
        if (!cases[i].ok) {
            continue;
        }
        assert_int_equal(c->store, cases[i].kind);
        assert_int_equal(c->shm_capacity, cases[i].capacity);
        if (cases[i].spec) {
            assert_string_equal(c->store_spec, cases[i].spec);
        }
        else {
            assert_null(c->store_spec);
        }
    }
}

/* OAuth2AuthParams: name=value words into "&name=value..." with each side
 * percent-encoded (RFC 3986 unreserved kept); the protocol's own
 * parameters cannot be set. */
static void test_config_auth_params(void **state)
{
    static const struct {
        const char *arg;
        const char *query; /* NULL: refused */
    } cases[] = {
        { "hd=example.com", "&hd=example.com" },
        { "hd=example.com prompt=consent", "&hd=example.com&prompt=consent" },
        { "  a=1\t\tb=2  ", "&a=1&b=2" },
        { "acr_values=urn:mace:incommon:iap:silver",
          "&acr_values=urn%3Amace%3Aincommon%3Aiap%3Asilver" },
        { "x=a&b=c", "&x=a%26b%3Dc" },
        { "a=b=c", "&a=b%3Dc" },
        { "k=", "&k=" },
        { "login_hint=user@example.com", "&login_hint=user%40example.com" },
        { "x=%41", "&x=%2541" },
        { "caf\xc3\xa9=1", "&caf%C3%A9=1" },
        { "x=a+b", "&x=a%2Bb" },
        { "", "" },
        { "novalue", NULL },
        { "=v", NULL },
        { "a=1 =2", NULL },
        { "response_type=token", NULL },
        { "client_id=x", NULL },
        { "redirect_uri=https://evil.example", NULL },
        { "scope=admin", NULL },
        { "state=x", NULL },
        { "nonce=x", NULL },
        { "State=x", NULL },
        { "REDIRECT_URI=x", NULL },
        { "code_challenge=x", NULL },
        { "code_challenge_method=plain", NULL },
        { "prompt=login state=x", NULL },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *out = "untouched";
        const char *err =
            oauth2_cfg_parse_auth_params(pool, cases[i].arg, &out);

        if (cases[i].query == NULL) {
            if (err == NULL) {
                fail_msg("case %zu '%s' accepted: %s", i, cases[i].arg, out);
            }
            assert_string_equal(out, "untouched");
        }
        else {
            if (err != NULL) {
                fail_msg("case %zu '%s': %s", i, cases[i].arg, err);
            }
            assert_string_equal(out, cases[i].query);
        }
    }
}

/* A main server with a provider, a client and options. */
static oauth2_cfg_t *main_server(void)
{
    oauth2_cfg_t *c = oauth2_cfg_create(pool);

    assert_null(
        oauth2_cfg_set_provider(pool, c, "https://idp.example.com", NULL));
    assert_null(oauth2_cfg_set_endpoint(pool, c, "userinfo",
                                        "https://idp.example.com/ui"));
    c->client_id = "main-id";
    c->client_secret = "main-secret";
    c->client_auth_post = 1;
    c->scope = "openid main";
    c->auth_params = "&hd=main";
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) = "x";
    c->session_timeout = 100;
    c->cookie_secure = 1;
    c->cookie_name = "main_cookie";
    c->store = OAUTH2_STORE_COOKIE;
    return c;
}

/* A virtual host with nothing of its own inherits everything. */
static void test_config_merge_inherits(void **state)
{
    oauth2_cfg_t *base = main_server(), *add = oauth2_cfg_create(pool), *m;

    (void)state;
    m = oauth2_cfg_merge(pool, base, add);
    assert_ptr_not_equal(m, base);
    assert_int_equal(m->provider_set, 1);
    assert_string_equal(m->issuer, "https://idp.example.com");
    assert_string_equal(m->endpoints[OAUTH2_EP_USERINFO],
                        "https://idp.example.com/ui");
    assert_string_equal(m->client_id, "main-id");
    assert_string_equal(m->client_secret, "main-secret");
    assert_int_equal(m->client_auth_post, 1);
    assert_string_equal(m->scope, "openid main");
    assert_string_equal(m->auth_params, "&hd=main");
    assert_ptr_equal(m->secrets, base->secrets);
    assert_int_equal(m->session_timeout, 100);
    assert_int_equal(m->session_max_age, OAUTH2_UNSET);
    assert_int_equal(m->cookie_secure, 1);
    assert_string_equal(m->cookie_name, "main_cookie");
    assert_int_equal(m->store, OAUTH2_STORE_COOKIE);
}

/* A virtual host naming its own provider takes none of the main server's
 * provider or client settings (they belong together), but still inherits
 * the rest. */
static void test_config_merge_provider_is_a_unit(void **state)
{
    oauth2_cfg_t *base = main_server(), *add = oauth2_cfg_create(pool), *m;
    int i;

    (void)state;
    assert_null(oauth2_cfg_set_provider(pool, add, "keycloak",
                                        "https://sso.example.com/realms/r"));
    m = oauth2_cfg_merge(pool, base, add);
    assert_int_equal(m->preset, OAUTH2_PRESET_KEYCLOAK);
    assert_null(m->issuer);
    assert_string_equal(m->preset_base, "https://sso.example.com/realms/r");
    for (i = 0; i < OAUTH2_EP_COUNT; i++) {
        assert_null(m->endpoints[i]);
    }
    assert_null(m->client_id);
    assert_null(m->client_secret);
    assert_int_equal(m->client_auth_post, OAUTH2_UNSET);
    assert_null(m->scope);
    assert_null(m->auth_params);
    /* not part of the provider: inherited */
    assert_ptr_equal(m->secrets, base->secrets);
    assert_int_equal(m->session_timeout, 100);
    assert_string_equal(m->cookie_name, "main_cookie");
    /* An operator who set the client in the main server is told why. */
    assert_non_null(
        strstr(oauth2_cfg_finalize(pool, m), "inherits no OAuth2ClientID"));
}

/* A virtual host without a provider of its own may override the client
 * settings and single endpoints of the inherited provider. */
static void test_config_merge_overrides(void **state)
{
    oauth2_cfg_t *base = main_server(), *add = oauth2_cfg_create(pool), *m;

    (void)state;
    add->client_id = "vhost-id";
    add->client_auth_post = 0;
    add->scope = "openid vhost";
    add->session_timeout = 0; /* set to 0 is not UNSET */
    add->cookie_secure = 0;
    add->store = OAUTH2_STORE_SHM;
    assert_null(oauth2_cfg_set_endpoint(pool, add, "token",
                                        "https://internal.example.com/t"));
    m = oauth2_cfg_merge(pool, base, add);
    assert_string_equal(m->issuer, "https://idp.example.com");
    assert_string_equal(m->client_id, "vhost-id");
    assert_string_equal(m->client_secret, "main-secret");
    assert_int_equal(m->client_auth_post, 0);
    assert_string_equal(m->scope, "openid vhost");
    assert_int_equal(m->session_timeout, 0);
    assert_int_equal(m->cookie_secure, 0);
    assert_int_equal(m->store, OAUTH2_STORE_SHM);
    assert_string_equal(m->endpoints[OAUTH2_EP_TOKEN],
                        "https://internal.example.com/t");
    assert_string_equal(m->endpoints[OAUTH2_EP_USERINFO],
                        "https://idp.example.com/ui");
    /* the inputs are not changed */
    assert_null(base->endpoints[OAUTH2_EP_TOKEN]);
    assert_string_equal(base->client_id, "main-id");
}

/* Directory configs: UNSET inherits, set (even to 0/Off) wins; the
 * accessors apply the defaults. */
static void test_config_dir_merge(void **state)
{
    oauth2_dir_cfg_t *base = oauth2_dir_cfg_create(pool);
    oauth2_dir_cfg_t *add = oauth2_dir_cfg_create(pool), *m;

    (void)state;
    assert_int_equal(oauth2_dir_unauth(base), OAUTH2_UNAUTH_AUTO);
    assert_int_equal(oauth2_dir_unauth(NULL), OAUTH2_UNAUTH_AUTO);
    assert_int_equal(oauth2_dir_pass_claims(base), 0);
    assert_int_equal(oauth2_dir_pass_claims(NULL), 0);
    assert_int_equal(oauth2_dir_flag(base->accept_bearer), 0);
    assert_int_equal(oauth2_dir_flag(OAUTH2_UNSET), 0);
    assert_int_equal(oauth2_dir_flag(1), 1);

    base->unauth = OAUTH2_UNAUTH_401;
    base->accept_bearer = 1;
    base->bearer_audience = "api";
    base->pass_access_token = 1;
    base->pass_claims = OAUTH2_PASS_HEADERS | OAUTH2_PASS_ENV;
    m = oauth2_dir_cfg_merge(pool, base, add);
    assert_int_equal(oauth2_dir_unauth(m), OAUTH2_UNAUTH_401);
    assert_int_equal(m->accept_bearer, 1);
    assert_string_equal(m->bearer_audience, "api");
    assert_int_equal(m->pass_access_token, 1);
    assert_int_equal(oauth2_dir_pass_claims(m), 3);

    add->unauth = OAUTH2_UNAUTH_PASS;
    add->accept_bearer = 0;
    add->pass_access_token = 0;
    add->pass_claims = 0;
    add->bearer_audience = "other";
    m = oauth2_dir_cfg_merge(pool, base, add);
    assert_int_equal(oauth2_dir_unauth(m), OAUTH2_UNAUTH_PASS);
    assert_int_equal(m->accept_bearer, 0);
    assert_string_equal(m->bearer_audience, "other");
    assert_int_equal(m->pass_access_token, 0);
    assert_int_equal(oauth2_dir_pass_claims(m), 0);
}

/* A complete provider configuration for finalize. */
static oauth2_cfg_t *configured(const char *a1, const char *a2)
{
    oauth2_cfg_t *c = oauth2_cfg_create(pool);

    assert_null(oauth2_cfg_set_provider(pool, c, a1, a2));
    c->client_id = "id";
    c->client_secret = "secret";
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) =
        "0123456789abcdef0123456789abcdef";
    return c;
}

/* Defaults (SPEC.md) for every UNSET field. */
static void test_config_finalize_defaults(void **state)
{
    oauth2_cfg_t *c = configured("https://idp.example.com", NULL);

    (void)state;
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_string_equal(c->scope, "openid email profile");
    assert_string_equal(c->remote_user_claim, "sub");
    assert_string_equal(c->groups_claim, "groups");
    assert_string_equal(c->prefix, "/oauth2");
    assert_int_equal(c->client_auth_post, 0);
    assert_int_equal(c->store, OAUTH2_STORE_SHM);
    assert_int_equal(c->shm_capacity, 10000);
    assert_int_equal(c->session_timeout, 3600);
    assert_int_equal(c->session_max_age, 28800);
    assert_string_equal(c->cookie_name, "oauth2_session");
    assert_string_equal(c->cookie_samesite, "Lax");
    assert_int_equal(c->cookie_secure, OAUTH2_UNSET); /* by scheme */
    assert_int_equal(c->clock_skew, 60);
    assert_int_equal(c->http_timeout, 10);
    assert_null(c->cookie_domain);
    assert_null(c->redirect_uri);
}

/* Preset defaults: GitHub's scope and user claim, GitLab's groups claim;
 * values set by the administrator are kept. */
static void test_config_finalize_preset_defaults(void **state)
{
    static const struct {
        const char *a1, *a2;
        const char *scope, *user, *groups;
    } cases[] = {
        { "google", NULL, "openid email profile", "sub", "groups" },
        { "github", NULL, "read:user user:email read:org", "preferred_username",
          "groups" },
        { "gitlab", NULL, "openid email profile", "sub", "groups_direct" },
        { "microsoft", "9188040d-6c67-4c5b-b112-36a304b66dad",
          "openid email profile", "sub", "groups" },
        { "keycloak", "https://sso.example.com/realms/r",
          "openid email profile", "sub", "groups" },
    };
    oauth2_cfg_t *c;
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = configured(cases[i].a1, cases[i].a2);
        assert_null(oauth2_cfg_finalize(pool, c));
        assert_string_equal(c->scope, cases[i].scope);
        assert_string_equal(c->remote_user_claim, cases[i].user);
        assert_string_equal(c->groups_claim, cases[i].groups);
    }
    c = configured("github", NULL);
    c->scope = "read:user";
    c->remote_user_claim = "email";
    c->groups_claim = "teams";
    c->session_timeout = 5;
    c->cookie_samesite = "Strict";
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_string_equal(c->scope, "read:user");
    assert_string_equal(c->remote_user_claim, "email");
    assert_string_equal(c->groups_claim, "teams");
    assert_int_equal(c->session_timeout, 5);
    assert_string_equal(c->cookie_samesite, "Strict");
}

/* What only the whole configuration can tell, each with the directive
 * to fix in the message. */
static void test_config_finalize_refusals(void **state)
{
    oauth2_cfg_t *c;
    const char *err;

    (void)state;
    /* no provider: nothing is required (the module is not used here) */
    c = oauth2_cfg_create(pool);
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_string_equal(c->prefix, "/oauth2");

    c = configured("google", NULL);
    c->client_id = NULL;
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2ClientID:", 15) == 0);

    c = configured("google", NULL);
    c->secrets = NULL;
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2Secret:", 13) == 0);

    c = configured("google", NULL);
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2Secret:", 13) == 0);

    /* SameSite=None needs Secure (RFC 6265bis §4.1.2.7): Off refused,
     * On and "by scheme" accepted */
    c = configured("google", NULL);
    c->cookie_samesite = "None";
    c->cookie_secure = 0;
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2CookieSameSite:", 21) == 0);
    c->cookie_secure = 1;
    assert_null(oauth2_cfg_finalize(pool, c));
    c->cookie_secure = OAUTH2_UNSET;
    assert_null(oauth2_cfg_finalize(pool, c));

    /* __Host- cookies have no Domain (RFC 6265bis §4.1.3.2) */
    c = configured("google", NULL);
    c->cookie_name = "__Host-session";
    c->cookie_domain = "example.com";
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2CookieDomain:", 19) == 0);
    c->cookie_domain = NULL;
    assert_null(oauth2_cfg_finalize(pool, c));

    /* __Host- and __Secure- cookies must be Secure (RFC 6265bis §4.1.3):
     * OAuth2CookieSecure Off refused, On or by scheme accepted. */
    c->cookie_secure = 0;
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2Cookie:", 13) == 0);
    c->cookie_name = "__Secure-session";
    assert_non_null(oauth2_cfg_finalize(pool, c));
    c->cookie_secure = 1;
    assert_null(oauth2_cfg_finalize(pool, c));
}

/* One table of ranges for the numeric directives (issue 15: the glue and
 * the engine disagreed on OAuth2ClockSkew). */
static void test_config_limits(void **state)
{
    apr_pool_t *p = pool;
    int v = -1;

    (void)state;
    assert_non_null(oauth2_cfg_limit("OAuth2ClockSkew"));
    assert_non_null(oauth2_cfg_limit("oauth2clockskew"));
    assert_null(oauth2_cfg_limit("OAuth2Nothing"));
    assert_null(oauth2_cfg_parse_limited(p, "OAuth2ClockSkew", "0", &v));
    assert_int_equal(v, 0);
    assert_int_equal(oauth2_cfg_limit("OAuth2ClockSkew")->max,
                     OAUTH2_MAX_CLOCK_SKEW);
    assert_non_null(oauth2_cfg_parse_limited(p, "OAuth2ClockSkew", "3601", &v));
    assert_null(oauth2_cfg_parse_limited(p, "OAuth2HTTPTimeout", "300", &v));
    assert_non_null(oauth2_cfg_parse_limited(p, "OAuth2HTTPTimeout", "0", &v));
    assert_non_null(
        oauth2_cfg_parse_limited(p, "OAuth2SessionTimeout", "0", &v));
    assert_null(
        oauth2_cfg_parse_limited(p, "OAuth2SessionMaxAge", "31536000", &v));
    assert_non_null(
        oauth2_cfg_parse_limited(p, "OAuth2SessionMaxAge", "31536001", &v));
    assert_non_null(oauth2_cfg_parse_limited(p, "OAuth2Nothing", "1", &v));
}

/* OAuth2GoogleAdminEmail: an address, nothing else. */
static void test_config_check_email(void **state)
{
    static const char *const good[] = { "admin@example.com",
                                        "a.b+c@sub.example.co.uk" };
    static const char *const bad[] = {
        "admin",
        "@example.com",
        "admin@",
        "admin@example",
        "a@b@example.com",
        "ad min@example.com",
        "admin@example.com\n",
        "",
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_null(oauth2_cfg_check_email(pool, good[i]));
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (oauth2_cfg_check_email(pool, bad[i]) == NULL) {
            fail_msg("'%s' accepted", bad[i]);
        }
    }
    assert_non_null(oauth2_cfg_check_email(pool, NULL));
}

static apr_array_header_t *strings(const char *a, const char *b)
{
    apr_array_header_t *r = apr_array_make(pool, 2, sizeof(const char *));

    APR_ARRAY_PUSH(r, const char *) = a;
    if (b != NULL) {
        APR_ARRAY_PUSH(r, const char *) = b;
    }
    return r;
}

/* The default scope gains what the rules need from this provider's API;
 * an explicit GitLab scope without read_api (or api) is refused. */
static void test_config_finalize_api_scopes(void **state)
{
    static const struct {
        const char *a1, *a2, *endpoint, *resource, *scope, *want;
    } cases[] = {
        { "gitlab", NULL, NULL, "project:a/b", NULL,
          "openid email profile read_api" },
        { "gitlab", NULL, NULL, "repo:a/b", NULL, "openid email profile" },
        { "gitlab", NULL, NULL, NULL, NULL, "openid email profile" },
        { "github", NULL, NULL, "repo:a/b", NULL,
          "read:user user:email read:org repo" },
        { "github", NULL, NULL, "project:a/b", NULL,
          "read:user user:email read:org" },
        { "google", NULL, NULL, "project:a/b", NULL, "openid email profile" },
        { "https://idp.example.com", NULL, "gitlab_api", "project:a/b", NULL,
          "openid email profile read_api" },
        { "https://idp.example.com", NULL, "github_api", "repo:a/b", NULL,
          "openid email profile repo" },
        { "gitlab", NULL, NULL, "project:a/b", "openid api", "openid api" },
        { "gitlab", NULL, NULL, "project:a/b", "openid read_api",
          "openid read_api" },
        { "github", NULL, NULL, "repo:a/b", "read:user", "read:user" },
        { "gitlab", NULL, NULL, "project:a/b", "openid email", NULL },
        { "gitlab", NULL, NULL, "project:a/b", "openid read_apis", NULL },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_cfg_t *c = configured(cases[i].a1, cases[i].a2);
        const char *err;

        if (cases[i].endpoint != NULL) {
            assert_null(oauth2_cfg_set_endpoint(pool, c, cases[i].endpoint,
                                                "https://api.example.com"));
        }
        if (cases[i].resource != NULL) {
            c->rule_resources = strings(cases[i].resource, NULL);
        }
        c->scope = cases[i].scope;
        err = oauth2_cfg_finalize(pool, c);
        if (cases[i].want == NULL) {
            assert_non_null(err);
            assert_true(strncmp(err, "OAuth2Scope:", 12) == 0);
            continue;
        }
        if (err != NULL) {
            fail_msg("case %d: %s", (int)i, err);
        }
        assert_string_equal(c->scope, cases[i].want);
    }
}

/* Google groups: the service account and the admin come together, and
 * only with the google preset. */
static void test_config_finalize_google(void **state)
{
    const struct oauth2_google_sa_t *sa = (const void *)pool; /* opaque */
    oauth2_cfg_t *c;
    const char *err;

    (void)state;
    c = configured("google", NULL);
    c->google_sa = sa;
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2GoogleAdminEmail:", 23) == 0);
    c = configured("google", NULL);
    c->google_admin = "admin@example.com";
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2GoogleServiceAccount:", 27) == 0);
    c = configured("gitlab", NULL);
    c->google_sa = sa;
    c->google_admin = "admin@example.com";
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_non_null(strstr(err, "needs OAuth2Provider google"));
    c = configured("google", NULL);
    c->google_sa = sa;
    c->google_admin = "admin@example.com";
    assert_null(oauth2_cfg_finalize(pool, c));
}

/* Rules of the main server apply in virtual hosts: the lists merge as a
 * union (each entry once, without regard to case); the Google settings
 * are inherited. */
static void test_config_merge_rules(void **state)
{
    oauth2_cfg_t *base = oauth2_cfg_create(pool),
                 *add = oauth2_cfg_create(pool);
    oauth2_cfg_t *m;

    (void)state;
    base->rule_groups = strings("eng@example.com", NULL);
    base->rule_resources = strings("project:a/b", "repo:c/d");
    add->rule_groups = strings("ENG@example.com", "ops@example.com");
    base->google_admin = "admin@example.com";
    m = oauth2_cfg_merge(pool, base, add);
    assert_int_equal(m->rule_groups->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(m->rule_groups, 1, const char *),
                        "ops@example.com");
    assert_int_equal(m->rule_resources->nelts, 2);
    assert_string_equal(m->google_admin, "admin@example.com");
    add->rule_resources = strings("repo:c/d", "project:x/y");
    m = oauth2_cfg_merge(pool, base, add);
    assert_int_equal(m->rule_resources->nelts, 3);
    assert_int_equal(base->rule_resources->nelts, 2);
    m = oauth2_cfg_merge(pool, oauth2_cfg_create(pool), add);
    assert_true(m->rule_resources == add->rule_resources);
}

/* A test regex flavour: "(" does not compile, anything else is a
 * substring. */
static const void *sub_compile(apr_pool_t *p, const char *pattern,
                               const char **err)
{
    if (strchr(pattern, '(') != NULL) {
        *err = "missing closing parenthesis";
        return NULL;
    }
    return apr_pstrdup(p, pattern);
}

static int sub_match(const void *re, const char *value)
{
    return strstr(value, re) != NULL;
}

/* OAuth2GroupsFilter: compiled when read (so apache2 -t refuses a bad
 * one, with the compiler's message), refused empty or without a regex
 * flavour, inherited by virtual hosts. */
static void test_config_groups_filter(void **state)
{
    static const oauth2_regex_ops_t ops = { sub_compile, sub_match };
    oauth2_cfg_t *c = oauth2_cfg_create(pool), *m;
    const char *err;

    (void)state;
    assert_non_null(oauth2_cfg_set_groups_filter(pool, c, "app-"));
    c->regex = &ops;
    err = oauth2_cfg_set_groups_filter(pool, c, "");
    assert_non_null(err);
    assert_non_null(strstr(err, "regular expression"));
    assert_string_equal(oauth2_cfg_set_groups_filter(pool, c, "(app"),
                        "missing closing parenthesis");
    assert_null(c->groups_filter);
    assert_null(oauth2_cfg_set_groups_filter(pool, c, "app-"));
    assert_non_null(c->groups_filter);
    assert_string_equal(c->groups_filter->pattern, "app-");
    assert_true(c->groups_filter->match(c->groups_filter->re, "x-app-y"));
    assert_false(c->groups_filter->match(c->groups_filter->re, "hr"));
    m = oauth2_cfg_merge(pool, c, oauth2_cfg_create(pool));
    assert_ptr_equal(m->groups_filter, c->groups_filter);
}

/* Which sessions keep their tokens: a section with OAuth2PassAccessToken
 * On (a union over the server's sections and the main server's), GitHub
 * and GitLab (their API rules use the user's token). */
static void test_config_keeps_tokens(void **state)
{
    oauth2_cfg_t *c = oauth2_cfg_create(pool), *v;
    oauth2_dir_cfg_t *d = oauth2_dir_cfg_create(pool);

    (void)state;
    assert_false(oauth2_cfg_keeps_tokens(c));
    oauth2_cfg_note_dir(c, d);
    assert_false(oauth2_cfg_keeps_tokens(c));
    d->pass_access_token = 0;
    oauth2_cfg_note_dir(c, d);
    assert_false(oauth2_cfg_keeps_tokens(c));
    d->pass_access_token = 1;
    oauth2_cfg_note_dir(c, d);
    assert_true(oauth2_cfg_keeps_tokens(c));
    v = oauth2_cfg_merge(pool, c, oauth2_cfg_create(pool));
    assert_true(oauth2_cfg_keeps_tokens(v));
    c = oauth2_cfg_create(pool);
    c->preset = OAUTH2_PRESET_GITHUB;
    assert_true(oauth2_cfg_keeps_tokens(c));
    c->preset = OAUTH2_PRESET_GITLAB;
    assert_true(oauth2_cfg_keeps_tokens(c));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_config_parse_int),
        T(test_config_resolve_literal),
        T(test_config_resolve_file),
        T(test_config_resolve_file_unreadable),
        T(test_config_resolve_env),
        T(test_config_check_url),
        T(test_config_set_provider),
        T(test_config_set_provider_twice),
        T(test_config_preset_names),
        T(test_config_set_endpoint),
        T(test_config_set_store),
        T(test_config_auth_params),
        T(test_config_merge_inherits),
        T(test_config_merge_provider_is_a_unit),
        T(test_config_merge_overrides),
        T(test_config_dir_merge),
        T(test_config_finalize_defaults),
        T(test_config_finalize_preset_defaults),
        T(test_config_finalize_refusals),
        T(test_config_limits),
        T(test_config_check_email),
        T(test_config_finalize_api_scopes),
        T(test_config_finalize_google),
        T(test_config_merge_rules),
        T(test_config_groups_filter),
        T(test_config_keeps_tokens),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
