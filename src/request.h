#ifndef OAUTH2_REQUEST_H
#define OAUTH2_REQUEST_H
#endif
