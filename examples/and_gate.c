/* The AND gate: a 2-input, 1-output logistic network (no hidden layer) learns AND. */
#include <mlp/mlp.h>

#include <math.h>
#include <stdio.h>

int main(void) {
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
    if (st != MLP_OK) {
        fprintf(stderr, "and_gate: %s: %s\n", mlp_strerror(st), mlp_last_error());
        return 1;
    }
    mlp_optimizer opt = mlp_optimizer_default(MLP_OPT_ADAM);
    opt.lr = 0.1f;
    opt.alpha = 0.0f;
    mlp_net_set_optimizer(net, &opt);
    float loss = 0.0f;
    for (int epoch = 0; epoch < 1000 && st == MLP_OK; epoch++)
        st = mlp_train_step(net, &X[0][0], Y, 4, &loss);
    float P[4];
    if (st == MLP_OK) st = mlp_predict(net, &X[0][0], 4, P);
    if (st != MLP_OK) {
        fprintf(stderr, "and_gate: %s: %s\n", mlp_strerror(st), mlp_last_error());
        mlp_net_free(net);
        return 1;
    }
    float *W, *b;
    mlp_net_layer_params(net, 0, &W, &b);
    printf("weights: %.4f %.4f  bias: %.4f  (loss %.5f)\n", W[0], W[1], b[0], loss);
    int correct = 0;
    for (int i = 0; i < 4; i++) {
        int rounded = (int)roundf(P[i]);
        correct += rounded == (int)Y[i];
        printf("%g AND %g -> %.4f -> %d\n", X[i][0], X[i][1], P[i], rounded);
    }
    printf("%d/4 correct\n", correct);
    mlp_net_free(net);
    return correct == 4 ? 0 : 1;
}
