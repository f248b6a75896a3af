/* Saving a file so that no reader, crash or kill ever sees a damaged one, and so that a
 * save never replaces what is not a regular file (src/io/file_save.c). Used by the model writer;
 * the mlp tool's --history writer (cli/history.c) follows the same rules with its own code, since
 * the tool links the shared library, which hides this. */
#ifndef MLP_IO_FILE_SAVE_H
#define MLP_IO_FILE_SAVE_H

#include "mlp/mlp.h"

#include <stdbool.h>

/* Writes a file's whole content to fd; returns 0 or the errno of the first failure. A save may
 * call it twice (into a second new file, when the first cannot be given a name), so it must
 * write from the first byte each time. */
typedef int (*mlp_fill_fn)(int fd, void *ctx);

/* Writes the file at path through fill, by what path is:
 *  - a regular file, or nothing: replaced atomically. The content goes to a new file in the same
 *    directory (an unnamed O_TMPFILE where the filesystem has them, else a mkstemp file
 *    path.tmp.XXXXXX removed on every failure), is fsync'ed, and then takes path's name in one
 *    rename (or one link when there was no file); the directory is fsync'ed. The new file has
 *    the mode of the one it replaces, or 0644;
 *  - a symbolic link: followed to its final target (a missing target is created), which is
 *    replaced as above; the link is kept;
 *  - a character device or a FIFO (/dev/null, a pipe): written in place, without truncation,
 *    temporary file or fsync, as a shell redirection would (opening a FIFO waits for a reader);
 *  - anything else (a directory, a block device, a socket): refused.
 * fn names the caller in messages. Errors: MLP_ERR_IO (naming path, the step and the system's
 * message, or the kind of file refused); MLP_ERR_NOMEM. */
mlp_status mlp_save_file(const char *fn, const char *path, mlp_fill_fn fill, void *ctx);

/* Tests only: with on true, later saves use the mkstemp fallback, as if O_TMPFILE were
 * unsupported. A function, not a variable: libmlp.a defines no global data (check_exports.sh). */
void mlp_save_file_force_named(bool on);

#endif /* MLP_IO_FILE_SAVE_H */
