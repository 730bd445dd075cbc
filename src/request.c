/*
 * request.c: the request view (see request.h): its on-demand fields, the
 * log, query and form parsing, and decisions made from the view alone.
 */
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "request.h"

/* Form parameters a body may carry (httpd's ap_parse_form_data limit as
 * the module used it). */
#define FORM_MAX_PARAMS 8

/* Request headers that carry identity to the backend. */
static const char *const identity_headers[] = {
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-groups",
    "x-forwarded-access-token",
};
#define CLAIM_HEADER_PREFIX "oauth2-claim-"

/* Does an Accept header admit text/html? Any of text/html, text/ *,
 * application/xhtml+xml or * / * does (a q=0 is not looked at: browsers
 * never send one for HTML). No Accept at all admits everything. */
static int accepts_html(const char *accept)
{
    if (accept == NULL || *accept == '\0') {
        return 1;
    }
    return strcasestr(accept, "text/html") != NULL
           || strcasestr(accept, "text/*") != NULL
           || strcasestr(accept, "application/xhtml+xml") != NULL
           || strstr(accept, "*/*") != NULL;
}

int oauth2_request_is_navigation(const oauth2_request_t *req)
{
    const char *xrw, *mode;

    if (req->method == NULL
        || (strcmp(req->method, "GET") != 0
            && strcmp(req->method, "HEAD") != 0)) {
        return 0;
    }
    xrw = oauth2_request_header(req, "X-Requested-With");
    if (xrw != NULL && *xrw != '\0') {
        return 0;
    }
    mode = oauth2_request_header(req, "Sec-Fetch-Mode");
    if (mode != NULL) {
        return strcasecmp(mode, "navigate") == 0;
    }
    return accepts_html(oauth2_request_header(req, "Accept"));
}

void oauth2_request_complete(oauth2_request_t *req)
{
    if (!req->completed && req->ops != NULL && req->ops->complete != NULL) {
        req->ops->complete(req);
    }
    req->completed = 1;
    if (req->host == NULL) {
        req->host = "";
    }
    if (req->host_port == NULL) {
        req->host_port = req->host;
    }
    if (req->base_url == NULL) {
        req->base_url = apr_pstrcat(req->pool, req->https ? "https" : "http",
                                    "://", req->host_port, NULL);
    }
}

const char *oauth2_request_header(const oauth2_request_t *req, const char *name)
{
    return req->headers ? apr_table_get(req->headers, name) : NULL;
}

const char *oauth2_request_url(oauth2_request_t *req, const char *path)
{
    oauth2_request_complete(req);
    return apr_pstrcat(req->pool, req->base_url, path, NULL);
}

void oauth2_request_log(oauth2_request_t *req, const char *file, int line,
                        int level, const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    if (req->ops == NULL || req->ops->log == NULL) {
        return;
    }
    if (req->log_level == OAUTH2_LOG_ASK) {
        req->log_level =
            req->ops->log_level ? req->ops->log_level(req) : OAUTH2_LOG_DEBUG;
    }
    if (level > req->log_level) {
        return;
    }
    va_start(ap, fmt);
    msg = apr_pvsprintf(req->pool, fmt, ap);
    va_end(ap);
    req->ops->log(req, file, line, level, msg);
}

/* The value of a hex digit (checked with apr_isxdigit). */
static int hex(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Decodes a query component in place: '+' is a space, %XX a byte. 0 on
 * a bad escape or an escaped NUL (which httpd's ap_unescape_urlencoded
 * refuses too). */
static int url_decode(char *s)
{
    char *o = s;

    if (strpbrk(s, "%+") == NULL) {
        return 1; /* nothing to do (and s may be a literal "") */
    }

    for (; *s; s++, o++) {
        if (*s == '+') {
            *o = ' ';
        }
        else if (*s != '%') {
            *o = *s;
        }
        else if (apr_isxdigit(s[1]) && apr_isxdigit(s[2])) {
            *o = (char)(hex(s[1]) * 16 + hex(s[2]));
            if (*o == '\0') {
                return 0;
            }
            s += 2;
        }
        else {
            return 0;
        }
    }
    *o = '\0';
    return 1;
}

/* Is name one of the list? */
static int listed(const char *const *list, const char *name)
{
    for (; list != NULL && *list != NULL; list++) {
        if (strcmp(*list, name) == 0) {
            return 1;
        }
    }
    return 0;
}

apr_status_t oauth2_request_parse_query(apr_pool_t *p, const char *query,
                                        const char *const *single,
                                        apr_table_t **out, const char **bad)
{
    apr_table_t *t = apr_table_make(p, 8);
    char *args, *pair, *last = NULL;

    *out = t;
    if (query == NULL) {
        return APR_SUCCESS;
    }
    args = apr_pstrdup(p, query);
    for (pair = apr_strtok(args, "&", &last); pair != NULL;
         pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');
        char *v = eq ? eq + 1 : "";

        if (eq != NULL) {
            *eq = '\0';
        }
        if (!url_decode(pair) || !url_decode(v)) {
            *bad = "(malformed)";
            return OAUTH2_EMALFORMED;
        }
        if (listed(single, pair) && apr_table_get(t, pair) != NULL) {
            *bad = apr_pstrdup(p, pair);
            return OAUTH2_EMALFORMED;
        }
        apr_table_addn(t, pair, v);
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_request_form_value(oauth2_request_t *req, const char *name,
                                       apr_size_t max, apr_size_t max_value,
                                       const char **value)
{
    const char *ct = oauth2_request_header(req, "Content-Type");
    const char *single[] = { name, NULL }, *body, *bad, *v;
    apr_table_t *form;
    apr_size_t len;
    apr_status_t rv;

    if (ct == NULL
        || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0
        || req->ops == NULL || req->ops->read_body == NULL) {
        return OAUTH2_EMALFORMED;
    }
    rv = req->ops->read_body(req, max, &body, &len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = oauth2_request_parse_query(req->pool, body, single, &form, &bad);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    v = apr_table_get(form, name);
    if (apr_table_elts(form)->nelts > FORM_MAX_PARAMS || v == NULL || *v == '\0'
        || strlen(v) > max_value) {
        return OAUTH2_EMALFORMED;
    }
    *value = v;
    return APR_SUCCESS;
}

/* Overwrites the value of param in s (a copy of the request line). */
static void redact_param(char *s, const char *param)
{
    apr_size_t n = strlen(param);
    char *p = s;

    while ((p = strstr(p, param)) != NULL) {
        if (p > s && (p[-1] == '?' || p[-1] == '&') && p[n] == '=') {
            char *v = p + n + 1;

            while (*v && *v != '&' && *v != ' ' && *v != '#') {
                *v++ = 'x';
            }
        }
        p += n;
    }
}

const char *oauth2_request_redact(apr_pool_t *p, const char *line)
{
    char *copy;

    if (line == NULL) {
        return NULL;
    }
    copy = apr_pstrdup(p, line);
    redact_param(copy, "code");
    redact_param(copy, "state");
    return copy;
}

/* Does name equal want (lower-case, '-' separated), ignoring case and
 * accepting '_' for '-'? n bytes of want are compared; prefix allows name
 * to be longer. */
static int name_matches(const char *name, const char *want, apr_size_t n,
                        int prefix)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        char c = apr_tolower(name[i]);

        if (name[i] == '\0'
            || (c != want[i] && !(c == '_' && want[i] == '-'))) {
            return 0;
        }
    }
    return prefix || name[n] == '\0';
}

int oauth2_request_identity_header(const char *name)
{
    apr_size_t i;

    if (name == NULL) {
        return 0;
    }
    /* Every request runs this for every header: the first characters
     * rule out nearly all of them ("x-f", "x_f", "oa"). */
    if (name[0] == 'o' || name[0] == 'O') {
        return (name[1] == 'a' || name[1] == 'A')
               && name_matches(name, CLAIM_HEADER_PREFIX,
                               sizeof(CLAIM_HEADER_PREFIX) - 1, 1);
    }
    if ((name[0] != 'x' && name[0] != 'X') || (name[1] != '-' && name[1] != '_')
        || (name[2] != 'f' && name[2] != 'F')) {
        return 0;
    }
    for (i = 0; i < sizeof(identity_headers) / sizeof(identity_headers[0]);
         i++) {
        if (name_matches(name, identity_headers[i], strlen(identity_headers[i]),
                         0)) {
            return 1;
        }
    }
    return 0;
}

/* RFC 9110 §5.6.2 tchar: what a header name is made of. */
static int is_tchar(char c)
{
    return apr_isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* Could conn name one of ours: does any run of token characters in it
 * start with 'x' or 'o'? ("keep-alive", "close", "Upgrade" do not: the
 * common values are out after one strpbrk.) */
static int connection_suspect(const char *conn)
{
    const char *s;
    int start = 1;

    if (strpbrk(conn, "xXoO") == NULL) {
        return 0;
    }
    for (s = conn; *s; s++) {
        if (start && (*s == 'x' || *s == 'X' || *s == 'o' || *s == 'O')) {
            return 1;
        }
        start = !is_tchar(*s);
    }
    return 0;
}

const char *oauth2_request_connection_strip(apr_pool_t *p, const char *conn)
{
    const char *s = conn, *start;
    char *tok, *kept = NULL;
    int dropped = 0;

    if (p == NULL || conn == NULL || !connection_suspect(conn)) {
        return NULL;
    }
    while (*s) {
        while (*s && !is_tchar(*s)) {
            s++;
        }
        for (start = s; is_tchar(*s); s++) {
        }
        if (s == start) {
            break;
        }
        tok = apr_pstrmemdup(p, start, (apr_size_t)(s - start));
        if (oauth2_request_identity_header(tok)) {
            dropped = 1;
            continue;
        }
        kept = kept ? apr_pstrcat(p, kept, ", ", tok, NULL) : tok;
    }
    if (!dropped) {
        return NULL;
    }
    return kept ? kept : "";
}

apr_size_t oauth2_request_field_limit(apr_size_t host, apr_size_t base)
{
    return base != 0 && base < host ? base : host;
}
