/*
 * store_shm.c: the session table of one host in APR shared memory (the
 * contract is in store_shm.h). The segment itself is created by the glue
 * (apr_shm_create, anonymous, in the parent before it forks); this file
 * only formats and uses the bytes at base. Nothing here logs, allocates
 * per call or makes a system call on the read path.
 *
 * Layout (offsets from base; each region starts on a 64-byte boundary;
 * every count and offset is recomputed from the capacity C at attach and
 * checked against the header, never taken from the segment):
 *
 *   header   256 B      shm_header_t: magic, layout version, capacity,
 *                       slot/chunk sizes, window, total size, hash seed;
 *                       writer state (free chunk list head, sweep cursor,
 *                       the "writer inside" mark) and counters (live,
 *                       chunks free, evictions, repairs, refusals, ...)
 *   tags     8 B  x C   one 64-bit tag per slot: the keyed hash of the
 *                       slot's key (never 0); 0 = empty
 *   slots    512 B x C  shm_slot_t: a 64-byte head (seqlock version,
 *                       flags, record length, first chunk, chunk count,
 *                       expiry, key) and 448 bytes of inline record data
 *   chunks   256 B x 4C overflow chunks, record bytes only
 *   next     4 B  x 4C  next[i] = the chunk after chunk i+1 in its chain
 *                       (1-based, 0 = end), for records and the free list
 *   marks    40 B x C   shm_mark_t: one-time markers (a used login state,
 *                       a logout token's jti, a refresh lock): key and
 *                       expiry, no record; a pool of their own, so that
 *                       markers, which anonymous clients can cause, never
 *                       take a session's slot
 *   links    72 B x 4C  shm_link_t: index entries (key, the key of the
 *                       record they name, expiry), a pool of their own
 *   owned    1 bit x 4C scratch for the repair: which chunks a record holds
 *
 *   = 1,888.5 bytes of segment per record of capacity (SPEC: <= 2 KB).
 *
 * A key hashes (SipHash-1-3 keyed with the 16-byte seed) to a 64-bit tag;
 * its high half picks the bucket. A record lives in one of the SHM_WINDOW
 * slots from its bucket (wrapping). Lookups compare tags over the whole
 * window (256 bytes: four adjacent cache lines), so a delete only clears
 * the tag: there are no tombstones and records never move. Markers use
 * the same bucket and window in their own array.
 *
 * Concurrency. Writers (put, mark, delete, touch) hold the global mutex.
 * Readers (get, check) take no lock: each slot has a seqlock version that
 * a writer makes odd before it changes the slot, its tag or its chunks,
 * and even (+1) when done. A reader loads the version (acquire), copies
 * the head, the inline data and the chunk chain into the caller's buffer,
 * issues an acquire fence and reloads the version; any change means the
 * copy may be torn and is retried (a few times, then OAUTH2_EBUSY). Chunks
 * freed from slot A and reused by slot B are only freed while A's version
 * is odd, so a reader of A always notices. A torn copy can see any bytes:
 * every length and chunk index it reads is bounds-checked before use and
 * chains are walked at most SHM_MAX_CHAIN steps, so a torn read, or a
 * corrupted segment, can produce EBUSY or garbage but never an access
 * outside the segment or an endless loop. Scalar fields that are checked
 * and then used are read once with __atomic loads for the same reason.
 * Markers are only ever read by writers.
 *
 * A writer that dies inside (SIGKILL, the OOM killer, a crash elsewhere
 * in the process) leaves the mutex to the next writer (the default
 * mutexes release it: a robust pthread mutex, fcntl, flock, SysV
 * semaphores with SEM_UNDO), but its work half done: a slot with an odd
 * version, a chain half taken from or half given back to the free list.
 * So every writer sets the header's "writer inside" mark after it takes
 * the mutex and clears it, last, before it lets go; the next writer that
 * finds the mark set repairs the table before anything else (one pass
 * over every slot, done only then): slots with an odd version, a wrong
 * tag or a chain that does not hold together are emptied, each record's
 * chain is claimed in the owned bitmap (a chunk claimed twice empties the
 * second record), every unclaimed chunk goes back on a rebuilt free list,
 * and the counters are recounted. Readers of the emptied slots see their
 * version move and retry; no other record's chain is touched, so readers
 * never get another record's bytes.
 *
 * Expiry and room. A record is live while now < expires. Each put sweeps
 * SHM_SWEEP slots from a rotating cursor and frees expired records (as
 * redis does: bounded work per call, never a full scan). A new key takes
 * an empty or expired slot of its window, else evicts a record there that
 * its class may evict (oauth2_shm_class_e: a cache entry only cache
 * entries, a session caches and sessions, a pinned record only caches,
 * and pinned records hold at most a quarter of the slots), the
 * lowest class first, then the one that expires first. When chunks run
 * short it sweeps SHM_SWEEP_MORE more slots, then evicts records that
 * hold chunks by the same rules (in each of at most SHM_EVICT_ROUNDS
 * windows from the cursor, one) until the record fits; only then does it
 * answer OAUTH2_EFULL.
 */
#include <string.h>

#include "bounds.h"
#include "errors.h"
#include "store_shm.h"

#define SHM_MAGIC           0x5332414fu /* "OA2S" little-endian */
#define SHM_LAYOUT          4u
#define SHM_HEADER_SIZE     256u
#define SHM_ALIGN           64u
#define SHM_SLOT_SIZE       512u
#define SHM_SLOT_HEAD       64u
#define SHM_INLINE          (SHM_SLOT_SIZE - SHM_SLOT_HEAD)
#define SHM_CHUNK_SIZE      256u
#define SHM_CHUNKS_PER_SLOT 4u
#define SHM_LINKS_PER_SLOT  4u
#define SHM_WINDOW          32u
#define SHM_SWEEP           8u
#define SHM_SWEEP_MORE      256u
#define SHM_EVICT_ROUNDS    64u
#define SHM_READ_TRIES      8
/* Pinned records hold at most 1/SHM_PINNED_SHARE of the slots. */
#define SHM_PINNED_SHARE 4u
/* Chunks a record of OAUTH2_MAX_SESSION_RECORD bytes needs: the longest
 * chain a reader or writer ever follows. */
#define SHM_MAX_CHAIN                                              \
    ((OAUTH2_MAX_SESSION_RECORD - SHM_INLINE + SHM_CHUNK_SIZE - 1) \
     / SHM_CHUNK_SIZE)

#define SLOT_USED 1u

typedef struct {
    /* Fixed at format time; attach checks each against its own values. */
    apr_uint32_t magic;
    apr_uint32_t layout;
    apr_uint32_t capacity;
    apr_uint32_t slot_size;
    apr_uint32_t chunk_size;
    apr_uint32_t nchunks;
    apr_uint32_t window;
    apr_uint32_t reserved;
    apr_uint64_t size;
    unsigned char seed[16];
    /* Written under the mutex only. */
    apr_uint32_t free_head; /* first free chunk, 1-based; 0 = none */
    apr_uint32_t cursor;    /* next slot the sweep looks at */
    /* Counters: updated under the mutex, read without it. */
    apr_uint32_t chunks_free;
    apr_uint32_t live;
    apr_uint64_t evictions;
    /* Non-zero from a writer's taking the mutex until it lets go: found
     * set by the next writer, it means the last one died inside. */
    apr_uint32_t writer;
    apr_uint32_t repairs;
    apr_uint64_t markers_evicted;
    apr_uint64_t refused;
    /* What oauth2_shm_report() told last, and when (lock-free). */
    apr_uint64_t reported_evictions;
    apr_uint32_t reported_repairs;
    apr_uint32_t reserved2;
    apr_int64_t reported_at;
    /* Live records of each class (oauth2_shm_class_e). */
    apr_uint32_t live_class[OAUTH2_SHM_CLASSES];
    apr_uint32_t reserved3;
    apr_uint64_t links_evicted; /* live links dropped for links */
} shm_header_t;

typedef struct {
    apr_uint32_t version; /* seqlock: odd while a writer is inside */
    apr_uint32_t flags;   /* SLOT_USED */
    apr_uint32_t len;     /* record bytes */
    apr_uint32_t first;   /* first overflow chunk, 1-based; 0 = none */
    apr_uint32_t nchunks; /* chunks in the chain */
    apr_uint32_t klass;   /* oauth2_shm_class_e */
    apr_int64_t expires;  /* apr_time_t; changed in place by touch */
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    unsigned char data[SHM_INLINE];
} shm_slot_t;

/* A one-time marker; expires 0 = an empty entry. */
typedef struct {
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    apr_int64_t expires;
} shm_mark_t;

/* A link (an index entry naming a record's key); expires 0 = empty. */
typedef struct {
    unsigned char key[OAUTH2_SHM_KEY_LEN];
    unsigned char value[OAUTH2_SHM_KEY_LEN];
    apr_int64_t expires;
} shm_link_t;

_Static_assert(sizeof(shm_header_t) <= SHM_HEADER_SIZE, "header size");
_Static_assert(sizeof(shm_mark_t) == 40, "marker size");
_Static_assert(sizeof(shm_link_t) == 72, "link size");
_Static_assert(sizeof(shm_slot_t) == SHM_SLOT_SIZE, "slot size");
_Static_assert(SHM_WINDOW < OAUTH2_SHM_MIN_CAPACITY, "window size");
_Static_assert(SHM_MAX_CHAIN <= SHM_CHUNKS_PER_SLOT * OAUTH2_SHM_MIN_CAPACITY,
               "the smallest table holds one record of the largest size");

struct oauth2_shm_t {
    shm_header_t *hdr;
    apr_uint64_t *tags;
    shm_slot_t *slots;
    unsigned char *chunks;
    apr_uint32_t *next;
    shm_mark_t *marks;
    shm_link_t *links;
    unsigned char *owned;  /* nchunks bits */
    apr_uint32_t capacity; /* from the geometry, not the segment */
    apr_uint32_t nchunks;
    apr_uint32_t nlinks;
    apr_uint64_t size;
    apr_uint64_t k0, k1; /* the seed, as SipHash keys */
    apr_global_mutex_t *mutex;
};

/* Where each region starts, for one capacity. */
typedef struct {
    apr_uint64_t tags, slots, chunks, next, marks, links, owned, size;
    apr_uint32_t nchunks, nlinks;
} shm_geom_t;

/* What one attempt to read a slot found. */
typedef enum {
    READ_MATCH,  /* the key's record, copied */
    READ_TOOBIG, /* the key's record, larger than the buffer */
    READ_OTHER,  /* another key, or empty */
    READ_TORN    /* changed while read (or corrupted): retry */
} shm_read_result_e;

/* A reader's view of one slot. */
typedef struct {
    unsigned char *buf;
    apr_size_t bufsize;
    int prefix; /* copy what fits instead of READ_TOOBIG */
    apr_uint32_t len;
    apr_uint32_t version;
    apr_time_t expires;
} shm_read_t;

/* *off += count * unit rounded up to SHM_ALIGN; 0 on 64-bit overflow. */
static int geom_add(apr_uint64_t *off, apr_uint64_t count, apr_uint64_t unit)
{
    apr_uint64_t bytes;

    if (unit != 0 && count > UINT64_MAX / unit) {
        return 0;
    }
    bytes = count * unit;
    if (bytes > UINT64_MAX - (SHM_ALIGN - 1)) {
        return 0;
    }
    bytes = (bytes + SHM_ALIGN - 1) & ~(apr_uint64_t)(SHM_ALIGN - 1);
    if (*off > UINT64_MAX - bytes) {
        return 0;
    }
    *off += bytes;
    return 1;
}

/* The layout for capacity; 0 when it is out of range or does not fit. */
static int shm_geometry(apr_uint32_t capacity, shm_geom_t *g)
{
    apr_uint64_t off = SHM_HEADER_SIZE;
    apr_uint64_t nchunks = (apr_uint64_t)capacity * SHM_CHUNKS_PER_SLOT;

    if (capacity < OAUTH2_SHM_MIN_CAPACITY || capacity > OAUTH2_SHM_MAX_CAPACITY
        || nchunks > UINT32_MAX) {
        return 0;
    }
    g->nchunks = (apr_uint32_t)nchunks;
    g->nlinks = capacity * SHM_LINKS_PER_SLOT;
    g->tags = off;
    if (!geom_add(&off, capacity, sizeof(apr_uint64_t))) {
        return 0;
    }
    g->slots = off;
    if (!geom_add(&off, capacity, SHM_SLOT_SIZE)) {
        return 0;
    }
    g->chunks = off;
    if (!geom_add(&off, nchunks, SHM_CHUNK_SIZE)) {
        return 0;
    }
    g->next = off;
    if (!geom_add(&off, nchunks, sizeof(apr_uint32_t))) {
        return 0;
    }
    g->marks = off;
    if (!geom_add(&off, capacity, sizeof(shm_mark_t))) {
        return 0;
    }
    g->links = off;
    if (!geom_add(&off, g->nlinks, sizeof(shm_link_t))) {
        return 0;
    }
    g->owned = off;
    if (!geom_add(&off, (nchunks + 7) / 8, 1)) {
        return 0;
    }
    if (off > APR_SIZE_MAX) {
        return 0; /* apr_shm_create could not map it on this platform */
    }
    g->size = off;
    return 1;
}

apr_uint64_t oauth2_shm_size(apr_uint32_t capacity)
{
    shm_geom_t g;

    if (!shm_geometry(capacity, &g)) {
        return 0;
    }
    return g.size;
}

/* 8 bytes in host order: the table never leaves this host and build. */
static apr_uint64_t load64(const unsigned char *p)
{
    apr_uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

/* One SipRound on v0..v3 (a macro so that they stay in registers). */
#define SIP_ROUND(v0, v1, v2, v3) \
    do {                          \
        v0 += v1;                 \
        v1 = ROTL64(v1, 13) ^ v0; \
        v0 = ROTL64(v0, 32);      \
        v2 += v3;                 \
        v3 = ROTL64(v3, 16) ^ v2; \
        v0 += v3;                 \
        v3 = ROTL64(v3, 21) ^ v0; \
        v2 += v1;                 \
        v1 = ROTL64(v1, 17) ^ v2; \
        v2 = ROTL64(v2, 32);      \
    } while (0)

/* SipHash-1-3 of the 32-byte key under the table's seed, never 0 (the
 * empty tag). Keyed, so clients cannot aim keys at one probe window. */
static apr_uint64_t shm_hash(const oauth2_shm_t *shm,
                             const unsigned char key[OAUTH2_SHM_KEY_LEN])
{
    apr_uint64_t v0 = shm->k0 ^ 0x736f6d6570736575ULL;
    apr_uint64_t v1 = shm->k1 ^ 0x646f72616e646f6dULL;
    apr_uint64_t v2 = shm->k0 ^ 0x6c7967656e657261ULL;
    apr_uint64_t v3 = shm->k1 ^ 0x7465646279746573ULL;
    apr_uint64_t m;
    int i;

    for (i = 0; i < OAUTH2_SHM_KEY_LEN; i += 8) {
        m = load64(key + i);
        v3 ^= m;
        SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    /* The last block carries only the length, as SipHash defines. */
    m = (apr_uint64_t)OAUTH2_SHM_KEY_LEN << 56;
    v3 ^= m;
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= m;
    v2 ^= 0xff;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    m = v0 ^ v1 ^ v2 ^ v3;
    return m != 0 ? m : 1;
}

/* The first slot of the probe window of a tag (Lemire's range map). */
static apr_uint32_t shm_bucket(const oauth2_shm_t *shm, apr_uint64_t tag)
{
    return (apr_uint32_t)(((tag >> 32) * shm->capacity) >> 32);
}

/* Slot i of the window that starts at bucket. */
static apr_uint32_t shm_probe(const oauth2_shm_t *shm, apr_uint32_t bucket,
                              apr_uint32_t i)
{
    apr_uint32_t idx = bucket + i;

    return idx >= shm->capacity ? idx - shm->capacity : idx;
}

static apr_uint32_t chunks_needed(apr_uint32_t len)
{
    if (len <= SHM_INLINE) {
        return 0;
    }
    return (len - SHM_INLINE + SHM_CHUNK_SIZE - 1) / SHM_CHUNK_SIZE;
}

static unsigned char *chunk_data(const oauth2_shm_t *shm, apr_uint32_t idx)
{
    return shm->chunks + (apr_size_t)(idx - 1) * SHM_CHUNK_SIZE;
}

/* A short pause between read attempts; no system call. */
static void shm_relax(int round)
{
    int i;

    for (i = 0; i < (1 << round); i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield" ::: "memory");
#else
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
    }
}

/* Why base does not hold a table of this layout, or NULL when it does. */
static const char *header_problem(const void *base, apr_uint64_t size,
                                  shm_geom_t *g)
{
    const shm_header_t *hdr = base;

    if (base == NULL || ((apr_uintptr_t)base & 7) != 0
        || size < SHM_HEADER_SIZE) {
        return "segment missing, misaligned or too small";
    }
    if (hdr->magic != SHM_MAGIC || hdr->layout != SHM_LAYOUT) {
        return "segment does not hold a session table of this version";
    }
    if (!shm_geometry(hdr->capacity, g)) {
        return "session table capacity out of range";
    }
    if (hdr->size != g->size || size < g->size
        || hdr->slot_size != SHM_SLOT_SIZE || hdr->chunk_size != SHM_CHUNK_SIZE
        || hdr->nchunks != g->nchunks || hdr->window != SHM_WINDOW) {
        return "session table sizes do not match this build or segment";
    }
    return NULL;
}

apr_uint32_t oauth2_shm_capacity(const void *base, apr_uint64_t size)
{
    shm_geom_t g;

    if (header_problem(base, size, &g) != NULL) {
        return 0;
    }
    return ((const shm_header_t *)base)->capacity;
}

apr_status_t oauth2_shm_format(void *base, apr_uint64_t size,
                               apr_uint32_t capacity,
                               const unsigned char seed[16])
{
    unsigned char *b = base;
    shm_header_t *hdr = base;
    apr_uint32_t *next;
    shm_geom_t g;
    apr_uint32_t i;

    if (base == NULL || seed == NULL || ((apr_uintptr_t)base & 7) != 0
        || !shm_geometry(capacity, &g) || size < g.size) {
        return APR_EINVAL;
    }
    /* Chunk data is never read before a record writes it: leave those
     * pages untouched. Everything else starts zeroed. */
    memset(b, 0, (apr_size_t)g.chunks);
    memset(b + g.marks, 0, (apr_size_t)(g.size - g.marks));
    next = (apr_uint32_t *)(b + g.next);
    for (i = 0; i < g.nchunks; i++) {
        next[i] = i + 1 < g.nchunks ? i + 2 : 0;
    }
    hdr->layout = SHM_LAYOUT;
    hdr->capacity = capacity;
    hdr->slot_size = SHM_SLOT_SIZE;
    hdr->chunk_size = SHM_CHUNK_SIZE;
    hdr->nchunks = g.nchunks;
    hdr->window = SHM_WINDOW;
    hdr->size = g.size;
    memcpy(hdr->seed, seed, sizeof(hdr->seed));
    hdr->free_head = 1;
    hdr->chunks_free = g.nchunks;
    /* The magic last: a half-written table is never taken for one. */
    __atomic_store_n(&hdr->magic, SHM_MAGIC, __ATOMIC_RELEASE);
    return APR_SUCCESS;
}

apr_status_t oauth2_shm_attach(apr_pool_t *p, void *base, apr_uint64_t size,
                               apr_global_mutex_t *mutex, oauth2_shm_t **shm,
                               const char **err)
{
    unsigned char *b = base;
    oauth2_shm_t *h;
    const char *why;
    shm_geom_t g;

    if (p == NULL || mutex == NULL || shm == NULL) {
        if (err != NULL) {
            *err = "no pool, mutex or result given";
        }
        return APR_EINVAL;
    }
    why = header_problem(base, size, &g);
    if (why != NULL) {
        if (err != NULL) {
            *err = why;
        }
        return APR_EINVAL;
    }
    h = apr_pcalloc(p, sizeof(*h));
    h->hdr = base;
    h->tags = (apr_uint64_t *)(b + g.tags);
    h->slots = (shm_slot_t *)(b + g.slots);
    h->chunks = b + g.chunks;
    h->next = (apr_uint32_t *)(b + g.next);
    h->marks = (shm_mark_t *)(b + g.marks);
    h->links = (shm_link_t *)(b + g.links);
    h->owned = b + g.owned;
    h->capacity = h->hdr->capacity;
    h->nchunks = g.nchunks;
    h->nlinks = g.nlinks;
    h->size = g.size;
    h->k0 = load64(h->hdr->seed);
    h->k1 = load64(h->hdr->seed + 8);
    h->mutex = mutex;
    *shm = h;
    return APR_SUCCESS;
}

/*
 * Reads: no lock, no system call.
 */

/* Copies len record bytes (len <= OAUTH2_MAX_SESSION_RECORD, checked by
 * the caller) from the slot and its chain; 0 when the chain is broken,
 * which a concurrent writer (or corruption) can cause. */
static int record_copy(const oauth2_shm_t *shm, const shm_slot_t *s,
                       apr_uint32_t first, apr_uint32_t len, unsigned char *out)
{
    apr_uint32_t done = len < SHM_INLINE ? len : SHM_INLINE;
    apr_uint32_t idx = first, n, steps;

    if (len > SHM_INLINE && idx != 0 && idx <= shm->nchunks) {
        /* Start the chunk's cache miss while the inline part is copied. */
        __builtin_prefetch(chunk_data(shm, idx));
        __builtin_prefetch(chunk_data(shm, idx) + SHM_CHUNK_SIZE / 2);
    }
    if (done > 0) {
        memcpy(out, s->data, done);
    }
    for (steps = 0; done < len && steps < SHM_MAX_CHAIN; steps++) {
        if (idx == 0 || idx > shm->nchunks) {
            return 0;
        }
        n = len - done < SHM_CHUNK_SIZE ? len - done : SHM_CHUNK_SIZE;
        memcpy(out + done, chunk_data(shm, idx), n);
        done += n;
        if (done < len) {
            /* Not after the last chunk: next[] is one more cache miss. */
            idx = __atomic_load_n(&shm->next[idx - 1], __ATOMIC_RELAXED);
        }
    }
    return done == len;
}

/* One attempt at reading slot idx for key, under its seqlock. */
static shm_read_result_e slot_read_once(const oauth2_shm_t *shm,
                                        apr_uint32_t idx,
                                        const unsigned char *key,
                                        shm_read_t *rd)
{
    const shm_slot_t *s = &shm->slots[idx];
    apr_uint32_t v1, v2, flags, len, first;
    apr_time_t expires;
    shm_read_result_e res;

    v1 = __atomic_load_n(&s->version, __ATOMIC_ACQUIRE);
    if (v1 & 1) {
        return READ_TORN;
    }
    flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
    len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
    first = __atomic_load_n(&s->first, __ATOMIC_RELAXED);
    expires = __atomic_load_n(&s->expires, __ATOMIC_RELAXED);
    /* memcmp: keys are SHA-256 outputs of secrets, not secrets, so a
     * timing difference reveals nothing worth having. */
    if (!(flags & SLOT_USED) || memcmp(s->key, key, OAUTH2_SHM_KEY_LEN)) {
        res = READ_OTHER;
    }
    else if (len > OAUTH2_MAX_SESSION_RECORD) {
        res = READ_TORN;
    }
    else if (len > rd->bufsize && !rd->prefix) {
        res = READ_TOOBIG;
    }
    else {
        apr_uint32_t n = len < rd->bufsize ? len : (apr_uint32_t)rd->bufsize;

        res = record_copy(shm, s, first, n, rd->buf) ? READ_MATCH : READ_TORN;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    v2 = __atomic_load_n(&s->version, __ATOMIC_RELAXED);
    if (v2 != v1) {
        return READ_TORN;
    }
    rd->len = len;
    rd->version = v1;
    rd->expires = expires;
    return res;
}

/* Reads slot idx, retrying torn reads a bounded number of times. */
static shm_read_result_e slot_read(const oauth2_shm_t *shm, apr_uint32_t idx,
                                   const unsigned char *key, shm_read_t *rd)
{
    shm_read_result_e res = READ_TORN;
    int round;

    for (round = 0; round < SHM_READ_TRIES; round++) {
        res = slot_read_once(shm, idx, key, rd);
        if (res != READ_TORN) {
            return res;
        }
        shm_relax(round);
    }
    return res;
}

/* The first window position from pos on whose tag is tag, or SHM_WINDOW.
 * A plain scan of 256 bytes; the acquire fence pairs with the release
 * store that published the tag. */
static apr_uint32_t tag_scan(const oauth2_shm_t *shm, apr_uint64_t tag,
                             apr_uint32_t bucket, apr_uint32_t pos)
{
    const apr_uint64_t *run = shm->tags + bucket;
    apr_uint32_t end = shm->capacity - bucket;

    /* Two contiguous runs: up to the end of the table, then from 0. */
    end = end < SHM_WINDOW ? end : SHM_WINDOW;
    for (; pos < end; pos++) {
        if (__atomic_load_n(&run[pos], __ATOMIC_RELAXED) == tag) {
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            return pos;
        }
    }
    for (; pos < SHM_WINDOW; pos++) {
        if (__atomic_load_n(&shm->tags[pos - end], __ATOMIC_RELAXED) == tag) {
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            return pos;
        }
    }
    return SHM_WINDOW;
}

/* A lookup; prefix: copy what fits of a larger record. */
static apr_status_t shm_lookup(oauth2_shm_t *shm,
                               const unsigned char key[OAUTH2_SHM_KEY_LEN],
                               apr_time_t now, void *buf, apr_size_t bufsize,
                               int prefix, apr_size_t *len,
                               oauth2_shm_meta_t *meta)
{
    shm_read_t rd = { buf, buf != NULL ? bufsize : 0, prefix, 0, 0, 0 };
    apr_uint64_t tag;
    apr_uint32_t bucket, pos, idx = 0;
    shm_read_result_e res = READ_OTHER;

    if (shm == NULL || key == NULL || len == NULL) {
        return APR_EINVAL;
    }
    tag = shm_hash(shm, key);
    bucket = shm_bucket(shm, tag);
    /* Most records sit at their bucket: start that miss during the scan. */
    __builtin_prefetch(&shm->slots[bucket]);
    pos = tag_scan(shm, tag, bucket, 0);
    for (; pos < SHM_WINDOW; pos = tag_scan(shm, tag, bucket, pos + 1)) {
        idx = shm_probe(shm, bucket, pos);
        res = slot_read(shm, idx, key, &rd);
        if (res != READ_OTHER) {
            break;
        }
    }
    if (res == READ_OTHER || (res != READ_TORN && rd.expires <= now)) {
        return OAUTH2_ENOTFOUND;
    }
    if (res == READ_TORN) {
        return OAUTH2_EBUSY;
    }
    *len = rd.len;
    if (res == READ_TOOBIG) {
        return OAUTH2_ETOOBIG;
    }
    if (meta != NULL) {
        meta->expires = rd.expires;
        meta->slot = idx;
        meta->version = rd.version;
    }
    return APR_SUCCESS;
}

apr_status_t oauth2_shm_get(oauth2_shm_t *shm,
                            const unsigned char key[OAUTH2_SHM_KEY_LEN],
                            apr_time_t now, void *buf, apr_size_t bufsize,
                            apr_size_t *len, oauth2_shm_meta_t *meta)
{
    return shm_lookup(shm, key, now, buf, bufsize, 0, len, meta);
}

apr_status_t oauth2_shm_get_prefix(oauth2_shm_t *shm,
                                   const unsigned char key[OAUTH2_SHM_KEY_LEN],
                                   apr_time_t now, void *buf,
                                   apr_size_t bufsize, apr_size_t *len,
                                   oauth2_shm_meta_t *meta)
{
    if (buf == NULL || bufsize == 0) {
        return APR_EINVAL;
    }
    return shm_lookup(shm, key, now, buf, bufsize, 1, len, meta);
}

apr_status_t oauth2_shm_check(oauth2_shm_t *shm, const oauth2_shm_meta_t *meta,
                              apr_time_t now, apr_time_t *expires)
{
    const shm_slot_t *s;
    apr_uint32_t v;
    apr_time_t exp;

    if (shm == NULL || meta == NULL) {
        return APR_EINVAL;
    }
    if (meta->slot >= shm->capacity || (meta->version & 1)) {
        return OAUTH2_ENOTFOUND;
    }
    s = &shm->slots[meta->slot];
    /* Every change of the record bumps the version (touch only moves the
     * expiry, atomically, and leaves it). Versions wrap after 2^31 writes
     * to one slot, far beyond a connection's life. */
    v = __atomic_load_n(&s->version, __ATOMIC_ACQUIRE);
    exp = __atomic_load_n(&s->expires, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (v != meta->version
        || __atomic_load_n(&s->version, __ATOMIC_RELAXED) != v || exp <= now) {
        return OAUTH2_ENOTFOUND;
    }
    if (expires != NULL) {
        *expires = exp;
    }
    return APR_SUCCESS;
}

/*
 * Writes: under the mutex. The writer owns every non-atomic field; the
 * atomic stores are for the lock-free readers.
 */

/* Makes the slot's version odd and orders that store before the writes
 * that follow. */
static apr_uint32_t slot_begin(shm_slot_t *s)
{
    apr_uint32_t v = __atomic_load_n(&s->version, __ATOMIC_RELAXED) | 1u;

    __atomic_store_n(&s->version, v, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return v;
}

static void slot_end(shm_slot_t *s, apr_uint32_t v)
{
    __atomic_store_n(&s->version, v + 1, __ATOMIC_RELEASE);
}

static void counter_add32(apr_uint32_t *c, apr_int32_t delta)
{
    __atomic_fetch_add(c, (apr_uint32_t)delta, __ATOMIC_RELAXED);
}

static void counter_inc64(apr_uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* Returns a chain to the free list; bounded and index-checked, since the
 * chain comes from the segment. */
static void chunks_release(oauth2_shm_t *shm, apr_uint32_t first,
                           apr_uint32_t count)
{
    apr_uint32_t idx = first, nxt, i;

    for (i = 0; i < count && i < SHM_MAX_CHAIN; i++) {
        if (idx == 0 || idx > shm->nchunks) {
            return;
        }
        nxt = shm->next[idx - 1];
        __atomic_store_n(&shm->next[idx - 1], shm->hdr->free_head,
                         __ATOMIC_RELAXED);
        shm->hdr->free_head = idx;
        counter_add32(&shm->hdr->chunks_free, 1);
        idx = nxt;
    }
}

/* Takes count (>= 1) chunks off the free list as one chain; returns its
 * first index, or 0 when the free list ends early (a corrupted segment:
 * the list is then dropped and what was taken given back). */
static apr_uint32_t chunks_take(oauth2_shm_t *shm, apr_uint32_t count)
{
    shm_header_t *hdr = shm->hdr;
    apr_uint32_t first = 0, last = 0, idx, i;

    for (i = 0; i < count; i++) {
        idx = hdr->free_head;
        if (idx == 0 || idx > shm->nchunks) {
            hdr->free_head = 0;
            __atomic_store_n(&hdr->chunks_free, 0, __ATOMIC_RELAXED);
            if (last != 0) {
                shm->next[last - 1] = 0;
                chunks_release(shm, first, i);
            }
            return 0;
        }
        hdr->free_head = shm->next[idx - 1];
        counter_add32(&hdr->chunks_free, -1);
        if (last != 0) {
            __atomic_store_n(&shm->next[last - 1], idx, __ATOMIC_RELAXED);
        }
        else {
            first = idx;
        }
        last = idx;
    }
    __atomic_store_n(&shm->next[last - 1], 0, __ATOMIC_RELAXED);
    return first;
}

/* Marks a slot's head empty (inside the caller's slot_begin/slot_end). */
static void slot_reset(shm_slot_t *s)
{
    __atomic_store_n(&s->flags, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->len, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->first, 0, __ATOMIC_RELAXED);
    s->nchunks = 0;
    s->klass = OAUTH2_SHM_SESSION;
}

/* Empties a used slot (inside the caller's slot_begin/slot_end); the
 * caller decides about the tag. */
static void slot_empty(oauth2_shm_t *shm, apr_uint32_t idx)
{
    shm_slot_t *s = &shm->slots[idx];

    chunks_release(shm, s->first, s->nchunks);
    if (s->klass < OAUTH2_SHM_CLASSES) {
        counter_add32(&shm->hdr->live_class[s->klass], -1);
    }
    slot_reset(s);
    counter_add32(&shm->hdr->live, -1);
}

/* Removes the record in slot idx. */
static void slot_clear(oauth2_shm_t *shm, apr_uint32_t idx)
{
    shm_slot_t *s = &shm->slots[idx];
    apr_uint32_t v = slot_begin(s);

    __atomic_store_n(&shm->tags[idx], 0, __ATOMIC_RELAXED);
    slot_empty(shm, idx);
    slot_end(s, v);
}

/*
 * The repair after a writer died inside (see the top of the file).
 */

static int owned_get(const oauth2_shm_t *shm, apr_uint32_t idx)
{
    return (shm->owned[(idx - 1) >> 3] >> ((idx - 1) & 7)) & 1;
}

static void owned_put(oauth2_shm_t *shm, apr_uint32_t idx, int on)
{
    unsigned char bit = (unsigned char)(1u << ((idx - 1) & 7));

    if (on) {
        shm->owned[(idx - 1) >> 3] |= bit;
    }
    else {
        shm->owned[(idx - 1) >> 3] &= (unsigned char)~bit;
    }
}

/* Claims the chain of a used slot in the owned bitmap: 1 when its length,
 * chunk count and chain agree and no chunk is out of range or claimed
 * already; otherwise 0, with nothing claimed. */
static int chain_claim(oauth2_shm_t *shm, const shm_slot_t *s)
{
    apr_uint32_t need, idx, i, n;

    if (s->len > OAUTH2_MAX_SESSION_RECORD) {
        return 0;
    }
    need = chunks_needed(s->len);
    if (s->nchunks != need || (need == 0) != (s->first == 0)) {
        return 0;
    }
    for (i = 0, idx = s->first; i < need; i++, idx = shm->next[idx - 1]) {
        if (idx == 0 || idx > shm->nchunks || owned_get(shm, idx)) {
            break;
        }
        owned_put(shm, idx, 1);
    }
    if (i == need) {
        return 1;
    }
    /* next[] is unchanged: the same walk finds what was claimed. */
    for (n = 0, idx = s->first; n < i; n++, idx = shm->next[idx - 1]) {
        owned_put(shm, idx, 0);
    }
    return 0;
}

/* Is slot idx an empty slot, or a whole record whose chain it now owns?
 * Otherwise the repair empties it. */
static int slot_sound(oauth2_shm_t *shm, apr_uint32_t idx)
{
    const shm_slot_t *s = &shm->slots[idx];

    if (s->version & 1) {
        return 0; /* the dead writer was inside */
    }
    if (!(s->flags & SLOT_USED)) {
        return shm->tags[idx] == 0;
    }
    /* A record whose tag is not its key's was never published. */
    return s->klass < OAUTH2_SHM_CLASSES
           && shm->tags[idx] == shm_hash(shm, s->key) && chain_claim(shm, s);
}

/* Empties slot idx without giving its chunks back (the free list is
 * rebuilt from the owned bitmap). */
static void slot_invalidate(oauth2_shm_t *shm, apr_uint32_t idx)
{
    shm_slot_t *s = &shm->slots[idx];
    apr_uint32_t v = slot_begin(s);

    __atomic_store_n(&shm->tags[idx], 0, __ATOMIC_RELAXED);
    slot_reset(s);
    slot_end(s, v);
}

/* A free list of every chunk no record owns; returns their number. */
static apr_uint32_t free_rebuild(oauth2_shm_t *shm)
{
    apr_uint32_t idx, head = 0, n = 0;

    for (idx = shm->nchunks; idx >= 1; idx--) {
        if (!owned_get(shm, idx)) {
            __atomic_store_n(&shm->next[idx - 1], head, __ATOMIC_RELAXED);
            head = idx;
            n++;
        }
    }
    shm->hdr->free_head = head;
    return n;
}

static void repair_locked(oauth2_shm_t *shm)
{
    shm_header_t *hdr = shm->hdr;
    apr_uint32_t idx, live = 0, live_class[OAUTH2_SHM_CLASSES] = { 0 };

    memset(shm->owned, 0, (shm->nchunks + 7) / 8);
    for (idx = 0; idx < shm->capacity; idx++) {
        if (!slot_sound(shm, idx)) {
            slot_invalidate(shm, idx);
        }
        else if (shm->slots[idx].flags & SLOT_USED) {
            live++;
            live_class[shm->slots[idx].klass]++;
        }
    }
    __atomic_store_n(&hdr->chunks_free, free_rebuild(shm), __ATOMIC_RELAXED);
    __atomic_store_n(&hdr->live, live, __ATOMIC_RELAXED);
    for (idx = 0; idx < OAUTH2_SHM_CLASSES; idx++) {
        __atomic_store_n(&hdr->live_class[idx], live_class[idx],
                         __ATOMIC_RELAXED);
    }
    counter_add32(&hdr->repairs, 1);
}

/* Takes the mutex (try: without waiting), repairs what a writer that died
 * inside left, and sets the "writer inside" mark. */
static apr_status_t writer_enter(oauth2_shm_t *shm, int try)
{
    apr_status_t rv = try ? apr_global_mutex_trylock(shm->mutex)
                          : apr_global_mutex_lock(shm->mutex);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (__atomic_load_n(&shm->hdr->writer, __ATOMIC_RELAXED) != 0) {
        repair_locked(shm);
    }
    __atomic_store_n(&shm->hdr->writer, 1, __ATOMIC_RELAXED);
    /* The mark is in place before any change that follows it. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return APR_SUCCESS;
}

/* Clears the mark after every change, then lets the mutex go. */
static void writer_leave(oauth2_shm_t *shm)
{
    __atomic_store_n(&shm->hdr->writer, 0, __ATOMIC_RELEASE);
    apr_global_mutex_unlock(shm->mutex);
}

/*
 * Records.
 */

/* Frees expired records in count slots from the rotating cursor. */
static void sweep_locked(oauth2_shm_t *shm, apr_time_t now, apr_uint32_t count)
{
    apr_uint32_t cur = shm->hdr->cursor % shm->capacity, i;
    const shm_slot_t *s;

    if (count > shm->capacity) {
        count = shm->capacity;
    }
    for (i = 0; i < count; i++) {
        s = &shm->slots[cur];
        if ((s->flags & SLOT_USED) && s->expires <= now) {
            slot_clear(shm, cur);
        }
        cur = cur + 1 == shm->capacity ? 0 : cur + 1;
    }
    shm->hdr->cursor = cur;
}

/* The slot holding key in its window, or capacity when there is none. */
static apr_uint32_t find_locked(const oauth2_shm_t *shm, apr_uint64_t tag,
                                const unsigned char *key)
{
    apr_uint32_t bucket = shm_bucket(shm, tag), i, idx;
    const shm_slot_t *s;

    for (i = 0; i < SHM_WINDOW; i++) {
        idx = shm_probe(shm, bucket, i);
        s = &shm->slots[idx];
        if (shm->tags[idx] == tag && (s->flags & SLOT_USED)
            && memcmp(s->key, key, OAUTH2_SHM_KEY_LEN) == 0) {
            return idx;
        }
    }
    return shm->capacity;
}

/* Record classes: a cache entry gives way first, then a session; a
 * pinned record never does while it lives. */
static apr_uint32_t class_rank(apr_uint32_t klass)
{
    return klass == OAUTH2_SHM_CACHE ? 0 : klass == OAUTH2_SHM_PINNED ? 2 : 1;
}

/* May a record of class writer take the place of the live record s? A
 * cache entry only takes a cache entry's, so that what can be had again
 * (a verified token) never pushes out what cannot (a session, a
 * revocation); a pinned record too, so that revocations, which one
 * account can cause by the hundred, never push out a session. */
static int evictable(const shm_slot_t *s, apr_uint32_t writer)
{
    return s->klass == OAUTH2_SHM_CACHE
           || (s->klass == OAUTH2_SHM_SESSION && writer == OAUTH2_SHM_SESSION);
}

/* Is there room for one more pinned record (a quarter of the slots at
 * most, so that they never crowd out the sessions)? Sweeps for expired
 * ones before it says no. */
static int pinned_room(oauth2_shm_t *shm, apr_time_t now)
{
    apr_uint32_t max = shm->capacity / SHM_PINNED_SHARE;

    if (shm->hdr->live_class[OAUTH2_SHM_PINNED] < max) {
        return 1;
    }
    sweep_locked(shm, now, SHM_SWEEP_MORE);
    return shm->hdr->live_class[OAUTH2_SHM_PINNED] < max;
}

/* Is the record in slot a a better victim than the one in slot b
 * (capacity: none yet)? Expired first, then by class, then the one that
 * expires first. */
static int victim_better(const oauth2_shm_t *shm, apr_uint32_t a,
                         apr_uint32_t b, apr_time_t now)
{
    const shm_slot_t *x = &shm->slots[a], *y;
    apr_uint32_t rx, ry;

    if (b >= shm->capacity) {
        return 1;
    }
    y = &shm->slots[b];
    rx = x->expires <= now ? 0 : class_rank(x->klass) + 1;
    ry = y->expires <= now ? 0 : class_rank(y->klass) + 1;
    return rx < ry || (rx == ry && x->expires < y->expires);
}

/* Where a new key of class klass goes: the first empty or expired slot of
 * its window, else the record there it may evict (the lowest class, then
 * the one that expires first), else capacity: no room. */
static apr_uint32_t choose_locked(const oauth2_shm_t *shm, apr_uint64_t tag,
                                  apr_time_t now, apr_uint32_t klass)
{
    apr_uint32_t bucket = shm_bucket(shm, tag), i, idx, best = shm->capacity;
    const shm_slot_t *s;

    for (i = 0; i < SHM_WINDOW; i++) {
        idx = shm_probe(shm, bucket, i);
        s = &shm->slots[idx];
        if (!(s->flags & SLOT_USED) || s->expires <= now) {
            return idx;
        }
        if (evictable(s, klass) && victim_better(shm, idx, best, now)) {
            best = idx;
        }
    }
    return best;
}

/* Can slot idx take a record of need chunks (its own chunks count)? */
static int chunks_enough(const oauth2_shm_t *shm, apr_uint32_t idx,
                         apr_uint32_t need)
{
    const shm_slot_t *s = &shm->slots[idx];
    apr_uint64_t avail = shm->hdr->chunks_free;

    if (s->flags & SLOT_USED) {
        avail += s->nchunks < SHM_MAX_CHAIN ? s->nchunks : SHM_MAX_CHAIN;
    }
    return need <= avail;
}

/* One sampled pass of evict_for_chunks: in each of at most
 * SHM_EVICT_ROUNDS windows from the cursor, the best victim that holds
 * chunks and that a record of class klass may evict, until slot idx can
 * take need chunks. */
static void evict_pass(oauth2_shm_t *shm, apr_uint32_t idx, apr_uint32_t need,
                       apr_time_t now, apr_uint32_t klass)
{
    apr_uint32_t cur = shm->hdr->cursor % shm->capacity, r, i, j, best;
    const shm_slot_t *s;

    for (r = 0; r < SHM_EVICT_ROUNDS && !chunks_enough(shm, idx, need); r++) {
        best = shm->capacity;
        for (i = 0; i < SHM_WINDOW; i++) {
            j = shm_probe(shm, cur, i);
            s = &shm->slots[j];
            if (j != idx && (s->flags & SLOT_USED) && s->nchunks > 0
                && (s->expires <= now || evictable(s, klass))
                && victim_better(shm, j, best, now)) {
                best = j;
            }
        }
        if (best < shm->capacity) {
            if (shm->slots[best].expires > now) {
                counter_inc64(&shm->hdr->evictions);
            }
            slot_clear(shm, best);
        }
        cur = shm_probe(shm, cur, SHM_WINDOW);
    }
    shm->hdr->cursor = cur;
}

/* Evicts records that hold chunks until slot idx can take need of them
 * for a record of class klass (sampled, as redis approximates LRU:
 * bounded work): first only expired records and cache entries, then what
 * klass may evict (expired, then the lowest class, then those closest to
 * expiry first). */
static void evict_for_chunks(oauth2_shm_t *shm, apr_uint32_t idx,
                             apr_uint32_t need, apr_time_t now,
                             apr_uint32_t klass)
{
    evict_pass(shm, idx, need, now, OAUTH2_SHM_CACHE);
    if (klass != OAUTH2_SHM_CACHE) {
        evict_pass(shm, idx, need, now, klass);
    }
}

/* Copies the record into the slot's inline area and its fresh chain. */
static void record_fill(oauth2_shm_t *shm, shm_slot_t *s,
                        const unsigned char *rec, apr_uint32_t len)
{
    apr_uint32_t done = len < SHM_INLINE ? len : SHM_INLINE;
    apr_uint32_t idx = s->first, n, i;

    if (done > 0) {
        memcpy(s->data, rec, done);
    }
    for (i = 0; done < len && i < SHM_MAX_CHAIN; i++) {
        if (idx == 0 || idx > shm->nchunks) {
            return; /* corrupted free list; readers will see EBUSY */
        }
        n = len - done < SHM_CHUNK_SIZE ? len - done : SHM_CHUNK_SIZE;
        memcpy(chunk_data(shm, idx), rec + done, n);
        done += n;
        idx = shm->next[idx - 1];
    }
}

/* Drops what slot idx holds before key is written there (inside the
 * caller's slot_begin/slot_end), counting a live record of another key
 * as an eviction. */
static void slot_drop(oauth2_shm_t *shm, apr_uint32_t idx,
                      const unsigned char *key, apr_time_t now)
{
    shm_slot_t *s = &shm->slots[idx];

    if (!(s->flags & SLOT_USED)) {
        return;
    }
    if (memcmp(s->key, key, OAUTH2_SHM_KEY_LEN) != 0) {
        /* Readers of that key must stop finding the tag. (A replace
         * keeps it: readers of the key retry until the write is done.) */
        __atomic_store_n(&shm->tags[idx], 0, __ATOMIC_RELAXED);
        if (s->expires > now) {
            counter_inc64(&shm->hdr->evictions);
        }
    }
    slot_empty(shm, idx);
}

/* Writes the record into slot idx, replacing or evicting what is there. */
static apr_status_t slot_write(oauth2_shm_t *shm, apr_uint32_t idx,
                               apr_uint64_t tag, const unsigned char *key,
                               const unsigned char *rec, apr_uint32_t len,
                               apr_time_t expires, apr_time_t now,
                               apr_uint32_t klass)
{
    shm_slot_t *s = &shm->slots[idx];
    apr_uint32_t need = chunks_needed(len), first = 0;
    apr_uint32_t v = slot_begin(s);

    slot_drop(shm, idx, key, now);
    if (need > 0) {
        first = chunks_take(shm, need);
        if (first == 0) {
            __atomic_store_n(&shm->tags[idx], 0, __ATOMIC_RELAXED);
            slot_end(s, v);
            return OAUTH2_EFULL;
        }
    }
    __atomic_store_n(&s->first, first, __ATOMIC_RELAXED);
    s->nchunks = need;
    record_fill(shm, s, rec, len);
    memcpy(s->key, key, OAUTH2_SHM_KEY_LEN);
    __atomic_store_n(&s->len, len, __ATOMIC_RELAXED);
    __atomic_store_n(&s->expires, expires, __ATOMIC_RELAXED);
    s->klass = klass;
    __atomic_store_n(&s->flags, SLOT_USED, __ATOMIC_RELAXED);
    slot_end(s, v);
    /* Published after the record is complete, so a reader that finds the
     * tag finds the record. */
    __atomic_store_n(&shm->tags[idx], tag, __ATOMIC_RELEASE);
    counter_add32(&shm->hdr->live, 1);
    counter_add32(&shm->hdr->live_class[klass], 1);
    return APR_SUCCESS;
}

/* put, with the mutex held. */
static apr_status_t store_locked(oauth2_shm_t *shm, apr_uint64_t tag,
                                 const unsigned char *key,
                                 const unsigned char *rec, apr_uint32_t len,
                                 apr_time_t expires, apr_time_t now,
                                 apr_uint32_t klass)
{
    apr_uint32_t need = chunks_needed(len), idx;

    sweep_locked(shm, now, SHM_SWEEP);
    idx = find_locked(shm, tag, key);
    if (idx >= shm->capacity
        && (klass != OAUTH2_SHM_PINNED || pinned_room(shm, now))) {
        idx = choose_locked(shm, tag, now, klass);
    }
    if (idx < shm->capacity && !chunks_enough(shm, idx, need)) {
        sweep_locked(shm, now, SHM_SWEEP_MORE);
        evict_for_chunks(shm, idx, need, now, klass);
    }
    if (idx >= shm->capacity || !chunks_enough(shm, idx, need)) {
        counter_inc64(&shm->hdr->refused);
        return OAUTH2_EFULL;
    }
    return slot_write(shm, idx, tag, key, rec, len, expires, now, klass);
}

apr_status_t oauth2_shm_put_class(oauth2_shm_t *shm,
                                  const unsigned char key[OAUTH2_SHM_KEY_LEN],
                                  const void *rec, apr_size_t len,
                                  apr_time_t expires, apr_time_t now,
                                  oauth2_shm_class_e klass)
{
    apr_uint64_t tag;
    apr_status_t rv;

    if (shm == NULL || key == NULL || (rec == NULL && len > 0)
        || (unsigned)klass >= OAUTH2_SHM_CLASSES) {
        return APR_EINVAL;
    }
    if (len > OAUTH2_MAX_SESSION_RECORD) {
        return OAUTH2_ETOOBIG;
    }
    tag = shm_hash(shm, key);
    rv = writer_enter(shm, 0);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = store_locked(shm, tag, key, rec, (apr_uint32_t)len, expires, now,
                      (apr_uint32_t)klass);
    writer_leave(shm);
    return rv;
}

apr_status_t oauth2_shm_put(oauth2_shm_t *shm,
                            const unsigned char key[OAUTH2_SHM_KEY_LEN],
                            const void *rec, apr_size_t len, apr_time_t expires,
                            apr_time_t now)
{
    return oauth2_shm_put_class(shm, key, rec, len, expires, now,
                                OAUTH2_SHM_SESSION);
}

/*
 * Markers: writers only, so no seqlock. An entry is written expiry first
 * (to 0: empty), then key, then expiry, so a writer that dies inside
 * leaves an empty entry or a whole one.
 */

/* The marker entry of key in its window, or capacity. */
static apr_uint32_t mark_find(const oauth2_shm_t *shm, apr_uint64_t tag,
                              const unsigned char *key)
{
    apr_uint32_t bucket = shm_bucket(shm, tag), i, idx;

    for (i = 0; i < SHM_WINDOW; i++) {
        idx = shm_probe(shm, bucket, i);
        if (shm->marks[idx].expires != 0
            && memcmp(shm->marks[idx].key, key, OAUTH2_SHM_KEY_LEN) == 0) {
            return idx;
        }
    }
    return shm->capacity;
}

/* Where a new marker goes: an empty or expired entry of its window, else
 * the marker there that expires first (evicted: only markers ever make
 * room for markers). */
static apr_uint32_t mark_choose(oauth2_shm_t *shm, apr_uint64_t tag,
                                apr_time_t now)
{
    apr_uint32_t bucket = shm_bucket(shm, tag), i, idx, best = bucket;

    for (i = 0; i < SHM_WINDOW; i++) {
        idx = shm_probe(shm, bucket, i);
        if (shm->marks[idx].expires <= now) {
            return idx;
        }
        if (shm->marks[idx].expires < shm->marks[best].expires) {
            best = idx;
        }
    }
    counter_inc64(&shm->hdr->markers_evicted);
    return best;
}

static apr_status_t mark_locked(oauth2_shm_t *shm, apr_uint64_t tag,
                                const unsigned char *key, apr_time_t expires,
                                apr_time_t now)
{
    apr_uint32_t idx = mark_find(shm, tag, key);
    shm_mark_t *m;

    if (idx < shm->capacity && shm->marks[idx].expires > now) {
        return OAUTH2_EREPLAY;
    }
    if (idx >= shm->capacity) {
        idx = mark_choose(shm, tag, now);
    }
    m = &shm->marks[idx];
    m->expires = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    memcpy(m->key, key, OAUTH2_SHM_KEY_LEN);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    /* An expiry of 0 would read as empty. */
    m->expires = expires != 0 ? expires : 1;
    return APR_SUCCESS;
}

apr_status_t oauth2_shm_mark(oauth2_shm_t *shm,
                             const unsigned char key[OAUTH2_SHM_KEY_LEN],
                             apr_time_t expires, apr_time_t now)
{
    apr_uint64_t tag;
    apr_status_t rv;

    if (shm == NULL || key == NULL) {
        return APR_EINVAL;
    }
    tag = shm_hash(shm, key);
    rv = writer_enter(shm, 0);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = mark_locked(shm, tag, key, expires, now);
    writer_leave(shm);
    return rv;
}

/*
 * Links: writers only, like markers, in a pool of their own (four per
 * slot: a full table of sessions with a sid and a sub fills half of
 * it, so the window hashing has room). A link names a record's key (an index
 * entry: "the session of this sid, number n, is the record under that key"), so
 * it is garbage once that record is gone, and a new link takes the place of
 * garbage before it evicts a live one: links never push a record out, and a
 * record's going needs no walk over the links that name it.
 */

static apr_uint32_t link_bucket(const oauth2_shm_t *shm, apr_uint64_t tag)
{
    return (apr_uint32_t)(((tag >> 32) * shm->nlinks) >> 32);
}

static apr_uint32_t link_probe(const oauth2_shm_t *shm, apr_uint32_t bucket,
                               apr_uint32_t i)
{
    apr_uint32_t idx = bucket + i;

    return idx >= shm->nlinks ? idx - shm->nlinks : idx;
}

/* The link entry of key in its window, or nlinks. */
static apr_uint32_t link_find(const oauth2_shm_t *shm, apr_uint64_t tag,
                              const unsigned char *key)
{
    apr_uint32_t bucket = link_bucket(shm, tag), i, idx;

    for (i = 0; i < SHM_WINDOW; i++) {
        idx = link_probe(shm, bucket, i);
        if (shm->links[idx].expires != 0
            && memcmp(shm->links[idx].key, key, OAUTH2_SHM_KEY_LEN) == 0) {
            return idx;
        }
    }
    return shm->nlinks;
}

/* Is link idx of no use at now: empty, expired, or naming a record that
 * is gone? */
static int link_dead(const oauth2_shm_t *shm, apr_uint32_t idx, apr_time_t now)
{
    const shm_link_t *l = &shm->links[idx];
    apr_uint32_t rec;

    if (l->expires <= now) {
        return 1;
    }
    rec = find_locked(shm, shm_hash(shm, l->value), l->value);
    return rec >= shm->capacity || shm->slots[rec].expires <= now;
}

/* Evicts the live link idx and ends the record it names: a session that
 * a back-channel logout could no longer find must not stay logged in
 * (finding L of the third review). */
static void link_evict(oauth2_shm_t *shm, apr_uint32_t idx, apr_time_t now)
{
    const shm_link_t *l = &shm->links[idx];
    apr_uint32_t rec = find_locked(shm, shm_hash(shm, l->value), l->value);

    counter_inc64(&shm->hdr->links_evicted);
    if (rec < shm->capacity) {
        if (shm->slots[rec].expires > now) {
            counter_inc64(&shm->hdr->evictions);
        }
        slot_clear(shm, rec);
    }
}

/* Where a new link goes: an empty, expired or dead entry of its window,
 * else the live link there that expires first (evicted with its record,
 * and counted). */
static apr_uint32_t link_choose(oauth2_shm_t *shm, apr_uint64_t tag,
                                apr_time_t now)
{
    apr_uint32_t bucket = link_bucket(shm, tag), i, idx, best = bucket;

    for (i = 0; i < SHM_WINDOW; i++) {
        idx = link_probe(shm, bucket, i);
        if (shm->links[idx].expires <= now) {
            return idx;
        }
    }
    for (i = 0; i < SHM_WINDOW; i++) {
        idx = link_probe(shm, bucket, i);
        if (link_dead(shm, idx, now)) {
            return idx;
        }
        if (shm->links[idx].expires < shm->links[best].expires) {
            best = idx;
        }
    }
    link_evict(shm, best, now);
    return best;
}

static apr_status_t link_locked(oauth2_shm_t *shm, apr_uint64_t tag,
                                const unsigned char *key,
                                const unsigned char *value, apr_time_t expires,
                                apr_time_t now)
{
    apr_uint32_t idx = link_find(shm, tag, key);
    shm_link_t *l;

    if (idx < shm->nlinks && !link_dead(shm, idx, now)) {
        return OAUTH2_EREPLAY;
    }
    if (idx >= shm->nlinks) {
        idx = link_choose(shm, tag, now);
    }
    l = &shm->links[idx];
    l->expires = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    memcpy(l->key, key, OAUTH2_SHM_KEY_LEN);
    memcpy(l->value, value, OAUTH2_SHM_KEY_LEN);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    l->expires = expires > now ? expires : now + 1;
    return APR_SUCCESS;
}

apr_status_t oauth2_shm_link(oauth2_shm_t *shm,
                             const unsigned char key[OAUTH2_SHM_KEY_LEN],
                             const unsigned char value[OAUTH2_SHM_KEY_LEN],
                             apr_time_t expires, apr_time_t now)
{
    apr_uint64_t tag;
    apr_status_t rv;

    if (shm == NULL || key == NULL || value == NULL) {
        return APR_EINVAL;
    }
    tag = shm_hash(shm, key);
    rv = writer_enter(shm, 0);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = link_locked(shm, tag, key, value, expires, now);
    writer_leave(shm);
    return rv;
}

apr_status_t oauth2_shm_link_get(oauth2_shm_t *shm,
                                 const unsigned char key[OAUTH2_SHM_KEY_LEN],
                                 apr_time_t now,
                                 unsigned char value[OAUTH2_SHM_KEY_LEN])
{
    apr_uint32_t idx;
    apr_status_t rv;

    if (shm == NULL || key == NULL || value == NULL) {
        return APR_EINVAL;
    }
    rv = writer_enter(shm, 0);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    idx = link_find(shm, shm_hash(shm, key), key);
    rv = OAUTH2_ENOTFOUND;
    if (idx < shm->nlinks && shm->links[idx].expires > now) {
        memcpy(value, shm->links[idx].value, OAUTH2_SHM_KEY_LEN);
        rv = APR_SUCCESS;
    }
    writer_leave(shm);
    return rv;
}

/*
 * Touch, delete, counters.
 */

apr_status_t oauth2_shm_touch(oauth2_shm_t *shm,
                              const unsigned char key[OAUTH2_SHM_KEY_LEN],
                              apr_time_t expires)
{
    apr_uint64_t tag;
    apr_uint32_t idx;
    apr_status_t rv;

    if (shm == NULL || key == NULL) {
        return APR_EINVAL;
    }
    tag = shm_hash(shm, key);
    rv = writer_enter(shm, 1);
    if (APR_STATUS_IS_EBUSY(rv)) {
        return APR_EBUSY;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    idx = find_locked(shm, tag, key);
    if (idx < shm->capacity) {
        /* The expiry alone, atomically: the version stays, so readers
         * and oauth2_shm_check() holders keep their copy. */
        __atomic_store_n(&shm->slots[idx].expires, expires, __ATOMIC_RELAXED);
    }
    writer_leave(shm);
    return idx < shm->capacity ? APR_SUCCESS : OAUTH2_ENOTFOUND;
}

/* Removes the record or the marker under key; 1 when there was one. */
static int delete_locked(oauth2_shm_t *shm, apr_uint64_t tag,
                         const unsigned char *key)
{
    apr_uint32_t idx = find_locked(shm, tag, key);

    if (idx < shm->capacity) {
        slot_clear(shm, idx);
        return 1;
    }
    idx = mark_find(shm, tag, key);
    if (idx < shm->capacity) {
        shm->marks[idx].expires = 0;
        return 1;
    }
    idx = link_find(shm, tag, key);
    if (idx < shm->nlinks) {
        shm->links[idx].expires = 0;
        return 1;
    }
    return 0;
}

apr_status_t oauth2_shm_delete(oauth2_shm_t *shm,
                               const unsigned char key[OAUTH2_SHM_KEY_LEN])
{
    apr_uint64_t tag;
    apr_status_t rv;
    int found;

    if (shm == NULL || key == NULL) {
        return APR_EINVAL;
    }
    tag = shm_hash(shm, key);
    rv = writer_enter(shm, 0);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    found = delete_locked(shm, tag, key);
    writer_leave(shm);
    return found ? APR_SUCCESS : OAUTH2_ENOTFOUND;
}

void oauth2_shm_stats(const oauth2_shm_t *shm, oauth2_shm_stats_t *stats)
{
    const shm_header_t *hdr;
    int i;

    if (shm == NULL || stats == NULL) {
        return;
    }
    hdr = shm->hdr;
    stats->capacity = shm->capacity;
    stats->live = __atomic_load_n(&hdr->live, __ATOMIC_RELAXED);
    stats->chunks_total = shm->nchunks;
    stats->chunks_free = __atomic_load_n(&hdr->chunks_free, __ATOMIC_RELAXED);
    stats->evictions = __atomic_load_n(&hdr->evictions, __ATOMIC_RELAXED);
    stats->markers_evicted =
        __atomic_load_n(&hdr->markers_evicted, __ATOMIC_RELAXED);
    stats->refused = __atomic_load_n(&hdr->refused, __ATOMIC_RELAXED);
    stats->repairs = __atomic_load_n(&hdr->repairs, __ATOMIC_RELAXED);
    stats->size = shm->size;
    for (i = 0; i < OAUTH2_SHM_CLASSES; i++) {
        stats->live_class[i] =
            __atomic_load_n(&hdr->live_class[i], __ATOMIC_RELAXED);
    }
    stats->links = shm->nlinks;
    stats->links_evicted =
        __atomic_load_n(&hdr->links_evicted, __ATOMIC_RELAXED);
}

int oauth2_shm_report(oauth2_shm_t *shm, apr_time_t now,
                      apr_interval_time_t interval, oauth2_shm_report_t *out)
{
    shm_header_t *hdr;
    apr_uint64_t ev;
    apr_uint32_t rep;
    apr_time_t at;

    if (shm == NULL || out == NULL) {
        return 0;
    }
    hdr = shm->hdr;
    ev = __atomic_load_n(&hdr->evictions, __ATOMIC_RELAXED);
    rep = __atomic_load_n(&hdr->repairs, __ATOMIC_RELAXED);
    if (ev == __atomic_load_n(&hdr->reported_evictions, __ATOMIC_RELAXED)
        && rep == __atomic_load_n(&hdr->reported_repairs, __ATOMIC_RELAXED)) {
        return 0;
    }
    /* One process reports per interval: the one whose swap wins (0: no
     * report yet). */
    at = __atomic_load_n(&hdr->reported_at, __ATOMIC_RELAXED);
    if ((at != 0 && now - at < interval)
        || !__atomic_compare_exchange_n(&hdr->reported_at, &at, now, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        return 0;
    }
    /* What was counted after the loads above is told next time. */
    out->evictions =
        ev
        - __atomic_exchange_n(&hdr->reported_evictions, ev, __ATOMIC_RELAXED);
    out->repairs =
        rep
        - __atomic_exchange_n(&hdr->reported_repairs, rep, __ATOMIC_RELAXED);
    out->capacity = shm->capacity;
    return 1;
}
