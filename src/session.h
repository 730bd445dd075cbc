#ifndef OAUTH2_SESSION_H
#define OAUTH2_SESSION_H
#endif
