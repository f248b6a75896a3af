/* mlp train's sample weights (mlp_fit_options.sample_weight): --sample-weight FILE (one weight
 * per line, in the data file's row order) or --weight-column C (a CSV column, which the CSV reader
 * takes out of the features). Either way they are mlp_dataset.weights of the data file as read, and
 * follow their rows through the splits into the training set. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One weight from text s (line lineno of path), blanks around it allowed. */
static int parse_weight(const char *path, size_t lineno, char *s, float *w) {
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1])) s[--len] = '\0';
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return cli_error("%s:%zu: empty line (one weight per line)", path, lineno);
    char *end = s;
    errno = 0;
    const char *digits = *s == '+' || *s == '-' ? s + 1 : s;
    const int hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'); /* decimal only */
    double v = hex ? 0.0 : strtod(s, &end);
    if (hex || *end || end == s || !isfinite(v) || fabs(v) > FLT_MAX)
        return cli_error("%s:%zu: '%.40s' is not a weight (a finite number >= 0)", path, lineno, s);
    if (v < 0.0) return cli_error("%s:%zu: the weight %s is negative", path, lineno, s);
    *w = (float)v;
    return 0;
}

int cli_weights_read(const char *path, size_t n, float **out) {
    FILE *f = fopen(path, "r");
    if (!f) return cli_error("cannot read the sample weights '%s': %s", path, strerror(errno));
    float *w = malloc((n ? n : 1) * sizeof *w);
    char *line = NULL;
    size_t cap = 0, count = 0, lineno = 0;
    int rc = w ? 0 : cli_error("out of memory for %zu sample weights", n);
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (count == n)
            rc = cli_error("%s:%zu: more weights than the %zu rows of the training data", path,
                           lineno, n);
        else
            rc = parse_weight(path, lineno, line, &w[count++]);
    }
    if (rc == 0 && ferror(f)) rc = cli_error("cannot read the sample weights '%s'", path);
    if (rc == 0 && count < n)
        rc = cli_error("%s: %zu weights for the %zu rows of the training data (one weight per "
                       "line, in the data file's row order)",
                       path, count, n);
    free(line);
    fclose(f);
    if (rc) free(w);
    if (rc == 0) *out = w;
    return rc;
}

/* ---- --weight-column ---- */

int cli_weights_parse_column(const char *s, long *col, const char **name) {
    char *end;
    *name = NULL;
    if (strcmp(s, "last") == 0) {
        *col = -1;
        return 0;
    }
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s && !*end && errno == 0 && v != MLP_CSV_NO_COLUMN) {
        *col = v;
        return 0;
    }
    if (!*s) return cli_usage_error("train", "--weight-column: empty value");
    *name = s; /* resolved against the header when the data is read */
    return 0;
}
