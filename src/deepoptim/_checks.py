"""Argument checks shared by the whole package, and its one convention for bad input.

A public function checks its arguments before it does any work (before it draws random numbers,
reads a cache or calls ``torch.optim.Optimizer.__init__``) and reports a bad one, as torch does,
in one of two ways:

- a value of the wrong type: ``TypeError("{name} must be <type>, got <type name>")``, e.g.
  ``TypeError("steps must be an int, got float")``;
- a value out of range: ``ValueError("Invalid {name} value: {value!r} (<what was expected>)")``,
  e.g. ``ValueError("Invalid lr value: -1 (expected lr >= 0)")``. NaN is always out of range.

A real number is any ``numbers.Real`` and an integer any ``numbers.Integral`` (Python's or
NumPy's); ``bool`` is neither, and neither is a tensor. For example::

    check_non_negative("lr", lr)                                   # lr >= 0
    check_positive("eps", eps)                                     # eps > 0
    check_in_range("momentum", momentum, 0.0, 1.0)                 # 0 <= momentum < 1
    check_in_range("std", std, 0.0, math.inf, low_inclusive=False) # 0 < std < inf: finite too
    check_int_at_least("steps", steps, 1)                          # an int >= 1
    check_choice("kind", kind, ("ring", "grid"))
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection


def _bounds(name: str, low: float, high: float, low_inclusive: bool, high_inclusive: bool) -> str:
    """The range as a comparison, e.g. ``0 <= momentum < 1`` or ``eps > 0``.

    An inclusive upper bound of inf is left out: it excludes nothing but NaN.
    """
    if high == math.inf and high_inclusive:
        return f"{name} {'>=' if low_inclusive else '>'} {low}"
    lower, upper = ("<=" if low_inclusive else "<"), ("<=" if high_inclusive else "<")
    return f"{low} {lower} {name} {upper} {high}"


def check_in_range(
    name: str,
    value: float,
    low: float,
    high: float,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = False,
) -> None:
    """Require a real ``low <= value < high``; the flags make either bound inclusive or exclusive.

    ``high=math.inf`` (exclusive) also requires a finite value.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    above = value >= low if low_inclusive else value > low
    below = value <= high if high_inclusive else value < high
    if not (above and below):
        expected = _bounds(name, low, high, low_inclusive, high_inclusive)
        raise ValueError(f"Invalid {name} value: {value!r} (expected {expected})")


def check_non_negative(name: str, value: float) -> None:
    """Require a real ``value >= 0`` (a learning rate, a weight decay, a safety ``eps``)."""
    check_in_range(name, value, 0, math.inf, high_inclusive=True)


def check_positive(name: str, value: float) -> None:
    """Require a real ``value > 0`` (a denominator, a maximal or initial step size)."""
    check_in_range(name, value, 0, math.inf, low_inclusive=False, high_inclusive=True)


def check_int_at_least(name: str, value: int, minimum: int) -> None:
    """Require an integer ``value >= minimum`` (a count, a budget, a period, a seed)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"Invalid {name} value: {value!r} (expected {name} >= {minimum})")


def check_choice(name: str, value: object, choices: Collection[object]) -> None:
    """Require ``value`` to be one of ``choices``; the message lists the options."""
    if value not in choices:
        options = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"Invalid {name} value: {value!r} (expected one of {options})")
