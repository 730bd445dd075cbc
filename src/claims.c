/*
 * claims.c: JSON claim sets on json-c. Parsing is bounded (length given by
 * the caller, depth OAUTH2_MAX_JSON_DEPTH, no NUL bytes, no trailing
 * garbage); lookups never trust the shape of what they read; validation
 * implements the token rules of OpenID Connect Core §3.1.3.7 (ID tokens),
 * RFC 9068 §4 (JWT access tokens) and OpenID Connect Back-Channel Logout
 * 1.0 §2.6 (logout tokens).
 *
 * Signatures (jose.c), state and nonce generation (state.c) and the clock
 * (the caller passes `now`) are not this file's business.
 */
#include <limits.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#include "bounds.h"
#include "claims.h"
#include "errors.h"

struct oauth2_claims_t {
    json_object *json;
};

/* RFC 7519 §2 NumericDate: seconds since the epoch. Beyond year 9999
 * (253402300799) a date is a bug or an attack, not a date. */
#define CLAIMS_MAX_NUMERIC_DATE 253402300799.0

/* OIDC Back-Channel Logout 1.0 §2.4: the member of "events". */
#define CLAIMS_BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"

static void set_err(const char **err, const char *msg)
{
    if (err != NULL) {
        *err = msg;
    }
}

static apr_status_t json_put_cleanup(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

/* 1 when only JSON whitespace (RFC 8259 §2) is left in s[0..len). */
static int only_whitespace(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

/* Runs json-c's tokener on exactly len bytes and insists on one complete
 * JSON object followed by nothing but whitespace. */
static apr_status_t parse_object(const char *json, apr_size_t len,
                                 json_object **out, const char **err)
{
    struct json_tokener *tok;
    enum json_tokener_error jerr;
    json_object *obj;
    apr_size_t end;

    tok = json_tokener_new_ex(OAUTH2_MAX_JSON_DEPTH);
    if (tok == NULL) {
        set_err(err, "JSON: out of memory");
        return APR_ENOMEM;
    }
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, json, (int)len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (obj == NULL) {
        /* json_tokener_continue: the text ended inside a value. */
        set_err(err, jerr == json_tokener_continue
                         ? "JSON: truncated"
                         : json_tokener_error_desc(jerr));
        return OAUTH2_EMALFORMED;
    }
    if (end > len || !only_whitespace(json + end, len - end)
        || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        set_err(err, "JSON: not a single object");
        return OAUTH2_EMALFORMED;
    }
    *out = obj;
    return APR_SUCCESS;
}

apr_status_t oauth2_claims_parse(apr_pool_t *p, const char *json,
                                 apr_size_t len, apr_size_t max,
                                 oauth2_claims_t **claims, const char **err)
{
    json_object *obj = NULL;
    apr_status_t rv;

    if (p == NULL || json == NULL || claims == NULL) {
        set_err(err, "JSON: no input");
        return OAUTH2_EMALFORMED;
    }
    if (len > max || len > INT_MAX) {
        set_err(err, "JSON: too long");
        return OAUTH2_ETOOBIG;
    }
    /* json-c stops at a NUL byte; what follows it must not be ignored. */
    if (memchr(json, '\0', len) != NULL) {
        set_err(err, "JSON: NUL byte");
        return OAUTH2_EMALFORMED;
    }
    rv = parse_object(json, len, &obj, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *claims = apr_pcalloc(p, sizeof(**claims));
    (*claims)->json = obj;
    apr_pool_cleanup_register(p, obj, json_put_cleanup, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

json_object *oauth2_claims_json(const oauth2_claims_t *claims)
{
    return claims == NULL ? NULL : claims->json;
}

/* Follows a dotted path from the top-level object, one member per
 * segment; empty segments and too many segments find nothing. */
static json_object *get_dotted(json_object *cur, const char *path,
                               apr_size_t len)
{
    char seg[OAUTH2_MAX_CLAIM_PATH + 1];
    apr_size_t start, n, nseg = 0;
    json_object *next;

    for (start = 0; start <= len; start += n + 1) {
        n = strcspn(path + start, ".");
        if (n == 0 || ++nseg > OAUTH2_MAX_CLAIM_SEGMENTS
            || !json_object_is_type(cur, json_type_object)) {
            return NULL;
        }
        memcpy(seg, path + start, n);
        seg[n] = '\0';
        if (!json_object_object_get_ex(cur, seg, &next)) {
            return NULL;
        }
        cur = next;
    }
    return cur;
}

json_object *oauth2_claims_get(const oauth2_claims_t *claims, const char *path)
{
    json_object *val;
    apr_size_t len;

    if (claims == NULL || path == NULL) {
        return NULL;
    }
    len = strnlen(path, OAUTH2_MAX_CLAIM_PATH + 1);
    if (len == 0 || len > OAUTH2_MAX_CLAIM_PATH) {
        return NULL;
    }
    /* A namespaced claim ("https://example.com/groups") is one member. */
    if (json_object_object_get_ex(claims->json, path, &val)) {
        return val;
    }
    return get_dotted(claims->json, path, len);
}

/* A JSON string as a C string, or NULL when it is not a string or holds a
 * NUL byte (which would cut it short: "admin\u0000x" is not "admin"). */
static const char *plain_string(json_object *v)
{
    const char *s;

    if (!json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    s = json_object_get_string(v);
    if (strlen(s) != (apr_size_t)json_object_get_string_len(v)) {
        return NULL;
    }
    return s;
}

const char *oauth2_claims_get_string(const oauth2_claims_t *claims,
                                     const char *path)
{
    return plain_string(oauth2_claims_get(claims, path));
}

/* The text of a scalar leaf (string, number, boolean) or NULL for
 * anything else. Numbers keep the text they were parsed from. The string
 * belongs to v (json-c caches it inside v). */
static const char *scalar_text(json_object *v, apr_size_t *len)
{
    const char *s = NULL;
    size_t n = 0;

    switch (json_object_get_type(v)) {
    case json_type_string:
        s = plain_string(v);
        n = s == NULL ? 0 : strlen(s);
        break;
    case json_type_int:
    case json_type_double:
    case json_type_boolean:
        s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &n);
        break;
    case json_type_null:
    case json_type_object:
    case json_type_array:
        break;
    }
    *len = n;
    return s;
}

static void push_scalar(apr_pool_t *p, apr_array_header_t *arr, json_object *v)
{
    apr_size_t len;
    const char *s = scalar_text(v, &len);

    if (s != NULL) {
        APR_ARRAY_PUSH(arr, const char *) = apr_pstrmemdup(p, s, len);
    }
}

apr_array_header_t *oauth2_claims_get_values(apr_pool_t *p,
                                             const oauth2_claims_t *claims,
                                             const char *path)
{
    apr_array_header_t *arr;
    json_object *v;
    size_t i, n;

    if (p == NULL) {
        return NULL;
    }
    arr = apr_array_make(p, 4, sizeof(const char *));
    v = oauth2_claims_get(claims, path);
    if (!json_object_is_type(v, json_type_array)) {
        push_scalar(p, arr, v);
        return arr;
    }
    n = json_object_array_length(v);
    for (i = 0; i < n; i++) {
        push_scalar(p, arr, json_object_array_get_idx(v, i));
    }
    return arr;
}

void oauth2_claims_merge(oauth2_claims_t *into, const oauth2_claims_t *from)
{
    if (into == NULL || from == NULL || into == from) {
        return;
    }
    json_object_object_foreach(from->json, key, val)
    {
        json_object *copy = NULL;

        if (json_object_object_get_ex(into->json, key, NULL)) {
            continue;
        }
        /* A deep copy: the two sets may live in different pools. A JSON
         * null is a NULL json_object and copies as itself. */
        if (val != NULL && json_object_deep_copy(val, &copy, NULL) != 0) {
            continue;
        }
        if (json_object_object_add(into->json, key, copy) != 0) {
            json_object_put(copy);
        }
    }
}

/* State of one walk: the path is built in place, never allocated. */
typedef struct {
    oauth2_claims_leaf_fn fn;
    void *ctx;
    int stop;
    char path[OAUTH2_MAX_CLAIM_PATH + 1];
} walk_t;

static void walk_leaf(walk_t *w, json_object *v)
{
    apr_size_t len;
    const char *s;

    if (w->stop) {
        return;
    }
    s = scalar_text(v, &len);
    if (s != NULL) {
        w->stop = w->fn(w->ctx, w->path, s, len);
    }
}

static void walk_object(walk_t *w, json_object *obj, apr_size_t plen,
                        int depth);

/* Visits one member whose path ends at w->path[n]. */
static void walk_member(walk_t *w, json_object *val, apr_size_t n, int depth)
{
    size_t i, count;

    if (json_object_is_type(val, json_type_object)) {
        if (depth < OAUTH2_MAX_CLAIM_SEGMENTS) {
            walk_object(w, val, n, depth + 1);
        }
        return;
    }
    if (!json_object_is_type(val, json_type_array)) {
        walk_leaf(w, val);
        return;
    }
    /* Array elements appear under the array's own path; nested arrays
     * and objects are skipped, as in oauth2_claims_get_values. */
    count = json_object_array_length(val);
    for (i = 0; i < count && !w->stop; i++) {
        walk_leaf(w, json_object_array_get_idx(val, i));
    }
}

static void walk_object(walk_t *w, json_object *obj, apr_size_t plen, int depth)
{
    json_object_object_foreach(obj, key, val)
    {
        apr_size_t klen = strlen(key);
        apr_size_t n = plen;

        if (w->stop) {
            return;
        }
        /* Paths that would not fit OAUTH2_MAX_CLAIM_PATH are skipped,
         * since oauth2_claims_get could not find them either. */
        if (klen == 0 || n + (n > 0) + klen > OAUTH2_MAX_CLAIM_PATH) {
            continue;
        }
        if (n > 0) {
            w->path[n++] = '.';
        }
        memcpy(w->path + n, key, klen);
        n += klen;
        w->path[n] = '\0';
        walk_member(w, val, n, depth);
    }
}

void oauth2_claims_walk(apr_pool_t *p, const oauth2_claims_t *claims,
                        oauth2_claims_leaf_fn fn, void *ctx)
{
    walk_t w;

    if (p == NULL || claims == NULL || fn == NULL) {
        return;
    }
    w.fn = fn;
    w.ctx = ctx;
    w.stop = 0;
    w.path[0] = '\0';
    walk_object(&w, claims->json, 0, 1);
}

/*
 * Validation helpers. Each returns APR_SUCCESS or a status with *err set.
 * "Present" means the member exists, even with a JSON null value (which
 * is then the wrong type).
 */

static apr_status_t claim_missing(apr_pool_t *p, const char *name,
                                  const char **err)
{
    set_err(err, apr_psprintf(p, "claim %s is missing", name));
    return OAUTH2_EMISMATCH;
}

static apr_status_t claim_malformed(apr_pool_t *p, const char *name,
                                    const char *what, const char **err)
{
    set_err(err, apr_psprintf(p, "claim %s is not %s", name, what));
    return OAUTH2_EMALFORMED;
}

/* A string member without NUL bytes: *out NULL when absent. */
static apr_status_t claim_string(apr_pool_t *p, json_object *obj,
                                 const char *name, int required,
                                 const char **out, const char **err)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(obj, name, &v)) {
        return required ? claim_missing(p, name, err) : APR_SUCCESS;
    }
    *out = plain_string(v);
    if (*out == NULL) {
        return claim_malformed(p, name, "a string", err);
    }
    return APR_SUCCESS;
}

/* A NumericDate member (RFC 7519 §2) as apr_time_t: *present 0 when
 * absent. Integers and reals are accepted, in [0, year 9999]. */
static apr_status_t claim_date(apr_pool_t *p, json_object *obj,
                               const char *name, int required, apr_time_t *out,
                               int *present, const char **err)
{
    json_object *v;
    double d;

    *present = json_object_object_get_ex(obj, name, &v);
    if (!*present) {
        return required ? claim_missing(p, name, err) : APR_SUCCESS;
    }
    if (!json_object_is_type(v, json_type_int)
        && !json_object_is_type(v, json_type_double)) {
        return claim_malformed(p, name, "a number", err);
    }
    /* Integers beyond int64 saturate; NaN and Infinity fail the range. */
    d = json_object_is_type(v, json_type_int) ? (double)json_object_get_int64(v)
                                              : json_object_get_double(v);
    if (!isfinite(d) || !(d >= 0.0 && d <= CLAIMS_MAX_NUMERIC_DATE)) {
        return claim_malformed(p, name, "a date in range", err);
    }
    *out = (apr_time_t)(d * (double)APR_USEC_PER_SEC);
    return APR_SUCCESS;
}

/* "iss" must equal the expected issuer exactly (OIDC Core §3.1.3.7 step
 * 2; RFC 9068 §4 step 3; Back-Channel Logout §2.6 step 3). */
static apr_status_t check_iss(apr_pool_t *p, json_object *obj,
                              const oauth2_claims_expect_t *x, const char **err)
{
    const char *iss;
    apr_status_t rv = claim_string(p, obj, "iss", 1, &iss, err);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (strcmp(iss, x->issuer) != 0) {
        set_err(err, "claim iss does not match the issuer");
        return OAUTH2_EMISMATCH;
    }
    return APR_SUCCESS;
}

/* "aud" is a string or an array of strings (RFC 7519 §4.1.3) that must
 * contain the audience (OIDC Core §3.1.3.7 step 3); *count is the number
 * of audiences it names. */
static apr_status_t check_aud(apr_pool_t *p, json_object *obj,
                              const oauth2_claims_expect_t *x, size_t *count,
                              const char **err)
{
    json_object *aud;
    const char *s;
    size_t i;
    int found = 0;

    if (!json_object_object_get_ex(obj, "aud", &aud)) {
        return claim_missing(p, "aud", err);
    }
    if (!json_object_is_type(aud, json_type_array)) {
        s = plain_string(aud);
        if (s == NULL) {
            return claim_malformed(p, "aud", "a string or array", err);
        }
        *count = 1;
        found = strcmp(s, x->audience) == 0;
    }
    else {
        *count = json_object_array_length(aud);
        for (i = 0; i < *count; i++) {
            s = plain_string(json_object_array_get_idx(aud, i));
            if (s == NULL) {
                return claim_malformed(p, "aud", "an array of strings", err);
            }
            found |= strcmp(s, x->audience) == 0;
        }
    }
    if (!found) {
        set_err(err, "claim aud does not contain the audience");
        return OAUTH2_EMISMATCH;
    }
    return APR_SUCCESS;
}

/* OIDC Core §3.1.3.7 steps 4 and 5: with several audiences azp is
 * required; when present it must be our client id. */
static apr_status_t check_azp(apr_pool_t *p, json_object *obj,
                              const oauth2_claims_expect_t *x, size_t naud,
                              const char **err)
{
    const char *azp;
    apr_status_t rv = claim_string(p, obj, "azp", naud > 1, &azp, err);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (azp != NULL && strcmp(azp, x->audience) != 0) {
        set_err(err, "claim azp does not match the audience");
        return OAUTH2_EMISMATCH;
    }
    return APR_SUCCESS;
}

/* exp (RFC 7519 §4.1.4: now must be before it), nbf (§4.1.5: now must not
 * be before it) and iat (not in the future), each with the clock skew.
 * Dates are bounded and skew is at most OAUTH2_MAX_CLOCK_SKEW, so the
 * sums below cannot overflow whatever `now` is. */
static apr_status_t check_times(apr_pool_t *p, json_object *obj,
                                const oauth2_claims_expect_t *x,
                                int exp_required, int iat_required,
                                const char **err)
{
    apr_time_t exp, nbf, iat;
    int has_exp, has_nbf, has_iat;
    apr_status_t rv;

    rv = claim_date(p, obj, "exp", exp_required, &exp, &has_exp, err);
    if (rv == APR_SUCCESS) {
        rv = claim_date(p, obj, "nbf", 0, &nbf, &has_nbf, err);
    }
    if (rv == APR_SUCCESS) {
        rv = claim_date(p, obj, "iat", iat_required, &iat, &has_iat, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (has_exp && exp + x->skew <= x->now) {
        set_err(err, "token expired (exp)");
        return OAUTH2_EEXPIRED;
    }
    if (has_nbf && nbf - x->skew > x->now) {
        set_err(err, "token not valid yet (nbf)");
        return OAUTH2_ENOTYET;
    }
    if (has_iat && iat - x->skew > x->now) {
        set_err(err, "token issued in the future (iat)");
        return OAUTH2_ENOTYET;
    }
    return APR_SUCCESS;
}

/* OIDC Core §3.1.3.7 step 11: the nonce of the authentication request;
 * compared in constant time after a length check. */
static apr_status_t check_nonce(apr_pool_t *p, json_object *obj,
                                const oauth2_claims_expect_t *x,
                                const char **err)
{
    const char *nonce;
    apr_size_t len;
    apr_status_t rv;

    if (x->nonce == NULL || x->nonce[0] == '\0') {
        set_err(err, "no nonce to check the ID token against");
        return OAUTH2_EMISMATCH;
    }
    rv = claim_string(p, obj, "nonce", 1, &nonce, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    len = strlen(nonce);
    if (len != strlen(x->nonce) || CRYPTO_memcmp(nonce, x->nonce, len) != 0) {
        set_err(err, "claim nonce does not match");
        return OAUTH2_EMISMATCH;
    }
    return APR_SUCCESS;
}

/* A string claim that, when required or present, is not empty. */
static apr_status_t check_nonempty(apr_pool_t *p, json_object *obj,
                                   const char *name, int required,
                                   const char **out, const char **err)
{
    apr_status_t rv = claim_string(p, obj, name, required, out, err);

    if (rv == APR_SUCCESS && *out != NULL && **out == '\0') {
        return claim_malformed(p, name, "a non-empty string", err);
    }
    return rv;
}

/* OIDC Core §3.1.3.7 steps 3-5 and 11, §2 (sub: required). */
static apr_status_t check_id_token(apr_pool_t *p, json_object *obj,
                                   const oauth2_claims_expect_t *x, size_t naud,
                                   const char **err)
{
    const char *sub;
    apr_status_t rv = check_azp(p, obj, x, naud, err);

    /* OIDC Core §12.2: an ID token from a refresh carries no new nonce. */
    if (rv == APR_SUCCESS && x->kind == OAUTH2_TOKEN_ID) {
        rv = check_nonce(p, obj, x, err);
    }
    if (rv == APR_SUCCESS) {
        rv = check_nonempty(p, obj, "sub", 1, &sub, err);
    }
    return rv;
}

/* The "events" object with the back-channel-logout member, whose value
 * is a JSON object (Back-Channel Logout §2.4, §2.6 step 4). */
static apr_status_t check_logout_event(apr_pool_t *p, json_object *obj,
                                       const char **err)
{
    json_object *events, *ev;

    if (!json_object_object_get_ex(obj, "events", &events)) {
        return claim_missing(p, "events", err);
    }
    if (!json_object_is_type(events, json_type_object)) {
        return claim_malformed(p, "events", "an object", err);
    }
    if (!json_object_object_get_ex(events, CLAIMS_BCL_EVENT, &ev)) {
        set_err(err, "claim events lacks the back-channel-logout event");
        return OAUTH2_EMISMATCH;
    }
    if (!json_object_is_type(ev, json_type_object)) {
        return claim_malformed(p, "events." CLAIMS_BCL_EVENT, "an object", err);
    }
    return APR_SUCCESS;
}

/* Back-Channel Logout §2.4 and §2.6 steps 4-6: jti, events, sid or sub,
 * and no nonce (so an ID token cannot pass for a logout token). */
static apr_status_t check_logout_token(apr_pool_t *p, json_object *obj,
                                       const char **err)
{
    const char *jti, *sid, *sub;
    apr_status_t rv;

    rv = check_nonempty(p, obj, "jti", 1, &jti, err);
    if (rv == APR_SUCCESS) {
        rv = check_logout_event(p, obj, err);
    }
    if (rv == APR_SUCCESS) {
        rv = check_nonempty(p, obj, "sid", 0, &sid, err);
    }
    if (rv == APR_SUCCESS) {
        rv = check_nonempty(p, obj, "sub", 0, &sub, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (sid == NULL && sub == NULL) {
        set_err(err, "logout token has neither sid nor sub");
        return OAUTH2_EMISMATCH;
    }
    if (json_object_object_get_ex(obj, "nonce", NULL)) {
        set_err(err, "logout token carries a nonce");
        return OAUTH2_EMISMATCH;
    }
    return APR_SUCCESS;
}

/* The caller's expectations must be usable before any claim is read. */
static apr_status_t check_expect(const oauth2_claims_expect_t *x,
                                 const char **err)
{
    if (x->issuer == NULL || x->audience == NULL || x->issuer[0] == '\0'
        || x->audience[0] == '\0') {
        set_err(err, "no issuer or audience to check against");
        return OAUTH2_ECONFIG;
    }
    if (x->skew < 0 || x->skew > apr_time_from_sec(OAUTH2_MAX_CLOCK_SKEW)) {
        set_err(err, "clock skew out of range");
        return OAUTH2_ECONFIG;
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_claims_validate(apr_pool_t *p,
                                    const oauth2_claims_t *claims,
                                    const oauth2_claims_expect_t *x,
                                    const char **err)
{
    json_object *obj;
    const char *sub;
    size_t naud = 0;
    apr_status_t rv;

    if (p == NULL || claims == NULL || x == NULL) {
        set_err(err, "no claims to validate");
        return OAUTH2_EMALFORMED;
    }
    rv = check_expect(x, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    obj = claims->json;
    rv = check_iss(p, obj, x, err);
    if (rv == APR_SUCCESS) {
        rv = check_aud(p, obj, x, &naud, err);
    }
    if (rv == APR_SUCCESS) {
        rv = check_times(p, obj, x, x->kind != OAUTH2_TOKEN_LOGOUT,
                         x->kind != OAUTH2_TOKEN_ACCESS, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    switch (x->kind) {
    case OAUTH2_TOKEN_ID:
    case OAUTH2_TOKEN_ID_REFRESHED:
        return check_id_token(p, obj, x, naud, err);
    case OAUTH2_TOKEN_ACCESS:
        /* RFC 9068 §2.2: sub, when present, is a string. */
        return claim_string(p, obj, "sub", 0, &sub, err);
    case OAUTH2_TOKEN_LOGOUT:
        return check_logout_token(p, obj, err);
    }
    set_err(err, "unknown token kind");
    return OAUTH2_EMALFORMED;
}

/* A JOSE "typ" as a type name: lower-case, without "application/". */
static const char *typ_name(apr_pool_t *p, const char *typ)
{
    char *t, *c;

    if (typ == NULL) {
        return NULL;
    }
    if (strncasecmp(typ, "application/", 12) == 0) {
        typ += 12;
    }
    t = apr_pstrdup(p, typ);
    for (c = t; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return t;
}

/* Does an untyped access token carry what marks an ID token (OIDC Core
 * §2, §3.3.2.11) or a logout token, or name itself something else? */
static const char *foreign_shape(json_object *obj,
                                 const oauth2_claims_expect_t *x)
{
    static const char *const marks[] = { "nonce", "at_hash", "c_hash", "s_hash",
                                         "events" };
    json_object *v, *aud;
    size_t i;

    for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        if (json_object_object_get_ex(obj, marks[i], NULL)) {
            return marks[i];
        }
    }
    if (json_object_object_get_ex(obj, "typ", &v)
        && !(json_object_is_type(v, json_type_string)
             && strcasecmp(json_object_get_string(v), "Bearer") == 0)) {
        return "typ";
    }
    if (x->client_id == NULL || strcmp(x->client_id, x->audience) == 0
        || !json_object_object_get_ex(obj, "aud", &aud)) {
        return NULL;
    }
    if (!json_object_is_type(aud, json_type_array)) {
        return strcmp(json_object_get_string(aud), x->client_id) == 0 ? "aud"
                                                                      : NULL;
    }
    for (i = 0; i < json_object_array_length(aud); i++) {
        v = json_object_array_get_idx(aud, i);
        if (json_object_is_type(v, json_type_string)
            && strcmp(json_object_get_string(v), x->client_id) == 0) {
            return "aud";
        }
    }
    return NULL;
}

static apr_status_t typ_refused(apr_pool_t *p, const char *typ,
                                const char *what, const char **err)
{
    *err = apr_psprintf(p, "a token of type \"%.40s\" is not %s",
                        typ ? typ : "(none)", what);
    return OAUTH2_EMISMATCH;
}

apr_status_t oauth2_claims_check_typ(apr_pool_t *p,
                                     const oauth2_claims_t *claims,
                                     const char *typ,
                                     const oauth2_claims_expect_t *x,
                                     const char **err)
{
    const char *t = typ_name(p, typ), *mark;
    int untyped = t == NULL || strcmp(t, "jwt") == 0;

    if (claims == NULL || x == NULL) {
        set_err(err, "no claims to check");
        return OAUTH2_EMALFORMED;
    }
    switch (x->kind) {
    case OAUTH2_TOKEN_ID:
    case OAUTH2_TOKEN_ID_REFRESHED:
        return untyped ? APR_SUCCESS : typ_refused(p, typ, "an ID token", err);
    case OAUTH2_TOKEN_LOGOUT:
        return untyped || strcmp(t, "logout+jwt") == 0
                   ? APR_SUCCESS
                   : typ_refused(p, typ, "a logout token", err);
    case OAUTH2_TOKEN_ACCESS:
        /* A sender-constrained token (RFC 9449 DPoP cnf.jkt, RFC 8705
         * cnf.x5t#S256) is good only with its proof, which a plain Bearer
         * request does not carry and this module does not check. */
        if (json_object_object_get_ex(claims->json, "cnf", NULL)) {
            *err = "a sender-constrained token (cnf) is not a bearer token";
            return OAUTH2_EMISMATCH;
        }
        if (t != NULL && strcmp(t, "at+jwt") == 0) {
            return APR_SUCCESS;
        }
        if (!untyped || !x->allow_untyped) {
            return typ_refused(p, typ, "an access token (at+jwt)", err);
        }
        mark = foreign_shape(claims->json, x);
        if (mark != NULL) {
            *err = apr_psprintf(p,
                                "an untyped token with claim %s is not an "
                                "access token",
                                mark);
            return OAUTH2_EMISMATCH;
        }
        return APR_SUCCESS;
    }
    set_err(err, "unknown token kind");
    return OAUTH2_EMALFORMED;
}
