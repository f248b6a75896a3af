/* Data preparation (src/data.c): row subsets, the seeded train/test split, row index files (the
 * shipped digits split among them) and the standard / min-max scalers. */
#include "data_test_util.h"

#include "core/core.h"
#include "test_util.h"

#include <math.h>

/* n x d dataset whose X[i][0] = i identifies the row; labels i % k (or targets 2i if regression).
 */
static mlp_dataset make_ds(size_t n, size_t d, size_t k, int regression) {
    mlp_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = n;
    ds.d = d;
    ds.X = tu_floats(n * d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) ds.X[i * d + j] = (float)i + (float)j * 0.5f;
    if (regression) {
        ds.n_targets = 2;
        ds.targets = tu_floats(n * 2);
        for (size_t i = 0; i < n; i++) {
            ds.targets[2 * i] = 2.0f * (float)i;
            ds.targets[2 * i + 1] = -(float)i;
        }
    } else {
        ds.labels = tu_alloc(n, sizeof(int32_t));
        for (size_t i = 0; i < n; i++) ds.labels[i] = (int32_t)(i % k);
        ds.n_classes = k;
    }
    return ds;
}

/* Row of src that row i of ds is a copy of (via X[i][0]); checks the whole row, its weight too. */
static size_t source_row(const mlp_dataset *ds, size_t i, const mlp_dataset *src) {
    size_t r = (size_t)ds->X[i * ds->d];
    assert_true(r < src->n);
    assert_memory_equal(ds->X + i * ds->d, src->X + r * src->d, src->d * sizeof(float));
    if (src->labels) assert_int_equal(ds->labels[i], src->labels[r]);
    if (src->targets)
        assert_memory_equal(ds->targets + i * ds->n_targets, src->targets + r * src->n_targets,
                            src->n_targets * sizeof(float));
    assert_true((ds->weights != NULL) == (src->weights != NULL));
    if (src->weights) assert_true(ds->weights[i] == src->weights[r]);
    return r;
}

/* make_ds with per-row weights 0.25 * row. */
static mlp_dataset make_weighted(size_t n, size_t d, size_t k, int regression) {
    mlp_dataset ds = make_ds(n, d, k, regression);
    ds.weights = tu_floats(n);
    for (size_t i = 0; i < n; i++) ds.weights[i] = 0.25f * (float)i;
    return ds;
}

/* Sample weights travel with their rows through subsets and splits, and are freed with the
 * dataset. */
static void test_weights_follow_rows(void **state) {
    (void)state;
    for (int reg = 0; reg <= 1; reg++) {
        mlp_dataset src = make_weighted(40, 3, 4, reg), sub, tr, te;
        const size_t rows[4] = {39, 0, 7, 7};
        TU_ASSERT_OK(mlp_dataset_subset(&src, rows, 4, &sub));
        assert_non_null(sub.weights);
        for (size_t i = 0; i < 4; i++) assert_int_equal(source_row(&sub, i, &src), rows[i]);
        TU_ASSERT_OK(mlp_dataset_split(&src, 0.25, 5, &tr, &te));
        assert_true(tr.weights && te.weights && tr.weights != src.weights);
        for (size_t i = 0; i < tr.n; i++) source_row(&tr, i, &src);
        for (size_t i = 0; i < te.n; i++) source_row(&te, i, &src);
        mlp_dataset_free(&sub);
        mlp_dataset_free(&tr);
        mlp_dataset_free(&te);
        assert_null(te.weights);
        mlp_dataset_free(&src);
    }
}

/* An output that is the source would be overwritten without its arrays being freed: refused,
 * naming the argument, and the source is left as it was. */
static void test_aliasing_refused(void **state) {
    (void)state;
    mlp_dataset src = make_weighted(10, 2, 3, 0), other, keep = src;
    const size_t rows[2] = {1, 2};
    dt_poison(&other);
    dt_expect(mlp_dataset_subset(&src, rows, 2, &src), MLP_ERR_ARG, "out is src");
    dt_expect(mlp_dataset_split(&src, 0.5, 1, &src, &other), MLP_ERR_ARG, "train is src");
    dt_expect(mlp_dataset_split(&src, 0.5, 1, &other, &src), MLP_ERR_ARG, "test is src");
    /* Field by field: the struct's padding bytes are not part of its value. */
    assert_true(src.n == keep.n && src.d == keep.d && src.X == keep.X);
    assert_true(src.labels == keep.labels && src.n_classes == keep.n_classes);
    assert_true(src.targets == keep.targets && src.n_targets == keep.n_targets);
    assert_true(src.weights == keep.weights && src.classes.n == keep.classes.n);
    assert_true(dt_is_poisoned(&other));
    mlp_dataset_free(&src);
}

static void test_subset(void **state) {
    (void)state;
    for (int reg = 0; reg <= 1; reg++) {
        mlp_dataset src = make_ds(10, 3, 4, reg);
        const size_t rows[5] = {9, 0, 3, 3, 7};
        mlp_dataset sub;
        assert_int_equal(mlp_dataset_subset(&src, rows, 5, &sub), MLP_OK);
        assert_int_equal(sub.n, 5);
        assert_int_equal(sub.d, 3);
        assert_int_equal(sub.n_classes, src.n_classes);
        assert_int_equal(sub.n_targets, src.n_targets);
        assert_true((sub.labels != NULL) == !reg);
        assert_true((sub.targets != NULL) == reg);
        for (size_t i = 0; i < 5; i++) assert_int_equal(source_row(&sub, i, &src), rows[i]);
        mlp_dataset_free(&sub);

        /* Errors leave out untouched. */
        dt_poison(&sub);
        const size_t bad[2] = {1, 10};
        dt_expect(mlp_dataset_subset(&src, bad, 2, &sub), MLP_ERR_ARG, "rows[1] = 10");
        dt_expect(mlp_dataset_subset(&src, rows, 0, &sub), MLP_ERR_ARG, NULL);
        dt_expect(mlp_dataset_subset(&src, NULL, 2, &sub), MLP_ERR_NULL, NULL);
        dt_expect(mlp_dataset_subset(NULL, rows, 2, &sub), MLP_ERR_NULL, NULL);
        dt_expect(mlp_dataset_subset(&src, rows, 2, NULL), MLP_ERR_NULL, NULL);
        mlp_dataset empty;
        memset(&empty, 0, sizeof empty);
        dt_expect(mlp_dataset_subset(&empty, rows, 2, &sub), MLP_ERR_ARG, NULL);
        assert_true(dt_is_poisoned(&sub));
        mlp_dataset_free(&src);
    }
}

static void test_split(void **state) {
    (void)state;
    const size_t n = 1797;
    mlp_dataset src = make_ds(n, 5, 10, 0);
    mlp_dataset tr, te, tr2, te2, tr3, te3;
    assert_int_equal(mlp_dataset_split(&src, 0.2, 42, &tr, &te), MLP_OK);
    assert_int_equal(te.n, 360); /* ceil(0.2 * 1797) = ceil(359.4), as scikit-learn */
    assert_int_equal(tr.n, n - 360);
    assert_int_equal(tr.d, 5);
    assert_int_equal(te.n_classes, 10);
    unsigned char *seen = tu_alloc(n, 1);
    for (size_t i = 0; i < tr.n; i++) seen[source_row(&tr, i, &src)]++;
    for (size_t i = 0; i < te.n; i++) seen[source_row(&te, i, &src)]++;
    for (size_t i = 0; i < n; i++) assert_int_equal(seen[i], 1); /* disjoint and covering */
    /* Shuffled: the test part is not just the first or last rows in order. */
    size_t in_order = 0;
    for (size_t i = 1; i < te.n; i++) in_order += te.X[i * 5] > te.X[(i - 1) * 5];
    assert_true(in_order < te.n - 50);

    /* Same seed: identical; another seed: different. */
    assert_int_equal(mlp_dataset_split(&src, 0.2, 42, &tr2, &te2), MLP_OK);
    assert_int_equal(te2.n, te.n);
    assert_memory_equal(te.X, te2.X, te.n * te.d * sizeof(float));
    assert_memory_equal(tr.X, tr2.X, tr.n * tr.d * sizeof(float));
    assert_memory_equal(tr.labels, tr2.labels, tr.n * sizeof(int32_t));
    assert_int_equal(mlp_dataset_split(&src, 0.2, 43, &tr3, &te3), MLP_OK);
    assert_true(memcmp(te.X, te3.X, te.n * te.d * sizeof(float)) != 0);
    mlp_dataset_free(&tr);
    mlp_dataset_free(&te);
    mlp_dataset_free(&tr2);
    mlp_dataset_free(&te2);
    mlp_dataset_free(&tr3);
    mlp_dataset_free(&te3);
    free(seen);
    mlp_dataset_free(&src);

    /* At least one row on each side; regression targets follow their rows. */
    mlp_dataset small = make_ds(10, 2, 1, 1);
    assert_int_equal(mlp_dataset_split(&small, 0.001, 1, &tr, &te), MLP_OK);
    assert_int_equal(te.n, 1);
    assert_int_equal(tr.n, 9);
    for (size_t i = 0; i < tr.n; i++) source_row(&tr, i, &small);
    mlp_dataset_free(&tr);
    mlp_dataset_free(&te);
    assert_int_equal(mlp_dataset_split(&small, 0.999, 1, &tr, &te), MLP_OK);
    assert_int_equal(te.n, 9);
    assert_int_equal(tr.n, 1);
    assert_int_equal(te.n_targets, 2);
    for (size_t i = 0; i < te.n; i++) source_row(&te, i, &small);
    mlp_dataset_free(&tr);
    mlp_dataset_free(&te);

    /* Errors leave both outputs untouched. */
    dt_poison(&tr);
    dt_poison(&te);
    dt_expect(mlp_dataset_split(&small, 0.0, 1, &tr, &te), MLP_ERR_ARG, "test_fraction");
    dt_expect(mlp_dataset_split(&small, 1.0, 1, &tr, &te), MLP_ERR_ARG, "test_fraction");
    dt_expect(mlp_dataset_split(&small, NAN, 1, &tr, &te), MLP_ERR_ARG, "test_fraction");
    dt_expect(mlp_dataset_split(&small, 0.5, 1, &tr, &tr), MLP_ERR_ARG, NULL);
    dt_expect(mlp_dataset_split(&small, 0.5, 1, NULL, &te), MLP_ERR_NULL, NULL);
    mlp_dataset one = make_ds(1, 2, 1, 0);
    dt_expect(mlp_dataset_split(&one, 0.5, 1, &tr, &te), MLP_ERR_ARG, "at least 2 rows");
    assert_true(dt_is_poisoned(&tr));
    assert_true(dt_is_poisoned(&te));
    mlp_dataset_free(&one);
    mlp_dataset_free(&small);
}

static void test_row_indices_digits(void **state) {
    (void)state;
    size_t *tr = NULL, *te = NULL, ntr = 0, nte = 0;
    TU_ASSERT_OK(
        mlp_read_row_indices(MLP_SOURCE_DIR "/data/digits_split_rs42_train.txt", 1797, &tr, &ntr));
    TU_ASSERT_OK(
        mlp_read_row_indices(MLP_SOURCE_DIR "/data/digits_split_rs42_test.txt", 1797, &te, &nte));
    assert_int_equal(ntr, 1437);
    assert_int_equal(nte, 360);
    assert_int_equal(tr[0], 1734); /* first lines of the files */
    assert_int_equal(te[0], 1245);
    unsigned char *seen = tu_alloc(1797, 1);
    for (size_t i = 0; i < ntr; i++) seen[tr[i]]++;
    for (size_t i = 0; i < nte; i++) seen[te[i]]++;
    for (size_t i = 0; i < 1797; i++) assert_int_equal(seen[i], 1);

    /* The whole pipeline: load, subset by the split, scale on train. */
    mlp_dataset all, train, test;
    assert_int_equal(mlp_read_csv(MLP_SOURCE_DIR "/data/digits.csv.gz", NULL, &all), MLP_OK);
    assert_int_equal(mlp_dataset_subset(&all, tr, ntr, &train), MLP_OK);
    assert_int_equal(mlp_dataset_subset(&all, te, nte, &test), MLP_OK);
    assert_int_equal(train.n, 1437);
    assert_int_equal(test.n, 360);
    assert_int_equal(test.labels[5], all.labels[te[5]]);
    mlp_scaler s;
    memset(&s, 0, sizeof s);
    assert_int_equal(mlp_scaler_fit(&s, MLP_SCALE_STANDARD, train.X, train.n, train.d), MLP_OK);
    assert_int_equal(mlp_scaler_apply(&s, train.X, train.n, train.d), MLP_OK);
    assert_int_equal(mlp_scaler_apply(&s, test.X, test.n, test.d), MLP_OK);
    assert_true(s.scale[0] == 1.0f); /* the first pixel is always 0 in digits */
    for (size_t i = 0; i < train.n * train.d; i++) assert_true(isfinite(train.X[i]));
    mlp_scaler_free(&s);
    mlp_dataset_free(&all);
    mlp_dataset_free(&train);
    mlp_dataset_free(&test);
    free(seen);
    free(tr);
    free(te);
}

static void test_row_indices_format(void **state) {
    (void)state;
    char p[DT_PATH_MAX];
    size_t *rows = NULL, n = 0;
    for (int gz = 0; gz <= 1; gz++) {
        dt_write_str(p, "rows_good.txt", "3\r\n\n  0 \n7\n3", gz);
        assert_int_equal(mlp_read_row_indices(p, 8, &rows, &n), MLP_OK);
        assert_int_equal(n, 4);
        assert_int_equal(rows[0], 3);
        assert_int_equal(rows[1], 0);
        assert_int_equal(rows[2], 7);
        assert_int_equal(rows[3], 3);
        free(rows);
        rows = NULL;
        n = 0;

        /* Format errors, each with the message it must contain. */
        static const struct {
            const char *name, *text, *needle;
        } bad[] = {
            {"rows_range.txt", "1\n2\n8\n", "rows_range.txt:3:1:"},
            {"rows_neg.txt", "1\n-2\n", "rows_neg.txt:2:1:"},
            {"rows_two.txt", "1\n2 3\n", "rows_two.txt:2:3:"},
            {"rows_text.txt", "1\n2\nx\n", "rows_text.txt:3:1:"},
            {"rows_huge.txt", "99999999999999999999999\n", "rows_huge.txt:1:1:"},
            {"rows_empty.txt", "\n\n", "no row indices"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            dt_write_str(p, bad[i].name, bad[i].text, gz);
            dt_expect(mlp_read_row_indices(p, 8, &rows, &n), MLP_ERR_FORMAT, bad[i].needle);
        }
        assert_null(rows);
        assert_int_equal(n, 0);
    }
    /* Bytes after the gzip data are not silently dropped. */
    dt_write_str(p, "rows_gz.txt.gz", "1\n2\n", 1);
    size_t len;
    unsigned char *gz = dt_slurp(p, &len), *tail = malloc(len + 4);
    assert_non_null(tail);
    memcpy(tail, gz, len);
    memcpy(tail + len, "7\n\n\n", 4);
    dt_write(p, "rows_gz_tail.txt.gz", tail, len + 4, 0);
    dt_expect(mlp_read_row_indices(p, 8, &rows, &n), MLP_ERR_FORMAT, "trailing garbage");
    assert_null(rows);
    free(tail);
    free(gz);
    dt_expect(mlp_read_row_indices(MLP_TEST_TMPDIR "/rows_missing.txt", 8, &rows, &n), MLP_ERR_IO,
              "rows_missing.txt");
    dt_expect(mlp_read_row_indices(NULL, 8, &rows, &n), MLP_ERR_NULL, NULL);
    dt_expect(mlp_read_row_indices(p, 8, NULL, &n), MLP_ERR_NULL, NULL);
}

/* Column statistics of X (n x d) in double. */
static void col_stats(const float *X, size_t n, size_t d, size_t j, double *mean, double *sd,
                      double *lo, double *hi) {
    double s = 0.0, q = 0.0;
    *lo = HUGE_VAL;
    *hi = -HUGE_VAL;
    for (size_t i = 0; i < n; i++) {
        double v = X[i * d + j];
        s += v;
        if (v < *lo) *lo = v;
        if (v > *hi) *hi = v;
    }
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) q += (X[i * d + j] - *mean) * (X[i * d + j] - *mean);
    *sd = sqrt(q / (double)n);
}

/* 500 x 4 data: column j has offset 100 j and spread 10^(j-1); column 2 is constant 0.1. */
static float *make_cols(size_t n, size_t d) {
    float *X = tu_floats(n * d);
    tu_rng r;
    tu_rng_seed(&r, 7);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            X[i * d + j] =
                j == 2 ? 0.1f
                       : (float)(100.0 * j + pow(10.0, (double)j - 1) * (tu_rng_uniform(&r) - 0.3));
    return X;
}

/* make_cols(n, d) scaled in place by a scaler of kind (into *s) fitted on it. Every column then
 * has mean 0 and standard deviation 1 (standard) or the range [0, 1] (min-max), but the constant
 * column 2, which is not scaled (scale 1) and becomes 0 (with mean 0 for standard too). */
static float *scaled_cols(size_t n, size_t d, mlp_scale_kind kind, mlp_scaler *s) {
    float *X = make_cols(n, d);
    memset(s, 0, sizeof *s);
    assert_int_equal(mlp_scaler_fit(s, kind, X, n, d), MLP_OK);
    assert_true(s->scale[2] == 1.0f); /* zero variance: not scaled */
    assert_int_equal(mlp_scaler_apply(s, X, n, d), MLP_OK);
    for (size_t j = 0; j < d; j++) {
        double mean, sd, lo, hi;
        col_stats(X, n, d, j, &mean, &sd, &lo, &hi);
        if (kind == MLP_SCALE_STANDARD) assert_true(fabs(mean) < 1e-5);
        if (j == 2) {
            assert_true(lo == 0.0 && hi == 0.0);
        } else if (kind == MLP_SCALE_STANDARD) {
            assert_true(fabs(sd - 1.0) < 1e-5);
        } else {
            assert_true(lo == 0.0);
            assert_true(fabs(hi - 1.0) < 1e-6);
        }
    }
    return X;
}

static void test_scaler_standard(void **state) {
    (void)state;
    const size_t n = 500, d = 4;
    mlp_scaler s;
    float *X = scaled_cols(n, d, MLP_SCALE_STANDARD, &s);
    assert_int_equal(s.kind, MLP_SCALE_STANDARD);
    assert_int_equal(s.d, d);
    assert_true(s.offset[2] == 0.1f);
    /* Refit (frees the previous arrays), and a failed fit leaves the scaler as it was. */
    float *Y = make_cols(n, d);
    assert_int_equal(mlp_scaler_fit(&s, MLP_SCALE_STANDARD, Y, n, d), MLP_OK);
    float *old_scale = s.scale;
    Y[17] = NAN;
    dt_expect(mlp_scaler_fit(&s, MLP_SCALE_MINMAX, Y, n, d), MLP_ERR_ARG, "not finite");
    assert_int_equal(s.kind, MLP_SCALE_STANDARD);
    assert_ptr_equal(s.scale, old_scale);
    dt_expect(mlp_scaler_fit(&s, (mlp_scale_kind)7, Y, n, d), MLP_ERR_ARG, NULL);
    dt_expect(mlp_scaler_fit(&s, MLP_SCALE_STANDARD, Y, 0, d), MLP_ERR_ARG, NULL);
    dt_expect(mlp_scaler_fit(&s, MLP_SCALE_STANDARD, NULL, n, d), MLP_ERR_NULL, NULL);
    dt_expect(mlp_scaler_fit(NULL, MLP_SCALE_STANDARD, Y, n, d), MLP_ERR_NULL, NULL);
    assert_ptr_equal(s.scale, old_scale);

    /* Wrong width. */
    dt_expect(mlp_scaler_apply(&s, X, n, d - 1), MLP_ERR_SHAPE, "fitted on 4");
    dt_expect(mlp_scaler_apply(&s, NULL, n, d), MLP_ERR_NULL, NULL);
    dt_expect(mlp_scaler_apply(NULL, X, n, d), MLP_ERR_NULL, NULL);
    mlp_scaler_free(&s);
    assert_null(s.scale);
    assert_int_equal(s.kind, MLP_SCALE_NONE);
    mlp_scaler_free(NULL);
    free(X);
    free(Y);
}

static void test_scaler_minmax(void **state) {
    (void)state;
    const size_t n = 500, d = 4;
    mlp_scaler s;
    float *X = scaled_cols(n, d, MLP_SCALE_MINMAX, &s);
    mlp_scaler_free(&s);
    free(X);
}

static void test_scaler_none(void **state) {
    (void)state;
    float X[6] = {1, 2, 3, 4, 5, 6}, Y[6];
    memcpy(Y, X, sizeof X);
    mlp_scaler s;
    memset(&s, 0, sizeof s); /* zero-initialised: no scaling */
    assert_int_equal(mlp_scaler_apply(&s, X, 2, 3), MLP_OK);
    assert_memory_equal(X, Y, sizeof X);
    assert_int_equal(mlp_scaler_fit(&s, MLP_SCALE_MINMAX, X, 2, 3), MLP_OK);
    assert_int_equal(mlp_scaler_fit(&s, MLP_SCALE_NONE, X, 2, 3), MLP_OK); /* frees the arrays */
    assert_null(s.offset);
    assert_null(s.scale);
    assert_int_equal(mlp_scaler_apply(&s, X, 2, 3), MLP_OK);
    assert_memory_equal(X, Y, sizeof X);
    mlp_scaler_free(&s);
}

/* A large apply runs the OpenMP path; it must match the serial formula exactly. */
static void test_scaler_large(void **state) {
    (void)state;
    const size_t n = 20000, d = 7;
    float *X = tu_floats(n * d), *ref = tu_floats(n * d);
    tu_rng r;
    tu_rng_seed(&r, 11);
    tu_fill_uniform(X, n * d, &r, -50.0, 50.0);
    memcpy(ref, X, n * d * sizeof(float));
    mlp_scaler s;
    memset(&s, 0, sizeof s);
    assert_int_equal(mlp_scaler_fit(&s, MLP_SCALE_STANDARD, X, n, d), MLP_OK);
    assert_int_equal(mlp_scaler_apply(&s, X, n, d), MLP_OK);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            float want = (ref[i * d + j] - s.offset[j]) / s.scale[j];
            if (X[i * d + j] != want) fail_msg("element %zu,%zu", i, j);
        }
    mlp_scaler_free(&s);
    free(X);
    free(ref);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subset),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_weights_follow_rows),
        cmocka_unit_test(test_aliasing_refused),
        cmocka_unit_test(test_row_indices_digits),
        cmocka_unit_test(test_row_indices_format),
        cmocka_unit_test(test_scaler_standard),
        cmocka_unit_test(test_scaler_minmax),
        cmocka_unit_test(test_scaler_none),
        cmocka_unit_test(test_scaler_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
