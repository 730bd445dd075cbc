/*
 * apache_authz.c: the authorization providers behind Require oauth2-group,
 * oauth2-claim, oauth2-email-domain and oauth2-provider, registered with
 * mod_authz_core so that <RequireAll>, <RequireAny>, <RequireNone> and
 * .htaccess work. Each parses its Require line once (configuration time) and
 * checks it against the session that authentication decoded for the request,
 * through the engine (access.h). The group addresses and resources that
 * oauth2-group lines of the configuration name are noted in the virtual host's
 * configuration, for the login to resolve; a resource of an .htaccess
 * line is resolved on first use.
 */
#include "apache_authz.h"

#include <string.h>

#include "apr_strings.h"
#include "http_core.h"
#include "ap_provider.h"
#include "ap_regex.h"
#include "http_request.h"
#include "mod_auth.h"

#include "access.h"
#include "authz.h"

static const void *regex_compile(apr_pool_t *p, const char *pattern,
                                 const char **err)
{
    ap_regex_t *re = ap_pregcomp(p, pattern, AP_REG_EXTENDED | AP_REG_NOSUB);

    if (re == NULL) {
        *err = apr_psprintf(p, "'%s' is not a regular expression", pattern);
    }
    return re;
}

static int regex_match(const void *re, const char *value)
{
    return ap_regexec(re, value, 0, NULL, 0) == 0;
}

const oauth2_regex_ops_t auth_oauth2_regex = { regex_compile, regex_match };

/* Splits a Require line (quotes as in any directive) and parses it. */
static const char *parse_rule(cmd_parms *cmd, const char *line,
                              const void **parsed, oauth2_rule_kind_e kind)
{
    apr_array_header_t *words = apr_array_make(cmd->pool, 4, sizeof(char *));
    oauth2_rule_t *rule = NULL;
    const char *err = NULL;

    while (*line != '\0') {
        char *w = ap_getword_conf(cmd->pool, &line);

        if (*w != '\0') {
            APR_ARRAY_PUSH(words, char *) = w;
        }
    }
    if (oauth2_authz_parse(cmd->pool, kind, words, regex_compile, regex_match,
                           &rule, &err)
        != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "Require %s: %s",
                            oauth2_authz_rule_name(kind), err);
    }
    /* The configuration, not an .htaccess file read while serving (whose
     * server config threads share, read-only). */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_RUN_MPM) {
        oauth2_cfg_t *c = auth_oauth2_srv(cmd->server)->cfg;

        oauth2_authz_note(cmd->pool, rule, &c->rule_groups, &c->rule_resources);
    }
    *parsed = rule;
    return NULL;
}

/* One check for every provider: the engine decides on the session
 * that authentication decoded for this request. */
static authz_status check_rule(request_rec *r, const char *line,
                               const void *parsed)
{
    auth_oauth2_req_t *req = auth_oauth2_req_find(r);
    oauth2_request_t v;
    oauth2_response_t resp;
    oauth2_access_e rc;

    if (r->user == NULL) {
        return AUTHZ_DENIED_NO_USER;
    }
    auth_oauth2_view(r, &v);
    memset(&resp, 0, sizeof(resp));
    rc = oauth2_access_authorize(auth_oauth2_srv(r->server)->site, &v,
                                 req ? &req->authn : NULL, r->user, parsed,
                                 line, &resp);
    /* A session written back (rules resolved on first use) may carry
     * cookies. */
    auth_oauth2_respond(r, &resp);
    switch (rc) {
    case OAUTH2_ACCESS_GRANTED:
        return AUTHZ_GRANTED;
    case OAUTH2_ACCESS_DENIED:
        return AUTHZ_DENIED;
    case OAUTH2_ACCESS_NO_USER:
        return AUTHZ_DENIED_NO_USER;
    case OAUTH2_ACCESS_API_FAILED:
        auth_oauth2_api_failed(r, req);
        return AUTHZ_GENERAL_ERROR;
    case OAUTH2_ACCESS_ERROR:
        return AUTHZ_GENERAL_ERROR;
    }
    return AUTHZ_GENERAL_ERROR;
}

/* A parser per kind: cmd->directive need not be the Require line (in an
 * <AuthzProviderAlias> it is the last directive inside). */
#define PARSE(fn, kind)                                                  \
    static const char *fn(cmd_parms *c, const char *l, const void **out) \
    {                                                                    \
        return parse_rule(c, l, out, kind);                              \
    }
PARSE(parse_group, OAUTH2_RULE_GROUP)
PARSE(parse_claim, OAUTH2_RULE_CLAIM)
PARSE(parse_domain, OAUTH2_RULE_EMAIL_DOMAIN)
PARSE(parse_provider, OAUTH2_RULE_PROVIDER)

static const authz_provider rule_providers[] = {
    [OAUTH2_RULE_GROUP] = { check_rule, parse_group },
    [OAUTH2_RULE_CLAIM] = { check_rule, parse_claim },
    [OAUTH2_RULE_EMAIL_DOMAIN] = { check_rule, parse_domain },
    [OAUTH2_RULE_PROVIDER] = { check_rule, parse_provider },
};

void auth_oauth2_register_authz(apr_pool_t *p)
{
    int kind;

    for (kind = 0; oauth2_authz_rule_name(kind) != NULL; kind++) {
        ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP,
                                  oauth2_authz_rule_name(kind),
                                  AUTHZ_PROVIDER_VERSION, &rule_providers[kind],
                                  AP_AUTH_INTERNAL_PER_CONF);
    }
}
