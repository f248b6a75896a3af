/*
 * mlp side of bench/compare: a worker that reads one command per line on stdin and prints one
 * JSON line per command on stdout. It uses the public API only (mlp_fit, mlp_predict,
 * mlp_train_step), as a user's program would. bench/compare/compare.py drives it; see README.md.
 *
 *   mlp_driver THREADS DATA_DIR [PRECISION]   (f32, bf16 or auto: the precision of its training)
 *   commands:  info | epoch MIN_S | fit | predict BATCH MIN_S | big_step MIN_S | big_gemm MIN_S
 *              | f100_fit EPOCHS IMAGES.idx LABELS.idx | quit
 *
 * Every timed block repeats a fixed unit of work (a chunk of epochs, a pass of predictions, one
 * step) until at least MIN_S seconds have passed, after a warm-up, and reports samples/s over
 * the whole block. Process start and data loading are never timed.
 * f100_fit times one whole 784-100-10 fit of a fixed number of epochs on the IDX files that
 * compare.py prepared (Fashion-MNIST's first rows, or its synthetic stand-in), loaded and scaled to
 * [0, 1] once per process, untimed.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlp/data.h"
#include "mlp/fit.h"
#include "mlp/mlp.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, mlp_status st) {
    printf("{\"error\": \"%s: %s: %s\"}\n", what, mlp_strerror(st), mlp_last_error());
    fflush(stdout);
    exit(1);
}
#define CHECK(call)                                                                                \
    do {                                                                                           \
        mlp_status st_ = (call);                                                                   \
        if (st_ != MLP_OK) die(#call, st_);                                                        \
    } while (0)

static mlp_dataset all, train, test;

static void load_digits(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/digits.csv.gz", dir);
    CHECK(mlp_read_csv(path, NULL, &all));
    const char *names[2] = {"train", "test"};
    mlp_dataset *dst[2] = {&train, &test};
    for (int i = 0; i < 2; i++) {
        size_t *rows, n;
        snprintf(path, sizeof path, "%s/digits_split_rs42_%s.txt", dir, names[i]);
        CHECK(mlp_read_row_indices(path, all.n, &rows, &n));
        CHECK(mlp_dataset_subset(&all, rows, n, dst[i]));
        free(rows);
    }
}

static const size_t kHidden[] = {50};
/* The precision every fit and step of this worker trains in (mlp_fit_options.precision). */
static mlp_precision g_precision = MLP_PRECISION_F32;

/* scikit-learn's MLPClassifier(hidden_layer_sizes=(50,), random_state=42) as mlp_fit options. */
static mlp_fit_options digits_options(size_t max_iter, int never_stop) {
    mlp_fit_options o = mlp_fit_options_default();
    o.precision = g_precision;
    o.n_hidden = 1;
    o.hidden = kHidden;
    o.max_iter = max_iter;
    o.seed = 42;
    if (never_stop) { /* run exactly max_iter epochs */
        o.tol = 0.0f;
        o.n_iter_no_change = 1000000000;
    }
    return o;
}

static void fit_epochs(mlp_net **net, size_t epochs) {
    mlp_fit_options o = digits_options(epochs, 1);
    CHECK(mlp_fit(net, MLP_TASK_CLASSIFY, train.X, train.labels, NULL, train.n, train.d, 10, &o,
                  NULL));
}

/* Steady-state training: mlp_fit continued (warm start) in chunks of epochs. */
static void cmd_epoch(double min_s) {
    mlp_net *net = NULL;
    fit_epochs(&net, 20); /* warm-up (creates the net) */
    const size_t chunk = 50;
    size_t epochs = 0;
    double t0 = now(), dt;
    do {
        fit_epochs(&net, chunk);
        epochs += chunk;
        dt = now() - t0;
    } while (dt < min_s);
    printf("{\"samples_per_s\": %.6g, \"seconds\": %.6g, \"epochs\": %zu}\n",
           (double)(epochs * train.n) / dt, dt, epochs);
    mlp_net_free(net);
}

/* Whole fit to convergence: scikit-learn's defaults and stopping rule, max_iter 500, seed 42. */
static void cmd_fit(void) {
    mlp_net *net = NULL;
    mlp_fit_options o = digits_options(500, 0);
    mlp_fit_result res;
    double t0 = now();
    CHECK(mlp_fit(&net, MLP_TASK_CLASSIFY, train.X, train.labels, NULL, train.n, train.d, 10, &o,
                  &res));
    double dt = now() - t0;
    double acc;
    CHECK(mlp_score_accuracy(net, test.X, test.labels, test.n, &acc));
    printf("{\"seconds\": %.6g, \"epochs\": %zu, \"accuracy\": %.6g, \"samples_per_s\": %.6g, "
           "\"converged\": %s, \"fit_seconds_reported\": %.6g}\n",
           dt, res.epochs, acc, (double)(res.epochs * train.n) / dt,
           res.converged ? "true" : "false", res.seconds);
    mlp_fit_result_free(&res);
    mlp_net_free(net);
}

/* Inference (class probabilities) of the digits net on the full 1797-row set: batch 1 is one
 * mlp_predict call per row, batch 1797 one call for all rows. */
static void cmd_predict(size_t batch, double min_s) {
    mlp_net *net = NULL;
    fit_epochs(&net, 10); /* some trained weights */
    CHECK(mlp_net_reserve(net, batch));
    float *out = malloc(all.n * 10 * sizeof(float));
    size_t samples = 0;
    double t0 = 0.0, dt = 0.0;
    for (int pass = -1; pass < 0 || dt < min_s; pass++) { /* pass -1: warm-up */
        if (pass == 0) t0 = now();
        for (size_t i = 0; i < all.n; i += batch) {
            size_t nb = all.n - i < batch ? all.n - i : batch;
            CHECK(mlp_predict(net, all.X + i * all.d, nb, out + i * 10));
        }
        if (pass >= 0) {
            samples += all.n;
            dt = now() - t0;
        }
    }
    printf("{\"samples_per_s\": %.6g, \"seconds\": %.6g, \"checksum\": %.6g}\n",
           (double)samples / dt, dt, (double)out[7]);
    free(out);
    mlp_net_free(net);
}

/* 784-1024-1024-10 (ReLU, softmax cross-entropy, Adam) at batch 256. */
static const size_t kBig[] = {784, 1024, 1024, 10};
enum { BIG_N = 256, BIG_L = 3 };

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float uniform01(void) { /* xorshift64*, top 24 bits */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (float)((rng_state * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f;
}

static void cmd_big_step(double min_s) {
    mlp_activation acts[BIG_L] = {MLP_ACT_RELU, MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net_config cfg = {BIG_L, kBig, acts, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 42};
    mlp_net *net;
    CHECK(mlp_net_create(&net, &cfg));
    CHECK(mlp_net_set_precision(net, g_precision));
    CHECK(mlp_net_reserve(net, BIG_N));
    float *X = malloc(BIG_N * 784 * sizeof(float)), *Y = calloc(BIG_N * 10, sizeof(float));
    for (size_t i = 0; i < BIG_N * 784; i++) X[i] = uniform01();
    for (size_t i = 0; i < BIG_N; i++) Y[i * 10 + (size_t)(uniform01() * 10.0f)] = 1.0f;
    float loss = 0.0f;
    for (int w = 0; w < 2; w++) CHECK(mlp_train_step(net, X, Y, BIG_N, &loss));
    size_t steps = 0;
    double t0 = now(), dt;
    do {
        CHECK(mlp_train_step(net, X, Y, BIG_N, &loss));
        steps++;
        dt = now() - t0;
    } while (dt < min_s || steps < 3);
    printf("{\"samples_per_s\": %.6g, \"seconds\": %.6g, \"steps\": %zu, \"loss\": %.6g}\n",
           (double)(steps * BIG_N) / dt, dt, steps, (double)loss);
    free(X);
    free(Y);
    mlp_net_free(net);
}

/* The same step's GEMMs alone, straight through cblas_sgemm (bench_mlp's BM_big_floor): forward
 * A[l+1] = A[l] W[l]; backward dW[l] += A[l]^T D, and D W[l]^T for every layer but the first. */
static void cmd_big_gemm(double min_s) {
    const int N = BIG_N;
    float *W[BIG_L], *dW[BIG_L], *A[BIG_L + 1];
    float *D0 = malloc((size_t)N * 1024 * sizeof(float)),
          *D1 = malloc((size_t)N * 1024 * sizeof(float));
    for (size_t i = 0; i < (size_t)N * 1024; i++) D0[i] = D1[i] = 0.01f;
    for (int l = 0; l < BIG_L; l++) {
        size_t sz = kBig[l] * kBig[l + 1];
        W[l] = malloc(sz * sizeof(float));
        dW[l] = calloc(sz, sizeof(float));
        for (size_t i = 0; i < sz; i++) W[l][i] = 0.01f;
    }
    for (int l = 0; l <= BIG_L; l++) {
        A[l] = malloc((size_t)N * kBig[l] * sizeof(float));
        for (size_t i = 0; i < (size_t)N * kBig[l]; i++) A[l][i] = 0.5f;
    }
    size_t steps = 0;
    double t0 = 0.0, dt = 0.0;
    for (int it = -2; it < 0 || dt < min_s || steps < 3; it++) { /* two warm-up passes */
        if (it == 0) t0 = now();
        for (int l = 0; l < BIG_L; l++) {
            int in = (int)kBig[l], out = (int)kBig[l + 1];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, out, in, 1.0f, A[l], in, W[l],
                        out, 0.0f, A[l + 1], out);
        }
        for (int l = BIG_L - 1; l >= 0; l--) {
            int in = (int)kBig[l], out = (int)kBig[l + 1];
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, N, 1.0f / (float)N, A[l],
                        in, D0, out, 1.0f, dW[l], out);
            if (l > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, in, out, 1.0f, D0, out,
                            W[l], out, 0.0f, D1, in);
        }
        if (it >= 0) {
            steps++;
            dt = now() - t0;
        }
    }
    printf("{\"samples_per_s\": %.6g, \"seconds\": %.6g, \"steps\": %zu}\n",
           (double)(steps * BIG_N) / dt, dt, steps);
    for (int l = 0; l < BIG_L; l++) {
        free(W[l]);
        free(dW[l]);
    }
    for (int l = 0; l <= BIG_L; l++) free(A[l]);
    free(D0);
    free(D1);
}

/* 784-100-10 (ReLU, softmax; Adam, batch 200, lr 1e-3, alpha 1e-4: scikit-learn's defaults) for
 * exactly EPOCHS epochs (tol 0, no early stop) on an IDX image/label pair, pixels scaled to
 * [0, 1]. Times the whole mlp_fit call (net creation included); data loading is not timed. */
static mlp_dataset f100;
static char f100_images[4096];
static const size_t kF100Hidden[] = {100};

static void cmd_f100_fit(const char *line) {
    unsigned long epochs = 0;
    char images[4096], labels[4096];
    if (sscanf(line, "%*s %lu %4095s %4095s", &epochs, images, labels) != 3 || epochs == 0) {
        printf("{\"error\": \"usage: f100_fit EPOCHS IMAGES LABELS\"}\n");
        return;
    }
    if (strcmp(images, f100_images) != 0) { /* load once per process (untimed) */
        mlp_dataset_free(&f100);
        CHECK(mlp_read_idx(images, labels, &f100));
        for (size_t i = 0; i < f100.n * f100.d; i++) f100.X[i] /= 255.0f;
        snprintf(f100_images, sizeof f100_images, "%s", images);
    }
    mlp_fit_options o = mlp_fit_options_default();
    o.precision = g_precision;
    o.n_hidden = 1;
    o.hidden = kF100Hidden;
    o.opt = mlp_optimizer_default(MLP_OPT_ADAM);
    o.batch_size = 200;
    o.max_iter = epochs;
    o.tol = 0.0f;
    o.n_iter_no_change = 1000000000;
    o.seed = 42;
    mlp_net *net = NULL;
    mlp_fit_result res;
    double t0 = now();
    CHECK(
        mlp_fit(&net, MLP_TASK_CLASSIFY, f100.X, f100.labels, NULL, f100.n, f100.d, 10, &o, &res));
    double dt = now() - t0;
    printf("{\"seconds\": %.6g, \"epochs\": %zu, \"rows\": %zu, \"samples_per_s\": %.6g, "
           "\"loss\": %.6g, \"fit_seconds_reported\": %.6g, \"steps\": %zu}\n",
           dt, res.epochs, f100.n, (double)(res.epochs * f100.n) / dt, (double)res.loss,
           res.seconds, res.steps);
    mlp_fit_result_free(&res);
    mlp_net_free(net);
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s THREADS DATA_DIR [f32|bf16|auto]\n", argv[0]);
        return 2;
    }
    if (argc == 4)
        g_precision = !strcmp(argv[3], "bf16")   ? MLP_PRECISION_BF16
                      : !strcmp(argv[3], "auto") ? MLP_PRECISION_AUTO
                                                 : MLP_PRECISION_F32;
    if (!mlp_precision_supported(g_precision)) {
        printf("{\"error\": \"precision %s: %s\"}\n", argv[3], mlp_precision_isa());
        return 1;
    }
    int threads = atoi(argv[1]);
    CHECK(mlp_set_num_threads(threads));
    load_digits(argv[2]);
    static char line[16384];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "";
        double a = 0.0, b = 0.0;
        int n = sscanf(line, "%31s %lf %lf", cmd, &a, &b);
        if (n < 1) continue;
        if (!strcmp(cmd, "quit")) break;
        if (!strcmp(cmd, "info"))
            printf("{\"tool\": \"mlp\", \"version\": \"%s\", \"core\": \"%s\", \"threads\": %d, "
                   "\"blas_openmp\": %s, \"precision\": \"%s\", \"bf16_isa\": \"%s\"}\n",
                   mlp_version(), mlp_blas_corename(), mlp_get_num_threads(),
                   mlp_blas_is_openmp() ? "true" : "false", mlp_precision_name(g_precision),
                   mlp_precision_isa());
        else if (!strcmp(cmd, "epoch"))
            cmd_epoch(a);
        else if (!strcmp(cmd, "fit"))
            cmd_fit();
        else if (!strcmp(cmd, "predict"))
            cmd_predict((size_t)a, b);
        else if (!strcmp(cmd, "big_step"))
            cmd_big_step(a);
        else if (!strcmp(cmd, "big_gemm"))
            cmd_big_gemm(a);
        else if (!strcmp(cmd, "f100_fit"))
            cmd_f100_fit(line);
        else
            printf("{\"error\": \"unknown command %s\"}\n", cmd);
        fflush(stdout);
    }
    mlp_dataset_free(&all);
    mlp_dataset_free(&train);
    mlp_dataset_free(&test);
    mlp_dataset_free(&f100);
    return 0;
}
