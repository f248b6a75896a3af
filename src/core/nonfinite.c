/* Naming the non-finite value a step met, for its error message: the first non-finite cell of the
 * input or the targets (a caller's data problem), else the first layer whose gradient or
 * parameters are not finite (divergence), else the loss. Runs only when a step failed. */
#include "core/core.h"

#include <math.h>

static bool first_nonfinite(const float *x, size_t n, size_t d, size_t *row, size_t *col) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(x[i * d + j])) {
                *row = i;
                *col = j;
                return true;
            }
    return false;
}

static const char *kind_of(float v) {
    return isnan(v) ? "NaN" : (v > 0 ? "+inf" : "-inf");
}

/* First layer with a non-finite value in buf (grads or params), or n_layers. */
static size_t first_bad_layer(const mlp_net *net, const float *buf) {
    for (size_t l = 0; l < net->n_layers; l++) {
        const mlp_layer *ly = &net->layers[l];
        if (!mlp_block_finite(buf + ly->w_off, 1, ly->in * ly->out, ly->in * ly->out) ||
            !mlp_block_finite(buf + ly->b_off, 1, ly->out, ly->out))
            return l;
    }
    return net->n_layers;
}

mlp_status mlp_nonfinite_status(const mlp_net *net, const float *X, const float *Y, size_t n,
                                double loss, bool updated, const char *fn) {
    const size_t d = net->layers[0].in, k = net->layers[net->n_layers - 1].out;
    size_t r, c;
    if (X && first_nonfinite(X, n, d, &r, &c))
        return mlp_fail(MLP_ERR_ARG,
                        "%s: X row %zu column %zu is %s; nothing was changed (ReLU would have "
                        "hidden it in the forward pass and spread it into the weights)",
                        fn, r, c, kind_of(X[r * d + c]));
    if (Y && first_nonfinite(Y, n, k, &r, &c))
        return mlp_fail(MLP_ERR_ARG, "%s: Y row %zu column %zu is %s; nothing was changed", fn, r,
                        c, kind_of(Y[r * k + c]));
    /* A negative count makes the Poisson deviance NaN: the caller's data, not divergence. */
    for (size_t i = 0; Y && net->loss == MLP_LOSS_POISSON && i < n * k; i++)
        if (Y[i] < 0.0f)
            return mlp_fail(MLP_ERR_ARG,
                            "%s: Y row %zu column %zu is %g; the Poisson loss needs targets >= 0; "
                            "nothing was changed",
                            fn, i / k, i % k, (double)Y[i]);
    if (updated) {
        size_t l = first_bad_layer(net, net->params);
        return mlp_fail(MLP_ERR_DIVERGED,
                        "%s: the update made the parameters of layer %zu non-finite although the "
                        "gradients were finite (learning rate too large?); the parameters have "
                        "changed",
                        fn, l < net->n_layers ? l : 0);
    }
    size_t l = first_bad_layer(net, net->grads);
    if (l < net->n_layers)
        return mlp_fail(MLP_ERR_DIVERGED,
                        "%s: the gradient of layer %zu is not finite (loss %g); nothing was "
                        "changed: lower the learning rate or scale the inputs",
                        fn, l, loss);
    return mlp_fail(MLP_ERR_DIVERGED, "%s: the loss is not finite (%g); nothing was changed", fn,
                    loss);
}
