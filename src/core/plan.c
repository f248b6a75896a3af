/* How a pass is shared: the parallel width (how many tiles a GEMM may have) and how many threads
 * a pass pays for. */
#define _POSIX_C_SOURCE 200809L
#include "core/core.h"

#include <omp.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#define MAX_WIDTH 64

static int read_width(void) {
    const char *env = getenv("MLP_PARALLEL_WIDTH");
    long w = env && env[0] ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (w < 1) w = 1;
    if (w > MAX_WIDTH) w = MAX_WIDTH;
    return (int)w;
}

int mlp_parallel_width(void) {
    /* Read once: every net of the process must tile alike. A race here only reads twice. */
    static _Atomic int width = 0;
    int w = width;
    if (w == 0) width = w = read_width();
    return w;
}

/* Threads pay only where some GEMM of the pass has at least two tiles; below that a pass is a few
 * microseconds of small GEMMs and row loops, and a team costs more than it saves (measured: see
 * docs/SCALING.md). */
static int pass_threads(const mlp_net *net, size_t n, double split_min) {
    if (omp_in_parallel() || mlp_forked_child()) return 1;
    int T = omp_get_max_threads();
    if (T <= 1) return 1;
    double biggest = 0.0, total = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        double f = 2.0 * (double)n * (double)net->layers[l].in * (double)net->layers[l].out;
        total += 3.0 * f; /* forward, dW and dX */
        if (f > biggest) biggest = f;
    }
    const size_t shards = mlp_pass_shards(net, n);
    if (shards > 1) /* a batch split: one thread per shard, where the step pays for a team */
        return total < split_min ? 1 : (size_t)T < shards ? T : (int)shards;
    if (biggest < MLP_PAR_MIN_FLOPS) return 1;
    const int width = mlp_parallel_width();
    return T < width ? T : width;
}

int mlp_pass_threads(const mlp_net *net, size_t n) {
    return pass_threads(net, n, MLP_SPLIT_MIN_FLOPS);
}

int mlp_step_team(const mlp_net *net, size_t n) {
    return pass_threads(net, n, MLP_TUNED_SPLIT_MIN_FLOPS);
}

int mlp_net_step_threads(const mlp_net *net, size_t n) {
    if (!net || n == 0) return 0;
    return mlp_step_team(net, n);
}

mlp_status mlp_net_team_use(const mlp_net *net, uint64_t *team_steps, uint64_t *steps) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "mlp_net_team_use: net is NULL");
    if (!team_steps || !steps)
        return mlp_fail(MLP_ERR_NULL, "mlp_net_team_use: %s is NULL",
                        !team_steps ? "team_steps" : "steps");
    *team_steps = net->tune.team_steps;
    *steps = net->tune.steps;
    return MLP_OK;
}

size_t mlp_net_step_shards(const mlp_net *net, size_t n) {
    if (!net || n == 0) return 0;
    return mlp_pass_shards(net, n);
}

size_t mlp_net_step_input_parts(const mlp_net *net, size_t n) {
    if (!net || n == 0) return 0;
    return mlp_pass_kparts(net, n);
}

int mlp_blas_serial_begin(void) {
    int saved = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (saved > 1) omp_set_num_threads(1);
    return saved;
}

void mlp_blas_serial_end(int saved) {
    if (saved > 1) omp_set_num_threads(saved);
}

/* MXCSR bits: flush denormal results to zero (FTZ, bit 15) and treat denormal inputs as zero
 * (DAZ, bit 6). */
#define MXCSR_FTZ_DAZ 0x8040u

unsigned mlp_fp_begin(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | MXCSR_FTZ_DAZ);
    return saved;
#else
    return 0;
#endif
}

void mlp_fp_end(unsigned saved) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(saved);
#else
    (void)saved;
#endif
}
