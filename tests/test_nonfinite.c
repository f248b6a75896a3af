/* The step API never swallows a non-finite value: a NaN or infinity in the input or targets, a
 * non-finite loss term or gradient makes mlp_train_step / mlp_backward / mlp_update fail with a
 * status and a message naming the row and column (or the layer), and leaves the parameters, the
 * optimizer moments and the step count exactly as they were. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mlp/mlp.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { N = 40, D = 6, H = 5, K = 3 };

typedef struct fixture {
    mlp_net *net;
    float X[N * D], Y[N * K];
    float *before; /* params, then the optimizer state after one good step */
    size_t np;
    uint64_t step;
} fixture;

static void setup(fixture *f, mlp_activation hidden, mlp_optimizer_kind kind) {
    const size_t sizes[] = {D, H, K};
    const mlp_activation acts[] = {hidden, MLP_ACT_SOFTMAX};
    f->net = tu_make_net_opt(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, 3, kind, 1e-2f, 1e-4f);
    assert_non_null(f->net);
    tu_rng r;
    tu_rng_seed(&r, 17);
    tu_fill_uniform(f->X, N * D, &r, -1, 1);
    tu_fill_onehot(f->Y, NULL, N, K, &r);
    float loss;
    /* One good step first, so that the moments are not all zero. */
    assert_int_equal(mlp_train_step(f->net, f->X, f->Y, N, &loss), MLP_OK);
    f->np = mlp_net_param_count(f->net);
    f->step = mlp_net_step_count(f->net);
    f->before = tu_floats(f->np);
    memcpy(f->before, mlp_net_params(f->net), f->np * sizeof(float));
}

/* The parameters and the step count are what they were after the good step; a further good step
 * then gives the same parameters as on a net that never saw the bad one (so the moments are
 * unchanged too). */
static void check_unchanged(fixture *f, mlp_activation hidden, mlp_optimizer_kind kind) {
    assert_memory_equal(mlp_net_params(f->net), f->before, f->np * sizeof(float));
    assert_int_equal(mlp_net_step_count(f->net), f->step);
    fixture ref;
    setup(&ref, hidden, kind);
    float l1, l2;
    assert_int_equal(mlp_train_step(f->net, f->X, f->Y, N, &l1), MLP_OK);
    assert_int_equal(mlp_train_step(ref.net, ref.X, ref.Y, N, &l2), MLP_OK);
    assert_memory_equal(mlp_net_params(f->net), mlp_net_params(ref.net), f->np * sizeof(float));
    assert_memory_equal(&l1, &l2, sizeof l1);
    free(ref.before);
    mlp_net_free(ref.net);
}

static void expect_message(const char *want) {
    if (!strstr(mlp_last_error(), want)) {
        print_error("message '%s' lacks '%s'\n", mlp_last_error(), want);
        fail();
    }
}

/* One NaN (or infinity) in X, for every hidden activation: ReLU(NaN) = 0 used to hide it. */
static void test_nonfinite_input(void **state) {
    (void)state;
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int a = 0; a < MLP_ACT_COUNT; a++) {
        if (a == MLP_ACT_SOFTMAX || a == MLP_ACT_EXP) continue; /* output layers only */
        for (int b = 0; b < 3; b++) {
            fixture f;
            setup(&f, (mlp_activation)a, MLP_OPT_ADAM);
            const float saved = f.X[7 * D + 4];
            f.X[7 * D + 4] = bad[b];
            float loss = 123.0f;
            assert_int_equal(mlp_train_step(f.net, f.X, f.Y, N, &loss), MLP_ERR_ARG);
            expect_message("X row 7 column 4");
            assert_true(loss == 123.0f); /* outputs untouched on failure */
            f.X[7 * D + 4] = saved;
            check_unchanged(&f, (mlp_activation)a, MLP_OPT_ADAM);
            free(f.before);
            mlp_net_free(f.net);
        }
    }
}

static void test_nonfinite_targets(void **state) {
    (void)state;
    for (int kind = 0; kind <= MLP_OPT_ADAM; kind++) {
        fixture f;
        setup(&f, MLP_ACT_TANH, (mlp_optimizer_kind)kind);
        float saved = f.Y[11 * K + 2];
        f.Y[11 * K + 2] = NAN;
        float loss;
        assert_int_equal(mlp_train_step(f.net, f.X, f.Y, N, &loss), MLP_ERR_ARG);
        expect_message("Y row 11 column 2");
        f.Y[11 * K + 2] = saved;
        check_unchanged(&f, MLP_ACT_TANH, (mlp_optimizer_kind)kind);
        free(f.before);
        mlp_net_free(f.net);
    }
}

/* Finite data, weights so large that the logistic layer's gradient overflows: divergence, named
 * by layer, nothing applied. */
static void test_nonfinite_gradient(void **state) {
    (void)state;
    fixture f;
    setup(&f, MLP_ACT_IDENTITY, MLP_OPT_SGD);
    float *W0, *b0;
    assert_int_equal(mlp_net_layer_params(f.net, 0, &W0, &b0), MLP_OK);
    for (size_t i = 0; i < D * H; i++) W0[i] = 3e37f;
    memcpy(f.before, mlp_net_params(f.net), f.np * sizeof(float));
    float loss;
    assert_int_equal(mlp_train_step(f.net, f.X, f.Y, N, &loss), MLP_ERR_DIVERGED);
    expect_message("nothing was changed");
    assert_memory_equal(mlp_net_params(f.net), f.before, f.np * sizeof(float));
    assert_int_equal(mlp_net_step_count(f.net), f.step);
    /* The same through the parts: backward fails, and update then refuses. */
    assert_int_equal(mlp_forward(f.net, f.X, N), MLP_OK);
    assert_int_equal(mlp_backward(f.net, f.Y, &loss), MLP_ERR_DIVERGED);
    assert_int_equal(mlp_update(f.net), MLP_ERR_STATE);
    assert_memory_equal(mlp_net_params(f.net), f.before, f.np * sizeof(float));
    free(f.before);
    mlp_net_free(f.net);
}

/* Gradients rewritten by the caller between backward and update (an allreduce, say) are checked
 * by mlp_update before anything is applied. */
static void test_update_checks_caller_gradients(void **state) {
    (void)state;
    fixture f;
    setup(&f, MLP_ACT_RELU, MLP_OPT_ADAM);
    float loss;
    assert_int_equal(mlp_forward(f.net, f.X, N), MLP_OK);
    assert_int_equal(mlp_backward(f.net, f.Y, &loss), MLP_OK);
    mlp_net_grads(f.net)[f.np - 1] = INFINITY; /* the output bias of the last class */
    assert_int_equal(mlp_update(f.net), MLP_ERR_DIVERGED);
    expect_message("layer 1");
    assert_memory_equal(mlp_net_params(f.net), f.before, f.np * sizeof(float));
    assert_int_equal(mlp_net_step_count(f.net), f.step);
    free(f.before);
    mlp_net_free(f.net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonfinite_input),
        cmocka_unit_test(test_nonfinite_targets),
        cmocka_unit_test(test_nonfinite_gradient),
        cmocka_unit_test(test_update_checks_caller_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
