/* `mpirun -np P mlp train`: data-parallel training through libmlp_mpi, in builds configured with
 * -DMLP_WITH_MPI=ON (which define MLP_WITH_MPI). MPI is initialised only when the process was
 * started by an MPI launcher (or for --deterministic), so a plain `mlp train` of an MPI build runs
 * exactly as in a build without MPI. Without MLP_WITH_MPI these calls fall back to the
 * single-process library calls, and nothing here touches MPI. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#ifdef MLP_WITH_MPI
#include <mlp/mpi.h>
#endif

int cli_rank = 0;

/* Variables that MPI launchers set in every process they start: Open MPI's mpirun, PMIx
 * (Open MPI 4+, Slurm's srun --mpi=pmix), PMI-1/2 (MPICH's Hydra, srun). */
static const char *const size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", NULL};
static const char *const rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", NULL};

static long env_long(const char *const *names) {
    for (size_t i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) {
            char *end;
            long x = strtol(v, &end, 10);
            if (*end == '\0' && x >= 0) return x;
        }
    }
    return -1;
}

int cli_mpi_launched(void) {
    long size = env_long(size_vars);
    if (size >= 1) return size < 1000000 ? (int)size : 1000000;
    return env_long(rank_vars) >= 0 ? 1 : 0;
}

void cli_mpi_early_rank(void) {
    long r = env_long(rank_vars);
    cli_rank = r > 0 && r < 1000000 ? (int)r : 0;
}

#ifdef MLP_WITH_MPI

int cli_mpi_available(void) {
    return 1;
}

int cli_mpi_init(cli_mpi *m, int force) {
    memset(m, 0, sizeof *m);
    m->size = 1;
    if (!force && !cli_mpi_launched()) return 0;
    int provided = MPI_THREAD_SINGLE;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return cli_error("MPI_Init_thread failed");
    m->active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);
    cli_rank = m->rank;
    if (provided < MPI_THREAD_FUNNELED) {
        cli_error("the MPI library provides thread level %d, mlp needs MPI_THREAD_FUNNELED",
                  provided);
        MPI_Abort(MPI_COMM_WORLD, CLI_EXIT_RUNTIME);
    }
    return 0;
}

void cli_mpi_finalize(cli_mpi *m) {
    if (m->active) MPI_Finalize();
    m->active = 0;
}

int cli_mpi_agree(const cli_mpi *m, int rc) {
    if (!m->active) return rc;
    int worst = rc;
    if (MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
        return CLI_EXIT_RUNTIME;
    return worst;
}

int cli_mpi_default_threads(const cli_mpi *m) {
    return m->active ? mlp_mpi_default_threads(MPI_COMM_WORLD) : mlp_get_num_threads();
}

mlp_status cli_mpi_fit(const cli_mpi *m, int deterministic, mlp_net **net, mlp_task task,
                       const mlp_dataset *ds, size_t n_classes_or_targets, const mlp_fit_options *o,
                       mlp_fit_result *r) {
    /* One process in FAST mode is plain mlp_fit: `mpirun -np 1 mlp train` = `mlp train`. */
    if (!m->active || (m->size == 1 && !deterministic))
        return mlp_fit(net, task, ds->X, ds->labels, ds->targets, ds->n, ds->d,
                       n_classes_or_targets, o, r);
    mlp_mpi_options mo = mlp_mpi_options_default();
    mo.mode = deterministic ? MLP_MPI_EXACT : MLP_MPI_FAST;
    return mlp_mpi_fit(net, MPI_COMM_WORLD, task, ds->X, ds->labels, ds->targets, ds->n, ds->d,
                       n_classes_or_targets, o, &mo, r);
}

mlp_status cli_mpi_load(const cli_mpi *m, const char *path, mlp_net **net, mlp_scaler *scaler) {
    if (!m->active) return mlp_model_load(path, net, scaler);
    return mlp_mpi_load(path, net, scaler, 0, MPI_COMM_WORLD);
}

mlp_status cli_mpi_save(const cli_mpi *m, const char *path, const mlp_net *net,
                        const mlp_scaler *scaler) {
    if (!m->active) return mlp_model_save(path, net, scaler);
    return mlp_mpi_save(path, net, scaler, 0, MPI_COMM_WORLD);
}

#else /* no MPI: the single-process calls */

int cli_mpi_available(void) {
    return 0;
}

int cli_mpi_init(cli_mpi *m, int force) {
    (void)force;
    memset(m, 0, sizeof *m);
    m->size = 1;
    return 0;
}

void cli_mpi_finalize(cli_mpi *m) {
    (void)m;
}

int cli_mpi_agree(const cli_mpi *m, int rc) {
    (void)m;
    return rc;
}

int cli_mpi_default_threads(const cli_mpi *m) {
    (void)m;
    return mlp_get_num_threads();
}

mlp_status cli_mpi_fit(const cli_mpi *m, int deterministic, mlp_net **net, mlp_task task,
                       const mlp_dataset *ds, size_t n_classes_or_targets, const mlp_fit_options *o,
                       mlp_fit_result *r) {
    (void)m;
    (void)deterministic;
    return mlp_fit(net, task, ds->X, ds->labels, ds->targets, ds->n, ds->d, n_classes_or_targets, o,
                   r);
}

mlp_status cli_mpi_load(const cli_mpi *m, const char *path, mlp_net **net, mlp_scaler *scaler) {
    (void)m;
    return mlp_model_load(path, net, scaler);
}

mlp_status cli_mpi_save(const cli_mpi *m, const char *path, const mlp_net *net,
                        const mlp_scaler *scaler) {
    (void)m;
    return mlp_model_save(path, net, scaler);
}

#endif
