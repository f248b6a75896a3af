/* Inference: probabilities and labels, in chunks so that predicting a large set never needs a
 * workspace of its size. */
#include "core/core.h"

#include <string.h>

#define PREDICT_MIN_CHUNK 1024

typedef void (*emit_fn)(const float *P, size_t rows, size_t k, void *dst, size_t row0);

static void emit_probs(const float *P, size_t rows, size_t k, void *dst, size_t row0) {
    memcpy((float *)dst + row0 * k, P, rows * k * sizeof(float));
}

static void emit_labels(const float *P, size_t rows, size_t k, void *dst, size_t row0) {
    int32_t *labels = (int32_t *)dst + row0;
    for (size_t i = 0; i < rows; i++) labels[i] = mlp_row_label(P + i * k, k);
}

static mlp_status predict(mlp_net *net, const float *X, size_t n, void *dst, emit_fn emit,
                          const char *fn) {
    mlp_status st = mlp_check_batch(net, X, n, fn);
    if (st != MLP_OK) return st;
    if (!dst) return mlp_fail(MLP_ERR_NULL, "%s: output buffer is NULL", fn);
    size_t chunk = net->cap > PREDICT_MIN_CHUNK ? net->cap : PREDICT_MIN_CHUNK;
    if (chunk > n) chunk = n;
    st = mlp_check_int_dims(net, chunk, fn);
    if (st == MLP_OK) st = mlp_net_grow_workspace(net, chunk);
    if (st != MLP_OK) return st;
    mlp_pass_reset(net); /* the workspace is about to be overwritten */
    const size_t in = net->layers[0].in, k = net->layers[net->n_layers - 1].out;
    for (size_t r = 0; r < n; r += chunk) {
        size_t rows = n - r < chunk ? n - r : chunk;
        mlp_run_forward(net, X + r * in, rows);
        emit(net->out[net->n_layers - 1], rows, k, dst, r);
    }
    return MLP_OK;
}

mlp_status mlp_predict(mlp_net *net, const float *X, size_t n, float *out) {
    return predict(net, X, n, out, emit_probs, "mlp_predict");
}

mlp_status mlp_predict_labels(mlp_net *net, const float *X, size_t n, int32_t *labels) {
    return predict(net, X, n, labels, emit_labels, "mlp_predict_labels");
}
