/*
 * http.c: bounded libcurl calls (see http.h). A fresh easy handle per call
 * keeps threads apart; the response goes into a buffer that refuses to
 * grow past its cap, which aborts the transfer (as curl's own dynbuf).
 */
#include <string.h>

#include <apr_strings.h>
#include <curl/curl.h>

#include "bounds.h"
#include "errors.h"
#include "http.h"

/* A growing buffer with a hard limit. */
typedef struct {
    apr_pool_t *p;
    char *data;
    apr_size_t len;
    apr_size_t cap;
    apr_size_t max;
    int too_big;
} http_buf_t;

/* A call in progress: body and header buffers. */
typedef struct {
    http_buf_t body;
    http_buf_t head;
} http_call_t;

apr_status_t oauth2_http_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? APR_SUCCESS
                                                             : APR_EGENERAL;
}

oauth2_http_opts_t oauth2_http_for(const oauth2_http_opts_t *o,
                                   oauth2_call_e call)
{
    oauth2_http_opts_t c = *o;

    c.call = call;
    return c;
}

/* Appends n bytes; returns 0 and marks the buffer when max would pass. */
static int buf_append(http_buf_t *b, const char *data, apr_size_t n)
{
    if (n > b->max - b->len) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 1024;
        char *nd;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        if (cap > b->max + 1) {
            cap = b->max + 1;
        }
        nd = apr_palloc(b->p, cap);
        if (b->len > 0) {
            memcpy(nd, b->data, b->len);
        }
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 1;
}

static size_t write_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_call_t *c = ud;
    size_t n = size * nmemb;

    return buf_append(&c->body, ptr, n) ? n : 0;
}

static size_t write_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_call_t *c = ud;
    size_t n = size * nmemb;

    /* A new status line starts a new response (100 Continue): keep only
     * the last response's headers. */
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        c->head.len = 0;
    }
    return buf_append(&c->head, ptr, n) ? n : 0;
}

/* Parses the raw header block into a table. */
static apr_table_t *parse_headers(apr_pool_t *p, const http_buf_t *h)
{
    apr_table_t *t = apr_table_make(p, 16);
    char *copy, *line, *last = NULL;

    if (h->len == 0) {
        return t;
    }
    copy = apr_pstrmemdup(p, h->data, h->len);
    for (line = apr_strtok(copy, "\r\n", &last); line != NULL;
         line = apr_strtok(NULL, "\r\n", &last)) {
        char *colon = strchr(line, ':');

        if (colon == NULL || colon == line) {
            continue;
        }
        *colon++ = '\0';
        while (*colon == ' ' || *colon == '\t') {
            colon++;
        }
        apr_table_add(t, line, colon);
    }
    return t;
}

/* The options every call gets. */
static CURLcode setup(CURL *c, const oauth2_http_opts_t *o, const char *url,
                      http_call_t *call)
{
    CURLcode rc = CURLE_OK;

/* Each option is set only while the previous ones succeeded. */
#define SET(opt, val)                           \
    do {                                        \
        if (rc == CURLE_OK) {                   \
            rc = curl_easy_setopt(c, opt, val); \
        }                                       \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    SET(CURLOPT_WRITEFUNCTION, write_body);
    SET(CURLOPT_WRITEDATA, call);
    SET(CURLOPT_HEADERFUNCTION, write_header);
    SET(CURLOPT_HEADERDATA, call);
    SET(CURLOPT_USERAGENT, o->user_agent ? o->user_agent : "mod_auth_oauth2");
    SET(CURLOPT_ACCEPT_ENCODING, NULL);
    if (o->ca_file != NULL) {
        SET(CURLOPT_CAINFO, o->ca_file);
    }
#undef SET
    return rc;
}

/* Maps a failed transfer to a status and a reason. */
static apr_status_t failure(apr_pool_t *p, CURLcode rc, const http_call_t *call,
                            const char *url, const char **err)
{
    if (call->body.too_big || call->head.too_big) {
        *err = apr_psprintf(
            p, "response %s from %.200s exceeds %" APR_SIZE_T_FMT " bytes",
            call->head.too_big ? "headers" : "body", url,
            call->head.too_big ? call->head.max : call->body.max);
        return OAUTH2_ETOOBIG;
    }
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT) {
        *err =
            apr_psprintf(p, "bad URL %.200s: %s", url, curl_easy_strerror(rc));
        return OAUTH2_EMALFORMED;
    }
    *err = apr_psprintf(p, "%.200s: %s", url, curl_easy_strerror(rc));
    return OAUTH2_EUNREACHABLE;
}

static struct curl_slist *make_headers(const apr_array_header_t *headers,
                                       const char *content_type, apr_pool_t *p)
{
    struct curl_slist *list = NULL, *n;
    int i;

    /* No "Expect: 100-continue" round trip on POST. */
    list = curl_slist_append(list, "Expect:");
    if (list != NULL && content_type != NULL) {
        n = curl_slist_append(
            list, apr_pstrcat(p, "Content-Type: ", content_type, NULL));
        list = n ? n : list;
    }
    for (i = 0; list != NULL && headers != NULL && i < headers->nelts; i++) {
        n = curl_slist_append(list, APR_ARRAY_IDX(headers, i, const char *));
        list = n ? n : list;
    }
    return list;
}

apr_status_t oauth2_http_call(apr_pool_t *p, const oauth2_http_opts_t *opts,
                              const char *url,
                              const apr_array_header_t *headers,
                              const char *body, const char *content_type,
                              oauth2_http_response_t **resp, const char **err)
{
    http_call_t call;
    CURL *c = NULL;
    struct curl_slist *list = NULL;
    oauth2_http_response_t *r = NULL;
    apr_status_t rv = OAUTH2_EUNREACHABLE;
    apr_time_t start = apr_time_now();
    CURLcode rc;

    if (url == NULL || opts == NULL) {
        *err = "no URL";
        return OAUTH2_EMALFORMED;
    }
    memset(&call, 0, sizeof(call));
    call.body.p = call.head.p = p;
    call.body.max = opts->max_body ? opts->max_body : OAUTH2_MAX_RESPONSE;
    call.head.max = OAUTH2_MAX_RESPONSE_HEADERS;
    c = curl_easy_init();
    if (c == NULL) {
        *err = "curl_easy_init failed";
        return APR_ENOMEM;
    }
    list = make_headers(headers, body ? content_type : NULL, p);
    rc = setup(c, opts, url, &call);
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    }
    if (rc == CURLE_OK && body != NULL) {
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_perform(c);
    }
    if (rc != CURLE_OK) {
        rv = failure(p, rc, &call, url, err);
        goto cleanup;
    }
    r = apr_pcalloc(p, sizeof(*r));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->body = call.body.data ? call.body.data : "";
    r->body_len = call.body.len;
    r->headers = parse_headers(p, &call.head);
    r->took = apr_time_now() - start;
    *resp = r;
    rv = APR_SUCCESS;
cleanup:
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    oauth2_metrics_call(opts->call,
                        oauth2_metrics_outcome(rv, r ? r->status : 0),
                        apr_time_now() - start);
    return rv;
}

/* Percent-encodes every byte outside the unreserved set (RFC 3986 §2.3);
 * form encoding turns spaces into '+' (HTML form rules, RFC 6749 App. B). */
static char *encode(apr_pool_t *p, const char *s, int form)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t n = strlen(s), i, o = 0;
    char *out = apr_palloc(p, n * 3 + 1);

    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
            || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'
            || ch == '~') {
            out[o++] = (char)ch;
        }
        else if (form && ch == ' ') {
            out[o++] = '+';
        }
        else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}

char *oauth2_http_form_encode(apr_pool_t *p, const char *s)
{
    return encode(p, s ? s : "", 1);
}

char *oauth2_http_url_encode(apr_pool_t *p, const char *s)
{
    return encode(p, s ? s : "", 0);
}

int oauth2_http_token_ok(const char *t)
{
    const unsigned char *s = (const unsigned char *)t;

    if (t == NULL || *t == '\0' || strlen(t) > OAUTH2_MAX_JWT) {
        return 0;
    }
    for (; *s; s++) {
        if (*s <= 0x20 || *s >= 0x7f) {
            return 0;
        }
    }
    return 1;
}
