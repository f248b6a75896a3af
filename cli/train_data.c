/* mlp train's data: the training and the test set (--test-data, the shipped digits split, or a
 * --test-fraction split of --data), the sample weights following their rows (they are
 * mlp_dataset.weights of the file as read: --weight-column's, or --sample-weight's file), the
 * checks that the two sets fit each other, and the scaling. */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void train_data_free(train_data *t) {
    mlp_dataset_free(&t->train);
    mlp_dataset_free(&t->test);
    mlp_dataset_free(&t->val);
    mlp_scaler_free(&t->scaler);
}

/* The training data o failed to read as classes: when it reads as float targets, its label column
 * probably holds them (a label that is not an integer, too many classes), so say so; not for what
 * --regression does not mend (binary data, a bad feature, a label outside a model's classes). */
static void regression_hint(const cli_data_opts *o) {
    if (cli_rank != 0 || o->regression || o->multilabel || o->labels || o->classes ||
        cli_last_lib_status() != MLP_ERR_FORMAT)
        return;
    cli_data_opts ro = *o;
    ro.regression = 1;
    ro.quiet = 1;
    ro.no_notes = 1;
    mlp_dataset ds = {0};
    if (cli_load(&ro, CLI_ROLE_ALL, &ds) == 0)
        fputs("mlp: hint: class labels are integers or text; if the label column holds float "
              "targets, use --regression\n",
              stderr);
    mlp_dataset_free(&ds);
}

/* All rows of the training data file d, with their sample weights. */
static int load_all(const train_options *o, const cli_data_opts *d, mlp_dataset *all) {
    int rc = cli_load(d, CLI_ROLE_ALL, all);
    if (rc == CLI_EXIT_RUNTIME) regression_hint(d);
    if (rc == 0 && o->sample_weight) rc = cli_weights_read(o->sample_weight, all->n, &all->weights);
    return rc;
}

/* --test-data: all of --data trains; the test set's labels must be the training set's classes. */
static int load_test_data(const train_options *o, const cli_data_opts *d, train_data *t) {
    cli_data_opts to = *d;
    to.data = o->test_data;
    to.labels = o->test_labels;
    t->train_label = cli_data_label(d, CLI_ROLE_ALL);
    int rc = load_all(o, d, &t->train);
    if (rc) return rc;
    if (!d->regression && !d->multilabel) to.classes = &t->train.classes;
    return cli_load(&to, CLI_ROLE_TEST, &t->test);
}

/* One side of the shipped digits split of all. */
static int digits_side(const mlp_dataset *all, cli_role role, mlp_dataset *ds) {
    size_t *rows = NULL, n = 0;
    int rc = cli_digits_split_rows(role, all->n, &rows, &n);
    if (rc == 0) {
        mlp_status st = mlp_dataset_subset(all, rows, n, ds);
        if (st != MLP_OK) rc = cli_lib_error(st, "cannot split the digits data");
    }
    free(rows);
    return rc;
}

/* digits without --test-fraction: scikit-learn's train_test_split(test_size=0.2, random_state=42),
 * shipped as row-index files; both sides come from one read of the whole file, so the sample
 * weights (given for its 1797 rows) follow their rows. */
static int load_digits_split(const train_options *o, const cli_data_opts *d, train_data *t) {
    mlp_dataset all = {0};
    t->train_label = cli_data_label(d, CLI_ROLE_TRAIN);
    int rc = load_all(o, d, &all);
    if (rc == 0) rc = digits_side(&all, CLI_ROLE_TRAIN, &t->train);
    if (rc == 0) rc = digits_side(&all, CLI_ROLE_TEST, &t->test);
    mlp_dataset_free(&all);
    return rc;
}

/* --data split by --test-fraction (seeded with --seed), or all of it for training with 0. */
static int load_fraction_split(const train_options *o, const cli_data_opts *d, train_data *t) {
    mlp_dataset all = {0};
    t->train_label = cli_data_label(d, CLI_ROLE_ALL);
    int rc = load_all(o, d, &all);
    if (rc == 0 && o->test_fraction == 0.0) {
        t->train = all;
        return 0;
    }
    if (rc == 0) {
        mlp_status st = mlp_dataset_split(&all, o->test_fraction, o->fit.seed, &t->train, &t->test);
        if (st != MLP_OK)
            rc = cli_lib_error(st, "cannot split %s into train and test sets", t->train_label);
    }
    mlp_dataset_free(&all);
    return rc;
}

/* The test set fits the training set; the classes (both sets) or target columns. */
static int check_sets(const train_options *o, train_data *t) {
    if (t->test.n && t->test.d != t->train.d)
        return cli_error("the test set has %zu features but the training set has %zu", t->test.d,
                         t->train.d);
    if (o->common.data.regression || o->common.data.multilabel) {
        t->n_classes_or_targets = t->train.n_targets;
        if (t->test.n && t->test.n_targets != t->train.n_targets)
            return cli_error("the test set has %zu targets but the training set has %zu",
                             t->test.n_targets, t->train.n_targets);
        return 0;
    }
    size_t n_classes = t->train.n_classes;
    if (n_classes < 2) {
        char only[64] = "";
        mlp_classes_name(&t->train.classes, 0, only, sizeof only);
        return cli_error("%s: classification needs at least 2 classes, every label is '%s'; use "
                         "--regression for float targets",
                         t->train_label, only);
    }
    t->n_classes_or_targets = n_classes;
    return 0;
}

/* A scaler of kind fitted on the training set (or the one loaded), applied to both sets. */
static int scale_sets(mlp_scale_kind kind, int scaler_loaded, train_data *t) {
    if (kind == MLP_SCALE_NONE) return 0;
    mlp_status st = MLP_OK;
    if (!scaler_loaded) st = mlp_scaler_fit(&t->scaler, kind, t->train.X, t->train.n, t->train.d);
    if (st == MLP_OK) st = mlp_scaler_apply(&t->scaler, t->train.X, t->train.n, t->train.d);
    if (st == MLP_OK && t->test.n)
        st = mlp_scaler_apply(&t->scaler, t->test.X, t->test.n, t->test.d);
    if (st == MLP_OK && t->val.n) st = mlp_scaler_apply(&t->scaler, t->val.X, t->val.n, t->val.d);
    if (st != MLP_OK) return cli_lib_error(st, "cannot scale the data");
    return 0;
}

/* --validation-data: read as --test-data is (the training set's classes), checked against the
 * training set. */
static int load_validation(const train_options *o, const cli_data_opts *d, train_data *t) {
    cli_data_opts vo = *d;
    vo.data = o->validation_data;
    vo.labels = o->validation_labels;
    if (!d->regression && !d->multilabel) vo.classes = &t->train.classes;
    int rc = cli_load(&vo, CLI_ROLE_TEST, &t->val);
    if (rc) return rc;
    if (t->val.d != t->train.d)
        return cli_error("the validation set has %zu features but the training set has %zu",
                         t->val.d, t->train.d);
    if ((d->regression || d->multilabel) && t->val.n_targets != t->train.n_targets)
        return cli_error("the validation set has %zu targets but the training set has %zu",
                         t->val.n_targets, t->train.n_targets);
    return 0;
}

/* One LABEL:W of --class-weight into cw (the class's index in the training set's classes; the
 * last ':' separates, so a label may hold ':'). */
static int class_weight_item(const char *item, size_t len, const mlp_classes *c, size_t n_classes,
                             double *cw) {
    char buf[256];
    if (len >= sizeof buf) return cli_error("--class-weight: '%.40s...' is too long", item);
    memcpy(buf, item, len);
    buf[len] = '\0';
    char *colon = strrchr(buf, ':');
    if (!colon) return cli_error("--class-weight: '%s' is not LABEL:WEIGHT (or 'balanced')", buf);
    *colon = '\0';
    size_t idx = 0;
    if (!mlp_classes_find(c, buf, &idx) || idx >= n_classes)
        return cli_error("--class-weight: '%s' is not a class of the training data", buf);
    char *end = NULL;
    errno = 0;
    const double w = strtod(colon + 1, &end);
    if (end == colon + 1 || *end != '\0' || errno || !isfinite(w) || w < 0.0)
        return cli_error("--class-weight: the weight of class '%s' is '%s', must be a finite "
                         "number >= 0",
                         buf, colon + 1);
    cw[idx] = w;
    return 0;
}

/* --class-weight: the training rows' sample weights become (their weight or 1) times their
 * class's (mlp_class_weights: scikit-learn's arithmetic, in double, rounded once). */
static int apply_class_weight(const train_options *o, train_data *t) {
    mlp_dataset *tr = &t->train;
    const size_t k = t->n_classes_or_targets;
    double *cw = NULL, *rows = malloc(tr->n * sizeof *rows);
    int rc = rows ? 0 : cli_error("out of memory");
    if (rc == 0 && strcmp(o->class_weight, "balanced") != 0) {
        cw = malloc(k * sizeof *cw);
        if (!cw) rc = cli_error("out of memory");
        for (size_t c = 0; rc == 0 && c < k; c++) cw[c] = 1.0; /* unnamed classes */
        for (const char *p = o->class_weight; rc == 0 && p;) {
            const char *comma = strchr(p, ',');
            rc = class_weight_item(p, comma ? (size_t)(comma - p) : strlen(p), &tr->classes, k, cw);
            p = comma ? comma + 1 : NULL;
        }
    }
    if (rc == 0 && !tr->weights) {
        tr->weights = malloc(tr->n * sizeof *tr->weights);
        for (size_t i = 0; tr->weights && i < tr->n; i++) tr->weights[i] = 1.0f;
        if (!tr->weights) rc = cli_error("out of memory");
    }
    if (rc == 0) {
        mlp_status st = mlp_class_weights(tr->labels, tr->n, k, cw, tr->weights, rows);
        if (st != MLP_OK) rc = cli_lib_error(st, "--class-weight");
    }
    for (size_t i = 0; rc == 0 && i < tr->n; i++) tr->weights[i] = (float)rows[i];
    free(cw);
    free(rows);
    return rc;
}

int train_load_data(const train_options *o, const mlp_classes *classes, mlp_scale_kind kind,
                    int scaler_loaded, train_data *t) {
    cli_data_opts d = o->common.data;
    if (classes && classes->kind != MLP_CLASSES_NONE) d.classes = classes;
    int rc;
    if (o->test_data)
        rc = load_test_data(o, &d, t);
    else if (cli_is_digits(d.data) && !d.labels && !o->test_fraction_given)
        rc = load_digits_split(o, &d, t);
    else
        rc = load_fraction_split(o, &d, t);
    if (rc == 0) rc = check_sets(o, t);
    if (rc == 0 && o->validation_data) rc = load_validation(o, &d, t);
    if (rc == 0 && o->class_weight) rc = apply_class_weight(o, t);
    if (rc == 0) rc = scale_sets(kind, scaler_loaded, t);
    return rc;
}
