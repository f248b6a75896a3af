/* Fuzz target: mlp_read_idx on an arbitrary pair of files, plain or gzip.
 *
 * Input layout: byte 0 flags (bit 0: gzip-compress the images file, bit 1: the labels file),
 * bytes 1-2 the length of the images file (little-endian, clipped to what is there), then the
 * images file, then the labels file. A flag off with content starting 1f 8b still reaches zlib's
 * own parsing (raw, possibly corrupt gzip streams).
 * Invariants: on failure *out is untouched and a message is recorded; on success the dataset is
 * consistent (pixels are integers 0..255, labels in [0, n_classes), n_classes = max label + 1). */
#include "fuzz_util.h"

#include "mlp/data.h"

static fz_file g_images, g_labels;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_file_init(&g_images, "images");
    fz_file_init(&g_labels, "labels");
    if (size < 3) return 0;
    int gz_images = data[0] & 1, gz_labels = (data[0] >> 1) & 1;
    size_t n_images = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    if (n_images > size) n_images = size;
    fz_file_set_maybe_gz(&g_images, data, n_images, gz_images);
    fz_file_set_maybe_gz(&g_labels, data + n_images, size - n_images, gz_labels);

    mlp_dataset ds;
    fz_poison(&ds);
    if (fz_read_failed(mlp_read_idx(g_images.path, g_labels.path, &ds), &ds, MLP_ERR_SHAPE))
        return 0;
    FZ_CHECK(ds.n >= 1 && ds.d >= 1 && ds.X && ds.labels && !ds.targets && ds.n_targets == 0);
    for (size_t i = 0; i < ds.n * ds.d; i++) {
        float v = ds.X[i];
        FZ_CHECK(v >= 0.0f && v <= 255.0f && v == (float)(int)v);
    }
    int32_t mx = 0;
    for (size_t i = 0; i < ds.n; i++) {
        FZ_CHECK(ds.labels[i] >= 0 && ds.labels[i] <= 255);
        if (ds.labels[i] > mx) mx = ds.labels[i];
    }
    FZ_CHECK(ds.n_classes == (size_t)mx + 1);
    mlp_dataset_free(&ds);
    return 0;
}
