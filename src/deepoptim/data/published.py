"""The MNIST-1D paper's test accuracies, read from the installed ``mnist1d`` package.

The package's metadata (its README, shipped as the long description) holds the table
"Comparing MNIST and MNIST-1D": one row per data set (``MNIST``, ``MNIST-1D``,
``MNIST-1D (shuffle**)``), one column per model (logistic regression, MLP, CNN, GRU,
human expert), values such as ``94%``, ``99+%`` or ``~30%``. We parse it at run time so
the book quotes the published numbers from their source instead of retyping them.
"""

from __future__ import annotations

import re
from importlib.metadata import metadata

import pandas as pd

__all__ = ["mnist1d_published_accuracy"]

_MODEL_COLUMNS = {
    "logistic regression": "logreg",
    "mlp": "mlp",
    "cnn": "cnn1d",
    "gru": "gru",
    "human expert": "human",
}
_DATASET_ROWS = {"mnist": "MNIST", "mnist-1d": "regular", "mnist-1d (shuffle)": "shuffled"}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _percent(cell: str) -> float:
    """``'94%'`` -> 0.94; ``'99+%'`` and ``'~30%'`` keep their number (0.99, 0.30)."""
    match = re.search(r"(\d+(?:\.\d+)?)", cell)
    if match is None:
        raise ValueError(f"Invalid accuracy value: {cell!r}")
    return float(match.group(1)) / 100.0


def _normalise(label: str) -> str:
    return re.sub(r"[*]", "", label).strip().lower()


def mnist1d_published_accuracy(text: str | None = None) -> pd.DataFrame:
    """The published test accuracies as a tidy frame.

    Args:
        text: the README to parse; by default the installed ``mnist1d`` package's long
            description.

    Returns:
        Columns ``dataset`` (``"MNIST"``, ``"regular"``, ``"shuffled"``), ``model``
        (``"logreg"``, ``"mlp"``, ``"cnn1d"``, ``"gru"``, ``"human"``), ``accuracy``
        (a fraction) and ``as_published`` (the cell's text, e.g. ``"99+%"``).

    Raises:
        ValueError: when the table is not found or its header is not the expected one.
    """
    if text is None:
        text = metadata("mnist1d").get_payload() or ""
    lines = text.splitlines()
    header_index = next(
        (
            i
            for i, line in enumerate(lines)
            if line.lstrip().startswith("|") and "logistic regression" in line.lower()
        ),
        None,
    )
    if header_index is None:
        raise ValueError("no MNIST-1D accuracy table in the mnist1d package metadata")
    header = [_normalise(c) for c in _cells(lines[header_index])]
    unknown = [c for c in header[1:] if c not in _MODEL_COLUMNS]
    if unknown:
        raise ValueError(f"Invalid table header value: unexpected columns {unknown}")
    rows = []
    for line in lines[header_index + 2 :]:
        if not line.lstrip().startswith("|"):
            break
        cells = _cells(line)
        dataset = _DATASET_ROWS.get(_normalise(cells[0]))
        if dataset is None:
            continue
        for column, cell in zip(header[1:], cells[1:], strict=True):
            rows.append(
                dict(
                    dataset=dataset,
                    model=_MODEL_COLUMNS[column],
                    accuracy=_percent(cell),
                    as_published=cell,
                )
            )
    if not rows:
        raise ValueError("the MNIST-1D accuracy table in the mnist1d metadata has no rows")
    return pd.DataFrame(rows)
