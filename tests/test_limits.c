/* The memory limit: inputs that would need a buffer over mlp_set_memory_limit are refused with
 * MLP_ERR_LIMIT and a message, for networks, workspaces, CSV, IDX and model files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mlp/data.h"
#include "mlp/fit.h"
#include "mlp/mlp.h"
#include "mlp/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mlp_net *make_net(size_t in, size_t hidden) {
    size_t sizes[] = {in, hidden, 3};
    mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net_config cfg = {2, sizes, acts, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1};
    mlp_net *net = NULL;
    mlp_net_create(&net, &cfg);
    return net;
}

static int reset_limit(void **state) {
    (void)state;
    mlp_set_memory_limit(0);
    return 0;
}

static void limit_get_set(void **state) {
    (void)state;
    size_t def = mlp_get_memory_limit();
    assert_true(def > ((size_t)1 << 20)); /* the machine's memory: at least a MiB */
    mlp_set_memory_limit(12345);
    assert_int_equal(mlp_get_memory_limit(), 12345);
    mlp_set_memory_limit(0);
    assert_int_equal(mlp_get_memory_limit(), def);
    assert_string_not_equal(mlp_strerror(MLP_ERR_LIMIT), mlp_strerror(MLP_ERR_NOMEM));
}

static void limit_network_and_workspace(void **state) {
    (void)state;
    mlp_set_memory_limit(1 << 20); /* 1 MiB */
    /* 1000 x 1000 weights: 4 MB per parameter-sized buffer. */
    size_t sizes[] = {1000, 1000, 3};
    mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net_config cfg = {2, sizes, acts, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1};
    mlp_net *net = (mlp_net *)1;
    assert_int_equal(mlp_net_create(&net, &cfg), MLP_ERR_LIMIT);
    assert_null(net);
    assert_non_null(strstr(mlp_last_error(), "memory limit"));
    /* A small net fits, but a batch whose workspace exceeds the limit does not. */
    net = make_net(10, 100);
    assert_non_null(net);
    assert_int_equal(mlp_net_reserve(net, 100), MLP_OK);
    assert_int_equal(mlp_net_reserve(net, 100000), MLP_ERR_LIMIT);
    assert_non_null(strstr(mlp_last_error(), "bytes"));
    /* The net stays usable at its old size. */
    float X[10] = {0}, out[3];
    assert_int_equal(mlp_predict(net, X, 1, out), MLP_OK);
    mlp_set_memory_limit(SIZE_MAX);
    assert_int_equal(mlp_net_reserve(net, 100000), MLP_OK);
    mlp_net_free(net);
}

static void limit_csv_and_model(void **state) {
    (void)state;
    char csv[512], model[512];
    snprintf(csv, sizeof csv, "%s/limits.csv", MLP_TEST_TMPDIR);
    snprintf(model, sizeof model, "%s/limits.mlp", MLP_TEST_TMPDIR);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    for (int i = 0; i < 2000; i++) {
        for (int j = 0; j < 50; j++) fprintf(f, "%d,", (i + j) % 7);
        fprintf(f, "%d\n", i % 3);
    }
    fclose(f);
    mlp_dataset ds = {0};
    mlp_set_memory_limit(64 << 10); /* 64 KiB: the 2000 x 50 floats need 400 KB */
    assert_int_equal(mlp_read_csv(csv, NULL, &ds), MLP_ERR_LIMIT);
    assert_null(ds.X);
    assert_non_null(strstr(mlp_last_error(), "limits.csv"));
    mlp_set_memory_limit(0);
    assert_int_equal(mlp_read_csv(csv, NULL, &ds), MLP_OK);
    assert_int_equal(ds.n, 2000);
    mlp_dataset_free(&ds);

    mlp_net *net = make_net(50, 200); /* ~10k parameters: a file of ~125 KB */
    assert_non_null(net);
    assert_int_equal(mlp_model_save(model, net, NULL), MLP_OK);
    mlp_set_memory_limit(16 << 10);
    mlp_net *loaded = (mlp_net *)1;
    assert_int_equal(mlp_model_load(model, &loaded, NULL), MLP_ERR_LIMIT);
    assert_null(loaded);
    mlp_set_memory_limit(0);
    assert_int_equal(mlp_model_load(model, &loaded, NULL), MLP_OK);
    mlp_net_free(loaded);
    mlp_net_free(net);
    remove(csv);
    remove(model);
}

/* The limit is on a whole fit: its buffers are added up and checked before any is allocated.
 * Before, each buffer was checked alone: 3 features and one hidden layer of 10^9 units passed
 * (each parameter-sized buffer under the default limit) and the fit grew until killed, and a fit
 * peaked at 4.65 GiB under a 2 GiB limit. */
static void limit_whole_fit(void **state) {
    (void)state;
    enum { N = 300, D = 3 };
    float X[N * D];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) X[i * D + j] = (float)((i * 7 + j * 3) % 11) / 11.0f;
        y[i] = i % 3;
    }
    mlp_fit_options o = mlp_fit_options_default();
    o.max_iter = 2;
    const size_t huge[] = {1000000000};
    o.hidden = huge;
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, D, 3, &o, NULL),
                     MLP_ERR_LIMIT);
    assert_non_null(strstr(mlp_last_error(), "mlp_fit: training needs"));
    assert_null(net);

    /* 64 hidden units: 451 parameters, 7216 bytes of net buffers. The net alone fits under 20000
     * bytes; the fit (net, workspace, two rollback snapshots of 3 x 451 floats, targets, batch)
     * does not, and is refused before it allocates anything. */
    const size_t h64[] = {64};
    o.hidden = h64;
    mlp_set_memory_limit(20000);
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, D, 3, &o, NULL),
                     MLP_ERR_LIMIT);
    assert_non_null(strstr(mlp_last_error(), "rollback snapshots"));
    assert_null(net);
    size_t sizes[] = {D, 64, 3};
    mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    mlp_net_config cfg = {2, sizes, acts, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1};
    assert_int_equal(mlp_net_create(&net, &cfg), MLP_OK);
    mlp_net_free(net);
    mlp_set_memory_limit(0);
    net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, D, 3, &o, NULL), MLP_OK);
    mlp_net_free(net);
}

/* The total a fit needs, from the message of a fit refused at a 4 KiB limit (above the budget's
 * own small arrays, below any fit). */
static double fit_needs(const float *X, const int32_t *y, size_t n, size_t d,
                        const mlp_fit_options *o) {
    mlp_set_memory_limit(4096);
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, n, d, 3, o, NULL), MLP_ERR_LIMIT);
    const char *m = strstr(mlp_last_error(), "training needs ");
    assert_non_null(m);
    mlp_set_memory_limit(0);
    return strtod(m + strlen("training needs "), NULL);
}

/* bf16 training's copies (the weights' bf16 copy, dW parts, the bf16 workspace) are in the
 * budget: at exactly what the f32 fit needs, f32 trains and bf16 is refused. */
static void limit_counts_bf16(void **state) {
    (void)state;
    if (!mlp_precision_supported(MLP_PRECISION_BF16)) {
        printf("bf16 not available here (%s): skipped\n", mlp_precision_isa());
        return;
    }
    enum { N = 400, D = 30 };
    static float X[N * D];
    static int32_t y[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) X[i * D + j] = (float)((i * 13 + j * 7) % 17) / 17.0f;
        y[i] = i % 3;
    }
    mlp_fit_options o = mlp_fit_options_default();
    o.max_iter = 2;
    const double f32 = fit_needs(X, y, N, D, &o);
    o.precision = MLP_PRECISION_BF16;
    const double bf16 = fit_needs(X, y, N, D, &o);
    assert_true(bf16 > f32);
    mlp_set_memory_limit((size_t)f32);
    mlp_net *net = NULL;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, D, 3, &o, NULL),
                     MLP_ERR_LIMIT);
    assert_null(net);
    o.precision = MLP_PRECISION_F32;
    assert_int_equal(mlp_fit(&net, MLP_TASK_CLASSIFY, X, y, NULL, N, D, 3, &o, NULL), MLP_OK);
    mlp_net_free(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(limit_get_set, reset_limit),
        cmocka_unit_test_teardown(limit_network_and_workspace, reset_limit),
        cmocka_unit_test_teardown(limit_csv_and_model, reset_limit),
        cmocka_unit_test_teardown(limit_whole_fit, reset_limit),
        cmocka_unit_test_teardown(limit_counts_bf16, reset_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
