/* Thread count and BLAS identity. OpenBLAS's OpenMP build takes its thread count from OpenMP, so
 * one call sets both; nothing else in the library touches global thread state. */
#include "base/base.h"

#include <cblas.h>
#include <omp.h>

mlp_status mlp_set_num_threads(int n) {
    if (n < 1) return mlp_fail(MLP_ERR_ARG, "mlp_set_num_threads: n = %d, must be >= 1", n);
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
    return MLP_OK;
}

int mlp_get_num_threads(void) {
    return omp_get_max_threads();
}

const char *mlp_blas_corename(void) {
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

int mlp_blas_is_openmp(void) {
    return openblas_get_parallel() == 2;
}
