/* Network creation, the flat parameter buffer, initialisation, workspace and accessors. */
#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A network with more layers than this is certainly a caller's mistake (and keeps loops sane). */
#define MLP_MAX_LAYERS 4096

static const char *const act_names[MLP_ACT_COUNT] = {"identity", "relu",       "logistic", "tanh",
                                                     "softmax",  "leaky_relu", "gelu",     "exp"};

const char *mlp_activation_name(mlp_activation act) {
    return (unsigned)act < MLP_ACT_COUNT ? act_names[act] : NULL;
}

mlp_status mlp_activation_from_name(const char *name, mlp_activation *act) {
    if (!name || !act)
        return mlp_fail(MLP_ERR_NULL, "mlp_activation_from_name: %s is NULL",
                        !name ? "name" : "act");
    for (unsigned a = 0; a < MLP_ACT_COUNT; a++)
        if (strcmp(name, act_names[a]) == 0) {
            *act = (mlp_activation)a;
            return MLP_OK;
        }
    return mlp_fail(MLP_ERR_ARG,
                    "mlp_activation_from_name: unknown activation '%.64s' (identity, relu, "
                    "logistic, tanh, softmax, leaky_relu, gelu)",
                    name);
}

static mlp_status check_config(const mlp_net_config *cfg) {
    if (!cfg) return mlp_fail(MLP_ERR_NULL, "mlp_net_create: config is NULL");
    if (!cfg->sizes) return mlp_fail(MLP_ERR_NULL, "mlp_net_create: config->sizes is NULL");
    if (!cfg->activations)
        return mlp_fail(MLP_ERR_NULL, "mlp_net_create: config->activations is NULL");
    size_t L = cfg->n_layers;
    if (L == 0 || L > MLP_MAX_LAYERS)
        return mlp_fail(MLP_ERR_ARG, "mlp_net_create: n_layers = %zu, must be in 1..%d", L,
                        MLP_MAX_LAYERS);
    for (size_t i = 0; i <= L; i++)
        if (cfg->sizes[i] == 0) return mlp_fail(MLP_ERR_ARG, "mlp_net_create: sizes[%zu] is 0", i);
    for (size_t l = 0; l < L; l++) {
        mlp_activation a = cfg->activations[l];
        if ((unsigned)a >= MLP_ACT_COUNT)
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_net_create: activations[%zu] = %d is not an activation", l,
                            (int)a);
        /* exp is a link for counts: as a hidden activation it would overflow at once. */
        if ((a == MLP_ACT_SOFTMAX || a == MLP_ACT_EXP) && l + 1 != L)
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_net_create: activations[%zu] is %s; %s is only allowed on the "
                            "output layer (%zu)",
                            l, act_names[a], act_names[a], L - 1);
    }
    if ((unsigned)cfg->init >= MLP_INIT_COUNT)
        return mlp_fail(MLP_ERR_ARG, "mlp_net_create: init = %d is not an init scheme",
                        (int)cfg->init);
    mlp_activation out = cfg->activations[L - 1];
    switch (cfg->loss) {
    case MLP_LOSS_SOFTMAX_CE:
        if (out != MLP_ACT_SOFTMAX)
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_net_create: loss SOFTMAX_CE needs a softmax output layer, got %s",
                            act_names[out]);
        break;
    case MLP_LOSS_LOGISTIC:
        if (out != MLP_ACT_LOGISTIC)
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_net_create: loss LOGISTIC needs a logistic output layer, got %s",
                            act_names[out]);
        break;
    case MLP_LOSS_POISSON:
        if (out != MLP_ACT_EXP)
            return mlp_fail(MLP_ERR_ARG,
                            "mlp_net_create: loss POISSON needs an exp output layer, got %s",
                            act_names[out]);
        break;
    case MLP_LOSS_SQUARED:
        break;
    case MLP_LOSS_HUBER:
        break;
    default:
        return mlp_fail(MLP_ERR_ARG, "mlp_net_create: loss = %d is not a loss", (int)cfg->loss);
    }
    return MLP_OK;
}

/* Fills W and b of every layer, in scikit-learn's order: layer by layer, weights then biases,
 * all from one generator. */
static void init_params(mlp_net *net) {
    mlp_rng rng;
    mlp_rng_seed(&rng, net->seed);
    /* scikit-learn uses one factor for every layer, chosen by the hidden activation. */
    double factor = net->layers[0].act == MLP_ACT_LOGISTIC ? 2.0 : 6.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const mlp_layer *ly = &net->layers[l];
        float *W = net->params + ly->w_off, *b = net->params + ly->b_off;
        size_t nw = ly->in * ly->out;
        if (net->init == MLP_INIT_HE) {
            double r = sqrt(6.0 / (double)ly->in);
            for (size_t i = 0; i < nw; i++) W[i] = (float)(r * (2.0 * mlp_rng_uniform(&rng) - 1.0));
            memset(b, 0, ly->out * sizeof *b);
        } else {
            double r = sqrt(factor / (double)(ly->in + ly->out));
            for (size_t i = 0; i < nw; i++) W[i] = (float)(r * (2.0 * mlp_rng_uniform(&rng) - 1.0));
            for (size_t i = 0; i < ly->out; i++)
                b[i] = (float)(r * (2.0 * mlp_rng_uniform(&rng) - 1.0));
        }
    }
}

mlp_optimizer mlp_optimizer_default(mlp_optimizer_kind kind) {
    mlp_optimizer o = {.kind = kind,
                       .lr = 1e-3f,
                       .alpha = 1e-4f,
                       .momentum = 0.9f,
                       .nesterov = 1,
                       .beta1 = 0.9f,
                       .beta2 = 0.999f,
                       .eps = 1e-8f};
    return o;
}

/* The shape to allocate: a validated config's arrays, or the layers of an existing net. */
typedef struct shape {
    size_t L;
    const size_t *sizes;
    const mlp_activation *acts;
    const mlp_layer *layers;
} shape;

static void shape_layer(const shape *sh, size_t l, mlp_layer *ly) {
    ly->in = sh->layers ? sh->layers[l].in : sh->sizes[l];
    ly->out = sh->layers ? sh->layers[l].out : sh->sizes[l + 1];
    ly->act = sh->layers ? sh->layers[l].act : sh->acts[l];
    ly->dropout = sh->layers ? sh->layers[l].dropout : 0.0f;
}

/* Allocates the layer table, the parameter-sized buffers and the L2 chunk sums for a shape. */
static mlp_status alloc_net(mlp_net **out, const shape *sh) {
    const size_t L = sh->L;
    mlp_net *net = calloc(1, sizeof *net);
    if (!net) return mlp_fail(MLP_ERR_NOMEM, "mlp_net_create: out of memory");
    net->n_layers = L;
    net->layers = calloc(L, sizeof *net->layers);
    net->out = calloc(L, sizeof *net->out);
    net->pre = calloc(L, sizeof *net->pre);
    net->mask = calloc(L, sizeof *net->mask);
    net->out16 = calloc(L, sizeof *net->out16);
    if (!net->layers || !net->out || !net->pre || !net->mask || !net->out16) goto nomem;
    size_t off = 0, l2 = 0;
    for (size_t l = 0; l < L; l++) {
        mlp_layer *ly = &net->layers[l];
        shape_layer(sh, l, ly);
        size_t nw;
        if (!mlp_mul_ok(ly->in, ly->out, &nw) || __builtin_add_overflow(off, nw, &ly->b_off) ||
            __builtin_add_overflow(ly->b_off, ly->out, &off)) {
            mlp_fail(MLP_ERR_OVERFLOW,
                     "mlp_net_create: layer %zu (%zu x %zu) overflows the parameter count", l,
                     ly->in, ly->out);
            mlp_net_free(net); /* after the message: ly points into the net */
            return MLP_ERR_OVERFLOW;
        }
        ly->w_off = ly->b_off - nw;
        ly->l2_first = l2;
        l2 += (nw + MLP_L2_CHUNK - 1) / MLP_L2_CHUNK;
    }
    net->n_params = off;
    net->l2_chunks = l2;
    size_t bytes;
    /* Four buffers of n_params floats (params, grads, two optimizer moments). */
    if (!mlp_mul_ok(off, 4 * sizeof(float), &bytes) || bytes > (SIZE_MAX >> 1)) {
        mlp_net_free(net);
        return mlp_fail(MLP_ERR_OVERFLOW, "mlp_net_create: %zu parameters do not fit in memory",
                        off);
    }
    /* The four buffers together: the limit is on what the net holds, not on each buffer. */
    mlp_status st = mlp_check_alloc(bytes, "mlp_net_create: the network's four parameter-sized "
                                           "buffers (parameters, gradients, two moments)");
    if (st != MLP_OK) {
        mlp_net_free(net);
        return st;
    }
    net->params = calloc(off, sizeof(float));
    net->grads = calloc(off, sizeof(float));
    net->opt_m = calloc(off, sizeof(float));
    net->opt_v = calloc(off, sizeof(float));
    net->l2_parts = calloc(l2, sizeof(double));
    if (!net->params || !net->grads || !net->opt_m || !net->opt_v || !net->l2_parts) goto nomem;
    *out = net;
    return MLP_OK;
nomem:
    mlp_net_free(net);
    return mlp_fail(MLP_ERR_NOMEM, "mlp_net_create: out of memory");
}

mlp_status mlp_net_create(mlp_net **out, const mlp_net_config *cfg) {
    if (!out) return mlp_fail(MLP_ERR_NULL, "mlp_net_create: net is NULL");
    *out = NULL;
    mlp_status st = check_config(cfg);
    if (st != MLP_OK) return st;
    mlp_net *net;
    shape sh = {cfg->n_layers, cfg->sizes, cfg->activations, NULL};
    st = alloc_net(&net, &sh);
    if (st != MLP_OK) return st;
    net->loss = cfg->loss;
    net->huber_delta = cfg->loss == MLP_LOSS_HUBER ? 1.0f : 0.0f; /* PyTorch's default */
    net->init = cfg->init;
    net->seed = cfg->seed;
    net->opt = mlp_optimizer_default(MLP_OPT_ADAM);
    init_params(net);
    *out = net;
    return MLP_OK;
}

void mlp_net_free(mlp_net *net) {
    if (!net) return;
    free(net->layers);
    free(net->params);
    free(net->grads);
    free(net->opt_m);
    free(net->opt_v);
    free(net->l2_parts);
    free(net->ws);
    free(net->shard_dw);
    mlp_dnnl_shared_free(net->infer16);
    free(net->out);
    free(net->pre);
    free(net->mask);
    mlp_bf16_free(net);
    free(net->out16);
    free(net);
}

mlp_status mlp_net_clone(mlp_net **dst, const mlp_net *src) {
    if (!dst) return mlp_fail(MLP_ERR_NULL, "mlp_net_clone: dst is NULL");
    *dst = NULL;
    if (!src) return mlp_fail(MLP_ERR_NULL, "mlp_net_clone: src is NULL");
    shape sh = {src->n_layers, NULL, NULL, src->layers};
    mlp_net *net;
    mlp_status st = alloc_net(&net, &sh);
    if (st != MLP_OK) return st;
    size_t bytes = src->n_params * sizeof(float);
    memcpy(net->params, src->params, bytes);
    memcpy(net->grads, src->grads, bytes);
    memcpy(net->opt_m, src->opt_m, bytes);
    memcpy(net->opt_v, src->opt_v, bytes);
    net->loss = src->loss;
    net->huber_delta = src->huber_delta;
    net->init = src->init;
    net->seed = src->seed;
    net->opt = src->opt;
    net->step = src->step;
    st = mlp_net_set_precision(net, src->prec);
    if (st == MLP_OK) st = mlp_net_set_predict_precision(net, src->pred_prec);
    if (st != MLP_OK) {
        mlp_net_free(net);
        return st;
    }
    *dst = net;
    return MLP_OK;
}

/* ---- workspace ---- */

/* Floats per row of the workspace, and the row width of the widest layer. */
/* Workspace floats per row of one layer: its outputs, the pre-activations where the derivative
 * needs them, the dropout mask where it has dropout. */
static size_t layer_ws_floats(size_t w, mlp_activation act, bool dropout) {
    return (mlp_act_needs_pre(act) ? 2 * w : w) + (dropout ? w : 0);
}

static size_t ws_per_row(const mlp_net *net, size_t *maxw) {
    size_t per_row = 1 /* row_loss */;
    *maxw = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t w = net->layers[l].out;
        per_row += layer_ws_floats(w, net->layers[l].act, net->layers[l].dropout > 0.0f);
        if (w > *maxw) *maxw = w;
    }
    return per_row + 2 * *maxw; /* the two delta buffers */
}

double mlp_net_workspace_bytes(const mlp_net *net, size_t rows) {
    size_t maxw, per_row = ws_per_row(net, &maxw);
    const double chunks = (double)(rows / MLP_COLSUM_CHUNK + 1);
    return sizeof(float) * ((double)per_row * (double)rows + 2.0 * chunks * (double)maxw) +
           mlp_split_bytes((double)net->n_params, rows);
}

void mlp_layers_bytes(size_t L, const size_t *sizes, const mlp_activation *acts, bool dropout,
                      size_t rows, double *net_bytes, double *ws_bytes) {
    double params = 0.0, per_row = 1.0, maxw = 0.0;
    for (size_t l = 0; l < L; l++) {
        const double w = (double)sizes[l + 1];
        params += ((double)sizes[l] + 1.0) * w;
        per_row += (double)layer_ws_floats(1, acts[l], dropout && l + 1 < L) * w;
        if (w > maxw) maxw = w;
    }
    const double chunks = (double)(rows / MLP_COLSUM_CHUNK + 1);
    *net_bytes = 4.0 * sizeof(float) * params;
    *ws_bytes = sizeof(float) * ((per_row + 2.0 * maxw) * (double)rows + 2.0 * chunks * maxw) +
                mlp_split_bytes(params, rows);
}

static void carve_workspace(mlp_net *net, float *p, size_t n, size_t maxw, size_t chunks) {
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t w = net->layers[l].out;
        net->out[l] = p;
        p += n * w;
        net->pre[l] = NULL;
        if (mlp_act_needs_pre(net->layers[l].act)) {
            net->pre[l] = p;
            p += n * w;
        }
        net->mask[l] = NULL;
        if (net->layers[l].dropout > 0.0f) {
            net->mask[l] = p;
            p += n * w;
        }
    }
    for (int i = 0; i < 2; i++) {
        net->delta[i] = p;
        p += n * maxw;
    }
    net->row_loss = p;
    p += n;
    for (int i = 0; i < 2; i++) {
        net->colsum[i] = p;
        p += chunks * maxw;
    }
}

mlp_status mlp_net_grow_workspace(mlp_net *net, size_t n) {
    const bool bf16 = net->prec == MLP_PRECISION_BF16;
    if (n <= net->cap && (!bf16 || net->ws16)) return MLP_OK;
    if (n < net->cap) n = net->cap;
    size_t maxw, per_row = ws_per_row(net, &maxw);
    size_t chunks = n / MLP_COLSUM_CHUNK + 1, total, part, bytes;
    if (!mlp_mul_ok(n, per_row, &total) || !mlp_mul_ok(2 * chunks, maxw, &part) ||
        __builtin_add_overflow(total, part, &total) || !mlp_mul_ok(total, sizeof(float), &bytes) ||
        bytes > (SIZE_MAX >> 1))
        return mlp_fail(MLP_ERR_OVERFLOW, "workspace for a batch of %zu rows overflows", n);
    mlp_status st = mlp_check_alloc(bytes, "the workspace for this batch size");
    if (st != MLP_OK) return st;
    if (bf16) {
        st = mlp_bf16_workspace(net, n);
        if (st != MLP_OK) return st;
    }
    float *ws = malloc(bytes);
    if (!ws)
        return mlp_fail(MLP_ERR_NOMEM,
                        "workspace for a batch of %zu rows: cannot allocate %zu bytes", n, bytes);
    free(net->ws);
    net->ws = ws;
    net->cap = n;
    carve_workspace(net, ws, n, maxw, chunks);
    /* The old workspace held the pending forward pass. */
    mlp_pass_reset(net);
    return MLP_OK;
}

mlp_status mlp_net_reserve(mlp_net *net, size_t max_batch) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "mlp_net_reserve: net is NULL");
    if (max_batch == 0) return mlp_fail(MLP_ERR_ARG, "mlp_net_reserve: max_batch is 0");
    return mlp_net_grow_workspace(net, max_batch);
}

mlp_status mlp_check_batch(const mlp_net *net, const void *X, size_t n, const char *fn) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    if (!X) return mlp_fail(MLP_ERR_NULL, "%s: input is NULL", fn);
    if (n == 0) return mlp_fail(MLP_ERR_ARG, "%s: batch size n is 0", fn);
    size_t elems;
    if (!mlp_mul_ok(n, net->layers[0].in, &elems))
        return mlp_fail(MLP_ERR_OVERFLOW, "%s: n = %zu rows x %zu features overflows", fn, n,
                        net->layers[0].in);
    return MLP_OK;
}

/* ---- accessors ---- */

size_t mlp_net_n_layers(const mlp_net *net) {
    return net ? net->n_layers : 0;
}

size_t mlp_net_input_size(const mlp_net *net) {
    return net ? net->layers[0].in : 0;
}

size_t mlp_net_output_size(const mlp_net *net) {
    return net ? net->layers[net->n_layers - 1].out : 0;
}

mlp_loss mlp_net_loss(const mlp_net *net) {
    return net ? net->loss : MLP_LOSS_SOFTMAX_CE;
}

mlp_status mlp_net_set_huber_delta(mlp_net *net, float delta) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "mlp_net_set_huber_delta: net is NULL");
    if (net->loss != MLP_LOSS_HUBER)
        return mlp_fail(MLP_ERR_ARG, "mlp_net_set_huber_delta: the net's loss is not HUBER");
    if (!(delta > 0.0f) || !isfinite(delta))
        return mlp_fail(MLP_ERR_ARG, "mlp_net_set_huber_delta: delta = %g, must be finite and > 0",
                        (double)delta);
    mlp_pass_reset(net); /* the pending pass's loss was of the old delta */
    net->huber_delta = delta;
    return MLP_OK;
}

float mlp_net_huber_delta(const mlp_net *net) {
    return net ? net->huber_delta : 0.0f;
}

static mlp_status check_layer(const mlp_net *net, size_t layer, const char *fn) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    if (layer >= net->n_layers)
        return mlp_fail(MLP_ERR_ARG, "%s: layer %zu out of range (the net has %zu)", fn, layer,
                        net->n_layers);
    return MLP_OK;
}

mlp_status mlp_net_layer_shape(const mlp_net *net, size_t layer, size_t *in, size_t *out,
                               mlp_activation *activation) {
    mlp_status st = check_layer(net, layer, "mlp_net_layer_shape");
    if (st != MLP_OK) return st;
    const mlp_layer *ly = &net->layers[layer];
    if (in) *in = ly->in;
    if (out) *out = ly->out;
    if (activation) *activation = ly->act;
    return MLP_OK;
}

size_t mlp_net_param_count(const mlp_net *net) {
    return net ? net->n_params : 0;
}

/* Handing out a writable view of the parameters: the caller may change them, so the bf16 copy
 * is made again before the next pass uses it. */
float *mlp_net_params(mlp_net *net) {
    if (!net) return NULL;
    net->w16_fresh = false;
    return net->params;
}

float *mlp_net_grads(mlp_net *net) {
    return net ? net->grads : NULL;
}

static mlp_status layer_view(mlp_net *net, float *base, size_t layer, float **W, float **b,
                             const char *fn) {
    mlp_status st = check_layer(net, layer, fn);
    if (st != MLP_OK) return st;
    if (W) *W = base + net->layers[layer].w_off;
    if (b) *b = base + net->layers[layer].b_off;
    return MLP_OK;
}

mlp_status mlp_net_layer_params(mlp_net *net, size_t layer, float **W, float **b) {
    if (net) net->w16_fresh = false; /* a writable view, as mlp_net_params */
    return layer_view(net, net ? net->params : NULL, layer, W, b, "mlp_net_layer_params");
}

mlp_status mlp_net_layer_grads(mlp_net *net, size_t layer, float **dW, float **db) {
    return layer_view(net, net ? net->grads : NULL, layer, dW, db, "mlp_net_layer_grads");
}

static mlp_status check_copy(const mlp_net *net, const float *buf, size_t count, const char *fn) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    if (!buf) return mlp_fail(MLP_ERR_NULL, "%s: buffer is NULL", fn);
    if (count != net->n_params)
        return mlp_fail(MLP_ERR_SHAPE, "%s: count = %zu, the net has %zu parameters", fn, count,
                        net->n_params);
    return MLP_OK;
}

mlp_status mlp_net_get_params(const mlp_net *net, float *dst, size_t count) {
    mlp_status st = check_copy(net, dst, count, "mlp_net_get_params");
    if (st == MLP_OK) memcpy(dst, net->params, count * sizeof(float));
    return st;
}

mlp_status mlp_net_set_params(mlp_net *net, const float *src, size_t count) {
    mlp_status st = check_copy(net, src, count, "mlp_net_set_params");
    if (st == MLP_OK) memcpy(net->params, src, count * sizeof(float));
    if (st == MLP_OK) net->w16_fresh = false;
    return st;
}

/* ---- dropout ---- */

mlp_status mlp_net_set_dropout(mlp_net *net, size_t layer, float p) {
    mlp_status st = check_layer(net, layer, "mlp_net_set_dropout");
    if (st != MLP_OK) return st;
    if (layer + 1 == net->n_layers)
        return mlp_fail(MLP_ERR_ARG,
                        "mlp_net_set_dropout: layer %zu is the output layer; dropout applies to "
                        "hidden layers (0 .. %zu)",
                        layer, net->n_layers - 1);
    if (!(p >= 0.0f && p < 1.0f))
        return mlp_fail(MLP_ERR_ARG, "mlp_net_set_dropout: p = %g, must be in [0, 1)", (double)p);
    mlp_layer *ly = &net->layers[layer];
    if ((ly->dropout > 0.0f) != (p > 0.0f)) {
        /* The layer gains or loses its mask buffer: the next call lays out a new workspace. */
        free(net->ws);
        net->ws = NULL;
        net->cap = 0;
        mlp_pass_reset(net);
    }
    ly->dropout = p;
    return MLP_OK;
}

float mlp_net_dropout(const mlp_net *net, size_t layer) {
    return net && layer < net->n_layers ? net->layers[layer].dropout : 0.0f;
}

/* ---- training state (state.h) ---- */

mlp_state_view mlp_net_state_view(const mlp_net *net) {
    mlp_state_view v = {net->n_params, net->params, net->opt_m, net->opt_v, net->step};
    return v;
}

mlp_state mlp_net_state_begin(mlp_net *net) {
    net->w16_fresh = false;
    mlp_state s = {net->n_params, net->params, net->opt_m, net->opt_v, net->step};
    return s;
}

void mlp_net_state_end(mlp_net *net, uint64_t step) {
    net->step = step;
    mlp_pass_reset(net);
}

void mlp_net_init_of(const mlp_net *net, mlp_init *init, uint64_t *seed) {
    *init = net->init;
    *seed = net->seed;
}

size_t mlp_net_state_size(const mlp_net *net) {
    return 3 * net->n_params;
}

void mlp_net_save_state(const mlp_net *net, float *snap, uint64_t *step) {
    const size_t P = net->n_params;
    memcpy(snap, net->params, P * sizeof(float));
    memcpy(snap + P, net->opt_m, P * sizeof(float));
    memcpy(snap + 2 * P, net->opt_v, P * sizeof(float));
    *step = net->step;
}

void mlp_net_restore_state(mlp_net *net, const float *snap, uint64_t step) {
    const size_t P = net->n_params;
    memcpy(net->params, snap, P * sizeof(float));
    memcpy(net->opt_m, snap + P, P * sizeof(float));
    memcpy(net->opt_v, snap + 2 * P, P * sizeof(float));
    net->step = step;
    net->w16_fresh = false;
    mlp_pass_reset(net);
}

bool mlp_net_params_finite(const mlp_net *net) {
    for (size_t i = 0; i < net->n_params; i++)
        if (!isfinite(net->params[i])) return false;
    return true;
}
