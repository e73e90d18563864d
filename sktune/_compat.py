"""Every private API of scikit-learn, joblib, skorch and torch that sktune relies on, in one place.

Private names can change in any release. Importing them only here means one file to
read when a dependency moves, and ``tests/test_compat.py`` fails loudly — naming the
method — when skorch changes one of the ``NeuralNet`` methods the engine overrides.
"""

import functools

import numpy as np

# scikit-learn's search internals, for sktune.model_selection's fused searches: they
# re-implement BaseSearchCV.fit's evaluation step (which fits run together) and keep
# the rest of scikit-learn's — scoring, result records, error handling, cv_results_
# formatting. tests/model_selection compare their cv_results_ with scikit-learn's own
# searches, so a change in these functions fails loudly there.
from sklearn.base import _fit_context  # noqa: F401
from sklearn.metrics._scorer import _MultimetricScorer  # noqa: F401
from sklearn.model_selection._search import BaseSearchCV  # noqa: F401
from sklearn.model_selection._validation import (  # noqa: F401
    _fit_and_score,
    _insert_error_scores,
    _score,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils._param_validation import (  # noqa: F401
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.metaestimators import _safe_split  # noqa: F401
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_method_params, _check_sample_weight, _num_samples  # noqa: F401

#: whether this scikit-learn has the BaseSearchCV steps the fused searches call (written
#: against 1.9); without them the searches run scikit-learn's own fit, unfused
FUSED_SEARCH_SUPPORTED = all(hasattr(BaseSearchCV, name) for name in (
    "_get_scorers", "_get_routed_params_for_fit", "_check_input_parameters",
    "_format_results", "_select_best_index", "_check_refit_for_multimetric"))

#: skorch releases the engine's overrides were written and tested against
#: (pyproject.toml pins the same range)
SKORCH_TESTED = ">=1.4,<1.5"

#: ``skorch.NeuralNet`` methods that :class:`sktune.engine.Engine` overrides or whose
#: contract it relies on. tests/test_compat.py records a digest of each one's source.
SKORCH_OVERRIDDEN = (
    "partial_fit", "fit_loop", "run_single_epoch", "train_step", "validation_step",
    "evaluation_step", "infer", "get_loss", "get_iterator", "get_params_for_optimizer",
    "initialize", "initialize_callbacks", "notify", "__getstate__", "__setstate__",
    "on_epoch_begin", "predict", "predict_proba",
)

#: scikit-learn methods whose steps the fused searches repeat themselves around a
#: network's fit (sktune/model_selection/_wrappers.py): ``TransformedTargetRegressor.fit``
#: up to its regressor's fit, through its private ``_fit_transformer`` and
#: ``_training_dim``. tests/test_compat.py records a digest of each one's source.
SKLEARN_REPLICATED = ("TransformedTargetRegressor.fit",
                      "TransformedTargetRegressor._fit_transformer")
#: the scikit-learn releases those steps were read in; on others a target transformer
#: trains through its own fit (unfused), and the digest test does not apply
SKLEARN_REPLICATED_IN = ("1.9",)


def replicated_steps_apply():
    """Whether this scikit-learn is one whose :data:`SKLEARN_REPLICATED` steps were read."""
    import sklearn

    return ".".join(sklearn.__version__.split(".")[:2]) in SKLEARN_REPLICATED_IN


@functools.cache
def cpu_has_native_bf16():
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX), through torch's
    private ``torch.cpu._is_*_supported`` probes (False where torch lacks them). Asked once
    per process: the LSTM asks it at every bf16 batch."""
    import torch

    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(cpu, name, lambda: False)() for name in checks)


def skl2onnx_parsers():
    """skl2onnx's private parsers for classifiers (labels, probabilities, ZipMap) and for
    other models, which sktune's converters wrap (imported on call: skl2onnx is optional
    and takes seconds to import)."""
    from skl2onnx._parse import _parse_sklearn_classifier, _parse_sklearn_simple_model

    return _parse_sklearn_classifier, _parse_sklearn_simple_model


def unwrap_frozen(estimator):
    """The estimator inside scikit-learn's ``FrozenEstimator`` (sklearn.frozen, 1.6+), or
    ``estimator`` itself: a frozen fitted model lends what it learned, unchanged."""
    try:
        from sklearn.frozen import FrozenEstimator
    except ImportError:  # pragma: no cover - scikit-learn before 1.6
        return estimator
    return estimator.estimator if isinstance(estimator, FrozenEstimator) else estimator


def check_sample_weight(sample_weight, X):
    """Validated non-negative float64 sample weights for the rows of ``X``."""
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


def check_optimize_result(solver, result, max_iter):
    """scikit-learn's check of a ``scipy.optimize`` result: a ConvergenceWarning with
    scipy's message when it did not converge; returns the number of iterations."""
    return _check_optimize_result(solver, result, max_iter)


def dask_backend_class():
    """joblib's dask.distributed backend class (a private joblib module)."""
    from joblib._dask import DaskDistributedBackend

    return DaskDistributedBackend


def fused_adam_step(params, grads, exp_avgs, exp_avg_sqs, steps, *, decoupled, lr, beta1,
                    beta2, weight_decay, eps):
    """One step of torch's private fused Adam (``decoupled``: AdamW) kernel over lists of
    tensors sharing one set of hyperparameters, as ``torch.optim.Adam(fused=True)`` runs
    it; the stacked optimizer calls it on the copies' views of the stacked parameters."""
    import torch

    kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
    kernel(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=lr,
           beta1=beta1, beta2=beta2, weight_decay=weight_decay, eps=eps, maximize=False)


def fused_sgd_step(params, grads, momentum_buffers, *, lr, momentum, weight_decay, nesterov,
                   is_first_step):
    """One step of torch's private fused SGD kernel (``torch.optim.SGD(fused=True)``);
    ``momentum_buffers`` is empty without momentum."""
    import torch

    torch._fused_sgd_(params, grads, momentum_buffers, weight_decay=weight_decay,
                      momentum=momentum, lr=lr, dampening=0.0, nesterov=nesterov,
                      maximize=False, is_first_step=is_first_step)
