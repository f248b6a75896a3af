/* Dense layer GEMMs cut into tiles. W is [in x out] row-major, so with X (n x in), dZ (n x out):
 *   forward   Z  = X . W      (NoTrans, NoTrans)
 *   weights   dW = X^T . dZ   (Trans,   NoTrans)
 *   input     dX = dZ . W^T   (NoTrans, Trans)
 * No transposed copies are made: the transposes are GEMM flags.
 *
 * mlp parallelises GEMMs itself instead of letting OpenBLAS thread them, because OpenBLAS's bits
 * depend on how a product is cut: its threaded sgemm rounds differently from its serial one, and
 * even serial calls on sub-blocks of C give different bits from one call on the whole (measured
 * on 0.3.21, SkylakeX and Haswell kernels: 595 of 1440 tilings of the bench shapes differed, for
 * every transpose case and any split unit from 16 to 128). So a GEMM is cut into a grid of
 * output tiles, each with the full K and computed by one serial OpenBLAS call, and the grid
 * depends only on the GEMM's shape and on the parallel width (mlp_parallel_width: the machine's
 * core count, never the thread count). Any number of threads then computes the same tiles.
 *
 * Tiles cost single-thread speed (each re-packs its operands): measured at 1 thread on this
 * project's shapes, 2 tiles +2-8%, 4 tiles +8-19%, 64 tiles +30-100%. So a GEMM gets no more
 * tiles than the machine has cores, and none smaller than MLP_TILE_FLOPS. */
#include "internal.h"

#include <cblas.h>

/* Tile edges fall on multiples of this (the kernels' unroll), except at the matrix's end. */
#define GEMM_TILE_UNIT 16

static size_t round_up(size_t x, size_t unit) {
    return (x + unit - 1) / unit * unit;
}

/* Splits the grid in two along the dimension whose tiles are larger relative to the operand they
 * re-pack (splitting rows re-packs B once more, splitting columns A), while tiles stay at least
 * MLP_TILE_FLOPS and the tile count at most width. */
void mlp_gemm_plan(mlp_gemm *g, size_t row_unit, bool whole_rows) {
    const size_t width = (size_t)mlp_parallel_width();
    const double flops = 2.0 * (double)g->m * (double)g->n * (double)g->k;
    size_t pm = 1, pn = 1;
    while (2 * pm * pn <= width && flops / (double)(2 * pm * pn) >= MLP_TILE_FLOPS) {
        bool rows_ok = g->m / (2 * pm) >= row_unit;
        bool cols_ok = !whole_rows && g->n / (2 * pn) >= GEMM_TILE_UNIT;
        if (!rows_ok && !cols_ok) break;
        /* Prefer the split that keeps tiles squarest: it re-packs the least. */
        bool split_rows = rows_ok && (!cols_ok || g->m / pm >= g->n / pn);
        if (split_rows)
            pm *= 2;
        else
            pn *= 2;
    }
    g->tm = pm == 1 ? g->m : round_up((g->m + pm - 1) / pm, row_unit);
    g->tn = pn == 1 ? g->n : round_up((g->n + pn - 1) / pn, GEMM_TILE_UNIT);
    g->tiles_m = (g->m + g->tm - 1) / g->tm;
    g->tiles_n = (g->n + g->tn - 1) / g->tn;
}

size_t mlp_gemm_tiles(const mlp_gemm *g) {
    return g->tiles_m * g->tiles_n;
}

mlp_box mlp_gemm_box(const mlp_gemm *g, size_t t) {
    mlp_box b;
    b.r0 = (t / g->tiles_n) * g->tm;
    b.c0 = (t % g->tiles_n) * g->tn;
    b.rows = g->m - b.r0 < g->tm ? g->m - b.r0 : g->tm;
    b.cols = g->n - b.c0 < g->tn ? g->n - b.c0 : g->tn;
    return b;
}

/* BLAS takes int dimensions; callers have checked that sizes fit (train.c check_int_dims). The
 * caller makes sure OpenBLAS runs serially (inside a parallel region, or with one thread). */
mlp_box mlp_gemm_tile(const mlp_gemm *g, size_t t) {
    mlp_box b = mlp_gemm_box(g, t);
    const float *A = g->trans_a ? g->A + b.r0 : g->A + b.r0 * g->lda;
    const float *B = g->trans_b ? g->B + b.c0 * g->ldb : g->B + b.c0;
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                g->trans_b ? CblasTrans : CblasNoTrans, (int)b.rows, (int)b.cols, (int)g->k,
                g->alpha, A, (int)g->lda, B, (int)g->ldb, g->beta, g->C + b.r0 * g->ldc + b.c0,
                (int)g->ldc);
    return b;
}

mlp_gemm mlp_gemm_forward(float *Z, const float *X, const float *W, size_t n, size_t in,
                          size_t out) {
    mlp_gemm g = {false, false, n, out, in, 1.0f, X, in, W, out, 0.0f, Z, out, 0, 0, 0, 0};
    return g;
}

mlp_gemm mlp_gemm_weights(float *dW, const float *X, const float *dZ, size_t n, size_t in,
                          size_t out, float scale, float beta) {
    mlp_gemm g = {true, false, in, out, n, scale, X, in, dZ, out, beta, dW, out, 0, 0, 0, 0};
    return g;
}

mlp_gemm mlp_gemm_input(float *dX, const float *dZ, const float *W, size_t n, size_t in,
                        size_t out) {
    mlp_gemm g = {false, true, n, in, out, 1.0f, dZ, out, W, out, 0.0f, dX, in, 0, 0, 0, 0};
    return g;
}
