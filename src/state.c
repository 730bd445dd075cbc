/*
 * state.c: creating, sealing and opening login states (see state.h).
 *
 * Serialized form (inside the seal): eight NUL-terminated fields,
 *     "2" state nonce verifier challenge created(decimal usec) return_to
 *     retry("0" or "1")
 * Nothing in it is trusted before the seal has opened.
 */
#include <string.h>

#include <apr_strings.h>

#include "base64url.h"
#include "bounds.h"
#include "crypto.h"
#include "errors.h"
#include "state.h"

#define STATE_FIELDS 8

/* PKCE S256 challenge of a verifier (RFC 7636 §4.2). */
static apr_status_t state_challenge(apr_pool_t *p, const char *verifier,
                                    const char **challenge)
{
    unsigned char digest[OAUTH2_SHA256_LEN];
    apr_status_t rv;

    rv = oauth2_crypto_sha256(verifier, strlen(verifier), digest);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *challenge = oauth2_base64url_encode(p, digest, sizeof(digest));
    return APR_SUCCESS;
}

apr_status_t oauth2_state_create(apr_pool_t *p, const char *return_to,
                                 apr_time_t now, oauth2_state_t **st)
{
    oauth2_state_t *s = apr_pcalloc(p, sizeof(*s));
    char *state, *nonce, *verifier;
    apr_status_t rv;

    if (return_to == NULL) {
        return APR_EINVAL;
    }
    rv = oauth2_crypto_random_b64(p, OAUTH2_STATE_ID_BYTES, &state);
    if (rv == APR_SUCCESS) {
        rv = oauth2_crypto_random_b64(p, 16, &nonce);
    }
    if (rv == APR_SUCCESS) {
        rv = oauth2_crypto_random_b64(p, 32, &verifier);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s->state = state;
    s->nonce = nonce;
    s->verifier = verifier;
    rv = state_challenge(p, verifier, &s->challenge);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s->return_to = return_to;
    s->created = now;
    *st = s;
    return APR_SUCCESS;
}

const char *oauth2_state_cookie_name(apr_pool_t *p, const char *state)
{
    return apr_pstrcat(p, OAUTH2_STATE_COOKIE_PREFIX, state, NULL);
}

apr_status_t oauth2_state_seal(apr_pool_t *p, const oauth2_seal_t *seal,
                               const oauth2_state_t *st, char **value,
                               const char **err)
{
    const char *f[STATE_FIELDS];
    apr_size_t lens[STATE_FIELDS], total = 0, off = 0;
    char *buf;
    int i;

    f[0] = "2";
    f[1] = st->state;
    f[2] = st->nonce;
    f[3] = st->verifier;
    f[4] = st->challenge;
    f[5] = apr_psprintf(p, "%" APR_TIME_T_FMT, st->created);
    f[6] = st->return_to;
    f[7] = st->retry ? "1" : "0";
    for (i = 0; i < STATE_FIELDS; i++) {
        lens[i] = strlen(f[i]) + 1;
        total += lens[i];
    }
    buf = apr_palloc(p, total);
    for (i = 0; i < STATE_FIELDS; i++) {
        memcpy(buf + off, f[i], lens[i]);
        off += lens[i];
    }
    return oauth2_seal_b64(p, seal, oauth2_state_cookie_name(p, st->state), buf,
                           total, value, err);
}

/* Splits the opened plaintext into its fields; all must be present. */
static apr_status_t state_split(char *pt, apr_size_t len,
                                const char *f[STATE_FIELDS])
{
    apr_size_t off = 0;
    int i;

    for (i = 0; i < STATE_FIELDS; i++) {
        char *nul;

        if (off >= len) {
            return OAUTH2_EMALFORMED;
        }
        nul = memchr(pt + off, '\0', len - off);
        if (nul == NULL) {
            return OAUTH2_EMALFORMED;
        }
        f[i] = pt + off;
        off = (apr_size_t)(nul - pt) + 1;
    }
    return off == len && strcmp(f[0], "2") == 0
                   && (strcmp(f[7], "0") == 0 || strcmp(f[7], "1") == 0)
               ? APR_SUCCESS
               : OAUTH2_EMALFORMED;
}

/* Fills st from the fields and checks its age. */
static apr_status_t state_check(const char *f[STATE_FIELDS], apr_time_t now,
                                apr_interval_time_t lifetime,
                                oauth2_state_t *st, const char **err)
{
    char *end = NULL;
    apr_int64_t created;

    /* A negative time is never ours, and INT64_MIN would overflow the
     * age computation below. */
    if (apr_strtoff(&created, f[5], &end, 10) != APR_SUCCESS || end == f[5]
        || *end != '\0' || created < 0) {
        *err = "state has a malformed time";
        return OAUTH2_EMALFORMED;
    }
    st->state = f[1];
    st->nonce = f[2];
    st->verifier = f[3];
    st->challenge = f[4];
    st->created = (apr_time_t)created;
    st->return_to = f[6];
    st->retry = f[7][0] == '1';
    if (st->created > now + apr_time_from_sec(60)) {
        *err = "state was created in the future";
        return OAUTH2_EMALFORMED;
    }
    if (now - st->created > lifetime) {
        *err = "state has expired";
        return OAUTH2_EEXPIRED;
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_state_open(apr_pool_t *p, const oauth2_seal_t *seal,
                               const char *value, apr_size_t len,
                               const char *state_param, apr_time_t now,
                               apr_interval_time_t lifetime,
                               oauth2_state_t **st, const char **err)
{
    const char *f[STATE_FIELDS];
    unsigned char *pt;
    apr_size_t ptlen;
    oauth2_state_t *s;
    apr_status_t rv;

    if (state_param == NULL || value == NULL) {
        *err = "no state";
        return OAUTH2_EMALFORMED;
    }
    rv = oauth2_seal_open_b64(p, seal, oauth2_state_cookie_name(p, state_param),
                              value, len, OAUTH2_MAX_STATE_COOKIE, &pt, &ptlen,
                              err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (state_split((char *)pt, ptlen, f) != APR_SUCCESS) {
        *err = "state cookie has a malformed content";
        return OAUTH2_EMALFORMED;
    }
    if (!oauth2_crypto_equal(f[1], strlen(f[1]), state_param,
                             strlen(state_param))) {
        *err = "state cookie belongs to another login";
        return OAUTH2_EMISMATCH;
    }
    s = apr_pcalloc(p, sizeof(*s));
    rv = state_check(f, now, lifetime, s, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *st = s;
    return APR_SUCCESS;
}
