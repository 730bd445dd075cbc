#ifndef OAUTH2_STATE_H
#define OAUTH2_STATE_H
#endif
