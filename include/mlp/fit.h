/*
 * mlp fit: scikit-learn's MLPClassifier / MLPRegressor training recipe (scikit-learn 1.2), in C.
 * Same defaults, same loss definition, same stopping rule; docs/SKLEARN.md lists every difference.
 * mlp_fit is a loop over mlp.h's step API (mlp_train_step on shuffled minibatches); write your own
 * loop with that API when you need something else (docs/API.md).
 * Conventions (errors, ownership, threads) are mlp.h's. mlp_fit uses its net exclusively while it
 * runs and only reads X, labels and Y.
 */
#ifndef MLP_FIT_H
#define MLP_FIT_H

#include "mlp/mlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Learning-rate schedule of the SGD solver (scikit-learn's learning_rate); Adam ignores it. */
typedef enum mlp_lr_schedule {
    MLP_LR_CONSTANT = 0, /* lr stays the options' opt.lr (learning_rate_init) */
    MLP_LR_INVSCALING,   /* sgd: lr = opt.lr / (samples_seen + 1)^power_t after each epoch */
    MLP_LR_ADAPTIVE,     /* sgd: lr /= 5 whenever the stopping rule fires, until lr <= 1e-6 */
    MLP_LR_COUNT
} mlp_lr_schedule;

/* What the targets are; decides the output layer and the loss of a network mlp_fit creates
 * (mlp_task_output). */
typedef enum mlp_task {
    MLP_TASK_CLASSIFY = 0, /* labels: softmax output (>2 classes) or one logistic output (2) */
    MLP_TASK_MULTILABEL,   /* 0/1 target matrix: logistic outputs, binary log-loss */
    MLP_TASK_REGRESS,      /* float targets: identity output, squared error */
    MLP_TASK_COUNT
} mlp_task;

/* The output layer of a task, as mlp_fit builds it (scikit-learn's choice): for CLASSIFY with
 * n_classes_or_targets classes, a softmax output of that width with cross-entropy (> 2 classes) or
 * one logistic output with binary log-loss (2 classes; it gives P(class 1)); for MULTILABEL with
 * n_classes_or_targets 0/1 columns, that many logistic outputs with binary log-loss; for REGRESS
 * with n_classes_or_targets target columns, that many identity outputs with squared error.
 * Any out-pointer may be NULL; none is written on failure. Any thread.
 * Errors: MLP_ERR_ARG (unknown task, n_classes_or_targets 0, or below 2 for CLASSIFY). */
MLP_API mlp_status mlp_task_output(mlp_task task, size_t n_classes_or_targets,
                                   mlp_activation *out_activation, mlp_loss *loss,
                                   size_t *out_width);
/* The reverse, from a net's loss and output width: SOFTMAX_CE is CLASSIFY with output_size
 * classes; LOGISTIC with one output is CLASSIFY with 2 classes (a one-column MULTILABEL net is the
 * same network), with more outputs MULTILABEL; SQUARED is REGRESS. n_classes_or_targets (may be
 * NULL) receives the classes or the target columns. Reads net only.
 * Errors: MLP_ERR_NULL (net or task is NULL). */
MLP_API mlp_status mlp_task_of_net(const mlp_net *net, mlp_task *task,
                                   size_t *n_classes_or_targets);
/* The label of one output row of width >= 1 (from mlp_predict), by the rule mlp_predict_labels
 * and mlp_score_accuracy use: the argmax (ties: the lowest index); for width 1, 1 when the output
 * is at least 0.5, else 0. Applied to one column of a multi-label output (width 1) it gives that
 * label's 0/1 prediction. A NULL row or a width of 0 gives -1 (no label). Any thread. */
MLP_API int32_t mlp_output_label(const float *row, size_t width);

/* What early stopping watches on the held-out rows. */
typedef enum mlp_stop_metric {
    MLP_STOP_SCORE = 0, /* scikit-learn's: accuracy or R^2 (stops when it stops rising by tol) */
    MLP_STOP_LOSS,      /* mlp's own: the validation loss (stops when it stops falling by tol) */
    MLP_STOP_COUNT
} mlp_stop_metric;

/* Progress of one finished epoch (lbfgs: one iteration), passed to the callback. */
typedef struct mlp_epoch_info {
    size_t epoch;         /* 1-based */
    float loss;           /* epoch loss, L2 term included (the mean of the batch losses weighted
                             by batch size, or by the batches' sample-weight sums) */
    float val_score;      /* validation accuracy or R^2 with early stopping, else NaN */
    double seconds;       /* training time so far (excludes validation scoring) */
    double samples_per_s; /* training samples per second so far */
    float val_loss;       /* with early stopping: the data loss on the validation rows (the loss's
                             definition without the L2 term; weighted with sample weights), else
                             NaN */
    float lr;             /* the learning rate this epoch ran with (NaN for lbfgs) */
} mlp_epoch_info;

/* Called by mlp_fit after every finished epoch (after validation scoring), on the thread that
 * called mlp_fit. info is valid during the call only; user is mlp_fit_options.user. It must not
 * call mlp functions on the net being trained. Return non-zero to stop training after this epoch
 * (mlp_fit_result.stopped_by_callback becomes 1; with early stopping the best weights are still
 * restored). */
typedef int (*mlp_epoch_callback)(const mlp_epoch_info *info, void *user);

/* Settings of mlp_fit, with scikit-learn's names and defaults. Start from
 * mlp_fit_options_default() and change fields; the hidden array is only read during mlp_fit. */
typedef struct mlp_fit_options {
    size_t n_hidden;             /* number of hidden layers (0 allowed) */
    const size_t *hidden;        /* their widths; default {100} as scikit-learn */
    mlp_activation activation;   /* hidden activation, default RELU */
    mlp_optimizer opt;           /* solver (opt.kind: SGD, ADAM or LBFGS) and its settings,
                                    default mlp_optimizer_default(ADAM): lr (learning_rate_init)
                                    1e-3, alpha (L2) 1e-4, sgd momentum 0.9 and nesterov 1, adam
                                    beta1 0.9, beta2 0.999, eps 1e-8. SGD and ADAM are applied to
                                    the net (mlp_net_set_optimizer); LBFGS uses only alpha (set on
                                    the net's optimizer, which stays as it was otherwise) */
    size_t batch_size;           /* 0 = min(200, n) */
    mlp_lr_schedule schedule;    /* sgd only, default CONSTANT */
    float power_t;               /* invscaling exponent, default 0.5 */
    size_t max_iter;             /* epochs, default 200 */
    int shuffle;                 /* reshuffle every epoch, default 1 */
    uint64_t seed;               /* init, shuffling and validation split */
    float tol;                   /* default 1e-4 */
    size_t n_iter_no_change;     /* default 10 */
    int early_stopping;          /* hold out validation_fraction, stop on its score, default 0 */
    float validation_fraction;   /* default 0.1 */
    mlp_init init;               /* default GLOROT (scikit-learn's) */
    mlp_epoch_callback callback; /* may be NULL */
    void *user;                  /* passed to callback */
    float dropout;  /* mlp's own (scikit-learn has none): dropout probability set on every hidden
                       layer (mlp_net_set_dropout) before training, in [0, 1); default 0 leaves
                       the net as it is (a created net has none). Not with LBFGS */
    size_t max_fun; /* LBFGS: most loss+gradient evaluations (max_fun),
                       default 15000; max_iter counts its iterations */
    mlp_stop_metric early_stopping_metric; /* default SCORE (scikit-learn's) */
    const float *sample_weight; /* n weights (finite, >= 0), one per row of X, or NULL (all 1):
                                   the loss is the weighted mean, sum_i w_i loss_i / sum_i w_i,
                                   and the L2 term alpha/(2 sum_i w_i) sum(W^2), as
                                   scikit-learn >= 1.7 defines it; read during mlp_fit only */
    /* NULL (default), or a flag that another thread or a signal handler may set while mlp_fit
     * runs: once it reads non-zero, training stops before the next minibatch (LBFGS: before the
     * next loss+gradient evaluation, or between two of its 4096-row chunks; the net keeps the
     * last accepted point) and mlp_fit returns MLP_OK with result.interrupted = 1, as after a
     * callback stop (stopped_by_callback stays 0). The net keeps the weights reached; with early
     * stopping the best validation weights are restored as after a callback stop (interrupted
     * before the first validation, the weights reached, best_val_score NaN). An unfinished epoch
     * (LBFGS: iteration) is not counted in result.epochs nor in the curves; with none finished,
     * result.loss and best_loss are NaN. Only read. mlp_mpi_fit: leave it NULL (ranks stopping at
     * different batches would wait for each other). */
    const volatile int *interrupt;
    mlp_precision precision; /* of the training passes' GEMMs, set on the net before training
                                (mlp_net_set_precision; a warm-start net takes it too): default
                                F32; BF16 refused with MLP_ERR_UNSUPPORTED where this CPU or build
                                lacks it; AUTO is BF16 where supported, else F32
                                (mlp_net_precision tells which ran). Solver LBFGS runs in F32
                                only: BF16 is refused (MLP_ERR_ARG), AUTO gives F32 */
    /* REGRESS only (other tasks take their task's loss): SQUARED (default, identity outputs),
     * POISSON (exp outputs, scikit-learn 1.7's loss='poisson'; Y must be >= 0) or HUBER (identity
     * outputs, with huber_delta). A warm-start net must have this loss. */
    mlp_loss loss;
    float huber_delta; /* HUBER: finite, > 0; default 1.0 (PyTorch's) */
    /* NULL (default), or n_hidden activations, one per hidden layer, in place of `activation`
     * (which then is not used); read during mlp_fit only */
    const mlp_activation *activations;
    /* A validation set of the caller's own: val_n rows of val_X (val_n x d) with their targets
     * (val_labels for CLASSIFY, val_Y for the other tasks, as labels / Y) and optional weights
     * val_sample_weight (val_n, or NULL). With val_n > 0, early stopping runs on these rows
     * (whatever early_stopping says) and no rows of X are held out: validation_fraction is not
     * used. Not with LBFGS. Default: none (val_n 0, NULLs). Read during mlp_fit only */
    const float *val_X;
    const int32_t *val_labels;
    const float *val_Y;
    const float *val_sample_weight;
    size_t val_n;
} mlp_fit_options;

/* What mlp_fit reports. The two arrays are owned by the struct: free them with
 * mlp_fit_result_free. */
typedef struct mlp_fit_result {
    size_t epochs;           /* epochs run; LBFGS: iterations (scikit-learn's n_iter_) */
    int converged;           /* 1: the tol/n_iter_no_change rule stopped it before max_iter;
                                LBFGS: the gradient (max |g| <= tol) or the relative decrease
                                of the loss (<= 2.2e-9, scipy's factr 1e7) test */
    int stopped_by_callback; /* 1: the callback asked to stop */
    float loss;              /* last epoch's loss */
    float best_loss;         /* lowest epoch loss */
    float best_val_score;    /* with early stopping: the restored weights' score; else NaN */
    float best_val_loss;     /* with early stopping: the lowest validation loss; else NaN */
    float *loss_curve;       /* epochs entries (owned; mlp_fit_result_free) */
    float *val_scores;       /* epochs entries with early stopping, else NULL */
    float *val_losses;       /* epochs entries with early stopping (validation data loss, as
                                mlp_epoch_info.val_loss), else NULL */
    size_t steps;            /* optimizer steps (minibatches); LBFGS: loss+gradient evaluations
                                over the whole training set */
    double seconds;          /* training time, validation scoring excluded */
    double samples_per_s;    /* training samples processed per second of training */
    /* What mlp_fit decided from the options and the data: */
    size_t batch_size; /* the minibatch size used: options.batch_size (0: 200) clipped to n_train */
    size_t n_train;    /* rows trained on: n minus the validation rows */
    size_t n_val;      /* rows held out for early stopping: ceil(validation_fraction x n), as
                          scikit-learn's split (with the float fraction); options.val_n with a
                          validation set of the caller's; 0 without early stopping */
    int interrupted;   /* 1: options.interrupt was set and training stopped early for it */
} mlp_fit_result;

/* scikit-learn's defaults (the values noted in mlp_fit_options above; seed 0, no callback).
 * Cannot fail; any thread. */
MLP_API mlp_fit_options mlp_fit_options_default(void);
/* Frees loss_curve, val_scores and val_losses and sets them to NULL; the other fields stay. For a
 * result filled by mlp_fit or zero-initialised. NULL is allowed (no-op). */
MLP_API void mlp_fit_result_free(mlp_fit_result *result);

/* Per-row weights from per-class weights, as scikit-learn's classifiers combine class_weight
 * with sample_weight: out[i] = sample_weight[i] * class_weight[labels[i]] in double
 * (sample_weight NULL: 1). class_weight (n_classes entries) NULL means 'balanced':
 * n / (n_present * count[c]), scikit-learn's compute_class_weight('balanced') with n_present the
 * classes that have rows: the same double operations, so the same bits as
 * compute_sample_weight('balanced', y). Pass out (rounded to float) as
 * mlp_fit_options.sample_weight.
 * Errors: MLP_ERR_NULL (labels or out is NULL), MLP_ERR_ARG (n or n_classes is 0, a label outside
 * [0, n_classes) named by row, a class weight negative or not finite named by class, a sample
 * weight negative or not finite named by row). Any thread. */
MLP_API mlp_status mlp_class_weights(const int32_t *labels, size_t n, size_t n_classes,
                                     const double *class_weight, const float *sample_weight,
                                     double *out);

/* The rows mlp_fit holds out for early stopping with these options (seed, validation_fraction)
 * and labels: rows (n entries, caller-allocated) receives the training rows, then the *n_val
 * validation rows, as mlp_fit orders them. CLASSIFY draws them class by class (scikit-learn's
 * stratified split; labels: n class indices in [0, n_classes)), the other tasks from one
 * shuffle (labels may be NULL). For checking a split, or scoring the held-out rows afterwards.
 * Errors: MLP_ERR_NULL (options, rows or n_val is NULL; labels for CLASSIFY), MLP_ERR_ARG (a
 * fraction not in (0, 1) or leaving a side empty, a label out of range, and for CLASSIFY a class
 * of one row or a side with fewer rows than classes, with scikit-learn's message), MLP_ERR_NOMEM.
 * Any thread. */
MLP_API mlp_status mlp_fit_validation_rows(mlp_task task, const int32_t *labels, size_t n,
                                           size_t n_classes, const mlp_fit_options *options,
                                           size_t *rows, size_t *n_val);

/* Trains on X (n x d) with targets; n_classes_or_targets is what the targets span:
 *  CLASSIFY:   labels (n int32 in [0, n_classes_or_targets)), at least 2 classes; Y ignored.
 *              These are class indices: for labels of any kind (1..3, -1/+1, strings) take the
 *              indices and the class list of mlp_read_csv (mlp_dataset.classes) or of
 *              mlp_classes_encode_numbers / _encode_names (data.h), as scikit-learn's classes_;
 *              mlp_model_save_classes keeps the list with the net
 *  MULTILABEL: Y (n x n_classes_or_targets) of 0/1;  REGRESS: Y (n x n_classes_or_targets)
 *              floats; labels ignored
 * A created network has the options' hidden layers and the task's output layer and loss
 * (mlp_task_output: as in scikit-learn, softmax for > 2 classes, one logistic output for 2 classes
 * with label 1 the positive class, logistic outputs for multi-label, identity outputs for
 * regression). If *net is NULL a network is created from the options; otherwise training
 * continues from its weights and optimizer state (warm start; its input width must be d and its
 * output width and loss the task's). The options' optimizer (options->opt) is applied to the net
 * with mlp_net_set_optimizer: a different kind resets its state.
 * For REGRESS, options->loss picks SQUARED, POISSON (exp outputs) or HUBER.
 * Early stopping (or a validation set of the caller's, options->val_n) scores held-out rows; the
 * held-out rows of a CLASSIFY fit are drawn class by class (scikit-learn's stratified split, its
 * per-class counts): every class present needs at least 2 rows, and each side at least one row
 * per class present, else MLP_ERR_ARG with scikit-learn's message.
 * On success the net holds the final weights (with early stopping: the best validation weights).
 * Solver LBFGS (options->opt.kind, scikit-learn's solver='lbfgs'): full-batch L-BFGS (liblbfgs,
 * with scipy's L-BFGS-B settings: 10 corrections, More-Thuente line search of at most 20 trials)
 * on the loss of all n rows, L2 included, until max_iter iterations, max_fun evaluations, or the
 * convergence tests of result.converged; batch_size, shuffle, the schedules, n_iter_no_change
 * and early stopping are not used (as in scikit-learn), dropout must be 0. The loss curve has one
 * entry per iteration. Deterministic; results do not depend on the thread count.
 * With options->sample_weight, each row's loss term counts w_i times (integer weights equal
 * repeated rows, zero weights dropped ones, for the loss and gradient over all rows); a minibatch
 * whose weights sum to 0 is skipped. Validation rows are weighted in the validation loss.
 * If training diverges (non-finite loss or weights), returns MLP_ERR_DIVERGED naming the epoch,
 * and the net holds the weights of the last finite epoch. result may be NULL; otherwise free it
 * with mlp_fit_result_free (it is filled on success and on divergence, untouched otherwise).
 * Ownership: a net created here is the caller's (mlp_net_free), also after MLP_ERR_DIVERGED; on
 * any other failure it is freed and *net stays NULL. A warm-start net stays the caller's; on any
 * failure other than MLP_ERR_DIVERGED its weights and optimizer settings and state are unchanged
 * (every argument and option is checked, and every buffer allocated, before the net is touched).
 * Errors: MLP_ERR_NULL (net, X or options is NULL; labels for CLASSIFY, Y otherwise;
 * options->hidden with n_hidden > 0); MLP_ERR_ARG (unknown task; n, d or n_classes_or_targets is
 * 0; fewer than 2 classes; an option out of range, including the optimizer's, see
 * mlp_net_set_optimizer; a non-finite value in X or Y; a label outside [0, n_classes_or_targets);
 * a multi-label target other than 0/1; a sample weight negative or not finite (named by row), or
 * training-row weights summing to 0; an early-stopping split with an empty side; a warm-start
 * net whose loss does not fit the task); MLP_ERR_SHAPE (a warm-start net's input or output width
 * does not fit d or the task's output width); MLP_ERR_OVERFLOW; MLP_ERR_LIMIT (a buffer sized by
 * n, d, the batch or the network would exceed the memory limit, mlp_set_memory_limit);
 * MLP_ERR_NOMEM; MLP_ERR_DIVERGED (see above). */
MLP_API mlp_status mlp_fit(mlp_net **net, mlp_task task, const float *X, const int32_t *labels,
                           const float *Y, size_t n, size_t d, size_t n_classes_or_targets,
                           const mlp_fit_options *options, mlp_fit_result *result);

/* Scores of the net on X (n x input_size): the accuracy of mlp_predict_labels against labels
 * (n entries; a single output is thresholded at 0.5), and R^2 against Y (n x output_size),
 * averaged over outputs (scikit-learn's uniform_average). They allocate an n x output_size buffer
 * and run inference like mlp_predict (same thread rules: they only read the net).
 * Errors: MLP_ERR_NULL (net, X, labels / Y or the result pointer is NULL), MLP_ERR_ARG (n is 0),
 * MLP_ERR_OVERFLOW, MLP_ERR_LIMIT (the buffer would exceed the memory limit), MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_score_accuracy(const mlp_net *net, const float *X, const int32_t *labels,
                                      size_t n, double *accuracy);
MLP_API mlp_status mlp_score_r2(const mlp_net *net, const float *X, const float *Y, size_t n,
                                double *r2);
/* Multi-label accuracy as scikit-learn's accuracy_score on indicator matrices (subset accuracy):
 * the fraction of rows whose every output, thresholded at 0.5, equals Y's 0/1 entry (Y is n x
 * output_size). Same rules and errors as mlp_score_accuracy (Y instead of labels). */
MLP_API mlp_status mlp_score_subset_accuracy(const mlp_net *net, const float *X, const float *Y,
                                             size_t n, double *accuracy);

#ifdef __cplusplus
}
#endif

#endif /* MLP_FIT_H */
