/*
 * metadata.h: the provider as a request sees it: its endpoints (from
 * OpenID Connect Discovery, a preset, or OAuth2Endpoint overrides) and its
 * signing keys (JWKS).
 *
 * One view for the whole server. The documents are fetched on first need
 * (startup never touches the network) by one process at a time for the
 * whole server, and kept, as fetched, in shared memory (provider_shm.h)
 * with a generation counter; the glue creates that memory in the parent,
 * so every child process shares it and a graceful restart keeps it (a full
 * restart, SIGHUP, starts a new view). Each process parses a document only
 * when its generation changed, into an immutable snapshot with a reference
 * count shared by the process's threads: a request holds the snapshot it
 * got until its pool is cleared, so a newer one never frees what a thread
 * still reads. A request with a valid session calls none of this.
 *
 * Lifetimes and failures: a document is refetched OAUTH2_METADATA_TTL
 * after its fetch (the old copy serves meanwhile, and while the provider
 * fails); a failed fetch starts a back-off shared by every process
 * (OAUTH2_FETCH_BACKOFF_MIN doubling to OAUTH2_FETCH_BACKOFF_MAX), so all
 * of them recover at the first successful fetch. While another process
 * fetches, a request that has a copy uses it, and one without waits at most
 * OAUTH2_FETCH_WAIT for the result (then 502). A token whose kid the JWKS
 * lacks refetches it at once, unless a refetch for an unknown kid already
 * happened, anywhere in the server, within OAUTH2_JWKS_MIN_INTERVAL (the
 * regular refetch does not count).
 */
#ifndef OAUTH2_METADATA_H
#define OAUTH2_METADATA_H

#include <apr_pools.h>
#include <apr_time.h>

#include "config.h"
#include "http.h"
#include "jose.h"
#include "provider_shm.h"

/* Lifetime of a fetched discovery document and JWKS. */
#define OAUTH2_METADATA_TTL apr_time_from_sec(3600)

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
    int oidc;                /* 1 when ID tokens are expected (not GitHub) */
    int backchannel_logout;  /* the provider says it sends logout tokens */
    int frontchannel_logout; /* it says it loads front-channel logout URIs
                                (OpenID Connect Front-Channel Logout 1.0) */
} oauth2_endpoints_t;

/** A provider with its caches; one per virtual host (a value a request
 * looks up: several named providers per host fit the same way). */
typedef struct oauth2_provider_t oauth2_provider_t;

/** How a lookup got the document it used, for the debug log. */
typedef struct {
    int configured;           /* no document: the endpoints are configured */
    int fetched;              /* fetched by this lookup */
    int loaded;               /* parsed from another process's fetch */
    int refetched;            /* JWKS: fetched again for an unknown kid */
    apr_interval_time_t took; /* the fetch's duration (fetched) */
    apr_time_t fetched_at;    /* when the copy used was fetched */
    const char *url;          /* what was fetched (fetched), or NULL */
} oauth2_provider_use_t;

/** How a document was got, in words for the debug log ("cached, fetched
 * 12 s ago", "fetched by another process 3 s ago", "fetched from URL in
 * 5 ms", ...), from p. */
const char *oauth2_provider_use_text(apr_pool_t *p,
                                     const oauth2_provider_use_t *use,
                                     apr_time_t now);

/** Counters for the status page (the whole server's). */
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
 * Gives each of the n providers (startup, in the parent, before the
 * children are made) its entry in the server's view at base (size bytes,
 * formatted by oauth2_pshm_format; mutex serializes it, see
 * oauth2_pshm_attach). An entry is found by the provider's key, a SHA-256
 * of what decides its documents and how they are checked (issuer,
 * discovery URL, OAuth2Endpoint overrides, whether ID tokens are
 * expected, the CA file): providers with equal keys share one, and a
 * graceful restart finds the documents its providers fetched before.
 * The view's handle comes from pconf; ptemp is scratch space.
 * @return APR_SUCCESS; APR_EINVAL (a bad view) or OAUTH2_EFULL (not enough
 *         entries), *err saying which; an APR code from the mutex
 */
apr_status_t oauth2_provider_share(apr_pool_t *pconf, apr_pool_t *ptemp,
                                   oauth2_provider_t *const *provs,
                                   apr_uint32_t n, void *base,
                                   apr_uint64_t size, apr_global_mutex_t *mutex,
                                   const char **err);

/**
 * Per-process initialization (child_init): the mutexes guarding the
 * process's parsed copies. A provider never shared (unit tests, tools)
 * gets a view of its own here, in pchild.
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

/** oauth2_provider_endpoints, telling *use (zeroed first) how the
 * document was got. */
apr_status_t oauth2_provider_endpoints_used(oauth2_provider_t *prov,
                                            apr_pool_t *p, apr_time_t now,
                                            const oauth2_endpoints_t **ep,
                                            const char **err,
                                            oauth2_provider_use_t *use);

/**
 * Verifies the signature of jws with the provider's keys; an unknown kid
 * refetches the JWKS (unless a refetch for an unknown kid happened in the
 * server within OAUTH2_JWKS_MIN_INTERVAL).
 * @return as oauth2_jose_jws_verify, plus the fetch errors
 */
apr_status_t oauth2_provider_verify(oauth2_provider_t *prov, apr_pool_t *p,
                                    apr_time_t now, const oauth2_jws_t *jws,
                                    const char **err);

/** oauth2_provider_verify, telling *use (zeroed first) how the JWKS was
 * got. */
apr_status_t oauth2_provider_verify_used(oauth2_provider_t *prov, apr_pool_t *p,
                                         apr_time_t now,
                                         const oauth2_jws_t *jws,
                                         const char **err,
                                         oauth2_provider_use_t *use);

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

/** Current counters of the whole server (the shared entry's). */
void oauth2_provider_stats(oauth2_provider_t *prov,
                           oauth2_provider_stats_t *st);

#endif /* OAUTH2_METADATA_H */
