/* Inference: probabilities and labels. A prediction reads the net and writes only the caller's
 * output and its own scratch, so any number of threads may predict with one net at once, each
 * getting the bits a serial call gets. Large inputs go in chunks, so the scratch never grows with
 * the input. */
#include "core/core.h"

#include <omp.h>
#include <stdlib.h>

#define PREDICT_MIN_CHUNK 1024
/* Scratch of at most this many floats lives on the caller's stack (16 KiB): batch-1 and small
 * batches allocate nothing. */
#define STACK_FLOATS 4096

/* Rows per chunk: the reserved batch size, at least PREDICT_MIN_CHUNK, as before inference had
 * its own scratch, so the chunking (and with it each row's last bit) is what it always was. */
static size_t chunk_rows(const mlp_net *net, size_t n) {
    size_t chunk = net->cap > PREDICT_MIN_CHUNK ? net->cap : PREDICT_MIN_CHUNK;
    return chunk < n ? chunk : n;
}

/* The forward pass of n rows into out on the threads it pays for, OpenBLAS serial in each tile. */
static void infer_rows(const mlp_net *net, const float *X, size_t n, float *scratch, float *out) {
    const int T = mlp_pass_threads(net, n);
    if (T > 1) {
#pragma omp parallel num_threads(T)
        {
            unsigned fp = mlp_fp_begin();
            mlp_pass_infer(net, X, n, scratch, out);
            mlp_fp_end(fp);
        }
    } else {
        int saved = mlp_blas_serial_begin();
        unsigned fp = mlp_fp_begin();
        mlp_pass_infer(net, X, n, scratch, out);
        mlp_fp_end(fp);
        mlp_blas_serial_end(saved);
    }
}

/* Predicts in chunks: probabilities straight into probs (n x k), or labels through a chunk of
 * probabilities in the scratch. */
static mlp_status predict_chunks(const mlp_net *net, const float *X, size_t n, float *probs,
                                 int32_t *labels, float *scratch, size_t chunk) {
    const size_t in = net->layers[0].in, k = net->layers[net->n_layers - 1].out;
    float *P = scratch + 2 * chunk * mlp_infer_width(net); /* labels: one chunk's outputs */
    for (size_t r = 0; r < n; r += chunk) {
        const size_t rows = n - r < chunk ? n - r : chunk;
        float *out = probs ? probs + r * k : P;
        infer_rows(net, X + r * in, rows, scratch, out);
        for (size_t i = 0; labels && i < rows; i++) labels[r + i] = mlp_row_label(P + i * k, k);
    }
    return MLP_OK;
}

/* bf16 inference (predict16.c): the weights rounded once for the call, then the chunks as
 * predict_chunks takes them. */
static mlp_status predict16(const mlp_net *net, const float *X, size_t n, float *probs,
                            int32_t *labels, size_t chunk, const char *fn) {
    const size_t in = net->layers[0].in, k = net->layers[net->n_layers - 1].out;
    mlp_status st = MLP_OK;
    mlp_bf16 *w16 = mlp_alloc_array(net->n_params, sizeof(mlp_bf16), fn, &st);
    float *P = labels ? mlp_alloc_array(chunk, k * sizeof(float), fn, &st) : NULL;
    if (st == MLP_OK) mlp_bf16_block(w16, net->params, 1, net->n_params, net->n_params);
    for (size_t r = 0; r < n && st == MLP_OK; r += chunk) {
        const size_t rows = n - r < chunk ? n - r : chunk;
        st = mlp_infer16(net, X + r * in, rows, probs ? probs + r * k : P, w16);
        for (size_t i = 0; st == MLP_OK && labels && i < rows; i++)
            labels[r + i] = mlp_row_label(P + i * k, k);
    }
    free(w16);
    free(P);
    return st;
}

static mlp_status predict(const mlp_net *net, const float *X, size_t n, float *probs,
                          int32_t *labels, const char *fn) {
    mlp_status st = mlp_check_batch(net, X, n, fn);
    if (st != MLP_OK) return st;
    if (!probs && !labels) return mlp_fail(MLP_ERR_NULL, "%s: output buffer is NULL", fn);
    const size_t chunk = chunk_rows(net, n);
    st = mlp_check_int_dims(net, chunk, fn);
    if (st != MLP_OK) return st;
    if (net->pred_prec == MLP_PRECISION_BF16) return predict16(net, X, n, probs, labels, chunk, fn);
    /* 2 ping-pong hidden buffers, and the output chunk for labels. */
    const size_t per_row = 2 * mlp_infer_width(net) + (labels ? mlp_net_output_size(net) : 0);
    float stack[STACK_FLOATS];
    float *scratch = stack;
    if (per_row > STACK_FLOATS / chunk) {
        scratch = mlp_alloc_array(chunk, per_row * sizeof(float), fn, &st);
        if (!scratch) return st;
    }
    st = predict_chunks(net, X, n, probs, labels, scratch, chunk);
    if (scratch != stack) free(scratch);
    return st;
}

mlp_status mlp_predict(const mlp_net *net, const float *X, size_t n, float *out) {
    return predict(net, X, n, out, NULL, "mlp_predict");
}

mlp_status mlp_predict_labels(const mlp_net *net, const float *X, size_t n, int32_t *labels) {
    return predict(net, X, n, NULL, labels, "mlp_predict_labels");
}
