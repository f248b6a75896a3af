/* The step API: forward, backward (loss and gradients), update, the whole step, the loss alone.
 * Each call checks its arguments, then runs the phases of pass.c in ONE parallel region (or on
 * the calling thread when threads do not pay, mlp_pass_threads): a training step is one
 * fork/join. This file owns the pending-pass state (net->pass): only it writes it.
 * All buffers come from the workspace; nothing is allocated once it holds n rows. */
#include "core/core.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* BLAS dimensions are int: every matrix side must fit. */
mlp_status mlp_check_int_dims(const mlp_net *net, size_t n, const char *fn) {
    if (n > (size_t)INT32_MAX)
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: batch of %zu rows exceeds BLAS's int range", fn, n);
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].in > (size_t)INT32_MAX || net->layers[l].out > (size_t)INT32_MAX)
            return mlp_fail(MLP_ERR_OVERFLOW, "%s: layer %zu is wider than BLAS's int range", fn,
                            l);
    return MLP_OK;
}

void mlp_pass_reset(mlp_net *net) {
    net->pass.x = NULL;
    net->pass.n = 0;
    net->pass.have_grads = false;
}

/* What one call runs inside its region; NULL parts are skipped. */
typedef struct step_work {
    const float *X; /* forward: the input (pass.n rows) */
    bool training;  /* forward: apply dropout */
    const float *Y; /* backward: the targets */
    const float *w; /* backward: the sample weights, or NULL */
    float inv_n, alpha_n;
    bool check_grads; /* scan the gradients first (they may come from the caller) */
    bool update;      /* apply the optimizer, unless a non-finite value was met before it */
    float lr_t;
} step_work;

/* Run by every thread of the region (or the caller alone). Every phase ends with a barrier, so
 * all threads see the same MLP_NONFINITE_GRAD bit when they decide whether to update. */
static void run_phases(mlp_net *net, const step_work *w, size_t n) {
    unsigned fp = mlp_fp_begin();
    if (w->X) mlp_pass_forward(net, w->X, n, w->training);
    if (w->Y) mlp_pass_backward(net, w->Y, w->w, w->inv_n, w->alpha_n);
    if (w->check_grads) mlp_pass_check_grads(net);
    if (w->update && !mlp_pass_flagged(net, MLP_NONFINITE_GRAD)) mlp_pass_update(net, w->lr_t);
    mlp_fp_end(fp);
}

/* Runs the phases on T threads, OpenBLAS serial in every tile. */
static void run_team(mlp_net *net, const step_work *w, size_t n, int T) {
    if (T > 1) {
#pragma omp parallel num_threads(T)
        run_phases(net, w, n);
    } else {
        int saved = mlp_blas_serial_begin();
        run_phases(net, w, n);
        mlp_blas_serial_end(saved);
    }
}

/* A whole training step runs on its team or on one thread, whichever measures faster (tune.c);
 * the separate calls on the threads the pass pays for. */
static void run_rows(mlp_net *net, const step_work *w, size_t n) {
    if (!(w->X && w->Y && w->update)) {
        run_team(net, w, n, mlp_pass_threads(net, n));
        return;
    }
    run_team(net, w, n, mlp_tune_team(&net->tune, mlp_step_team(net, n), n, omp_get_wtime()));
}

static void run(mlp_net *net, const step_work *w) {
    net->pass.nonfinite = 0;
    /* Forward and backward in one region, every layer after the input cut run by rows: the row
     * blocks make the output chunks too, one phase and barrier fewer. Two parts only: a third
     * one fills delta[0], where the output chunks write (pass.c). */
    const bool fuse = w->X && w->Y && net->pass.kparts == 2 && net->pass.ktail == net->n_layers;
    net->pass.y = fuse ? w->Y : NULL;
    net->pass.y_w = fuse ? w->w : NULL;
    run_rows(net, w, net->pass.n);
    /* bf16: a forward pass rounds stale parameters into w16 before using it, and an update
     * writes w16 beside the parameters; either way they now agree. */
    if (net->prec == MLP_PRECISION_BF16 && (w->X || w->update)) net->w16_fresh = true;
}

static bool has_dropout(const mlp_net *net) {
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].dropout > 0.0f) return true;
    return false;
}

static mlp_status begin_forward(mlp_net *net, const float *X, size_t n, bool training,
                                const char *fn) {
    mlp_status st = mlp_check_batch(net, X, n, fn);
    if (st == MLP_OK) st = mlp_check_int_dims(net, n, fn);
    if (st == MLP_OK) st = mlp_net_grow_workspace(net, n);
    /* oneDNN (bf16, or f32 where OpenBLAS fell back to SSE): the primitives of this batch size,
     * created here (once per shape), never inside the region. */
    if (st == MLP_OK && net->prec == MLP_PRECISION_F32 && !net->dnnl && mlp_dnnl_f32_wanted())
        st = mlp_dnnl_create(&net->dnnl); /* f32 through oneDNN: OpenBLAS fell back to SSE */
    if (st == MLP_OK && net->dnnl) st = mlp_pass_prepare(net, n);
    const size_t shards = st == MLP_OK ? mlp_pass_shards(net, n) : 1;
    if (st == MLP_OK && shards > 1) st = mlp_split_reserve(net, shards);
    if (st != MLP_OK) return st;
    net->pass.shards = shards;
    net->pass.kparts = mlp_pass_kparts(net, n);
    net->pass.ktail =
        net->pass.kparts > 1 ? mlp_kpart_tail(net, n, (size_t)mlp_parallel_width()) : 1;
    net->pass.x = X;
    net->pass.n = n;
    net->pass.have_grads = false;
    net->pass.dropout = training && has_dropout(net);
    return MLP_OK;
}

/* The training forward pass (dropout on); mlp_loss_value runs it without. */
static mlp_status forward(mlp_net *net, const float *X, size_t n, bool training, const char *fn) {
    mlp_status st = begin_forward(net, X, n, training, fn);
    if (st != MLP_OK) return st;
    step_work w = {.X = X, .training = training};
    run(net, &w);
    return MLP_OK;
}

mlp_status mlp_forward(mlp_net *net, const float *X, size_t n) {
    return forward(net, X, n, true, "mlp_forward");
}

const float *mlp_forward_output(const mlp_net *net) {
    if (!net || !net->pass.x) return NULL;
    return net->out[net->n_layers - 1];
}

/* The loss of the pending pass from its row losses and L2 chunks (the one definition); norm is
 * the row count, or the sum of the sample weights. */
static double pass_loss(const mlp_net *net, bool with_l2, double norm) {
    const mlp_layer *out = &net->layers[net->n_layers - 1];
    double data = mlp_loss_total(net->row_loss, net->pass.n, out->out, net->loss, norm);
    return with_l2 ? mlp_regularised_loss(net, data, norm) : data;
}

double mlp_regularised_loss(const mlp_net *net, double data, double norm) {
    return data + 0.5 * (double)net->opt.alpha * mlp_l2_sumsq(net) / norm;
}

/* The normaliser of a weighted pass: the weights' sum (in row order), after checking that every
 * weight is finite and >= 0 and the sum is > 0; n without weights. */
static mlp_status weight_norm(const float *w, size_t n, const char *fn, double *norm) {
    *norm = (double)n;
    if (!w) return MLP_OK;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] >= 0.0f) || !isfinite(w[i]))
            return mlp_fail(MLP_ERR_ARG,
                            "%s: sample weight of row %zu is %g, must be finite and "
                            ">= 0",
                            fn, i, (double)w[i]);
        sum += w[i];
    }
    if (!(sum > 0.0)) return mlp_fail(MLP_ERR_ARG, "%s: the %zu sample weights sum to 0", fn, n);
    *norm = sum;
    return MLP_OK;
}

static mlp_status check_backward(const mlp_net *net, const float *Y, const char *fn) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    if (!Y) return mlp_fail(MLP_ERR_NULL, "%s: targets Y are NULL", fn);
    if (!net->pass.x)
        return mlp_fail(MLP_ERR_STATE,
                        "%s: no forward pass to differentiate (call mlp_forward first)", fn);
    return MLP_OK;
}

static step_work backward_work(const mlp_net *net, const float *Y, const float *sw, double norm,
                               bool with_l2) {
    const float inv_n = 1.0f / (float)norm;
    const float alpha = with_l2 ? net->opt.alpha : 0.0f;
    step_work w = {.Y = Y, .w = sw, .inv_n = inv_n, .alpha_n = alpha * inv_n};
    return w;
}

mlp_status mlp_backward_weighted(mlp_net *net, const float *Y, const float *sw, float *loss) {
    const char *fn = sw ? "mlp_backward_weighted" : "mlp_backward";
    mlp_status st = check_backward(net, Y, fn);
    double norm = 1.0;
    if (st == MLP_OK) st = weight_norm(sw, net->pass.n, fn, &norm);
    if (st != MLP_OK) return st;
    step_work w = backward_work(net, Y, sw, norm, true);
    run(net, &w);
    const double value = pass_loss(net, net->opt.alpha != 0.0f, norm);
    if (mlp_pass_flagged(net, MLP_NONFINITE_GRAD)) {
        net->pass.have_grads = false; /* mlp_update must not apply them */
        return mlp_nonfinite_status(net, net->pass.x, Y, net->pass.n, value, false, fn);
    }
    if (loss) *loss = (float)value;
    net->pass.have_grads = true;
    return MLP_OK;
}

mlp_status mlp_backward(mlp_net *net, const float *Y, float *loss) {
    return mlp_backward_weighted(net, Y, NULL, loss);
}

mlp_status mlp_backward_scaled(mlp_net *net, const float *Y, const float *sw, double norm,
                               bool with_l2, double *data_sum) {
    mlp_status st = check_backward(net, Y, "mlp_backward");
    if (st != MLP_OK) return st;
    step_work w = backward_work(net, Y, sw, norm, with_l2);
    run(net, &w);
    *data_sum = pass_loss(net, false, 1.0);
    net->pass.have_grads = true;
    return MLP_OK;
}

void mlp_finish_reduced_step(mlp_net *net, const float *sum, double data, size_t norm,
                             float *loss) {
    double value = data;
    if (net->opt.alpha == 0.0f) {
        if (sum != net->grads) memcpy(net->grads, sum, net->n_params * sizeof(float));
    } else {
        mlp_l2_grad(net, sum, norm);
        mlp_pass_l2(net);
        value = mlp_regularised_loss(net, data, (double)norm);
    }
    *loss = (float)value;
    step_work w = {.update = true, .lr_t = mlp_optim_begin(net)};
    run(net, &w);
    mlp_optim_commit(net);
    /* The activations were computed with the old parameters. */
    mlp_pass_reset(net);
}

/* After an update phase: counts the step, ends the pass, and reports an update that made values
 * non-finite from finite gradients. */
static mlp_status finish_update(mlp_net *net, const char *fn) {
    mlp_optim_commit(net);
    mlp_pass_reset(net);
    if (mlp_pass_flagged(net, MLP_NONFINITE_UPDATE))
        return mlp_nonfinite_status(net, NULL, NULL, 0, NAN, true, fn);
    return MLP_OK;
}

mlp_status mlp_update(mlp_net *net) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "mlp_update: net is NULL");
    if (!net->pass.have_grads)
        return mlp_fail(MLP_ERR_STATE, "mlp_update: no gradients (call mlp_backward first)");
    /* The gradients may have been rewritten by the caller since mlp_backward checked them. */
    step_work w = {.check_grads = true, .update = true, .lr_t = mlp_optim_begin(net)};
    run(net, &w);
    if (mlp_pass_flagged(net, MLP_NONFINITE_GRAD))
        return mlp_nonfinite_status(net, NULL, NULL, 0, NAN, false, "mlp_update");
    return finish_update(net, "mlp_update");
}

/* forward + backward + update in one region: the same phases as the three calls, so the same
 * bits, with one fork/join instead of three. */
mlp_status mlp_train_step_weighted(mlp_net *net, const float *X, const float *Y, const float *sw,
                                   size_t n, float *loss) {
    const char *fn = sw ? "mlp_train_step_weighted" : "mlp_train_step";
    if (net && !Y) return mlp_fail(MLP_ERR_NULL, "%s: targets Y are NULL", fn);
    double norm = (double)n;
    mlp_status st = net && X && n ? weight_norm(sw, n, fn, &norm) : MLP_OK;
    if (st == MLP_OK) st = begin_forward(net, X, n, true, fn);
    if (st != MLP_OK) return st;
    step_work w = backward_work(net, Y, sw, norm, true);
    w.X = X;
    w.training = true;
    w.update = true;
    /* The loss needs the pre-update weights' L2 chunks, which the output phase computes before
     * the update phase changes them. A non-finite loss term or gradient skips the update (the
     * checks ride on the passes that make them: each tile and chunk is scanned while in cache). */
    w.lr_t = mlp_optim_begin(net);
    run(net, &w);
    const double value = pass_loss(net, net->opt.alpha != 0.0f, norm);
    if (mlp_pass_flagged(net, MLP_NONFINITE_GRAD)) {
        st = mlp_nonfinite_status(net, X, Y, n, value, false, fn);
        mlp_pass_reset(net);
        return st;
    }
    if (loss) *loss = (float)value;
    return finish_update(net, fn);
}

mlp_status mlp_train_step(mlp_net *net, const float *X, const float *Y, size_t n, float *loss) {
    return mlp_train_step_weighted(net, X, Y, NULL, n, loss);
}

mlp_status mlp_loss_value(mlp_net *net, const float *X, const float *Y, size_t n, float *loss) {
    if (net && !Y) return mlp_fail(MLP_ERR_NULL, "mlp_loss_value: targets Y are NULL");
    if (net && !loss) return mlp_fail(MLP_ERR_NULL, "mlp_loss_value: loss is NULL");
    mlp_status st = forward(net, X, n, false, "mlp_loss_value");
    if (st != MLP_OK) return st;
    const mlp_layer *out = &net->layers[net->n_layers - 1];
    mlp_loss_rows(net->out[net->n_layers - 1], Y, NULL, n, out->out, net->loss, net->huber_delta,
                  net->row_loss);
    if (net->opt.alpha != 0.0f) mlp_pass_l2(net);
    *loss = (float)pass_loss(net, net->opt.alpha != 0.0f, (double)n);
    return MLP_OK;
}
