/* mlp train --history FILE: every epoch's training loss, validation score and loss, learning rate
 * and time, as CSV or JSON (chosen by the extension). Recorded by the progress callback, written
 * after training by mlp_file_save, with the rules of the library's model files:
 *  - a regular file (or none) is replaced atomically: the text goes to a new unnamed file
 *    (O_TMPFILE; else FILE.tmp.XXXXXX, removed on any failure) in FILE's directory, fsync'ed,
 *    then named FILE in one link (no file before) or one rename; SIGINT, SIGTERM, SIGHUP and
 *    SIGQUIT wait until it is done, so that no crash, kill or Ctrl-C leaves a half-written
 *    history or a temporary file (a SIGKILL between the link and the rename excepted);
 *  - a symbolic link is followed and its target replaced; the link is kept;
 *  - a character device or a FIFO (/dev/null, /dev/stdout on a pipe) is written through;
 *  - anything else (a directory, a block device, a socket) is refused. */
#define _GNU_SOURCE /* open_memstream */

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* One epoch's fields after its number: loss, val_score, val_loss and lr each after its lead-in,
 * then the seconds after the last lead-in and `end`; a missing value (NaN) prints as `missing`. */
static void put_row(FILE *f, const mlp_epoch_info *e, const char *const lead[5], const char *end,
                    const char *missing) {
    char secs[32];
    cli_format_double(secs, sizeof secs, e->seconds);
    const float v[4] = {e->loss, e->val_score, e->val_loss, e->lr};
    fprintf(f, "%zu", e->epoch);
    for (int i = 0; i < 4; i++) {
        fputs(lead[i], f);
        put_float(f, v[i], missing);
    }
    fprintf(f, "%s%s%s", lead[4], secs, end);
}

/* A header line and one line per epoch; empty fields where there is no value. */
static void write_csv(FILE *f, const cli_history *h) {
    static const char *const lead[5] = {",", ",", ",", ",", ","};
    fputs("epoch,loss,val_score,val_loss,lr,seconds\n", f);
    for (size_t i = 0; i < h->n; i++) put_row(f, &h->rows[i], lead, "\n", "");
}

/* An array of one object per epoch, one per line. */
static void write_json(FILE *f, const cli_history *h) {
    static const char *const lead[5] = {
        ", \"loss\": ", ", \"val_score\": ", ", \"val_loss\": ", ", \"lr\": ", ", \"seconds\": "};
    fputs("[", f);
    for (size_t i = 0; i < h->n; i++) {
        fprintf(f, "%s\n{\"epoch\": ", i ? "," : "");
        put_row(f, &h->rows[i], lead, "}", "null");
    }
    fputs("\n]\n", f);
}

/* ---- the file ---- */

#define MAX_LINKS 40 /* the kernel's own limit for one lookup */
#define TEMP_SUFFIX ".tmp.XXXXXX"
#define TEMP_X 6

/* All n bytes to fd. */
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

int cli_history_write(const cli_history *h, const char *path) {
    if (h->failed) return cli_error("out of memory for the training history");
    char *text = NULL;
    size_t len = 0;
    if (history_text(h, path, &text, &len) != 0) return cli_error("out of memory");
    mlp_status st = mlp_file_save(path, text, len, "--history");
    free(text);
    return st == MLP_OK ? 0 : cli_lib_error(st, "cannot write the history '%s'", path);
}
