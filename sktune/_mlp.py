"""Multi-layer perceptrons: drop-in replacements for scikit-learn's MLPClassifier/Regressor."""

from numbers import Integral, Real

import numpy as np
import torch
from scipy import sparse
from sklearn.utils import check_random_state

from sktune._compat import Interval, StrOptions
from sktune._docs import (
    CLASS_WEIGHT,
    FITTED_ATTRIBUTES,
    REGRESSION_LOSS,
    TRAINING_PARAMETERS,
    with_defaults,
)
from sktune._sequences import check_layer_sizes
from sktune._supervised import NeuralClassifierBase, NeuralRegressorBase
from sktune.engine import SampleLoss
from sktune.nn import ACTIVATIONS, MLPModule, TabularMLPModule
from sktune.nn._mlp import glorot_uniform_

_ARCHITECTURE_DOC = """\
    hidden_layer_sizes : int or tuple of int
        Width of each hidden layer.
    activation : {"relu", "tanh", "logistic", "identity", "gelu", "leaky_relu", "elu", \
"silu"}
        Hidden-layer activation.
    dropout : float
        Dropout probability after each hidden layer.
    batch_norm : bool
        Batch normalisation after each hidden linear layer. A last training batch of
        one row joins the batch before it (one row has no batch statistics).
    numeric_embedding : {None, "periodic"}, default=None
        ``"periodic"``: each input feature enters the network as a learned periodic
        embedding (:class:`sktune.nn.PeriodicEmbedding`, PLR lite: 16 frequencies, 16
        outputs per feature), as the strongest deep tabular models do. Features whose
        training values are all 0 or 1 (one-hot columns, flags) enter as they are: a
        function of two values is linear, and their embeddings would multiply the
        first layer's cost; ``embedded_features_`` lists the embedded ones.
    n_ensemble : int, default=1
        Members of a parameter-efficient ensemble trained as one network (TabM-mini,
        :class:`sktune.nn.TabularMLPModule`): they share the hidden layers, each scales
        the input by its own vector and has its own output layer; training minimises
        the mean of their losses, predictions average theirs. With either option
        ``coefs_`` holds the shared layers and the first member's output layer; in a
        fused search such networks train stacked as plain ones do
        (:class:`sktune.nn.StackedTabularMLP`).
"""

_MLP_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_norm": ["boolean"],
    "numeric_embedding": [StrOptions({"periodic"}), None],
    "n_ensemble": [Interval(Integral, 1, None, closed="left")],
}


class _WeightList(list):
    """``coefs_`` / ``intercepts_`` of a fitted MLP: one numpy array per layer.

    On the CPU each array is a view of the network's weights, so editing it in place
    edits the model; assigning an item (``mlp.coefs_[0] = W``) writes the weights too.
    """

    def __init__(self, arrays, write):
        super().__init__(arrays)
        self._write = write

    def __setitem__(self, i, value):
        super().__setitem__(i, self._write(i, value))


class _MLPMixin:
    """How an MLP is built from the data, and scikit-learn's view of its weights."""

    _auto_dtype = "input"
    _module_parameters = frozenset(_MLP_CONSTRAINTS)

    def _validate_params(self):
        super()._validate_params()
        # entry by entry: (5.5,) would otherwise train a layer of 5, (0,) fail in torch
        check_layer_sizes(self, "hidden_layer_sizes", allow_empty=True)

    def _inspect_features(self, X):
        """``embedded_features_``: with ``numeric_embedding``, the indices of the
        features that are not 0/1-valued in the training data (those are embedded)."""
        if self.numeric_embedding is None:
            self.__dict__.pop("embedded_features_", None)
            return
        if sparse.issparse(X):  # a column is binary when its stored values are 0 or 1
            columns = sparse.csc_array(X)
            owner = np.repeat(np.arange(columns.shape[1]), np.diff(columns.indptr))
            other = owner[~np.isin(columns.data, (0, 1))]
            binary = np.bincount(other, minlength=columns.shape[1]) == 0
        else:
            binary = ((X == 0) | (X == 1)).all(axis=0)
        self.embedded_features_ = np.flatnonzero(~binary)

    def _build_module(self, n_features, n_outputs):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.ndim(sizes) == 0 else list(sizes)
        self.n_layers_ = len(sizes) + 2
        sizes = [int(s) for s in sizes]
        if self.numeric_embedding is None and self.n_ensemble == 1:
            module = MLPModule(n_features, sizes, n_outputs, activation=self.activation,
                               dropout=self.dropout, batch_norm=self.batch_norm)
        else:
            seed = check_random_state(self.random_state).randint(2**31 - 1)
            module = TabularMLPModule(
                n_features, sizes, n_outputs, activation=self.activation,
                dropout=self.dropout, batch_norm=self.batch_norm,
                numeric_embedding=self.numeric_embedding, n_ensemble=self.n_ensemble,
                link=self._member_link(), random_state=seed,
                embedded_features=getattr(self, "embedded_features_", None))
        module = module.double()
        glorot_uniform_(module, self.activation, self.random_state)
        pending = (self.__dict__.pop("_pending_coefs", None),
                   self.__dict__.pop("_pending_intercepts", None))
        for kind, arrays in zip(("weight", "bias"), pending):
            for i, array in enumerate(arrays or ()):
                _write_layer(module.linear_layers[i], kind, array)
        return module

    @property
    def coefs_(self):
        """The weight matrix of each layer, shape (n_in, n_out): a list of ndarray.

        Settable, as in scikit-learn: assigning the list, or one of its items, writes
        the network's weights; set before fitting, they are the initial weights.
        """
        return self._weights("weight", "_pending_coefs")

    @coefs_.setter
    def coefs_(self, value):
        self._set_weights("weight", "_pending_coefs", value)

    @property
    def intercepts_(self):
        """The bias vector of each layer, a list of ndarray (settable, as ``coefs_``)."""
        return self._weights("bias", "_pending_intercepts")

    @intercepts_.setter
    def intercepts_(self, value):
        self._set_weights("bias", "_pending_intercepts", value)

    def _weights(self, kind, pending):
        if "net_" not in self.__dict__:
            if pending in self.__dict__:
                return self.__dict__[pending]
            raise AttributeError(f"'{type(self).__name__}' has no {kind} arrays before fit.")
        layers = self.net_.module_.linear_layers
        return _WeightList([_read_layer(layer, kind) for layer in layers],
                           lambda i, value: _write_layer(layers[i], kind, value))

    def _set_weights(self, kind, pending, value):
        if "net_" not in self.__dict__:
            self.__dict__[pending] = list(value)
            return
        layers = self.net_.module_.linear_layers
        value = list(value)
        if len(value) != len(layers):
            raise ValueError(f"Expected {len(layers)} arrays (one per layer), got {len(value)}.")
        for layer, array in zip(layers, value):
            _write_layer(layer, kind, array)


def _read_layer(layer, kind):
    tensor = getattr(layer, kind).detach()
    array = tensor.cpu().numpy()
    return array.T if kind == "weight" else array


def _write_layer(layer, kind, value):
    """Copy ``value`` (scikit-learn's layout) into a layer's weight or bias; returns the
    array that now stands for it."""
    target = getattr(layer, kind)
    array = np.asarray(value, dtype=target.detach().cpu().numpy().dtype)
    if kind == "weight":
        array = array.T
    if array.shape != tuple(target.shape):
        expected = tuple(target.shape)[::-1] if kind == "weight" else tuple(target.shape)
        raise ValueError(f"Expected a {kind} array of shape {expected}, got "
                         f"{np.shape(value)}.")
    with torch.no_grad():
        target.copy_(torch.from_numpy(np.ascontiguousarray(array)))
    return _read_layer(layer, kind)


@with_defaults
class MLPClassifier(_MLPMixin, NeuralClassifierBase):
    __doc__ = f"""Multi-layer perceptron classifier trained with PyTorch.

    Accepts every parameter of :class:`sklearn.neural_network.MLPClassifier` with the
    same meaning, plus dropout, batch normalisation, L1,
    AdamW/RMSprop, learning-rate schedules with warm-up, gradient clipping and GPUs.

    Parameters
    ----------
{_ARCHITECTURE_DOC}    label_smoothing : float, default=0.0
        Train on targets mixed with the uniform distribution: each class gets
        ``label_smoothing / n_classes`` of every row's probability (each binary label
        ``label_smoothing / 2``). Probabilities are then less extreme; RealMLP and
        TabM train with 0.1.
{TRAINING_PARAMETERS}{CLASS_WEIGHT}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (column order of ``predict_proba``).
{FITTED_ATTRIBUTES}    coefs_ : list of ndarray
        Weight matrix of each linear layer, shape (n_in, n_out); settable.
    intercepts_ : list of ndarray
        Bias vector of each linear layer; settable.
    n_layers_ : int
        Number of layers, input and output included.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sktune import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01,
    ...                     max_iter=100, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {**NeuralClassifierBase._parameter_constraints,
                                    **_MLP_CONSTRAINTS,
                                    "label_smoothing": [Interval(Real, 0, 1, closed="left")]}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, l1=0.0, dropout=0.0, batch_norm=False, numeric_embedding=None,
                 n_ensemble=1, label_smoothing=0.0, batch_size="auto",
                 learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 lr_step_size=10, lr_decay=None, lr_patience=5, min_learning_rate=0.0,
                 warmup_epochs=0, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 restore_best_weights=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 max_grad_norm=None, device="auto", class_weight=None, max_fun=15000, dtype="auto",
                 precision="full", callbacks=None, divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())

    def _criterion(self):
        return SampleLoss("log_loss" if self._target_kind_ == "multiclass"
                          else "binary_log_loss", label_smoothing=self.label_smoothing)


@with_defaults
class MLPRegressor(_MLPMixin, NeuralRegressorBase):
    __doc__ = f"""Multi-layer perceptron regressor trained with PyTorch.

    Accepts every parameter of :class:`sklearn.neural_network.MLPRegressor` with the
    same meaning, plus robust losses, dropout, batch
    normalisation, L1, AdamW/RMSprop, learning-rate schedules, clipping and GPUs.
    Targets are not rescaled: wrap the estimator in
    :class:`sklearn.compose.TransformedTargetRegressor` for targets far from unit scale.

    Parameters
    ----------
{_ARCHITECTURE_DOC}{TRAINING_PARAMETERS}{REGRESSION_LOSS}
    Attributes
    ----------
{FITTED_ATTRIBUTES}    coefs_ : list of ndarray
        Weight matrix of each linear layer, shape (n_in, n_out); settable.
    intercepts_ : list of ndarray
        Bias vector of each linear layer; settable.
    n_layers_ : int
        Number of layers, input and output included.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sktune import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(64,), learning_rate_init=0.01,
    ...                    max_iter=300, random_state=0).fit(X, y / 100)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.score(X, y / 100) > 0.9
    True
    """

    _parameter_constraints: dict = {**NeuralRegressorBase._parameter_constraints,
                                    **_MLP_CONSTRAINTS}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=1e-4, l1=0.0, dropout=0.0, batch_norm=False,
                 numeric_embedding=None, n_ensemble=1,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3,
                 power_t=0.5, lr_step_size=10, lr_decay=None, lr_patience=5,
                 min_learning_rate=0.0, warmup_epochs=0, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, restore_best_weights=True, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, max_grad_norm=None, device="auto", huber_delta=1.0,
                 max_fun=15000, dtype="auto", precision="full", callbacks=None,
                 divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())
