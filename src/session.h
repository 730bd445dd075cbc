/*
 * session.h: what the module knows about a logged-in user, prepared once
 * at login so that a request with a valid session parses nothing: the
 * user, email, groups and claims as ready strings, the expiries, and the
 * tokens. The same record is kept in every store (shared memory, socache,
 * a sealed cookie).
 *
 * Record layout (integers little-endian):
 *     "OA2S" | version u8 | flags u8 | 2 zero bytes
 *     created i64 | max_expires i64 | access_expires i64     (usec)
 *     ngroups u32 | nclaims u32 | hot_len u32
 *     field table: OAUTH2_SF_COUNT x (offset u32, length u32)
 *     field bytes, each followed by a NUL
 * The hot fields (everything a request needs) come first and end at
 * hot_len; the tokens come last. Lists (groups, claims) hold NUL-separated
 * entries: groups "g1\0g2\0", claims "path\0value\0path\0value\0", an
 * array claim giving one pair per element under the same path.
 *
 * Besides the groups of the claims, two lists come from provider APIs
 * (groups.c): API groups (Google Workspace groups, lower case) and
 * resources, "key\0level\0" pairs recording what the user may do in a
 * GitLab project ("project:acme/app\0" "30\0") or a GitHub repository
 * ("repo:acme/app\0" "3\0"); level 0 records "no access", so that a
 * refusal is not asked again.
 */
#ifndef OAUTH2_SESSION_H
#define OAUTH2_SESSION_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "claims.h"

/** Fields of a record, in storage order. */
typedef enum {
    OAUTH2_SF_USER = 0,
    OAUTH2_SF_EMAIL,
    OAUTH2_SF_USERNAME, /* preferred_username */
    OAUTH2_SF_GROUPS_HEADER,
    OAUTH2_SF_GROUPS,
    OAUTH2_SF_API_GROUPS, /* Google groups, lower case */
    OAUTH2_SF_RESOURCES,  /* "key\0level\0" pairs */
    OAUTH2_SF_CLAIMS,
    OAUTH2_SF_SUB,
    OAUTH2_SF_SID,
    OAUTH2_SF_ISS,
    OAUTH2_SF_HOT_END, /* fields before this are "hot" */
    OAUTH2_SF_ACCESS_TOKEN = OAUTH2_SF_HOT_END,
    OAUTH2_SF_REFRESH_TOKEN,
    OAUTH2_SF_ID_TOKEN,
    OAUTH2_SF_COUNT
} oauth2_session_field_e;

#define OAUTH2_SESSION_HEADER_LEN     (8 + 24 + 12 + OAUTH2_SF_COUNT * 8)
#define OAUTH2_SESSION_EMAIL_VERIFIED 0x01

/** A decoded session: pointers into the record it was decoded from. */
typedef struct {
    apr_time_t created;
    apr_time_t max_expires;    /* created + OAuth2SessionMaxAge */
    apr_time_t access_expires; /* access token expiry, 0 when unknown */
    unsigned flags;            /* OAUTH2_SESSION_* */
    apr_uint32_t ngroups;      /* entries of OAUTH2_SF_GROUPS */
    apr_uint32_t nclaims;
    const char *f[OAUTH2_SF_COUNT]; /* NUL-terminated, "" when absent */
    apr_uint32_t len[OAUTH2_SF_COUNT];
} oauth2_session_t;

/** What a login knows, to build a session from. */
typedef struct {
    const oauth2_claims_t *claims; /* ID token + userinfo (or API) claims */
    const char *user_claim;        /* OAuth2RemoteUserClaim */
    const char *groups_claim;      /* OAuth2GroupsClaim */
    const char *access_token;
    const char *refresh_token;
    const char *id_token;
    apr_time_t access_expires;
    apr_time_t now;
    apr_interval_time_t max_age;
    /* From provider APIs (groups.c); either may be NULL. */
    const apr_array_header_t *api_groups; /* const char * */
    const apr_array_header_t *resources;  /* oauth2_session_resource_t */
} oauth2_session_input_t;

/** What the user may do in one API resource (a GitLab project, a GitHub
 * repository): key "project:acme/app", level in the kind's own scale, 0
 * for no access. */
typedef struct {
    const char *key;
    int level;
} oauth2_session_resource_t;

/**
 * Builds a session from the claims of a login: the user from user_claim
 * (a string, or a number's text), email, email_verified,
 * preferred_username, groups from groups_claim (string or array),
 * every claim flattened (except nonce and the hash claims). Control
 * characters in values become spaces, so nothing here can split a header.
 * @return APR_SUCCESS; OAUTH2_EMISMATCH when the user claim is missing or
 *         empty (*err names it); OAUTH2_ETOOBIG when the record would pass
 *         OAUTH2_MAX_SESSION_RECORD
 */
apr_status_t oauth2_session_build(apr_pool_t *p,
                                  const oauth2_session_input_t *in,
                                  oauth2_session_t **s, const char **err);

/**
 * Serializes s into a record (from p). @return APR_SUCCESS or
 * OAUTH2_ETOOBIG
 */
apr_status_t oauth2_session_encode(apr_pool_t *p, const oauth2_session_t *s,
                                   char **rec, apr_size_t *len);

/**
 * Decodes a record without allocating: the fields of *s point into rec,
 * which must outlive s. Every offset and length is checked; a record cut
 * at hot_len decodes with empty token fields.
 * @return APR_SUCCESS, OAUTH2_EMALFORMED, or OAUTH2_EEXPIRED for a record
 *         of another format version (a session from before an upgrade)
 */
apr_status_t oauth2_session_decode(const char *rec, apr_size_t len,
                                   oauth2_session_t *s);

/** The hot length of an encoded record (0 when malformed): a reader that
 * only needs the hot fields may copy this many bytes. */
apr_size_t oauth2_session_hot_len(const char *rec, apr_size_t len);

/**
 * Iterates a NUL-separated list field: *pos starts NULL; returns the next
 * entry or NULL at the end.
 */
const char *oauth2_session_list_next(const oauth2_session_t *s,
                                     oauth2_session_field_e field,
                                     const char **pos);

/**
 * A group name as X-Forwarded-Groups (and the groups claim passed with
 * OAuth2PassClaims) carry it: ',' and '%' percent-encoded as %2C and %25,
 * so that a backend splitting the list on ',' never takes a part of a name
 * ("staff,admins") for a group of its own, and can decode each entry. g
 * itself when it has neither, else a copy from p.
 */
const char *oauth2_session_group_text(apr_pool_t *p, const char *g);

/**
 * The level a session records for a resource key: 1 with *level set, or
 * 0 when the session does not know that resource (never resolved).
 */
int oauth2_session_resource(const oauth2_session_t *s, const char *key,
                            int *level);

/**
 * A copy of s (from p) with what provider APIs said: api_groups, when not
 * NULL, replace the API groups (and the groups header is rebuilt);
 * resources replace the recorded ones (append 0: a refresh) or are added
 * to them, replacing an older level of the same key (append 1: a rule
 * resolved on first use). Values are cleaned as in oauth2_session_build.
 * @return APR_SUCCESS, or OAUTH2_ETOOBIG when the lists or the record
 *         would pass their limits (*err says which)
 */
apr_status_t oauth2_session_with_api(apr_pool_t *p, const oauth2_session_t *s,
                                     const apr_array_header_t *api_groups,
                                     const apr_array_header_t *resources,
                                     int append, oauth2_session_t **out,
                                     const char **err);

/**
 * Replaces the tokens of a session (after a refresh) in a copy from p.
 */
oauth2_session_t *
oauth2_session_with_tokens(apr_pool_t *p, const oauth2_session_t *s,
                           const char *access_token, const char *refresh_token,
                           const char *id_token, apr_time_t access_expires);

#endif /* OAUTH2_SESSION_H */
