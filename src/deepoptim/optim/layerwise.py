r"""PLASLS: a layer-wise Armijo line search on Adam's direction (Kenneweg et al., IJCNN 2023).

The network is split into :math:`K` parts (one parameter group each; :func:`split_parameters`
and :func:`split_by_prefix` build the groups), and every part :math:`j` keeps its own step size
:math:`\eta_j`. Each step updates Adam's moments with the fresh gradient
(:func:`deepoptim.optim.linesearch.adam_directions`), resets every step size,
:math:`\eta_j \leftarrow \text{reset}(\eta_j)`, and then

* during the first ``warmup_steps`` steps (6 as published) runs one *global* search over all
  parts together (slope :math:`\sum_j \mathrm{lr}_j\, g_j^\top r_j`) and gives every part the
  accepted step size;
* afterwards searches *one* part per step, in rotation :math:`i = 0, 1, \dots, K-1, 0, \dots`:
  the Armijo test of part :math:`i` moves only that part,

  .. math::

      f(w) - f(w_1, \dots, w_i - \eta\, r_i, \dots, w_K) \ge c\,\eta\, \mathrm{lr}_i\,
      g_i^\top r_i ,

  with :math:`r_i = D_i^{-1} g_i` as published (``variant="published"``) or
  :math:`r_i = D_i^{-1}\hat m_i` (``"exact"``);
* finally moves every part along Adam's direction, :math:`w_j \leftarrow w_j - \mathrm{lr}_j\,
  \eta_j D_j^{-1}\hat m_j`, the searched part with its accepted step size and the others with
  their reset ones.

With a single part it is :class:`deepoptim.optim.AdamSLS`. State and diagnostics are the
family's (:mod:`deepoptim.optim.linesearch`) except that ``state["line_search"]["step_size"]`` is a
list with one step size per part, ``next_part`` is the part the rotation searches next, the
diagnostic ``step_size`` is a 1-D tensor (the step each part took this step, 0 if it did not
move) and the diagnostic ``part`` names the part searched (-1: the global warm-up search).

Decisions (differences from the authors' code)
----------------------------------------------
- **Each part's test measures only that part's move.** Their loop updated parts in place in
  order, so when part :math:`i` was searched, parts :math:`0..i-1` had already taken their
  steps and the test measured those moves too. Here the search runs before any part moves.
- **Warm-up slope.** Their global warm-up test used the last part's slope only (or one part's
  smoothed average); here it uses the slope of the whole move, :math:`\sum_j`.
- **Failure.** A part whose search fails does not move (the others still do) and keeps the
  last step tried; theirs collapsed :math:`\eta_j` by :math:`0.9^{100}` and moved anyway.
- **Not offered:** merging parts whose step sizes fall below a threshold (their
  ``combine_threshold``), smoothing per part, and other schedules than the rotation.

Splitting a network
-------------------
:func:`split_parameters` works for any ``nn.Module``. It first lists *units* in registration
order, then optionally merges consecutive units into ``num_parts`` contiguous parts:

* ``rule="layer"``: one unit per module that owns parameters directly (every ``Linear``,
  ``Conv``, norm layer, embedding...);
* ``rule="child"``: one unit per top-level child module (and one for parameters registered on
  the model itself);
* ``rule="blocks"``: embeddings | blocks | head for transformer-like models: the longest
  ``nn.ModuleList`` holds the blocks (one unit each), the parameters registered before it form
  the first unit and those after it the last.

Merging keeps the order and balances parameter counts (it minimises the largest part); with
``rule="blocks"`` it keeps the first and last units apart and chunks the blocks instead, as the
authors split BERT (embeddings | encoder layers in :math:`K-2` chunks | the rest).
:func:`split_by_prefix` builds parts from name prefixes. Frozen parameters
(``requires_grad=False``) are left out. Each group carries a ``name`` key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from deepoptim._checks import check_choice, check_int_at_least
from deepoptim.optim.armijo import Line, SearchResult, reset_step_size
from deepoptim.optim.linesearch import (
    VARIANTS,
    Evaluation,
    LineSearchOptimizer,
    Part,
    check_adam,
    check_common,
    check_growth,
    dot,
    preconditioned,
)

__all__ = ["PLASLS", "SPLIT_RULES", "split_by_prefix", "split_parameters"]

#: The rules :func:`split_parameters` knows.
SPLIT_RULES = ("layer", "child", "blocks")


class PLASLS(LineSearchOptimizer):
    r"""Layer-wise Armijo line search with Adam's direction (PLASLS), one step size per group.

    Args:
        params: the parts, as parameter groups (e.g. ``split_parameters(model)``); a plain
            iterable of parameters is a single part.
        lr: multiplier of each part's searched step (per group; see
            :mod:`deepoptim.optim.linesearch`).
        init_step_size, c, betas, eps, beta_b, gamma, n_batches_per_epoch, reset, variant,
            max_step_size, max_trials: as in :class:`deepoptim.optim.AdamSLS`.
        warmup_steps: steps with one global search before the rotation starts (6).
    """

    shared = ("init_step_size", "c", "beta_b", "gamma", "n_batches_per_epoch", "reset",
              "variant", "warmup_steps", "max_step_size", "max_trials")

    def __init__(self, params, lr: float = 1.0, *, init_step_size: float = 0.1, c: float = 0.1,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 beta_b: float = 0.9, gamma: float = 2.0, n_batches_per_epoch: int = 500,
                 reset: str = "grow", variant: str = "published", warmup_steps: int = 6,
                 max_step_size: float = math.inf, max_trials: int = 100) -> None:
        search = dict(c=c, beta_b=beta_b, max_trials=max_trials, max_step_size=max_step_size)
        check_common(lr, init_step_size, search)
        check_adam(betas, eps)
        check_growth(gamma, n_batches_per_epoch, reset)
        check_choice("variant", variant, VARIANTS)
        check_int_at_least("warmup_steps", warmup_steps, 0)
        defaults = dict(lr=lr, init_step_size=init_step_size, betas=betas, eps=eps,
                        gamma=gamma, n_batches_per_epoch=n_batches_per_epoch, reset=reset,
                        variant=variant, warmup_steps=warmup_steps, **search)
        super().__init__(params, defaults)

    def _initial_state(self) -> dict:
        return {**super()._initial_state(), "step_size": [], "next_part": 0}

    def _starts(self, state: dict) -> list[float]:
        """Every part's reset step size (parts added since the last step start anew)."""
        group = self.param_groups[0]
        growth = group["gamma"] ** (1.0 / group["n_batches_per_epoch"])
        init = group["init_step_size"]
        previous = list(state["step_size"])
        previous += [init] * (len(self.param_groups) - len(previous))
        return [reset_step_size(eta, rule=group["reset"], growth=growth, initial=init,
                                maximum=group["max_step_size"]) for eta in previous]

    def _update(self, state: dict, parts: list[Part], evaluation: Evaluation) -> dict:
        index = {id(group): j for j, group in enumerate(self.param_groups)}
        starts = self._starts(state)
        along_gradient = self.param_groups[0]["variant"] == "published"
        updates, searches = [], []
        for part in parts:
            update, gradient = preconditioned(self.state, [part], with_gradient=along_gradient)
            updates.append(update)
            searches.append(update if gradient is None else gradient)
        if state["step"] <= self.param_groups[0]["warmup_steps"]:
            searched = list(range(len(parts)))
            label = -1
        else:
            label = state["next_part"] % len(self.param_groups)
            state["next_part"] = (label + 1) % len(self.param_groups)
            searched = [k for k, part in enumerate(parts) if index[id(part.group)] == label]
        step_sizes = list(starts)
        applied = [0.0] * len(self.param_groups)
        result, slope, line = None, math.nan, None
        if searched:
            line = Line([p for k in searched for p in parts[k].params],
                        [d for k in searched for d in searches[k]], evaluation.closure)
            slope = float(dot([g for k in searched for g in parts[k].grads], line.directions))
            result = self._search(state, line, slope, starts[index[id(parts[searched[0]].group)]],
                                  evaluation)
            for k in searched:
                step_sizes[index[id(parts[k].group)]] = result.step_size
        for k, part in enumerate(parts):
            j = index[id(part.group)]
            if k not in searched:
                torch._foreach_add_(part.params, updates[k], alpha=-starts[j])
                applied[j] = starts[j]
            elif result.moved:
                applied[j] = result.step_size
        if result is not None and result.moved and along_gradient:
            line.move(result.step_size, [u for k in searched for u in updates[k]])
        state["step_size"] = step_sizes
        return self._part_diagnostics(result, applied, slope, line, label)

    def _part_diagnostics(self, result: SearchResult | None, applied: list[float],
                          slope: float, line: Line | None, part: int) -> dict:
        """The family's diagnostics, with one ``step_size`` per part and the ``part`` searched
        (-1: the global warm-up search)."""
        trials = 0 if result is None else result.trials
        failed = result is not None and result.failed
        diagnostics = self._diagnostics(torch.tensor(applied, dtype=torch.float64), slope,
                                        trials, 0 if line is None else line.evaluations, failed)
        return {**diagnostics, "part": part}


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
