/*
 * test_seal.c: unit tests for src/seal.c: AES-256-GCM sealing with
 * HKDF-SHA256 keys per secret and purpose. Round trips, the wire format
 * (checked against an independent AES-256-GCM with the key from an
 * `openssl kdf` vector), key rotation, associated data, bit flips in every
 * region, truncation, secrets and purposes, and the base64url limits.
 */
#include "seal.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "base64url.h"
#include "crypto.h"
#include "errors.h"

#define OLD  "old-secret-old-secret-old-secret-0001"
#define NEW  "new-secret-new-secret-new-secret-0002"
#define KAT  "0123456789abcdef0123456789abcdef"
#define NAME "oauth2_state_abc"

static apr_pool_t *pool;

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    assert_int_equal(oauth2_crypto_init(), APR_SUCCESS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* An array of the secrets given (NULL-terminated list). */
static apr_array_header_t *secrets(const char *first, ...)
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

static oauth2_seal_t *make(const apr_array_header_t *sec, const char *purpose)
{
    oauth2_seal_t *s = NULL;
    const char *err = NULL;

    assert_int_equal(oauth2_seal_create(pool, sec, purpose, &s, &err),
                     APR_SUCCESS);
    assert_non_null(s);
    return s;
}

static void seal_raw(const oauth2_seal_t *s, const char *aad, const void *in,
                     apr_size_t len, unsigned char **out, apr_size_t *outlen)
{
    const char *err = NULL;

    assert_int_equal(oauth2_seal_raw(pool, s, aad, in, len, out, outlen, &err),
                     APR_SUCCESS);
    assert_int_equal(*outlen, len + OAUTH2_SEAL_OVERHEAD);
}

static apr_status_t open_raw(const oauth2_seal_t *s, const char *aad,
                             const unsigned char *in, apr_size_t len)
{
    unsigned char *out = NULL;
    apr_size_t outlen = 0;
    const char *err = NULL;
    apr_status_t rv;

    rv = oauth2_seal_open_raw(pool, s, aad, in, len, &out, &outlen, &err);
    if (rv != APR_SUCCESS) {
        assert_non_null(err);
    }
    return rv;
}

/* Any plaintext, binary included, comes back with its length and one NUL
 * after it; the sealed value is version 0x01 and OVERHEAD bytes longer. */
static void test_seal_round_trip_raw(void **state)
{
    static const apr_size_t lens[] = { 0, 1, 15, 16, 17, 31, 100, 4000 };
    oauth2_seal_t *s = make(secrets(NEW, NULL), "state");
    unsigned char in[4000], *sealed, *out;
    apr_size_t i, sealedlen, outlen;
    const char *err = NULL;

    (void)state;
    for (i = 0; i < sizeof(in); i++) {
        in[i] = (unsigned char)(i * 7); /* NUL bytes included */
    }
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        seal_raw(s, NAME, in, lens[i], &sealed, &sealedlen);
        assert_int_equal(sealed[0], 0x01);
        out = NULL;
        outlen = 99999;
        assert_int_equal(oauth2_seal_open_raw(pool, s, NAME, sealed, sealedlen,
                                              &out, &outlen, &err),
                         APR_SUCCESS);
        assert_int_equal(outlen, lens[i]);
        if (lens[i] > 0) {
            assert_memory_equal(out, in, lens[i]);
        }
        assert_int_equal(out[outlen], '\0');
    }
}

static void test_seal_round_trip_b64(void **state)
{
    static const char text[] = "1\0state\0nonce\0/return?to=here";
    oauth2_seal_t *s = make(secrets(NEW, OLD, NULL), "state");
    unsigned char *out = NULL;
    apr_size_t outlen = 0;
    const char *err = NULL;
    char *v = NULL;

    (void)state;
    assert_int_equal(
        oauth2_seal_b64(pool, s, NAME, text, sizeof(text), &v, &err),
        APR_SUCCESS);
    assert_int_equal(strlen(v),
                     OAUTH2_BASE64URL_LEN(sizeof(text) + OAUTH2_SEAL_OVERHEAD));
    assert_int_equal(strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                               "tuvwxyz0123456789-_"),
                     strlen(v));
    assert_int_equal(oauth2_seal_open_b64(pool, s, NAME, v, strlen(v), 2048,
                                          &out, &outlen, &err),
                     APR_SUCCESS);
    assert_int_equal(outlen, sizeof(text));
    assert_memory_equal(out, text, sizeof(text));
}

/* A fresh random nonce each time: the same input never seals the same. */
static void test_seal_nonce_fresh(void **state)
{
    oauth2_seal_t *s = make(secrets(NEW, NULL), "state");
    unsigned char *a, *b;
    apr_size_t alen, blen;
    int i;

    (void)state;
    for (i = 0; i < 100; i++) {
        seal_raw(s, NAME, "same", 4, &a, &alen);
        seal_raw(s, NAME, "same", 4, &b, &blen);
        assert_memory_not_equal(a + 1, b + 1, 12);
        assert_memory_not_equal(a + 13, b + 13, alen - 13);
    }
}

/* The wire format, pinned against an independent implementation: the key
 * of secret KAT for purpose "state" is HKDF-SHA256(KAT, salt "mod_auth_
 * oauth2 seal v1", info "state"), computed with
 *   openssl kdf -keylen 32 -kdfopt digest:SHA256 \
 *     -kdfopt key:0123456789abcdef0123456789abcdef \
 *     -kdfopt "salt:mod_auth_oauth2 seal v1" -kdfopt info:state HKDF
 * and a value is 0x01 | nonce (12) | AES-256-GCM ciphertext | tag (16),
 * the associated data being the aad string. A value built here opens,
 * and a value sealed by the module decrypts here. */
static const unsigned char kat_key[32] = {
    0x15, 0x19, 0x4e, 0x62, 0x59, 0xa2, 0x47, 0xe0, 0xfa, 0x84, 0x39,
    0x12, 0x1b, 0xa0, 0x5c, 0x8b, 0x6c, 0x5f, 0x2d, 0x65, 0x16, 0x9f,
    0x60, 0x53, 0xa5, 0x04, 0xbc, 0xc2, 0xb7, 0xe1, 0x7e, 0x94,
};

static int ref_gcm(int enc, const unsigned char *iv, const char *aad,
                   const unsigned char *in, int len, unsigned char *out,
                   unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok;

    ok =
        EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, kat_key, iv, enc) == 1
        && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad,
                            (int)strlen(aad))
               == 1
        && EVP_CipherUpdate(ctx, out, &n, in, len) == 1
        && (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1)
        && EVP_CipherFinal_ex(ctx, out + n, &n) == 1
        && (!enc
            || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

static void test_seal_format_known_key(void **state)
{
    static const char msg[] = "known answer";
    oauth2_seal_t *s = make(secrets(KAT, NULL), "state");
    unsigned char v[1 + 12 + sizeof(msg) + 16], *sealed, *out, pt[64];
    apr_size_t sealedlen, outlen;
    const char *err = NULL;

    (void)state;
    /* built here, opened by the module */
    v[0] = 0x01;
    memset(v + 1, 0x42, 12);
    assert_true(ref_gcm(1, v + 1, NAME, (const unsigned char *)msg, sizeof(msg),
                        v + 13, v + 13 + sizeof(msg)));
    assert_int_equal(
        oauth2_seal_open_raw(pool, s, NAME, v, sizeof(v), &out, &outlen, &err),
        APR_SUCCESS);
    assert_int_equal(outlen, sizeof(msg));
    assert_memory_equal(out, msg, sizeof(msg));

    /* sealed by the module, opened here */
    seal_raw(s, NAME, msg, sizeof(msg), &sealed, &sealedlen);
    assert_true(ref_gcm(0, sealed + 1, NAME, sealed + 13, (int)sizeof(msg), pt,
                        sealed + 13 + sizeof(msg)));
    assert_memory_equal(pt, msg, sizeof(msg));
}

/* Rotation (OAuth2Secret new old): the first secret seals, every one
 * opens. */
static void test_seal_rotation(void **state)
{
    oauth2_seal_t *old_only = make(secrets(OLD, NULL), "state");
    oauth2_seal_t *both = make(secrets(NEW, OLD, NULL), "state");
    oauth2_seal_t *new_only = make(secrets(NEW, NULL), "state");
    oauth2_seal_t *reversed = make(secrets(OLD, NEW, NULL), "state");
    unsigned char *v;
    apr_size_t len;

    (void)state;
    /* before the rotation: sealed with [old], opens with [new, old] */
    seal_raw(old_only, NAME, "x", 1, &v, &len);
    assert_int_equal(open_raw(both, NAME, v, len), APR_SUCCESS);
    assert_int_equal(open_raw(new_only, NAME, v, len), OAUTH2_EBADSIG);

    /* during: [new, old] seals with new, so [new] alone opens it and
     * [old] alone does not */
    seal_raw(both, NAME, "x", 1, &v, &len);
    assert_int_equal(open_raw(new_only, NAME, v, len), APR_SUCCESS);
    assert_int_equal(open_raw(both, NAME, v, len), APR_SUCCESS);
    assert_int_equal(open_raw(reversed, NAME, v, len), APR_SUCCESS);
    assert_int_equal(open_raw(old_only, NAME, v, len), OAUTH2_EBADSIG);

    /* [old, new] seals with old */
    seal_raw(reversed, NAME, "x", 1, &v, &len);
    assert_int_equal(open_raw(old_only, NAME, v, len), APR_SUCCESS);
    assert_int_equal(open_raw(new_only, NAME, v, len), OAUTH2_EBADSIG);
}

/* At most OAUTH2_SEAL_MAX_KEYS secrets are used: a ninth does not open. */
static void test_seal_max_keys(void **state)
{
    const char *s[9];
    apr_array_header_t *nine = apr_array_make(pool, 9, sizeof(const char *));
    oauth2_seal_t *all, *last;
    unsigned char *v;
    apr_size_t len;
    int i;

    (void)state;
    for (i = 0; i < 9; i++) {
        s[i] = apr_psprintf(pool, "secret-number-%d-padded-to-32-bytes!!", i);
        APR_ARRAY_PUSH(nine, const char *) = s[i];
    }
    all = make(nine, "state");
    seal_raw(make(secrets(s[7], NULL), "state"), NAME, "x", 1, &v, &len);
    assert_int_equal(open_raw(all, NAME, v, len), APR_SUCCESS);
    last = make(secrets(s[8], NULL), "state");
    seal_raw(last, NAME, "x", 1, &v, &len);
    assert_int_equal(open_raw(all, NAME, v, len), OAUTH2_EBADSIG);
}

/* The associated data (a cookie name) is bound: another name, a prefix or
 * an extension of it, or none, does not open. */
static void test_seal_wrong_aad(void **state)
{
    static const char *const other[] = {
        "oauth2_state_abd",
        "oauth2_state_ab",
        "oauth2_state_abcd",
        "OAUTH2_STATE_ABC",
        "",
        NULL,
    };
    oauth2_seal_t *s = make(secrets(NEW, NULL), "state");
    unsigned char *v;
    apr_size_t len, i;

    (void)state;
    seal_raw(s, NAME, "payload", 7, &v, &len);
    for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        assert_int_equal(open_raw(s, other[i], v, len), OAUTH2_EBADSIG);
    }
    assert_int_equal(open_raw(s, NAME, v, len), APR_SUCCESS);
}

/* A value sealed for one purpose never opens for another with the same
 * secrets (HKDF info separates the keys). */
static void test_seal_purpose_separation(void **state)
{
    static const char *const purposes[] = { "state", "session", "store" };
    oauth2_seal_t *s[3];
    unsigned char *v;
    apr_size_t len;
    int i, j;

    (void)state;
    for (i = 0; i < 3; i++) {
        s[i] = make(secrets(NEW, OLD, NULL), purposes[i]);
    }
    for (i = 0; i < 3; i++) {
        seal_raw(s[i], NAME, "x", 1, &v, &len);
        for (j = 0; j < 3; j++) {
            assert_int_equal(open_raw(s[j], NAME, v, len),
                             i == j ? APR_SUCCESS : OAUTH2_EBADSIG);
        }
    }
}

/* Every single-bit flip anywhere is refused: in the version byte as
 * OAUTH2_EMALFORMED, in the nonce, ciphertext and tag as OAUTH2_EBADSIG. */
static void test_seal_bit_flips_every_region(void **state)
{
    oauth2_seal_t *s = make(secrets(NEW, OLD, NULL), "state");
    unsigned char *v, *copy;
    apr_size_t len, i;
    int bit;

    (void)state;
    seal_raw(s, NAME, "twenty bytes of text", 20, &v, &len);
    copy = apr_palloc(pool, len);
    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            memcpy(copy, v, len);
            copy[i] ^= (unsigned char)(1u << bit);
            assert_int_equal(open_raw(s, NAME, copy, len),
                             i == 0 ? OAUTH2_EMALFORMED : OAUTH2_EBADSIG);
        }
    }
    /* the regions: version 0, nonce 1..12, ciphertext 13..32, tag 33..48 */
    assert_int_equal(len, 1 + 12 + 20 + 16);
    assert_int_equal(open_raw(s, NAME, v, len), APR_SUCCESS);
}

/* Cut short at every length: below the overhead OAUTH2_EMALFORMED, from
 * there on OAUTH2_EBADSIG; one byte more is OAUTH2_EBADSIG too. */
static void test_seal_truncation_and_extension(void **state)
{
    oauth2_seal_t *s = make(secrets(NEW, NULL), "state");
    unsigned char *v, *longer;
    apr_size_t len, n;

    (void)state;
    seal_raw(s, NAME, "some plaintext", 14, &v, &len);
    for (n = 0; n < len; n++) {
        assert_int_equal(open_raw(s, NAME, v, n), n < OAUTH2_SEAL_OVERHEAD
                                                      ? OAUTH2_EMALFORMED
                                                      : OAUTH2_EBADSIG);
    }
    longer = apr_palloc(pool, len + 1);
    memcpy(longer, v, len);
    longer[len] = 0;
    assert_int_equal(open_raw(s, NAME, longer, len + 1), OAUTH2_EBADSIG);
    assert_int_equal(open_raw(s, NAME, NULL, len), OAUTH2_EMALFORMED);
    assert_int_equal(open_raw(NULL, NAME, v, len), OAUTH2_EMALFORMED);
}

/* Other versions are refused before any key is tried. */
static void test_seal_unknown_version(void **state)
{
    oauth2_seal_t *s = make(secrets(NEW, NULL), "state");
    unsigned char *v;
    apr_size_t len;
    int ver;

    (void)state;
    seal_raw(s, NAME, "x", 1, &v, &len);
    for (ver = 0; ver < 256; ver++) {
        if (ver == 1) {
            continue;
        }
        v[0] = (unsigned char)ver;
        assert_int_equal(open_raw(s, NAME, v, len), OAUTH2_EMALFORMED);
    }
}

/* Another secret (same purpose, same aad) does not open. */
static void test_seal_foreign_secret(void **state)
{
    oauth2_seal_t *a = make(secrets(NEW, NULL), "state");
    oauth2_seal_t *b = make(secrets(NEW "x", NULL), "state");
    unsigned char *v;
    apr_size_t len;

    (void)state;
    seal_raw(a, NAME, "x", 1, &v, &len);
    assert_int_equal(open_raw(b, NAME, v, len), OAUTH2_EBADSIG);
}

/* Secrets: none, an empty list, a NULL one, one shorter than
 * OAUTH2_SEAL_MIN_SECRET (in first or later place), no purpose. */
static void test_seal_create_refusals(void **state)
{
    static const char short31[] = "0123456789012345678901234567890";
    static const char exact32[] = "01234567890123456789012345678901";
    const struct {
        apr_array_header_t *secrets;
        const char *purpose;
        const char *err_part;
    } cases[] = {
        { NULL, "state", "no secret" },
        { secrets(NULL), "state", "no secret" },
        { secrets(NEW, NULL), NULL, "no secret" },
        { secrets(short31, NULL), "state", "secret 1" },
        { secrets("", NULL), "state", "secret 1" },
        { secrets(NEW, short31, NULL), "state", "secret 2" },
        { secrets(NEW, OLD, "short", NULL), "state", "secret 3" },
    };
    apr_array_header_t *with_null = secrets(NEW, NULL);
    oauth2_seal_t *s;
    const char *err;
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s = NULL;
        err = NULL;
        assert_int_equal(oauth2_seal_create(pool, cases[i].secrets,
                                            cases[i].purpose, &s, &err),
                         APR_EINVAL);
        assert_null(s);
        assert_non_null(err);
        assert_non_null(strstr(err, cases[i].err_part));
    }
    APR_ARRAY_PUSH(with_null, const char *) = NULL;
    err = NULL;
    assert_int_equal(oauth2_seal_create(pool, with_null, "state", &s, &err),
                     APR_EINVAL);
    assert_non_null(err);
    assert_non_null(make(secrets(exact32, NULL), "state"));
}

/* Sealing refuses a missing seal or input. */
static void test_seal_raw_refusals(void **state)
{
    oauth2_seal_t *s = make(secrets(NEW, NULL), "state");
    unsigned char *out = NULL;
    apr_size_t outlen = 0;
    char *b64 = NULL;
    const char *err;

    (void)state;
    err = NULL;
    assert_int_equal(
        oauth2_seal_raw(pool, NULL, NAME, "x", 1, &out, &outlen, &err),
        OAUTH2_ECRYPTO);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(
        oauth2_seal_raw(pool, s, NAME, NULL, 1, &out, &outlen, &err),
        OAUTH2_ECRYPTO);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(oauth2_seal_b64(pool, NULL, NAME, "x", 1, &b64, &err),
                     OAUTH2_ECRYPTO);
    assert_null(b64);
    assert_null(out);
}

/* The base64url side: a length over max is OAUTH2_ETOOBIG before any
 * decoding (exactly max opens), bad base64url is OAUTH2_EMALFORMED, and
 * base64url of garbage is refused by the seal. */
static void test_seal_b64_limits(void **state)
{
    oauth2_seal_t *s = make(secrets(NEW, NULL), "state");
    unsigned char *out;
    apr_size_t outlen, n, i;
    const char *err;
    char *v = NULL, *bad;
    static const char *const not_b64[] = {
        "AAAA=", "AA AA", "AA+A", "AA/A", "A", "AAAA\n", "AA%3D",
    };

    (void)state;
    assert_int_equal(oauth2_seal_b64(pool, s, NAME, "hello", 5, &v, &err),
                     APR_SUCCESS);
    n = strlen(v);
    err = NULL;
    assert_int_equal(
        oauth2_seal_open_b64(pool, s, NAME, v, n, n - 1, &out, &outlen, &err),
        OAUTH2_ETOOBIG);
    assert_non_null(err);
    assert_int_equal(
        oauth2_seal_open_b64(pool, s, NAME, v, n, n, &out, &outlen, &err),
        APR_SUCCESS);
    assert_int_equal(outlen, 5);
    assert_string_equal((const char *)out, "hello");

    for (i = 0; i < sizeof(not_b64) / sizeof(not_b64[0]); i++) {
        err = NULL;
        assert_int_equal(oauth2_seal_open_b64(pool, s, NAME, not_b64[i],
                                              strlen(not_b64[i]), 2048, &out,
                                              &outlen, &err),
                         OAUTH2_EMALFORMED);
        assert_non_null(err);
    }
    /* a valid value with one character changed */
    bad = apr_pstrdup(pool, v);
    bad[n / 2] = bad[n / 2] == 'A' ? 'B' : 'A';
    assert_int_equal(
        oauth2_seal_open_b64(pool, s, NAME, bad, n, 2048, &out, &outlen, &err),
        OAUTH2_EBADSIG);
    /* only len characters are read (a multiple of 4 decodes cleanly) */
    assert_true(n % 4 != 0 && n - n % 4 >= 40);
    assert_int_equal(oauth2_seal_open_b64(pool, s, NAME, v, n - n % 4, 2048,
                                          &out, &outlen, &err),
                     OAUTH2_EBADSIG);
    assert_int_equal(
        oauth2_seal_open_b64(pool, s, NAME, NULL, 0, 2048, &out, &outlen, &err),
        OAUTH2_EMALFORMED);
    /* base64url of fewer than OVERHEAD bytes */
    assert_int_equal(oauth2_seal_open_b64(pool, s, NAME, "AQID", 4, 2048, &out,
                                          &outlen, &err),
                     OAUTH2_EMALFORMED);
}

/* Keys are cleansed when the pool goes: the seal struct is zero after
 * the pool cleanup ran (white-box: it lives in that pool's memory, so
 * this is checked through a cleanup registered before it, which runs
 * after it). */
static apr_status_t peek_keys(void *data)
{
    const unsigned char *const *where = data;
    const unsigned char *p = *where;
    size_t i;

    /* struct { int nkeys; unsigned char keys[8][32]; }: skip nkeys */
    for (i = sizeof(int); i < sizeof(int) + 8 * 32; i++) {
        if (p[i] != 0) {
            fail_msg("key byte %zu not cleansed", i);
        }
    }
    return APR_SUCCESS;
}

static void test_seal_keys_cleansed(void **state)
{
    static const unsigned char *where;
    apr_pool_t *sub;
    oauth2_seal_t *s = NULL;
    const char *err = NULL;

    (void)state;
    apr_pool_create(&sub, pool);
    /* cleanups run in reverse order of registration */
    apr_pool_cleanup_register(sub, &where, peek_keys, apr_pool_cleanup_null);
    assert_int_equal(
        oauth2_seal_create(sub, secrets(NEW, OLD, NULL), "state", &s, &err),
        APR_SUCCESS);
    where = (const unsigned char *)s;
    apr_pool_clear(sub);
    apr_pool_destroy(sub);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_seal_round_trip_raw),
        T(test_seal_round_trip_b64),
        T(test_seal_nonce_fresh),
        T(test_seal_format_known_key),
        T(test_seal_rotation),
        T(test_seal_max_keys),
        T(test_seal_wrong_aad),
        T(test_seal_purpose_separation),
        T(test_seal_bit_flips_every_region),
        T(test_seal_truncation_and_extension),
        T(test_seal_unknown_version),
        T(test_seal_foreign_secret),
        T(test_seal_create_refusals),
        T(test_seal_raw_refusals),
        T(test_seal_b64_limits),
        T(test_seal_keys_cleansed),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
