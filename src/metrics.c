/*
 * metrics.c: the server-wide counters (see metrics.h).
 *
 * Layout of the block (one struct, 8-byte counters, no pointers, so every
 * process may map it anywhere):
 *   magic, layout size   a kept block of another layout is started anew
 *   started              when the counters began (apr_time_t)
 *   c[]                  the plain counters (oauth2_metric_e)
 *   login_failed[]       failed logins by reason
 *   call[]               per provider endpoint: calls by outcome, the
 *                        latency histogram's buckets (not cumulative:
 *                        the text output sums them), the latency's sum
 * Every add is a relaxed atomic add: counters need no order among
 * themselves, and a scrape may see one call's outcome before its bucket.
 */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

#include "metrics.h"

#define METRICS_MAGIC 0x4f41324d45545231ULL /* "OA2METR1" */

typedef struct {
    apr_uint64_t outcome[OAUTH2_OUTCOME_COUNT];
    apr_uint64_t bucket[OAUTH2_METRICS_BUCKETS];
    apr_uint64_t sum_us;
} call_t;

struct oauth2_metrics_t {
    apr_uint64_t magic;
    apr_uint64_t layout;
    apr_uint64_t started;
    apr_uint64_t c[OAUTH2_METRIC_COUNT];
    apr_uint64_t login_failed[OAUTH2_LOGIN_FAIL_COUNT];
    call_t call[OAUTH2_CALL_COUNT];
};

/* The block of this process and the module's version: set during
 * single-threaded startup, read-only afterwards (the block's counters are
 * what changes). */
static oauth2_metrics_t *active;
static const char *active_version;

/* Bucket bounds (µs) and their le labels; the last is +Inf. */
static const apr_interval_time_t bucket_us[OAUTH2_METRICS_BUCKETS - 1] = {
    5000,   10000,   25000,   50000,   100000,   250000,
    500000, 1000000, 2500000, 5000000, 10000000,
};
static const char *const bucket_le[OAUTH2_METRICS_BUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
    "0.5",   "1",    "2.5",   "5",    "10",  "+Inf",
};

apr_size_t oauth2_metrics_size(void)
{
    return sizeof(oauth2_metrics_t);
}

oauth2_metrics_t *oauth2_metrics_format(void *base, apr_size_t size, int *keep)
{
    oauth2_metrics_t *m = base;

    if (base == NULL || size < sizeof(*m)) {
        *keep = 0;
        return NULL;
    }
    if (*keep && m->magic == METRICS_MAGIC && m->layout == sizeof(*m)) {
        return m;
    }
    *keep = 0;
    memset(m, 0, sizeof(*m));
    m->magic = METRICS_MAGIC;
    m->layout = sizeof(*m);
    m->started = (apr_uint64_t)apr_time_now();
    return m;
}

void oauth2_metrics_use(oauth2_metrics_t *m, const char *version)
{
    active = m;
    active_version = version;
}

oauth2_metrics_t *oauth2_metrics_current(void)
{
    return active;
}

static void add(apr_uint64_t *counter, apr_uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static apr_uint64_t load(const apr_uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void oauth2_metrics_add(oauth2_metric_e which, apr_uint64_t n)
{
    if (active != NULL && (unsigned)which < OAUTH2_METRIC_COUNT) {
        add(&active->c[which], n);
    }
}

void oauth2_metrics_inc(oauth2_metric_e which)
{
    oauth2_metrics_add(which, 1);
}

/* The reason of each answer a login can end with; answers not listed
 * (and any added later) count as "other". */
static const unsigned char answer_reason[OAUTH2_ANS_COUNT] = {
    [OAUTH2_ANS_STATE_FAILED] = OAUTH2_LOGIN_FAIL_OTHER,
    [OAUTH2_ANS_PROVIDER_DOWN] = OAUTH2_LOGIN_FAIL_PROVIDER_DOWN,
    [OAUTH2_ANS_CB_MALFORMED] = OAUTH2_LOGIN_FAIL_BAD_CALLBACK,
    [OAUTH2_ANS_CB_NO_STATE] = OAUTH2_LOGIN_FAIL_NO_STATE,
    [OAUTH2_ANS_CB_NO_COOKIE] = OAUTH2_LOGIN_FAIL_STATE_COOKIE,
    [OAUTH2_ANS_CB_EXPIRED] = OAUTH2_LOGIN_FAIL_STATE_EXPIRED,
    [OAUTH2_ANS_CB_BAD_STATE] = OAUTH2_LOGIN_FAIL_STATE_INVALID,
    [OAUTH2_ANS_CB_REPLAY] = OAUTH2_LOGIN_FAIL_STATE_REPLAY,
    [OAUTH2_ANS_CB_STORE_DOWN] = OAUTH2_LOGIN_FAIL_STORE,
    [OAUTH2_ANS_CB_DENIED] = OAUTH2_LOGIN_FAIL_DENIED,
    [OAUTH2_ANS_CB_INTERACTION] = OAUTH2_LOGIN_FAIL_INTERACTION,
    [OAUTH2_ANS_CB_ERROR] = OAUTH2_LOGIN_FAIL_PROVIDER_ERROR,
    [OAUTH2_ANS_CB_ISSUER] = OAUTH2_LOGIN_FAIL_ISSUER,
    [OAUTH2_ANS_CB_NO_CODE] = OAUTH2_LOGIN_FAIL_BAD_CALLBACK,
    [OAUTH2_ANS_CB_CODE_REFUSED] = OAUTH2_LOGIN_FAIL_CODE_REFUSED,
    [OAUTH2_ANS_TOKEN_INVALID] = OAUTH2_LOGIN_FAIL_TOKEN_INVALID,
    [OAUTH2_ANS_LOGIN_INTERNAL] = OAUTH2_LOGIN_FAIL_OTHER,
    [OAUTH2_ANS_API_GROUPS] = OAUTH2_LOGIN_FAIL_PROVIDER_API,
    [OAUTH2_ANS_SESSION_FULL] = OAUTH2_LOGIN_FAIL_SESSION_FULL,
    [OAUTH2_ANS_SESSION_REFUSED] = OAUTH2_LOGIN_FAIL_USER_CLAIM,
    [OAUTH2_ANS_SESSION_STORE] = OAUTH2_LOGIN_FAIL_STORE,
    [OAUTH2_ANS_SESSION_FAILED] = OAUTH2_LOGIN_FAIL_OTHER,
};

oauth2_login_fail_e oauth2_metrics_login_reason(oauth2_answer_e answer)
{
    if ((unsigned)answer >= OAUTH2_ANS_COUNT) {
        return OAUTH2_LOGIN_FAIL_OTHER;
    }
    return (oauth2_login_fail_e)answer_reason[answer];
}

void oauth2_metrics_login_failed(oauth2_answer_e answer)
{
    if (active != NULL) {
        add(&active->login_failed[oauth2_metrics_login_reason(answer)], 1);
    }
}

oauth2_outcome_e oauth2_metrics_outcome(apr_status_t rv, long status)
{
    if (rv == OAUTH2_EUNREACHABLE) {
        return OAUTH2_OUTCOME_UNREACHABLE;
    }
    if (rv == OAUTH2_ETOOBIG) {
        return OAUTH2_OUTCOME_TOO_BIG;
    }
    if (rv != APR_SUCCESS || status < 200 || status > 599) {
        return OAUTH2_OUTCOME_ERROR;
    }
    return (oauth2_outcome_e)(OAUTH2_OUTCOME_2XX + (status / 100 - 2));
}

void oauth2_metrics_call(oauth2_call_e call, oauth2_outcome_e outcome,
                         apr_interval_time_t took)
{
    call_t *c;
    int b = 0;

    if (active == NULL || (unsigned)call >= OAUTH2_CALL_COUNT
        || (unsigned)outcome >= OAUTH2_OUTCOME_COUNT) {
        return;
    }
    c = &active->call[call];
    took = took < 0 ? 0 : took;
    while (b < OAUTH2_METRICS_BUCKETS - 1 && took > bucket_us[b]) {
        b++;
    }
    add(&c->outcome[outcome], 1);
    add(&c->bucket[b], 1);
    add(&c->sum_us, (apr_uint64_t)took);
}

static const char *const call_names[OAUTH2_CALL_COUNT] = {
    "other",      "discovery",    "jwks",
    "token",      "userinfo",     "github_api",
    "gitlab_api", "google_token", "google_directory",
};

static const char *const outcome_names[OAUTH2_OUTCOME_COUNT] = {
    "2xx", "3xx", "4xx", "5xx", "unreachable", "too_big", "error",
};

static const char *const fail_names[OAUTH2_LOGIN_FAIL_COUNT] = {
    "other",         "bad_callback",
    "no_state",      "state_cookie",
    "state_expired", "state_invalid",
    "state_replay",  "denied",
    "interaction",   "provider_error",
    "issuer",        "code_refused",
    "token_invalid", "provider_unavailable",
    "provider_api",  "user_claim",
    "session_full",  "store",
};

const char *oauth2_metrics_call_name(oauth2_call_e call)
{
    return (unsigned)call < OAUTH2_CALL_COUNT ? call_names[call] : "other";
}

apr_uint64_t oauth2_metrics_get(const oauth2_metrics_t *m,
                                oauth2_metric_e which)
{
    return m != NULL && (unsigned)which < OAUTH2_METRIC_COUNT
               ? load(&m->c[which])
               : 0;
}

apr_uint64_t oauth2_metrics_get_login_failed(const oauth2_metrics_t *m,
                                             oauth2_login_fail_e reason)
{
    return m != NULL && (unsigned)reason < OAUTH2_LOGIN_FAIL_COUNT
               ? load(&m->login_failed[reason])
               : 0;
}

apr_uint64_t oauth2_metrics_get_calls(const oauth2_metrics_t *m,
                                      oauth2_call_e call,
                                      oauth2_outcome_e outcome)
{
    return m != NULL && (unsigned)call < OAUTH2_CALL_COUNT
                   && (unsigned)outcome < OAUTH2_OUTCOME_COUNT
               ? load(&m->call[call].outcome[outcome])
               : 0;
}

/* ------------------------------------------------------------------ */
/* Text exposition format                                              */

/* The plain counters' families and label (in the order of the output):
 * a counter belongs to the family of the row before it when its own
 * family is NULL. */
static const struct {
    oauth2_metric_e which;
    const char *family; /* NULL: the previous row's */
    const char *help;
    const char *labels; /* "{...}" or "" */
} plain[OAUTH2_METRIC_COUNT] = {
    { OAUTH2_METRIC_LOGINS_STARTED, "oauth2_logins_started_total",
      "Browsers sent to the provider to log in.", "" },
    { OAUTH2_METRIC_LOGINS, "oauth2_logins_total",
      "Logins that ended with a session.", "" },
    { OAUTH2_METRIC_SESSIONS_CREATED, "oauth2_sessions_created_total",
      "Sessions created (one per login).", "" },
    { OAUTH2_METRIC_SESSIONS_REFRESHED, "oauth2_sessions_refreshed_total",
      "Access tokens of sessions refreshed with their refresh token.", "" },
    { OAUTH2_METRIC_ENDED_LOGOUT, "oauth2_sessions_ended_total",
      "Sessions ended, by how: logout, backchannel_logout, expired (found "
      "expired by a request), refresh_failed.",
      "{reason=\"logout\"}" },
    { OAUTH2_METRIC_ENDED_BACKCHANNEL, NULL, NULL,
      "{reason=\"backchannel_logout\"}" },
    { OAUTH2_METRIC_ENDED_EXPIRED, NULL, NULL, "{reason=\"expired\"}" },
    { OAUTH2_METRIC_ENDED_REFRESH_FAILED, NULL, NULL,
      "{reason=\"refresh_failed\"}" },
    { OAUTH2_METRIC_BEARER_ACCEPTED, "oauth2_bearer_tokens_total",
      "Requests with an Authorization: Bearer token, by result.",
      "{result=\"accepted\"}" },
    { OAUTH2_METRIC_BEARER_REFUSED, NULL, NULL, "{result=\"refused\"}" },
    { OAUTH2_METRIC_REFUSED_GROUP, "oauth2_authz_refusals_total",
      "Logged-in users refused (403), by the kind of the Require rule that "
      "refused them.",
      "{rule=\"oauth2-group\"}" },
    { OAUTH2_METRIC_REFUSED_CLAIM, NULL, NULL, "{rule=\"oauth2-claim\"}" },
    { OAUTH2_METRIC_REFUSED_EMAIL_DOMAIN, NULL, NULL,
      "{rule=\"oauth2-email-domain\"}" },
    { OAUTH2_METRIC_REFUSED_OTHER, NULL, NULL, "{rule=\"other\"}" },
    { OAUTH2_METRIC_STORE_ERR_GET, "oauth2_store_errors_total",
      "Session store operations that failed, by operation.",
      "{operation=\"get\"}" },
    { OAUTH2_METRIC_STORE_ERR_PUT, NULL, NULL, "{operation=\"put\"}" },
    { OAUTH2_METRIC_STORE_ERR_ADD, NULL, NULL, "{operation=\"add\"}" },
    { OAUTH2_METRIC_STORE_ERR_TOUCH, NULL, NULL, "{operation=\"touch\"}" },
    { OAUTH2_METRIC_STORE_ERR_REMOVE, NULL, NULL, "{operation=\"remove\"}" },
};

/* The text being written: grows by doubling, from its pool. */
typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
} text_t;

/* Appends formatted text. */
static void put(text_t *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(text_t *out, const char *fmt, ...)
{
    va_list ap;
    const char *s;
    apr_size_t n;

    va_start(ap, fmt);
    s = apr_pvsprintf(out->p, fmt, ap);
    va_end(ap);
    n = strlen(s);
    if (out->len + n + 1 > out->cap) {
        apr_size_t cap =
            out->cap * 2 > out->len + n + 1 ? out->cap * 2 : out->len + n + 1;
        char *nb = apr_palloc(out->p, cap);

        memcpy(nb, out->buf, out->len);
        out->buf = nb;
        out->cap = cap;
    }
    memcpy(out->buf + out->len, s, n + 1);
    out->len += n;
}

static void family(text_t *out, const char *name, const char *type,
                   const char *help)
{
    put(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value in the exposition format: \ " and newline escaped. */
static const char *label_value(apr_pool_t *p, const char *v)
{
    char *out = apr_palloc(p, strlen(v) * 2 + 1), *o = out;

    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            *o++ = '\\';
        }
        if (*v == '\n') {
            *o++ = '\\';
            *o++ = 'n';
            continue;
        }
        *o++ = *v;
    }
    *o = '\0';
    return out;
}

static void plain_text(text_t *out, const oauth2_metrics_t *m)
{
    int i;

    for (i = 0; i < OAUTH2_METRIC_COUNT; i++) {
        const char *name = plain[i].family;
        int j = i;

        while (name == NULL && j > 0) {
            name = plain[--j].family;
        }
        if (plain[i].family != NULL) {
            family(out, name, "counter", plain[i].help);
        }
        put(out, "%s%s %" APR_UINT64_T_FMT "\n", name, plain[i].labels,
            load(&m->c[plain[i].which]));
    }
}

static void login_failures_text(text_t *out, const oauth2_metrics_t *m)
{
    int i;

    family(out, "oauth2_login_failures_total", "counter",
           "Logins that failed, by reason (the callback's answer).");
    for (i = 0; i < OAUTH2_LOGIN_FAIL_COUNT; i++) {
        put(out,
            "oauth2_login_failures_total{reason=\"%s\"} %" APR_UINT64_T_FMT
            "\n",
            fail_names[i], load(&m->login_failed[i]));
    }
}

/* The histogram of one endpoint (cumulative buckets, _sum, _count). */
static void histogram_text(text_t *out, const call_t *c, const char *name)
{
    apr_uint64_t cum = 0;
    int b;

    for (b = 0; b < OAUTH2_METRICS_BUCKETS; b++) {
        cum += load(&c->bucket[b]);
        put(out,
            "oauth2_provider_request_duration_seconds_bucket{endpoint=\"%s\","
            "le=\"%s\"} %" APR_UINT64_T_FMT "\n",
            name, bucket_le[b], cum);
    }
    put(out,
        "oauth2_provider_request_duration_seconds_sum{endpoint=\"%s\"} "
        "%.6f\n",
        name, (double)load(&c->sum_us) / 1e6);
    put(out,
        "oauth2_provider_request_duration_seconds_count{endpoint=\"%s\"} "
        "%" APR_UINT64_T_FMT "\n",
        name, cum);
}

/* Whether an endpoint has been called (its series are shown). */
static int called(const call_t *c)
{
    int b;

    for (b = 0; b < OAUTH2_METRICS_BUCKETS; b++) {
        if (load(&c->bucket[b]) != 0) {
            return 1;
        }
    }
    return 0;
}

static void calls_text(text_t *out, const oauth2_metrics_t *m)
{
    int i, o;

    family(out, "oauth2_provider_requests_total", "counter",
           "Calls to the provider, by endpoint and outcome (HTTP status "
           "class, unreachable, too_big, error).");
    for (i = 0; i < OAUTH2_CALL_COUNT; i++) {
        for (o = 0; called(&m->call[i]) && o < OAUTH2_OUTCOME_COUNT; o++) {
            put(out,
                "oauth2_provider_requests_total{endpoint=\"%s\","
                "outcome=\"%s\"} %" APR_UINT64_T_FMT "\n",
                call_names[i], outcome_names[o], load(&m->call[i].outcome[o]));
        }
    }
    family(out, "oauth2_provider_request_duration_seconds", "histogram",
           "How long calls to the provider took, by endpoint.");
    for (i = 0; i < OAUTH2_CALL_COUNT; i++) {
        if (called(&m->call[i])) {
            histogram_text(out, &m->call[i], call_names[i]);
        }
    }
}

const char *oauth2_metrics_text(apr_pool_t *p, const oauth2_metrics_t *m)
{
    text_t t = { p, apr_palloc(p, 8192), 0, 8192 }, *out = &t;

    family(out, "oauth2_build_info", "gauge",
           "The module's version (always 1).");
    put(out, "oauth2_build_info{version=\"%s\"} 1\n",
        label_value(p, active_version ? active_version : "unknown"));
    if (m != NULL) {
        family(out, "oauth2_counters_start_time_seconds", "gauge",
               "When these counters started (Unix time): they survive "
               "graceful and plain restarts.");
        put(out, "oauth2_counters_start_time_seconds %" APR_TIME_T_FMT "\n",
            apr_time_sec((apr_time_t)m->started));
        plain_text(out, m);
        login_failures_text(out, m);
        calls_text(out, m);
    }
    t.buf[t.len] = '\0';
    return t.buf;
}
