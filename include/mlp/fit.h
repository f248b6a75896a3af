/*
 * mlp fit: scikit-learn's MLPClassifier / MLPRegressor training recipe (scikit-learn 1.2), in C.
 * Same defaults, same loss definition, same stopping rule; docs/SKLEARN.md lists every difference.
 */
#ifndef MLP_FIT_H
#define MLP_FIT_H

#include "mlp/mlp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mlp_lr_schedule {
    MLP_LR_CONSTANT = 0, /* lr stays lr_init */
    MLP_LR_INVSCALING,   /* sgd: lr = lr_init / (samples_seen + 1)^power_t after each epoch */
    MLP_LR_ADAPTIVE      /* sgd: lr /= 5 whenever the stopping rule fires, until lr <= 1e-6 */
} mlp_lr_schedule;

typedef enum mlp_task {
    MLP_TASK_CLASSIFY = 0, /* labels: softmax output (>2 classes) or one logistic output (2) */
    MLP_TASK_MULTILABEL,   /* 0/1 target matrix: logistic outputs, binary log-loss */
    MLP_TASK_REGRESS       /* float targets: identity output, squared error */
} mlp_task;

/* Progress of one finished epoch, passed to the callback. */
typedef struct mlp_epoch_info {
    size_t epoch;         /* 1-based */
    float loss;           /* epoch loss (mean of batch losses weighted by batch size) */
    float val_score;      /* validation accuracy or R^2 with early stopping, else NaN */
    double seconds;       /* training time so far (excludes validation scoring) */
    double samples_per_s; /* training samples per second so far */
} mlp_epoch_info;

/* Return non-zero to stop training after this epoch. */
typedef int (*mlp_epoch_callback)(const mlp_epoch_info *info, void *user);

typedef struct mlp_fit_options {
    size_t n_hidden;             /* number of hidden layers (0 allowed) */
    const size_t *hidden;        /* their widths; default {100} as scikit-learn */
    mlp_activation activation;   /* hidden activation, default RELU */
    mlp_optimizer_kind solver;   /* default ADAM */
    float alpha;                 /* L2 penalty, default 1e-4 */
    size_t batch_size;           /* 0 = min(200, n) */
    float lr;                    /* learning_rate_init, default 1e-3 */
    mlp_lr_schedule schedule;    /* sgd only, default CONSTANT */
    float power_t;               /* invscaling exponent, default 0.5 */
    size_t max_iter;             /* epochs, default 200 */
    int shuffle;                 /* reshuffle every epoch, default 1 */
    uint64_t seed;               /* init, shuffling and validation split */
    float tol;                   /* default 1e-4 */
    size_t n_iter_no_change;     /* default 10 */
    float momentum;              /* sgd, default 0.9 */
    int nesterov;                /* sgd, default 1 */
    int early_stopping;          /* hold out validation_fraction, stop on its score, default 0 */
    float validation_fraction;   /* default 0.1 */
    float beta1, beta2, eps;     /* adam, defaults 0.9, 0.999, 1e-8 */
    mlp_init init;               /* default GLOROT (scikit-learn's) */
    mlp_epoch_callback callback; /* may be NULL */
    void *user;                  /* passed to callback */
} mlp_fit_options;

typedef struct mlp_fit_result {
    size_t epochs;           /* epochs run */
    int converged;           /* 1: the tol/n_iter_no_change rule stopped it before max_iter */
    int stopped_by_callback; /* 1: the callback asked to stop */
    float loss;              /* last epoch's loss */
    float best_loss;         /* lowest epoch loss */
    float best_val_score;    /* with early stopping: the restored weights' score; else NaN */
    float *loss_curve;       /* epochs entries (owned; mlp_fit_result_free) */
    float *val_scores;       /* epochs entries with early stopping, else NULL */
    size_t steps;            /* optimizer steps (minibatches) */
    double seconds;          /* training time, validation scoring excluded */
    double samples_per_s;    /* training samples processed per second of training */
} mlp_fit_result;

MLP_API mlp_fit_options mlp_fit_options_default(void);
MLP_API void mlp_fit_result_free(mlp_fit_result *result);

/* Trains on X (n x d) with targets:
 *  CLASSIFY:   labels (n int32 in [0, n_classes)), k = n_classes >= 2; Y ignored
 *  MULTILABEL: Y (n x k) of 0/1;  REGRESS: Y (n x k) floats; labels ignored
 * If *net is NULL a network is created from the options; otherwise training continues from its
 * weights and optimizer state (warm start; shapes and loss must match). On success the net holds
 * the final weights (with early stopping: the best validation weights). If training diverges
 * (non-finite loss or weights), returns MLP_ERR_DIVERGED naming the epoch, and the net holds the
 * weights of the last finite epoch. result may be NULL; otherwise free it with
 * mlp_fit_result_free (it is filled on success and on divergence). */
MLP_API mlp_status mlp_fit(mlp_net **net, mlp_task task, const float *X, const int32_t *labels,
                           const float *Y, size_t n, size_t d, size_t k,
                           const mlp_fit_options *options, mlp_fit_result *result);

/* Scores: accuracy of predicted labels (k == 1: threshold 0.5), and R^2 averaged over outputs
 * (scikit-learn's uniform_average). */
MLP_API mlp_status mlp_score_accuracy(mlp_net *net, const float *X, const int32_t *labels, size_t n,
                                      double *accuracy);
MLP_API mlp_status mlp_score_r2(mlp_net *net, const float *X, const float *Y, size_t n, double *r2);

#ifdef __cplusplus
}
#endif

#endif /* MLP_FIT_H */
