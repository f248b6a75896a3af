/* mlp_fit: scikit-learn's stochastic training loop (MLP _fit_stochastic, scikit-learn 1.2) over the
 * step API. This file checks every argument and option,
 * creates (or checks) the net, allocates everything the loop needs once, and finishes;
 * fit_epoch.c runs the epochs (or fit_lbfgs.c the full-batch solver). The task -> output layer
 * mapping is core's (task.c). The net is only reached through the public API and core's seams
 * (fit_internal.h). */
#include "fit/fit_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

mlp_fit_options mlp_fit_options_default(void) {
    static const size_t default_hidden[1] = {100};
    mlp_fit_options o = {.n_hidden = 1,
                         .hidden = default_hidden,
                         .activation = MLP_ACT_RELU,
                         .opt = mlp_optimizer_default(MLP_OPT_ADAM),
                         .batch_size = 0,
                         .schedule = MLP_LR_CONSTANT,
                         .power_t = 0.5f,
                         .max_iter = 200,
                         .shuffle = 1,
                         .seed = 0,
                         .tol = 1e-4f,
                         .n_iter_no_change = 10,
                         .early_stopping = 0,
                         .validation_fraction = 0.1f,
                         .init = MLP_INIT_GLOROT,
                         .callback = NULL,
                         .user = NULL,
                         .dropout = 0.0f,
                         .max_fun = 15000,
                         .early_stopping_metric = MLP_STOP_SCORE,
                         .sample_weight = NULL,
                         .interrupt = NULL,
                         .precision = MLP_PRECISION_F32,
                         .loss = MLP_LOSS_SQUARED,
                         .huber_delta = 1.0f,
                         .activations = NULL,
                         .val_X = NULL,
                         .val_labels = NULL,
                         .val_Y = NULL,
                         .val_sample_weight = NULL,
                         .val_n = 0};
    return o;
}

void mlp_fit_result_free(mlp_fit_result *r) {
    if (!r) return;
    free(r->loss_curve);
    free(r->val_scores);
    free(r->val_losses);
    r->loss_curve = r->val_scores = r->val_losses = NULL;
}

/* ---- checks that allocate nothing ---- */

static mlp_status check_data(const mlp_fit_data *in) {
    if ((unsigned)in->task >= MLP_TASK_COUNT)
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: unknown task %d", (int)in->task);
    if (in->task == MLP_TASK_CLASSIFY ? !in->labels : !in->Y)
        return mlp_fail(MLP_ERR_NULL, "mlp_fit: %s is NULL",
                        in->task == MLP_TASK_CLASSIFY ? "labels" : "Y");
    if (in->n == 0 || in->d == 0 || in->n_classes_or_targets == 0)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit: n = %zu, d = %zu, n_classes_or_targets = %zu; each must be > 0",
                        in->n, in->d, in->n_classes_or_targets);
    size_t wide = in->d > in->n_classes_or_targets ? in->d : in->n_classes_or_targets, cells;
    if (!mlp_mul_ok(in->n, wide, &cells) || cells > SIZE_MAX / sizeof(float))
        return mlp_fail(MLP_ERR_OVERFLOW, "mlp_fit: %zu rows of %zu values overflow", in->n, wide);
    return MLP_OK;
}

/* LBFGS uses alpha of the optimizer's settings (checked when set_alpha applies it); it has no use
 * for dropout's noise. Early stopping is ignored, as scikit-learn ignores it with lbfgs. */
static mlp_status check_lbfgs(const mlp_fit_options *o) {
    if (!mlp_fit_lbfgs_available())
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: solver lbfgs: this mlp was built without liblbfgs "
                                     "(Debian: liblbfgs-dev)");
    if (o->max_fun == 0) return mlp_fail(MLP_ERR_ARG, "mlp_fit: max_fun is 0");
    if (o->dropout > 0.0f)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit: dropout = %g needs a stochastic solver (sgd or adam), not lbfgs",
                        (double)o->dropout);
    return MLP_OK;
}

static bool hidden_act_ok(mlp_activation a) {
    return (unsigned)a < MLP_ACT_COUNT && a != MLP_ACT_SOFTMAX && a != MLP_ACT_EXP;
}

/* The hidden activations: one for all, or one per hidden layer (options->activations). */
static mlp_status check_activations(const mlp_fit_options *o) {
    if (!o->activations) {
        if (!hidden_act_ok(o->activation))
            return mlp_fail(MLP_ERR_ARG, "mlp_fit: hidden activation %d is not allowed",
                            (int)o->activation);
        return MLP_OK;
    }
    for (size_t l = 0; l < o->n_hidden; l++)
        if (!hidden_act_ok(o->activations[l]))
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_fit: options->activations[%zu] = %d is not a hidden activation", l,
                            (int)o->activations[l]);
    return MLP_OK;
}

/* The regression loss (other tasks have theirs) and Huber's delta. */
static mlp_status check_loss(const mlp_fit_options *o, mlp_task task) {
    if (task != MLP_TASK_REGRESS) return MLP_OK;
    if (o->loss != MLP_LOSS_SQUARED && o->loss != MLP_LOSS_POISSON && o->loss != MLP_LOSS_HUBER)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit: options->loss = %d is not a regression loss (SQUARED, POISSON "
                        "or HUBER)",
                        (int)o->loss);
    if (o->loss == MLP_LOSS_HUBER && (!(o->huber_delta > 0.0f) || !isfinite(o->huber_delta)))
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: huber_delta = %g, must be finite and > 0",
                        (double)o->huber_delta);
    return MLP_OK;
}

/* A validation set of the caller's: its rows and targets there, and a stochastic solver. */
static mlp_status check_val_set(const mlp_fit_options *o, mlp_task task) {
    if (o->val_n == 0) return MLP_OK;
    if (!o->val_X) return mlp_fail(MLP_ERR_NULL, "mlp_fit: options->val_X is NULL with val_n > 0");
    if (task == MLP_TASK_CLASSIFY ? !o->val_labels : !o->val_Y)
        return mlp_fail(MLP_ERR_NULL, "mlp_fit: options->%s is NULL with val_n > 0",
                        task == MLP_TASK_CLASSIFY ? "val_labels" : "val_Y");
    if (o->opt.kind == MLP_OPT_LBFGS)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit: a validation set (val_n = %zu) needs a stochastic "
                        "solver (sgd or adam): lbfgs has no early stopping",
                        o->val_n);
    return MLP_OK;
}

/* The fit options other than the optimizer's (mlp_net_set_optimizer checks those); *n_val: the
 * early-stopping rows of n (or the caller's validation rows). */
static mlp_status check_options(const mlp_fit_options *o, mlp_task task, size_t n, size_t *n_val) {
    if (o->n_hidden > 0 && !o->hidden)
        return mlp_fail(MLP_ERR_NULL, "mlp_fit: options->hidden is NULL with n_hidden = %zu",
                        o->n_hidden);
    mlp_status st = check_activations(o);
    if (st == MLP_OK) st = check_loss(o, task);
    if (st == MLP_OK) st = check_val_set(o, task);
    if (st != MLP_OK) return st;
    if (o->max_iter == 0) return mlp_fail(MLP_ERR_ARG, "mlp_fit: max_iter is 0");
    if (!(o->tol >= 0.0f)) return mlp_fail(MLP_ERR_ARG, "mlp_fit: tol must be >= 0");
    if ((unsigned)o->schedule >= MLP_LR_COUNT)
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: unknown learning-rate schedule %d",
                        (int)o->schedule);
    if (!(o->power_t >= 0.0f) || !isfinite(o->power_t))
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: power_t must be finite and >= 0");
    if (!(o->dropout >= 0.0f && o->dropout < 1.0f))
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: dropout = %g, must be in [0, 1)",
                        (double)o->dropout);
    if ((unsigned)o->early_stopping_metric >= MLP_STOP_COUNT)
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: unknown early_stopping_metric %d",
                        (int)o->early_stopping_metric);
    *n_val = o->val_n;
    if (o->opt.kind == MLP_OPT_LBFGS) return check_lbfgs(o);
    if (!o->early_stopping || o->val_n) return MLP_OK;
    if (!(o->validation_fraction > 0.0f && o->validation_fraction < 1.0f))
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: validation_fraction = %g, must be in (0, 1)",
                        (double)o->validation_fraction);
    /* scikit-learn's train_test_split rounds the test share up. */
    *n_val = (size_t)ceil((double)o->validation_fraction * (double)n);
    if (*n_val == 0 || *n_val >= n)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit: validation_fraction %g of %zu rows leaves an empty side",
                        (double)o->validation_fraction, n);
    return MLP_OK;
}

/* LBFGS's objective is the deterministic loss: a warm-start net must not drop units. */
static mlp_status check_no_dropout(const mlp_net *net) {
    for (size_t l = 0; l + 1 < mlp_net_n_layers(net); l++)
        if (mlp_net_dropout(net, l) > 0.0f)
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_fit: solver lbfgs: the net has dropout %g on layer %zu; set it to "
                            "0 first (mlp_net_set_dropout)",
                            (double)mlp_net_dropout(net, l), l);
    return MLP_OK;
}

static mlp_status check_warm_start(const mlp_net *net, size_t d, size_t out_width, mlp_loss loss,
                                   const mlp_fit_options *o) {
    if (mlp_net_input_size(net) != d || mlp_net_output_size(net) != out_width)
        return mlp_fail(MLP_ERR_SHAPE,
                        "mlp_fit: warm start with a %zu -> %zu net on data needing %zu -> %zu",
                        mlp_net_input_size(net), mlp_net_output_size(net), d, out_width);
    if (mlp_net_loss(net) != loss)
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: warm start net's loss does not fit the task");
    if (loss == MLP_LOSS_HUBER && mlp_net_huber_delta(net) != o->huber_delta)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit: warm start net's huber delta %g is not the options' %g",
                        (double)mlp_net_huber_delta(net), (double)o->huber_delta);
    return MLP_OK;
}

/* Every weight finite and >= 0 (their sum over the training rows is checked after the split);
 * name: "sample_weight" or "val_sample_weight". */
static mlp_status check_weights(const float *w, size_t n, const char *name) {
    for (size_t i = 0; w && i < n; i++)
        if (!(w[i] >= 0.0f) || !isfinite(w[i]))
            return mlp_fail(MLP_ERR_ARG, "mlp_fit: %s[%zu] = %g, must be finite and >= 0", name, i,
                            (double)w[i]);
    return MLP_OK;
}

/* Every value of X (n x d, named name) finite: the vectorised check first (47M values on
 * Fashion-MNIST); the scalar search only to name the cell. */
static mlp_status check_inputs(const float *X, size_t n, size_t d, const char *name) {
    if (mlp_block_finite(X, 1, n * d, n * d)) return MLP_OK;
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(X[i]))
            return mlp_fail(MLP_ERR_ARG, "mlp_fit: %s[%zu][%zu] is not finite", name, i / d, i % d);
    return MLP_OK;
}

/* Where n rows' targets come from: labels (CLASSIFY, k classes) or Y (n x w), and their names in
 * messages. */
typedef struct target_src {
    const int32_t *labels;
    const float *Y;
    size_t n, k;
    const char *lname, *yname;
} target_src;

/* Checks the targets of t and writes T (n x w): one-hot rows, the 0/1 label column, or Y. */
static mlp_status fill_targets(float *T, const target_src *t, mlp_task task, mlp_loss loss,
                               size_t w) {
    if (task != MLP_TASK_CLASSIFY) {
        for (size_t i = 0; i < t->n * w; i++) {
            const float y = t->Y[i];
            if (!isfinite(y))
                return mlp_fail(MLP_ERR_ARG, "mlp_fit: %s[%zu][%zu] is not finite", t->yname, i / w,
                                i % w);
            if (task == MLP_TASK_MULTILABEL && y != 0.0f && y != 1.0f)
                return mlp_fail(MLP_ERR_ARG,
                                "mlp_fit: %s[%zu][%zu] = %g, multilabel targets are 0 or 1",
                                t->yname, i / w, i % w, (double)y);
            if (loss == MLP_LOSS_POISSON && y < 0.0f)
                return mlp_fail(MLP_ERR_ARG,
                                "mlp_fit: %s[%zu][%zu] = %g, the Poisson loss needs targets >= 0",
                                t->yname, i / w, i % w, (double)y);
            T[i] = y;
        }
        return MLP_OK;
    }
    memset(T, 0, t->n * w * sizeof(float));
    for (size_t i = 0; i < t->n; i++) {
        int32_t label = t->labels[i];
        if (label < 0 || (size_t)label >= t->k)
            return mlp_fail(MLP_ERR_ARG, "mlp_fit: %s[%zu] = %d, must be in [0, %zu)", t->lname, i,
                            (int)label, t->k);
        if (w == 1)
            T[i] = (float)label;
        else
            T[i * w + (size_t)label] = 1.0f;
    }
    return MLP_OK;
}

/* Checks X and the targets and builds T (n x out_width). */
static mlp_status build_targets(mlp_fit_state *s, const mlp_fit_data *in, mlp_loss loss) {
    const size_t n = in->n, w = s->out_width;
    mlp_status st = check_inputs(in->X, n, in->d, "X");
    if (st != MLP_OK) return st;
    s->T = mlp_alloc_array(n * w, sizeof(float), "mlp_fit: the target matrix", &st);
    if (st != MLP_OK) return st;
    const target_src t = {in->labels, in->Y, n, in->n_classes_or_targets, "labels", "Y"};
    return fill_targets(s->T, &t, in->task, loss, w);
}

/* The caller's validation set (options->val_n rows) into Xv, Yv, lv and swv, checked as the
 * training rows are. */
static mlp_status take_val_set(mlp_fit_state *s, const mlp_fit_data *in, const mlp_fit_options *o,
                               mlp_loss loss) {
    const size_t n = o->val_n, d = in->d;
    mlp_status st = check_inputs(o->val_X, n, d, "val_X");
    if (st != MLP_OK) return st;
    memcpy(s->Xv, o->val_X, n * d * sizeof(float));
    const target_src t = {o->val_labels, o->val_Y, n, in->n_classes_or_targets,
                          "val_labels",  "val_Y"};
    st = fill_targets(s->Yv, &t, in->task, loss, s->out_width);
    if (st != MLP_OK) return st;
    if (s->lv) memcpy(s->lv, o->val_labels, n * sizeof(int32_t));
    if (s->swv) memcpy(s->swv, o->val_sample_weight, n * sizeof(float));
    return MLP_OK;
}

static mlp_status create_net(mlp_net **out, size_t d, const mlp_fit_options *o,
                             mlp_activation out_act, mlp_loss loss, size_t out_width) {
    const size_t L = o->n_hidden + 1;
    if (L == 0 || L + 1 == 0)
        return mlp_fail(MLP_ERR_OVERFLOW, "mlp_fit: n_hidden = %zu overflows", o->n_hidden);
    mlp_status st = MLP_OK;
    size_t *sizes = mlp_alloc_array(L + 1, sizeof *sizes, "mlp_fit: the layer sizes", &st);
    mlp_activation *acts = mlp_alloc_array(L, sizeof *acts, "mlp_fit: the layer activations", &st);
    if (st == MLP_OK) {
        sizes[0] = d;
        for (size_t l = 0; l < o->n_hidden; l++) {
            sizes[l + 1] = o->hidden[l];
            acts[l] = o->activations ? o->activations[l] : o->activation;
        }
        sizes[L] = out_width;
        acts[L - 1] = out_act;
        mlp_net_config cfg = {.n_layers = L,
                              .sizes = sizes,
                              .activations = acts,
                              .loss = loss,
                              .init = o->init,
                              .seed = o->seed};
        st = mlp_net_create(out, &cfg);
        /* Checked by check_loss: cannot fail. */
        if (st == MLP_OK && loss == MLP_LOSS_HUBER)
            st = mlp_net_set_huber_delta(*out, o->huber_delta);
    }
    free(sizes);
    free(acts);
    return st;
}

/* Every buffer of the loop, sized for the effective batch and the validation rows. LBFGS reads
 * the rows in place and has no epochs to roll back: it needs only the order. */
static mlp_status alloc_buffers(mlp_fit_state *s, const mlp_net *net, const mlp_fit_data *in,
                                const mlp_fit_options *o, bool lbfgs) {
    const size_t d = in->d, w = s->out_width, state = mlp_net_state_size(net);
    mlp_status st = MLP_OK;
    s->order = mlp_alloc_array(in->n, sizeof(size_t), "mlp_fit: the row order", &st);
    if (lbfgs) return st;
    s->Xb = mlp_alloc_array(s->batch * d, sizeof(float), "mlp_fit: the batch inputs", &st);
    s->Yb = mlp_alloc_array(s->batch * w, sizeof(float), "mlp_fit: the batch targets", &st);
    s->snap[0] = mlp_alloc_array(state, sizeof(float), "mlp_fit: the rollback snapshot", &st);
    s->snap[1] = mlp_alloc_array(state, sizeof(float), "mlp_fit: the rollback snapshot", &st);
    if (s->n_val) {
        s->Xv = mlp_alloc_array(s->n_val * d, sizeof(float), "mlp_fit: the validation inputs", &st);
        s->Yv =
            mlp_alloc_array(s->n_val * w, sizeof(float), "mlp_fit: the validation targets", &st);
        s->val_out =
            mlp_alloc_array(s->n_val * w, sizeof(float), "mlp_fit: the validation outputs", &st);
        s->best = mlp_alloc_array(s->n_params, sizeof(float), "mlp_fit: the best weights", &st);
        s->val_rowloss =
            mlp_alloc_array(s->n_val, sizeof(float), "mlp_fit: the validation losses", &st);
        if (in->task == MLP_TASK_CLASSIFY)
            s->lv =
                mlp_alloc_array(s->n_val, sizeof(int32_t), "mlp_fit: the validation labels", &st);
        if (s->own_val ? o->val_sample_weight != NULL : in->w != NULL)
            s->swv =
                mlp_alloc_array(s->n_val, sizeof(float), "mlp_fit: the validation weights", &st);
    }
    if (in->w) s->swb = mlp_alloc_array(s->batch, sizeof(float), "mlp_fit: the batch weights", &st);
    return st;
}

/* order = 0..n-1; with early stopping split once, its last n_val rows gathered as the validation
 * set: drawn class by class for CLASSIFY (scikit-learn stratifies a classifier's split, not a
 * multi-label one's), else from one shuffle. With the caller's validation set, every row trains.
 */
static mlp_status split_validation(mlp_fit_state *s, const mlp_fit_data *in) {
    for (size_t i = 0; i < in->n; i++) s->order[i] = i;
    if (!s->n_val || s->own_val) return MLP_OK;
    if (in->task == MLP_TASK_CLASSIFY) {
        mlp_status st = mlp_fit_stratified_split(in->labels, in->n, in->n_classes_or_targets,
                                                 s->n_val, s->order, &s->rng);
        if (st != MLP_OK) return st;
    } else {
        mlp_fit_shuffle(s->order, in->n, &s->rng);
    }
    const size_t *val_rows = s->order + s->n_train;
    mlp_gather_rows(s->Xv, in->X, val_rows, s->n_val, in->d);
    mlp_gather_rows(s->Yv, s->T, val_rows, s->n_val, s->out_width);
    for (size_t i = 0; s->lv && i < s->n_val; i++) s->lv[i] = in->labels[val_rows[i]];
    for (size_t i = 0; s->swv && i < s->n_val; i++) s->swv[i] = in->w[val_rows[i]];
    return MLP_OK;
}

/* The training rows' weight sum, which must be > 0 (n_train without weights), and the validation
 * rows' (with early stopping), which must be too. */
static mlp_status training_weight(mlp_fit_state *s) {
    s->sw_val = (double)s->n_val;
    if (!s->sw) {
        s->sw_train = (double)s->n_train;
        if (!s->swv) return MLP_OK;
    }
    double sum = 0.0;
    for (size_t i = 0; s->sw && i < s->n_train; i++) sum += s->sw[s->order[i]];
    if (s->sw) s->sw_train = sum;
    if (s->sw && !(sum > 0.0))
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit: the sample weights of the %zu training rows sum to 0",
                        s->n_train);
    /* The validation score and loss are weighted means too. */
    double val = 0.0;
    for (size_t i = 0; s->swv && i < s->n_val; i++) val += s->swv[i];
    if (s->swv && !(val > 0.0))
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_fit: the sample weights of the %zu validation rows sum to 0",
                        s->n_val);
    if (s->swv) s->sw_val = val;
    return MLP_OK;
}

static void fit_state_free(mlp_fit_state *s) {
    free(s->T);
    free(s->order);
    free(s->Xb);
    free(s->Yb);
    free(s->Xv);
    free(s->Yv);
    free(s->lv);
    free(s->val_out);
    free(s->best);
    free(s->swb);
    free(s->swv);
    free(s->val_rowloss);
    free(s->snap[0]);
    free(s->snap[1]);
}

/* ---- setup and finish ---- */

/* LBFGS's L2 penalty goes to the net's optimizer settings, where the backward pass reads it; the
 * rest of them (and the optimizer state) stay. */
static mlp_status set_alpha(mlp_net *net, float alpha) {
    mlp_optimizer opt;
    mlp_status st = mlp_net_get_optimizer(net, &opt);
    opt.alpha = alpha;
    if (st == MLP_OK) st = mlp_net_set_optimizer(net, &opt);
    return st;
}

/* Checks everything, creates the net if *net is NULL (*created), allocates the loop's buffers and
 * reserves the workspace; only then applies the optimizer, so that a warm-start net is unchanged
 * by any failure here. */
/* Every check that allocates nothing; sets the output layer, the split and the batch. */
static mlp_status fit_checks(mlp_fit_state *s, const mlp_net *warm, const mlp_fit_data *in,
                             const mlp_fit_options *o, mlp_activation *out_act, mlp_loss *loss) {
    mlp_status st = check_data(in);
    if (st == MLP_OK)
        st = mlp_task_output_named(in->task, in->n_classes_or_targets, "mlp_fit", out_act, loss,
                                   &s->out_width);
    if (st == MLP_OK) st = check_options(o, in->task, in->n, &s->n_val);
    if (st == MLP_OK && in->task == MLP_TASK_REGRESS && o->loss != MLP_LOSS_SQUARED) {
        *loss = o->loss; /* POISSON's log link: exp outputs */
        *out_act = o->loss == MLP_LOSS_POISSON ? MLP_ACT_EXP : MLP_ACT_IDENTITY;
    }
    if (st == MLP_OK && warm) st = check_warm_start(warm, in->d, s->out_width, *loss, o);
    if (st == MLP_OK && warm && o->opt.kind == MLP_OPT_LBFGS) st = check_no_dropout(warm);
    if (st == MLP_OK) st = check_weights(in->w, in->n, "sample_weight");
    if (st == MLP_OK) st = check_weights(o->val_sample_weight, o->val_n, "val_sample_weight");
    if (st == MLP_OK && (unsigned)o->precision >= MLP_PRECISION_COUNT)
        st = mlp_fail(MLP_ERR_ARG, "mlp_fit: unknown precision %d", (int)o->precision);
    if (st == MLP_OK && !mlp_precision_supported(o->precision))
        st = mlp_fail(MLP_ERR_UNSUPPORTED, "mlp_fit: precision bf16 is not available: %s",
                      mlp_precision_isa());
    /* lbfgs's line search needs the loss and gradient of nearby points to be consistent; bf16's
     * rounding noise broke it (measured on digits: stops after 1-4 iterations at 15-26%
     * training accuracy, against 100% in f32). */
    if (st == MLP_OK && o->opt.kind == MLP_OPT_LBFGS && o->precision == MLP_PRECISION_BF16)
        st = mlp_fail(MLP_ERR_ARG, "mlp_fit: solver lbfgs runs in f32 only (precision bf16 "
                                   "makes its line search fail); use adam or sgd for bf16");
    if (st != MLP_OK) return st;
    s->own_val = o->val_n > 0;
    s->n_train = s->own_val ? in->n : in->n - s->n_val;
    const size_t batch = o->opt.kind == MLP_OPT_LBFGS ? MLP_LBFGS_CHUNK
                         : o->batch_size              ? o->batch_size
                                                      : 200;
    s->batch = batch < s->n_train ? batch : s->n_train; /* scikit-learn clips to the sample count */
    return MLP_OK;
}

/* Checks everything (the memory the whole fit needs included), creates the net if *net is NULL
 * (*created), allocates the loop's buffers and reserves the workspace; only then applies the
 * optimizer, so that a warm-start net is unchanged by any failure here. */
static mlp_status fit_setup(mlp_fit_state *s, mlp_net **net, bool *created, const mlp_fit_data *in,
                            const mlp_fit_options *o) {
    mlp_activation out_act = MLP_ACT_IDENTITY;
    mlp_loss loss = MLP_LOSS_SQUARED;
    mlp_status st = fit_checks(s, *net, in, o, &out_act, &loss);
    /* Also room for scoring the validation rows (mlp_predict works in chunks of at least 1024
     * rows, or the workspace's size), so that nothing is allocated inside the epoch loop. */
    const size_t val_rows = s->n_val < 1024 ? s->n_val : 1024;
    const size_t ws_rows = s->batch > val_rows ? s->batch : val_rows;
    if (st == MLP_OK) st = mlp_fit_check_budget(s, *net, in, o, out_act, ws_rows);
    if (st == MLP_OK) st = build_targets(s, in, loss);
    if (st == MLP_OK && !*net) {
        st = create_net(net, in->d, o, out_act, loss, s->out_width);
        *created = st == MLP_OK;
    }
    if (st != MLP_OK) return st;
    s->n_params = mlp_net_param_count(*net);
    s->huber_delta = mlp_net_huber_delta(*net);
    st = alloc_buffers(s, *net, in, o, o->opt.kind == MLP_OPT_LBFGS);
    if (st == MLP_OK && s->own_val) st = take_val_set(s, in, o, loss);
    if (st != MLP_OK) return st;
    mlp_rng_seed(&s->rng, mlp_fit_split_seed(o->seed));
    s->sw = in->w;
    st = split_validation(s, in);
    if (st == MLP_OK) st = training_weight(s);
    if (st != MLP_OK) return st;
    /* Dropout before the reservation: it decides the workspace's layout. Cannot fail here (the
     * probability was checked, the layers are hidden ones). */
    for (size_t l = 0; o->dropout > 0.0f && l + 1 < mlp_net_n_layers(*net); l++)
        (void)mlp_net_set_dropout(*net, l, o->dropout);
    /* The precision before the reservation too: it decides the workspace's layout. */
    st = mlp_net_set_precision(*net,
                               o->opt.kind == MLP_OPT_LBFGS ? MLP_PRECISION_F32 : o->precision);
    if (st == MLP_OK) st = mlp_net_reserve(*net, ws_rows);
    if (st == MLP_OK)
        st = o->opt.kind == MLP_OPT_LBFGS ? set_alpha(*net, o->opt.alpha)
                                          : mlp_net_set_optimizer(*net, &o->opt);
    s->lr = o->opt.lr;
    s->best_loss = INFINITY;
    s->best_val = -INFINITY;
    s->best_val_loss = INFINITY;
    return st;
}

/* With early stopping, back to the best validation weights; timing. */
static mlp_status fit_finish(const mlp_fit_state *s, mlp_net *net, mlp_fit_result *r) {
    mlp_status st = MLP_OK;
    if (s->n_val) {
        st = mlp_net_set_params(net, s->best, s->n_params);
        r->best_val_score = (float)s->best_val;
    }
    r->seconds = s->train_time;
    r->samples_per_s = mlp_fit_rate(s->samples_seen, s->train_time);
    return st;
}

void mlp_batch_gather(const mlp_batch *b, size_t lo, size_t n) {
    mlp_gather_rows(b->Xb, b->X, b->rows + lo, n, b->d);
    mlp_gather_rows(b->Yb, b->T, b->rows + lo, n, b->k);
}

/* fit()'s own batch step: gather the batch's rows and train on all of them. */
static mlp_status local_step(void *ctx, mlp_net *net, const mlp_batch *b, float *loss) {
    (void)ctx;
    mlp_batch_gather(b, 0, b->n);
    mlp_status st = mlp_train_step_weighted(net, b->Xb, b->Yb, b->w, b->n, loss);
    /* A step that met a non-finite value refuses it (fit checked X and Y up front, so it is
     * divergence): the epoch loop rolls back on a non-finite loss. */
    if (st == MLP_ERR_DIVERGED) *loss = NAN, st = MLP_OK;
    return st;
}

mlp_status mlp_fit(mlp_net **netp, mlp_task task, const float *X, const int32_t *labels,
                   const float *Y, size_t n, size_t d, size_t n_classes_or_targets,
                   const mlp_fit_options *options, mlp_fit_result *result) {
    return mlp_fit_with_step(netp, task, X, labels, Y, n, d, n_classes_or_targets, options, result,
                             local_step, NULL);
}

mlp_status mlp_fit_with_step(mlp_net **netp, mlp_task task, const float *X, const int32_t *labels,
                             const float *Y, size_t n, size_t d, size_t n_classes_or_targets,
                             const mlp_fit_options *options, mlp_fit_result *result,
                             mlp_batch_step_fn step, void *step_ctx) {
    if (!netp || !X || !options)
        return mlp_fail(MLP_ERR_NULL, "mlp_fit: %s is NULL", !netp ? "net" : !X ? "X" : "options");
    const mlp_fit_data in = {.task = task,
                             .X = X,
                             .labels = labels,
                             .Y = Y,
                             .w = options->sample_weight,
                             .n = n,
                             .d = d,
                             .n_classes_or_targets = n_classes_or_targets};
    mlp_fit_state s;
    memset(&s, 0, sizeof s);
    mlp_fit_result r = {.best_val_score = NAN, .best_val_loss = NAN};
    mlp_net *net = *netp;
    bool created = false;
    mlp_status st = fit_setup(&s, &net, &created, &in, options);
    if (st == MLP_OK) {
        const bool lbfgs = options->opt.kind == MLP_OPT_LBFGS;
        r.batch_size = lbfgs ? s.n_train : s.batch;
        r.n_train = s.n_train;
        r.n_val = s.n_val;
        st = lbfgs ? mlp_fit_lbfgs(&s, net, &in, options, &r)
                   : mlp_fit_loop(&s, net, &in, options, step, step_ctx, &r);
    }
    if (st == MLP_OK) st = fit_finish(&s, net, &r);
    fit_state_free(&s);
    if (st == MLP_OK || st == MLP_ERR_DIVERGED) {
        *netp = net;
        if (result)
            *result = r;
        else
            mlp_fit_result_free(&r);
    } else {
        mlp_fit_result_free(&r);
        if (created) mlp_net_free(net);
    }
    return st;
}
