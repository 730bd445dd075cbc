/*
 * provider_shm.c: the server's view of its providers in shared memory (the
 * contract is in provider_shm.h). The glue creates the segment (anonymous
 * APR shm, in the parent before it forks); this file formats and uses the
 * bytes at base.
 *
 * Layout (offsets from base; every count and offset is recomputed from the
 * number of entries N at attach and checked against the header, never
 * taken from the segment):
 *
 *   header   256 B       pshm_header_t: magic, layout version, N, entry
 *                        size, total size, the two document caps
 *   entries  E B  x N    one per provider:
 *              head      pshm_head_t (rounded up to 64 B): key, used flag,
 *                        and per document its state (pshm_doc_t: the
 *                        generation, length and fetch time of the bytes;
 *                        lease token and deadline; back-off; last refetch
 *                        for an unknown kid; counters; last failure reason)
 *              discovery OAUTH2_MAX_RESPONSE bytes
 *              JWKS      OAUTH2_MAX_JWKS bytes
 *
 *   E = 768 KiB + 576 B. Only the header and the heads are written at
 *   format; the document pages are touched when a document is stored, so
 *   the memory in use is what the documents hold.
 *
 * Concurrency. Every change, and every read of the bytes, holds the global
 * mutex; it is never held during a network call (the lease stands for the
 * fetch). The generation, the lease token and its deadline are written with
 * __atomic stores under the mutex, so oauth2_pshm_generation() and
 * oauth2_pshm_wait() read them without it. A lock-free reader may see a
 * key being rewritten by oauth2_pshm_bind(): it then reads generation 0
 * and goes the locked way, which sees the truth.
 */
#include <string.h>

#include <apr_strings.h>

#include "bounds.h"
#include "errors.h"
#include "provider_shm.h"

#define PSHM_MAGIC  0x5032414fu /* "OA2P" little-endian */
#define PSHM_LAYOUT 1u
#define PSHM_HEADER 256u
#define PSHM_ALIGN  64u
#define PSHM_ROUND(n) \
    (((apr_uint64_t)(n) + PSHM_ALIGN - 1) / PSHM_ALIGN * PSHM_ALIGN)

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t layout;
    apr_uint32_t entries;
    apr_uint32_t entry_size;
    apr_uint64_t size;
    apr_uint32_t caps[2];
} pshm_header_t;

/* The state of one document of one provider. */
typedef struct {
    apr_uint32_t gen; /* of the bytes; 0: none (atomic) */
    apr_uint32_t len;
    apr_uint32_t lease;     /* token of the running fetch; 0: none (atomic) */
    apr_uint32_t lease_seq; /* the last token handed out */
    apr_uint32_t fetches;
    apr_uint32_t failures;
    apr_time_t fetched;     /* when the bytes were fetched */
    apr_time_t lease_until; /* the lease's deadline (atomic) */
    apr_time_t next_try;    /* no fetch before this (back-off) */
    apr_interval_time_t backoff;
    apr_time_t kid_refetch; /* last lease for an unknown kid; 0: never */
    char err[OAUTH2_PSHM_ERR_LEN];
} pshm_doc_t;

typedef struct {
    unsigned char key[OAUTH2_PSHM_KEY_LEN];
    apr_uint32_t used; /* 1: bound to key */
    apr_uint32_t pad;
    pshm_doc_t docs[2];
} pshm_head_t;

struct oauth2_pshm_t {
    unsigned char *base;
    apr_uint32_t entries;
    apr_uint64_t entry_size;
    apr_global_mutex_t *mutex;
};

static const apr_uint32_t caps[2] = { OAUTH2_MAX_RESPONSE, OAUTH2_MAX_JWKS };

static apr_uint64_t entry_size(void)
{
    return PSHM_ROUND(sizeof(pshm_head_t)) + PSHM_ROUND(caps[0])
           + PSHM_ROUND(caps[1]);
}

apr_uint64_t oauth2_pshm_size(apr_uint32_t entries)
{
    apr_uint64_t size;

    if (entries == 0 || entries > OAUTH2_PSHM_MAX_ENTRIES) {
        return 0;
    }
    size = PSHM_HEADER + (apr_uint64_t)entries * entry_size();
    return size > (apr_uint64_t)(apr_size_t)-1 ? 0 : size;
}

apr_status_t oauth2_pshm_format(void *base, apr_uint64_t size,
                                apr_uint32_t entries)
{
    pshm_header_t *hdr = base;
    apr_uint64_t need = oauth2_pshm_size(entries);
    apr_uint32_t i;

    if (base == NULL || need == 0 || size < need) {
        return APR_EINVAL;
    }
    memset(base, 0, PSHM_HEADER);
    for (i = 0; i < entries; i++) {
        memset((unsigned char *)base + PSHM_HEADER + i * entry_size(), 0,
               sizeof(pshm_head_t));
    }
    hdr->layout = PSHM_LAYOUT;
    hdr->entries = entries;
    hdr->entry_size = (apr_uint32_t)entry_size();
    hdr->size = need;
    hdr->caps[0] = caps[0];
    hdr->caps[1] = caps[1];
    __atomic_store_n(&hdr->magic, PSHM_MAGIC, __ATOMIC_RELEASE);
    return APR_SUCCESS;
}

apr_uint32_t oauth2_pshm_capacity(const void *base, apr_uint64_t size)
{
    const pshm_header_t *hdr = base;

    if (base == NULL || size < PSHM_HEADER || hdr->magic != PSHM_MAGIC
        || hdr->layout != PSHM_LAYOUT || hdr->entry_size != entry_size()
        || hdr->caps[0] != caps[0] || hdr->caps[1] != caps[1]
        || oauth2_pshm_size(hdr->entries) == 0
        || hdr->size != oauth2_pshm_size(hdr->entries) || hdr->size > size) {
        return 0;
    }
    return hdr->entries;
}

apr_status_t oauth2_pshm_attach(apr_pool_t *p, void *base, apr_uint64_t size,
                                apr_global_mutex_t *mutex, oauth2_pshm_t **out,
                                const char **err)
{
    apr_uint32_t n = oauth2_pshm_capacity(base, size);
    oauth2_pshm_t *v;

    if (n == 0) {
        *err = "not a provider view of this layout and size";
        return APR_EINVAL;
    }
    if (mutex == NULL) {
        *err = "no mutex";
        return APR_EINVAL;
    }
    v = apr_pcalloc(p, sizeof(*v));
    v->base = base;
    v->entries = n;
    v->entry_size = entry_size();
    v->mutex = mutex;
    *out = v;
    return APR_SUCCESS;
}

static pshm_head_t *head(const oauth2_pshm_t *v, apr_uint32_t slot)
{
    return (pshm_head_t *)(v->base + PSHM_HEADER + slot * v->entry_size);
}

static unsigned char *doc_bytes(const oauth2_pshm_t *v, apr_uint32_t slot,
                                oauth2_pshm_doc_e doc)
{
    return (unsigned char *)head(v, slot) + PSHM_ROUND(sizeof(pshm_head_t))
           + (doc == OAUTH2_PSHM_JWKS ? PSHM_ROUND(caps[0]) : 0);
}

/* The entry's state for doc when slot is key's, else NULL. */
static pshm_doc_t *mine(const oauth2_pshm_t *v, apr_uint32_t slot,
                        const unsigned char *key, oauth2_pshm_doc_e doc)
{
    pshm_head_t *h;

    if (v == NULL || key == NULL || slot >= v->entries
        || (doc != OAUTH2_PSHM_DISCOVERY && doc != OAUTH2_PSHM_JWKS)) {
        return NULL;
    }
    h = head(v, slot);
    if (!__atomic_load_n(&h->used, __ATOMIC_ACQUIRE)
        || memcmp(h->key, key, OAUTH2_PSHM_KEY_LEN) != 0) {
        return NULL;
    }
    return &h->docs[doc];
}

/* Empties an entry and gives it to key (mutex held). */
static void claim(oauth2_pshm_t *v, apr_uint32_t slot, const unsigned char *key)
{
    pshm_head_t *h = head(v, slot);

    __atomic_store_n(&h->used, 0, __ATOMIC_RELEASE);
    memset(h->docs, 0, sizeof(h->docs));
    memcpy(h->key, key, OAUTH2_PSHM_KEY_LEN);
    __atomic_store_n(&h->used, 1, __ATOMIC_RELEASE);
}

/* The entry holding key, or v->entries. */
static apr_uint32_t find(const oauth2_pshm_t *v, const unsigned char *key)
{
    apr_uint32_t i;

    for (i = 0; i < v->entries; i++) {
        if (head(v, i)->used
            && memcmp(head(v, i)->key, key, OAUTH2_PSHM_KEY_LEN) == 0) {
            return i;
        }
    }
    return v->entries;
}

/* An entry for a new key: a free one first, then one whose key is not in
 * keys (not taken yet in this bind); v->entries when none. */
static apr_uint32_t pick(const oauth2_pshm_t *v, const char *taken,
                         const unsigned char *keys, apr_uint32_t n)
{
    apr_uint32_t i, j;

    for (i = 0; i < v->entries; i++) {
        if (!taken[i] && !head(v, i)->used) {
            return i;
        }
    }
    for (i = 0; i < v->entries; i++) {
        for (j = 0; j < n && !taken[i]; j++) {
            if (memcmp(head(v, i)->key, keys + j * OAUTH2_PSHM_KEY_LEN,
                       OAUTH2_PSHM_KEY_LEN)
                == 0) {
                break;
            }
        }
        if (!taken[i] && j == n) {
            return i;
        }
    }
    return v->entries;
}

/* The slot an earlier key of the list equal to keys[i] got, or none. */
static apr_uint32_t earlier(const oauth2_pshm_t *v, const unsigned char *keys,
                            const apr_uint32_t *slots, apr_uint32_t i)
{
    apr_uint32_t j;

    for (j = 0; j < i; j++) {
        if (memcmp(keys + j * OAUTH2_PSHM_KEY_LEN,
                   keys + i * OAUTH2_PSHM_KEY_LEN, OAUTH2_PSHM_KEY_LEN)
            == 0) {
            return slots[j];
        }
    }
    return v->entries;
}

/* Assigns entries (mutex held): kept ones first, then new ones. With
 * apply 0 only checks that there are enough. */
static apr_status_t assign(oauth2_pshm_t *v, char *taken,
                           const unsigned char *keys, apr_uint32_t n,
                           apr_uint32_t *slots, int apply)
{
    apr_uint32_t i;

    memset(taken, 0, v->entries);
    for (i = 0; i < n; i++) {
        slots[i] = find(v, keys + i * OAUTH2_PSHM_KEY_LEN);
        if (slots[i] < v->entries) {
            taken[slots[i]] = 1;
        }
    }
    for (i = 0; i < n; i++) {
        if (slots[i] < v->entries) {
            continue;
        }
        slots[i] = earlier(v, keys, slots, i);
        if (slots[i] < v->entries) {
            continue;
        }
        slots[i] = pick(v, taken, keys, n);
        if (slots[i] == v->entries) {
            return OAUTH2_EFULL;
        }
        taken[slots[i]] = 1;
        if (apply) {
            claim(v, slots[i], keys + i * OAUTH2_PSHM_KEY_LEN);
        }
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_pshm_bind(oauth2_pshm_t *v, apr_pool_t *p,
                              const unsigned char *keys, apr_uint32_t n,
                              apr_uint32_t *slots)
{
    char *taken = apr_palloc(p, v->entries);
    apr_status_t rv = apr_global_mutex_lock(v->mutex);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = assign(v, taken, keys, n, slots, 0);
    if (rv == APR_SUCCESS) {
        rv = assign(v, taken, keys, n, slots, 1);
    }
    apr_global_mutex_unlock(v->mutex);
    return rv;
}

apr_uint32_t oauth2_pshm_generation(oauth2_pshm_t *v, apr_uint32_t slot,
                                    const unsigned char *key,
                                    oauth2_pshm_doc_e doc)
{
    pshm_doc_t *d = mine(v, slot, key, doc);

    return d != NULL ? __atomic_load_n(&d->gen, __ATOMIC_ACQUIRE) : 0;
}

apr_status_t oauth2_pshm_read(oauth2_pshm_t *v, apr_uint32_t slot,
                              const unsigned char *key, oauth2_pshm_doc_e doc,
                              apr_pool_t *p, const char **body, apr_size_t *len,
                              apr_uint32_t *gen, apr_time_t *fetched)
{
    pshm_doc_t *d;
    char *copy = NULL;
    apr_status_t rv;

    if (v == NULL) {
        return OAUTH2_ENOTFOUND;
    }
    rv = apr_global_mutex_lock(v->mutex);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    d = mine(v, slot, key, doc);
    rv = OAUTH2_ENOTFOUND;
    if (d != NULL && d->gen != 0 && d->len <= caps[doc]) {
        copy = apr_palloc(p, (apr_size_t)d->len + 1);
        memcpy(copy, doc_bytes(v, slot, doc), d->len);
        copy[d->len] = '\0';
        *len = d->len;
        *gen = d->gen;
        *fetched = d->fetched;
        rv = APR_SUCCESS;
    }
    apr_global_mutex_unlock(v->mutex);
    *body = copy;
    return rv;
}

/* The decision of oauth2_pshm_begin (mutex held). */
static oauth2_pshm_turn_e turn(pshm_doc_t *d, apr_time_t now, apr_uint32_t seen,
                               int unknown_kid, apr_interval_time_t lease,
                               apr_uint32_t *token)
{
    if (d->gen != 0 && d->gen != seen) {
        return OAUTH2_PSHM_NEWER;
    }
    if (d->lease != 0 && now < d->lease_until) {
        return OAUTH2_PSHM_BUSY;
    }
    /* A kid refetch by a process whose clock is ahead counts as recent. */
    if (unknown_kid && d->kid_refetch != 0
        && now - d->kid_refetch < OAUTH2_JWKS_MIN_INTERVAL) {
        return OAUTH2_PSHM_LIMITED;
    }
    if (now < d->next_try) {
        return OAUTH2_PSHM_BACKOFF;
    }
    if (++d->lease_seq == 0) {
        d->lease_seq = 1;
    }
    *token = d->lease_seq;
    __atomic_store_n(&d->lease_until, now + lease, __ATOMIC_RELAXED);
    __atomic_store_n(&d->lease, *token, __ATOMIC_RELEASE);
    if (unknown_kid) {
        d->kid_refetch = now;
    }
    return OAUTH2_PSHM_FETCH;
}

oauth2_pshm_turn_e
oauth2_pshm_begin(oauth2_pshm_t *v, apr_uint32_t slot, const unsigned char *key,
                  oauth2_pshm_doc_e doc, apr_time_t now, apr_uint32_t seen,
                  int unknown_kid, apr_interval_time_t lease,
                  apr_uint32_t *token, apr_pool_t *p, const char **err)
{
    oauth2_pshm_turn_e t = OAUTH2_PSHM_BACKOFF;
    pshm_doc_t *d;

    *token = 0;
    if (v == NULL || apr_global_mutex_lock(v->mutex) != APR_SUCCESS) {
        *err = "cannot lock the provider view";
        return OAUTH2_PSHM_BACKOFF;
    }
    d = mine(v, slot, key, doc);
    if (d == NULL) {
        *err = "the provider's shared entry was reassigned";
    }
    else {
        t = turn(d, now, seen, unknown_kid, lease, token);
        if (t == OAUTH2_PSHM_BACKOFF) {
            *err = apr_psprintf(p, "%.*s (the next try in %d ms)",
                                (int)strnlen(d->err, sizeof(d->err)), d->err,
                                (int)((d->next_try - now + 999) / 1000));
        }
    }
    apr_global_mutex_unlock(v->mutex);
    return t;
}

/* Records a fetch's result (mutex held); the new generation or 0. */
static apr_uint32_t record(pshm_doc_t *d, unsigned char *bytes,
                           apr_uint32_t cap, apr_time_t now, int ok,
                           const char *body, apr_size_t len, const char *reason)
{
    apr_uint32_t gen;

    if (ok && body != NULL && len <= cap) {
        memcpy(bytes, body, len);
        d->len = (apr_uint32_t)len;
        d->fetched = now;
        d->backoff = 0;
        d->next_try = 0;
        d->err[0] = '\0';
        __atomic_fetch_add(&d->fetches, 1, __ATOMIC_RELAXED);
        gen = d->gen + 1 == 0 ? 1 : d->gen + 1;
        __atomic_store_n(&d->gen, gen, __ATOMIC_RELEASE);
        return gen;
    }
    __atomic_fetch_add(&d->failures, 1, __ATOMIC_RELAXED);
    d->backoff = d->backoff == 0 ? OAUTH2_FETCH_BACKOFF_MIN : d->backoff * 2;
    if (d->backoff > OAUTH2_FETCH_BACKOFF_MAX) {
        d->backoff = OAUTH2_FETCH_BACKOFF_MAX;
    }
    d->next_try = now + d->backoff;
    apr_cpystrn(d->err,
                ok ? "the document is over its size limit"
                   : (reason ? reason : "the fetch failed"),
                sizeof(d->err));
    return 0;
}

apr_uint32_t oauth2_pshm_end(oauth2_pshm_t *v, apr_uint32_t slot,
                             const unsigned char *key, oauth2_pshm_doc_e doc,
                             apr_uint32_t token, apr_time_t now, int ok,
                             const char *body, apr_size_t len,
                             const char *reason)
{
    apr_uint32_t gen = 0;
    pshm_doc_t *d;

    if (v == NULL || apr_global_mutex_lock(v->mutex) != APR_SUCCESS) {
        return 0;
    }
    d = mine(v, slot, key, doc);
    if (d != NULL) {
        if (token != 0 && d->lease == token) {
            __atomic_store_n(&d->lease, 0, __ATOMIC_RELEASE);
        }
        gen = record(d, doc_bytes(v, slot, doc), caps[doc], now, ok, body, len,
                     reason);
    }
    apr_global_mutex_unlock(v->mutex);
    return gen;
}

/* Has the fetch a waiter waits for ended (or its lease expired)? */
static int wait_over(pshm_doc_t *d, apr_uint32_t seen, apr_time_t now)
{
    return __atomic_load_n(&d->gen, __ATOMIC_ACQUIRE) != seen
           || __atomic_load_n(&d->lease, __ATOMIC_ACQUIRE) == 0
           || now >= __atomic_load_n(&d->lease_until, __ATOMIC_RELAXED);
}

void oauth2_pshm_wait(oauth2_pshm_t *v, apr_uint32_t slot,
                      const unsigned char *key, oauth2_pshm_doc_e doc,
                      apr_uint32_t seen, apr_interval_time_t max)
{
    apr_time_t now = apr_time_now(), end = now + max;
    apr_interval_time_t step = apr_time_from_msec(10);
    pshm_doc_t *d = mine(v, slot, key, doc);

    while (d != NULL && now < end && !wait_over(d, seen, now)) {
        apr_sleep(step < end - now ? step : end - now);
        if (step < apr_time_from_msec(50)) {
            step += apr_time_from_msec(10);
        }
        now = apr_time_now();
    }
}

void oauth2_pshm_stats(oauth2_pshm_t *v, apr_uint32_t slot,
                       oauth2_pshm_stats_t *st)
{
    pshm_head_t *h;
    int i;

    memset(st, 0, sizeof(*st));
    if (v == NULL || slot >= v->entries) {
        return;
    }
    h = head(v, slot);
    for (i = 0; i < 2; i++) {
        st->fetches[i] = __atomic_load_n(&h->docs[i].fetches, __ATOMIC_RELAXED);
        st->failures += __atomic_load_n(&h->docs[i].failures, __ATOMIC_RELAXED);
    }
}
