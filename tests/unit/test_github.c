/*
 * test_github.c: unit tests for src/github.c against a loopback HTTP
 * server forked by each test: the claims built from /user, /user/emails,
 * /user/orgs and /user/teams, Link pagination (GitHub docs "Using
 * pagination in the REST API", RFC 8288), the page and group limits, API
 * errors (401, 403 and 429 rate limits, GitHub docs "Rate limits for the
 * REST API"), next links that leave the API (never followed), and
 * malformed answers; a repository's "permissions" for the user (GitHub
 * docs "Get a repository") as a rank.
 *
 * The server answers each request from a route table fixed before the
 * fork: the request target (path and query) is matched exactly, or as a
 * prefix when the route ends with '*'. In headers and bodies "{base}"
 * becomes http://127.0.0.1:PORT, "{port}" PORT and "{target}" the request
 * target. Every
 * request head is appended to a log file that the test reads afterwards.
 */
#include "github.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "bounds.h"
#include "errors.h"

#define TOKEN "gho_16C7e42F292c6912E7710c838347Ae178B4a"

typedef struct {
    const char *target; /* exact, or a prefix when it ends with '*' */
    int status;
    const char *headers; /* extra header lines, each ending in CRLF */
    const char *body;
} route_t;

#define MAX_ROUTES 16

/* A forked server. */
typedef struct {
    pid_t pid;
    int port;
    char base[64];
    char log[64];
    route_t routes[MAX_ROUTES];
    int nroutes;
} srv_t;

typedef struct {
    apr_pool_t *p;
    srv_t a; /* the API */
    srv_t b; /* somewhere else */
    oauth2_http_opts_t http;
} fix_t;

/* ------------------------------------------------------------ server */

/* Replaces {base} and {target} in s (child side; malloc is fine there). */
static char *expand(const char *s, const char *base, const char *target)
{
    size_t cap = strlen(s) * 2 + 4096, o = 0;
    char *out = malloc(cap);

    while (*s) {
        const char *rep = NULL;
        size_t skip = 0, n;

        if (strncmp(s, "{base}", 6) == 0) {
            rep = base;
            skip = 6;
        }
        else if (strncmp(s, "{target}", 8) == 0) {
            rep = target;
            skip = 8;
        }
        else if (strncmp(s, "{port}", 6) == 0) {
            rep = strrchr(base, ':') + 1;
            skip = 6;
        }
        n = rep ? strlen(rep) : 1;
        if (o + n + 1 > cap) {
            cap = (o + n + 1) * 2;
            out = realloc(out, cap);
        }
        memcpy(out + o, rep ? rep : s, n);
        o += n;
        s += rep ? skip : 1;
    }
    out[o] = '\0';
    return out;
}

static const route_t *route_find(const srv_t *s, const char *target)
{
    int i;

    for (i = 0; i < s->nroutes; i++) {
        const char *t = s->routes[i].target;
        size_t n = strlen(t);

        if ((n > 0 && t[n - 1] == '*' && strncmp(target, t, n - 1) == 0)
            || strcmp(target, t) == 0) {
            return &s->routes[i];
        }
    }
    return NULL;
}

/* Reads one request head, logs it, answers from the routes. */
static void serve_one(const srv_t *s, int c)
{
    static char req[32768];
    size_t n = 0;
    ssize_t r;
    char target[8192] = "";
    const route_t *rt;
    char *hdr, *body, *head;
    FILE *log;

    while (n < sizeof(req) - 1) {
        r = read(c, req + n, sizeof(req) - 1 - n);
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL) {
            break;
        }
    }
    req[n] = '\0';
    sscanf(req, "GET %8191s", target);
    log = fopen(s->log, "a");
    if (log != NULL) {
        fprintf(log, "%s----\n", req);
        fclose(log);
    }
    rt = route_find(s, target);
    hdr = expand(rt ? rt->headers ? rt->headers : "" : "", s->base, target);
    body = expand(rt ? rt->body ? rt->body : "" : "{\"message\":\"Not Found\"}",
                  s->base, target);
    head = malloc(strlen(hdr) + 256);
    snprintf(head, strlen(hdr) + 256,
             "HTTP/1.1 %d X\r\nContent-Type: application/json; "
             "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n"
             "%s\r\n",
             rt ? rt->status : 404, strlen(body), hdr);
    if (write(c, head, strlen(head)) < 0 || write(c, body, strlen(body)) < 0) {
        /* the client went away: nothing to do */
    }
    free(head);
    free(hdr);
    free(body);
}

/* Binds 127.0.0.1:0 and forks a child that serves until killed. */
static void srv_start(srv_t *s)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, lfd;

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
    snprintf(s->log, sizeof(s->log), "/tmp/test_github_XXXXXX");
    lfd = mkstemp(s->log);
    assert_true(lfd >= 0);
    close(lfd);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        for (;;) {
            int c = accept(fd, NULL, NULL);

            if (c >= 0) {
                serve_one(s, c);
                close(c);
            }
        }
    }
    close(fd);
}

static void srv_stop(srv_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
        unlink(s->log);
    }
}

/* Everything the server received so far. */
static char *srv_log(apr_pool_t *p, const srv_t *s)
{
    FILE *f = fopen(s->log, "r");
    char *buf = apr_pcalloc(p, 1 << 20);

    if (f != NULL) {
        size_t n = fread(buf, 1, (1 << 20) - 1, f);

        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

/* How many requests the server received. */
static int srv_count(apr_pool_t *p, const srv_t *s)
{
    const char *l = srv_log(p, s);
    int n = 0;

    while ((l = strstr(l, "----\n")) != NULL) {
        n++;
        l += 5;
    }
    return n;
}

static void route(srv_t *s, const char *target, int status, const char *headers,
                  const char *body)
{
    assert_true(s->nroutes < MAX_ROUTES);
    s->routes[s->nroutes].target = target;
    s->routes[s->nroutes].status = status;
    s->routes[s->nroutes].headers = headers;
    s->routes[s->nroutes].body = body;
    s->nroutes++;
}

/* ---------------------------------------------------------- fixtures */

#define USER_JSON                                                        \
    "{\"login\":\"octocat\",\"id\":583231,\"node_id\":\"MDQ6VXNlcjE=\"," \
    "\"type\":\"User\",\"site_admin\":false,\"name\":\"The Octocat\","   \
    "\"company\":\"@github\",\"email\":\"octocat@public.example\"}"
#define EMAILS_JSON                                                        \
    "[{\"email\":\"old@example.org\",\"primary\":false,\"verified\":true," \
    "\"visibility\":null},{\"email\":\"octocat@example.com\","             \
    "\"primary\":true,\"verified\":true,\"visibility\":\"private\"}]"
#define ORG(login) "{\"login\":\"" login "\",\"id\":1,\"url\":\"x\"}"
#define TEAM(org, slug)                                                \
    "{\"id\":7,\"name\":\"Team " slug "\",\"slug\":\"" slug "\","      \
    "\"permission\":\"pull\",\"organization\":{\"login\":\"" org "\"," \
    "\"id\":1}}"

static int setup(void **state)
{
    fix_t *f = calloc(1, sizeof(*f));

    if (f == NULL || apr_pool_create(&f->p, NULL) != APR_SUCCESS) {
        return -1;
    }
    f->http.timeout_ms = 5000;
    f->http.connect_timeout_ms = 2000;
    f->http.user_agent = "test-agent/1.0";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_t *f = *state;

    srv_stop(&f->a);
    srv_stop(&f->b);
    apr_pool_destroy(f->p);
    free(f);
    return 0;
}

/* The usual user: /user, /user/emails, and empty orgs and teams unless
 * the test adds routes before (first match wins). */
static void routes_user(srv_t *s)
{
    route(s, "/user", 200, NULL, USER_JSON);
    route(s, "/user/emails?per_page=100", 200, NULL, EMAILS_JSON);
    route(s, "/user/orgs?per_page=100", 200, NULL, "[]");
    route(s, "/user/teams?per_page=100", 200, NULL, "[]");
}

static apr_status_t run(fix_t *f, const char *base, oauth2_claims_t **c,
                        const char **err)
{
    *err = NULL;
    *c = NULL;
    return oauth2_github_claims(f->p, &f->http, base, TOKEN, c, err);
}

/* The groups claim joined with ',' (a checkable string). */
static const char *groups(apr_pool_t *p, const oauth2_claims_t *c)
{
    apr_array_header_t *v = oauth2_claims_get_values(p, c, "groups");

    assert_true(
        json_object_is_type(oauth2_claims_get(c, "groups"), json_type_array));
    return apr_array_pstrcat(p, v, ',');
}

/* How often needle occurs in hay. */
static int count_in(const char *hay, const char *needle)
{
    int n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* ------------------------------------------------------------- tests */

static void test_github_claims_with_pagination(void **state)
{
    fix_t *f = *state;
    oauth2_claims_t *c;
    const char *err, *log;
    json_object *ev;

    route(&f->a, "/user/orgs?per_page=100", 200,
          "Link: <{base}/user/orgs?per_page=100&page=2>; rel=\"next\", "
          "<{base}/user/orgs?per_page=100&page=3>; rel=\"last\"\r\n",
          "[" ORG("acme") "," ORG("widgets") "]");
    route(&f->a, "/user/orgs?per_page=100&page=2", 200,
          "Link: <{base}/user/orgs?per_page=100&page=1>; rel=\"prev\", "
          "<{base}/user/orgs?per_page=100&page=3>; rel=\"next\"\r\n",
          "[" ORG("Big-Co") "]");
    route(&f->a, "/user/orgs?per_page=100&page=3", 200,
          "Link: <{base}/user/orgs?per_page=100&page=2>; rel=\"prev\", "
          "<{base}/user/orgs?per_page=100&page=1>; rel=\"first\"\r\n",
          "[" ORG("zeta") "]");
    route(&f->a, "/user/teams?per_page=100", 200, NULL,
          "[" TEAM("acme", "devs") "," TEAM("Big-Co", "site-reliability") "]");
    routes_user(&f->a);
    srv_start(&f->a);

    assert_int_equal(run(f, f->a.base, &c, &err), APR_SUCCESS);
    assert_string_equal(oauth2_claims_get_string(c, "sub"), "583231");
    assert_string_equal(oauth2_claims_get_string(c, "preferred_username"),
                        "octocat");
    assert_string_equal(oauth2_claims_get_string(c, "name"), "The Octocat");
    assert_string_equal(oauth2_claims_get_string(c, "email"),
                        "octocat@example.com");
    ev = oauth2_claims_get(c, "email_verified");
    assert_true(json_object_is_type(ev, json_type_boolean)
                && json_object_get_boolean(ev));
    assert_string_equal(groups(f->p, c), "acme,widgets,Big-Co,zeta,"
                                         "acme:devs,Big-Co:site-reliability");

    /* Six requests, none twice, each with the token, GitHub's media type
     * and version, and a User-Agent (GitHub refuses requests without). */
    log = srv_log(f->p, &f->a);
    assert_int_equal(srv_count(f->p, &f->a), 6);
    assert_int_equal(count_in(log, "GET /user HTTP/1.1\r\n"), 1);
    assert_int_equal(count_in(log, "GET /user/orgs?per_page=100 "), 1);
    assert_int_equal(count_in(log, "GET /user/orgs?per_page=100&page=2 "), 1);
    assert_int_equal(count_in(log, "GET /user/orgs?per_page=100&page=3 "), 1);
    assert_int_equal(count_in(log, "Authorization: Bearer " TOKEN "\r\n"), 6);
    assert_int_equal(count_in(log, "Accept: application/vnd.github+json\r\n"),
                     6);
    assert_int_equal(count_in(log, "X-GitHub-Api-Version: 2022-11-28\r\n"), 6);
    assert_int_equal(count_in(log, "User-Agent: test-agent/1.0\r\n"), 6);
}

/* Only an address that is both primary and verified becomes "email". */
static void test_github_email_primary_and_verified_only(void **state)
{
    static const struct {
        const char *emails;
        const char *want; /* NULL: no email claim */
    } cases[] = {
        { "[{\"email\":\"p@example.com\",\"primary\":true,"
          "\"verified\":false},{\"email\":\"s@example.com\","
          "\"primary\":false,\"verified\":true}]",
          NULL },
        { "[{\"email\":\"s@example.com\",\"primary\":false,"
          "\"verified\":true},{\"email\":\"p@example.com\","
          "\"primary\":true,\"verified\":true}]",
          "p@example.com" },
        /* not the JSON literal true */
        { "[{\"email\":\"p@example.com\",\"primary\":\"true\","
          "\"verified\":1}]",
          NULL },
        { "[]", NULL },
    };
    fix_t *f = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_claims_t *c;
        const char *err;

        f->a.nroutes = 0;
        route(&f->a, "/user/emails?per_page=100", 200, NULL, cases[i].emails);
        routes_user(&f->a);
        srv_start(&f->a);
        assert_int_equal(run(f, f->a.base, &c, &err), APR_SUCCESS);
        if (cases[i].want == NULL) {
            assert_null(oauth2_claims_get(c, "email"));
            assert_null(oauth2_claims_get(c, "email_verified"));
            /* the public profile email of /user is not used either */
            assert_null(
                strstr(json_object_to_json_string(oauth2_claims_json(c)),
                       "public.example"));
        }
        else {
            assert_string_equal(oauth2_claims_get_string(c, "email"),
                                cases[i].want);
        }
        srv_stop(&f->a);
    }
}

/* Emails paginate like every list: the primary one may be on page 2. */
static void test_github_email_on_second_page(void **state)
{
    fix_t *f = *state;
    oauth2_claims_t *c;
    const char *err;

    route(&f->a, "/user/emails?per_page=100", 200,
          "Link: <{base}/user/emails?per_page=100&page=2>; rel=\"next\"\r\n",
          "[{\"email\":\"a@example.org\",\"primary\":false,"
          "\"verified\":true}]");
    route(&f->a, "/user/emails?per_page=100&page=2", 200, NULL,
          "[{\"email\":\"b@example.com\",\"primary\":true,"
          "\"verified\":true}]");
    routes_user(&f->a);
    srv_start(&f->a);
    assert_int_equal(run(f, f->a.base, &c, &err), APR_SUCCESS);
    assert_string_equal(oauth2_claims_get_string(c, "email"), "b@example.com");
}

static void test_github_no_orgs_no_teams(void **state)
{
    fix_t *f = *state;
    oauth2_claims_t *c;
    const char *err;

    route(&f->a, "/user", 200, NULL,
          "{\"login\":\"solo\",\"id\":9,"
          "\"name\":null}");
    routes_user(&f->a);
    srv_start(&f->a);
    assert_int_equal(run(f, f->a.base, &c, &err), APR_SUCCESS);
    assert_string_equal(groups(f->p, c), "");
    assert_int_equal(json_object_array_length(oauth2_claims_get(c, "groups")),
                     0);
    assert_string_equal(oauth2_claims_get_string(c, "preferred_username"),
                        "solo");
    assert_null(oauth2_claims_get(c, "name"));
}

/* GitHub Enterprise Server: the API lives under /api/v3 of the host. */
static void test_github_enterprise_base_path(void **state)
{
    fix_t *f = *state;
    oauth2_claims_t *c;
    const char *err;

    route(&f->a, "/api/v3/user", 200, NULL, USER_JSON);
    route(&f->a, "/api/v3/user/emails?per_page=100", 200, NULL, EMAILS_JSON);
    route(&f->a, "/api/v3/user/orgs?per_page=100", 200,
          "link: <{base}/api/v3/user/orgs?page=2>; REL=\"Next\"\r\n",
          "[" ORG("corp") "]");
    route(&f->a, "/api/v3/user/orgs?page=2", 200, NULL, "[" ORG("lab") "]");
    route(&f->a, "/api/v3/user/teams?per_page=100", 200, NULL, "[]");
    srv_start(&f->a);
    assert_int_equal(
        run(f, apr_pstrcat(f->p, f->a.base, "/api/v3/", NULL), &c, &err),
        APR_SUCCESS);
    assert_string_equal(groups(f->p, c), "corp,lab");
}

/* Link headers as RFC 8288 allows them: unquoted rel, several relation
 * types, other parameters (quoted commas included), several headers. */
static void test_github_link_header_forms(void **state)
{
    static const char *const links[] = {
        "Link: <{base}/p2>; rel=next\r\n",
        "Link: <{base}/p2>; rel=\"next last\"\r\n",
        "Link: <{base}/p1>; rel=\"prev\"; title=\"a, b; <c>\", "
        "<{base}/p2> ; rel = \"next\"\r\n",
        "Link: <{base}/p1>; rel=\"prev\"\r\nLink: <{base}/p2>; rel=\"next\"\r\n",
        "Link: <{base}/p2>;type=\"text/html\";rel=\"next\"\r\n",
        "Link: <{base}/p2>; rel=\"next\"\r\nLink: <{base}/p1>; rel=\"prev\"\r\n",
    };
    fix_t *f = *state;
    size_t i;

    for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        oauth2_claims_t *c;
        const char *err;

        f->a.nroutes = 0;
        route(&f->a, "/user/orgs?per_page=100", 200, links[i],
              "[" ORG("one") "]");
        route(&f->a, "/p2", 200, NULL, "[" ORG("two") "]");
        routes_user(&f->a);
        srv_start(&f->a);
        assert_int_equal(run(f, f->a.base, &c, &err), APR_SUCCESS);
        assert_string_equal(groups(f->p, c), "one,two");
        srv_stop(&f->a);
    }
}

/* A Link header without a next link ends the list, whatever else it
 * says. */
static void test_github_link_without_next(void **state)
{
    static const char *const links[] = {
        "Link: <{base}/p2>; rel=\"prev\"\r\n",
        "Link: <{base}/p2>; rel=\"nextpage\"\r\n",
        "Link: <{base}/p2>; title=\"next\"\r\n",
        "Link: {base}/p2; rel=\"next\"\r\n",
        "Link: <{base}/p2; rel=\"next\"\r\n",
        "Link: \r\n",
    };
    fix_t *f = *state;
    size_t i;

    for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        oauth2_claims_t *c;
        const char *err;

        f->a.nroutes = 0;
        route(&f->a, "/user/orgs?per_page=100", 200, links[i],
              "[" ORG("one") "]");
        route(&f->a, "/p2", 200, NULL, "[" ORG("two") "]");
        routes_user(&f->a);
        srv_start(&f->a);
        assert_int_equal(run(f, f->a.base, &c, &err), APR_SUCCESS);
        assert_string_equal(groups(f->p, c), "one");
        srv_stop(&f->a);
    }
}

/* A next link that leaves the API is never requested: the token would
 * go with it. The login fails instead of losing groups silently. */
static void test_github_next_link_elsewhere_not_followed(void **state)
{
    fix_t *f = *state;
    int i;

    route(&f->b, "*", 200, NULL, "[" ORG("stolen") "]");
    srv_start(&f->b);
    for (i = 0; i < 11; i++) {
        const char *next[] = {
            f->b.base, /* same host, another port */
            "http://evil.example",
            "https://127.0.0.1",
            "https://127.0.0.1:{port}",
            "http://user:pw@127.0.0.1:{port}",
            "//evil.example",
            apr_psprintf(f->p, "%s/../x", f->b.base),
            "{base}/x\ty",
            "{base}/x y",
            "http://localhost:{port}",
            "http://127.0.0.2:{port}",
        };
        oauth2_claims_t *c;
        const char *err;

        f->a.nroutes = 0;
        route(&f->a, "/user/orgs?per_page=100", 200,
              apr_psprintf(f->p,
                           "Link: <%s/user/orgs?page=2>; rel=\"next\"\r\n",
                           next[i]),
              "[" ORG("one") "]");
        routes_user(&f->a);
        srv_start(&f->a);
        assert_int_equal(run(f, f->a.base, &c, &err), OAUTH2_EUPSTREAM);
        assert_non_null(strstr(err, "/user/orgs"));
        assert_non_null(strstr(err, "not followed"));
        assert_null(strstr(err, TOKEN));
        assert_int_equal(srv_count(f->p, &f->a), 3); /* user, emails, orgs */
        srv_stop(&f->a);
    }
    assert_int_equal(srv_count(f->p, &f->b), 0);
}

/* Under an Enterprise base path, links must stay under it too. */
static void test_github_next_link_outside_base_path(void **state)
{
    static const char *const paths[] = {
        "/other/user/orgs?page=2",
        "/api/v3x/user/orgs?page=2",
        "/api/user/orgs?page=2",
        "/api/v3/../other/user/orgs?page=2",
        "/api/v3/./../../user/orgs?page=2",
        "/api/v3/..?page=2",
        "/api/v3/user/orgs/.?page=2",
    };
    fix_t *f = *state;
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        oauth2_claims_t *c;
        const char *err;

        f->a.nroutes = 0;
        route(&f->a, "/api/v3/user", 200, NULL, USER_JSON);
        route(&f->a, "/api/v3/user/emails?per_page=100", 200, NULL, "[]");
        route(
            &f->a, "/api/v3/user/orgs?per_page=100", 200,
            apr_psprintf(f->p, "Link: <{base}%s>; rel=\"next\"\r\n", paths[i]),
            "[" ORG("corp") "]");
        route(&f->a, "*", 200, NULL, "[" ORG("wrong") "]");
        srv_start(&f->a);
        assert_int_equal(
            run(f, apr_pstrcat(f->p, f->a.base, "/api/v3", NULL), &c, &err),
            OAUTH2_EUPSTREAM);
        assert_non_null(strstr(err, "not followed"));
        assert_int_equal(srv_count(f->p, &f->a), 3);
        srv_stop(&f->a);
    }
}

/* Each error names the call and the status, never the token. */
static void test_github_api_errors(void **state)
{
    static const struct {
        const char *target;
        int status;
        const char *headers;
        const char *body;
        const char *want; /* in *err */
        int calls;        /* requests made before giving up */
    } cases[] = {
        { "/user", 401, NULL,
          "{\"message\":\"Bad credentials\",\"documentation_url\":"
          "\"https://docs.github.com/rest\",\"status\":\"401\"}",
          "GitHub API /user (page 1): HTTP 401, the access token was refused: "
          "Bad credentials",
          1 },
        { "/user/orgs?per_page=100", 403,
          "x-ratelimit-limit: 5000\r\nx-ratelimit-remaining: 0\r\n"
          "x-ratelimit-used: 5000\r\nx-ratelimit-reset: 1700000000\r\n"
          "x-ratelimit-resource: core\r\n",
          "{\"message\":\"API rate limit exceeded for user ID 583231.\"}",
          "/user/orgs (page 1): HTTP 403, rate limit exhausted (resets at "
          "1700000000)",
          3 },
        { "/user/teams?per_page=100", 429,
          "retry-after: 60\r\nx-ratelimit-remaining: 4000\r\n",
          "{\"message\":\"You have exceeded a secondary rate limit.\"}",
          "/user/teams (page 1): HTTP 429, too many requests", 4 },
        { "/user/teams?per_page=100", 429, "x-ratelimit-remaining: 0\r\n", "",
          "HTTP 429, rate limit exhausted", 4 },
        { "/user/orgs?per_page=100", 403, NULL,
          "{\"message\":\"Resource protected by organization SAML "
          "enforcement.\"}",
          "HTTP 403, forbidden", 3 },
        { "/user/emails?per_page=100", 404, NULL, "{\"message\":\"Not Found\"}",
          "/user/emails (page 1): HTTP 404", 2 },
        { "/user", 500, NULL, "<html>oops</html>",
          "/user (page 1): HTTP 500, unexpected status", 1 },
        { "/user", 301, "Location: https://evil.example/\r\n", "", "HTTP 301",
          1 },
    };
    fix_t *f = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_claims_t *c;
        const char *err;

        f->a.nroutes = 0;
        route(&f->a, cases[i].target, cases[i].status, cases[i].headers,
              cases[i].body);
        routes_user(&f->a);
        srv_start(&f->a);
        assert_int_equal(run(f, f->a.base, &c, &err), OAUTH2_EUPSTREAM);
        assert_null(c);
        if (strstr(err, cases[i].want) == NULL) {
            fail_msg("case %d: '%s' not in '%s'", (int)i, cases[i].want, err);
        }
        assert_null(strstr(err, TOKEN));
        assert_int_equal(srv_count(f->p, &f->a), cases[i].calls);
        srv_stop(&f->a);
    }
}

/* Answers that are not what GitHub documents refuse the login. */
static void test_github_malformed_answers(void **state)
{
    static const struct {
        const char *target;
        const char *body;
        const char *want;
    } cases[] = {
        { "/user", "{\"login\":\"octocat\",",
          "/user (page 1): the answer is "
          "not a JSON object" },
        { "/user", "[]", "not a JSON object" },
        { "/user", USER_JSON " x", "not a JSON object" },
        { "/user", "{\"login\":\"octocat\",\"id\":\"583231\"}",
          "no login or no numeric id" },
        { "/user", "{\"login\":\"octocat\",\"id\":-1}", "no numeric id" },
        { "/user", "{\"login\":\"\",\"id\":1}", "no login" },
        { "/user", "{\"login\":\"oct\\u0000cat\",\"id\":1}", "no login" },
        { "/user", "{\"id\":1}", "no login" },
        { "/user", "{\"login\":\"\xff\xfe\",\"id\":1}", "not a JSON object" },
        { "/user/orgs?per_page=100", "{\"login\":\"acme\"}",
          "/user/orgs (page 1): the answer is not a JSON array" },
        { "/user/orgs?per_page=100", "[{\"id\":1}]",
          "/user/orgs (page 1): element 0 is malformed" },
        { "/user/orgs?per_page=100", "[" ORG("a") ",\"b\"]", "element 1" },
        { "/user/orgs?per_page=100", "[{\"login\":7}]", "element 0" },
        { "/user/teams?per_page=100", "[{\"slug\":\"devs\"}]",
          "/user/teams (page 1): element 0" },
        { "/user/teams?per_page=100",
          "[{\"slug\":\"devs\",\"organization\":{\"id\":1}}]", "element 0" },
        { "/user/teams?per_page=100",
          "[{\"organization\":{\"login\":\"acme\"}}]", "element 0" },
        { "/user/emails?per_page=100", "[{\"primary\":true}]",
          "/user/emails (page 1): element 0" },
        { "/user/emails?per_page=100", "", "not a JSON array" },
        { "/user/emails?per_page=100",
          "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]", "not a JSON array" },
    };
    fix_t *f = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        oauth2_claims_t *c;
        const char *err;

        f->a.nroutes = 0;
        route(&f->a, cases[i].target, 200, NULL, cases[i].body);
        routes_user(&f->a);
        srv_start(&f->a);
        assert_int_equal(run(f, f->a.base, &c, &err), OAUTH2_EUPSTREAM);
        if (strstr(err, cases[i].want) == NULL) {
            fail_msg("case %d: '%s' not in '%s'", (int)i, cases[i].want, err);
        }
        srv_stop(&f->a);
    }
}

/* A list that never ends stops after OAUTH2_MAX_PAGES requests. */
static void test_github_page_limit(void **state)
{
    fix_t *f = *state;
    oauth2_claims_t *c;
    const char *err;

    route(&f->a, "/user/teams*", 200,
          "Link: <{base}{target}&more>; rel=\"next\"\r\n",
          "[" TEAM("acme", "devs") "]");
    routes_user(&f->a);
    srv_start(&f->a);
    assert_int_equal(run(f, f->a.base, &c, &err), OAUTH2_ETOOBIG);
    assert_non_null(strstr(err, "/user/teams: more than 20 pages"));
    /* user, emails, orgs, then exactly OAUTH2_MAX_PAGES pages of teams */
    assert_int_equal(srv_count(f->p, &f->a), 3 + OAUTH2_MAX_PAGES);
}

/* More groups than a session keeps refuses the login (never a silent
 * cut); exactly OAUTH2_MAX_GROUPS is fine. */
static void test_github_group_limit(void **state)
{
    fix_t *f = *state;
    int n;

    for (n = OAUTH2_MAX_GROUPS; n <= OAUTH2_MAX_GROUPS + 1; n++) {
        char *orgs = "[";
        oauth2_claims_t *c;
        const char *err;
        int i;

        for (i = 0; i < n; i++) {
            orgs = apr_psprintf(f->p, "%s%s{\"login\":\"org%d\"}", orgs,
                                i ? "," : "", i);
        }
        f->a.nroutes = 0;
        route(&f->a, "/user/orgs?per_page=100", 200, NULL,
              apr_pstrcat(f->p, orgs, "]", NULL));
        routes_user(&f->a);
        srv_start(&f->a);
        if (n == OAUTH2_MAX_GROUPS) {
            assert_int_equal(run(f, f->a.base, &c, &err), APR_SUCCESS);
            assert_int_equal(
                json_object_array_length(oauth2_claims_get(c, "groups")), n);
        }
        else {
            assert_int_equal(run(f, f->a.base, &c, &err), OAUTH2_EUPSTREAM);
            assert_non_null(strstr(err, "over the limits"));
        }
        srv_stop(&f->a);
    }
}

static void test_github_unreachable(void **state)
{
    fix_t *f = *state;
    oauth2_claims_t *c;
    const char *err;

    srv_start(&f->a);
    srv_stop(&f->a); /* the port is closed now */
    assert_int_equal(run(f, f->a.base, &c, &err), OAUTH2_EUNREACHABLE);
    assert_non_null(strstr(err, "GitHub API /user (page 1): "));
}

/* A token that would break the header line is never sent. */
static void test_github_unusable_token_or_base(void **state)
{
    static const char *const tokens[] = { "", "gho_a\r\nX-Evil: 1", "a b",
                                          "t\x80" };
    fix_t *f = *state;
    oauth2_claims_t *c = NULL;
    const char *err;
    size_t i;

    routes_user(&f->a);
    srv_start(&f->a);
    for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        assert_int_equal(oauth2_github_claims(f->p, &f->http, f->a.base,
                                              tokens[i], &c, &err),
                         OAUTH2_EUPSTREAM);
        assert_non_null(strstr(err, "access token is not usable"));
    }
    assert_int_equal(
        oauth2_github_claims(f->p, &f->http, NULL, TOKEN, &c, &err),
        OAUTH2_ECONFIG);
    assert_int_equal(
        oauth2_github_claims(f->p, &f->http, f->a.base, NULL, &c, &err),
        OAUTH2_ECONFIG);
    assert_int_equal(
        oauth2_github_claims(f->p, &f->http, "not a url", TOKEN, &c, &err),
        OAUTH2_ECONFIG);
    assert_int_equal(srv_count(f->p, &f->a), 0);
}

/* ------------------------------------------------------ repositories */

#define REPO(vis, priv, perms)                               \
    "{\"id\":1,\"full_name\":\"acme/app\",\"private\":" priv \
    ",\"visibility\":\"" vis "\",\"permissions\":" perms "}"
#define PERMS(a, m, pu, t, pl)                                          \
    "{\"admin\":" a ",\"maintain\":" m ",\"push\":" pu ",\"triage\":" t \
    ",\"pull\":" pl "}"
#define F  "false"
#define T_ "true"

static apr_status_t repo_run(fix_t *f, const char *base, int *rank,
                             const char **err)
{
    *rank = -1;
    *err = NULL;
    return oauth2_github_repo_permission(f->p, &f->http, base, TOKEN,
                                         "acme/app", rank, err);
}

/* The highest role set, as a rank; pull counts in private repositories
 * only (everyone pulls a public or internal one). */
static void test_github_repo_ranks(void **state)
{
    static const struct {
        const char *body;
        int rank;
    } cases[] = {
        { REPO("private", T_, PERMS(T_, T_, T_, T_, T_)), 5 },
        { REPO("private", T_, PERMS(F, T_, T_, T_, T_)), 4 },
        { REPO("private", T_, PERMS(F, F, T_, T_, T_)), 3 },
        { REPO("private", T_, PERMS(F, F, F, T_, T_)), 2 },
        { REPO("private", T_, PERMS(F, F, F, F, T_)), 1 },
        { REPO("private", T_, PERMS(F, F, F, F, F)), 0 },
        { REPO("public", F, PERMS(F, F, F, F, T_)), 0 },
        { REPO("public", F, PERMS(F, F, F, T_, T_)), 2 },
        { REPO("internal", T_, PERMS(F, F, F, F, T_)), 0 },
        { REPO("internal", T_, PERMS(F, F, T_, T_, T_)), 3 },
        /* older servers: no visibility, no maintain or triage */
        { "{\"private\":true,\"permissions\":{\"admin\":false,\"push\":false,"
          "\"pull\":true}}",
          1 },
        { "{\"private\":false,\"permissions\":{\"admin\":true,\"push\":true,"
          "\"pull\":true}}",
          5 },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fix_t *f = *state;
        const char *err, *log;
        int rank;

        memset(&f->a, 0, sizeof(f->a));
        route(&f->a, "/repos/acme/app", 200, NULL, cases[i].body);
        srv_start(&f->a);
        assert_int_equal(repo_run(f, f->a.base, &rank, &err), APR_SUCCESS);
        if (rank != cases[i].rank) {
            fail_msg("case %d: rank %d, not %d", (int)i, rank, cases[i].rank);
        }
        log = srv_log(f->p, &f->a);
        assert_int_equal(count_in(log, "GET /repos/acme/app HTTP/1.1\r\n"), 1);
        assert_int_equal(count_in(log, "Authorization: Bearer " TOKEN), 1);
        assert_int_equal(count_in(log, "X-GitHub-Api-Version: 2022-11-28"), 1);
        srv_stop(&f->a);
    }
}

/* 404 (a repository the user cannot see): no access, no error. Errors
 * and malformed answers fail, naming the repository. */
static void test_github_repo_errors(void **state)
{
    static const struct {
        int status;
        const char *headers, *body;
        apr_status_t rv;
        const char *want;
    } cases[] = {
        { 404, NULL, "{\"message\":\"Not Found\"}", APR_SUCCESS, NULL },
        { 301, "Location: {base}/repositories/1\r\n",
          "{\"message\":\"Moved Permanently\"}", OAUTH2_EUPSTREAM,
          "renamed or moved" },
        { 401, NULL, "{\"message\":\"Bad credentials\"}", OAUTH2_EUPSTREAM,
          "HTTP 401, the access token was refused: Bad credentials" },
        { 403, "x-ratelimit-remaining: 0\r\nx-ratelimit-reset: 17\r\n",
          "{\"message\":\"API rate limit exceeded\"}", OAUTH2_EUPSTREAM,
          "HTTP 403, rate limit exhausted (resets at 17)" },
        { 403, NULL,
          "{\"message\":\"Resource protected by organization SAML "
          "enforcement.\"}",
          OAUTH2_EUPSTREAM, "SAML enforcement" },
        { 429, NULL, "{}", OAUTH2_EUPSTREAM, "HTTP 429" },
        { 200, NULL, "{\"private\":true}", OAUTH2_EUPSTREAM,
          "no readable \"permissions\"" },
        { 200, NULL, "{\"private\":true,\"permissions\":{\"pull\":1}}",
          OAUTH2_EUPSTREAM, "no readable \"permissions\"" },
        { 200, NULL, "[]", OAUTH2_EUPSTREAM, "no readable \"permissions\"" },
        { 200, NULL, "{\"permissions\":", OAUTH2_EUPSTREAM,
          "no readable \"permissions\"" },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fix_t *f = *state;
        const char *err;
        int rank;

        memset(&f->a, 0, sizeof(f->a));
        route(&f->a, "/repos/acme/app", cases[i].status, cases[i].headers,
              cases[i].body);
        srv_start(&f->a);
        assert_int_equal(repo_run(f, f->a.base, &rank, &err), cases[i].rv);
        if (cases[i].want == NULL) {
            assert_int_equal(rank, 0);
        }
        else if (err == NULL || strstr(err, cases[i].want) == NULL) {
            fail_msg("case %d: '%s' lacks '%s'", (int)i, err ? err : "",
                     cases[i].want);
        }
        srv_stop(&f->a);
    }
}

static void test_github_repo_arguments(void **state)
{
    fix_t *f = *state;
    const char *err = NULL;
    int rank;

    srv_start(&f->a);
    assert_int_equal(oauth2_github_repo_permission(f->p, &f->http, f->a.base,
                                                   TOKEN, "acme/a pp", &rank,
                                                   &err),
                     OAUTH2_ECONFIG);
    assert_int_equal(oauth2_github_repo_permission(f->p, &f->http, f->a.base,
                                                   TOKEN, "acme", &rank, &err),
                     OAUTH2_ECONFIG);
    assert_int_equal(oauth2_github_repo_permission(f->p, &f->http, NULL, TOKEN,
                                                   "acme/app", &rank, &err),
                     OAUTH2_ECONFIG);
    assert_int_equal(oauth2_github_repo_permission(f->p, &f->http, f->a.base,
                                                   "a\r\nb", "acme/app", &rank,
                                                   &err),
                     OAUTH2_EUPSTREAM);
    assert_int_equal(srv_count(f->p, &f->a), 0);
    srv_stop(&f->a);
    assert_int_equal(repo_run(f, f->a.base, &rank, &err), OAUTH2_EUNREACHABLE);
    assert_non_null(strstr(err, "GitHub API /repos/acme/app: "));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_github_claims_with_pagination),
        T(test_github_email_primary_and_verified_only),
        T(test_github_email_on_second_page),
        T(test_github_no_orgs_no_teams),
        T(test_github_enterprise_base_path),
        T(test_github_link_header_forms),
        T(test_github_link_without_next),
        T(test_github_next_link_elsewhere_not_followed),
        T(test_github_next_link_outside_base_path),
        T(test_github_api_errors),
        T(test_github_malformed_answers),
        T(test_github_page_limit),
        T(test_github_group_limit),
        T(test_github_unreachable),
        T(test_github_unusable_token_or_base),
        T(test_github_repo_ranks),
        T(test_github_repo_errors),
        T(test_github_repo_arguments),
    };
#undef T

    apr_initialize();
    if (oauth2_http_init() != APR_SUCCESS) {
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
