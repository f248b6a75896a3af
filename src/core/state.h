/* The training state of a network, and the end of a data-parallel step: the one seam through
 * which the layers above core see and change what training changes.
 *   fit  snapshots and restores the state to roll back a diverged epoch;
 *   io   reads it into a model file and writes it back from one;
 *   mpi  broadcasts it and finishes its steps on allreduced gradients.
 * core owns the state: the parameters, the optimizer's two moment buffers and the count of
 * updates applied. Only core writes the step count (optim.c counts updates; mlp_net_state_end
 * sets it after a load or a broadcast). Users of this header need no field of mlp_net. */
#ifndef MLP_CORE_STATE_H
#define MLP_CORE_STATE_H

#include "mlp/mlp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The state's buffers, each n floats in the flat layout of mlp_net_params (every W then b):
 * the parameters, Adam's first moment or SGD's velocity (m), Adam's second moment (v; unused by
 * SGD but always there), and the updates applied so far. */
typedef struct mlp_state {
    size_t n;
    float *params, *m, *v;
    uint64_t step;
} mlp_state;
typedef struct mlp_state_view {
    size_t n;
    const float *params, *m, *v;
    uint64_t step;
} mlp_state_view;

/* The state, to read. */
mlp_state_view mlp_net_state_view(const mlp_net *net);
/* The state's buffers, to overwrite (a model load, a broadcast); end with mlp_net_state_end. */
mlp_state mlp_net_state_begin(mlp_net *net);
/* After the buffers were written: sets the step count and ends any pending forward/backward pass
 * (its outputs came from the old parameters). */
void mlp_net_state_end(mlp_net *net, uint64_t step);
/* The initialisation a net was created with (a net rebuilt elsewhere gets the same). */
void mlp_net_init_of(const mlp_net *net, mlp_init *init, uint64_t *seed);

/* ---- snapshots: what fit keeps to roll back a diverged epoch ---- */
/* Floats one snapshot holds: the parameters and both optimizer moments. */
size_t mlp_net_state_size(const mlp_net *net);
/* Copies parameters and moments to snap (mlp_net_state_size floats) and the step count to *step. */
void mlp_net_save_state(const mlp_net *net, float *snap, uint64_t *step);
/* Restores what mlp_net_save_state saved; ends any pending forward/backward pass. */
void mlp_net_restore_state(mlp_net *net, const float *snap, uint64_t step);
/* True if every parameter is finite. */
bool mlp_net_params_finite(const mlp_net *net);
/* Ends the pending forward/backward pass: the caller changed the parameters through
 * mlp_net_params (lbfgs's line search) or the workspace. */
void mlp_pass_reset(mlp_net *net);

/* ---- passes with an explicit normaliser: lbfgs's chunks and data-parallel steps ---- */
/* Backward of the pending pass (mlp_forward) with an explicit normaliser and penalty:
 * grads = (1/norm) * the data gradient of the pass's rows (weighted by w, n entries, if not
 * NULL), plus (alpha/norm) W if with_l2; the data loss of the pass's rows summed (not averaged)
 * into *data_sum. */
mlp_status mlp_backward_scaled(mlp_net *net, const float *Y, const float *w, double norm,
                               bool with_l2, double *data_sum);
/* The regularised loss, the library's one definition: data + alpha/2 * sum(W^2) / norm, with
 * alpha the net's optimizer's and sum(W^2) as the last pass left it (a pass with the L2 term, or
 * mlp_finish_reduced_step). data is the mean data loss (the sum over norm). */
double mlp_regularised_loss(const mlp_net *net, double data, double norm);
/* The end of a data-parallel step on gradients reduced across processes: grads = sum (the
 * batch's mean data gradient; may be mlp_net_grads itself) + (alpha/norm) W on the weights,
 * *loss = mlp_regularised_loss(data), then the optimizer's update (which ends the pending pass).
 * Every process does the same arithmetic on the same values. */
void mlp_finish_reduced_step(mlp_net *net, const float *sum, double data, size_t norm, float *loss);

#endif /* MLP_CORE_STATE_H */
