/*
 * test_errors.c: unit tests for src/errors.c: the names of the status
 * codes, and the one answer table: every failure the module answers has a
 * client or server error status, a log level, and a page or a body where
 * it is shown as one; a user's own doing is never a 5xx; the codes of a
 * failed redemption and of a failed session map to the answers they
 * always had.
 */
#include "errors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

static void test_errors_names(void **state)
{
    (void)state;
    assert_string_equal(oauth2_strerror(APR_SUCCESS), "success");
    assert_string_equal(oauth2_strerror(OAUTH2_EBADSIG), "OAUTH2_EBADSIG");
    assert_string_equal(oauth2_strerror(OAUTH2_EBUSY), "OAUTH2_EBUSY");
    assert_string_equal(oauth2_strerror(APR_ENOMEM), "APR_ENOMEM");
    assert_string_equal(oauth2_strerror(12345678), "other apr_status_t");
}

/* Every row is complete: a 4xx/5xx status, a level, a title where it is
 * shown as a page, a body where it is JSON. */
static void test_errors_table_complete(void **state)
{
    int a;

    (void)state;
    for (a = 0; a < OAUTH2_ANS_COUNT; a++) {
        const oauth2_answer_t *row = oauth2_answer((oauth2_answer_e)a);

        if (row->status < 400 || row->status > 599) {
            fail_msg("answer %d: status %d", a, row->status);
        }
        if (row->level < OAUTH2_LOG_ERR || row->level > OAUTH2_LOG_DEBUG) {
            fail_msg("answer %d: level %d", a, row->level);
        }
        if ((row->show == OAUTH2_SHOW_PAGE
             || row->show == OAUTH2_SHOW_ERROR_PAGE)
            && row->title == NULL) {
            fail_msg("answer %d: a page without a title", a);
        }
        if (row->show == OAUTH2_SHOW_JSON
            && (row->message == NULL || row->message[0] != '{')) {
            fail_msg("answer %d: a JSON answer without a body", a);
        }
    }
}

/* The statuses and pages the integration tests assert, row by row. */
static void test_errors_table_values(void **state)
{
    static const struct {
        oauth2_answer_e a;
        int status;
        oauth2_show_e show;
        const char *title;
    } rows[] = {
        { OAUTH2_ANS_NO_PROVIDER, 500, OAUTH2_SHOW_BARE, NULL },
        { OAUTH2_ANS_STORE_DOWN, 503, OAUTH2_SHOW_ERROR_PAGE,
          "Temporarily unavailable" },
        { OAUTH2_ANS_UNAUTH_401, 401, OAUTH2_SHOW_BARE, NULL },
        { OAUTH2_ANS_UNAUTH_403, 403, OAUTH2_SHOW_BARE, NULL },
        { OAUTH2_ANS_BEARER_INVALID, 401, OAUTH2_SHOW_BARE, NULL },
        { OAUTH2_ANS_PROVIDER_DOWN, 502, OAUTH2_SHOW_ERROR_PAGE,
          "Sign-in is unavailable" },
        { OAUTH2_ANS_BAD_QUERY, 400, OAUTH2_SHOW_PAGE, "Bad request" },
        { OAUTH2_ANS_CB_REPLAY, 400, OAUTH2_SHOW_PAGE, "Login failed" },
        { OAUTH2_ANS_CB_STORE_DOWN, 503, OAUTH2_SHOW_PAGE,
          "Login unavailable" },
        { OAUTH2_ANS_CB_DENIED, 403, OAUTH2_SHOW_PAGE, "Not signed in" },
        { OAUTH2_ANS_CB_INTERACTION, 403, OAUTH2_SHOW_PAGE, "Not signed in" },
        { OAUTH2_ANS_CB_ERROR, 502, OAUTH2_SHOW_PAGE, "Login failed" },
        { OAUTH2_ANS_CB_CODE_REFUSED, 400, OAUTH2_SHOW_PAGE, "Login failed" },
        { OAUTH2_ANS_TOKEN_INVALID, 401, OAUTH2_SHOW_PAGE, "Login failed" },
        { OAUTH2_ANS_SESSION_FULL, 503, OAUTH2_SHOW_PAGE, "Login unavailable" },
        { OAUTH2_ANS_SESSION_REFUSED, 403, OAUTH2_SHOW_PAGE, "Login failed" },
        { OAUTH2_ANS_BACKCHANNEL, 400, OAUTH2_SHOW_JSON, NULL },
        { OAUTH2_ANS_NOT_LOGGED_IN, 401, OAUTH2_SHOW_JSON, NULL },
        { OAUTH2_ANS_METHOD, 405, OAUTH2_SHOW_BARE, NULL },
        { OAUTH2_ANS_FORBIDDEN, 403, OAUTH2_SHOW_ERROR_PAGE, "Access denied" },
        { OAUTH2_ANS_API_FAILED, 502, OAUTH2_SHOW_ERROR_PAGE,
          "Access not checked" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const oauth2_answer_t *row = oauth2_answer(rows[i].a);

        assert_int_equal(row->status, rows[i].status);
        assert_int_equal(row->show, rows[i].show);
        if (rows[i].title != NULL) {
            assert_string_equal(row->title, rows[i].title);
        }
    }
    assert_string_equal(oauth2_answer(OAUTH2_ANS_BACKCHANNEL)->message,
                        "{\"error\":\"invalid_request\"}\n");
}

/* What a user did (cancelled, reloaded, came late, sent junk) is a 4xx. */
static void test_errors_user_doing_is_4xx(void **state)
{
    static const oauth2_answer_e mine[] = {
        OAUTH2_ANS_BAD_QUERY,       OAUTH2_ANS_CB_MALFORMED,
        OAUTH2_ANS_CB_NO_STATE,     OAUTH2_ANS_CB_NO_COOKIE,
        OAUTH2_ANS_CB_EXPIRED,      OAUTH2_ANS_CB_BAD_STATE,
        OAUTH2_ANS_CB_REPLAY,       OAUTH2_ANS_CB_DENIED,
        OAUTH2_ANS_CB_INTERACTION,  OAUTH2_ANS_CB_NO_CODE,
        OAUTH2_ANS_CB_CODE_REFUSED,
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
        assert_true(oauth2_answer(mine[i])->status < 500);
    }
}

static void test_errors_unknown_answer(void **state)
{
    (void)state;
    assert_int_equal(oauth2_answer(OAUTH2_ANS_COUNT)->status, 500);
    assert_int_equal(oauth2_answer((oauth2_answer_e)-1)->status, 500);
    assert_int_equal(oauth2_answer(OAUTH2_ANS_COUNT)->show, OAUTH2_SHOW_BARE);
}

static void test_errors_redeem_map(void **state)
{
    static const apr_status_t invalid[] = {
        OAUTH2_EBADSIG,  OAUTH2_EREFUSED, OAUTH2_ENOTFOUND,  OAUTH2_EMISMATCH,
        OAUTH2_EEXPIRED, OAUTH2_ENOTYET,  OAUTH2_EMALFORMED,
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        assert_int_equal(oauth2_answer_redeem(invalid[i]),
                         OAUTH2_ANS_TOKEN_INVALID);
    }
    assert_int_equal(oauth2_answer_redeem(OAUTH2_ECONFIG),
                     OAUTH2_ANS_LOGIN_INTERNAL);
    assert_int_equal(oauth2_answer_redeem(OAUTH2_ECRYPTO),
                     OAUTH2_ANS_LOGIN_INTERNAL);
    assert_int_equal(oauth2_answer_redeem(OAUTH2_EREPLAY),
                     OAUTH2_ANS_CB_CODE_REFUSED);
    assert_int_equal(oauth2_answer_redeem(OAUTH2_EUNREACHABLE),
                     OAUTH2_ANS_PROVIDER_DOWN);
    assert_int_equal(oauth2_answer_redeem(OAUTH2_EUPSTREAM),
                     OAUTH2_ANS_PROVIDER_DOWN);
    assert_int_equal(oauth2_answer_redeem(OAUTH2_ETOOBIG),
                     OAUTH2_ANS_PROVIDER_DOWN);
}

static void test_errors_session_map(void **state)
{
    (void)state;
    assert_int_equal(oauth2_answer_session(OAUTH2_EMISMATCH),
                     OAUTH2_ANS_SESSION_REFUSED);
    assert_int_equal(oauth2_answer_session(OAUTH2_EFULL),
                     OAUTH2_ANS_SESSION_FULL);
    assert_int_equal(oauth2_answer_session(OAUTH2_ESTORE),
                     OAUTH2_ANS_SESSION_STORE);
    assert_int_equal(oauth2_answer_session(OAUTH2_ETOOBIG),
                     OAUTH2_ANS_SESSION_FAILED);
    assert_int_equal(oauth2_answer(OAUTH2_ANS_SESSION_STORE)->status, 503);
    assert_int_equal(oauth2_answer(OAUTH2_ANS_SESSION_FAILED)->status, 500);
    assert_int_equal(oauth2_answer(OAUTH2_ANS_SESSION_REFUSED)->level,
                     OAUTH2_LOG_WARNING);
    assert_int_equal(oauth2_answer(OAUTH2_ANS_SESSION_STORE)->level,
                     OAUTH2_LOG_ERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_names),
        cmocka_unit_test(test_errors_table_complete),
        cmocka_unit_test(test_errors_table_values),
        cmocka_unit_test(test_errors_user_doing_is_4xx),
        cmocka_unit_test(test_errors_unknown_answer),
        cmocka_unit_test(test_errors_redeem_map),
        cmocka_unit_test(test_errors_session_map),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
