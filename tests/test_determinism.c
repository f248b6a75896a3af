#define _POSIX_C_SOURCE 200809L /* setenv */
/* Determinism: identical seeds and data give bit-identical training, and the result does not
 * depend on the thread count (1, 2, 3, 4 and 8 threads; oversubscribed on a small machine, which
 * is fine for correctness), including nets whose GEMMs are cut into several tiles that different
 * threads compute. main() sets the parallel width to 8 (MLP_PARALLEL_WIDTH), so tiles exist even
 * on a 2-core machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "kernel_util.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct problem {
    size_t sizes[4];
    size_t n_layers;
    mlp_activation acts[3];
    size_t n; /* batch */
    int steps;
    float *X, *Y;
} problem;

static void make_data(problem *p, uint64_t seed) {
    size_t d = p->sizes[0], k = p->sizes[p->n_layers];
    p->X = tu_floats(p->n * d);
    p->Y = tu_floats(p->n * k);
    tu_rng r;
    tu_rng_seed(&r, seed);
    tu_fill_uniform(p->X, p->n * d, &r, -1, 1);
    tu_fill_onehot(p->Y, NULL, p->n, k, &r);
}

static void free_data(problem *p) {
    free(p->X);
    free(p->Y);
}

/* Trains a fresh net and returns a malloc'd copy of its parameters (and the last loss). */
static float *train_copy(const problem *p, uint64_t seed, mlp_optimizer_kind kind, float *loss_out,
                         size_t *np_out) {
    mlp_net *net =
        tu_make_net(p->sizes, p->acts, p->n_layers, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, seed);
    assert_non_null(net);
    assert_int_equal(tu_set_opt(net, kind, kind == MLP_OPT_ADAM ? 1e-3f : 1e-2f, 1e-4f), MLP_OK);
    assert_int_equal(mlp_net_reserve(net, p->n), MLP_OK);
    float loss = NAN;
    for (int s = 0; s < p->steps; s++)
        assert_int_equal(mlp_train_step(net, p->X, p->Y, p->n, &loss), MLP_OK);
    assert_true(isfinite(loss));
    size_t np = mlp_net_param_count(net);
    float *out = tu_floats(np);
    assert_int_equal(mlp_net_get_params(net, out, np), MLP_OK);
    if (loss_out) *loss_out = loss;
    *np_out = np;
    mlp_net_free(net);
    return out;
}

static void test_same_seed_same_result(void **state) {
    (void)state;
    problem p = {{10, 16, 4, 0}, 2, {MLP_ACT_TANH, MLP_ACT_SOFTMAX, 0}, 32, 50, NULL, NULL};
    make_data(&p, 1);
    for (int k = 0; k < 2; k++) {
        size_t na, nb, nc;
        float la, lb, lc;
        float *a = train_copy(&p, 42, (mlp_optimizer_kind)k, &la, &na);
        float *b = train_copy(&p, 42, (mlp_optimizer_kind)k, &lb, &nb);
        float *c = train_copy(&p, 43, (mlp_optimizer_kind)k, &lc, &nc);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * sizeof(float));
        assert_memory_equal(&la, &lb, sizeof la);
        assert_true(memcmp(a, c, na * sizeof(float)) != 0);
        free(a), free(b), free(c);
    }
    free_data(&p);
}

static const int thread_counts[] = {1, 2, 3, 4, 8};
#define N_COUNTS (sizeof thread_counts / sizeof thread_counts[0])

/* Whether the library's tiled GEMMs give bit-identical results at 1 and 2 threads for every GEMM
 * of problem p (forward, weight gradient, input gradient of every layer). OpenBLAS's own threaded
 * sgemm does not (measured: up to 1.5e-5 apart); src/core/dense.c cuts GEMMs into tiles that depend
 * on the shape and the parallel width only, each a serial call, so the library's must. */
static int blas_thread_deterministic(const problem *p) {
    tu_rng r;
    tu_rng_seed(&r, 1234);
    int same = 1;
    for (size_t l = 0; l < p->n_layers && same; l++) {
        size_t n = p->n, in = p->sizes[l], out = p->sizes[l + 1];
        float *X = tu_floats(n * in), *W = tu_floats(in * out), *D = tu_floats(n * out);
        float *a1 = tu_floats(n * out), *a2 = tu_floats(n * out);
        float *w1 = tu_floats(in * out), *w2 = tu_floats(in * out);
        float *x1 = tu_floats(n * in), *x2 = tu_floats(n * in);
        tu_fill_uniform(X, n * in, &r, -1, 1);
        tu_fill_uniform(W, in * out, &r, -1, 1);
        tu_fill_uniform(D, n * out, &r, -1, 1);
        for (int t = 1; t <= 2; t++) {
            assert_int_equal(mlp_set_num_threads(t), MLP_OK);
            tk_dense_forward(t == 1 ? a1 : a2, X, W, n, in, out);
            tk_dense_backward_weights(t == 1 ? w1 : w2, X, D, n, in, out, 1.0f / (float)n, 0.0f);
            tk_dense_backward_input(t == 1 ? x1 : x2, D, W, n, in, out);
        }
        same = !memcmp(a1, a2, n * out * sizeof(float)) &&
               !memcmp(w1, w2, in * out * sizeof(float)) && !memcmp(x1, x2, n * in * sizeof(float));
        free(X), free(W), free(D), free(a1), free(a2), free(w1), free(w2), free(x1), free(x2);
    }
    return same;
}

/* Same problem trained at each thread count: parameters, loss and predictions are identical bit
 * for bit to the 1-thread run (every other parallel loop of the library is thread-count
 * invariant too, see test_kernels_thread_invariant). */
static void check_thread_invariance(problem *p) {
    assert_true(blas_thread_deterministic(p));
    size_t n1, k = p->sizes[p->n_layers];
    float l1;
    assert_int_equal(mlp_set_num_threads(1), MLP_OK);
    float *a = train_copy(p, 7, MLP_OPT_ADAM, &l1, &n1);
    mlp_net *net =
        tu_make_net(p->sizes, p->acts, p->n_layers, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 7);
    assert_non_null(net);
    assert_int_equal(mlp_net_set_params(net, a, n1), MLP_OK);
    float *P1 = tu_floats(p->n * k), *Pt = tu_floats(p->n * k);
    assert_int_equal(mlp_predict(net, p->X, p->n, P1), MLP_OK);
    for (size_t c = 1; c < N_COUNTS; c++) {
        const int T = thread_counts[c];
        size_t nt;
        float lt;
        assert_int_equal(mlp_set_num_threads(T), MLP_OK);
        assert_int_equal(mlp_get_num_threads(), T);
        float *b = train_copy(p, 7, MLP_OPT_ADAM, &lt, &nt);
        assert_int_equal(n1, nt);
        if (memcmp(a, b, n1 * sizeof(float)) != 0) {
            size_t first = 0;
            while (first < n1 && memcmp(&a[first], &b[first], sizeof(float)) == 0) first++;
            print_error("params differ between 1 and %d threads: first at %zu (%.9g vs %.9g), "
                        "max diff %.3g\n",
                        T, first, (double)a[first], (double)b[first], tu_max_abs_diff(a, b, n1));
            fail();
        }
        assert_memory_equal(&l1, &lt, sizeof l1);
        assert_int_equal(mlp_predict(net, p->X, p->n, Pt), MLP_OK);
        assert_memory_equal(P1, Pt, p->n * k * sizeof(float));
        free(b);
    }
    free(P1), free(Pt);
    mlp_net_free(net);
    free(a);
}

/* The library's own parallel loops (everything but BLAS) give bit-identical results at 1 and 2
 * threads, at sizes above MLP_OMP_MIN_ELEMS where they really run on both threads. */
static void test_kernels_thread_invariant(void **state) {
    (void)state;
    const size_t n = 700, m = 61; /* 42700 elements */
    assert_true(n * m > MLP_OMP_MIN_ELEMS);
    tu_rng r;
    tu_rng_seed(&r, 55);
    float *Z0 = tu_floats(n * m), *b = tu_floats(m), *G0 = tu_floats(n * m), *Y = tu_floats(n * m);
    float *Z[2], *pre[2], *G[2], *D[2], *rl[2];
    for (int t = 0; t < 2; t++) {
        Z[t] = tu_floats(n * m), pre[t] = tu_floats(n * m), G[t] = tu_floats(n * m);
        D[t] = tu_floats(n * m), rl[t] = tu_floats(n);
    }
    tu_fill_uniform(Z0, n * m, &r, -5, 5);
    tu_fill_uniform(b, m, &r, -1, 1);
    tu_fill_uniform(G0, n * m, &r, -1, 1);
    tu_fill_onehot(Y, NULL, n, m, &r);
    const mlp_activation acts[] = {MLP_ACT_IDENTITY, MLP_ACT_RELU,    MLP_ACT_LOGISTIC,
                                   MLP_ACT_TANH,     MLP_ACT_SOFTMAX, MLP_ACT_LEAKY_RELU,
                                   MLP_ACT_GELU};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        double loss[2][3];
        for (int t = 0; t < 2; t++) {
            assert_int_equal(mlp_set_num_threads(t + 1), MLP_OK);
            memcpy(Z[t], Z0, n * m * sizeof(float));
            memcpy(G[t], G0, n * m * sizeof(float));
            tk_bias_act_forward(Z[t], pre[t], b, n, m, acts[a]);
            tk_act_backward(G[t], Z[t], pre[t], n, m, acts[a]);
            tk_loss_delta(D[t], Z[t], Y, n, m);
            for (int lo = 0; lo < 3; lo++)
                loss[t][lo] = tk_loss_data(Z[t], Y, n, m, (mlp_loss)lo, rl[t]);
        }
        assert_memory_equal(Z[0], Z[1], n * m * sizeof(float));
        assert_memory_equal(G[0], G[1], n * m * sizeof(float));
        assert_memory_equal(D[0], D[1], n * m * sizeof(float));
        assert_memory_equal(loss[0], loss[1], sizeof loss[0]);
    }
    for (int t = 0; t < 2; t++) {
        free(Z[t]), free(pre[t]), free(G[t]), free(D[t]), free(rl[t]);
    }
    free(Z0), free(b), free(G0), free(Y);
}

/* The optimizer update over a flat buffer larger than MLP_OMP_MIN_ELEMS (several slices) is
 * identical at 1 and 2 threads, for Adam and SGD, over several steps. */
static void test_optimizer_thread_invariant(void **state) {
    (void)state;
    const size_t sizes[] = {300, 150, 3}; /* 45603 parameters */
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    for (int kind = 0; kind < 2; kind++) {
        mlp_net *net[2];
        for (int t = 0; t < 2; t++) {
            net[t] = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 9);
            assert_non_null(net[t]);
            assert_int_equal(tu_set_opt(net[t], (mlp_optimizer_kind)kind, 1e-2f, 1e-4f), MLP_OK);
        }
        size_t np = mlp_net_param_count(net[0]);
        assert_true(np > MLP_OMP_MIN_ELEMS);
        tu_rng r;
        tu_rng_seed(&r, 77 + (uint64_t)kind);
        float *g = tu_floats(np);
        for (int step = 0; step < 3; step++) {
            tu_fill_uniform(g, np, &r, -1, 1);
            for (int t = 0; t < 2; t++) {
                assert_int_equal(mlp_set_num_threads(t + 1), MLP_OK);
                memcpy(mlp_net_grads(net[t]), g, np * sizeof(float));
                tk_optim_apply(net[t]);
            }
            assert_memory_equal(mlp_net_params(net[0]), mlp_net_params(net[1]), np * sizeof(float));
        }
        assert_int_equal(mlp_net_step_count(net[0]), 3);
        free(g);
        mlp_net_free(net[0]), mlp_net_free(net[1]);
    }
}

static void test_threads_64_50_10(void **state) {
    (void)state;
    problem p = {{64, 50, 10, 0}, 2, {MLP_ACT_RELU, MLP_ACT_SOFTMAX, 0}, 200, 20, NULL, NULL};
    make_data(&p, 2);
    check_thread_invariance(&p);
    free_data(&p);
}

/* 128 x 256 x 512: the first layer's GEMMs are cut into several tiles at width 8 (so different
 * threads compute different tiles), and a step of this net pays for threads. */
static void test_threads_256_512_10(void **state) {
    (void)state;
    problem p = {{256, 512, 10, 0}, 2, {MLP_ACT_RELU, MLP_ACT_SOFTMAX, 0}, 128, 20, NULL, NULL};
    mlp_gemm g = mlp_gemm_forward(NULL, NULL, NULL, p.n, p.sizes[0], p.sizes[1]);
    mlp_gemm_plan(&g, 16, false);
    assert_true(mlp_gemm_tiles(&g) >= 4);
    g = mlp_gemm_input(NULL, NULL, NULL, p.n, p.sizes[0], p.sizes[1]);
    mlp_gemm_plan(&g, MLP_COLSUM_CHUNK, false);
    assert_true(mlp_gemm_tiles(&g) >= 2);
    mlp_net *net = tu_make_net(p.sizes, p.acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    assert_non_null(net);
    assert_int_equal(mlp_set_num_threads(4), MLP_OK);
    assert_int_equal(mlp_pass_threads(net, p.n), 4);
    mlp_net_free(net);
    make_data(&p, 3);
    check_thread_invariance(&p);
    free_data(&p);
}

/* GELU hidden layer (pre-activation buffer) and a second hidden layer, above the threshold. */
static void test_threads_gelu_deep(void **state) {
    (void)state;
    problem p = {
        {64, 300, 200, 5}, 3, {MLP_ACT_GELU, MLP_ACT_TANH, MLP_ACT_SOFTMAX}, 150, 10, NULL, NULL};
    assert_true(p.n * p.sizes[1] > MLP_OMP_MIN_ELEMS);
    make_data(&p, 4);
    check_thread_invariance(&p);
    free_data(&p);
}

/* A batch-split net (shard.c): shards of rows through three layers, each shard's gradients summed
 * in shard order. 150 rows at width 8 make 4 shards of uneven length (48, 32, 48 and 22 rows), and
 * 2 or 3 threads take unequal numbers of them. */
static void test_threads_batch_split(void **state) {
    (void)state;
    problem p = {
        {64, 128, 96, 6}, 3, {MLP_ACT_TANH, MLP_ACT_RELU, MLP_ACT_SOFTMAX}, 150, 12, NULL, NULL};
    mlp_net *net = tu_make_net(p.sizes, p.acts, 3, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    assert_non_null(net);
    assert_int_equal(mlp_pass_shards(net, p.n), 4);
    assert_int_equal(mlp_set_num_threads(3), MLP_OK);
    assert_int_equal(mlp_pass_threads(net, p.n), 3);
    mlp_net_free(net);
    make_data(&p, 5);
    check_thread_invariance(&p);
    free_data(&p);
}

/* A wide first layer cut along its inputs (pass.c, mlp_pass_kparts): 600 inputs and 128 rows make
 * two parts at width 8, each tiled for 4 threads, their sums added in part order. */
static void test_threads_first_layer_kparts(void **state) {
    (void)state;
    problem p = {{600, 128, 10, 0}, 2, {MLP_ACT_RELU, MLP_ACT_SOFTMAX, 0}, 128, 10, NULL, NULL};
    mlp_net *net = tu_make_net(p.sizes, p.acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    assert_non_null(net);
    assert_int_equal(mlp_pass_kparts(net, p.n), 2);
    assert_int_equal(mlp_pass_kparts(net, 400), 1); /* weights smaller than the outputs: tiles */
    mlp_net_free(net);
    make_data(&p, 6);
    check_thread_invariance(&p);
    free_data(&p);
}

/* The same cut with dropout on the first layer (its mask drawn in the parts' sum), 1-8 threads. */
static void test_kparts_dropout_threads(void **state) {
    (void)state;
    problem p = {{600, 128, 10, 0}, 2, {MLP_ACT_RELU, MLP_ACT_SOFTMAX, 0}, 128, 5, NULL, NULL};
    make_data(&p, 7);
    float *first = NULL;
    size_t np = 0;
    for (size_t i = 0; i < N_COUNTS; i++) {
        assert_int_equal(mlp_set_num_threads(thread_counts[i]), MLP_OK);
        mlp_net *net = tu_make_net(p.sizes, p.acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 3);
        assert_non_null(net);
        assert_int_equal(mlp_net_set_dropout(net, 0, 0.25f), MLP_OK);
        float loss;
        for (int s = 0; s < p.steps; s++)
            assert_int_equal(mlp_train_step(net, p.X, p.Y, p.n, &loss), MLP_OK);
        assert_int_equal(net->pass.kparts, 2);
        np = mlp_net_param_count(net);
        float *w = tu_floats(np);
        assert_int_equal(mlp_net_get_params(net, w, np), MLP_OK);
        if (first) {
            assert_memory_equal(first, w, np * sizeof(float));
            free(w);
        } else {
            first = w;
        }
        mlp_net_free(net);
    }
    free(first);
    free_data(&p);
}

/* The parts' sum against a double reference: the first layer's outputs relu(X W + b) after a
 * forward pass, to float rounding. */
static void test_kparts_forward_reference(void **state) {
    (void)state;
    const size_t sizes[] = {600, 128, 10}, n = 128, in = 600, out = 128;
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 5);
    assert_non_null(net);
    tu_rng r;
    tu_rng_seed(&r, 8);
    float *X = tu_floats(n * in), *b = net->params + net->layers[0].b_off;
    tu_fill_uniform(X, n * in, &r, -1, 1);
    tu_fill_uniform(b, out, &r, -0.5, 0.5);
    assert_int_equal(mlp_forward(net, X, n), MLP_OK);
    assert_int_equal(net->pass.kparts, 2);
    const float *W = net->params + net->layers[0].w_off, *Z = net->out[0];
    double worst = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < out; j++) {
            double z = b[j], mag = fabs(b[j]);
            for (size_t k = 0; k < in; k++) {
                z += (double)X[i * in + k] * W[k * out + j];
                mag += fabs((double)X[i * in + k] * W[k * out + j]);
            }
            const double err = fabs((double)Z[i * out + j] - (z > 0.0 ? z : 0.0)) / mag;
            if (err > worst) worst = err;
        }
    /* Measured 1.2e-7 (float sums of 300-term parts); a part left out or added twice is off by
     * a good fraction of |z|. */
    assert_true(worst < 1e-6);
    /* The 128 -> 10 layer ran by rows after the parts' sum (mlp_kpart_tail): its probabilities
     * against inference's (layer tiles, whole K), which differ only in float rounding. */
    assert_int_equal(mlp_kpart_tail(net, n, 8), 2);
    float *P = tu_floats(n * 10);
    assert_int_equal(mlp_predict(net, X, n, P), MLP_OK);
    for (size_t i = 0; i < n * 10; i++) assert_true(fabsf(P[i] - net->out[1][i]) < 1e-5f);
    free(P);
    free(X);
    mlp_net_free(net);
}

/* A step whose row blocks make the output chunks (mlp_train_step: forward and backward in one
 * region) against the same step as mlp_forward, mlp_backward and mlp_update (the output chunks in
 * the backward pass): the same loss and parameters, bit for bit, with sample weights too. */
static void test_kparts_fused_output(void **state) {
    (void)state;
    problem p = {{600, 128, 10, 0}, 2, {MLP_ACT_RELU, MLP_ACT_SOFTMAX, 0}, 128, 3, NULL, NULL};
    make_data(&p, 9);
    float *w = tu_floats(p.n);
    for (size_t i = 0; i < p.n; i++) w[i] = 0.5f + (float)(i % 3);
    for (int weighted = 0; weighted < 2; weighted++) {
        mlp_net *a = tu_make_net(p.sizes, p.acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 4), *b;
        assert_non_null(a);
        assert_int_equal(mlp_net_clone(&b, a), MLP_OK);
        for (int s = 0; s < p.steps; s++) {
            float la, lb;
            assert_int_equal(weighted ? mlp_train_step_weighted(a, p.X, p.Y, w, p.n, &la)
                                      : mlp_train_step(a, p.X, p.Y, p.n, &la),
                             MLP_OK);
            assert_non_null(a->pass.y); /* the fused path ran */
            assert_int_equal(mlp_forward(b, p.X, p.n), MLP_OK);
            assert_int_equal(weighted ? mlp_backward_weighted(b, p.Y, w, &lb)
                                      : mlp_backward(b, p.Y, &lb),
                             MLP_OK);
            assert_null(b->pass.y);
            assert_int_equal(mlp_update(b), MLP_OK);
            assert_memory_equal(&la, &lb, sizeof la);
        }
        const size_t np = mlp_net_param_count(a);
        assert_memory_equal(mlp_net_params(a), mlp_net_params(b), np * sizeof(float));
        mlp_net_free(a);
        mlp_net_free(b);
    }
    free(w);
    free_data(&p);
}

int main(void) {
    /* Before any mlp call: the width is read once. */
    setenv("MLP_PARALLEL_WIDTH", "8", 1);
    assert_int_equal(mlp_parallel_width(), 8);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_result),
        cmocka_unit_test(test_kernels_thread_invariant),
        cmocka_unit_test(test_optimizer_thread_invariant),
        cmocka_unit_test(test_threads_64_50_10),
        cmocka_unit_test(test_threads_256_512_10),
        cmocka_unit_test(test_threads_gelu_deep),
        cmocka_unit_test(test_threads_batch_split),
        cmocka_unit_test(test_threads_first_layer_kparts),
        cmocka_unit_test(test_kparts_dropout_threads),
        cmocka_unit_test(test_kparts_forward_reference),
        cmocka_unit_test(test_kparts_fused_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
