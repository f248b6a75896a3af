/* A minimal JSON writer: one object on one line, keys in call order. Numbers are printed with the
 * fewest digits that read back to the same double (or float), so two runs that compute the same
 * value print the same text; non-finite numbers become null. */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_format_double(char *buf, size_t cap, double v) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void cli_format_float(char *buf, size_t cap, float v) {
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, cap, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) return;
    }
}

static void put_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\b':
            fputs("\\b", f);
            break;
        case '\f':
            fputs("\\f", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f); /* UTF-8 passes through */
        }
    }
    fputc('"', f);
}

static void key(cli_json *j, const char *k) {
    if (j->n++) fputs(", ", j->f);
    put_string(j->f, k);
    fputs(": ", j->f);
}

void cli_json_begin(cli_json *j, FILE *f) {
    j->f = f;
    j->n = 0;
    fputc('{', f);
}

void cli_json_str(cli_json *j, const char *k, const char *v) {
    key(j, k);
    if (v)
        put_string(j->f, v);
    else
        fputs("null", j->f);
}

void cli_json_double(cli_json *j, const char *k, double v) {
    key(j, k);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    char buf[64];
    cli_format_double(buf, sizeof buf, v);
    fputs(buf, j->f);
}

void cli_json_float(cli_json *j, const char *k, float v) {
    key(j, k);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    char buf[64];
    cli_format_float(buf, sizeof buf, v);
    fputs(buf, j->f);
}

void cli_json_u64(cli_json *j, const char *k, uint64_t v) {
    key(j, k);
    fprintf(j->f, "%" PRIu64, v);
}

void cli_json_bool(cli_json *j, const char *k, int v) {
    key(j, k);
    fputs(v ? "true" : "false", j->f);
}

void cli_json_null(cli_json *j, const char *k) {
    key(j, k);
    fputs("null", j->f);
}

void cli_json_sizes(cli_json *j, const char *k, const size_t *v, size_t n) {
    key(j, k);
    fputc('[', j->f);
    for (size_t i = 0; i < n; i++) fprintf(j->f, i ? ", %zu" : "%zu", v[i]);
    fputc(']', j->f);
}

void cli_json_floats(cli_json *j, const char *k, const float *v, size_t n) {
    key(j, k);
    fputc('[', j->f);
    for (size_t i = 0; i < n; i++) {
        char buf[64] = "null";
        if (isfinite(v[i])) cli_format_float(buf, sizeof buf, v[i]);
        fprintf(j->f, i ? ", %s" : "%s", buf);
    }
    fputc(']', j->f);
}

void cli_json_strings(cli_json *j, const char *k, const char *const *v, size_t n) {
    key(j, k);
    fputc('[', j->f);
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(", ", j->f);
        put_string(j->f, v[i]);
    }
    fputc(']', j->f);
}

void cli_json_classes(cli_json *j, const char *k, const mlp_classes *c) {
    key(j, k);
    fputc('[', j->f);
    for (size_t i = 0; i < c->n; i++) {
        if (i) fputs(", ", j->f);
        if (c->kind == MLP_CLASSES_NAMES) {
            put_string(j->f, c->names[i]);
        } else {
            char buf[64];
            mlp_classes_name(c, i, buf, sizeof buf);
            fputs(buf, j->f);
        }
    }
    fputc(']', j->f);
}

void cli_csv_field(FILE *f, const char *s) {
    if (!s[0] || strpbrk(s, ",\"\r\n") || s[0] == ' ' || s[strlen(s) - 1] == ' ') {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

void cli_csv_class(FILE *f, const mlp_classes *c, size_t i) {
    if (c->kind == MLP_CLASSES_NAMES && i < c->n) {
        cli_csv_field(f, c->names[i]);
        return;
    }
    char buf[64];
    mlp_classes_name(c, i, buf, sizeof buf);
    fputs(buf, f);
}

void cli_json_end(cli_json *j) {
    fputs("}\n", j->f);
}
