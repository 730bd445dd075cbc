/*
 * page.c: the page templates (see page.h): the built-in defaults, the
 * parser that checks a site's file at configuration time, the renderer.
 */
#include <string.h>

#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "bounds.h"
#include "page.h"

static const char *const keys[OAUTH2_PAGE_COUNT] = {
    "error",       "login-failed",    "refused",    "provider-down",
    "unavailable", "session-expired", "signed-out", "choose",
};

static const char *const vars[OAUTH2_PV_COUNT] = {
    "title",      "message",       "status",     "user",      "reason",
    "request_id", "try_again_url", "logout_url", "providers",
};

/* The built-in pages share their head and style: small, inline, no
 * external resource and no script (the pages' Content-Security-Policy
 * allows none), light and dark. */
#define PAGE_HEAD                                                             \
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" \
    "<meta name=\"viewport\" content=\"width=device-width, "                  \
    "initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n"        \
    "<title>{{title}}</title>\n<style>\n"                                     \
    ":root{color-scheme:light dark}\n"                                        \
    "body{margin:0;min-height:100vh;display:flex;align-items:center;"         \
    "justify-content:center;background:#f3f4f6;color:#1f2937;"                \
    "font:16px/1.55 system-ui,-apple-system,\"Segoe UI\",Roboto,"             \
    "\"Helvetica Neue\",Arial,sans-serif}\n"                                  \
    "main{box-sizing:border-box;width:100%;max-width:30rem;margin:1.5rem;"    \
    "padding:2rem 2.25rem;background:#fff;border:1px solid #e5e7eb;"          \
    "border-radius:12px;box-shadow:0 10px 30px rgba(17,24,39,.08)}\n"         \
    ".mark{width:2.5rem;height:2.5rem;border-radius:50%;display:flex;"        \
    "align-items:center;justify-content:center;font-weight:700;"              \
    "font-size:1.25rem;margin:0 0 1rem;color:#fff;background:#dc2626}\n"      \
    ".mark.ok{background:#16a34a}.mark.info{background:#2563eb}\n"            \
    "h1{margin:0 0 .5rem;font-size:1.375rem;line-height:1.3}\n"               \
    "p{margin:0 0 1rem}\n.actions{margin:1.5rem 0 0}\n"                       \
    ".actions a{display:inline-block;padding:.6rem 1.1rem;"                   \
    "border-radius:8px;background:#2563eb;color:#fff;font-weight:600;"        \
    "text-decoration:none}\n"                                                 \
    ".actions a:hover,.actions a:focus{background:#1d4ed8}\n"                 \
    "footer{margin-top:1.75rem;padding-top:1rem;border-top:1px solid "        \
    "#e5e7eb;color:#6b7280;font-size:.8125rem;overflow-wrap:anywhere}\n"      \
    "@media (prefers-color-scheme:dark){body{background:#111827;"             \
    "color:#e5e7eb}main{background:#1f2937;border-color:#374151;"             \
    "box-shadow:none}footer{color:#9ca3af;border-color:#374151}}\n"           \
    "</style>\n</head>\n<body>\n<main>\n"

#define PAGE_TEXT "<h1>{{title}}</h1>\n<p>{{message}}</p>\n"

/* A link shown when its variable has a value. */
#define PAGE_ACTION(var, text)                                       \
    "{{#" var "}}<p class=\"actions\"><a href=\"{{" var "}}\">" text \
    "</a></p>\n{{/" var "}}"

#define PAGE_FOOTER                                                      \
    "<footer>Error {{status}}{{#reason}} &middot; {{reason}}{{/reason}}" \
    "{{#request_id}} &middot; Request ID {{request_id}}{{/request_id}}"  \
    "</footer>\n"

#define PAGE_TAIL "</main>\n</body>\n</html>\n"

#define ERROR_PAGE(link_text)                                        \
    PAGE_HEAD "<div class=\"mark\">!</div>\n" PAGE_TEXT PAGE_ACTION( \
        "try_again_url", link_text)                                  \
    PAGE_FOOTER PAGE_TAIL

static const char *const defaults[OAUTH2_PAGE_COUNT] = {
    [OAUTH2_PAGE_ERROR] = ERROR_PAGE("Try again"),
    [OAUTH2_PAGE_LOGIN_FAILED] = ERROR_PAGE("Try again"),
    [OAUTH2_PAGE_REFUSED] = PAGE_HEAD
    "<div class=\"mark\">!</div>\n" PAGE_TEXT PAGE_ACTION(
        "logout_url", "Log out to use another account") PAGE_FOOTER PAGE_TAIL,
    [OAUTH2_PAGE_PROVIDER_DOWN] = ERROR_PAGE("Try again"),
    [OAUTH2_PAGE_UNAVAILABLE] = ERROR_PAGE("Try again"),
    [OAUTH2_PAGE_SESSION_EXPIRED] =
        PAGE_HEAD "<div class=\"mark info\">i</div>\n" PAGE_TEXT PAGE_ACTION(
            "try_again_url", "Sign in again") PAGE_FOOTER PAGE_TAIL,
    [OAUTH2_PAGE_SIGNED_OUT] = PAGE_HEAD
    "<div class=\"mark ok\">&#10003;</div>\n" PAGE_TEXT PAGE_ACTION(
        "try_again_url",
        "Sign in again") "{{#request_id}}<footer>Request ID {{request_id}}</footer>\n"
                         "{{/request_id}}" PAGE_TAIL,
    [OAUTH2_PAGE_CHOOSE] = PAGE_HEAD
    "<div class=\"mark info\">i</div>\n" PAGE_TEXT
    "{{providers}}{{#request_id}}<footer>Request ID {{request_id}}</footer>\n"
    "{{/request_id}}" PAGE_TAIL,
};

/* A template is a list of parts: text, variables, and the sections'
 * starts and ends (a start knows where its end is, to skip to it). */
typedef enum {
    PART_TEXT,
    PART_VAR,
    PART_IF,     /* {{#name}} */
    PART_UNLESS, /* {{^name}} */
    PART_END     /* {{/name}} */
} part_kind_e;

typedef struct {
    part_kind_e kind;
    int var;
    const char *text;
    apr_size_t len;
    int end; /* PART_IF, PART_UNLESS: the index of the PART_END */
} part_t;

struct oauth2_page_tpl_t {
    apr_array_header_t *parts;
};

int oauth2_page_kind(const char *key)
{
    int i;

    for (i = 0; key != NULL && i < OAUTH2_PAGE_COUNT; i++) {
        if (strcmp(key, keys[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *oauth2_page_key(oauth2_page_kind_e kind)
{
    return (int)kind >= 0 && kind < OAUTH2_PAGE_COUNT ? keys[kind] : "error";
}

const char *oauth2_page_keys(void)
{
    return "error, login-failed, refused, provider-down, unavailable, "
           "session-expired, signed-out, choose";
}

const char *oauth2_page_vars(void)
{
    return "title, message, status, user, reason, request_id, try_again_url, "
           "logout_url, providers";
}

const char *oauth2_page_default_text(oauth2_page_kind_e kind)
{
    return defaults[(int)kind >= 0 && kind < OAUTH2_PAGE_COUNT
                        ? kind
                        : OAUTH2_PAGE_ERROR];
}

/* The variable of a tag's name (spaces around it allowed), or -1. */
static int var_of(const char *name, apr_size_t n)
{
    int i;

    while (n > 0 && (*name == ' ' || *name == '\t')) {
        name++;
        n--;
    }
    while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t')) {
        n--;
    }
    for (i = 0; i < OAUTH2_PV_COUNT; i++) {
        if (strlen(vars[i]) == n && strncmp(name, vars[i], n) == 0) {
            return i;
        }
    }
    return -1;
}

static void add_part(apr_array_header_t *parts, part_kind_e kind, int var,
                     const char *text, apr_size_t len)
{
    part_t *pt = &APR_ARRAY_PUSH(parts, part_t);

    pt->kind = kind;
    pt->var = var;
    pt->text = text;
    pt->len = len;
    pt->end = -1;
}

/* The parser's state. */
typedef struct {
    apr_pool_t *p;
    apr_array_header_t *parts;
    int open[OAUTH2_MAX_PAGE_NESTING];
    int depth;
    int line;
} parse_t;

/* Literal text, copied with a NUL so rendering copies nothing. */
static void add_text(parse_t *ps, const char *text, apr_size_t len)
{
    add_part(ps->parts, PART_TEXT, -1, apr_pstrmemdup(ps->p, text, len), len);
}

/* Lines in text[0..n). */
static int lines_in(const char *text, apr_size_t n)
{
    int lines = 0;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        lines += text[i] == '\n';
    }
    return lines;
}

/* One tag, the text between {{ and }}: NULL, or the error. */
static const char *parse_tag(parse_t *ps, const char *tag, apr_size_t n)
{
    char sigil = n > 0 ? tag[0] : '\0';
    int section = sigil == '#' || sigil == '^' || sigil == '/';
    int var = section ? var_of(tag + 1, n - 1) : var_of(tag, n);
    part_t *start;

    if (var < 0) {
        return apr_psprintf(ps->p,
                            "line %d: unknown variable {{%.*s}} (the "
                            "variables are %s)",
                            ps->line, (int)(n > 40 ? 40 : n), tag,
                            oauth2_page_vars());
    }
    if (sigil == '/') {
        start = ps->depth > 0
                    ? &APR_ARRAY_IDX(ps->parts, ps->open[ps->depth - 1], part_t)
                    : NULL;
        if (start == NULL || start->var != var) {
            return apr_psprintf(ps->p, "line %d: {{/%s}} closes no {{#%s}}",
                                ps->line, vars[var], vars[var]);
        }
        start->end = ps->parts->nelts;
        ps->depth--;
        add_part(ps->parts, PART_END, var, NULL, 0);
        return NULL;
    }
    if (section) {
        if (ps->depth == OAUTH2_MAX_PAGE_NESTING) {
            return apr_psprintf(ps->p, "line %d: sections nest deeper than %d",
                                ps->line, OAUTH2_MAX_PAGE_NESTING);
        }
        ps->open[ps->depth++] = ps->parts->nelts;
    }
    add_part(ps->parts,
             sigil == '#'   ? PART_IF
             : sigil == '^' ? PART_UNLESS
                            : PART_VAR,
             var, NULL, 0);
    return NULL;
}

apr_status_t oauth2_page_parse(apr_pool_t *p, const char *text, apr_size_t len,
                               const oauth2_page_tpl_t **tpl, const char **err)
{
    parse_t ps = { p, apr_array_make(p, 32, sizeof(part_t)), { 0 }, 0, 1 };
    const char *pos = text, *end = text + len, *open, *close;
    oauth2_page_tpl_t *t;

    while (pos < end) {
        open = strstr(pos, "{{");
        if (open == NULL || open >= end) {
            add_text(&ps, pos, (apr_size_t)(end - pos));
            break;
        }
        if (open > pos) {
            add_text(&ps, pos, (apr_size_t)(open - pos));
        }
        ps.line += lines_in(pos, (apr_size_t)(open - pos));
        close = strstr(open + 2, "}}");
        if (close == NULL || close >= end) {
            *err = apr_psprintf(p, "line %d: {{ without }}", ps.line);
            return APR_EINVAL;
        }
        *err = parse_tag(&ps, open + 2, (apr_size_t)(close - open - 2));
        if (*err != NULL) {
            return APR_EINVAL;
        }
        ps.line += lines_in(open, (apr_size_t)(close - open));
        pos = close + 2;
    }
    if (ps.depth > 0) {
        *err = apr_psprintf(
            p, "{{#%s}} is not closed",
            vars[APR_ARRAY_IDX(ps.parts, ps.open[ps.depth - 1], part_t).var]);
        return APR_EINVAL;
    }
    t = apr_palloc(p, sizeof(*t));
    t->parts = ps.parts;
    *tpl = t;
    return APR_SUCCESS;
}

/* Reads a whole file of at most max bytes (from p): NULL or the error. */
static const char *read_file(apr_pool_t *p, const char *path, apr_size_t max,
                             char **text, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    apr_status_t rv;
    char ebuf[120];

    rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
        if (rv != APR_SUCCESS) {
            apr_file_close(f);
        }
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot read %s: %s", path,
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
    }
    if (fi.filetype != APR_REG || fi.size < 0 || (apr_size_t)fi.size > max) {
        apr_file_close(f);
        return apr_psprintf(
            p, "%s is not a file of at most %" APR_SIZE_T_FMT " bytes", path,
            max);
    }
    n = (apr_size_t)fi.size;
    *text = apr_palloc(p, n + 1);
    rv = n > 0 ? apr_file_read_full(f, *text, n, &n) : APR_SUCCESS;
    apr_file_close(f);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot read %s: %s", path,
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
    }
    (*text)[n] = '\0';
    *len = n;
    return NULL;
}

const char *oauth2_page_load(apr_pool_t *p, const char *path,
                             const oauth2_page_tpl_t **tpl)
{
    const char *err = NULL;
    char *text = NULL;
    apr_size_t len = 0;

    if (path == NULL || path[0] != '/') {
        return apr_psprintf(p, "'%s' is not an absolute path", path);
    }
    err = read_file(p, path, OAUTH2_MAX_PAGE_TEMPLATE, &text, &len);
    if (err != NULL) {
        return err;
    }
    if (strlen(text) != len) {
        return apr_psprintf(p, "%s contains a NUL byte", path);
    }
    if (oauth2_page_parse(p, text, len, tpl, &err) != APR_SUCCESS) {
        return apr_psprintf(p, "%s %s", path, err);
    }
    return NULL;
}

const oauth2_page_tpl_t *oauth2_page_default(apr_pool_t *p,
                                             oauth2_page_kind_e kind)
{
    const char *text = oauth2_page_default_text(kind), *err = NULL;
    const oauth2_page_tpl_t *t = NULL;

    /* The built-in texts parse (test_page.c checks each). */
    oauth2_page_parse(p, text, strlen(text), &t, &err);
    return t;
}

const char *oauth2_page_render(apr_pool_t *p, const oauth2_page_tpl_t *tpl,
                               const char *const *values)
{
    const apr_array_header_t *parts = tpl->parts;
    apr_array_header_t *out = apr_array_make(p, parts->nelts, sizeof(char *));
    int i;

    for (i = 0; i < parts->nelts; i++) {
        const part_t *pt = &APR_ARRAY_IDX(parts, i, part_t);
        const char *v = pt->var >= 0 ? values[pt->var] : NULL;
        int empty = v == NULL || *v == '\0';

        switch (pt->kind) {
        case PART_TEXT:
            APR_ARRAY_PUSH(out, char *) = (char *)pt->text;
            break;
        case PART_VAR:
            if (!empty) {
                APR_ARRAY_PUSH(out, char *) = (char *)v;
            }
            break;
        case PART_IF:
        case PART_UNLESS:
            if (empty == (pt->kind == PART_IF)) {
                i = pt->end; /* past the section */
            }
            break;
        case PART_END:
            break;
        }
    }
    return apr_array_pstrcat(p, out, '\0');
}
