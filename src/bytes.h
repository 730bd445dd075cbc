/*
 * bytes.h: 64-bit integers in records that leave a process (store
 * records, cookie sessions, index hints), in network byte order. Header-
 * only: a few shifts, inlined where they are used.
 */
#ifndef OAUTH2_BYTES_H
#define OAUTH2_BYTES_H

#include <apr.h>

/** Writes v into b[0..7], most significant byte first. */
static inline void oauth2_u64_write(unsigned char *b, apr_uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        b[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

/** Reads what oauth2_u64_write wrote. */
static inline apr_uint64_t oauth2_u64_read(const unsigned char *b)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | b[i];
    }
    return v;
}

#endif /* OAUTH2_BYTES_H */
