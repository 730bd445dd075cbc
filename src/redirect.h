/*
 * redirect.h: deciding whether a redirect target that came from a client
 * (rd=, the original URL kept in the login state, a post-logout target)
 * may be followed.
 *
 * Accepted: a relative path on this host ("/app?x=1"), or an absolute
 * http(s) URL whose host is this host or one an administrator allowed.
 * Refused: everything a browser could resolve to another host or a script:
 * "//x", "/\x", "\\x", schemes other than http(s), "https:x" without "//",
 * userinfo ("https://good@evil"), control characters and backslashes
 * (raw or percent-encoded, also double-encoded), raw spaces and encoded
 * ones next to a '/' or at either end ("/a%20b" is fine), encoded slashes
 * at the start or anywhere that makes "//", dot segments, raw non-ASCII
 * bytes and encoded bytes that are not UTF-8, over-long targets.
 * The check is made on the decoded form as well as the raw form, so no
 * decoding a browser or backend might apply turns an accepted target into
 * a foreign one.
 */
#ifndef OAUTH2_REDIRECT_H
#define OAUTH2_REDIRECT_H

#include <apr_pools.h>
#include <apr_tables.h>

/**
 * Validates target.
 * @param this_host the request's host, without port, lower-case
 * @param allowed   hosts allowed besides this one (const char *, lower-
 *                  case); an entry starting with '.' allows that domain's
 *                  subdomains (".example.com": a.example.com, not
 *                  example.com nor evilexample.com); may be NULL
 * @param out       on success, the target to send in Location (the input
 *                  itself: nothing is rewritten)
 * @return APR_SUCCESS, OAUTH2_EREFUSED (a foreign or dangerous target),
 *         OAUTH2_ETOOBIG (> OAUTH2_MAX_URL), OAUTH2_EMALFORMED (NULL or
 *         empty); *err (static or from p) names the rule that refused it
 */
apr_status_t oauth2_redirect_validate(apr_pool_t *p, const char *target,
                                      const char *this_host,
                                      const apr_array_header_t *allowed,
                                      const char **out, const char **err);

#endif /* OAUTH2_REDIRECT_H */
