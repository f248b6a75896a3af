/* Activations: bias add fused with the activation (forward), derivative fused into the incoming
 * gradient (backward), and deterministic column sums for bias gradients. Rows are independent, so
 * loops are parallel over rows; small matrices stay on one thread (MLP_OMP_MIN_ELEMS). */
#include "internal.h"

#include <math.h>
#include <string.h>

#define LEAKY_SLOPE 0.01f
#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

bool mlp_act_needs_pre(mlp_activation act) {
    return act == MLP_ACT_GELU;
}

static inline float logistic(float z) {
    /* Both branches avoid exp overflow: exp of a non-positive number only. */
    if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

static inline float gelu(float z) {
    return 0.5f * z * (1.0f + erff(z * INV_SQRT2));
}

/* Softmax of one row in place, max-subtracted so exp never overflows. */
static void softmax_row(float *z, size_t m) {
    float mx = z[0];
    for (size_t j = 1; j < m; j++) mx = z[j] > mx ? z[j] : mx;
    float sum = 0.0f;
    for (size_t j = 0; j < m; j++) {
        z[j] = expf(z[j] - mx);
        sum += z[j];
    }
    float inv = 1.0f / sum;
    for (size_t j = 0; j < m; j++) z[j] *= inv;
}

void mlp_bias_act_forward(float *Z, float *pre, const float *b, size_t n, size_t m,
                          mlp_activation act) {
    const long rows = (long)n;
#pragma omp parallel for schedule(static) if (parallel : n * m >= MLP_OMP_MIN_ELEMS)
    for (long i = 0; i < rows; i++) {
        float *z = Z + (size_t)i * m;
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
            for (size_t j = 0; j < m; j++) z[j] = logistic(z[j] + b[j]);
            break;
        case MLP_ACT_TANH:
            for (size_t j = 0; j < m; j++) z[j] = tanhf(z[j] + b[j]);
            break;
        case MLP_ACT_GELU: {
            float *p = pre + (size_t)i * m;
            for (size_t j = 0; j < m; j++) {
                p[j] = z[j] + b[j];
                z[j] = gelu(p[j]);
            }
            break;
        }
        case MLP_ACT_SOFTMAX:
            for (size_t j = 0; j < m; j++) z[j] += b[j];
            softmax_row(z, m);
            break;
        default:
            break;
        }
    }
}

void mlp_act_backward(float *G, const float *A, const float *pre, size_t n, size_t m,
                      mlp_activation act) {
    if (act == MLP_ACT_IDENTITY) return;
    const long rows = (long)n;
#pragma omp parallel for schedule(static) if (parallel : n * m >= MLP_OMP_MIN_ELEMS)
    for (long i = 0; i < rows; i++) {
        float *g = G + (size_t)i * m;
        const float *a = A + (size_t)i * m;
        switch (act) {
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
            const float *p = pre + (size_t)i * m;
            for (size_t j = 0; j < m; j++) {
                float z = p[j];
                float cdf = 0.5f * (1.0f + erff(z * INV_SQRT2));
                float pdf = INV_SQRT_2PI * expf(-0.5f * z * z);
                g[j] *= cdf + z * pdf;
            }
            break;
        }
        case MLP_ACT_SOFTMAX: {
            /* Jacobian-vector product: g_i <- a_i (g_i - sum_j g_j a_j). */
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

void mlp_colsum(float *db, const float *G, size_t n, size_t m, float scale, float *partials) {
    const size_t C = MLP_COLSUM_CHUNK;
    const long chunks = (long)((n + C - 1) / C);
#pragma omp parallel for schedule(static) if (parallel : n * m >= MLP_OMP_MIN_ELEMS)
    for (long c = 0; c < chunks; c++) {
        float *p = partials + (size_t)c * m;
        size_t r0 = (size_t)c * C, r1 = r0 + C < n ? r0 + C : n;
        memcpy(p, G + r0 * m, m * sizeof *p);
        for (size_t r = r0 + 1; r < r1; r++) {
            const float *g = G + r * m;
#pragma omp simd
            for (size_t j = 0; j < m; j++) p[j] += g[j];
        }
    }
    for (size_t j = 0; j < m; j++) {
        float s = 0.0f;
        for (long c = 0; c < chunks; c++) s += partials[(size_t)c * m + j];
        db[j] = scale * s;
    }
}
