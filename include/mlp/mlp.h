/*
 * mlp: a dense multilayer-perceptron training backend on OpenBLAS + OpenMP.
 *
 * Conventions used by every call below:
 *  - Matrices are row-major float32. A batch of n samples with d features is n x d.
 *  - Weights of layer l are stored [in x out] (fan_in rows, fan_out columns), exactly like
 *    scikit-learn's coefs_[l], so Z = X.W + b is a plain (no-transpose) GEMM on the inference path
 *    and weights can be exchanged with scikit-learn without transposing.
 *  - All parameters live in ONE contiguous buffer, layer after layer, each layer as W then b.
 *    Gradients live in a second buffer with the same layout. An optimizer update is one loop and
 *    an allreduce of the gradients is one call.
 *  - Every fallible call returns an mlp_status. On failure, mlp_last_error() gives a detailed
 *    message for the calling thread (which argument, which size); outputs are left untouched
 *    unless said otherwise. The library never exits or aborts on bad input.
 *  - Thread safety: different mlp_net objects may be used from different threads at the same
 *    time. One mlp_net must not be used by two threads at once (calls write its workspace).
 *    mlp_set_num_threads changes process-wide settings; call it from one thread, before work.
 */
#ifndef MLP_MLP_H
#define MLP_MLP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MLP_STATIC_DEFINE)
#define MLP_API
#elif defined(MLP_BUILDING)
#define MLP_API __attribute__((visibility("default")))
#else
#define MLP_API
#endif

#define MLP_VERSION_MAJOR 0
#define MLP_VERSION_MINOR 1
#define MLP_VERSION_PATCH 0
#define MLP_VERSION_STRING "0.1.0"

/* Runtime version, e.g. "0.1.0" (may differ from MLP_VERSION_STRING if linked dynamically). */
MLP_API const char *mlp_version(void);

/* ---------------------------------------------------------------------------------------------
 * Errors
 */
typedef enum mlp_status {
    MLP_OK = 0,
    MLP_ERR_NULL,     /* a required pointer argument was NULL */
    MLP_ERR_ARG,      /* an argument has an invalid value (zero size, unknown enum, bad number) */
    MLP_ERR_SHAPE,    /* dimensions do not match (layer sizes, batch size vs workspace, ...) */
    MLP_ERR_OVERFLOW, /* a size computation overflows size_t or exceeds the memory cap */
    MLP_ERR_NOMEM,    /* an allocation failed */
    MLP_ERR_STATE,    /* the call is not valid now (for example backward before forward) */
    MLP_ERR_IO,       /* reading or writing a file failed */
    MLP_ERR_FORMAT,   /* a file or data stream is malformed, truncated or foreign */
    MLP_ERR_DIVERGED, /* training produced a non-finite loss or weight */
    MLP_STATUS_COUNT
} mlp_status;

/* Static description of a status ("out of memory", ...). Never NULL. */
MLP_API const char *mlp_strerror(mlp_status status);
/* Detailed message of the last failure on the calling thread; "" if none. Never NULL. */
MLP_API const char *mlp_last_error(void);

/* ---------------------------------------------------------------------------------------------
 * Network
 */
typedef enum mlp_activation {
    MLP_ACT_IDENTITY = 0,
    MLP_ACT_RELU,
    MLP_ACT_LOGISTIC, /* 1 / (1 + exp(-z)) */
    MLP_ACT_TANH,
    MLP_ACT_SOFTMAX,    /* row-wise, max-subtracted; output layer only */
    MLP_ACT_LEAKY_RELU, /* z > 0 ? z : 0.01 z */
    MLP_ACT_GELU,       /* z * Phi(z), exact (erf) form */
    MLP_ACT_COUNT
} mlp_activation;

typedef enum mlp_loss {
    MLP_LOSS_SOFTMAX_CE = 0, /* cross-entropy; output activation must be SOFTMAX */
    MLP_LOSS_LOGISTIC,       /* binary log-loss per output (multi-label); output must be LOGISTIC */
    MLP_LOSS_SQUARED,        /* squared error (regression); any output activation */
    MLP_LOSS_COUNT
} mlp_loss;

typedef enum mlp_init {
    MLP_INIT_GLOROT = 0, /* scikit-learn's: W and b ~ U(-r, r), r = sqrt(f/(in+out)), f = 2 if
                            activations[0] is logistic else 6, the same f for every layer */
    MLP_INIT_HE,         /* U(-r, r), r = sqrt(6/in); biases zero */
    MLP_INIT_COUNT
} mlp_init;

typedef struct mlp_net mlp_net;

typedef struct mlp_net_config {
    size_t n_layers;                   /* number of weight layers (>= 1) */
    const size_t *sizes;               /* n_layers + 1 widths: input, hidden..., output */
    const mlp_activation *activations; /* n_layers entries, one per weight layer */
    mlp_loss loss;                     /* training loss (see mlp_loss for allowed outputs) */
    mlp_init init;                     /* weight initialisation scheme */
    uint64_t seed;                     /* seed of the initialisation */
} mlp_net_config;

/* Creates a network with initialised weights and default optimizer (Adam, see
 * mlp_optimizer_default). The config's arrays are copied. On failure *net is set to NULL. */
MLP_API mlp_status mlp_net_create(mlp_net **net, const mlp_net_config *config);
/* Frees everything the net owns. NULL is allowed. */
MLP_API void mlp_net_free(mlp_net *net);
/* Deep copy: parameters, optimizer settings and state. Workspace is not copied. */
MLP_API mlp_status mlp_net_clone(mlp_net **dst, const mlp_net *src);

/* Shape queries. Layer indices run 0 .. n_layers-1. Out-of-range queries return 0 / IDENTITY. */
MLP_API size_t mlp_net_n_layers(const mlp_net *net);
MLP_API size_t mlp_net_input_size(const mlp_net *net);
MLP_API size_t mlp_net_output_size(const mlp_net *net);
MLP_API mlp_status mlp_net_layer_shape(const mlp_net *net, size_t layer, size_t *in, size_t *out,
                                       mlp_activation *activation);
MLP_API mlp_loss mlp_net_loss(const mlp_net *net);

/* Parameters: one flat buffer of mlp_net_param_count floats, layer by layer, each W [in x out]
 * then b [out]. The pointers stay valid until mlp_net_free; writing through them is allowed. */
MLP_API size_t mlp_net_param_count(const mlp_net *net);
MLP_API float *mlp_net_params(mlp_net *net);
MLP_API float *mlp_net_grads(mlp_net *net);
/* Views of one layer inside the flat buffers (W: in x out row-major, b: out). Any out-pointer may
 * be NULL. */
MLP_API mlp_status mlp_net_layer_params(mlp_net *net, size_t layer, float **W, float **b);
MLP_API mlp_status mlp_net_layer_grads(mlp_net *net, size_t layer, float **dW, float **db);
/* Copies all parameters out / in; count must equal mlp_net_param_count. */
MLP_API mlp_status mlp_net_get_params(const mlp_net *net, float *dst, size_t count);
MLP_API mlp_status mlp_net_set_params(mlp_net *net, const float *src, size_t count);

/* Sizes the workspace for batches of up to max_batch rows. Calls with larger batches grow it
 * (one allocation); call this once up front so that no training step allocates. */
MLP_API mlp_status mlp_net_reserve(mlp_net *net, size_t max_batch);

/* ---------------------------------------------------------------------------------------------
 * Inference. X is n x input_size. Safe to interleave with training on the same thread; it reuses
 * the training workspace, so it invalidates a pending mlp_forward/mlp_backward pair.
 */
/* out: n x output_size (class probabilities for a softmax or logistic output). */
MLP_API mlp_status mlp_predict(mlp_net *net, const float *X, size_t n, float *out);
/* labels: n entries, argmax of each output row (ties: lowest index). For a single logistic
 * output the label is 1 when the output >= 0.5, else 0. */
MLP_API mlp_status mlp_predict_labels(mlp_net *net, const float *X, size_t n, int32_t *labels);

/* ---------------------------------------------------------------------------------------------
 * Training
 */
typedef enum mlp_optimizer_kind {
    MLP_OPT_SGD = 0, /* velocity = momentum*velocity - lr*g; Nesterov optional (scikit-learn's) */
    MLP_OPT_ADAM,    /* scikit-learn's Adam: eps is added to sqrt of the uncorrected v */
    MLP_OPT_COUNT
} mlp_optimizer_kind;

typedef struct mlp_optimizer {
    mlp_optimizer_kind kind;
    float lr;       /* learning rate (> 0) */
    float alpha;    /* L2 penalty as scikit-learn's alpha: loss += alpha/(2n) * sum(W^2) (>= 0) */
    float momentum; /* SGD only, in [0, 1) */
    int nesterov;   /* SGD only, 0 or 1 */
    float beta1;    /* Adam only, in [0, 1) */
    float beta2;    /* Adam only, in [0, 1) */
    float eps;      /* Adam only (> 0) */
} mlp_optimizer;

/* scikit-learn's defaults: lr 1e-3, alpha 1e-4, momentum 0.9, nesterov 1, beta1 0.9,
 * beta2 0.999, eps 1e-8. */
MLP_API mlp_optimizer mlp_optimizer_default(mlp_optimizer_kind kind);
/* Sets the optimizer. Changing the kind resets the optimizer state (moments, step count);
 * changing only hyperparameters (for example the learning rate) keeps it. */
MLP_API mlp_status mlp_net_set_optimizer(mlp_net *net, const mlp_optimizer *opt);
MLP_API mlp_status mlp_net_get_optimizer(const mlp_net *net, mlp_optimizer *opt);
/* Clears moments and the step count. */
MLP_API void mlp_net_reset_optimizer(mlp_net *net);
/* Number of optimizer updates applied so far (Adam's t). */
MLP_API uint64_t mlp_net_step_count(const mlp_net *net);

/* One training step on a batch: forward, loss, backward, optimizer update. X is n x input_size,
 * Y is n x output_size (one-hot rows for SOFTMAX_CE; 0/1 targets for LOGISTIC; values for
 * SQUARED). *loss (may be NULL) receives the batch loss as scikit-learn reports it, L2 included.
 * Allocates nothing once the workspace holds n rows (see mlp_net_reserve). */
MLP_API mlp_status mlp_train_step(mlp_net *net, const float *X, const float *Y, size_t n,
                                  float *loss);

/* The same step in parts, for callers with their own optimizer or gradient exchange:
 *   mlp_forward  keeps a pointer to X (it must stay valid until mlp_backward) and the activations;
 *   mlp_backward computes the loss and writes the gradients (L2 term included) to mlp_net_grads;
 *   mlp_update   applies the configured optimizer to the current gradients. */
MLP_API mlp_status mlp_forward(mlp_net *net, const float *X, size_t n);
/* Output of the last mlp_forward: n x output_size, valid until the next call on net. */
MLP_API const float *mlp_forward_output(const mlp_net *net);
MLP_API mlp_status mlp_backward(mlp_net *net, const float *Y, float *loss);
MLP_API mlp_status mlp_update(mlp_net *net);

/* Loss of a batch without training (same definition as mlp_train_step's). */
MLP_API mlp_status mlp_loss_value(mlp_net *net, const float *X, const float *Y, size_t n,
                                  float *loss);

/* ---------------------------------------------------------------------------------------------
 * Threads and BLAS
 */
/* Sets the thread count of both OpenMP and OpenBLAS (process-wide: omp_set_num_threads and
 * openblas_set_num_threads). n >= 1. This is the only call that changes global thread state. */
MLP_API mlp_status mlp_set_num_threads(int n);
/* Threads that the next parallel region will use (omp_get_max_threads). */
MLP_API int mlp_get_num_threads(void);
/* OpenBLAS kernel family in use, e.g. "Haswell" or "Cooperlake". */
MLP_API const char *mlp_blas_corename(void);
/* 1 if the OpenBLAS linked at run time is its OpenMP build (shares OpenMP's pool with mlp),
 * 0 if it is the pthread or serial build. With a pthread build results stay correct but BLAS
 * threads and OpenMP threads may compete for cores: use mlp_set_num_threads(1) or
 * OPENBLAS_NUM_THREADS=1 then. */
MLP_API int mlp_blas_is_openmp(void);

#ifdef __cplusplus
}
#endif

#endif /* MLP_MLP_H */
