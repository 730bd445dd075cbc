/*
 * authz.c: Require oauth2-group / oauth2-claim / oauth2-email-domain,
 * and the resource words of oauth2-group (see authz.h).
 */
#include <stdlib.h>
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

/* A level's name and value. */
typedef struct {
    const char *name;
    int level;
} level_t;

/* GitLab docs "Roles and permissions" (the API's access_level values). */
static const level_t gitlab_levels[] = {
    { "guest", 10 },     { "planner", 15 },    { "reporter", 20 },
    { "developer", 30 }, { "maintainer", 40 }, { "owner", 50 },
    { NULL, 0 },
};

/* GitHub docs "Repository roles for an organization", as ranks; the
 * web's names (read, write) are the API's pull and push. */
static const level_t github_levels[] = {
    { "pull", 1 },  { "triage", 2 }, { "push", 3 },  { "maintain", 4 },
    { "admin", 5 }, { "read", 1 },   { "write", 3 }, { NULL, 0 },
};

static const level_t *levels_of(oauth2_res_kind_e kind)
{
    return kind == OAUTH2_RES_PROJECT ? gitlab_levels : github_levels;
}

/* A level by name or, for GitLab, by its number; -1 when unknown. */
static int level_parse(oauth2_res_kind_e kind, const char *v)
{
    const level_t *l = levels_of(kind);
    int i, n = -1;

    if (kind == OAUTH2_RES_PROJECT && *v != '\0' && strlen(v) <= 2
        && strspn(v, "0123456789") == strlen(v)) {
        n = atoi(v);
    }
    for (i = 0; l[i].name != NULL; i++) {
        if (strcasecmp(v, l[i].name) == 0 || n == l[i].level) {
            return l[i].level;
        }
    }
    return -1;
}

/* One path segment: letters, digits, '_', '-', '.' (GitLab and GitHub
 * names), but not "." or "..". Returns its length, 0 when invalid. */
static apr_size_t segment(const char *s, int github_owner)
{
    apr_size_t n = 0;

    while (apr_isalnum(s[n]) || s[n] == '-'
           || (!github_owner && (s[n] == '_' || s[n] == '.'))) {
        n++;
    }
    if ((n == 1 && s[0] == '.') || (n == 2 && strncmp(s, "..", 2) == 0)) {
        return 0;
    }
    return s[n] == '/' || s[n] == '\0' ? n : 0;
}

/* GitLab: namespace/.../project (two segments at least); GitHub:
 * owner/name (exactly two). */
static int path_ok(oauth2_res_kind_e kind, const char *path)
{
    const char *s = path;
    int n = 0;

    if (strlen(path) > 1024) {
        return 0;
    }
    while (*s != '\0') {
        apr_size_t len = segment(s, kind == OAUTH2_RES_REPO && n == 0);

        if (len == 0) {
            return 0;
        }
        n++;
        s += len;
        s += *s == '/' && s[1] != '\0';
        if (*s == '/') {
            return 0;
        }
    }
    return kind == OAUTH2_RES_PROJECT ? n >= 2 : n == 2;
}

apr_status_t oauth2_authz_parse_resource(apr_pool_t *p, const char *word,
                                         oauth2_res_term_t *t, const char **err)
{
    const char *prefix = strncmp(word, "project:", 8) == 0 ? "project:"
                         : strncmp(word, "repo:", 5) == 0  ? "repo:"
                                                           : NULL;
    char *path, *eq, *c;

    if (prefix == NULL) {
        return APR_ENOENT;
    }
    t->kind = prefix[0] == 'p' ? OAUTH2_RES_PROJECT : OAUTH2_RES_REPO;
    path = apr_pstrdup(p, word + strlen(prefix));
    eq = strchr(path, '=');
    t->min = t->kind == OAUTH2_RES_PROJECT ? OAUTH2_GITLAB_REPORTER
                                           : OAUTH2_GITHUB_PULL;
    if (eq != NULL) {
        *eq = '\0';
        t->min = level_parse(t->kind, eq + 1);
    }
    if (!path_ok(t->kind, path) || t->min < 0) {
        *err = apr_psprintf(
            p, "'%s' is not %s", word,
            t->kind == OAUTH2_RES_PROJECT
                ? "project:GROUP/PROJECT[=LEVEL] (LEVEL guest, planner, "
                  "reporter, developer, maintainer, owner, or 10..50)"
                : "repo:OWNER/NAME[=LEVEL] (LEVEL pull, triage, push, "
                  "maintain or admin)");
        return APR_EINVAL;
    }
    for (c = path; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    t->path = path;
    t->key = apr_pstrcat(p, prefix, path, NULL);
    return APR_SUCCESS;
}

const char *oauth2_authz_level_name(apr_pool_t *p, const char *key, int level)
{
    const level_t *l =
        levels_of(strncmp(key, "project:", 8) == 0 ? OAUTH2_RES_PROJECT
                                                   : OAUTH2_RES_REPO);
    int i;

    if (level <= 0) {
        return "none";
    }
    for (i = 0; l[i].name != NULL; i++) {
        if (l[i].level == level) {
            return l[i].name;
        }
    }
    return apr_itoa(p, level);
}

/* One word of an oauth2-group rule: a resource or a group name. */
static apr_status_t parse_group_word(apr_pool_t *p, oauth2_rule_t *r,
                                     const char *w, const char **err)
{
    oauth2_res_term_t t;
    apr_status_t rv = oauth2_authz_parse_resource(p, w, &t, err);

    if (rv == APR_SUCCESS) {
        APR_ARRAY_PUSH(r->resources, oauth2_res_term_t) = t;
        return APR_SUCCESS;
    }
    if (rv != APR_ENOENT) {
        return rv;
    }
    if (*w == '\0') {
        *err = "an empty group name";
        return APR_EINVAL;
    }
    APR_ARRAY_PUSH(r->values, const char *) = w;
    return APR_SUCCESS;
}

/* By kind: the Require words of the rules. */
static const char *const rule_names[] = {
    [OAUTH2_RULE_GROUP] = "oauth2-group",
    [OAUTH2_RULE_CLAIM] = "oauth2-claim",
    [OAUTH2_RULE_EMAIL_DOMAIN] = "oauth2-email-domain",
    [OAUTH2_RULE_PROVIDER] = "oauth2-provider",
};

const char *oauth2_authz_rule_name(int kind)
{
    return kind >= 0 && kind < (int)(sizeof(rule_names) / sizeof(rule_names[0]))
               ? rule_names[kind]
               : NULL;
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
    r->resources = apr_array_make(p, 1, sizeof(oauth2_res_term_t));
    for (i = 0; i < words->nelts; i++) {
        const char *w = APR_ARRAY_IDX(words, i, const char *);

        /* "Require oauth2-group finance   # admins only" would make
         * "#", "admins" and "only" groups: a comment that widens access. */
        if (*w == '#') {
            *err = apr_psprintf(p, OAUTH2_NO_EOL_COMMENT, w);
            return APR_EINVAL;
        }
        if (kind == OAUTH2_RULE_GROUP) {
            if (parse_group_word(p, r, w, err) != APR_SUCCESS) {
                return APR_EINVAL;
            }
            continue;
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
        if (kind == OAUTH2_RULE_PROVIDER && !oauth2_cfg_provider_name_ok(w)) {
            *err = apr_psprintf(p, "'%s' is not a provider name", w);
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

/* 1 when list field f of s has one of the rule's group names. */
static int groups_in(const oauth2_rule_t *rule, const oauth2_session_t *s,
                     oauth2_session_field_e f)
{
    const char *pos = NULL, *g;
    int i;

    while ((g = oauth2_session_list_next(s, f, &pos)) != NULL) {
        for (i = 0; i < rule->values->nelts; i++) {
            const char *want = APR_ARRAY_IDX(rule->values, i, const char *);

            if (f == OAUTH2_SF_API_GROUPS ? strcasecmp(g, want) == 0
                                          : strcmp(g, want) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static int check_groups(const oauth2_rule_t *rule, const oauth2_session_t *s)
{
    int i, level;

    if (groups_in(rule, s, OAUTH2_SF_GROUPS)
        || groups_in(rule, s, OAUTH2_SF_API_GROUPS)) {
        return 1;
    }
    for (i = 0; rule->resources != NULL && i < rule->resources->nelts; i++) {
        const oauth2_res_term_t *t =
            &APR_ARRAY_IDX(rule->resources, i, oauth2_res_term_t);

        if (oauth2_session_resource(s, t->key, &level) && level >= t->min) {
            return 1;
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
    oauth2_session_claims_t it = { NULL, 0 };
    const char *path, *value;

    while (oauth2_session_claims_next(s, &it, &path, &value)) {
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
    case OAUTH2_RULE_PROVIDER:
        return 0; /* access.c decides on the session's provider */
    }
    return 0;
}

apr_array_header_t *oauth2_authz_unresolved(apr_pool_t *p,
                                            const oauth2_rule_t *rule,
                                            const oauth2_session_t *s)
{
    apr_array_header_t *out = NULL;
    int i, level;

    for (i = 0;
         rule != NULL && rule->resources != NULL && i < rule->resources->nelts;
         i++) {
        const oauth2_res_term_t *t =
            &APR_ARRAY_IDX(rule->resources, i, oauth2_res_term_t);

        if (!oauth2_session_resource(s, t->key, &level)) {
            if (out == NULL) {
                out = apr_array_make(p, 2, sizeof(oauth2_res_term_t));
            }
            APR_ARRAY_PUSH(out, oauth2_res_term_t) = *t;
        }
    }
    return out;
}

/* Adds s to *list once. */
static void note_once(apr_pool_t *p, apr_array_header_t **list, const char *s)
{
    int i;

    if (*list == NULL) {
        *list = apr_array_make(p, 4, sizeof(const char *));
    }
    for (i = 0; i < (*list)->nelts; i++) {
        if (strcasecmp(APR_ARRAY_IDX(*list, i, const char *), s) == 0) {
            return;
        }
    }
    APR_ARRAY_PUSH(*list, const char *) = apr_pstrdup(p, s);
}

void oauth2_authz_note(apr_pool_t *p, const oauth2_rule_t *rule,
                       apr_array_header_t **groups,
                       apr_array_header_t **resources)
{
    int i;

    if (rule == NULL || rule->kind != OAUTH2_RULE_GROUP) {
        return;
    }
    for (i = 0; i < rule->values->nelts; i++) {
        const char *g = APR_ARRAY_IDX(rule->values, i, const char *);

        if (strchr(g, '@') != NULL) {
            note_once(p, groups, g);
        }
    }
    for (i = 0; i < rule->resources->nelts; i++) {
        note_once(p, resources,
                  APR_ARRAY_IDX(rule->resources, i, oauth2_res_term_t).key);
    }
}

/* A list field of the session, comma-joined and bounded, for the log. */
static const char *list_text(apr_pool_t *p, const oauth2_session_t *s,
                             oauth2_session_field_e f)
{
    const char *pos = NULL, *g, *out = NULL;
    int n = 0;

    while ((g = oauth2_session_list_next(s, f, &pos)) != NULL && n < 32) {
        out = out ? apr_pstrcat(p, out, ", ", g, NULL) : g;
        n++;
    }
    if (g != NULL) {
        out = apr_pstrcat(p, out, ", ...", NULL);
    }
    return out;
}

/* What the session records for the resource words of a rule: "project:
 * acme/app: developer, repo:acme/lib: not asked", or NULL without any. */
static const char *resources_text(apr_pool_t *p, const oauth2_rule_t *rule,
                                  const oauth2_session_t *s)
{
    const char *out = NULL;
    int i, level;

    for (i = 0; rule->resources != NULL && i < rule->resources->nelts && i < 8;
         i++) {
        const oauth2_res_term_t *t =
            &APR_ARRAY_IDX(rule->resources, i, oauth2_res_term_t);
        const char *v = oauth2_session_resource(s, t->key, &level)
                            ? oauth2_authz_level_name(p, t->key, level)
                            : "not known";

        out = apr_psprintf(p, "%s%s%.200s: %s", out ? out : "", out ? ", " : "",
                           t->key, v);
    }
    return out;
}

static const char *explain_groups(apr_pool_t *p, const oauth2_rule_t *rule,
                                  const oauth2_session_t *s)
{
    const char *groups = list_text(p, s, OAUTH2_SF_GROUPS);
    const char *api = list_text(p, s, OAUTH2_SF_API_GROUPS);
    const char *res = resources_text(p, rule, s);
    const char *out;

    if (groups == NULL && api == NULL) {
        out = "the user has no groups (none in the groups claim, none from a "
              "provider API)";
    }
    else {
        out = apr_psprintf(p, "the user's groups are: %.500s%s%.500s",
                           groups ? groups : "", groups && api ? ", " : "",
                           api ? api : "");
    }
    return res ? apr_psprintf(p, "%s; the user's levels: %s", out, res) : out;
}

static const char *explain_domain(apr_pool_t *p, const oauth2_session_t *s)
{
    const char *email = s->f[OAUTH2_SF_EMAIL];

    if (email == NULL || *email == '\0') {
        return "the provider sent no email";
    }
    if (!(s->flags & OAUTH2_SESSION_EMAIL_VERIFIED)) {
        return apr_psprintf(p,
                            "the provider did not send email_verified true "
                            "for %.200s (an unverified email is never "
                            "matched)",
                            email);
    }
    return apr_psprintf(p, "the email %.200s is in another domain", email);
}

/* The values of one claim, bounded: "department: \"r&d\"", "roles:
 * \"a\", \"b\"", "department: absent". */
static const char *claim_text(apr_pool_t *p, const oauth2_session_t *s,
                              const char *claim)
{
    const char *pos = NULL, *path, *value, *out = NULL;
    int n = 0;

    while ((path = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos)) != NULL
           && (value = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &pos))
                  != NULL) {
        if (strcmp(path, claim) != 0) {
            continue;
        }
        if (++n > 8) {
            out = apr_pstrcat(p, out, ", ...", NULL);
            break;
        }
        out = apr_psprintf(p, "%s%s\"%.100s\"", out ? out : "", out ? ", " : "",
                           value);
    }
    if (out == NULL) {
        return apr_psprintf(p, "%.100s: absent", claim);
    }
    return apr_psprintf(p, "%.100s: %s", claim, out);
}

/* Each claim a rule's terms name, once. */
static const char *explain_claims(apr_pool_t *p, const oauth2_rule_t *rule,
                                  const oauth2_session_t *s)
{
    const char *out = NULL;
    int i, j;

    for (i = 0; i < rule->values->nelts && i < 8; i++) {
        const char *c =
            APR_ARRAY_IDX(rule->values, i, oauth2_claim_term_t).claim;

        for (j = 0; j < i; j++) {
            if (strcmp(
                    APR_ARRAY_IDX(rule->values, j, oauth2_claim_term_t).claim,
                    c)
                == 0) {
                break;
            }
        }
        if (j == i) {
            out = apr_pstrcat(p, out ? out : "", out ? "; " : "",
                              claim_text(p, s, c), NULL);
        }
    }
    return apr_pstrcat(p, "no value of the claim matches: ", out ? out : "",
                       NULL);
}

const char *oauth2_authz_explain(apr_pool_t *p, const oauth2_rule_t *rule,
                                 const oauth2_session_t *s)
{
    if (p == NULL || rule == NULL || s == NULL) {
        return NULL;
    }
    switch (rule->kind) {
    case OAUTH2_RULE_GROUP:
        return explain_groups(p, rule, s);
    case OAUTH2_RULE_EMAIL_DOMAIN:
        return explain_domain(p, s);
    case OAUTH2_RULE_PROVIDER:
        return "the user signed in with another provider";
    case OAUTH2_RULE_CLAIM:
        return explain_claims(p, rule, s);
    }
    return "";
}
