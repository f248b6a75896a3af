/* mlp train's sample weights (mlp_fit_options.sample_weight): --sample-weight FILE (one weight
 * per line, in the data file's row order) or --weight-column C (a CSV column, taken out of the
 * features). The weights are read for every row of the data file and then follow the rows into the
 * training set: through the shipped digits split (its row-index files) and through the
 * --test-fraction split (the same permutation, see cli_weights_split). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* One weight from text s (line lineno of path), blanks around it allowed. */
static int parse_weight(const char *path, size_t lineno, char *s, float *w) {
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1])) s[--len] = '\0';
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return cli_error("%s:%zu: empty line (one weight per line)", path, lineno);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s || !isfinite(v) || fabs(v) > FLT_MAX)
        return cli_error("%s:%zu: '%.40s' is not a weight (a finite number >= 0)", path, lineno, s);
    if (v < 0.0) return cli_error("%s:%zu: the weight %s is negative", path, lineno, s);
    *w = (float)v;
    return 0;
}

int cli_weights_read(const char *path, size_t n, float **out) {
    FILE *f = fopen(path, "r");
    if (!f) return cli_error("cannot read the sample weights '%s': %s", path, strerror(errno));
    float *w = malloc((n ? n : 1) * sizeof *w);
    char *line = NULL;
    size_t cap = 0, count = 0, lineno = 0;
    int rc = w ? 0 : cli_error("out of memory for %zu sample weights", n);
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (count == n)
            rc = cli_error("%s:%zu: more weights than the %zu rows of the training data", path,
                           lineno, n);
        else
            rc = parse_weight(path, lineno, line, &w[count++]);
    }
    if (rc == 0 && ferror(f)) rc = cli_error("cannot read the sample weights '%s'", path);
    if (rc == 0 && count < n)
        rc = cli_error("%s: %zu weights for the %zu rows of the training data (one weight per "
                       "line, in the data file's row order)",
                       path, count, n);
    free(line);
    fclose(f);
    if (rc) free(w);
    if (rc == 0) *out = w;
    return rc;
}

/* ---- --weight-column ---- */

/* The first content line of a CSV file (after skip_rows, blank and '#' lines, a byte order mark)
 * into buf; plain or gzip. 0 if there is none. */
static int first_line(const char *path, size_t skip_rows, char *buf, int cap) {
    gzFile g = gzopen(path, "rb");
    if (!g) return 0;
    int found = 0;
    for (size_t lineno = 1; !found && gzgets(g, buf, cap); lineno++) {
        char *s = buf;
        if (lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) memmove(s, s + 3, strlen(s + 3) + 1);
        while (*s == ' ' || *s == '\t') s++;
        found = lineno > skip_rows && *s && *s != '\n' && *s != '\r' && *s != '#';
    }
    gzclose(g);
    return found;
}

/* The delimiter of a header line: o's, or (auto) the first of tab, ';', ',' in it, else
 * whitespace. */
static char header_delimiter(const cli_data_opts *o, const char *line) {
    if (o->delimiter != MLP_CSV_DETECT) return o->delimiter;
    if (strchr(line, '\t')) return '\t';
    if (strchr(line, ';')) return ';';
    if (strchr(line, ',')) return ',';
    return ' ';
}

/* Whether field [a, b) of a header is name (quotes and blanks around it ignored). */
static int field_is(const char *a, const char *b, const char *name) {
    while (a < b && isspace((unsigned char)*a)) a++;
    while (b > a && isspace((unsigned char)b[-1])) b--;
    if (b - a >= 2 && *a == '"' && b[-1] == '"') a++, b--;
    return (size_t)(b - a) == strlen(name) && strncmp(a, name, (size_t)(b - a)) == 0;
}

/* *col = the 0-based column of the header field name. Returns 0 or an exit code (printed). */
static int column_by_name(const cli_data_opts *o, const char *name, long *col) {
    static char line[1 << 16];
    if (cli_is_digits(o->data) || o->labels || strcmp(o->data, "-") == 0 ||
        !first_line(o->data, o->skip_rows, line, (int)sizeof line))
        return cli_usage_error("train",
                               "--weight-column %s: a column name needs a CSV file with a header "
                               "(not standard input)",
                               name);
    const char delim = header_delimiter(o, line);
    *col = 0;
    for (const char *p = line;; ++*col) {
        const char *q = p;
        while (*q && *q != '\n' && *q != '\r' &&
               (delim == ' ' ? !isspace((unsigned char)*q) : *q != delim))
            q++;
        if (field_is(p, q, name)) return 0;
        if (!*q || *q == '\n' || *q == '\r') break;
        p = q + 1;
        if (delim == ' ')
            while (*p == ' ' || *p == '\t') p++;
    }
    return cli_error("--weight-column: no column '%s' in the header of '%s'", name, o->data);
}

int cli_weights_parse_column(const char *s, long *col, const char **name) {
    char *end;
    *name = NULL;
    if (strcmp(s, "last") == 0) {
        *col = -1;
        return 0;
    }
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s && !*end && errno == 0) {
        *col = v;
        return 0;
    }
    if (!*s) return cli_usage_error("train", "--weight-column: empty value");
    *name = s; /* resolved against the header when the data is read */
    return 0;
}

/* Column c (negative: from the end) of width columns, or width when out of range. */
static size_t resolve(long c, size_t width) {
    if (c < 0) return (unsigned long)-c <= width ? width - (size_t)-c : width;
    return (size_t)c < width ? (size_t)c : width;
}

/* The feature index of file column j (rows of width columns), given o's label columns; d when j
 * is a label column (*is_label set). */
static size_t feature_index(const cli_data_opts *o, size_t k, size_t width, size_t j,
                            int *is_label) {
    size_t before = 0;
    *is_label = 0;
    for (size_t t = 0; t < k; t++) {
        size_t lj = resolve(k > 1 ? o->label_columns[t] : o->label_column, width);
        if (lj == j) *is_label = 1;
        before += lj < j;
    }
    return j - before;
}

int cli_weights_take_column(const cli_data_opts *o, long col, const char *name, mlp_dataset *ds,
                            float **out) {
    int rc = name ? column_by_name(o, name, &col) : 0;
    if (rc) return rc;
    const size_t k = ds->targets ? ds->n_targets : 1, width = ds->d + k;
    const size_t j = resolve(col, width);
    if (j == width)
        return cli_usage_error("train", "--weight-column %ld: '%s' has %zu columns", col, o->data,
                               width);
    int is_label;
    const size_t f = feature_index(o, k, width, j, &is_label);
    if (is_label)
        return cli_usage_error("train", "--weight-column: column %zu of '%s' is the label column",
                               j, o->data);
    if (ds->d < 2)
        return cli_usage_error("train", "--weight-column: '%s' has no feature column left",
                               o->data);
    float *w = malloc(ds->n * sizeof *w);
    if (!w) return cli_error("out of memory for %zu sample weights", ds->n);
    const size_t d = ds->d;
    for (size_t i = 0; i < ds->n; i++) {
        w[i] = ds->X[i * d + f];
        if (!(w[i] >= 0.0f)) {
            free(w);
            return cli_error("'%s': row %zu: the weight %g (column %zu) is negative", o->data,
                             i + 1, (double)ds->X[i * d + f], j);
        }
        /* The row without column f, moved down in place (rows only shrink). */
        memmove(ds->X + i * (d - 1), ds->X + i * d, f * sizeof(float));
        memmove(ds->X + i * (d - 1) + f, ds->X + i * d + f + 1, (d - f - 1) * sizeof(float));
    }
    ds->d = d - 1;
    *out = w;
    return 0;
}

int cli_weights_drop_column(const cli_data_opts *o, long col, const char *name, mlp_dataset *ds) {
    float *w = NULL;
    int rc = cli_weights_take_column(o, col, name, ds, &w);
    free(w);
    return rc;
}

int cli_weights_subset(const float *w, const size_t *rows, size_t n, float **out) {
    float *s = malloc((n ? n : 1) * sizeof *s);
    if (!s) return cli_error("out of memory for %zu sample weights", n);
    for (size_t i = 0; i < n; i++) s[i] = w[rows[i]];
    *out = s;
    return 0;
}

/* mlp_dataset_split's permutation depends on the row count and the seed alone: splitting a
 * one-column dataset of the weights with the same fraction and seed puts each weight on the side,
 * and at the place, of its row. */
int cli_weights_split(const float *w, size_t n, double fraction, uint64_t seed, float **train_w) {
    mlp_dataset all = {.n = n, .d = 1, .X = (float *)w, .targets = (float *)w, .n_targets = 1};
    mlp_dataset tr = {0}, te = {0};
    mlp_status st = mlp_dataset_split(&all, fraction, seed, &tr, &te);
    if (st != MLP_OK) return cli_lib_error(st, "cannot split the sample weights");
    *train_w = tr.X;
    tr.X = NULL;
    mlp_dataset_free(&tr);
    mlp_dataset_free(&te);
    return 0;
}
