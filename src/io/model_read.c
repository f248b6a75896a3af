/* Loading a model, from a file or from the caller's memory: one parser for both. The bytes are
 * checked in full before they are trusted: magic, version and CRC first, then every size read from
 * them against the length of the buffer and against each other before anything proportional to it
 * is allocated or indexed. A buffer whose CRC is right but whose fields disagree (written by
 * something else than this library) is a format error naming the field, never an out-of-bounds
 * access. Byte layout: docs/MODEL_FORMAT.md. */
#define _POSIX_C_SOURCE 200809L

#include "core/core.h"
#include "io/model_format.h"
#include "mlp/data.h"
#include "mlp/fit.h"
#include "mlp/model.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bounded reader over the model's bytes (the CRC excluded). Every get checks the length. */
typedef struct reader {
    const unsigned char *p;
    size_t len, pos;
    const char *fn;  /* the API call, for messages */
    const char *src; /* what is read, for messages: "'path'" or "the buffer" */
} reader;

/* MLP_ERR_FORMAT with "fn: src" and the rest of the message, which starts where src ends. */
__attribute__((format(printf, 2, 3))) static mlp_status fmt_fail(const reader *r, const char *fmt,
                                                                 ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mlp_fail(MLP_ERR_FORMAT, "%s: %s%s", r->fn, r->src, msg);
}

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

/* n floats; the caller has checked that they are there. */
static void r_floats(reader *r, float *dst, size_t n) {
    const unsigned char *p = r->p + r->pos;
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
    mlp_status st = MLP_OK;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        st = mlp_fail(MLP_ERR_IO, "mlp_model_load: cannot stat '%s': %s", path, strerror(e));
    } else if (!S_ISREG(sb.st_mode)) {
        st = mlp_fail(MLP_ERR_IO, "mlp_model_load: '%s' is not a regular file", path);
    } else if (sb.st_size < 0 || (uint64_t)sb.st_size > MODEL_MAX_FILE ||
               (uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        st = mlp_fail(MLP_ERR_FORMAT, "mlp_model_load: '%s' is too large for a model file", path);
    } else {
        st = mlp_check_alloc((size_t)sb.st_size, path);
    }
    const size_t len = st == MLP_OK ? (size_t)sb.st_size : 0;
    unsigned char *buf = st == MLP_OK ? malloc(len ? len : 1) : NULL;
    if (st == MLP_OK && !buf)
        st = mlp_fail(MLP_ERR_NOMEM, "mlp_model_load: cannot allocate %zu bytes for '%s'", len,
                      path);
    size_t got = 0;
    while (st == MLP_OK && got < len) {
        ssize_t k = read(fd, buf + got, len - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            int e = errno;
            st = mlp_fail(MLP_ERR_IO, "mlp_model_load: cannot read '%s': %s", path, strerror(e));
        }
        if (k <= 0) break; /* 0: the file shrank after fstat: treated as truncated later */
        got += (size_t)k;
    }
    (void)close(fd);
    if (st != MLP_OK) {
        free(buf);
        return st;
    }
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
    uint64_t d64, np64; /* the stored scaler width and parameter count, unchecked */
    size_t d;
    size_t n_params;
    size_t *sizes;               /* n_layers + 1 */
    mlp_activation *activations; /* n_layers */
    uint32_t version; /* 2 has a class section after the scaler, 3 also a dropout section */
} model_header;

/* The fixed header (magic .. n_params): every enum in range. */
static mlp_status parse_fixed(reader *r, model_header *h) {
    uint32_t loss, init, kind, nesterov, scale_kind;
    r->pos = MODEL_MAGIC_LEN + 4; /* magic and version were checked by the caller */
    if (!r_u32(r, &h->n_layers) || !r_u32(r, &loss) || !r_u32(r, &init) || !r_u64(r, &h->seed) ||
        !r_u32(r, &kind) || !r_f32(r, &h->opt.lr) || !r_f32(r, &h->opt.alpha) ||
        !r_f32(r, &h->opt.momentum) || !r_u32(r, &nesterov) || !r_f32(r, &h->opt.beta1) ||
        !r_f32(r, &h->opt.beta2) || !r_f32(r, &h->opt.eps) || !r_u64(r, &h->step) ||
        !r_u32(r, &scale_kind) || !r_u64(r, &h->d64) || !r_u64(r, &h->np64))
        return fmt_fail(r, " is truncated (header)");
    if (h->n_layers == 0 || h->n_layers > MODEL_MAX_LAYERS)
        return fmt_fail(r, ": invalid layer count %" PRIu32, h->n_layers);
    /* Files before version 4 cannot hold the losses that came with it. */
    const uint32_t losses = h->version >= 4 ? MLP_LOSS_COUNT : MLP_LOSS_POISSON;
    if (loss >= losses) return fmt_fail(r, ": unknown loss %" PRIu32, loss);
    if (init >= MLP_INIT_COUNT) return fmt_fail(r, ": unknown init %" PRIu32, init);
    if (kind >= MLP_OPT_COUNT || kind == MLP_OPT_LBFGS)
        return fmt_fail(r, ": unknown optimizer %" PRIu32, kind);
    if (nesterov > 1) return fmt_fail(r, ": invalid nesterov flag %" PRIu32, nesterov);
    if (scale_kind >= MLP_SCALE_COUNT)
        return fmt_fail(r, ": unknown scaler kind %" PRIu32, scale_kind);
    h->loss = (mlp_loss)loss;
    h->init = (mlp_init)init;
    h->opt.kind = (mlp_optimizer_kind)kind;
    h->opt.nesterov = (int)nesterov;
    h->scale_kind = (mlp_scale_kind)scale_kind;
    return MLP_OK;
}

/* The layer widths and activations at r (there: checked by the caller), the parameter count
 * recomputed from the widths with overflow checks into *count. */
static mlp_status check_shape(const reader *r, size_t L, size_t *count) {
    const unsigned char *sizes = r->p + r->pos, *acts = sizes + 8 * (L + 1);
    *count = 0;
    for (size_t i = 0; i <= L; i++) {
        uint64_t s = get_le64(sizes + 8 * i), w;
        if (s == 0 || s > (uint64_t)SIZE_MAX)
            return fmt_fail(r, ": invalid width %" PRIu64 " of layer %zu", s, i);
        if (i == 0) continue;
        uint64_t in = get_le64(sizes + 8 * (i - 1));
        if (__builtin_mul_overflow(in, s, &w) || __builtin_add_overflow(w, s, &w) ||
            w > (uint64_t)SIZE_MAX || __builtin_add_overflow(*count, (size_t)w, count))
            return fmt_fail(r, ": layer sizes overflow the parameter count");
    }
    for (size_t l = 0; l < L; l++) {
        uint32_t a = get_le32(acts + 4 * l);
        if (a >= MLP_ACT_COUNT)
            return fmt_fail(r, ": unknown activation %" PRIu32 " of layer %zu", a, l);
    }
    return MLP_OK;
}

/* Parses and validates the header; on success r is at the first parameter and the remaining
 * length is what the counts need (exactly, up to the class section). Allocates h->sizes and
 * h->activations only after checking that the bytes hold them. */
static mlp_status parse_header(reader *r, model_header *h) {
    mlp_status st = parse_fixed(r, h);
    if (st != MLP_OK) return st;
    const size_t L = h->n_layers;
    const size_t shape_bytes = 8 * (L + 1) + 4 * L; /* L <= 65536: no overflow */
    if (r->len - r->pos < shape_bytes) return fmt_fail(r, " is truncated (layer sizes)");
    size_t count = 0;
    st = check_shape(r, L, &count);
    if (st != MLP_OK) return st;
    if (h->np64 != (uint64_t)count)
        return fmt_fail(r, ": parameter count %" PRIu64 " does not match the layer sizes (%zu)",
                        h->np64, count);
    const uint64_t first = get_le64(r->p + r->pos);
    if (h->scale_kind == MLP_SCALE_NONE && h->d64 != 0)
        return fmt_fail(r, ": no scaler but a scaler size of %" PRIu64, h->d64);
    if (h->scale_kind != MLP_SCALE_NONE && h->d64 != first)
        return fmt_fail(r, ": scaler size %" PRIu64 " does not match the input size %" PRIu64,
                        h->d64, first);

    /* Then exactly 3 * n_params + 2 * d floats (and the class and dropout sections). */
    const size_t rest = r->len - (r->pos + shape_bytes);
    if (count > rest / 12) return fmt_fail(r, " is truncated (parameters)");
    size_t need = 12 * count;
    if ((rest - need) / 8 < h->d64) return fmt_fail(r, " is truncated (scaler)");
    h->d = (size_t)h->d64; /* <= rest / 8 */
    need += 8 * h->d;
    if (h->version >= 2 && rest - need < MODEL_CLASS_HEAD)
        return fmt_fail(r, " is truncated (classes)");
    if (h->version < 2 && need != rest)
        return fmt_fail(r, " has %zu unexpected trailing bytes", rest - need);
    h->n_params = count;

    h->sizes = malloc((L + 1) * sizeof *h->sizes);
    h->activations = malloc(L * sizeof *h->activations);
    if (!h->sizes || !h->activations) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", r->fn);
    for (size_t i = 0; i <= L; i++) h->sizes[i] = (size_t)get_le64(r->p + r->pos + 8 * i);
    for (size_t l = 0; l < L; l++)
        h->activations[l] = (mlp_activation)get_le32(r->p + r->pos + 8 * (L + 1) + 4 * l);
    r->pos += shape_bytes;
    return MLP_OK;
}

/* Checks the magic, version and CRC of the bytes; *version receives the version. */
static mlp_status check_envelope(const reader *r, const unsigned char *buf, size_t len,
                                 uint32_t *version_out) {
    size_t m = len < MODEL_MAGIC_LEN ? len : MODEL_MAGIC_LEN;
    if (memcmp(buf, MODEL_MAGIC, m) != 0) return fmt_fail(r, " is not an mlp model file");
    if (len < MODEL_MAGIC_LEN + 4) return fmt_fail(r, " is truncated (%zu bytes)", len);
    uint32_t version = get_le32(buf + MODEL_MAGIC_LEN);
    if (version > MODEL_VERSION)
        return fmt_fail(r, ": format version %" PRIu32 " is newer than this library's %u", version,
                        MODEL_VERSION);
    if (version == 0) return fmt_fail(r, ": invalid format version 0");
    if (len < MODEL_FIXED_LEN + MODEL_CRC_LEN) return fmt_fail(r, " is truncated (%zu bytes)", len);
    uLong crc = crc_update(crc32(0L, Z_NULL, 0), buf, len - MODEL_CRC_LEN);
    if ((uint32_t)(crc & 0xffffffffu) != get_le32(buf + len - MODEL_CRC_LEN))
        return fmt_fail(r, ": checksum mismatch (corrupted)");
    *version_out = version;
    return MLP_OK;
}

/* The stored parameters, moments and step count into n, through core's state seam. The header
 * check made the bytes there; net_from_header made the net's count the stored one. */
static void read_state(reader *r, mlp_net *n, uint64_t step) {
    mlp_state s = mlp_net_state_begin(n);
    r_floats(r, s.params, s.n);
    r_floats(r, s.m, s.n);
    r_floats(r, s.v, s.n);
    mlp_net_state_end(n, step);
}

/* Creates the net the header describes, with its optimizer settings, into *out. A configuration
 * the library rejects is a format error (resource failures keep their status). */
static mlp_status net_from_header(const reader *r, const model_header *h, mlp_net **out) {
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
            st = fmt_fail(r, ": invalid model (%s)", detail);
        }
    } else if (mlp_net_state_view(n).n != h->n_params) {
        st = fmt_fail(r, ": its layers make %zu parameters, its header says %zu",
                      mlp_net_state_view(n).n, h->n_params);
    }
    if (st != MLP_OK) {
        mlp_net_free(n);
        return st;
    }
    *out = n;
    return MLP_OK;
}

/* The scaler's d offsets and scales from r into new arrays, each value checked. */
static mlp_status read_scaler(reader *r, size_t d, float **offset, float **scale) {
    float *off = malloc(d * sizeof *off), *sc = malloc(d * sizeof *sc);
    mlp_status st = MLP_OK;
    if (!off || !sc) {
        st = mlp_fail(MLP_ERR_NOMEM, "%s: out of memory (scaler of %zu)", r->fn, d);
    } else {
        r_floats(r, off, d);
        r_floats(r, sc, d);
        for (size_t j = 0; j < d && st == MLP_OK; j++)
            if (!isfinite(off[j]) || !isfinite(sc[j]) || sc[j] == 0.0f)
                st = fmt_fail(r, ": invalid scaler value at feature %zu", j);
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
static mlp_status read_name(reader *r, size_t i, char **out) {
    uint32_t len;
    if (!r_u32(r, &len) || len > MODEL_MAX_NAME || r->len - r->pos < len)
        return fmt_fail(r, ": class name %zu is truncated or too long", i);
    const unsigned char *p = r->p + r->pos;
    if (memchr(p, 0, len)) return fmt_fail(r, ": class name %zu holds a NUL byte", i);
    char *s = malloc((size_t)len + 1);
    if (!s) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory (class names)", r->fn);
    memcpy(s, p, len);
    s[len] = '\0';
    r->pos += len;
    *out = s;
    return MLP_OK;
}

/* Reads the n stored classes of kind into *c (allocated after checking the bytes are there). */
static mlp_status read_class_list(reader *r, mlp_class_kind kind, size_t n, mlp_classes *c) {
    size_t min_each = kind == MLP_CLASSES_NUMBERS ? 8 : 4;
    if (n > (r->len - r->pos) / min_each) return fmt_fail(r, " is truncated (classes)");
    mlp_status st = MLP_OK;
    memset(c, 0, sizeof *c);
    c->kind = kind;
    if (kind == MLP_CLASSES_NUMBERS)
        c->values = malloc(n * sizeof *c->values);
    else
        c->names = calloc(n, sizeof *c->names);
    if (kind == MLP_CLASSES_NUMBERS ? !c->values : !c->names)
        return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory (%zu classes)", r->fn, n);
    c->n = n;
    for (size_t i = 0; i < n && st == MLP_OK; i++) {
        if (kind == MLP_CLASSES_NAMES) {
            st = read_name(r, i, &c->names[i]);
            if (st == MLP_OK && i && strcmp(c->names[i - 1], c->names[i]) >= 0)
                st = fmt_fail(r, ": class names are not increasing (at %zu)", i);
            continue;
        }
        uint64_t u = 0;
        r_u64(r, &u); /* there: checked above */
        memcpy(&c->values[i], &u, sizeof u);
        if (!isfinite(c->values[i]) || (i && !(c->values[i] > c->values[i - 1])))
            st = fmt_fail(r, ": class values are not finite and increasing (at %zu)", i);
    }
    if (st != MLP_OK) mlp_classes_free(c);
    return st;
}

/* The class section (version 2) into *c: checked against the net (a classifier with as many
 * classes); without one (version 1 or kind NONE) a classifier gets 0..K-1. */
static mlp_status read_classes(reader *r, const model_header *h, const mlp_net *net,
                               mlp_classes *c) {
    mlp_task task;
    size_t k = 0;
    mlp_task_of_net(net, &task, &k);
    uint32_t kind = MLP_CLASSES_NONE;
    uint64_t n = 0;
    if (h->version >= 2) {
        r_u32(r, &kind); /* the header check left at least MODEL_CLASS_HEAD bytes */
        r_u64(r, &n);
        if (kind >= MLP_CLASSES_COUNT || (kind == MLP_CLASSES_NONE && n != 0))
            return fmt_fail(r, ": invalid class section (kind %" PRIu32 ", %" PRIu64 " classes)",
                            kind, n);
        if (kind != MLP_CLASSES_NONE && (task != MLP_TASK_CLASSIFY || n != (uint64_t)k))
            return fmt_fail(r, ": %" PRIu64 " stored classes for a net of %zu %s", n, k,
                            task == MLP_TASK_CLASSIFY ? "classes" : "outputs (not a classifier)");
    }
    mlp_status st = MLP_OK;
    memset(c, 0, sizeof *c);
    if (kind != MLP_CLASSES_NONE)
        st = read_class_list(r, (mlp_class_kind)kind, (size_t)n, c);
    else if (task == MLP_TASK_CLASSIFY)
        st = mlp_classes_range(k, c);
    return st;
}

/* The dropout section (version 3): each layer's probability, set on the net (which checks it:
 * hidden layers only, in [0, 1)); older files have none. Then nothing may follow. */
static mlp_status read_dropout(reader *r, const model_header *h, mlp_net *net) {
    const size_t L = h->n_layers;
    if (h->version >= 3 && r->len - r->pos < 4 * L) return fmt_fail(r, " is truncated (dropout)");
    for (size_t l = 0; h->version >= 3 && l < L; l++) {
        uint32_t bits = 0;
        r_u32(r, &bits);
        /* Only +0 means none: -0 is set like any value (so that a save writes it back). */
        const float p = bits_float(bits);
        if (bits != 0 && mlp_net_set_dropout(net, l, p) != MLP_OK)
            return fmt_fail(r, ": invalid dropout %g of layer %zu", (double)p, l);
    }
    return MLP_OK;
}

/* The loss section (version 4): Huber's delta, finite and > 0 for a HUBER net, 0 for any other;
 * older files have none (and no HUBER net). Then nothing may follow. */
static mlp_status read_loss_section(reader *r, const model_header *h, mlp_net *net) {
    if (h->version >= 4) {
        uint32_t bits = 0;
        if (!r_u32(r, &bits)) return fmt_fail(r, " is truncated (loss section)");
        const float delta = bits_float(bits);
        const bool huber = h->loss == MLP_LOSS_HUBER;
        if (huber ? mlp_net_set_huber_delta(net, delta) != MLP_OK : bits != 0)
            return fmt_fail(r, ": invalid huber delta %g for loss %d", (double)delta, (int)h->loss);
    }
    if (r->pos != r->len) return fmt_fail(r, " has %zu unexpected trailing bytes", r->len - r->pos);
    return MLP_OK;
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

/* The parser of both loads: len bytes at buf into *net, *scaler and *classes (each written only
 * on success; scaler and classes may be NULL). */
static mlp_status parse_model(const unsigned char *buf, size_t len, const char *fn, const char *src,
                              mlp_net **net, mlp_scaler *scaler, mlp_classes *classes) {
    model_header h;
    memset(&h, 0, sizeof h);
    float *offset = NULL, *scale = NULL;
    mlp_classes cls = {0};
    mlp_net *n = NULL;
    reader r = {buf, len >= MODEL_CRC_LEN ? len - MODEL_CRC_LEN : 0, 0, fn, src};
    mlp_status st = check_envelope(&r, buf, len, &h.version);
    if (st == MLP_OK) st = parse_header(&r, &h);
    if (st == MLP_OK) st = net_from_header(&r, &h, &n);
    if (st == MLP_OK) {
        read_state(&r, n, h.step);
        if (h.d) st = read_scaler(&r, h.d, &offset, &scale);
    }
    if (st == MLP_OK) st = read_classes(&r, &h, n, &cls);
    if (st == MLP_OK) st = read_dropout(&r, &h, n);
    if (st == MLP_OK) st = read_loss_section(&r, &h, n);
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
    return st;
}

mlp_status mlp_model_load(const char *path, mlp_net **net, mlp_scaler *scaler) {
    return mlp_model_load_classes(path, net, scaler, NULL);
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
    char src[400];
    snprintf(src, sizeof src, "'%s'", path);
    st = parse_model(buf, len, "mlp_model_load", src, net, scaler, classes);
    free(buf);
    return st;
}

mlp_status mlp_model_load_mem(const void *buf, size_t size, mlp_net **net, mlp_scaler *scaler,
                              mlp_classes *classes) {
    static const char fn[] = "mlp_model_load_mem";
    if (net) *net = NULL;
    if (!buf) return mlp_fail(MLP_ERR_NULL, "%s: buf is NULL", fn);
    if (!net) return mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    if ((uint64_t)size > MODEL_MAX_FILE)
        return mlp_fail(MLP_ERR_FORMAT, "%s: %zu bytes are too many for a model", fn, size);
    return parse_model(buf, size, fn, "the buffer", net, scaler, classes);
}
