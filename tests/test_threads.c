/* Thread safety: networks trained at the same time from different threads give exactly (bit for
 * bit) the results they give alone, i.e. the library keeps no hidden global state; error messages
 * are per thread; readers and model files can be used from several threads at once; and the
 * OpenBLAS calls the library makes from several threads at once (its GEMM blocks, one serial
 * cblas_sgemm each) give the serial results. What may and may not be shared between threads:
 * docs/ERRORS.md ("Threads"). MLP_THREADS_ROUNDS sets the number of concurrent rounds (default 3).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include "core/core.h"
#include "kernel_util.h"
#include "mlp/data.h"
#include "mlp/fit.h"
#include "mlp/model.h"
#include "test_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_PATH MLP_TEST_TMPDIR "/threads"

static int rounds(void) {
    const char *v = getenv("MLP_THREADS_ROUNDS");
    int n = v && v[0] ? atoi(v) : 3;
    return n > 0 ? n : 1;
}

/* ---------------------------------------------------------------------------------------------
 * Training jobs. Each is deterministic and records its final parameters and loss curve.
 */
typedef struct job {
    /* what */
    int kind; /* 0: fit classifier, 1: fit regressor (SGD, GELU), 2: train_step loop */
    uint64_t seed;
    const float *X; /* shared, read-only */
    const int32_t *labels;
    const float *Y;
    size_t n, d, k;
    /* result */
    float *params;
    size_t n_params;
    float curve[16];
    size_t epochs;
    mlp_status st;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    mlp_net *net = NULL;
    j->st = MLP_OK;
    if (j->kind == 0 || j->kind == 1) {
        /* 64-256-128-k ReLU, Adam, batch 200: an elementwise pass of 51200 elements (parallel)
         * and GEMMs of one and two blocks. 32-512-512-k GELU, SGD, batch 128: four-block GEMMs. */
        static const size_t h0[] = {256, 128}, h1[] = {512, 512};
        mlp_fit_options o = mlp_fit_options_default();
        o.n_hidden = 2;
        o.hidden = j->kind == 0 ? h0 : h1;
        o.activation = j->kind == 0 ? MLP_ACT_RELU : MLP_ACT_GELU;
        o.opt.kind = j->kind == 0 ? MLP_OPT_ADAM : MLP_OPT_SGD;
        o.opt.lr = 1e-3f;
        o.batch_size = j->kind == 0 ? 200 : 128;
        o.max_iter = 4;
        o.seed = j->seed;
        mlp_fit_result r;
        j->st = mlp_fit(&net, j->kind == 0 ? MLP_TASK_CLASSIFY : MLP_TASK_REGRESS, j->X, j->labels,
                        j->Y, j->n, j->d, j->k, &o, &r);
        if (j->st == MLP_OK) {
            j->epochs = r.epochs;
            memcpy(j->curve, r.loss_curve, r.epochs * sizeof(float));
            mlp_fit_result_free(&r);
        }
    } else {
        /* The digits net, one step at a time on 100-row batches: every GEMM is one block, so
         * dense.c toggles this thread's OpenMP thread count around each call. */
        static const size_t sizes[] = {64, 50, 10};
        static const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
        net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, j->seed);
        float *Y = malloc(100 * 10 * sizeof(float));
        if (!net || !Y) {
            j->st = MLP_ERR_NOMEM;
        } else {
            for (int step = 0; step < 16 && j->st == MLP_OK; step++) {
                size_t r0 = (size_t)step * 100 % (j->n - 100);
                memset(Y, 0, 100 * 10 * sizeof(float));
                for (size_t i = 0; i < 100; i++) Y[i * 10 + (size_t)j->labels[r0 + i] % 10] = 1.0f;
                j->st = mlp_train_step(net, j->X + r0 * j->d, Y, 100, &j->curve[step]);
            }
            j->epochs = 16;
        }
        free(Y);
    }
    if (j->st == MLP_OK) {
        j->n_params = mlp_net_param_count(net);
        j->params = malloc(j->n_params * sizeof(float));
        if (j->params)
            memcpy(j->params, mlp_net_params(net), j->n_params * sizeof(float));
        else
            j->st = MLP_ERR_NOMEM;
    }
    mlp_net_free(net);
    return NULL;
}

static void job_reset(job *j) {
    free(j->params);
    j->params = NULL;
    j->n_params = 0;
    j->epochs = 0;
    memset(j->curve, 0, sizeof j->curve);
}

/* Shared data: 600 rows of 64 features (the first 32 also serve the regressor), labels in 0..9,
 * 4 regression targets. */
typedef struct data {
    float *X, *X32, *Y4;
    int32_t *labels;
} data;

static data make_data(void) {
    data s;
    tu_rng r;
    tu_rng_seed(&r, 2024);
    s.X = tu_floats(600 * 64);
    s.X32 = tu_floats(600 * 32);
    s.Y4 = tu_floats(600 * 4);
    s.labels = tu_alloc(600, sizeof(int32_t));
    tu_fill_uniform(s.X, 600 * 64, &r, -1.0, 1.0);
    for (size_t i = 0; i < 600; i++) {
        memcpy(s.X32 + i * 32, s.X + i * 64, 32 * sizeof(float));
        s.labels[i] = (int32_t)(tu_rng_next(&r) % 10);
        for (size_t t = 0; t < 4; t++) s.Y4[i * 4 + t] = s.X[i * 64 + t] - 0.5f * s.X[i * 64 + 8];
    }
    return s;
}

static void free_data(data *s) {
    free(s->X);
    free(s->X32);
    free(s->Y4);
    free(s->labels);
}

static void make_jobs(job *jobs, const data *s) {
    memset(jobs, 0, 4 * sizeof *jobs);
    jobs[0] =
        (job){.kind = 0, .seed = 1, .X = s->X, .labels = s->labels, .n = 600, .d = 64, .k = 10};
    jobs[1] = (job){.kind = 1, .seed = 2, .X = s->X32, .Y = s->Y4, .n = 600, .d = 32, .k = 4};
    jobs[2] = (job){.kind = 2, .seed = 3, .X = s->X, .labels = s->labels, .n = 600, .d = 64};
    /* a second classifier on the same shared arrays, another seed */
    jobs[3] =
        (job){.kind = 0, .seed = 4, .X = s->X, .labels = s->labels, .n = 600, .d = 64, .k = 10};
}

static void assert_same_result(const job *a, const job *b, const char *when) {
    if (a->st != MLP_OK || b->st != MLP_OK)
        fail_msg("%s: job kind %d failed: %d / %d", when, a->kind, (int)a->st, (int)b->st);
    assert_int_equal(a->n_params, b->n_params);
    assert_int_equal(a->epochs, b->epochs);
    if (memcmp(a->params, b->params, a->n_params * sizeof(float)) != 0 ||
        memcmp(a->curve, b->curve, sizeof a->curve) != 0)
        fail_msg("%s: job kind %d seed %llu: parameters differ from the job run alone", when,
                 a->kind, (unsigned long long)a->seed);
}

/* 2, 3 and 4 networks trained at once, each equal bit for bit to the same network trained alone. */
static void test_concurrent_training_matches_solo(void **state) {
    (void)state;
    data s = make_data();
    job solo[4], conc[4];
    make_jobs(solo, &s);
    for (int i = 0; i < 4; i++) {
        run_job(&solo[i]);
        assert_int_equal(solo[i].st, MLP_OK);
    }
    int R = rounds();
    for (int round = 0; round < R; round++) {
        for (int nt = 2; nt <= 4; nt++) {
            make_jobs(conc, &s);
            pthread_t th[4];
            for (int i = 0; i < nt; i++)
                assert_int_equal(pthread_create(&th[i], NULL, run_job, &conc[i]), 0);
            for (int i = 0; i < nt; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
            char when[64];
            snprintf(when, sizeof when, "round %d, %d threads", round, nt);
            for (int i = 0; i < nt; i++) {
                assert_same_result(&conc[i], &solo[i], when);
                job_reset(&conc[i]);
            }
        }
    }
    /* And one job on the main thread while another runs on a second thread. */
    make_jobs(conc, &s);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_job, &conc[1]), 0);
    run_job(&conc[0]);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_same_result(&conc[0], &solo[0], "main + 1 thread");
    assert_same_result(&conc[1], &solo[1], "main + 1 thread");
    print_message("[ threads ] %d rounds of 2, 3 and 4 networks trained at once (plus main + 1): "
                  "all bit-identical to training alone\n",
                  R);
    for (int i = 0; i < 4; i++) {
        job_reset(&conc[i]);
        job_reset(&solo[i]);
    }
    free_data(&s);
}

/* ---------------------------------------------------------------------------------------------
 * The GEMM wrappers (one serial OpenBLAS call per block, from OpenMP threads, from several
 * pthreads at once) give the serial results bit for bit.
 */
typedef struct gemm_case {
    size_t n, in, out;
    const float *X, *W;
    const float *want; /* n x out, computed alone */
    int bad;
    int iters;
} gemm_case;

static void *gemm_worker(void *arg) {
    gemm_case *c = arg;
    float *Z = malloc(c->n * c->out * sizeof(float));
    if (!Z) {
        c->bad = -1;
        return NULL;
    }
    for (int it = 0; it < c->iters; it++) {
        tk_dense_forward(Z, c->X, c->W, c->n, c->in, c->out);
        if (memcmp(Z, c->want, c->n * c->out * sizeof(float)) != 0) c->bad++;
    }
    free(Z);
    return NULL;
}

static void test_concurrent_gemm_blocks(void **state) {
    (void)state;
    /* Shapes: one block (20 x 64 x 50), two, four and eight blocks. */
    static const size_t shapes[4][3] = {
        {20, 64, 50}, {200, 256, 128}, {128, 512, 512}, {512, 512, 512}};
    float *X[4], *W[4], *want[4];
    tu_rng r;
    tu_rng_seed(&r, 99);
    for (int i = 0; i < 4; i++) {
        size_t n = shapes[i][0], in = shapes[i][1], out = shapes[i][2];
        X[i] = tu_floats(n * in);
        W[i] = tu_floats(in * out);
        want[i] = tu_floats(n * out);
        tu_fill_uniform(X[i], n * in, &r, -1.0, 1.0);
        tu_fill_uniform(W[i], in * out, &r, -1.0, 1.0);
        tk_dense_forward(want[i], X[i], W[i], n, in, out);
    }
    gemm_case cases[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        int s = i % 4;
        cases[i] = (gemm_case){shapes[s][0],
                               shapes[s][1],
                               shapes[s][2],
                               X[s],
                               W[s],
                               want[s],
                               0,
                               s == 0 ? 400 : (s == 3 ? 10 : 40)};
        assert_int_equal(pthread_create(&th[i], NULL, gemm_worker, &cases[i]), 0);
    }
    for (int i = 0; i < 8; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 8; i++)
        if (cases[i].bad)
            fail_msg("thread %d (%zu x %zu x %zu): %d of %d products differ from the serial one", i,
                     cases[i].n, cases[i].in, cases[i].out, cases[i].bad, cases[i].iters);
    for (int i = 0; i < 4; i++) {
        free(X[i]);
        free(W[i]);
        free(want[i]);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Per-thread error messages
 */
typedef struct err_job {
    pthread_barrier_t *barrier;
    int which; /* 0: mlp_predict with a NULL net, 1: mlp_net_create with NULL sizes */
    char msg[512];
    mlp_status st;
} err_job;

static void *err_worker(void *arg) {
    err_job *e = arg;
    float x[4] = {0}, out[4];
    if (e->which == 0) {
        e->st = mlp_predict(NULL, x, 1, out); /* "net is NULL" */
    } else {
        mlp_net_config c = {0};
        mlp_net *net;
        e->st = mlp_net_create(&net, &c); /* "config->sizes is NULL" */
    }
    pthread_barrier_wait(e->barrier); /* both failed before either reads its message */
    pthread_barrier_wait(e->barrier);
    snprintf(e->msg, sizeof e->msg, "%s", mlp_last_error());
    return NULL;
}

static void test_error_messages_per_thread(void **state) {
    (void)state;
    pthread_barrier_t b;
    assert_int_equal(pthread_barrier_init(&b, NULL, 2), 0);
    err_job e[2] = {{&b, 0, "", MLP_OK}, {&b, 1, "", MLP_OK}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, err_worker, &e[i]), 0);
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&b);
    assert_int_equal(e[0].st, MLP_ERR_NULL);
    assert_int_equal(e[1].st, MLP_ERR_NULL);
    assert_non_null(strstr(e[0].msg, "mlp_predict: net is NULL"));
    assert_non_null(strstr(e[1].msg, "config->sizes is NULL"));
}

/* ---------------------------------------------------------------------------------------------
 * Readers and model files from several threads at once
 */
typedef struct io_job {
    const char *csv;
    char model[256];
    mlp_dataset ds;
    mlp_net *net;
    mlp_status st_csv, st_save, st_load;
} io_job;

static void *io_worker(void *arg) {
    io_job *j = arg;
    j->st_csv = mlp_read_csv(j->csv, NULL, &j->ds); /* the same file from every thread */
    static const size_t sizes[] = {3, 5, 2};
    static const mlp_activation acts[] = {MLP_ACT_TANH, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 5);
    j->st_save = mlp_model_save(j->model, net, NULL); /* a file per thread, one directory */
    j->st_load = mlp_model_load(j->model, &j->net, NULL);
    mlp_net_free(net);
    return NULL;
}

static void test_concurrent_io(void **state) {
    (void)state;
    assert_true(mkdir(DIR_PATH, 0755) == 0 || errno == EEXIST);
    const char *csv = DIR_PATH "/shared.csv";
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    for (int i = 0; i < 2000; i++) fprintf(f, "%d.5,%d,-%d,%d\n", i, i % 7, i % 3, i % 4);
    assert_int_equal(fclose(f), 0);
    io_job jobs[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].csv = csv;
        snprintf(jobs[i].model, sizeof jobs[i].model, "%s/m%d.mlp", DIR_PATH, i);
        assert_int_equal(pthread_create(&t[i], NULL, io_worker, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(jobs[i].st_csv, MLP_OK);
        assert_int_equal(jobs[i].st_save, MLP_OK);
        assert_int_equal(jobs[i].st_load, MLP_OK);
        assert_int_equal(jobs[i].ds.n, 2000);
        assert_memory_equal(jobs[i].ds.X, jobs[0].ds.X, 2000 * 3 * sizeof(float));
        assert_memory_equal(mlp_net_params(jobs[i].net), mlp_net_params(jobs[0].net),
                            mlp_net_param_count(jobs[0].net) * sizeof(float));
    }
    for (int i = 0; i < 4; i++) {
        mlp_dataset_free(&jobs[i].ds);
        mlp_net_free(jobs[i].net);
        unlink(jobs[i].model);
    }
    unlink(csv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_training_matches_solo),
        cmocka_unit_test(test_concurrent_gemm_blocks),
        cmocka_unit_test(test_error_messages_per_thread),
        cmocka_unit_test(test_concurrent_io),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
