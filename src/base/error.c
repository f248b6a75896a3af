/* Status strings and the per-thread detailed error message. */
#include "base/base.h"

#include <stdio.h>

static _Thread_local char last_error[512];

static const char *const status_text[MLP_STATUS_COUNT] = {
    [MLP_OK] = "success",
    [MLP_ERR_NULL] = "a required pointer argument is NULL",
    [MLP_ERR_ARG] = "invalid argument",
    [MLP_ERR_SHAPE] = "dimension mismatch",
    [MLP_ERR_OVERFLOW] = "size overflow",
    [MLP_ERR_NOMEM] = "out of memory",
    [MLP_ERR_STATE] = "call not valid in the current state",
    [MLP_ERR_IO] = "input/output error",
    [MLP_ERR_FORMAT] = "malformed or foreign data",
    [MLP_ERR_DIVERGED] = "training diverged (non-finite loss or weights)",
    [MLP_ERR_LIMIT] = "exceeds the memory limit",
    [MLP_ERR_MPI] = "an MPI call failed (or failed on another rank)",
    [MLP_ERR_UNSUPPORTED] = "not supported by this CPU or build",
};

const char *mlp_strerror(mlp_status status) {
    if ((unsigned)status >= MLP_STATUS_COUNT) return "unknown status";
    return status_text[status];
}

const char *mlp_last_error(void) {
    return last_error;
}

void mlp_clear_error(void) {
    last_error[0] = '\0';
}

mlp_status mlp_fail(mlp_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

const char *mlp_version(void) {
    return MLP_VERSION_STRING;
}
