/* Saving a file so that no reader, crash or kill ever sees a damaged one (src/io/file_save.c).
 * Used by the model writer. */
#ifndef MLP_IO_FILE_SAVE_H
#define MLP_IO_FILE_SAVE_H

#include "mlp/mlp.h"

/* Writes a file's whole content to fd; returns 0 or the errno of the first failure. */
typedef int (*mlp_fill_fn)(int fd, void *ctx);

/* Writes the file at path through fill, atomically: into a temporary file next to it
 * (path.tmp.XXXXXX, mkstemp), fsync'ed, then renamed over path (keeping the mode of the file it
 * replaces, else 0644); the directory is fsync'ed. On any failure the temporary file is removed
 * and the file at path untouched. fn names the caller in messages. Errors: MLP_ERR_IO (naming
 * path, the step and the system's message); MLP_ERR_NOMEM. */
mlp_status mlp_save_file(const char *fn, const char *path, mlp_fill_fn fill, void *ctx);

#endif /* MLP_IO_FILE_SAVE_H */
