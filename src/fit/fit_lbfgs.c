/* fit's LBFGS solver (scikit-learn's solver='lbfgs'): full-batch L-BFGS from liblbfgs on the loss
 * of all training rows, L2 included. liblbfgs owns the quasi-Newton update and the line search;
 * this file gives it the objective and applies scipy L-BFGS-B's stopping rules (which scikit-learn
 * relies on) in its progress callback:
 *   evaluate  x (double) -> the net's float parameters; per chunk of rows a forward and a backward
 *             pass through the library's batched step (threads and tiling as any pass), the
 *             gradients summed in chunk order into g (double), the loss from the row losses
 *   progress  one curve entry per iteration; stop on max_iter, max_fun, max|g| <= tol, or a
 *             relative decrease of the loss below scipy's factr test; the epoch callback
 * The chunks are fixed by the row count alone, so results do not depend on the thread count. */
#define _POSIX_C_SOURCE 200809L
#include "fit/fit_internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

#ifndef MLP_HAVE_LBFGS
bool mlp_fit_lbfgs_available(void) {
    return false;
}

mlp_status mlp_fit_lbfgs(mlp_fit_state *s, mlp_net *net, const mlp_fit_data *in,
                         const mlp_fit_options *o, mlp_fit_result *r) {
    (void)s, (void)net, (void)in, (void)o, (void)r;
    return mlp_fail(MLP_ERR_ARG, "mlp_fit: this mlp was built without liblbfgs: no solver lbfgs");
}

double mlp_fit_lbfgs_bytes(double n_params) {
    (void)n_params;
    return 0.0;
}
#else
#include <lbfgs.h>

bool mlp_fit_lbfgs_available(void) {
    return true;
}

/* scipy's L-BFGS-B defaults (scipy.optimize.minimize(method='L-BFGS-B')), which scikit-learn uses:
 * 10 corrections, at most 20 line-search trials, More-Thuente sufficient decrease 1e-3, and the
 * loss test ftol = factr * eps = 1e7 * 2.2e-16. */
#define LBFGS_CORRECTIONS 10
#define LBFGS_MAX_LINESEARCH 20
#define LBFGS_LS_FTOL 1e-3
#define LBFGS_FACTR_TOL 2.220446049250313e-09

/* Why the run ended early: the progress callback's rules, or options.interrupt (read in
 * evaluate and progress). */
typedef enum stop_reason {
    RUN_ON = 0,
    STOP_CONVERGED,
    STOP_LIMIT,
    STOP_CALLBACK,
    STOP_INTERRUPT
} stop_reason;

typedef struct lbfgs_run {
    mlp_fit_state *s;
    mlp_net *net;
    const mlp_fit_data *in;
    const mlp_fit_options *o;
    mlp_fit_result *r;
    float *params; /* the net's parameters (mlp_net_params) */
    const float *grads;
    size_t n_params;
    size_t n_fun;     /* objective evaluations */
    double prev_loss; /* the loss at the previous iteration's point */
    double t0;
    stop_reason stop;
    bool bad_start; /* the loss at the initial weights was not finite */
    mlp_status st;  /* a failure inside a callback */
} lbfgs_run;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* options.interrupt is set: the run stops (run->stop). */
static bool interrupted(lbfgs_run *run) {
    if (run->stop == STOP_INTERRUPT) return true;
    if (!run->o->interrupt || !*run->o->interrupt) return false;
    run->stop = STOP_INTERRUPT;
    return true;
}

/* Loss and gradient of the training rows at the net's current parameters, into g; the loss, or
 * +inf when it or a gradient is not finite (the line search then shortens its step), or when an
 * interrupt came between two chunks. */
static double objective(lbfgs_run *run, double *g) {
    const mlp_fit_data *in = run->in;
    const mlp_fit_state *s = run->s;
    const size_t n = s->n_train, k = s->out_width;
    double data = 0.0;
    float probe = 0.0f;
    for (size_t r0 = 0; r0 < n; r0 += MLP_LBFGS_CHUNK) {
        const size_t rows = n - r0 < MLP_LBFGS_CHUNK ? n - r0 : MLP_LBFGS_CHUNK;
        if (r0 > 0 && interrupted(run)) return INFINITY;
        double part = 0.0;
        /* The L2 term once, with the first chunk's gradients; every chunk is divided by the whole
         * set's weight, so the sum is the full-batch gradient. */
        mlp_status st = mlp_forward(run->net, in->X + r0 * in->d, rows);
        if (st == MLP_OK)
            st = mlp_backward_scaled(run->net, s->T + r0 * k, s->sw ? s->sw + r0 : NULL,
                                     s->sw_train, r0 == 0, &part);
        if (st != MLP_OK) {
            run->st = st;
            return INFINITY;
        }
        data += part;
        /* The chunk's gradients into g (the first one starts it), and the finiteness probe in the
         * same pass: a sum of finite floats in double stays finite. */
        const float *restrict gr = run->grads;
        if (r0 == 0) {
#pragma omp simd reduction(+ : probe)
            for (size_t i = 0; i < run->n_params; i++) {
                probe += gr[i] * 0.0f;
                g[i] = gr[i];
            }
        } else {
#pragma omp simd reduction(+ : probe)
            for (size_t i = 0; i < run->n_params; i++) {
                probe += gr[i] * 0.0f;
                g[i] += gr[i];
            }
        }
    }
    /* The L2 chunks are the first chunk's (the weights do not change between chunks). */
    const double loss = mlp_regularised_loss(run->net, data / s->sw_train, s->sw_train);
    return isfinite(loss) && probe == 0.0f ? loss : INFINITY;
}

static lbfgsfloatval_t evaluate(void *instance, const lbfgsfloatval_t *x, lbfgsfloatval_t *g,
                                const int n, const lbfgsfloatval_t step) {
    (void)step;
    lbfgs_run *run = instance;
    double loss = INFINITY;
    if (!interrupted(run)) {
        for (int i = 0; i < n; i++) run->params[i] = (float)x[i];
        loss = objective(run, g);
    }
    /* Interrupted: +inf at every trial point makes the line search fail, and liblbfgs returns to
     * the last accepted point; interrupted in the first evaluation, a zero gradient ends it at
     * once with the initial weights. Not counted as an evaluation. */
    if (run->stop == STOP_INTERRUPT) {
        if (run->n_fun == 0) memset(g, 0, (size_t)n * sizeof *g);
        return INFINITY;
    }
    if (run->n_fun == 0) run->prev_loss = loss; /* the first iteration's decrease is from here */
    /* Nowhere to go from a non-finite start: a zero gradient ends liblbfgs at once. */
    if (run->n_fun++ == 0 && !isfinite(loss)) {
        run->bad_start = true;
        memset(g, 0, (size_t)n * sizeof *g);
    }
    return loss;
}

/* scipy's tests, after an iteration: the projected gradient's largest entry (no bounds here: the
 * gradient's) at most tol, or a relative decrease of the loss at most factr * eps. */
static bool converged(const lbfgs_run *run, const double *g, double loss) {
    double gmax = 0.0;
    for (size_t i = 0; i < run->n_params; i++) gmax = fmax(gmax, fabs(g[i]));
    if (gmax <= (double)run->o->tol) return true;
    const double scale = fmax(fmax(fabs(run->prev_loss), fabs(loss)), 1.0);
    return (run->prev_loss - loss) / scale <= LBFGS_FACTR_TOL;
}

/* Records iteration k (1-based) and the epoch callback; returns 1 to stop. */
static int progress(void *instance, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
                    const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
                    const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step, int n, int k, int ls) {
    (void)x, (void)xnorm, (void)gnorm, (void)step, (void)n, (void)ls;
    lbfgs_run *run = instance;
    mlp_fit_result *r = run->r;
    const size_t it = (size_t)k;
    run->st = mlp_fit_grow_curves(r, it - 1, &run->s->curve_cap, false);
    if (run->st != MLP_OK) return 1;
    r->epochs = it;
    r->loss = (float)fx;
    r->loss_curve[it - 1] = (float)fx;
    if (fx < run->s->best_loss) run->s->best_loss = fx;
    r->best_loss = (float)run->s->best_loss;
    run->s->train_time = now_s() - run->t0;
    if (run->o->callback) {
        const double done = (double)run->n_fun * (double)run->s->n_train;
        const mlp_epoch_info info = {.epoch = it,
                                     .loss = (float)fx,
                                     .val_score = NAN,
                                     .seconds = run->s->train_time,
                                     .samples_per_s = done / fmax(run->s->train_time, 1e-300),
                                     .val_loss = NAN,
                                     .lr = NAN};
        if (run->o->callback(&info, run->o->user)) run->stop = STOP_CALLBACK;
    }
    if (run->stop == RUN_ON && converged(run, g, fx)) run->stop = STOP_CONVERGED;
    if (run->stop == RUN_ON && (it >= run->o->max_iter || run->n_fun > run->o->max_fun))
        run->stop = STOP_LIMIT;
    if (run->stop == RUN_ON) (void)interrupted(run);
    run->prev_loss = fx;
    return run->stop != RUN_ON;
}

/* liblbfgs's settings for scipy's behaviour; its own convergence tests are off (epsilon 0, no
 * delta test): progress() applies scipy's. */
static lbfgs_parameter_t scipy_like_parameters(void) {
    lbfgs_parameter_t p;
    lbfgs_parameter_init(&p);
    p.m = LBFGS_CORRECTIONS;
    p.epsilon = 0.0;
    p.past = 0;
    p.max_iterations = 0;
    p.linesearch = LBFGS_LINESEARCH_MORETHUENTE;
    p.max_linesearch = LBFGS_MAX_LINESEARCH;
    p.ftol = LBFGS_LS_FTOL;
    return p;
}

/* The status of a finished run from liblbfgs's return code: stopping by our rules or by its line
 * search running out of progress (scipy's ABNORMAL_TERMINATION_IN_LNSRCH: the net keeps the last
 * accepted point, as scikit-learn does) is success. */
static mlp_status run_status(const lbfgs_run *run, int ret) {
    if (run->st != MLP_OK) return run->st;
    if (ret == LBFGSERR_OUTOFMEMORY)
        return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: lbfgs: out of memory for its corrections");
    if (run->bad_start)
        return mlp_fail(MLP_ERR_DIVERGED, "mlp_fit: lbfgs: the loss at the initial weights is not "
                                          "finite; the net keeps them");
    /* Codes below LBFGSERR_OUTOFINTERVAL are about the arguments and settings: a bug here. */
    if (ret < LBFGSERR_OUTOFINTERVAL)
        return mlp_fail(MLP_ERR_STATE, "mlp_fit: lbfgs refused its settings (code %d)", ret);
    return MLP_OK;
}

double mlp_fit_lbfgs_bytes(double n_params) {
    return (2.0 * LBFGS_CORRECTIONS + 4.0) * n_params * sizeof(lbfgsfloatval_t);
}

/* liblbfgs keeps (2m + 4) vectors of the parameters' size; the limit applies to them too. */
static mlp_status check_lbfgs_memory(size_t n_params) {
    size_t bytes;
    if (n_params > (size_t)INT32_MAX || !mlp_mul_ok(n_params, sizeof(lbfgsfloatval_t), &bytes))
        return mlp_fail(MLP_ERR_OVERFLOW, "mlp_fit: lbfgs: %zu parameters exceed its int range",
                        n_params);
    return mlp_check_alloc(bytes * (2 * LBFGS_CORRECTIONS + 4), "mlp_fit: lbfgs's corrections");
}

mlp_status mlp_fit_lbfgs(mlp_fit_state *s, mlp_net *net, const mlp_fit_data *in,
                         const mlp_fit_options *o, mlp_fit_result *r) {
    const size_t np = s->n_params;
    mlp_status st = check_lbfgs_memory(np);
    if (st != MLP_OK) return st;
    lbfgsfloatval_t *x = lbfgs_malloc((int)np);
    if (!x) return mlp_fail(MLP_ERR_NOMEM, "mlp_fit: lbfgs: out of memory for %zu parameters", np);
    lbfgs_run run = {.s = s,
                     .net = net,
                     .in = in,
                     .o = o,
                     .r = r,
                     .params = mlp_net_params(net),
                     .grads = mlp_net_grads(net),
                     .n_params = np,
                     .prev_loss = INFINITY,
                     .t0 = now_s()};
    for (size_t i = 0; i < np; i++) x[i] = run.params[i];
    const lbfgs_parameter_t param = scipy_like_parameters();
    lbfgsfloatval_t fx = INFINITY;
    const int ret = lbfgs((int)np, x, &fx, evaluate, progress, &run, (lbfgs_parameter_t *)&param);
    /* x is the last accepted point (liblbfgs steps back when a line search fails). */
    for (size_t i = 0; i < np; i++) run.params[i] = (float)x[i];
    mlp_pass_reset(net); /* the pending pass was made at a trial point */
    lbfgs_free(x);
    s->train_time = now_s() - run.t0;
    s->samples_seen = run.n_fun * s->n_train;
    r->steps = run.n_fun;
    r->converged = run.stop == STOP_CONVERGED;
    r->stopped_by_callback = run.stop == STOP_CALLBACK;
    r->interrupted = run.stop == STOP_INTERRUPT;
    if (r->interrupted && r->epochs == 0) r->loss = r->best_loss = NAN;
    st = run_status(&run, ret);
    if (st == MLP_OK && !mlp_net_params_finite(net))
        st = mlp_fail(MLP_ERR_DIVERGED, "mlp_fit: lbfgs: the weights are not finite");
    return st;
}
#endif /* MLP_HAVE_LBFGS */
