/*
 * session.c: building, encoding and decoding session records (see
 * session.h for the layout).
 */
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "bounds.h"
#include "bytes.h"
#include "errors.h"
#include "session.h"

#define SESSION_MAGIC "OA2S"
/* 2: API groups and resources; 3: integers in network byte order
 * (bytes.h); 4: each value once (no groups header, claims held by fields
 * left out of the claims list), 16-bit lengths without offsets. Records of
 * another version are not read: their users log in again. */
#define SESSION_VERSION 4
/* Claims kept per session, all values together. */
#define SESSION_MAX_CLAIMS_BYTES (16 * 1024)

/* A growing NUL-separated list. */
typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap, max;
    apr_uint32_t count;
    int full;
} list_t;

/* Copies s into dst replacing control characters (CR, LF, NUL, ...) with
 * spaces, so a value can never split or end a header line. */
static void copy_clean(char *dst, const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
}

/* Appends one entry; refuses quietly (sets full) beyond the cap. */
static void list_add(list_t *l, const char *s, apr_size_t n)
{
    if (n > OAUTH2_MAX_HEADER_VALUE) {
        n = OAUTH2_MAX_HEADER_VALUE;
    }
    if (l->full || n + 1 > l->max - l->len) {
        l->full = 1;
        return;
    }
    if (l->len + n + 1 > l->cap) {
        apr_size_t cap = l->cap ? l->cap * 2 : 256;
        char *nb;

        while (cap < l->len + n + 1) {
            cap *= 2;
        }
        nb = apr_palloc(l->p, cap);
        if (l->len) {
            memcpy(nb, l->buf, l->len);
        }
        l->buf = nb;
        l->cap = cap;
    }
    copy_clean(l->buf + l->len, s, n);
    l->buf[l->len + n] = '\0';
    l->len += n + 1;
}

/* Claims that describe the token, not the user: not kept. */
static int claim_skipped(const char *path)
{
    return strcmp(path, "nonce") == 0 || strcmp(path, "at_hash") == 0
           || strcmp(path, "c_hash") == 0 || strcmp(path, "s_hash") == 0;
}

/* What the claims walk needs to leave out what fields hold. */
typedef struct {
    list_t list;
    const oauth2_session_input_t *in;
    oauth2_session_t *s;
} claims_ctx_t;

/* Claims a field of their own holds, with their moved bits in order. */
static const struct {
    const char *path;
    oauth2_session_field_e field;
} held[] = {
    { "sub", OAUTH2_SF_SUB },
    { "iss", OAUTH2_SF_ISS },
    { "sid", OAUTH2_SF_SID },
    { "email", OAUTH2_SF_EMAIL },
    { "preferred_username", OAUTH2_SF_USERNAME },
};
#define HELD_COUNT ((int)(sizeof(held) / sizeof(held[0])))

/* Is the value (as list_add would keep it: cut, cleaned) field f's? */
static int same_value(const oauth2_session_t *s, oauth2_session_field_e f,
                      const char *value, apr_size_t len)
{
    const char *v = s->f[f];
    apr_size_t i;

    if (len > OAUTH2_MAX_HEADER_VALUE) {
        len = OAUTH2_MAX_HEADER_VALUE;
    }
    if (v == NULL || strlen(v) != len) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];

        if (v[i] != ((c < 0x20 || c == 0x7f) ? ' ' : (char)c)) {
            return 0;
        }
    }
    return 1;
}

/* Is the pair held by a field already? Notes the move when it is: the
 * groups claim's values are the groups list (filtered, as everything the
 * session says of groups), the others are one value equal to a field. */
static int held_elsewhere(claims_ctx_t *c, const char *path, const char *value,
                          apr_size_t len)
{
    oauth2_session_t *s = c->s;
    int i;

    if (strcmp(path, c->in->groups_claim) == 0) {
        s->moved |= OAUTH2_SESSION_MOVED_GROUPS;
        return 1;
    }
    for (i = 0; i < HELD_COUNT; i++) {
        if (strcmp(path, held[i].path) == 0) {
            if (!(s->moved & (1u << i))
                && same_value(s, held[i].field, value, len)) {
                s->moved |= 1u << i;
                return 1;
            }
            return 0;
        }
    }
    if (!(s->moved & OAUTH2_SESSION_MOVED_USER)
        && strcmp(path, c->in->user_claim) == 0
        && same_value(s, OAUTH2_SF_USER, value, len)) {
        s->moved |= OAUTH2_SESSION_MOVED_USER;
        return 1;
    }
    return 0;
}

static int add_claim(void *ctx, const char *path, const char *value,
                     apr_size_t len)
{
    claims_ctx_t *c = ctx;
    list_t *l = &c->list;
    apr_size_t before = l->len;

    if (claim_skipped(path) || held_elsewhere(c, path, value, len)) {
        return 0;
    }
    list_add(l, path, strlen(path));
    list_add(l, value, len);
    if (l->full) {
        /* Whole pairs only: a name whose value did not fit goes too, or
         * readers of the list would pair names with values wrongly. */
        l->len = before;
        return 1;
    }
    l->count++;
    return 0;
}

/* A clean copy of a string claim (or a number's text), or "" when absent
 * or of another kind: an array, object or boolean is not a user name. */
static const char *clean_claim(apr_pool_t *p, const oauth2_claims_t *c,
                               const char *path)
{
    json_object *j = oauth2_claims_get(c, path);
    apr_array_header_t *v;
    const char *s;
    apr_size_t n;
    char *out;

    if (!json_object_is_type(j, json_type_string)
        && !json_object_is_type(j, json_type_int)
        && !json_object_is_type(j, json_type_double)) {
        return "";
    }
    v = oauth2_claims_get_values(p, c, path);
    if (v->nelts < 1) {
        return "";
    }
    s = APR_ARRAY_IDX(v, 0, const char *);
    n = strlen(s);
    if (n > OAUTH2_MAX_HEADER_VALUE) {
        n = OAUTH2_MAX_HEADER_VALUE;
    }
    out = apr_palloc(p, n + 1);
    copy_clean(out, s, n);
    out[n] = '\0';
    return out;
}

/* Stores a finished list in field f of s. */
static void list_store(oauth2_session_t *s, oauth2_session_field_e f,
                       const list_t *l)
{
    s->f[f] = l->buf ? l->buf : "";
    s->len[f] = (apr_uint32_t)l->len;
}

const apr_array_header_t *
oauth2_session_filter_groups(apr_pool_t *p, const oauth2_regex_t *filter,
                             const apr_array_header_t *list)
{
    apr_array_header_t *out;
    int i;

    if (filter == NULL || list == NULL) {
        return list;
    }
    out = apr_array_make(p, list->nelts > 0 ? list->nelts : 1,
                         sizeof(const char *));
    for (i = 0; i < list->nelts; i++) {
        const char *g = APR_ARRAY_IDX(list, i, const char *);

        if (g != NULL && filter->match(filter->re, g)) {
            APR_ARRAY_PUSH(out, const char *) = g;
        }
    }
    return out;
}

/* The groups of the claims (those the filter keeps) as a list; more than
 * a session holds is refused. */
static apr_status_t build_groups(apr_pool_t *p,
                                 const oauth2_session_input_t *in,
                                 oauth2_session_t *s, const char **err)
{
    const apr_array_header_t *v = oauth2_session_filter_groups(
        p, in->groups_filter,
        oauth2_claims_get_values(p, in->claims, in->groups_claim));
    list_t l = { p, NULL, 0, 0, OAUTH2_MAX_SESSION_GROUPS, 0, 0 };
    int i;

    for (i = 0; i < v->nelts; i++) {
        const char *g = APR_ARRAY_IDX(v, i, const char *);

        if (*g != '\0') {
            list_add(&l, g, strlen(g));
            l.count += l.full ? 0 : 1;
        }
    }
    list_store(s, OAUTH2_SF_GROUPS, &l);
    s->ngroups = l.count;
    if (l.full || l.count > OAUTH2_MAX_GROUPS) {
        *err = apr_psprintf(p,
                            "the user is in more groups than a session holds "
                            "(%d, or %d bytes of names): keep the ones the "
                            "rules need with OAuth2GroupsFilter",
                            OAUTH2_MAX_GROUPS, OAUTH2_MAX_SESSION_GROUPS);
        return OAUTH2_ETOOBIG;
    }
    return APR_SUCCESS;
}

/* The API groups (Google group addresses), lower case: Google compares
 * addresses without regard to case. */
static apr_status_t build_api_groups(apr_pool_t *p, oauth2_session_t *s,
                                     const apr_array_header_t *groups)
{
    list_t l = { p, NULL, 0, 0, SESSION_MAX_CLAIMS_BYTES, 0, 0 };
    int i;

    for (i = 0; groups != NULL && i < groups->nelts; i++) {
        char *g = apr_pstrdup(p, APR_ARRAY_IDX(groups, i, const char *));
        char *c;

        for (c = g; *c; c++) {
            *c = (char)apr_tolower(*c);
        }
        if (*g != '\0') {
            list_add(&l, g, strlen(g));
        }
    }
    list_store(s, OAUTH2_SF_API_GROUPS, &l);
    return l.full || (groups != NULL && groups->nelts > OAUTH2_MAX_GROUPS)
               ? OAUTH2_ETOOBIG
               : APR_SUCCESS;
}

/* Adds one resource pair; the key is cleaned like any value. */
static void resource_add(list_t *l, const char *key, int level)
{
    const char *v = apr_itoa(l->p, level < 0 ? 0 : level);
    apr_size_t before = l->len;

    list_add(l, key, strlen(key));
    list_add(l, v, strlen(v));
    if (l->full) {
        l->len = before;
    }
}

/* 1 when the resources array has key. */
static int resources_have(const apr_array_header_t *r, const char *key)
{
    int i;

    for (i = 0; r != NULL && i < r->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(r, i, oauth2_session_resource_t).key, key)
            == 0) {
            return 1;
        }
    }
    return 0;
}

/* The resources list: those of old (a session's, when appending) that
 * add does not replace, then add. */
static apr_status_t build_resources(apr_pool_t *p, oauth2_session_t *s,
                                    const oauth2_session_t *old,
                                    const apr_array_header_t *add)
{
    list_t l = { p, NULL, 0, 0, SESSION_MAX_CLAIMS_BYTES, 0, 0 };
    const char *pos = NULL, *key, *level;
    int i;

    while (old != NULL
           && (key = oauth2_session_list_next(old, OAUTH2_SF_RESOURCES, &pos))
                  != NULL
           && (level = oauth2_session_list_next(old, OAUTH2_SF_RESOURCES, &pos))
                  != NULL) {
        if (!resources_have(add, key)) {
            resource_add(&l, key, atoi(level));
        }
    }
    for (i = 0; add != NULL && i < add->nelts; i++) {
        const oauth2_session_resource_t *r =
            &APR_ARRAY_IDX(add, i, oauth2_session_resource_t);

        resource_add(&l, r->key, r->level);
    }
    list_store(s, OAUTH2_SF_RESOURCES, &l);
    return l.full ? OAUTH2_ETOOBIG : APR_SUCCESS;
}

/* Bytes a group name takes in the header (',' and '%' take three). */
static apr_size_t group_text_len(const char *g)
{
    apr_size_t n = 0;

    for (; *g; g++) {
        n += *g == ',' || *g == '%' ? 3 : 1;
    }
    return n;
}

/* Writes a group name as the header carries it; returns the end. */
static char *group_text_put(char *o, const char *g)
{
    for (; *g; g++) {
        if (*g == ',' || *g == '%') {
            memcpy(o, *g == ',' ? "%2C" : "%25", 3);
            o += 3;
        }
        else {
            *o++ = *g;
        }
    }
    return o;
}

const char *oauth2_session_group_text(apr_pool_t *p, const char *g)
{
    char *out;

    if (strpbrk(g, ",%") == NULL) {
        return g;
    }
    out = apr_palloc(p, group_text_len(g) + 1);
    *group_text_put(out, g) = '\0';
    return out;
}

/* The two lists of the groups header, in order. */
static const oauth2_session_field_e header_lists[] = { OAUTH2_SF_GROUPS,
                                                       OAUTH2_SF_API_GROUPS };

apr_size_t oauth2_session_header_size(const oauth2_session_t *s)
{
    apr_size_t n = 1, i;
    int k;

    for (k = 0; k < 2; k++) {
        const char *f = s->f[header_lists[k]];
        apr_size_t len = f ? s->len[header_lists[k]] : 0;

        n += len;
        for (i = 0; i < len; i++) {
            n += f[i] == ',' || f[i] == '%' ? 2 : 0;
        }
    }
    return n;
}

void oauth2_session_header(oauth2_session_t *s, char *h)
{
    char *o = h;
    apr_size_t i;
    int k;

    /* Each entry of both lists ends with a NUL: the separators become
     * commas (the last one ends the string), a ',' or '%' inside a name
     * %2C or %25 as oauth2_session_group_text writes it. */
    for (k = 0; k < 2; k++) {
        const char *f = s->f[header_lists[k]];
        apr_size_t len = f ? s->len[header_lists[k]] : 0;

        for (i = 0; i < len; i++) {
            if (f[i] == ',' || f[i] == '%') {
                memcpy(o, f[i] == ',' ? "%2C" : "%25", 3);
                o += 3;
            }
            else {
                *o++ = f[i] == '\0' ? ',' : f[i];
            }
        }
    }
    o -= o > h;
    *o = '\0';
    s->f[OAUTH2_SF_GROUPS_HEADER] = h;
    s->len[OAUTH2_SF_GROUPS_HEADER] = (apr_uint32_t)(o - h);
}

/* X-Forwarded-Groups: the groups of the claims, then the API groups,
 * comma-joined. */
static void build_header(apr_pool_t *p, oauth2_session_t *s)
{
    oauth2_session_header(s, apr_palloc(p, oauth2_session_header_size(s)));
}

/* The list fields whose length the lists themselves give. */
static int is_list(int i)
{
    return i == OAUTH2_SF_GROUPS || i == OAUTH2_SF_CLAIMS
           || i == OAUTH2_SF_API_GROUPS || i == OAUTH2_SF_RESOURCES
           || i == OAUTH2_SF_PATHS || i == OAUTH2_SF_GROUPS_HEADER;
}

static void set_lengths(oauth2_session_t *s)
{
    int i;

    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        if (s->f[i] == NULL) {
            s->f[i] = "";
        }
        if (!is_list(i)) {
            s->len[i] = (apr_uint32_t)strlen(s->f[i]);
        }
    }
}

/* The fields SUB, EMAIL, USERNAME that equal USER are stored empty, their
 * "same" bit set. */
static const oauth2_session_field_e same_fields[] = {
    OAUTH2_SF_SUB,
    OAUTH2_SF_EMAIL,
    OAUTH2_SF_USERNAME,
};
#define SAME_COUNT ((int)(sizeof(same_fields) / sizeof(same_fields[0])))

/* The "same" bits of s, and the length each field takes in the record. */
static unsigned same_bits(const oauth2_session_t *s, apr_size_t *len)
{
    unsigned bits = 0;
    int i;

    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        len[i] = i == OAUTH2_SF_GROUPS_HEADER ? 0 : s->len[i];
    }
    for (i = 0; i < SAME_COUNT; i++) {
        oauth2_session_field_e f = same_fields[i];

        if (s->len[f] > 0 && s->len[f] == s->len[OAUTH2_SF_USER]
            && memcmp(s->f[f], s->f[OAUTH2_SF_USER], s->len[f]) == 0) {
            bits |= 1u << i;
            len[f] = 0;
        }
    }
    return bits;
}

/* The size of the encoded record, in 64 bits (no overflow). */
static apr_uint64_t record_len(const oauth2_session_t *s)
{
    apr_size_t len[OAUTH2_SF_COUNT];
    apr_uint64_t total = OAUTH2_SESSION_HEADER_LEN;
    int i;

    same_bits(s, len);
    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        total += i == OAUTH2_SF_GROUPS_HEADER ? 0 : (apr_uint64_t)len[i] + 1;
    }
    return total;
}

/* PATHS: the user and groups claims, when the claims list leaves values
 * of theirs to USER and GROUPS. */
static void build_paths(apr_pool_t *p, const oauth2_session_input_t *in,
                        oauth2_session_t *s)
{
    apr_size_t u = strlen(in->user_claim), g = strlen(in->groups_claim);
    char *b;

    if (!(s->moved
          & (OAUTH2_SESSION_MOVED_USER | OAUTH2_SESSION_MOVED_GROUPS))) {
        s->f[OAUTH2_SF_PATHS] = "";
        s->len[OAUTH2_SF_PATHS] = 0;
        return;
    }
    b = apr_palloc(p, u + g + 2);
    memcpy(b, in->user_claim, u + 1);
    memcpy(b + u + 1, in->groups_claim, g + 1);
    s->f[OAUTH2_SF_PATHS] = b;
    s->len[OAUTH2_SF_PATHS] = (apr_uint32_t)(u + g + 2);
}

/* The identity fields and flags of the claims; OAUTH2_EMISMATCH without a
 * user. */
static apr_status_t build_identity(apr_pool_t *p,
                                   const oauth2_session_input_t *in,
                                   oauth2_session_t *s, const char **err)
{
    json_object *ev;

    s->f[OAUTH2_SF_USER] = clean_claim(p, in->claims, in->user_claim);
    if (*s->f[OAUTH2_SF_USER] == '\0') {
        *err = apr_psprintf(p,
                            "the ID token and userinfo have no '%s' claim "
                            "for the user (OAuth2RemoteUserClaim)",
                            in->user_claim);
        return OAUTH2_EMISMATCH;
    }
    s->f[OAUTH2_SF_EMAIL] = clean_claim(p, in->claims, "email");
    s->f[OAUTH2_SF_USERNAME] = clean_claim(p, in->claims, "preferred_username");
    s->f[OAUTH2_SF_SUB] = clean_claim(p, in->claims, "sub");
    s->f[OAUTH2_SF_SID] = clean_claim(p, in->claims, "sid");
    s->f[OAUTH2_SF_ISS] = clean_claim(p, in->claims, "iss");
    ev = oauth2_claims_get(in->claims, "email_verified");
    if (ev != NULL && json_object_is_type(ev, json_type_boolean)
        && json_object_get_boolean(ev)) {
        s->flags |= OAUTH2_SESSION_EMAIL_VERIFIED;
    }
    return APR_SUCCESS;
}

/* The tokens, or none (NO_TOKENS: nothing would read them). */
static void build_tokens(const oauth2_session_input_t *in, oauth2_session_t *s)
{
    if (in->no_tokens) {
        s->flags |= OAUTH2_SESSION_NO_TOKENS;
        s->access_expires = 0;
    }
    else {
        s->f[OAUTH2_SF_ACCESS_TOKEN] = in->access_token;
        s->f[OAUTH2_SF_REFRESH_TOKEN] = in->refresh_token;
        s->access_expires = in->access_expires;
    }
    s->f[OAUTH2_SF_ID_TOKEN] = in->id_token;
}

apr_status_t oauth2_session_build(apr_pool_t *p,
                                  const oauth2_session_input_t *in,
                                  oauth2_session_t **out, const char **err)
{
    oauth2_session_t *s = apr_pcalloc(p, sizeof(*s));
    claims_ctx_t claims = { { p, NULL, 0, 0, SESSION_MAX_CLAIMS_BYTES, 0, 0 },
                            in,
                            s };
    apr_status_t rv = build_identity(p, in, s, err);

    if (rv == APR_SUCCESS) {
        rv = build_groups(p, in, s, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (build_api_groups(
            p, s,
            oauth2_session_filter_groups(p, in->groups_filter, in->api_groups))
            != APR_SUCCESS
        || build_resources(p, s, NULL, in->resources) != APR_SUCCESS) {
        *err = "more groups or resources from the provider's API than a "
               "session holds";
        return OAUTH2_ETOOBIG;
    }
    build_header(p, s);
    oauth2_claims_walk(p, in->claims, add_claim, &claims);
    list_store(s, OAUTH2_SF_CLAIMS, &claims.list);
    s->nclaims = claims.list.count;
    build_paths(p, in, s);
    build_tokens(in, s);
    s->created = in->now;
    s->max_expires = in->now + in->max_age;
    set_lengths(s);
    if (record_len(s) > OAUTH2_MAX_SESSION_RECORD) {
        *err = apr_psprintf(p,
                            "the session would take more than %d bytes "
                            "(tokens or claims too large)",
                            OAUTH2_MAX_SESSION_RECORD);
        return OAUTH2_ETOOBIG;
    }
    *out = s;
    return APR_SUCCESS;
}

apr_status_t oauth2_session_encode(apr_pool_t *p, const oauth2_session_t *s,
                                   char **rec, apr_size_t *len)
{
    apr_size_t flen[OAUTH2_SF_COUNT], total, off, hot = 0;
    unsigned same = same_bits(s, flen);
    unsigned char *b, *lens;
    int i;

    if (record_len(s) > OAUTH2_MAX_SESSION_RECORD || s->ngroups > 0xffff
        || s->nclaims > 0xffff) {
        return OAUTH2_ETOOBIG;
    }
    total = (apr_size_t)record_len(s);
    b = apr_pcalloc(p, total);
    memcpy(b, SESSION_MAGIC, 4);
    b[4] = SESSION_VERSION;
    b[5] = (unsigned char)s->flags;
    b[6] = (unsigned char)s->moved;
    b[7] = (unsigned char)same;
    oauth2_u64_write(b + 8, (apr_uint64_t)s->created);
    oauth2_u64_write(b + 16, (apr_uint64_t)s->max_expires);
    oauth2_u64_write(b + 24, (apr_uint64_t)s->access_expires);
    oauth2_u16_write(b + 32, (apr_uint16_t)s->ngroups);
    oauth2_u16_write(b + 34, (apr_uint16_t)s->nclaims);
    lens = b + 38;
    off = OAUTH2_SESSION_HEADER_LEN;
    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        if (i == OAUTH2_SF_GROUPS_HEADER) {
            continue;
        }
        oauth2_u16_write(lens, (apr_uint16_t)flen[i]);
        lens += 2;
        memcpy(b + off, s->f[i], flen[i]);
        off += flen[i] + 1;
        if (i == OAUTH2_SF_HOT_END - 1) {
            hot = off;
        }
    }
    oauth2_u16_write(b + 36, (apr_uint16_t)hot);
    *rec = (char *)b;
    *len = total;
    return APR_SUCCESS;
}

apr_size_t oauth2_session_hot_len(const char *rec, apr_size_t len)
{
    const unsigned char *b = (const unsigned char *)rec;
    apr_size_t hot;

    if (rec == NULL || len < OAUTH2_SESSION_HEADER_LEN
        || memcmp(b, SESSION_MAGIC, 4) != 0) {
        return 0;
    }
    hot = oauth2_u16_read(b + 36);
    return hot <= len && hot >= OAUTH2_SESSION_HEADER_LEN ? hot : 0;
}

/* Points the fields whose "same" bit is set at USER. */
static void apply_same(oauth2_session_t *s, unsigned same)
{
    int i;

    for (i = 0; i < SAME_COUNT; i++) {
        if (same & (1u << i)) {
            s->f[same_fields[i]] = s->f[OAUTH2_SF_USER];
            s->len[same_fields[i]] = s->len[OAUTH2_SF_USER];
        }
    }
}

/* The fields of a record of version 4 whose header is checked: each
 * starts where the one before ends. 0, or -1 when malformed. */
static int decode_fields(const unsigned char *b, apr_size_t len, apr_size_t hot,
                         oauth2_session_t *s)
{
    const unsigned char *lens = b + 38;
    apr_size_t off = OAUTH2_SESSION_HEADER_LEN;
    int i;

    for (i = 0; i < OAUTH2_SF_COUNT; i++) {
        apr_size_t n;

        s->f[i] = "";
        s->len[i] = 0;
        if (i == OAUTH2_SF_GROUPS_HEADER) {
            continue;
        }
        n = oauth2_u16_read(lens);
        lens += 2;
        if (i >= OAUTH2_SF_HOT_END && off + n >= len) {
            off = len; /* a hot-only copy: tokens left out */
            continue;
        }
        if (off + n >= len || b[off + n] != '\0') {
            return -1;
        }
        s->f[i] = (const char *)b + off;
        s->len[i] = (apr_uint32_t)n;
        off += n + 1;
        if (i == OAUTH2_SF_HOT_END - 1 && off != hot) {
            return -1;
        }
    }
    return 0;
}

apr_status_t oauth2_session_decode(const char *rec, apr_size_t len,
                                   oauth2_session_t *s)
{
    const unsigned char *b = (const unsigned char *)rec;
    apr_size_t hot = oauth2_session_hot_len(rec, len);

    if (hot == 0) {
        return OAUTH2_EMALFORMED;
    }
    if (b[4] != SESSION_VERSION) {
        return OAUTH2_EEXPIRED; /* written by another version */
    }
    s->flags = b[5];
    s->moved = b[6];
    s->created = (apr_int64_t)oauth2_u64_read(b + 8);
    s->max_expires = (apr_int64_t)oauth2_u64_read(b + 16);
    s->access_expires = (apr_int64_t)oauth2_u64_read(b + 24);
    s->ngroups = oauth2_u16_read(b + 32);
    s->nclaims = oauth2_u16_read(b + 34);
    if (decode_fields(b, len, hot, s) != 0) {
        return OAUTH2_EMALFORMED;
    }
    apply_same(s, b[7]);
    return APR_SUCCESS;
}

apr_status_t oauth2_session_decode_p(apr_pool_t *p, const char *rec,
                                     apr_size_t len, oauth2_session_t *s)
{
    apr_status_t rv = oauth2_session_decode(rec, len, s);

    if (rv == APR_SUCCESS) {
        build_header(p, s);
    }
    return rv;
}

/* The name of PATHS at index i (0 the user claim, 1 the groups claim), or
 * NULL. */
static const char *path_of(const oauth2_session_t *s, int i)
{
    const char *pos = NULL, *name = NULL;

    while (i-- >= 0) {
        name = oauth2_session_list_next(s, OAUTH2_SF_PATHS, &pos);
    }
    return name;
}

/* One step of the claims a field holds: 1 with a pair, 0 when this step
 * has none. Steps: the held claims, the user claim. */
static int held_claim(const oauth2_session_t *s, int step, const char **path,
                      const char **value)
{
    if (step < HELD_COUNT) {
        if (!(s->moved & (1u << step))) {
            return 0;
        }
        *path = held[step].path;
        *value = s->f[held[step].field];
        return 1;
    }
    if (!(s->moved & OAUTH2_SESSION_MOVED_USER)) {
        return 0;
    }
    *path = path_of(s, 0);
    *value = s->f[OAUTH2_SF_USER];
    return *path != NULL;
}

int oauth2_session_claims_next(const oauth2_session_t *s,
                               oauth2_session_claims_t *it, const char **path,
                               const char **value)
{
    /* The claims list, pair by pair. */
    while (it->step == 0) {
        *path = oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &it->pos);
        *value = *path ? oauth2_session_list_next(s, OAUTH2_SF_CLAIMS, &it->pos)
                       : NULL;
        if (*value != NULL) {
            return 1;
        }
        it->step = 1;
        it->pos = NULL;
    }
    /* The claims held by fields, then the user claim. */
    for (; it->step <= HELD_COUNT + 1; it->step++) {
        if (held_claim(s, it->step - 1, path, value)) {
            it->step++;
            return 1;
        }
    }
    /* Each group under the groups claim's name. */
    if (!(s->moved & OAUTH2_SESSION_MOVED_GROUPS)
        || (*path = path_of(s, 1)) == NULL) {
        return 0;
    }
    *value = oauth2_session_list_next(s, OAUTH2_SF_GROUPS, &it->pos);
    return *value != NULL;
}

const char *oauth2_session_list_next(const oauth2_session_t *s,
                                     oauth2_session_field_e field,
                                     const char **pos)
{
    const char *start = s->f[field], *end = start + s->len[field];
    const char *cur = *pos == NULL ? start : *pos;

    if (cur >= end) {
        return NULL;
    }
    *pos = cur + strlen(cur) + 1;
    return cur;
}

int oauth2_session_resource(const oauth2_session_t *s, const char *key,
                            int *level)
{
    const char *pos = NULL, *k, *v;

    while ((k = oauth2_session_list_next(s, OAUTH2_SF_RESOURCES, &pos)) != NULL
           && (v = oauth2_session_list_next(s, OAUTH2_SF_RESOURCES, &pos))
                  != NULL) {
        if (strcmp(k, key) == 0) {
            *level = atoi(v);
            return 1;
        }
    }
    return 0;
}

apr_status_t oauth2_session_with_api(apr_pool_t *p, const oauth2_session_t *s,
                                     const apr_array_header_t *api_groups,
                                     const apr_array_header_t *resources,
                                     int append, oauth2_session_t **out,
                                     const char **err)
{
    oauth2_session_t *n = apr_pmemdup(p, s, sizeof(*s));
    apr_status_t rv = APR_SUCCESS;

    if (api_groups != NULL) {
        rv = build_api_groups(p, n, api_groups);
        build_header(p, n);
        n->len[OAUTH2_SF_GROUPS_HEADER] =
            (apr_uint32_t)strlen(n->f[OAUTH2_SF_GROUPS_HEADER]);
    }
    if (rv == APR_SUCCESS) {
        rv = build_resources(p, n, append ? s : NULL, resources);
    }
    if (rv == APR_SUCCESS && record_len(n) > OAUTH2_MAX_SESSION_RECORD) {
        rv = OAUTH2_ETOOBIG;
    }
    if (rv != APR_SUCCESS) {
        *err = "the provider's API gave more groups or resources than a "
               "session holds";
        return rv;
    }
    *out = n;
    return APR_SUCCESS;
}

oauth2_session_t *
oauth2_session_with_tokens(apr_pool_t *p, const oauth2_session_t *s,
                           const char *access_token, const char *refresh_token,
                           const char *id_token, apr_time_t access_expires)
{
    oauth2_session_t *n = apr_pmemdup(p, s, sizeof(*s));

    n->f[OAUTH2_SF_ACCESS_TOKEN] = access_token ? access_token : "";
    if (refresh_token != NULL) {
        n->f[OAUTH2_SF_REFRESH_TOKEN] = refresh_token;
    }
    if (id_token != NULL) {
        n->f[OAUTH2_SF_ID_TOKEN] = id_token;
    }
    n->access_expires = access_expires;
    n->len[OAUTH2_SF_ACCESS_TOKEN] =
        (apr_uint32_t)strlen(n->f[OAUTH2_SF_ACCESS_TOKEN]);
    n->len[OAUTH2_SF_REFRESH_TOKEN] =
        (apr_uint32_t)strlen(n->f[OAUTH2_SF_REFRESH_TOKEN]);
    n->len[OAUTH2_SF_ID_TOKEN] = (apr_uint32_t)strlen(n->f[OAUTH2_SF_ID_TOKEN]);
    return n;
}
