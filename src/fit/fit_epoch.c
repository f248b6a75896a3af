/* fit's epoch loop: each epoch shuffles the training rows, passes them in minibatches through the
 * batch step (mlp_train_step for mlp_fit, a data-parallel step of the caller's), rolls back on
 * divergence, then applies scikit-learn's stopping rule (_update_no_improvement_count), the SGD
 * learning-rate schedules and the callback. With early stopping, the validation rows' score and
 * data loss are computed from one prediction every epoch, and either one can be the stopping
 * metric. Nothing is allocated here except the result's curves. */
#define _POSIX_C_SOURCE 200809L
#include "fit/fit_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

void mlp_fit_shuffle(size_t *a, size_t n, mlp_rng *rng) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mlp_rng_below(rng, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

mlp_status mlp_fit_grow_curves(mlp_fit_result *r, size_t epoch, size_t *cap, bool with_val) {
    if (epoch < *cap) return MLP_OK;
    size_t ncap = *cap ? 2 * *cap : 256, bytes;
    if (ncap < *cap || !mlp_mul_ok(ncap, sizeof(float), &bytes))
        return mlp_fail(MLP_ERR_OVERFLOW, "mlp_fit: %zu epochs overflow the loss curve", epoch);
    mlp_status st = mlp_check_alloc(bytes, "mlp_fit: the loss curve");
    if (st != MLP_OK) return st;
    float *lc = realloc(r->loss_curve, bytes);
    if (!lc) return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: out of memory for the loss curve");
    r->loss_curve = lc;
    if (with_val) {
        float *vs = realloc(r->val_scores, bytes);
        if (!vs) return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: out of memory for the score curve");
        r->val_scores = vs;
        float *vl = realloc(r->val_losses, bytes);
        if (!vl) return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: out of memory for the val loss curve");
        r->val_losses = vl;
    }
    *cap = ncap;
    return MLP_OK;
}

/* Back to the latest state that gave a finite loss on a batch; returns MLP_ERR_DIVERGED.
 * bad_batch: the 0-based batch whose loss was not finite, SIZE_MAX if the epoch's loss or weights
 * were. */
static mlp_status roll_back(mlp_fit_state *s, mlp_net *net, size_t epoch, size_t bad_batch,
                            mlp_fit_result *r) {
    const int cur = (int)(epoch & 1);
    const int back = bad_batch == 0 && epoch > 1 ? cur ^ 1 : cur;
    mlp_net_restore_state(net, s->snap[back], s->snap_step[back]);
    const size_t kept = back == cur ? epoch - 1 : epoch - 2;
    r->epochs = epoch - 1;
    return mlp_fail(MLP_ERR_DIVERGED,
                    "mlp_fit: training diverged at epoch %zu, batch %zu (non-finite loss or "
                    "weights); the net holds the weights after epoch %zu. Lower the learning rate.",
                    epoch, bad_batch == SIZE_MAX ? 0 : bad_batch + 1, kept);
}

/* wb = the weights of the given rows; returns their sum (in row order). */
static double gather_weights(float *wb, const float *w, const size_t *rows, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += (double)(wb[i] = w[rows[i]]);
    return sum;
}

/* options.interrupt is set: stop before the next minibatch. */
static bool interrupt_requested(const mlp_fit_options *o) {
    return o->interrupt && *o->interrupt;
}

/* One pass over the training rows in minibatches; *epoch_loss: the mean of the batch losses
 * weighted by batch size (or by the batches' weight sums). An interrupt ends the pass before the
 * next minibatch (r->interrupted; *epoch_loss is then partial and unused). */
static mlp_status run_epoch(mlp_fit_state *s, mlp_net *net, const mlp_fit_data *in,
                            const mlp_fit_options *o, mlp_batch_step_fn step, void *step_ctx,
                            size_t epoch, mlp_fit_result *r, float *epoch_loss) {
    const int cur = (int)(epoch & 1);
    mlp_net_save_state(net, s->snap[cur], &s->snap_step[cur]);
    double t0 = now_s(), sum = 0.0;
    size_t bad_batch = SIZE_MAX;
    if (o->shuffle) mlp_fit_shuffle(s->order, s->n_train, &s->rng);
    size_t b0 = 0;
    for (; b0 < s->n_train; b0 += s->batch) {
        if (interrupt_requested(o)) {
            r->interrupted = 1;
            break;
        }
        const size_t nb = s->n_train - b0 < s->batch ? s->n_train - b0 : s->batch;
        const double wsum = s->sw ? gather_weights(s->swb, s->sw, s->order + b0, nb) : (double)nb;
        if (wsum == 0.0) continue; /* all its rows weigh 0: the same as not having them */
        const mlp_batch bt = {.X = in->X,
                              .T = s->T,
                              .rows = s->order + b0,
                              .n = nb,
                              .d = in->d,
                              .k = s->out_width,
                              .Xb = s->Xb,
                              .Yb = s->Yb,
                              .w = s->sw ? s->swb : NULL};
        float loss;
        mlp_status st = step(step_ctx, net, &bt, &loss);
        if (st != MLP_OK) return st;
        r->steps++;
        if (!isfinite(loss)) {
            bad_batch = b0 / s->batch;
            break;
        }
        sum += (double)loss * wsum;
    }
    s->train_time += now_s() - t0;
    *epoch_loss = (float)(sum / s->sw_train);
    /* The batches run before an interrupt had finite losses, but the last update's weights are
     * checked as at the end of an epoch. */
    if (bad_batch != SIZE_MAX || (!r->interrupted && !isfinite(*epoch_loss)) ||
        !mlp_net_params_finite(net))
        return roll_back(s, net, epoch, bad_batch, r);
    s->samples_seen += b0 < s->n_train ? b0 : s->n_train;
    return MLP_OK;
}

/* Interrupted in epoch `epoch` (not counted: as scikit-learn, a partial epoch has no loss curve
 * entry): the net keeps the weights reached. With early stopping, fit_finish restores the best
 * validation weights; interrupted before the first validation there are none: the weights reached
 * are kept, with a NaN score. Without any finished epoch the losses are NaN. */
static mlp_status end_interrupted(mlp_fit_state *s, mlp_net *net, size_t epoch, mlp_fit_result *r) {
    if (epoch == 1) r->loss = r->best_loss = NAN;
    if (!s->n_val || epoch > 1) return MLP_OK;
    s->best_val = NAN;
    return mlp_net_get_params(net, s->best, s->n_params);
}

/* The validation rows' data loss (no L2 term) from their predictions in val_out: the mean row
 * loss, weighted by the rows' sample weights when there are any. */
static double val_loss(mlp_fit_state *s, mlp_loss loss) {
    const size_t n = s->n_val, k = s->out_width;
    mlp_loss_rows(s->val_out, s->Yv, s->swv, n, k, loss, s->huber_delta, s->val_rowloss);
    return mlp_loss_total(s->val_rowloss, n, k, loss, s->sw_val);
}

/* Accuracy (CLASSIFY, MULTILABEL) or R^2 (REGRESS) and the data loss on the validation rows, both
 * weighted with sample weights, from one prediction. The workspace was reserved for them
 * (fit_setup), so this does not allocate; a failure is still passed on rather than scoring an
 * unwritten buffer. */
static mlp_status validate(mlp_fit_state *s, mlp_net *net, mlp_task task, double *score,
                           double *loss) {
    mlp_status st = mlp_predict(net, s->Xv, s->n_val, s->val_out);
    if (st != MLP_OK) return st;
    if (task == MLP_TASK_REGRESS)
        *score = mlp_r2_of(s->val_out, s->Yv, s->swv, s->n_val, s->out_width);
    else
        *score = mlp_accuracy_of(s->val_out, s->n_val, s->out_width,
                                 task == MLP_TASK_CLASSIFY ? s->lv : NULL, s->Yv, s->swv);
    *loss = val_loss(s, mlp_net_loss(net));
    return MLP_OK;
}

/* The net's learning rate becomes lr (clamped to the smallest normal float: invscaling can
 * underflow to 0, which no optimizer accepts). */
static mlp_status set_lr(mlp_fit_state *s, mlp_net *net, float lr) {
    s->lr = lr < FLT_MIN ? FLT_MIN : lr;
    mlp_optimizer opt;
    mlp_status st = mlp_net_get_optimizer(net, &opt);
    opt.lr = s->lr;
    if (st == MLP_OK) st = mlp_net_set_optimizer(net, &opt);
    return st;
}

/* Scores the validation rows into the curves and counts epochs without improvement of the
 * early-stopping metric, keeping the best weights: the score must rise by tol (scikit-learn's
 * rule) or the loss fall by tol. A NaN never improves. s->best_val is the score of the kept
 * weights (with the LOSS metric not always the highest score), s->best_val_loss the lowest loss. */
static mlp_status record_validation(mlp_fit_state *s, mlp_net *net, const mlp_fit_data *in,
                                    const mlp_fit_options *o, size_t epoch, mlp_fit_result *r,
                                    double *score, double *loss) {
    mlp_status st = validate(s, net, in->task, score, loss);
    if (st != MLP_OK) return st;
    r->val_scores[epoch - 1] = (float)*score;
    r->val_losses[epoch - 1] = (float)*loss;
    bool improved, better;
    if (o->early_stopping_metric == MLP_STOP_LOSS) {
        improved = *loss <= s->best_val_loss - o->tol;
        better = *loss < s->best_val_loss;
    } else {
        improved = *score >= s->best_val + o->tol;
        better = *score > s->best_val;
    }
    /* Epoch 1's weights are kept whatever its values, so that the restored weights are always
     * ones the loop saw (a NaN score, from validation weights summing to 0, is never better). */
    better = better || epoch == 1;
    s->no_improve = improved ? 0 : s->no_improve + 1;
    if (*loss < s->best_val_loss) s->best_val_loss = *loss;
    r->best_val_loss = (float)s->best_val_loss;
    if (!better) return MLP_OK;
    s->best_val = *score;
    return mlp_net_get_params(net, s->best, s->n_params);
}

/* Records the epoch and, with early stopping, its validation (score and loss, else NaN); counts
 * epochs without improvement: of the validation metric with early stopping, else of the training
 * loss. */
static mlp_status record_epoch(mlp_fit_state *s, mlp_net *net, const mlp_fit_data *in,
                               const mlp_fit_options *o, size_t epoch, float loss,
                               mlp_fit_result *r, double *score, double *vloss) {
    r->epochs = epoch;
    r->loss = loss;
    r->loss_curve[epoch - 1] = loss;
    mlp_status st = MLP_OK;
    *score = *vloss = NAN;
    if (s->n_val)
        st = record_validation(s, net, in, o, epoch, r, score, vloss);
    else
        s->no_improve = loss > s->best_loss - o->tol ? s->no_improve + 1 : 0;
    if (loss < s->best_loss) s->best_loss = loss;
    r->best_loss = (float)s->best_loss;
    return st;
}

/* After a finished epoch: record it, then the schedules, the callback and the stopping rule.
 * *stop: training ends after this epoch. */
static mlp_status end_epoch(mlp_fit_state *s, mlp_net *net, const mlp_fit_data *in,
                            const mlp_fit_options *o, size_t epoch, float loss, mlp_fit_result *r,
                            bool *stop) {
    double score, vloss;
    const float lr = s->lr; /* the schedules below change it for the next epoch */
    mlp_status st = record_epoch(s, net, in, o, epoch, loss, r, &score, &vloss);
    const bool sgd = o->opt.kind == MLP_OPT_SGD;
    if (st == MLP_OK && sgd && o->schedule == MLP_LR_INVSCALING)
        st = set_lr(s, net, (float)(o->opt.lr / pow((double)s->samples_seen + 1.0, o->power_t)));
    if (st != MLP_OK) return st;
    if (o->callback) {
        const mlp_epoch_info info = {.epoch = epoch,
                                     .loss = loss,
                                     .val_score = (float)score,
                                     .seconds = s->train_time,
                                     .samples_per_s = mlp_fit_rate(s->samples_seen, s->train_time),
                                     .val_loss = (float)vloss,
                                     .lr = lr};
        if (o->callback(&info, o->user)) {
            r->stopped_by_callback = 1;
            *stop = true;
            return MLP_OK;
        }
    }
    if (s->no_improve <= o->n_iter_no_change) return MLP_OK;
    if (sgd && o->schedule == MLP_LR_ADAPTIVE && s->lr > 1e-6f) {
        s->no_improve = 0;
        return set_lr(s, net, s->lr / 5.0f);
    }
    r->converged = 1;
    *stop = true;
    return MLP_OK;
}

mlp_status mlp_fit_loop(mlp_fit_state *s, mlp_net *net, const mlp_fit_data *in,
                        const mlp_fit_options *o, mlp_batch_step_fn step, void *step_ctx,
                        mlp_fit_result *r) {
    for (size_t epoch = 1; epoch <= o->max_iter; epoch++) {
        float loss = 0.0f;
        bool stop = false;
        mlp_status st = mlp_fit_grow_curves(r, epoch - 1, &s->curve_cap, s->n_val > 0);
        if (st == MLP_OK) st = run_epoch(s, net, in, o, step, step_ctx, epoch, r, &loss);
        if (st == MLP_OK && r->interrupted) return end_interrupted(s, net, epoch, r);
        if (st == MLP_OK) st = end_epoch(s, net, in, o, epoch, loss, r, &stop);
        if (st != MLP_OK || stop) return st;
    }
    return MLP_OK;
}
