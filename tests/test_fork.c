/* fork() after training on two threads: GNU OpenMP's thread pool does not survive fork, and a child
 * that opened a parallel region waited forever for the parent's pool threads. The child must
 * train, predict and scale (each of which opens a team in the parent) and get the same bits as
 * the parent doing the same work: the library runs a forked child's passes on one thread, and
 * results do not depend on the thread count. Every wait has a timeout, so a hang fails the test
 * instead of stalling ctest. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include "mlp/data.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define D 784
#define H 256
#define K 10
#define N 64 /* 26 MFLOP per forward GEMM: a step of 2 threads, yet quick under valgrind */
#define STEPS 3
#define CHILD_SECONDS 60

/* What both processes compute after the fork: a few steps, a prediction of every row and a scaled
 * copy of X; a hash of all of it (any differing bit changes it). */
static uint64_t work(mlp_net *net, const float *X, const float *Y, float *P, float *Xs) {
    uint64_t h = 1469598103934665603ull;
    for (int s = 0; s < STEPS; s++) {
        float loss;
        if (mlp_train_step(net, X, Y, N, &loss) != MLP_OK) return 0;
    }
    if (mlp_predict(net, X, N, P) != MLP_OK) return 0;
    memcpy(Xs, X, (size_t)N * D * sizeof *Xs);
    mlp_scaler sc = {0};
    if (mlp_scaler_fit(&sc, MLP_SCALE_STANDARD, Xs, N, D) != MLP_OK) return 0;
    mlp_status st = mlp_scaler_apply(&sc, Xs, N, D);
    mlp_scaler_free(&sc);
    if (st != MLP_OK) return 0;
    const float *params = mlp_net_params(net);
    const size_t np = mlp_net_param_count(net);
    const unsigned char *parts[3] = {(const unsigned char *)params, (const unsigned char *)P,
                                     (const unsigned char *)Xs};
    const size_t lens[3] = {np * sizeof(float), (size_t)N * K * sizeof(float),
                            (size_t)N * D * sizeof(float)};
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < lens[p]; i++) h = (h ^ parts[p][i]) * 1099511628211ull;
    return h;
}

/* Waits for pid at most `seconds`; kills it on timeout. True if it ended by itself. (Its exit
 * status is not the result: under valgrind a child's leak report replaces it; the result comes
 * through the pipe.) */
static bool child_ended(pid_t pid, int seconds) {
    const struct timespec tick = {0, 20 * 1000 * 1000};
    for (int i = 0; i < seconds * 50; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return true;
        nanosleep(&tick, NULL);
    }
    kill(pid, SIGKILL);
    (void)waitpid(pid, NULL, 0);
    return false;
}

static void test_fork_after_parallel_training(void **state) {
    (void)state;
    size_t sizes[] = {D, H, K};
    mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 3);
    assert_non_null(net);
    tu_rng r;
    tu_rng_seed(&r, 5);
    float *X = tu_floats((size_t)N * D), *Y = tu_floats((size_t)N * K);
    float *P = tu_floats((size_t)N * K), *Xs = tu_floats((size_t)N * D);
    tu_fill_uniform(X, (size_t)N * D, &r, 0.0, 1.0);
    tu_fill_onehot(Y, NULL, N, K, &r);
    /* Two threads, on a step big enough to use them: the parent's pool now exists. */
    assert_int_equal(mlp_set_num_threads(2), MLP_OK);
    assert_int_equal(mlp_net_step_threads(net, N), 2);
    float loss;
    assert_int_equal(mlp_train_step(net, X, Y, N, &loss), MLP_OK);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        alarm(CHILD_SECONDS); /* a hang ends the child, and the parent sees no result */
        uint64_t h = mlp_net_step_threads(net, N) == 1 ? work(net, X, Y, P, Xs) : 0;
        _exit(write(fds[1], &h, sizeof h) == (ssize_t)sizeof h && h != 0 ? 0 : 1);
    }
    close(fds[1]);
    const uint64_t mine = work(net, X, Y, P, Xs);     /* the parent, on two threads */
    assert_true(child_ended(pid, CHILD_SECONDS + 5)); /* not hung */
    uint64_t theirs = 0;
    assert_int_equal(read(fds[0], &theirs, sizeof theirs), (ssize_t)sizeof theirs);
    close(fds[0]);
    assert_true(mine != 0);
    assert_true(mine == theirs); /* the same bits on one thread in the child */
    free(X), free(Y), free(P), free(Xs);
    mlp_net_free(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fork_after_parallel_training)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
