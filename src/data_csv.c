/* CSV reader: numeric CSV files, plain or gzip (zlib reads both), streamed line by line into
 * geometrically grown arrays. Every error names the file, line and column (1-based). */
#include "internal.h"
#include "mlp/data.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CSV_CHUNK 65536u                /* bytes per gzread */
#define CSV_FIELD_MAX ((size_t)1 << 20) /* longest accepted field: 1 MiB */
#define CSV_SHOW 40                     /* characters of a bad field quoted in messages */

mlp_csv_options mlp_csv_options_default(void) {
    mlp_csv_options o;
    memset(&o, 0, sizeof o);
    o.header = -1;
    o.label_column = -1;
    o.regression = 0;
    o.delimiter = ',';
    o.max_classes = 65536;
    return o;
}

/* What parsing one field found. */
typedef enum field_kind {
    FIELD_NUMBER = 0, /* a finite number within float range */
    FIELD_EMPTY,      /* nothing (or only blanks) */
    FIELD_TEXT,       /* not a number */
    FIELD_NONFINITE,  /* nan, inf, or a number beyond double range */
    FIELD_RANGE       /* finite as double but beyond float range */
} field_kind;

typedef struct csv_reader {
    const char *path;
    mlp_csv_options opt;

    char *line; /* current line, NUL-terminated; line_cap >= line_len + 1 */
    size_t line_len, line_cap;
    size_t lineno;    /* 1-based number of the current line */
    size_t field_len; /* length of the field being read (for the 1 MiB cap) */
    size_t field_no;  /* 1-based column being read */

    double *row; /* values of the current line's fields */
    size_t row_cap;

    /* First problem found on the current line (column 0: none). */
    size_t bad_col;
    field_kind bad_kind;
    const char *bad_text;

    int seen_first;     /* a non-blank line has been seen */
    size_t header_line; /* 0: no header */
    size_t header_cols; /* fields of the header line */
    size_t ncols;       /* fields per data row (0 until the first data row) */
    size_t first_line;  /* line of the first data row */
    size_t label_col;   /* 0-based */

    /* The rows read so far: n, d (ncols - 1), X and labels or targets, in arrays of cap_rows
     * rows; n_classes or n_targets are set at the end. */
    mlp_dataset ds;
    size_t cap_rows;
    int32_t max_label;
} csv_reader;

static bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

static field_kind parse_field(char *a, char *b, double *v) {
    while (a < b && is_blank(*a)) a++;
    while (b > a && is_blank(b[-1])) b--;
    if (a == b) return FIELD_EMPTY;
    *b = '\0'; /* inside the line buffer: at most overwrites this field's delimiter or the end */
    char *e = NULL;
    double x = strtod(a, &e);
    if (e != b) return FIELD_TEXT;
    *v = x;
    if (!isfinite(x)) return FIELD_NONFINITE;
    if (fabs(x) > FLT_MAX) return FIELD_RANGE;
    return FIELD_NUMBER;
}

static mlp_status grow_row(csv_reader *r, size_t need) {
    if (need <= r->row_cap) return MLP_OK;
    size_t nc = r->row_cap ? r->row_cap : 64, bytes;
    while (nc < need)
        if (!mlp_mul_ok(nc, 2, &nc))
            return mlp_fail(MLP_ERR_OVERFLOW, "%s:%zu: too many fields", r->path, r->lineno);
    if (!mlp_mul_ok(nc, sizeof(double), &bytes))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s:%zu: too many fields", r->path, r->lineno);
    double *p = realloc(r->row, bytes);
    if (!p)
        return mlp_fail(MLP_ERR_NOMEM, "%s:%zu: out of memory for %zu fields", r->path, r->lineno,
                        nc);
    r->row = p;
    r->row_cap = nc;
    return MLP_OK;
}

/* Splits line [s, end) into fields, parsing each into r->row. Stops after max_fields + 1 fields
 * (max_fields 0: no limit) and, if fail_fast, at the first problem. Records the first problem in
 * r->bad_*; *count receives the fields parsed, *any_text whether some field was text. */
static mlp_status split_line(csv_reader *r, char *s, char *end, size_t max_fields, bool fail_fast,
                             size_t *count, bool *any_text) {
    const char delim = r->opt.delimiter;
    size_t k = 0;
    r->bad_col = 0;
    *any_text = false;
    for (;;) {
        char *q = memchr(s, delim, (size_t)(end - s));
        if (!q) q = end;
        mlp_status st = grow_row(r, k + 1);
        if (st != MLP_OK) return st;
        char *text = s;
        while (text < q && is_blank(*text)) text++;
        field_kind kind = parse_field(s, q, &r->row[k]);
        k++;
        if (kind == FIELD_TEXT) *any_text = true;
        if (kind != FIELD_NUMBER && r->bad_col == 0) {
            r->bad_col = k;
            r->bad_kind = kind;
            r->bad_text = text;
            if (fail_fast) break;
        }
        if (q == end || (max_fields && k > max_fields)) break;
        s = q + 1;
    }
    *count = k;
    return MLP_OK;
}

static mlp_status field_error(const csv_reader *r) {
    const char *p = r->path, *t = r->bad_text;
    size_t l = r->lineno, c = r->bad_col;
    switch (r->bad_kind) {
    case FIELD_EMPTY:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: empty field", p, l, c);
    case FIELD_TEXT:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: '%.*s' is not a number", p, l, c, CSV_SHOW, t);
    case FIELD_NONFINITE:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: '%.*s' is not a finite number", p, l, c,
                        CSV_SHOW, t);
    default:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: '%.*s' is beyond the range of float", p, l, c,
                        CSV_SHOW, t);
    }
}

/* Makes room for one more row. */
static mlp_status grow_rows(csv_reader *r) {
    if (r->ds.n < r->cap_rows) return MLP_OK;
    size_t nc, xbytes, ybytes;
    if (!mlp_mul_ok(r->cap_rows ? r->cap_rows : 256, 2, &nc) || !mlp_mul_ok(nc, r->ds.d, &xbytes) ||
        !mlp_mul_ok(xbytes, sizeof(float), &xbytes) ||
        !mlp_mul_ok(nc, sizeof(float), &ybytes)) /* int32_t and float have the same size */
        return mlp_fail(MLP_ERR_OVERFLOW, "%s:%zu: too many cells (%zu rows x %zu columns)",
                        r->path, r->lineno, r->ds.n, r->ncols);
    mlp_status st = mlp_check_alloc(xbytes, r->path);
    if (st != MLP_OK) return st;
    float *x = realloc(r->ds.X, xbytes);
    if (!x) goto nomem;
    r->ds.X = x;
    if (r->opt.regression) {
        float *t = realloc(r->ds.targets, ybytes);
        if (!t) goto nomem;
        r->ds.targets = t;
    } else {
        int32_t *lab = realloc(r->ds.labels, ybytes);
        if (!lab) goto nomem;
        r->ds.labels = lab;
    }
    r->cap_rows = nc;
    return MLP_OK;
nomem:
    return mlp_fail(MLP_ERR_NOMEM, "%s:%zu: out of memory for %zu rows x %zu columns", r->path,
                    r->lineno, nc, r->ncols);
}

/* Sets up the columns from the first data row (count fields). */
static mlp_status first_data_row(csv_reader *r, size_t count) {
    if (r->header_line && r->header_cols != count)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:%zu: the header has %zu fields but line %zu (the first data row) "
                        "has %zu",
                        r->path, r->header_line,
                        (r->header_cols < count ? r->header_cols : count) + 1, r->header_cols,
                        r->lineno, count);
    if (count < 2)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:1: only one column; need at least one feature and a label", r->path,
                        r->lineno);
    long lc = r->opt.label_column;
    if (lc >= 0 && (unsigned long)lc >= count)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:%ld: label column %ld (0-based) is out of range: the row has %zu "
                        "columns",
                        r->path, r->lineno, lc + 1, lc, count);
    r->ncols = count;
    r->ds.d = count - 1;
    r->label_col = lc < 0 ? count - 1 : (size_t)lc;
    r->first_line = r->lineno;
    return MLP_OK;
}

/* Appends the parsed row (r->row, ncols values) to the dataset. */
static mlp_status push_row(csv_reader *r) {
    const double *v = r->row;
    const size_t lc = r->label_col;
    double y = v[lc];
    int32_t label = 0;
    if (!r->opt.regression) {
        const char *p = r->path;
        size_t l = r->lineno, c = lc + 1;
        if (y != floor(y))
            return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: label %g is not an integer", p, l, c, y);
        if (y < 0) return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: negative label %g", p, l, c, y);
        if (y >= (double)r->opt.max_classes)
            return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: label %g is not below max_classes (%ld)",
                            p, l, c, y, (long)r->opt.max_classes);
        label = (int32_t)y;
    }
    mlp_status st = grow_rows(r);
    if (st != MLP_OK) return st;
    float *x = r->ds.X + r->ds.n * r->ds.d;
    for (size_t j = 0; j < lc; j++) x[j] = (float)v[j];
    for (size_t j = lc + 1; j < r->ncols; j++) x[j - 1] = (float)v[j];
    if (r->opt.regression) {
        r->ds.targets[r->ds.n] = (float)y;
    } else {
        r->ds.labels[r->ds.n] = label;
        if (label > r->max_label) r->max_label = label;
    }
    r->ds.n++;
    return MLP_OK;
}

/* Handles the complete current line (r->line, r->line_len). */
static mlp_status process_line(csv_reader *r) {
    char *s = r->line, *end = r->line + r->line_len;
    *end = '\0';
    if (r->lineno == 1 && r->line_len >= 3 && (unsigned char)s[0] == 0xEF &&
        (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
        s += 3; /* UTF-8 byte order mark */
    const char *t = s;
    while (t < end && is_blank(*t)) t++;
    if (t == end) return MLP_OK; /* blank lines are skipped */

    size_t count = 0;
    bool any_text = false;
    mlp_status st;
    if (!r->seen_first) {
        r->seen_first = 1;
        if (r->opt.header == 1) {
            size_t k = 1;
            for (const char *p = s; (p = memchr(p, r->opt.delimiter, (size_t)(end - p))); p++) k++;
            r->header_line = r->lineno;
            r->header_cols = k;
            return MLP_OK;
        }
        st = split_line(r, s, end, 0, r->opt.header == 0, &count, &any_text);
        if (st != MLP_OK) return st;
        if (r->opt.header == -1 && any_text) { /* some field is text: a header */
            r->header_line = r->lineno;
            r->header_cols = count;
            return MLP_OK;
        }
        if (r->bad_col) return field_error(r);
        st = first_data_row(r, count);
        if (st != MLP_OK) return st;
        return push_row(r);
    }
    if (r->ncols == 0) { /* the first data row after a header */
        st = split_line(r, s, end, 0, true, &count, &any_text);
        if (st != MLP_OK) return st;
        if (r->bad_col) return field_error(r);
        st = first_data_row(r, count);
        if (st != MLP_OK) return st;
        return push_row(r);
    }
    st = split_line(r, s, end, r->ncols, true, &count, &any_text);
    if (st != MLP_OK) return st;
    if (r->bad_col) return field_error(r);
    if (count != r->ncols)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:%zu: the row has %s%zu fields, expected %zu (as on line %zu)",
                        r->path, r->lineno, (count < r->ncols ? count : r->ncols) + 1,
                        count < r->ncols ? "" : "at least ", count, r->ncols, r->first_line);
    return push_row(r);
}

/* Appends bytes [p, p + len) (no newline among them) to the current line. */
static mlp_status append_bytes(csv_reader *r, const unsigned char *p, size_t len) {
    if (len > SIZE_MAX - 1 - r->line_len)
        return mlp_fail(MLP_ERR_OVERFLOW, "%s:%zu: line too long", r->path, r->lineno);
    size_t need = r->line_len + len + 1;
    if (need > r->line_cap) {
        size_t nc = r->line_cap ? r->line_cap : 4096;
        while (nc < need)
            if (!mlp_mul_ok(nc, 2, &nc))
                return mlp_fail(MLP_ERR_OVERFLOW, "%s:%zu: line too long", r->path, r->lineno);
        char *l = realloc(r->line, nc);
        if (!l)
            return mlp_fail(MLP_ERR_NOMEM, "%s:%zu: out of memory for a line of %zu bytes", r->path,
                            r->lineno, need);
        r->line = l;
        r->line_cap = nc;
    }
    const char delim = r->opt.delimiter;
    char *dst = r->line + r->line_len;
    for (size_t i = 0; i < len; i++) {
        char c = (char)p[i];
        dst[i] = c;
        if (c == delim) {
            r->field_len = 0;
            r->field_no++;
        } else if (++r->field_len > CSV_FIELD_MAX) {
            return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: field longer than %zu bytes", r->path,
                            r->lineno, r->field_no, (size_t)CSV_FIELD_MAX);
        }
    }
    r->line_len += len;
    return MLP_OK;
}

static mlp_status end_line(csv_reader *r) {
    mlp_status st = process_line(r);
    r->line_len = 0;
    r->field_len = 0;
    r->field_no = 1;
    r->lineno++;
    return st;
}

static mlp_status check_options(const mlp_csv_options *o, const char *path) {
    if (o->header < -1 || o->header > 1)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): header must be -1, 0 or 1 (got %d)", path,
                        o->header);
    if (o->label_column < -1)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): label_column must be >= -1 (got %ld)", path,
                        o->label_column);
    if (o->regression != 0 && o->regression != 1)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): regression must be 0 or 1 (got %d)", path,
                        o->regression);
    char c = o->delimiter;
    if (c == '\0' || c == '\n' || c == '\r' || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
        c == '-' || c == 'e' || c == 'E')
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): invalid delimiter 0x%02x", path,
                        (unsigned)(unsigned char)c);
    if (!o->regression && o->max_classes < 1)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): max_classes must be >= 1 (got %ld)", path,
                        (long)o->max_classes);
    return MLP_OK;
}

static void reader_free(csv_reader *r) {
    free(r->line);
    free(r->row);
    mlp_dataset_free(&r->ds);
}

/* Feeds the open file f through append_bytes / end_line, one chunk at a time, to its end. */
static mlp_status read_lines(csv_reader *r, gzFile f, unsigned char *buf) {
    mlp_status st = MLP_OK;
    for (;;) {
        int got = gzread(f, buf, CSV_CHUNK);
        if (got < 0) return mlp_gz_failure(f, r->path);
        if (got == 0) {
            int err = Z_OK;
            gzerror(f, &err);
            if (err != Z_OK) return mlp_gz_failure(f, r->path);
            return r->line_len > 0 ? end_line(r) : MLP_OK; /* last line without a newline */
        }
        const unsigned char *p = buf, *e = buf + got;
        while (p < e && st == MLP_OK) {
            const unsigned char *nl = memchr(p, '\n', (size_t)(e - p));
            st = append_bytes(r, p, (size_t)((nl ? nl : e) - p));
            if (st == MLP_OK && nl) st = end_line(r);
            p = nl ? nl + 1 : e;
        }
        if (st != MLP_OK) return st;
    }
}

/* Opens r->path, reads every line into r and closes it. On failure r may hold buffers
 * (reader_free). */
static mlp_status read_file(csv_reader *r) {
    void *gz = NULL;
    mlp_status st = mlp_gz_open(&gz, r->path, "file", 1u << 17);
    if (st != MLP_OK) return st;
    gzFile f = gz;
    unsigned char *buf = malloc(CSV_CHUNK);
    r->line_cap = 4096;
    r->line = malloc(r->line_cap);
    if (!buf || !r->line)
        st = mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", r->path);
    else
        st = read_lines(r, f, buf);
    free(buf);
    gzclose(f);
    if (st == MLP_OK && r->ds.n == 0) {
        if (r->header_line)
            return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:1: no data rows after the header (line %zu)",
                            r->path, r->lineno, r->header_line);
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:1: no data rows (the file is empty or blank)",
                        r->path, r->lineno);
    }
    return st;
}

/* Moves the rows read into *out, shrunk to their final size (keeping the larger block if that
 * fails), and frees the reader's line buffers. */
static void take_dataset(csv_reader *r, mlp_dataset *out) {
    mlp_dataset *ds = &r->ds;
    float *x = realloc(ds->X, ds->n * ds->d * sizeof(float));
    if (x) ds->X = x;
    if (r->opt.regression) {
        float *t = realloc(ds->targets, ds->n * sizeof(float));
        if (t) ds->targets = t;
        ds->n_targets = 1;
    } else {
        int32_t *l = realloc(ds->labels, ds->n * sizeof(int32_t));
        if (l) ds->labels = l;
        ds->n_classes = (size_t)r->max_label + 1;
    }
    free(r->line);
    free(r->row);
    *out = *ds;
}

mlp_status mlp_read_csv(const char *path, const mlp_csv_options *opt, mlp_dataset *out) {
    if (!path || !out) return mlp_fail(MLP_ERR_NULL, "mlp_read_csv: path or out is NULL");
    csv_reader r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.opt = opt ? *opt : mlp_csv_options_default();
    mlp_status st = check_options(&r.opt, path);
    if (st != MLP_OK) return st;
    r.lineno = 1;
    r.field_no = 1;
    st = read_file(&r);
    if (st != MLP_OK) {
        reader_free(&r);
        return st;
    }
    take_dataset(&r, out);
    return MLP_OK;
}
