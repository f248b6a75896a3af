/* Thread count and BLAS identity. OpenBLAS's OpenMP build takes its thread count from OpenMP, so
 * one call sets both; nothing else in the library touches global thread state. And fork: GNU
 * OpenMP's thread pool does not survive fork(), so a child that opens a parallel region after its
 * parent used one waits forever for threads that do not exist. The library notes that it runs in
 * a forked child and then keeps every pass on the calling thread. */
#include "base/base.h"

#include <pthread.h>
#include <stdatomic.h>

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

static atomic_bool in_forked_child;

static void mark_forked_child(void) {
    atomic_store_explicit(&in_forked_child, true, memory_order_relaxed);
}

/* Registered when the library is loaded, so that every fork after that is seen (a pool can only
 * exist once some code of the process opened a parallel region, which needs the library or
 * OpenBLAS loaded). */
__attribute__((constructor)) static void watch_fork(void) {
    (void)pthread_atfork(NULL, NULL, mark_forked_child);
}

bool mlp_forked_child(void) {
    return atomic_load_explicit(&in_forked_child, memory_order_relaxed);
}
