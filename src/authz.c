/*
 * authz.c: Require oauth2-group / oauth2-claim / oauth2-email-domain
 * (see authz.h).
 */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "authz.h"
#include "config.h"

/* Where the claim name of a term ends: at the first ':' or '~' after an
 * optional "scheme://" (so namespaced claims such as
 * "https://example.com/roles:admin" work). */
static const char *term_split(const char *w)
{
    const char *start = w, *sep = strstr(w, "://");

    if (sep != NULL && strcspn(w, ":~") == (apr_size_t)(sep - w)) {
        /* A URL claim name: its authority (host and port) and the path
         * up to the separator belong to the name. */
        start = sep + 3;
        start += strcspn(start, "/");
    }
    return start + strcspn(start, ":~");
}

static apr_status_t parse_term(apr_pool_t *p, const char *w,
                               oauth2_regex_compile_fn compile,
                               oauth2_claim_term_t *t, const char **err)
{
    const char *sep = term_split(w);

    if (*sep == '\0' || sep == w) {
        *err = apr_psprintf(p, "'%s' is not NAME:VALUE or NAME~REGEX", w);
        return APR_EINVAL;
    }
    t->claim = apr_pstrmemdup(p, w, (apr_size_t)(sep - w));
    t->value = NULL;
    t->re = NULL;
    if (*sep == ':') {
        t->value = sep + 1;
        return APR_SUCCESS;
    }
    if (compile == NULL || sep[1] == '\0') {
        *err = apr_psprintf(p, "'%s' has no regular expression", w);
        return APR_EINVAL;
    }
    t->re = compile(p, sep + 1, err);
    return t->re ? APR_SUCCESS : APR_EINVAL;
}

/* A domain word: letters, digits, '-' and '.', lower-cased. */
static const char *parse_domain(apr_pool_t *p, const char *w)
{
    char *d = apr_pstrdup(p, w), *s;

    for (s = d; *s; s++) {
        if (!apr_isalnum(*s) && *s != '-' && *s != '.') {
            return NULL;
        }
        *s = (char)apr_tolower(*s);
    }
    return *d && d[0] != '.' ? d : NULL;
}

apr_status_t oauth2_authz_parse(apr_pool_t *p, oauth2_rule_kind_e kind,
                                const apr_array_header_t *words,
                                oauth2_regex_compile_fn compile,
                                oauth2_regex_match_fn match,
                                oauth2_rule_t **out, const char **err)
{
    oauth2_rule_t *r = apr_pcalloc(p, sizeof(*r));
    int i;

    if (words == NULL || words->nelts == 0) {
        *err = "needs at least one argument";
        return APR_EINVAL;
    }
    r->kind = kind;
    r->match = match;
    r->values =
        apr_array_make(p, words->nelts,
                       kind == OAUTH2_RULE_CLAIM ? sizeof(oauth2_claim_term_t)
                                                 : sizeof(const char *));
    for (i = 0; i < words->nelts; i++) {
        const char *w = APR_ARRAY_IDX(words, i, const char *);

        /* "Require oauth2-group finance   # admins only" would make
         * "#", "admins" and "only" groups: a comment that widens access. */
        if (*w == '#') {
            *err = apr_psprintf(p, OAUTH2_NO_EOL_COMMENT, w);
            return APR_EINVAL;
        }
        if (kind == OAUTH2_RULE_CLAIM) {
            /* A regex that could not be matched is no rule: without a
             * matcher, ~ terms do not parse. */
            if (parse_term(p, w, match != NULL ? compile : NULL,
                           apr_array_push(r->values), err)
                != APR_SUCCESS) {
                return APR_EINVAL;
            }
            continue;
        }
        if (kind == OAUTH2_RULE_GROUP && *w == '\0') {
            *err = "an empty group name";
            return APR_EINVAL;
        }
        if (kind == OAUTH2_RULE_EMAIL_DOMAIN) {
            w = parse_domain(p, w);
            if (w == NULL) {
                *err = apr_psprintf(p, "'%s' is not a domain",
                                    APR_ARRAY_IDX(words, i, const char *));
                return APR_EINVAL;
            }
        }
        APR_ARRAY_PUSH(r->values, const char *) = w;
    }
    *out = r;
    return APR_SUCCESS;
}

const char *oauth2_authz_email_domain(const char *email)
{
    const char *at;

    if (email == NULL) {
        return NULL;
    }
    at = strchr(email, '@');
    if (at == NULL || at == email || at[1] == '\0' || strchr(at + 1, '@')) {
        return NULL;
    }
    return at + 1;
}

static int check_groups(const oauth2_rule_t *rule, const oauth2_session_t *s)
{
    const char *pos = NULL, *g;
    int i;

    while ((g = oauth2_session_list_next(s, OAUTH2_SF_GROUPS, &pos)) != NULL) {
        for (i = 0; i < rule->values->nelts; i++) {
            if (strcmp(g, APR_ARRAY_IDX(rule->values, i, const char *)) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static int check_domain(const oauth2_rule_t *rule, const oauth2_session_t *s)
{
    const char *d = oauth2_authz_email_domain(s->f[OAUTH2_SF_EMAIL]);
    int i;

    if (d == NULL || !(s->flags & OAUTH2_SESSION_EMAIL_VERIFIED)) {
        return 0;
    }
    for (i = 0; i < rule->values->nelts; i++) {
        if (strcasecmp(d, APR_ARRAY_IDX(rule->values, i, const char *)) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Does any value of the claim at t->claim satisfy the term? */
static int check_term(const oauth2_rule_t *rule, const oauth2_claim_term_t *t,
                      const oauth2_session_t *s)
{
    const char *pos = NULL, *path, *value;

    while ((path = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos))
           != NULL) {
        value = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos);
        if (value == NULL) {
            return 0;
        }
        if (strcmp(path, t->claim) != 0) {
            continue;
        }
        if (t->value != NULL ? strcmp(value, t->value) == 0
                             : rule->match(t->re, value)) {
            return 1;
        }
    }
    return 0;
}

int oauth2_authz_check(const oauth2_rule_t *rule, const oauth2_session_t *s)
{
    int i;

    if (rule == NULL || s == NULL) {
        return 0;
    }
    switch (rule->kind) {
    case OAUTH2_RULE_GROUP:
        return check_groups(rule, s);
    case OAUTH2_RULE_EMAIL_DOMAIN:
        return check_domain(rule, s);
    case OAUTH2_RULE_CLAIM:
        for (i = 0; i < rule->values->nelts; i++) {
            if (check_term(rule,
                           &APR_ARRAY_IDX(rule->values, i, oauth2_claim_term_t),
                           s)) {
                return 1;
            }
        }
        return 0;
    }
    return 0;
}
