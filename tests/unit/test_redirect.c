/*
 * test_redirect.c: unit tests for src/redirect.c.
 *
 * Tables of targets that must be refused or accepted, our own payload
 * files (tests/data/, under $srcdir) and the public open-redirect corpora
 * of mod_auth_openidc and oauth2-proxy (tests/data/corpora, their source
 * and licence in its README; $OAUTH2_CORPORA names the folder).
 */
#include "redirect.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "errors.h"

/* The placeholder host used inside the public corpora. */
#define THIS_HOST    "www.whitelisteddomain.tld"
#define LINE_MAX_LEN 8192

static apr_pool_t *pool;
static apr_array_header_t *allowed;

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    allowed = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(allowed, const char *) = "good.com";
    APR_ARRAY_PUSH(allowed, const char *) = ".example.com";
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

static apr_status_t validate(const char *target, const char **out,
                             const char **err)
{
    *out = NULL;
    *err = NULL;
    return oauth2_redirect_validate(pool, target, THIS_HOST, allowed, out, err);
}

/* Fails the test, naming the target, unless it is refused with a reason. */
static void assert_refused(const char *target, const char *where)
{
    const char *out, *err;
    apr_status_t rv = validate(target, &out, &err);

    if (rv == APR_SUCCESS) {
        fail_msg("%s: accepted \"%s\"", where, target);
    }
    assert_null(out);
    assert_non_null(err);
}

static void assert_accepted(const char *target, const char *where)
{
    const char *out, *err;
    apr_status_t rv = validate(target, &out, &err);

    if (rv != APR_SUCCESS) {
        fail_msg("%s: refused \"%s\" (%s: %s)", where, target,
                 oauth2_strerror(rv), err ? err : "?");
    }
    /* nothing is rewritten: Location gets the input itself */
    assert_ptr_equal(out, target);
}

static int hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Decodes %XX in place until nothing changes; returns the length. */
static size_t decode_fully(char *s, size_t len)
{
    size_t i, o, before;

    do {
        before = len;
        for (i = 0, o = 0; i < len; i++, o++) {
            if (s[i] == '%' && i + 2 < len && hex(s[i + 1]) >= 0
                && hex(s[i + 2]) >= 0) {
                s[o] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
                i += 2;
            }
            else {
                s[o] = s[i];
            }
        }
        len = o;
    } while (len != before);
    return len;
}

/*
 * The corpora's fallback: an accepted payload must certainly be a
 * same-host relative path, raw and fully decoded: '/' then neither '/'
 * nor '\\', and no control character, space or backslash anywhere.
 */
static int is_same_host_relative(const char *target)
{
    char buf[LINE_MAX_LEN];
    size_t i, len = strlen(target);

    if (len >= sizeof(buf) || target[0] != '/' || target[1] == '/'
        || target[1] == '\\') {
        return 0;
    }
    memcpy(buf, target, len);
    len = decode_fully(buf, len);
    if (len < 1 || buf[0] != '/'
        || (len > 1 && (buf[1] == '/' || buf[1] == '\\'))) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c <= 0x20 || c == 0x7F || c == '\\') {
            return 0;
        }
    }
    return 1;
}

/*
 * Runs every payload line of path. strict: each must be refused; else a
 * payload may also be accepted as a same-host relative path. Lines
 * starting with '#' are comments when comments is set. Returns the
 * number of payloads checked, or -1 if the file cannot be opened, and
 * counts the payloads accepted as same-host relative paths in *relative.
 */
static long check_payload_file(const char *path, int strict, int comments,
                               long *relative)
{
    char line[LINE_MAX_LEN];
    long n = 0;
    FILE *f = fopen(path, "r");

    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        const char *out, *err;

        line[strcspn(line, "\n")] = '\0';
        if (comments && (line[0] == '#' || line[0] == '\0')) {
            continue;
        }
        n++;
        if (validate(line, &out, &err) != APR_SUCCESS) {
            assert_null(out);
            continue;
        }
        if (strict || !is_same_host_relative(line)) {
            fclose(f);
            fail_msg("%s:%ld: accepted \"%s\"", path, n, line);
        }
        (*relative)++;
    }
    fclose(f);
    return n;
}

static const char *data_path(const char *name)
{
    const char *srcdir = getenv("srcdir");

    return apr_pstrcat(pool, srcdir ? srcdir : ".", "/tests/data/", name, NULL);
}

/* Targets the brief and SPEC name, plus raw controls a file cannot hold. */
static const char *const refused[] = {
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/%2F%2Fevil.com",
    "/%5Cevil.com",
    "/\t/evil.com",
    "/\r/evil.com",
    "/\n/evil.com",
    "/\r\n/evil.com",
    "//\tevil.com",
    "/ /evil.com",
    "/%09/evil.com",
    "/%0d/evil.com",
    "/%0A/evil.com",
    "/%2509/evil.com",
    "/%252F/evil.com",
    "/./\\evil.com",
    "https:evil.com",
    "HTTPS://evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    " javascript:alert(1)",
    "javascript\r:alert(1)",
    "https://good@evil.com",
    "https://evil.com\\@good",
    "https://good.com\\@evil.com",
    "https://good.evil.com",
    "https://evilgood.com",
    "https://example.com/",
    "https://evilexample.com/",
    "http://0xd8.0x3a.0xd6.0xce",
    "http://3627734734/",
    "http://0330.072.0326.0316/",
    "/caf\xc3\xa9",
    "/\xff",
    "/\x7f",
    "/x\x1b[31m",
    "https://good.com/\n",
    "/evil.com\r\nSet-Cookie: x=y",
};

/* Ordinary same-host and allowed-host targets. */
static const char *const accepted[] = {
    "/",
    "/app",
    "/app/x?y=1&z=%2F#frag",
    "/a%20b",
    "http://" THIS_HOST "/x",
    "https://good.com:8443/x?q",
    "https://a.example.com/",
    "https://deep.sub.example.com/x",
    "https://Good.COM/",
    "https://GOOD.com:1/",
};

static void test_redirect_refuses_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_refused(refused[i], "refused[]");
    }
}

static void test_redirect_accepts_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        assert_accepted(accepted[i], "accepted[]");
    }
}

static void test_redirect_refuses_missing_arguments(void **state)
{
    const char *out = "x", *err = NULL;

    (void)state;
    assert_int_equal(
        oauth2_redirect_validate(NULL, "/", THIS_HOST, NULL, &out, &err),
        OAUTH2_EMALFORMED);
    assert_int_equal(
        oauth2_redirect_validate(pool, NULL, THIS_HOST, NULL, &out, &err),
        OAUTH2_EMALFORMED);
    assert_int_equal(
        oauth2_redirect_validate(pool, "/", NULL, NULL, &out, &err),
        OAUTH2_EMALFORMED);
    assert_int_equal(
        oauth2_redirect_validate(pool, "/", THIS_HOST, NULL, NULL, &err),
        OAUTH2_EMALFORMED);
    assert_int_equal(validate("", &out, &err), OAUTH2_EMALFORMED);
    assert_null(out);
    assert_non_null(err);
    /* err is optional */
    assert_int_equal(oauth2_redirect_validate(pool, "//evil.com", THIS_HOST,
                                              NULL, &out, NULL),
                     OAUTH2_EREFUSED);
}

static void test_redirect_refuses_over_long_targets(void **state)
{
    char *target = apr_palloc(pool, 65 * 1024 + 1);
    const char *out, *err;

    (void)state;
    target[0] = '/';
    memset(target + 1, 'a', 65 * 1024 - 1);
    target[OAUTH2_MAX_URL] = '\0';
    assert_int_equal(validate(target, &out, &err), APR_SUCCESS);
    target[OAUTH2_MAX_URL] = 'a';
    target[OAUTH2_MAX_URL + 1] = '\0';
    assert_int_equal(validate(target, &out, &err), OAUTH2_ETOOBIG);
    assert_null(out);
    target[OAUTH2_MAX_URL + 1] = 'a';
    target[65 * 1024] = '\0';
    assert_int_equal(validate(target, &out, &err), OAUTH2_ETOOBIG);
}

static void test_redirect_refusal_is_erefused(void **state)
{
    const char *out, *err;

    (void)state;
    assert_int_equal(validate("//evil.com", &out, &err), OAUTH2_EREFUSED);
    assert_string_equal(err, "empty path segment (\"//\")");
    assert_int_equal(validate("https://evil.com/", &out, &err),
                     OAUTH2_EREFUSED);
    assert_string_equal(err, "host not allowed");
    assert_int_equal(validate("https://good.com@evil.com/", &out, &err),
                     OAUTH2_EREFUSED);
    assert_string_equal(err, "userinfo in the URL");
}

static void test_redirect_ignores_ports_and_case(void **state)
{
    (void)state;
    assert_accepted("HTTP://WWW.WhiteListedDomain.TLD:8080/x", "case");
    assert_accepted("https://good.com:443/", "port");
    assert_accepted("https://good.com:65535/", "port");
    assert_refused("https://good.com:65536/", "port");
    assert_refused("https://evil.com:8443/", "port");
}

static void test_redirect_allows_subdomains_below_dot_entry(void **state)
{
    (void)state;
    assert_accepted("https://a.example.com/", "suffix");
    assert_accepted("https://x-y.b.example.com/", "suffix");
    assert_refused("https://example.com/", "suffix");
    assert_refused("https://evilexample.com/", "suffix");
    assert_refused("https://a.example.com.evil.com/", "suffix");
    assert_refused("https://a.example.co/", "suffix");
    assert_refused("https://.example.com/", "suffix");
    assert_refused("https://a..example.com/", "suffix");
}

static void test_redirect_allows_ip_hosts_only_exactly(void **state)
{
    apr_array_header_t *ips = apr_array_make(pool, 3, sizeof(const char *));
    const char *out, *err;

    (void)state;
    APR_ARRAY_PUSH(ips, const char *) = "10.0.0.1";
    APR_ARRAY_PUSH(ips, const char *) = "::1";
    APR_ARRAY_PUSH(ips, const char *) = ".0.1";
    assert_int_equal(oauth2_redirect_validate(pool, "http://10.0.0.1:81/x",
                                              THIS_HOST, ips, &out, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_redirect_validate(pool, "http://[::1]:8080/",
                                              THIS_HOST, ips, &out, &err),
                     APR_SUCCESS);
    /* other spellings of 10.0.0.1, and numeric hosts by suffix */
    assert_int_equal(oauth2_redirect_validate(pool, "http://10.1/", THIS_HOST,
                                              ips, &out, &err),
                     OAUTH2_EREFUSED);
    assert_int_equal(oauth2_redirect_validate(pool, "http://0xa.0.0.1/",
                                              THIS_HOST, ips, &out, &err),
                     OAUTH2_EREFUSED);
    assert_int_equal(oauth2_redirect_validate(pool, "http://167772161/",
                                              THIS_HOST, ips, &out, &err),
                     OAUTH2_EREFUSED);
    assert_int_equal(oauth2_redirect_validate(pool, "http://[::0:1]/",
                                              THIS_HOST, ips, &out, &err),
                     OAUTH2_EREFUSED);
    /* found by fuzz_redirect: an IPv4 address in brackets is no host */
    assert_int_equal(oauth2_redirect_validate(pool, "http://[10.0.0.1]/",
                                              THIS_HOST, ips, &out, &err),
                     OAUTH2_EREFUSED);
    assert_int_equal(oauth2_redirect_validate(pool, "http://[]/", THIS_HOST,
                                              ips, &out, &err),
                     OAUTH2_EREFUSED);
}

static void test_redirect_without_allow_list(void **state)
{
    const char *out, *err;

    (void)state;
    assert_int_equal(oauth2_redirect_validate(pool, "https://" THIS_HOST "/",
                                              THIS_HOST, NULL, &out, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_redirect_validate(pool, "https://good.com/",
                                              THIS_HOST, NULL, &out, &err),
                     OAUTH2_EREFUSED);
    /* this host is never a suffix entry, even if it starts with '.' */
    assert_int_equal(oauth2_redirect_validate(pool, "https://a.b.c/", ".b.c",
                                              NULL, &out, &err),
                     OAUTH2_EREFUSED);
}

static void test_redirect_refuses_own_corpus(void **state)
{
    const char *path = data_path("open-redirects.txt");
    long n, relative = 0;

    (void)state;
    n = check_payload_file(path, 1, 1, &relative);
    if (n < 0) {
        fail_msg("cannot open %s (is $srcdir set?)", path);
    }
    assert_true(n >= 60);
    print_message("checked %ld payloads of %s\n", n, path);
}

static void test_redirect_accepts_own_allowed_list(void **state)
{
    const char *path = data_path("redirect-allowed.txt");
    char line[LINE_MAX_LEN];
    long n = 0;
    FILE *f = fopen(path, "r");

    (void)state;
    if (!f) {
        fail_msg("cannot open %s (is $srcdir set?)", path);
    }
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        n++;
        assert_accepted(apr_pstrdup(pool, line), path);
    }
    fclose(f);
    assert_true(n > 0);
    print_message("checked %ld allowed targets of %s\n", n, path);
}

static void test_redirect_refuses_public_corpora(void **state)
{
    static const char *const files[] = {
        "open-redirects-mod_auth_openidc.txt",
        "open-redirects-oauth2-proxy.txt",
    };
    const char *env = getenv("OAUTH2_CORPORA");
    const char *dir = env ? env : data_path("corpora");
    long n, total = 0, relative = 0;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const char *path =
            apr_pstrcat(pool, dir ? dir : "", "/", files[i], NULL);

        /* The lists are in the tree (tests/data/corpora): never skipped. */
        n = dir ? check_payload_file(path, 0, 0, &relative) : -1;
        if (n < 0) {
            fail_msg("cannot open %s", path);
        }
        print_message("checked %ld payloads of %s\n", n, path);
        total += n;
    }
    print_message("checked %ld public corpus payloads in all: %ld refused, "
                  "%ld accepted as same-host relative paths\n",
                  total, total - relative, relative);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirect_refuses_table),
        cmocka_unit_test(test_redirect_accepts_table),
        cmocka_unit_test(test_redirect_refuses_missing_arguments),
        cmocka_unit_test(test_redirect_refuses_over_long_targets),
        cmocka_unit_test(test_redirect_refusal_is_erefused),
        cmocka_unit_test(test_redirect_ignores_ports_and_case),
        cmocka_unit_test(test_redirect_allows_subdomains_below_dot_entry),
        cmocka_unit_test(test_redirect_allows_ip_hosts_only_exactly),
        cmocka_unit_test(test_redirect_without_allow_list),
        cmocka_unit_test(test_redirect_refuses_own_corpus),
        cmocka_unit_test(test_redirect_accepts_own_allowed_list),
        cmocka_unit_test(test_redirect_refuses_public_corpora),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
