/* fit(): scikit-learn's training recipe end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fit/fit_internal.h"
#include "mlp/data.h"
#include "mlp/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Three well-separated Gaussian-ish blobs in 4-D, labels 0..2. */
static void make_blobs(float *X, int32_t *y, size_t n, uint64_t seed) {
    mlp_rng rng;
    mlp_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % 3);
        for (size_t j = 0; j < 4; j++)
            X[i * 4 + j] = (j == (size_t)y[i] ? 3.0f : 0.0f) + (float)mlp_rng_uniform(&rng) - 0.5f;
    }
}

static const size_t hidden16[] = {16};

static mlp_fit_options small_options(void) {
    mlp_fit_options o = mlp_fit_options_default();
    o.hidden = hidden16;
    o.n_hidden = 1;
    o.max_iter = 300;
    o.seed = 3;
    return o;
}

static void fit_converges(void **state) {
    (void)state;
    enum { N = 150 };
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, N, 1);
    mlp_fit_options o = small_options();
    o.opt.lr = 1e-2f;
    mlp_net *net = NULL;
    mlp_fit_result r;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r), MLP_OK);
    assert_true(r.converged);
    assert_true(r.epochs < o.max_iter);
    assert_true(r.loss_curve[r.epochs - 1] < 0.5f * r.loss_curve[0]);
    assert_float_equal(r.loss, r.loss_curve[r.epochs - 1], 0.0);
    assert_true(r.val_scores == NULL);
    assert_true(r.samples_per_s > 0.0);
    assert_int_equal(r.steps, r.epochs * 1); /* 150 rows: one batch of 150 per epoch */
    double acc;
    assert_int_equal(mlp_score_accuracy(net, X, y, N, &acc), MLP_OK);
    assert_true(acc >= 0.98);
    assert_int_equal(mlp_net_loss(net), MLP_LOSS_SOFTMAX_CE);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

/* The acceptance run: hidden 50, ReLU, Adam, max_iter 500, seed 42 on scikit-learn's rs42 split
 * of the shipped digits set reaches at least 96.5% (scikit-learn itself gets 96.67%). */
static void fit_digits_rs42(void **state) {
    (void)state;
    mlp_dataset all = {0}, train = {0}, test = {0};
    mlp_csv_options csv = mlp_csv_options_default();
    csv.header = 0;
    assert_int_equal(mlp_read_csv(MLP_SOURCE_DIR "/data/digits.csv.gz", &csv, &all), MLP_OK);
    size_t *rows, n;
    assert_int_equal(
        mlp_read_row_indices(MLP_SOURCE_DIR "/data/digits_split_rs42_train.txt", all.n, &rows, &n),
        MLP_OK);
    assert_int_equal(mlp_dataset_subset(&all, rows, n, &train), MLP_OK);
    free(rows);
    assert_int_equal(
        mlp_read_row_indices(MLP_SOURCE_DIR "/data/digits_split_rs42_test.txt", all.n, &rows, &n),
        MLP_OK);
    assert_int_equal(mlp_dataset_subset(&all, rows, n, &test), MLP_OK);
    free(rows);
    static const size_t h50[] = {50};
    mlp_fit_options o = mlp_fit_options_default();
    o.hidden = h50;
    o.max_iter = 500;
    o.seed = 42;
    mlp_net *net = NULL;
    mlp_fit_result r;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, train.X, train.labels, NULL, train.n, train.d,
                             all.n_classes, &o, &r),
                     MLP_OK);
    double acc;
    assert_int_equal(mlp_score_accuracy(net, test.X, test.labels, test.n, &acc), MLP_OK);
    print_message("digits rs42 seed 42: %zu epochs, loss %.6f, test accuracy %.2f%%\n", r.epochs,
                  (double)r.loss, 100 * acc);
    assert_true(acc >= 0.965);
    assert_true(r.converged);
    /* 1437 rows: 7 batches of 200 and one of 37 per epoch, as scikit-learn. */
    assert_int_equal(r.steps, r.epochs * 8);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
    mlp_dataset_free(&all);
    mlp_dataset_free(&train);
    mlp_dataset_free(&test);
}

/* Records the parameters after every epoch, to check which epoch's weights fit() kept. */
typedef struct recorder {
    mlp_net *net;
    float *snaps; /* epochs x n_params */
    size_t epochs, cap;
} recorder;

static int record_epoch(const mlp_epoch_info *info, void *user) {
    recorder *rec = user;
    size_t P = mlp_net_param_count(rec->net);
    assert_true(info->epoch == rec->epochs + 1);
    if (rec->epochs < rec->cap)
        memcpy(rec->snaps + rec->epochs * P, mlp_net_params(rec->net), P * sizeof(float));
    rec->epochs++;
    return 0;
}

static void early_stopping_restores_best(void **state) {
    (void)state;
    enum { N = 300, CAP = 400 };
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, N, 2);
    /* Label noise so that the validation score plateaus and wobbles. */
    for (size_t i = 0; i < N; i += 7) y[i] = (y[i] + 1) % 3;
    mlp_fit_options o = small_options();
    o.early_stopping = 1;
    o.n_iter_no_change = 5;
    o.max_iter = CAP;
    mlp_net *net = NULL;
    /* Create the net first (one epoch) so that the callback can see its parameters. */
    mlp_fit_options first = o;
    first.early_stopping = 0;
    first.max_iter = 1;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &first, NULL), MLP_OK);
    size_t P = mlp_net_param_count(net);
    recorder rec = {.net = net, .snaps = malloc(CAP * P * sizeof(float)), .cap = CAP};
    assert_non_null(rec.snaps);
    o.callback = record_epoch;
    o.user = &rec;
    mlp_fit_result r;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r), MLP_OK);
    assert_int_equal(rec.epochs, r.epochs);
    assert_non_null(r.val_scores);
    size_t best = 0;
    for (size_t e = 1; e < r.epochs; e++)
        if (r.val_scores[e] > r.val_scores[best]) best = e;
    assert_float_equal(r.best_val_score, r.val_scores[best], 0.0);
    /* The net holds the first best epoch's weights, not the last epoch's. */
    assert_memory_equal(mlp_net_params(net), rec.snaps + best * P, P * sizeof(float));
    assert_true(r.converged);
    assert_true(best + 1 < r.epochs);
    assert_memory_not_equal(mlp_net_params(net), rec.snaps + (r.epochs - 1) * P, P * sizeof(float));
    free(rec.snaps);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

/* What the callback saw of each epoch, with the parameters after it. */
typedef struct epoch_log {
    mlp_net *net;
    float *snaps; /* epochs x n_params */
    float val_loss[400], val_score[400], lr[400];
    size_t epochs;
} epoch_log;

static int log_epoch(const mlp_epoch_info *info, void *user) {
    epoch_log *log = user;
    assert_true(info->epoch == log->epochs + 1 && log->epochs < 400);
    const size_t e = log->epochs++, P = mlp_net_param_count(log->net);
    log->val_loss[e] = info->val_loss;
    log->val_score[e] = info->val_score;
    log->lr[e] = info->lr;
    if (log->snaps) memcpy(log->snaps + e * P, mlp_net_params(log->net), P * sizeof(float));
    return 0;
}

static void free_log(epoch_log *log) {
    free(log->snaps);
    free(log);
}

/* mlp_fit of the blobs (n x 4, 3 classes) with o, logging every epoch's values and weights (at
 * most max_epochs) into the returned log (free_log). The net is made by a first 1-epoch fit, so
 * that the log knows its parameter count before the logged fit starts. */
static epoch_log *logged_fit(mlp_fit_options o, const float *X, const int32_t *y, size_t n,
                             size_t max_epochs, mlp_net **net, mlp_fit_result *r) {
    mlp_fit_options first = o;
    first.early_stopping = 0;
    first.max_iter = 1;
    assert_int_equal(mlp_fit(net, MLP_TASK_CLASSIFY, X, y, NULL, n, 4, 3, &first, NULL), MLP_OK);
    const size_t P = mlp_net_param_count(*net);
    epoch_log *log = calloc(1, sizeof *log);
    assert_non_null(log);
    log->net = *net;
    log->snaps = malloc(max_epochs * P * sizeof(float));
    assert_non_null(log->snaps);
    o.callback = log_epoch;
    o.user = log;
    assert_int_equal(mlp_fit(net, MLP_TASK_CLASSIFY, X, y, NULL, n, 4, 3, &o, r), MLP_OK);
    return log;
}

/* The validation rows mlp_fit holds out: their inputs, one-hot targets, labels and row indices. */
typedef struct val_set {
    float *X, *Y;
    int32_t *labels;
    size_t *rows;
} val_set;

/* The validation rows of the fit's stratified split (fit.c's split_validation, split.c) with
 * the fit's split stream, gathered from the blobs (n x 4, 3 classes). */
static val_set validation_rows(uint64_t seed, const float *X, const int32_t *y, size_t n,
                               size_t n_val) {
    val_set val = {malloc(n_val * 4 * sizeof(float)), malloc(n_val * 3 * sizeof(float)),
                   malloc(n_val * sizeof(int32_t)), malloc(n_val * sizeof(size_t))};
    size_t *order = malloc(n * sizeof *order);
    assert_true(val.X && val.Y && val.labels && val.rows && order);
    mlp_rng rng;
    mlp_rng_seed(&rng, seed ^ 0x5eed5eed5eedULL);
    assert_int_equal(mlp_fit_stratified_split(y, n, 3, n_val, order, &rng), MLP_OK);
    for (size_t i = 0; i < n_val; i++) {
        const size_t row = order[n - n_val + i];
        memcpy(val.X + i * 4, X + row * 4, 4 * sizeof(float));
        for (size_t c = 0; c < 3; c++) val.Y[i * 3 + c] = (int32_t)c == y[row] ? 1.0f : 0.0f;
        val.labels[i] = y[row];
        val.rows[i] = row;
    }
    free(order);
    return val;
}

static void free_val_set(val_set *v) {
    free(v->X);
    free(v->Y);
    free(v->labels);
    free(v->rows);
}

/* The LOSS metric: the curve is the validation data loss of each epoch's weights (checked with
 * mlp_loss_value, alpha 0 so that it has no L2 term), the net gets the first lowest-loss epoch's
 * weights back, and training stops at the first epoch that makes n_iter_no_change + 1 epochs
 * without a fall of tol. */
static void early_stopping_on_val_loss(void **state) {
    (void)state;
    enum { N = 300 };
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, N, 2);
    for (size_t i = 0; i < N; i += 5) y[i] = (y[i] + 1) % 3; /* noise: the val loss turns up */
    mlp_fit_options o = small_options();
    o.early_stopping = 1;
    o.early_stopping_metric = MLP_STOP_LOSS;
    o.n_iter_no_change = 5;
    o.opt.alpha = 0.0f;
    o.opt.lr = 3e-2f;
    mlp_net *net = NULL;
    mlp_fit_result r;
    epoch_log *log = logged_fit(o, X, y, N, 400, &net, &r);
    const size_t P = mlp_net_param_count(net);
    assert_non_null(r.val_losses);
    assert_int_equal(log->epochs, r.epochs);
    const size_t nv = r.n_val;
    val_set val = validation_rows(o.seed, X, y, N, nv);
    /* The stopping rule replayed on the curve. */
    size_t best = 0, count = 0, stop = 0;
    double low = INFINITY;
    for (size_t e = 0; e < r.epochs && !stop; e++) {
        const double v = r.val_losses[e];
        count = v <= low - (double)o.tol ? 0 : count + 1;
        if (v < low) low = v, best = e;
        if (count > o.n_iter_no_change) stop = e + 1;
        assert_float_equal(log->val_loss[e], r.val_losses[e], 0.0);
        assert_float_equal(log->val_score[e], r.val_scores[e], 0.0);
        assert_float_equal(log->lr[e], o.opt.lr, 0.0); /* adam: constant */
    }
    assert_int_equal(stop, r.epochs);
    assert_true(r.converged);
    assert_true(best + 1 < r.epochs);
    assert_float_equal(r.best_val_loss, r.val_losses[best], 0.0);
    assert_memory_equal(mlp_net_params(net), log->snaps + best * P, P * sizeof(float));
    /* The score of the restored weights (with this metric not always the highest score). */
    assert_float_equal(r.best_val_score, r.val_scores[best], 0.0);
    double acc;
    assert_int_equal(mlp_score_accuracy(net, val.X, val.labels, nv, &acc), MLP_OK);
    assert_float_equal(r.best_val_score, acc, 1e-6);
    float loss;
    assert_int_equal(mlp_loss_value(net, val.X, val.Y, nv, &loss), MLP_OK);
    assert_float_equal(loss, r.best_val_loss, 1e-5 * loss);
    /* Every epoch's entry is that epoch's weights' validation loss. */
    for (size_t e = 0; e < r.epochs; e++) {
        assert_int_equal(mlp_net_set_params(net, log->snaps + e * P, P), MLP_OK);
        assert_int_equal(mlp_loss_value(net, val.X, val.Y, nv, &loss), MLP_OK);
        assert_float_equal(loss, r.val_losses[e], 1e-5 * loss);
    }
    free_val_set(&val);
    free_log(log);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

/* Without early stopping there is no validation curve; the callback sees NaN for both values and
 * the learning rate each epoch ran with (invscaling: lr / (samples seen before it + 1)^0.5). */
static void epoch_info_lr_and_no_val(void **state) {
    (void)state;
    enum { N = 60 };
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, N, 8);
    mlp_fit_options o = small_options();
    o.opt.kind = MLP_OPT_SGD;
    o.schedule = MLP_LR_INVSCALING;
    o.opt.lr = 0.1f;
    o.max_iter = 5;
    epoch_log *log = calloc(1, sizeof *log);
    assert_non_null(log);
    o.callback = log_epoch;
    o.user = log;
    mlp_net *net = NULL;
    mlp_fit_result r;
    /* log->net is not needed without snapshots. */
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r), MLP_OK);
    assert_null(r.val_losses);
    assert_null(r.val_scores);
    assert_true(isnan(r.best_val_loss));
    assert_true(isnan(r.best_val_score));
    assert_int_equal(log->epochs, 5);
    for (size_t e = 0; e < 5; e++) {
        assert_true(isnan(log->val_loss[e]) && isnan(log->val_score[e]));
        assert_float_equal(log->lr[e], 0.1 / sqrt((double)(N * e) + 1.0), 1e-7);
    }
    assert_true(log->lr[1] < log->lr[0]);
    free(log);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

/* With sample weights, each epoch's validation score is the weighted accuracy (scikit-learn's
 * score(X, y, sample_weight)) and its loss the weighted mean row loss, computed here row by row;
 * best_val_loss is the curve's minimum under the SCORE metric too. */
static void weighted_validation(void **state) {
    (void)state;
    enum { N = 200 };
    float X[N * 4], w[N];
    int32_t y[N];
    make_blobs(X, y, N, 12);
    for (size_t i = 0; i < N; i += 4) y[i] = (y[i] + 2) % 3;
    mlp_rng rng;
    mlp_rng_seed(&rng, 81);
    for (size_t i = 0; i < N; i++) w[i] = (float)mlp_rng_below(&rng, 4); /* 0, 1, 2 or 3 */
    mlp_fit_options o = small_options();
    o.early_stopping = 1;
    o.validation_fraction = 0.25f;
    o.opt.alpha = 0.0f;
    o.max_iter = 30;
    o.sample_weight = w;
    mlp_net *net = NULL;
    mlp_fit_result r;
    epoch_log *log = logged_fit(o, X, y, N, 30, &net, &r);
    const size_t P = mlp_net_param_count(net);
    const size_t nv = r.n_val;
    int32_t *pred = malloc(nv * sizeof(int32_t));
    assert_non_null(pred);
    val_set val = validation_rows(o.seed, X, y, N, nv);
    int differs = 0;
    float low = INFINITY;
    for (size_t e = 0; e < r.epochs; e++) {
        assert_int_equal(mlp_net_set_params(net, log->snaps + e * P, P), MLP_OK);
        assert_int_equal(mlp_predict_labels(net, val.X, nv, pred), MLP_OK);
        double hit = 0, all = 0, plain = 0, lsum = 0;
        for (size_t i = 0; i < nv; i++) {
            float li;
            assert_int_equal(mlp_loss_value(net, val.X + i * 4, val.Y + i * 3, 1, &li), MLP_OK);
            hit += pred[i] == val.labels[i] ? w[val.rows[i]] : 0.0;
            plain += pred[i] == val.labels[i];
            all += w[val.rows[i]];
            lsum += (double)w[val.rows[i]] * li;
        }
        assert_float_equal(r.val_scores[e], hit / all, 1e-6);
        assert_float_equal(r.val_losses[e], lsum / all, 1e-5 * lsum / all);
        differs |= fabs(plain / (double)nv - hit / all) > 1e-3;
        if (r.val_losses[e] < low) low = r.val_losses[e];
    }
    assert_true(differs); /* the weights did change the score */
    assert_float_equal(r.best_val_loss, low, 0.0);
    free_val_set(&val);
    free(pred);
    free_log(log);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

/* The weighted scores are scikit-learn's: integer weights equal repeated rows, zero weights
 * dropped ones (accuracy, subset accuracy and R^2 with its weighted mean). */
static void weighted_scores_repeat_rows(void **state) {
    (void)state;
    /* Rows: out (2 wide), targets; weights 2, 0, 1, 3. */
    const float out[] = {0.9f, 0.2f, 0.1f, 0.8f, 0.6f, 0.7f, 0.3f, 0.1f};
    const float Y[] = {1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.5f};
    const int32_t labels[] = {0, 0, 1, 1};
    const float w[] = {2.0f, 0.0f, 1.0f, 3.0f};
    const size_t rep[] = {0, 0, 2, 3, 3, 3}; /* the rows repeated by weight */
    float out_r[12], Y_r[12];
    int32_t labels_r[6];
    for (size_t i = 0; i < 6; i++) {
        memcpy(out_r + 2 * i, out + 2 * rep[i], 2 * sizeof(float));
        memcpy(Y_r + 2 * i, Y + 2 * rep[i], 2 * sizeof(float));
        labels_r[i] = labels[rep[i]];
    }
    assert_float_equal(mlp_accuracy_of(out, 4, 2, labels, NULL, w),
                       mlp_accuracy_of(out_r, 6, 2, labels_r, NULL, NULL), 1e-12);
    assert_float_equal(mlp_accuracy_of(out, 4, 2, labels, NULL, w), 3.0 / 6.0, 1e-12);
    assert_float_equal(mlp_accuracy_of(out, 4, 2, NULL, Y, w),
                       mlp_accuracy_of(out_r, 6, 2, NULL, Y_r, NULL), 1e-12);
    assert_float_equal(mlp_r2_of(out, Y, w, 4, 2), mlp_r2_of(out_r, Y_r, NULL, 6, 2), 1e-9);
    /* By hand, column 0 (out 0.9 0.1 0.6 0.3, targets 1 1 1 0, weights 2 0 1 3): weighted mean
     * 3/6, ss_tot 6 x 0.25, ss_res 2 x 0.01 + 0.16 + 3 x 0.09 = 0.45: R^2 = 0.7. */
    const float o0[] = {0.9f, 0.1f, 0.6f, 0.3f}, y0[] = {1.0f, 1.0f, 1.0f, 0.0f};
    assert_float_equal(mlp_r2_of(o0, y0, w, 4, 1), 0.7, 1e-6);
    const float zero[] = {0.0f, 0.0f, 0.0f, 0.0f};
    assert_true(isnan(mlp_accuracy_of(out, 4, 2, labels, NULL, zero)));
    assert_true(isnan(mlp_r2_of(out, Y, zero, 4, 2)));
}

/* Warm start continues weights AND optimizer state: 6 + 6 epochs equal 12 epochs in one go. */
static void warm_start_continues(void **state) {
    (void)state;
    enum { N = 120 };
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, N, 4);
    mlp_fit_options o = small_options();
    o.shuffle = 0; /* same batch order in both runs */
    o.batch_size = 32;
    o.n_iter_no_change = 1000;
    o.max_iter = 12;
    mlp_net *once = NULL, *twice = NULL;
    assert_int_equal(mlp_fit(&once, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_OK);
    o.max_iter = 6;
    mlp_fit_result r1, r2;
    assert_int_equal(mlp_fit(&twice, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r1), MLP_OK);
    assert_int_equal(mlp_fit(&twice, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r2), MLP_OK);
    assert_true(r2.loss_curve[0] < r1.loss_curve[0]);
    assert_int_equal(mlp_net_step_count(twice), mlp_net_step_count(once));
    assert_memory_equal(mlp_net_params(twice), mlp_net_params(once),
                        mlp_net_param_count(once) * sizeof(float));
    mlp_fit_result_free(&r1);
    mlp_fit_result_free(&r2);
    mlp_net_free(once);
    mlp_net_free(twice);
}

static void divergence_is_reported(void **state) {
    (void)state;
    enum { N = 90 };
    float X[N * 4], Y[N];
    int32_t y[N];
    make_blobs(X, y, N, 5);
    for (size_t i = 0; i < N; i++) Y[i] = 1e3f * X[i * 4];
    mlp_fit_options o = small_options();
    o.opt.kind = MLP_OPT_SGD;
    o.opt.lr = 1e4f;
    mlp_net *net = NULL;
    mlp_fit_result r;
    mlp_status st = mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, N, 4, 1, &o, &r);
    assert_int_equal(st, MLP_ERR_DIVERGED);
    assert_non_null(strstr(mlp_last_error(), "epoch"));
    assert_non_null(net);
    /* The net keeps the last finite epoch's weights: predictions are finite. */
    for (size_t i = 0; i < mlp_net_param_count(net); i++)
        assert_true(isfinite(mlp_net_params(net)[i]));
    float out[N];
    assert_int_equal(mlp_predict(net, X, N, out), MLP_OK);
    for (size_t i = 0; i < N; i++) assert_true(isfinite(out[i]));
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

static void regression_fits(void **state) {
    (void)state;
    enum { N = 200 };
    float X[N * 2], Y[N];
    mlp_rng rng;
    mlp_rng_seed(&rng, 9);
    for (size_t i = 0; i < N; i++) {
        X[2 * i] = (float)mlp_rng_uniform(&rng) * 2 - 1;
        X[2 * i + 1] = (float)mlp_rng_uniform(&rng) * 2 - 1;
        Y[i] = 2 * X[2 * i] - X[2 * i + 1];
    }
    mlp_fit_options o = small_options();
    o.opt.lr = 1e-2f;
    o.max_iter = 500;
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, N, 2, 1, &o, NULL), MLP_OK);
    double r2;
    assert_int_equal(mlp_score_r2(net, X, Y, N, &r2), MLP_OK);
    assert_true(r2 > 0.98);
    assert_int_equal(mlp_net_loss(net), MLP_LOSS_SQUARED);
    mlp_net_free(net);
}

static void binary_and_multilabel(void **state) {
    (void)state;
    enum { N = 120 };
    float X[N * 4], Y[N * 2];
    int32_t y[N];
    make_blobs(X, y, N, 6);
    for (size_t i = 0; i < N; i++) {
        y[i] = y[i] == 0; /* two classes */
        Y[2 * i] = (float)(y[i]);
        Y[2 * i + 1] = X[i * 4 + 1] > 1.5f;
    }
    mlp_fit_options o = small_options();
    o.opt.lr = 1e-2f;
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 2, &o, NULL), MLP_OK);
    assert_int_equal(mlp_net_output_size(net), 1); /* one logistic unit, as scikit-learn */
    double acc;
    assert_int_equal(mlp_score_accuracy(net, X, y, N, &acc), MLP_OK);
    assert_true(acc >= 0.98);
    mlp_net_free(net);
    net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_MULTILABEL, X, NULL, Y, N, 4, 2, &o, NULL), MLP_OK);
    assert_int_equal(mlp_net_loss(net), MLP_LOSS_LOGISTIC);
    float out[N * 2];
    assert_int_equal(mlp_predict(net, X, N, out), MLP_OK);
    size_t hits = 0;
    for (size_t i = 0; i < 2 * N; i++) hits += (out[i] >= 0.5f) == (Y[i] >= 0.5f);
    assert_true(hits >= (size_t)(0.97 * 2 * N));
    mlp_net_free(net);
}

static int stop_at_three(const mlp_epoch_info *info, void *user) {
    (void)user;
    assert_true(isfinite(info->loss));
    assert_true(isnan(info->val_score));
    return info->epoch == 3;
}

static void callback_stops(void **state) {
    (void)state;
    enum { N = 60 };
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, N, 7);
    mlp_fit_options o = small_options();
    o.callback = stop_at_three;
    mlp_net *net = NULL;
    mlp_fit_result r;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r), MLP_OK);
    assert_int_equal(r.epochs, 3);
    assert_true(r.stopped_by_callback);
    assert_false(r.converged);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

/* SGD schedules: invscaling lowers lr after every epoch; adaptive divides by 5 on a plateau. */
static void sgd_schedules(void **state) {
    (void)state;
    enum { N = 60 };
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, N, 8);
    mlp_fit_options o = small_options();
    o.opt.kind = MLP_OPT_SGD;
    o.schedule = MLP_LR_INVSCALING;
    o.opt.lr = 0.1f;
    o.max_iter = 4;
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_OK);
    mlp_optimizer opt;
    mlp_net_get_optimizer(net, &opt);
    /* After 4 epochs of 60 rows: lr = 0.1 / (240 + 1)^0.5 */
    assert_float_equal(opt.lr, 0.1 / sqrt(241.0), 1e-7);
    mlp_net_free(net);
    net = NULL;
    o.schedule = MLP_LR_ADAPTIVE;
    o.max_iter = 400;
    o.n_iter_no_change = 2;
    o.tol = 1.0f; /* every epoch counts as "no improvement": the rule fires every 3 epochs */
    mlp_fit_result r;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r), MLP_OK);
    mlp_net_get_optimizer(net, &opt);
    assert_true(opt.lr <= 1e-6f);
    assert_true(r.converged);
    /* Epoch 1 always resets the counter (best loss starts at +inf), so the rule first fires at
     * epoch 4, then every 3 epochs. 0.1 / 5^k <= 1e-6 first at k = 8 (after epoch 25); the
     * ninth firing, at epoch 28, stops training. */
    assert_int_equal(r.epochs, 28);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

static void fit_errors(void **state) {
    (void)state;
    enum { N = 30 };
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, N, 10);
    mlp_fit_options o = small_options();
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(NULL, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, NULL, NULL, N, 4, 3, &o, NULL),
                     MLP_ERR_NULL);
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, y, NULL, N, 4, 1, &o, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, 0, 4, 3, &o, NULL), MLP_ERR_ARG);
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 1, &o, NULL), MLP_ERR_ARG);
    y[5] = 3;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "labels[5]"));
    y[5] = 2;
    X[7] = NAN;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "not finite"));
    X[7] = 0.0f;
    o.max_iter = 0;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_ERR_ARG);
    o = small_options();
    o.early_stopping = 1;
    o.validation_fraction = 1.5f;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_ERR_ARG);
    o = small_options();
    o.opt.lr = -1.0f;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_ERR_ARG);
    assert_null(net); /* nothing created on failure */
    /* Warm start with a net of the wrong shape. */
    o = small_options();
    o.max_iter = 1;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_OK);
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N / 2, 2, 3, &o, NULL),
                     MLP_ERR_SHAPE);
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, X, N, 4, 3, &o, NULL), MLP_ERR_ARG);
    mlp_net_free(net);
}

/* n rows of make_blobs, on the heap: the tests below share this set-up. */
typedef struct blobs {
    float *X;   /* n x 4 */
    int32_t *y; /* n labels 0..2 */
} blobs;

static blobs blobs_make(size_t n, uint64_t seed) {
    blobs b = {malloc(n * 4 * sizeof(float)), malloc(n * sizeof(int32_t))};
    assert_non_null(b.X);
    assert_non_null(b.y);
    make_blobs(b.X, b.y, n, seed);
    return b;
}

static void blobs_free(blobs *b) {
    free(b->X);
    free(b->y);
}

/* The task -> output layer mapping, its reverse on the nets mlp_fit builds, and the label rule. */
static void task_output_mapping(void **state) {
    (void)state;
    static const struct {
        mlp_task task;
        size_t count;
        mlp_activation act;
        mlp_loss loss;
        size_t width;
    } cases[] = {
        {MLP_TASK_CLASSIFY, 3, MLP_ACT_SOFTMAX, MLP_LOSS_SOFTMAX_CE, 3},
        {MLP_TASK_CLASSIFY, 2, MLP_ACT_LOGISTIC, MLP_LOSS_LOGISTIC, 1},
        {MLP_TASK_MULTILABEL, 2, MLP_ACT_LOGISTIC, MLP_LOSS_LOGISTIC, 2},
        {MLP_TASK_REGRESS, 1, MLP_ACT_IDENTITY, MLP_LOSS_SQUARED, 1},
        {MLP_TASK_REGRESS, 2, MLP_ACT_IDENTITY, MLP_LOSS_SQUARED, 2},
    };
    enum { N = 60 };
    blobs b = blobs_make(N, 12);
    float Y[N * 2];
    for (size_t i = 0; i < 2 * N; i++) Y[i] = (float)(i % 3 == 0);
    mlp_fit_options o = small_options();
    o.max_iter = 1;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mlp_activation act;
        mlp_loss loss;
        size_t width;
        assert_int_equal(mlp_task_output(cases[c].task, cases[c].count, &act, &loss, &width),
                         MLP_OK);
        assert_int_equal(act, cases[c].act);
        assert_int_equal(loss, cases[c].loss);
        assert_int_equal(width, cases[c].width);
        /* mlp_fit builds exactly that output layer, and mlp_task_of_net reads it back. */
        int32_t two[N];
        for (size_t i = 0; i < N; i++) two[i] = b.y[i] % 2;
        const int32_t *labels = cases[c].count == 2 ? two : b.y;
        mlp_net *net = NULL;
        assert_int_equal(
            mlp_fit(&net, cases[c].task, b.X, labels, Y, N, 4, cases[c].count, &o, NULL), MLP_OK);
        mlp_activation net_act;
        assert_int_equal(mlp_net_layer_shape(net, 1, NULL, NULL, &net_act), MLP_OK);
        assert_int_equal(net_act, act);
        assert_int_equal(mlp_net_loss(net), loss);
        assert_int_equal(mlp_net_output_size(net), width);
        mlp_task task;
        size_t count;
        assert_int_equal(mlp_task_of_net(net, &task, &count), MLP_OK);
        assert_int_equal(task, cases[c].task);
        assert_int_equal(count, cases[c].count);
        mlp_net_free(net);
    }
    assert_int_equal(mlp_task_output(MLP_TASK_MULTILABEL, 1, NULL, NULL, NULL), MLP_OK);
    assert_int_equal(mlp_task_output(MLP_TASK_CLASSIFY, 1, NULL, NULL, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "at least 2 classes"));
    assert_int_equal(mlp_task_output(MLP_TASK_REGRESS, 0, NULL, NULL, NULL), MLP_ERR_ARG);
    assert_int_equal(mlp_task_output(MLP_TASK_COUNT, 3, NULL, NULL, NULL), MLP_ERR_ARG);
    mlp_task task;
    assert_int_equal(mlp_task_of_net(NULL, &task, NULL), MLP_ERR_NULL);
    assert_non_null(strstr(mlp_last_error(), "net is NULL"));

    /* One label rule: argmax with ties to the lowest index; one output: 1 from 0.5 up. */
    const float row[] = {0.1f, 0.7f, 0.7f, 0.2f};
    assert_int_equal(mlp_output_label(row, 4), 1);
    assert_int_equal(mlp_output_label(row + 2, 2), 0);
    const float half = 0.5f, below = 0.49999997f;
    assert_int_equal(mlp_output_label(&half, 1), 1);
    assert_int_equal(mlp_output_label(&below, 1), 0);
    blobs_free(&b);
}

/* The result reports the batch size and the validation split mlp_fit chose. */
static void result_reports_decisions(void **state) {
    (void)state;
    enum { N = 150 };
    blobs b = blobs_make(N, 13);
    static const struct {
        size_t batch_size;
        int early;
        size_t want_batch, want_val;
    } cases[] = {
        {0, 0, 150, 0},    /* auto: min(200, n) */
        {64, 0, 64, 0},    /* as given */
        {0, 1, 112, 38},   /* ceil(25% of 150) held out; auto clipped to the 112 training rows */
        {1000, 1, 112, 38} /* clipped to the training rows */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mlp_fit_options o = small_options();
        o.max_iter = 3;
        o.batch_size = cases[c].batch_size;
        o.early_stopping = cases[c].early;
        o.validation_fraction = 0.25f;
        mlp_net *net = NULL;
        mlp_fit_result r;
        assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, &o, &r), MLP_OK);
        assert_int_equal(r.batch_size, cases[c].want_batch);
        assert_int_equal(r.n_val, cases[c].want_val);
        assert_int_equal(r.n_train, N - cases[c].want_val);
        size_t per_epoch = (r.n_train + r.batch_size - 1) / r.batch_size;
        assert_int_equal(r.steps, r.epochs * per_epoch);
        mlp_fit_result_free(&r);
        mlp_net_free(net);
    }
    blobs_free(&b);
}

/* A warm-start net's weights, step count and optimizer, for comparing before and after. */
typedef struct net_copy {
    float *params;
    size_t count;
    uint64_t steps;
    mlp_optimizer opt;
} net_copy;

static net_copy copy_of(mlp_net *net) {
    net_copy c = {.count = mlp_net_param_count(net), .steps = mlp_net_step_count(net)};
    c.params = malloc(c.count * sizeof(float));
    assert_non_null(c.params);
    assert_int_equal(mlp_net_get_params(net, c.params, c.count), MLP_OK);
    assert_int_equal(mlp_net_get_optimizer(net, &c.opt), MLP_OK);
    return c;
}

static void assert_unchanged(mlp_net *net, const net_copy *c) {
    mlp_optimizer opt;
    assert_int_equal(mlp_net_param_count(net), c->count);
    assert_memory_equal(mlp_net_params(net), c->params, c->count * sizeof(float));
    assert_int_equal(mlp_net_step_count(net), c->steps);
    assert_int_equal(mlp_net_get_optimizer(net, &opt), MLP_OK);
    assert_memory_equal(&opt, &c->opt, sizeof opt);
}

/* A failing warm start leaves the net as it was, even for a failure found after the options'
 * solver would have reset the optimizer state. */
static void bad_option_leaves_net_unchanged(void **state) {
    (void)state;
    enum { N = 30 };
    blobs b = blobs_make(N, 14);
    mlp_fit_options o = small_options();
    o.max_iter = 2;
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, &o, NULL), MLP_OK);
    net_copy before = copy_of(net);
    assert_true(before.steps > 0);

    mlp_fit_options bad = o;
    bad.opt.kind = MLP_OPT_SGD; /* would reset Adam's moments and step count */
    bad.early_stopping = 1;
    bad.validation_fraction = 0.999f; /* all 30 rows held out: no training rows */
    mlp_fit_result r;
    memset(&r, 0xA5, sizeof r);
    mlp_fit_result poison = r;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, &bad, &r),
                     MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "empty side"));
    assert_unchanged(net, &before);
    assert_memory_equal(&r, &poison, sizeof r); /* untouched */

    bad = o;
    bad.opt.kind = MLP_OPT_SGD;
    bad.opt.momentum = 1.5f; /* refused by mlp_net_set_optimizer */
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, &bad, NULL),
                     MLP_ERR_ARG);
    assert_unchanged(net, &before);

    bad = o;
    bad.opt.kind = MLP_OPT_SGD;
    bad.schedule = MLP_LR_COUNT;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, &bad, NULL),
                     MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "schedule"));
    assert_unchanged(net, &before);

    b.y[3] = 7; /* a label outside [0, 3) */
    bad = o;
    bad.opt.kind = MLP_OPT_SGD;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, &bad, NULL),
                     MLP_ERR_ARG);
    assert_unchanged(net, &before);
    free(before.params);
    mlp_net_free(net);
    blobs_free(&b);
}

/* Buffers over the memory cap are MLP_ERR_LIMIT (as everywhere else), not MLP_ERR_NOMEM. */
static void memory_limit_is_limit(void **state) {
    (void)state;
    enum { N = 150 };
    blobs b = blobs_make(N, 15);
    mlp_fit_options o = small_options();
    o.max_iter = 2;
    mlp_net *net = NULL;
    /* The 150 x 3 target matrix (1800 bytes) is the first buffer fit sizes from its input. */
    mlp_set_memory_limit(1024);
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, &o, NULL),
                     MLP_ERR_LIMIT);
    assert_non_null(strstr(mlp_last_error(), "memory limit"));
    assert_null(net);
    mlp_set_memory_limit(0);

    /* Warm start on 6000 rows with 90% held out: the 6000 x 3 targets (72000 bytes) fit under
     * 80000 bytes, but the fit's whole budget (targets, row order, batch, snapshots, the 5400 x 4
     * validation inputs) does not: the limit is on the fit, checked before it allocates. */
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, &o, NULL), MLP_OK);
    net_copy before = copy_of(net);
    enum { BIG = 6000 };
    blobs big = blobs_make(BIG, 16);
    o.early_stopping = 1;
    o.validation_fraction = 0.9f;
    mlp_set_memory_limit(80000);
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, big.X, big.y, NULL, BIG, 4, 3, &o, NULL),
                     MLP_ERR_LIMIT);
    assert_non_null(strstr(mlp_last_error(), "mlp_fit: training needs"));
    assert_non_null(strstr(mlp_last_error(), "data copies"));
    mlp_set_memory_limit(0);
    assert_unchanged(net, &before);

    /* Scoring sizes its n x outputs buffer from n too. */
    mlp_set_memory_limit(100);
    double acc;
    assert_int_equal(mlp_score_accuracy(net, b.X, b.y, N, &acc), MLP_ERR_LIMIT);
    mlp_set_memory_limit(0);
    blobs_free(&big);
    blobs_free(&b);
    free(before.params);
    mlp_net_free(net);
}

/* NULL arguments are named; invscaling that underflows keeps training at the smallest rate. */
static void null_names_and_tiny_lr(void **state) {
    (void)state;
    enum { N = 60 };
    blobs b = blobs_make(N, 17);
    mlp_fit_options o = small_options();
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(NULL, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, &o, NULL),
                     MLP_ERR_NULL);
    assert_non_null(strstr(mlp_last_error(), "net is NULL"));
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, NULL, b.y, NULL, N, 4, 3, &o, NULL),
                     MLP_ERR_NULL);
    assert_non_null(strstr(mlp_last_error(), "X is NULL"));
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, NULL, NULL),
                     MLP_ERR_NULL);
    assert_non_null(strstr(mlp_last_error(), "options is NULL"));

    o.opt.kind = MLP_OPT_SGD;
    o.schedule = MLP_LR_INVSCALING;
    o.power_t = 100.0f; /* lr / 61^100 is 0 as a float */
    o.max_iter = 2;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.y, NULL, N, 4, 3, &o, NULL), MLP_OK);
    mlp_optimizer opt;
    mlp_net_get_optimizer(net, &opt);
    assert_true(opt.lr > 0.0f && opt.lr < 1e-37f);
    double acc;
    assert_int_equal(mlp_score_accuracy(net, b.X, NULL, N, &acc), MLP_ERR_NULL);
    assert_non_null(strstr(mlp_last_error(), "labels is NULL"));
    assert_int_equal(mlp_score_r2(net, b.X, (const float *)b.X, N, NULL), MLP_ERR_NULL);
    assert_non_null(strstr(mlp_last_error(), "r2 is NULL"));
    mlp_net_free(net);
    blobs_free(&b);
}

/* options.dropout sets dropout on every hidden layer of the trained net: the run is
 * reproducible, differs from one without dropout, still learns, and a probability outside [0, 1)
 * is refused before anything is created. */
static void fit_dropout(void **state) {
    (void)state;
    enum { N = 150 };
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, N, 1);
    mlp_fit_options o = small_options();
    o.opt.lr = 1e-2f;
    o.dropout = 0.25f;
    mlp_net *a = NULL, *b = NULL, *none = NULL;
    assert_int_equal(mlp_fit(&a, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_OK);
    assert_int_equal(mlp_fit(&b, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_OK);
    assert_true(mlp_net_dropout(a, 0) == 0.25f);
    const size_t np = mlp_net_param_count(a);
    assert_memory_equal(mlp_net_params(a), mlp_net_params(b), np * sizeof(float));
    o.dropout = 0.0f;
    assert_int_equal(mlp_fit(&none, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_OK);
    assert_true(memcmp(mlp_net_params(a), mlp_net_params(none), np * sizeof(float)) != 0);
    double acc;
    assert_int_equal(mlp_score_accuracy(a, X, y, N, &acc), MLP_OK);
    assert_true(acc >= 0.9);
    mlp_net *bad = NULL;
    o.dropout = 1.0f;
    assert_int_equal(mlp_fit(&bad, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_ERR_ARG);
    assert_null(bad);
    mlp_net_free(a), mlp_net_free(b), mlp_net_free(none);
}

/* options.interrupt: a flag set while mlp_fit runs (here by a batch step that counts minibatches,
 * or by the epoch callback) stops training before the next minibatch, keeps the weights reached
 * and reports result.interrupted; a partial epoch is not counted. */
typedef struct interrupt_probe {
    volatile int flag;
    size_t steps, stop_after; /* the step that sets the flag (1-based) */
    float *params;            /* the net's parameters when the flag was set */
} interrupt_probe;

static void probe_snapshot(interrupt_probe *p, mlp_net *net) {
    const size_t np = mlp_net_param_count(net);
    p->params = realloc(p->params, np * sizeof(float));
    assert_non_null(p->params);
    memcpy(p->params, mlp_net_params(net), np * sizeof(float));
    p->flag = 1;
}

/* fit.c's local step (gather, train), counting the steps. */
static mlp_status counting_step(void *ctx, mlp_net *net, const mlp_batch *b, float *loss) {
    interrupt_probe *p = ctx;
    mlp_gather_rows(b->Xb, b->X, b->rows, b->n, b->d);
    mlp_gather_rows(b->Yb, b->T, b->rows, b->n, b->k);
    mlp_status st = mlp_train_step(net, b->Xb, b->Yb, b->n, loss);
    if (++p->steps == p->stop_after) probe_snapshot(p, net);
    return st;
}

static mlp_net *probe_net;

static int interrupt_at_epoch_2(const mlp_epoch_info *info, void *user) {
    if (info->epoch == 2) probe_snapshot(user, probe_net);
    return 0;
}

static void assert_interrupted(mlp_status st, const mlp_fit_result *r, size_t epochs, size_t steps,
                               mlp_net *net, const interrupt_probe *p) {
    assert_int_equal(st, MLP_OK);
    assert_true(r->interrupted);
    assert_false(r->stopped_by_callback);
    assert_false(r->converged);
    assert_int_equal(r->epochs, epochs);
    assert_int_equal(r->steps, steps);
    assert_memory_equal(mlp_net_params(net), p->params, mlp_net_param_count(net) * sizeof(float));
}

static void interrupt_stops_fit(void **state) {
    (void)state;
    enum { N = 150 };
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, N, 8);
    mlp_fit_options o = small_options();
    o.batch_size = 10; /* 15 batches per epoch */
    interrupt_probe p = {.stop_after = 20};
    o.interrupt = &p.flag;
    mlp_net *net = NULL;
    mlp_fit_result r;
    /* Set after the 5th batch of epoch 2: epoch 1 is the one counted. */
    mlp_status st =
        mlp_fit_with_step(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r, counting_step, &p);
    assert_interrupted(st, &r, 1, 20, net, &p);
    assert_float_equal(r.loss, r.loss_curve[0], 0.0);
    mlp_fit_result_free(&r);
    /* Set by the callback of epoch 2 (a warm start): no batch of epoch 3 runs. */
    p.flag = 0;
    probe_net = net;
    o.callback = interrupt_at_epoch_2;
    o.user = &p;
    st = mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r);
    assert_interrupted(st, &r, 2, 30, net, &p);
    mlp_fit_result_free(&r);
    /* Already set: nothing runs, the weights stay; no epoch, so no loss. */
    st = mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r);
    assert_interrupted(st, &r, 0, 0, net, &p);
    assert_true(isnan(r.loss));
    mlp_fit_result_free(&r);
    mlp_net_free(net);
    /* Early stopping, interrupted before the first validation: the weights reached. */
    net = NULL;
    p = (interrupt_probe){.stop_after = 5, .params = p.params};
    o.callback = NULL;
    o.early_stopping = 1;
    st = mlp_fit_with_step(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r, counting_step, &p);
    assert_interrupted(st, &r, 0, 5, net, &p);
    assert_true(isnan(r.best_val_score));
    mlp_fit_result_free(&r);
    if (mlp_fit_lbfgs_available()) {
        /* LBFGS, set by the callback of iteration 2: the net keeps that iteration's point. */
        p.flag = 0;
        probe_net = net;
        o.early_stopping = 0;
        o.opt.kind = MLP_OPT_LBFGS;
        o.callback = interrupt_at_epoch_2;
        o.user = &p;
        st = mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r);
        assert_interrupted(st, &r, 2, r.steps, net, &p);
        mlp_fit_result_free(&r);
        /* Already set: the first evaluation is skipped, the weights stay. */
        st = mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, &r);
        assert_interrupted(st, &r, 0, 0, net, &p);
        assert_true(isnan(r.loss));
        mlp_fit_result_free(&r);
    }
    free(p.params);
    mlp_net_free(net);
}

/* The batch gather copies a large batch on several threads (data.c: one per 64 KB): every row
 * lands where a serial copy puts it, whatever the thread count. */
static void gather_rows_threads(void **state) {
    (void)state;
    enum { N = 1000, D = 784, B = 200 };
    float *X = malloc(sizeof(float) * N * D), *Xb = malloc(sizeof(float) * B * D);
    size_t rows[B];
    assert_non_null(X);
    assert_non_null(Xb);
    for (size_t i = 0; i < (size_t)N * D; i++) X[i] = (float)i;
    for (size_t i = 0; i < B; i++) rows[i] = (i * 7919u) % N;
    const int saved = mlp_get_num_threads();
    for (int t = 1; t <= 4; t++) {
        mlp_set_num_threads(t);
        memset(Xb, 0xff, sizeof(float) * B * D);
        mlp_gather_rows(Xb, X, rows, B, D);
        for (size_t i = 0; i < B; i++)
            assert_memory_equal(Xb + i * D, X + rows[i] * D, sizeof(float) * D);
    }
    mlp_set_num_threads(saved);
    free(X);
    free(Xb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fit_converges),
        cmocka_unit_test(fit_dropout),
        cmocka_unit_test(fit_digits_rs42),
        cmocka_unit_test(early_stopping_restores_best),
        cmocka_unit_test(early_stopping_on_val_loss),
        cmocka_unit_test(epoch_info_lr_and_no_val),
        cmocka_unit_test(weighted_validation),
        cmocka_unit_test(weighted_scores_repeat_rows),
        cmocka_unit_test(warm_start_continues),
        cmocka_unit_test(divergence_is_reported),
        cmocka_unit_test(regression_fits),
        cmocka_unit_test(binary_and_multilabel),
        cmocka_unit_test(callback_stops),
        cmocka_unit_test(sgd_schedules),
        cmocka_unit_test(fit_errors),
        cmocka_unit_test(task_output_mapping),
        cmocka_unit_test(result_reports_decisions),
        cmocka_unit_test(bad_option_leaves_net_unchanged),
        cmocka_unit_test(memory_limit_is_limit),
        cmocka_unit_test(null_names_and_tiny_lr),
        cmocka_unit_test(interrupt_stops_fit),
        cmocka_unit_test(gather_rows_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
