/* Sample weights in the step API (mlp_train_step_weighted, mlp_backward_weighted): the loss and
 * gradient of integer weights are those of repeated rows, zero weights those of dropped rows,
 * unit weights give the bits of the unweighted step, for every loss; bad weights are refused with
 * nothing changed; the weighted step does not depend on the thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include "test_util.h"

#include <string.h>

#define N 12
#define D 5
#define H 7

typedef struct loss_case {
    mlp_activation out;
    mlp_loss loss;
    size_t k;
} loss_case;

static const loss_case cases[] = {
    {MLP_ACT_SOFTMAX, MLP_LOSS_SOFTMAX_CE, 3},
    {MLP_ACT_LOGISTIC, MLP_LOSS_LOGISTIC, 2},
    {MLP_ACT_IDENTITY, MLP_LOSS_SQUARED, 2},
    {MLP_ACT_TANH, MLP_LOSS_SQUARED, 2}, /* squared error through a non-identity output: f' */
};

static mlp_net *make(const loss_case *c, float alpha) {
    const size_t sizes[] = {D, H, c->k};
    const mlp_activation acts[] = {MLP_ACT_TANH, c->out};
    mlp_net *net = tu_make_net_opt(sizes, acts, 2, c->loss, 11, MLP_OPT_ADAM, 1e-2f, alpha);
    assert_non_null(net);
    return net;
}

/* Targets for the case: one-hot rows, 0/1 entries or values. */
static void fill_targets(float *Y, size_t n, const loss_case *c, tu_rng *r) {
    if (c->loss == MLP_LOSS_SOFTMAX_CE)
        tu_fill_onehot(Y, NULL, n, c->k, r);
    else if (c->loss == MLP_LOSS_LOGISTIC)
        for (size_t i = 0; i < n * c->k; i++) Y[i] = (float)(tu_rng_next(r) & 1);
    else
        tu_fill_uniform(Y, n * c->k, r, -0.8, 0.8);
}

/* Loss and gradients of one backward pass over X (n rows) with weights w (may be NULL). */
static float grads_of(mlp_net *net, const float *X, const float *Y, const float *w, size_t n,
                      float *g) {
    float loss = NAN;
    TU_ASSERT_OK(mlp_forward(net, X, n));
    TU_ASSERT_OK(mlp_backward_weighted(net, Y, w, &loss));
    memcpy(g, mlp_net_grads(net), mlp_net_param_count(net) * sizeof *g);
    return loss;
}

/* Rows i repeated w[i] times (w integers >= 0); returns the new row count. */
static size_t repeat_rows(float *Xr, float *Yr, const float *X, const float *Y, const float *w,
                          size_t k) {
    size_t m = 0;
    for (size_t i = 0; i < N; i++)
        for (int c = 0; c < (int)w[i]; c++, m++) {
            memcpy(Xr + m * D, X + i * D, D * sizeof *X);
            memcpy(Yr + m * k, Y + i * k, k * sizeof *Y);
        }
    return m;
}

/* Weighted pass vs the pass over repeated rows, for weights drawn below `top` (0 included). */
static void check_repeats(unsigned top) {
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const loss_case *c = &cases[ci];
        mlp_net *net = make(c, 0.05f);
        tu_rng r;
        tu_rng_seed(&r, 100 + ci);
        float X[N * D], Y[N * 3], w[N], Xr[N * 4 * D], Yr[N * 4 * 3];
        tu_fill_uniform(X, N * D, &r, -1, 1);
        fill_targets(Y, N, c, &r);
        for (size_t i = 0; i < N; i++) w[i] = (float)tu_rng_below(&r, top);
        w[0] = 1.0f; /* never all zero */
        const size_t m = repeat_rows(Xr, Yr, X, Y, w, c->k);
        const size_t np = mlp_net_param_count(net);
        float *g1 = tu_floats(np), *g2 = tu_floats(np);
        float l1 = grads_of(net, X, Y, w, N, g1);
        float l2 = grads_of(net, Xr, Yr, NULL, m, g2);
        TU_ASSERT_NEAR(l1, l2, 1e-6 * (1.0 + fabs(l2)));
        assert_true(tu_max_abs_diff(g1, g2, np) <= 1e-6 * (1.0 + tu_max_abs(g2, np)));
        free(g1);
        free(g2);
        mlp_net_free(net);
    }
}

static void test_integer_weights_equal_repeated_rows(void **state) {
    (void)state;
    check_repeats(4);
}

static void test_zero_weights_equal_dropped_rows(void **state) {
    (void)state;
    check_repeats(2);
}

/* All weights 1: the same bits as the unweighted step, parameters and loss. */
static void test_unit_weights_bitwise(void **state) {
    (void)state;
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        mlp_net *a = make(&cases[ci], 1e-3f), *b = NULL;
        TU_ASSERT_OK(mlp_net_clone(&b, a));
        tu_rng r;
        tu_rng_seed(&r, 7);
        float X[N * D], Y[N * 3], w[N];
        tu_fill_uniform(X, N * D, &r, -1, 1);
        fill_targets(Y, N, &cases[ci], &r);
        for (size_t i = 0; i < N; i++) w[i] = 1.0f;
        for (int step = 0; step < 3; step++) {
            float la, lb;
            TU_ASSERT_OK(mlp_train_step(a, X, Y, N, &la));
            TU_ASSERT_OK(mlp_train_step_weighted(b, X, Y, w, N, &lb));
            assert_memory_equal(&la, &lb, sizeof la);
        }
        const size_t np = mlp_net_param_count(a);
        assert_memory_equal(mlp_net_params(a), mlp_net_params(b), np * sizeof(float));
        mlp_net_free(a);
        mlp_net_free(b);
    }
}

/* The weighted step is forward + weighted backward + update, bit for bit. */
static void test_weighted_step_equals_parts(void **state) {
    (void)state;
    mlp_net *a = make(&cases[0], 1e-2f), *b = NULL;
    TU_ASSERT_OK(mlp_net_clone(&b, a));
    tu_rng r;
    tu_rng_seed(&r, 9);
    float X[N * D], Y[N * 3], w[N];
    tu_fill_uniform(X, N * D, &r, -1, 1);
    fill_targets(Y, N, &cases[0], &r);
    tu_fill_uniform(w, N, &r, 0, 3);
    float la, lb;
    TU_ASSERT_OK(mlp_train_step_weighted(a, X, Y, w, N, &la));
    TU_ASSERT_OK(mlp_forward(b, X, N));
    TU_ASSERT_OK(mlp_backward_weighted(b, Y, w, &lb));
    TU_ASSERT_OK(mlp_update(b));
    assert_memory_equal(&la, &lb, sizeof la);
    assert_memory_equal(mlp_net_params(a), mlp_net_params(b),
                        mlp_net_param_count(a) * sizeof(float));
    mlp_net_free(a);
    mlp_net_free(b);
}

/* A negative, NaN or infinite weight, or weights summing to 0: MLP_ERR_ARG naming the row, and
 * parameters and step count unchanged. */
static void test_bad_weights_refused(void **state) {
    (void)state;
    mlp_net *net = make(&cases[0], 1e-3f);
    tu_rng r;
    tu_rng_seed(&r, 3);
    float X[N * D], Y[N * 3], w[N];
    tu_fill_uniform(X, N * D, &r, -1, 1);
    fill_targets(Y, N, &cases[0], &r);
    const size_t np = mlp_net_param_count(net);
    float *before = tu_floats(np);
    memcpy(before, mlp_net_params(net), np * sizeof(float));
    const float bad[] = {-1.0f, NAN, INFINITY};
    for (size_t b = 0; b < 3; b++) {
        for (size_t i = 0; i < N; i++) w[i] = 1.0f;
        w[5] = bad[b];
        float loss = 42.0f;
        assert_int_equal(mlp_train_step_weighted(net, X, Y, w, N, &loss), MLP_ERR_ARG);
        assert_non_null(strstr(mlp_last_error(), "row 5"));
        assert_true(loss == 42.0f);
        TU_ASSERT_OK(mlp_forward(net, X, N));
        assert_int_equal(mlp_backward_weighted(net, Y, w, &loss), MLP_ERR_ARG);
        assert_non_null(strstr(mlp_last_error(), "row 5"));
    }
    for (size_t i = 0; i < N; i++) w[i] = 0.0f;
    assert_int_equal(mlp_train_step_weighted(net, X, Y, w, N, NULL), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "sum to 0"));
    assert_memory_equal(mlp_net_params(net), before, np * sizeof(float));
    assert_int_equal(mlp_net_step_count(net), 0);
    free(before);
    mlp_net_free(net);
}

/* A weighted step large enough to use threads gives the same bits at 1, 2 and 3 threads. */
static void test_weighted_threads_identical(void **state) {
    (void)state;
    enum { BN = 512, BD = 128, BH = 256, BK = 10 };
    const size_t sizes[] = {BD, BH, BK};
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    float *X = tu_floats(BN * BD), *Y = tu_floats(BN * BK), *w = tu_floats(BN);
    tu_rng r;
    tu_rng_seed(&r, 21);
    tu_fill_uniform(X, BN * BD, &r, -1, 1);
    tu_fill_onehot(Y, NULL, BN, BK, &r);
    tu_fill_uniform(w, BN, &r, 0, 2);
    float *ref = NULL;
    size_t np = 0;
    const int saved = mlp_get_num_threads();
    for (int t = 1; t <= 3; t++) {
        TU_ASSERT_OK(mlp_set_num_threads(t));
        mlp_net *net =
            tu_make_net_opt(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, 5, MLP_OPT_ADAM, 1e-3f, 1e-4f);
        assert_non_null(net);
        for (int s = 0; s < 3; s++) TU_ASSERT_OK(mlp_train_step_weighted(net, X, Y, w, BN, NULL));
        np = mlp_net_param_count(net);
        if (!ref) {
            ref = tu_floats(np);
            memcpy(ref, mlp_net_params(net), np * sizeof(float));
        } else {
            assert_memory_equal(ref, mlp_net_params(net), np * sizeof(float));
        }
        mlp_net_free(net);
    }
    TU_ASSERT_OK(mlp_set_num_threads(saved));
    free(ref);
    free(X);
    free(Y);
    free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_weights_equal_repeated_rows),
        cmocka_unit_test(test_zero_weights_equal_dropped_rows),
        cmocka_unit_test(test_unit_weights_bitwise),
        cmocka_unit_test(test_weighted_step_equals_parts),
        cmocka_unit_test(test_bad_weights_refused),
        cmocka_unit_test(test_weighted_threads_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
