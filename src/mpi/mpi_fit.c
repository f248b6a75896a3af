/* mlp_mpi_fit: fit()'s epoch loop (mlp_fit_with_step) with a data-parallel batch step.
 *
 * Every rank runs the same loop with the same seed, so shuffles, batches and stopping decisions
 * agree; a step trains on the rank's share of the global batch of B rows and combines gradients:
 *
 *   FAST   rank r takes rows [r*B/P, (r+1)*B/P): forward + backward with alpha = 0 (the mean data
 *          gradient of its n_r rows), scaled by n_r/B into buf[0..n_params), its data loss sum
 *          behind it and a failure count behind that; ONE MPI_Allreduce(MPI_SUM, in place) over
 *          n_params + 2 floats; then finish_step: grads = buf + (alpha/B) W, loss = data +
 *          alpha/(2B) |W|^2, the optimizer update. Same as one process with batch B up to the
 *          order of the float sums.
 *   EXACT  the batch is cut into chunks of C rows (independent of P); rank r takes the chunks
 *          [r*m/P, (r+1)*m/P) of the m = ceil(B/C), computes each chunk's gradient alone and keeps
 *          it (times its row count). An MPI_Allreduce(MPI_MAX) over one double per tensor (each
 *          layer's W and b, and the loss) gives the largest magnitude M_s; each value is then
 *          converted to int64 fixed point with the scale 2^(62 - h - e_s) (M_s < 2^e_s,
 *          m <= 2^h, so no sum can overflow), summed locally and by an MPI_Allreduce(MPI_SUM) of
 *          int64. Integer sums are exact, so neither the rank count nor MPI's reduction order can
 *          change a bit; converting back divides by B. Every chunk is the same computation on every
 *          rank count (the library's results do not depend on the thread count), and finish_step
 *          does the same arithmetic on the same values everywhere: bit-identical for any P.
 *
 * The L2 term is added after the reduction (on identical weights, identically on every rank), not
 * once per rank, by the core's one definition (mlp_finish_reduced_step: fixed chunks added in
 * order), so ranks agree on the loss, which drives the stopping rule. */
#include "mpi_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CHUNK 32
/* Chunk rows times a float gradient must be exact in a double: 2^24 * 2^24 < 2^53. */
#define MAX_CHUNK ((size_t)1 << 24)

mlp_mpi_options mlp_mpi_options_default(void) {
    mlp_mpi_options o = {.mode = MLP_MPI_FAST, .chunk = 0};
    return o;
}

typedef struct mpi_ctx {
    MPI_Comm comm;
    int rank, size;
    mlp_mpi_mode mode;
    size_t chunk;
    int started; /* the first step ran (buffers allocated, parameters broadcast) */
    size_t n_params;
    /* FAST: n_params gradient sums, the data loss sum, the failure count. */
    float *buf;
    /* EXACT: kept chunk gradients (cap_chunks x n_params) and losses, the int64 accumulator
     * (n_params + 1: the loss last), one double per tensor + loss + failure flag. */
    float *store, *store_loss;
    size_t *store_rows;
    size_t cap_chunks;
    int64_t *acc;
    size_t n_seg; /* 2 per layer + the loss */
    size_t *seg_off, *seg_len;
    double *seg_max;
    /* The caller's epoch callback, wrapped so that every rank agrees on stopping. */
    mlp_epoch_callback user_cb;
    void *user;
} mpi_ctx;

static void ctx_free(mpi_ctx *c) {
    free(c->buf);
    free(c->store);
    free(c->store_loss);
    free(c->store_rows);
    free(c->acc);
    free(c->seg_off);
    free(c->seg_len);
    free(c->seg_max);
}

static size_t ceil_div(size_t a, size_t b) {
    return a / b + (a % b != 0);
}

/* Rows [lo, hi) of part r of n split into P near-equal contiguous parts. */
static void part_range(size_t n, int r, int P, size_t *lo, size_t *hi) {
    *lo = (size_t)((unsigned __int128)n * (unsigned)r / (unsigned)P);
    *hi = (size_t)((unsigned __int128)n * (unsigned)(r + 1) / (unsigned)P);
}

/* Buffers of the first step (the first batch is the largest), then the agreement that every rank
 * got them, then the broadcast of rank 0's parameters and optimizer state. */
/* Collective: rank 0's parameters and optimizer moments into s's buffers, its step count into
 * *step. */
static mlp_status bcast_state(mlp_state s, uint64_t *step, MPI_Comm comm, const char *fn) {
    mlp_status st = mlp_mpi_bcast_buf(s.params, s.n, MPI_FLOAT, sizeof(float), 0, comm, fn);
    if (st == MLP_OK) st = mlp_mpi_bcast_buf(s.m, s.n, MPI_FLOAT, sizeof(float), 0, comm, fn);
    if (st == MLP_OK) st = mlp_mpi_bcast_buf(s.v, s.n, MPI_FLOAT, sizeof(float), 0, comm, fn);
    if (st == MLP_OK)
        st = mlp_mpi_check(MPI_Bcast(step, 1, MPI_UINT64_T, 0, comm), fn, "MPI_Bcast");
    return st;
}

/* EXACT's buffers: the kept chunk gradients and losses, the int64 accumulator and one segment per
 * tensor (each layer's W and b, found through the public layer views) and the loss. */
static mlp_status exact_buffers(mpi_ctx *c, mlp_net *net, size_t batch) {
    static const char fn[] = "mlp_mpi_fit";
    mlp_status st = MLP_OK;
    const size_t L = mlp_net_n_layers(net), m = ceil_div(batch, c->chunk);
    c->cap_chunks = ceil_div(m, (size_t)c->size);
    c->n_seg = 2 * L + 1;
    size_t cells = 0;
    if (!mlp_mul_ok(c->cap_chunks, c->n_params, &cells))
        st = mlp_fail(MLP_ERR_OVERFLOW, "%s: %zu chunk gradients overflow", fn, c->cap_chunks);
    c->store = mlp_alloc_array(cells, sizeof(float), fn, &st);
    c->store_loss = mlp_alloc_array(c->cap_chunks, sizeof(float), fn, &st);
    c->store_rows = mlp_alloc_array(c->cap_chunks, sizeof(size_t), fn, &st);
    c->acc = mlp_alloc_array(c->n_params + 1, sizeof(int64_t), fn, &st);
    c->seg_off = mlp_alloc_array(c->n_seg, sizeof(size_t), fn, &st);
    c->seg_len = mlp_alloc_array(c->n_seg, sizeof(size_t), fn, &st);
    c->seg_max = mlp_alloc_array(c->n_seg + 1, sizeof(double), fn, &st);
    if (st != MLP_OK) return st;
    const float *base = mlp_net_params(net);
    for (size_t l = 0; l < L; l++) {
        size_t in, out;
        float *W, *b;
        (void)mlp_net_layer_shape(net, l, &in, &out, NULL);
        (void)mlp_net_layer_params(net, l, &W, &b);
        c->seg_off[2 * l] = (size_t)(W - base);
        c->seg_len[2 * l] = in * out;
        c->seg_off[2 * l + 1] = (size_t)(b - base);
        c->seg_len[2 * l + 1] = out;
    }
    c->seg_off[c->n_seg - 1] = c->n_params; /* the loss, acc[n_params] */
    c->seg_len[c->n_seg - 1] = 1;
    return MLP_OK;
}

static mlp_status first_step(mpi_ctx *c, mlp_net *net, size_t batch) {
    static const char fn[] = "mlp_mpi_fit";
    c->started = 1;
    c->n_params = mlp_net_param_count(net);
    mlp_status st = MLP_OK;
    if (c->mode == MLP_MPI_FAST) {
        c->buf = mlp_alloc_array(c->n_params + 2, sizeof(float), fn, &st);
    } else {
        st = exact_buffers(c, net, batch);
    }
    st = mlp_mpi_agree(st, c->comm, fn);
    if (st != MLP_OK) return st;
    mlp_state s = mlp_net_state_begin(net);
    uint64_t step = s.step;
    st = bcast_state(s, &step, c->comm, fn);
    if (st == MLP_OK) mlp_net_state_end(net, step);
    return st;
}

/* Forward + backward of n rows already gathered in Xb / Yb without the L2 term: the net's
 * gradients become the data gradient of those rows divided by norm, *data_sum the sum of their
 * row losses (as the loss definition weighs them). */
static mlp_status local_pass(mlp_net *net, const float *Xb, const float *Yb, size_t n, size_t norm,
                             double *data_sum) {
    mlp_status st = mlp_forward(net, Xb, n);
    if (st == MLP_OK) st = mlp_backward_scaled(net, Yb, NULL, (double)norm, false, data_sum);
    return st;
}

/* The step's end on the reduced gradients, the same on every rank: the L2 term and the update
 * (also on a rank that had no rows). */
static mlp_status finish_step(mlp_net *net, const float *sum, double data_loss, size_t B,
                              float *loss) {
    mlp_finish_reduced_step(net, sum, data_loss, B, loss);
    return MLP_OK;
}

static mlp_status fast_step(mpi_ctx *c, mlp_net *net, const mlp_batch *b, float *loss) {
    static const char fn[] = "mlp_mpi_fit";
    const size_t B = b->n, NP = c->n_params;
    size_t lo, hi;
    part_range(B, c->rank, c->size, &lo, &hi);
    const size_t nl = hi - lo;
    float *buf = c->buf;
    double local_sum = 0.0;
    mlp_status st = MLP_OK;
    if (nl > 0) {
        mlp_batch_gather(b, lo, nl);
        st = local_pass(net, b->Xb, b->Yb, nl, B, &local_sum);
    }
    if (nl > 0 && st == MLP_OK) {
        /* The gradients are already this rank's share of the batch mean (divided by B). */
        memcpy(buf, mlp_net_grads(net), NP * sizeof(float));
        buf[NP] = (float)(local_sum / (double)B);
        buf[NP + 1] = 0.0f;
    } else {
        memset(buf, 0, NP * sizeof(float));
        buf[NP] = 0.0f;
        buf[NP + 1] = st == MLP_OK ? 0.0f : 1.0f;
    }
    /* The one gradient exchange of the step. */
    mlp_status xs =
        mlp_mpi_allreduce_buf(buf, NP + 2, MPI_FLOAT, sizeof(float), MPI_SUM, c->comm, fn);
    if (st != MLP_OK) return st;
    if (xs != MLP_OK) return xs;
    if (buf[NP + 1] != 0.0f)
        return mlp_fail(MLP_ERR_MPI, "%s: the batch step failed on %g other rank(s)", fn,
                        (double)buf[NP + 1]);
    return finish_step(net, buf, (double)buf[NP], B, loss);
}

/* Largest |x| of count floats, each times w; +inf if any is not finite. Exact (no rounding:
 * w * x fits a double), so the same values give the same result whatever the order. */
static double max_abs(const float *x, size_t count, double w) {
    double m = 0.0;
#pragma omp parallel for simd reduction(max                                                        \
                                        : m) schedule(static) if (parallel                         \
                                                                  : count >= MLP_OMP_MIN_ELEMS)
    for (size_t i = 0; i < count; i++) {
        double a = fabs((double)x[i] * w);
        m = a > m ? a : m;
        if (!(a <= INFINITY)) m = INFINITY; /* NaN */
    }
    return m;
}

/* EXACT, local part: this rank's chunks [c0, c1) of the batch, each through local_pass alone; slot
 * ci - c0 of the store keeps the chunk's mean data gradient, its mean loss and its row count. */
static mlp_status exact_chunks(mpi_ctx *c, mlp_net *net, const mlp_batch *b, size_t c0, size_t c1) {
    const size_t B = b->n, NP = c->n_params, C = c->chunk;
    mlp_status st = MLP_OK;
    for (size_t ci = c0; ci < c1 && st == MLP_OK; ci++) {
        size_t r0 = ci * C, rows = B - r0 < C ? B - r0 : C, slot = ci - c0;
        mlp_batch_gather(b, r0, rows);
        double sum = 0.0;
        st = local_pass(net, b->Xb, b->Yb, rows, rows, &sum);
        if (st == MLP_OK) {
            c->store_loss[slot] = (float)(sum / (double)rows);
            memcpy(c->store + slot * NP, mlp_net_grads(net), NP * sizeof(float));
            c->store_rows[slot] = rows;
        }
    }
    return st;
}

/* seg_max[s]: the largest magnitude of tensor s (the loss last) over the local stored chunks,
 * values weighted by their chunk's rows; seg_max[n_seg]: the failure flag, as one more maximum. */
static void exact_maxima(mpi_ctx *c, size_t local, bool failed) {
    const size_t NS = c->n_seg, NP = c->n_params;
    double *mx = c->seg_max;
    for (size_t s = 0; s < NS; s++) mx[s] = 0.0;
    mx[NS] = failed ? 1.0 : 0.0;
    if (failed) return;
    for (size_t j = 0; j < local; j++) {
        const float *g = c->store + j * NP;
        const double w = (double)c->store_rows[j];
        for (size_t s = 0; s + 1 < NS; s++) {
            double a = max_abs(g + c->seg_off[s], c->seg_len[s], w);
            if (a > mx[s]) mx[s] = a;
        }
        double a = max_abs(&c->store_loss[j], 1, w);
        if (a > mx[NS - 1]) mx[NS - 1] = a;
    }
}

/* Fixed point: a tensor whose largest magnitude is M (M < 2^e) is scaled by 2^k with
 * k = 62 - h - e, where the chunk count m <= 2^h: every term is below 2^(62-h), a sum of m terms
 * below 2^62. */
static int fixed_point_shift(double M, int h) {
    int e;
    frexp(M, &e); /* M = f * 2^e, f in [0.5, 1) */
    return 62 - h - e;
}

/* acc = per value, the sum over the local stored chunks of value * rows * 2^k_s in int64 (the loss
 * at acc[n_params]); tensors that are all zero stay 0. */
static void exact_accumulate(mpi_ctx *c, size_t local, int h) {
    const size_t NS = c->n_seg, NP = c->n_params;
    const double *mx = c->seg_max;
    int64_t *acc = c->acc;
    memset(acc, 0, (NP + 1) * sizeof(int64_t));
    for (size_t s = 0; s < NS; s++) {
        if (mx[s] == 0.0) continue;
        const double scale = ldexp(1.0, fixed_point_shift(mx[s], h));
        const size_t off = c->seg_off[s], len = c->seg_len[s];
        for (size_t j = 0; j < local; j++) {
            const double w = (double)c->store_rows[j] * scale;
            if (s == NS - 1) {
                acc[NP] += llrint((double)c->store_loss[j] * w);
                continue;
            }
            const float *g = c->store + j * NP + off;
            int64_t *a = acc + off;
#pragma omp parallel for simd schedule(static) if (parallel : len >= MLP_OMP_MIN_ELEMS)
            for (size_t i = 0; i < len; i++) a[i] += llrint((double)g[i] * w);
        }
    }
}

/* Back to floats from the reduced acc: the batch mean, sum * 2^-k_s / B, into g; returns the
 * batch's mean data loss. */
static double exact_unscale(const mpi_ctx *c, float *g, int h, size_t B) {
    const size_t NS = c->n_seg, NP = c->n_params;
    const double *mx = c->seg_max;
    const int64_t *acc = c->acc;
    double data_loss = 0.0;
    for (size_t s = 0; s < NS; s++) {
        double inv = 0.0;
        if (mx[s] != 0.0) inv = ldexp(1.0, -fixed_point_shift(mx[s], h));
        const size_t off = c->seg_off[s], len = c->seg_len[s];
        if (s == NS - 1) {
            data_loss = (double)acc[NP] * inv / (double)B;
            continue;
        }
#pragma omp parallel for simd schedule(static) if (parallel : len >= MLP_OMP_MIN_ELEMS)
        for (size_t i = 0; i < len; i++)
            g[off + i] = (float)((double)acc[off + i] * inv / (double)B);
    }
    return data_loss;
}

static mlp_status exact_step(mpi_ctx *c, mlp_net *net, const mlp_batch *b, float *loss) {
    static const char fn[] = "mlp_mpi_fit";
    const size_t B = b->n, NP = c->n_params, m = ceil_div(B, c->chunk), NS = c->n_seg;
    size_t c0, c1;
    part_range(m, c->rank, c->size, &c0, &c1);
    mlp_status st = exact_chunks(c, net, b, c0, c1);
    exact_maxima(c, c1 - c0, st != MLP_OK);
    const double *mx = c->seg_max;
    mlp_status xs =
        mlp_mpi_allreduce_buf(c->seg_max, NS + 1, MPI_DOUBLE, sizeof(double), MPI_MAX, c->comm, fn);
    if (st != MLP_OK) return st;
    if (xs != MLP_OK) return xs;
    if (mx[NS] != 0.0)
        return mlp_fail(MLP_ERR_MPI, "%s: the batch step failed on another rank", fn);
    for (size_t s = 0; s < NS; s++)
        if (!(mx[s] < INFINITY)) { /* a non-finite gradient or loss: fit() rolls back */
            *loss = NAN;
            return MLP_OK;
        }
    int h = 0; /* m <= 2^h */
    while (((size_t)1 << h) < m) h++;
    exact_accumulate(c, c1 - c0, h);
    st = mlp_mpi_allreduce_buf(c->acc, NP + 1, MPI_INT64_T, sizeof(int64_t), MPI_SUM, c->comm, fn);
    if (st != MLP_OK) return st;
    float *grads = mlp_net_grads(net);
    double data_loss = exact_unscale(c, grads, h, B);
    return finish_step(net, grads, data_loss, B, loss);
}

static mlp_status mpi_step(void *ctx, mlp_net *net, const mlp_batch *b, float *loss) {
    mpi_ctx *c = ctx;
    if (!c->started) {
        mlp_status st = first_step(c, net, b->n);
        if (st != MLP_OK) return st;
    }
    return c->mode == MLP_MPI_FAST ? fast_step(c, net, b, loss) : exact_step(c, net, b, loss);
}

/* Epoch callback wrapper: the caller's callback where it is set, then a one-int MPI_MAX so that
 * every rank stops after the same epoch. An MPI failure also stops training. */
static int agree_callback(const mlp_epoch_info *info, void *user) {
    mpi_ctx *c = user;
    int stop = c->user_cb ? c->user_cb(info, c->user) != 0 : 0, any = 1;
    if (MPI_Allreduce(&stop, &any, 1, MPI_INT, MPI_MAX, c->comm) != MPI_SUCCESS) return 1;
    return any;
}

mlp_status mlp_mpi_fit(mlp_net **netp, MPI_Comm comm, mlp_task task, const float *X,
                       const int32_t *labels, const float *Y, size_t n, size_t d, size_t k,
                       const mlp_fit_options *options, const mlp_mpi_options *mpi,
                       mlp_fit_result *result) {
    static const char fn[] = "mlp_mpi_fit";
    int rank, size;
    mlp_status st = mlp_mpi_check_comm(comm, fn, &rank, &size);
    if (st != MLP_OK) return st;
    mlp_mpi_options mo = mpi ? *mpi : mlp_mpi_options_default();
    if (!netp || !options)
        st = mlp_fail(MLP_ERR_NULL, "%s: %s is NULL", fn, !netp ? "net" : "options");
    else if ((unsigned)mo.mode > MLP_MPI_EXACT)
        st = mlp_fail(MLP_ERR_ARG, "%s: unknown mode %d", fn, (int)mo.mode);
    else if (mo.chunk > MAX_CHUNK)
        st = mlp_fail(MLP_ERR_ARG, "%s: chunk = %zu rows, at most %zu", fn, mo.chunk, MAX_CHUNK);
    /* A data-parallel step trains on its share of each minibatch: no full-batch solver and no
     * weights through it. */
    else if (options->opt.kind == MLP_OPT_LBFGS || options->sample_weight || options->interrupt)
        st = mlp_fail(MLP_ERR_ARG, "%s: %s is not supported in data-parallel training", fn,
                      options->sample_weight ? "sample_weight"
                      : options->interrupt   ? "an interrupt flag (ranks would stop apart)"
                                             : "solver lbfgs");
    st = mlp_mpi_agree(st, comm, fn);
    if (st != MLP_OK) return st;
    if (mo.chunk == 0) mo.chunk = DEFAULT_CHUNK;

    /* A warm start held by rank 0 goes to every rank. */
    int root_has = rank == 0 && *netp != NULL;
    st = mlp_mpi_check(MPI_Bcast(&root_has, 1, MPI_INT, 0, comm), fn, "MPI_Bcast");
    if (st != MLP_OK) return st;
    if (root_has) {
        st = mlp_mpi_bcast_net(netp, 0, comm);
        if (st != MLP_OK) return st;
    } else {
        if (*netp)
            st = mlp_fail(MLP_ERR_ARG,
                          "%s: rank %d passes a warm-start net but rank 0 does not (warm starts "
                          "come from rank 0)",
                          fn, rank);
        st = mlp_mpi_agree(st, comm, fn);
        if (st != MLP_OK) return st;
    }

    mpi_ctx ctx = {.comm = comm,
                   .rank = rank,
                   .size = size,
                   .mode = mo.mode,
                   .chunk = mo.chunk,
                   .user_cb = options->callback,
                   .user = options->user};
    mlp_fit_options o = *options;
    o.callback = agree_callback;
    o.user = &ctx;
    st = mlp_fit_with_step(netp, task, X, labels, Y, n, d, k, &o, result, mpi_step, &ctx);
    if (!ctx.started) {
        /* fit() failed before its first step here (bad argument, out of memory): take part in the
         * first step's agreement, which the ranks that got there are waiting in. */
        mlp_status mine = st != MLP_OK ? st : MLP_ERR_STATE;
        (void)mlp_mpi_agree(mine, comm, fn);
    }
    ctx_free(&ctx);
    return st;
}
