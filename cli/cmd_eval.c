/* mlp eval, mlp predict, mlp info: commands on a saved model. The model's stored scaler is applied
 * to the data before the network sees it, exactly as at training time. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PREDICT_CHUNK 4096 /* rows per mlp_predict call: bounds the output buffer */

enum { OPT_PROBA = CLI_OPT_SHARED_END, OPT_PRECISION };

/* A saved model and what it computes (mlp_task_of_net). */
typedef struct model {
    mlp_net *net;
    mlp_scaler scaler;
    mlp_task task;
    size_t n_classes_or_targets; /* classes (2 for one logistic output) or target columns */
    size_t d, out_width;         /* input and output widths */
    mlp_classes classes;         /* a classifier's classes (0..K-1 for files without a list) */
} model;

static int load_model(const char *path, model *m) {
    mlp_status st = mlp_model_load_classes(path, &m->net, &m->scaler, &m->classes);
    if (st == MLP_OK) st = mlp_task_of_net(m->net, &m->task, &m->n_classes_or_targets);
    if (st != MLP_OK) return cli_lib_error(st, "cannot load model '%s'", path);
    m->d = mlp_net_input_size(m->net);
    m->out_width = mlp_net_output_size(m->net);
    return 0;
}

static void model_free(model *m) {
    mlp_scaler_free(&m->scaler);
    mlp_classes_free(&m->classes);
    mlp_net_free(m->net);
    m->net = NULL;
}

static int apply_scaler(const mlp_scaler *sc, mlp_dataset *ds) {
    if (sc->kind == MLP_SCALE_NONE) return 0;
    mlp_status st = mlp_scaler_apply(sc, ds->X, ds->n, ds->d);
    if (st != MLP_OK) return cli_lib_error(st, "cannot apply the model's scaler");
    return 0;
}

/* Options of eval and predict: MODEL DATA, the shared options, --proba, --precision. */
typedef struct data_cmd {
    const char *model;
    cli_common common; /* common.data.data is DATA */
    int proba;
    mlp_precision precision; /* of the predictions (F32 unless --precision) */
} data_cmd;

static int parse_data_cmd(const char *cmd, int argc, char **argv, const cli_opt *opts,
                          void (*help)(FILE *), data_cmd *c) {
    cli_args a = {.argc = argc, .argv = argv, .i = 1, .cmd = cmd};
    const char *v, *name;
    const char *pos[2] = {NULL, NULL};
    int id, rc = 0, npos = 0;
    while (rc == 0 && (id = cli_next(&a, opts, &v, &name)) != CLI_ARG_END) {
        if (cli_is_common_option(id)) {
            rc = cli_common_option(cmd, id, name, v, &c->common);
            continue;
        }
        switch (id) {
        case CLI_ARG_ERROR:
            return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL:
            if (npos == 2) return cli_usage_error(cmd, "unexpected argument '%s'", v);
            pos[npos++] = v;
            break;
        case CLI_OPT_HELP:
            help(stdout);
            return -1;
        case OPT_PROBA:
            c->proba = 1;
            break;
        case OPT_PRECISION:
            rc = cli_parse_precision(cmd, name, v, &c->precision);
            break;
        default:
            return cli_usage_error(cmd, "internal error: option %d", id);
        }
    }
    if (rc) return rc;
    if (npos < 2)
        return cli_usage_error(cmd, "missing %s (usage: mlp %s MODEL DATA [OPTIONS])",
                               npos ? "DATA" : "MODEL and DATA", cmd);
    c->model = pos[0];
    c->common.data.data = pos[1];
    return cli_common_check(cmd, &c->common);
}

/* The start of eval and predict: parse, set the threads, load the model. Returns -1 after
 * --help, 0, or an exit code. */
static int start_data_cmd(const char *cmd, int argc, char **argv, const cli_opt *opts,
                          void (*help)(FILE *), data_cmd *c, model *m) {
    memset(c, 0, sizeof *c);
    memset(m, 0, sizeof *m);
    cli_common_init(&c->common);
    int rc = parse_data_cmd(cmd, argc, argv, opts, help, c);
    if (rc == 0) rc = cli_apply_threads(c->common.threads);
    if (rc == 0) rc = load_model(c->model, m);
    if (rc == 0) {
        mlp_status st = mlp_net_set_predict_precision(m->net, c->precision);
        if (st != MLP_OK)
            rc = cli_lib_error(st, "--precision %s", mlp_precision_name(c->precision));
    }
    return rc;
}

/* ---- eval ---- */

void cli_eval_help(FILE *f) {
    fputs("Usage: mlp eval MODEL DATA [OPTIONS]\n"
          "\n"
          "Score a saved model on a labelled dataset: accuracy for a classifier, R^2 for a\n"
          "regressor. The model's stored scaler is applied to the data first.\n"
          "\n"
          "DATA is 'digits' (the shipped rs42 test split, 360 rows), a CSV file (plain or\n"
          "gzip; its label column holds the class or the target; '-' for standard input),\n"
          "or IDX images with --labels. A label that is not one of the model's classes is\n"
          "an error.\n"
          "\n"
          "Options:\n"
          "  --labels PATH          IDX labels file (makes DATA an IDX images file)\n"
          "  --label-column N       CSV: 0-based label column, or 'last' (default last)\n"
          "  --header yes|no|auto   CSV header row (default auto)\n"
          "  --delimiter C          CSV: ',', ';', tab, space or auto (default auto)\n"
          "  --skip-rows N          CSV: skip the first N lines\n"
          "  --threads N            OpenMP + OpenBLAS threads\n"
          "  --precision f32|bf16|auto\n"
          "                         arithmetic of the predictions (default f32): bf16\n"
          "                         rounds inputs, weights and hidden outputs to bfloat16\n"
          "                         (AMX / AVX512_BF16 through oneDNN); auto: bf16 where the\n"
          "                         CPU has it\n"
          "  --json                 print one JSON object: accuracy (or r2), n, correct,\n"
          "                         model, data, precision\n"
          "  -h, --help             show this help\n"
          "\n"
          "Example:\n"
          "  mlp eval digits.mlp digits --json\n",
          f);
}

static const cli_opt eval_opts[] = {
    CLI_OPT_ROW_HELP,
    CLI_OPT_ROWS_DATA,
    CLI_OPT_ROW_JSON,
    CLI_OPT_ROW_THREADS,
    {"precision", 0, 1, OPT_PRECISION},
    {NULL, 0, 0, 0},
};

/* After a failed read of DATA: the error, or, when DATA reads as numbers of another width than
 * the model's, that width (a features-only file is the usual cause). */
static int eval_read_error(const data_cmd *c, const model *m, const cli_data_opts *o) {
    mlp_status st = cli_last_read_status();
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", mlp_last_error());
    cli_data_opts probe = *o;
    probe.regression = 1;
    probe.multilabel = 0;
    probe.classes = NULL;
    probe.quiet = probe.no_notes = 1;
    mlp_dataset ds = {0};
    int rc = cli_load(&probe, CLI_ROLE_TEST, &ds);
    size_t k = ds.n_targets ? ds.n_targets : 1, cols = ds.d + k;
    mlp_dataset_free(&ds);
    if (rc == 0 && cols == m->d)
        return cli_error("%s has %zu columns, the features of model '%s' but no label column "
                         "(eval needs %zu: the features and the label%s; predict takes "
                         "features-only files)",
                         cli_data_label(o, CLI_ROLE_TEST), cols, c->model, m->d + k,
                         k > 1 ? "s" : "");
    if (rc == 0 && cols != m->d + k)
        return cli_error("%s has %zu features but model '%s' expects %zu",
                         cli_data_label(o, CLI_ROLE_TEST), cols - k, c->model, m->d);
    return cli_read_error(st, cli_data_label(o, CLI_ROLE_TEST), msg);
}

/* Loads DATA for scoring model m: class labels or targets, as the model's task says, with the
 * model's input width (and output width for targets), scaled by the model's scaler. */
static int load_eval_data(data_cmd *c, const model *m, mlp_dataset *ds, const char **label) {
    cli_data_opts *o = &c->common.data;
    o->regression = m->task == MLP_TASK_REGRESS;
    o->multilabel = m->task == MLP_TASK_MULTILABEL;
    if ((o->regression || o->multilabel) && o->labels)
        return cli_error("'%s' is a %s model; IDX data has class labels", c->model,
                         o->regression ? "regression" : "multi-label");
    if (m->task == MLP_TASK_CLASSIFY) o->classes = &m->classes; /* others are an error */
    if (m->task != MLP_TASK_CLASSIFY) cli_default_label_columns(o, m->out_width);
    o->quiet = !o->labels;
    int rc = cli_load(o, CLI_ROLE_TEST, ds);
    o->quiet = 0;
    if (rc) return o->labels ? rc : eval_read_error(c, m, o);
    *label = cli_data_label(o, CLI_ROLE_TEST);
    if (ds->d != m->d)
        return cli_error("%s has %zu features but model '%s' expects %zu", *label, ds->d, c->model,
                         m->d);
    if ((o->regression || o->multilabel) && ds->n_targets != m->out_width)
        return cli_error("%s has %zu targets but model '%s' has %zu outputs", *label, ds->n_targets,
                         c->model, m->out_width);
    return apply_scaler(&m->scaler, ds);
}

static mlp_status score_eval(const model *m, const mlp_dataset *ds, double *score) {
    switch (m->task) {
    case MLP_TASK_REGRESS:
        return mlp_score_r2(m->net, ds->X, ds->targets, ds->n, score);
    case MLP_TASK_MULTILABEL:
        return mlp_score_subset_accuracy(m->net, ds->X, ds->targets, ds->n, score);
    default:
        return mlp_score_accuracy(m->net, ds->X, ds->labels, ds->n, score);
    }
}

static void print_eval(const data_cmd *c, const char *label, size_t n, double score,
                       mlp_precision prec) {
    const int regression = c->common.data.regression;
    long long correct = llround(score * (double)n);
    if (c->common.json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_double(&j, regression ? "r2" : "accuracy", score);
        cli_json_u64(&j, "n", n);
        if (!regression) cli_json_u64(&j, "correct", (uint64_t)correct);
        cli_json_str(&j, "model", c->model);
        cli_json_str(&j, "data", label);
        cli_json_str(&j, "precision", mlp_precision_name(prec));
        cli_json_end(&j);
    } else if (regression) {
        printf("R^2: %.6f (%zu samples)\n", score, n);
    } else {
        printf("Accuracy: %.2f%% (%lld/%zu)\n", 100.0 * score, correct, n);
    }
}

int cli_eval(int argc, char **argv) {
    data_cmd c;
    model m;
    mlp_dataset ds;
    memset(&ds, 0, sizeof ds);
    int rc = start_data_cmd("eval", argc, argv, eval_opts, cli_eval_help, &c, &m);
    if (rc == -1) return cli_finish_output(stdout, "stdout");
    const char *label = NULL;
    if (rc == 0) rc = load_eval_data(&c, &m, &ds, &label);
    if (rc == 0) {
        double score;
        mlp_status st = score_eval(&m, &ds, &score);
        if (st != MLP_OK) {
            rc = cli_lib_error(st, "cannot score %s", label);
        } else {
            print_eval(&c, label, ds.n, score, mlp_net_predict_precision(m.net));
            rc = cli_finish_output(stdout, "stdout");
        }
    }
    mlp_dataset_free(&ds);
    model_free(&m);
    return rc;
}

/* ---- predict ---- */

void cli_predict_help(FILE *f) {
    fputs("Usage: mlp predict MODEL DATA [OPTIONS]\n"
          "\n"
          "Write a saved model's predictions as CSV, one line per row of DATA:\n"
          "  classifier:            the predicted class, as the training labels wrote it\n"
          "                         (no header)\n"
          "  classifier --proba:    a header line naming the classes, then the class\n"
          "                         probabilities, comma-separated (k columns; 2 for a\n"
          "                         binary model)\n"
          "  regressor:             the predicted target(s)\n"
          "The model's stored scaler is applied to the data first.\n"
          "\n"
          "DATA is 'digits' (the shipped rs42 test split, 360 rows), a CSV file (plain or\n"
          "gzip; '-' for standard input), or IDX images with --labels (the labels are read\n"
          "but not used).\n"
          "A CSV may hold the model's input width + 1 columns (one is the label column,\n"
          "chosen by --label-column, and is ignored) or exactly the input width (features\n"
          "only, nothing ignored). Other widths are an error. A features-only CSV needs at\n"
          "least 2 columns.\n"
          "\n"
          "Options:\n"
          "  -o, --out FILE         write the CSV to FILE instead of stdout\n"
          "  --proba                print probabilities instead of labels (classifiers)\n"
          "  --labels PATH          IDX labels file (makes DATA an IDX images file)\n"
          "  --label-column N       CSV: 0-based label column, or 'last' (default last)\n"
          "  --header yes|no|auto   CSV header row (default auto)\n"
          "  --delimiter C          CSV: ',', ';', tab, space or auto (default auto)\n"
          "  --skip-rows N          CSV: skip the first N lines\n"
          "  --threads N            OpenMP + OpenBLAS threads\n"
          "  --precision f32|bf16|auto\n"
          "                         arithmetic of the predictions (default f32; see\n"
          "                         mlp eval --help)\n"
          "  -h, --help             show this help\n"
          "\n"
          "Example:\n"
          "  mlp predict digits.mlp digits --proba -o probs.csv\n",
          f);
}

static const cli_opt predict_opts[] = {
    CLI_OPT_ROW_HELP, CLI_OPT_ROWS_DATA,          CLI_OPT_ROW_THREADS,
    CLI_OPT_ROW_OUT,  {"proba", 0, 0, OPT_PROBA}, {"precision", 0, 1, OPT_PRECISION},
    {NULL, 0, 0, 0},
};

static void put_float(FILE *f, float v) {
    char buf[48];
    cli_format_float(buf, sizeof buf, v);
    fputs(buf, f);
}

/* One output row p of model m as a CSV line: the values (regression, or probabilities), P(0),P(1)
 * (probabilities of one logistic output), the 0/1 labels (multi-label) or the class. */
static void write_row(FILE *f, const float *p, const model *m, int proba) {
    const size_t w = m->out_width;
    if (m->task == MLP_TASK_REGRESS || (proba && w > 1)) {
        for (size_t j = 0; j < w; j++) {
            if (j) fputc(',', f);
            put_float(f, p[j]);
        }
    } else if (proba) {
        put_float(f, 1.0f - p[0]);
        fputc(',', f);
        put_float(f, p[0]);
    } else if (m->task == MLP_TASK_MULTILABEL) {
        for (size_t j = 0; j < w; j++)
            fprintf(f, j ? ",%d" : "%d", (int)mlp_output_label(p + j, 1));
    } else {
        cli_csv_class(f, &m->classes, (size_t)mlp_output_label(p, w));
    }
    fputc('\n', f);
}

/* --proba's header line: the class names, one per probability column. */
static void write_proba_header(FILE *f, const model *m) {
    for (size_t i = 0; i < m->classes.n; i++) {
        if (i) fputc(',', f);
        cli_csv_class(f, &m->classes, i);
    }
    fputc('\n', f);
}

/* Predicts ds in chunks of PREDICT_CHUNK rows and writes one line per row to f. */
static int write_predictions(FILE *f, const model *m, const mlp_dataset *ds, int proba) {
    size_t chunk = ds->n < PREDICT_CHUNK ? ds->n : PREDICT_CHUNK;
    float *buf = malloc(chunk * m->out_width * sizeof *buf);
    if (!buf) return cli_error("out of memory for %zu x %zu predictions", chunk, m->out_width);
    int rc = 0;
    if (proba && m->task == MLP_TASK_CLASSIFY) write_proba_header(f, m);
    for (size_t i0 = 0; i0 < ds->n && rc == 0; i0 += chunk) {
        size_t nb = ds->n - i0 < chunk ? ds->n - i0 : chunk;
        mlp_status st = mlp_predict(m->net, ds->X + i0 * m->d, nb, buf);
        if (st != MLP_OK) {
            rc = cli_lib_error(st, "prediction failed");
            break;
        }
        for (size_t i = 0; i < nb; i++) write_row(f, buf + i * m->out_width, m, proba);
    }
    free(buf);
    return rc;
}

int cli_predict(int argc, char **argv) {
    data_cmd c;
    model m;
    mlp_dataset ds;
    memset(&ds, 0, sizeof ds);
    FILE *f = NULL;
    const char *out = NULL;
    int rc = start_data_cmd("predict", argc, argv, predict_opts, cli_predict_help, &c, &m);
    if (rc == -1) return cli_finish_output(stdout, "stdout");
    out = c.common.out;
    if (rc == 0 && c.proba && m.task == MLP_TASK_REGRESS)
        rc = cli_usage_error("predict", "--proba: '%s' is a regression model", c.model);
    if (rc == 0 && m.task != MLP_TASK_CLASSIFY)
        cli_default_label_columns(&c.common.data, m.out_width);
    if (rc == 0) rc = cli_load_features(&c.common.data, m.d, &ds);
    if (rc == 0) rc = apply_scaler(&m.scaler, &ds);
    if (rc == 0) {
        f = out ? fopen(out, "w") : stdout;
        if (!f) rc = cli_error("cannot open '%s' for writing: %s", out, strerror(errno));
    }
    if (rc == 0) rc = write_predictions(f, &m, &ds, c.proba);
    if (rc == 0) {
        rc = cli_finish_output(f, out ? out : "stdout");
        f = NULL;
    }
    if (f && f != stdout) fclose(f);
    mlp_dataset_free(&ds);
    model_free(&m);
    return rc;
}

/* ---- info ---- */

void cli_info_help(FILE *f) {
    fputs("Usage: mlp info MODEL [--json]\n"
          "\n"
          "Describe a saved model: architecture, each layer's size and activation, loss and\n"
          "task, parameter count, optimizer settings and step count, input scaler.\n"
          "\n"
          "Options:\n"
          "  --json       print one JSON object: model, sizes, activations, loss, task,\n"
          "               classes (classifiers), params, optimizer, lr, alpha, steps,\n"
          "               scaler\n"
          "  -h, --help   show this help\n",
          f);
}

static const cli_opt info_opts[] = {CLI_OPT_ROW_HELP, CLI_OPT_ROW_JSON, {NULL, 0, 0, 0}};

static const char *task_name(const model *m) {
    switch (m->task) {
    case MLP_TASK_CLASSIFY:
        return m->out_width == 1 ? "binary classification" : "classification";
    case MLP_TASK_MULTILABEL:
        return "multi-label classification";
    default:
        return "regression";
    }
}

/* A model's layers: sizes (n_layers + 1) and activation names (n_layers). */
typedef struct layers {
    size_t n;
    size_t *sizes;
    const char **acts;
} layers;

static int get_layers(const mlp_net *net, layers *ly) {
    ly->n = mlp_net_n_layers(net);
    ly->sizes = malloc((ly->n + 1) * sizeof *ly->sizes);
    ly->acts = malloc((ly->n ? ly->n : 1) * sizeof *ly->acts);
    if (!ly->sizes || !ly->acts) return cli_error("out of memory");
    for (size_t l = 0; l < ly->n; l++) {
        mlp_activation act = MLP_ACT_IDENTITY;
        mlp_net_layer_shape(net, l, &ly->sizes[l], &ly->sizes[l + 1], &act);
        ly->acts[l] = cli_activation_name(act);
    }
    return 0;
}

static void print_info_json(const char *path, const model *m, const layers *ly) {
    static const char *const loss_keys[] = {"softmax_ce", "logistic", "squared", "poisson",
                                            "huber"};
    _Static_assert(sizeof loss_keys / sizeof *loss_keys == MLP_LOSS_COUNT, "a key per mlp_loss");
    mlp_loss loss = mlp_net_loss(m->net);
    mlp_optimizer opt;
    mlp_net_get_optimizer(m->net, &opt);
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_str(&j, "model", path);
    cli_json_sizes(&j, "sizes", ly->sizes, ly->n + 1);
    cli_json_strings(&j, "activations", ly->acts, ly->n);
    cli_json_str(&j, "loss", (unsigned)loss < MLP_LOSS_COUNT ? loss_keys[loss] : "unknown");
    cli_json_str(&j, "task", task_name(m));
    if (m->task == MLP_TASK_CLASSIFY) cli_json_classes(&j, "classes", &m->classes);
    cli_json_u64(&j, "params", mlp_net_param_count(m->net));
    cli_json_str(&j, "optimizer", cli_solver_name(opt.kind));
    cli_json_float(&j, "lr", opt.lr);
    cli_json_float(&j, "alpha", opt.alpha);
    cli_json_u64(&j, "steps", mlp_net_step_count(m->net));
    cli_json_str(&j, "scaler", cli_scale_name(m->scaler.kind));
    cli_json_end(&j);
}

static void print_info_human(const char *path, const model *m, const layers *ly) {
    const size_t L = ly->n, *sizes = ly->sizes, count = m->n_classes_or_targets;
    mlp_optimizer opt;
    mlp_net_get_optimizer(m->net, &opt);
    printf("Model:         %s\n", path);
    printf("Architecture:  ");
    for (size_t l = 0; l <= L; l++) printf(l ? "-%zu" : "%zu", sizes[l]);
    printf("\nLayers:        %zu weight layer%s\n", L, L == 1 ? "" : "s");
    for (size_t l = 0; l < L; l++)
        printf("  %zu: %6zu -> %-6zu %-10s (%zu parameters)\n", l + 1, sizes[l], sizes[l + 1],
               ly->acts[l], sizes[l] * sizes[l + 1] + sizes[l + 1]);
    printf("Loss:          %s (%s", cli_loss_name(mlp_net_loss(m->net)), task_name(m));
    if (m->task == MLP_TASK_CLASSIFY) {
        printf(", %zu classes)\nClasses:       ", count);
        for (size_t i = 0; i < m->classes.n; i++) {
            if (i) fputs(", ", stdout);
            cli_csv_class(stdout, &m->classes, i);
        }
        putchar('\n');
    } else
        printf(", %zu %s%s)\n", count, m->task == MLP_TASK_REGRESS ? "target" : "label",
               count == 1 ? "" : "s");
    printf("Parameters:    %zu\n", mlp_net_param_count(m->net));
    if (opt.kind == MLP_OPT_ADAM)
        printf("Optimizer:     adam (lr %g, alpha %g, beta1 %g, beta2 %g, eps %g)\n",
               (double)opt.lr, (double)opt.alpha, (double)opt.beta1, (double)opt.beta2,
               (double)opt.eps);
    else
        printf("Optimizer:     sgd (lr %g, alpha %g, momentum %g%s)\n", (double)opt.lr,
               (double)opt.alpha, (double)opt.momentum, opt.nesterov ? ", nesterov" : "");
    printf("Steps:         %llu\n", (unsigned long long)mlp_net_step_count(m->net));
    printf("Scaler:        %s", cli_scale_name(m->scaler.kind));
    if (m->scaler.kind != MLP_SCALE_NONE) printf(" (%zu features)", m->scaler.d);
    printf("\n");
}

/* MODEL and --json. Returns -1 after --help, 0, or an exit code. */
static int parse_info(int argc, char **argv, const char **path, int *json) {
    static const char *cmd = "info";
    cli_args a = {.argc = argc, .argv = argv, .i = 1, .cmd = cmd};
    const char *v, *name;
    int id;
    while ((id = cli_next(&a, info_opts, &v, &name)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR:
            return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL:
            if (*path) return cli_usage_error(cmd, "unexpected argument '%s'", v);
            *path = v;
            break;
        case CLI_OPT_HELP:
            cli_info_help(stdout);
            return -1;
        case CLI_OPT_JSON:
            *json = 1;
            break;
        default:
            return cli_usage_error(cmd, "internal error: option %d", id);
        }
    }
    if (!*path) return cli_usage_error(cmd, "missing MODEL (usage: mlp info MODEL)");
    return 0;
}

int cli_info(int argc, char **argv) {
    const char *path = NULL;
    int json = 0;
    int rc = parse_info(argc, argv, &path, &json);
    if (rc == -1) return cli_finish_output(stdout, "stdout");
    if (rc) return rc;
    model m;
    memset(&m, 0, sizeof m);
    layers ly = {0};
    rc = load_model(path, &m);
    if (rc == 0) rc = get_layers(m.net, &ly);
    if (rc == 0) {
        if (json)
            print_info_json(path, &m, &ly);
        else
            print_info_human(path, &m, &ly);
        rc = cli_finish_output(stdout, "stdout");
    }
    free(ly.sizes);
    free(ly.acts);
    model_free(&m);
    return rc;
}
