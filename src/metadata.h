/*
 * metadata.h: the provider as a request sees it: its endpoints (from
 * OpenID Connect Discovery, a preset, or OAuth2Endpoint overrides) and its
 * signing keys (JWKS), fetched on first need in each child process,
 * cached with a lifetime, refetched with backoff after a failure, and
 * shared by the threads of the process.
 *
 * Startup never touches the network. Cached documents are immutable
 * snapshots with a reference count: a request holds the snapshot it got
 * until its pool is cleared, so a refresh never frees what a thread still
 * reads.
 */
#ifndef OAUTH2_METADATA_H
#define OAUTH2_METADATA_H

#include <apr_pools.h>
#include <apr_time.h>

#include "config.h"
#include "http.h"
#include "jose.h"

/* Lifetime of a discovery document and of a JWKS. */
#define OAUTH2_METADATA_TTL apr_time_from_sec(3600)
/* At most one JWKS refetch per this interval for an unknown kid. */
#define OAUTH2_JWKS_MIN_INTERVAL apr_time_from_sec(30)
/* Backoff after a failed fetch: starts here, doubles, stops at the max. */
#define OAUTH2_FETCH_BACKOFF_MIN apr_time_from_sec(1)
#define OAUTH2_FETCH_BACKOFF_MAX apr_time_from_sec(60)

/** The endpoints of a provider. Absent ones are NULL. */
typedef struct {
    const char *issuer;
    const char *authorization;
    const char *token;
    const char *userinfo;
    const char *jwks;
    const char *end_session;
    const char *github_api;
    const char *gitlab_api;       /* GitLab REST API v4 base */
    const char *google_directory; /* Admin SDK Directory API base */
    int oidc;               /* 1 when ID tokens are expected (not GitHub) */
    int backchannel_logout; /* the provider says it sends logout tokens */
} oauth2_endpoints_t;

/** A provider with its caches; one per virtual host. */
typedef struct oauth2_provider_t oauth2_provider_t;

/** Counters for the status page. */
typedef struct {
    apr_uint32_t discovery_fetches;
    apr_uint32_t jwks_fetches;
    apr_uint32_t fetch_failures;
} oauth2_provider_stats_t;

/**
 * Creates a provider from a finalized configuration (startup; no network).
 * Computes the issuer and the static endpoints of presets.
 * @return APR_SUCCESS or APR_EINVAL (*err says why)
 */
apr_status_t oauth2_provider_create(apr_pool_t *p, const oauth2_cfg_t *cfg,
                                    const oauth2_http_opts_t *http,
                                    oauth2_provider_t **prov, const char **err);

/**
 * Per-process initialization (child_init): the mutexes guarding the caches.
 */
apr_status_t oauth2_provider_child_init(oauth2_provider_t *prov,
                                        apr_pool_t *pchild);

/** The issuer this provider must present (never NULL after create, "" for
 * plain OAuth 2.0 presets). */
const char *oauth2_provider_issuer(const oauth2_provider_t *prov);

/** What names this provider for binding sessions to it: the issuer, or
 * for plain OAuth 2.0 providers without one (GitHub) the authorization
 * endpoint. Never NULL. */
const char *oauth2_provider_identity(const oauth2_provider_t *prov);

/**
 * The endpoints, fetching the discovery document when needed. The result
 * stays valid until p is cleared.
 * @return APR_SUCCESS; OAUTH2_EUNREACHABLE, OAUTH2_EUPSTREAM (bad or
 *         foreign document, in backoff), OAUTH2_ETOOBIG
 */
apr_status_t oauth2_provider_endpoints(oauth2_provider_t *prov, apr_pool_t *p,
                                       apr_time_t now,
                                       const oauth2_endpoints_t **ep,
                                       const char **err);

/**
 * Verifies the signature of jws with the provider's keys; an unknown kid
 * refetches the JWKS once (at most once per OAUTH2_JWKS_MIN_INTERVAL).
 * @return as oauth2_jose_jws_verify, plus the fetch errors
 */
apr_status_t oauth2_provider_verify(oauth2_provider_t *prov, apr_pool_t *p,
                                    apr_time_t now, const oauth2_jws_t *jws,
                                    const char **err);

/**
 * Checks a discovery document (OpenID Connect Discovery 1.0 §3, §4.3) as a
 * fetch would: a JSON object naming exactly this provider's issuer, with
 * http(s) authorization, token and (unless OAuth2Endpoint jwks is set)
 * jwks_uri endpoints; OAuth2Endpoint overrides applied. For tests and
 * fuzzing; the cache calls the same code.
 * @return APR_SUCCESS or OAUTH2_EUPSTREAM (*err says why)
 */
apr_status_t oauth2_provider_parse_discovery(oauth2_provider_t *prov,
                                             apr_pool_t *p, const char *body,
                                             apr_size_t len,
                                             oauth2_endpoints_t *ep,
                                             const char **err);

/** Current counters of this process. */
void oauth2_provider_stats(oauth2_provider_t *prov,
                           oauth2_provider_stats_t *st);

#endif /* OAUTH2_METADATA_H */
