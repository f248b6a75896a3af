/* Shared by the data readers (src/data/) and the layers above them (fit, io): gzip-aware file
 * opening and the row gather. Sees base/ only: nothing here knows a network. */
#ifndef MLP_DATA_INTERNAL_H
#define MLP_DATA_INTERNAL_H

#include "base/base.h"
#include "mlp/data.h"

/* ---- files (data.c) ---- */
/* Opens path for reading with zlib (plain files too) into *gz (a gzFile), with a read buffer of
 * `buffer` bytes (0: zlib's default); IO or NOMEM naming the path and `what` on failure. */
mlp_status mlp_gz_open(void **gz, const char *path, const char *what, size_t buffer);
/* Status and message for a failed gzread on gz (a gzFile; zlib reads plain files too). */
mlp_status mlp_gz_failure(void *gz, const char *path);

/* ---- rows (data.c) ---- */
/* dst (n x width) = the rows `rows` of src (? x width), in that order. */
void mlp_gather_rows(float *dst, const float *src, const size_t *rows, size_t n, size_t width);

#endif /* MLP_DATA_INTERNAL_H */
