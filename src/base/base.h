/* The bottom layer of the library (src/base/): error messages, the memory limit and checked
 * allocation, size arithmetic, the random number generator. It sees the public types of mlp.h
 * (mlp_status) and nothing of the layers above it: no network, no data set, no fit. */
#ifndef MLP_BASE_H
#define MLP_BASE_H

#include "mlp/mlp.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Elementwise loops with fewer elements than this run on the calling thread only: below it the
 * cost of waking the OpenMP team exceeds the work. Measured on a quiet 2-vCPU machine with the
 * cheapest pass (bias + ReLU, bench_mlp omp_crossover): 1 vs 2 threads 0.59 vs 0.60 us at 4096
 * elements, 0.89 vs 0.77 us at 8192, 1.44 vs 1.08 us at 16384. */
#define MLP_OMP_MIN_ELEMS 8192

/* ---- threads (threads.c) ---- */
/* True in a process made by fork() from one that had the library loaded (and not exec'ed since):
 * there every OpenMP region must stay on one thread, since the parent's thread pool is gone. */
bool mlp_forked_child(void);

/* ---- errors (error.c) ---- */
/* Records a detailed message for the calling thread and returns status. */
mlp_status mlp_fail(mlp_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mlp_clear_error(void);

/* ---- sizes ---- */
/* *out = a * b; false (and *out untouched) on overflow. */
static inline bool mlp_mul_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

/* ---- memory limit and checked allocation (limits.c) ---- */
/* MLP_OK if a buffer of `bytes` is within mlp_get_memory_limit(), else MLP_ERR_LIMIT with a
 * message naming `what`. Call before allocating anything whose size comes from the caller's
 * input. */
mlp_status mlp_check_alloc(size_t bytes, const char *what);
/* An uninitialised array of count elements of size bytes each (at least one byte), within the
 * memory limit: NULL with *st set (OVERFLOW, LIMIT or NOMEM, the message naming `what`) on
 * failure. Does nothing and returns NULL when *st already holds a failure, so that a run of
 * allocations can be checked once at its end. */
void *mlp_alloc_array(size_t count, size_t size, const char *what, mlp_status *st);

/* ---- rng (rng.c): xoshiro256** seeded through splitmix64; deterministic across platforms ---- */
typedef struct mlp_rng {
    uint64_t s[4];
} mlp_rng;
void mlp_rng_seed(mlp_rng *rng, uint64_t seed);
uint64_t mlp_rng_next(mlp_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double mlp_rng_uniform(mlp_rng *rng);
/* Uniform integer in [0, bound), bound > 0, without modulo bias. */
uint64_t mlp_rng_below(mlp_rng *rng, uint64_t bound);

#endif /* MLP_BASE_H */
