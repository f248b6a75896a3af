/* mlp_fit's solver LBFGS (full-batch L-BFGS through liblbfgs): it learns, its loss never rises
 * between iterations, max_iter / max_fun / the callback stop it, the objective over several row
 * chunks does not depend on the thread count, sample weights act as repeated or dropped rows, and
 * bad settings or a non-finite start are refused with the net unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include "test_util.h"

#include <mlp/fit.h>

#include <string.h>

/* Three Gaussian blobs in d dimensions, n rows, labels 0..2. */
static void blobs(float *X, int32_t *labels, size_t n, size_t d, uint64_t seed) {
    tu_rng r;
    tu_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        const int32_t c = (int32_t)(i % 3);
        labels[i] = c;
        for (size_t j = 0; j < d; j++)
            X[i * d + j] = (j % 3 == (size_t)c ? 1.5f : 0.0f) + tu_rng_range(&r, -1.0, 1.0);
    }
}

static mlp_fit_options lbfgs_options(const size_t *hidden) {
    mlp_fit_options o = mlp_fit_options_default();
    o.opt = mlp_optimizer_default(MLP_OPT_LBFGS);
    o.n_hidden = 1;
    o.hidden = hidden;
    o.activation = MLP_ACT_TANH;
    o.seed = 3;
    return o;
}

static void test_lbfgs_learns_and_descends(void **state) {
    (void)state;
    enum { n = 300, d = 6 };
    float X[n * d];
    int32_t y[n];
    blobs(X, y, n, d, 1);
    static const size_t hidden[] = {10};
    mlp_fit_options o = lbfgs_options(hidden);
    o.max_iter = 100;
    mlp_net *net = NULL;
    mlp_fit_result r;
    TU_ASSERT_OK(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &o, &r));
    assert_true(r.epochs >= 1 && r.epochs <= 100);
    assert_true(r.steps >= r.epochs); /* one evaluation or more per iteration */
    assert_int_equal(r.batch_size, n);
    assert_null(r.val_scores);
    for (size_t i = 1; i < r.epochs; i++) assert_true(r.loss_curve[i] <= r.loss_curve[i - 1]);
    assert_true(r.loss == r.loss_curve[r.epochs - 1] && r.best_loss == r.loss);
    double acc;
    TU_ASSERT_OK(mlp_score_accuracy(net, X, y, n, &acc));
    assert_true(acc >= 0.95);
    /* The reported loss is the loss of the final weights. */
    float *Y = tu_floats(n * 3), check;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) Y[i * 3 + c] = y[i] == c ? 1.0f : 0.0f;
    TU_ASSERT_OK(mlp_loss_value(net, X, Y, n, &check));
    TU_ASSERT_NEAR(check, r.loss, 1e-5 * (1.0 + r.loss));
    free(Y);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

static void test_lbfgs_limits(void **state) {
    (void)state;
    enum { n = 150, d = 4 };
    float X[n * d];
    int32_t y[n];
    blobs(X, y, n, d, 2);
    static const size_t hidden[] = {8};
    mlp_fit_options o = lbfgs_options(hidden);
    o.max_iter = 5;
    o.tol = 0.0f;
    mlp_net *net = NULL;
    mlp_fit_result r;
    TU_ASSERT_OK(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &o, &r));
    assert_int_equal(r.epochs, 5);
    assert_int_equal(r.converged, 0);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
    net = NULL;
    /* max_fun: scipy stops after the iteration in which the evaluations exceed it. */
    o.max_iter = 200;
    o.max_fun = 7;
    TU_ASSERT_OK(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &o, &r));
    assert_true(r.steps > 7 && r.steps <= 7 + 20 + 1);
    assert_true(r.epochs < 200);
    assert_int_equal(r.converged, 0);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

static int stop_at_3(const mlp_epoch_info *info, void *user) {
    size_t *calls = user;
    ++*calls;
    assert_int_equal(info->epoch, *calls);
    assert_true(isnan(info->val_score) && isnan(info->lr) && isfinite(info->loss));
    return info->epoch == 3;
}

static void test_lbfgs_callback(void **state) {
    (void)state;
    enum { n = 150, d = 4 };
    float X[n * d];
    int32_t y[n];
    blobs(X, y, n, d, 4);
    static const size_t hidden[] = {8};
    mlp_fit_options o = lbfgs_options(hidden);
    size_t calls = 0;
    o.callback = stop_at_3;
    o.user = &calls;
    mlp_net *net = NULL;
    mlp_fit_result r;
    TU_ASSERT_OK(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &o, &r));
    assert_int_equal(calls, 3);
    assert_int_equal(r.epochs, 3);
    assert_int_equal(r.stopped_by_callback, 1);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
}

/* 5000 rows: two chunks of the objective (4096 + 904), GEMMs large enough for threads. */
static float *fit_params(int threads, const float *X, const int32_t *y, size_t n, size_t d,
                         size_t *np) {
    TU_ASSERT_OK(mlp_set_num_threads(threads));
    static const size_t hidden[] = {96};
    mlp_fit_options o = lbfgs_options(hidden);
    o.max_iter = 4;
    mlp_net *net = NULL;
    TU_ASSERT_OK(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &o, NULL));
    *np = mlp_net_param_count(net);
    float *p = tu_floats(*np);
    memcpy(p, mlp_net_params(net), *np * sizeof *p);
    mlp_net_free(net);
    return p;
}

static void test_lbfgs_threads_identical(void **state) {
    (void)state;
    const size_t n = 5000, d = 48;
    float *X = tu_floats(n * d);
    int32_t *y = tu_alloc(n, sizeof *y);
    blobs(X, y, n, d, 5);
    const int saved = mlp_get_num_threads();
    size_t np;
    float *ref = fit_params(1, X, y, n, d, &np);
    for (int t = 2; t <= 3; t++) {
        float *p = fit_params(t, X, y, n, d, &np);
        assert_memory_equal(ref, p, np * sizeof *p);
        free(p);
    }
    TU_ASSERT_OK(mlp_set_num_threads(saved));
    free(ref);
    free(X);
    free(y);
}

/* Weights w_i in {0, 1, 2, 3} against the data with row i repeated w_i times: the same objective,
 * so the same path up to rounding. Regression, so that the squared error's scaling is covered. */
static void test_lbfgs_weights_equal_repeats(void **state) {
    (void)state;
    enum { n = 60, d = 3 };
    float X[n * d], Y[n], w[n], Xr[4 * n * d], Yr[4 * n];
    tu_rng r;
    tu_rng_seed(&r, 8);
    tu_fill_uniform(X, n * d, &r, -1, 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        Y[i] = sinf(2.0f * X[i * d]) + X[i * d + 1] * X[i * d + 2];
        w[i] = (float)tu_rng_below(&r, 4);
        for (int c = 0; c < (int)w[i]; c++, m++) {
            memcpy(Xr + m * d, X + i * d, d * sizeof *X);
            Yr[m] = Y[i];
        }
    }
    static const size_t hidden[] = {12};
    mlp_fit_options o = lbfgs_options(hidden);
    o.max_iter = 8;
    o.opt.alpha = 1e-2f; /* the L2 term is divided by the weight sum */
    mlp_net *a = NULL, *b = NULL;
    mlp_fit_result ra, rb;
    o.sample_weight = w;
    TU_ASSERT_OK(mlp_fit(&a, MLP_TASK_REGRESS, X, NULL, Y, n, d, 1, &o, &ra));
    o.sample_weight = NULL;
    TU_ASSERT_OK(mlp_fit(&b, MLP_TASK_REGRESS, Xr, NULL, Yr, m, d, 1, &o, &rb));
    assert_int_equal(ra.epochs, rb.epochs);
    for (size_t i = 0; i < ra.epochs; i++)
        TU_ASSERT_NEAR(ra.loss_curve[i], rb.loss_curve[i], 1e-4 * rb.loss_curve[i]);
    const size_t np = mlp_net_param_count(a);
    assert_true(tu_max_abs_diff(mlp_net_params(a), mlp_net_params(b), np) < 1e-3);
    mlp_fit_result_free(&ra);
    mlp_fit_result_free(&rb);
    mlp_net_free(a);
    mlp_net_free(b);
}

/* All weights 1: the bits of the unweighted fit. */
static void test_lbfgs_unit_weights_bitwise(void **state) {
    (void)state;
    enum { n = 120, d = 4 };
    float X[n * d], w[n];
    int32_t y[n];
    blobs(X, y, n, d, 6);
    for (size_t i = 0; i < n; i++) w[i] = 1.0f;
    static const size_t hidden[] = {9};
    mlp_fit_options o = lbfgs_options(hidden);
    o.max_iter = 20;
    mlp_net *a = NULL, *b = NULL;
    TU_ASSERT_OK(mlp_fit(&a, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &o, NULL));
    o.sample_weight = w;
    TU_ASSERT_OK(mlp_fit(&b, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &o, NULL));
    assert_memory_equal(mlp_net_params(a), mlp_net_params(b),
                        mlp_net_param_count(a) * sizeof(float));
    mlp_net_free(a);
    mlp_net_free(b);
}

static void test_lbfgs_regression_fits(void **state) {
    (void)state;
    enum { n = 200, d = 2 };
    float X[n * d], Y[n];
    tu_rng r;
    tu_rng_seed(&r, 12);
    tu_fill_uniform(X, n * d, &r, -1, 1);
    for (size_t i = 0; i < n; i++) Y[i] = sinf(3.0f * X[i * d]) * X[i * d + 1];
    static const size_t hidden[] = {20};
    mlp_fit_options o = lbfgs_options(hidden);
    o.max_iter = 300;
    mlp_net *net = NULL;
    TU_ASSERT_OK(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, n, d, 1, &o, NULL));
    double r2;
    TU_ASSERT_OK(mlp_score_r2(net, X, Y, n, &r2));
    assert_true(r2 > 0.95);
    mlp_net_free(net);
}

/* Refusals leave a warm-start net as it was: parameters and optimizer settings. */
static void test_lbfgs_refusals(void **state) {
    (void)state;
    enum { n = 30, d = 4 };
    float X[n * d];
    int32_t y[n];
    blobs(X, y, n, d, 7);
    static const size_t hidden[] = {5};
    mlp_fit_options o = lbfgs_options(hidden);
    o.max_iter = 2;
    mlp_net *net = NULL;
    TU_ASSERT_OK(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &o, NULL));
    mlp_optimizer before;
    TU_ASSERT_OK(mlp_net_get_optimizer(net, &before));
    assert_int_equal(before.kind, MLP_OPT_ADAM); /* a created net keeps its step optimizer */
    const size_t np = mlp_net_param_count(net);
    float *p0 = tu_floats(np);
    memcpy(p0, mlp_net_params(net), np * sizeof *p0);
    mlp_fit_options bad = o;
    bad.dropout = 0.2f;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &bad, NULL),
                     MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "dropout"));
    bad = o;
    bad.max_fun = 0;
    bad.opt.alpha = 0.5f;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &bad, NULL),
                     MLP_ERR_ARG);
    bad = o;
    bad.opt.alpha = -1.0f;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &bad, NULL),
                     MLP_ERR_ARG);
    float w[n];
    for (size_t i = 0; i < n; i++) w[i] = 0.0f;
    bad = o;
    bad.sample_weight = w;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &bad, NULL),
                     MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "sum to 0"));
    w[3] = -2.0f;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &bad, NULL),
                     MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "sample_weight[3]"));
    /* bf16 breaks the line search: refused; auto trains in f32. */
    bad = o;
    bad.precision = MLP_PRECISION_BF16;
    const mlp_status bf = mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &bad, NULL);
    assert_true(bf == MLP_ERR_ARG || bf == MLP_ERR_UNSUPPORTED); /* UNSUPPORTED: no bf16 here */
    if (bf == MLP_ERR_ARG) assert_non_null(strstr(mlp_last_error(), "f32 only"));
    /* A warm-start net that drops units: lbfgs's objective must be the deterministic loss. */
    TU_ASSERT_OK(mlp_net_set_dropout(net, 0, 0.3f));
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "layer 0"));
    TU_ASSERT_OK(mlp_net_set_dropout(net, 0, 0.0f));
    mlp_optimizer after;
    TU_ASSERT_OK(mlp_net_get_optimizer(net, &after));
    assert_memory_equal(&before, &after, sizeof before);
    assert_memory_equal(p0, mlp_net_params(net), np * sizeof *p0);
    bad = o;
    bad.precision = MLP_PRECISION_AUTO;
    TU_ASSERT_OK(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, &bad, NULL));
    assert_int_equal(mlp_net_precision(net), MLP_PRECISION_F32);
    free(p0);
    mlp_net_free(net);
}

/* Weights so large that the loss at the start is infinite: MLP_ERR_DIVERGED, weights kept. */
static void test_lbfgs_nonfinite_start(void **state) {
    (void)state;
    enum { n = 20, d = 2 };
    float X[n * d], Y[n];
    tu_rng r;
    tu_rng_seed(&r, 13);
    tu_fill_uniform(X, n * d, &r, 1, 2);
    for (size_t i = 0; i < n; i++) Y[i] = 0.0f;
    const size_t sizes[] = {d, 4, 1};
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_IDENTITY};
    mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SQUARED, MLP_INIT_GLOROT, 1);
    assert_non_null(net);
    const size_t np = mlp_net_param_count(net);
    float *p = mlp_net_params(net);
    for (size_t i = 0; i < np; i++) p[i] = 3e18f;
    float *p0 = tu_floats(np);
    memcpy(p0, p, np * sizeof *p0);
    static const size_t hidden[] = {4};
    mlp_fit_options o = lbfgs_options(hidden);
    o.activation = MLP_ACT_RELU;
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, n, d, 1, &o, NULL),
                     MLP_ERR_DIVERGED);
    assert_memory_equal(p0, mlp_net_params(net), np * sizeof *p0);
    free(p0);
    mlp_net_free(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lbfgs_learns_and_descends),
        cmocka_unit_test(test_lbfgs_limits),
        cmocka_unit_test(test_lbfgs_callback),
        cmocka_unit_test(test_lbfgs_threads_identical),
        cmocka_unit_test(test_lbfgs_weights_equal_repeats),
        cmocka_unit_test(test_lbfgs_unit_weights_bitwise),
        cmocka_unit_test(test_lbfgs_regression_fits),
        cmocka_unit_test(test_lbfgs_refusals),
        cmocka_unit_test(test_lbfgs_nonfinite_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
