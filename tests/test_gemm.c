/* White-box tests of the dense kernels (src/core/dense.c), the column sum and the activations
 * against naive double-precision references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "kernel_util.h"
#include "test_util.h"

#include <stdio.h>

typedef struct shape {
    size_t n, in, out;
} shape;

static const shape shapes[] = {{1, 1, 1},   {3, 7, 5},    {17, 3, 1},
                               {13, 17, 7}, {37, 64, 50}, {200, 64, 50}};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

/* Every element of got must be within 1e-5 * sqrt(k) * max(1, sum|a*b|) of the double reference:
 * the rounding error of a float dot product of length k scales with sqrt(k) times the sum of the
 * absolute products. */
static void check_close(const float *got, const double *ref, const double *absref, size_t count,
                        size_t k, const char *what, const shape *s) {
    double tol_k = 1e-5 * sqrt((double)k);
    for (size_t i = 0; i < count; i++) {
        double scale = absref[i] > 1.0 ? absref[i] : 1.0;
        double err = fabs((double)got[i] - ref[i]);
        if (!(err <= tol_k * scale)) {
            print_error("%s (n=%zu in=%zu out=%zu) element %zu: got %.9g want %.9g\n", what, s->n,
                        s->in, s->out, i, (double)got[i], ref[i]);
            fail();
        }
    }
}

static void test_dense_forward(void **state) {
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 101);
    for (size_t t = 0; t < N_SHAPES; t++) {
        const shape *s = &shapes[t];
        float *X = tu_floats(s->n * s->in), *W = tu_floats(s->in * s->out);
        float *Z = tu_floats(s->n * s->out);
        double *ref = tu_doubles(s->n * s->out), *aref = tu_doubles(s->n * s->out);
        tu_fill_uniform(X, s->n * s->in, &r, -1, 1);
        tu_fill_uniform(W, s->in * s->out, &r, -1, 1);
        tu_fill_uniform(Z, s->n * s->out, &r, 1e3, 2e3); /* garbage: must be overwritten */
        tk_dense_forward(Z, X, W, s->n, s->in, s->out);
        tu_gemm_ref(ref, X, s->in, 0, W, s->out, 0, s->n, s->out, s->in);
        tu_gemm_abs_ref(aref, X, s->in, 0, W, s->out, 0, s->n, s->out, s->in);
        check_close(Z, ref, aref, s->n * s->out, s->in, "dense_forward", s);
        free(X), free(W), free(Z), free(ref), free(aref);
    }
}

static void test_dense_backward_weights(void **state) {
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 202);
    /* (scale, beta) pairs: plain product, averaged (1/n), accumulated into existing values. */
    const float scales[] = {1.0f, 0.0f /* replaced by 1/n */, 0.5f};
    const float betas[] = {0.0f, 0.0f, 1.0f};
    for (size_t t = 0; t < N_SHAPES; t++) {
        const shape *s = &shapes[t];
        for (size_t c = 0; c < 3; c++) {
            float scale = c == 1 ? 1.0f / (float)s->n : scales[c];
            float beta = betas[c];
            if (c == 2 && t % 2) beta = 0.25f;
            float *X = tu_floats(s->n * s->in), *dZ = tu_floats(s->n * s->out);
            float *dW = tu_floats(s->in * s->out), *dW0 = tu_floats(s->in * s->out);
            double *ref = tu_doubles(s->in * s->out), *aref = tu_doubles(s->in * s->out);
            tu_fill_uniform(X, s->n * s->in, &r, -1, 1);
            tu_fill_uniform(dZ, s->n * s->out, &r, -1, 1);
            tu_fill_uniform(dW0, s->in * s->out, &r, -1, 1);
            memcpy(dW, dW0, s->in * s->out * sizeof(float));
            tk_dense_backward_weights(dW, X, dZ, s->n, s->in, s->out, scale, beta);
            /* ref = scale * X^T dZ + beta * dW0 */
            tu_gemm_ref(ref, X, s->in, 1, dZ, s->out, 0, s->in, s->out, s->n);
            tu_gemm_abs_ref(aref, X, s->in, 1, dZ, s->out, 0, s->in, s->out, s->n);
            for (size_t i = 0; i < s->in * s->out; i++) {
                ref[i] = (double)scale * ref[i] + (double)beta * dW0[i];
                aref[i] = fabs((double)scale) * aref[i] + fabs((double)beta * dW0[i]);
            }
            check_close(dW, ref, aref, s->in * s->out, s->n, "dense_backward_weights", s);
            free(X), free(dZ), free(dW), free(dW0), free(ref), free(aref);
        }
    }
}

static void test_dense_backward_input(void **state) {
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 303);
    for (size_t t = 0; t < N_SHAPES; t++) {
        const shape *s = &shapes[t];
        float *dZ = tu_floats(s->n * s->out), *W = tu_floats(s->in * s->out);
        float *dX = tu_floats(s->n * s->in);
        double *ref = tu_doubles(s->n * s->in), *aref = tu_doubles(s->n * s->in);
        tu_fill_uniform(dZ, s->n * s->out, &r, -1, 1);
        tu_fill_uniform(W, s->in * s->out, &r, -1, 1);
        tu_fill_uniform(dX, s->n * s->in, &r, 1e3, 2e3); /* garbage: must be overwritten */
        tk_dense_backward_input(dX, dZ, W, s->n, s->in, s->out);
        /* dX (n x in) = dZ (n x out) . W^T */
        tu_gemm_ref(ref, dZ, s->out, 0, W, s->out, 1, s->n, s->in, s->out);
        tu_gemm_abs_ref(aref, dZ, s->out, 0, W, s->out, 1, s->n, s->in, s->out);
        check_close(dX, ref, aref, s->n * s->in, s->out, "dense_backward_input", s);
        free(dZ), free(W), free(dX), free(ref), free(aref);
    }
}

static void test_colsum(void **state) {
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 404);
    const size_t ns[] = {1, 63, 64, 65, 200, 1000};
    const size_t ms[] = {1, 7, 50};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t c = 0; c < sizeof ms / sizeof ms[0]; c++) {
            size_t n = ns[a], m = ms[c];
            size_t chunks = (n + MLP_COLSUM_CHUNK - 1) / MLP_COLSUM_CHUNK;
            float *G = tu_floats(n * m), *db = tu_floats(m), *partials = tu_floats(chunks * m);
            tu_fill_uniform(G, n * m, &r, -1, 1);
            float scale = (a % 2) ? 1.0f : 1.0f / (float)n;
            tk_colsum(db, G, n, m, scale, partials);
            for (size_t j = 0; j < m; j++) {
                double s = 0.0, sa = 0.0;
                for (size_t i = 0; i < n; i++) {
                    s += G[i * m + j];
                    sa += fabs(G[i * m + j]);
                }
                double want = scale * s;
                double tol = 1e-5 * sqrt((double)n) * (scale * sa > 1.0 ? scale * sa : 1.0);
                if (!(fabs(db[j] - want) <= tol)) {
                    print_error("colsum n=%zu m=%zu col %zu: got %.9g want %.9g\n", n, m, j,
                                (double)db[j], want);
                    fail();
                }
            }
            free(G), free(db), free(partials);
        }
}

static const mlp_activation all_acts[] = {MLP_ACT_IDENTITY, MLP_ACT_RELU,    MLP_ACT_LOGISTIC,
                                          MLP_ACT_TANH,     MLP_ACT_SOFTMAX, MLP_ACT_LEAKY_RELU,
                                          MLP_ACT_GELU};
#define N_ACTS (sizeof all_acts / sizeof all_acts[0])

static void test_act_needs_pre(void **state) {
    (void)state;
    for (size_t a = 0; a < N_ACTS; a++)
        assert_int_equal(mlp_act_needs_pre(all_acts[a]), all_acts[a] == MLP_ACT_GELU);
}

/* Compares |got - want| <= 1e-5 * max(1, |want|) + 1e-6 element by element. */
static void check_elem(const float *got, const double *want, size_t count, const char *what,
                       mlp_activation act) {
    for (size_t i = 0; i < count; i++) {
        double tol = 1e-5 * (fabs(want[i]) > 1.0 ? fabs(want[i]) : 1.0) + 1e-6;
        if (!(fabs((double)got[i] - want[i]) <= tol)) {
            print_error("%s act %d element %zu: got %.9g want %.9g\n", what, (int)act, i,
                        (double)got[i], want[i]);
            fail();
        }
    }
}

static void test_bias_act_forward(void **state) {
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 505);
    const size_t n = 13, m = 9;
    for (size_t a = 0; a < N_ACTS; a++) {
        mlp_activation act = all_acts[a];
        float *Z = tu_floats(n * m), *Z0 = tu_floats(n * m), *pre = tu_floats(n * m);
        float *b = tu_floats(m);
        double *want = tu_doubles(n * m);
        tu_fill_uniform(Z0, n * m, &r, -4, 4);
        tu_fill_uniform(b, m, &r, -1, 1);
        memcpy(Z, Z0, n * m * sizeof(float));
        /* pre is required for GELU only (mlp_act_needs_pre); pass it where needed */
        tk_bias_act_forward(Z, mlp_act_needs_pre(act) ? pre : NULL, b, n, m, act);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++)
                want[i * m + j] = (double)(Z0[i * m + j] + b[j]); /* float add, as stored */
        if (mlp_act_needs_pre(act)) {
            for (size_t i = 0; i < n * m; i++) assert_true(pre[i] == (float)want[i]);
        }
        tu_act_rows(want, n, m, act);
        check_elem(Z, want, n * m, "bias_act_forward", act);
        if (act == MLP_ACT_SOFTMAX) {
            for (size_t i = 0; i < n; i++) {
                double s = 0.0;
                for (size_t j = 0; j < m; j++) s += Z[i * m + j];
                TU_ASSERT_NEAR(s, 1.0, 1e-5);
            }
        }
        free(Z), free(Z0), free(pre), free(b), free(want);
    }
}

/* core.h: activations that need it (GELU) store Z + b in pre; the others ignore pre. */
static void test_bias_act_forward_stores_pre(void **state) {
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 515);
    const size_t n = 5, m = 4;
    for (size_t a = 0; a < N_ACTS; a++) {
        float Z[20], pre[20], b[4];
        tu_fill_uniform(Z, n * m, &r, -4, 4);
        tu_fill_uniform(b, m, &r, -1, 1);
        float want[20], untouched[20];
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) want[i * m + j] = Z[i * m + j] + b[j];
        for (size_t i = 0; i < n * m; i++) pre[i] = untouched[i] = -12345.0f;
        tk_bias_act_forward(Z, pre, b, n, m, all_acts[a]);
        const float *expect = mlp_act_needs_pre(all_acts[a]) ? want : untouched;
        if (memcmp(pre, expect, sizeof want) != 0) {
            print_error("act %d: pre is not %s\n", (int)all_acts[a],
                        mlp_act_needs_pre(all_acts[a]) ? "Z + b" : "left untouched");
            fail();
        }
    }
    assert_true(mlp_act_needs_pre(MLP_ACT_GELU));
}

static void test_act_backward(void **state) {
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 606);
    const size_t n = 11, m = 7;
    for (size_t a = 0; a < N_ACTS; a++) {
        mlp_activation act = all_acts[a];
        float *A = tu_floats(n * m), *pre = tu_floats(n * m), *b = tu_floats(m);
        float *G = tu_floats(n * m), *G0 = tu_floats(n * m);
        double *want = tu_doubles(n * m), *Ad = tu_doubles(n * m);
        tu_fill_uniform(A, n * m, &r, -4, 4);
        memcpy(pre, A, n * m * sizeof(float)); /* b = 0: pre = A's initial values */
        tk_bias_act_forward(A, mlp_act_needs_pre(act) ? pre : NULL, b, n, m, act);
        tu_fill_uniform(G0, n * m, &r, -1, 1);
        memcpy(G, G0, n * m * sizeof(float));
        tk_act_backward(G, A, mlp_act_needs_pre(act) ? pre : NULL, n, m, act);
        if (act == MLP_ACT_SOFTMAX) {
            /* Jacobian-vector product from the exact softmax of pre: G_i = A_i (G_i - sum G_j A_j)
             */
            for (size_t i = 0; i < n * m; i++) Ad[i] = pre[i];
            tu_act_rows(Ad, n, m, act);
            for (size_t i = 0; i < n; i++) {
                double dot = 0.0;
                for (size_t j = 0; j < m; j++) dot += G0[i * m + j] * Ad[i * m + j];
                for (size_t j = 0; j < m; j++)
                    want[i * m + j] = Ad[i * m + j] * (G0[i * m + j] - dot);
            }
        } else {
            for (size_t i = 0; i < n * m; i++) want[i] = G0[i] * tu_act_deriv(act, pre[i]);
        }
        check_elem(G, want, n * m, "act_backward", act);
        free(A), free(pre), free(b), free(G), free(G0), free(want), free(Ad);
    }
}

/* A few hand-computed points: GELU(1) = Phi(1) = 0.841344746..., GELU'(1) = Phi(1) + phi(1) =
 * 0.841344746 + 0.241970725 = 1.083315471; GELU(-1) = -(1 - 0.841344746) = -0.158655254;
 * leaky(-2) = -0.02, leaky'(-2) = 0.01; logistic(0) = 0.5, logistic'(0) = 0.25; tanh'(0) = 1;
 * softmax(0, ln 3) = (0.25, 0.75). */
static void test_act_hand_values(void **state) {
    (void)state;
    float z[2] = {1.0f, -1.0f}, pre[2], zero[2] = {0, 0}, g[2] = {1.0f, 1.0f};
    tk_bias_act_forward(z, pre, zero, 1, 2, MLP_ACT_GELU);
    TU_ASSERT_NEAR(z[0], 0.841344746, 1e-6);
    TU_ASSERT_NEAR(z[1], -0.158655254, 1e-6);
    tk_act_backward(g, z, pre, 1, 2, MLP_ACT_GELU);
    TU_ASSERT_NEAR(g[0], 1.083315471, 1e-6);
    TU_ASSERT_NEAR(g[1], 1.0 - 1.083315471, 1e-6); /* Phi(-1) - phi(1) = -0.083315471 */

    float l[2] = {-2.0f, 3.0f}, gl[2] = {1.0f, 1.0f};
    tk_bias_act_forward(l, NULL, zero, 1, 2, MLP_ACT_LEAKY_RELU);
    TU_ASSERT_NEAR(l[0], -0.02, 1e-7);
    TU_ASSERT_NEAR(l[1], 3.0, 1e-7);
    tk_act_backward(gl, l, NULL, 1, 2, MLP_ACT_LEAKY_RELU);
    TU_ASSERT_NEAR(gl[0], 0.01, 1e-7);
    TU_ASSERT_NEAR(gl[1], 1.0, 1e-7);

    float s[1] = {0.0f}, gs[1] = {1.0f};
    tk_bias_act_forward(s, NULL, zero, 1, 1, MLP_ACT_LOGISTIC);
    TU_ASSERT_NEAR(s[0], 0.5, 1e-7);
    tk_act_backward(gs, s, NULL, 1, 1, MLP_ACT_LOGISTIC);
    TU_ASSERT_NEAR(gs[0], 0.25, 1e-7);

    float t[1] = {0.0f}, gt[1] = {2.0f};
    tk_bias_act_forward(t, NULL, zero, 1, 1, MLP_ACT_TANH);
    TU_ASSERT_NEAR(t[0], 0.0, 1e-7);
    tk_act_backward(gt, t, NULL, 1, 1, MLP_ACT_TANH);
    TU_ASSERT_NEAR(gt[0], 2.0, 1e-6);

    float sm[2] = {0.0f, (float)log(3.0)};
    tk_bias_act_forward(sm, NULL, zero, 1, 2, MLP_ACT_SOFTMAX);
    TU_ASSERT_NEAR(sm[0], 0.25, 1e-6);
    TU_ASSERT_NEAR(sm[1], 0.75, 1e-6);
    /* G = (1, 0): sum G_j A_j = 0.25, G = (0.25*(1-0.25), 0.75*(0-0.25)) = (0.1875, -0.1875) */
    float gsm[2] = {1.0f, 0.0f};
    tk_act_backward(gsm, sm, NULL, 1, 2, MLP_ACT_SOFTMAX);
    TU_ASSERT_NEAR(gsm[0], 0.1875, 1e-6);
    TU_ASSERT_NEAR(gsm[1], -0.1875, 1e-6);
}

/* Column sums over enough rows that the chunked path runs on several threads are identical to
 * the single-thread result bit for bit. */
static void test_colsum_thread_invariant(void **state) {
    (void)state;
    const size_t n = 1000, m = 100; /* 100000 elements > MLP_OMP_MIN_ELEMS */
    size_t chunks = (n + MLP_COLSUM_CHUNK - 1) / MLP_COLSUM_CHUNK;
    float *G = tu_floats(n * m), *p = tu_floats(chunks * m), *d1 = tu_floats(m), *d2 = tu_floats(m);
    tu_rng r;
    tu_rng_seed(&r, 707);
    tu_fill_uniform(G, n * m, &r, -1, 1);
    assert_int_equal(mlp_set_num_threads(1), MLP_OK);
    tk_colsum(d1, G, n, m, 0.001f, p);
    assert_int_equal(mlp_set_num_threads(2), MLP_OK);
    tk_colsum(d2, G, n, m, 0.001f, p);
    assert_memory_equal(d1, d2, m * sizeof(float));
    free(G), free(p), free(d1), free(d2);
}

/* Naive double reference of mlp_delta_block's G for one element. */
static double ref_delta(double g, double a, double z, mlp_activation act) {
    switch (act) {
    case MLP_ACT_RELU:
        return a > 0.0 ? g : 0.0;
    case MLP_ACT_LEAKY_RELU:
        return a > 0.0 ? g : 0.01 * g;
    case MLP_ACT_LOGISTIC:
        return g * a * (1.0 - a);
    case MLP_ACT_TANH:
        return g * (1.0 - a * a);
    case MLP_ACT_EXP:
        return g * a;
    case MLP_ACT_GELU:
        return g * (0.5 * (1.0 + erf(z / sqrt(2.0))) +
                    z * exp(-0.5 * z * z) / sqrt(2.0 * 3.14159265358979323846));
    default:
        return g;
    }
}

/* mlp_delta_block on a block inside a wider matrix (leading dimension ld, first row a multiple of
 * the chunk, a last chunk that is short): G and the chunk partials against a naive double
 * reference, for every activation, with and without targets; nothing outside the block changes. */
static void test_delta_block(void **state) {
    (void)state;
    const size_t n = 150, ld = 40, r0 = MLP_COLSUM_CHUNK, rows = n - r0;
    const size_t chunks = (rows + MLP_COLSUM_CHUNK - 1) / MLP_COLSUM_CHUNK;
    tu_rng r;
    tu_rng_seed(&r, 31);
    float *A = tu_floats(n * ld), *Y = tu_floats(n * ld), *pre = tu_floats(n * ld);
    float *G0 = tu_floats(n * ld), *G = tu_floats(n * ld), *part = tu_floats(chunks * ld);
    double *want = malloc(n * ld * sizeof(double));
    assert_non_null(want);
    for (int a = 0; a < MLP_ACT_COUNT; a++) {
        const mlp_activation act = (mlp_activation)a;
        const bool softmax = act == MLP_ACT_SOFTMAX;
        const size_t c0 = softmax ? 0 : 8, cols = softmax ? ld : 23;
        tu_fill_uniform(pre, n * ld, &r, -3, 3);
        tu_fill_uniform(A, n * ld, &r, act == MLP_ACT_RELU ? -1 : 0.01, 0.99);
        tu_fill_uniform(Y, n * ld, &r, 0, 1);
        tu_fill_uniform(G0, n * ld, &r, -1, 1);
        for (int with_y = 0; with_y < 2; with_y++) {
            memcpy(G, G0, n * ld * sizeof(float));
            for (size_t i = 0; i < n * ld; i++) want[i] = G0[i];
            for (size_t i = r0; i < n; i++) {
                double dot = 0.0;
                for (size_t j = c0; j < c0 + cols; j++) {
                    size_t e = i * ld + j;
                    want[e] = with_y ? (double)A[e] - Y[e] : G0[e];
                    dot += want[e] * A[e];
                }
                for (size_t j = c0; j < c0 + cols; j++) {
                    size_t e = i * ld + j;
                    want[e] =
                        softmax ? A[e] * (want[e] - dot) : ref_delta(want[e], A[e], pre[e], act);
                }
            }
            size_t off = r0 * ld + c0;
            mlp_delta_block(G + off, A + off, with_y ? Y + off : NULL, pre + off, rows, cols, ld,
                            act, part + c0, ld, NULL, 1.0f);
            for (size_t i = 0; i < n * ld; i++)
                if (!(fabs((double)G[i] - want[i]) <= 1e-5 * (1.0 + fabs(want[i])))) {
                    print_error("%s y=%d element %zu: got %.9g want %.9g\n", "delta_block", with_y,
                                i, (double)G[i], want[i]);
                    fail();
                }
            for (size_t c = 0; c < chunks; c++)
                for (size_t j = c0; j < c0 + cols; j++) {
                    double s = 0.0, sa = 0.0;
                    for (size_t i = r0 + c * MLP_COLSUM_CHUNK;
                         i < n && i < r0 + (c + 1) * MLP_COLSUM_CHUNK; i++)
                        s += want[i * ld + j], sa += fabs(want[i * ld + j]);
                    assert_true(fabs((double)part[c * ld + j] - s) <= 1e-5 * (1.0 + sa));
                }
        }
    }
    free(A), free(Y), free(pre), free(G0), free(G), free(part), free(want);
}

/* A GEMM cut into a forced fine grid (16 x 16 tiles and ragged edges) computes the same product
 * as the naive reference, for the three transpose cases: the tile boxes cover C exactly once. */
static void test_gemm_tiles_cover(void **state) {
    (void)state;
    const size_t n = 75, in = 41, out = 53;
    tu_rng r;
    tu_rng_seed(&r, 5);
    float *X = tu_floats(n * in), *W = tu_floats(in * out), *D = tu_floats(n * out);
    float *C = tu_floats(n * in > in * out ? (n * in > n * out ? n * in : n * out)
                                           : (in * out > n * out ? in * out : n * out));
    tu_fill_uniform(X, n * in, &r, -1, 1);
    tu_fill_uniform(W, in * out, &r, -1, 1);
    tu_fill_uniform(D, n * out, &r, -1, 1);
    for (int kind = 0; kind < 3; kind++) {
        mlp_gemm g = kind == 0   ? mlp_gemm_forward(C, X, W, n, in, out)
                     : kind == 1 ? mlp_gemm_weights(C, X, D, n, in, out, 0.5f, 0.0f)
                                 : mlp_gemm_input(C, D, W, n, in, out);
        g.tm = 16, g.tn = 16;
        g.tiles_m = (g.m + 15) / 16, g.tiles_n = (g.n + 15) / 16;
        for (size_t i = 0; i < g.m * g.n; i++) C[i] = NAN;
        int saved = mlp_blas_serial_begin();
        for (size_t t = 0; t < mlp_gemm_tiles(&g); t++) mlp_gemm_tile(&g, t);
        mlp_blas_serial_end(saved);
        for (size_t i = 0; i < g.m; i++)
            for (size_t j = 0; j < g.n; j++) {
                double s = 0.0;
                for (size_t q = 0; q < g.k; q++) {
                    double a = g.trans_a ? g.A[q * g.lda + i] : g.A[i * g.lda + q];
                    double b = g.trans_b ? g.B[j * g.ldb + q] : g.B[q * g.ldb + j];
                    s += a * b;
                }
                s *= g.alpha;
                assert_true(fabs((double)C[i * g.n + j] - s) <= 1e-4 * (1.0 + fabs(s)));
            }
    }
    free(X), free(W), free(D), free(C);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_forward),
        cmocka_unit_test(test_dense_backward_weights),
        cmocka_unit_test(test_dense_backward_input),
        cmocka_unit_test(test_colsum),
        cmocka_unit_test(test_delta_block),
        cmocka_unit_test(test_gemm_tiles_cover),
        cmocka_unit_test(test_colsum_thread_invariant),
        cmocka_unit_test(test_act_needs_pre),
        cmocka_unit_test(test_bias_act_forward),
        cmocka_unit_test(test_bias_act_forward_stores_pre),
        cmocka_unit_test(test_act_backward),
        cmocka_unit_test(test_act_hand_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
