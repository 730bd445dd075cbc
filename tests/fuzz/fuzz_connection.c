/*
 * fuzz_connection.c: libFuzzer target for the request header rules of
 * src/request.c. The input is a Connection header value: after
 * oauth2_request_connection_strip, no run of token characters in the
 * value names an identity header (whatever separators a proxy splits on:
 * ',', spaces, ';', quotes), every run that is not one is kept, and a
 * value that names none comes back unchanged (NULL).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "request.h"

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    return 0;
}

static int tchar(char c)
{
    return apr_isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* Calls fn for every run of token characters; counts those of ours. */
static apr_size_t runs(apr_pool_t *p, const char *s, apr_size_t *total)
{
    apr_size_t ours = 0;
    const char *start;

    *total = 0;
    while (*s) {
        while (*s && !tchar(*s)) {
            s++;
        }
        for (start = s; tchar(*s); s++) {
        }
        if (s == start) {
            break;
        }
        (*total)++;
        ours += oauth2_request_identity_header(
            apr_pstrmemdup(p, start, (apr_size_t)(s - start)));
    }
    return ours;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *in, *out;
    apr_size_t total_in, total_out, ours_in, ours_out;

    apr_pool_create(&p, root);
    in = apr_pstrmemdup(p, (const char *)data, size);
    ours_in = runs(p, in, &total_in);
    out = oauth2_request_connection_strip(p, in);
    if (out == NULL) {
        if (ours_in != 0) {
            abort(); /* a name of ours left in place */
        }
    }
    else {
        ours_out = runs(p, out, &total_out);
        if (ours_in == 0 || ours_out != 0 || total_out != total_in - ours_in) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
