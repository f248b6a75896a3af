/* The memory cap: the most the library will try to allocate for one purpose (a buffer, a net, a
 * whole fit). Inputs whose sizes
 * would need more (a corrupt header claiming terabytes, a batch far too large) are refused with
 * MLP_ERR_LIMIT and a message, instead of asking the system for the memory. Process-wide and
 * atomic, so any thread may read it while another sets it. */
#define _POSIX_C_SOURCE 200809L
#include "base/base.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static _Atomic size_t memory_limit; /* 0: not set, use the default */

/* Default: three quarters of the machine's physical memory, so that one fit at the limit still
 * leaves the caller's data and the system room. */
static size_t default_limit(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return SIZE_MAX;
    size_t bytes;
    return mlp_mul_ok((size_t)pages, (size_t)page, &bytes) ? bytes / 4 * 3 : SIZE_MAX;
}

void mlp_set_memory_limit(size_t bytes) {
    atomic_store(&memory_limit, bytes);
}

size_t mlp_get_memory_limit(void) {
    size_t v = atomic_load(&memory_limit);
    return v ? v : default_limit();
}

mlp_status mlp_check_alloc(size_t bytes, const char *what) {
    size_t limit = mlp_get_memory_limit();
    if (bytes <= limit) return MLP_OK;
    return mlp_fail(MLP_ERR_LIMIT,
                    "%s needs %zu bytes, more than the memory limit of %zu bytes "
                    "(mlp_set_memory_limit)",
                    what, bytes, limit);
}

void *mlp_alloc_array(size_t count, size_t size, const char *what, mlp_status *st) {
    if (*st != MLP_OK) return NULL;
    size_t bytes;
    if (!mlp_mul_ok(count, size, &bytes)) {
        *st =
            mlp_fail(MLP_ERR_OVERFLOW, "%s: %zu elements of %zu bytes overflow", what, count, size);
        return NULL;
    }
    *st = mlp_check_alloc(bytes, what);
    if (*st != MLP_OK) return NULL;
    void *p = malloc(bytes ? bytes : 1);
    if (!p) *st = mlp_fail(MLP_ERR_NOMEM, "%s: out of memory for %zu bytes", what, bytes);
    return p;
}
