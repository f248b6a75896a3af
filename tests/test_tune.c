/* The team a training step runs on, chosen by the clock (src/core/tune.c): the choice follows
 * synthetic step times (team faster, slower, changing), probes grow rare while a choice holds,
 * smaller batches are not measured, and a net whose steps switch between the team and one
 * thread ends with the bits of a one-thread run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TEAM 4

/* The clock of the steps below: each step advances it by its own time, so the tuner measures
 * each step (start to next start) as exactly that. */
static double clock_s;

/* The current choice (what the next measured step runs unless it is a probe). */
static int choice(const mlp_tune *t) {
    return t->one ? 1 : TEAM;
}

/* Runs `steps` steps of n rows through the tuner, each taking team_s on the team and one_s on one
 * thread; returns how many ran on one thread. A step's time is known at the next step's start:
 * a probe of 3 steps is decided at the 4th. */

static int drive(mlp_tune *t, size_t n, int steps, double team_s, double one_s) {
    int ones = 0;
    for (int i = 0; i < steps; i++) {
        const int used = mlp_tune_team(t, TEAM, n, clock_s);
        assert_true(used == 1 || used == TEAM);
        ones += used == 1;
        clock_s += used == 1 ? one_s : team_s;
    }
    return ones;
}

static void test_team_kept_when_faster(void **state) {
    (void)state;
    mlp_tune t;
    memset(&t, 0, sizeof t);
    const int ones = drive(&t, 200, 2000, 1.0e-3, 1.6e-3);
    assert_int_equal(choice(&t), TEAM);
    /* Probes at 8, 16, 32, ... up to every 256 steps, 3 steps each: about 10 probes in 2000. */
    assert_true(ones > 0 && ones <= 3 * 12);
    assert_int_equal(t.steps, 2000);
    assert_int_equal(t.team_steps, 2000 - (uint64_t)ones);
}

static void test_one_thread_chosen_when_faster(void **state) {
    (void)state;
    mlp_tune t;
    memset(&t, 0, sizeof t);
    drive(&t, 200, 12, 1.2e-3, 1.0e-3); /* 8 steps on the team, a 3-step probe, its end */
    assert_int_equal(choice(&t), 1);
    const int ones = drive(&t, 200, 2000, 1.2e-3, 1.0e-3);
    assert_true(ones >= 2000 - 3 * 12);
}

/* Within the 3% margin the choice holds: no switching back and forth on noise. */
static void test_margin_holds_the_choice(void **state) {
    (void)state;
    mlp_tune t;
    memset(&t, 0, sizeof t);
    const int ones = drive(&t, 200, 2000, 1.0e-3, 0.98e-3);
    assert_int_equal(choice(&t), TEAM);
    assert_true(ones <= 3 * 12);
}

/* The team turns slow after a long settled run (a host that moved the vCPUs): one thread is
 * chosen within two periods of 256 steps and their probes (the first probe may start before the
 * last step timed on the old speed), and the team again when it recovers. */
static void test_follows_a_change(void **state) {
    (void)state;
    mlp_tune t;
    memset(&t, 0, sizeof t);
    drive(&t, 200, 3000, 1.0e-3, 1.6e-3);
    assert_int_equal(choice(&t), TEAM);
    drive(&t, 200, 2 * (256 + 4), 2.0e-3, 1.6e-3);
    assert_int_equal(choice(&t), 1);
    drive(&t, 200, 2 * (256 + 4), 1.0e-3, 1.6e-3); /* and back */
    assert_int_equal(choice(&t), TEAM);
}

/* A probe's slowest step (a wake-up, an interrupt) does not decide: the fastest does. */
static void test_one_slow_step_does_not_decide(void **state) {
    (void)state;
    mlp_tune t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 12; i++) {
        const int used = mlp_tune_team(&t, TEAM, 200, clock_s);
        clock_s += used == 1 ? 1.0e-3 : i == 6 ? 9.0e-3 : 1.2e-3;
    }
    assert_int_equal(choice(&t), 1);
}

/* Smaller batches (an epoch's last) run the current choice and are not measured; a larger one
 * starts the measurement over; a step without a team is left alone. */
static void test_batch_sizes_and_no_team(void **state) {
    (void)state;
    mlp_tune t;
    memset(&t, 0, sizeof t);
    drive(&t, 200, 12, 1.2e-3, 1.0e-3);
    assert_int_equal(choice(&t), 1);
    /* 37 rows, however fast on the team, neither probe nor change the choice. */
    assert_int_equal(drive(&t, 37, 500, 1.0e-6, 1.0e-3), 500);
    assert_int_equal(choice(&t), 1);
    assert_int_equal(mlp_tune_team(&t, TEAM, 400, clock_s), TEAM);
    assert_int_equal(t.n, 400);
    const uint64_t steps = t.steps;
    assert_int_equal(mlp_tune_team(&t, 1, 400, clock_s), 1);
    assert_int_equal(t.steps, steps);
}

/* A 64-50-10 step at 200 rows switched between the team and one thread at every step ends with
 * the parameters of a run on one thread, bit for bit. */
static void test_switching_keeps_the_bits(void **state) {
    (void)state;
    static const size_t sizes[] = {64, 50, 10};
    static const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    const size_t n = 200;
    float *X = tu_floats(n * 64), *Y = tu_floats(n * 10);
    tu_rng r;
    tu_rng_seed(&r, 11);
    tu_fill_uniform(X, n * 64, &r, -1, 1);
    tu_fill_onehot(Y, NULL, n, 10, &r);
    float *ref = NULL;
    size_t np = 0;
    for (int threads = 1; threads <= 3; threads++) {
        assert_int_equal(mlp_set_num_threads(threads), MLP_OK);
        mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 5);
        assert_non_null(net);
        float loss;
        for (int s = 0; s < 24; s++) {
            /* The tuner's choice, forced: the team on even steps, one thread on odd ones. */
            net->tune.n = n;
            net->tune.left = 0;
            net->tune.since = 0;
            net->tune.period = 1000;
            net->tune.one = s % 2 == 1;
            assert_int_equal(mlp_train_step(net, X, Y, n, &loss), MLP_OK);
        }
        uint64_t team = 0, steps = 0;
        assert_int_equal(mlp_net_team_use(net, &team, &steps), MLP_OK);
        if (mlp_net_step_threads(net, n) > 1) assert_true(steps == 24 && team == 12);
        np = mlp_net_param_count(net);
        float *p = tu_floats(np);
        assert_int_equal(mlp_net_get_params(net, p, np), MLP_OK);
        if (!ref)
            ref = p;
        else {
            assert_memory_equal(ref, p, np * sizeof(float));
            free(p);
        }
        mlp_net_free(net);
    }
    assert_int_equal(mlp_set_num_threads(1), MLP_OK);
    free(ref);
    free(X);
    free(Y);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_team_kept_when_faster),
        cmocka_unit_test(test_one_thread_chosen_when_faster),
        cmocka_unit_test(test_margin_holds_the_choice),
        cmocka_unit_test(test_follows_a_change),
        cmocka_unit_test(test_one_slow_step_does_not_decide),
        cmocka_unit_test(test_batch_sizes_and_no_team),
        cmocka_unit_test(test_switching_keeps_the_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
