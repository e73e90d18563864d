"""A pretrained backbone under a new head, with block-wise freezing."""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from sktune.nn._layers import make_head


def strip_head(module):
    """A copy of ``module`` whose final ``nn.Linear`` (its head) is replaced by Identity.

    Returns ``(backbone, n_features)``, ``n_features`` the width the head received.
    Works for sktune's modules (MLP, CNN, RNN), torchvision classifiers (``fc``,
    ``classifier``) and any module whose last registered Linear is its output layer.

    Parameters
    ----------
    module : torch.nn.Module
        A network with at least one ``nn.Linear``; it is left unchanged.

    Returns
    -------
    backbone : torch.nn.Module
        The copy, its last ``nn.Linear`` replaced by ``nn.Identity``.
    n_features : int
        Input width of the replaced layer: the width of the backbone's output.

    Examples
    --------
    >>> from torch import nn
    >>> from sktune.nn import strip_head
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> backbone, n_features = strip_head(net)
    >>> backbone[2], n_features
    (Identity(), 8)
    """
    backbone = copy.deepcopy(module)
    named = [(name, m) for name, m in backbone.named_modules() if isinstance(m, nn.Linear)]
    if not named:
        raise ValueError(f"{type(module).__name__} has no nn.Linear output layer to replace.")
    name, last = named[-1]
    parent = backbone.get_submodule(name.rsplit(".", 1)[0]) if "." in name else backbone
    child = name.rsplit(".", 1)[-1]
    if isinstance(parent, nn.Sequential) and child.isdigit():
        parent[int(child)] = nn.Identity()
    else:
        setattr(parent, child, nn.Identity())
    return backbone, last.in_features


class FineTuneModule(nn.Module):
    """``preprocess -> backbone -> head`` where the backbone's blocks can be frozen.

    An :class:`~sktune.nn.Embedder` (``embed`` is the preprocessed backbone's output),
    a :class:`~sktune.nn.Freezable` network (the backbone's blocks) and a
    :class:`~sktune.nn.LayerwiseLR` one (backbone and head).

    Parameters
    ----------
    backbone : nn.Module
        Produces one embedding per sample (flattened if it is not 2-D); a backbone
        taking ``(x, lengths)`` (sequences) gets both.
    n_embedding : int
        Width of the embedding.
    n_outputs : int
        Output units of the new head.
    hidden_layer_sizes : sequence of int, default=()
        Dense layers of the head.
    dropout : float, default=0.0
        Dropout before each head layer.
    activation : str, default="relu"
        Activation of the head's hidden layers, a key of :data:`ACTIVATIONS`.
    input_size : tuple of int, default=None
        Resize images to (H, W) before the backbone (bilinear).
    mean, std : sequence of float, default=None
        Per-channel normalisation applied after resizing.
    augment : nn.Module, default=None
        Training-time augmentation of the (preprocessed) input, e.g. an
        :class:`~sktune.nn.Augment`; it must pass the input through in eval mode.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sktune.nn import FineTuneModule
    >>> backbone = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8))
    >>> module = FineTuneModule(backbone, n_embedding=8, n_outputs=3)
    >>> module(torch.randn(5, 4)).shape
    torch.Size([5, 3])
    >>> module.freeze(1)
    >>> [p.requires_grad for p in backbone.parameters()]
    [False, False, True, True]
    """

    def __init__(self, backbone, n_embedding, n_outputs, hidden_layer_sizes=(), dropout=0.0,
                 activation="relu", input_size=None, mean=None, std=None, augment=None):
        super().__init__()
        self.backbone = backbone
        self.augment = augment if augment is not None else nn.Identity()
        self.input_size = tuple(input_size) if input_size is not None else None
        shape = lambda v: torch.tensor(v, dtype=torch.float32).view(1, -1, 1, 1)  # noqa: E731
        self.register_buffer("mean", None if mean is None else shape(mean))
        self.register_buffer("std", None if std is None else shape(std))
        self.head = make_head(n_embedding, hidden_layer_sizes, n_outputs, dropout, activation)
        self.frozen_blocks = 0

    @property
    def blocks(self):
        """Units of freezing: the backbone's children (a Sequential or ModuleList child
        contributes its own children), keeping those that have parameters, in order."""
        parts = []
        for child in self.backbone.children():
            parts += (list(child.children()) if isinstance(child, (nn.Sequential, nn.ModuleList))
                      else [child])
        parts = [m for m in parts if any(True for _ in m.parameters())]
        return parts or [self.backbone]

    def freeze(self, n_blocks):
        """Freeze the first ``n_blocks`` blocks (all of them if larger); unfreeze the rest.

        Parameters
        ----------
        n_blocks : int
            Blocks of :attr:`blocks` to freeze, from the input.
        """
        self.frozen_blocks = min(int(n_blocks), len(self.blocks))
        for i, block in enumerate(self.blocks):
            for p in block.parameters():
                p.requires_grad_(i >= self.frozen_blocks)
        self.train(self.training)

    def train(self, mode=True):
        """Frozen blocks keep their batch-norm statistics: they stay in eval mode."""
        super().train(mode)
        for block in self.blocks[:self.frozen_blocks]:
            block.eval()
        return self

    def lr_group(self, name):
        """Which learning-rate group a parameter belongs to: 'backbone' or 'head'.

        Parameters
        ----------
        name : str
            A parameter's name, as in ``named_parameters()``.

        Returns
        -------
        str
            ``"backbone"`` for the backbone's parameters, else ``"head"``.
        """
        return "backbone" if name.startswith("backbone.") else "head"

    def embed(self, x, *more):
        """The backbone's embedding of a batch (:class:`~sktune.nn.Embedder`).

        Parameters
        ----------
        x : torch.Tensor
            A batch of inputs, resized and normalised first when so configured.
        *more : torch.Tensor
            Further arguments of the backbone (e.g. sequence lengths).

        Returns
        -------
        torch.Tensor of shape (n, n_embedding)
            The backbone's output, flattened to one row per sample.
        """
        if self.input_size is not None and x.ndim == 4 and tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        z = self.backbone(self.augment(x), *more)
        return z.flatten(1) if z.ndim > 2 else z

    def forward(self, x, *more):
        return self.head(self.embed(x, *more))


class PixelShift(nn.Module):
    """Random whole-pixel translations of image batches, in training mode only.

    Each image moves by an integer number of pixels, up to ``shift`` along each axis,
    with zeros entering at the border: no resampling, so a training image is as sharp
    as the images predicted later (a sub-pixel shift blurs small images such as 8x8
    digits, and a network trained on blurred copies then reads sharp ones worse).

    Parameters
    ----------
    shift : int
        Largest translation in pixels along each axis; 0 leaves images unchanged.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import PixelShift
    >>> shift = PixelShift(1)
    >>> x = torch.rand(4, 1, 8, 8)
    >>> shift(x).shape
    torch.Size([4, 1, 8, 8])
    >>> torch.equal(shift.eval()(x), x)
    True
    """

    def __init__(self, shift):
        super().__init__()
        self.shift = int(shift)

    def forward(self, x):
        if not self.training or self.shift < 1:
            return x
        s, (n, h, w) = self.shift, (len(x), *x.shape[-2:])
        padded = F.pad(x, (s, s, s, s))
        dy, dx = torch.randint(0, 2 * s + 1, (2, n), device=x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        index = torch.arange(n, device=x.device)[:, None, None, None]
        channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
        return padded[index, channel, rows, cols]
