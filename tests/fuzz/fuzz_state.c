/*
 * fuzz_state.c: libFuzzer target for src/state.c (and the seal under it).
 * The first byte picks what the rest is:
 *   even: a state cookie value, opened with a fixed key for the state
 *         parameter "STATEPARAM" (base64url, lengths, the seal);
 *   odd:  a plaintext, sealed here under the cookie name of state "S" so
 *         that oauth2_state_open reaches the parser behind the seal.
 * Whatever opens must satisfy the contract: the state equals the
 * parameter, the age is within the lifetime, the creation time is not
 * beyond the allowed future, and sealing the result again opens to the
 * same fields. Seeds: tests/fuzz/corpus/state/ (valid cookies made with
 * this key and clock, valid and malformed plaintexts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "crypto.h"
#include "errors.h"
#include "seal.h"
#include "state.h"

/* The key and clock of the seed corpus: keep them in step. */
#define FUZZ_SECRET "fuzz-state-secret-fuzz-state-secret-000001"
#define FUZZ_NOW    ((apr_time_t)1735689600 * APR_USEC_PER_SEC)
#define FUZZ_PARAM  "STATEPARAM"

static apr_pool_t *root;
static oauth2_seal_t *seal;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_array_header_t *sec;
    const char *err = NULL;

    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    if (oauth2_crypto_init() != APR_SUCCESS) {
        abort();
    }
    sec = apr_array_make(root, 1, sizeof(const char *));
    APR_ARRAY_PUSH(sec, const char *) = FUZZ_SECRET;
    if (oauth2_seal_create(root, sec, "state", &seal, &err) != APR_SUCCESS) {
        abort();
    }
    return 0;
}

static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The contract of a state that opened for param at FUZZ_NOW. */
static void check_opened(apr_pool_t *p, const oauth2_state_t *st,
                         const char *param, apr_interval_time_t lifetime)
{
    oauth2_state_t *again = NULL;
    const char *err = NULL;
    char *value = NULL;

    if (st == NULL || !same(st->state, param) || st->nonce == NULL
        || st->verifier == NULL || st->challenge == NULL
        || st->return_to == NULL) {
        abort();
    }
    if (st->created < 0 || FUZZ_NOW - st->created > lifetime
        || st->created > FUZZ_NOW + apr_time_from_sec(60)) {
        abort();
    }
    if (oauth2_state_seal(p, seal, st, &value, &err) != APR_SUCCESS) {
        abort();
    }
    if (oauth2_state_open(p, seal, value, strlen(value), param, FUZZ_NOW,
                          lifetime, &again, &err)
        != APR_SUCCESS) {
        /* a re-sealed state may only fail on size */
        if (strlen(value) <= OAUTH2_MAX_STATE_COOKIE) {
            abort();
        }
        return;
    }
    if (!same(again->nonce, st->nonce) || !same(again->verifier, st->verifier)
        || !same(again->challenge, st->challenge)
        || !same(again->return_to, st->return_to)
        || again->created != st->created) {
        abort();
    }
}

static void check_result(apr_pool_t *p, apr_status_t rv,
                         const oauth2_state_t *st, const char *err,
                         const char *param, apr_interval_time_t lifetime)
{
    switch (rv) {
    case APR_SUCCESS:
        check_opened(p, st, param, lifetime);
        return;
    case OAUTH2_EMALFORMED:
    case OAUTH2_ETOOBIG:
    case OAUTH2_EBADSIG:
    case OAUTH2_EMISMATCH:
    case OAUTH2_EEXPIRED:
        if (err == NULL) {
            abort(); /* every refusal says why */
        }
        return;
    default:
        abort(); /* not a code the contract allows */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const apr_interval_time_t lifetime =
        apr_time_from_sec(OAUTH2_STATE_LIFETIME);
    apr_pool_t *p;
    oauth2_state_t *st = NULL;
    const char *err = NULL;
    apr_status_t rv;

    if (size < 1) {
        return 0;
    }
    apr_pool_create(&p, root);
    if ((data[0] & 1) == 0) {
        /* the input bytes as they came, so ASan sees any over-read */
        rv = oauth2_state_open(p, seal, (const char *)data + 1, size - 1,
                               FUZZ_PARAM, FUZZ_NOW, lifetime, &st, &err);
        check_result(p, rv, st, err, FUZZ_PARAM, lifetime);
    }
    else {
        char *value = NULL;

        if (oauth2_seal_b64(p, seal, oauth2_state_cookie_name(p, "S"), data + 1,
                            size - 1, &value, &err)
            != APR_SUCCESS) {
            abort();
        }
        rv = oauth2_state_open(p, seal, value, strlen(value), "S", FUZZ_NOW,
                               lifetime, &st, &err);
        if (strlen(value) <= OAUTH2_MAX_STATE_COOKIE && rv == OAUTH2_EBADSIG) {
            abort(); /* sealed under the right name and key: must open */
        }
        check_result(p, rv, st, err, "S", lifetime);
        /* the same value under another state's name never opens */
        st = NULL;
        if (oauth2_state_open(p, seal, value, strlen(value), "T", FUZZ_NOW,
                              lifetime, &st, &err)
            == APR_SUCCESS) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
