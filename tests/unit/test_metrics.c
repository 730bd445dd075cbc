/*
 * test_metrics.c: unit tests for src/metrics.c, the server-wide counters:
 * a block is formatted once and kept across a "restart" (a second format
 * with keep), but not when its layout differs; counts without a block are
 * no-ops; every answer of a failed login has its reason; HTTP statuses and
 * call failures map to outcomes; latencies fall into the right buckets;
 * adds from several processes at once are all there (atomic, in shared
 * memory); the text output has # HELP and # TYPE for every family,
 * cumulative buckets and the version label escaped.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *pool;
static apr_uint64_t block[4096];

static oauth2_metrics_t *fresh(void)
{
    int keep = 0;
    oauth2_metrics_t *m = oauth2_metrics_format(block, sizeof(block), &keep);

    assert_non_null(m);
    assert_int_equal(keep, 0);
    oauth2_metrics_use(m, "1.2.3");
    return m;
}

static void test_metrics_format_keep(void **state)
{
    oauth2_metrics_t *m;
    int keep = 1;

    (void)state;
    assert_true(oauth2_metrics_size() <= sizeof(block));
    m = fresh();
    oauth2_metrics_inc(OAUTH2_METRIC_LOGINS);
    oauth2_metrics_add(OAUTH2_METRIC_ENDED_BACKCHANNEL, 3);
    /* The segment kept across a restart: the counters go on. */
    assert_ptr_equal(oauth2_metrics_format(block, sizeof(block), &keep), m);
    assert_int_equal(keep, 1);
    assert_int_equal(oauth2_metrics_get(m, OAUTH2_METRIC_LOGINS), 1);
    assert_int_equal(oauth2_metrics_get(m, OAUTH2_METRIC_ENDED_BACKCHANNEL), 3);
    /* Without keep (a new segment): zero. */
    keep = 0;
    m = oauth2_metrics_format(block, sizeof(block), &keep);
    assert_int_equal(oauth2_metrics_get(m, OAUTH2_METRIC_LOGINS), 0);
    /* Another layout in the kept memory (another version of the module):
     * started anew, not misread. */
    oauth2_metrics_inc(OAUTH2_METRIC_LOGINS);
    block[1] ^= 8;
    keep = 1;
    m = oauth2_metrics_format(block, sizeof(block), &keep);
    assert_int_equal(keep, 0);
    assert_int_equal(oauth2_metrics_get(m, OAUTH2_METRIC_LOGINS), 0);
    /* Too small. */
    keep = 1;
    assert_null(oauth2_metrics_format(block, oauth2_metrics_size() - 1, &keep));
    assert_int_equal(keep, 0);
    oauth2_metrics_use(NULL, NULL);
}

static void test_metrics_without_block(void **state)
{
    (void)state;
    oauth2_metrics_use(NULL, NULL);
    oauth2_metrics_inc(OAUTH2_METRIC_LOGINS);
    oauth2_metrics_login_failed(OAUTH2_ANS_CB_REPLAY);
    oauth2_metrics_call(OAUTH2_CALL_TOKEN, OAUTH2_OUTCOME_2XX, 10);
    assert_null(oauth2_metrics_current());
    assert_int_equal(oauth2_metrics_get(NULL, OAUTH2_METRIC_LOGINS), 0);
    /* Out of range: ignored. */
    fresh();
    oauth2_metrics_inc(OAUTH2_METRIC_COUNT);
    oauth2_metrics_call(OAUTH2_CALL_COUNT, OAUTH2_OUTCOME_2XX, 1);
    oauth2_metrics_call(OAUTH2_CALL_TOKEN, OAUTH2_OUTCOME_COUNT, 1);
    assert_int_equal(oauth2_metrics_get_calls(oauth2_metrics_current(),
                                              OAUTH2_CALL_TOKEN,
                                              OAUTH2_OUTCOME_2XX),
                     0);
    oauth2_metrics_use(NULL, NULL);
}

static void test_metrics_login_reasons(void **state)
{
    static const struct {
        oauth2_answer_e a;
        oauth2_login_fail_e r;
    } rows[] = {
        { OAUTH2_ANS_CB_MALFORMED, OAUTH2_LOGIN_FAIL_BAD_CALLBACK },
        { OAUTH2_ANS_CB_NO_CODE, OAUTH2_LOGIN_FAIL_BAD_CALLBACK },
        { OAUTH2_ANS_CB_NO_STATE, OAUTH2_LOGIN_FAIL_NO_STATE },
        { OAUTH2_ANS_CB_NO_COOKIE, OAUTH2_LOGIN_FAIL_STATE_COOKIE },
        { OAUTH2_ANS_CB_EXPIRED, OAUTH2_LOGIN_FAIL_STATE_EXPIRED },
        { OAUTH2_ANS_CB_BAD_STATE, OAUTH2_LOGIN_FAIL_STATE_INVALID },
        { OAUTH2_ANS_CB_REPLAY, OAUTH2_LOGIN_FAIL_STATE_REPLAY },
        { OAUTH2_ANS_CB_STORE_DOWN, OAUTH2_LOGIN_FAIL_STORE },
        { OAUTH2_ANS_CB_DENIED, OAUTH2_LOGIN_FAIL_DENIED },
        { OAUTH2_ANS_CB_INTERACTION, OAUTH2_LOGIN_FAIL_INTERACTION },
        { OAUTH2_ANS_CB_ERROR, OAUTH2_LOGIN_FAIL_PROVIDER_ERROR },
        { OAUTH2_ANS_CB_ISSUER, OAUTH2_LOGIN_FAIL_ISSUER },
        { OAUTH2_ANS_CB_CODE_REFUSED, OAUTH2_LOGIN_FAIL_CODE_REFUSED },
        { OAUTH2_ANS_TOKEN_INVALID, OAUTH2_LOGIN_FAIL_TOKEN_INVALID },
        { OAUTH2_ANS_PROVIDER_DOWN, OAUTH2_LOGIN_FAIL_PROVIDER_DOWN },
        { OAUTH2_ANS_API_GROUPS, OAUTH2_LOGIN_FAIL_PROVIDER_API },
        { OAUTH2_ANS_SESSION_REFUSED, OAUTH2_LOGIN_FAIL_USER_CLAIM },
        { OAUTH2_ANS_SESSION_FULL, OAUTH2_LOGIN_FAIL_SESSION_FULL },
        { OAUTH2_ANS_SESSION_STORE, OAUTH2_LOGIN_FAIL_STORE },
        { OAUTH2_ANS_SESSION_FAILED, OAUTH2_LOGIN_FAIL_OTHER },
        { OAUTH2_ANS_LOGIN_INTERNAL, OAUTH2_LOGIN_FAIL_OTHER },
        { OAUTH2_ANS_COUNT, OAUTH2_LOGIN_FAIL_OTHER },
    };
    oauth2_metrics_t *m;
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (oauth2_metrics_login_reason(rows[i].a) != rows[i].r) {
            fail_msg("answer %d: reason %d, not %d", rows[i].a,
                     oauth2_metrics_login_reason(rows[i].a), rows[i].r);
        }
    }
    m = fresh();
    oauth2_metrics_login_failed(OAUTH2_ANS_CB_REPLAY);
    oauth2_metrics_login_failed(OAUTH2_ANS_CB_REPLAY);
    oauth2_metrics_login_failed(OAUTH2_ANS_CB_DENIED);
    assert_int_equal(
        oauth2_metrics_get_login_failed(m, OAUTH2_LOGIN_FAIL_STATE_REPLAY), 2);
    assert_int_equal(
        oauth2_metrics_get_login_failed(m, OAUTH2_LOGIN_FAIL_DENIED), 1);
    assert_int_equal(
        oauth2_metrics_get_login_failed(m, OAUTH2_LOGIN_FAIL_OTHER), 0);
    oauth2_metrics_use(NULL, NULL);
}

static void test_metrics_outcomes(void **state)
{
    (void)state;
    assert_int_equal(oauth2_metrics_outcome(APR_SUCCESS, 200),
                     OAUTH2_OUTCOME_2XX);
    assert_int_equal(oauth2_metrics_outcome(APR_SUCCESS, 204),
                     OAUTH2_OUTCOME_2XX);
    assert_int_equal(oauth2_metrics_outcome(APR_SUCCESS, 302),
                     OAUTH2_OUTCOME_3XX);
    assert_int_equal(oauth2_metrics_outcome(APR_SUCCESS, 400),
                     OAUTH2_OUTCOME_4XX);
    assert_int_equal(oauth2_metrics_outcome(APR_SUCCESS, 503),
                     OAUTH2_OUTCOME_5XX);
    assert_int_equal(oauth2_metrics_outcome(APR_SUCCESS, 101),
                     OAUTH2_OUTCOME_ERROR);
    assert_int_equal(oauth2_metrics_outcome(APR_SUCCESS, 600),
                     OAUTH2_OUTCOME_ERROR);
    assert_int_equal(oauth2_metrics_outcome(OAUTH2_EUNREACHABLE, 0),
                     OAUTH2_OUTCOME_UNREACHABLE);
    assert_int_equal(oauth2_metrics_outcome(OAUTH2_ETOOBIG, 200),
                     OAUTH2_OUTCOME_TOO_BIG);
    assert_int_equal(oauth2_metrics_outcome(OAUTH2_EMALFORMED, 0),
                     OAUTH2_OUTCOME_ERROR);
    assert_string_equal(oauth2_metrics_call_name(OAUTH2_CALL_GOOGLE_DIRECTORY),
                        "google_directory");
    assert_string_equal(oauth2_metrics_call_name(OAUTH2_CALL_COUNT), "other");
}

/* The histogram: a call of 5 ms is in le="0.005" (bounds are inclusive),
 * one of 5.001 ms in le="0.01", one of a minute in +Inf only; buckets are
 * cumulative, _count is their total, _sum the seconds. */
static void test_metrics_histogram(void **state)
{
    const char *t;

    (void)state;
    fresh();
    oauth2_metrics_call(OAUTH2_CALL_TOKEN, OAUTH2_OUTCOME_2XX, 5000);
    oauth2_metrics_call(OAUTH2_CALL_TOKEN, OAUTH2_OUTCOME_2XX, 5001);
    oauth2_metrics_call(OAUTH2_CALL_TOKEN, OAUTH2_OUTCOME_5XX,
                        apr_time_from_sec(60));
    oauth2_metrics_call(OAUTH2_CALL_TOKEN, OAUTH2_OUTCOME_4XX, -5);
    t = oauth2_metrics_text(pool, oauth2_metrics_current());
#define HAS(s) assert_non_null(strstr(t, s "\n"))
    HAS("oauth2_provider_request_duration_seconds_bucket{endpoint=\"token\","
        "le=\"0.005\"} 2");
    HAS("oauth2_provider_request_duration_seconds_bucket{endpoint=\"token\","
        "le=\"0.01\"} 3");
    HAS("oauth2_provider_request_duration_seconds_bucket{endpoint=\"token\","
        "le=\"10\"} 3");
    HAS("oauth2_provider_request_duration_seconds_bucket{endpoint=\"token\","
        "le=\"+Inf\"} 4");
    HAS("oauth2_provider_request_duration_seconds_count{endpoint=\"token\"} "
        "4");
    HAS("oauth2_provider_request_duration_seconds_sum{endpoint=\"token\"} "
        "60.010001");
    HAS("oauth2_provider_requests_total{endpoint=\"token\",outcome=\"2xx\"} "
        "2");
    HAS("oauth2_provider_requests_total{endpoint=\"token\",outcome=\"5xx\"} "
        "1");
    HAS("oauth2_provider_requests_total{endpoint=\"token\","
        "outcome=\"unreachable\"} 0");
#undef HAS
    /* An endpoint never called has no series, but the families are there. */
    assert_null(strstr(t, "endpoint=\"jwks\""));
    assert_non_null(strstr(t, "# TYPE oauth2_provider_request_duration_seconds "
                              "histogram\n"));
    oauth2_metrics_use(NULL, NULL);
}

/* Every sample line belongs to a family announced by # HELP and # TYPE
 * before it. */
static void test_metrics_text_documented(void **state)
{
    char *t, *line, *last = NULL, *families = "";

    (void)state;
    fresh();
    oauth2_metrics_call(OAUTH2_CALL_JWKS, OAUTH2_OUTCOME_2XX, 1000);
    t = apr_pstrdup(pool, oauth2_metrics_text(pool, oauth2_metrics_current()));
    assert_int_equal(strncmp(t, "# HELP oauth2_build_info ", 25), 0);
    assert_non_null(strstr(t, "oauth2_build_info{version=\"1.2.3\"} 1\n"));
    for (line = apr_strtok(t, "\n", &last); line != NULL;
         line = apr_strtok(NULL, "\n", &last)) {
        char name[128];
        apr_size_t n = strcspn(line, "{ ");

        if (strncmp(line, "# HELP ", 7) == 0) {
            n = strcspn(line + 7, " ");
            families =
                apr_psprintf(pool, "%s|%.*s|", families, (int)n, line + 7);
            continue;
        }
        if (line[0] == '#') {
            assert_int_equal(strncmp(line, "# TYPE ", 7), 0);
            continue;
        }
        assert_true(n < sizeof(name));
        apr_cpystrn(name, line, n + 1);
        if (strstr(families, apr_psprintf(pool, "|%s|", name)) == NULL) {
            char *suffix = strrchr(name, '_');

            assert_non_null(suffix);
            *suffix = '\0';
            if (strstr(families, apr_psprintf(pool, "|%s|", name)) == NULL) {
                fail_msg("%s has no # HELP", line);
            }
        }
    }
    oauth2_metrics_use(NULL, NULL);
}

/* A version with a quote or a backslash cannot break the label. */
static void test_metrics_version_escaped(void **state)
{
    (void)state;
    oauth2_metrics_use(NULL, "1\"2\\3\n");
    assert_non_null(
        strstr(oauth2_metrics_text(pool, NULL),
               "oauth2_build_info{version=\"1\\\"2\\\\3\\n\"} 1\n"));
    oauth2_metrics_use(NULL, NULL);
    assert_non_null(strstr(oauth2_metrics_text(pool, NULL),
                           "oauth2_build_info{version=\"unknown\"} 1\n"));
}

/* Four processes add to one block in shared memory at once: no add is
 * lost (the counters are atomic, without a lock). */
static void test_metrics_processes(void **state)
{
    const int procs = 4, each = 20000;
    void *shared = mmap(NULL, oauth2_metrics_size(), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    oauth2_metrics_t *m;
    int keep = 0, i, status;

    (void)state;
    assert_true(shared != MAP_FAILED);
    m = oauth2_metrics_format(shared, oauth2_metrics_size(), &keep);
    oauth2_metrics_use(m, NULL);
    for (i = 0; i < procs; i++) {
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
            int j;

            for (j = 0; j < each; j++) {
                oauth2_metrics_inc(OAUTH2_METRIC_BEARER_ACCEPTED);
                oauth2_metrics_call(OAUTH2_CALL_USERINFO, OAUTH2_OUTCOME_2XX,
                                    1);
            }
            _exit(0);
        }
    }
    for (i = 0; i < procs; i++) {
        assert_true(wait(&status) > 0);
        assert_int_equal(status, 0);
    }
    assert_int_equal(oauth2_metrics_get(m, OAUTH2_METRIC_BEARER_ACCEPTED),
                     procs * each);
    assert_int_equal(
        oauth2_metrics_get_calls(m, OAUTH2_CALL_USERINFO, OAUTH2_OUTCOME_2XX),
        procs * each);
    oauth2_metrics_use(NULL, NULL);
    munmap(shared, oauth2_metrics_size());
}

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    return apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_metrics_format_keep),     T(test_metrics_without_block),
        T(test_metrics_login_reasons),   T(test_metrics_outcomes),
        T(test_metrics_histogram),       T(test_metrics_text_documented),
        T(test_metrics_version_escaped), T(test_metrics_processes),
    };
#undef T
    return cmocka_run_group_tests(tests, setup, teardown);
}
