"""The contracts between torch modules and the layers that use them.

The engine, the fine-tuners and the tuning tools never look for a module's attributes
by name: what they need is one of these protocols, and a module opts in by
implementing it. ``isinstance(module, SparseInput)`` (they are runtime-checkable)
is how the other layers ask.
"""

from typing import Protocol, runtime_checkable


@runtime_checkable
class SparseInput(Protocol):
    """A module whose ``forward`` accepts a torch sparse CSR batch as it is.

    The engine then sends scipy sparse rows as ``torch.sparse_csr`` tensors instead of
    densifying them (TF-IDF-sized inputs), when ``accepts_sparse`` is true.

    Parameters
    ----------
    *args, **kwargs
        Not used: a protocol is not instantiated (``typing.Protocol``'s signature).

    Examples
    --------
    >>> from torch import nn
    >>> from sktune.nn import SparseInput
    >>> class Linear(nn.Linear):
    ...     accepts_sparse = True
    >>> isinstance(Linear(3, 1), SparseInput), isinstance(nn.Linear(3, 1), SparseInput)
    (True, False)
    """

    accepts_sparse: bool


@runtime_checkable
class LayerwiseLR(Protocol):
    """A module whose parameters fall into named parts trained at different rates.

    ``lr_group(name)`` maps a parameter name (as in ``named_parameters()``) to the label
    of its part, e.g. ``"backbone"`` or ``"head"``; the engine gives each part its own
    parameter group at ``learning_rate_init * lr_scales[part]`` (discriminative
    fine-tuning).

    Parameters
    ----------
    *args, **kwargs
        Not used: a protocol is not instantiated (``typing.Protocol``'s signature).

    Examples
    --------
    >>> from torch import nn
    >>> from sktune.nn import FineTuneModule, LayerwiseLR
    >>> module = FineTuneModule(nn.Sequential(nn.Linear(4, 8)), 8, n_outputs=2)
    >>> isinstance(module, LayerwiseLR)
    True
    >>> [module.lr_group(name) for name, _ in module.named_parameters()]
    ['backbone', 'backbone', 'head', 'head']
    """

    def lr_group(self, name: str) -> str:
        """The part that parameter ``name`` belongs to.

        Parameters
        ----------
        name : str
            A parameter's name, as in ``named_parameters()``.

        Returns
        -------
        str
            The part's label, a key of the engine's ``lr_scales``.
        """


@runtime_checkable
class Freezable(Protocol):
    """A module made of ordered blocks, the first ``frozen_blocks`` of which are frozen.

    ``freeze(k)`` freezes the first ``k`` blocks and unfreezes the rest (frozen blocks
    also keep their batch-norm statistics); gradual unfreezing calls it every epoch.

    Parameters
    ----------
    *args, **kwargs
        Not used: a protocol is not instantiated (``typing.Protocol``'s signature).

    Examples
    --------
    >>> from torch import nn
    >>> from sktune.nn import FineTuneModule, Freezable
    >>> backbone = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8))
    >>> module = FineTuneModule(backbone, 8, n_outputs=2)
    >>> isinstance(module, Freezable), len(module.blocks)
    (True, 2)
    >>> module.freeze(1)
    >>> module.frozen_blocks, backbone[0].weight.requires_grad
    (1, False)
    """

    frozen_blocks: int

    @property
    def blocks(self) -> list:
        """The units of freezing, in order from the input.

        Returns
        -------
        list of torch.nn.Module
            The blocks; ``freeze(k)`` freezes the first ``k``.
        """

    def freeze(self, n_blocks: int) -> None:
        """Freeze the first ``n_blocks`` blocks and unfreeze the rest.

        Parameters
        ----------
        n_blocks : int
            Blocks to freeze; all of them if larger than their number.
        """


# ---- transfer: a network lends its body to a fine-tuner (issue #11) ----------------


@runtime_checkable
class Headed(Protocol):
    """A network made of a body and an output head, whose body can serve as a backbone.

    ``without_head()`` returns a *new* module (the network itself is left intact) that
    takes the same inputs as the network — ``forward(x)`` or ``forward(x, lengths)`` —
    and returns one embedding per sample, ``(n, d)``: the representation a new head
    should read. Each family decides what transfers best (a CNN concatenates the pooled
    features of every block, an RNN returns its pooled recurrent states). Modules
    without it (torchvision models, plain Sequentials) lose their last ``nn.Linear``.

    Parameters
    ----------
    *args, **kwargs
        Not used: a protocol is not instantiated (``typing.Protocol``'s signature).

    Examples
    --------
    >>> from torch import nn
    >>> from sktune.nn import Headed
    >>> class Net(nn.Sequential):
    ...     def without_head(self):
    ...         return nn.Sequential(*list(self)[:-1])
    >>> net = Net(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> isinstance(net, Headed), len(net.without_head())
    (True, 2)
    """

    def without_head(self) -> object:
        """A new module computing the network's embedding instead of its outputs.

        Returns
        -------
        torch.nn.Module
            Takes the network's inputs and returns ``(n, d)`` embeddings.
        """


@runtime_checkable
class Embedder(Protocol):
    """A network that is ``head(embed(*inputs))``: one embedding per sample, then a head.

    ``embed`` takes what ``forward`` takes and returns one embedding per sample,
    ``(n, d)``; ``head`` is an ``nn.Sequential`` reading it, whose last layer ``head[-1]``
    gives the outputs, so that ``forward(*inputs) == head(embed(*inputs))``. The
    fine-tuners' ``transform`` and :class:`~sktune.PretrainedEmbedder` return
    ``embed``'s output, and the linear probe of LP-FT sets ``head[-1]`` (an
    ``nn.Linear``) from it. :class:`~sktune.nn.FineTuneModule`, the Hugging Face text
    encoder module and the MLP, CNN and RNN modules implement it.

    Parameters
    ----------
    *args, **kwargs
        Not used: a protocol is not instantiated (``typing.Protocol``'s signature).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sktune.nn import Embedder, FineTuneModule
    >>> module = FineTuneModule(nn.Sequential(nn.Linear(4, 8)), 8, n_outputs=2)
    >>> x = torch.randn(3, 4)
    >>> isinstance(module, Embedder), module.embed(x).shape
    (True, torch.Size([3, 8]))
    >>> torch.equal(module(x), module.head(module.embed(x)))
    True
    """

    head: object

    def embed(self, *inputs):
        """One embedding per sample, which ``head`` reads.

        Parameters
        ----------
        *inputs : torch.Tensor
            What ``forward`` takes.

        Returns
        -------
        torch.Tensor of shape (n, d)
            The embeddings.
        """


# ---- fused training (sktune.model_selection's fused searches) -------------------------
@runtime_checkable
class Stackable(Protocol):
    """A module of which K structurally identical copies can train as one network.

    The fused searches train many candidates of a search at once: every copy's weights
    are stacked along a new leading "copy" axis and each layer runs as one batched
    matmul (or grouped convolution) over all copies, while every copy keeps its own
    data order, optimizer state and hyperparameters. A family opts in by implementing:

    ``stack_signature()``
        A hashable description of everything that must be equal for copies to be
        stacked: layer kinds and shapes, activation, normalisation settings, dtype and
        device. Values that may differ per copy (dropout rates) are left out. None means
        this instance cannot be stacked (an unsupported option, such as augmentation).
    ``stack(copies)``
        Called on any one of ``copies`` (modules with equal signatures, this one
        included): returns a :class:`~sktune.nn.StackedModule` holding their parameters
        and buffers stacked along a leading axis of size ``len(copies)``. Each copy's own
        tensors become views of the stacked ones, so the copies see every update;
        ``StackedModule.release()`` gives them their own storage back.

    The stacked module's ``forward(x, mask=None)`` takes ``x`` of shape
    ``(K, batch, *sample_shape)`` — copy ``k``'s batch in ``x[k]`` — and returns
    ``(K, batch, n_outputs)``; ``mask`` (``(K, batch)``, 1 for real rows, 0 for padding)
    keeps padded rows out of batch statistics.

    Parameters
    ----------
    *args, **kwargs
        Not used: a protocol is not instantiated (``typing.Protocol``'s signature).

    Examples
    --------
    >>> from sktune.nn import MLPModule, Stackable
    >>> a, b = MLPModule(4, (8,), 2), MLPModule(4, (8,), 2, dropout=0.5)
    >>> isinstance(a, Stackable), a.stack_signature() == b.stack_signature()
    (True, True)
    >>> stacked = a.stack([a, b])
    >>> stacked.n_copies
    2
    >>> stacked.release()
    """

    def stack_signature(self):
        """What must be equal for copies to be stacked.

        Returns
        -------
        hashable or None
            The signature; None when this instance cannot be stacked.
        """

    def stack(self, copies):
        """Stack ``copies`` (this module among them) into one network.

        Parameters
        ----------
        copies : sequence of torch.nn.Module
            Modules with equal ``stack_signature()``.

        Returns
        -------
        StackedModule
            Holds their tensors stacked along a leading axis of size ``len(copies)``.
        """
