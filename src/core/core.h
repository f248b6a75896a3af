/* The step engine (src/core/): the mlp_net struct, its passes, GEMM tiles, activations, losses,
 * the optimizer and inference. Seen by core's own files, the layers above it (fit, io) and
 * white-box tests; it sees base/ only. The training state's seam for fit, io and mpi is
 * core/state.h. */
#ifndef MLP_CORE_H
#define MLP_CORE_H

#include "base/base.h"
#include "core/state.h"
#include "mlp/fit.h"
#include "mlp/mlp.h"

#include <stdarg.h>
#include <stdbool.h>

/* Hot elementwise kernels are compiled for several ISA levels and chosen at load time (ifunc):
 * the library is built for baseline x86-64, but the machine usually has AVX2 or AVX-512. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MLP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MLP_CLONES
#endif

/* Row chunk for deterministic column sums: partial sums are taken over fixed blocks of rows and
 * then added in block order, so the result does not depend on the thread count. */
#define MLP_COLSUM_CHUNK 16
/* Where piece p of n rows cut into `parts` starts (p = parts: n): n p / parts rounded up to a
 * multiple of MLP_COLSUM_CHUNK, so that a chunk's column sums belong to one piece. The bf16 dW
 * parts (backward.c) and the batch split's shards (shard.c) cut the batch this way. */
static inline size_t mlp_row_cut(size_t n, size_t p, size_t parts) {
    size_t r = (n * p / parts + MLP_COLSUM_CHUNK - 1) / MLP_COLSUM_CHUNK * MLP_COLSUM_CHUNK;
    return p == parts || r > n ? n : r;
}

/* ---- parallel plan (plan.c) ---- */
/* The parallel width: how many tiles a GEMM may be cut into. The machine's online cores (not the
 * thread count, not the affinity mask), at most 64, or MLP_PARALLEL_WIDTH from the environment;
 * read once. Results depend on it, never on the thread count. */
int mlp_parallel_width(void);
/* Threads a pass over n rows of net pays for: 1 when called inside a parallel region or when the
 * work is too small to share (see plan.c for the measured cost model), else at most the calling
 * thread's OpenMP setting. */
int mlp_pass_threads(const mlp_net *net, size_t n);
/* The team a training step may use (mlp_pass_threads, a batch split from
 * MLP_TUNED_SPLIT_MIN_FLOPS): tune.c runs it on this or on one thread. */
int mlp_step_team(const mlp_net *net, size_t n);
/* OpenBLAS's OpenMP build threads a call whenever omp_get_max_threads() > 1 outside an active
 * parallel region; mlp's tiles must run serially. These bracket serial work: begin returns the
 * setting to restore. */
int mlp_blas_serial_begin(void);
void mlp_blas_serial_end(int saved);
/* Denormals flushed to zero (FTZ + DAZ) for the duration of a pass, on the thread that calls it;
 * begin returns the floating-point state that end restores, so nothing leaks into the caller's
 * code or into other users of OpenMP's pool threads. Why: on Intel cores every FMA with a denormal
 * operand takes a microcode assist; a saturating softmax makes such values, and a training step
 * then ran 1.9x slower (784-48-10, measured). Values below FLT_MIN (1.2e-38) do not matter to
 * training; TensorFlow flushes them the same way. No-op off x86. */
unsigned mlp_fp_begin(void);
void mlp_fp_end(unsigned saved);

/* ---- tiled GEMM (dense.c), row-major; each tile is one serial cblas_sgemm ---- */
/* A tile gets at least this much work (flops): below it a tile's packing and call overhead is a
 * large share of its time. */
#ifndef MLP_TILE_FLOPS
#define MLP_TILE_FLOPS 1.0e6
#endif
/* A pass uses more than one thread only if its largest GEMM has at least this many flops: the
 * measured crossover on the 2-core machine (1 vs 2 threads, step of 784-H-10 at batch 200:
 * 7.5 MFLOP 0.89x, 10 MFLOP 1.47x; 64-H-10 at batch 400: 6.6 MFLOP 0.88x, 9.8 MFLOP 1.16x). */
#ifndef MLP_PAR_MIN_FLOPS
#define MLP_PAR_MIN_FLOPS 8.0e6
#endif
/* A batch-split pass that is not a measured training step (a forward pass, inference) uses more
 * than one thread only if it has this many flops: a fixed threshold has to be right in every
 * state of the machine, and the digits step (4.4 MFLOP), 1.5x faster on 2 threads in bench_mlp,
 * made `mlp train` 0.70-0.75x slower in 3 of 10 runs on the 2-vCPU VM. A 64-256-128-10 step
 * (61 MFLOP) gains 1.59x (tiles: 1.40x). See docs/SCALING.md. */
#ifndef MLP_SPLIT_MIN_FLOPS
#define MLP_SPLIT_MIN_FLOPS 8.0e6
#endif
/* A training step measures its team against one thread (tune.c), so its batch split may try a
 * team from this size on: the digits step (4.4 MFLOP) runs 1.4-1.5x faster on 2 threads in most
 * spells, and one thread where it does not. */
#ifndef MLP_TUNED_SPLIT_MIN_FLOPS
#define MLP_TUNED_SPLIT_MIN_FLOPS 1.0e6
#endif
/* bfloat16, stored as its bits: the upper half of an IEEE float. */
typedef uint16_t mlp_bf16;
/* The bf16 GEMM provider (gemm_dnnl.c): a net's oneDNN primitives, one per GEMM tile. */
typedef struct mlp_dnnl mlp_dnnl;

typedef struct mlp_gemm {
    bool trans_a, trans_b;
    size_t m, n, k;
    float alpha;
    const float *A;
    size_t lda;
    const float *B;
    size_t ldb;
    float beta;
    float *C;
    size_t ldc;
    size_t tm, tn, tiles_m, tiles_n; /* the tile grid (mlp_gemm_plan) */
    /* dnnl set: tiles run through oneDNN, on Ah and Bh (the operands rounded to bf16, in A's and
     * B's layouts) or, with Ah NULL, on A and B in f32; alpha 1 and beta 0 only.
     * slot tells apart GEMMs of one shape that run at the same time (the parts of a dW). */
    const mlp_dnnl *dnnl;
    const mlp_bf16 *Ah, *Bh;
    size_t slot;
} mlp_gemm;
/* A block of a matrix: rows [r0, r0 + rows), columns [c0, c0 + cols). */
typedef struct mlp_box {
    size_t r0, rows, c0, cols;
} mlp_box;
/* C (m x n) = alpha op(A) . op(B), op(A) m x k and op(B) k x n, row-major with leading
 * dimensions as stored; beta 0. Inline: a call per layer and pass builds one, and building it
 * out of line, or zero-filled then overwritten, cost 10-15% of a batch-1 prediction (measured). */
static inline mlp_gemm mlp_gemm_of(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                                   const float *A, size_t lda, const float *B, size_t ldb, float *C,
                                   size_t ldc) {
    /* Every field spelled out: a designated initializer made GCC clear the struct with rep stos
     * and then overwrite it, and the mixed-size stores stalled the loads that followed. */
    mlp_gemm g = {ta, tb,  m, n, k, alpha, A,    lda,  B,    ldb, 0.0f,
                  C,  ldc, 0, 0, 0, 0,     NULL, NULL, NULL, 0};
    return g;
}
/* Z (n x out) = X (n x in) . W (in x out) */
static inline mlp_gemm mlp_gemm_forward(float *Z, const float *X, const float *W, size_t n,
                                        size_t in, size_t out) {
    return mlp_gemm_of(false, false, n, out, in, 1.0f, X, in, W, out, Z, out);
}
/* dW (in x out) = scale * X^T (in x n) . dZ (n x out) + beta * dW */
static inline mlp_gemm mlp_gemm_weights(float *dW, const float *X, const float *dZ, size_t n,
                                        size_t in, size_t out, float scale, float beta) {
    mlp_gemm g = mlp_gemm_of(true, false, in, out, n, scale, X, in, dZ, out, dW, out);
    g.beta = beta;
    return g;
}
/* dX (n x in) = dZ (n x out) . W^T (out x in) */
static inline mlp_gemm mlp_gemm_input(float *dX, const float *dZ, const float *W, size_t n,
                                      size_t in, size_t out) {
    return mlp_gemm_of(false, true, n, in, out, 1.0f, dZ, out, W, out, dX, in);
}
/* Makes g a bf16 GEMM: its tiles run through dnnl on Ah and Bh, the operands rounded, in A's and
 * B's layouts. */
void mlp_gemm_bf16(mlp_gemm *g, const mlp_dnnl *dnnl, const mlp_bf16 *Ah, const mlp_bf16 *Bh);
/* Sets the tile grid from the shape and mlp_parallel_width: tile rows are multiples of row_unit
 * (except the last), whole_rows keeps every tile full width (for softmax). */
void mlp_gemm_plan(mlp_gemm *g, size_t row_unit, bool whole_rows);
/* The same for a given width (the scaling model plans for machines of other sizes). */
void mlp_gemm_plan_width(mlp_gemm *g, size_t row_unit, bool whole_rows, size_t width);
size_t mlp_gemm_tiles(const mlp_gemm *g);
/* The box of tile t (0 .. tiles-1) in C. */
mlp_box mlp_gemm_box(const mlp_gemm *g, size_t t);
/* Computes tile t and returns its box. */
mlp_box mlp_gemm_tile(const mlp_gemm *g, size_t t);

/* ---- bf16 (bf16.c) and its GEMM provider (gemm_dnnl.c) ---- */
/* f rounded to bfloat16 (to nearest even on the dropped 16 bits, as PyTorch and oneDNN round;
 * NaN stays a quiet NaN). Inline and branch-free, so that loops over it vectorise. */
static inline mlp_bf16 mlp_bf16_of(float f) {
    uint32_t u;
    __builtin_memcpy(&u, &f, sizeof u);
    const uint32_t nan = (u & 0x7fffffffu) > 0x7f800000u;
    const uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    return (mlp_bf16)(nan ? (u >> 16) | 0x40u : r);
}
/* dst = src rounded, on a rows x cols block with leading dimension ld (both). */
void mlp_bf16_block(mlp_bf16 *dst, const float *src, size_t rows, size_t cols, size_t ld);
/* True where OpenBLAS runs SSE-only kernels on a CPU with AVX2 (its fallback on Intel CPUs it
 * does not know): the f32 GEMMs of training passes then go through oneDNN (decided once). */
bool mlp_dnnl_f32_wanted(void);
/* Tests only (test_alloc_fail): f32 stays on OpenBLAS whatever the CPU. oneDNN is C++ and throws
 * std::bad_alloc through its C API when an allocation fails, which no C caller can catch: the
 * sweep of the library's own allocation failures must not reach it. */
void mlp_dnnl_f32_keep_openblas(void);
/* True if bf16 GEMMs can run here; *isa names oneDNN's instruction set, or why not. */
bool mlp_dnnl_bf16_supported(const char **isa);
mlp_status mlp_dnnl_create(mlp_dnnl **out);
void mlp_dnnl_free(mlp_dnnl *d);
/* The kernels of bf16 inference (predict16.c): a cache that concurrent predictions share, made
 * and searched under its own lock; each call runs a primitive with memory objects and a
 * scratchpad of its own, so several threads may run one primitive at once. */
typedef struct mlp_dnnl_shared mlp_dnnl_shared;
mlp_status mlp_dnnl_shared_create(mlp_dnnl_shared **out);
void mlp_dnnl_shared_free(mlp_dnnl_shared *s);
/* Makes the kernel of a rows x cols x k shape if the cache lacks it. Any thread. */
mlp_status mlp_dnnl_shared_prepare(mlp_dnnl_shared *s, size_t rows, size_t cols, size_t k);
/* C (rows x cols, f32, leading dimension cols) = A (rows x k, bf16) . B (k x cols, bf16), one
 * serial oneDNN matmul; the kernel is made on first use of the shape. Any thread. */
mlp_status mlp_dnnl_shared_gemm(mlp_dnnl_shared *s, const mlp_bf16 *A, const mlp_bf16 *B, float *C,
                                size_t rows, size_t cols, size_t k);
/* Creates the primitives of g's tiles that the cache lacks (outside any parallel region; the
 * only call that changes the cache). */
mlp_status mlp_dnnl_prepare(mlp_dnnl *d, const mlp_gemm *g);
/* Computes tile t (box b) of a prepared g; any thread, serially. */
void mlp_dnnl_tile(const mlp_dnnl *d, const mlp_gemm *g, size_t t, mlp_box b);

/* ---- precision (precision.c) ---- */
/* Allocates and carves the workspace's bf16 part for n rows (a BF16 net growing its workspace). */
mlp_status mlp_bf16_workspace(mlp_net *net, size_t n);
/* Frees the bf16 state (kernel cache, weights' copy, workspace part): a net back to F32 or freed.
 */
void mlp_bf16_free(mlp_net *net);
/* The primitives of every GEMM tile of a training pass of n rows (pass.c), for a BF16 net: the
 * only place they are created, outside the parallel region. */
mlp_status mlp_pass_prepare(mlp_net *net, size_t n);

/* ---- activations (activation.c), on blocks with leading dimension ld ---- */
/* Z = f(Z + b) in place on rows x cols (b: cols). For activations whose derivative is not a
 * function of the output (mlp_act_needs_pre: GELU), pre (same layout) receives Z + b; for the
 * others pre is ignored (may be NULL). Softmax needs whole rows (cols == ld). */
void mlp_bias_act_block(float *Z, float *pre, const float *b, size_t rows, size_t cols, size_t ld,
                        mlp_activation act);
/* True if the derivative needs the pre-activation (GELU). */
bool mlp_act_needs_pre(mlp_activation act);
/* The backward pass's fused elementwise step on a block whose first row is a multiple of
 * MLP_COLSUM_CHUNK, chunk by chunk:
 *   G = (Y ? A - Y : G) * f'(A)   (softmax: its Jacobian, G_i = A_i (G_i - sum_j G_j A_j))
 *   partials[c] = column sums of chunk c's rows of G (partials: leading dimension ldp)
 * Output layer: Y = targets, A = P (act IDENTITY for the matching loss pairs). Hidden layer:
 * Y = NULL, G = D . W^T, A = the layer's output. */
void mlp_delta_block(float *G, const float *A, const float *Y, const float *pre, size_t rows,
                     size_t cols, size_t ld, mlp_activation act, float *partials, size_t ldp,
                     const float *mask, float keep);
/* The output layer's mlp_delta_block (Y set, no mask) with per-row sample weights w (rows
 * entries, or NULL): G = (P - Y) * w_row * f'(P); with huber_delta > 0 (MLP_LOSS_HUBER) P - Y is
 * clipped to [-huber_delta, huber_delta] first (Huber's derivative). */
void mlp_output_delta_block(float *G, const float *P, const float *Y, const float *w,
                            const float *pre, size_t rows, size_t cols, size_t ld,
                            mlp_activation act, float huber_delta, float *partials, size_t ldp);
/* Inverted dropout on a block of a layer's outputs: mask (same layout) receives 0 or 1/(1-p) per
 * element, drawn from (key, index0 + row * ld + col) alone, and A is multiplied by it. With a
 * mask, mlp_delta_block computes G * mask * f'(A * keep), keep = 1 - p (A holds the rescaled
 * outputs). */
void mlp_dropout_block(float *A, float *mask, size_t rows, size_t cols, size_t ld, size_t index0,
                       uint64_t key, float p);
/* db (m) = scale * sum of the chunks' partials (chunks x m), added in chunk order: the same bits
 * for any tiling and thread count. */
void mlp_colsum_reduce(float *db, const float *partials, size_t chunks, size_t m, float scale);
/* True if every element of the rows x cols block (leading dimension ld) is finite. */
bool mlp_block_finite(const float *x, size_t rows, size_t cols, size_t ld);
/* D += c * W on a block (both with leading dimension ld) and true if every result is finite: the
 * L2 gradient term and the finiteness check in the one pass over a fresh dW tile. */
bool mlp_add_scaled_finite(float *D, const float *W, float c, size_t rows, size_t cols, size_t ld);

/* D = s D + c W on a block and true if every result is finite: a bf16 dW tile's 1/n scale (its
 * GEMM leaves it out) and L2 term in one pass. */
bool mlp_scale_add_finite(float *D, float s, const float *W, float c, size_t rows, size_t cols,
                          size_t ld);

/* ---- losses (loss.c) ---- */
/* Per-row data loss of outputs P and targets Y (rows x k) into row_loss, times the row's sample
 * weight w[i] when w (rows entries) is not NULL:
 *   SOFTMAX_CE: -sum y log(clip(p))
 *   LOGISTIC:   -sum [y log(clip(p)) + (1-y) log(1-clip(p))]
 *   SQUARED:    sum (p - y)^2
 *   POISSON:    sum [y log(y/p) - y + p]   (y log(y/p) = 0 where y = 0, scipy's xlogy)
 *   HUBER:      sum [d^2/2 if |d| <= delta else delta (|d| - delta/2)], d = p - y
 * clip to [FLT_EPSILON, 1 - FLT_EPSILON]; delta: huber_delta (HUBER only). */
void mlp_loss_rows(const float *P, const float *Y, const float *w, size_t rows, size_t k,
                   mlp_loss loss, float huber_delta, float *row_loss);
/* The data term as scikit-learn reports it: the n row losses summed in row order (in double)
 * over norm, or over 2 norm k for SQUARED, over norm k for POISSON and HUBER (the mean over rows
 * and outputs: PyTorch's HuberLoss, scikit-learn's mean_poisson_deviance / 2). norm is the row
 * count, or the sum of the sample weights when the row losses were weighted (row_loss[i] = w_i
 * loss_i). */
double mlp_loss_total(const float *row_loss, size_t n, size_t k, mlp_loss loss, double norm);

/* ---- the network (net.c) ---- */
typedef struct mlp_layer {
    size_t in, out;
    mlp_activation act;
    size_t w_off, b_off; /* offsets of W and b in the flat parameter/gradient buffers */
    size_t l2_first;     /* index of this layer's first L2 chunk (MLP_L2_CHUNK weights each) */
    float dropout;       /* probability of dropping each output of this (hidden) layer */
} mlp_layer;

/* The pending forward/backward pair. Only train.c writes it (mlp_pass_reset elsewhere). */
typedef struct mlp_pass {
    const float *x; /* input of the pending forward pass, NULL if none */
    size_t n;       /* its rows */
    bool have_grads;
    bool dropout;  /* the forward pass applied dropout (a training pass of a net that has it) */
    int nonfinite; /* MLP_NONFINITE_* bits, set by any thread of the pass */
    size_t shards; /* > 1: the pass runs as a batch split (shard.c); set with n */
    size_t kparts; /* > 1: the first layer's forward is cut along its inputs (pass.c); with n */
    size_t ktail;  /* with kparts > 1: the first layer after the cut run as tiles again */
    /* A training step whose forward ends in the input cut's row blocks makes its output chunks
     * there (pass.c): its targets and sample weights (or NULL), NULL otherwise. Set before the
     * region. */
    const float *y, *y_w;
} mlp_pass;

/* The team of a net's training steps, chosen by measuring it against one thread (tune.c; only
 * it writes this). Steps of n rows are measured; smaller ones run the current choice. */
#define MLP_TUNE_PROBE 3
typedef struct mlp_tune {
    size_t n;                      /* the batch size measured: the largest seen */
    bool one;                      /* the current choice: one thread (else the team) */
    int left;                      /* steps left in a probe of the other choice */
    unsigned since, period;        /* measured steps since the last probe, and between probes */
    double recent[MLP_TUNE_PROBE]; /* the last steps on the current choice (seconds) */
    double probe[MLP_TUNE_PROBE];  /* the probe's steps */
    bool pending;                  /* the last step is measured: it started at `start` */
    double start;
    uint64_t steps, team_steps; /* steps that had a team, and those that ran on it */
} mlp_tune;
/* The threads a training step of n rows starting at `now` (seconds) runs on, given the team its
 * plan may use; ends the measurement of the step before (its start to this start). */
int mlp_tune_team(mlp_tune *t, int team, size_t n, double now);

typedef struct mlp_net {
    size_t n_layers;
    mlp_layer *layers;
    mlp_loss loss;
    float huber_delta; /* MLP_LOSS_HUBER's delta (> 0); 0 for the other losses */
    mlp_init init;
    uint64_t seed;

    size_t n_params;
    float *params; /* n_params: all W and b */
    float *grads;  /* n_params, same layout */
    float *opt_m;  /* n_params: Adam first moment, or SGD velocity */
    float *opt_v;  /* n_params: Adam second moment */
    mlp_optimizer opt;
    uint64_t step; /* optimizer updates applied */
    size_t l2_chunks;
    double *l2_parts; /* l2_chunks partial sums of squares of the weights */

    /* Workspace for up to cap rows, sized once (mlp_net_reserve) and reused by every step. */
    size_t cap;
    float *ws;        /* one allocation carved into the views below */
    float **out;      /* n_layers: layer outputs A_l (n x out_l); out[L-1] is the net's output */
    float **pre;      /* n_layers: pre-activations, only for layers with mlp_act_needs_pre */
    float **mask;     /* n_layers: dropout masks (0 or 1/keep), only for layers with dropout */
    float *delta[2];  /* ping-pong n x max_width buffers for backward deltas */
    float *colsum[2]; /* ping-pong column-sum partials of the deltas (chunks x max_width) */
    float *row_loss;  /* n */

    mlp_pass pass;
    mlp_tune tune;

    /* Precision of the training passes' GEMMs (mlp_net_set_precision; never AUTO). With BF16: */
    mlp_precision prec;
    mlp_dnnl *dnnl;   /* the oneDNN primitives of the passes' GEMM tiles */
    mlp_bf16 *w16;    /* n_params: the parameters rounded, made by the update that writes them */
    bool w16_fresh;   /* w16 matches params (cleared wherever params may be written otherwise) */
    mlp_bf16 *ws16;   /* the workspace's bf16 part, carved into: */
    mlp_bf16 *x16;    /* the input batch, rounded (n x in) */
    mlp_bf16 **out16; /* n_layers: the hidden layers' outputs, rounded (NULL for the last) */
    mlp_bf16 *delta16[2]; /* the deltas, rounded (n x max_width each) */
    float *dw_parts;     /* the partial dW of a dW cut along the batch, beyond the first (pass.c) */
    size_t dw_parts_max; /* how many parts a dW may have (1 + the partial buffers) */
    /* Inference in bf16 (predict16.c): pred_prec BF16, its kernels in infer16. */
    mlp_precision pred_prec;
    mlp_dnnl_shared *infer16;
    /* The batch split's unscaled gradients of shards 1 .. shard_cap - 1 (shard.c). */
    float *shard_dw;
    size_t shard_cap;
} mlp_net;

/* What a net of L layers (widths sizes[0..L], activations acts) allocates, in bytes, for budgets
 * checked before anything is: *net_bytes its parameter-sized buffers, *ws_bytes its workspace for
 * `rows` rows, each hidden layer with a dropout mask if `dropout`. In double: the figures are
 * only compared with a limit, and a double does not overflow. */
void mlp_layers_bytes(size_t L, const size_t *sizes, const mlp_activation *acts, bool dropout,
                      size_t rows, double *net_bytes, double *ws_bytes);
/* The same for an existing net's workspace (its own activations and dropout). */
double mlp_net_workspace_bytes(const mlp_net *net, size_t rows);
/* Grows the workspace to hold n rows (no-op if it already does); growing ends a pending pass. */
mlp_status mlp_net_grow_workspace(mlp_net *net, size_t n);
/* Checks a batch argument pair; returns MLP_OK or a detailed failure. */
mlp_status mlp_check_batch(const mlp_net *net, const void *X, size_t n, const char *fn);

/* ---- passes (pass.c): the phases of a step, run by every thread of a region (or serially) ---- */
/* Weights per L2 chunk: the sum of squares is taken per chunk and the chunks added in order. */
#define MLP_L2_CHUNK 16384
/* Forward pass of n rows of X through every layer into the workspace; with training, the hidden
 * layers' dropout is applied (masks keyed by the net's seed, its step count and the layer). */
void mlp_pass_forward(mlp_net *net, const float *X, size_t n, bool training);
/* Inference: the forward pass of n rows of X with no dropout, writing nothing of net (several
 * threads may run it on one net at once, each with its own buffers): the hidden layers' outputs
 * go to two ping-pong halves of scratch (2 x n x mlp_infer_width floats), the last layer's to
 * out (n x output width). */
void mlp_pass_infer(const mlp_net *net, const float *X, size_t n, float *scratch, float *out);
/* bf16 inference of n rows of X into out (n x output width): mlp_predict's path when the net's
 * predict precision is BF16 (predict16.c). */
mlp_status mlp_infer16(const mlp_net *net, const float *X, size_t n, float *out,
                       const mlp_bf16 *w16);
/* The widest hidden layer (0 for a net without one). */
size_t mlp_infer_width(const mlp_net *net);
/* Output delta, row losses and the L2 chunks, then the layers' gradients, from the pending
 * forward pass of n rows; the L2 gradient term alpha_n * W is included when alpha_n != 0. With
 * sample weights w (n, or NULL) the row losses and the delta rows are multiplied by them. */
void mlp_pass_backward(mlp_net *net, const float *Y, const float *w, float inv_n, float alpha_n);
/* Pieces of the passes that the batch split (shard.c) shares: the key of layer l's dropout masks
 * in this step (pass.c), output chunk c (row losses; its delta rows into D and their column-sum
 * partials into part) and an L2 chunk (backward.c). */
uint64_t mlp_mask_key(const mlp_net *net, size_t l);
void mlp_output_chunk(mlp_net *net, const float *Y, const float *w, size_t c, size_t n, float *D,
                      float *part);
void mlp_l2_chunk(mlp_net *net, size_t c);
/* ---- the batch split (shard.c) ---- */
/* How many shards of rows a training pass of n rows is cut into: 1 for the layer-tiled passes.
 * Depends on the net's shape and precision, n and the parallel width only. */
size_t mlp_pass_shards(const mlp_net *net, size_t n);
/* The bytes of the shards' gradient buffers a net of n_params parameters may allocate for a
 * batch of rows (its f32 passes; 0 for a net the split does not take): for memory budgets. */
double mlp_split_bytes(double n_params, size_t rows);
/* The shards' gradient buffers for up to `shards` shards (outside any region). */
mlp_status mlp_split_reserve(mlp_net *net, size_t shards);
/* Rows [r0, r1) through layers [l0, l1) (X the input when l0 = 0): Z_l = f(A_{l-1} . W_l + b_l),
 * one serial GEMM per layer, with dropout in training. */
void mlp_rows_forward(const mlp_net *net, const float *X, size_t l0, size_t l1, size_t r0,
                      size_t r1, bool training);
/* mlp_pass_forward and mlp_pass_backward of a pass with pass.shards > 1. */
void mlp_split_forward(mlp_net *net, const float *X, size_t n, bool training);
void mlp_split_backward(mlp_net *net, const float *Y, const float *w, float inv_n, float alpha_n);
/* ---- the first layer cut along its inputs (pass.c) ---- */
/* How many parts the first layer's forward GEMM of a pass of n rows is cut into along its inputs
 * (1: row tiles, as every other layer). Depends on the net's shape and precision, n and the
 * parallel width only. */
size_t mlp_pass_kparts(const mlp_net *net, size_t n);
/* The rule on the layer's shape and the width W alone (mlp_pass_kparts adds the route). */
size_t mlp_kparts_of(size_t in, size_t out, size_t n, size_t W);
/* Part p of P of that GEMM at width W, tiled for W / P; the rows of a block of the parts' sum;
 * the sum of P parts over rows [r0, r0 + rows) with the layer's epilogue (dropout when drop).
 * For the pass and the scaling model. */
mlp_gemm mlp_kpart_gemm(const mlp_net *net, const float *X, size_t n, size_t p, size_t P, size_t W);
size_t mlp_kpart_rows(size_t n, size_t W);
void mlp_kpart_block(const mlp_net *net, size_t r0, size_t rows, size_t P, bool drop);
/* The first layer after the input cut that runs as tiles again: the ones before it (from layer
 * 1) are too small to get a tile per core and run by rows in the parts' sum phase. */
size_t mlp_kpart_tail(const mlp_net *net, size_t n, size_t W);
/* The output chunks of rows [r0, r0 + rows) (whole chunks) from pass.y and pass.y_w. */
void mlp_output_rows(mlp_net *net, size_t r0, size_t rows);
/* The primitives of layer l's backward GEMMs (backward.c), for mlp_pass_prepare. */
mlp_status mlp_prepare_backward(mlp_net *net, size_t l, const float *A, size_t n, int cur);
/* Which route a pass's GEMMs take (the bf16 training passes, or f32 through oneDNN where
 * OpenBLAS fell back to SSE: train.c made the kernel cache), and the bf16 copy of layer l's
 * input (the batch for layer 0). */
static inline bool mlp_pass_bf16(const mlp_net *net) {
    return net->prec == MLP_PRECISION_BF16;
}
static inline bool mlp_pass_f32_dnnl(const mlp_net *net) {
    return net->prec == MLP_PRECISION_F32 && net->dnnl;
}
static inline const mlp_bf16 *mlp_pass_input16(const mlp_net *net, size_t l) {
    return l == 0 ? net->x16 : net->out16[l - 1];
}
/* g, planned for f32, run by oneDNN's f32 matmul: alpha 1 (the dW epilogue applies 1/n). */
static inline void mlp_gemm_f32_dnnl(const mlp_net *net, mlp_gemm *g) {
    if (!mlp_pass_f32_dnnl(net)) return;
    g->dnnl = net->dnnl;
    g->alpha = 1.0f;
}
/* The L2 chunks alone (for mlp_loss_value and MPI). */
void mlp_pass_l2(mlp_net *net);
/* grads = src + (alpha / norm) W on the weights, src on the biases (src may be grads): the L2
 * gradient term added after a data-parallel reduction. */
void mlp_l2_grad(mlp_net *net, const float *src, size_t norm);
/* Sum of squares of all weights (not biases): the chunks added in order. The one L2 definition:
 * the loss adds 0.5 * alpha * this / n. */
double mlp_l2_sumsq(const mlp_net *net);
/* The optimizer's update over the flat buffer, one share per thread (optim.c); lr_t from
 * mlp_optim_begin. Flags net->pass.nonfinite if it made a parameter or moment non-finite. */
void mlp_pass_update(mlp_net *net, float lr_t);
/* The calling thread's share of count elements of the flat buffers, as mlp_pass_update takes it:
 * contiguous, edges on multiples of 16 floats; false if it has none. */
bool mlp_thread_share(size_t count, size_t *i0, size_t *len);
/* Flags MLP_NONFINITE_GRAD if a gradient is not finite (fixed chunks shared by the team). */
void mlp_pass_check_grads(mlp_net *net);
/* What a pass found not finite: a loss term or gradient (before any update: the update is then
 * skipped), or a value the update itself produced from finite gradients. Two bits, so that the
 * update's own flag cannot change another thread's decision to update. */
#define MLP_NONFINITE_GRAD 1
#define MLP_NONFINITE_UPDATE 2
static inline void mlp_pass_flag(mlp_net *net, int bit) {
    __atomic_fetch_or(&net->pass.nonfinite, bit, __ATOMIC_RELAXED);
}
static inline bool mlp_pass_flagged(const mlp_net *net, int bit) {
    return (__atomic_load_n(&net->pass.nonfinite, __ATOMIC_RELAXED) & bit) != 0;
}
/* ---- naming a non-finite value (nonfinite.c), on the failure path only ---- */
/* The status and message for a step that met a non-finite value: MLP_ERR_ARG naming the row and
 * column of X (n x input width) or Y (n x output width) if they hold one, else MLP_ERR_DIVERGED
 * naming the first layer whose gradient (updated = false) or parameters (updated = true) are not
 * finite, or the loss. */
mlp_status mlp_nonfinite_status(const mlp_net *net, const float *X, const float *Y, size_t n,
                                double loss, bool updated, const char *fn);

/* ---- pass state (train.c; ends through mlp_pass_reset, state.h) ---- */
/* BLAS dimensions are int: MLP_ERR_OVERFLOW naming fn if n or a layer width does not fit. */
mlp_status mlp_check_int_dims(const mlp_net *net, size_t n, const char *fn);
/* ---- optimizer (optim.c) ---- */
/* The step size of the next update (Adam's bias correction for step count + 1 folded in). */
float mlp_optim_begin(const mlp_net *net);
/* Counts an applied update (the step count). */
void mlp_optim_commit(mlp_net *net);

/* ---- tasks (task.c) ---- */
/* mlp_task_output with the calling function's name in its messages. */
mlp_status mlp_task_output_named(mlp_task task, size_t count, const char *fn, mlp_activation *act,
                                 mlp_loss *loss, size_t *width);

/* ---- labels (one definition for train.c, fit and the CLI) ---- */
/* A single logistic output means class 1 when it is at least this. */
#define MLP_POSITIVE_THRESHOLD 0.5f
/* Label of one output row of width k: the argmax (ties: the lowest index); for k == 1 the
 * output thresholded at MLP_POSITIVE_THRESHOLD. */
static inline int32_t mlp_row_label(const float *p, size_t k) {
    if (k == 1) return p[0] >= MLP_POSITIVE_THRESHOLD;
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (p[j] > p[best]) best = j;
    return (int32_t)best;
}

#endif /* MLP_CORE_H */
