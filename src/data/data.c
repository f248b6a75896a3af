/* Datasets in memory: free, row subsets, seeded train/test split, row index files, and feature
 * scaling (standard and min-max, statistics in double). */
#include "mlp/data.h"
#include "data/data_internal.h"

#include <errno.h>
#include <math.h>
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

/* Gathers rows into a fresh dataset; src is checked, rows are not. */
void mlp_gather_rows(float *dst, const float *src, const size_t *rows, size_t n, size_t width) {
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

mlp_status mlp_gz_open(void **gz, const char *path, const char *what, size_t buffer) {
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        int e = errno; /* zlib leaves errno 0 when its own allocation fails */
        if (e == 0 || e == ENOMEM)
            return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory opening the %s", path, what);
        return mlp_fail(MLP_ERR_IO, "%s: cannot open the %s: %s", path, what, strerror(e));
    }
    if (buffer) gzbuffer(f, (unsigned)buffer);
    *gz = f;
    return MLP_OK;
}

/* Turns a failed gzread on f into a status and message (zlib reads plain files too). */
mlp_status mlp_gz_failure(void *gz, const char *path) {
    gzFile f = gz;
    int err = Z_OK;
    const char *msg = gzerror(f, &err);
    if (err == Z_ERRNO) return mlp_fail(MLP_ERR_IO, "%s: read error: %s", path, strerror(errno));
    if (err == Z_BUF_ERROR)
        return mlp_fail(MLP_ERR_FORMAT, "%s: truncated gzip stream (%s)", path, msg);
    if (err == Z_MEM_ERROR) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory in zlib", path);
    return mlp_fail(MLP_ERR_FORMAT, "%s: corrupt gzip data (%s)", path, msg);
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
    void *gz = NULL;
    mlp_status st0 = mlp_gz_open(&gz, path, "file", 0);
    if (st0 != MLP_OK) return st0;
    gzFile f = gz;
    unsigned char *buf = malloc(ROWS_CHUNK);
    if (!buf) {
        gzclose(f);
        return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", path);
    }

    rows_parser p;
    memset(&p, 0, sizeof p);
    p.path = path;
    p.limit = limit;
    p.line = 1;
    mlp_status st = MLP_OK;
    for (;;) {
        int got = gzread(f, buf, ROWS_CHUNK);
        if (got < 0) {
            st = mlp_gz_failure(f, path);
            break;
        }
        if (got == 0) {
            int err = Z_OK;
            gzerror(f, &err);
            if (err != Z_OK)
                st = mlp_gz_failure(f, path);
            else
                st = rows_feed(&p, '\n'); /* the last line may lack its newline */
            break;
        }
        for (int i = 0; i < got && st == MLP_OK; i++) st = rows_feed(&p, buf[i]);
        if (st != MLP_OK) break;
    }
    free(buf);
    gzclose(f);
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
#pragma omp parallel for schedule(static) if (cells >= MLP_OMP_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) {
        float *x = X + i * d;
        for (size_t j = 0; j < d; j++) x[j] = (x[j] - off[j]) / sc[j];
    }
    return MLP_OK;
}
