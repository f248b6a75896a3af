/* Datasets in memory: free, row subsets, seeded train/test split; data files (plain or gzip) for
 * the readers; row index files; feature scaling (standard and min-max, statistics in double). */
#include "mlp/data.h"
#include "data/data_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void mlp_dataset_free(mlp_dataset *ds) {
    if (!ds) return;
    free(ds->X);
    free(ds->labels);
    free(ds->targets);
    free(ds->weights);
    mlp_classes_free(&ds->classes);
    memset(ds, 0, sizeof *ds);
}

/* Checks that src is a usable, non-empty dataset; fn names the caller in messages. */
static mlp_status check_dataset(const mlp_dataset *src, const char *fn) {
    if (src->n == 0 || src->d == 0)
        return mlp_fail(MLP_ERR_ARG, "%s: source dataset is empty (n = %zu, d = %zu)", fn, src->n,
                        src->d);
    if (!src->X) return mlp_fail(MLP_ERR_NULL, "%s: source dataset has X == NULL", fn);
    if (src->labels && src->targets)
        return mlp_fail(MLP_ERR_ARG, "%s: source dataset has both labels and targets", fn);
    if (src->targets && src->n_targets == 0)
        return mlp_fail(MLP_ERR_ARG, "%s: source dataset has targets but n_targets == 0", fn);
    size_t cells;
    if (!mlp_mul_ok(src->n, src->d, &cells) || !mlp_mul_ok(cells, sizeof(float), &cells))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: source dataset size %zu x %zu overflows", fn, src->n,
                        src->d);
    if (src->targets &&
        (!mlp_mul_ok(src->n, src->n_targets, &cells) || !mlp_mul_ok(cells, sizeof(float), &cells)))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: source targets %zu x %zu overflow", fn, src->n,
                        src->n_targets);
    return MLP_OK;
}

/* Bytes each thread of a gather copies at least. A minibatch's rows lie scattered over the data
 * set, usually in memory, not cache: Fashion-MNIST's batch (200 rows of 3 KB) took 65 us on one
 * core of the 2-vCPU Zen 4 and 33 us on two, about a tenth of its training step. Below ~50 KB
 * (200 rows of 64 features: 3.4 vs 3.1 us) waking a second thread saves nothing. */
#define MLP_GATHER_THREAD_BYTES (64u * 1024u)

/* Threads for copying `bytes` of rows: one per MLP_GATHER_THREAD_BYTES, at most the OpenMP
 * setting; 1 inside a parallel region or in a forked child (the parent's pool is gone). */
static int gather_threads(size_t bytes) {
    if (omp_in_parallel() || mlp_forked_child()) return 1;
    const size_t want = bytes / MLP_GATHER_THREAD_BYTES, max = (size_t)omp_get_max_threads();
    return want <= 1 ? 1 : want < max ? (int)want : (int)max;
}

/* The rows in order, each thread a contiguous block of them (as the first layer's forward tiles
 * and its parts' sum cut the rows). */
void mlp_gather_rows(float *dst, const float *src, const size_t *rows, size_t n, size_t width) {
    const int T = gather_threads(n * width * sizeof(float));
#pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
    for (size_t i = 0; i < n; i++)
        memcpy(dst + i * width, src + rows[i] * width, width * sizeof(float));
}

/* Allocates r's arrays for n rows shaped as src's (X, labels or targets, weights, a copy of the
 * class list); on failure r is freed. */
static mlp_status alloc_rows(const mlp_dataset *src, size_t n, mlp_dataset *r, const char *fn) {
    size_t xbytes, tbytes = 0, lbytes = 0;
    if (!mlp_mul_ok(n, src->d, &xbytes) || !mlp_mul_ok(xbytes, sizeof(float), &xbytes))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: %zu rows x %zu features overflows", fn, n, src->d);
    if (src->targets &&
        (!mlp_mul_ok(n, src->n_targets, &tbytes) || !mlp_mul_ok(tbytes, sizeof(float), &tbytes)))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: %zu rows x %zu targets overflows", fn, n,
                        src->n_targets);
    /* int32_t labels and float weights have the same size */
    if ((src->labels || src->weights) && !mlp_mul_ok(n, sizeof(int32_t), &lbytes))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: %zu labels overflow", fn, n);
    mlp_status cst = mlp_check_alloc(xbytes, fn);
    if (cst != MLP_OK) return cst;
    memset(r, 0, sizeof *r);
    r->X = malloc(xbytes);
    if (src->labels) r->labels = malloc(lbytes);
    if (src->targets) r->targets = malloc(tbytes);
    if (src->weights) r->weights = malloc(lbytes);
    mlp_status cls = src->labels ? mlp_classes_copy(&src->classes, &r->classes) : MLP_OK;
    if (cls != MLP_OK && cls != MLP_ERR_NOMEM) {
        mlp_dataset_free(r);
        return cls;
    }
    if (!r->X || (src->labels && !r->labels) || (src->targets && !r->targets) ||
        (src->weights && !r->weights) || cls != MLP_OK) {
        mlp_dataset_free(r);
        return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory for %zu rows of %zu features", fn, n,
                        src->d);
    }
    return MLP_OK;
}

/* Gathers rows into a fresh dataset; src is checked, rows are not. */
static mlp_status gather_rows(const mlp_dataset *src, const size_t *rows, size_t n,
                              mlp_dataset *out, const char *fn) {
    mlp_dataset r;
    mlp_status st = alloc_rows(src, n, &r, fn);
    if (st != MLP_OK) return st;
    r.n = n;
    r.d = src->d;
    r.n_classes = src->labels ? src->n_classes : 0;
    r.n_targets = src->targets ? src->n_targets : 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = rows[i];
        memcpy(r.X + i * r.d, src->X + k * r.d, r.d * sizeof(float));
        if (r.labels) r.labels[i] = src->labels[k];
        if (r.targets)
            memcpy(r.targets + i * r.n_targets, src->targets + k * r.n_targets,
                   r.n_targets * sizeof(float));
        if (r.weights) r.weights[i] = src->weights[k];
    }
    *out = r;
    return MLP_OK;
}

mlp_status mlp_dataset_subset(const mlp_dataset *src, const size_t *rows, size_t n,
                              mlp_dataset *out) {
    static const char fn[] = "mlp_dataset_subset";
    if (!src || !out) return mlp_fail(MLP_ERR_NULL, "%s: src or out is NULL", fn);
    /* Writing the subset over src would drop src's arrays without freeing them. */
    if (out == src)
        return mlp_fail(MLP_ERR_ARG, "%s: out is src (subset into another dataset, then free src)",
                        fn);
    if (n == 0) return mlp_fail(MLP_ERR_ARG, "%s: n is 0 (no rows selected)", fn);
    if (!rows) return mlp_fail(MLP_ERR_NULL, "%s: rows is NULL", fn);
    mlp_status st = check_dataset(src, fn);
    if (st != MLP_OK) return st;
    for (size_t i = 0; i < n; i++)
        if (rows[i] >= src->n)
            return mlp_fail(MLP_ERR_ARG, "%s: rows[%zu] = %zu is out of range (dataset has %zu)",
                            fn, i, rows[i], src->n);
    return gather_rows(src, rows, n, out, fn);
}

mlp_status mlp_dataset_split(const mlp_dataset *src, double test_fraction, uint64_t seed,
                             mlp_dataset *train, mlp_dataset *test) {
    static const char fn[] = "mlp_dataset_split";
    if (!src || !train || !test)
        return mlp_fail(MLP_ERR_NULL, "%s: src, train or test is NULL", fn);
    if (train == test) return mlp_fail(MLP_ERR_ARG, "%s: train and test are the same object", fn);
    /* Writing a part over src would drop src's arrays without freeing them. */
    if (train == src || test == src)
        return mlp_fail(MLP_ERR_ARG, "%s: %s is src (split into two other datasets, then free src)",
                        fn, train == src ? "train" : "test");
    if (!(test_fraction > 0.0 && test_fraction < 1.0))
        return mlp_fail(MLP_ERR_ARG, "%s: test_fraction %g is not in (0, 1)", fn, test_fraction);
    mlp_status st = check_dataset(src, fn);
    if (st != MLP_OK) return st;
    if (src->n < 2)
        return mlp_fail(MLP_ERR_ARG, "%s: need at least 2 rows to split, dataset has %zu", fn,
                        src->n);

    /* Rounded up, as scikit-learn's train_test_split does (digits at 0.2: 360 of 1797). */
    double want = ceil(test_fraction * (double)src->n);
    size_t n_test = want < 1.0 ? 1 : (want > (double)(src->n - 1) ? src->n - 1 : (size_t)want);

    size_t bytes;
    if (!mlp_mul_ok(src->n, sizeof(size_t), &bytes))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: permutation of %zu rows overflows", fn, src->n);
    size_t *perm = malloc(bytes);
    if (!perm) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory (%zu rows)", fn, src->n);
    for (size_t i = 0; i < src->n; i++) perm[i] = i;
    mlp_rng rng;
    mlp_rng_seed(&rng, seed);
    for (size_t i = src->n - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)mlp_rng_below(&rng, (uint64_t)i + 1);
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }

    /* As scikit-learn's ShuffleSplit: the first n_test shuffled rows are the test part. */
    mlp_dataset te, tr;
    st = gather_rows(src, perm, n_test, &te, fn);
    if (st == MLP_OK) {
        st = gather_rows(src, perm + n_test, src->n - n_test, &tr, fn);
        if (st != MLP_OK) mlp_dataset_free(&te);
    }
    free(perm);
    if (st != MLP_OK) return st;
    *test = te;
    *train = tr;
    return MLP_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Data files, plain or gzip. zlib's gzread would do both, but it drops whatever follows the last
 * gzip member when that is not another member (measured with zlib 1.2.13: appended text, a lone
 * 0x1f byte and zero padding all end the file silently, with no error from gzerror; gzoffset then
 * only tells how much was buffered). So gzip is inflated here, member by member, and anything
 * after a member that does not start another one is an error.
 */
#define INPUT_CHUNK (1u << 17) /* raw bytes per fread */

struct mlp_input {
    FILE *f;
    const char *path;
    unsigned char *buf; /* raw bytes; z.next_in / z.avail_in are the unread ones */
    uint64_t buf_pos;   /* file offset of buf[0] */
    bool raw_eof;       /* fread reached the end of the file */
    bool gzip;
    bool z_ready;    /* inflateInit2 succeeded: inflateEnd at close */
    bool member_end; /* a gzip member ended: what follows must be another member, or nothing */
    z_stream z;
};

/* Moves the unread bytes to the start of buf and fills the rest from the file. */
static mlp_status refill(mlp_input *in) {
    z_stream *z = &in->z;
    in->buf_pos += (uint64_t)(z->next_in - in->buf);
    memmove(in->buf, z->next_in, z->avail_in);
    z->next_in = in->buf;
    size_t want = INPUT_CHUNK - z->avail_in;
    size_t got = fread(in->buf + z->avail_in, 1, want, in->f);
    if (got < want && ferror(in->f))
        return mlp_fail(MLP_ERR_IO, "%s: read error: %s", in->path, strerror(errno));
    in->raw_eof = got < want;
    z->avail_in += (uInt)got;
    return MLP_OK;
}

void mlp_input_close(mlp_input *in) {
    if (!in) return;
    if (in->z_ready) inflateEnd(&in->z);
    fclose(in->f);
    free(in->buf);
    free(in);
}

mlp_status mlp_input_open(mlp_input **out, const char *path, const char *what) {
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e == 0 || e == ENOMEM)
            return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory opening the %s", path, what);
        return mlp_fail(MLP_ERR_IO, "%s: cannot open the %s: %s", path, what, strerror(e));
    }
    setvbuf(f, NULL, _IONBF, 0); /* reads go to buf in large chunks: no stdio buffer needed */
    mlp_input *in = calloc(1, sizeof *in);
    unsigned char *buf = in ? malloc(INPUT_CHUNK) : NULL;
    if (!buf) {
        free(in);
        fclose(f);
        return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory opening the %s", path, what);
    }
    in->f = f;
    in->path = path;
    in->buf = buf;
    in->z.next_in = buf;
    mlp_status st = refill(in);
    /* The gzip magic, as zlib recognises it; anything else is read as it is. */
    in->gzip = st == MLP_OK && in->z.avail_in >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
    if (in->gzip) {
        int zr = inflateInit2(&in->z, 15 + 16); /* 16: gzip wrapper only */
        if (zr == Z_OK) in->z_ready = true;
        st = zr == Z_OK ? MLP_OK
             : zr == Z_MEM_ERROR
                 ? mlp_fail(MLP_ERR_NOMEM, "%s: out of memory in zlib", path)
                 : mlp_fail(MLP_ERR_FORMAT, "%s: zlib cannot inflate (%d)", path, zr);
    }
    if (st != MLP_OK) {
        mlp_input_close(in);
        return st;
    }
    *out = in;
    return MLP_OK;
}

int mlp_input_gzip(const mlp_input *in) {
    return in->gzip;
}

static mlp_status read_plain(mlp_input *in, unsigned char *dst, size_t cap, size_t *got) {
    z_stream *z = &in->z;
    size_t n = z->avail_in < cap ? z->avail_in : cap;
    memcpy(dst, z->next_in, n);
    z->next_in += n;
    z->avail_in -= (uInt)n;
    if (n < cap && !in->raw_eof) {
        size_t k = fread(dst + n, 1, cap - n, in->f);
        if (k < cap - n && ferror(in->f))
            return mlp_fail(MLP_ERR_IO, "%s: read error: %s", in->path, strerror(errno));
        in->raw_eof = k < cap - n;
        n += k;
    }
    *got = n;
    return MLP_OK;
}

/* After a member: the next one starts here (1 when it does), or the file ends (0). */
static mlp_status next_member(mlp_input *in, int *more) {
    z_stream *z = &in->z;
    *more = 0;
    if (z->avail_in == 0) return MLP_OK;
    if (z->avail_in < 2 || z->next_in[0] != 0x1f || z->next_in[1] != 0x8b)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s: trailing garbage after the gzip data: byte %llu of the file does not "
                        "start another gzip member",
                        in->path,
                        (unsigned long long)(in->buf_pos + (uint64_t)(z->next_in - in->buf)));
    if (inflateReset(z) != Z_OK) return mlp_fail(MLP_ERR_FORMAT, "%s: corrupt gzip data", in->path);
    in->member_end = false;
    *more = 1;
    return MLP_OK;
}

/* What inflate's result zr means when it is neither Z_OK nor Z_STREAM_END, or when the input ran
 * out inside a member. */
static mlp_status inflate_failure(const mlp_input *in, int zr) {
    if (zr == Z_MEM_ERROR) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory in zlib", in->path);
    if (zr == Z_OK || zr == Z_BUF_ERROR)
        return mlp_fail(MLP_ERR_FORMAT, "%s: truncated gzip stream (unexpected end of file)",
                        in->path);
    return mlp_fail(MLP_ERR_FORMAT, "%s: corrupt gzip data (%s)", in->path,
                    in->z.msg ? in->z.msg : "invalid data");
}

static mlp_status read_gzip(mlp_input *in, unsigned char *dst, size_t cap, size_t *got) {
    z_stream *z = &in->z;
    mlp_status st = MLP_OK;
    z->next_out = dst;
    z->avail_out = (uInt)cap;
    const uInt room = z->avail_out;
    while (z->avail_out > 0 && st == MLP_OK) {
        if (z->avail_in < 2 && !in->raw_eof && (st = refill(in)) != MLP_OK) break;
        int more = 1;
        if (in->member_end && ((st = next_member(in, &more)) != MLP_OK || !more)) break;
        int zr = inflate(z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END)
            in->member_end = true;
        else if (zr != Z_OK || (z->avail_in == 0 && in->raw_eof && z->avail_out > 0))
            st = inflate_failure(in, zr);
    }
    *got = room - z->avail_out;
    return st;
}

mlp_status mlp_input_read(mlp_input *in, void *buf, size_t cap, size_t *got) {
    *got = 0;
    if (cap == 0) return MLP_OK;
    if (cap > UINT_MAX) cap = UINT_MAX; /* zlib counts in uInt */
    return in->gzip ? read_gzip(in, buf, cap, got) : read_plain(in, buf, cap, got);
}

/* ---------------------------------------------------------------------------------------------
 * Row index files: one decimal index per line; blank lines and surrounding blanks allowed.
 */
#define ROWS_CHUNK 65536u

static mlp_status rows_push(size_t **v, size_t *n, size_t *cap, size_t x, const char *path) {
    if (*n == *cap) {
        size_t nc, bytes;
        if (!mlp_mul_ok(*cap ? *cap : 512, 2, &nc) || !mlp_mul_ok(nc, sizeof(size_t), &bytes))
            return mlp_fail(MLP_ERR_OVERFLOW, "%s: too many row indices", path);
        size_t *p = realloc(*v, bytes);
        if (!p) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory for %zu row indices", path, nc);
        *v = p;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
    return MLP_OK;
}

typedef struct rows_parser {
    const char *path;
    size_t limit;
    size_t *v, count, cap;
    size_t line, col, num_col;
    size_t value;
    int state; /* 0: before the number, 1: in its digits, 2: after it */
} rows_parser;

/* Feeds one character; '\n' ends a line (the end of the file is fed as one). */
static mlp_status rows_feed(rows_parser *p, int c) {
    p->col++;
    if (c >= '0' && c <= '9') {
        if (p->state == 2)
            return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: more than one number on the line", p->path,
                            p->line, p->col);
        size_t digit = (size_t)(c - '0');
        if (p->state == 0) {
            p->value = 0;
            p->num_col = p->col;
            p->state = 1;
        }
        if (p->value > (SIZE_MAX - digit) / 10)
            return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: row index too large", p->path, p->line,
                            p->num_col);
        p->value = p->value * 10 + digit;
    } else if (c == ' ' || c == '\t' || c == '\r') {
        if (p->state == 1) p->state = 2;
    } else if (c == '\n') {
        if (p->state != 0) {
            if (p->value >= p->limit)
                return mlp_fail(MLP_ERR_FORMAT,
                                "%s:%zu:%zu: row index %zu is out of range (limit %zu)", p->path,
                                p->line, p->num_col, p->value, p->limit);
            mlp_status st = rows_push(&p->v, &p->count, &p->cap, p->value, p->path);
            if (st != MLP_OK) return st;
        }
        p->state = 0;
        p->line++;
        p->col = 0;
    } else {
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:%zu: unexpected character 0x%02x (expected a row index)", p->path,
                        p->line, p->col, (unsigned)c);
    }
    return MLP_OK;
}

mlp_status mlp_read_row_indices(const char *path, size_t limit, size_t **rows, size_t *n) {
    if (!path || !rows || !n)
        return mlp_fail(MLP_ERR_NULL, "mlp_read_row_indices: path, rows or n is NULL");
    mlp_input *in = NULL;
    mlp_status st = mlp_input_open(&in, path, "file");
    if (st != MLP_OK) return st;
    unsigned char *buf = malloc(ROWS_CHUNK);
    if (!buf) {
        mlp_input_close(in);
        return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", path);
    }

    rows_parser p;
    memset(&p, 0, sizeof p);
    p.path = path;
    p.limit = limit;
    p.line = 1;
    size_t got = 1;
    while (st == MLP_OK && got > 0) {
        st = mlp_input_read(in, buf, ROWS_CHUNK, &got);
        for (size_t i = 0; i < got && st == MLP_OK; i++) st = rows_feed(&p, buf[i]);
    }
    if (st == MLP_OK) st = rows_feed(&p, '\n'); /* the last line may lack its newline */
    free(buf);
    mlp_input_close(in);
    if (st == MLP_OK && p.count == 0)
        st = mlp_fail(MLP_ERR_FORMAT, "%s:1:1: no row indices in the file", path);
    if (st != MLP_OK) {
        free(p.v);
        return st;
    }
    size_t *shrunk = realloc(p.v, p.count * sizeof(size_t));
    *rows = shrunk ? shrunk : p.v;
    *n = p.count;
    return MLP_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Scaler
 */
void mlp_scaler_free(mlp_scaler *s) {
    if (!s) return;
    free(s->offset);
    free(s->scale);
    memset(s, 0, sizeof *s);
}

/* Per column j of the n x d matrix X, in row order (so the result is deterministic): sum[j], the
 * sum of the values, and their minimum lo[j] and maximum hi[j]. Fails on a non-finite value. */
static mlp_status column_sums(const float *X, size_t n, size_t d, double *sum, double *lo,
                              double *hi, const char *fn) {
    for (size_t j = 0; j < d; j++) {
        sum[j] = 0.0;
        lo[j] = HUGE_VAL;
        hi[j] = -HUGE_VAL;
    }
    for (size_t i = 0; i < n; i++) {
        const float *x = X + i * d;
        for (size_t j = 0; j < d; j++) {
            double v = x[j];
            if (!isfinite(v))
                return mlp_fail(MLP_ERR_ARG, "%s: X[%zu][%zu] is not finite", fn, i, j);
            sum[j] += v;
            if (v < lo[j]) lo[j] = v;
            if (v > hi[j]) hi[j] = v;
        }
    }
    return MLP_OK;
}

/* StandardScaler: offset the column mean, scale the population standard deviation (a second,
 * centred pass into ss); mean holds the column sums on entry and the means on return. */
static mlp_status fit_standard(const float *X, size_t n, size_t d, double *mean, double *ss,
                               const double *lo, const double *hi, float *offset, float *scale,
                               const char *fn) {
    for (size_t j = 0; j < d; j++) {
        mean[j] /= (double)n;
        ss[j] = 0.0;
    }
    for (size_t i = 0; i < n; i++) {
        const float *x = X + i * d;
        for (size_t j = 0; j < d; j++) {
            double c = (double)x[j] - mean[j];
            ss[j] += c * c;
        }
    }
    for (size_t j = 0; j < d; j++) {
        double sd = sqrt(ss[j] / (double)n);
        float fs = (float)sd;
        /* A constant column (or a spread lost in rounding) is not scaled. */
        if (lo[j] == hi[j] || !(fs > 0.0f)) fs = 1.0f;
        if (!isfinite(fs))
            return mlp_fail(MLP_ERR_ARG, "%s: column %zu has a standard deviation beyond float", fn,
                            j);
        offset[j] = (float)mean[j];
        scale[j] = fs;
    }
    return MLP_OK;
}

/* MinMaxScaler to [0, 1]: offset the column minimum, scale its range. */
static mlp_status fit_minmax(size_t d, const double *lo, const double *hi, float *offset,
                             float *scale, const char *fn) {
    for (size_t j = 0; j < d; j++) {
        float fs = (float)(hi[j] - lo[j]);
        if (!(fs > 0.0f)) fs = 1.0f;
        if (!isfinite(fs))
            return mlp_fail(MLP_ERR_ARG, "%s: column %zu has a range beyond float", fn, j);
        offset[j] = (float)lo[j];
        scale[j] = fs;
    }
    return MLP_OK;
}

mlp_status mlp_scaler_fit(mlp_scaler *s, mlp_scale_kind kind, const float *X, size_t n, size_t d) {
    static const char fn[] = "mlp_scaler_fit";
    if (!s) return mlp_fail(MLP_ERR_NULL, "%s: s is NULL", fn);
    if ((unsigned)kind >= MLP_SCALE_COUNT)
        return mlp_fail(MLP_ERR_ARG, "%s: unknown scaler kind %d", fn, (int)kind);
    if (kind == MLP_SCALE_NONE) {
        mlp_scaler_free(s);
        s->d = d;
        return MLP_OK;
    }
    if (n == 0 || d == 0)
        return mlp_fail(MLP_ERR_ARG, "%s: empty data (n = %zu, d = %zu)", fn, n, d);
    if (!X) return mlp_fail(MLP_ERR_NULL, "%s: X is NULL", fn);
    size_t cells, bytes, dbytes;
    if (!mlp_mul_ok(n, d, &cells) || !mlp_mul_ok(d, sizeof(double), &dbytes) ||
        !mlp_mul_ok(d, sizeof(float), &bytes))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: %zu x %zu overflows", fn, n, d);

    float *offset = malloc(bytes), *scale = malloc(bytes);
    double *a = malloc(dbytes), *b = malloc(dbytes), *lo = malloc(dbytes), *hi = malloc(dbytes);
    mlp_status st;
    if (!offset || !scale || !a || !b || !lo || !hi)
        st = mlp_fail(MLP_ERR_NOMEM, "%s: out of memory (d = %zu)", fn, d);
    else
        st = column_sums(X, n, d, a, lo, hi, fn);
    if (st == MLP_OK)
        st = kind == MLP_SCALE_STANDARD ? fit_standard(X, n, d, a, b, lo, hi, offset, scale, fn)
                                        : fit_minmax(d, lo, hi, offset, scale, fn);
    free(a);
    free(b);
    free(lo);
    free(hi);
    if (st != MLP_OK) {
        free(offset);
        free(scale);
        return st;
    }
    mlp_scaler_free(s);
    s->kind = kind;
    s->d = d;
    s->offset = offset;
    s->scale = scale;
    return MLP_OK;
}

mlp_status mlp_scaler_apply(const mlp_scaler *s, float *X, size_t n, size_t d) {
    static const char fn[] = "mlp_scaler_apply";
    if (!s) return mlp_fail(MLP_ERR_NULL, "%s: s is NULL", fn);
    if (s->kind == MLP_SCALE_NONE) return MLP_OK;
    if ((unsigned)s->kind >= MLP_SCALE_COUNT)
        return mlp_fail(MLP_ERR_ARG, "%s: unknown scaler kind %d", fn, (int)s->kind);
    if (!s->offset || !s->scale) return mlp_fail(MLP_ERR_NULL, "%s: scaler arrays are NULL", fn);
    if (d != s->d)
        return mlp_fail(MLP_ERR_SHAPE, "%s: data has %zu features, scaler was fitted on %zu", fn, d,
                        s->d);
    if (n == 0) return MLP_OK;
    if (!X) return mlp_fail(MLP_ERR_NULL, "%s: X is NULL", fn);
    size_t cells;
    if (!mlp_mul_ok(n, d, &cells))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: %zu x %zu overflows", fn, n, d);
    const float *off = s->offset, *sc = s->scale;
    const bool team = cells >= MLP_OMP_MIN_ELEMS && !mlp_forked_child();
#pragma omp parallel for schedule(static) if (team)
    for (size_t i = 0; i < n; i++) {
        float *x = X + i * d;
        for (size_t j = 0; j < d; j++) x[j] = (x[j] - off[j]) / sc[j];
    }
    return MLP_OK;
}
