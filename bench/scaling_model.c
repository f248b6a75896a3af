/* Scaling model of the training step (docs/SCALING.md): for a machine of T cores (parallel width
 * T, so GEMMs are tiled as mlp would tile them there), every task of every phase of one step is
 * timed here at 1 thread on real buffers, the tasks of each phase are scheduled on T threads as
 * the step hands them out (forward tiles in contiguous blocks, backward tasks round-robin, the
 * output chunks to the first free thread), and the phases' makespans plus one barrier per phase
 * give the step's time. Both
 * decompositions are modelled: the layer tiles (pass.c, backward.c) and the batch split
 * (shard.c: one task per shard of rows through every layer, then the shards' sum and the update,
 * elementwise shares). The model at T = 2 is printed beside the step measured at 2 threads in the
 * same process (with the decomposition the library chose for the net).
 * Usage: scaling_model [reps]      (no arguments: 30 timing repetitions per task)
 * Assumptions (see docs/SCALING.md): a task takes as long on a T-core machine as alone here
 * (same clock, caches and memory bandwidth per core), a barrier costs the one measured here at 2
 * threads plus 300 cycles (0.1 us) per further thread, as oneDNN's driver models it. */
#define _POSIX_C_SOURCE 200809L
#include "core/core.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TASKS 8192
#define PER_THREAD_BARRIER_S 0.1e-6

static int reps = 30;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*task_fn)(void *ctx, size_t t);

/* Median seconds of one call of fn(ctx, t). */
static double time_task(task_fn fn, void *ctx, size_t t) {
    double s[64];
    int r = reps < 64 ? reps : 64;
    fn(ctx, t); /* warm */
    for (int i = 0; i < r; i++) {
        double t0 = omp_get_wtime();
        fn(ctx, t);
        s[i] = omp_get_wtime() - t0;
    }
    qsort(s, (size_t)r, sizeof s[0], cmp_double);
    return s[r / 2];
}

/* How a phase hands out its tasks, as the step's loops do: schedule(dynamic, 1) (the next task
 * to the first free thread), schedule(static) (contiguous blocks) or schedule(static, 1)
 * (task t to thread t % T). */
typedef enum { SCHED_DYNAMIC, SCHED_BLOCKS, SCHED_ROUND_ROBIN } sched;

/* A phase: its tasks' 1-thread times and how they are handed out. */
typedef struct phase {
    double cost[MAX_TASKS];
    size_t n;
    sched how;
} phase;

static double makespan(const phase *p, int T) {
    double load[64] = {0};
    const size_t block = (p->n + (size_t)T - 1) / (size_t)T;
    for (size_t i = 0; i < p->n; i++) {
        int best = 0;
        if (p->how == SCHED_BLOCKS)
            best = (int)(i / block);
        else if (p->how == SCHED_ROUND_ROBIN)
            best = (int)(i % (size_t)T);
        else
            for (int t = 1; t < T; t++)
                if (load[t] < load[best]) best = t;
        load[best] += p->cost[i];
    }
    double m = 0.0;
    for (int t = 0; t < T; t++)
        if (load[t] > m) m = load[t];
    return m;
}

/* ---- the step's tasks, as src/core/pass.c runs them ---- */

typedef struct ctx {
    mlp_net *net;
    mlp_gemm g;
    size_t l, n;
    const float *A;
    size_t parts, block, tail; /* the first layer's input cut: parts, rows per block of their
                                  sum, the first layer after the rows run with it */
} ctx;

static void forward_tile(void *p, size_t t) {
    ctx *c = p;
    const mlp_layer *ly = &c->net->layers[c->l];
    mlp_box x = mlp_gemm_tile(&c->g, t);
    size_t off = x.r0 * ly->out + x.c0;
    mlp_bias_act_block(c->net->out[c->l] + off, NULL, c->net->params + ly->b_off + x.c0, x.rows,
                       x.cols, ly->out, ly->act);
}

static void plain_tile(void *p, size_t t) {
    mlp_gemm_tile(&((ctx *)p)->g, t);
}

/* Block t of the first layer's input parts added, with the layer's epilogue (pass.c). */
static void kpart_block(void *p, size_t t) {
    ctx *c = p;
    const size_t r0 = t * c->block;
    const size_t rows = c->n - r0 < c->block ? c->n - r0 : c->block;
    mlp_kpart_block(c->net, r0, rows, c->parts, false);
    mlp_rows_forward(c->net, NULL, 1, c->tail, r0, r0 + rows, false);
    if (c->net->pass.y) mlp_output_rows(c->net, r0, rows);
}

static void input_tile(void *p, size_t t) {
    ctx *c = p;
    const mlp_layer *ly = &c->net->layers[c->l];
    mlp_box x = mlp_gemm_tile(&c->g, t);
    size_t off = x.r0 * ly->in + x.c0;
    mlp_delta_block(c->net->delta[1] + off, c->A + off, NULL, NULL, x.rows, x.cols, ly->in,
                    c->net->layers[c->l - 1].act,
                    c->net->colsum[1] + (x.r0 / MLP_COLSUM_CHUNK) * ly->in + x.c0, ly->in, NULL,
                    1.0f);
}

static void output_chunk(void *p, size_t ch) {
    ctx *c = p;
    mlp_net *net = c->net;
    const size_t k = net->layers[net->n_layers - 1].out, r0 = ch * MLP_COLSUM_CHUNK;
    const size_t rows = c->n - r0 < MLP_COLSUM_CHUNK ? c->n - r0 : MLP_COLSUM_CHUNK;
    const float *P = net->out[net->n_layers - 1] + r0 * k;
    mlp_loss_rows(P, P, NULL, rows, k, net->loss, net->huber_delta, net->row_loss + r0);
    mlp_delta_block(net->delta[0] + r0 * k, P, P, NULL, rows, k, k, MLP_ACT_IDENTITY,
                    net->colsum[0] + ch * k, k, NULL, 1.0f);
}

static void l2_all(void *p, size_t t) {
    (void)t;
    mlp_pass_l2(((ctx *)p)->net);
}

static void update_all(void *p, size_t t) {
    (void)t;
    mlp_pass_update(((ctx *)p)->net, 1e-9f);
}

static void reduce_db(void *p, size_t t) {
    (void)t;
    ctx *c = p;
    const mlp_layer *ly = &c->net->layers[c->l];
    mlp_colsum_reduce(c->net->grads + ly->b_off, c->net->colsum[0],
                      (c->n + MLP_COLSUM_CHUNK - 1) / MLP_COLSUM_CHUNK, ly->out, 1.0f);
}

static void add_tiles(phase *ph, ctx *c, task_fn fn) {
    for (size_t t = 0; t < mlp_gemm_tiles(&c->g) && ph->n < MAX_TASKS; t++)
        ph->cost[ph->n++] = time_task(fn, c, t);
}

/* The first layer's forward cut into P parts along its inputs at width W: the parts' tiles (one
 * phase, contiguous blocks), then the row blocks of their sum (another), which take the rows
 * through the narrow layers after it and, when every layer is one of them and P = 2, make the
 * output chunks (as a step does: train.c). */
static size_t kpart_phases(mlp_net *net, const float *X, size_t n, size_t W, size_t P, phase *ph) {
    ctx c = {.net = net, .n = n};
    ph[0] = (phase){.how = SCHED_BLOCKS};
    for (size_t p = 0; p < P; p++) {
        c.g = mlp_kpart_gemm(net, X, n, p, P, W);
        add_tiles(&ph[0], &c, plain_tile);
    }
    c.parts = P;
    c.block = mlp_kpart_rows(n, W);
    c.tail = mlp_kpart_tail(net, n, W);
    net->pass.y = P == 2 && c.tail == net->n_layers ? net->out[net->n_layers - 1] : NULL;
    net->pass.y_w = NULL;
    net->pass.n = n;
    ph[1] = (phase){.how = SCHED_BLOCKS};
    for (size_t b = 0; b * c.block < n; b++) ph[1].cost[ph[1].n++] = time_task(kpart_block, &c, b);
    return 2;
}

/* The phases of one step of net over n rows, tiled for width W, into ph; returns their count. */
static size_t build_phases(mlp_net *net, const float *X, size_t n, size_t W, phase *ph, int T) {
    const size_t L = net->n_layers;
    size_t np = 0;
    ctx c = {.net = net, .n = n};
    size_t l0 = 0; /* the first layer cut along its inputs, as pass.c does at this width */
    const size_t P = mlp_kparts_of(net->layers[0].in, net->layers[0].out, n, W);
    if (P > 1) {
        np = kpart_phases(net, X, n, W, P, ph);
        l0 = mlp_kpart_tail(net, n, W);
    }
    for (size_t l = l0; l < L; l++, np++) {
        const mlp_layer *ly = &net->layers[l];
        c.l = l;
        c.g = mlp_gemm_forward(net->out[l], l ? net->out[l - 1] : X, net->params + ly->w_off, n,
                               ly->in, ly->out);
        mlp_gemm_plan_width(&c.g, 8, ly->act == MLP_ACT_SOFTMAX, W);
        ph[np] = (phase){.how = SCHED_BLOCKS};
        add_tiles(&ph[np], &c, forward_tile);
    }
    /* output: row chunks, L2 chunks (split evenly); with the output made by the row blocks,
     * the L2 chunks alone, no barrier: the first backward phase's threads start with them */
    const bool fused = P > 1 && net->pass.y;
    ph[np] = (phase){.how = SCHED_DYNAMIC};
    for (size_t ch = 0; !fused && ch * MLP_COLSUM_CHUNK < n; ch++)
        ph[np].cost[ph[np].n++] = time_task(output_chunk, &c, ch);
    double l2 = time_task(l2_all, &c, 0) / (double)net->l2_chunks;
    for (size_t i = 0; i < net->l2_chunks; i++) ph[np].cost[ph[np].n++] = l2;
    if (!fused) np++; /* else the last layer's backward tasks join the L2 chunks' phase */
    for (size_t l = L; l-- > 0; np++) {
        const mlp_layer *ly = &net->layers[l];
        const float *A = l ? net->out[l - 1] : X;
        c.l = l;
        c.A = A;
        if (fused && l == L - 1)
            ph[np].how = SCHED_ROUND_ROBIN;
        else
            ph[np] = (phase){.how = SCHED_ROUND_ROBIN};
        c.g = mlp_gemm_weights(net->grads + ly->w_off, A, net->delta[0], n, ly->in, ly->out, 0.01f,
                               1.0f);
        mlp_gemm_plan_width(&c.g, 8, false, W);
        add_tiles(&ph[np], &c, plain_tile);
        if (l > 0) {
            c.g = mlp_gemm_input(net->delta[1], net->delta[0], net->params + ly->w_off, n, ly->in,
                                 ly->out);
            mlp_gemm_plan_width(&c.g, MLP_COLSUM_CHUNK, false, W);
            add_tiles(&ph[np], &c, input_tile);
        }
        ph[np].cost[ph[np].n++] = time_task(reduce_db, &c, 0);
    }
    /* update: elementwise, one equal share per thread */
    double up = time_task(update_all, &c, 0);
    ph[np] = (phase){.how = SCHED_BLOCKS};
    for (int t = 0; t < T; t++) ph[np].cost[ph[np].n++] = up / T;
    return np + 1;
}

/* ---- the batch split's tasks, as src/core/shard.c runs them ---- */

typedef struct shard_ctx {
    mlp_net *net;
    const float *X;
    size_t rows;   /* of one shard */
    float *part;   /* a shard's gradient buffer (n_params) */
    size_t shards; /* for the sum */
} shard_ctx;

static void whole(mlp_gemm *g) {
    mlp_gemm_plan_width(g, 8, true, 1);
    mlp_gemm_tile(g, 0);
}

/* One shard of `rows` rows through every layer and back (rows from 0: timing only). */
static void shard_task(void *p, size_t t) {
    (void)t;
    shard_ctx *c = p;
    mlp_net *net = c->net;
    const size_t L = net->n_layers, r = c->rows, C = MLP_COLSUM_CHUNK;
    for (size_t l = 0; l < L; l++) {
        const mlp_layer *ly = &net->layers[l];
        mlp_gemm g = mlp_gemm_forward(net->out[l], l ? net->out[l - 1] : c->X,
                                      net->params + ly->w_off, r, ly->in, ly->out);
        whole(&g);
        mlp_bias_act_block(net->out[l], NULL, net->params + ly->b_off, r, ly->out, ly->out,
                           ly->act);
    }
    const size_t k = net->layers[L - 1].out;
    for (size_t r0 = 0; r0 < r; r0 += C) {
        const size_t rows = r - r0 < C ? r - r0 : C;
        const float *P = net->out[L - 1] + r0 * k;
        mlp_loss_rows(P, P, NULL, rows, k, net->loss, net->huber_delta, net->row_loss + r0);
        mlp_delta_block(net->delta[0] + r0 * k, P, P, NULL, rows, k, k, MLP_ACT_IDENTITY,
                        net->colsum[0] + (r0 / C) * k, k, NULL, 1.0f);
    }
    int cur = 0;
    for (size_t l = L; l-- > 0; cur ^= 1) {
        const mlp_layer *ly = &net->layers[l];
        const float *A = l ? net->out[l - 1] : c->X;
        mlp_gemm g = mlp_gemm_weights(c->part + ly->w_off, A, net->delta[cur], r, ly->in, ly->out,
                                      1.0f, 0.0f);
        whole(&g);
        mlp_colsum_reduce(c->part + ly->b_off, net->colsum[cur], (r + C - 1) / C, ly->out, 1.0f);
        if (l == 0) break;
        g = mlp_gemm_input(net->delta[cur ^ 1], net->delta[cur], net->params + ly->w_off, r, ly->in,
                           ly->out);
        whole(&g);
        mlp_delta_block(net->delta[cur ^ 1], A, NULL, NULL, r, ly->in, ly->in,
                        net->layers[l - 1].act, net->colsum[cur ^ 1], ly->in, NULL, 1.0f);
    }
}

/* The shards' sum over the whole flat buffer: shards - 1 adds, then 1/n and the L2 term. */
static void shard_sum(void *p, size_t t) {
    (void)t;
    shard_ctx *c = p;
    const size_t np = c->net->n_params;
    for (size_t s = 1; s < c->shards; s++)
        mlp_scale_add_finite(c->net->grads, 1.0f, c->part, 1.0f, 1, np, np);
    mlp_scale_add_finite(c->net->grads, 0.005f, c->net->params, 1e-6f, 1, np, np);
}

/* The batch split's phases for width W on T threads (shard.c's rules for the shard count). */
static size_t build_split(mlp_net *net, const float *X, size_t n, size_t W, phase *ph, int T,
                          float *part, size_t *shards) {
    size_t S = W < 16 ? W : 16;
    if (S > n / 32) S = n / 32;
    if (S < 1) S = 1;
    *shards = S;
    shard_ctx c = {net, X, 0, part, S};
    ph[0] = (phase){.how = SCHED_BLOCKS}; /* schedule(static) over the shards */
    for (size_t s = 0; s < S; s++) {      /* shards' rows as shard.c cuts them */
        c.rows = mlp_row_cut(n, s + 1, S) - mlp_row_cut(n, s, S);
        ph[0].cost[ph[0].n++] = time_task(shard_task, &c, 0);
    }
    /* the sum and the L2 chunks, then the update: elementwise, equal shares */
    const double sum = time_task(shard_sum, &c, 0) + time_task(l2_all, &(ctx){.net = net}, 0);
    const double up = time_task(update_all, &(ctx){.net = net}, 0);
    ph[1] = ph[2] = (phase){.how = SCHED_BLOCKS};
    for (int t = 0; t < T; t++) {
        ph[1].cost[ph[1].n++] = sum / T;
        ph[2].cost[ph[2].n++] = up / T;
    }
    return 3;
}

static double barrier_cost_2(void) {
    const int iters = 20000;
    double t0 = omp_get_wtime();
#pragma omp parallel num_threads(2)
    for (int i = 0; i < iters; i++) {
#pragma omp barrier
    }
    return (omp_get_wtime() - t0) / iters;
}

static double measured_step(mlp_net *net, const float *X, const float *Y, size_t n, int T) {
    mlp_set_num_threads(T);
    double s[15];
    float loss;
    for (int r = 0; r < 15; r++) {
        double t0 = omp_get_wtime();
        for (int i = 0; i < 20; i++) mlp_train_step(net, X, Y, n, &loss);
        s[r] = (omp_get_wtime() - t0) / 20;
    }
    qsort(s, 15, sizeof s[0], cmp_double);
    return s[7];
}

static void model_net(const size_t *sizes, size_t L, size_t n, double b2) {
    mlp_activation acts[8];
    for (size_t l = 0; l < L; l++) acts[l] = l + 1 == L ? MLP_ACT_SOFTMAX : MLP_ACT_RELU;
    mlp_net_config cfg = {L, sizes, acts, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1};
    mlp_net *net;
    if (mlp_net_create(&net, &cfg) != MLP_OK || mlp_net_reserve(net, n) != MLP_OK) exit(1);
    const size_t d = sizes[0], k = sizes[L];
    float *X = malloc(n * d * sizeof *X), *Y = calloc(n * k, sizeof *Y);
    for (size_t i = 0; i < n * d; i++) X[i] = (float)((i * 7919) % 97) / 97.0f;
    for (size_t i = 0; i < n; i++) Y[i * k + i % k] = 1.0f;
    double meas2 = measured_step(net, X, Y, n, 2);
    const int used2 = mlp_net_step_threads(net, n); /* at 2 threads, as measured */
    double meas1 = measured_step(net, X, Y, n, 1);
    printf("net");
    for (size_t l = 0; l <= L; l++) printf("%s%zu", l ? "-" : " ", sizes[l]);
    printf(", batch %zu (%zu parameters; the library uses %s): measured 1T %.1f us, 2T %.1f us "
           "(%.2fx, %d thread(s) used at 2)\n",
           n, net->n_params, mlp_net_step_shards(net, n) > 1 ? "the batch split" : "layer tiles",
           meas1 * 1e6, meas2 * 1e6, meas1 / meas2, used2);
    printf("    T | layer tiles: step_us speedup efficiency | batch split: step_us speedup "
           "efficiency (shards)\n");
    static phase ph[64];
    double t1 = 0.0, s1 = 0.0;
    float *part = calloc(net->n_params, sizeof *part);
    unsigned fp = mlp_fp_begin();
    int saved = mlp_blas_serial_begin();
    for (int T = 1; T <= 64; T *= 2) {
        size_t np = build_phases(net, X, n, (size_t)T, ph, T);
        double barrier = T == 1 ? 0.0 : b2 + PER_THREAD_BARRIER_S * (T - 2);
        double step = barrier; /* the fork/join */
        for (size_t p = 0; p < np; p++) step += makespan(&ph[p], T) + barrier;
        size_t S;
        np = build_split(net, X, n, (size_t)T, ph, T, part, &S);
        double split = barrier;
        for (size_t p = 0; p < np; p++) split += makespan(&ph[p], T) + barrier;
        if (T == 1) t1 = step, s1 = split;
        printf("  %3d | %9.1f %7.2f %9.0f%% | %9.1f %7.2f %9.0f%% (%zu)%s\n", T, step * 1e6,
               t1 / step, 100.0 * t1 / step / T, split * 1e6, s1 / split, 100.0 * s1 / split / T, S,
               T == 2 ? "   <- model at 2T" : "");
    }
    free(part);
    mlp_blas_serial_end(saved);
    mlp_fp_end(fp);
    free(X), free(Y);
    mlp_net_free(net);
}

int main(int argc, char **argv) {
    if (argc > 1) reps = atoi(argv[1]) > 0 ? atoi(argv[1]) : reps;
    const double b2 = barrier_cost_2();
    printf("OpenBLAS core %s; barrier at 2 threads %.2f us (+%.2f us per further thread, "
           "assumed)\n",
           mlp_blas_corename(), b2 * 1e6, PER_THREAD_BARRIER_S * 1e6);
    static const size_t digits[] = {64, 50, 10}, f100[] = {784, 100, 10},
                        f256[] = {784, 256, 128, 10}, big[] = {784, 1024, 1024, 10};
    static const size_t mid[] = {64, 256, 128, 10};
    model_net(digits, 2, 200, b2);
    model_net(mid, 3, 200, b2);
    model_net(f100, 2, 200, b2);
    model_net(f256, 3, 256, b2);
    model_net(f256, 3, 512, b2);
    model_net(big, 3, 256, b2);
    return 0;
}
