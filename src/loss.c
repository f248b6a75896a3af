/* Loss values as scikit-learn reports them, and the output delta P - Y. */
#include "internal.h"

#include <float.h>
#include <math.h>

static inline float clip(float p) {
    const float lo = FLT_EPSILON, hi = 1.0f - FLT_EPSILON;
    return p < lo ? lo : (p > hi ? hi : p);
}

double mlp_loss_data(const float *P, const float *Y, size_t n, size_t k, mlp_loss loss,
                     float *row_loss) {
    const long rows = (long)n;
#pragma omp parallel for schedule(static) if (parallel : n * k >= MLP_OMP_MIN_ELEMS)
    for (long i = 0; i < rows; i++) {
        const float *p = P + (size_t)i * k, *y = Y + (size_t)i * k;
        float s = 0.0f;
        switch (loss) {
        case MLP_LOSS_SOFTMAX_CE:
            /* y log p with y == 0 contributes 0 (scipy's xlogy), even where p is clipped. */
            for (size_t j = 0; j < k; j++)
                if (y[j] != 0.0f) s -= y[j] * logf(clip(p[j]));
            break;
        case MLP_LOSS_LOGISTIC:
            for (size_t j = 0; j < k; j++) {
                float q = clip(p[j]);
                if (y[j] != 0.0f) s -= y[j] * logf(q);
                if (y[j] != 1.0f) s -= (1.0f - y[j]) * logf(1.0f - q);
            }
            break;
        case MLP_LOSS_SQUARED:
            for (size_t j = 0; j < k; j++) {
                float d = p[j] - y[j];
                s += d * d;
            }
            break;
        default:
            break;
        }
        row_loss[i] = s;
    }
    double total = 0.0;
    for (size_t i = 0; i < n; i++) total += row_loss[i];
    if (loss == MLP_LOSS_SQUARED) return total / (2.0 * (double)n * (double)k);
    return total / (double)n;
}

void mlp_loss_delta(float *D, const float *P, const float *Y, size_t n, size_t k) {
    size_t total = n * k;
    const long count = (long)total;
#pragma omp parallel for simd schedule(static) if (parallel : total >= MLP_OMP_MIN_ELEMS)
    for (long i = 0; i < count; i++) D[i] = P[i] - Y[i];
}
