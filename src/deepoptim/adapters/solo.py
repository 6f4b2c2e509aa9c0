r"""Solo-Connection: a few gated, low-rank long skips between the blocks of a frozen transformer.

Pathak's thesis (WPI, 2024) and Pathak & Paffenroth, "Solo Connection" (arXiv:2507.14353, 2025)
adapt a pretrained decoder at the level of its blocks instead of its weight matrices. With
block outputs :math:`h_1, \dots, h_L` and a stride :math:`k`, the connection set is

.. math::
    C = \{(j - k,\ j) : j = 2k, 3k, \dots, \lfloor L/k \rfloor k\}, \qquad
    |C| = \lfloor L/k \rfloor - 1

(:func:`connections`; block numbers from 1). For connection :math:`c = (s, j)` the output of
block :math:`j` becomes

.. math::
    h_j \leftarrow h_j + \lambda_c\, v_c \odot D\big(u_c \odot E(h_s)\big),

where :math:`E: \mathbb R^d \to \mathbb R^r` and :math:`D: \mathbb R^r \to \mathbb R^d` are affine
maps of rank :math:`r` **shared by all connections** (the "solo" pair), :math:`u_c \in \mathbb
R^r` and :math:`v_c \in \mathbb R^d` are per-connection scalings and :math:`\lambda_c` is the
connection's gate. :math:`h_s` is taken *after* its own skip was added, so the skips chain.
The map acts on each token alone, so causality is kept; it is a path across blocks, so unlike
LoRA it cannot be merged into the base weights and costs about :math:`|C|(2dr + 2d + r)`
multiply-adds per token at inference.

Gates (``gate``): ``"trainable"`` (the authors' code: :math:`\lambda_c` learned, initialised
at 0.1 and unconstrained), ``"schedule"`` (the literal homotopy: :math:`\lambda(t) =
\min(1, t/T)` at training step :math:`t`, not trained; :meth:`SoloConnection.set_step`) or
``"fixed"`` (a constant, not trained, 1 by default).

Initialisations (``init``), both exactly the identity map on the base model at step 0:

* ``"lora"`` (default): :math:`E` as ``nn.Linear``'s default (Kaiming-uniform, like LoRA's
  :math:`A`), :math:`D = 0` (weight and bias, like LoRA's :math:`B`), :math:`u_c = v_c = 1`.
  At step 1 only :math:`D` receives gradient.
* ``"reference"`` (the authors' code, without its integer "sparsity" masks): :math:`E`'s and
  :math:`D`'s weights 0, their biases ``nn.Linear``'s default, :math:`u_c = 1`, :math:`v_c = 0`.
  At step 1 only the :math:`v_c` receive gradient (the path first learns a constant vector).

``shared=False`` gives every connection its own :math:`E_c, D_c` (the ablation of the
sharing). Trainable parameters (:func:`~deepoptim.adapters.solo_parameter_count`):
:math:`\text{pairs}\,(2dr + r + d) + |C|\,(d + r + [\text{gate trainable}])` with one pair,
or :math:`|C|` pairs unshared.

:class:`SoloConnected` attaches a :class:`SoloConnection` to any stack of blocks (our
:class:`~deepoptim.models.GPT`'s ``blocks``, a BERT's ``encoder.layer``, a GPT-2's
``transformer.h``) with forward hooks, freezing the base without copying it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepoptim._checks import check_choice, check_in_range, check_int_at_least

from ._freeze import check_module, freeze

__all__ = ["GATES", "INITS", "SoloConnected", "SoloConnection", "connections", "find_blocks"]

#: Gate modes and initialisations (see the module docstring).
GATES = ("trainable", "schedule", "fixed")
INITS = ("lora", "reference")

#: Names of the block lists :func:`find_blocks` recognises (ours, BERT's, GPT-2's).
BLOCK_LISTS = ("blocks", "encoder.layer", "transformer.h")


def connections(n_layers: int, stride: int) -> list[tuple[int, int]]:
    """The long skips ``(source, target)`` of ``n_layers`` blocks at ``stride`` (from 1):
    targets ``2k, 3k, ..., floor(L/k) k``, each fed by the block ``k`` below it."""
    check_int_at_least("n_layers", n_layers, 1)
    check_int_at_least("stride", stride, 1)
    if n_layers < 2 * stride:
        raise ValueError(f"Invalid stride value: {stride!r} (no connection: n_layers="
                         f"{n_layers} needs stride <= n_layers / 2)")
    return [(target - stride, target) for target in range(2 * stride, n_layers + 1, stride)]


class SoloConnection(nn.Module):
    """The parameters and forward hooks of Solo-Connection (see the module docstring).

    Args:
        dim: the width ``d`` of the blocks' outputs.
        rank: the bottleneck ``r`` of the shared encoder ``E`` and decoder ``D``.
        n_layers: the number of blocks ``L``.
        stride: the skip length ``k``.
        gate: ``"trainable"``, ``"schedule"`` or ``"fixed"``.
        gate_init: the starting gate of ``"trainable"`` (default 0.1, the authors') or the
            constant of ``"fixed"`` (default 1); ``"schedule"`` starts at 0.
        gate_steps: the steps ``T`` of the ``"schedule"`` from 0 to 1 (required there only).
        init: ``"lora"`` or ``"reference"``.
        shared: one ``E, D`` pair for every connection (``False``: one per connection).
        dropout: dropout on the encoder's input (the authors use 0.01).
    """

    def __init__(self, dim: int, rank: int, n_layers: int, stride: int = 2, *,
                 gate: str = "trainable", gate_init: float | None = None,
                 gate_steps: int | None = None, init: str = "lora", shared: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        check_int_at_least("dim", dim, 1)
        check_int_at_least("rank", rank, 1)
        check_choice("gate", gate, GATES)
        check_choice("init", init, INITS)
        check_in_range("dropout", dropout, 0.0, 1.0)
        if not isinstance(shared, bool):
            raise TypeError(f"shared must be a bool, got {type(shared).__name__}")
        if gate == "schedule":
            if gate_init is not None:
                raise ValueError(f"Invalid gate_init value: {gate_init!r} (the schedule starts "
                                 "at 0; gate_init is for 'trainable' and 'fixed')")
            check_int_at_least("gate_steps", gate_steps, 1)
        elif gate_steps is not None:
            raise ValueError(f"Invalid gate_steps value: {gate_steps!r} (only gate='schedule' "
                             "has steps)")
        self.pairs = connections(n_layers, stride)
        self.n_layers, self.stride, self.shared = n_layers, stride, shared
        self.gate, self.gate_steps = gate, gate_steps
        n = len(self.pairs)
        n_maps = 1 if shared else n
        self.encoders = nn.ModuleList(nn.Linear(dim, rank) for _ in range(n_maps))
        self.decoders = nn.ModuleList(nn.Linear(rank, dim) for _ in range(n_maps))
        self.u = nn.Parameter(torch.ones(n, rank))
        self.v = nn.Parameter(torch.ones(n, dim) if init == "lora" else torch.zeros(n, dim))
        for encoder, decoder in zip(self.encoders, self.decoders, strict=True):
            if init == "lora":
                nn.init.zeros_(decoder.weight)
                nn.init.zeros_(decoder.bias)
            else:
                nn.init.zeros_(encoder.weight)
                nn.init.zeros_(decoder.weight)
        start = {"trainable": 0.1, "fixed": 1.0, "schedule": 0.0}[gate]
        if gate_init is not None:
            check_in_range("gate_init", gate_init, -math.inf, math.inf)
            start = float(gate_init)
        gates = torch.full((n,), start)
        if gate == "trainable":
            self.gates = nn.Parameter(gates)
        else:
            self.register_buffer("gates", gates)
        self.dropout = nn.Dropout(dropout)
        self._store: dict[int, torch.Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def contribution(self, c: int, h: torch.Tensor) -> torch.Tensor:
        """``gate_c * v_c * D(u_c * E(dropout(h)))`` for connection ``c`` (from 0)."""
        pair = 0 if self.shared else c
        z = self.encoders[pair](self.dropout(h)) * self.u[c]
        return self.gates[c] * (self.decoders[pair](z) * self.v[c])

    def set_step(self, step: int) -> None:
        """Set the ``"schedule"`` gates for training step ``step`` (from 1): ``min(1, step/T)``."""
        if self.gate != "schedule":
            raise RuntimeError(f"set_step needs gate='schedule', this gate is {self.gate!r}")
        check_int_at_least("step", step, 0)
        self.gates.fill_(min(1.0, step / self.gate_steps))

    def gate_callback(self, step: int, model: nn.Module, optimizer: object) -> None:
        """A :func:`deepoptim.train.fit` callback: after step ``step`` (0 before training),
        set the schedule for the next step, ``step + 1``."""
        self.set_step(step + 1)

    def attach(self, blocks: nn.ModuleList) -> SoloConnection:
        """Hook onto ``blocks`` (the ``L`` blocks in forward order); returns ``self``."""
        if len(blocks) != self.n_layers:
            raise ValueError(f"Invalid blocks value: {len(blocks)} blocks (expected n_layers="
                             f"{self.n_layers})")
        if self._handles:
            raise RuntimeError("this SoloConnection is already attached; detach() it first")
        sources = {source for source, _ in self.pairs}
        targets = {target: c for c, (_, target) in enumerate(self.pairs)}
        for index in sorted(sources | set(targets)):
            hook = self._hook(index, targets.get(index), index in sources)
            self._handles.append(blocks[index - 1].register_forward_hook(hook))
        return self

    def detach(self) -> None:
        """Remove the hooks: the blocks compute the base model again."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._store.clear()

    def _hook(self, block: int, connection: int | None, is_source: bool):
        def hook(module: nn.Module, args: object, output: object) -> object:
            h = output[0] if isinstance(output, tuple) else output
            if connection is not None:
                source = self.pairs[connection][0]
                h = h + self.contribution(connection, self._store.pop(source))
            if is_source:
                self._store[block] = h
            if connection is None:
                return None
            return (h, *output[1:]) if isinstance(output, tuple) else h
        return hook

    def extra_repr(self) -> str:
        return f"pairs={self.pairs}, gate={self.gate!r}, shared={self.shared}"


def find_blocks(model: nn.Module) -> nn.ModuleList:
    """The one block list of ``model`` named as in :data:`BLOCK_LISTS` (at any depth)."""
    check_module("model", model)
    found = [module for name, module in model.named_modules()
             if isinstance(module, nn.ModuleList)
             and any(name == n or name.endswith("." + n) for n in BLOCK_LISTS)]
    if len(found) != 1:
        raise ValueError(f"Invalid model value: {type(model).__name__} has {len(found)} block "
                         f"lists named {BLOCK_LISTS} (expected one; pass blocks=)")
    return found[0]


def _width(blocks: nn.ModuleList) -> int:
    norms = [m for m in blocks[0].modules() if isinstance(m, nn.LayerNorm)]
    if not norms:
        raise ValueError("Invalid blocks value: no LayerNorm in the first block to read the "
                         "width from (pass dim=)")
    return int(norms[0].normalized_shape[-1])


class SoloConnected(nn.Module):
    """``base`` with a :class:`SoloConnection` on its blocks: ``forward`` is ``base``'s.

    Freezes every parameter of ``base`` but ``head``'s (a task head inside it, trained too),
    then hooks the connection onto ``blocks`` (default :func:`find_blocks`). ``dim`` defaults to
    the width of the first block's first LayerNorm; the other keywords are
    :class:`SoloConnection`'s. The base is not copied: its blocks carry the hooks until
    :meth:`remove`. Give every arm its own copy of the base (``copy.deepcopy`` before
    attaching); a copy of an attached model would still run the original's hooks, so save and
    restore its ``state_dict`` instead. A base's ``config`` and ``make_cache`` (a key/value
    cache for :func:`~deepoptim.nlp.greedy_continue`) are the wrapper's too.
    """

    def __init__(self, base: nn.Module, rank: int, stride: int = 2, *,
                 blocks: nn.ModuleList | None = None, dim: int | None = None,
                 head: nn.Module | None = None, **options: object) -> None:
        super().__init__()
        check_module("base", base)
        blocks = find_blocks(base) if blocks is None else blocks
        if not isinstance(blocks, nn.ModuleList):
            raise TypeError(f"blocks must be an nn.ModuleList, got {type(blocks).__name__}")
        freeze(base, head)
        self.base = base
        if hasattr(base, "config"):
            self.config = base.config
        if hasattr(base, "make_cache"):  # the skips act token by token: caching stays exact
            self.make_cache = base.make_cache
        self.solo = SoloConnection(_width(blocks) if dim is None else dim, rank, len(blocks),
                                   stride, **options).attach(blocks)

    def forward(self, *args: object, **kwargs: object) -> object:
        return self.base(*args, **kwargs)

    def remove(self) -> nn.Module:
        """Detach the hooks and return the (still frozen) base."""
        self.solo.detach()
        return self.base
