/*
 * session.h: what the module knows about a logged-in user, prepared once
 * at login so that a request with a valid session parses nothing: the
 * user, email, groups and claims as ready strings, the expiries, and the
 * tokens. The same record is kept in every store (shared memory, socache,
 * a sealed cookie), and it holds each value once: a cookie carries every
 * byte of it on every request.
 *
 * Record layout (version 4; integers big-endian, bytes.h):
 *     "OA2S" | version u8 | flags u8 | moved u8 | same u8
 *     created i64 | max_expires i64 | access_expires i64     (usec)
 *     ngroups u16 | nclaims u16 | hot_len u16
 *     field lengths: OAUTH2_SESSION_STORED x u16 (every field in enum
 *     order except the groups header, which is built from the two group
 *     lists when a record is read: oauth2_session_header)
 *     field bytes, each followed by a NUL
 * A field starts where the one before it ends; a record holds at most
 * OAUTH2_MAX_SESSION_RECORD (64 KiB) bytes, so 16 bits hold every length.
 * The hot fields (everything a request needs) come first and end at
 * hot_len; the tokens come last. Lists (groups, claims) hold NUL-separated
 * entries: groups "g1\0g2\0", claims "path\0value\0path\0value\0", an
 * array claim giving one pair per element under the same path.
 *
 * Nothing twice: a claim whose value a field holds already (sub, iss,
 * sid, email, preferred_username, the OAuth2RemoteUserClaim, and every
 * value of the OAuth2GroupsClaim, which the groups list holds) is left out
 * of the claims list and its bit set in "moved"; PATHS names the user and
 * groups claims then. oauth2_session_claims_next gives them back, so
 * readers of claims see every claim. SUB, EMAIL or USERNAME equal to
 * USER are stored empty with their bit in "same" (OAuth2RemoteUserClaim
 * sub, email or preferred_username).
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
#include "config.h"

/** Fields of a record, in storage order. */
typedef enum {
    OAUTH2_SF_USER = 0,
    OAUTH2_SF_EMAIL,
    OAUTH2_SF_USERNAME,      /* preferred_username */
    OAUTH2_SF_GROUPS_HEADER, /* X-Forwarded-Groups: not stored, built */
    OAUTH2_SF_GROUPS,
    OAUTH2_SF_API_GROUPS, /* Google groups, lower case */
    OAUTH2_SF_RESOURCES,  /* "key\0level\0" pairs */
    OAUTH2_SF_CLAIMS,
    OAUTH2_SF_SUB,
    OAUTH2_SF_SID,
    OAUTH2_SF_ISS,
    OAUTH2_SF_PATHS,   /* "user claim\0groups claim\0" (see moved) */
    OAUTH2_SF_HOT_END, /* fields before this are "hot" */
    OAUTH2_SF_ACCESS_TOKEN = OAUTH2_SF_HOT_END,
    OAUTH2_SF_REFRESH_TOKEN,
    OAUTH2_SF_ID_TOKEN,
    OAUTH2_SF_COUNT
} oauth2_session_field_e;

/* Fields a record stores: all but the groups header. */
#define OAUTH2_SESSION_STORED     (OAUTH2_SF_COUNT - 1)
#define OAUTH2_SESSION_HEADER_LEN (8 + 24 + 6 + OAUTH2_SESSION_STORED * 2)

/* flags */
#define OAUTH2_SESSION_EMAIL_VERIFIED 0x01
/* The tokens were left out: nothing the configuration knows of needs them
 * (a cookie session without OAuth2PassAccessToken On anywhere). */
#define OAUTH2_SESSION_NO_TOKENS 0x02
/* The ID token was left out to fit a cookie session's budget: a logout
 * at the provider names the client instead (endpoints.c). */
#define OAUTH2_SESSION_NO_ID_TOKEN 0x04

/* moved: claims left out of the claims list, held by a field. */
#define OAUTH2_SESSION_MOVED_SUB      0x01
#define OAUTH2_SESSION_MOVED_ISS      0x02
#define OAUTH2_SESSION_MOVED_SID      0x04
#define OAUTH2_SESSION_MOVED_EMAIL    0x08
#define OAUTH2_SESSION_MOVED_USERNAME 0x10
#define OAUTH2_SESSION_MOVED_USER     0x20 /* PATHS' first name */
#define OAUTH2_SESSION_MOVED_GROUPS   0x40 /* PATHS' second name */

/** A decoded session: pointers into the record it was decoded from. */
typedef struct {
    apr_time_t created;
    apr_time_t max_expires;    /* created + OAuth2SessionMaxAge */
    apr_time_t access_expires; /* access token expiry, 0 when unknown */
    unsigned flags;            /* OAUTH2_SESSION_* */
    unsigned moved;            /* OAUTH2_SESSION_MOVED_* */
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
    /* OAuth2GroupsFilter: only the groups it matches are kept (claim
     * groups and API groups alike), or NULL for all. */
    const oauth2_regex_t *groups_filter;
    /* Leave the access and refresh tokens out (flag NO_TOKENS). */
    int no_tokens;
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
 * preferred_username, groups from groups_claim (string or array) that the
 * groups filter keeps, every other claim flattened (except nonce and the
 * hash claims). Control characters in values become spaces, so nothing
 * here can split a header. A user with more groups than a session holds
 * (OAUTH2_MAX_GROUPS, OAUTH2_MAX_SESSION_GROUPS bytes) is refused, never
 * cut short: a group left out could be the one a <RequireNone> refuses.
 * @return APR_SUCCESS; OAUTH2_EMISMATCH when the user claim is missing or
 *         empty (*err names it); OAUTH2_ETOOBIG when the groups or the
 *         record would pass their limits (*err says which)
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
 * which must outlive s. Every length is checked; a record cut at hot_len
 * decodes with empty token fields. The groups header is left empty: see
 * oauth2_session_header.
 * @return APR_SUCCESS, OAUTH2_EMALFORMED, or OAUTH2_EEXPIRED for a record
 *         of another format version (a session from before an upgrade)
 */
apr_status_t oauth2_session_decode(const char *rec, apr_size_t len,
                                   oauth2_session_t *s);

/** Bytes the groups header of s takes (its NUL included). */
apr_size_t oauth2_session_header_size(const oauth2_session_t *s);

/**
 * Builds the groups header (X-Forwarded-Groups: the claim groups, then the
 * API groups, comma-joined) of a decoded session into buf, which must
 * hold oauth2_session_header_size(s) bytes and live as long as s.
 */
void oauth2_session_header(oauth2_session_t *s, char *buf);

/** oauth2_session_decode, then the groups header from p. */
apr_status_t oauth2_session_decode_p(apr_pool_t *p, const char *rec,
                                     apr_size_t len, oauth2_session_t *s);

/** Where oauth2_session_claims_next is: start it zeroed. */
typedef struct {
    const char *pos; /* in the claims list, in the groups list */
    int step;
} oauth2_session_claims_t;

/**
 * Iterates every claim of a session as (path, value) pairs: those of the
 * claims list, then those a field holds (moved), then each group under
 * the groups claim's path. Returns 1 with *path and *value, 0 at the end.
 */
int oauth2_session_claims_next(const oauth2_session_t *s,
                               oauth2_session_claims_t *it, const char **path,
                               const char **value);

/**
 * The groups of list (const char *) that filter keeps, in order (list
 * itself when filter is NULL), from p.
 */
const apr_array_header_t *
oauth2_session_filter_groups(apr_pool_t *p, const oauth2_regex_t *filter,
                             const apr_array_header_t *list);

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
