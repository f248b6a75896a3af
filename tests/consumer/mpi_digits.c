/* Data-parallel training by a program outside the mlp tree, against an installed mlp built with
 * MLP_WITH_MPI: libmlp_mpi through find_package(mlp COMPONENTS mpi) (mlp::mpi) or mlp-mpi.pc.
 * Every rank reads the installed digits data, mlp_mpi_fit trains a 64-32-10 net over all ranks,
 * and every rank must end with rank 0's parameters, bit for bit, and a training accuracy of at
 * least 0.9. Run by the consumer test under mpirun with 2 ranks.
 * usage: mpirun -np P mpi_digits DATA_DIR   (DATA_DIR holds digits.csv.gz)
 * Exit status 0 on every rank if all of it holds. */
#include <mlp/data.h>
#include <mlp/fit.h>
#include <mlp/mlp.h>
#include <mlp/mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int train(const char *dir, int rank, int nranks) {
    char path[4096];
    snprintf(path, sizeof path, "%s/digits.csv.gz", dir);
    mlp_dataset ds = {0};
    mlp_csv_options csv = mlp_csv_options_default();
    csv.header = 0;
    mlp_status st = mlp_read_csv(path, &csv, &ds);
    if (st != MLP_OK) {
        fprintf(stderr, "mpi_digits: rank %d: %s: %s\n", rank, path, mlp_last_error());
        return 0;
    }
    const size_t hidden[] = {32};
    mlp_fit_options o = mlp_fit_options_default();
    o.n_hidden = 1;
    o.hidden = hidden;
    o.max_iter = 30;
    o.seed = 7;
    mlp_net *net = NULL;
    mlp_fit_result res = {0};
    st = mlp_mpi_fit(&net, MPI_COMM_WORLD, MLP_TASK_CLASSIFY, ds.X, ds.labels, NULL, ds.n, ds.d,
                     ds.n_classes, &o, NULL, &res);
    double acc = 0.0;
    if (st == MLP_OK) st = mlp_score_accuracy(net, ds.X, ds.labels, ds.n, &acc);
    int ok = st == MLP_OK && acc >= 0.9;
    if (st != MLP_OK)
        fprintf(stderr, "mpi_digits: rank %d: %s: %s\n", rank, mlp_strerror(st), mlp_last_error());

    /* Every rank must hold rank 0's parameters. */
    size_t count = mlp_net_param_count(net);
    float *root = count ? malloc(count * sizeof *root) : NULL;
    int same = 0;
    if (st == MLP_OK && root) {
        memcpy(root, mlp_net_params(net), count * sizeof *root);
        MPI_Bcast(root, (int)count, MPI_FLOAT, 0, MPI_COMM_WORLD);
        same = memcmp(root, mlp_net_params(net), count * sizeof *root) == 0;
    }
    ok = ok && same;
    if (rank == 0)
        printf("mpi_digits: %d ranks, %zu epochs, %zu parameters, training accuracy %.4f, "
               "parameters %s on every rank\n",
               nranks, res.epochs, count, acc, same ? "equal" : "NOT equal");
    free(root);
    mlp_fit_result_free(&res);
    mlp_net_free(net);
    mlp_dataset_free(&ds);
    return ok;
}

int main(int argc, char **argv) {
    int provided = 0, rank = 0, nranks = 1;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    int ok = argc == 2 && provided >= MPI_THREAD_FUNNELED && train(argv[1], rank, nranks);
    if (argc != 2 && rank == 0) fprintf(stderr, "usage: mpirun -np P mpi_digits DATA_DIR\n");
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Finalize();
    return all ? 0 : 1;
}
