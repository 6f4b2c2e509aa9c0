"""Sequential2D: a network as a block matrix of modules iterated over a list of slots.

Source: Pathak (WPI PhD thesis 2024), Part IV, and Hershey, Paffenroth, Pathak & Tavener,
arXiv:2404.00880 (Definition 1), whose reference code is R. Paffenroth's ``iterativennsimple``
(reimplemented here, not copied).

**The map.** The state is a list of ``n`` slots :math:`z = [z_0, \\dots, z_{n-1}]`. The block
matrix holds modules ``blocks[i][j]`` in the code convention **``blocks[src][dst]``**: the block in
row ``i``, column ``j`` reads slot ``i`` and writes slot ``j``. One application of the map is

.. math::  F(z)_j = A_j\\Big(\\sum_{i:\\ \\mathrm{blocks}[i][j] \\neq \\mathrm{None}}
           \\mathrm{blocks}[i][j](z_i)\\Big),

with ``A_j`` the activation of slot ``j`` (identity where ``None``) and the terms added in
increasing ``i``. The paper writes the transpose, :math:`(Mz)_j = \\sum_i f_{j,i}(z_i)` (row =
output): :math:`f_{j,i}` is our ``blocks[i][j]``. Biases live in the blocks (the paper's per-slot
bias ``b`` is a biased block into the slot). A network is :math:`F` iterated ``K`` times:
:math:`z_t = F(z_{t-1})`; :meth:`Sequential2D.forward` puts ``x`` in slot 0, the other slots
empty, and returns slot ``n - 1`` after ``iterations`` steps.

**Empty slots.** ``None`` stands for a slot with no value (zero, and free): a block whose input
slot is ``None`` is not called, and a slot with no block writing into it, or whose every input is
``None``, is ``None`` after a step (its activation is not applied to an empty sum, which is the
zero of the math whenever ``A_j(0) = 0``: ReLU, tanh, identity). A biased block on an empty
input therefore adds no bias: pass a zero tensor to make it add one (``scan`` does, for RNNs).

**Evaluation.** A step recomputes a slot only if one of its input slots changed (holds another
tensor than before the previous step); otherwise the slot keeps its tensor, which is the same
value for deterministic blocks (a random or stateful block such as dropout is not re-run), and
the iteration stops early once no slot changes. An MLP written as a Sequential2D thus runs each
layer once, as ``nn.Sequential`` does, and gives bit-identical outputs and gradients.

**Architectures as special cases**, each a constructor:

- :meth:`~Sequential2D.mlp` / :meth:`~Sequential2D.from_sequential`: slots ``[x, h1, ...,
  y]``, ``blocks[k][k+1]`` the k-th layer (a superdiagonal, nilpotent matrix), ``L`` iterations
  for ``L`` layers; ``blocks[0][0] = nn.Identity()`` (``keep_input``) holds ``x`` so that the
  state is a fixed point for every ``K >= L``;
- :meth:`~Sequential2D.skip_mlp`: the same plus a band of skip blocks ``blocks[i][i+d]``
  between hidden slots (:class:`~deepoptim.models.blocks.ScaledIdentity`, ``Diagonal``,
  ``LowRankLinear``, ``MaskedLinear``, ...);
- :meth:`~Sequential2D.dense`: the whole upper triangle filled (DenseNet-like: every slot reads
  every earlier slot);
- :meth:`~Sequential2D.iterative`: a weight-shared map ``[x, h, y]`` whose hidden block
  ``h -> h`` acts at every iteration (``K`` iterations apply it ``K - 2`` times);
- :meth:`~Sequential2D.rnn` / :meth:`~Sequential2D.from_rnn` with :meth:`~Sequential2D.scan`:
  the forced form :math:`z_{t+1} = F^K(\\mathrm{Inject}_{t+1}(z_t))`, slot 0 overwritten by
  token ``t + 1``; ``K = 1`` is ``torch.nn.RNN``.

**Depth.** :attr:`Sequential2D.depth` is the longest path of the block graph, not counting
``nn.Identity`` self-loops on slots nothing else writes into (held slots); ``None`` if the graph
has a cycle. When every slot that nothing else writes into is held, the iteration reaches its
fixed point after ``depth`` steps: each slot's value then depends only on held slots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from deepoptim._checks import check_choice, check_int_at_least

from .blocks import ScaledIdentity

Slots = list[torch.Tensor | None]
BlockFactory = Callable[[int, int], nn.Module]


def _check_blocks(blocks: Sequence[Sequence[nn.Module | None]]) -> int:
    """The number of slots of a square block matrix of modules or ``None``, checked."""
    if isinstance(blocks, (str, bytes)) or not isinstance(blocks, Sequence) or not blocks:
        raise TypeError(f"blocks must be a non-empty list of lists, got {type(blocks).__name__}")
    n = len(blocks)
    for i, row in enumerate(blocks):
        if not isinstance(row, Sequence) or len(row) != n:
            length = len(row) if isinstance(row, Sequence) else type(row).__name__
            raise ValueError(f"Invalid blocks value: row {i} has {length} entries (expected {n}: "
                             f"the block matrix is square, one row and one column per slot)")
        for j, block in enumerate(row):
            if block is not None and not isinstance(block, nn.Module):
                raise TypeError(f"blocks[{i}][{j}] must be an nn.Module or None, "
                                f"got {type(block).__name__}")
    return n


def _slot_sizes(blocks: Sequence[Sequence[nn.Module | None]], n: int) -> list[int | None]:
    """Each slot's feature size as the blocks' ``in_features``/``out_features`` give it
    (``None`` where no block says), checked to chain."""
    sizes: list[int | None] = [None] * n
    origin: list[tuple[int, int] | None] = [None] * n

    def record(slot: int, size: int, where: tuple[int, int]) -> None:
        if sizes[slot] is None:
            sizes[slot], origin[slot] = size, where
        elif sizes[slot] != size:
            raise ValueError(f"Invalid blocks value: block {where} needs {size} features in "
                             f"slot {slot}, but block {origin[slot]} gives it {sizes[slot]} "
                             f"(the shapes do not chain)")

    for i in range(n):
        for j in range(n):
            block = blocks[i][j]
            if hasattr(block, "in_features") and hasattr(block, "out_features"):
                record(i, block.in_features, (i, j))
                record(j, block.out_features, (i, j))
    for i in range(n):
        for j in range(n):
            if isinstance(blocks[i][j], nn.Identity) and None not in (sizes[i], sizes[j]) \
                    and sizes[i] != sizes[j]:
                raise ValueError(f"Invalid blocks value: block ({i}, {j}) is an identity from "
                                 f"{sizes[i]} to {sizes[j]} features (the shapes do not chain)")
    return sizes


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    """Layer widths ``[in, hidden..., out]``: at least two positive ints."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a sequence of ints, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"Invalid sizes value: {list(sizes)!r} (expected at least 2 widths)")
    for size in sizes:
        check_int_at_least("sizes entry", size, 1)
    return list(sizes)


def _check_iterations(iterations: int | None, depth: int, exact: bool) -> int:
    """``iterations`` (default ``depth``), at least ``depth``; exactly ``depth`` if ``exact``."""
    if iterations is None:
        return depth
    check_int_at_least("iterations", iterations, depth)
    if exact and iterations != depth:
        raise ValueError(f"Invalid iterations value: {iterations!r} (expected {depth}: without "
                         f"keep_input the input slot is empty after the first iteration)")
    return iterations


def _zero_linear(in_features: int, out_features: int) -> nn.Linear:
    """``nn.Linear`` without bias, weight 0: a skip block that starts at zero output."""
    linear = nn.Linear(in_features, out_features, bias=False)
    nn.init.zeros_(linear.weight)
    return linear


class Sequential2D(nn.Module):
    """A block matrix of modules iterated over a list of slot tensors (see the module docstring).

    Args:
        blocks: an ``n x n`` list of lists, ``blocks[i][j]`` the module from slot ``i`` to slot
            ``j`` (``blocks[src][dst]``) or ``None``. Modules are registered as given (shared,
            not copied); one module may sit in several places (weight sharing).
        activations: ``n`` modules or ``None`` (identity), applied to each slot's sum.
        iterations: default number of applications of the map (at least 1).

    Blocks that have ``in_features`` and ``out_features`` fix their slots' sizes, which must agree
    (:attr:`sizes`); slot tensors given to :meth:`iterate` are checked against them.
    """

    def __init__(
        self,
        blocks: Sequence[Sequence[nn.Module | None]],
        activations: Sequence[nn.Module | None] | None = None,
        iterations: int = 1,
    ) -> None:
        super().__init__()
        n = _check_blocks(blocks)
        activations = [None] * n if activations is None else list(activations)
        if len(activations) != n:
            raise ValueError(f"Invalid activations value: {len(activations)} entries "
                             f"(expected {n}, one per slot)")
        for j, activation in enumerate(activations):
            if activation is not None and not isinstance(activation, nn.Module):
                raise TypeError(f"activations[{j}] must be an nn.Module or None, "
                                f"got {type(activation).__name__}")
        check_int_at_least("iterations", iterations, 1)
        self.sizes = _slot_sizes(blocks, n)
        self.iterations = iterations
        self.blocks = nn.ModuleDict({f"{i}_{j}": blocks[i][j] for i in range(n) for j in range(n)
                                     if blocks[i][j] is not None})
        self.activations = nn.ModuleDict({str(j): a for j, a in enumerate(activations)
                                          if a is not None})
        self._incoming = tuple(tuple((i, blocks[i][j]) for i in range(n)
                                     if blocks[i][j] is not None) for j in range(n))
        self._activation = tuple(activations)

    @property
    def n_slots(self) -> int:
        return len(self._incoming)

    def block(self, src: int, dst: int) -> nn.Module | None:
        """The module from slot ``src`` to slot ``dst``, or ``None``."""
        return self.blocks[f"{src}_{dst}"] if f"{src}_{dst}" in self.blocks else None

    @property
    def depth(self) -> int | None:
        """Longest path of the block graph (held slots' identity self-loops left out), or
        ``None`` if it has a cycle."""
        edges = [(i, j) for j, incoming in enumerate(self._incoming) for i, block in incoming
                 if not (i == j and isinstance(block, nn.Identity) and len(incoming) == 1)]
        longest = [0] * self.n_slots
        for _ in range(self.n_slots + 1):  # Bellman-Ford on path lengths: settles if acyclic
            updated = False
            for i, j in edges:
                if longest[i] + 1 > longest[j]:
                    longest[j], updated = longest[i] + 1, True
            if not updated:
                return max(longest)
        return None

    def _check_slots(self, slots: Sequence[torch.Tensor | None]) -> Slots:
        if isinstance(slots, torch.Tensor) or not isinstance(slots, Sequence):
            raise TypeError(f"slots must be a list of tensors or None, got {type(slots).__name__}")
        if len(slots) != self.n_slots:
            raise ValueError(f"Invalid slots value: {len(slots)} entries (expected "
                             f"{self.n_slots}, one per slot)")
        for j, (slot, size) in enumerate(zip(slots, self.sizes, strict=True)):
            if slot is None:
                continue
            if not isinstance(slot, torch.Tensor):
                raise TypeError(f"slots[{j}] must be a Tensor or None, got {type(slot).__name__}")
            if size is not None and (slot.dim() == 0 or slot.shape[-1] != size):
                raise ValueError(f"Invalid slots value: slot {j} has shape {tuple(slot.shape)} "
                                 f"(expected {size} features in the last dimension)")
        return list(slots)

    def iterate(self, slots: Sequence[torch.Tensor | None], iterations: int | None = None) -> Slots:
        """The state after ``iterations`` (default :attr:`iterations`) applications of the map to
        ``slots`` (a list of ``n`` tensors or ``None``); a new list, ``slots`` is left as is."""
        state = self._check_slots(slots)
        if iterations is None:
            iterations = self.iterations
        check_int_at_least("iterations", iterations, 1)
        changed = [True] * self.n_slots
        for _ in range(iterations):
            new = list(state)
            for j, incoming in enumerate(self._incoming):
                if incoming and not any(changed[i] for i, _ in incoming):
                    continue  # same inputs as last step: same value
                total = None
                for i, block in incoming:
                    if state[i] is not None:
                        value = block(state[i])
                        total = value if total is None else total + value
                activation = self._activation[j]
                new[j] = total if total is None or activation is None else activation(total)
            changed = [a is not b for a, b in zip(new, state, strict=True)]
            state = new
            if not any(changed):
                break
        return state

    def step(self, slots: Sequence[torch.Tensor | None]) -> Slots:
        """One application of the map, every block with an input evaluated."""
        return self.iterate(slots, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Slot ``n - 1`` after :attr:`iterations` steps from ``[x, None, ..., None]``."""
        out = self.iterate([x] + [None] * (self.n_slots - 1))[-1]
        if out is None:
            raise RuntimeError(f"the output slot {self.n_slots - 1} is empty after "
                               f"{self.iterations} iterations (depth {self.depth})")
        return out

    def scan(
        self,
        sequence: torch.Tensor,
        slots: Sequence[torch.Tensor | None] | None = None,
        iterations: int | None = None,
    ) -> tuple[torch.Tensor, Slots]:
        """The forced map over ``sequence`` (time first, e.g. (T, N, features)): per token,
        slot 0 is overwritten by it (Inject), then the map is iterated ``iterations`` times.

        ``slots`` is the initial state (slot 0 ignored); by default zeros for every slot of
        known size (``None`` elsewhere), as ``nn.RNN``'s zero initial state, so a biased block
        on a slot adds its bias from the first token. Returns the last slot after each token,
        stacked, and the final state.
        """
        if not isinstance(sequence, torch.Tensor) or sequence.dim() < 2:
            raise ValueError(f"Invalid sequence value: {sequence!r:.60} (expected a tensor "
                             f"with time first and features last)")
        if slots is None:
            batch = sequence.shape[1:-1]
            slots = [None if size is None else sequence.new_zeros(*batch, size)
                     for size in self.sizes]
        state = self._check_slots(slots)
        outputs = []
        for t, token in enumerate(sequence):
            state = self.iterate([token, *state[1:]], iterations)
            if state[-1] is None:
                raise RuntimeError(f"the output slot {self.n_slots - 1} is empty after token {t}")
            outputs.append(state[-1])
        return torch.stack(outputs), state

    # ---- constructors ----------------------------------------------------------------------

    @classmethod
    def _layered(
        cls,
        layers: Sequence[nn.Module],
        activations: Sequence[nn.Module | None],
        extra: Mapping[tuple[int, int], nn.Module],
        keep_input: bool,
        iterations: int,
    ) -> Sequential2D:
        """Slots ``[x, h1, ..., y]``, ``layers[k]`` at ``blocks[k][k+1]`` with ``activations[k]``
        on slot ``k + 1``, the ``extra`` blocks, and ``x`` held if ``keep_input``."""
        n = len(layers) + 1
        blocks: list[list[nn.Module | None]] = [[None] * n for _ in range(n)]
        if keep_input:
            blocks[0][0] = nn.Identity()
        for k, layer in enumerate(layers):
            blocks[k][k + 1] = layer
        for (i, j), block in extra.items():
            blocks[i][j] = block
        return cls(blocks, [None, *activations], iterations)

    @classmethod
    def _chain(
        cls,
        sizes: list[int],
        activation: Callable[[], nn.Module],
        pairs: Sequence[tuple[int, int]],
        skip: BlockFactory,
        keep_input: bool,
        iterations: int | None,
    ) -> Sequential2D:
        """New ``nn.Linear`` layers of widths ``sizes``, ``activation()`` on the hidden slots,
        ``skip(sizes[i], sizes[j])`` at each of ``pairs``; ``iterations`` checked first."""
        layers = len(sizes) - 1
        iterations = _check_iterations(iterations, layers, exact=not keep_input)
        linears = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        activations = [activation() for _ in range(layers - 1)] + [None]
        extra = {(i, j): skip(sizes[i], sizes[j]) for i, j in pairs}
        return cls._layered(linears, activations, extra, keep_input, iterations)

    @classmethod
    def mlp(
        cls,
        sizes: Sequence[int],
        activation: Callable[[], nn.Module] = nn.ReLU,
        *,
        keep_input: bool = True,
        iterations: int | None = None,
    ) -> Sequential2D:
        """An MLP ``sizes[0] - ... - sizes[-1]``: ``nn.Linear`` layers on the superdiagonal,
        ``activation()`` on every hidden slot, none on the output.

        ``iterations`` defaults to the number of layers ``L``; with ``keep_input`` any
        ``K >= L`` gives the same output, without it exactly ``L`` is required.
        """
        return cls.skip_mlp(sizes, None, activation=activation, keep_input=keep_input,
                            iterations=iterations)

    @classmethod
    def skip_mlp(
        cls,
        sizes: Sequence[int],
        distance: int | None = 2,
        skip: BlockFactory = ScaledIdentity,
        activation: Callable[[], nn.Module] = nn.ReLU,
        *,
        hidden_only: bool = True,
        keep_input: bool = True,
        iterations: int | None = None,
    ) -> Sequential2D:
        """An MLP plus a band of skip blocks ``blocks[i][i + distance] = skip(sizes[i],
        sizes[i + distance])`` (``distance >= 2``: ``blocks[i][i+1]`` is the layer itself)
        between hidden slots (``1 <= i`` and ``i + distance <= L - 1``), or between any slots if
        not ``hidden_only`` (the input and output slots usually differ in size from the hidden
        ones: a size-changing ``skip`` such as ``LowRankLinear``); ``distance=None``: no skips.

        The default skip, :class:`~deepoptim.models.blocks.ScaledIdentity`, starts at zero:
        the network starts as the plain MLP. Slot ``j`` computes
        ``activation(skip(h[j - distance]) + linear(h[j - 1]))``.
        """
        sizes = _check_sizes(sizes)
        layers = len(sizes) - 1
        pairs: list[tuple[int, int]] = []
        if distance is not None:
            check_int_at_least("distance", distance, 2)
            first, last = (1, layers - 1) if hidden_only else (0, layers)
            pairs = [(i, i + distance) for i in range(first, last - distance + 1)]
            if not pairs:
                where = "hidden slots" if hidden_only else "slots"
                raise ValueError(f"Invalid distance value: {distance!r} (no two {where} of "
                                 f"sizes {sizes} are that far apart)")
        return cls._chain(sizes, activation, pairs, skip, keep_input, iterations)

    @classmethod
    def dense(
        cls,
        sizes: Sequence[int],
        activation: Callable[[], nn.Module] = nn.ReLU,
        skip: BlockFactory = _zero_linear,
        *,
        keep_input: bool = True,
        iterations: int | None = None,
    ) -> Sequential2D:
        """DenseNet-like: the whole upper triangle. ``blocks[k][k+1]`` is ``nn.Linear`` (with
        the slot's bias), every ``blocks[i][j]``, ``j > i + 1``, is ``skip(sizes[i], sizes[j])``
        (default: ``nn.Linear`` without bias, weight 0, so the network starts as the MLP; e.g.
        ``lambda i, o: MaskedLinear.random(i, o, 0.1, bias=False)`` for sparse ones). Slot
        ``j`` is ``activation(sum_{i<j} blocks[i][j](h_i))``, i.e. a linear map of the
        concatenation of all earlier slots."""
        sizes = _check_sizes(sizes)
        pairs = [(i, j) for j in range(2, len(sizes)) for i in range(j - 1)]
        return cls._chain(sizes, activation, pairs, skip, keep_input, iterations)

    @classmethod
    def from_sequential(
        cls,
        sequential: nn.Sequential,
        *,
        keep_input: bool = True,
        iterations: int | None = None,
    ) -> Sequential2D:
        """The same network as ``sequential``, **sharing** its modules (use ``copy.deepcopy``
        first for an independent copy): each module with ``in_features`` and ``out_features``
        (``nn.Linear``, ...) is a layer on the superdiagonal, the modules after it up to the
        next layer (activations, dropout) the activation of its output slot.

        Outputs and gradients are bit-identical to ``sequential``'s, and so are the weights
        after the same optimizer steps (tests/models/test_sequential2d.py).
        """
        if not isinstance(sequential, nn.Sequential):
            raise TypeError(f"sequential must be an nn.Sequential, "
                            f"got {type(sequential).__name__}")
        layers: list[nn.Module] = []
        after: list[list[nn.Module]] = []
        for index, module in enumerate(sequential):
            if hasattr(module, "in_features") and hasattr(module, "out_features"):
                layers.append(module)
                after.append([])
            elif not layers:
                raise ValueError(f"Invalid sequential value: module {index} "
                                 f"({type(module).__name__}) comes before the first layer "
                                 f"(expected a module with in_features and out_features first)")
            else:
                after[-1].append(module)
        if not layers:
            raise ValueError("Invalid sequential value: no module with in_features and "
                             "out_features (expected at least one layer)")
        iterations = _check_iterations(iterations, len(layers), exact=not keep_input)
        activations = [None if not mods else mods[0] if len(mods) == 1 else nn.Sequential(*mods)
                       for mods in after]
        return cls._layered(layers, activations, {}, keep_input, iterations)

    @classmethod
    def iterative(
        cls,
        in_features: int,
        hidden: int,
        out_features: int,
        activation: Callable[[], nn.Module] = nn.Tanh,
        *,
        iterations: int,
    ) -> Sequential2D:
        """A weight-shared iterative map on slots ``[x, h, y]``: ``x`` held, ``h <- activation(
        U x + W h)`` (``U`` biased, ``W`` not), ``y <- V h``. After ``K`` iterations (``K >= 2``,
        the shortest path from ``x`` to ``y``) ``y = V h_{K-1}`` with ``h_1 = act(U x)`` and
        ``h_t = act(U x + W h_{t-1})``: one ``W`` acting ``K - 2`` times, a depth-``K`` network
        with tied weights."""
        check_int_at_least("in_features", in_features, 1)
        check_int_at_least("hidden", hidden, 1)
        check_int_at_least("out_features", out_features, 1)
        check_int_at_least("iterations", iterations, 2)
        blocks: list[list[nn.Module | None]] = [
            [nn.Identity(), nn.Linear(in_features, hidden), None],
            [None, nn.Linear(hidden, hidden, bias=False), nn.Linear(hidden, out_features)],
            [None, None, None],
        ]
        return cls(blocks, [None, activation(), None], iterations)

    @classmethod
    def rnn(
        cls,
        input_size: int,
        hidden_size: int,
        activation: Callable[[], nn.Module] = nn.Tanh,
        *,
        bias: bool = True,
        iterations: int = 1,
    ) -> Sequential2D:
        """An Elman RNN on slots ``[x, h]``: ``blocks[0][1] = W_ih``, ``blocks[1][1] = W_hh``
        (both ``nn.Linear``, biased if ``bias``), ``activation()`` on ``h``, and
        ``blocks[0][0] = nn.Identity()`` holding the token. Run it with :meth:`scan`:
        ``iterations`` (``K``) applications of the map per token, ``K = 1`` being
        ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``, ``K > 1`` that cell applied ``K``
        times to the same token."""
        check_int_at_least("input_size", input_size, 1)
        check_int_at_least("hidden_size", hidden_size, 1)
        check_int_at_least("iterations", iterations, 1)
        blocks: list[list[nn.Module | None]] = [
            [nn.Identity(), nn.Linear(input_size, hidden_size, bias=bias)],
            [None, nn.Linear(hidden_size, hidden_size, bias=bias)],
        ]
        return cls(blocks, [None, activation()], iterations)

    @classmethod
    def from_rnn(cls, rnn: nn.RNN, *, iterations: int = 1) -> Sequential2D:
        """:meth:`rnn` with a **copy** of a one-layer, one-directional ``nn.RNN``'s weights (tanh
        or relu); with ``iterations=1``, :meth:`scan` over a (T, N, input) sequence (time first,
        as ``batch_first=False``) gives bit-identical outputs and final state to ``rnn``'s, and
        gradients equal to rounding (torch projects the whole sequence's input in one product:
        its input weights' gradient sums the T·N rows in another order)."""
        if not isinstance(rnn, nn.RNN):
            raise TypeError(f"rnn must be an nn.RNN, got {type(rnn).__name__}")
        for name, value, expected in (("num_layers", rnn.num_layers, 1),
                                      ("bidirectional", rnn.bidirectional, False),
                                      ("batch_first", rnn.batch_first, False)):
            if value != expected:
                raise ValueError(f"Invalid rnn value: {name}={value!r} (expected {expected!r})")
        check_choice("nonlinearity", rnn.nonlinearity, ("tanh", "relu"))
        activation = nn.Tanh if rnn.nonlinearity == "tanh" else nn.ReLU
        model = cls.rnn(rnn.input_size, rnn.hidden_size, activation, bias=rnn.bias,
                        iterations=iterations).to(rnn.weight_ih_l0)
        with torch.no_grad():
            for suffix, linear in (("ih", model.block(0, 1)), ("hh", model.block(1, 1))):
                linear.weight.copy_(getattr(rnn, f"weight_{suffix}_l0"))
                if rnn.bias:
                    linear.bias.copy_(getattr(rnn, f"bias_{suffix}_l0"))
        return model
