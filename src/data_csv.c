/* CSV reader: numeric CSV files, plain or gzip (zlib reads both), streamed line by line into
 * geometrically grown arrays. Every error names the file, line and column (1-based). */
#include "classes_internal.h"
#include "internal.h"
#include "mlp/data.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
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

    double *row;       /* values of the current line's fields */
    field_kind *kinds; /* what each field is */
    char **texts;      /* each field's text, blanks trimmed (NUL-terminated unless empty) */
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

    /* Classification: every row's label as text (in one arena) and its line, turned into class
     * indices at the end (resolve_labels). */
    char *ltext;
    size_t ltext_len, ltext_cap;
    size_t *loff, *lline; /* cap_rows entries */
    int first_label_text; /* auto header: the first row was data only for its text label */
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
    if (p) r->row = p;
    field_kind *k = p ? realloc(r->kinds, nc * sizeof *k) : NULL;
    if (k) r->kinds = k;
    char **t = k ? realloc(r->texts, nc * sizeof *t) : NULL;
    if (!t)
        return mlp_fail(MLP_ERR_NOMEM, "%s:%zu: out of memory for %zu fields", r->path, r->lineno,
                        nc);
    r->texts = t;
    r->row_cap = nc;
    return MLP_OK;
}

/* Splits line [s, end) into fields, parsing each into r->row, r->kinds and r->texts. Stops after
 * max_fields + 1 fields (max_fields 0: no limit). *count receives the fields parsed. */
static mlp_status split_line(csv_reader *r, char *s, char *end, size_t max_fields, size_t *count) {
    const char delim = r->opt.delimiter;
    size_t k = 0;
    for (;;) {
        char *q = memchr(s, delim, (size_t)(end - s));
        if (!q) q = end;
        mlp_status st = grow_row(r, k + 1);
        if (st != MLP_OK) return st;
        char *text = s;
        while (text < q && is_blank(*text)) text++;
        r->kinds[k] = parse_field(s, q, &r->row[k]);
        r->texts[k] = text;
        k++;
        if (q == end || (max_fields && k > max_fields)) break;
        s = q + 1;
    }
    *count = k;
    return MLP_OK;
}

/* The label column of a row of count fields (count itself if it is out of range). */
static size_t label_index(const csv_reader *r, size_t count) {
    if (r->ncols) return r->label_col;
    long lc = r->opt.label_column;
    return lc < 0 ? count - 1 : ((unsigned long)lc < count ? (size_t)lc : count);
}

/* Records in r->bad_* the first field of count that cannot be used (column 0 if none): a
 * non-number, except text in the label column of a classification file. */
static void find_bad(csv_reader *r, size_t count) {
    const size_t lc = r->opt.regression ? count : label_index(r, count);
    r->bad_col = 0;
    for (size_t j = 0; j < count; j++) {
        field_kind k = r->kinds[j];
        if (k == FIELD_NUMBER || (j == lc && (k == FIELD_TEXT || k == FIELD_RANGE))) continue;
        r->bad_col = j + 1;
        r->bad_kind = k;
        r->bad_text = r->texts[j];
        return;
    }
}

/* Some field of count other than the label column (of a classification file) is text. */
static bool any_text(const csv_reader *r, size_t count) {
    const size_t lc = r->opt.regression ? count : label_index(r, count);
    for (size_t j = 0; j < count; j++)
        if (r->kinds[j] == FIELD_TEXT && j != lc) return true;
    return false;
}

static mlp_status field_error(const csv_reader *r) {
    const char *p = r->path, *t = r->bad_text;
    size_t l = r->lineno, c = r->bad_col;
    const char *more = r->bad_kind != FIELD_EMPTY && strlen(t) > CSV_SHOW ? "..." : "";
    switch (r->bad_kind) {
    case FIELD_EMPTY:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: empty field", p, l, c);
    case FIELD_TEXT:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: '%.*s%s' is not a number", p, l, c, CSV_SHOW,
                        t, more);
    case FIELD_NONFINITE:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: '%.*s%s' is not a finite number", p, l, c,
                        CSV_SHOW, t, more);
    default:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: '%.*s%s' is beyond the range of float", p, l,
                        c, CSV_SHOW, t, more);
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
        size_t *off = realloc(r->loff, nc * sizeof *off); /* nc * 4 did not overflow: nor this */
        if (!off) goto nomem;
        r->loff = off;
        size_t *ln = realloc(r->lline, nc * sizeof *ln);
        if (!ln) goto nomem;
        r->lline = ln;
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

/* Appends the label text of the current row (NUL-terminated) to the arena. */
static mlp_status push_label_text(csv_reader *r, const char *text) {
    size_t len = strlen(text) + 1;
    if (len > r->ltext_cap - r->ltext_len) {
        size_t nc = r->ltext_cap ? r->ltext_cap : 4096;
        while (nc - r->ltext_len < len)
            if (!mlp_mul_ok(nc, 2, &nc))
                return mlp_fail(MLP_ERR_OVERFLOW, "%s:%zu: labels too long", r->path, r->lineno);
        char *t = realloc(r->ltext, nc);
        if (!t)
            return mlp_fail(MLP_ERR_NOMEM, "%s:%zu: out of memory for the labels", r->path,
                            r->lineno);
        r->ltext = t;
        r->ltext_cap = nc;
    }
    memcpy(r->ltext + r->ltext_len, text, len);
    r->loff[r->ds.n] = r->ltext_len;
    r->lline[r->ds.n] = r->lineno;
    r->ltext_len += len;
    return MLP_OK;
}

/* Appends the parsed row (r->row, ncols values) to the dataset. */
static mlp_status push_row(csv_reader *r) {
    const double *v = r->row;
    const size_t lc = r->label_col;
    mlp_status st = grow_rows(r);
    if (st != MLP_OK) return st;
    if (!r->opt.regression && (st = push_label_text(r, r->texts[lc])) != MLP_OK) return st;
    float *x = r->ds.X + r->ds.n * r->ds.d;
    for (size_t j = 0; j < lc; j++) x[j] = (float)v[j];
    for (size_t j = lc + 1; j < r->ncols; j++) x[j - 1] = (float)v[j];
    if (r->opt.regression) r->ds.targets[r->ds.n] = (float)v[lc];
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
        st = split_line(r, s, end, 0, &count);
        if (st != MLP_OK) return st;
        if (r->opt.header == -1 && any_text(r, count)) { /* a feature field is text: a header */
            r->header_line = r->lineno;
            r->header_cols = count;
            return MLP_OK;
        }
        find_bad(r, count);
        if (r->bad_col) return field_error(r);
        st = first_data_row(r, count);
        if (st != MLP_OK) return st;
        r->first_label_text =
            r->opt.header == -1 && !r->opt.regression && r->kinds[r->label_col] == FIELD_TEXT;
        return push_row(r);
    }
    if (r->ncols == 0) { /* the first data row after a header */
        st = split_line(r, s, end, 0, &count);
        if (st != MLP_OK) return st;
        find_bad(r, count);
        if (r->bad_col) return field_error(r);
        st = first_data_row(r, count);
        if (st != MLP_OK) return st;
        return push_row(r);
    }
    st = split_line(r, s, end, r->ncols, &count);
    if (st != MLP_OK) return st;
    find_bad(r, count);
    if (r->bad_col && count == r->ncols) return field_error(r);
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
    if (!o->regression && o->classes && (unsigned)o->classes->kind >= MLP_CLASSES_COUNT)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): unknown class list kind %d", path,
                        (int)o->classes->kind);
    if (!o->regression && o->max_classes < 1)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): max_classes must be >= 1 (got %ld)", path,
                        (long)o->max_classes);
    return MLP_OK;
}

static void reader_free(csv_reader *r) {
    free(r->line);
    free(r->row);
    free(r->kinds);
    free(r->texts);
    free(r->ltext);
    free(r->loff);
    free(r->lline);
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

#define CSV_MAX_EXACT 9007199254740992.0 /* 2^53: larger integers are not exact in a double */

/* Labels as numbers: *all_numbers says whether every label of rows [from, n) is one; vals gets
 * them. */
static void label_numbers(const csv_reader *r, size_t from, double *vals, bool *all_numbers) {
    *all_numbers = true;
    for (size_t i = from; i < r->ds.n && *all_numbers; i++)
        *all_numbers = mlp_class_parse_number(r->ltext + r->loff[i], &vals[i]) != 0;
}

/* Drops the first row read (an auto-detected header whose only text was its label). */
static void drop_first_row(csv_reader *r) {
    mlp_dataset *ds = &r->ds;
    r->header_line = r->lline[0];
    r->header_cols = r->ncols;
    ds->n--;
    memmove(ds->X, ds->X + ds->d, ds->n * ds->d * sizeof(float));
    memmove(r->loff, r->loff + 1, ds->n * sizeof *r->loff);
    memmove(r->lline, r->lline + 1, ds->n * sizeof *r->lline);
}

static mlp_status label_error(const csv_reader *r, size_t i, const char *what) {
    const char *t = r->ltext + r->loff[i];
    return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: label '%.*s%s' %s", r->path, r->lline[i],
                    r->label_col + 1, CSV_SHOW, t, strlen(t) > CSV_SHOW ? "..." : "", what);
}

/* Maps every label onto the given class list (opt.classes). */
static mlp_status labels_to_given(csv_reader *r, const mlp_classes *c) {
    char what[160];
    for (size_t i = 0; i < r->ds.n; i++) {
        size_t k;
        if (!mlp_classes_find(c, r->ltext + r->loff[i], &k) ||
            (c->kind != MLP_CLASSES_NONE && k >= c->n) || k > INT32_MAX) {
            char first[64] = "", last[64] = "";
            mlp_classes_name(c, 0, first, sizeof first);
            if (c->n) mlp_classes_name(c, c->n - 1, last, sizeof last);
            if (c->kind == MLP_CLASSES_NONE)
                snprintf(what, sizeof what, "is not a class index (an integer >= 0)");
            else
                snprintf(what, sizeof what, "is not one of the %zu classes (%s%s%s)", c->n, first,
                         c->n > 2    ? " ... "
                         : c->n == 2 ? ", "
                                     : "",
                         c->n > 1 ? last : "");
            return label_error(r, i, what);
        }
        r->ds.labels[i] = (int32_t)k;
        if (c->kind == MLP_CLASSES_NONE && k + 1 > r->ds.n_classes) r->ds.n_classes = k + 1;
    }
    mlp_status st = mlp_classes_copy(c, &r->ds.classes);
    if (st == MLP_OK && c->kind != MLP_CLASSES_NONE) r->ds.n_classes = c->n;
    return st;
}

/* The file's own classes: its sorted unique integers, or its sorted unique strings. */
static mlp_status labels_to_own(csv_reader *r, double *vals) {
    const size_t n = r->ds.n;
    bool numbers;
    label_numbers(r, 0, vals, &numbers);
    mlp_status st;
    if (numbers) {
        for (size_t i = 0; i < n; i++)
            if (vals[i] != floor(vals[i]) || fabs(vals[i]) > CSV_MAX_EXACT)
                return label_error(r, i,
                                   fabs(vals[i]) > CSV_MAX_EXACT
                                       ? "is too large for a class label (at most 2^53)"
                                       : "is not an integer: numeric class labels are integers "
                                         "(use --regression for float targets)");
        st = mlp_classes_encode_numbers(vals, n, &r->ds.classes, r->ds.labels);
    } else {
        const char **names = (const char **)vals; /* sizeof(double) >= sizeof(char *) */
        for (size_t i = 0; i < n; i++) names[i] = r->ltext + r->loff[i];
        st = mlp_classes_encode_names(names, n, &r->ds.classes, r->ds.labels);
    }
    if (st != MLP_OK) return st;
    r->ds.n_classes = r->ds.classes.n;
    if (r->ds.n_classes > (size_t)r->opt.max_classes)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s: %zu distinct class labels, more than max_classes (%ld)", r->path,
                        r->ds.n_classes, (long)r->opt.max_classes);
    return MLP_OK;
}

/* Turns the label texts into class indices and the class list. */
static mlp_status resolve_labels(csv_reader *r) {
    _Static_assert(sizeof(double) >= sizeof(char *), "label_numbers' buffer holds pointers");
    double *vals = malloc((r->ds.n ? r->ds.n : 1) * sizeof *vals);
    if (!vals) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory for %zu labels", r->path, r->ds.n);
    bool rest_numbers = false;
    if (r->first_label_text && r->ds.n > 1) label_numbers(r, 1, vals, &rest_numbers);
    if (rest_numbers) drop_first_row(r); /* "a,b,class" over numeric labels: a header */
    mlp_status st = r->opt.classes ? labels_to_given(r, r->opt.classes) : labels_to_own(r, vals);
    free(vals);
    return st;
}

/* Moves the rows read into *out, shrunk to their final size (keeping the larger block if that
 * fails), and frees the reader's buffers. */
static mlp_status take_dataset(csv_reader *r, mlp_dataset *out) {
    mlp_dataset *ds = &r->ds;
    if (!r->opt.regression) {
        mlp_status st = resolve_labels(r);
        if (st != MLP_OK) return st;
    }
    float *x = realloc(ds->X, ds->n * ds->d * sizeof(float));
    if (x) ds->X = x;
    if (r->opt.regression) {
        float *t = realloc(ds->targets, ds->n * sizeof(float));
        if (t) ds->targets = t;
        ds->n_targets = 1;
    } else {
        int32_t *l = realloc(ds->labels, ds->n * sizeof(int32_t));
        if (l) ds->labels = l;
    }
    *out = *ds;
    memset(ds, 0, sizeof *ds);
    reader_free(r);
    return MLP_OK;
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
    st = take_dataset(&r, out);
    if (st != MLP_OK) reader_free(&r);
    return st;
}
