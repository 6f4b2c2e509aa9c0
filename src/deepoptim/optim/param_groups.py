r"""Parameter groups: splitting any network into parts, and per-part learning rates.

Layer-wise methods need a network as a list of parameter groups: PLASLS searches one step size
per part, a learning-rate distribution over depth trains lower layers more gently than the
head (against catastrophic forgetting), KFAC keeps a Kronecker block per layer, LoRA targets
named modules. :func:`split_parameters` works for any ``nn.Module``. It first lists *units* in
registration order, then optionally merges consecutive units into ``num_parts`` contiguous
parts:

* ``rule="layer"``: one unit per module that owns parameters directly (every ``Linear``,
  ``Conv``, norm layer, embedding...);
* ``rule="child"``: one unit per top-level child module (and one for parameters registered on
  the model itself);
* ``rule="blocks"``: embeddings | blocks | head for transformer-like models: the longest
  ``nn.ModuleList`` holds the blocks (one unit each), the parameters registered before it form
  the first unit and those after it the last.

Merging keeps the order and balances parameter counts (it minimises the largest part); with
``rule="blocks"`` it keeps the first and last units apart and chunks the blocks instead, as
Kenneweg et al. split BERT (embeddings | encoder layers in :math:`K-2` chunks | the rest).
:func:`split_by_prefix` builds parts from name prefixes. Frozen parameters
(``requires_grad=False``) are left out. Each group carries a ``name`` key.

A learning-rate distribution gives part :math:`j` of :math:`K` its own rate
:math:`\mathrm{lr}_j = \mathrm{lr} \cdot f_j` (:func:`with_learning_rates`); the factors of
layer-wise decay (Howard and Ruder, 2018) are :math:`f_j = \delta^{K-1-j}`, 1 for the last
part (:func:`layer_decay`). The groups are ordinary ``torch.optim`` parameter groups, so each
part's rate follows its own scheduler like any other.

**Learning-rate distributions over depth** against catastrophic forgetting (Kenneweg, Schulz,
Schröder and Hammer, "Intelligent Learning Rate Distribution to reduce Catastrophic Forgetting
in Transformers", 2022; Kenneweg thesis 2025). BERT is split into 10 parts, embeddings | 8
chunks of encoder layers | the head (:func:`split_encoder`, or ``split_parameters(model,
"blocks", 10)``), and part :math:`j` trains at :math:`\mathrm{lr}\cdot f_j`.
:func:`depth_profile` gives the factors :math:`f_0, \dots, f_{K-1}`:

* ``"flat"``: :math:`f_j = 1` (the paper's baseline, lr 2e-5 everywhere);
* ``"intuitive"``: the paper's hand-made distribution, for :math:`K = 10` exactly
  :data:`INTUITIVE_FACTORS` :math:`= (1, 1, 0.3, 0.7, 1, 1, 1, 1, 1, 3)` (times 2e-5):
  embeddings and the first chunk at the base rate, the second and third chunks reduced
  (×0.3, ×0.7), the head ×3;
* ``"combined"``: the geometric mean of the distributions the authors searched per pair of
  tasks, :data:`COMBINED_LEARNING_RATES` divided by the flat rate 2e-5, for :math:`K = 10`;
* ``"decay"``: :func:`layer_decay`, rates shrinking geometrically from the head down;
* ``"knots"``: a profile a search sets: :math:`m \ge 2` positive values placed evenly over
  depth; with :math:`m = K` they are the factors themselves (the paper searched one log-uniform
  rate per part).

For another number of parts the published 10-vectors, like any :math:`m` knots
:math:`v_0, \dots, v_{m-1}`, are read as a profile over relative depth: part :math:`j` sits at
:math:`x_j = j\,(m-1)/(K-1)` knots and takes the log-linear interpolation
:math:`f_j = v_i^{1-w}\, v_{i+1}^{w}`, :math:`i = \lfloor x_j \rfloor`, :math:`w = x_j - i`
(learning rates live on a log scale; the paper searched them log-uniformly). This
interpolation is ours, not the paper's; at :math:`K = m` it returns the knots exactly. For a
6-layer MiniLM split into 8 parts, ``depth_profile(8, "intuitive")`` is about
(1, 0.71, 0.49, 0.95, 1, 1, 1, 3): the embeddings at 1, layers 0 to 2 reduced, the head at 3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from deepoptim._checks import check_choice, check_in_range, check_int_at_least
from deepoptim.optim._base import check_lr

__all__ = ["COMBINED_LEARNING_RATES", "DEPTH_PROFILES", "INTUITIVE_FACTORS", "SPLIT_RULES",
           "depth_profile", "layer_decay", "split_by_prefix", "split_encoder",
           "split_parameters", "with_learning_rates"]

#: The rules :func:`split_parameters` knows.
SPLIT_RULES = ("layer", "child", "blocks")

#: The kinds of learning-rate distribution :func:`depth_profile` knows.
DEPTH_PROFILES = ("flat", "intuitive", "combined", "decay", "knots")

#: Kenneweg et al.'s "intuitive" factors for BERT in 10 parts (times the flat rate 2e-5).
INTUITIVE_FACTORS = (1.0, 1.0, 0.3, 0.7, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0)

#: Kenneweg et al.'s combined distribution for BERT in 10 parts: the geometric mean of the
#: learning rates searched per pair of GLUE tasks (absolute rates, to compare with 2e-5 flat).
COMBINED_LEARNING_RATES = (3.295e-6, 4.363e-6, 9.215e-7, 1.923e-6, 2.849e-6, 2.143e-6,
                           3.267e-6, 3.699e-6, 3.186e-6, 1.119e-5)

#: The flat learning rate the published distributions are relative to.
_FLAT_LR = 2e-5


def _unit_of(name: str, rule: str) -> str:
    """The unit a parameter name belongs to: its module path (``layer``) or top-level child."""
    module = name.rpartition(".")[0]
    if rule == "layer":
        return module
    return name.split(".")[0] if module else ""


def _units(model: nn.Module, rule: str) -> list[tuple[str, list[nn.Parameter]]]:
    """(name, parameters) of each unit, in registration order; frozen parameters left out."""
    if rule == "blocks":
        return _block_units(model)
    units: dict[str, list[nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            units.setdefault(_unit_of(name, rule), []).append(p)
    return list(units.items())


def _block_units(model: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
    """embeddings | block 0 | ... | block n-1 | head, around the longest ``nn.ModuleList``."""
    lists = [(name, module) for name, module in model.named_modules()
             if isinstance(module, nn.ModuleList) and len(module) > 0]
    if not lists:
        raise ValueError("Invalid model value: it has no nn.ModuleList of blocks "
                         "(use rule='layer' or split_by_prefix)")
    prefix, blocks = max(lists, key=lambda item: len(item[1]))
    before: list[nn.Parameter] = []
    after: list[nn.Parameter] = []
    inside = {id(p) for p in blocks.parameters()}
    seen_blocks = False
    for p in model.parameters():
        if id(p) in inside:
            seen_blocks = True
        elif p.requires_grad:
            (after if seen_blocks else before).append(p)
    units = [("embeddings", before)] if before else []
    units += [(f"{prefix}.{i}", [p for p in block.parameters() if p.requires_grad])
              for i, block in enumerate(blocks)]
    units += [("head", after)] if after else []
    return [(name, params) for name, params in units if params]


def _balanced_cuts(sizes: Sequence[int], num_parts: int) -> list[int]:
    """Cut points splitting ``sizes`` into ``num_parts`` contiguous runs that minimise the
    largest run's total (dynamic programming; ties keep earlier runs smaller)."""
    n = len(sizes)
    prefix = [0]
    for size in sizes:
        prefix.append(prefix[-1] + size)
    best = [[math.inf] * (n + 1) for _ in range(num_parts + 1)]
    cut = [[0] * (n + 1) for _ in range(num_parts + 1)]
    best[0][0] = 0
    for k in range(1, num_parts + 1):
        for end in range(k, n + 1):
            for begin in range(k - 1, end):
                cost = max(best[k - 1][begin], prefix[end] - prefix[begin])
                if cost < best[k][end]:
                    best[k][end], cut[k][end] = cost, begin
    cuts, end = [], n
    for k in range(num_parts, 0, -1):
        cuts.append(end)
        end = cut[k][end]
    return sorted(cuts)


def _merge(units: list[tuple[str, list[nn.Parameter]]], num_parts: int
           ) -> list[tuple[str, list[nn.Parameter]]]:
    """Consecutive units merged into ``num_parts`` parts of balanced parameter counts."""
    sizes = [sum(p.numel() for p in params) for _, params in units]
    merged, begin = [], 0
    for end in _balanced_cuts(sizes, num_parts):
        names = [name for name, _ in units[begin:end]]
        label = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
        merged.append((label, [p for _, params in units[begin:end] for p in params]))
        begin = end
    return merged


def _chunk_blocks(units: list[tuple[str, list[nn.Parameter]]], num_parts: int
                  ) -> list[tuple[str, list[nn.Parameter]]]:
    """Keep the first and last units, and chunk the blocks between into ``num_parts - 2``."""
    inner = num_parts - (units[0][0] == "embeddings") - (units[-1][0] == "head")
    first = units[:1] if units[0][0] == "embeddings" else []
    last = units[-1:] if units[-1][0] == "head" else []
    blocks = units[len(first):len(units) - len(last)]
    if inner < 1 or inner > len(blocks):
        raise ValueError(f"Invalid num_parts value: {num_parts} (expected between "
                         f"{len(units) - len(blocks) + 1} and {len(units)} for this model)")
    bounds = [math.ceil(len(blocks) * i / inner) for i in range(inner + 1)]
    chunks = []
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        names = [name for name, _ in blocks[begin:end]]
        label = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
        chunks.append((label, [p for _, params in blocks[begin:end] for p in params]))
    return first + chunks + last


def split_parameters(model: nn.Module, rule: str = "layer", num_parts: int | None = None
                     ) -> list[dict]:
    """Parameter groups (``{"params": [...], "name": ...}``) for a layer-wise optimizer.

    Args:
        model: any module; its trainable parameters are split in registration order.
        rule: ``"layer"``, ``"child"`` or ``"blocks"`` (see the module docstring).
        num_parts: merge into this many contiguous parts; ``None`` keeps one per unit.

    Every trainable parameter lands in exactly one group, in ``model.parameters()`` order.
    """
    check_choice("rule", rule, SPLIT_RULES)
    units = _units(model, rule)
    if not units:
        raise ValueError("Invalid model value: it has no trainable parameters")
    if num_parts is not None:
        check_int_at_least("num_parts", num_parts, 1)
        if rule == "blocks":
            units = _chunk_blocks(units, num_parts)
        elif num_parts > len(units):
            raise ValueError(f"Invalid num_parts value: {num_parts} (the {rule} rule finds "
                             f"only {len(units)} units)")
        else:
            units = _merge(units, num_parts)
    return [{"params": params, "name": name} for name, params in units]


def split_by_prefix(model: nn.Module, prefixes: Sequence[str | Sequence[str]]) -> list[dict]:
    """Parameter groups from name prefixes: part ``i`` holds the trainable parameters whose
    names start with ``prefixes[i]`` (a string, or a sequence of strings for a part made of
    several), matched at a ``.`` boundary; the remaining ones form a last part ``"rest"``.

    A prefix that matches nothing, or a parameter matched by two parts, is a ``ValueError``.
    """
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    groups: list[dict] = []
    taken: set[str] = set()
    for entry in prefixes:
        options = [entry] if isinstance(entry, str) else list(entry)
        members = [(name, p) for name, p in named
                   if any(name == o or name.startswith(o + ".") for o in options)]
        if not members:
            raise ValueError(f"Invalid prefixes value: {entry!r} matches no trainable parameter")
        clash = taken & {name for name, _ in members}
        if clash:
            raise ValueError(f"Invalid prefixes value: {entry!r} also matches {sorted(clash)}")
        taken |= {name for name, _ in members}
        groups.append({"params": [p for _, p in members], "name": "|".join(options)})
    rest = [p for name, p in named if name not in taken]
    if rest:
        groups.append({"params": rest, "name": "rest"})
    return groups


def split_encoder(model: nn.Module, num_parts: int | None = None, *,
                  embeddings: str = "embeddings", layers: str = "encoder.layer") -> list[dict]:
    """A BERT-style encoder's parts by parameter-name prefixes: ``embeddings`` | ``layers.0`` |
    ... | ``layers.{L-1}`` | ``head`` (every other trainable parameter: a pooler, classifier
    heads; left out when there is none).

    Args:
        model: a module whose trainable parameters are named like ``transformers``' BERT
            (``embeddings.*``, ``encoder.layer.{i}.*``); a wrapped backbone needs the longer
            prefixes, e.g. ``embeddings="bert.embeddings", layers="bert.encoder.layer"``.
        num_parts: merge the layers into ``num_parts - 2`` chunks as Kenneweg et al. do
            (``ceil`` boundaries; 12 layers in 10 parts give ``[0,1] [2] [3,4] [5] ...``);
            ``None`` keeps one part per layer.
        embeddings, layers: the name prefixes of the embeddings and of the layer list.

    The parts go through :func:`split_by_prefix`, so every trainable parameter lands in
    exactly one group; a prefix that matches nothing is a ``ValueError``.
    """
    indices = set()
    for name, p in model.named_parameters():
        if p.requires_grad and name.startswith(layers + "."):
            index = name[len(layers) + 1:].split(".")[0]
            if index.isdigit():
                indices.add(int(index))
    if not indices:
        raise ValueError(f"Invalid layers value: {layers!r} (no trainable parameter is named "
                         f"{layers}.<i>.*)")
    groups = split_by_prefix(model, [embeddings, *(f"{layers}.{i}" for i in sorted(indices))])
    groups[0]["name"] = "embeddings"
    if groups[-1]["name"] == "rest":
        groups[-1]["name"] = "head"
    if num_parts is None:
        return groups
    check_int_at_least("num_parts", num_parts, 1)
    units = _chunk_blocks([(group["name"], group["params"]) for group in groups], num_parts)
    return [{"params": params, "name": name} for name, params in units]


def layer_decay(num_parts: int, decay: float) -> list[float]:
    """The factors :math:`\\delta^{K-1-j}` of layer-wise decay for ``num_parts`` parts, the last
    part (the head) at 1; ``0 < decay <= 1``."""
    check_int_at_least("num_parts", num_parts, 1)
    check_in_range("decay", decay, 0.0, 1.0, low_inclusive=False, high_inclusive=True)
    return [decay ** (num_parts - 1 - j) for j in range(num_parts)]


def _interpolate(knots: Sequence[float], num_parts: int) -> list[float]:
    """``num_parts`` factors log-linearly interpolated between knots spread evenly over depth
    (exact integer positions, so the knots themselves come back unchanged)."""
    span, gaps = len(knots) - 1, num_parts - 1
    factors = []
    for j in range(num_parts):
        i, remainder = divmod(j * span, gaps)
        w = remainder / gaps
        factors.append(float(knots[i]) if w == 0 else knots[i] ** (1 - w) * knots[i + 1] ** w)
    return factors


def depth_profile(num_parts: int, kind: str = "flat", *, decay: float | None = None,
                  knots: Sequence[float] | None = None) -> list[float]:
    """Learning-rate factors :math:`f_0, \\dots, f_{K-1}` over a network's parts, embeddings
    first and the head last (see the module docstring for each ``kind``'s formula).

    Args:
        num_parts: :math:`K`, the number of parts (groups) the factors are for; at least 2
            for the interpolated kinds (``"intuitive"``, ``"combined"``, ``"knots"``).
        kind: one of :data:`DEPTH_PROFILES`.
        decay: ``kind="decay"`` only: the factor :math:`0 < \\delta \\le 1` per part below the
            head (:func:`layer_decay`).
        knots: ``kind="knots"`` only: at least two positive factors spread evenly over depth.

    Use with :func:`with_learning_rates`: ``with_learning_rates(groups, lr,
    depth_profile(len(groups), kind))``.
    """
    check_int_at_least("num_parts", num_parts, 1)
    check_choice("kind", kind, DEPTH_PROFILES)
    for name, value, owner in (("decay", decay, "decay"), ("knots", knots, "knots")):
        if (value is None) == (kind == owner):
            needs = f"kind={owner!r} needs it" if value is None else f"only kind={owner!r} takes it"
            raise ValueError(f"Invalid {name} value: {value!r} ({needs})")
    if kind == "flat":
        return [1.0] * num_parts
    if kind == "decay":
        return layer_decay(num_parts, decay)
    if num_parts < 2:
        raise ValueError(f"Invalid num_parts value: {num_parts} (expected num_parts >= 2 for "
                         f"kind={kind!r}: the embeddings and the head are two parts)")
    if kind == "intuitive":
        return _interpolate(INTUITIVE_FACTORS, num_parts)
    if kind == "combined":
        return _interpolate([lr / _FLAT_LR for lr in COMBINED_LEARNING_RATES], num_parts)
    knots = list(knots)
    if len(knots) < 2:
        raise ValueError(f"Invalid knots value: {knots!r} (expected at least 2 knots)")
    for i, knot in enumerate(knots):
        check_in_range(f"knots[{i}]", knot, 0.0, math.inf, low_inclusive=False)
    return _interpolate(knots, num_parts)


def with_learning_rates(groups: Sequence[dict], lr: float, factors: Sequence[float] | None = None
                        ) -> list[dict]:
    """Copies of ``groups`` where group ``j`` has ``lr * factors[j]`` (``lr`` without factors).

    The input groups are not modified; every other key is kept. ``factors`` needs one
    non-negative entry per group.
    """
    groups = list(groups)
    check_lr(lr)
    if factors is None:
        factors = [1.0] * len(groups)
    factors = list(factors)
    if len(factors) != len(groups):
        raise ValueError(f"Invalid factors value: {factors!r} (expected {len(groups)} factors, "
                         "one per group)")
    for j, factor in enumerate(factors):
        check_in_range(f"factors[{j}]", factor, 0.0, math.inf)
    return [{**group, "lr": lr * factor} for group, factor in zip(groups, factors, strict=True)]
