/*
 * test_state.c: unit tests for src/state.c: the login state (state, nonce,
 * PKCE verifier and S256 challenge per RFC 7636, return URL) sealed into
 * its own cookie. Shapes, the challenge (via an independent S256 helper
 * pinned to RFC 7636 Appendix B), round trips at a fixed now, the expiry
 * and future boundaries, the binding to the state parameter and cookie
 * name, and malformed contents sealed under the right name.
 */
#include "state.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "bounds.h"
#include "crypto.h"
#include "errors.h"

#define SECRET "state-test-secret-state-test-secret-0001"
/* A fixed clock: 2025-01-01T00:00:00Z in microseconds. */
#define NOW      ((apr_time_t)1735689600 * APR_USEC_PER_SEC)
#define LIFETIME apr_time_from_sec(OAUTH2_STATE_LIFETIME)

static apr_pool_t *pool;
static oauth2_seal_t *seal;

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int setup(void **state)
{
    apr_array_header_t *sec;
    const char *err = NULL;

    (void)state;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    assert_int_equal(oauth2_crypto_init(), APR_SUCCESS);
    sec = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(sec, const char *) = SECRET;
    assert_int_equal(oauth2_seal_create(pool, sec, "state", &seal, &err),
                     APR_SUCCESS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* RFC 7636 §4.2 S256, computed here with EVP_Digest and a base64url
 * encoder of our own (not the module's). */
static const char *s256(const char *verifier)
{
    unsigned char d[32];
    unsigned int dlen = 0;
    char *out = apr_palloc(pool, 44);
    apr_size_t i, o = 0;
    unsigned long acc = 0;
    int bits = 0;

    assert_int_equal(
        EVP_Digest(verifier, strlen(verifier), d, &dlen, EVP_sha256(), NULL),
        1);
    assert_int_equal(dlen, 32);
    for (i = 0; i < 32; i++) {
        acc = (acc << 8) | d[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64url_chars[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out[o++] = b64url_chars[(acc << (6 - bits)) & 63];
    }
    out[o] = '\0';
    return out;
}

/* The helper itself against RFC 7636 Appendix B. */
static void test_state_s256_helper_rfc7636_appendix_b(void **state)
{
    (void)state;
    assert_string_equal(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void assert_b64url(const char *s, apr_size_t len)
{
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    assert_int_equal(strspn(s, b64url_chars), len);
}

/* state and nonce 128 bits (22 chars), verifier 256 bits (43 chars, RFC
 * 7636 §4.1: 43..128 unreserved characters), challenge = S256(verifier),
 * created = now, return_to kept. */
static void test_state_create_shapes(void **state)
{
    oauth2_state_t *st = NULL;

    (void)state;
    assert_int_equal(oauth2_state_create(pool, "/app?x=1", NOW, &st),
                     APR_SUCCESS);
    assert_non_null(st);
    assert_b64url(st->state, 22);
    assert_b64url(st->nonce, 22);
    assert_b64url(st->verifier, 43);
    assert_b64url(st->challenge, 43);
    assert_string_equal(st->challenge, s256(st->verifier));
    assert_string_equal(st->return_to, "/app?x=1");
    assert_int_equal(st->created, NOW);
    assert_string_not_equal(st->state, st->nonce);
}

static void test_state_create_unique(void **state)
{
    static const char *seen[300];
    oauth2_state_t *st;
    int i, j;

    (void)state;
    for (i = 0; i < 100; i++) {
        assert_int_equal(oauth2_state_create(pool, "/", NOW, &st), APR_SUCCESS);
        assert_string_equal(st->challenge, s256(st->verifier));
        seen[3 * i] = st->state;
        seen[3 * i + 1] = st->nonce;
        seen[3 * i + 2] = st->verifier;
        for (j = 0; j < 3 * i; j++) {
            assert_string_not_equal(seen[j], st->state);
            assert_string_not_equal(seen[j], st->nonce);
            assert_string_not_equal(seen[j], st->verifier);
        }
    }
}

static void test_state_create_refuses_null(void **state)
{
    oauth2_state_t *st = NULL;

    (void)state;
    assert_int_equal(oauth2_state_create(pool, NULL, NOW, &st), APR_EINVAL);
    assert_null(st);
}

static void test_state_cookie_name(void **state)
{
    (void)state;
    assert_string_equal(oauth2_state_cookie_name(pool, "abc"),
                        "oauth2_state_abc");
    assert_string_equal(oauth2_state_cookie_name(pool, ""), "oauth2_state_");
}

/* A fresh sealed state. */
static const oauth2_state_t *fresh(const char *return_to, char **value)
{
    oauth2_state_t *st;
    const char *err = NULL;

    assert_int_equal(oauth2_state_create(pool, return_to, NOW, &st),
                     APR_SUCCESS);
    assert_int_equal(oauth2_state_seal(pool, seal, st, value, &err),
                     APR_SUCCESS);
    assert_b64url(*value, strlen(*value));
    return st;
}

static apr_status_t open_at(const char *value, const char *param,
                            apr_time_t now, oauth2_state_t **out)
{
    const char *err = NULL;
    oauth2_state_t *st = NULL;
    apr_status_t rv;

    rv = oauth2_state_open(pool, seal, value, strlen(value), param, now,
                           LIFETIME, &st, &err);
    if (rv == APR_SUCCESS) {
        assert_non_null(st);
    }
    else {
        assert_non_null(err);
        assert_null(st);
    }
    if (out != NULL) {
        *out = st;
    }
    return rv;
}

static void test_state_seal_open_round_trip(void **state)
{
    static const char *const returns[] = {
        "/", "/app/page?q=a%20b&r=1#frag", "https://app.example.com/x",
        "", /* an empty return_to survives as empty */
    };
    const oauth2_state_t *st;
    oauth2_state_t *back;
    char *v;
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(returns) / sizeof(returns[0]); i++) {
        st = fresh(returns[i], &v);
        assert_true(strlen(v) <= OAUTH2_MAX_STATE_COOKIE);
        assert_int_equal(open_at(v, st->state, NOW + 1000, &back), APR_SUCCESS);
        assert_string_equal(back->state, st->state);
        assert_string_equal(back->nonce, st->nonce);
        assert_string_equal(back->verifier, st->verifier);
        assert_string_equal(back->challenge, st->challenge);
        assert_string_equal(back->return_to, st->return_to);
        assert_int_equal(back->created, NOW);
    }
}

/* Exactly lifetime old opens; one microsecond more is expired. */
static void test_state_expiry_boundary(void **state)
{
    const oauth2_state_t *st;
    char *v;

    (void)state;
    st = fresh("/", &v);
    assert_int_equal(open_at(v, st->state, NOW, NULL), APR_SUCCESS);
    assert_int_equal(open_at(v, st->state, NOW + LIFETIME, NULL), APR_SUCCESS);
    assert_int_equal(open_at(v, st->state, NOW + LIFETIME + 1, NULL),
                     OAUTH2_EEXPIRED);
    assert_int_equal(
        open_at(v, st->state, NOW + apr_time_from_sec(86400), NULL),
        OAUTH2_EEXPIRED);
}

/* A state from up to 60 s in the future (clock steps between processes)
 * opens; one microsecond more is refused. */
static void test_state_created_in_future(void **state)
{
    const oauth2_state_t *st;
    char *v;

    (void)state;
    st = fresh("/", &v);
    assert_int_equal(open_at(v, st->state, NOW - apr_time_from_sec(60), NULL),
                     APR_SUCCESS);
    assert_int_equal(
        open_at(v, st->state, NOW - apr_time_from_sec(60) - 1, NULL),
        OAUTH2_EMALFORMED);
    assert_int_equal(open_at(v, st->state, 0, NULL), OAUTH2_EMALFORMED);
}

/* The cookie of login A presented with the state parameter of login B
 * (moved to B's cookie name, or B's parameter with A's cookie) does not
 * open: the cookie name is the associated data. */
static void test_state_cookie_moved(void **state)
{
    const oauth2_state_t *a, *b;
    char *va, *vb;

    (void)state;
    a = fresh("/a", &va);
    b = fresh("/b", &vb);
    assert_int_equal(open_at(va, b->state, NOW, NULL), OAUTH2_EBADSIG);
    assert_int_equal(open_at(vb, a->state, NOW, NULL), OAUTH2_EBADSIG);
    assert_int_equal(open_at(va, "", NOW, NULL), OAUTH2_EBADSIG);
    assert_int_equal(open_at(va, a->state, NOW, NULL), APR_SUCCESS);
    assert_int_equal(open_at(vb, b->state, NOW, NULL), APR_SUCCESS);
}

/* Tampering with the cookie value: any changed character, cut, or
 * appended text is refused (and nothing opens). */
static void test_state_tampered_values(void **state)
{
    const oauth2_state_t *st;
    apr_size_t i, n;
    char *v, *t;
    apr_status_t rv;

    (void)state;
    st = fresh("/", &v);
    n = strlen(v);
    t = apr_palloc(pool, n + 2);
    for (i = 0; i < n; i++) {
        memcpy(t, v, n + 1);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        rv = open_at(t, st->state, NOW, NULL);
        assert_true(rv == OAUTH2_EBADSIG || rv == OAUTH2_EMALFORMED);
    }
    for (i = 0; i < n; i++) {
        memcpy(t, v, n + 1);
        t[i] = '\0';
        rv = open_at(t, st->state, NOW, NULL);
        assert_true(rv == OAUTH2_EBADSIG || rv == OAUTH2_EMALFORMED);
    }
    memcpy(t, v, n);
    t[n] = 'A';
    t[n + 1] = '\0';
    rv = open_at(t, st->state, NOW, NULL);
    assert_true(rv == OAUTH2_EBADSIG || rv == OAUTH2_EMALFORMED);
}

/* A value over OAUTH2_MAX_STATE_COOKIE is refused before decoding. */
static void test_state_too_long(void **state)
{
    char *big = apr_palloc(pool, OAUTH2_MAX_STATE_COOKIE + 2);

    (void)state;
    memset(big, 'A', OAUTH2_MAX_STATE_COOKIE + 1);
    big[OAUTH2_MAX_STATE_COOKIE + 1] = '\0';
    assert_int_equal(open_at(big, "abc", NOW, NULL), OAUTH2_ETOOBIG);
}

static void test_state_null_inputs(void **state)
{
    const oauth2_state_t *st;
    oauth2_state_t *out = NULL;
    const char *err;
    char *v;

    (void)state;
    st = fresh("/", &v);
    err = NULL;
    assert_int_equal(oauth2_state_open(pool, seal, NULL, 0, st->state, NOW,
                                       LIFETIME, &out, &err),
                     OAUTH2_EMALFORMED);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(oauth2_state_open(pool, seal, v, strlen(v), NULL, NOW,
                                       LIFETIME, &out, &err),
                     OAUTH2_EMALFORMED);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(oauth2_state_open(pool, NULL, v, strlen(v), st->state, NOW,
                                       LIFETIME, &out, &err),
                     OAUTH2_EMALFORMED);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(oauth2_state_open(pool, seal, "", 0, st->state, NOW,
                                       LIFETIME, &out, &err),
                     OAUTH2_EMALFORMED);
    assert_non_null(err);
    assert_null(out);
}

/* Seals a hand-made plaintext under the cookie name of param, the way the
 * module would, to reach the parser behind the seal. */
static char *seal_plain(const char *param, const char *pt, apr_size_t len)
{
    const char *err = NULL;
    char *v = NULL;

    assert_int_equal(oauth2_seal_b64(pool, seal,
                                     oauth2_state_cookie_name(pool, param), pt,
                                     len, &v, &err),
                     APR_SUCCESS);
    return v;
}

/* The well-formed plaintext the tests vary: state "S", created NOW. */
#define NOW_TEXT "1735689600000000"
#define GOOD                              \
    "2\0S\0n\0v\0c\0" NOW_TEXT "\0/ret\0" \
    "0"

static void test_state_inner_well_formed(void **state)
{
    oauth2_state_t *st;
    char *v = seal_plain("S", GOOD, sizeof(GOOD));

    (void)state;
    assert_int_equal(open_at(v, "S", NOW, &st), APR_SUCCESS);
    assert_string_equal(st->state, "S");
    assert_string_equal(st->nonce, "n");
    assert_string_equal(st->verifier, "v");
    assert_string_equal(st->challenge, "c");
    assert_string_equal(st->return_to, "/ret");
    assert_int_equal(st->created, NOW);
    assert_int_equal(st->retry, 0);
}

/* The retry mark of a restarted login (invalid_grant) survives the seal. */
static void test_state_retry_round_trip(void **state)
{
    static const char retried[] = "2\0S\0n\0v\0c\0" NOW_TEXT "\0/ret\0"
                                  "1";
    oauth2_state_t *st;

    (void)state;
    assert_int_equal(
        open_at(seal_plain("S", retried, sizeof(retried)), "S", NOW, &st),
        APR_SUCCESS);
    assert_int_equal(st->retry, 1);
}

/* Inside the seal, a state that is not the parameter's: EMISMATCH
 * (constant-time comparison, prefix and extension included). */
static void test_state_inner_mismatch(void **state)
{
    static const struct {
        const char *param;
        const char *pt;
        apr_size_t len;
    } cases[] = {
#define C(param, text) { param, text, sizeof(text) }
        C("S", "2\0T\0n\0v\0c\0" NOW_TEXT "\0/\0"
               "0"),
        C("S", "2\0SS\0n\0v\0c\0" NOW_TEXT "\0/\0"
               "0"),
        C("SS", "2\0S\0n\0v\0c\0" NOW_TEXT "\0/\0"
                "0"),
        C("S", "2\0\0n\0v\0c\0" NOW_TEXT "\0/\0"
               "0"),
        C("S", "2\0s\0n\0v\0c\0" NOW_TEXT "\0/\0"
               "0"),
#undef C
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *v = seal_plain(cases[i].param, cases[i].pt, cases[i].len);

        assert_int_equal(open_at(v, cases[i].param, NOW, NULL),
                         OAUTH2_EMISMATCH);
    }
}

/* Malformed contents behind a valid seal: wrong field count, missing
 * NULs, wrong version, bad times. All OAUTH2_EMALFORMED, none crash. */
static void test_state_inner_malformed(void **state)
{
    static const struct {
        const char *pt;
        apr_size_t len;
    } cases[] = {
#define C(text) { text, sizeof(text) }
#define N(text)                \
    {                          \
        text, sizeof(text) - 1 \
    } /* no final NUL */
        { "", 0 },
        C(""),
        N("2"),
        C("2"),
        C("2\0S\0n\0v\0c\0" NOW_TEXT "\0/"), /* 7 fields */
        C("2\0S\0n\0v\0c\0" NOW_TEXT "\0/\0"
          "0\0extra"), /* 9 fields */
        C("2\0S\0n\0v\0c\0" NOW_TEXT "\0/\0"
          "0\0"), /* trailing NUL */
        N("2\0S\0n\0v\0c\0" NOW_TEXT "\0/\0"
          "0"),                        /* last NUL gone */
        N("2\0S\0n\0v\0c\0" NOW_TEXT), /* cut short */
        C("1\0S\0n\0v\0c\0" NOW_TEXT "\0/\0"
          "0"),                              /* version 1 */
        C("1\0S\0n\0v\0c\0" NOW_TEXT "\0/"), /* old format */
        C("\0S\0n\0v\0c\0" NOW_TEXT "\0/\0"
          "0"), /* no version */
        C("22\0S\0n\0v\0c\0" NOW_TEXT "\0/\0"
          "0"), /* version 22 */
        C("2\0S\0n\0v\0c\0" NOW_TEXT "\0/\0"
          "2"),                                /* retry 2 */
        C("2\0S\0n\0v\0c\0" NOW_TEXT "\0/\0"), /* no retry */
        C("2\0S\0n\0v\0c\0" NOW_TEXT "\0/\0"
          "01"), /* retry 01 */
        C("2\0S\0n\0v\0c\0\0/\0"
          "0"), /* empty time */
        C("2\0S\0n\0v\0c\0abc\0/\0"
          "0"), /* not a number */
        C("2\0S\0n\0v\0c\0" NOW_TEXT "x\0/\0"
          "0"), /* trailing junk */
        C("2\0S\0n\0v\0c\0"
          "0x10\0/\0"
          "0"), /* hex */
        C("2\0S\0n\0v\0c\0"
          "99999999999999999999\0/\0"
          "0"), /* overflow */
        C("2\0S\0n\0v\0c\0"
          "9223372036854775807\0/\0"
          "0"), /* far future */
        C("2\0S\0n\0v\0c\0"
          "-9223372036854775808\0/\0"
          "0"), /* INT64_MIN */
        C("2\0S\0n\0v\0c\0"
          "-1\0/\0"
          "0"), /* negative */
#undef C
#undef N
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *v = seal_plain("S", cases[i].pt, cases[i].len);
        apr_status_t rv = open_at(v, "S", NOW, NULL);

        if (rv != OAUTH2_EMALFORMED) {
            fail_msg("case %zu: %d", i, rv);
        }
    }
}

/* A state sealed for another purpose (a session cookie) never opens as a
 * state, even under the right name. */
static void test_state_other_purpose(void **state)
{
    apr_array_header_t *sec = apr_array_make(pool, 1, sizeof(const char *));
    oauth2_seal_t *session;
    const char *err = NULL;
    char *v = NULL;

    (void)state;
    APR_ARRAY_PUSH(sec, const char *) = SECRET;
    assert_int_equal(oauth2_seal_create(pool, sec, "session", &session, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_seal_b64(pool, session, "oauth2_state_S", GOOD,
                                     sizeof(GOOD), &v, &err),
                     APR_SUCCESS);
    assert_int_equal(open_at(v, "S", NOW, NULL), OAUTH2_EBADSIG);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_state_s256_helper_rfc7636_appendix_b),
        T(test_state_create_shapes),
        T(test_state_create_unique),
        T(test_state_create_refuses_null),
        T(test_state_cookie_name),
        T(test_state_seal_open_round_trip),
        T(test_state_expiry_boundary),
        T(test_state_created_in_future),
        T(test_state_cookie_moved),
        T(test_state_tampered_values),
        T(test_state_too_long),
        T(test_state_null_inputs),
        T(test_state_inner_well_formed),
        T(test_state_inner_mismatch),
        T(test_state_retry_round_trip),
        T(test_state_inner_malformed),
        T(test_state_other_purpose),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
