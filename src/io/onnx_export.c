/* ONNX export (model.h: mlp_model_export_onnx): checks what is exported, has onnx_graph.c write
 * the graph, wraps it in a ModelProto (IR version 8, opset 17) and saves it the way model files
 * are saved (file_save.c: a new file renamed into place, never a half-written one), or copies it
 * into the caller's memory. Layout of the graph: docs/ONNX.md. */
#define _POSIX_C_SOURCE 200809L

#include "io/file_save.h"
#include "io/onnx_graph.h"
#include "io/onnx_pb.h"

#include "base/base.h"
#include "mlp/data.h"
#include "mlp/model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ModelProto and OperatorSetIdProto fields (onnx.proto). */
enum {
    MODEL_IR_VERSION = 1,
    MODEL_PRODUCER_NAME = 2,
    MODEL_PRODUCER_VERSION = 3,
    MODEL_GRAPH = 7,
    MODEL_OPSET_IMPORT = 8,
    OPSET_VERSION = 2
};
/* IR version 8 and opset 17: what Debian 12's onnx 1.12 checker knows (its newest), and what
 * every ONNX Runtime since 1.13 runs. */
#define ONNX_IR_VERSION 8
#define ONNX_OPSET 17
/* Class values up to 2^53 are exact integers in a double: labels are then int64 tensors. */
#define EXACT_INT 9007199254740992.0

mlp_onnx_options mlp_onnx_options_default(void) {
    mlp_onnx_options o = {.input_name = "X", .graph_name = "mlp"};
    return o;
}

/* ---------------------------------------------------------------------------------------------
 * What is exported, checked before anything is written
 */
static const char *loss_text(mlp_loss loss) {
    switch (loss) {
    case MLP_LOSS_SOFTMAX_CE:
        return "softmax cross-entropy";
    case MLP_LOSS_LOGISTIC:
        return "logistic";
    case MLP_LOSS_SQUARED:
        return "squared error";
    case MLP_LOSS_POISSON:
        return "Poisson";
    case MLP_LOSS_HUBER:
        return "Huber";
    default:
        return "unknown";
    }
}

/* The graph's outputs follow the loss (what the net was trained to predict). */
static mlp_status plan_task(const char *fn, const mlp_net *net, mlp_onnx_plan *p) {
    const size_t k = mlp_net_output_size(net);
    const mlp_loss loss = mlp_net_loss(net);
    switch (loss) {
    case MLP_LOSS_SOFTMAX_CE:
        p->task = MLP_ONNX_MULTICLASS;
        p->n_classes = k;
        return MLP_OK;
    case MLP_LOSS_LOGISTIC:
        p->task = k == 1 ? MLP_ONNX_BINARY : MLP_ONNX_MULTILABEL;
        p->n_classes = k == 1 ? 2 : k;
        return MLP_OK;
    case MLP_LOSS_SQUARED:
    case MLP_LOSS_POISSON: /* the mean, exp(z), is the output layer's */
    case MLP_LOSS_HUBER:
        p->task = MLP_ONNX_REGRESS;
        return MLP_OK;
    default:
        return mlp_fail(MLP_ERR_ARG,
                        "%s: the net's loss %d (%s) has no ONNX export: its outputs are known for "
                        "softmax cross-entropy, logistic, squared error, Poisson and Huber only",
                        fn, (int)loss, loss_text(loss));
    }
}

/* The activations onnx_graph.c writes. A new mlp_activation is refused (by name) until it is
 * added here and there. */
static bool act_exported(mlp_activation act) {
    switch (act) {
    case MLP_ACT_IDENTITY:
    case MLP_ACT_RELU:
    case MLP_ACT_LOGISTIC:
    case MLP_ACT_TANH:
    case MLP_ACT_SOFTMAX:
    case MLP_ACT_LEAKY_RELU:
    case MLP_ACT_GELU:
    case MLP_ACT_EXP:
        return true;
    default:
        return false;
    }
}

static mlp_status plan_layers(const char *fn, const mlp_net *net, mlp_onnx_plan *p) {
    p->n_layers = mlp_net_n_layers(net);
    if (p->n_layers == 0) return mlp_fail(MLP_ERR_ARG, "%s: net has no layers", fn);
    if (mlp_net_param_count(net) > (MLP_PB_MAX_MESSAGE - ((size_t)1 << 20)) / 4)
        return mlp_fail(MLP_ERR_OVERFLOW,
                        "%s: %zu parameters exceed the 2 GiB limit of an ONNX file (protobuf)", fn,
                        mlp_net_param_count(net));
    for (size_t l = 0; l < p->n_layers; l++) {
        mlp_activation act = MLP_ACT_COUNT;
        mlp_net_layer_shape(net, l, NULL, NULL, &act);
        if (!act_exported(act)) {
            const char *name = mlp_activation_name(act);
            return mlp_fail(MLP_ERR_ARG, "%s: layer %zu's activation %d (%s) has no ONNX export",
                            fn, l + 1, (int)act, name ? name : "unknown");
        }
    }
    return MLP_OK;
}

static mlp_status plan_scaler(const char *fn, const mlp_net *net, const mlp_scaler *s,
                              mlp_onnx_plan *p) {
    p->scaler = NULL;
    if (!s || s->kind == MLP_SCALE_NONE) return MLP_OK;
    if ((unsigned)s->kind >= MLP_SCALE_COUNT)
        return mlp_fail(MLP_ERR_ARG, "%s: unknown scaler kind %d", fn, (int)s->kind);
    if (!s->offset || !s->scale) return mlp_fail(MLP_ERR_NULL, "%s: scaler arrays are NULL", fn);
    if (s->d != mlp_net_input_size(net))
        return mlp_fail(MLP_ERR_SHAPE, "%s: scaler has %zu features, net input has %zu", fn, s->d,
                        mlp_net_input_size(net));
    for (size_t j = 0; j < s->d; j++)
        if (!isfinite(s->offset[j]) || !isfinite(s->scale[j]) || s->scale[j] == 0.0f)
            return mlp_fail(MLP_ERR_ARG, "%s: scaler feature %zu is not finite or has scale 0", fn,
                            j);
    p->scaler = s;
    return MLP_OK;
}

/* The label list and its tensor type: int64 for whole numbers (and no list: 0..K-1), double for
 * other numbers, string for names. */
static mlp_status plan_classes(const char *fn, const mlp_classes *c, mlp_onnx_plan *p) {
    p->classes = NULL;
    p->label_type = MLP_ONNX_INT64;
    const bool listed = c && c->kind != MLP_CLASSES_NONE;
    if (p->task == MLP_ONNX_MULTILABEL || p->task == MLP_ONNX_REGRESS) {
        if (listed)
            return mlp_fail(MLP_ERR_ARG,
                            "%s: a class list needs a classifier (the net is a %s net)", fn,
                            p->task == MLP_ONNX_REGRESS ? "regression" : "multi-label");
        return MLP_OK;
    }
    if (!listed) return MLP_OK;
    if ((unsigned)c->kind >= MLP_CLASSES_COUNT)
        return mlp_fail(MLP_ERR_ARG, "%s: unknown class kind %d", fn, (int)c->kind);
    if (c->n != p->n_classes)
        return mlp_fail(MLP_ERR_SHAPE, "%s: %zu classes in the list, the net has %zu", fn, c->n,
                        p->n_classes);
    if (c->kind == MLP_CLASSES_NUMBERS ? !c->values : !c->names)
        return mlp_fail(MLP_ERR_NULL, "%s: the class array is NULL", fn);
    p->label_type = c->kind == MLP_CLASSES_NAMES ? MLP_ONNX_STRING : MLP_ONNX_INT64;
    for (size_t i = 0; i < c->n; i++) {
        if (c->kind == MLP_CLASSES_NAMES) {
            if (!c->names[i]) return mlp_fail(MLP_ERR_NULL, "%s: class name %zu is NULL", fn, i);
            continue;
        }
        const double v = c->values[i];
        if (!isfinite(v)) return mlp_fail(MLP_ERR_ARG, "%s: class value %zu is not finite", fn, i);
        if (v != floor(v) || fabs(v) > EXACT_INT) p->label_type = MLP_ONNX_DOUBLE;
    }
    p->classes = c;
    return MLP_OK;
}

/* A name the graph's input may take: a C identifier (ONNX's rule for names), not one of the
 * outputs' and not in the mlp_ namespace of the graph's own values. */
static bool ident_char(char c, bool first) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (!first && c >= '0' && c <= '9');
}

static bool input_name_ok(const char *s) {
    if (!s[0] || strncmp(s, "mlp_", 4) == 0 || !strcmp(s, "label") || !strcmp(s, "probabilities") ||
        !strcmp(s, "variable"))
        return false;
    for (size_t i = 0; s[i]; i++)
        if (!ident_char(s[i], i == 0)) return false;
    return true;
}

static mlp_status plan_options(const char *fn, const mlp_onnx_options *o, mlp_onnx_plan *p) {
    const mlp_onnx_options def = mlp_onnx_options_default();
    p->input_name = o && o->input_name ? o->input_name : def.input_name;
    p->graph_name = o && o->graph_name ? o->graph_name : def.graph_name;
    if (!input_name_ok(p->input_name))
        return mlp_fail(MLP_ERR_ARG,
                        "%s: input name '%s' is not a C identifier, or is one of the graph's own "
                        "names (label, probabilities, variable, mlp_...)",
                        fn, p->input_name);
    if (!p->graph_name[0]) return mlp_fail(MLP_ERR_ARG, "%s: graph name is empty", fn);
    return MLP_OK;
}

static mlp_status plan_export(const char *fn, const mlp_net *net, const mlp_scaler *scaler,
                              const mlp_classes *classes, const mlp_onnx_options *o,
                              mlp_onnx_plan *p) {
    memset(p, 0, sizeof *p);
    p->net = net;
    mlp_status st = plan_layers(fn, net, p);
    if (st == MLP_OK) st = plan_task(fn, net, p);
    if (st == MLP_OK) st = plan_scaler(fn, net, scaler, p);
    if (st == MLP_OK) st = plan_classes(fn, classes, p);
    if (st == MLP_OK) st = plan_options(fn, o, p);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * The model: a header (ModelProto's fields before the graph, and the graph's field header), then
 * the graph's bytes, kept apart so that the weights are not copied once more.
 */
typedef struct onnx_model {
    mlp_pb head, graph;
} onnx_model;

static void model_free(onnx_model *m) {
    mlp_pb_free(&m->head);
    mlp_pb_free(&m->graph);
}

static mlp_status build_model(const char *fn, const mlp_onnx_plan *p, onnx_model *m) {
    memset(m, 0, sizeof *m);
    mlp_status st = mlp_onnx_graph(&m->graph, p);
    if (st != MLP_OK) {
        char why[256]; /* the message is rewritten below: copied out of its buffer first */
        snprintf(why, sizeof why, "%s", mlp_last_error());
        model_free(m);
        return mlp_fail(st, "%s: %s", fn, why);
    }
    mlp_pb opset = {0};
    mlp_pb_int(&opset, OPSET_VERSION, ONNX_OPSET); /* domain "": the default (ai.onnx) */
    mlp_pb_int(&m->head, MODEL_IR_VERSION, ONNX_IR_VERSION);
    mlp_pb_string(&m->head, MODEL_PRODUCER_NAME, "mlp");
    mlp_pb_string(&m->head, MODEL_PRODUCER_VERSION, mlp_version());
    mlp_pb_message(&m->head, MODEL_OPSET_IMPORT, &opset);
    mlp_pb_free(&opset);
    mlp_pb_len_header(&m->head, MODEL_GRAPH, m->graph.len);
    st = mlp_pb_status(&m->head, "the ONNX model");
    if (st == MLP_OK && m->graph.len > MLP_PB_MAX_MESSAGE - m->head.len)
        st = mlp_fail(MLP_ERR_OVERFLOW, "%s: the model exceeds protobuf's 2 GiB limit", fn);
    if (st != MLP_OK) model_free(m);
    return st;
}

/* file_save.c's fill: the whole model, from its first byte. */
static int fill_model(int fd, void *ctx) {
    const onnx_model *m = ctx;
    int e = mlp_write_all(fd, m->head.p, m->head.len);
    return e ? e : mlp_write_all(fd, m->graph.p, m->graph.len);
}

/* ---------------------------------------------------------------------------------------------
 * API
 */
mlp_status mlp_model_export_onnx(const char *path, const mlp_net *net, const mlp_scaler *scaler,
                                 const mlp_classes *classes, const mlp_onnx_options *options) {
    static const char fn[] = "mlp_model_export_onnx";
    if (!path) return mlp_fail(MLP_ERR_NULL, "%s: path is NULL", fn);
    if (!net) return mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    if (!path[0]) return mlp_fail(MLP_ERR_ARG, "%s: path is empty", fn);
    mlp_onnx_plan p;
    onnx_model m;
    mlp_status st = plan_export(fn, net, scaler, classes, options, &p);
    if (st == MLP_OK) st = build_model(fn, &p, &m);
    if (st != MLP_OK) return st;
    st = mlp_save_file(fn, path, fill_model, &m);
    model_free(&m);
    return st;
}

mlp_status mlp_model_export_onnx_mem(void *buf, size_t cap, size_t *size, const mlp_net *net,
                                     const mlp_scaler *scaler, const mlp_classes *classes,
                                     const mlp_onnx_options *options) {
    static const char fn[] = "mlp_model_export_onnx_mem";
    if (!size) return mlp_fail(MLP_ERR_NULL, "%s: size is NULL", fn);
    if (!net) return mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    mlp_onnx_plan p;
    onnx_model m;
    mlp_status st = plan_export(fn, net, scaler, classes, options, &p);
    if (st == MLP_OK) st = build_model(fn, &p, &m);
    if (st != MLP_OK) return st;
    const size_t len = m.head.len + m.graph.len;
    if (buf && cap < len) {
        st = mlp_fail(MLP_ERR_SHAPE, "%s: the model needs %zu bytes, the buffer has %zu", fn, len,
                      cap);
    } else if (buf) {
        memcpy(buf, m.head.p, m.head.len);
        memcpy((unsigned char *)buf + m.head.len, m.graph.p, m.graph.len);
    }
    if (st == MLP_OK) *size = len;
    model_free(&m);
    return st;
}
