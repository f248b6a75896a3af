/* The backward phases of a training step (pass.c's header has the whole data flow): the output
 * phase (row losses, the output delta, the L2 chunks), then one phase per layer (its dW tiles or
 * bf16 parts, the previous layer's delta, its bias gradient), for bf16 followed by the phase that
 * adds the dW parts. The update is a phase of its own after all of them (optim.c): the non-finite
 * guard must have seen every gradient before any parameter changes. */
#include "core/core.h"

#include <math.h>
#include <string.h>

/* ---- the GEMMs of a layer's backward pass, the same for the passes and mlp_pass_prepare ---- */

/* dW_l = inv_n A^T . D (f32). */
static mlp_gemm weights_gemm(const mlp_net *net, size_t l, const float *A, const float *D, size_t n,
                             float inv_n) {
    const mlp_layer *ly = &net->layers[l];
    mlp_gemm g = mlp_gemm_weights(net->grads + ly->w_off, A, D, n, ly->in, ly->out, inv_n, 0.0f);
    mlp_gemm_plan(&g, 8, false);
    return g;
}

/* A bf16 dW is cut along the batch, not into tiles of dW: a block of dW reads a block of A's
 * columns, which is not dense. Part p computes A_p^T . D_p over its rows (multiples of 16) into
 * its own buffer (part 0 into the gradients), unscaled; combine_parts adds them in order. The
 * part count depends on the shape and the parallel width only. */
static size_t dw_parts(const mlp_net *net, size_t l, size_t n) {
    const mlp_layer *ly = &net->layers[l];
    const double flops = 2.0 * (double)ly->in * (double)ly->out * (double)n;
    size_t parts = net->dw_parts_max;
    if ((double)parts > flops / MLP_TILE_FLOPS) parts = (size_t)(flops / MLP_TILE_FLOPS);
    if (parts > n / MLP_COLSUM_CHUNK) parts = n / MLP_COLSUM_CHUNK;
    return parts < 1 ? 1 : parts;
}

static mlp_gemm weights_part(const mlp_net *net, size_t l, const float *A, size_t n, int cur,
                             size_t p, size_t parts) {
    const mlp_layer *ly = &net->layers[l];
    const size_t r0 = mlp_row_cut(n, p, parts), r1 = mlp_row_cut(n, p + 1, parts);
    float *C = p == 0 ? net->grads + ly->w_off : net->dw_parts + (p - 1) * ly->in * ly->out;
    mlp_gemm g = mlp_gemm_weights(C, A + r0 * ly->in, net->delta[cur] + r0 * ly->out, r1 - r0,
                                  ly->in, ly->out, 1.0f, 0.0f);
    mlp_gemm_bf16(&g, net->dnnl, mlp_pass_input16(net, l) + r0 * ly->in,
                  net->delta16[cur] + r0 * ly->out);
    g.slot = p;
    mlp_gemm_plan_width(&g, 8, true, 1); /* one dense tile */
    return g;
}

/* D_{l-1} (before f') = D_l . W_l^T, into delta[cur ^ 1]. */
static mlp_gemm input_gemm(const mlp_net *net, size_t l, const float *D, size_t n, int cur) {
    const mlp_layer *ly = &net->layers[l];
    mlp_gemm g =
        mlp_gemm_input(net->delta[cur ^ 1], D, net->params + ly->w_off, n, ly->in, ly->out);
    const bool h = mlp_pass_bf16(net);
    if (h) mlp_gemm_bf16(&g, net->dnnl, net->delta16[cur], net->w16 + ly->w_off);
    mlp_gemm_plan(&g, MLP_COLSUM_CHUNK, h);
    return g;
}

/* The primitives of layer l's dW: its bf16 parts, or its f32 tiles. */
static mlp_status prepare_weights(mlp_net *net, size_t l, const float *A, size_t n, int cur) {
    mlp_status st = MLP_OK;
    if (!mlp_pass_bf16(net)) {
        mlp_gemm g = weights_gemm(net, l, A, net->delta[cur], n, 1.0f);
        mlp_gemm_f32_dnnl(net, &g);
        return mlp_dnnl_prepare(net->dnnl, &g);
    }
    for (size_t p = 0, parts = dw_parts(net, l, n); p < parts && st == MLP_OK; p++) {
        mlp_gemm g = weights_part(net, l, A, n, cur, p, parts);
        st = mlp_dnnl_prepare(net->dnnl, &g);
    }
    return st;
}

mlp_status mlp_prepare_backward(mlp_net *net, size_t l, const float *A, size_t n, int cur) {
    mlp_status st = prepare_weights(net, l, A, n, cur);
    if (st == MLP_OK && l > 0) {
        mlp_gemm g = input_gemm(net, l, net->delta[cur], n, cur);
        mlp_gemm_f32_dnnl(net, &g);
        st = mlp_dnnl_prepare(net->dnnl, &g);
    }
    return st;
}

/* ---- L2 ---- */

static float sumsq(const float *restrict W, size_t count) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < count; i++) s += W[i] * W[i];
    return s;
}

/* L2 chunk c (0 .. l2_chunks-1) into l2_parts[c]. */
void mlp_l2_chunk(mlp_net *net, size_t c) {
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
    for (long c = 0; c < chunks; c++) mlp_l2_chunk(net, (size_t)c);
}

double mlp_l2_sumsq(const mlp_net *net) {
    double s = 0.0;
    for (size_t c = 0; c < net->l2_chunks; c++) s += net->l2_parts[c];
    return s;
}

/* ---- backward ---- */

/* Row chunk c of the output: row losses, the output delta (into D, rows of the output's width)
 * and its column-sum partials (into part), each row's loss and delta times its sample weight when
 * there are weights (w). */
void mlp_output_chunk(mlp_net *net, const float *Y, const float *w, size_t c, size_t n, float *D,
                      float *part) {
    const mlp_layer *out = &net->layers[net->n_layers - 1];
    const size_t k = out->out, r0 = c * MLP_COLSUM_CHUNK, off = r0 * k;
    const size_t rows = n - r0 < MLP_COLSUM_CHUNK ? n - r0 : MLP_COLSUM_CHUNK;
    const float *P = net->out[net->n_layers - 1] + off, *pre = net->pre[net->n_layers - 1];
    mlp_loss_rows(P, Y + off, w ? w + r0 : NULL, rows, k, net->loss, net->huber_delta,
                  net->row_loss + r0);
    if (!mlp_block_finite(net->row_loss + r0, 1, rows, rows))
        mlp_pass_flag(net, MLP_NONFINITE_GRAD);
    /* P - Y is the delta of the matching pairs (POISSON with its EXP output among them); SQUARED
     * and HUBER (P - Y clipped) through another output need f'. */
    const bool by_f = net->loss == MLP_LOSS_SQUARED || net->loss == MLP_LOSS_HUBER;
    mlp_activation act = by_f ? out->act : MLP_ACT_IDENTITY;
    mlp_output_delta_block(D, P, Y + off, w ? w + r0 : NULL, pre ? pre + off : NULL, rows, k, k,
                           act, net->huber_delta, part, k);
    if (mlp_pass_bf16(net)) mlp_bf16_block(net->delta16[0] + off, D, rows, k, k);
}

/* One task list: the output's row chunks (unless the forward's row blocks made them: pass.y),
 * then the L2 chunks (when alpha is used). */
static void output_phase(mlp_net *net, const float *Y, const float *w, size_t n, bool with_l2) {
    const size_t chunks = net->pass.y ? 0 : (n + MLP_COLSUM_CHUNK - 1) / MLP_COLSUM_CHUNK;
    const long tasks = (long)(chunks + (with_l2 ? net->l2_chunks : 0));
    const size_t k = net->layers[net->n_layers - 1].out;
#pragma omp for schedule(dynamic, 1) nowait
    for (long t = 0; t < tasks; t++) {
        const size_t c = (size_t)t;
        if (c < chunks)
            mlp_output_chunk(net, Y, w, c, n, net->delta[0] + c * MLP_COLSUM_CHUNK * k,
                             net->colsum[0] + c * k);
        else
            mlp_l2_chunk(net, c - chunks);
    }
    /* The L2 chunks alone need no barrier: only the loss, after the region, reads them. */
    if (chunks > 0) {
#pragma omp barrier
    }
}

/* A dW tile: the GEMM writes inv_n A^T D, then one pass over the tile while it is in cache adds
 * the L2 term alpha_n W and checks that every value is finite. */
static void weight_tile(mlp_net *net, const mlp_gemm *g, size_t t, const float *W, float inv_n,
                        float alpha_n) {
    mlp_box x = mlp_gemm_tile(g, t);
    const size_t off = x.r0 * g->ldc + x.c0;
    bool finite;
    if (g->dnnl) /* oneDNN's f32 GEMM left out 1/n */
        finite = mlp_scale_add_finite(g->C + off, inv_n, W + off, alpha_n, x.rows, x.cols, g->ldc);
    else if (alpha_n != 0.0f)
        finite = mlp_add_scaled_finite(g->C + off, W + off, alpha_n, x.rows, x.cols, g->ldc);
    else
        finite = mlp_block_finite(g->C + off, x.rows, x.cols, g->ldc);
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
/* The dX tile t of gi: the GEMM, then the previous layer's delta (f', dropout mask, column-sum
 * partials) and its bf16 rounding while the tile is in cache. */
static void input_tile(mlp_net *net, size_t l, const mlp_gemm *gi, size_t t, const float *A,
                       int cur) {
    const mlp_layer *ly = &net->layers[l], *prev = &net->layers[l - 1];
    /* The previous layer's outputs were dropped in this pass: its delta takes the mask. */
    const bool masked = net->pass.dropout && prev->dropout > 0.0f;
    const float *pre = net->pre[l - 1];
    float *D = net->delta[cur ^ 1];
    mlp_box x = mlp_gemm_tile(gi, t);
    size_t off = x.r0 * ly->in + x.c0;
    mlp_delta_block(D + off, A + off, NULL, pre ? pre + off : NULL, x.rows, x.cols, ly->in,
                    prev->act, net->colsum[cur ^ 1] + (x.r0 / MLP_COLSUM_CHUNK) * ly->in + x.c0,
                    ly->in, masked ? net->mask[l - 1] + off : NULL,
                    masked ? 1.0f - prev->dropout : 1.0f);
    if (mlp_pass_bf16(net))
        mlp_bf16_block(net->delta16[cur ^ 1] + off, D + off, x.rows, x.cols, ly->in);
}

/* db_l from the delta's column-sum partials. */
static void bias_grad(mlp_net *net, size_t l, size_t n, int cur, float inv_n) {
    const mlp_layer *ly = &net->layers[l];
    size_t chunks = (n + MLP_COLSUM_CHUNK - 1) / MLP_COLSUM_CHUNK;
    mlp_colsum_reduce(net->grads + ly->b_off, net->colsum[cur], chunks, ly->out, inv_n);
    if (!mlp_block_finite(net->grads + ly->b_off, 1, ly->out, ly->out))
        mlp_pass_flag(net, MLP_NONFINITE_GRAD);
}

/* Rows of dW per task of combine_parts. */
#define COMBINE_ROWS 32

/* A dW cut into parts: dW = inv_n (part 0 + part 1 + ...) + alpha_n W, added in part order, with
 * the finiteness check; rows of dW shared by the team, then a barrier. */
static void combine_parts(mlp_net *net, size_t l, size_t parts, float inv_n, float alpha_n) {
    const mlp_layer *ly = &net->layers[l];
    const size_t cells = ly->in * ly->out;
    float *G = net->grads + ly->w_off;
    const long tasks = (long)((ly->in + COMBINE_ROWS - 1) / COMBINE_ROWS);
#pragma omp for schedule(static) nowait
    for (long t = 0; t < tasks; t++) {
        const size_t r0 = (size_t)t * COMBINE_ROWS;
        const size_t rows = ly->in - r0 < COMBINE_ROWS ? ly->in - r0 : COMBINE_ROWS;
        const size_t off = r0 * ly->out;
        for (size_t p = 1; p < parts; p++)
            mlp_scale_add_finite(G + off, 1.0f, net->dw_parts + (p - 1) * cells + off, 1.0f, rows,
                                 ly->out, ly->out);
        if (!mlp_scale_add_finite(G + off, inv_n, net->params + ly->w_off + off, alpha_n, rows,
                                  ly->out, ly->out))
            mlp_pass_flag(net, MLP_NONFINITE_GRAD);
    }
#pragma omp barrier
}

/* Layer l's gradients from its delta D (in delta[cur], partials in colsum[cur]); for l > 0 also
 * the previous layer's delta into delta[cur ^ 1] with its partials. One task list: the dW tiles
 * (bf16: the dW parts), the dX tiles, the bias gradient. */
static void backward_layer(mlp_net *net, size_t l, const float *X, size_t n, int cur, float inv_n,
                           float alpha_n) {
    const mlp_layer *ly = &net->layers[l];
    const float *A = l == 0 ? X : net->out[l - 1], *W = net->params + ly->w_off;
    const bool h = mlp_pass_bf16(net);
    const size_t parts = h ? dw_parts(net, l, n) : 0;
    mlp_gemm gw = h ? (mlp_gemm){0} : weights_gemm(net, l, A, net->delta[cur], n, inv_n);
    mlp_gemm gi = l > 0 ? input_gemm(net, l, net->delta[cur], n, cur) : (mlp_gemm){0};
    if (!h) mlp_gemm_f32_dnnl(net, &gw);
    if (l > 0) mlp_gemm_f32_dnnl(net, &gi);
    const size_t nw = h ? parts : mlp_gemm_tiles(&gw), ni = l > 0 ? mlp_gemm_tiles(&gi) : 0;
    const long tasks = (long)(nw + ni + 1);
    /* Task t on thread t % T: dW tile t is made by the thread whose share of the update
     * (mlp_thread_share) holds most of it, so the gradient is updated from the cache that wrote
     * it. Measured on 784-100-10 at 2 threads: 1-2% faster than schedule(dynamic, 1). */
#pragma omp for schedule(static, 1) nowait
    for (long t = 0; t < tasks; t++) {
        if ((size_t)t < nw && h) {
            const mlp_gemm gp = weights_part(net, l, A, n, cur, (size_t)t, parts);
            mlp_gemm_tile(&gp, 0);
        } else if ((size_t)t < nw) {
            weight_tile(net, &gw, (size_t)t, W, inv_n, alpha_n);
        } else if ((size_t)t < nw + ni) {
            input_tile(net, l, &gi, (size_t)t - nw, A, cur);
        } else {
            bias_grad(net, l, n, cur, inv_n);
        }
    }
#pragma omp barrier
    if (h) combine_parts(net, l, parts, inv_n, alpha_n);
}

void mlp_pass_backward(mlp_net *net, const float *Y, const float *w, float inv_n, float alpha_n) {
    if (net->pass.shards > 1) {
        mlp_split_backward(net, Y, w, inv_n, alpha_n);
        return;
    }
    const size_t n = net->pass.n;
    output_phase(net, Y, w, n, alpha_n != 0.0f);
    int cur = 0;
    for (size_t l = net->n_layers; l-- > 0;) {
        backward_layer(net, l, net->pass.x, n, cur, inv_n, alpha_n);
        cur ^= 1;
    }
}
