/* mlp train --history FILE: every epoch's training loss, validation score and loss, learning rate
 * and time, as CSV or JSON (chosen by the extension). Recorded by the progress callback, written
 * after training with the rules of the library's model files (src/io/file_save.c; the tool links
 * libmlp.so, which does not export them, hence this copy of them):
 *  - a regular file (or none) is replaced atomically: the text goes to a new unnamed file
 *    (O_TMPFILE; else FILE.tmp.XXXXXX, removed on any failure) in FILE's directory, fsync'ed,
 *    then named FILE in one link (no file before) or one rename; SIGINT, SIGTERM, SIGHUP and
 *    SIGQUIT wait until it is done, so that no crash, kill or Ctrl-C leaves a half-written
 *    history or a temporary file (a SIGKILL between the link and the rename excepted);
 *  - a symbolic link is followed and its target replaced; the link is kept;
 *  - a character device or a FIFO (/dev/null, /dev/stdout on a pipe) is written through;
 *  - anything else (a directory, a block device, a socket) is refused. */
#define _GNU_SOURCE /* O_TMPFILE, AT_EMPTY_PATH, mkostemp */

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cli_history_format(const char *path) {
    const size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".csv") == 0) return CLI_HISTORY_CSV;
    if (len > 5 && strcmp(path + len - 5, ".json") == 0) return CLI_HISTORY_JSON;
    return -1;
}

int cli_history_add(cli_history *h, const mlp_epoch_info *info) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 256;
        mlp_epoch_info *rows = realloc(h->rows, cap * sizeof *rows);
        if (!rows) {
            h->failed = 1; /* reported when it is written */
            return -1;
        }
        h->rows = rows;
        h->cap = cap;
    }
    h->rows[h->n++] = *info;
    return 0;
}

void cli_history_free(cli_history *h) {
    free(h->rows);
    memset(h, 0, sizeof *h);
}

/* A float field: shortest text, nothing (CSV) or null (JSON) when it is NaN. */
static void put_float(FILE *f, float v, const char *missing) {
    char buf[32];
    if (!isfinite(v)) {
        fputs(missing, f);
        return;
    }
    cli_format_float(buf, sizeof buf, v);
    fputs(buf, f);
}

static void write_csv(FILE *f, const cli_history *h) {
    fputs("epoch,loss,val_score,val_loss,lr,seconds\n", f);
    for (size_t i = 0; i < h->n; i++) {
        const mlp_epoch_info *e = &h->rows[i];
        char secs[32];
        cli_format_double(secs, sizeof secs, e->seconds);
        fprintf(f, "%zu,", e->epoch);
        put_float(f, e->loss, "");
        fputc(',', f);
        put_float(f, e->val_score, "");
        fputc(',', f);
        put_float(f, e->val_loss, "");
        fputc(',', f);
        put_float(f, e->lr, "");
        fprintf(f, ",%s\n", secs);
    }
}

/* An array of one object per epoch, one per line. */
static void write_json(FILE *f, const cli_history *h) {
    fputs("[", f);
    for (size_t i = 0; i < h->n; i++) {
        const mlp_epoch_info *e = &h->rows[i];
        char secs[32];
        cli_format_double(secs, sizeof secs, e->seconds);
        fprintf(f, "%s\n{\"epoch\": %zu, \"loss\": ", i ? "," : "", e->epoch);
        put_float(f, e->loss, "null");
        fputs(", \"val_score\": ", f);
        put_float(f, e->val_score, "null");
        fputs(", \"val_loss\": ", f);
        put_float(f, e->val_loss, "null");
        fputs(", \"lr\": ", f);
        put_float(f, e->lr, "null");
        fprintf(f, ", \"seconds\": %s}", secs);
    }
    fputs("\n]\n", f);
}

/* ---- the file ---- */

#define MAX_LINKS 40 /* the kernel's own limit for one lookup */
#define TEMP_SUFFIX ".tmp.XXXXXX"
#define TEMP_X 6

/* All n bytes to fd. */
static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k < 0 ? errno : EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The target of the symbolic link at path as a new string, a relative one taken from the link's
 * directory; NULL with errno set on failure. */
static char *link_target(const char *path, size_t size_hint) {
    const char *slash = strrchr(path, '/');
    const size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
    for (size_t cap = size_hint + 2 > 256 ? size_hint + 2 : 256; cap <= ((size_t)1 << 20);
         cap *= 2) {
        char *buf = malloc(dir + cap);
        if (!buf) return NULL;
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
        errno = e;
        if (n < 0) return NULL;
    }
    errno = ENAMETOOLONG;
    return NULL;
}

/* The file written for path (a new string): path, or the final target of the link it is. */
static int resolve_links(const char *path, char **out) {
    char *cur = strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat sb;
        if (lstat(cur, &sb) != 0 || !S_ISLNK(sb.st_mode)) break;
        char *next = hops < MAX_LINKS ? link_target(cur, (size_t)sb.st_size) : NULL;
        int e = hops < MAX_LINKS ? errno : ELOOP;
        free(cur);
        if (!next) return e;
        cur = next;
    }
    *out = cur;
    return cur ? 0 : ENOMEM;
}

/* Ctrl-C and the other termination signals wait while the file is replaced: blocked here, and,
 * since a signal to the process goes to any thread that does not block it (OpenMP's pool
 * threads), a default action is swapped for a handler that records the signal, which is sent
 * again once the file is complete. A handler chosen by the kernel may run on another thread after
 * the release looked at the marks: it marks, then looks whether the hold is over; the release
 * ends the hold, then looks at the marks (sequentially consistent atomics): one of them sees the
 * other, and whoever takes the mark sends the signal again. */
static const int held[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_HELD (sizeof held / sizeof held[0])
static atomic_int g_holding;
static atomic_int g_caught[N_HELD];
typedef struct hold {
    sigset_t old_mask;
    struct sigaction prev[N_HELD];
    bool swapped[N_HELD];
} hold;

static void on_held(int sig) {
    for (size_t i = 0; i < N_HELD; i++) {
        if (held[i] != sig) continue;
        atomic_store(&g_caught[i], 1);
        if (!atomic_load(&g_holding) && atomic_exchange(&g_caught[i], 0)) kill(getpid(), sig);
    }
}

static void hold_signals(hold *h) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_HELD; i++) sigaddset(&sa.sa_mask, held[i]);
    pthread_sigmask(SIG_BLOCK, &sa.sa_mask, &h->old_mask);
    atomic_store(&g_holding, 1);
    sa.sa_handler = on_held;
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < N_HELD; i++)
        h->swapped[i] = sigaction(held[i], NULL, &h->prev[i]) == 0 &&
                        !(h->prev[i].sa_flags & SA_SIGINFO) && h->prev[i].sa_handler == SIG_DFL &&
                        sigaction(held[i], &sa, NULL) == 0;
}

static void release_signals(hold *h) {
    for (size_t i = 0; i < N_HELD; i++)
        if (h->swapped[i]) sigaction(held[i], &h->prev[i], NULL);
    atomic_store(&g_holding, 0);
    for (size_t i = 0; i < N_HELD; i++)
        if (atomic_exchange(&g_caught[i], 0)) kill(getpid(), held[i]);
    pthread_sigmask(SIG_SETMASK, &h->old_mask, NULL);
}

/* The text into fd, as a 0644 file, on disk. */
static int fill_and_sync(int fd, const char *text, size_t len, const char **what) {
    (void)fchmod(fd, 0644); /* a new file is 0600; a history is not a secret */
    int e = write_all(fd, text, len);
    *what = "write";
    if (!e && fsync(fd) != 0) {
        e = errno;
        *what = "fsync";
    }
    return e;
}

static int link_unnamed(int fd, int dirfd, const char *name) {
    char proc[40];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0) return 0;
    if (errno == ENOENT && linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0) return 0;
    return errno;
}

/* The text in an unnamed file fd, then under base (no file before) or a temporary name (tmp's
 * last component, its X's filled here) renamed over base. *fallback: it cannot be named here. */
static int save_unnamed(int fd, int dirfd, const char *base, char *tmp, bool exists,
                        const char *text, size_t len, const char **what, bool *fallback) {
    int e = fill_and_sync(fd, text, len, what);
    if (e) return e;
    *what = "link";
    if (!exists && (e = link_unnamed(fd, dirfd, base)) != EEXIST) {
        *fallback = e == ENOENT || e == EPERM;
        return e;
    }
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char *x = tmp + strlen(tmp) - TEMP_X, *name = strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long r = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16);
    for (int attempt = 0; attempt < 100 && (attempt == 0 || e == EEXIST); attempt++) {
        for (int i = 0; i < TEMP_X; i++) {
            r = r * 6364136223846793005ul + 1442695040888963407ul;
            x[i] = chars[(r >> 33) % (sizeof chars - 1)];
        }
        e = link_unnamed(fd, dirfd, name);
    }
    if (e) {
        *fallback = e == ENOENT || e == EPERM;
        return e;
    }
    *what = "rename";
    if (renameat(dirfd, name, dirfd, base) != 0) {
        e = errno;
        unlinkat(dirfd, name, 0);
    }
    return e;
}

/* The text in a mkstemp file (tmp), renamed over target; removed on any failure. */
static int save_named(const char *target, char *tmp, const char *text, size_t len,
                      const char **what) {
    memcpy(tmp + strlen(tmp) - TEMP_X, "XXXXXX", TEMP_X);
    int fd = mkostemp(tmp, O_CLOEXEC);
    *what = "create a temporary file";
    if (fd < 0) return errno;
    int e = fill_and_sync(fd, text, len, what);
    if (close(fd) != 0 && !e) e = errno;
    *what = e ? *what : "rename";
    if (!e && rename(tmp, target) != 0) e = errno;
    if (e) unlink(tmp);
    return e;
}

/* Replaces the regular file (or nothing) at target by text; signals held meanwhile. */
static int save_regular(const char *target, bool exists, const char *text, size_t len,
                        const char **what) {
    const size_t n = strlen(target);
    const char *slash = strrchr(target, '/');
    char *tmp = malloc(n + sizeof TEMP_SUFFIX);
    *what = "open its directory";
    if (!tmp) return ENOMEM;
    memcpy(tmp, target, n + 1);
    if (slash) tmp[slash == target ? 1 : slash - target] = '\0';
    const char *dir = slash ? tmp : ".";
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* Writing needs no right to list the directory (as mkstemp): O_PATH then (no fsync). */
    if (dirfd < 0 && errno == EACCES) dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    memcpy(tmp + n, TEMP_SUFFIX, sizeof TEMP_SUFFIX);
    memcpy(tmp, target, n);
    if (dirfd < 0) {
        free(tmp);
        return e;
    }
    hold h;
    hold_signals(&h);
    bool fallback = true;
    e = 0;
    int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
        fallback = false;
        e = save_unnamed(fd, dirfd, slash ? slash + 1 : target, tmp, exists, text, len, what,
                         &fallback);
        close(fd);
    } else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
        fallback = false;
        e = errno;
        *what = "create a temporary file";
    }
    if (fallback) e = save_named(target, tmp, text, len, what);
    if (!e) (void)fsync(dirfd); /* the new name durable; best effort */
    release_signals(&h);
    close(dirfd);
    free(tmp);
    return e;
}

/* A character device or a FIFO: written in place (never replaced, never created). */
static int save_through(const char *target, const char *text, size_t len, const char **what) {
    int fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    *what = "open";
    if (fd < 0) return errno;
    struct stat sb;
    int e = fstat(fd, &sb) != 0 ? errno : 0;
    if (!e && !S_ISCHR(sb.st_mode) && !S_ISFIFO(sb.st_mode)) e = EAGAIN; /* changed meanwhile */
    *what = "write";
    if (!e) e = write_all(fd, text, len);
    if (close(fd) != 0 && !e) e = errno;
    return e;
}

/* The history's text into a new buffer. */
static int history_text(const cli_history *h, const char *path, char **text, size_t *len) {
    FILE *f = open_memstream(text, len);
    if (!f) return ENOMEM;
    if (cli_history_format(path) == CLI_HISTORY_JSON)
        write_json(f, h);
    else
        write_csv(f, h);
    int e = ferror(f) ? ENOMEM : 0;
    if (fclose(f) != 0 && !e) e = ENOMEM;
    if (e) free(*text);
    return e;
}

static const char *kind_of(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* The text to path, by what path is (see the top of this file). Returns 0 or an exit code (the
 * error printed). */
static int write_history_file(const char *path, const char *text, size_t len) {
    const char *what = "write";
    struct stat sb;
    int e;
    /* A device or a FIFO at the end of the links, /proc's included (/dev/stdout on a pipe is a
     * link to "pipe:[N]", which has no path to resolve): written through path itself. */
    if (stat(path, &sb) == 0 && (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode))) {
        e = save_through(path, text, len, &what);
    } else {
        char *target = NULL;
        bool exists = false;
        what = "follow the link";
        e = resolve_links(path, &target);
        if (!e && !(exists = lstat(target, &sb) == 0) && errno != ENOENT) {
            e = errno;
            what = "look at";
        }
        if (!e && exists && !S_ISREG(sb.st_mode) && !S_ISCHR(sb.st_mode) && !S_ISFIFO(sb.st_mode)) {
            free(target);
            return cli_error("cannot write the history '%s': it is %s, not replaced", path,
                             kind_of(sb.st_mode));
        }
        if (!e && exists && !S_ISREG(sb.st_mode))
            e = save_through(target, text, len, &what);
        else if (!e)
            e = save_regular(target, exists, text, len, &what);
        free(target);
    }
    if (e)
        return cli_error("cannot write the history '%s': cannot %s: %s", path, what, strerror(e));
    return 0;
}

int cli_history_write(const cli_history *h, const char *path) {
    if (h->failed) return cli_error("out of memory for the training history");
    char *text = NULL;
    size_t len = 0;
    if (history_text(h, path, &text, &len) != 0) return cli_error("out of memory");
    int rc = write_history_file(path, text, len);
    free(text);
    return rc;
}
