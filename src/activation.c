/* Activations: bias add fused with the activation (forward), derivative fused into the incoming
 * gradient (backward), and deterministic column sums for bias gradients.
 *
 * The work is done by row kernels (rows x m blocks) compiled per ISA level (MLP_CLONES); the
 * public-to-the-library functions cut the matrix into row blocks and share them over OpenMP
 * threads when the matrix is large enough (MLP_OMP_MIN_ELEMS). Rows are independent, so the
 * result never depends on the thread count. */
#include "internal.h"

#include <math.h>
#include <string.h>

#define LEAKY_SLOPE 0.01f
#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

/* glibc's libmvec has SIMD versions of expf (SSE, AVX2, AVX-512); <math.h> declares them only
 * under -ffast-math, which the library does not use. Declaring them here lets the vectorizer call
 * them. Accuracy: within 4 ulp (glibc manual), enough for activations and softmax. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(_OPENMP)
#pragma omp declare simd notinbranch
#endif
float expf(float);

bool mlp_act_needs_pre(mlp_activation act) {
    return act == MLP_ACT_GELU;
}

/* ---- row kernels ---- */

MLP_CLONES static void forward_rows(float *restrict Z, float *restrict pre, const float *restrict b,
                                    size_t rows, size_t m, mlp_activation act) {
    for (size_t i = 0; i < rows; i++) {
        float *restrict z = Z + i * m;
        switch (act) {
        case MLP_ACT_IDENTITY:
#pragma omp simd
            for (size_t j = 0; j < m; j++) z[j] += b[j];
            break;
        case MLP_ACT_RELU:
#pragma omp simd
            for (size_t j = 0; j < m; j++) {
                float v = z[j] + b[j];
                z[j] = v > 0.0f ? v : 0.0f;
            }
            break;
        case MLP_ACT_LEAKY_RELU:
#pragma omp simd
            for (size_t j = 0; j < m; j++) {
                float v = z[j] + b[j];
                z[j] = v > 0.0f ? v : LEAKY_SLOPE * v;
            }
            break;
        case MLP_ACT_LOGISTIC:
            /* exp(-v) overflows to +inf for v < -88, and 1/(1+inf) = 0: no NaN at the ends. */
#pragma omp simd
            for (size_t j = 0; j < m; j++) z[j] = 1.0f / (1.0f + expf(-(z[j] + b[j])));
            break;
        case MLP_ACT_TANH:
            for (size_t j = 0; j < m; j++) z[j] = tanhf(z[j] + b[j]);
            break;
        case MLP_ACT_GELU: {
            float *restrict p = pre + i * m;
            for (size_t j = 0; j < m; j++) {
                p[j] = z[j] + b[j];
                z[j] = 0.5f * p[j] * (1.0f + erff(p[j] * INV_SQRT2));
            }
            break;
        }
        case MLP_ACT_SOFTMAX: {
            /* Max-subtracted, so exp never overflows and the largest term is exactly 1. */
            float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
            for (size_t j = 0; j < m; j++) {
                z[j] += b[j];
                mx = z[j] > mx ? z[j] : mx;
            }
#pragma omp simd
            for (size_t j = 0; j < m; j++) z[j] -= mx;
            break;
        }
        default:
            break;
        }
    }
    if (act != MLP_ACT_SOFTMAX) return;
    /* exp over the whole block at once: rows are short (10 classes), and one flat loop keeps the
     * vector exp full instead of leaving most of each row to scalar calls. */
    const size_t count = rows * m;
#pragma omp simd
    for (size_t k = 0; k < count; k++) Z[k] = expf(Z[k]);
    for (size_t i = 0; i < rows; i++) {
        float *restrict z = Z + i * m, sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (size_t j = 0; j < m; j++) sum += z[j];
        const float inv = 1.0f / sum;
#pragma omp simd
        for (size_t j = 0; j < m; j++) z[j] *= inv;
    }
}

/* G = G * f'(A) for rows x m; for softmax the Jacobian-vector product. */
MLP_CLONES static void backward_rows(float *restrict G, const float *restrict A,
                                     const float *restrict pre, size_t rows, size_t m,
                                     mlp_activation act) {
    for (size_t i = 0; i < rows; i++) {
        float *restrict g = G + i * m;
        const float *restrict a = A + i * m;
        switch (act) {
        case MLP_ACT_IDENTITY:
            break;
        case MLP_ACT_RELU:
            /* scikit-learn zeroes the gradient where the output is exactly 0. */
#pragma omp simd
            for (size_t j = 0; j < m; j++) g[j] = a[j] > 0.0f ? g[j] : 0.0f;
            break;
        case MLP_ACT_LEAKY_RELU:
            /* The output has the sign of the input, so the output decides the slope. */
#pragma omp simd
            for (size_t j = 0; j < m; j++) g[j] = a[j] > 0.0f ? g[j] : LEAKY_SLOPE * g[j];
            break;
        case MLP_ACT_LOGISTIC:
#pragma omp simd
            for (size_t j = 0; j < m; j++) g[j] *= a[j] * (1.0f - a[j]);
            break;
        case MLP_ACT_TANH:
#pragma omp simd
            for (size_t j = 0; j < m; j++) g[j] *= 1.0f - a[j] * a[j];
            break;
        case MLP_ACT_GELU: {
            const float *restrict p = pre + i * m;
            for (size_t j = 0; j < m; j++) {
                float z = p[j];
                float cdf = 0.5f * (1.0f + erff(z * INV_SQRT2));
                g[j] *= cdf + z * INV_SQRT_2PI * expf(-0.5f * z * z);
            }
            break;
        }
        case MLP_ACT_SOFTMAX: {
            /* g_i <- a_i (g_i - sum_j g_j a_j). */
            float dot = 0.0f;
            for (size_t j = 0; j < m; j++) dot += g[j] * a[j];
            for (size_t j = 0; j < m; j++) g[j] = a[j] * (g[j] - dot);
            break;
        }
        default:
            break;
        }
    }
}

/* p (m) = sum of the rows of G (rows x m), row by row. */
MLP_CLONES static void sum_rows(float *restrict p, const float *restrict G, size_t rows, size_t m) {
    memcpy(p, G, m * sizeof *p);
    for (size_t r = 1; r < rows; r++) {
        const float *restrict g = G + r * m;
#pragma omp simd
        for (size_t j = 0; j < m; j++) p[j] += g[j];
    }
}

MLP_CLONES static void sub_rows(float *restrict D, const float *restrict P, const float *restrict Y,
                                size_t count) {
#pragma omp simd
    for (size_t i = 0; i < count; i++) D[i] = P[i] - Y[i];
}

/* ---- drivers ---- */

/* Row blocks of this many rows are the unit of parallel work for row-wise passes. */
#define ROW_BLOCK 16

void mlp_bias_act_forward(float *Z, float *pre, const float *b, size_t n, size_t m,
                          mlp_activation act) {
    const long blocks = (long)((n + ROW_BLOCK - 1) / ROW_BLOCK);
#pragma omp parallel for schedule(static) if (parallel : n * m >= MLP_OMP_MIN_ELEMS)
    for (long k = 0; k < blocks; k++) {
        size_t r0 = (size_t)k * ROW_BLOCK, rows = n - r0 < ROW_BLOCK ? n - r0 : ROW_BLOCK;
        forward_rows(Z + r0 * m, pre ? pre + r0 * m : NULL, b, rows, m, act);
    }
}

void mlp_act_backward(float *G, const float *A, const float *pre, size_t n, size_t m,
                      mlp_activation act) {
    if (act == MLP_ACT_IDENTITY) return;
    const long blocks = (long)((n + ROW_BLOCK - 1) / ROW_BLOCK);
#pragma omp parallel for schedule(static) if (parallel : n * m >= MLP_OMP_MIN_ELEMS)
    for (long k = 0; k < blocks; k++) {
        size_t r0 = (size_t)k * ROW_BLOCK, rows = n - r0 < ROW_BLOCK ? n - r0 : ROW_BLOCK;
        backward_rows(G + r0 * m, A + r0 * m, pre ? pre + r0 * m : NULL, rows, m, act);
    }
}

void mlp_delta_colsum(float *G, const float *A, const float *Y, const float *pre, size_t n,
                      size_t m, mlp_activation act, float *db, float scale, float *partials) {
    const size_t C = MLP_COLSUM_CHUNK;
    const long chunks = (long)((n + C - 1) / C);
#pragma omp parallel for schedule(static) if (parallel : n * m >= MLP_OMP_MIN_ELEMS)
    for (long c = 0; c < chunks; c++) {
        size_t r0 = (size_t)c * C, rows = n - r0 < C ? n - r0 : C;
        float *g = G + r0 * m;
        if (Y) sub_rows(g, A + r0 * m, Y + r0 * m, rows * m);
        if (act != MLP_ACT_IDENTITY)
            backward_rows(g, A + r0 * m, pre ? pre + r0 * m : NULL, rows, m, act);
        sum_rows(partials + (size_t)c * m, g, rows, m);
    }
    /* Chunk partials added in chunk order: the same sums for any thread count. */
    for (size_t j = 0; j < m; j++) {
        float s = 0.0f;
        for (long c = 0; c < chunks; c++) s += partials[(size_t)c * m + j];
        db[j] = scale * s;
    }
}

void mlp_colsum(float *db, const float *G, size_t n, size_t m, float scale, float *partials) {
    /* With no targets and the identity, G is only read. */
    mlp_delta_colsum((float *)G, G, NULL, NULL, n, m, MLP_ACT_IDENTITY, db, scale, partials);
}
