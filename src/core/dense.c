/* Dense layer GEMMs cut into tiles. W is [in x out] row-major, so with X (n x in), dZ (n x out):
 *   forward   Z  = X . W      (NoTrans, NoTrans)
 *   weights   dW = X^T . dZ   (Trans,   NoTrans)
 *   input     dX = dZ . W^T   (NoTrans, Trans)
 * No transposed copies are made: the transposes are GEMM flags. A GEMM with bf16 operands
 * (mlp_gemm_bf16) runs each tile through the oneDNN provider instead (gemm_dnnl.c), on the same
 * tile grid.
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
#include "core/core.h"

#include <cblas.h>

/* Tile edges fall on multiples of this (the kernels' unroll), except at the matrix's end. */
#define GEMM_TILE_UNIT 16

static size_t round_up(size_t x, size_t unit) {
    return (x + unit - 1) / unit * unit;
}

/* Tile rows fall on multiples of row_unit and columns on multiples of GEMM_TILE_UNIT (the
 * kernels' unroll) except at the matrix's end; a candidate grid pm x pn gives tiles of this
 * size. */
static void grid_tiles(const mlp_gemm *g, size_t pm, size_t pn, size_t row_unit, size_t *tm,
                       size_t *tn) {
    *tm = round_up((g->m + pm - 1) / pm, row_unit);
    *tn = round_up((g->n + pn - 1) / pn, GEMM_TILE_UNIT);
    if (*tm > g->m) *tm = g->m;
    if (*tn > g->n) *tn = g->n;
}

/* Modelled time of a grid on `width` threads: rounds of the largest tile, a tile costing its
 * area plus the re-packing of its operands (rows + columns, times the measured ratio: a 64 x 64
 * tile pays about as much for packing as for its FMAs). */
static double grid_cost(const mlp_gemm *g, size_t tm, size_t tn, size_t width) {
    size_t tiles = ((g->m + tm - 1) / tm) * ((g->n + tn - 1) / tn);
    double rounds = (double)((tiles + width - 1) / width);
    return rounds * ((double)tm * (double)tn + 32.0 * (double)(tm + tn));
}

/* Chooses the grid of at most `width` tiles (each at least MLP_TILE_FLOPS) with the lowest
 * modelled time on `width` threads; ties go to fewer tiles. Depends on the shape and the width
 * only. */
void mlp_gemm_plan(mlp_gemm *g, size_t row_unit, bool whole_rows) {
    mlp_gemm_plan_width(g, row_unit, whole_rows, (size_t)mlp_parallel_width());
}

void mlp_gemm_plan_width(mlp_gemm *g, size_t row_unit, bool whole_rows, size_t width) {
    const double flops = 2.0 * (double)g->m * (double)g->n * (double)g->k;
    if ((double)width > flops / MLP_TILE_FLOPS) width = (size_t)(flops / MLP_TILE_FLOPS);
    if (width < 1) width = 1;
    size_t best_m = g->m, best_n = g->n;
    double best = grid_cost(g, g->m, g->n, width);
    for (size_t pm = 1; pm <= width; pm++)
        for (size_t pn = 1; pm * pn <= width && (pn == 1 || !whole_rows); pn++) {
            size_t tm, tn;
            grid_tiles(g, pm, pn, row_unit, &tm, &tn);
            double cost = grid_cost(g, tm, tn, width);
            if (cost < best) best = cost, best_m = tm, best_n = tn;
        }
    g->tm = best_m;
    g->tn = best_n;
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
    if (g->dnnl) { /* bf16 operands (gemm_dnnl.c) */
        mlp_dnnl_tile(g->dnnl, g, t, b);
        return b;
    }
    const float *A = g->trans_a ? g->A + b.r0 : g->A + b.r0 * g->lda;
    const float *B = g->trans_b ? g->B + b.c0 * g->ldb : g->B + b.c0;
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                g->trans_b ? CblasTrans : CblasNoTrans, (int)b.rows, (int)b.cols, (int)g->k,
                g->alpha, A, (int)g->lda, B, (int)g->ldb, g->beta, g->C + b.r0 * g->ldc + b.c0,
                (int)g->ldc);
    return b;
}

void mlp_gemm_bf16(mlp_gemm *g, const mlp_dnnl *dnnl, const mlp_bf16 *Ah, const mlp_bf16 *Bh) {
    g->dnnl = dnnl;
    g->Ah = Ah;
    g->Bh = Bh;
}
