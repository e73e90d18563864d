"""Training losses with scikit-learn's definitions, per sample and weighted.

scikit-learn's MLP averages over samples but *sums* the binary log loss over the
outputs of a multilabel problem and halves the squared error; the gradient scale, and
so the effective learning rate and the weight of ``alpha``, follow from that. These
modules reproduce those definitions for every sktune family, with sample weights as a
weighted mean (``sum(w * l) / sum(w)``, as ``numpy.average``).
"""

import torch
import torch.nn.functional as F
from torch import nn

#: loss name -> one-line description (the ``loss`` parameter's values)
LOSSES = {
    "log_loss": "cross-entropy over softmax outputs (multiclass)",
    "binary_log_loss": "binary cross-entropy summed over the outputs (binary, multilabel)",
    "squared_error": "half the squared error, averaged over the outputs",
    "absolute_error": "absolute error, averaged over the outputs",
    "huber": "Huber loss, averaged over the outputs",
    "poisson": "half Poisson deviance summed over the outputs (log link)",
}


class SampleLoss(nn.Module):
    """``forward(output, y, weight=None)``: the (weighted) mean of per-sample losses.

    The per-sample losses follow scikit-learn's definitions (see :data:`LOSSES`);
    with ``weight``, the mean is ``sum(w * l) / sum(w)``.

    An output of shape ``(n, members, outputs)`` is an ensemble's trained as one
    network (:class:`~sktune.nn.TabularMLPModule`): each sample's loss is then the
    mean of its members' losses.

    Parameters
    ----------
    kind : str
        A key of :data:`LOSSES`.
    huber_delta : float, default=1.0
        Threshold of the Huber loss.
    label_smoothing : float, default=0.0
        For the log losses: the targets are mixed with the uniform distribution, each
        class (each binary label) getting ``label_smoothing / n_classes`` (``/ 2``).

    Examples
    --------
    >>> import torch
    >>> from sktune.engine import SampleLoss
    >>> loss = SampleLoss("squared_error")
    >>> loss(torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [1.0]]))
    tensor(1.2500)
    """

    def __init__(self, kind, huber_delta=1.0, label_smoothing=0.0):
        super().__init__()
        if kind not in LOSSES:
            raise ValueError(f"loss {kind!r} is not one of {sorted(LOSSES)}.")
        self.kind = kind
        self.huber_delta = huber_delta
        self.label_smoothing = label_smoothing

    def per_sample(self, output, y):
        """Loss of each sample, shape ``(n,)``.

        Parameters
        ----------
        output : torch.Tensor of shape (n, n_outputs)
            The network's outputs (logits for the log losses).
        y : torch.Tensor
            Targets: class indices ``(n,)`` for ``"log_loss"``, else ``(n, n_outputs)``.

        Returns
        -------
        torch.Tensor of shape (n,)
            The unweighted loss of each sample.
        """
        if output.ndim == 3:  # (n, members, outputs): the mean of the members' losses
            n, k = output.shape[:2]
            members = self.per_sample(output.reshape(n * k, -1), y.repeat_interleave(k, 0))
            return members.view(n, k).mean(1)
        kind = self.kind
        if kind == "log_loss":
            return F.cross_entropy(output, y, reduction="none",
                                   label_smoothing=self.label_smoothing)
        if kind == "binary_log_loss":
            if self.label_smoothing:
                y = y * (1 - self.label_smoothing) + self.label_smoothing / 2
            return F.binary_cross_entropy_with_logits(output, y, reduction="none").sum(1)
        if kind == "squared_error":
            return 0.5 * (output - y).square().mean(1)
        if kind == "absolute_error":
            return (output - y).abs().mean(1)
        if kind == "huber":
            return F.huber_loss(output, y, reduction="none", delta=self.huber_delta).mean(1)
        # half Poisson deviance with a log link: exp(o) - y * o + (y log y - y)
        return (output.exp() - y * output + torch.xlogy(y, y) - y).sum(1)

    def forward(self, output, y, weight=None):
        if weight is None and self.kind == "log_loss" and output.ndim == 2:
            # the fused kernel: no per-sample tensor
            return F.cross_entropy(output, y, label_smoothing=self.label_smoothing)
        return weighted_mean(self.per_sample(output, y), weight)


def weighted_mean(values, weight=None, dim=None):
    """``sum(w * v) / sum(w)`` over ``dim`` (all of ``values`` when None); the plain mean
    without weights. The stacked loop takes each copy's mean over its rows (``dim=1``)."""
    if weight is None:
        return values.mean() if dim is None else values.mean(dim)
    if dim is None:
        return (values * weight).sum() / weight.sum().clamp_min(1e-12)
    return (values * weight).sum(dim) / weight.sum(dim).clamp_min(1e-12)


# ---- penalties: one rule for which tensors L1 and L2 apply to ----------------------
def is_penalized(param, copies=False):
    """Whether ``alpha`` and ``l1`` apply to ``param``: weight matrices and kernels, not
    biases or normalisation layers (scikit-learn's rule). ``copies``: the tensor has a
    leading copy axis (a stacked network's parameter)."""
    return param.ndim > 1 + bool(copies)


def norm(params, p, copies=False):
    """Sum of ``|W|`` (p=1) or ``W²`` (p=2) over the penalized tensors of ``params``: a
    scalar, or one value per copy ``(K,)`` with ``copies``."""
    terms = [w.abs() if p == 1 else w.square() for w in params if is_penalized(w, copies)]
    if not terms:
        return 0.0
    return sum(t.flatten(1).sum(1) if copies else t.sum() for t in terms)
