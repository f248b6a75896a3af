/* Class lists (mlp_classes): what a classifier's class indices stand for, as scikit-learn's
 * classes_ (sorted unique labels), with LabelEncoder's fit_transform for numbers and strings,
 * lookup by text and the text of a class. */
#include "data/classes_internal.h"
#include "data/csv_internal.h"
#include "data/data_internal.h"
#include "mlp/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mlp_classes_free(mlp_classes *c) {
    if (!c) return;
    if (c->names)
        for (size_t i = 0; i < c->n; i++) free(c->names[i]);
    free(c->names);
    free(c->values);
    memset(c, 0, sizeof *c);
}

static char *dup_string(const char *s) {
    size_t len = strlen(s);
    char *d = malloc(len + 1);
    if (d) memcpy(d, s, len + 1);
    return d;
}

/* A list of kind with n (>= 1) empty slots. */
static mlp_status classes_alloc(mlp_classes *c, mlp_class_kind kind, size_t n, const char *fn) {
    memset(c, 0, sizeof *c);
    size_t bytes;
    if (!mlp_mul_ok(n, sizeof(double) > sizeof(char *) ? sizeof(double) : sizeof(char *), &bytes))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: %zu classes overflow", fn, n);
    c->kind = kind;
    if (kind == MLP_CLASSES_NUMBERS)
        c->values = malloc(bytes ? bytes : 1);
    else
        c->names = calloc(n ? n : 1, sizeof(char *));
    if (!c->values && !c->names) {
        c->kind = MLP_CLASSES_NONE;
        return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory for %zu classes", fn, n);
    }
    c->n = n;
    return MLP_OK;
}

mlp_status mlp_classes_copy(const mlp_classes *src, mlp_classes *dst) {
    static const char fn[] = "mlp_classes_copy";
    if (!src || !dst) return mlp_fail(MLP_ERR_NULL, "%s: src or dst is NULL", fn);
    if ((unsigned)src->kind >= MLP_CLASSES_COUNT)
        return mlp_fail(MLP_ERR_ARG, "%s: unknown class kind %d", fn, (int)src->kind);
    if (src->kind == MLP_CLASSES_NONE) {
        memset(dst, 0, sizeof *dst);
        return MLP_OK;
    }
    if ((src->kind == MLP_CLASSES_NUMBERS && !src->values) ||
        (src->kind == MLP_CLASSES_NAMES && !src->names))
        return mlp_fail(MLP_ERR_NULL, "%s: the class array is NULL", fn);
    mlp_classes c;
    mlp_status st = classes_alloc(&c, src->kind, src->n, fn);
    if (st != MLP_OK) return st;
    for (size_t i = 0; i < src->n; i++) {
        if (c.kind == MLP_CLASSES_NUMBERS) {
            c.values[i] = src->values[i];
        } else if (!src->names[i] || !(c.names[i] = dup_string(src->names[i]))) {
            st = src->names[i] ? mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", fn)
                               : mlp_fail(MLP_ERR_NULL, "%s: class name %zu is NULL", fn, i);
            mlp_classes_free(&c);
            return st;
        }
    }
    *dst = c;
    return MLP_OK;
}

mlp_status mlp_classes_range(size_t n, mlp_classes *out) {
    static const char fn[] = "mlp_classes_range";
    if (!out) return mlp_fail(MLP_ERR_NULL, "%s: out is NULL", fn);
    mlp_classes c;
    mlp_status st = classes_alloc(&c, MLP_CLASSES_NUMBERS, n, fn);
    if (st != MLP_OK) return st;
    for (size_t i = 0; i < n; i++) c.values[i] = (double)i;
    *out = c;
    return MLP_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

mlp_status mlp_classes_encode_numbers(const double *y, size_t n, mlp_classes *out,
                                      int32_t *indices) {
    static const char fn[] = "mlp_classes_encode_numbers";
    if (!y || !out) return mlp_fail(MLP_ERR_NULL, "%s: y or out is NULL", fn);
    if (n == 0) return mlp_fail(MLP_ERR_ARG, "%s: n is 0", fn);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i])) return mlp_fail(MLP_ERR_ARG, "%s: y[%zu] is not finite", fn, i);
    mlp_classes c;
    mlp_status st = classes_alloc(&c, MLP_CLASSES_NUMBERS, n, fn);
    if (st != MLP_OK) return st;
    for (size_t i = 0; i < n; i++) c.values[i] = y[i] == 0.0 ? 0.0 : y[i];
    qsort(c.values, n, sizeof(double), cmp_double);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (c.values[i] != c.values[k - 1]) c.values[k++] = c.values[i];
    c.n = k;
    if (k > INT32_MAX) {
        mlp_classes_free(&c);
        return mlp_fail(MLP_ERR_ARG, "%s: %zu classes exceed INT32_MAX", fn, k);
    }
    if (indices)
        for (size_t i = 0; i < n; i++) {
            double v = y[i] == 0.0 ? 0.0 : y[i];
            const double *p = bsearch(&v, c.values, k, sizeof(double), cmp_double);
            indices[i] = (int32_t)(p - c.values);
        }
    *out = c;
    return MLP_OK;
}

/* Sorts the n pointers in names, drops duplicates (freeing nothing: they are borrowed) and
 * returns the count left. */
static size_t unique_names(const char **names, size_t n) {
    qsort(names, n, sizeof *names, cmp_name);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i], names[k - 1]) != 0) names[k++] = names[i];
    return k;
}

mlp_status mlp_classes_encode_names(const char *const *y, size_t n, mlp_classes *out,
                                    int32_t *indices) {
    static const char fn[] = "mlp_classes_encode_names";
    if (!y || !out) return mlp_fail(MLP_ERR_NULL, "%s: y or out is NULL", fn);
    if (n == 0) return mlp_fail(MLP_ERR_ARG, "%s: n is 0", fn);
    for (size_t i = 0; i < n; i++)
        if (!y[i]) return mlp_fail(MLP_ERR_NULL, "%s: y[%zu] is NULL", fn, i);
    const char **sorted = malloc(n * sizeof *sorted);
    if (!sorted) return mlp_fail(MLP_ERR_NOMEM, "%s: out of memory for %zu labels", fn, n);
    memcpy(sorted, y, n * sizeof *sorted);
    size_t k = unique_names(sorted, n);
    mlp_classes c;
    mlp_status st = k > INT32_MAX ? mlp_fail(MLP_ERR_ARG, "%s: %zu classes exceed INT32_MAX", fn, k)
                                  : classes_alloc(&c, MLP_CLASSES_NAMES, k, fn);
    for (size_t i = 0; i < k && st == MLP_OK; i++)
        if (!(c.names[i] = dup_string(sorted[i]))) {
            mlp_classes_free(&c);
            st = mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", fn);
        }
    free(sorted);
    if (st != MLP_OK) return st;
    if (indices)
        for (size_t i = 0; i < n; i++) {
            const char *key = y[i];
            char **p = bsearch(&key, c.names, k, sizeof(char *), cmp_name);
            indices[i] = (int32_t)(p - c.names);
        }
    *out = c;
    return MLP_OK;
}

int mlp_class_parse_number(const char *text, double *v) {
    while (*text == ' ' || *text == '\t') text++;
    if (!*text || mlp_csv_hex_prefix(text)) return 0; /* decimal only, as the CSV reader */
    char *e = NULL;
    double x = strtod(text, &e);
    while (*e == ' ' || *e == '\t' || *e == '\r') e++;
    if (*e || !isfinite(x)) return 0;
    *v = x == 0.0 ? 0.0 : x;
    return 1;
}

int mlp_classes_find_number(const mlp_classes *c, double v, size_t *index) {
    if (c->kind == MLP_CLASSES_NONE) {
        if (v < 0 || v != floor(v) || v > (double)INT32_MAX) return 0;
        *index = (size_t)v;
        return 1;
    }
    if (c->kind != MLP_CLASSES_NUMBERS || !c->values || c->n == 0) return 0;
    const double *p = bsearch(&v, c->values, c->n, sizeof(double), cmp_double);
    if (!p) return 0;
    *index = (size_t)(p - c->values);
    return 1;
}

int mlp_classes_find(const mlp_classes *c, const char *text, size_t *index) {
    if (!c || !text || !index) return 0;
    if (c->kind == MLP_CLASSES_NAMES) {
        if (!c->names || c->n == 0) return 0;
        char **p = bsearch(&text, c->names, c->n, sizeof(char *), cmp_name);
        if (!p) return 0;
        *index = (size_t)(p - c->names);
        return 1;
    }
    double v;
    return mlp_class_parse_number(text, &v) && mlp_classes_find_number(c, v, index);
}

int mlp_classes_name(const mlp_classes *c, size_t i, char *buf, size_t cap) {
    if (!c || (!buf && cap)) return -1;
    switch (c->kind) {
    case MLP_CLASSES_NONE:
        return snprintf(buf, cap, "%zu", i);
    case MLP_CLASSES_NAMES:
        if (i >= c->n || !c->names || !c->names[i]) return -1;
        return snprintf(buf, cap, "%s", c->names[i]);
    case MLP_CLASSES_NUMBERS:
        break;
    default:
        return -1;
    }
    if (i >= c->n || !c->values) return -1;
    double v = c->values[i];
    if (v == floor(v) && fabs(v) < 1e17) return snprintf(buf, cap, "%.0f", v);
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    return snprintf(buf, cap, "%s", tmp);
}
