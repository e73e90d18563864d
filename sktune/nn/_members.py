"""Ensembles trained as one network: members' outputs and how they are averaged.

A module whose training output is ``(n, K, n_outputs)`` is an ensemble of ``K``
members trained together: the engine's loss (:class:`~sktune.engine.SampleLoss`) takes
the mean of the members' losses. In evaluation the module returns the one output whose
prediction is the mean of the members' predictions (:func:`mean_of_members`), so
``predict_proba``, export and every caller see an ordinary network.

Two kinds exist: :class:`~sktune.nn.TabularMLPModule`'s TabM-mini members (shared
hidden layers, one input scaling per member) and :class:`MemberEnsemble`, independently
initialised copies of any network (a deep ensemble in one module).
"""

import math

import torch
from torch import nn

from sktune.nn._finetune import strip_head
from sktune.nn._protocols import Headed

#: how members' outputs are averaged, by the estimator's link from output to prediction
LINKS = ("identity", "softmax", "sigmoid", "exp")


def mean_of_members(out, link):
    """The one output whose prediction is the mean of the members' predictions.

    Parameters
    ----------
    out : torch.Tensor of shape (n, K, n_outputs)
        Each of the ``K`` members' outputs.
    link : {"identity", "softmax", "sigmoid", "exp"}
        How an output becomes a prediction: the members' probabilities
        (``"softmax"``, ``"sigmoid"``), ``exp(output)`` or the outputs themselves are
        averaged.

    Returns
    -------
    torch.Tensor of shape (n, n_outputs)
        An output whose link gives the mean prediction (log-probabilities for
        ``"softmax"``, a logit for ``"sigmoid"``).

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import mean_of_members
    >>> out = torch.tensor([[[0.0, 2.0], [2.0, 0.0]]])          # two members, one row
    >>> mean_of_members(out, "softmax").softmax(-1)
    tensor([[0.5000, 0.5000]])
    """
    K = out.shape[1]
    if link == "identity":
        return out.mean(1)
    if link == "exp":  # log of the mean of exp
        return torch.logsumexp(out, dim=1) - math.log(K)
    if link == "softmax":  # log of the mean probabilities (softmax gives them back)
        return torch.logsumexp(torch.log_softmax(out, dim=-1), dim=1) - math.log(K)
    # sigmoid: the logit of the mean probability, computed in log space
    log_p = torch.logsumexp(nn.functional.logsigmoid(out), dim=1)
    log_q = torch.logsumexp(nn.functional.logsigmoid(-out), dim=1)
    return log_p - log_q


class MemberEnsemble(nn.Module):
    """``K`` independently initialised networks trained as one: each member sees the
    same batches and the reported loss is the mean of their losses, while each member's
    gradient is that of its own loss (it trains as it would alone); in evaluation the
    output is the one whose prediction is the mean of the members' predictions.

    Averaging copies that differ only in their initialisation (and dropout) is what
    deep ensembles and InceptionTime do against the seed dependence of networks fitted
    on small training sets.

    Parameters
    ----------
    members : sequence of torch.nn.Module
        The networks, all taking the same inputs and returning ``(n, n_outputs)``.
    link : {"identity", "softmax", "sigmoid", "exp"}, default="identity"
        How an output becomes a prediction, hence how outputs are averaged:
        probabilities for ``"softmax"`` and ``"sigmoid"``, ``exp(output)`` for
        ``"exp"``, the output itself for ``"identity"``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sktune.nn import MemberEnsemble
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = MemberEnsemble([nn.Linear(4, 3) for _ in range(5)], link="softmax")
    >>> x = torch.randn(2, 4)
    >>> net.train()(x).shape                      # (n, members, outputs): one loss each
    torch.Size([2, 5, 3])
    >>> proba = net.eval()(x).softmax(-1)         # the members' mean probabilities
    >>> mean = torch.stack([m(x).softmax(-1) for m in net.members]).mean(0)
    >>> torch.allclose(proba, mean, atol=1e-6)
    True
    """

    def __init__(self, members, link="identity"):
        super().__init__()
        if link not in LINKS:
            raise ValueError(f"link must be one of {LINKS}; got {link!r}.")
        if len(members) < 1:
            raise ValueError("MemberEnsemble needs at least one member.")
        self.members = nn.ModuleList(members)
        self.link = link

    def forward(self, *inputs):
        out = torch.stack([member(*inputs) for member in self.members], dim=1)
        if not self.training:
            return mean_of_members(out, self.link)
        # the loss is the mean of the members' losses; each member's gradient is that of
        # its own loss (the value is unchanged, its gradient K times the mean's), so a
        # member trains as it would alone: its learning rate and weight decay mean
        # what they mean for one network, under SGD as under Adam
        K = out.shape[1]
        return out if K == 1 else out + (K - 1) * (out - out.detach())

    def without_head(self):
        """The members up to their heads, for transfer: their representations side by
        side (:class:`~sktune.nn.Headed`).

        Returns
        -------
        torch.nn.Module
            A new module taking ``forward``'s inputs and returning the members'
            ``(n, d_k)`` representations concatenated, ``(n, sum(d_k))``.
        """
        return _Concatenated([m.without_head() if isinstance(m, Headed) else strip_head(m)[0]
                              for m in self.members])


class _Concatenated(nn.Module):
    def __init__(self, parts):
        super().__init__()
        self.parts = nn.ModuleList(parts)

    def forward(self, *inputs):
        return torch.cat([part(*inputs) for part in self.parts], dim=1)
