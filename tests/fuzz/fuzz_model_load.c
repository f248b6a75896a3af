/* Fuzz target: mlp_model_load on arbitrary bytes.
 *
 * Each input is loaded twice: as given (so the magic, version and checksum checks are fuzzed) and,
 * if its last 4 bytes are not already the right CRC-32, with the CRC patched in (so the fuzzer gets
 * past the checksum into the header and size validation, which a random mutation otherwise never
 * reaches). Invariants checked:
 *  - failure: *net is NULL, the scaler is untouched, a message is recorded;
 *  - success: the net, scaler and class list are consistent, a prediction runs, and saving the
 *    loaded model reproduces the input byte for byte (the format has one encoding per model): a
 *    version 4 file with its class list (or, for a classifier stored without one, without it); an
 *    older file as the same bytes in version 4, with the sections it lacked added before the CRC
 *    (version 1: an empty class section; versions 1 and 2: a dropout section of zeros; versions
 *    1 to 3: a loss section of +0.0). */
#include "fuzz_util.h"

#include "mlp/fit.h"
#include "mlp/model.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>

static fz_file g_file;
static char g_save_dir[200], g_save_path[256];

static void cleanup(void) {
    unlink(g_save_path);
    rmdir(g_save_dir);
}

static void setup(void) {
    if (g_save_path[0]) return;
    fz_file_init(&g_file, "model");
    openblas_set_num_threads(1);
    /* Saves go to a private directory, on tmpfs when there is one (fsync is then free). */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_save_dir, sizeof g_save_dir, "%s/mlp-fuzz-model-XXXXXX", base);
    if (!mkdtemp(g_save_dir)) abort();
    snprintf(g_save_path, sizeof g_save_path, "%s/m.mlp", g_save_dir);
    atexit(cleanup);
}

static unsigned char *read_back(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    FZ_CHECK(f != NULL);
    struct stat sb;
    FZ_CHECK(fstat(fileno(f), &sb) == 0);
    unsigned char *b = malloc((size_t)sb.st_size + 1);
    FZ_CHECK(b != NULL);
    FZ_CHECK(fread(b, 1, (size_t)sb.st_size, f) == (size_t)sb.st_size);
    fclose(f);
    *len = (size_t)sb.st_size;
    return b;
}

/* The class list fits the net: a classifier's K classes, sorted; none for other nets. */
static void check_classes(const mlp_net *net, const mlp_classes *c) {
    mlp_task task;
    size_t k = 0;
    FZ_CHECK(mlp_task_of_net(net, &task, &k) == MLP_OK);
    if (task != MLP_TASK_CLASSIFY) {
        FZ_CHECK(c->kind == MLP_CLASSES_NONE && c->n == 0);
        return;
    }
    FZ_CHECK(c->n == k && (c->kind == MLP_CLASSES_NUMBERS || c->kind == MLP_CLASSES_NAMES));
    for (size_t i = 1; i < c->n; i++)
        FZ_CHECK(c->kind == MLP_CLASSES_NUMBERS ? c->values[i] > c->values[i - 1]
                                                : strcmp(c->names[i], c->names[i - 1]) > 0);
}

/* Whether back (a version 4 save) is data (a file of the given version over L layers) as the
 * top of the file says. */
static int same_model(const unsigned char *back, size_t len, const uint8_t *data, size_t size,
                      uint32_t version, size_t L) {
    if (version == 4) return len == size && memcmp(back, data, size) == 0;
    const size_t extra = 4 + (version <= 2 ? 4 * L : 0) + (version == 1 ? 12 : 0);
    return version >= 1 && version <= 3 && len == size + extra && back[8] == 4 &&
           memcmp(back + 12, data + 12, size - 16) == 0;
}

/* Saving gives back the input (see the top of the file). */
static void check_saved(mlp_net *net, const mlp_scaler *sc, const mlp_classes *classes,
                        const uint8_t *data, size_t size) {
    const uint32_t version = (uint32_t)data[8] | (uint32_t)data[9] << 8;
    const size_t L = mlp_net_n_layers(net);
    size_t len;
    FZ_CHECK(mlp_model_save_classes(g_save_path, net, sc, classes) == MLP_OK);
    unsigned char *back = read_back(g_save_path, &len);
    int same = same_model(back, len, data, size, version, L);
    free(back);
    if (same) return;
    FZ_CHECK(mlp_model_save(g_save_path, net, sc) == MLP_OK); /* no list stored */
    back = read_back(g_save_path, &len);
    FZ_CHECK(same_model(back, len, data, size, version, L));
    free(back);
}

static void check_loaded(mlp_net *net, const mlp_scaler *sc, const mlp_classes *classes,
                         const uint8_t *data, size_t size) {
    size_t L = mlp_net_n_layers(net);
    FZ_CHECK(L >= 1);
    size_t count = 0, prev_out = 0;
    for (size_t l = 0; l < L; l++) {
        size_t in, out;
        mlp_activation a;
        FZ_CHECK(mlp_net_layer_shape(net, l, &in, &out, &a) == MLP_OK);
        FZ_CHECK(in >= 1 && out >= 1 && (unsigned)a < MLP_ACT_COUNT);
        FZ_CHECK(l == 0 || in == prev_out);
        prev_out = out;
        count += in * out + out;
    }
    FZ_CHECK(count == mlp_net_param_count(net));
    size_t d = mlp_net_input_size(net), k = mlp_net_output_size(net);
    if (sc->kind == MLP_SCALE_NONE) {
        FZ_CHECK(sc->d == 0 && sc->offset == NULL && sc->scale == NULL);
    } else {
        FZ_CHECK(sc->kind == MLP_SCALE_STANDARD || sc->kind == MLP_SCALE_MINMAX);
        FZ_CHECK(sc->d == d && sc->offset && sc->scale);
        for (size_t j = 0; j < d; j++)
            FZ_CHECK(isfinite(sc->offset[j]) && isfinite(sc->scale[j]) && sc->scale[j] != 0.0f);
    }

    /* One prediction (the file length bounds the sizes, so this stays small). */
    float *x = calloc(d, sizeof *x), *p = calloc(k, sizeof *p);
    FZ_CHECK(x && p);
    FZ_CHECK(mlp_predict(net, x, 1, p) == MLP_OK);
    free(x);
    free(p);

    check_saved(net, sc, classes, data, size);
}

static void load_once(const uint8_t *data, size_t size) {
    fz_file_set(&g_file, data, size);
    mlp_net *net = (mlp_net *)(uintptr_t)1;
    float sentinel = 0.0f;
    mlp_scaler sc = {MLP_SCALE_MINMAX, 7, &sentinel, &sentinel};
    mlp_classes classes = {0};
    mlp_status st = mlp_model_load_classes(g_file.path, &net, &sc, &classes);
    if (st != MLP_OK) {
        FZ_CHECK(net == NULL);
        FZ_CHECK(sc.kind == MLP_SCALE_MINMAX && sc.d == 7 && sc.offset == &sentinel &&
                 sc.scale == &sentinel);
        FZ_CHECK(st == MLP_ERR_FORMAT || st == MLP_ERR_IO || st == MLP_ERR_NOMEM ||
                 st == MLP_ERR_LIMIT);
        FZ_CHECK(mlp_last_error()[0] != '\0');
        return;
    }
    FZ_CHECK(net != NULL);
    check_classes(net, &classes);
    check_loaded(net, &sc, &classes, data, size);
    mlp_classes_free(&classes);
    mlp_scaler_free(&sc);
    mlp_net_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    load_once(data, size);
    if (size < 4) return 0;
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)(size - 4));
    unsigned char want[4] = {(unsigned char)crc, (unsigned char)(crc >> 8),
                             (unsigned char)(crc >> 16), (unsigned char)(crc >> 24)};
    if (memcmp(data + size - 4, want, 4) == 0) return 0;
    unsigned char *fixed = malloc(size);
    FZ_CHECK(fixed != NULL);
    memcpy(fixed, data, size - 4);
    memcpy(fixed + size - 4, want, 4);
    load_once(fixed, size);
    free(fixed);
    return 0;
}
