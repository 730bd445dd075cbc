/*
 * test_bearer.c: unit tests for src/bearer.c, JWT access tokens presented
 * as `Authorization: Bearer` (RFC 6750, RFC 9068): the header's syntax
 * (§2.1 b64token, nothing after it), and the verification against a
 * loopback provider's JWK Set (an RS256 key made here): a good access
 * token; another audience, issuer or key; expired; an ID token or a
 * logout token of the provider presented as an access token; untyped
 * tokens where allowed.
 */
#include "bearer.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "crypto.h"
#include "errors.h"
#include "fake_server.h"
#include "site_fixture.h"

#define NOW_S 1735689600L
#define AT    "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}"
#define JWT   "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}"
#define NOTYP "{\"alg\":\"RS256\",\"kid\":\"k1\"}"

static fs_t fs;

/* An OpenID provider at a loopback server: discovery and the JWK Set. */
static void provider(sf_t *f)
{
    static const sf_opts_t none;
    sf_opts_t o = none;
    apr_pool_t *p;

    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    memset(&fs, 0, sizeof(fs));
    sf_oidc_routes(&fs, p, "");
    fs_start(&fs);
    o.base = fs.base;
    o.oidc = 1;
    sf_open(f, &o);
    apr_pool_destroy(p);
}

static void done(sf_t *f)
{
    sf_close(f);
    fs_stop(&fs);
}

/* Claims of a token by the provider for aud, valid at NOW_S. */
static const char *claims(sf_t *f, const char *aud, const char *extra)
{
    return apr_psprintf(f->pool,
                        "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"svc\","
                        "\"iat\":%ld,\"exp\":%ld%s}",
                        fs.base, aud, NOW_S, NOW_S + 600, extra);
}

static apr_status_t verify(sf_t *f, const char *token, int untyped,
                           const char **sub)
{
    oauth2_bearer_expect_t e = { "api", "app", untyped, apr_time_from_sec(60) };
    oauth2_claims_t *c = NULL;
    const char *err = NULL;
    apr_status_t rv = oauth2_bearer_verify(f->pool, f->site->prov, token, &e,
                                           SF_NOW, &c, &err);

    if (sub != NULL) {
        *sub = rv == APR_SUCCESS ? oauth2_claims_get_string(c, "sub") : err;
    }
    return rv;
}

/* Every byte value at every position of tokens of every length to 80
 * (whole blocks of 16 and tails), and padding after them: only RFC 6750's
 * b64token characters are a token. */
static void test_bearer_token_every_byte(void **state)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                   "opqrstuvwxyz0123456789-._~+/";
    char buf[7 + 80 + 3];
    apr_size_t len, pos;
    int c;

    (void)state;
    memcpy(buf, "Bearer ", 7);
    for (len = 1; len <= 80; len++) {
        for (pos = 0; pos < len; pos++) {
            buf[7 + pos] = alphabet[(pos * 7 + len) % (sizeof(alphabet) - 1)];
        }
        buf[7 + len] = '\0';
        assert_ptr_equal(oauth2_bearer_token(buf), buf + 7);
        memcpy(buf + 7 + len, "==", 3);
        assert_ptr_equal(oauth2_bearer_token(buf), buf + 7);
        buf[7 + len] = '\0';
        for (pos = 0; pos < len; pos += (len < 20 ? 1 : 5)) {
            char keep = buf[7 + pos];

            for (c = 1; c < 256; c++) {
                /* '=' only as padding: last, after a character. */
                int want = c == '=' ? pos == len - 1 && pos > 0
                                    : strchr(alphabet, c) != NULL;

                if (c == ' ' && pos == 0) {
                    continue; /* more spaces before the token: allowed */
                }
                buf[7 + pos] = (char)c;
                if (want) {
                    assert_ptr_equal(oauth2_bearer_token(buf), buf + 7);
                }
                else {
                    assert_null(oauth2_bearer_token(buf));
                }
            }
            buf[7 + pos] = keep;
        }
    }
}

static void test_bearer_token_syntax(void **state)
{
    char *long_token;

    (void)state;
    assert_string_equal(oauth2_bearer_token("Bearer abc.def.ghi"),
                        "abc.def.ghi");
    assert_string_equal(oauth2_bearer_token("bearer    a-b_c~d+e/f=="),
                        "a-b_c~d+e/f==");
    assert_null(oauth2_bearer_token("Bearer"));
    assert_null(oauth2_bearer_token("Bearer "));
    assert_null(oauth2_bearer_token("Bearer =="));
    assert_null(oauth2_bearer_token("Bearerabc"));
    assert_null(oauth2_bearer_token("Bearer a b"));
    assert_null(oauth2_bearer_token("Bearer abc=d"));
    assert_null(oauth2_bearer_token("Bearer abc "));
    assert_null(oauth2_bearer_token("Bearer a\r\nX: y"));
    assert_null(oauth2_bearer_token("Basic YTpi"));
    assert_null(oauth2_bearer_token(NULL));
    long_token = calloc(1, OAUTH2_MAX_JWT + 9);
    memcpy(long_token, "Bearer ", 7);
    memset(long_token + 7, 'a', OAUTH2_MAX_JWT + 1);
    assert_null(oauth2_bearer_token(long_token));
    long_token[7 + OAUTH2_MAX_JWT] = '\0';
    assert_non_null(oauth2_bearer_token(long_token));
    free(long_token);
}

/* What follows "Bearer " and its spaces, unchecked: the same bytes
 * oauth2_bearer_token checks, and no token at all without the space. */
static void test_bearer_raw(void **state)
{
    static const char *const headers[] = {
        "Bearer abc.def.ghi", "bearer    a-b_c~d+e/f==",
        "Bearer abc ",        "BEARER a b",
        "Bearer \tx",         "Bearer ",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        const char *raw = oauth2_bearer_raw(headers[i]);
        const char *token = oauth2_bearer_token(headers[i]);

        assert_non_null(raw);
        assert_true(raw > headers[i] + 6 && raw[-1] == ' ' && *raw != ' ');
        assert_true(token == NULL || token == raw);
    }
    assert_string_equal(oauth2_bearer_raw("Bearer  abc "), "abc ");
    assert_string_equal(oauth2_bearer_raw("Bearer "), "");
    assert_null(oauth2_bearer_raw("Bearerabc"));
    assert_null(oauth2_bearer_raw("Bearer\tabc"));
    assert_null(oauth2_bearer_raw("Bearer"));
    assert_null(oauth2_bearer_raw("Basic YTpi"));
    assert_null(oauth2_bearer_raw(NULL));
}

static void test_bearer_verify_good(void **state)
{
    const char *sub = NULL;
    sf_t f;

    (void)state;
    provider(&f);
    assert_int_equal(
        verify(&f, sf_jwt(f.pool, AT, claims(&f, "api", "")), 0, &sub),
        APR_SUCCESS);
    assert_string_equal(sub, "svc");
    /* An aud array that holds ours. */
    assert_int_equal(
        verify(&f,
               sf_jwt(f.pool, AT,
                      apr_psprintf(f.pool,
                                   "{\"iss\":\"%s\",\"aud\":[\"x\",\"api\"],"
                                   "\"sub\":\"svc\",\"iat\":%ld,\"exp\":%ld}",
                                   fs.base, NOW_S, NOW_S + 60)),
               0, NULL),
        APR_SUCCESS);
    done(&f);
}

static void test_bearer_verify_refusals(void **state)
{
    const char *why = NULL;
    sf_t f;

    (void)state;
    provider(&f);
    /* Another audience. */
    assert_int_not_equal(
        verify(&f, sf_jwt(f.pool, AT, claims(&f, "other", "")), 0, &why),
        APR_SUCCESS);
    /* Expired beyond the skew. */
    assert_int_equal(
        verify(&f,
               sf_jwt(f.pool, AT,
                      apr_psprintf(f.pool,
                                   "{\"iss\":\"%s\",\"aud\":\"api\",\"sub\":"
                                   "\"s\",\"iat\":%ld,\"exp\":%ld}",
                                   fs.base, NOW_S - 600, NOW_S - 61)),
               0, NULL),
        OAUTH2_EEXPIRED);
    /* Another issuer. */
    assert_int_not_equal(
        verify(&f,
               sf_jwt(f.pool, AT,
                      apr_psprintf(f.pool,
                                   "{\"iss\":\"https://evil.example\",\"aud\":"
                                   "\"api\",\"sub\":\"s\",\"iat\":%ld,\"exp\":"
                                   "%ld}",
                                   NOW_S, NOW_S + 60)),
               0, NULL),
        APR_SUCCESS);
    /* A tampered signature. */
    {
        char *t =
            apr_pstrdup(f.pool, sf_jwt(f.pool, AT, claims(&f, "api", "")));

        t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
        assert_int_equal(verify(&f, t, 0, NULL), OAUTH2_EBADSIG);
    }
    /* Not a JWT; no audience expected. */
    assert_int_equal(verify(&f, "abc", 0, NULL), OAUTH2_EMALFORMED);
    {
        oauth2_bearer_expect_t e = { NULL, "app", 0, 0 };
        oauth2_claims_t *c;
        const char *err = NULL;

        assert_int_equal(oauth2_bearer_verify(f.pool, f.site->prov, "a.b.c", &e,
                                              SF_NOW, &c, &err),
                         OAUTH2_EMALFORMED);
    }
    done(&f);
}

/* RFC 9068 §4: only an at+jwt is an access token; an untyped one only
 * where allowed, and never one shaped like an ID token (a nonce, our
 * client as the audience) or a logout token. */
static void test_bearer_verify_types(void **state)
{
    sf_t f;

    (void)state;
    provider(&f);
    assert_int_not_equal(
        verify(&f, sf_jwt(f.pool, NOTYP, claims(&f, "api", "")), 0, NULL),
        APR_SUCCESS);
    assert_int_equal(
        verify(&f, sf_jwt(f.pool, NOTYP, claims(&f, "api", "")), 1, NULL),
        APR_SUCCESS);
    assert_int_not_equal(
        verify(&f, sf_jwt(f.pool, JWT, claims(&f, "api", ",\"nonce\":\"n\"")),
               1, NULL),
        APR_SUCCESS);
    assert_int_not_equal(
        verify(&f,
               sf_jwt(f.pool,
                      "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":"
                      "\"logout+jwt\"}",
                      claims(&f, "api", "")),
               1, NULL),
        APR_SUCCESS);
    assert_int_not_equal(
        verify(&f, sf_jwt(f.pool, NOTYP, claims(&f, "app", "")), 1, NULL),
        APR_SUCCESS);
    done(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_bearer_token_syntax),
        T(test_bearer_token_every_byte),
        T(test_bearer_raw),
        T(test_bearer_verify_good),
        T(test_bearer_verify_refusals),
        T(test_bearer_verify_types),
    };
#undef T
    return cmocka_run_group_tests(tests, sf_setup, sf_teardown);
}
