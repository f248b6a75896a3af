/* Inference on one net from many threads at once (mlp.h: inference only reads the net): 2, 4 and
 * 8 threads call mlp_predict and mlp_predict_labels on the same net for a few seconds each, with
 * batches of 1, 37 and 1500 rows (1500: two chunks, and OpenMP threads inside each call), and
 * every result is compared bit for bit with a serial run. Before inference had its own scratch,
 * threads overwrote each other's workspace and got wrong probabilities. */
#include "test_util.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#define D 784
#define K 10
#define NMAX 1500
#define SECONDS_PER_CASE 2.0

typedef struct shared {
    const mlp_net *net;
    const float *X;
    const float *ref_p[3]; /* serial probabilities for each batch size */
    const int32_t *ref_l[3];
    double stop_at;
} shared;

static const size_t batch_sizes[3] = {1, 37, NMAX};

typedef struct worker {
    const shared *sh;
    unsigned id;
    size_t calls, mismatches;
    mlp_status failure;
} worker;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *run_worker(void *arg) {
    worker *w = arg;
    const shared *sh = w->sh;
    float *P = malloc(NMAX * K * sizeof *P);
    int32_t *L = malloc(NMAX * sizeof *L);
    /* At least one call each, however slow the machine (valgrind), then until the time is up. */
    for (size_t it = w->id; it == w->id || now() < sh->stop_at; it++) {
        const unsigned b = (unsigned)(it % 3);
        const size_t n = batch_sizes[b];
        /* Different threads read different batches of X at the same time: batch j of size n
         * starts at row j * n, where the serial reference computed it. */
        const size_t row0 = ((it * 7) % (NMAX / n)) * n;
        mlp_status st = (it / 3) % 2 ? mlp_predict_labels(sh->net, sh->X + row0 * D, n, L)
                                     : mlp_predict(sh->net, sh->X + row0 * D, n, P);
        if (st != MLP_OK) {
            w->failure = st;
            break;
        }
        w->calls++;
        if ((it / 3) % 2) {
            for (size_t i = 0; i < n; i++) w->mismatches += L[i] != sh->ref_l[b][row0 + i];
        } else if (memcmp(P, sh->ref_p[b] + row0 * K, n * K * sizeof *P) != 0) {
            w->mismatches++;
        }
    }
    free(P);
    free(L);
    return NULL;
}

static void run_case(const shared *sh, unsigned threads) {
    pthread_t tid[8];
    worker w[8];
    shared s = *sh;
    s.stop_at = now() + SECONDS_PER_CASE;
    for (unsigned t = 0; t < threads; t++) {
        w[t] = (worker){.sh = &s, .id = t, .failure = MLP_OK};
        assert_int_equal(pthread_create(&tid[t], NULL, run_worker, &w[t]), 0);
    }
    size_t calls = 0, bad = 0;
    for (unsigned t = 0; t < threads; t++) {
        assert_int_equal(pthread_join(tid[t], NULL), 0);
        assert_int_equal(w[t].failure, MLP_OK);
        calls += w[t].calls;
        bad += w[t].mismatches;
    }
    printf("%u threads: %zu calls, %zu mismatches\n", threads, calls, bad);
    assert_true(calls >= threads);
    assert_int_equal(bad, 0);
}

static void test_concurrent_predict(void **state) {
    (void)state;
    size_t sizes[] = {D, 256, 64, K};
    mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_GELU, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 3, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 7);
    assert_non_null(net);
    tu_rng r;
    tu_rng_seed(&r, 11);
    float *X = tu_floats(NMAX * D);
    tu_fill_uniform(X, NMAX * D, &r, -1.0, 1.0);
    /* The serial reference: every batch of each size, in order (a row's last bit may depend on
     * the batch size through GEMM blocking, so each size has its own). */
    float *ref_p[3];
    int32_t *ref_l[3];
    for (unsigned b = 0; b < 3; b++) {
        const size_t n = batch_sizes[b];
        ref_p[b] = tu_floats(NMAX * K);
        ref_l[b] = tu_alloc(NMAX, sizeof(int32_t));
        for (size_t row0 = 0; row0 + n <= NMAX; row0 += n) {
            assert_int_equal(mlp_predict(net, X + row0 * D, n, ref_p[b] + row0 * K), MLP_OK);
            assert_int_equal(mlp_predict_labels(net, X + row0 * D, n, ref_l[b] + row0), MLP_OK);
        }
    }
    shared sh = {.net = net, .X = X};
    for (unsigned b = 0; b < 3; b++) sh.ref_p[b] = ref_p[b], sh.ref_l[b] = ref_l[b];
    const unsigned counts[] = {2, 4, 8};
    for (unsigned c = 0; c < 3; c++) run_case(&sh, counts[c]);
    for (unsigned b = 0; b < 3; b++) free(ref_p[b]), free(ref_l[b]);
    free(X);
    mlp_net_free(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_concurrent_predict)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
