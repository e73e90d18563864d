"""Transfer learning: pretrained networks fine-tuned, probed or embedded as estimators.

- ``_finetune``: :class:`FineTuneClassifier`, :class:`FineTuneRegressor`.
- ``_embedder``: :class:`PretrainedEmbedder`, a frozen backbone as a transformer.
- ``_transformers``: :class:`TransformerClassifier`, :class:`TransformerRegressor`,
  Hugging Face text encoders on raw strings (``_hf`` loads their folders).
"""

from sktune.transfer._embedder import PretrainedEmbedder
from sktune.transfer._finetune import FineTuneClassifier, FineTuneRegressor
from sktune.transfer._transformers import TransformerClassifier, TransformerRegressor

__all__ = ["FineTuneClassifier", "FineTuneRegressor", "PretrainedEmbedder",
           "TransformerClassifier", "TransformerRegressor"]
