/*
 * fuzz_metadata.c: libFuzzer target for provider metadata (src/metadata.c,
 * OpenID Connect Discovery). The input is a discovery document, checked
 * for a fixed provider (issuer https://op.example) with and without an
 * OAuth2Endpoint jwks override. Invariants: success only with the exact
 * issuer, every endpoint an http(s) URL, and the override winning; every
 * failure is OAUTH2_EUPSTREAM with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "config.h"
#include "errors.h"
#include "http.h"
#include "metadata.h"

#define ISSUER   "https://op.example"
#define OVERRIDE "https://keys.example/jwks"

static apr_pool_t *root;
static oauth2_provider_t *plain, *overridden;

static oauth2_provider_t *provider(int with_jwks)
{
    oauth2_cfg_t *cfg = oauth2_cfg_create(root);
    oauth2_http_opts_t http = { 1000, 1000, NULL, 0, NULL, OAUTH2_CALL_OTHER };
    oauth2_provider_t *prov = NULL;
    const char *err = NULL;

    if (oauth2_cfg_set_provider(root, cfg, ISSUER, NULL) != NULL
        || (with_jwks
            && oauth2_cfg_set_endpoint(root, cfg, "jwks", OVERRIDE) != NULL)) {
        abort();
    }
    cfg->client_id = "c";
    oauth2_cfg_finalize(root, cfg);
    if (oauth2_provider_create(root, cfg, &http, &prov, &err) != APR_SUCCESS) {
        abort();
    }
    return prov;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    plain = provider(0);
    overridden = provider(1);
    return 0;
}

static int is_url(const char *u)
{
    /* Schemes compare case-insensitively (RFC 3986 §3.1). */
    return u == NULL || strncasecmp(u, "http://", 7) == 0
           || strncasecmp(u, "https://", 8) == 0;
}

static void check(apr_pool_t *p, oauth2_provider_t *prov, const char *doc,
                  size_t size, int with_jwks)
{
    oauth2_endpoints_t ep;
    const char *err = NULL;
    apr_status_t rv;

    memset(&ep, 0, sizeof(ep));
    rv = oauth2_provider_parse_discovery(prov, p, doc, size, &ep, &err);
    if (rv != APR_SUCCESS) {
        if (rv != OAUTH2_EUPSTREAM || err == NULL) {
            abort();
        }
        return;
    }
    if (ep.issuer == NULL || strcmp(ep.issuer, ISSUER) != 0
        || ep.authorization == NULL || ep.token == NULL
        || !is_url(ep.authorization) || !is_url(ep.token)
        || !is_url(ep.userinfo) || !is_url(ep.end_session)
        || !is_url(ep.jwks)) {
        abort();
    }
    if (with_jwks ? strcmp(ep.jwks, OVERRIDE) != 0 : ep.jwks == NULL) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *doc;

    apr_pool_create(&p, root);
    doc = apr_pstrmemdup(p, (const char *)data, size);
    check(p, plain, doc, size, 0);
    check(p, overridden, doc, size, 1);
    apr_pool_destroy(p);
    return 0;
}
