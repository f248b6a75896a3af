/* CSV reader (src/data_csv.c): good files in their variants (header or not, label column first or
 * last, CRLF, blanks, gzip, regression), every malformed case with its status and a message that
 * locates the problem (file:line:column), and the shipped digits data set. */
#include "data_test_util.h"

#include "core/core.h"
#include "test_util.h"

#include <math.h>

/* Reads text (written plain or gzip) with opt; the file is named after the test. */
static mlp_status read_text(const char *name, const char *text, int gz, const mlp_csv_options *opt,
                            mlp_dataset *out) {
    char path[DT_PATH_MAX];
    dt_write_str(path, name, text, gz);
    return mlp_read_csv(path, opt, out);
}

/* Expects text to be rejected with want and a message containing needle; out stays untouched. */
static void expect_bad(const char *name, const char *text, const mlp_csv_options *opt,
                       mlp_status want, const char *needle) {
    for (int gz = 0; gz <= 1; gz++) {
        mlp_dataset ds;
        dt_poison(&ds);
        mlp_status st = read_text(name, text, gz, opt, &ds);
        dt_expect(st, want, needle);
        assert_true(dt_is_poisoned(&ds));
        /* The message names the file. */
        assert_non_null(strstr(mlp_last_error(), name));
    }
}

/* The default options and the variants the tests read with. */
typedef struct csv_variants {
    mlp_csv_options def, label_first, header1, header0, semicolon, max3, label_col3;
} csv_variants;

static csv_variants make_variants(void) {
    csv_variants v;
    v.def = mlp_csv_options_default();
    v.label_first = v.header1 = v.header0 = v.semicolon = v.max3 = v.label_col3 = v.def;
    v.label_first.label_column = 0;
    v.header1.header = 1;
    v.header0.header = 0;
    v.semicolon.delimiter = ';';
    v.max3.max_classes = 3;
    v.label_col3.label_column = 3;
    return v;
}

static void check_small(const mlp_dataset *ds) {
    assert_int_equal(ds->n, 3);
    assert_int_equal(ds->d, 2);
    assert_non_null(ds->X);
    assert_non_null(ds->labels);
    assert_null(ds->targets);
    assert_int_equal(ds->n_targets, 0);
    assert_int_equal(ds->n_classes, 3);
    const float X[6] = {1.5f, 2.0f, -3.0f, 4e-3f, 5.0f, 6.0f};
    const int32_t y[3] = {0, 2, 1};
    for (int i = 0; i < 6; i++) assert_true(ds->X[i] == X[i]);
    for (int i = 0; i < 3; i++) assert_int_equal(ds->labels[i], y[i]);
}

static void test_defaults(void **state) {
    (void)state;
    mlp_csv_options o = mlp_csv_options_default();
    assert_int_equal(o.header, -1);
    assert_int_equal(o.label_column, -1);
    assert_int_equal(o.regression, 0);
    assert_int_equal(o.delimiter, ',');
    assert_int_equal(o.max_classes, 65536);
    assert_true(o.weight_column == MLP_CSV_NO_COLUMN && !o.weight_column_name);
}

static void test_good_variants(void **state) {
    (void)state;
    const csv_variants v = make_variants();
    const mlp_csv_options *o = &v.def, *first = &v.label_first;
    struct {
        const char *name, *text;
        const mlp_csv_options *opt;
    } cases[] = {
        {"csv_plain.csv", "1.5,2,0\n-3,4e-3,2\n5,6,1\n", o},
        {"csv_noeol.csv", "1.5,2,0\n-3,4e-3,2\n5,6,1", o},
        {"csv_header.csv", "x1,x2,label\n1.5,2,0\n-3,4e-3,2\n5,6,1\n", o},
        {"csv_header_pandas.csv", ",x2,label\n1.5,2,0\n-3,4e-3,2\n5,6,1\n", o},
        {"csv_header_numeric.csv", "1,2,3\n1.5,2,0\n-3,4e-3,2\n5,6,1\n", &v.header1},
        {"csv_header0.csv", "1.5,2,0\n-3,4e-3,2\n5,6,1\n", &v.header0},
        {"csv_first.csv", "0,1.5,2\n2,-3,4e-3\n1,5,6\n", first},
        {"csv_first_header.csv", "label,a,b\n0,1.5,2\n2,-3,4e-3\n1,5,6\n", first},
        {"csv_crlf.csv", "x1,x2,label\r\n1.5,2,0\r\n-3,4e-3,2\r\n5,6,1\r\n", o},
        {"csv_blanks.csv", "\n  \n 1.5 , 2\t,0 \n\r\n-3,  4e-3,2.0\n\n5,6,1\n\n", o},
        {"csv_bom.csv", "\xEF\xBB\xBFx1,x2,y\n1.5,2,0\n-3,4e-3,2\n5,6,1\n", o},
        {"csv_semicolon.csv", "1.5;2;0\n-3;0.004;2\n5;6;1\n", &v.semicolon},
        /* CR line ends (classic Mac OS, Excel for Mac's "CSV (Macintosh)"). */
        {"csv_cr.csv", "x1,x2,label\r1.5,2,0\r-3,4e-3,2\r5,6,1\r", o},
        {"csv_cr_noeol.csv", "1.5,2,0\r\r-3,4e-3,2\r5,6,1", o},
        {"csv_crcrlf.csv", "x1,x2,label\r\r\n1.5,2,0\r\r\n-3,4e-3,2\r\n5,6,1\r\r\n", o},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int gz = 0; gz <= 1; gz++) {
            mlp_dataset ds;
            memset(&ds, 0, sizeof ds);
            mlp_status st = read_text(cases[i].name, cases[i].text, gz, cases[i].opt, &ds);
            if (st != MLP_OK) print_error("%s (gz %d): %s\n", cases[i].name, gz, mlp_last_error());
            assert_int_equal(st, MLP_OK);
            check_small(&ds);
            mlp_dataset_free(&ds);
            assert_null(ds.X);
            assert_int_equal(ds.n, 0);
        }
    }
    /* NULL options mean the defaults. */
    mlp_dataset ds;
    assert_int_equal(read_text("csv_nullopt.csv", "1.5,2,0\n-3,4e-3,2\n5,6,1\n", 0, NULL, &ds),
                     MLP_OK);
    check_small(&ds);
    mlp_dataset_free(&ds);
    mlp_dataset_free(NULL);
}

static void test_regression(void **state) {
    (void)state;
    mlp_csv_options o = mlp_csv_options_default();
    o.regression = 1;
    o.label_column = 1;
    mlp_dataset ds;
    assert_int_equal(read_text("csv_reg.csv", "a,y,b\n1,-2.5,3\n4,1e3,6\n", 1, &o, &ds), MLP_OK);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 2);
    assert_null(ds.labels);
    assert_int_equal(ds.n_classes, 0);
    assert_non_null(ds.targets);
    assert_int_equal(ds.n_targets, 1);
    assert_true(ds.targets[0] == -2.5f && ds.targets[1] == 1000.0f);
    assert_true(ds.X[0] == 1.0f && ds.X[1] == 3.0f && ds.X[2] == 4.0f && ds.X[3] == 6.0f);
    mlp_dataset_free(&ds);
}

/* Many rows and a wide row: geometric growth of rows, line and field buffers. */
static void test_large(void **state) {
    (void)state;
    const size_t n = 5000, d = 300;
    size_t cap = n * (d + 1) * 12 + 1;
    char *text = malloc(cap), *p = text;
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) p += sprintf(p, "%zu.25,", (i * 7 + j) % 1000);
        p += sprintf(p, "%zu\n", i % 7);
    }
    mlp_dataset ds;
    for (int gz = 0; gz <= 1; gz++) {
        assert_int_equal(read_text("csv_large.csv", text, gz, NULL, &ds), MLP_OK);
        assert_int_equal(ds.n, n);
        assert_int_equal(ds.d, d);
        assert_int_equal(ds.n_classes, 7);
        for (size_t i = 0; i < n; i += 97) {
            for (size_t j = 0; j < d; j += 13)
                assert_true(ds.X[i * d + j] == (float)((i * 7 + j) % 1000) + 0.25f);
            assert_int_equal(ds.labels[i], (int32_t)(i % 7));
        }
        mlp_dataset_free(&ds);
    }
    free(text);
}

static void test_malformed(void **state) {
    (void)state;
    const csv_variants v = make_variants();
    const mlp_csv_options *o = &v.def;
    /* Every case is a format error whose message contains needle. */
    struct {
        const char *name, *text;
        const mlp_csv_options *opt;
        const char *needle;
    } cases[] = {
        {"csv_ragged_short.csv", "a,b,c\n1,2,0\n3,4,1\n5,6\n", o, "csv_ragged_short.csv:4:3:"},
        {"csv_ragged_long.csv", "1,2,0\n3,4,1,7\n", o, "csv_ragged_long.csv:2:4:"},
        {"csv_text.csv", "1,2,0\n3,abc,1\n", o, "csv_text.csv:2:2: 'abc' is not a number"},
        {"csv_trailing_text.csv", "1,2,0\n3,4x,1\n", o, "csv_trailing_text.csv:2:2:"},
        {"csv_two_numbers.csv", "1,2,0\n3,4 5,1\n", o, "csv_two_numbers.csv:2:2:"},
        {"csv_nan.csv", "1,2,0\n3,NaN,1\n", o, "csv_nan.csv:2:2: 'NaN' is not a finite number"},
        {"csv_nan_first.csv", "nan,2,0\n3,4,1\n", o, "csv_nan_first.csv:1:1:"},
        {"csv_inf.csv", "h1,h2,h3\n1,2,0\n3,-inf,1\n", o, "csv_inf.csv:3:2:"},
        {"csv_infinity.csv", "1,Infinity,0\n", o, "csv_infinity.csv:1:2:"},
        {"csv_huge.csv", "1,2,0\n1e999,2,0\n", o, "csv_huge.csv:2:1:"},
        {"csv_float_range.csv", "1,2,0\n1e39,2,0\n", o, "csv_float_range.csv:2:1:"},
        {"csv_empty_field.csv", "1,2,0\n3,,1\n", o, "csv_empty_field.csv:2:2: empty field"},
        {"csv_empty.csv", "", o, "csv_empty.csv:1:1:"},
        {"csv_blank.csv", "\n \r\n\n", o, "no data rows"},
        {"csv_only_header.csv", "a,b,label\n", o,
         "csv_only_header.csv:2:1: no data rows after the header"},
        {"csv_one_column.csv", "1\n2\n", o, "csv_one_column.csv:1:1:"},
        {"csv_header_mismatch.csv", "a,b\n1,2,0\n", o, "csv_header_mismatch.csv:1:3:"},
        /* Labels. */
        {"csv_label_frac.csv", "1,2,0\n3,4,1.5\n", o,
         "csv_label_frac.csv:2:3: label '1.5' is not an integer"},
        {"csv_label_big.csv", "1,2,0\n3,4,1e16\n", o,
         "csv_label_big.csv:2:3: label '1e16' is too large"},
        {"csv_label_nan.csv", "1,2,0\n3,4,nan\n", o,
         "csv_label_nan.csv:2:3: 'nan' is not a finite"},
        {"csv_label_empty.csv", "1,2,a\n3,4,\n", o, "csv_label_empty.csv:2:3: empty field"},
        {"csv_label_max.csv", "1,2,0\n1,2,1\n1,2,2\n3,4,-3\n", &v.max3,
         "csv_label_max.csv: 4 distinct class labels, more than max_classes (3)"},
        {"csv_label_col.csv", "x,y,z\n1,2,0\n", &v.label_col3,
         "csv_label_col.csv:2:4: label column 3"},
        /* Hexadecimal is not read (strtod would read it): numbers are decimal. */
        {"csv_hex.csv", "0x1.8p0,2,0\n-3,4e-3,2\n5,6,1\n", o,
         "csv_hex.csv:1:1: '0x1.8p0' is not a number: hexadecimal"},
        {"csv_hex_row.csv", "1,2,0\n0x10,4,1\n", o, "csv_hex_row.csv:2:1: '0x10' is not a number"},
        /* Explicitly no header: a text first row is an error, not skipped. */
        {"csv_header0_text.csv", "a,b,c\n1,2,0\n", &v.header0,
         "csv_header0_text.csv:1:1: 'a' is not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_bad(cases[i].name, cases[i].text, cases[i].opt, MLP_ERR_FORMAT, cases[i].needle);
    /* A NUL byte in a field. */
    char path[DT_PATH_MAX];
    mlp_dataset ds;
    dt_poison(&ds);
    dt_write(path, "csv_nul.csv", "1,2,0\n3,4\0,1\n", 13, 0);
    dt_expect(mlp_read_csv(path, o, &ds), MLP_ERR_FORMAT, "csv_nul.csv:2:2:");
    assert_true(dt_is_poisoned(&ds));
}

/* A first row is a header for its text, never for numbers written in another notation: those
 * are errors naming the field, in the first row as in any other (they were taken as header
 * names, and the row silently dropped). */
static void test_foreign_numbers(void **state) {
    (void)state;
    mlp_csv_options o = mlp_csv_options_default(), semi = o;
    semi.delimiter = ';';
    struct {
        const char *name, *text;
        const mlp_csv_options *opt;
        const char *needle;
    } cases[] = {
        {"nf_minus.csv",
         "\xE2\x88\x92"
         "0.1,2,0\n1,2,1\n",
         &o,
         "nf_minus.csv:1:1: '\xE2\x88\x92"
         "0.1' is not a number: a Unicode minus sign (U+2212)"},
        {"nf_minus_exp.csv",
         "1,2e\xE2\x88\x92"
         "5,0\n1,2,1\n",
         &o, "nf_minus_exp.csv:1:2:"},
        {"nf_dash.csv",
         "1,2,0\n\xE2\x80\x93"
         "3,4,1\n",
         &o, "nf_dash.csv:2:1:"},
        {"nf_under.csv", "1_000,2,0\n1,2,1\n", &o,
         "nf_under.csv:1:1: '1_000' is not a number: digits grouped with '_'"},
        {"nf_hex_hdr.csv", "x,0x10,label\n1,2,0\n", &o,
         "nf_hex_hdr.csv:1:2: '0x10' is not a number: hexadecimal"},
        {"nf_comma.csv", "1,5;2;0\n1;2;1\n", &semi,
         "nf_comma.csv:1:1: '1,5' is not a number: a decimal comma"},
        {"nf_label.csv",
         "1,2,\xE2\x88\x92"
         "1\n1,2,1\n",
         &o, "nf_label.csv:1:3:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_bad(cases[i].name, cases[i].text, cases[i].opt, MLP_ERR_FORMAT, cases[i].needle);
    /* Names are still names: a header with '_', '-' and digits in it. */
    mlp_dataset ds;
    TU_ASSERT_OK(
        read_text("nf_names.csv", "x_1,x-2,label_3\n1.5,2,0\n-3,4e-3,2\n5,6,1\n", 0, &o, &ds));
    check_small(&ds);
    mlp_dataset_free(&ds);
}

/* Bytes that text does not hold: an error saying the file does not look like text, at the line
 * and column of the first one (a NUL used to cut the field short: "'0.' is not a number"). */
static void test_binary(void **state) {
    (void)state;
    char path[DT_PATH_MAX];
    mlp_dataset ds;
    dt_poison(&ds);
    dt_write(path, "bin_nul.csv",
             "1,2,0\n0.\0"
             "2,4,1\n",
             13, 0);
    dt_expect(mlp_read_csv(path, NULL, &ds), MLP_ERR_FORMAT,
              "bin_nul.csv:2:1: NUL byte: the file does not look like text");
    unsigned char junk[600];
    uint64_t x = 99;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        junk[i] = (unsigned char)(x >> 56);
    }
    junk[0] = '7'; /* not gzip's magic */
    for (int gz = 0; gz <= 1; gz++) {
        dt_write(path, "bin_junk.csv", junk, sizeof junk, gz);
        dt_expect(mlp_read_csv(path, NULL, &ds), MLP_ERR_FORMAT, "does not look like text");
    }
    dt_write(path, "bin_esc.csv", "1,2,0\n3,\x1b[1m4,1\n", 16, 0);
    dt_expect(mlp_read_csv(path, NULL, &ds), MLP_ERR_FORMAT,
              "bin_esc.csv:2:2: control character 0x1b: the file does not look like text");
    assert_true(dt_is_poisoned(&ds));
}

/* CR line ends: rows and line numbers as with LF (they were one line: "no data rows after the
 * header"). */
static void test_cr_lines(void **state) {
    (void)state;
    const mlp_csv_options o = mlp_csv_options_default();
    expect_bad("cr_lines.csv", "a,b,c\r1,2,0\r\r3,x,1\r", &o, MLP_ERR_FORMAT,
               "cr_lines.csv:4:2: 'x' is not a number");
    expect_bad("cr_quoted.csv", "1,2,\"a\rb\"\r3,x,b\r", &o, MLP_ERR_FORMAT,
               "cr_quoted.csv:3:2: 'x'");
    mlp_dataset ds;
    TU_ASSERT_OK(read_text("cr_qlabel.csv", "1,2,\"a\rb\"\r3,4,b\r", 1, &o, &ds));
    assert_int_equal(ds.n, 2);
    assert_string_equal(ds.classes.names[0], "a\rb");
    mlp_dataset_free(&ds);
}

/* A weight column: read into ds.weights, not a feature; by index (from either end) or by header
 * name; with class labels or targets. */
static void test_weight_column(void **state) {
    (void)state;
    mlp_csv_options o = mlp_csv_options_default();
    o.weight_column = 1;
    mlp_dataset ds;
    for (int gz = 0; gz <= 1; gz++) {
        TU_ASSERT_OK(read_text("w_index.csv", "1.5,0.5,2,0\n-3,2,4e-3,2\n5,-0,6,1\n", gz, &o, &ds));
        check_small(&ds);
        assert_non_null(ds.weights);
        assert_true(ds.weights[0] == 0.5f && ds.weights[1] == 2.0f && ds.weights[2] == 0.0f);
        assert_false(signbit(ds.weights[2])); /* -0 is read as 0 */
        mlp_dataset_free(&ds);
        assert_null(ds.weights);
    }
    /* By name (quoted in the header), the label first, regression with two targets. */
    mlp_csv_options n = mlp_csv_options_default();
    const long targets[] = {0, -1};
    n.weight_column_name = "w";
    n.regression = 1;
    n.label_columns = targets;
    n.n_label_columns = 2;
    TU_ASSERT_OK(read_text("w_name.csv", "y1,a,\"w\",b,y2\n1,2,3,4,5\n6,7,8,9,10\n", 1, &n, &ds));
    assert_true(ds.n == 2 && ds.d == 2 && ds.n_targets == 2);
    assert_true(ds.X[0] == 2.0f && ds.X[1] == 4.0f && ds.targets[3] == 10.0f);
    assert_true(ds.weights[0] == 3.0f && ds.weights[1] == 8.0f);
    mlp_dataset_free(&ds);
    /* From the end; a header told by the text in the weight column; explicit header. */
    o.weight_column = -2;
    TU_ASSERT_OK(
        read_text("w_end.csv", "x1,x2,weight,y\n1.5,2,1,0\n-3,4e-3,1,2\n5,6,1,1\n", 0, &o, &ds));
    check_small(&ds);
    mlp_dataset_free(&ds);
    o.header = 1;
    o.weight_column = MLP_CSV_NO_COLUMN;
    o.weight_column_name = "weight";
    TU_ASSERT_OK(
        read_text("w_hdr1.csv", "x1,x2,weight,y\n1.5,2,1,0\n-3,4e-3,1,2\n5,6,1,1\n", 0, &o, &ds));
    check_small(&ds);
    mlp_dataset_free(&ds);
}

/* A weight column that does not fit the file is an argument error; bad weights are format errors;
 * every one names the file, line and column. */
static void test_weight_column_errors(void **state) {
    (void)state;
    mlp_csv_options o = mlp_csv_options_default(), named = o;
    const char *text = "1,2,0\n3,4,1\n";
    o.weight_column = 7;
    expect_bad("we_range.csv", text, &o, MLP_ERR_ARG,
               "we_range.csv:1:8: the weight column 7 (0-based) is out of range: the row has 3 "
               "columns");
    o.weight_column = 2;
    expect_bad("we_label.csv", text, &o, MLP_ERR_ARG,
               "we_label.csv:1:3: the weight column 2 is the label column");
    o.weight_column = 0;
    expect_bad("we_nofeat.csv", "1,0\n", &o, MLP_ERR_ARG, "no feature column is left");
    expect_bad("we_neg.csv", "1,2,0\n-0.5,4,1\n", &o, MLP_ERR_FORMAT,
               "we_neg.csv:2:1: the weight -0.5 is negative");
    expect_bad("we_text.csv", "1,2,0\nabc,4,1\n", &o, MLP_ERR_FORMAT,
               "we_text.csv:2:1: 'abc' is not a number");
    expect_bad("we_nan.csv", "1,2,0\nnan,4,1\n", &o, MLP_ERR_FORMAT, "we_nan.csv:2:1:");
    named.weight_column_name = "nope";
    expect_bad("we_noname.csv", "a,w,y\n1,2,0\n", &named, MLP_ERR_FORMAT,
               "we_noname.csv:1:1: no column 'nope' in the header");
    expect_bad("we_nohdr.csv", text, &named, MLP_ERR_FORMAT,
               "we_nohdr.csv:1:1: no column 'nope' for the weights: the file has no header");
    named.header = 0;
    expect_bad("we_hdr0.csv", text, &named, MLP_ERR_ARG, "needs a header");
}

/* Reads text with the default options (label last) and checks the classes and the indices. */
static void expect_classes(const char *name, const char *text, mlp_class_kind kind, size_t n_rows,
                           const char *const *names, size_t k, const int32_t *idx) {
    for (int gz = 0; gz <= 1; gz++) {
        mlp_dataset ds;
        mlp_status st = read_text(name, text, gz, NULL, &ds);
        if (st != MLP_OK) print_error("%s: %s\n", name, mlp_last_error());
        assert_int_equal(st, MLP_OK);
        assert_int_equal(ds.n, n_rows);
        assert_int_equal(ds.n_classes, k);
        assert_int_equal(ds.classes.kind, kind);
        assert_int_equal(ds.classes.n, k);
        for (size_t c = 0; c < k; c++) {
            char buf[64];
            assert_int_equal(mlp_classes_name(&ds.classes, c, buf, sizeof buf),
                             (int)strlen(names[c]));
            assert_string_equal(buf, names[c]);
        }
        for (size_t i = 0; i < n_rows; i++) assert_int_equal(ds.labels[i], idx[i]);
        mlp_dataset_free(&ds);
    }
}

/* Class labels as scikit-learn takes them: any integers, or text; classes sorted unique. */
static void test_class_labels(void **state) {
    (void)state;
    const char *const wine[] = {"1", "2", "3"}, *const pm[] = {"-1", "1"};
    const char *const iris[] = {"setosa", "versicolor", "virginica"}, *const mixed[] = {"1", "a"};
    const char *const big[] = {"-7", "0", "1000000"};
    const int32_t i_wine[] = {2, 0, 1, 0}, i_pm[] = {1, 0, 0}, i_iris[] = {0, 2, 1, 0};
    const int32_t i_mixed[] = {0, 1, 0}, i_big[] = {2, 0, 1};
    expect_classes("csv_wine.csv", "1,2,3\n4,5,1\n6,7,2\n8,9,1\n", MLP_CLASSES_NUMBERS, 4, wine, 3,
                   i_wine);
    expect_classes("csv_pm1.csv", "1,2,+1\n3,4,-1\n5,6,-1.0\n", MLP_CLASSES_NUMBERS, 3, pm, 2,
                   i_pm);
    expect_classes("csv_big_labels.csv", "1,2,1000000\n3,4,-7\n5,6,0\n", MLP_CLASSES_NUMBERS, 3,
                   big, 3, i_big);
    expect_classes("csv_iris.csv",
                   "sl,sw,species\n5.1,3.5,setosa\n6.3,3.3, virginica\n6.4,3.2,versicolor\n"
                   "4.9,3,setosa\n",
                   MLP_CLASSES_NAMES, 4, iris, 3, i_iris);
    expect_classes("csv_iris_nohdr.csv",
                   "5.1,3.5,setosa\n6.3,3.3,virginica\n6.4,3.2,versicolor\n4.9,3,setosa\n",
                   MLP_CLASSES_NAMES, 4, iris, 3, i_iris);
    expect_classes("csv_mixed.csv", "1,2,1\n3,4,a\n5,6,1\n", MLP_CLASSES_NAMES, 3, mixed, 2,
                   i_mixed);
    /* A header whose only text is its label column's name, over numeric labels. */
    expect_classes("csv_numhdr.csv", "0,1,class\n4,5,3\n6,7,1\n8,9,2\n1,1,3\n", MLP_CLASSES_NUMBERS,
                   4, wine, 3, (const int32_t[]){2, 0, 1, 2});
}

/* opt.classes: the labels must be among them (a model's classes), never a silent miss. */
static void test_given_classes(void **state) {
    (void)state;
    mlp_classes wine = {0}, iris = {0};
    const double v[] = {3, 1, 2, 1};
    const char *const names[] = {"virginica", "setosa", "versicolor"};
    TU_ASSERT_OK(mlp_classes_encode_numbers(v, 4, &wine, NULL));
    TU_ASSERT_OK(mlp_classes_encode_names(names, 3, &iris, NULL));
    mlp_csv_options o = mlp_csv_options_default();
    o.classes = &wine;
    mlp_dataset ds;
    TU_ASSERT_OK(read_text("csv_given.csv", "1,2,3\n3,4,1.0\n", 0, &o, &ds));
    assert_int_equal(ds.n_classes, 3);
    assert_int_equal(ds.labels[0], 2);
    assert_int_equal(ds.labels[1], 0);
    assert_int_equal(ds.classes.kind, MLP_CLASSES_NUMBERS);
    mlp_dataset_free(&ds);
    expect_bad("csv_given_miss.csv", "1,2,3\n3,4,5\n", &o, MLP_ERR_FORMAT,
               "csv_given_miss.csv:2:3: label '5' is not one of the 3 classes (1 ... 3)");
    expect_bad("csv_given_text.csv", "1,2,3\n3,4,setosa\n", &o, MLP_ERR_FORMAT,
               "csv_given_text.csv:2:3: label 'setosa' is not one of");
    o.classes = &iris;
    TU_ASSERT_OK(read_text("csv_given_iris.csv", "1,2,virginica\n3,4,setosa\n", 1, &o, &ds));
    assert_int_equal(ds.labels[0], 2);
    assert_int_equal(ds.labels[1], 0);
    assert_string_equal(ds.classes.names[1], "versicolor");
    mlp_dataset_free(&ds);
    expect_bad("csv_given_iris_miss.csv", "1,2,virginica\n3,4,Setosa\n", &o, MLP_ERR_FORMAT,
               "csv_given_iris_miss.csv:2:3: label 'Setosa' is not one of the 3 classes (setosa "
               "... virginica)");
    mlp_classes_free(&wine);
    mlp_classes_free(&iris);
}

/* The class-list helpers of data.h. */
static void test_class_helpers(void **state) {
    (void)state;
    mlp_classes c = {0}, d = {0};
    int32_t idx[5];
    const double y[] = {2.5, -1, 2.5, 0.0, -0.0};
    TU_ASSERT_OK(mlp_classes_encode_numbers(y, 5, &c, idx));
    assert_int_equal(c.n, 3);
    assert_true(c.values[0] == -1 && c.values[1] == 0 && c.values[2] == 2.5);
    assert_int_equal(idx[0], 2);
    assert_int_equal(idx[4], 1);
    char buf[8];
    assert_int_equal(mlp_classes_name(&c, 2, buf, sizeof buf), 3);
    assert_string_equal(buf, "2.5");
    assert_int_equal(mlp_classes_name(&c, 3, buf, sizeof buf), -1);
    size_t k = 9;
    assert_true(mlp_classes_find(&c, " -1.0 ", &k) && k == 0);
    assert_false(mlp_classes_find(&c, "7", &k));
    assert_false(mlp_classes_find(&c, "x", &k));
    assert_false(mlp_classes_find(&c, "0x0", &k)); /* decimal only */
    TU_ASSERT_OK(mlp_classes_copy(&c, &d));
    assert_true(d.values != c.values && d.n == 3 && d.values[2] == 2.5);
    mlp_classes_free(&d);
    mlp_classes_free(&c);
    TU_ASSERT_OK(mlp_classes_range(4, &c));
    assert_true(c.kind == MLP_CLASSES_NUMBERS && c.n == 4 && c.values[3] == 3.0);
    mlp_classes_free(&c);
    assert_null(c.values);
    const char *const s[] = {"b", "a", "b", "B"};
    TU_ASSERT_OK(mlp_classes_encode_names(s, 4, &c, idx));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.names[0], "B"); /* byte order */
    assert_int_equal(idx[0], 2);
    assert_true(mlp_classes_find(&c, "a", &k) && k == 1);
    TU_ASSERT_OK(mlp_classes_copy(&c, &d));
    assert_string_equal(d.names[2], "b");
    mlp_classes_free(&d);
    mlp_classes_free(&c);
    /* Errors. */
    const double bad[] = {1, NAN};
    assert_int_equal(mlp_classes_encode_numbers(bad, 2, &c, idx), MLP_ERR_ARG);
    assert_int_equal(mlp_classes_encode_numbers(y, 0, &c, idx), MLP_ERR_ARG);
    assert_int_equal(mlp_classes_encode_names(NULL, 1, &c, idx), MLP_ERR_NULL);
    assert_int_equal(mlp_classes_copy(NULL, &c), MLP_ERR_NULL);
    mlp_classes none = {0};
    assert_int_equal(mlp_classes_name(&none, 7, buf, sizeof buf), 1);
    assert_string_equal(buf, "7");
    mlp_classes_free(NULL);
}

/* Reads text with opt (delimiter detected unless opt says otherwise), expects check_small's data
 * and the delimiter used. */
static void expect_dialect(const char *name, const char *text, mlp_csv_options opt, char want) {
    for (int gz = 0; gz <= 1; gz++) {
        char used = 'x';
        opt.delimiter_used = &used;
        mlp_dataset ds;
        mlp_status st = read_text(name, text, gz, &opt, &ds);
        if (st != MLP_OK) print_error("%s (gz %d): %s\n", name, gz, mlp_last_error());
        assert_int_equal(st, MLP_OK);
        check_small(&ds);
        mlp_dataset_free(&ds);
        if (opt.delimiter == MLP_CSV_DETECT) assert_int_equal(used, want);
    }
}

/* CSV as users bring it: semicolons, tabs, runs of spaces, quotes, comments, skipped lines, count
 * headers, CRLF and a byte order mark; the delimiter detected or given. */
static void test_dialects(void **state) {
    (void)state;
    mlp_csv_options d = mlp_csv_options_default(), ws = d, skip1 = d;
    d.delimiter = MLP_CSV_DETECT;
    ws.delimiter = ' ';
    skip1.delimiter = MLP_CSV_DETECT;
    skip1.skip_rows = 1;
    expect_dialect("d_comma.csv", "1.5,2,0\n-3,4e-3,2\n5,6,1\n", d, ',');
    expect_dialect("d_comma_sp.csv", "x, y, label\n1.5, 2, 0\n-3, 4e-3, 2\n5, 6, 1\n", d, ',');
    expect_dialect("d_semi.csv", "x;y;label\r\n1.5;2;0\r\n-3;4e-3;2\r\n5;6;1\r\n", d, ';');
    expect_dialect("d_tab.csv", "\xEF\xBB\xBFx\ty\tl\n1.5\t2\t0\n-3\t4e-3\t2\n5\t6\t1\n", d, '\t');
    expect_dialect("d_spaces.csv", "  1.5   2  0\n-3 4e-3\t 2 \n\n 5 6    1\n", d, ' ');
    expect_dialect("d_spaces_given.csv", "  1.5   2  0\n-3 4e-3\t 2 \n 5 6    1\n", ws, 'x');
    expect_dialect("d_quotes.csv",
                   "\"x\",\"y, z\",\"l\"\n\"1.5\",2,\"0\"\n-3,\" 4e-3 \",2\n5,6,1\n", d, ',');
    expect_dialect("d_comments.csv", "# made by hand\n1.5,2,0\n  # more\n-3,4e-3,2\n5,6,1\n", d,
                   ',');
    expect_dialect("d_skip.csv", "a line of text; with, all sorts\n1.5;2;0\n-3;4e-3;2\n5;6;1\n",
                   skip1, ';');
    /* Count headers: scikit-learn's "n_samples,n_features,class names", or two numbers. */
    expect_dialect("d_count_hdr.csv", "3,class_0\n1.5,2,0\n-3,4e-3,2\n5,6,1\n", d, ',');
    mlp_dataset ds;
    TU_ASSERT_OK(read_text("d_count_num.csv", "2,4\n1,2,3,0\n4,5,6,1\n", 1, &d, &ds));
    assert_true(ds.n == 2 && ds.d == 3 && ds.X[3] == 4.0f && ds.labels[1] == 1);
    mlp_dataset_free(&ds);
    mlp_csv_options lc3 = d;
    lc3.label_column = 3;
    TU_ASSERT_OK(read_text("d_count_lc.csv", "2,4\n1,2,3,0\n4,5,6,1\n", 0, &lc3, &ds));
    assert_true(ds.n == 2 && ds.d == 3 && ds.labels[0] == 0);
    mlp_dataset_free(&ds);
    /* Quoted labels: the delimiter and line ends inside quotes, "" for a quote. */
    TU_ASSERT_OK(read_text("d_qlabels.csv",
                           "1,2,\"a, \"\"b\"\"\"\n3,4,\"two\nlines\"\n5,6,x\n7,8,y\n", 0, &d, &ds));
    assert_int_equal(ds.n, 4);
    assert_string_equal(ds.classes.names[0], "a, \"b\"");
    assert_string_equal(ds.classes.names[1], "two\nlines");
    assert_int_equal(ds.labels[2], 2);
    mlp_dataset_free(&ds);
    /* Line numbers stay right after a record over two lines. */
    expect_bad("d_qline.csv", "1,2,\"a\nb\"\n3,x,b\n", &d, MLP_ERR_FORMAT, "d_qline.csv:3:2: 'x'");
}

/* Messages that point at the real problem. */
static void test_dialect_errors(void **state) {
    (void)state;
    const mlp_csv_options o = mlp_csv_options_default();
    expect_bad("e_spaces.csv", "48 1 21.6 87.0 183 103.2 70.0 3.0 3.8918\n", &o, MLP_ERR_FORMAT,
               "e_spaces.csv:1:1: only one column; need at least one feature and a label (the "
               "line is one field with whitespace in it: the file is probably "
               "whitespace-separated, not ','-separated");
    expect_bad("e_semi.csv", "1;2;3\n", &o, MLP_ERR_FORMAT,
               "the file is probably ';'-separated, not ','-separated");
    expect_bad("e_long.csv", "1,2,0\n3,abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz,1\n",
               &o, MLP_ERR_FORMAT,
               "e_long.csv:2:2: 'abcdefghijklmnopqrstuvwxyzabcdefghijklmn...' is not");
    expect_bad("e_quote.csv", "1,2,0\n3,\"4,1\n", &o, MLP_ERR_FORMAT,
               "e_quote.csv:2:2: '4,1\n': a quote is not closed");
    expect_bad("e_after.csv", "1,2,0\n3,\"4\"5,1\n", &o, MLP_ERR_FORMAT,
               "e_after.csv:2:2: '4': a quote is not closed, or text follows the closing quote");
    expect_bad("e_hdr.csv", "a,b\n1,2,0\n", &o, MLP_ERR_FORMAT,
               "e_hdr.csv:1:3: the header has 2 fields");
    mlp_csv_options bad = o;
    bad.comment = ',';
    expect_bad("e_opt.csv", "1,2,0\n", &bad, MLP_ERR_ARG, "comment character");
    bad = o;
    bad.delimiter = '"';
    expect_bad("e_opt.csv", "1,2,0\n", &bad, MLP_ERR_ARG, "invalid delimiter");
}

/* Several target columns: regression and multi-label; columns counted from the end. */
static void test_targets(void **state) {
    (void)state;
    const char *text = "a,b,y1,y2,y3\n1,2,0.5,1,-3\n4,5,1.5,0,7\n";
    mlp_csv_options o = mlp_csv_options_default();
    const long mid[] = {2, 3, 4}, back[] = {-1, -3}, twice[] = {4, -1}, all[] = {0, 1, 2, 3, 4};
    o.regression = 1;
    o.label_columns = mid;
    o.n_label_columns = 3;
    mlp_dataset ds;
    TU_ASSERT_OK(read_text("t_reg3.csv", text, 1, &o, &ds));
    assert_true(ds.n == 2 && ds.d == 2 && ds.n_targets == 3 && !ds.labels);
    assert_true(ds.targets[0] == 0.5f && ds.targets[2] == -3.0f && ds.targets[5] == 7.0f);
    assert_true(ds.X[2] == 4.0f && ds.X[3] == 5.0f);
    mlp_dataset_free(&ds);
    o.label_columns = back; /* in the order given: y3, y1 */
    o.n_label_columns = 2;
    TU_ASSERT_OK(read_text("t_back.csv", text, 0, &o, &ds));
    assert_true(ds.d == 3 && ds.n_targets == 2 && ds.targets[0] == -3.0f && ds.targets[1] == 0.5f);
    assert_true(ds.X[2] == 1.0f); /* y2 is a feature */
    mlp_dataset_free(&ds);
    o.label_columns = twice;
    expect_bad("t_twice.csv", text, &o, MLP_ERR_FORMAT, "t_twice.csv:2:5: column 4 is given twice");
    o.label_columns = all;
    o.n_label_columns = 5;
    expect_bad("t_all.csv", "1,2,3,4,5\n", &o, MLP_ERR_FORMAT, "no features");
    /* Multi-label: 0/1 columns. */
    const long two[] = {-2, -1};
    mlp_csv_options m = mlp_csv_options_default();
    m.multilabel = 1;
    m.label_columns = two;
    m.n_label_columns = 2;
    TU_ASSERT_OK(read_text("t_ml.csv", "x,l1,l2\n0.5,1,0\n-1,0,0\n2,1,1\n", 0, &m, &ds));
    assert_true(ds.n == 3 && ds.d == 1 && ds.n_targets == 2 && ds.targets[5] == 1.0f);
    mlp_dataset_free(&ds);
    expect_bad("t_ml_bad.csv", "0.5,1,0\n-1,0,2\n", &m, MLP_ERR_FORMAT,
               "t_ml_bad.csv:2:3: multi-label target '2' is not 0 or 1");
    /* One label column from the end, for classification too. */
    mlp_csv_options c = mlp_csv_options_default();
    c.label_column = -3;
    TU_ASSERT_OK(read_text("t_neg.csv", "7,1,2\n8,3,4\n", 0, &c, &ds));
    assert_true(ds.d == 2 && ds.classes.n == 2 && ds.classes.values[1] == 8.0 && ds.X[0] == 1.0f);
    mlp_dataset_free(&ds);
}

static void test_long_field(void **state) {
    (void)state;
    size_t len = ((size_t)1 << 20) + 10;
    char *text = malloc(len + 20);
    assert_non_null(text);
    strcpy(text, "1,2,0\n3,");
    size_t off = strlen(text);
    memset(text + off, '7', len);
    strcpy(text + off + len, ",1\n");
    expect_bad("csv_long_field.csv", text, NULL, MLP_ERR_FORMAT, "csv_long_field.csv:2:2:");
    /* A file without any newline or delimiter is stopped at the cap too. */
    text[len] = '\0';
    memset(text, '1', len);
    expect_bad("csv_no_newline.csv", text, NULL, MLP_ERR_FORMAT, "csv_no_newline.csv:1:1:");
    free(text);
}

static void test_args_and_io(void **state) {
    (void)state;
    mlp_dataset ds;
    dt_poison(&ds);
    mlp_csv_options o = mlp_csv_options_default();
    char path[DT_PATH_MAX];
    dt_write_str(path, "csv_args.csv", "1,2,0\n", 0);
    dt_expect(mlp_read_csv(NULL, &o, &ds), MLP_ERR_NULL, NULL);
    dt_expect(mlp_read_csv(path, &o, NULL), MLP_ERR_NULL, NULL);
    dt_expect(mlp_read_csv(MLP_TEST_TMPDIR "/csv_does_not_exist.csv", &o, &ds), MLP_ERR_IO,
              "csv_does_not_exist.csv");
    mlp_csv_options bad = o;
    bad.header = 2;
    dt_expect(mlp_read_csv(path, &bad, &ds), MLP_ERR_ARG, "header");
    bad = o;
    bad.label_column = -4; /* from the end: beyond a row of 3 */
    bad.header = 0;        /* (auto would take the narrow line for a count header) */
    dt_expect(mlp_read_csv(path, &bad, &ds), MLP_ERR_FORMAT,
              "label column -4 (0-based, from the end) is out of range: the row has 3 columns");
    bad = o;
    bad.n_label_columns = 2;
    dt_expect(mlp_read_csv(path, &bad, &ds), MLP_ERR_ARG, "label_columns is NULL");
    const long two[] = {0, 1}, dup[] = {1, 1};
    bad.label_columns = two;
    dt_expect(mlp_read_csv(path, &bad, &ds), MLP_ERR_ARG, "2 label columns need regression");
    bad.regression = 1;
    bad.label_columns = dup;
    dt_expect(mlp_read_csv(path, &bad, &ds), MLP_ERR_ARG, "label column 1 given twice");
    bad.multilabel = 1;
    dt_expect(mlp_read_csv(path, &bad, &ds), MLP_ERR_ARG, "not with regression");
    bad = o;
    bad.delimiter = '\n';
    dt_expect(mlp_read_csv(path, &bad, &ds), MLP_ERR_ARG, "delimiter");
    bad = o;
    bad.max_classes = 0;
    dt_expect(mlp_read_csv(path, &bad, &ds), MLP_ERR_ARG, "max_classes");
    bad = o;
    bad.regression = 5;
    dt_expect(mlp_read_csv(path, &bad, &ds), MLP_ERR_ARG, "regression");
    assert_true(dt_is_poisoned(&ds));
}

/* A gzip file cut short, and one with corrupted compressed bytes. */
static void test_bad_gzip(void **state) {
    (void)state;
    char path[DT_PATH_MAX], text[4096];
    size_t k = 0;
    for (int i = 0; i < 200; i++) k += (size_t)sprintf(text + k, "%d,%d,%d\n", i, i * 3, i % 4);
    dt_write(path, "csv_gz_full.csv.gz", text, k, 1);
    size_t len;
    unsigned char *gz = dt_slurp(path, &len);
    assert_true(len > 30);
    mlp_dataset ds;
    dt_poison(&ds);
    dt_write(path, "csv_gz_cut.csv.gz", gz, len / 2, 0);
    dt_expect(mlp_read_csv(path, NULL, &ds), MLP_ERR_FORMAT, "csv_gz_cut.csv.gz");
    assert_true(dt_is_poisoned(&ds));
    for (size_t i = 12; i < len - 8; i++) gz[i] ^= 0x5A;
    dt_write(path, "csv_gz_corrupt.csv.gz", gz, len, 0);
    mlp_status st = mlp_read_csv(path, NULL, &ds);
    assert_true(st == MLP_ERR_FORMAT);
    assert_true(dt_is_poisoned(&ds));
    free(gz);
}

/* Bytes after the gzip data: zlib's gzread drops them silently (text, a lone 0x1f, zero padding);
 * the reader refuses them. Concatenated members (gzip allows them, cat a.gz b.gz) are read. */
static void test_gzip_trailing(void **state) {
    (void)state;
    char path[DT_PATH_MAX];
    dt_write_str(path, "csv_gz_one.csv.gz", "1,2,0\n3,4,1\n", 1);
    size_t len;
    unsigned char *gz = dt_slurp(path, &len);
    static const struct {
        const char *name, *tail;
        size_t len;
    } tails[] = {
        {"csv_gz_garbage.csv.gz", "garbage!!", 9},
        {"csv_gz_lone1f.csv.gz", "\x1f", 1},
        {"csv_gz_zeros.csv.gz", "\0\0\0\0\0\0\0\0", 8},
    };
    unsigned char *buf = malloc(2 * len + 16);
    assert_non_null(buf);
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        memcpy(buf, gz, len);
        memcpy(buf + len, tails[i].tail, tails[i].len);
        dt_write(path, tails[i].name, buf, len + tails[i].len, 0);
        mlp_dataset ds;
        dt_poison(&ds);
        char want[128];
        snprintf(want, sizeof want, "trailing garbage after the gzip data: byte %zu", len);
        dt_expect(mlp_read_csv(path, NULL, &ds), MLP_ERR_FORMAT, want);
        assert_true(dt_is_poisoned(&ds));
    }
    memcpy(buf, gz, len);
    memcpy(buf + len, gz, len);
    dt_write(path, "csv_gz_two.csv.gz", buf, 2 * len, 0);
    mlp_dataset ds;
    TU_ASSERT_OK(mlp_read_csv(path, NULL, &ds));
    assert_int_equal(ds.n, 4);
    assert_true(ds.X[6] == 3.0f && ds.labels[3] == 1);
    mlp_dataset_free(&ds);
    free(buf);
    free(gz);
}

static void test_digits(void **state) {
    (void)state;
    mlp_dataset ds;
    TU_ASSERT_OK(mlp_read_csv(MLP_SOURCE_DIR "/data/digits.csv.gz", NULL, &ds));
    assert_int_equal(ds.n, 1797);
    assert_int_equal(ds.d, 64);
    assert_int_equal(ds.n_classes, 10);
    assert_null(ds.targets);
    size_t counts[10] = {0};
    for (size_t i = 0; i < ds.n * ds.d; i++) {
        assert_true(ds.X[i] >= 0.0f && ds.X[i] <= 16.0f);
        assert_true(ds.X[i] == floorf(ds.X[i]));
    }
    for (size_t i = 0; i < ds.n; i++) {
        assert_true(ds.labels[i] >= 0 && ds.labels[i] < 10);
        counts[ds.labels[i]]++;
    }
    for (int c = 0; c < 10; c++) assert_true(counts[c] >= 170 && counts[c] <= 190);
    /* First row of the file: 0,0,5,13,9,1,0,0,... label 0. */
    assert_true(ds.X[2] == 5.0f && ds.X[3] == 13.0f && ds.X[4] == 9.0f);
    assert_int_equal(ds.labels[0], 0);
    mlp_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_good_variants),
        cmocka_unit_test(test_regression),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_long_field),
        cmocka_unit_test(test_args_and_io),
        cmocka_unit_test(test_bad_gzip),
        cmocka_unit_test(test_digits),
        cmocka_unit_test(test_class_labels),
        cmocka_unit_test(test_given_classes),
        cmocka_unit_test(test_class_helpers),
        cmocka_unit_test(test_dialects),
        cmocka_unit_test(test_dialect_errors),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_gzip_trailing),
        cmocka_unit_test(test_foreign_numbers),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_cr_lines),
        cmocka_unit_test(test_weight_column),
        cmocka_unit_test(test_weight_column_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
