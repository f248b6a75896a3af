/* End-to-end learning: tiny problems that a correct forward/backward/optimizer must solve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_util.h"

static const float gate_X[8] = {0, 0, 0, 1, 1, 0, 1, 1};

static void train(mlp_net *net, const float *X, const float *Y, size_t n, int steps,
                  float *last_loss) {
    assert_int_equal(mlp_net_reserve(net, n), MLP_OK);
    float loss = NAN;
    for (int s = 0; s < steps; s++) assert_int_equal(mlp_train_step(net, X, Y, n, &loss), MLP_OK);
    assert_true(isfinite(loss));
    if (last_loss) *last_loss = loss;
}

/* The net labels the four gate inputs gate_X with the 0/1 targets Y. */
static void check_gate_labels(mlp_net *net, const float *Y) {
    int32_t labels[4];
    assert_int_equal(mlp_predict_labels(net, gate_X, 4, labels), MLP_OK);
    for (int i = 0; i < 4; i++) assert_int_equal(labels[i], (int32_t)Y[i]);
}

/* AND gate, no hidden layer, logistic output + LOGISTIC loss, Adam lr 0.1, full batch. */
static void test_and_gate(void **state) {
    (void)state;
    const size_t sizes[] = {2, 1};
    const mlp_activation acts[] = {MLP_ACT_LOGISTIC};
    const float Y[4] = {0, 0, 0, 1};
    mlp_net *net =
        tu_make_net_opt(sizes, acts, 1, MLP_LOSS_LOGISTIC, 42, MLP_OPT_ADAM, 0.1f, 1e-4f);
    assert_non_null(net);
    float first = NAN, loss = NAN;
    assert_int_equal(mlp_loss_value(net, gate_X, Y, 4, &first), MLP_OK);
    train(net, gate_X, Y, 4, 2000, &loss);
    assert_true(loss < first);
    assert_true(loss < 0.1f);
    float P[4];
    int32_t labels[4];
    assert_int_equal(mlp_predict(net, gate_X, 4, P), MLP_OK);
    assert_int_equal(mlp_predict_labels(net, gate_X, 4, labels), MLP_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(labels[i], (int32_t)Y[i]);
        assert_true(fabsf(P[i] - Y[i]) < 0.2f);
    }
    assert_int_equal(mlp_net_step_count(net), 2000);
    mlp_net_free(net);
}

/* AND gate again with SGD + Nesterov momentum. */
static void test_and_gate_sgd(void **state) {
    (void)state;
    const size_t sizes[] = {2, 1};
    const mlp_activation acts[] = {MLP_ACT_LOGISTIC};
    const float Y[4] = {0, 0, 0, 1};
    mlp_net *net = tu_make_net_opt(sizes, acts, 1, MLP_LOSS_LOGISTIC, 43, MLP_OPT_SGD, 0.5f, 1e-4f);
    assert_non_null(net);
    train(net, gate_X, Y, 4, 3000, NULL);
    check_gate_labels(net, Y);
    mlp_net_free(net);
}

/* XOR needs the hidden layer: {2, 8, 1}, tanh or relu hidden, logistic output. */
static void test_xor(void **state) {
    (void)state;
    const size_t sizes[] = {2, 8, 1};
    const mlp_activation hid[] = {MLP_ACT_TANH, MLP_ACT_RELU};
    const float Y[4] = {0, 1, 1, 0};
    for (int h = 0; h < 2; h++) {
        const mlp_activation acts[] = {hid[h], MLP_ACT_LOGISTIC};
        mlp_net *net =
            tu_make_net_opt(sizes, acts, 2, MLP_LOSS_LOGISTIC, 7 + h, MLP_OPT_ADAM, 0.05f, 1e-4f);
        assert_non_null(net);
        float loss = NAN;
        train(net, gate_X, Y, 4, 3000, &loss);
        assert_true(loss < 0.1f);
        check_gate_labels(net, Y);
        mlp_net_free(net);
    }
}

/* Three separated clusters in 2-D, {2, 16, 3} relu/softmax: 100% train accuracy. */
static void test_three_classes(void **state) {
    (void)state;
    const size_t n = 60, sizes[] = {2, 16, 3};
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    const float centers[3][2] = {{0, 2}, {-2, -1}, {2, -1}};
    float X[60 * 2], Y[60 * 3] = {0};
    int32_t truth[60], labels[60];
    tu_rng r;
    tu_rng_seed(&r, 99);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 3);
        truth[i] = c;
        X[2 * i] = centers[c][0] + tu_rng_range(&r, -0.7, 0.7);
        X[2 * i + 1] = centers[c][1] + tu_rng_range(&r, -0.7, 0.7);
        Y[3 * i + (size_t)c] = 1.0f;
    }
    mlp_net *net =
        tu_make_net_opt(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, 11, MLP_OPT_ADAM, 0.02f, 1e-4f);
    assert_non_null(net);
    float loss = NAN;
    train(net, X, Y, n, 500, &loss);
    assert_true(loss < 0.1f);
    assert_int_equal(mlp_predict_labels(net, X, n, labels), MLP_OK);
    for (size_t i = 0; i < n; i++) assert_int_equal(labels[i], truth[i]);
    mlp_net_free(net);
}

/* Linear regression y = 2 x1 - x2 + 0.5 with {2, 1} identity/SQUARED and alpha 0 recovers the
 * coefficients. */
static void test_linear_regression(void **state) {
    (void)state;
    const size_t n = 50, sizes[] = {2, 1};
    const mlp_activation acts[] = {MLP_ACT_IDENTITY};
    float X[100], Y[50];
    tu_rng r;
    tu_rng_seed(&r, 5);
    for (size_t i = 0; i < n; i++) {
        X[2 * i] = tu_rng_range(&r, -1, 1);
        X[2 * i + 1] = tu_rng_range(&r, -1, 1);
        Y[i] = 2.0f * X[2 * i] - X[2 * i + 1] + 0.5f;
    }
    mlp_net *net = tu_make_net_opt(sizes, acts, 1, MLP_LOSS_SQUARED, 3, MLP_OPT_ADAM, 0.05f, 0.0f);
    assert_non_null(net);
    train(net, X, Y, n, 2000, NULL);
    const float *p = mlp_net_params(net); /* W[0], W[1], b */
    TU_ASSERT_NEAR(p[0], 2.0, 1e-2);
    TU_ASSERT_NEAR(p[1], -1.0, 1e-2);
    TU_ASSERT_NEAR(p[2], 0.5, 1e-2);
    mlp_net_free(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_and_gate),
        cmocka_unit_test(test_and_gate_sgd),
        cmocka_unit_test(test_xor),
        cmocka_unit_test(test_three_classes),
        cmocka_unit_test(test_linear_regression),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
