r"""Kronecker factors of layers' curvature (KFAC), collected by module hooks.

A layer :math:`s = \bar W \bar a` with weight and bias :math:`\bar W = [W \;\; b]`
(:math:`c \times \bar d`; :func:`layer_matrix`) and input :math:`\bar a = [a; 1]` (the
homogeneous coordinate carries the bias) has, for one example's loss :math:`\ell`, the gradient
:math:`\nabla_{\bar W}\ell = g \bar a^\top` with :math:`g = \partial \ell/\partial s`; with
column-major vectorisation :math:`\operatorname{vec}(g\bar a^\top) = \bar a \otimes g`. KFAC
(Martens and Grosse 2015) approximates the layer's block of the Fisher (or empirical Fisher)
over :math:`N` examples by assuming activations and output gradients independent:

.. math::

    F = \frac1N \sum_i (\bar a_i \bar a_i^\top) \otimes (g_i g_i^\top)
    \;\approx\; A \otimes G, \qquad
    A = \frac1N\sum_i \bar a_i \bar a_i^\top, \quad G = \frac1N \sum_i g_i g_i^\top ,

exact for one example, and preconditioned through
:func:`~deepoptim.curvature.kronecker_solve` without forming the product.

**Weight sharing** (convolutions, and linear layers applied to every token of a sequence)
follows KFC (Grosse and Martens 2016): the layer acts at :math:`T` positions :math:`t` of every
example, with inputs :math:`\bar a_{i,t}` (a convolution's patches, unfolded as
``torch.nn.functional.unfold`` does, channel-major like ``weight.reshape(c, -1)``) and output
gradients :math:`g_{i,t}`, so :math:`\nabla_{\bar W}\ell_i = \sum_t g_{i,t}\bar a_{i,t}^\top`.
Under KFC's assumptions (independent activations and derivatives, spatial homogeneity,
spatially uncorrelated derivatives)

.. math::

    F \approx \Omega \otimes \Gamma, \qquad \Omega = \frac1N \sum_{i,t} \bar a_{i,t}
    \bar a_{i,t}^\top, \qquad \Gamma = \frac{1}{NT}\sum_{i,t} g_{i,t} g_{i,t}^\top ,

and these are the factors collected here (:math:`A = \Omega`, :math:`G = \Gamma`; with
:math:`T = 1` the formulas above). Supported layers (:data:`SUPPORTED_LAYERS`):
``nn.Linear`` (positions: every leading dimension after the batch), ``nn.Conv1d`` and
``nn.Conv2d`` with ``groups=1``, any stride, dilation, padding and padding mode (positions:
the output's length or pixels). A layer whose ``forward`` is bypassed (e.g. the ``out_proj``
of ``nn.MultiheadAttention``) is never reached and gets no factors.

**Which** :math:`g`: the per-example output gradients of whatever loss is back-propagated
inside :meth:`KroneckerFactors.record`, :math:`g = N\,\partial L/\partial s` for a loss that
is the mean over the :math:`N` examples of the forward pass (``reduction="mean"``, the
package's convention) or :math:`\partial L/\partial s` for a sum. The training loss gives the
empirical Fisher's factor (NKFAC's); targets sampled from the model's predictive distribution
give the Fisher's (KFAC's). Every backward pass through a recorded forward pass adds to
:math:`G` (its forward pass counted once in :math:`N`), so back-propagating the columns of a
factorisation of the output Hessian, one pass each, gives the exact expectation (the
generalised Gauss-Newton factor). Factors are averaged over time by an exponential moving
average if ``decay`` is given (KFAC's ``stat_decay``).

The collector only adds hooks inside ``record()`` and removes them on leaving it, also after
an error; it never changes the model.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim._checks import check_choice, check_in_range

from .evaluation import check_dtype
from .inverse import FactorError

__all__ = [
    "SUPPORTED_LAYERS",
    "KroneckerFactors",
    "LayerFactors",
    "layer_matrix",
    "split_layer_matrix",
]

#: The layers whose factors :class:`KroneckerFactors` collects.
SUPPORTED_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)

#: How the back-propagated loss reduces over the examples of a forward pass.
REDUCTIONS = ("mean", "sum")


def _check_layer(name: str, layer: object) -> nn.Module:
    if not isinstance(layer, SUPPORTED_LAYERS):
        supported = ", ".join(f"nn.{kind.__name__}" for kind in SUPPORTED_LAYERS)
        raise ValueError(f"Invalid {name} value: a {type(layer).__name__} (expected one of "
                         f"{supported})")
    if isinstance(layer, nn.modules.conv._ConvNd) and layer.groups != 1:
        raise ValueError(f"Invalid {name} value: a convolution with groups={layer.groups} "
                         "(expected groups=1)")
    return layer


def layer_matrix(layer: nn.Module, weight: torch.Tensor,
                 bias: torch.Tensor | None = None) -> torch.Tensor:
    """:math:`\\bar W = [W \\;\\; b]`: a layer's weight-shaped tensor as a :math:`c \\times d`
    matrix (a convolution's kernel flattened channel-major), with the bias-shaped tensor as
    the last column if the layer has a bias.

    Use it on the parameters, on their gradients (``layer.weight.grad, layer.bias.grad``) or on
    any tensors of those shapes; :func:`split_layer_matrix` is its inverse.
    """
    _check_layer("layer", layer)
    if weight.shape != layer.weight.shape:
        raise ValueError(f"Invalid weight value: shape {tuple(weight.shape)} (expected "
                         f"{tuple(layer.weight.shape)})")
    matrix = weight.reshape(len(weight), -1)
    if layer.bias is None:
        return matrix
    if bias is None or bias.shape != layer.bias.shape:
        raise ValueError(f"Invalid bias value: expected a tensor of shape "
                         f"{tuple(layer.bias.shape)} (the layer has a bias)")
    return torch.cat([matrix, bias.unsqueeze(1)], dim=1)


def split_layer_matrix(layer: nn.Module, matrix: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The weight- and bias-shaped parts of a :math:`c \\times \\bar d` matrix (bias ``None``
    for a layer without one): the inverse of :func:`layer_matrix`."""
    _check_layer("layer", layer)
    columns = layer.weight[0].numel() + (layer.bias is not None)
    if matrix.shape != (len(layer.weight), columns):
        raise ValueError(f"Invalid matrix value: shape {tuple(matrix.shape)} (expected "
                         f"({len(layer.weight)}, {columns}))")
    weight = matrix[:, :layer.weight[0].numel()].reshape(layer.weight.shape)
    return weight, (matrix[:, -1] if layer.bias is not None else None)


def _input_rows(layer: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """The layer's inputs :math:`\\bar a_{i,t}` as rows, the number of examples :math:`N` and
    of positions :math:`T`."""
    if isinstance(layer, nn.Linear):
        batched = x if x.dim() > 1 else x.unsqueeze(0)
        rows = batched.reshape(-1, x.shape[-1])
        examples = len(batched)
    else:
        spatial = 1 if isinstance(layer, nn.Conv1d) else 2
        batched = x if x.dim() == spatial + 2 else x.unsqueeze(0)
        mode = "constant" if layer.padding_mode == "zeros" else layer.padding_mode
        padded = F.pad(batched, layer._reversed_padding_repeated_twice, mode=mode)
        if spatial == 1:  # a length is a 1 x L image
            padded = padded.unsqueeze(2)
            options = [(1, layer.kernel_size[0]), (1, layer.dilation[0]), (1, layer.stride[0])]
        else:
            options = [layer.kernel_size, layer.dilation, layer.stride]
        patches = F.unfold(padded, options[0], dilation=options[1], stride=options[2])
        rows = patches.transpose(1, 2).reshape(-1, patches.shape[1])
        examples = len(batched)
    if layer.bias is not None:
        rows = torch.cat([rows, rows.new_ones(len(rows), 1)], dim=1)
    return rows, examples, len(rows) // examples


def _gradient_rows(layer: nn.Module, grad: torch.Tensor) -> torch.Tensor:
    """The output gradients :math:`\\partial L/\\partial s_{i,t}` as rows of ``c`` entries."""
    if isinstance(layer, nn.Linear):
        return grad.reshape(-1, grad.shape[-1])
    channels = len(layer.weight)
    if grad.dim() == layer.weight.dim() - 1:  # an unbatched input
        grad = grad.unsqueeze(0)
    return grad.movedim(1, -1).reshape(-1, channels)


@dataclasses.dataclass(frozen=True)
class LayerFactors:
    """A layer's Kronecker factors.

    Attributes:
        a: ``(d̄, d̄)``, :math:`A`: the second moment of the inputs (bias coordinate last).
        g: ``(c, c)``, :math:`G`: the second moment of the per-example output gradients.
        updates: the recordings folded into them.
    """

    a: torch.Tensor
    g: torch.Tensor
    updates: int


@dataclasses.dataclass
class _Sums:
    """Running sums over one recording: :math:`\\sum \\bar a \\bar a^\\top`, the scaled
    :math:`\\sum g g^\\top`, the examples of the forward passes, the backward passes seen."""

    a: torch.Tensor | None = None
    g: torch.Tensor | None = None
    examples: int = 0
    backward_passes: int = 0


class KroneckerFactors:
    """Collects the Kronecker factors :math:`A, G` of a model's supported layers.

    Args:
        model: the network; hooks are added only inside :meth:`record`.
        layers: names of the modules to collect (``model.named_modules()``); default every
            supported layer whose weight requires grad.
        decay: average the factors of successive recordings exponentially,
            :math:`F \\leftarrow \\beta F + (1 - \\beta) F_{\\mathrm{new}}` (the first recording
            sets them); ``None``: keep the last recording's factors only.
        reduction: ``"mean"`` if the back-propagated loss is the mean over the examples of a
            forward pass, ``"sum"`` if it is their sum.
        dtype: compute and keep the factors in this dtype; default each layer weight's.

    Example::

        factors = KroneckerFactors(model, decay=0.95)
        with factors.record():
            loss_fn(model(x), y).backward()
        a, g = factors.factors["0"].a, factors.factors["0"].g
    """

    def __init__(self, model: nn.Module, *, layers: Sequence[str] | None = None,
                 decay: float | None = None, reduction: str = "mean",
                 dtype: torch.dtype | None = None) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        modules = dict(model.named_modules())
        if layers is None:
            names = [name for name, m in modules.items()
                     if isinstance(m, SUPPORTED_LAYERS) and m.weight.requires_grad]
        else:
            if isinstance(layers, str) or not all(isinstance(n, str) for n in layers):
                raise TypeError("layers must be a sequence of module names")
            unknown = [n for n in layers if n not in modules]
            if unknown:
                raise ValueError(f"Invalid layers value: {unknown} (not modules of the model)")
            names = list(layers)
        if not names:
            raise ValueError("Invalid layers value: no supported layer to collect")
        if decay is not None:
            check_in_range("decay", decay, 0.0, 1.0)
        check_choice("reduction", reduction, REDUCTIONS)
        check_dtype(dtype)
        self.layers = {name: _check_layer(f"layers {name!r}", modules[name]) for name in names}
        self.decay = decay
        self.reduction = reduction
        self.dtype = dtype
        self.factors: dict[str, LayerFactors] = {}
        self._recording = False

    @contextlib.contextmanager
    def record(self) -> Iterator[KroneckerFactors]:
        """Record the forward and backward passes run inside the block, then update the factors.

        Forward passes whose output does not require grad (under ``torch.no_grad``) are not
        counted; backward passes after the block are not seen. A layer reached by no backward
        pass keeps its factors. If the block raises, the factors are left as they were; if a
        recorded factor is not finite (a diverged loss), :class:`FactorError` is raised and
        no layer is updated.
        """
        if self._recording:
            raise RuntimeError("KroneckerFactors.record() is already active")
        sums = {name: _Sums() for name in self.layers}
        handles: list[torch.utils.hooks.RemovableHandle] = []
        handles += [layer.register_forward_hook(self._forward_hook(name, sums[name], handles))
                    for name, layer in self.layers.items()]
        self._recording = True
        try:
            yield self
        finally:
            self._recording = False
            for handle in handles:
                handle.remove()
        self._update(sums)

    def _forward_hook(self, name: str, sums: _Sums,
                      handles: list[torch.utils.hooks.RemovableHandle]):
        layer = self.layers[name]
        dtype = self.dtype or layer.weight.dtype
        mean = self.reduction == "mean"

        def backward_hook(grad: torch.Tensor, examples: int, positions: int) -> None:
            if not self._recording:
                return
            rows = _gradient_rows(layer, grad.detach()).to(dtype)
            per_example = examples if mean else 1  # g = N dL/ds for a mean loss
            moment = rows.T @ rows * (per_example ** 2 / positions)
            sums.g = moment if sums.g is None else sums.g + moment
            sums.backward_passes += 1

        def forward_hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if not (self._recording and isinstance(output, torch.Tensor)
                    and output.requires_grad):
                return
            rows, examples, positions = _input_rows(layer, inputs[0].detach().to(dtype))
            moment = rows.T @ rows
            sums.a = moment if sums.a is None else sums.a + moment
            sums.examples += examples
            handles.append(output.register_hook(
                lambda grad: backward_hook(grad, examples, positions)))

        return forward_hook

    def _update(self, sums: dict[str, _Sums]) -> None:
        """Fold the recording's factors into :attr:`factors` (all layers or none)."""
        new = {}
        for name, s in sums.items():
            if s.backward_passes == 0 or s.a is None:
                continue
            a, g = s.a / s.examples, s.g / s.examples
            new[name] = ((a + a.T) / 2, (g + g.T) / 2)
        bad = [name for name, (a, g) in new.items()
               if not (torch.isfinite(a).all() and torch.isfinite(g).all())]
        if bad:
            raise FactorError(f"Invalid factors value: not finite for layers {bad} (the "
                              "recorded pass produced non-finite activations or gradients)")
        for name, (a, g) in new.items():
            old = self.factors.get(name)
            if old is None or self.decay is None:
                self.factors[name] = LayerFactors(a=a, g=g, updates=1)
            else:
                self.factors[name] = LayerFactors(
                    a=old.a * self.decay + a * (1 - self.decay),
                    g=old.g * self.decay + g * (1 - self.decay), updates=old.updates + 1)

    def __repr__(self) -> str:
        return (f"KroneckerFactors(layers={list(self.layers)}, decay={self.decay}, "
                f"reduction={self.reduction!r}, recorded={sorted(self.factors)})")

