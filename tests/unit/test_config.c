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

/* <OAuth2Provider NAME>: the name's shape, the closing '>', no section in
 * a section, each name once, at most OAUTH2_MAX_PROVIDERS. */
static void test_config_section(void **state)
{
    static const struct {
        const char *raw;
        const char *name; /* NULL: refused */
    } cases[] = {
        { "staff>", "staff" },
        { "Staff-2_b>", "Staff-2_b" },
        { "staff >", "staff" },
        { "staff>  ", "staff" },
        { "1x>", NULL },
        { "-x>", NULL },
        { "a b>", NULL },
        { "a\tb>", NULL },
        { " staff>", "staff" },
        { "a.b>", NULL },
        { "a/b>", NULL },
        { ">", NULL },
        { "staff", NULL },
        { "staff> x", NULL },
        { "a>b>", NULL },
        { "abcdefghijabcdefghijabcdefghijab>",
          "abcdefghijabcdefghijabcdefghijab" },
        { "abcdefghijabcdefghijabcdefghijabc>", NULL },
    };
    oauth2_cfg_t *outer, *inner, *nested;
    const char *err;
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        outer = oauth2_cfg_create(pool);
        inner = NULL;
        err = oauth2_cfg_section(pool, outer, cases[i].raw, &inner);
        if (cases[i].name == NULL) {
            if (err == NULL) {
                fail_msg("case %zu '%s' accepted as '%s'", i, cases[i].raw,
                         inner->name);
            }
            assert_null(inner);
            assert_true(outer->providers == NULL
                        || outer->providers->nelts == 0);
            continue;
        }
        if (err != NULL) {
            fail_msg("case %zu '%s': %s", i, cases[i].raw, err);
        }
        assert_string_equal(inner->name, cases[i].name);
        assert_int_equal(outer->providers->nelts, 1);
        assert_ptr_equal(APR_ARRAY_IDX(outer->providers, 0, oauth2_cfg_t *),
                         inner);
        assert_int_equal(inner->provider_set, 0);
        assert_int_equal(inner->session_timeout, OAUTH2_UNSET);
    }
    err = oauth2_cfg_section(pool, oauth2_cfg_create(pool), "staff", &inner);
    assert_non_null(strstr(err, "must end with '>'"));
    err = oauth2_cfg_section(pool, oauth2_cfg_create(pool), "1x>", &inner);
    assert_non_null(strstr(err, "\"1x\" is not a provider name"));

    /* nested */
    outer = oauth2_cfg_create(pool);
    assert_null(oauth2_cfg_section(pool, outer, "a>", &inner));
    err = oauth2_cfg_section(pool, inner, "b>", &nested);
    assert_non_null(err);
    assert_non_null(strstr(err, "inside another"));
    assert_null(inner->providers);
    /* twice, in any case */
    err = oauth2_cfg_section(pool, outer, "A>", &nested);
    assert_non_null(err);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(outer->providers->nelts, 1);
    /* 16, then no more */
    for (i = 1; i < OAUTH2_MAX_PROVIDERS; i++) {
        assert_null(oauth2_cfg_section(
            pool, outer, apr_psprintf(pool, "p%d>", (int)i), &inner));
    }
    assert_int_equal(outer->providers->nelts, OAUTH2_MAX_PROVIDERS);
    err = oauth2_cfg_section(pool, outer, "last>", &inner);
    assert_non_null(err);
    assert_non_null(strstr(err, "at most 16"));
    assert_int_equal(outer->providers->nelts, OAUTH2_MAX_PROVIDERS);
}

/* The shape of a provider name, and which directives a section takes. */
static void test_config_provider_names(void **state)
{
    char longest[OAUTH2_PROVIDER_NAME_MAX + 2];

    (void)state;
    assert_true(oauth2_cfg_provider_name_ok("a"));
    assert_true(oauth2_cfg_provider_name_ok("Staff_1-b"));
    assert_false(oauth2_cfg_provider_name_ok(""));
    assert_false(oauth2_cfg_provider_name_ok("1x"));
    assert_false(oauth2_cfg_provider_name_ok("_x"));
    assert_false(oauth2_cfg_provider_name_ok("a b"));
    assert_false(oauth2_cfg_provider_name_ok("a#"));
    assert_false(oauth2_cfg_provider_name_ok("#a"));
    assert_false(oauth2_cfg_provider_name_ok("a;b"));
    assert_false(oauth2_cfg_provider_name_ok("\xc3\xa9t\xc3\xa9"));
    /* oauth2_session_a_1 is the first chunk of a's cookie sessions. */
    assert_false(oauth2_cfg_provider_name_ok("a_1"));
    assert_false(oauth2_cfg_provider_name_ok("staff_12"));
    assert_false(oauth2_cfg_provider_name_ok("a_1_2"));
    assert_true(oauth2_cfg_provider_name_ok("a_1b"));
    assert_true(oauth2_cfg_provider_name_ok("a1"));
    assert_true(oauth2_cfg_provider_name_ok("a-1"));
    assert_true(oauth2_cfg_provider_name_ok("a_"));
    memset(longest, 'a', sizeof(longest));
    longest[OAUTH2_PROVIDER_NAME_MAX] = '\0';
    assert_true(oauth2_cfg_provider_name_ok(longest));
    longest[OAUTH2_PROVIDER_NAME_MAX] = 'a';
    longest[OAUTH2_PROVIDER_NAME_MAX + 1] = '\0';
    assert_false(oauth2_cfg_provider_name_ok(longest));

    assert_true(oauth2_cfg_in_section("OAuth2Provider"));
    assert_true(oauth2_cfg_in_section("oauth2clientid"));
    assert_true(oauth2_cfg_in_section("OAuth2ProviderMetadataURL"));
    assert_true(oauth2_cfg_in_section("OAuth2Endpoint"));
    assert_true(oauth2_cfg_in_section("OAuth2ClientSecret"));
    assert_true(oauth2_cfg_in_section("OAuth2ClientAuth"));
    assert_true(oauth2_cfg_in_section("OAuth2Scope"));
    assert_true(oauth2_cfg_in_section("OAuth2AuthParams"));
    assert_true(oauth2_cfg_in_section("OAuth2RedirectURI"));
    assert_true(oauth2_cfg_in_section("OAuth2RemoteUserClaim"));
    assert_true(oauth2_cfg_in_section("OAuth2GroupsClaim"));
    assert_true(oauth2_cfg_in_section("OAuth2GroupsFilter"));
    assert_true(oauth2_cfg_in_section("OAuth2GoogleServiceAccount"));
    assert_true(oauth2_cfg_in_section("OAuth2GoogleAdminEmail"));
    assert_false(oauth2_cfg_in_section("OAuth2Secret"));
    assert_false(oauth2_cfg_in_section("OAuth2Cookie"));
    assert_false(oauth2_cfg_in_section("OAuth2Prefix"));
    assert_false(oauth2_cfg_in_section("OAuth2SessionStore"));
    assert_false(oauth2_cfg_in_section("OAuth2Use"));
    assert_false(oauth2_cfg_in_section("<OAuth2Provider"));
    assert_false(oauth2_cfg_in_section("ServerName"));
    assert_false(oauth2_cfg_in_section("OAuth2Provider2"));
}

/* OAuth2Use: names appended in order, bad names refused, at most
 * OAUTH2_MAX_PROVIDERS; merged as one value (the inner place's list). */
static void test_config_add_use(void **state)
{
    oauth2_dir_cfg_t *d = oauth2_dir_cfg_create(pool), *m;
    const char *err;
    int i;

    (void)state;
    assert_null(d->use);
    assert_null(oauth2_cfg_add_use(pool, d, "staff"));
    assert_null(oauth2_cfg_add_use(pool, d, "partners"));
    assert_int_equal(d->use->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(d->use, 0, const char *), "staff");
    assert_string_equal(APR_ARRAY_IDX(d->use, 1, const char *), "partners");
    err = oauth2_cfg_add_use(pool, d, "#staff");
    assert_non_null(err);
    assert_non_null(strstr(err, "is not a provider name"));
    assert_non_null(oauth2_cfg_add_use(pool, d, "1x"));
    assert_int_equal(d->use->nelts, 2);
    for (i = 2; i < OAUTH2_MAX_PROVIDERS; i++) {
        assert_null(oauth2_cfg_add_use(pool, d, "p"));
    }
    err = oauth2_cfg_add_use(pool, d, "p");
    assert_non_null(err);
    assert_non_null(strstr(err, "too many"));
    assert_int_equal(d->use->nelts, OAUTH2_MAX_PROVIDERS);

    m = oauth2_dir_cfg_merge(pool, d, oauth2_dir_cfg_create(pool));
    assert_ptr_equal(m->use, d->use);
    m = oauth2_dir_cfg_create(pool);
    assert_null(oauth2_cfg_add_use(pool, m, "other"));
    m = oauth2_dir_cfg_merge(pool, d, m);
    assert_int_equal(m->use->nelts, 1);
}

/* A section of tests: name with issuer base and a client. */
static oauth2_cfg_t *section(oauth2_cfg_t *outer, const char *name,
                             const char *issuer)
{
    oauth2_cfg_t *s;

    assert_null(oauth2_cfg_section(pool, outer,
                                   apr_pstrcat(pool, name, ">", NULL), &s));
    if (issuer != NULL) {
        assert_null(oauth2_cfg_set_provider(pool, s, issuer, NULL));
        s->client_id = apr_pstrcat(pool, name, "-id", NULL);
        s->client_secret = apr_pstrcat(pool, name, "-secret", NULL);
    }
    return s;
}

/* A provider, its own or named ones, is what a host needs to use the
 * module. */
static void test_config_has_provider(void **state)
{
    oauth2_cfg_t *c = oauth2_cfg_create(pool);

    (void)state;
    assert_false(oauth2_cfg_has_provider(c));
    c->providers = apr_array_make(pool, 1, sizeof(oauth2_cfg_t *));
    assert_false(oauth2_cfg_has_provider(c));
    section(c, "a", NULL);
    assert_true(oauth2_cfg_has_provider(c));
    c = oauth2_cfg_create(pool);
    assert_null(oauth2_cfg_set_provider(pool, c, "google", NULL));
    assert_true(oauth2_cfg_has_provider(c));
}

/* The main server's sections apply to the virtual hosts; a virtual
 * host's section of the same name (any case) replaces the main server's,
 * the others are added after them. */
static void test_config_merge_providers(void **state)
{
    oauth2_cfg_t *base = oauth2_cfg_create(pool);
    oauth2_cfg_t *add = oauth2_cfg_create(pool), *m;
    oauth2_cfg_t *ba, *bb, *ab, *ac;

    (void)state;
    ba = section(base, "a", "https://a.example.com");
    bb = section(base, "b", "https://b.example.com");
    m = oauth2_cfg_merge(pool, base, add);
    assert_ptr_equal(m->providers, base->providers);
    m = oauth2_cfg_merge(pool, oauth2_cfg_create(pool), base);
    assert_ptr_equal(m->providers, base->providers);

    ab = section(add, "B", "https://b2.example.com");
    ac = section(add, "c", "https://c.example.com");
    m = oauth2_cfg_merge(pool, base, add);
    assert_int_equal(m->providers->nelts, 3);
    assert_ptr_equal(APR_ARRAY_IDX(m->providers, 0, oauth2_cfg_t *), ba);
    assert_ptr_equal(APR_ARRAY_IDX(m->providers, 1, oauth2_cfg_t *), ab);
    assert_ptr_equal(APR_ARRAY_IDX(m->providers, 2, oauth2_cfg_t *), ac);
    /* the inputs are not changed */
    assert_int_equal(base->providers->nelts, 2);
    assert_ptr_equal(APR_ARRAY_IDX(base->providers, 1, oauth2_cfg_t *), bb);
    assert_int_equal(add->providers->nelts, 2);
}

/* A host with sections: each made whole, with the section's provider
 * fields only and the host's session fields; endpoints under
 * OAuth2Prefix/NAME, session cookie OAuth2Cookie_NAME. */
static void test_config_finalize_sections(void **state)
{
    oauth2_cfg_t *c = configured("https://idp.example.com", NULL);
    oauth2_cfg_t *a, *b;

    (void)state;
    c->remote_user_claim = "email";
    c->groups_claim = "roles";
    c->scope = "openid host";
    c->auth_params = "&hd=host";
    c->redirect_uri = "https://app.example.com/cb";
    c->prefix = "/auth";
    c->cookie_name = "sess";
    c->session_timeout = 77;
    c->cookie_samesite = "Strict";
    c->endpoints[OAUTH2_EP_USERINFO] = "https://idp.example.com/ui";
    section(c, "a", "https://a.example.com");
    b = section(c, "b", "github");
    b->client_id = "gh-id";
    b->remote_user_claim = "login";
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_int_equal(c->named->nelts, 2);
    a = APR_ARRAY_IDX(c->named, 0, oauth2_cfg_t *);
    b = APR_ARRAY_IDX(c->named, 1, oauth2_cfg_t *);
    assert_string_equal(a->name, "a");
    assert_string_equal(a->issuer, "https://a.example.com");
    assert_string_equal(a->client_id, "a-id");
    assert_string_equal(a->client_secret, "a-secret");
    /* the host's provider fields do not leak into a section */
    assert_string_equal(a->remote_user_claim, "sub");
    assert_string_equal(a->groups_claim, "groups");
    assert_string_equal(a->scope, "openid email profile");
    assert_null(a->auth_params);
    assert_null(a->redirect_uri);
    assert_null(a->endpoints[OAUTH2_EP_USERINFO]);
    /* the host's session fields apply */
    assert_string_equal(a->prefix, "/auth/a");
    assert_string_equal(a->cookie_name, "sess_a");
    assert_int_equal(a->session_timeout, 77);
    assert_string_equal(a->cookie_samesite, "Strict");
    assert_ptr_equal(a->secrets, c->secrets);
    assert_null(a->providers);
    assert_null(a->named);
    /* the preset's defaults, the section's own values */
    assert_string_equal(b->name, "b");
    assert_int_equal(b->preset, OAUTH2_PRESET_GITHUB);
    assert_string_equal(b->client_id, "gh-id");
    assert_string_equal(b->remote_user_claim, "login");
    assert_string_equal(b->scope, "read:user user:email read:org");
    assert_int_equal(b->client_auth_post, 1);
    assert_string_equal(b->prefix, "/auth/b");
    assert_string_equal(b->cookie_name, "sess_b");
    /* the host keeps its own */
    assert_string_equal(c->prefix, "/auth");
    assert_string_equal(c->cookie_name, "sess");
    assert_string_equal(c->remote_user_claim, "email");
    assert_null(c->name);

    /* finalized again (a virtual host's config finalized after the main
     * server's it shares): the same, not /auth/a/a */
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_int_equal(c->named->nelts, 2);
    a = APR_ARRAY_IDX(c->named, 0, oauth2_cfg_t *);
    assert_string_equal(a->prefix, "/auth/a");
    assert_string_equal(a->cookie_name, "sess_a");
}

/* Named providers only, the default prefix and cookie; the host-level
 * client settings of a host without its own provider stay out of the
 * sections. */
static void test_config_finalize_sections_only(void **state)
{
    oauth2_cfg_t *c = oauth2_cfg_create(pool), *a;

    (void)state;
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) = "x";
    c->client_id = "host-id";
    c->remote_user_claim = "email";
    section(c, "a", "https://a.example.com");
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_int_equal(c->provider_set, 0);
    a = APR_ARRAY_IDX(c->named, 0, oauth2_cfg_t *);
    assert_string_equal(a->client_id, "a-id");
    assert_string_equal(a->remote_user_claim, "sub");
    assert_string_equal(a->prefix, "/oauth2/a");
    assert_string_equal(a->cookie_name, "oauth2_session_a");
    /* no sections: named stays NULL */
    c = configured("https://idp.example.com", NULL);
    assert_null(oauth2_cfg_finalize(pool, c));
    assert_null(c->named);
}

/* A section is a whole provider: without OAuth2Provider or a client it is
 * refused, naming the section; sections need OAuth2Secret at the host. */
static void test_config_finalize_section_refusals(void **state)
{
    oauth2_cfg_t *c, *s;
    const char *err;

    (void)state;
    c = configured("https://idp.example.com", NULL);
    s = section(c, "a", NULL);
    s->client_id = "a-id";
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_non_null(strstr(err, "<OAuth2Provider a>: needs OAuth2Provider"));
    assert_null(c->named);

    /* the host's client is not the section's */
    c = configured("https://idp.example.com", NULL);
    s = section(c, "a", "https://a.example.com");
    s->client_id = NULL;
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_non_null(strstr(err, "<OAuth2Provider a>: OAuth2ClientID"));

    c = oauth2_cfg_create(pool);
    section(c, "a", "https://a.example.com");
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2Secret:", 13) == 0);
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_true(strncmp(err, "OAuth2Secret:", 13) == 0);
    APR_ARRAY_PUSH(c->secrets, const char *) = "x";
    assert_null(oauth2_cfg_finalize(pool, c));
}

/* Two providers of a host with one callback path: the first would take
 * every callback of the other and refuse its state, so the other's logins
 * could never end; refused at apache2 -t. */
static void test_config_finalize_shared_callback(void **state)
{
    oauth2_cfg_t *c, *a, *b;
    const char *err;

    (void)state;
    c = configured("https://idp.example.com", NULL);
    a = section(c, "a", "https://a.example.com");
    b = section(c, "b", "https://a.example.com");
    assert_null(oauth2_cfg_finalize(pool, c));
    b->redirect_uri = "https://app.example.com/oauth2/a/callback";
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_non_null(strstr(err, "<OAuth2Provider b>: its callback "
                                "/oauth2/a/callback is also <OAuth2Provider "
                                "a>'s"));
    b->redirect_uri = "https://app.example.com/oauth2/callback";
    err = oauth2_cfg_finalize(pool, c);
    assert_non_null(err);
    assert_non_null(strstr(err, "the virtual host's own provider's"));
    a->redirect_uri = b->redirect_uri = NULL;
    c->redirect_uri = "https://app.example.com/oauth2/b/callback";
    assert_non_null(oauth2_cfg_finalize(pool, c));

    /* a hub (no provider of its own): one named provider may take
     * PREFIX/callback */
    c = oauth2_cfg_create(pool);
    c->secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) = "x";
    a = section(c, "a", "https://a.example.com");
    a->redirect_uri = "https://app.example.com/oauth2/callback";
    section(c, "b", "https://b.example.com");
    assert_null(oauth2_cfg_finalize(pool, c));
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
        T(test_config_section),
        T(test_config_provider_names),
        T(test_config_add_use),
        T(test_config_has_provider),
        T(test_config_merge_providers),
        T(test_config_finalize_sections),
        T(test_config_finalize_sections_only),
        T(test_config_finalize_section_refusals),
        T(test_config_finalize_shared_callback),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
