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

#include <limits.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the class indices of a classifier stand for: the original labels, as scikit-learn's
 * classes_. Class index i (a label in mlp_dataset.labels, a column of a softmax output, the output
 * 1 of a one-logistic-unit net for i = 1) is values[i] or names[i]. The list is sorted: numbers in
 * increasing numeric order, names in increasing byte order (strcmp), no duplicates. Owned by the
 * struct: free it with mlp_classes_free. Zero-initialised = no list (kind NONE): index i is the
 * label i itself. */
typedef enum mlp_class_kind {
    MLP_CLASSES_NONE = 0, /* no list: the labels are the indices 0..n-1 */
    MLP_CLASSES_NUMBERS,  /* values[0..n): finite numbers (the CSV reader gives integers) */
    MLP_CLASSES_NAMES,    /* names[0..n): NUL-terminated strings */
    MLP_CLASSES_COUNT
} mlp_class_kind;

typedef struct mlp_classes {
    mlp_class_kind kind;
    size_t n;       /* number of classes (0 for NONE) */
    double *values; /* NUMBERS: n increasing values; else NULL */
    char **names;   /* NAMES: n strings in increasing strcmp order; else NULL */
} mlp_classes;

/* Frees the arrays and zeroes the struct. NULL is allowed. */
MLP_API void mlp_classes_free(mlp_classes *c);
/* Deep copy of src into *dst (overwritten without freeing; written only on success).
 * Errors: MLP_ERR_NULL (src or dst is NULL, or src's arrays); MLP_ERR_ARG (unknown kind);
 * MLP_ERR_OVERFLOW; MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_classes_copy(const mlp_classes *src, mlp_classes *dst);
/* The list 0, 1, ..., n-1 as NUMBERS (what a model file without a class list means).
 * Errors: MLP_ERR_NULL (out is NULL); MLP_ERR_OVERFLOW; MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_classes_range(size_t n, mlp_classes *out);
/* scikit-learn's LabelEncoder.fit_transform: *out receives the sorted unique values of y[0..n)
 * and indices[i] (n entries, may be NULL) the class index of y[i]. Both are written only on
 * success. The _numbers variant needs finite values; -0.0 and 0.0 are one class.
 * Errors: MLP_ERR_NULL (y, a string of y, or out is NULL); MLP_ERR_ARG (n is 0, a non-finite
 * value, more than INT32_MAX classes); MLP_ERR_OVERFLOW; MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_classes_encode_numbers(const double *y, size_t n, mlp_classes *out,
                                              int32_t *indices);
MLP_API mlp_status mlp_classes_encode_names(const char *const *y, size_t n, mlp_classes *out,
                                            int32_t *indices);
/* The index of the class written as text (a decimal number for NUMBERS and NONE, compared by
 * value, so "1", "1.0" and " 1" are the same class; the exact string for NAMES) into *index.
 * Returns 1 if found, 0 if text is not one of the classes (or an argument is NULL). Any thread. */
MLP_API int mlp_classes_find(const mlp_classes *c, const char *text, size_t *index);
/* Writes the text of class index i into buf (cap bytes, NUL-terminated): its name, its value
 * (integers without a decimal point, else the shortest text that reads back to the double) or,
 * for NONE, i itself. Returns the length of the full text (as snprintf: the text was cut if it is
 * >= cap), or -1 if c is NULL or i is not a class index (i >= n for NUMBERS and NAMES). */
MLP_API int mlp_classes_name(const mlp_classes *c, size_t i, char *buf, size_t cap);

/* A dataset owned by the caller: free it with mlp_dataset_free. A zero-initialised struct is a
 * valid empty dataset. Exactly one of labels (classification) or targets (regression) is set. */
typedef struct mlp_dataset {
    size_t n;         /* rows (samples) */
    size_t d;         /* features per row */
    float *X;         /* n x d, row-major */
    int32_t *labels;  /* n class indices in [0, n_classes), or NULL */
    size_t n_classes; /* classes.n when there is a class list, else 1 + the largest label (0 if
                         labels is NULL) */
    float *targets;   /* n x n_targets regression targets, or NULL */
    size_t n_targets;
    mlp_classes classes; /* what the indices stand for (the CSV reader always fills it for
                            classification; kind NONE from the IDX reader: labels are 0..9) */
    float *weights; /* n per-row sample weights (finite, >= 0), or NULL: the CSV reader fills it
                       from mlp_csv_options.weight_column; subsets and splits carry it with the
                       rows (for mlp_fit_options.sample_weight) */
} mlp_dataset;

/* Frees the arrays (the class list and the weights included) and zeroes the struct (it is then
 * an empty dataset again). NULL is allowed. */
MLP_API void mlp_dataset_free(mlp_dataset *ds);

/* How mlp_read_csv reads a file. Start from mlp_csv_options_default() and change fields. */
typedef struct mlp_csv_options {
    int header;          /* 1: first row is a header, 0: no header, -1: detect (see below) */
    long label_column;   /* column holding the label/target; negative: from the end (-1 the last) */
    int regression;      /* 0: class labels (integers or text); 1: float targets */
    char delimiter;      /* ',' by default; ' ': whitespace (runs of spaces and tabs separate
                            fields, blanks around a line ignored); MLP_CSV_DETECT: detected */
    int32_t max_classes; /* more distinct class labels than this are an error (default 65536) */
    const mlp_classes *classes; /* NULL: the classes are the file's sorted unique labels; else
                                   every label must be one of these classes (e.g. a model's),
                                   the indices refer to this list and the dataset gets a copy */
    size_t skip_rows;           /* lines skipped at the start of the file, whatever they hold (0) */
    char comment; /* lines whose first non-blank character is this are skipped ('#'; 0: none) */
    char *delimiter_used;      /* if not NULL, receives the delimiter read with (the detected one),
                                  on success */
    const long *label_columns; /* n_label_columns > 0: these columns (negative: from the end) are
                                  the targets, in this order, instead of label_column; more than
                                  one needs regression or multilabel */
    size_t n_label_columns;
    int multilabel;     /* 1: the label columns are 0/1 targets (multi-label classification) */
    long weight_column; /* MLP_CSV_NO_COLUMN: no weights; else the column (negative: from the end)
                           of per-row sample weights, read into out->weights (finite numbers
                           >= 0) and not a feature */
    const char *weight_column_name; /* if not NULL: the weight column is the header field of this
                                       name (weight_column is then not used; needs a header) */
} mlp_csv_options;

/* mlp_csv_options.weight_column: no weight column. */
#define MLP_CSV_NO_COLUMN LONG_MIN

/* mlp_csv_options.delimiter: detect it from the first 20 data lines: tab, ';', ',' or whitespace,
 * the first (in this order) that splits them all (the first line, which may be a header, aside)
 * into the same number of fields, at least 2. */
#define MLP_CSV_DETECT '\0'

/* header -1 (detect), label_column -1 (last), regression 0, delimiter ',', max_classes 65536,
 * classes NULL, skip_rows 0, comment '#', delimiter_used NULL, no label_columns, multilabel 0,
 * weight_column MLP_CSV_NO_COLUMN, weight_column_name NULL. Cannot fail; any thread. */
MLP_API mlp_csv_options mlp_csv_options_default(void);
/* Reads a CSV file, plain or gzip (detected from the content; concatenated gzip members are read
 * in turn, anything else after the gzip data is an error): every row is the features and one
 * label in label_column (or, with regression or multilabel, targets: n_targets = the label
 * columns, as floats in out->targets, multi-label ones 0 or 1). opt may be NULL
 * (defaults). Fields may be quoted as RFC 4180 says ("a,b", "say ""hi""", line ends inside
 * quotes); LF, CRLF and CR line ends (the first line end decides whether a CR alone ends a line),
 * a UTF-8 byte order mark, blank lines and comment lines are accepted. Numbers are decimal
 * ([+-]digits[.digits][e[+-]digits], read with strtod in the C locale); hexadecimal, a Unicode
 * minus sign or dash, '_' between digits and (with another delimiter than ',') a decimal comma
 * are errors that name the notation, and so are nan and inf. A NUL byte or another control
 * character (not tab, CR, LF, VT, FF) is an error: the file does not look like text.
 * *out is written only on success; the caller owns its arrays (mlp_dataset_free). Class labels
 * (regression 0): when every label is a number, they must be integers (of at most 2^53 in
 * magnitude, negative allowed) and the classes are their sorted unique values; when some label is
 * not a number, every label is text (blanks around it trimmed) and the classes are the sorted
 * unique strings. out->classes holds the list, out->labels the indices into it. Header detection
 * (-1): the first row is a header when one of its feature fields is text (not a number in any
 * notation: a number in another notation is an error, never a header's name), or when only its
 * label field is text while every other label of the file is a number, or (a count header such as
 * "150,4,setosa,...") when it has fewer fields than the data rows. Sample weights: with
 * weight_column or weight_column_name, out->weights holds that column (a number >= 0 on every
 * row), which is not a feature. Errors: MLP_ERR_NULL (path or out is NULL); MLP_ERR_ARG (an option
 * out of range, a delimiter that can be part of a number, weight_column_name with header 0; with
 * file:line:column, a weight column beyond the row, among the label columns, or leaving no
 * feature); MLP_ERR_IO (cannot open or read the file); MLP_ERR_FORMAT, with file:line:column in
 * the message (ragged rows, non-numbers, NaN/Inf, numbers in another notation, fewer than 2
 * columns, a label column beyond the row, a numeric label that is not an integer, more than
 * max_classes classes, a label not among opt->classes, a negative weight, a weight column name not
 * in the header or no header, no data rows, binary data, corrupt or truncated gzip, trailing bytes
 * after the gzip data); MLP_ERR_OVERFLOW (sizes); MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_read_csv(const char *path, const mlp_csv_options *opt, mlp_dataset *out);
/* Reads IDX images (ubyte, 2+ dims: n x d, or n x rows x cols ...) and labels (ubyte, 1 dim), plain
 * or gzip. Pixels become floats 0..255. Magic, dims and sizes are validated before allocating.
 * *out is written only on success; the caller owns its arrays (mlp_dataset_free).
 * Errors: MLP_ERR_NULL (a path or out is NULL); MLP_ERR_IO (cannot open or read a file);
 * MLP_ERR_FORMAT (bad magic, element type or dimensions, truncated or trailing data, corrupt
 * gzip, bytes after the gzip data that do not start another gzip member); MLP_ERR_SHAPE (image and
 * label counts differ); MLP_ERR_OVERFLOW; MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_read_idx(const char *images_path, const char *labels_path, mlp_dataset *out);

/* Copies rows[0..n) of src into *out (rows may repeat; each must be < src->n), with their labels
 * or targets and weights. The caller owns *out (mlp_dataset_free). out must not be src (the
 * result would overwrite src's arrays without freeing them): subset into another dataset.
 * Errors: MLP_ERR_NULL (src, rows, out or src->X is NULL); MLP_ERR_ARG (out is src, n is 0, src
 * is empty or inconsistent, a row out of range); MLP_ERR_OVERFLOW; MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_dataset_subset(const mlp_dataset *src, const size_t *rows, size_t n,
                                      mlp_dataset *out);
/* Shuffled split with a seed: ceil(test_fraction * n) rows go to *test, as scikit-learn's
 * train_test_split (at least 1 each side); each row takes its labels or targets and weight along.
 * Not the same shuffle as scikit-learn's. The same seed gives the same split on every platform.
 * The caller owns *train and *test (mlp_dataset_free); both are written only on success. Neither
 * may be src (src's arrays would be overwritten without being freed).
 * Errors: MLP_ERR_NULL (src, train, test or src->X is NULL); MLP_ERR_ARG (train == test, train or
 * test is src, test_fraction not in (0, 1), fewer than 2 rows, an inconsistent src);
 * MLP_ERR_OVERFLOW; MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_dataset_split(const mlp_dataset *src, double test_fraction, uint64_t seed,
                                     mlp_dataset *train, mlp_dataset *test);
/* Reads a text file of row indices, one per line (e.g. data/digits_split_rs42_train.txt), plain
 * or gzip (as mlp_read_csv reads gzip). Every index must be < limit. On success *rows is malloc'd
 * (free it with free()) and *n is its length (>= 1); both are written only on success. Errors:
 * MLP_ERR_NULL (path, rows or n is NULL); MLP_ERR_IO (cannot open or read the file);
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
