/* The ONNX graph of a network: input scaling, per layer MatMul + Add + activation, then the
 * outputs skl2onnx's MLP converters give (label and probabilities, or variable). Opset 17 ops
 * only (GELU from Erf: the Gelu op needs opset 20). Field numbers: onnx.proto. docs/ONNX.md
 * draws the graph. */
#include "io/onnx_graph.h"

#include "core/state.h"
#include "io/model_format.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Field numbers of onnx.proto. */
enum {
    GRAPH_NODE = 1,
    GRAPH_NAME = 2,
    GRAPH_INITIALIZER = 5,
    GRAPH_INPUT = 11,
    GRAPH_OUTPUT = 12,
    NODE_INPUT = 1,
    NODE_OUTPUT = 2,
    NODE_NAME = 3,
    NODE_OP_TYPE = 4,
    NODE_ATTRIBUTE = 5,
    ATTR_NAME = 1,
    ATTR_F = 2,
    ATTR_I = 3,
    ATTR_TYPE = 20,
    ATTR_TYPE_FLOAT = 1,
    ATTR_TYPE_INT = 2,
    TENSOR_DIMS = 1,
    TENSOR_DATA_TYPE = 2,
    TENSOR_STRING_DATA = 6,
    TENSOR_NAME = 8,
    TENSOR_RAW_DATA = 9,
    VALUE_NAME = 1,
    VALUE_TYPE = 2,
    TYPE_TENSOR = 1,
    TYPE_TENSOR_ELEM = 1,
    TYPE_TENSOR_SHAPE = 2,
    SHAPE_DIM = 1,
    DIM_VALUE = 1,
    DIM_PARAM = 2
};

#define NAME_LEN 64
#define BATCH_DIM "N" /* the symbolic batch dimension of inputs and outputs */
#define LEAKY_SLOPE 0.01f
#define INV_SQRT2 0.70710678118654752440f /* activation.c's constant */

/* The graph being written and the shared constants its nodes used. */
typedef struct graph {
    mlp_pb *g;
    const mlp_onnx_plan *p;
    bool one, half, inv_sqrt2, axis1; /* initializers to add at the end */
} graph;

/* One attribute of a node: an int or a float. */
typedef struct attr {
    const char *name;
    int type; /* ATTR_TYPE_INT or ATTR_TYPE_FLOAT */
    int64_t i;
    float f;
} attr;

static void node(graph *gr, const char *op, const char *const *in, size_t n_in, const char *out,
                 const attr *attrs, size_t n_attrs) {
    mlp_pb n = {0};
    for (size_t k = 0; k < n_in; k++) mlp_pb_string(&n, NODE_INPUT, in[k]);
    mlp_pb_string(&n, NODE_OUTPUT, out);
    mlp_pb_string(&n, NODE_NAME, out); /* each value has one producer: its name names the node */
    mlp_pb_string(&n, NODE_OP_TYPE, op);
    for (size_t k = 0; k < n_attrs; k++) {
        mlp_pb a = {0};
        mlp_pb_string(&a, ATTR_NAME, attrs[k].name);
        if (attrs[k].type == ATTR_TYPE_INT)
            mlp_pb_int(&a, ATTR_I, attrs[k].i);
        else
            mlp_pb_float(&a, ATTR_F, attrs[k].f);
        mlp_pb_int(&a, ATTR_TYPE, attrs[k].type);
        mlp_pb_message(&n, NODE_ATTRIBUTE, &a);
        mlp_pb_free(&a);
    }
    mlp_pb_message(gr->g, GRAPH_NODE, &n);
    mlp_pb_free(&n);
}

static void node1(graph *gr, const char *op, const char *in, const char *out) {
    node(gr, op, &in, 1, out, NULL, 0);
}

static void node2(graph *gr, const char *op, const char *a, const char *b, const char *out) {
    const char *in[2] = {a, b};
    node(gr, op, in, 2, out, NULL, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Initializers: a tensor's header (dims, type, name) in a small message, then its data written
 * straight into the graph (raw_data: little-endian values, as onnx.proto says).
 */
static void tensor_header(mlp_pb *h, const char *name, int type, const size_t *dims, size_t nd) {
    for (size_t k = 0; k < nd; k++) mlp_pb_int(h, TENSOR_DIMS, (int64_t)dims[k]);
    mlp_pb_int(h, TENSOR_DATA_TYPE, type);
    mlp_pb_string(h, TENSOR_NAME, name);
}

/* An initializer whose raw data is n values of `width` bytes, each written by put(i, dst). */
static void raw_tensor(graph *gr, const char *name, int type, const size_t *dims, size_t nd,
                       size_t n, size_t width,
                       void (*put)(const void *src, size_t i, unsigned char *dst),
                       const void *src) {
    mlp_pb h = {0};
    tensor_header(&h, name, type, dims, nd);
    const size_t bytes = n * width; /* bounded by the model's parameters: checked by the caller */
    const size_t len = h.len + 1 + mlp_pb_varint_len(bytes) + bytes;
    mlp_pb_len_header(gr->g, GRAPH_INITIALIZER, len);
    if (h.err && !gr->g->err) gr->g->err = h.err;
    if (mlp_pb_reserve(gr->g, h.len)) {
        memcpy(gr->g->p + gr->g->len, h.p, h.len);
        gr->g->len += h.len;
    }
    mlp_pb_free(&h);
    mlp_pb_len_header(gr->g, TENSOR_RAW_DATA, bytes);
    if (!mlp_pb_reserve(gr->g, bytes)) return;
    for (size_t i = 0; i < n; i++) put(src, i, gr->g->p + gr->g->len + i * width);
    gr->g->len += bytes;
}

static void put_float(const void *src, size_t i, unsigned char *dst) {
    put_le32(dst, float_bits(((const float *)src)[i]));
}

static void put_u64(unsigned char *dst, uint64_t v) {
    put_le32(dst, (uint32_t)(v & 0xffffffffu));
    put_le32(dst + 4, (uint32_t)(v >> 32));
}

static void put_double(const void *src, size_t i, unsigned char *dst) {
    uint64_t u;
    memcpy(&u, &((const double *)src)[i], sizeof u);
    put_u64(dst, u);
}

/* src: the classes (a double array), or NULL for 0..n-1. */
static void put_int64(const void *src, size_t i, unsigned char *dst) {
    int64_t v = src ? (int64_t)((const double *)src)[i] : (int64_t)i;
    put_u64(dst, (uint64_t)v);
}

static void float_tensor(graph *gr, const char *name, const float *v, const size_t *dims,
                         size_t nd) {
    size_t n = 1;
    for (size_t k = 0; k < nd; k++) n *= dims[k];
    raw_tensor(gr, name, MLP_ONNX_FLOAT, dims, nd, n, 4, put_float, v);
}

/* The class list: what a class index stands for. */
static void classes_tensor(graph *gr, const char *name) {
    const mlp_onnx_plan *p = gr->p;
    const size_t k = p->n_classes;
    if (p->label_type == MLP_ONNX_STRING) {
        mlp_pb t = {0};
        tensor_header(&t, name, MLP_ONNX_STRING, &k, 1);
        for (size_t i = 0; i < k; i++) mlp_pb_string(&t, TENSOR_STRING_DATA, p->classes->names[i]);
        mlp_pb_message(gr->g, GRAPH_INITIALIZER, &t);
        mlp_pb_free(&t);
        return;
    }
    const double *values = p->classes ? p->classes->values : NULL;
    if (p->label_type == MLP_ONNX_DOUBLE)
        raw_tensor(gr, name, MLP_ONNX_DOUBLE, &k, 1, k, 8, put_double, values);
    else
        raw_tensor(gr, name, MLP_ONNX_INT64, &k, 1, k, 8, put_int64, values);
}

/* The scalar and axis constants the nodes used. */
static void constants(graph *gr) {
    const float one = 1.0f, half = 0.5f, c = INV_SQRT2;
    if (gr->one) float_tensor(gr, "mlp_one", &one, NULL, 0);
    if (gr->half) float_tensor(gr, "mlp_half", &half, NULL, 0);
    if (gr->inv_sqrt2) float_tensor(gr, "mlp_inv_sqrt2", &c, NULL, 0);
    if (gr->axis1) {
        const size_t dim = 1;
        raw_tensor(gr, "mlp_axis1", MLP_ONNX_INT64, &dim, 1, 1, 8, put_int64,
                   (const double[]){1.0});
    }
}

/* ---------------------------------------------------------------------------------------------
 * Inputs and outputs: tensors of a type, [N] or [N, width].
 */
static void value_info(graph *gr, unsigned field, const char *name, int type, size_t width) {
    mlp_pb shape = {0}, dim = {0}, tensor = {0}, type_pb = {0}, value = {0};
    mlp_pb_string(&dim, DIM_PARAM, BATCH_DIM);
    mlp_pb_message(&shape, SHAPE_DIM, &dim);
    if (width) {
        mlp_pb_free(&dim);
        mlp_pb_int(&dim, DIM_VALUE, (int64_t)width);
        mlp_pb_message(&shape, SHAPE_DIM, &dim);
    }
    mlp_pb_int(&tensor, TYPE_TENSOR_ELEM, type);
    mlp_pb_message(&tensor, TYPE_TENSOR_SHAPE, &shape);
    mlp_pb_message(&type_pb, TYPE_TENSOR, &tensor);
    mlp_pb_string(&value, VALUE_NAME, name);
    mlp_pb_message(&value, VALUE_TYPE, &type_pb);
    mlp_pb_message(gr->g, field, &value);
    mlp_pb_free(&shape);
    mlp_pb_free(&dim);
    mlp_pb_free(&tensor);
    mlp_pb_free(&type_pb);
    mlp_pb_free(&value);
}

/* ---------------------------------------------------------------------------------------------
 * Nodes
 */

/* out = f(z) for layer l (1-based, for names). act is one of mlp_onnx_act_supported's. */
static void activation(graph *gr, mlp_activation act, const char *z, const char *out, size_t l) {
    char a[NAME_LEN], e[NAME_LEN], s[NAME_LEN], m[NAME_LEN];
    switch (act) {
    case MLP_ACT_IDENTITY:
        node1(gr, "Identity", z, out);
        break;
    case MLP_ACT_RELU:
        node1(gr, "Relu", z, out);
        break;
    case MLP_ACT_LOGISTIC:
        node1(gr, "Sigmoid", z, out);
        break;
    case MLP_ACT_TANH:
        node1(gr, "Tanh", z, out);
        break;
    case MLP_ACT_EXP:
        node1(gr, "Exp", z, out);
        break;
    case MLP_ACT_SOFTMAX: {
        const attr axis = {"axis", ATTR_TYPE_INT, 1, 0.0f};
        node(gr, "Softmax", &z, 1, out, &axis, 1);
        break;
    }
    case MLP_ACT_LEAKY_RELU: {
        const attr alpha = {"alpha", ATTR_TYPE_FLOAT, 0, LEAKY_SLOPE};
        node(gr, "LeakyRelu", &z, 1, out, &alpha, 1);
        break;
    }
    default: /* MLP_ACT_GELU (onnx_export.c refuses the others): z * Phi(z) =
              * 0.5 z (1 + erf(z / sqrt 2)), activation.c's form */
        snprintf(a, sizeof a, "mlp_L%zu_gelu_scaled", l);
        snprintf(e, sizeof e, "mlp_L%zu_gelu_erf", l);
        snprintf(s, sizeof s, "mlp_L%zu_gelu_sum", l);
        snprintf(m, sizeof m, "mlp_L%zu_gelu_prod", l);
        gr->one = gr->half = gr->inv_sqrt2 = true;
        node2(gr, "Mul", z, "mlp_inv_sqrt2", a);
        node1(gr, "Erf", a, e);
        node2(gr, "Add", e, "mlp_one", s);
        node2(gr, "Mul", z, s, m);
        node2(gr, "Mul", m, "mlp_half", out);
        break;
    }
}

/* Layer l (0-based) from `in` to `out`: MatMul, Add, the activation; its W and b. */
static void layer(graph *gr, size_t l, const float *params, size_t *off, const char *in,
                  const char *out) {
    size_t d[2];
    mlp_activation act = MLP_ACT_IDENTITY;
    mlp_net_layer_shape(gr->p->net, l, &d[0], &d[1], &act);
    char w[NAME_LEN], b[NAME_LEN], mm[NAME_LEN], z[NAME_LEN];
    snprintf(w, sizeof w, "mlp_L%zu_W", l + 1);
    snprintf(b, sizeof b, "mlp_L%zu_b", l + 1);
    snprintf(mm, sizeof mm, "mlp_L%zu_matmul", l + 1);
    snprintf(z, sizeof z, "mlp_L%zu_z", l + 1);
    float_tensor(gr, w, params + *off, d, 2);
    float_tensor(gr, b, params + *off + d[0] * d[1], &d[1], 1);
    *off += d[0] * d[1] + d[1];
    node2(gr, "MatMul", in, w, mm);
    if (act == MLP_ACT_IDENTITY) {
        node2(gr, "Add", mm, b, out); /* no Identity node */
    } else {
        node2(gr, "Add", mm, b, z);
        activation(gr, act, z, out, l + 1);
    }
}

/* The scaler's x' = (x - offset) / scale; returns the name of the scaled input. */
static const char *scaling(graph *gr, const char *x) {
    const mlp_scaler *s = gr->p->scaler;
    if (!s) return x;
    float_tensor(gr, "mlp_scaler_offset", s->offset, &s->d, 1);
    float_tensor(gr, "mlp_scaler_scale", s->scale, &s->d, 1);
    node2(gr, "Sub", x, "mlp_scaler_offset", "mlp_x_centered");
    node2(gr, "Div", "mlp_x_centered", "mlp_scaler_scale", "mlp_x_scaled");
    return "mlp_x_scaled";
}

/* label = classes[index] (index: int64 [N]). */
static void gather_label(graph *gr, const char *index) {
    classes_tensor(gr, "mlp_classes");
    node2(gr, "Gather", "mlp_classes", index, "label");
}

/* The outputs after the last layer, whose output is `net_out`. */
static void outputs(graph *gr, const char *net_out) {
    const mlp_onnx_plan *p = gr->p;
    const attr argmax[2] = {{"axis", ATTR_TYPE_INT, 1, 0.0f}, {"keepdims", ATTR_TYPE_INT, 0, 0.0f}};
    const attr to_int64 = {"to", ATTR_TYPE_INT, MLP_ONNX_INT64, 0.0f};
    const attr concat = {"axis", ATTR_TYPE_INT, 1, 0.0f};
    const char *probs = "probabilities";
    switch (p->task) {
    case MLP_ONNX_MULTICLASS: /* argmax, ties to the lowest index as mlp_predict_labels */
        node(gr, "ArgMax", &probs, 1, "mlp_label_index", argmax, 2);
        gather_label(gr, "mlp_label_index");
        break;
    case MLP_ONNX_BINARY: { /* [1 - p, p]; class 1 where p >= 0.5, as mlp_predict_labels */
        const char *pair[2] = {"mlp_p0", net_out};
        gr->one = gr->half = gr->axis1 = true;
        node2(gr, "Sub", "mlp_one", net_out, "mlp_p0");
        node(gr, "Concat", pair, 2, probs, &concat, 1);
        node2(gr, "GreaterOrEqual", net_out, "mlp_half", "mlp_label_bool");
        node(gr, "Cast", (const char *[]){"mlp_label_bool"}, 1, "mlp_label_index_2d", &to_int64, 1);
        node2(gr, "Squeeze", "mlp_label_index_2d", "mlp_axis1", "mlp_label_index");
        gather_label(gr, "mlp_label_index");
        break;
    }
    case MLP_ONNX_MULTILABEL: /* each label 1 where its probability is >= 0.5 */
        gr->half = true;
        node2(gr, "GreaterOrEqual", probs, "mlp_half", "mlp_label_bool");
        node(gr, "Cast", (const char *[]){"mlp_label_bool"}, 1, "label", &to_int64, 1);
        break;
    default: /* regression: the last layer wrote "variable" */
        break;
    }
}

/* The name the last layer's output gets: the graph's output itself where it can be. */
static const char *last_output(const mlp_onnx_plan *p) {
    switch (p->task) {
    case MLP_ONNX_BINARY:
        return "mlp_p1";
    case MLP_ONNX_REGRESS:
        return "variable";
    default:
        return "probabilities";
    }
}

/* The graph's declared inputs and outputs. */
static void interface(graph *gr) {
    const mlp_onnx_plan *p = gr->p;
    const size_t d = mlp_net_input_size(p->net), k = mlp_net_output_size(p->net);
    value_info(gr, GRAPH_INPUT, p->input_name, MLP_ONNX_FLOAT, d);
    switch (p->task) {
    case MLP_ONNX_REGRESS:
        value_info(gr, GRAPH_OUTPUT, "variable", MLP_ONNX_FLOAT, k);
        break;
    case MLP_ONNX_MULTILABEL:
        value_info(gr, GRAPH_OUTPUT, "label", MLP_ONNX_INT64, k);
        value_info(gr, GRAPH_OUTPUT, "probabilities", MLP_ONNX_FLOAT, k);
        break;
    default:
        value_info(gr, GRAPH_OUTPUT, "label", p->label_type, 0);
        value_info(gr, GRAPH_OUTPUT, "probabilities", MLP_ONNX_FLOAT, p->n_classes);
        break;
    }
}

mlp_status mlp_onnx_graph(mlp_pb *g, const mlp_onnx_plan *p) {
    graph gr = {.g = g, .p = p};
    const float *params = mlp_net_state_view(p->net).params;
    mlp_pb_string(g, GRAPH_NAME, p->graph_name);
    char names[2][NAME_LEN];
    const char *in = scaling(&gr, p->input_name);
    size_t off = 0;
    for (size_t l = 0; l < p->n_layers; l++) {
        const char *out = names[l % 2];
        if (l + 1 == p->n_layers)
            out = last_output(p);
        else
            snprintf(names[l % 2], NAME_LEN, "mlp_L%zu_out", l + 1);
        layer(&gr, l, params, &off, in, out);
        in = out;
    }
    outputs(&gr, in);
    constants(&gr);
    interface(&gr);
    return mlp_pb_status(g, "the ONNX graph");
}
