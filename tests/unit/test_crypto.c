/*
 * test_crypto.c: unit tests for src/crypto.c: CSPRNG bytes, constant-time
 * comparison, SHA-256 (FIPS 180-2 / NIST CAVP example vectors) through each
 * thread's context and the one-shot, HKDF-SHA256 (RFC 5869 Appendix A) and
 * the clearing of OpenSSL's error queue.
 */
#include "crypto.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "errors.h"

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

/* Lower-case hex of n bytes, from pool. */
static const char *hex(const unsigned char *b, apr_size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = apr_palloc(pool, n * 2 + 1);
    apr_size_t i;

    for (i = 0; i < n; i++) {
        s[2 * i] = digits[b[i] >> 4];
        s[2 * i + 1] = digits[b[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}

static void test_crypto_init_idempotent(void **state)
{
    (void)state;
    assert_int_equal(oauth2_crypto_init(), APR_SUCCESS);
    assert_int_equal(oauth2_crypto_init(), APR_SUCCESS);
}

/* httpd unloads and loads the module at every restart: each load's
 * init and shutdown give the per-thread key back, so more loads than a
 * process has keys (PTHREAD_KEYS_MAX, 1024) all hash, the thread's
 * context of the last one never reused through a deleted key. */
static void test_crypto_shutdown_gives_the_key_back(void **state)
{
    static const char abc[] =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    unsigned char out[OAUTH2_SHA256_LEN];
    int i;

    (void)state;
    for (i = 0; i < 1500; i++) {
        oauth2_crypto_shutdown();
        assert_int_equal(oauth2_crypto_init(), APR_SUCCESS);
        memset(out, 0, sizeof(out));
        assert_int_equal(oauth2_crypto_sha256_pair("a", 1, "bc", 2, out),
                         APR_SUCCESS);
        assert_string_equal(hex(out, sizeof(out)), abc);
    }
    /* Twice is harmless; hashing after it makes the key again. */
    oauth2_crypto_shutdown();
    oauth2_crypto_shutdown();
    assert_int_equal(oauth2_crypto_sha256_pair("abc", 3, NULL, 0, out),
                     APR_SUCCESS);
    assert_string_equal(hex(out, sizeof(out)), abc);
}

/* Every requested length is filled, and the bytes look random: no two of
 * 1,000 draws of 16 bytes are equal, and 64 KiB use every byte value. */
static void test_crypto_random_lengths_and_spread(void **state)
{
    static unsigned char draws[1000][16];
    unsigned char big[65536];
    int seen[256] = { 0 };
    apr_size_t lens[] = { 1, 2, 12, 16, 31, 32, 33, 64, 1000 };
    apr_size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        unsigned char buf[1002];

        memset(buf, 0xA5, sizeof(buf));
        assert_int_equal(oauth2_crypto_random(buf + 1, lens[i]), APR_SUCCESS);
        /* nothing written outside [1, 1 + len) */
        assert_int_equal(buf[0], 0xA5);
        for (j = 1 + lens[i]; j < sizeof(buf); j++) {
            assert_int_equal(buf[j], 0xA5);
        }
    }
    for (i = 0; i < 1000; i++) {
        assert_int_equal(oauth2_crypto_random(draws[i], 16), APR_SUCCESS);
        for (j = 0; j < i; j++) {
            assert_true(memcmp(draws[i], draws[j], 16) != 0);
        }
    }
    assert_int_equal(oauth2_crypto_random(big, sizeof(big)), APR_SUCCESS);
    for (i = 0; i < sizeof(big); i++) {
        seen[big[i]] = 1;
    }
    for (i = 0; i < 256; i++) {
        assert_true(seen[i]);
    }
}

static void test_crypto_random_refuses_bad_input(void **state)
{
    unsigned char one;

    (void)state;
    assert_int_equal(oauth2_crypto_random(NULL, 16), OAUTH2_ECRYPTO);
    /* a length past INT_MAX is refused before anything is written */
    assert_int_equal(oauth2_crypto_random(&one, (apr_size_t)1 << 31),
                     OAUTH2_ECRYPTO);
    assert_int_equal(oauth2_crypto_random(&one, 0), APR_SUCCESS);
}

/* base64url without padding: 16 bytes -> 22 chars, 32 -> 43, 64 -> 86. */
static void test_crypto_random_b64_shapes(void **state)
{
    static const struct {
        apr_size_t nbytes;
        apr_size_t chars;
    } cases[] = { { 1, 2 }, { 16, 22 }, { 32, 43 }, { 48, 64 }, { 64, 86 } };
    char *a, *b;
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        a = b = NULL;
        assert_int_equal(oauth2_crypto_random_b64(pool, cases[i].nbytes, &a),
                         APR_SUCCESS);
        assert_int_equal(oauth2_crypto_random_b64(pool, cases[i].nbytes, &b),
                         APR_SUCCESS);
        assert_int_equal(strlen(a), cases[i].chars);
        assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                   "opqrstuvwxyz0123456789-_"),
                         cases[i].chars);
        if (cases[i].nbytes >= 16) {
            assert_string_not_equal(a, b);
        }
    }
}

static void test_crypto_random_b64_refuses_bad_sizes(void **state)
{
    char *out = NULL;

    (void)state;
    assert_int_equal(oauth2_crypto_random_b64(pool, 0, &out), APR_EINVAL);
    assert_int_equal(oauth2_crypto_random_b64(pool, 65, &out), APR_EINVAL);
    assert_null(out);
}

/* Every length to 200 (the 64- and 16-byte turns and the tails): equal
 * bytes are 0, one bit flipped at any position is not; so is
 * oauth2_crypto_equal. */
static void test_crypto_diff_every_position(void **state)
{
    unsigned char a[200], b[200];
    apr_size_t n, i;

    (void)state;
    for (i = 0; i < sizeof(a); i++) {
        a[i] = b[i] = (unsigned char)(i * 37 + 11);
    }
    for (n = 0; n <= sizeof(a); n++) {
        assert_int_equal(oauth2_crypto_diff(a, b, n), 0);
        assert_true(oauth2_crypto_equal(a, n, b, n));
        for (i = 0; i < n; i++) {
            b[i] ^= (unsigned char)(1u << (i % 8));
            assert_true(oauth2_crypto_diff(a, b, n) != 0);
            assert_false(oauth2_crypto_equal(a, n, b, n));
            b[i] = a[i];
        }
    }
}

static void test_crypto_equal_table(void **state)
{
    static const unsigned char x[] = "0123456789abcdef";
    static const unsigned char y[] = "0123456789abcdef";
    static const unsigned char first[] = "X123456789abcdef";
    static const unsigned char last[] = "0123456789abcdeX";
    static const struct {
        const void *a;
        apr_size_t alen;
        const void *b;
        apr_size_t blen;
        int equal;
    } cases[] = {
        { x, 16, y, 16, 1 },     /* equal contents, other buffers */
        { x, 16, x, 16, 1 },     /* same buffer */
        { x, 0, y, 0, 1 },       /* two empty strings */
        { x, 16, first, 16, 0 }, /* differ at the first byte */
        { x, 16, last, 16, 0 },  /* differ at the last byte */
        { x, 16, y, 15, 0 },     /* a prefix is not equal */
        { x, 15, y, 16, 0 },     { x, 0, y, 1, 0 },
        { NULL, 0, y, 0, 0 }, /* NULL never equals, not even empty */
        { x, 0, NULL, 0, 0 },    { NULL, 0, NULL, 0, 0 },
        { NULL, 16, x, 16, 0 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(oauth2_crypto_equal(cases[i].a, cases[i].alen,
                                             cases[i].b, cases[i].blen),
                         cases[i].equal);
    }
}

/* FIPS 180-2 Appendix B.1 / B.2 and the empty message (NIST CAVP
 * SHA256ShortMsg, Len = 0). */
static const struct {
    const char *msg;
    const char *digest;
} sha_vectors[] = {
    { "abc",
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
    { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

static void test_crypto_sha256_one_shot_vectors(void **state)
{
    unsigned char out[OAUTH2_SHA256_LEN];
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(sha_vectors) / sizeof(sha_vectors[0]); i++) {
        assert_int_equal(oauth2_crypto_sha256(sha_vectors[i].msg,
                                              strlen(sha_vectors[i].msg), out),
                         APR_SUCCESS);
        assert_string_equal(hex(out, sizeof(out)), sha_vectors[i].digest);
    }
}

/* FIPS 180-2 Appendix B.3: one million 'a'. */
static void test_crypto_sha256_million_a(void **state)
{
    unsigned char out[OAUTH2_SHA256_LEN];
    char *msg = apr_palloc(pool, 1000000);

    (void)state;
    memset(msg, 'a', 1000000);
    assert_int_equal(oauth2_crypto_sha256(msg, 1000000, out), APR_SUCCESS);
    assert_string_equal(
        hex(out, sizeof(out)),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    memset(out, 0, sizeof(out));
    assert_int_equal(
        oauth2_crypto_sha256_pair(msg, 400000, msg + 400000, 600000, out),
        APR_SUCCESS);
    assert_string_equal(
        hex(out, sizeof(out)),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* The thread's hasher hashes the concatenation of its two parts,
 * wherever the split falls, and is reusable (each call starts afresh). */
static void test_crypto_sha256_pair_two_parts(void **state)
{
    unsigned char out[OAUTH2_SHA256_LEN];
    apr_size_t i, cut;

    (void)state;
    for (i = 0; i < sizeof(sha_vectors) / sizeof(sha_vectors[0]); i++) {
        const char *m = sha_vectors[i].msg;
        apr_size_t n = strlen(m);

        for (cut = 0; cut <= n; cut++) {
            memset(out, 0, sizeof(out));
            assert_int_equal(
                oauth2_crypto_sha256_pair(m, cut, m + cut, n - cut, out),
                APR_SUCCESS);
            assert_string_equal(hex(out, sizeof(out)), sha_vectors[i].digest);
        }
        /* b == NULL: the hash of a alone */
        memset(out, 0, sizeof(out));
        assert_int_equal(oauth2_crypto_sha256_pair(m, n, NULL, 0, out),
                         APR_SUCCESS);
        assert_string_equal(hex(out, sizeof(out)), sha_vectors[i].digest);
    }
}

static void test_crypto_sha256_refuses_null(void **state)
{
    unsigned char out[OAUTH2_SHA256_LEN];

    (void)state;
    assert_int_equal(oauth2_crypto_sha256_pair(NULL, 0, "abc", 3, out),
                     OAUTH2_ECRYPTO);
    assert_int_equal(oauth2_crypto_sha256(NULL, 0, out), OAUTH2_ECRYPTO);
}

/* Hashes "abc" | the thread's index, and checks the digest against the
 * one-shot hash. */
static void *APR_THREAD_FUNC pair_thread(apr_thread_t *t, void *data)
{
    char msg[16];
    unsigned char a[OAUTH2_SHA256_LEN], b[OAUTH2_SHA256_LEN];
    int i, *ok = data;

    apr_snprintf(msg, sizeof(msg), "abc%d", *ok);
    *ok = 1;
    for (i = 0; i < 50; i++) {
        if (oauth2_crypto_sha256_pair("abc", 3, msg + 3, strlen(msg + 3), a)
                != APR_SUCCESS
            || oauth2_crypto_sha256(msg, strlen(msg), b) != APR_SUCCESS
            || memcmp(a, b, sizeof(a)) != 0) {
            *ok = 0;
        }
    }
    (void)t;
    return NULL;
}

/* Each thread hashes with a context of its own, at once with others; a
 * thread's context goes when the thread ends (LeakSanitizer, in the
 * sanitizer build, checks that the 64 EVP_MD_CTX are freed). */
static void test_crypto_sha256_pair_threads(void **state)
{
    apr_thread_t *t[8];
    apr_status_t rv;
    int ok[8], round, i;

    (void)state;
    for (round = 0; round < 8; round++) {
        for (i = 0; i < 8; i++) {
            ok[i] = round * 8 + i;
            assert_int_equal(
                apr_thread_create(&t[i], NULL, pair_thread, &ok[i], pool),
                APR_SUCCESS);
        }
        for (i = 0; i < 8; i++) {
            assert_int_equal(apr_thread_join(&rv, t[i]), APR_SUCCESS);
            assert_int_equal(ok[i], 1);
        }
    }
}

/* Independent HKDF-SHA256 through EVP_PKEY (the pre-3.0 interface, a
 * different code path from EVP_KDF), for inputs of any bytes. */
static void pkey_hkdf(const unsigned char *ikm, apr_size_t ikmlen,
                      const unsigned char *salt, apr_size_t saltlen,
                      const unsigned char *info, apr_size_t infolen,
                      unsigned char *out, size_t outlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t n = outlen;

    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int)ikmlen), 1);
    if (saltlen > 0) {
        assert_int_equal(EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, (int)saltlen),
                         1);
    }
    if (infolen > 0) {
        assert_int_equal(EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)infolen),
                         1);
    }
    assert_int_equal(EVP_PKEY_derive(ctx, out, &n), 1);
    assert_int_equal(n, outlen);
    EVP_PKEY_CTX_free(ctx);
}

/* RFC 5869 Appendix A.1 (test case 1): IKM 0x0b x 22, salt 0x00..0x0c,
 * info 0xf0..0xf9, L = 42. The salt begins with a NUL byte, which our
 * C-string API cannot carry; the test checks the RFC's OKM against the
 * independent EVP_PKEY HKDF (so that helper is itself pinned), then the
 * same IKM and info with the salt 0x01..0x0c through oauth2_crypto_hkdf
 * against OKM computed with
 *   openssl kdf -keylen 42 -kdfopt digest:SHA256 \
 *     -kdfopt hexkey:0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b \
 *     -kdfopt hexsalt:0102030405060708090a0b0c \
 *     -kdfopt hexinfo:f0f1f2f3f4f5f6f7f8f9 HKDF
 * (OpenSSL 3.0.22), and against pkey_hkdf. */
static void test_crypto_hkdf_rfc5869_case1(void **state)
{
    static const unsigned char salt[] = { 0x00, 0x01, 0x02, 0x03, 0x04,
                                          0x05, 0x06, 0x07, 0x08, 0x09,
                                          0x0a, 0x0b, 0x0c };
    static const char info[] = "\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9";
    /* salt[1..12] as a C string */
    static const char salt1[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
                                "\x0b\x0c";
    unsigned char ikm[22], out[42], ref[42];
    const char *err = NULL;

    (void)state;
    memset(ikm, 0x0b, sizeof(ikm));
    pkey_hkdf(ikm, sizeof(ikm), salt, sizeof(salt), (const unsigned char *)info,
              10, ref, sizeof(ref));
    assert_string_equal(hex(ref, sizeof(ref)),
                        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d"
                        "56ecc4c5bf34007208d5b887185865");
    assert_int_equal(oauth2_crypto_hkdf(pool, ikm, sizeof(ikm), salt1, info,
                                        out, sizeof(out), &err),
                     APR_SUCCESS);
    assert_string_equal(hex(out, sizeof(out)),
                        "a87f013b13db3498686464800fbdf8ba03ebb8e252313ec541be22"
                        "1a60ff31631d4e8c0622f43978f0f1");
    pkey_hkdf(ikm, sizeof(ikm), salt + 1, sizeof(salt) - 1,
              (const unsigned char *)info, 10, ref, sizeof(ref));
    assert_memory_equal(out, ref, sizeof(out));
}

/* RFC 5869 Appendix A.3 (test case 3): zero-length salt and info, which
 * are the C strings "". */
static void test_crypto_hkdf_rfc5869_case3(void **state)
{
    unsigned char ikm[22], out[42];
    const char *err = NULL;

    (void)state;
    memset(ikm, 0x0b, sizeof(ikm));
    assert_int_equal(
        oauth2_crypto_hkdf(pool, ikm, sizeof(ikm), "", "", out, 42, &err),
        APR_SUCCESS);
    assert_string_equal(hex(out, sizeof(out)),
                        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e"
                        "5f3c738d2d9d201395faa4b61a96c8");
}

/* The derivation seal.c makes: ASCII secret, salt and purpose. Expected
 * value from
 *   openssl kdf -keylen 32 -kdfopt digest:SHA256 \
 *     -kdfopt key:0123456789abcdef0123456789abcdef \
 *     -kdfopt "salt:mod_auth_oauth2 seal v1" -kdfopt info:state HKDF
 * and a different info gives a different key. */
static void test_crypto_hkdf_ascii_vector(void **state)
{
    static const char secret[] = "0123456789abcdef0123456789abcdef";
    unsigned char a[32], b[32];
    const char *err = NULL;

    (void)state;
    assert_int_equal(oauth2_crypto_hkdf(pool, secret, strlen(secret),
                                        "mod_auth_oauth2 seal v1", "state", a,
                                        sizeof(a), &err),
                     APR_SUCCESS);
    assert_string_equal(
        hex(a, sizeof(a)),
        "15194e6259a247e0fa8439121ba05c8b6c5f2d65169f6053a504bcc2b7e17e94");
    assert_int_equal(oauth2_crypto_hkdf(pool, secret, strlen(secret),
                                        "mod_auth_oauth2 seal v1", "session", b,
                                        sizeof(b), &err),
                     APR_SUCCESS);
    assert_memory_not_equal(a, b, sizeof(a));
}

/* A shorter output is a prefix of a longer one (RFC 5869 §2.3: T(1) |
 * T(2) | ...), up to the maximum 255 * HashLen = 8160 bytes. */
static void test_crypto_hkdf_lengths(void **state)
{
    static unsigned char longest[8160], shorter[100];
    const char *err = NULL;

    (void)state;
    assert_int_equal(oauth2_crypto_hkdf(pool, "k", 1, "s", "i", longest,
                                        sizeof(longest), &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_crypto_hkdf(pool, "k", 1, "s", "i", shorter,
                                        sizeof(shorter), &err),
                     APR_SUCCESS);
    assert_memory_equal(longest, shorter, sizeof(shorter));
}

/* Refusals: NULL inputs, and an output longer than 255 * 32 bytes, which
 * fails inside OpenSSL: ECRYPTO with a reason, the output cleansed, and
 * the error queue left empty. */
static void test_crypto_hkdf_refusals(void **state)
{
    static unsigned char big[8161];
    unsigned char out[32];
    const char *err;
    apr_size_t i;

    (void)state;
    err = NULL;
    assert_int_equal(oauth2_crypto_hkdf(pool, NULL, 0, "s", "i", out, 32, &err),
                     OAUTH2_ECRYPTO);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(oauth2_crypto_hkdf(pool, "k", 1, NULL, "i", out, 32, &err),
                     OAUTH2_ECRYPTO);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(oauth2_crypto_hkdf(pool, "k", 1, "s", NULL, out, 32, &err),
                     OAUTH2_ECRYPTO);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(oauth2_crypto_hkdf(pool, "k", 1, "s", "i", NULL, 32, &err),
                     OAUTH2_ECRYPTO);
    assert_non_null(err);

    memset(big, 0x5a, sizeof(big));
    err = NULL;
    assert_int_equal(
        oauth2_crypto_hkdf(pool, "k", 1, "s", "i", big, sizeof(big), &err),
        OAUTH2_ECRYPTO);
    assert_non_null(err);
    assert_non_null(strstr(err, "HKDF"));
    for (i = 0; i < sizeof(big); i++) {
        assert_int_equal(big[i], 0);
    }
    assert_int_equal(ERR_peek_error(), 0);
}

/* oauth2_crypto_error reports the oldest error with the caller's words
 * and empties the queue; with an empty queue it still says something. */
static void test_crypto_error_clears_queue(void **state)
{
    const char *msg;
    EVP_MD *md;

    (void)state;
    ERR_clear_error();
    md = EVP_MD_fetch(NULL, "NO-SUCH-DIGEST", NULL);
    assert_null(md);
    md = EVP_MD_fetch(NULL, "ANOTHER-MISSING", NULL);
    assert_null(md);
    assert_int_not_equal(ERR_peek_error(), 0);
    msg = oauth2_crypto_error(pool, "fetch");
    assert_non_null(msg);
    assert_true(strncmp(msg, "fetch: ", 7) == 0);
    assert_true(strlen(msg) > 7);
    assert_string_not_equal(msg, "fetch: failed");
    assert_int_equal(ERR_peek_error(), 0);

    msg = oauth2_crypto_error(pool, "nothing");
    assert_string_equal(msg, "nothing: failed");
    assert_int_equal(ERR_peek_error(), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_crypto_init_idempotent),
        T(test_crypto_shutdown_gives_the_key_back),
        T(test_crypto_random_lengths_and_spread),
        T(test_crypto_random_refuses_bad_input),
        T(test_crypto_random_b64_shapes),
        T(test_crypto_random_b64_refuses_bad_sizes),
        T(test_crypto_equal_table),
        T(test_crypto_diff_every_position),
        T(test_crypto_sha256_one_shot_vectors),
        T(test_crypto_sha256_million_a),
        T(test_crypto_sha256_pair_two_parts),
        T(test_crypto_sha256_refuses_null),
        T(test_crypto_sha256_pair_threads),
        T(test_crypto_hkdf_rfc5869_case1),
        T(test_crypto_hkdf_rfc5869_case3),
        T(test_crypto_hkdf_ascii_vector),
        T(test_crypto_hkdf_lengths),
        T(test_crypto_hkdf_refusals),
        T(test_crypto_error_clears_queue),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
