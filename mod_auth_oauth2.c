/* placeholder glue */
#include "httpd.h"
#include "http_config.h"
module AP_MODULE_DECLARE_DATA __attribute__((visibility("default"))) auth_oauth2_module;
AP_DECLARE_MODULE(auth_oauth2) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, NULL, 0,
};
