/* mlp train --history FILE: every epoch's training loss, validation score and loss, learning rate
 * and time, as CSV or JSON (chosen by the extension). Recorded by the progress callback, written
 * after training like a model file: into a temporary file next to FILE, flushed to disk, then
 * renamed over FILE, so that a crash or a full disk never leaves a half-written history. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Writes, flushes to disk and closes f; 0 or the errno of the first failure. */
static int finish_file(FILE *f) {
    int err = ferror(f) ? EIO : 0;
    if (!err && fflush(f) != 0) err = errno ? errno : EIO;
    if (!err && fsync(fileno(f)) != 0) err = errno;
    if (fclose(f) != 0 && !err) err = errno ? errno : EIO;
    return err;
}

int cli_history_write(const cli_history *h, const char *path) {
    if (h->failed) return cli_error("out of memory for the training history");
    static const char suffix[] = ".tmp.XXXXXX";
    const size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof suffix);
    if (!tmp) return cli_error("out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, sizeof suffix);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return cli_error("cannot create a temporary file next to '%s': %s", path, strerror(e));
    }
    (void)fchmod(fd, 0644); /* mkstemp makes it 0600; a history is not a secret */
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return cli_error("cannot write '%s': %s", path, strerror(e));
    }
    if (cli_history_format(path) == CLI_HISTORY_JSON)
        write_json(f, h);
    else
        write_csv(f, h);
    int err = finish_file(f);
    if (!err && rename(tmp, path) != 0) err = errno;
    if (err) unlink(tmp);
    free(tmp);
    if (err) return cli_error("cannot write the history '%s': %s", path, strerror(err));
    return 0;
}
