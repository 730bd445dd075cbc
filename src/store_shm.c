/* store_shm.c: placeholder until implemented. */
#include "errors.h"
