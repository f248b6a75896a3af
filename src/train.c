/* One training step and its parts: forward, backward (loss and gradients), update; and inference.
 * Data flow of a step (L layers, batch n, A_0 = X):
 *   forward:  A_l = f_l(A_{l-1} . W_l + b_l)                      one GEMM + one fused pass
 *   backward: D_L = P - Y (times f' for SQUARED with a non-identity output)
 *             dW_l = (A_{l-1}^T . D_l + alpha W_l) / n
 *             D_{l-1} = (D_l . W_l^T) * f'_{l-1}(A_{l-1})          one GEMM + one fused pass
 *             db_l = colsum(D_l) / n                           in the pass that made D_l
 *   update:   one loop over the flat parameter buffer
 * All buffers come from the workspace; nothing is allocated once it holds n rows. */
#include "internal.h"

#include <math.h>
#include <string.h>

/* BLAS dimensions are int: every matrix side must fit. */
static mlp_status check_int_dims(const mlp_net *net, size_t n, const char *fn) {
    if (n > (size_t)INT32_MAX)
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: batch of %zu rows exceeds BLAS's int range", fn, n);
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].in > (size_t)INT32_MAX || net->layers[l].out > (size_t)INT32_MAX)
            return mlp_fail(MLP_ERR_OVERFLOW, "%s: layer %zu is wider than BLAS's int range", fn,
                            l);
    return MLP_OK;
}

/* Forward pass over n rows into the workspace (which must hold n rows). */
static void forward_rows(mlp_net *net, const float *X, size_t n) {
    const float *A = X;
    for (size_t l = 0; l < net->n_layers; l++) {
        const mlp_layer *ly = &net->layers[l];
        float *Z = net->act[l];
        mlp_dense_forward(Z, A, net->params + ly->w_off, n, ly->in, ly->out);
        mlp_bias_act_forward(Z, net->pre[l], net->params + ly->b_off, n, ly->out, ly->act);
        A = Z;
    }
}

mlp_status mlp_forward(mlp_net *net, const float *X, size_t n) {
    mlp_status st = mlp_check_batch(net, X, n, "mlp_forward");
    if (st == MLP_OK) st = check_int_dims(net, n, "mlp_forward");
    if (st == MLP_OK) st = mlp_net_ensure(net, n);
    if (st != MLP_OK) return st;
    forward_rows(net, X, n);
    net->fwd_x = X;
    net->fwd_n = n;
    net->have_grads = false;
    return MLP_OK;
}

const float *mlp_forward_output(const mlp_net *net) {
    if (!net || !net->fwd_x) return NULL;
    return net->act[net->n_layers - 1];
}

/* dW = c * W and returns sum(W^2): the L2 term's gradient seeds dW, and the loss needs the sum,
 * so both come from one pass over W. */
static float seed_l2(float *restrict dW, const float *restrict W, size_t count, float c) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < count; i++) {
        dW[i] = c * W[i];
        s += W[i] * W[i];
    }
    return s;
}

mlp_status mlp_backward(mlp_net *net, const float *Y, float *loss) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "mlp_backward: net is NULL");
    if (!Y) return mlp_fail(MLP_ERR_NULL, "mlp_backward: targets Y are NULL");
    if (!net->fwd_x)
        return mlp_fail(MLP_ERR_STATE, "mlp_backward: no forward pass to differentiate (call "
                                       "mlp_forward first)");
    const size_t L = net->n_layers, n = net->fwd_n;
    const mlp_layer *out = &net->layers[L - 1];
    const float *P = net->act[L - 1];
    const float inv_n = 1.0f / (float)n, alpha = net->opt.alpha;

    double data = mlp_loss_data(P, Y, n, out->out, net->loss, net->row_loss);
    /* Output delta P - Y (times f' for squared error through a non-identity output) and the
     * output bias gradient, in one pass. */
    int cur = 0;
    float *D = net->delta[cur];
    mlp_activation out_act = net->loss == MLP_LOSS_SQUARED ? out->act : MLP_ACT_IDENTITY;
    mlp_delta_colsum(D, P, Y, net->pre[L - 1], n, out->out, out_act, net->grads + out->b_off, inv_n,
                     net->partials);

    double sumsq = 0.0;
    for (size_t l = L; l-- > 0;) {
        const mlp_layer *ly = &net->layers[l];
        const float *Ain = l == 0 ? net->fwd_x : net->act[l - 1];
        const float *W = net->params + ly->w_off;
        float *dW = net->grads + ly->w_off;
        float beta = 0.0f;
        if (alpha != 0.0f) {
            sumsq += seed_l2(dW, W, ly->in * ly->out, alpha * inv_n);
            beta = 1.0f;
        }
        mlp_dense_backward_weights(dW, Ain, D, n, ly->in, ly->out, inv_n, beta);
        if (l > 0) {
            /* D_{l-1} = (D_l . W_l^T) * f'(A_{l-1}), and that layer's bias gradient. */
            const mlp_layer *prev = &net->layers[l - 1];
            float *Dn = net->delta[cur ^ 1];
            mlp_dense_backward_input(Dn, D, W, n, ly->in, ly->out);
            mlp_delta_colsum(Dn, Ain, NULL, net->pre[l - 1], n, ly->in, prev->act,
                             net->grads + prev->b_off, inv_n, net->partials);
            cur ^= 1;
            D = Dn;
        }
    }
    if (loss) *loss = (float)(data + 0.5 * alpha * sumsq / (double)n);
    net->have_grads = true;
    return MLP_OK;
}

mlp_status mlp_update(mlp_net *net) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "mlp_update: net is NULL");
    if (!net->have_grads)
        return mlp_fail(MLP_ERR_STATE, "mlp_update: no gradients (call mlp_backward first)");
    mlp_optim_apply(net);
    net->have_grads = false;
    /* The activations were computed with the old parameters. */
    net->fwd_x = NULL;
    return MLP_OK;
}

mlp_status mlp_train_step(mlp_net *net, const float *X, const float *Y, size_t n, float *loss) {
    if (net && !Y) return mlp_fail(MLP_ERR_NULL, "mlp_train_step: targets Y are NULL");
    mlp_status st = mlp_forward(net, X, n);
    if (st == MLP_OK) st = mlp_backward(net, Y, loss);
    if (st == MLP_OK) st = mlp_update(net);
    return st;
}

mlp_status mlp_loss_value(mlp_net *net, const float *X, const float *Y, size_t n, float *loss) {
    if (net && !Y) return mlp_fail(MLP_ERR_NULL, "mlp_loss_value: targets Y are NULL");
    if (net && !loss) return mlp_fail(MLP_ERR_NULL, "mlp_loss_value: loss is NULL");
    mlp_status st = mlp_forward(net, X, n);
    if (st != MLP_OK) return st;
    const mlp_layer *out = &net->layers[net->n_layers - 1];
    double data =
        mlp_loss_data(net->act[net->n_layers - 1], Y, n, out->out, net->loss, net->row_loss);
    *loss = (float)(data + mlp_l2_term(net, n));
    return MLP_OK;
}

/* Inference runs in chunks so that predicting a large set never needs a workspace of its size. */
#define PREDICT_MIN_CHUNK 1024

typedef void (*emit_fn)(const float *P, size_t rows, size_t k, void *dst, size_t row0);

static void emit_probs(const float *P, size_t rows, size_t k, void *dst, size_t row0) {
    memcpy((float *)dst + row0 * k, P, rows * k * sizeof(float));
}

static void emit_labels(const float *P, size_t rows, size_t k, void *dst, size_t row0) {
    int32_t *labels = (int32_t *)dst + row0;
    for (size_t i = 0; i < rows; i++) {
        const float *p = P + i * k;
        if (k == 1) {
            labels[i] = p[0] >= 0.5f;
            continue;
        }
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            if (p[j] > p[best]) best = j;
        labels[i] = (int32_t)best;
    }
}

static mlp_status predict(mlp_net *net, const float *X, size_t n, void *dst, emit_fn emit,
                          const char *fn) {
    mlp_status st = mlp_check_batch(net, X, n, fn);
    if (st != MLP_OK) return st;
    if (!dst) return mlp_fail(MLP_ERR_NULL, "%s: output buffer is NULL", fn);
    size_t chunk = net->cap > PREDICT_MIN_CHUNK ? net->cap : PREDICT_MIN_CHUNK;
    if (chunk > n) chunk = n;
    st = check_int_dims(net, chunk, fn);
    if (st == MLP_OK) st = mlp_net_ensure(net, chunk);
    if (st != MLP_OK) return st;
    net->fwd_x = NULL; /* the workspace is about to be overwritten */
    net->have_grads = false;
    const size_t in = net->layers[0].in, k = net->layers[net->n_layers - 1].out;
    for (size_t r = 0; r < n; r += chunk) {
        size_t rows = n - r < chunk ? n - r : chunk;
        forward_rows(net, X + r * in, rows);
        emit(net->act[net->n_layers - 1], rows, k, dst, r);
    }
    return MLP_OK;
}

mlp_status mlp_predict(mlp_net *net, const float *X, size_t n, float *out) {
    return predict(net, X, n, out, emit_probs, "mlp_predict");
}

mlp_status mlp_predict_labels(mlp_net *net, const float *X, size_t n, int32_t *labels) {
    return predict(net, X, n, labels, emit_labels, "mlp_predict_labels");
}
