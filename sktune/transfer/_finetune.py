"""Fine-tuning a pretrained backbone under a new head, as scikit-learn estimators."""

import os
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sktune._compat import Interval, InvalidParameterError, StrOptions
from sktune._docs import (
    CLASS_WEIGHT,
    FITTED_ATTRIBUTES,
    REGRESSION_LOSS,
    TRAINING_PARAMETERS,
    replace_entries,
    with_defaults,
)
from sktune._sequences import check_layer_sizes
from sktune._supervised import NeuralClassifierBase, NeuralRegressorBase
from sktune.engine import ArrayDataset, GradualUnfreeze
from sktune.nn import ACTIVATIONS, FineTuneModule, PixelShift
from sktune.transfer._backbones import (
    BACKBONE_DOC,
    BACKBONE_INPUT_DOC,
    clone_sharing_backbone,
    load_backbone,
    source_estimator,
)
from sktune.transfer._inputs import (
    as_tuple,
    embed_rows,
    embedding_width,
    reshaped_input,
    sample_rows,
    source_input,
)
from sktune.transfer._probe import LinearProbe, fit_logistic_head, fit_ridge_head
from sktune.transfer._scratch import (
    ENSEMBLE_SCRATCH_DOC,
    SCRATCH_ATTRIBUTE_DOC,
    check_member_backbone,
    fit_member,
    kept_after_interrupt,
    plan_member,
)
from sktune.transfer._starting_point import StartingPointPenalty, WeightInterpolation

_FINETUNE_DOC = """\
    linear_probe : bool
        LP-FT (Kumar et al., ICLR 2022, "Fine-Tuning can Distort Pretrained Features"):
        before the first epoch, the new linear head is fitted on the frozen backbone's
        embeddings of the training rows (scikit-learn's ``LogisticRegression`` for
        classifiers, ``Ridge`` for regressors, both with their default regularisation,
        weighted by ``sample_weight`` times ``class_weight``), so that fine-tuning starts
        from a good head instead of pushing random-head gradients into the pretrained
        features.
        Skipped for heads with hidden layers and for ``loss="poisson"``.
    freeze : {"none", "backbone"} or int
        ``"backbone"`` trains the head only, ``"none"`` everything, an int freezes the
        first k blocks of the backbone. Frozen batch-norm layers keep their statistics.
    unfreeze_at : tuple of int
        Gradual unfreezing: at the start of each listed epoch, one more frozen block
        (the one nearest the head) starts training.
    backbone_lr_scale : float
        Discriminative learning rates: the backbone trains at ``learning_rate_init *
        backbone_lr_scale``, the head at ``learning_rate_init``.
    augment_shift : "auto" or float
        Images only: random whole-pixel translations of up to this many pixels
        (rounded) along each axis during training, zeros entering at the border (no
        resampling, so training images stay as sharp as the ones predicted). "auto" is
        ``max(1, min(H, W) // 8)`` pixels: 1 for 8x8 digits, 4 for 32x32 images. Other
        inputs (signals, sequences, flat rows) are never augmented. The value used is
        ``augment_shift_``.
    l2_sp : float
        L2-SP (Li et al., ICML 2018): adds ``l2_sp * (w - w0)`` to the gradient of each
        backbone weight, pulling it towards its pretrained value ``w0`` (``alpha`` pulls
        towards zero).
    wise_ft : float in [0, 1]
        WiSE-FT (Wortsman et al., CVPR 2022): the fitted weights are ``(1 - wise_ft) *
        start + wise_ft * fine_tuned``, ``start`` the network after the linear probe
        (0 keeps the probe on the pretrained network, 1 the fine-tuned network).
    hidden_layer_sizes : tuple of int
        Dense layers of the new head.
    dropout : float
        Dropout in the head.
    activation : str
        Activation of the head.
"""

_FINETUNE_CONSTRAINTS = {
    "backbone": "no_validation",
    "weights": "no_validation",
    "linear_probe": ["boolean"],
    "freeze": [StrOptions({"none", "backbone"}), Interval(Integral, 0, None, closed="left")],
    "unfreeze_at": ["array-like"],
    "backbone_lr_scale": [Interval(Real, 0, None, closed="left")],
    "l2_sp": [Interval(Real, 0, None, closed="left")],
    "wise_ft": [Interval(Real, 0, 1, closed="both")],
    "augment_shift": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "input_shape": ["array-like", None],
    "input_size": ["array-like", None],
    "normalize_mean": ["array-like", None],
    "normalize_std": ["array-like", None],
}


# The few-shot recipe of FineTuneClassifier (issue #11, benchmarks/bench_transfer.py):
# everything trains at one rate, on small batches of shifted images, for a whole cosine
# schedule. Mean gain over a default CNN from scratch on digits 0-4 -> 5-9 (2/8/32
# images per class, seeds 0-2), adding one part at a time: old defaults (backbone at
# 0.1x, constant 1e-3, stop after 10 epochs without improvement) -0.7 points; + whole-
# pixel shifts -2.0 (the noisy training loss stops the fit early); + backbone at 1x and
# all 200 epochs +1.1; + batches of 8 +1.6; + cosine at 3e-3 +2.4.
_CLASSIFIER_TRAINING = replace_entries(TRAINING_PARAMETERS, batch_size="""\
        Mini-batch size; ``"auto"`` is ``min(200, max(8, n_samples // 20))`` (at most
        ``n_samples``): few-shot sets take many small steps.""")


class _FineTuneMixin(TransformerMixin):
    """Backbone loading, input preparation and freezing; shared by both tasks."""

    _X_checks = {"dtype": np.float32, "allow_nd": True}
    _module_parameters = frozenset(_FINETUNE_CONSTRAINTS)
    _clone_trains_from_scratch = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.non_deterministic = False
        return tags

    __sklearn_clone__ = clone_sharing_backbone

    def _validate_params(self):
        super()._validate_params()
        check_layer_sizes(self, "hidden_layer_sizes", allow_empty=True)
        for name in ("input_shape", "input_size"):
            check_layer_sizes(self, name, allow_empty=False, allow_none=True)
        check_layer_sizes(self, "unfreeze_at", allow_empty=True)  # 1-based epochs
        if self.weights is not None and not isinstance(self.weights, (str, os.PathLike)):
            raise InvalidParameterError(
                f"The 'weights' parameter of {type(self).__name__} must be a path to a "
                "weights file, the name of a named model's weights (such as 'DEFAULT') or "
                f"None. Got {self.weights!r} instead.")

    def _check_data(self, X, y, *, reset):
        source = source_estimator(self.backbone)
        if source is None:
            return super()._check_data(X, y, reset=reset)
        self._require_y(y)
        X = source_input(self, source, X, reset=reset)
        if reset:
            self._sample_rows_ = sample_rows(X)
        return X, self._check_target(X, y)

    def _check_X(self, X):
        source = source_estimator(self.backbone)
        if source is None:
            return super()._check_X(X)
        return source_input(self, source, X, reset=False)

    def _prepare_X(self, X, *, reset):
        X = np.ascontiguousarray(reshaped_input(self, X))
        if reset:
            self._sample_rows_ = sample_rows(X)
        return X

    def _build_module(self, n_features, n_outputs):
        backbone, preprocessing = load_backbone(self)
        n_embedding = embedding_width(FineTuneModule(backbone, 1, 1, **preprocessing).eval(),
                                      self._sample_rows_)
        module = FineTuneModule(backbone, n_embedding, n_outputs,
                                hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                                dropout=self.dropout, activation=self.activation,
                                augment=self._augment(), **preprocessing)
        module.freeze(self._frozen_blocks(module))
        return module

    def _augment(self):
        """Random whole-pixel shifts of image batches in training (None for other
        input); sets ``augment_shift_``."""
        x = as_tuple(self._sample_rows_)[0]
        if x.ndim != 4:
            self.augment_shift_ = 0
        elif self.augment_shift == "auto":
            self.augment_shift_ = max(1, min(x.shape[-2:]) // 8)
        else:
            self.augment_shift_ = round(self.augment_shift)
        return PixelShift(self.augment_shift_) if self.augment_shift_ else None

    def _frozen_blocks(self, module):
        if self.freeze == "backbone":
            return len(module.blocks)
        return 0 if self.freeze == "none" else int(self.freeze)

    def _extra_callbacks(self):
        callbacks = [("unfreeze", GradualUnfreeze(tuple(self.unfreeze_at)))]
        if self._linear_probe_applies():
            callbacks.append(("linear_probe", LinearProbe(self._linear_head_fitter())))
        if self.l2_sp:
            callbacks.append(("l2_sp", StartingPointPenalty(self.l2_sp)))
        if self.wise_ft < 1:
            callbacks.append(("wise_ft", WeightInterpolation(self.wise_ft)))
        return callbacks

    def _linear_probe_applies(self):
        return (self.linear_probe and not len(self.hidden_layer_sizes)
                and self._linear_head_fits())

    def _engine_kwargs(self):
        return {"lr_scales": {"backbone": self.backbone_lr_scale, "head": 1.0}}

    def transform(self, X):
        """Compute the embeddings of ``X``: the backbone's output, after preprocessing.

        Parameters
        ----------
        X : array-like
            Input, as the backbone reads it.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_embedding)
            What the head reads, one row per sample, float64.
        """
        check_is_fitted(self)
        X = self._check_X(X)
        return embed_rows(partial(self.net_.map_batches, ArrayDataset(X)), self.net_.module_)


@with_defaults
class FineTuneClassifier(_FineTuneMixin, NeuralClassifierBase):
    __doc__ = f"""Fine-tune a pretrained network, with a new head, as a classifier.

    The defaults are a few-shot recipe: a linear probe of the new head on the frozen
    backbone's embeddings (LP-FT), then the whole network trained at one rate on small
    batches of whole-pixel-shifted images under a cosine schedule, averaged with the
    backbone's own estimator trained from scratch (``ensemble_scratch``) as a hedge
    against negative transfer (docs/finetune.md).

    Parameters
    ----------
{BACKBONE_DOC}{_FINETUNE_DOC}{BACKBONE_INPUT_DOC}{ENSEMBLE_SCRATCH_DOC}\
{_CLASSIFIER_TRAINING}{CLASS_WEIGHT}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
{SCRATCH_ATTRIBUTE_DOC}{FITTED_ATTRIBUTES}
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sktune import CNNClassifier, FineTuneClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> source = CNNClassifier(input_shape=(8, 8), channels=(8,), max_iter=2,
    ...                        random_state=0).fit(X[y < 5], y[y < 5])
    >>> clf = FineTuneClassifier(source, freeze="backbone", max_iter=2,
    ...                          random_state=0).fit(X[y >= 5][:50], y[y >= 5][:50])
    >>> clf.transform(X[:3]).shape     # 8 channels pooled to a 2x2 grid
    (3, 32)
    """

    _parameter_constraints: dict = {**NeuralClassifierBase._parameter_constraints,
                                    **_FINETUNE_CONSTRAINTS,
                                    "ensemble_scratch": [StrOptions({"auto"}), "boolean"]}

    def _validate_params(self):
        super()._validate_params()
        check_member_backbone(self.ensemble_scratch, source_estimator(self.backbone))

    def _after_training(self, run):
        """Train or continue the member from scratch (``ensemble_scratch``) on the rows the
        fine-tuned network saw: part of the fit's transaction, so that a failure in it
        leaves the estimator as it was, in ``fit``, ``partial_fit`` and searches alike."""
        raw, continuing = run.raw, run.continuing
        previous = self.__dict__.get("scratch_") if continuing else None
        if self.stop_reason_ == "interrupted":  # Ctrl-C: no second training run
            self.scratch_ = kept_after_interrupt(self, previous, continuing=continuing)
            return
        member = plan_member(self, source_estimator(self.backbone), raw.y,
                             continuing=continuing, incremental=run.incremental)
        classes = raw.classes
        if run.incremental and classes is None and self._target_kind_ != "multilabel":
            classes = self.classes_  # a member's first partial_fit needs them
        self.scratch_ = fit_member(self, member, raw.X, raw.y, raw.sample_weight,
                                   incremental=run.incremental, continuing=continuing,
                                   classes=classes)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``: the fine-tuned
        network's, averaged with the member's from scratch when there is one
        (``ensemble_scratch``).

        Parameters
        ----------
        X : array-like
            Input, as the backbone reads it.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, each row summing to 1.
        """
        proba = super().predict_proba(X)
        if self.scratch_ is not None:
            proba = (proba + self.scratch_.predict_proba(X)) / 2
        return proba

    def _auto_batch_size(self, n_samples):
        """Small batches for small sets: 8 rows up to 160 samples, then n // 20 (at
        most 200): a few-shot fit takes several steps per epoch."""
        return min(n_samples, max(8, min(200, n_samples // 20)))

    def _linear_head_fitter(self):
        # a plain function, not a bound method: the engine (and its pickles) must not
        # hold the estimator that holds the engine
        return partial(fit_logistic_head, kind=self._target_kind_,
                       n_classes=len(self.classes_))

    def __init__(self, backbone=None, weights=None, *, linear_probe=True, freeze="none",
                 unfreeze_at=(),
                 backbone_lr_scale=1.0, augment_shift="auto", l2_sp=0.0, wise_ft=1.0,
                 ensemble_scratch="auto", hidden_layer_sizes=(), dropout=0.0, activation="relu",
                 input_shape=None, input_size=None, normalize_mean=None, normalize_std=None,
                 solver="adam", alpha=1e-4, l1=0.0, batch_size="auto", learning_rate="cosine",
                 learning_rate_init=3e-3, power_t=0.5, lr_step_size=10, lr_decay=None,
                 lr_patience=5, min_learning_rate=0.0, warmup_epochs=0, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=np.inf, restore_best_weights=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, max_grad_norm=None, device="auto",
                 class_weight=None, max_fun=15000, dtype="auto", precision="full", callbacks=None,
                 divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())


@with_defaults
class FineTuneRegressor(_FineTuneMixin, NeuralRegressorBase):
    __doc__ = f"""Fine-tune a pretrained network, with a new head, as a regressor.

    A linear probe (``Ridge``) fits the new head on the frozen backbone's embeddings
    first, then the network trains with the backbone at a tenth of the head's learning
    rate (``backbone_lr_scale``); ``transform`` returns the backbone's embeddings.

    Parameters
    ----------
{BACKBONE_DOC}{_FINETUNE_DOC}{BACKBONE_INPUT_DOC}{TRAINING_PARAMETERS}{REGRESSION_LOSS}
    Attributes
    ----------
{FITTED_ATTRIBUTES}
    Examples
    --------
    >>> import numpy as np
    >>> from torch import nn
    >>> from sktune import FineTuneRegressor
    >>> X = np.random.RandomState(0).normal(size=(60, 4))
    >>> y = X @ [1.0, -2.0, 0.5, 0.0]
    >>> backbone = nn.Sequential(nn.Linear(4, 16), nn.ReLU())  # pretrained, in practice
    >>> reg = FineTuneRegressor(backbone, max_iter=3, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.transform(X[:3]).shape     # the backbone's embeddings
    (3, 16)
    """

    _parameter_constraints: dict = {**NeuralRegressorBase._parameter_constraints,
                                    **_FINETUNE_CONSTRAINTS}

    def _linear_head_fitter(self):
        return fit_ridge_head

    def __init__(self, backbone=None, weights=None, *, loss="squared_error", linear_probe=True,
                 freeze="none",
                 unfreeze_at=(), backbone_lr_scale=0.1, augment_shift=0.0, l2_sp=0.0,
                 wise_ft=1.0, hidden_layer_sizes=(), dropout=0.0,
                 activation="relu", input_shape=None, input_size=None, normalize_mean=None,
                 normalize_std=None, solver="adam", alpha=1e-4, l1=0.0, batch_size="auto",
                 learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 lr_step_size=10, lr_decay=None, lr_patience=5, min_learning_rate=0.0,
                 warmup_epochs=0, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 restore_best_weights=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 max_grad_norm=None, device="auto", huber_delta=1.0, max_fun=15000, dtype="auto",
                 precision="full", callbacks=None, divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())
