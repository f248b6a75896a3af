/* Loss values as scikit-learn reports them: per-row terms (computed per row block, on any thread)
 * and their total (summed in row order, so it does not depend on the thread count). */
#include "core/core.h"

#include <float.h>
#include <math.h>

static inline float clip(float p) {
    const float lo = FLT_EPSILON, hi = 1.0f - FLT_EPSILON;
    return p < lo ? lo : (p > hi ? hi : p);
}

/* Half the Poisson deviance of one element: y log(y/p) - y + p, the y = 0 term p alone (scipy's
 * xlogy, scikit-learn's mean_poisson_deviance / 2). log(y) - log(p) rather than log(y/p): y/p
 * overflows for a tiny p where the difference of logs does not. */
static inline float poisson_term(float p, float y) {
    return y != 0.0f ? y * (logf(y) - logf(p)) - y + p : p;
}

/* PyTorch's HuberLoss of one difference d: quadratic inside delta, linear outside. */
static inline float huber_term(float d, float delta) {
    const float a = fabsf(d);
    return a <= delta ? 0.5f * d * d : delta * (a - 0.5f * delta);
}

static float row_term(const float *p, const float *y, size_t k, mlp_loss loss, float delta) {
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
    case MLP_LOSS_POISSON:
        for (size_t j = 0; j < k; j++) s += poisson_term(p[j], y[j]);
        break;
    case MLP_LOSS_HUBER:
        for (size_t j = 0; j < k; j++) s += huber_term(p[j] - y[j], delta);
        break;
    default:
        break;
    }
    return s;
}

void mlp_loss_rows(const float *P, const float *Y, const float *w, size_t rows, size_t k,
                   mlp_loss loss, float huber_delta, float *row_loss) {
    for (size_t i = 0; i < rows; i++) {
        const float term = row_term(P + i * k, Y + i * k, k, loss, huber_delta);
        row_loss[i] = w ? term * w[i] : term;
    }
}

double mlp_loss_total(const float *row_loss, size_t n, size_t k, mlp_loss loss, double norm) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) total += row_loss[i];
    if (loss == MLP_LOSS_SQUARED) return total / (2.0 * norm * (double)k);
    /* The mean over outputs too, as the squared error's (the gradient is not divided by k,
     * scikit-learn's convention for every regression loss). */
    if (loss == MLP_LOSS_POISSON || loss == MLP_LOSS_HUBER) return total / (norm * (double)k);
    return total / norm;
}
