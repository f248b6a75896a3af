/* Dense layer GEMMs. W is [in x out] row-major, so with X (n x in), dZ (n x out):
 *   forward   Z  = X . W      (NoTrans, NoTrans)
 *   weights   dW = X^T . dZ   (Trans,   NoTrans)
 *   input     dX = dZ . W^T   (NoTrans, Trans)
 * No transposed copies are made: the transposes are GEMM flags.
 *
 * mlp parallelises GEMMs itself instead of letting OpenBLAS thread them, for two measured reasons:
 *  - OpenBLAS's threaded sgemm rounds differently from its serial sgemm (up to ~1e-5 here), so
 *    1-thread and 2-thread training would drift apart;
 *  - at small shapes (the digits net) its threading makes each call 2x slower.
 * So every GEMM is cut into blocks whose number depends only on its shape, each block is one
 * serial OpenBLAS call, and the blocks are shared by the OpenMP team. The result is bit-identical
 * for any thread count, and small GEMMs (one block) never pay for threads. */
#include "internal.h"

#include <cblas.h>
#include <omp.h>

/* A block gets at least GEMM_BLOCK_FLOPS of work and is at least GEMM_BLOCK_MIN wide: narrower
 * blocks cost more in re-packing and kernel edges than they gain (measured on the 784-1024-1024-10
 * step, 1 thread: 64-wide blocks 14.4 ms, 256-wide 12.4 ms, no blocking 12.0 ms). Only the shape
 * enters, never the thread count. Overridable at build time for experiments. */
#ifndef GEMM_BLOCK_FLOPS
#define GEMM_BLOCK_FLOPS 16.0e6
#endif
#ifndef GEMM_BLOCK_MIN
#define GEMM_BLOCK_MIN 256
#endif
#ifndef GEMM_MAX_BLOCKS
#define GEMM_MAX_BLOCKS 64
#endif

typedef struct gemm {
    CBLAS_TRANSPOSE ta, tb;
    size_t m, n, k;
    float alpha;
    const float *A;
    size_t lda;
    const float *B;
    size_t ldb;
    float beta;
    float *C;
    size_t ldc;
} gemm;

/* Blocks along the split dimension `len`: a power of two, so they balance on 2^k threads. */
static size_t block_count(const gemm *g, size_t len) {
    double flops = 2.0 * (double)g->m * (double)g->n * (double)g->k;
    size_t b = 1;
    while (2 * b <= GEMM_MAX_BLOCKS && flops / (double)(2 * b) >= GEMM_BLOCK_FLOPS &&
           len / (2 * b) >= GEMM_BLOCK_MIN)
        b *= 2;
    return b;
}

/* BLAS takes int dimensions; callers have checked that sizes fit (train.c check_int_dims). */
static void sgemm(const gemm *g, size_t m0, size_t m, size_t n0, size_t n) {
    const float *A = g->ta == CblasNoTrans ? g->A + m0 * g->lda : g->A + m0;
    const float *B = g->tb == CblasNoTrans ? g->B + n0 : g->B + n0 * g->ldb;
    cblas_sgemm(CblasRowMajor, g->ta, g->tb, (int)m, (int)n, (int)g->k, g->alpha, A, (int)g->lda, B,
                (int)g->ldb, g->beta, g->C + m0 * g->ldc + n0, (int)g->ldc);
}

static void run(const gemm *g) {
    /* Splitting M re-packs all of B in every block, splitting N all of A: split the dimension
     * whose other operand is smaller. */
    const bool split_n = g->m < g->n;
    const size_t len = split_n ? g->n : g->m;
    const size_t blocks = block_count(g, len);
    if (blocks == 1) {
        /* OpenBLAS's OpenMP build threads a call whenever omp_get_max_threads() > 1 outside a
         * parallel region; ask for one thread for this call and restore the caller's setting. */
        int saved = omp_in_parallel() ? 1 : omp_get_max_threads();
        if (saved > 1) omp_set_num_threads(1);
        sgemm(g, 0, g->m, 0, g->n);
        if (saved > 1) omp_set_num_threads(saved);
        return;
    }
    /* Block edges on multiples of 16 (the kernels' unroll), the last block takes the rest. */
    const size_t step = ((len / blocks) + 15) & ~(size_t)15;
    const long nb = (long)blocks;
    /* Inside the parallel region OpenBLAS sees omp_in_parallel() and runs serially. */
#pragma omp parallel for schedule(static) if (parallel : omp_get_max_threads() > 1)
    for (long b = 0; b < nb; b++) {
        size_t s0 = (size_t)b * step;
        if (s0 >= len) continue;
        size_t sl = b == nb - 1 || s0 + step > len ? len - s0 : step;
        if (split_n)
            sgemm(g, 0, g->m, s0, sl);
        else
            sgemm(g, s0, sl, 0, g->n);
    }
}

void mlp_dense_forward(float *Z, const float *X, const float *W, size_t n, size_t in, size_t out) {
    gemm g = {CblasNoTrans, CblasNoTrans, n, out, in, 1.0f, X, in, W, out, 0.0f, Z, out};
    run(&g);
}

void mlp_dense_backward_weights(float *dW, const float *X, const float *dZ, size_t n, size_t in,
                                size_t out, float scale, float beta) {
    gemm g = {CblasTrans, CblasNoTrans, in, out, n, scale, X, in, dZ, out, beta, dW, out};
    run(&g);
}

void mlp_dense_backward_input(float *dX, const float *dZ, const float *W, size_t n, size_t in,
                              size_t out) {
    gemm g = {CblasNoTrans, CblasTrans, n, in, out, 1.0f, dZ, out, W, out, 0.0f, dX, in};
    run(&g);
}
