/* mlp_fit's options for what scikit-learn's MLP users ask for (issue 23): the Poisson and Huber
 * regression losses, one activation per hidden layer, a validation set of the caller's own, the
 * stratified early-stopping split of a classifier and class weights (mlp_class_weights). The
 * numbers against scikit-learn itself are checked by python/tests/test_breadth.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fit/fit_internal.h"
#include "mlp/fit.h"
#include "mlp/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const size_t hidden8[] = {8, 6};

static mlp_fit_options small_options(void) {
    mlp_fit_options o = mlp_fit_options_default();
    o.hidden = hidden8;
    o.n_hidden = 2;
    o.max_iter = 60;
    o.seed = 5;
    o.opt.lr = 1e-2f;
    return o;
}

/* n rows of 3 features; counts y ~ exp(0.5 x0 - 0.3 x1) rounded (Poisson-like, >= 0). */
static void make_counts(float *X, float *Y, size_t n, uint64_t seed) {
    mlp_rng rng;
    mlp_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < 3; j++) X[i * 3 + j] = (float)mlp_rng_uniform(&rng) * 2.0f - 1.0f;
        const double mu = exp(0.5 * X[i * 3] - 0.3 * X[i * 3 + 1]);
        Y[i] = (float)floor(mu * 2.0 * mlp_rng_uniform(&rng));
    }
}

/* Poisson: an exp output, the half deviance as the loss, the loss falls; a negative target is
 * refused by name, by mlp_fit and by the step API. */
static void poisson_fit(void **state) {
    (void)state;
    enum { N = 200 };
    float X[N * 3], Y[N];
    make_counts(X, Y, N, 1);
    mlp_fit_options o = small_options();
    o.loss = MLP_LOSS_POISSON;
    mlp_net *net = NULL;
    mlp_fit_result r;
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, N, 3, 1, &o, &r), MLP_OK);
    assert_int_equal(mlp_net_loss(net), MLP_LOSS_POISSON);
    mlp_activation out;
    assert_int_equal(mlp_net_layer_shape(net, 2, NULL, NULL, &out), MLP_OK);
    assert_int_equal(out, MLP_ACT_EXP);
    assert_true(r.loss_curve[r.epochs - 1] < r.loss_curve[0]);
    mlp_task task;
    assert_int_equal(mlp_task_of_net(net, &task, NULL), MLP_OK);
    assert_int_equal(task, MLP_TASK_REGRESS);
    /* The step refuses a negative count as the caller's data, not as divergence. */
    float y1[1] = {-1.0f}, loss;
    assert_int_equal(mlp_train_step(net, X, y1, 1, &loss), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "Y row 0 column 0 is -1"));
    /* exp overflowing (a huge output bias) is caught by the step's non-finite guard: refused,
     * nothing changed. */
    float *b = NULL;
    assert_int_equal(mlp_net_layer_params(net, 2, NULL, &b), MLP_OK);
    b[0] = 200.0f;
    const size_t P = mlp_net_param_count(net);
    float *before = malloc(P * sizeof(float));
    assert_non_null(before);
    memcpy(before, mlp_net_params(net), P * sizeof(float));
    const uint64_t steps = mlp_net_step_count(net);
    assert_int_equal(mlp_train_step(net, X, Y, 8, &loss), MLP_ERR_DIVERGED);
    assert_memory_equal(mlp_net_params(net), before, P * sizeof(float));
    assert_int_equal(mlp_net_step_count(net), steps);
    free(before);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
    net = NULL;
    Y[17] = -2.0f;
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, N, 3, 1, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "Y[17][0] = -2"));
    assert_null(net);
}

/* Huber: the options' delta is the net's, a bad one is refused, the loss is not a classifier's. */
static void huber_fit(void **state) {
    (void)state;
    enum { N = 120 };
    float X[N * 3], Y[N];
    make_counts(X, Y, N, 2);
    mlp_fit_options o = small_options();
    o.loss = MLP_LOSS_HUBER;
    o.huber_delta = 0.25f;
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, N, 3, 1, &o, NULL), MLP_OK);
    assert_int_equal(mlp_net_loss(net), MLP_LOSS_HUBER);
    assert_true(mlp_net_huber_delta(net) == 0.25f);
    /* Warm start with another delta: refused, the net unchanged. */
    o.huber_delta = 0.5f;
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, N, 3, 1, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "huber delta"));
    assert_int_equal(mlp_net_set_huber_delta(net, -1.0f), MLP_ERR_ARG);
    assert_int_equal(mlp_net_set_huber_delta(net, NAN), MLP_ERR_ARG);
    assert_true(mlp_net_huber_delta(net) == 0.25f);
    mlp_net_free(net);
    net = NULL;
    o.huber_delta = 0.0f;
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, N, 3, 1, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "huber_delta = 0"));
    o.loss = MLP_LOSS_SOFTMAX_CE;
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, N, 3, 1, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "not a regression loss"));
    /* exp is an output activation only; a POISSON net needs it. */
    const size_t sizes[] = {3, 4, 1};
    mlp_activation acts[] = {MLP_ACT_EXP, MLP_ACT_EXP};
    mlp_net_config cfg = {2, sizes, acts, MLP_LOSS_POISSON, MLP_INIT_GLOROT, 1};
    assert_int_equal(mlp_net_create(&net, &cfg), MLP_ERR_ARG);
    acts[0] = MLP_ACT_RELU;
    acts[1] = MLP_ACT_IDENTITY;
    assert_int_equal(mlp_net_create(&net, &cfg), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "POISSON needs an exp output"));
    acts[1] = MLP_ACT_EXP;
    cfg.loss = MLP_LOSS_SQUARED;
    assert_int_equal(mlp_net_create(&net, &cfg), MLP_OK);
    assert_int_equal(mlp_net_set_huber_delta(net, 2.0f), MLP_ERR_ARG); /* not a HUBER net */
    mlp_net_free(net);
}

/* One activation per hidden layer: the net has them, model bytes keep them with the loss and
 * Huber's delta. */
static void per_layer_activations_roundtrip(void **state) {
    (void)state;
    enum { N = 100 };
    float X[N * 3], Y[N];
    make_counts(X, Y, N, 3);
    mlp_fit_options o = small_options();
    const mlp_activation acts[] = {MLP_ACT_TANH, MLP_ACT_GELU};
    o.activations = acts;
    o.loss = MLP_LOSS_HUBER;
    o.huber_delta = 1.5f;
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_REGRESS, X, NULL, Y, N, 3, 1, &o, NULL), MLP_OK);
    size_t size = 0;
    assert_int_equal(mlp_model_save_mem(NULL, 0, &size, net, NULL, NULL), MLP_OK);
    void *buf = malloc(size);
    assert_non_null(buf);
    assert_int_equal(mlp_model_save_mem(buf, size, &size, net, NULL, NULL), MLP_OK);
    mlp_net *back = NULL;
    assert_int_equal(mlp_model_load_mem(buf, size, &back, NULL, NULL), MLP_OK);
    const mlp_activation want[] = {MLP_ACT_TANH, MLP_ACT_GELU, MLP_ACT_IDENTITY};
    for (size_t l = 0; l < 3; l++) {
        mlp_activation a;
        assert_int_equal(mlp_net_layer_shape(back, l, NULL, NULL, &a), MLP_OK);
        assert_int_equal(a, want[l]);
    }
    assert_int_equal(mlp_net_loss(back), MLP_LOSS_HUBER);
    assert_true(mlp_net_huber_delta(back) == 1.5f);
    float p1[N], p2[N];
    assert_int_equal(mlp_predict(net, X, N, p1), MLP_OK);
    assert_int_equal(mlp_predict(back, X, N, p2), MLP_OK);
    assert_memory_equal(p1, p2, sizeof p1);
    /* A bad per-layer activation is named. */
    const mlp_activation bad[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    o.activations = bad;
    mlp_net *none = NULL;
    assert_int_equal(mlp_fit(&none, MLP_TASK_REGRESS, X, NULL, Y, N, 3, 1, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "activations[1]"));
    free(buf);
    mlp_net_free(back);
    mlp_net_free(net);
}

/* Blobs of 3 classes with counts[c] rows each (4 features). */
static size_t make_blobs(float *X, int32_t *y, const size_t *counts, uint64_t seed) {
    mlp_rng rng;
    mlp_rng_seed(&rng, seed);
    size_t n = 0;
    for (int32_t c = 0; c < 3; c++)
        for (size_t k = 0; k < counts[c]; k++, n++) {
            y[n] = c;
            for (size_t j = 0; j < 4; j++)
                X[n * 4 + j] = (j == (size_t)c ? 3.0f : 0.0f) + (float)mlp_rng_uniform(&rng) - 0.5f;
        }
    return n;
}

/* The validation set of the caller's: every training row trains, the scores are the set's. */
static void own_validation_set(void **state) {
    (void)state;
    const size_t counts[] = {40, 30, 20}, vcounts[] = {10, 10, 10};
    float X[90 * 4], Xv[30 * 4];
    int32_t y[90], yv[30];
    const size_t n = make_blobs(X, y, counts, 4), nv = make_blobs(Xv, yv, vcounts, 5);
    mlp_fit_options o = small_options();
    o.val_X = Xv;
    o.val_labels = yv;
    o.val_n = nv;
    mlp_net *net = NULL;
    mlp_fit_result r;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, 4, 3, &o, &r), MLP_OK);
    assert_int_equal(r.n_train, n);
    assert_int_equal(r.n_val, nv);
    assert_non_null(r.val_scores);
    double acc;
    assert_int_equal(mlp_score_accuracy(net, Xv, yv, nv, &acc), MLP_OK);
    assert_float_equal(r.best_val_score, acc, 1e-6);
    mlp_fit_result_free(&r);
    mlp_net_free(net);
    /* Its labels are checked by name; lbfgs has no early stopping to use it. */
    net = NULL;
    yv[3] = 7;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, 4, 3, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "val_labels[3] = 7"));
    yv[3] = 0;
    o.val_labels = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, 4, 3, &o, NULL), MLP_ERR_NULL);
    o.val_labels = yv;
    o.opt.kind = MLP_OPT_LBFGS;
    if (mlp_fit_lbfgs_available()) {
        assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, 4, 3, &o, NULL),
                         MLP_ERR_ARG);
        assert_non_null(strstr(mlp_last_error(), "stochastic"));
    }
    assert_null(net);
}

/* The stratified split: scikit-learn's per-class counts (here without ties: 90/10 of 50/30/20 is
 * 45/27/18 and 5/3/2), every row on one side, and scikit-learn's refusals. */
static void stratified_split(void **state) {
    (void)state;
    enum { N = 100 };
    const size_t counts[] = {50, 30, 20};
    float X[N * 4];
    int32_t y[N];
    make_blobs(X, y, counts, 6);
    size_t order[N];
    mlp_rng rng;
    mlp_rng_seed(&rng, 9);
    assert_int_equal(mlp_fit_stratified_split(y, N, 3, 10, order, &rng), MLP_OK);
    size_t val[3] = {0}, seen[N] = {0};
    for (size_t i = 0; i < N; i++) seen[order[i]]++;
    for (size_t i = 0; i < N; i++) assert_int_equal(seen[i], 1);
    for (size_t i = 90; i < N; i++) val[y[order[i]]]++;
    assert_int_equal(val[0], 5);
    assert_int_equal(val[1], 3);
    assert_int_equal(val[2], 2);
    /* Through mlp_fit: a class of one row fails as scikit-learn's split does. */
    y[0] = 2;
    for (size_t i = 1; i < N; i++) y[i] = y[i] == 2 ? 1 : y[i];
    mlp_fit_options o = small_options();
    o.early_stopping = 1;
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "only 1 member"));
    /* More classes than validation rows. */
    make_blobs(X, y, counts, 6);
    o.validation_fraction = 0.02f;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, 4, 3, &o, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "The test_size = 2 should be greater or equal"));
    assert_null(net);
}

/* mlp_class_weights: compute_sample_weight's arithmetic, times the sample weights; errors. */
static void class_weights(void **state) {
    (void)state;
    const int32_t labels[] = {0, 0, 0, 2, 2, 0}; /* class 1 absent: 2 classes present */
    double out[6];
    assert_int_equal(mlp_class_weights(labels, 6, 3, NULL, NULL, out), MLP_OK);
    assert_true(out[0] == 6.0 / (2.0 * 4.0) && out[3] == 6.0 / (2.0 * 2.0));
    const float sw[] = {1, 2, 0, 1, 3, 1};
    const double cw[] = {0.5, 9.0, 4.0};
    assert_int_equal(mlp_class_weights(labels, 6, 3, cw, sw, out), MLP_OK);
    assert_true(out[1] == 1.0 && out[2] == 0.0 && out[4] == 12.0);
    const double neg[] = {1.0, -1.0, 1.0};
    assert_int_equal(mlp_class_weights(labels, 6, 3, neg, NULL, out), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "class 1 is -1"));
    const double inf[] = {1.0, 1.0, INFINITY};
    assert_int_equal(mlp_class_weights(labels, 6, 3, inf, NULL, out), MLP_ERR_ARG);
    assert_int_equal(mlp_class_weights(labels, 6, 2, NULL, NULL, out), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "labels[3] = 2"));
    assert_int_equal(mlp_class_weights(NULL, 6, 3, NULL, NULL, out), MLP_ERR_NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poisson_fit),
        cmocka_unit_test(huber_fit),
        cmocka_unit_test(per_layer_activations_roundtrip),
        cmocka_unit_test(own_validation_set),
        cmocka_unit_test(stratified_split),
        cmocka_unit_test(class_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
