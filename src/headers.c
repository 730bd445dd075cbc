/*
 * headers.c: the edits of a request's header tables (see headers.h).
 */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "config.h"
#include "cookie.h"
#include "headers.h"
#include "request.h"

/* Gives the table entry whose value is old (the pointer apr_table_get
 * returned) the value val, in place: a table's index is by name, so this
 * is what apr_table_setn does without its scan for the name and for
 * duplicates (the client's Cookie lines are one entry since Apache merged
 * them). 0 when no entry has that value any more. */
static int replace_value(apr_table_t *t, const char *old, const char *val)
{
    const apr_array_header_t *a = apr_table_elts(t);
    apr_table_entry_t *e = (apr_table_entry_t *)a->elts;
    int i;

    /* From the end: Cookie is among the last of a browser's headers. */
    for (i = a->nelts - 1; i >= 0; i--) {
        if (e[i].val == old) {
            e[i].val = (char *)val;
            return 1;
        }
    }
    return 0;
}

/* The Cookie header stripped of ours (out) in place of header. */
static void put_stripped(apr_table_t *in, const char *header, const char *out)
{
    if (*out == '\0') {
        apr_table_unset(in, "Cookie");
    }
    else if (!replace_value(in, header, out)) {
        apr_table_setn(in, "Cookie", out);
    }
}

/* Drops identity header names from Connection, so a client cannot have
 * mod_proxy remove the module's own headers as hop-by-hop ones. */
static void strip_connection(apr_pool_t *p, apr_table_t *in, const char *conn,
                             oauth2_headers_log_fn log, void *ctx)
{
    const char *kept = oauth2_request_connection_strip(p, conn);

    if (kept == NULL) {
        return;
    }
    log(ctx, "OA2101: removed identity header names from Connection");
    if (*kept != '\0') {
        apr_table_setn(in, "Connection", kept);
    }
    else {
        apr_table_unset(in, "Connection");
    }
}

/* The first characters of the header names strip_identity looks at:
 * X-Forwarded-*, OAuth2-Claim-*, Connection. */
static const unsigned char first_of_interest[256] = {
    ['x'] = 1, ['X'] = 1, ['o'] = 1, ['O'] = 1, ['c'] = 1, ['C'] = 1,
};

void oauth2_headers_strip_identity(apr_pool_t *p, apr_table_t *in,
                                   oauth2_headers_log_fn log, void *ctx)
{
    const apr_array_header_t *arr = apr_table_elts(in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const char *drop[16];
    int i, n = 0;
    const char *conn = NULL;

    for (i = 0; i < arr->nelts; i++) {
        const char *k = e[i].key;

        /* Most headers are out after one character. */
        if (k == NULL || !first_of_interest[(unsigned char)k[0]]) {
            continue;
        }
        if ((k[0] | 0x20) == 'c') {
            /* "Cookie", "Cache-Control" are out at their third byte. */
            if (k[1] != '\0' && (k[2] | 0x20) == 'n'
                && strcasecmp(k, "Connection") == 0) {
                conn = e[i].val;
            }
            continue;
        }
        if (oauth2_request_identity_header(k)) {
            if (n == (int)(sizeof(drop) / sizeof(drop[0]))) {
                break;
            }
            drop[n++] = k;
        }
    }
    for (i = 0; i < n; i++) {
        log(ctx, apr_psprintf(p, "OA2101: removed client-sent header %.64s",
                              drop[i]));
        apr_table_unset(in, drop[i]);
    }
    if (n == (int)(sizeof(drop) / sizeof(drop[0]))) {
        oauth2_headers_strip_identity(p, in, log, ctx); /* another batch */
        return;
    }
    if (conn != NULL) {
        strip_connection(p, in, conn, log, ctx);
    }
}

void oauth2_headers_strip_cookies(apr_pool_t *p, apr_table_t *in,
                                  const apr_array_header_t *names,
                                  const char *done)
{
    const char *header, *cur, *out, *name;
    int i;

    if (names->nelts == 0 || (done != NULL && names->nelts == 1)) {
        return;
    }
    header = apr_table_get(in, "Cookie");
    for (cur = header, i = 0; cur != NULL && i < names->nelts; i++) {
        name = APR_ARRAY_IDX(names, i, const char *);
        if (done != NULL && strcmp(name, done) == 0) {
            continue;
        }
        out = oauth2_cookie_strip(p, cur, name, NULL);
        cur = out != NULL ? out : cur;
    }
    if (cur != header) {
        put_stripped(in, header, cur);
    }
}

/* Sets an identity header: see again in headers.h. */
static void put_header(apr_table_t *in, const char *name, const char *value,
                       int again)
{
    if (again) {
        apr_table_setn(in, name, value);
    }
    else {
        apr_table_addn(in, name, value);
    }
}

/* Every claim as a header and/or variable; array elements (the same path
 * repeated) are comma-joined. */
static void pass_claims(apr_pool_t *p, apr_table_t *in, apr_table_t *env,
                        const oauth2_session_t *s, const char *groups_claim,
                        int how)
{
    /* Joined with ',' as X-Forwarded-Groups is, the groups claim's names
     * written as oauth2_session_group_text writes them. */
    if (how & OAUTH2_PASS_HEADERS) {
        apr_table_overlap(in, oauth2_response_claims(p, s, groups_claim, 0),
                          APR_OVERLAP_TABLES_SET);
    }
    if (how & OAUTH2_PASS_ENV) {
        apr_table_overlap(env, oauth2_response_claims(p, s, groups_claim, 1),
                          APR_OVERLAP_TABLES_SET);
    }
}

/* The Set-Cookie headers of a response. */
static void set_cookies(const oauth2_response_t *resp, apr_table_t *err_out)
{
    int i;

    for (i = 0; resp->cookies != NULL && i < resp->cookies->nelts; i++) {
        apr_table_addn(err_out, "Set-Cookie",
                       APR_ARRAY_IDX(resp->cookies, i, const char *));
    }
}

void oauth2_headers_identity(apr_pool_t *p, apr_table_t *in, apr_table_t *env,
                             apr_table_t *err_out,
                             const oauth2_response_t *resp, int again)
{
    const oauth2_session_t *s = resp->identity;
    const oauth2_identity_header_t *h = oauth2_identity_headers;
    int i;

    set_cookies(resp, err_out);
    if (s == NULL) {
        return;
    }
    put_header(in, h[0].name, s->f[h[0].field], again);
    for (i = 1; i < OAUTH2_IDENTITY_HEADERS; i++) {
        if (s->len[h[i].field] > 0
            && (h[i].field != OAUTH2_SF_ACCESS_TOKEN
                || (resp->pass & OAUTH2_PASS_TOKEN))) {
            put_header(in, h[i].name, s->f[h[i].field], again);
        }
    }
    if (resp->pass & (OAUTH2_PASS_HEADERS | OAUTH2_PASS_ENV)) {
        pass_claims(p, in, env, s, resp->groups_claim, resp->pass);
    }
    if (resp->cookie_in != NULL) {
        put_stripped(in, resp->cookie_in_was, resp->cookie_in);
    }
}

void oauth2_headers_response(const oauth2_response_t *resp, apr_table_t *out,
                             apr_table_t *err_out)
{
    set_cookies(resp, err_out);
    if (resp->location != NULL) {
        apr_table_setn(out, "Location", resp->location);
    }
    if (resp->no_store) {
        apr_table_setn(err_out, "Cache-Control", "no-store");
    }
    if (resp->www_authenticate != NULL) {
        apr_table_setn(err_out, "WWW-Authenticate", resp->www_authenticate);
    }
}

void oauth2_headers_page(apr_pool_t *p, apr_table_t *out, apr_table_t *err_out,
                         const char *frame)
{
    apr_table_unset(out, "Cache-Control");
    apr_table_unset(out, "Content-Security-Policy");
    apr_table_unset(out, "X-Content-Type-Options");
    apr_table_setn(err_out, "Cache-Control", "no-store");
    apr_table_setn(err_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(err_out, "Content-Security-Policy",
                   frame ? apr_pstrcat(p, OAUTH2_PAGE_CSP, frame, NULL)
                         : OAUTH2_PAGE_CSP OAUTH2_PAGE_FRAME_NONE);
}
