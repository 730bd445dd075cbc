/* placeholder */
#include "apache.h"
