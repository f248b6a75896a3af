/*
 * mlp data: datasets in memory, CSV and IDX readers, train/test split, feature scaling.
 * All calls follow mlp.h's conventions (status codes, mlp_last_error for details).
 */
#ifndef MLP_DATA_H
#define MLP_DATA_H

#include "mlp/mlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dataset owned by the caller: free it with mlp_dataset_free. A zero-initialised struct is a
 * valid empty dataset. Exactly one of labels (classification) or targets (regression) is set. */
typedef struct mlp_dataset {
    size_t n;         /* rows (samples) */
    size_t d;         /* features per row */
    float *X;         /* n x d, row-major */
    int32_t *labels;  /* n class labels in [0, n_classes), or NULL */
    size_t n_classes; /* 1 + the largest label (0 if labels is NULL) */
    float *targets;   /* n x n_targets regression targets, or NULL */
    size_t n_targets;
} mlp_dataset;

/* Frees the arrays and zeroes the struct. NULL is allowed. */
MLP_API void mlp_dataset_free(mlp_dataset *ds);

typedef struct mlp_csv_options {
    int header;          /* 1: first row is a header, 0: no header, -1: detect (non-numeric row) */
    long label_column;   /* column holding the label/target; -1 means the last column */
    int regression;      /* 0: labels are class indices (integers >= 0); 1: float targets */
    char delimiter;      /* ',' by default */
    int32_t max_classes; /* labels >= this are errors (default 65536) */
} mlp_csv_options;

MLP_API mlp_csv_options mlp_csv_options_default(void);
/* Reads a CSV file, plain or gzip (detected from the content). Errors name file, line, column:
 * ragged rows, non-numbers, NaN/Inf, empty file, labels out of range. *out is written only on
 * success. */
MLP_API mlp_status mlp_read_csv(const char *path, const mlp_csv_options *opt, mlp_dataset *out);
/* Reads IDX images (ubyte, 2+ dims: n x d, or n x rows x cols ...) and labels (ubyte, 1 dim), plain
 * or gzip. Pixels become floats 0..255. Magic, dims and sizes are validated before allocating. */
MLP_API mlp_status mlp_read_idx(const char *images_path, const char *labels_path, mlp_dataset *out);

/* Copies rows[0..n) of src into *out (rows may repeat; each must be < src->n). */
MLP_API mlp_status mlp_dataset_subset(const mlp_dataset *src, const size_t *rows, size_t n,
                                      mlp_dataset *out);
/* Shuffled split with a seed: ceil(test_fraction * n) rows go to *test, as scikit-learn's
 * train_test_split (at least 1 each side). Not the same shuffle as scikit-learn's. */
MLP_API mlp_status mlp_dataset_split(const mlp_dataset *src, double test_fraction, uint64_t seed,
                                     mlp_dataset *train, mlp_dataset *test);
/* Reads a text file of row indices, one per line (e.g. data/digits_split_rs42_train.txt). Every
 * index must be < limit. *rows is malloc'd; free it with free(). */
MLP_API mlp_status mlp_read_row_indices(const char *path, size_t limit, size_t **rows, size_t *n);

typedef enum mlp_scale_kind {
    MLP_SCALE_NONE = 0,
    MLP_SCALE_STANDARD, /* (x - mean) / std; std 0 -> 1 (scikit-learn's StandardScaler) */
    MLP_SCALE_MINMAX    /* (x - min) / (max - min); range 0 -> 1 (MinMaxScaler) */
} mlp_scale_kind;

/* x' = (x - offset[j]) / scale[j]. Zero-initialised = no scaling. */
typedef struct mlp_scaler {
    mlp_scale_kind kind;
    size_t d;
    float *offset; /* d */
    float *scale;  /* d, never 0 */
} mlp_scaler;

/* Fits on X (n x d), computing statistics in double. Replaces (and frees) what *s held. */
MLP_API mlp_status mlp_scaler_fit(mlp_scaler *s, mlp_scale_kind kind, const float *X, size_t n,
                                  size_t d);
/* Applies in place to X (n x d); d must match. A NONE scaler is a no-op. */
MLP_API mlp_status mlp_scaler_apply(const mlp_scaler *s, float *X, size_t n, size_t d);
MLP_API void mlp_scaler_free(mlp_scaler *s);

#ifdef __cplusplus
}
#endif

#endif /* MLP_DATA_H */
