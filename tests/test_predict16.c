/* bf16 inference (mlp_net_set_predict_precision): the setting and its refusal; predictions equal
 * to the forward pass of a bf16 training step (the same rounding points: the input, the weights,
 * the hidden outputs) and close to a double reference on bf16-rounded operands; the same bits for
 * any thread count, from several threads at once, and for any chunk; labels from the same
 * probabilities. On a CPU or build without bf16 the refusal is checked and the numerics skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "test_util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define IN 24
#define OUT 5
#define N 300

static const size_t sizes[] = {IN, 32, 16, OUT};
static const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_TANH, MLP_ACT_SOFTMAX};

static bool have_bf16(void) {
    if (mlp_precision_supported(MLP_PRECISION_BF16)) return true;
    printf("bf16 not available here (%s): numerics skipped, the refusal checked\n",
           mlp_precision_isa());
    return false;
}

static mlp_net *make_net(void) {
    mlp_net *net = tu_make_net(sizes, acts, 3, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 5);
    assert_non_null(net);
    return net;
}

static float *make_X(size_t n) {
    float *X = tu_floats(n * IN);
    tu_rng r;
    tu_rng_seed(&r, 11);
    tu_fill_uniform(X, n * IN, &r, -2.0, 2.0);
    return X;
}

static void test_setting(void **state) {
    (void)state;
    mlp_net *net = make_net();
    assert_int_equal(mlp_net_predict_precision(net), MLP_PRECISION_F32);
    assert_int_equal(mlp_net_set_predict_precision(NULL, MLP_PRECISION_F32), MLP_ERR_NULL);
    assert_int_equal(mlp_net_set_predict_precision(net, MLP_PRECISION_COUNT), MLP_ERR_ARG);
    assert_int_equal(mlp_net_set_predict_precision(net, MLP_PRECISION_AUTO), MLP_OK);
    const bool ok = mlp_precision_supported(MLP_PRECISION_BF16);
    assert_int_equal(mlp_net_predict_precision(net), ok ? MLP_PRECISION_BF16 : MLP_PRECISION_F32);
    if (!ok) {
        assert_int_equal(mlp_net_set_predict_precision(net, MLP_PRECISION_BF16),
                         MLP_ERR_UNSUPPORTED);
        assert_non_null(strstr(mlp_last_error(), "bf16 is not available"));
        assert_int_equal(mlp_net_predict_precision(net), MLP_PRECISION_F32);
    }
    /* a clone keeps it; the training precision is another setting */
    mlp_net *c = NULL;
    assert_int_equal(mlp_net_clone(&c, net), MLP_OK);
    assert_int_equal(mlp_net_predict_precision(c), mlp_net_predict_precision(net));
    assert_int_equal(mlp_net_precision(c), MLP_PRECISION_F32);
    mlp_net_free(c);
    mlp_net_free(net);
}

static double bf(float f) {
    mlp_bf16 h = mlp_bf16_of(f);
    uint32_t u = (uint32_t)h << 16;
    float g;
    memcpy(&g, &u, sizeof g);
    return g;
}

/* Row i's outputs in double from bf16-rounded operands (the input, the weights, each hidden
 * output), f32-free: what bf16 inference approximates. */
static void reference_row(const mlp_net *net, const float *x, double *out) {
    double a[64], z[64];
    for (size_t j = 0; j < IN; j++) a[j] = bf(x[j]);
    for (size_t l = 0; l < net->n_layers; l++) {
        const mlp_layer *ly = &net->layers[l];
        const float *W = net->params + ly->w_off, *b = net->params + ly->b_off;
        for (size_t o = 0; o < ly->out; o++) {
            double s = 0.0;
            for (size_t k = 0; k < ly->in; k++) s += a[k] * bf(W[k * ly->out + o]);
            z[o] = s + b[o];
        }
        if (ly->act == MLP_ACT_SOFTMAX) {
            double mx = z[0], sum = 0.0;
            for (size_t o = 1; o < ly->out; o++) mx = z[o] > mx ? z[o] : mx;
            for (size_t o = 0; o < ly->out; o++) sum += (z[o] = exp(z[o] - mx));
            for (size_t o = 0; o < ly->out; o++) out[o] = z[o] / sum;
            return;
        }
        for (size_t o = 0; o < ly->out; o++)
            a[o] = bf((float)(ly->act == MLP_ACT_RELU ? (z[o] > 0 ? z[o] : 0.0) : tanh(z[o])));
    }
}

static float *predict_bf16(const mlp_net *net, const float *X, size_t n) {
    float *P = tu_floats(n * OUT);
    assert_int_equal(mlp_predict(net, X, n, P), MLP_OK);
    return P;
}

static void test_against_training_forward_and_reference(void **state) {
    (void)state;
    if (!have_bf16()) skip();
    mlp_net *net = make_net();
    float *X = make_X(N), *P32 = tu_floats(N * OUT);
    assert_int_equal(mlp_predict(net, X, N, P32), MLP_OK);
    assert_int_equal(mlp_net_set_predict_precision(net, MLP_PRECISION_BF16), MLP_OK);
    float *P = predict_bf16(net, X, N);
    /* the forward pass of a bf16 training step (no dropout here) rounds at the same points */
    mlp_net *t = NULL;
    assert_int_equal(mlp_net_clone(&t, net), MLP_OK);
    assert_int_equal(mlp_net_set_precision(t, MLP_PRECISION_BF16), MLP_OK);
    assert_int_equal(mlp_forward(t, X, N), MLP_OK);
    const float *F = mlp_forward_output(t);
    double worst_fwd = 0.0, worst_ref = 0.0, from_f32 = 0.0, ref[OUT];
    for (size_t i = 0; i < N; i++) {
        reference_row(net, X + i * IN, ref);
        for (size_t o = 0; o < OUT; o++) {
            const double p = P[i * OUT + o];
            worst_fwd = fmax(worst_fwd, fabs(p - F[i * OUT + o]));
            worst_ref = fmax(worst_ref, fabs(p - ref[o]));
            from_f32 = fmax(from_f32, fabs(p - P32[i * OUT + o]));
        }
    }
    printf("bf16 predict: max |diff| %.3g from the bf16 training forward, %.3g from the double "
           "reference, %.3g from f32\n",
           worst_fwd, worst_ref, from_f32);
    assert_true(worst_fwd <= 1e-6);
    /* a hidden output within one f32 rounding of a bf16 tie may round the other way: 2^-8 of
     * one operand, far inside 1e-2; a wrong operand (f32, a wrong offset) is not */
    assert_true(worst_ref <= 1e-2);
    assert_true(from_f32 > 1e-6); /* the bf16 path ran */
    mlp_net_free(t);
    free(X), free(P32), free(P);
    mlp_net_free(net);
}

static void test_threads_chunks_labels(void **state) {
    (void)state;
    if (!have_bf16()) skip();
    mlp_net *net = make_net();
    assert_int_equal(mlp_net_set_predict_precision(net, MLP_PRECISION_BF16), MLP_OK);
    float *X = make_X(N);
    assert_int_equal(mlp_set_num_threads(1), MLP_OK);
    float *P1 = predict_bf16(net, X, N);
    for (int T = 2; T <= 4; T++) {
        assert_int_equal(mlp_set_num_threads(T), MLP_OK);
        float *PT = predict_bf16(net, X, N);
        assert_memory_equal(P1, PT, N * OUT * sizeof(float));
        free(PT);
    }
    /* one row at a time: each row is its own block, rounded at the same points */
    float one[OUT];
    for (size_t i = 0; i < N; i += 37) {
        assert_int_equal(mlp_predict(net, X + i * IN, 1, one), MLP_OK);
        for (size_t o = 0; o < OUT; o++) assert_true(fabs(one[o] - P1[i * OUT + o]) <= 1e-6);
    }
    int32_t *lab = tu_alloc(N, sizeof(int32_t));
    assert_int_equal(mlp_predict_labels(net, X, N, lab), MLP_OK);
    for (size_t i = 0; i < N; i++) assert_int_equal(lab[i], mlp_row_label(P1 + i * OUT, OUT));
    free(lab), free(X), free(P1);
    mlp_net_free(net);
}

typedef struct job {
    const mlp_net *net;
    const float *X;
    float *P;
    mlp_status st;
} job;

static void *run(void *p) {
    job *j = p;
    for (int r = 0; r < 5 && j->st == MLP_OK; r++) j->st = mlp_predict(j->net, j->X, N, j->P);
    return NULL;
}

static void test_concurrent(void **state) {
    (void)state;
    if (!have_bf16()) skip();
    mlp_net *net = make_net();
    assert_int_equal(mlp_net_set_predict_precision(net, MLP_PRECISION_BF16), MLP_OK);
    float *X = make_X(N), *P1 = predict_bf16(net, X, N);
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){net, X, tu_floats(N * OUT), MLP_OK};
        assert_int_equal(pthread_create(&th[i], NULL, run, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(jobs[i].st, MLP_OK);
        assert_memory_equal(jobs[i].P, P1, N * OUT * sizeof(float));
        free(jobs[i].P);
    }
    free(X), free(P1);
    mlp_net_free(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setting),
        cmocka_unit_test(test_against_training_forward_and_reference),
        cmocka_unit_test(test_threads_chunks_labels),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
