#ifndef OAUTH2_CRYPTO_H
#define OAUTH2_CRYPTO_H
#endif
