/*
 * test_authz.c: unit tests for src/authz.c: parsing Require oauth2-group,
 * oauth2-claim and oauth2-email-domain lines, and checking them against
 * sessions built from claims by src/session.c (the same flattened form
 * the module reads). Regular expressions go through POSIX regcomp here;
 * the glue uses ap_pregcomp. The resource words of oauth2-group
 * (project:, repo:) are checked against the API groups and resources a
 * session records.
 */
#include "authz.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <regex.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "crypto.h"
#include "errors.h"

#define NOW ((apr_time_t)1735689600 * APR_USEC_PER_SEC)

static apr_pool_t *pool;
static int compiles; /* calls of the compile callback */

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    assert_int_equal(oauth2_crypto_init(), APR_SUCCESS);
    compiles = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

static apr_status_t re_cleanup(void *data)
{
    regfree(data);
    return APR_SUCCESS;
}

/* POSIX extended regular expressions, freed with the pool. */
static const void *posix_compile(apr_pool_t *p, const char *pattern,
                                 const char **err)
{
    regex_t *re = apr_pcalloc(p, sizeof(*re));

    compiles++;
    if (regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        *err = apr_psprintf(p, "bad regex '%s'", pattern);
        return NULL;
    }
    apr_pool_cleanup_register(p, re, re_cleanup, apr_pool_cleanup_null);
    return re;
}

static int posix_match(const void *re, const char *value)
{
    return regexec(re, value, 0, NULL, 0) == 0;
}

/* A fake compiler that refuses every pattern with a fixed reason. */
static const void *failing_compile(apr_pool_t *p, const char *pattern,
                                   const char **err)
{
    (void)p;
    (void)pattern;
    compiles++;
    *err = "fake compile failure";
    return NULL;
}

static apr_array_header_t *words(const char *first, ...)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    const char *s;
    va_list ap;

    va_start(ap, first);
    for (s = first; s != NULL; s = va_arg(ap, const char *)) {
        APR_ARRAY_PUSH(a, const char *) = s;
    }
    va_end(ap);
    return a;
}

static oauth2_rule_t *rule(oauth2_rule_kind_e kind, const char *first, ...)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    oauth2_rule_t *r = NULL;
    const char *err = NULL, *s;
    va_list ap;

    va_start(ap, first);
    for (s = first; s != NULL; s = va_arg(ap, const char *)) {
        APR_ARRAY_PUSH(a, const char *) = s;
    }
    va_end(ap);
    if (oauth2_authz_parse(pool, kind, a, posix_compile, posix_match, &r, &err)
        != APR_SUCCESS) {
        fail_msg("parse failed: %s", err);
    }
    assert_non_null(r);
    return r;
}

/* A session as the module builds it from these claims. */
static const oauth2_session_t *session(const char *json)
{
    oauth2_session_input_t in;
    oauth2_claims_t *c = NULL;
    oauth2_session_t *s = NULL;
    const char *err = NULL;

    if (oauth2_claims_parse(pool, json, strlen(json), 1 << 20, &c, &err)
        != APR_SUCCESS) {
        fail_msg("bad test JSON: %s", json);
    }
    memset(&in, 0, sizeof(in));
    in.claims = c;
    in.user_claim = "sub";
    in.groups_claim = "groups";
    in.now = NOW;
    in.max_age = apr_time_from_sec(3600);
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    return s;
}

/* Require lines that do not parse: APR_EINVAL naming the bad word. */
static void test_authz_parse_errors(void **state)
{
    static const struct {
        oauth2_rule_kind_e kind;
        const char *word;
    } cases[] = {
        { OAUTH2_RULE_GROUP, "" },
        { OAUTH2_RULE_CLAIM, "" },
        { OAUTH2_RULE_CLAIM, "justaname" },
        { OAUTH2_RULE_CLAIM, ":value" },
        { OAUTH2_RULE_CLAIM, "~regex" },
        { OAUTH2_RULE_CLAIM, "name~" },
        { OAUTH2_RULE_CLAIM, "https://example.com/roles" },
        { OAUTH2_RULE_CLAIM, "https://" },
        { OAUTH2_RULE_CLAIM, "name~(unclosed" },
        { OAUTH2_RULE_EMAIL_DOMAIN, "" },
        { OAUTH2_RULE_EMAIL_DOMAIN, "." },
        { OAUTH2_RULE_EMAIL_DOMAIN, ".example.com" },
        { OAUTH2_RULE_EMAIL_DOMAIN, "@example.com" },
        { OAUTH2_RULE_EMAIL_DOMAIN, "user@example.com" },
        { OAUTH2_RULE_EMAIL_DOMAIN, "*.example.com" },
        { OAUTH2_RULE_EMAIL_DOMAIN, "example.com/" },
        { OAUTH2_RULE_EMAIL_DOMAIN, "exa mple.com" },
        { OAUTH2_RULE_EMAIL_DOMAIN, "example.com:443" },
        { OAUTH2_RULE_EMAIL_DOMAIN, "ex\xc3\xa4mple.com" },
        { OAUTH2_RULE_EMAIL_DOMAIN, "https://example.com" },
        { OAUTH2_RULE_PROVIDER, "" },
        { OAUTH2_RULE_PROVIDER, "1x" },
        { OAUTH2_RULE_PROVIDER, "a b" },
        { OAUTH2_RULE_PROVIDER, "staff:admins" },
        { OAUTH2_RULE_PROVIDER, "a@b" },
        { OAUTH2_RULE_PROVIDER, "#staff" },
        { OAUTH2_RULE_PROVIDER, "abcdefghijabcdefghijabcdefghijabc" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_rule_t *r = NULL;
        const char *err = NULL;
        apr_status_t rv;

        rv = oauth2_authz_parse(pool, cases[i].kind, words(cases[i].word, NULL),
                                posix_compile, posix_match, &r, &err);
        if (rv != APR_EINVAL) {
            fail_msg("case %zu '%s' parsed", i, cases[i].word);
        }
        assert_non_null(err);
        assert_null(r);
        /* the good word first and the bad one second fails as well */
        err = NULL;
        rv = oauth2_authz_parse(pool, cases[i].kind,
                                words(cases[i].kind == OAUTH2_RULE_CLAIM ? "a:b"
                                      : cases[i].kind == OAUTH2_RULE_PROVIDER
                                          ? "good"
                                          : "good.example",
                                      cases[i].word, NULL),
                                posix_compile, posix_match, &r, &err);
        assert_int_equal(rv, APR_EINVAL);
        assert_non_null(err);
    }
}

/* No words, and NULL. */
static void test_authz_parse_needs_words(void **state)
{
    oauth2_rule_t *r = NULL;
    const char *err = NULL;

    (void)state;
    assert_int_equal(oauth2_authz_parse(pool, OAUTH2_RULE_GROUP, words(NULL),
                                        NULL, NULL, &r, &err),
                     APR_EINVAL);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(
        oauth2_authz_parse(pool, OAUTH2_RULE_CLAIM, NULL, NULL, NULL, &r, &err),
        APR_EINVAL);
    assert_non_null(err);
    assert_null(r);
}

/* A regex that the caller's compiler refuses fails the parse with the
 * compiler's reason; without a compiler, a ~ term cannot parse. */
static void test_authz_parse_regex_compile_failure(void **state)
{
    oauth2_rule_t *r = NULL;
    const char *err = NULL;

    (void)state;
    assert_int_equal(oauth2_authz_parse(pool, OAUTH2_RULE_CLAIM,
                                        words("email~^a", NULL),
                                        failing_compile, posix_match, &r, &err),
                     APR_EINVAL);
    assert_int_equal(compiles, 1);
    assert_string_equal(err, "fake compile failure");
    assert_null(r);
    err = NULL;
    assert_int_equal(oauth2_authz_parse(pool, OAUTH2_RULE_CLAIM,
                                        words("email~^a", NULL), NULL, NULL, &r,
                                        &err),
                     APR_EINVAL);
    assert_non_null(err);
    /* a compiler without a matcher: the term could never be checked */
    err = NULL;
    compiles = 0;
    assert_int_equal(oauth2_authz_parse(pool, OAUTH2_RULE_CLAIM,
                                        words("email~^a", NULL), posix_compile,
                                        NULL, &r, &err),
                     APR_EINVAL);
    assert_non_null(err);
    assert_int_equal(compiles, 0);
    /* NAME:VALUE terms never call the compiler */
    compiles = 0;
    assert_int_equal(oauth2_authz_parse(pool, OAUTH2_RULE_CLAIM,
                                        words("a:b", "c:d~e", NULL),
                                        failing_compile, posix_match, &r, &err),
                     APR_SUCCESS);
    assert_int_equal(compiles, 0);
}

/* How terms split: the first ':' or '~' after an optional scheme://. */
static void test_authz_parse_claim_terms(void **state)
{
    static const struct {
        const char *word;
        const char *claim;
        const char *value; /* NULL for a regex term */
    } cases[] = {
        { "email:alice@example.com", "email", "alice@example.com" },
        { "role:a:b:c", "role", "a:b:c" },
        { "team:org:team", "team", "org:team" },
        { "name:", "name", "" },
        { "name:a~b", "name", "a~b" },
        { "name~a:b", "name", NULL },
        { "realm_access.roles:admin", "realm_access.roles", "admin" },
        { "https://example.com/roles:admin", "https://example.com/roles",
          "admin" },
        { "https://example.com/roles:a:b", "https://example.com/roles", "a:b" },
        { "https://example.com/roles~^adm", "https://example.com/roles", NULL },
        /* A port is part of the URL name, not the separator. */
        { "https://example.com:8443/roles:admin",
          "https://example.com:8443/roles", "admin" },
        { "https://example.com:8443/roles~^a", "https://example.com:8443/roles",
          NULL },
        { "urn:x", "urn", "x" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_rule_t *r = rule(OAUTH2_RULE_CLAIM, cases[i].word, NULL);
        const oauth2_claim_term_t *t =
            &APR_ARRAY_IDX(r->values, 0, oauth2_claim_term_t);

        assert_int_equal(r->kind, OAUTH2_RULE_CLAIM);
        assert_string_equal(t->claim, cases[i].claim);
        if (cases[i].value != NULL) {
            assert_string_equal(t->value, cases[i].value);
            assert_null(t->re);
        }
        else {
            assert_null(t->value);
            assert_non_null(t->re);
        }
    }
}

/* Domains are stored lower-case. */
static void test_authz_parse_domains_lower_case(void **state)
{
    oauth2_rule_t *r = rule(OAUTH2_RULE_EMAIL_DOMAIN, "Example.COM",
                            "sub-1.example.org", NULL);

    (void)state;
    assert_int_equal(r->values->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(r->values, 0, const char *),
                        "example.com");
    assert_string_equal(APR_ARRAY_IDX(r->values, 1, const char *),
                        "sub-1.example.org");
}

/* Groups compare exactly: any listed group admits, case and prefixes
 * matter, GitHub's org:team names are whole words. */
static void test_authz_groups(void **state)
{
    const oauth2_session_t *s = session(
        "{\"sub\":\"u\",\"groups\":[\"dev\",\"acme:platform\",\"a b\"]}");
    const oauth2_session_t *none = session("{\"sub\":\"u\"}");
    static const struct {
        const char *group;
        int ok;
    } cases[] = {
        { "dev", 1 },
        { "acme:platform", 1 },
        { "a b", 1 },
        { "Dev", 0 },
        { "de", 0 },
        { "dev2", 0 },
        { "acme", 0 },
        { "platform", 0 },
        { "dev,acme:platform", 0 },
        { "dev ", 0 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_rule_t *r = rule(OAUTH2_RULE_GROUP, cases[i].group, NULL);

        assert_int_equal(oauth2_authz_check(r, s), cases[i].ok);
        assert_int_equal(oauth2_authz_check(r, none), 0);
    }
    assert_int_equal(
        oauth2_authz_check(rule(OAUTH2_RULE_GROUP, "x", "y", "dev", NULL), s),
        1);
    assert_int_equal(
        oauth2_authz_check(rule(OAUTH2_RULE_GROUP, "x", "y", NULL), s), 0);
}

/* The groups claim may be nested (OAuth2GroupsClaim realm_access.roles):
 * the rule reads the session's groups, whatever claim they came from. */
static void test_authz_groups_from_nested_claim(void **state)
{
    oauth2_session_input_t in;
    oauth2_claims_t *c = NULL;
    oauth2_session_t *s = NULL;
    const char *err = NULL;
    static const char json[] =
        "{\"sub\":\"u\",\"realm_access\":{\"roles\":[\"admin\"]}}";

    (void)state;
    assert_int_equal(
        oauth2_claims_parse(pool, json, strlen(json), 4096, &c, &err),
        APR_SUCCESS);
    memset(&in, 0, sizeof(in));
    in.claims = c;
    in.user_claim = "sub";
    in.groups_claim = "realm_access.roles";
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    assert_int_equal(
        oauth2_authz_check(rule(OAUTH2_RULE_GROUP, "admin", NULL), s), 1);
    assert_int_equal(
        oauth2_authz_check(rule(OAUTH2_RULE_GROUP, "user", NULL), s), 0);
}

/* NAME:VALUE: exact values, arrays (any element), numbers and booleans
 * by their JSON text, dotted paths, namespaced URL claims. */
static void test_authz_claim_values(void **state)
{
    const oauth2_session_t *s =
        session("{\"sub\":\"u\",\"email\":\"alice@example.com\","
                "\"email_verified\":true,\"age\":42,\"ratio\":0.5,"
                "\"roles\":[\"reader\",\"writer\"],\"role\":\"a:b\","
                "\"realm_access\":{\"roles\":[\"admin\"]},"
                "\"https://example.com/roles\":[\"ops\",\"x:y\"],"
                "\"empty\":\"\",\"hd\":\"example.com\"}");
    static const struct {
        const char *term;
        int ok;
    } cases[] = {
        { "email:alice@example.com", 1 },
        { "email:alice", 0 },
        { "email:ALICE@example.com", 0 },
        { "email:alice@example.com ", 0 },
        { "roles:reader", 1 },
        { "roles:writer", 1 },
        { "roles:admin", 0 },
        { "roles:reader,writer", 0 },
        { "role:a:b", 1 },
        { "role:a", 0 },
        { "age:42", 1 },
        { "age:42.0", 0 },
        { "ratio:0.5", 1 },
        { "email_verified:true", 1 },
        { "email_verified:1", 0 },
        { "realm_access.roles:admin", 1 },
        { "realm_access:admin", 0 },
        { "https://example.com/roles:ops", 1 },
        { "https://example.com/roles:x:y", 1 },
        { "https://example.com/roles:dev", 0 },
        { "empty:", 1 },
        { "missing:", 0 },
        { "missing:x", 0 },
        { "hd:example.com", 1 },
        { "sub:u", 1 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_rule_t *r = rule(OAUTH2_RULE_CLAIM, cases[i].term, NULL);

        if (oauth2_authz_check(r, s) != cases[i].ok) {
            fail_msg("case %zu '%s': expected %d", i, cases[i].term,
                     cases[i].ok);
        }
    }
    /* several terms: any one admits */
    assert_int_equal(
        oauth2_authz_check(
            rule(OAUTH2_RULE_CLAIM, "roles:admin", "age:42", NULL), s),
        1);
    assert_int_equal(
        oauth2_authz_check(
            rule(OAUTH2_RULE_CLAIM, "roles:admin", "age:43", NULL), s),
        0);
}

/* NAME~REGEX through the caller's matcher, against every value. */
static void test_authz_claim_regex(void **state)
{
    const oauth2_session_t *s =
        session("{\"sub\":\"u\",\"email\":\"alice@example.com\","
                "\"roles\":[\"reader\",\"team-42\"],\"n\":7,"
                "\"https://example.com/roles\":[\"ops-admin\"]}");
    static const struct {
        const char *term;
        int ok;
    } cases[] = {
        { "email~@example\\.com$", 1 },
        { "email~^bob@", 0 },
        { "email~@EXAMPLE", 0 },
        { "roles~^team-[0-9]+$", 1 },
        { "roles~^admin$", 0 },
        { "n~^[0-9]$", 1 },
        { "https://example.com/roles~admin$", 1 },
        { "missing~.*", 0 },
        { "email~.*", 1 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_rule_t *r = rule(OAUTH2_RULE_CLAIM, cases[i].term, NULL);

        if (oauth2_authz_check(r, s) != cases[i].ok) {
            fail_msg("case %zu '%s': expected %d", i, cases[i].term,
                     cases[i].ok);
        }
    }
}

static void test_authz_email_domain_parse(void **state)
{
    static const struct {
        const char *email;
        const char *domain;
    } cases[] = {
        { "user@example.com", "example.com" },
        { "u.ser+tag@sub.example.com", "sub.example.com" },
        { "a@evil.com@example.com", NULL },
        { "@example.com", NULL },
        { "user@", NULL },
        { "user", NULL },
        { "", NULL },
        { "@", NULL },
        { "a@@example.com", NULL },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *d = oauth2_authz_email_domain(cases[i].email);

        if (cases[i].domain == NULL) {
            assert_null(d);
        }
        else {
            assert_string_equal(d, cases[i].domain);
        }
    }
    assert_null(oauth2_authz_email_domain(NULL));
}

/* The verified email's domain, exactly (not a suffix or substring test),
 * case-insensitively; unverified emails never match. */
static void test_authz_email_domain_check(void **state)
{
    static const struct {
        const char *email;
        const char *verified;
        int ok;
    } cases[] = {
        { "user@example.com", "true", 1 },
        { "user@EXAMPLE.com", "true", 1 },
        { "USER@Example.Com", "true", 1 },
        { "user@example.com", "false", 0 },
        { "user@example.com", "\"true\"", 0 },
        { "user@example.com", NULL, 0 },
        { "a@evil.com@example.com", "true", 0 },
        { "user@example.com.evil.com", "true", 0 },
        { "user@evilexample.com", "true", 0 },
        { "user@sub.example.com", "true", 0 },
        { "user@example.co", "true", 0 },
        { "@example.com", "true", 0 },
        { "example.com", "true", 0 },
        { "user@example.com ", "true", 0 },
        { "", "true", 0 },
    };
    oauth2_rule_t *r =
        rule(OAUTH2_RULE_EMAIL_DOMAIN, "other.org", "Example.com", NULL);
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *json = apr_psprintf(
            pool, "{\"sub\":\"u\",\"email\":\"%s\"%s%s}", cases[i].email,
            cases[i].verified ? ",\"email_verified\":" : "",
            cases[i].verified ? cases[i].verified : "");

        if (oauth2_authz_check(r, session(json)) != cases[i].ok) {
            fail_msg("case %zu: %s", i, json);
        }
    }
}

static void test_authz_check_null(void **state)
{
    const oauth2_session_t *s = session("{\"sub\":\"u\",\"groups\":\"g\"}");

    (void)state;
    assert_int_equal(oauth2_authz_check(NULL, s), 0);
    assert_int_equal(
        oauth2_authz_check(rule(OAUTH2_RULE_GROUP, "g", NULL), NULL), 0);
    assert_int_equal(oauth2_authz_check(rule(OAUTH2_RULE_GROUP, "g", NULL), s),
                     1);
}

/* Checking reads decoded records too (what a request sees). */
static void test_authz_on_decoded_record(void **state)
{
    const oauth2_session_t *s =
        session("{\"sub\":\"u\",\"groups\":[\"g1\",\"g2\"],"
                "\"email\":\"x@example.com\",\"email_verified\":true,"
                "\"dept\":\"eng\"}");
    oauth2_session_t d;
    char *rec;
    apr_size_t len;

    (void)state;
    assert_int_equal(oauth2_session_encode(pool, s, &rec, &len), APR_SUCCESS);
    assert_int_equal(oauth2_session_decode(rec, len, &d), APR_SUCCESS);
    assert_int_equal(
        oauth2_authz_check(rule(OAUTH2_RULE_GROUP, "g2", NULL), &d), 1);
    assert_int_equal(
        oauth2_authz_check(rule(OAUTH2_RULE_CLAIM, "dept:eng", NULL), &d), 1);
    assert_int_equal(
        oauth2_authz_check(rule(OAUTH2_RULE_EMAIL_DOMAIN, "example.com", NULL),
                           &d),
        1);
}

/* A session with API groups and resources (what groups.c adds). */
static const oauth2_session_t *api_session(const char *groups_csv,
                                           const char *const *keys,
                                           const int *levels, int n)
{
    oauth2_session_input_t in;
    oauth2_claims_t *c = NULL;
    oauth2_session_t *s = NULL;
    const char *err = NULL, *json = "{\"sub\":\"u\",\"groups\":[\"dev\"]}";
    apr_array_header_t *g = apr_array_make(pool, 4, sizeof(const char *));
    apr_array_header_t *r =
        apr_array_make(pool, 4, sizeof(oauth2_session_resource_t));
    char *copy = apr_pstrdup(pool, groups_csv), *tok, *last = NULL;
    int i;

    for (tok = apr_strtok(copy, ",", &last); tok != NULL;
         tok = apr_strtok(NULL, ",", &last)) {
        APR_ARRAY_PUSH(g, const char *) = tok;
    }
    for (i = 0; i < n; i++) {
        oauth2_session_resource_t *e = apr_array_push(r);

        e->key = keys[i];
        e->level = levels[i];
    }
    assert_int_equal(
        oauth2_claims_parse(pool, json, strlen(json), 1 << 20, &c, &err),
        APR_SUCCESS);
    memset(&in, 0, sizeof(in));
    in.claims = c;
    in.user_claim = "sub";
    in.groups_claim = "groups";
    in.now = NOW;
    in.max_age = apr_time_from_sec(3600);
    in.api_groups = g;
    in.resources = r;
    assert_int_equal(oauth2_session_build(pool, &in, &s, &err), APR_SUCCESS);
    return s;
}

/* Resource words: paths, levels by name and number, lower-cased keys. */
static void test_authz_parse_resource(void **state)
{
    static const struct {
        const char *word;
        apr_status_t rv;
        oauth2_res_kind_e kind;
        const char *key;
        int min;
    } cases[] = {
        { "project:acme/app", APR_SUCCESS, OAUTH2_RES_PROJECT,
          "project:acme/app", 20 },
        { "project:Acme/Sub.Group/my_app-2", APR_SUCCESS, OAUTH2_RES_PROJECT,
          "project:acme/sub.group/my_app-2", 20 },
        { "project:acme/app=guest", APR_SUCCESS, OAUTH2_RES_PROJECT,
          "project:acme/app", 10 },
        { "project:acme/app=Planner", APR_SUCCESS, OAUTH2_RES_PROJECT,
          "project:acme/app", 15 },
        { "project:acme/app=developer", APR_SUCCESS, OAUTH2_RES_PROJECT,
          "project:acme/app", 30 },
        { "project:acme/app=30", APR_SUCCESS, OAUTH2_RES_PROJECT,
          "project:acme/app", 30 },
        { "project:acme/app=maintainer", APR_SUCCESS, OAUTH2_RES_PROJECT,
          "project:acme/app", 40 },
        { "project:acme/app=50", APR_SUCCESS, OAUTH2_RES_PROJECT,
          "project:acme/app", 50 },
        { "repo:acme/app", APR_SUCCESS, OAUTH2_RES_REPO, "repo:acme/app", 1 },
        { "repo:Acme/My.App_1", APR_SUCCESS, OAUTH2_RES_REPO,
          "repo:acme/my.app_1", 1 },
        { "repo:acme/app=triage", APR_SUCCESS, OAUTH2_RES_REPO, "repo:acme/app",
          2 },
        { "repo:acme/app=push", APR_SUCCESS, OAUTH2_RES_REPO, "repo:acme/app",
          3 },
        { "repo:acme/app=write", APR_SUCCESS, OAUTH2_RES_REPO, "repo:acme/app",
          3 },
        { "repo:acme/app=maintain", APR_SUCCESS, OAUTH2_RES_REPO,
          "repo:acme/app", 4 },
        { "repo:acme/app=admin", APR_SUCCESS, OAUTH2_RES_REPO, "repo:acme/app",
          5 },
        { "acme/app", APR_ENOENT, 0, NULL, 0 },
        { "eng@example.com", APR_ENOENT, 0, NULL, 0 },
        { "Project:acme/app", APR_ENOENT, 0, NULL, 0 },
        { "project:acme", APR_EINVAL, 0, NULL, 0 },
        { "project:", APR_EINVAL, 0, NULL, 0 },
        { "project:/acme/app", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/app/", APR_EINVAL, 0, NULL, 0 },
        { "project:acme//app", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/../app", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/./app", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/a pp", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/app%2F", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/app=", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/app=25", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/app=5", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/app=010", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/app=admin", APR_EINVAL, 0, NULL, 0 },
        { "project:acme/app=30=40", APR_EINVAL, 0, NULL, 0 },
        { "repo:acme", APR_EINVAL, 0, NULL, 0 },
        { "repo:acme/app/x", APR_EINVAL, 0, NULL, 0 },
        { "repo:ac_me/app", APR_EINVAL, 0, NULL, 0 },
        { "repo:acme/..", APR_EINVAL, 0, NULL, 0 },
        { "repo:acme/app=3", APR_EINVAL, 0, NULL, 0 },
        { "repo:acme/app=owner", APR_EINVAL, 0, NULL, 0 },
        { "repo:acme/app=developer", APR_EINVAL, 0, NULL, 0 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_res_term_t t;
        const char *err = NULL;
        apr_status_t rv =
            oauth2_authz_parse_resource(pool, cases[i].word, &t, &err);

        if (rv != cases[i].rv) {
            fail_msg("%s: %d, not %d", cases[i].word, rv, cases[i].rv);
        }
        if (rv == APR_EINVAL) {
            assert_non_null(err);
            assert_non_null(strstr(err, cases[i].word));
        }
        if (rv == APR_SUCCESS) {
            assert_int_equal(t.kind, cases[i].kind);
            assert_string_equal(t.key, cases[i].key);
            assert_int_equal(t.min, cases[i].min);
        }
    }
}

/* A Require line with a bad resource word is refused as a whole. */
static void test_authz_parse_group_resource_errors(void **state)
{
    oauth2_rule_t *r = NULL;
    const char *err = NULL;

    (void)state;
    assert_int_equal(oauth2_authz_parse(pool, OAUTH2_RULE_GROUP,
                                        words("dev", "project:acme", NULL),
                                        NULL, NULL, &r, &err),
                     APR_EINVAL);
    assert_non_null(strstr(err, "'project:acme' is not project:"));
    r = rule(OAUTH2_RULE_GROUP, "dev", "project:acme/app=developer",
             "repo:acme/app", "eng@example.com", NULL);
    assert_int_equal(r->values->nelts, 2);
    assert_int_equal(r->resources->nelts, 2);
}

/* Resource words against the levels a session records; plain words never
 * match a resource, and API groups compare without regard to case. */
static void test_authz_resources(void **state)
{
    static const char *const keys[] = { "project:acme/app", "repo:acme/app",
                                        "project:acme/none" };
    static const int levels[] = { 30, 2, 0 };
    const oauth2_session_t *s =
        api_session("eng@example.com,all@example.com", keys, levels, 3);
    static const struct {
        const char *word;
        int ok;
    } cases[] = {
        { "project:acme/app", 1 },
        { "project:ACME/app", 1 },
        { "project:acme/app=developer", 1 },
        { "project:acme/app=maintainer", 0 },
        { "project:acme/app=guest", 1 },
        { "repo:acme/app", 1 },
        { "repo:acme/app=triage", 1 },
        { "repo:acme/app=push", 0 },
        { "project:acme/none", 0 },
        { "project:acme/none=guest", 0 },
        { "project:acme/unknown=guest", 0 },
        { "eng@example.com", 1 },
        { "ENG@Example.com", 1 },
        { "eng", 0 },
        { "project:acme/app\1", 0 },
        { "dev", 1 },
        { "Dev", 0 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_rule_t *r = NULL;
        const char *err = NULL;

        if (oauth2_authz_parse(pool, OAUTH2_RULE_GROUP,
                               words(cases[i].word, NULL), NULL, NULL, &r, &err)
            != APR_SUCCESS) {
            assert_int_equal(cases[i].ok, 0);
            continue;
        }
        if (oauth2_authz_check(r, s) != cases[i].ok) {
            fail_msg("%s: %d", cases[i].word, !cases[i].ok);
        }
    }
}

/* The resource words a session knows nothing of are what a rule first
 * met in .htaccess has to resolve. */
static void test_authz_unresolved(void **state)
{
    static const char *const keys[] = { "project:acme/app" };
    static const int levels[] = { 0 };
    const oauth2_session_t *s = api_session("", keys, levels, 1);
    oauth2_rule_t *r = rule(OAUTH2_RULE_GROUP, "dev", "project:acme/app",
                            "repo:acme/app=push", "project:acme/tools", NULL);
    apr_array_header_t *u = oauth2_authz_unresolved(pool, r, s);

    (void)state;
    assert_non_null(u);
    assert_int_equal(u->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(u, 0, oauth2_res_term_t).key,
                        "repo:acme/app");
    assert_int_equal(APR_ARRAY_IDX(u, 0, oauth2_res_term_t).min, 3);
    assert_string_equal(APR_ARRAY_IDX(u, 1, oauth2_res_term_t).key,
                        "project:acme/tools");
    assert_null(oauth2_authz_unresolved(
        pool, rule(OAUTH2_RULE_GROUP, "dev", "project:acme/app", NULL), s));
    assert_null(
        oauth2_authz_unresolved(pool, rule(OAUTH2_RULE_CLAIM, "a:b", NULL), s));
}

/* What the configuration's rules name, each once: addresses (Google
 * groups) and resource keys. */
static void test_authz_note(void **state)
{
    apr_array_header_t *groups = NULL, *res = NULL;

    (void)state;
    oauth2_authz_note(pool,
                      rule(OAUTH2_RULE_GROUP, "dev", "eng@example.com",
                           "project:acme/app=developer", NULL),
                      &groups, &res);
    oauth2_authz_note(pool,
                      rule(OAUTH2_RULE_GROUP, "ENG@example.com",
                           "project:acme/app", "repo:acme/lib", NULL),
                      &groups, &res);
    oauth2_authz_note(pool, rule(OAUTH2_RULE_CLAIM, "email:x@y.z", NULL),
                      &groups, &res);
    assert_int_equal(groups->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(groups, 0, const char *),
                        "eng@example.com");
    assert_int_equal(res->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(res, 0, const char *),
                        "project:acme/app");
    assert_string_equal(APR_ARRAY_IDX(res, 1, const char *), "repo:acme/lib");
}

static void test_authz_level_names(void **state)
{
    (void)state;
    assert_string_equal(oauth2_authz_level_name(pool, "project:a/b", 30),
                        "developer");
    assert_string_equal(oauth2_authz_level_name(pool, "project:a/b", 50),
                        "owner");
    assert_string_equal(oauth2_authz_level_name(pool, "project:a/b", 0),
                        "none");
    assert_string_equal(oauth2_authz_level_name(pool, "project:a/b", 5), "5");
    assert_string_equal(oauth2_authz_level_name(pool, "repo:a/b", 3), "push");
    assert_string_equal(oauth2_authz_level_name(pool, "repo:a/b", 1), "pull");
}

/* The log names why a rule refused (issue 17: an email-domain rule
 * refused a user whose provider sends no email_verified, silently). */
static void test_authz_explain(void **state)
{
    oauth2_rule_t *dom = rule(OAUTH2_RULE_EMAIL_DOMAIN, "example.com", NULL);
    oauth2_rule_t *grp = rule(OAUTH2_RULE_GROUP, "admins", NULL);

    (void)state;
    assert_non_null(
        strstr(oauth2_authz_explain(pool, dom,
                                    session("{\"sub\":\"a\",\"email\":"
                                            "\"a@example.com\"}")),
               "did not send email_verified true for a@example.com"));
    assert_non_null(strstr(
        oauth2_authz_explain(pool, dom,
                             session("{\"sub\":\"a\",\"email\":"
                                     "\"a@other.com\",\"email_verified\":"
                                     "true}")),
        "in another domain"));
    assert_non_null(
        strstr(oauth2_authz_explain(pool, dom, session("{\"sub\":\"a\"}")),
               "no email"));
    assert_non_null(
        strstr(oauth2_authz_explain(pool, grp,
                                    session("{\"sub\":\"a\",\"groups\":"
                                            "[\"staff\",\"devs\"]}")),
               "groups are: staff, devs"));
    assert_non_null(
        strstr(oauth2_authz_explain(pool, grp, session("{\"sub\":\"a\"}")),
               "no groups"));
    assert_null(oauth2_authz_explain(pool, NULL, NULL));
}

/* A claim rule names each claim it asked about, and its values; a group
 * rule with resource words the levels the session records. */
static void test_authz_explain_claims_and_levels(void **state)
{
    oauth2_rule_t *cl = rule(OAUTH2_RULE_CLAIM, "department:sales",
                             "department~^x", "level:3", NULL);
    oauth2_rule_t *res =
        rule(OAUTH2_RULE_GROUP, "admins", "project:acme/app", NULL);
    const char *e;

    (void)state;
    e = oauth2_authz_explain(pool, cl,
                             session("{\"sub\":\"a\",\"department\":"
                                     "[\"r&d\",\"ops\"]}"));
    assert_string_equal(e, "no value of the claim matches: department: "
                           "\"r&d\", \"ops\"; level: absent");
    e = oauth2_authz_explain(pool, res, session("{\"sub\":\"a\"}"));
    assert_non_null(strstr(e, "no groups"));
    assert_non_null(strstr(e, "project:acme/app: not known"));
}

/* Require oauth2-provider NAME...: provider names, kept as written (any
 * case matches, access.c); '#' refused as a comment; the session does not
 * say its provider, so authz_check never grants it alone; the refusal's
 * explanation. */
static void test_authz_provider(void **state)
{
    oauth2_rule_t *r =
        rule(OAUTH2_RULE_PROVIDER, "staff", "Contractors-2", "a_b", NULL);
    apr_array_header_t *groups = NULL, *res = NULL;
    oauth2_rule_t *bad = NULL;
    const char *err = NULL;

    (void)state;
    assert_int_equal(r->kind, OAUTH2_RULE_PROVIDER);
    assert_int_equal(r->values->nelts, 3);
    assert_string_equal(APR_ARRAY_IDX(r->values, 0, const char *), "staff");
    assert_string_equal(APR_ARRAY_IDX(r->values, 1, const char *),
                        "Contractors-2");
    assert_int_equal(r->resources->nelts, 0);
    assert_int_equal(oauth2_authz_parse(pool, OAUTH2_RULE_PROVIDER,
                                        words("staff", "#", "admins", NULL),
                                        posix_compile, posix_match, &bad, &err),
                     APR_EINVAL);
    assert_non_null(strstr(err, "no end-of-line comments"));
    assert_null(bad);
    assert_int_equal(oauth2_authz_parse(pool, OAUTH2_RULE_PROVIDER,
                                        words("st/aff", NULL), posix_compile,
                                        posix_match, &bad, &err),
                     APR_EINVAL);
    assert_string_equal(err, "'st/aff' is not a provider name");
    /* a session named like the provider, in any claim, is not granted */
    assert_int_equal(
        oauth2_authz_check(r, session("{\"sub\":\"staff\",\"groups\":["
                                      "\"staff\"],\"iss\":\"staff\"}")),
        0);
    assert_string_equal(oauth2_authz_explain(pool, r,
                                             session("{\"sub\":"
                                                     "\"a\"}")),
                        "the user signed in with another provider");
    oauth2_authz_note(pool, r, &groups, &res);
    assert_null(groups);
    assert_null(res);
    assert_null(oauth2_authz_unresolved(pool, r, session("{\"sub\":\"a\"}")));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_authz_parse_errors),
        T(test_authz_parse_needs_words),
        T(test_authz_parse_regex_compile_failure),
        T(test_authz_parse_claim_terms),
        T(test_authz_parse_domains_lower_case),
        T(test_authz_groups),
        T(test_authz_groups_from_nested_claim),
        T(test_authz_claim_values),
        T(test_authz_claim_regex),
        T(test_authz_email_domain_parse),
        T(test_authz_email_domain_check),
        T(test_authz_check_null),
        T(test_authz_on_decoded_record),
        T(test_authz_parse_resource),
        T(test_authz_parse_group_resource_errors),
        T(test_authz_resources),
        T(test_authz_unresolved),
        T(test_authz_note),
        T(test_authz_level_names),
        T(test_authz_explain),
        T(test_authz_explain_claims_and_levels),
        T(test_authz_provider),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
