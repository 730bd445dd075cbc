#ifndef OAUTH2_SEAL_H
#define OAUTH2_SEAL_H
#endif
