/* ONNX export (src/io/onnx_*.c, model.h's mlp_model_export_onnx): the protobuf encoder's bytes,
 * the same model through a file and through memory, the weights stored bit for bit, dropout left
 * out of the graph, and refusals (an unknown loss or activation, named; bad names, classes and
 * scalers; unwritable paths) that write nothing. The graph's meaning is checked by real
 * consumers in tests/onnx/check_onnx.py (onnx's checker and ONNX Runtime). */
#define _GNU_SOURCE /* memmem */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include "core/core.h"
#include "file_test_util.h"
#include "io/onnx_pb.h"
#include "mlp/data.h"
#include "mlp/model.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_PATH MLP_TEST_TMPDIR "/onnx"

static const size_t SIZES[] = {4, 6, 5, 3};
static const mlp_activation ACTS[] = {MLP_ACT_GELU, MLP_ACT_LEAKY_RELU, MLP_ACT_SOFTMAX};

static mlp_net *make_net(void) {
    mlp_net *net = tu_make_net(SIZES, ACTS, 3, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 11);
    assert_non_null(net);
    return net;
}

/* The whole model in memory (mlp_model_export_onnx_mem, size query first). */
static unsigned char *export_mem(const mlp_net *net, const mlp_scaler *s, const mlp_classes *c,
                                 size_t *len) {
    assert_int_equal(mlp_model_export_onnx_mem(NULL, 0, len, net, s, c, NULL), MLP_OK);
    unsigned char *b = tu_alloc(*len, 1);
    size_t got = 0;
    assert_int_equal(mlp_model_export_onnx_mem(b, *len, &got, net, s, c, NULL), MLP_OK);
    assert_int_equal(got, *len);
    return b;
}

static int group_setup(void **state) {
    (void)state;
    mkdir(MLP_TEST_TMPDIR, 0755);
    mkdir(DIR_PATH, 0755);
    return 0;
}

static void test_varints(void **state) {
    (void)state;
    mlp_pb b = {0};
    mlp_pb_varint(&b, 0);
    mlp_pb_varint(&b, 1);
    mlp_pb_varint(&b, 127);
    mlp_pb_varint(&b, 128);
    mlp_pb_varint(&b, 300);
    mlp_pb_int(&b, 1, -1); /* key 0x08, then ten bytes of two's complement */
    mlp_pb_float(&b, 2, 1.0f);
    mlp_pb_string(&b, 3, "ab");
    const unsigned char want[] = {0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02, 0x08, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                  0x15, 0x00, 0x00, 0x80, 0x3f, 0x1a, 0x02, 'a',  'b'};
    assert_int_equal(mlp_pb_status(&b, "test"), MLP_OK);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    assert_int_equal(mlp_pb_varint_len(0), 1);
    assert_int_equal(mlp_pb_varint_len(UINT64_MAX), 10);
    mlp_pb_free(&b);
}

/* A file and memory get the same bytes; they start with ir_version 8 and hold every weight as
 * its float32 bits, the scaler's values and the class names. */
static void test_file_equals_memory(void **state) {
    (void)state;
    mlp_net *net = make_net();
    float offset[4] = {1, 2, 3, 4}, scale[4] = {0.5f, 2, 4, 8};
    mlp_scaler s = {MLP_SCALE_STANDARD, 4, offset, scale};
    char *names[3] = {"ant", "bee", "cat"};
    mlp_classes c = {MLP_CLASSES_NAMES, 3, NULL, names};
    const char *path = DIR_PATH "/m.onnx";
    assert_int_equal(mlp_model_export_onnx(path, net, &s, &c, NULL), MLP_OK);
    size_t flen, mlen;
    unsigned char *file = tu_read_file(path, &flen);
    unsigned char *mem = export_mem(net, &s, &c, &mlen);
    assert_int_equal(flen, mlen);
    assert_memory_equal(file, mem, flen);
    assert_int_equal(mem[0], 0x08); /* ModelProto.ir_version */
    assert_int_equal(mem[1], 8);
    for (size_t l = 0; l < 3; l++) {
        float *W, *b;
        size_t in, out;
        assert_int_equal(mlp_net_layer_params(net, l, &W, &b), MLP_OK);
        assert_int_equal(mlp_net_layer_shape(net, l, &in, &out, NULL), MLP_OK);
        assert_non_null(memmem(mem, mlen, W, in * out * sizeof *W)); /* x86: little-endian */
        assert_non_null(memmem(mem, mlen, b, out * sizeof *b));
    }
    assert_non_null(memmem(mem, mlen, scale, sizeof scale));
    assert_non_null(memmem(mem, mlen, "bee", 3));
    assert_non_null(memmem(mem, mlen, "Erf", 3));
    assert_non_null(memmem(mem, mlen, "LeakyRelu", 9));
    free(file);
    free(mem);
    mlp_net_free(net);
}

/* Dropout is a training-time operation: the graph of a net with dropout is the graph without. */
static void test_dropout_left_out(void **state) {
    (void)state;
    mlp_net *net = make_net();
    size_t a_len, b_len;
    unsigned char *a = export_mem(net, NULL, NULL, &a_len);
    assert_int_equal(mlp_net_set_dropout(net, 0, 0.5f), MLP_OK);
    assert_int_equal(mlp_net_set_dropout(net, 1, 0.25f), MLP_OK);
    unsigned char *b = export_mem(net, NULL, NULL, &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
    mlp_net_free(net);
}

/* An export that fails leaves the file at path as it was, and no temporary file. */
static void expect_refused(const mlp_net *net, const mlp_scaler *s, const mlp_classes *c,
                           const mlp_onnx_options *o, mlp_status want, const char *words) {
    const char *path = DIR_PATH "/keep.onnx";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    assert_int_equal(mlp_model_export_onnx(path, net, s, c, o), want);
    if (!strstr(mlp_last_error(), words)) fail_msg("'%s' lacks '%s'", mlp_last_error(), words);
    size_t len, size = 77;
    unsigned char *b = tu_read_file(path, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(b, "old", 3);
    free(b);
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    assert_int_equal(mlp_model_export_onnx_mem(NULL, 0, &size, net, s, c, o), want);
    assert_int_equal(size, 77);
}

/* Whole-number classes become an int64 tensor, other numbers a double one (their bits). */
static void test_label_types(void **state) {
    (void)state;
    mlp_net *net = make_net();
    double whole[3] = {-3, 7, 10}, frac[3] = {0.5, 1.5, 2.25};
    const int64_t ints[3] = {-3, 7, 10}; /* x86: the little-endian raw data */
    mlp_classes cw = {MLP_CLASSES_NUMBERS, 3, whole, NULL},
                cf = {MLP_CLASSES_NUMBERS, 3, frac, NULL};
    size_t len;
    unsigned char *b = export_mem(net, NULL, &cw, &len);
    assert_non_null(memmem(b, len, ints, sizeof ints));
    free(b);
    b = export_mem(net, NULL, &cf, &len);
    assert_non_null(memmem(b, len, frac, sizeof frac));
    const unsigned char double_type[] = {0x10, 11}; /* TensorProto.data_type = DOUBLE */
    assert_non_null(memmem(b, len, double_type, 2));
    free(b);
    mlp_net_free(net);
}

/* A loss or an activation that the export does not know is refused, by name. */
static void test_unknown_loss_and_activation(void **state) {
    (void)state;
    mlp_net *net = make_net();
    net->loss = MLP_LOSS_COUNT;
    char want[64];
    snprintf(want, sizeof want, "loss %d (unknown) has no ONNX export", (int)MLP_LOSS_COUNT);
    expect_refused(net, NULL, NULL, NULL, MLP_ERR_ARG, want);
    net->loss = MLP_LOSS_SOFTMAX_CE;
    net->layers[1].act = MLP_ACT_COUNT;
    snprintf(want, sizeof want, "layer 2's activation %d", (int)MLP_ACT_COUNT);
    expect_refused(net, NULL, NULL, NULL, MLP_ERR_ARG, want);
    net->layers[1].act = MLP_ACT_LEAKY_RELU;
    mlp_net_free(net);
}

static void test_bad_arguments(void **state) {
    (void)state;
    mlp_net *net = make_net();
    size_t size = 0;
    unsigned char small[8];
    assert_int_equal(mlp_model_export_onnx(NULL, net, NULL, NULL, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_export_onnx("x.onnx", NULL, NULL, NULL, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_export_onnx("", net, NULL, NULL, NULL), MLP_ERR_ARG);
    assert_int_equal(mlp_model_export_onnx_mem(NULL, 0, NULL, net, NULL, NULL, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_export_onnx_mem(small, sizeof small, &size, net, NULL, NULL, NULL),
                     MLP_ERR_SHAPE);
    assert_int_equal(size, 0);
    const char *bad_names[] = {"1x", "mlp_x", "label", "variable", "a-b", ""};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        mlp_onnx_options o = {bad_names[i], NULL};
        expect_refused(net, NULL, NULL, &o, MLP_ERR_ARG, "input name");
    }
    mlp_onnx_options ok = {"features_2", "g"};
    assert_int_equal(mlp_model_export_onnx_mem(NULL, 0, &size, net, NULL, NULL, &ok), MLP_OK);
    double two[2] = {1, 2};
    mlp_classes c2 = {MLP_CLASSES_NUMBERS, 2, two, NULL};
    expect_refused(net, NULL, &c2, NULL, MLP_ERR_SHAPE, "2 classes in the list, the net has 3");
    float offset[3] = {0, 0, 0}, scale[4] = {1, 0, 1, 1};
    mlp_scaler s3 = {MLP_SCALE_STANDARD, 3, offset, scale};
    expect_refused(net, &s3, NULL, NULL, MLP_ERR_SHAPE, "scaler has 3 features");
    float offset4[4] = {0, 0, 0, 0};
    mlp_scaler s0 = {MLP_SCALE_STANDARD, 4, offset4, scale};
    expect_refused(net, &s0, NULL, NULL, MLP_ERR_ARG, "scaler feature 1");
    mlp_net_free(net);
    const size_t rs[] = {4, 2};
    const mlp_activation ra[] = {MLP_ACT_IDENTITY};
    mlp_net *reg = tu_make_net(rs, ra, 1, MLP_LOSS_SQUARED, MLP_INIT_GLOROT, 1);
    assert_non_null(reg);
    expect_refused(reg, NULL, &c2, NULL, MLP_ERR_ARG, "a class list needs a classifier");
    mlp_net_free(reg);
}

/* Paths that cannot be written: clear errors naming the path, nothing left behind. */
static void test_unwritable_paths(void **state) {
    (void)state;
    mlp_net *net = make_net();
    assert_int_equal(mlp_model_export_onnx(DIR_PATH "/no_such_dir/m.onnx", net, NULL, NULL, NULL),
                     MLP_ERR_IO);
    assert_non_null(strstr(mlp_last_error(), "no_such_dir/m.onnx"));
    assert_int_equal(mlp_model_export_onnx(DIR_PATH, net, NULL, NULL, NULL), MLP_ERR_IO);
    assert_non_null(strstr(mlp_last_error(), "is a directory"));
    assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
    mlp_net_free(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints),          cmocka_unit_test(test_file_equals_memory),
        cmocka_unit_test(test_dropout_left_out), cmocka_unit_test(test_unknown_loss_and_activation),
        cmocka_unit_test(test_label_types),      cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_unwritable_paths),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
