/*
 * authz.h: the authorization rules behind `Require oauth2-group`,
 * `Require oauth2-claim` and `Require oauth2-email-domain`, parsed once at
 * configuration time and checked against a session without parsing
 * anything (the session's claims are already flattened, see session.h).
 *
 * Regular expressions are compiled by the caller (the glue uses
 * ap_pregcomp) and matched through a callback, so this file needs no
 * regex library.
 */
#ifndef OAUTH2_AUTHZ_H
#define OAUTH2_AUTHZ_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "session.h"

typedef enum {
    OAUTH2_RULE_GROUP,       /* any listed group */
    OAUTH2_RULE_CLAIM,       /* any NAME:VALUE or NAME~REGEX term */
    OAUTH2_RULE_EMAIL_DOMAIN /* the verified email's domain is listed */
} oauth2_rule_kind_e;

/** Compiles a regular expression for a NAME~REGEX term (from p); returns
 * NULL with *err set when it does not compile. */
typedef const void *(*oauth2_regex_compile_fn)(apr_pool_t *p,
                                               const char *pattern,
                                               const char **err);

/** Does value match the compiled expression? */
typedef int (*oauth2_regex_match_fn)(const void *re, const char *value);

/** One term of an oauth2-claim rule. */
typedef struct {
    const char *claim; /* dotted path */
    const char *value; /* NAME:VALUE, or NULL */
    const void *re;    /* NAME~REGEX, or NULL */
} oauth2_claim_term_t;

/** A parsed Require line. */
typedef struct {
    oauth2_rule_kind_e kind;
    apr_array_header_t *values; /* groups or domains (const char *), or
                                   terms (oauth2_claim_term_t) */
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
 * claim values compare exactly; email domains case-insensitively, after
 * the only '@' of an email whose email_verified was true.
 */
int oauth2_authz_check(const oauth2_rule_t *rule, const oauth2_session_t *s);

/** The domain of an email for the email-domain rule: the part after its
 * only '@', or NULL when the address has no or several '@' or an empty
 * side. Points into email. */
const char *oauth2_authz_email_domain(const char *email);

#endif /* OAUTH2_AUTHZ_H */
