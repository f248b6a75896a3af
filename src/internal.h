/* Internal declarations shared by the library's source files (and white-box tests). */
#ifndef MLP_INTERNAL_H
#define MLP_INTERNAL_H

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

/* Elementwise loops with fewer elements than this run on the calling thread only: below it the
 * cost of waking the OpenMP team exceeds the work. Measured on a quiet 2-vCPU machine with the
 * cheapest pass (bias + ReLU, bench_mlp omp_crossover): 1 vs 2 threads 0.59 vs 0.60 us at 4096
 * elements, 0.89 vs 0.77 us at 8192, 1.44 vs 1.08 us at 16384. */
#define MLP_OMP_MIN_ELEMS 8192

/* Row chunk for deterministic column sums: partial sums are taken over fixed blocks of rows and
 * then added in block order, so the result does not depend on the thread count. */
#define MLP_COLSUM_CHUNK 64

/* ---- errors (error.c) ---- */
/* Records a detailed message for the calling thread and returns status. */
mlp_status mlp_fail(mlp_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mlp_clear_error(void);

/* ---- memory limit (limits.c) ---- */
/* MLP_OK if a buffer of `bytes` is within mlp_get_memory_limit(), else MLP_ERR_LIMIT with a
 * message naming `what`. Call before allocating anything whose size comes from the caller's
 * input. */
mlp_status mlp_check_alloc(size_t bytes, const char *what);

/* ---- data readers (data.c) ---- */
/* Status and message for a failed gzread on gz (a gzFile; zlib reads plain files too). */
mlp_status mlp_gz_failure(void *gz, const char *path);

/* ---- sizes (net.c) ---- */
/* *out = a * b; false (and *out untouched) on overflow. */
static inline bool mlp_mul_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

/* ---- rng (rng.c): xoshiro256** seeded through splitmix64; deterministic across platforms ---- */
typedef struct mlp_rng {
    uint64_t s[4];
} mlp_rng;
void mlp_rng_seed(mlp_rng *rng, uint64_t seed);
uint64_t mlp_rng_next(mlp_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double mlp_rng_uniform(mlp_rng *rng);
/* Uniform integer in [0, bound), bound > 0, without modulo bias. */
uint64_t mlp_rng_below(mlp_rng *rng, uint64_t bound);

/* ---- dense layer (dense.c): thin wrappers over cblas_sgemm, row-major, W is [in x out] ---- */
/* Z (n x out) = X (n x in) . W (in x out) */
void mlp_dense_forward(float *Z, const float *X, const float *W, size_t n, size_t in, size_t out);
/* dW (in x out) = scale * X^T (in x n) . dZ (n x out) + beta * dW */
void mlp_dense_backward_weights(float *dW, const float *X, const float *dZ, size_t n, size_t in,
                                size_t out, float scale, float beta);
/* dX (n x in) = dZ (n x out) . W^T (out x in) */
void mlp_dense_backward_input(float *dX, const float *dZ, const float *W, size_t n, size_t in,
                              size_t out);

/* ---- activations (activation.c) ---- */
/* In place on Z (n x m): Z = f(Z + b) row by row (bias add and activation in one pass). For
 * activations whose derivative is not a function of the output (mlp_act_needs_pre: GELU), pre
 * must be an n x m buffer and receives Z + b; for the others pre is ignored (may be NULL). */
void mlp_bias_act_forward(float *Z, float *pre, const float *b, size_t n, size_t m,
                          mlp_activation act);
/* In place on G (n x m): G = G * f'(.), the derivative taken from the output A (and pre for GELU).
 * Softmax uses its Jacobian: G_i = A_i (G_i - sum_j G_j A_j). */
void mlp_act_backward(float *G, const float *A, const float *pre, size_t n, size_t m,
                      mlp_activation act);
/* True if the derivative needs the pre-activation (GELU). */
bool mlp_act_needs_pre(mlp_activation act);

/* db (m) = scale * column sums of G (n x m), summed in fixed row chunks (deterministic for any
 * thread count). partials must hold ceil(n / MLP_COLSUM_CHUNK) * m floats. */
void mlp_colsum(float *db, const float *G, size_t n, size_t m, float scale, float *partials);
/* The backward pass's fused elementwise step, one pass per row chunk:
 *   G = (Y ? A - Y : G) * f'(A),  db = scale * colsum(G)
 * Output layer: Y = targets, A = P (act IDENTITY for the matching loss pairs). Hidden layer:
 * Y = NULL, G = D . W^T, A = the layer's output. Same determinism and partials as mlp_colsum. */
void mlp_delta_colsum(float *G, const float *A, const float *Y, const float *pre, size_t n,
                      size_t m, mlp_activation act, float *db, float scale, float *partials);

/* ---- losses (loss.c) ---- */
/* Data term of the loss for outputs P and targets Y (n x k), as scikit-learn reports it:
 *   SOFTMAX_CE: -(1/n) sum y log(clip(p))
 *   LOGISTIC:   -(1/n) sum [y log(clip(p)) + (1-y) log(1-clip(p))]
 *   SQUARED:    (1/(2nk)) sum (p - y)^2
 * clip to [FLT_EPSILON, 1 - FLT_EPSILON]. row_loss (n floats) is scratch; summation is in row
 * order in double, so the value does not depend on the thread count. */
double mlp_loss_data(const float *P, const float *Y, size_t n, size_t k, mlp_loss loss,
                     float *row_loss);
/* Output delta into D (n x k): P - Y (the gradient with respect to the output pre-activation for
 * the matching pairs softmax+CE, logistic+LOGISTIC, identity+SQUARED; SQUARED with another output
 * activation multiplies by f' afterwards). Not divided by n (scikit-learn's convention). */
void mlp_loss_delta(float *D, const float *P, const float *Y, size_t n, size_t k);

/* ---- the network (net.c) ---- */
typedef struct mlp_layer {
    size_t in, out;
    mlp_activation act;
    size_t w_off, b_off; /* offsets of W and b in the flat parameter/gradient buffers */
} mlp_layer;

typedef struct mlp_net {
    size_t n_layers;
    mlp_layer *layers;
    mlp_loss loss;
    mlp_init init;
    uint64_t seed;

    size_t n_params;
    float *params; /* n_params: all W and b */
    float *grads;  /* n_params, same layout */
    float *opt_m;  /* n_params: Adam first moment, or SGD velocity */
    float *opt_v;  /* n_params: Adam second moment */
    mlp_optimizer opt;
    uint64_t step; /* optimizer updates applied */

    /* Workspace for up to cap rows, sized once (mlp_net_reserve) and reused by every step. */
    size_t cap;
    float *ws;       /* one allocation carved into the views below */
    float **act;     /* n_layers: activations A_l (n x out_l); act[L-1] is the output */
    float **pre;     /* n_layers: pre-activations, only for layers with mlp_act_needs_pre */
    float *delta[2]; /* ping-pong n x max_width buffers for backward deltas */
    float *partials; /* column-sum partials */
    float *row_loss; /* n */

    /* State of the forward/backward pair. */
    const float *fwd_x;
    size_t fwd_n;
    bool have_grads;
} mlp_net;

/* Grows the workspace to hold n rows (no-op if it already does). */
mlp_status mlp_net_ensure(mlp_net *net, size_t n);
/* Checks a batch argument pair; returns MLP_OK or a detailed failure. */
mlp_status mlp_check_batch(const mlp_net *net, const void *X, size_t n, const char *fn);
/* Data loss + L2 term (alpha/(2n)) * sum(W^2) over weights only. */
double mlp_l2_term(const mlp_net *net, size_t n);

/* ---- fit (fit.c) with a pluggable batch step, for data-parallel training ---- */
/* One minibatch of fit(): the rows (indices into X and T) of the global batch, and scratch
 * buffers for up to the batch size rows (Xb: n x d, Yb: n x k). */
typedef struct mlp_batch {
    const float *X, *T; /* all training rows: inputs (n_rows x d) and targets (n_rows x k) */
    const size_t *rows; /* the batch's row indices, n of them */
    size_t n, d, k;
    float *Xb, *Yb;
} mlp_batch;
/* Trains net on one batch and writes the batch loss (the global batch's, as scikit-learn reports
 * it); every process of a data-parallel run must return the same loss and end with the same
 * parameters. */
typedef mlp_status (*mlp_batch_step_fn)(void *ctx, mlp_net *net, const mlp_batch *batch,
                                        float *loss);
/* mlp_fit with step in place of the local forward/backward/update. */
mlp_status mlp_fit_with_step(mlp_net **net, mlp_task task, const float *X, const int32_t *labels,
                             const float *Y, size_t n, size_t d, size_t k,
                             const mlp_fit_options *options, mlp_fit_result *result,
                             mlp_batch_step_fn step, void *step_ctx);

/* ---- optimizer (optim.c) ---- */
void mlp_optim_apply(mlp_net *net);

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

/* ---- training state (net.c): what fit keeps to roll back a diverged epoch ---- */
/* Floats one snapshot holds: the parameters and both optimizer moments. */
size_t mlp_net_state_size(const mlp_net *net);
/* Copies parameters and moments to snap (mlp_net_state_size floats) and the step count to *step. */
void mlp_net_save_state(const mlp_net *net, float *snap, uint64_t *step);
/* Restores what mlp_net_save_state saved; ends any pending forward/backward pass. */
void mlp_net_restore_state(mlp_net *net, const float *snap, uint64_t step);
/* True if every parameter is finite. */
bool mlp_net_params_finite(const mlp_net *net);

/* ---- rows (data.c) ---- */
/* dst (n x width) = the rows `rows` of src (? x width), in that order. */
void mlp_gather_rows(float *dst, const float *src, const size_t *rows, size_t n, size_t width);

#endif /* MLP_INTERNAL_H */
