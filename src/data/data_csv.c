/* CSV reader: CSV files, plain or gzip (zlib reads both), streamed line by line into
 * geometrically grown arrays: numeric features, a numeric or text label column; RFC 4180 quotes,
 * any one-character delimiter or whitespace, detected from the first lines on request; skipped
 * leading lines and comment lines. Every error names the file, line and column (1-based). */
#include "data/classes_internal.h"
#include "data/csv_internal.h"
#include "data/data_internal.h"
#include "mlp/data.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_CHUNK 65536u                /* bytes per read */
#define CSV_FIELD_MAX ((size_t)1 << 20) /* longest accepted field: 1 MiB */
#define CSV_SHOW 40                     /* characters of a bad field quoted in messages */
#define CSV_DETECT_LINES 20             /* data lines read before the delimiter is detected */

mlp_csv_options mlp_csv_options_default(void) {
    mlp_csv_options o;
    memset(&o, 0, sizeof o);
    o.header = -1;
    o.label_column = -1;
    o.regression = 0;
    o.delimiter = ',';
    o.max_classes = 65536;
    o.comment = '#';
    o.weight_column = MLP_CSV_NO_COLUMN;
    return o;
}

/* What parsing one field found. */
typedef enum field_kind {
    FIELD_NUMBER = 0, /* a finite number within float range */
    FIELD_EMPTY,      /* nothing (or only blanks) */
    FIELD_TEXT,       /* not a number */
    FIELD_NONFINITE,  /* nan, inf, or a number beyond double range */
    FIELD_RANGE,      /* finite as double but beyond float range */
    FIELD_BAD_QUOTE,  /* a quote left open, or text after the closing quote */
    FIELD_FOREIGN     /* a number in a notation the reader does not take (mlp_csv_foreign_number):
                         an error everywhere, never header text */
} field_kind;

typedef struct csv_reader {
    const char *path;
    mlp_csv_options opt;

    char *line; /* current line, NUL-terminated; line_cap >= line_len + 1 */
    size_t line_len, line_cap;
    size_t lineno;      /* 1-based number of the current line */
    size_t field_len;   /* length of the field being read (for the 1 MiB cap) */
    size_t field_no;    /* 1-based column being read */
    char delim;         /* the delimiter (CSV_WHITESPACE: runs of blanks); 0 until detected */
    bool in_quotes;     /* the line read so far ends inside a quoted field */
    bool field_start;   /* ... at the start of a field (only blanks since its delimiter) */
    bool closed;        /* ... just after a closing quote (a quote now is an escaped "") */
    size_t extra_lines; /* line ends inside quotes in the current record */
    char eol;           /* the file's line ends: 0 until the first, '\n' (LF or CRLF: a CR is then a
                           blank) or '\r' (CR alone, as classic Mac OS and Excel for Mac write) */
    size_t pending_cr;  /* CRs outside quotes whose meaning the next byte tells (before the first
                           line end, or with CR line ends) */
    size_t quoted_crs;  /* CRs inside quotes before the first line end: line ends if it is a CR */

    /* Delimiter detection: the first data lines, kept until CSV_DETECT_LINES are read. */
    char *stash;
    size_t stash_len, stash_cap, n_stash;
    size_t stash_off[CSV_DETECT_LINES], stash_size[CSV_DETECT_LINES], stash_line[CSV_DETECT_LINES];

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
    bool targets;       /* float targets (regression, multilabel) instead of class labels */
    size_t n_t;         /* target columns (targets mode) */
    size_t *tcols;      /* the label or target columns (0-based), in the order given */
    bool *not_feature;  /* ncols flags: column j is a label, a target or the weight column */
    bool has_w;         /* a weight column was asked for (by index or by name) */
    size_t weight_col;  /* its 0-based index (by name: found in the header) */

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
    bool header_number;   /* auto header: the header's first field is a number */
} csv_reader;

static bool is_blank(char c) {
    return csv_is_blank(c);
}

/* The field [a, b) (trimmed and NUL-terminated) as a number; delim for telling a decimal comma. */
static field_kind parse_field(char *a, char *b, char delim, double *v) {
    if (a == b) return FIELD_EMPTY;
    char *e = NULL;
    double x = mlp_csv_hex_prefix(a) ? 0.0 : strtod(a, &e); /* strtod would read hexadecimal */
    if (e != b) return mlp_csv_foreign_number(a, b, delim) ? FIELD_FOREIGN : FIELD_TEXT;
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
    const char delim = r->delim;
    const bool ws = delim == CSV_WHITESPACE;
    size_t k = 0;
    if (ws) s = mlp_csv_skip_blanks(s, end);
    for (;;) {
        mlp_status st = grow_row(r, k + 1);
        if (st != MLP_OK) return st;
        csv_field f;
        char *q = mlp_csv_next_field(s, end, delim, &f);
        *f.text_end = '\0'; /* at most over this field's delimiter (already passed) or the end */
        r->kinds[k] =
            f.bad_quote ? FIELD_BAD_QUOTE : parse_field(f.text, f.text_end, delim, &r->row[k]);
        r->texts[k] = f.text;
        k++;
        if (q == end || (max_fields && k > max_fields)) break;
        s = q + 1;
        if (ws && (s = mlp_csv_skip_blanks(s, end)) == end) break;
    }
    *count = k;
    return MLP_OK;
}

/* Column c (negative: from the end, -1 the last) of a row of count fields into *j; false if it
 * is out of range. */
static bool resolve_col(long c, size_t count, size_t *j) {
    if (c < 0 && (unsigned long)-(c + 1) < count) {
        *j = count - (size_t) - (c + 1) - 1;
        return true;
    }
    if (c >= 0 && (unsigned long)c < count) {
        *j = (size_t)c;
        return true;
    }
    return false;
}

/* The label column of a row of count fields (count itself if it is out of range). */
static size_t label_index(const csv_reader *r, size_t count) {
    if (r->ncols) return r->label_col;
    size_t j;
    return resolve_col(r->opt.label_column, count, &j) ? j : count;
}

/* The label or target columns given (one label_column, or the label_columns list). */
static size_t n_cols_given(const mlp_csv_options *o) {
    return o->n_label_columns ? o->n_label_columns : 1;
}

static long col_given(const mlp_csv_options *o, size_t i) {
    return o->n_label_columns ? o->label_columns[i] : o->label_column;
}

/* Every label or target column is within a row of count fields. */
static bool columns_fit(const csv_reader *r, size_t count) {
    size_t j;
    for (size_t i = 0; i < n_cols_given(&r->opt); i++)
        if (!resolve_col(col_given(&r->opt, i), count, &j)) return false;
    return true;
}

/* Records field j (0-based) in r->bad_*. */
static void mark_bad(csv_reader *r, size_t j) {
    r->bad_col = j + 1;
    r->bad_kind = r->kinds[j];
    r->bad_text = r->texts[j];
}

/* Records in r->bad_* the first field of count that cannot be used (column 0 if none): a
 * non-number, except text in the label column of a classification file. */
static void find_bad(csv_reader *r, size_t count) {
    const size_t lc = r->targets ? count : label_index(r, count);
    r->bad_col = 0;
    for (size_t j = 0; j < count; j++) {
        field_kind k = r->kinds[j];
        if (k == FIELD_NUMBER || (j == lc && (k == FIELD_TEXT || k == FIELD_RANGE))) continue;
        mark_bad(r, j);
        return;
    }
}

/* Records in r->bad_* the first field of count that is a number in another notation (column 0 if
 * none). */
static void find_foreign(csv_reader *r, size_t count) {
    r->bad_col = 0;
    for (size_t j = 0; j < count && !r->bad_col; j++)
        if (r->kinds[j] == FIELD_FOREIGN) mark_bad(r, j);
}

/* Some field of count other than the label column (of a classification file) is text. */
static bool any_text(const csv_reader *r, size_t count) {
    const size_t lc = r->targets ? count : label_index(r, count);
    for (size_t j = 0; j < count; j++)
        if (r->kinds[j] == FIELD_TEXT && j != lc) return true;
    return false;
}

static const char *delim_name(char c) {
    switch (c) {
    case '\t':
        return "tab";
    case CSV_WHITESPACE:
        return "whitespace";
    case ',':
        return "','";
    case ';':
        return "';'";
    default:
        return "that delimiter";
    }
}

/* A line read as one field (text) that holds another usual delimiter: say so. */
static void one_field_hint(const csv_reader *r, const char *text, char *buf, size_t cap) {
    static const char cand[] = {';', '\t', ',', CSV_WHITESPACE};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof cand; i++)
        if (cand[i] != r->delim && strchr(text, cand[i])) {
            snprintf(buf, cap,
                     " (the line is one field with %s in it: the file is probably %s-separated, "
                     "not %s-separated; set the delimiter or detect it)",
                     delim_name(cand[i]), delim_name(cand[i]), delim_name(r->delim));
            return;
        }
}

/* The problem in r->bad_* on a line of count fields. */
static mlp_status field_error(const csv_reader *r, size_t count) {
    const char *p = r->path, *t = r->bad_text;
    size_t l = r->lineno, c = r->bad_col;
    const char *more = r->bad_kind != FIELD_EMPTY && strlen(t) > CSV_SHOW ? "..." : "";
    char hint[200] = "";
    if (count == 1 && r->bad_kind == FIELD_TEXT) one_field_hint(r, t, hint, sizeof hint);
    switch (r->bad_kind) {
    case FIELD_EMPTY:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: empty field", p, l, c);
    case FIELD_TEXT:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: '%.*s%s' is not a number%s", p, l, c, CSV_SHOW,
                        t, more, hint);
    case FIELD_NONFINITE:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: '%.*s%s' is not a finite number", p, l, c,
                        CSV_SHOW, t, more);
    case FIELD_FOREIGN:
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: '%.*s%s' is not a number: %s", p, l, c,
                        CSV_SHOW, t, more, mlp_csv_foreign_number(t, t + strlen(t), r->delim));
    case FIELD_BAD_QUOTE:
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:%zu: '%.*s%s': a quote is not closed, or text follows the "
                        "closing quote",
                        p, l, c, CSV_SHOW, t, more);
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
        !mlp_mul_ok(nc, r->targets ? r->n_t : 1, &ybytes) ||
        !mlp_mul_ok(ybytes, sizeof(float), &ybytes)) /* int32_t and float have the same size */
        return mlp_fail(MLP_ERR_OVERFLOW, "%s:%zu: too many cells (%zu rows x %zu columns)",
                        r->path, r->lineno, r->ds.n, r->ncols);
    mlp_status st = mlp_check_alloc(xbytes, r->path);
    if (st != MLP_OK) return st;
    float *x = realloc(r->ds.X, xbytes);
    if (!x) goto nomem;
    r->ds.X = x;
    if (r->has_w) { /* nc floats: fewer bytes than ybytes */
        float *w = realloc(r->ds.weights, nc * sizeof *w);
        if (!w) goto nomem;
        r->ds.weights = w;
    }
    if (r->targets) {
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

/* The weight column's name or index, for messages. */
static void weight_name(const csv_reader *r, char *buf, size_t cap) {
    if (r->opt.weight_column_name)
        snprintf(buf, cap, "'%.*s'", CSV_SHOW, r->opt.weight_column_name);
    else
        snprintf(buf, cap, "%ld", r->opt.weight_column);
}

/* The weight column of rows of count fields, by name (found in the header) or by index, of which k
 * are label columns (r->not_feature): not one of them, and a feature must remain. Column choices
 * that do not fit the file are argument errors. */
static mlp_status set_up_weight(csv_reader *r, size_t count, size_t k) {
    const mlp_csv_options *o = &r->opt;
    char what[64];
    weight_name(r, what, sizeof what);
    size_t j = r->weight_col;
    if (o->weight_column_name && !r->header_line)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:1: no column %s for the weights: the file has no header (its first "
                        "row is data)",
                        r->path, r->lineno, what);
    const bool by_index = !o->weight_column_name;
    if ((by_index && !resolve_col(o->weight_column, count, &j)) || j >= count)
        return mlp_fail(MLP_ERR_ARG,
                        "%s:%zu:%zu: the weight column %s (0-based%s) is out of range: the row has "
                        "%zu columns",
                        r->path, r->lineno,
                        by_index && o->weight_column >= 0 ? (size_t)o->weight_column + 1 : count,
                        what, by_index && o->weight_column < 0 ? ", from the end" : "", count);
    if (r->not_feature[j])
        return mlp_fail(MLP_ERR_ARG, "%s:%zu:%zu: the weight column %s is %s", r->path, r->lineno,
                        j + 1, what, k > 1 ? "one of the label columns" : "the label column");
    if (k + 1 >= count)
        return mlp_fail(MLP_ERR_ARG,
                        "%s:%zu:1: with the weight column %s and %zu label column%s, no feature "
                        "column is left",
                        r->path, r->lineno, what, k, k > 1 ? "s" : "");
    r->weight_col = j;
    r->not_feature[j] = true;
    return MLP_OK;
}

/* Which columns of rows of count fields are not features: the label or target columns (r->tcols,
 * checked to be in range) and the weight column. */
static mlp_status set_up_columns(csv_reader *r, size_t count) {
    const size_t k = r->targets ? n_cols_given(&r->opt) : 1;
    size_t *t = realloc(r->tcols, k * sizeof *t);
    if (t) r->tcols = t;
    bool *f = t ? realloc(r->not_feature, count * sizeof *f) : NULL;
    if (!f) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory for %zu columns", r->path, count);
    r->not_feature = f;
    memset(f, 0, count * sizeof *f);
    for (size_t i = 0; i < k; i++) {
        /* classification reads label_column (a list of them needs regression or multilabel) */
        resolve_col(r->targets ? col_given(&r->opt, i) : r->opt.label_column, count, &t[i]);
        if (f[t[i]])
            return mlp_fail(MLP_ERR_FORMAT,
                            "%s:%zu:%zu: column %zu is given twice as a label column (as %ld)",
                            r->path, r->lineno, t[i] + 1, t[i], col_given(&r->opt, i));
        f[t[i]] = true;
    }
    if (k >= count)
        return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:1: all %zu columns are label columns: no features",
                        r->path, r->lineno, count);
    mlp_status st = r->has_w ? set_up_weight(r, count, k) : MLP_OK;
    if (st != MLP_OK) return st;
    r->n_t = k;
    r->ds.d = count - k - (r->has_w ? 1 : 0);
    r->label_col = t[0];
    return MLP_OK;
}

/* Sets up the columns from the first data row (count fields). */
static mlp_status first_data_row(csv_reader *r, size_t count) {
    /* A detected first line that starts with a number is a count header ("178,13,class_0,
     * class_1,class_2" over 14 columns): its width does not matter */
    bool count_header = r->opt.header == -1 && r->header_number;
    if (r->header_line && r->header_cols != count && !count_header)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:%zu: the header has %zu fields but line %zu (the first data row) "
                        "has %zu",
                        r->path, r->header_line,
                        (r->header_cols < count ? r->header_cols : count) + 1, r->header_cols,
                        r->lineno, count);
    if (count < 2) {
        char hint[200];
        one_field_hint(r, r->texts[0], hint, sizeof hint);
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:1: only one column; need at least one feature and a label%s",
                        r->path, r->lineno, hint);
    }
    for (size_t i = 0; i < n_cols_given(&r->opt); i++) {
        long lc = col_given(&r->opt, i);
        size_t j;
        if (!resolve_col(lc, count, &j))
            return mlp_fail(MLP_ERR_FORMAT,
                            "%s:%zu:%zu: label column %ld (0-based%s) is out of range: the row has "
                            "%zu columns",
                            r->path, r->lineno, lc >= 0 ? (size_t)lc + 1 : count, lc,
                            lc < 0 ? ", from the end" : "", count);
    }
    r->ncols = count;
    r->first_line = r->lineno;
    return set_up_columns(r, count);
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

/* The row's features: its columns that are not labels, targets or the weight. */
static void push_features(csv_reader *r) {
    float *x = r->ds.X + r->ds.n * r->ds.d;
    for (size_t j = 0, k = 0; j < r->ncols; j++)
        if (!r->not_feature[j]) x[k++] = (float)r->row[j];
}

/* Targets mode: the row's targets (multi-label ones checked to be 0 or 1). */
static mlp_status push_targets(csv_reader *r) {
    float *y = r->ds.targets + r->ds.n * r->n_t;
    for (size_t i = 0; i < r->n_t; i++) {
        double t = r->row[r->tcols[i]];
        if (r->opt.multilabel && t != 0.0 && t != 1.0)
            return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:%zu: multi-label target '%.*s' is not 0 or 1",
                            r->path, r->lineno, r->tcols[i] + 1, CSV_SHOW, r->texts[r->tcols[i]]);
        y[i] = (float)t;
    }
    return MLP_OK;
}

/* The row's sample weight (a number, as every non-label field): >= 0. */
static mlp_status push_weight(csv_reader *r) {
    const double w = r->row[r->weight_col];
    if (w < 0.0)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:%zu: the weight %.*s is negative (sample weights are >= 0)",
                        r->path, r->lineno, r->weight_col + 1, CSV_SHOW, r->texts[r->weight_col]);
    r->ds.weights[r->ds.n] = w == 0.0 ? 0.0f : (float)w; /* -0 as 0 */
    return MLP_OK;
}

/* Appends the parsed row (r->row, ncols values) to the dataset. */
static mlp_status push_row(csv_reader *r) {
    mlp_status st = grow_rows(r);
    if (st == MLP_OK && r->has_w) st = push_weight(r);
    if (st == MLP_OK)
        st = r->targets ? push_targets(r) : push_label_text(r, r->texts[r->label_col]);
    if (st != MLP_OK) return st;
    push_features(r);
    r->ds.n++;
    return MLP_OK;
}

/* Where line [s, end) (line number lineno) starts after a UTF-8 byte order mark, or NULL when it
 * is skipped: within skip_rows, blank, or a comment. */
static char *line_content(const csv_reader *r, char *s, char *end, size_t lineno) {
    if (lineno == 1 && end - s >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3; /* UTF-8 byte order mark */
    if (lineno <= r->opt.skip_rows) return NULL;
    const char *t = s;
    while (t < end && is_blank(*t)) t++;
    if (t == end || (r->opt.comment && *t == r->opt.comment)) return NULL;
    return s;
}

/* The header's count fields (in r->texts): where the weight column's name is, if one is given. */
static mlp_status find_weight_name(csv_reader *r, size_t count) {
    const char *name = r->opt.weight_column_name;
    if (!name) return MLP_OK;
    for (size_t j = 0; j < count; j++)
        if (strcmp(r->texts[j], name) == 0) {
            r->weight_col = j;
            return MLP_OK;
        }
    return mlp_fail(MLP_ERR_FORMAT, "%s:%zu:1: no column '%.*s' in the header (for the weights)",
                    r->path, r->lineno, CSV_SHOW, name);
}

/* The first data line [s, end), after a header or none. */
static mlp_status first_line(csv_reader *r, char *s, char *end) {
    size_t count = 0;
    const bool first = !r->seen_first;
    r->seen_first = 1;
    if (first && r->opt.header == 1 && !r->opt.weight_column_name) {
        r->header_line = r->lineno;
        r->header_cols = mlp_csv_count_fields(s, end, r->delim);
        return MLP_OK;
    }
    mlp_status st = split_line(r, s, end, 0, &count);
    if (st != MLP_OK) return st;
    if (first && r->opt.header == 1) { /* its names are needed */
        r->header_line = r->lineno;
        r->header_cols = count;
        return find_weight_name(r, count);
    }
    find_foreign(r, count); /* "−0.1", "1_000", "0x10": numbers, so never a header's names */
    if (r->bad_col) return field_error(r, count);
    if (first && r->opt.header == -1 && any_text(r, count)) { /* a feature is text: a header */
        r->header_line = r->lineno;
        r->header_cols = count;
        r->header_number = r->kinds[0] == FIELD_NUMBER;
        return find_weight_name(r, count);
    }
    if (first && r->opt.header == -1 && !columns_fit(r, count)) {
        r->header_line = r->lineno; /* too narrow for the label column: a count header */
        r->header_cols = count;
        r->header_number = r->kinds[0] == FIELD_NUMBER;
        return find_weight_name(r, count);
    }
    find_bad(r, count);
    if (r->bad_col) return field_error(r, count);
    if ((st = first_data_row(r, count)) != MLP_OK) return st;
    r->first_label_text =
        first && r->opt.header == -1 && !r->targets && r->kinds[r->label_col] == FIELD_TEXT;
    return push_row(r);
}

/* Auto header: the first line was read as data, but the second has at least twice its fields, or
 * more fields when the first ended in text ("150,setosa"): the first was a count header. Forgets
 * it. */
static void first_row_was_header(csv_reader *r) {
    r->header_line = r->first_line;
    r->header_cols = r->ncols;
    r->header_number = true; /* every field of it was read as data */
    r->ncols = 0;
    r->ds.n = 0;
    r->ltext_len = 0;
    r->first_label_text = 0;
    r->cap_rows = 0; /* the rows are re-sized for the new width (realloc keeps the blocks) */
}

/* Handles the complete current line (r->line, r->line_len). */
static mlp_status process_line(csv_reader *r) {
    char *end = r->line + r->line_len;
    *end = '\0';
    char *s = line_content(r, r->line, end, r->lineno);
    if (!s) return MLP_OK;
    if (r->ncols && r->ds.n == 1 && r->opt.header == -1 && !r->header_line) {
        size_t n2 = mlp_csv_count_fields(s, end, r->delim); /* "1797,64" over 65 columns */
        if (n2 >= 2 * r->ncols || (n2 > r->ncols && r->first_label_text)) first_row_was_header(r);
    }
    if (r->ncols == 0) return first_line(r, s, end);
    size_t count = 0;
    mlp_status st = split_line(r, s, end, r->ncols, &count);
    if (st != MLP_OK) return st;
    find_bad(r, count);
    if (r->bad_col && (count == r->ncols || r->bad_kind == FIELD_BAD_QUOTE))
        return field_error(r, count);
    if (count != r->ncols)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:%zu: the row has %s%zu fields, expected %zu (as on line %zu)",
                        r->path, r->lineno, (count < r->ncols ? count : r->ncols) + 1,
                        count < r->ncols ? "" : "at least ", count, r->ncols, r->first_line);
    return push_row(r);
}

/* ---- delimiter detection: the first data lines wait in r->stash ---- */

/* Decides the delimiter from the stashed lines, then handles them. */
static mlp_status finish_detect(csv_reader *r) {
    const char *lines[CSV_DETECT_LINES];
    size_t lens[CSV_DETECT_LINES];
    for (size_t i = 0; i < r->n_stash; i++) {
        char *a = r->stash + r->stash_off[i], *e = a + r->stash_size[i];
        lines[i] = line_content(r, a, e, r->stash_line[i]);
        lens[i] = (size_t)(e - lines[i]);
    }
    r->delim = mlp_csv_detect_delimiter(lines, lens, r->n_stash);
    const size_t lineno = r->lineno;
    mlp_status st = MLP_OK;
    for (size_t i = 0; i < r->n_stash && st == MLP_OK; i++) {
        size_t len = r->stash_size[i];
        memcpy(r->line, r->stash + r->stash_off[i], len + 1); /* line_cap >= any line's */
        r->line_len = len;
        r->lineno = r->stash_line[i];
        st = process_line(r);
    }
    r->lineno = lineno;
    r->n_stash = 0;
    return st;
}

/* Keeps the current line (a data line) for detection; detects after CSV_DETECT_LINES. */
static mlp_status stash_line(csv_reader *r) {
    size_t len = r->line_len + 1;
    if (len > r->stash_cap - r->stash_len) {
        size_t nc = r->stash_cap ? r->stash_cap : 4096;
        while (nc - r->stash_len < len)
            if (!mlp_mul_ok(nc, 2, &nc))
                return mlp_fail(MLP_ERR_OVERFLOW, "%s:%zu: lines too long", r->path, r->lineno);
        char *t = realloc(r->stash, nc);
        if (!t) return mlp_fail(MLP_ERR_NOMEM, "%s:%zu: out of memory", r->path, r->lineno);
        r->stash = t;
        r->stash_cap = nc;
    }
    r->line[r->line_len] = '\0';
    memcpy(r->stash + r->stash_len, r->line, len);
    r->stash_off[r->n_stash] = r->stash_len;
    r->stash_size[r->n_stash] = r->line_len;
    r->stash_line[r->n_stash++] = r->lineno;
    r->stash_len += len;
    return r->n_stash == CSV_DETECT_LINES ? finish_detect(r) : MLP_OK;
}

/* c separates fields: the delimiter, or (not yet detected) any usual one. */
static bool ends_field(const csv_reader *r, char c) {
    if (r->delim == CSV_WHITESPACE) return c == ' ' || c == '\t';
    if (r->delim) return c == r->delim;
    return c == ',' || c == ';' || c == '\t' || c == ' ';
}

/* Follows the quotes of the line read so far (only a quote at the start of a field opens one,
 * as RFC 4180 has it; "" inside is a quote), so that a line end inside quotes is data. */
static void track_quotes(csv_reader *r, char c) {
    if (r->in_quotes) {
        if (c == '"') {
            r->in_quotes = false;
            r->closed = true;
        }
        return;
    }
    if (c == '"' && (r->field_start || r->closed)) {
        r->in_quotes = true;
        r->closed = false;
        return;
    }
    r->closed = false;
    if (ends_field(r, c))
        r->field_start = true;
    else if (!is_blank(c))
        r->field_start = false;
}

/* Bytes no text file holds: NUL, the C0 controls other than tab, the line ends, vertical tab and
 * form feed, and DEL. */
static bool binary_byte(unsigned char c) {
    return c < 0x20 ? c < '\t' || c > '\r' : c == 0x7F;
}

/* Binary data read as CSV would otherwise fail later on a confusing field. */
static mlp_status not_text(const csv_reader *r, unsigned char c) {
    const size_t line = r->lineno + r->extra_lines;
    if (c == 0)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s:%zu:%zu: NUL byte: the file does not look like text (binary data, or "
                        "UTF-16: save it as UTF-8)",
                        r->path, line, r->field_no);
    return mlp_fail(MLP_ERR_FORMAT,
                    "%s:%zu:%zu: control character 0x%02x: the file does not look like text",
                    r->path, line, r->field_no, (unsigned)c);
}

/* Appends bytes [p, p + len) (no line end among them, unless inside quotes) to the current line. */
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
    char *dst = r->line + r->line_len;
    for (size_t i = 0; i < len; i++) {
        if (binary_byte(p[i])) return not_text(r, p[i]);
        char c = (char)p[i];
        dst[i] = c;
        track_quotes(r, c);
        if (!r->in_quotes && ends_field(r, c)) {
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
    mlp_status st = MLP_OK;
    if (r->delim == 0 && line_content(r, r->line, r->line + r->line_len, r->lineno))
        st = stash_line(r); /* a data line, while the delimiter is not known */
    else
        st = process_line(r);
    r->line_len = 0;
    r->field_len = 0;
    r->field_no = 1;
    r->lineno += 1 + r->extra_lines;
    r->extra_lines = 0;
    r->in_quotes = r->closed = false;
    r->field_start = true;
    return st;
}

static mlp_status check_options(const mlp_csv_options *o, const char *path) {
    if (o->header < -1 || o->header > 1)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): header must be -1, 0 or 1 (got %d)", path,
                        o->header);
    if (o->regression != 0 && o->regression != 1)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): regression must be 0 or 1 (got %d)", path,
                        o->regression);
    if ((o->multilabel != 0 && o->multilabel != 1) || (o->multilabel && o->regression))
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_read_csv(%s): multilabel must be 0 or 1, and not with "
                        "regression",
                        path);
    if (o->n_label_columns && !o->label_columns)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): label_columns is NULL", path);
    if (o->n_label_columns > 1 && !o->regression && !o->multilabel)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_read_csv(%s): %zu label columns need regression or multilabel", path,
                        o->n_label_columns);
    for (size_t i = 0; i < o->n_label_columns; i++)
        for (size_t j = 0; j < i; j++)
            if (o->label_columns[i] == o->label_columns[j])
                return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): label column %ld given twice", path,
                                o->label_columns[i]);
    char c = o->delimiter;
    if (c == '\n' || c == '\r' || c == '"' || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
        c == '-' || c == 'e' || c == 'E')
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): invalid delimiter 0x%02x", path,
                        (unsigned)(unsigned char)c);
    char m = o->comment;
    if (m && (m == c || m == '\n' || m == '"' || m == ' ' || m == '\t' || (m >= '0' && m <= '9') ||
              m == '.' || m == '+' || m == '-'))
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): invalid comment character 0x%02x", path,
                        (unsigned)(unsigned char)m);
    if (!o->regression && !o->multilabel && o->classes &&
        (unsigned)o->classes->kind >= MLP_CLASSES_COUNT)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): unknown class list kind %d", path,
                        (int)o->classes->kind);
    if (o->weight_column_name && (!o->weight_column_name[0] || o->header == 0))
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_read_csv(%s): weight_column_name must be a name, and needs a header "
                        "(header 1 or -1)",
                        path);
    if (!o->regression && o->max_classes < 1)
        return mlp_fail(MLP_ERR_ARG, "mlp_read_csv(%s): max_classes must be >= 1 (got %ld)", path,
                        (long)o->max_classes);
    return MLP_OK;
}

static void reader_free(csv_reader *r) {
    free(r->tcols);
    free(r->not_feature);
    free(r->stash);
    free(r->line);
    free(r->row);
    free(r->kinds);
    free(r->texts);
    free(r->ltext);
    free(r->loff);
    free(r->lline);
    mlp_dataset_free(&r->ds);
}

/* Where the next line end of [p, e) is: a LF, or a CR too while a CR may end lines (before the
 * first line end, or in a file of CR line ends); NULL if there is none. */
static const unsigned char *next_eol(const csv_reader *r, const unsigned char *p,
                                     const unsigned char *e) {
    if (r->eol == '\n') return memchr(p, '\n', (size_t)(e - p));
    for (; p < e; p++)
        if (*p == '\n' || *p == '\r') return p;
    return NULL;
}

/* The byte after the pending CRs is c (-1: the end of the file). Before a LF they are the blanks of
 * a CRLF (or CR CR LF) line end, as they always were; before anything else each ends a line: the
 * file has CR line ends. */
static mlp_status settle_crs(csv_reader *r, int c) {
    const size_t n = r->pending_cr;
    mlp_status st = MLP_OK;
    r->pending_cr = 0;
    if (c == '\n') {
        for (size_t i = 0; i < n && st == MLP_OK; i++)
            st = append_bytes(r, (const unsigned char *)"\r", 1);
        return st;
    }
    if (!r->eol) r->extra_lines += r->quoted_crs;
    r->eol = '\r';
    st = end_line(r);
    r->lineno += n - 1; /* the CRs after the first end blank lines */
    return st;
}

/* The line end c ('\n' or '\r') met outside a line's content. */
static mlp_status line_end(csv_reader *r, char c) {
    if (r->in_quotes) { /* a line end inside quotes is data */
        if (c == '\n' || r->eol == '\r') r->extra_lines++;
        if (c == '\r' && !r->eol) r->quoted_crs++;
        return append_bytes(r, (const unsigned char *)&c, 1);
    }
    if (c == '\r') {
        r->pending_cr = 1;
        return MLP_OK;
    }
    if (!r->eol) r->eol = '\n';
    return end_line(r);
}

/* Feeds the bytes [p, e) through append_bytes and the line ends. */
static mlp_status feed_chunk(csv_reader *r, const unsigned char *p, const unsigned char *e) {
    mlp_status st = MLP_OK;
    while (p < e && st == MLP_OK) {
        if (r->pending_cr && *p == '\r') {
            r->pending_cr++;
            p++;
            continue;
        }
        if (r->pending_cr && (st = settle_crs(r, *p)) != MLP_OK) break;
        const unsigned char *q = next_eol(r, p, e);
        st = append_bytes(r, p, (size_t)((q ? q : e) - p));
        if (st == MLP_OK && q) st = line_end(r, (char)*q);
        p = q ? q + 1 : e;
    }
    return st;
}

/* Feeds the open file f through feed_chunk, one chunk at a time, to its end. */
static mlp_status read_lines(csv_reader *r, mlp_input *f, unsigned char *buf) {
    for (;;) {
        size_t got = 0;
        mlp_status st = mlp_input_read(f, buf, CSV_CHUNK, &got);
        if (st == MLP_OK && got == 0) {
            if (r->pending_cr) st = settle_crs(r, -1);
            if (st == MLP_OK && r->line_len > 0) st = end_line(r); /* a last line without an end */
            return st;
        }
        if (st == MLP_OK) st = feed_chunk(r, buf, buf + got);
        if (st != MLP_OK) return st;
    }
}

/* Opens r->path, reads every line into r and closes it. On failure r may hold buffers
 * (reader_free). */
static mlp_status read_file(csv_reader *r) {
    mlp_input *f = NULL;
    mlp_status st = mlp_input_open(&f, r->path, "file");
    if (st != MLP_OK) return st;
    unsigned char *buf = malloc(CSV_CHUNK);
    r->line_cap = 4096;
    r->line = malloc(r->line_cap);
    if (!buf || !r->line)
        st = mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", r->path);
    else
        st = read_lines(r, f, buf);
    if (st == MLP_OK && r->delim == 0) st = finish_detect(r); /* fewer lines than the sample */
    free(buf);
    mlp_input_close(f);
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
    if (ds->weights) memmove(ds->weights, ds->weights + 1, ds->n * sizeof *ds->weights);
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
    if (!r->targets) {
        mlp_status st = resolve_labels(r);
        if (st != MLP_OK) return st;
    }
    float *x = realloc(ds->X, ds->n * ds->d * sizeof(float));
    if (x) ds->X = x;
    float *w = ds->weights ? realloc(ds->weights, ds->n * sizeof *w) : NULL;
    if (w) ds->weights = w;
    if (r->targets) {
        float *t = realloc(ds->targets, ds->n * r->n_t * sizeof(float));
        if (t) ds->targets = t;
        ds->n_targets = r->n_t;
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
    r.field_start = true;
    r.delim = r.opt.delimiter; /* 0: detected from the first lines */
    r.targets = r.opt.regression || r.opt.multilabel;
    r.has_w = r.opt.weight_column != MLP_CSV_NO_COLUMN || r.opt.weight_column_name;
    st = read_file(&r);
    if (st != MLP_OK) {
        reader_free(&r);
        return st;
    }
    st = take_dataset(&r, out);
    if (st != MLP_OK) reader_free(&r);
    if (st == MLP_OK && r.opt.delimiter_used) *r.opt.delimiter_used = r.delim;
    return st;
}
