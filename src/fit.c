/* fit(): scikit-learn's stochastic training loop (MLP _fit_stochastic, scikit-learn 1.2) over the
 * step API. Everything the loop needs is allocated once before the first epoch; an epoch then
 * gathers each shuffled minibatch into one buffer and calls mlp_train_step. */
#define _POSIX_C_SOURCE 200809L
#include "mlp/fit.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

mlp_fit_options mlp_fit_options_default(void) {
    static const size_t default_hidden[1] = {100};
    mlp_fit_options o = {.n_hidden = 1,
                         .hidden = default_hidden,
                         .activation = MLP_ACT_RELU,
                         .solver = MLP_OPT_ADAM,
                         .alpha = 1e-4f,
                         .batch_size = 0,
                         .lr = 1e-3f,
                         .schedule = MLP_LR_CONSTANT,
                         .power_t = 0.5f,
                         .max_iter = 200,
                         .shuffle = 1,
                         .seed = 0,
                         .tol = 1e-4f,
                         .n_iter_no_change = 10,
                         .momentum = 0.9f,
                         .nesterov = 1,
                         .early_stopping = 0,
                         .validation_fraction = 0.1f,
                         .beta1 = 0.9f,
                         .beta2 = 0.999f,
                         .eps = 1e-8f,
                         .init = MLP_INIT_GLOROT,
                         .callback = NULL,
                         .user = NULL};
    return o;
}

void mlp_fit_result_free(mlp_fit_result *r) {
    if (!r) return;
    free(r->loss_curve);
    free(r->val_scores);
    r->loss_curve = r->val_scores = NULL;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- scoring ---- */

/* Fraction of rows whose prediction matches: argmax vs label (CLASSIFY), or every thresholded
 * output vs its 0/1 target (MULTILABEL, scikit-learn's subset accuracy). out is n x k scratch. */
static double accuracy_of(const float *out, size_t n, size_t k, const int32_t *labels,
                          const float *Y) {
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = out + i * k;
        if (labels) {
            size_t best = 0;
            if (k == 1)
                best = p[0] >= 0.5f;
            else
                for (size_t j = 1; j < k; j++)
                    if (p[j] > p[best]) best = j;
            hits += (int32_t)best == labels[i];
        } else {
            size_t j = 0;
            while (j < k && (p[j] >= 0.5f) == (Y[i * k + j] >= 0.5f)) j++;
            hits += j == k;
        }
    }
    return (double)hits / (double)n;
}

/* R^2 per output averaged uniformly; a constant target scores 1 if predicted exactly, else 0
 * (scikit-learn's r2_score with force_finite). */
static double r2_of(const float *out, const float *Y, size_t n, size_t k) {
    double total = 0.0;
    for (size_t j = 0; j < k; j++) {
        double mean = 0.0, ss_res = 0.0, ss_tot = 0.0;
        for (size_t i = 0; i < n; i++) mean += Y[i * k + j];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double e = (double)Y[i * k + j] - out[i * k + j], c = Y[i * k + j] - mean;
            ss_res += e * e;
            ss_tot += c * c;
        }
        total += ss_tot > 0.0 ? 1.0 - ss_res / ss_tot : (ss_res == 0.0 ? 1.0 : 0.0);
    }
    return total / (double)k;
}

static mlp_status score_alloc(mlp_net *net, const float *X, size_t n, float **out, const char *fn) {
    mlp_status st = mlp_check_batch(net, X, n, fn);
    if (st != MLP_OK) return st;
    size_t k = mlp_net_output_size(net), cells;
    if (!mlp_mul_ok(n, k, &cells) || cells > SIZE_MAX / sizeof(float))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: %zu x %zu outputs overflow", fn, n, k);
    *out = malloc(cells * sizeof(float));
    if (!*out) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", fn);
    st = mlp_predict(net, X, n, *out);
    if (st != MLP_OK) free(*out);
    return st;
}

mlp_status mlp_score_accuracy(mlp_net *net, const float *X, const int32_t *labels, size_t n,
                              double *accuracy) {
    if (!labels || !accuracy) return mlp_fail(MLP_ERR_NULL, "mlp_score_accuracy: NULL argument");
    float *out;
    mlp_status st = score_alloc(net, X, n, &out, "mlp_score_accuracy");
    if (st != MLP_OK) return st;
    *accuracy = accuracy_of(out, n, mlp_net_output_size(net), labels, NULL);
    free(out);
    return MLP_OK;
}

mlp_status mlp_score_r2(mlp_net *net, const float *X, const float *Y, size_t n, double *r2) {
    if (!Y || !r2) return mlp_fail(MLP_ERR_NULL, "mlp_score_r2: NULL argument");
    float *out;
    mlp_status st = score_alloc(net, X, n, &out, "mlp_score_r2");
    if (st != MLP_OK) return st;
    *r2 = r2_of(out, Y, n, mlp_net_output_size(net));
    free(out);
    return MLP_OK;
}

/* ---- the training loop ---- */

typedef struct fit_state {
    mlp_task task;
    size_t d, k;   /* features; network outputs */
    float *T;      /* n x k targets (one-hot or 0/1 label column for CLASSIFY) */
    size_t *order; /* training row indices, shuffled each epoch */
    size_t n_train, n_val;
    float *Xb, *Yb; /* one minibatch, gathered */
    float *Xv, *Yv; /* validation rows (early stopping) */
    int32_t *lv;    /* validation labels (CLASSIFY) */
    float *val_out; /* n_val x k predictions */
    float *best;    /* parameters of the best validation score */
    /* Divergence rollback: params, m, v at the start of this epoch and of the previous one. The
     * previous one is needed when the first batch of an epoch is the one that blows up: the
     * weights it started from are finite but were never seen to give a finite loss. */
    float *snap[2];
    uint64_t snap_step[2];
} fit_state;

static void fit_state_free(fit_state *s) {
    free(s->T);
    free(s->order);
    free(s->Xb);
    free(s->Yb);
    free(s->Xv);
    free(s->Yv);
    free(s->lv);
    free(s->val_out);
    free(s->best);
    free(s->snap[0]);
    free(s->snap[1]);
}

static void *alloc_array(size_t count, size_t size, bool *ok) {
    size_t bytes;
    if (!*ok || count == 0) return NULL;
    /* Over the memory limit counts as out of memory here; mlp_fit's inputs already passed the
     * limit when they were read or created. */
    if (!mlp_mul_ok(count, size, &bytes) || bytes > mlp_get_memory_limit()) {
        *ok = false;
        return NULL;
    }
    void *p = malloc(bytes);
    if (!p) *ok = false;
    return p;
}

static mlp_status check_options(const mlp_fit_options *o) {
    if (o->n_hidden > 0 && !o->hidden)
        return mlp_fail(MLP_ERR_NULL, "mlp_fit: options->hidden is NULL with n_hidden = %zu",
                        o->n_hidden);
    if ((unsigned)o->activation >= MLP_ACT_COUNT || o->activation == MLP_ACT_SOFTMAX)
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: hidden activation %d is not allowed",
                        (int)o->activation);
    if (o->max_iter == 0) return mlp_fail(MLP_ERR_ARG, "mlp_fit: max_iter is 0");
    if (!(o->tol >= 0.0f)) return mlp_fail(MLP_ERR_ARG, "mlp_fit: tol must be >= 0");
    if ((unsigned)o->schedule > MLP_LR_ADAPTIVE)
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: unknown learning-rate schedule %d",
                        (int)o->schedule);
    if (!(o->power_t >= 0.0f) || !isfinite(o->power_t))
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: power_t must be finite and >= 0");
    if (o->early_stopping && !(o->validation_fraction > 0.0f && o->validation_fraction < 1.0f))
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: validation_fraction = %g, must be in (0, 1)",
                        (double)o->validation_fraction);
    return MLP_OK;
}

/* Checks the data and builds the target matrix T (n x k). */
static mlp_status prepare_targets(fit_state *s, const float *X, const int32_t *labels,
                                  const float *Y, size_t n, size_t n_classes) {
    for (size_t i = 0; i < n * s->d; i++)
        if (!isfinite(X[i]))
            return mlp_fail(MLP_ERR_ARG, "mlp_fit: X[%zu][%zu] is not finite", i / s->d, i % s->d);
    bool ok = true;
    s->T = alloc_array(n * s->k, sizeof(float), &ok);
    if (!ok) return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: out of memory for targets");
    if (s->task == MLP_TASK_CLASSIFY) {
        memset(s->T, 0, n * s->k * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            if (labels[i] < 0 || (size_t)labels[i] >= n_classes)
                return mlp_fail(MLP_ERR_ARG, "mlp_fit: labels[%zu] = %d, must be in [0, %zu)", i,
                                (int)labels[i], n_classes);
            if (s->k == 1)
                s->T[i] = (float)labels[i];
            else
                s->T[i * s->k + (size_t)labels[i]] = 1.0f;
        }
        return MLP_OK;
    }
    for (size_t i = 0; i < n * s->k; i++) {
        if (!isfinite(Y[i]))
            return mlp_fail(MLP_ERR_ARG, "mlp_fit: Y[%zu][%zu] is not finite", i / s->k, i % s->k);
        if (s->task == MLP_TASK_MULTILABEL && Y[i] != 0.0f && Y[i] != 1.0f)
            return mlp_fail(MLP_ERR_ARG, "mlp_fit: Y[%zu][%zu] = %g, multilabel targets are 0 or 1",
                            i / s->k, i % s->k, (double)Y[i]);
        s->T[i] = Y[i];
    }
    return MLP_OK;
}

static void shuffle(size_t *a, size_t n, mlp_rng *rng) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mlp_rng_below(rng, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static mlp_status create_net(mlp_net **out, const fit_state *s, const mlp_fit_options *o) {
    size_t L = o->n_hidden + 1;
    size_t *sizes = malloc((L + 1) * sizeof *sizes);
    mlp_activation *acts = malloc(L * sizeof *acts);
    if (!sizes || !acts) {
        free(sizes);
        free(acts);
        return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: out of memory");
    }
    sizes[0] = s->d;
    for (size_t l = 0; l < o->n_hidden; l++) {
        sizes[l + 1] = o->hidden[l];
        acts[l] = o->activation;
    }
    sizes[L] = s->k;
    mlp_loss loss;
    if (s->task == MLP_TASK_REGRESS) {
        acts[L - 1] = MLP_ACT_IDENTITY;
        loss = MLP_LOSS_SQUARED;
    } else if (s->task == MLP_TASK_CLASSIFY && s->k > 1) {
        acts[L - 1] = MLP_ACT_SOFTMAX;
        loss = MLP_LOSS_SOFTMAX_CE;
    } else {
        acts[L - 1] = MLP_ACT_LOGISTIC;
        loss = MLP_LOSS_LOGISTIC;
    }
    mlp_net_config cfg = {.n_layers = L,
                          .sizes = sizes,
                          .activations = acts,
                          .loss = loss,
                          .init = o->init,
                          .seed = o->seed};
    mlp_status st = mlp_net_create(out, &cfg);
    free(sizes);
    free(acts);
    return st;
}

/* The workspace was reserved for the validation rows too (see mlp_fit), so this does not
 * allocate; a failure is still passed on rather than scoring an unwritten buffer. */
static mlp_status val_score(mlp_net *net, const fit_state *s, double *score) {
    mlp_status st = mlp_predict(net, s->Xv, s->n_val, s->val_out);
    if (st != MLP_OK) return st;
    if (s->task == MLP_TASK_REGRESS)
        *score = r2_of(s->val_out, s->Yv, s->n_val, s->k);
    else
        *score = accuracy_of(s->val_out, s->n_val, s->k,
                             s->task == MLP_TASK_CLASSIFY ? s->lv : NULL, s->Yv);
    return MLP_OK;
}

/* Allocates every buffer of the loop and splits off the validation rows. */
static mlp_status prepare_loop(fit_state *s, const mlp_fit_options *o, const float *X,
                               const int32_t *labels, size_t n, size_t batch, size_t n_params,
                               mlp_rng *rng) {
    bool ok = true;
    s->order = alloc_array(n, sizeof(size_t), &ok);
    if (!ok) return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: out of memory");
    for (size_t i = 0; i < n; i++) s->order[i] = i;
    s->n_val = 0;
    if (o->early_stopping) {
        /* scikit-learn's train_test_split rounds the test share up. */
        s->n_val = (size_t)ceil((double)o->validation_fraction * (double)n);
        if (s->n_val == 0 || s->n_val >= n)
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_fit: validation_fraction %g of %zu rows leaves an empty side",
                            (double)o->validation_fraction, n);
        shuffle(s->order, n, rng);
    }
    s->n_train = n - s->n_val;
    const size_t *val_rows = s->order + s->n_train;
    s->Xb = alloc_array(batch * s->d, sizeof(float), &ok);
    s->Yb = alloc_array(batch * s->k, sizeof(float), &ok);
    s->snap[0] = alloc_array(3 * n_params, sizeof(float), &ok);
    s->snap[1] = alloc_array(3 * n_params, sizeof(float), &ok);
    if (s->n_val) {
        s->Xv = alloc_array(s->n_val * s->d, sizeof(float), &ok);
        s->Yv = alloc_array(s->n_val * s->k, sizeof(float), &ok);
        s->val_out = alloc_array(s->n_val * s->k, sizeof(float), &ok);
        s->best = alloc_array(n_params, sizeof(float), &ok);
        if (s->task == MLP_TASK_CLASSIFY) s->lv = alloc_array(s->n_val, sizeof(int32_t), &ok);
    }
    if (!ok) return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: out of memory");
    if (s->n_val) {
        mlp_gather_rows(s->Xv, X, val_rows, s->n_val, s->d);
        mlp_gather_rows(s->Yv, s->T, val_rows, s->n_val, s->k);
        if (s->lv)
            for (size_t i = 0; i < s->n_val; i++) s->lv[i] = labels[val_rows[i]];
    }
    return MLP_OK;
}

static mlp_status grow_curve(mlp_fit_result *r, size_t epoch, size_t *cap, bool with_val) {
    if (epoch < *cap) return MLP_OK;
    size_t ncap = *cap ? 2 * *cap : 256;
    float *lc = realloc(r->loss_curve, ncap * sizeof(float));
    if (!lc) return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: out of memory for the loss curve");
    r->loss_curve = lc;
    if (with_val) {
        float *vs = realloc(r->val_scores, ncap * sizeof(float));
        if (!vs) return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: out of memory for the loss curve");
        r->val_scores = vs;
    }
    *cap = ncap;
    return MLP_OK;
}

/* fit()'s own batch step: gather the batch's rows and train on all of them. */
static mlp_status local_step(void *ctx, mlp_net *net, const mlp_batch *b, float *loss) {
    (void)ctx;
    mlp_gather_rows(b->Xb, b->X, b->rows, b->n, b->d);
    mlp_gather_rows(b->Yb, b->T, b->rows, b->n, b->k);
    return mlp_train_step(net, b->Xb, b->Yb, b->n, loss);
}

mlp_status mlp_fit(mlp_net **netp, mlp_task task, const float *X, const int32_t *labels,
                   const float *Y, size_t n, size_t d, size_t k, const mlp_fit_options *options,
                   mlp_fit_result *result) {
    return mlp_fit_with_step(netp, task, X, labels, Y, n, d, k, options, result, local_step, NULL);
}

mlp_status mlp_fit_with_step(mlp_net **netp, mlp_task task, const float *X, const int32_t *labels,
                             const float *Y, size_t n, size_t d, size_t k,
                             const mlp_fit_options *options, mlp_fit_result *result,
                             mlp_batch_step_fn step, void *step_ctx) {
    if (!netp || !X || !options) return mlp_fail(MLP_ERR_NULL, "mlp_fit: NULL argument");
    if ((unsigned)task > MLP_TASK_REGRESS)
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: unknown task %d", (int)task);
    if (task == MLP_TASK_CLASSIFY ? !labels : !Y)
        return mlp_fail(MLP_ERR_NULL, "mlp_fit: %s is NULL",
                        task == MLP_TASK_CLASSIFY ? "labels" : "Y");
    if (n == 0 || d == 0 || k == 0)
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: n = %zu, d = %zu, k = %zu; each must be > 0", n, d,
                        k);
    if (task == MLP_TASK_CLASSIFY && k < 2)
        return mlp_fail(MLP_ERR_ARG, "mlp_fit: classification needs at least 2 classes, got %zu",
                        k);
    size_t cells;
    if (!mlp_mul_ok(n, d > k ? d : k, &cells))
        return mlp_fail(MLP_ERR_OVERFLOW, "mlp_fit: %zu rows overflow", n);
    const mlp_fit_options *o = options;
    mlp_status st = check_options(o);
    if (st != MLP_OK) return st;

    fit_state s = {.task = task, .d = d, .k = (task == MLP_TASK_CLASSIFY && k == 2) ? 1 : k};
    mlp_net *net = *netp;
    bool created = false;
    mlp_fit_result r = {.best_val_score = NAN};
    size_t curve_cap = 0;

    if (net) {
        if (mlp_net_input_size(net) != d || mlp_net_output_size(net) != s.k)
            return mlp_fail(MLP_ERR_SHAPE,
                            "mlp_fit: warm start with a %zu -> %zu net on data needing %zu -> %zu",
                            mlp_net_input_size(net), mlp_net_output_size(net), d, s.k);
        mlp_loss want = task == MLP_TASK_REGRESS                 ? MLP_LOSS_SQUARED
                        : (task == MLP_TASK_CLASSIFY && s.k > 1) ? MLP_LOSS_SOFTMAX_CE
                                                                 : MLP_LOSS_LOGISTIC;
        if (net->loss != want)
            return mlp_fail(MLP_ERR_ARG, "mlp_fit: warm start net's loss does not fit the task");
    }
    st = prepare_targets(&s, X, labels, Y, n, k);
    if (st != MLP_OK) goto done;
    if (!net) {
        st = create_net(&net, &s, o);
        if (st != MLP_OK) goto done;
        created = true;
    }
    mlp_optimizer opt = mlp_optimizer_default(o->solver);
    opt.lr = o->lr;
    opt.alpha = o->alpha;
    opt.momentum = o->momentum;
    opt.nesterov = o->nesterov;
    opt.beta1 = o->beta1;
    opt.beta2 = o->beta2;
    opt.eps = o->eps;
    st = mlp_net_set_optimizer(net, &opt);
    if (st != MLP_OK) goto done;

    mlp_rng rng;
    mlp_rng_seed(&rng, o->seed ^ 0x5eed5eed5eedULL); /* a stream apart from the init's */
    size_t batch = o->batch_size ? o->batch_size : 200;
    st = prepare_loop(&s, o, X, labels, n, batch < n ? batch : n, net->n_params, &rng);
    if (st != MLP_OK) goto done;
    if (batch > s.n_train) batch = s.n_train; /* scikit-learn clips to the sample count */
    /* Also room for scoring the validation rows (mlp_predict works in chunks of at least 1024
     * rows, or the workspace's size), so that nothing is allocated inside the epoch loop. */
    size_t ws_rows = s.n_val < 1024 ? s.n_val : 1024;
    st = mlp_net_reserve(net, batch > ws_rows ? batch : ws_rows);
    if (st != MLP_OK) goto done;

    double best_loss = INFINITY, best_val = -INFINITY, train_time = 0.0;
    size_t no_improve = 0, samples_seen = 0;
    float lr = o->lr;
    for (size_t epoch = 1; epoch <= o->max_iter; epoch++) {
        st = grow_curve(&r, epoch - 1, &curve_cap, s.n_val > 0);
        if (st != MLP_OK) goto done;
        const int cur = (int)(epoch & 1);
        mlp_net_save_state(net, s.snap[cur], &s.snap_step[cur]);
        double t0 = now_s(), sum = 0.0;
        size_t bad_batch = SIZE_MAX;
        if (o->shuffle) shuffle(s.order, s.n_train, &rng);
        for (size_t b0 = 0; b0 < s.n_train; b0 += batch) {
            size_t nb = s.n_train - b0 < batch ? s.n_train - b0 : batch;
            mlp_batch bt = {.X = X,
                            .T = s.T,
                            .rows = s.order + b0,
                            .n = nb,
                            .d = d,
                            .k = s.k,
                            .Xb = s.Xb,
                            .Yb = s.Yb};
            float loss;
            st = step(step_ctx, net, &bt, &loss);
            if (st != MLP_OK) goto done;
            r.steps++;
            if (!isfinite(loss)) {
                bad_batch = b0 / batch;
                break;
            }
            sum += (double)loss * (double)nb;
        }
        train_time += now_s() - t0;
        float epoch_loss = (float)(sum / (double)s.n_train);
        if (bad_batch != SIZE_MAX || !isfinite(epoch_loss) || !mlp_net_params_finite(net)) {
            /* Back to the latest weights that gave a finite loss on a batch. */
            int back = bad_batch == 0 && epoch > 1 ? cur ^ 1 : cur;
            mlp_net_restore_state(net, s.snap[back], s.snap_step[back]);
            size_t kept = back == cur ? epoch - 1 : epoch - 2;
            r.epochs = epoch - 1;
            st = mlp_fail(MLP_ERR_DIVERGED,
                          "mlp_fit: training diverged at epoch %zu, batch %zu (non-finite loss or "
                          "weights); the net holds the weights after epoch %zu. Lower the "
                          "learning rate.",
                          epoch, bad_batch == SIZE_MAX ? 0 : bad_batch + 1, kept);
            goto done;
        }
        samples_seen += s.n_train;
        r.epochs = epoch;
        r.loss = epoch_loss;
        r.loss_curve[epoch - 1] = epoch_loss;

        /* scikit-learn's _update_no_improvement_count. */
        double score = NAN;
        if (s.n_val) {
            st = val_score(net, &s, &score);
            if (st != MLP_OK) goto done;
            r.val_scores[epoch - 1] = (float)score;
            no_improve = score < best_val + o->tol ? no_improve + 1 : 0;
            if (score > best_val) {
                best_val = score;
                memcpy(s.best, net->params, net->n_params * sizeof(float));
            }
        } else {
            no_improve = epoch_loss > best_loss - o->tol ? no_improve + 1 : 0;
        }
        if (epoch_loss < best_loss) best_loss = epoch_loss;
        r.best_loss = (float)best_loss;

        if (o->solver == MLP_OPT_SGD && o->schedule == MLP_LR_INVSCALING) {
            lr = (float)(o->lr / pow((double)samples_seen + 1.0, o->power_t));
            net->opt.lr = lr;
        }
        if (o->callback) {
            mlp_epoch_info info = {.epoch = epoch,
                                   .loss = epoch_loss,
                                   .val_score = (float)score,
                                   .seconds = train_time,
                                   .samples_per_s = (double)samples_seen / train_time};
            if (o->callback(&info, o->user)) {
                r.stopped_by_callback = 1;
                break;
            }
        }
        if (no_improve > o->n_iter_no_change) {
            if (o->solver == MLP_OPT_SGD && o->schedule == MLP_LR_ADAPTIVE && lr > 1e-6f) {
                lr /= 5.0f;
                net->opt.lr = lr;
                no_improve = 0;
            } else {
                r.converged = 1;
                break;
            }
        }
    }
    if (s.n_val) {
        memcpy(net->params, s.best, net->n_params * sizeof(float));
        r.best_val_score = (float)best_val;
    }
    r.seconds = train_time;
    r.samples_per_s = train_time > 0 ? (double)samples_seen / train_time : 0.0;
    st = MLP_OK;
done:
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
