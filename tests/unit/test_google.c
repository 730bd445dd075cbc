/*
 * test_google.c: unit tests for src/google.c against a loopback server
 * (fake_server.c) playing Google's token endpoint and Directory API: the
 * service account key file and its refusals, the JWT assertion (RFC 7523
 * §3 claims, RS256 verified with the public key), the exchange (RFC 7523
 * §2.1 form, Google's RFC 6749 §5.2 error bodies), the shared token cache
 * in a real shared-memory store (reuse, expiry, one exchange while another
 * thread waits, a 401 dropping the token), groups.list paging, nested
 * membership (hasMember, and members.get where hasMember answers "Invalid
 * Input"), Google's error bodies (403 forbidden, rate limits), limits.
 */
#include "google.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_global_mutex.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base64url.h"
#include "bounds.h"
#include "claims.h"
#include "crypto.h"
#include "errors.h"
#include "fake_server.h"
#include "store.h"
#include "store_shm.h"

/* A fixed clock: 2025-01-01T00:00:00Z. */
#define NOW      ((apr_time_t)1735689600 * APR_USEC_PER_SEC)
#define SA_EMAIL "reader@proj.iam.gserviceaccount.com"
#define ADMIN    "admin@example.com"
#define LIST                                                 \
    "/admin/directory/v1/groups?userKey=alice%40example.com" \
    "&maxResults=200"
#define TOKEN_OK                                            \
    "{\"access_token\":\"ya29.first\",\"expires_in\":3599," \
    "\"token_type\":\"Bearer\"}"

static EVP_PKEY *rsa;       /* the service account's key */
static const char *rsa_pem; /* its PEM, JSON-escaped */

typedef struct {
    apr_pool_t *p;
    fs_t srv;
    oauth2_http_opts_t http;
    oauth2_google_t g;
    oauth2_google_sa_t *sa;
    apr_shm_t *seg;
    apr_global_mutex_t *mutex;
    oauth2_store_t *store;
} fix_t;

/* ------------------------------------------------------------ fixture */

static char *json_escape(const char *s)
{
    char *out = malloc(strlen(s) * 2 + 1), *o = out;

    for (; *s; s++) {
        if (*s == '\n') {
            *o++ = '\\';
            *o++ = 'n';
            continue;
        }
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

static int group_setup(void **state)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *pem;
    long n;

    (void)state;
    apr_initialize();
    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (rsa == NULL || bio == NULL
        || PEM_write_bio_PrivateKey(bio, rsa, NULL, NULL, 0, NULL, NULL) != 1) {
        return -1;
    }
    n = BIO_get_mem_data(bio, &data);
    pem = strndup(data, (size_t)n);
    rsa_pem = json_escape(pem);
    free(pem);
    BIO_free(bio);
    return oauth2_crypto_init() == APR_SUCCESS ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa);
    free((void *)rsa_pem);
    apr_terminate();
    return 0;
}

/* A key file as Google issues it; NULL members are left out. */
static const char *key_json(apr_pool_t *p, const char *type, const char *email,
                            const char *pem, const char *token_uri)
{
    const char *s =
        apr_psprintf(p, "{\"type\":\"%s\",\"project_id\":\"proj\"", type);

    s = apr_pstrcat(p, s, ",\"private_key_id\":\"k1d\",\"client_id\":\"1234\"",
                    NULL);
    if (email != NULL) {
        s = apr_pstrcat(p, s, ",\"client_email\":\"", email, "\"", NULL);
    }
    if (pem != NULL) {
        s = apr_pstrcat(p, s, ",\"private_key\":\"", pem, "\"", NULL);
    }
    if (token_uri != NULL) {
        s = apr_pstrcat(p, s, ",\"token_uri\":\"", token_uri, "\"", NULL);
    }
    return apr_pstrcat(p, s, "}", NULL);
}

/* The shared-memory store (a cache shared by threads here, by processes
 * in Apache). */
static void store_open(fix_t *f)
{
    static const unsigned char seed[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
                                            9, 0, 1, 2, 3, 4, 5, 6 };
    apr_uint64_t size = oauth2_shm_size(64);
    oauth2_shm_t *shm;
    const char *err;

    assert_int_equal(apr_shm_create(&f->seg, (apr_size_t)size, NULL, f->p),
                     APR_SUCCESS);
    assert_int_equal(
        apr_global_mutex_create(&f->mutex, NULL, APR_LOCK_DEFAULT, f->p),
        APR_SUCCESS);
    assert_int_equal(
        oauth2_shm_format(apr_shm_baseaddr_get(f->seg), size, 64, seed),
        APR_SUCCESS);
    assert_int_equal(oauth2_shm_attach(f->p, apr_shm_baseaddr_get(f->seg), size,
                                       f->mutex, &shm, &err),
                     APR_SUCCESS);
    f->store = oauth2_store_shm(f->p, shm);
}

static int setup(void **state)
{
    fix_t *f = calloc(1, sizeof(*f));

    if (f == NULL || apr_pool_create(&f->p, NULL) != APR_SUCCESS) {
        return -1;
    }
    f->http.timeout_ms = 3000;
    f->http.connect_timeout_ms = 2000;
    f->http.user_agent = "test-agent/1.0";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_t *f = *state;

    fs_stop(&f->srv);
    apr_pool_destroy(f->p);
    free(f);
    return 0;
}

/* Starts the server and makes the service account point at it. */
static void start(fix_t *f, int with_store)
{
    const char *json, *err = NULL;

    fs_start(&f->srv);
    json = key_json(f->p, "service_account", SA_EMAIL, rsa_pem,
                    apr_pstrcat(f->p, f->srv.base, "/token", NULL));
    assert_int_equal(
        oauth2_google_sa_parse(f->p, json, strlen(json), &f->sa, &err),
        APR_SUCCESS);
    if (with_store) {
        store_open(f);
    }
    f->g.sa = f->sa;
    f->g.admin = ADMIN;
    f->g.directory = f->srv.base;
    f->g.http = &f->http;
    f->g.store = f->store;
}

/* The JSON of a JWT segment. */
static oauth2_claims_t *segment(apr_pool_t *p, const char *b64, apr_size_t n)
{
    unsigned char *raw;
    apr_size_t len;
    oauth2_claims_t *c = NULL;
    const char *err;

    assert_int_equal(oauth2_base64url_decode(p, b64, n, &raw, &len),
                     APR_SUCCESS);
    assert_int_equal(
        oauth2_claims_parse(p, (const char *)raw, len, 1 << 16, &c, &err),
        APR_SUCCESS);
    return c;
}

static apr_int64_t num(const oauth2_claims_t *c, const char *name)
{
    return json_object_get_int64(oauth2_claims_get(c, name));
}

/* ----------------------------------------------------------- key file */

static void test_google_sa_parse(void **state)
{
    fix_t *f = *state;
    const char *json = key_json(f->p, "service_account", SA_EMAIL, rsa_pem,
                                "https://oauth2.googleapis.com/token");
    oauth2_google_sa_t *sa = NULL;
    const char *err = NULL;

    assert_int_equal(
        oauth2_google_sa_parse(f->p, json, strlen(json), &sa, &err),
        APR_SUCCESS);
    assert_string_equal(oauth2_google_sa_email(sa), SA_EMAIL);
    assert_string_equal(oauth2_google_sa_token_uri(sa),
                        "https://oauth2.googleapis.com/token");
}

static void test_google_sa_refusals(void **state)
{
    fix_t *f = *state;
    const char *uri = "https://oauth2.googleapis.com/token";
    const struct {
        const char *json, *want;
    } cases[] = {
        { "not json", "not a JSON key file" },
        { "[1,2]", "not a JSON key file" },
        { "{\"web\":{\"client_id\":\"x\"}}", "\"type\" is 'absent'" },
        { key_json(f->p, "authorized_user", SA_EMAIL, rsa_pem, uri),
          "'authorized_user'" },
        { key_json(f->p, "service_account", NULL, rsa_pem, uri),
          "no \"client_email\"" },
        { key_json(f->p, "service_account", SA_EMAIL, NULL, uri),
          "no \"private_key\"" },
        { key_json(f->p, "service_account", SA_EMAIL, rsa_pem, NULL),
          "no \"token_uri\"" },
        { key_json(f->p, "service_account", "nobody", rsa_pem, uri),
          "malformed" },
        { key_json(f->p, "service_account", SA_EMAIL, rsa_pem,
                   "ftp://x.example/token"),
          "malformed" },
        { key_json(f->p, "service_account", SA_EMAIL,
                   "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE "
                   "KEY-----\\n",
                   uri),
          "private_key: not a PEM private key" },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_google_sa_t *sa = NULL;
        const char *err = NULL;

        assert_int_equal(oauth2_google_sa_parse(f->p, cases[i].json,
                                                strlen(cases[i].json), &sa,
                                                &err),
                         OAUTH2_EMALFORMED);
        if (err == NULL || strstr(err, cases[i].want) == NULL) {
            fail_msg("case %d: '%s' lacks '%s'", (int)i, err ? err : "",
                     cases[i].want);
        }
    }
}

/* ---------------------------------------------------------- assertion */

/* RFC 7523 §3: iss, sub, aud, exp, iat; Google's scope; RS256 with the
 * key id; at most one hour. */
static void test_google_assertion(void **state)
{
    fix_t *f = *state;
    const char *json = key_json(f->p, "service_account", SA_EMAIL, rsa_pem,
                                "https://oauth2.googleapis.com/token");
    const char *err = NULL, *dot1, *dot2;
    oauth2_google_sa_t *sa = NULL;
    oauth2_claims_t *h, *c;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig;
    apr_size_t siglen;
    char *jwt = NULL;

    assert_int_equal(
        oauth2_google_sa_parse(f->p, json, strlen(json), &sa, &err),
        APR_SUCCESS);
    assert_int_equal(oauth2_google_assertion(f->p, sa, ADMIN, NOW, &jwt, &err),
                     APR_SUCCESS);
    dot1 = strchr(jwt, '.');
    dot2 = strchr(dot1 + 1, '.');
    h = segment(f->p, jwt, (apr_size_t)(dot1 - jwt));
    c = segment(f->p, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1));
    assert_string_equal(oauth2_claims_get_string(h, "alg"), "RS256");
    assert_string_equal(oauth2_claims_get_string(h, "typ"), "JWT");
    assert_string_equal(oauth2_claims_get_string(h, "kid"), "k1d");
    assert_string_equal(oauth2_claims_get_string(c, "iss"), SA_EMAIL);
    assert_string_equal(oauth2_claims_get_string(c, "sub"), ADMIN);
    assert_string_equal(oauth2_claims_get_string(c, "scope"),
                        OAUTH2_GOOGLE_SCOPE);
    assert_string_equal(oauth2_claims_get_string(c, "aud"),
                        "https://oauth2.googleapis.com/token");
    assert_int_equal(num(c, "iat"), 1735689600);
    assert_int_equal(num(c, "exp"), 1735689600 + 3600);
    /* the signature verifies with the public key (RSASSA-PKCS1-v1_5) */
    assert_int_equal(oauth2_base64url_decode(f->p, dot2 + 1, strlen(dot2 + 1),
                                             &sig, &siglen),
                     APR_SUCCESS);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, rsa),
                     1);
    assert_int_equal(EVP_DigestVerify(md, sig, siglen,
                                      (const unsigned char *)jwt,
                                      (size_t)(dot2 - jwt)),
                     1);
    EVP_MD_CTX_free(md);
}

/* ----------------------------------------------------------- exchange */

/* RFC 7523 §2.1: grant_type and assertion, form-encoded; the token of a
 * 200 answer. */
static void test_google_token_exchange(void **state)
{
    fix_t *f = *state;
    const char *token = NULL, *err = NULL, *log;

    fs_route(&f->srv, "POST", "/token", 200, NULL, TOKEN_OK);
    start(f, 0);
    assert_int_equal(oauth2_google_token(f->p, &f->g, NOW, &token, &err),
                     APR_SUCCESS);
    assert_string_equal(token, "ya29.first");
    log = fs_log(f->p, &f->srv);
    assert_non_null(strstr(log, "POST /token HTTP/1.1"));
    assert_non_null(strstr(log, "Content-Type: application/x-www-form-"
                                "urlencoded"));
    assert_non_null(strstr(log, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3A"
                                "grant-type%3Ajwt-bearer&assertion=ey"));
}

/* Google's refusals, quoted with a hint for what an administrator fixes;
 * unusable 200 answers. */
static void test_google_token_errors(void **state)
{
    static const struct {
        int status;
        const char *body;
        apr_status_t rv;
        const char *want;
    } cases[] = {
        { 401,
          "{\"error\":\"unauthorized_client\",\"error_description\":\"Client "
          "is unauthorized to retrieve access tokens using this method, or "
          "client not authorized for any of the scopes requested.\"}",
          OAUTH2_EUPSTREAM,
          "HTTP 401, error 'unauthorized_client': Client is unauthorized to "
          "retrieve access tokens using this method, or client not authorized "
          "for any of the scopes requested. (grant domain-wide delegation to "
          "client ID 1234 with the scope "
          "https://www.googleapis.com/auth/admin.directory.group.readonly)" },
        { 400,
          "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT "
          "Signature.\"}",
          OAUTH2_EUPSTREAM,
          "error 'invalid_grant': Invalid JWT Signature. (a deleted key" },
        { 400, "{\"error\":\"invalid_scope\"}", OAUTH2_EUPSTREAM,
          "error 'invalid_scope'" },
        { 500, "<html>oops</html>", OAUTH2_EUPSTREAM,
          "HTTP 500, error '(none)'" },
        { 200, "{\"token_type\":\"Bearer\"}", OAUTH2_EUPSTREAM,
          "no usable Bearer access_token" },
        { 200, "{\"access_token\":\"a b\",\"token_type\":\"Bearer\"}",
          OAUTH2_EUPSTREAM, "no usable Bearer access_token" },
        { 200, "{\"access_token\":\"ya29.x\",\"token_type\":\"mac\"}",
          OAUTH2_EUPSTREAM, "no usable Bearer access_token" },
        { 200, "not json", OAUTH2_EUPSTREAM, "Google token endpoint: " },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fix_t *f = *state;
        const char *token = NULL, *err = NULL;

        memset(&f->srv, 0, sizeof(f->srv));
        fs_route(&f->srv, "POST", "/token", cases[i].status, NULL,
                 cases[i].body);
        start(f, 0);
        assert_int_equal(oauth2_google_token(f->p, &f->g, NOW, &token, &err),
                         cases[i].rv);
        if (err == NULL || strstr(err, cases[i].want) == NULL) {
            fail_msg("case %d: '%s' lacks '%s'", (int)i, err ? err : "",
                     cases[i].want);
        }
        fs_stop(&f->srv);
    }
}

static void test_google_token_unreachable(void **state)
{
    fix_t *f = *state;
    const char *token = NULL, *err = NULL;

    start(f, 0);
    fs_stop(&f->srv);
    assert_int_equal(oauth2_google_token(f->p, &f->g, NOW, &token, &err),
                     OAUTH2_EUNREACHABLE);
    assert_non_null(strstr(err, "Google token endpoint: "));
}

/* The token is cached until a minute before it expires; a short-lived
 * one is not cached at all. */
static void test_google_token_cached(void **state)
{
    fix_t *f = *state;
    const char *token = NULL, *err = NULL;

    fs_route(&f->srv, "POST", "/token", 200, NULL, TOKEN_OK);
    fs_last(&f->srv, 1, 0);
    fs_route(&f->srv, "POST", "/token", 200, NULL,
             "{\"access_token\":\"ya29.second\",\"expires_in\":100}");
    start(f, 1);
    assert_int_equal(oauth2_google_token(f->p, &f->g, NOW, &token, &err),
                     APR_SUCCESS);
    assert_string_equal(token, "ya29.first");
    assert_int_equal(oauth2_google_token(f->p, &f->g,
                                         NOW + apr_time_from_sec(3500), &token,
                                         &err),
                     APR_SUCCESS);
    assert_string_equal(token, "ya29.first");
    assert_int_equal(fs_count(f->p, &f->srv, "/token"), 1);
    /* 3599 - 60 s later the cache has let it go */
    assert_int_equal(oauth2_google_token(f->p, &f->g,
                                         NOW + apr_time_from_sec(3540), &token,
                                         &err),
                     APR_SUCCESS);
    assert_string_equal(token, "ya29.second");
    assert_int_equal(oauth2_google_token(f->p, &f->g,
                                         NOW + apr_time_from_sec(3541), &token,
                                         &err),
                     APR_SUCCESS);
    assert_int_equal(fs_count(f->p, &f->srv, "/token"), 3);
}

typedef struct {
    fix_t *f;
    apr_pool_t *p;
    const char *token;
    apr_status_t rv;
} waiter_t;

static void *APR_THREAD_FUNC fetch_token(apr_thread_t *t, void *data)
{
    waiter_t *w = data;
    const char *err = NULL;

    w->rv =
        oauth2_google_token(w->p, &w->f->g, apr_time_now(), &w->token, &err);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* One exchange at a time: while a thread waits for a slow token endpoint,
 * another finds the lock, waits, and takes the token from the cache. */
static void test_google_token_one_exchange(void **state)
{
    fix_t *f = *state;
    waiter_t a = { f, NULL, NULL, -1 };
    const char *token = NULL, *err = NULL;
    apr_thread_t *t;
    apr_status_t trv;
    int i;

    fs_route(&f->srv, "POST", "/token", 200, NULL, TOKEN_OK);
    fs_last(&f->srv, 0, 500);
    start(f, 1);
    assert_int_equal(apr_pool_create(&a.p, f->p), APR_SUCCESS);
    assert_int_equal(apr_thread_create(&t, NULL, fetch_token, &a, f->p),
                     APR_SUCCESS);
    /* the first exchange is under way */
    for (i = 0; i < 200 && fs_count(f->p, &f->srv, "/token") == 0; i++) {
        apr_sleep(apr_time_from_msec(10));
    }
    assert_int_equal(fs_count(f->p, &f->srv, "/token"), 1);
    assert_int_equal(
        oauth2_google_token(f->p, &f->g, apr_time_now(), &token, &err),
        APR_SUCCESS);
    apr_thread_join(&trv, t);
    assert_int_equal(a.rv, APR_SUCCESS);
    assert_string_equal(a.token, "ya29.first");
    assert_string_equal(token, "ya29.first");
    assert_int_equal(fs_count(f->p, &f->srv, "/token"), 1);
}

/* --------------------------------------------------------- directory */

#define GROUP(e) \
    "{\"kind\":\"admin#directory#group\",\"id\":\"1\",\"email\":\"" e "\"}"

/* Every page of groups.list (pageToken URL-encoded), addresses in lower
 * case; the page without "groups" is an empty one. */
static void test_google_groups_pages(void **state)
{
    fix_t *f = *state;
    apr_array_header_t *groups = NULL;
    const char *err = NULL, *log;

    fs_route(&f->srv, "POST", "/token", 200, NULL, TOKEN_OK);
    fs_route(&f->srv, "GET", LIST "&pageToken=p%202*", 200, NULL,
             "{\"kind\":\"admin#directory#groups\",\"groups\":[" GROUP(
                 "b@example.com") "]}");
    fs_route(
        &f->srv, "GET", LIST, 200, NULL,
        "{\"kind\":\"admin#directory#groups\",\"groups\":[" GROUP(
            "Eng@Example.COM") "," GROUP("a@example.com") "],"
                                                          "\"nextPageToken\":\"p 2\"}");
    start(f, 0);
    assert_int_equal(oauth2_google_groups(f->p, &f->g, "alice@example.com",
                                          NULL, NOW, &groups, &err),
                     APR_SUCCESS);
    assert_int_equal(groups->nelts, 3);
    assert_string_equal(APR_ARRAY_IDX(groups, 0, const char *),
                        "eng@example.com");
    assert_string_equal(APR_ARRAY_IDX(groups, 2, const char *),
                        "b@example.com");
    log = fs_log(f->p, &f->srv);
    assert_non_null(strstr(log, "Authorization: Bearer ya29.first\r\n"));
    assert_int_equal(fs_count(f->p, &f->srv, "pageToken=p%202"), 1);
}

/* Named groups the direct list lacks: hasMember (nesting); "Invalid
 * Input" (another domain) falls back to members.get, ACTIVE only; 404 is
 * no membership. */
static void test_google_groups_nested(void **state)
{
    fix_t *f = *state;
    apr_array_header_t *named = apr_array_make(f->p, 8, sizeof(char *));
    apr_array_header_t *groups = NULL;
    const char *err = NULL;
    static const char *const names[] = {
        "eng@example.com",   "all@example.com", "none@example.com",
        "gone@example.com",  "ext@example.com", "susp@example.com",
        "notin@example.com",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        APR_ARRAY_PUSH(named, const char *) = names[i];
    }
    fs_route(&f->srv, "POST", "/token", 200, NULL, TOKEN_OK);
    fs_route(&f->srv, "GET", LIST, 200, NULL,
             "{\"groups\":[" GROUP("eng@example.com") "]}");
    fs_route(&f->srv, "GET",
             "/admin/directory/v1/groups/all%40example.com/hasMember/"
             "alice%40example.com",
             200, NULL, "{\"isMember\":true}");
    fs_route(&f->srv, "GET", "/admin/directory/v1/groups/none%40example.com/*",
             200, NULL, "{\"isMember\":false}");
    fs_route(&f->srv, "GET", "/admin/directory/v1/groups/gone%40example.com/*",
             404, NULL,
             "{\"error\":{\"code\":404,\"message\":\"Resource Not Found: "
             "groupKey\",\"errors\":[{\"reason\":\"notFound\"}]}}");
    fs_route(&f->srv, "GET", "/admin/directory/v1/groups/*/hasMember/*", 400,
             NULL,
             "{\"error\":{\"code\":400,\"message\":\"Invalid Input: "
             "memberKey\",\"errors\":[{\"reason\":\"invalid\"}]}}");
    fs_route(&f->srv, "GET",
             "/admin/directory/v1/groups/ext%40example.com/members/*", 200,
             NULL, "{\"email\":\"alice@example.com\",\"status\":\"ACTIVE\"}");
    fs_route(&f->srv, "GET",
             "/admin/directory/v1/groups/susp%40example.com/members/*", 200,
             NULL,
             "{\"email\":\"alice@example.com\",\"status\":\"SUSPENDED\"}");
    fs_route(&f->srv, "GET", "/admin/directory/v1/groups/*/members/*", 404,
             NULL, "{\"error\":{\"code\":404}}");
    start(f, 0);
    assert_int_equal(oauth2_google_groups(f->p, &f->g, "alice@example.com",
                                          named, NOW, &groups, &err),
                     APR_SUCCESS);
    assert_int_equal(groups->nelts, 3);
    assert_string_equal(APR_ARRAY_IDX(groups, 0, const char *),
                        "eng@example.com");
    assert_string_equal(APR_ARRAY_IDX(groups, 1, const char *),
                        "all@example.com");
    assert_string_equal(APR_ARRAY_IDX(groups, 2, const char *),
                        "ext@example.com");
    assert_int_equal(fs_count(f->p, &f->srv, "/hasMember/"), 6);
    assert_int_equal(fs_count(f->p, &f->srv, "/members/"), 3);
}

/* A user the directory does not know (404) has no direct groups. */
static void test_google_groups_unknown_user(void **state)
{
    fix_t *f = *state;
    apr_array_header_t *groups = NULL;
    const char *err = NULL;

    fs_route(&f->srv, "POST", "/token", 200, NULL, TOKEN_OK);
    fs_route(&f->srv, "GET", LIST, 404, NULL,
             "{\"error\":{\"code\":404,\"message\":\"Resource Not Found: "
             "userKey\"}}");
    start(f, 0);
    assert_int_equal(oauth2_google_groups(f->p, &f->g, "alice@example.com",
                                          NULL, NOW, &groups, &err),
                     APR_SUCCESS);
    assert_int_equal(groups->nelts, 0);
}

/* Failures refuse, naming the call, Google's reason and message. */
static void test_google_groups_errors(void **state)
{
    static const struct {
        const char *target;
        int status;
        const char *body;
        apr_status_t rv;
        const char *want;
    } cases[] = {
        { LIST, 403,
          "{\"error\":{\"code\":403,\"message\":\"Not Authorized to access "
          "this resource/api\",\"errors\":[{\"message\":\"Not Authorized to "
          "access this resource/api\",\"domain\":\"global\",\"reason\":"
          "\"forbidden\"}]}}",
          OAUTH2_EUPSTREAM,
          "groups.list: HTTP 403 forbidden, not authorized: "
          "OAuth2GoogleAdminEmail must be a Workspace administrator" },
        { LIST, 403,
          "{\"error\":{\"code\":403,\"message\":\"Quota exceeded\","
          "\"errors\":[{\"reason\":\"rateLimitExceeded\"}]}}",
          OAUTH2_EUPSTREAM,
          "HTTP 403 rateLimitExceeded, rate limit: Quota exceeded" },
        { LIST, 403,
          "{\"error\":{\"code\":403,\"errors\":[{\"reason\":"
          "\"userRateLimitExceeded\"}]}}",
          OAUTH2_EUPSTREAM, "rate limit" },
        { LIST, 429,
          "{\"error\":{\"code\":429,\"status\":"
          "\"RESOURCE_EXHAUSTED\"}}",
          OAUTH2_EUPSTREAM, "HTTP 429, rate limit" },
        { LIST, 500, "oops", OAUTH2_EUPSTREAM, "HTTP 500, unexpected answer" },
        { LIST, 200, "{\"groups\":", OAUTH2_EUPSTREAM, "groups.list: " },
        { LIST, 200, "{\"groups\":{}}", OAUTH2_EUPSTREAM,
          "\"groups\" is not an array" },
        { LIST, 200, "{\"groups\":[{\"id\":\"1\"}]}", OAUTH2_EUPSTREAM,
          "group 0 has no email" },
        { LIST, 200, "{\"groups\":[{\"email\":\"\"}]}", OAUTH2_EUPSTREAM,
          "group 0 has no email" },
        { LIST "*", 200, "{\"nextPageToken\":\"again\"}", OAUTH2_ETOOBIG,
          "more than 20 pages" },
        { "/admin/directory/v1/groups/x%40example.com/*", 500, "{}",
          OAUTH2_EUPSTREAM, "members.hasMember: HTTP 500" },
        { "/admin/directory/v1/groups/x%40example.com/*", 200, "{}",
          OAUTH2_EUPSTREAM, "no isMember" },
        { "/admin/directory/v1/groups/x%40example.com/*", 200,
          "{\"isMember\":\"yes\"}", OAUTH2_EUPSTREAM, "no isMember" },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fix_t *f = *state;
        apr_array_header_t *named = apr_array_make(f->p, 1, sizeof(char *));
        apr_array_header_t *groups = NULL;
        const char *err = NULL;

        APR_ARRAY_PUSH(named, const char *) = "x@example.com";
        memset(&f->srv, 0, sizeof(f->srv));
        fs_route(&f->srv, "POST", "/token", 200, NULL, TOKEN_OK);
        fs_route(&f->srv, "GET", cases[i].target, cases[i].status, NULL,
                 cases[i].body);
        fs_route(&f->srv, "GET", LIST, 200, NULL, "{}");
        start(f, 0);
        assert_int_equal(oauth2_google_groups(f->p, &f->g, "alice@example.com",
                                              named, NOW, &groups, &err),
                         cases[i].rv);
        if (err == NULL || strstr(err, cases[i].want) == NULL) {
            fail_msg("case %d: '%s' lacks '%s'", (int)i, err ? err : "",
                     cases[i].want);
        }
        fs_stop(&f->srv);
    }
}

/* A token the Directory API refuses leaves the cache: the next call
 * exchanges a new one. */
static void test_google_groups_401_drops_token(void **state)
{
    fix_t *f = *state;
    apr_array_header_t *groups = NULL;
    const char *err = NULL;

    fs_route(&f->srv, "POST", "/token", 200, NULL, TOKEN_OK);
    fs_route(&f->srv, "GET", LIST, 401, NULL,
             "{\"error\":{\"code\":401,\"message\":\"Request had invalid "
             "authentication credentials.\",\"errors\":[{\"reason\":"
             "\"authError\"}],\"status\":\"UNAUTHENTICATED\"}}");
    fs_last(&f->srv, 1, 0);
    fs_route(&f->srv, "GET", LIST, 200, NULL, "{}");
    start(f, 1);
    assert_int_equal(oauth2_google_groups(f->p, &f->g, "alice@example.com",
                                          NULL, NOW, &groups, &err),
                     OAUTH2_EUPSTREAM);
    assert_non_null(strstr(err, "HTTP 401 authError, the access token was "
                                "refused; it is dropped from the cache"));
    assert_int_equal(oauth2_google_groups(f->p, &f->g, "alice@example.com",
                                          NULL, NOW, &groups, &err),
                     APR_SUCCESS);
    assert_int_equal(fs_count(f->p, &f->srv, "/token"), 2);
}

static void test_google_groups_bad_arguments(void **state)
{
    fix_t *f = *state;
    apr_array_header_t *groups = NULL;
    const char *err = NULL;

    start(f, 0);
    assert_int_equal(
        oauth2_google_groups(f->p, &f->g, "alice", NULL, NOW, &groups, &err),
        OAUTH2_ECONFIG);
    assert_int_equal(
        oauth2_google_groups(f->p, &f->g, NULL, NULL, NOW, &groups, &err),
        OAUTH2_ECONFIG);
    f->g.directory = NULL;
    assert_int_equal(oauth2_google_groups(f->p, &f->g, "a@example.com", NULL,
                                          NOW, &groups, &err),
                     OAUTH2_ECONFIG);
    assert_int_equal(fs_count(f->p, &f->srv, NULL), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_google_sa_parse),
        T(test_google_sa_refusals),
        T(test_google_assertion),
        T(test_google_token_exchange),
        T(test_google_token_errors),
        T(test_google_token_unreachable),
        T(test_google_token_cached),
        T(test_google_token_one_exchange),
        T(test_google_groups_pages),
        T(test_google_groups_nested),
        T(test_google_groups_unknown_user),
        T(test_google_groups_errors),
        T(test_google_groups_401_drops_token),
        T(test_google_groups_bad_arguments),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
