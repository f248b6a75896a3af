/* Rounding blocks of floats to bfloat16 (mlp_bf16_of, core.h). The loops are integer-only and
 * compiled per ISA level (MLP_CLONES), so they vectorise on any x86-64. */
#include "core/core.h"

MLP_CLONES static void round_row(mlp_bf16 *restrict dst, const float *restrict src, size_t n) {
#pragma omp simd
    for (size_t j = 0; j < n; j++) dst[j] = mlp_bf16_of(src[j]);
}

void mlp_bf16_block(mlp_bf16 *dst, const float *src, size_t rows, size_t cols, size_t ld) {
    if (cols == ld) {
        round_row(dst, src, rows * cols);
        return;
    }
    for (size_t i = 0; i < rows; i++) round_row(dst + i * ld, src + i * ld, cols);
}
