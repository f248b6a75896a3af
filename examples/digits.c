/* The digits example: hidden 50, ReLU, Adam, max_iter 500, seed 42, on scikit-learn's
 * train_test_split(test_size=0.2, random_state=42) split of the shipped digits set.
 * Usage: digits [DATA_DIR]   (default: the source tree's data/) */
#include <mlp/data.h>
#include <mlp/fit.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, mlp_status st) {
    fprintf(stderr, "digits: %s: %s: %s\n", what, mlp_strerror(st), mlp_last_error());
    return 1;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : MLP_DATA_DIR;
    char path[4096];
    mlp_dataset all = {0}, train = {0}, test = {0};
    size_t *rows = NULL, nrows = 0;
    mlp_status st;
    int rc = 1;

    snprintf(path, sizeof path, "%s/digits.csv.gz", dir);
    mlp_csv_options csv = mlp_csv_options_default();
    csv.header = 0;
    if ((st = mlp_read_csv(path, &csv, &all)) != MLP_OK) return fail(path, st);
    snprintf(path, sizeof path, "%s/digits_split_rs42_train.txt", dir);
    if ((st = mlp_read_row_indices(path, all.n, &rows, &nrows)) != MLP_OK ||
        (st = mlp_dataset_subset(&all, rows, nrows, &train)) != MLP_OK) {
        rc = fail(path, st);
        goto out;
    }
    free(rows);
    rows = NULL;
    snprintf(path, sizeof path, "%s/digits_split_rs42_test.txt", dir);
    if ((st = mlp_read_row_indices(path, all.n, &rows, &nrows)) != MLP_OK ||
        (st = mlp_dataset_subset(&all, rows, nrows, &test)) != MLP_OK) {
        rc = fail(path, st);
        goto out;
    }

    static const size_t hidden[] = {50};
    mlp_fit_options opt = mlp_fit_options_default();
    opt.hidden = hidden;
    opt.n_hidden = 1;
    opt.max_iter = 500;
    opt.seed = 42;
    mlp_net *net = NULL;
    mlp_fit_result res;
    st = mlp_fit(&net, MLP_TASK_CLASSIFY, train.X, train.labels, NULL, train.n, train.d,
                 all.n_classes, &opt, &res);
    if (st != MLP_OK) {
        rc = fail("fit", st);
        mlp_net_free(net);
        goto out;
    }
    double acc;
    mlp_score_accuracy(net, test.X, test.labels, test.n, &acc);
    int32_t pred;
    mlp_predict_labels(net, test.X, 1, &pred);
    printf("trained %zu epochs (%s), loss %.6f, %.3f s, %.2fM samples/s\n", res.epochs,
           res.converged ? "converged" : "hit max_iter", (double)res.loss, res.seconds,
           res.samples_per_s / 1e6);
    printf("Accuracy: %.2f%%\n", 100.0 * acc);
    printf("Sample 0: predicted %d, actual %d\n", (int)pred, (int)test.labels[0]);
    mlp_fit_result_free(&res);
    mlp_net_free(net);
    rc = 0;
out:
    free(rows);
    mlp_dataset_free(&all);
    mlp_dataset_free(&train);
    mlp_dataset_free(&test);
    return rc;
}
