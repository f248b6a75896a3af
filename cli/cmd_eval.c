/* mlp eval, mlp predict, mlp info: commands on a saved model. The model's stored scaler is applied
 * to the data before the network sees it, exactly as at training time. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PREDICT_CHUNK 4096 /* rows per mlp_predict call: bounds the output buffer */

enum {
    OPT_HELP = 1,
    OPT_LABELS,
    OPT_LABEL_COLUMN,
    OPT_HEADER,
    OPT_JSON,
    OPT_THREADS,
    OPT_OUT,
    OPT_PROBA,
};

/* What a saved net computes, from its loss and output width. */
typedef enum model_task { TASK_MULTICLASS, TASK_BINARY, TASK_MULTILABEL, TASK_REGRESS } model_task;

static model_task task_of(const mlp_net *net) {
    mlp_loss loss = mlp_net_loss(net);
    size_t k = mlp_net_output_size(net);
    if (loss == MLP_LOSS_SQUARED) return TASK_REGRESS;
    if (loss == MLP_LOSS_LOGISTIC) return k == 1 ? TASK_BINARY : TASK_MULTILABEL;
    return TASK_MULTICLASS;
}

static int load_model(const char *path, mlp_net **net, mlp_scaler *sc) {
    mlp_status st = mlp_model_load(path, net, sc);
    if (st != MLP_OK) return cli_lib_error(st, "cannot load model '%s'", path);
    return 0;
}

static int apply_scaler(const mlp_scaler *sc, mlp_dataset *ds) {
    if (sc->kind == MLP_SCALE_NONE) return 0;
    mlp_status st = mlp_scaler_apply(sc, ds->X, ds->n, ds->d);
    if (st != MLP_OK) return cli_lib_error(st, "cannot apply the model's scaler");
    return 0;
}

static int set_threads(int threads) {
    if (!threads) return 0;
    mlp_status st = mlp_set_num_threads(threads);
    if (st != MLP_OK) return cli_lib_error(st, "--threads %d", threads);
    return 0;
}

/* Options shared by eval and predict. */
typedef struct data_cmd {
    const char *model;
    cli_data_opts data;
    int json, proba, threads;
    const char *out;
} data_cmd;

static int parse_data_cmd(const char *cmd, int argc, char **argv, const cli_opt *opts,
                          void (*help)(FILE *), data_cmd *c) {
    cli_args a = {.argc = argc, .argv = argv, .i = 1, .cmd = cmd};
    const char *v, *name;
    const char *pos[2] = {NULL, NULL};
    int id, rc = 0, npos = 0;
    c->data.label_column = -1;
    c->data.header = -1;
    while (rc == 0 && (id = cli_next(&a, opts, &v, &name)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR:
            return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL:
            if (npos == 2) return cli_usage_error(cmd, "unexpected argument '%s'", v);
            pos[npos++] = v;
            break;
        case OPT_HELP:
            help(stdout);
            return -1;
        case OPT_LABELS:
            c->data.labels = v;
            break;
        case OPT_LABEL_COLUMN:
            rc = cli_parse_column(cmd, name, v, &c->data.label_column);
            break;
        case OPT_HEADER:
            rc = cli_parse_header(cmd, name, v, &c->data.header);
            break;
        case OPT_JSON:
            c->json = 1;
            break;
        case OPT_THREADS:
            rc = cli_parse_int(cmd, name, v, 1, 4096, &c->threads);
            break;
        case OPT_OUT:
            c->out = v;
            break;
        case OPT_PROBA:
            c->proba = 1;
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
    c->data.data = pos[1];
    if (c->out && c->out[0] == '\0') return cli_usage_error(cmd, "--out: empty path");
    return 0;
}

/* ---- eval ---- */

void cli_eval_help(FILE *f) {
    fputs("Usage: mlp eval MODEL DATA [OPTIONS]\n"
          "\n"
          "Score a saved model on a labelled dataset: accuracy for a classifier, R^2 for a\n"
          "regressor. The model's stored scaler is applied to the data first.\n"
          "\n"
          "DATA is 'digits' (the shipped rs42 test split, 360 rows), a CSV file (plain or\n"
          "gzip; its label column holds the class or the target), or IDX images with\n"
          "--labels.\n"
          "\n"
          "Options:\n"
          "  --labels PATH          IDX labels file (makes DATA an IDX images file)\n"
          "  --label-column N       CSV: 0-based label column, or 'last' (default last)\n"
          "  --header yes|no|auto   CSV header row (default auto)\n"
          "  --threads N            OpenMP + OpenBLAS threads\n"
          "  --json                 print one JSON object: accuracy (or r2), n, correct,\n"
          "                         model, data\n"
          "  -h, --help             show this help\n"
          "\n"
          "Example:\n"
          "  mlp eval digits.mlp digits --json\n",
          f);
}

static const cli_opt eval_opts[] = {
    {"help", 'h', 0, OPT_HELP},
    {"labels", 0, 1, OPT_LABELS},
    {"label-column", 0, 1, OPT_LABEL_COLUMN},
    {"header", 0, 1, OPT_HEADER},
    {"json", 0, 0, OPT_JSON},
    {"threads", 0, 1, OPT_THREADS},
    {NULL, 0, 0, 0},
};

int cli_eval(int argc, char **argv) {
    data_cmd c;
    memset(&c, 0, sizeof c);
    int rc = parse_data_cmd("eval", argc, argv, eval_opts, cli_eval_help, &c);
    if (rc == -1) return cli_finish_output(stdout, "stdout");
    if (rc) return rc;
    if ((rc = set_threads(c.threads)) != 0) return rc;

    mlp_net *net = NULL;
    mlp_scaler sc;
    memset(&sc, 0, sizeof sc);
    mlp_dataset ds;
    memset(&ds, 0, sizeof ds);
    if ((rc = load_model(c.model, &net, &sc)) != 0) goto out;
    model_task task = task_of(net);
    size_t d = mlp_net_input_size(net), k = mlp_net_output_size(net);
    if (task == TASK_MULTILABEL) {
        rc = cli_error("'%s' is a multi-label model (%zu logistic outputs); eval scores "
                       "classifiers and regressors only",
                       c.model, k);
        goto out;
    }
    c.data.regression = task == TASK_REGRESS;
    if (c.data.regression && c.data.labels) {
        rc = cli_error("'%s' is a regression model; IDX data has class labels", c.model);
        goto out;
    }
    if ((rc = cli_load(&c.data, CLI_ROLE_TEST, &ds)) != 0) goto out;
    const char *label = cli_data_label(&c.data, CLI_ROLE_TEST);
    if (ds.d != d) {
        rc = cli_error("%s has %zu features but model '%s' expects %zu", label, ds.d, c.model, d);
        goto out;
    }
    if (c.data.regression && ds.n_targets != k) {
        rc = cli_error("%s has %zu targets but model '%s' has %zu outputs", label, ds.n_targets,
                       c.model, k);
        goto out;
    }
    if ((rc = apply_scaler(&sc, &ds)) != 0) goto out;
    double score;
    mlp_status st = c.data.regression ? mlp_score_r2(net, ds.X, ds.targets, ds.n, &score)
                                      : mlp_score_accuracy(net, ds.X, ds.labels, ds.n, &score);
    if (st != MLP_OK) {
        rc = cli_lib_error(st, "cannot score %s", label);
        goto out;
    }
    long long correct = llround(score * (double)ds.n);
    if (c.json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_double(&j, c.data.regression ? "r2" : "accuracy", score);
        cli_json_u64(&j, "n", ds.n);
        if (!c.data.regression) cli_json_u64(&j, "correct", (uint64_t)correct);
        cli_json_str(&j, "model", c.model);
        cli_json_str(&j, "data", label);
        cli_json_end(&j);
    } else if (c.data.regression) {
        printf("R^2: %.6f (%zu samples)\n", score, ds.n);
    } else {
        printf("Accuracy: %.2f%% (%lld/%zu)\n", 100.0 * score, correct, ds.n);
    }
    rc = cli_finish_output(stdout, "stdout");
out:
    mlp_dataset_free(&ds);
    mlp_scaler_free(&sc);
    mlp_net_free(net);
    return rc;
}

/* ---- predict ---- */

void cli_predict_help(FILE *f) {
    fputs("Usage: mlp predict MODEL DATA [OPTIONS]\n"
          "\n"
          "Write a saved model's predictions as CSV, one line per row of DATA, no header:\n"
          "  classifier:            the predicted class (0-based integer)\n"
          "  classifier --proba:    the class probabilities, comma-separated (k columns;\n"
          "                         a binary model prints P(0),P(1))\n"
          "  regressor:             the predicted target(s)\n"
          "The model's stored scaler is applied to the data first.\n"
          "\n"
          "DATA is 'digits' (the shipped rs42 test split, 360 rows), a CSV file (plain or\n"
          "gzip), or IDX images with --labels (the labels are read but not used).\n"
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
          "  --threads N            OpenMP + OpenBLAS threads\n"
          "  -h, --help             show this help\n"
          "\n"
          "Example:\n"
          "  mlp predict digits.mlp digits --proba -o probs.csv\n",
          f);
}

static const cli_opt predict_opts[] = {
    {"help", 'h', 0, OPT_HELP},
    {"labels", 0, 1, OPT_LABELS},
    {"label-column", 0, 1, OPT_LABEL_COLUMN},
    {"header", 0, 1, OPT_HEADER},
    {"threads", 0, 1, OPT_THREADS},
    {"out", 'o', 1, OPT_OUT},
    {"proba", 0, 0, OPT_PROBA},
    {NULL, 0, 0, 0},
};

static void put_float(FILE *f, float v) {
    char buf[48];
    cli_format_float(buf, sizeof buf, v);
    fputs(buf, f);
}

static void write_row(FILE *f, const float *p, size_t k, model_task task, int proba) {
    if (task == TASK_REGRESS || (proba && task != TASK_BINARY)) {
        for (size_t j = 0; j < k; j++) {
            if (j) fputc(',', f);
            put_float(f, p[j]);
        }
    } else if (task == TASK_BINARY) {
        if (proba) {
            put_float(f, 1.0f - p[0]);
            fputc(',', f);
            put_float(f, p[0]);
        } else {
            fputc(p[0] >= 0.5f ? '1' : '0', f);
        }
    } else if (task == TASK_MULTILABEL) {
        for (size_t j = 0; j < k; j++)
            fputs(j ? (p[j] >= 0.5f ? ",1" : ",0") : (p[j] >= 0.5f ? "1" : "0"), f);
    } else {
        size_t best = 0; /* argmax, ties to the lowest index (as mlp_predict_labels) */
        for (size_t j = 1; j < k; j++)
            if (p[j] > p[best]) best = j;
        fprintf(f, "%zu", best);
    }
    fputc('\n', f);
}

int cli_predict(int argc, char **argv) {
    data_cmd c;
    memset(&c, 0, sizeof c);
    int rc = parse_data_cmd("predict", argc, argv, predict_opts, cli_predict_help, &c);
    if (rc == -1) return cli_finish_output(stdout, "stdout");
    if (rc) return rc;
    if ((rc = set_threads(c.threads)) != 0) return rc;

    mlp_net *net = NULL;
    mlp_scaler sc;
    memset(&sc, 0, sizeof sc);
    mlp_dataset ds;
    memset(&ds, 0, sizeof ds);
    float *buf = NULL;
    FILE *f = NULL;
    if ((rc = load_model(c.model, &net, &sc)) != 0) goto out;
    model_task task = task_of(net);
    size_t d = mlp_net_input_size(net), k = mlp_net_output_size(net);
    if (c.proba && task == TASK_REGRESS) {
        rc = cli_usage_error("predict", "--proba: '%s' is a regression model", c.model);
        goto out;
    }
    if ((rc = cli_load_features(&c.data, d, &ds)) != 0) goto out;
    if ((rc = apply_scaler(&sc, &ds)) != 0) goto out;
    size_t chunk = ds.n < PREDICT_CHUNK ? ds.n : PREDICT_CHUNK;
    buf = malloc(chunk * k * sizeof *buf);
    if (!buf) {
        rc = cli_error("out of memory for %zu x %zu predictions", chunk, k);
        goto out;
    }
    if (c.out) {
        f = fopen(c.out, "w");
        if (!f) {
            rc = cli_error("cannot open '%s' for writing: %s", c.out, strerror(errno));
            goto out;
        }
    } else {
        f = stdout;
    }
    for (size_t i0 = 0; i0 < ds.n; i0 += chunk) {
        size_t nb = ds.n - i0 < chunk ? ds.n - i0 : chunk;
        mlp_status st = mlp_predict(net, ds.X + i0 * d, nb, buf);
        if (st != MLP_OK) {
            rc = cli_lib_error(st, "prediction failed");
            goto out;
        }
        for (size_t i = 0; i < nb; i++) write_row(f, buf + i * k, k, task, c.proba);
    }
    rc = cli_finish_output(f, c.out ? c.out : "stdout");
    f = NULL;
out:
    if (f && f != stdout) fclose(f);
    free(buf);
    mlp_dataset_free(&ds);
    mlp_scaler_free(&sc);
    mlp_net_free(net);
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
          "               params, optimizer, lr, alpha, steps, scaler\n"
          "  -h, --help   show this help\n",
          f);
}

static const cli_opt info_opts[] = {
    {"help", 'h', 0, OPT_HELP},
    {"json", 0, 0, OPT_JSON},
    {NULL, 0, 0, 0},
};

static const char *task_name(model_task t) {
    switch (t) {
    case TASK_MULTICLASS:
        return "classification";
    case TASK_BINARY:
        return "binary classification";
    case TASK_MULTILABEL:
        return "multi-label classification";
    default:
        return "regression";
    }
}

int cli_info(int argc, char **argv) {
    static const char *cmd = "info";
    cli_args a = {.argc = argc, .argv = argv, .i = 1, .cmd = cmd};
    const char *v, *name, *path = NULL;
    int id, json = 0;
    while ((id = cli_next(&a, info_opts, &v, &name)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR:
            return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL:
            if (path) return cli_usage_error(cmd, "unexpected argument '%s'", v);
            path = v;
            break;
        case OPT_HELP:
            cli_info_help(stdout);
            return cli_finish_output(stdout, "stdout");
        case OPT_JSON:
            json = 1;
            break;
        default:
            return cli_usage_error(cmd, "internal error: option %d", id);
        }
    }
    if (!path) return cli_usage_error(cmd, "missing MODEL (usage: mlp info MODEL)");

    mlp_net *net = NULL;
    mlp_scaler sc;
    memset(&sc, 0, sizeof sc);
    int rc = load_model(path, &net, &sc);
    if (rc) return rc;
    size_t L = mlp_net_n_layers(net);
    size_t *sizes = malloc((L + 1) * sizeof *sizes);
    const char **acts = malloc((L ? L : 1) * sizeof *acts);
    if (!sizes || !acts) {
        rc = cli_error("out of memory");
        goto out;
    }
    for (size_t l = 0; l < L; l++) {
        mlp_activation act = MLP_ACT_IDENTITY;
        mlp_net_layer_shape(net, l, &sizes[l], &sizes[l + 1], &act);
        acts[l] = cli_activation_name(act);
    }
    mlp_optimizer opt;
    mlp_net_get_optimizer(net, &opt);
    model_task task = task_of(net);
    size_t k = mlp_net_output_size(net);
    if (json) {
        static const char *const loss_keys[] = {"softmax_ce", "logistic", "squared"};
        mlp_loss loss = mlp_net_loss(net);
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_str(&j, "model", path);
        cli_json_sizes(&j, "sizes", sizes, L + 1);
        cli_json_strings(&j, "activations", acts, L);
        cli_json_str(&j, "loss", (unsigned)loss < MLP_LOSS_COUNT ? loss_keys[loss] : "unknown");
        cli_json_str(&j, "task", task_name(task));
        cli_json_u64(&j, "params", mlp_net_param_count(net));
        cli_json_str(&j, "optimizer", cli_solver_name(opt.kind));
        cli_json_float(&j, "lr", opt.lr);
        cli_json_float(&j, "alpha", opt.alpha);
        cli_json_u64(&j, "steps", mlp_net_step_count(net));
        cli_json_str(&j, "scaler", cli_scale_name(sc.kind));
        cli_json_end(&j);
    } else {
        printf("Model:         %s\n", path);
        printf("Architecture:  ");
        for (size_t l = 0; l <= L; l++) printf(l ? "-%zu" : "%zu", sizes[l]);
        printf("\nLayers:        %zu weight layer%s\n", L, L == 1 ? "" : "s");
        for (size_t l = 0; l < L; l++)
            printf("  %zu: %6zu -> %-6zu %-10s (%zu parameters)\n", l + 1, sizes[l], sizes[l + 1],
                   acts[l], sizes[l] * sizes[l + 1] + sizes[l + 1]);
        printf("Loss:          %s (%s", cli_loss_name(mlp_net_loss(net)), task_name(task));
        if (task == TASK_MULTICLASS)
            printf(", %zu classes)\n", k);
        else if (task == TASK_BINARY)
            printf(", 2 classes)\n");
        else
            printf(", %zu %s%s)\n", k, task == TASK_REGRESS ? "target" : "label",
                   k == 1 ? "" : "s");
        printf("Parameters:    %zu\n", mlp_net_param_count(net));
        if (opt.kind == MLP_OPT_ADAM)
            printf("Optimizer:     adam (lr %g, alpha %g, beta1 %g, beta2 %g, eps %g)\n",
                   (double)opt.lr, (double)opt.alpha, (double)opt.beta1, (double)opt.beta2,
                   (double)opt.eps);
        else
            printf("Optimizer:     sgd (lr %g, alpha %g, momentum %g%s)\n", (double)opt.lr,
                   (double)opt.alpha, (double)opt.momentum, opt.nesterov ? ", nesterov" : "");
        printf("Steps:         %llu\n", (unsigned long long)mlp_net_step_count(net));
        printf("Scaler:        %s", cli_scale_name(sc.kind));
        if (sc.kind != MLP_SCALE_NONE) printf(" (%zu features)", sc.d);
        printf("\n");
    }
    rc = cli_finish_output(stdout, "stdout");
out:
    free(sizes);
    free(acts);
    mlp_scaler_free(&sc);
    mlp_net_free(net);
    return rc;
}
