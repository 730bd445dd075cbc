/*
 * bytes.h: integers in records (session records, store values, cookie
 * sessions, index hints), in network byte order, written one way only.
 * Header-only: a few shifts, inlined where they are used.
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

/** Writes v into b[0..1], most significant byte first. */
static inline void oauth2_u16_write(unsigned char *b, apr_uint16_t v)
{
    b[0] = (unsigned char)(v >> 8);
    b[1] = (unsigned char)v;
}

/** Reads what oauth2_u16_write wrote. */
static inline apr_uint16_t oauth2_u16_read(const unsigned char *b)
{
    return (apr_uint16_t)(((unsigned)b[0] << 8) | b[1]);
}

/** Writes v into b[0..3], most significant byte first. */
static inline void oauth2_u32_write(unsigned char *b, apr_uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/** Reads what oauth2_u32_write wrote. */
static inline apr_uint32_t oauth2_u32_read(const unsigned char *b)
{
    return ((apr_uint32_t)b[0] << 24) | ((apr_uint32_t)b[1] << 16)
           | ((apr_uint32_t)b[2] << 8) | (apr_uint32_t)b[3];
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
