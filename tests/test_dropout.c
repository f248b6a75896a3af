/* Dropout on hidden layers (mlp_net_set_dropout): gradients against finite differences with the
 * masks held fixed, the share of dropped units, independence of the thread count, inference and
 * mlp_loss_value without dropout, p = 0 equal to no dropout, and argument errors. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mlp_net *make(mlp_activation hidden, float p, uint64_t seed) {
    static const size_t sizes[] = {6, 9, 7, 4};
    const mlp_activation acts[] = {hidden, hidden, MLP_ACT_SOFTMAX};
    mlp_net *net =
        tu_make_net_opt(sizes, acts, 3, MLP_LOSS_SOFTMAX_CE, seed, MLP_OPT_ADAM, 1e-2f, 0.0f);
    assert_non_null(net);
    assert_int_equal(mlp_net_set_dropout(net, 0, p), MLP_OK);
    assert_int_equal(mlp_net_set_dropout(net, 1, p), MLP_OK);
    return net;
}

static void data(float *X, float *Y, size_t n, size_t d, size_t k, uint64_t seed) {
    tu_rng r;
    tu_rng_seed(&r, seed);
    tu_fill_uniform(X, n * d, &r, -1, 1);
    tu_fill_onehot(Y, NULL, n, k, &r);
}

/* The training loss (mlp_forward + mlp_backward) at the current parameters: the same masks for
 * every call before an update. */
static double train_loss(mlp_net *net, const float *X, const float *Y, size_t n) {
    float loss = NAN;
    assert_int_equal(mlp_forward(net, X, n), MLP_OK);
    assert_int_equal(mlp_backward(net, Y, &loss), MLP_OK);
    return loss;
}

static void test_dropout_gradcheck(void **state) {
    (void)state;
    const mlp_activation acts[] = {MLP_ACT_IDENTITY, MLP_ACT_TANH, MLP_ACT_LOGISTIC, MLP_ACT_GELU};
    enum { n = 11 };
    float X[n * 6], Y[n * 4];
    data(X, Y, n, 6, 4, 5);
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        mlp_net *net = make(acts[a], 0.4f, 2);
        const size_t np = mlp_net_param_count(net);
        float *g = tu_floats(np), *P = mlp_net_params(net);
        train_loss(net, X, Y, n);
        memcpy(g, mlp_net_grads(net), np * sizeof(float));
        double dot = 0.0, na = 0.0, nn = 0.0;
        for (size_t i = 0; i < np; i++) {
            const float p0 = P[i], h = 1e-3f;
            P[i] = p0 + h;
            double up = train_loss(net, X, Y, n);
            P[i] = p0 - h;
            double down = train_loss(net, X, Y, n);
            P[i] = p0;
            double num = (up - down) / (2.0 * (double)h);
            dot += (g[i] - num) * (g[i] - num), na += (double)g[i] * g[i], nn += num * num;
        }
        double rel = sqrt(dot) / (sqrt(na) + sqrt(nn));
        if (!(rel < 1e-2)) {
            print_error("activation %d: relative gradient error %.3g\n", (int)acts[a], rel);
            fail();
        }
        free(g);
        mlp_net_free(net);
    }
}

/* About p of the units are dropped and the others scaled by 1/(1-p) (identity hidden layer, so
 * the forward output of layer 0 shows the mask); another step draws other masks. */
static void test_dropout_share_and_scale(void **state) {
    (void)state;
    enum { n = 500 };
    static float X[n * 6], Y[n * 4];
    data(X, Y, n, 6, 4, 9);
    mlp_net *net = make(MLP_ACT_IDENTITY, 0.3f, 4);
    assert_int_equal(mlp_forward(net, X, n), MLP_OK);
    size_t zeros = 0, total = (size_t)n * 9;
    for (size_t i = 0; i < total; i++) {
        float m = net->mask[0][i];
        assert_true(m == 0.0f || fabsf(m - 1.0f / 0.7f) < 1e-6f);
        zeros += m == 0.0f;
    }
    assert_true(fabs((double)zeros / (double)total - 0.3) < 0.03);
    float *first = tu_floats(total);
    memcpy(first, net->mask[0], total * sizeof(float));
    float loss;
    assert_int_equal(mlp_train_step(net, X, Y, n, &loss), MLP_OK);
    assert_int_equal(mlp_forward(net, X, n), MLP_OK);
    assert_true(memcmp(first, net->mask[0], total * sizeof(float)) != 0);
    free(first);
    mlp_net_free(net);
}

/* Inference and mlp_loss_value see the whole layer: a net with dropout predicts and scores like
 * the same net without; p = 0 trains exactly like no dropout. */
static void test_dropout_off_outside_training(void **state) {
    (void)state;
    enum { n = 50 };
    float X[n * 6], Y[n * 4], P1[n * 4], P2[n * 4];
    data(X, Y, n, 6, 4, 3);
    mlp_net *a = make(MLP_ACT_RELU, 0.5f, 7), *b = make(MLP_ACT_RELU, 0.0f, 7);
    float la, lb;
    assert_int_equal(mlp_predict(a, X, n, P1), MLP_OK);
    assert_int_equal(mlp_predict(b, X, n, P2), MLP_OK);
    assert_memory_equal(P1, P2, sizeof P1);
    assert_int_equal(mlp_loss_value(a, X, Y, n, &la), MLP_OK);
    assert_int_equal(mlp_loss_value(b, X, Y, n, &lb), MLP_OK);
    assert_memory_equal(&la, &lb, sizeof la);
    mlp_net *c = make(MLP_ACT_RELU, 0.0f, 7);
    mlp_net_free(a);
    static const size_t sizes[] = {6, 9, 7, 4};
    static const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net *none =
        tu_make_net_opt(sizes, acts, 3, MLP_LOSS_SOFTMAX_CE, 7, MLP_OPT_ADAM, 1e-2f, 0.0f);
    for (int s = 0; s < 3; s++) {
        assert_int_equal(mlp_train_step(c, X, Y, n, &la), MLP_OK);
        assert_int_equal(mlp_train_step(none, X, Y, n, &lb), MLP_OK);
    }
    assert_memory_equal(mlp_net_params(c), mlp_net_params(none),
                        mlp_net_param_count(c) * sizeof(float));
    mlp_net_free(b), mlp_net_free(c), mlp_net_free(none);
}

/* Training with dropout gives the same bits at 1, 2, 3 and 4 threads, on a net whose layers are
 * cut into several tiles (width 4, set in main). */
static void test_dropout_thread_invariant(void **state) {
    (void)state;
    static const size_t sizes[] = {256, 512, 128, 10};
    static const mlp_activation acts[] = {MLP_ACT_TANH, MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    enum { n = 96 };
    static float X[n * 256], Y[n * 10];
    data(X, Y, n, 256, 10, 12);
    float *ref = NULL;
    size_t np = 0;
    for (int T = 1; T <= 4; T++) {
        assert_int_equal(mlp_set_num_threads(T), MLP_OK);
        mlp_net *net =
            tu_make_net_opt(sizes, acts, 3, MLP_LOSS_SOFTMAX_CE, 5, MLP_OPT_ADAM, 1e-3f, 1e-4f);
        assert_non_null(net);
        assert_int_equal(mlp_net_set_dropout(net, 0, 0.2f), MLP_OK);
        assert_int_equal(mlp_net_set_dropout(net, 1, 0.5f), MLP_OK);
        float loss;
        for (int s = 0; s < 4; s++) assert_int_equal(mlp_train_step(net, X, Y, n, &loss), MLP_OK);
        np = mlp_net_param_count(net);
        if (!ref) {
            ref = tu_floats(np);
            memcpy(ref, mlp_net_params(net), np * sizeof(float));
        } else {
            assert_memory_equal(ref, mlp_net_params(net), np * sizeof(float));
        }
        mlp_net_free(net);
    }
    assert_int_equal(mlp_set_num_threads(1), MLP_OK);
    free(ref);
}

static void test_dropout_errors(void **state) {
    (void)state;
    mlp_net *net = make(MLP_ACT_RELU, 0.0f, 1);
    assert_int_equal(mlp_net_set_dropout(NULL, 0, 0.5f), MLP_ERR_NULL);
    assert_int_equal(mlp_net_set_dropout(net, 2, 0.5f), MLP_ERR_ARG); /* the output layer */
    assert_non_null(strstr(mlp_last_error(), "output layer"));
    assert_int_equal(mlp_net_set_dropout(net, 3, 0.5f), MLP_ERR_ARG);
    assert_int_equal(mlp_net_set_dropout(net, 0, 1.0f), MLP_ERR_ARG);
    assert_int_equal(mlp_net_set_dropout(net, 0, -0.1f), MLP_ERR_ARG);
    assert_int_equal(mlp_net_set_dropout(net, 0, NAN), MLP_ERR_ARG);
    assert_true(mlp_net_dropout(net, 0) == 0.0f);
    assert_int_equal(mlp_net_set_dropout(net, 1, 0.25f), MLP_OK);
    assert_true(mlp_net_dropout(net, 1) == 0.25f);
    assert_true(mlp_net_dropout(NULL, 1) == 0.0f);
    mlp_net *copy;
    assert_int_equal(mlp_net_clone(&copy, net), MLP_OK);
    assert_true(mlp_net_dropout(copy, 1) == 0.25f);
    mlp_net_free(copy);
    mlp_net_free(net);
}

int main(void) {
    setenv("MLP_PARALLEL_WIDTH", "4", 1); /* before any mlp call: read once */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropout_gradcheck),
        cmocka_unit_test(test_dropout_share_and_scale),
        cmocka_unit_test(test_dropout_off_outside_training),
        cmocka_unit_test(test_dropout_thread_invariant),
        cmocka_unit_test(test_dropout_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
