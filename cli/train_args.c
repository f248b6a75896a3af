/* mlp train's command line: the help, the option table, and the parsing into train_options with
 * the checks of combinations that exclude each other (usage errors, exit status 2). */
#include "train.h"

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
          "  --class-weight balanced|LABEL:W[,LABEL:W...]\n"
          "                         classification: each row's loss weight times its class's\n"
          "                         weight (scikit-learn's class_weight): balanced is\n"
          "                         n / (n_classes * rows of the class) over the training rows;\n"
          "                         unnamed classes weigh 1\n"
          "  --validation-data SRC  early stopping on this set (same forms and options as\n"
          "                         --data; turns early stopping on) instead of holding out\n"
          "                         --validation-fraction of the training rows\n"
          "  --validation-labels PATH  IDX labels of --validation-data\n"
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
            "  --activation NAME[,NAME...]\n"
            "                         hidden activation: relu, logistic, tanh, identity,\n"
            "                         leaky_relu, gelu (default relu); one for every hidden\n"
            "                         layer, or one per hidden layer (relu,tanh)\n"
            "  --loss squared|poisson|huber\n"
            "                         --regression: squared error (default), half Poisson\n"
            "                         deviance (exp outputs, targets >= 0) or Huber\n"
            "  --huber-delta X        --loss huber: where the loss turns linear (default 1)\n"
            "  --solver adam|sgd|lbfgs\n"
            "                         optimizer (default adam); lbfgs is full-batch L-BFGS\n"
            "                         (--max-iter counts its iterations; no batches, schedules\n"
            "                         or early stopping, as in scikit-learn)\n"
            "  --max-fun N            lbfgs: most loss evaluations (default %zu)\n"
            "  --lr X                 initial learning rate (default %g)\n"
            "  --alpha X              L2 penalty (default %g)\n"
            "  --dropout P            dropout on every hidden layer in [0, 1) (mlp's own;\n"
            "                         default 0)\n"
            "  --precision f32|bf16|auto\n"
            "                         arithmetic of the training GEMMs: f32 (default), bf16\n"
            "                         operands with f32 accumulation on the CPU's matrix units\n"
            "                         (AMX or AVX512_BF16, through oneDNN; weights, optimizer\n"
            "                         and losses stay f32), or auto (bf16 where available)\n"
            "  --batch-size N|auto    minibatch size (default auto = min(200, n_train))\n"
            "  --max-iter N           maximum epochs (default %zu)\n"
            "  --tol X                improvement tolerance of the stopping rule (default %g)\n"
            "  --n-iter-no-change N   epochs without improvement before stopping (default %zu)\n"
            "  --momentum X           sgd momentum in [0, 1) (default %g)\n"
            "  --no-nesterov          sgd: plain momentum instead of Nesterov's\n"
            "  --lr-schedule NAME     sgd: constant, invscaling, adaptive (default constant)\n"
            "  --power-t X            sgd invscaling exponent (default %g)\n"
            "  --early-stopping       hold out --validation-fraction of the training set and\n"
            "                         stop on its score; keeps the best weights. The held-out\n"
            "                         rows of a classifier are drawn class by class\n"
            "                         (scikit-learn's stratified split)\n"
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
    OPT_VALIDATION_DATA,
    OPT_VALIDATION_LABELS,
    OPT_CLASS_WEIGHT,
    OPT_LOSS,
    OPT_HUBER_DELTA,
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
    OPT_ES_METRIC,
    OPT_PRECISION
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
    {"precision", 0, 1, OPT_PRECISION},
    {"validation-data", 0, 1, OPT_VALIDATION_DATA},
    {"validation-labels", 0, 1, OPT_VALIDATION_LABELS},
    {"class-weight", 0, 1, OPT_CLASS_WEIGHT},
    {"loss", 0, 1, OPT_LOSS},
    {"huber-delta", 0, 1, OPT_HUBER_DELTA},
    {NULL, 0, 0, 0},
};

static const char *const cmd = "train";

/* --activation NAME[,NAME...]: the hidden activations (their count is checked against --hidden
 * in check_train_args). */
static int parse_activations(train_options *c, const char *name, const char *v) {
    size_t n = 1;
    for (const char *p = v; *p; p++) n += *p == ',';
    free(c->activations);
    c->activations = calloc(n, sizeof *c->activations);
    if (!c->activations) return cli_usage_error(cmd, "out of memory");
    c->n_activations = n;
    const char *start = v;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(start, ',');
        const size_t len = end ? (size_t)(end - start) : strlen(start);
        char one[32];
        if (len >= sizeof one) return cli_usage_error(cmd, "--activation: '%s' is too long", v);
        memcpy(one, start, len);
        one[len] = '\0';
        int rc = cli_parse_activation(cmd, name, one, &c->activations[i]);
        if (rc) return rc;
        if (c->activations[i] == MLP_ACT_SOFTMAX || c->activations[i] == MLP_ACT_EXP)
            return cli_usage_error(cmd, "--activation: %s is for output layers only", one);
        start = end ? end + 1 : start;
    }
    c->fit.activation = c->activations[0];
    return 0;
}

/* --loss and --huber-delta: the regression loss. */
static int loss_option(train_options *c, int id, const char *name, const char *v) {
    if (id == OPT_HUBER_DELTA) {
        c->huber_given = 1;
        return cli_parse_float(cmd, name, v, 0.0, INFINITY, 1, 0, &c->fit.huber_delta);
    }
    static const char *const names[] = {"squared", "poisson", "huber", NULL};
    static const mlp_loss losses[] = {MLP_LOSS_SQUARED, MLP_LOSS_POISSON, MLP_LOSS_HUBER};
    int i = 0, rc = cli_parse_choice(cmd, name, v, names, &i);
    c->fit.loss = losses[i];
    c->loss_given = 1;
    return rc;
}

/* Options of the data, the network and the run. */
static int run_option(train_options *c, int id, const char *name, const char *v) {
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
        rc = parse_activations(c, name, v);
        break;
    case OPT_VALIDATION_DATA:
        c->validation_data = v;
        break;
    case OPT_VALIDATION_LABELS:
        c->validation_labels = v;
        break;
    case OPT_CLASS_WEIGHT:
        c->class_weight = v;
        break;
    case OPT_LOSS:
    case OPT_HUBER_DELTA:
        return loss_option(c, id, name, v);
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
        return cli_weights_parse_column(v, &c->common.data.weight_column,
                                        &c->common.data.weight_name);
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
    case OPT_PRECISION:
        return cli_parse_precision(cmd, name, v, &f->precision);
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

static int train_option(train_options *c, int id, const char *name, const char *v) {
    if (cli_is_common_option(id)) return cli_common_option(cmd, id, name, v, &c->common);
    if (id == OPT_DROPOUT) c->dropout_given = 1;
    if (id >= OPT_BATCH_SIZE) return loop_option(&c->fit, id, name, v);
    if (id >= OPT_SOLVER) return optimizer_option(&c->fit.opt, id, name, v);
    return run_option(c, id, name, v);
}

int train_weighted_column(const train_options *o) {
    return o->common.data.weight_column != MLP_CSV_NO_COLUMN || o->common.data.weight_name;
}

/* --sample-weight, --weight-column and --history. */
static int check_weight_args(const train_options *c) {
    const cli_data_opts *d = &c->common.data;
    if (c->sample_weight && train_weighted_column(c))
        return cli_usage_error(cmd, "--sample-weight and --weight-column exclude each other");
    if (c->sample_weight && c->sample_weight[0] == '\0')
        return cli_usage_error(cmd, "--sample-weight: empty path");
    if (train_weighted_column(c) && d->labels)
        return cli_usage_error(cmd, "--weight-column needs CSV data (use --sample-weight with "
                                    "IDX files)");
    if (d->weight_name && (cli_is_digits(d->data) || (c->test_data && cli_is_digits(c->test_data))))
        return cli_usage_error(cmd,
                               "--weight-column %s: a column name needs CSV files with a header "
                               "(digits has none)",
                               d->weight_name);
    if (c->history && cli_history_format(c->history) < 0)
        return cli_usage_error(cmd, "--history: '%s' must end in .csv or .json", c->history);
    return 0;
}

/* --activation's count against --hidden's; --loss, --class-weight and --validation-data against
 * the task. Sets fit.activations for one name per hidden layer. */
static int check_breadth_args(train_options *c) {
    const cli_data_opts *d = &c->common.data;
    if (c->n_activations > 1 && c->n_activations != c->fit.n_hidden)
        return cli_usage_error(cmd,
                               "--activation: %zu names for %zu hidden layers; give one for all, "
                               "or one per hidden layer",
                               c->n_activations, c->fit.n_hidden);
    c->fit.activations = c->n_activations > 1 ? c->activations : NULL;
    if (c->loss_given && !d->regression)
        return cli_usage_error(cmd, "--loss is for --regression (classifiers have theirs)");
    if (c->huber_given && c->fit.loss != MLP_LOSS_HUBER)
        return cli_usage_error(cmd, "--huber-delta needs --loss huber");
    if (c->class_weight && (d->regression || d->multilabel))
        return cli_usage_error(cmd, "--class-weight is for classification, not --%s",
                               d->regression ? "regression" : "multilabel");
    if (c->class_weight && c->class_weight[0] == '\0')
        return cli_usage_error(cmd, "--class-weight: empty");
    if (c->validation_labels && !c->validation_data)
        return cli_usage_error(cmd, "--validation-labels needs --validation-data");
    if (c->validation_data && d->labels && !c->validation_labels &&
        !cli_is_digits(c->validation_data))
        return cli_usage_error(cmd, "IDX training data: --validation-data needs "
                                    "--validation-labels");
    if (c->validation_data && c->fit.opt.kind == MLP_OPT_LBFGS)
        return cli_usage_error(cmd, "--validation-data: --solver lbfgs has no early stopping");
    if (c->validation_data) c->fit.early_stopping = 1;
    return 0;
}

/* Combinations of options that exclude each other. */
static int check_train_args(train_options *c) {
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
    if (rc == 0) rc = check_breadth_args(c);
    if (rc) return rc;
    if (c->deterministic && !cli_mpi_available())
        return cli_usage_error(cmd, "--deterministic needs an mlp built with MPI support "
                                    "(cmake -DMLP_WITH_MPI=ON)");
    return 0;
}

void train_options_free(train_options *o) {
    free(o->hidden);
    o->hidden = NULL;
    o->fit.hidden = NULL;
    free(o->activations);
    o->activations = NULL;
    o->fit.activations = NULL;
}

int train_parse(int argc, char **argv, train_options *c) {
    memset(c, 0, sizeof *c);
    cli_common_init(&c->common);
    c->common.data.data = "digits";
    c->test_fraction = 0.2;
    c->scale = MLP_SCALE_NONE;
    c->fit = mlp_fit_options_default();
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
