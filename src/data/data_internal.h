/* Shared by the data readers (src/data/) and the layers above them (fit, io): gzip-aware file
 * opening and the row gather. Sees base/ only: nothing here knows a network. */
#ifndef MLP_DATA_INTERNAL_H
#define MLP_DATA_INTERNAL_H

#include "base/base.h"
#include "mlp/data.h"

/* ---- files (data.c) ---- */
/* A data file open for reading: plain, or gzip (recognised by its first two bytes, as zlib does)
 * inflated member by member. */
typedef struct mlp_input mlp_input;
/* Opens path into *in (reading its first bytes); IO or NOMEM naming the path and `what` (e.g.
 * "file") on failure. */
mlp_status mlp_input_open(mlp_input **in, const char *path, const char *what);
/* Reads up to cap bytes (at most UINT_MAX: callers read in chunks) of content into buf; *got < cap
 * only at the end of the content (0 after it). Errors: MLP_ERR_IO (a read error), MLP_ERR_FORMAT
 * (corrupt or truncated gzip, or bytes after the last gzip member that do not start another one),
 * MLP_ERR_NOMEM. */
mlp_status mlp_input_read(mlp_input *in, void *buf, size_t cap, size_t *got);
/* 1 if the file is gzip. */
int mlp_input_gzip(const mlp_input *in);
/* Closes and frees in; NULL is allowed. */
void mlp_input_close(mlp_input *in);

/* ---- rows (data.c) ---- */
/* dst (n x width) = the rows `rows` of src (? x width), in that order. */
void mlp_gather_rows(float *dst, const float *src, const size_t *rows, size_t n, size_t width);

#endif /* MLP_DATA_INTERNAL_H */
