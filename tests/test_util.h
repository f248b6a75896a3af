/* Shared helpers of the CMocka suites: a tiny seeded RNG, random fill, naive double-precision
 * reference kernels and comparison helpers. Everything is static inline so that every suite can
 * include this header without unused-function warnings. */
#ifndef MLP_TEST_UTIL_H
#define MLP_TEST_UTIL_H

#include "mlp/mlp.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- RNG: splitmix64, fixed seeds, identical on every platform ---- */
typedef struct tu_rng {
    uint64_t s;
} tu_rng;

static inline void tu_rng_seed(tu_rng *r, uint64_t seed) {
    r->s = seed;
}

static inline uint64_t tu_rng_next(tu_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1). */
static inline double tu_rng_uniform(tu_rng *r) {
    return (double)(tu_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform float in [lo, hi). */
static inline float tu_rng_range(tu_rng *r, double lo, double hi) {
    return (float)(lo + (hi - lo) * tu_rng_uniform(r));
}

/* Uniform integer in [0, bound) (tiny modulo bias is irrelevant for tests). */
static inline size_t tu_rng_below(tu_rng *r, size_t bound) {
    return (size_t)(tu_rng_next(r) % (uint64_t)bound);
}

static inline void tu_fill_uniform(float *x, size_t n, tu_rng *r, double lo, double hi) {
    for (size_t i = 0; i < n; i++) x[i] = tu_rng_range(r, lo, hi);
}

/* n x k one-hot rows with random classes; labels (may be NULL) receives the classes. */
static inline void tu_fill_onehot(float *Y, int32_t *labels, size_t n, size_t k, tu_rng *r) {
    memset(Y, 0, n * k * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        size_t c = tu_rng_below(r, k);
        Y[i * k + c] = 1.0f;
        if (labels) labels[i] = (int32_t)c;
    }
}

/* calloc that aborts the test program on failure (tests allocate small buffers only). */
static inline void *tu_alloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) abort();
    return p;
}

static inline float *tu_floats(size_t n) {
    return (float *)tu_alloc(n, sizeof(float));
}

static inline double *tu_doubles(size_t n) {
    return (double *)tu_alloc(n, sizeof(double));
}

/* ---- comparisons ---- */
/* |a - b| <= tol, failing on NaN and infinities. Use this instead of cmocka 1.1.5's
 * assert_float_equal, whose relative fallback (diff > max(|a|,|b|) * FLT_EPSILON) treats NaN and
 * Inf as equal to anything. Needs <cmocka.h> included before the point of use. */
#define TU_ASSERT_NEAR(a, b, tol)                                                                  \
    do {                                                                                           \
        double tu_a_ = (double)(a), tu_b_ = (double)(b), tu_t_ = (double)(tol);                    \
        if (!(fabs(tu_a_ - tu_b_) <= tu_t_)) {                                                     \
            print_error("%s = %.9g, want %s = %.9g (tolerance %.3g)\n", #a, tu_a_, #b, tu_b_,      \
                        tu_t_);                                                                    \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* st is MLP_OK; if not, mlp_last_error() is printed first. Needs <cmocka.h> as TU_ASSERT_NEAR. */
#define TU_ASSERT_OK(st)                                                                           \
    do {                                                                                           \
        mlp_status tu_st_ = (st);                                                                  \
        if (tu_st_ != MLP_OK) print_error("%s\n", mlp_last_error());                               \
        assert_int_equal(tu_st_, MLP_OK);                                                          \
    } while (0)

static inline double tu_max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d;
    }
    return m;
}

static inline double tu_max_abs(const float *a, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a[i]) > m) m = fabs((double)a[i]);
    return m;
}

static inline int tu_all_finite(const float *a, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

/* ---- files ---- */
/* An IDX header at p: two zero bytes, the element type, ndims, then the dims as big-endian
 * uint32; returns its length, 4 + 4 ndims. */
static inline size_t tu_idx_header(unsigned char *p, unsigned type, unsigned ndims,
                                   const uint32_t *dims) {
    p[0] = 0;
    p[1] = 0;
    p[2] = (unsigned char)type;
    p[3] = (unsigned char)ndims;
    for (unsigned i = 0; i < ndims; i++) {
        p[4 + 4 * i] = (unsigned char)(dims[i] >> 24);
        p[5 + 4 * i] = (unsigned char)(dims[i] >> 16);
        p[6 + 4 * i] = (unsigned char)(dims[i] >> 8);
        p[7 + 4 * i] = (unsigned char)dims[i];
    }
    return 4 + 4 * (size_t)ndims;
}

/* ---- naive references (double accumulation) ---- */
/* C (m x n) = A (m x k) . B (k x n), all row-major; A and B given with row strides; with
 * absolute, the terms' magnitudes |a|*|b| are summed instead (the scale of the rounding error of
 * C). */
static inline void tu_gemm_sum(double *C, const float *A, size_t lda, int trans_a, const float *B,
                               size_t ldb, int trans_b, size_t m, size_t n, size_t k,
                               int absolute) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t p = 0; p < k; p++) {
                double a = trans_a ? A[p * lda + i] : A[i * lda + p];
                double b = trans_b ? B[j * ldb + p] : B[p * ldb + j];
                s += absolute ? fabs(a * b) : a * b;
            }
            C[i * n + j] = s;
        }
}

/* C = A . B (tu_gemm_sum). */
static inline void tu_gemm_ref(double *C, const float *A, size_t lda, int trans_a, const float *B,
                               size_t ldb, int trans_b, size_t m, size_t n, size_t k) {
    tu_gemm_sum(C, A, lda, trans_a, B, ldb, trans_b, m, n, k, 0);
}

/* C = |A| . |B|, the scale of the rounding error of A . B (tu_gemm_sum). */
static inline void tu_gemm_abs_ref(double *C, const float *A, size_t lda, int trans_a,
                                   const float *B, size_t ldb, int trans_b, size_t m, size_t n,
                                   size_t k) {
    tu_gemm_sum(C, A, lda, trans_a, B, ldb, trans_b, m, n, k, 1);
}

static inline double tu_phi(double z) {                /* standard normal density */
    return exp(-0.5 * z * z) * 0.39894228040143267794; /* 1/sqrt(2 pi) */
}

static inline double tu_Phi(double z) { /* standard normal CDF */
    return 0.5 * (1.0 + erf(z / sqrt(2.0)));
}

/* Elementwise activation (not softmax) in double. */
static inline double tu_act(mlp_activation act, double z) {
    switch (act) {
    case MLP_ACT_IDENTITY:
        return z;
    case MLP_ACT_RELU:
        return z > 0 ? z : 0.0;
    case MLP_ACT_LOGISTIC:
        return 1.0 / (1.0 + exp(-z));
    case MLP_ACT_TANH:
        return tanh(z);
    case MLP_ACT_LEAKY_RELU:
        return z > 0 ? z : 0.01 * z;
    case MLP_ACT_GELU:
        return 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
    case MLP_ACT_EXP:
        return exp(z);
    default:
        return NAN;
    }
}

/* Derivative of an elementwise activation (not softmax) at pre-activation z. */
static inline double tu_act_deriv(mlp_activation act, double z) {
    switch (act) {
    case MLP_ACT_IDENTITY:
        return 1.0;
    case MLP_ACT_RELU:
        return z > 0 ? 1.0 : 0.0;
    case MLP_ACT_LOGISTIC: {
        double s = 1.0 / (1.0 + exp(-z));
        return s * (1.0 - s);
    }
    case MLP_ACT_TANH: {
        double t = tanh(z);
        return 1.0 - t * t;
    }
    case MLP_ACT_LEAKY_RELU:
        return z > 0 ? 1.0 : 0.01;
    case MLP_ACT_GELU:
        return tu_Phi(z) + z * tu_phi(z);
    case MLP_ACT_EXP:
        return exp(z);
    default:
        return NAN;
    }
}

/* Row-wise activation of Z (n x m) in place, softmax included (max-subtracted, in double). */
static inline void tu_act_rows(double *Z, size_t n, size_t m, mlp_activation act) {
    for (size_t i = 0; i < n; i++) {
        double *z = Z + i * m;
        if (act == MLP_ACT_SOFTMAX) {
            double mx = z[0], s = 0.0;
            for (size_t j = 1; j < m; j++)
                if (z[j] > mx) mx = z[j];
            for (size_t j = 0; j < m; j++) s += (z[j] = exp(z[j] - mx));
            for (size_t j = 0; j < m; j++) z[j] /= s;
        } else {
            for (size_t j = 0; j < m; j++) z[j] = tu_act(act, z[j]);
        }
    }
}

/* Naive forward pass of a net given its flat parameter buffer (layout of mlp.h: per layer W
 * [in x out] then b [out]), entirely in double. out: n x sizes[L]. If min_kink is not NULL it
 * receives the smallest |pre-activation| over hidden RELU/LEAKY_RELU units (HUGE_VAL if none). */
static inline void tu_forward_ref(double *out, const double *params, const size_t *sizes,
                                  const mlp_activation *acts, size_t n_layers, const float *X,
                                  size_t n, double *min_kink) {
    size_t maxw = 0;
    for (size_t l = 0; l <= n_layers; l++)
        if (sizes[l] > maxw) maxw = sizes[l];
    double *a = tu_doubles(n * maxw), *z = tu_doubles(n * maxw);
    for (size_t i = 0; i < n * sizes[0]; i++) a[i] = X[i];
    if (min_kink) *min_kink = HUGE_VAL;
    size_t off = 0;
    for (size_t l = 0; l < n_layers; l++) {
        size_t in = sizes[l], o = sizes[l + 1];
        const double *W = params + off, *b = params + off + in * o;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < o; j++) {
                double s = b[j];
                for (size_t p = 0; p < in; p++) s += a[i * in + p] * W[p * o + j];
                z[i * o + j] = s;
                if (min_kink && l + 1 < n_layers &&
                    (acts[l] == MLP_ACT_RELU || acts[l] == MLP_ACT_LEAKY_RELU) &&
                    fabs(s) < *min_kink)
                    *min_kink = fabs(s);
            }
        tu_act_rows(z, n, o, acts[l]);
        memcpy(a, z, n * o * sizeof(double));
        off += in * o + o;
    }
    memcpy(out, a, n * sizes[n_layers] * sizeof(double));
    free(a);
    free(z);
}

/* The delta of MLP_LOSS_HUBER in the references below (set it with mlp_net_set_huber_delta's). */
static double tu_huber_delta = 1.0;

/* PyTorch's HuberLoss of one difference d (its definition, in double). */
static inline double tu_huber(double d, double delta) {
    return fabs(d) < delta ? 0.5 * d * d : delta * (fabs(d) - 0.5 * delta);
}

/* Half the Poisson deviance of one element: y log(y/p) - y + p (xlogy: 0 where y = 0), as
 * scikit-learn's mean_poisson_deviance / 2. */
static inline double tu_half_poisson(double p, double y) {
    return (y != 0.0 ? y * log(y / p) : 0.0) - y + p;
}

/* One element's share of a data loss, before the division by n: of the training objective (the one
 * whose gradient mlp_backward computes; unclipped logs, SQUARED not divided by k) or, if reported,
 * of the loss that is reported (scikit-learn's: logs clipped to [eps, 1 - eps], SQUARED divided
 * by k). */
static inline double tu_loss_term(double p, double y, size_t k, mlp_loss loss, int reported) {
    const double lo = 1.1920928955078125e-07, hi = 1.0 - 1.1920928955078125e-07;
    double c = reported ? (p < lo ? lo : (p > hi ? hi : p)) : p;
    switch (loss) {
    case MLP_LOSS_SOFTMAX_CE:
        return y != 0.0 ? -(y * log(c)) : 0.0;
    case MLP_LOSS_LOGISTIC:
        return -(y * log(c) + (1.0 - y) * log(1.0 - c));
    case MLP_LOSS_POISSON: /* the regression losses' reported values are means over k too */
        return tu_half_poisson(p, y) / (reported ? (double)k : 1.0);
    case MLP_LOSS_HUBER:
        return tu_huber(p - y, tu_huber_delta) / (reported ? (double)k : 1.0);
    default:
        return 0.5 * (p - y) * (p - y) / (reported ? (double)k : 1.0);
    }
}

/* Data term of the training objective in double: SOFTMAX_CE -(1/n) sum y log p; LOGISTIC -(1/n)
 * sum [y log p + (1-y) log(1-p)]; SQUARED (1/(2n)) sum (p-y)^2 (not divided by k). */
static inline double tu_objective_data(const double *P, const float *Y, size_t n, size_t k,
                                       mlp_loss loss) {
    double s = 0.0;
    for (size_t i = 0; i < n * k; i++) s += tu_loss_term(P[i], Y[i], k, loss, 0);
    return s / (double)n;
}

/* Reported data loss (scikit-learn's): clipped logs, SQUARED divided by k too. */
static inline double tu_reported_data(const float *P, const float *Y, size_t n, size_t k,
                                      mlp_loss loss) {
    double s = 0.0;
    for (size_t i = 0; i < n * k; i++) s += tu_loss_term(P[i], Y[i], k, loss, 1);
    return s / (double)n;
}

/* (alpha/(2n)) * sum of squares of the weights (not biases) of a flat parameter buffer. */
static inline double tu_l2_term(const float *params, const size_t *sizes, size_t n_layers,
                                double alpha, size_t n) {
    double s = 0.0;
    size_t off = 0;
    for (size_t l = 0; l < n_layers; l++) {
        size_t nw = sizes[l] * sizes[l + 1];
        for (size_t i = 0; i < nw; i++) s += (double)params[off + i] * params[off + i];
        off += nw + sizes[l + 1];
    }
    return alpha / (2.0 * (double)n) * s;
}

static inline size_t tu_param_count(const size_t *sizes, size_t n_layers) {
    size_t c = 0;
    for (size_t l = 0; l < n_layers; l++) c += sizes[l] * sizes[l + 1] + sizes[l + 1];
    return c;
}

/* Creates a net or returns NULL (the caller asserts). */
static inline mlp_net *tu_make_net(const size_t *sizes, const mlp_activation *acts, size_t n_layers,
                                   mlp_loss loss, mlp_init init, uint64_t seed) {
    mlp_net_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.n_layers = n_layers;
    cfg.sizes = sizes;
    cfg.activations = acts;
    cfg.loss = loss;
    cfg.init = init;
    cfg.seed = seed;
    mlp_net *net = NULL;
    if (mlp_net_create(&net, &cfg) != MLP_OK) return NULL;
    return net;
}

/* Sets the optimizer of net: kind with scikit-learn defaults, then lr and alpha. */
static inline mlp_status tu_set_opt(mlp_net *net, mlp_optimizer_kind kind, float lr, float alpha) {
    mlp_optimizer o = mlp_optimizer_default(kind);
    o.lr = lr;
    o.alpha = alpha;
    return mlp_net_set_optimizer(net, &o);
}

/* tu_make_net with Glorot init, then its optimizer set by tu_set_opt; NULL if either fails (the
 * caller asserts). */
static inline mlp_net *tu_make_net_opt(const size_t *sizes, const mlp_activation *acts,
                                       size_t n_layers, mlp_loss loss, uint64_t seed,
                                       mlp_optimizer_kind kind, float lr, float alpha) {
    mlp_net *net = tu_make_net(sizes, acts, n_layers, loss, MLP_INIT_GLOROT, seed);
    if (net && tu_set_opt(net, kind, lr, alpha) != MLP_OK) {
        mlp_net_free(net);
        return NULL;
    }
    return net;
}

#endif /* MLP_TEST_UTIL_H */
