/* Scores: accuracy (mlp_row_label against labels, or subset accuracy for 0/1 targets) and R^2,
 * optionally sample-weighted, for mlp_score_* and for fit's validation rows. */
#include "fit/fit_internal.h"

#include <math.h>
#include <stdlib.h>

/* Sum of w's n entries in row order, or n without weights. */
static double weight_sum(const float *w, size_t n) {
    if (!w) return (double)n;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += w[i];
    return sum;
}

/* Weighted as scikit-learn's accuracy_score with sample_weight: the hits' weights over all
 * weights (NaN when they sum to 0, where scikit-learn divides by zero too). */
double mlp_accuracy_of(const float *out, size_t n, size_t width, const int32_t *labels,
                       const float *Y, const float *w) {
    double hits = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *p = out + i * width;
        bool hit;
        if (labels) {
            hit = mlp_row_label(p, width) == labels[i];
        } else {
            size_t j = 0;
            while (j < width && mlp_row_label(p + j, 1) == mlp_row_label(Y + i * width + j, 1)) j++;
            hit = j == width;
        }
        if (hit) hits += w ? (double)w[i] : 1.0;
    }
    const double total = weight_sum(w, n);
    return total > 0.0 ? hits / total : NAN;
}

/* Weighted as scikit-learn's r2_score with sample_weight: the weighted mean of each output, and
 * both sums of squares weighted. A constant target scores 1 if predicted exactly, else 0
 * (force_finite); NaN when the weights sum to 0. */
double mlp_r2_of(const float *out, const float *Y, const float *w, size_t n, size_t width) {
    const double wsum = weight_sum(w, n);
    if (!(wsum > 0.0)) return NAN;
    double total = 0.0;
    for (size_t j = 0; j < width; j++) {
        double mean = 0.0, ss_res = 0.0, ss_tot = 0.0;
        for (size_t i = 0; i < n; i++) mean += (w ? (double)w[i] : 1.0) * Y[i * width + j];
        mean /= wsum;
        for (size_t i = 0; i < n; i++) {
            const double wi = w ? (double)w[i] : 1.0;
            double e = (double)Y[i * width + j] - out[i * width + j], c = Y[i * width + j] - mean;
            ss_res += wi * e * e;
            ss_tot += wi * c * c;
        }
        total += ss_tot > 0.0 ? 1.0 - ss_res / ss_tot : (ss_res == 0.0 ? 1.0 : 0.0);
    }
    return total / (double)width;
}

/* *out = the net's predictions on X (n x output_size), malloc'd. */
static mlp_status predict_all(const mlp_net *net, const float *X, size_t n, float **out,
                              const char *fn) {
    mlp_status st = mlp_check_batch(net, X, n, fn);
    if (st != MLP_OK) return st;
    *out = mlp_alloc_array(n, mlp_net_output_size(net) * sizeof(float), fn, &st);
    if (!*out) return st;
    st = mlp_predict(net, X, n, *out);
    if (st != MLP_OK) free(*out);
    return st;
}

/* The share of rows predicted right: against labels (argmax) or, with Y, against every 0/1
 * output (subset accuracy). */
static mlp_status score_accuracy(const mlp_net *net, const float *X, const int32_t *labels,
                                 const float *Y, size_t n, double *accuracy, const char *fn) {
    if (!(labels || Y) || !accuracy)
        return mlp_fail(MLP_ERR_NULL, "%s: %s is NULL", fn,
                        !accuracy ? "accuracy"
                        : Y       ? "Y"
                                  : "labels");
    float *out;
    mlp_status st = predict_all(net, X, n, &out, fn);
    if (st != MLP_OK) return st;
    *accuracy = mlp_accuracy_of(out, n, mlp_net_output_size(net), labels, Y, NULL);
    free(out);
    return MLP_OK;
}

mlp_status mlp_score_accuracy(const mlp_net *net, const float *X, const int32_t *labels, size_t n,
                              double *accuracy) {
    if (!labels) return mlp_fail(MLP_ERR_NULL, "mlp_score_accuracy: labels is NULL");
    return score_accuracy(net, X, labels, NULL, n, accuracy, "mlp_score_accuracy");
}

mlp_status mlp_score_subset_accuracy(const mlp_net *net, const float *X, const float *Y, size_t n,
                                     double *accuracy) {
    if (!Y) return mlp_fail(MLP_ERR_NULL, "mlp_score_subset_accuracy: Y is NULL");
    return score_accuracy(net, X, NULL, Y, n, accuracy, "mlp_score_subset_accuracy");
}

mlp_status mlp_score_r2(const mlp_net *net, const float *X, const float *Y, size_t n, double *r2) {
    if (!Y || !r2) return mlp_fail(MLP_ERR_NULL, "mlp_score_r2: %s is NULL", !Y ? "Y" : "r2");
    float *out;
    mlp_status st = predict_all(net, X, n, &out, "mlp_score_r2");
    if (st != MLP_OK) return st;
    *r2 = mlp_r2_of(out, Y, NULL, n, mlp_net_output_size(net));
    free(out);
    return MLP_OK;
}
