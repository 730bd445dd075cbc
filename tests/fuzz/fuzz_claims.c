/*
 * fuzz_claims.c: libFuzzer target for src/claims.c. The input is a claim
 * path, a newline, and a JSON document. The document is parsed; what
 * parses is looked up by that path (get, get_string, get_values), walked,
 * merged with a fixed claim set both ways, and validated as an ID, access
 * and logout token with a fixed clock. Invariants: lookups agree with each
 * other, walked values have the length they claim, and every validation
 * failure has a known code and a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "claims.h"
#include "errors.h"

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    return 0;
}

static int leaf(void *ctx, const char *path, const char *value, apr_size_t len)
{
    (void)ctx;
    if (strlen(path) == 0 || strlen(path) > OAUTH2_MAX_CLAIM_PATH
        || strlen(value) != len) {
        abort();
    }
    return 0;
}

static void check_lookup(apr_pool_t *p, const oauth2_claims_t *c,
                         const char *path)
{
    json_object *v = oauth2_claims_get(c, path);
    const char *s = oauth2_claims_get_string(c, path);
    apr_array_header_t *vals = oauth2_claims_get_values(p, c, path);
    int i;

    if (vals == NULL || (s != NULL && v == NULL)
        || (v == NULL && vals->nelts != 0)) {
        abort();
    }
    if (s != NULL
        && (vals->nelts != 1
            || strcmp(APR_ARRAY_IDX(vals, 0, const char *), s))) {
        abort();
    }
    for (i = 0; i < vals->nelts; i++) {
        if (APR_ARRAY_IDX(vals, i, const char *) == NULL) {
            abort();
        }
    }
}

static void check_validate(apr_pool_t *p, const oauth2_claims_t *c)
{
    oauth2_claims_expect_t x = { OAUTH2_TOKEN_ID,
                                 "https://op.example",
                                 "client",
                                 "n",
                                 apr_time_from_sec(1700000000),
                                 apr_time_from_sec(60) };
    int kind;

    for (kind = OAUTH2_TOKEN_ID; kind <= OAUTH2_TOKEN_LOGOUT; kind++) {
        const char *err = NULL;
        apr_status_t rv;

        x.kind = (oauth2_token_kind_e)kind;
        rv = oauth2_claims_validate(p, c, &x, &err);
        if (rv != APR_SUCCESS
            && (err == NULL
                || (rv != OAUTH2_EMISMATCH && rv != OAUTH2_EEXPIRED
                    && rv != OAUTH2_ENOTYET && rv != OAUTH2_EMALFORMED))) {
            abort();
        }
    }
}

static void check_merge(apr_pool_t *p, oauth2_claims_t *c)
{
    static const char fixed[] =
        "{\"sub\":\"alice\",\"groups\":[\"a\",\"b\"],\"realm_access\":"
        "{\"roles\":[\"r\"]},\"n\":1.5}";
    oauth2_claims_t *f;
    const char *sub_before = oauth2_claims_get_string(c, "sub");
    char *copy = sub_before ? apr_pstrdup(p, sub_before) : NULL;

    if (oauth2_claims_parse(p, fixed, sizeof(fixed) - 1, sizeof(fixed), &f,
                            NULL)
        != APR_SUCCESS) {
        abort();
    }
    oauth2_claims_merge(f, c);
    oauth2_claims_walk(p, f, leaf, NULL);
    /* Members already present win. */
    oauth2_claims_merge(c, f);
    if (copy != NULL
        && (oauth2_claims_get_string(c, "sub") == NULL
            || strcmp(copy, oauth2_claims_get_string(c, "sub")))) {
        abort();
    }
    oauth2_claims_walk(p, c, leaf, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    apr_size_t plen = nl ? (apr_size_t)(nl - in) : 0;
    const char *json = nl ? nl + 1 : in;
    apr_size_t jlen = size - (apr_size_t)(json - in);
    oauth2_claims_t *c = NULL;
    const char *err = NULL;
    apr_pool_t *p;
    apr_status_t rv;

    apr_pool_create(&p, root);
    rv = oauth2_claims_parse(p, json, jlen, OAUTH2_MAX_JWT, &c, &err);
    if (rv != APR_SUCCESS) {
        if (err == NULL || c != NULL
            || (rv != OAUTH2_EMALFORMED && rv != OAUTH2_ETOOBIG)) {
            abort();
        }
        apr_pool_destroy(p);
        return 0;
    }
    check_lookup(p, c, apr_pstrmemdup(p, in, plen));
    oauth2_claims_walk(p, c, leaf, NULL);
    check_validate(p, c);
    check_merge(p, c);
    apr_pool_destroy(p);
    return 0;
}
