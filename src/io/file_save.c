/* Saving a file atomically (io/file_save.h): a temporary file next to it, written, fsync'ed and
 * renamed over it. */
#define _POSIX_C_SOURCE 200809L

#include "io/file_save.h"

#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Makes the rename durable. Best effort: some filesystems do not support fsync on directories. */
static void fsync_dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (slash && n == 0) n = 1; /* "/name" -> "/" */
    char *dir = malloc(n + 1);
    if (!dir) return;
    memcpy(dir, slash ? path : ".", n);
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
    free(dir);
}

/* The content into the temporary file fd, on disk, then renamed over path. */
static int fill_and_rename(int fd, const char *tmp, const char *path, mlp_fill_fn fill, void *ctx,
                           const char **what) {
    /* mkstemp creates the file 0600: give the result the mode of the file it replaces, or 0644. */
    struct stat old;
    mode_t mode = 0644;
    if (stat(path, &old) == 0 && S_ISREG(old.st_mode)) mode = old.st_mode & 07777;
    (void)fchmod(fd, mode); /* best effort */
    int err = fill(fd, ctx);
    *what = "write";
    if (!err && fsync(fd) != 0) {
        err = errno;
        *what = "fsync";
    }
    if (close(fd) != 0 && !err) {
        err = errno;
        *what = "close";
    }
    if (!err && rename(tmp, path) != 0) {
        err = errno;
        *what = "rename temporary file over";
    }
    return err;
}

mlp_status mlp_save_file(const char *fn, const char *path, mlp_fill_fn fill, void *ctx) {
    static const char suffix[] = ".tmp.XXXXXX";
    const size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof suffix);
    if (!tmp) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", fn);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, sizeof suffix);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return mlp_fail(MLP_ERR_IO, "%s: cannot create a temporary file next to '%s': %s", fn, path,
                        strerror(e));
    }
    const char *what = "write";
    int err = fill_and_rename(fd, tmp, path, fill, ctx, &what);
    if (err) (void)unlink(tmp);
    free(tmp);
    if (err) return mlp_fail(MLP_ERR_IO, "%s: cannot %s '%s': %s", fn, what, path, strerror(err));
    fsync_dir_of(path);
    return MLP_OK;
}
