/*
 * metrics.h: the server-wide counters of SetHandler oauth2-status, in
 * one block of shared memory that every child process adds to (atomic
 * adds, no lock, no system call) and that a graceful or plain restart
 * keeps: oauth2_kept_metrics (src/kept.c, at post_config) creates the
 * block in the parent, keeps it in the process pool and hands it to
 * oauth2_metrics_use() before the children are made. Without a block (unit
 * tests of other files, tools) every count is a no-op.
 *
 * What is counted: logins started, succeeded and failed (by reason),
 * users refused by a Require rule (by the rule's kind), sessions created,
 * refreshed and ended (by logout, back-channel logout, expiry, a failed
 * refresh), bearer tokens accepted and refused, store errors (by
 * operation), and every call to the provider (by endpoint and outcome,
 * with a latency histogram). oauth2_metrics_text() writes them in the
 * Prometheus text exposition format (version 0.0.4), with # HELP and
 * # TYPE lines; the status page adds the store's and the provider view's
 * own figures (endpoints.c).
 *
 * Nothing here is on the hot path: a request with a valid session counts
 * nothing.
 */
#ifndef OAUTH2_METRICS_H
#define OAUTH2_METRICS_H

#include <apr_pools.h>
#include <apr_time.h>

#include "errors.h"

/** Plain counters (a series each). */
typedef enum {
    OAUTH2_METRIC_LOGINS_STARTED = 0, /* sent to the provider */
    OAUTH2_METRIC_LOGINS,             /* logged in (a session made) */
    OAUTH2_METRIC_SESSIONS_CREATED,
    OAUTH2_METRIC_SESSIONS_REFRESHED, /* access token refreshed */
    OAUTH2_METRIC_ENDED_LOGOUT,
    OAUTH2_METRIC_ENDED_BACKCHANNEL,
    OAUTH2_METRIC_ENDED_EXPIRED,        /* found expired on a request */
    OAUTH2_METRIC_ENDED_REFRESH_FAILED, /* or no refresh token */
    OAUTH2_METRIC_BEARER_ACCEPTED,
    OAUTH2_METRIC_BEARER_REFUSED,
    OAUTH2_METRIC_REFUSED_GROUP, /* a logged-in user refused (403) */
    OAUTH2_METRIC_REFUSED_CLAIM,
    OAUTH2_METRIC_REFUSED_EMAIL_DOMAIN,
    OAUTH2_METRIC_REFUSED_OTHER, /* by a rule not of this module */
    OAUTH2_METRIC_STORE_ERR_GET, /* a store operation failed */
    OAUTH2_METRIC_STORE_ERR_PUT,
    OAUTH2_METRIC_STORE_ERR_ADD,
    OAUTH2_METRIC_STORE_ERR_TOUCH,
    OAUTH2_METRIC_STORE_ERR_REMOVE,
    OAUTH2_METRIC_COUNT
} oauth2_metric_e;

/** Why a login failed (oauth2_login_failures_total{reason}). */
typedef enum {
    OAUTH2_LOGIN_FAIL_OTHER = 0,
    OAUTH2_LOGIN_FAIL_BAD_CALLBACK,   /* malformed, no code */
    OAUTH2_LOGIN_FAIL_NO_STATE,       /* no usable state parameter */
    OAUTH2_LOGIN_FAIL_STATE_COOKIE,   /* no state cookie */
    OAUTH2_LOGIN_FAIL_STATE_EXPIRED,  /* the login took too long */
    OAUTH2_LOGIN_FAIL_STATE_INVALID,  /* tampered or foreign */
    OAUTH2_LOGIN_FAIL_STATE_REPLAY,   /* used before */
    OAUTH2_LOGIN_FAIL_DENIED,         /* error=access_denied */
    OAUTH2_LOGIN_FAIL_INTERACTION,    /* error=login_required, ... */
    OAUTH2_LOGIN_FAIL_PROVIDER_ERROR, /* another error= */
    OAUTH2_LOGIN_FAIL_ISSUER,         /* iss of another provider */
    OAUTH2_LOGIN_FAIL_CODE_REFUSED,   /* invalid_grant */
    OAUTH2_LOGIN_FAIL_TOKEN_INVALID,  /* the ID token does not verify */
    OAUTH2_LOGIN_FAIL_PROVIDER_DOWN,  /* unreachable or unusable */
    OAUTH2_LOGIN_FAIL_PROVIDER_API,   /* GitHub, GitLab, Google APIs */
    OAUTH2_LOGIN_FAIL_USER_CLAIM,     /* no user claim */
    OAUTH2_LOGIN_FAIL_SESSION_FULL,   /* no room in the shm table */
    OAUTH2_LOGIN_FAIL_STORE,          /* the store failed */
    OAUTH2_LOGIN_FAIL_COUNT
} oauth2_login_fail_e;

/** The provider's endpoints a call goes to (a label of its own each). */
typedef enum {
    OAUTH2_CALL_OTHER = 0,
    OAUTH2_CALL_DISCOVERY,
    OAUTH2_CALL_JWKS,
    OAUTH2_CALL_TOKEN,
    OAUTH2_CALL_USERINFO,
    OAUTH2_CALL_GITHUB_API,
    OAUTH2_CALL_GITLAB_API,
    OAUTH2_CALL_GOOGLE_TOKEN,
    OAUTH2_CALL_GOOGLE_DIRECTORY,
    OAUTH2_CALL_COUNT
} oauth2_call_e;

/** How a call ended: its HTTP status class, or why none came. */
typedef enum {
    OAUTH2_OUTCOME_2XX = 0,
    OAUTH2_OUTCOME_3XX,
    OAUTH2_OUTCOME_4XX,
    OAUTH2_OUTCOME_5XX,
    OAUTH2_OUTCOME_UNREACHABLE, /* connect, DNS, TLS, timeout */
    OAUTH2_OUTCOME_TOO_BIG,     /* over its size cap */
    OAUTH2_OUTCOME_ERROR,       /* a bad URL, another status, libcurl */
    OAUTH2_OUTCOME_COUNT
} oauth2_outcome_e;

/* Upper bounds of the latency histogram's buckets, in microseconds (the
 * last bucket, +Inf, takes the rest). */
#define OAUTH2_METRICS_BUCKETS 12

/** The block of counters (in shared memory). */
typedef struct oauth2_metrics_t oauth2_metrics_t;

/** Bytes a block takes. */
apr_size_t oauth2_metrics_size(void);

/**
 * Makes the memory at base (size bytes, 8-byte aligned) an empty block,
 * or, when *keep is 1 (a segment kept across a restart), keeps the
 * counters of a block of this layout already there. *keep: 1 when kept.
 * @return the block, or NULL when size is too small
 */
oauth2_metrics_t *oauth2_metrics_format(void *base, apr_size_t size, int *keep);

/**
 * The block every count of this process goes to from now on (NULL: none),
 * and the module's version for oauth2_build_info. Call during
 * single-threaded startup (post_config) only.
 */
void oauth2_metrics_use(oauth2_metrics_t *m, const char *version);

/** The block in use, or NULL. */
oauth2_metrics_t *oauth2_metrics_current(void);

/** Adds 1 to a counter. */
void oauth2_metrics_inc(oauth2_metric_e which);

/** Adds n to a counter. */
void oauth2_metrics_add(oauth2_metric_e which, apr_uint64_t n);

/** Counts a failed login by the answer it got (errors.h). */
void oauth2_metrics_login_failed(oauth2_answer_e answer);

/** The reason a failed login's answer counts under. */
oauth2_login_fail_e oauth2_metrics_login_reason(oauth2_answer_e answer);

/** Counts a call to the provider: where, how it ended, how long it took. */
void oauth2_metrics_call(oauth2_call_e call, oauth2_outcome_e outcome,
                         apr_interval_time_t took);

/** The outcome of a call: its HTTP status (rv APR_SUCCESS), else rv's. */
oauth2_outcome_e oauth2_metrics_outcome(apr_status_t rv, long status);

/** The label value of a call's endpoint ("token", ...). */
const char *oauth2_metrics_call_name(oauth2_call_e call);

/** A counter's current value (0 without a block). */
apr_uint64_t oauth2_metrics_get(const oauth2_metrics_t *m,
                                oauth2_metric_e which);

/** A login failure counter's current value. */
apr_uint64_t oauth2_metrics_get_login_failed(const oauth2_metrics_t *m,
                                             oauth2_login_fail_e reason);

/** The calls counted for an endpoint and outcome. */
apr_uint64_t oauth2_metrics_get_calls(const oauth2_metrics_t *m,
                                      oauth2_call_e call,
                                      oauth2_outcome_e outcome);

/**
 * The block's counters in Prometheus text format (every family with its
 * # HELP and # TYPE; a provider endpoint's series once it has been
 * called), and oauth2_build_info with the version given to
 * oauth2_metrics_use. m NULL: oauth2_build_info alone. From p.
 */
const char *oauth2_metrics_text(apr_pool_t *p, const oauth2_metrics_t *m);

#endif /* OAUTH2_METRICS_H */
