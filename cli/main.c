/* mlp: command dispatch, the top-level help, --version and the error printers. */
#include "cli.h"

#include <stdbool.h>

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* "mlp: " then, on MPI ranks other than 0, "rank N: " (see cli_rank), then what follows. */
static void vprint(const char *prefix, const char *fmt, va_list ap) {
    fputs(prefix, stderr);
    if (cli_rank > 0) fprintf(stderr, "rank %d: ", cli_rank);
    vfprintf(stderr, fmt, ap);
}

/* The prefix of vprint alone. */
static void vprint_plain(const char *prefix) {
    fputs(prefix, stderr);
    if (cli_rank > 0) fprintf(stderr, "rank %d: ", cli_rank);
}

/* What cli_last_lib_status reports: set by every error printer below. */
static mlp_status last_lib_status = MLP_OK;

mlp_status cli_last_lib_status(void) {
    return last_lib_status;
}

/* The end of every usage error: where to look, and the exit code. */
static int usage_hint(const char *cmd) {
    if (cmd)
        fprintf(stderr, "\nTry 'mlp %s --help'.\n", cmd);
    else
        fputs("\nTry 'mlp --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}

static void put_aliased(const char *s);

/* A usage error: the message, the library's detail (with_lib), where to look. Every rank has the
 * same arguments: rank 0 says it. */
static int vusage(const char *cmd, bool with_lib, const char *fmt, va_list ap) {
    last_lib_status = MLP_OK;
    if (cli_rank > 0) return CLI_EXIT_USAGE;
    vprint("mlp: ", fmt, ap);
    if (with_lib) {
        fputs(": ", stderr);
        put_aliased(mlp_last_error());
    }
    return usage_hint(cmd);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = vusage(cmd, false, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *alias_real, *alias_shown;

void cli_set_path_alias(const char *real, const char *shown) {
    alias_real = real;
    alias_shown = shown;
}

/* s with every alias_real replaced by alias_shown. */
static void put_aliased(const char *s) {
    size_t n = alias_real ? strlen(alias_real) : 0;
    const char *hit;
    while (n && (hit = strstr(s, alias_real))) {
        fwrite(s, 1, (size_t)(hit - s), stderr);
        fputs(alias_shown, stderr);
        s = hit + n;
    }
    fputs(s, stderr);
}

int cli_lib_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = vusage(cmd, true, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_lib_error(mlp_status st, const char *fmt, ...) {
    last_lib_status = st;
    va_list ap;
    va_start(ap, fmt);
    vprint("mlp: ", fmt, ap);
    va_end(ap);
    const char *detail = mlp_last_error();
    fprintf(stderr, ": %s%s", mlp_strerror(st), detail[0] ? ": " : "");
    put_aliased(detail);
    fputc('\n', stderr);
    return CLI_EXIT_RUNTIME;
}

int cli_error(const char *fmt, ...) {
    last_lib_status = MLP_OK;
    va_list ap;
    va_start(ap, fmt);
    vprint("mlp: ", fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_RUNTIME;
}

void cli_warn(const char *fmt, ...) {
    if (cli_rank > 0) return; /* MPI: warnings are the same on every rank; rank 0 shows them */
    va_list ap;
    va_start(ap, fmt);
    vprint("mlp: warning: ", fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_read_error(mlp_status st, const char *what, const char *detail) {
    last_lib_status = st;
    vprint_plain("mlp: cannot read ");
    put_aliased(what);
    fprintf(stderr, ": %s: ", mlp_strerror(st));
    put_aliased(detail);
    fputc('\n', stderr);
    return CLI_EXIT_RUNTIME;
}

void cli_note(const char *fmt, ...) {
    if (cli_rank > 0) return;
    va_list ap;
    va_start(ap, fmt);
    vprint("mlp: note: ", fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_finish_output(FILE *f, const char *name) {
    int bad = fflush(f) != 0 || ferror(f);
    int err = errno;
    if (f != stdout && fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad) return cli_error("cannot write %s: %s", name, strerror(err));
    return CLI_EXIT_OK;
}

static void main_help(FILE *f) {
    fprintf(f,
            "Usage: mlp COMMAND [ARGS...]\n"
            "\n"
            "Train and use dense multilayer perceptrons (scikit-learn's MLPClassifier /\n"
            "MLPRegressor recipe) on OpenBLAS + OpenMP.\n"
            "\n"
            "Commands:\n"
            "  train     train a network on digits, a CSV file or an IDX pair; report test\n"
            "            accuracy (or R^2) and speed; optionally save the model\n"
            "  eval      score a saved model on a dataset (accuracy or R^2)\n"
            "  predict   write a saved model's predictions as CSV\n"
            "  info      describe a saved model (layers, loss, optimizer, scaler)\n"
            "  export    write a saved model as an ONNX model (mlp export M --onnx M.onnx)\n"
            "  help      show help for a command: mlp help train\n"
            "\n"
            "Options:\n"
            "  -h, --help     show this help\n"
            "  -V, --version  show the version\n"
            "\n"
            "Example (scikit-learn's digits example: 64-50-10, ReLU, Adam):\n"
            "  mlp train --data digits --hidden 50 --max-iter 500 --seed 42 --out digits.mlp\n"
            "  mlp eval digits.mlp digits\n"
            "\n"
            "Results go to stdout, progress and errors to stderr. Exit status: 0 success,\n"
            "1 runtime error (file, data, divergence), 2 usage error.\n"
            "Environment: MLP_DATA_DIR (folder of the digits data, default %s),\n"
            "OMP_NUM_THREADS (default thread count).\n",
            cli_data_dir());
}

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*help)(FILE *f);
} command;

static const command commands[] = {
    {"train", cli_train, cli_train_help},       {"eval", cli_eval, cli_eval_help},
    {"predict", cli_predict, cli_predict_help}, {"info", cli_info, cli_info_help},
    {"export", cli_export, cli_export_help},
};

static const command *find_command(const char *name) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

int main(int argc, char **argv) {
    cli_pick_blas_kernels(argv);
    if (argc < 2) {
        fputs("Usage: mlp COMMAND [ARGS...]   (commands: train, eval, predict, info, "
              "export, help)\n"
              "Try 'mlp --help'.\n",
              stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        main_help(stdout);
        return cli_finish_output(stdout, "stdout");
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("mlp %s\n", mlp_version());
        printf("OpenBLAS core %s (%s build), %d threads\n", mlp_blas_corename(),
               mlp_blas_is_openmp() ? "OpenMP" : "non-OpenMP", mlp_get_num_threads());
        return cli_finish_output(stdout, "stdout");
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc < 3) {
            main_help(stdout);
        } else {
            if (argc > 3) return cli_usage_error(NULL, "help: too many arguments");
            const command *c = find_command(argv[2]);
            if (!c) return cli_usage_error(NULL, "help: unknown command '%s'", argv[2]);
            c->help(stdout);
        }
        return cli_finish_output(stdout, "stdout");
    }
    const command *c = find_command(cmd);
    if (!c) {
        if (cmd[0] == '-') return cli_usage_error(NULL, "unknown option '%s'", cmd);
        return cli_usage_error(NULL, "unknown command '%s'", cmd);
    }
    /* The command sees its own name as argv[0]. */
    return c->run(argc - 1, argv + 1);
}
