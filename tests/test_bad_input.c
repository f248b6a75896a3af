/* Bad input the other suites do not cover, one test per row of docs/ERRORS.md that names this file:
 * negative sizes (as they arrive through size_t), non-finite and out-of-range training data, fit
 * options, unwritable output paths, directories given as data, models too large for the format,
 * non-finite weights in a model file, and the mlp tool's runtime errors for those. Every call must
 * return the documented status with a message and leave its outputs untouched. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include "core/core.h"
#include "mlp/data.h"
#include "mlp/fit.h"
#include "mlp/model.h"
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR_PATH MLP_TEST_TMPDIR "/bad_input"
/* The mlp tool of the same build (as tests/test_cli.c finds it). */
#define CLI_PATH MLP_TEST_TMPDIR "/../../cli/mlp"

extern char **environ;

/* st must be want, with a message containing needle (if not NULL). */
static void expect(mlp_status st, mlp_status want, const char *needle) {
    if (st != want || (needle && !strstr(mlp_last_error(), needle)))
        fail_msg("status %d (%s), want %d; message \"%s\", want it to contain \"%s\"", (int)st,
                 mlp_strerror(st), (int)want, mlp_last_error(), needle ? needle : "");
    if (st != MLP_OK && mlp_last_error()[0] == '\0') fail_msg("no message for status %d", (int)st);
}

static void path_of(char *buf, size_t cap, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", DIR_PATH, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static mlp_net *small_net(void) {
    static const size_t sizes[] = {4, 6, 3};
    static const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 9);
    assert_non_null(net);
    return net;
}

/* 30 rows of 4 features, 3 classes, and 2 regression targets. */
typedef struct toy {
    float X[30 * 4], Y[30 * 2], onehot[30 * 3];
    int32_t labels[30];
} toy;

static void make_toy(toy *t) {
    tu_rng r;
    tu_rng_seed(&r, 77);
    tu_fill_uniform(t->X, 30 * 4, &r, -1.0, 1.0);
    tu_fill_uniform(t->Y, 30 * 2, &r, -1.0, 1.0);
    tu_fill_onehot(t->onehot, t->labels, 30, 3, &r);
}

static mlp_fit_options fit_opts(void) {
    static const size_t hidden[] = {5};
    mlp_fit_options o = mlp_fit_options_default();
    o.n_hidden = 1;
    o.hidden = hidden;
    o.max_iter = 2;
    return o;
}

static int group_setup(void **state) {
    (void)state;
    if (mkdir(DIR_PATH, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Sizes
 */

/* A negative size passed through size_t is a huge one: OVERFLOW, never an allocation attempt. */
static void test_negative_sizes(void **state) {
    (void)state;
    const size_t neg = (size_t)-1, neg5 = (size_t)-5;
    const size_t s1[] = {neg, 3}, s2[] = {4, neg5, 3};
    const mlp_activation a1[] = {MLP_ACT_SOFTMAX}, a2[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net_config c = {1, s1, a1, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1};
    mlp_net *net = (mlp_net *)(uintptr_t)1;
    expect(mlp_net_create(&net, &c), MLP_ERR_OVERFLOW, "overflows");
    assert_null(net);
    c = (mlp_net_config){2, s2, a2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1};
    expect(mlp_net_create(&net, &c), MLP_ERR_OVERFLOW, "overflows");
    c.n_layers = neg; /* a negative layer count */
    expect(mlp_net_create(&net, &c), MLP_ERR_ARG, "n_layers");

    toy t;
    make_toy(&t);
    mlp_fit_options o = fit_opts();
    net = NULL;
    expect(mlp_fit(&net, MLP_TASK_CLASSIFY, t.X, t.labels, NULL, neg, 4, 3, &o, NULL),
           MLP_ERR_OVERFLOW, "overflow");
    expect(mlp_fit(&net, MLP_TASK_REGRESS, t.X, NULL, t.Y, 30, neg, 2, &o, NULL), MLP_ERR_OVERFLOW,
           "overflow");
    assert_null(net);
    const size_t neg_hidden[] = {neg};
    o.hidden = neg_hidden;
    mlp_status st = mlp_fit(&net, MLP_TASK_CLASSIFY, t.X, t.labels, NULL, 30, 4, 3, &o, NULL);
    if (st != MLP_ERR_OVERFLOW && st != MLP_ERR_NOMEM) fail_msg("hidden width -1: status %d", st);
    assert_null(net);

    mlp_scaler s = {0};
    expect(mlp_scaler_fit(&s, MLP_SCALE_STANDARD, t.X, neg, 4), MLP_ERR_OVERFLOW, "overflows");
    assert_null(s.offset);
    assert_int_equal(mlp_scaler_fit(&s, MLP_SCALE_STANDARD, t.X, 30, 4), MLP_OK);
    expect(mlp_scaler_apply(&s, t.X, neg, 4), MLP_ERR_OVERFLOW, "overflows");
    mlp_scaler_free(&s);

    net = small_net();
    float out[3];
    expect(mlp_predict(net, t.X, neg, out), MLP_ERR_OVERFLOW, "overflows");
    expect(mlp_net_reserve(net, neg5), MLP_ERR_OVERFLOW, "overflows");
    mlp_dataset src = {30, 4, t.X, t.labels, 3, NULL, 0, {MLP_CLASSES_NONE, 0, NULL, NULL}, NULL},
                sub;
    size_t rows[2] = {0, neg};
    expect(mlp_dataset_subset(&src, rows, 2, &sub), MLP_ERR_ARG, "out of range");
    mlp_net_free(net);
}

/* Zero sizes the other suites leave out: an empty workspace, too many layers, empty data. */
static void test_zero_and_excess_sizes(void **state) {
    (void)state;
    mlp_net *net = small_net();
    expect(mlp_net_reserve(net, 0), MLP_ERR_ARG, "max_batch is 0");
    mlp_net_free(net);
    size_t sizes[4098];
    mlp_activation acts[4097];
    for (size_t i = 0; i < 4098; i++) sizes[i] = 1;
    for (size_t i = 0; i < 4097; i++) acts[i] = MLP_ACT_IDENTITY;
    mlp_net_config c = {4097, sizes, acts, MLP_LOSS_SQUARED, MLP_INIT_GLOROT, 1};
    net = (mlp_net *)(uintptr_t)1;
    expect(mlp_net_create(&net, &c), MLP_ERR_ARG, "must be in 1..4096");
    assert_null(net);
    float x[4] = {0};
    mlp_scaler s = {0};
    expect(mlp_scaler_fit(&s, MLP_SCALE_MINMAX, x, 4, 0), MLP_ERR_ARG, "empty data");
    toy t;
    make_toy(&t);
    mlp_fit_options o = fit_opts();
    net = NULL;
    expect(mlp_fit(&net, MLP_TASK_CLASSIFY, t.X, t.labels, NULL, 30, 0, 3, &o, NULL), MLP_ERR_ARG,
           "each must be > 0");
    assert_null(net);
}

/* The format holds at most 4 GiB: a larger net is refused before anything is written. The net is
 * faked (white-box) so that the test needs no 6 GB of memory: no parameter is ever read. */
static void test_model_too_large_for_format(void **state) {
    (void)state;
    mlp_layer layers[2] = {{1u << 15, 1u << 14, MLP_ACT_RELU, 0, 0, 0, 0.0f},
                           {1u << 14, 1u << 4, MLP_ACT_SOFTMAX, 0, 0, 0, 0.0f}};
    float dummy = 0.0f;
    mlp_net fake;
    memset(&fake, 0, sizeof fake);
    fake.n_layers = 2;
    fake.layers = layers;
    fake.loss = MLP_LOSS_SOFTMAX_CE;
    fake.n_params = ((size_t)1 << 29) + (1u << 14) + ((size_t)1 << 18) + (1u << 4);
    fake.params = fake.grads = fake.opt_m = fake.opt_v = &dummy;
    fake.opt = mlp_optimizer_default(MLP_OPT_ADAM);
    char path[512];
    path_of(path, sizeof path, "too_large.mlp");
    unlink(path);
    expect(mlp_model_save(path, &fake, NULL), MLP_ERR_OVERFLOW, "4 GiB");
    struct stat sb;
    assert_int_not_equal(stat(path, &sb), 0);
}

/* ---------------------------------------------------------------------------------------------
 * Non-finite and out-of-range data
 */
static void test_fit_bad_targets(void **state) {
    (void)state;
    toy t;
    make_toy(&t);
    mlp_fit_options o = fit_opts();
    mlp_net *net = NULL;
    mlp_fit_result r;
    memset(&r, 0x5A, sizeof r);
    t.Y[7] = NAN;
    expect(mlp_fit(&net, MLP_TASK_REGRESS, t.X, NULL, t.Y, 30, 4, 2, &o, &r), MLP_ERR_ARG,
           "Y[3][1] is not finite");
    t.Y[7] = INFINITY;
    expect(mlp_fit(&net, MLP_TASK_REGRESS, t.X, NULL, t.Y, 30, 4, 2, &o, &r), MLP_ERR_ARG,
           "not finite");
    t.X[5] = -INFINITY;
    expect(mlp_fit(&net, MLP_TASK_CLASSIFY, t.X, t.labels, NULL, 30, 4, 3, &o, &r), MLP_ERR_ARG,
           "X[1][1] is not finite");
    t.X[5] = 0.5f;
    t.labels[2] = -1;
    expect(mlp_fit(&net, MLP_TASK_CLASSIFY, t.X, t.labels, NULL, 30, 4, 3, &o, &r), MLP_ERR_ARG,
           "labels[2] = -1");
    t.labels[2] = 0;
    /* multi-label targets must be 0 or 1 */
    t.onehot[4] = 0.5f;
    expect(mlp_fit(&net, MLP_TASK_MULTILABEL, t.X, NULL, t.onehot, 30, 4, 3, &o, &r), MLP_ERR_ARG,
           "0 or 1");
    assert_null(net);
    /* the result is untouched on failure */
    mlp_fit_result poison;
    memset(&poison, 0x5A, sizeof poison);
    assert_memory_equal(&r, &poison, sizeof r);
}

/* A NaN in the input of a training step is refused with a status naming its row and column, and
 * the net is left as it was (ReLU would have hidden it in the forward pass, mapping a NaN
 * pre-activation to 0, and spread it into the weights). tests/test_nonfinite.c covers every
 * activation, the targets, gradients and mlp_update. */
static void test_step_nonfinite_input(void **state) {
    (void)state;
    toy t;
    make_toy(&t);
    mlp_net *net = small_net(); /* ReLU hidden layer */
    size_t np = mlp_net_param_count(net);
    float *before = tu_floats(np);
    memcpy(before, mlp_net_params(net), np * sizeof(float));
    t.X[0] = NAN;
    float loss = 0.0f;
    expect(mlp_train_step(net, t.X, t.onehot, 30, &loss), MLP_ERR_ARG, "X row 0 column 0 is NaN");
    assert_memory_equal(mlp_net_params(net), before, np * sizeof(float));
    assert_int_equal(mlp_net_step_count(net), 0);
    free(before);
    mlp_net_free(net);
    static const size_t sizes[] = {4, 6, 3};
    static const mlp_activation acts[] = {MLP_ACT_TANH, MLP_ACT_SOFTMAX};
    net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 9);
    assert_non_null(net);
    expect(mlp_train_step(net, t.X, t.onehot, 30, &loss), MLP_ERR_ARG, "X row 0 column 0");
    float P[30 * 3];
    expect(mlp_predict(net, t.X, 30, P), MLP_OK, NULL);
    assert_false(isfinite(P[0]));
    mlp_net_free(net);

    /* non-finite hyperparameters are refused */
    net = small_net();
    mlp_optimizer opt = mlp_optimizer_default(MLP_OPT_ADAM);
    opt.lr = INFINITY;
    expect(mlp_net_set_optimizer(net, &opt), MLP_ERR_ARG, "lr");
    opt = mlp_optimizer_default(MLP_OPT_ADAM);
    opt.alpha = INFINITY;
    expect(mlp_net_set_optimizer(net, &opt), MLP_ERR_ARG, "alpha");
    opt = mlp_optimizer_default(MLP_OPT_ADAM);
    opt.eps = INFINITY;
    expect(mlp_net_set_optimizer(net, &opt), MLP_ERR_ARG, "eps");
    mlp_net_free(net);
}

/* mlp_fit classifying the toy set with o fails with want and a message containing needle, and
 * makes no net. */
static void expect_fit_fails(const toy *t, const mlp_fit_options *o, mlp_status want,
                             const char *needle) {
    mlp_net *net = NULL;
    expect(mlp_fit(&net, MLP_TASK_CLASSIFY, t->X, t->labels, NULL, 30, 4, 3, o, NULL), want,
           needle);
    assert_null(net);
}

/* expect_fit_fails with fit_opts() but for one setting: o.FIELD = VALUE. */
#define EXPECT_BAD_OPTION(t, FIELD, VALUE, want, needle)                                           \
    do {                                                                                           \
        mlp_fit_options o_ = fit_opts();                                                           \
        o_.FIELD = (VALUE);                                                                        \
        expect_fit_fails(t, &o_, want, needle);                                                    \
    } while (0)

static void test_fit_bad_options(void **state) {
    (void)state;
    toy t;
    make_toy(&t);
    static const size_t zero_width[] = {0};
    EXPECT_BAD_OPTION(&t, hidden, zero_width, MLP_ERR_ARG, "sizes[1] is 0");
    EXPECT_BAD_OPTION(&t, hidden, NULL, MLP_ERR_NULL, "hidden is NULL");
    EXPECT_BAD_OPTION(&t, activation, MLP_ACT_SOFTMAX, MLP_ERR_ARG, "activation");
    EXPECT_BAD_OPTION(&t, tol, NAN, MLP_ERR_ARG, "tol");
    EXPECT_BAD_OPTION(&t, tol, -1.0f, MLP_ERR_ARG, "tol");
    EXPECT_BAD_OPTION(&t, schedule, (mlp_lr_schedule)9, MLP_ERR_ARG, "schedule");
    EXPECT_BAD_OPTION(&t, power_t, INFINITY, MLP_ERR_ARG, "power_t");
    EXPECT_BAD_OPTION(&t, opt.beta2, 1.0f, MLP_ERR_ARG, "beta");
    mlp_fit_options o = fit_opts();
    o.opt.kind = MLP_OPT_SGD;
    o.opt.momentum = -0.5f;
    expect_fit_fails(&t, &o, MLP_ERR_ARG, "momentum");
    o = fit_opts();
    mlp_net *net = NULL;
    expect(mlp_fit(&net, (mlp_task)7, t.X, t.labels, NULL, 30, 4, 3, &o, NULL), MLP_ERR_ARG,
           "unknown task");
    assert_null(net);
    /* early stopping that would leave no training row */
    o.early_stopping = 1;
    o.validation_fraction = 0.99f;
    expect_fit_fails(&t, &o, MLP_ERR_ARG, "empty side");
}

/* ---------------------------------------------------------------------------------------------
 * Files
 */
static void test_unwritable_model_paths(void **state) {
    (void)state;
    mlp_net *net = small_net();
    /* a directory that does not accept files, even for root */
    expect(mlp_model_save("/proc/mlp_test_model.mlp", net, NULL), MLP_ERR_IO,
           "cannot create a temporary file");
    /* a path through a regular file */
    char file[512], through[600];
    path_of(file, sizeof file, "plain_file");
    write_text(file, "x");
    snprintf(through, sizeof through, "%s/m.mlp", file);
    expect(mlp_model_save(through, net, NULL), MLP_ERR_IO, "Not a directory");
    expect(mlp_model_save("", net, NULL), MLP_ERR_ARG, "path is empty");
    /* loading through a regular file, and an empty path */
    mlp_net *back = (mlp_net *)(uintptr_t)1;
    expect(mlp_model_load(through, &back, NULL), MLP_ERR_IO, "Not a directory");
    assert_null(back);
    expect(mlp_model_load("", &back, NULL), MLP_ERR_IO, "cannot open");
    unlink(file);
    mlp_net_free(net);
}

/* A directory where a data file is expected. */
static void test_directory_as_data(void **state) {
    (void)state;
    mlp_dataset ds;
    memset(&ds, 0xA5, sizeof ds);
    mlp_dataset poison;
    memset(&poison, 0xA5, sizeof poison);
    expect(mlp_read_csv(DIR_PATH, NULL, &ds), MLP_ERR_IO, "read error");
    char lab[512];
    path_of(lab, sizeof lab, "labels.idx");
    static const unsigned char lab_bytes[] = {0, 0, 8, 1, 0, 0, 0, 1, 3};
    FILE *f = fopen(lab, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(lab_bytes, 1, sizeof lab_bytes, f), sizeof lab_bytes);
    assert_int_equal(fclose(f), 0);
    expect(mlp_read_idx(DIR_PATH, lab, &ds), MLP_ERR_IO, "read error");
    size_t *rows = NULL, n = 0;
    expect(mlp_read_row_indices(DIR_PATH, 10, &rows, &n), MLP_ERR_IO, "read error");
    assert_memory_equal(&ds, &poison, sizeof ds);
    unlink(lab);
}

/* CSV features the reader does not support are reported, not misread. */
static void test_csv_unsupported(void **state) {
    (void)state;
    char p[512];
    mlp_dataset ds;
    path_of(p, sizeof p, "quoted.csv");
    /* Quotes are RFC 4180's: a quoted number is a number; an open quote is an error. */
    write_text(p, "\"1\",\"2\",\"0\"\n3,4,1\n");
    expect(mlp_read_csv(p, NULL, &ds), MLP_OK, NULL);
    assert_true(ds.n == 2 && ds.X[0] == 1.0f && ds.X[1] == 2.0f && ds.labels[0] == 0);
    mlp_dataset_free(&ds);
    write_text(p, "a,b,c\n\"1,2,0\n");
    expect(mlp_read_csv(p, NULL, &ds), MLP_ERR_FORMAT,
           "quoted.csv:2:1: '1,2,0\n': a quote is not closed");
    write_text(p, "a,b,c\n\"1\"x,2,0\n");
    expect(mlp_read_csv(p, NULL, &ds), MLP_ERR_FORMAT, "text follows the closing quote");
    /* UTF-16 (a NUL after every byte) */
    static const char utf16[] = {'1', 0, ',', 0, '2', 0, '\n', 0};
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(utf16, 1, sizeof utf16, f), sizeof utf16);
    assert_int_equal(fclose(f), 0);
    mlp_csv_options o = mlp_csv_options_default();
    o.header = 0;
    expect(mlp_read_csv(p, &o, &ds), MLP_ERR_FORMAT, "quoted.csv:1:1:");
    unlink(p);
}

/* Non-finite weights are stored and loaded as they are (the checksum proves the file is what was
 * saved); predictions are then non-finite. */
static void test_model_nonfinite_weights(void **state) {
    (void)state;
    mlp_net *net = small_net();
    mlp_net_params(net)[3] = NAN;
    mlp_net_params(net)[4] = INFINITY;
    char p[512];
    path_of(p, sizeof p, "nan_weights.mlp");
    expect(mlp_model_save(p, net, NULL), MLP_OK, NULL);
    mlp_net *back = NULL;
    expect(mlp_model_load(p, &back, NULL), MLP_OK, NULL);
    assert_memory_equal(mlp_net_params(back), mlp_net_params(net),
                        mlp_net_param_count(net) * sizeof(float));
    mlp_net_free(back);
    mlp_net_free(net);
    unlink(p);
}

/* ---------------------------------------------------------------------------------------------
 * The mlp tool: runtime errors (exit 1) for unwritable outputs, wrong models and bad files.
 */
typedef struct run_result {
    int code;
    char err[8192];
} run_result;

static int cli_available(void) {
    return access(CLI_PATH, X_OK) == 0;
}

/* Runs the tool with args (NULL-terminated); stdin /dev/null, stdout discarded, stderr kept. */
static void run_cli(run_result *r, const char *const *args) {
    char err_path[512];
    path_of(err_path, sizeof err_path, "stderr.txt");
    const char *argv[32];
    size_t n = 0;
    argv[n++] = CLI_PATH;
    for (; args[n - 1]; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, CLI_PATH, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) fail_msg("cannot run %s: %s", CLI_PATH, strerror(rc));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *f = fopen(err_path, "r");
    assert_non_null(f);
    size_t got = fread(r->err, 1, sizeof r->err - 1, f);
    r->err[got] = '\0';
    fclose(f);
}

#define RUN_CLI(r, ...) run_cli((r), (const char *const[]){__VA_ARGS__, NULL})

static void expect_cli(const run_result *r, int code, const char *needle) {
    if (r->code != code || !strstr(r->err, needle))
        fail_msg("exit %d (want %d), stderr (want \"%s\"):\n%s", r->code, code, needle, r->err);
}

static void test_cli_runtime_errors(void **state) {
    (void)state;
    if (!cli_available()) skip();
    char csv[512], model[512], reg_model[512], missing_out[600], bad_model[512];
    path_of(csv, sizeof csv, "train.csv");
    path_of(model, sizeof model, "cli.mlp");
    path_of(reg_model, sizeof reg_model, "cli_reg.mlp");
    path_of(bad_model, sizeof bad_model, "cli_bad.mlp");
    snprintf(missing_out, sizeof missing_out, "%s/no_such_dir/out.mlp", DIR_PATH);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    for (int i = 0; i < 60; i++) fprintf(f, "%d,%d.5,%d\n", i % 5, i % 3, i % 2);
    assert_int_equal(fclose(f), 0);
    run_result r;

    /* unwritable --out of train: trained, then the save fails (exit 1, nothing written) */
    RUN_CLI(&r, "train", "--data", csv, "--hidden", "4", "--max-iter", "2", "--quiet", "--out",
            missing_out);
    expect_cli(&r, 1, "no_such_dir");
    RUN_CLI(&r, "train", "--data", csv, "--hidden", "4", "--max-iter", "2", "--quiet", "--out",
            model);
    expect_cli(&r, 0, "");
    RUN_CLI(&r, "train", "--data", csv, "--regression", "--hidden", "4", "--max-iter", "2",
            "--quiet", "--out", reg_model);
    expect_cli(&r, 0, "");

    /* unwritable --out of predict: a missing directory, and a full device */
    RUN_CLI(&r, "predict", model, csv, "--out", missing_out);
    expect_cli(&r, 1, "cannot open");
    RUN_CLI(&r, "predict", model, csv, "--out", "/dev/full");
    expect_cli(&r, 1, "cannot write");

    /* --proba with a regression model is a usage error */
    RUN_CLI(&r, "predict", reg_model, csv, "--proba");
    expect_cli(&r, 2, "regression model");
    /* data with the wrong number of features for the model */
    RUN_CLI(&r, "eval", model, "digits");
    expect_cli(&r, 1, "features");
    RUN_CLI(&r, "predict", model, "digits");
    expect_cli(&r, 1, "features");

    /* a corrupted model: one flipped byte */
    size_t len;
    FILE *in = fopen(model, "rb");
    assert_non_null(in);
    unsigned char buf[4096];
    len = fread(buf, 1, sizeof buf, in);
    fclose(in);
    assert_true(len > 100 && len < sizeof buf);
    buf[len / 2] ^= 0x10;
    FILE *out = fopen(bad_model, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(buf, 1, len, out), len);
    assert_int_equal(fclose(out), 0);
    RUN_CLI(&r, "info", bad_model);
    expect_cli(&r, 1, "checksum mismatch");
    RUN_CLI(&r, "eval", bad_model, csv);
    expect_cli(&r, 1, "checksum mismatch");

    /* a directory as data or model */
    RUN_CLI(&r, "train", "--data", DIR_PATH, "--quiet");
    expect_cli(&r, 1, "read error");
    RUN_CLI(&r, "info", DIR_PATH);
    expect_cli(&r, 1, "not a regular file");

    unlink(csv);
    unlink(model);
    unlink(reg_model);
    unlink(bad_model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negative_sizes),
        cmocka_unit_test(test_zero_and_excess_sizes),
        cmocka_unit_test(test_model_too_large_for_format),
        cmocka_unit_test(test_fit_bad_targets),
        cmocka_unit_test(test_step_nonfinite_input),
        cmocka_unit_test(test_fit_bad_options),
        cmocka_unit_test(test_unwritable_model_paths),
        cmocka_unit_test(test_directory_as_data),
        cmocka_unit_test(test_csv_unsupported),
        cmocka_unit_test(test_model_nonfinite_weights),
        cmocka_unit_test(test_cli_runtime_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
