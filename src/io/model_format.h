/* The model format's constants and byte encoding, shared by the writer (model_write.c) and the
 * reader (model_read.c). Byte layout: docs/MODEL_FORMAT.md.
 *
 * Every multi-byte value is encoded explicitly, least significant byte first, with shifts (floats
 * through their IEEE-754 bit pattern, copied into a uint32 with memcpy). Shifts act on values, not
 * on memory, so the bytes are little-endian on every host and no endianness detection or byte
 * swapping is needed. */
#ifndef MLP_IO_MODEL_FORMAT_H
#define MLP_IO_MODEL_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define MODEL_MAGIC "MLPMODEL"
#define MODEL_MAGIC_LEN 8
/* 4: the loss section (Huber's delta) after the dropout section, and the POISSON and HUBER
 * losses and the EXP activation, which older readers do not know. */
#define MODEL_VERSION 4u
/* The class section (version 2): kind, count, then the values or the names. */
#define MODEL_CLASS_HEAD 12u
/* Longest class name stored (the CSV reader's longest field). */
#define MODEL_MAX_NAME ((size_t)1 << 20)
/* Bytes before the layer sizes: magic .. n_params (see docs/MODEL_FORMAT.md). */
#define MODEL_FIXED_LEN 92u
#define MODEL_CRC_LEN 4u
/* Largest model written or read: the whole model is held in memory to check its CRC first. */
#define MODEL_MAX_FILE ((uint64_t)1 << 32)
/* Sanity bound on the layer count (the length bounds it much further in practice). */
#define MODEL_MAX_LAYERS 65536u

static inline void put_le32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v & 0xffu);
    p[1] = (unsigned char)((v >> 8) & 0xffu);
    p[2] = (unsigned char)((v >> 16) & 0xffu);
    p[3] = (unsigned char)((v >> 24) & 0xffu);
}

static inline uint32_t get_le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t get_le64(const unsigned char *p) {
    return (uint64_t)get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}

static inline uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* zlib's crc32 takes a uInt length: feed large buffers in pieces. */
static inline uLong crc_update(uLong crc, const unsigned char *p, size_t n) {
    while (n > 0) {
        size_t k = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        crc = crc32(crc, p, (uInt)k);
        p += k;
        n -= k;
    }
    return crc;
}

#endif /* MLP_IO_MODEL_FORMAT_H */
