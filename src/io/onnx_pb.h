/* The protobuf wire format, as much of it as an ONNX model needs (src/io/onnx_pb.c): varints,
 * length-delimited fields (strings, bytes, nested messages) and fixed32 floats, appended to a
 * growing buffer. Field numbers are those of onnx.proto (Debian's libonnx-dev installs it as
 * /usr/include/onnx/onnx.proto); the writer of the graph (onnx_graph.c) names them.
 *
 * Why by hand: a model is a few fixed messages (ModelProto, GraphProto, NodeProto, TensorProto,
 * ValueInfoProto) of which mlp writes a dozen fields; the encoder is ~150 lines, where protobuf-c
 * would add a code generator to the build and a run-time library to libmlp's dependencies. */
#ifndef MLP_IO_ONNX_PB_H
#define MLP_IO_ONNX_PB_H

#include "mlp/mlp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A protobuf message being written. A failed allocation sets err and drops every later byte,
 * so a run of appends is checked once, at its end (mlp_pb_status). */
typedef struct mlp_pb {
    unsigned char *p;
    size_t len, cap;
    mlp_status err; /* MLP_OK, MLP_ERR_NOMEM, MLP_ERR_LIMIT or MLP_ERR_OVERFLOW */
} mlp_pb;

/* Protobuf's largest message (2 GiB - 1): parsers (ONNX Runtime's, onnx's) refuse longer ones. */
#define MLP_PB_MAX_MESSAGE ((size_t)INT32_MAX)

/* Wire types. */
enum { MLP_PB_VARINT = 0, MLP_PB_LEN = 2, MLP_PB_FIXED32 = 5 };

void mlp_pb_free(mlp_pb *b);
/* MLP_OK, or the first failure, with a message naming `what`. */
mlp_status mlp_pb_status(const mlp_pb *b, const char *what);
/* Room for n more bytes (to write them in place: b->p + b->len, then b->len += n). */
bool mlp_pb_reserve(mlp_pb *b, size_t n);

/* Bytes a varint of v takes (1 .. 10). */
size_t mlp_pb_varint_len(uint64_t v);
void mlp_pb_varint(mlp_pb *b, uint64_t v);
void mlp_pb_tag(mlp_pb *b, unsigned field, unsigned wire);
/* field = v (int32, int64, enum and bool fields; a negative int64 as its two's complement). */
void mlp_pb_int(mlp_pb *b, unsigned field, int64_t v);
void mlp_pb_float(mlp_pb *b, unsigned field, float v);
void mlp_pb_bytes(mlp_pb *b, unsigned field, const void *data, size_t n);
void mlp_pb_string(mlp_pb *b, unsigned field, const char *s);
/* field = the message sub (its bytes, length-delimited). */
void mlp_pb_message(mlp_pb *b, unsigned field, const mlp_pb *sub);
/* The header of a length-delimited field of n bytes that the caller appends next (a tensor's
 * raw data, written in place without a copy of its own). */
void mlp_pb_len_header(mlp_pb *b, unsigned field, size_t n);

#endif /* MLP_IO_ONNX_PB_H */
