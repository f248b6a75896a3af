/* Whole-matrix forms of the library's block kernels, for white-box tests: each wrapper runs the
 * kernels a training step runs (dense.c tiles, activation.c blocks, loss.c rows, optim.c slices),
 * on the calling thread's OpenMP team where the step would share them. */
#ifndef MLP_KERNEL_UTIL_H
#define MLP_KERNEL_UTIL_H

#include "core/core.h"

#include <stdlib.h>

static inline void tk_run_gemm(mlp_gemm *g, size_t row_unit) {
    mlp_gemm_plan(g, row_unit, false);
    const long tiles = (long)mlp_gemm_tiles(g);
    int saved = mlp_blas_serial_begin();
#pragma omp parallel for schedule(static)
    for (long t = 0; t < tiles; t++) mlp_gemm_tile(g, (size_t)t);
    mlp_blas_serial_end(saved);
}

static inline void tk_dense_forward(float *Z, const float *X, const float *W, size_t n, size_t in,
                                    size_t out) {
    mlp_gemm g = mlp_gemm_forward(Z, X, W, n, in, out);
    tk_run_gemm(&g, 16);
}

static inline void tk_dense_backward_weights(float *dW, const float *X, const float *dZ, size_t n,
                                             size_t in, size_t out, float scale, float beta) {
    mlp_gemm g = mlp_gemm_weights(dW, X, dZ, n, in, out, scale, beta);
    tk_run_gemm(&g, 16);
}

static inline void tk_dense_backward_input(float *dX, const float *dZ, const float *W, size_t n,
                                           size_t in, size_t out) {
    mlp_gemm g = mlp_gemm_input(dX, dZ, W, n, in, out);
    tk_run_gemm(&g, MLP_COLSUM_CHUNK);
}

static inline void tk_bias_act_forward(float *Z, float *pre, const float *b, size_t n, size_t m,
                                       mlp_activation act) {
    mlp_bias_act_block(Z, pre, b, n, m, m, act);
}

static inline size_t tk_chunks(size_t n) {
    return (n + MLP_COLSUM_CHUNK - 1) / MLP_COLSUM_CHUNK;
}

/* G = (Y ? A - Y : G) * f'(A) over n x m, partials discarded. */
static inline void tk_delta(float *G, const float *A, const float *Y, const float *pre, size_t n,
                            size_t m, mlp_activation act) {
    float *partials = malloc(tk_chunks(n) * m * sizeof(float));
    if (!partials) abort();
    mlp_delta_block(G, A, Y, pre, n, m, m, act, partials, m, NULL, 1.0f);
    free(partials);
}

static inline void tk_act_backward(float *G, const float *A, const float *pre, size_t n, size_t m,
                                   mlp_activation act) {
    if (act != MLP_ACT_IDENTITY) tk_delta(G, A, NULL, pre, n, m, act);
}

static inline void tk_loss_delta(float *D, const float *P, const float *Y, size_t n, size_t k) {
    tk_delta(D, P, Y, NULL, n, k, MLP_ACT_IDENTITY);
}

/* db = scale * column sums of G: the chunk partials, then their ordered sum. */
static inline void tk_colsum(float *db, float *G, size_t n, size_t m, float scale,
                             float *partials) {
    mlp_delta_block(G, G, NULL, NULL, n, m, m, MLP_ACT_IDENTITY, partials, m, NULL, 1.0f);
    mlp_colsum_reduce(db, partials, tk_chunks(n), m, scale);
}

static inline double tk_loss_data(const float *P, const float *Y, size_t n, size_t k, mlp_loss loss,
                                  float *row_loss) {
    mlp_loss_rows(P, Y, NULL, n, k, loss, loss == MLP_LOSS_HUBER ? 1.0f : 0.0f, row_loss);
    return mlp_loss_total(row_loss, n, k, loss, (double)n);
}

static inline void tk_optim_apply(mlp_net *net) {
    const float lr_t = mlp_optim_begin(net);
#pragma omp parallel
    mlp_pass_update(net, lr_t);
    mlp_optim_commit(net);
}

#endif /* MLP_KERNEL_UTIL_H */
