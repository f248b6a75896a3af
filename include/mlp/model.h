/*
 * mlp model files: save and load a network (layers, activations, loss, weights, optimizer
 * settings and state) and an optional input scaler. Format: docs/MODEL_FORMAT.md (versioned,
 * little-endian, magic number, CRC-32 checksum). Conventions (errors, ownership, threads) are
 * mlp.h's; saving only reads the net, so a net may be saved while other threads read it.
 */
#ifndef MLP_MODEL_H
#define MLP_MODEL_H

#include "mlp/data.h"
#include "mlp/mlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Saves net (and scaler) to path. What happens depends on what path is:
 *  - a regular file, or nothing yet: replaced atomically. The model is written to a new file in
 *    the same directory (unnamed, O_TMPFILE, where the filesystem supports it; else
 *    path.tmp.XXXXXX), flushed and fsync'ed, then given path's name in one rename (keeping the
 *    mode of the file it replaces, else 0644). A reader, a crash or a killed process sees the
 *    complete old file or the complete new one; on any failure the previous file is untouched and
 *    no temporary file is left (only a SIGKILL between the two system calls that name the new
 *    file and rename it over the old one can leave a path.tmp.XXXXXX behind);
 *  - a symbolic link: followed (to its final target; a missing target is created) and the target
 *    replaced as above; the link itself is kept;
 *  - a character device or a FIFO (/dev/null, /dev/stdout on a pipe, a named pipe): written
 *    through, in place, as a shell redirection would: no atomicity, no signal hold, and opening a
 *    FIFO waits for a reader;
 *  - a directory, a block device or a socket: refused (MLP_ERR_IO naming the path and its kind),
 *    nothing written.
 * Signals: while a regular file is replaced, SIGINT, SIGTERM, SIGHUP and SIGQUIT are held, so
 * that they cannot stop the save halfway: blocked on the calling thread and, where their action
 * is the default one (terminate), caught by a handler that records them (a signal to the process
 * may reach any thread: OpenMP's pool threads block nothing). Then the actions and the caller's
 * mask are restored and a recorded signal is sent again: it terminates the process with the new
 * model complete on disk (one that another thread took in the save's last instant acts a moment
 * after the call returns, when that thread runs the handler). A handler or SIG_IGN set by the
 * program is left alone; the handler runs on another thread, or once the save is done.
 * scaler may be NULL (stored as "no scaling"). The pending forward pass and workspace are not
 * saved.
 * Errors: MLP_ERR_NULL (path or net is NULL, or a scaler without its arrays); MLP_ERR_ARG (empty
 * path, an unknown scaler kind, a net beyond the format's limits); MLP_ERR_SHAPE (the scaler's d
 * differs from the net's input width); MLP_ERR_OVERFLOW (the file would exceed the format's
 * 4 GiB); MLP_ERR_IO (a path of a kind refused above, or creating, writing, syncing, linking or
 * renaming the file failed: the message names the path, the step and the system's message);
 * MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_model_save(const char *path, const mlp_net *net, const mlp_scaler *scaler);
/* Loads a model saved by mlp_model_save. Every size is checked against the file's length before
 * allocating; truncated, corrupted (checksum), foreign (magic) and newer-version files are
 * rejected with MLP_ERR_FORMAT. scaler may be NULL (the stored scaler is then dropped); otherwise
 * it receives the stored scaler (kind NONE if there was none), overwriting *scaler without
 * freeing it (pass a zero-initialised or freed one) and only on success. On failure *net is NULL.
 * Ownership: the caller owns *net (mlp_net_free) and the scaler's arrays (mlp_scaler_free).
 * The net comes back with its optimizer settings and state, ready to continue training.
 * Errors: MLP_ERR_NULL (path or net is NULL); MLP_ERR_IO (cannot open or read the file);
 * MLP_ERR_FORMAT (see above); MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_model_load(const char *path, mlp_net **net, mlp_scaler *scaler);

/* As mlp_model_save, and stores the class list of a classifier: what its class indices stand for
 * (mlp_classes, data.h; e.g. the mlp_dataset.classes it was trained on). classes may be NULL or
 * kind NONE (nothing stored: loading gives 0..K-1). Otherwise the net must be a classifier
 * (mlp_task_of_net gives CLASSIFY) with classes->n classes, and the list sorted and unique.
 * Errors: those of mlp_model_save; MLP_ERR_NULL (the list's array or a name is NULL); MLP_ERR_ARG
 * (an unknown kind, a net that is not a classifier, values not finite and increasing, names not
 * increasing, a name over 1 MiB); MLP_ERR_SHAPE (classes->n differs from the net's classes). */
MLP_API mlp_status mlp_model_save_classes(const char *path, const mlp_net *net,
                                          const mlp_scaler *scaler, const mlp_classes *classes);
/* As mlp_model_load, and gives the stored class list in *classes (may be NULL: dropped;
 * overwritten without freeing, only on success; free it with mlp_classes_free). A classifier
 * saved without a list (by mlp_model_save, or a version 1 file) gets the NUMBERS 0..K-1; a
 * regressor or a multi-label net gets kind NONE. Errors: those of mlp_model_load. */
MLP_API mlp_status mlp_model_load_classes(const char *path, mlp_net **net, mlp_scaler *scaler,
                                          mlp_classes *classes);

/* Model bytes in memory: the exact bytes mlp_model_save_classes would write to a file.
 * With buf NULL (cap ignored) only *size is set: the bytes needed. Otherwise cap must be at
 * least that (else MLP_ERR_SHAPE naming both sizes, nothing written) and *size receives the
 * bytes written. scaler and classes may be NULL, and are checked as by mlp_model_save_classes.
 * buf stays the caller's; on failure buf and *size are untouched. No signal is held (nothing is
 * replaced). Reads the net only, like mlp_model_save.
 * Errors: MLP_ERR_NULL (size or net is NULL, a scaler or class list without its arrays);
 * MLP_ERR_ARG and MLP_ERR_SHAPE (the net, scaler or class list, as mlp_model_save_classes; or a
 * cap below the size); MLP_ERR_OVERFLOW (the model exceeds the format's 4 GiB, or size_t). */
MLP_API mlp_status mlp_model_save_mem(void *buf, size_t cap, size_t *size, const mlp_net *net,
                                      const mlp_scaler *scaler, const mlp_classes *classes);
/* As mlp_model_load_classes, from size bytes at buf (every check of a file load: magic,
 * version, CRC, sizes against the length). scaler and classes may be NULL. buf is only read
 * during the call. Ownership, and what is written on success and failure, as
 * mlp_model_load_classes (on failure *net is NULL).
 * Errors: MLP_ERR_NULL (buf or net is NULL); MLP_ERR_FORMAT (as mlp_model_load; also more than
 * 4 GiB); MLP_ERR_NOMEM; MLP_ERR_LIMIT (the net exceeds the memory limit). */
MLP_API mlp_status mlp_model_load_mem(const void *buf, size_t size, mlp_net **net,
                                      mlp_scaler *scaler, mlp_classes *classes);

/* Writes size bytes to path by the rules of model saves (mlp_model_save: a regular file or none
 * replaced atomically, a link followed and kept, a device or FIFO written through, anything else
 * refused, termination signals held until done): for files that go with a model, such as a
 * training history, so that they are saved as safely. fn names the caller in messages (NULL:
 * "mlp_file_save"). bytes may be NULL when size is 0.
 * Errors: MLP_ERR_NULL (path, or bytes with size > 0); MLP_ERR_ARG (empty path); MLP_ERR_IO
 * (naming the path, the step and the system's message, or the kind of file refused);
 * MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_file_save(const char *path, const void *bytes, size_t size, const char *fn);

/* ---------------------------------------------------------------------------------------------
 * ONNX export (docs/ONNX.md): the inference graph of a net as an ONNX model (IR version 8, opset
 * 17, batch dimension symbolic "N") that ONNX Runtime and other ONNX consumers run. The graph:
 * the scaler's (x - offset) / scale if there is one, per layer MatMul + Add + the activation
 * (GELU built from Erf), then the outputs skl2onnx's MLP converters give: for a classifier
 * "label" (int64 [N] for whole-number classes and for no list, double [N] for other numbers,
 * string [N] for names) and "probabilities" (float [N, K]; [1 - p, p] for one logistic output);
 * for a multi-label net "label" (int64 0/1 [N, K], 1 where p >= 0.5) and "probabilities"; for a
 * regressor "variable" (float [N, k]). Labels follow mlp_predict_labels (ties: the lowest index;
 * one logistic output: class 1 where p >= 0.5). Dropout is a training-time operation: the graph
 * is the inference one (mlp_predict's), as PyTorch exports. */
typedef struct mlp_onnx_options {
    const char *input_name; /* the graph's input, a C identifier not starting with "mlp_" (and
                               not label, probabilities, variable); default "X" */
    const char *graph_name; /* GraphProto.name, non-empty; default "mlp" */
} mlp_onnx_options;
/* The defaults ("X", "mlp"). A NULL options pointer, or a NULL field, means the default. */
MLP_API mlp_onnx_options mlp_onnx_options_default(void);
/* Writes the ONNX model of net (with scaler and, for a classifier, its class list; either may be
 * NULL: no scaling, classes 0..K-1) to path, by the rules of mlp_model_save: a regular file
 * replaced atomically (never half-written), a link followed, a device or FIFO written through.
 * Reads the net only. The weights are written as float32, bit for bit.
 * Errors: MLP_ERR_NULL (path or net is NULL; a scaler or class list without its arrays);
 * MLP_ERR_ARG (empty path; a loss or an activation that the export does not know, named in the
 * message; a bad input name; a class list on a regressor or multi-label net; a scaler value not
 * finite); MLP_ERR_SHAPE (the scaler's d or the class count differs from the net's);
 * MLP_ERR_OVERFLOW (the model would exceed protobuf's 2 GiB); MLP_ERR_IO (as mlp_model_save:
 * naming the path, the step and the system's message); MLP_ERR_NOMEM, MLP_ERR_LIMIT. */
MLP_API mlp_status mlp_model_export_onnx(const char *path, const mlp_net *net,
                                         const mlp_scaler *scaler, const mlp_classes *classes,
                                         const mlp_onnx_options *options);
/* The same model's bytes in memory, as mlp_model_save_mem: with buf NULL only *size is set (the
 * bytes needed); otherwise cap must be at least that (else MLP_ERR_SHAPE, nothing written) and
 * *size receives the bytes written. Errors: those of mlp_model_export_onnx but MLP_ERR_IO, and
 * MLP_ERR_NULL for a NULL size. */
MLP_API mlp_status mlp_model_export_onnx_mem(void *buf, size_t cap, size_t *size,
                                             const mlp_net *net, const mlp_scaler *scaler,
                                             const mlp_classes *classes,
                                             const mlp_onnx_options *options);

#ifdef __cplusplus
}
#endif

#endif /* MLP_MODEL_H */
