/* What a task means for the output layer (scikit-learn's choice of output activation and loss
 * per target kind) and the label rule of an output row: used by fit (to build a net), model files
 * and inference (to read one back), and the CLI through the public calls of fit.h. */
#include "core/core.h"
#include "mlp/fit.h"

mlp_status mlp_task_output_named(mlp_task task, size_t count, const char *fn, mlp_activation *act,
                                 mlp_loss *loss, size_t *width) {
    if ((unsigned)task >= MLP_TASK_COUNT)
        return mlp_fail(MLP_ERR_ARG, "%s: unknown task %d", fn, (int)task);
    if (count == 0) return mlp_fail(MLP_ERR_ARG, "%s: n_classes_or_targets is 0", fn);
    if (task == MLP_TASK_CLASSIFY && count < 2)
        return mlp_fail(MLP_ERR_ARG, "%s: classification needs at least 2 classes, got %zu", fn,
                        count);
    mlp_activation a = MLP_ACT_LOGISTIC; /* MULTILABEL, and CLASSIFY with 2 classes */
    mlp_loss l = MLP_LOSS_LOGISTIC;
    size_t w = count;
    if (task == MLP_TASK_REGRESS) {
        a = MLP_ACT_IDENTITY;
        l = MLP_LOSS_SQUARED;
    } else if (task == MLP_TASK_CLASSIFY && count > 2) {
        a = MLP_ACT_SOFTMAX;
        l = MLP_LOSS_SOFTMAX_CE;
    } else if (task == MLP_TASK_CLASSIFY) {
        w = 1; /* P(class 1) */
    }
    if (act) *act = a;
    if (loss) *loss = l;
    if (width) *width = w;
    return MLP_OK;
}

mlp_status mlp_task_output(mlp_task task, size_t n_classes_or_targets,
                           mlp_activation *out_activation, mlp_loss *loss, size_t *out_width) {
    return mlp_task_output_named(task, n_classes_or_targets, "mlp_task_output", out_activation,
                                 loss, out_width);
}

mlp_status mlp_task_of_net(const mlp_net *net, mlp_task *task, size_t *n_classes_or_targets) {
    if (!net || !task)
        return mlp_fail(MLP_ERR_NULL, "mlp_task_of_net: %s is NULL", !net ? "net" : "task");
    size_t width = mlp_net_output_size(net), count = width;
    mlp_task t = MLP_TASK_CLASSIFY; /* SOFTMAX_CE */
    const mlp_loss loss = mlp_net_loss(net);
    if (loss == MLP_LOSS_SQUARED || loss == MLP_LOSS_POISSON || loss == MLP_LOSS_HUBER) {
        t = MLP_TASK_REGRESS;
    } else if (mlp_net_loss(net) == MLP_LOSS_LOGISTIC) {
        t = width == 1 ? MLP_TASK_CLASSIFY : MLP_TASK_MULTILABEL;
        if (width == 1) count = 2;
    }
    *task = t;
    if (n_classes_or_targets) *n_classes_or_targets = count;
    return MLP_OK;
}

int32_t mlp_output_label(const float *row, size_t width) {
    if (!row || width == 0) return -1; /* documented: no row, no label */
    return mlp_row_label(row, width);
}
