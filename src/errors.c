/*
 * errors.c: names for the engine's status codes (see errors.h).
 */
#include "errors.h"

const char *oauth2_strerror(apr_status_t rv)
{
    switch (rv) {
    case APR_SUCCESS:
        return "success";
    case APR_ENOMEM:
        return "APR_ENOMEM";
    case APR_TIMEUP:
        return "APR_TIMEUP";
    case APR_EINVAL:
        return "APR_EINVAL";
    case OAUTH2_EMALFORMED:
        return "OAUTH2_EMALFORMED";
    case OAUTH2_ETOOBIG:
        return "OAUTH2_ETOOBIG";
    case OAUTH2_EBADSIG:
        return "OAUTH2_EBADSIG";
    case OAUTH2_EEXPIRED:
        return "OAUTH2_EEXPIRED";
    case OAUTH2_ENOTYET:
        return "OAUTH2_ENOTYET";
    case OAUTH2_EMISMATCH:
        return "OAUTH2_EMISMATCH";
    case OAUTH2_EREFUSED:
        return "OAUTH2_EREFUSED";
    case OAUTH2_EREPLAY:
        return "OAUTH2_EREPLAY";
    case OAUTH2_ENOTFOUND:
        return "OAUTH2_ENOTFOUND";
    case OAUTH2_EUPSTREAM:
        return "OAUTH2_EUPSTREAM";
    case OAUTH2_EUNREACHABLE:
        return "OAUTH2_EUNREACHABLE";
    case OAUTH2_ESTORE:
        return "OAUTH2_ESTORE";
    case OAUTH2_ECRYPTO:
        return "OAUTH2_ECRYPTO";
    case OAUTH2_ECONFIG:
        return "OAUTH2_ECONFIG";
    case OAUTH2_EFULL:
        return "OAUTH2_EFULL";
    case OAUTH2_EBUSY:
        return "OAUTH2_EBUSY";
    default:
        return "other apr_status_t";
    }
}
