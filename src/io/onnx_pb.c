/* The protobuf wire format for the ONNX writer (io/onnx_pb.h). Encoding rules: developers.google
 * .com/protocol-buffers/docs/encoding: a field is a varint key (field number << 3 | wire type)
 * then its value; varints hold 7 bits per byte, least significant group first, with the high
 * bit set on every byte but the last; length-delimited values are a varint length, then bytes;
 * fixed32 values are 4 little-endian bytes. */
#include "io/onnx_pb.h"

#include "base/base.h"
#include "io/model_format.h"

#include <stdlib.h>
#include <string.h>

void mlp_pb_free(mlp_pb *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

mlp_status mlp_pb_status(const mlp_pb *b, const char *what) {
    switch (b->err) {
    case MLP_OK:
        return MLP_OK;
    case MLP_ERR_OVERFLOW:
        return mlp_fail(MLP_ERR_OVERFLOW, "%s exceeds protobuf's 2 GiB limit of a message", what);
    case MLP_ERR_LIMIT:
        return mlp_fail(MLP_ERR_LIMIT, "%s exceeds the memory limit", what);
    default:
        return mlp_fail(MLP_ERR_NOMEM, "out of memory for %s", what);
    }
}

bool mlp_pb_reserve(mlp_pb *b, size_t n) {
    if (b->err) return false;
    if (n > MLP_PB_MAX_MESSAGE - b->len) {
        b->err = MLP_ERR_OVERFLOW;
        return false;
    }
    if (b->cap - b->len >= n) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) cap = cap > MLP_PB_MAX_MESSAGE / 2 ? MLP_PB_MAX_MESSAGE + 1 : cap * 2;
    if (mlp_check_alloc(cap, "an ONNX message") != MLP_OK) {
        b->err = MLP_ERR_LIMIT;
        return false;
    }
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
        b->err = MLP_ERR_NOMEM;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

size_t mlp_pb_varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80u) {
        v >>= 7;
        n++;
    }
    return n;
}

void mlp_pb_varint(mlp_pb *b, uint64_t v) {
    if (!mlp_pb_reserve(b, 10)) return;
    while (v >= 0x80u) {
        b->p[b->len++] = (unsigned char)((v & 0x7fu) | 0x80u);
        v >>= 7;
    }
    b->p[b->len++] = (unsigned char)v;
}

void mlp_pb_tag(mlp_pb *b, unsigned field, unsigned wire) {
    mlp_pb_varint(b, ((uint64_t)field << 3) | wire);
}

void mlp_pb_int(mlp_pb *b, unsigned field, int64_t v) {
    mlp_pb_tag(b, field, MLP_PB_VARINT);
    mlp_pb_varint(b, (uint64_t)v); /* two's complement: a negative int64 takes 10 bytes */
}

void mlp_pb_float(mlp_pb *b, unsigned field, float v) {
    mlp_pb_tag(b, field, MLP_PB_FIXED32);
    if (!mlp_pb_reserve(b, 4)) return;
    put_le32(b->p + b->len, float_bits(v));
    b->len += 4;
}

void mlp_pb_len_header(mlp_pb *b, unsigned field, size_t n) {
    mlp_pb_tag(b, field, MLP_PB_LEN);
    mlp_pb_varint(b, (uint64_t)n);
}

void mlp_pb_bytes(mlp_pb *b, unsigned field, const void *data, size_t n) {
    mlp_pb_len_header(b, field, n);
    if (n == 0 || !mlp_pb_reserve(b, n)) return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void mlp_pb_string(mlp_pb *b, unsigned field, const char *s) {
    mlp_pb_bytes(b, field, s, strlen(s));
}

void mlp_pb_message(mlp_pb *b, unsigned field, const mlp_pb *sub) {
    if (sub->err && !b->err) b->err = sub->err;
    mlp_pb_bytes(b, field, sub->p, sub->len);
}
