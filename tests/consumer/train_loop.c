/* Your own training loop over mlp's step API: the program docs/API.md walks through, built by the
 * consumer test against an installed mlp. It trains the digits MLP (64-50-10, ReLU, softmax,
 * Adam) with its own minibatch shuffling, gradient clipping between mlp_backward and mlp_update,
 * a learning-rate decay and early stopping on a held-out loss; then saves the model, loads it
 * back and checks that the loaded model predicts the same labels.
 * usage: train_loop DATA_DIR MODEL_PATH   (DATA_DIR holds digits.csv.gz and its split files)
 * Exit status 0 if the test accuracy reaches 0.9. */
#include <mlp/data.h>
#include <mlp/mlp.h>
#include <mlp/model.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 200
#define MAX_EPOCHS 200
#define PATIENCE 10
#define CLIP_NORM 5.0f

/* Prints the failure and returns 1 (for `return report(...)` paths). */
static int report(const char *what, mlp_status st) {
    fprintf(stderr, "train_loop: %s: %s: %s\n", what, mlp_strerror(st), mlp_last_error());
    return 1;
}

/* Reads digits.csv.gz (label in the last column) and one split file into *out. */
static mlp_status load_split(const char *dir, const char *split, mlp_dataset *out) {
    char path[4096];
    mlp_dataset all = {0};
    mlp_csv_options csv = mlp_csv_options_default();
    csv.header = 0;
    snprintf(path, sizeof path, "%s/digits.csv.gz", dir);
    mlp_status st = mlp_read_csv(path, &csv, &all);
    if (st != MLP_OK) return st;
    size_t *rows = NULL, n = 0;
    snprintf(path, sizeof path, "%s/digits_split_rs42_%s.txt", dir, split);
    st = mlp_read_row_indices(path, all.n, &rows, &n);
    if (st == MLP_OK) st = mlp_dataset_subset(&all, rows, n, out);
    if (st == MLP_OK) out->n_classes = all.n_classes; /* a split might miss a class */
    free(rows);
    mlp_dataset_free(&all);
    return st;
}

/* One-hot rows for labels (n x k). */
static float *one_hot(const int32_t *labels, size_t n, size_t k) {
    float *Y = calloc(n * k, sizeof *Y);
    if (Y)
        for (size_t i = 0; i < n; i++) Y[i * k + (size_t)labels[i]] = 1.0f;
    return Y;
}

/* Scales all gradients so that their global L2 norm is at most max_norm. */
static void clip_gradients(mlp_net *net, float max_norm) {
    float *g = mlp_net_grads(net);
    size_t count = mlp_net_param_count(net);
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) sum += (double)g[i] * g[i];
    double norm = sqrt(sum);
    if (norm > max_norm) {
        float c = (float)(max_norm / norm);
        for (size_t i = 0; i < count; i++) g[i] *= c;
    }
}

/* A small seeded generator for the shuffle (any generator will do). */
static uint64_t next_random(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double accuracy(mlp_net *net, const mlp_dataset *ds, int32_t *pred) {
    if (mlp_predict_labels(net, ds->X, ds->n, pred) != MLP_OK) return -1.0;
    size_t ok = 0;
    for (size_t i = 0; i < ds->n; i++) ok += pred[i] == ds->labels[i];
    return (double)ok / (double)ds->n;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: train_loop DATA_DIR MODEL_PATH\n");
        return 2;
    }
    int rc = 1;
    mlp_dataset train = {0}, test = {0};
    mlp_scaler scaler = {0};
    mlp_net *net = NULL, *loaded = NULL;
    float *Y = NULL, *Xb = NULL, *Yb = NULL;
    size_t *order = NULL;
    int32_t *pred = NULL, *pred2 = NULL;
    mlp_status st;

    /* 1. Data: train and test split, scaled with statistics of the training part. */
    if ((st = load_split(argv[1], "train", &train)) != MLP_OK) return report("train data", st);
    if ((st = load_split(argv[1], "test", &test)) != MLP_OK) {
        rc = report("test data", st);
        goto done;
    }
    const size_t n = train.n, d = train.d, k = train.n_classes;
    st = mlp_scaler_fit(&scaler, MLP_SCALE_MINMAX, train.X, n, d);
    if (st == MLP_OK) st = mlp_scaler_apply(&scaler, train.X, n, d);
    if (st == MLP_OK) st = mlp_scaler_apply(&scaler, test.X, test.n, d);
    if (st != MLP_OK) {
        rc = report("scaling", st);
        goto done;
    }
    Y = one_hot(train.labels, n, k);
    Xb = malloc(BATCH * d * sizeof *Xb);
    Yb = malloc(BATCH * k * sizeof *Yb);
    order = malloc(n * sizeof *order);
    pred = malloc(test.n * sizeof *pred);
    pred2 = malloc(test.n * sizeof *pred2);
    if (!Y || !Xb || !Yb || !order || !pred || !pred2) {
        fprintf(stderr, "train_loop: out of memory\n");
        goto done;
    }

    /* 2. The network: 64-50-10, ReLU then softmax, cross-entropy; Adam by default. */
    const size_t sizes[] = {d, 50, k};
    const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net_config cfg = {.n_layers = 2,
                          .sizes = sizes,
                          .activations = acts,
                          .loss = MLP_LOSS_SOFTMAX_CE,
                          .init = MLP_INIT_GLOROT,
                          .seed = 42};
    if ((st = mlp_net_create(&net, &cfg)) != MLP_OK) {
        rc = report("mlp_net_create", st);
        goto done;
    }
    mlp_optimizer opt = mlp_optimizer_default(MLP_OPT_ADAM);
    opt.lr = 0.01f;
    st = mlp_net_set_optimizer(net, &opt);
    if (st == MLP_OK) st = mlp_net_reserve(net, BATCH); /* no allocation in the loop below */
    if (st != MLP_OK) {
        rc = report("setup", st);
        goto done;
    }

    /* 3. The loop: shuffle, gather each minibatch, forward, backward, clip, update. */
    for (size_t i = 0; i < n; i++) order[i] = i;
    uint64_t seed = 42;
    float best = INFINITY;
    int stale = 0, epoch;
    for (epoch = 1; epoch <= MAX_EPOCHS && stale < PATIENCE; epoch++) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(next_random(&seed) % (i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double sum = 0.0;
        for (size_t b0 = 0; b0 < n; b0 += BATCH) {
            size_t nb = n - b0 < BATCH ? n - b0 : BATCH;
            for (size_t i = 0; i < nb; i++) {
                memcpy(Xb + i * d, train.X + order[b0 + i] * d, d * sizeof *Xb);
                memcpy(Yb + i * k, Y + order[b0 + i] * k, k * sizeof *Yb);
            }
            float loss;
            st = mlp_forward(net, Xb, nb);
            if (st == MLP_OK) st = mlp_backward(net, Yb, &loss);
            if (st == MLP_OK) clip_gradients(net, CLIP_NORM);
            if (st == MLP_OK) st = mlp_update(net);
            if (st != MLP_OK) {
                rc = report("training step", st);
                goto done;
            }
            if (!isfinite(loss)) {
                fprintf(stderr, "train_loop: diverged at epoch %d\n", epoch);
                goto done;
            }
            sum += (double)loss * (double)nb;
        }
        float epoch_loss = (float)(sum / (double)n);
        if (epoch_loss < best - 1e-4f) {
            best = epoch_loss;
            stale = 0;
        } else {
            stale++;
        }
        if (epoch % 20 == 0) { /* decay: settings change, Adam's moments stay */
            mlp_net_get_optimizer(net, &opt);
            opt.lr *= 0.5f;
            mlp_net_set_optimizer(net, &opt);
        }
    }
    double acc = accuracy(net, &test, pred);
    printf("train_loop: %d epochs, %llu steps, loss %.4f, test accuracy %.4f\n", epoch - 1,
           (unsigned long long)mlp_net_step_count(net), (double)best, acc);

    /* 4. Save with the scaler (for raw inputs later), load back, compare predictions on the
     * already scaled test set (so the stored scaler is not needed here: NULL). */
    st = mlp_model_save(argv[2], net, &scaler);
    if (st == MLP_OK) st = mlp_model_load(argv[2], &loaded, NULL);
    if (st != MLP_OK) {
        rc = report("save / load", st);
        goto done;
    }
    if (accuracy(loaded, &test, pred2) != acc || memcmp(pred, pred2, test.n * sizeof *pred) != 0) {
        fprintf(stderr, "train_loop: the loaded model predicts differently\n");
        goto done;
    }
    rc = acc >= 0.9 ? 0 : 1;
done:
    mlp_net_free(loaded);
    mlp_net_free(net);
    mlp_scaler_free(&scaler);
    mlp_dataset_free(&train);
    mlp_dataset_free(&test);
    free(Y);
    free(Xb);
    free(Yb);
    free(order);
    free(pred);
    free(pred2);
    return rc;
}
