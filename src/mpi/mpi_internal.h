/* Declarations shared by libmlp_mpi's source files:
 *   mpi_util.c  MPI error mapping, status agreement, collectives over buffers larger than an int
 *   mpi_fit.c   mlp_mpi_fit: the data-parallel batch steps (FAST and EXACT) plugged into fit()
 *   mpi_net.c   broadcast of a network, rank-0 save and load, threads per rank
 * libmlp_mpi sees the public API and two declared seams, nothing of mlp_net's fields:
 *   fit/fit_step.h   mlp_fit_with_step, fit's epoch loop with a batch step of its own;
 *   core/state.h     the training state (to broadcast it) and the end of a step on reduced
 *                    gradients (mlp_finish_reduced_step);
 * plus base/base.h's error and allocation helpers. These are not exported by libmlp.so, so it
 * links the static core library. */
#ifndef MLP_MPI_INTERNAL_H
#define MLP_MPI_INTERNAL_H

#include "base/base.h"
#include "core/state.h"
#include "fit/fit_step.h"
#include "mlp/mpi.h"

/* Largest element count passed to one MPI call (counts are int); longer buffers go in pieces. */
#define MLP_MPI_MAX_COUNT ((size_t)1 << 30)

/* MLP_OK if rc is MPI_SUCCESS, else records "<fn>: <what> failed: <MPI error string>" and returns
 * MLP_ERR_MPI. (With MPI's default error handler a failing call aborts the job first.) */
mlp_status mlp_mpi_check(int rc, const char *fn, const char *what);

/* Checks that MPI is initialised (not finalised) with at least MPI_THREAD_FUNNELED, that this is
 * the thread that initialised it, and that comm is an intra-communicator; gives rank and size.
 * Local: no communication (so it cannot be agreed on). */
mlp_status mlp_mpi_check_comm(MPI_Comm comm, const char *fn, int *rank, int *size);

/* Collective: every rank learns whether any rank failed. Returns st if it is a failure; otherwise
 * the largest status of the other ranks, with the message "<fn>: failed on another rank (<what
 * it was>)" recorded on this rank; MLP_OK if every rank passed MLP_OK. */
mlp_status mlp_mpi_agree(mlp_status st, MPI_Comm comm, const char *fn);

/* Collectives over count elements of type (float, int64, ...; elem_size bytes each), issued in
 * pieces of at most MLP_MPI_MAX_COUNT elements (one call for any buffer below 2^30 elements). */
mlp_status mlp_mpi_bcast_buf(void *buf, size_t count, MPI_Datatype type, size_t elem_size, int root,
                             MPI_Comm comm, const char *fn);
mlp_status mlp_mpi_allreduce_buf(void *buf, size_t count, MPI_Datatype type, size_t elem_size,
                                 MPI_Op op, MPI_Comm comm, const char *fn);

#endif /* MLP_MPI_INTERNAL_H */
