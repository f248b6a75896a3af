/* bf16 inference (mlp_net_set_predict_precision BF16): the forward pass of a bf16 training step,
 * for mlp_predict. The caller (predict.c) rounds the weights once per call into a buffer of its
 * own: the net's current weights, which a user may have written since the last step. Per block of
 * rows, every layer: Z = A16 . W16 (oneDNN, f32 accumulation), bias + activation in f32, and the
 * hidden layers' outputs rounded to bf16 for the next layer. Blocks are fixed by n and the
 * parallel width, and each runs serially on one thread: the bits do not depend on the thread
 * count. Every buffer belongs to the call, so predictions on several threads stay independent. */
#include "core/core.h"

#include <omp.h>
#include <stdlib.h>

/* Blocks get at least this many rows (fewer rows are mostly a kernel call's overhead). */
#define BLOCK_MIN_ROWS 64

static size_t blocks_of(size_t n) {
    size_t B = (size_t)mlp_parallel_width();
    if (B > n / BLOCK_MIN_ROWS) B = n / BLOCK_MIN_ROWS;
    return B < 1 ? 1 : B;
}

/* A call's buffers: the input rounded (n x in), and per block a region of n x the widest layer
 * rows for the f32 pre-activations and two bf16 halves (a block's rows at its layer's width). */
typedef struct call16 {
    const mlp_net *net;
    const float *X;
    float *out, *Z;
    mlp_bf16 *h[2];
    const mlp_bf16 *w16;
    size_t n, W;
} call16;

/* Rows [r0, r1) through every layer. */
static mlp_status block16(const call16 *c, size_t r0, size_t r1) {
    const mlp_net *net = c->net;
    const size_t rows = r1 - r0, L = net->n_layers, in0 = net->layers[0].in;
    mlp_bf16 *A = c->h[0] + r0 * c->W; /* the block's bf16 operand, at the layer's width */
    mlp_bf16_block(A, c->X + r0 * in0, rows, in0, in0);
    for (size_t l = 0; l < L; l++) {
        const mlp_layer *ly = &net->layers[l];
        float *Z = l + 1 == L ? c->out + r0 * ly->out : c->Z + r0 * c->W;
        mlp_status st =
            mlp_dnnl_shared_gemm(net->infer16, A, c->w16 + ly->w_off, Z, rows, ly->out, ly->in);
        if (st != MLP_OK) return st;
        mlp_bias_act_block(Z, NULL, net->params + ly->b_off, rows, ly->out, ly->out, ly->act);
        if (l + 1 == L) break;
        A = c->h[(l + 1) % 2] + r0 * c->W;
        mlp_bf16_block(A, Z, rows, ly->out, ly->out);
    }
    return MLP_OK;
}

/* The widest of the input and the hidden layers: the row stride of a call's buffers. */
static size_t widest16(const mlp_net *net) {
    size_t w = net->layers[0].in, h = mlp_infer_width(net);
    return h > w ? h : w;
}

/* The kernels of every block shape (at most two row counts), made on the calling thread before
 * the blocks run: a failure there gets its message where the caller reads it. */
static mlp_status prepare(const call16 *c, size_t B) {
    mlp_status st = MLP_OK;
    for (size_t b = 0; b < B && b < 2 && st == MLP_OK; b++) {
        const size_t rows = c->n * (b + 1) / B - c->n * b / B;
        for (size_t l = 0; l < c->net->n_layers && st == MLP_OK; l++) {
            const mlp_layer *ly = &c->net->layers[l];
            st = mlp_dnnl_shared_prepare(c->net->infer16, rows, ly->out, ly->in);
        }
    }
    return st;
}

static mlp_status run_blocks(const call16 *c) {
    const size_t B = blocks_of(c->n);
    mlp_status first = prepare(c, B);
    if (first != MLP_OK) return first;
    const int T = omp_in_parallel() || mlp_forked_child() || B < 2 ? 1
                  : omp_get_max_threads() < (int)B                 ? omp_get_max_threads()
                                                                   : (int)B;
#pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
    for (long b = 0; b < (long)B; b++) {
        const size_t r0 = c->n * (size_t)b / B, r1 = c->n * ((size_t)b + 1) / B;
        unsigned fp = mlp_fp_begin();
        mlp_status st = block16(c, r0, r1);
        mlp_fp_end(fp);
        mlp_status ok = MLP_OK; /* the first failure stays (an atomic: no named critical) */
        if (st != MLP_OK)
            __atomic_compare_exchange_n(&first, &ok, st, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    /* A block's own message went to its thread's error slot (a scratchpad or a oneDNN run). */
    if (first != MLP_OK)
        return mlp_fail(first, "mlp_predict: bf16 inference failed (out of memory for a "
                               "scratchpad, or a oneDNN error)");
    return MLP_OK;
}

mlp_status mlp_infer16(const mlp_net *net, const float *X, size_t n, float *out,
                       const mlp_bf16 *w16) {
    const size_t W = widest16(net);
    mlp_status st = MLP_OK;
    /* n x W floats for Z, and 2 x n x W bf16 for the operands: 2 n W floats in all */
    float *buf = mlp_alloc_array(n, 2 * W * sizeof(float), "bf16 inference", &st);
    if (!buf) return st;
    mlp_bf16 *h = (mlp_bf16 *)(buf + n * W);
    const call16 c = {net, X, out, buf, {h, h + n * W}, w16, n, W};
    st = run_blocks(&c);
    free(buf);
    return st;
}
