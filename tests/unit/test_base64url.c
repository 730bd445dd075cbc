/*
 * test_base64url.c: unit tests for src/base64url.c (RFC 4648 §5, unpadded
 * as RFC 7515 §2 uses it).
 */
#include "base64url.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "errors.h"

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

/* RFC 4648 §10 test vectors, without the '=' padding (§3.2, RFC 7515 §2),
 * plus RFC 7515 Appendix C and bytes that use '-' and '_' (§5). */
static const struct {
    const char *raw;
    apr_size_t len;
    const char *b64;
} vectors[] = {
    { "", 0, "" },
    { "f", 1, "Zg" },
    { "fo", 2, "Zm8" },
    { "foo", 3, "Zm9v" },
    { "foob", 4, "Zm9vYg" },
    { "fooba", 5, "Zm9vYmE" },
    { "foobar", 6, "Zm9vYmFy" },
    /* RFC 7515 Appendix C: [3, 236, 255, 224, 193] -> "A-z_4ME". */
    { "\x03\xec\xff\xe0\xc1", 5, "A-z_4ME" },
    /* "+/+/" in the standard alphabet is "-_-_" in the url alphabet. */
    { "\xfb\xff\xbf", 3, "-_-_" },
    { "\xff\xff\xff\x00", 4, "____AA" },
};

static void test_base64url_encode_rfc4648_vectors(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        char buf[32];
        apr_size_t n = oauth2_base64url_encode_buf(
            buf, (const unsigned char *)vectors[i].raw, vectors[i].len);

        assert_int_equal(n, strlen(vectors[i].b64));
        assert_string_equal(buf, vectors[i].b64);
        assert_int_equal(OAUTH2_BASE64URL_LEN(vectors[i].len), n);
        assert_string_equal(
            oauth2_base64url_encode(p, (const unsigned char *)vectors[i].raw,
                                    vectors[i].len),
            vectors[i].b64);
    }
}

static void test_base64url_decode_rfc4648_vectors(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        unsigned char *out = NULL;
        apr_size_t outlen = 99;

        assert_int_equal(oauth2_base64url_decode(p, vectors[i].b64,
                                                 strlen(vectors[i].b64), &out,
                                                 &outlen),
                         APR_SUCCESS);
        assert_int_equal(outlen, vectors[i].len);
        assert_memory_equal(out, vectors[i].raw, vectors[i].len);
        /* One NUL after the data, so text decodes to a C string. */
        assert_int_equal(out[outlen], 0);
    }
}

static void test_base64url_len_macro(void **state)
{
    (void)state;
    assert_int_equal(OAUTH2_BASE64URL_LEN(0), 0);
    assert_int_equal(OAUTH2_BASE64URL_LEN(1), 2);
    assert_int_equal(OAUTH2_BASE64URL_LEN(2), 3);
    assert_int_equal(OAUTH2_BASE64URL_LEN(3), 4);
    assert_int_equal(OAUTH2_BASE64URL_LEN(32), 43);
    assert_int_equal(OAUTH2_BASE64URL_LEN(16), 22);
}

static void test_base64url_roundtrip_all_lengths(void **state)
{
    apr_pool_t *p = *state;
    unsigned char raw[200];
    apr_size_t len, i;

    for (i = 0; i < sizeof(raw); i++) {
        raw[i] = (unsigned char)(i * 151 + 7);
    }
    for (len = 0; len <= sizeof(raw); len++) {
        char *enc = oauth2_base64url_encode(p, raw, len);
        unsigned char *dec;
        apr_size_t declen;

        assert_int_equal(strlen(enc), OAUTH2_BASE64URL_LEN(len));
        assert_int_equal(
            oauth2_base64url_decode(p, enc, strlen(enc), &dec, &declen),
            APR_SUCCESS);
        assert_int_equal(declen, len);
        assert_memory_equal(dec, raw, len);
    }
}

/* Strings that must not decode: each breaks one rule of base64url.h. */
static const struct {
    const char *name;
    const char *in;
    apr_size_t len;
} invalid[] = {
    { "padding", "Zg==", 4 },
    { "padding one", "Zm8=", 4 },
    { "padding alone", "====", 4 },
    { "standard alphabet +", "+/+/", 4 },
    { "standard alphabet /", "ab/d", 4 },
    { "plus", "Zm9+", 4 },
    { "leading space", " Zm9v", 5 },
    { "inner space", "Zm 9v", 5 },
    { "trailing newline", "Zm9v\n", 5 },
    { "tab", "Zm9v\tYg", 7 },
    { "CR LF", "Zm9v\r\nYg", 8 },
    { "length 1 mod 4", "Zm9vY", 5 },
    { "length 1", "Z", 1 },
    { "pad bits set, 2 chars", "Zh", 2 },
    { "pad bits set, 3 chars", "Zm9", 3 },
    { "NUL inside", "Zm\0v", 4 },
    { "high byte", "Zm\xc3\xa9", 4 },
    { "dot", "Zm.v", 4 },
};

static void test_base64url_decode_refuses_invalid(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        unsigned char *out = NULL;
        unsigned char buf[16];
        apr_size_t outlen = 0;

        if (oauth2_base64url_decode(p, invalid[i].in, invalid[i].len, &out,
                                    &outlen)
            != OAUTH2_EMALFORMED) {
            fail_msg("accepted: %s", invalid[i].name);
        }
        assert_null(out);
        if (oauth2_base64url_decode_buf(buf, sizeof(buf), invalid[i].in,
                                        invalid[i].len, &outlen)
            != OAUTH2_EMALFORMED) {
            fail_msg("accepted by _buf: %s", invalid[i].name);
        }
    }
}

static void test_base64url_decode_unique_encoding(void **state)
{
    apr_pool_t *p = *state;
    unsigned char *out;
    apr_size_t outlen;
    char s[3] = "Z?";
    int c, accepted = 0;

    /* Of the 64 characters after 'Z' only the 4 whose low 4 bits are 0
     * (RFC 4648 §3.5) decode: "ZA", "ZQ", "Zg", "Zw". */
    for (c = 0; c < 256; c++) {
        s[1] = (char)c;
        if (oauth2_base64url_decode(p, s, 2, &out, &outlen) == APR_SUCCESS) {
            accepted++;
        }
    }
    assert_int_equal(accepted, 4);
}

static void test_base64url_decode_null_refused(void **state)
{
    apr_pool_t *p = *state;
    unsigned char *out;
    unsigned char buf[4];
    apr_size_t outlen;

    assert_int_equal(oauth2_base64url_decode(p, NULL, 0, &out, &outlen),
                     OAUTH2_EMALFORMED);
    assert_int_equal(oauth2_base64url_decode(p, "Zg", 2, NULL, &outlen),
                     OAUTH2_EMALFORMED);
    assert_int_equal(
        oauth2_base64url_decode_buf(buf, sizeof(buf), NULL, 0, &outlen),
        OAUTH2_EMALFORMED);
}

static void test_base64url_decode_buf_size(void **state)
{
    unsigned char buf[6];
    apr_size_t outlen = 0;

    (void)state;
    /* "Zm9vYmFy" is 6 bytes: fits exactly, not in 5. */
    assert_int_equal(
        oauth2_base64url_decode_buf(buf, 6, "Zm9vYmFy", 8, &outlen),
        APR_SUCCESS);
    assert_int_equal(outlen, 6);
    assert_memory_equal(buf, "foobar", 6);
    assert_int_equal(
        oauth2_base64url_decode_buf(buf, 5, "Zm9vYmFy", 8, &outlen),
        OAUTH2_ETOOBIG);
    assert_int_equal(oauth2_base64url_decode_buf(buf, 1, "Zm8", 3, &outlen),
                     OAUTH2_ETOOBIG);
    assert_int_equal(oauth2_base64url_decode_buf(buf, 0, "", 0, &outlen),
                     APR_SUCCESS);
    assert_int_equal(outlen, 0);
}

static void test_base64url_decode_respects_len(void **state)
{
    apr_pool_t *p = *state;
    unsigned char *out;
    apr_size_t outlen;

    /* Only len characters are read: the '=' after them does not count. */
    assert_int_equal(oauth2_base64url_decode(p, "Zm9v==", 4, &out, &outlen),
                     APR_SUCCESS);
    assert_int_equal(outlen, 3);
    assert_string_equal((const char *)out, "foo");
}

/* A character outside the alphabet is refused wherever it stands: in the
 * main loop's quanta, in the last whole quantum and in the tail. */
static void test_base64url_decode_refuses_bad_byte_anywhere(void **state)
{
    apr_pool_t *p = *state;
    unsigned char raw[64], *out;
    apr_size_t outlen, len, pos;
    static const char bad[] = { '=', '+', '/', ' ', '\0', '.', '\x80', '\xff' };
    size_t b;

    for (len = 0; len < sizeof(raw); len++) {
        raw[len] = (unsigned char)(len * 37 + 11);
    }
    for (len = 1; len <= sizeof(raw); len++) {
        char *enc = oauth2_base64url_encode(p, raw, len);
        apr_size_t n = strlen(enc);

        for (pos = 0; pos < n; pos++) {
            for (b = 0; b < sizeof(bad); b++) {
                char *c = apr_pmemdup(p, enc, n + 1);

                c[pos] = bad[b];
                if (oauth2_base64url_decode(p, c, n, &out, &outlen)
                    != OAUTH2_EMALFORMED) {
                    fail_msg("accepted byte 0x%02x at %lu of %lu",
                             (unsigned char)bad[b], (unsigned long)pos,
                             (unsigned long)n);
                }
            }
        }
    }
}

/* The decoder writes exactly the decoded bytes: a buffer of that size is
 * enough, and the byte after it is never touched (the main loop's 4-byte
 * stores stay inside). */
static void test_base64url_decode_buf_writes_no_further(void **state)
{
    apr_pool_t *p = *state;
    unsigned char raw[100], buf[101];
    apr_size_t len, outlen;

    for (len = 0; len < sizeof(raw); len++) {
        raw[len] = (unsigned char)(255 - len * 3);
    }
    for (len = 0; len <= sizeof(raw); len++) {
        char *enc = oauth2_base64url_encode(p, raw, len);

        memset(buf, 0xA5, sizeof(buf));
        assert_int_equal(
            oauth2_base64url_decode_buf(buf, len, enc, strlen(enc), &outlen),
            APR_SUCCESS);
        assert_int_equal(outlen, len);
        assert_memory_equal(buf, raw, len);
        assert_int_equal(buf[len], 0xA5);
    }
}

/* Every byte value decodes back from every position in a quantum: the
 * four lookup tables agree with the alphabet. */
static void test_base64url_decode_every_byte_every_position(void **state)
{
    apr_pool_t *p = *state;
    unsigned char raw[256 * 3 + 2], *out;
    apr_size_t i, outlen;
    char *enc;

    for (i = 0; i < sizeof(raw); i++) {
        raw[i] = (unsigned char)(i % 3 == 0 ? i / 3 : i * 7 + i / 3);
    }
    enc = oauth2_base64url_encode(p, raw, sizeof(raw));
    assert_int_equal(
        oauth2_base64url_decode(p, enc, strlen(enc), &out, &outlen),
        APR_SUCCESS);
    assert_int_equal(outlen, sizeof(raw));
    assert_memory_equal(out, raw, sizeof(raw));
}

/* Every byte value at every position of a 43-character id: only the
 * url-safe alphabet passes, whatever comes before or after. */
static void test_base64url_alphabet_every_byte(void **state)
{
    char id[44] = "AZaz09-_AZaz09-_AZaz09-_AZaz09-_AZaz09-_AZa";
    apr_size_t pos;
    int c;

    (void)state;
    assert_true(oauth2_base64url_alphabet(id, 43));
    assert_true(oauth2_base64url_alphabet(id, 0));
    for (pos = 0; pos < 43; pos += 7) {
        for (c = 0; c < 256; c++) {
            char keep = id[pos];
            int want = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                       || (c >= '0' && c <= '9') || c == '-' || c == '_';

            id[pos] = (char)c;
            assert_int_equal(oauth2_base64url_alphabet(id, 43), want);
            id[pos] = keep;
        }
    }
    /* The last byte counts; the one after len does not. */
    id[42] = '=';
    assert_false(oauth2_base64url_alphabet(id, 43));
    assert_true(oauth2_base64url_alphabet(id, 42));
}

/* Every length up to 80 (whole blocks of 16 and tails), a byte just
 * outside the alphabet at every position. */
static void test_base64url_alphabet_lengths(void **state)
{
    static const char outside[] = { '@', '[',        '`',        '{',
                                    '/', ':',        ',',        '.',
                                    '^', (char)0x80, (char)0xc1, (char)0xff };
    char buf[81];
    apr_size_t len, pos, k;

    (void)state;
    for (pos = 0; pos < 80; pos++) {
        buf[pos] = "Zz09-_Aa"[pos % 8];
    }
    for (len = 0; len <= 80; len++) {
        assert_true(oauth2_base64url_alphabet(buf, len));
        for (pos = 0; pos < len; pos++) {
            for (k = 0; k < sizeof(outside); k++) {
                char keep = buf[pos];

                buf[pos] = outside[k];
                assert_false(oauth2_base64url_alphabet(buf, len));
                buf[pos] = keep;
            }
        }
    }
}

/* Ids that end where a page ends, the next page unreadable: the check of
 * 16 bytes a turn never reads past len (a read would fault), for every
 * length up to 64, every byte value at every position. */
/* Two pages, the second unreadable: bytes at the end of the first are
 * followed by nothing a function may read. */
static unsigned char *guarded_page(long page)
{
    unsigned char *m = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + page, (size_t)page, PROT_NONE), 0);
    return m;
}

static void test_base64url_alphabet_reads_no_further(void **state)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *m;
    apr_size_t len, pos;
    int c;

    (void)state;
    m = guarded_page(page);
    for (len = 0; len <= 64; len++) {
        char *id = (char *)m + page - len;

        for (pos = 0; pos < len; pos++) {
            id[pos] = "Zz09-_Aa"[pos % 8];
        }
        assert_true(oauth2_base64url_alphabet(id, len));
        for (pos = 0; pos < len; pos++) {
            char keep = id[pos];

            for (c = 0; c < 256; c++) {
                int want = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                           || (c >= '0' && c <= '9') || c == '-' || c == '_';

                id[pos] = (char)c;
                assert_int_equal(oauth2_base64url_alphabet(id, len), want);
            }
            id[pos] = keep;
        }
    }
    munmap(m, (size_t)page * 2);
}

/* The b64token span at the end of a page (the next unreadable), every
 * length to 64, every byte at every position: the span ends at the first
 * byte outside RFC 6750's class, or at len, and reads nothing past it. */
static void test_base64url_token_span(void **state)
{
    static const char cls[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqr"
                              "stuvwxyz0123456789-._~+/";
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *m;
    apr_size_t len, pos;
    int c;

    (void)state;
    m = guarded_page(page);
    for (len = 0; len <= 64; len++) {
        char *t = (char *)m + page - len;

        for (pos = 0; pos < len; pos++) {
            t[pos] = cls[(pos * 5 + len) % (sizeof(cls) - 1)];
        }
        assert_int_equal(oauth2_base64url_token_span(t, len), len);
        for (pos = 0; pos < len; pos++) {
            char keep = t[pos];

            for (c = 0; c < 256; c++) {
                int in = c != 0 && strchr(cls, c) != NULL;

                t[pos] = (char)c;
                assert_int_equal(oauth2_base64url_token_span(t, len),
                                 in ? len : pos);
            }
            t[pos] = keep;
        }
    }
    munmap(m, (size_t)page * 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_base64url_encode_rfc4648_vectors,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_base64url_decode_rfc4648_vectors,
                                        setup, teardown),
        cmocka_unit_test(test_base64url_len_macro),
        cmocka_unit_test(test_base64url_alphabet_every_byte),
        cmocka_unit_test(test_base64url_alphabet_lengths),
        cmocka_unit_test(test_base64url_alphabet_reads_no_further),
        cmocka_unit_test(test_base64url_token_span),
        cmocka_unit_test_setup_teardown(test_base64url_roundtrip_all_lengths,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_base64url_decode_refuses_invalid,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_base64url_decode_unique_encoding,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_base64url_decode_null_refused,
                                        setup, teardown),
        cmocka_unit_test(test_base64url_decode_buf_size),
        cmocka_unit_test_setup_teardown(
            test_base64url_decode_refuses_bad_byte_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_base64url_decode_buf_writes_no_further, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_base64url_decode_every_byte_every_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base64url_decode_respects_len,
                                        setup, teardown),
    };

    apr_initialize();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
