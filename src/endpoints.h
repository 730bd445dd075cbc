/*
 * endpoints.h: the module's own endpoints under OAuth2Prefix, answered
 * before any access control (the glue calls them from its quick handler),
 * so they need no AuthType block and a Require rule around them cannot
 * lock the login out: callback (the authorization response, RFC 6749
 * §4.1.2), start (begin a login), logout (RP-initiated logout),
 * userinfo (the session as JSON), backchannel-logout (OpenID Connect
 * Back-Channel Logout 1.0); and the body of SetHandler oauth2-status.
 */
#ifndef OAUTH2_ENDPOINTS_H
#define OAUTH2_ENDPOINTS_H

#include "request.h"
#include "response.h"
#include "site.h"

/**
 * Which endpoint of site path names: an index for oauth2_endpoints_handle,
 * or -1. Every request asks: most are out at their second character.
 */
int oauth2_endpoints_match(const oauth2_site_t *site, const char *path);

/** Answers endpoint which (oauth2_endpoints_match's), or 405 with the
 * method it allows. */
void oauth2_endpoints_handle(const oauth2_site_t *site, int which,
                             oauth2_request_t *req, oauth2_response_t *resp);

/**
 * The counters of SetHandler oauth2-status in Prometheus text format: the
 * site's store (when it keeps any) and provider (site may be NULL: none);
 * 405 for a method other than GET.
 */
void oauth2_endpoints_status(const oauth2_site_t *site, oauth2_request_t *req,
                             oauth2_response_t *resp);

#endif /* OAUTH2_ENDPOINTS_H */
