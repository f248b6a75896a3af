/* Network object: shape queries, initialisation schemes, flat parameter layout and views,
 * get/set, inference consistency, cloning, label rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_util.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void test_version(void **state) {
    (void)state;
    assert_non_null(mlp_version());
    assert_string_equal(mlp_version(), MLP_VERSION_STRING);
}

static void test_shape_queries(void **state) {
    (void)state;
    const size_t sizes[] = {13, 29, 7, 3};
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_LOGISTIC, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 3, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    assert_non_null(net);
    assert_int_equal(mlp_net_n_layers(net), 3);
    assert_int_equal(mlp_net_input_size(net), 13);
    assert_int_equal(mlp_net_output_size(net), 3);
    assert_int_equal(mlp_net_loss(net), MLP_LOSS_SOFTMAX_CE);
    for (size_t l = 0; l < 3; l++) {
        size_t in = 0, out = 0;
        mlp_activation a = MLP_ACT_COUNT;
        assert_int_equal(mlp_net_layer_shape(net, l, &in, &out, &a), MLP_OK);
        assert_int_equal(in, sizes[l]);
        assert_int_equal(out, sizes[l + 1]);
        assert_int_equal(a, acts[l]);
    }
    /* param count = sum(in*out + out) = 13*29+29 + 29*7+7 + 7*3+3 = 406 + 210 + 24 = 640 */
    assert_int_equal(mlp_net_param_count(net), 640);
    assert_int_equal(mlp_net_param_count(net), tu_param_count(sizes, 3));
    mlp_net_free(net);
}

/* Layer views point into the flat buffers: layer by layer, W [in x out] then b [out]. */
static void test_layer_views(void **state) {
    (void)state;
    const size_t sizes[] = {5, 4, 6, 2};
    const mlp_activation acts[] = {MLP_ACT_TANH, MLP_ACT_GELU, MLP_ACT_IDENTITY};
    mlp_net *net = tu_make_net(sizes, acts, 3, MLP_LOSS_SQUARED, MLP_INIT_GLOROT, 2);
    assert_non_null(net);
    float *P = mlp_net_params(net), *G = mlp_net_grads(net);
    assert_non_null(P);
    assert_non_null(G);
    size_t off = 0;
    for (size_t l = 0; l < 3; l++) {
        float *W = NULL, *b = NULL, *dW = NULL, *db = NULL;
        assert_int_equal(mlp_net_layer_params(net, l, &W, &b), MLP_OK);
        assert_int_equal(mlp_net_layer_grads(net, l, &dW, &db), MLP_OK);
        assert_ptr_equal(W, P + off);
        assert_ptr_equal(b, P + off + sizes[l] * sizes[l + 1]);
        assert_ptr_equal(dW, G + off);
        assert_ptr_equal(db, G + off + sizes[l] * sizes[l + 1]);
        /* NULL out-pointers are allowed */
        float *W2 = NULL, *b2 = NULL;
        assert_int_equal(mlp_net_layer_params(net, l, NULL, &b2), MLP_OK);
        assert_int_equal(mlp_net_layer_params(net, l, &W2, NULL), MLP_OK);
        assert_ptr_equal(W2, W);
        assert_ptr_equal(b2, b);
        assert_int_equal(mlp_net_layer_grads(net, l, NULL, NULL), MLP_OK);
        off += sizes[l] * sizes[l + 1] + sizes[l + 1];
    }
    assert_int_equal(off, mlp_net_param_count(net));

    /* Writing through a view changes what the net computes: set every weight to 0 and the last
     * bias to (0.25, -0.5): identity output = bias for any input. */
    memset(P, 0, off * sizeof(float));
    float *b_last = NULL;
    assert_int_equal(mlp_net_layer_params(net, 2, NULL, &b_last), MLP_OK);
    b_last[0] = 0.25f;
    b_last[1] = -0.5f;
    float X[5] = {1, 2, 3, 4, 5}, out[2];
    assert_int_equal(mlp_predict(net, X, 1, out), MLP_OK);
    TU_ASSERT_NEAR(out[0], 0.25, 1e-7);
    TU_ASSERT_NEAR(out[1], -0.5, 1e-7);
    mlp_net_free(net);
}

static void test_get_set_params(void **state) {
    (void)state;
    const size_t sizes[] = {3, 5, 2};
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 3);
    assert_non_null(net);
    size_t np = mlp_net_param_count(net);
    float *a = tu_floats(np), *b = tu_floats(np);
    assert_int_equal(mlp_net_get_params(net, a, np), MLP_OK);
    assert_memory_equal(a, mlp_net_params(net), np * sizeof(float));
    tu_rng r;
    tu_rng_seed(&r, 4);
    tu_fill_uniform(b, np, &r, -1, 1);
    assert_int_equal(mlp_net_set_params(net, b, np), MLP_OK);
    assert_memory_equal(b, mlp_net_params(net), np * sizeof(float));
    assert_int_equal(mlp_net_get_params(net, a, np), MLP_OK);
    assert_memory_equal(a, b, np * sizeof(float));
    free(a), free(b);
    mlp_net_free(net);
}

typedef struct bounds {
    double lo_max; /* max |w| must reach this (the draw spans its range) */
    double hi;     /* every |w| must be <= this */
} bounds;

static void check_layer_range(const float *w, size_t count, bounds bd, const char *what,
                              size_t layer) {
    double mx = tu_max_abs(w, count);
    if (!(mx <= bd.hi && mx >= bd.lo_max)) {
        print_error("%s layer %zu: max |w| = %.6g, want in [%.6g, %.6g]\n", what, layer, mx,
                    bd.lo_max, bd.hi);
        fail();
    }
}

/* Glorot (scikit-learn's): U(-r, r) for W and b, r = sqrt(6/(in+out)); logistic layers may use a
 * factor 2 (r = sqrt(12/(in+out)), mlp.h) -- scikit-learn itself uses sqrt(2/(in+out)) for
 * logistic nets, so for logistic layers only the upper bound sqrt(12/(in+out)) and a lower
 * spread of sqrt(2/(in+out)) / 2 are asserted. */
static void test_glorot_init(void **state) {
    (void)state;
    const size_t sizes[] = {13, 29, 7, 3};
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_LOGISTIC, MLP_ACT_SOFTMAX};
    const size_t sizes2[] = {10, 20, 30, 1};
    const mlp_activation acts2[] = {MLP_ACT_LOGISTIC, MLP_ACT_LOGISTIC, MLP_ACT_LOGISTIC};
    for (int v = 0; v < 2; v++) {
        const size_t *sz = v ? sizes2 : sizes;
        const mlp_activation *ac = v ? acts2 : acts;
        mlp_net *net = tu_make_net(sz, ac, 3, v ? MLP_LOSS_LOGISTIC : MLP_LOSS_SOFTMAX_CE,
                                   MLP_INIT_GLOROT, 1234);
        assert_non_null(net);
        for (size_t l = 0; l < 3; l++) {
            float *W = NULL, *b = NULL;
            assert_int_equal(mlp_net_layer_params(net, l, &W, &b), MLP_OK);
            double fan = (double)(sz[l] + sz[l + 1]);
            size_t nw = sz[l] * sz[l + 1], nb = sz[l + 1];
            bool logistic_net = v == 1 || ac[l] == MLP_ACT_LOGISTIC;
            bounds bw, bb;
            if (logistic_net) {
                bw.hi = sqrt(12.0 / fan);
                bw.lo_max = 0.5 * sqrt(2.0 / fan);
            } else {
                bw.hi = sqrt(6.0 / fan);
                bw.lo_max = nw >= 20 ? 0.8 * bw.hi : 0.0;
            }
            check_layer_range(W, nw, bw, "glorot W", l);
            bb.hi = bw.hi;
            bb.lo_max = 0.0;
            check_layer_range(b, nb, bb, "glorot b", l);
            assert_true(tu_max_abs(W, nw) > 0.0);
            if (nb >= 3) assert_true(tu_max_abs(b, nb) > 0.0); /* biases are drawn too */
        }
        mlp_net_free(net);
    }
}

/* He: U(-r, r), r = sqrt(6/in); biases zero. */
static void test_he_init(void **state) {
    (void)state;
    const size_t sizes[] = {13, 29, 7, 3};
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 3, MLP_LOSS_SOFTMAX_CE, MLP_INIT_HE, 77);
    assert_non_null(net);
    for (size_t l = 0; l < 3; l++) {
        float *W = NULL, *b = NULL;
        assert_int_equal(mlp_net_layer_params(net, l, &W, &b), MLP_OK);
        size_t nw = sizes[l] * sizes[l + 1];
        bounds bw = {0.8 * sqrt(6.0 / (double)sizes[l]), sqrt(6.0 / (double)sizes[l])};
        check_layer_range(W, nw, bw, "he W", l);
        for (size_t j = 0; j < sizes[l + 1]; j++) assert_true(b[j] == 0.0f);
    }
    mlp_net_free(net);
}

/* Same seed, same parameters; different seed, different parameters; seeds matter for He too. */
static void test_init_seeded(void **state) {
    (void)state;
    const size_t sizes[] = {6, 9, 4};
    const mlp_activation acts[] = {MLP_ACT_TANH, MLP_ACT_SOFTMAX};
    for (int init = 0; init < 2; init++) {
        mlp_net *a = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, (mlp_init)init, 5);
        mlp_net *b = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, (mlp_init)init, 5);
        mlp_net *c = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, (mlp_init)init, 6);
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        size_t np = mlp_net_param_count(a);
        assert_memory_equal(mlp_net_params(a), mlp_net_params(b), np * sizeof(float));
        assert_true(memcmp(mlp_net_params(a), mlp_net_params(c), np * sizeof(float)) != 0);
        mlp_net_free(a), mlp_net_free(b), mlp_net_free(c);
    }
}

static void test_default_optimizer(void **state) {
    (void)state;
    for (int k = 0; k < 2; k++) {
        mlp_optimizer o = mlp_optimizer_default((mlp_optimizer_kind)k);
        assert_int_equal(o.kind, k);
        TU_ASSERT_NEAR(o.lr, 1e-3, 1e-9);
        TU_ASSERT_NEAR(o.alpha, 1e-4, 1e-10);
        TU_ASSERT_NEAR(o.momentum, 0.9, 1e-7);
        assert_int_equal(o.nesterov, 1);
        TU_ASSERT_NEAR(o.beta1, 0.9, 1e-7);
        TU_ASSERT_NEAR(o.beta2, 0.999, 1e-7);
        TU_ASSERT_NEAR(o.eps, 1e-8, 1e-14);
    }
    const size_t sizes[] = {2, 2};
    const mlp_activation acts[] = {MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 1, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    assert_non_null(net);
    mlp_optimizer o;
    assert_int_equal(mlp_net_get_optimizer(net, &o), MLP_OK);
    mlp_optimizer d = mlp_optimizer_default(MLP_OPT_ADAM);
    assert_int_equal(o.kind, MLP_OPT_ADAM);
    assert_true(o.lr == d.lr && o.alpha == d.alpha && o.beta1 == d.beta1 && o.beta2 == d.beta2 &&
                o.eps == d.eps);
    assert_int_equal(mlp_net_step_count(net), 0);
    /* set/get round trip */
    mlp_optimizer s = mlp_optimizer_default(MLP_OPT_SGD);
    s.lr = 0.25f;
    s.momentum = 0.5f;
    s.nesterov = 0;
    s.alpha = 0.125f;
    assert_int_equal(mlp_net_set_optimizer(net, &s), MLP_OK);
    assert_int_equal(mlp_net_get_optimizer(net, &o), MLP_OK);
    assert_int_equal(o.kind, MLP_OPT_SGD);
    assert_true(o.lr == 0.25f && o.momentum == 0.5f && o.nesterov == 0 && o.alpha == 0.125f);
    mlp_net_free(net);
}

/* mlp_predict equals mlp_forward's output; predictions do not depend on the batch split. */
static void test_predict_matches_forward(void **state) {
    (void)state;
    const size_t sizes[] = {5, 11, 4}, n = 9;
    const mlp_activation acts[] = {MLP_ACT_TANH, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 8);
    assert_non_null(net);
    float X[45], P[36], F[36], P1[4];
    tu_rng r;
    tu_rng_seed(&r, 8);
    tu_fill_uniform(X, 45, &r, -2, 2);
    assert_int_equal(mlp_forward(net, X, n), MLP_OK);
    memcpy(F, mlp_forward_output(net), sizeof F);
    assert_int_equal(mlp_predict(net, X, n, P), MLP_OK);
    assert_true(tu_max_abs_diff(P, F, 36) <= 1e-6);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(mlp_predict(net, X + i * 5, 1, P1), MLP_OK);
        assert_true(tu_max_abs_diff(P1, P + i * 4, 4) <= 1e-6);
    }
    /* labels are the argmax of the predictions */
    int32_t labels[9];
    assert_int_equal(mlp_predict_labels(net, X, n, labels), MLP_OK);
    for (size_t i = 0; i < n; i++) {
        int32_t best = 0;
        for (int32_t j = 1; j < 4; j++)
            if (P[i * 4 + (size_t)j] > P[i * 4 + (size_t)best]) best = j;
        assert_int_equal(labels[i], best);
    }
    mlp_net_free(net);
}

/* Clone: same parameters, predictions, optimizer settings and state; independent storage. */
static void test_clone(void **state) {
    (void)state;
    const size_t sizes[] = {4, 6, 3}, n = 10;
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 9);
    assert_non_null(net);
    assert_int_equal(tu_set_opt(net, MLP_OPT_ADAM, 0.01f, 1e-3f), MLP_OK);
    float X[40], Y[30], P1[30], P2[30];
    tu_rng r;
    tu_rng_seed(&r, 9);
    tu_fill_uniform(X, 40, &r, -1, 1);
    tu_fill_onehot(Y, NULL, n, 3, &r);
    for (int s = 0; s < 3; s++) assert_int_equal(mlp_train_step(net, X, Y, n, NULL), MLP_OK);

    mlp_net *c = NULL;
    assert_int_equal(mlp_net_clone(&c, net), MLP_OK);
    assert_non_null(c);
    size_t np = mlp_net_param_count(net);
    assert_int_equal(mlp_net_param_count(c), np);
    assert_true(mlp_net_params(c) != mlp_net_params(net));
    assert_memory_equal(mlp_net_params(c), mlp_net_params(net), np * sizeof(float));
    assert_int_equal(mlp_net_step_count(c), 3);
    assert_int_equal(mlp_net_loss(c), MLP_LOSS_SOFTMAX_CE);
    mlp_optimizer o1, o2;
    assert_int_equal(mlp_net_get_optimizer(net, &o1), MLP_OK);
    assert_int_equal(mlp_net_get_optimizer(c, &o2), MLP_OK);
    assert_true(o1.kind == o2.kind && o1.lr == o2.lr && o1.alpha == o2.alpha);
    assert_int_equal(mlp_predict(net, X, n, P1), MLP_OK);
    assert_int_equal(mlp_predict(c, X, n, P2), MLP_OK);
    assert_memory_equal(P1, P2, sizeof P1);

    /* Optimizer state was copied: one more step on each gives identical parameters. */
    assert_int_equal(mlp_train_step(net, X, Y, n, NULL), MLP_OK);
    assert_int_equal(mlp_train_step(c, X, Y, n, NULL), MLP_OK);
    assert_memory_equal(mlp_net_params(c), mlp_net_params(net), np * sizeof(float));

    /* Independent storage. */
    mlp_net_params(c)[0] += 1.0f;
    assert_true(mlp_net_params(c)[0] != mlp_net_params(net)[0]);
    mlp_net_free(c);
    assert_int_equal(mlp_predict(net, X, n, P1), MLP_OK); /* original still usable */
    mlp_net_free(net);
    mlp_net_free(NULL);
}

/* Label rules: argmax with ties to the lowest index; a single logistic output gives 1 when
 * p >= 0.5. */
static void test_label_rules(void **state) {
    (void)state;
    const float X[4] = {1, -1, 0.5f, 3};
    int32_t labels[2];
    {
        /* identity output, W = 0, b = (1, 3, 3): outputs tie between 1 and 2 -> label 1 */
        const size_t sizes[] = {2, 3};
        const mlp_activation acts[] = {MLP_ACT_IDENTITY};
        mlp_net *net = tu_make_net(sizes, acts, 1, MLP_LOSS_SQUARED, MLP_INIT_GLOROT, 1);
        assert_non_null(net);
        const float p[9] = {0, 0, 0, 0, 0, 0, 1, 3, 3};
        assert_int_equal(mlp_net_set_params(net, p, 9), MLP_OK);
        assert_int_equal(mlp_predict_labels(net, X, 2, labels), MLP_OK);
        assert_int_equal(labels[0], 1);
        assert_int_equal(labels[1], 1);
        mlp_net_free(net);
    }
    {
        /* softmax output, all parameters 0: uniform probabilities -> label 0 */
        const size_t sizes[] = {2, 4};
        const mlp_activation acts[] = {MLP_ACT_SOFTMAX};
        mlp_net *net = tu_make_net(sizes, acts, 1, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
        assert_non_null(net);
        float p[12] = {0};
        assert_int_equal(mlp_net_set_params(net, p, 12), MLP_OK);
        assert_int_equal(mlp_predict_labels(net, X, 2, labels), MLP_OK);
        assert_int_equal(labels[0], 0);
        assert_int_equal(labels[1], 0);
        mlp_net_free(net);
    }
    {
        /* single logistic output: b = 0 gives p = 0.5 -> 1; b = -0.01 gives p < 0.5 -> 0 */
        const size_t sizes[] = {2, 1};
        const mlp_activation acts[] = {MLP_ACT_LOGISTIC};
        mlp_net *net = tu_make_net(sizes, acts, 1, MLP_LOSS_LOGISTIC, MLP_INIT_GLOROT, 1);
        assert_non_null(net);
        float p[3] = {0, 0, 0};
        assert_int_equal(mlp_net_set_params(net, p, 3), MLP_OK);
        assert_int_equal(mlp_predict_labels(net, X, 2, labels), MLP_OK);
        assert_int_equal(labels[0], 1);
        assert_int_equal(labels[1], 1);
        p[2] = -0.01f;
        assert_int_equal(mlp_net_set_params(net, p, 3), MLP_OK);
        assert_int_equal(mlp_predict_labels(net, X, 2, labels), MLP_OK);
        assert_int_equal(labels[0], 0);
        assert_int_equal(labels[1], 0);
        mlp_net_free(net);
    }
}

/* Reserving up front, then batches of any size up to and beyond the reservation work. */
static void test_reserve_and_grow(void **state) {
    (void)state;
    const size_t sizes[] = {3, 4, 2};
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    assert_non_null(net);
    assert_int_equal(mlp_net_reserve(net, 8), MLP_OK);
    float X[3 * 100], Y[2 * 100], P[2 * 100];
    tu_rng r;
    tu_rng_seed(&r, 10);
    tu_fill_uniform(X, 300, &r, -1, 1);
    tu_fill_onehot(Y, NULL, 100, 2, &r);
    const size_t ns[] = {1, 8, 3, 100, 7};
    for (size_t i = 0; i < 5; i++) {
        float loss = NAN;
        assert_int_equal(mlp_train_step(net, X, Y, ns[i], &loss), MLP_OK);
        assert_true(isfinite(loss));
        assert_int_equal(mlp_predict(net, X, ns[i], P), MLP_OK);
        assert_true(tu_all_finite(P, ns[i] * 2));
    }
    mlp_net_free(net);
}

static void test_threads_query(void **state) {
    (void)state;
    assert_int_equal(mlp_set_num_threads(2), MLP_OK);
    assert_int_equal(mlp_get_num_threads(), 2);
    assert_int_equal(mlp_set_num_threads(1), MLP_OK);
    assert_int_equal(mlp_get_num_threads(), 1);
    assert_non_null(mlp_blas_corename());
    int omp = mlp_blas_is_openmp();
    assert_true(omp == 0 || omp == 1);
    /* Threads a step may use: a 4-8-3 step at 200 rows (0.08 MFLOP) is too small to share; the
     * digits net's at 200 rows is a batch split (shard.c) of 4.4 MFLOP, above the 1 MFLOP from
     * which a measured step tries a team; a 256-512-10 step at 128 rows (33.6 MFLOP) uses the
     * team; each up to the machine's cores. */
    static const size_t tiny[] = {4, 8, 3}, small[] = {64, 50, 10}, large[] = {256, 512, 10};
    static const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net *t = tu_make_net(tiny, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    mlp_net *a = tu_make_net(small, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    mlp_net *b = tu_make_net(large, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    assert_non_null(t);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(mlp_set_num_threads(2), MLP_OK);
    assert_int_equal(mlp_net_step_threads(t, 200), 1);
    assert_int_equal(mlp_net_step_threads(a, 200), mlp_net_step_shards(a, 200) > 1 ? 2 : 1);
    assert_true(mlp_net_step_shards(a, 200) >= 1);
    int cores = mlp_net_step_threads(b, 128);
    assert_true(cores >= 1 && cores <= 2);
    assert_int_equal(mlp_net_step_threads(b, 128), cores);
    assert_int_equal(mlp_net_step_threads(NULL, 128), 0);
    assert_int_equal(mlp_net_step_threads(b, 0), 0);
    /* 256 inputs at 128 rows: not twice the rows, so no input cut; NULL and 0 rows say 0. */
    assert_int_equal(mlp_net_step_input_parts(b, 128), 1);
    assert_int_equal(mlp_net_step_input_parts(NULL, 128), 0);
    assert_int_equal(mlp_net_step_input_parts(b, 0), 0);
    assert_int_equal(mlp_set_num_threads(1), MLP_OK);
    assert_int_equal(mlp_net_step_threads(b, 128), 1);
    mlp_net_free(t);
    mlp_net_free(a);
    mlp_net_free(b);
}

/* mlp_net_team_use counts the training steps that could use a team and those that did: none for
 * a step too small to share or on one thread; with a team, every step counted, each on the team
 * or on one thread (which one the clock decides: only the sum is certain). */
static void test_team_use(void **state) {
    (void)state;
    static const size_t tiny[] = {4, 8, 3}, large[] = {256, 512, 10};
    static const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net *t = tu_make_net(tiny, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    mlp_net *b = tu_make_net(large, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    assert_non_null(t);
    assert_non_null(b);
    /* Zero inputs (the tiny net reads its 128 x 4 from the start of X), one-hot targets. */
    float *X = calloc(128 * 256, sizeof(float)), *Y3 = calloc(128 * 3, sizeof(float)),
          *Y10 = calloc(128 * 10, sizeof(float));
    assert_true(X && Y3 && Y10);
    for (size_t i = 0; i < 128; i++) Y3[i * 3 + i % 3] = Y10[i * 10 + i % 10] = 1.0f;
    assert_int_equal(mlp_set_num_threads(2), MLP_OK);
    float loss;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(mlp_train_step(t, X, Y3, 128, &loss), MLP_OK);
        assert_int_equal(mlp_train_step(b, X, Y10, 128, &loss), MLP_OK);
    }
    uint64_t team = 99, steps = 99;
    assert_int_equal(mlp_net_team_use(t, &team, &steps), MLP_OK);
    assert_true(team == 0 && steps == 0);
    assert_int_equal(mlp_net_team_use(b, &team, &steps), MLP_OK);
    const bool shared = mlp_net_step_threads(b, 128) > 1;
    assert_int_equal(steps, shared ? 20 : 0);
    assert_true(team <= steps);
    assert_int_equal(mlp_net_team_use(NULL, &team, &steps), MLP_ERR_NULL);
    assert_int_equal(mlp_net_team_use(b, NULL, &steps), MLP_ERR_NULL);
    assert_non_null(strstr(mlp_last_error(), "team_steps"));
    assert_int_equal(mlp_set_num_threads(1), MLP_OK);
    free(X);
    free(Y3);
    free(Y10);
    mlp_net_free(t);
    mlp_net_free(b);
}

/* mlp_loss_value, mlp_backward and mlp_train_step report the same loss bit for bit (one L2
 * definition, one summation order), on nets from 2 to 3 layers, up to the 784-1024-1024-10 net
 * (where the two used to disagree in the fourth digit at alpha 10), for several alphas. */
static void test_loss_definitions_agree(void **state) {
    (void)state;
    static const size_t small[] = {64, 50, 10}, deep[] = {30, 20, 7, 3},
                        big[] = {784, 1024, 1024, 10};
    static const mlp_activation a2[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX},
                                a3[] = {MLP_ACT_TANH, MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    struct {
        const size_t *sizes;
        const mlp_activation *acts;
        size_t L, n;
    } nets[] = {{small, a2, 2, 200}, {deep, a3, 3, 77}, {big, a3, 3, 32}};
    const float alphas[] = {0.0f, 1e-4f, 0.5f, 10.0f};
    for (size_t c = 0; c < sizeof nets / sizeof nets[0]; c++) {
        size_t d = nets[c].sizes[0], k = nets[c].sizes[nets[c].L], n = nets[c].n;
        float *X = tu_floats(n * d), *Y = tu_floats(n * k);
        tu_rng r;
        tu_rng_seed(&r, 100 + c);
        tu_fill_uniform(X, n * d, &r, -1, 1);
        tu_fill_onehot(Y, NULL, n, k, &r);
        for (size_t a = 0; a < sizeof alphas / sizeof alphas[0]; a++) {
            mlp_net *net = tu_make_net(nets[c].sizes, nets[c].acts, nets[c].L, MLP_LOSS_SOFTMAX_CE,
                                       MLP_INIT_GLOROT, 3);
            assert_non_null(net);
            assert_int_equal(tu_set_opt(net, MLP_OPT_ADAM, 1e-3f, alphas[a]), MLP_OK);
            float lv = NAN, lb = NAN, ls = NAN;
            assert_int_equal(mlp_loss_value(net, X, Y, n, &lv), MLP_OK);
            assert_int_equal(mlp_forward(net, X, n), MLP_OK);
            assert_int_equal(mlp_backward(net, Y, &lb), MLP_OK);
            assert_int_equal(mlp_train_step(net, X, Y, n, &ls), MLP_OK);
            assert_true(isfinite(lv));
            if (memcmp(&lv, &lb, sizeof lv) != 0 || memcmp(&lv, &ls, sizeof lv) != 0) {
                print_error("net %zu alpha %g: loss_value %.9g, backward %.9g, train_step %.9g\n",
                            c, (double)alphas[a], (double)lv, (double)lb, (double)ls);
                fail();
            }
            mlp_net_free(net);
        }
        free(X), free(Y);
    }
}

#if defined(__x86_64__)
#include <omp.h>
#include <xmmintrin.h>
/* A step flushes denormals to zero on its threads and restores each thread's floating-point state
 * afterwards: the caller's code, and OpenMP's pool threads, see their own MXCSR again. Both the
 * 1-thread path and a 2-thread region (a net big enough to open one). */
static void test_fp_state_restored(void **state) {
    (void)state;
    static const size_t sizes[] = {256, 512, 10};
    static const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    const size_t n = 128;
    mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    assert_non_null(net);
    float *X = tu_floats(n * 256), *Y = tu_floats(n * 10);
    tu_rng r;
    tu_rng_seed(&r, 8);
    tu_fill_uniform(X, n * 256, &r, -1, 1);
    tu_fill_onehot(Y, NULL, n, 10, &r);
    for (int T = 1; T <= 2; T++) {
        assert_int_equal(mlp_set_num_threads(T), MLP_OK);
        unsigned before[2] = {0, 0}, after[2] = {1, 1};
#pragma omp parallel num_threads(T)
        before[omp_get_thread_num()] = _mm_getcsr();
        float loss;
        assert_int_equal(mlp_train_step(net, X, Y, n, &loss), MLP_OK);
#pragma omp parallel num_threads(T)
        after[omp_get_thread_num()] = _mm_getcsr();
        for (int t = 0; t < T; t++) assert_int_equal(before[t], after[t]);
        assert_int_equal(_mm_getcsr() & 0x8040u, 0u); /* the caller never had FTZ/DAZ */
    }
    free(X), free(Y);
    mlp_net_free(net);
}
#endif

/* The library's activation names round-trip, and bad names are refused with the name quoted. */
static void test_activation_names(void **state) {
    (void)state;
    for (unsigned a = 0; a < MLP_ACT_COUNT; a++) {
        const char *name = mlp_activation_name((mlp_activation)a);
        assert_non_null(name);
        mlp_activation back = MLP_ACT_COUNT;
        assert_int_equal(mlp_activation_from_name(name, &back), MLP_OK);
        assert_int_equal(back, a);
    }
    assert_string_equal(mlp_activation_name(MLP_ACT_RELU), "relu");
    assert_string_equal(mlp_activation_name(MLP_ACT_LEAKY_RELU), "leaky_relu");
    assert_null(mlp_activation_name(MLP_ACT_COUNT));
    mlp_activation act = MLP_ACT_TANH;
    assert_int_equal(mlp_activation_from_name("ReLU", &act), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "'ReLU'"));
    assert_int_equal(act, MLP_ACT_TANH); /* untouched on failure */
    assert_int_equal(mlp_activation_from_name(NULL, &act), MLP_ERR_NULL);
    assert_int_equal(mlp_activation_from_name("relu", NULL), MLP_ERR_NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activation_names),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_shape_queries),
        cmocka_unit_test(test_layer_views),
        cmocka_unit_test(test_get_set_params),
        cmocka_unit_test(test_glorot_init),
        cmocka_unit_test(test_he_init),
        cmocka_unit_test(test_init_seeded),
        cmocka_unit_test(test_default_optimizer),
        cmocka_unit_test(test_predict_matches_forward),
        cmocka_unit_test(test_clone),
        cmocka_unit_test(test_label_rules),
        cmocka_unit_test(test_reserve_and_grow),
        cmocka_unit_test(test_loss_definitions_agree),
#if defined(__x86_64__)
        cmocka_unit_test(test_fp_state_restored),
#endif
        cmocka_unit_test(test_threads_query),
        cmocka_unit_test(test_team_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
