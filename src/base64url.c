/* base64url.c: placeholder until implemented. */
#include "errors.h"
