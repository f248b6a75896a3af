/* mlp train: parse the options (train_args.c), then run: threads; the --init-model and the data
 * (train_data.c); the plan (output layer, mlp_fit's options); mlp_fit with a progress callback;
 * the test score; the model file; the history; the report (train_report.c).
 * Under an MPI launcher (builds with MLP_WITH_MPI, see mpi.c) every rank loads the data and trains
 * its share of each minibatch (mlp_mpi_fit); rank 0 alone prints, scores and saves. */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --threads (or, under MPI, the node's cores shared among its ranks) and the warnings about the
 * environment. */
static int set_up_threads(const train_run *r) {
    const int threads = r->opt->common.threads;
    int rc = cli_apply_threads(threads);
    if (rc) return rc;
    if (!threads && r->mpi.active && !getenv("OMP_NUM_THREADS"))
        mlp_set_num_threads(cli_mpi_default_threads(&r->mpi));
    if (!cli_mpi_available() && cli_mpi_launched() > 1)
        cli_warn("started by an MPI launcher, but this mlp is built without MPI support "
                 "(cmake -DMLP_WITH_MPI=ON): each of the %d processes trains on its own",
                 cli_mpi_launched());
    if (!mlp_blas_is_openmp())
        cli_warn("OpenBLAS is not its OpenMP build: its threads and mlp's may compete for cores "
                 "(consider --threads 1 or OPENBLAS_NUM_THREADS=1)");
    return 0;
}

/* --init-model: the warm-start net, its scaler and classes (rank 0 reads them, every rank gets
 * them). The run trains the model's layers with the model's scaler, whatever the options held. */
static int load_init_model(train_run *r) {
    const train_options *o = r->opt;
    mlp_status st =
        cli_mpi_load(&r->mpi, o->init_model, &r->net, &r->data.scaler, &r->model_classes);
    if (st != MLP_OK) return cli_lib_error(st, "cannot load the model '%s'", o->init_model);
    const size_t L = mlp_net_n_layers(r->net);
    r->hidden = L > 1 ? malloc((L - 1) * sizeof *r->hidden) : NULL;
    if (L > 1 && !r->hidden) return cli_error("out of memory");
    for (size_t l = 0; l + 1 < L; l++)
        mlp_net_layer_shape(r->net, l, NULL, &r->hidden[l], l == 0 ? &r->fit.activation : NULL);
    r->fit.hidden = r->hidden;
    r->fit.n_hidden = L - 1;
    r->scale = r->data.scaler.kind;
    /* A regressor trains on with its own loss (and Huber's delta) unless --loss says otherwise. */
    const mlp_loss loss = mlp_net_loss(r->net);
    if (!o->loss_given && (loss == MLP_LOSS_POISSON || loss == MLP_LOSS_HUBER)) r->fit.loss = loss;
    if (!o->huber_given && loss == MLP_LOSS_HUBER) r->fit.huber_delta = mlp_net_huber_delta(r->net);
    /* The model file keeps its dropout; --dropout (0 too) replaces it. */
    for (size_t l = 0; o->dropout_given && l + 1 < L; l++)
        (void)mlp_net_set_dropout(r->net, l, o->fit.dropout); /* checked when parsed */
    return 0;
}

/* The warm-start model, then the data (which must have the model's classes). */
static int load_inputs(train_run *r) {
    const train_options *o = r->opt;
    int rc = o->init_model ? load_init_model(r) : 0;
    if (rc == 0)
        rc = train_load_data(o, o->init_model ? &r->model_classes : NULL, r->scale,
                             o->init_model != NULL, &r->data);
    return rc;
}

/* The output layer the task and the data call for; the sample weights of the training rows. */
static int plan_training(train_run *r) {
    mlp_status st =
        mlp_task_output(r->task, r->data.n_classes_or_targets, NULL, NULL, &r->out_width);
    if (st != MLP_OK) return cli_lib_error(st, "cannot train on %s", r->data.train_label);
    r->fit.sample_weight = r->data.train.weights;
    const mlp_dataset *v = &r->data.val; /* --validation-data: early stopping on it */
    r->fit.val_n = v->n;
    r->fit.val_X = v->X;
    r->fit.val_labels = v->labels;
    r->fit.val_Y = v->targets;
    r->fit.val_sample_weight = v->weights;
    return 0;
}

/* mlp_fit (data-parallel under MPI) with the progress display. Under MPI every rank gets the same
 * status (mlp_mpi_fit agrees on it), so rank 0 alone reports a failure. */
static int train(train_run *r) {
    const train_options *o = r->opt;
    const int root = r->mpi.rank == 0;
    const mlp_fit_result *res = &r->result;
    cli_progress prog;
    cli_progress_init(&prog, !o->quiet && root, r->fit.max_iter);
    prog.history = o->history ? &r->history : NULL;
    r->fit.callback = cli_progress_callback;
    r->fit.user = &prog;
    if (r->fit.early_stopping && r->fit.opt.kind == MLP_OPT_LBFGS && root)
        cli_warn("--early-stopping is not used by --solver lbfgs (as in scikit-learn)");
    cli_interrupt_install();
    mlp_status st = cli_mpi_fit(&r->mpi, o->deterministic, &r->net, r->task, &r->data.train,
                                r->data.n_classes_or_targets, &r->fit, &r->result);
    cli_interrupt_restore();
    cli_progress_finish(&prog);
    r->fit.callback = NULL; /* prog goes out of scope */
    r->fit.user = NULL;
    if ((st == MLP_OK || st == MLP_ERR_DIVERGED) && r->fit.batch_size > res->batch_size)
        cli_warn("--batch-size %zu is more than the %zu rows trained on: each batch was all %zu",
                 r->fit.batch_size, res->n_train, res->batch_size);
    if (st == MLP_OK) return 0;
    if (!root) return CLI_EXIT_RUNTIME;
    if (st != MLP_ERR_DIVERGED) return cli_lib_error(st, "training failed");
    int rc = cli_lib_error(st, "epoch %zu", res->epochs + 1);
    fprintf(stderr, "mlp: hint: try a lower --lr%s\n",
            r->scale == MLP_SCALE_NONE ? ", or --scale standard" : "");
    return rc;
}

/* Rank 0 scores the test set (NaN without one); every rank agrees on the outcome. */
static int score_test(train_run *r) {
    int rc = 0;
    r->score = NAN;
    const mlp_dataset *te = &r->data.test;
    if (te->n && r->mpi.rank == 0) {
        mlp_status st =
            r->task == MLP_TASK_CLASSIFY
                ? mlp_score_accuracy(r->net, te->X, te->labels, te->n, &r->score)
            : r->task == MLP_TASK_MULTILABEL
                ? mlp_score_subset_accuracy(r->net, te->X, te->targets, te->n, &r->score)
                : mlp_score_r2(r->net, te->X, te->targets, te->n, &r->score);
        if (st != MLP_OK) rc = cli_lib_error(st, "cannot score the test set");
    }
    return cli_mpi_agree(&r->mpi, rc);
}

/* --out: the net with its scaler and (classification) classes; rank 0 writes. */
static int save_model(const train_run *r) {
    const char *out = r->opt->common.out;
    if (!out) return 0;
    mlp_status st =
        cli_mpi_save(&r->mpi, out, r->net, r->scale != MLP_SCALE_NONE ? &r->data.scaler : NULL,
                     r->task == MLP_TASK_CLASSIFY ? &r->data.train.classes : NULL);
    if (st != MLP_OK) return cli_lib_error(st, "cannot save the model to '%s'", out);
    return 0;
}

static int run_train(train_run *r) {
    const train_options *o = r->opt;
    int rc = set_up_threads(r);
    if (rc) return rc;
    /* Every rank loads the model and the data; if any fails, all stop (the failing ones said
     * why). */
    rc = cli_mpi_agree(&r->mpi, load_inputs(r));
    if (rc == 0) rc = plan_training(r);
    if (rc == 0 && !o->quiet && r->mpi.rank == 0) train_announce(r);
    if (rc == 0) rc = train(r);
    if (rc == 0) rc = score_test(r);
    if (rc == 0) rc = save_model(r);
    /* Rank 0 alone, after the last collective step. */
    if (rc == 0 && r->mpi.rank == 0 && o->history) rc = cli_history_write(&r->history, o->history);
    if (rc == 0 && r->mpi.rank == 0) rc = train_report(r);
    return rc;
}

/* A run of o: the plan starts from the options as given. */
static void run_init(train_run *r, const train_options *o) {
    memset(r, 0, sizeof *r);
    r->opt = o;
    r->fit = o->fit;
    r->scale = o->scale;
    r->score = NAN;
    r->task = o->common.data.regression   ? MLP_TASK_REGRESS
              : o->common.data.multilabel ? MLP_TASK_MULTILABEL
                                          : MLP_TASK_CLASSIFY;
}

static void run_free(train_run *r) {
    mlp_fit_result_free(&r->result);
    cli_history_free(&r->history);
    mlp_net_free(r->net);
    train_data_free(&r->data);
    mlp_classes_free(&r->model_classes);
    free(r->hidden);
}

int cli_train(int argc, char **argv) {
    train_options o;
    /* Under an MPI launcher only rank 0 reports usage errors and help (mpi.c). */
    if (cli_mpi_available()) cli_mpi_early_rank();
    int rc = train_parse(argc, argv, &o);
    if (rc == -1) {
        rc = cli_rank == 0 ? cli_finish_output(stdout, "stdout") : CLI_EXIT_OK; /* --help */
    } else if (rc > 0 && cli_rank > 0) {
        /* A usage error, found before MPI starts: rank 0 has the same arguments, says it and
         * exits with its status. Another rank failing first would make the launcher kill rank 0
         * before it printed anything, so the others leave quietly. */
        rc = CLI_EXIT_OK;
    } else if (rc == 0) {
        train_run run;
        run_init(&run, &o);
        rc = cli_mpi_init(&run.mpi, o.deterministic);
        if (rc == 0) rc = run_train(&run);
        cli_mpi_finalize(&run.mpi);
        run_free(&run);
    }
    train_options_free(&o);
    return rc;
}
