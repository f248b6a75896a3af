#define _POSIX_C_SOURCE 200809L /* setenv */
/* bf16 mixed precision (MLP_PRECISION_BF16): every GEMM of a step checked against a double
 * reference computed on the engine's own bf16 operands; the rounding itself; bits independent of
 * the thread count; gradients and training against the f32 path; inference in f32. On a CPU or
 * build without bf16 the refusal is checked and the numerics are skipped (with a message).
 *
 * The tolerance of a GEMM element c = sum_k a_k b_k: bf16 products are exact in f32 (8-bit
 * significands), so the only error is f32 accumulation, at most K * 2^-24 * sum_k |a_k b_k| in any
 * summation order (oneDNN's blocking, the dW parts added in order). The f32 epilogue adds a few
 * roundings of the result (bias add, activation with |f'| <= 1.13, 1/n scaling, the L2 term): 8
 * ulp of the value. Operands rounded from f32 differ by up to 2^-9 relative, so a GEMM on the
 * wrong operands (f32, a stale copy, a wrong offset or transpose) fails these bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

#define U24 (1.0 / 16777216.0)

static bool have_bf16(void) {
    if (mlp_precision_supported(MLP_PRECISION_BF16)) return true;
    printf("bf16 not available here (%s): numerics skipped, the refusal checked\n",
           mlp_precision_isa());
    return false;
}

static double bf(mlp_bf16 h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* |got - ref| within the accumulation bound of K terms of magnitude sum_abs, plus 8 ulp. */
static void expect_close(double got, double ref, double sum_abs, size_t K, const char *what,
                         size_t i) {
    const double tol = 1.2 * (double)K * U24 * sum_abs + 8.0 * U24 * fabs(ref) + 1e-30;
    if (!(fabs(got - ref) <= tol))
        fail_msg("%s[%zu]: %.9g, reference %.9g (tolerance %.3g)", what, i, got, ref, tol);
}

static void test_refusal_or_support(void **state) {
    (void)state;
    mlp_net *net =
        tu_make_net((size_t[]){4, 3, 2}, (mlp_activation[]){MLP_ACT_RELU, MLP_ACT_SOFTMAX}, 2,
                    MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1);
    assert_non_null(net);
    assert_int_equal(mlp_net_precision(net), MLP_PRECISION_F32);
    assert_string_equal(mlp_precision_name(MLP_PRECISION_BF16), "bf16");
    assert_int_equal(mlp_net_set_precision(net, MLP_PRECISION_COUNT), MLP_ERR_ARG);
    if (!mlp_precision_supported(MLP_PRECISION_BF16)) {
        assert_int_equal(mlp_net_set_precision(net, MLP_PRECISION_BF16), MLP_ERR_UNSUPPORTED);
        assert_non_null(strstr(mlp_last_error(), "bf16 is not available"));
        assert_int_equal(mlp_net_precision(net), MLP_PRECISION_F32);
        assert_int_equal(mlp_net_set_precision(net, MLP_PRECISION_AUTO), MLP_OK);
        assert_int_equal(mlp_net_precision(net), MLP_PRECISION_F32);
        printf("bf16 refused as it should be here: %s\n", mlp_precision_isa());
    } else {
        assert_int_equal(mlp_net_set_precision(net, MLP_PRECISION_AUTO), MLP_OK);
        assert_int_equal(mlp_net_precision(net), MLP_PRECISION_BF16);
        assert_non_null(strstr(mlp_precision_isa(), "avx512_core"));
        assert_int_equal(mlp_net_set_precision(net, MLP_PRECISION_F32), MLP_OK);
        assert_int_equal(mlp_net_precision(net), MLP_PRECISION_F32);
        printf("bf16 on %s\n", mlp_precision_isa());
    }
    assert_int_equal(mlp_net_set_precision(NULL, MLP_PRECISION_F32), MLP_ERR_NULL);
    mlp_net_free(net);
}

/* out (n x m) against act(A16 (n x k) . W16 (k x m) + b), A16 with leading dimension k. */
static void check_forward(const mlp_net *net, size_t l, const mlp_bf16 *A16, size_t n) {
    const mlp_layer *ly = &net->layers[l];
    const mlp_bf16 *W16 = net->w16 + ly->w_off;
    const float *b = net->params + ly->b_off, *Z = net->out[l];
    for (size_t i = 0; i < n; i++) {
        double z[64], sa[64];
        assert_true(ly->out <= 64);
        for (size_t j = 0; j < ly->out; j++) {
            z[j] = b[j], sa[j] = fabs(b[j]);
            for (size_t k = 0; k < ly->in; k++) {
                const double p = bf(A16[i * ly->in + k]) * bf(W16[k * ly->out + j]);
                z[j] += p, sa[j] += fabs(p);
            }
        }
        double mx = -INFINITY, sum = 0.0;
        for (size_t j = 0; ly->act == MLP_ACT_SOFTMAX && j < ly->out; j++) mx = fmax(mx, z[j]);
        for (size_t j = 0; ly->act == MLP_ACT_SOFTMAX && j < ly->out; j++) sum += exp(z[j] - mx);
        for (size_t j = 0; j < ly->out; j++) {
            double ref = z[j];
            if (ly->act == MLP_ACT_TANH) ref = tanh(z[j]);
            if (ly->act == MLP_ACT_RELU) ref = z[j] > 0 ? z[j] : 0;
            if (ly->act == MLP_ACT_LEAKY_RELU) ref = z[j] > 0 ? z[j] : 0.01 * z[j];
            if (ly->act == MLP_ACT_LOGISTIC) ref = 1.0 / (1.0 + exp(-z[j]));
            if (ly->act == MLP_ACT_GELU) ref = z[j] * tu_Phi(z[j]);
            if (ly->act == MLP_ACT_SOFTMAX) ref = exp(z[j] - mx) / sum;
            if (ly->act == MLP_ACT_EXP) ref = exp(z[j]);
            /* softmax: a relative error of the logits' scale in each output; exp: the error of z
             * times exp(z) */
            const double scale = ly->act == MLP_ACT_SOFTMAX ? 2.0 * sa[j]
                                 : ly->act == MLP_ACT_EXP   ? sa[j] * ref
                                                            : sa[j];
            expect_close(Z[i * ly->out + j], ref, scale, ly->in + 1, "forward", i * ly->out + j);
            assert_int_equal(l + 1 < net->n_layers ? net->out16[l][i * ly->out + j]
                                                   : mlp_bf16_of(Z[i * ly->out + j]),
                             mlp_bf16_of(Z[i * ly->out + j]));
        }
    }
}

/* dW_l against inv_n A16^T D16 + alpha_n W, db_l against inv_n colsum(D). */
static void check_weight_grads(const mlp_net *net, size_t l, const mlp_bf16 *A16,
                               const mlp_bf16 *D16, const float *D, size_t n, double inv_n,
                               double alpha_n) {
    const mlp_layer *ly = &net->layers[l];
    for (size_t r = 0; r < ly->in; r++)
        for (size_t c = 0; c < ly->out; c++) {
            double s = 0.0, sa = 0.0;
            for (size_t i = 0; i < n; i++) {
                const double p = bf(A16[i * ly->in + r]) * bf(D16[i * ly->out + c]);
                s += p, sa += fabs(p);
            }
            const double w = net->params[ly->w_off + r * ly->out + c];
            expect_close(net->grads[ly->w_off + r * ly->out + c], inv_n * s + alpha_n * w,
                         inv_n * sa + fabs(alpha_n * w), n, "dW", r * ly->out + c);
        }
    for (size_t c = 0; c < ly->out; c++) {
        double s = 0.0, sa = 0.0;
        for (size_t i = 0; i < n; i++) s += D[i * ly->out + c], sa += fabs(D[i * ly->out + c]);
        expect_close(net->grads[ly->b_off + c], inv_n * s, inv_n * sa, n, "db", c);
    }
}

/* D_{l-1} (n x in) against (D16_l . W16_l^T) * f'_{l-1}, from the layer's output or (GELU) its
 * pre-activation. */
static void check_input_delta(const mlp_net *net, size_t l, const mlp_bf16 *D16, const float *Dp,
                              size_t n) {
    const mlp_layer *ly = &net->layers[l], *prev = &net->layers[l - 1];
    const mlp_bf16 *W16 = net->w16 + ly->w_off;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ly->in; j++) {
            double s = 0.0, sa = 0.0;
            for (size_t c = 0; c < ly->out; c++) {
                const double p = bf(D16[i * ly->out + c]) * bf(W16[j * ly->out + c]);
                s += p, sa += fabs(p);
            }
            const double a = net->out[l - 1][i * ly->in + j];
            /* f' in f32 has an absolute error of a few 2^-24 (1 - a^2 cancels near |a| = 1;
             * GELU's erf and exp are within 4 ulp), which the sum s carries along. */
            double d = 1.0, d_err = 2.0 * U24;
            if (prev->act == MLP_ACT_TANH) d = 1.0 - a * a;
            if (prev->act == MLP_ACT_RELU) d = a > 0.0, d_err = 0.0;
            if (prev->act == MLP_ACT_LEAKY_RELU) d = a > 0.0 ? 1.0 : 0.01, d_err = U24 * 0.01;
            if (prev->act == MLP_ACT_LOGISTIC) d = a * (1.0 - a);
            if (prev->act == MLP_ACT_GELU) {
                const double z = net->pre[l - 1][i * ly->in + j];
                d = tu_Phi(z) + z * tu_phi(z);
                d_err = 8.0 * U24 * (1.0 + fabs(z));
            }
            const double got = Dp[i * ly->in + j], ref = s * d;
            expect_close(got, ref, sa * fabs(d) * 1.2 + fabs(s) * d_err / ((double)ly->out * U24),
                         ly->out, "delta", i * ly->in + j);
        }
}

/* One forward + backward of a 3-layer net in bf16, every GEMM against its reference: the loss's
 * output (softmax for cross-entropy, logistic for binary log-loss, identity for squared error),
 * with per-row sample weights when weighted. */
static void reference_case(const mlp_activation *acts, mlp_loss loss_kind, bool weighted, size_t n,
                           uint64_t seed) {
    const size_t sizes[] = {40, 48, 24, 6};
    mlp_net *net = tu_make_net_opt(sizes, acts, 3, loss_kind, seed, MLP_OPT_ADAM, 1e-3f, 1e-2f);
    assert_non_null(net);
    assert_int_equal(mlp_net_set_precision(net, MLP_PRECISION_BF16), MLP_OK);
    tu_rng r;
    tu_rng_seed(&r, seed);
    float *X = tu_floats(n * sizes[0]), *Y = tu_floats(n * sizes[3]), *w = tu_floats(n);
    tu_fill_uniform(X, n * sizes[0], &r, -2.0, 2.0);
    if (loss_kind == MLP_LOSS_SOFTMAX_CE) tu_fill_onehot(Y, NULL, n, sizes[3], &r);
    for (size_t i = 0; loss_kind != MLP_LOSS_SOFTMAX_CE && i < n * sizes[3]; i++)
        Y[i] = loss_kind == MLP_LOSS_LOGISTIC  ? (float)(tu_rng_uniform(&r) < 0.5)
               : loss_kind == MLP_LOSS_POISSON ? (float)(int)tu_rng_range(&r, 0.0, 4.0)
               : loss_kind == MLP_LOSS_HUBER   ? tu_rng_range(&r, -3.0, 3.0) /* both pieces */
                                               : tu_rng_range(&r, -1.0, 1.0);
    double norm = 0.0;
    for (size_t i = 0; i < n; i++) norm += (w[i] = weighted ? tu_rng_range(&r, 0.0, 2.0) : 1.0f);
    float loss;
    assert_int_equal(mlp_forward(net, X, n), MLP_OK);
    for (size_t i = 0; i < n * sizes[0]; i++) assert_int_equal(net->x16[i], mlp_bf16_of(X[i]));
    for (size_t i = 0; i < net->n_params; i++)
        assert_int_equal(net->w16[i], mlp_bf16_of(net->params[i]));
    check_forward(net, 0, net->x16, n);
    check_forward(net, 1, net->out16[0], n);
    check_forward(net, 2, net->out16[1], n);
    assert_int_equal(
        weighted ? mlp_backward_weighted(net, Y, w, &loss) : mlp_backward(net, Y, &loss), MLP_OK);
    /* The output delta (P - Y) w, rounded as the engine rounds it (its buffer was reused since):
     * each loss here is paired with its output, so f' drops out (Poisson with its exp output
     * too); Huber's P - Y is clipped to its delta (1, PyTorch's default). */
    mlp_bf16 *D2 = tu_alloc(n * sizes[3], sizeof *D2);
    float *D2f = tu_floats(n * sizes[3]);
    for (size_t i = 0; i < n * sizes[3]; i++) {
        D2f[i] = net->out[2][i] - Y[i];
        if (loss_kind == MLP_LOSS_HUBER) D2f[i] = fminf(1.0f, fmaxf(-1.0f, D2f[i]));
        if (weighted) D2f[i] *= w[i / sizes[3]];
        D2[i] = mlp_bf16_of(D2f[i]);
    }
    if (!weighted) norm = (double)n;
    const double inv_n = 1.0 / norm, alpha_n = 1e-2 / norm;
    check_weight_grads(net, 2, net->out16[1], D2, D2f, n, inv_n, alpha_n);
    check_input_delta(net, 2, D2, net->delta[1], n);
    check_weight_grads(net, 1, net->out16[0], net->delta16[1], net->delta[1], n, inv_n, alpha_n);
    check_input_delta(net, 1, net->delta16[1], net->delta[0], n);
    check_weight_grads(net, 0, net->x16, net->delta16[0], net->delta[0], n, inv_n, alpha_n);
    free(D2), free(D2f), free(X), free(Y), free(w);
    mlp_net_free(net);
}

static void test_step_against_reference(void **state) {
    (void)state;
    if (!have_bf16()) skip();
    /* 1000 rows: the dW of the first two layers are cut into 3 and 2 parts along the batch. */
    const mlp_gemm probe = {.m = 40, .n = 48, .k = 1000};
    assert_true(2.0 * (double)probe.m * (double)probe.n * (double)probe.k >= 3 * MLP_TILE_FLOPS);
    reference_case((mlp_activation[]){MLP_ACT_GELU, MLP_ACT_TANH, MLP_ACT_SOFTMAX},
                   MLP_LOSS_SOFTMAX_CE, false, 1000, 3);
    reference_case((mlp_activation[]){MLP_ACT_RELU, MLP_ACT_LOGISTIC, MLP_ACT_SOFTMAX},
                   MLP_LOSS_SOFTMAX_CE, false, 37, 4);
    /* Every other loss with its output (Poisson: exp), sample weights, leaky ReLU. */
    reference_case((mlp_activation[]){MLP_ACT_LEAKY_RELU, MLP_ACT_GELU, MLP_ACT_LOGISTIC},
                   MLP_LOSS_LOGISTIC, true, 1000, 5);
    reference_case((mlp_activation[]){MLP_ACT_TANH, MLP_ACT_RELU, MLP_ACT_IDENTITY},
                   MLP_LOSS_SQUARED, true, 53, 6);
    reference_case((mlp_activation[]){MLP_ACT_TANH, MLP_ACT_GELU, MLP_ACT_EXP}, MLP_LOSS_POISSON,
                   true, 1000, 7);
    reference_case((mlp_activation[]){MLP_ACT_RELU, MLP_ACT_TANH, MLP_ACT_IDENTITY}, MLP_LOSS_HUBER,
                   false, 61, 8);
}

/* Parameters after `steps` bf16 steps (dropout on the hidden layer) on `threads` threads. */
static float *train_bf16(size_t threads, const float *X, const float *Y, size_t n, int steps) {
    const size_t sizes[] = {256, 128, 10};
    mlp_net *net = tu_make_net_opt(sizes, (mlp_activation[]){MLP_ACT_RELU, MLP_ACT_SOFTMAX}, 2,
                                   MLP_LOSS_SOFTMAX_CE, 5, MLP_OPT_ADAM, 1e-3f, 1e-4f);
    assert_non_null(net);
    assert_int_equal(mlp_net_set_precision(net, MLP_PRECISION_BF16), MLP_OK);
    assert_int_equal(mlp_net_set_dropout(net, 0, 0.2f), MLP_OK);
    assert_int_equal(mlp_set_num_threads((int)threads), MLP_OK);
    assert_int_equal(mlp_net_step_threads(net, n), (int)threads);
    float loss;
    for (int s = 0; s < steps; s++) assert_int_equal(mlp_train_step(net, X, Y, n, &loss), MLP_OK);
    float *p = tu_floats(net->n_params);
    memcpy(p, net->params, net->n_params * sizeof *p);
    mlp_net_free(net);
    return p;
}

static void test_threads_same_bits(void **state) {
    (void)state;
    if (!have_bf16()) skip();
    const size_t n = 200;
    tu_rng r;
    tu_rng_seed(&r, 9);
    float *X = tu_floats(n * 256), *Y = tu_floats(n * 10);
    tu_fill_uniform(X, n * 256, &r, 0.0, 1.0);
    tu_fill_onehot(Y, NULL, n, 10, &r);
    float *ref = train_bf16(1, X, Y, n, 6);
    const size_t np = 256 * 128 + 128 + 128 * 10 + 10;
    for (size_t t = 2; t <= 4; t++) {
        float *p = train_bf16(t, X, Y, n, 6);
        assert_memory_equal(p, ref, np * sizeof *p);
        free(p);
    }
    assert_int_equal(mlp_set_num_threads(1), MLP_OK);
    free(ref), free(X), free(Y);
}

/* The bf16 gradient against the f32 one at the same weights (test_gradcheck checks f32 against
 * finite differences): bf16 operands carry 2^-9 relative rounding, so the gradients agree to a
 * few percent in norm, not to f32 precision; then both train the same problem alike. */
static void test_tracks_f32(void **state) {
    (void)state;
    if (!have_bf16()) skip();
    const size_t sizes[] = {64, 96, 10}, n = 300;
    const mlp_activation acts[] = {MLP_ACT_TANH, MLP_ACT_SOFTMAX};
    tu_rng r;
    tu_rng_seed(&r, 21);
    float *X = tu_floats(n * 64), *Y = tu_floats(n * 10);
    int32_t *labels = tu_alloc(n, sizeof *labels);
    tu_fill_uniform(X, n * 64, &r, -1.0, 1.0);
    tu_fill_onehot(Y, labels, n, 10, &r);
    mlp_net *f = tu_make_net_opt(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, 8, MLP_OPT_ADAM, 1e-2f, 0);
    mlp_net *h = NULL;
    assert_int_equal(mlp_net_clone(&h, f), MLP_OK);
    assert_int_equal(mlp_net_set_precision(h, MLP_PRECISION_BF16), MLP_OK);
    float lf, lh;
    assert_int_equal(mlp_forward(f, X, n), MLP_OK);
    assert_int_equal(mlp_backward(f, Y, &lf), MLP_OK);
    assert_int_equal(mlp_forward(h, X, n), MLP_OK);
    assert_int_equal(mlp_backward(h, Y, &lh), MLP_OK);
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < f->n_params; i++) {
        diff += (h->grads[i] - f->grads[i]) * (double)(h->grads[i] - f->grads[i]);
        norm += f->grads[i] * (double)f->grads[i];
    }
    printf("bf16 vs f32: loss %.6f vs %.6f, gradient relative difference %.4f\n", lh, lf,
           sqrt(diff / norm));
    assert_true(sqrt(diff / norm) < 0.03);
    assert_true(fabs(lh - lf) < 0.01 * lf);
    for (int s = 0; s < 150; s++) {
        assert_int_equal(mlp_train_step(f, X, Y, n, &lf), MLP_OK);
        assert_int_equal(mlp_train_step(h, X, Y, n, &lh), MLP_OK);
    }
    printf("after 150 steps: loss bf16 %.5f, f32 %.5f\n", lh, lf);
    assert_true(lh < 0.5f && fabs(lh - lf) < 0.1 * lf + 0.01);
    /* Inference is f32 in either precision: the bf16 net predicts what an f32 copy predicts. */
    mlp_net *c = NULL;
    assert_int_equal(mlp_net_clone(&c, h), MLP_OK);
    assert_int_equal(mlp_net_precision(c), MLP_PRECISION_BF16);
    assert_int_equal(mlp_net_set_precision(c, MLP_PRECISION_F32), MLP_OK);
    float *P1 = tu_floats(n * 10), *P2 = tu_floats(n * 10);
    assert_int_equal(mlp_predict(h, X, n, P1), MLP_OK);
    assert_int_equal(mlp_predict(c, X, n, P2), MLP_OK);
    assert_memory_equal(P1, P2, n * 10 * sizeof *P1);
    free(P1), free(P2), free(X), free(Y), free(labels);
    mlp_net_free(c), mlp_net_free(f), mlp_net_free(h);
}

/* Parameters written outside the update (set_params, a pointer from mlp_net_params, a restored
 * snapshot) reach the bf16 copy before the next pass uses it. */
static void test_copy_follows_writes(void **state) {
    (void)state;
    if (!have_bf16()) skip();
    const size_t sizes[] = {8, 5, 3}, n = 4;
    mlp_net *net = tu_make_net(sizes, (mlp_activation[]){MLP_ACT_RELU, MLP_ACT_SOFTMAX}, 2,
                               MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 2);
    assert_int_equal(mlp_net_set_precision(net, MLP_PRECISION_BF16), MLP_OK);
    float X[32], Y[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0}, loss;
    for (int i = 0; i < 32; i++) X[i] = (float)i / 32.0f;
    assert_int_equal(mlp_train_step(net, X, Y, n, &loss), MLP_OK);
    float *p = tu_floats(net->n_params);
    for (size_t i = 0; i < net->n_params; i++) p[i] = 0.01f * (float)(i % 7);
    assert_int_equal(mlp_net_set_params(net, p, net->n_params), MLP_OK);
    assert_int_equal(mlp_forward(net, X, n), MLP_OK);
    for (size_t i = 0; i < net->n_params; i++) assert_int_equal(net->w16[i], mlp_bf16_of(p[i]));
    mlp_net_params(net)[0] = 0.5f;
    assert_int_equal(mlp_forward(net, X, n), MLP_OK);
    assert_int_equal(net->w16[0], mlp_bf16_of(0.5f));
    free(p);
    mlp_net_free(net);
}

int main(void) {
    /* Before any mlp call: the width is read once. 4 cuts GEMMs and dW into parts here too. */
    setenv("MLP_PARALLEL_WIDTH", "4", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusal_or_support),  cmocka_unit_test(test_step_against_reference),
        cmocka_unit_test(test_threads_same_bits),   cmocka_unit_test(test_tracks_f32),
        cmocka_unit_test(test_copy_follows_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
