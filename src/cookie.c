/*
 * cookie.c: the Cookie request header, read without allocating, and
 * Set-Cookie values for the cookies the module writes (see cookie.h).
 *
 * Reading follows what browsers send (RFC 6265 §4.2.1, §5.4) and is
 * lenient the way RFC 6265 §5.2 parses name-value pairs: pairs are split
 * on ';', trimmed of spaces and tabs, and kept only with a '=' and a
 * non-empty name. Unsealing values is seal.c's business.
 */
#include <string.h>

#include <apr_strings.h>

#include "bounds.h"
#include "cookie.h"
#include "errors.h"

static int is_cookie_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims spaces and tabs at both ends of [*s, *s + *n). */
static void trim(const char **s, apr_size_t *n)
{
    while (*n > 0 && is_cookie_space((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_cookie_space((*s)[*n - 1])) {
        (*n)--;
    }
}

/*
 * Splits the pair [s, s + n) at its first '=' (RFC 6265 §5.2 steps 2-5).
 * Returns 0 when there is no '=' or the name is empty: such pairs are
 * skipped.
 */
static int split_pair(const char *s, apr_size_t n, oauth2_cookie_t *c)
{
    const char *eq = memchr(s, '=', n);

    if (!eq) {
        return 0;
    }
    c->name = s;
    c->name_len = (apr_size_t)(eq - s);
    trim(&c->name, &c->name_len);
    if (c->name_len == 0) {
        return 0;
    }
    c->value = eq + 1;
    c->value_len = (apr_size_t)(s + n - c->value);
    trim(&c->value, &c->value_len);
    /* cookie-value may be in double quotes (RFC 6265 §4.1.1) */
    if (c->value_len >= 2 && c->value[0] == '"'
        && c->value[c->value_len - 1] == '"') {
        c->value++;
        c->value_len -= 2;
    }
    return 1;
}

apr_status_t oauth2_cookie_next(const char **pos, const char *end,
                                oauth2_cookie_t *c)
{
    const char *s;
    const char *e;

    if (!pos || !*pos || !end || !c || *pos > end) {
        return APR_EINVAL;
    }
    s = *pos;
    /* every turn consumes at least one byte, so this ends by end */
    while (s < end && *s != '\0') {
        if (*s == ';' || is_cookie_space(*s)) {
            s++;
            continue;
        }
        e = memchr(s, ';', (apr_size_t)(end - s));
        e = e ? e : end;
        e = s + strnlen(s, (apr_size_t)(e - s)); /* a NUL ends it too */
        if (split_pair(s, (apr_size_t)(e - s), c)) {
            *pos = e;
            return APR_SUCCESS;
        }
        s = e;
    }
    *pos = s;
    return APR_EOF;
}

/* The first occurrence of name (n bytes) in [p, end): memchr for its first
 * byte, then a compare. For the short names of cookies this is cheaper
 * than memmem's general search (its setup dominates on short headers). */
static const char *find_text(const char *p, const char *end, const char *name,
                             apr_size_t n)
{
    while (p < end && (apr_size_t)(end - p) >= n) {
        const char *q = memchr(p, name[0], (apr_size_t)(end - p) - n + 1);

        if (q == NULL) {
            return NULL;
        }
        /* The second byte first: most candidates are out without a call. */
        if ((n == 1 || q[1] == name[1]) && memcmp(q, name, n) == 0) {
            return q;
        }
        p = q + 1;
    }
    return NULL;
}

/* How many times the first n bytes of text occur in [h, h + len). */
static apr_size_t count_text(const char *h, apr_size_t len, const char *text,
                             apr_size_t n)
{
    const char *end = h + len, *p;
    apr_size_t count = 0;

    for (p = find_text(h, end, text, n); p != NULL;
         p = find_text(p + 1, end, text, n)) {
        count++;
    }
    return count;
}

/* Is the occurrence of a name at hit the start of a pair: only spaces
 * and tabs back to a ';' or the start of the header? */
static int pair_start(const char *header, const char *hit)
{
    while (hit > header && is_cookie_space(hit[-1])) {
        hit--;
    }
    return hit == header || hit[-1] == ';';
}

/* The value of the pair whose name ends before eq (its '=') into c, the
 * name at hit: to the next ';', trimmed, without quotes. Returns where
 * the value ends. */
static const char *take_value(const char *hit, apr_size_t name_len,
                              const char *eq, const char *end,
                              oauth2_cookie_t *c)
{
    const char *e = memchr(eq, ';', (apr_size_t)(end - eq));

    e = e ? e : end;
    c->name = hit;
    c->name_len = name_len;
    c->value = eq + 1;
    c->value_len = (apr_size_t)(e - eq - 1);
    trim(&c->value, &c->value_len);
    if (c->value_len >= 2 && c->value[0] == '"'
        && c->value[c->value_len - 1] == '"') {
        c->value++;
        c->value_len -= 2;
    }
    return e;
}

/*
 * Finds the pairs called name (name_len bytes) without parsing the
 * others: every occurrence of its first n bytes is a candidate, checked
 * with the same rules as oauth2_cookie_next: the rest of the name
 * follows, it starts a pair (only spaces back to a ';' or the header's
 * start), only spaces follow it up to a '=', the value runs to the next
 * ';', trimmed, without quotes. On the request hot path this costs a few
 * memchr calls for the name's first byte rather than a look at every
 * '=' (the fuzz target checks that both ways agree). The candidates that
 * are no such pair are counted in *others; a pair's value is skipped
 * (its text, whatever it holds, goes with it). Ends at max pairs.
 */
static apr_size_t find_pairs(const char *header, apr_size_t len,
                             const char *name, apr_size_t name_len,
                             apr_size_t n, oauth2_cookie_t *out, apr_size_t max,
                             apr_size_t *others)
{
    const char *end = header + len, *hit, *eq;
    apr_size_t found = 0;

    *others = 0;
    for (hit = find_text(header, end, name, n); hit != NULL && found < max;
         hit = find_text(hit + 1, end, name, n)) {
        if ((apr_size_t)(end - hit) >= name_len
            && memcmp(hit + n, name + n, name_len - n) == 0) {
            for (eq = hit + name_len; eq < end && is_cookie_space(*eq); eq++) {
            }
            if (eq < end && *eq == '=' && pair_start(header, hit)) {
                hit = take_value(hit, name_len, eq, end, &out[found++]) - 1;
                continue;
            }
        }
        (*others)++;
    }
    return found;
}

apr_size_t oauth2_cookie_find(const char *header, const char *name,
                              oauth2_cookie_t *out, apr_size_t max)
{
    apr_size_t len, name_len, others;

    if (!header || !name || !out || max == 0) {
        return 0;
    }
    len = strnlen(header, OAUTH2_MAX_COOKIE_HEADER + 1);
    name_len = strlen(name);
    if (len > OAUTH2_MAX_COOKIE_HEADER || name_len == 0) {
        return 0;
    }
    return find_pairs(header, len, name, name_len, name_len, out, max, &others);
}

/* The length of the common prefix of a and b. */
static apr_size_t common_prefix(const char *a, const char *b)
{
    apr_size_t n = 0;

    while (a[n] != '\0' && a[n] == b[n]) {
        n++;
    }
    return n;
}

apr_size_t oauth2_cookie_find_own(const char *header, const char *base,
                                  oauth2_cookie_found_t *f)
{
    const apr_size_t slen = sizeof(OAUTH2_STATE_COOKIE_PREFIX) - 1;
    apr_size_t name_len, lcp, others;

    f->header = header;
    f->len = header ? strlen(header) : 0;
    f->n = 0;
    f->alone = 0;
    if (!header || !base || *base == '\0') {
        return 0;
    }
    name_len = strlen(base);
    /* Every name of ours starts with the text the base shares with the
     * login states' prefix (the default "oauth2_s"): one search for it
     * finds the copies and any other mention (its first 8 bytes are as
     * good as all of it). A shorter start would be found all over a
     * header: then the base and the prefix are searched for each. */
    lcp = name_len >= 8 && memcmp(base, OAUTH2_STATE_COOKIE_PREFIX, 8) == 0
              ? 8
              : common_prefix(base, OAUTH2_STATE_COOKIE_PREFIX);
    if (lcp < 4) {
        lcp = name_len;
        if (count_text(header, f->len, OAUTH2_STATE_COOKIE_PREFIX, slen) > 0) {
            f->n = oauth2_cookie_find(header, base, f->at,
                                      OAUTH2_COOKIE_MAX_FOUND);
            return f->n;
        }
    }
    if (f->len <= OAUTH2_MAX_COOKIE_HEADER) {
        f->n = find_pairs(header, f->len, base, name_len, lcp, f->at,
                          OAUTH2_COOKIE_MAX_FOUND, &others);
    }
    else {
        others = count_text(header, f->len, base, lcp); /* not searched */
    }
    f->alone = f->n < OAUTH2_COOKIE_MAX_FOUND && others == 0;
    return f->n;
}

int oauth2_cookie_owned(const char *name, apr_size_t len, const char *base)
{
    apr_size_t n, i;
    const apr_size_t plen = sizeof(OAUTH2_STATE_COOKIE_PREFIX) - 1;

    if (name == NULL || base == NULL) {
        return 0;
    }
    if (len > plen && memcmp(name, OAUTH2_STATE_COOKIE_PREFIX, plen) == 0) {
        return 1;
    }
    n = strlen(base);
    if (n == 0 || len < n || memcmp(name, base, n) != 0) {
        return 0;
    }
    if (len == n) {
        return 1;
    }
    if (name[n] != '_' || len == n + 1) {
        return 0;
    }
    for (i = n + 1; i < len; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* Appends [s, s + n) to the header being built at *o (out its start). */
static void put_crumb(char *out, char **o, const char *s, apr_size_t n)
{
    if (n == 0) {
        return;
    }
    if (*o != out) {
        memcpy(*o, "; ", 2);
        *o += 2;
    }
    memcpy(*o, s, n);
    *o += n;
}

static int is_sep(char c)
{
    return c == ';' || is_cookie_space(c);
}

/* The quick way: cut the header around the n pairs found, which are all
 * of ours there are. */
static const char *strip_found(apr_pool_t *p, const char *header,
                               apr_size_t len, const oauth2_cookie_t *found,
                               apr_size_t n)
{
    const char *from = header, *end;
    /* Each join adds "; ", each cut takes at least "x=" away. */
    char *out = apr_palloc(p, len + 2 * n + 1), *o = out;
    apr_size_t i;

    for (i = 0; i <= n; i++) {
        end = i < n ? found[i].name : header + len;
        /* The text between two of ours, without separators at its ends. */
        while (from < end && is_sep(*from)) {
            from++;
        }
        while (end > from && is_sep(end[-1])) {
            end--;
        }
        put_crumb(out, &o, from, end > from ? (apr_size_t)(end - from) : 0);
        if (i < n) {
            from = found[i].value + found[i].value_len;
            from += from < header + len && *from == '"';
        }
    }
    *o = '\0';
    return out;
}

/* Does the crumb at s (after a ',') start with one of our names and '='? */
static int owned_crumb(const char *s, const char *base)
{
    apr_size_t n = strcspn(s, "=;, \t");
    const char *e = s + n;

    while (is_cookie_space(*e)) {
        e++;
    }
    return *e == '=' && oauth2_cookie_owned(s, n, base);
}

/* Merged Cookie lines: our pairs after a ',' are cut out too, up to the
 * next ',' or ';'. Returns whether it cut any. */
static int strip_comma_crumbs(char *s, const char *base)
{
    char *c = s, *start, *end;
    int cut = 0;

    while ((c = strchr(c, ',')) != NULL) {
        start = c + 1;
        while (is_cookie_space(*start)) {
            start++;
        }
        if (!owned_crumb(start, base)) {
            c++;
            continue;
        }
        end = start + strcspn(start, ",;");
        memmove(c, end, strlen(end) + 1);
        cut = 1;
    }
    return cut;
}

/* The full way: every pair parsed, ours dropped, the others kept as sent
 * (quotes included) and joined with "; ". NULL when that changes nothing. */
static const char *strip_all(apr_pool_t *p, const char *header, apr_size_t len,
                             const char *base)
{
    int dropped = 0;
    const char *pos = header, *end = header + len, *v;
    /* "a=1;b=2" becomes "a=1; b=2": a kept pair may grow by the space of
     * its separator, so twice the length is always enough. */
    char *out = apr_palloc(p, 2 * len + 1), *o = out;
    oauth2_cookie_t c;
    apr_size_t vlen;

    while (oauth2_cookie_next(&pos, end, &c) == APR_SUCCESS) {
        if (oauth2_cookie_owned(c.name, c.name_len, base)) {
            dropped = 1;
            continue;
        }
        v = c.value;
        vlen = c.value_len;
        if (v > header && v[-1] == '"' && v + vlen < end && v[vlen] == '"') {
            v--;
            vlen += 2;
        }
        put_crumb(out, &o, c.name, c.name_len);
        *o++ = '=';
        memcpy(o, v, vlen);
        o += vlen;
    }
    *o = '\0';
    if (strchr(out, ',') != NULL && strip_comma_crumbs(out, base)) {
        dropped = 1;
    }
    /* Pairs without a name or '=' are left out too: one may hide a crumb
     * of ours after a ',' ("=x, oauth2_session=..."). */
    return dropped || strcmp(out, header) != 0 ? out : NULL;
}

const char *oauth2_cookie_strip(apr_pool_t *p, const char *header,
                                const char *base,
                                const oauth2_cookie_found_t *found)
{
    oauth2_cookie_found_t own;

    if (p == NULL || header == NULL || base == NULL || *base == '\0') {
        return NULL;
    }
    if (found == NULL || found->header != header) {
        oauth2_cookie_find_own(header, base, &own);
        found = &own;
    }
    if (found->alone && found->n == 0) {
        return NULL; /* no name of ours anywhere */
    }
    /* The quick cut is complete when the copies found are every place
     * where a name of ours can be (oauth2_cookie_find_own); a ',' may
     * join lines (the full parse reads after it too). */
    if (found->alone && memchr(header, ',', found->len) == NULL) {
        return strip_found(p, header, found->len, found->at, found->n);
    }
    return strip_all(p, header, found->len, base);
}

/* cookie-name = token (RFC 6265 §4.1.1, RFC 7230 §3.2.6 tchar). */
static int is_token(const char *s)
{
    apr_size_t i;

    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7F || strchr("()<>@,;:\\\"/[]?={}", c)) {
            return 0;
        }
    }
    return i > 0;
}

/* cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E. */
static int is_cookie_value(const char *s)
{
    apr_size_t i;

    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7F || c == '"' || c == ',' || c == ';'
            || c == '\\') {
            return 0;
        }
    }
    return i <= OAUTH2_MAX_COOKIE_VALUE;
}

/* path-value / domain-value: any CHAR except CTLs or ';' (§4.1.1). */
static int is_attr_value(const char *s)
{
    apr_size_t i;

    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c >= 0x7F || c == ';') {
            return 0;
        }
    }
    return i > 0;
}

static int attrs_valid(const oauth2_cookie_attrs_t *a)
{
    if (a->path && (a->path[0] != '/' || !is_attr_value(a->path))) {
        return 0;
    }
    if (a->domain && !is_attr_value(a->domain)) {
        return 0;
    }
    if (!a->same_site) {
        return 1;
    }
    /* SameSite=None without Secure is rejected by browsers (RFC 6265bis) */
    if (strcmp(a->same_site, "None") == 0) {
        return a->secure;
    }
    return strcmp(a->same_site, "Lax") == 0
           || strcmp(a->same_site, "Strict") == 0;
}

char *oauth2_cookie_set_header(apr_pool_t *p, const char *name,
                               const char *value, long max_age,
                               const oauth2_cookie_attrs_t *attrs)
{
    const char *age = "";

    if (!p || !name || !value || !attrs || !is_token(name)
        || !is_cookie_value(value) || !attrs_valid(attrs)) {
        return NULL;
    }
    if (max_age == 0 && value[0] == '\0') {
        /* deletion: Max-Age=0, and Expires for agents without Max-Age */
        age = "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    }
    else if (max_age >= 0) {
        age = apr_psprintf(p, "; Max-Age=%ld", max_age);
    }
    return apr_pstrcat(
        p, name, "=", value, "; Path=", attrs->path ? attrs->path : "/",
        attrs->domain ? "; Domain=" : "", attrs->domain ? attrs->domain : "",
        age, "; HttpOnly", attrs->secure ? "; Secure" : "",
        attrs->same_site ? "; SameSite=" : "",
        attrs->same_site ? attrs->same_site : "", NULL);
}
