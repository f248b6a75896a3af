/* Helpers of the data suites (test_data_*.c): write small files, plain or gzip, into
 * MLP_TEST_TMPDIR, and check a failure's status and message. Everything is static inline so that
 * every suite can include this header without unused-function warnings. */
#ifndef MLP_DATA_TEST_UTIL_H
#define MLP_DATA_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include "mlp/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DT_PATH_MAX 1024

/* path = MLP_TEST_TMPDIR/name. */
static inline const char *dt_path(char *path, const char *name) {
    int len = snprintf(path, DT_PATH_MAX, "%s/%s", MLP_TEST_TMPDIR, name);
    assert_true(len > 0 && len < DT_PATH_MAX);
    return path;
}

/* Writes len bytes to MLP_TEST_TMPDIR/name, gzip-compressed if gz; returns the path. */
static inline const char *dt_write(char *path, const char *name, const void *data, size_t len,
                                   int gz) {
    dt_path(path, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        if (len) assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        if (len) assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
    return path;
}

static inline const char *dt_write_str(char *path, const char *name, const char *text, int gz) {
    return dt_write(path, name, text, strlen(text), gz);
}

/* Reads a whole (plain) file into a malloc'd buffer. */
static inline unsigned char *dt_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Asserts st == want and that mlp_last_error() contains needle (if not NULL). */
static inline void dt_expect(mlp_status st, mlp_status want, const char *needle) {
    if (st != want || (needle && !strstr(mlp_last_error(), needle)))
        print_error("status %d (want %d), message \"%s\" (want it to contain \"%s\")\n", (int)st,
                    (int)want, mlp_last_error(), needle ? needle : "");
    assert_int_equal(st, want);
    if (needle) assert_non_null(strstr(mlp_last_error(), needle));
}

/* A dataset filled with a recognisable pattern, to check that failures leave *out untouched. */
static inline void dt_poison(mlp_dataset *ds) {
    memset(ds, 0xA5, sizeof *ds);
}

static inline int dt_is_poisoned(const mlp_dataset *ds) {
    mlp_dataset p;
    dt_poison(&p);
    return memcmp(&p, ds, sizeof p) == 0;
}

#endif /* MLP_DATA_TEST_UTIL_H */
