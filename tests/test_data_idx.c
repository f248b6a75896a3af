/* IDX reader (src/data_idx.c): good files plain and gzip, and rejection of foreign, unsupported,
 * oversized, truncated, padded and mismatched files with the right status, before allocating. */
#include "data_test_util.h"

#include "core/core.h"
#include "test_util.h"

/* Builds an IDX file in memory: header (type, dims) then payload; returns the malloc'd bytes. */
static unsigned char *make_idx(unsigned type, unsigned ndims, const uint32_t *dims,
                               const unsigned char *payload, size_t payload_len, size_t *len) {
    *len = 4 + 4 * (size_t)ndims + payload_len;
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    size_t h = tu_idx_header(b, type, ndims, dims);
    if (payload_len) memcpy(b + h, payload, payload_len);
    return b;
}

/* Writes an IDX file (plain or gzip); returns its path in path. */
static const char *write_idx(char *path, const char *name, unsigned type, unsigned ndims,
                             const uint32_t *dims, const unsigned char *payload, size_t payload_len,
                             int gz) {
    size_t len;
    unsigned char *b = make_idx(type, ndims, dims, payload, payload_len, &len);
    dt_write(path, name, b, len, gz);
    free(b);
    return path;
}

/* 3 images of 2 x 3 pixels and their labels. */
static const unsigned char PIX[18] = {0, 1, 2, 3, 4, 255, 10, 20, 30, 40, 50, 60, 7, 7, 7, 9, 9, 9};
static const unsigned char LAB[3] = {4, 0, 2};

/* Their dims. */
static const uint32_t IDIMS[3] = {3, 2, 3}, LDIMS[1] = {3};

static void write_good(char *img, char *lab, int gz) {
    write_idx(img, gz ? "idx_good_img.gz" : "idx_good_img", 0x08, 3, IDIMS, PIX, 18, gz);
    write_idx(lab, gz ? "idx_good_lab.gz" : "idx_good_lab", 0x08, 1, LDIMS, LAB, 3, gz);
}

/* check(good_img, good_lab, gz) with the good pair written plain, then gzip. */
static void plain_and_gzip(void (*check)(const char *good_img, const char *good_lab, int gz)) {
    for (int gz = 0; gz <= 1; gz++) {
        char good_img[DT_PATH_MAX], good_lab[DT_PATH_MAX];
        write_good(good_img, good_lab, gz);
        check(good_img, good_lab, gz);
    }
}

static void read_good(const char *img, const char *lab, int gz) {
    (void)gz;
    mlp_dataset ds;
    TU_ASSERT_OK(mlp_read_idx(img, lab, &ds));
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.d, 6);
    assert_int_equal(ds.n_classes, 5);
    assert_null(ds.targets);
    for (int i = 0; i < 18; i++) assert_true(ds.X[i] == (float)PIX[i]);
    for (int i = 0; i < 3; i++) assert_int_equal(ds.labels[i], LAB[i]);
    mlp_dataset_free(&ds);
}

static void test_good(void **state) {
    (void)state;
    plain_and_gzip(read_good);
    /* Two dimensions: n x d. Mixed: plain images, gzip labels. */
    char img[DT_PATH_MAX], lab[DT_PATH_MAX];
    const uint32_t idims[2] = {3, 6}, ldims[1] = {3};
    write_idx(img, "idx_2d_img", 0x08, 2, idims, PIX, 18, 0);
    write_idx(lab, "idx_2d_lab.gz", 0x08, 1, ldims, LAB, 3, 1);
    mlp_dataset ds;
    assert_int_equal(mlp_read_idx(img, lab, &ds), MLP_OK);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.d, 6);
    assert_true(ds.X[5] == 255.0f);
    mlp_dataset_free(&ds);
}

/* A bigger file: several read chunks. */
static void test_large(void **state) {
    (void)state;
    const uint32_t n = 3000, r = 28, c = 28;
    size_t len = (size_t)n * r * c;
    unsigned char *pix = malloc(len), *lab = malloc(n);
    assert_non_null(pix);
    assert_non_null(lab);
    for (size_t i = 0; i < len; i++) pix[i] = (unsigned char)(i * 31 + 7);
    for (size_t i = 0; i < n; i++) lab[i] = (unsigned char)(i % 10);
    for (int gz = 0; gz <= 1; gz++) {
        char ip[DT_PATH_MAX], lp[DT_PATH_MAX];
        const uint32_t idims[3] = {n, r, c}, ldims[1] = {n};
        write_idx(ip, "idx_large_img", 0x08, 3, idims, pix, len, gz);
        write_idx(lp, "idx_large_lab", 0x08, 1, ldims, lab, n, gz);
        mlp_dataset ds;
        assert_int_equal(mlp_read_idx(ip, lp, &ds), MLP_OK);
        assert_int_equal(ds.n, n);
        assert_int_equal(ds.d, 784);
        assert_int_equal(ds.n_classes, 10);
        for (size_t i = 0; i < len; i++)
            if (ds.X[i] != (float)pix[i]) fail_msg("pixel %zu", i);
        for (size_t i = 0; i < n; i++) assert_int_equal(ds.labels[i], lab[i]);
        mlp_dataset_free(&ds);
    }
    free(pix);
    free(lab);
}

/* Expects (images, labels) to be rejected with want and a message containing needle. */
static void expect_bad(const char *img, const char *lab, mlp_status want, const char *needle) {
    mlp_dataset ds;
    dt_poison(&ds);
    dt_expect(mlp_read_idx(img, lab, &ds), want, needle);
    assert_true(dt_is_poisoned(&ds));
}

static void header_errors(const char *good_img, const char *good_lab, int gz) {
    char p[DT_PATH_MAX];

    /* Wrong magic: not starting with two zero bytes. */
    size_t len;
    unsigned char *b = make_idx(0x08, 3, IDIMS, PIX, 18, &len);
    b[0] = 0x1F;
    b[1] = 0x00;
    dt_write(p, "idx_magic", b, len, gz);
    expect_bad(p, good_lab, MLP_ERR_FORMAT, "not an IDX file");
    expect_bad(good_img, p, MLP_ERR_FORMAT, "not an IDX file");
    free(b);

    /* Supported by IDX but not here; and an unknown type. */
    write_idx(p, "idx_float", 0x0D, 3, IDIMS, PIX, 18, gz);
    expect_bad(p, good_lab, MLP_ERR_FORMAT, "(float) is not supported");
    write_idx(p, "idx_type", 0x42, 3, IDIMS, PIX, 18, gz);
    expect_bad(p, good_lab, MLP_ERR_FORMAT, "unknown IDX element type 0x42");

    /* Dimension counts. */
    write_idx(p, "idx_img_1d", 0x08, 1, LDIMS, LAB, 3, gz);
    expect_bad(p, good_lab, MLP_ERR_FORMAT, "at least 2 dimensions");
    const uint32_t l2[2] = {3, 1};
    write_idx(p, "idx_lab_2d", 0x08, 2, l2, LAB, 3, gz);
    expect_bad(good_img, p, MLP_ERR_FORMAT, "exactly 1 dimension");
    write_idx(p, "idx_0d", 0x08, 0, NULL, NULL, 0, gz);
    expect_bad(p, good_lab, MLP_ERR_FORMAT, "0 dimensions");
    const uint32_t zero[3] = {3, 0, 3};
    write_idx(p, "idx_zero_dim", 0x08, 3, zero, NULL, 0, gz);
    expect_bad(p, good_lab, MLP_ERR_FORMAT, "dimension 1 is 0");

    /* Dimension product overflows size_t (no allocation attempted). */
    const uint32_t huge[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    write_idx(p, "idx_overflow", 0x08, 3, huge, PIX, 18, gz);
    expect_bad(p, good_lab, MLP_ERR_OVERFLOW, "overflow");

    /* Header itself cut short. */
    dt_write(p, "idx_short_magic", "\0\0", 2, gz);
    expect_bad(p, good_lab, MLP_ERR_FORMAT, "truncated");
    b = make_idx(0x08, 3, IDIMS, PIX, 18, &len);
    dt_write(p, "idx_short_dims", b, 9, gz);
    expect_bad(p, good_lab, MLP_ERR_FORMAT, "truncated");
    free(b);
}

static void test_header_errors(void **state) {
    (void)state;
    plain_and_gzip(header_errors);
}

static void size_errors(const char *good_img, const char *good_lab, int gz) {
    char p[DT_PATH_MAX];

    /* Payload shorter than declared. */
    write_idx(p, "idx_trunc_img", 0x08, 3, IDIMS, PIX, 17, gz);
    expect_bad(p, good_lab, MLP_ERR_FORMAT, "truncated");
    write_idx(p, "idx_trunc_lab", 0x08, 1, LDIMS, LAB, 2, gz);
    expect_bad(good_img, p, MLP_ERR_FORMAT, "truncated");

    /* A declared size far beyond the file: rejected before allocating (60000 x 1000 x 1000
     * bytes in a tiny file). */
    const uint32_t big[3] = {60000, 1000, 1000}, bigl[1] = {60000};
    write_idx(p, "idx_big_img", 0x08, 3, big, PIX, 18, gz);
    char pl[DT_PATH_MAX];
    write_idx(pl, "idx_big_lab", 0x08, 1, bigl, LAB, 3, gz);
    mlp_dataset ds;
    dt_poison(&ds);
    mlp_status st = mlp_read_idx(p, pl, &ds);
    /* plain: longer than the file (FORMAT); gzip: above the 16 GiB cap (OVERFLOW) */
    assert_int_equal(st, gz ? MLP_ERR_OVERFLOW : MLP_ERR_FORMAT);
    assert_true(dt_is_poisoned(&ds));
    /* Below the gzip cap but far more than the compressed bytes can hold. */
    const uint32_t mid[3] = {60000, 100, 100}, midl[1] = {60000};
    write_idx(p, "idx_mid_img", 0x08, 3, mid, PIX, 18, gz);
    write_idx(pl, "idx_mid_lab", 0x08, 1, midl, LAB, 3, gz);
    expect_bad(p, pl, MLP_ERR_FORMAT, "truncated");

    /* Trailing bytes after the declared data. */
    unsigned char more[19];
    memcpy(more, PIX, 18);
    more[18] = 1;
    write_idx(p, "idx_trail_img", 0x08, 3, IDIMS, more, 19, gz);
    expect_bad(p, good_lab, MLP_ERR_FORMAT, "trailing data");
    write_idx(p, "idx_trail_lab", 0x08, 1, LDIMS, more, 4, gz);
    expect_bad(good_img, p, MLP_ERR_FORMAT, "trailing data");

    /* Label count differs from the image count. */
    const uint32_t two[1] = {2};
    write_idx(p, "idx_lab_count", 0x08, 1, two, LAB, 2, gz);
    expect_bad(good_img, p, MLP_ERR_SHAPE, "has 3 images but");
}

static void test_size_errors(void **state) {
    (void)state;
    plain_and_gzip(size_errors);
}

/* Gzip streams cut short or corrupted. */
static void test_bad_gzip(void **state) {
    (void)state;
    const uint32_t n = 200, r = 10, c = 10;
    size_t len = (size_t)n * r * c;
    unsigned char *pix = malloc(len);
    assert_non_null(pix);
    for (size_t i = 0; i < len; i++) pix[i] = (unsigned char)((i * 2654435761u) >> 13);
    const uint32_t idims[3] = {n, r, c}, ldims[1] = {n};
    char img[DT_PATH_MAX], lab[DT_PATH_MAX], p[DT_PATH_MAX];
    write_idx(img, "idx_gz_img.gz", 0x08, 3, idims, pix, len, 1);
    write_idx(lab, "idx_gz_lab.gz", 0x08, 1, ldims, pix, n, 1);
    size_t glen;
    unsigned char *gz = dt_slurp(img, &glen);
    assert_true(glen > 100);
    dt_write(p, "idx_gz_cut.gz", gz, glen / 2, 0);
    expect_bad(p, lab, MLP_ERR_FORMAT, "truncated");
    dt_write(p, "idx_gz_no_trailer.gz", gz, glen - 4, 0);
    expect_bad(p, lab, MLP_ERR_FORMAT, "truncated");
    /* Bytes after the gzip data (zlib's gzread would drop them unseen). */
    unsigned char *tail = malloc(glen + 3);
    assert_non_null(tail);
    memcpy(tail, gz, glen);
    memcpy(tail + glen, "abc", 3);
    dt_write(p, "idx_gz_tail.gz", tail, glen + 3, 0);
    expect_bad(p, lab, MLP_ERR_FORMAT, "trailing garbage after the gzip data");
    free(tail);
    for (size_t i = glen / 3; i < glen / 3 + 16; i++) gz[i] ^= 0xFF;
    dt_write(p, "idx_gz_corrupt.gz", gz, glen, 0);
    expect_bad(p, lab, MLP_ERR_FORMAT, NULL);
    free(gz);
    free(pix);
}

static void test_args(void **state) {
    (void)state;
    char img[DT_PATH_MAX], lab[DT_PATH_MAX];
    write_good(img, lab, 0);
    mlp_dataset ds;
    dt_poison(&ds);
    dt_expect(mlp_read_idx(NULL, lab, &ds), MLP_ERR_NULL, NULL);
    dt_expect(mlp_read_idx(img, NULL, &ds), MLP_ERR_NULL, NULL);
    dt_expect(mlp_read_idx(img, lab, NULL), MLP_ERR_NULL, NULL);
    dt_expect(mlp_read_idx(MLP_TEST_TMPDIR "/idx_missing", lab, &ds), MLP_ERR_IO, "idx_missing");
    dt_expect(mlp_read_idx(img, MLP_TEST_TMPDIR "/idx_missing_lab", &ds), MLP_ERR_IO,
              "idx_missing_lab");
    assert_true(dt_is_poisoned(&ds));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),          cmocka_unit_test(test_large),
        cmocka_unit_test(test_header_errors), cmocka_unit_test(test_size_errors),
        cmocka_unit_test(test_bad_gzip),      cmocka_unit_test(test_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
