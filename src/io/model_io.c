/* Model files: save (atomic: temp file, fsync, rename) and load (bounded parsing, every size
 * checked against the file length before allocating). Byte layout: docs/MODEL_FORMAT.md.
 *
 * Every multi-byte value is encoded explicitly, least significant byte first, with shifts (floats
 * through their IEEE-754 bit pattern, copied into a uint32 with memcpy). Shifts act on values, not
 * on memory, so the bytes on disk are little-endian on every host and no endianness detection or
 * byte swapping is needed. */
#define _POSIX_C_SOURCE 200809L

#include "core/core.h"
#include "mlp/data.h"
#include "mlp/fit.h"
#include "mlp/model.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#define MODEL_MAGIC "MLPMODEL"
#define MODEL_MAGIC_LEN 8
#define MODEL_VERSION 3u
/* The class section (version 2): kind, count, then the values or the names. */
#define MODEL_CLASS_HEAD 12u
/* Longest class name stored (the CSV reader's longest field). */
#define MODEL_MAX_NAME ((size_t)1 << 20)
/* Bytes before the layer sizes: magic .. n_params (see docs/MODEL_FORMAT.md). */
#define MODEL_FIXED_LEN 92u
#define MODEL_CRC_LEN 4u
/* Largest file written or read: the whole file is read into memory to check its CRC first. */
#define MODEL_MAX_FILE ((uint64_t)1 << 32)
/* Sanity bound on the layer count (the file length bounds it much further in practice). */
#define MODEL_MAX_LAYERS 65536u
/* Write buffer. */
#define MODEL_CHUNK 65536u

/* ---------------------------------------------------------------------------------------------
 * Little-endian encoding
 */
static void put_le32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v & 0xffu);
    p[1] = (unsigned char)((v >> 8) & 0xffu);
    p[2] = (unsigned char)((v >> 16) & 0xffu);
    p[3] = (unsigned char)((v >> 24) & 0xffu);
}

static uint32_t get_le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get_le64(const unsigned char *p) {
    return (uint64_t)get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}

static uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* zlib's crc32 takes a uInt length: feed large buffers in pieces. */
static uLong crc_update(uLong crc, const unsigned char *p, size_t n) {
    while (n > 0) {
        size_t k = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        crc = crc32(crc, p, (uInt)k);
        p += k;
        n -= k;
    }
    return crc;
}

/* ---------------------------------------------------------------------------------------------
 * Buffered writer: encodes into a chunk, updates the CRC and fwrites whole chunks.
 */
typedef struct writer {
    FILE *f;
    unsigned char buf[MODEL_CHUNK];
    size_t len;
    uLong crc;
    int err; /* errno of the first failed write, or 0 */
} writer;

static void w_flush(writer *w) {
    if (w->len == 0) return;
    w->crc = crc_update(w->crc, w->buf, w->len);
    if (!w->err) {
        errno = 0;
        if (fwrite(w->buf, 1, w->len, w->f) != w->len) w->err = errno ? errno : EIO;
    }
    w->len = 0;
}

static void w_reserve(writer *w, size_t n) {
    if (MODEL_CHUNK - w->len < n) w_flush(w);
}

static void w_bytes(writer *w, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n > 0) {
        w_reserve(w, n < MODEL_CHUNK ? n : MODEL_CHUNK);
        size_t k = MODEL_CHUNK - w->len < n ? MODEL_CHUNK - w->len : n;
        memcpy(w->buf + w->len, b, k);
        w->len += k;
        b += k;
        n -= k;
    }
}

static void w_u32(writer *w, uint32_t v) {
    w_reserve(w, 4);
    put_le32(w->buf + w->len, v);
    w->len += 4;
}

static void w_u64(writer *w, uint64_t v) {
    w_reserve(w, 8);
    put_le32(w->buf + w->len, (uint32_t)(v & 0xffffffffu));
    put_le32(w->buf + w->len + 4, (uint32_t)(v >> 32));
    w->len += 8;
}

static void w_f32(writer *w, float f) {
    w_u32(w, float_bits(f));
}

/* n floats from src, or n zeros if src is NULL. */
static void w_floats(writer *w, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) w_u32(w, src ? float_bits(src[i]) : 0u);
}

/* ---------------------------------------------------------------------------------------------
 * Save
 */

/* File length for a net with n_layers layers, n_params parameters, a scaler of d features and a
 * class section of class_len bytes; false if it overflows. */
static bool model_file_len(size_t n_layers, size_t n_params, size_t d, uint64_t class_len,
                           uint64_t *len) {
    /* All inputs are bounded by the caller (n_layers <= MODEL_MAX_LAYERS, class_len < 2^63); use
     * uint64 with overflow checks for the products that depend on n_params and d. */
    /* 16L: sizes after the first, activations and (version 3) the dropout section. */
    uint64_t total = MODEL_FIXED_LEN + 16u * (uint64_t)n_layers + 8u + MODEL_CRC_LEN + class_len;
    uint64_t p12, d8;
    if (__builtin_mul_overflow((uint64_t)n_params, (uint64_t)12, &p12)) return false;
    if (__builtin_mul_overflow((uint64_t)d, (uint64_t)8, &d8)) return false;
    if (__builtin_add_overflow(total, p12, &total)) return false;
    if (__builtin_add_overflow(total, d8, &total)) return false;
    *len = total;
    return true;
}

/* Directory part of path ("." if none) into a new string; NULL on allocation failure. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        char *d = malloc(2);
        if (d) memcpy(d, ".", 2);
        return d;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/name" -> "/" */
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* Makes the rename durable. Best effort: some filesystems do not support fsync on directories. */
static void fsync_dir_of(const char *path) {
    char *dir = dir_of(path);
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
    free(dir);
}

static mlp_status check_net_for_save(const mlp_net *net, const mlp_scaler *scaler) {
    if (net->n_layers == 0 || !net->layers || !net->params)
        return mlp_fail(MLP_ERR_ARG, "mlp_model_save: net is not initialised");
    if (net->n_layers > MODEL_MAX_LAYERS)
        return mlp_fail(MLP_ERR_ARG, "mlp_model_save: %zu layers exceed the format's limit of %u",
                        net->n_layers, MODEL_MAX_LAYERS);
    size_t count = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const mlp_layer *ly = &net->layers[l];
        size_t w;
        if (l > 0 && ly->in != net->layers[l - 1].out)
            return mlp_fail(MLP_ERR_ARG, "mlp_model_save: net layers are inconsistent");
        if (!mlp_mul_ok(ly->in, ly->out, &w) || __builtin_add_overflow(count, w, &count) ||
            __builtin_add_overflow(count, ly->out, &count))
            return mlp_fail(MLP_ERR_OVERFLOW, "mlp_model_save: parameter count overflows");
    }
    if (count != net->n_params)
        return mlp_fail(MLP_ERR_ARG, "mlp_model_save: net parameter count is inconsistent");
    if ((unsigned)net->opt.kind >= MLP_OPT_COUNT || (unsigned)net->loss >= MLP_LOSS_COUNT ||
        (unsigned)net->init >= MLP_INIT_COUNT)
        return mlp_fail(MLP_ERR_ARG, "mlp_model_save: net has an unknown enum value");
    if (scaler) {
        if ((unsigned)scaler->kind >= MLP_SCALE_COUNT)
            return mlp_fail(MLP_ERR_ARG, "mlp_model_save: unknown scaler kind %d",
                            (int)scaler->kind);
        if (scaler->kind != MLP_SCALE_NONE) {
            if (!scaler->offset || !scaler->scale)
                return mlp_fail(MLP_ERR_NULL, "mlp_model_save: scaler arrays are NULL");
            if (scaler->d != net->layers[0].in)
                return mlp_fail(MLP_ERR_SHAPE,
                                "mlp_model_save: scaler has %zu features, net input has %zu",
                                scaler->d, net->layers[0].in);
        }
    }
    return MLP_OK;
}

/* The class section: kind, count, then n f64 values or n (u32 length, bytes) names. */
static void write_classes(writer *w, const mlp_classes *c) {
    mlp_class_kind kind = c ? c->kind : MLP_CLASSES_NONE;
    w_u32(w, (uint32_t)kind);
    w_u64(w, kind == MLP_CLASSES_NONE ? 0 : (uint64_t)c->n);
    if (kind == MLP_CLASSES_NONE) return;
    for (size_t i = 0; i < c->n; i++) {
        if (kind == MLP_CLASSES_NUMBERS) {
            uint64_t u;
            memcpy(&u, &c->values[i], sizeof u);
            w_u64(w, u);
        } else {
            size_t len = strlen(c->names[i]);
            w_u32(w, (uint32_t)len);
            w_bytes(w, c->names[i], len);
        }
    }
}

static void write_model(writer *w, const mlp_net *net, const mlp_scaler *sc, size_t d,
                        const mlp_classes *classes) {
    const mlp_optimizer *o = &net->opt;
    w_bytes(w, MODEL_MAGIC, MODEL_MAGIC_LEN);
    w_u32(w, MODEL_VERSION);
    w_u32(w, (uint32_t)net->n_layers);
    w_u32(w, (uint32_t)net->loss);
    w_u32(w, (uint32_t)net->init);
    w_u64(w, net->seed);
    w_u32(w, (uint32_t)o->kind);
    w_f32(w, o->lr);
    w_f32(w, o->alpha);
    w_f32(w, o->momentum);
    w_u32(w, (uint32_t)o->nesterov);
    w_f32(w, o->beta1);
    w_f32(w, o->beta2);
    w_f32(w, o->eps);
    w_u64(w, mlp_net_state_view(net).step);
    w_u32(w, (uint32_t)(d ? sc->kind : MLP_SCALE_NONE));
    w_u64(w, (uint64_t)d);
    w_u64(w, (uint64_t)net->n_params);
    w_u64(w, (uint64_t)net->layers[0].in);
    for (size_t l = 0; l < net->n_layers; l++) w_u64(w, (uint64_t)net->layers[l].out);
    for (size_t l = 0; l < net->n_layers; l++) w_u32(w, (uint32_t)net->layers[l].act);
    const mlp_state_view state = mlp_net_state_view(net);
    w_floats(w, state.params, state.n);
    w_floats(w, state.m, state.n);
    w_floats(w, state.v, state.n);
    if (d) {
        w_floats(w, sc->offset, d);
        w_floats(w, sc->scale, d);
    }
    write_classes(w, classes);
    for (size_t l = 0; l < net->n_layers; l++) w_f32(w, net->layers[l].dropout);
    w_flush(w);
}

/* Creates the temporary file tmp (a mkstemp template: the name is filled in), gives it the mode of
 * the file at path (or 0644) and opens it for writing. */
static mlp_status open_temp(const char *path, char *tmp, FILE **out) {
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        return mlp_fail(MLP_ERR_IO,
                        "mlp_model_save: cannot create a temporary file next to '%s': %s", path,
                        strerror(e));
    }
    /* mkstemp creates the file 0600: give the result the mode of the file it replaces, or 0644. */
    struct stat old;
    mode_t mode = 0644;
    if (stat(path, &old) == 0 && S_ISREG(old.st_mode)) mode = old.st_mode & 07777;
    (void)fchmod(fd, mode); /* best effort */

    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        (void)close(fd);
        (void)unlink(tmp);
        return mlp_fail(e == ENOMEM ? MLP_ERR_NOMEM : MLP_ERR_IO,
                        "mlp_model_save: cannot open '%s': %s", tmp, strerror(e));
    }
    *out = f;
    return MLP_OK;
}

/* Writes the model and its CRC through w into f (the temporary file tmp), closes it durably and
 * renames it over path; on failure tmp is removed. */
static mlp_status write_and_rename(writer *w, FILE *f, const char *tmp, const char *path,
                                   const mlp_net *net, const mlp_scaler *scaler, size_t d,
                                   const mlp_classes *classes) {
    w->f = f;
    w->len = 0;
    w->crc = crc32(0L, Z_NULL, 0);
    w->err = 0;
    write_model(w, net, scaler, d, classes);
    unsigned char crc_bytes[MODEL_CRC_LEN];
    put_le32(crc_bytes, (uint32_t)(w->crc & 0xffffffffu));
    int err = w->err;
    const char *what = "write";
    if (!err) {
        errno = 0;
        if (fwrite(crc_bytes, 1, sizeof crc_bytes, f) != sizeof crc_bytes)
            err = errno ? errno : EIO;
    }
    if (!err && fflush(f) != 0) {
        err = errno ? errno : EIO;
        what = "flush";
    }
    if (!err && fsync(fileno(f)) != 0) {
        err = errno;
        what = "fsync";
    }
    errno = 0;
    if (fclose(f) != 0 && !err) {
        err = errno ? errno : EIO;
        what = "close";
    }
    if (!err && rename(tmp, path) != 0) {
        err = errno;
        what = "rename temporary file over";
    }
    if (err) {
        (void)unlink(tmp);
        return mlp_fail(MLP_ERR_IO, "mlp_model_save: cannot %s '%s': %s", what, path,
                        strerror(err));
    }
    fsync_dir_of(path);
    return MLP_OK;
}

/* Checks a class list against the net (a classifier with that many classes; sorted, unique) and
 * computes the bytes of its section. */
static mlp_status check_classes_for_save(const mlp_net *net, const mlp_classes *c, uint64_t *len) {
    static const char fn[] = "mlp_model_save_classes";
    *len = MODEL_CLASS_HEAD;
    if (!c || c->kind == MLP_CLASSES_NONE) return MLP_OK;
    if ((unsigned)c->kind >= MLP_CLASSES_COUNT)
        return mlp_fail(MLP_ERR_ARG, "%s: unknown class kind %d", fn, (int)c->kind);
    if (c->kind == MLP_CLASSES_NUMBERS ? !c->values : !c->names)
        return mlp_fail(MLP_ERR_NULL, "%s: the class array is NULL", fn);
    mlp_task task;
    size_t k = 0;
    mlp_task_of_net(net, &task, &k);
    if (task != MLP_TASK_CLASSIFY)
        return mlp_fail(MLP_ERR_ARG, "%s: a class list needs a classifier (the net is not one)",
                        fn);
    if (c->n != k)
        return mlp_fail(MLP_ERR_SHAPE, "%s: %zu classes in the list, the net has %zu", fn, c->n, k);
    for (size_t i = 0; i < c->n; i++) {
        if (c->kind == MLP_CLASSES_NUMBERS) {
            if (!isfinite(c->values[i]) || (i && !(c->values[i] > c->values[i - 1])))
                return mlp_fail(MLP_ERR_ARG,
                                "%s: class values are not finite and increasing "
                                "(at %zu)",
                                fn, i);
            *len += 8;
            continue;
        }
        if (!c->names[i]) return mlp_fail(MLP_ERR_NULL, "%s: class name %zu is NULL", fn, i);
        size_t n = strlen(c->names[i]);
        if (n > MODEL_MAX_NAME)
            return mlp_fail(MLP_ERR_ARG, "%s: class name %zu is longer than %zu bytes", fn, i,
                            MODEL_MAX_NAME);
        if (i && strcmp(c->names[i - 1], c->names[i]) >= 0)
            return mlp_fail(MLP_ERR_ARG, "%s: class names are not increasing (at %zu)", fn, i);
        *len += 4 + (uint64_t)n;
        if (*len > MODEL_MAX_FILE) break; /* too long anyway: the caller says so */
    }
    return MLP_OK;
}

mlp_status mlp_model_save(const char *path, const mlp_net *net, const mlp_scaler *scaler) {
    return mlp_model_save_classes(path, net, scaler, NULL);
}

mlp_status mlp_model_save_classes(const char *path, const mlp_net *net, const mlp_scaler *scaler,
                                  const mlp_classes *classes) {
    if (!path) return mlp_fail(MLP_ERR_NULL, "mlp_model_save: path is NULL");
    if (!net) return mlp_fail(MLP_ERR_NULL, "mlp_model_save: net is NULL");
    if (path[0] == '\0') return mlp_fail(MLP_ERR_ARG, "mlp_model_save: path is empty");
    mlp_status st = check_net_for_save(net, scaler);
    uint64_t class_len = 0;
    if (st == MLP_OK) st = check_classes_for_save(net, classes, &class_len);
    if (st != MLP_OK) return st;
    size_t d = (scaler && scaler->kind != MLP_SCALE_NONE) ? scaler->d : 0;
    uint64_t file_len;
    if (!model_file_len(net->n_layers, net->n_params, d, class_len, &file_len) ||
        file_len > MODEL_MAX_FILE)
        return mlp_fail(MLP_ERR_OVERFLOW,
                        "mlp_model_save: model of %zu parameters exceeds the format's 4 GiB limit",
                        net->n_params);

    static const char suffix[] = ".tmp.XXXXXX";
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof suffix);
    writer *w = malloc(sizeof *w);
    if (!tmp || !w) {
        st = mlp_fail(MLP_ERR_NOMEM, "mlp_model_save: out of memory");
    } else {
        memcpy(tmp, path, plen);
        memcpy(tmp + plen, suffix, sizeof suffix);
        FILE *f = NULL;
        st = open_temp(path, tmp, &f);
        if (st == MLP_OK) st = write_and_rename(w, f, tmp, path, net, scaler, d, classes);
    }
    free(tmp);
    free(w);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Load
 */

/* Bounded reader over the file's bytes (the CRC excluded). Every get checks the length. */
typedef struct reader {
    const unsigned char *p;
    size_t len, pos;
} reader;

static bool r_u32(reader *r, uint32_t *v) {
    if (r->len - r->pos < 4) return false;
    *v = get_le32(r->p + r->pos);
    r->pos += 4;
    return true;
}

static bool r_u64(reader *r, uint64_t *v) {
    if (r->len - r->pos < 8) return false;
    *v = get_le64(r->p + r->pos);
    r->pos += 8;
    return true;
}

static bool r_f32(reader *r, float *v) {
    uint32_t u;
    if (!r_u32(r, &u)) return false;
    *v = bits_float(u);
    return true;
}

/* n floats; the caller has checked that they are there. dst may be NULL (skip). */
static void r_floats(reader *r, float *dst, size_t n) {
    const unsigned char *p = r->p + r->pos;
    if (dst)
        for (size_t i = 0; i < n; i++) dst[i] = bits_float(get_le32(p + 4 * i));
    r->pos += 4 * n;
}

/* Reads the whole regular file at path into a new buffer. */
static mlp_status read_file(const char *path, unsigned char **out, size_t *out_len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return mlp_fail(MLP_ERR_IO, "mlp_model_load: cannot open '%s': %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        (void)close(fd);
        return mlp_fail(MLP_ERR_IO, "mlp_model_load: cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        (void)close(fd);
        return mlp_fail(MLP_ERR_IO, "mlp_model_load: '%s' is not a regular file", path);
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > MODEL_MAX_FILE ||
        (uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        (void)close(fd);
        return mlp_fail(MLP_ERR_FORMAT, "mlp_model_load: '%s' is too large for a model file", path);
    }
    size_t len = (size_t)sb.st_size;
    mlp_status lst = mlp_check_alloc(len, path);
    if (lst != MLP_OK) {
        (void)close(fd);
        return lst;
    }
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        (void)close(fd);
        return mlp_fail(MLP_ERR_NOMEM, "mlp_model_load: cannot allocate %zu bytes for '%s'", len,
                        path);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t k = read(fd, buf + got, len - got);
        if (k < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            (void)close(fd);
            return mlp_fail(MLP_ERR_IO, "mlp_model_load: cannot read '%s': %s", path, strerror(e));
        }
        if (k == 0) break; /* the file shrank after fstat: treated as truncated below */
        got += (size_t)k;
    }
    (void)close(fd);
    *out = buf;
    *out_len = got;
    return MLP_OK;
}

/* Everything the header says, validated. */
typedef struct model_header {
    uint32_t n_layers;
    mlp_loss loss;
    mlp_init init;
    uint64_t seed;
    mlp_optimizer opt;
    uint64_t step;
    mlp_scale_kind scale_kind;
    size_t d;
    size_t n_params;
    size_t *sizes;               /* n_layers + 1 */
    mlp_activation *activations; /* n_layers */
    uint32_t version; /* 2 has a class section after the scaler, 3 also a dropout section */
} model_header;

#define FMT_FAIL(...) mlp_fail(MLP_ERR_FORMAT, "mlp_model_load: " __VA_ARGS__)

/* Parses and validates the header; on success r is at the first parameter and the remaining
 * length is exactly what the counts need. Allocates h->sizes and h->activations only after
 * checking that the file holds them. */
static mlp_status parse_header(reader *r, model_header *h, const char *path) {
    uint32_t loss, init, kind, nesterov, scale_kind;
    uint64_t d64, np64;
    r->pos = MODEL_MAGIC_LEN + 4; /* magic and version were checked by the caller */
    if (!r_u32(r, &h->n_layers) || !r_u32(r, &loss) || !r_u32(r, &init) || !r_u64(r, &h->seed) ||
        !r_u32(r, &kind) || !r_f32(r, &h->opt.lr) || !r_f32(r, &h->opt.alpha) ||
        !r_f32(r, &h->opt.momentum) || !r_u32(r, &nesterov) || !r_f32(r, &h->opt.beta1) ||
        !r_f32(r, &h->opt.beta2) || !r_f32(r, &h->opt.eps) || !r_u64(r, &h->step) ||
        !r_u32(r, &scale_kind) || !r_u64(r, &d64) || !r_u64(r, &np64))
        return FMT_FAIL("'%s' is truncated (header)", path);
    if (h->n_layers == 0 || h->n_layers > MODEL_MAX_LAYERS)
        return FMT_FAIL("'%s': invalid layer count %" PRIu32, path, h->n_layers);
    if (loss >= MLP_LOSS_COUNT) return FMT_FAIL("'%s': unknown loss %" PRIu32, path, loss);
    if (init >= MLP_INIT_COUNT) return FMT_FAIL("'%s': unknown init %" PRIu32, path, init);
    if (kind >= MLP_OPT_COUNT || kind == MLP_OPT_LBFGS)
        return FMT_FAIL("'%s': unknown optimizer %" PRIu32, path, kind);
    if (nesterov > 1) return FMT_FAIL("'%s': invalid nesterov flag %" PRIu32, path, nesterov);
    if (scale_kind >= MLP_SCALE_COUNT)
        return FMT_FAIL("'%s': unknown scaler kind %" PRIu32, path, scale_kind);
    h->loss = (mlp_loss)loss;
    h->init = (mlp_init)init;
    h->opt.kind = (mlp_optimizer_kind)kind;
    h->opt.nesterov = (int)nesterov;
    h->scale_kind = (mlp_scale_kind)scale_kind;

    /* Layer sizes and activations: check that the bytes are there before allocating. */
    size_t L = h->n_layers;
    size_t shape_bytes = 8 * (L + 1) + 4 * L; /* L <= 65536: no overflow */
    if (r->len - r->pos < shape_bytes) return FMT_FAIL("'%s' is truncated (layer sizes)", path);
    size_t shape_pos = r->pos;
    size_t count = 0;
    for (size_t i = 0; i <= L; i++) {
        uint64_t s = get_le64(r->p + shape_pos + 8 * i);
        if (s == 0 || s > (uint64_t)SIZE_MAX)
            return FMT_FAIL("'%s': invalid width %" PRIu64 " of layer %zu", path, s, i);
        if (i > 0) {
            uint64_t in = get_le64(r->p + shape_pos + 8 * (i - 1)), w;
            if (__builtin_mul_overflow(in, s, &w) || __builtin_add_overflow(w, s, &w) ||
                w > (uint64_t)SIZE_MAX || __builtin_add_overflow(count, (size_t)w, &count))
                return FMT_FAIL("'%s': layer sizes overflow the parameter count", path);
        }
    }
    for (size_t l = 0; l < L; l++) {
        uint32_t a = get_le32(r->p + shape_pos + 8 * (L + 1) + 4 * l);
        if (a >= MLP_ACT_COUNT)
            return FMT_FAIL("'%s': unknown activation %" PRIu32 " of layer %zu", path, a, l);
    }
    if (np64 != (uint64_t)count)
        return FMT_FAIL("'%s': parameter count %" PRIu64 " does not match the layer sizes (%zu)",
                        path, np64, count);
    uint64_t first = get_le64(r->p + shape_pos);
    if (scale_kind == MLP_SCALE_NONE && d64 != 0)
        return FMT_FAIL("'%s': no scaler but a scaler size of %" PRIu64, path, d64);
    if (scale_kind != MLP_SCALE_NONE && d64 != first)
        return FMT_FAIL("'%s': scaler size %" PRIu64 " does not match the input size %" PRIu64,
                        path, d64, first);

    /* The rest must be exactly 3 * n_params + 2 * d floats. */
    size_t rest = r->len - (shape_pos + shape_bytes);
    if (count > rest / 12) return FMT_FAIL("'%s' is truncated (parameters)", path);
    size_t need = 12 * count;
    if ((uint64_t)(rest - need) / 8 < d64 || d64 > (uint64_t)SIZE_MAX)
        return FMT_FAIL("'%s' is truncated (scaler)", path);
    h->d = (size_t)d64;
    need += 8 * h->d;
    if (h->version >= 2 && rest - need < MODEL_CLASS_HEAD)
        return FMT_FAIL("'%s' is truncated (classes)", path);
    if (h->version < 2 && need != rest)
        return FMT_FAIL("'%s' has %zu unexpected trailing bytes", path, rest - need);
    h->n_params = count;

    h->sizes = malloc((L + 1) * sizeof *h->sizes);
    h->activations = malloc(L * sizeof *h->activations);
    if (!h->sizes || !h->activations)
        return mlp_fail(MLP_ERR_NOMEM, "mlp_model_load: out of memory");
    for (size_t i = 0; i <= L; i++) h->sizes[i] = (size_t)get_le64(r->p + shape_pos + 8 * i);
    for (size_t l = 0; l < L; l++)
        h->activations[l] = (mlp_activation)get_le32(r->p + shape_pos + 8 * (L + 1) + 4 * l);
    r->pos = shape_pos + shape_bytes;
    return MLP_OK;
}

/* Checks the magic, version and CRC of the file's bytes; *version receives the version. */
static mlp_status check_envelope(const unsigned char *buf, size_t len, const char *path,
                                 uint32_t *version_out) {
    size_t m = len < MODEL_MAGIC_LEN ? len : MODEL_MAGIC_LEN;
    if (memcmp(buf, MODEL_MAGIC, m) != 0) return FMT_FAIL("'%s' is not an mlp model file", path);
    if (len < MODEL_MAGIC_LEN + 4) return FMT_FAIL("'%s' is truncated (%zu bytes)", path, len);
    uint32_t version = get_le32(buf + MODEL_MAGIC_LEN);
    if (version > MODEL_VERSION)
        return FMT_FAIL("'%s': format version %" PRIu32 " is newer than this library's %u", path,
                        version, MODEL_VERSION);
    if (version == 0) return FMT_FAIL("'%s': invalid format version 0", path);
    if (len < MODEL_FIXED_LEN + MODEL_CRC_LEN)
        return FMT_FAIL("'%s' is truncated (%zu bytes)", path, len);
    uLong crc = crc_update(crc32(0L, Z_NULL, 0), buf, len - MODEL_CRC_LEN);
    if ((uint32_t)(crc & 0xffffffffu) != get_le32(buf + len - MODEL_CRC_LEN))
        return FMT_FAIL("'%s': checksum mismatch (corrupted)", path);
    *version_out = version;
    return MLP_OK;
}

/* Copies parameters and optimizer moments from r into the net (the net owns all three). */
/* The stored parameters, moments and step count into n, through core's state seam. */
static void read_state(reader *r, mlp_net *n, uint64_t step) {
    mlp_state s = mlp_net_state_begin(n);
    r_floats(r, s.params, s.n);
    r_floats(r, s.m, s.n);
    r_floats(r, s.v, s.n);
    mlp_net_state_end(n, step);
}

/* Creates the net the header describes, with its optimizer settings, into *out. A configuration
 * the library rejects is a format error (resource failures keep their status). */
static mlp_status net_from_header(const model_header *h, const char *path, mlp_net **out) {
    mlp_net_config cfg = {
        .n_layers = h->n_layers,
        .sizes = h->sizes,
        .activations = h->activations,
        .loss = h->loss,
        .init = h->init,
        .seed = h->seed,
    };
    mlp_net *n = NULL;
    mlp_status st = mlp_net_create(&n, &cfg);
    if (st == MLP_OK) st = mlp_net_set_optimizer(n, &h->opt);
    if (st != MLP_OK) {
        /* Only a valid file passes the CRC, so a rejected configuration means a file written by
         * something else (or a library that accepted it then): report it as a format error,
         * keeping the library's detail. Resource failures keep their status. */
        if (st != MLP_ERR_NOMEM && st != MLP_ERR_LIMIT) {
            char detail[400];
            snprintf(detail, sizeof detail, "%s", mlp_last_error());
            st = FMT_FAIL("'%s': invalid model (%s)", path, detail);
        }
    } else if (n->n_params != h->n_params) {
        st = FMT_FAIL("'%s': its layers make %zu parameters, its header says %zu", path,
                      n->n_params, h->n_params);
    }
    if (st != MLP_OK) {
        mlp_net_free(n);
        return st;
    }
    *out = n;
    return MLP_OK;
}

/* The scaler's d offsets and scales from r into new arrays, each value checked. */
static mlp_status read_scaler(reader *r, size_t d, const char *path, float **offset,
                              float **scale) {
    float *off = malloc(d * sizeof *off), *sc = malloc(d * sizeof *sc);
    mlp_status st = MLP_OK;
    if (!off || !sc) {
        st = mlp_fail(MLP_ERR_NOMEM, "mlp_model_load: out of memory (scaler of %zu)", d);
    } else {
        r_floats(r, off, d);
        r_floats(r, sc, d);
        for (size_t j = 0; j < d && st == MLP_OK; j++)
            if (!isfinite(off[j]) || !isfinite(sc[j]) || sc[j] == 0.0f)
                st = FMT_FAIL("'%s': invalid scaler value at feature %zu", path, j);
    }
    if (st != MLP_OK) {
        free(off);
        free(sc);
        return st;
    }
    *offset = off;
    *scale = sc;
    return MLP_OK;
}

/* One stored class name at r (u32 length, bytes) into a new string, checked. */
static mlp_status read_name(reader *r, const char *path, size_t i, char **out) {
    uint32_t len;
    if (!r_u32(r, &len) || len > MODEL_MAX_NAME || r->len - r->pos < len)
        return FMT_FAIL("'%s': class name %zu is truncated or too long", path, i);
    const unsigned char *p = r->p + r->pos;
    if (memchr(p, 0, len)) return FMT_FAIL("'%s': class name %zu holds a NUL byte", path, i);
    char *s = malloc((size_t)len + 1);
    if (!s) return mlp_fail(MLP_ERR_NOMEM, "mlp_model_load: out of memory (class names)");
    memcpy(s, p, len);
    s[len] = '\0';
    r->pos += len;
    *out = s;
    return MLP_OK;
}

/* Reads the n stored classes of kind into *c (allocated after checking the bytes are there). */
static mlp_status read_class_list(reader *r, mlp_class_kind kind, size_t n, const char *path,
                                  mlp_classes *c) {
    size_t min_each = kind == MLP_CLASSES_NUMBERS ? 8 : 4;
    if (n > (r->len - r->pos) / min_each) return FMT_FAIL("'%s' is truncated (classes)", path);
    mlp_status st = MLP_OK;
    memset(c, 0, sizeof *c);
    c->kind = kind;
    if (kind == MLP_CLASSES_NUMBERS)
        c->values = malloc(n * sizeof *c->values);
    else
        c->names = calloc(n, sizeof *c->names);
    if (kind == MLP_CLASSES_NUMBERS ? !c->values : !c->names)
        return mlp_fail(MLP_ERR_NOMEM, "mlp_model_load: out of memory (%zu classes)", n);
    c->n = n;
    for (size_t i = 0; i < n && st == MLP_OK; i++) {
        if (kind == MLP_CLASSES_NAMES) {
            st = read_name(r, path, i, &c->names[i]);
            if (st == MLP_OK && i && strcmp(c->names[i - 1], c->names[i]) >= 0)
                st = FMT_FAIL("'%s': class names are not increasing (at %zu)", path, i);
            continue;
        }
        uint64_t u = 0;
        r_u64(r, &u); /* there: checked above */
        memcpy(&c->values[i], &u, sizeof u);
        if (!isfinite(c->values[i]) || (i && !(c->values[i] > c->values[i - 1])))
            st = FMT_FAIL("'%s': class values are not finite and increasing (at %zu)", path, i);
    }
    if (st != MLP_OK) mlp_classes_free(c);
    return st;
}

/* The class section (version 2) into *c: checked against the net (a classifier with as many
 * classes); without one (version 1 or kind NONE) a classifier gets 0..K-1. */
static mlp_status read_classes(reader *r, const model_header *h, const mlp_net *net,
                               const char *path, mlp_classes *c) {
    mlp_task task;
    size_t k = 0;
    mlp_task_of_net(net, &task, &k);
    uint32_t kind = MLP_CLASSES_NONE;
    uint64_t n = 0;
    if (h->version >= 2) {
        r_u32(r, &kind); /* the header check left at least MODEL_CLASS_HEAD bytes */
        r_u64(r, &n);
        if (kind >= MLP_CLASSES_COUNT || (kind == MLP_CLASSES_NONE && n != 0))
            return FMT_FAIL("'%s': invalid class section (kind %" PRIu32 ")", path, kind);
        if (kind != MLP_CLASSES_NONE && (task != MLP_TASK_CLASSIFY || n != (uint64_t)k))
            return FMT_FAIL("'%s': %" PRIu64 " stored classes for a net of %zu %s", path, n, k,
                            task == MLP_TASK_CLASSIFY ? "classes" : "outputs (not a classifier)");
    }
    mlp_status st = MLP_OK;
    memset(c, 0, sizeof *c);
    if (kind != MLP_CLASSES_NONE)
        st = read_class_list(r, (mlp_class_kind)kind, (size_t)n, path, c);
    else if (task == MLP_TASK_CLASSIFY)
        st = mlp_classes_range(k, c);
    return st;
}

/* The dropout section (version 3): each layer's probability, set on the net (which checks it:
 * hidden layers only, in [0, 1)); older files have none. Then nothing may follow. */
static mlp_status read_dropout(reader *r, const model_header *h, mlp_net *net, const char *path) {
    const size_t L = h->n_layers;
    if (h->version >= 3 && r->len - r->pos < 4 * L)
        return FMT_FAIL("'%s' is truncated (dropout)", path);
    for (size_t l = 0; h->version >= 3 && l < L; l++) {
        uint32_t bits = 0;
        r_u32(r, &bits);
        /* Only +0 means none: -0 is set like any value (so that a save writes it back). */
        const float p = bits_float(bits);
        if (bits != 0 && mlp_net_set_dropout(net, l, p) != MLP_OK)
            return FMT_FAIL("'%s': invalid dropout %g of layer %zu", path, (double)p, l);
    }
    if (r->pos != r->len)
        return FMT_FAIL("'%s' has %zu unexpected trailing bytes", path, r->len - r->pos);
    return MLP_OK;
}

mlp_status mlp_model_load(const char *path, mlp_net **net, mlp_scaler *scaler) {
    return mlp_model_load_classes(path, net, scaler, NULL);
}

/* Hands the loaded scaler arrays and classes to the caller's structs. */
static void give_results(const model_header *h, float **offset, float **scale, mlp_scaler *scaler,
                         mlp_classes *cls, mlp_classes *classes) {
    if (scaler) {
        scaler->kind = h->scale_kind;
        scaler->d = h->d;
        scaler->offset = *offset;
        scaler->scale = *scale;
        *offset = *scale = NULL;
    }
    if (classes) {
        *classes = *cls;
        memset(cls, 0, sizeof *cls);
    }
}

mlp_status mlp_model_load_classes(const char *path, mlp_net **net, mlp_scaler *scaler,
                                  mlp_classes *classes) {
    if (net) *net = NULL;
    if (!path) return mlp_fail(MLP_ERR_NULL, "mlp_model_load: path is NULL");
    if (!net) return mlp_fail(MLP_ERR_NULL, "mlp_model_load: net is NULL");

    unsigned char *buf = NULL;
    size_t len = 0;
    mlp_status st = read_file(path, &buf, &len);
    if (st != MLP_OK) return st;

    model_header h;
    memset(&h, 0, sizeof h);
    float *offset = NULL, *scale = NULL;
    mlp_classes cls = {0};
    mlp_net *n = NULL;
    reader r = {buf, len >= MODEL_CRC_LEN ? len - MODEL_CRC_LEN : 0, 0};
    st = check_envelope(buf, len, path, &h.version);
    if (st == MLP_OK) st = parse_header(&r, &h, path);
    if (st == MLP_OK) st = net_from_header(&h, path, &n);
    if (st == MLP_OK) {
        read_state(&r, n, h.step); /* net_from_header checked n_params and set h.opt */
        if (h.d) st = read_scaler(&r, h.d, path, &offset, &scale);
    }
    if (st == MLP_OK) st = read_classes(&r, &h, n, path, &cls);
    if (st == MLP_OK) st = read_dropout(&r, &h, n, path);
    if (st == MLP_OK) {
        give_results(&h, &offset, &scale, scaler, &cls, classes);
        *net = n;
        n = NULL;
    }
    mlp_classes_free(&cls);
    mlp_net_free(n);
    free(offset);
    free(scale);
    free(h.sizes);
    free(h.activations);
    free(buf);
    return st;
}
