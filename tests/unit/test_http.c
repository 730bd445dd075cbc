/*
 * test_http.c: unit tests for src/http.c against a loopback HTTP/1.1
 * server forked by the test (plain sockets on 127.0.0.1, an ephemeral
 * port, one process per connection) that answers scripted responses per
 * path: JSON, a redirect that must not be followed, bodies and headers
 * over their caps, slow and stalled answers, resets, an echo of the
 * request. Also the URL and form encoders (RFC 3986 §2.3, RFC 6749
 * Appendix B). alarm() keeps the whole program from hanging.
 */
#include "http.h"

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

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "crypto.h"
#include "errors.h"

static apr_pool_t *pool;
static pid_t server_pid;
static int server_port;

/* ---- the loopback server (runs in forked processes) ---- */

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

static void say(int fd, const char *s)
{
    write_all(fd, s, strlen(s));
}

/* Reads the request head (up to 64 KiB) and a body of Content-Length
 * bytes (up to 4 MiB); returns the head, sets the body. */
static char *read_request(int fd, char **body, size_t *blen)
{
    static char head[65536 + 1];
    size_t hlen = 0, clen = 0, have;
    char *end = NULL, *cl;

    while (end == NULL && hlen < sizeof(head) - 1) {
        ssize_t n = read(fd, head + hlen, sizeof(head) - 1 - hlen);

        if (n <= 0) {
            _exit(0);
        }
        hlen += (size_t)n;
        head[hlen] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    if (end == NULL) {
        _exit(0);
    }
    cl = strcasestr(head, "\r\nContent-Length:");
    if (cl != NULL && cl < end) {
        clen = strtoul(cl + 17, NULL, 10);
    }
    if (clen > 4 * 1024 * 1024) {
        _exit(0);
    }
    *body = malloc(clen + 1);
    have = hlen - (size_t)(end + 4 - head);
    memcpy(*body, end + 4, have);
    while (have < clen) {
        ssize_t n = read(fd, *body + have, clen - have);

        if (n <= 0) {
            _exit(0);
        }
        have += (size_t)n;
    }
    (*body)[clen] = '\0';
    *blen = clen;
    end[2] = '\0'; /* keep the last header's CRLF */
    return head;
}

/* A response with a body of n bytes of 'x', with or without a length. */
static void big_body(int fd, size_t n, int with_length)
{
    static char chunk[8192];
    char head[256];

    memset(chunk, 'x', sizeof(chunk));
    if (with_length) {
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 n);
    }
    else {
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    }
    say(fd, head);
    while (n > 0) {
        size_t k = n < sizeof(chunk) ? n : sizeof(chunk);

        write_all(fd, chunk, k);
        n -= k;
    }
}

static void reply(int fd, const char *status, const char *headers,
                  const char *body)
{
    char head[1024];

    snprintf(
        head, sizeof(head),
        "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
        status, headers, strlen(body));
    say(fd, head);
    say(fd, body);
}

/* The scripted answers, by path. */
static void handle(int fd)
{
    char *body = NULL, *head, *path, *sp;
    size_t blen = 0;

    head = read_request(fd, &body, &blen);
    path = strchr(apr_pstrdup(pool, head), ' ');
    if (path == NULL) {
        _exit(0);
    }
    path++;
    sp = strchr(path, ' ');
    if (sp == NULL) {
        _exit(0);
    }
    *sp = '\0';
    if (strcmp(path, "/json") == 0) {
        reply(fd, "200 OK", "Content-Type: application/json\r\n",
              "{\"ok\":true}");
    }
    else if (strcmp(path, "/redirect") == 0) {
        reply(fd, "302 Found", "Location: /json\r\n", "moved");
    }
    else if (strcmp(path, "/redirect-file") == 0) {
        reply(fd, "302 Found", "Location: file:///etc/passwd\r\n", "moved");
    }
    else if (strncmp(path, "/status/", 8) == 0) {
        reply(fd, apr_psprintf(pool, "%s Whatever", path + 8), "",
              "{\"error\":\"x\"}");
    }
    else if (strncmp(path, "/big/", 5) == 0) {
        big_body(fd, strtoul(path + 5, NULL, 10), 1);
    }
    else if (strncmp(path, "/bignolength/", 13) == 0) {
        big_body(fd, strtoul(path + 13, NULL, 10), 0);
    }
    else if (strcmp(path, "/empty") == 0) {
        reply(fd, "204 No Content", "", "");
    }
    else if (strcmp(path, "/slow") == 0) {
        sleep(5);
        reply(fd, "200 OK", "", "late");
    }
    else if (strcmp(path, "/stall") == 0) {
        say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
        sleep(5);
    }
    else if (strcmp(path, "/drip") == 0) {
        /* one byte a second, under the size cap, past the timeout */
        int i;

        say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
        for (i = 0; i < 10; i++) {
            say(fd, "x");
            sleep(1);
        }
    }
    else if (strcmp(path, "/reset") == 0) {
        struct linger lg = { 1, 0 };

        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
        _exit(0);
    }
    else if (strcmp(path, "/close") == 0) {
        close(fd);
        _exit(0);
    }
    else if (strcmp(path, "/partial") == 0) {
        say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
        close(fd);
        _exit(0);
    }
    else if (strcmp(path, "/garbage") == 0) {
        say(fd, "this is not HTTP at all\r\n\r\n");
    }
    else if (strcmp(path, "/hugeheaders") == 0) {
        int i;

        say(fd, "HTTP/1.1 200 OK\r\n");
        for (i = 0; i < 40; i++) {
            char line[1100];

            snprintf(line, sizeof(line), "X-Pad-%d: %01000d\r\n", i, 0);
            say(fd, line);
        }
        say(fd, "Content-Length: 2\r\n\r\nok");
    }
    else if (strcmp(path, "/headers") == 0) {
        reply(fd, "200 OK",
              "X-One: 1\r\nx-two:   spaced value\r\nX-Multi: a\r\n"
              "X-Multi: b\r\n",
              "h");
    }
    else if (strcmp(path, "/continue") == 0) {
        say(fd, "HTTP/1.1 100 Continue\r\nX-Early: yes\r\n\r\n");
        reply(fd, "200 OK", "X-Final: yes\r\n", "final");
    }
    else if (strcmp(path, "/chunked") == 0) {
        say(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    }
    else if (strcmp(path, "/echo") == 0) {
        /* the request head, then the body's length and first bytes */
        char *out = apr_psprintf(pool, "%s--body %" APR_SIZE_T_FMT ": %.200s",
                                 head, blen, body);

        reply(fd, "200 OK", "Content-Type: text/plain\r\n", out);
    }
    else {
        reply(fd, "404 Not Found", "", "no such path");
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
        pid_t h;

        if (c < 0) {
            if (errno == EINTR) {
                continue;
            }
            _exit(1);
        }
        h = fork();
        if (h == 0) {
            close(lfd);
            handle(c);
            _exit(0);
        }
        close(c);
    }
}

/* A listening socket on 127.0.0.1 and an ephemeral port. */
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
    int lfd;

    (void)state;
    alarm(120); /* the whole program, whatever hangs */
    /* no proxy from the environment may catch loopback calls */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    setenv("NO_PROXY", "*", 1);
    apr_initialize();
    apr_pool_create(&pool, NULL);
    assert_int_equal(oauth2_crypto_init(), APR_SUCCESS);
    assert_int_equal(oauth2_http_init(), APR_SUCCESS);
    lfd = listen_loopback(&server_port);
    server_pid = fork();
    assert_true(server_pid >= 0);
    if (server_pid == 0) {
        setpgid(0, 0); /* one group: the teardown kills every handler */
        serve(lfd);
        _exit(0);
    }
    setpgid(server_pid, server_pid);
    close(lfd);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    kill(-server_pid, SIGKILL);
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* ---- the client side ---- */

static oauth2_http_opts_t opts(long timeout_ms, apr_size_t max_body)
{
    oauth2_http_opts_t o;

    memset(&o, 0, sizeof(o));
    o.timeout_ms = timeout_ms;
    o.connect_timeout_ms = 1000;
    o.max_body = max_body;
    return o;
}

static const char *url(const char *path)
{
    return apr_psprintf(pool, "http://127.0.0.1:%d%s", server_port, path);
}

static apr_status_t get(const char *path, const oauth2_http_opts_t *o,
                        oauth2_http_response_t **resp, const char **err)
{
    *resp = NULL;
    *err = NULL;
    return oauth2_http_call(pool, o, url(path), NULL, NULL, NULL, resp, err);
}

static void test_http_get_json(void **state)
{
    oauth2_http_opts_t o = opts(3000, 0);
    oauth2_http_response_t *r;
    const char *err;

    (void)state;
    assert_int_equal(get("/json", &o, &r, &err), APR_SUCCESS);
    assert_non_null(r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "{\"ok\":true}");
    assert_int_equal(r->body_len, 11);
    assert_string_equal(apr_table_get(r->headers, "content-type"),
                        "application/json");
}

/* Any status is a response: the caller reads it. */
static void test_http_error_statuses(void **state)
{
    static const long statuses[] = { 400, 401, 404, 500, 503 };
    oauth2_http_opts_t o = opts(3000, 0);
    oauth2_http_response_t *r;
    const char *err;
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        assert_int_equal(
            get(apr_psprintf(pool, "/status/%ld", statuses[i]), &o, &r, &err),
            APR_SUCCESS);
        assert_int_equal(r->status, statuses[i]);
        assert_string_equal(r->body, "{\"error\":\"x\"}");
    }
    assert_int_equal(get("/empty", &o, &r, &err), APR_SUCCESS);
    assert_int_equal(r->status, 204);
    assert_string_equal(r->body, "");
    assert_int_equal(r->body_len, 0);
}

/* Redirects are answers, never followed (to another host, or file:). */
static void test_http_redirect_not_followed(void **state)
{
    oauth2_http_opts_t o = opts(3000, 0);
    oauth2_http_response_t *r;
    const char *err;

    (void)state;
    assert_int_equal(get("/redirect", &o, &r, &err), APR_SUCCESS);
    assert_int_equal(r->status, 302);
    assert_string_equal(r->body, "moved");
    assert_string_equal(apr_table_get(r->headers, "Location"), "/json");
    assert_int_equal(get("/redirect-file", &o, &r, &err), APR_SUCCESS);
    assert_int_equal(r->status, 302);
    assert_string_equal(r->body, "moved");
}

/* The body cap: exactly max passes; one byte more is OAUTH2_ETOOBIG,
 * with or without a Content-Length; the default cap is
 * OAUTH2_MAX_RESPONSE. */
static void test_http_body_cap(void **state)
{
    oauth2_http_opts_t small = opts(5000, 1000), dflt = opts(10000, 0);
    oauth2_http_response_t *r;
    const char *err;

    (void)state;
    assert_int_equal(get("/big/1000", &small, &r, &err), APR_SUCCESS);
    assert_int_equal(r->body_len, 1000);
    assert_int_equal(strlen(r->body), 1000);
    assert_int_equal(get("/big/1001", &small, &r, &err), OAUTH2_ETOOBIG);
    assert_null(r);
    assert_non_null(err);
    assert_int_equal(get("/bignolength/1001", &small, &r, &err),
                     OAUTH2_ETOOBIG);
    assert_int_equal(get("/big/10000000", &small, &r, &err), OAUTH2_ETOOBIG);
    assert_int_equal(get(apr_psprintf(pool, "/big/%d", OAUTH2_MAX_RESPONSE),
                         &dflt, &r, &err),
                     APR_SUCCESS);
    assert_int_equal(r->body_len, OAUTH2_MAX_RESPONSE);
    assert_int_equal(
        get(apr_psprintf(pool, "/bignolength/%d", OAUTH2_MAX_RESPONSE + 1),
            &dflt, &r, &err),
        OAUTH2_ETOOBIG);
}

/* Response headers over OAUTH2_MAX_RESPONSE_HEADERS: OAUTH2_ETOOBIG. */
static void test_http_huge_headers(void **state)
{
    oauth2_http_opts_t o = opts(5000, 0);
    oauth2_http_response_t *r;
    const char *err;

    (void)state;
    assert_int_equal(get("/hugeheaders", &o, &r, &err), OAUTH2_ETOOBIG);
    assert_null(r);
    assert_non_null(err);
}

/* Header parsing: names looked up in any case, leading blanks removed,
 * repeated headers kept; after a 100 Continue only the final response's
 * headers. Chunked bodies are joined. */
static void test_http_headers_and_framing(void **state)
{
    oauth2_http_opts_t o = opts(3000, 0);
    oauth2_http_response_t *r;
    const char *err;

    (void)state;
    assert_int_equal(get("/headers", &o, &r, &err), APR_SUCCESS);
    assert_string_equal(apr_table_get(r->headers, "x-one"), "1");
    assert_string_equal(apr_table_get(r->headers, "X-Two"), "spaced value");
    assert_non_null(apr_table_get(r->headers, "X-Multi"));
    assert_int_equal(get("/continue", &o, &r, &err), APR_SUCCESS);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "final");
    assert_string_equal(apr_table_get(r->headers, "X-Final"), "yes");
    assert_null(apr_table_get(r->headers, "X-Early"));
    assert_int_equal(get("/chunked", &o, &r, &err), APR_SUCCESS);
    assert_string_equal(r->body, "hello world");
}

/* A server that answers too late, stalls mid-body or drips bytes:
 * OAUTH2_EUNREACHABLE within about the timeout. */
static void test_http_timeouts(void **state)
{
    static const char *const paths[] = { "/slow", "/stall", "/drip" };
    oauth2_http_opts_t o = opts(700, 0);
    oauth2_http_response_t *r;
    const char *err;
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        apr_time_t t0 = apr_time_now(), dt;

        assert_int_equal(get(paths[i], &o, &r, &err), OAUTH2_EUNREACHABLE);
        dt = apr_time_now() - t0;
        assert_null(r);
        assert_non_null(err);
        assert_true(dt >= apr_time_from_msec(600));
        assert_true(dt < apr_time_from_msec(2500));
    }
}

/* A connection reset, closed without an answer, cut short, or answered
 * with something that is not HTTP: OAUTH2_EUNREACHABLE (nothing usable
 * arrived). */
static void test_http_broken_connections(void **state)
{
    static const char *const paths[] = { "/reset", "/close", "/partial" };
    oauth2_http_opts_t o = opts(3000, 0);
    oauth2_http_response_t *r;
    const char *err;
    apr_size_t i;
    apr_status_t rv;

    (void)state;
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(get(paths[i], &o, &r, &err), OAUTH2_EUNREACHABLE);
        assert_null(r);
        assert_non_null(err);
    }
    /* HTTP/0.9-like garbage is not an answer either */
    rv = get("/garbage", &o, &r, &err);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_null(r);
}

/* Nothing listening: OAUTH2_EUNREACHABLE at once. */
static void test_http_closed_port(void **state)
{
    oauth2_http_opts_t o = opts(3000, 0);
    oauth2_http_response_t *r = NULL;
    const char *err = NULL;
    apr_time_t t0 = apr_time_now();
    int port, fd = listen_loopback(&port);

    (void)state;
    close(fd);
    assert_int_equal(
        oauth2_http_call(pool, &o,
                         apr_psprintf(pool, "http://127.0.0.1:%d/", port), NULL,
                         "secret=hunter2", "text/plain", &r, &err),
        OAUTH2_EUNREACHABLE);
    assert_null(r);
    assert_non_null(err);
    assert_null(strstr(err, "hunter2")); /* never the request body */
    assert_true(apr_time_now() - t0 < apr_time_from_sec(2));
}

/* Only http and https: other schemes are refused without being used (no
 * file is read, no other protocol spoken). */
static void test_http_other_schemes(void **state)
{
    static const char *const urls[] = {
        "file:///etc/passwd",   "FILE:///etc/hostname",
        "ftp://127.0.0.1:1/x",  "gopher://127.0.0.1:1/x",
        "dict://127.0.0.1:1/x", "ldap://127.0.0.1:1/x",
        "scp://127.0.0.1:1/x",  "telnet://127.0.0.1:1",
        "smtp://127.0.0.1:1",   "tftp://127.0.0.1:1/x",
    };
    oauth2_http_opts_t o = opts(3000, 0);
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        oauth2_http_response_t *r = NULL;
        const char *err = NULL;
        apr_status_t rv =
            oauth2_http_call(pool, &o, urls[i], NULL, NULL, NULL, &r, &err);

        if (rv != OAUTH2_EMALFORMED) {
            fail_msg("%s: %d (%s)", urls[i], rv, err ? err : "");
        }
        assert_null(r);
        assert_non_null(err);
        assert_null(strstr(err, "root:"));
    }
}

static void test_http_bad_arguments(void **state)
{
    oauth2_http_opts_t o = opts(3000, 0);
    oauth2_http_response_t *r = NULL;
    const char *err = NULL;

    (void)state;
    assert_int_equal(
        oauth2_http_call(pool, &o, NULL, NULL, NULL, NULL, &r, &err),
        OAUTH2_EMALFORMED);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(
        oauth2_http_call(pool, NULL, url("/json"), NULL, NULL, NULL, &r, &err),
        OAUTH2_EMALFORMED);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(
        oauth2_http_call(pool, &o, "http://", NULL, NULL, NULL, &r, &err),
        OAUTH2_EMALFORMED);
    assert_null(r);
}

/* What goes out: a GET without a body or Content-Type; a POST with the
 * body and its Content-Type, the caller's headers, the User-Agent, no
 * Accept-Encoding (nothing to decompress) and no "Expect: 100-continue",
 * even for a large body. */
static void test_http_request_sent(void **state)
{
    oauth2_http_opts_t o = opts(5000, 0);
    apr_array_header_t *h = apr_array_make(pool, 2, sizeof(const char *));
    oauth2_http_response_t *r;
    const char *err = NULL;
    char *big;

    (void)state;
    APR_ARRAY_PUSH(h, const char *) = "Accept: application/json";
    APR_ARRAY_PUSH(h, const char *) = "Authorization: Basic Zm9vOmJhcg==";

    assert_int_equal(oauth2_http_call(pool, &o, url("/echo"), h, NULL,
                                      "ignored/type", &r, &err),
                     APR_SUCCESS);
    assert_true(strncmp(r->body, "GET /echo HTTP/1.1\r\n", 20) == 0);
    assert_non_null(strstr(r->body, "\r\nAccept: application/json\r\n"));
    assert_non_null(
        strstr(r->body, "\r\nAuthorization: Basic Zm9vOmJhcg==\r\n"));
    assert_non_null(strstr(r->body, "\r\nUser-Agent: mod_auth_oauth2\r\n"));
    assert_null(strcasestr(r->body, "Content-Type:"));
    assert_null(strcasestr(r->body, "Accept-Encoding"));
    assert_non_null(strstr(r->body, "--body 0: "));

    o.user_agent = "test-agent/1";
    assert_int_equal(
        oauth2_http_call(pool, &o, url("/echo"), h,
                         "grant_type=authorization_code&code=a%2Bb",
                         "application/x-www-form-urlencoded", &r, &err),
        APR_SUCCESS);
    assert_true(strncmp(r->body, "POST /echo HTTP/1.1\r\n", 21) == 0);
    assert_non_null(strstr(
        r->body, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(r->body, "\r\nUser-Agent: test-agent/1\r\n"));
    assert_non_null(strstr(r->body, "\r\nContent-Length: 40\r\n"));
    assert_non_null(
        strstr(r->body, "--body 40: grant_type=authorization_code&code=a%2Bb"));
    assert_null(strcasestr(r->body, "Expect:"));

    /* curl asks for 100-continue on large bodies unless told not to */
    big = apr_palloc(pool, 2 * 1024 * 1024 + 1);
    memset(big, 'b', 2 * 1024 * 1024);
    big[2 * 1024 * 1024] = '\0';
    assert_int_equal(oauth2_http_call(pool, &o, url("/echo"), NULL, big,
                                      "text/plain", &r, &err),
                     APR_SUCCESS);
    assert_non_null(strstr(r->body, "--body 2097152: bbbb"));
    assert_null(strcasestr(r->body, "Expect:"));
    assert_null(strcasestr(r->body, "100-continue"));
}

/* RFC 3986 §2.3: only ALPHA DIGIT - . _ ~ stay; everything else is %XX
 * with upper-case hex; form encoding (RFC 6749 Appendix B) differs only
 * by '+' for a space. */
static void test_http_encoders(void **state)
{
    static const struct {
        const char *in;
        const char *url;
        const char *form;
    } cases[] = {
        { "", "", "" },
        { "AZaz09-._~", "AZaz09-._~", "AZaz09-._~" },
        { " ", "%20", "+" },
        { "a b+c", "a%20b%2Bc", "a+b%2Bc" },
        { "+", "%2B", "%2B" },
        { "%", "%25", "%25" },
        { "/?#[]@", "%2F%3F%23%5B%5D%40", "%2F%3F%23%5B%5D%40" },
        { "!$&'()*,;=:", "%21%24%26%27%28%29%2A%2C%3B%3D%3A",
          "%21%24%26%27%28%29%2A%2C%3B%3D%3A" },
        { "\r\n\t", "%0D%0A%09", "%0D%0A%09" },
        { "\x7f\x80\xff", "%7F%80%FF", "%7F%80%FF" },
        { "caf\xc3\xa9", "caf%C3%A9", "caf%C3%A9" },
        { "https://app.example.com/oauth2/callback",
          "https%3A%2F%2Fapp.example.com%2Foauth2%2Fcallback",
          "https%3A%2F%2Fapp.example.com%2Foauth2%2Fcallback" },
        { "openid email profile", "openid%20email%20profile",
          "openid+email+profile" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_string_equal(oauth2_http_url_encode(pool, cases[i].in),
                            cases[i].url);
        assert_string_equal(oauth2_http_form_encode(pool, cases[i].in),
                            cases[i].form);
    }
    assert_string_equal(oauth2_http_url_encode(pool, NULL), "");
    assert_string_equal(oauth2_http_form_encode(pool, NULL), "");
}

/* Every byte value: unreserved ones kept, others as %XX that decode back
 * to the byte. */
static void test_http_encoders_every_byte(void **state)
{
    int c;

    (void)state;
    for (c = 1; c < 256; c++) {
        char in[2] = { (char)c, '\0' };
        const char *u = oauth2_http_url_encode(pool, in);
        int unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                         || (c >= '0' && c <= '9') || c == '-' || c == '.'
                         || c == '_' || c == '~';

        if (unreserved) {
            assert_string_equal(u, in);
        }
        else {
            assert_int_equal(strlen(u), 3);
            assert_int_equal(u[0], '%');
            assert_int_equal(strtol(u + 1, NULL, 16), c);
            assert_true(strspn(u + 1, "0123456789ABCDEF") == 2);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_get_json),
        cmocka_unit_test(test_http_error_statuses),
        cmocka_unit_test(test_http_redirect_not_followed),
        cmocka_unit_test(test_http_body_cap),
        cmocka_unit_test(test_http_huge_headers),
        cmocka_unit_test(test_http_headers_and_framing),
        cmocka_unit_test(test_http_timeouts),
        cmocka_unit_test(test_http_broken_connections),
        cmocka_unit_test(test_http_closed_port),
        cmocka_unit_test(test_http_other_schemes),
        cmocka_unit_test(test_http_bad_arguments),
        cmocka_unit_test(test_http_request_sent),
        cmocka_unit_test(test_http_encoders),
        cmocka_unit_test(test_http_encoders_every_byte),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
