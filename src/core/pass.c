/* The phases of a training step, written to be run by every thread of one parallel region (or by
 * one thread outside any): each phase is a list of tasks shared with an orphaned `omp for`, and a
 * barrier ends the phase where the next one reads what it wrote. Data flow (L layers, batch n,
 * A_0 = X):
 *   forward   per layer: tiles of Z_l = A_{l-1} . W_l, each followed by bias + f_l on the tile
 *             (and, in training, the layer's dropout mask)             (this file)
 *   output    per 16-row chunk (MLP_COLSUM_CHUNK): row losses, D_L = P - Y (times f' for SQUARED
 *             with a non-identity output), its column-sum partials; beside them the L2 chunks
 *             (sum of W^2)                                             (backward.c)
 *   backward  per layer, one phase: tiles of dW_l = (A_{l-1}^T . D_l) / n, then + alpha/n W_l
 *             and the finiteness check in one pass over the tile; tiles of
 *             D_{l-1} = (D_l . W_l^T) * f'_{l-1}(A_{l-1}) with their column-sum partials, and
 *             db_l reduced from D_l's partials                         (backward.c)
 *   update    slices of the flat parameter buffer (optim.c)
 * Which thread runs a task never changes what it computes: tiles are fixed by shape and parallel
 * width (dense.c), sums are taken over fixed chunks and added in order. */
#include "core/core.h"

#include <math.h>
#include <string.h>

/* The key of layer l's dropout masks in the current step: the seed, the step count and the layer,
 * mixed, so that every step and layer draws other masks and a rerun draws the same. */
uint64_t mlp_mask_key(const mlp_net *net, size_t l) {
    return (net->seed ^ 0xd50f0a7d50f0a7d5ULL) + 0x9e3779b97f4a7c15ULL * (net->step + 1) +
           0xbf58476d1ce4e5b9ULL * (uint64_t)(l + 1);
}

/* Z (n x out) = A . W_l; with A16 (bf16 training) on the rounded operands, in whole-row tiles
 * (dense, as oneDNN's fast kernels need). */
static mlp_gemm forward_gemm(const mlp_net *net, size_t l, const float *A, const mlp_bf16 *A16,
                             float *Z, size_t n) {
    const mlp_layer *ly = &net->layers[l];
    mlp_gemm g = mlp_gemm_forward(Z, A, net->params + ly->w_off, n, ly->in, ly->out);
    if (A16) mlp_gemm_bf16(&g, net->dnnl, A16, net->w16 + ly->w_off);
    mlp_gemm_plan(&g, 8, ly->act == MLP_ACT_SOFTMAX || A16);
    return g;
}

mlp_status mlp_pass_prepare(mlp_net *net, size_t n) {
    const bool h = mlp_pass_bf16(net);
    mlp_status st = MLP_OK;
    int cur = 0;
    for (size_t l = net->n_layers; l-- > 0 && st == MLP_OK; cur ^= 1) {
        const float *A = l == 0 ? net->out[0] : net->out[l - 1]; /* any non-NULL: shapes only */
        mlp_gemm g = forward_gemm(net, l, A, h ? mlp_pass_input16(net, l) : NULL, net->out[l], n);
        mlp_gemm_f32_dnnl(net, &g);
        st = mlp_dnnl_prepare(net->dnnl, &g);
        if (st == MLP_OK) st = mlp_prepare_backward(net, l, A, n, cur);
    }
    return st;
}

/* ---- forward ---- */

/* Floats per task of the bf16 conversions before the first layer. */
#define CONVERT_CHUNK 16384

/* bf16 training: the batch rounded into x16 and, where the parameters changed since the last
 * update wrote their copy, the parameters into w16; one task list, then a barrier. */
static void round_inputs(mlp_net *net, const float *X, size_t n) {
    const size_t nx = n * net->layers[0].in, np = net->w16_fresh ? 0 : net->n_params;
    const size_t cx = (nx + CONVERT_CHUNK - 1) / CONVERT_CHUNK;
    const long tasks = (long)(cx + (np + CONVERT_CHUNK - 1) / CONVERT_CHUNK);
#pragma omp for schedule(static) nowait
    for (long t = 0; t < tasks; t++) {
        const bool x = (size_t)t < cx;
        const size_t i0 = ((size_t)t - (x ? 0 : cx)) * CONVERT_CHUNK, count = x ? nx : np;
        const size_t len = count - i0 < CONVERT_CHUNK ? count - i0 : CONVERT_CHUNK;
        if (x)
            mlp_bf16_block(net->x16 + i0, X + i0, 1, len, len);
        else
            mlp_bf16_block(net->w16 + i0, net->params + i0, 1, len, len);
    }
#pragma omp barrier
}

/* Where a layer's forward tiles write: Z (n x out) = f(A . W_l + b_l); pre (or NULL) the
 * pre-activations where the derivative needs them; mask (or NULL) the dropout mask drawn with key;
 * Z16 (or NULL) Z rounded to bf16, the next layer's GEMM operand. */
typedef struct layer_out {
    float *Z, *pre, *mask;
    mlp_bf16 *Z16;
    uint64_t key;
} layer_out;

/* g's tiles shared by the team, each followed while in cache by bias + activation, the dropout
 * and the bf16 rounding of the tile. Reads net, writes only o's buffers. */
static void forward_layer(const mlp_net *net, size_t l, const mlp_gemm *g, const layer_out *o) {
    const mlp_layer *ly = &net->layers[l];
    const float *b = net->params + ly->b_off;
    const long tiles = (long)mlp_gemm_tiles(g);
#pragma omp for schedule(static) nowait
    for (long t = 0; t < tiles; t++) {
        mlp_box x = mlp_gemm_tile(g, (size_t)t);
        size_t off = x.r0 * ly->out + x.c0;
        mlp_bias_act_block(o->Z + off, o->pre ? o->pre + off : NULL, b + x.c0, x.rows, x.cols,
                           ly->out, ly->act);
        if (o->mask)
            mlp_dropout_block(o->Z + off, o->mask + off, x.rows, x.cols, ly->out, off, o->key,
                              ly->dropout);
        if (o->Z16) mlp_bf16_block(o->Z16 + off, o->Z + off, x.rows, x.cols, ly->out);
    }
#pragma omp barrier
}

/* ---- the first layer cut along its inputs ----
 * Row tiles of a wide first layer (784 inputs, 100 outputs) each read all of W (313 KB), half of
 * it written by the other cores' share of the last update, and the dW tiles then read every row of
 * the batch: ~600 KB crossed between two cores per 784-100-10 step. Cut along the inputs instead,
 * part p computes X[:, K_p] . W[K_p, :] from the rows of W that its dW tile makes and its thread
 * updates; the parts' n x out sums cross instead (docs/SCALING.md). Part 0 writes Z itself, parts 1
 * and 2 the delta buffers 1 and 0, unused until the backward pass: no memory of its own (and with
 * two parts, delta[0] stays free for the output chunks that a step's row blocks make). */

/* Inputs per part at least: shorter K runs OpenBLAS's kernel below the speed the cut saves. */
#define KPART_MIN_IN 256

size_t mlp_kparts_of(size_t in, size_t out, size_t n, size_t W) {
    const size_t P = W % 2 == 0 ? 2 : W % 3 == 0 ? 3 : 1;
    /* A pass that stays on one thread, or weights smaller than the layer's outputs: keep tiles. */
    const double flops = 2.0 * (double)n * (double)in * (double)out;
    if (P == 1 || flops < MLP_PAR_MIN_FLOPS || in < 2 * n || in / P < KPART_MIN_IN) return 1;
    return P;
}

size_t mlp_pass_kparts(const mlp_net *net, size_t n) {
    /* f32 through OpenBLAS, layer tiles: the batch split and the oneDNN routes keep their own. */
    if (net->prec != MLP_PRECISION_F32 || net->dnnl || mlp_dnnl_f32_wanted() ||
        mlp_pass_shards(net, n) > 1)
        return 1;
    const mlp_layer *ly = &net->layers[0];
    return mlp_kparts_of(ly->in, ly->out, n, (size_t)mlp_parallel_width());
}

/* Part p's first input: multiples of 8, as the dW tiles' rows (dense.c) fall. */
static size_t kcut(size_t in, size_t p, size_t parts) {
    return p == parts ? in : (in * p / parts + 7) / 8 * 8;
}

/* Its tiles' rows fall anywhere (row unit 1): nothing downstream reads them by tile, and at
 * width 16 the 8-row unit gave a 784-100-10 part tiles of 32 and 8 rows, a modelled 45% against
 * 54% efficiency (scaling_model). */
mlp_gemm mlp_kpart_gemm(const mlp_net *net, const float *X, size_t n, size_t p, size_t P,
                        size_t W) {
    const mlp_layer *ly = &net->layers[0];
    const size_t k0 = kcut(ly->in, p, P), k1 = kcut(ly->in, p + 1, P);
    float *C = p == 0 ? net->out[0] : net->delta[2 - p]; /* part 1 in delta[1]: see run() */
    mlp_gemm g = mlp_gemm_of(false, false, n, ly->out, k1 - k0, 1.0f, X + k0, ly->in,
                             net->params + ly->w_off + k0 * ly->out, ly->out, C, ly->out);
    mlp_gemm_plan_width(&g, 1, false, W / P);
    return g;
}

/* Multiples of MLP_COLSUM_CHUNK: a block makes whole output chunks (their column sums). */
size_t mlp_kpart_rows(size_t n, size_t W) {
    const size_t C = MLP_COLSUM_CHUNK;
    return ((n + W - 1) / W + C - 1) / C * C;
}

/* A narrow layer after the cut (784-100-10's 100 -> 10: 0.4 MFLOP) was one tile on one thread
 * between two barriers; its rows go with the parts' sum of the rows they read. */
size_t mlp_kpart_tail(const mlp_net *net, size_t n, size_t W) {
    size_t l = 1;
    for (; l < net->n_layers; l++) {
        const mlp_layer *ly = &net->layers[l];
        if (2.0 * (double)n * (double)ly->in * (double)ly->out >= MLP_TILE_FLOPS * (double)W) break;
    }
    return l;
}

void mlp_kpart_block(const mlp_net *net, size_t r0, size_t rows, size_t P, bool drop) {
    const mlp_layer *ly = &net->layers[0];
    const size_t off = r0 * ly->out, len = rows * ly->out;
    float *restrict Z = net->out[0] + off;
    for (size_t p = 1; p < P; p++) { /* in part order: the same bits every time */
        const float *restrict S = net->delta[2 - p] + off;
#pragma omp simd
        for (size_t i = 0; i < len; i++) Z[i] += S[i];
    }
    mlp_bias_act_block(Z, net->pre[0] ? net->pre[0] + off : NULL, net->params + ly->b_off, rows,
                       ly->out, ly->out, ly->act);
    if (drop)
        mlp_dropout_block(Z, net->mask[0] + off, rows, ly->out, ly->out, off, mlp_mask_key(net, 0),
                          ly->dropout);
}

void mlp_output_rows(mlp_net *net, size_t r0, size_t rows) {
    const size_t C = MLP_COLSUM_CHUNK, k = net->layers[net->n_layers - 1].out;
    for (size_t c = r0 / C; c * C < r0 + rows; c++)
        mlp_output_chunk(net, net->pass.y, net->pass.y_w, c, net->pass.n, net->delta[0] + c * C * k,
                         net->colsum[0] + c * k);
}

/* The parts' tiles shared by the team, a barrier, then row blocks (as fit's gather cuts the rows)
 * adding the parts, with the epilogue, and taking those rows through the narrow layers after it
 * (and, in a step, the output chunks). Returns the first layer left to the tiles. */
static size_t forward_kparts(mlp_net *net, const float *X, size_t n, bool training) {
    const size_t P = net->pass.kparts, W = (size_t)mlp_parallel_width();
    mlp_gemm g[3];
    size_t first[4] = {0};
    for (size_t p = 0; p < P; p++) {
        g[p] = mlp_kpart_gemm(net, X, n, p, P, W);
        first[p + 1] = first[p] + mlp_gemm_tiles(&g[p]);
    }
    const long tasks = (long)first[P];
#pragma omp for schedule(static) nowait
    for (long t = 0; t < tasks; t++) {
        size_t p = 0;
        while ((size_t)t >= first[p + 1]) p++;
        mlp_gemm_tile(&g[p], (size_t)t - first[p]);
    }
#pragma omp barrier
    const size_t bs = mlp_kpart_rows(n, W), tail = net->pass.ktail;
    const bool drop = training && net->layers[0].dropout > 0.0f;
    const long blocks = (long)((n + bs - 1) / bs);
#pragma omp for schedule(static) nowait
    for (long b = 0; b < blocks; b++) {
        const size_t r0 = (size_t)b * bs, rows = n - r0 < bs ? n - r0 : bs;
        mlp_kpart_block(net, r0, rows, P, drop);
        mlp_rows_forward(net, X, 1, tail, r0, r0 + rows, training);
        if (net->pass.y) mlp_output_rows(net, r0, rows);
    }
#pragma omp barrier
    return tail;
}

void mlp_pass_forward(mlp_net *net, const float *X, size_t n, bool training) {
    if (net->pass.shards > 1) {
        mlp_split_forward(net, X, n, training);
        return;
    }
    const bool h = mlp_pass_bf16(net);
    if (h) round_inputs(net, X, n);
    const float *A = X;
    size_t l0 = 0;
    if (net->pass.kparts > 1) {
        l0 = forward_kparts(net, X, n, training);
        A = net->out[l0 - 1];
    }
    for (size_t l = l0; l < net->n_layers; l++) {
        const bool drop = training && net->layers[l].dropout > 0.0f;
        const layer_out o = {net->out[l], net->pre[l], drop ? net->mask[l] : NULL,
                             h ? net->out16[l] : NULL, drop ? mlp_mask_key(net, l) : 0};
        mlp_gemm g = forward_gemm(net, l, A, h ? mlp_pass_input16(net, l) : NULL, o.Z, n);
        mlp_gemm_f32_dnnl(net, &g);
        forward_layer(net, l, &g, &o);
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
        const layer_out o = {.Z = l + 1 == net->n_layers ? out : scratch + (l % 2) * half};
        const mlp_gemm g = forward_gemm(net, l, A, NULL, o.Z, n);
        forward_layer(net, l, &g, &o);
        A = o.Z;
    }
}
