/* mlp train: load data, split off a test set, optionally scale, mlp_fit with a progress callback,
 * score on the test set, save the model, report (human text or one JSON line).
 * Under an MPI launcher (builds with MLP_WITH_MPI, see mpi.c) every rank loads the data and trains
 * its share of each minibatch (mlp_mpi_fit); rank 0 alone prints, scores and saves. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Usage and the data options. */
static void help_data(FILE *f) {
    fputs("Usage: mlp train [OPTIONS]\n"
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
          "  --label-column N       CSV: 0-based column of the label/target (negative: from\n"
          "                         the end; default last); a list or range (3,4,5 or 3-5)\n"
          "                         of target columns with --regression or --multilabel\n"
          "  --header yes|no|auto   CSV: first row is a header (default auto: a row with text\n"
          "                         in a feature column, or a count header like\n"
          "                         '150,4,setosa,...')\n"
          "  --delimiter C          CSV: ',', ';', tab, space (runs of spaces and tabs), any\n"
          "                         other character, or auto (default: detected from the\n"
          "                         first lines, with a note when it is not ',')\n"
          "  --skip-rows N          CSV: skip the first N lines (default 0); lines starting\n"
          "                         with '#' are always skipped; fields may be \"quoted\"\n"
          "  Class labels may be any integers or text; '-' as a path reads standard input.\n"
          "  --multilabel           CSV: the label columns hold 0/1 labels (multi-label\n"
          "                         classification: logistic outputs, exact-match accuracy)\n"
          "  --regression           CSV: the label column holds float targets; train a\n"
          "                         regressor (identity output, squared error) and report R^2\n"
          "  --scale none|standard|minmax\n"
          "                         input scaling fitted on the training set and saved with the\n"
          "                         model (default none, as scikit-learn's digits example)\n"
          "  --sample-weight FILE   per-row weights of the loss (scikit-learn's fit(...,\n"
          "                         sample_weight)): a text file of one number >= 0 per row\n"
          "                         of --data, in its row order; they follow the rows through\n"
          "                         the test split. The validation score and loss of\n"
          "                         --early-stopping are weighted too; the test score is not\n"
          "  --weight-column C      CSV: take the weights from column C (0-based, negative\n"
          "                         from the end, 'last', or a header name) instead; the\n"
          "                         column is not a feature (and is dropped from --test-data)\n"
          "\n",
          f);
}

/* The network and training options, with mlp_fit's defaults. */
static void help_training(FILE *f) {
    mlp_fit_options d = mlp_fit_options_default();
    fprintf(f,
            "Network and training (defaults are scikit-learn's):\n"
            "  --hidden W[,W...]      hidden layer widths, e.g. 50 or 128,64; 'none' (or 0) for\n"
            "                         no hidden layer (default 100)\n"
            "  --activation NAME      hidden activation: relu, logistic, tanh, identity,\n"
            "                         leaky_relu, gelu (default relu)\n"
            "  --solver adam|sgd|lbfgs\n"
            "                         optimizer (default adam); lbfgs is full-batch L-BFGS\n"
            "                         (--max-iter counts its iterations; no batches, schedules\n"
            "                         or early stopping, as in scikit-learn)\n"
            "  --max-fun N            lbfgs: most loss evaluations (default %zu)\n"
            "  --lr X                 initial learning rate (default %g)\n"
            "  --alpha X              L2 penalty (default %g)\n"
            "  --dropout P            dropout on every hidden layer in [0, 1) (mlp's own;\n"
            "                         default 0)\n"
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
            "  --early-stopping-metric score|loss\n"
            "                         what early stopping watches: the validation score\n"
            "                         (default, scikit-learn's) or the validation loss (mlp's\n"
            "                         own: stops when it does not fall by --tol)\n"
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
            "\n",
            d.max_fun, (double)d.opt.lr, (double)d.opt.alpha, d.max_iter, (double)d.tol,
            d.n_iter_no_change, (double)d.opt.momentum, (double)d.power_t,
            (double)d.validation_fraction);
}

/* MPI, output, progress, JSON, examples. */
static void help_output(FILE *f) {
    fputs("Parallel (builds with MLP_WITH_MPI; run as mpirun -np P mlp train ...):\n"
          "  --deterministic        combine gradients exactly (fixed point, fixed 32-row\n"
          "                         chunks): the result is bit-identical for any number of\n"
          "                         ranks (default: one float allreduce per step, equal to\n"
          "                         single-process training up to rounding)\n"
          "\n"
          "Output:\n"
          "  -o, --out MODEL        save the trained model (and its scaler) to MODEL\n"
          "  --json                 print one JSON object (last line of stdout) instead of\n"
          "                         the human-readable result\n"
          "  --history FILE         write each epoch's losses, validation score, learning\n"
          "                         rate and time to FILE (.csv or .json; atomically)\n"
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
          "hidden, activation, solver, seed, ... (see docs/CLI.md); with early stopping\n"
          "also best_val_score, best_val_loss and val_losses. With no test set,\n"
          "accuracy/r2 is null.\n"
          "\n"
          "Examples:\n"
          "  mlp train --data digits --hidden 50 --max-iter 500 --seed 42\n"
          "  mlp train --data house.csv --regression --scale standard --hidden 64,32 -o h.mlp\n"
          "  mlp train --data train-images.idx.gz --labels train-labels.idx.gz \\\n"
          "            --test-data t10k-images.idx.gz \\\n"
          "            --test-labels t10k-labels.idx.gz --scale minmax -o mnist.mlp\n",
          f);
}

void cli_train_help(FILE *f) {
    help_data(f);
    help_training(f);
    help_output(f);
}

enum {
    /* data, network and run (run_option) */
    OPT_DATA = CLI_OPT_SHARED_END,
    OPT_TEST_DATA,
    OPT_TEST_LABELS,
    OPT_TEST_FRACTION,
    OPT_REGRESSION,
    OPT_MULTILABEL,
    OPT_SCALE,
    OPT_HIDDEN,
    OPT_ACTIVATION,
    OPT_INIT_MODEL,
    OPT_DETERMINISTIC,
    OPT_QUIET,
    OPT_SAMPLE_WEIGHT,
    OPT_WEIGHT_COLUMN,
    OPT_HISTORY,
    /* the optimizer: mlp_fit_options.opt (optimizer_option) */
    OPT_SOLVER,
    OPT_LR,
    OPT_ALPHA,
    OPT_MOMENTUM,
    OPT_NO_NESTEROV,
    /* the rest of mlp_fit_options (loop_option) */
    OPT_BATCH_SIZE,
    OPT_MAX_ITER,
    OPT_TOL,
    OPT_N_ITER_NO_CHANGE,
    OPT_LR_SCHEDULE,
    OPT_POWER_T,
    OPT_EARLY_STOPPING,
    OPT_VALIDATION_FRACTION,
    OPT_NO_SHUFFLE,
    OPT_SEED,
    OPT_DROPOUT,
    OPT_MAX_FUN,
    OPT_ES_METRIC
};

static const cli_opt train_opts[] = {
    CLI_OPT_ROW_HELP,
    CLI_OPT_ROWS_DATA,
    CLI_OPT_ROW_THREADS,
    CLI_OPT_ROW_JSON,
    CLI_OPT_ROW_OUT,
    {"data", 0, 1, OPT_DATA},
    {"test-data", 0, 1, OPT_TEST_DATA},
    {"test-labels", 0, 1, OPT_TEST_LABELS},
    {"test-fraction", 0, 1, OPT_TEST_FRACTION},
    {"regression", 0, 0, OPT_REGRESSION},
    {"multilabel", 0, 0, OPT_MULTILABEL},
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
    {"dropout", 0, 1, OPT_DROPOUT},
    {"init-model", 0, 1, OPT_INIT_MODEL},
    {"deterministic", 0, 0, OPT_DETERMINISTIC},
    {"quiet", 'q', 0, OPT_QUIET},
    {"sample-weight", 0, 1, OPT_SAMPLE_WEIGHT},
    {"weight-column", 0, 1, OPT_WEIGHT_COLUMN},
    {"history", 0, 1, OPT_HISTORY},
    {"max-fun", 0, 1, OPT_MAX_FUN},
    {"early-stopping-metric", 0, 1, OPT_ES_METRIC},
    {NULL, 0, 0, 0},
};

typedef struct train_cfg {
    cli_common common; /* data (--data and the CSV / IDX options), threads, json, out */
    const char *test_data, *test_labels;
    double test_fraction;
    int test_fraction_given;
    mlp_scale_kind scale;
    mlp_fit_options fit;
    size_t *hidden; /* owned */
    int quiet;
    const char *init_model;                   /* warm start from this model file */
    int deterministic;                        /* MPI: MLP_MPI_EXACT */
    int hidden_given, act_given, scale_given; /* excluded by --init-model */
    int dropout_given;         /* --dropout, also 0: replaces the dropout a --init-model kept */
    const char *sample_weight; /* --sample-weight FILE */
    const char *weight_name;   /* --weight-column by header name */
    long weight_col;           /* --weight-column by index */
    int weight_col_given;
    const char *history; /* --history FILE (.csv or .json) */
    cli_mpi mpi;
} train_cfg;

static const char *const cmd = "train";

/* Options of the data, the network and the run. */
static int run_option(train_cfg *c, int id, const char *name, const char *v) {
    int rc = 0;
    switch (id) {
    case OPT_DATA:
        c->common.data.data = v;
        break;
    case OPT_TEST_DATA:
        c->test_data = v;
        break;
    case OPT_TEST_LABELS:
        c->test_labels = v;
        break;
    case OPT_TEST_FRACTION:
        c->test_fraction_given = 1;
        return cli_parse_double(cmd, name, v, 0.0, 1.0, 0, 1, &c->test_fraction);
    case OPT_REGRESSION:
        c->common.data.regression = 1;
        break;
    case OPT_MULTILABEL:
        c->common.data.multilabel = 1;
        break;
    case OPT_SCALE:
        c->scale_given = 1;
        return cli_parse_scale(cmd, name, v, &c->scale);
    case OPT_HIDDEN:
        free(c->hidden);
        c->hidden = NULL;
        rc = cli_parse_hidden(cmd, v, &c->hidden, &c->fit.n_hidden);
        c->fit.hidden = c->hidden;
        c->hidden_given = 1;
        break;
    case OPT_ACTIVATION:
        c->act_given = 1;
        rc = cli_parse_activation(cmd, name, v, &c->fit.activation);
        if (rc == 0 && c->fit.activation == MLP_ACT_SOFTMAX)
            rc = cli_usage_error(cmd, "--activation: softmax is for output layers only");
        break;
    case OPT_INIT_MODEL:
        c->init_model = v;
        break;
    case OPT_DETERMINISTIC:
        c->deterministic = 1;
        break;
    case OPT_QUIET:
        c->quiet = 1;
        c->common.data.no_notes = 1;
        break;
    case OPT_SAMPLE_WEIGHT:
        c->sample_weight = v;
        break;
    case OPT_WEIGHT_COLUMN:
        c->weight_col_given = 1;
        return cli_weights_parse_column(v, &c->weight_col, &c->weight_name);
    case OPT_HISTORY:
        c->history = v;
        break;
    default:
        return cli_usage_error(cmd, "internal error: option %d", id);
    }
    return rc;
}

/* --solver, --lr, --alpha, --momentum, --no-nesterov. */
static int optimizer_option(mlp_optimizer *opt, int id, const char *name, const char *v) {
    switch (id) {
    case OPT_SOLVER:
        return cli_parse_solver(cmd, name, v, &opt->kind);
    case OPT_LR:
        return cli_parse_float(cmd, name, v, 0.0, INFINITY, 1, 0, &opt->lr);
    case OPT_ALPHA:
        return cli_parse_float(cmd, name, v, 0.0, INFINITY, 0, 0, &opt->alpha);
    case OPT_MOMENTUM:
        return cli_parse_float(cmd, name, v, 0.0, 1.0, 0, 1, &opt->momentum);
    case OPT_NO_NESTEROV:
        opt->nesterov = 0;
        return 0;
    default:
        return cli_usage_error(cmd, "internal error: option %d", id);
    }
}

/* The loop's options: batching, stopping, schedules, early stopping, shuffling, seed. */
static int loop_option(mlp_fit_options *f, int id, const char *name, const char *v) {
    switch (id) {
    case OPT_BATCH_SIZE:
        f->batch_size = 0; /* auto */
        return strcmp(v, "auto") == 0 ? 0
                                      : cli_parse_size(cmd, name, v, 1, SIZE_MAX, &f->batch_size);
    case OPT_MAX_ITER:
        return cli_parse_size(cmd, name, v, 1, SIZE_MAX, &f->max_iter);
    case OPT_TOL:
        return cli_parse_float(cmd, name, v, 0.0, INFINITY, 0, 0, &f->tol);
    case OPT_N_ITER_NO_CHANGE:
        return cli_parse_size(cmd, name, v, 1, SIZE_MAX, &f->n_iter_no_change);
    case OPT_LR_SCHEDULE:
        return cli_parse_schedule(cmd, name, v, &f->schedule);
    case OPT_POWER_T:
        return cli_parse_float(cmd, name, v, 0.0, INFINITY, 0, 0, &f->power_t);
    case OPT_EARLY_STOPPING:
        f->early_stopping = 1;
        return 0;
    case OPT_VALIDATION_FRACTION:
        return cli_parse_float(cmd, name, v, 0.0, 1.0, 1, 1, &f->validation_fraction);
    case OPT_NO_SHUFFLE:
        f->shuffle = 0;
        return 0;
    case OPT_SEED:
        return cli_parse_u64(cmd, name, v, &f->seed);
    case OPT_DROPOUT:
        return cli_parse_float(cmd, name, v, 0.0, 1.0, 0, 1, &f->dropout);
    case OPT_MAX_FUN:
        return cli_parse_size(cmd, name, v, 1, SIZE_MAX, &f->max_fun);
    case OPT_ES_METRIC: {
        static const char *const metrics[] = {"score", "loss", NULL};
        int m = 0;
        int rc = cli_parse_choice(cmd, name, v, metrics, &m);
        f->early_stopping_metric = m == 1 ? MLP_STOP_LOSS : MLP_STOP_SCORE;
        return rc;
    }
    default:
        return cli_usage_error(cmd, "internal error: option %d", id);
    }
}

static int train_option(train_cfg *c, int id, const char *name, const char *v) {
    if (cli_is_common_option(id)) return cli_common_option(cmd, id, name, v, &c->common);
    if (id == OPT_DROPOUT) c->dropout_given = 1;
    if (id >= OPT_BATCH_SIZE) return loop_option(&c->fit, id, name, v);
    if (id >= OPT_SOLVER) return optimizer_option(&c->fit.opt, id, name, v);
    return run_option(c, id, name, v);
}

/* --sample-weight, --weight-column and --history. */
static int check_weight_args(const train_cfg *c) {
    const cli_data_opts *d = &c->common.data;
    if (c->sample_weight && c->weight_col_given)
        return cli_usage_error(cmd, "--sample-weight and --weight-column exclude each other");
    if (c->sample_weight && c->sample_weight[0] == '\0')
        return cli_usage_error(cmd, "--sample-weight: empty path");
    if (c->weight_col_given && d->labels)
        return cli_usage_error(cmd, "--weight-column needs CSV data (use --sample-weight with "
                                    "IDX files)");
    if (c->history && cli_history_format(c->history) < 0)
        return cli_usage_error(cmd, "--history: '%s' must end in .csv or .json", c->history);
    return 0;
}

/* Combinations of options that exclude each other. */
static int check_train_args(const train_cfg *c) {
    const cli_data_opts *d = &c->common.data;
    if (d->data[0] == '\0') return cli_usage_error(cmd, "--data: empty path");
    if (c->test_labels && !c->test_data)
        return cli_usage_error(cmd, "--test-labels needs --test-data");
    if (c->test_data && d->labels && !c->test_labels && !cli_is_digits(c->test_data))
        return cli_usage_error(cmd, "IDX training data: --test-data needs --test-labels");
    if (c->test_data && c->test_fraction_given)
        return cli_usage_error(cmd, "--test-data and --test-fraction exclude each other");
    if ((d->regression || d->multilabel) && (d->labels || c->test_labels))
        return cli_usage_error(cmd, "--%s needs CSV data (IDX labels are classes)",
                               d->regression ? "regression" : "multilabel");
    if (d->regression && d->multilabel)
        return cli_usage_error(cmd, "--regression and --multilabel exclude each other");
    if (d->n_label_columns > 1 && !d->regression && !d->multilabel)
        return cli_usage_error(cmd,
                               "--label-column: %zu columns are several targets: add --regression "
                               "(float targets) or --multilabel (0/1 labels)",
                               d->n_label_columns);
    int rc = cli_common_check(cmd, &c->common);
    if (rc) return rc;
    if (c->init_model) {
        if (c->init_model[0] == '\0') return cli_usage_error(cmd, "--init-model: empty path");
        if (c->hidden_given || c->act_given || c->scale_given)
            return cli_usage_error(cmd, "--init-model: the layers and the scaler come from the "
                                        "model; drop --hidden, --activation and --scale");
    }
    rc = check_weight_args(c);
    if (rc) return rc;
    if (c->deterministic && !cli_mpi_available())
        return cli_usage_error(cmd, "--deterministic needs an mlp built with MPI support "
                                    "(cmake -DMLP_WITH_MPI=ON)");
    return 0;
}

/* Returns -1 after --help, 0, or the exit code of a usage error. */
static int parse_train(int argc, char **argv, train_cfg *c) {
    cli_args a = {.argc = argc, .argv = argv, .i = 1, .cmd = cmd};
    const char *v, *name;
    int id, rc = 0;
    while (rc == 0 && (id = cli_next(&a, train_opts, &v, &name)) != CLI_ARG_END) {
        if (id == CLI_ARG_ERROR) return CLI_EXIT_USAGE;
        if (id == CLI_ARG_POSITIONAL)
            return cli_usage_error(cmd, "unexpected argument '%s' (the data is given with --data)",
                                   v);
        if (id == CLI_OPT_HELP) {
            if (cli_rank == 0) cli_train_help(stdout);
            return -1;
        }
        rc = train_option(c, id, name, v);
    }
    return rc ? rc : check_train_args(c);
}

/* Loaded and prepared data. */
typedef struct train_data {
    mlp_dataset train, test;     /* test.n == 0: no test set */
    const char *train_label;     /* for messages */
    size_t n_classes_or_targets; /* classes (classification) or target columns (regression) */
    mlp_scaler scaler;
    int scaler_loaded;         /* the scaler came with --init-model: apply it, do not fit one */
    mlp_classes model_classes; /* --init-model's classes (classification) */
    float *weights;            /* train.n sample weights, or NULL */
} train_data;

static void train_data_free(train_data *t) {
    mlp_dataset_free(&t->train);
    mlp_dataset_free(&t->test);
    mlp_scaler_free(&t->scaler);
    mlp_classes_free(&t->model_classes);
    free(t->weights);
}

/* The weights of the n rows of all, the data file as read (before any split): --sample-weight's
 * file, or --weight-column taken out of all's features. *w stays NULL without weights. */
static int data_weights(const train_cfg *c, const cli_data_opts *o, mlp_dataset *all, float **w) {
    if (c->sample_weight) return cli_weights_read(c->sample_weight, all->n, w);
    if (c->weight_col_given)
        return cli_weights_take_column(o, c->weight_col, c->weight_name, all, w);
    return 0;
}

/* One side of the shipped digits split of all (and of its weights w, if any). */
static int digits_side(const mlp_dataset *all, const float *w, cli_role role, mlp_dataset *ds,
                       float **ws) {
    size_t *rows = NULL, n = 0;
    int rc = cli_digits_split_rows(role, all->n, &rows, &n);
    if (rc == 0) {
        mlp_status st = mlp_dataset_subset(all, rows, n, ds);
        if (st != MLP_OK) rc = cli_lib_error(st, "cannot split the digits data");
    }
    if (rc == 0 && w && ws) rc = cli_weights_subset(w, rows, n, ws);
    free(rows);
    return rc;
}

/* The shipped digits split with sample weights: the weights are given for all rows of the data
 * file, so it is read whole and both sides are taken from it by the split's row files. */
static int load_digits_weighted(const train_cfg *c, const cli_data_opts *o, train_data *t) {
    mlp_dataset all = {0};
    float *w = NULL;
    int rc = cli_load(o, CLI_ROLE_ALL, &all);
    if (rc == 0) rc = data_weights(c, o, &all, &w);
    if (rc == 0) rc = digits_side(&all, w, CLI_ROLE_TRAIN, &t->train, &t->weights);
    if (rc == 0) rc = digits_side(&all, NULL, CLI_ROLE_TEST, &t->test, NULL);
    t->train_label = cli_data_label(o, CLI_ROLE_TRAIN);
    free(w);
    mlp_dataset_free(&all);
    return rc;
}

/* The training set and the test set: --test-data, the shipped digits split, or a split of
 * --data by --test-fraction. */
static int load_sets(const train_cfg *c, train_data *t) {
    int rc;
    cli_data_opts ob = c->common.data;
    const cli_data_opts *o = &ob;
    if (c->init_model && t->model_classes.kind != MLP_CLASSES_NONE)
        ob.classes = &t->model_classes; /* the labels must be the model's classes */
    if (c->test_data) {
        cli_data_opts to = *o;
        to.data = c->test_data;
        to.labels = c->test_labels;
        if ((rc = cli_load(o, CLI_ROLE_ALL, &t->train)) != 0) return rc;
        if ((rc = data_weights(c, o, &t->train, &t->weights)) != 0) return rc;
        if (!o->regression && !o->multilabel) to.classes = &t->train.classes; /* training set's */
        if ((rc = cli_load(&to, CLI_ROLE_TEST, &t->test)) != 0) return rc;
        if (c->weight_col_given &&
            (rc = cli_weights_drop_column(&to, c->weight_col, c->weight_name, &t->test)) != 0)
            return rc;
        t->train_label = cli_data_label(o, CLI_ROLE_ALL);
        return 0;
    }
    const int weighted = c->sample_weight || c->weight_col_given;
    if (cli_is_digits(o->data) && !o->labels && !c->test_fraction_given && weighted)
        return load_digits_weighted(c, o, t);
    if (cli_is_digits(o->data) && !o->labels && !c->test_fraction_given) {
        if ((rc = cli_load(o, CLI_ROLE_TRAIN, &t->train)) != 0) return rc;
        if (!o->regression && !o->multilabel) ob.classes = &t->train.classes;
        if ((rc = cli_load(o, CLI_ROLE_TEST, &t->test)) != 0) return rc;
        t->train_label = cli_data_label(o, CLI_ROLE_TRAIN);
        return 0;
    }
    mlp_dataset all = {0};
    float *w = NULL;
    if ((rc = cli_load(o, CLI_ROLE_ALL, &all)) != 0) return rc;
    t->train_label = cli_data_label(o, CLI_ROLE_ALL);
    rc = data_weights(c, o, &all, &w);
    if (rc == 0 && c->test_fraction == 0.0) {
        t->train = all;
        t->weights = w;
        return 0;
    }
    mlp_status st = MLP_OK;
    const size_t n_all = all.n;
    if (rc == 0) st = mlp_dataset_split(&all, c->test_fraction, c->fit.seed, &t->train, &t->test);
    mlp_dataset_free(&all);
    if (st != MLP_OK)
        rc = cli_lib_error(st, "cannot split %s into train and test sets", t->train_label);
    if (rc == 0 && w) rc = cli_weights_split(w, n_all, c->test_fraction, c->fit.seed, &t->weights);
    free(w);
    return rc;
}

/* The test set fits the training set; the classes (both sets) or target columns. */
static int check_sets(const train_cfg *c, train_data *t) {
    if (t->test.n && t->test.d != t->train.d)
        return cli_error("the test set has %zu features but the training set has %zu", t->test.d,
                         t->train.d);
    if (c->common.data.regression || c->common.data.multilabel) {
        t->n_classes_or_targets = t->train.n_targets;
        if (t->test.n && t->test.n_targets != t->train.n_targets)
            return cli_error("the test set has %zu targets but the training set has %zu",
                             t->test.n_targets, t->train.n_targets);
        return 0;
    }
    size_t n_classes = t->train.n_classes;
    if (n_classes < 2) {
        char only[64] = "";
        mlp_classes_name(&t->train.classes, 0, only, sizeof only);
        return cli_error("%s: classification needs at least 2 classes, every label is '%s'; use "
                         "--regression for float targets",
                         t->train_label, only);
    }
    t->n_classes_or_targets = n_classes;
    return 0;
}

/* --scale (fitted on the training set) or the --init-model's scaler, applied to both sets. */
static int scale_sets(const train_cfg *c, train_data *t) {
    if (c->scale == MLP_SCALE_NONE) return 0;
    mlp_status st = MLP_OK;
    if (!t->scaler_loaded)
        st = mlp_scaler_fit(&t->scaler, c->scale, t->train.X, t->train.n, t->train.d);
    if (st == MLP_OK) st = mlp_scaler_apply(&t->scaler, t->train.X, t->train.n, t->train.d);
    if (st == MLP_OK && t->test.n)
        st = mlp_scaler_apply(&t->scaler, t->test.X, t->test.n, t->test.d);
    if (st != MLP_OK) return cli_lib_error(st, "cannot scale the data");
    return 0;
}

static int load_train_data(const train_cfg *c, train_data *t) {
    int rc = load_sets(c, t);
    if (rc == 0) rc = check_sets(c, t);
    if (rc == 0) rc = scale_sets(c, t);
    return rc;
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
    int step_threads; /* threads a training step of this net used (mlp_net_step_threads) */
} train_report;

static const char *stop_reason(const mlp_fit_result *r) {
    return r->stopped_by_callback ? "interrupted" : r->converged ? "converged" : "max_iter";
}

static void print_json(const train_report *p) {
    const train_cfg *c = p->c;
    const mlp_fit_options *o = &c->fit;
    const int regression = c->common.data.regression, multilabel = c->common.data.multilabel;
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_double(&j, regression ? "r2" : "accuracy", p->score);
    cli_json_float(&j, "loss", p->r->loss);
    cli_json_u64(&j, "epochs", p->r->epochs);
    cli_json_bool(&j, "converged", p->r->converged);
    cli_json_str(&j, "stopped", stop_reason(p->r));
    cli_json_double(&j, "seconds", p->r->seconds);
    cli_json_double(&j, "samples_per_s", p->r->samples_per_s);
    cli_json_u64(&j, "threads", (uint64_t)mlp_get_num_threads());
    cli_json_u64(&j, "step_threads", (uint64_t)p->step_threads);
    cli_json_str(&j, "blas_core", mlp_blas_corename());
    cli_json_bool(&j, "blas_openmp", mlp_blas_is_openmp());
    cli_json_str(&j, "task",
                 regression   ? "regression"
                 : multilabel ? "multilabel"
                              : "classification");
    cli_json_u64(&j, "n_train", p->t->train.n);
    cli_json_u64(&j, "n_test", p->t->test.n);
    cli_json_u64(&j, "n_features", p->t->train.d);
    cli_json_u64(&j, "n_outputs", p->out_width);
    if (!regression && !multilabel) {
        cli_json_u64(&j, "n_classes", p->t->n_classes_or_targets);
        cli_json_classes(&j, "classes", &p->t->train.classes);
    }
    cli_json_sizes(&j, "hidden", o->hidden, o->n_hidden);
    cli_json_str(&j, "activation", cli_activation_name(o->activation));
    cli_json_str(&j, "solver", cli_solver_name(o->opt.kind));
    if (o->opt.kind == MLP_OPT_LBFGS) {
        cli_json_u64(&j, "max_fun", o->max_fun);
        cli_json_u64(&j, "loss_evaluations", p->r->steps);
    }
    cli_json_float(&j, "lr", o->opt.lr);
    cli_json_float(&j, "alpha", o->opt.alpha);
    cli_json_u64(&j, "batch_size", p->r->batch_size);
    cli_json_u64(&j, "max_iter", o->max_iter);
    cli_json_u64(&j, "seed", o->seed);
    cli_json_str(&j, "scale", cli_scale_name(c->scale));
    if (p->r->n_val) {
        cli_json_u64(&j, "n_val", p->r->n_val);
        cli_json_str(&j, "early_stopping_metric",
                     o->early_stopping_metric == MLP_STOP_LOSS ? "loss" : "score");
        cli_json_float(&j, "best_val_score", p->r->best_val_score);
        cli_json_float(&j, "best_val_loss", p->r->best_val_loss);
        cli_json_floats(&j, "val_losses", p->r->val_losses, p->r->epochs);
    }
    if (c->sample_weight) cli_json_str(&j, "sample_weight", c->sample_weight);
    if (c->weight_col_given) {
        if (c->weight_name)
            cli_json_str(&j, "weight_column", c->weight_name);
        else
            cli_json_double(&j, "weight_column", (double)c->weight_col);
    }
    if (c->history) cli_json_str(&j, "history", c->history);
    cli_json_str(&j, "model", c->common.out);
    if (c->init_model) cli_json_str(&j, "init_model", c->init_model);
    if (c->mpi.active) {
        cli_json_u64(&j, "ranks", (uint64_t)c->mpi.size);
        cli_json_bool(&j, "deterministic", c->deterministic);
    }
    cli_json_str(&j, "version", mlp_version());
    cli_json_end(&j);
}

/* The thread setting, and what a step of this net used of it when that was less. */
static void print_threads(const train_report *p) {
    const train_cfg *c = p->c;
    const int set = mlp_get_num_threads(), used = p->step_threads;
    if (c->mpi.active) {
        printf("Threads:        %d per rank x %d MPI ranks%s (OpenBLAS core %s)\n", set,
               c->mpi.size, c->deterministic ? ", deterministic" : "", mlp_blas_corename());
    } else if (used == 1 && set > 1) {
        printf("Threads:        %d, 1 per step: this net's steps are too small to share "
               "(OpenBLAS core %s)\n",
               set, mlp_blas_corename());
    } else if (used < set) {
        printf("Threads:        %d, %d per step: the machine's cores (OpenBLAS core %s)\n", set,
               used, mlp_blas_corename());
    } else {
        printf("Threads:        %d (OpenBLAS core %s)\n", set, mlp_blas_corename());
    }
}

/* The epochs (lbfgs: iterations) and why training stopped. */
static void print_epochs(const train_cfg *c, const mlp_fit_result *r) {
    if (c->fit.opt.kind == MLP_OPT_LBFGS) {
        printf("Iterations:     %zu, %zu loss evaluations (lbfgs", r->epochs, r->steps);
        if (r->stopped_by_callback)
            printf("; interrupted)\n");
        else if (r->converged)
            printf("; converged)\n");
        else if (r->steps >= c->fit.max_fun)
            printf("; hit max_fun=%zu without converging)\n", c->fit.max_fun);
        else
            printf("; hit max_iter=%zu without converging)\n", c->fit.max_iter);
        return;
    }
    printf("Epochs:         %zu", r->epochs);
    if (r->stopped_by_callback)
        printf(" (interrupted)\n");
    else if (r->converged)
        printf(" (converged: %s did not improve by tol=%g for %zu epochs)\n",
               !r->n_val                                       ? "training loss"
               : c->fit.early_stopping_metric == MLP_STOP_LOSS ? "validation loss"
                                                               : "validation score",
               (double)c->fit.tol, c->fit.n_iter_no_change);
    else
        printf(" (hit max_iter=%zu without converging)\n", c->fit.max_iter);
}

static void print_human(const train_report *p) {
    const train_cfg *c = p->c;
    const mlp_fit_result *r = p->r;
    const int regression = c->common.data.regression;
    size_t n_test = p->t->test.n;
    char rate[32];
    if (!n_test)
        printf("Test %s:  n/a (no test set)\n", regression ? "R^2" : "accuracy");
    else if (regression)
        printf("Test R^2:       %.6f (%zu samples)\n", p->score, n_test);
    else
        printf("Test accuracy:  %.2f%% (%lld/%zu)\n", 100.0 * p->score,
               (long long)llround(p->score * (double)n_test), n_test);
    if (r->n_val && c->fit.early_stopping_metric == MLP_STOP_LOSS)
        printf("Validation:     lowest loss %.6g (score %.4f) on %zu held-out rows (early "
               "stopping on the loss, those weights kept)\n",
               (double)r->best_val_loss, (double)r->best_val_score, r->n_val);
    else if (r->n_val)
        printf("Validation:     best score %.4f (lowest loss %.6g) on %zu held-out rows (early "
               "stopping, best weights kept)\n",
               (double)r->best_val_score, (double)r->best_val_loss, r->n_val);
    print_epochs(c, r);
    printf("Final loss:     %.6g\n", (double)r->loss);
    cli_format_rate(rate, sizeof rate, r->samples_per_s);
    printf("Training time:  %.3f s (%s samples/s)\n", r->seconds, rate);
    print_threads(p);
    if (c->init_model) printf("Started from:   %s\n", c->init_model);
    if (c->common.out) printf("Model saved:    %s\n", c->common.out);
}

/* --init-model: the warm-start net and its scaler (rank 0 reads them, every rank gets them). The
 * options then describe the model's layers, for the report. */
static int load_init_model(train_cfg *c, train_data *t, mlp_net **net) {
    mlp_status st = cli_mpi_load(&c->mpi, c->init_model, net, &t->scaler, &t->model_classes);
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
    /* The model file keeps its dropout; --dropout (0 too) replaces it. */
    for (size_t l = 0; c->dropout_given && l + 1 < L; l++)
        (void)mlp_net_set_dropout(*net, l, c->fit.dropout); /* checked when parsed */
    return 0;
}

/* --threads (or, under MPI, the node's cores shared among its ranks) and the warnings about the
 * environment. */
static int set_up_threads(const train_cfg *c) {
    int rc = cli_apply_threads(c->common.threads);
    if (rc) return rc;
    if (!c->common.threads && c->mpi.active && !getenv("OMP_NUM_THREADS"))
        mlp_set_num_threads(cli_mpi_default_threads(&c->mpi));
    if (!cli_mpi_available() && cli_mpi_launched() > 1)
        cli_warn("started by an MPI launcher, but this mlp is built without MPI support "
                 "(cmake -DMLP_WITH_MPI=ON): each of the %d processes trains on its own",
                 cli_mpi_launched());
    if (!mlp_blas_is_openmp())
        cli_warn("OpenBLAS is not its OpenMP build: its threads and mlp's may compete for cores "
                 "(consider --threads 1 or OPENBLAS_NUM_THREADS=1)");
    return 0;
}

/* The warm-start model and the data; a hint when a CSV was malformed for classification (the
 * reader's status says the data was malformed, not which field: the hint is conditional). */
static int load_inputs(train_cfg *c, train_data *t, mlp_net **net) {
    const cli_data_opts *d = &c->common.data;
    int rc = c->init_model ? load_init_model(c, t, net) : 0;
    if (rc) return rc;
    rc = load_train_data(c, t);
    if (rc && c->mpi.rank == 0 && !d->regression && !d->multilabel && !d->labels &&
        cli_last_lib_status() == MLP_ERR_FORMAT)
        fputs("mlp: hint: class labels are integers or text; if the label column holds float "
              "targets, use --regression\n",
              stderr);
    return rc;
}

/* The "Training ..." line on stderr. */
static void announce(const train_cfg *c, const train_data *t, mlp_task task, size_t out_width) {
    char arch[256], par[64] = "";
    const size_t count = t->n_classes_or_targets;
    arch_string(arch, sizeof arch, t->train.d, &c->fit, out_width);
    if (c->mpi.active)
        snprintf(par, sizeof par, "%d MPI ranks%s x ", c->mpi.size,
                 c->deterministic ? " (deterministic)" : "");
    fprintf(stderr,
            "Training %s (%s, %s) on %s: %zu samples, %zu features, %zu %s; test set %zu "
            "samples; %s%d threads, OpenBLAS %s\n",
            arch, cli_activation_name(c->fit.activation), cli_solver_name(c->fit.opt.kind),
            t->train_label, t->train.n, t->train.d, count,
            task == MLP_TASK_CLASSIFY     ? "classes"
            : task == MLP_TASK_MULTILABEL ? "0/1 labels"
            : count == 1                  ? "target"
                                          : "targets",
            t->test.n, par, mlp_get_num_threads(), mlp_blas_corename());
}

/* mlp_fit (data-parallel under MPI) with the progress display. Under MPI every rank gets the same
 * status (mlp_mpi_fit agrees on it), so rank 0 alone reports a failure. */
static int train(train_cfg *c, const train_data *t, mlp_task task, mlp_net **net, mlp_fit_result *r,
                 cli_history *hist) {
    const int root = c->mpi.rank == 0;
    cli_progress prog;
    cli_progress_init(&prog, !c->quiet && root, c->fit.max_iter);
    prog.history = c->history ? hist : NULL;
    c->fit.callback = cli_progress_callback;
    c->fit.user = &prog;
    c->fit.sample_weight = t->weights;
    if (c->fit.early_stopping && c->fit.opt.kind == MLP_OPT_LBFGS && root)
        cli_warn("--early-stopping is not used by --solver lbfgs (as in scikit-learn)");
    cli_interrupt_install();
    mlp_status st = cli_mpi_fit(&c->mpi, c->deterministic, net, task, &t->train,
                                t->n_classes_or_targets, &c->fit, r);
    cli_interrupt_restore();
    cli_progress_finish(&prog);
    if ((st == MLP_OK || st == MLP_ERR_DIVERGED) && c->fit.batch_size > r->batch_size)
        cli_warn("--batch-size %zu is more than the %zu rows trained on: each batch was all %zu",
                 c->fit.batch_size, r->n_train, r->batch_size);
    if (st == MLP_OK) return 0;
    if (!root) return CLI_EXIT_RUNTIME;
    if (st != MLP_ERR_DIVERGED) return cli_lib_error(st, "training failed");
    int rc = cli_lib_error(st, "epoch %zu", r->epochs + 1);
    fprintf(stderr, "mlp: hint: try a lower --lr%s\n",
            c->scale == MLP_SCALE_NONE ? ", or --scale standard" : "");
    return rc;
}

/* Rank 0 scores the test set (NaN without one); every rank agrees on the outcome. */
static int score_test(const train_cfg *c, const train_data *t, mlp_task task, mlp_net *net,
                      double *score) {
    int rc = 0;
    *score = NAN;
    if (t->test.n && c->mpi.rank == 0) {
        const mlp_dataset *te = &t->test;
        mlp_status st = task == MLP_TASK_CLASSIFY
                            ? mlp_score_accuracy(net, te->X, te->labels, te->n, score)
                        : task == MLP_TASK_MULTILABEL
                            ? mlp_score_subset_accuracy(net, te->X, te->targets, te->n, score)
                            : mlp_score_r2(net, te->X, te->targets, te->n, score);
        if (st != MLP_OK) rc = cli_lib_error(st, "cannot score the test set");
    }
    return cli_mpi_agree(&c->mpi, rc);
}

static int run_train(train_cfg *c) {
    train_data t;
    memset(&t, 0, sizeof t);
    mlp_net *net = NULL;
    mlp_fit_result r;
    memset(&r, 0, sizeof r);
    cli_history hist = {0};
    const mlp_task task = c->common.data.regression   ? MLP_TASK_REGRESS
                          : c->common.data.multilabel ? MLP_TASK_MULTILABEL
                                                      : MLP_TASK_CLASSIFY;
    size_t out_width = 0;
    double score = NAN;
    int rc = set_up_threads(c);
    if (rc) return rc;
    /* Every rank loads the model and the data; if any fails, all stop (the failing ones said
     * why). */
    rc = cli_mpi_agree(&c->mpi, load_inputs(c, &t, &net));
    if (rc == 0) {
        mlp_status st = mlp_task_output(task, t.n_classes_or_targets, NULL, NULL, &out_width);
        if (st != MLP_OK) rc = cli_lib_error(st, "cannot train on %s", t.train_label);
    }
    if (rc == 0 && !c->quiet && c->mpi.rank == 0) announce(c, &t, task, out_width);
    if (rc == 0) rc = train(c, &t, task, &net, &r, &hist);
    if (rc == 0) rc = score_test(c, &t, task, net, &score);
    if (rc == 0 && c->common.out) {
        mlp_status st =
            cli_mpi_save(&c->mpi, c->common.out, net, c->scale != MLP_SCALE_NONE ? &t.scaler : NULL,
                         task == MLP_TASK_CLASSIFY ? &t.train.classes : NULL);
        if (st != MLP_OK) rc = cli_lib_error(st, "cannot save the model to '%s'", c->common.out);
    }
    /* Rank 0 alone, after the last collective step. */
    if (rc == 0 && c->mpi.rank == 0 && c->history) rc = cli_history_write(&hist, c->history);
    if (rc == 0 && c->mpi.rank == 0) {
        train_report rep = {.c = c,
                            .t = &t,
                            .r = &r,
                            .score = score,
                            .out_width = out_width,
                            .step_threads = mlp_net_step_threads(net, r.batch_size)};
        if (c->common.json)
            print_json(&rep);
        else
            print_human(&rep);
        rc = cli_finish_output(stdout, "stdout");
    }
    mlp_fit_result_free(&r);
    cli_history_free(&hist);
    mlp_net_free(net);
    train_data_free(&t);
    return rc;
}

int cli_train(int argc, char **argv) {
    train_cfg c;
    memset(&c, 0, sizeof c);
    cli_common_init(&c.common);
    c.common.data.data = "digits";
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
