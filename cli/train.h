/* `mlp train`, one file per step of a run:
 *   train_args.c    the help and the command line, parsed into train_options
 *   cmd_train.c     the run, in the order it goes: threads, the --init-model and the data, the
 *                   plan, training, the test score, the saved model, the history, the report
 *   train_data.c    the training and test sets (with their sample weights), checked and scaled
 *   train_report.c  the "Training ..." line and the result, as text or one JSON object
 * The options are read-only once parsed; what a run derives from the data and from an
 * --init-model (the layers, the scaler, mlp_fit's options) lives in train_run. */
#ifndef MLP_CLI_TRAIN_H
#define MLP_CLI_TRAIN_H

#include "cli.h"

/* What the command line asked for. */
typedef struct train_options {
    cli_common
        common; /* data (--data, the CSV / IDX options, --weight-column), threads, json, out */
    const char *test_data, *test_labels;
    double test_fraction;
    int test_fraction_given;
    mlp_scale_kind scale; /* --scale */
    mlp_fit_options fit;  /* the network and training options as given (no callback) */
    size_t *hidden;       /* owned: fit.hidden */
    int quiet;
    const char *init_model;                   /* warm start from this model file */
    int deterministic;                        /* MPI: MLP_MPI_EXACT */
    int hidden_given, act_given, scale_given; /* excluded by --init-model */
    int dropout_given;         /* --dropout, also 0: replaces the dropout a --init-model kept */
    const char *sample_weight; /* --sample-weight FILE */
    const char *history;       /* --history FILE (.csv or .json) */
    const char *validation_data, *validation_labels; /* --validation-data SRC, its IDX labels */
    const char *class_weight;    /* --class-weight balanced|LABEL:W,... (as given) */
    mlp_activation *activations; /* owned: --activation's names (n_activations of them) */
    size_t n_activations;        /* one for every hidden layer, or one per hidden layer */
    int loss_given, huber_given; /* --loss, --huber-delta */
} train_options;

/* Parses argv into *o (free it with train_options_free whatever the result). Returns -1 after
 * --help (printed to stdout on rank 0), 0, or the exit code of a usage error (printed). */
int train_parse(int argc, char **argv, train_options *o);
void train_options_free(train_options *o);
/* --weight-column was given (by index or by name). */
int train_weighted_column(const train_options *o);

/* The loaded, checked and scaled data. */
typedef struct train_data {
    mlp_dataset train, test;     /* test.n == 0: no test set; train.weights: the sample weights
                                    (times --class-weight's) */
    mlp_dataset val;             /* --validation-data (val.n == 0: none), scaled as train */
    const char *train_label;     /* for messages */
    size_t n_classes_or_targets; /* classes (classification) or target columns (regression) */
    mlp_scaler scaler;           /* fitted on the training set, or the --init-model's */
} train_data;

/* Loads the training and test sets as o says (classes: the labels must be these, a model's; NULL:
 * the data's own), with the sample weights, checks that they fit each other and scales both: with
 * t->scaler as it is when scaler_loaded (an --init-model's), else with a scaler of kind fitted on
 * the training set. Returns 0 or an exit code (the error printed). */
int train_load_data(const train_options *o, const mlp_classes *classes, mlp_scale_kind kind,
                    int scaler_loaded, train_data *t);
void train_data_free(train_data *t);

/* A run: the options and what it derives from them, the data and an --init-model. */
typedef struct train_run {
    const train_options *opt;
    cli_mpi mpi;
    train_data data;
    mlp_classes model_classes; /* --init-model's classes (classification) */
    mlp_net *net;              /* --init-model's, or made by mlp_fit */
    mlp_fit_options fit;       /* handed to mlp_fit: opt->fit with the model's layers, the progress
                                  callback and the sample weights */
    size_t *hidden;            /* owned: fit.hidden when the layers came from the model */
    mlp_scale_kind scale;      /* --scale, or the model's scaler */
    mlp_task task;
    size_t out_width; /* units of the output layer */
    mlp_fit_result result;
    cli_history history;
    double score; /* on the test set; NaN without one */
} train_run;

/* The "Training ..." line on stderr. */
void train_announce(const train_run *r);
/* The result on stdout, as text or (--json) one JSON object; returns an exit code. */
int train_report(const train_run *r);

#endif /* MLP_CLI_TRAIN_H */
