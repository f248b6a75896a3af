/* The AND gate, trained by a program outside the mlp tree against an installed mlp: a 2-input,
 * 1-output logistic network, driven by the step API (forward, backward, update). It also checks
 * that the library it runs with is the version it was compiled against and that the OpenBLAS it
 * loaded is the OpenMP build. Exit status 0 only if all four cases are right. */
#include <mlp/data.h>
#include <mlp/fit.h>
#include <mlp/mlp.h>
#include <mlp/model.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifdef MLP_CONSUMER_C_ONLY /* built without a C++ compiler: no headers.cpp */
static int consumer_cxx_version_ok(void) {
    return 1;
}
#else
int consumer_cxx_version_ok(void); /* headers.cpp */
#endif

static int fail(const char *what, mlp_status st) {
    fprintf(stderr, "consumer: %s: %s: %s\n", what, mlp_strerror(st), mlp_last_error());
    return 1;
}

int main(void) {
    printf("mlp %s (header %s), OpenBLAS %s, %s build, %d threads\n", mlp_version(),
           MLP_VERSION_STRING, mlp_blas_corename(), mlp_blas_is_openmp() ? "OpenMP" : "NOT OpenMP",
           mlp_get_num_threads());
    if (strcmp(mlp_version(), MLP_VERSION_STRING) != 0 || !consumer_cxx_version_ok()) {
        fprintf(stderr, "consumer: version mismatch\n");
        return 1;
    }
    if (!mlp_blas_is_openmp()) {
        fprintf(stderr, "consumer: the OpenBLAS loaded at run time is not its OpenMP build\n");
        return 1;
    }

    const float X[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    const float Y[4] = {0, 0, 0, 1};
    const size_t sizes[] = {2, 1};
    const mlp_activation acts[] = {MLP_ACT_LOGISTIC};
    mlp_net_config cfg = {.n_layers = 1,
                          .sizes = sizes,
                          .activations = acts,
                          .loss = MLP_LOSS_LOGISTIC,
                          .init = MLP_INIT_GLOROT,
                          .seed = 42};
    mlp_net *net;
    mlp_status st = mlp_net_create(&net, &cfg);
    if (st != MLP_OK) return fail("mlp_net_create", st);
    mlp_optimizer opt = mlp_optimizer_default(MLP_OPT_ADAM);
    opt.lr = 0.1f;
    opt.alpha = 0.0f;
    st = mlp_net_set_optimizer(net, &opt);
    if (st == MLP_OK) st = mlp_net_reserve(net, 4);
    float loss = 0.0f;
    for (int epoch = 0; epoch < 1000 && st == MLP_OK; epoch++) {
        st = mlp_forward(net, &X[0][0], 4);
        if (st == MLP_OK) st = mlp_backward(net, Y, &loss);
        if (st == MLP_OK) st = mlp_update(net);
    }
    int32_t labels[4];
    if (st == MLP_OK) st = mlp_predict_labels(net, &X[0][0], 4, labels);
    if (st != MLP_OK) {
        mlp_net_free(net);
        return fail("training", st);
    }
    int correct = 0;
    for (int i = 0; i < 4; i++) correct += labels[i] == (int32_t)Y[i];
    printf("AND gate: %d/4 correct after %llu steps, loss %.5f\n", correct,
           (unsigned long long)mlp_net_step_count(net), loss);
    mlp_net_free(net);
    return correct == 4 && isfinite(loss) ? 0 : 1;
}
