/*
 * mlp: a dense multilayer-perceptron training backend on OpenBLAS + OpenMP.
 * API reference: this header and fit.h, data.h, model.h; a walk-through in docs/API.md.
 *
 * Conventions used by every call below:
 *  - Matrices are row-major float32. A batch of n samples with d features is n x d.
 *  - Weights of layer l are stored [in x out] (fan_in rows, fan_out columns), exactly like
 *    scikit-learn's coefs_[l], so Z = X.W + b is a plain (no-transpose) GEMM on the inference path
 *    and weights can be exchanged with scikit-learn without transposing.
 *  - All parameters live in ONE contiguous buffer, layer after layer, each layer as W then b.
 *    Gradients live in a second buffer with the same layout. An optimizer update is one loop and
 *    an allreduce of the gradients is one call.
 *  - Errors: every fallible call returns an mlp_status. On failure, mlp_last_error() gives a
 *    detailed message for the calling thread (which argument, which size); outputs are left
 *    untouched unless said otherwise. The library never exits or aborts on bad input, and never
 *    prints.
 *  - Ownership: objects the library creates (mlp_net, the arrays of an mlp_dataset, mlp_scaler
 *    or mlp_fit_result) are owned by the caller and freed with the matching *_free call. Input
 *    arrays are only read during the call and never retained, except the X of mlp_forward (kept
 *    until mlp_backward). Pointers the library hands out (mlp_net_params, ...) point into the net
 *    and must not be freed.
 *  - Thread safety: different mlp_net objects may be used from different threads at the same
 *    time. One mlp_net must not be used by two threads at once, except that calls taking a
 *    `const mlp_net *` only read it and may run concurrently with each other. Calls without an
 *    object (mlp_version, mlp_strerror, mlp_optimizer_default, ...) are safe from any thread.
 *    mlp_set_num_threads is the only call that changes thread settings (see there).
 *  - Threads inside calls: a forward, backward, update or training step whose largest GEMM has
 *    at least 8 MFLOP runs in one parallel region of up to the calling thread's OpenMP setting
 *    (GEMMs cut into tiles fixed by the shapes and the machine's core count, each one serial
 *    OpenBLAS call); smaller ones run on the calling thread. Results do not depend on the thread
 *    count. The threads of a call compute with denormals flushed to zero (FTZ/DAZ), and restore
 *    their floating-point state when the call returns.
 *
 * Linking: libmlp.so needs nothing else on the link line; libmlp.a needs OpenBLAS (its OpenMP
 * build), the OpenMP runtime, zlib and libm. The CMake package (mlp::mlp, mlp::mlp_static) and
 * mlp.pc add them for you (docs/API.md, "Linking").
 */
#ifndef MLP_MLP_H
#define MLP_MLP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MLP_API marks the public functions. Building libmlp.so (MLP_BUILDING) it gives them default
 * visibility while everything else is hidden, so the shared library exports the public API only.
 * Programs using mlp define nothing: MLP_API is then empty. MLP_STATIC_DEFINE (set when building
 * libmlp.a) keeps the static library's objects free of export attributes. */
#if defined(MLP_STATIC_DEFINE)
#define MLP_API
#elif defined(MLP_BUILDING)
#define MLP_API __attribute__((visibility("default")))
#else
#define MLP_API
#endif

/* Version of these headers (semantic versioning; before 1.0, a minor release may change the API).
 * The shared library's SONAME is libmlp.so.<MLP_VERSION_MAJOR>. */
#define MLP_VERSION_MAJOR 0
#define MLP_VERSION_MINOR 1
#define MLP_VERSION_PATCH 0
#define MLP_VERSION_STRING "0.1.0"

/* Version of the library linked at run time, e.g. "0.1.0": compare with MLP_VERSION_STRING to
 * detect a program running against another libmlp.so than it was compiled with. Static string,
 * never NULL; any thread. */
MLP_API const char *mlp_version(void);

/* ---------------------------------------------------------------------------------------------
 * Errors
 */
/* Result of every fallible call. MLP_OK is 0; every other value is a failure. */
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
    MLP_ERR_LIMIT,    /* a buffer would exceed the memory limit (mlp_set_memory_limit) */
    MLP_ERR_MPI,      /* an MPI call failed, or another rank of a data-parallel call did (mpi.h) */
    MLP_ERR_UNSUPPORTED, /* this CPU or this build cannot do it (e.g. bf16 without oneDNN) */
    MLP_STATUS_COUNT
} mlp_status;

/* Static description of a status ("out of memory", ...); "unknown status" for a value outside
 * the enum. Never NULL, never freed; any thread. */
MLP_API const char *mlp_strerror(mlp_status status);
/* Detailed message of the most recent failure on the calling thread (each thread has its own),
 * for example "mlp_forward: batch size n is 0"; "" if no call on this thread has failed yet.
 * Successful calls do not clear it: read it right after a call returned a status other than
 * MLP_OK. The string is owned by the library and overwritten by the thread's next failure.
 * Never NULL. */
MLP_API const char *mlp_last_error(void);

/* ---------------------------------------------------------------------------------------------
 * Network
 */
/* Activation of a layer, applied to Z = X.W + b. */
typedef enum mlp_activation {
    MLP_ACT_IDENTITY = 0,
    MLP_ACT_RELU,
    MLP_ACT_LOGISTIC, /* 1 / (1 + exp(-z)) */
    MLP_ACT_TANH,
    MLP_ACT_SOFTMAX,    /* row-wise, max-subtracted; output layer only */
    MLP_ACT_LEAKY_RELU, /* z > 0 ? z : 0.01 z */
    MLP_ACT_GELU,       /* z * Phi(z), exact (erf) form */
    MLP_ACT_EXP,        /* exp(z); output layer only (the log link of MLP_LOSS_POISSON) */
    MLP_ACT_COUNT
} mlp_activation;

/* The activation's name: "identity", "relu", "logistic", "tanh", "softmax", "leaky_relu",
 * "gelu", "exp" (scikit-learn's names where it has the activation); NULL for a value out of range.
 * The CLI and the Python package take these names. Any thread. */
MLP_API const char *mlp_activation_name(mlp_activation act);
/* The activation named `name` (exactly one of the names above) into *act.
 * Errors: MLP_ERR_NULL (name or act is NULL), MLP_ERR_ARG (an unknown name, quoted in the
 * message with the list of names). */
MLP_API mlp_status mlp_activation_from_name(const char *name, mlp_activation *act);

/* Training loss, as scikit-learn reports it (mean over the batch, plus the L2 term). */
typedef enum mlp_loss {
    MLP_LOSS_SOFTMAX_CE = 0, /* cross-entropy; output activation must be SOFTMAX */
    MLP_LOSS_LOGISTIC,       /* binary log-loss per output (multi-label); output must be LOGISTIC */
    MLP_LOSS_SQUARED,        /* squared error (regression); any output activation */
    MLP_LOSS_POISSON,        /* half Poisson deviance, y log(y/p) - y + p (scikit-learn 1.7's
                                loss='poisson'); targets >= 0; output activation must be EXP */
    MLP_LOSS_HUBER,          /* Huber (PyTorch's HuberLoss), delta 1 or mlp_net_set_huber_delta:
                                d^2/2 where |d| <= delta, else delta (|d| - delta/2), d = p - y;
                                any output activation */
    MLP_LOSS_COUNT
} mlp_loss;

/* Weight initialisation, drawn from a generator seeded with mlp_net_config.seed (the same seed
 * gives the same weights on every platform). */
typedef enum mlp_init {
    MLP_INIT_GLOROT = 0, /* scikit-learn's: W and b ~ U(-r, r), r = sqrt(f/(in+out)), f = 2 if
                            activations[0] is logistic else 6, the same f for every layer */
    MLP_INIT_HE,         /* U(-r, r), r = sqrt(6/in); biases zero */
    MLP_INIT_COUNT
} mlp_init;

/* A network: its layers, parameters, gradients, optimizer settings and state, and a workspace
 * for batches. Opaque; create with mlp_net_create (or mlp_net_clone, mlp_model_load, mlp_fit),
 * free with mlp_net_free. */
typedef struct mlp_net mlp_net;

/* What mlp_net_create builds. Its arrays are copied; they may be freed after the call. */
typedef struct mlp_net_config {
    size_t n_layers;                   /* number of weight layers (>= 1) */
    const size_t *sizes;               /* n_layers + 1 widths: input, hidden..., output */
    const mlp_activation *activations; /* n_layers entries, one per weight layer */
    mlp_loss loss;                     /* training loss (see mlp_loss for allowed outputs) */
    mlp_init init;                     /* weight initialisation scheme */
    uint64_t seed;                     /* seed of the initialisation */
} mlp_net_config;

/* Creates a network with initialised weights, zero gradients, the default optimizer (Adam with
 * scikit-learn's settings, see mlp_optimizer_default) and no workspace yet (mlp_net_reserve, or
 * the first batch, allocates it). The config's arrays are copied.
 * Ownership: the caller owns *net and frees it with mlp_net_free.
 * Errors: MLP_ERR_NULL (net, config, sizes or activations is NULL); MLP_ERR_ARG (n_layers 0 or
 * above 4096, a width of 0, an unknown activation / loss / init, softmax before the last layer,
 * exp before the last layer, a loss that does not fit the output activation); MLP_ERR_OVERFLOW (the
 * parameter count does not fit in memory); MLP_ERR_LIMIT (a parameter buffer would exceed
 * mlp_set_memory_limit); MLP_ERR_NOMEM. On failure *net is set to NULL (if net is not NULL). */
MLP_API mlp_status mlp_net_create(mlp_net **net, const mlp_net_config *config);
/* Frees everything the net owns, and the net. Every pointer obtained from it (parameters,
 * gradients, layer views, forward output) becomes invalid. NULL is allowed (no-op). */
MLP_API void mlp_net_free(mlp_net *net);
/* Deep copy: layers, parameters, gradients, optimizer settings and state (moments, step count).
 * The workspace and a pending forward/backward pass are not copied: the clone allocates its own
 * workspace on first use. Reads src only.
 * Ownership: the caller owns *dst (mlp_net_free).
 * Errors: MLP_ERR_NULL (dst or src is NULL), MLP_ERR_NOMEM. On failure *dst is set to NULL (if
 * dst is not NULL). */
MLP_API mlp_status mlp_net_clone(mlp_net **dst, const mlp_net *src);

/* Shape queries: number of weight layers, input width (sizes[0]), output width (sizes[n_layers]).
 * They cannot fail: a NULL net gives 0. */
MLP_API size_t mlp_net_n_layers(const mlp_net *net);
MLP_API size_t mlp_net_input_size(const mlp_net *net);
MLP_API size_t mlp_net_output_size(const mlp_net *net);
/* Input width, output width and activation of one layer (0 .. n_layers-1). Any out-pointer may be
 * NULL; none is written on failure.
 * Errors: MLP_ERR_NULL (net is NULL), MLP_ERR_ARG (layer out of range). */
MLP_API mlp_status mlp_net_layer_shape(const mlp_net *net, size_t layer, size_t *in, size_t *out,
                                       mlp_activation *activation);
/* The net's training loss; MLP_LOSS_SOFTMAX_CE (0) for a NULL net. */
MLP_API mlp_loss mlp_net_loss(const mlp_net *net);
/* Sets the delta of a MLP_LOSS_HUBER net (created with PyTorch's default, 1.0): the loss is
 * quadratic for |p - y| <= delta, linear beyond. Model files keep it. Ends a pending pass.
 * Errors: MLP_ERR_NULL (net is NULL), MLP_ERR_ARG (the net's loss is not HUBER, delta not finite
 * and > 0); nothing changes on failure. */
MLP_API mlp_status mlp_net_set_huber_delta(mlp_net *net, float delta);
/* The delta of a MLP_LOSS_HUBER net; 0 for another loss or a NULL net. */
MLP_API float mlp_net_huber_delta(const mlp_net *net);

/* Parameters: one flat buffer of mlp_net_param_count floats, layer by layer, each W [in x out]
 * then b [out]. mlp_net_grads has the same layout and holds the gradients of the last
 * mlp_backward (or mlp_train_step): zeros before the first one.
 * Ownership: the buffers belong to the net. The pointers stay valid (they never move) until
 * mlp_net_free; writing through them is allowed, for example to set weights or to apply one's own
 * optimizer or an allreduce, but not while another call on the net runs.
 * A NULL net gives 0 / NULL. */
MLP_API size_t mlp_net_param_count(const mlp_net *net);
MLP_API float *mlp_net_params(mlp_net *net);
MLP_API float *mlp_net_grads(mlp_net *net);
/* Views of one layer inside the flat buffers (W: in x out row-major, b: out), valid as long as
 * the buffers. Any out-pointer may be NULL; none is written on failure.
 * Errors: MLP_ERR_NULL (net is NULL), MLP_ERR_ARG (layer out of range). */
MLP_API mlp_status mlp_net_layer_params(mlp_net *net, size_t layer, float **W, float **b);
MLP_API mlp_status mlp_net_layer_grads(mlp_net *net, size_t layer, float **dW, float **db);
/* Copies all parameters out to dst / in from src (count floats, in the flat layout above).
 * Setting parameters keeps the optimizer state (moments, step count): call
 * mlp_net_reset_optimizer for a fresh start.
 * Errors: MLP_ERR_NULL (net or the buffer is NULL), MLP_ERR_SHAPE (count is not
 * mlp_net_param_count). */
MLP_API mlp_status mlp_net_get_params(const mlp_net *net, float *dst, size_t count);
MLP_API mlp_status mlp_net_set_params(mlp_net *net, const float *src, size_t count);

/* Dropout on the outputs of hidden layer `layer` (0 .. n_layers-2): during training passes
 * (mlp_train_step, mlp_forward) each output is zeroed with probability p and the others are
 * scaled by 1/(1-p) (inverted dropout); inference (mlp_predict*) and mlp_loss_value see the whole
 * layer. The masks come from a counter-based generator keyed by the net's seed, its step count
 * and the layer, so a run is reproducible and independent of the thread count; two forward passes
 * before an update use the same masks. 0 (the default) turns it off. Model files keep it (a
 * loaded net trains on with the same dropout).
 * Changing whether a layer has dropout ends a pending pass and makes the next call allocate the
 * workspace again.
 * Errors: MLP_ERR_NULL (net is NULL), MLP_ERR_ARG (layer out of range or the output layer, p not
 * in [0, 1)). */
MLP_API mlp_status mlp_net_set_dropout(mlp_net *net, size_t layer, float p);
/* The layer's dropout probability; 0 for a NULL net or a layer out of range. */
MLP_API float mlp_net_dropout(const mlp_net *net, size_t layer);

/* Arithmetic of the GEMMs of training passes (mlp_train_step, mlp_forward, mlp_backward, and
 * mlp_fit's steps). Parameters, optimizer moments, losses, activations, their derivatives and the
 * update are f32 in every precision; BF16 rounds the GEMMs' operands (weights, layer outputs,
 * deltas, the input batch) to bfloat16 (round to nearest even) and accumulates in f32, as
 * PyTorch's autocast does, on the CPU's matrix units (AMX-BF16, else AVX512_BF16) through oneDNN.
 * Model files always keep the f32 weights; inference (mlp_predict*) runs in f32 unless
 * mlp_net_set_predict_precision says otherwise. */
typedef enum mlp_precision {
    MLP_PRECISION_F32 = 0, /* OpenBLAS sgemm: the default, bit for bit what mlp always did */
    MLP_PRECISION_BF16,    /* bf16 operands, f32 accumulation (oneDNN); needs AVX512_BF16 or AMX */
    MLP_PRECISION_AUTO,    /* BF16 where this CPU and build support it, else F32 */
    MLP_PRECISION_COUNT
} mlp_precision;
/* Sets the precision of the net's training passes (AUTO is resolved here: mlp_net_precision then
 * says which). Ends a pending pass; the workspace is allocated again at the next reserve or step.
 * Results stay bit-identical for any thread count in each precision.
 * Errors: MLP_ERR_NULL (net is NULL), MLP_ERR_ARG (unknown value), MLP_ERR_UNSUPPORTED (BF16 on a
 * build without oneDNN or a CPU without AVX512_BF16 / AMX: the message says which),
 * MLP_ERR_NOMEM / MLP_ERR_LIMIT (the weights' bf16 copy). On failure the net is unchanged. */
MLP_API mlp_status mlp_net_set_precision(mlp_net *net, mlp_precision precision);
/* The net's precision (F32 or BF16); F32 for a NULL net. */
MLP_API mlp_precision mlp_net_precision(const mlp_net *net);
/* 1 if this CPU and build can train in `precision` (F32 and AUTO: always), else 0. */
MLP_API int mlp_precision_supported(mlp_precision precision);
/* What bf16 GEMMs run on here: oneDNN's instruction set ("avx512_core_amx" with AMX,
 * "avx512_core_bf16" with AVX512_BF16 only), or why there are none ("no oneDNN in this build",
 * "no AVX512_BF16 or AMX on this CPU (oneDNN ISA avx2)"). A static string. */
MLP_API const char *mlp_precision_isa(void);
/* Name of a precision: "f32", "bf16", "auto"; NULL out of range. */
MLP_API const char *mlp_precision_name(mlp_precision precision);
/* Arithmetic of inference (mlp_predict, mlp_predict_labels), whatever precision the net trained
 * in: F32 (the default: OpenBLAS sgemm on the f32 weights) or BF16 (the input, the weights and
 * each hidden layer's outputs rounded to bfloat16, f32 accumulation, bias, activations and
 * outputs in f32: the forward pass of a bf16 training step, through oneDNN). AUTO picks BF16
 * where mlp_precision_supported(BF16), else F32. A BF16 prediction rounds the weights at every
 * call (one pass over the parameters, so that it always sees the current ones): it pays for
 * batches of hundreds of rows, not for single rows. It is bit-identical for any thread count and
 * keeps mlp_predict's thread safety; its kernels are made at the first call of each chunk size.
 * Not stored in model files. Not while another call on the net runs.
 * Errors: MLP_ERR_NULL, MLP_ERR_ARG (unknown value), MLP_ERR_UNSUPPORTED (BF16 here: the message
 * says why), MLP_ERR_NOMEM. On failure the setting is unchanged. */
MLP_API mlp_status mlp_net_set_predict_precision(mlp_net *net, mlp_precision precision);
/* The precision mlp_predict runs in (F32 or BF16); F32 for a NULL net. */
MLP_API mlp_precision mlp_net_predict_precision(const mlp_net *net);

/* Sizes the workspace for batches of up to max_batch rows, in one allocation. Calls with larger
 * batches grow it themselves (one allocation each time); it never shrinks. Call this once up
 * front so that no training step allocates. Growing it discards a pending forward pass (a
 * following mlp_backward fails with MLP_ERR_STATE).
 * Errors: MLP_ERR_NULL (net is NULL), MLP_ERR_ARG (max_batch is 0), MLP_ERR_OVERFLOW,
 * MLP_ERR_LIMIT (the workspace would exceed mlp_set_memory_limit), MLP_ERR_NOMEM (the old
 * workspace is kept on either). */
MLP_API mlp_status mlp_net_reserve(mlp_net *net, size_t max_batch);

/* ---------------------------------------------------------------------------------------------
 * Inference. X is n x input_size. Inference only reads the net: any number of threads may call
 * mlp_predict and mlp_predict_labels on one net at the same time, each call with its own scratch
 * (on the stack for small batches, else allocated per call), and each gets the bits a serial call
 * gets. It does not touch the training workspace, so it may be interleaved with training on the
 * same thread (a pending mlp_forward/mlp_backward pair stays valid). Not allowed: inference on a
 * net while another thread trains, changes or frees it. Large n is processed in chunks of
 * max(reserved batch, 1024) rows, so the scratch never grows with n; the chunking decides each
 * row's last bit (GEMM blocking), and it depends on the reserved batch only.
 * Errors: MLP_ERR_NULL (net, X or the output is NULL), MLP_ERR_ARG (n is 0), MLP_ERR_OVERFLOW
 * (n x input_size overflows, or a dimension exceeds BLAS's int range), MLP_ERR_LIMIT or
 * MLP_ERR_NOMEM (the scratch of a large chunk). The output is only complete on MLP_OK.
 */
/* out: n x output_size (class probabilities for a softmax or logistic output), caller-allocated. */
MLP_API mlp_status mlp_predict(const mlp_net *net, const float *X, size_t n, float *out);
/* labels: n entries, caller-allocated: argmax of each output row (ties: lowest index). For a
 * single output the label is 1 when the output >= 0.5, else 0. */
MLP_API mlp_status mlp_predict_labels(const mlp_net *net, const float *X, size_t n,
                                      int32_t *labels);

/* ---------------------------------------------------------------------------------------------
 * Training. The optimizer and its state (moments, step count) live in the net. Training calls
 * never swallow a non-finite value: a NaN or infinity in X or Y, or a loss term or gradient that
 * is not finite, fails the call (MLP_ERR_ARG naming the row and column of X or Y, or
 * MLP_ERR_DIVERGED naming the layer) before any parameter or optimizer state changes. The checks
 * ride on the passes the step makes anyway (each gradient tile is scanned while in cache).
 */
typedef enum mlp_optimizer_kind {
    MLP_OPT_SGD = 0, /* velocity = momentum*velocity - lr*g; Nesterov optional (scikit-learn's) */
    MLP_OPT_ADAM,    /* scikit-learn's Adam: eps is added to sqrt of the uncorrected v */
    MLP_OPT_LBFGS,   /* full-batch L-BFGS: a solver of mlp_fit only (fit.h), not a step optimizer:
                        mlp_net_set_optimizer refuses it */
    MLP_OPT_COUNT
} mlp_optimizer_kind;

/* Optimizer settings. Start from mlp_optimizer_default(kind) and change fields. */
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
 * beta2 0.999, eps 1e-8, with the given kind (not validated here). Cannot fail; any thread. */
MLP_API mlp_optimizer mlp_optimizer_default(mlp_optimizer_kind kind);
/* Sets the optimizer (copied). Changing the kind resets the optimizer state (moments, step
 * count); changing only hyperparameters (for example the learning rate) keeps it.
 * Errors: MLP_ERR_NULL (net or opt is NULL); MLP_ERR_ARG (unknown kind or LBFGS, lr not finite and
 * > 0, alpha not finite and >= 0, and for the chosen kind only: momentum outside [0, 1), nesterov
 * not 0 or 1, beta1 or beta2 outside [0, 1), eps not finite and > 0). Nothing changes on failure.
 */
MLP_API mlp_status mlp_net_set_optimizer(mlp_net *net, const mlp_optimizer *opt);
/* Copies the current settings to *opt.
 * Errors: MLP_ERR_NULL (net or opt is NULL). */
MLP_API mlp_status mlp_net_get_optimizer(const mlp_net *net, mlp_optimizer *opt);
/* Clears moments and the step count (the settings stay). NULL is allowed (no-op). */
MLP_API void mlp_net_reset_optimizer(mlp_net *net);
/* Number of optimizer updates applied so far (Adam's t); 0 for a NULL net. */
MLP_API uint64_t mlp_net_step_count(const mlp_net *net);

/* One training step on a batch: forward, loss, backward, optimizer update. X is n x input_size,
 * Y is n x output_size (one-hot rows for SOFTMAX_CE; 0/1 targets for LOGISTIC; values for
 * SQUARED and HUBER; values >= 0 for POISSON). *loss (may be NULL) receives the batch loss as
 * scikit-learn reports it, L2 included, computed before the update. Allocates nothing once the
 * workspace holds n rows (see mlp_net_reserve). Equivalent to mlp_forward + mlp_backward +
 * mlp_update.
 * Errors: MLP_ERR_NULL (net, X or Y is NULL), MLP_ERR_ARG (n is 0; a NaN or infinity in X or Y,
 * or a negative Y of a POISSON net: the message names its row and column), MLP_ERR_OVERFLOW
 * (n x input_size overflows, or a dimension exceeds BLAS's int range), MLP_ERR_NOMEM (growing the
 * workspace), MLP_ERR_DIVERGED (a loss term or a gradient is not finite: the message names the
 * layer). On all of these the parameters, the optimizer state and the step count are as before
 * the call. One case changes them: finite gradients whose update overflows (an absurd learning
 * rate) give MLP_ERR_DIVERGED with the parameters already updated, as the message says. */
MLP_API mlp_status mlp_train_step(mlp_net *net, const float *X, const float *Y, size_t n,
                                  float *loss);
/* mlp_train_step with per-row sample weights w (n entries, finite and >= 0, not all 0; NULL: all
 * 1, the same bits as mlp_train_step): the loss is sum_i w_i loss_i / sum_i w_i plus
 * alpha/(2 sum_i w_i) sum(W^2), and the gradient is that loss's (scikit-learn >= 1.7's
 * sample_weight). The weights scale the output delta rows; there is no extra pass.
 * Errors: mlp_train_step's, and MLP_ERR_ARG for a weight that is negative or not finite (named by
 * row) or weights summing to 0; nothing changes on these. */
MLP_API mlp_status mlp_train_step_weighted(mlp_net *net, const float *X, const float *Y,
                                           const float *w, size_t n, float *loss);

/* The same step in parts, for callers with their own optimizer or gradient exchange:
 *   mlp_forward  keeps a pointer to X (it must stay valid until mlp_backward) and the activations;
 *   mlp_backward computes the loss and writes the gradients (L2 term included) to mlp_net_grads;
 *   mlp_update   applies the configured optimizer to the current gradients.
 * Between mlp_backward and mlp_update the gradients may be read and rewritten in place (for
 * example averaged across processes). To use one's own optimizer instead, skip mlp_update and
 * write mlp_net_params directly; then call mlp_forward again, since the pending pass used the old
 * parameters.
 *
 * mlp_forward: training forward pass of n rows of X (n x input_size), with the hidden layers'
 * dropout if any (mlp_net_set_dropout); the output is mlp_forward_output. Replaces any pending
 * pass.
 * Errors: MLP_ERR_NULL (net or X is NULL), MLP_ERR_ARG (n is 0), MLP_ERR_OVERFLOW (n x input_size
 * overflows, or a dimension exceeds BLAS's int range), MLP_ERR_NOMEM (growing the workspace). */
MLP_API mlp_status mlp_forward(mlp_net *net, const float *X, size_t n);
/* Output of the last mlp_forward: n x output_size, owned by the net, valid until the next call
 * that changes the net. NULL if there is no pending forward pass (or net is NULL). */
MLP_API const float *mlp_forward_output(const mlp_net *net);
/* Backward pass of the pending forward pass: Y is n x output_size for that pass's n. Overwrites
 * every gradient (they are not accumulated); *loss (may be NULL) receives the batch loss, L2
 * included. May be repeated; the forward pass stays pending until mlp_update.
 * Errors: MLP_ERR_NULL (net or Y is NULL), MLP_ERR_STATE (no pending forward pass: none yet, or
 * it ended with mlp_update, an inference call or a workspace growth), MLP_ERR_ARG (a NaN or
 * infinity in the pass's X or in Y, named by row and column), MLP_ERR_DIVERGED (a loss term or
 * gradient not finite, named by layer). On these failures the gradients are written but marked
 * unusable (mlp_update then fails with MLP_ERR_STATE) and *loss is not written. mlp_loss_value
 * leaves its own forward pass pending. */
MLP_API mlp_status mlp_backward(mlp_net *net, const float *Y, float *loss);
/* mlp_backward with per-row sample weights w (the pass's n entries, or NULL), as
 * mlp_train_step_weighted defines them; same errors, and MLP_ERR_ARG for bad weights. */
MLP_API mlp_status mlp_backward_weighted(mlp_net *net, const float *Y, const float *w, float *loss);
/* Applies the configured optimizer once to the gradients of the last mlp_backward and counts the
 * step (mlp_net_step_count). Ends the pending forward pass.
 * The gradients are checked first (the caller may have rewritten them): a non-finite one gives
 * MLP_ERR_DIVERGED naming its layer, and nothing changes.
 * Errors: MLP_ERR_NULL (net is NULL), MLP_ERR_STATE (no successful mlp_backward since the last
 * forward pass or update), MLP_ERR_DIVERGED (see above; or an update that overflowed from finite
 * gradients, parameters changed). */
MLP_API mlp_status mlp_update(mlp_net *net);

/* Loss of a batch without training (same definition as mlp_train_step's) into *loss. Runs a
 * forward pass on X in the workspace (it replaces a pending one); parameters, gradients and
 * optimizer state are unchanged.
 * Errors: MLP_ERR_NULL (net, X, Y or loss is NULL), MLP_ERR_ARG (n is 0), MLP_ERR_OVERFLOW,
 * MLP_ERR_NOMEM (growing the workspace). */
MLP_API mlp_status mlp_loss_value(mlp_net *net, const float *X, const float *Y, size_t n,
                                  float *loss);

/* ---------------------------------------------------------------------------------------------
 * Threads and BLAS
 */
/* Sets the thread count (n >= 1) of the parallel work in mlp calls made from the calling thread:
 * that thread's OpenMP setting (omp_set_num_threads, which OpenBLAS's OpenMP build follows too)
 * and OpenBLAS's process-wide count (openblas_set_num_threads, for its other builds). Other
 * threads keep their own OpenMP setting (OMP_NUM_THREADS by default). This is the only call that
 * changes thread settings; call it before work, not while another thread runs mlp or BLAS calls.
 * Results do not depend on the thread count.
 * Errors: MLP_ERR_ARG (n < 1). */
MLP_API mlp_status mlp_set_num_threads(int n);
/* Threads that the next parallel region of the calling thread will use (omp_get_max_threads). */
MLP_API int mlp_get_num_threads(void);
/* Threads a training step (mlp_train_step) of net over batches of n rows may use when called
 * from this thread: 1 when called inside a parallel region or when the step is too small to share
 * (a layer-tiled step whose largest GEMM is below 8 MFLOP, a batch-split step below 1 MFLOP),
 * else min(mlp_get_num_threads(), the machine's cores, the step's shards). A step that may use a
 * team runs on it or on one thread, whichever the net measured faster in its recent steps
 * (mlp_net_team_use); the results are the same bits either way.
 * 0 for a NULL net or n = 0. Reads net only. */
MLP_API int mlp_net_step_threads(const mlp_net *net, size_t n);
/* Of net's training steps that could use a team (mlp_net_step_threads > 1): how many ran on it
 * (*team_steps) and how many in all (*steps), since the net was created. Each such step is timed;
 * every 8 to 256 steps a few run on the other choice (the team or one thread), and the net keeps
 * whichever was faster by more than 3%. Why: on machines whose cores share caches or are placed
 * by a hypervisor, the same step can gain 1.8x from a second thread or lose 10% to it, in spells.
 * Errors: MLP_ERR_NULL. */
MLP_API mlp_status mlp_net_team_use(const mlp_net *net, uint64_t *team_steps, uint64_t *steps);
/* How a training step of net over n rows is shared: 1 = its layers' GEMMs are cut into tiles
 * (barriers between layers); S > 1 = a batch split, S shards of rows each run through every layer
 * on one thread and their gradients are added in shard order (f32 nets of at most 65,536
 * parameters). Depends on the net's shape and precision, n and the machine's cores only, never on
 * the thread count: so do the results. 0 for a NULL net or n = 0. */
MLP_API size_t mlp_net_step_shards(const mlp_net *net, size_t n);
/* For a layer-tiled step (mlp_net_step_shards = 1) over n rows: how many parts the first layer's
 * forward GEMM is cut into along its inputs (each part the product of its share of the inputs
 * with the matching rows of W, the parts added in order). 2 or 3 for a wide first layer (at least
 * 2n inputs and 256 per part, a product of at least 8 MFLOP, f32 through OpenBLAS) on a machine
 * of 2 or more cores, else 1. Depends on the net's shape and precision, n and the machine's cores
 * only, never on the thread count. 0 for a NULL net or n = 0. */
MLP_API size_t mlp_net_step_input_parts(const mlp_net *net, size_t n);
/* OpenBLAS kernel family in use, e.g. "Haswell" or "Cooperlake". Static string, never NULL. */
MLP_API const char *mlp_blas_corename(void);
/* 1 if the OpenBLAS linked at run time is its OpenMP build (shares OpenMP's pool with mlp),
 * 0 if it is the pthread or serial build. With a pthread build results stay correct but BLAS
 * threads and OpenMP threads may compete for cores: use mlp_set_num_threads(1) or
 * OPENBLAS_NUM_THREADS=1 then. */
MLP_API int mlp_blas_is_openmp(void);

/* ---------------------------------------------------------------------------------------------
 * Memory limit
 */
/* Sets the most the library will allocate for one purpose, in bytes, process-wide (an atomic:
 * safe to call from any thread): a network (its four parameter-sized buffers together), a batch
 * workspace, a dataset read from CSV or IDX, a model file's contents, and a whole mlp_fit (the
 * network it creates, its workspace, snapshots, data copies and solver memory added up, checked
 * before the fit allocates anything). Calls that would need more fail with MLP_ERR_LIMIT and a
 * message naming the size, before asking the system for memory. 0 restores the default, three
 * quarters of the machine's physical memory (a fit stays well inside the machine, with room for
 * the caller's own data); SIZE_MAX removes the limit. */
MLP_API void mlp_set_memory_limit(size_t bytes);
/* The limit in force, in bytes. */
MLP_API size_t mlp_get_memory_limit(void);

#ifdef __cplusplus
}
#endif

#endif /* MLP_MLP_H */
