/*
 * apache_authz.c: the authorization providers behind Require oauth2-group,
 * oauth2-claim and oauth2-email-domain, registered with mod_authz_core so
 * that <RequireAll>, <RequireAny>, <RequireNone> and .htaccess work. Each
 * parses its Require line once (configuration time) and checks it against
 * the session that authentication decoded for the request. The group
 * addresses and resources that oauth2-group lines of the configuration
 * name are noted in the virtual host's configuration, for the login to
 * resolve; a resource of an .htaccess line is resolved on first use.
 */
#include "apache.h"

#include "apr_strings.h"
#include "http_core.h"
#include "ap_provider.h"
#include "ap_regex.h"
#include "http_request.h"
#include "mod_auth.h"

#include "authz.h"
#include "errors.h"

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

/* Splits a Require line (quotes as in any directive) and parses it. */
static const char *parse_rule(cmd_parms *cmd, const char *line,
                              const void **parsed, oauth2_rule_kind_e kind,
                              const char *name)
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
        return apr_psprintf(cmd->pool, "Require %s: %s", name, err);
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

static const char *parse_group(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    return parse_rule(cmd, line, parsed, OAUTH2_RULE_GROUP, "oauth2-group");
}

static const char *parse_claim(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    return parse_rule(cmd, line, parsed, OAUTH2_RULE_CLAIM, "oauth2-claim");
}

static const char *parse_domain(cmd_parms *cmd, const char *line,
                                const void **parsed)
{
    return parse_rule(cmd, line, parsed, OAUTH2_RULE_EMAIL_DOMAIN,
                      "oauth2-email-domain");
}

/* The Require word of a rule, for messages. */
static const char *rule_name(const oauth2_rule_t *rule)
{
    switch (rule->kind) {
    case OAUTH2_RULE_GROUP:
        return "oauth2-group";
    case OAUTH2_RULE_CLAIM:
        return "oauth2-claim";
    case OAUTH2_RULE_EMAIL_DOMAIN:
        return "oauth2-email-domain";
    }
    return "oauth2-?";
}

/* Resolves the resources of a rule that the session does not know yet
 * (the rule comes from an .htaccess file). 0: resolved (or nothing to
 * resolve); else the failure is logged and req->api_failed set. A bearer
 * token has no session to ask the APIs with: its resources stay unknown,
 * so such words do not admit it. */
static int resolve(request_rec *r, auth_oauth2_req_t *req,
                   const oauth2_rule_t *rule, const char *line)
{
    apr_array_header_t *terms =
        req->bearer ? NULL
                    : oauth2_authz_unresolved(r->pool, rule, req->session);
    const char *err = NULL;
    apr_status_t rv;

    if (terms == NULL) {
        return 0;
    }
    rv = auth_oauth2_session_resolve(r, auth_oauth2_srv(r->server), req, terms,
                                     &err);
    if (rv == APR_SUCCESS) {
        return 0;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "OA2304: Require oauth2-group %.200s could not be checked "
                  "for %.200s: %s (%s)",
                  line, r->user, err ? err : "", oauth2_strerror(rv));
    auth_oauth2_api_failed(r, req);
    return -1;
}

/* One check for the three providers: the rule reads the session that
 * authentication decoded for this request. */
static authz_status check_rule(request_rec *r, const char *line,
                               const void *parsed)
{
    auth_oauth2_req_t *req =
        ap_get_module_config(r->request_config, &auth_oauth2_module);

    if (r->user == NULL) {
        return AUTHZ_DENIED_NO_USER;
    }
    if (parsed == NULL) {
        return AUTHZ_GENERAL_ERROR;
    }
    if (req == NULL || !req->authenticated) {
        return AUTHZ_DENIED;
    }
    if (oauth2_authz_check(parsed, req->session)) {
        return AUTHZ_GRANTED;
    }
    /* Fails closed: an error, not a denial, which <RequireNone> would
     * turn into a grant. */
    if (resolve(r, req, parsed, line) != 0) {
        return AUTHZ_GENERAL_ERROR;
    }
    if (oauth2_authz_check(parsed, req->session)) {
        return AUTHZ_GRANTED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "OA2301: user %.200s does not satisfy Require %s %.200s",
                  r->user, rule_name(parsed), line);
    return AUTHZ_DENIED;
}

static const authz_provider group_provider = { check_rule, parse_group };
static const authz_provider claim_provider = { check_rule, parse_claim };
static const authz_provider domain_provider = { check_rule, parse_domain };

void auth_oauth2_register_authz(apr_pool_t *p)
{
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "oauth2-group",
                              AUTHZ_PROVIDER_VERSION, &group_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "oauth2-claim",
                              AUTHZ_PROVIDER_VERSION, &claim_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "oauth2-email-domain",
                              AUTHZ_PROVIDER_VERSION, &domain_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
