"""A frozen pretrained backbone as a scikit-learn transformer."""

import copy
from functools import partial
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sktune._compat import Interval
from sktune._docs import with_defaults
from sktune.engine import ArrayDataset, TensorBatches, resolve_device
from sktune.engine._net import map_padded
from sktune.nn import FineTuneModule
from sktune.transfer._backbones import (
    BACKBONE_DOC,
    BACKBONE_INPUT_DOC,
    clone_sharing_backbone,
    load_backbone,
    source_estimator,
)
from sktune.transfer._inputs import (
    embed_rows,
    embedding_width,
    reshaped_input,
    sample_rows,
    source_input,
)


@with_defaults
class PretrainedEmbedder(TransformerMixin, BaseEstimator):
    __doc__ = f"""A frozen backbone as a transformer: ``transform`` returns its embeddings.

    ``make_pipeline(PretrainedEmbedder(backbone), LogisticRegression())`` is the classic
    "frozen features + linear model" baseline. ``fit`` only loads the backbone. The
    device is resolved at every ``transform`` (the module is stored on the CPU), so a
    fitted embedder pickled on a GPU machine loads and runs on one without a GPU.

    Parameters
    ----------
{BACKBONE_DOC}{BACKBONE_INPUT_DOC}    batch_size : int
        Rows per forward pass.
    device : str
        Where ``transform`` runs; "auto" picks what the machine has, then.

    Attributes
    ----------
    module_ : FineTuneModule
        The backbone and its preprocessing, on the CPU.
    n_features_in_ : int
        Number of features seen during fit.

    Examples
    --------
    >>> import numpy as np
    >>> from torch import nn
    >>> from sktune import PretrainedEmbedder
    >>> emb = PretrainedEmbedder(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), device="cpu")
    >>> emb.fit_transform(np.ones((5, 4))).shape
    (5, 3)
    """

    _parameter_constraints: dict = {
        "backbone": "no_validation",
        "weights": "no_validation",
        "input_shape": ["array-like", None],
        "input_size": ["array-like", None],
        "normalize_mean": ["array-like", None],
        "normalize_std": ["array-like", None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
    }

    def __init__(self, backbone=None, weights=None, *, input_shape=None, input_size=None,
                 normalize_mean=None, normalize_std=None, batch_size=256, device="auto"):
        self.backbone = backbone
        self.weights = weights
        self.input_shape = input_shape
        self.input_size = input_size
        self.normalize_mean = normalize_mean
        self.normalize_std = normalize_std
        self.batch_size = batch_size
        self.device = device

    def fit(self, X, y=None):
        """Load the backbone; learns nothing from ``X``.

        Parameters
        ----------
        X : array-like
            Input, as the backbone reads it (its shape is recorded and checked later).
        y : None
            Ignored.

        Returns
        -------
        self : PretrainedEmbedder
            The fitted embedder.
        """
        self._validate_params()
        resolve_device(self.device)  # an unknown device fails here, not at transform
        X = self._prepare(X, reset=True)
        backbone, preprocessing = load_backbone(self)
        module = FineTuneModule(backbone, 1, 1, **preprocessing).eval()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # materialise lazy layers reproducibly
            embedding_width(module, sample_rows(X))
        self.module_ = module
        return self

    __sklearn_clone__ = clone_sharing_backbone

    def _prepare(self, X, reset):
        source = source_estimator(self.backbone)
        if source is not None:
            return source_input(self, source, X, reset=reset)
        X = validate_data(self, X, reset=reset, dtype=np.float32, allow_nd=True)
        return np.ascontiguousarray(reshaped_input(self, X))

    def transform(self, X):
        """Compute the backbone's embeddings of ``X``.

        Parameters
        ----------
        X : array-like
            Input, as the backbone reads it.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_embedding)
            One embedding per row, float64.
        """
        check_is_fitted(self)
        X = self._prepare(X, reset=False)
        device = resolve_device(self.device)
        module = self.module_ if device == "cpu" else self._on_device(device)
        batches = TensorBatches(ArrayDataset(X), self.batch_size, device=device)
        return embed_rows(partial(map_padded, batches), module)

    def _on_device(self, device):
        """A copy of the module on ``device``, kept for later calls but never pickled."""
        cached = getattr(self, "_device_module", None)
        if cached is None or cached[0] != device:
            self._device_module = (device, copy.deepcopy(self.module_).to(device))
        return self._device_module[1]

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_device_module", None)
        return state
