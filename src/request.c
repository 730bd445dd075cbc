/*
 * request.c: decisions made from the request view alone (see request.h).
 */
#include <string.h>
#include <strings.h>

#include "request.h"

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
