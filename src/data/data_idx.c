/* IDX reader (the MNIST file format): unsigned-byte images and labels, plain or gzip. Headers of
 * both files are read and every size is validated before anything is allocated. */
#include "data/data_internal.h"
#include "mlp/data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDX_CHUNK 65536u
/* A gzip file cannot be sized before inflating it: refuse to allocate for more than this. */
#define IDX_GZIP_MAX_BYTES ((uint64_t)1 << 34)
/* Deflate expands at most 1032:1 (zlib FAQ); bound a gzip file's content by its length. */
#define IDX_DEFLATE_MAX_RATIO 1032u

typedef struct idx_file {
    const char *path;
    mlp_input *f;
    unsigned ndims;
    uint32_t dims[255];
    size_t header_bytes; /* 4 + 4 * ndims */
    size_t data_bytes;   /* product of the dims */
    size_t pos;          /* bytes read so far */
} idx_file;

/* Reads exactly len bytes; a short read is a truncated file (what names the part). */
static mlp_status read_exact(idx_file *x, void *buf, size_t len, const char *what) {
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < IDX_CHUNK ? len - done : IDX_CHUNK;
        size_t got = 0;
        mlp_status st = mlp_input_read(x->f, (unsigned char *)buf + done, want, &got);
        if (st != MLP_OK) return st;
        if (got == 0)
            return mlp_fail(MLP_ERR_FORMAT, "%s: truncated: the data ends at byte %zu, in %s",
                            x->path, x->pos, what);
        done += got;
        x->pos += got;
    }
    return MLP_OK;
}

/* Length of the file on disk, or 0 if it cannot be told. */
static uint64_t file_length(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    fclose(f);
    return len > 0 ? (uint64_t)len : 0;
}

static const char *type_name(unsigned t) {
    switch (t) {
    case 0x08:
        return "unsigned byte";
    case 0x09:
        return "signed byte";
    case 0x0B:
        return "short";
    case 0x0C:
        return "int";
    case 0x0D:
        return "float";
    case 0x0E:
        return "double";
    default:
        return NULL;
    }
}

/* Opens path and reads its header; what is "images" or "labels". On success x->f is open. */
static mlp_status open_idx(idx_file *x, const char *path, const char *what) {
    memset(x, 0, sizeof *x);
    x->path = path;
    char kind[64];
    snprintf(kind, sizeof kind, "%s file", what);
    mlp_status open_st = mlp_input_open(&x->f, path, kind);
    if (open_st != MLP_OK) return open_st;
    unsigned char h[4];
    mlp_status st = read_exact(x, h, 4, "the IDX header");
    if (st != MLP_OK) goto fail;
    if (h[0] != 0 || h[1] != 0) {
        st = mlp_fail(MLP_ERR_FORMAT,
                      "%s: not an IDX file (magic bytes %02x %02x %02x %02x, expected 00 00 08 nn)",
                      path, h[0], h[1], h[2], h[3]);
        goto fail;
    }
    if (h[2] != 0x08) {
        const char *name = type_name(h[2]);
        if (name)
            st = mlp_fail(MLP_ERR_FORMAT,
                          "%s: IDX element type 0x%02x (%s) is not supported; only unsigned byte "
                          "(0x08) is",
                          path, h[2], name);
        else
            st = mlp_fail(MLP_ERR_FORMAT, "%s: unknown IDX element type 0x%02x", path, h[2]);
        goto fail;
    }
    x->ndims = h[3];
    x->header_bytes = 4 + 4 * (size_t)x->ndims;
    if (x->ndims == 0) {
        st = mlp_fail(MLP_ERR_FORMAT, "%s: IDX file with 0 dimensions", path);
        goto fail;
    }
    unsigned char raw[4 * 255];
    st = read_exact(x, raw, 4 * (size_t)x->ndims, "the IDX dimensions");
    if (st != MLP_OK) goto fail;
    size_t total = 1;
    bool overflow = false;
    for (unsigned i = 0; i < x->ndims; i++) {
        const unsigned char *b = raw + 4 * i;
        x->dims[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (x->dims[i] == 0) {
            st = mlp_fail(MLP_ERR_FORMAT, "%s: dimension %u is 0", path, i);
            goto fail;
        }
        if (!overflow && !mlp_mul_ok(total, x->dims[i], &total)) overflow = true;
    }
    if (overflow) {
        st = mlp_fail(MLP_ERR_OVERFLOW,
                      "%s: the product of the %u dimensions (%u x %u ...) "
                      "overflows size_t",
                      path, x->ndims, x->dims[0], x->ndims > 1 ? x->dims[1] : 1u);
        goto fail;
    }
    x->data_bytes = total;
    return MLP_OK;
fail:
    mlp_input_close(x->f);
    x->f = NULL;
    return st;
}

/* Checks that the declared data fits in the file (exactly, for a plain file). */
static mlp_status check_length(idx_file *x) {
    uint64_t len = file_length(x->path);
    uint64_t need = (uint64_t)x->header_bytes + (uint64_t)x->data_bytes;
    if (need < x->data_bytes)
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: declared size overflows", x->path);
    if (!mlp_input_gzip(x->f)) {
        if (len == 0) return MLP_OK; /* not seekable: reading will tell */
        if (len < need)
            return mlp_fail(MLP_ERR_FORMAT,
                            "%s: truncated: the header declares %llu bytes in all, the file has "
                            "%llu",
                            x->path, (unsigned long long)need, (unsigned long long)len);
        if (len > need)
            return mlp_fail(MLP_ERR_FORMAT,
                            "%s: %llu bytes of trailing data after the declared %llu bytes",
                            x->path, (unsigned long long)(len - need), (unsigned long long)need);
        return MLP_OK;
    }
    if (x->data_bytes > IDX_GZIP_MAX_BYTES)
        return mlp_fail(MLP_ERR_OVERFLOW,
                        "%s: declared data of %zu bytes exceeds the limit of %llu for gzip input",
                        x->path, x->data_bytes, (unsigned long long)IDX_GZIP_MAX_BYTES);
    if (len > 0 && len <= UINT64_MAX / IDX_DEFLATE_MAX_RATIO && need > len * IDX_DEFLATE_MAX_RATIO)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s: truncated: the header declares %llu bytes, more than %llu compressed "
                        "bytes can hold",
                        x->path, (unsigned long long)need, (unsigned long long)len);
    return MLP_OK;
}

/* After the declared data: the file must end here. */
static mlp_status check_end(idx_file *x) {
    unsigned char c;
    size_t got = 0;
    mlp_status st = mlp_input_read(x->f, &c, 1, &got);
    if (st == MLP_OK && got > 0)
        return mlp_fail(MLP_ERR_FORMAT, "%s: trailing data after the declared %zu bytes", x->path,
                        x->header_bytes + x->data_bytes);
    return st;
}

/* Checks that the images (n x ...) and labels (n) files agree and fit their files and the memory
 * cap; gives the features per image and the bytes of the float matrix. */
static mlp_status check_pair(idx_file *im, idx_file *lb, size_t *d, size_t *xbytes) {
    if (im->ndims < 2)
        return mlp_fail(MLP_ERR_FORMAT,
                        "%s: images need at least 2 dimensions (n x features), the file has %u",
                        im->path, im->ndims);
    if (lb->ndims != 1)
        return mlp_fail(MLP_ERR_FORMAT, "%s: labels need exactly 1 dimension, the file has %u",
                        lb->path, lb->ndims);
    if (lb->dims[0] != im->dims[0])
        return mlp_fail(MLP_ERR_SHAPE, "mlp_read_idx: %s has %u images but %s has %u labels",
                        im->path, im->dims[0], lb->path, lb->dims[0]);
    size_t n = im->dims[0];
    *d = im->data_bytes / n;
    if (!mlp_mul_ok(im->data_bytes, sizeof(float), xbytes))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: %zu x %zu floats overflow size_t", im->path, n, *d);
    mlp_status st = check_length(im);
    if (st == MLP_OK) st = check_length(lb);
    if (st == MLP_OK) st = mlp_check_alloc(*xbytes, im->path);
    return st;
}

/* Reads the pixel bytes into X (as floats) through buf, then checks the file ends there. */
static mlp_status read_pixels(idx_file *im, float *X, unsigned char *buf) {
    for (size_t pos = 0; pos < im->data_bytes;) {
        size_t len = im->data_bytes - pos < IDX_CHUNK ? im->data_bytes - pos : IDX_CHUNK;
        mlp_status st = read_exact(im, buf, len, "the pixel data");
        if (st != MLP_OK) return st;
        for (size_t i = 0; i < len; i++) X[pos + i] = (float)buf[i];
        pos += len;
    }
    return check_end(im);
}

/* Reads the n label bytes into labels through buf and their largest value into *max_label, then
 * checks the file ends there. */
static mlp_status read_labels(idx_file *lb, int32_t *labels, size_t n, unsigned char *buf,
                              int32_t *max_label) {
    *max_label = 0;
    for (size_t pos = 0; pos < n;) {
        size_t len = n - pos < IDX_CHUNK ? n - pos : IDX_CHUNK;
        mlp_status st = read_exact(lb, buf, len, "the label data");
        if (st != MLP_OK) return st;
        for (size_t i = 0; i < len; i++) {
            labels[pos + i] = buf[i];
            if (buf[i] > *max_label) *max_label = buf[i];
        }
        pos += len;
    }
    return check_end(lb);
}

mlp_status mlp_read_idx(const char *images_path, const char *labels_path, mlp_dataset *out) {
    if (!images_path || !labels_path || !out)
        return mlp_fail(MLP_ERR_NULL, "mlp_read_idx: images_path, labels_path or out is NULL");
    idx_file im, lb;
    mlp_status st = open_idx(&im, images_path, "images");
    if (st != MLP_OK) return st;
    st = open_idx(&lb, labels_path, "labels");
    if (st != MLP_OK) {
        mlp_input_close(im.f);
        return st;
    }

    float *X = NULL;
    int32_t *labels = NULL, max_label = 0;
    unsigned char *buf = NULL;
    size_t n = im.dims[0], d = 0, xbytes = 0;
    st = check_pair(&im, &lb, &d, &xbytes);
    if (st == MLP_OK) {
        X = malloc(xbytes);
        labels = malloc(n * sizeof(int32_t));
        buf = malloc(IDX_CHUNK);
        if (!X || !labels || !buf)
            st = mlp_fail(MLP_ERR_NOMEM, "mlp_read_idx: out of memory for %zu x %zu images", n, d);
    }
    if (st == MLP_OK) st = read_pixels(&im, X, buf);
    if (st == MLP_OK) st = read_labels(&lb, labels, n, buf, &max_label);
    if (st == MLP_OK) {
        memset(out, 0, sizeof *out);
        out->n = n;
        out->d = d;
        out->X = X;
        out->labels = labels;
        out->n_classes = (size_t)max_label + 1;
    } else {
        free(X);
        free(labels);
    }
    free(buf);
    mlp_input_close(im.f);
    mlp_input_close(lb.f);
    return st;
}
