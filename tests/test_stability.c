/* Numerical stability at extreme pre-activations: softmax, logistic, tanh and GELU at +-1000 (and
 * beyond) stay finite, and so do the losses and gradients computed from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "kernel_util.h"
#include "test_util.h"

#include <float.h>

/* softmax of {1000, -1000, 0} = {1, 0, 0} (e^-1000 and e^-2000 underflow to 0);
 * softmax of {-1000, -1000, -1000} = {1/3, 1/3, 1/3}; softmax of {1000, 1000, -1000} = {.5, .5, 0}
 */
static void test_softmax_extreme_kernel(void **state) {
    (void)state;
    float Z[9] = {1000, -1000, 0, -1000, -1000, -1000, 1000, 1000, -1000};
    const float b[3] = {0, 0, 0};
    tk_bias_act_forward(Z, NULL, b, 3, 3, MLP_ACT_SOFTMAX);
    assert_true(tu_all_finite(Z, 9));
    const float want[9] = {1, 0, 0, 1.0f / 3, 1.0f / 3, 1.0f / 3, 0.5f, 0.5f, 0};
    for (int i = 0; i < 9; i++) TU_ASSERT_NEAR(Z[i], want[i], 1e-6);

    /* CE with the true class at the -1000 logit: p = 0 clipped to FLT_EPSILON, so row 0 costs
     * -log(FLT_EPSILON) = 15.942385; rows 1 and 2 (true classes 0 and 1) cost log 3 and log 2.
     * loss = (15.942385 + 1.098612 + 0.693147) / 3 = 5.911381 */
    const float Y[9] = {0, 1, 0, 1, 0, 0, 0, 1, 0};
    float row_loss[3];
    double loss = tk_loss_data(Z, Y, 3, 3, MLP_LOSS_SOFTMAX_CE, row_loss);
    assert_true(isfinite(loss));
    TU_ASSERT_NEAR(loss, (-log((double)FLT_EPSILON) + log(3.0) + log(2.0)) / 3.0, 1e-4);

    /* Backward through the Jacobian stays finite. */
    float G[9];
    tk_loss_delta(G, Z, Y, 3, 3);
    assert_true(tu_all_finite(G, 9));
    tk_act_backward(G, Z, NULL, 3, 3, MLP_ACT_SOFTMAX);
    assert_true(tu_all_finite(G, 9));
}

/* logistic(1000) = 1, logistic(-1000) = 0; LOGISTIC loss with y opposite to p costs
 * -log(FLT_EPSILON) per element after clipping. */
static void test_logistic_extreme_kernel(void **state) {
    (void)state;
    float Z[4] = {1000, -1000, 1e30f, -1e30f};
    const float b[4] = {0, 0, 0, 0};
    tk_bias_act_forward(Z, NULL, b, 1, 4, MLP_ACT_LOGISTIC);
    assert_true(tu_all_finite(Z, 4));
    TU_ASSERT_NEAR(Z[0], 1.0, 1e-7);
    TU_ASSERT_NEAR(Z[1], 0.0, 1e-7);
    TU_ASSERT_NEAR(Z[2], 1.0, 1e-7);
    TU_ASSERT_NEAR(Z[3], 0.0, 1e-7);
    const float Y[4] = {0, 1, 0, 1};
    float row_loss[1];
    double loss = tk_loss_data(Z, Y, 1, 4, MLP_LOSS_LOGISTIC, row_loss);
    assert_true(isfinite(loss));
    TU_ASSERT_NEAR(loss, -4.0 * log((double)FLT_EPSILON), 1e-3);
    float G[4] = {1, 1, 1, 1};
    tk_act_backward(G, Z, NULL, 1, 4, MLP_ACT_LOGISTIC);
    assert_true(tu_all_finite(G, 4));
    for (int i = 0; i < 4; i++) TU_ASSERT_NEAR(G[i], 0.0, 1e-6);
}

/* tanh(+-1000) = +-1 with derivative 0; GELU(1000) = 1000 with derivative 1, GELU(-1000) = 0
 * with derivative 0 (z phi(z) underflows to 0). Also at +-1e30. */
static void test_tanh_gelu_extreme_kernel(void **state) {
    (void)state;
    const float b[4] = {0, 0, 0, 0};
    float T[4] = {1000, -1000, 1e30f, -1e30f};
    tk_bias_act_forward(T, NULL, b, 1, 4, MLP_ACT_TANH);
    assert_true(tu_all_finite(T, 4));
    TU_ASSERT_NEAR(T[0], 1.0, 1e-7);
    TU_ASSERT_NEAR(T[1], -1.0, 1e-7);
    TU_ASSERT_NEAR(T[2], 1.0, 1e-7);
    TU_ASSERT_NEAR(T[3], -1.0, 1e-7);
    float GT[4] = {1, 1, 1, 1};
    tk_act_backward(GT, T, NULL, 1, 4, MLP_ACT_TANH);
    assert_true(tu_all_finite(GT, 4));
    for (int i = 0; i < 4; i++) TU_ASSERT_NEAR(GT[i], 0.0, 1e-6);

    float Gz[4] = {1000, -1000, 1e30f, -1e30f}, pre[4];
    tk_bias_act_forward(Gz, pre, b, 1, 4, MLP_ACT_GELU);
    assert_true(tu_all_finite(Gz, 4));
    TU_ASSERT_NEAR(Gz[0], 1000.0, 1e-3);
    TU_ASSERT_NEAR(Gz[1], 0.0, 1e-6);
    assert_true(fabs(Gz[2] / 1e30 - 1.0) < 1e-6);
    TU_ASSERT_NEAR(Gz[3], 0.0, 1e-6);
    float GG[4] = {1, 1, 1, 1};
    tk_act_backward(GG, Gz, pre, 1, 4, MLP_ACT_GELU);
    assert_true(tu_all_finite(GG, 4));
    TU_ASSERT_NEAR(GG[0], 1.0, 1e-6);
    TU_ASSERT_NEAR(GG[1], 0.0, 1e-6);
    TU_ASSERT_NEAR(GG[2], 1.0, 1e-6);
    TU_ASSERT_NEAR(GG[3], 0.0, 1e-6);
}

/* mlp_forward then mlp_backward of n rows: the output, the loss and every gradient are finite;
 * returns the loss. */
static float finite_pass(mlp_net *net, const float *X, const float *Y, size_t n) {
    assert_int_equal(mlp_forward(net, X, n), MLP_OK);
    assert_true(tu_all_finite(mlp_forward_output(net), n * mlp_net_output_size(net)));
    float loss = NAN;
    assert_int_equal(mlp_backward(net, Y, &loss), MLP_OK);
    assert_true(isfinite(loss));
    assert_true(tu_all_finite(mlp_net_grads(net), mlp_net_param_count(net)));
    return loss;
}

/* Through the public API: a 1-layer net {2,3} whose logits for x = (1, 0) are
 * {1000, -1000, 0} (W row 0 = {1000, -1000, 0}) and for x = (0, 1) are {-1000, 0, 1000}. */
static void test_softmax_extreme_net(void **state) {
    (void)state;
    const size_t sizes[] = {2, 3};
    const mlp_activation acts[] = {MLP_ACT_SOFTMAX};
    mlp_net *net =
        tu_make_net_opt(sizes, acts, 1, MLP_LOSS_SOFTMAX_CE, 5, MLP_OPT_SGD, 0.01f, 1e-4f);
    assert_non_null(net);
    float *W = NULL, *bb = NULL;
    assert_int_equal(mlp_net_layer_params(net, 0, &W, &bb), MLP_OK);
    const float w[6] = {1000, -1000, 0, -1000, 0, 1000};
    memcpy(W, w, sizeof w);
    memset(bb, 0, 3 * sizeof(float));
    const float X[4] = {1, 0, 0, 1};
    const float Y[6] = {0, 1, 0, 1, 0, 0}; /* both rows: true class has p = 0 */
    float P[6];
    assert_int_equal(mlp_predict(net, X, 2, P), MLP_OK);
    assert_true(tu_all_finite(P, 6));
    TU_ASSERT_NEAR(P[0], 1.0, 1e-6);
    TU_ASSERT_NEAR(P[5], 1.0, 1e-6);
    float loss = finite_pass(net, X, Y, 2);
    assert_true(loss > 15.0f); /* -log(FLT_EPSILON) = 15.94 per row, plus L2 */
    assert_int_equal(mlp_update(net), MLP_OK);
    assert_true(tu_all_finite(mlp_net_params(net), mlp_net_param_count(net)));
    float ls = NAN;
    assert_int_equal(mlp_train_step(net, X, Y, 2, &ls), MLP_OK);
    assert_true(isfinite(ls));
    assert_true(tu_all_finite(mlp_net_params(net), mlp_net_param_count(net)));
    mlp_net_free(net);
}

/* Logistic output at +-1000 with LOGISTIC loss and with SQUARED loss. */
static void test_logistic_extreme_net(void **state) {
    (void)state;
    const size_t sizes[] = {1, 2};
    const mlp_activation acts[] = {MLP_ACT_LOGISTIC};
    for (int sq = 0; sq < 2; sq++) {
        mlp_net *net = tu_make_net(sizes, acts, 1, sq ? MLP_LOSS_SQUARED : MLP_LOSS_LOGISTIC,
                                   MLP_INIT_GLOROT, 6);
        assert_non_null(net);
        const float params[4] = {1000, -1000, 0, 0}; /* W [1x2], b [2] */
        assert_int_equal(mlp_net_set_params(net, params, 4), MLP_OK);
        const float X[2] = {1, -1}, Y[4] = {0, 1, 1, 0};
        float P[4];
        assert_int_equal(mlp_predict(net, X, 2, P), MLP_OK);
        assert_true(tu_all_finite(P, 4));
        TU_ASSERT_NEAR(P[0], 1.0, 1e-7);
        TU_ASSERT_NEAR(P[1], 0.0, 1e-7);
        finite_pass(net, X, Y, 2);
        int32_t labels[2];
        assert_int_equal(mlp_predict_labels(net, X, 2, labels), MLP_OK);
        mlp_net_free(net);
    }
}

/* Hidden tanh and GELU layers driven to +-1000 keep the whole step finite. */
static void test_hidden_extreme_net(void **state) {
    (void)state;
    const mlp_activation hid[] = {MLP_ACT_TANH, MLP_ACT_GELU, MLP_ACT_LOGISTIC};
    for (size_t h = 0; h < 3; h++) {
        const size_t sizes[] = {1, 2, 2};
        const mlp_activation acts[] = {hid[h], MLP_ACT_SOFTMAX};
        mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 7);
        assert_non_null(net);
        /* layer 0: W = [1000 -1000], b = 0; layer 1: W = [[1 0][0 1]], b = 0 */
        const float params[10] = {1000, -1000, 0, 0, 1, 0, 0, 1, 0, 0};
        assert_int_equal(mlp_net_set_params(net, params, 10), MLP_OK);
        const float X[2] = {1, -1}, Y[4] = {1, 0, 0, 1};
        finite_pass(net, X, Y, 2);
        mlp_net_free(net);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_extreme_kernel),
        cmocka_unit_test(test_logistic_extreme_kernel),
        cmocka_unit_test(test_tanh_gelu_extreme_kernel),
        cmocka_unit_test(test_softmax_extreme_net),
        cmocka_unit_test(test_logistic_extreme_net),
        cmocka_unit_test(test_hidden_extreme_net),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
