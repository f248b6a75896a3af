/* MPI helpers of libmlp_mpi: error mapping, status agreement, large-buffer collectives. */
#include "mpi_internal.h"

mlp_status mlp_mpi_check(int rc, const char *fn, const char *what) {
    if (rc == MPI_SUCCESS) return MLP_OK;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) len = 0;
    msg[len] = '\0';
    return mlp_fail(MLP_ERR_MPI, "%s: %s failed: %s", fn, what, len ? msg : "unknown MPI error");
}

mlp_status mlp_mpi_check_comm(MPI_Comm comm, const char *fn, int *rank, int *size) {
    int init = 0, fin = 0, level = MPI_THREAD_SINGLE, is_main = 0, inter = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin)
        return mlp_fail(MLP_ERR_ARG, "%s: MPI is %s", fn,
                        fin ? "finalized" : "not initialized (call MPI_Init_thread first)");
    MPI_Query_thread(&level);
    if (level < MPI_THREAD_FUNNELED)
        return mlp_fail(MLP_ERR_ARG,
                        "%s: MPI was initialized with thread level %d; mlp needs "
                        "MPI_THREAD_FUNNELED (MPI_Init_thread) since OpenMP threads do the work",
                        fn, level);
    MPI_Is_thread_main(&is_main);
    if (!is_main)
        return mlp_fail(MLP_ERR_ARG,
                        "%s: called from a thread other than the one that initialized MPI "
                        "(MPI_THREAD_FUNNELED)",
                        fn);
    if (comm == MPI_COMM_NULL) return mlp_fail(MLP_ERR_ARG, "%s: comm is MPI_COMM_NULL", fn);
    mlp_status st = mlp_mpi_check(MPI_Comm_test_inter(comm, &inter), fn, "MPI_Comm_test_inter");
    if (st != MLP_OK) return st;
    if (inter) return mlp_fail(MLP_ERR_ARG, "%s: comm is an inter-communicator", fn);
    st = mlp_mpi_check(MPI_Comm_rank(comm, rank), fn, "MPI_Comm_rank");
    if (st == MLP_OK) st = mlp_mpi_check(MPI_Comm_size(comm, size), fn, "MPI_Comm_size");
    return st;
}

mlp_status mlp_mpi_agree(mlp_status st, MPI_Comm comm, const char *fn) {
    int mine = (int)st, worst = (int)st;
    mlp_status rc = mlp_mpi_check(MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, comm), fn,
                                  "MPI_Allreduce (status)");
    if (st != MLP_OK) return st;
    if (rc != MLP_OK) return rc;
    if (worst == MLP_OK) return MLP_OK;
    return mlp_fail((mlp_status)worst, "%s: failed on another rank (%s)", fn,
                    mlp_strerror((mlp_status)worst));
}

mlp_status mlp_mpi_bcast_buf(void *buf, size_t count, MPI_Datatype type, size_t elem_size, int root,
                             MPI_Comm comm, const char *fn) {
    char *p = buf;
    for (size_t done = 0; done < count;) {
        size_t part = count - done < MLP_MPI_MAX_COUNT ? count - done : MLP_MPI_MAX_COUNT;
        mlp_status st = mlp_mpi_check(MPI_Bcast(p + done * elem_size, (int)part, type, root, comm),
                                      fn, "MPI_Bcast");
        if (st != MLP_OK) return st;
        done += part;
    }
    return MLP_OK;
}

mlp_status mlp_mpi_allreduce_buf(void *buf, size_t count, MPI_Datatype type, size_t elem_size,
                                 MPI_Op op, MPI_Comm comm, const char *fn) {
    char *p = buf;
    for (size_t done = 0; done < count;) {
        size_t part = count - done < MLP_MPI_MAX_COUNT ? count - done : MLP_MPI_MAX_COUNT;
        mlp_status st = mlp_mpi_check(
            MPI_Allreduce(MPI_IN_PLACE, p + done * elem_size, (int)part, type, op, comm), fn,
            "MPI_Allreduce");
        if (st != MLP_OK) return st;
        done += part;
    }
    return MLP_OK;
}
