/*
 * apache_metrics.h: the shared memory of the server-wide counters
 * (apache_metrics.c; the counters are src/metrics.h's).
 */
#ifndef AUTH_OAUTH2_APACHE_METRICS_H
#define AUTH_OAUTH2_APACHE_METRICS_H

#include "apache.h"

/**
 * Makes or keeps the counters' segment and hands it to the engine
 * (post_config, in the parent, before the children are made); logs the
 * module's version at startup (OA2050). A failure (OA2051) leaves the
 * server running without counters.
 */
void auth_oauth2_metrics_setup(server_rec *s, const char *version);

#endif /* AUTH_OAUTH2_APACHE_METRICS_H */
