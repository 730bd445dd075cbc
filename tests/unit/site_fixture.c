/*
 * site_fixture.c: a virtual host of the engine for unit tests (see
 * site_fixture.h).
 */
#include "site_fixture.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base64url.h"
#include "claims.h"
#include "config.h"
#include "crypto.h"
#include "errors.h"
#include "jose.h"
#include "session.h"

static char log_buf[1 << 16];
static apr_size_t log_len;
static const char *next_body;

void sf_log_clear(void)
{
    log_len = 0;
    log_buf[0] = '\0';
}

const char *sf_log(void)
{
    return log_buf;
}

void sf_body(const char *body)
{
    next_body = body;
}

static void fix_log(const oauth2_request_t *r, const char *file, int line,
                    int level, const char *msg)
{
    apr_size_t n = strlen(msg);

    (void)r;
    (void)file;
    (void)line;
    (void)level;
    if (log_len + n + 2 < sizeof(log_buf)) {
        memcpy(log_buf + log_len, msg, n);
        log_len += n;
        log_buf[log_len++] = '\n';
        log_buf[log_len] = '\0';
    }
}

static void fix_complete(oauth2_request_t *r)
{
    r->https = 0;
    r->host = "app.example.com";
    r->host_port = "app.example.com";
    r->base_url = "http://app.example.com";
    r->auth_name = "Staff";
}

static apr_status_t fix_body(oauth2_request_t *r, apr_size_t max,
                             const char **body, apr_size_t *len)
{
    (void)r;
    if (next_body == NULL) {
        return APR_EGENERAL;
    }
    if (strlen(next_body) > max) {
        return OAUTH2_ETOOBIG;
    }
    *body = next_body;
    *len = strlen(next_body);
    return APR_SUCCESS;
}

static const oauth2_request_ops_t fix_ops = { fix_complete, fix_body, fix_log,
                                              NULL };

static void open_shm(sf_t *f)
{
    apr_uint64_t size = oauth2_shm_size(256);
    unsigned char seed[16] = { 1, 2,  3,  4,  5,  6,  7,  8,
                               9, 10, 11, 12, 13, 14, 15, 16 };
    const char *err = NULL;

    assert_int_equal(apr_shm_create(&f->seg, (apr_size_t)size, NULL, f->pool),
                     APR_SUCCESS);
    assert_int_equal(
        apr_global_mutex_create(&f->mutex, NULL, APR_LOCK_DEFAULT, f->pool),
        APR_SUCCESS);
    assert_int_equal(
        oauth2_shm_format(apr_shm_baseaddr_get(f->seg), size, 256, seed),
        APR_SUCCESS);
    assert_int_equal(oauth2_shm_attach(f->pool, apr_shm_baseaddr_get(f->seg),
                                       size, f->mutex, &f->shm, &err),
                     APR_SUCCESS);
    f->store = oauth2_store_shm(f->pool, f->shm);
}

/* Plain OAuth 2.0 endpoints under base. */
static void endpoints(apr_pool_t *p, oauth2_cfg_t *c, const char *base)
{
    c->endpoints[OAUTH2_EP_AUTHORIZATION] =
        apr_pstrcat(p, base, "/authorize", NULL);
    c->endpoints[OAUTH2_EP_TOKEN] = apr_pstrcat(p, base, "/token", NULL);
    c->endpoints[OAUTH2_EP_USERINFO] = apr_pstrcat(p, base, "/userinfo", NULL);
    c->endpoints[OAUTH2_EP_END_SESSION] =
        apr_pstrcat(p, base, "/end-session", NULL);
}

/* The <OAuth2Provider NAME> sections of o->named. */
static void sections(apr_pool_t *p, oauth2_cfg_t *c, const sf_opts_t *o)
{
    char *names = apr_pstrdup(p, o->named), *last = NULL, *name;

    for (name = apr_strtok(names, " ", &last); name != NULL;
         name = apr_strtok(NULL, " ", &last)) {
        const char *base =
            apr_pstrcat(p, "https://", name, ".example.com", NULL);
        oauth2_cfg_t *s = NULL;

        assert_null(
            oauth2_cfg_section(p, c, apr_pstrcat(p, name, ">", NULL), &s));
        assert_null(oauth2_cfg_set_provider(p, s, base, NULL));
        s->client_id = apr_pstrcat(p, name, "-app", NULL);
        s->client_secret = "named-secret";
        s->scope = "email profile";
        endpoints(p, s, base);
    }
}

static oauth2_cfg_t *config(apr_pool_t *p, const sf_opts_t *o)
{
    oauth2_cfg_t *c = oauth2_cfg_create(p);
    const char *base = o->base ? o->base : "https://op.example.com";

    if (!o->hub) {
        assert_null(oauth2_cfg_set_provider(p, c, base, NULL));
        c->client_id = "app";
        c->client_secret = "app-secret";
        c->scope = o->oidc ? "openid email" : "email profile";
        if (!o->oidc) {
            endpoints(p, c, base);
        }
    }
    if (o->named != NULL) {
        sections(p, c, o);
    }
    c->secrets = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->secrets, const char *) = SF_SECRET;
    c->store = o->cookie_sessions ? OAUTH2_STORE_COOKIE : OAUTH2_STORE_SHM;
    if (o->session_timeout > 0) {
        c->session_timeout = o->session_timeout;
    }
    if (o->max_age > 0) {
        c->session_max_age = o->max_age;
    }
    assert_null(oauth2_cfg_finalize(p, c));
    return c;
}

void sf_open(sf_t *f, const sf_opts_t *o)
{
    static const sf_opts_t none;
    const char *err = NULL;
    int i;

    o = o ? o : &none;
    memset(f, 0, sizeof(*f));
    assert_int_equal(apr_pool_create(&f->pool, NULL), APR_SUCCESS);
    f->cfg = config(f->pool, o);
    if (oauth2_site_create(f->pool, f->cfg, "test/1.0", &f->site, &err)
        != APR_SUCCESS) {
        fail_msg("site: %s", err);
    }
    if (!o->no_store) {
        open_shm(f);
    }
    assert_int_equal(oauth2_site_set_store(f->site, f->pool, f->store, &err),
                     APR_SUCCESS);
    if (oauth2_site_add_named(f->site, f->pool, "test/1.0", &err)
        != APR_SUCCESS) {
        fail_msg("named: %s", err);
    }
    if (f->site->prov != NULL) {
        assert_int_equal(oauth2_provider_child_init(f->site->prov, f->pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < f->site->nnamed; i++) {
        assert_int_equal(
            oauth2_provider_child_init(f->site->named[i]->prov, f->pool),
            APR_SUCCESS);
    }
    sf_log_clear();
    next_body = NULL;
}

void sf_close(sf_t *f)
{
    apr_pool_destroy(f->pool);
}

oauth2_request_t *sf_request(sf_t *f, const char *method, const char *uri, ...)
{
    oauth2_request_t *r = apr_pcalloc(f->pool, sizeof(*r));
    apr_table_t *h = apr_table_make(f->pool, 8);
    const char *name, *q = strchr(uri, '?');
    va_list ap;

    va_start(ap, uri);
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);

        if (value != NULL) {
            apr_table_set(h, name, value);
        }
    }
    va_end(ap);
    r->pool = f->pool;
    r->now = SF_NOW;
    r->method = method;
    r->uri = uri;
    r->path = q ? apr_pstrmemdup(f->pool, uri, (apr_size_t)(q - uri)) : uri;
    r->args = q ? q + 1 : NULL;
    r->headers = h;
    r->log_level = OAUTH2_LOG_DEBUG;
    r->ops = &fix_ops;
    return r;
}

const char *sf_record(sf_t *f, const char *claims_json, const char *access,
                      apr_time_t access_expires, apr_size_t *len)
{
    oauth2_session_input_t in;
    oauth2_claims_t *claims = NULL;
    oauth2_session_t *s = NULL;
    const char *err = NULL;
    char *rec = NULL;

    if (oauth2_claims_parse(f->pool, claims_json, strlen(claims_json), 1 << 20,
                            &claims, &err)
        != APR_SUCCESS) {
        fail_msg("claims: %s", err);
    }
    memset(&in, 0, sizeof(in));
    in.claims = claims;
    in.user_claim = "sub";
    in.groups_claim = "groups";
    in.access_token = access;
    in.refresh_token = access ? "refresh-1" : NULL;
    in.access_expires = access_expires;
    in.now = SF_NOW;
    in.max_age = apr_time_from_sec(8 * 3600);
    if (oauth2_session_build(f->pool, &in, &s, &err) != APR_SUCCESS) {
        fail_msg("session: %s", err);
    }
    assert_int_equal(oauth2_session_encode(f->pool, s, &rec, len), APR_SUCCESS);
    return rec;
}

const char *sf_set_cookie(const oauth2_response_t *resp, const char *name)
{
    apr_size_t n = strlen(name);
    int i;

    for (i = 0; resp->cookies != NULL && i < resp->cookies->nelts; i++) {
        const char *c = APR_ARRAY_IDX(resp->cookies, i, const char *);

        if (strncmp(c, name, n) == 0 && c[n] == '=') {
            return c;
        }
    }
    return NULL;
}

const char *sf_cookie_header(apr_pool_t *p, const oauth2_response_t *resp)
{
    const char *out = "";
    int i;

    for (i = 0; resp->cookies != NULL && i < resp->cookies->nelts; i++) {
        const char *c = APR_ARRAY_IDX(resp->cookies, i, const char *);
        apr_size_t pair = strcspn(c, ";");
        const char *eq = strchr(c, '=');

        if (eq == NULL || (apr_size_t)(eq - c) + 1 == pair) {
            continue; /* a deletion */
        }
        out = apr_pstrcat(p, out, *out ? "; " : "", apr_pstrmemdup(p, c, pair),
                          NULL);
    }
    return out;
}

/* ---- the memory store ---- */

typedef struct {
    char *rec;
    apr_size_t len;
    apr_time_t expires;
} mem_entry_t;

static apr_hash_t *mem;
static apr_pool_t *mem_pool;
static apr_status_t mem_failure = APR_SUCCESS;

void sf_mem_fail(apr_status_t rv)
{
    mem_failure = rv;
}

static mem_entry_t *mem_find(const unsigned char *key, apr_time_t now)
{
    mem_entry_t *e = apr_hash_get(mem, key, OAUTH2_STORE_KEY_LEN);

    return e != NULL && e->expires > now ? e : NULL;
}

const char *sf_mem_raw(const unsigned char *key, apr_size_t *len)
{
    mem_entry_t *e = apr_hash_get(mem, key, OAUTH2_STORE_KEY_LEN);

    if (e == NULL) {
        return NULL;
    }
    *len = e->len;
    return e->rec;
}

static apr_status_t mem_get(void *ctx, apr_pool_t *p, const unsigned char *key,
                            apr_time_t now, char **rec, apr_size_t *len,
                            oauth2_store_meta_t *meta)
{
    mem_entry_t *e;

    (void)ctx;
    if (mem_failure != APR_SUCCESS) {
        return mem_failure;
    }
    e = mem_find(key, now);
    if (e == NULL) {
        return OAUTH2_ENOTFOUND;
    }
    *rec = apr_pmemdup(p, e->rec, e->len);
    *len = e->len;
    meta->expires = e->expires;
    return APR_SUCCESS;
}

static apr_status_t mem_put(void *ctx, apr_pool_t *p, const unsigned char *key,
                            const char *rec, apr_size_t len, apr_time_t expires,
                            apr_time_t now)
{
    mem_entry_t *e = apr_pcalloc(mem_pool, sizeof(*e));

    (void)ctx;
    (void)p;
    (void)now;
    if (mem_failure != APR_SUCCESS) {
        return mem_failure;
    }
    e->rec = apr_pmemdup(mem_pool, rec, len);
    e->len = len;
    e->expires = expires;
    apr_hash_set(mem, apr_pmemdup(mem_pool, key, OAUTH2_STORE_KEY_LEN),
                 OAUTH2_STORE_KEY_LEN, e);
    return APR_SUCCESS;
}

static apr_status_t mem_add(void *ctx, apr_pool_t *p, const unsigned char *key,
                            const char *rec, apr_size_t len, apr_time_t expires,
                            apr_time_t now)
{
    if (mem_failure != APR_SUCCESS) {
        return mem_failure;
    }
    if (mem_find(key, now) != NULL) {
        return OAUTH2_EREPLAY;
    }
    return mem_put(ctx, p, key, rec, len, expires, now);
}

static apr_status_t mem_touch(void *ctx, apr_pool_t *p,
                              const unsigned char *key, apr_time_t expires,
                              apr_time_t now)
{
    mem_entry_t *e;

    (void)ctx;
    (void)p;
    if (mem_failure != APR_SUCCESS) {
        return mem_failure;
    }
    e = mem_find(key, now);
    if (e == NULL) {
        return OAUTH2_ENOTFOUND;
    }
    e->expires = expires;
    return APR_SUCCESS;
}

static apr_status_t mem_remove(void *ctx, apr_pool_t *p,
                               const unsigned char *key)
{
    (void)ctx;
    (void)p;
    if (mem_failure != APR_SUCCESS) {
        return mem_failure;
    }
    if (apr_hash_get(mem, key, OAUTH2_STORE_KEY_LEN) == NULL) {
        return OAUTH2_ENOTFOUND;
    }
    apr_hash_set(mem, key, OAUTH2_STORE_KEY_LEN, NULL);
    return APR_SUCCESS;
}

void sf_mem_put_raw(const unsigned char *key, const char *rec, apr_size_t len,
                    apr_time_t expires)
{
    mem_put(NULL, NULL, key, rec, len, expires, 0);
}

static const oauth2_store_ops_t mem_ops = {
    "memory", mem_get, mem_put, mem_add, mem_touch, mem_remove, mem_add,
};

oauth2_store_t *sf_mem_store(sf_t *f, const oauth2_seal_t *seal)
{
    mem_pool = f->pool;
    mem = apr_hash_make(f->pool);
    mem_failure = APR_SUCCESS;
    return oauth2_store_create(f->pool, &mem_ops, NULL, seal);
}

/* ---- the provider's signing key ---- */

static apr_pool_t *key_pool;
static oauth2_jose_key_t *sign_key;
static const char *jwks_json;

static const char *bn_b64(apr_pool_t *p, EVP_PKEY *pk, const char *name)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;

    assert_int_equal(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
    n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return oauth2_base64url_encode(p, buf, (apr_size_t)n);
}

/* Makes the key and its JWK Set once. */
static void make_key(void)
{
    EVP_PKEY *pk;
    BIO *bio;
    char *pem;
    long len;
    const char *err = NULL;

    if (sign_key != NULL) {
        return;
    }
    assert_int_equal(apr_pool_create(&key_pool, NULL), APR_SUCCESS);
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(pk);
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(
        PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_get_mem_data(bio, &pem);
    assert_int_equal(
        oauth2_jose_key_pem(key_pool, pem, (apr_size_t)len, &sign_key, &err),
        APR_SUCCESS);
    jwks_json = apr_psprintf(
        key_pool,
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"alg\":\"RS256\","
        "\"use\":\"sig\",\"n\":\"%s\",\"e\":\"%s\"}]}",
        bn_b64(key_pool, pk, OSSL_PKEY_PARAM_RSA_N),
        bn_b64(key_pool, pk, OSSL_PKEY_PARAM_RSA_E));
    BIO_free(bio);
    EVP_PKEY_free(pk);
}

const char *sf_jwks(apr_pool_t *p)
{
    make_key();
    return apr_pstrdup(p, jwks_json);
}

const char *sf_jwt(apr_pool_t *p, const char *header, const char *claims)
{
    char *out = NULL;
    const char *err = NULL;

    make_key();
    if (oauth2_jose_sign_rs256(p, sign_key, header, claims, &out, &err)
        != APR_SUCCESS) {
        fail_msg("sign: %s", err);
    }
    return out;
}

void sf_done(void)
{
    if (key_pool != NULL) {
        apr_pool_destroy(key_pool);
        key_pool = NULL;
        sign_key = NULL;
    }
}

int sf_setup(void **state)
{
    (void)state;
    apr_initialize();
    return oauth2_crypto_init() == APR_SUCCESS ? 0 : -1;
}

int sf_teardown(void **state)
{
    (void)state;
    sf_done();
    apr_terminate();
    return 0;
}

void sf_oidc_routes(fs_t *fs, apr_pool_t *p, const char *extra)
{
    fs_route(fs, "GET", "/.well-known/openid-configuration", 200, NULL,
             apr_pstrcat(p,
                         "{\"issuer\":\"{base}\",\"authorization_endpoint\":"
                         "\"{base}/authorize\",\"token_endpoint\":"
                         "\"{base}/token\",\"jwks_uri\":\"{base}/jwks\"",
                         extra, "}", NULL));
    fs_route(fs, "GET", "/jwks", 200, NULL, sf_jwks(p));
}
