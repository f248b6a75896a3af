/* Early stopping's held-out rows for a classifier, drawn class by class as scikit-learn's
 * train_test_split(stratify=y) does (StratifiedShuffleSplit, scikit-learn 1.2): the per-class
 * counts of both sides by its _approximate_mode (the same double arithmetic, so the same counts
 * wherever no two classes tie for a leftover row), the rows of each class drawn at random; and
 * the per-row weights of class weights (mlp_class_weights, compute_sample_weight's arithmetic). */
#include "fit/fit_internal.h"

#include <math.h>
#include <stdlib.h>

/* One class in _approximate_mode's leftover ranking: its remainder, a random key that breaks ties
 * (scikit-learn draws among tied classes with rng.choice), its index. */
typedef struct leftover {
    double rem;
    uint64_t key;
    size_t cls;
} leftover;

static int by_remainder(const void *a, const void *b) {
    const leftover *x = a, *y = b;
    if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
    return x->key < y->key ? -1 : (x->key > y->key ? 1 : 0);
}

/* scikit-learn's _approximate_mode: n_draws spread over the k classes in proportion to counts
 * (floor of counts / total * n_draws), the draws left over one each to the classes with the
 * largest remainders. lo: k scratch entries. */
static void approximate_mode(const size_t *counts, size_t k, size_t total, size_t n_draws,
                             size_t *out, leftover *lo, mlp_rng *rng) {
    size_t floored = 0, m = 0;
    for (size_t c = 0; c < k; c++) {
        const double cont = (double)counts[c] / (double)total * (double)n_draws;
        out[c] = (size_t)floor(cont);
        floored += out[c];
        lo[m++] = (leftover){cont - floor(cont), mlp_rng_next(rng), c};
    }
    size_t need = n_draws > floored ? n_draws - floored : 0;
    qsort(lo, m, sizeof *lo, by_remainder);
    for (size_t i = 0; i < m && need > 0; i++, need--) out[lo[i].cls]++;
}

/* The classes that have rows, their row counts (cnt, k entries, compacted) and each row's index
 * among them (cls_of, n entries); checks scikit-learn's conditions. */
static mlp_status present_classes(const int32_t *labels, size_t n, size_t n_classes, size_t n_val,
                                  size_t *cnt, size_t *map, size_t *k_out) {
    for (size_t c = 0; c < n_classes; c++) map[c] = 0;
    for (size_t i = 0; i < n; i++) map[labels[i]]++;
    size_t k = 0;
    for (size_t c = 0; c < n_classes; c++) {
        if (!map[c]) continue;
        if (map[c] < 2)
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_fit: early stopping's stratified split: The least populated "
                            "class in y has only 1 member, which is too few. The minimum number "
                            "of groups for any class cannot be less than 2. (class index %zu)",
                            c);
        cnt[k] = map[c];
        map[c] = k++;
    }
    if (n - n_val < k)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit: early stopping's stratified split: The train_size = %zu should "
                        "be greater or equal to the number of classes = %zu",
                        n - n_val, k);
    if (n_val < k)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit: early stopping's stratified split: The test_size = %zu should "
                        "be greater or equal to the number of classes = %zu",
                        n_val, k);
    *k_out = k;
    return MLP_OK;
}

/* Scratch of the split: class maps and counts (n_classes each), leftovers, the rows grouped by
 * class (n). */
typedef struct split_scratch {
    size_t *map, *cnt, *n_tr, *n_te, *start, *cur, *rows;
    leftover *lo;
} split_scratch;

static mlp_status scratch_alloc(split_scratch *w, size_t n, size_t n_classes) {
    mlp_status st = MLP_OK;
    const char *what = "mlp_fit: the stratified split";
    w->map = mlp_alloc_array(n_classes, sizeof(size_t), what, &st);
    w->cnt = mlp_alloc_array(n_classes, sizeof(size_t), what, &st);
    w->n_tr = mlp_alloc_array(n_classes, sizeof(size_t), what, &st);
    w->n_te = mlp_alloc_array(n_classes, sizeof(size_t), what, &st);
    w->start = mlp_alloc_array(n_classes + 1, sizeof(size_t), what, &st);
    w->cur = mlp_alloc_array(n_classes, sizeof(size_t), what, &st);
    w->lo = mlp_alloc_array(n_classes, sizeof(leftover), what, &st);
    w->rows = mlp_alloc_array(n, sizeof(size_t), what, &st);
    return st;
}

static void scratch_free(split_scratch *w) {
    free(w->map), free(w->cnt), free(w->n_tr), free(w->n_te), free(w->start), free(w->cur);
    free(w->lo);
    free(w->rows);
}

/* order (n) = the training rows, then the n_val validation rows: per class, its rows shuffled,
 * the first n_tr[c] to training and the next n_te[c] to validation; then each side shuffled (as
 * StratifiedShuffleSplit permutes its train and test lists). */
static void deal_rows(split_scratch *w, const int32_t *labels, size_t n, size_t k, size_t n_val,
                      size_t *order, mlp_rng *rng) {
    w->start[0] = 0;
    for (size_t c = 0; c < k; c++) w->start[c + 1] = w->start[c] + w->cnt[c];
    for (size_t c = 0; c < k; c++) w->cur[c] = w->start[c];
    for (size_t i = 0; i < n; i++) w->rows[w->cur[w->map[labels[i]]]++] = i;
    size_t tr = 0, te = n - n_val;
    for (size_t c = 0; c < k; c++) {
        size_t *seg = w->rows + w->start[c];
        mlp_fit_shuffle(seg, w->cnt[c], rng);
        for (size_t i = 0; i < w->cnt[c]; i++) order[i < w->n_tr[c] ? tr++ : te++] = seg[i];
    }
    mlp_fit_shuffle(order, n - n_val, rng);
    mlp_fit_shuffle(order + (n - n_val), n_val, rng);
}

mlp_status mlp_fit_stratified_split(const int32_t *labels, size_t n, size_t n_classes, size_t n_val,
                                    size_t *order, mlp_rng *rng) {
    split_scratch w = {0};
    mlp_status st = scratch_alloc(&w, n, n_classes);
    size_t k = 0;
    if (st == MLP_OK) st = present_classes(labels, n, n_classes, n_val, w.cnt, w.map, &k);
    if (st == MLP_OK) {
        /* The training side first, the test side from what is left (scikit-learn's order). */
        approximate_mode(w.cnt, k, n, n - n_val, w.n_tr, w.lo, rng);
        for (size_t c = 0; c < k; c++) w.cur[c] = w.cnt[c] - w.n_tr[c];
        approximate_mode(w.cur, k, n_val, n_val, w.n_te, w.lo, rng);
        /* Every class is dealt out whole: n_tr + n_te = cnt (the sides' totals add up to n). */
        deal_rows(&w, labels, n, k, n_val, order, rng);
    }
    scratch_free(&w);
    return st;
}

/* scikit-learn's compute_class_weight('balanced'): n / (n_present * count), in double. */
static mlp_status balanced_weights(const int32_t *labels, size_t n, size_t n_classes, double *cw) {
    mlp_status st = MLP_OK;
    size_t *count = mlp_alloc_array(n_classes, sizeof(size_t), "mlp_class_weights", &st);
    if (st != MLP_OK) return st;
    for (size_t c = 0; c < n_classes; c++) count[c] = 0;
    for (size_t i = 0; i < n; i++) count[labels[i]]++;
    size_t present = 0;
    for (size_t c = 0; c < n_classes; c++) present += count[c] > 0;
    for (size_t c = 0; c < n_classes; c++)
        cw[c] = count[c] ? (double)n / ((double)present * (double)count[c]) : 0.0;
    free(count);
    return MLP_OK;
}

static mlp_status check_class_inputs(const int32_t *labels, size_t n, size_t n_classes,
                                     const double *class_weight, const float *sample_weight) {
    if (n == 0 || n_classes == 0)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_class_weights: n = %zu, n_classes = %zu; each must be > 0", n,
                        n_classes);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= n_classes)
            return mlp_fail(MLP_ERR_ARG, "mlp_class_weights: labels[%zu] = %d, must be in [0, %zu)",
                            i, (int)labels[i], n_classes);
    for (size_t c = 0; class_weight && c < n_classes; c++)
        if (!(class_weight[c] >= 0.0) || !isfinite(class_weight[c]))
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_class_weights: the weight of class %zu is %g, must be finite and "
                            ">= 0",
                            c, class_weight[c]);
    for (size_t i = 0; sample_weight && i < n; i++)
        if (!(sample_weight[i] >= 0.0f) || !isfinite(sample_weight[i]))
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_class_weights: sample_weight[%zu] = %g, must be finite and >= 0",
                            i, (double)sample_weight[i]);
    return MLP_OK;
}

mlp_status mlp_class_weights(const int32_t *labels, size_t n, size_t n_classes,
                             const double *class_weight, const float *sample_weight, double *out) {
    if (!labels || !out)
        return mlp_fail(MLP_ERR_NULL, "mlp_class_weights: %s is NULL", !labels ? "labels" : "out");
    mlp_status st = check_class_inputs(labels, n, n_classes, class_weight, sample_weight);
    if (st != MLP_OK) return st;
    double *own = NULL;
    const double *cw = class_weight;
    if (!class_weight) {
        own = mlp_alloc_array(n_classes, sizeof(double), "mlp_class_weights", &st);
        if (st == MLP_OK) st = balanced_weights(labels, n, n_classes, own);
        cw = own;
    }
    for (size_t i = 0; st == MLP_OK && i < n; i++)
        out[i] = (sample_weight ? (double)sample_weight[i] : 1.0) * cw[labels[i]];
    free(own);
    return st;
}

mlp_status mlp_fit_validation_rows(mlp_task task, const int32_t *labels, size_t n, size_t n_classes,
                                   const mlp_fit_options *o, size_t *rows, size_t *n_val) {
    if (!o || !rows || !n_val || (task == MLP_TASK_CLASSIFY && !labels))
        return mlp_fail(MLP_ERR_NULL, "mlp_fit_validation_rows: %s is NULL",
                        !o       ? "options"
                        : !rows  ? "rows"
                        : !n_val ? "n_val"
                                 : "labels");
    const float f = o->validation_fraction;
    /* fit.c's check_options: scikit-learn's train_test_split rounds the test share up. */
    const size_t nv = f > 0.0f && f < 1.0f ? (size_t)ceil((double)f * (double)n) : 0;
    if (nv == 0 || nv >= n)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit_validation_rows: validation_fraction %g of %zu rows leaves an "
                        "empty side",
                        (double)f, n);
    for (size_t i = 0; task == MLP_TASK_CLASSIFY && i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= n_classes)
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_fit_validation_rows: labels[%zu] = %d, must be in [0, %zu)", i,
                            (int)labels[i], n_classes);
    mlp_rng rng;
    mlp_rng_seed(&rng, mlp_fit_split_seed(o->seed));
    if (task == MLP_TASK_CLASSIFY) {
        mlp_status st = mlp_fit_stratified_split(labels, n, n_classes, nv, rows, &rng);
        if (st != MLP_OK) return st;
    } else {
        for (size_t i = 0; i < n; i++) rows[i] = i;
        mlp_fit_shuffle(rows, n, &rng);
    }
    *n_val = nv;
    return MLP_OK;
}
