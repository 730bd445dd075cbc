/*
 * request.c: decisions made from the request view alone (see request.h).
 */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "request.h"

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
    if (req->method == NULL
        || (strcmp(req->method, "GET") != 0
            && strcmp(req->method, "HEAD") != 0)) {
        return 0;
    }
    if (req->requested_with != NULL && *req->requested_with != '\0') {
        return 0;
    }
    if (req->sec_fetch_mode != NULL) {
        return strcasecmp(req->sec_fetch_mode, "navigate") == 0;
    }
    return accepts_html(req->accept);
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
