/* Fuzz target: mlp_read_csv on arbitrary content and options.
 *
 * Input layout: byte 0 and byte 1 choose the options, the rest is the file's content.
 *   byte 0: bits 0-1 header (0: auto, 1: no, 2: yes, 3: the invalid value 2)
 *           bit 2 regression, bit 3 gzip-compress the content before writing it,
 *           bits 4-6 delimiter (',' ';' '\t' ' ' '|', detected, and the invalid '7', '\n'),
 *           bit 7 label column from byte 1 (else the last column)
 *   byte 1: bits 0-3 label column (with bit 7 of byte 0; 15 means the invalid -2),
 *           bits 4-7 max_classes (0: the default 65536, else 1 << (n - 1))
 * Invariants: on failure *out is untouched and a message is recorded; on success the dataset is
 * consistent (n, d >= 1, finite features, labels in range or finite targets, a sorted class list
 * of n_classes entries, the delimiter used reported).
 * The same content is then read again with a weight column (0, -1, -2 or -3 by bits 4-5 of byte
 * 1): on success every weight is finite and >= 0 (never -0), and when both reads succeed the rows
 * are the same and the features one fewer. */
#include "fuzz_util.h"

#include "mlp/data.h"

#include <math.h>

static fz_file g_file;

static void check_dataset(const mlp_dataset *ds, const mlp_csv_options *o) {
    FZ_CHECK(ds->n >= 1 && ds->d >= 1 && ds->X != NULL);
    for (size_t i = 0; i < ds->n * ds->d; i++) FZ_CHECK(isfinite(ds->X[i]));
    if (o->regression) {
        FZ_CHECK(ds->labels == NULL && ds->targets != NULL && ds->n_targets == 1);
        FZ_CHECK(ds->n_classes == 0);
        for (size_t i = 0; i < ds->n; i++) FZ_CHECK(isfinite(ds->targets[i]));
    } else {
        FZ_CHECK(ds->targets == NULL && ds->labels != NULL && ds->n_targets == 0);
        FZ_CHECK(ds->n_classes >= 1 && ds->n_classes <= (size_t)o->max_classes);
        int32_t mx = 0;
        for (size_t i = 0; i < ds->n; i++) {
            FZ_CHECK(ds->labels[i] >= 0 && (size_t)ds->labels[i] < ds->n_classes);
            if (ds->labels[i] > mx) mx = ds->labels[i];
        }
        FZ_CHECK((size_t)mx + 1 == ds->n_classes);
        const mlp_classes *c = &ds->classes;
        FZ_CHECK(c->n == ds->n_classes);
        for (size_t i = 1; i < c->n; i++)
            FZ_CHECK(c->kind == MLP_CLASSES_NUMBERS ? c->values[i] > c->values[i - 1]
                                                    : strcmp(c->names[i], c->names[i - 1]) > 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char delims[8] = {',', ';', '\t', ' ', '|', MLP_CSV_DETECT, '7', '\n'};
    static const int headers[4] = {-1, 0, 1, 2};
    fz_file_init(&g_file, "csv");
    if (size < 2) return 0;
    mlp_csv_options o = mlp_csv_options_default();
    o.header = headers[data[0] & 3];
    o.regression = (data[0] >> 2) & 1;
    int gz = (data[0] >> 3) & 1;
    o.delimiter = delims[(data[0] >> 4) & 7];
    if (data[0] & 0x80) o.label_column = (data[1] & 15) == 15 ? -2 : (long)(data[1] & 15);
    if (data[1] >> 4) o.max_classes = (int32_t)1 << ((data[1] >> 4) - 1);
    fz_file_set_maybe_gz(&g_file, data + 2, size - 2, gz);
    char used = 'x';
    o.delimiter_used = &used;

    mlp_dataset ds, wds;
    fz_poison(&ds);
    const int plain_ok = !fz_read_failed(mlp_read_csv(g_file.path, &o, &ds), &ds, MLP_ERR_ARG);
    if (plain_ok) {
        check_dataset(&ds, &o);
        FZ_CHECK(o.delimiter == MLP_CSV_DETECT ? strchr(",;\t ", used) != NULL
                                               : used == o.delimiter);
        FZ_CHECK(ds.weights == NULL);
    }
    o.weight_column = -(long)((data[1] >> 4) & 3);
    fz_poison(&wds);
    if (!fz_read_failed(mlp_read_csv(g_file.path, &o, &wds), &wds, MLP_ERR_ARG)) {
        check_dataset(&wds, &o);
        FZ_CHECK(wds.weights != NULL);
        for (size_t i = 0; i < wds.n; i++)
            FZ_CHECK(isfinite(wds.weights[i]) && wds.weights[i] >= 0.0f &&
                     !signbit(wds.weights[i]));
        if (plain_ok) FZ_CHECK(wds.n == ds.n && wds.d + 1 == ds.d);
        mlp_dataset_free(&wds);
    }
    if (plain_ok) mlp_dataset_free(&ds);
    return 0;
}
