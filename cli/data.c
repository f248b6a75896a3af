/* Loading datasets for the commands: the shipped digits set (with scikit-learn's
 * train_test_split(test_size=0.2, random_state=42) split stored as row-index files), CSV files
 * (plain or gzip) and IDX image/label pairs. Errors are printed here ("mlp: cannot read ...") and
 * the exit code returned. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where the digits data is when $MLP_DATA_DIR is not set (cli/CMakeLists.txt sets both):
 * MLP_DATA_DIR_FROM_EXE, relative to the folder of the running executable (or absolute), is the
 * installed tree's share/mlp/data; MLP_DATA_DIR is the fallback, the source tree's data/ folder,
 * which the build tree's binary uses. */
#ifndef MLP_DATA_DIR
#define MLP_DATA_DIR "data"
#endif

#ifdef MLP_DATA_DIR_FROM_EXE
#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* The folder MLP_DATA_DIR_FROM_EXE names from this executable, if it holds the digits data; else
 * an empty string. Looked up once. /proc/self/exe is the executable's canonical path (no
 * symbolic links, no dot components), so each leading "../" of the relative path just drops the
 * last folder of it. */
static const char *installed_data_dir(void) {
    static char dir[PATH_MAX + sizeof MLP_DATA_DIR_FROM_EXE];
    static int looked;
    if (looked) return dir;
    looked = 1;
    const char *rel = MLP_DATA_DIR_FROM_EXE;
    if (rel[0] == '/') {
        snprintf(dir, sizeof dir, "%s", rel);
    } else {
        ssize_t len = readlink("/proc/self/exe", dir, PATH_MAX - 1);
        if (len <= 0) return dir; /* still "" */
        dir[len] = '\0';
        char *end = strrchr(dir, '/'); /* end of the executable's folder */
        while (end && strncmp(rel, "../", 3) == 0) {
            *end = '\0';
            end = strrchr(dir, '/');
            rel += 3;
        }
        if (!end) {
            dir[0] = '\0';
            return dir;
        }
        strcpy(end + 1, rel); /* fits: dir has room for PATH_MAX + the define */
    }
    char digits[sizeof dir + 16];
    snprintf(digits, sizeof digits, "%s/digits.csv.gz", dir);
    if (access(digits, R_OK) != 0) dir[0] = '\0';
    return dir;
}
#endif

const char *cli_data_dir(void) {
    const char *env = getenv("MLP_DATA_DIR");
    if (env && env[0]) return env;
#ifdef MLP_DATA_DIR_FROM_EXE
    const char *installed = installed_data_dir();
    if (installed[0]) return installed;
#endif
    return MLP_DATA_DIR;
}

static mlp_status read_status = MLP_OK;

mlp_status cli_last_read_status(void) {
    return read_status;
}

static int quiet_failure(mlp_status st) {
    read_status = st;
    return CLI_EXIT_RUNTIME;
}

int cli_is_digits(const char *data) {
    return data && strcmp(data, "digits") == 0;
}

const char *cli_data_label(const cli_data_opts *o, cli_role role) {
    static char buf[4200];
    if (cli_is_digits(o->data)) {
        return role == CLI_ROLE_TRAIN  ? "digits (shipped rs42 train split)"
               : role == CLI_ROLE_TEST ? "digits (shipped rs42 test split)"
                                       : "digits";
    }
    if (o->labels)
        snprintf(buf, sizeof buf, "%s + %s", o->data, o->labels);
    else
        snprintf(buf, sizeof buf, "%s", o->data);
    return buf;
}

/* The path of the digits split file of role into path. */
static void split_path(char *path, size_t cap, cli_role role) {
    snprintf(path, cap, "%s/digits_split_rs42_%s.txt", cli_data_dir(),
             role == CLI_ROLE_TRAIN ? "train" : "test");
}

int cli_digits_split_rows(cli_role role, size_t n, size_t **rows, size_t *count) {
    char path[4200];
    split_path(path, sizeof path, role);
    mlp_status st = mlp_read_row_indices(path, n, rows, count);
    if (st != MLP_OK) return cli_lib_error(st, "cannot read the digits split '%s'", path);
    return 0;
}

static int load_digits(const cli_data_opts *o, cli_role role, mlp_dataset *out) {
    const int regression = o->regression;
    const char *dir = cli_data_dir();
    char path[4200];
    mlp_dataset all = {0};
    snprintf(path, sizeof path, "%s/digits.csv.gz", dir);
    mlp_csv_options csv = mlp_csv_options_default();
    csv.header = 0;
    csv.regression = regression;
    csv.classes = o->classes;
    csv.weight_column = o->weight_column; /* by index: digits has no header */
    mlp_status st = mlp_read_csv(path, &csv, &all);
    if (st != MLP_OK && o->quiet) return quiet_failure(st);
    if (st == MLP_ERR_ARG && o->weight_column != MLP_CSV_NO_COLUMN)
        return cli_lib_usage_error("train", "--weight-column");
    if (st != MLP_OK)
        return cli_lib_error(st,
                             "cannot read the digits data '%s' (set MLP_DATA_DIR to the folder "
                             "holding digits.csv.gz)",
                             path);
    if (role == CLI_ROLE_ALL) {
        *out = all;
        return 0;
    }
    split_path(path, sizeof path, role);
    size_t *rows = NULL, n = 0;
    st = mlp_read_row_indices(path, all.n, &rows, &n);
    if (st == MLP_OK) st = mlp_dataset_subset(&all, rows, n, out);
    free(rows);
    if (st == MLP_OK && !regression) out->n_classes = all.n_classes; /* all 10 classes */
    mlp_dataset_free(&all);
    if (st != MLP_OK) return cli_lib_error(st, "cannot read the digits split '%s'", path);
    return 0;
}

/* IDX labels are 0..9 without a list: check them against o->classes (then the dataset gets a
 * copy), else give the dataset the list 0..n_classes-1. */
static int idx_classes(const cli_data_opts *o, mlp_dataset *ds) {
    mlp_status st;
    if (o->classes) {
        for (size_t i = 0; i < ds->n; i++) {
            size_t k;
            char text[16];
            snprintf(text, sizeof text, "%d", (int)ds->labels[i]);
            if (!mlp_classes_find(o->classes, text, &k))
                return cli_error("%s: label %s of image %zu is not one of the %zu classes",
                                 o->labels, text, i, o->classes->n);
            ds->labels[i] = (int32_t)k;
        }
        st = mlp_classes_copy(o->classes, &ds->classes);
        ds->n_classes = o->classes->n;
    } else {
        st = mlp_classes_range(ds->n_classes, &ds->classes);
    }
    if (st != MLP_OK) return cli_lib_error(st, "cannot set the classes of '%s'", o->labels);
    return 0;
}

static char stdin_copy[4096];

static void remove_stdin_copy(void) {
    if (stdin_copy[0]) unlink(stdin_copy);
}

/* The data file of path: for "-", a temporary copy of standard input (made once, removed at
 * exit; error messages show "-"), so that it can be read more than once. NULL after an error
 * (printed). */
static const char *data_path(const char *path) {
    if (strcmp(path, "-") != 0) return path;
    if (stdin_copy[0]) return stdin_copy;
    const char *dir = getenv("TMPDIR");
    snprintf(stdin_copy, sizeof stdin_copy, "%s/mlp-stdin-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(stdin_copy);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd);
        if (fd >= 0) unlink(stdin_copy);
        stdin_copy[0] = '\0';
        cli_error("cannot copy standard input to a temporary file: %s", strerror(e));
        return NULL;
    }
    atexit(remove_stdin_copy);
    char buf[65536];
    size_t k;
    int bad = 0;
    while ((k = fread(buf, 1, sizeof buf, stdin)) > 0) bad |= fwrite(buf, 1, k, f) != k;
    bad |= ferror(stdin);
    bad |= fclose(f) != 0;
    if (bad) {
        cli_error("cannot copy standard input to '%s'", stdin_copy);
        return NULL;
    }
    cli_set_path_alias(stdin_copy, "-");
    return stdin_copy;
}

int cli_load(const cli_data_opts *o, cli_role role, mlp_dataset *out) {
    if (cli_is_digits(o->data) && !o->labels) return load_digits(o, role, out);
    const char *path = data_path(o->data);
    if (!path) return CLI_EXIT_RUNTIME;
    mlp_status st;
    if (o->labels) {
        st = mlp_read_idx(path, o->labels, out);
        if (st != MLP_OK)
            return cli_lib_error(st, "cannot read IDX data '%s' / '%s'", o->data, o->labels);
        int rc = idx_classes(o, out);
        if (rc) mlp_dataset_free(out);
        return rc;
    }
    mlp_csv_options csv = mlp_csv_options_default();
    csv.header = o->header;
    csv.label_column = o->label_column;
    csv.label_columns = o->label_columns;
    csv.n_label_columns = o->n_label_columns;
    csv.multilabel = o->multilabel;
    csv.regression = o->regression;
    csv.classes = o->regression ? NULL : o->classes;
    csv.delimiter = o->delimiter;
    csv.skip_rows = o->skip_rows;
    csv.weight_column = o->weight_column;
    csv.weight_column_name = o->weight_name;
    char used = ',';
    csv.delimiter_used = &used;
    st = mlp_read_csv(path, &csv, out);
    if (st == MLP_OK && o->delimiter == MLP_CSV_DETECT && used != ',' && !o->no_notes)
        cli_note("'%s': detected the delimiter %s (set it with --delimiter)", o->data,
                 used == '\t'  ? "tab"
                 : used == ' ' ? "whitespace (runs of spaces and tabs)"
                               : "';'");
    if (st != MLP_OK && o->quiet) return quiet_failure(st);
    /* A weight column that the file does not have is the option's fault: a usage error. */
    if (st == MLP_ERR_ARG && (o->weight_name || o->weight_column != MLP_CSV_NO_COLUMN))
        return cli_lib_usage_error("train", "--weight-column");
    if (st != MLP_OK) return cli_lib_error(st, "cannot read '%s'", o->data);
    return 0;
}

/* Reads o's data for prediction: numbers in every column (the label columns read as targets);
 * when that fails, with the last column alone as the label (a features-only file of a
 * several-target model); then a text or integer label column (read as classes, ignored). *used
 * receives the options of the read that worked. */
static int load_any_labels(const cli_data_opts *o, mlp_dataset *ds, cli_data_opts *used) {
    cli_data_opts ro = *o;
    ro.regression = 1; /* any number is accepted in the (ignored) label column */
    ro.multilabel = 0;
    ro.classes = NULL;
    ro.quiet = 1;
    *used = ro;
    int rc = cli_load(&ro, CLI_ROLE_TEST, ds);
    if (rc == 0 || o->labels) return rc;
    mlp_status st = cli_last_read_status();
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", mlp_last_error());
    if (ro.n_label_columns) {
        ro.n_label_columns = 0;
        ro.label_columns = NULL;
        ro.label_column = -1;
        *used = ro;
        if (cli_load(&ro, CLI_ROLE_TEST, ds) == 0) return 0;
    }
    ro.regression = 0;
    *used = ro;
    rc = cli_load(&ro, CLI_ROLE_TEST, ds);
    if (rc) return cli_read_error(st, o->data, msg);
    return 0;
}

/* Column c (negative: from the end) of rows of width columns; width itself if out of range. */
static size_t column_index(long c, size_t width) {
    if (c < 0) return (unsigned long)-c <= width ? width - (size_t)-c : width;
    return (size_t)c < width ? (size_t)c : width;
}

/* Features only: the k columns read as targets are features; puts them back in place (rows of
 * d = ds->d + k columns). */
static int put_back_columns(const cli_data_opts *o, size_t d, mlp_dataset *ds) {
    const size_t k = ds->n_targets;
    bool *is_t = calloc(d, sizeof *is_t);
    size_t *which = malloc(d * sizeof *which);
    float *X = malloc(ds->n * d * sizeof *X);
    if (!is_t || !which || !X) {
        free(is_t);
        free(which);
        free(X);
        return cli_error("out of memory for %zu x %zu features", ds->n, d);
    }
    for (size_t t = 0; t < k; t++) {
        size_t j = column_index(k > 1 ? o->label_columns[t] : o->label_column, d);
        if (j < d) is_t[j] = true, which[j] = t;
    }
    for (size_t i = 0; i < ds->n; i++) {
        const float *src = ds->X + i * ds->d;
        for (size_t j = 0, f = 0; j < d; j++)
            X[i * d + j] = is_t[j] ? ds->targets[i * k + which[j]] : src[f++];
    }
    free(is_t);
    free(which);
    free(ds->X);
    ds->X = X;
    ds->d = d;
    return 0;
}

int cli_load_features(const cli_data_opts *o, size_t d, mlp_dataset *out) {
    mlp_dataset ds = {0};
    cli_data_opts used;
    int rc = load_any_labels(o, &ds, &used);
    if (rc) return rc;
    int csv = !o->labels && !cli_is_digits(o->data);
    if (ds.d != d && csv && ds.targets && ds.d + ds.n_targets == d) {
        rc = put_back_columns(&used, d, &ds);
        if (rc) mlp_dataset_free(&ds);
        if (rc) return rc;
    }
    if (ds.d == d) {
        *out = ds;
        return 0;
    }
    size_t have = ds.d, k = ds.targets ? ds.n_targets : 1;
    mlp_dataset_free(&ds);
    if (csv)
        return cli_error("'%s' has %zu columns but the model expects %zu features (give %zu "
                         "feature columns, or %zu with the label column%s)",
                         o->data, have + k, d, d, d + k, k > 1 ? "s" : "");
    return cli_error("%s has %zu features but the model expects %zu",
                     cli_data_label(o, CLI_ROLE_TEST), have, d);
}

static long default_cols[4096];

void cli_default_label_columns(cli_data_opts *o, size_t k) {
    if (k < 2 || o->n_label_columns || o->label_column != -1 || k > 4096) return;
    for (size_t i = 0; i < k; i++) default_cols[i] = -(long)(k - i);
    o->label_columns = default_cols;
    o->n_label_columns = k;
    o->label_column = default_cols[0];
}
