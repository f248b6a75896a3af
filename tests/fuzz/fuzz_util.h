/* Helpers shared by the fuzz targets: in-memory files (memfd) that the library opens by path,
 * gzip compression of a buffer, and a check macro that crashes (so libFuzzer records the input)
 * when an invariant of the library's contract is broken. */
#ifndef MLP_FUZZ_UTIL_H
#define MLP_FUZZ_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "mlp/data.h"

/* An invariant of the library's contract: a failure aborts with a message (a fuzzer crash). */
#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* An in-memory file: the library opens "/proc/self/fd/N" like any path (a fresh open file
 * description each time, so offsets do not interfere) and sees a regular file. */
typedef struct fz_file {
    int fd;
    char path[64];
} fz_file;

static inline void fz_file_init(fz_file *f, const char *name) {
    if (f->path[0]) return;
    f->fd = memfd_create(name, MFD_CLOEXEC);
    if (f->fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

/* Replaces the file's content with data[0..len). */
static inline void fz_file_set(fz_file *f, const void *data, size_t len) {
    if (ftruncate(f->fd, 0) != 0) abort();
    const unsigned char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t k = pwrite(f->fd, p + done, len - done, (off_t)done);
        if (k <= 0) abort();
        done += (size_t)k;
    }
}

/* gzip-compresses in[0..n) into a malloc'd buffer; returns its length. */
static inline size_t fz_gzip(const void *in, size_t n, unsigned char **out) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    uLong cap = deflateBound(&zs, (uLong)n) + 32;
    unsigned char *buf = malloc(cap);
    if (!buf) abort();
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
    size_t len = (size_t)zs.total_out;
    deflateEnd(&zs);
    *out = buf;
    return len;
}

/* Sets the file to data, gzip-compressed first if gz. */
static inline void fz_file_set_maybe_gz(fz_file *f, const void *data, size_t len, int gz) {
    if (!gz) {
        fz_file_set(f, data, len);
        return;
    }
    unsigned char *z;
    size_t zlen = fz_gzip(data, len, &z);
    fz_file_set(f, z, zlen);
    free(z);
}

/* A dataset filled with a recognisable pattern before a read, to check that a failure leaves it
 * untouched. */
static inline void fz_poison(mlp_dataset *ds) {
    memset(ds, 0xA5, sizeof *ds);
}

/* The readers' contract on failure: st is one of theirs (the I/O, format, size and memory
 * statuses, and `other`: ARG or SHAPE, which only some readers return), *ds is still poisoned and
 * a message is recorded. Returns whether the read failed. */
static inline int fz_read_failed(mlp_status st, const mlp_dataset *ds, mlp_status other) {
    if (st == MLP_OK) return 0;
    mlp_dataset poison;
    fz_poison(&poison);
    FZ_CHECK(memcmp(ds, &poison, sizeof *ds) == 0);
    FZ_CHECK(st == MLP_ERR_FORMAT || st == other || st == MLP_ERR_IO || st == MLP_ERR_NOMEM ||
             st == MLP_ERR_OVERFLOW || st == MLP_ERR_LIMIT);
    FZ_CHECK(mlp_last_error()[0] != '\0');
    return 1;
}

#endif /* MLP_FUZZ_UTIL_H */
