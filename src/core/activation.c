/* Activations: bias add fused with the activation (forward), derivative fused into the incoming
 * gradient (backward), and deterministic column sums for bias gradients.
 *
 * The work is done by row kernels compiled per ISA level (MLP_CLONES) on blocks of a matrix
 * (rows x cols with a leading dimension): the passes (pass.c) call them on each GEMM tile right
 * after the tile is computed, while it is in cache, on whichever thread computed it. Elements are
 * independent, and column sums are taken over fixed MLP_COLSUM_CHUNK-row chunks, so no result
 * depends on the tiling or the thread count. */
#include "core/core.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define LEAKY_SLOPE 0.01f
#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

/* glibc's libmvec has SIMD versions of expf (SSE, AVX2, AVX-512); <math.h> declares them only
 * under -ffast-math, which the library does not use. Declaring them here lets the vectorizer call
 * them. Accuracy: within 4 ulp (glibc manual), enough for activations and softmax. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(_OPENMP)
#pragma omp declare simd notinbranch
#endif
float expf(float);

bool mlp_act_needs_pre(mlp_activation act) {
    return act == MLP_ACT_GELU;
}

/* ---- row kernels ---- */

/* A block of whole rows (cols == ld) is one contiguous run: the elementwise kernels then take it
 * as a single row, so that narrow rows (10 or 50 wide) do not each end in a partial vector. */
static void flatten(size_t *rows, size_t *cols, size_t *ld) {
    if (*cols != *ld) return;
    *cols *= *rows;
    *ld = *cols;
    *rows = 1;
}

/* Softmax of rows narrower than a vector, rows + b in place (ld == m <= SOFTMAX_NARROW).
 * Row by row, each of softmax's short loops (10 classes) ran mostly in its scalar remainder and
 * the row's max went through memory (perf: 13% of the digits step in bias_act_rows). Here groups
 * of 16 rows are turned on their side into a column-major block, so that a vector holds one class
 * of 16 rows: the max, exp, sum and scale are a few full-width operations per class. Per element
 * the operations are the row path's (z + b - max, exp, times 1 / the sum over the classes in
 * order); padding lanes of a short last group compute on zeros and are not stored. */
#define SOFTMAX_NARROW 16
#define SOFTMAX_GROUP 16
MLP_CLONES static void softmax_narrow(float *restrict Z, const float *restrict b, size_t rows,
                                      size_t m) {
    float t[SOFTMAX_NARROW][SOFTMAX_GROUP], mx[SOFTMAX_GROUP], sum[SOFTMAX_GROUP];
    for (size_t r0 = 0; r0 < rows; r0 += SOFTMAX_GROUP) {
        const size_t R = rows - r0 < SOFTMAX_GROUP ? rows - r0 : SOFTMAX_GROUP;
        float *restrict z = Z + r0 * m;
        for (size_t i = 0; i < SOFTMAX_GROUP; i++) mx[i] = -INFINITY, sum[i] = 0.0f;
        for (size_t j = 0; j < m; j++)
            for (size_t i = 0; i < SOFTMAX_GROUP; i++) t[j][i] = i < R ? z[i * m + j] + b[j] : 0.0f;
        for (size_t j = 0; j < m; j++)
#pragma omp simd
            for (size_t i = 0; i < SOFTMAX_GROUP; i++) mx[i] = t[j][i] > mx[i] ? t[j][i] : mx[i];
        for (size_t j = 0; j < m; j++) {
#pragma omp simd
            for (size_t i = 0; i < SOFTMAX_GROUP; i++) {
                t[j][i] = expf(t[j][i] - mx[i]);
                sum[i] += t[j][i];
            }
        }
#pragma omp simd
        for (size_t i = 0; i < SOFTMAX_GROUP; i++) sum[i] = 1.0f / sum[i];
        for (size_t j = 0; j < m; j++)
            for (size_t i = 0; i < R; i++) z[i * m + j] = t[j][i] * sum[i];
    }
}

MLP_CLONES static void bias_act_rows(float *restrict Z, float *restrict pre,
                                     const float *restrict b, size_t rows, size_t m, size_t ld,
                                     mlp_activation act) {
    for (size_t i = 0; i < rows; i++) {
        float *restrict z = Z + i * ld;
        switch (act) {
        case MLP_ACT_IDENTITY:
#pragma omp simd
            for (size_t j = 0; j < m; j++) z[j] += b[j];
            break;
        case MLP_ACT_RELU:
#pragma omp simd
            for (size_t j = 0; j < m; j++) {
                float v = z[j] + b[j];
                z[j] = v > 0.0f ? v : 0.0f;
            }
            break;
        case MLP_ACT_LEAKY_RELU:
#pragma omp simd
            for (size_t j = 0; j < m; j++) {
                float v = z[j] + b[j];
                z[j] = v > 0.0f ? v : LEAKY_SLOPE * v;
            }
            break;
        case MLP_ACT_LOGISTIC:
            /* exp(-v) overflows to +inf for v < -88, and 1/(1+inf) = 0: no NaN at the ends. */
#pragma omp simd
            for (size_t j = 0; j < m; j++) z[j] = 1.0f / (1.0f + expf(-(z[j] + b[j])));
            break;
        case MLP_ACT_TANH:
            for (size_t j = 0; j < m; j++) z[j] = tanhf(z[j] + b[j]);
            break;
        case MLP_ACT_EXP:
            /* Overflows to +inf above 88.7: the loss then is not finite and the step refused. */
#pragma omp simd
            for (size_t j = 0; j < m; j++) z[j] = expf(z[j] + b[j]);
            break;
        case MLP_ACT_GELU: {
            /* Inference keeps no pre-activation (pre NULL): only backward needs it. */
            float *restrict p = pre ? pre + i * ld : NULL;
            for (size_t j = 0; j < m; j++) {
                const float v = z[j] + b[j];
                if (p) p[j] = v;
                z[j] = 0.5f * v * (1.0f + erff(v * INV_SQRT2));
            }
            break;
        }
        case MLP_ACT_SOFTMAX: {
            /* Max-subtracted, so exp never overflows and the largest term is exactly 1. */
            float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
            for (size_t j = 0; j < m; j++) {
                z[j] += b[j];
                mx = z[j] > mx ? z[j] : mx;
            }
#pragma omp simd
            for (size_t j = 0; j < m; j++) z[j] -= mx;
            break;
        }
        default:
            break;
        }
    }
    if (act != MLP_ACT_SOFTMAX) return;
    /* exp over the whole block at once: rows are short (10 classes), and one flat loop keeps the
     * vector exp full instead of leaving most of each row to scalar calls. Softmax blocks are
     * whole rows (ld == m). */
    const size_t count = rows * m;
#pragma omp simd
    for (size_t k = 0; k < count; k++) Z[k] = expf(Z[k]);
    for (size_t i = 0; i < rows; i++) {
        float *restrict z = Z + i * m, sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (size_t j = 0; j < m; j++) sum += z[j];
        const float inv = 1.0f / sum;
#pragma omp simd
        for (size_t j = 0; j < m; j++) z[j] *= inv;
    }
}

/* ---- derivatives: the one definition of each, used by the plain and the dropout delta paths ----
 * Each takes the incoming gradient g and returns g * f'(.) from the output a (or, for GELU, the
 * pre-activation z). ReLU and leaky ReLU select instead of multiplying: scikit-learn zeroes the
 * gradient where the output is exactly 0, whatever the gradient (also for inf or NaN). */
static inline float relu_back(float g, float a) {
    return a > 0.0f ? g : 0.0f;
}
/* The output has the sign of the input, so the output decides the slope. */
static inline float leaky_relu_back(float g, float a) {
    return a > 0.0f ? g : LEAKY_SLOPE * g;
}
static inline float logistic_back(float g, float a) {
    return g * (a * (1.0f - a));
}
static inline float tanh_back(float g, float a) {
    return g * (1.0f - a * a);
}
static inline float exp_back(float g, float a) {
    return g * a;
}
static inline float gelu_back(float g, float z) {
    return g * (0.5f * (1.0f + erff(z * INV_SQRT2)) + z * INV_SQRT_2PI * expf(-0.5f * z * z));
}

/* g = g * f'(x) over m elements of one row (x: the outputs, or the pre-activations for GELU),
 * one vector loop per activation. Softmax is not elementwise (softmax_back). */
static inline void act_back_row(float *restrict g, const float *restrict x, size_t m,
                                mlp_activation act) {
/* One vector loop per derivative (a switch inside the loop would not vectorise). */
#define BACK_LOOP(fn)                                                                              \
    _Pragma("omp simd") for (size_t j = 0; j < m; j++) g[j] = fn(g[j], x[j]);                      \
    break
    switch (act) {
    case MLP_ACT_RELU:
        BACK_LOOP(relu_back);
    case MLP_ACT_LEAKY_RELU:
        BACK_LOOP(leaky_relu_back);
    case MLP_ACT_LOGISTIC:
        BACK_LOOP(logistic_back);
    case MLP_ACT_TANH:
        BACK_LOOP(tanh_back);
    case MLP_ACT_EXP:
        BACK_LOOP(exp_back);
    case MLP_ACT_GELU: /* erff has no vector variant: the loop stays scalar anyway */
        for (size_t j = 0; j < m; j++) g[j] = gelu_back(g[j], x[j]);
        break;
    default: /* IDENTITY */
        break;
    }
#undef BACK_LOOP
}

/* g_i <- a_i (g_i - sum_j g_j a_j): softmax's Jacobian-vector product on one row. */
static inline void softmax_back(float *restrict g, const float *restrict a, size_t m) {
    float dot = 0.0f;
    for (size_t j = 0; j < m; j++) dot += g[j] * a[j];
    for (size_t j = 0; j < m; j++) g[j] = a[j] * (g[j] - dot);
}

/* G = G * f'(A) for rows x m; for softmax the Jacobian-vector product. */
MLP_CLONES static void backward_rows(float *restrict G, const float *restrict A,
                                     const float *restrict pre, size_t rows, size_t m, size_t ld,
                                     mlp_activation act) {
    for (size_t i = 0; i < rows; i++) {
        float *restrict g = G + i * ld;
        if (act == MLP_ACT_SOFTMAX)
            softmax_back(g, A + i * ld, m);
        else
            act_back_row(g, act == MLP_ACT_GELU ? pre + i * ld : A + i * ld, m, act);
    }
}

/* G = G * mask * f'(a) for a hidden layer with dropout: A holds the dropped, rescaled outputs
 * (A = f(z) * mask, mask = 0 or 1/keep), so the derivatives that are functions of the output take
 * it unscaled, a = A * keep, gathered into u (one row; where the unit was dropped, mask = 0 ends
 * the product anyway). */
MLP_CLONES static void dropout_rows(float *restrict G, const float *restrict A,
                                    const float *restrict mask, const float *restrict pre,
                                    size_t rows, size_t m, size_t ld, mlp_activation act,
                                    float keep) {
    for (size_t i = 0; i < rows; i++) {
        float *restrict g = G + i * ld;
        const float *restrict a = A + i * ld, *restrict k = mask + i * ld;
#pragma omp simd
        for (size_t j = 0; j < m; j++) g[j] *= k[j];
        if (act == MLP_ACT_GELU) {
            act_back_row(g, pre + i * ld, m, act);
            continue;
        }
        /* The unscaled output, a block at a time, so the derivative loops stay the same. */
        float u[64];
        for (size_t j0 = 0; j0 < m; j0 += 64) {
            const size_t len = m - j0 < 64 ? m - j0 : 64;
#pragma omp simd
            for (size_t j = 0; j < len; j++) u[j] = a[j0 + j] * keep;
            act_back_row(g + j0, u, len, act);
        }
    }
}

/* Hash of (key, i) to 32 uniform bits: splitmix64's finalizer. Counter-based, so a mask element
 * depends on its position and the key only, never on which thread draws it. */
static inline uint32_t mask_bits(uint64_t key, uint64_t i) {
    uint64_t z = key + (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

void mlp_dropout_block(float *A, float *mask, size_t rows, size_t cols, size_t ld, size_t index0,
                       uint64_t key, float p) {
    /* Drop when the 32 bits fall below p * 2^32; keep with weight 1/(1-p) (inverted dropout). */
    const uint32_t cut = (uint32_t)((double)p * 4294967296.0);
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < rows; i++) {
        float *restrict a = A + i * ld, *restrict k = mask + i * ld;
        const uint64_t base = index0 + i * ld;
        for (size_t j = 0; j < cols; j++) {
            k[j] = mask_bits(key, base + j) < cut ? 0.0f : scale;
            a[j] *= k[j];
        }
    }
}

/* p (m) = sum of the rows of G (rows x m, leading dimension ld), row by row. */
MLP_CLONES static void sum_rows(float *restrict p, const float *restrict G, size_t rows, size_t m,
                                size_t ld) {
    memcpy(p, G, m * sizeof *p);
    for (size_t r = 1; r < rows; r++) {
        const float *restrict g = G + r * ld;
#pragma omp simd
        for (size_t j = 0; j < m; j++) p[j] += g[j];
    }
}

MLP_CLONES static void sub_rows(float *restrict D, const float *restrict P, const float *restrict Y,
                                size_t rows, size_t m, size_t ld) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict d = D + r * ld;
        const float *restrict p = P + r * ld, *restrict y = Y + r * ld;
#pragma omp simd
        for (size_t j = 0; j < m; j++) d[j] = p[j] - y[j];
    }
}

/* D = (P - Y) * w per row: the sample weights scale the output delta as it is made. */
MLP_CLONES static void sub_rows_weighted(float *restrict D, const float *restrict P,
                                         const float *restrict Y, const float *restrict w,
                                         size_t rows, size_t m, size_t ld) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict d = D + r * ld;
        const float *restrict p = P + r * ld, *restrict y = Y + r * ld;
        const float wr = w[r];
#pragma omp simd
        for (size_t j = 0; j < m; j++) d[j] = (p[j] - y[j]) * wr;
    }
}

/* Huber's derivative: D = clip(P - Y, -delta, delta) (times the row's weight w, when w is not
 * NULL). */
MLP_CLONES static void huber_rows(float *restrict D, const float *restrict P,
                                  const float *restrict Y, const float *restrict w, size_t rows,
                                  size_t m, size_t ld, float delta) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict d = D + r * ld;
        const float *restrict p = P + r * ld, *restrict y = Y + r * ld;
        const float wr = w ? w[r] : 1.0f;
#pragma omp simd
        for (size_t j = 0; j < m; j++) {
            const float v = p[j] - y[j];
            d[j] = (v > delta ? delta : (v < -delta ? -delta : v)) * wr;
        }
    }
}

/* ---- block drivers: called per tile, by whichever thread runs the tile ---- */

void mlp_bias_act_block(float *Z, float *pre, const float *b, size_t rows, size_t cols, size_t ld,
                        mlp_activation act) {
    if (act == MLP_ACT_SOFTMAX && cols == ld && cols <= SOFTMAX_NARROW)
        softmax_narrow(Z, b, rows, cols);
    else
        bias_act_rows(Z, pre, b, rows, cols, ld, act);
}

/* mlp_delta_block, and the output layer's with row weights w (when w and Y are not NULL). */
static void delta_chunks(float *G, const float *A, const float *Y, const float *w, const float *pre,
                         size_t rows, size_t cols, size_t ld, mlp_activation act, float huber,
                         float *partials, size_t ldp, const float *mask, float keep) {
    const size_t C = MLP_COLSUM_CHUNK;
    for (size_t r0 = 0; r0 < rows; r0 += C) {
        size_t n = rows - r0 < C ? rows - r0 : C, off = r0 * ld;
        /* the chunk as one run where the work is elementwise (flatten) */
        size_t fr = n, fc = cols, fl = ld;
        flatten(&fr, &fc, &fl);
        if (Y && huber > 0.0f)
            huber_rows(G + off, A + off, Y + off, w ? w + r0 : NULL, n, cols, ld, huber);
        else if (Y && w)
            sub_rows_weighted(G + off, A + off, Y + off, w + r0, n, cols, ld);
        else if (Y)
            sub_rows(G + off, A + off, Y + off, fr, fc, fl);
        if (mask)
            dropout_rows(G + off, A + off, mask + off, pre ? pre + off : NULL, n, cols, ld, act,
                         keep);
        else if (act == MLP_ACT_SOFTMAX)
            backward_rows(G + off, A + off, pre, n, cols, ld, act);
        else if (act != MLP_ACT_IDENTITY)
            backward_rows(G + off, A + off, pre ? pre + off : NULL, fr, fc, fl, act);
        sum_rows(partials + (r0 / C) * ldp, G + off, n, cols, ld);
    }
}

void mlp_delta_block(float *G, const float *A, const float *Y, const float *pre, size_t rows,
                     size_t cols, size_t ld, mlp_activation act, float *partials, size_t ldp,
                     const float *mask, float keep) {
    delta_chunks(G, A, Y, NULL, pre, rows, cols, ld, act, 0.0f, partials, ldp, mask, keep);
}

void mlp_output_delta_block(float *G, const float *P, const float *Y, const float *w,
                            const float *pre, size_t rows, size_t cols, size_t ld,
                            mlp_activation act, float huber_delta, float *partials, size_t ldp) {
    delta_chunks(G, P, Y, w, pre, rows, cols, ld, act, huber_delta, partials, ldp, NULL, 1.0f);
}

/* 1 if x is infinite or NaN (every exponent bit set). The checks below are integer OR
 * reductions of it, which GCC vectorises; their former float sum of x * 0 compiled, in
 * add_scaled_probe, to the lanes added one by one in order (perf: 3% of the digits step). */
static inline uint32_t not_finite(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x7f800000u) == 0x7f800000u;
}

MLP_CLONES static uint32_t scan_rows(const float *restrict x, size_t rows, size_t cols, size_t ld) {
    uint32_t bad = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *restrict row = x + r * ld;
#pragma omp simd reduction(| : bad)
        for (size_t j = 0; j < cols; j++) bad |= not_finite(row[j]);
    }
    return bad;
}

/* D += c W on a block, and whether a result is not finite: a dW tile's L2 term and its check in
 * one pass. */
MLP_CLONES static uint32_t add_scaled_scan(float *restrict D, const float *restrict W, float c,
                                           size_t rows, size_t cols, size_t ld) {
    uint32_t bad = 0;
    for (size_t r = 0; r < rows; r++) {
        float *restrict d = D + r * ld;
        const float *restrict w = W + r * ld;
#pragma omp simd reduction(| : bad)
        for (size_t j = 0; j < cols; j++) {
            d[j] += c * w[j];
            bad |= not_finite(d[j]);
        }
    }
    return bad;
}

/* D = s D + c W, as add_scaled_scan: a bf16 (or oneDNN f32) dW's 1/n scale and L2 term. */
MLP_CLONES static uint32_t scale_add_scan(float *restrict D, float s, const float *restrict W,
                                          float c, size_t rows, size_t cols, size_t ld) {
    uint32_t bad = 0;
    for (size_t r = 0; r < rows; r++) {
        float *restrict d = D + r * ld;
        const float *restrict w = W + r * ld;
#pragma omp simd reduction(| : bad)
        for (size_t j = 0; j < cols; j++) {
            d[j] = s * d[j] + c * w[j];
            bad |= not_finite(d[j]);
        }
    }
    return bad;
}

bool mlp_add_scaled_finite(float *D, const float *W, float c, size_t rows, size_t cols, size_t ld) {
    flatten(&rows, &cols, &ld);
    return add_scaled_scan(D, W, c, rows, cols, ld) == 0;
}

bool mlp_scale_add_finite(float *D, float s, const float *W, float c, size_t rows, size_t cols,
                          size_t ld) {
    flatten(&rows, &cols, &ld);
    return scale_add_scan(D, s, W, c, rows, cols, ld) == 0;
}

bool mlp_block_finite(const float *x, size_t rows, size_t cols, size_t ld) {
    flatten(&rows, &cols, &ld);
    return scan_rows(x, rows, cols, ld) == 0;
}

void mlp_colsum_reduce(float *db, const float *partials, size_t chunks, size_t m, float scale) {
    /* Chunk partials added in chunk order: the same sums for any tiling and thread count. */
    for (size_t j = 0; j < m; j++) {
        float s = 0.0f;
        for (size_t c = 0; c < chunks; c++) s += partials[c * m + j];
        db[j] = scale * s;
    }
}
