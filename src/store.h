#ifndef OAUTH2_STORE_H
#define OAUTH2_STORE_H
#endif
