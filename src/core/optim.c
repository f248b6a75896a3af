/* Optimizers over the flat parameter buffer: one loop for the whole network. Formulas are
 * scikit-learn's (sklearn/neural_network/_stochastic_optimizers.py). */
#include "core/core.h"

#include <math.h>
#include <omp.h>
#include <string.h>

static bool in_unit(float x) {
    return x >= 0.0f && x < 1.0f; /* false for NaN */
}

mlp_status mlp_net_set_optimizer(mlp_net *net, const mlp_optimizer *opt) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "mlp_net_set_optimizer: net is NULL");
    if (!opt) return mlp_fail(MLP_ERR_NULL, "mlp_net_set_optimizer: opt is NULL");
    if ((unsigned)opt->kind >= MLP_OPT_COUNT)
        return mlp_fail(MLP_ERR_ARG, "mlp_net_set_optimizer: kind = %d is not an optimizer",
                        (int)opt->kind);
    if (opt->kind == MLP_OPT_LBFGS)
        return mlp_fail(MLP_ERR_ARG, "mlp_net_set_optimizer: LBFGS is a full-batch solver of "
                                     "mlp_fit (fit.h), not a step optimizer");
    if (!(opt->lr > 0.0f) || !isfinite(opt->lr))
        return mlp_fail(MLP_ERR_ARG, "mlp_net_set_optimizer: lr = %g, must be finite and > 0",
                        (double)opt->lr);
    if (!(opt->alpha >= 0.0f) || !isfinite(opt->alpha))
        return mlp_fail(MLP_ERR_ARG, "mlp_net_set_optimizer: alpha = %g, must be finite and >= 0",
                        (double)opt->alpha);
    if (opt->kind == MLP_OPT_SGD) {
        if (!in_unit(opt->momentum))
            return mlp_fail(MLP_ERR_ARG, "mlp_net_set_optimizer: momentum = %g, must be in [0, 1)",
                            (double)opt->momentum);
        if (opt->nesterov != 0 && opt->nesterov != 1)
            return mlp_fail(MLP_ERR_ARG, "mlp_net_set_optimizer: nesterov = %d, must be 0 or 1",
                            opt->nesterov);
    } else {
        if (!in_unit(opt->beta1) || !in_unit(opt->beta2))
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_net_set_optimizer: beta1 = %g, beta2 = %g, each must be in [0, 1)",
                            (double)opt->beta1, (double)opt->beta2);
        if (!(opt->eps > 0.0f) || !isfinite(opt->eps))
            return mlp_fail(MLP_ERR_ARG, "mlp_net_set_optimizer: eps = %g, must be finite and > 0",
                            (double)opt->eps);
    }
    if (opt->kind != net->opt.kind) mlp_net_reset_optimizer(net);
    net->opt = *opt;
    return MLP_OK;
}

mlp_status mlp_net_get_optimizer(const mlp_net *net, mlp_optimizer *opt) {
    if (!net || !opt)
        return mlp_fail(MLP_ERR_NULL, "mlp_net_get_optimizer: %s is NULL", !net ? "net" : "opt");
    *opt = net->opt;
    return MLP_OK;
}

void mlp_net_reset_optimizer(mlp_net *net) {
    if (!net) return;
    memset(net->opt_m, 0, net->n_params * sizeof(float));
    memset(net->opt_v, 0, net->n_params * sizeof(float));
    net->step = 0;
}

uint64_t mlp_net_step_count(const mlp_net *net) {
    return net ? net->step : 0;
}

/* The update kernels are ISA-cloned (MLP_CLONES): at baseline x86-64, sqrt and divide are only 4
 * wide. Each call handles a contiguous slice so that OpenMP threads can share the work. */

/* The kernels return 0 when every updated value is finite, NaN otherwise: x * 0 is 0 for a
 * finite x and NaN for NaN and infinity, so the check is one multiply-add per element in the loop
 * that already holds the values. */
/* One parameter's Adam update: the moments and the parameter, in registers. */
static inline float adam_elem(float p, float g, float *m, float *v, float b1, float b2, float eps,
                              float lr_t) {
    *m = b1 * *m + (1.0f - b1) * g;
    *v = b2 * *v + (1.0f - b2) * g * g;
    return p - lr_t * *m / (sqrtf(*v) + eps);
}

MLP_CLONES static float adam_slice(float *restrict p, const float *restrict g, float *restrict m,
                                   float *restrict v, size_t count, float b1, float b2, float eps,
                                   float lr_t) {
    float probe = 0.0f;
#pragma omp simd reduction(+ : probe)
    for (size_t i = 0; i < count; i++) {
        p[i] = adam_elem(p[i], g[i], &m[i], &v[i], b1, b2, eps, lr_t);
        probe += (p[i] + v[i]) * 0.0f;
    }
    return probe;
}

/* adam_slice that also writes the updated parameters rounded to bf16 into h: the bf16 copy of
 * the weights made by the pass that writes them, while each value is in a register. */
MLP_CLONES static float adam_slice_bf16(float *restrict p, const float *restrict g,
                                        float *restrict m, float *restrict v, mlp_bf16 *restrict h,
                                        size_t count, float b1, float b2, float eps, float lr_t) {
    float probe = 0.0f;
#pragma omp simd reduction(+ : probe)
    for (size_t i = 0; i < count; i++) {
        p[i] = adam_elem(p[i], g[i], &m[i], &v[i], b1, b2, eps, lr_t);
        h[i] = mlp_bf16_of(p[i]);
        probe += (p[i] + v[i]) * 0.0f;
    }
    return probe;
}

MLP_CLONES static float sgd_slice(float *restrict p, const float *restrict g, float *restrict m,
                                  size_t count, float mu, float lr, bool nesterov) {
    float probe = 0.0f;
#pragma omp simd reduction(+ : probe)
    for (size_t i = 0; i < count; i++) {
        float vel = mu * m[i] - lr * g[i];
        float pi = p[i] + (nesterov ? mu * vel - lr * g[i] : vel);
        m[i] = vel;
        p[i] = pi;
        probe += pi * 0.0f;
    }
    return probe;
}

float mlp_optim_begin(const mlp_net *net) {
    const mlp_optimizer *o = &net->opt;
    if (o->kind != MLP_OPT_ADAM) return o->lr;
    /* Adam's bias correction folded into the step size, as scikit-learn does. */
    const double t = (double)(net->step + 1);
    return (float)(o->lr * sqrt(1.0 - pow(o->beta2, t)) / (1.0 - pow(o->beta1, t)));
}

void mlp_optim_commit(mlp_net *net) {
    net->step++;
}

/* The update is elementwise, so any partition gives the same bits: each thread of the team takes
 * one contiguous share (edges on multiples of 16 floats, one cache line). */
bool mlp_thread_share(size_t count, size_t *i0, size_t *len) {
    const size_t T = (size_t)omp_get_num_threads();
    const size_t share = ((count + T - 1) / T + 15) & ~(size_t)15;
    *i0 = (size_t)omp_get_thread_num() * share;
    if (*i0 >= count) return false;
    *len = count - *i0 < share ? count - *i0 : share;
    return true;
}

void mlp_pass_update(mlp_net *net, float lr_t) {
    const mlp_optimizer *o = &net->opt;
    size_t i0, len;
    if (!mlp_thread_share(net->n_params, &i0, &len)) return;
    float probe;
    if (o->kind == MLP_OPT_ADAM && net->w16)
        probe = adam_slice_bf16(net->params + i0, net->grads + i0, net->opt_m + i0, net->opt_v + i0,
                                net->w16 + i0, len, o->beta1, o->beta2, o->eps, lr_t);
    else if (o->kind == MLP_OPT_ADAM)
        probe = adam_slice(net->params + i0, net->grads + i0, net->opt_m + i0, net->opt_v + i0, len,
                           o->beta1, o->beta2, o->eps, lr_t);
    else
        probe = sgd_slice(net->params + i0, net->grads + i0, net->opt_m + i0, len, o->momentum,
                          lr_t, o->nesterov);
    /* SGD's bf16 copy: the slice rounded right after its update, while it is in cache. */
    if (net->w16 && o->kind != MLP_OPT_ADAM)
        mlp_bf16_block(net->w16 + i0, net->params + i0, 1, len, len);
    if (probe != 0.0f) mlp_pass_flag(net, MLP_NONFINITE_UPDATE); /* NaN != 0 too */
}

/* Gradient chunks of this many floats are the unit of the check's parallel work. */
#define CHECK_CHUNK 16384

void mlp_pass_check_grads(mlp_net *net) {
    const size_t count = net->n_params;
    const long chunks = (long)((count + CHECK_CHUNK - 1) / CHECK_CHUNK);
#pragma omp for schedule(static)
    for (long c = 0; c < chunks; c++) {
        size_t i0 = (size_t)c * CHECK_CHUNK,
               len = count - i0 < CHECK_CHUNK ? count - i0 : CHECK_CHUNK;
        if (!mlp_block_finite(net->grads + i0, 1, len, len)) mlp_pass_flag(net, MLP_NONFINITE_GRAD);
    }
}
