/*
 * FANN side of bench/compare (FANN 2.2, Debian libfann-dev, float build): a worker with the same
 * stdin/stdout protocol as mlp_driver.c. FANN is single-threaded; THREADS is only echoed back.
 *
 *   fann_driver THREADS DATA_DIR
 *   commands:  info | epoch MIN_S ALGO ACT | fit EPOCHS ACT | predict BATCH MIN_S | quit
 *              ALGO 0 = FANN_TRAIN_RPROP (FANN's default), 1 = FANN_TRAIN_INCREMENTAL
 *              ACT  0 = FANN_SIGMOID_STEPWISE (FANN's default), 1 = FANN_SIGMOID (exact)
 *
 * Network: fann_create_standard(3, 64, 50, 10), the same activation on the hidden and output
 * layers (FANN 2.2 has neither ReLU nor softmax), FANN's mean-squared-error training against
 * one-hot targets, weights from FANN's own uniform [-0.1, 0.1] initialisation drawn after
 * srand(42), every other setting FANN's default. The inputs are the same raw pixels (0..16) the
 * other tools get.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <floatfann.h>

enum { D = 64, K = 10, MAXROWS = 1797 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float X[MAXROWS][D];
static int Y[MAXROWS];
static size_t n_all;
static size_t train_rows[MAXROWS], test_rows[MAXROWS], n_train, n_test;

static void fail(const char *msg, const char *path) {
    printf("{\"error\": \"%s %s\"}\n", msg, path);
    fflush(stdout);
    exit(1);
}

static void load(const char *dir) {
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s/digits.csv.gz", dir);
    gzFile f = gzopen(path, "rb");
    if (!f) fail("cannot open", path);
    while (n_all < MAXROWS && gzgets(f, line, sizeof line)) {
        char *p = line;
        for (int j = 0; j <= D; j++) {
            float v = strtof(p, &p);
            if (j < D)
                X[n_all][j] = v;
            else
                Y[n_all] = (int)v;
            if (*p == ',') p++;
        }
        n_all++;
    }
    gzclose(f);
    const char *names[2] = {"train", "test"};
    size_t *rows[2] = {train_rows, test_rows}, *cnt[2] = {&n_train, &n_test};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/digits_split_rs42_%s.txt", dir, names[i]);
        FILE *g = fopen(path, "r");
        if (!g) fail("cannot open", path);
        unsigned long r;
        while (*cnt[i] < MAXROWS && fscanf(g, "%lu", &r) == 1) rows[i][(*cnt[i])++] = r;
        fclose(g);
    }
}

static struct fann_train_data *train_data(void) {
    struct fann_train_data *td = fann_create_train((unsigned)n_train, D, K);
    for (size_t i = 0; i < n_train; i++) {
        memcpy(td->input[i], X[train_rows[i]], sizeof(float) * D);
        for (int k = 0; k < K; k++) td->output[i][k] = k == Y[train_rows[i]] ? 1.0f : 0.0f;
    }
    return td;
}

static struct fann *make_net(int algo, int act) {
    struct fann *ann = fann_create_standard(3, D, 50, K);
    /* fann_create_standard seeds rand() from /dev/urandom and draws weights in [-0.1, 0.1]:
     * redraw them from a fixed seed so that every run trains the same network. */
    srand(42);
    fann_randomize_weights(ann, -0.1f, 0.1f);
    enum fann_activationfunc_enum f = act ? FANN_SIGMOID : FANN_SIGMOID_STEPWISE;
    fann_set_activation_function_hidden(ann, f);
    fann_set_activation_function_output(ann, f);
    fann_set_training_algorithm(ann, algo ? FANN_TRAIN_INCREMENTAL : FANN_TRAIN_RPROP);
    return ann;
}

static int argmax(const float *o) {
    int b = 0;
    for (int k = 1; k < K; k++)
        if (o[k] > o[b]) b = k;
    return b;
}

static void cmd_epoch(double min_s, int algo, int act) {
    struct fann *ann = make_net(algo, act);
    struct fann_train_data *td = train_data();
    for (int w = 0; w < 3; w++) fann_train_epoch(ann, td); /* warm-up */
    size_t epochs = 0;
    float mse = 0.0f;
    double t0 = now(), dt;
    do {
        for (int c = 0; c < 5; c++) mse = fann_train_epoch(ann, td);
        epochs += 5;
        dt = now() - t0;
    } while (dt < min_s);
    printf("{\"samples_per_s\": %.6g, \"seconds\": %.6g, \"epochs\": %zu, \"mse\": %.6g}\n",
           (double)(epochs * n_train) / dt, dt, epochs, (double)mse);
    fann_destroy_train(td);
    fann_destroy(ann);
}

/* A fixed number of epochs of FANN's default training (RPROP, full batch), timed from network
 * creation to the last epoch, then test accuracy. */
static void cmd_fit(int epochs, int act) {
    struct fann_train_data *td = train_data();
    double t0 = now();
    struct fann *ann = make_net(0, act);
    float mse = 0.0f;
    for (int e = 0; e < epochs; e++) mse = fann_train_epoch(ann, td);
    double dt = now() - t0;
    size_t correct = 0;
    for (size_t i = 0; i < n_test; i++) {
        float *o = fann_run(ann, X[test_rows[i]]);
        correct += argmax(o) == Y[test_rows[i]];
    }
    printf("{\"seconds\": %.6g, \"epochs\": %d, \"accuracy\": %.6g, \"samples_per_s\": %.6g, "
           "\"mse\": %.6g}\n",
           dt, epochs, (double)correct / (double)n_test, (double)((size_t)epochs * n_train) / dt,
           (double)mse);
    fann_destroy_train(td);
    fann_destroy(ann);
}

/* FANN has no batched inference: "batch" B is B consecutive fann_run calls either way; the two
 * batch sizes are reported for symmetry with the other tools. */
static void cmd_predict(size_t batch, double min_s) {
    (void)batch;
    struct fann *ann = make_net(0, 0);
    struct fann_train_data *td = train_data();
    for (int e = 0; e < 10; e++) fann_train_epoch(ann, td);
    float sink = 0.0f;
    size_t samples = 0;
    double t0 = 0.0, dt = 0.0;
    for (int pass = -1; pass < 0 || dt < min_s; pass++) {
        if (pass == 0) t0 = now();
        for (size_t i = 0; i < n_all; i++) sink += fann_run(ann, X[i])[7];
        if (pass >= 0) {
            samples += n_all;
            dt = now() - t0;
        }
    }
    printf("{\"samples_per_s\": %.6g, \"seconds\": %.6g, \"checksum\": %.6g}\n",
           (double)samples / dt, dt, (double)sink);
    fann_destroy_train(td);
    fann_destroy(ann);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s THREADS DATA_DIR\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[1]);
    load(argv[2]);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "";
        double a = 0.0, b = 0.0, c = 0.0;
        if (sscanf(line, "%31s %lf %lf %lf", cmd, &a, &b, &c) < 1) continue;
        if (!strcmp(cmd, "quit")) break;
        if (!strcmp(cmd, "info"))
            printf("{\"tool\": \"fann\", \"version\": \"2.2\", \"core\": \"none (no BLAS)\", "
                   "\"threads\": %d, \"rows\": %zu, \"train\": %zu, \"test\": %zu}\n",
                   threads, n_all, n_train, n_test);
        else if (!strcmp(cmd, "epoch"))
            cmd_epoch(a, (int)b, (int)c);
        else if (!strcmp(cmd, "fit"))
            cmd_fit((int)a, (int)b);
        else if (!strcmp(cmd, "predict"))
            cmd_predict((size_t)a, b);
        else
            printf("{\"error\": \"unknown command %s\"}\n", cmd);
        fflush(stdout);
    }
    return 0;
}
