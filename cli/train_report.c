/* mlp train's report: the "Training ..." line before training (stderr) and the result after it
 * (stdout), as human-readable lines or one JSON object (keys in docs/CLI.md). Everything comes from
 * the run: the layers and the scaler trained (an --init-model's included), not the options. */
#include "train.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "64-100-10": the layer widths. */
static void arch_string(char *buf, size_t cap, size_t d, const mlp_fit_options *o, size_t out) {
    size_t len = (size_t)snprintf(buf, cap, "%zu", d);
    for (size_t i = 0; i < o->n_hidden && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "-%zu", o->hidden[i]);
    if (len < cap) snprintf(buf + len, cap - len, "-%zu", out);
}

/* "relu" or "relu,tanh": the hidden activations, the net's (an --init-model's, or trained) or
 * else the options'. */
static void activations_string(char *buf, size_t cap, const train_run *r) {
    const size_t H = r->net ? mlp_net_n_layers(r->net) - 1 : r->fit.n_hidden;
    size_t len = 0;
    buf[0] = '\0';
    for (size_t l = 0; l < H && len < cap; l++) {
        mlp_activation a = r->fit.activations ? r->fit.activations[l] : r->fit.activation;
        if (r->net) (void)mlp_net_layer_shape(r->net, l, NULL, NULL, &a);
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", l ? "," : "", cli_activation_name(a));
    }
    if (H == 0) snprintf(buf, cap, "%s", cli_activation_name(r->fit.activation));
}

/* The loss of a regressor ("squared", "poisson", "huber"), for the report. */
static const char *regression_loss(const train_run *r) {
    const mlp_loss l = r->net ? mlp_net_loss(r->net) : r->fit.loss;
    return l == MLP_LOSS_POISSON ? "poisson" : l == MLP_LOSS_HUBER ? "huber" : "squared";
}

/* The "Training ..." line on stderr. */
void train_announce(const train_run *r) {
    const train_data *t = &r->data;
    const mlp_task task = r->task;
    char arch[256], par[64] = "", acts[256];
    activations_string(acts, sizeof acts, r);
    const size_t count = t->n_classes_or_targets;
    arch_string(arch, sizeof arch, t->train.d, &r->fit, r->out_width);
    if (r->mpi.active)
        snprintf(par, sizeof par, "%d MPI ranks%s x ", r->mpi.size,
                 r->opt->deterministic ? " (deterministic)" : "");
    fprintf(stderr,
            "Training %s (%s, %s) on %s: %zu samples, %zu features, %zu %s; test set %zu "
            "samples; %s%d threads, OpenBLAS %s\n",
            arch, acts, cli_solver_name(r->fit.opt.kind), t->train_label, t->train.n, t->train.d,
            count,
            task == MLP_TASK_CLASSIFY     ? "classes"
            : task == MLP_TASK_MULTILABEL ? "0/1 labels"
            : count == 1                  ? "target"
                                          : "targets",
            t->test.n, par, mlp_get_num_threads(), mlp_blas_corename());
}

static const char *stop_reason(const mlp_fit_result *r) {
    return r->stopped_by_callback ? "interrupted" : r->converged ? "converged" : "max_iter";
}

/* The result: scores, losses, stopping. */
static void json_result(cli_json *j, const train_run *r) {
    const mlp_fit_result *res = &r->result;
    cli_json_double(j, r->task == MLP_TASK_REGRESS ? "r2" : "accuracy", r->score);
    cli_json_float(j, "loss", res->loss);
    cli_json_u64(j, "epochs", res->epochs);
    cli_json_bool(j, "converged", res->converged);
    cli_json_str(j, "stopped", stop_reason(res));
    cli_json_double(j, "seconds", res->seconds);
    cli_json_double(j, "samples_per_s", res->samples_per_s);
    cli_json_u64(j, "threads", (uint64_t)mlp_get_num_threads());
    cli_json_u64(j, "step_threads", (uint64_t)mlp_net_step_threads(r->net, res->batch_size));
    cli_json_u64(j, "step_shards", (uint64_t)mlp_net_step_shards(r->net, res->batch_size));
    cli_json_u64(j, "step_input_parts",
                 (uint64_t)mlp_net_step_input_parts(r->net, res->batch_size));
    uint64_t team = 0, steps = 0;
    mlp_net_team_use(r->net, &team, &steps);
    cli_json_u64(j, "team_steps", team);
    cli_json_u64(j, "team_steps_of", steps);
    cli_json_str(j, "blas_core", mlp_blas_corename());
    cli_json_bool(j, "blas_openmp", mlp_blas_is_openmp());
    cli_json_str(j, "precision", mlp_precision_name(mlp_net_precision(r->net)));
    cli_json_str(j, "precision_requested", mlp_precision_name(r->fit.precision));
    cli_json_str(j, "bf16_isa", mlp_precision_isa());
}

/* The data and the network. */
static void json_model(cli_json *j, const train_run *r) {
    const train_data *t = &r->data;
    cli_json_str(j, "task",
                 r->task == MLP_TASK_REGRESS      ? "regression"
                 : r->task == MLP_TASK_MULTILABEL ? "multilabel"
                                                  : "classification");
    cli_json_u64(j, "n_train", t->train.n);
    cli_json_u64(j, "n_test", t->test.n);
    cli_json_u64(j, "n_features", t->train.d);
    cli_json_u64(j, "n_outputs", r->out_width);
    if (r->task == MLP_TASK_CLASSIFY) {
        cli_json_u64(j, "n_classes", t->n_classes_or_targets);
        cli_json_classes(j, "classes", &t->train.classes);
    }
    cli_json_sizes(j, "hidden", r->fit.hidden, r->fit.n_hidden);
    char acts[256];
    activations_string(acts, sizeof acts, r);
    cli_json_str(j, "activation", acts);
    if (r->task == MLP_TASK_REGRESS) {
        cli_json_str(j, "loss_function", regression_loss(r));
        if (mlp_net_loss(r->net) == MLP_LOSS_HUBER)
            cli_json_float(j, "huber_delta", mlp_net_huber_delta(r->net));
    }
    if (r->opt->class_weight) cli_json_str(j, "class_weight", r->opt->class_weight);
    if (r->data.val.n) cli_json_str(j, "validation_data", r->opt->validation_data);
}

/* The training options, early stopping's validation, the files. */
static void json_training(cli_json *j, const train_run *r) {
    const train_options *o = r->opt;
    const mlp_fit_options *f = &r->fit;
    const mlp_fit_result *res = &r->result;
    cli_json_str(j, "solver", cli_solver_name(f->opt.kind));
    if (f->opt.kind == MLP_OPT_LBFGS) {
        cli_json_u64(j, "max_fun", f->max_fun);
        cli_json_u64(j, "loss_evaluations", res->steps);
    }
    cli_json_float(j, "lr", f->opt.lr);
    cli_json_float(j, "alpha", f->opt.alpha);
    cli_json_u64(j, "batch_size", res->batch_size);
    cli_json_u64(j, "max_iter", f->max_iter);
    cli_json_u64(j, "seed", f->seed);
    cli_json_str(j, "scale", cli_scale_name(r->scale));
    if (res->n_val) {
        cli_json_u64(j, "n_val", res->n_val);
        cli_json_str(j, "early_stopping_metric",
                     f->early_stopping_metric == MLP_STOP_LOSS ? "loss" : "score");
        cli_json_float(j, "best_val_score", res->best_val_score);
        cli_json_float(j, "best_val_loss", res->best_val_loss);
        cli_json_floats(j, "val_losses", res->val_losses, res->epochs);
    }
    if (o->sample_weight) cli_json_str(j, "sample_weight", o->sample_weight);
    if (o->common.data.weight_name)
        cli_json_str(j, "weight_column", o->common.data.weight_name);
    else if (train_weighted_column(o))
        cli_json_double(j, "weight_column", (double)o->common.data.weight_column);
    if (o->history) cli_json_str(j, "history", o->history);
    cli_json_str(j, "model", o->common.out);
    if (o->init_model) cli_json_str(j, "init_model", o->init_model);
    if (r->mpi.active) {
        cli_json_u64(j, "ranks", (uint64_t)r->mpi.size);
        cli_json_bool(j, "deterministic", o->deterministic);
    }
}

static void print_json(const train_run *r) {
    cli_json j;
    cli_json_begin(&j, stdout);
    json_result(&j, r);
    json_model(&j, r);
    json_training(&j, r);
    cli_json_str(&j, "version", mlp_version());
    cli_json_end(&j);
}

/* How many steps ran on the team, the rest on one thread because it measured faster. */
static void print_team_use(const train_run *r, int team) {
    uint64_t on_team = 0, steps = 0;
    mlp_net_team_use(r->net, &on_team, &steps);
    if (team <= 1 || steps == 0) return;
    printf("Team:           %" PRIu64 " of %" PRIu64 " steps on %d threads (%.0f%%), the rest on "
           "one: each choice timed, the faster kept\n",
           on_team, steps, team, 100.0 * (double)on_team / (double)steps);
}

/* The thread setting, and what a step of this net used of it when that was less. */
static void print_threads(const train_run *r) {
    const int set = mlp_get_num_threads();
    const int used = mlp_net_step_threads(r->net, r->result.batch_size);
    if (r->mpi.active) {
        printf("Threads:        %d per rank x %d MPI ranks%s (OpenBLAS core %s)\n", set,
               r->mpi.size, r->opt->deterministic ? ", deterministic" : "", mlp_blas_corename());
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
    if (r->mpi.active) return;
    print_team_use(r, used);
    const size_t shards = mlp_net_step_shards(r->net, r->result.batch_size);
    const size_t parts = mlp_net_step_input_parts(r->net, r->result.batch_size);
    if (shards > 1)
        printf("Step split:     %zu shards of rows, each through every layer on one thread\n",
               shards);
    else if (parts > 1)
        printf("Step split:     each layer's GEMMs in tiles shared by the threads; the first "
               "layer's forward in %zu parts along its inputs\n",
               parts);
    else
        printf("Step split:     each layer's GEMMs in tiles shared by the threads\n");
}

/* Which precision ran, on what, and why when auto fell back to f32. */
static void print_precision(const train_run *r) {
    const mlp_precision ran = mlp_net_precision(r->net);
    if (ran == MLP_PRECISION_BF16)
        printf("Precision:      bf16 GEMMs, f32 accumulation and weights (oneDNN %s)\n",
               mlp_precision_isa());
    else if (r->fit.precision == MLP_PRECISION_AUTO)
        printf("Precision:      f32 (auto: %s)\n", mlp_precision_isa());
    else
        printf("Precision:      f32\n");
}

/* The epochs (lbfgs: iterations) and why training stopped. */
static void print_epochs(const mlp_fit_options *f, const mlp_fit_result *r) {
    if (f->opt.kind == MLP_OPT_LBFGS) {
        printf("Iterations:     %zu, %zu loss evaluations (lbfgs", r->epochs, r->steps);
        if (r->stopped_by_callback)
            printf("; interrupted)\n");
        else if (r->converged)
            printf("; converged)\n");
        else if (r->steps >= f->max_fun)
            printf("; hit max_fun=%zu without converging)\n", f->max_fun);
        else
            printf("; hit max_iter=%zu without converging)\n", f->max_iter);
        return;
    }
    printf("Epochs:         %zu", r->epochs);
    if (r->stopped_by_callback)
        printf(" (interrupted)\n");
    else if (r->converged)
        printf(" (converged: %s did not improve by tol=%g for %zu epochs)\n",
               !r->n_val                                   ? "training loss"
               : f->early_stopping_metric == MLP_STOP_LOSS ? "validation loss"
                                                           : "validation score",
               (double)f->tol, f->n_iter_no_change);
    else
        printf(" (hit max_iter=%zu without converging)\n", f->max_iter);
}

static void print_human(const train_run *run) {
    const train_options *o = run->opt;
    const mlp_fit_result *r = &run->result;
    const int regression = run->task == MLP_TASK_REGRESS;
    const double score = run->score;
    size_t n_test = run->data.test.n;
    char rate[32];
    if (!n_test)
        printf("Test %s:  n/a (no test set)\n", regression ? "R^2" : "accuracy");
    else if (regression)
        printf("Test R^2:       %.6f (%zu samples)\n", score, n_test);
    else
        printf("Test accuracy:  %.2f%% (%lld/%zu)\n", 100.0 * score,
               (long long)llround(score * (double)n_test), n_test);
    if (r->n_val && run->fit.early_stopping_metric == MLP_STOP_LOSS)
        printf("Validation:     lowest loss %.6g (score %.4f) on %zu held-out rows (early "
               "stopping on the loss, those weights kept)\n",
               (double)r->best_val_loss, (double)r->best_val_score, r->n_val);
    else if (r->n_val)
        printf("Validation:     best score %.4f (lowest loss %.6g) on %zu held-out rows (early "
               "stopping, best weights kept)\n",
               (double)r->best_val_score, (double)r->best_val_loss, r->n_val);
    print_epochs(&run->fit, r);
    printf("Final loss:     %.6g\n", (double)r->loss);
    cli_format_rate(rate, sizeof rate, r->samples_per_s);
    printf("Training time:  %.3f s (%s samples/s)\n", r->seconds, rate);
    print_threads(run);
    print_precision(run);
    if (o->init_model) printf("Started from:   %s\n", o->init_model);
    if (o->common.out) printf("Model saved:    %s\n", o->common.out);
}

int train_report(const train_run *r) {
    if (r->opt->common.json)
        print_json(r);
    else
        print_human(r);
    return cli_finish_output(stdout, "stdout");
}
