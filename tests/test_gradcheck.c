/* Gradient checks of mlp_backward against central finite differences, for every hidden
 * activation and every output/loss combination, plus checks of the reported loss.
 *
 * The objective whose gradient mlp_backward writes to mlp_net_grads is
 *   J = data + (alpha/(2n)) * sum over all weights (not biases) of W^2
 * with data = -(1/n) sum y log p (SOFTMAX_CE), -(1/n) sum [y log p + (1-y) log(1-p)] (LOGISTIC),
 * (1/(2n)) sum (p-y)^2 (SQUARED; not divided by k, scikit-learn's convention), (1/n) sum
 * [y log(y/p) - y + p] (POISSON, exp output), (1/n) sum huber(p-y) (HUBER, delta 0.5 here so that
 * both of its pieces are met; the same convention).
 *
 * Two numerical gradients are compared with the analytic one:
 *  1. float: the library's own forward pass (mlp_predict) with each float parameter moved by
 *     +-h, h = 1e-3 (the actually representable step is used), J computed in double from the
 *     float outputs. Criterion: ||a - num|| / (||a|| + ||num||) < 1e-2 over the whole vector.
 *  2. double: a naive double-precision forward pass of the same net with h = 1e-6. Criterion,
 *     per component: |a - num| <= 1e-3 |num| + 1e-4 max(max|num|, 1e-2).
 * ReLU/leaky kinks are avoided by drawing parameters until no hidden RELU/LEAKY_RELU
 * pre-activation is within 0.02 of 0 (checked with the double forward pass).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_util.h"

#include <float.h>
#include <stdio.h>

#define ALPHA 1e-3f

typedef struct combo {
    mlp_activation out;
    mlp_loss loss;
} combo;

static const combo combos[] = {
    {MLP_ACT_SOFTMAX, MLP_LOSS_SOFTMAX_CE}, {MLP_ACT_LOGISTIC, MLP_LOSS_LOGISTIC},
    {MLP_ACT_IDENTITY, MLP_LOSS_SQUARED},   {MLP_ACT_TANH, MLP_LOSS_SQUARED},
    {MLP_ACT_LOGISTIC, MLP_LOSS_SQUARED},   {MLP_ACT_SOFTMAX, MLP_LOSS_SQUARED},
    {MLP_ACT_GELU, MLP_LOSS_SQUARED},       {MLP_ACT_EXP, MLP_LOSS_POISSON},
    {MLP_ACT_IDENTITY, MLP_LOSS_HUBER},     {MLP_ACT_TANH, MLP_LOSS_HUBER},
    {MLP_ACT_EXP, MLP_LOSS_HUBER},          {MLP_ACT_EXP, MLP_LOSS_SQUARED},
};
#define N_COMBOS (sizeof combos / sizeof combos[0])

static const mlp_activation hidden_acts[] = {MLP_ACT_IDENTITY, MLP_ACT_RELU,       MLP_ACT_LOGISTIC,
                                             MLP_ACT_TANH,     MLP_ACT_LEAKY_RELU, MLP_ACT_GELU};
#define N_HIDDEN (sizeof hidden_acts / sizeof hidden_acts[0])

typedef struct arch {
    size_t n_layers;
    size_t sizes[4];
    size_t n; /* batch */
} arch;

static const arch archs[] = {
    {2, {3, 7, 5, 0}, 5},
    {3, {4, 6, 5, 3}, 7},
    {3, {1, 3, 17, 1}, 5},
};
#define N_ARCHS (sizeof archs / sizeof archs[0])

static void fill_targets(float *Y, size_t n, size_t k, const combo *c, tu_rng *r) {
    if (c->loss == MLP_LOSS_SOFTMAX_CE) {
        tu_fill_onehot(Y, NULL, n, k, r);
    } else if (c->loss == MLP_LOSS_LOGISTIC) {
        for (size_t i = 0; i < n * k; i++) Y[i] = (tu_rng_next(r) >> 63) ? 1.0f : 0.0f;
    } else if (c->loss == MLP_LOSS_POISSON) {
        /* counts-like targets, with zeros (the xlogy term) */
        for (size_t i = 0; i < n * k; i++)
            Y[i] = (tu_rng_next(r) >> 62) == 0 ? 0.0f : (float)(tu_rng_next(r) % 5);
    } else if (c->out == MLP_ACT_LOGISTIC || c->out == MLP_ACT_SOFTMAX || c->out == MLP_ACT_EXP) {
        tu_fill_uniform(Y, n * k, r, 0, 1);
    } else {
        tu_fill_uniform(Y, n * k, r, -1, 1);
    }
}

/* J in double from float outputs and the current float parameters. */
static double objective_from_float(const float *P, const float *Y, const float *params,
                                   const arch *a, mlp_loss loss) {
    size_t k = a->sizes[a->n_layers];
    double *Pd = tu_doubles(a->n * k);
    for (size_t i = 0; i < a->n * k; i++) Pd[i] = P[i];
    double J = tu_objective_data(Pd, Y, a->n, k, loss) +
               tu_l2_term(params, a->sizes, a->n_layers, ALPHA, a->n);
    free(Pd);
    return J;
}

/* J entirely in double with a naive forward pass. */
static double objective_ref(const double *params, const float *X, const float *Y,
                            const mlp_activation *acts, const arch *a, mlp_loss loss,
                            double *min_kink) {
    size_t k = a->sizes[a->n_layers];
    double *P = tu_doubles(a->n * k);
    tu_forward_ref(P, params, a->sizes, acts, a->n_layers, X, a->n, min_kink);
    double J = tu_objective_data(P, Y, a->n, k, loss);
    double s = 0.0;
    size_t off = 0;
    for (size_t l = 0; l < a->n_layers; l++) {
        size_t nw = a->sizes[l] * a->sizes[l + 1];
        for (size_t i = 0; i < nw; i++) s += params[off + i] * params[off + i];
        off += nw + a->sizes[l + 1];
    }
    free(P);
    return J + (double)ALPHA / (2.0 * (double)a->n) * s;
}

static void check_one(const arch *a, mlp_activation hid, const combo *c, uint64_t seed) {
    const size_t L = a->n_layers, n = a->n, d = a->sizes[0], k = a->sizes[L];
    mlp_activation acts[3];
    for (size_t l = 0; l + 1 < L; l++) acts[l] = hid;
    acts[L - 1] = c->out;

    mlp_net *net = tu_make_net_opt(a->sizes, acts, L, c->loss, seed, MLP_OPT_ADAM, 1e-3f, ALPHA);
    assert_non_null(net);
    tu_huber_delta = c->loss == MLP_LOSS_HUBER ? 0.5 : 1.0;
    if (c->loss == MLP_LOSS_HUBER) assert_int_equal(mlp_net_set_huber_delta(net, 0.5f), MLP_OK);
    const size_t np = mlp_net_param_count(net);
    assert_int_equal(np, tu_param_count(a->sizes, L));

    float *X = tu_floats(n * d), *Y = tu_floats(n * k), *params = tu_floats(np);
    float *ga = tu_floats(np), *P = tu_floats(n * k);
    double *pd = tu_doubles(np), *Pref = tu_doubles(n * k);
    tu_rng r;
    tu_rng_seed(&r, seed * 7919 + 13);
    /* Draw data and parameters until no hidden ReLU-type unit sits near its kink. */
    int found = 0;
    for (int attempt = 0; attempt < 200 && !found; attempt++) {
        tu_fill_uniform(X, n * d, &r, -1, 1);
        tu_fill_uniform(params, np, &r, -0.8, 0.8);
        for (size_t i = 0; i < np; i++) pd[i] = params[i];
        double min_kink;
        tu_forward_ref(Pref, pd, a->sizes, acts, L, X, n, &min_kink);
        found = min_kink >= 0.02;
    }
    assert_true(found);
    fill_targets(Y, n, k, c, &r);
    assert_int_equal(mlp_net_set_params(net, params, np), MLP_OK);

    /* Forward output matches the naive forward pass. */
    assert_int_equal(mlp_forward(net, X, n), MLP_OK);
    const float *out = mlp_forward_output(net);
    assert_non_null(out);
    for (size_t i = 0; i < n * k; i++) {
        if (!(fabs(out[i] - Pref[i]) <= 1e-5 * (1.0 + fabs(Pref[i])))) {
            print_error("forward hid=%d out=%d loss=%d elem %zu: got %.9g want %.9g\n", (int)hid,
                        (int)c->out, (int)c->loss, i, (double)out[i], Pref[i]);
            fail();
        }
    }
    memcpy(P, out, n * k * sizeof(float));

    float loss = -1.0f;
    assert_int_equal(mlp_backward(net, Y, &loss), MLP_OK);
    memcpy(ga, mlp_net_grads(net), np * sizeof(float));

    /* Reported loss: scikit-learn's value (SQUARED divided by k too, clipped logs) + L2. */
    double want_loss =
        tu_reported_data(P, Y, n, k, c->loss) + tu_l2_term(params, a->sizes, L, ALPHA, n);
    if (!(fabs(loss - want_loss) <= 1e-5 * fabs(want_loss) + 1e-7)) {
        print_error("reported loss hid=%d out=%d loss=%d: got %.9g want %.9g\n", (int)hid,
                    (int)c->out, (int)c->loss, (double)loss, want_loss);
        fail();
    }

    /* 1. float finite differences through the library's forward pass. */
    float *live = mlp_net_params(net);
    double num2 = 0, an2 = 0, diff2 = 0;
    for (size_t i = 0; i < np; i++) {
        const float orig = params[i];
        const float hi = orig + 1e-3f, lo = orig - 1e-3f;
        live[i] = hi;
        assert_int_equal(mlp_predict(net, X, n, P), MLP_OK);
        double jp = objective_from_float(P, Y, live, a, c->loss);
        live[i] = lo;
        assert_int_equal(mlp_predict(net, X, n, P), MLP_OK);
        double jm = objective_from_float(P, Y, live, a, c->loss);
        live[i] = orig;
        double num = (jp - jm) / ((double)hi - (double)lo);
        num2 += num * num;
        an2 += (double)ga[i] * ga[i];
        diff2 += (num - ga[i]) * (num - ga[i]);
    }
    double rel = sqrt(diff2) / (sqrt(num2) + sqrt(an2) + 1e-12);
    if (!(rel < 1e-2)) {
        print_error("float gradcheck sizes[1]=%zu hid=%d out=%d loss=%d: rel err %.3g\n",
                    a->sizes[1], (int)hid, (int)c->out, (int)c->loss, rel);
        fail();
    }
    assert_true(an2 > 0.0); /* the check is not vacuous */

    /* 2. double finite differences through the naive forward pass. */
    double *gn = tu_doubles(np), gmax = 0.0;
    for (size_t i = 0; i < np; i++) {
        const double orig = pd[i], h = 1e-6;
        pd[i] = orig + h;
        double jp = objective_ref(pd, X, Y, acts, a, c->loss, NULL);
        pd[i] = orig - h;
        double jm = objective_ref(pd, X, Y, acts, a, c->loss, NULL);
        pd[i] = orig;
        gn[i] = (jp - jm) / (2 * h);
        if (fabs(gn[i]) > gmax) gmax = fabs(gn[i]);
    }
    double floor_ = 1e-4 * (gmax > 1e-2 ? gmax : 1e-2);
    for (size_t i = 0; i < np; i++) {
        if (!(fabs(ga[i] - gn[i]) <= 1e-3 * fabs(gn[i]) + floor_)) {
            print_error("double gradcheck arch sizes[1]=%zu hid=%d out=%d loss=%d param %zu: "
                        "analytic %.9g numeric %.9g\n",
                        a->sizes[1], (int)hid, (int)c->out, (int)c->loss, i, (double)ga[i], gn[i]);
            fail();
        }
    }

    /* mlp_loss_value and mlp_train_step report the same loss for the same parameters. */
    float lv = -1.0f, ls = -1.0f;
    assert_int_equal(mlp_loss_value(net, X, Y, n, &lv), MLP_OK);
    TU_ASSERT_NEAR(lv, loss, 1e-6 * fabs(loss) + 1e-7);
    assert_int_equal(mlp_train_step(net, X, Y, n, &ls), MLP_OK);
    TU_ASSERT_NEAR(ls, loss, 1e-6 * fabs(loss) + 1e-7);
    assert_true(memcmp(mlp_net_params(net), params, np * sizeof(float)) != 0);

    free(X), free(Y), free(params), free(ga), free(P), free(pd), free(Pref), free(gn);
    mlp_net_free(net);
}

static void test_gradcheck_all(void **state) {
    (void)state;
    uint64_t seed = 1;
    size_t checked = 0;
    for (size_t a = 0; a < N_ARCHS; a++)
        for (size_t h = 0; h < N_HIDDEN; h++)
            for (size_t c = 0; c < N_COMBOS; c++) {
                /* A single softmax output is constant 1: nothing to check. */
                if (archs[a].sizes[archs[a].n_layers] == 1 && combos[c].out == MLP_ACT_SOFTMAX)
                    continue;
                check_one(&archs[a], hidden_acts[h], &combos[c], seed++);
                checked++;
            }
    /* 3 archs x 6 hidden x 12 combos, minus 6 x 2 softmax combos on the single-output arch */
    assert_int_equal(checked, 3 * 6 * 12 - 12);
}

/* A net {in, out} of one layer (activation act, loss), Glorot init with seed 3, optimizer kind
 * with lr 0.1 and alpha, its parameters params (W [in x out] then b [out]). */
static mlp_net *hand_net(size_t in, size_t out, mlp_activation act, mlp_loss loss,
                         mlp_optimizer_kind kind, float alpha, const float *params) {
    const size_t sizes[] = {in, out};
    mlp_net *net = tu_make_net_opt(sizes, &act, 1, loss, 3, kind, 0.1f, alpha);
    assert_non_null(net);
    assert_int_equal(mlp_net_set_params(net, params, in * out + out), MLP_OK);
    return net;
}

/* mlp_forward then mlp_backward of the one row x with targets y: the loss is want_loss and the
 * gradients are want_grads[0..count), each to 1e-6. */
static void check_pass(mlp_net *net, const float *x, const float *y, double want_loss,
                       const double *want_grads, size_t count) {
    assert_int_equal(mlp_forward(net, x, 1), MLP_OK);
    float loss = 0;
    assert_int_equal(mlp_backward(net, y, &loss), MLP_OK);
    TU_ASSERT_NEAR(loss, want_loss, 1e-6);
    const float *g = mlp_net_grads(net);
    for (size_t i = 0; i < count; i++) TU_ASSERT_NEAR(g[i], want_grads[i], 1e-6);
}

/* Net {1,2}, identity output, SQUARED, alpha 0.1, W = [1 2], b = [0 0], x = 1, y = [0 0]:
 *   p = [1 2]; reported loss = (1 + 4) / (2 * 1 * 2) + 0.1/2 * (1 + 4) = 1.25 + 0.25 = 1.5
 *   dW = (p - y) x / n + alpha W / n = [1 2] + [0.1 0.2] = [1.1 2.2]   (not divided by k)
 *   db = [1 2] */
static void test_squared_hand(void **state) {
    (void)state;
    const float params[] = {1, 2, 0, 0}, x[] = {1}, y[] = {0, 0};
    const double grads[] = {1.1, 2.2, 1.0, 2.0};
    mlp_net *net = hand_net(1, 2, MLP_ACT_IDENTITY, MLP_LOSS_SQUARED, MLP_OPT_SGD, 0.1f, params);
    check_pass(net, x, y, 1.5, grads, 4);
    mlp_net_free(net);
}

/* Net {1,2}, softmax, SOFTMAX_CE, alpha 0, W = [0 ln3], b = 0, x = 1, y = [1 0]:
 *   p = [0.25 0.75]; loss = -ln 0.25 = 1.3862943611; dZ = p - y = [-0.75 0.75] = dW = db. */
static void test_ce_hand(void **state) {
    (void)state;
    const float params[] = {0, (float)log(3.0), 0, 0}, x[] = {1}, y[] = {1, 0};
    const double grads[] = {-0.75, 0.75, -0.75, 0.75};
    mlp_net *net = hand_net(1, 2, MLP_ACT_SOFTMAX, MLP_LOSS_SOFTMAX_CE, MLP_OPT_ADAM, 0.0f, params);
    float p[2];
    assert_int_equal(mlp_predict(net, x, 1, p), MLP_OK);
    TU_ASSERT_NEAR(p[0], 0.25, 1e-6);
    TU_ASSERT_NEAR(p[1], 0.75, 1e-6);
    check_pass(net, x, y, 1.3862943611, grads, 4);
    mlp_net_free(net);
}

/* The clipping of the reported log-loss: p = 1 for the wrong class gives -log(FLT_EPSILON). Net
 * {1,1} logistic/LOGISTIC with w = 0, b = 100 (p = 1 in float), y = 0:
 *   loss = -log(1 - (1 - FLT_EPSILON)) = -log(FLT_EPSILON) = 15.9423851528. */
static void test_logistic_clip_hand(void **state) {
    (void)state;
    const float params[] = {0, 100}, x[] = {1}, y[] = {0};
    mlp_net *net = hand_net(1, 1, MLP_ACT_LOGISTIC, MLP_LOSS_LOGISTIC, MLP_OPT_ADAM, 0.0f, params);
    float loss = 0;
    assert_int_equal(mlp_loss_value(net, x, y, 1, &loss), MLP_OK);
    TU_ASSERT_NEAR(loss, -log((double)FLT_EPSILON), 1e-4);
    mlp_net_free(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck_all),
        cmocka_unit_test(test_squared_hand),
        cmocka_unit_test(test_ce_hand),
        cmocka_unit_test(test_logistic_clip_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
