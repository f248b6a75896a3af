/* The phases of a training step, written to be run by every thread of one parallel region (or by
 * one thread outside any): each phase is a list of tasks shared with an orphaned `omp for`, and a
 * barrier ends the phase where the next one reads what it wrote. Data flow (L layers, batch n,
 * A_0 = X):
 *   forward   per layer: tiles of Z_l = A_{l-1} . W_l, each followed by bias + f_l on the tile
 *             (and, in training, the layer's dropout mask)
 *   output    per 16-row chunk (MLP_COLSUM_CHUNK): row losses, D_L = P - Y (times f' for SQUARED
 * with a non-identity output), its column-sum partials; beside them the L2 chunks (sum of W^2)
 *   backward  per layer, one phase: tiles of dW_l = (A_{l-1}^T . D_l) / n, then + alpha/n W_l
 *             and the finiteness check in one pass over the tile; tiles of
 *             D_{l-1} = (D_l . W_l^T) * f'_{l-1}(A_{l-1}) with their column-sum partials, and
 *             db_l reduced from D_l's partials
 *   update    slices of the flat parameter buffer (optim.c)
 * Which thread runs a task never changes what it computes: tiles are fixed by shape and parallel
 * width (dense.c), sums are taken over fixed chunks and added in order. */
#include "core/core.h"

#include <math.h>
#include <string.h>

/* The key of layer l's dropout masks in the current step: the seed, the step count and the layer,
 * mixed, so that every step and layer draws other masks and a rerun draws the same. */
static uint64_t mask_key(const mlp_net *net, size_t l) {
    return (net->seed ^ 0xd50f0a7d50f0a7d5ULL) + 0x9e3779b97f4a7c15ULL * (net->step + 1) +
           0xbf58476d1ce4e5b9ULL * (uint64_t)(l + 1);
}

/* Z (n x out) = f(A . W_l + b_l), in tiles shared by the team; pre (or NULL) receives the
 * pre-activations where the derivative needs them; with a mask (training with dropout) each tile
 * is dropped right after its activation. Reads net, writes only Z, pre and mask. */
static void forward_layer(const mlp_net *net, size_t l, const float *A, size_t n, float *Z,
                          float *pre, float *mask, uint64_t key) {
    const mlp_layer *ly = &net->layers[l];
    const float *b = net->params + ly->b_off;
    mlp_gemm g = mlp_gemm_forward(Z, A, net->params + ly->w_off, n, ly->in, ly->out);
    mlp_gemm_plan(&g, 8, ly->act == MLP_ACT_SOFTMAX);
    const long tiles = (long)mlp_gemm_tiles(&g);
#pragma omp for schedule(static) nowait
    for (long t = 0; t < tiles; t++) {
        mlp_box x = mlp_gemm_tile(&g, (size_t)t);
        size_t off = x.r0 * ly->out + x.c0;
        mlp_bias_act_block(Z + off, pre ? pre + off : NULL, b + x.c0, x.rows, x.cols, ly->out,
                           ly->act);
        if (mask)
            mlp_dropout_block(Z + off, mask + off, x.rows, x.cols, ly->out, off, key, ly->dropout);
    }
#pragma omp barrier
}

void mlp_pass_forward(mlp_net *net, const float *X, size_t n, bool training) {
    const float *A = X;
    for (size_t l = 0; l < net->n_layers; l++) {
        const bool drop = training && net->layers[l].dropout > 0.0f;
        forward_layer(net, l, A, n, net->out[l], net->pre[l], drop ? net->mask[l] : NULL,
                      drop ? mask_key(net, l) : 0);
        A = net->out[l];
    }
}

size_t mlp_infer_width(const mlp_net *net) {
    size_t w = 0;
    for (size_t l = 0; l + 1 < net->n_layers; l++)
        if (net->layers[l].out > w) w = net->layers[l].out;
    return w;
}

void mlp_pass_infer(const mlp_net *net, const float *X, size_t n, float *scratch, float *out) {
    const float *A = X;
    const size_t half = n * mlp_infer_width(net);
    for (size_t l = 0; l < net->n_layers; l++) {
        float *Z = l + 1 == net->n_layers ? out : scratch + (l % 2) * half;
        forward_layer(net, l, A, n, Z, NULL, NULL, 0);
        A = Z;
    }
}

/* ---- L2 ---- */

static float sumsq(const float *restrict W, size_t count) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < count; i++) s += W[i] * W[i];
    return s;
}

/* L2 chunk c (0 .. l2_chunks-1) into l2_parts[c]. */
static void l2_chunk(mlp_net *net, size_t c) {
    size_t l = 0;
    while (l + 1 < net->n_layers && net->layers[l + 1].l2_first <= c) l++;
    const mlp_layer *ly = &net->layers[l];
    size_t i0 = (c - ly->l2_first) * MLP_L2_CHUNK, count = ly->in * ly->out - i0;
    if (count > MLP_L2_CHUNK) count = MLP_L2_CHUNK;
    net->l2_parts[c] = (double)sumsq(net->params + ly->w_off + i0, count);
    if (!isfinite(net->l2_parts[c])) mlp_pass_flag(net, MLP_NONFINITE_GRAD);
}

void mlp_pass_l2(mlp_net *net) {
    const long chunks = (long)net->l2_chunks;
#pragma omp for schedule(static)
    for (long c = 0; c < chunks; c++) l2_chunk(net, (size_t)c);
}

double mlp_l2_sumsq(const mlp_net *net) {
    double s = 0.0;
    for (size_t c = 0; c < net->l2_chunks; c++) s += net->l2_parts[c];
    return s;
}

/* ---- backward ---- */

/* Row chunk c of the output: row losses, the output delta and its column-sum partials, each row's
 * loss and delta times its sample weight when there are weights (w). */
static void output_chunk(mlp_net *net, const float *Y, const float *w, size_t c, size_t n) {
    const mlp_layer *out = &net->layers[net->n_layers - 1];
    const size_t k = out->out, r0 = c * MLP_COLSUM_CHUNK, off = r0 * k;
    const size_t rows = n - r0 < MLP_COLSUM_CHUNK ? n - r0 : MLP_COLSUM_CHUNK;
    const float *P = net->out[net->n_layers - 1] + off, *pre = net->pre[net->n_layers - 1];
    mlp_loss_rows(P, Y + off, w ? w + r0 : NULL, rows, k, net->loss, net->row_loss + r0);
    if (!mlp_block_finite(net->row_loss + r0, 1, rows, rows))
        mlp_pass_flag(net, MLP_NONFINITE_GRAD);
    /* P - Y is the delta of the matching pairs; SQUARED through another output needs f'. */
    mlp_activation act = net->loss == MLP_LOSS_SQUARED ? out->act : MLP_ACT_IDENTITY;
    mlp_output_delta_block(net->delta[0] + off, P, Y + off, w ? w + r0 : NULL,
                           pre ? pre + off : NULL, rows, k, k, act, net->colsum[0] + c * k, k);
}

/* One task list: the output's row chunks, then the L2 chunks (when alpha is used). */
static void output_phase(mlp_net *net, const float *Y, const float *w, size_t n, bool with_l2) {
    const size_t chunks = (n + MLP_COLSUM_CHUNK - 1) / MLP_COLSUM_CHUNK;
    const long tasks = (long)(chunks + (with_l2 ? net->l2_chunks : 0));
#pragma omp for schedule(dynamic, 1) nowait
    for (long t = 0; t < tasks; t++) {
        if ((size_t)t < chunks)
            output_chunk(net, Y, w, (size_t)t, n);
        else
            l2_chunk(net, (size_t)t - chunks);
    }
#pragma omp barrier
}

/* A dW tile: the GEMM writes inv_n A^T D, then one pass over the tile while it is in cache adds
 * the L2 term alpha_n W and checks that every value is finite. */
static void weight_tile(mlp_net *net, const mlp_gemm *g, size_t t, const float *W, float alpha_n) {
    mlp_box x = mlp_gemm_tile(g, t);
    const size_t off = x.r0 * g->ldc + x.c0;
    bool finite = alpha_n != 0.0f
                      ? mlp_add_scaled_finite(g->C + off, W + off, alpha_n, x.rows, x.cols, g->ldc)
                      : mlp_block_finite(g->C + off, x.rows, x.cols, g->ldc);
    if (!finite) mlp_pass_flag(net, MLP_NONFINITE_GRAD);
}

void mlp_l2_grad(mlp_net *net, const float *src, size_t norm) {
    const float c = net->opt.alpha * (1.0f / (float)norm);
    for (size_t l = 0; l < net->n_layers; l++) {
        const mlp_layer *ly = &net->layers[l];
        /* S may be G itself: no restrict on them. */
        const float *S = src + ly->w_off, *restrict W = net->params + ly->w_off;
        float *G = net->grads + ly->w_off;
        const size_t count = ly->in * ly->out;
#pragma omp simd
        for (size_t i = 0; i < count; i++) G[i] = S[i] + c * W[i];
        if (src != net->grads)
            memcpy(net->grads + ly->b_off, src + ly->b_off, ly->out * sizeof(float));
    }
}

/* Layer l's gradients from its delta D (in delta[cur], partials in colsum[cur]); for l > 0 also
 * the previous layer's delta into delta[cur ^ 1] with its partials. */
static void backward_layer(mlp_net *net, size_t l, const float *X, size_t n, int cur, float inv_n,
                           float alpha_n) {
    const mlp_layer *ly = &net->layers[l];
    const float *A = l == 0 ? X : net->out[l - 1], *W = net->params + ly->w_off;
    const float *D = net->delta[cur];
    mlp_gemm gw = mlp_gemm_weights(net->grads + ly->w_off, A, D, n, ly->in, ly->out, inv_n, 0.0f);
    mlp_gemm_plan(&gw, 8, false);
    mlp_gemm gi = {0};
    if (l > 0) {
        gi = mlp_gemm_input(net->delta[cur ^ 1], D, W, n, ly->in, ly->out);
        mlp_gemm_plan(&gi, MLP_COLSUM_CHUNK, false);
    }
    const mlp_activation prev_act = l > 0 ? net->layers[l - 1].act : MLP_ACT_IDENTITY;
    const float *prev_pre = l > 0 ? net->pre[l - 1] : NULL;
    /* The previous layer's outputs were dropped in this pass: its delta takes the mask. */
    const bool masked = l > 0 && net->pass.dropout && net->layers[l - 1].dropout > 0.0f;
    const float *prev_mask = masked ? net->mask[l - 1] : NULL;
    const float keep = masked ? 1.0f - net->layers[l - 1].dropout : 1.0f;
    const size_t nw = mlp_gemm_tiles(&gw), ni = l > 0 ? mlp_gemm_tiles(&gi) : 0;
    const long tasks = (long)(nw + ni + 1);
#pragma omp for schedule(dynamic, 1) nowait
    for (long t = 0; t < tasks; t++) {
        if ((size_t)t < nw) {
            weight_tile(net, &gw, (size_t)t, W, alpha_n);
        } else if ((size_t)t < nw + ni) {
            mlp_box x = mlp_gemm_tile(&gi, (size_t)t - nw);
            size_t off = x.r0 * ly->in + x.c0;
            mlp_delta_block(net->delta[cur ^ 1] + off, A + off, NULL,
                            prev_pre ? prev_pre + off : NULL, x.rows, x.cols, ly->in, prev_act,
                            net->colsum[cur ^ 1] + (x.r0 / MLP_COLSUM_CHUNK) * ly->in + x.c0,
                            ly->in, prev_mask ? prev_mask + off : NULL, keep);
        } else {
            size_t chunks = (n + MLP_COLSUM_CHUNK - 1) / MLP_COLSUM_CHUNK;
            mlp_colsum_reduce(net->grads + ly->b_off, net->colsum[cur], chunks, ly->out, inv_n);
            if (!mlp_block_finite(net->grads + ly->b_off, 1, ly->out, ly->out))
                mlp_pass_flag(net, MLP_NONFINITE_GRAD);
        }
    }
#pragma omp barrier
}

void mlp_pass_backward(mlp_net *net, const float *Y, const float *w, float inv_n, float alpha_n) {
    const size_t n = net->pass.n;
    output_phase(net, Y, w, n, alpha_n != 0.0f);
    int cur = 0;
    for (size_t l = net->n_layers; l-- > 0;) {
        backward_layer(net, l, net->pass.x, n, cur, inv_n, alpha_n);
        cur ^= 1;
    }
}
