/* Every documented error path returns a status (never crashes or aborts) and leaves a message in
 * mlp_last_error(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "test_util.h"

#include <stdio.h>

/* Asserts st == want and that a non-empty detailed message was recorded by this very call
 * (the message is cleared first with the internal mlp_clear_error). */
#define EXPECT_FAIL(call, want)                                                                    \
    do {                                                                                           \
        mlp_clear_error();                                                                         \
        mlp_status st_ = (call);                                                                   \
        if (st_ != (want)) {                                                                       \
            print_error("%s: got status %d (%s), want %d\n", #call, (int)st_, mlp_strerror(st_),   \
                        (int)(want));                                                              \
            fail();                                                                                \
        }                                                                                          \
        assert_non_null(mlp_last_error());                                                         \
        assert_true(mlp_last_error()[0] != '\0');                                                  \
    } while (0)

/* Same, accepting either of two statuses. */
#define EXPECT_FAIL2(call, want1, want2)                                                           \
    do {                                                                                           \
        mlp_clear_error();                                                                         \
        mlp_status st_ = (call);                                                                   \
        if (st_ != (want1) && st_ != (want2)) {                                                    \
            print_error("%s: got status %d (%s), want %d or %d\n", #call, (int)st_,                \
                        mlp_strerror(st_), (int)(want1), (int)(want2));                            \
            fail();                                                                                \
        }                                                                                          \
        assert_true(mlp_last_error()[0] != '\0');                                                  \
    } while (0)

static const size_t ok_sizes[] = {3, 4, 2};
static const mlp_activation ok_acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};

static mlp_net_config ok_config(void) {
    mlp_net_config c;
    memset(&c, 0, sizeof c);
    c.n_layers = 2;
    c.sizes = ok_sizes;
    c.activations = ok_acts;
    c.loss = MLP_LOSS_SOFTMAX_CE;
    c.init = MLP_INIT_GLOROT;
    c.seed = 1;
    return c;
}

static mlp_net *ok_net(void) {
    mlp_net_config c = ok_config();
    mlp_net *net = NULL;
    if (mlp_net_create(&net, &c) != MLP_OK) return NULL;
    return net;
}

/* Creating with cfg must fail with want (or want2) and set *net to NULL. */
static void expect_create_fails(const mlp_net_config *cfg, mlp_status want, mlp_status want2) {
    mlp_net *net = (mlp_net *)(uintptr_t)0x1; /* sentinel: must be overwritten with NULL */
    mlp_clear_error();
    mlp_status st = mlp_net_create(&net, cfg);
    if (st != want && st != want2) {
        print_error("mlp_net_create: got status %d (%s), want %d or %d; n_layers=%zu\n", (int)st,
                    mlp_strerror(st), (int)want, (int)want2, cfg ? cfg->n_layers : (size_t)0);
        fail();
    }
    assert_null(net);
    assert_true(mlp_last_error()[0] != '\0');
}

static void test_strerror(void **state) {
    (void)state;
    for (int a = 0; a < MLP_STATUS_COUNT; a++) {
        const char *sa = mlp_strerror((mlp_status)a);
        assert_non_null(sa);
        assert_true(sa[0] != '\0');
        for (int b = 0; b < a; b++) assert_string_not_equal(sa, mlp_strerror((mlp_status)b));
    }
    assert_non_null(mlp_strerror((mlp_status)999));
    assert_non_null(mlp_strerror(MLP_STATUS_COUNT));
    assert_non_null(mlp_strerror((mlp_status)-1));
    mlp_clear_error();
    assert_non_null(mlp_last_error());
    assert_string_equal(mlp_last_error(), "");
}

static void test_create_null(void **state) {
    (void)state;
    mlp_net_config c = ok_config();
    EXPECT_FAIL(mlp_net_create(NULL, &c), MLP_ERR_NULL);
    expect_create_fails(NULL, MLP_ERR_NULL, MLP_ERR_NULL);
    c.sizes = NULL;
    expect_create_fails(&c, MLP_ERR_NULL, MLP_ERR_NULL);
    c = ok_config();
    c.activations = NULL;
    expect_create_fails(&c, MLP_ERR_NULL, MLP_ERR_NULL);
}

static void test_create_bad_args(void **state) {
    (void)state;
    mlp_net_config c = ok_config();
    c.n_layers = 0;
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);

    /* a zero width anywhere */
    for (size_t i = 0; i < 3; i++) {
        size_t sizes[3] = {3, 4, 2};
        sizes[i] = 0;
        c = ok_config();
        c.sizes = sizes;
        expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);
    }

    /* softmax on a hidden layer */
    const mlp_activation soft_hidden[] = {MLP_ACT_SOFTMAX, MLP_ACT_SOFTMAX};
    c = ok_config();
    c.activations = soft_hidden;
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);

    /* loss/output mismatches */
    const mlp_activation id_out[] = {MLP_ACT_RELU, MLP_ACT_IDENTITY};
    const mlp_activation log_out[] = {MLP_ACT_RELU, MLP_ACT_LOGISTIC};
    c = ok_config();
    c.activations = id_out; /* SOFTMAX_CE without softmax output */
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);
    c.activations = log_out; /* SOFTMAX_CE with logistic output */
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);
    c = ok_config();
    c.loss = MLP_LOSS_LOGISTIC; /* LOGISTIC with softmax output */
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);
    c.activations = id_out; /* LOGISTIC with identity output */
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);

    /* unknown enum values */
    const mlp_activation bad_hidden[] = {MLP_ACT_COUNT, MLP_ACT_SOFTMAX};
    const mlp_activation bad_out[] = {MLP_ACT_RELU, (mlp_activation)999};
    c = ok_config();
    c.activations = bad_hidden;
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);
    c.loss = MLP_LOSS_SQUARED;
    c.activations = bad_out;
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);
    c = ok_config();
    c.loss = MLP_LOSS_COUNT;
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);
    c.loss = (mlp_loss)12345;
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);
    c = ok_config();
    c.init = MLP_INIT_COUNT;
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);
    c.init = (mlp_init)777;
    expect_create_fails(&c, MLP_ERR_ARG, MLP_ERR_ARG);

    /* SQUARED accepts any output activation (sanity: the valid neighbour of the cases above) */
    const mlp_activation any_out[] = {MLP_ACT_TANH, MLP_ACT_SOFTMAX};
    c = ok_config();
    c.loss = MLP_LOSS_SQUARED;
    c.activations = any_out;
    mlp_net *net = NULL;
    assert_int_equal(mlp_net_create(&net, &c), MLP_OK);
    assert_non_null(net);
    mlp_net_free(net);
}

static void test_create_overflow(void **state) {
    (void)state;
    mlp_net_config c = ok_config();
    const mlp_activation acts1[] = {MLP_ACT_SOFTMAX};
    const mlp_activation acts2[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    /* in * out overflows size_t */
    const size_t s1[] = {SIZE_MAX / 2, 4};
    c.n_layers = 1;
    c.sizes = s1;
    c.activations = acts1;
    expect_create_fails(&c, MLP_ERR_OVERFLOW, MLP_ERR_NOMEM);
    /* the element count fits but the byte count (x4) does not */
    const size_t s2[] = {SIZE_MAX / 4, 2, 2};
    c.n_layers = 2;
    c.sizes = s2;
    c.activations = acts2;
    expect_create_fails(&c, MLP_ERR_OVERFLOW, MLP_ERR_NOMEM);
    /* 2^30 x 2^30 = 2^60 weights (2^62 bytes): fits size_t, far beyond any memory */
    const size_t s3[] = {(size_t)1 << 30, (size_t)1 << 30, 2};
    c.sizes = s3;
    expect_create_fails(&c, MLP_ERR_OVERFLOW, MLP_ERR_NOMEM);
    /* the sum of the layer counts overflows */
    const size_t s4[] = {1, SIZE_MAX / 2, 1};
    c.sizes = s4;
    expect_create_fails(&c, MLP_ERR_OVERFLOW, MLP_ERR_NOMEM);
}

static void test_clone_and_free_null(void **state) {
    (void)state;
    mlp_net *net = ok_net();
    assert_non_null(net);
    EXPECT_FAIL(mlp_net_clone(NULL, net), MLP_ERR_NULL);
    mlp_net *dst = (mlp_net *)(uintptr_t)0x1;
    EXPECT_FAIL(mlp_net_clone(&dst, NULL), MLP_ERR_NULL);
    mlp_net_free(NULL);
    mlp_net_free(net);
}

static void test_reserve_huge(void **state) {
    (void)state;
    mlp_net *net = ok_net();
    assert_non_null(net);
    EXPECT_FAIL2(mlp_net_reserve(net, SIZE_MAX / 8), MLP_ERR_OVERFLOW, MLP_ERR_NOMEM);
    EXPECT_FAIL2(mlp_net_reserve(net, SIZE_MAX), MLP_ERR_OVERFLOW, MLP_ERR_NOMEM);
    EXPECT_FAIL2(mlp_net_reserve(net, (size_t)1 << 60), MLP_ERR_OVERFLOW, MLP_ERR_NOMEM);
    EXPECT_FAIL(mlp_net_reserve(NULL, 10), MLP_ERR_NULL);
    /* the net is still usable afterwards */
    float X[6] = {1, 2, 3, 4, 5, 6}, P[4];
    assert_int_equal(mlp_predict(net, X, 2, P), MLP_OK);
    assert_true(tu_all_finite(P, 4));
    mlp_net_free(net);
}

static void test_layer_index_and_counts(void **state) {
    (void)state;
    mlp_net *net = ok_net();
    assert_non_null(net);
    size_t in, out;
    mlp_activation a;
    float *W, *b;
    EXPECT_FAIL(mlp_net_layer_shape(net, 2, &in, &out, &a), MLP_ERR_ARG);
    EXPECT_FAIL(mlp_net_layer_shape(net, SIZE_MAX, &in, &out, &a), MLP_ERR_ARG);
    EXPECT_FAIL(mlp_net_layer_params(net, 2, &W, &b), MLP_ERR_ARG);
    EXPECT_FAIL(mlp_net_layer_grads(net, 5, &W, &b), MLP_ERR_ARG);
    EXPECT_FAIL(mlp_net_layer_shape(NULL, 0, &in, &out, &a), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_net_layer_params(NULL, 0, &W, &b), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_net_layer_grads(NULL, 0, &W, &b), MLP_ERR_NULL);

    size_t np = mlp_net_param_count(net);
    assert_int_equal(np, 3 * 4 + 4 + 4 * 2 + 2);
    float *buf = tu_floats(np + 1), *before = tu_floats(np);
    memcpy(before, mlp_net_params(net), np * sizeof(float));
    for (size_t i = 0; i <= np; i++) buf[i] = 42.0f;
    EXPECT_FAIL(mlp_net_get_params(net, buf, np - 1), MLP_ERR_SHAPE);
    EXPECT_FAIL(mlp_net_get_params(net, buf, np + 1), MLP_ERR_SHAPE);
    EXPECT_FAIL(mlp_net_get_params(net, buf, 0), MLP_ERR_SHAPE);
    EXPECT_FAIL(mlp_net_set_params(net, buf, np - 1), MLP_ERR_SHAPE);
    EXPECT_FAIL(mlp_net_set_params(net, buf, np + 1), MLP_ERR_SHAPE);
    /* outputs untouched on failure */
    assert_memory_equal(before, mlp_net_params(net), np * sizeof(float));
    for (size_t i = 0; i <= np; i++) assert_true(buf[i] == 42.0f);
    EXPECT_FAIL(mlp_net_get_params(net, NULL, np), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_net_set_params(net, NULL, np), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_net_get_params(NULL, buf, np), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_net_set_params(NULL, buf, np), MLP_ERR_NULL);
    free(buf), free(before);
    mlp_net_free(net);
}

static void test_batch_args(void **state) {
    (void)state;
    mlp_net *net = ok_net();
    assert_non_null(net);
    float X[6] = {1, 2, 3, 4, 5, 6}, Y[4] = {1, 0, 0, 1}, P[4], loss;
    int32_t labels[2];
    /* NULL net */
    EXPECT_FAIL(mlp_predict(NULL, X, 2, P), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_predict_labels(NULL, X, 2, labels), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_train_step(NULL, X, Y, 2, &loss), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_forward(NULL, X, 2), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_backward(NULL, Y, &loss), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_update(NULL), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_loss_value(NULL, X, Y, 2, &loss), MLP_ERR_NULL);
    /* NULL X / Y / out */
    EXPECT_FAIL(mlp_predict(net, NULL, 2, P), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_predict(net, X, 2, NULL), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_predict_labels(net, NULL, 2, labels), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_predict_labels(net, X, 2, NULL), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_train_step(net, NULL, Y, 2, &loss), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_train_step(net, X, NULL, 2, &loss), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_forward(net, NULL, 2), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_loss_value(net, NULL, Y, 2, &loss), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_loss_value(net, X, NULL, 2, &loss), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_loss_value(net, X, Y, 2, NULL), MLP_ERR_NULL);
    /* n == 0 */
    EXPECT_FAIL(mlp_predict(net, X, 0, P), MLP_ERR_ARG);
    EXPECT_FAIL(mlp_predict_labels(net, X, 0, labels), MLP_ERR_ARG);
    EXPECT_FAIL(mlp_train_step(net, X, Y, 0, &loss), MLP_ERR_ARG);
    EXPECT_FAIL(mlp_forward(net, X, 0), MLP_ERR_ARG);
    EXPECT_FAIL(mlp_loss_value(net, X, Y, 0, &loss), MLP_ERR_ARG);
    /* n x input_size overflows size_t (X cannot exist): rejected before X is read */
    EXPECT_FAIL(mlp_predict(net, X, SIZE_MAX / 2, P), MLP_ERR_OVERFLOW);
    EXPECT_FAIL(mlp_predict_labels(net, X, SIZE_MAX / 2, labels), MLP_ERR_OVERFLOW);
    EXPECT_FAIL(mlp_forward(net, X, SIZE_MAX / 2), MLP_ERR_OVERFLOW);
    /* n x input_size fits but a workspace of n rows cannot be had: training needs all n rows at
     * once, so the workspace fails before X is read */
    EXPECT_FAIL2(mlp_forward(net, X, SIZE_MAX / 8), MLP_ERR_OVERFLOW, MLP_ERR_NOMEM);
    EXPECT_FAIL2(mlp_train_step(net, X, Y, SIZE_MAX / 8, &loss), MLP_ERR_OVERFLOW, MLP_ERR_NOMEM);
    EXPECT_FAIL2(mlp_loss_value(net, X, Y, SIZE_MAX / 8, &loss), MLP_ERR_OVERFLOW, MLP_ERR_NOMEM);
    /* failed calls leave the step count alone; the train_step with NULL loss is fine */
    assert_int_equal(mlp_net_step_count(net), 0);
    assert_int_equal(mlp_train_step(net, X, Y, 2, NULL), MLP_OK);
    assert_int_equal(mlp_net_step_count(net), 1);
    mlp_net_free(net);
}

static void test_state_errors(void **state) {
    (void)state;
    mlp_net *net = ok_net();
    assert_non_null(net);
    float X[6] = {1, 2, 3, 4, 5, 6}, Y[4] = {1, 0, 0, 1}, P[4], loss;
    /* backward before any forward */
    EXPECT_FAIL(mlp_backward(net, Y, &loss), MLP_ERR_STATE);
    /* update before any backward */
    EXPECT_FAIL(mlp_update(net), MLP_ERR_STATE);
    /* forward, then backward with NULL Y */
    assert_int_equal(mlp_forward(net, X, 2), MLP_OK);
    EXPECT_FAIL(mlp_backward(net, NULL, &loss), MLP_ERR_NULL);
    /* mlp_predict only reads the net (mlp.h): the pending forward stays valid. (It used to
     * share the workspace and invalidate it; issue "Trust under real use" item 2 changed it.) */
    assert_int_equal(mlp_forward(net, X, 2), MLP_OK);
    assert_int_equal(mlp_predict(net, X, 2, P), MLP_OK);
    assert_int_equal(mlp_backward(net, Y, &loss), MLP_OK);
    /* the regular sequence works */
    assert_int_equal(mlp_forward(net, X, 2), MLP_OK);
    assert_int_equal(mlp_backward(net, Y, &loss), MLP_OK);
    assert_int_equal(mlp_update(net), MLP_OK);
    mlp_net_free(net);
}

static void test_optimizer_values(void **state) {
    (void)state;
    mlp_net *net = ok_net();
    assert_non_null(net);
    mlp_optimizer before, after, o;
    assert_int_equal(mlp_net_get_optimizer(net, &before), MLP_OK);

    const float bad_lr[] = {0.0f, -1e-3f, NAN};
    for (size_t i = 0; i < 3; i++) {
        for (int k = 0; k < 2; k++) {
            o = mlp_optimizer_default((mlp_optimizer_kind)k);
            o.lr = bad_lr[i];
            EXPECT_FAIL(mlp_net_set_optimizer(net, &o), MLP_ERR_ARG);
        }
    }
    const float bad_alpha[] = {-1e-4f, NAN};
    for (size_t i = 0; i < 2; i++) {
        o = mlp_optimizer_default(MLP_OPT_ADAM);
        o.alpha = bad_alpha[i];
        EXPECT_FAIL(mlp_net_set_optimizer(net, &o), MLP_ERR_ARG);
    }
    const float bad_unit[] = {1.0f, 1.5f, -0.1f, NAN};
    for (size_t i = 0; i < 4; i++) {
        o = mlp_optimizer_default(MLP_OPT_SGD);
        o.momentum = bad_unit[i];
        EXPECT_FAIL(mlp_net_set_optimizer(net, &o), MLP_ERR_ARG);
        o = mlp_optimizer_default(MLP_OPT_ADAM);
        o.beta1 = bad_unit[i];
        EXPECT_FAIL(mlp_net_set_optimizer(net, &o), MLP_ERR_ARG);
        o = mlp_optimizer_default(MLP_OPT_ADAM);
        o.beta2 = bad_unit[i];
        EXPECT_FAIL(mlp_net_set_optimizer(net, &o), MLP_ERR_ARG);
    }
    const float bad_eps[] = {0.0f, -1e-8f, NAN};
    for (size_t i = 0; i < 3; i++) {
        o = mlp_optimizer_default(MLP_OPT_ADAM);
        o.eps = bad_eps[i];
        EXPECT_FAIL(mlp_net_set_optimizer(net, &o), MLP_ERR_ARG);
    }
    o = mlp_optimizer_default(MLP_OPT_SGD);
    o.nesterov = 2;
    EXPECT_FAIL(mlp_net_set_optimizer(net, &o), MLP_ERR_ARG);
    o = mlp_optimizer_default(MLP_OPT_SGD);
    o.kind = MLP_OPT_COUNT;
    EXPECT_FAIL(mlp_net_set_optimizer(net, &o), MLP_ERR_ARG);
    o.kind = (mlp_optimizer_kind)99;
    EXPECT_FAIL(mlp_net_set_optimizer(net, &o), MLP_ERR_ARG);
    o.kind = MLP_OPT_LBFGS; /* a solver of mlp_fit, not a step optimizer */
    EXPECT_FAIL(mlp_net_set_optimizer(net, &o), MLP_ERR_ARG);
    EXPECT_FAIL(mlp_net_set_optimizer(net, NULL), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_net_set_optimizer(NULL, &before), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_net_get_optimizer(net, NULL), MLP_ERR_NULL);
    EXPECT_FAIL(mlp_net_get_optimizer(NULL, &o), MLP_ERR_NULL);

    /* none of the failures changed the settings */
    assert_int_equal(mlp_net_get_optimizer(net, &after), MLP_OK);
    assert_int_equal(after.kind, before.kind);
    assert_true(after.lr == before.lr && after.alpha == before.alpha &&
                after.momentum == before.momentum && after.nesterov == before.nesterov &&
                after.beta1 == before.beta1 && after.beta2 == before.beta2 &&
                after.eps == before.eps);

    /* valid edge values: momentum 0, beta 0, alpha 0 */
    o = mlp_optimizer_default(MLP_OPT_SGD);
    o.momentum = 0.0f;
    o.alpha = 0.0f;
    o.nesterov = 0;
    assert_int_equal(mlp_net_set_optimizer(net, &o), MLP_OK);
    o = mlp_optimizer_default(MLP_OPT_ADAM);
    o.beta1 = 0.0f;
    o.beta2 = 0.0f;
    assert_int_equal(mlp_net_set_optimizer(net, &o), MLP_OK);
    mlp_net_free(net);
}

static void test_threads(void **state) {
    (void)state;
    EXPECT_FAIL(mlp_set_num_threads(0), MLP_ERR_ARG);
    EXPECT_FAIL(mlp_set_num_threads(-3), MLP_ERR_ARG);
    assert_int_equal(mlp_set_num_threads(1), MLP_OK);
    assert_int_equal(mlp_get_num_threads(), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_create_null),
        cmocka_unit_test(test_create_bad_args),
        cmocka_unit_test(test_create_overflow),
        cmocka_unit_test(test_clone_and_free_null),
        cmocka_unit_test(test_reserve_huge),
        cmocka_unit_test(test_layer_index_and_counts),
        cmocka_unit_test(test_batch_args),
        cmocka_unit_test(test_state_errors),
        cmocka_unit_test(test_optimizer_values),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
