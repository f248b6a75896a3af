/* `mpirun -np P mlp train`: data-parallel training through libmlp_mpi, in builds configured with
 * -DMLP_WITH_MPI=ON (which define MLP_WITH_MPI). MPI is initialised only when the process was
 * started by an MPI launcher (or for --deterministic), so a plain `mlp train` of an MPI build runs
 * exactly as in a build without MPI. Without MLP_WITH_MPI these calls fall back to the
 * single-process library calls, and nothing here touches MPI. */
#include "cli.h"

#include <limits.h>
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

/* Sends rank 0's class list to every rank: kind and count, then the values, or the names as one
 * buffer of NUL-terminated strings. */
static mlp_status bcast_classes(const cli_mpi *m, mlp_classes *c) {
    uint64_t h[3] = {0, 0, 0};
    char *buf = NULL;
    if (m->rank == 0) {
        h[0] = (uint64_t)c->kind;
        h[1] = c->n;
        for (size_t i = 0; c->kind == MLP_CLASSES_NAMES && i < c->n; i++)
            h[2] += strlen(c->names[i]) + 1;
    }
    if (MPI_Bcast(h, 3, MPI_UINT64_T, 0, MPI_COMM_WORLD) != MPI_SUCCESS || h[2] > INT_MAX ||
        h[1] > INT_MAX)
        return MLP_ERR_MPI;
    int ok = 1;
    if (m->rank != 0) {
        memset(c, 0, sizeof *c);
        c->kind = (mlp_class_kind)h[0];
        c->n = (size_t)h[1];
        if (c->kind == MLP_CLASSES_NUMBERS) c->values = malloc((c->n + 1) * sizeof(double));
        if (c->kind == MLP_CLASSES_NAMES) c->names = calloc(c->n + 1, sizeof(char *));
        ok = c->kind == MLP_CLASSES_NONE || c->values || c->names;
    }
    buf = malloc((size_t)h[2] + 1);
    ok = ok && buf;
    if (m->rank == 0 && buf)
        for (size_t i = 0, at = 0; c->kind == MLP_CLASSES_NAMES && i < c->n; i++) {
            size_t len = strlen(c->names[i]) + 1;
            memcpy(buf + at, c->names[i], len);
            at += len;
        }
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    mlp_status st = ok ? MLP_OK : MLP_ERR_NOMEM;
    if (ok && c->kind == MLP_CLASSES_NUMBERS)
        st = MPI_Bcast(c->values, (int)c->n, MPI_DOUBLE, 0, MPI_COMM_WORLD) == MPI_SUCCESS
                 ? MLP_OK
                 : MLP_ERR_MPI;
    if (ok && c->kind == MLP_CLASSES_NAMES)
        st = MPI_Bcast(buf, (int)h[2], MPI_CHAR, 0, MPI_COMM_WORLD) == MPI_SUCCESS ? MLP_OK
                                                                                   : MLP_ERR_MPI;
    for (size_t i = 0, at = 0; st == MLP_OK && m->rank != 0 && c->names && i < c->n; i++) {
        size_t len = strlen(buf + at) + 1;
        if (!(c->names[i] = malloc(len))) st = MLP_ERR_NOMEM;
        if (st == MLP_OK) memcpy(c->names[i], buf + at, len);
        at += len;
    }
    free(buf);
    if (st != MLP_OK && m->rank != 0) mlp_classes_free(c);
    return st;
}

mlp_status cli_mpi_load(const cli_mpi *m, const char *path, mlp_net **net, mlp_scaler *scaler,
                        mlp_classes *classes) {
    if (!m->active) return mlp_model_load_classes(path, net, scaler, classes);
    mlp_status st = mlp_mpi_load(path, net, scaler, 0, MPI_COMM_WORLD);
    if (st != MLP_OK || !classes) return st;
    /* The class list: rank 0 reads it from the same file, every rank gets it. */
    memset(classes, 0, sizeof *classes);
    mlp_net *tmp = NULL;
    int code = m->rank == 0 ? (int)mlp_model_load_classes(path, &tmp, NULL, classes) : 0;
    mlp_net_free(tmp);
    MPI_Allreduce(MPI_IN_PLACE, &code, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (code == MLP_OK) code = (int)bcast_classes(m, classes);
    if (code != MLP_OK) {
        mlp_net_free(*net);
        *net = NULL;
        if (m->rank == 0) mlp_classes_free(classes);
    }
    return (mlp_status)code;
}

mlp_status cli_mpi_save(const cli_mpi *m, const char *path, const mlp_net *net,
                        const mlp_scaler *scaler, const mlp_classes *classes) {
    if (!m->active) return mlp_model_save_classes(path, net, scaler, classes);
    /* Rank 0 writes (atomically); every rank gets its status. */
    int code = m->rank == 0 ? (int)mlp_model_save_classes(path, net, scaler, classes) : 0;
    if (MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS) return MLP_ERR_MPI;
    return (mlp_status)code;
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

mlp_status cli_mpi_load(const cli_mpi *m, const char *path, mlp_net **net, mlp_scaler *scaler,
                        mlp_classes *classes) {
    (void)m;
    return mlp_model_load_classes(path, net, scaler, classes);
}

mlp_status cli_mpi_save(const cli_mpi *m, const char *path, const mlp_net *net,
                        const mlp_scaler *scaler, const mlp_classes *classes) {
    (void)m;
    return mlp_model_save_classes(path, net, scaler, classes);
}

#endif
