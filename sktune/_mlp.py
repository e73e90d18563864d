"""Multi-layer perceptrons: drop-in replacements for scikit-learn's MLPClassifier/Regressor."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from sktune._docs import CLASS_WEIGHT, FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from sktune._supervised import NeuralClassifierBase, NeuralRegressorBase
from sktune.nn import ACTIVATIONS, MLPModule

_ARCHITECTURE_DOC = """\
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer.
    activation : {"relu", "tanh", "logistic", "identity", "gelu", "leaky_relu", "elu", \
"silu"}, default="relu"
        Hidden-layer activation.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    batch_norm : bool, default=False
        Batch normalisation after each hidden linear layer.
"""

_MLP_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_norm": ["boolean"],
}


class _MLPMixin:
    """How an MLP is built from the data; shared by the classifier and the regressor."""

    def _build_module(self, n_features, n_outputs):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.isscalar(sizes) else list(sizes)
        if any(int(s) < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive, got {self.hidden_layer_sizes}.")
        return MLPModule(n_features, [int(s) for s in sizes], n_outputs,
                         activation=self.activation, dropout=self.dropout,
                         batch_norm=self.batch_norm)

    @property
    def coefs_(self):
        """list of ndarray: weight matrix of layer i, shape (n_in, n_out), as in sklearn."""
        return [layer.weight.detach().cpu().numpy().T.copy() for layer in self._linear_layers()]

    @property
    def intercepts_(self):
        """list of ndarray: bias vector of layer i, as in sklearn."""
        return [layer.bias.detach().cpu().numpy().copy() for layer in self._linear_layers()]

    def _linear_layers(self):
        if not hasattr(self, "net_"):
            raise AttributeError("coefs_ and intercepts_ exist after fit.")
        return self.net_.module_.linear_layers


class MLPClassifier(_MLPMixin, NeuralClassifierBase):
    __doc__ = f"""Multi-layer perceptron classifier trained with PyTorch.

    Accepts every parameter of :class:`sklearn.neural_network.MLPClassifier` with the
    same meaning (``solver="lbfgs"`` excepted), plus dropout, batch normalisation, L1,
    AdamW/RMSprop, learning-rate schedules with warm-up, gradient clipping and GPUs.

    Parameters
    ----------
{_ARCHITECTURE_DOC}{TRAINING_PARAMETERS}{CLASS_WEIGHT}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (column order of ``predict_proba``).
{FITTED_ATTRIBUTES}    coefs_ : list of ndarray
        Weight matrix of each linear layer, shape (n_in, n_out).
    intercepts_ : list of ndarray
        Bias vector of each linear layer.
    out_activation_ : str
        ``"softmax"`` (multiclass) or ``"logistic"`` (binary, multilabel).

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
                                    **_MLP_CONSTRAINTS}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, l1=0.0, dropout=0.0, batch_norm=False, batch_size="auto",
                 learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 lr_step_size=10, lr_decay=None, lr_patience=5, min_learning_rate=0.0,
                 warmup_epochs=0, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 restore_best_weights=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 max_grad_norm=None, device="auto", class_weight=None, max_fun=15000):
        self._store_init_params(locals())


class MLPRegressor(_MLPMixin, NeuralRegressorBase):
    __doc__ = f"""Multi-layer perceptron regressor trained with PyTorch.

    Accepts every parameter of :class:`sklearn.neural_network.MLPRegressor` with the
    same meaning (``solver="lbfgs"`` excepted), plus robust losses, dropout, batch
    normalisation, L1, AdamW/RMSprop, learning-rate schedules, clipping and GPUs.
    Targets are not rescaled: wrap the estimator in
    :class:`sklearn.compose.TransformedTargetRegressor` for targets far from unit scale.

    Parameters
    ----------
    loss : {{"squared_error", "absolute_error", "huber", "poisson"}}, default="squared_error"
        Training loss; ``"poisson"`` uses a log link (predictions are ``exp`` of the
        network output) and needs non-negative targets.
{_ARCHITECTURE_DOC}{TRAINING_PARAMETERS}    huber_delta : float, default=1.0
        Threshold between the quadratic and linear parts of ``loss="huber"``.

    Attributes
    ----------
{FITTED_ATTRIBUTES}    coefs_ : list of ndarray
        Weight matrix of each linear layer, shape (n_in, n_out).
    intercepts_ : list of ndarray
        Bias vector of each linear layer.
    out_activation_ : str
        ``"identity"``, or ``"exp"`` for the Poisson loss.

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
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3,
                 power_t=0.5, lr_step_size=10, lr_decay=None, lr_patience=5,
                 min_learning_rate=0.0, warmup_epochs=0, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, restore_best_weights=True, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, max_grad_norm=None, device="auto", huber_delta=1.0,
                 max_fun=15000):
        self._store_init_params(locals())
