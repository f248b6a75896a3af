/*
 * mlp over MPI: data-parallel training (libmlp_mpi, built with -DMLP_WITH_MPI=ON; the core library
 * has no MPI dependency). Link the CMake target mlp_mpi: it brings the static core library
 * (libmlp.a) and MPI::MPI_C. Do not link libmlp.so into the same program as well: mlp_mpi uses
 * the core's internal step API, so the program must have exactly one copy of the core.
 *
 * How a step runs (docs/SCALING.md has the measured costs):
 *  - Every rank holds the same training data and calls mlp_mpi_fit with the same arguments. The
 *    epoch loop is mlp_fit's own (same seed on every rank: same shuffles, same batches); in each
 *    global minibatch of B rows, rank r of P gathers and trains on its contiguous slice of rows
 *    [r*B/P, (r+1)*B/P) only (a rank with no rows when B < P still takes part).
 *  - After the backward pass, ONE MPI_Allreduce (MPI_SUM, in place) over the flat gradient buffer
 *    (n_params floats, each rank's mean gradient scaled by n_local/B) with the batch's data loss
 *    and a failure count packed behind it; then every rank adds the L2 term (alpha/B * W) and
 *    applies the same optimizer step, so parameters stay identical on every rank without any
 *    further communication. Validation scores (early stopping) are computed on every rank alike.
 *  - At the start the parameters and optimizer state are broadcast from rank 0, so a warm start
 *    from a net that only rank 0 holds (for example loaded from a checkpoint) works. Once per
 *    epoch a one-int MPI_Allreduce makes every rank agree on a callback's request to stop.
 *
 * Equivalence: P ranks with global batch B train like one process with batch B, up to float
 * summation order (MLP_MPI_FAST; tests/mpi measures the difference). MLP_MPI_EXACT gives results
 * that are bit-identical for every rank count, including 1 (see mlp_mpi_mode).
 *
 * Threads: MPI must be initialised with MPI_Init_thread(..., MPI_THREAD_FUNNELED, ...) (or a
 * higher level), and mlp_mpi calls must be made from the thread that initialised MPI. Only that
 * thread calls MPI; OpenMP and BLAS threads do the arithmetic. mlp_mpi_default_threads gives the
 * usual thread count per rank (cores / ranks on the node); set it with mlp_set_num_threads.
 *
 * Collective calls: every function taking a communicator is collective over it: all its ranks
 * must call it, in the same order, with the same arguments except where said otherwise. Statuses
 * are agreed: a failure on any rank is returned on every rank (its message, from
 * mlp_last_error, is detailed on the rank that failed). A program that cannot continue after a
 * rank-local failure outside these calls should call MPI_Abort.
 */
#ifndef MLP_MPI_H
#define MLP_MPI_H

#include <mpi.h>

#include "mlp/fit.h"
#include "mlp/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* libmlp_mpi is a static library: its functions carry no export attribute. (They are marked with
 * their own macro, not MLP_API, which lists libmlp.so's exports.) */
#ifndef MLP_MPI_API
#define MLP_MPI_API
#endif

/* How gradients are combined across ranks. */
typedef enum mlp_mpi_mode {
    /* One MPI_Allreduce of floats per step. The result equals single-process training with the
     * same global batch up to float summation order (a different order for every rank count). */
    MLP_MPI_FAST = 0,
    /* Bit-identical results for every rank count P (1 included) on machines of the same kind:
     * each global batch is cut into fixed chunks of `chunk` rows, independent of P; each chunk's
     * gradient is computed on its own (a rank takes a contiguous run of chunks), converted to
     * 64-bit fixed point with a scale per tensor taken from the global maximum magnitude (a small
     * MPI_MAX allreduce), and summed as integers (exact, so the order of the MPI_Allreduce does
     * not matter). Costs: an int64 allreduce (twice the bytes of FAST) plus a tiny one; GEMMs of
     * `chunk` rows; the local chunk gradients are kept until the scale is known
     * (ceil(chunks / P) x n_params floats). The result differs from FAST and from mlp_fit by
     * rounding only (the fixed-point sum is more accurate than a float one). */
    MLP_MPI_EXACT
} mlp_mpi_mode;

/* Settings of mlp_mpi_fit beyond mlp_fit_options. */
typedef struct mlp_mpi_options {
    mlp_mpi_mode mode; /* default MLP_MPI_FAST */
    size_t chunk;      /* MLP_MPI_EXACT: rows per chunk; 0 = 32. Part of the result: the same
                          chunk gives the same result for any rank count */
} mlp_mpi_options;

/* Defaults: MLP_MPI_FAST, chunk 0 (32). Cannot fail; any thread. */
MLP_MPI_API mlp_mpi_options mlp_mpi_options_default(void);

/* mlp_fit (fit.h), data-parallel over comm: same arguments, same semantics, same result up to
 * summation order (see mlp_mpi_mode). Every rank passes the whole training set (X, labels / Y,
 * n, d, k) and the same options; each rank reads only its slice of every minibatch. mpi may be
 * NULL (defaults).
 * *net: if rank 0's *net is not NULL, its network (layers, parameters, optimizer settings and
 * state) is broadcast to every rank first: on the other ranks *net must then be NULL (a net is
 * created, owned by the caller) or a net of the same layers and loss (overwritten). If rank 0's
 * *net is NULL, every rank's must be, and each creates the same network from the options' seed.
 * Either way parameters and optimizer state are broadcast from rank 0 before the first step.
 * On return every rank holds the same parameters; result (may be NULL) is filled on every rank
 * with the same losses, epochs and scores (seconds and samples_per_s are the rank's own timing;
 * samples_per_s counts the global batch).
 * options->callback, if set, is called on the ranks that set it (for example rank 0 only, to
 * print progress); training stops when it returns non-zero on any rank.
 * Errors: those of mlp_fit; MLP_ERR_NULL (options NULL on some rank); MLP_ERR_ARG (comm is
 * MPI_COMM_NULL or an inter-communicator, MPI not initialised or without MPI_THREAD_FUNNELED, an
 * unknown mode, chunk too large); MLP_ERR_SHAPE (a non-root warm-start net whose layers differ
 * from rank 0's); MLP_ERR_STATE (an MPI call failed: the MPI error string is in the message). */
MLP_MPI_API mlp_status mlp_mpi_fit(mlp_net **net, MPI_Comm comm, mlp_task task, const float *X,
                                   const int32_t *labels, const float *Y, size_t n, size_t d,
                                   size_t k, const mlp_fit_options *options,
                                   const mlp_mpi_options *mpi, mlp_fit_result *result);

/* Sends root's network (layers, activations, loss, parameters, optimizer settings and state) to
 * every rank of comm. On root *net must be a net; elsewhere NULL (a net is created; the caller
 * owns it) or a net with the same layers and loss (overwritten in place). On failure a net created
 * here is freed and *net is left NULL.
 * Errors: MLP_ERR_NULL (net NULL, or *net NULL on root); MLP_ERR_ARG (bad root or comm);
 * MLP_ERR_SHAPE (a non-root net of other layers); MLP_ERR_NOMEM; MLP_ERR_STATE (MPI failure). */
MLP_MPI_API mlp_status mlp_mpi_bcast_net(mlp_net **net, int root, MPI_Comm comm);

/* Checkpointing. mlp_mpi_save: root writes the model with mlp_model_save (atomically: temporary
 * file, fsync, rename), the other ranks wait for its status; net and scaler are only read on root
 * (they may be NULL elsewhere). mlp_mpi_load: root reads the file with mlp_model_load and
 * broadcasts the net (as mlp_mpi_bcast_net, *net NULL on every rank before the call) and, when
 * scaler is not NULL on root, the scaler (scaler must then not be NULL on any rank, and be
 * zero-initialised). A checkpoint can be resumed on any number of ranks: pass the loaded net to
 * mlp_mpi_fit (or mlp_fit) as a warm start.
 * Errors: those of mlp_model_save / mlp_model_load on root, returned on every rank; MLP_ERR_ARG
 * (bad root or comm); MLP_ERR_NOMEM; MLP_ERR_STATE (MPI failure). */
MLP_MPI_API mlp_status mlp_mpi_save(const char *path, const mlp_net *net, const mlp_scaler *scaler,
                                    int root, MPI_Comm comm);
MLP_MPI_API mlp_status mlp_mpi_load(const char *path, mlp_net **net, mlp_scaler *scaler, int root,
                                    MPI_Comm comm);

/* Threads per rank that share this node's cores evenly: the node's online cores divided by the
 * ranks of comm on this node (MPI_COMM_TYPE_SHARED), at least 1, and at most the cores this
 * process may run on (its affinity mask, which mpirun's binding narrows). Collective over comm.
 * Returns 1 if an MPI call fails. */
MLP_MPI_API int mlp_mpi_default_threads(MPI_Comm comm);

#ifdef __cplusplus
}
#endif

#endif /* MLP_MPI_H */
