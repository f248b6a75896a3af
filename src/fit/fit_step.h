/* The fit loop's extension point (src/fit/): mlp_fit's epoch loop (shuffling, batching,
 * stopping, rollback, validation) with a batch step of the caller's in place of the local
 * forward/backward/update. A data-parallel trainer plugs its step in here; the fit layer knows
 * nothing of who does. */
#ifndef MLP_FIT_STEP_H
#define MLP_FIT_STEP_H

#include "mlp/fit.h"

/* One minibatch of fit(): the rows (indices into X and T) of the global batch, and scratch
 * buffers for up to the batch size rows (Xb: n x d, Yb: n x k). */
typedef struct mlp_batch {
    const float *X, *T; /* all training rows: inputs (n_rows x d) and targets (n_rows x k) */
    const size_t *rows; /* the batch's row indices, n of them */
    size_t n, d, k;
    float *Xb, *Yb;
    const float *w; /* the batch's n sample weights (gathered, summing to > 0), or NULL (all 1) */
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
/* Gathers rows [lo, lo + n) of the batch's row list into its scratch buffers Xb and Yb. */
void mlp_batch_gather(const mlp_batch *b, size_t lo, size_t n);

#endif /* MLP_FIT_STEP_H */
