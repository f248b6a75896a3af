/*
 * mlp data: datasets in memory, CSV and IDX readers, train/test split, feature scaling.
 * All calls follow mlp.h's conventions (status codes, mlp_last_error for details). Calls that
 * fill an mlp_dataset or a row array overwrite the output without freeing what it held: pass an
 * empty (zero-initialised or freed) one. They write it only on success. Different datasets and
 * scalers may be used from different threads; the readers are safe from any thread.
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

/* Frees the arrays and zeroes the struct (it is then an empty dataset again). NULL is allowed. */
MLP_API void mlp_dataset_free(mlp_dataset *ds);

/* How mlp_read_csv reads a file. Start from mlp_csv_options_default() and change fields. */
typedef struct mlp_csv_options {
    int header;          /* 1: first row is a header, 0: no header, -1: detect (non-numeric row) */
    long label_column;   /* column holding the label/target; -1 means the last column */
    int regression;      /* 0: labels are class indices (integers >= 0); 1: float targets */
    char delimiter;      /* ',' by default */
    int32_t max_classes; /* labels >= this are errors (default 65536) */
} mlp_csv_options;

/* header -1 (detect), label_column -1 (last), regression 0, delimiter ',', max_classes 65536.
 * Cannot fail; any thread. */
MLP_API mlp_csv_options mlp_csv_options_default(void);
/* Reads a CSV file, plain or gzip (detected from the content): every row is the features and one
 * label (or, with regression, one target: n_targets = 1) in label_column. opt may be NULL
 * (defaults). *out is written only on success; the caller owns its arrays (mlp_dataset_free).
 * Errors: MLP_ERR_NULL (path or out is NULL); MLP_ERR_ARG (an option out of range, or a delimiter
 * that can be part of a number); MLP_ERR_IO (cannot open or read the file); MLP_ERR_FORMAT, with
 * file:line:column in the message (ragged rows, non-numbers, NaN/Inf, fewer than 2 columns, a
 * label column beyond the row, labels not integers in [0, max_classes), no data rows, corrupt
 * gzip); MLP_ERR_OVERFLOW (sizes); MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_read_csv(const char *path, const mlp_csv_options *opt, mlp_dataset *out);
/* Reads IDX images (ubyte, 2+ dims: n x d, or n x rows x cols ...) and labels (ubyte, 1 dim), plain
 * or gzip. Pixels become floats 0..255. Magic, dims and sizes are validated before allocating.
 * *out is written only on success; the caller owns its arrays (mlp_dataset_free).
 * Errors: MLP_ERR_NULL (a path or out is NULL); MLP_ERR_IO (cannot open or read a file);
 * MLP_ERR_FORMAT (bad magic, element type or dimensions, truncated or trailing data, corrupt
 * gzip); MLP_ERR_SHAPE (image and label counts differ); MLP_ERR_OVERFLOW; MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_read_idx(const char *images_path, const char *labels_path, mlp_dataset *out);

/* Copies rows[0..n) of src into *out (rows may repeat; each must be < src->n). The caller owns
 * *out (mlp_dataset_free).
 * Errors: MLP_ERR_NULL (src, rows, out or src->X is NULL); MLP_ERR_ARG (n is 0, src is empty or
 * inconsistent, a row out of range); MLP_ERR_OVERFLOW; MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_dataset_subset(const mlp_dataset *src, const size_t *rows, size_t n,
                                      mlp_dataset *out);
/* Shuffled split with a seed: ceil(test_fraction * n) rows go to *test, as scikit-learn's
 * train_test_split (at least 1 each side). Not the same shuffle as scikit-learn's. The same seed
 * gives the same split on every platform. The caller owns *train and *test (mlp_dataset_free);
 * both are written only on success.
 * Errors: MLP_ERR_NULL (src, train, test or src->X is NULL); MLP_ERR_ARG (train == test,
 * test_fraction not in (0, 1), fewer than 2 rows, an inconsistent src); MLP_ERR_OVERFLOW;
 * MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_dataset_split(const mlp_dataset *src, double test_fraction, uint64_t seed,
                                     mlp_dataset *train, mlp_dataset *test);
/* Reads a text file of row indices, one per line (e.g. data/digits_split_rs42_train.txt), plain
 * or gzip. Every index must be < limit. On success *rows is malloc'd (free it with free()) and *n
 * is its length (>= 1); both are written only on success.
 * Errors: MLP_ERR_NULL (path, rows or n is NULL); MLP_ERR_IO (cannot open or read the file);
 * MLP_ERR_FORMAT, with file:line:column (not a number, an index >= limit, no indices);
 * MLP_ERR_OVERFLOW; MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_read_row_indices(const char *path, size_t limit, size_t **rows, size_t *n);

/* Feature scaling, fitted on training data and applied to any data with the same features. */
typedef enum mlp_scale_kind {
    MLP_SCALE_NONE = 0,
    MLP_SCALE_STANDARD, /* (x - mean) / std; std 0 -> 1 (scikit-learn's StandardScaler) */
    MLP_SCALE_MINMAX,   /* (x - min) / (max - min); range 0 -> 1 (MinMaxScaler) */
    MLP_SCALE_COUNT
} mlp_scale_kind;

/* x' = (x - offset[j]) / scale[j]. Zero-initialised = no scaling. The arrays are owned by the
 * scaler: free them with mlp_scaler_free. mlp_model_save stores a scaler with the net. */
typedef struct mlp_scaler {
    mlp_scale_kind kind;
    size_t d;
    float *offset; /* d */
    float *scale;  /* d, never 0 */
} mlp_scaler;

/* Fits on X (n x d), computing statistics in double. Replaces (and frees) what *s held, so *s must
 * be zero-initialised or a scaler from an earlier fit / mlp_model_load. MLP_SCALE_NONE just
 * empties *s (X may then be NULL). On failure *s is unchanged.
 * Errors: MLP_ERR_NULL (s or X is NULL); MLP_ERR_ARG (unknown kind, n or d is 0, a non-finite
 * value in X, a column whose spread does not fit a float); MLP_ERR_OVERFLOW; MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_scaler_fit(mlp_scaler *s, mlp_scale_kind kind, const float *X, size_t n,
                                  size_t d);
/* Applies in place to X (n x d); d must match. A NONE scaler, or n = 0, is a no-op. Reads s only:
 * one scaler may be applied from several threads at once (to different X).
 * Errors: MLP_ERR_NULL (s, X or the scaler's arrays are NULL); MLP_ERR_ARG (unknown kind);
 * MLP_ERR_SHAPE (d differs from the fitted d); MLP_ERR_OVERFLOW. */
MLP_API mlp_status mlp_scaler_apply(const mlp_scaler *s, float *X, size_t n, size_t d);
/* Frees the arrays and zeroes the struct (no scaling). NULL is allowed. */
MLP_API void mlp_scaler_free(mlp_scaler *s);

#ifdef __cplusplus
}
#endif

#endif /* MLP_DATA_H */
