/* Model files (src/io/, docs/MODEL_FORMAT.md): bit-exact round trips of trained nets with their
 * optimizer state and scaler, through files and through memory (the same bytes); rejection of
 * truncated, corrupted, foreign, newer, hostile and internally inconsistent bytes without
 * crashing, from a file and from memory alike; atomic saves that leave the old file intact on
 * failure; what a save does to devices, FIFOs, sockets, directories and symbolic links. */
#define _GNU_SOURCE /* mknod, makedev */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include "core/core.h"
#include "file_test_util.h"
#include "io/file_save.h"
#include "mlp/data.h"
#include "mlp/model.h"
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define DIR_PATH MLP_TEST_TMPDIR "/model_io"

/* Byte offsets of the header fields (docs/MODEL_FORMAT.md). */
enum {
    OFF_VERSION = 8,
    OFF_N_LAYERS = 12,
    OFF_LOSS = 16,
    OFF_INIT = 20,
    OFF_OPT_KIND = 32,
    OFF_LR = 36,
    OFF_NESTEROV = 48,
    OFF_SCALE_KIND = 72,
    OFF_SCALE_D = 76,
    OFF_N_PARAMS = 84,
    OFF_SIZES = 92
};
/* Bytes of an empty class section (version 2: kind NONE, count 0), before the dropout section. */
#define CLASS_NONE_LEN 12
/* Bytes of fixture 0's dropout section (version 3: one f32 per layer, 2 layers), just before the
 * loss section. */
#define DROPOUT_LEN_F0 8
/* Bytes of the loss section (version 4: Huber's delta, f32), just before the CRC. */
#define LOSS_LEN 4

/* ---- helpers ---- */
static char *path_in_dir(const char *name) {
    size_t n = strlen(DIR_PATH) + 1 + strlen(name) + 1;
    char *p = tu_alloc(n, 1);
    snprintf(p, n, "%s/%s", DIR_PATH, name);
    return p;
}

static void write_all(const char *path, const void *b, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len) assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void fix_crc(unsigned char *b, size_t len) {
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, b, (uInt)(len - 4));
    put32(b + len - 4, (uint32_t)c);
}

/* Loads path expecting failure with want; checks that *net is NULL and the scaler untouched. */
static void expect_load_fail(const char *path, mlp_status want) {
    mlp_net *net = (mlp_net *)(uintptr_t)0x1;
    float sentinel;
    mlp_scaler sc = {MLP_SCALE_MINMAX, 7, &sentinel, &sentinel};
    mlp_status st = mlp_model_load(path, &net, &sc);
    if (st != want)
        fail_msg("load of %s: status %d (%s), expected %d", path, (int)st, mlp_last_error(),
                 (int)want);
    assert_null(net);
    assert_int_equal(sc.kind, MLP_SCALE_MINMAX);
    assert_int_equal(sc.d, 7);
    assert_ptr_equal(sc.offset, &sentinel);
    assert_ptr_equal(sc.scale, &sentinel);
    assert_true(mlp_last_error()[0] != '\0');
}

/* Loads len bytes from memory (from an exact-size copy, so that ASan sees any read past them)
 * expecting failure with want; *net NULL, the scaler and class list untouched. */
static void expect_mem_fail(const void *b, size_t len, mlp_status want) {
    unsigned char *copy = tu_alloc(len ? len : 1, 1);
    if (len) memcpy(copy, b, len);
    mlp_net *net = (mlp_net *)(uintptr_t)0x1;
    float sentinel;
    double values[2] = {1, 2};
    mlp_scaler sc = {MLP_SCALE_MINMAX, 7, &sentinel, &sentinel};
    mlp_classes cls = {MLP_CLASSES_NUMBERS, 2, values, NULL};
    mlp_status st = mlp_model_load_mem(copy, len, &net, &sc, &cls);
    if (st != want)
        fail_msg("load of %zu bytes from memory: status %d (%s), expected %d", len, (int)st,
                 mlp_last_error(), (int)want);
    assert_null(net);
    assert_true(sc.kind == MLP_SCALE_MINMAX && sc.d == 7 && sc.offset == &sentinel);
    assert_true(cls.kind == MLP_CLASSES_NUMBERS && cls.n == 2 && cls.values == values);
    free(copy);
}

/* Writes bytes to path and expects the load to fail with want; the same bytes loaded from memory
 * fail the same way, with the same message after the name of the source (one parser). */
static void expect_bytes_fail(const char *path, const void *b, size_t len, mlp_status want) {
    write_all(path, b, len);
    expect_load_fail(path, want);
    char file_msg[600], prefix[600];
    snprintf(file_msg, sizeof file_msg, "%s", mlp_last_error());
    expect_mem_fail(b, len, want);
    const char *mem_msg = mlp_last_error();
    static const char mem_prefix[] = "mlp_model_load_mem: the buffer";
    snprintf(prefix, sizeof prefix, "mlp_model_load: '%s'", path);
    if (strncmp(file_msg, prefix, strlen(prefix)) != 0 ||
        strncmp(mem_msg, mem_prefix, strlen(mem_prefix)) != 0 ||
        strcmp(file_msg + strlen(prefix), mem_msg + strlen(mem_prefix)) != 0)
        fail_msg("file and memory loads disagree:\n  %s\n  %s", file_msg, mem_msg);
}

/* ---- a trained net ---- */
typedef struct fixture {
    size_t sizes[4];
    mlp_activation acts[3];
    size_t L;
    mlp_loss loss;
    size_t n;
    float *X, *Y;
    mlp_net *net;
} fixture;

static void fixture_free(fixture *f) {
    mlp_net_free(f->net);
    free(f->X);
    free(f->Y);
}

/* kind 0: softmax classifier + Adam; 1: regression + SGD Nesterov (GELU, TANH);
 * 2: multi-label logistic + SGD without Nesterov. Trained for 5 steps. */
static void fixture_make(fixture *f, int kind) {
    memset(f, 0, sizeof *f);
    tu_rng r;
    tu_rng_seed(&r, 1234u + (uint64_t)kind);
    mlp_optimizer o;
    mlp_init init = MLP_INIT_GLOROT;
    if (kind == 0) {
        f->L = 2;
        f->sizes[0] = 4, f->sizes[1] = 8, f->sizes[2] = 3;
        f->acts[0] = MLP_ACT_RELU, f->acts[1] = MLP_ACT_SOFTMAX;
        f->loss = MLP_LOSS_SOFTMAX_CE;
        o = mlp_optimizer_default(MLP_OPT_ADAM);
        o.lr = 0.01f;
    } else if (kind == 1) {
        f->L = 3;
        f->sizes[0] = 5, f->sizes[1] = 6, f->sizes[2] = 7, f->sizes[3] = 2;
        f->acts[0] = MLP_ACT_TANH, f->acts[1] = MLP_ACT_GELU, f->acts[2] = MLP_ACT_IDENTITY;
        f->loss = MLP_LOSS_SQUARED;
        init = MLP_INIT_HE;
        o = mlp_optimizer_default(MLP_OPT_SGD);
        o.lr = 0.05f;
        o.alpha = 0.01f;
    } else {
        f->L = 2;
        f->sizes[0] = 3, f->sizes[1] = 5, f->sizes[2] = 4;
        f->acts[0] = MLP_ACT_LEAKY_RELU, f->acts[1] = MLP_ACT_LOGISTIC;
        f->loss = MLP_LOSS_LOGISTIC;
        o = mlp_optimizer_default(MLP_OPT_SGD);
        o.lr = 0.1f;
        o.momentum = 0.5f;
        o.nesterov = 0;
    }
    f->net = tu_make_net(f->sizes, f->acts, f->L, f->loss, init, 99u + (uint64_t)kind);
    assert_non_null(f->net);
    assert_int_equal(mlp_net_set_optimizer(f->net, &o), MLP_OK);
    f->n = 16;
    size_t in = f->sizes[0], out = f->sizes[f->L];
    f->X = tu_floats(f->n * in);
    f->Y = tu_floats(f->n * out);
    tu_fill_uniform(f->X, f->n * in, &r, -2.0, 3.0);
    if (kind == 0)
        tu_fill_onehot(f->Y, NULL, f->n, out, &r);
    else if (kind == 1)
        tu_fill_uniform(f->Y, f->n * out, &r, -1.0, 1.0);
    else
        for (size_t i = 0; i < f->n * out; i++) f->Y[i] = (float)(tu_rng_next(&r) & 1u);
    for (int s = 0; s < 5; s++) {
        float loss;
        assert_int_equal(mlp_train_step(f->net, f->X, f->Y, f->n, &loss), MLP_OK);
    }
    assert_int_equal(mlp_net_step_count(f->net), 5);
}

/* A scaler with distinctive values (not fitted: the values only need to round-trip). */
static void make_scaler(mlp_scaler *s, mlp_scale_kind kind, size_t d) {
    s->kind = kind;
    s->d = d;
    s->offset = malloc(d * sizeof(float));
    s->scale = malloc(d * sizeof(float));
    assert_non_null(s->offset);
    assert_non_null(s->scale);
    for (size_t j = 0; j < d; j++) {
        s->offset[j] = 0.1f * (float)j - 0.3333333f;
        s->scale[j] = 1.0f / (3.0f + (float)j);
    }
}

/* Checks that b is a bit-exact copy of a (structure, parameters, optimizer settings and state),
 * predicts identically and trains identically for one more step. */
static void assert_same_net(fixture *f, mlp_net *b) {
    mlp_net *a = f->net;
    assert_int_equal(mlp_net_n_layers(b), f->L);
    assert_int_equal(mlp_net_loss(b), f->loss);
    for (size_t l = 0; l < f->L; l++) {
        size_t in, out;
        mlp_activation act;
        assert_int_equal(mlp_net_layer_shape(b, l, &in, &out, &act), MLP_OK);
        assert_int_equal(in, f->sizes[l]);
        assert_int_equal(out, f->sizes[l + 1]);
        assert_int_equal(act, f->acts[l]);
    }
    for (size_t l = 0; l < f->L; l++) assert_true(mlp_net_dropout(a, l) == mlp_net_dropout(b, l));
    assert_int_equal(a->init, b->init);
    assert_true(a->seed == b->seed);
    size_t P = mlp_net_param_count(a);
    assert_int_equal(mlp_net_param_count(b), P);
    assert_memory_equal(a->params, b->params, P * sizeof(float));
    assert_memory_equal(a->opt_m, b->opt_m, P * sizeof(float));
    assert_memory_equal(a->opt_v, b->opt_v, P * sizeof(float));
    assert_true(mlp_net_step_count(a) == mlp_net_step_count(b));
    mlp_optimizer oa, ob;
    assert_int_equal(mlp_net_get_optimizer(a, &oa), MLP_OK);
    assert_int_equal(mlp_net_get_optimizer(b, &ob), MLP_OK);
    assert_int_equal(oa.kind, ob.kind);
    assert_memory_equal(&oa.lr, &ob.lr, sizeof(float));
    assert_memory_equal(&oa.alpha, &ob.alpha, sizeof(float));
    assert_memory_equal(&oa.momentum, &ob.momentum, sizeof(float));
    assert_int_equal(oa.nesterov, ob.nesterov);
    assert_memory_equal(&oa.beta1, &ob.beta1, sizeof(float));
    assert_memory_equal(&oa.beta2, &ob.beta2, sizeof(float));
    assert_memory_equal(&oa.eps, &ob.eps, sizeof(float));

    size_t out = f->sizes[f->L];
    float *pa = tu_floats(f->n * out), *pb = tu_floats(f->n * out);
    assert_int_equal(mlp_predict(a, f->X, f->n, pa), MLP_OK);
    assert_int_equal(mlp_predict(b, f->X, f->n, pb), MLP_OK);
    assert_memory_equal(pa, pb, f->n * out * sizeof(float));

    /* One more step on both: identical only if the optimizer state round-tripped. */
    float la, lb;
    assert_int_equal(mlp_train_step(a, f->X, f->Y, f->n, &la), MLP_OK);
    assert_int_equal(mlp_train_step(b, f->X, f->Y, f->n, &lb), MLP_OK);
    assert_memory_equal(&la, &lb, sizeof(float));
    assert_memory_equal(a->params, b->params, P * sizeof(float));
    assert_memory_equal(a->opt_m, b->opt_m, P * sizeof(float));
    assert_memory_equal(a->opt_v, b->opt_v, P * sizeof(float));
    assert_memory_equal(mlp_net_params(a), mlp_net_params(b), P * sizeof(float));
    free(pa);
    free(pb);
}

/* A saved model of fixture kind 0 (no scaler), returned as bytes; path holds it. */
static unsigned char *saved_bytes(const char *path, size_t *len, int with_scaler) {
    fixture f;
    fixture_make(&f, 0);
    mlp_scaler sc = {0};
    if (with_scaler) make_scaler(&sc, MLP_SCALE_STANDARD, f.sizes[0]);
    assert_int_equal(mlp_model_save(path, f.net, with_scaler ? &sc : NULL), MLP_OK);
    mlp_scaler_free(&sc);
    fixture_free(&f);
    return tu_read_file(path, len);
}

/* The bytes of fixture 0 (3 classes, no scaler) saved with classes (NULL: none). */
static unsigned char *saved_with_classes(const char *path, size_t *len, const mlp_classes *c) {
    fixture f;
    fixture_make(&f, 0);
    assert_int_equal(mlp_model_save_classes(path, f.net, NULL, c), MLP_OK);
    fixture_free(&f);
    return tu_read_file(path, len);
}

/* ---- setup ---- */
static int group_setup(void **state) {
    (void)state;
    if (mkdir(DIR_PATH, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* ---- round trips ---- */
static void test_roundtrip_adam_no_scaler(void **state) {
    (void)state;
    char *path = path_in_dir("adam.mlp");
    fixture f;
    fixture_make(&f, 0);
    assert_int_equal(mlp_model_save(path, f.net, NULL), MLP_OK);
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);

    mlp_net *b = NULL;
    mlp_scaler sc = {MLP_SCALE_STANDARD, 3, NULL, NULL}; /* overwritten with "none" */
    assert_int_equal(mlp_model_load(path, &b, &sc), MLP_OK);
    assert_non_null(b);
    assert_int_equal(sc.kind, MLP_SCALE_NONE);
    assert_int_equal(sc.d, 0);
    assert_null(sc.offset);
    assert_null(sc.scale);
    assert_same_net(&f, b);
    mlp_net_free(b);

    /* scaler argument NULL is allowed too */
    assert_int_equal(mlp_model_load(path, &b, NULL), MLP_OK);
    assert_non_null(b);
    mlp_net_free(b);
    fixture_free(&f);
    unlink(path);
    free(path);
}

static void roundtrip_with_scaler(int kind, mlp_scale_kind skind, const char *name) {
    char *path = path_in_dir(name);
    fixture f;
    fixture_make(&f, kind);
    mlp_scaler sc = {0};
    make_scaler(&sc, skind, f.sizes[0]);
    assert_int_equal(mlp_model_save(path, f.net, &sc), MLP_OK);

    mlp_net *b = NULL;
    mlp_scaler got = {0};
    assert_int_equal(mlp_model_load(path, &b, &got), MLP_OK);
    assert_non_null(b);
    assert_int_equal(got.kind, skind);
    assert_int_equal(got.d, sc.d);
    assert_memory_equal(got.offset, sc.offset, sc.d * sizeof(float));
    assert_memory_equal(got.scale, sc.scale, sc.d * sizeof(float));
    assert_same_net(&f, b);
    mlp_net_free(b);
    mlp_scaler_free(&got);

    /* Dropping the stored scaler (scaler argument NULL) leaks nothing (see valgrind run). */
    assert_int_equal(mlp_model_load(path, &b, NULL), MLP_OK);
    mlp_net_free(b);
    mlp_scaler_free(&sc);
    fixture_free(&f);
    unlink(path);
    free(path);
}

static void test_roundtrip_sgd_standard_scaler(void **state) {
    (void)state;
    roundtrip_with_scaler(1, MLP_SCALE_STANDARD, "sgd.mlp");
}

static void test_roundtrip_logistic_minmax_scaler(void **state) {
    (void)state;
    roundtrip_with_scaler(2, MLP_SCALE_MINMAX, "logistic.mlp");
}

static void test_roundtrip_adam_scaler(void **state) {
    (void)state;
    roundtrip_with_scaler(0, MLP_SCALE_STANDARD, "adam_scaled.mlp");
}

/* A model larger than the writer's 64 KiB chunk (CRC and data across several chunks). */
static void test_roundtrip_large(void **state) {
    (void)state;
    char *path = path_in_dir("large.mlp");
    fixture f;
    memset(&f, 0, sizeof f);
    f.L = 2;
    f.sizes[0] = 64, f.sizes[1] = 256, f.sizes[2] = 10;
    f.acts[0] = MLP_ACT_RELU, f.acts[1] = MLP_ACT_SOFTMAX;
    f.loss = MLP_LOSS_SOFTMAX_CE;
    f.n = 32;
    f.net = tu_make_net(f.sizes, f.acts, f.L, f.loss, MLP_INIT_GLOROT, 5);
    assert_non_null(f.net);
    tu_rng r;
    tu_rng_seed(&r, 77);
    f.X = tu_floats(f.n * 64);
    f.Y = tu_floats(f.n * 10);
    tu_fill_uniform(f.X, f.n * 64, &r, -1.0, 1.0);
    tu_fill_onehot(f.Y, NULL, f.n, 10, &r);
    for (int s = 0; s < 3; s++)
        assert_int_equal(mlp_train_step(f.net, f.X, f.Y, f.n, NULL), MLP_OK);
    mlp_scaler sc = {0};
    make_scaler(&sc, MLP_SCALE_STANDARD, 64);
    assert_int_equal(mlp_model_save(path, f.net, &sc), MLP_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true((size_t)sb.st_size > 3 * 65536);
    mlp_net *b = NULL;
    mlp_scaler got = {0};
    assert_int_equal(mlp_model_load(path, &b, &got), MLP_OK);
    assert_memory_equal(got.scale, sc.scale, 64 * sizeof(float));
    assert_same_net(&f, b);
    mlp_net_free(b);
    mlp_scaler_free(&got);
    mlp_scaler_free(&sc);
    fixture_free(&f);
    unlink(path);
    free(path);
}

/* Saving over an existing model replaces it; the file is byte-for-byte deterministic. */
static void test_overwrite_and_deterministic(void **state) {
    (void)state;
    char *p1 = path_in_dir("det1.mlp"), *p2 = path_in_dir("det2.mlp");
    fixture f0, f1;
    fixture_make(&f0, 0);
    fixture_make(&f1, 1);
    assert_int_equal(mlp_model_save(p1, f0.net, NULL), MLP_OK);
    assert_int_equal(mlp_model_save(p1, f1.net, NULL), MLP_OK);
    assert_int_equal(mlp_model_save(p2, f1.net, NULL), MLP_OK);
    size_t n1, n2;
    unsigned char *b1 = tu_read_file(p1, &n1), *b2 = tu_read_file(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    assert_memory_equal(b1, "MLPMODEL\x04\0\0\0", 12);
    mlp_net *b = NULL;
    assert_int_equal(mlp_model_load(p1, &b, NULL), MLP_OK);
    assert_int_equal(mlp_net_n_layers(b), 3);
    mlp_net_free(b);
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    free(b1);
    free(b2);
    fixture_free(&f0);
    fixture_free(&f1);
    unlink(p1);
    unlink(p2);
    free(p1);
    free(p2);
}

/* Class lists: stored and given back (names and numbers), checked on save, and files without
 * one (version 1, or saved by mlp_model_save) give 0..K-1. */
static void test_classes_roundtrip(void **state) {
    (void)state;
    char *path = path_in_dir("classes.mlp");
    const char *const names[] = {"virginica", "setosa", "a,b \"quoted\""};
    const double values[] = {7, -1, 5};
    mlp_classes byname = {0}, bynum = {0}, got = {0};
    TU_ASSERT_OK(mlp_classes_encode_names(names, 3, &byname, NULL));
    TU_ASSERT_OK(mlp_classes_encode_numbers(values, 3, &bynum, NULL));
    const mlp_classes *lists[] = {&byname, &bynum};
    for (int k = 0; k < 2; k++) {
        size_t len;
        free(saved_with_classes(path, &len, lists[k]));
        mlp_net *net = NULL;
        TU_ASSERT_OK(mlp_model_load_classes(path, &net, NULL, &got));
        assert_int_equal(got.kind, lists[k]->kind);
        assert_int_equal(got.n, 3);
        for (size_t i = 0; i < 3; i++) {
            if (k == 0) assert_string_equal(got.names[i], byname.names[i]);
            if (k == 1) assert_true(got.values[i] == bynum.values[i]);
        }
        mlp_classes_free(&got);
        mlp_net_free(net);
        TU_ASSERT_OK(mlp_model_load(path, &net, NULL)); /* the old call reads it too */
        mlp_net_free(net);
    }
    /* Without a list: 0..K-1. */
    size_t len;
    unsigned char *b = saved_with_classes(path, &len, NULL);
    mlp_net *net = NULL;
    TU_ASSERT_OK(mlp_model_load_classes(path, &net, NULL, &got));
    assert_true(got.kind == MLP_CLASSES_NUMBERS && got.n == 3 && got.values[2] == 2.0);
    mlp_classes_free(&got);
    mlp_net_free(net);
    /* A version 3 file (no loss section) still loads. */
    put32(b + OFF_VERSION, 3);
    memmove(b + len - 4 - LOSS_LEN, b + len - 4, 4);
    len -= LOSS_LEN;
    fix_crc(b, len);
    write_all(path, b, len);
    TU_ASSERT_OK(mlp_model_load_classes(path, &net, NULL, &got));
    assert_true(got.kind == MLP_CLASSES_NUMBERS && got.n == 3);
    mlp_classes_free(&got);
    mlp_net_free(net);
    /* A version 2 file (no dropout section) still loads. */
    put32(b + OFF_VERSION, 2);
    memmove(b + len - 4 - DROPOUT_LEN_F0, b + len - 4, 4);
    len -= DROPOUT_LEN_F0;
    fix_crc(b, len);
    write_all(path, b, len);
    TU_ASSERT_OK(mlp_model_load_classes(path, &net, NULL, &got));
    assert_true(got.kind == MLP_CLASSES_NUMBERS && got.n == 3);
    mlp_classes_free(&got);
    mlp_net_free(net);
    /* A version 1 file (no class section either) still loads, with 0..K-1. */
    put32(b + OFF_VERSION, 1);
    memmove(b + len - 4 - CLASS_NONE_LEN, b + len - 4, 4);
    fix_crc(b, len - CLASS_NONE_LEN);
    write_all(path, b, len - CLASS_NONE_LEN);
    TU_ASSERT_OK(mlp_model_load_classes(path, &net, NULL, &got));
    assert_true(got.kind == MLP_CLASSES_NUMBERS && got.n == 3 && got.values[0] == 0.0);
    mlp_classes_free(&got);
    mlp_net_free(net);
    free(b);
    /* Checked on save: the count, the order, the task. */
    fixture f;
    fixture_make(&f, 0);
    mlp_classes two = {0};
    TU_ASSERT_OK(mlp_classes_range(2, &two));
    assert_int_equal(mlp_model_save_classes(path, f.net, NULL, &two), MLP_ERR_SHAPE);
    bynum.values[0] = 9;
    assert_int_equal(mlp_model_save_classes(path, f.net, NULL, &bynum), MLP_ERR_ARG);
    fixture_free(&f);
    fixture_make(&f, 1); /* a regressor */
    assert_int_equal(mlp_model_save_classes(path, f.net, NULL, &byname), MLP_ERR_ARG);
    TU_ASSERT_OK(mlp_model_save_classes(path, f.net, NULL, NULL));
    TU_ASSERT_OK(mlp_model_load_classes(path, &net, NULL, &got));
    assert_int_equal(got.kind, MLP_CLASSES_NONE);
    mlp_net_free(net);
    fixture_free(&f);
    mlp_classes_free(&two);
    mlp_classes_free(&byname);
    mlp_classes_free(&bynum);
    unlink(path);
    free(path);
}

/* Hostile class sections (with a valid CRC) are format errors, never a crash or a huge alloc. */
static void test_hostile_classes(void **state) {
    (void)state;
    char *src = path_in_dir("hcls_src.mlp"), *dst = path_in_dir("hcls.mlp");
    const char *const names[] = {"ab", "cd", "ef"};
    mlp_classes c = {0};
    TU_ASSERT_OK(mlp_classes_encode_names(names, 3, &c, NULL));
    size_t len;
    unsigned char *orig = saved_with_classes(src, &len, &c);
    /* kind, count, 3 x (u32 length + 2 bytes), then the dropout section */
    const size_t sec = len - 4 - LOSS_LEN - DROPOUT_LEN_F0 - (12 + 3 * 6);
    unsigned char *b = tu_alloc(len, 1);
    struct patch {
        size_t off;
        int width;
        uint64_t value;
    } patches[] = {
        {sec, 4, MLP_CLASSES_COUNT},
        {sec, 4, MLP_CLASSES_NONE},
        {sec + 4, 8, 2},
        {sec + 4, 8, UINT64_MAX},
        {sec + 4, 8, (uint64_t)1 << 40},
        {sec + 12, 4, 3},
        {sec + 12, 4, 0xffffffffu},
        {sec + 18, 4, 0},
        {sec + 12 + 4, 4, 0x00006463u}, /* "cd": not increasing */
    };
    for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
        memcpy(b, orig, len);
        if (patches[i].width == 4)
            put32(b + patches[i].off, (uint32_t)patches[i].value);
        else
            put64(b + patches[i].off, patches[i].value);
        fix_crc(b, len);
        expect_bytes_fail(dst, b, len, MLP_ERR_FORMAT);
    }
    /* A NUL inside a name. */
    memcpy(b, orig, len);
    b[sec + 16] = 0;
    fix_crc(b, len);
    expect_bytes_fail(dst, b, len, MLP_ERR_FORMAT);
    /* A version 1 file cannot carry a class section: trailing bytes. */
    memcpy(b, orig, len);
    put32(b + OFF_VERSION, 1);
    fix_crc(b, len);
    expect_bytes_fail(dst, b, len, MLP_ERR_FORMAT);
    assert_non_null(strstr(mlp_last_error(), "trailing"));
    write_all(dst, orig, len); /* sanity: the unpatched bytes load */
    mlp_net *net = NULL;
    TU_ASSERT_OK(mlp_model_load(dst, &net, NULL));
    mlp_net_free(net);
    mlp_classes_free(&c);
    free(b);
    free(orig);
    unlink(src);
    unlink(dst);
    free(src);
    free(dst);
}

/* Dropout (version 3) is kept: the loaded net trains on with the same masks (assert_same_net's
 * extra step); a probability out of range, or on the output layer, is a format error. */
static void test_dropout_roundtrip(void **state) {
    (void)state;
    char *path = path_in_dir("dropout.mlp"), *bad = path_in_dir("dropout_bad.mlp");
    fixture f;
    fixture_make(&f, 1); /* 3 layers, 2 hidden */
    TU_ASSERT_OK(mlp_net_set_dropout(f.net, 0, 0.2f));
    TU_ASSERT_OK(mlp_net_set_dropout(f.net, 1, 0.4f));
    TU_ASSERT_OK(mlp_model_save(path, f.net, NULL));
    mlp_net *b = NULL;
    TU_ASSERT_OK(mlp_model_load(path, &b, NULL));
    assert_true(mlp_net_dropout(b, 0) == 0.2f && mlp_net_dropout(b, 1) == 0.4f);
    assert_same_net(&f, b);
    mlp_net_free(b);
    size_t len;
    unsigned char *orig = tu_read_file(path, &len), *p = tu_alloc(len, 1);
    const size_t sec = len - 4 - LOSS_LEN - 4 * 3; /* f32 per layer, before the loss section */
    const uint32_t values[][2] = {
        {0, 0x3fc00000u}, /* 1.5 */
        {0, 0x3f800000u}, /* 1.0 */
        {1, 0xbf000000u}, /* -0.5 */
        {0, 0x7fc00000u}, /* NaN */
        {2, 0x3f000000u}, /* 0.5 on the output layer */
    };
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        memcpy(p, orig, len);
        put32(p + sec + 4 * values[i][0], values[i][1]);
        fix_crc(p, len);
        expect_bytes_fail(bad, p, len, MLP_ERR_FORMAT);
        assert_non_null(strstr(mlp_last_error(), "dropout"));
    }
    free(p);
    free(orig);
    fixture_free(&f);
    unlink(path);
    unlink(bad);
    free(path);
    free(bad);
}

/* ---- damaged files ---- */
static void test_truncated_every_length(void **state) {
    (void)state;
    char *src = path_in_dir("trunc_src.mlp"), *dst = path_in_dir("trunc.mlp");
    for (int with_scaler = 0; with_scaler <= 1; with_scaler++) {
        size_t len;
        unsigned char *b = saved_bytes(src, &len, with_scaler);
        for (size_t k = 0; k < len; k++) expect_bytes_fail(dst, b, k, MLP_ERR_FORMAT);
        /* one byte too many (a valid CRC over it) is rejected as well */
        unsigned char *longer = tu_alloc(len + 1, 1);
        memcpy(longer, b, len - 4);
        longer[len - 4] = 0;
        fix_crc(longer, len + 1);
        expect_bytes_fail(dst, longer, len + 1, MLP_ERR_FORMAT);
        free(longer);
        free(b);
    }
    unlink(src);
    unlink(dst);
    free(src);
    free(dst);
}

static void test_flipped_byte_everywhere(void **state) {
    (void)state;
    char *src = path_in_dir("flip_src.mlp"), *dst = path_in_dir("flip.mlp");
    size_t len;
    unsigned char *b = saved_bytes(src, &len, 1);
    static const unsigned char masks[] = {0x01, 0x80, 0xff};
    for (size_t m = 0; m < sizeof masks; m++)
        for (size_t pos = 0; pos < len; pos++) {
            b[pos] ^= masks[m];
            expect_bytes_fail(dst, b, len, MLP_ERR_FORMAT);
            b[pos] ^= masks[m];
        }
    /* the untouched bytes still load */
    write_all(dst, b, len);
    mlp_net *net = NULL;
    assert_int_equal(mlp_model_load(dst, &net, NULL), MLP_OK);
    mlp_net_free(net);
    free(b);
    unlink(src);
    unlink(dst);
    free(src);
    free(dst);
}

static void test_foreign_files(void **state) {
    (void)state;
    char *path = path_in_dir("foreign.bin");
    static const unsigned char png[] = {
        0x89, 'P',  'N',  'G', '\r', '\n', 0x1a, '\n', 0,   0,   0,   0x0d, 'I',  'H',  'D',
        'R',  0,    0,    0,   1,    0,    0,    0,    1,   8,   2,   0,    0,    0,    0x90,
        0x77, 0x53, 0xde, 0,   0,    0,    0,    'I',  'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    expect_bytes_fail(path, png, sizeof png, MLP_ERR_FORMAT);
    assert_non_null(strstr(mlp_last_error(), "not an mlp model file"));
    const char *text = "sepal_length,sepal_width,label\n5.1,3.5,0\n4.9,3.0,0\n";
    expect_bytes_fail(path, text, strlen(text), MLP_ERR_FORMAT);
    assert_non_null(strstr(mlp_last_error(), "not an mlp model file"));
    expect_bytes_fail(path, "", 0, MLP_ERR_FORMAT);
    /* The right magic followed by zeros: version 0 */
    unsigned char zeros[256] = "MLPMODEL";
    expect_bytes_fail(path, zeros, sizeof zeros, MLP_ERR_FORMAT);
    /* A large block of noise */
    tu_rng r;
    tu_rng_seed(&r, 7);
    unsigned char *noise = tu_alloc(100000, 1);
    for (size_t i = 0; i < 100000; i++) noise[i] = (unsigned char)tu_rng_next(&r);
    expect_bytes_fail(path, noise, 100000, MLP_ERR_FORMAT);
    memcpy(noise, "MLPMODEL\x01\0\0\0", 12);
    expect_bytes_fail(path, noise, 100000, MLP_ERR_FORMAT);
    assert_non_null(strstr(mlp_last_error(), "checksum"));
    free(noise);
    unlink(path);
    free(path);
}

static void test_newer_version(void **state) {
    (void)state;
    char *src = path_in_dir("ver_src.mlp"), *dst = path_in_dir("ver.mlp");
    size_t len;
    unsigned char *b = saved_bytes(src, &len, 0);
    put32(b + OFF_VERSION, 5);
    fix_crc(b, len);
    expect_bytes_fail(dst, b, len, MLP_ERR_FORMAT);
    assert_non_null(strstr(mlp_last_error(), "version 5 is newer than this library's 4"));
    /* Without fixing the CRC the version is reported too (checked before the CRC, whose place
     * a newer format may move). */
    put32(b + OFF_VERSION, 0x7fffffffu);
    expect_bytes_fail(dst, b, len, MLP_ERR_FORMAT);
    assert_non_null(strstr(mlp_last_error(), "version 2147483647"));
    free(b);
    unlink(src);
    unlink(dst);
    free(src);
    free(dst);
}

/* Header fields patched to hostile values with a valid CRC: FORMAT, never NOMEM or a crash. */
static void test_hostile_headers(void **state) {
    (void)state;
    char *src = path_in_dir("hostile_src.mlp"), *dst = path_in_dir("hostile.mlp");
    size_t len;
    unsigned char *orig = saved_bytes(src, &len, 1); /* sizes {4, 8, 3}, scaler d = 4 */
    unsigned char *b = tu_alloc(len, 1);
    const size_t L = 2, OFF_ACTS = OFF_SIZES + 8 * (L + 1);

    struct patch {
        size_t off;
        int width; /* 4 or 8 */
        uint64_t value;
    } patches[] = {
        {OFF_N_LAYERS, 4, 0},
        {OFF_N_LAYERS, 4, 3},
        {OFF_N_LAYERS, 4, 0xffffffffu},
        {OFF_N_LAYERS, 4, 1000000},
        {OFF_LOSS, 4, MLP_LOSS_COUNT},
        {OFF_LOSS, 4, MLP_LOSS_SQUARED + 1000},
        {OFF_LOSS, 4, MLP_LOSS_LOGISTIC}, /* output is softmax: rejected by mlp_net_create */
        {OFF_INIT, 4, MLP_INIT_COUNT},
        {OFF_OPT_KIND, 4, MLP_OPT_COUNT},
        {OFF_OPT_KIND, 4, MLP_OPT_LBFGS}, /* no net has it: a solver of mlp_fit only */
        {OFF_LR, 4, 0xbf800000u},         /* lr = -1: rejected by mlp_net_set_optimizer */
        {OFF_LR, 4, 0x7fc00000u},         /* NaN */
        {OFF_NESTEROV, 4, 2},
        {OFF_SCALE_KIND, 4, 3},
        {OFF_SCALE_KIND, 4, MLP_SCALE_NONE}, /* d = 4 with kind none */
        {OFF_SCALE_D, 4, 0},
        {OFF_SCALE_D, 8, 5},
        {OFF_SCALE_D, 8, UINT64_MAX},
        {OFF_SCALE_D, 8, (uint64_t)1 << 61},
        {OFF_N_PARAMS, 8, 0},
        {OFF_N_PARAMS, 8, 68},
        {OFF_N_PARAMS, 8, UINT64_MAX},
        {OFF_SIZES, 8, 0},
        {OFF_SIZES + 8, 8, 0},
        {OFF_SIZES + 16, 8, (uint64_t)1 << 40},
        {OFF_SIZES + 8, 8, UINT64_MAX},
        {OFF_SIZES + 8, 8, (uint64_t)1 << 32},
        {OFF_SIZES + 8, 8, 9},
        {OFF_ACTS, 4, MLP_ACT_COUNT},
        {OFF_ACTS, 4, MLP_ACT_SOFTMAX}, /* softmax on a hidden layer: mlp_net_create rejects */
        {OFF_ACTS + 4, 4, 0xffffffffu},
    };
    for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
        memcpy(b, orig, len);
        if (patches[i].width == 4)
            put32(b + patches[i].off, (uint32_t)patches[i].value);
        else
            put64(b + patches[i].off, patches[i].value);
        fix_crc(b, len);
        expect_bytes_fail(dst, b, len, MLP_ERR_FORMAT);
    }

    /* Huge sizes consistent with each other (n_params matches) and a valid CRC. */
    memcpy(b, orig, len);
    uint64_t big = (uint64_t)1 << 20; /* 4 x 2^20 x 3: 2^24 params claimed in ~1 KiB */
    put64(b + OFF_SIZES + 8, big);
    put64(b + OFF_N_PARAMS, 4 * big + big + big * 3 + 3);
    fix_crc(b, len);
    expect_bytes_fail(dst, b, len, MLP_ERR_FORMAT);

    /* Scale 0 in the scaler (division by zero later): rejected. */
    memcpy(b, orig, len);
    /* the last scale entry, before the class and dropout sections */
    put32(b + len - 4 - LOSS_LEN - DROPOUT_LEN_F0 - CLASS_NONE_LEN - 4, 0);
    fix_crc(b, len);
    expect_bytes_fail(dst, b, len, MLP_ERR_FORMAT);

    /* Sanity: the unpatched bytes load. */
    write_all(dst, orig, len);
    mlp_net *net = NULL;
    assert_int_equal(mlp_model_load(dst, &net, NULL), MLP_OK);
    mlp_net_free(net);
    free(b);
    free(orig);
    unlink(src);
    unlink(dst);
    free(src);
    free(dst);
}

/* ---- I/O errors ---- */
static void test_missing_file(void **state) {
    (void)state;
    char *path = path_in_dir("does_not_exist.mlp");
    unlink(path);
    expect_load_fail(path, MLP_ERR_IO);
    assert_non_null(strstr(mlp_last_error(), strerror(ENOENT)));
    /* a directory is not a model file */
    expect_load_fail(DIR_PATH, MLP_ERR_IO);
    free(path);
}

static void test_save_into_missing_directory(void **state) {
    (void)state;
    char *dir = path_in_dir("no_such_dir");
    rmdir(dir);
    char *path = tu_alloc(strlen(dir) + 16, 1);
    sprintf(path, "%s/m.mlp", dir);
    fixture f;
    fixture_make(&f, 0);
    assert_int_equal(mlp_model_save(path, f.net, NULL), MLP_ERR_IO);
    struct stat sb;
    assert_int_not_equal(stat(dir, &sb), 0);
    assert_int_not_equal(stat(path, &sb), 0);
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    fixture_free(&f);
    free(path);
    free(dir);
}

/* The target is a non-empty directory: the rename fails (also as root), the directory and its
 * content are untouched and no temporary file is left behind. */
static void test_save_over_directory_fails_cleanly(void **state) {
    (void)state;
    char *dir = path_in_dir("target_dir.mlp");
    char *inner = tu_alloc(strlen(dir) + 16, 1);
    sprintf(inner, "%s/keep.txt", dir);
    assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
    write_all(inner, "keep", 4);
    fixture f;
    fixture_make(&f, 0);
    assert_int_equal(mlp_model_save(dir, f.net, NULL), MLP_ERR_IO);
    assert_true(mlp_last_error()[0] != '\0');
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    size_t n;
    unsigned char *b = tu_read_file(inner, &n);
    assert_int_equal(n, 4);
    assert_memory_equal(b, "keep", 4);
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    free(b);
    fixture_free(&f);
    unlink(inner);
    rmdir(dir);
    free(inner);
    free(dir);
}

/* A write that fails midway (file size limit, works as root too) leaves the previous model
 * byte-identical and no temporary file. */
static void test_failed_write_keeps_old_file(void **state) {
    (void)state;
    char *path = path_in_dir("keep_old.mlp");
    fixture f0, f1;
    fixture_make(&f0, 0);
    fixture_make(&f1, 1);
    assert_int_equal(mlp_model_save(path, f0.net, NULL), MLP_OK);
    size_t n_before;
    unsigned char *before = tu_read_file(path, &n_before);

    struct rlimit old_lim, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old_lim;
    lim.rlim_cur = 100; /* the model is larger than 100 bytes */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    mlp_status st = mlp_model_save(path, f1.net, NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(st, MLP_ERR_IO);

    size_t n_after;
    unsigned char *after = tu_read_file(path, &n_after);
    assert_int_equal(n_before, n_after);
    assert_memory_equal(before, after, n_before);
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    mlp_net *b = NULL;
    assert_int_equal(mlp_model_load(path, &b, NULL), MLP_OK);
    assert_int_equal(mlp_net_n_layers(b), 2);
    mlp_net_free(b);
    free(before);
    free(after);
    fixture_free(&f0);
    fixture_free(&f1);
    unlink(path);
    free(path);
}

static void test_null_and_bad_arguments(void **state) {
    (void)state;
    char *path = path_in_dir("null.mlp");
    fixture f;
    fixture_make(&f, 0);
    assert_int_equal(mlp_model_save(NULL, f.net, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_save(path, NULL, NULL), MLP_ERR_NULL);
    /* a scaler whose size does not match the input, or without arrays */
    mlp_scaler sc = {0};
    make_scaler(&sc, MLP_SCALE_STANDARD, f.sizes[0] + 1);
    assert_int_equal(mlp_model_save(path, f.net, &sc), MLP_ERR_SHAPE);
    mlp_scaler_free(&sc);
    mlp_scaler bad = {MLP_SCALE_STANDARD, f.sizes[0], NULL, NULL};
    assert_int_equal(mlp_model_save(path, f.net, &bad), MLP_ERR_NULL);
    struct stat sb;
    assert_int_not_equal(stat(path, &sb), 0); /* nothing was written */
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);

    assert_int_equal(mlp_model_save(path, f.net, NULL), MLP_OK);
    mlp_net *net = (mlp_net *)(uintptr_t)0x1;
    assert_int_equal(mlp_model_load(NULL, &net, NULL), MLP_ERR_NULL);
    assert_null(net);
    assert_int_equal(mlp_model_load(path, NULL, NULL), MLP_ERR_NULL);
    fixture_free(&f);
    unlink(path);
    free(path);
}

/* ---- model bytes in memory ---- */

/* The bytes of a save to memory are the bytes of a save to a file; loading them gives what the
 * file gives; a model loaded from either saves back to the same bytes through either. */
static void test_mem_matches_file(void **state) {
    (void)state;
    char *path = path_in_dir("mem.mlp"), *path2 = path_in_dir("mem2.mlp");
    const char *const names[] = {"x", "y", "z"};
    for (int kind = 0; kind < 3; kind++) {
        fixture f;
        fixture_make(&f, kind);
        if (kind == 1) TU_ASSERT_OK(mlp_net_set_dropout(f.net, 1, 0.25f));
        mlp_scaler sc = {0};
        make_scaler(&sc, kind == 2 ? MLP_SCALE_MINMAX : MLP_SCALE_STANDARD, f.sizes[0]);
        mlp_classes cls = {0};
        if (kind == 0) TU_ASSERT_OK(mlp_classes_encode_names(names, 3, &cls, NULL));
        const mlp_classes *c = kind == 0 ? &cls : NULL;
        TU_ASSERT_OK(mlp_model_save_classes(path, f.net, &sc, c));
        size_t len, need = 0, got = 0;
        unsigned char *file = tu_read_file(path, &len);
        TU_ASSERT_OK(mlp_model_save_mem(NULL, 12345, &need, f.net, &sc, c));
        assert_int_equal(need, len);
        /* A larger buffer: only the model's bytes are written. */
        unsigned char *mem = tu_alloc(len + 16, 1);
        memset(mem, 0xa5, len + 16);
        TU_ASSERT_OK(mlp_model_save_mem(mem, len + 16, &got, f.net, &sc, c));
        assert_int_equal(got, len);
        assert_memory_equal(mem, file, len);
        for (size_t i = len; i < len + 16; i++) assert_int_equal(mem[i], 0xa5);

        /* Loaded from the file and from memory: the same model, saved back to the same bytes
         * through either path. */
        mlp_net *a = NULL, *b = NULL;
        mlp_scaler sa = {0}, sb = {0};
        mlp_classes ca = {0}, cb = {0};
        TU_ASSERT_OK(mlp_model_load_classes(path, &a, &sa, &ca));
        TU_ASSERT_OK(mlp_model_load_mem(mem, len, &b, &sb, &cb));
        assert_true(sa.kind == sb.kind && sa.d == sb.d && ca.kind == cb.kind && ca.n == cb.n);
        assert_memory_equal(sa.offset, sb.offset, sa.d * sizeof(float));
        assert_memory_equal(sa.scale, sb.scale, sa.d * sizeof(float));
        const mlp_classes *back = kind == 0 ? &cb : NULL;
        unsigned char *again = tu_alloc(len, 1);
        TU_ASSERT_OK(mlp_model_save_mem(again, len, &got, a, &sa, back));
        assert_int_equal(got, len);
        assert_memory_equal(again, file, len);
        TU_ASSERT_OK(mlp_model_save_classes(path2, b, &sb, back));
        size_t len2;
        unsigned char *file2 = tu_read_file(path2, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(file2, file, len);
        assert_same_net(&f, b); /* bit-exact, and trains on identically */
        free(file2);
        free(again);
        mlp_net_free(a);
        mlp_net_free(b);
        mlp_scaler_free(&sa);
        mlp_scaler_free(&sb);
        mlp_classes_free(&ca);
        mlp_classes_free(&cb);
        mlp_classes_free(&cls);
        mlp_scaler_free(&sc);
        free(mem);
        free(file);
        fixture_free(&f);
    }
    unlink(path);
    unlink(path2);
    free(path);
    free(path2);
}

/* NULL arguments, a buffer too small (SHAPE naming both sizes, nothing written), invalid
 * arguments (checked before anything is written, the size query included), and bytes that are
 * not a model. */
static void test_mem_errors(void **state) {
    (void)state;
    fixture f;
    fixture_make(&f, 0);
    size_t need = 0, size = 777;
    TU_ASSERT_OK(mlp_model_save_mem(NULL, 0, &need, f.net, NULL, NULL));
    unsigned char *buf = tu_alloc(need, 1), *model = tu_alloc(need, 1);
    TU_ASSERT_OK(mlp_model_save_mem(model, need, &size, f.net, NULL, NULL));
    assert_int_equal(mlp_model_save_mem(buf, need, NULL, f.net, NULL, NULL), MLP_ERR_NULL);
    size = 777;
    assert_int_equal(mlp_model_save_mem(buf, need, &size, NULL, NULL, NULL), MLP_ERR_NULL);
    assert_int_equal(size, 777);
    const size_t caps[] = {0, 1, need / 2, need - 1};
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
        memset(buf, 0xa5, need);
        assert_int_equal(mlp_model_save_mem(buf, caps[i], &size, f.net, NULL, NULL), MLP_ERR_SHAPE);
        char want[128];
        snprintf(want, sizeof want, "needs %zu bytes, the buffer has %zu", need, caps[i]);
        assert_non_null(strstr(mlp_last_error(), want));
        assert_int_equal(size, 777);
        for (size_t k = 0; k < need; k++) assert_int_equal(buf[k], 0xa5);
    }
    /* Invalid arguments: the size query fails as the save does. */
    mlp_scaler wide = {0};
    make_scaler(&wide, MLP_SCALE_STANDARD, f.sizes[0] + 1);
    mlp_scaler bare = {MLP_SCALE_STANDARD, f.sizes[0], NULL, NULL};
    mlp_classes two = {0};
    TU_ASSERT_OK(mlp_classes_range(2, &two));
    void *bufs[] = {NULL, buf};
    for (int k = 0; k < 2; k++) {
        memset(buf, 0xa5, need);
        assert_int_equal(mlp_model_save_mem(bufs[k], need, &size, f.net, &wide, NULL),
                         MLP_ERR_SHAPE);
        assert_int_equal(mlp_model_save_mem(bufs[k], need, &size, f.net, &bare, NULL),
                         MLP_ERR_NULL);
        assert_int_equal(mlp_model_save_mem(bufs[k], need, &size, f.net, NULL, &two),
                         MLP_ERR_SHAPE);
        assert_int_equal(size, 777);
        for (size_t i = 0; i < need; i++) assert_int_equal(buf[i], 0xa5);
    }
    mlp_scaler_free(&wide);
    mlp_classes_free(&two);

    /* Loading: NULL arguments, then bytes that are not a model. */
    mlp_net *net = (mlp_net *)(uintptr_t)0x1;
    assert_int_equal(mlp_model_load_mem(NULL, need, &net, NULL, NULL), MLP_ERR_NULL);
    assert_null(net);
    assert_int_equal(mlp_model_load_mem(model, need, NULL, NULL, NULL), MLP_ERR_NULL);
    for (size_t k = 0; k < need; k++) expect_mem_fail(model, k, MLP_ERR_FORMAT);
    for (size_t k = 0; k < need; k++) {
        model[k] ^= 0x10;
        expect_mem_fail(model, need, MLP_ERR_FORMAT);
        model[k] ^= 0x10;
    }
    if (sizeof(size_t) > 4) { /* more than the format's 4 GiB: refused before reading a byte */
        assert_int_equal(mlp_model_load_mem(model, (size_t)1 << 33, &net, NULL, NULL),
                         MLP_ERR_FORMAT);
        assert_non_null(strstr(mlp_last_error(), "too many"));
    }
    TU_ASSERT_OK(mlp_model_load_mem(model, need, &net, NULL, NULL)); /* sanity */
    mlp_net_free(net);
    free(buf);
    free(model);
    fixture_free(&f);
}

/* ---- sizes from the bytes that disagree with each other (valid CRC) ---- */

/* b with `remove` bytes at `at` replaced by the ins_len bytes of ins, as a new buffer. */
static unsigned char *spliced(const unsigned char *b, size_t len, size_t at, size_t remove,
                              const void *ins, size_t ins_len, size_t *out_len) {
    *out_len = len - remove + ins_len;
    unsigned char *o = tu_alloc(*out_len, 1);
    memcpy(o, b, at);
    if (ins_len) memcpy(o + at, ins, ins_len);
    memcpy(o + at + ins_len, b + at + remove, len - at - remove);
    return o;
}

/* The forged bytes (CRC fixed here) fail to load from a file and from memory with
 * MLP_ERR_FORMAT, the message naming the field (needle; NULL: any message). */
static void expect_forged(const char *path, unsigned char *b, size_t len, const char *needle) {
    fix_crc(b, len);
    expect_bytes_fail(path, b, len, MLP_ERR_FORMAT);
    if (needle && !strstr(mlp_last_error(), needle))
        fail_msg("'%s' not in the message: %s", needle, mlp_last_error());
}

/* Every size the parser reads from the bytes is checked against the others and against the
 * length before it indexes anything: layer widths against n_params, the scaler's d against the
 * input width, the class count against the output width, name lengths against the bytes left,
 * the dropout section against the layer count. Each forged file has a valid CRC; ASan (CI)
 * catches any read past the buffer. */
static void test_inconsistent_fields(void **state) {
    (void)state;
    char *src = path_in_dir("forge_src.mlp"), *dst = path_in_dir("forge.mlp");
    const char *const names[] = {"ab", "cd", "ef"};
    mlp_classes c = {0};
    TU_ASSERT_OK(mlp_classes_encode_names(names, 3, &c, NULL));
    fixture f;
    fixture_make(&f, 0); /* sizes {4, 8, 3}: 67 parameters */
    mlp_scaler sc = {0};
    make_scaler(&sc, MLP_SCALE_STANDARD, 4);
    TU_ASSERT_OK(mlp_model_save_classes(src, f.net, &sc, &c));
    size_t len, n2;
    unsigned char *orig = tu_read_file(src, &len), *b = tu_alloc(len, 1), *o;
    const size_t sec = len - 4 - LOSS_LEN - DROPOUT_LEN_F0 - (12 + 3 * 6); /* the class section */
    const size_t drop = len - 4 - LOSS_LEN - DROPOUT_LEN_F0;
#define FORGE(stmt, needle)                                                                        \
    do {                                                                                           \
        memcpy(b, orig, len);                                                                      \
        stmt;                                                                                      \
        expect_forged(dst, b, len, needle);                                                        \
    } while (0)
    /* Widths against n_params, and both against the length. */
    FORGE(put64(b + OFF_N_PARAMS, 68), "parameter count 68");
    FORGE((put64(b + OFF_SIZES + 8, 9), put64(b + OFF_N_PARAMS, 4 * 9 + 9 + 9 * 3 + 3)),
          "truncated (parameters)");
    FORGE((put64(b + OFF_SIZES + 8, 7), put64(b + OFF_N_PARAMS, 4 * 7 + 7 + 7 * 3 + 3)), NULL);
    FORGE(put32(b + OFF_N_LAYERS, 1), "parameter count 67");
    FORGE((put32(b + OFF_N_LAYERS, 1), put64(b + OFF_N_PARAMS, 40)), NULL);
    /* The scaler's d against the input width and the kind. */
    FORGE((put64(b + OFF_SIZES, 5), put64(b + OFF_N_PARAMS, 75)), "scaler size 4");
    FORGE((put64(b + OFF_SIZES, 5), put64(b + OFF_N_PARAMS, 75), put64(b + OFF_SCALE_D, 5)),
          "truncated (parameters)");
    FORGE(put32(b + OFF_SCALE_KIND, MLP_SCALE_NONE), "no scaler but a scaler size of 4");
    FORGE((put32(b + OFF_SCALE_KIND, MLP_SCALE_NONE), put64(b + OFF_SCALE_D, 0)), NULL);
    /* The class count against the output width, with the bytes to match. */
    o = spliced(orig, len, drop - 6, 6, NULL, 0, &n2);
    put64(o + sec + 4, 2);
    expect_forged(dst, o, n2, "2 stored classes for a net of 3 classes");
    free(o);
    o = spliced(orig, len, drop, 0, "\x02\0\0\0gh", 6, &n2);
    put64(o + sec + 4, 4);
    expect_forged(dst, o, n2, "4 stored classes for a net of 3 classes");
    free(o);
    /* Name lengths against the bytes left and the 1 MiB limit. */
    FORGE(put32(b + sec + 12 + 6, 8), "class name 1 holds a NUL byte");
    FORGE(put32(b + sec + 12 + 12, 2 + 8 + 4 + 1), "class name 2 is truncated");
    FORGE(put32(b + sec + 12, (1u << 20) + 1), "class name 0 is truncated or too long");
    FORGE(put32(b + sec + 12, 0), NULL);
    /* The dropout section against the layer count. */
    o = spliced(orig, len, drop, DROPOUT_LEN_F0, NULL, 0, &n2);
    expect_forged(dst, o, n2, "truncated (dropout)");
    free(o);
    o = spliced(orig, len, drop, 0, "\0\0\0\0", 4, &n2);
    expect_forged(dst, o, n2, "4 unexpected trailing bytes");
    free(o);
#undef FORGE
    free(orig);
    free(b);
    mlp_scaler_free(&sc);
    mlp_classes_free(&c);
    fixture_free(&f);
    unlink(src);
    unlink(dst);
    free(src);
    free(dst);
}

/* A class list stored for a net that is not a classifier (a regressor, a multi-label net), with
 * a valid CRC and the length to match. */
static void test_classes_on_non_classifiers(void **state) {
    (void)state;
    char *src = path_in_dir("forge_src.mlp"), *dst = path_in_dir("forge.mlp");
    for (int kind = 1; kind <= 2; kind++) {
        fixture g;
        fixture_make(&g, kind);
        TU_ASSERT_OK(mlp_model_save(src, g.net, NULL));
        size_t len, n2;
        unsigned char *orig = tu_read_file(src, &len);
        const size_t k = g.sizes[g.L], at = len - 4 - LOSS_LEN - 4 * g.L - CLASS_NONE_LEN;
        unsigned char list[12 + 8 * 4] = {0};
        put32(list, MLP_CLASSES_NUMBERS);
        put64(list + 4, k);
        for (size_t i = 0; i < k; i++) put64(list + 12 + 8 * i, 0x3ff0000000000000u + i);
        unsigned char *o = spliced(orig, len, at, CLASS_NONE_LEN, list, 12 + 8 * k, &n2);
        expect_forged(dst, o, n2, "(not a classifier)");
        free(o);
        free(orig);
        fixture_free(&g);
    }
    unlink(src);
    unlink(dst);
    free(src);
    free(dst);
}

/* ---- what a save does to what is at its path ---- */

/* The bytes a save of net (no scaler, no classes) writes. */
static unsigned char *model_bytes(const mlp_net *net, size_t *len) {
    TU_ASSERT_OK(mlp_model_save_mem(NULL, 0, len, net, NULL, NULL));
    unsigned char *b = tu_alloc(*len, 1);
    TU_ASSERT_OK(mlp_model_save_mem(b, *len, len, net, NULL, NULL));
    return b;
}

static void assert_char_device(const char *path, dev_t rdev) {
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
    assert_true(sb.st_rdev == rdev);
}

/* Character devices are written through, never replaced: /dev/null stays /dev/null (as root a
 * rename over it would have made it a regular file), also through a link; /dev/full reports its
 * error and stays a device; a pipe named through /proc gets the bytes. */
static void test_save_to_devices(void **state) {
    (void)state;
    fixture f;
    fixture_make(&f, 0);
    struct stat null_sb, full_sb;
    assert_int_equal(stat("/dev/null", &null_sb), 0);
    TU_ASSERT_OK(mlp_model_save("/dev/null", f.net, NULL));
    assert_char_device("/dev/null", null_sb.st_rdev);
    char *link = path_in_dir("null_link.mlp");
    unlink(link);
    assert_int_equal(symlink("/dev/null", link), 0);
    TU_ASSERT_OK(mlp_model_save(link, f.net, NULL));
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_char_device("/dev/null", null_sb.st_rdev);
    if (stat("/dev/full", &full_sb) == 0) {
        assert_int_equal(mlp_model_save("/dev/full", f.net, NULL), MLP_ERR_IO);
        assert_non_null(strstr(mlp_last_error(), strerror(ENOSPC)));
        assert_char_device("/dev/full", full_sb.st_rdev);
    }
    /* A pipe through /proc (as /dev/stdout on a pipe): "pipe:[N]" names no file to resolve. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", p[1]);
    size_t len;
    unsigned char *want = model_bytes(f.net, &len), *got = tu_alloc(len + 1, 1);
    assert_true(len < 65536); /* fits in the pipe's buffer: no reader needed */
    TU_ASSERT_OK(mlp_model_save(proc, f.net, NULL));
    close(p[1]);
    size_t n = 0;
    ssize_t k;
    while (n <= len && (k = read(p[0], got + n, len + 1 - n)) > 0) n += (size_t)k;
    close(p[0]);
    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
    free(got);
    free(want);
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    assert_int_equal(tu_count_temp_files("/dev"), 0);
    unlink(link);
    free(link);
    fixture_free(&f);
}

typedef struct fifo_reader {
    const char *path;
    unsigned char *buf;
    size_t cap, len;
} fifo_reader;

static void *read_fifo(void *arg) {
    fifo_reader *r = arg;
    int fd = open(r->path, O_RDONLY);
    if (fd < 0) return NULL;
    ssize_t k;
    while (r->len < r->cap && (k = read(fd, r->buf + r->len, r->cap - r->len)) > 0)
        r->len += (size_t)k;
    close(fd);
    return NULL;
}

/* A FIFO is written through: the reader gets exactly the model's bytes, the FIFO stays a FIFO. */
static void test_save_to_fifo(void **state) {
    (void)state;
    char *fifo = path_in_dir("pipe.mlp");
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    fixture f;
    fixture_make(&f, 1);
    size_t len;
    unsigned char *want = model_bytes(f.net, &len);
    fifo_reader r = {fifo, tu_alloc(len + 64, 1), len + 64, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, read_fifo, &r), 0);
    TU_ASSERT_OK(mlp_model_save(fifo, f.net, NULL));
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.len, len);
    assert_memory_equal(r.buf, want, len);
    struct stat sb;
    assert_int_equal(lstat(fifo, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    free(r.buf);
    free(want);
    fixture_free(&f);
    unlink(fifo);
    free(fifo);
}

/* A socket, a block device and a directory are refused, named, and left as they were. */
static void test_save_refuses_special(void **state) {
    (void)state;
    fixture f;
    fixture_make(&f, 0);
    char *sock = path_in_dir("sock.mlp"), *blk = path_in_dir("blk.mlp");
    unlink(sock);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    assert_true(strlen(sock) < sizeof addr.sun_path);
    strcpy(addr.sun_path, sock);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(mlp_model_save(sock, f.net, NULL), MLP_ERR_IO);
    assert_non_null(strstr(mlp_last_error(), "is a socket: not replaced"));
    assert_non_null(strstr(mlp_last_error(), sock));
    struct stat sb;
    assert_int_equal(lstat(sock, &sb), 0);
    assert_true(S_ISSOCK(sb.st_mode));
    close(fd);
    /* A block device node of a loop device that need not exist (never opened: refused first).
     * Creating it needs CAP_MKNOD; without it this part is skipped. */
    unlink(blk);
    if (mknod(blk, S_IFBLK | 0600, makedev(7, 250)) == 0) {
        assert_int_equal(mlp_model_save(blk, f.net, NULL), MLP_ERR_IO);
        assert_non_null(strstr(mlp_last_error(), "is a block device"));
        assert_int_equal(lstat(blk, &sb), 0);
        assert_true(S_ISBLK(sb.st_mode));
        unlink(blk);
    }
    assert_int_equal(mlp_model_save(DIR_PATH, f.net, NULL), MLP_ERR_IO);
    assert_non_null(strstr(mlp_last_error(), "is a directory"));
    /* A path naming a directory that does not exist: nothing created. */
    char *dir_name = path_in_dir("new_dir/");
    assert_int_equal(mlp_model_save(dir_name, f.net, NULL), MLP_ERR_IO);
    assert_int_not_equal(lstat(dir_name, &sb), 0);
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    unlink(sock);
    free(dir_name);
    free(sock);
    free(blk);
    fixture_free(&f);
}

static void assert_link_to(const char *link, const char *target) {
    char buf[1024];
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, target);
}

static void assert_file_bytes(const char *path, const unsigned char *want, size_t len) {
    size_t n;
    unsigned char *got = tu_read_file(path, &n);
    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
    free(got);
}

/* A link is followed and kept: its target is replaced (keeping its mode), through chains of
 * links, relative targets (from the link's own directory) and absolute ones; a dangling link's
 * target is created; a loop is an error that creates nothing. */
static void test_save_through_symlinks(void **state) {
    (void)state;
    char *sub = path_in_dir("links"), *real = path_in_dir("links_real.mlp");
    char *l1 = path_in_dir("links/l1.mlp"), *l2 = path_in_dir("l2.mlp");
    char *abs_link = path_in_dir("abs.mlp"), *dangling = path_in_dir("dangling.mlp");
    char *created = path_in_dir("created.mlp"), *loop_a = path_in_dir("loop_a.mlp");
    char *loop_b = path_in_dir("loop_b.mlp");
    const char *all[] = {l1, l2, abs_link, dangling, created, loop_a, loop_b, real};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) unlink(all[i]);
    assert_true(mkdir(sub, 0755) == 0 || errno == EEXIST);
    fixture f0, f1;
    fixture_make(&f0, 0);
    fixture_make(&f1, 1);
    size_t len0, len1;
    unsigned char *b0 = model_bytes(f0.net, &len0), *b1 = model_bytes(f1.net, &len1);
    TU_ASSERT_OK(mlp_model_save(real, f0.net, NULL));
    assert_int_equal(chmod(real, 0640), 0);
    assert_int_equal(symlink("../links_real.mlp", l1), 0); /* relative, from links/ */
    assert_int_equal(symlink("links/l1.mlp", l2), 0);      /* a chain */
    assert_int_equal(symlink(real, abs_link), 0);          /* absolute */
    TU_ASSERT_OK(mlp_model_save(l2, f1.net, NULL));
    assert_link_to(l2, "links/l1.mlp");
    assert_link_to(l1, "../links_real.mlp");
    assert_file_bytes(real, b1, len1);
    struct stat sb;
    assert_int_equal(stat(real, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    TU_ASSERT_OK(mlp_model_save(abs_link, f0.net, NULL));
    assert_link_to(abs_link, real);
    assert_file_bytes(real, b0, len0);
    /* A dangling link: its target is created (0644), the link kept. */
    assert_int_equal(symlink("created.mlp", dangling), 0);
    TU_ASSERT_OK(mlp_model_save(dangling, f1.net, NULL));
    assert_link_to(dangling, "created.mlp");
    assert_file_bytes(created, b1, len1);
    assert_int_equal(stat(created, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0644);
    /* A loop. */
    assert_int_equal(symlink("loop_b.mlp", loop_a), 0);
    assert_int_equal(symlink("loop_a.mlp", loop_b), 0);
    assert_int_equal(mlp_model_save(loop_a, f0.net, NULL), MLP_ERR_IO);
    assert_non_null(strstr(mlp_last_error(), strerror(ELOOP)));
    assert_link_to(loop_a, "loop_b.mlp");
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    assert_int_equal(tu_count_temp_files(sub), 0);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) unlink(all[i]);
    rmdir(sub);
    free(b0);
    free(b1);
    fixture_free(&f0);
    fixture_free(&f1);
    char *paths[] = {sub, real, l1, l2, abs_link, dangling, created, loop_a, loop_b};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) free(paths[i]);
}

/* Where the filesystem has no O_TMPFILE, a named temporary file is used: the same results, and
 * it is removed when the write fails. Also a path without a directory part, and the mode of a
 * replaced file kept. */
static void test_save_mkstemp_fallback(void **state) {
    (void)state;
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(DIR_PATH), 0);
    fixture f0, f1;
    fixture_make(&f0, 0);
    fixture_make(&f1, 1);
    size_t len0, len1;
    unsigned char *b0 = model_bytes(f0.net, &len0), *b1 = model_bytes(f1.net, &len1);
    for (int fallback = 0; fallback <= 1; fallback++) {
        mlp_save_file_force_named(fallback != 0);
        unlink("rel.mlp");
        TU_ASSERT_OK(mlp_model_save("rel.mlp", f0.net, NULL));
        assert_file_bytes("rel.mlp", b0, len0);
        assert_int_equal(chmod("rel.mlp", 0600), 0);
        TU_ASSERT_OK(mlp_model_save("rel.mlp", f1.net, NULL));
        assert_file_bytes("rel.mlp", b1, len1);
        struct stat sb;
        assert_int_equal(stat("rel.mlp", &sb), 0);
        assert_int_equal(sb.st_mode & 07777, 0600);
        /* A write that fails midway: the old file stays, no temporary file. */
        struct rlimit old_lim, lim;
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        lim = old_lim;
        lim.rlim_cur = 100;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        mlp_status st = mlp_model_save("rel.mlp", f0.net, NULL);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
        signal(SIGXFSZ, old_handler);
        assert_int_equal(st, MLP_ERR_IO);
        assert_non_null(strstr(mlp_last_error(), "cannot write 'rel.mlp'"));
        assert_file_bytes("rel.mlp", b1, len1);
        assert_int_equal(tu_count_temp_files("."), 0);
    }
    mlp_save_file_force_named(false);
    unlink("rel.mlp");
    assert_int_equal(chdir(cwd), 0);
    free(b0);
    free(b1);
    fixture_free(&f0);
    fixture_free(&f1);
}

/* A directory its user may write into but not list (mode 0333): a save needs no more than
 * mkstemp did (write and search). Run as an unprivileged user in a child, since root bypasses
 * the permissions; skipped where the suite cannot switch users. */
static void test_save_into_unreadable_directory(void **state) {
    (void)state;
    char *dir = path_in_dir("write_only"), *path = path_in_dir("write_only/m.mlp");
    unlink(path);
    rmdir(dir);
    assert_int_equal(mkdir(dir, 0333), 0);
    const uid_t nobody = 65534;
    if (geteuid() != 0 || chown(dir, nobody, nobody) != 0 || chmod(dir, 0333) != 0) {
        rmdir(dir);
        free(dir);
        free(path);
        skip();
    }
    fixture f;
    fixture_make(&f, 0);
    /* The child reports on a pipe, not by its exit code (which valgrind's leak check in the
     * child, in scripts/hardening.sh, would replace). */
    int out[2];
    assert_int_equal(pipe(out), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(out[0]);
        const char *msg = "ok";
        if (setgid(nobody) != 0 || setuid(nobody) != 0) msg = "cannot switch to user nobody";
        for (int fallback = 0; fallback <= 1 && !strcmp(msg, "ok"); fallback++) {
            mlp_save_file_force_named(fallback != 0);
            if (mlp_model_save(path, f.net, NULL) != MLP_OK) msg = mlp_last_error();
        }
        ssize_t w = write(out[1], msg, strlen(msg));
        _exit(w < 0 ? 5 : 0);
    }
    close(out[1]);
    char got[600] = {0};
    ssize_t n = read(out[0], got, sizeof got - 1);
    close(out[0]);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    if (n <= 0 || strcmp(got, "ok") != 0) fail_msg("the save as user nobody: %s", got);
    mlp_net *b = NULL;
    TU_ASSERT_OK(mlp_model_load(path, &b, NULL));
    mlp_net_free(b);
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    unlink(path);
    rmdir(dir);
    fixture_free(&f);
    free(dir);
    free(path);
}

/* mlp_file_save: any bytes by the rules of model saves (the mlp tool's --history uses it). */
static void test_file_save_public(void **state) {
    (void)state;
    const char *path = DIR_PATH "/plain.txt", *link = DIR_PATH "/plain_link.txt";
    assert_int_equal(mlp_file_save(NULL, "x", 1, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_file_save(path, NULL, 1, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_file_save("", "x", 1, "mine"), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_last_error(), "mine: path is empty"));
    assert_int_equal(mlp_file_save(path, "hello\n", 6, NULL), MLP_OK);
    unlink(link);
    assert_int_equal(symlink("plain.txt", link), 0);
    assert_int_equal(mlp_file_save(link, "bye\n", 4, NULL), MLP_OK);
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode)); /* the link kept, its target replaced */
    char buf[16] = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof buf, f), 4);
    fclose(f);
    assert_string_equal(buf, "bye\n");
    assert_int_equal(mlp_file_save(DIR_PATH, "x", 1, NULL), MLP_ERR_IO); /* a directory */
    unlink(link);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_adam_no_scaler),
        cmocka_unit_test(test_roundtrip_sgd_standard_scaler),
        cmocka_unit_test(test_roundtrip_logistic_minmax_scaler),
        cmocka_unit_test(test_roundtrip_adam_scaler),
        cmocka_unit_test(test_roundtrip_large),
        cmocka_unit_test(test_overwrite_and_deterministic),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_flipped_byte_everywhere),
        cmocka_unit_test(test_foreign_files),
        cmocka_unit_test(test_newer_version),
        cmocka_unit_test(test_classes_roundtrip),
        cmocka_unit_test(test_dropout_roundtrip),
        cmocka_unit_test(test_hostile_classes),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_save_into_missing_directory),
        cmocka_unit_test(test_save_over_directory_fails_cleanly),
        cmocka_unit_test(test_failed_write_keeps_old_file),
        cmocka_unit_test(test_null_and_bad_arguments),
        cmocka_unit_test(test_mem_matches_file),
        cmocka_unit_test(test_mem_errors),
        cmocka_unit_test(test_inconsistent_fields),
        cmocka_unit_test(test_classes_on_non_classifiers),
        cmocka_unit_test(test_save_to_devices),
        cmocka_unit_test(test_save_to_fifo),
        cmocka_unit_test(test_save_refuses_special),
        cmocka_unit_test(test_save_through_symlinks),
        cmocka_unit_test(test_save_mkstemp_fallback),
        cmocka_unit_test(test_save_into_unreadable_directory),
        cmocka_unit_test(test_file_save_public),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
