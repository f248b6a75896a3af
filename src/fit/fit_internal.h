/* Private to src/fit/: fit.c (setup, finish), fit_epoch.c (the epoch loop), fit_lbfgs.c (the
 * full-batch solver) and score.c (scores): the state of one mlp_fit run. fit drives the net
 * through the public API (mlp.h), its training state through core/state.h, and the loss and label
 * rules of core/core.h (mlp_loss_rows, mlp_row_label); it never writes a field of mlp_net. */
#ifndef MLP_FIT_INTERNAL_H
#define MLP_FIT_INTERNAL_H

#include "core/core.h"
#include "data/data_internal.h"
#include "fit/fit_step.h"

/* What the caller passed to mlp_fit. */
typedef struct mlp_fit_data {
    mlp_task task;
    const float *X;        /* n x d */
    const int32_t *labels; /* CLASSIFY: n labels in [0, n_classes_or_targets) */
    const float *Y;        /* MULTILABEL, REGRESS: n x n_classes_or_targets */
    const float *w;        /* n sample weights (options->sample_weight), or NULL */
    size_t n, d, n_classes_or_targets;
} mlp_fit_data;

/* Everything the loop needs, allocated once by setup. */
typedef struct mlp_fit_state {
    size_t out_width; /* network outputs (1 for two classes) */
    size_t batch;     /* effective minibatch size */
    size_t n_train, n_val;
    size_t n_params;
    float *T;        /* n x out_width targets: one-hot rows, the 0/1 label column, or Y */
    size_t *order;   /* n row indices: the training rows (shuffled each epoch), then the validation
                        rows */
    float *Xb, *Yb;  /* one minibatch, gathered (batch x d, batch x out_width) */
    float *Xv, *Yv;  /* validation rows (early stopping) */
    int32_t *lv;     /* validation labels (CLASSIFY) */
    float *val_out;  /* n_val x out_width predictions */
    float *best;     /* parameters of the best validation score (or loss) */
    const float *sw; /* the caller's sample weights (n; mlp_fit_data.w), or NULL */
    float *swb;      /* one minibatch's weights, gathered */
    float *swv;      /* the validation rows' weights (with sample weights and early stopping) */
    float *val_rowloss; /* n_val per-row validation losses (the validation loss's scratch) */
    double sw_train;    /* sum of the training rows' weights (n_train without weights) */
    double sw_val;      /* the same of the validation rows (n_val without weights) */
    float huber_delta;  /* the net's (MLP_LOSS_HUBER), for the validation loss; else 0 */
    bool own_val;       /* the validation rows are the caller's (options->val_n), not split */
    /* Divergence rollback: net state (mlp_net_save_state) at the start of this epoch and of the
     * previous one. The previous one is needed when the first batch of an epoch is the one that
     * blows up: the weights it started from are finite but were never seen to give a finite
     * loss. */
    float *snap[2];
    uint64_t snap_step[2];
    mlp_rng rng; /* validation split, then the shuffles */

    /* Progress of the loop. */
    size_t curve_cap; /* entries allocated in the result's curves */
    double best_loss, best_val, best_val_loss, train_time;
    size_t no_improve, samples_seen;
    float lr; /* current learning rate (the schedules change it) */
} mlp_fit_state;

/* Samples per second, 0 before any time has passed. */
static inline double mlp_fit_rate(size_t samples, double seconds) {
    return seconds > 0.0 ? (double)samples / seconds : 0.0;
}

/* fit_epoch.c: runs epochs until max_iter, the stopping rule or the callback ends training, and
 * fills the result's per-epoch fields. MLP_ERR_DIVERGED after rolling back to the last finite
 * state. */
mlp_status mlp_fit_loop(mlp_fit_state *s, mlp_net *net, const mlp_fit_data *in,
                        const mlp_fit_options *o, mlp_batch_step_fn step, void *step_ctx,
                        mlp_fit_result *r);
/* Rows per forward/backward pass of LBFGS's full-batch objective: the workspace holds this many
 * rows, and every GEMM is as large as a pass gets (the most parallel work mlp has) without the
 * workspace growing with the data set. */
#define MLP_LBFGS_CHUNK 4096
/* fit_lbfgs.c: solver LBFGS in place of the epoch loop: full-batch L-BFGS over the training rows
 * (liblbfgs), filling the result's curve (one entry per iteration) and counters. */
mlp_status mlp_fit_lbfgs(mlp_fit_state *s, mlp_net *net, const mlp_fit_data *in,
                         const mlp_fit_options *o, mlp_fit_result *r);
/* Bytes liblbfgs allocates for n_params parameters (its corrections); 0 without liblbfgs. */
double mlp_fit_lbfgs_bytes(double n_params);
/* budget.c: MLP_ERR_LIMIT, with the parts named, if everything the fit will allocate (the net it
 * creates when warm is NULL, the workspace of ws_rows rows, snapshots, data copies, the solver's
 * memory) exceeds the memory limit. Needs out_width, n_val, n_train and batch of s. */
mlp_status mlp_fit_check_budget(const mlp_fit_state *s, const mlp_net *warm, const mlp_fit_data *in,
                                const mlp_fit_options *o, mlp_activation out_act, size_t ws_rows);
/* False when the library was built without liblbfgs (mlp_fit_lbfgs then fails). */
bool mlp_fit_lbfgs_available(void);
/* fit_epoch.c: room for entry `epoch` (0-based) in the result's loss curve and, with validation
 * (with_val), its validation curves; *cap: the entries allocated so far. */
mlp_status mlp_fit_grow_curves(mlp_fit_result *r, size_t epoch, size_t *cap, bool with_val);
/* Fisher-Yates shuffle of a (n entries) with rng. */
void mlp_fit_shuffle(size_t *a, size_t n, mlp_rng *rng);

/* The seed of the stream of the validation split and the shuffles: apart from the init's. */
static inline uint64_t mlp_fit_split_seed(uint64_t seed) {
    return seed ^ 0x5eed5eed5eedULL;
}

/* split.c: order (n) = the training rows, then n_val validation rows drawn class by class as
 * scikit-learn's stratified split (labels checked in [0, n_classes)); MLP_ERR_ARG with
 * scikit-learn's message for a class of one row or a side with fewer rows than classes. */
mlp_status mlp_fit_stratified_split(const int32_t *labels, size_t n, size_t n_classes, size_t n_val,
                                    size_t *order, mlp_rng *rng);

/* score.c, on predictions out (n x width), each row weighted by w[i] (n entries) or all by 1 (w
 * NULL), as scikit-learn's scores with sample_weight; NaN if the weights sum to 0:
 * the weight of the rows whose label (mlp_row_label) is labels[i] if labels is not NULL, else of
 * the rows whose every output, thresholded, equals its 0/1 target in Y (n x width; scikit-learn's
 * subset accuracy for multi-label), over the total weight. */
double mlp_accuracy_of(const float *out, size_t n, size_t width, const int32_t *labels,
                       const float *Y, const float *w);
/* R^2 of out against Y (n x width) per output (weighted means and sums of squares), averaged
 * uniformly. */
double mlp_r2_of(const float *out, const float *Y, const float *w, size_t n, size_t width);

#endif /* MLP_FIT_INTERNAL_H */
