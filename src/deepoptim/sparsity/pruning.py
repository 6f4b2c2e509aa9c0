r"""Filter (and neuron) pruning of sequential networks, sparsity measures and cost counts.

A *unit* is an output filter of a convolution or an output neuron of a linear layer. Its group
is row :math:`k` of every tensor that produces the channel: the layer's weight and bias and the
scale and shift of the batch-norm layers that follow it before the next convolution or linear
layer (:func:`unit_groups`). When all of them are zero the channel is identically zero
after every activation with :math:`\sigma(0) = 0` and every pooling, so removing it, together
with the matching input columns of the next layer, leaves the network's outputs unchanged, in
training and in evaluation mode. :func:`prune_sequential` builds that genuinely smaller
``nn.Sequential``; with a threshold above 0 it removes units whose group norm is at most the
threshold, and its outputs equal those of the network with those groups set to zero
(:func:`zero_small_units`), differing from the original only by the pruned contributions.

Proximal training with a group lasso over these groups (:class:`deepoptim.optim.ProxSGD`,
``group_by="row"``, parameter groups from :func:`unit_param_groups`) drives whole units towards
zero; because its step moves only part of the way to the proximal point, their norms become
small rather than exactly zero, hence the threshold (GSparsity uses :math:`10^{-5}`).

For inference, :func:`fuse_for_inference` folds every evaluation-mode batch norm into the
convolution or linear layer before it (:math:`W' = \\gamma W / \\sqrt{\\sigma^2 + \\epsilon}`,
:math:`b' = \\gamma (b - m) / \\sqrt{\\sigma^2 + \\epsilon} + \\beta`) and applies a ReLU
after the max-pooling that follows it rather than before (the two commute, ReLU being
non-decreasing), so that it touches a quarter of the values: two passes over the activations
fewer per block, whose cost scales with the kept channels only, not with the FLOPs; its
convolutions work in the channels-last memory format.

Costs: :func:`count_flops` counts the multiply-accumulates of convolutions and linear layers
(2 FLOPs each), the dominant cost; :func:`deepoptim.models.count_parameters` counts parameters.
Source: "GSparsity: Unifying Network Pruning and Neural Architecture Search by Group Sparsity"
(AutoML-Conf 2022 workshop); book chapter "Group sparsity: pruning and architecture search"
(``notebooks/13_group_sparsity.py``).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from deepoptim._checks import check_non_negative
from deepoptim.models import MLP, DigitsCNN

__all__ = [
    "PrunedUnits",
    "as_sequential",
    "count_flops",
    "fuse_for_inference",
    "prune_sequential",
    "threshold_sparsity",
    "unit_groups",
    "unit_norms",
    "unit_param_groups",
    "zero_small_units",
]

_PRODUCERS = (nn.Linear, nn.Conv1d, nn.Conv2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
# Layers that act per channel and map a zero channel to zero.
_ZERO_PRESERVING = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Tanh, nn.GELU, nn.SiLU, nn.Hardtanh,
                    nn.Identity, nn.Dropout, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d,
                    nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
                    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)


@dataclasses.dataclass(frozen=True)
class PrunedUnits:
    """What :func:`prune_sequential` kept: per prunable layer (index in the sequential), the
    indices of the kept units and the original number of units."""

    kept: dict[int, torch.Tensor]
    original: dict[int, int]

    @property
    def fraction_kept(self) -> float:
        """Kept units over all prunable units."""
        return sum(len(k) for k in self.kept.values()) / max(1, sum(self.original.values()))


def as_sequential(model: nn.Module) -> nn.Sequential:
    """The book's MLP or digits CNN as one ``nn.Sequential`` sharing its modules (the same
    function of its input; training one trains the other)."""
    if isinstance(model, DigitsCNN):
        return nn.Sequential(*model.features, model.classifier)
    if isinstance(model, MLP):
        return nn.Sequential(nn.Flatten(), *model.layers)
    raise ValueError(f"Invalid model value: a {type(model).__name__} (expected MLP or DigitsCNN)")


def _check_chain(seq: nn.Sequential) -> list[int]:
    """Indices of the producers; every other layer must be supported. Raise otherwise."""
    if not isinstance(seq, nn.Sequential):
        raise ValueError(f"Invalid seq value: a {type(seq).__name__} (expected nn.Sequential)")
    producers = []
    for index, layer in enumerate(seq):
        if isinstance(layer, _PRODUCERS):
            if getattr(layer, "groups", 1) != 1:
                raise ValueError(f"Invalid layer value: {layer} (grouped convolutions are "
                                 "not supported)")
            producers.append(index)
        elif not isinstance(layer, (*_NORMS, *_ZERO_PRESERVING, nn.Flatten)):
            raise ValueError(f"Invalid layer value: {type(layer).__name__} at index {index} "
                             "(not a layer that maps a zero channel to zero)")
    if not producers:
        raise ValueError("Invalid seq value: no Linear or Conv layer to prune")
    return producers


def unit_groups(seq: nn.Sequential) -> dict[int, list[nn.Parameter]]:
    """Per prunable layer (every producer but the last, by index): the tensors whose row
    :math:`k` forms the group of unit :math:`k` (weight, bias, following batch-norm
    scale and shift)."""
    producers = _check_chain(seq)
    groups = {}
    for start, end in zip(producers, [*producers[1:], len(seq)], strict=True):
        if start == producers[-1]:
            break
        tensors = [seq[start].weight] + ([seq[start].bias] if seq[start].bias is not None else [])
        for layer in seq[start + 1:end]:
            if isinstance(layer, _NORMS) and layer.affine:
                tensors += [layer.weight, layer.bias]
        groups[start] = tensors
    return groups


def unit_param_groups(seq: nn.Sequential, **group_options: Any) -> list[dict[str, Any]]:
    """Parameter groups for ProxSGD: one group-lasso group per prunable layer
    (``group_by="row"``, ``group_options`` such as ``mu`` added), and the remaining parameters
    (the last layer) unregularised."""
    groups = unit_groups(seq)
    grouped = {id(p) for tensors in groups.values() for p in tensors}
    rest = [p for p in seq.parameters() if id(p) not in grouped]
    param_groups = [{"params": tensors, "regularizer": "group_lasso", "group_by": "row",
                     **group_options} for tensors in groups.values()]
    return [*param_groups, {"params": rest, "regularizer": None}] if rest else param_groups


@torch.no_grad()
def unit_norms(seq: nn.Sequential) -> dict[int, torch.Tensor]:
    """Per prunable layer: the norm of each unit's group (joint over its tensors' rows)."""
    return {index: torch.stack([t.reshape(t.shape[0], -1).pow(2).sum(1) for t in tensors])
            .sum(0).sqrt() for index, tensors in unit_groups(seq).items()}


def _kept_units(seq: nn.Sequential, threshold: float) -> dict[int, torch.Tensor]:
    """Indices of units whose norm exceeds ``threshold`` (at least the largest one)."""
    kept = {}
    for index, norms in unit_norms(seq).items():
        keep = (norms > threshold).nonzero().flatten()
        kept[index] = keep if len(keep) else norms.argmax().reshape(1)
    return kept


@torch.no_grad()
def zero_small_units(seq: nn.Sequential, threshold: float = 0.0) -> int:
    """Set to zero, in place, every unit group of norm at most ``threshold``; return how many.

    The result computes exactly what :func:`prune_sequential` with the same threshold does.
    """
    check_non_negative("threshold", threshold)
    zeroed = 0
    kept = _kept_units(seq, threshold)
    for index, tensors in unit_groups(seq).items():
        drop = torch.ones(tensors[0].shape[0], dtype=torch.bool)
        drop[kept[index]] = False
        for tensor in tensors:
            tensor[drop] = 0
        zeroed += int(drop.sum())
    return zeroed


def _slice_parameter(module: nn.Module, name: str, index: torch.Tensor, dim: int) -> None:
    tensor = getattr(module, name)
    if tensor is None:
        return
    sliced = tensor.detach().index_select(dim, index.to(tensor.device)).clone()
    if isinstance(tensor, nn.Parameter):
        setattr(module, name, nn.Parameter(sliced, requires_grad=tensor.requires_grad))
    else:
        setattr(module, name, sliced)


def _slice_outputs(layer: nn.Module, keep: torch.Tensor) -> None:
    """Keep only the output units ``keep`` of a producer or the channels of a batch norm."""
    if isinstance(layer, _NORMS):
        for name in ("weight", "bias", "running_mean", "running_var"):
            _slice_parameter(layer, name, keep, 0)
        layer.num_features = len(keep)
        return
    _slice_parameter(layer, "weight", keep, 0)
    _slice_parameter(layer, "bias", keep, 0)
    if isinstance(layer, nn.Linear):
        layer.out_features = len(keep)
    else:
        layer.out_channels = len(keep)


def _slice_inputs(layer: nn.Module, keep: torch.Tensor, channels: int) -> None:
    """Keep only the input channels ``keep`` (of ``channels``) of a producer. A linear layer
    after a flatten sees each channel as a contiguous block of its inputs."""
    if isinstance(layer, nn.Linear):
        block = layer.in_features // channels
        keep = (keep[:, None] * block + torch.arange(block)).flatten()
        _slice_parameter(layer, "weight", keep, 1)
        layer.in_features = len(keep)
    else:
        _slice_parameter(layer, "weight", keep, 1)
        layer.in_channels = len(keep)


@torch.no_grad()
def prune_sequential(seq: nn.Sequential, threshold: float = 0.0
                     ) -> tuple[nn.Sequential, PrunedUnits]:
    """A smaller copy of ``seq`` without the units whose group norm is at most ``threshold``.

    Each prunable layer keeps at least its largest unit. Returns the pruned copy (``seq`` is
    not modified) and which units were kept. Its outputs equal those of ``seq`` after
    :func:`zero_small_units` with the same threshold (up to floating-point rounding).
    """
    check_non_negative("threshold", threshold)
    kept = _kept_units(seq, threshold)
    pruned = copy.deepcopy(seq)
    original: dict[int, int] = {}
    current: tuple[torch.Tensor, int] | None = None  # kept channels of the stream, their count
    for index, layer in enumerate(pruned):
        if isinstance(layer, _PRODUCERS):
            if current is not None:
                _slice_inputs(layer, *current)
            current = None
            if index in kept:
                original[index] = layer.weight.shape[0]
                current = (kept[index], original[index])
                _slice_outputs(layer, kept[index])
        elif isinstance(layer, _NORMS) and current is not None:
            _slice_outputs(layer, current[0])
    return pruned, PrunedUnits(kept=kept, original=original)


@torch.no_grad()
def fuse_for_inference(seq: nn.Sequential) -> nn.Sequential:
    """An evaluation-mode copy of ``seq`` with every batch norm that follows a convolution or
    linear layer folded into it, and every ``ReLU`` directly before a max-pooling moved after
    it, its 4-D weights in the channels-last memory format (which the layers' outputs then
    follow: a CPU's max-pooling is many times faster on it than on the default layout). The
    outputs equal those of ``seq.eval()`` (up to rounding); ``seq`` is not modified.
    For inference only: the folded statistics no longer update."""
    _check_chain(seq)
    layers = list(copy.deepcopy(seq).eval())
    fused: list[nn.Module] = []
    for layer in layers:
        previous = fused[-1] if fused else None
        if isinstance(layer, _NORMS) and isinstance(previous, _PRODUCERS) \
                and layer.track_running_stats:
            _fold_norm(previous, layer)
        elif isinstance(layer, (nn.MaxPool1d, nn.MaxPool2d)) and isinstance(previous, nn.ReLU):
            fused[-1:] = [layer, previous]
        else:
            fused.append(layer)
    return nn.Sequential(*fused).eval().to(memory_format=torch.channels_last)


def _fold_norm(producer: nn.Module, norm: nn.Module) -> None:
    """Fold an evaluation-mode batch norm into the producer before it, in place."""
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight
    bias = producer.bias if producer.bias is not None else torch.zeros_like(norm.running_mean)
    shift = (bias - norm.running_mean) * scale
    if norm.affine:
        shift = shift + norm.bias
    weight = producer.weight * scale.reshape(-1, *([1] * (producer.weight.dim() - 1)))
    producer.weight = nn.Parameter(weight.contiguous(), requires_grad=False)
    producer.bias = nn.Parameter(shift.contiguous(), requires_grad=False)


@torch.no_grad()
def threshold_sparsity(params: Iterable[torch.Tensor], threshold: float = 1e-4) -> float:
    """Fraction of the entries of ``params`` with :math:`|w| <` ``threshold`` (0 counts)."""
    check_non_negative("threshold", threshold)
    params = list(params)
    small = sum(int((p.abs() < threshold).sum()) for p in params)
    total = sum(p.numel() for p in params)
    return small / total if total else 0.0


@torch.no_grad()
def count_flops(model: nn.Module, example_input: torch.Tensor) -> int:
    """FLOPs of one forward pass per sample: 2 per multiply-accumulate of every convolution and
    linear layer (other layers are ignored). ``example_input`` is a batch (any size)."""
    macs = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if isinstance(module, nn.Linear):
            per_output = module.in_features
        else:
            per_output = module.weight[0].numel()  # in_channels / groups * kernel size
        macs.append(output.numel() * per_output)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (*_PRODUCERS, nn.Conv3d))]
    was_training = model.training
    try:
        model.eval()
        model(example_input)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return 2 * sum(macs) // len(example_input)
