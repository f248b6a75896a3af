/* Writes the fuzz targets' seed corpora: small valid inputs of each format, in each target's input
 * layout (see the comment at the top of each fuzz_*.c). Usage: gen_corpus OUTDIR; creates
 * OUTDIR/{model_load,csv,idx,cli}/. Run by the build (the "corpus" target). */
#define _GNU_SOURCE

#include "../test_util.h"
#include "mlp/data.h"
#include "mlp/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *g_out;

static void make_dir(const char *sub) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", g_out, sub);
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        perror(p);
        exit(1);
    }
}

static void write_file(const char *sub, const char *name, const void *data, size_t len) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s/%s", g_out, sub, name);
    FILE *f = fopen(p, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(p);
        exit(1);
    }
}

/* ---- models ---- */
static const mlp_classes *g_classes; /* the class list model_seed stores (NULL: none) */

static void model_seed(const char *name, size_t L, const size_t *sizes, const mlp_activation *acts,
                       mlp_loss loss, mlp_init init, mlp_optimizer_kind kind, mlp_scale_kind sk) {
    mlp_net_config cfg = {L, sizes, acts, loss, init, 1234};
    mlp_net *net = NULL;
    if (mlp_net_create(&net, &cfg) != MLP_OK) {
        fprintf(stderr, "%s: %s\n", name, mlp_last_error());
        exit(1);
    }
    mlp_optimizer o = mlp_optimizer_default(kind);
    o.lr = 0.05f;
    mlp_net_set_optimizer(net, &o);
    /* Dropout on the deep seed's hidden layers (format version 3 stores it). */
    for (size_t l = 0; L > 2 && l + 1 < L; l++)
        mlp_net_set_dropout(net, l, 0.125f * (float)(l % 3));
    /* Two steps so that the optimizer moments are not all zero. */
    size_t d = sizes[0], k = sizes[L], n = 4;
    float *X = calloc(n * d, sizeof *X), *Y = calloc(n * k, sizeof *Y);
    for (size_t i = 0; i < n * d; i++) X[i] = (float)((i * 7) % 5) - 2.0f;
    for (size_t i = 0; i < n; i++) Y[i * k + i % k] = 1.0f;
    for (int s = 0; s < 2; s++) mlp_train_step(net, X, Y, n, NULL);
    mlp_scaler sc = {0};
    if (sk != MLP_SCALE_NONE) mlp_scaler_fit(&sc, sk, X, n, d);
    char p[4096];
    snprintf(p, sizeof p, "%s/model_load/%s", g_out, name);
    if (mlp_model_save_classes(p, net, sk != MLP_SCALE_NONE ? &sc : NULL, g_classes) != MLP_OK) {
        fprintf(stderr, "%s: %s\n", name, mlp_last_error());
        exit(1);
    }
    mlp_scaler_free(&sc);
    mlp_net_free(net);
    free(X);
    free(Y);
}

static void model_seeds(void) {
    make_dir("model_load");
    {
        size_t s[] = {3, 4, 2};
        mlp_activation a[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
        model_seed("adam_softmax.mlp", 2, s, a, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, MLP_OPT_ADAM,
                   MLP_SCALE_NONE);
    }
    {
        size_t s[] = {2, 3, 3, 1};
        mlp_activation a[] = {MLP_ACT_TANH, MLP_ACT_GELU, MLP_ACT_IDENTITY};
        model_seed("sgd_regress_standard.mlp", 3, s, a, MLP_LOSS_SQUARED, MLP_INIT_HE, MLP_OPT_SGD,
                   MLP_SCALE_STANDARD);
    }
    {
        size_t s[] = {3, 2, 2};
        mlp_activation a[] = {MLP_ACT_LEAKY_RELU, MLP_ACT_LOGISTIC};
        model_seed("logistic_minmax.mlp", 2, s, a, MLP_LOSS_LOGISTIC, MLP_INIT_GLOROT, MLP_OPT_SGD,
                   MLP_SCALE_MINMAX);
    }
    {
        size_t s[] = {1, 1};
        mlp_activation a[] = {MLP_ACT_IDENTITY};
        model_seed("linear.mlp", 1, s, a, MLP_LOSS_SQUARED, MLP_INIT_GLOROT, MLP_OPT_ADAM,
                   MLP_SCALE_NONE);
    }
    {
        size_t s[] = {2, 2, 2, 2, 2, 2, 3};
        mlp_activation a[] = {MLP_ACT_RELU,     MLP_ACT_LOGISTIC, MLP_ACT_TANH,
                              MLP_ACT_IDENTITY, MLP_ACT_GELU,     MLP_ACT_SOFTMAX};
        model_seed("deep.mlp", 6, s, a, MLP_LOSS_SOFTMAX_CE, MLP_INIT_HE, MLP_OPT_ADAM,
                   MLP_SCALE_STANDARD);
    }
    /* Class lists (format version 2): names and numbers. */
    mlp_classes c = {0};
    const char *const names[] = {"setosa", "versicolor", "a,\"b\""};
    const double values[] = {-1, 1};
    size_t s3[] = {2, 3}, s1[] = {2, 1};
    mlp_activation soft[] = {MLP_ACT_SOFTMAX}, logi[] = {MLP_ACT_LOGISTIC};
    if (mlp_classes_encode_names(names, 3, &c, NULL) != MLP_OK) exit(1);
    g_classes = &c;
    model_seed("classes_names.mlp", 1, s3, soft, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, MLP_OPT_ADAM,
               MLP_SCALE_NONE);
    mlp_classes_free(&c);
    if (mlp_classes_encode_numbers(values, 2, &c, NULL) != MLP_OK) exit(1);
    model_seed("classes_numbers.mlp", 1, s1, logi, MLP_LOSS_LOGISTIC, MLP_INIT_GLOROT, MLP_OPT_SGD,
               MLP_SCALE_NONE);
    mlp_classes_free(&c);
    g_classes = NULL;
}

/* ---- CSV: 2 option bytes, then the content ---- */
static void csv_seed(const char *name, unsigned char o0, unsigned char o1, const char *text) {
    size_t n = strlen(text);
    unsigned char *b = malloc(n + 2);
    b[0] = o0;
    b[1] = o1;
    memcpy(b + 2, text, n);
    write_file("csv", name, b, n + 2);
    free(b);
}

static void csv_seeds(void) {
    make_dir("csv");
    const char *plain = "1,2,0\n3,4,1\n5,6,2\n";
    csv_seed("plain", 0x00, 0x00, plain);
    csv_seed("plain_gz", 0x08, 0x00, plain);
    csv_seed("header_auto", 0x00, 0x00, "a,b,label\n0.5,-1e3,1\n2.25,3,0\n");
    csv_seed("header_yes", 0x02 | 0x10, 0x00, "x;y;z\n1;2;3\n4;5;6\n");
    csv_seed("semicolon_label0", 0x80 | 0x10, 0x00, "2;1.5;2.5\n0;3;4\n1;-5;6e-2\n");
    csv_seed("tab_regression", 0x04 | 0x20, 0x00, "1\t2\t0.25\n3\t4\t-1.5\n");
    csv_seed("crlf_blank_bom", 0x01, 0x00,
             "\xEF\xBB\xBF"
             "1,2,3\r\n\r\n  4 , 5 ,6\r\n");
    csv_seed("space_delim", 0x30, 0x00, "1 2 0\n3 4 1\n");
    csv_seed("max_classes", 0x00, 0x30, "1,0\n2,3\n");
    csv_seed("regression_gz", 0x0C, 0x00, "0.1,0.2,0.3,1e-7\n-0.1,0.2,5,1e7\n");
    csv_seed("pipe_label1", 0x80 | 0x40, 0x01, "9|1|8\n7|0|6\n");
    csv_seed("text_labels", 0x00, 0x00, "sl,sw,species\n5.1,3.5,setosa\n6.2,2.9, virginica\n");
    csv_seed("signed_labels", 0x00, 0x00, "1,2,+1\n3,4,-1\n5,6,-1.0\n");
    csv_seed("numeric_header", 0x00, 0x00, "0,1,class\n4,5,3\n6,7,1\n");
    csv_seed("detect_semicolon", 0x50, 0x00, "a;b;c\r\n1;2;x\r\n3;4;y\r\n");
    csv_seed("detect_spaces", 0x50, 0x00, "# comment\n  1   2\t0\n 3 4 1\n");
    csv_seed("detect_quotes", 0x50, 0x00, "\"a\",\"b, c\"\n\"1\",\"x\"\"y\"\n2,\"two\nlines\"\n");
    csv_seed("count_header", 0x50, 0x00, "3,2,c0,c1\n1,2,0\n3,4,1\n5,6,0\n");
    csv_seed("count_numbers", 0x00, 0x00, "2,4\n1,2,3,0\n4,5,6,1\n");
}

/* ---- IDX: flags, u16 images length, images, labels ---- */
static void idx_seed(const char *name, unsigned char flags, unsigned ndims, const uint32_t *dims) {
    unsigned char img[512], lab[128];
    size_t ni = tu_idx_header(img, 0x08, ndims, dims), cells = 1;
    for (unsigned i = 0; i < ndims; i++) cells *= dims[i];
    for (size_t i = 0; i < cells; i++) img[ni + i] = (unsigned char)(i * 37 + 11);
    ni += cells;
    uint32_t n = dims[0];
    size_t nl = tu_idx_header(lab, 0x08, 1, &n);
    for (unsigned i = 0; i < n; i++) lab[nl + i] = (unsigned char)(i % 10);
    nl += n;
    unsigned char b[1024];
    b[0] = flags;
    b[1] = (unsigned char)ni;
    b[2] = (unsigned char)(ni >> 8);
    memcpy(b + 3, img, ni);
    memcpy(b + 3 + ni, lab, nl);
    write_file("idx", name, b, 3 + ni + nl);
}

static void idx_seeds(void) {
    make_dir("idx");
    const uint32_t d3[] = {4, 3, 3}, d2[] = {5, 7}, d4[] = {2, 2, 2, 3};
    idx_seed("plain_3d", 0, 3, d3);
    idx_seed("plain_2d", 0, 2, d2);
    idx_seed("gz_images", 1, 3, d3);
    idx_seed("gz_labels", 2, 2, d2);
    idx_seed("gz_both_4d", 3, 4, d4);
    /* A raw gzip stream behind an unset flag: zlib's own header parsing is fuzzed too. */
    unsigned char img[64], lab[16];
    const uint32_t d[] = {2, 4}, n = 2;
    size_t ni = tu_idx_header(img, 0x08, 2, d);
    for (int i = 0; i < 8; i++) img[ni++] = (unsigned char)(i * 30);
    size_t nl = tu_idx_header(lab, 0x08, 1, &n);
    lab[nl++] = 1;
    lab[nl++] = 0;
    unsigned char z[256];
    uLongf zl = sizeof z;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = img;
    zs.avail_in = (uInt)ni;
    zs.next_out = z;
    zs.avail_out = (uInt)zl;
    deflate(&zs, Z_FINISH);
    zl = zs.total_out;
    deflateEnd(&zs);
    unsigned char b[512];
    b[0] = 0;
    b[1] = (unsigned char)zl;
    b[2] = 0;
    memcpy(b + 3, z, zl);
    memcpy(b + 3 + zl, lab, nl);
    write_file("idx", "raw_gzip_stream", b, 3 + zl + nl);
}

/* ---- CLI: arguments separated by NUL ---- */
static void cli_seed(const char *name, const char *const *args) {
    char b[1024];
    size_t n = 0;
    for (int i = 0; args[i]; i++) {
        size_t k = strlen(args[i]);
        if (i) b[n++] = '\0';
        memcpy(b + n, args[i], k);
        n += k;
    }
    write_file("cli", name, b, n);
}

static void cli_seeds(void) {
    make_dir("cli");
    const char *const s1[] = {"train", "--data", "digits", "--hidden", "50,30",
                              "--lr",  "0.01",   "--seed", "42",       "--max-iter",
                              "3",     "--json", "-q",     NULL};
    const char *const s2[] = {"train",
                              "--data=train.csv",
                              "--label-column",
                              "0",
                              "--header",
                              "yes",
                              "--regression",
                              "--scale",
                              "standard",
                              "--test-fraction",
                              "0.3",
                              "-o",
                              "out.mlp",
                              NULL};
    const char *const s3[] = {
        "train", "--data",        "im.idx.gz",     "--labels", "lb.idx.gz", "--test-data",
        "t.idx", "--test-labels", "tl.idx",        "--solver", "sgd",       "--momentum",
        "0.5",   "--no-nesterov", "--lr-schedule", "adaptive", "--power-t", "0.25",
        NULL};
    const char *const s4[] = {"train",
                              "--early-stopping",
                              "--validation-fraction",
                              "0.2",
                              "--batch-size",
                              "auto",
                              "--n-iter-no-change",
                              "5",
                              "--tol",
                              "1e-5",
                              "--alpha",
                              "0",
                              "--activation",
                              "gelu",
                              "--no-shuffle",
                              "--threads",
                              "2",
                              NULL};
    const char *const s5[] = {"eval", "model.mlp",      "data.csv", "--json", "--header",
                              "auto", "--label-column", "last",     NULL};
    const char *const s6[] = {"predict", "model.mlp", "digits", "--proba", "-o", "p.csv", NULL};
    const char *const s7[] = {"predict", "m.mlp",     "im.idx",      "--labels",
                              "lb.idx",  "-oout.csv", "--threads=1", NULL};
    const char *const s8[] = {"info", "model.mlp", "--json", NULL};
    const char *const s9[] = {"help", "train", NULL};
    const char *const s10[] = {"--version", NULL};
    const char *const s11[] = {"train", "--hidden", "none", "--batch-size", "18446744073709551616",
                               "--",    "-x",       NULL};
    const char *const s12[] = {"eval", "-h", NULL};
    cli_seed("train_digits", s1);
    cli_seed("train_csv", s2);
    cli_seed("train_idx", s3);
    cli_seed("train_options", s4);
    cli_seed("eval", s5);
    cli_seed("predict", s6);
    cli_seed("predict_idx", s7);
    cli_seed("info", s8);
    cli_seed("help", s9);
    cli_seed("version", s10);
    cli_seed("bad_values", s11);
    cli_seed("eval_help", s12);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus OUTDIR\n");
        return 2;
    }
    g_out = argv[1];
    if (mkdir(g_out, 0755) != 0 && errno != EEXIST) {
        perror(g_out);
        return 1;
    }
    model_seeds();
    csv_seeds();
    idx_seeds();
    cli_seeds();
    return 0;
}
