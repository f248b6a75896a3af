/* mlp export: a saved model as an ONNX model (mlp_model_export_onnx; docs/ONNX.md), with its
 * scaler and class list, for ONNX Runtime and other ONNX consumers. */
#include "cli.h"

#include <string.h>

enum { OPT_ONNX = CLI_OPT_SHARED_END, OPT_INPUT_NAME };

void cli_export_help(FILE *f) {
    fputs("Usage: mlp export MODEL --onnx OUT.onnx [OPTIONS]\n"
          "\n"
          "Write a saved model as an ONNX model (IR version 8, opset 17, batch dimension\n"
          "symbolic) that ONNX Runtime runs with the answers of mlp predict. The graph:\n"
          "the model's input scaling, then per layer MatMul + Add + the activation, then\n"
          "  classifier:   label [N] (the classes as the training labels wrote them: int64,\n"
          "                double or string) and probabilities [N, K] (K = 2 for binary)\n"
          "  multi-label:  label [N, K] (int64 0/1) and probabilities [N, K]\n"
          "  regressor:    variable [N, k]\n"
          "Dropout is left out (the graph is the inference one). OUT is replaced atomically,\n"
          "as model files are: never half-written.\n"
          "\n"
          "Options:\n"
          "  --onnx FILE            the ONNX file to write (required)\n"
          "  --input-name NAME      the graph's input name (default X)\n"
          "  -h, --help             show this help\n"
          "\n"
          "Example:\n"
          "  mlp export digits.mlp --onnx digits.onnx\n",
          f);
}

static const cli_opt export_opts[] = {
    CLI_OPT_ROW_HELP,
    {"onnx", 0, 1, OPT_ONNX},
    {"input-name", 0, 1, OPT_INPUT_NAME},
    {NULL, 0, 0, 0},
};

typedef struct export_cmd {
    const char *model, *onnx;
    mlp_onnx_options options;
} export_cmd;

/* MODEL, --onnx, --input-name. Returns -1 after --help, 0, or an exit code. */
static int parse_export(int argc, char **argv, export_cmd *c) {
    static const char *cmd = "export";
    cli_args a = {.argc = argc, .argv = argv, .i = 1, .cmd = cmd};
    const char *v, *name;
    int id;
    while ((id = cli_next(&a, export_opts, &v, &name)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR:
            return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL:
            if (c->model) return cli_usage_error(cmd, "unexpected argument '%s'", v);
            c->model = v;
            break;
        case CLI_OPT_HELP:
            cli_export_help(stdout);
            return -1;
        case OPT_ONNX:
            c->onnx = v;
            break;
        case OPT_INPUT_NAME:
            c->options.input_name = v;
            break;
        default:
            return cli_usage_error(cmd, "internal error: option %d", id);
        }
    }
    if (!c->model)
        return cli_usage_error(cmd, "missing MODEL (usage: mlp export MODEL --onnx OUT)");
    if (!c->onnx) return cli_usage_error(cmd, "missing --onnx OUT (the only format mlp exports)");
    if (!c->onnx[0]) return cli_usage_error(cmd, "--onnx: the path is empty");
    return 0;
}

/* True if a hidden layer of net has dropout (left out of the graph: worth a note). */
static int has_dropout(const mlp_net *net) {
    for (size_t l = 0; l + 1 < mlp_net_n_layers(net); l++)
        if (mlp_net_dropout(net, l) > 0.0f) return 1;
    return 0;
}

int cli_export(int argc, char **argv) {
    export_cmd c;
    memset(&c, 0, sizeof c);
    c.options = mlp_onnx_options_default();
    int rc = parse_export(argc, argv, &c);
    if (rc == -1) return cli_finish_output(stdout, "stdout");
    if (rc) return rc;
    mlp_net *net = NULL;
    mlp_scaler scaler = {0};
    mlp_classes classes = {0};
    mlp_status st = mlp_model_load_classes(c.model, &net, &scaler, &classes);
    if (st != MLP_OK) return cli_lib_error(st, "cannot load model '%s'", c.model);
    st = mlp_model_export_onnx(c.onnx, net, &scaler, &classes, &c.options);
    if (st == MLP_ERR_ARG && strstr(mlp_last_error(), "input name"))
        rc = cli_lib_usage_error("export", "--input-name '%s'", c.options.input_name);
    else if (st != MLP_OK)
        rc = cli_lib_error(st, "cannot export '%s' to '%s'", c.model, c.onnx);
    if (st == MLP_OK) {
        if (has_dropout(net))
            cli_note("'%s' has dropout, a training-time operation: the ONNX graph is the "
                     "inference one (no dropout), as mlp predict computes",
                     c.model);
        printf("Exported %s to %s (ONNX IR 8, opset 17): input %s [N, %zu]\n", c.model, c.onnx,
               c.options.input_name, mlp_net_input_size(net));
        rc = cli_finish_output(stdout, "stdout");
    }
    mlp_scaler_free(&scaler);
    mlp_classes_free(&classes);
    mlp_net_free(net);
    return rc;
}
