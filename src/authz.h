#ifndef OAUTH2_AUTHZ_H
#define OAUTH2_AUTHZ_H
#endif
