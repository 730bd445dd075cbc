/*
 * response.c: building the engine's answers and rendering the module's
 * page (see response.h). Statuses come from the answer table (errors.c).
 */
#include <stdio.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "response.h"

const oauth2_identity_header_t oauth2_identity_headers[] = {
    { "X-Forwarded-User", OAUTH2_SF_USER },
    { "X-Forwarded-Email", OAUTH2_SF_EMAIL },
    { "X-Forwarded-Preferred-Username", OAUTH2_SF_USERNAME },
    { "X-Forwarded-Groups", OAUTH2_SF_GROUPS_HEADER },
    { "X-Forwarded-Access-Token", OAUTH2_SF_ACCESS_TOKEN },
};

const oauth2_page_t *oauth2_response_page(apr_pool_t *p, oauth2_answer_e a,
                                          const char *message, const char *link)
{
    const oauth2_answer_t *row = oauth2_answer(a);
    oauth2_page_t *pg = apr_pcalloc(p, sizeof(*pg));

    pg->status = row->status;
    pg->kind = row->page;
    pg->reason = row->reason;
    pg->title = row->title;
    pg->message = message ? message : row->message;
    pg->link = link;
    return pg;
}

void oauth2_response_answer(oauth2_response_t *resp, apr_pool_t *p,
                            oauth2_answer_e a, const char *message,
                            const char *link)
{
    const oauth2_answer_t *row = oauth2_answer(a);

    resp->status = row->status;
    switch (row->show) {
    case OAUTH2_SHOW_BARE:
        resp->kind = OAUTH2_RESPONSE_STATUS;
        return;
    case OAUTH2_SHOW_JSON:
        oauth2_response_body(resp, row->status, "application/json",
                             message ? message : row->message);
        return;
    case OAUTH2_SHOW_PAGE:
        resp->kind = OAUTH2_RESPONSE_BODY;
        break;
    case OAUTH2_SHOW_ERROR_PAGE:
        resp->kind = OAUTH2_RESPONSE_STATUS;
        break;
    }
    resp->no_store = 1;
    resp->page = oauth2_response_page(p, a, message, link);
}

void oauth2_response_page_body(oauth2_response_t *resp, const oauth2_page_t *pg)
{
    resp->kind = OAUTH2_RESPONSE_BODY;
    resp->status = pg->status;
    resp->no_store = 1;
    resp->page = pg;
    resp->content_type = NULL;
    resp->body = NULL;
    resp->body_len = 0;
}

void oauth2_response_redirect(oauth2_response_t *resp, const char *location)
{
    resp->kind = OAUTH2_RESPONSE_STATUS;
    resp->status = 302;
    resp->location = location;
    resp->no_store = 1;
}

void oauth2_response_body(oauth2_response_t *resp, int status,
                          const char *content_type, const char *body)
{
    resp->kind = OAUTH2_RESPONSE_BODY;
    resp->status = status;
    resp->no_store = 1;
    resp->page = NULL;
    resp->content_type = content_type;
    resp->body = body;
    resp->body_len = body ? strlen(body) : 0;
}

void oauth2_response_cookie(oauth2_response_t *resp, apr_pool_t *p,
                            const char *set_cookie)
{
    if (set_cookie == NULL) {
        return;
    }
    if (resp->cookies == NULL) {
        resp->cookies = apr_array_make(p, 4, sizeof(const char *));
    }
    APR_ARRAY_PUSH(resp->cookies, const char *) = set_cookie;
}

const char *oauth2_html_escape(apr_pool_t *p, const char *s)
{
    apr_size_t i, n = 0;
    char *out, *o;

    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];

        n += c == '<' || c == '>'    ? 4
             : c == '&' || c == '\'' ? 5
             : c == '"'              ? 6
             : c > 0x7f              ? 6
                                     : 1;
    }
    out = o = apr_palloc(p, n + 1);
    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '<' || c == '>') {
            memcpy(o, c == '<' ? "&lt;" : "&gt;", 4);
            o += 4;
        }
        else if (c == '&') {
            memcpy(o, "&amp;", 5);
            o += 5;
        }
        else if (c == '"') {
            memcpy(o, "&quot;", 6);
            o += 6;
        }
        else if (c == '\'') {
            memcpy(o, "&#39;", 5);
            o += 5;
        }
        else if (c > 0x7f) {
            /* "&#" three digits ";": bytes 128..255. */
            o[0] = '&';
            o[1] = '#';
            o[2] = (char)('0' + c / 100);
            o[3] = (char)('0' + c / 10 % 10);
            o[4] = (char)('0' + c % 10);
            o[5] = ';';
            o += 6;
        }
        else {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    return out;
}

/* An escaped value, or NULL for none. */
static const char *esc(apr_pool_t *p, const char *s)
{
    return s && *s ? oauth2_html_escape(p, s) : NULL;
}

/* The choose page's links, each name and URL escaped. */
static const char *choices_html(apr_pool_t *p, const apr_array_header_t *c)
{
    const char *out = "";
    int i;

    for (i = 0; c != NULL && i + 1 < c->nelts; i += 2) {
        out = apr_pstrcat(
            p, out, "<p class=\"actions\"><a href=\"",
            esc(p, APR_ARRAY_IDX(c, i + 1, const char *)), "\">Sign in with ",
            esc(p, APR_ARRAY_IDX(c, i, const char *)), "</a></p>\n", NULL);
    }
    return out;
}

const char *oauth2_page_html(apr_pool_t *p, const oauth2_page_t *pg,
                             const oauth2_page_tpl_t *const *set,
                             const char *request_id)
{
    const char *v[OAUTH2_PV_COUNT];
    oauth2_page_kind_e kind = (int)pg->kind >= 0 && pg->kind < OAUTH2_PAGE_COUNT
                                  ? pg->kind
                                  : OAUTH2_PAGE_ERROR;
    const oauth2_page_tpl_t *t =
        set && set[kind] ? set[kind] : oauth2_page_default(p, kind);

    v[OAUTH2_PV_TITLE] = esc(p, pg->title);
    v[OAUTH2_PV_MESSAGE] = esc(p, pg->message);
    v[OAUTH2_PV_STATUS] = apr_itoa(p, pg->status);
    v[OAUTH2_PV_USER] = esc(p, pg->user);
    v[OAUTH2_PV_REASON] = esc(p, pg->reason);
    v[OAUTH2_PV_REQUEST_ID] = esc(p, request_id);
    v[OAUTH2_PV_TRY_AGAIN_URL] = esc(p, pg->link);
    v[OAUTH2_PV_LOGOUT_URL] = esc(p, pg->logout);
    v[OAUTH2_PV_PROVIDERS] = choices_html(p, pg->choices);
    return oauth2_page_render(p, t, v);
}

const char *oauth2_response_claim_name(apr_pool_t *p, const char *path, int env)
{
    const char *prefix = env ? "OAUTH2_CLAIM_" : "OAuth2-Claim-";
    char *n = apr_pstrcat(p, prefix, path, NULL);
    char *s;

    for (s = n + strlen(prefix); *s; s++) {
        if (!apr_isalnum(*s) && (env || (*s != '-' && *s != '.'))
            && *s != '_') {
            *s = '_';
        }
    }
    return n;
}

/* Puts the values gathered for one claim path under its name. */
static void claims_flush(apr_pool_t *p, apr_table_t *out, const char *path,
                         apr_array_header_t *vals, int env)
{
    const char *name, *joined, *old;

    if (vals->nelts == 0) {
        return;
    }
    name = oauth2_response_claim_name(p, path, env);
    joined = apr_array_pstrcat(p, vals, ',');
    old = apr_table_get(out, name);
    apr_table_setn(out, name,
                   old ? apr_pstrcat(p, old, ",", joined, NULL) : joined);
    apr_array_clear(vals);
}

apr_table_t *oauth2_response_claims(apr_pool_t *p, const oauth2_session_t *s,
                                    const char *groups_claim, int env)
{
    apr_table_t *out = apr_table_make(p, (int)s->nclaims + 1);
    apr_array_header_t *vals = apr_array_make(p, 4, sizeof(const char *));
    oauth2_session_claims_t it = { NULL, 0 };
    const char *path, *value, *cur = NULL;
    int groups = 0;

    /* The elements of an array come one after the other under its path
     * (session.h); a path that comes again is joined to its values. */
    while (oauth2_session_claims_next(s, &it, &path, &value)) {
        if (cur == NULL || strcmp(path, cur) != 0) {
            if (cur != NULL) {
                claims_flush(p, out, cur, vals, env);
            }
            cur = path;
            groups = groups_claim != NULL && strcmp(path, groups_claim) == 0;
        }
        if (*value != '\0') {
            APR_ARRAY_PUSH(vals, const char *) =
                groups ? oauth2_session_group_text(p, value) : value;
        }
    }
    if (cur != NULL) {
        claims_flush(p, out, cur, vals, env);
    }
    return out;
}
