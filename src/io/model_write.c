/* Saving a model: one serializer for both destinations, a file (through file_save.c: never a
 * half-written model, never a replaced device or link) or the caller's memory (the same bytes, so
 * that a pickle needs no temporary file). Byte layout: docs/MODEL_FORMAT.md. */
#define _POSIX_C_SOURCE 200809L

#include "core/core.h"
#include "io/file_save.h"
#include "io/model_format.h"
#include "mlp/data.h"
#include "mlp/fit.h"
#include "mlp/model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A file is written through a chunk of this size. */
#define MODEL_CHUNK 65536u

/* ---------------------------------------------------------------------------------------------
 * The serializer: encodes into buf and keeps the CRC of what it encoded. A file writer's buf is a
 * chunk written out whenever it fills; a memory writer's buf is the caller's buffer, sized
 * exactly, so the bytes land in place with no copy.
 */
typedef struct writer {
    int fd;             /* the file, or -1: buf is the caller's memory */
    unsigned char *buf; /* cap bytes */
    size_t cap, len;
    size_t crc_pos; /* bytes of buf already in crc */
    uLong crc;
    int err; /* errno of the first failure, or 0; later bytes are then dropped */
} writer;

/* Adds the new bytes to the CRC; a file writer also writes its chunk and starts the next. */
static void w_flush(writer *w) {
    w->crc = crc_update(w->crc, w->buf + w->crc_pos, w->len - w->crc_pos);
    w->crc_pos = w->len;
    if (w->fd < 0) return;
    if (!w->err) w->err = mlp_write_all(w->fd, w->buf, w->len);
    w->len = w->crc_pos = 0;
}

/* True if n more bytes fit. A memory writer is sized from the same counts as the serializer, so
 * running out is a bug; the bytes are then dropped rather than written past the buffer. */
static bool w_room(writer *w, size_t n) {
    if (w->cap - w->len < n) w_flush(w);
    if (w->cap - w->len >= n) return true;
    if (!w->err) w->err = EOVERFLOW;
    return false;
}

static void w_bytes(writer *w, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n > 0 && !w->err) {
        size_t k = n < MODEL_CHUNK ? n : MODEL_CHUNK;
        if (!w_room(w, k)) return;
        memcpy(w->buf + w->len, b, k);
        w->len += k;
        b += k;
        n -= k;
    }
}

static void w_u32(writer *w, uint32_t v) {
    if (!w_room(w, 4)) return;
    put_le32(w->buf + w->len, v);
    w->len += 4;
}

static void w_u64(writer *w, uint64_t v) {
    if (!w_room(w, 8)) return;
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

/* The CRC of everything before it, then the last bytes out. */
static void w_finish(writer *w) {
    w_flush(w);
    const uint32_t crc = (uint32_t)(w->crc & 0xffffffffu);
    w_u32(w, crc);
    w->crc_pos = w->len; /* the CRC is not part of itself */
    w_flush(w);
}

/* ---------------------------------------------------------------------------------------------
 * What is saved, checked before anything is written.
 */
typedef struct save_plan {
    const mlp_net *net;
    const mlp_scaler *scaler;
    const mlp_classes *classes;
    size_t d;             /* scaler features stored (0: none) */
    uint64_t len;         /* bytes of the whole model */
    unsigned char *chunk; /* a file save's write buffer */
} save_plan;

static mlp_status check_net_for_save(const char *fn, const mlp_net *net, const mlp_scaler *scaler) {
    if (net->n_layers == 0 || !net->layers || !net->params)
        return mlp_fail(MLP_ERR_ARG, "%s: net is not initialised", fn);
    if (net->n_layers > MODEL_MAX_LAYERS)
        return mlp_fail(MLP_ERR_ARG, "%s: %zu layers exceed the format's limit of %u", fn,
                        net->n_layers, MODEL_MAX_LAYERS);
    size_t count = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const mlp_layer *ly = &net->layers[l];
        size_t w;
        if (l > 0 && ly->in != net->layers[l - 1].out)
            return mlp_fail(MLP_ERR_ARG, "%s: net layers are inconsistent", fn);
        if (!mlp_mul_ok(ly->in, ly->out, &w) || __builtin_add_overflow(count, w, &count) ||
            __builtin_add_overflow(count, ly->out, &count))
            return mlp_fail(MLP_ERR_OVERFLOW, "%s: parameter count overflows", fn);
    }
    if (count != net->n_params)
        return mlp_fail(MLP_ERR_ARG, "%s: net parameter count is inconsistent", fn);
    if ((unsigned)net->opt.kind >= MLP_OPT_COUNT || (unsigned)net->loss >= MLP_LOSS_COUNT ||
        (unsigned)net->init >= MLP_INIT_COUNT)
        return mlp_fail(MLP_ERR_ARG, "%s: net has an unknown enum value", fn);
    if (!scaler) return MLP_OK;
    if ((unsigned)scaler->kind >= MLP_SCALE_COUNT)
        return mlp_fail(MLP_ERR_ARG, "%s: unknown scaler kind %d", fn, (int)scaler->kind);
    if (scaler->kind == MLP_SCALE_NONE) return MLP_OK;
    if (!scaler->offset || !scaler->scale)
        return mlp_fail(MLP_ERR_NULL, "%s: scaler arrays are NULL", fn);
    if (scaler->d != net->layers[0].in)
        return mlp_fail(MLP_ERR_SHAPE, "%s: scaler has %zu features, net input has %zu", fn,
                        scaler->d, net->layers[0].in);
    return MLP_OK;
}

/* One class of a list: numbers finite and increasing, names not NULL, not too long, increasing.
 * Adds its bytes to *len. */
static mlp_status check_class(const char *fn, const mlp_classes *c, size_t i, uint64_t *len) {
    if (c->kind == MLP_CLASSES_NUMBERS) {
        if (!isfinite(c->values[i]) || (i && !(c->values[i] > c->values[i - 1])))
            return mlp_fail(MLP_ERR_ARG, "%s: class values are not finite and increasing (at %zu)",
                            fn, i);
        *len += 8;
        return MLP_OK;
    }
    if (!c->names[i]) return mlp_fail(MLP_ERR_NULL, "%s: class name %zu is NULL", fn, i);
    size_t n = strlen(c->names[i]);
    if (n > MODEL_MAX_NAME)
        return mlp_fail(MLP_ERR_ARG, "%s: class name %zu is longer than %zu bytes", fn, i,
                        MODEL_MAX_NAME);
    if (i && strcmp(c->names[i - 1], c->names[i]) >= 0)
        return mlp_fail(MLP_ERR_ARG, "%s: class names are not increasing (at %zu)", fn, i);
    *len += 4 + (uint64_t)n;
    return MLP_OK;
}

/* Checks a class list against the net (a classifier with that many classes; sorted, unique) and
 * computes the bytes of its section. */
static mlp_status check_classes_for_save(const char *fn, const mlp_net *net, const mlp_classes *c,
                                         uint64_t *len) {
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
        mlp_status st = check_class(fn, c, i, len);
        if (st != MLP_OK) return st;
        if (*len > MODEL_MAX_FILE) break; /* too long anyway: the caller says so */
    }
    return MLP_OK;
}

/* Checks everything a save needs and sizes the model: 116 + 16L + 12P + 8d + the class bytes
 * (docs/MODEL_FORMAT.md). Nothing is written when this fails. */
static mlp_status plan_save(const char *fn, const mlp_net *net, const mlp_scaler *scaler,
                            const mlp_classes *classes, save_plan *p) {
    memset(p, 0, sizeof *p);
    mlp_status st = check_net_for_save(fn, net, scaler);
    uint64_t class_len = 0;
    if (st == MLP_OK) st = check_classes_for_save(fn, net, classes, &class_len);
    if (st != MLP_OK) return st;
    p->net = net;
    p->scaler = scaler;
    p->classes = classes;
    p->d = (scaler && scaler->kind != MLP_SCALE_NONE) ? scaler->d : 0;
    /* n_layers <= MODEL_MAX_LAYERS and class_len <= MODEL_MAX_FILE + 1 MiB bound the sum; the
     * products of n_params and d are checked. */
    uint64_t total =
                 MODEL_FIXED_LEN + 16u * (uint64_t)net->n_layers + 12u + MODEL_CRC_LEN + class_len,
             p12, d8;
    if (__builtin_mul_overflow((uint64_t)net->n_params, (uint64_t)12, &p12) ||
        __builtin_mul_overflow((uint64_t)p->d, (uint64_t)8, &d8) ||
        __builtin_add_overflow(total, p12, &total) || __builtin_add_overflow(total, d8, &total) ||
        total > MODEL_MAX_FILE)
        return mlp_fail(MLP_ERR_OVERFLOW,
                        "%s: model of %zu parameters exceeds the format's 4 GiB limit", fn,
                        net->n_params);
    p->len = total;
    return MLP_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The bytes
 */

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

/* The whole model, its CRC included, through w. */
static void write_model(writer *w, const save_plan *p) {
    const mlp_net *net = p->net;
    const mlp_optimizer *o = &net->opt;
    const mlp_state_view state = mlp_net_state_view(net);
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
    w_u64(w, state.step);
    w_u32(w, (uint32_t)(p->d ? p->scaler->kind : MLP_SCALE_NONE));
    w_u64(w, (uint64_t)p->d);
    w_u64(w, (uint64_t)net->n_params);
    w_u64(w, (uint64_t)net->layers[0].in);
    for (size_t l = 0; l < net->n_layers; l++) w_u64(w, (uint64_t)net->layers[l].out);
    for (size_t l = 0; l < net->n_layers; l++) w_u32(w, (uint32_t)net->layers[l].act);
    w_floats(w, state.params, state.n);
    w_floats(w, state.m, state.n);
    w_floats(w, state.v, state.n);
    if (p->d) {
        w_floats(w, p->scaler->offset, p->d);
        w_floats(w, p->scaler->scale, p->d);
    }
    write_classes(w, p->classes);
    for (size_t l = 0; l < net->n_layers; l++) w_f32(w, net->layers[l].dropout);
    w_f32(w, net->huber_delta); /* the loss section (version 4): 0 for other losses */
    w_finish(w);
}

/* file_save.c's fill: the model into fd, from its first byte (a save may call it twice). */
static int fill_model(int fd, void *ctx) {
    const save_plan *p = ctx;
    writer w = {.fd = fd, .buf = p->chunk, .cap = MODEL_CHUNK, .crc = crc32(0L, Z_NULL, 0)};
    write_model(&w, p);
    return w.err;
}

/* ---------------------------------------------------------------------------------------------
 * API
 */
mlp_status mlp_model_save(const char *path, const mlp_net *net, const mlp_scaler *scaler) {
    return mlp_model_save_classes(path, net, scaler, NULL);
}

mlp_status mlp_model_save_classes(const char *path, const mlp_net *net, const mlp_scaler *scaler,
                                  const mlp_classes *classes) {
    static const char fn[] = "mlp_model_save";
    if (!path) return mlp_fail(MLP_ERR_NULL, "%s: path is NULL", fn);
    if (!net) return mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    if (path[0] == '\0') return mlp_fail(MLP_ERR_ARG, "%s: path is empty", fn);
    save_plan p;
    mlp_status st = plan_save(classes ? "mlp_model_save_classes" : fn, net, scaler, classes, &p);
    if (st != MLP_OK) return st;
    p.chunk = malloc(MODEL_CHUNK);
    if (!p.chunk) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", fn);
    st = mlp_save_file(fn, path, fill_model, &p);
    free(p.chunk);
    return st;
}

mlp_status mlp_model_save_mem(void *buf, size_t cap, size_t *size, const mlp_net *net,
                              const mlp_scaler *scaler, const mlp_classes *classes) {
    static const char fn[] = "mlp_model_save_mem";
    if (!size) return mlp_fail(MLP_ERR_NULL, "%s: size is NULL", fn);
    if (!net) return mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    save_plan p;
    mlp_status st = plan_save(fn, net, scaler, classes, &p);
    if (st != MLP_OK) return st;
    if (p.len > (uint64_t)SIZE_MAX)
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: the model's %llu bytes exceed size_t", fn,
                        (unsigned long long)p.len);
    if (!buf) {
        *size = (size_t)p.len;
        return MLP_OK;
    }
    if (cap < p.len)
        return mlp_fail(MLP_ERR_SHAPE, "%s: the model needs %zu bytes, the buffer has %zu", fn,
                        (size_t)p.len, cap);
    writer w = {.fd = -1, .buf = buf, .cap = (size_t)p.len, .crc = crc32(0L, Z_NULL, 0)};
    write_model(&w, &p);
    if (w.err || w.len != p.len) /* the size and the bytes come from one net: never */
        return mlp_fail(MLP_ERR_STATE, "%s: wrote %zu bytes of %zu (internal error)", fn, w.len,
                        (size_t)p.len);
    *size = w.len;
    return MLP_OK;
}
