/*
 * test_server.c: unit tests for src/server.c, what startup decides over
 * the whole server: what `apache2 -t` refuses (a configuration that does
 * not finalize, OA2001; AuthType oauth2 where no provider applies, OA2009,
 * in and out of virtual hosts; OAuth2AcceptBearer On without an audience
 * in its section or an enclosing one, OA2302; a socache store Apache
 * cannot make, OA2006) and warns about (an OAuth2RedirectURI on a host
 * that is not one of the virtual host's names, OA2012), stopping at the
 * first refusal; the shm table's capacity; the cookie names every host
 * strips; the sites post_config builds, with their stores, and the
 * providers of the shared view. The flattened configuration trees are
 * what mod_auth_oauth2.c's check_config makes of the ones config.test.mjs
 * hands to the real `apache2 -t`.
 */
#include "server.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "store_shm.h"

#define HOST(hosts, i) (&APR_ARRAY_IDX(hosts, i, oauth2_host_t))

static apr_pool_t *pool;

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    return apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* A host: with a provider when provider is set, else none. */
static oauth2_host_t *host(apr_array_header_t *hosts, const char *name,
                           const char *provider)
{
    oauth2_host_t *h = apr_array_push(hosts);

    memset(h, 0, sizeof(*h));
    h->cfg = oauth2_cfg_create(pool);
    h->name = name;
    h->port = 443;
    if (provider != NULL) {
        assert_null(oauth2_cfg_set_provider(pool, h->cfg, provider, NULL));
        h->cfg->client_id = "app";
        h->cfg->secrets = apr_array_make(pool, 1, sizeof(const char *));
        APR_ARRAY_PUSH(h->cfg->secrets, const char *) =
            "0123456789abcdef0123456789abcdef-secret";
    }
    return h;
}

static apr_array_header_t *hosts_make(void)
{
    return apr_array_make(pool, 4, sizeof(oauth2_host_t));
}

/* Appends a line: name, its first argument, its section (-1: the top);
 * returns its index (a section's, for what it encloses). */
static int line(apr_array_header_t *lines, const char *name, const char *arg,
                int parent)
{
    oauth2_conf_line_t *l = apr_array_push(lines);

    l->name = name;
    l->arg = arg;
    l->file = "/etc/apache2/site.conf";
    l->line = lines->nelts;
    l->parent = parent;
    return lines->nelts - 1;
}

static apr_array_header_t *lines_make(void)
{
    return apr_array_make(pool, 8, sizeof(oauth2_conf_line_t));
}

static const char *refused_spec; /* the store usable() refuses */
static int usable_calls;

static const char *usable(void *ctx, apr_pool_t *p, const char *spec)
{
    usable_calls++;
    return refused_spec != NULL && strcmp(spec, refused_spec) == 0
               ? apr_psprintf(p, "OAuth2SessionStore %s: no socache provider",
                              spec)
               : NULL;
}

/* The findings as "TAG host refused|warned message" lines joined by '\n'
 * ("" when none). */
static const char *check(apr_array_header_t *hosts, apr_array_header_t *lines)
{
    const apr_array_header_t *f =
        oauth2_server_check(pool, pool, hosts, lines, usable, NULL);
    const char *out = "";
    int i;

    for (i = 0; i < f->nelts; i++) {
        const oauth2_finding_t *x = &APR_ARRAY_IDX(f, i, oauth2_finding_t);

        out = apr_psprintf(pool, "%s%s%s %d %s %s", out, i ? "\n" : "", x->tag,
                           x->host, x->refused ? "refused" : "warned",
                           x->message);
    }
    return out;
}

static void test_server_finalizes(void **state)
{
    apr_array_header_t *hosts = hosts_make();
    oauth2_host_t *h;
    const char *out;

    (void)state;
    host(hosts, "main.example", "https://idp.example");
    h = host(hosts, "v.example", "https://idp.example");

    h->cfg->secrets = NULL;
    out = check(hosts, lines_make());
    assert_string_equal(apr_pstrndup(pool, out, 39),
                        "OA2001 1 refused OAuth2Secret: required");
    assert_string_equal(out + strlen(out) - 28, "(virtual host v.example:443)");
}

/* AuthType oauth2 in a virtual host: with its own provider, or the main
 * server's; without either, refused (other AuthTypes are not ours). */
static void test_server_authtype_in_virtual_hosts(void **state)
{
    apr_array_header_t *hosts = hosts_make(), *lines = lines_make();
    int vh, loc;

    (void)state;
    host(hosts, NULL, NULL);
    host(hosts, "v.example", "https://idp.example");
    vh = line(lines, "<VirtualHost", "127.0.0.1:1", -1);
    line(lines, "OAuth2Provider", "https://idp.example", vh);
    loc = line(lines, "<Location", "/x", vh);
    line(lines, "AuthType", "OAuth2", loc);
    assert_string_equal(check(hosts, lines), "");
    vh = line(lines, "<VirtualHost", "127.0.0.1:2", -1);
    loc = line(lines, "<Location", "/y", vh);
    line(lines, "AuthType", "Basic", loc);
    assert_string_equal(check(hosts, lines), "");
    line(lines, "AuthType", "oauth2", loc);
    assert_string_equal(check(hosts, lines),
                        "OA2009 0 refused AuthType on line 8 of "
                        "/etc/apache2/site.conf: AuthType oauth2, but this "
                        "virtual host has no OAuth2Provider");
    /* The main server's provider applies to every virtual host. */
    hosts = hosts_make();
    host(hosts, NULL, "https://idp.example");
    host(hosts, "v.example", NULL);
    assert_string_equal(check(hosts, lines), "");
}

/* Outside any virtual host: the main server's provider, or one in every
 * virtual host. */
static void test_server_authtype_at_the_top(void **state)
{
    apr_array_header_t *hosts = hosts_make(), *lines = lines_make();
    int dir = line(lines, "<Directory", "/srv", -1);

    (void)state;
    line(lines, "AuthType", "oauth2", dir);
    host(hosts, NULL, NULL);
    assert_string_equal(apr_pstrndup(pool, check(hosts, lines), 6), "OA2009");
    host(hosts, "a.example", "https://idp.example");
    host(hosts, "b.example", "https://idp.example");
    assert_string_equal(check(hosts, lines), "");
    host(hosts, "c.example", NULL);
    assert_string_equal(apr_pstrndup(pool, check(hosts, lines), 6), "OA2009");
}

static void test_server_bearer_audience(void **state)
{
    apr_array_header_t *hosts = hosts_make(), *lines = lines_make();
    int dir, files, loc;

    (void)state;
    host(hosts, NULL, "https://idp.example");
    dir = line(lines, "<Directory", "/srv", -1);
    line(lines, "OAuth2BearerAudience", "api", dir);
    files = line(lines, "<Files", "api.cgi", dir);
    line(lines, "OAuth2AcceptBearer", "On", files);
    loc = line(lines, "<Location", "/x", -1);
    line(lines, "OAuth2AcceptBearer", "Off", loc);
    assert_string_equal(check(hosts, lines), "");
    /* An audience in another section does not count. */
    loc = line(lines, "<Location", "/y", -1);
    line(lines, "OAuth2AcceptBearer", "on", loc);
    assert_string_equal(check(hosts, lines),
                        "OA2302 0 refused OAuth2AcceptBearer on line 8 of "
                        "/etc/apache2/site.conf: OAuth2AcceptBearer On needs "
                        "OAuth2BearerAudience in the same section or one that "
                        "encloses it");
    /* At the top, for everything. */
    line(lines, "OAuth2BearerAudience", "api", -1);
    assert_string_equal(check(hosts, lines), "");
}

/* Each host with a provider and a socache store is asked about; the
 * first refusal stops the check, after the warnings before it. */
static void test_server_socache_and_redirect_host(void **state)
{
    apr_array_header_t *hosts = hosts_make(), *lines = lines_make();
    oauth2_host_t *h;
    apr_array_header_t *aliases, *wild;

    (void)state;
    h = host(hosts, "main.example", "https://idp.example");
    h->cfg->redirect_uri = "https://elsewhere.example/oauth2/callback";
    h = host(hosts, "v.example", NULL);
    assert_null(oauth2_cfg_set_store(pool, h->cfg, "redis:127.0.0.1:1"));
    h = host(hosts, "w.example", "https://idp.example");
    assert_null(oauth2_cfg_set_store(pool, h->cfg, "redis:127.0.0.1:2"));
    h = host(hosts, NULL, "https://idp.example");
    assert_null(oauth2_cfg_set_store(pool, h->cfg, "redis:127.0.0.1:3"));
    refused_spec = "redis:127.0.0.1:2";
    usable_calls = 0;
    assert_string_equal(
        check(hosts, lines),
        "OA2012 0 warned OAuth2RedirectURI "
        "https://elsewhere.example/oauth2/callback is on host "
        "elsewhere.example, which is not a name of this virtual host "
        "(main.example): the callback will reach another server unless a "
        "proxy in front maps it here\n"
        "OA2006 2 refused OAuth2SessionStore redis:127.0.0.1:2: no socache "
        "provider");
    assert_int_equal(usable_calls, 1);
    refused_spec = NULL;
    /* The host's names, in any case, and its wildcards. */
    aliases = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(aliases, const char *) = "alias.example";
    wild = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(wild, const char *) = "*.apps.example";
    hosts = hosts_make();
    h = host(hosts, "v.example", "https://idp.example");
    h->names = aliases;
    h->wildcards = wild;
    h->cfg->redirect_uri = "https://V.EXAMPLE/cb";
    assert_string_equal(check(hosts, lines), "");
    h->cfg->redirect_uri = "https://Alias.Example/cb";
    assert_string_equal(check(hosts, lines), "");
    h->cfg->redirect_uri = "https://one.Apps.example:8443/cb";
    assert_string_equal(check(hosts, lines), "");
    h->cfg->redirect_uri = "https://apps.example/cb";
    assert_string_equal(apr_pstrndup(pool, check(hosts, lines), 16),
                        "OA2012 0 warned ");
}

/* A store over a table of this process's memory. */
static oauth2_store_t *table_store(void)
{
    apr_uint64_t size = oauth2_shm_size(64);
    void *base = apr_pcalloc(pool, (apr_size_t)size);
    unsigned char seed[16] = { 0 };
    apr_global_mutex_t *mutex;
    oauth2_shm_t *table = NULL;
    const char *err = NULL;

    assert_int_equal(
        apr_global_mutex_create(&mutex, NULL, APR_LOCK_DEFAULT, pool),
        APR_SUCCESS);
    assert_int_equal(oauth2_shm_format(base, size, 64, seed), APR_SUCCESS);
    assert_int_equal(oauth2_shm_attach(pool, base, size, mutex, &table, &err),
                     APR_SUCCESS);
    return oauth2_store_shm(pool, table);
}

/* The glue's socache maker: counts its calls, refuses made_fail's host. */
static int made;
static const oauth2_host_t *made_fail;
static oauth2_store_t *made_store;

static const char *make(void *ctx, apr_pool_t *pconf, const oauth2_host_t *h,
                        const oauth2_seal_t *seal, oauth2_store_t **store)
{
    (void)ctx;
    (void)pconf;
    assert_non_null(seal);
    made++;
    if (h == made_fail) {
        return "OAuth2SessionStore redis:127.0.0.1:2: cannot initialize";
    }
    *store = made_store;
    return NULL;
}

/* post_config's sites: one per host with a provider, its store the shm
 * table's or the socache one the glue makes; a failure names its host;
 * the providers of the view, in the hosts' order. */
static void test_server_sites(void **state)
{
    apr_array_header_t *hosts = hosts_make(), *provs;
    oauth2_store_t *shm = table_store(), *remote = table_store();
    int bad = -1;

    (void)state;
    host(hosts, "main.example", "https://idp.example");
    host(hosts, "none.example", NULL);
    assert_null(oauth2_cfg_set_store(
        pool, host(hosts, "r.example", "https://idp2.example")->cfg,
        "redis:127.0.0.1:2"));
    assert_int_equal(
        oauth2_server_check(pool, pool, hosts, lines_make(), usable, NULL)
            ->nelts,
        0);
    made = 0;
    made_store = remote;
    made_fail = NULL;
    assert_null(
        oauth2_server_sites(pool, hosts, "test/1.0", shm, make, NULL, &bad));
    assert_int_equal(made, 1);
    assert_non_null(HOST(hosts, 0)->site);
    assert_ptr_equal(HOST(hosts, 0)->site->store, shm);
    assert_null(HOST(hosts, 1)->site);
    assert_ptr_equal(HOST(hosts, 2)->site->store, remote);
    provs = oauth2_server_providers(pool, hosts);
    assert_int_equal(provs->nelts, 2);
    assert_ptr_equal(APR_ARRAY_IDX(provs, 0, oauth2_provider_t *),
                     HOST(hosts, 0)->site->prov);
    assert_ptr_equal(APR_ARRAY_IDX(provs, 1, oauth2_provider_t *),
                     HOST(hosts, 2)->site->prov);
    /* The socache store cannot be made: said, with its host. */
    made_fail = HOST(hosts, 2);
    assert_string_equal(
        oauth2_server_sites(pool, hosts, "test/1.0", shm, make, NULL, &bad),
        "OAuth2SessionStore redis:127.0.0.1:2: cannot initialize");
    assert_int_equal(bad, 2);
    assert_null(HOST(hosts, 2)->site);
}

static void test_server_shm_capacity_and_cookies(void **state)
{
    apr_array_header_t *hosts = hosts_make(), *cookies;
    apr_pool_t *gen;
    oauth2_host_t *h;

    (void)state;
    host(hosts, NULL, NULL);
    assert_int_equal(oauth2_server_shm_capacity(hosts), 0);
    assert_int_equal(oauth2_server_cookie_names(pool, hosts)->nelts, 0);
    h = host(hosts, "a.example", "https://idp.example");
    assert_null(oauth2_cfg_set_store(pool, h->cfg, "shm:2000"));
    h = host(hosts, "b.example", "https://idp.example");
    assert_null(oauth2_cfg_set_store(pool, h->cfg, "redis:127.0.0.1:1"));
    h->cfg->cookie_name = "b_session";
    h = host(hosts, "c.example", NULL);
    assert_null(oauth2_cfg_set_store(pool, h->cfg, "shm:50000"));
    h->cfg->cookie_name = "c_session";
    host(hosts, "d.example", "https://idp.example");
    assert_string_equal(check(hosts, lines_make()), "");
    /* d.example takes the default capacity. */
    assert_int_equal(oauth2_server_shm_capacity(hosts),
                     OAUTH2_DEFAULT_SHM_CAPACITY);
    apr_pool_create(&gen, pool);
    cookies = oauth2_server_cookie_names(gen, hosts);
    assert_int_equal(cookies->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(cookies, 0, const char *),
                        OAUTH2_DEFAULT_COOKIE);
    assert_string_equal(APR_ARRAY_IDX(cookies, 1, const char *), "b_session");
    /* Kept for the generation: the fixups of every host strip them. */
    assert_ptr_equal(oauth2_server_owned_cookies(), cookies);
    apr_pool_destroy(gen);
    assert_null(oauth2_server_owned_cookies());
}

/* ---- named providers (<OAuth2Provider NAME>) ---- */

/* Adds a section name to h's configuration, with a provider and a
 * client; the host gets a secret (sections need one). */
static oauth2_cfg_t *named(oauth2_host_t *h, const char *name)
{
    oauth2_cfg_t *s = NULL;

    assert_null(oauth2_cfg_section(pool, h->cfg,
                                   apr_pstrcat(pool, name, ">", NULL), &s));
    assert_null(oauth2_cfg_set_provider(
        pool, s, apr_pstrcat(pool, "https://", name, ".example", NULL), NULL));
    s->client_id = apr_pstrcat(pool, name, "-app", NULL);
    if (h->cfg->secrets == NULL) {
        h->cfg->secrets = apr_array_make(pool, 1, sizeof(const char *));
        APR_ARRAY_PUSH(h->cfg->secrets, const char *) =
            "0123456789abcdef0123456789abcdef-secret";
    }
    return s;
}

/* A line with all its arguments as written. */
static int line_args(apr_array_header_t *lines, const char *name,
                     const char *args, int parent)
{
    int i = line(lines, name, "", parent);

    APR_ARRAY_IDX(lines, i, oauth2_conf_line_t).args = args;
    APR_ARRAY_IDX(lines, i, oauth2_conf_line_t).arg =
        apr_pstrndup(pool, args, strcspn(args, " "));
    return i;
}

/* A virtual host with named providers only has a provider: AuthType
 * oauth2 there (and at the top when every host has one) is not OA2009. */
static void test_server_sections_have_providers(void **state)
{
    apr_array_header_t *hosts = hosts_make(), *lines = lines_make();
    int vh, sec, loc, dir;

    (void)state;
    host(hosts, NULL, NULL);
    named(host(hosts, "v.example", NULL), "a");
    vh = line(lines, "<VirtualHost", "127.0.0.1:1", -1);
    sec = line(lines, "<OAuth2Provider", "a>", vh);
    line(lines, "OAuth2Provider", "https://a.example", sec);
    line(lines, "OAuth2ClientID", "a-app", sec);
    loc = line(lines, "<Location", "/x", vh);
    line(lines, "AuthType", "oauth2", loc);
    assert_string_equal(check(hosts, lines), "");
    assert_non_null(HOST(hosts, 1)->cfg->named);
    /* at the top: every virtual host has one */
    dir = line(lines, "<Directory", "/srv", -1);
    line(lines, "AuthType", "oauth2", dir);
    assert_string_equal(check(hosts, lines), "");
    /* a virtual host without: refused as before */
    hosts = hosts_make();
    host(hosts, NULL, NULL);
    host(hosts, "v.example", NULL);
    lines = lines_make();
    vh = line(lines, "<VirtualHost", "127.0.0.1:1", -1);
    loc = line(lines, "<Location", "/x", vh);
    line(lines, "AuthType", "oauth2", loc);
    assert_string_equal(apr_pstrndup(pool, check(hosts, lines), 6), "OA2009");
    /* the main server's sections apply to every virtual host */
    hosts = hosts_make();
    named(host(hosts, NULL, NULL), "a");
    host(hosts, "v.example", NULL);
    assert_string_equal(check(hosts, lines), "");
    dir = line(lines, "<Directory", "/srv", -1);
    line(lines, "AuthType", "oauth2", dir);
    assert_string_equal(check(hosts, lines), "");
}

/* Inside <OAuth2Provider>: a line that is not the provider's own (Apache
 * ran it for the server already), OA2013; OAuth2Use naming a provider no
 * host has, OA2013 (another host's is not refused at startup). */
static void test_server_sections_refusals(void **state)
{
    apr_array_header_t *hosts = hosts_make(), *lines = lines_make();
    int vh, sec, loc, x;

    (void)state;
    host(hosts, NULL, NULL);
    named(host(hosts, "v.example", NULL), "a");
    named(host(hosts, "w.example", NULL), "b");
    vh = line(lines, "<VirtualHost", "127.0.0.1:1", -1);
    sec = line(lines, "<OAuth2Provider", "a>", vh);
    line(lines, "OAuth2Provider", "https://a.example", sec);
    loc = line(lines, "<Location", "/x", vh);
    line(lines, "AuthType", "oauth2", loc);
    line_args(lines, "OAuth2Use", "a \"b\" 'A'", loc);
    assert_string_equal(check(hosts, lines), "");

    x = line_args(lines, "OAuth2Use", "a nope", loc);
    assert_string_equal(check(hosts, lines),
                        "OA2013 0 refused OAuth2Use on line 7 of "
                        "/etc/apache2/site.conf: no <OAuth2Provider nope> "
                        "section is configured");
    APR_ARRAY_IDX(lines, x, oauth2_conf_line_t).args = "\"no pe\"";
    assert_non_null(
        strstr(check(hosts, lines), "no <OAuth2Provider no pe> section"));
    /* only the first argument known (an older glue): it is checked */
    APR_ARRAY_IDX(lines, x, oauth2_conf_line_t).args = NULL;
    APR_ARRAY_IDX(lines, x, oauth2_conf_line_t).arg = "other";
    assert_non_null(
        strstr(check(hosts, lines), "no <OAuth2Provider other> section"));
    APR_ARRAY_IDX(lines, x, oauth2_conf_line_t).arg = "b";
    assert_string_equal(check(hosts, lines), "");

    line(lines, "ServerName", "evil.example", sec);
    assert_string_equal(check(hosts, lines),
                        "OA2013 0 refused ServerName on line 8 of "
                        "/etc/apache2/site.conf: only the provider's own "
                        "directives (OAuth2Provider, its client, endpoints "
                        "and claims) may be inside <OAuth2Provider>");
    /* the same line outside a section is not ours to refuse */
    APR_ARRAY_IDX(lines, lines->nelts - 1, oauth2_conf_line_t).parent = vh;
    assert_string_equal(check(hosts, lines), "");
}

/* The cookies every host strips include each named provider's session
 * cookie and the remembered choice; the shm table counts hosts with
 * named providers only. */
static void test_server_sections_cookies_and_capacity(void **state)
{
    apr_array_header_t *hosts = hosts_make(), *cookies;
    oauth2_host_t *h;

    (void)state;
    host(hosts, NULL, NULL);
    h = host(hosts, "v.example", "https://idp.example");
    named(h, "a");
    named(h, "b");
    h = host(hosts, "w.example", NULL);
    named(h, "c");
    assert_null(oauth2_cfg_set_store(pool, h->cfg, "shm:20000"));
    h->cfg->cookie_name = "w";
    assert_string_equal(check(hosts, lines_make()), "");
    assert_int_equal(oauth2_server_shm_capacity(hosts), 20000);
    cookies = oauth2_server_cookie_names(pool, hosts);
    assert_int_equal(cookies->nelts, 6);
    assert_string_equal(APR_ARRAY_IDX(cookies, 0, const char *),
                        "oauth2_session");
    assert_string_equal(APR_ARRAY_IDX(cookies, 1, const char *),
                        "oauth2_session_a");
    assert_string_equal(APR_ARRAY_IDX(cookies, 2, const char *),
                        "oauth2_session_b");
    assert_string_equal(APR_ARRAY_IDX(cookies, 3, const char *),
                        "oauth2_session-provider");
    assert_string_equal(APR_ARRAY_IDX(cookies, 4, const char *), "w_c");
    assert_string_equal(APR_ARRAY_IDX(cookies, 5, const char *), "w-provider");
}

/* post_config's sites: a host's named providers' sites share its store;
 * the view's providers include them (a hub has none of its own). */
static void test_server_sections_sites(void **state)
{
    apr_array_header_t *hosts = hosts_make(), *provs;
    oauth2_store_t *shm = table_store();
    const oauth2_site_t *v, *w;
    oauth2_host_t *h;
    int bad = -1;

    (void)state;
    host(hosts, NULL, NULL);
    h = host(hosts, "v.example", "https://idp.example");
    named(h, "a");
    h = host(hosts, "w.example", NULL);
    named(h, "b");
    named(h, "c");
    assert_string_equal(check(hosts, lines_make()), "");
    made = 0;
    made_fail = NULL;
    assert_null(
        oauth2_server_sites(pool, hosts, "test/1.0", shm, make, NULL, &bad));
    assert_null(HOST(hosts, 0)->site);
    v = HOST(hosts, 1)->site;
    w = HOST(hosts, 2)->site;
    assert_non_null(v);
    assert_non_null(w);
    assert_int_equal(v->nnamed, 1);
    assert_int_equal(w->nnamed, 2);
    assert_null(w->prov);
    assert_ptr_equal(v->named[0]->store, shm);
    assert_ptr_equal(w->named[1]->store, shm);
    assert_string_equal(w->named[1]->name, "c");
    provs = oauth2_server_providers(pool, hosts);
    assert_int_equal(provs->nelts, 4);
    assert_ptr_equal(APR_ARRAY_IDX(provs, 0, oauth2_provider_t *), v->prov);
    assert_ptr_equal(APR_ARRAY_IDX(provs, 1, oauth2_provider_t *),
                     v->named[0]->prov);
    assert_ptr_equal(APR_ARRAY_IDX(provs, 2, oauth2_provider_t *),
                     w->named[0]->prov);
    assert_ptr_equal(APR_ARRAY_IDX(provs, 3, oauth2_provider_t *),
                     w->named[1]->prov);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_finalizes),
        cmocka_unit_test(test_server_authtype_in_virtual_hosts),
        cmocka_unit_test(test_server_authtype_at_the_top),
        cmocka_unit_test(test_server_bearer_audience),
        cmocka_unit_test(test_server_socache_and_redirect_host),
        cmocka_unit_test(test_server_shm_capacity_and_cookies),
        cmocka_unit_test(test_server_sites),
        cmocka_unit_test(test_server_sections_have_providers),
        cmocka_unit_test(test_server_sections_refusals),
        cmocka_unit_test(test_server_sections_cookies_and_capacity),
        cmocka_unit_test(test_server_sections_sites),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
