/*
 * mlp model files: save and load a network (layers, activations, loss, weights, optimizer
 * settings and state) and an optional input scaler. Format: docs/MODEL_FORMAT.md (versioned,
 * little-endian, magic number, CRC-32 checksum).
 */
#ifndef MLP_MODEL_H
#define MLP_MODEL_H

#include "mlp/data.h"
#include "mlp/mlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes atomically: a temporary file next to path, flushed and fsync'ed, then renamed over path.
 * On any failure the previous file at path is untouched and the temporary file removed.
 * scaler may be NULL (stored as "no scaling"). */
MLP_API mlp_status mlp_model_save(const char *path, const mlp_net *net, const mlp_scaler *scaler);
/* Loads a model saved by mlp_model_save. Every size is checked against the file's length before
 * allocating; truncated, corrupted (checksum), foreign (magic) and newer-version files are
 * rejected with MLP_ERR_FORMAT. scaler may be NULL (the stored scaler is then dropped); otherwise
 * it receives the stored scaler (kind NONE if there was none). On failure *net is NULL. */
MLP_API mlp_status mlp_model_load(const char *path, mlp_net **net, mlp_scaler *scaler);

#ifdef __cplusplus
}
#endif

#endif /* MLP_MODEL_H */
