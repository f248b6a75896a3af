/* The fuzz build's stand-in for <omp.h>: the library is compiled without -fopenmp (its pragmas are
 * ignored, every loop runs on the calling thread) so that the fuzz targets need no OpenMP runtime
 * of clang's and are deterministic. Only the calls the library makes are provided. */
#ifndef MLP_FUZZ_STUB_OMP_H
#define MLP_FUZZ_STUB_OMP_H

static inline int omp_get_max_threads(void) {
    return 1;
}
static inline int omp_get_num_threads(void) {
    return 1;
}
static inline int omp_get_thread_num(void) {
    return 0;
}
static inline int omp_in_parallel(void) {
    return 0;
}
static inline void omp_set_num_threads(int n) {
    (void)n;
}
/* Read by a training step to time itself; with one thread the time is never used. */
static inline double omp_get_wtime(void) {
    return 0.0;
}

#endif /* MLP_FUZZ_STUB_OMP_H */
