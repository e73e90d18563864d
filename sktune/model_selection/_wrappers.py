"""The estimators a fused search sees through to the sktune network they train.

A fused search trains each (candidate, split) pair's network stacked with others, so it
does itself what the pair's estimator would do around that network's ``fit``. It knows
two wrappers, nested in any order: a ``Pipeline`` (its preprocessing steps are fitted on
the training rows — once per split and setting, shared by the pairs that use them — and
the network trains on their output) and a ``TransformedTargetRegressor`` (its target
transformer is fitted, the network trains on the transformed target, and the wrapper
gets the fitted attributes its own ``fit`` sets). Any other estimator trains through
its own ``fit``, as in scikit-learn's search.
"""

from dataclasses import dataclass

from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_array

from sktune._compat import replicated_steps_apply


@dataclass
class FitPath:
    """How an estimator reaches the sktune network it trains.

    Attributes
    ----------
    final : BaseNeuralEstimator
        The sktune estimator at the end of the path.
    prefix : str
        The prefix of its parameters in the outer estimator (``""`` at the top,
        ``"regressor__mlpregressor__"`` inside a target transformer and a pipeline).
    weight_key : str
        The outer ``fit`` parameter that carries sample weights to it.
    """

    final: object
    prefix: str
    weight_key: str


def fit_path(estimator):
    """The :class:`FitPath` of ``estimator``, or None when it is (or wraps) something
    the fused searches do not train: it then trains through its own ``fit``."""
    from sktune._base import BaseNeuralEstimator

    node, prefix, weight = estimator, "", ""
    while True:
        if isinstance(node, BaseNeuralEstimator):
            return FitPath(node, prefix, weight + "sample_weight")
        if isinstance(node, Pipeline) and node.steps:
            name, node = node.steps[-1]
            prefix, weight = prefix + name + "__", weight + name + "__"
        elif isinstance(node, TransformedTargetRegressor) and node.regressor is not None \
                and replicated_steps_apply():
            node, prefix = node.regressor, prefix + "regressor__"  # fit params pass as they are
        else:
            return None


def prepare_input(estimator, X, y, preprocess):
    """Do what the wrappers' ``fit`` does before their network's ``fit``; returns
    ``(final, X, y)`` to prepare the network's fit with. ``preprocess(pipeline, depth, X,
    y)`` fits a pipeline's preprocessing steps and returns their output."""
    from sktune._base import BaseNeuralEstimator

    node, depth = estimator, 0
    while not isinstance(node, BaseNeuralEstimator):
        if isinstance(node, Pipeline):
            X = preprocess(node, depth, X, y)
            node = node.steps[-1][1]
        else:
            y = _fit_target(node, y)
            node = node.regressor_
        depth += 1
    return node, X, y


def fit_preprocessing(pipeline, X, y):
    """Fit a pipeline's steps before its network on ``X, y`` as ``Pipeline.fit`` does;
    returns ``(fitted steps, their output)``, for :func:`use_preprocessing`."""
    steps = pipeline[:-1]
    return list(steps.steps), steps.fit_transform(X, y)


def use_preprocessing(pipeline, fitted):
    """Make ``pipeline``'s steps before its network the ``fitted`` ones."""
    pipeline.steps = list(fitted) + [pipeline.steps[-1]]


def _fit_target(regressor, y):
    """``TransformedTargetRegressor.fit`` up to its regressor's fit: the target checked,
    the transformer fitted, the regressor cloned; returns the transformed target."""
    regressor._validate_params()  # its fit validates them (scikit-learn's _fit_context)
    if y is None:
        raise ValueError(f"This {type(regressor).__name__} estimator requires y to be "
                         "passed, but the target y is None.")
    y = check_array(y, input_name="y", accept_sparse=False, ensure_all_finite=True,
                    ensure_2d=False, dtype="numeric", allow_nd=True)
    regressor._training_dim = y.ndim
    y_2d = y.reshape(-1, 1) if y.ndim == 1 else y
    regressor._fit_transformer(y_2d)
    y_trans = regressor.transformer_.transform(y_2d)
    if y_trans.ndim == 2 and y_trans.shape[1] == 1 and regressor._training_dim == 1:
        y_trans = y_trans.squeeze(axis=1)
    regressor.regressor_ = clone(regressor.regressor)
    return y_trans


def commit(estimator):
    """What the wrappers' ``fit`` does after their network's ``fit`` (the network is
    committed): a target transformer takes its regressor's feature names."""
    node = estimator
    while True:
        if isinstance(node, Pipeline) and node.steps:
            node = node.steps[-1][1]
        elif isinstance(node, TransformedTargetRegressor) and hasattr(node, "regressor_"):
            if hasattr(node.regressor_, "feature_names_in_"):
                node.feature_names_in_ = node.regressor_.feature_names_in_
            node = node.regressor_
        else:
            return
