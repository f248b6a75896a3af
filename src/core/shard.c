/* The batch split: a training pass cut into shards of rows instead of tiles of layers.
 *
 * The layer-tiled passes (pass.c, backward.c) share each GEMM among the threads and end every
 * layer with a barrier. Where a net's weights are small next to its activations (the digits MLP:
 * 3,760 parameters, 200 x 124 activations per batch), its GEMMs are too small to cut and the
 * barriers cost more than the work they separate: such a step ran on one thread. Here each shard
 * of rows goes through every layer, forward and backward, on one thread, with no barrier between
 * layers; its weight and bias gradients, unscaled, go to a buffer of its own (shard 0's to the
 * gradients). One barrier later, the shards' gradients are added in shard order, scaled by 1/n,
 * given the L2 term and checked, each thread on the share of the buffer that it then updates.
 *
 * Shards are fixed by the batch size and the parallel width (never the thread count), their rows
 * are multiples of MLP_COLSUM_CHUNK (a chunk's column sums belong to one shard; chunk c's sums sit
 * at c x the widest layer for every layer, as shards reach different layers at once), and the
 * forward and backward loops hand shard s to the same thread (schedule(static), same count): the
 * bits do not depend on the thread count, and no barrier is needed between the passes. */
#include "core/core.h"

#include <math.h>
#include <stdlib.h>

/* At most this many shards (the partial gradients cost shards x parameters of memory). */
#define MAX_SHARDS 16
/* Shards get at least this many rows: below that their GEMMs are mostly call overhead. */
#define SHARD_MIN_ROWS 32
/* Nets with more parameters keep the tiled passes: the shards' gradients would be summed over
 * more memory than the barriers they save cost (measured: see docs/SCALING.md). */
#ifndef MLP_SPLIT_MAX_PARAMS
#define MLP_SPLIT_MAX_PARAMS 65536
#endif

/* Shards of an f32 pass over n rows, from the width alone (the precision aside). */
static size_t shards_of(size_t n) {
    size_t S = (size_t)mlp_parallel_width();
    if (S > MAX_SHARDS) S = MAX_SHARDS;
    if (S > n / SHARD_MIN_ROWS) S = n / SHARD_MIN_ROWS;
    return S < 2 ? 1 : S;
}

double mlp_split_bytes(double n_params, size_t rows) {
    if (n_params > (double)MLP_SPLIT_MAX_PARAMS) return 0.0;
    return (double)(shards_of(rows) - 1) * n_params * sizeof(float);
}

size_t mlp_pass_shards(const mlp_net *net, size_t n) {
    /* f32 through OpenBLAS only: the bf16 passes (and f32 through oneDNN) keep their tiles,
     * whose kernels are made once per shape. */
    if (net->prec != MLP_PRECISION_F32 || net->dnnl || net->n_params > MLP_SPLIT_MAX_PARAMS)
        return 1;
    return shards_of(n);
}

mlp_status mlp_split_reserve(mlp_net *net, size_t shards) {
    if (shards <= net->shard_cap) return MLP_OK;
    mlp_status st = MLP_OK;
    float *buf =
        mlp_alloc_array((shards - 1) * net->n_params, sizeof(float), "the shards' gradients", &st);
    if (!buf) return st;
    free(net->shard_dw);
    net->shard_dw = buf;
    net->shard_cap = shards;
    return MLP_OK;
}

/* Where shard s's unscaled gradients go: the gradients for shard 0, its own buffer otherwise. */
static float *shard_grads(const mlp_net *net, size_t s) {
    return s == 0 ? net->grads : net->shard_dw + (s - 1) * net->n_params;
}

/* One serial GEMM, computed as a single tile. */
static void gemm_whole(mlp_gemm *g) {
    mlp_gemm_plan_width(g, 8, true, 1);
    mlp_gemm_tile(g, 0);
}

void mlp_rows_forward(const mlp_net *net, const float *X, size_t l0, size_t l1, size_t r0,
                      size_t r1, bool training) {
    const float *A = l0 == 0 ? X : net->out[l0 - 1];
    for (size_t l = l0; l < l1; l++) {
        const mlp_layer *ly = &net->layers[l];
        const size_t off = r0 * ly->out, rows = r1 - r0;
        float *Z = net->out[l] + off, *pre = net->pre[l] ? net->pre[l] + off : NULL;
        mlp_gemm g =
            mlp_gemm_forward(Z, A + r0 * ly->in, net->params + ly->w_off, rows, ly->in, ly->out);
        gemm_whole(&g);
        mlp_bias_act_block(Z, pre, net->params + ly->b_off, rows, ly->out, ly->out, ly->act);
        if (training && ly->dropout > 0.0f)
            mlp_dropout_block(Z, net->mask[l] + off, rows, ly->out, ly->out, off,
                              mlp_mask_key(net, l), ly->dropout);
        A = net->out[l];
    }
}

void mlp_split_forward(mlp_net *net, const float *X, size_t n, bool training) {
    const long S = (long)net->pass.shards;
#pragma omp for schedule(static) nowait
    for (long s = 0; s < S; s++) {
        const size_t r0 = mlp_row_cut(n, (size_t)s, (size_t)S);
        const size_t r1 = mlp_row_cut(n, (size_t)s + 1, (size_t)S);
        mlp_rows_forward(net, X, 0, net->n_layers, r0, r1, training);
    }
    /* No barrier: shard s's backward runs on the thread that ran its forward. A forward-only
     * call (mlp_forward, mlp_loss_value) ends its region, which is a barrier. */
}

/* The widest layer. */
static size_t widest(const mlp_net *net) {
    size_t w = 0;
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].out > w) w = net->layers[l].out;
    return w;
}

/* A shard's own part of the buffers that the layers share: the deltas' ping-pong buffers and
 * their column-sum partials. Shards reach different layers at once, so each works in the block of
 * rows [r0, r1) of the widest layer (chunks likewise), packed at its own layer's width inside. */
typedef struct shard_bufs {
    float *delta[2], *colsum[2];
} shard_bufs;

static shard_bufs shard_bufs_of(const mlp_net *net, size_t r0) {
    const size_t W = widest(net);
    shard_bufs b;
    for (int i = 0; i < 2; i++) {
        b.delta[i] = net->delta[i] + r0 * W;
        b.colsum[i] = net->colsum[i] + r0 / MLP_COLSUM_CHUNK * W;
    }
    return b;
}

/* Layer l's gradients for rows [r0, r1) from its delta (b->delta[cur]): dW and db unscaled into
 * G; for l > 0 also the previous layer's delta into b->delta[cur ^ 1] with its partials. */
static void shard_layer(mlp_net *net, size_t l, size_t r0, size_t r1, const shard_bufs *b, int cur,
                        float *G) {
    const mlp_layer *ly = &net->layers[l];
    const size_t rows = r1 - r0, C = MLP_COLSUM_CHUNK;
    const float *A = (l == 0 ? net->pass.x : net->out[l - 1]) + r0 * ly->in;
    const float *D = b->delta[cur];
    mlp_gemm g = mlp_gemm_weights(G + ly->w_off, A, D, rows, ly->in, ly->out, 1.0f, 0.0f);
    gemm_whole(&g);
    /* db: this shard's chunks' column sums, in chunk order */
    mlp_colsum_reduce(G + ly->b_off, b->colsum[cur], (rows + C - 1) / C, ly->out, 1.0f);
    if (l == 0) return;
    const mlp_layer *prev = &net->layers[l - 1];
    const bool masked = net->pass.dropout && prev->dropout > 0.0f;
    const size_t off = r0 * ly->in;
    float *Dp = b->delta[cur ^ 1];
    mlp_gemm gi = mlp_gemm_input(Dp, D, net->params + ly->w_off, rows, ly->in, ly->out);
    gemm_whole(&gi);
    mlp_delta_block(Dp, net->out[l - 1] + off, NULL, net->pre[l - 1] ? net->pre[l - 1] + off : NULL,
                    rows, ly->in, ly->in, prev->act, b->colsum[cur ^ 1], ly->in,
                    masked ? net->mask[l - 1] + off : NULL, masked ? 1.0f - prev->dropout : 1.0f);
}

/* Rows [r0, r1) backward: the output chunks, then every layer. */
static void shard_backward(mlp_net *net, const float *Y, const float *w, size_t r0, size_t r1,
                           float *G) {
    const size_t C = MLP_COLSUM_CHUNK, k = net->layers[net->n_layers - 1].out;
    const shard_bufs b = shard_bufs_of(net, r0);
    for (size_t c = r0 / C; c * C < r1; c++) {
        const size_t i = c - r0 / C; /* the chunk's place in the shard */
        mlp_output_chunk(net, Y, w, c, net->pass.n, b.delta[0] + i * C * k, b.colsum[0] + i * k);
    }
    int cur = 0;
    for (size_t l = net->n_layers; l-- > 0; cur ^= 1) shard_layer(net, l, r0, r1, &b, cur, G);
}

/* Gradients [a, b) of the flat buffer: the shards' added in shard order, times inv_n, plus c W
 * (the L2 term on weights, c = 0 on biases), and checked. */
static void sum_range(mlp_net *net, size_t a, size_t b, float inv_n, float c) {
    const size_t len = b - a;
    float *G = net->grads + a;
    for (size_t s = 1; s < net->pass.shards; s++)
        mlp_scale_add_finite(G, 1.0f, shard_grads(net, s) + a, 1.0f, 1, len, len);
    bool finite = true;
    if (c != 0.0f)
        finite = mlp_scale_add_finite(G, inv_n, net->params + a, c, 1, len, len);
    else
        for (size_t j = 0; j < len; j++) { /* no L2 term: W (maybe not finite) is not read */
            G[j] *= inv_n;
            finite &= isfinite(G[j]) != 0;
        }
    if (!finite) mlp_pass_flag(net, MLP_NONFINITE_GRAD);
}

/* This thread's share of the sum: the share of the flat buffer that mlp_pass_update gives it, so
 * that the thread that sums a gradient updates it too, from its own cache (with a dynamic
 * schedule, a digits step at 2 threads lost more to moving the lines than it gained). Elementwise:
 * the partition does not change the bits. */
static void sum_share(mlp_net *net, float inv_n, float alpha_n) {
    size_t i0, len;
    if (!mlp_thread_share(net->n_params, &i0, &len)) return;
    const size_t i1 = i0 + len;
    for (size_t l = 0; l < net->n_layers; l++) {
        const mlp_layer *ly = &net->layers[l];
        const size_t seg[3] = {ly->w_off, ly->b_off, ly->b_off + ly->out};
        for (int k = 0; k < 2; k++) {
            const size_t a = seg[k] > i0 ? seg[k] : i0, b = seg[k + 1] < i1 ? seg[k + 1] : i1;
            if (a < b) sum_range(net, a, b, inv_n, k == 0 ? alpha_n : 0.0f);
        }
    }
}

void mlp_split_backward(mlp_net *net, const float *Y, const float *w, float inv_n, float alpha_n) {
    const size_t n = net->pass.n;
    const long S = (long)net->pass.shards;
#pragma omp for schedule(static) nowait
    for (long s = 0; s < S; s++) {
        const size_t r0 = mlp_row_cut(n, (size_t)s, (size_t)S);
        const size_t r1 = mlp_row_cut(n, (size_t)s + 1, (size_t)S);
        shard_backward(net, Y, w, r0, r1, shard_grads(net, (size_t)s));
    }
#pragma omp barrier
    /* The L2 chunks of the loss (they read W, which the update changes later), then the sum. */
    const long l2 = alpha_n != 0.0f ? (long)net->l2_chunks : 0;
#pragma omp for schedule(static) nowait
    for (long c = 0; c < l2; c++) mlp_l2_chunk(net, (size_t)c);
    sum_share(net, inv_n, alpha_n);
#pragma omp barrier
}
