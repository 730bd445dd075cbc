/*
 * test_claims.c: unit tests for src/claims.c: bounded parsing, dotted
 * lookups, values, merge, walk, and the token rules of OpenID Connect Core
 * §3.1.3.7, RFC 9068 §4 and OpenID Connect Back-Channel Logout 1.0 §2.6,
 * all with a fixed clock.
 */
#include "claims.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "errors.h"

/* The fixed clock of every validation test: 2023-11-14T22:13:20Z. */
#define NOW_SEC  1700000000
#define SKEW_SEC 60

static int setup(void **state)
{
    apr_pool_t *p = NULL;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

static oauth2_claims_t *parse_ok(apr_pool_t *p, const char *json)
{
    oauth2_claims_t *c = NULL;
    const char *err = NULL;

    if (oauth2_claims_parse(p, json, strlen(json), 65536, &c, &err)
        != APR_SUCCESS) {
        fail_msg("parse failed: %s: %s", err, json);
    }
    assert_non_null(c);
    return c;
}

/* A JSON object nested depth levels deep: {"a":{"a":...{}}}. */
static char *nested(apr_pool_t *p, int depth)
{
    char *s = "{}";
    int i;

    for (i = 1; i < depth; i++) {
        s = apr_pstrcat(p, "{\"a\":", s, "}", NULL);
    }
    return s;
}

static void test_claims_parse_object(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_t *c = parse_ok(p, " {\"sub\":\"alice\",\"n\":1}\r\n\t ");

    assert_true(json_object_is_type(oauth2_claims_json(c), json_type_object));
    assert_string_equal(oauth2_claims_get_string(c, "sub"), "alice");
}

static const struct {
    const char *name;
    const char *json;
    apr_size_t len; /* 0: strlen */
} bad_json[] = {
    { "empty", "", 0 },
    { "whitespace only", "   ", 0 },
    { "array", "[1,2]", 0 },
    { "string", "\"x\"", 0 },
    { "number", "42", 0 },
    { "null", "null", 0 },
    { "truncated", "{\"a\":1", 0 },
    { "truncated string", "{\"a\":\"x", 0 },
    { "trailing garbage", "{\"a\":1}x", 0 },
    { "two objects", "{}{}", 0 },
    { "trailing comma", "{\"a\":1,}", 0 },
    { "leading zero", "{\"a\":01}", 0 },
    { "bare word", "{\"a\":tru}", 0 },
    { "NUL inside", "{\"a\":\"x\0y\"}", 11 },
    { "NUL after", "{\"a\":1}\0garbage", 15 },
    { "invalid UTF-8", "{\"a\":\"\xff\xfe\"}", 0 },
    { "unquoted key", "{a:1}", 0 },
};

static void test_claims_parse_refuses_malformed(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
        oauth2_claims_t *c = NULL;
        const char *err = NULL;
        apr_size_t len =
            bad_json[i].len ? bad_json[i].len : strlen(bad_json[i].json);

        if (oauth2_claims_parse(p, bad_json[i].json, len, 1024, &c, &err)
            != OAUTH2_EMALFORMED) {
            fail_msg("accepted: %s", bad_json[i].name);
        }
        assert_null(c);
        assert_non_null(err);
    }
}

static void test_claims_parse_depth_limit(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_t *c = NULL;
    const char *deep = nested(p, OAUTH2_MAX_JSON_DEPTH);
    const char *deeper = nested(p, OAUTH2_MAX_JSON_DEPTH + 1);

    assert_int_equal(oauth2_claims_parse(p, deep, strlen(deep), 4096, &c, NULL),
                     APR_SUCCESS);
    assert_int_equal(
        oauth2_claims_parse(p, deeper, strlen(deeper), 4096, &c, NULL),
        OAUTH2_EMALFORMED);
}

static void test_claims_parse_size_limit(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_t *c = NULL;
    const char *err = NULL;
    const char *json = "{\"sub\":\"alice\"}"; /* 15 bytes */

    assert_int_equal(oauth2_claims_parse(p, json, 15, 15, &c, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_claims_parse(p, json, 15, 14, &c, &err),
                     OAUTH2_ETOOBIG);
}

static void test_claims_parse_null_refused(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_t *c = NULL;

    assert_int_equal(oauth2_claims_parse(p, NULL, 0, 10, &c, NULL),
                     OAUTH2_EMALFORMED);
    assert_int_equal(oauth2_claims_parse(NULL, "{}", 2, 10, &c, NULL),
                     OAUTH2_EMALFORMED);
    assert_int_equal(oauth2_claims_parse(p, "{}", 2, 10, NULL, NULL),
                     OAUTH2_EMALFORMED);
    assert_null(oauth2_claims_json(NULL));
    assert_null(oauth2_claims_get(NULL, "sub"));
}

static const char *keycloak =
    "{\"sub\":\"alice\",\"realm_access\":{\"roles\":[\"admin\",\"user\"]},"
    "\"resource_access\":{\"app\":{\"roles\":[\"viewer\"]}},"
    "\"https://example.com/groups\":[\"g1\"],\"a.b\":\"flat\","
    "\"a\":{\"b\":\"nested\"},\"n\":null}";

static void test_claims_get_dotted_path(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_t *c = parse_ok(p, keycloak);
    json_object *v;

    v = oauth2_claims_get(c, "realm_access.roles");
    assert_true(json_object_is_type(v, json_type_array));
    assert_int_equal(json_object_array_length(v), 2);
    v = oauth2_claims_get(c, "resource_access.app.roles");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)),
                        "viewer");
    /* The whole path as one member name wins over the dotted reading. */
    v = oauth2_claims_get(c, "https://example.com/groups");
    assert_true(json_object_is_type(v, json_type_array));
    assert_string_equal(oauth2_claims_get_string(c, "a.b"), "flat");
}

static void test_claims_get_invalid_paths(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_t *c = parse_ok(p, keycloak);
    const char *paths[] = { "",
                            ".",
                            "realm_access.",
                            ".realm_access",
                            "realm_access..roles",
                            "realm_access.roles.x",
                            "sub.x",
                            "missing",
                            "missing.roles",
                            "n.x" };
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (oauth2_claims_get(c, paths[i]) != NULL) {
            fail_msg("found something at \"%s\"", paths[i]);
        }
    }
    assert_null(oauth2_claims_get(c, NULL));
}

static void test_claims_get_segment_and_length_limits(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_t *c = parse_ok(p, nested(p, OAUTH2_MAX_JSON_DEPTH));
    char *path = "a";
    char *longkey, *json;
    int i;

    /* nested() has "a" objects OAUTH2_MAX_JSON_DEPTH - 1 levels deep. */
    for (i = 1; i < OAUTH2_MAX_CLAIM_SEGMENTS; i++) {
        path = apr_pstrcat(p, path, ".a", NULL);
    }
    assert_non_null(oauth2_claims_get(c, path));
    path = apr_pstrcat(p, path, ".a", NULL);
    assert_null(oauth2_claims_get(c, path));

    longkey = apr_palloc(p, OAUTH2_MAX_CLAIM_PATH + 2);
    memset(longkey, 'k', OAUTH2_MAX_CLAIM_PATH + 1);
    longkey[OAUTH2_MAX_CLAIM_PATH + 1] = '\0';
    json = apr_psprintf(p, "{\"%s\":\"long\",\"%s\":\"max\"}", longkey,
                        longkey + 1);
    c = parse_ok(p, json);
    assert_null(oauth2_claims_get(c, longkey));
    assert_string_equal(oauth2_claims_get_string(c, longkey + 1), "max");
}

static void test_claims_get_string_types(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_t *c =
        parse_ok(p, "{\"s\":\"x\",\"n\":1,\"b\":true,\"o\":{},\"a\":[\"x\"],"
                    "\"z\":\"admin\\u0000evil\",\"e\":\"\"}");

    assert_string_equal(oauth2_claims_get_string(c, "s"), "x");
    assert_string_equal(oauth2_claims_get_string(c, "e"), "");
    assert_null(oauth2_claims_get_string(c, "n"));
    assert_null(oauth2_claims_get_string(c, "b"));
    assert_null(oauth2_claims_get_string(c, "o"));
    assert_null(oauth2_claims_get_string(c, "a"));
    /* An embedded NUL would cut "admin\0evil" to "admin". */
    assert_null(oauth2_claims_get_string(c, "z"));
}

static char *join(apr_pool_t *p, const apr_array_header_t *arr)
{
    char *s = "";
    int i;

    for (i = 0; i < arr->nelts; i++) {
        s = apr_pstrcat(p, s, i ? "|" : "", APR_ARRAY_IDX(arr, i, char *),
                        NULL);
    }
    return s;
}

static void test_claims_get_values_kinds(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_t *c = parse_ok(
        p, "{\"s\":\"one\",\"i\":42,\"d\":1.50,\"t\":true,\"f\":false,"
           "\"o\":{\"k\":1},\"nul\":null,"
           "\"arr\":[\"g1\",7,false,[\"nested\"],{\"o\":1},null,\"g2\","
           "\"x\\u0000y\"],\"realm_access\":{\"roles\":[\"r1\",\"r2\"]}}");

    assert_string_equal(join(p, oauth2_claims_get_values(p, c, "s")), "one");
    assert_string_equal(join(p, oauth2_claims_get_values(p, c, "i")), "42");
    assert_string_equal(join(p, oauth2_claims_get_values(p, c, "d")), "1.50");
    assert_string_equal(join(p, oauth2_claims_get_values(p, c, "t")), "true");
    assert_string_equal(join(p, oauth2_claims_get_values(p, c, "f")), "false");
    assert_string_equal(join(p, oauth2_claims_get_values(p, c, "arr")),
                        "g1|7|false|g2");
    assert_string_equal(
        join(p, oauth2_claims_get_values(p, c, "realm_access.roles")), "r1|r2");
    assert_int_equal(oauth2_claims_get_values(p, c, "o")->nelts, 0);
    assert_int_equal(oauth2_claims_get_values(p, c, "nul")->nelts, 0);
    assert_int_equal(oauth2_claims_get_values(p, c, "missing")->nelts, 0);
    assert_int_equal(oauth2_claims_get_values(p, NULL, "s")->nelts, 0);
    assert_null(oauth2_claims_get_values(NULL, c, "s"));
}

static void test_claims_merge_id_token_wins(void **state)
{
    apr_pool_t *p = *state;
    apr_pool_t *sub;
    oauth2_claims_t *id, *userinfo;

    id = parse_ok(p, "{\"sub\":\"alice\",\"email\":\"a@id.example\"}");
    assert_int_equal(apr_pool_create(&sub, p), APR_SUCCESS);
    userinfo = parse_ok(sub, "{\"sub\":\"mallory\",\"email\":\"m@x\","
                             "\"groups\":[\"g1\",\"g2\"],\"nul\":null}");
    oauth2_claims_merge(id, userinfo);
    /* The userinfo set is gone; the merged values must not be. */
    apr_pool_destroy(sub);
    assert_string_equal(oauth2_claims_get_string(id, "sub"), "alice");
    assert_string_equal(oauth2_claims_get_string(id, "email"), "a@id.example");
    assert_string_equal(join(p, oauth2_claims_get_values(p, id, "groups")),
                        "g1|g2");
    assert_true(json_object_object_get_ex(oauth2_claims_json(id), "nul", NULL));
    oauth2_claims_merge(id, NULL);
    oauth2_claims_merge(NULL, id);
    oauth2_claims_merge(id, id);
}

typedef struct {
    apr_pool_t *p;
    char *seen;
    int calls;
    int stop_after;
} walk_ctx_t;

static int collect(void *ctx, const char *path, const char *value,
                   apr_size_t len)
{
    walk_ctx_t *w = ctx;

    assert_int_equal(strlen(value), len);
    w->seen = apr_pstrcat(w->p, w->seen, path, "=", value, ";", NULL);
    w->calls++;
    return w->stop_after && w->calls >= w->stop_after;
}

static void test_claims_walk_leaves_in_order(void **state)
{
    apr_pool_t *p = *state;
    walk_ctx_t w = { p, "", 0, 0 };
    oauth2_claims_t *c =
        parse_ok(p, "{\"sub\":\"a\",\"n\":1,\"b\":true,\"x\":null,"
                    "\"address\":{\"country\":\"NL\",\"geo\":{\"lat\":1.5}},"
                    "\"groups\":[\"g1\",2,[\"nested\"],{\"o\":1},null,\"g2\"],"
                    "\"\":\"emptykey\",\"z\":\"a\\u0000b\"}");

    oauth2_claims_walk(p, c, collect, &w);
    assert_string_equal(w.seen, "sub=a;n=1;b=true;address.country=NL;"
                                "address.geo.lat=1.5;groups=g1;groups=2;"
                                "groups=g2;");
}

static void test_claims_walk_stops_and_limits_depth(void **state)
{
    apr_pool_t *p = *state;
    walk_ctx_t w = { p, "", 0, 2 };
    oauth2_claims_t *c = parse_ok(p, "{\"a\":1,\"b\":[2,3],\"c\":4}");
    /* Leaves 8 and 9 segments deep: only the first is visited. */
    oauth2_claims_t *deep = parse_ok(
        p, "{\"1\":{\"2\":{\"3\":{\"4\":{\"5\":{\"6\":{\"7\":{\"8\":\"ok\","
           "\"x\":{\"9\":\"too deep\"}}}}}}}}}");

    oauth2_claims_walk(p, c, collect, &w);
    assert_int_equal(w.calls, 2);
    assert_string_equal(w.seen, "a=1;b=2;");

    w.seen = "";
    w.calls = 0;
    w.stop_after = 0;
    oauth2_claims_walk(p, deep, collect, &w);
    assert_string_equal(w.seen, "1.2.3.4.5.6.7.8=ok;");
    oauth2_claims_walk(p, NULL, collect, &w);
    oauth2_claims_walk(p, c, NULL, &w);
    assert_int_equal(w.calls, 1);
}

/*
 * Validation. Each case starts from a valid token of its kind and changes
 * up to two members: value is JSON text, or NULL to remove the member.
 */

static const char *base_id =
    "{\"iss\":\"https://op.example\",\"aud\":\"client\","
    "\"exp\":1700000600,\"iat\":1699999990,\"nonce\":\"n-0S6_WzA2Mj\","
    "\"sub\":\"alice\"}";
static const char *base_access =
    "{\"iss\":\"https://op.example\",\"aud\":\"client\","
    "\"exp\":1700000600}";
static const char *base_logout =
    "{\"iss\":\"https://op.example\",\"aud\":\"client\","
    "\"iat\":1699999990,\"jti\":\"bWJq\",\"sid\":\"08a5019c\","
    "\"events\":{\"http://schemas.openid.net/event/backchannel-logout\":{}}}";

#define DEL NULL
typedef struct {
    const char *name;
    oauth2_token_kind_e kind;
    const char *m1, *v1, *m2, *v2;
    apr_status_t rv;
} vcase_t;

static const vcase_t vcases[] = {
    /* ID tokens: OIDC Core §3.1.3.7. */
    { "id ok", OAUTH2_TOKEN_ID, NULL, NULL, NULL, NULL, APR_SUCCESS },
    { "iss other", OAUTH2_TOKEN_ID, "iss", "\"https://evil.example\"", NULL,
      NULL, OAUTH2_EMISMATCH },
    { "iss trailing slash", OAUTH2_TOKEN_ID, "iss", "\"https://op.example/\"",
      NULL, NULL, OAUTH2_EMISMATCH },
    { "iss prefix", OAUTH2_TOKEN_ID, "iss", "\"https://op.exampl\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "iss case", OAUTH2_TOKEN_ID, "iss", "\"https://OP.example\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "iss NUL", OAUTH2_TOKEN_ID, "iss", "\"https://op.example\\u0000x\"", NULL,
      NULL, OAUTH2_EMALFORMED },
    { "iss missing", OAUTH2_TOKEN_ID, "iss", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "iss number", OAUTH2_TOKEN_ID, "iss", "1", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "aud other", OAUTH2_TOKEN_ID, "aud", "\"other\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "aud missing", OAUTH2_TOKEN_ID, "aud", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "aud number", OAUTH2_TOKEN_ID, "aud", "7", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "aud object", OAUTH2_TOKEN_ID, "aud", "{\"client\":1}", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "aud array one", OAUTH2_TOKEN_ID, "aud", "[\"client\"]", NULL, NULL,
      APR_SUCCESS },
    { "aud array empty", OAUTH2_TOKEN_ID, "aud", "[]", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "aud array non-string", OAUTH2_TOKEN_ID, "aud", "[\"client\",1]", NULL,
      NULL, OAUTH2_EMALFORMED },
    { "aud array two no azp", OAUTH2_TOKEN_ID, "aud", "[\"client\",\"other\"]",
      NULL, NULL, OAUTH2_EMISMATCH },
    { "aud array two azp", OAUTH2_TOKEN_ID, "aud", "[\"other\",\"client\"]",
      "azp", "\"client\"", APR_SUCCESS },
    { "aud array two azp other", OAUTH2_TOKEN_ID, "aud",
      "[\"client\",\"other\"]", "azp", "\"other\"", OAUTH2_EMISMATCH },
    { "aud array without us, azp us", OAUTH2_TOKEN_ID, "aud", "[\"a\",\"b\"]",
      "azp", "\"client\"", OAUTH2_EMISMATCH },
    { "azp other, aud string", OAUTH2_TOKEN_ID, "azp", "\"other\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "azp us, aud string", OAUTH2_TOKEN_ID, "azp", "\"client\"", NULL, NULL,
      APR_SUCCESS },
    { "azp number", OAUTH2_TOKEN_ID, "azp", "1", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "exp missing", OAUTH2_TOKEN_ID, "exp", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "exp string", OAUTH2_TOKEN_ID, "exp", "\"1700000600\"", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "exp boolean", OAUTH2_TOKEN_ID, "exp", "true", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "exp null", OAUTH2_TOKEN_ID, "exp", "null", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "exp negative", OAUTH2_TOKEN_ID, "exp", "-1", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "exp beyond 9999", OAUTH2_TOKEN_ID, "exp", "253402300800", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "exp beyond int64", OAUTH2_TOKEN_ID, "exp", "100000000000000000000000",
      NULL, NULL, OAUTH2_EMALFORMED },
    { "exp huge real", OAUTH2_TOKEN_ID, "exp", "1e300", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "exp NaN", OAUTH2_TOKEN_ID, "exp", "NaN", NULL, NULL, OAUTH2_EMALFORMED },
    /* exp <= now - skew is expired: 1699999940 is exactly that. */
    { "exp at now-skew", OAUTH2_TOKEN_ID, "exp", "1699999940", NULL, NULL,
      OAUTH2_EEXPIRED },
    { "exp one second later", OAUTH2_TOKEN_ID, "exp", "1699999941", NULL, NULL,
      APR_SUCCESS },
    { "exp real just inside", OAUTH2_TOKEN_ID, "exp", "1699999940.5", NULL,
      NULL, APR_SUCCESS },
    { "exp long ago", OAUTH2_TOKEN_ID, "exp", "0", NULL, NULL,
      OAUTH2_EEXPIRED },
    { "iat missing", OAUTH2_TOKEN_ID, "iat", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "iat string", OAUTH2_TOKEN_ID, "iat", "\"1699999990\"", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "iat at now+skew", OAUTH2_TOKEN_ID, "iat", "1700000060", NULL, NULL,
      APR_SUCCESS },
    { "iat after now+skew", OAUTH2_TOKEN_ID, "iat", "1700000061", NULL, NULL,
      OAUTH2_ENOTYET },
    { "nbf at now+skew", OAUTH2_TOKEN_ID, "nbf", "1700000060", NULL, NULL,
      APR_SUCCESS },
    { "nbf after now+skew", OAUTH2_TOKEN_ID, "nbf", "1700000061", NULL, NULL,
      OAUTH2_ENOTYET },
    { "nbf real after now+skew", OAUTH2_TOKEN_ID, "nbf", "1700000060.5", NULL,
      NULL, OAUTH2_ENOTYET },
    { "nbf string", OAUTH2_TOKEN_ID, "nbf", "\"0\"", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "nonce missing", OAUTH2_TOKEN_ID, "nonce", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "nonce other", OAUTH2_TOKEN_ID, "nonce", "\"n-0S6_WzA2Mk\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "nonce prefix", OAUTH2_TOKEN_ID, "nonce", "\"n-0S6_WzA2M\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "nonce longer", OAUTH2_TOKEN_ID, "nonce", "\"n-0S6_WzA2Mjj\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "nonce empty", OAUTH2_TOKEN_ID, "nonce", "\"\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "nonce number", OAUTH2_TOKEN_ID, "nonce", "12", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "nonce NUL", OAUTH2_TOKEN_ID, "nonce", "\"n-0S6_WzA2Mj\\u0000\"", NULL,
      NULL, OAUTH2_EMALFORMED },
    { "sub missing", OAUTH2_TOKEN_ID, "sub", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "sub empty", OAUTH2_TOKEN_ID, "sub", "\"\"", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "sub number", OAUTH2_TOKEN_ID, "sub", "42", NULL, NULL,
      OAUTH2_EMALFORMED },
    /* Access tokens: RFC 9068 §4. */
    { "access ok", OAUTH2_TOKEN_ACCESS, NULL, NULL, NULL, NULL, APR_SUCCESS },
    { "access exp missing", OAUTH2_TOKEN_ACCESS, "exp", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "access exp expired", OAUTH2_TOKEN_ACCESS, "exp", "1699999940", NULL,
      NULL, OAUTH2_EEXPIRED },
    { "access aud other", OAUTH2_TOKEN_ACCESS, "aud", "[\"a\",\"b\"]", NULL,
      NULL, OAUTH2_EMISMATCH },
    { "access aud array", OAUTH2_TOKEN_ACCESS, "aud", "[\"a\",\"client\"]",
      NULL, NULL, APR_SUCCESS },
    { "access iss missing", OAUTH2_TOKEN_ACCESS, "iss", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "access iat future", OAUTH2_TOKEN_ACCESS, "iat", "1700000061", NULL, NULL,
      OAUTH2_ENOTYET },
    { "access nbf future", OAUTH2_TOKEN_ACCESS, "nbf", "1700000061", NULL, NULL,
      OAUTH2_ENOTYET },
    { "access iat string", OAUTH2_TOKEN_ACCESS, "iat", "\"x\"", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "access sub number", OAUTH2_TOKEN_ACCESS, "sub", "1", NULL, NULL,
      OAUTH2_EMALFORMED },
    /* ID tokens from a refresh: OIDC Core §12.2, no nonce check. */
    { "refreshed without nonce", OAUTH2_TOKEN_ID_REFRESHED, "nonce", DEL, NULL,
      NULL, APR_SUCCESS },
    { "refreshed with nonce", OAUTH2_TOKEN_ID_REFRESHED, NULL, NULL, NULL, NULL,
      APR_SUCCESS },
    { "refreshed wrong aud", OAUTH2_TOKEN_ID_REFRESHED, "aud", "\"other\"",
      "nonce", DEL, OAUTH2_EMISMATCH },
    { "refreshed expired", OAUTH2_TOKEN_ID_REFRESHED, "exp", "1699999000", NULL,
      NULL, OAUTH2_EEXPIRED },
    { "refreshed without sub", OAUTH2_TOKEN_ID_REFRESHED, "sub", DEL, NULL,
      NULL, OAUTH2_EMISMATCH },
    { "access nonce ignored", OAUTH2_TOKEN_ACCESS, "nonce", "\"other\"", NULL,
      NULL, APR_SUCCESS },
    /* Logout tokens: Back-Channel Logout §2.4 and §2.6. */
    { "logout ok", OAUTH2_TOKEN_LOGOUT, NULL, NULL, NULL, NULL, APR_SUCCESS },
    { "logout sub instead of sid", OAUTH2_TOKEN_LOGOUT, "sid", DEL, "sub",
      "\"alice\"", APR_SUCCESS },
    { "logout neither sid nor sub", OAUTH2_TOKEN_LOGOUT, "sid", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "logout sid number", OAUTH2_TOKEN_LOGOUT, "sid", "5", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "logout with nonce", OAUTH2_TOKEN_LOGOUT, "nonce", "\"n\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "logout with null nonce", OAUTH2_TOKEN_LOGOUT, "nonce", "null", NULL,
      NULL, OAUTH2_EMISMATCH },
    { "logout iat missing", OAUTH2_TOKEN_LOGOUT, "iat", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "logout jti missing", OAUTH2_TOKEN_LOGOUT, "jti", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "logout jti number", OAUTH2_TOKEN_LOGOUT, "jti", "1", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "logout aud other", OAUTH2_TOKEN_LOGOUT, "aud", "\"x\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "logout iss other", OAUTH2_TOKEN_LOGOUT, "iss", "\"x\"", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "logout events missing", OAUTH2_TOKEN_LOGOUT, "events", DEL, NULL, NULL,
      OAUTH2_EMISMATCH },
    { "logout events array", OAUTH2_TOKEN_LOGOUT, "events", "[]", NULL, NULL,
      OAUTH2_EMALFORMED },
    { "logout events without member", OAUTH2_TOKEN_LOGOUT, "events",
      "{\"http://schemas.openid.net/event/other\":{}}", NULL, NULL,
      OAUTH2_EMISMATCH },
    { "logout event value string", OAUTH2_TOKEN_LOGOUT, "events",
      "{\"http://schemas.openid.net/event/backchannel-logout\":\"x\"}", NULL,
      NULL, OAUTH2_EMALFORMED },
    { "logout event value null", OAUTH2_TOKEN_LOGOUT, "events",
      "{\"http://schemas.openid.net/event/backchannel-logout\":null}", NULL,
      NULL, OAUTH2_EMALFORMED },
    { "logout exp absent ok", OAUTH2_TOKEN_LOGOUT, "exp", DEL, NULL, NULL,
      APR_SUCCESS },
    { "logout exp expired", OAUTH2_TOKEN_LOGOUT, "exp", "1699999940", NULL,
      NULL, OAUTH2_EEXPIRED },
    { "logout exp valid", OAUTH2_TOKEN_LOGOUT, "exp", "1700000120", NULL, NULL,
      APR_SUCCESS },
    { "logout iat future", OAUTH2_TOKEN_LOGOUT, "iat", "1700000061", NULL, NULL,
      OAUTH2_ENOTYET },
};

/* Sets member m of obj to the JSON text v, or removes it (v NULL). */
static void set_member(json_object *obj, const char *m, const char *v)
{
    json_object *val = NULL;

    if (m == NULL) {
        return;
    }
    if (v == NULL) {
        json_object_object_del(obj, m);
        return;
    }
    if (strcmp(v, "null") != 0) {
        val = json_tokener_parse(v);
        assert_non_null(val);
    }
    json_object_object_add(obj, m, val);
}

static oauth2_claims_t *build(apr_pool_t *p, const vcase_t *vc)
{
    const char *base =
        vc->kind == OAUTH2_TOKEN_ID || vc->kind == OAUTH2_TOKEN_ID_REFRESHED
            ? base_id
        : vc->kind == OAUTH2_TOKEN_ACCESS ? base_access
                                          : base_logout;
    json_object *obj = json_tokener_parse(base);
    const char *text;

    assert_non_null(obj);
    set_member(obj, vc->m1, vc->v1);
    set_member(obj, vc->m2, vc->v2);
    text = apr_pstrdup(
        p, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
    json_object_put(obj);
    return parse_ok(p, text);
}

static oauth2_claims_expect_t expect(oauth2_token_kind_e kind)
{
    oauth2_claims_expect_t x;

    memset(&x, 0, sizeof(x));
    x.kind = kind;
    x.issuer = "https://op.example";
    x.audience = "client";
    x.nonce = kind == OAUTH2_TOKEN_ID ? "n-0S6_WzA2Mj" : NULL;
    x.now = apr_time_from_sec(NOW_SEC);
    x.skew = apr_time_from_sec(SKEW_SEC);
    return x;
}

static void test_claims_validate_table(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
        oauth2_claims_expect_t x = expect(vcases[i].kind);
        oauth2_claims_t *c = build(p, &vcases[i]);
        const char *err = NULL;
        apr_status_t rv = oauth2_claims_validate(p, c, &x, &err);

        if (rv != vcases[i].rv) {
            fail_msg("%s: got %s (%s), want %s", vcases[i].name,
                     oauth2_strerror(rv), err ? err : "",
                     oauth2_strerror(vcases[i].rv));
        }
        if (rv != APR_SUCCESS && err == NULL) {
            fail_msg("%s: no reason given", vcases[i].name);
        }
    }
}

static void test_claims_validate_skew_zero_boundary(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_expect_t x = expect(OAUTH2_TOKEN_ACCESS);
    oauth2_claims_t *at_now =
        parse_ok(p, "{\"iss\":\"https://op.example\",\"aud\":\"client\","
                    "\"exp\":1700000000}");
    oauth2_claims_t *after_now =
        parse_ok(p, "{\"iss\":\"https://op.example\",\"aud\":\"client\","
                    "\"exp\":1700000001,\"nbf\":1700000000}");

    x.skew = 0;
    /* RFC 7519 §4.1.4: the current time must be before exp. */
    assert_int_equal(oauth2_claims_validate(p, at_now, &x, NULL),
                     OAUTH2_EEXPIRED);
    /* §4.1.5: on or after nbf is fine. */
    assert_int_equal(oauth2_claims_validate(p, after_now, &x, NULL),
                     APR_SUCCESS);
    x.now += 1; /* one microsecond later */
    assert_int_equal(oauth2_claims_validate(p, after_now, &x, NULL),
                     APR_SUCCESS);
    x.now = apr_time_from_sec(1700000001);
    assert_int_equal(oauth2_claims_validate(p, after_now, &x, NULL),
                     OAUTH2_EEXPIRED);
}

static void test_claims_validate_bad_expectations(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_t *c = parse_ok(p, base_id);
    oauth2_claims_expect_t x = expect(OAUTH2_TOKEN_ID);
    const char *err = NULL;

    assert_int_equal(oauth2_claims_validate(p, c, &x, &err), APR_SUCCESS);
    x.nonce = NULL;
    assert_int_equal(oauth2_claims_validate(p, c, &x, &err), OAUTH2_EMISMATCH);
    /* An empty expected nonce would match an empty claim. */
    x.nonce = "";
    assert_int_equal(
        oauth2_claims_validate(
            p,
            parse_ok(p, "{\"iss\":\"https://op.example\",\"aud\":\"client\","
                        "\"exp\":1700000600,\"iat\":1699999990,"
                        "\"nonce\":\"\",\"sub\":\"alice\"}"),
            &x, &err),
        OAUTH2_EMISMATCH);
    x = expect(OAUTH2_TOKEN_ID);
    x.issuer = NULL;
    assert_int_equal(oauth2_claims_validate(p, c, &x, &err), OAUTH2_ECONFIG);
    x = expect(OAUTH2_TOKEN_ID);
    x.audience = NULL;
    assert_int_equal(oauth2_claims_validate(p, c, &x, &err), OAUTH2_ECONFIG);
    x.audience = "";
    assert_int_equal(oauth2_claims_validate(p, c, &x, &err), OAUTH2_ECONFIG);
    x = expect(OAUTH2_TOKEN_ID);
    x.issuer = "";
    assert_int_equal(oauth2_claims_validate(p, c, &x, &err), OAUTH2_ECONFIG);
    x = expect(OAUTH2_TOKEN_ID);
    x.skew = -1;
    assert_int_equal(oauth2_claims_validate(p, c, &x, &err), OAUTH2_ECONFIG);
    x.skew = apr_time_from_sec(OAUTH2_MAX_CLOCK_SKEW) + 1;
    assert_int_equal(oauth2_claims_validate(p, c, &x, &err), OAUTH2_ECONFIG);
    x = expect(OAUTH2_TOKEN_ID);
    assert_int_equal(oauth2_claims_validate(p, NULL, &x, &err),
                     OAUTH2_EMALFORMED);
    assert_int_equal(oauth2_claims_validate(p, c, NULL, &err),
                     OAUTH2_EMALFORMED);
}

static void test_claims_validate_id_token_is_not_logout_token(void **state)
{
    apr_pool_t *p = *state;
    oauth2_claims_expect_t x = expect(OAUTH2_TOKEN_LOGOUT);
    /* A valid ID token with an events claim still carries its nonce. */
    oauth2_claims_t *c = parse_ok(
        p, "{\"iss\":\"https://op.example\",\"aud\":\"client\","
           "\"exp\":1700000600,\"iat\":1699999990,\"nonce\":\"n\","
           "\"sub\":\"alice\",\"jti\":\"j\",\"events\":{\"http://schemas."
           "openid.net/event/backchannel-logout\":{}}}");

    assert_int_equal(oauth2_claims_validate(p, c, &x, NULL), OAUTH2_EMISMATCH);
}

/* oauth2_claims_check_typ: one kind of token never passes for another
 * (review finding 6: ID and logout tokens were accepted as bearer tokens). */
static const struct {
    const char *name;
    oauth2_token_kind_e kind;
    int allow_untyped;
    const char *client_id;
    const char *typ;
    const char *payload;
    apr_status_t rv;
} typ_cases[] = {
#define AT  "{\"iss\":\"i\",\"aud\":\"client\",\"sub\":\"a\"}"
#define IDT "{\"iss\":\"i\",\"aud\":\"client\",\"nonce\":\"n\"}"
    { "at+jwt access token", OAUTH2_TOKEN_ACCESS, 0, NULL, "at+jwt", AT, 0 },
    { "DPoP-bound (cnf.jkt) is not a bearer token", OAUTH2_TOKEN_ACCESS, 1,
      NULL, "at+jwt", "{\"aud\":\"client\",\"cnf\":{\"jkt\":\"x\"}}",
      OAUTH2_EMISMATCH },
    { "mTLS-bound (cnf.x5t#S256) is not a bearer token", OAUTH2_TOKEN_ACCESS, 1,
      NULL, NULL, "{\"aud\":\"client\",\"cnf\":{\"x5t#S256\":\"x\"}}",
      OAUTH2_EMISMATCH },
    { "AT+JWT, any case", OAUTH2_TOKEN_ACCESS, 0, NULL, "AT+JWT", AT, 0 },
    { "application/at+jwt", OAUTH2_TOKEN_ACCESS, 0, NULL, "application/at+jwt",
      AT, 0 },
    { "untyped refused by default", OAUTH2_TOKEN_ACCESS, 0, NULL, NULL, AT,
      OAUTH2_EMISMATCH },
    { "JWT refused by default", OAUTH2_TOKEN_ACCESS, 0, NULL, "JWT", AT,
      OAUTH2_EMISMATCH },
    { "logout+jwt is not an access token", OAUTH2_TOKEN_ACCESS, 1, NULL,
      "logout+jwt", AT, OAUTH2_EMISMATCH },
    { "secevent+jwt is not an access token", OAUTH2_TOKEN_ACCESS, 1, NULL,
      "secevent+jwt", AT, OAUTH2_EMISMATCH },
    { "at+jwtx is not at+jwt", OAUTH2_TOKEN_ACCESS, 1, NULL, "at+jwtx", AT,
      OAUTH2_EMISMATCH },
    { "untyped allowed", OAUTH2_TOKEN_ACCESS, 1, NULL, NULL, AT, 0 },
    { "JWT allowed", OAUTH2_TOKEN_ACCESS, 1, NULL, "JWT", AT, 0 },
    { "untyped with nonce: an ID token", OAUTH2_TOKEN_ACCESS, 1, NULL, NULL,
      IDT, OAUTH2_EMISMATCH },
    { "untyped with at_hash", OAUTH2_TOKEN_ACCESS, 1, NULL, "JWT",
      "{\"aud\":\"client\",\"at_hash\":\"x\"}", OAUTH2_EMISMATCH },
    { "untyped with c_hash", OAUTH2_TOKEN_ACCESS, 1, NULL, "JWT",
      "{\"aud\":\"client\",\"c_hash\":\"x\"}", OAUTH2_EMISMATCH },
    { "untyped with events: a logout token", OAUTH2_TOKEN_ACCESS, 1, NULL, NULL,
      "{\"aud\":\"client\",\"events\":{}}", OAUTH2_EMISMATCH },
    { "untyped with typ claim ID (Keycloak ID token)", OAUTH2_TOKEN_ACCESS, 1,
      NULL, "JWT", "{\"aud\":\"client\",\"typ\":\"ID\"}", OAUTH2_EMISMATCH },
    { "untyped with typ claim Bearer (Keycloak access token)",
      OAUTH2_TOKEN_ACCESS, 1, NULL, "JWT",
      "{\"aud\":\"client\",\"typ\":\"Bearer\"}", 0 },
    { "untyped addressed to our client (not the audience)", OAUTH2_TOKEN_ACCESS,
      1, "app", NULL, "{\"aud\":[\"client\",\"app\"]}", OAUTH2_EMISMATCH },
    { "untyped, our client is the audience", OAUTH2_TOKEN_ACCESS, 1, "client",
      NULL, AT, 0 },
    { "ID token untyped", OAUTH2_TOKEN_ID, 0, NULL, NULL, IDT, 0 },
    { "ID token JWT", OAUTH2_TOKEN_ID, 0, NULL, "JWT", IDT, 0 },
    { "at+jwt is not an ID token", OAUTH2_TOKEN_ID, 0, NULL, "at+jwt", IDT,
      OAUTH2_EMISMATCH },
    { "logout+jwt is not a refreshed ID token", OAUTH2_TOKEN_ID_REFRESHED, 0,
      NULL, "logout+jwt", IDT, OAUTH2_EMISMATCH },
    { "logout+jwt logout token", OAUTH2_TOKEN_LOGOUT, 0, NULL, "logout+jwt", AT,
      0 },
    { "untyped logout token", OAUTH2_TOKEN_LOGOUT, 0, NULL, NULL, AT, 0 },
    { "at+jwt is not a logout token", OAUTH2_TOKEN_LOGOUT, 0, NULL, "at+jwt",
      AT, OAUTH2_EMISMATCH },
#undef AT
#undef IDT
};

static void test_claims_check_typ_table(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(typ_cases) / sizeof(typ_cases[0]); i++) {
        oauth2_claims_expect_t x = expect(typ_cases[i].kind);
        const char *err = NULL;
        apr_status_t rv;

        x.allow_untyped = typ_cases[i].allow_untyped;
        x.client_id = typ_cases[i].client_id;
        rv = oauth2_claims_check_typ(p, parse_ok(p, typ_cases[i].payload),
                                     typ_cases[i].typ, &x, &err);
        if (rv != typ_cases[i].rv) {
            fail_msg("%s: got %s (%s), want %s", typ_cases[i].name,
                     oauth2_strerror(rv), err ? err : "",
                     oauth2_strerror(typ_cases[i].rv));
        }
        if (rv != APR_SUCCESS && err == NULL) {
            fail_msg("%s: no reason given", typ_cases[i].name);
        }
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_claims_parse_object),
        T(test_claims_parse_refuses_malformed),
        T(test_claims_parse_depth_limit),
        T(test_claims_parse_size_limit),
        T(test_claims_parse_null_refused),
        T(test_claims_get_dotted_path),
        T(test_claims_get_invalid_paths),
        T(test_claims_get_segment_and_length_limits),
        T(test_claims_get_string_types),
        T(test_claims_get_values_kinds),
        T(test_claims_merge_id_token_wins),
        T(test_claims_walk_leaves_in_order),
        T(test_claims_walk_stops_and_limits_depth),
        T(test_claims_validate_table),
        T(test_claims_validate_skew_zero_boundary),
        T(test_claims_validate_bad_expectations),
        T(test_claims_validate_id_token_is_not_logout_token),
        T(test_claims_check_typ_table),
    };
#undef T

    apr_initialize();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
