/* The OpenBLAS kernels the tool runs with. OpenBLAS releases before 0.3.25 (Debian 12 ships
 * 0.3.21) fall back to their Prescott (SSE3) kernels on an Intel CPU whose model number they do
 * not know (OpenBLAS issue #4267, fixed by PR #4268), AVX-512 or not: Sapphire and Emerald Rapids
 * among them. Measured on an Emerald Rapids VM (family 6 model 207), bench_mlp's digits step:
 * 284 us with the Prescott kernels, 74 us with SkylakeX's. OpenBLAS chooses when it is loaded, so
 * the tool re-executes itself once with OPENBLAS_CORETYPE naming the kernels the CPU's features
 * allow. A user's own OPENBLAS_CORETYPE is never overridden (and the re-executed process has
 * one, so this happens at most once). */
#define _GNU_SOURCE
#include "cli.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The kernels this CPU can run, best first; NULL when Prescott's are all it has. */
static const char *kernels_for_cpu(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}

void cli_pick_blas_kernels(char **argv) {
    const char *keep = getenv("MLP_KEEP_BLAS_KERNELS");
    if (getenv("OPENBLAS_CORETYPE") || (keep && *keep && strcmp(keep, "0") != 0)) return;
    if (strcmp(mlp_blas_corename(), "Prescott") != 0) return;
    /* Under valgrind the re-executed tool would escape it; its CPU has no AVX-512 anyway. */
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) return;
    const char *kernels = kernels_for_cpu();
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (!kernels || len <= 0) return;
    self[len] = '\0';
    if (setenv("OPENBLAS_CORETYPE", kernels, 1) != 0) return;
    execv(self, argv);
    unsetenv("OPENBLAS_CORETYPE"); /* the exec failed: carry on with the slow kernels */
}
