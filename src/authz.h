/*
 * authz.h: the authorization rules behind `Require oauth2-group`,
 * `Require oauth2-claim` and `Require oauth2-email-domain`, parsed once at
 * configuration time and checked against a session without parsing
 * anything (the session's claims are already flattened, see session.h).
 *
 * Regular expressions are compiled by the caller (the glue uses
 * ap_pregcomp) and matched through a callback (config.h
 * oauth2_regex_ops_t), so this file needs no regex library.
 *
 * Two kinds of oauth2-group words name an API resource instead of a
 * group, as oauth2-proxy does: "project:acme/app[=LEVEL]" a GitLab project
 * (LEVEL guest, planner, reporter, developer, maintainer, owner or their
 * numbers 10..50; reporter by default) and "repo:acme/app[=LEVEL]" a
 * GitHub repository (LEVEL pull, triage, push, maintain, admin; any
 * collaborator by default). A group path never contains ':', so neither
 * can be confused with a GitLab group; a Google group is an address. The
 * user's level comes from the provider's API (groups.c) and is recorded
 * in the session (session.h resources).
 */
#ifndef OAUTH2_AUTHZ_H
#define OAUTH2_AUTHZ_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "config.h"
#include "session.h"

typedef enum {
    OAUTH2_RULE_GROUP,        /* any listed group */
    OAUTH2_RULE_CLAIM,        /* any NAME:VALUE or NAME~REGEX term */
    OAUTH2_RULE_EMAIL_DOMAIN, /* the verified email's domain is listed */
    OAUTH2_RULE_PROVIDER      /* the session's named provider is listed
                                 (access.c: a session does not hold it) */
} oauth2_rule_kind_e;

/** The Require word of a kind ("oauth2-group"), or NULL past the last
 * kind (the glue registers them all). */
const char *oauth2_authz_rule_name(int kind);

/** One term of an oauth2-claim rule. */
typedef struct {
    const char *claim; /* dotted path */
    const char *value; /* NAME:VALUE, or NULL */
    const void *re;    /* NAME~REGEX, or NULL */
} oauth2_claim_term_t;

/** The kinds of API resources. */
typedef enum {
    OAUTH2_RES_PROJECT = 1, /* a GitLab project */
    OAUTH2_RES_REPO         /* a GitHub repository */
} oauth2_res_kind_e;

/* GitLab access levels (docs "Roles and permissions"; API "Valid access
 * levels"). */
#define OAUTH2_GITLAB_REPORTER 20
/* GitHub repository roles, as ranks: pull 1 < triage 2 < push 3 <
 * maintain 4 < admin 5 (docs "Repository roles for an organization"). */
#define OAUTH2_GITHUB_PULL  1
#define OAUTH2_GITHUB_ADMIN 5

/** One resource word of an oauth2-group rule. */
typedef struct {
    oauth2_res_kind_e kind;
    const char *path; /* "acme/app", lower case */
    const char *key;  /* "project:acme/app": the session's resource key */
    int min;          /* the least level admitted */
} oauth2_res_term_t;

/** A parsed Require line. */
typedef struct {
    oauth2_rule_kind_e kind;
    apr_array_header_t *values;    /* groups or domains (const char *), or
                                      terms (oauth2_claim_term_t) */
    apr_array_header_t *resources; /* oauth2-group: oauth2_res_term_t */
    oauth2_regex_match_fn match;
} oauth2_rule_t;

/**
 * Parses the words of a Require line (already split, quotes removed) into
 * a rule from p. Groups: any non-empty words. Domains: host names, stored
 * lower-case. Claims: NAME:VALUE (the value may contain ':') or NAME~REGEX;
 * a NAME that is a URL ("https://example.com/roles:admin") keeps its
 * "scheme://" part.
 * @return APR_SUCCESS, or APR_EINVAL with *err naming the bad word
 */
apr_status_t oauth2_authz_parse(apr_pool_t *p, oauth2_rule_kind_e kind,
                                const apr_array_header_t *words,
                                oauth2_regex_compile_fn compile,
                                oauth2_regex_match_fn match,
                                oauth2_rule_t **rule, const char **err);

/**
 * 1 when the session satisfies the rule, 0 otherwise. Group names and
 * claim values compare exactly (API groups, which are addresses, without
 * regard to case); email domains case-insensitively, after the only '@'
 * of an email whose email_verified was true; a resource word when the
 * session records at least its level for it.
 */
int oauth2_authz_check(const oauth2_rule_t *rule, const oauth2_session_t *s);

/**
 * Why a rule refuses a session, in words for the log (from p): e.g. "the
 * provider sent no email_verified true for alice@example.com", "the
 * user's groups are: staff, devs" (with the levels the session records
 * for the rule's project:/repo: words), "no value of the claim matches:
 * department is \"r&d\"". Bounded; never a token. NULL for NULL
 * arguments.
 */
const char *oauth2_authz_explain(apr_pool_t *p, const oauth2_rule_t *rule,
                                 const oauth2_session_t *s);

/**
 * The resource words of rule that the session records nothing for
 * (oauth2_res_term_t, from p), or NULL when there are none: rules met
 * first in an .htaccess file, resolved on first use.
 */
apr_array_header_t *oauth2_authz_unresolved(apr_pool_t *p,
                                            const oauth2_rule_t *rule,
                                            const oauth2_session_t *s);

/**
 * Parses one resource word ("project:PATH[=LEVEL]", "repo:OWNER/NAME
 * [=LEVEL]") into t (from p).
 * @return APR_SUCCESS; APR_ENOENT when the word is not a resource word
 *         (no such prefix); APR_EINVAL with *err for a malformed path or
 *         an unknown level
 */
apr_status_t oauth2_authz_parse_resource(apr_pool_t *p, const char *word,
                                         oauth2_res_term_t *t,
                                         const char **err);

/**
 * Adds what a rule names to the lists of the server configuration (each
 * entry once): group words with an '@' (Google groups, checked at login
 * for nested membership) to *groups, resource keys to *resources. The
 * arrays are created from p when NULL.
 */
void oauth2_authz_note(apr_pool_t *p, const oauth2_rule_t *rule,
                       apr_array_header_t **groups,
                       apr_array_header_t **resources);

/** The name of a level of a resource key ("developer", "push", "none"),
 * or its number as text when it has none (from p). */
const char *oauth2_authz_level_name(apr_pool_t *p, const char *key, int level);

/** The domain of an email for the email-domain rule: the part after its
 * only '@', or NULL when the address has no or several '@' or an empty
 * side. Points into email. */
const char *oauth2_authz_email_domain(const char *email);

#endif /* OAUTH2_AUTHZ_H */
