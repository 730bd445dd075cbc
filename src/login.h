#ifndef OAUTH2_LOGIN_H
#define OAUTH2_LOGIN_H
#endif
