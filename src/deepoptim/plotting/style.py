"""The book's look: its seaborn theme and one colour per optimizer.

:func:`use_book_style` sets the seaborn theme once per chapter. Every optimizer has a
fixed colour (:data:`OPTIMIZER_COLORS`, :func:`color`), so SGD is the same blue in every
chapter; names not in the table get a stable colour derived from the name (:func:`palette`
maps several names at once, for seaborn's ``palette=``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import matplotlib.pyplot as plt
import seaborn as sns

__all__ = ["OPTIMIZER_COLORS", "color", "palette", "use_book_style"]

_TAB10 = sns.color_palette("tab10")
_DARK = sns.color_palette("dark")

#: The colour of each optimizer, the same in every chapter (baselines in the primaries).
OPTIMIZER_COLORS: dict[str, tuple[float, float, float]] = {
    "SGD": _TAB10[0],
    "Adam": _TAB10[1],
    "AdamW": _DARK[1],
    "SLS": _TAB10[2],
    "AdamSLS": _TAB10[3],
    "KenSLS": _TAB10[4],
    "SaLSa": _TAB10[5],
    "PLASLS": _TAB10[6],
    "LineSearch": _DARK[6],
    "ProxSGD": _TAB10[8],
    "SGD-PH": _TAB10[9],
    "KFAC": _DARK[7],
    "NKFAC": _DARK[0],
    "AdaNKFAC": _TAB10[7],
    "AdamR": _DARK[2],
    "AFOpt": _DARK[3],
    "SOAP": _DARK[8],
    "Shampoo": _DARK[9],
    "Power iteration": _DARK[4],
    "Lanczos": _DARK[5],
}

_FALLBACK = sns.color_palette("husl", 24)


def color(name: str) -> tuple[float, float, float]:
    """The colour of an optimizer: its fixed one, or a stable one picked from the name."""
    if name in OPTIMIZER_COLORS:
        return OPTIMIZER_COLORS[name]
    digest = int(hashlib.sha256(name.encode()).hexdigest(), 16)
    return _FALLBACK[digest % len(_FALLBACK)]


def palette(names: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """A seaborn ``palette=`` mapping for these names."""
    return {name: color(name) for name in names}


def use_book_style() -> None:
    """The book's theme: seaborn ``whitegrid``, readable sizes, tight saved figures."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)
    plt.rcParams.update({
        "figure.figsize": (7.0, 4.0),
        "figure.dpi": 100,
        "savefig.bbox": "tight",
        "axes.titleweight": "bold",
        "legend.frameon": False,
    })
