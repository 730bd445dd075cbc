/*
 * redirect.c: validation of client-supplied redirect targets (see
 * redirect.h).
 *
 * The rules are an allow-list of shapes, not a deny-list of tricks:
 *   1. the raw target holds only URI characters (RFC 3986 §2), minus the
 *      ones that browsers treat specially ('\\', '"', '<', '>', '`');
 *   2. it is either an absolute path ("/x", RFC 3986 §4.2 path-absolute)
 *      or "http://" / "https://" followed by an authority that is a bare
 *      host and optional port (no userinfo, no percent-encoding), whose
 *      host is this host or an allowed one;
 *   3. the path has no empty segment ("//") and no dot segment (RFC 3986
 *      §3.3 / §5.2.4), so no normalization turns it into "//host";
 *   4. rules 2 and 3 hold again after each round of percent-decoding,
 *      and the decoded form holds no control character, backslash or
 *      badly formed UTF-8, so a backend or browser that decodes (once or
 *      several times) still lands on the same host.
 * Everything else is refused. Nothing is rewritten and nothing allocated:
 * decoding happens in a bounded stack buffer.
 */
#include <string.h>

#include "bounds.h"
#include "errors.h"
#include "redirect.h"

/* Percent-decoding rounds checked; still changing after that: refused. */
#define REDIRECT_DECODE_ROUNDS 4

static apr_status_t fail(const char **err, apr_status_t rv, const char *why)
{
    if (err) {
        *err = why;
    }
    return rv;
}

static apr_status_t refuse(const char **err, const char *why)
{
    return fail(err, OAUTH2_EREFUSED, why);
}

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive ASCII comparison of n bytes (locale-independent). */
static int ascii_caseeq(const char *a, const char *b, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (ascii_lower((unsigned char)a[i])
            != ascii_lower((unsigned char)b[i])) {
            return 0;
        }
    }
    return 1;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c);
}

/* A valid "%" HEXDIG HEXDIG triplet at s[i] (RFC 3986 §2.1). */
static int is_triplet(const char *s, apr_size_t len, apr_size_t i)
{
    return s[i] == '%' && i + 2 < len && hex_value((unsigned char)s[i + 1]) >= 0
           && hex_value((unsigned char)s[i + 2]) >= 0;
}

/*
 * RFC 3986 §2: unreserved, reserved and '%'. Also "{}|^", which browsers
 * leave unencoded in queries, so that such original URLs survive a login.
 * Not: controls, space, non-ASCII, '\\' (WHATWG URL reads it as '/'), and
 * '"', '<', '>', '`'.
 */
static int is_uri_char(int c)
{
    return is_alnum(c)
           || (c != 0 && strchr("-._~:/?#[]@!$&'()*+,;=%{}|^", c) != NULL);
}

/* Rule 1, on the raw target: URI characters only, well-formed %XX. */
static apr_status_t check_raw_bytes(const char *s, apr_size_t len,
                                    const char **err)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (!is_uri_char((unsigned char)s[i])) {
            return refuse(err, "character not allowed in a redirect target");
        }
        if (s[i] == '%' && !is_triplet(s, len, i)) {
            return refuse(err, "malformed percent-encoding");
        }
    }
    return APR_SUCCESS;
}

/*
 * One round of percent-decoding in place (RFC 3986 §2.1); a '%' that does
 * not start a valid triplet stays as it is. Returns the new length.
 */
static apr_size_t percent_decode(char *s, apr_size_t len)
{
    apr_size_t i, o = 0;

    for (i = 0; i < len; i++) {
        if (is_triplet(s, len, i)) {
            s[o++] = (char)(hex_value((unsigned char)s[i + 1]) * 16
                            + hex_value((unsigned char)s[i + 2]));
            i += 2;
        }
        else {
            s[o++] = s[i];
        }
    }
    return o;
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 if malformed. Overlong
 * forms such as C0 AF are refused because some decoders read them as '/'.
 */
static apr_size_t utf8_sequence(const unsigned char *s, apr_size_t len)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    apr_size_t n, k;

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    }
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = (c == 0xE0) ? 0xA0 : 0x80;
        hi = (c == 0xED) ? 0x9F : 0xBF;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = (c == 0xF0) ? 0x90 : 0x80;
        hi = (c == 0xF4) ? 0x8F : 0xBF;
    }
    else {
        return 0;
    }
    if (n > len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (k = 2; k < n; k++) {
        if (s[k] < 0x80 || s[k] > 0xBF) {
            return 0;
        }
    }
    return n;
}

/*
 * A decoded space stays inside a segment ("/a%20b"): not next to a '/',
 * another space or either end, where WHATWG URL strips leading and
 * trailing spaces and some servers trim segments.
 */
static int space_inside(const char *s, apr_size_t len, apr_size_t i)
{
    if (i < 2 || i + 1 >= len) {
        return 0;
    }
    return s[i - 1] != '/' && s[i - 1] != ' ' && s[i + 1] != '/'
           && s[i + 1] != ' ';
}

/* Rule 4, bytes of a decoded form: no controls, '\\' or bad UTF-8. */
static apr_status_t check_decoded_bytes(const char *s, apr_size_t len,
                                        const char **err)
{
    apr_size_t i, n;

    for (i = 0; i < len; i += n) {
        unsigned char c = (unsigned char)s[i];

        n = 1;
        if (c < 0x20 || c == 0x7F) {
            return refuse(err, "encoded control character");
        }
        if (c == '\\') {
            return refuse(err, "encoded backslash");
        }
        if (c == ' ' && !space_inside(s, len, i)) {
            return refuse(err, "encoded space at a segment edge");
        }
        n = utf8_sequence((const unsigned char *)s + i, len - i);
        if (n == 0) {
            return refuse(err, "encoded bytes that are not UTF-8");
        }
    }
    return APR_SUCCESS;
}

static int is_dot_segment(const char *seg, apr_size_t n)
{
    return (n == 1 && seg[0] == '.')
           || (n == 2 && seg[0] == '.' && seg[1] == '.');
}

/*
 * Rule 3: the path (up to '?' or '#', RFC 3986 §3.3) has no empty segment,
 * so it never starts with "//" (a network-path reference, RFC 3986 §4.2),
 * and no dot segment, which removal (RFC 3986 §5.2.4) could turn into one.
 */
static apr_status_t check_path(const char *s, apr_size_t len, const char **err)
{
    apr_size_t i, n, plen = 0;

    while (plen < len && s[plen] != '?' && s[plen] != '#') {
        plen++;
    }
    for (i = 0; i < plen; i++) {
        if (s[i] != '/') {
            continue;
        }
        if (i + 1 < plen && s[i + 1] == '/') {
            return refuse(err, "empty path segment (\"//\")");
        }
        for (n = 0; i + 1 + n < plen && s[i + 1 + n] != '/'; n++) {
        }
        if (is_dot_segment(s + i + 1, n)) {
            return refuse(err, "dot segment in the path");
        }
    }
    return APR_SUCCESS;
}

/* "http://" or "https://", any case (RFC 3986 §3.1): its length, or 0. */
static apr_size_t scheme_length(const char *s, apr_size_t len)
{
    if (len >= 7 && ascii_caseeq(s, "http://", 7)) {
        return 7;
    }
    if (len >= 8 && ascii_caseeq(s, "https://", 8)) {
        return 8;
    }
    return 0;
}

/* port = 1*5DIGIT, 1..65535 (RFC 3986 §3.2.3, stricter: never empty). */
static apr_status_t check_port(const char *s, apr_size_t len, const char **err)
{
    apr_size_t i;
    long port = 0;

    if (len == 0 || len > 5) {
        return refuse(err, "bad port");
    }
    for (i = 0; i < len; i++) {
        if (!is_digit((unsigned char)s[i])) {
            return refuse(err, "bad port");
        }
        port = port * 10 + (s[i] - '0');
    }
    if (port < 1 || port > 65535) {
        return refuse(err, "bad port");
    }
    return APR_SUCCESS;
}

/*
 * An IP-literal host "[...]" (RFC 3986 §3.2.2): hex digits, ':' and '.'
 * only; it is allowed later only when equal to a configured host.
 */
static apr_status_t check_ip_literal(const char *a, apr_size_t alen,
                                     apr_size_t *hlen, const char **err)
{
    apr_size_t i;

    for (i = 1; i < alen && a[i] != ']'; i++) {
        if (hex_value((unsigned char)a[i]) < 0 && a[i] != ':' && a[i] != '.') {
            return refuse(err, "character not allowed in an IP literal");
        }
    }
    /* an IPv6 address has a ':' ("[10.0.0.1]" is no host at all) */
    if (i >= alen || !memchr(a, ':', i)) {
        return refuse(err, "malformed IP literal");
    }
    *hlen = i + 1;
    return APR_SUCCESS;
}

/*
 * A registered name: letters, digits, '-', '_' and dots between non-empty
 * labels. No '@' (userinfo, RFC 3986 §3.2.1), no '%', no trailing dot.
 */
static apr_status_t check_reg_name(const char *a, apr_size_t alen,
                                   apr_size_t *hlen, const char **err)
{
    apr_size_t i;

    for (i = 0; i < alen && a[i] != ':'; i++) {
        unsigned char c = (unsigned char)a[i];

        if (c == '@') {
            return refuse(err, "userinfo in the URL");
        }
        if (!is_alnum(c) && c != '-' && c != '_' && c != '.') {
            return refuse(err, "character not allowed in a host");
        }
        if (c == '.'
            && (i == 0 || a[i - 1] == '.' || i + 1 == alen
                || a[i + 1] == ':')) {
            return refuse(err, "empty label in the host");
        }
    }
    if (i == 0) {
        return refuse(err, "empty host");
    }
    *hlen = i;
    return APR_SUCCESS;
}

/* authority = host [ ":" port ]; sets *hlen to the host's length. */
static apr_status_t check_authority(const char *a, apr_size_t alen,
                                    apr_size_t *hlen, const char **err)
{
    apr_status_t rv;

    if (alen == 0) {
        return refuse(err, "empty host");
    }
    if (a[0] == '[') {
        rv = check_ip_literal(a, alen, hlen, err);
    }
    else {
        rv = check_reg_name(a, alen, hlen, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (*hlen == alen) {
        return APR_SUCCESS;
    }
    if (a[*hlen] != ':') {
        return refuse(err, "junk after the host");
    }
    return check_port(a + *hlen + 1, alen - *hlen - 1, err);
}

/*
 * WHATWG URL "ends in a number checker": a host whose last label is
 * numeric ("1.2.3.4", "0x7f.1", "2130706433") is parsed as IPv4 by
 * browsers, so it never matches by domain suffix, only exactly.
 */
static int ends_in_number(const char *h, apr_size_t hlen)
{
    apr_size_t start = hlen, i;
    int hex;

    while (start > 0 && h[start - 1] != '.') {
        start--;
    }
    hex = (hlen - start > 2 && h[start] == '0'
           && ascii_lower((unsigned char)h[start + 1]) == 'x');
    for (i = start + (hex ? 2 : 0); i < hlen; i++) {
        int c = (unsigned char)h[i];

        if (hex ? hex_value(c) < 0 : !is_digit(c)) {
            return 0;
        }
    }
    return 1;
}

/*
 * Host h against one configured entry: equal (case-insensitive, "[::1]"
 * also equal to "::1"), or, for ".example.com" when suffixes apply, a
 * subdomain of it.
 */
static int host_matches(const char *h, apr_size_t hlen, const char *entry,
                        int suffix)
{
    apr_size_t elen;

    if (!entry || !entry[0]) {
        return 0;
    }
    elen = strlen(entry);
    if (suffix && entry[0] == '.') {
        return elen > 1 && hlen > elen && h[0] != '['
               && !ends_in_number(h, hlen)
               && ascii_caseeq(h + hlen - elen, entry, elen);
    }
    if (hlen == elen && ascii_caseeq(h, entry, elen)) {
        return 1;
    }
    return h[0] == '[' && hlen == elen + 2 && strchr(entry, ':')
           && ascii_caseeq(h + 1, entry, elen);
}

static int host_allowed(const char *h, apr_size_t hlen, const char *this_host,
                        const apr_array_header_t *allowed)
{
    int i;

    if (host_matches(h, hlen, this_host, 0)) {
        return 1;
    }
    if (!allowed || allowed->elt_size != sizeof(const char *)) {
        return 0;
    }
    for (i = 0; i < allowed->nelts; i++) {
        if (host_matches(h, hlen, APR_ARRAY_IDX(allowed, i, const char *), 1)) {
            return 1;
        }
    }
    return 0;
}

/* Rules 2 and 3 on one form of the target (raw or decoded). */
static apr_status_t check_structure(const char *s, apr_size_t len,
                                    const char *this_host,
                                    const apr_array_header_t *allowed,
                                    const char **err)
{
    apr_size_t start, end, hlen = 0;
    apr_status_t rv;

    if (s[0] == '/') {
        return check_path(s, len, err);
    }
    start = scheme_length(s, len);
    if (start == 0) {
        return refuse(err, "neither a path on this host nor an http(s) URL");
    }
    /* authority ends at '/', '?', '#' (RFC 3986 §3.2; '\\' never gets here) */
    for (end = start; end < len; end++) {
        if (s[end] == '/' || s[end] == '?' || s[end] == '#') {
            break;
        }
    }
    rv = check_authority(s + start, end - start, &hlen, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!host_allowed(s + start, hlen, this_host, allowed)) {
        return refuse(err, "host not allowed");
    }
    return check_path(s + end, len - end, err);
}

/*
 * Rule 4: decode buf again and again; every form that decoding produces
 * must pass the byte and structure checks. A target still changing after
 * REDIRECT_DECODE_ROUNDS rounds is refused.
 */
static apr_status_t check_decoded(char *buf, apr_size_t len,
                                  const char *this_host,
                                  const apr_array_header_t *allowed,
                                  const char **err)
{
    int round;
    apr_size_t n;
    apr_status_t rv;

    for (round = 0; round <= REDIRECT_DECODE_ROUNDS; round++) {
        n = percent_decode(buf, len);
        if (n == len) {
            return APR_SUCCESS;
        }
        if (round == REDIRECT_DECODE_ROUNDS) {
            break;
        }
        len = n;
        rv = check_decoded_bytes(buf, len, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        rv = check_structure(buf, len, this_host, allowed, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return refuse(err, "percent-encoded too many times");
}

apr_status_t oauth2_redirect_validate(apr_pool_t *p, const char *target,
                                      const char *this_host,
                                      const apr_array_header_t *allowed,
                                      const char **out, const char **err)
{
    char buf[OAUTH2_MAX_URL];
    apr_size_t len;
    apr_status_t rv;

    if (!p || !target || !this_host || !out) {
        return fail(err, OAUTH2_EMALFORMED, "missing argument");
    }
    *out = NULL;
    len = strnlen(target, OAUTH2_MAX_URL + 1);
    if (len == 0) {
        return fail(err, OAUTH2_EMALFORMED, "empty redirect target");
    }
    if (len > OAUTH2_MAX_URL) {
        return fail(err, OAUTH2_ETOOBIG, "redirect target too long");
    }
    rv = check_raw_bytes(target, len, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = check_structure(target, len, this_host, allowed, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    memcpy(buf, target, len);
    rv = check_decoded(buf, len, this_host, allowed, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = target;
    return APR_SUCCESS;
}
