/*
 * fake_server.h: a loopback HTTP server for the unit tests of the API
 * clients (google.c, gitlab.c, groups.c): a child process forked by the
 * test answers each request from a route table fixed before the fork and
 * appends every request (head and body) to a log file the test reads.
 *
 * A route matches "METHOD target" exactly, or as a pattern when its target
 * has a '*' (fnmatch: '*' any run of characters, '/' included; '?' any
 * one character); the first route that matches and has answers left wins
 * (times 0: any number). In headers and bodies "{base}" becomes
 * http://127.0.0.1:PORT. A delay makes the answer wait (concurrency tests).
 */
#ifndef FAKE_SERVER_H
#define FAKE_SERVER_H

#include <sys/types.h>

#include <apr_pools.h>

#define FS_MAX_ROUTES 24

typedef struct {
    const char *method; /* "GET", "POST" */
    const char *target; /* path and query; with '*': a pattern */
    int status;
    const char *headers; /* extra header lines, each ending in CRLF */
    const char *body;
    int delay_ms;
    int times; /* answers this route gives; 0: unlimited */
} fs_route_t;

typedef struct {
    pid_t pid;
    int port;
    char base[64];
    char log[64];
    fs_route_t routes[FS_MAX_ROUTES];
    int nroutes;
} fs_t;

/** Adds a route (before fs_start). */
void fs_route(fs_t *s, const char *method, const char *target, int status,
              const char *headers, const char *body);

/** The last route added answers only `times` times, after delay_ms. */
void fs_last(fs_t *s, int times, int delay_ms);

/** Binds 127.0.0.1:0 and forks the server. */
void fs_start(fs_t *s);

/** Kills the server and removes its log. */
void fs_stop(fs_t *s);

/** Everything the server received so far (from p). */
char *fs_log(apr_pool_t *p, const fs_t *s);

/** How many requests the server received whose request line contains
 * needle (NULL: all). */
int fs_count(apr_pool_t *p, const fs_t *s, const char *needle);

#endif /* FAKE_SERVER_H */
