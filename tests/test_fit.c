/* fit(): scikit-learn's training recipe end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"
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
    o.lr = 1e-2f;
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
    o.solver = MLP_OPT_SGD;
    o.lr = 1e4f;
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
    o.lr = 1e-2f;
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
    o.lr = 1e-2f;
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
    o.solver = MLP_OPT_SGD;
    o.schedule = MLP_LR_INVSCALING;
    o.lr = 0.1f;
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
    o.lr = -1.0f;
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fit_converges),
        cmocka_unit_test(fit_digits_rs42),
        cmocka_unit_test(early_stopping_restores_best),
        cmocka_unit_test(warm_start_continues),
        cmocka_unit_test(divergence_is_reported),
        cmocka_unit_test(regression_fits),
        cmocka_unit_test(binary_and_multilabel),
        cmocka_unit_test(callback_stops),
        cmocka_unit_test(sgd_schedules),
        cmocka_unit_test(fit_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
