"""What MLPClassifier and MLPRegressor share: parameters, their checks, sample weights, the call
of mlp_fit, the fitted attributes, pickling through the library's model bytes."""
import ctypes
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _lib

_SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
_MLP_ACTIVATIONS = ("leaky_relu", "gelu")  # mlp's own, beyond scikit-learn's four
_NO_STOP = 2 ** 62  # n_iter_no_change that the stopping rule can never exceed
_SOLVERS = ("adam", "sgd", "lbfgs")
_STOCHASTIC_SOLVERS = ("adam", "sgd")
# what the stochastic solvers set and lbfgs does not (scikit-learn's lbfgs leaves them unset)
_STOCHASTIC_ATTRS = ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
                     "validation_losses_", "best_validation_loss_")


class BaseMLP(BaseEstimator):
    """scikit-learn 1.2's BaseMultilayerPerceptron parameters, on libmlp's mlp_fit."""

    _task = None  # set by the subclasses

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 threads=None, dropout=0.0, early_stopping_metric="score"):
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

    # ---------------------------------------------------------------------------------------
    # parameters
    def _hidden(self):
        h = self.hidden_layer_sizes
        if isinstance(h, numbers.Integral):
            h = [h]
        try:
            h = [int(v) for v in h]
        except TypeError:
            raise ValueError("hidden_layer_sizes must be an int or a sequence of ints, got %r"
                             % (self.hidden_layer_sizes,)) from None
        if any(v <= 0 for v in h):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % h)
        return h

    def _check_params(self, incremental):
        if self.solver not in _SOLVERS:
            raise ValueError("The solver '%s' is not supported. Supported solvers are %s."
                             % (self.solver, list(_SOLVERS)))
        if not isinstance(self.early_stopping_metric, str) or \
                self.early_stopping_metric not in _lib.STOP_METRIC:
            raise ValueError("early_stopping_metric must be 'score' or 'loss', got %r"
                             % (self.early_stopping_metric,))
        if self.activation not in _SKLEARN_ACTIVATIONS + _MLP_ACTIVATIONS:
            raise ValueError("The activation '%s' is not supported. Supported activations "
                             "are %s." % (self.activation,
                                          list(_SKLEARN_ACTIVATIONS + _MLP_ACTIVATIONS)))
        if self.learning_rate not in _lib.LR:
            raise ValueError("learning rate %s is not supported. " % (self.learning_rate,))

        def num(name, lo, lo_open=False, hi=None, hi_open=False, integral=False):
            v = getattr(self, name)
            kind = numbers.Integral if integral else numbers.Real
            if isinstance(v, bool) or not isinstance(v, kind) or not np.isfinite(v):
                raise ValueError("%s must be a finite %s, got %r"
                                 % (name, "integer" if integral else "number", v))
            if (v <= lo if lo_open else v < lo) or (hi is not None and
                                                     (v >= hi if hi_open else v > hi)):
                raise ValueError("%s must be %s %s%s, got %r" % (
                    name, ">" if lo_open else ">=", lo,
                    "" if hi is None else " and %s %s" % ("<" if hi_open else "<=", hi), v))

        num("alpha", 0.0)
        num("learning_rate_init", 0.0, lo_open=True)
        num("power_t", 0.0)
        num("max_iter", 1, integral=True)
        num("tol", 0.0)
        num("momentum", 0.0, hi=1.0, hi_open=True)
        num("validation_fraction", 0.0, lo_open=True, hi=1.0, hi_open=True)
        num("beta_1", 0.0, hi=1.0, hi_open=True)
        num("beta_2", 0.0, hi=1.0, hi_open=True)
        num("epsilon", 0.0, lo_open=True)
        num("n_iter_no_change", 1, integral=True)
        num("max_fun", 1, integral=True)
        if not (self.batch_size == "auto" or
                (isinstance(self.batch_size, numbers.Integral) and self.batch_size >= 1)):
            raise ValueError("batch_size must be 'auto' or an integer >= 1, got %r"
                             % (self.batch_size,))
        if self.threads is not None and not (isinstance(self.threads, numbers.Integral)
                                             and self.threads >= 1):
            raise ValueError("threads must be None or an integer >= 1, got %r" % (self.threads,))
        hidden = self._hidden()
        rates = self._dropout_rates(hidden)
        if self.solver == "lbfgs" and any(rates):
            raise ValueError("dropout=%r needs a stochastic solver ('adam' or 'sgd'): lbfgs "
                             "minimises the deterministic full-batch loss" % (self.dropout,))
        return hidden

    def _dropout_rates(self, hidden):
        """dropout (mlp's own parameter): one probability for every hidden layer, or one per
        hidden layer; each in [0, 1)."""
        p = self.dropout
        rates = [p] * len(hidden) if isinstance(p, numbers.Real) else list(p)
        if len(rates) != len(hidden):
            raise ValueError("dropout must be a number or one per hidden layer (%d), got %r"
                             % (len(hidden), p))
        for r in rates:
            if isinstance(r, bool) or not isinstance(r, numbers.Real) or not 0.0 <= r < 1.0:
                raise ValueError("dropout probabilities must be in [0, 1), got %r" % (p,))
        return [float(r) for r in rates]

    @staticmethod
    def _check_sample_weight(sample_weight, n):
        """sample_weight as mlp_fit reads it: None, or n float32 weights (C order, a copy, so the
        caller's array is never written), each finite and >= 0, not all 0. A number is a weight
        for every row (scikit-learn's _check_sample_weight). Raises ValueError otherwise."""
        if sample_weight is None:
            return None
        if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
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
        big = sw > np.finfo(np.float32).max
        if np.any(big):
            raise ValueError("sample_weight must be finite in float32 (<= 3.4e38): row %d is %r"
                             % (int(np.flatnonzero(big)[0]), float(sw[big][0])))
        w = np.ascontiguousarray(sw, dtype=np.float32)  # always a new array (float64 -> 32)
        if not np.any(w > 0):
            raise ValueError("sample_weight sums to 0 (every weight is 0 in float32): nothing "
                             "to train on")
        return w

    def _options(self, hidden, max_iter, incremental, seed):
        o = _lib.lib.mlp_fit_options_default()
        o.n_hidden = len(hidden)
        # ctypes keeps the array alive as long as the struct (its _objects)
        o.hidden = (ctypes.c_size_t * max(1, len(hidden)))(*hidden)
        o.activation = _lib.ACT[self.activation]
        o.opt.kind = {"adam": _lib.OPT_ADAM, "sgd": _lib.OPT_SGD,
                      "lbfgs": _lib.OPT_LBFGS}[self.solver]
        o.opt.lr = self.learning_rate_init
        o.opt.alpha = self.alpha
        o.opt.momentum = self.momentum
        o.opt.nesterov = 1 if self.nesterovs_momentum else 0
        o.opt.beta1 = self.beta_1
        o.opt.beta2 = self.beta_2
        o.opt.eps = self.epsilon
        o.batch_size = 0 if self.batch_size == "auto" else int(self.batch_size)
        o.schedule = _lib.LR[self.learning_rate]
        o.power_t = self.power_t
        o.max_iter = max_iter
        o.shuffle = 1 if self.shuffle else 0
        o.seed = seed
        o.tol = self.tol
        # partial_fit: one epoch that the tol / n_iter_no_change rule cannot stop, no early
        # stopping (as scikit-learn's partial_fit)
        o.n_iter_no_change = _NO_STOP if incremental else int(self.n_iter_no_change)
        # lbfgs has no early stopping (scikit-learn ignores it; so does mlp_fit)
        o.early_stopping = 1 if (self.early_stopping and not incremental and
                                 self.solver in _STOCHASTIC_SOLVERS) else 0
        o.validation_fraction = self.validation_fraction
        o.max_fun = int(self.max_fun)  # lbfgs only: loss+gradient evaluations
        o.early_stopping_metric = _lib.STOP_METRIC[self.early_stopping_metric]
        return o

    def _draw_seed(self):
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs)  # random_state=42 is the C library's seed 42 (the CLI's --seed 42)
        return int(check_random_state(rs).randint(0, 2 ** 32 - 1))

    # ---------------------------------------------------------------------------------------
    # training
    def _run_fit(self, X, labels, Y, k, incremental, sample_weight=None):
        """mlp_fit on X (float32, C order) with labels (int32) or Y (float32): a new net, or the
        current one continued (warm start / partial_fit). sample_weight: None or what
        _check_sample_weight returned (n float32 weights)."""
        hidden = self._check_params(incremental)
        lbfgs = self.solver == "lbfgs"
        continuing = (incremental or self.warm_start) and getattr(self, "_net", None) is not None
        if continuing:
            layers = self._net.layers()
            have = [out for _, out, _ in layers[:-1]]
            acts = {a for _, _, a in layers[:-1]}
            if have != hidden or (hidden and acts != {self.activation}):
                raise ValueError(
                    "warm_start / partial_fit continue the fitted net (hidden layers %s, "
                    "activation %s); hidden_layer_sizes=%s, activation=%r differ: fit with "
                    "warm_start=False for a new net" % (have, sorted(acts) or None, hidden,
                                                        self.activation))
        # what the previous calls accumulated (scikit-learn's attributes continue across
        # warm-start fits and partial_fit calls); assigned back only when mlp_fit succeeds. A
        # previous lbfgs fit left no loss curve or validation attributes: start them empty.
        if continuing:
            g = lambda name, default=None: getattr(self, name, default)  # noqa: E731
            prev = dict(seed=self._seed, n_iter=self.n_iter_, t=self.t_,
                        curve=list(g("loss_curve_") or []), best_loss=g("best_loss_"),
                        vals=g("validation_scores_"), best_val=g("best_validation_score_"),
                        vloss=g("validation_losses_"), best_vloss=g("best_validation_loss_"))
        else:
            prev = dict(seed=self._draw_seed(), n_iter=0, t=0, curve=[], best_loss=None,
                        vals=None, best_val=None, vloss=None, best_vloss=None)
        max_iter = 1 if incremental else int(self.max_iter)
        # a continued fit shuffles with another seed than the previous calls
        seed = (prev["seed"] + prev["n_iter"]) % 2 ** 64
        opts = self._options(hidden, max_iter, incremental, seed)
        sw = sample_weight  # referenced here until mlp_fit has returned (opts points into it)
        if sw is not None:
            if sw.dtype != np.float32 or not sw.flags.c_contiguous or sw.shape != (X.shape[0],):
                raise ValueError("internal: sample_weight must be n float32 C-order weights")
            opts.sample_weight = sw.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        if self.verbose:
            # lbfgs: n_iter_ is this fit's iteration count (scikit-learn's), not accumulated
            first = 0 if lbfgs else prev["n_iter"]

            def report(info, user):
                print("Iteration %d, loss = %.8f" % (first + info.contents.epoch,
                                                     info.contents.loss))
                return 0
            opts.callback = _lib.EPOCH_CALLBACK(report)

        n, d = X.shape
        rates = self._dropout_rates(hidden)
        own = None  # a net created here to set dropout on before mlp_fit (mlp_net_set_dropout)
        if continuing:
            self._net.set_dropout(rates)
        elif any(rates):
            own = _lib.Net.create(d, hidden, self.activation, self._task, k, opts.init, seed)
            own.set_dropout(rates)
        net = ctypes.c_void_p(self._net.ptr if continuing else own.ptr if own else None)
        res = _lib.FitResult()
        f32 = ctypes.POINTER(ctypes.c_float)
        xp = X.ctypes.data_as(f32)
        lp = labels.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)) if labels is not None else None
        yp = Y.ctypes.data_as(f32) if Y is not None else None
        old_threads = None
        if self.threads is not None:
            old_threads = _lib.lib.mlp_get_num_threads()
            _lib.check(_lib.lib.mlp_set_num_threads(int(self.threads)), "mlp_set_num_threads")
        try:
            # ctypes releases the GIL for the whole call
            st = _lib.lib.mlp_fit(ctypes.byref(net), self._task, xp, lp, yp, n, d, k,
                                  ctypes.byref(opts), ctypes.byref(res))
        finally:
            if old_threads is not None:
                _lib.lib.mlp_set_num_threads(old_threads)
            opts.sample_weight = None
        try:
            if st != 0:
                msg = _lib.lib.mlp_last_error().decode("utf-8", "replace")
                if st == _lib.ERR_DIVERGED and not continuing and not own and net.value:
                    _lib.lib.mlp_net_free(net)
                err = _lib.MLPDivergedError if st == _lib.ERR_DIVERGED else _lib.MLPError
                raise err(st, "mlp_fit", msg)
            if not continuing:
                self._net = own if own else _lib.Net(net.value)
            self._dropout = rates
            epochs = int(res.epochs)
            self._seed = prev["seed"]
            self.loss_ = float(res.loss)
            if lbfgs:
                # scikit-learn's lbfgs: n_iter_ is this fit's iterations, loss_ the final loss,
                # t_ stays (0 after a new fit); it sets no loss_curve_, best_loss_ or
                # validation attributes. A new fit drops those of an earlier stochastic fit.
                self.n_iter_ = epochs
                self.t_ = prev["t"]
                if not continuing:
                    for name in _STOCHASTIC_ATTRS:
                        self.__dict__.pop(name, None)
            else:
                self._set_stochastic_attrs(res, epochs, prev, bool(opts.early_stopping))
            self._fit_seconds = float(res.seconds)
            converged, by_callback = bool(res.converged), bool(res.stopped_by_callback)
            steps = int(res.steps)
        finally:
            _lib.lib.mlp_fit_result_free(ctypes.byref(res))
        layers = self._net.layers()
        self.n_layers_ = len(layers) + 1
        self.n_outputs_ = layers[-1][1]
        self.out_activation_ = layers[-1][2]
        if lbfgs:
            if not converged and not by_callback:
                # scikit-learn's _check_optimize_result warning, with scipy's L-BFGS-B status
                # and message for the reason mlp_fit stopped
                if epochs >= max_iter:
                    status, why = 1, "STOP: TOTAL NO. of ITERATIONS REACHED LIMIT"
                elif steps >= int(self.max_fun):
                    status, why = 1, "STOP: TOTAL NO. of f AND g EVALUATIONS EXCEEDS LIMIT"
                else:
                    status, why = 2, ("ABNORMAL_TERMINATION_IN_LNSRCH (the line search found "
                                      "no lower loss; mlp's network passes are float32)")
                warnings.warn("lbfgs failed to converge (status=%d):\n%s.\n\nIncrease the "
                              "number of iterations (max_iter) or scale the data as shown "
                              "in:\n    https://scikit-learn.org/stable/modules/"
                              "preprocessing.html" % (status, why),
                              ConvergenceWarning, stacklevel=3)
        elif not incremental and not converged and epochs == max_iter:
            warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                          "optimization hasn't converged yet." % max_iter, ConvergenceWarning,
                          stacklevel=3)
        return self

    def _set_stochastic_attrs(self, res, epochs, prev, early_stopping):
        """adam / sgd: loss_curve_, n_iter_, t_ and the best-loss or validation attributes,
        continued from prev (the earlier calls of a warm start / partial_fit)."""
        def arr(ptr):
            return [float(v) for v in np.ctypeslib.as_array(ptr, (epochs,))] if epochs else []
        self.loss_curve_ = prev["curve"] + arr(res.loss_curve)
        self.n_iter_ = prev["n_iter"] + epochs
        self.t_ = prev["t"] + int(res.n_train) * epochs
        if early_stopping:
            self.validation_scores_ = list(prev["vals"] or []) + arr(res.val_scores)
            self.validation_losses_ = list(prev["vloss"] or []) + arr(res.val_losses)
            best = prev["best_val"]
            self.best_validation_score_ = float(res.best_val_score) if best is None \
                else max(best, float(res.best_val_score))
            best = prev["best_vloss"]
            self.best_validation_loss_ = float(res.best_val_loss) if best is None \
                else min(best, float(res.best_val_loss))
            self.best_loss_ = None  # as scikit-learn with early stopping
        else:
            self.validation_scores_ = prev["vals"]
            self.best_validation_score_ = prev["best_val"]
            self.validation_losses_ = prev["vloss"]
            self.best_validation_loss_ = prev["best_vloss"]
            best = prev["best_loss"]
            self.best_loss_ = float(res.best_loss) if best is None \
                else min(best, float(res.best_loss))

    # ---------------------------------------------------------------------------------------
    # inference
    def _forward(self, X):
        """Outputs of the net for X (validated float32 C-order), n x n_outputs_ float32."""
        out = np.empty((X.shape[0], self.n_outputs_), dtype=np.float32)
        if X.shape[0] == 0:
            return out
        f32 = ctypes.POINTER(ctypes.c_float)
        _lib.check(_lib.lib.mlp_predict(self._net.ptr, X.ctypes.data_as(f32), X.shape[0],
                                        out.ctypes.data_as(f32)), "mlp_predict")
        return out

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
        self._require_net("coefs_")
        return [self._net.layer_params(l)[0] for l in range(self.n_layers_ - 1)]

    @property
    def intercepts_(self):
        self._require_net("intercepts_")
        return [self._net.layer_params(l)[1] for l in range(self.n_layers_ - 1)]

    def _require_net(self, name):
        if getattr(self, "_net", None) is None:
            raise AttributeError("%s is not fitted yet: it has no attribute %r"
                                 % (type(self).__name__, name))

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
