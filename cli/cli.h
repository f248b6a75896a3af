/* The mlp command-line tool: declarations shared by its source files.
 *   main.c      dispatch, top-level help, --version, error printing
 *   args.c      option scanning and strict value parsing (usage errors: exit 2)
 *   data.c      loading datasets: the shipped digits set, CSV, IDX, feature-only CSVs
 *   progress.c  the per-epoch progress display (stderr) and Ctrl-C handling
 *   history.c   train --history: the per-epoch record, written as CSV or JSON
 *   weights.c   train --sample-weight (the weights file) and --weight-column's value
 *   json.c      the one-line JSON writer
 *   cmd_train.c `mlp train` (with train_args.c, train_data.c, train_report.c: see train.h)
 *   mpi.c       `mpirun -np P mlp train` (builds with MLP_WITH_MPI; else single-process stubs)
 *   cmd_eval.c  `mlp eval`, `mlp predict`, `mlp info`
 *   cmd_export.c `mlp export` (ONNX)
 * Conventions: stdout carries results only, stderr carries progress, warnings and errors; every
 * error line starts with "mlp: ". Exit codes: 0 success, 1 runtime error, 2 usage error. */
#ifndef MLP_CLI_H
#define MLP_CLI_H

#include <mlp/data.h>
#include <mlp/fit.h>
#include <mlp/mlp.h>
#include <mlp/model.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE 2

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* ---- errors (main.c) ---- */
/* "mlp: <msg>" and a hint to run `mlp CMD --help`; returns CLI_EXIT_USAGE. cmd may be NULL. */
/* blas_kernels.c: re-executes the tool with OPENBLAS_CORETYPE set when OpenBLAS fell back to its
 * Prescott kernels on a CPU that has AVX2 or AVX-512 (returns when there is nothing to do, or the
 * exec failed). Called first thing in main. MLP_KEEP_BLAS_KERNELS=1 turns it off. */
void cli_pick_blas_kernels(char **argv);
int cli_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);
/* "mlp: <msg>: <mlp_last_error()>" (with the path alias applied) and the hint of
 * cli_usage_error: a library call refused what the options asked for. Returns CLI_EXIT_USAGE. */
int cli_lib_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);
/* "mlp: <msg>: <mlp_strerror(st)>: <mlp_last_error()>"; returns CLI_EXIT_RUNTIME. */
int cli_lib_error(mlp_status st, const char *fmt, ...) CLI_PRINTF(2, 3);
/* The status of the last error printed: cli_lib_error's status, MLP_OK after the other printers
 * (or none). For hints that depend on what failed. */
mlp_status cli_last_lib_status(void);
/* "mlp: <msg>"; returns CLI_EXIT_RUNTIME. */
int cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* "mlp: warning: <msg>". */
void cli_warn(const char *fmt, ...) CLI_PRINTF(1, 2);
/* "mlp: cannot read WHAT: <mlp_strerror(st)>: DETAIL" (a saved mlp_last_error), with the path
 * alias applied; returns CLI_EXIT_RUNTIME. */
int cli_read_error(mlp_status st, const char *what, const char *detail);
/* "mlp: note: <msg>" (rank 0 only). */
void cli_note(const char *fmt, ...) CLI_PRINTF(1, 2);
/* Messages printed by cli_lib_error show `shown` where the library's message says `real` (the
 * temporary copy of standard input). One pair; real NULL clears it. */
void cli_set_path_alias(const char *real, const char *shown);
/* Flushes stdout (and closes it if it is FILE *f != stdout); reports a write error. Returns an exit
 * code. */
int cli_finish_output(FILE *f, const char *name);

/* ---- option scanning (args.c) ---- */
typedef struct cli_opt {
    const char *name; /* long name without the leading "--" */
    char short_name;  /* 0 if none */
    int has_value;    /* 1: takes a value ("--name V" or "--name=V") */
    int id;           /* > 0, returned by cli_next */
} cli_opt;

typedef struct cli_args {
    int argc;
    char **argv;
    int i;               /* next argv index */
    int only_positional; /* after "--" */
    const char *cmd;     /* command name for messages */
} cli_args;

#define CLI_ARG_END 0         /* no more arguments */
#define CLI_ARG_POSITIONAL -1 /* *value is a positional argument */
#define CLI_ARG_ERROR -2      /* a usage error was printed */

/* Scans the next argument. Options are a table ended by an entry with name == NULL. Returns an
 * option id (with *value set for options that take one), CLI_ARG_POSITIONAL, CLI_ARG_END or
 * CLI_ARG_ERROR (unknown option, missing value, value given to a flag). */
int cli_next(cli_args *a, const cli_opt *opts, const char **value, const char **name);

/* Strict value parsers. Each prints a usage error naming flag and returns CLI_EXIT_USAGE on a bad
 * value, or returns 0. */
int cli_parse_size(const char *cmd, const char *flag, const char *s, size_t min, size_t max,
                   size_t *out);
int cli_parse_u64(const char *cmd, const char *flag, const char *s, uint64_t *out);
int cli_parse_int(const char *cmd, const char *flag, const char *s, int min, int max, int *out);
/* A finite number in [lo, hi]; lo_open / hi_open exclude the bound. */
int cli_parse_double(const char *cmd, const char *flag, const char *s, double lo, double hi,
                     int lo_open, int hi_open, double *out);
int cli_parse_float(const char *cmd, const char *flag, const char *s, double lo, double hi,
                    int lo_open, int hi_open, float *out);
/* names ends with NULL; *out receives the index of the match. */
int cli_parse_choice(const char *cmd, const char *flag, const char *s, const char *const *names,
                     int *out);
/* "50", "50,30", or "none" / "0" / "" for no hidden layer. *widths is malloc'd (may be NULL when
 * *n == 0). */
int cli_parse_hidden(const char *cmd, const char *s, size_t **widths, size_t *n);
struct cli_data_opts;
/* --label-column: one column (0-based, negative from the end, or "last") into o->label_column,
 * or a list of them and ranges ("3,4,5", "3-5", "0,-1") into o->label_columns (storage of
 * args.c, kept until the next call). */
int cli_parse_columns(const char *cmd, const char *flag, const char *s, struct cli_data_opts *o);
/* yes | no | auto -> 1 | 0 | -1. */
int cli_parse_header(const char *cmd, const char *flag, const char *s, int *out);
/* auto (MLP_CSV_DETECT), tab or \t, space or whitespace (' '), or one character that cannot be
 * part of a number. */
int cli_parse_delimiter(const char *cmd, const char *flag, const char *s, char *out);

/* Names of enums, for output. */
const char *cli_activation_name(mlp_activation a);
const char *cli_solver_name(mlp_optimizer_kind k);
const char *cli_scale_name(mlp_scale_kind k);
const char *cli_schedule_name(mlp_lr_schedule s);
const char *cli_loss_name(mlp_loss l);
/* --activation, --solver, --scale, --lr-schedule values: the names above, as cli_parse_choice. */
int cli_parse_activation(const char *cmd, const char *flag, const char *s, mlp_activation *out);
int cli_parse_solver(const char *cmd, const char *flag, const char *s, mlp_optimizer_kind *out);
int cli_parse_scale(const char *cmd, const char *flag, const char *s, mlp_scale_kind *out);
int cli_parse_schedule(const char *cmd, const char *flag, const char *s, mlp_lr_schedule *out);
/* f32 | bf16 | auto (train's --precision, and eval's and predict's). */
int cli_parse_precision(const char *cmd, const char *flag, const char *s, mlp_precision *out);

/* ---- data (data.c) ---- */
typedef enum cli_role {
    CLI_ROLE_ALL = 0, /* digits: all 1797 rows */
    CLI_ROLE_TRAIN,   /* digits: the shipped rs42 train split (1437 rows) */
    CLI_ROLE_TEST     /* digits: the shipped rs42 test split (360 rows) */
} cli_role;

typedef struct cli_data_opts {
    const char *data;           /* "digits", a CSV path (plain or gzip), or an IDX images path */
    const char *labels;         /* IDX labels path; NULL for CSV */
    long label_column;          /* CSV: 0-based; negative from the end, -1 = last */
    const long *label_columns;  /* CSV: several label/target columns (n_label_columns > 1) */
    size_t n_label_columns;     /* 0: label_column alone */
    int multilabel;             /* CSV: the label columns are 0/1 targets */
    int header;                 /* CSV: 1 yes, 0 no, -1 auto */
    int regression;             /* CSV: float targets instead of class labels */
    const mlp_classes *classes; /* classification: the labels must be these classes (a model's,
                                   or the training set's for a test set); NULL: the data's own */
    int quiet; /* CSV (digits included): a read failure is not printed (mlp_last_error has it) */
    char delimiter;     /* CSV: MLP_CSV_DETECT (0, the default), ' ' (whitespace) or a character */
    size_t skip_rows;   /* CSV: lines skipped at the start */
    int no_notes;       /* do not print "delimiter detected" notes (train --quiet) */
    long weight_column; /* CSV: the sample weights' column (MLP_CSV_NO_COLUMN: none) */
    const char *weight_name; /* CSV: ... or its header name (NULL: by weight_column) */
} cli_data_opts;

/* The data folder: $MLP_DATA_DIR if set and non-empty; else ../share/mlp/data relative to the
 * running executable's folder (the installed tree's, whatever its prefix) if it holds
 * digits.csv.gz; else the source tree's data/ folder (what the build tree's binary uses). */
const char *cli_data_dir(void);
int cli_is_digits(const char *data);
/* Loads o->data (with a weight column, the weights into out->weights). For digits, role picks all
 * rows or one side of the shipped split. On failure an error has been printed and the exit code
 * is returned (2 for a weight column that does not fit the file); 0 on success. */
int cli_load(const cli_data_opts *o, cli_role role, mlp_dataset *out);
/* For prediction: loads features for a net with input width d. A CSV may hold d + 1 columns (one
 * of them the label column, ignored) or exactly d columns (features only). IDX needs labels (they
 * are ignored). Returns an exit code as cli_load. */
int cli_load_features(const cli_data_opts *o, size_t d, mlp_dataset *out);
/* For a model of k > 1 target outputs: the label columns are the last k unless --label-column
 * said otherwise. */
void cli_default_label_columns(cli_data_opts *o, size_t k);
/* The status of the last CSV read that failed quietly (cli_data_opts.quiet). */
mlp_status cli_last_read_status(void);
/* The rows of the shipped digits split of role (TRAIN or TEST) among the n rows of digits
 * (*rows malloc'd). Returns an exit code as cli_load. */
int cli_digits_split_rows(cli_role role, size_t n, size_t **rows, size_t *count);
/* Describes o->data for messages, e.g. "digits (rs42 test split)". */
const char *cli_data_label(const cli_data_opts *o, cli_role role);

/* ---- options shared by the commands (args.c) ----
 * The same ids, names and handling in every command. A command's option table lists the ones it
 * takes; its own options are numbered from CLI_OPT_SHARED_END. */
enum {
    CLI_OPT_HELP = 1,     /* -h, --help (each command prints its own help) */
    CLI_OPT_LABELS,       /* --labels PATH: IDX labels */
    CLI_OPT_LABEL_COLUMN, /* --label-column N|last */
    CLI_OPT_HEADER,       /* --header yes|no|auto */
    CLI_OPT_DELIMITER,    /* --delimiter C|tab|space|auto */
    CLI_OPT_SKIP_ROWS,    /* --skip-rows N */
    CLI_OPT_THREADS,      /* --threads N */
    CLI_OPT_JSON,         /* --json */
    CLI_OPT_OUT,          /* -o, --out PATH */
    CLI_OPT_SHARED_END
};

/* Their rows in a command's option table (cli_next), so that each is named in one place. */
/* clang-format off */
#define CLI_OPT_ROW_HELP    {"help", 'h', 0, CLI_OPT_HELP}
#define CLI_OPT_ROWS_DATA   {"labels", 0, 1, CLI_OPT_LABELS},             \
                            {"label-column", 0, 1, CLI_OPT_LABEL_COLUMN}, \
                            {"header", 0, 1, CLI_OPT_HEADER},             \
                            {"delimiter", 0, 1, CLI_OPT_DELIMITER},       \
                            {"skip-rows", 0, 1, CLI_OPT_SKIP_ROWS}
#define CLI_OPT_ROW_THREADS {"threads", 0, 1, CLI_OPT_THREADS}
#define CLI_OPT_ROW_JSON    {"json", 0, 0, CLI_OPT_JSON}
#define CLI_OPT_ROW_OUT     {"out", 'o', 1, CLI_OPT_OUT}
/* clang-format on */

/* What the shared options set. */
typedef struct cli_common {
    cli_data_opts data; /* labels, label_column, header; the command sets data.data */
    int threads;        /* 0: leave the thread count as it is */
    int json;
    const char *out;
} cli_common;

/* Defaults: CSV label column last, header auto, nothing else set. */
void cli_common_init(cli_common *c);
/* True for the ids cli_common_option handles (all shared ones but CLI_OPT_HELP). */
int cli_is_common_option(int id);
/* Applies one shared option (value v, flag name as cli_next gave it). Returns 0 or the exit code
 * of a usage error. */
int cli_common_option(const char *cmd, int id, const char *name, const char *v, cli_common *c);
/* After scanning: a usage error for an empty --out path. Returns 0 or CLI_EXIT_USAGE. */
int cli_common_check(const char *cmd, const cli_common *c);
/* mlp_set_num_threads(threads) unless it is 0. Returns 0 or an exit code. */
int cli_apply_threads(int threads);

/* ---- history (history.c) ---- */
typedef struct cli_history {
    mlp_epoch_info *rows; /* one per finished epoch */
    size_t n, cap;
    int failed; /* out of memory while recording */
} cli_history;

#define CLI_HISTORY_CSV 0
#define CLI_HISTORY_JSON 1
/* CLI_HISTORY_CSV for a path ending in .csv, CLI_HISTORY_JSON for .json, else -1. */
int cli_history_format(const char *path);
/* Appends an epoch; -1 when out of memory (then h->failed is set and writing fails). */
int cli_history_add(cli_history *h, const mlp_epoch_info *info);
void cli_history_free(cli_history *h);
/* Writes h to path (format by the extension) by the rules of model saves (model.h): a regular
 * file (or none) replaced atomically through an unnamed file, a link followed and kept, a device
 * or FIFO written through, termination signals held until done. Returns 0 or an exit code (the
 * error printed). */
int cli_history_write(const cli_history *h, const char *path);

/* ---- sample weights (weights.c); each returns 0 or an exit code, the error printed ---- */
/* Reads path: one weight (a finite number >= 0) per line for each of the n rows; *w is
 * malloc'd. Errors name the file and the line. */
int cli_weights_read(const char *path, size_t n, float **w);
/* --weight-column's value: a 0-based column (negative: from the end), "last", or else a header
 * name (*name = s, *col unchanged; the CSV reader finds it in the header). */
int cli_weights_parse_column(const char *s, long *col, const char **name);

/* ---- progress (progress.c) ---- */
typedef struct cli_progress {
    int enabled; /* 0: --quiet */
    int tty;     /* stderr is a terminal: one updating line */
    size_t max_iter;
    size_t last_printed; /* epoch of the last plain line */
    double last_draw;    /* monotonic time of the last terminal redraw */
    mlp_epoch_info last; /* most recent epoch */
    int have_last;
    int line_open;        /* the terminal line needs a newline before other output */
    cli_history *history; /* if not NULL, every epoch is recorded in it */
} cli_progress;

void cli_progress_init(cli_progress *p, int enabled, size_t max_iter);
/* mlp_epoch_callback; user is a cli_progress. Returns non-zero after Ctrl-C. */
int cli_progress_callback(const mlp_epoch_info *info, void *user);
/* Shows the final epoch if it was not shown yet and ends the terminal line. */
void cli_progress_finish(cli_progress *p);
/* Ctrl-C: the first one asks training to stop after the current epoch, a second one kills. */
void cli_interrupt_install(void);
void cli_interrupt_restore(void);
int cli_interrupted(void);
double cli_now(void);
/* 312.4k, 1.23M, ...: a rate with an SI suffix. */
void cli_format_rate(char *buf, size_t cap, double rate);

/* ---- JSON (json.c): one object on one line ---- */
typedef struct cli_json {
    FILE *f;
    int n; /* members written */
} cli_json;

void cli_json_begin(cli_json *j, FILE *f);
void cli_json_str(cli_json *j, const char *key, const char *value); /* NULL -> null */
void cli_json_double(cli_json *j, const char *key, double v);       /* non-finite -> null */
void cli_json_float(cli_json *j, const char *key, float v);
void cli_json_u64(cli_json *j, const char *key, uint64_t v);
void cli_json_bool(cli_json *j, const char *key, int v);
void cli_json_null(cli_json *j, const char *key);
void cli_json_sizes(cli_json *j, const char *key, const size_t *v, size_t n);
/* Floats as a JSON array (non-finite ones as null). */
void cli_json_floats(cli_json *j, const char *key, const float *v, size_t n);
void cli_json_strings(cli_json *j, const char *key, const char *const *v, size_t n);
/* The class list as a JSON array: numbers for NUMBERS (and NONE), strings for NAMES. */
void cli_json_classes(cli_json *j, const char *key, const mlp_classes *c);
void cli_json_end(cli_json *j);
/* One CSV field, quoted as RFC 4180 says when it holds a comma, a quote, a line end, leading or
 * trailing blanks, or nothing. */
void cli_csv_field(FILE *f, const char *s);
/* The text of class i of c as one CSV field. */
void cli_csv_class(FILE *f, const mlp_classes *c, size_t i);
/* Shortest decimal text that reads back as v (as printf %g would, up to 17 digits). */
void cli_format_double(char *buf, size_t cap, double v);
void cli_format_float(char *buf, size_t cap, float v);

/* ---- MPI (mpi.c) ----
 * Builds configured with -DMLP_WITH_MPI=ON run `mlp train` data-parallel when started by an MPI
 * launcher (mpirun, srun): rank 0 prints progress and results and saves the model. Without
 * MLP_WITH_MPI every call below is the single-process equivalent and MPI is never touched. */
typedef struct cli_mpi {
    int active; /* MPI was initialised (and must be finalised) */
    int rank, size;
} cli_mpi;

/* This process's MPI rank (0 when not under MPI). On ranks > 0 the printers of main.c stay quiet
 * for usage errors and warnings (rank 0 reports them) and prefix errors with "rank N: ". */
extern int cli_rank;
/* 1 if this build has MPI support (MLP_WITH_MPI). */
int cli_mpi_available(void);
/* The number of processes an MPI launcher started (from its environment variables; 1 if it does
 * not say), or 0 if no launcher started this one. */
int cli_mpi_launched(void);
/* Sets cli_rank from the launcher's environment, before MPI is initialised (for usage errors). */
void cli_mpi_early_rank(void);
/* Initialises MPI (MPI_Init_thread, MPI_THREAD_FUNNELED) if launched by MPI or if force is set;
 * otherwise leaves m inactive (rank 0, size 1). Returns an exit code (0 on success). */
int cli_mpi_init(cli_mpi *m, int force);
void cli_mpi_finalize(cli_mpi *m);
/* The largest exit code of all ranks (rc itself when MPI is not active). */
int cli_mpi_agree(const cli_mpi *m, int rc);
/* Threads per rank sharing the node's cores (mlp_mpi_default_threads); the current count when MPI
 * is not active. */
int cli_mpi_default_threads(const cli_mpi *m);
/* mlp_fit, data-parallel over all ranks when MPI is active with more than one rank or when
 * deterministic (MLP_MPI_EXACT) is asked for; plain mlp_fit otherwise. */
mlp_status cli_mpi_fit(const cli_mpi *m, int deterministic, mlp_net **net, mlp_task task,
                       const mlp_dataset *ds, size_t n_classes_or_targets, const mlp_fit_options *o,
                       mlp_fit_result *r);
/* mlp_model_load_classes / mlp_model_save_classes; under MPI rank 0 reads and broadcasts, or
 * writes (atomically), and every rank gets the same status. classes may be NULL. */
mlp_status cli_mpi_load(const cli_mpi *m, const char *path, mlp_net **net, mlp_scaler *scaler,
                        mlp_classes *classes);
mlp_status cli_mpi_save(const cli_mpi *m, const char *path, const mlp_net *net,
                        const mlp_scaler *scaler, const mlp_classes *classes);

/* ---- commands ---- */
int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_export(int argc, char **argv);
void cli_train_help(FILE *f);
void cli_eval_help(FILE *f);
void cli_predict_help(FILE *f);
void cli_info_help(FILE *f);
void cli_export_help(FILE *f);

#endif /* MLP_CLI_H */
