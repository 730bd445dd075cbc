/*
 * fake_server.c: the loopback HTTP server of the API client unit tests
 * (see fake_server.h). The child serves one connection at a time.
 */
#include "fake_server.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>

void fs_route(fs_t *s, const char *method, const char *target, int status,
              const char *headers, const char *body)
{
    fs_route_t *r;

    assert_true(s->nroutes < FS_MAX_ROUTES);
    r = &s->routes[s->nroutes++];
    memset(r, 0, sizeof(*r));
    r->method = method;
    r->target = target;
    r->status = status;
    r->headers = headers;
    r->body = body;
}

void fs_last(fs_t *s, int times, int delay_ms)
{
    assert_true(s->nroutes > 0);
    s->routes[s->nroutes - 1].times = times;
    s->routes[s->nroutes - 1].delay_ms = delay_ms;
}

/* Replaces {base} in s (child side; malloc is fine there). */
static char *expand(const char *s, const char *base)
{
    size_t cap = strlen(s) + 64 * 16 + 1, o = 0;
    char *out = malloc(cap);

    while (*s) {
        if (strncmp(s, "{base}", 6) == 0) {
            size_t n = strlen(base);

            if (o + n + 1 > cap) {
                cap = (o + n + 1) * 2;
                out = realloc(out, cap);
            }
            memcpy(out + o, base, n);
            o += n;
            s += 6;
            continue;
        }
        if (o + 2 > cap) {
            cap *= 2;
            out = realloc(out, cap);
        }
        out[o++] = *s++;
    }
    out[o] = '\0';
    return out;
}

static fs_route_t *route_find(fs_t *s, const char *method, const char *target)
{
    int i;

    for (i = 0; i < s->nroutes; i++) {
        fs_route_t *r = &s->routes[i];
        int match = strcmp(r->method, method) == 0
                    && (strchr(r->target, '*') != NULL
                            ? fnmatch(r->target, target, 0) == 0
                            : strcmp(target, r->target) == 0);

        if (match && r->times >= 0) {
            if (r->times > 0 && --r->times == 0) {
                r->times = -1; /* used up */
            }
            return r;
        }
    }
    return NULL;
}

/* Reads a request head and its Content-Length body into req. */
static size_t read_request(int c, char *req, size_t cap)
{
    size_t n = 0, want = 0;
    ssize_t r;
    char *end = NULL;

    while (n < cap - 1) {
        r = read(c, req + n, cap - 1 - n);
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
        req[n] = '\0';
        end = strstr(req, "\r\n\r\n");
        if (end != NULL) {
            const char *cl = strcasestr(req, "\r\nContent-Length:");

            want =
                (size_t)(end + 4 - req) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
            if (n >= want) {
                break;
            }
        }
    }
    req[n] = '\0';
    return n;
}

static void serve_one(fs_t *s, int c)
{
    static char req[131072];
    char method[16] = "", target[8192] = "";
    const fs_route_t *rt;
    char *hdr, *body, *head;
    FILE *log;

    read_request(c, req, sizeof(req));
    sscanf(req, "%15s %8191s", method, target);
    log = fopen(s->log, "a");
    if (log != NULL) {
        fprintf(log, "%s\n----\n", req);
        fclose(log);
    }
    rt = route_find(s, method, target);
    if (rt != NULL && rt->delay_ms > 0) {
        usleep((useconds_t)rt->delay_ms * 1000);
    }
    hdr = expand(rt && rt->headers ? rt->headers : "", s->base);
    body = expand(rt ? rt->body ? rt->body : "" : "{\"message\":\"no route\"}",
                  s->base);
    head = malloc(strlen(hdr) + 256);
    snprintf(head, strlen(hdr) + 256,
             "HTTP/1.1 %d X\r\nContent-Type: application/json; "
             "charset=UTF-8\r\nContent-Length: %zu\r\nConnection: close\r\n"
             "%s\r\n",
             rt ? rt->status : 404, strlen(body), hdr);
    if (write(c, head, strlen(head)) < 0 || write(c, body, strlen(body)) < 0) {
        /* the client went away */
    }
    free(head);
    free(hdr);
    free(body);
}

void fs_start(fs_t *s)
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
    snprintf(s->log, sizeof(s->log), "/tmp/test_api_XXXXXX");
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

void fs_stop(fs_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
        unlink(s->log);
    }
}

char *fs_log(apr_pool_t *p, const fs_t *s)
{
    FILE *f = fopen(s->log, "r");
    char *buf = apr_pcalloc(p, 1 << 21);

    if (f != NULL) {
        size_t n = fread(buf, 1, (1 << 21) - 1, f);

        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

int fs_count(apr_pool_t *p, const fs_t *s, const char *needle)
{
    const char *l = fs_log(p, s), *end;
    int n = 0;

    for (; (end = strstr(l, "\n----\n")) != NULL; l = end + 6) {
        const char *line = apr_pstrmemdup(p, l, strcspn(l, "\r\n"));

        n += needle == NULL || strstr(line, needle) != NULL;
    }
    return n;
}
