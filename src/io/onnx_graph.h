/* The ONNX graph of a network (src/io/onnx_graph.c), from a plan that onnx_export.c has checked.
 * What the graph holds: docs/ONNX.md. */
#ifndef MLP_IO_ONNX_GRAPH_H
#define MLP_IO_ONNX_GRAPH_H

#include "io/onnx_pb.h"
#include "mlp/data.h"
#include "mlp/mlp.h"

#include <stddef.h>

/* What the graph's outputs are, by the net's loss and output width. */
typedef enum mlp_onnx_task {
    MLP_ONNX_MULTICLASS, /* softmax: probabilities [N, K], label [N] */
    MLP_ONNX_BINARY,     /* one logistic output: probabilities [N, 2], label [N] */
    MLP_ONNX_MULTILABEL, /* logistic outputs: probabilities [N, K], label [N, K] int64 0/1 */
    MLP_ONNX_REGRESS     /* variable [N, k] */
} mlp_onnx_task;

/* TensorProto.DataType values used (onnx.proto). */
enum {
    MLP_ONNX_FLOAT = 1,
    MLP_ONNX_INT64 = 7,
    MLP_ONNX_STRING = 8,
    MLP_ONNX_BOOL = 9,
    MLP_ONNX_DOUBLE = 11
};

typedef struct mlp_onnx_plan {
    const mlp_net *net;
    size_t n_layers;
    const mlp_scaler *scaler;   /* NULL: no scaling */
    const mlp_classes *classes; /* classifiers: NUMBERS or NAMES, or NULL for 0..K-1 */
    mlp_onnx_task task;
    size_t n_classes; /* the label list's length (2 for BINARY) */
    int label_type;   /* MLP_ONNX_INT64, _DOUBLE or _STRING (classifiers) */
    const char *input_name, *graph_name;
} mlp_onnx_plan;

/* Appends the GraphProto's fields (not its own length) to g. Errors: those of g (memory). */
mlp_status mlp_onnx_graph(mlp_pb *g, const mlp_onnx_plan *p);

#endif /* MLP_IO_ONNX_GRAPH_H */
