/* Option scanning and strict value parsing. Every bad value is a usage error (exit 2) whose message
 * names the flag and quotes the value. Numbers must be complete (no trailing text), in range, and
 * sizes must not be negative (strtoull would silently wrap "-1"). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Indexed by the enum values, NULL-terminated. (Activation names are the library's:
 * mlp_activation_name.) */
static const char *const cli_solver_names[] = {"sgd", "adam", "lbfgs", NULL};
static const char *const cli_scale_names[] = {"none", "standard", "minmax", NULL};
static const char *const cli_schedule_names[] = {"constant", "invscaling", "adaptive", NULL};

#define NAMES_OF(names) (sizeof names / sizeof *names - 1)
_Static_assert(NAMES_OF(cli_solver_names) == MLP_OPT_COUNT, "a name per mlp_optimizer_kind");
_Static_assert(NAMES_OF(cli_schedule_names) == MLP_LR_COUNT, "a name per mlp_lr_schedule");

/* names[v], or "unknown" for a value outside the count entries. */
static const char *name_of(const char *const *names, size_t count, unsigned v) {
    return v < count ? names[v] : "unknown";
}

const char *cli_activation_name(mlp_activation a) {
    const char *name = mlp_activation_name(a);
    return name ? name : "unknown";
}

/* The library's activation names, NULL-terminated for cli_parse_choice. */
static const char *const *activation_names(void) {
    static const char *names[MLP_ACT_COUNT + 1];
    for (int a = 0; a < MLP_ACT_COUNT; a++) names[a] = mlp_activation_name((mlp_activation)a);
    return names;
}

const char *cli_solver_name(mlp_optimizer_kind k) {
    return name_of(cli_solver_names, MLP_OPT_COUNT, (unsigned)k);
}

const char *cli_scale_name(mlp_scale_kind k) {
    /* data.h's mlp_scale_kind has no _COUNT member: the list's length stands in for it. */
    return name_of(cli_scale_names, NAMES_OF(cli_scale_names), (unsigned)k);
}

const char *cli_schedule_name(mlp_lr_schedule s) {
    return name_of(cli_schedule_names, MLP_LR_COUNT, (unsigned)s);
}

const char *cli_loss_name(mlp_loss l) {
    switch (l) {
    case MLP_LOSS_SOFTMAX_CE:
        return "softmax cross-entropy";
    case MLP_LOSS_LOGISTIC:
        return "binary log-loss";
    case MLP_LOSS_SQUARED:
        return "squared error";
    case MLP_LOSS_POISSON:
        return "half Poisson deviance";
    case MLP_LOSS_HUBER:
        return "Huber";
    default:
        return "unknown";
    }
}

int cli_next(cli_args *a, const cli_opt *opts, const char **value, const char **name) {
    *value = NULL;
    *name = NULL;
    if (a->i >= a->argc) return CLI_ARG_END;
    const char *arg = a->argv[a->i++];
    if (a->only_positional || arg[0] != '-' || arg[1] == '\0') { /* "-" is a positional (stdin) */
        *value = arg;
        return CLI_ARG_POSITIONAL;
    }
    if (strcmp(arg, "--") == 0) {
        a->only_positional = 1;
        return cli_next(a, opts, value, name);
    }
    const cli_opt *o = NULL;
    const char *inline_value = NULL;
    if (arg[1] == '-') {
        const char *body = arg + 2, *eq = strchr(body, '=');
        size_t len = eq ? (size_t)(eq - body) : strlen(body);
        for (const cli_opt *p = opts; p->name; p++)
            if (strlen(p->name) == len && strncmp(p->name, body, len) == 0) o = p;
        if (!o) {
            *name = arg;
            return cli_usage_error(a->cmd, "unknown option '%.*s'", (int)(len + 2), arg),
                   CLI_ARG_ERROR;
        }
        if (eq) inline_value = eq + 1;
    } else {
        for (const cli_opt *p = opts; p->name; p++)
            if (p->short_name && p->short_name == arg[1]) o = p;
        if (!o) return cli_usage_error(a->cmd, "unknown option '%s'", arg), CLI_ARG_ERROR;
        if (arg[2] != '\0') {
            if (!o->has_value)
                return cli_usage_error(a->cmd, "unknown option '%s'", arg), CLI_ARG_ERROR;
            inline_value = arg + 2; /* -oFILE */
        }
    }
    *name = o->name;
    if (!o->has_value) {
        if (inline_value)
            return cli_usage_error(a->cmd, "option '--%s' takes no value", o->name), CLI_ARG_ERROR;
        return o->id;
    }
    if (inline_value) {
        *value = inline_value;
        return o->id;
    }
    if (a->i >= a->argc)
        return cli_usage_error(a->cmd, "option '--%s' needs a value", o->name), CLI_ARG_ERROR;
    *value = a->argv[a->i++];
    return o->id;
}

/* Unsigned decimal integer, whole string, no sign, no blanks. Returns 1, 0 (not an integer) or -1
 * (beyond unsigned long long). */
static int parse_unsigned(const char *s, unsigned long long *out) {
    if (!s || !isdigit((unsigned char)s[0])) return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') return 0;
    if (errno == ERANGE) return -1;
    *out = v;
    return 1;
}

int cli_parse_size(const char *cmd, const char *flag, const char *s, size_t min, size_t max,
                   size_t *out) {
    unsigned long long v;
    int ok = parse_unsigned(s, &v);
    if (ok < 0) return cli_usage_error(cmd, "--%s: %s is too large", flag, s);
    if (!ok) return cli_usage_error(cmd, "--%s: '%s' is not a non-negative integer", flag, s);
    if (v < min || v > max) {
        if (max == SIZE_MAX || (max == (size_t)LONG_MAX && min == 0))
            return cli_usage_error(cmd, "--%s: %s is out of range (must be >= %zu)", flag, s, min);
        return cli_usage_error(cmd, "--%s: %s is out of range (%zu .. %zu)", flag, s, min, max);
    }
    *out = (size_t)v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *flag, const char *s, uint64_t *out) {
    unsigned long long v;
    if (parse_unsigned(s, &v) != 1 || v > UINT64_MAX)
        return cli_usage_error(cmd, "--%s: '%s' is not an integer in 0 .. 2^64-1", flag, s);
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_int(const char *cmd, const char *flag, const char *s, int min, int max, int *out) {
    size_t v = 0;
    int rc = cli_parse_size(cmd, flag, s, (size_t)(min < 0 ? 0 : min), (size_t)max, &v);
    if (rc) return rc;
    *out = (int)v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *flag, const char *s, double lo, double hi,
                     int lo_open, int hi_open, double *out) {
    char *end = NULL;
    if (!s || s[0] == '\0' || isspace((unsigned char)s[0]))
        return cli_usage_error(cmd, "--%s: '%s' is not a number", flag, s ? s : "");
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0') return cli_usage_error(cmd, "--%s: '%s' is not a number", flag, s);
    if (errno == ERANGE && fabs(v) > 1.0)
        return cli_usage_error(cmd, "--%s: '%s' is out of range", flag, s);
    if (!isfinite(v)) return cli_usage_error(cmd, "--%s: '%s' is not a finite number", flag, s);
    if ((lo_open ? !(v > lo) : !(v >= lo)) || (hi_open ? !(v < hi) : !(v <= hi))) {
        char los[32], his[32];
        cli_format_double(los, sizeof los, lo);
        cli_format_double(his, sizeof his, hi);
        return cli_usage_error(cmd, "--%s: %s is out of range %s%s, %s%s", flag, s,
                               lo_open ? "(" : "[", los, isinf(hi) ? "inf" : his,
                               hi_open ? ")" : "]");
    }
    *out = v;
    return 0;
}

int cli_parse_float(const char *cmd, const char *flag, const char *s, double lo, double hi,
                    int lo_open, int hi_open, float *out) {
    double v = 0.0;
    int rc = cli_parse_double(cmd, flag, s, lo, hi, lo_open, hi_open, &v);
    if (rc) return rc;
    float f = (float)v;
    if (!isfinite(f)) return cli_usage_error(cmd, "--%s: %s is beyond float range", flag, s);
    if (v != 0.0 && f == 0.0f) return cli_usage_error(cmd, "--%s: %s underflows a float", flag, s);
    /* Rounding to float must not cross an open bound (e.g. --momentum 0.99999999 -> 1.0f). */
    if ((lo_open && !((double)f > lo)) || (hi_open && !((double)f < hi)))
        return cli_usage_error(cmd, "--%s: %s rounds to the excluded bound as a float", flag, s);
    *out = f;
    return 0;
}

int cli_parse_choice(const char *cmd, const char *flag, const char *s, const char *const *names,
                     int *out) {
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) {
            *out = i;
            return 0;
        }
    char list[256] = "";
    for (int i = 0; names[i]; i++) {
        if (i) strncat(list, "|", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    return cli_usage_error(cmd, "--%s: '%s' is not one of %s", flag, s, list);
}

int cli_parse_activation(const char *cmd, const char *flag, const char *s, mlp_activation *out) {
    int i = 0, rc = cli_parse_choice(cmd, flag, s, activation_names(), &i);
    if (rc == 0) *out = (mlp_activation)i;
    return rc;
}

int cli_parse_solver(const char *cmd, const char *flag, const char *s, mlp_optimizer_kind *out) {
    int i = 0, rc = cli_parse_choice(cmd, flag, s, cli_solver_names, &i);
    if (rc == 0) *out = (mlp_optimizer_kind)i;
    return rc;
}

int cli_parse_scale(const char *cmd, const char *flag, const char *s, mlp_scale_kind *out) {
    int i = 0, rc = cli_parse_choice(cmd, flag, s, cli_scale_names, &i);
    if (rc == 0) *out = (mlp_scale_kind)i;
    return rc;
}

int cli_parse_precision(const char *cmd, const char *flag, const char *s, mlp_precision *out) {
    static const char *const names[] = {"f32", "bf16", "auto", NULL}; /* mlp_precision's order */
    int i = 0, rc = cli_parse_choice(cmd, flag, s, names, &i);
    if (rc == 0) *out = (mlp_precision)i;
    return rc;
}

int cli_parse_schedule(const char *cmd, const char *flag, const char *s, mlp_lr_schedule *out) {
    int i = 0, rc = cli_parse_choice(cmd, flag, s, cli_schedule_names, &i);
    if (rc == 0) *out = (mlp_lr_schedule)i;
    return rc;
}

#define CLI_MAX_HIDDEN 1024

int cli_parse_hidden(const char *cmd, const char *s, size_t **widths, size_t *n) {
    *widths = NULL;
    *n = 0;
    if (s[0] == '\0' || strcmp(s, "none") == 0 || strcmp(s, "0") == 0) return 0;
    size_t count = 1;
    for (const char *p = s; *p; p++) count += *p == ',';
    if (count > CLI_MAX_HIDDEN)
        return cli_usage_error(cmd, "--hidden: %zu layers; at most %d are allowed", count,
                               CLI_MAX_HIDDEN);
    size_t *w = malloc(count * sizeof *w);
    if (!w) return cli_error("out of memory"), CLI_EXIT_RUNTIME;
    const char *p = s;
    for (size_t i = 0; i < count; i++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char tok[32];
        unsigned long long v = 0;
        int ok = len > 0 && len < sizeof tok;
        if (ok) {
            memcpy(tok, p, len);
            tok[len] = '\0';
            ok = parse_unsigned(tok, &v) == 1 && v >= 1 && v <= (1ull << 31);
        }
        if (!ok) {
            free(w);
            return cli_usage_error(cmd,
                                   "--hidden: '%s': layer %zu is not a width in 1 .. 2^31 "
                                   "(use e.g. 50 or 50,30, or 'none' for no hidden layer)",
                                   s, i + 1);
        }
        w[i] = (size_t)v;
        p = comma ? comma + 1 : p + len;
    }
    *widths = w;
    *n = count;
    return 0;
}

#define CLI_MAX_LABEL_COLUMNS 4096
#define CLI_MAX_COLUMN (1L << 40) /* far beyond any CSV row (the reader caps a line) */

/* One item of a --label-column list at s: "last", N, -N or A-B, into cols (appending at *n). */
static int parse_column_item(const char *cmd, const char *flag, const char *s, long *cols,
                             size_t *n) {
    char *end;
    errno = 0;
    long a = strcmp(s, "last") == 0 ? -1 : strtol(s, &end, 10), b = a;
    if (strcmp(s, "last") != 0) {
        if (end == s || errno || (*end && (*end != '-' || a < 0 || s[0] == '+')))
            return cli_usage_error(cmd,
                                   "--%s: '%s' is not a column (0-based N, -N from the end, "
                                   "'last', or a range A-B)",
                                   flag, s);
        if (*end == '-') {
            const char *e2 = end + 1;
            errno = 0;
            b = strtol(e2, &end, 10);
            if (end == e2 || *end || errno || b < a || e2[0] == '-' || e2[0] == '+')
                return cli_usage_error(cmd, "--%s: '%s' is not a range A-B with 0 <= A <= B", flag,
                                       s);
        }
    }
    if (a > CLI_MAX_COLUMN || b > CLI_MAX_COLUMN || a < -CLI_MAX_COLUMN)
        return cli_usage_error(cmd, "--%s: '%s' is beyond the largest column (%ld)", flag, s,
                               CLI_MAX_COLUMN);
    if (b - a >= CLI_MAX_LABEL_COLUMNS - (long)*n) /* bounded: no overflow below */
        return cli_usage_error(cmd, "--%s: more than %d columns", flag, CLI_MAX_LABEL_COLUMNS);
    for (long c = a; c <= b; c++) {
        for (size_t i = 0; i < *n; i++)
            if (cols[i] == c) return cli_usage_error(cmd, "--%s: column %ld given twice", flag, c);
        cols[(*n)++] = c;
    }
    return 0;
}

int cli_parse_columns(const char *cmd, const char *flag, const char *s, cli_data_opts *o) {
    static long cols[CLI_MAX_LABEL_COLUMNS];
    char item[64];
    size_t n = 0;
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof item)
            return cli_usage_error(cmd, "--%s: '%s' is not a column list", flag, s);
        memcpy(item, p, len);
        item[len] = '\0';
        int rc = parse_column_item(cmd, flag, item, cols, &n);
        if (rc) return rc;
        if (!comma) break;
        p = comma + 1;
    }
    o->label_column = cols[0];
    o->label_columns = n > 1 ? cols : NULL;
    o->n_label_columns = n > 1 ? n : 0;
    return 0;
}

int cli_parse_header(const char *cmd, const char *flag, const char *s, int *out) {
    static const char *const names[] = {"no", "yes", "auto", NULL};
    int i = 0;
    int rc = cli_parse_choice(cmd, flag, s, names, &i);
    if (rc) return rc;
    *out = i == 2 ? -1 : i;
    return 0;
}

int cli_parse_delimiter(const char *cmd, const char *flag, const char *s, char *out) {
    if (strcmp(s, "auto") == 0) {
        *out = MLP_CSV_DETECT;
    } else if (strcmp(s, "tab") == 0 || strcmp(s, "\\t") == 0 || strcmp(s, "\t") == 0) {
        *out = '\t';
    } else if (strcmp(s, "space") == 0 || strcmp(s, "whitespace") == 0 || strcmp(s, " ") == 0) {
        *out = ' ';
    } else if (strlen(s) == 1 && !strchr("0123456789.+-eE\"\r\n", s[0])) {
        *out = s[0];
    } else {
        return cli_usage_error(cmd,
                               "--%s: '%s' is not a delimiter (auto, ',', ';', tab, space, or one "
                               "character that cannot be part of a number)",
                               flag, s);
    }
    return 0;
}

/* ---- options shared by the commands ---- */

void cli_common_init(cli_common *c) {
    memset(c, 0, sizeof *c);
    c->data.label_column = -1;
    c->data.header = -1;
    c->data.weight_column = MLP_CSV_NO_COLUMN;
}

int cli_is_common_option(int id) {
    return id > CLI_OPT_HELP && id < CLI_OPT_SHARED_END;
}

int cli_common_option(const char *cmd, int id, const char *name, const char *v, cli_common *c) {
    switch (id) {
    case CLI_OPT_LABELS:
        c->data.labels = v;
        return 0;
    case CLI_OPT_LABEL_COLUMN:
        return cli_parse_columns(cmd, name, v, &c->data);
    case CLI_OPT_HEADER:
        return cli_parse_header(cmd, name, v, &c->data.header);
    case CLI_OPT_DELIMITER:
        return cli_parse_delimiter(cmd, name, v, &c->data.delimiter);
    case CLI_OPT_SKIP_ROWS:
        return cli_parse_size(cmd, name, v, 0, SIZE_MAX, &c->data.skip_rows);
    case CLI_OPT_THREADS:
        return cli_parse_int(cmd, name, v, 1, 4096, &c->threads);
    case CLI_OPT_JSON:
        c->json = 1;
        return 0;
    case CLI_OPT_OUT:
        c->out = v;
        return 0;
    default:
        return cli_usage_error(cmd, "internal error: option %d", id);
    }
}

int cli_common_check(const char *cmd, const cli_common *c) {
    if (c->out && c->out[0] == '\0') return cli_usage_error(cmd, "--out: empty path");
    return 0;
}

int cli_apply_threads(int threads) {
    if (!threads) return 0;
    mlp_status st = mlp_set_num_threads(threads);
    if (st != MLP_OK) return cli_lib_error(st, "--threads %d", threads);
    return 0;
}
