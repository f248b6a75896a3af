/* Measurements behind docs/SCALING.md (not a test; tests/mpi/scaling.sh runs it). Run under
 * mpirun -np P. Synthetic Fashion-MNIST-sized data (784 features in [0, 1), 10 classes); the step
 * time of a dense net does not depend on the values. Every figure is a median (the machine is
 * shared and noisy): the training set is one batch, so that every epoch is one step and the
 * median over epochs (the first one left out) is the median step. Prints "key value" lines from
 * rank 0:
 *   step_fit_ms        mlp_fit (one process, no MPI), per step (only with P = 1)
 *   step_mpi_ms        mlp_mpi_fit over all ranks, per step (global batch B)
 *   compute_ms         forward + backward of this rank's B/P rows (slowest rank)
 *   allreduce_ms       MPI_Allreduce (MPI_SUM, in place) of n_params + 2 floats (slowest rank)
 *   update_ms          the optimizer update (Adam) over n_params
 *   rows_ms R MS       forward + backward of R rows (with --rows-sweep)
 *   allreduce_bytes_ms N MS   MPI_Allreduce of N bytes of floats (with --size-sweep)
 * Usage:
 *   bench_mpi_step [--hidden 1024,1024] [--batch 200] [--epochs 31] [--threads 1]
 *                  [--mode fast|exact] [--rows-sweep] [--size-sweep]
 */
#include <mlp/fit.h>
#include <mlp/mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, nranks;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Per-epoch training seconds, from the epoch callback. */
typedef struct epochs {
    double t[256];
    size_t n;
} epochs;

static int on_epoch(const mlp_epoch_info *info, void *user) {
    epochs *e = user;
    if (e->n < 256) e->t[e->n++] = info->seconds;
    return 0;
}

/* Median seconds per step over the epochs after the first (warm-up). */
static double per_step(const epochs *e, size_t steps_per_epoch) {
    double d[256];
    size_t m = 0;
    for (size_t i = 1; i < e->n; i++) d[m++] = (e->t[i] - e->t[i - 1]) / (double)steps_per_epoch;
    if (m == 0) return e->n ? e->t[0] / (double)steps_per_epoch : 0.0;
    return median(d, m);
}

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    size_t hidden[8] = {1024, 1024}, n_hidden = 2, batch = 200, n_epochs = 31;
    int threads = 1, rows_sweep = 0, size_sweep = 0;
    mlp_mpi_options mo = mlp_mpi_options_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--hidden")) {
            n_hidden = 0;
            for (char *p = argv[++i]; *p && n_hidden < 8;) {
                hidden[n_hidden++] = strtoul(p, &p, 10);
                if (*p == ',') p++;
            }
        } else if (!strcmp(a, "--batch")) {
            batch = strtoul(v, NULL, 10), i++;
        } else if (!strcmp(a, "--epochs")) {
            n_epochs = strtoul(v, NULL, 10), i++;
        } else if (!strcmp(a, "--threads")) {
            threads = atoi(v), i++;
        } else if (!strcmp(a, "--mode")) {
            mo.mode = !strcmp(v, "exact") ? MLP_MPI_EXACT : MLP_MPI_FAST, i++;
        } else if (!strcmp(a, "--rows-sweep")) {
            rows_sweep = 1;
        } else if (!strcmp(a, "--size-sweep")) {
            size_sweep = 1;
        } else {
            if (rank == 0) fprintf(stderr, "bench_mpi_step: unknown argument %s\n", a);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    mlp_set_num_threads(threads);
    const size_t n = batch < 512 ? 512 : batch; /* rows of X (the rows sweep goes to 512) */
    const size_t d = 784, k = 10;
    float *X = malloc(n * d * sizeof(float));
    int32_t *labels = malloc(n * sizeof(int32_t));
    uint64_t s = 12345;
    for (size_t i = 0; i < n * d; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        X[i] = (float)(s >> 40) / (float)(1 << 24);
    }
    for (size_t i = 0; i < n; i++) labels[i] = (int32_t)(i % k);

    mlp_fit_options o = mlp_fit_options_default();
    o.hidden = hidden;
    o.n_hidden = n_hidden;
    o.batch_size = batch;
    o.max_iter = n_epochs;
    o.tol = 0.0f;
    o.seed = 1;
    epochs e = {.n = 0};
    o.callback = on_epoch;
    o.user = &e;
    const size_t steps_per_epoch = 1;
    if (rank == 0) {
        printf("net 784");
        for (size_t l = 0; l < n_hidden; l++) printf("-%zu", hidden[l]);
        printf("-10 batch %zu ranks %d threads %d mode %s\n", batch, nranks, threads,
               mo.mode == MLP_MPI_EXACT ? "exact" : "fast");
    }

    mlp_net *net = NULL;
    mlp_fit_result r;
    if (nranks == 1) {
        if (mlp_fit(&net, MLP_TASK_CLASSIFY, X, labels, NULL, batch, d, k, &o, &r) != MLP_OK) {
            fprintf(stderr, "mlp_fit: %s\n", mlp_last_error());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        printf("step_fit_ms %.3f\n", 1e3 * per_step(&e, steps_per_epoch));
        mlp_fit_result_free(&r);
        mlp_net_free(net);
        net = NULL;
        e.n = 0;
    }
    if (mlp_mpi_fit(&net, MPI_COMM_WORLD, MLP_TASK_CLASSIFY, X, labels, NULL, batch, d, k, &o, &mo,
                    &r) != MLP_OK) {
        fprintf(stderr, "mlp_mpi_fit: %s\n", mlp_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0) {
        printf("params %zu\n", mlp_net_param_count(net));
        printf("step_mpi_ms %.3f\n", 1e3 * per_step(&e, steps_per_epoch));
    }
    mlp_fit_result_free(&r);

    /* Phases of one step, timed apart. */
    enum { REPS = 21 };
    double t[REPS];
    const size_t np = mlp_net_param_count(net);
    size_t lo = batch * (size_t)rank / (size_t)nranks, hi = batch * (size_t)(rank + 1) / nranks;
    size_t nl = hi - lo > 0 ? hi - lo : 1;
    float *Y = calloc(batch * k, sizeof(float));
    for (size_t i = 0; i < batch; i++) Y[i * k + (size_t)labels[i]] = 1.0f;
    for (int i = 0; i < REPS; i++) {
        double t0 = MPI_Wtime();
        mlp_forward(net, X + lo * d, nl);
        mlp_backward(net, Y + lo * k, NULL);
        t[i] = MPI_Wtime() - t0;
    }
    double compute = median(t, REPS);
    for (int i = 0; i < REPS; i++) {
        mlp_forward(net, X, nl);
        mlp_backward(net, Y, NULL);
        double t0 = MPI_Wtime();
        mlp_update(net);
        t[i] = MPI_Wtime() - t0;
    }
    double update = median(t, REPS);
    float *buf = calloc(np + 2, sizeof(float));
    for (int i = 0; i < REPS; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)(np + 2), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        t[i] = MPI_Wtime() - t0;
    }
    double allreduce = median(t, REPS);
    /* Rank 0 reports the slowest rank's median. */
    double mine[3] = {compute, update, allreduce}, worst[3];
    MPI_Reduce(mine, worst, 3, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("compute_ms %.3f (rows %zu)\n", 1e3 * worst[0], nl);
        printf("update_ms %.3f\n", 1e3 * worst[1]);
        printf("allreduce_ms %.3f (%zu bytes)\n", 1e3 * worst[2], (np + 2) * sizeof(float));
    }

    if (rows_sweep && rank == 0) {
        static const size_t rows[] = {1, 2, 4, 8, 16, 25, 32, 50, 64, 100, 128, 200, 256, 512};
        for (size_t j = 0; j < sizeof rows / sizeof rows[0] && rows[j] <= n; j++) {
            size_t R = rows[j];
            float *YR = calloc(R * k, sizeof(float));
            for (size_t i = 0; i < R; i++) YR[i * k + (size_t)labels[i]] = 1.0f;
            mlp_net_reserve(net, R);
            for (int i = 0; i < REPS; i++) {
                double t0 = MPI_Wtime();
                mlp_forward(net, X, R);
                mlp_backward(net, YR, NULL);
                t[i] = MPI_Wtime() - t0;
            }
            printf("rows_ms %zu %.4f\n", R, 1e3 * median(t, REPS));
            free(YR);
        }
    }
    if (size_sweep) {
        float *big = calloc((size_t)1 << 23, sizeof(float)); /* 32 MiB */
        for (size_t count = 1; count <= ((size_t)1 << 23); count *= 4) {
            for (int i = 0; i < REPS; i++) {
                MPI_Barrier(MPI_COMM_WORLD);
                double t0 = MPI_Wtime();
                MPI_Allreduce(MPI_IN_PLACE, big, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
                t[i] = MPI_Wtime() - t0;
            }
            double m = median(t, REPS), w;
            MPI_Reduce(&m, &w, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
            if (rank == 0) printf("allreduce_bytes_ms %zu %.4f\n", count * sizeof(float), 1e3 * w);
        }
        free(big);
    }
    free(buf);
    free(Y);
    free(X);
    free(labels);
    mlp_net_free(net);
    MPI_Finalize();
    return 0;
}
