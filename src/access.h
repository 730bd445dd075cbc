/*
 * access.h: a request to a protected place (AuthType oauth2): its bearer
 * token (OAuth2AcceptBearer, verified tokens cached in the store), its
 * session, what happens without one (OAuth2UnauthAction: a login, 401,
 * 403, or through as nobody), the identity the backend receives; starting
 * a login; the decision of a Require rule on the request's session; the
 * pages of a refused user and of a provider that cannot be reached.
 */
#ifndef OAUTH2_ACCESS_H
#define OAUTH2_ACCESS_H

#include <apr_pools.h>

#include "authz.h"
#include "config.h"
#include "request.h"
#include "response.h"
#include "sessions.h"
#include "site.h"

/**
 * Decides about a request to a protected place of site (NULL: its virtual
 * host has no provider, a 500) under dir. resp: CONTINUE with the user and
 * identity (a filled: the authz providers read it), with the module's
 * cookies taken out of the backend's Cookie header; or the answer (a
 * login redirect, 401, 403, 503, ...). The hot path: a request with a
 * session allocates nothing here.
 * With named providers (<OAuth2Provider NAME>) the place logs in with
 * OAuth2Use's (else the host's own, else all named ones): a session of
 * one of them is the user (a->site says which; another provider's session
 * is not looked at); without one, a browser goes to its one provider,
 * to the one it chose before, or to the sign-in page
 * (oauth2_access_choose).
 */
void oauth2_access_check(const oauth2_site_t *site, const oauth2_dir_cfg_t *dir,
                         oauth2_request_t *req, oauth2_authn_t *a,
                         oauth2_response_t *resp);

/**
 * May a request at dir inherit a's user (a subrequest, an internal
 * redirect such as an ErrorDocument, from a request that established it)?
 * Only when a's session is of a provider the place logs in with: a user of
 * one named provider is nobody at a place that uses only another. A bearer
 * token's user only at a place that takes bearer tokens of the same
 * OAuth2BearerAudience and OAuth2BearerAllowUntyped, checked against the
 * same provider (with several: the first of its OAuth2Use).
 */
int oauth2_access_inherits(const oauth2_site_t *site,
                           const oauth2_dir_cfg_t *dir,
                           const oauth2_authn_t *a);

/** CONTINUE as a's user with the identity dir passes, its groups named
 * by site's groups claim (site may be NULL), in resp (cleared first; for a
 * request that inherits its user: a subrequest, an internal redirect). */
void oauth2_access_identity(const oauth2_site_t *site,
                            const oauth2_dir_cfg_t *dir,
                            const oauth2_authn_t *a, oauth2_response_t *resp);

/**
 * Starts a login that returns to return_to (checked: a refused target
 * becomes "/"): a sealed state cookie and a redirect to the provider.
 * retry: this login restarts one whose code the provider refused (it is
 * not restarted again). Or the provider is unreachable (502 page), or no
 * state could be made (500).
 */
void oauth2_access_login(const oauth2_site_t *site, oauth2_request_t *req,
                         const char *return_to, int retry,
                         oauth2_response_t *resp);

/**
 * The sign-in page listing use (n providers: named ones, or the host's
 * own) with a link to each one's start, returning to return_to (200,
 * OAuth2Page choose). site: the virtual host's.
 */
void oauth2_access_choose(const oauth2_site_t *site,
                          const oauth2_site_t *const *use, int n,
                          oauth2_request_t *req, const char *return_to,
                          oauth2_response_t *resp);

/** The provider cannot be reached: a 502 with the module's page naming
 * the sign-in service; link: where "Try again" goes. */
void oauth2_access_provider_down(const oauth2_site_t *site,
                                 oauth2_request_t *req, oauth2_response_t *resp,
                                 const char *link);

/** What a Require rule decided. */
typedef enum {
    OAUTH2_ACCESS_GRANTED = 0,
    OAUTH2_ACCESS_DENIED,
    OAUTH2_ACCESS_NO_USER,    /* not authenticated yet */
    OAUTH2_ACCESS_ERROR,      /* the rule cannot be checked */
    OAUTH2_ACCESS_API_FAILED, /* a provider API did not answer (502) */
} oauth2_access_e;

/**
 * The decision of a parsed Require rule (line: its text, for the log) on
 * the request's user (user NULL: none yet) and a. A rule naming a
 * resource the session knows nothing of yet (an .htaccess rule) is
 * resolved with the provider's API and the session written back (cookies
 * in resp). Fails closed: an API failure is an error, not a denial, which
 * <RequireNone> would turn into a grant.
 */
oauth2_access_e oauth2_access_authorize(const oauth2_site_t *site,
                                        oauth2_request_t *req,
                                        oauth2_authn_t *a, const char *user,
                                        const oauth2_rule_t *rule,
                                        const char *line,
                                        oauth2_response_t *resp);

/** Counts the refusal (403) of a logged-in user, by the kind of the last
 * oauth2-* rule that refused them ("other" when none of ours did). */
void oauth2_access_refused(const oauth2_authn_t *a);

/** The page of a logged-in user refused by a Require rule (403), with a
 * way to log out (from p). */
const oauth2_page_t *oauth2_access_forbidden_page(const oauth2_site_t *site,
                                                  apr_pool_t *p,
                                                  const char *user);

#endif /* OAUTH2_ACCESS_H */
