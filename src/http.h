#ifndef OAUTH2_HTTP_H
#define OAUTH2_HTTP_H
#endif
