/* Saving a file (io/file_save.h): atomic replacement of regular files, links followed, devices
 * and FIFOs written through, everything else refused.
 *
 * Why an unnamed file (O_TMPFILE): a named temporary file outlives a process killed between its
 * creation and the rename. An unnamed one vanishes with the process; it takes a name only when
 * complete and fsync'ed: the target's own name in one link when there is no file to replace (no
 * temporary name at all), else a temporary name renamed over the target at once. A SIGKILL
 * between that link and the rename is the one moment that can still leave a path.tmp.XXXXXX
 * file behind; catchable signals wait (mlp_signals_hold). */
#define _GNU_SOURCE /* O_TMPFILE, AT_EMPTY_PATH, mkostemp */

#include "io/file_save.h"

#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool g_force_named = false; /* mlp_save_file_force_named */

void mlp_save_file_force_named(bool on) {
    g_force_named = on;
}

/* Links followed before giving up: the kernel's own limit for one lookup. */
#define MAX_LINKS 40
#define TEMP_SUFFIX ".tmp.XXXXXX"
#define TEMP_X 6 /* the X's of TEMP_SUFFIX */

/* ---------------------------------------------------------------------------------------------
 * Which file a save writes
 */

/* The target of the symbolic link at path (size_hint: its lstat size) as a new string; a
 * relative target is taken from the link's directory, as the kernel does. NULL with errno set on
 * failure. */
static char *link_target(const char *path, size_t size_hint) {
    const char *slash = strrchr(path, '/');
    const size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
    /* lstat's size may be 0 (procfs) or stale: grow until readlink leaves room. */
    for (size_t cap = size_hint + 2 > 256 ? size_hint + 2 : 256; cap <= ((size_t)1 << 20);
         cap *= 2) {
        char *buf = malloc(dir + cap);
        if (!buf) {
            errno = ENOMEM;
            return NULL;
        }
        ssize_t n = readlink(path, buf + dir, cap);
        if (n >= 0 && (size_t)n < cap) {
            buf[dir + (size_t)n] = '\0';
            if (buf[dir] == '/')
                memmove(buf, buf + dir, (size_t)n + 1);
            else
                memcpy(buf, path, dir);
            return buf;
        }
        int e = errno;
        free(buf);
        if (n < 0) {
            errno = e;
            return NULL;
        }
    }
    errno = ENAMETOOLONG;
    return NULL;
}

/* The file a save to path writes, as a new string in *out: path itself, or if path is a symbolic
 * link, the file it finally points to (so that the link is kept and its target replaced). A
 * dangling link gives its missing target, which the save creates. Returns 0 or an errno. */
static int resolve_links(const char *path, char **out) {
    const size_t n = strlen(path);
    char *cur = malloc(n + 1);
    if (!cur) return ENOMEM;
    memcpy(cur, path, n + 1);
    for (int hops = 0;; hops++) {
        struct stat sb;
        if (lstat(cur, &sb) != 0 || !S_ISLNK(sb.st_mode)) {
            *out = cur; /* lstat's error, if any, is the caller's to report */
            return 0;
        }
        if (hops == MAX_LINKS) {
            free(cur);
            return ELOOP;
        }
        char *next = link_target(cur, (size_t)sb.st_size);
        int e = errno;
        free(cur);
        if (!next) return e;
        cur = next;
    }
}

static const char *kind_of(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* ---------------------------------------------------------------------------------------------
 * Devices and FIFOs: written through
 */

/* A character device or a FIFO is written in place: nothing can be renamed over it without
 * destroying it (as root, over /dev/null), and truncating or syncing it means nothing. */
static mlp_status write_through(const char *fn, const char *path, const char *target,
                                mlp_fill_fn fill, void *ctx) {
    /* No O_CREAT: a device that vanished meanwhile is an error, never a new regular file. */
    int fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return mlp_fail(MLP_ERR_IO, "%s: cannot open '%s': %s", fn, path, strerror(e));
    }
    struct stat sb;
    int e = 0;
    const char *what = "write";
    if (fstat(fd, &sb) != 0) {
        e = errno;
        what = "stat";
    } else if (!S_ISCHR(sb.st_mode) && !S_ISFIFO(sb.st_mode)) {
        /* Replaced by a regular file since it was looked at: writing in place would damage it. */
        (void)close(fd);
        return mlp_fail(MLP_ERR_IO, "%s: '%s' changed during the save: nothing written", fn, path);
    } else {
        e = fill(fd, ctx);
    }
    if (close(fd) != 0 && !e) {
        e = errno;
        what = "close";
    }
    if (e) return mlp_fail(MLP_ERR_IO, "%s: cannot %s '%s': %s", fn, what, path, strerror(e));
    return MLP_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Regular files: replaced atomically
 */
typedef struct save_job {
    const char *fn, *path; /* the caller's name and path, for messages */
    char *tmp;             /* the target's path + TEMP_SUFFIX (a mkstemp template) */
    const char *base;      /* the target's name in its directory */
    const char *tmp_base;  /* the temporary file's name in it (the end of tmp) */
    int dirfd;             /* the target's directory */
    mode_t mode;
    bool exists; /* a file is replaced (else created) */
    mlp_fill_fn fill;
    void *ctx;
} save_job;

/* The content into fd, with the final mode, on disk. */
static int fill_and_sync(const save_job *j, int fd, const char **what) {
    (void)fchmod(fd, j->mode); /* a new file is 0600; best effort, as cp */
    int e = j->fill(fd, j->ctx);
    if (e) {
        *what = "write";
        return e;
    }
    if (fsync(fd) != 0) {
        *what = "fsync";
        return errno;
    }
    return 0;
}

/* Gives the unnamed file fd the name `name` in j's directory (linkat fails if it exists). */
static int link_unnamed(const save_job *j, int fd, const char *name) {
    char proc[40];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, j->dirfd, name, AT_SYMLINK_FOLLOW) == 0) return 0;
    if (errno != ENOENT) return errno;
    /* No /proc: AT_EMPTY_PATH does the same for a process with CAP_DAC_READ_SEARCH. */
    if (linkat(fd, "", j->dirfd, name, AT_EMPTY_PATH) == 0) return 0;
    return errno;
}

/* Fills the X's of j->tmp with letters and digits from a seed of the clock, the process and the
 * attempt (mkstemp's job, done here because linkat, not open, makes the name). */
static const char *temp_name(save_job *j, unsigned attempt) {
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    mlp_rng r;
    mlp_rng_seed(&r, ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
                         ((uint64_t)getpid() << 40) ^ attempt);
    char *x = j->tmp + strlen(j->tmp) - TEMP_X;
    for (int i = 0; i < TEMP_X; i++) x[i] = chars[mlp_rng_below(&r, sizeof chars - 1)];
    return j->tmp_base;
}

/* The save through an unnamed file fd. *fallback is set when it cannot be named here (no /proc
 * and no capability): the caller then starts again with mkstemp. */
static int save_unnamed(save_job *j, int fd, const char **what, bool *fallback) {
    int e = fill_and_sync(j, fd, what);
    if (e) return e;
    *what = "link the new file as";
    if (!j->exists) {
        /* Nothing to replace: the complete file appears under its name in one step. */
        e = link_unnamed(j, fd, j->base);
        if (e != EEXIST) {
            *fallback = e == ENOENT || e == EPERM;
            return e;
        }
        /* Created by someone else meanwhile: replace it like any file. */
    }
    const char *name = NULL;
    e = EEXIST;
    for (unsigned attempt = 0; attempt < 100 && e == EEXIST; attempt++) {
        name = temp_name(j, attempt);
        e = link_unnamed(j, fd, name);
    }
    if (e) {
        *fallback = e == ENOENT || e == EPERM;
        return e;
    }
    if (renameat(j->dirfd, name, j->dirfd, j->base) != 0) {
        e = errno;
        *what = "rename the new file over";
        (void)unlinkat(j->dirfd, name, 0);
    }
    return e;
}

/* The save through a named temporary file (mkstemp), removed on every failure. */
static int save_named(save_job *j, const char **what) {
    memcpy(j->tmp + strlen(j->tmp) - TEMP_X, "XXXXXX", TEMP_X);
    int fd = mkostemp(j->tmp, O_CLOEXEC);
    if (fd < 0) {
        *what = "create a temporary file next to";
        return errno;
    }
    int e = fill_and_sync(j, fd, what);
    if (close(fd) != 0 && !e) {
        e = errno;
        *what = "close";
    }
    if (!e && renameat(j->dirfd, j->tmp_base, j->dirfd, j->base) != 0) {
        e = errno;
        *what = "rename the temporary file over";
    }
    if (e) (void)unlink(j->tmp);
    return e;
}

/* The content in a new file of j's directory, then under the target's name; signals held. */
static int save_atomic(save_job *j, const char **what) {
    mlp_signal_hold hold;
    mlp_signals_hold(&hold);
    bool fallback = true;
    int e = 0;
    int fd = -1;
    if (!g_force_named) fd = openat(j->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
        fallback = false;
        e = save_unnamed(j, fd, what, &fallback);
        (void)close(fd); /* after fsync: nothing left to report */
    } else if (!g_force_named && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
        /* Not "unsupported here" (then mkstemp is tried) but a real failure: ENOENT, EACCES... */
        fallback = false;
        e = errno;
        *what = "create a temporary file next to";
    }
    if (fallback) e = save_named(j, what);
    if (!e) (void)fsync(j->dirfd); /* the new name durable; best effort (not every filesystem) */
    mlp_signals_release(&hold);
    return e;
}

/* The directory a file is saved into, for the *at calls. O_PATH if it cannot be read: saving
 * needs write and search permission only (as mkstemp did), not the right to list it; its fsync
 * is then skipped (EBADF, ignored: best effort anyway). */
static int open_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return fd;
}

/* Prepares j for the regular file (or nothing) at target, then saves. */
static mlp_status replace_file(save_job *j, const char *target) {
    const size_t n = strlen(target);
    const char *slash = strrchr(target, '/');
    const size_t base_off = slash ? (size_t)(slash - target) + 1 : 0;
    if (target[base_off] == '\0')
        return mlp_fail(MLP_ERR_IO, "%s: '%s' names a directory", j->fn, j->path);
    j->tmp = malloc(n + sizeof TEMP_SUFFIX);
    if (!j->tmp) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", j->fn);
    /* The directory: the target up to its last slash ("/" for "/name", "." for "name"). */
    memcpy(j->tmp, target, n + 1);
    if (slash) j->tmp[base_off > 1 ? base_off - 1 : 1] = '\0';
    j->dirfd = open_dir(slash ? j->tmp : ".");
    int e = j->dirfd < 0 ? errno : 0;
    const char *what = "open the directory of";
    memcpy(j->tmp, target, n);
    memcpy(j->tmp + n, TEMP_SUFFIX, sizeof TEMP_SUFFIX);
    j->base = target + base_off;
    j->tmp_base = j->tmp + base_off;
    if (!e) e = save_atomic(j, &what);
    mlp_status st = MLP_OK;
    if (e) st = mlp_fail(MLP_ERR_IO, "%s: cannot %s '%s': %s", j->fn, what, j->path, strerror(e));
    if (j->dirfd >= 0) (void)close(j->dirfd);
    free(j->tmp);
    return st;
}

mlp_status mlp_save_file(const char *fn, const char *path, mlp_fill_fn fill, void *ctx) {
    /* A device or a FIFO at the end of the links, /proc's included (/dev/stdout on a pipe is a
     * link to "pipe:[N]", which has no path to resolve): opened through path itself. */
    struct stat sb;
    if (stat(path, &sb) == 0 && (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode)))
        return write_through(fn, path, path, fill, ctx);
    char *target = NULL;
    int e = resolve_links(path, &target);
    if (e == ENOMEM) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", fn);
    if (e)
        return mlp_fail(MLP_ERR_IO, "%s: cannot follow the symbolic link '%s': %s", fn, path,
                        strerror(e));
    const bool exists = lstat(target, &sb) == 0;
    e = errno;
    mlp_status st;
    if (!exists && e != ENOENT) {
        st = mlp_fail(MLP_ERR_IO, "%s: cannot save to '%s': %s", fn, path, strerror(e));
    } else if (exists && (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode))) {
        st = write_through(fn, path, target, fill, ctx);
    } else if (exists && !S_ISREG(sb.st_mode)) {
        st = mlp_fail(MLP_ERR_IO,
                      "%s: '%s' is %s: not replaced (a save writes a regular file, a character "
                      "device or a FIFO)",
                      fn, path, kind_of(sb.st_mode));
    } else {
        save_job j = {.fn = fn,
                      .path = path,
                      .mode = exists ? (sb.st_mode & 07777) : 0644,
                      .exists = exists,
                      .fill = fill,
                      .ctx = ctx};
        st = replace_file(&j, target);
    }
    free(target);
    return st;
}

/* ---- the public call: a buffer saved by these rules ---- */

typedef struct bytes_src {
    const unsigned char *p;
    size_t n;
} bytes_src;

static int fill_bytes(int fd, void *ctx) {
    const bytes_src *b = ctx;
    for (size_t off = 0; off < b->n;) {
        ssize_t k = write(fd, b->p + off, b->n - off);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return errno;
        if (k == 0) return EIO;
        off += (size_t)k;
    }
    return 0;
}

mlp_status mlp_file_save(const char *path, const void *bytes, size_t size, const char *fn) {
    if (!fn) fn = "mlp_file_save";
    if (!path) return mlp_fail(MLP_ERR_NULL, "%s: path is NULL", fn);
    if (!bytes && size) return mlp_fail(MLP_ERR_NULL, "%s: bytes is NULL", fn);
    if (!path[0]) return mlp_fail(MLP_ERR_ARG, "%s: path is empty", fn);
    bytes_src b = {bytes, size};
    return mlp_save_file(fn, path, fill_bytes, &b);
}

int mlp_write_all(int fd, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return errno;
        if (k == 0) return EIO;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}
