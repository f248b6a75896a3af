/* What one mlp_fit will allocate, added up and checked against the memory limit before anything
 * is allocated: the network it creates (four parameter-sized buffers), the workspace of its
 * batch, the two rollback snapshots (parameters and both moments each), the copies of the data it
 * makes (targets, the batch, the validation rows, the best weights), lbfgs's corrections and bf16
 * training's copies.
 * Checking each buffer alone let a fit of many buffers just under the limit take several times
 * the limit (4.65 GiB under a 2 GiB limit, measured). */
#include "fit/fit_internal.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct budget {
    double net, workspace, snapshots, data, solver;
} budget;

#define GIB (1024.0 * 1024.0 * 1024.0)

/* The created net's and its workspace's bytes from the options (widths d, hidden..., out). */
static mlp_status new_net_bytes(const mlp_fit_data *in, const mlp_fit_options *o,
                                mlp_activation out_act, size_t out_width, size_t rows, budget *b) {
    const size_t L = o->n_hidden + 1;
    mlp_status st = MLP_OK;
    size_t *sizes = mlp_alloc_array(L + 1, sizeof *sizes, "mlp_fit: the layer sizes", &st);
    mlp_activation *acts = mlp_alloc_array(L, sizeof *acts, "mlp_fit: the layer activations", &st);
    if (st == MLP_OK) {
        sizes[0] = in->d;
        for (size_t l = 0; l < o->n_hidden; l++) {
            sizes[l + 1] = o->hidden[l];
            acts[l] = o->activations ? o->activations[l] : o->activation;
        }
        sizes[L] = out_width;
        acts[L - 1] = out_act;
        mlp_layers_bytes(L, sizes, acts, o->dropout > 0.0f, rows, &b->net, &b->workspace);
    }
    free(sizes);
    free(acts);
    return st;
}

/* Bytes of the fit's own buffers (fit.c's alloc_buffers and build_targets) for P parameters. */
static void loop_bytes(const mlp_fit_state *s, const mlp_fit_data *in, bool lbfgs, double P,
                       budget *b) {
    const double f = sizeof(float), n = (double)in->n, d = (double)in->d;
    const double w = (double)s->out_width, nv = (double)s->n_val, batch = (double)s->batch;
    b->data = n * w * f + n * sizeof(size_t);
    if (lbfgs) {
        b->solver = mlp_fit_lbfgs_bytes(P);
        return;
    }
    b->snapshots = 2.0 * 3.0 * P * f;
    b->data += batch * (d + w + (in->w ? 1.0 : 0.0)) * f;
    if (s->n_val) b->data += nv * (d + 2.0 * w + 3.0) * f + P * f;
    /* The stratified split's rows grouped by class (split.c), while it runs. */
    if (s->n_val && !s->own_val && in->task == MLP_TASK_CLASSIFY) b->data += n * sizeof(size_t);
}

/* Layer l's input and output widths: the warm-start net's, or the ones the options give. */
static void layer_widths(const mlp_net *warm, const mlp_fit_data *in, const mlp_fit_options *o,
                         size_t out_width, size_t l, double *fan_in, double *fan_out) {
    size_t a = 0, b = 0;
    if (warm) {
        (void)mlp_net_layer_shape(warm, l, &a, &b, NULL);
    } else {
        a = l == 0 ? in->d : o->hidden[l - 1];
        b = l == o->n_hidden ? out_width : o->hidden[l];
    }
    *fan_in = (double)a, *fan_out = (double)b;
}

/* bf16 training's own memory (precision.c, pass.c): the parameters' bf16 copy, up to three
 * partial dW buffers of the widest layer, and the workspace's bf16 part (the batch, the hidden
 * outputs and two deltas, rounded). */
static double bf16_bytes(const mlp_net *warm, const mlp_fit_data *in, const mlp_fit_options *o,
                         size_t out_width, double P, size_t rows) {
    const size_t L = warm ? mlp_net_n_layers(warm) : o->n_hidden + 1;
    double cells = 1.0, per_row = (double)in->d, maxw = 0.0;
    for (size_t l = 0; l < L; l++) {
        double a, b;
        layer_widths(warm, in, o, out_width, l, &a, &b);
        if (a * b > cells) cells = a * b;
        if (b > maxw) maxw = b;
        if (l + 1 < L) per_row += b;
    }
    return 2.0 * P + 3.0 * cells * sizeof(float) + 2.0 * (double)rows * (per_row + 2.0 * maxw);
}

mlp_status mlp_fit_check_budget(const mlp_fit_state *s, const mlp_net *warm, const mlp_fit_data *in,
                                const mlp_fit_options *o, mlp_activation out_act, size_t ws_rows) {
    budget b = {0};
    if (warm) {
        b.workspace = mlp_net_workspace_bytes(warm, ws_rows);
    } else {
        mlp_status st = new_net_bytes(in, o, out_act, s->out_width, ws_rows, &b);
        if (st != MLP_OK) return st;
    }
    /* What the net's own check would call an overflow (net.c): report it as one here too. */
    if (b.net > (double)(SIZE_MAX >> 1))
        return mlp_fail(MLP_ERR_OVERFLOW,
                        "mlp_fit: the layers' parameter count overflows (%.3g bytes of buffers)",
                        b.net);
    /* The created net's four buffers hold P floats each. */
    const double P = warm ? (double)mlp_net_param_count(warm) : b.net / (4.0 * sizeof(float));
    loop_bytes(s, in, o->opt.kind == MLP_OPT_LBFGS, P, &b);
    const bool bf16 = o->opt.kind != MLP_OPT_LBFGS && o->precision != MLP_PRECISION_F32 &&
                      mlp_precision_supported(MLP_PRECISION_BF16);
    if (bf16) b.net += bf16_bytes(warm, in, o, s->out_width, P, ws_rows);
    const double total = b.net + b.workspace + b.snapshots + b.data + b.solver;
    const double limit = (double)mlp_get_memory_limit();
    if (total <= limit) return MLP_OK;
    return mlp_fail(MLP_ERR_LIMIT,
                    "mlp_fit: training needs %.0f bytes (%.3g GiB: network %.3g, workspace %.3g, "
                    "rollback snapshots %.3g, data copies %.3g, solver %.3g), more than the "
                    "memory limit of %.0f bytes (%.3g GiB; mlp_set_memory_limit)",
                    total, total / GIB, b.net / GIB, b.workspace / GIB, b.snapshots / GIB,
                    b.data / GIB, b.solver / GIB, limit, limit / GIB);
}
