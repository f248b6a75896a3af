/* File helpers shared by the suites that check model files on disk (test_model_io,
 * test_alloc_fail, test_kill_save). Include after cmocka.h, in a file that defines
 * _POSIX_C_SOURCE (or _GNU_SOURCE) before its first include. */
#ifndef MLP_FILE_TEST_UTIL_H
#define MLP_FILE_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "test_util.h"

/* The whole file, plus one spare byte (callers may append); *len receives its size. */
static inline unsigned char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    struct stat sb;
    assert_int_equal(fstat(fileno(f), &sb), 0);
    unsigned char *b = tu_alloc((size_t)sb.st_size + 1, 1);
    assert_int_equal(fread(b, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
    fclose(f);
    *len = (size_t)sb.st_size;
    return b;
}

/* Entries of dir whose name contains ".tmp." (the model writer's temporary files). */
static inline int tu_count_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

#endif /* MLP_FILE_TEST_UTIL_H */
