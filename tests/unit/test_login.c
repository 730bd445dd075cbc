/*
 * test_login.c: unit tests for src/login.c: the authorization request URL
 * (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1), and the code
 * redemption and refresh against a loopback provider forked by the test:
 * discovery, a JWKS with an Ed25519 key, a token endpoint and a userinfo
 * endpoint whose answers the test scripts through files and whose requests
 * it reads back. Covers client_secret_basic (RFC 6749 §2.3.1) and
 * client_secret_post, token responses (§5.1, §5.2), ID tokens signed here
 * (EdDSA, RFC 8037), userinfo (OIDC Core §5.3) and refresh (§12.2).
 */
#include "login.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_base64.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "base64url.h"
#include "bounds.h"
#include "crypto.h"
#include "errors.h"
#include "http.h"
#include "jose.h"

/* A fixed clock: 2025-01-01T00:00:00Z. */
#define NOW_SEC 1735689600L
#define NOW     ((apr_time_t)NOW_SEC * APR_USEC_PER_SEC)

#define CLIENT_ID     "my client"
#define CLIENT_SECRET "s3cr:et+/\xc3\xa9"
#define REDIRECT      "https://app.example.com/oauth2/callback"

static apr_pool_t *pool;
/* Providers keep their discovery and JWKS snapshots for the life of the
 * process (as in an Apache child), in unmanaged pools that nothing ever
 * destroys; LeakSanitizer cannot see the pointers to them (they live in
 * pool memory), so the fixture loads them with leak checking off. */
static apr_pool_t *prov_pool;
extern void __lsan_disable(void) __attribute__((weak));
extern void __lsan_enable(void) __attribute__((weak));
static pid_t server_pid;
static int server_port;
static char tmpdir[64];
static const char *issuer;
static EVP_PKEY *key;
static const char *jwks_json;

/* ---- the loopback provider (forked processes) ---- */

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            _exit(0);
        }
        buf += n;
        len -= (size_t)n;
    }
}

static void reply(int fd, int status, const char *body)
{
    char head[256];

    snprintf(head, sizeof(head),
             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
             status, strlen(body));
    write_all(fd, head, strlen(head));
    write_all(fd, body, strlen(body));
}

static const char *tmp_path(const char *name)
{
    return apr_pstrcat(pool, tmpdir, "/", name, NULL);
}

/* Whole file as a string, or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = apr_palloc(pool, (apr_size_t)n + 1);
    n = (long)fread(buf, 1, (size_t)n, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
    char *t = apr_pstrcat(pool, path, ".tmp", NULL);
    FILE *f = fopen(t, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(t, path), 0); /* atomic for the server */
}

/* Reads a request (head and Content-Length body) into one string. */
static char *read_request(int fd, char **path)
{
    static char buf[1 << 20];
    size_t len = 0, clen = 0;
    char *end = NULL, *cl, *sp;

    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

        if (n <= 0) {
            _exit(0);
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            cl = strcasestr(buf, "\r\nContent-Length:");
            clen = cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
        }
        if (end != NULL && len >= (size_t)(end + 4 - buf) + clen) {
            break;
        }
        if (len >= sizeof(buf) - 1) {
            _exit(0);
        }
    }
    *path = apr_pstrdup(pool, strchr(buf, ' ') + 1);
    sp = strchr(*path, ' ');
    if (sp != NULL) {
        *sp = '\0';
    }
    return buf;
}

/* Records the request as tmpdir/NAME.req, answers tmpdir/NAME.resp
 * ("STATUS\n" then the body). */
static void scripted(int fd, const char *name, const char *req)
{
    const char *resp = slurp(tmp_path(apr_pstrcat(pool, name, ".resp", NULL)));
    char *nl;

    spit(tmp_path(apr_pstrcat(pool, name, ".req", NULL)), req, strlen(req));
    if (resp == NULL || (nl = strchr(resp, '\n')) == NULL) {
        reply(fd, 500, "{\"error\":\"no script\"}");
        return;
    }
    if (strncmp(resp, "sleep", 5) == 0) {
        sleep(5);
    }
    reply(fd, atoi(resp), nl + 1);
}

static void handle(int fd)
{
    char *path, *req = read_request(fd, &path);

    if (strcmp(path, "/.well-known/openid-configuration") == 0) {
        reply(fd, 200,
              apr_psprintf(pool,
                           "{\"issuer\":\"%s\",\"authorization_endpoint\":"
                           "\"%s/auth\",\"token_endpoint\":\"%s/token\","
                           "\"userinfo_endpoint\":\"%s/userinfo\","
                           "\"jwks_uri\":\"%s/jwks\"}",
                           issuer, issuer, issuer, issuer, issuer));
    }
    else if (strcmp(path, "/jwks") == 0) {
        reply(fd, 200, jwks_json);
    }
    else if (strcmp(path, "/token") == 0) {
        scripted(fd, "token", req);
    }
    else if (strcmp(path, "/userinfo") == 0) {
        scripted(fd, "userinfo", req);
    }
    else {
        reply(fd, 404, "{}");
    }
    shutdown(fd, SHUT_WR);
    close(fd);
    _exit(0);
}

static void serve(int lfd)
{
    signal(SIGCHLD, SIG_IGN);
    for (;;) {
        int c = accept(lfd, NULL, NULL);

        if (c < 0) {
            if (errno == EINTR) {
                continue;
            }
            _exit(1);
        }
        if (fork() == 0) {
            close(lfd);
            handle(c);
            _exit(0);
        }
        close(c);
    }
}

/* ---- keys and tokens ---- */

static const char *b64url(const void *data, apr_size_t len)
{
    return oauth2_base64url_encode(pool, data, len);
}

/* A compact JWS (EdDSA, RFC 8037 §3.1) of payload with header hdr. */
static const char *sign_with(const char *hdr, const char *payload)
{
    const char *input = apr_pstrcat(pool, b64url(hdr, strlen(hdr)), ".",
                                    b64url(payload, strlen(payload)), NULL);
    unsigned char sig[64];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &siglen,
                                    (const unsigned char *)input,
                                    strlen(input)),
                     1);
    EVP_MD_CTX_free(ctx);
    return apr_pstrcat(pool, input, ".", b64url(sig, siglen), NULL);
}

static const char *sign(const char *payload)
{
    return sign_with("{\"alg\":\"EdDSA\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
                     payload);
}

/* ID token claims with the usual members; extra is appended inside. */
static const char *id_claims(const char *sub, const char *nonce,
                             const char *extra)
{
    return apr_psprintf(pool,
                        "{\"iss\":\"%s\",\"aud\":\"" CLIENT_ID "\","
                        "\"sub\":\"%s\",\"iat\":%ld,\"exp\":%ld%s%s%s%s}",
                        issuer, sub, NOW_SEC, NOW_SEC + 300,
                        nonce ? ",\"nonce\":\"" : "", nonce ? nonce : "",
                        nonce ? "\"" : "", extra ? extra : "");
}

/* ---- fixture ---- */

static int listen_loopback(int *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 64), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int group_setup(void **state)
{
    unsigned char pub[32];
    size_t publen = sizeof(pub);
    int lfd;

    (void)state;
    alarm(120);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    setenv("NO_PROXY", "*", 1);
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (__lsan_disable != NULL) {
        __lsan_disable();
    }
    apr_pool_create_unmanaged_ex(&prov_pool, NULL, NULL);
    if (__lsan_enable != NULL) {
        __lsan_enable();
    }
    assert_int_equal(oauth2_crypto_init(), APR_SUCCESS);
    assert_int_equal(oauth2_http_init(), APR_SUCCESS);
    strcpy(tmpdir, "/tmp/test_login.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));

    key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(key);
    assert_int_equal(EVP_PKEY_get_raw_public_key(key, pub, &publen), 1);
    jwks_json = apr_psprintf(pool,
                             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                             "\"kid\":\"k1\",\"use\":\"sig\",\"x\":\"%s\"}]}",
                             b64url(pub, publen));

    lfd = listen_loopback(&server_port);
    issuer = apr_psprintf(pool, "http://127.0.0.1:%d", server_port);
    server_pid = fork();
    assert_true(server_pid >= 0);
    if (server_pid == 0) {
        setpgid(0, 0);
        serve(lfd);
        _exit(0);
    }
    setpgid(server_pid, server_pid);
    close(lfd);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];

    (void)state;
    kill(-server_pid, SIGKILL);
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    EVP_PKEY_free(key);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* Scripts the next answer of endpoint name ("token", "userinfo"). */
static void script(const char *name, int status, const char *body)
{
    const char *s = apr_psprintf(pool, "%d\n%s", status, body);

    spit(tmp_path(apr_pstrcat(pool, name, ".resp", NULL)), s, strlen(s));
    remove(tmp_path(apr_pstrcat(pool, name, ".req", NULL)));
}

/* The last request endpoint name received (head and body). */
static const char *received(const char *name)
{
    char *r = slurp(tmp_path(apr_pstrcat(pool, name, ".req", NULL)));

    assert_non_null(r);
    return r;
}

static const char *received_body(const char *name)
{
    const char *r = received(name), *b = strstr(r, "\r\n\r\n");

    assert_non_null(b);
    return b + 4;
}

typedef struct {
    oauth2_cfg_t *cfg;
    oauth2_http_opts_t http;
    oauth2_client_t cl;
    oauth2_endpoints_t ep;
    oauth2_state_t st;
} fx_t;

/* Loads the provider's discovery document and JWKS into its cache (at
 * the fixed clock, so no test fetches them again). */
static void prefetch(fx_t *fx)
{
    const oauth2_endpoints_t *ep = NULL;
    const char *err = NULL, *jwt;
    oauth2_jws_t *jws = NULL;

    if (__lsan_disable != NULL) {
        __lsan_disable();
    }
    assert_int_equal(
        oauth2_provider_endpoints(fx->cl.prov, prov_pool, NOW, &ep, &err),
        APR_SUCCESS);
    assert_string_equal(ep->token, apr_pstrcat(pool, issuer, "/token", NULL));
    jwt = sign("{}");
    assert_int_equal(oauth2_jose_jws_parse(pool, jwt, strlen(jwt), &jws, &err),
                     APR_SUCCESS);
    assert_int_equal(
        oauth2_provider_verify(fx->cl.prov, prov_pool, NOW, jws, &err),
        APR_SUCCESS);
    if (__lsan_enable != NULL) {
        __lsan_enable();
    }
}

/* A client of the loopback provider. oidc: expect ID tokens. */
static fx_t *fixture(int oidc, int post, const char *secret)
{
    fx_t *fx = apr_pcalloc(pool, sizeof(*fx));
    const char *err = NULL;

    fx->cfg = oauth2_cfg_create(pool);
    assert_null(oauth2_cfg_set_provider(pool, fx->cfg, issuer, NULL));
    fx->cfg->client_id = CLIENT_ID;
    fx->cfg->client_secret = secret;
    fx->cfg->secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(fx->cfg->secrets, const char *) = "x";
    fx->cfg->client_auth_post = post;
    assert_null(oauth2_cfg_finalize(pool, fx->cfg));
    fx->http.timeout_ms = 3000;
    fx->http.connect_timeout_ms = 1000;
    assert_int_equal(oauth2_provider_create(prov_pool, fx->cfg, &fx->http,
                                            &fx->cl.prov, &err),
                     APR_SUCCESS);
    assert_int_equal(oauth2_provider_child_init(fx->cl.prov, prov_pool),
                     APR_SUCCESS);
    fx->cl.cfg = fx->cfg;
    fx->cl.http = &fx->http;
    fx->cl.redirect_uri = REDIRECT;
    fx->ep.issuer = issuer;
    fx->ep.authorization = apr_pstrcat(pool, issuer, "/auth", NULL);
    fx->ep.token = apr_pstrcat(pool, issuer, "/token", NULL);
    fx->ep.userinfo = apr_pstrcat(pool, issuer, "/userinfo", NULL);
    fx->ep.jwks = apr_pstrcat(pool, issuer, "/jwks", NULL);
    fx->ep.oidc = oidc;
    prefetch(fx);
    fx->st.state = "STATE123";
    fx->st.nonce = "NONCE456";
    fx->st.verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    fx->st.challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    fx->st.return_to = "/";
    fx->st.created = NOW;
    return fx;
}

static apr_status_t redeem(fx_t *fx, const char *code,
                           oauth2_login_result_t **res, const char **err)
{
    *res = NULL;
    *err = NULL;
    return oauth2_login_redeem(pool, &fx->cl, &fx->ep, &fx->st, code, NOW, res,
                               err);
}

/* ---- the authorization request ---- */

/* The query of url as a table (decoding %XX and '+'); each name once. */
static apr_table_t *query(const char *url, const char *base)
{
    apr_table_t *t = apr_table_make(pool, 16);
    char *q, *tok, *last = NULL;

    assert_true(strncmp(url, base, strlen(base)) == 0);
    q = apr_pstrdup(pool, url + strlen(base));
    for (tok = apr_strtok(q, "&", &last); tok != NULL;
         tok = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(tok, '='), *s, *d;

        assert_non_null(eq);
        *eq = '\0';
        for (s = d = eq + 1; *s; s++) {
            if (*s == '%') {
                char hex[3] = { s[1], s[2], 0 };

                *d++ = (char)strtol(hex, NULL, 16);
                s += 2;
            }
            else {
                *d++ = *s == '+' ? ' ' : *s;
            }
        }
        *d = '\0';
        assert_null(apr_table_get(t, tok)); /* no parameter twice */
        apr_table_set(t, tok, eq + 1);
    }
    return t;
}

static void test_login_authorize_url_parameters(void **state)
{
    fx_t *fx = fixture(1, 0, CLIENT_SECRET);
    const char *url;
    apr_table_t *q;

    (void)state;
    url = oauth2_login_authorize_url(pool, &fx->cl, &fx->ep, &fx->st);
    /* raw form: encoded with %20 (RFC 3986), state and PKCE as they are */
    assert_non_null(strstr(url, "?response_type=code&"));
    assert_non_null(strstr(url, "client_id=my%20client"));
    assert_non_null(strstr(
        url, "redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth2%2Fcallback"));
    assert_non_null(strstr(url, "scope=openid%20email%20profile"));
    assert_null(strchr(url, ' '));
    assert_null(strchr(url, '#'));
    q = query(url, apr_pstrcat(pool, issuer, "/auth?", NULL));
    assert_string_equal(apr_table_get(q, "response_type"), "code");
    assert_string_equal(apr_table_get(q, "client_id"), CLIENT_ID);
    assert_string_equal(apr_table_get(q, "redirect_uri"), REDIRECT);
    assert_string_equal(apr_table_get(q, "scope"), "openid email profile");
    assert_string_equal(apr_table_get(q, "state"), "STATE123");
    assert_string_equal(apr_table_get(q, "nonce"), "NONCE456");
    assert_string_equal(apr_table_get(q, "code_challenge"),
                        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    assert_string_equal(apr_table_get(q, "code_challenge_method"), "S256");
    /* never the verifier */
    assert_null(strstr(url, fx->st.verifier));
    assert_int_equal(apr_table_elts(q)->nelts, 8);
}

/* An endpoint that has a query already gets '&'; plain OAuth 2.0 gets no
 * nonce; OAuth2AuthParams come last. */
static void test_login_authorize_url_variants(void **state)
{
    static const char prefix[] =
        "https://idp.example.com/authorize?tenant=a%20b&response_type=code&";
    static const char suffix[] = "&hd=example.com&prompt=consent";
    fx_t *fx = fixture(0, 0, CLIENT_SECRET);
    const char *url, *params = NULL;
    apr_table_t *q;

    (void)state;
    assert_null(oauth2_cfg_parse_auth_params(
        pool, "hd=example.com prompt=consent", &params));
    fx->cfg->auth_params = params;
    fx->cfg->scope = "read:user user:email";
    fx->ep.authorization = "https://idp.example.com/authorize?tenant=a%20b";
    url = oauth2_login_authorize_url(pool, &fx->cl, &fx->ep, &fx->st);
    assert_true(strncmp(url, prefix, strlen(prefix)) == 0);
    assert_null(strstr(url, "nonce"));
    assert_true(strlen(url) > strlen(suffix));
    assert_string_equal(url + strlen(url) - strlen(suffix), suffix);
    q = query(url, "https://idp.example.com/authorize?");
    assert_string_equal(apr_table_get(q, "tenant"), "a b");
    assert_string_equal(apr_table_get(q, "scope"), "read:user user:email");
    assert_string_equal(apr_table_get(q, "hd"), "example.com");
    assert_string_equal(apr_table_get(q, "prompt"), "consent");
    assert_null(apr_table_get(q, "nonce"));
}

/* ---- the token request ---- */

static const char *basic(const char *user, const char *pass)
{
    const char *cred = apr_pstrcat(pool, user, ":", pass, NULL);
    char *b64 = apr_palloc(pool, apr_base64_encode_len((int)strlen(cred)));

    apr_base64_encode(b64, cred, (int)strlen(cred));
    return b64;
}

/* client_secret_basic (the default): id and secret form-encoded, joined
 * by ':', then Base64 (RFC 6749 §2.3.1); the form carries the code, the
 * redirect URI and the PKCE verifier (RFC 7636 §4.5), not the secret. */
static void test_login_redeem_client_secret_basic(void **state)
{
    fx_t *fx = fixture(0, 0, CLIENT_SECRET);
    oauth2_login_result_t *res;
    const char *err, *req, *body;

    (void)state;
    script("token", 200,
           "{\"access_token\":\"AT-1\",\"token_type\":\"Bearer\","
           "\"refresh_token\":\"RT-1\",\"expires_in\":3600}");
    script("userinfo", 200, "{\"sub\":\"u1\",\"email\":\"u1@example.com\"}");
    assert_int_equal(redeem(fx, "c+d/e f", &res, &err), APR_SUCCESS);
    req = received("token");
    body = received_body("token");
    assert_true(strncmp(req, "POST /token HTTP/1.1\r\n", 22) == 0);
    assert_non_null(
        strstr(req, apr_pstrcat(pool, "\r\nAuthorization: Basic ",
                                basic("my+client", "s3cr%3Aet%2B%2F%C3%A9"),
                                "\r\n", NULL)));
    assert_non_null(
        strstr(req, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(req, "\r\nAccept: application/json\r\n"));
    assert_string_equal(
        body, "grant_type=authorization_code&code=c%2Bd%2Fe+f"
              "&redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth2%2F"
              "callback&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWF"
              "OEjXk");
    assert_string_equal(res->access_token, "AT-1");
    assert_string_equal(res->refresh_token, "RT-1");
    assert_null(res->id_token);
    assert_int_equal(res->access_expires, NOW + apr_time_from_sec(3600));
    assert_string_equal(oauth2_claims_get_string(res->claims, "sub"), "u1");
    /* userinfo called with the access token */
    assert_non_null(
        strstr(received("userinfo"), "\r\nAuthorization: Bearer AT-1\r\n"));
}

/* client_secret_post: id and secret in the form, no Authorization. */
static void test_login_redeem_client_secret_post(void **state)
{
    fx_t *fx = fixture(0, 1, CLIENT_SECRET);
    oauth2_login_result_t *res;
    const char *err, *body;

    (void)state;
    script("token", 200, "{\"access_token\":\"AT-2\"}");
    script("userinfo", 200, "{\"sub\":\"u2\"}");
    assert_int_equal(redeem(fx, "code", &res, &err), APR_SUCCESS);
    assert_null(strcasestr(received("token"), "Authorization:"));
    body = received_body("token");
    assert_non_null(strstr(body, "&client_id=my+client"));
    assert_non_null(strstr(body, "&client_secret=s3cr%3Aet%2B%2F%C3%A9"));
    assert_int_equal(res->access_expires, 0);
    assert_null(res->refresh_token);
}

/* A public client (no secret): its id in the form, nothing else. */
static void test_login_redeem_public_client(void **state)
{
    fx_t *fx = fixture(0, 0, NULL);
    oauth2_login_result_t *res;
    const char *err, *body;

    (void)state;
    script("token", 200, "{\"access_token\":\"AT-3\"}");
    script("userinfo", 200, "{\"sub\":\"u3\"}");
    assert_int_equal(redeem(fx, "code", &res, &err), APR_SUCCESS);
    assert_null(strcasestr(received("token"), "Authorization:"));
    body = received_body("token");
    assert_non_null(strstr(body, "&client_id=my+client"));
    assert_null(strstr(body, "client_secret"));
}

/* A refused grant (RFC 6749 §5.2 invalid_grant; GitHub's
 * bad_verification_code at HTTP 200) is the user's doing, not an outage:
 * OAUTH2_EREPLAY, which the callback answers with a fresh login. */
static void test_login_token_invalid_grant(void **state)
{
    static const struct {
        int status;
        const char *body;
    } cases[] = {
        { 400, "{\"error\":\"invalid_grant\"}" },
        { 400, "{\"error\":\"invalid_grant\",\"error_description\":\"x\"}" },
        { 200, "{\"error\":\"invalid_grant\",\"access_token\":\"AT\"}" },
        { 200, "{\"error\":\"bad_verification_code\"}" },
    };
    fx_t *fx = fixture(0, 0, CLIENT_SECRET);
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_login_result_t *res;
        const char *err = NULL;

        script("token", cases[i].status, cases[i].body);
        if (redeem(fx, "the-secret-code", &res, &err) != OAUTH2_EREPLAY) {
            fail_msg("case %zu: not OAUTH2_EREPLAY", i);
        }
        assert_null(strstr(err, "the-secret-code"));
    }
}

/* Token responses that must not log anyone in (RFC 6749 §5.2 errors,
 * unusable tokens): OAUTH2_EUPSTREAM, without the code in the reason. */
static void test_login_token_response_refusals(void **state)
{
    static const struct {
        int status;
        const char *body;
    } cases[] = {
        { 401, "{\"error\":\"invalid_client\"}" },
        { 400, "{\"error\":\"invalid_request\"}" },
        { 500, "{\"access_token\":\"AT\"}" },
        { 302, "{\"access_token\":\"AT\"}" },
        { 200, "access_token=AT&token_type=bearer" },
        { 200, "" },
        { 200, "[\"AT\"]" },
        { 200, "{}" },
        { 200, "{\"access_token\":\"\"}" },
        { 200, "{\"access_token\":123}" },
        { 200, "{\"access_token\":null}" },
        { 200, "{\"access_token\":[\"AT\"]}" },
        { 200, "{\"access_token\":\"A\\r\\nSet-Cookie: x=y\"}" },
        { 200, "{\"access_token\":\"A\\u0000B\"}" },
        { 200, "{\"access_token\":\"A\\u0001B\"}" },
        { 200, "{\"access_token\":\"A\\u007fB\"}" },
        { 200, "{\"access_token\":\"caf\\u00e9\"}" },
        { 200, "{\"access_token\":\"AT\",\"refresh_token\":\"R\\nT\"}" },
        { 200, "{\"access_token\":\"AT\",\"refresh_token\":\"\"}" },
        { 200, "{\"access_token\":\"AT\"} trailing" },
        /* RFC 6749 §7.1: only Bearer tokens are understood. */
        { 200, "{\"access_token\":\"AT\",\"token_type\":\"DPoP\"}" },
        { 200, "{\"access_token\":\"AT\",\"token_type\":\"mac\"}" },
    };
    fx_t *fx = fixture(0, 0, CLIENT_SECRET);
    apr_size_t i;

    (void)state;
    script("userinfo", 200, "{\"sub\":\"u\"}");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_login_result_t *res;
        const char *err;
        apr_status_t rv;

        script("token", cases[i].status, cases[i].body);
        rv = redeem(fx, "the-secret-code", &res, &err);
        if (rv != OAUTH2_EUPSTREAM) {
            fail_msg("case %zu (%d %s): %d", i, cases[i].status, cases[i].body,
                     rv);
        }
        assert_null(res);
        assert_non_null(err);
        assert_null(strstr(err, "the-secret-code"));
    }
}

/* An over-long access token (beyond OAUTH2_MAX_JWT) is refused too. */
static void test_login_token_too_long(void **state)
{
    fx_t *fx = fixture(0, 0, CLIENT_SECRET);
    oauth2_login_result_t *res;
    char *tok = apr_palloc(pool, OAUTH2_MAX_JWT + 2);
    const char *err;

    (void)state;
    memset(tok, 'a', OAUTH2_MAX_JWT + 1);
    tok[OAUTH2_MAX_JWT + 1] = '\0';
    script("userinfo", 200, "{\"sub\":\"u\"}");
    script("token", 200, apr_psprintf(pool, "{\"access_token\":\"%s\"}", tok));
    assert_int_equal(redeem(fx, "c", &res, &err), OAUTH2_EUPSTREAM);
    tok[OAUTH2_MAX_JWT] = '\0';
    script("token", 200, apr_psprintf(pool, "{\"access_token\":\"%s\"}", tok));
    assert_int_equal(redeem(fx, "c", &res, &err), APR_SUCCESS);
    assert_int_equal(strlen(res->access_token), OAUTH2_MAX_JWT);
}

/* expires_in: a positive JSON integer under ten years sets the expiry;
 * anything else leaves it unknown (0). */
static void test_login_expires_in(void **state)
{
    static const struct {
        const char *value;
        apr_time_t expires;
    } cases[] = {
        { "3600", NOW + apr_time_from_sec(3600) },
        { "1", NOW + apr_time_from_sec(1) },
        { "315359999", NOW + apr_time_from_sec(315359999) },
        { "315360000", 0 },
        { "9223372036854775807", 0 },
        { "0", 0 },
        { "-60", 0 },
        /* Some providers send a string of digits. */
        { "\"3600\"", NOW + apr_time_from_sec(3600) },
        { "\"36x\"", 0 },
        { "\"\"", 0 },
        { "\"-5\"", 0 },
        { "3600.5", 0 },
        { "null", 0 },
        { "true", 0 },
    };
    fx_t *fx = fixture(0, 0, CLIENT_SECRET);
    apr_size_t i;

    (void)state;
    script("userinfo", 200, "{\"sub\":\"u\"}");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_login_result_t *res;
        const char *err;

        script("token", 200,
               apr_psprintf(pool, "{\"access_token\":\"AT\",\"expires_in\":%s}",
                            cases[i].value));
        assert_int_equal(redeem(fx, "c", &res, &err), APR_SUCCESS);
        if (res->access_expires != cases[i].expires) {
            fail_msg("case %zu (%s): %" APR_TIME_T_FMT, i, cases[i].value,
                     res->access_expires);
        }
    }
}

/* The configuration's missing pieces: no token endpoint; plain OAuth 2.0
 * without a userinfo endpoint (nothing says who the user is). */
static void test_login_config_refusals(void **state)
{
    fx_t *fx = fixture(0, 0, CLIENT_SECRET);
    oauth2_login_result_t *res;
    const char *err;

    (void)state;
    fx->ep.token = NULL;
    assert_int_equal(redeem(fx, "c", &res, &err), OAUTH2_ECONFIG);
    assert_non_null(err);
    fx = fixture(0, 0, CLIENT_SECRET);
    fx->ep.userinfo = NULL;
    script("token", 200, "{\"access_token\":\"AT\"}");
    assert_int_equal(redeem(fx, "c", &res, &err), OAUTH2_ECONFIG);
    assert_non_null(err);
}

/* Userinfo that fails or is not a JSON object: OAUTH2_EUPSTREAM. */
static void test_login_userinfo_refusals(void **state)
{
    static const struct {
        int status;
        const char *body;
    } cases[] = {
        { 401, "{\"error\":\"invalid_token\"}" },
        { 500, "{\"sub\":\"u\"}" },
        { 200, "not json" },
        { 200, "[]" },
    };
    fx_t *fx = fixture(0, 0, CLIENT_SECRET);
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_login_result_t *res;
        const char *err;

        script("token", 200, "{\"access_token\":\"AT\"}");
        script("userinfo", cases[i].status, cases[i].body);
        assert_int_equal(redeem(fx, "c", &res, &err), OAUTH2_EUPSTREAM);
        assert_non_null(err);
    }
}

/* OpenID Connect: a token response without id_token is refused. */
static void test_login_oidc_requires_id_token(void **state)
{
    fx_t *fx = fixture(1, 0, CLIENT_SECRET);
    oauth2_login_result_t *res;
    const char *err;

    (void)state;
    script("token", 200, "{\"access_token\":\"AT\"}");
    script("userinfo", 200, "{\"sub\":\"u\"}");
    assert_int_equal(redeem(fx, "c", &res, &err), OAUTH2_EUPSTREAM);
    assert_non_null(strstr(err, "id_token"));
}

/* A good ID token: verified with the JWKS, userinfo merged (ID token
 * members win), the tokens returned. */
static void test_login_oidc_success(void **state)
{
    fx_t *fx = fixture(1, 0, CLIENT_SECRET);
    oauth2_login_result_t *res;
    const char *err, *idt;

    (void)state;
    idt = sign(
        id_claims("alice", "NONCE456", ",\"email\":\"alice@idp.example\""));
    script("token", 200,
           apr_psprintf(pool,
                        "{\"access_token\":\"AT\",\"id_token\":\"%s\","
                        "\"expires_in\":60}",
                        idt));
    script("userinfo", 200,
           "{\"sub\":\"alice\",\"email\":\"other@example.com\","
           "\"groups\":[\"dev\"]}");
    if (redeem(fx, "c", &res, &err) != APR_SUCCESS) {
        fail_msg("redeem: %s", err);
    }
    assert_string_equal(res->id_token, idt);
    assert_string_equal(oauth2_claims_get_string(res->claims, "sub"), "alice");
    assert_string_equal(oauth2_claims_get_string(res->claims, "email"),
                        "alice@idp.example");
    assert_non_null(oauth2_claims_get(res->claims, "groups"));
    assert_int_equal(res->access_expires, NOW + apr_time_from_sec(60));
}

/* Bad ID tokens and a userinfo about someone else. */
static void test_login_oidc_refusals(void **state)
{
    fx_t *fx = fixture(1, 0, CLIENT_SECRET);
    const struct {
        const char *id_token;
        apr_status_t rv;
    } cases[] = {
        /* nonce of another login (OIDC Core §3.1.3.7 step 11) */
        { sign(id_claims("alice", "OTHER", NULL)), OAUTH2_EMISMATCH },
        /* no nonce */
        { sign(id_claims("alice", NULL, NULL)), OAUTH2_EMISMATCH },
        /* another audience */
        { sign(apr_psprintf(pool,
                            "{\"iss\":\"%s\",\"aud\":\"someone\",\"sub\":\"a\","
                            "\"iat\":%ld,\"exp\":%ld,\"nonce\":\"NONCE456\"}",
                            issuer, NOW_SEC, NOW_SEC + 300)),
          OAUTH2_EMISMATCH },
        /* another issuer */
        { sign(apr_psprintf(
              pool,
              "{\"iss\":\"https://evil.example\",\"aud\":\"" CLIENT_ID
              "\",\"sub\":\"a\",\"iat\":%ld,"
              "\"exp\":%ld,\"nonce\":\"NONCE456\"}",
              NOW_SEC, NOW_SEC + 300)),
          OAUTH2_EMISMATCH },
        /* expired beyond the skew */
        { sign(apr_psprintf(pool,
                            "{\"iss\":\"%s\",\"aud\":\"" CLIENT_ID "\","
                            "\"sub\":\"a\",\"iat\":%ld,\"exp\":%ld,"
                            "\"nonce\":\"NONCE456\"}",
                            issuer, NOW_SEC - 1000, NOW_SEC - 61)),
          OAUTH2_EEXPIRED },
        /* alg none (RFC 8725 §3.1) */
        { apr_pstrcat(pool, b64url("{\"alg\":\"none\"}", 14), ".",
                      b64url("{}", 2), ".AAAA", NULL),
          OAUTH2_EREFUSED },
        /* an unknown key */
        { sign_with("{\"alg\":\"EdDSA\",\"kid\":\"k2\"}",
                    id_claims("alice", "NONCE456", NULL)),
          OAUTH2_ENOTFOUND },
        /* not a JWS */
        { "not.a.jws", OAUTH2_EMALFORMED },
    };
    apr_size_t i;
    char *tampered;

    (void)state;
    script("userinfo", 200, "{\"sub\":\"alice\"}");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_login_result_t *res;
        const char *err;
        apr_status_t rv;

        script("token", 200,
               apr_psprintf(pool,
                            "{\"access_token\":\"AT\",\"id_token\":\"%s\"}",
                            cases[i].id_token));
        rv = redeem(fx, "c", &res, &err);
        if (rv != cases[i].rv) {
            fail_msg("case %zu: %d, expected %d (%s)", i, rv, cases[i].rv,
                     err ? err : "");
        }
        assert_null(res);
    }

    /* a signature that does not verify */
    tampered = apr_pstrdup(pool, sign(id_claims("alice", "NONCE456", NULL)));
    tampered[strlen(tampered) - 5] =
        tampered[strlen(tampered) - 5] == 'A' ? 'B' : 'A';
    script("token", 200,
           apr_psprintf(pool, "{\"access_token\":\"AT\",\"id_token\":\"%s\"}",
                        tampered));
    {
        oauth2_login_result_t *res;
        const char *err;

        assert_int_equal(redeem(fx, "c", &res, &err), OAUTH2_EBADSIG);
    }

    /* OIDC Core §5.3.2: userinfo about another subject, or none */
    script("token", 200,
           apr_psprintf(pool, "{\"access_token\":\"AT\",\"id_token\":\"%s\"}",
                        sign(id_claims("alice", "NONCE456", NULL))));
    {
        static const char *const uis[] = { "{\"sub\":\"mallory\"}",
                                           "{\"email\":\"x@y\"}",
                                           "{\"sub\":\"Alice\"}" };
        oauth2_login_result_t *res;
        const char *err;

        for (i = 0; i < 3; i++) {
            script("userinfo", 200, uis[i]);
            assert_int_equal(redeem(fx, "c", &res, &err), OAUTH2_EMISMATCH);
        }
    }
}

/* ---- refresh ---- */

static apr_status_t refresh(fx_t *fx, const char *rt, const char *sub,
                            oauth2_login_result_t **res, const char **err)
{
    *res = NULL;
    *err = NULL;
    return oauth2_login_refresh(pool, &fx->cl, &fx->ep, rt, sub, NOW, res, err);
}

/* RFC 6749 §6: the refresh request, and a response without an ID
 * token. */
static void test_login_refresh_plain(void **state)
{
    fx_t *fx = fixture(1, 1, CLIENT_SECRET);
    oauth2_login_result_t *res;
    const char *err;

    (void)state;
    script("token", 200,
           "{\"access_token\":\"AT-new\",\"refresh_token\":\"RT-new\","
           "\"expires_in\":120}");
    assert_int_equal(refresh(fx, "RT old+/", "alice", &res, &err), APR_SUCCESS);
    assert_string_equal(received_body("token"),
                        "grant_type=refresh_token&refresh_token=RT+old%2B%2F"
                        "&client_id=my+client"
                        "&client_secret=s3cr%3Aet%2B%2F%C3%A9");
    assert_string_equal(res->access_token, "AT-new");
    assert_string_equal(res->refresh_token, "RT-new");
    assert_int_equal(res->access_expires, NOW + apr_time_from_sec(120));
    assert_null(res->claims);

    script("token", 400, "{\"error\":\"invalid_grant\"}");
    assert_int_equal(refresh(fx, "RT", "alice", &res, &err), OAUTH2_EREPLAY);
}

/* OIDC Core §12.2: a refreshed ID token carries no new nonce and must be
 * about the same subject. */
static void test_login_refresh_id_token(void **state)
{
    fx_t *fx = fixture(1, 0, CLIENT_SECRET);
    oauth2_login_result_t *res;
    const char *err;

    (void)state;
    script("token", 200,
           apr_psprintf(pool, "{\"access_token\":\"AT\",\"id_token\":\"%s\"}",
                        sign(id_claims("alice", NULL, NULL))));
    if (refresh(fx, "RT", "alice", &res, &err) != APR_SUCCESS) {
        fail_msg("refresh: %s", err);
    }
    assert_string_equal(oauth2_claims_get_string(res->claims, "sub"), "alice");
    assert_int_equal(refresh(fx, "RT", "bob", &res, &err), OAUTH2_EMISMATCH);
    assert_int_equal(refresh(fx, "RT", NULL, &res, &err), OAUTH2_EMISMATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_authorize_url_parameters),
        cmocka_unit_test(test_login_authorize_url_variants),
        cmocka_unit_test(test_login_redeem_client_secret_basic),
        cmocka_unit_test(test_login_redeem_client_secret_post),
        cmocka_unit_test(test_login_redeem_public_client),
        cmocka_unit_test(test_login_token_response_refusals),
        cmocka_unit_test(test_login_token_invalid_grant),
        cmocka_unit_test(test_login_token_too_long),
        cmocka_unit_test(test_login_expires_in),
        cmocka_unit_test(test_login_config_refusals),
        cmocka_unit_test(test_login_userinfo_refusals),
        cmocka_unit_test(test_login_oidc_requires_id_token),
        cmocka_unit_test(test_login_oidc_success),
        cmocka_unit_test(test_login_oidc_refusals),
        cmocka_unit_test(test_login_refresh_plain),
        cmocka_unit_test(test_login_refresh_id_token),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
