/* mlp train: load data, split off a test set, optionally scale, mlp_fit with a progress callback,
 * score on the test set, save the model, report (human text or one JSON line).
 * Under an MPI launcher (builds with MLP_WITH_MPI, see mpi.c) every rank loads the data and trains
 * its share of each minibatch (mlp_mpi_fit); rank 0 alone prints, scores and saves. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_train_help(FILE *f) {
    mlp_fit_options d = mlp_fit_options_default();
    fprintf(f,
            "Usage: mlp train [OPTIONS]\n"
            "\n"
            "Train a network (scikit-learn's MLPClassifier / MLPRegressor recipe), report its\n"
            "test accuracy (or R^2) and speed, and optionally save it.\n"
            "\n"
            "Data:\n"
            "  --data SRC             'digits' (the shipped 8x8 digits set, default), a CSV file\n"
            "                         (PATH.csv or PATH.csv.gz), or IDX images\n"
            "                         (PATH-images.idx[.gz]) when --labels is given\n"
            "  --labels PATH          IDX labels file (makes --data an IDX images file)\n"
            "  --test-data SRC        separate test set (same forms as --data; 'digits' means\n"
            "                         the shipped rs42 test split)\n"
            "  --test-labels PATH     IDX labels of --test-data\n"
            "  --test-fraction F      without --test-data: fraction held out as the test set by\n"
            "                         a split seeded with --seed (default 0.2; 0 = no test set).\n"
            "                         digits uses the shipped scikit-learn split\n"
            "                         train_test_split(test_size=0.2, random_state=42) unless\n"
            "                         --test-fraction is given\n"
            "  --label-column N       CSV: 0-based column of the label/target, or 'last'\n"
            "                         (default last)\n"
            "  --header yes|no|auto   CSV: first row is a header (default auto: a row with text)\n"
            "  --regression           CSV: the label column holds float targets; train a\n"
            "                         regressor (identity output, squared error) and report R^2\n"
            "  --scale none|standard|minmax\n"
            "                         input scaling fitted on the training set and saved with the\n"
            "                         model (default none, as scikit-learn's digits example)\n"
            "\n"
            "Network and training (defaults are scikit-learn's):\n"
            "  --hidden W[,W...]      hidden layer widths, e.g. 50 or 128,64; 'none' (or 0) for\n"
            "                         no hidden layer (default 100)\n"
            "  --activation NAME      hidden activation: relu, logistic, tanh, identity,\n"
            "                         leaky_relu, gelu (default relu)\n"
            "  --solver adam|sgd      optimizer (default adam)\n"
            "  --lr X                 initial learning rate (default %g)\n"
            "  --alpha X              L2 penalty (default %g)\n"
            "  --batch-size N|auto    minibatch size (default auto = min(200, n_train))\n"
            "  --max-iter N           maximum epochs (default %zu)\n"
            "  --tol X                improvement tolerance of the stopping rule (default %g)\n"
            "  --n-iter-no-change N   epochs without improvement before stopping (default %zu)\n"
            "  --momentum X           sgd momentum in [0, 1) (default %g)\n"
            "  --no-nesterov          sgd: plain momentum instead of Nesterov's\n"
            "  --lr-schedule NAME     sgd: constant, invscaling, adaptive (default constant)\n"
            "  --power-t X            sgd invscaling exponent (default %g)\n"
            "  --early-stopping       hold out --validation-fraction of the training set and\n"
            "                         stop on its score; keeps the best weights\n"
            "  --validation-fraction F  (default %g)\n"
            "  --no-shuffle           do not reshuffle the training set every epoch\n"
            "  --seed N               seed of initialisation, shuffling and splits (default 0;\n"
            "                         runs with the same seed and threads are reproducible)\n"
            "  --init-model MODEL     start from a saved model (warm start: its layers, weights\n"
            "                         and optimizer state, and its scaler); resumes a checkpoint,\n"
            "                         on any number of MPI ranks. Excludes --hidden,\n"
            "                         --activation and --scale\n"
            "  --threads N            OpenMP + OpenBLAS threads (default: OMP_NUM_THREADS or\n"
            "                         all cores; under MPI: cores / ranks on the node)\n"
            "\n"
            "Parallel (builds with MLP_WITH_MPI; run as mpirun -np P mlp train ...):\n"
            "  --deterministic        combine gradients exactly (fixed point, fixed 32-row\n"
            "                         chunks): the result is bit-identical for any number of\n"
            "                         ranks (default: one float allreduce per step, equal to\n"
            "                         single-process training up to rounding)\n"
            "\n"
            "Output:\n"
            "  -o, --out MODEL        save the trained model (and its scaler) to MODEL\n"
            "  --json                 print one JSON object (last line of stdout) instead of\n"
            "                         the human-readable result\n"
            "  -q, --quiet            no progress or summary on stderr (warnings and errors\n"
            "                         are still shown)\n"
            "  -h, --help             show this help\n"
            "\n"
            "Progress goes to stderr: one updating line on a terminal; otherwise plain lines\n"
            "for epochs 1-10, then every 10th (every 100th after 1000), at least every 10 s,\n"
            "and the last. Ctrl-C stops training after the current epoch (the model is still\n"
            "scored and saved, exit status 0); a second Ctrl-C aborts.\n"
            "\n"
            "JSON keys: accuracy (or r2), loss, epochs, converged, stopped, seconds,\n"
            "samples_per_s, threads, blas_core, n_train, n_test, n_features, n_outputs,\n"
            "hidden, activation, solver, seed, ... (see docs/CLI.md). With no test set,\n"
            "accuracy/r2 is null.\n"
            "\n"
            "Examples:\n"
            "  mlp train --data digits --hidden 50 --max-iter 500 --seed 42\n"
            "  mlp train --data house.csv --regression --scale standard --hidden 64,32 -o h.mlp\n"
            "  mlp train --data train-images.idx.gz --labels train-labels.idx.gz \\\n"
            "            --test-data t10k-images.idx.gz \\\n"
            "            --test-labels t10k-labels.idx.gz --scale minmax -o mnist.mlp\n",
            (double)d.lr, (double)d.alpha, d.max_iter, (double)d.tol, d.n_iter_no_change,
            (double)d.momentum, (double)d.power_t, (double)d.validation_fraction);
}

enum {
    OPT_HELP = 1,
    OPT_DATA,
    OPT_LABELS,
    OPT_TEST_DATA,
    OPT_TEST_LABELS,
    OPT_TEST_FRACTION,
    OPT_LABEL_COLUMN,
    OPT_HEADER,
    OPT_REGRESSION,
    OPT_SCALE,
    OPT_HIDDEN,
    OPT_ACTIVATION,
    OPT_SOLVER,
    OPT_LR,
    OPT_ALPHA,
    OPT_BATCH_SIZE,
    OPT_MAX_ITER,
    OPT_TOL,
    OPT_N_ITER_NO_CHANGE,
    OPT_MOMENTUM,
    OPT_NO_NESTEROV,
    OPT_LR_SCHEDULE,
    OPT_POWER_T,
    OPT_EARLY_STOPPING,
    OPT_VALIDATION_FRACTION,
    OPT_NO_SHUFFLE,
    OPT_SEED,
    OPT_INIT_MODEL,
    OPT_DETERMINISTIC,
    OPT_THREADS,
    OPT_OUT,
    OPT_JSON,
    OPT_QUIET
};

static const cli_opt train_opts[] = {
    {"help", 'h', 0, OPT_HELP},
    {"data", 0, 1, OPT_DATA},
    {"labels", 0, 1, OPT_LABELS},
    {"test-data", 0, 1, OPT_TEST_DATA},
    {"test-labels", 0, 1, OPT_TEST_LABELS},
    {"test-fraction", 0, 1, OPT_TEST_FRACTION},
    {"label-column", 0, 1, OPT_LABEL_COLUMN},
    {"header", 0, 1, OPT_HEADER},
    {"regression", 0, 0, OPT_REGRESSION},
    {"scale", 0, 1, OPT_SCALE},
    {"hidden", 0, 1, OPT_HIDDEN},
    {"activation", 0, 1, OPT_ACTIVATION},
    {"solver", 0, 1, OPT_SOLVER},
    {"lr", 0, 1, OPT_LR},
    {"alpha", 0, 1, OPT_ALPHA},
    {"batch-size", 0, 1, OPT_BATCH_SIZE},
    {"max-iter", 0, 1, OPT_MAX_ITER},
    {"tol", 0, 1, OPT_TOL},
    {"n-iter-no-change", 0, 1, OPT_N_ITER_NO_CHANGE},
    {"momentum", 0, 1, OPT_MOMENTUM},
    {"no-nesterov", 0, 0, OPT_NO_NESTEROV},
    {"lr-schedule", 0, 1, OPT_LR_SCHEDULE},
    {"power-t", 0, 1, OPT_POWER_T},
    {"early-stopping", 0, 0, OPT_EARLY_STOPPING},
    {"validation-fraction", 0, 1, OPT_VALIDATION_FRACTION},
    {"no-shuffle", 0, 0, OPT_NO_SHUFFLE},
    {"seed", 0, 1, OPT_SEED},
    {"init-model", 0, 1, OPT_INIT_MODEL},
    {"deterministic", 0, 0, OPT_DETERMINISTIC},
    {"threads", 0, 1, OPT_THREADS},
    {"out", 'o', 1, OPT_OUT},
    {"json", 0, 0, OPT_JSON},
    {"quiet", 'q', 0, OPT_QUIET},
    {NULL, 0, 0, 0},
};

typedef struct train_cfg {
    cli_data_opts data;
    const char *test_data, *test_labels;
    double test_fraction;
    int test_fraction_given;
    mlp_scale_kind scale;
    mlp_fit_options fit;
    size_t *hidden; /* owned */
    int threads;    /* 0: leave as is */
    const char *out;
    int json, quiet;
    const char *init_model;                   /* warm start from this model file */
    int deterministic;                        /* MPI: MLP_MPI_EXACT */
    int hidden_given, act_given, scale_given; /* excluded by --init-model */
    cli_mpi mpi;
} train_cfg;

static int parse_train(int argc, char **argv, train_cfg *c) {
    static const char *cmd = "train";
    cli_args a = {.argc = argc, .argv = argv, .i = 1, .cmd = cmd};
    const char *v, *name;
    int id, rc = 0, choice;
    while (rc == 0 && (id = cli_next(&a, train_opts, &v, &name)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR:
            return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL:
            return cli_usage_error(cmd, "unexpected argument '%s' (the data is given with --data)",
                                   v);
        case OPT_HELP:
            if (cli_rank == 0) cli_train_help(stdout);
            return -1;
        case OPT_DATA:
            c->data.data = v;
            break;
        case OPT_LABELS:
            c->data.labels = v;
            break;
        case OPT_TEST_DATA:
            c->test_data = v;
            break;
        case OPT_TEST_LABELS:
            c->test_labels = v;
            break;
        case OPT_TEST_FRACTION:
            rc = cli_parse_double(cmd, name, v, 0.0, 1.0, 0, 1, &c->test_fraction);
            c->test_fraction_given = 1;
            break;
        case OPT_LABEL_COLUMN:
            rc = cli_parse_column(cmd, name, v, &c->data.label_column);
            break;
        case OPT_HEADER:
            rc = cli_parse_header(cmd, name, v, &c->data.header);
            break;
        case OPT_REGRESSION:
            c->data.regression = 1;
            break;
        case OPT_SCALE:
            rc = cli_parse_choice(cmd, name, v, cli_scale_names, &choice);
            c->scale = (mlp_scale_kind)choice;
            c->scale_given = 1;
            break;
        case OPT_HIDDEN:
            free(c->hidden);
            c->hidden = NULL;
            rc = cli_parse_hidden(cmd, v, &c->hidden, &c->fit.n_hidden);
            c->fit.hidden = c->hidden;
            c->hidden_given = 1;
            break;
        case OPT_ACTIVATION:
            rc = cli_parse_choice(cmd, name, v, cli_activation_names, &choice);
            if (rc == 0 && choice == MLP_ACT_SOFTMAX)
                rc = cli_usage_error(cmd, "--activation: softmax is for output layers only");
            c->fit.activation = (mlp_activation)choice;
            c->act_given = 1;
            break;
        case OPT_SOLVER:
            rc = cli_parse_choice(cmd, name, v, cli_solver_names, &choice);
            c->fit.solver = (mlp_optimizer_kind)choice;
            break;
        case OPT_LR:
            rc = cli_parse_float(cmd, name, v, 0.0, INFINITY, 1, 0, &c->fit.lr);
            break;
        case OPT_ALPHA:
            rc = cli_parse_float(cmd, name, v, 0.0, INFINITY, 0, 0, &c->fit.alpha);
            break;
        case OPT_BATCH_SIZE:
            if (strcmp(v, "auto") == 0)
                c->fit.batch_size = 0;
            else
                rc = cli_parse_size(cmd, name, v, 1, SIZE_MAX, &c->fit.batch_size);
            break;
        case OPT_MAX_ITER:
            rc = cli_parse_size(cmd, name, v, 1, SIZE_MAX, &c->fit.max_iter);
            break;
        case OPT_TOL:
            rc = cli_parse_float(cmd, name, v, 0.0, INFINITY, 0, 0, &c->fit.tol);
            break;
        case OPT_N_ITER_NO_CHANGE:
            rc = cli_parse_size(cmd, name, v, 1, SIZE_MAX, &c->fit.n_iter_no_change);
            break;
        case OPT_MOMENTUM:
            rc = cli_parse_float(cmd, name, v, 0.0, 1.0, 0, 1, &c->fit.momentum);
            break;
        case OPT_NO_NESTEROV:
            c->fit.nesterov = 0;
            break;
        case OPT_LR_SCHEDULE:
            rc = cli_parse_choice(cmd, name, v, cli_schedule_names, &choice);
            c->fit.schedule = (mlp_lr_schedule)choice;
            break;
        case OPT_POWER_T:
            rc = cli_parse_float(cmd, name, v, 0.0, INFINITY, 0, 0, &c->fit.power_t);
            break;
        case OPT_EARLY_STOPPING:
            c->fit.early_stopping = 1;
            break;
        case OPT_VALIDATION_FRACTION:
            rc = cli_parse_float(cmd, name, v, 0.0, 1.0, 1, 1, &c->fit.validation_fraction);
            break;
        case OPT_NO_SHUFFLE:
            c->fit.shuffle = 0;
            break;
        case OPT_SEED:
            rc = cli_parse_u64(cmd, name, v, &c->fit.seed);
            break;
        case OPT_INIT_MODEL:
            c->init_model = v;
            break;
        case OPT_DETERMINISTIC:
            c->deterministic = 1;
            break;
        case OPT_THREADS:
            rc = cli_parse_int(cmd, name, v, 1, 4096, &c->threads);
            break;
        case OPT_OUT:
            c->out = v;
            break;
        case OPT_JSON:
            c->json = 1;
            break;
        case OPT_QUIET:
            c->quiet = 1;
            break;
        default:
            return cli_usage_error(cmd, "internal error: option %d", id);
        }
    }
    if (rc) return rc;
    if (c->data.data[0] == '\0') return cli_usage_error(cmd, "--data: empty path");
    if (c->test_labels && !c->test_data)
        return cli_usage_error(cmd, "--test-labels needs --test-data");
    if (c->test_data && c->data.labels && !c->test_labels && !cli_is_digits(c->test_data))
        return cli_usage_error(cmd, "IDX training data: --test-data needs --test-labels");
    if (c->test_data && c->test_fraction_given)
        return cli_usage_error(cmd, "--test-data and --test-fraction exclude each other");
    if (c->data.regression && (c->data.labels || c->test_labels))
        return cli_usage_error(cmd, "--regression needs CSV data (IDX labels are classes)");
    if (c->out && c->out[0] == '\0') return cli_usage_error(cmd, "--out: empty path");
    if (c->init_model) {
        if (c->init_model[0] == '\0') return cli_usage_error(cmd, "--init-model: empty path");
        if (c->hidden_given || c->act_given || c->scale_given)
            return cli_usage_error(cmd, "--init-model: the layers and the scaler come from the "
                                        "model; drop --hidden, --activation and --scale");
    }
    if (c->deterministic && !cli_mpi_available())
        return cli_usage_error(cmd, "--deterministic needs an mlp built with MPI support "
                                    "(cmake -DMLP_WITH_MPI=ON)");
    return 0;
}

/* Loaded and prepared data. */
typedef struct train_data {
    mlp_dataset train, test; /* test.n == 0: no test set */
    const char *train_label; /* for messages */
    size_t k;                /* classes or targets */
    mlp_scaler scaler;
    int scaler_loaded; /* the scaler came with --init-model: apply it, do not fit one */
} train_data;

static void train_data_free(train_data *t) {
    mlp_dataset_free(&t->train);
    mlp_dataset_free(&t->test);
    mlp_scaler_free(&t->scaler);
}

static int load_train_data(const train_cfg *c, train_data *t) {
    int rc;
    const cli_data_opts *o = &c->data;
    if (c->test_data) {
        cli_data_opts to = *o;
        to.data = c->test_data;
        to.labels = c->test_labels;
        if ((rc = cli_load(o, CLI_ROLE_ALL, &t->train)) != 0) return rc;
        if ((rc = cli_load(&to, CLI_ROLE_TEST, &t->test)) != 0) return rc;
        t->train_label = cli_data_label(o, CLI_ROLE_ALL);
    } else if (cli_is_digits(o->data) && !o->labels && !c->test_fraction_given) {
        if ((rc = cli_load(o, CLI_ROLE_TRAIN, &t->train)) != 0) return rc;
        if ((rc = cli_load(o, CLI_ROLE_TEST, &t->test)) != 0) return rc;
        t->train_label = cli_data_label(o, CLI_ROLE_TRAIN);
    } else {
        mlp_dataset all = {0};
        if ((rc = cli_load(o, CLI_ROLE_ALL, &all)) != 0) return rc;
        t->train_label = cli_data_label(o, CLI_ROLE_ALL);
        if (c->test_fraction == 0.0) {
            t->train = all;
        } else {
            mlp_status st =
                mlp_dataset_split(&all, c->test_fraction, c->fit.seed, &t->train, &t->test);
            mlp_dataset_free(&all);
            if (st != MLP_OK)
                return cli_lib_error(st, "cannot split %s into train and test sets",
                                     t->train_label);
        }
    }
    if (t->test.n && t->test.d != t->train.d)
        return cli_error("the test set has %zu features but the training set has %zu", t->test.d,
                         t->train.d);
    if (o->regression) {
        t->k = t->train.n_targets;
        if (t->test.n && t->test.n_targets != t->k)
            return cli_error("the test set has %zu targets but the training set has %zu",
                             t->test.n_targets, t->k);
    } else {
        t->k = t->train.n_classes;
        if (t->test.n && t->test.n_classes > t->k) t->k = t->test.n_classes;
        if (t->k < 2)
            return cli_error("%s: classification needs at least 2 classes (labels 0 and 1), "
                             "the largest label is %zu; use --regression for float targets",
                             t->train_label, t->k ? t->k - 1 : 0);
    }
    if (c->scale != MLP_SCALE_NONE) {
        mlp_status st = MLP_OK;
        if (!t->scaler_loaded)
            st = mlp_scaler_fit(&t->scaler, c->scale, t->train.X, t->train.n, t->train.d);
        if (st == MLP_OK) st = mlp_scaler_apply(&t->scaler, t->train.X, t->train.n, t->train.d);
        if (st == MLP_OK && t->test.n)
            st = mlp_scaler_apply(&t->scaler, t->test.X, t->test.n, t->test.d);
        if (st != MLP_OK) return cli_lib_error(st, "cannot scale the data");
    }
    return 0;
}

static void arch_string(char *buf, size_t cap, size_t d, const mlp_fit_options *o, size_t out) {
    size_t len = (size_t)snprintf(buf, cap, "%zu", d);
    for (size_t i = 0; i < o->n_hidden && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "-%zu", o->hidden[i]);
    if (len < cap) snprintf(buf + len, cap - len, "-%zu", out);
}

typedef struct train_report {
    const train_cfg *c;
    const train_data *t;
    const mlp_fit_result *r;
    double score; /* NaN: no test set */
    size_t out_width;
} train_report;

static const char *stop_reason(const mlp_fit_result *r) {
    return r->stopped_by_callback ? "interrupted" : r->converged ? "converged" : "max_iter";
}

static void print_json(const train_report *p) {
    const train_cfg *c = p->c;
    const mlp_fit_options *o = &c->fit;
    /* The minibatch size mlp_fit used: auto = 200, clipped to the rows it trained on (without the
     * validation rows, which scikit-learn's split rounds up). */
    size_t n_fit = p->t->train.n, batch = o->batch_size ? o->batch_size : 200;
    if (o->early_stopping) {
        size_t n_val = (size_t)ceil((double)o->validation_fraction * (double)n_fit);
        if (n_val < n_fit) n_fit -= n_val;
    }
    if (batch > n_fit) batch = n_fit;
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_double(&j, c->data.regression ? "r2" : "accuracy", p->score);
    cli_json_float(&j, "loss", p->r->loss);
    cli_json_u64(&j, "epochs", p->r->epochs);
    cli_json_bool(&j, "converged", p->r->converged);
    cli_json_str(&j, "stopped", stop_reason(p->r));
    cli_json_double(&j, "seconds", p->r->seconds);
    cli_json_double(&j, "samples_per_s", p->r->samples_per_s);
    cli_json_u64(&j, "threads", (uint64_t)mlp_get_num_threads());
    cli_json_str(&j, "blas_core", mlp_blas_corename());
    cli_json_bool(&j, "blas_openmp", mlp_blas_is_openmp());
    cli_json_str(&j, "task", c->data.regression ? "regression" : "classification");
    cli_json_u64(&j, "n_train", p->t->train.n);
    cli_json_u64(&j, "n_test", p->t->test.n);
    cli_json_u64(&j, "n_features", p->t->train.d);
    cli_json_u64(&j, "n_outputs", p->out_width);
    if (!c->data.regression) cli_json_u64(&j, "n_classes", p->t->k);
    cli_json_sizes(&j, "hidden", o->hidden, o->n_hidden);
    cli_json_str(&j, "activation", cli_activation_name(o->activation));
    cli_json_str(&j, "solver", cli_solver_name(o->solver));
    cli_json_float(&j, "lr", o->lr);
    cli_json_float(&j, "alpha", o->alpha);
    cli_json_u64(&j, "batch_size", batch);
    cli_json_u64(&j, "max_iter", o->max_iter);
    cli_json_u64(&j, "seed", o->seed);
    cli_json_str(&j, "scale", cli_scale_name(c->scale));
    if (o->early_stopping) cli_json_float(&j, "best_val_score", p->r->best_val_score);
    cli_json_str(&j, "model", c->out);
    if (c->init_model) cli_json_str(&j, "init_model", c->init_model);
    if (c->mpi.active) {
        cli_json_u64(&j, "ranks", (uint64_t)c->mpi.size);
        cli_json_bool(&j, "deterministic", c->deterministic);
    }
    cli_json_str(&j, "version", mlp_version());
    cli_json_end(&j);
}

static void print_human(const train_report *p) {
    const train_cfg *c = p->c;
    const mlp_fit_result *r = p->r;
    size_t n_test = p->t->test.n;
    char rate[32];
    if (!n_test)
        printf("Test %s:  n/a (no test set)\n", c->data.regression ? "R^2" : "accuracy");
    else if (c->data.regression)
        printf("Test R^2:       %.6f (%zu samples)\n", p->score, n_test);
    else
        printf("Test accuracy:  %.2f%% (%lld/%zu)\n", 100.0 * p->score,
               (long long)llround(p->score * (double)n_test), n_test);
    if (c->fit.early_stopping)
        printf("Validation:     best score %.4f (early stopping, best weights kept)\n",
               (double)r->best_val_score);
    printf("Epochs:         %zu", r->epochs);
    if (r->stopped_by_callback)
        printf(" (interrupted)\n");
    else if (r->converged)
        printf(" (converged: %s did not improve by tol=%g for %zu epochs)\n",
               c->fit.early_stopping ? "validation score" : "training loss", (double)c->fit.tol,
               c->fit.n_iter_no_change);
    else
        printf(" (hit max_iter=%zu without converging)\n", c->fit.max_iter);
    printf("Final loss:     %.6g\n", (double)r->loss);
    cli_format_rate(rate, sizeof rate, r->samples_per_s);
    printf("Training time:  %.3f s (%s samples/s)\n", r->seconds, rate);
    if (c->mpi.active)
        printf("Threads:        %d per rank x %d MPI ranks%s (OpenBLAS core %s)\n",
               mlp_get_num_threads(), c->mpi.size, c->deterministic ? ", deterministic" : "",
               mlp_blas_corename());
    else
        printf("Threads:        %d (OpenBLAS core %s)\n", mlp_get_num_threads(),
               mlp_blas_corename());
    if (c->init_model) printf("Started from:   %s\n", c->init_model);
    if (c->out) printf("Model saved:    %s\n", c->out);
}

/* --init-model: the warm-start net and its scaler (rank 0 reads them, every rank gets them). The
 * options then describe the model's layers, for the report. */
static int load_init_model(train_cfg *c, train_data *t, mlp_net **net) {
    mlp_status st = cli_mpi_load(&c->mpi, c->init_model, net, &t->scaler);
    if (st != MLP_OK) return cli_lib_error(st, "cannot load the model '%s'", c->init_model);
    size_t L = mlp_net_n_layers(*net);
    free(c->hidden);
    c->hidden = L > 1 ? malloc((L - 1) * sizeof *c->hidden) : NULL;
    if (L > 1 && !c->hidden) return cli_error("out of memory");
    for (size_t l = 0; l + 1 < L; l++)
        mlp_net_layer_shape(*net, l, NULL, &c->hidden[l], l == 0 ? &c->fit.activation : NULL);
    c->fit.hidden = c->hidden;
    c->fit.n_hidden = L - 1;
    c->scale = t->scaler.kind;
    t->scaler_loaded = 1;
    return 0;
}

static int run_train(train_cfg *c) {
    train_data t;
    memset(&t, 0, sizeof t);
    mlp_net *net = NULL;
    mlp_fit_result r;
    memset(&r, 0, sizeof r);
    int rc;
    mlp_status st;
    const int root = c->mpi.rank == 0; /* prints, scores and saves; 1 without MPI */

    if (c->threads) {
        st = mlp_set_num_threads(c->threads);
        if (st != MLP_OK) return cli_lib_error(st, "--threads %d", c->threads);
    } else if (c->mpi.active && !getenv("OMP_NUM_THREADS")) {
        mlp_set_num_threads(cli_mpi_default_threads(&c->mpi));
    }
    if (!cli_mpi_available() && cli_mpi_launched() > 1)
        cli_warn("started by an MPI launcher, but this mlp is built without MPI support "
                 "(cmake -DMLP_WITH_MPI=ON): each of the %d processes trains on its own",
                 cli_mpi_launched());
    if (!mlp_blas_is_openmp())
        cli_warn("OpenBLAS is not its OpenMP build: its threads and mlp's may compete for cores "
                 "(consider --threads 1 or OPENBLAS_NUM_THREADS=1)");
    /* Every rank loads the model and the data; if any fails, all stop (the failing ones said
     * why). */
    rc = c->init_model ? load_init_model(c, &t, &net) : 0;
    if (rc == 0 && (rc = load_train_data(c, &t)) != 0) {
        if (root && !c->data.regression && strstr(mlp_last_error(), "is not an integer"))
            fputs("mlp: hint: use --regression for float targets\n", stderr);
    }
    if ((rc = cli_mpi_agree(&c->mpi, rc)) != 0) goto out;

    const mlp_task task = c->data.regression ? MLP_TASK_REGRESS : MLP_TASK_CLASSIFY;
    const size_t out_width = (task == MLP_TASK_CLASSIFY && t.k == 2) ? 1 : t.k;
    if (!c->quiet && root) {
        char arch[256], par[64] = "";
        arch_string(arch, sizeof arch, t.train.d, &c->fit, out_width);
        if (c->mpi.active)
            snprintf(par, sizeof par, "%d MPI ranks%s x ", c->mpi.size,
                     c->deterministic ? " (deterministic)" : "");
        fprintf(stderr,
                "Training %s (%s, %s) on %s: %zu samples, %zu features, %zu %s; test set %zu "
                "samples; %s%d threads, OpenBLAS %s\n",
                arch, cli_activation_name(c->fit.activation), cli_solver_name(c->fit.solver),
                t.train_label, t.train.n, t.train.d, t.k,
                task == MLP_TASK_CLASSIFY ? "classes"
                : t.k == 1                ? "target"
                                          : "targets",
                t.test.n, par, mlp_get_num_threads(), mlp_blas_corename());
    }

    cli_progress prog;
    cli_progress_init(&prog, !c->quiet && root, c->fit.max_iter);
    c->fit.callback = cli_progress_callback;
    c->fit.user = &prog;
    cli_interrupt_install();
    st = cli_mpi_fit(&c->mpi, c->deterministic, &net, task, &t.train, t.k, &c->fit, &r);
    cli_interrupt_restore();
    cli_progress_finish(&prog);
    /* Under MPI the status is the same on every rank: rank 0 reports it, and so does a rank that
     * failed by itself (its message says what happened there). */
    if (st != MLP_OK && !root &&
        (st == MLP_ERR_DIVERGED || strstr(mlp_last_error(), "on another rank"))) {
        rc = CLI_EXIT_RUNTIME;
        goto out;
    }
    if (st == MLP_ERR_DIVERGED) {
        rc = cli_lib_error(st, "epoch %zu", r.epochs + 1);
        fprintf(stderr, "mlp: hint: try a lower --lr%s\n",
                c->scale == MLP_SCALE_NONE ? ", or --scale standard" : "");
        goto out;
    }
    if (st != MLP_OK) {
        rc = cli_lib_error(st, "training failed");
        goto out;
    }

    double score = NAN;
    if (t.test.n && root) {
        st = task == MLP_TASK_CLASSIFY
                 ? mlp_score_accuracy(net, t.test.X, t.test.labels, t.test.n, &score)
                 : mlp_score_r2(net, t.test.X, t.test.targets, t.test.n, &score);
        if (st != MLP_OK) rc = cli_lib_error(st, "cannot score the test set");
    }
    if ((rc = cli_mpi_agree(&c->mpi, rc)) != 0) goto out;
    if (c->out) {
        st = cli_mpi_save(&c->mpi, c->out, net, c->scale != MLP_SCALE_NONE ? &t.scaler : NULL);
        if (st != MLP_OK) {
            rc = cli_lib_error(st, "cannot save the model to '%s'", c->out);
            goto out;
        }
    }
    if (!root) goto out;
    train_report rep = {.c = c, .t = &t, .r = &r, .score = score, .out_width = out_width};
    if (c->json)
        print_json(&rep);
    else
        print_human(&rep);
    rc = cli_finish_output(stdout, "stdout");
out:
    mlp_fit_result_free(&r);
    mlp_net_free(net);
    train_data_free(&t);
    return rc;
}

int cli_train(int argc, char **argv) {
    train_cfg c;
    memset(&c, 0, sizeof c);
    c.data.data = "digits";
    c.data.label_column = -1;
    c.data.header = -1;
    c.test_fraction = 0.2;
    c.scale = MLP_SCALE_NONE;
    c.fit = mlp_fit_options_default();
    /* Under an MPI launcher only rank 0 reports usage errors and help (mpi.c). */
    if (cli_mpi_available()) cli_mpi_early_rank();
    int rc = parse_train(argc, argv, &c);
    if (rc == -1) {
        rc = cli_rank == 0 ? cli_finish_output(stdout, "stdout") : CLI_EXIT_OK; /* --help */
    } else if (rc == 0) {
        rc = cli_mpi_init(&c.mpi, c.deterministic);
        if (rc == 0) rc = run_train(&c);
        cli_mpi_finalize(&c.mpi);
    }
    free(c.hidden);
    return rc;
}
