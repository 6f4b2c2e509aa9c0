r"""A small cell-based search space for 1-D signals (MNIST-1D), in the style of DARTS/GSparsity.

A *cell* has one input (node 0) and ``nodes`` intermediate nodes; node :math:`j` averages, over
every earlier node :math:`i < j` (an *edge* :math:`i \to j`), every candidate *operation* on
that edge applied to node :math:`i`: it is their sum divided by :math:`j \cdot |O|`, the number
of (edge, operation) pairs of the supernet entering it, a constant, so that removing an
operation whose output is zero does not rescale the others. The cell's output is the mean of
its intermediate nodes.
The network is a stem (convolution and batch norm), ``cells`` cells with a stride-2 average
pooling between two cells, and a linear read-out of the flattened last cell.

The supernet keeps every operation on every edge and sums them (multi-path, with no
architecture weights), as GSparsity does. An architecture is a boolean ``mask`` of shape
(edges, operations), the same in every cell: only the operations it marks are built. Every
operation ends in a learnable per-channel scale (batch norm's for the convolutions, a
:class:`ChannelScale` for pooling and skip), so each has parameters, and setting all of them to
zero makes its output exactly zero: the group of an operation is its parameters in all cells
(:meth:`CellNet1d.operation_parameters`), and an operation whose group is zero can be removed
without changing the network's function.

Every operation starts with a parameter-free stage (:data:`STAGES`: ReLU for the convolutions,
the pooling itself, the identity for skip) that is the same on every edge leaving a node, so a
cell computes each stage once per node; the 3-wide average pooling is written as two additions
(:func:`avg_pool3`), several times faster than ``nn.AvgPool1d`` on the small tensors of this
space.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim._checks import check_int_at_least

__all__ = [
    "OPERATIONS",
    "STAGES",
    "CellNet1d",
    "ChannelScale",
    "Operation",
    "avg_pool3",
    "cell_edges",
    "make_operation",
]

#: The candidate operations on every edge.
OPERATIONS: tuple[str, ...] = ("conv3", "conv5", "dil_conv3", "max_pool3", "avg_pool3", "skip")


class ChannelScale(nn.Module):
    """Multiply each channel by a learnable scale (initialised to 1): ``x * weight[:, None]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight[:, None]


def avg_pool3(x: torch.Tensor) -> torch.Tensor:
    """3-wide average pooling with stride 1 over the positions inside the signal, the function
    of ``nn.AvgPool1d(3, 1, 1, count_include_pad=False)``: the sum of a position and its
    neighbours, divided by 2 at the two ends and by 3 elsewhere."""
    padded = F.pad(x, (1, 1))
    total = padded[..., :-2] + padded[..., 1:-1] + padded[..., 2:]
    count = x.new_full((x.shape[-1],), 3.0)
    count[0] -= 1.0  # one neighbour outside at each end (none at all for a length of one)
    count[-1] -= 1.0
    return total / count


#: The parameter-free first stage of an operation, by name; the operations of a node that start
#: with the same stage share it.
STAGES = {
    "relu": torch.relu,
    "max_pool3": lambda x: F.max_pool1d(x, 3, 1, 1),
    "avg_pool3": avg_pool3,
    "identity": lambda x: x,
}


class Operation(nn.Module):
    """A candidate operation: the stage ``stage`` of :data:`STAGES`, then ``body``."""

    def __init__(self, stage: str, body: nn.Module) -> None:
        if stage not in STAGES:
            raise ValueError(f"Invalid stage value: {stage!r} (choose from {sorted(STAGES)})")
        super().__init__()
        self.stage = stage
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(STAGES[self.stage](x))


def _conv(channels: int, kernel_size: int, dilation: int = 1) -> Operation:
    """ReLU - Conv1d (same length, no bias) - BatchNorm1d, the DARTS order."""
    padding = dilation * (kernel_size - 1) // 2
    return Operation("relu", nn.Sequential(
        nn.Conv1d(channels, channels, kernel_size, padding=padding, dilation=dilation,
                  bias=False),
        nn.BatchNorm1d(channels),
    ))


def make_operation(name: str, channels: int) -> Operation:
    """One candidate operation of :data:`OPERATIONS` on ``channels`` channels (same length)."""
    builders = {
        "conv3": lambda: _conv(channels, 3),
        "conv5": lambda: _conv(channels, 5),
        "dil_conv3": lambda: _conv(channels, 3, dilation=2),
        "max_pool3": lambda: Operation("max_pool3", ChannelScale(channels)),
        "avg_pool3": lambda: Operation("avg_pool3", ChannelScale(channels)),
        "skip": lambda: Operation("identity", ChannelScale(channels)),
    }
    if name not in builders:
        raise ValueError(f"Invalid operation value: {name!r} (choose from {sorted(builders)})")
    return builders[name]()


def cell_edges(nodes: int) -> list[tuple[int, int]]:
    """The edges ``(i, j)``, ``i < j``, of a cell with ``nodes`` intermediate nodes, in order."""
    return [(i, j) for j in range(1, nodes + 1) for i in range(j)]


class Cell(nn.Module):
    """One cell: the operations of ``mask`` on every edge, averaged into each node."""

    def __init__(self, channels: int, nodes: int, operations: Sequence[str],
                 mask: torch.Tensor) -> None:
        super().__init__()
        self.nodes = nodes
        self.candidates = len(operations)
        self.edges = cell_edges(nodes)
        self.ops = nn.ModuleList(
            nn.ModuleDict({op: make_operation(op, channels)
                           for o, op in enumerate(operations) if mask[e, o]})
            for e in range(len(self.edges)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, staged = [x], {}
        for j in range(1, self.nodes + 1):
            incoming = []
            for (i, target), ops in zip(self.edges, self.ops, strict=True):
                if target != j:
                    continue
                for op in ops.values():
                    if (i, op.stage) not in staged:  # once per node for all its edges
                        staged[i, op.stage] = STAGES[op.stage](states[i])
                    incoming.append(op.body(staged[i, op.stage]))
            total = sum(incoming) if incoming else torch.zeros_like(x)
            states.append(total / (j * self.candidates))
        return sum(states[1:]) / self.nodes


class CellNet1d(nn.Module):
    """The supernet (``mask=None``: every operation on every edge) or one architecture of the
    search space, for inputs of shape (N, length) or (N, 1, length).

    Args:
        channels: channels of the stem and of every cell.
        cells: number of cells (a stride-2 average pooling between two cells).
        nodes: intermediate nodes per cell (``nodes * (nodes + 1) / 2`` edges).
        operations: the candidate operations (names from :data:`OPERATIONS`).
        mask: boolean (edges, operations): which operations exist, the same in every cell.
        length, num_classes: input length and number of classes.
    """

    def __init__(self, channels: int = 8, cells: int = 3, nodes: int = 3,
                 operations: Sequence[str] = OPERATIONS, mask: torch.Tensor | None = None,
                 length: int = 40, num_classes: int = 10) -> None:
        super().__init__()
        check_int_at_least("channels", channels, 1)
        check_int_at_least("cells", cells, 1)
        check_int_at_least("nodes", nodes, 1)
        self.operations = tuple(operations)
        for op in self.operations:
            make_operation(op, 1)  # validates the name
        self.edges = cell_edges(nodes)
        shape = (len(self.edges), len(self.operations))
        if mask is None:
            mask = torch.ones(shape, dtype=torch.bool)
        if tuple(mask.shape) != shape or mask.dtype != torch.bool:
            raise ValueError(f"Invalid mask value: a {mask.dtype} tensor of shape "
                             f"{tuple(mask.shape)} (expected a bool tensor of shape {shape})")
        self.register_buffer("mask", mask.clone())
        self.length = length
        self.stem = nn.Sequential(nn.Conv1d(1, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm1d(channels))
        self.cells = nn.ModuleList(Cell(channels, nodes, self.operations, mask)
                                   for _ in range(cells))
        self.pool = nn.AvgPool1d(2)
        out_length = length >> (cells - 1)
        if out_length < 1:
            raise ValueError(f"Invalid cells value: {cells} (too many poolings for length "
                             f"{length})")
        self.classifier = nn.Linear(channels * out_length, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x.reshape(len(x), 1, self.length))
        for index, cell in enumerate(self.cells):
            if index:
                x = self.pool(x)
            x = cell(x)
        return self.classifier(x.flatten(1))

    def operation_parameters(self) -> dict[tuple[int, str], list[nn.Parameter]]:
        """Per existing (edge index, operation name): its parameters in every cell, one group."""
        groups: dict[tuple[int, str], list[nn.Parameter]] = {}
        for cell in self.cells:
            for e, ops in enumerate(cell.ops):
                for name, op in ops.items():
                    groups.setdefault((e, name), []).extend(op.parameters())
        return groups

    def edge_name(self, edge: int) -> str:
        """``"i->j"`` for an edge index."""
        i, j = self.edges[edge]
        return f"{i}->{j}"
