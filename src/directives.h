/*
 * directives.h: every configuration directive of the module, in one table:
 * its name, where it may appear, how many arguments it takes, its help
 * text, and the setter that checks and stores its value in the engine's
 * configuration (config.h). The glue builds Apache's command table from
 * this one (mod_auth_oauth2.c), so a directive is declared once; a setter
 * never sees Apache.
 *
 * Every setter refuses an argument that starts with '#': Apache has no
 * end-of-line comments, and "Require oauth2-group a  # b" would name the
 * group "b" (the Require rules check their words in authz.c).
 */
#ifndef OAUTH2_DIRECTIVES_H
#define OAUTH2_DIRECTIVES_H

#include <apr_pools.h>

#include "config.h"

/** Where a directive may appear. */
typedef enum {
    OAUTH2_DIRECTIVE_SERVER, /* server config and <VirtualHost> */
    OAUTH2_DIRECTIVE_DIR     /* <Location>, <Directory>, .htaccess */
} oauth2_directive_scope_e;

/** The arguments a directive takes (as Apache's TAKE1, TAKE12, ...). */
typedef enum {
    OAUTH2_ARGS_TAKE1,
    OAUTH2_ARGS_TAKE2,
    OAUTH2_ARGS_TAKE12,
    OAUTH2_ARGS_ITERATE, /* one call per argument */
    OAUTH2_ARGS_FLAG,    /* "On" or "Off" */
    OAUTH2_ARGS_SECTION  /* <OAuth2Provider NAME>: the glue opens it with
                            oauth2_cfg_section and reads what it encloses
                            into the section's configuration */
} oauth2_directive_args_e;

typedef struct oauth2_directive_t oauth2_directive_t;

/** A setter: target is an oauth2_cfg_t (server scope) or an
 * oauth2_dir_cfg_t (directory scope); a2 is NULL but for two arguments.
 * Returns NULL or an error without the directive's name. */
typedef const char *(*oauth2_directive_fn)(apr_pool_t *p,
                                           const oauth2_directive_t *d,
                                           void *target, const char *a1,
                                           const char *a2);

/** One directive. */
struct oauth2_directive_t {
    const char *name;
    oauth2_directive_scope_e scope;
    oauth2_directive_args_e args;
    oauth2_directive_fn set;
    apr_size_t offset; /* the field, for the generic setters */
    const char *help;
};

/** The table, ended by an entry whose name is NULL. */
extern const oauth2_directive_t oauth2_directives[];

/** The number of directives in the table. */
apr_size_t oauth2_directive_count(void);

/** The directive of that name (any case), or NULL. */
const oauth2_directive_t *oauth2_directive_find(const char *name);

/**
 * Applies a directive's arguments to target (see oauth2_directive_fn):
 * refuses an argument that starts with '#', then calls its setter.
 * @return NULL, or the error prefixed with the directive's name
 *         ("OAuth2Scope: ..."), from p
 */
const char *oauth2_directive_apply(apr_pool_t *p, const oauth2_directive_t *d,
                                   void *target, const char *a1,
                                   const char *a2);

/**
 * A directive as configured (the glue's one call for every directive):
 * applied to the virtual host's srv or the directory's dir by its scope
 * (oauth2_directive_apply); a directory directive of a section read at
 * startup (not an .htaccess file, read while serving, whose server config
 * threads share read-only) also notes in srv what it asks of every
 * session of the virtual host (oauth2_cfg_note_dir). Inside an
 * <OAuth2Provider> section (srv is the section's) only the provider's own
 * directives are taken (oauth2_cfg_in_section).
 * @return NULL, or the error, from p
 */
const char *oauth2_directive_set(apr_pool_t *p, const oauth2_directive_t *d,
                                 oauth2_cfg_t *srv, oauth2_dir_cfg_t *dir,
                                 const char *a1, const char *a2, int startup);

#endif /* OAUTH2_DIRECTIVES_H */
