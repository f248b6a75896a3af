"""What MLPClassifier and MLPRegressor share: the call of mlp_fit and the fitted attributes,
sample weights, inference, pickling through the library's model bytes.

A fit goes in four steps, along scikit-learn's seams: prepare (the parameters and the data
checked, mlp_fit's options built), call (mlp_fit, on a net the estimator does not hold yet: a
copy of the fitted one, or a new one), take in the results (the fitted attributes, built aside in
a dict) and warn. The estimator's attributes and net are replaced together, only once mlp_fit has
succeeded: a fit that fails for any reason leaves the estimator exactly as it was (fitted as
before, or unfitted). Ctrl-C stops a fit within a minibatch and keeps the weights reached, as
scikit-learn does for its stochastic solvers (_run_interruptible)."""
import ctypes
import math
import os
import queue
import threading
import warnings
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _lib, _params

_PREDICT_PRECISION_LOCK = threading.Lock()  # _apply_predict_precision
_NO_STOP = 2 ** 62  # n_iter_no_change that the stopping rule can never exceed
# what the stochastic solvers set and lbfgs does not (scikit-learn's lbfgs leaves them unset)
_STOCHASTIC_ATTRS = ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
                     "validation_losses_", "best_validation_loss_")
# scikit-learn's estimator checks that a float32 engine cannot pass at their float64 tolerances,
# declared as scikit-learn asks (_more_tags()['_xfail_checks']: check_estimator skips them, with
# the reason)
XFAIL_CHECKS = {
    # predict_proba of a row may differ in its last bit (1 ulp of float32, rel. ~1e-7) when the
    # row sits elsewhere in the batch: OpenBLAS's sgemm rounds a row differently by its position
    # in the kernel's block; the check wants rtol 1e-7 (mlp computes in float32)
    "check_methods_sample_order_invariance":
        "float32 GEMM: a row's last bit depends on its position in the batch (the check wants "
        "rtol 1e-7)",
    # rows of weight 0 change nothing mathematically, but they are still in the batch's float32
    # GEMMs and sums: outputs differ from the fit without them in the last bit (kind=zeros; the
    # tag names the check, so kind=ones, which passes, is skipped with it)
    "check_sample_weights_invariance":
        "float32: zero-weight rows change the summation order (last-bit differences; the check "
        "wants rtol 1e-7)",
}
# what scikit-learn's _validate_data(reset=True) sets
_DATA_ATTRS = ("n_features_in_", "feature_names_in_")
_UNSET = object()  # the value of a fitted attribute that a fit removes
_INTERRUPTED = "Training interrupted by user."  # scikit-learn's warning
# How often the main thread looks up from waiting for the fit: a SIGINT that the kernel hands
# to another thread (the worker, an OpenMP thread) is only seen by the main thread when it runs
# Python code again (one that it receives itself ends the wait at once).
_POLL_SECONDS = 0.1


class BaseMLP(BaseEstimator):
    """scikit-learn 1.2's BaseMultilayerPerceptron parameters, on libmlp's mlp_fit."""

    _task = None  # set by the subclasses

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 threads=None, dropout=0.0, early_stopping_metric="score", precision="f32",
                 predict_precision="f32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.threads = threads
        self.dropout = dropout
        self.early_stopping_metric = early_stopping_metric
        self.precision = precision
        self.predict_precision = predict_precision

    # ---------------------------------------------------------------------------------------
    # parameters and data
    def _check_params(self):
        """Every parameter, checked and converted (_params.check); raises ValueError."""
        return _params.check(self)

    def _fitted_net(self):
        return getattr(self, "_net", None)

    def _draw_seed(self):
        rs = self.random_state
        if _params.is_int(rs):
            return int(rs)  # random_state=42 is the C library's seed 42 (the CLI's --seed 42)
        return int(check_random_state(rs).randint(0, 2 ** 32 - 1))

    def _validate_fit_data(self, X, y, reset, **check):
        """X, y checked by scikit-learn's _validate_data, and the attributes that it sets for a
        new model (reset: n_features_in_, feature_names_in_) taken back out and returned, as
        {name: value or _UNSET}: they are assigned with the other fitted attributes, once the
        fit has succeeded."""
        if not reset:
            X, y = self._validate_data(X, y, reset=False, **check)
            return X, y, {}
        # on a scratch estimator (the parameters, without the data attributes), never on self:
        # a predict running in another thread meanwhile must not see this data's n_features_in_
        # beside the fitted net (_model)
        scratch = object.__new__(type(self))
        scratch.__dict__ = {k: v for k, v in self.__dict__.items() if k not in _DATA_ATTRS}
        X, y = scratch._validate_data(X, y, reset=True, **check)
        return X, y, {k: scratch.__dict__.get(k, _UNSET) for k in _DATA_ATTRS}

    def _eval_set_xy(self, eval_set):
        """eval_set as XGBoost's and LightGBM's scikit-learn APIs take it, (X_val, y_val) or
        [(X_val, y_val)], into (X_val: dense float32 C order, with the fitted features, y_val as
        given); None for None. Raises ValueError for another form or X_val's feature count."""
        if eval_set is None:
            return None
        if isinstance(eval_set, list) and len(eval_set) == 1 and isinstance(eval_set[0], tuple):
            eval_set = eval_set[0]
        if not isinstance(eval_set, tuple) or len(eval_set) != 2:
            raise ValueError("eval_set must be (X_val, y_val) or [(X_val, y_val)] (one "
                             "validation set), got %r" % (type(eval_set).__name__,))
        Xv, yv = eval_set
        from sklearn.utils.validation import check_array
        Xv = check_array(Xv, accept_sparse=["csr", "csc", "coo"], dtype=np.float32, order="C")
        Xv = self._dense(Xv)
        if Xv.shape[0] == 0:
            raise ValueError("eval_set's X_val has no rows")
        return Xv, yv

    @staticmethod
    def _check_sample_weight(sample_weight, n, as_float32=True):
        """sample_weight as mlp_fit reads it: None, or n float32 weights (C order, a copy, so the
        caller's array is never written), each finite and >= 0, not all 0. A number is a weight
        for every row (scikit-learn's _check_sample_weight). Raises ValueError otherwise.
        as_float32=False: the checked float64 weights (to be multiplied by class weights)."""
        if sample_weight is None:
            return None
        if _params.is_real(sample_weight):
            sw = np.full(n, sample_weight, dtype=np.float64)
        else:
            try:
                sw = np.asarray(sample_weight, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError("sample_weight must be numbers, got %r"
                                 % (sample_weight,)) from None
        if sw.ndim != 1:
            raise ValueError("Sample weights must be 1D array or scalar, got an array of shape "
                             "%s" % (sw.shape,))
        if sw.shape[0] != n:
            raise ValueError("sample_weight.shape == %s, expected (%d,)!" % (sw.shape, n))
        if not np.all(np.isfinite(sw)):
            raise ValueError("sample_weight must be finite: row %d is %r"
                             % (int(np.flatnonzero(~np.isfinite(sw))[0]),
                                float(sw[~np.isfinite(sw)][0])))
        if np.any(sw < 0):
            raise ValueError("sample_weight must be >= 0: row %d is %r"
                             % (int(np.flatnonzero(sw < 0)[0]), float(sw[sw < 0][0])))
        if not as_float32:
            return sw
        big = sw > _params.FLT_MAX
        if np.any(big):
            raise ValueError("sample_weight must be finite in float32 (<= 3.4e38): row %d is %r"
                             % (int(np.flatnonzero(big)[0]), float(sw[big][0])))
        w = np.ascontiguousarray(sw, dtype=np.float32)  # always a new array (float64 -> 32)
        if not np.any(w > 0):
            raise ValueError("sample_weight sums to 0 (every weight is 0 in float32): nothing "
                             "to train on")
        return w

    # ---------------------------------------------------------------------------------------
    # training: _fit, in four steps
    def _fit(self, p, X, labels, Y, k, task, incremental, sample_weight, attrs, val=None):
        """mlp_fit on X (float32, C order) with labels (int32) or Y (float32) for task (k
        classes or targets): a new net, or the fitted one continued (warm start /
        partial_fit). p: the checked parameters; sample_weight: None or what
        _check_sample_weight returned; attrs: fitted attributes that the caller decided (data
        and label attributes), assigned with the others on success; val: None, or the
        validation set of eval_set as (X_val, labels_val, Y_val), encoded as X, labels, Y."""
        plan = self._prepare(p, X, labels, Y, k, task, incremental, sample_weight, val)
        out = self._call(plan)
        fitted = self._take_results(plan, out)
        fitted.update(attrs)
        state = dict(self.__dict__)
        for name, value in fitted.items():
            if value is _UNSET:
                state.pop(name, None)
            else:
                state[name] = value
        # the commit: one assignment, which not even a signal can split. The old dict is never
        # changed after it: a predict in another thread that took it (_model) goes on with the
        # old model, whose net lives as long as that call holds it
        self.__dict__ = state
        self._warn(plan, out)
        return self

    def _prepare(self, p, X, labels, Y, k, task, incremental, sw, val=None):
        """Step 1 (the parameters and the data are checked): whether the fitted net is continued,
        what the earlier calls accumulated, mlp_fit's options. Changes nothing."""
        continuing = (incremental or self.warm_start) and self._fitted_net() is not None
        if continuing:
            self._check_continuable(p)
        n, d = X.shape
        lbfgs = p.solver == "lbfgs"
        if val is not None and lbfgs:
            raise ValueError("eval_set is the early-stopping set of the stochastic solvers "
                             "('adam', 'sgd'); solver='lbfgs' has no early stopping")
        # lbfgs has no early stopping (scikit-learn ignores it; so does mlp_fit), nor partial_fit;
        # a validation set of the caller's (eval_set) means early stopping on it
        early = (p.early_stopping or val is not None) and not incremental and not lbfgs
        if early and val is None:
            n_val = _params.check_split(p.validation_fraction, n)
            if labels is not None:
                _check_stratified_split(labels, n, n_val)
        prev = self._previous(continuing)
        max_iter = 1 if incremental else p.max_iter
        # a continued fit shuffles with another seed than the previous calls
        seed = (prev["seed"] + prev["n_iter"]) % 2 ** 64
        opts = self._options(p, max_iter, incremental, seed, early)
        if sw is not None:
            if sw.dtype != np.float32 or not sw.flags.c_contiguous or sw.shape != (n,):
                raise ValueError("internal: sample_weight must be n float32 C-order weights")
            opts.sample_weight = sw.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        if val is not None and not incremental:
            _set_val_options(opts, val, d)
        return SimpleNamespace(p=p, X=X, labels=labels, Y=Y, k=k, task=task, n=n, d=d, sw=sw,
                               incremental=incremental, continuing=continuing, lbfgs=lbfgs,
                               early=early, prev=prev, max_iter=max_iter, seed=seed, opts=opts,
                               val=val)

    def _check_continuable(self, p):
        layers = self._net.layers()
        have = [out for _, out, _ in layers[:-1]]
        acts = [a for _, _, a in layers[:-1]]
        if have != p.hidden or acts != p.activations:
            raise ValueError(
                "warm_start / partial_fit continue the fitted net (hidden layers %s, "
                "activations %s); hidden_layer_sizes=%s, activation=%r differ: fit with "
                "warm_start=False for a new net" % (have, acts or None, p.hidden,
                                                    self.activation))
        if p.loss is not None:
            loss = _lib.REGRESSION_LOSS[p.loss]
            delta = _params.to_float32(p.huber_delta)
            if self._net.loss() != loss or (loss == _lib.LOSS_HUBER and
                                            self._net.huber_delta() != delta):
                raise ValueError("warm_start / partial_fit continue the fitted net, trained with "
                                 "another loss (or huber_delta) than loss=%r, huber_delta=%r: "
                                 "fit with warm_start=False for a new net"
                                 % (p.loss, p.huber_delta))

    def _previous(self, continuing):
        """What the previous calls accumulated (scikit-learn's attributes continue across
        warm-start fits and partial_fit calls). A previous lbfgs fit left no loss curve or
        validation attributes: they start empty."""
        if not continuing:
            return dict(seed=self._draw_seed(), n_iter=0, t=0, loss=math.nan, curve=[],
                        best_loss=None, vals=None, best_val=None, vloss=None, best_vloss=None)
        g = lambda name: getattr(self, name, None)  # noqa: E731
        return dict(seed=self._seed, n_iter=self.n_iter_, t=self.t_,
                    loss=getattr(self, "loss_", math.nan), curve=list(g("loss_curve_") or []),
                    best_loss=g("best_loss_"), vals=g("validation_scores_"),
                    best_val=g("best_validation_score_"), vloss=g("validation_losses_"),
                    best_vloss=g("best_validation_loss_"))

    @staticmethod
    def _options(p, max_iter, incremental, seed, early):
        o = _lib.lib.mlp_fit_options_default()
        o.n_hidden = len(p.hidden)
        # ctypes keeps the array alive as long as the struct (its _objects)
        o.hidden = (ctypes.c_size_t * max(1, len(p.hidden)))(*p.hidden)
        o.activation = _lib.ACT[p.activation]
        if p.hidden:  # one per hidden layer (the same one for all unless a tuple was given)
            o.activations = (ctypes.c_int * len(p.hidden))(*[_lib.ACT[a] for a in p.activations])
        if p.loss is not None:  # the regressor's
            o.loss = _lib.REGRESSION_LOSS[p.loss]
            o.huber_delta = p.huber_delta
        o.opt.kind = {"adam": _lib.OPT_ADAM, "sgd": _lib.OPT_SGD,
                      "lbfgs": _lib.OPT_LBFGS}[p.solver]
        o.opt.lr = p.learning_rate_init
        o.opt.alpha = p.alpha
        o.opt.momentum = p.momentum
        o.opt.nesterov = 1 if p.nesterovs_momentum else 0
        o.opt.beta1 = p.beta_1
        o.opt.beta2 = p.beta_2
        o.opt.eps = p.epsilon
        o.batch_size = p.batch_size  # 0: 'auto'
        o.schedule = _lib.LR[p.learning_rate]
        o.power_t = p.power_t
        o.max_iter = max_iter
        o.shuffle = 1 if p.shuffle else 0
        o.seed = seed
        o.tol = p.tol
        # partial_fit: one epoch that the tol / n_iter_no_change rule cannot stop, no early
        # stopping (as scikit-learn's partial_fit)
        o.n_iter_no_change = _NO_STOP if incremental else p.n_iter_no_change
        o.early_stopping = 1 if early else 0
        o.validation_fraction = p.validation_fraction
        o.max_fun = p.max_fun  # lbfgs only: loss+gradient evaluations
        o.early_stopping_metric = _lib.STOP_METRIC[p.early_stopping_metric]
        o.precision = _lib.PRECISION[p.precision]  # of the training GEMMs (inference is f32)
        return o

    def _call(self, plan):
        """Step 2: mlp_fit, on a copy of the fitted net (mlp_net_clone) when continuing, else on
        a new one (made here when dropout must be set first, else by mlp_fit), so that a failure
        leaves the estimator's net untouched. From the main thread it runs in the fit thread
        (_run_interruptible): Ctrl-C stops it and the weights reached are kept. Returns the
        outcome (_fit_call's, with .interrupted); raises what made it fail: mlp_fit's error, or
        the exception of the progress callback."""
        p = plan.p
        net = None  # None: mlp_fit creates it
        if plan.continuing:
            net = self._net.clone()
            net.set_dropout(p.rates)
        elif any(p.rates):
            net = _lib.Net.create(plan.d, p.hidden, p.activations, plan.task, plan.k,
                                  plan.opts.init, plan.seed, plan.opts.loss,
                                  plan.opts.huber_delta)
            net.set_dropout(p.rates)
        flag = ctypes.c_int(0)
        plan.opts.interrupt = ctypes.pointer(flag)
        errors = []
        if p.verbose:
            plan.opts.callback = self._progress(plan, errors)
        caller_threads = _lib.lib.mlp_get_num_threads()
        out, interrupted = _run_interruptible(lambda: _fit_call(plan, net, caller_threads), flag)
        for e in errors:
            if not isinstance(e, KeyboardInterrupt):
                raise e
            interrupted = True
        if out.status != 0:
            # MemoryError for the memory limit, MLPUnsupportedError for bf16 where there is
            # none, MLPDivergedError, else MLPError (_lib.error)
            raise _lib.error(out.status, "mlp_fit", out.message)
        out.interrupted = out.interrupted or interrupted
        return out

    @staticmethod
    def _progress(plan, errors):
        """verbose: mlp_fit's epoch callback, printing scikit-learn's "Iteration i, loss = ..."
        line. An exception in it (BrokenPipeError from print under `| head`) cannot cross the C
        call (ctypes would print and ignore it): it goes into errors and stops the fit (return
        1), and _call raises it."""
        # lbfgs: n_iter_ is this fit's iteration count (scikit-learn's), not accumulated
        first = 0 if plan.lbfgs else plan.prev["n_iter"]

        def report(info, user):
            try:
                print("Iteration %d, loss = %.8f" % (first + info.contents.epoch,
                                                     info.contents.loss))
                return 0
            except BaseException as e:  # everything: nothing may escape into C
                errors.append(e)
                return 1
        return _lib.EPOCH_CALLBACK(report)

    def _take_results(self, plan, out):
        """Step 3: the fitted attributes from mlp_fit's outcome, as a dict (_UNSET: removed)."""
        prev, epochs = plan.prev, out.epochs
        a = dict(_net=out.net, _dropout=plan.p.rates, _seed=prev["seed"],
                 _fit_seconds=out.seconds, loss_=out.loss if epochs else prev["loss"])
        if plan.lbfgs:
            # scikit-learn's lbfgs: n_iter_ is this fit's iterations, loss_ the final loss, t_
            # stays (0 after a new fit); it sets no loss_curve_, best_loss_ or validation
            # attributes. A new fit drops those of an earlier stochastic fit.
            a.update(n_iter_=epochs, t_=prev["t"])
            if not plan.continuing:
                a.update(dict.fromkeys(_STOCHASTIC_ATTRS, _UNSET))
        else:
            a.update(self._stochastic_attrs(out, prev, plan.early))
        layers = out.net.layers()
        a.update(n_layers_=len(layers) + 1, n_outputs_=layers[-1][1],
                 out_activation_=layers[-1][2], precision_=out.net.precision())
        return a

    @staticmethod
    def _stochastic_attrs(out, prev, early_stopping):
        """adam / sgd: loss_curve_, n_iter_, t_ and the best-loss or validation attributes,
        continued from prev (the earlier calls of a warm start / partial_fit)."""
        e = out.epochs
        a = dict(loss_curve_=prev["curve"] + out.loss_curve, n_iter_=prev["n_iter"] + e,
                 t_=prev["t"] + out.n_train * e)
        if early_stopping:
            a.update(validation_scores_=list(prev["vals"] or []) + out.val_scores,
                     validation_losses_=list(prev["vloss"] or []) + out.val_losses,
                     best_validation_score_=_best(max, prev["best_val"], out.best_val_score, e),
                     best_validation_loss_=_best(min, prev["best_vloss"], out.best_val_loss, e),
                     best_loss_=None)  # as scikit-learn with early stopping
        else:
            a.update(validation_scores_=prev["vals"], best_validation_score_=prev["best_val"],
                     validation_losses_=prev["vloss"], best_validation_loss_=prev["best_vloss"],
                     best_loss_=_best(min, prev["best_loss"], out.best_loss, e))
        return a

    @staticmethod
    def _warn(plan, out):
        """Step 4: scikit-learn's warnings (stacklevel 4: the caller of fit / partial_fit)."""
        if out.interrupted:
            warnings.warn(_INTERRUPTED, UserWarning, stacklevel=4)
        elif plan.lbfgs:
            if not out.converged and not out.by_callback:
                # scikit-learn's _check_optimize_result warning, with scipy's L-BFGS-B status
                # and message for the reason mlp_fit stopped
                if out.epochs >= plan.max_iter:
                    status, why = 1, "STOP: TOTAL NO. of ITERATIONS REACHED LIMIT"
                elif out.steps >= plan.p.max_fun:
                    status, why = 1, "STOP: TOTAL NO. of f AND g EVALUATIONS EXCEEDS LIMIT"
                else:
                    status, why = 2, ("ABNORMAL_TERMINATION_IN_LNSRCH (the line search found "
                                      "no lower loss; mlp's network passes are float32)")
                warnings.warn("lbfgs failed to converge (status=%d):\n%s.\n\nIncrease the "
                              "number of iterations (max_iter) or scale the data as shown "
                              "in:\n    https://scikit-learn.org/stable/modules/"
                              "preprocessing.html" % (status, why),
                              ConvergenceWarning, stacklevel=4)
        elif not plan.incremental and not out.converged and out.epochs == plan.max_iter:
            warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                          "optimization hasn't converged yet." % plan.max_iter,
                          ConvergenceWarning, stacklevel=4)

    # ---------------------------------------------------------------------------------------
    # inference: any number of threads may call predict, predict_proba, predict_log_proba,
    # score, coefs_ and intercepts_ on one fitted estimator at once, also while another thread
    # refits it (fit, partial_fit, warm start); each call works on one model throughout (_model)
    def _model(self):
        """The fitted model as it is now, for one inference call: a view of the estimator that
        shares its attribute dict of this moment. A fit never changes that dict (it assigns a
        new one in its commit, _fit), so the view's net, n_features_in_, n_outputs_ and
        classes_ belong together for the whole call, whatever another thread fits meanwhile;
        and the view keeps the net (a _lib.Net, whose C memory is freed when its last reference
        goes) alive until the call is done."""
        view = object.__new__(type(self))
        view.__dict__ = self.__dict__
        return view

    def _forward(self, X):
        """Outputs of the net for X (validated float32 C-order), n x n_outputs float32. The net
        is held by a local reference for the whole C call (which runs without the GIL), and the
        buffers are sized by the net itself: a mismatch is a ValueError, never a read or write
        past an array."""
        net = self._net
        self._apply_predict_precision(net)
        d, k = _lib.lib.mlp_net_input_size(net.ptr), _lib.lib.mlp_net_output_size(net.ptr)
        if X.ndim != 2 or X.shape[1] != d or X.dtype != np.float32 or not X.flags.c_contiguous:
            raise ValueError("X has shape %s (%s); the fitted net takes float32 C-order rows of "
                             "%d features" % (X.shape, X.dtype, d))
        out = np.empty((X.shape[0], k), dtype=np.float32)
        if X.shape[0] == 0:
            return out
        f32 = ctypes.POINTER(ctypes.c_float)
        _lib.check(_lib.lib.mlp_predict(net.ptr, X.ctypes.data_as(f32), X.shape[0],
                                        out.ctypes.data_as(f32)), "mlp_predict")
        return out

    def _apply_predict_precision(self, net):
        """The net predicts in self.predict_precision ('f32' by default; 'bf16' rounds inputs,
        weights and hidden outputs to bfloat16, f32 accumulation: mlp_net_set_predict_precision).
        Set once per value, under a lock (double-checked), so that predictions from several
        threads at once do not set it at the same time; a ValueError where bf16 is not
        available."""
        wanted = getattr(self, "predict_precision", "f32")
        if net.requested_predict_precision == wanted:
            return
        _params._check_predict_precision(self)
        with _PREDICT_PRECISION_LOCK:
            if net.requested_predict_precision != wanted:
                net.set_predict_precision(wanted)

    def _validate_predict(self, X):
        """(X as float32 C-order dense array, the dtype outputs are returned in: float32 for a
        float32 X, else float64, as scikit-learn's outputs follow X's dtype)."""
        check_is_fitted(self, "n_outputs_")
        out = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = self._validate_data(X, accept_sparse=["csr", "csc", "coo"], dtype=np.float32,
                                order="C", reset=False)
        return self._dense(X), out

    @staticmethod
    def _dense(X):
        """A sparse X becomes a dense float32 array (mlp computes on dense rows)."""
        if hasattr(X, "toarray"):
            return np.ascontiguousarray(X.toarray(), dtype=np.float32)
        return X

    # ---------------------------------------------------------------------------------------
    # fitted weights, as scikit-learn's (copies of the net's flat parameters)
    @property
    def coefs_(self):
        net = self._require_net("coefs_")
        return [net.layer_params(l)[0] for l in range(len(net.layers()))]

    @property
    def intercepts_(self):
        net = self._require_net("intercepts_")
        return [net.layer_params(l)[1] for l in range(len(net.layers()))]

    def _require_net(self, name):
        """The fitted net (one reference, kept by the caller for its whole use)."""
        net = getattr(self, "_net", None)
        if net is None:
            raise AttributeError("%s is not fitted yet: it has no attribute %r"
                                 % (type(self).__name__, name))
        return net

    # ---------------------------------------------------------------------------------------
    # pickling: the net travels as the bytes of its model file (mlp_model_save), which carry
    # the weights and the optimizer settings and state
    def __getstate__(self):
        state = self.__dict__.copy()
        net = state.pop("_net", None)
        if net is not None:
            state["_net_bytes"] = net.to_bytes()
        return state

    def __setstate__(self, state):
        state = dict(state)
        data = state.pop("_net_bytes", None)
        self.__dict__.update(state)
        if data is not None:
            self._net = _lib.Net.from_bytes(data)
            # model files keep dropout (format 3); set it again for pickles of older versions
            if any(getattr(self, "_dropout", ())):
                self._net.set_dropout(self._dropout)

    # ---------------------------------------------------------------------------------------
    # ONNX export (mlp/_onnx.py; docs/ONNX.md)
    def to_onnx(self, path=None, *, input_name="X"):
        """The fitted model as ONNX (opset 17, IR version 8; docs/ONNX.md), written to path if
        given (replaced atomically, as model files). Returns an onnx.ModelProto where the onnx
        package imports (Debian: python3-onnx), else the model's bytes. Inputs: input_name,
        float [N, n_features_in_]; outputs: label and probabilities (classifiers), variable
        (regressors), computing what predict, predict_proba and predict do."""
        from . import _onnx
        return _onnx.to_onnx(self, path, input_name)


def _check_stratified_split(labels, n, n_val):
    """The stratified early-stopping split mlp_fit makes for a classifier (scikit-learn's
    StratifiedShuffleSplit), refused as scikit-learn refuses it, with its ValueError."""
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    if counts.min() < 2:
        raise ValueError("The least populated class in y has only 1 member, which is too few. "
                         "The minimum number of groups for any class cannot be less than 2.")
    if n - n_val < len(counts):
        raise ValueError("The train_size = %d should be greater or equal to the number of "
                         "classes = %d" % (n - n_val, len(counts)))
    if n_val < len(counts):
        raise ValueError("The test_size = %d should be greater or equal to the number of "
                         "classes = %d" % (n_val, len(counts)))


def _set_val_options(opts, val, d):
    """mlp_fit's validation set (val_X, val_labels or val_Y, val_n) from val = (X_val float32
    C order, labels int32 or None, Y float32 or None); the arrays stay referenced by the plan."""
    Xv, lv, Yv = val
    if Xv.ndim != 2 or Xv.shape[1] != d or Xv.dtype != np.float32 or not Xv.flags.c_contiguous:
        raise ValueError("internal: eval_set's X must be float32 C-order rows of %d features" % d)
    f32 = ctypes.POINTER(ctypes.c_float)
    opts.val_X = Xv.ctypes.data_as(f32)
    if lv is not None:
        opts.val_labels = lv.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
    if Yv is not None:
        opts.val_Y = Yv.ctypes.data_as(f32)
    opts.val_n = Xv.shape[0]


def _best(pick, before, now, epochs):
    """The better (pick: min or max) of an earlier best (None: none) and this fit's, which
    there is not when it finished no epoch (interrupted at once)."""
    if not epochs:
        return before
    return now if before is None else pick(before, now)


def _fit_call(plan, net, caller_threads):
    """mlp_fit with plan's options on net (a _lib.Net, or None for mlp_fit to create one), in
    the calling thread (the fit thread of _run_interruptible, or fit's caller), with
    caller_threads, the OpenMP count of the thread that called fit (OpenMP's count is per
    thread: a new thread starts from OMP_NUM_THREADS, not from what its creator set, e.g. with
    threadpoolctl), or threads=n. The count is set for this thread only (_set_call_threads),
    and this thread's count is restored after. Returns the status, mlp_last_error() (kept per
    thread), the net, and on success or divergence mlp_fit_result as Python values; the
    result's arrays are freed here."""
    restore = _set_call_threads(plan.p.threads, caller_threads)
    ptr = ctypes.c_void_p(net.ptr if net is not None else None)
    res = _lib.FitResult()
    f32 = ctypes.POINTER(ctypes.c_float)
    xp = plan.X.ctypes.data_as(f32)
    lp = None if plan.labels is None else plan.labels.ctypes.data_as(
        ctypes.POINTER(ctypes.c_int32))
    yp = None if plan.Y is None else plan.Y.ctypes.data_as(f32)
    try:
        # ctypes releases the GIL for the whole call
        st = _lib.lib.mlp_fit(ctypes.byref(ptr), plan.task, xp, lp, yp, plan.n, plan.d, plan.k,
                              ctypes.byref(plan.opts), ctypes.byref(res))
    finally:
        restore()
    if net is None and ptr.value:
        net = _lib.Net(ptr.value)  # created by mlp_fit: ours, also after MLP_ERR_DIVERGED
    out = SimpleNamespace(status=st, net=net, message="")
    if st != 0:
        out.message = _lib.lib.mlp_last_error().decode("utf-8", "replace")
    if st in (0, _lib.ERR_DIVERGED):  # res is filled
        try:
            out.__dict__.update(_result_values(res))
        finally:
            _lib.lib.mlp_fit_result_free(ctypes.byref(res))
    return out


def _set_call_threads(threads, caller_threads):
    """The calling thread's OpenMP count becomes threads (None: caller_threads); returns what
    puts it back. Per thread only (omp_set_num_threads) where OpenBLAS is its OpenMP build,
    which follows OpenMP's per-thread count (mlp runs each GEMM tile as a serial OpenBLAS call):
    mlp_set_num_threads also sets OpenBLAS's process-wide count, which mlp.h allows only while
    no other thread runs mlp or BLAS calls, and a refit may run while other threads predict.
    Elsewhere (OpenBLAS's pthread build, no reachable omp_set_num_threads) threads=n still
    needs mlp_set_num_threads(n), and caller_threads goes back with it after."""
    want = caller_threads if threads is None else threads
    if threads is not None and not _lib.per_thread_counts():
        _lib.check(_lib.lib.mlp_set_num_threads(threads), "mlp_set_num_threads")
        return lambda: _lib.lib.mlp_set_num_threads(caller_threads)
    had = _lib.lib.mlp_get_num_threads()
    if had == want:
        return lambda: None
    _lib.set_openmp_threads(want)
    return lambda: _lib.set_openmp_threads(had)


def _result_values(res):
    """mlp_fit_result's fields as Python values (the curves as lists)."""
    e = int(res.epochs)

    def arr(ptr):
        return [float(v) for v in np.ctypeslib.as_array(ptr, (e,))] if e and ptr else []
    return dict(epochs=e, converged=bool(res.converged),
                by_callback=bool(res.stopped_by_callback), interrupted=bool(res.interrupted),
                loss=float(res.loss), best_loss=float(res.best_loss),
                best_val_score=float(res.best_val_score), best_val_loss=float(res.best_val_loss),
                loss_curve=arr(res.loss_curve), val_scores=arr(res.val_scores),
                val_losses=arr(res.val_losses), steps=int(res.steps),
                seconds=float(res.seconds), n_train=int(res.n_train))


def _run_interruptible(call, flag):
    """call() (a C fit) in the fit thread while the main thread waits for it, so that Ctrl-C is
    seen at once: Python raises KeyboardInterrupt in the main thread only, and not during a
    foreign call. The first KeyboardInterrupt sets flag (mlp_fit_options.interrupt: mlp_fit
    stops before its next minibatch) and the wait goes on; a second one is raised at once (the
    fit, on a net the estimator does not hold, stops on its own). Off the main thread, which
    never gets KeyboardInterrupt, call() runs in place. Returns (what call() returned, whether a
    KeyboardInterrupt came); re-raises what call() raised."""
    if threading.current_thread() is not threading.main_thread():
        return call(), False
    box, done = {}, threading.Lock()
    done.acquire()  # released by the job when it ends

    def job():
        try:
            box["out"] = call()
        except BaseException as e:  # handed over to the waiting thread
            box["error"] = e
        finally:
            done.release()

    # The wait is on a plain lock (the cheapest hand-over), not on Thread.join: a
    # KeyboardInterrupt inside join can leave a Thread marked as stopped while it still runs
    # (CPython 3.11's _wait_for_tstate_lock).
    interrupted = False
    try:
        _fit_thread_jobs().put(job)
        while True:
            try:
                while not done.acquire(timeout=_POLL_SECONDS):
                    pass
                break
            except KeyboardInterrupt:
                flag.value = 1
                if interrupted:
                    raise
                interrupted = True
    finally:
        flag.value = 1  # whatever escapes the wait, the fit stops (a no-op once it is done)
    if "error" in box:
        raise box["error"]
    return box["out"], interrupted


_fit_thread = {"pid": None, "jobs": None}
_fit_thread_lock = threading.Lock()


def _fit_thread_jobs():
    """The job queue of the fit thread: one long-lived thread that runs the main thread's fits,
    one at a time (a new thread per fit costs ~0.1 ms, and OpenMP a new thread team). Started
    on first use, and again in a forked child (threads do not survive fork). A daemon: an idle
    one does not keep the interpreter alive."""
    with _fit_thread_lock:
        if _fit_thread["pid"] != os.getpid():
            jobs = queue.SimpleQueue()
            threading.Thread(target=_serve, args=(jobs,), name="mlp-fit", daemon=True).start()
            _fit_thread.update(pid=os.getpid(), jobs=jobs)
        return _fit_thread["jobs"]


def _serve(jobs):
    while True:
        jobs.get()()  # a job never raises (it hands its exception over)
