/* Saving a file so that no reader, crash, kill or signal ever sees a damaged one, and so that a
 * save never replaces what is not a regular file (src/io/file_save.c). Used by the model writer,
 * and through the public mlp_file_save (model.h) by the mlp tool's --history writer. */
#ifndef MLP_IO_FILE_SAVE_H
#define MLP_IO_FILE_SAVE_H

#include "mlp/mlp.h"
#include "mlp/model.h"

#include <signal.h>
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
 *    the mode of the one it replaces, or 0644. SIGINT, SIGTERM, SIGHUP and SIGQUIT are held
 *    meanwhile (mlp_signals_hold): a signal lets the save finish and then acts;
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
/* All n bytes of p to fd (write may take fewer, or be interrupted by a signal handler): 0, or the
 * errno of the failure (EIO for a write of 0 bytes). For fills. */
int mlp_write_all(int fd, const void *p, size_t n);

/* Holding the catchable termination signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT) around work that
 * must not stop halfway. Hold blocks them on the calling thread and, for as long as any thread
 * holds them, replaces a default (terminating) action by a handler that records the signal: a
 * signal sent to the process is delivered to any thread that does not block it (OpenMP's pool
 * threads, for one), so blocking on one thread alone does not stop it. Release restores the
 * actions and the caller's mask, then sends each recorded signal again, which then acts as it
 * would have (the default action terminates the process); one taken by another thread in the
 * last instant may act a moment after the release instead (signal_hold.c). Actions set by the
 * program (a handler, SIG_IGN) are left alone. Nests and works from several threads at once. */
typedef struct mlp_signal_hold {
    sigset_t old_mask;
} mlp_signal_hold;
void mlp_signals_hold(mlp_signal_hold *h);
void mlp_signals_release(mlp_signal_hold *h);

#endif /* MLP_IO_FILE_SAVE_H */
