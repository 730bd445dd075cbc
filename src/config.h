/*
 * config.h: the engine's view of the configuration: one provider and its
 * client per virtual host (oauth2_cfg_t), the per-place options
 * (oauth2_dir_cfg_t), and the parsers the directive setters use, so that
 * every value is validated at startup with the directive's name in the
 * message.
 *
 * The glue (mod_auth_oauth2.c) owns the directive table and Apache's
 * create/merge calls; it stores these structures as its module config.
 * Fields start UNSET (-1 or NULL) and take their defaults in
 * oauth2_cfg_finalize(), so "not set" stays distinct from "set to the
 * default" through merging.
 */
#ifndef OAUTH2_CONFIG_H
#define OAUTH2_CONFIG_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "page.h"

/* The message for a directive argument that starts with '#' (a format
 * taking the argument): Apache has no end-of-line comments, so the rest
 * of the line would be taken as arguments (SPEC "Configuration"). */
#define OAUTH2_NO_EOL_COMMENT                                            \
    "argument \"%.40s\" starts with '#', but Apache has no end-of-line " \
    "comments: put the comment on a line of its own"

#define OAUTH2_UNSET (-1)

/** OAuth2Provider presets. */
typedef enum {
    OAUTH2_PRESET_NONE = 0, /* a plain OpenID Connect issuer */
    OAUTH2_PRESET_GOOGLE,
    OAUTH2_PRESET_GITHUB,
    OAUTH2_PRESET_GITLAB,
    OAUTH2_PRESET_MICROSOFT,
    OAUTH2_PRESET_KEYCLOAK
} oauth2_preset_e;

/** OAuth2Endpoint kinds. */
typedef enum {
    OAUTH2_EP_AUTHORIZATION = 0,
    OAUTH2_EP_TOKEN,
    OAUTH2_EP_USERINFO,
    OAUTH2_EP_JWKS,
    OAUTH2_EP_END_SESSION,
    OAUTH2_EP_GITHUB_API,
    OAUTH2_EP_GITLAB_API,
    OAUTH2_EP_GOOGLE_DIRECTORY,
    OAUTH2_EP_METADATA, /* the discovery document, where it is not at
                           ISSUER/.well-known/openid-configuration */
    OAUTH2_EP_COUNT
} oauth2_endpoint_e;

/** OAuth2SessionStore kinds. */
typedef enum {
    OAUTH2_STORE_UNSET = 0,
    OAUTH2_STORE_SHM,
    OAUTH2_STORE_SOCACHE,
    OAUTH2_STORE_COOKIE
} oauth2_store_kind_e;

/** OAuth2UnauthAction. */
typedef enum {
    OAUTH2_UNAUTH_UNSET = 0,
    OAUTH2_UNAUTH_AUTO,
    OAUTH2_UNAUTH_LOGIN,
    OAUTH2_UNAUTH_401,
    OAUTH2_UNAUTH_403,
    OAUTH2_UNAUTH_PASS
} oauth2_unauth_e;

/** OAuth2PassClaims: a bit set. */
enum {
    OAUTH2_PASS_HEADERS = 1,
    OAUTH2_PASS_ENV = 2
};

/** Compiles a regular expression (from p); returns NULL with *err set
 * when it does not compile. */
typedef const void *(*oauth2_regex_compile_fn)(apr_pool_t *p,
                                               const char *pattern,
                                               const char **err);

/** Does value match the compiled expression (anywhere in it)? */
typedef int (*oauth2_regex_match_fn)(const void *re, const char *value);

/** How regular expressions are compiled and matched: the glue's
 * ap_pregcomp and ap_regexec (PCRE, as httpd's own directives use), so the
 * engine holds no regex library. */
typedef struct {
    oauth2_regex_compile_fn compile;
    oauth2_regex_match_fn match;
} oauth2_regex_ops_t;

/** A compiled expression with its matcher and its text. */
typedef struct {
    const char *pattern;
    const void *re;
    oauth2_regex_match_fn match;
} oauth2_regex_t;

/** A Google service account key (google.h). */
struct oauth2_google_sa_t;

/** Server / virtual host scope: the provider, the client, sessions. */
typedef struct {
    /* OAuth2Provider */
    const char *issuer; /* issuer URL (discovery), or NULL */
    oauth2_preset_e preset;
    const char *preset_base; /* preset BASE-URL argument */
    int provider_set;        /* 1 once OAuth2Provider was given */
    const char *endpoints[OAUTH2_EP_COUNT]; /* OAuth2Endpoint overrides */
    const char *client_id;
    const char *client_secret;
    int client_auth_post; /* OAuth2ClientAuth post (else basic) */
    const char *scope;
    const char *auth_params;     /* "k=v k=v", form-encoded at startup */
    apr_array_header_t *secrets; /* const char *, resolved */
    const char *prefix;          /* OAuth2Prefix, no trailing slash */
    const char *redirect_uri;    /* OAuth2RedirectURI (absolute) or NULL */
    oauth2_store_kind_e store;
    const char *store_spec; /* socache "provider:args" */
    int shm_capacity;       /* shm:N */
    int session_timeout;    /* seconds */
    int session_max_age;    /* seconds */
    const char *cookie_name;
    const char *cookie_domain;
    const char *cookie_samesite; /* "Lax", "Strict", "None" */
    int cookie_secure;           /* 1 on, 0 off, OAUTH2_UNSET: by scheme */
    const char *remote_user_claim;
    const char *groups_claim;
    int clock_skew;   /* seconds */
    int http_timeout; /* seconds */
    const char *ca_file;
    apr_array_header_t *redirect_hosts; /* OAuth2AllowedRedirectHosts */
    /* OAuth2GoogleServiceAccount, parsed; OAuth2GoogleAdminEmail */
    const struct oauth2_google_sa_t *google_sa;
    const char *google_admin;
    /* What the Require oauth2-group lines of the configuration name
     * (authz.h oauth2_authz_note): group addresses and resource keys,
     * resolved at login. Merged as a union. */
    apr_array_header_t *rule_groups;
    apr_array_header_t *rule_resources;
    /* The page templates by kind: OAuth2Page files, parsed when read;
     * oauth2_cfg_finalize fills the others with the built-in ones. */
    const oauth2_page_tpl_t *pages[OAUTH2_PAGE_COUNT];
    /* How OAuth2GroupsFilter compiles (the glue sets it when it creates
     * the configuration; NULL: the directive is refused). */
    const oauth2_regex_ops_t *regex;
    /* OAuth2GroupsFilter: only groups it matches are kept, or NULL. */
    const oauth2_regex_t *groups_filter;
    /* A section of the configuration (not an .htaccess file) has
     * OAuth2PassAccessToken On: sessions must keep their tokens
     * (oauth2_cfg_note_dir). 0 or 1; merged as a union. */
    int tokens_wanted;
    /* <OAuth2Provider NAME>: the section's name; NULL for a virtual
     * host's own configuration. */
    const char *name;
    /* The <OAuth2Provider NAME> sections of this scope (oauth2_cfg_t *),
     * as configured. */
    apr_array_header_t *providers;
    /* oauth2_cfg_finalize: each section made a whole provider
     * configuration (oauth2_cfg_t *, in the same order): the section's
     * provider, client and claims with the virtual host's sessions,
     * secrets and cookies; its endpoints under OAuth2Prefix/NAME, its
     * session cookie COOKIE_NAME. NULL without sections. */
    apr_array_header_t *named;
} oauth2_cfg_t;

/** Directory scope: how a protected place behaves. */
typedef struct {
    oauth2_unauth_e unauth;
    int accept_bearer; /* On/Off, OAUTH2_UNSET */
    const char *bearer_audience;
    int bearer_untyped;    /* OAuth2BearerAllowUntyped: On/Off, OAUTH2_UNSET */
    int pass_access_token; /* On/Off, OAUTH2_UNSET */
    int pass_claims;       /* OAUTH2_PASS_* bits, OAUTH2_UNSET */
    apr_array_header_t *use; /* OAuth2Use: provider names, or NULL */
} oauth2_dir_cfg_t;

/* Defaults (SPEC.md). */
#define OAUTH2_DEFAULT_PREFIX       "/oauth2"
#define OAUTH2_DEFAULT_SCOPE        "openid email profile"
#define OAUTH2_DEFAULT_COOKIE       "oauth2_session"
#define OAUTH2_DEFAULT_TIMEOUT      3600
#define OAUTH2_DEFAULT_MAX_AGE      28800
#define OAUTH2_DEFAULT_SKEW         60
#define OAUTH2_DEFAULT_HTTP_TIMEOUT 10
#define OAUTH2_DEFAULT_USER_CLAIM   "sub"
#define OAUTH2_DEFAULT_GROUPS_CLAIM "groups"
#define OAUTH2_DEFAULT_SHM_CAPACITY 10000

/** A server config with every field UNSET. */
oauth2_cfg_t *oauth2_cfg_create(apr_pool_t *p);

/** base merged with add (add's set fields win), from p. */
oauth2_cfg_t *oauth2_cfg_merge(apr_pool_t *p, const oauth2_cfg_t *base,
                               const oauth2_cfg_t *add);

/**
 * Applies defaults to UNSET fields (the built-in page templates too) and
 * checks what only the whole
 * configuration can tell (a provider without OAuth2ClientID or
 * OAuth2Secret, a Google service account without an admin). The default
 * scope of a GitLab provider gains read_api when rules name projects, a
 * GitHub provider's gains repo when they name repositories; an explicit
 * OAuth2Scope of a GitLab provider must then have read_api or api.
 * Returns NULL when usable, else "Directive: reason".
 */
const char *oauth2_cfg_finalize(apr_pool_t *p, oauth2_cfg_t *cfg);

/** A directory config with every field UNSET. */
oauth2_dir_cfg_t *oauth2_dir_cfg_create(apr_pool_t *p);

/** base merged with add; runs per request, so pointer copies only. */
oauth2_dir_cfg_t *oauth2_dir_cfg_merge(apr_pool_t *p,
                                       const oauth2_dir_cfg_t *base,
                                       const oauth2_dir_cfg_t *add);

/* Accessors applying directory defaults. */
oauth2_unauth_e oauth2_dir_unauth(const oauth2_dir_cfg_t *d);
int oauth2_dir_pass_claims(const oauth2_dir_cfg_t *d);
int oauth2_dir_flag(int value); /* UNSET -> 0 */

/*
 * Parsers for the directive setters. Each returns NULL on success or an
 * error message (from p) without the directive name, which the glue adds.
 */

/** An integer in [min, max], decimal digits only. */
const char *oauth2_cfg_parse_int(apr_pool_t *p, const char *arg, int min,
                                 int max, int *out);

/** The allowed range of a numeric directive (the one table of them; the
 * README's directive reference quotes it). */
typedef struct {
    const char *directive;
    int min, max;
} oauth2_cfg_limit_t;

/** The range of a numeric directive by name (any case), or NULL. */
const oauth2_cfg_limit_t *oauth2_cfg_limit(const char *directive);

/** A numeric directive's value checked against its range. */
const char *oauth2_cfg_parse_limited(apr_pool_t *p, const char *directive,
                                     const char *arg, int *out);

/**
 * A secret-like value: "file:/path" (file contents, trailing newline
 * removed, at most 64 KiB), "env:NAME" (must be set and non-empty), or
 * the literal value.
 */
const char *oauth2_cfg_resolve_value(apr_pool_t *p, const char *arg,
                                     const char **out);

/**
 * An absolute http(s) URL with a host, no fragment, no userinfo;
 * no_query also refuses a query (issuers, OIDC Discovery §2).
 */
const char *oauth2_cfg_check_url(apr_pool_t *p, const char *arg, int no_query);

/** OAuth2Provider arguments into cfg. */
const char *oauth2_cfg_set_provider(apr_pool_t *p, oauth2_cfg_t *cfg,
                                    const char *arg1, const char *arg2);

/** An email address for OAuth2GoogleAdminEmail: one '@', a non-empty
 * local part and a domain, no spaces or control characters. */
const char *oauth2_cfg_check_email(apr_pool_t *p, const char *arg);

/** OAuth2Endpoint KIND URL into cfg. */
const char *oauth2_cfg_set_endpoint(apr_pool_t *p, oauth2_cfg_t *cfg,
                                    const char *kind, const char *url);

/** OAuth2SessionStore into cfg. */
const char *oauth2_cfg_set_store(apr_pool_t *p, oauth2_cfg_t *cfg,
                                 const char *arg);

/** OAuth2AuthParams "k=v k=v" into a query string fragment (from p). */
const char *oauth2_cfg_parse_auth_params(apr_pool_t *p, const char *arg,
                                         const char **out);

/** OAuth2GroupsFilter REGEX into cfg: compiled now with cfg->regex, so
 * `apache2 -t` refuses an expression that does not compile. */
const char *oauth2_cfg_set_groups_filter(apr_pool_t *p, oauth2_cfg_t *cfg,
                                         const char *arg);

/**
 * Notes in the virtual host's cfg what a section of the configuration
 * (read at startup, never an .htaccess file) asks of every session: a
 * directory config with OAuth2PassAccessToken On makes sessions keep
 * their tokens (what cookie sessions otherwise leave out).
 */
void oauth2_cfg_note_dir(oauth2_cfg_t *cfg, const oauth2_dir_cfg_t *dir);

/**
 * Must sessions keep the access and refresh tokens? Yes where the
 * configuration passes the access token (and so refreshes it), and for
 * providers whose API rules (GitLab projects, GitHub repositories) may be
 * asked with the user's token on first use.
 */
int oauth2_cfg_keeps_tokens(const oauth2_cfg_t *cfg);

/* Named providers: at most this many per virtual host, names of at most
 * OAUTH2_PROVIDER_NAME_MAX letters, digits, '-' and '_'. */
#define OAUTH2_MAX_PROVIDERS 16
/* The cookie remembering which named provider a browser chose:
 * OAuth2Cookie's name with this suffix. */
#define OAUTH2_CHOICE_COOKIE_SUFFIX "-provider"
#define OAUTH2_PROVIDER_NAME_MAX    32

/**
 * Opens an <OAuth2Provider NAME> section in outer (raw: the rest of the
 * line, "NAME>"): *inner is the section's configuration, which the
 * directives inside it fill (only the provider's own: see
 * oauth2_cfg_in_section). Refused: a bad or repeated name, a section
 * inside a section, more than OAUTH2_MAX_PROVIDERS.
 */
const char *oauth2_cfg_section(apr_pool_t *p, oauth2_cfg_t *outer,
                               const char *raw, oauth2_cfg_t **inner);

/** OAuth2Use NAME: appends a provider name to dir's (checked: the shape
 * of a name; whether the virtual host has it is checked at startup and,
 * for .htaccess files, per request). */
const char *oauth2_cfg_add_use(apr_pool_t *p, oauth2_dir_cfg_t *dir,
                               const char *name);

/** Is name a provider name (the shape of <OAuth2Provider NAME>)? */
int oauth2_cfg_provider_name_ok(const char *name);

/** May the directive appear inside an <OAuth2Provider> section? (The
 * provider, its client, its endpoints and how its claims are read.) */
int oauth2_cfg_in_section(const char *directive);

/** Does the virtual host have a provider: its own, or named ones? */
int oauth2_cfg_has_provider(const oauth2_cfg_t *cfg);

/** The preset's name ("github"), for messages. */
const char *oauth2_cfg_preset_name(oauth2_preset_e preset);

#endif /* OAUTH2_CONFIG_H */
