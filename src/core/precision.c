/* The precision of a net's training passes: what this CPU and build support, the setting, and the
 * bf16 state it brings (the weights' bf16 copy, the workspace's bf16 part, the kernel cache).
 * F32 is what mlp always did (OpenBLAS sgemm tiles); BF16 runs the same tiles through oneDNN with
 * operands rounded to bfloat16 and f32 accumulation (gemm_dnnl.c). */
#include "core/core.h"

#include <stdlib.h>

/* A bf16 dW is cut into at most this many parts along the batch (pass.c): each needs a buffer of
 * the layer's dW. */
#define MAX_DW_PARTS 4

static const char *const names[MLP_PRECISION_COUNT] = {"f32", "bf16", "auto"};

const char *mlp_precision_name(mlp_precision p) {
    return (unsigned)p < MLP_PRECISION_COUNT ? names[p] : NULL;
}

int mlp_precision_supported(mlp_precision p) {
    if ((unsigned)p >= MLP_PRECISION_COUNT) return 0;
    const char *isa;
    return p != MLP_PRECISION_BF16 || mlp_dnnl_bf16_supported(&isa);
}

const char *mlp_precision_isa(void) {
    const char *isa;
    (void)mlp_dnnl_bf16_supported(&isa);
    return isa;
}

mlp_precision mlp_net_precision(const mlp_net *net) {
    return net ? net->prec : MLP_PRECISION_F32;
}

void mlp_bf16_free(mlp_net *net) {
    mlp_dnnl_free(net->dnnl);
    free(net->w16);
    free(net->ws16);
    free(net->dw_parts);
    net->dw_parts = NULL;
    net->dw_parts_max = 0;
    net->dnnl = NULL;
    net->w16 = NULL;
    net->ws16 = NULL;
    net->x16 = net->delta16[0] = net->delta16[1] = NULL;
    for (size_t l = 0; net->out16 && l < net->n_layers; l++) net->out16[l] = NULL;
    net->w16_fresh = false;
}

/* bf16 values per workspace row: the input, the hidden outputs, two deltas of the widest layer. */
static size_t ws16_per_row(const mlp_net *net, size_t *maxw) {
    size_t per_row = net->layers[0].in;
    *maxw = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        if (l + 1 < net->n_layers) per_row += net->layers[l].out;
        if (net->layers[l].out > *maxw) *maxw = net->layers[l].out;
    }
    return per_row + 2 * *maxw;
}

mlp_status mlp_bf16_workspace(mlp_net *net, size_t n) {
    size_t maxw, per_row = ws16_per_row(net, &maxw), count, bytes;
    if (!mlp_mul_ok(n, per_row, &count) || !mlp_mul_ok(count, sizeof(mlp_bf16), &bytes))
        return mlp_fail(MLP_ERR_OVERFLOW, "bf16 workspace for a batch of %zu rows overflows", n);
    mlp_status st = MLP_OK;
    mlp_bf16 *p = mlp_alloc_array(count, sizeof(mlp_bf16), "the bf16 workspace", &st);
    if (!p) return st;
    free(net->ws16);
    net->ws16 = p;
    net->x16 = p;
    p += n * net->layers[0].in;
    for (size_t l = 0; l < net->n_layers; l++) {
        net->out16[l] = NULL;
        if (l + 1 == net->n_layers) continue;
        net->out16[l] = p;
        p += n * net->layers[l].out;
    }
    net->delta16[0] = p;
    net->delta16[1] = p + n * maxw;
    return MLP_OK;
}

/* The bf16 state of a net switching to BF16: the kernel cache and the weights' copy. */
static mlp_status bf16_begin(mlp_net *net) {
    mlp_status st = MLP_OK;
    mlp_bf16 *w16 = mlp_alloc_array(net->n_params, sizeof(mlp_bf16), "the weights' bf16 copy", &st);
    /* dW parts beyond the first (pass.c): at most one per core, at most MAX_DW_PARTS. */
    const size_t width = (size_t)mlp_parallel_width();
    const size_t parts = width < MAX_DW_PARTS ? width : MAX_DW_PARTS;
    size_t cells = 1;
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].in * net->layers[l].out > cells)
            cells = net->layers[l].in * net->layers[l].out;
    float *dw = mlp_alloc_array((parts - 1) * cells, sizeof(float), "the partial dW buffers", &st);
    /* A net whose f32 GEMMs already run through oneDNN (mlp_dnnl_f32_wanted) has a cache: its
     * entries are keyed by data type, so bf16's join them. */
    mlp_dnnl *d = net->dnnl;
    if (st == MLP_OK && !d) st = mlp_dnnl_create(&d);
    if (st != MLP_OK) {
        free(w16);
        free(dw);
        return st;
    }
    net->w16 = w16;
    net->dw_parts = dw;
    net->dw_parts_max = parts;
    net->dnnl = d;
    net->w16_fresh = false;
    return MLP_OK;
}

mlp_status mlp_net_set_precision(mlp_net *net, mlp_precision p) {
    if (!net) return mlp_fail(MLP_ERR_NULL, "mlp_net_set_precision: net is NULL");
    if ((unsigned)p >= MLP_PRECISION_COUNT)
        return mlp_fail(MLP_ERR_ARG, "mlp_net_set_precision: unknown precision %d", (int)p);
    if (p == net->prec) return MLP_OK;
    /* Asking oneDNN starts its engine: only when bf16 is wanted. */
    const char *isa = "";
    const bool bf16_ok = p != MLP_PRECISION_F32 && mlp_dnnl_bf16_supported(&isa);
    if (p == MLP_PRECISION_AUTO) p = bf16_ok ? MLP_PRECISION_BF16 : MLP_PRECISION_F32;
    if (p == MLP_PRECISION_BF16 && !bf16_ok)
        return mlp_fail(MLP_ERR_UNSUPPORTED, "mlp_net_set_precision: bf16 is not available: %s",
                        isa);
    if (p == net->prec) return MLP_OK;
    if (p == MLP_PRECISION_BF16) {
        mlp_status st = bf16_begin(net);
        if (st != MLP_OK) return st;
    } else {
        mlp_bf16_free(net);
    }
    net->prec = p;
    /* The workspace's layout depends on the precision: the next reserve or step sizes it again. */
    free(net->ws);
    net->ws = NULL;
    net->cap = 0;
    mlp_pass_reset(net);
    return MLP_OK;
}

mlp_status mlp_net_set_predict_precision(mlp_net *net, mlp_precision p) {
    static const char fn[] = "mlp_net_set_predict_precision";
    if (!net) return mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    if ((unsigned)p >= MLP_PRECISION_COUNT)
        return mlp_fail(MLP_ERR_ARG, "%s: unknown precision %d", fn, (int)p);
    const char *isa = "";
    const bool bf16_ok = p != MLP_PRECISION_F32 && mlp_dnnl_bf16_supported(&isa);
    if (p == MLP_PRECISION_AUTO) p = bf16_ok ? MLP_PRECISION_BF16 : MLP_PRECISION_F32;
    if (p == MLP_PRECISION_BF16 && !bf16_ok)
        return mlp_fail(MLP_ERR_UNSUPPORTED, "%s: bf16 is not available: %s", fn, isa);
    if (p == MLP_PRECISION_BF16 && !net->infer16) {
        mlp_status st = mlp_dnnl_shared_create(&net->infer16);
        if (st != MLP_OK) return st;
    }
    /* The kernels stay: they are only memory, and a switch back to bf16 reuses them. */
    net->pred_prec = p;
    return MLP_OK;
}

mlp_precision mlp_net_predict_precision(const mlp_net *net) {
    return net ? net->pred_prec : MLP_PRECISION_F32;
}
