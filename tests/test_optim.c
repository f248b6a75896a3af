/* Optimizer steps against hand-computed values on a net {1, 1} (p = w x + b), identity output,
 * SQUARED loss, one sample. With n = k = 1 the objective is J = (p - y)^2 / 2 + alpha/2 w^2, so
 *   g_w = (p - y) x + alpha w,  g_b = p - y.
 * Adam (scikit-learn): t += 1; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *   lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); p -= lr_t m / (sqrt(v) + eps).
 * SGD (scikit-learn): vel = momentum vel - lr g; update = nesterov ? momentum vel - lr g : vel;
 *   p += update. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_util.h"

#include <stdio.h>

static const float X1[1] = {2.0f}, Y1[1] = {1.0f};

typedef struct ref_state {
    double p[2]; /* w, b */
    double m[2], v[2];
    uint64_t t;
} ref_state;

static void ref_grad(const ref_state *s, double alpha, double g[2]) {
    double e = s->p[0] * X1[0] + s->p[1] - Y1[0];
    g[0] = e * X1[0] + alpha * s->p[0];
    g[1] = e;
}

static void ref_adam(ref_state *s, const mlp_optimizer *o) {
    double g[2];
    ref_grad(s, o->alpha, g);
    s->t++;
    double lr_t =
        o->lr * sqrt(1.0 - pow(o->beta2, (double)s->t)) / (1.0 - pow(o->beta1, (double)s->t));
    for (int i = 0; i < 2; i++) {
        s->m[i] = o->beta1 * s->m[i] + (1.0 - o->beta1) * g[i];
        s->v[i] = o->beta2 * s->v[i] + (1.0 - o->beta2) * g[i] * g[i];
        s->p[i] -= lr_t * s->m[i] / (sqrt(s->v[i]) + o->eps);
    }
}

static void ref_sgd(ref_state *s, const mlp_optimizer *o) {
    double g[2];
    ref_grad(s, o->alpha, g);
    s->t++;
    for (int i = 0; i < 2; i++) {
        s->m[i] = o->momentum * s->m[i] - o->lr * g[i];
        double upd = o->nesterov ? o->momentum * s->m[i] - o->lr * g[i] : s->m[i];
        s->p[i] += upd;
    }
}

static mlp_net *make_net(float w, float b) {
    const size_t sizes[] = {1, 1};
    const mlp_activation acts[] = {MLP_ACT_IDENTITY};
    mlp_net *net = tu_make_net(sizes, acts, 1, MLP_LOSS_SQUARED, MLP_INIT_GLOROT, 1);
    if (!net) return NULL;
    const float p[2] = {w, b};
    if (mlp_net_set_params(net, p, 2) != MLP_OK) {
        mlp_net_free(net);
        return NULL;
    }
    return net;
}

static void check_params(mlp_net *net, const ref_state *s, int step) {
    const float *p = mlp_net_params(net);
    if (!(fabs(p[0] - s->p[0]) <= 1e-6 && fabs(p[1] - s->p[1]) <= 1e-6)) {
        print_error("step %d: got (%.9g, %.9g) want (%.9g, %.9g)\n", step, (double)p[0],
                    (double)p[1], s->p[0], s->p[1]);
        fail();
    }
}

/* The net's parameters are (w, b) to 1e-6 (the hand values of a step). */
static void check_hand_values(mlp_net *net, double w, double b) {
    TU_ASSERT_NEAR(mlp_net_params(net)[0], w, 1e-6);
    TU_ASSERT_NEAR(mlp_net_params(net)[1], b, 1e-6);
}

/* The reference at parameters (w, b), before any step. */
static ref_state ref_start(double w, double b) {
    ref_state s = {{w, b}, {0, 0}, {0, 0}, 0};
    return s;
}

/* The reference at the net's current parameters, before any step. */
static ref_state ref_at(mlp_net *net) {
    return ref_start(mlp_net_params(net)[0], mlp_net_params(net)[1]);
}

/* kind with scikit-learn's defaults, then lr and alpha. */
static mlp_optimizer opt_of(mlp_optimizer_kind kind, float lr, float alpha) {
    mlp_optimizer o = mlp_optimizer_default(kind);
    o.lr = lr;
    o.alpha = alpha;
    return o;
}

/* make_net(w, b) with the optimizer o (asserted). */
static mlp_net *make_net_opt(float w, float b, const mlp_optimizer *o) {
    mlp_net *net = make_net(w, b);
    assert_non_null(net);
    assert_int_equal(mlp_net_set_optimizer(net, o), MLP_OK);
    return net;
}

/* One step with the parts API; checks the gradients and the reported loss on the way. */
static void step_parts(mlp_net *net, double alpha) {
    const float *p = mlp_net_params(net);
    double w = p[0], b = p[1], e = w * X1[0] + b - Y1[0];
    float loss = NAN;
    assert_int_equal(mlp_forward(net, X1, 1), MLP_OK);
    assert_int_equal(mlp_backward(net, Y1, &loss), MLP_OK);
    TU_ASSERT_NEAR(loss, 0.5 * e * e + 0.5 * alpha * w * w, 1e-6);
    const float *g = mlp_net_grads(net);
    TU_ASSERT_NEAR(g[0], e * X1[0] + alpha * w, 1e-6);
    TU_ASSERT_NEAR(g[1], e, 1e-6);
    assert_int_equal(mlp_update(net), MLP_OK);
}

/* Steps 1..3 of net beside the reference s (ref_adam or ref_sgd, as o->kind says), each through
 * mlp_train_step (its loss checked) or, if parts, through step_parts; alpha is o's. The parameters
 * follow the reference, are hand[0], hand[1] after step 1 (if hand is not NULL), and the step
 * count counts the steps. */
static void check_three_steps(mlp_net *net, const mlp_optimizer *o, ref_state *s, int parts,
                              const double *hand) {
    for (int step = 1; step <= 3; step++) {
        if (parts) {
            step_parts(net, o->alpha);
        } else {
            float loss = NAN;
            assert_int_equal(mlp_train_step(net, X1, Y1, 1, &loss), MLP_OK);
            double e = s->p[0] * X1[0] + s->p[1] - Y1[0];
            TU_ASSERT_NEAR(loss, 0.5 * e * e + 0.5 * o->alpha * s->p[0] * s->p[0], 1e-6);
        }
        if (o->kind == MLP_OPT_ADAM)
            ref_adam(s, o);
        else
            ref_sgd(s, o);
        check_params(net, s, step);
        if (step == 1 && hand) check_hand_values(net, hand[0], hand[1]);
        assert_int_equal(mlp_net_step_count(net), (uint64_t)step);
    }
}

/* Hand values of the first Adam step from w = 0.5, b = -0.25, lr 0.1, alpha 0:
 *   p = 0.75, e = -0.25, g = (-0.5, -0.25); m = 0.1 g; v = 0.001 g^2;
 *   lr_t = 0.1 sqrt(0.001) / 0.1 = 0.0316228; step = lr_t * 0.1 g / (0.0316228 |g| + 1e-8)
 *   = -0.1 sign(g) (to 1e-7) -> w = 0.6, b = -0.15. */
static void test_adam_steps(void **state) {
    (void)state;
    const double hand[2] = {0.6, -0.15};
    for (int parts = 0; parts < 2; parts++) {
        const mlp_optimizer o = opt_of(MLP_OPT_ADAM, 0.1f, 0.0f);
        mlp_net *net = make_net_opt(0.5f, -0.25f, &o);
        ref_state s = ref_start(0.5, -0.25);
        check_three_steps(net, &o, &s, parts, hand);
        mlp_net_free(net);
    }
}

/* Adam with L2 (alpha 0.2) and non-default betas / eps. */
static void test_adam_l2_custom(void **state) {
    (void)state;
    mlp_optimizer o = opt_of(MLP_OPT_ADAM, 0.05f, 0.2f);
    o.beta1 = 0.5f;
    o.beta2 = 0.75f;
    o.eps = 1e-3f;
    mlp_net *net = make_net_opt(-0.3f, 0.4f, &o);
    ref_state s = ref_start(-0.3, 0.4);
    check_three_steps(net, &o, &s, 1, NULL);
    mlp_net_free(net);
}

/* Hand values of the first SGD step from w = 0.5, b = -0.25, lr 0.1, momentum 0.9, alpha 0,
 * g = (-0.5, -0.25): vel = (0.05, 0.025).
 *   plain momentum: update = vel -> w = 0.55, b = -0.225
 *   Nesterov: update = 0.9 vel + 0.1 (0.5, 0.25) = (0.095, 0.0475) -> w = 0.595, b = -0.2025 */
static void test_sgd_steps(void **state) {
    (void)state;
    const double hand[2][2] = {{0.55, -0.225}, {0.595, -0.2025}}; /* [nesterov] */
    for (int nesterov = 0; nesterov < 2; nesterov++)
        for (int parts = 0; parts < 2; parts++) {
            mlp_optimizer o = opt_of(MLP_OPT_SGD, 0.1f, 0.0f);
            o.momentum = 0.9f;
            o.nesterov = nesterov;
            mlp_net *net = make_net_opt(0.5f, -0.25f, &o);
            ref_state s = ref_start(0.5, -0.25);
            check_three_steps(net, &o, &s, parts, hand[nesterov]);
            mlp_net_free(net);
        }
}

/* SGD with L2 (alpha 0.1) and momentum 0: plain gradient descent on J.
 * Step 1 by hand from w = 0.5, b = -0.25, lr 0.1: g_w = -0.5 + 0.1*0.5 = -0.45, g_b = -0.25
 *   -> w = 0.545, b = -0.225. */
static void test_sgd_l2_no_momentum(void **state) {
    (void)state;
    const double hand[2] = {0.545, -0.225};
    mlp_optimizer o = opt_of(MLP_OPT_SGD, 0.1f, 0.1f);
    o.momentum = 0.0f;
    o.nesterov = 0;
    mlp_net *net = make_net_opt(0.5f, -0.25f, &o);
    ref_state s = ref_start(0.5, -0.25);
    check_three_steps(net, &o, &s, 1, hand);
    mlp_net_free(net);
}

/* Changing the kind resets the state; changing only hyperparameters keeps it; reset clears. */
static void test_state_rules(void **state) {
    (void)state;
    mlp_optimizer adam = opt_of(MLP_OPT_ADAM, 0.1f, 0.0f);
    mlp_net *net = make_net_opt(0.5f, -0.25f, &adam);
    ref_state s = ref_start(0.5, -0.25);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mlp_train_step(net, X1, Y1, 1, NULL), MLP_OK);
        ref_adam(&s, &adam);
    }
    assert_int_equal(mlp_net_step_count(net), 2);

    /* Only the learning rate changes: state kept, the next step continues with t = 3. */
    adam.lr = 0.05f;
    assert_int_equal(mlp_net_set_optimizer(net, &adam), MLP_OK);
    assert_int_equal(mlp_net_step_count(net), 2);
    assert_int_equal(mlp_train_step(net, X1, Y1, 1, NULL), MLP_OK);
    ref_adam(&s, &adam);
    check_params(net, &s, 3);
    assert_int_equal(mlp_net_step_count(net), 3);

    /* Kind changes to SGD and back to Adam: state reset each time. */
    mlp_optimizer sgd = mlp_optimizer_default(MLP_OPT_SGD);
    sgd.lr = 0.1f;
    assert_int_equal(mlp_net_set_optimizer(net, &sgd), MLP_OK);
    assert_int_equal(mlp_net_step_count(net), 0);
    assert_int_equal(mlp_net_set_optimizer(net, &adam), MLP_OK);
    assert_int_equal(mlp_net_step_count(net), 0);
    /* the net holds float parameters: start the reference from exactly those */
    ref_state fresh = ref_at(net);
    assert_int_equal(mlp_train_step(net, X1, Y1, 1, NULL), MLP_OK);
    ref_adam(&fresh, &adam);
    check_params(net, &fresh, 1);
    assert_int_equal(mlp_net_step_count(net), 1);

    /* Explicit reset. */
    mlp_net_reset_optimizer(net);
    assert_int_equal(mlp_net_step_count(net), 0);
    ref_state fresh2 = ref_at(net);
    assert_int_equal(mlp_train_step(net, X1, Y1, 1, NULL), MLP_OK);
    ref_adam(&fresh2, &adam);
    check_params(net, &fresh2, 1);

    /* SGD velocity is reset by a kind change too: Adam -> SGD, first SGD step has vel = -lr g. */
    sgd.momentum = 0.9f;
    sgd.nesterov = 0;
    sgd.alpha = 0.0f;
    assert_int_equal(mlp_net_set_optimizer(net, &sgd), MLP_OK);
    ref_state fresh3 = ref_at(net);
    assert_int_equal(mlp_train_step(net, X1, Y1, 1, NULL), MLP_OK);
    ref_sgd(&fresh3, &sgd);
    check_params(net, &fresh3, 1);
    mlp_net_free(net);
}

/* mlp_update needs gradients: on a fresh net and after a forward alone it is MLP_ERR_STATE, and
 * the parameters stay untouched. */
static void test_update_without_grads(void **state) {
    (void)state;
    mlp_net *net = make_net(0.5f, -0.25f);
    assert_non_null(net);
    assert_int_equal(mlp_update(net), MLP_ERR_STATE);
    assert_int_equal(mlp_net_step_count(net), 0);
    assert_int_equal(mlp_forward(net, X1, 1), MLP_OK);
    assert_int_equal(mlp_update(net), MLP_ERR_STATE);
    TU_ASSERT_NEAR(mlp_net_params(net)[0], 0.5, 0);
    TU_ASSERT_NEAR(mlp_net_params(net)[1], -0.25, 0);
    assert_int_equal(mlp_net_step_count(net), 0);
    mlp_net_free(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_steps),  cmocka_unit_test(test_adam_l2_custom),
        cmocka_unit_test(test_sgd_steps),   cmocka_unit_test(test_sgd_l2_no_momentum),
        cmocka_unit_test(test_state_rules), cmocka_unit_test(test_update_without_grads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
