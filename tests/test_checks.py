"""Tests of ``deepoptim._checks``: the package's shared argument checks and their messages."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
import torch

from deepoptim._checks import (
    check_choice,
    check_in_range,
    check_int_at_least,
    check_non_negative,
    check_positive,
)

CHECKS = {
    "lr": partial(check_non_negative, "lr"),
    "eps": partial(check_positive, "eps"),
    "momentum": partial(check_in_range, "momentum", low=0.0, high=1.0),
    "dampening": partial(check_in_range, "dampening", low=0.0, high=1.0, high_inclusive=True),
    "c1": partial(check_in_range, "c1", low=0.0, high=1.0, low_inclusive=False),
    "std": partial(check_in_range, "std", low=0.0, high=math.inf, low_inclusive=False),
    "steps": partial(check_int_at_least, "steps", minimum=1),
    "line_search_fn": partial(check_choice, "line_search_fn", choices=("armijo", "wolfe")),
}
"""Each check bound to a typical argument, by name."""


def _readable(value: object) -> str | None:
    """Test ids: names and messages as they are, other values as their repr."""
    return None if isinstance(value, str) else repr(value)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        ("lr", 0),
        ("lr", 0.1),
        ("lr", np.float32(0.1)),
        ("eps", 1e-8),
        ("eps", math.inf),
        ("momentum", 0.0),
        ("momentum", 0.99),
        ("dampening", 1.0),
        ("c1", 1e-4),
        ("std", 1e300),
        ("steps", 1),
        ("steps", np.int64(3)),
        ("line_search_fn", "wolfe"),
    ],
    ids=_readable,
)
def test_checks_accept_valid_values(check, value):
    CHECKS[check](value)


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        ("lr", -1, "Invalid lr value: -1 (expected lr >= 0)"),
        ("lr", math.nan, "Invalid lr value: nan (expected lr >= 0)"),
        ("eps", 0.0, "Invalid eps value: 0.0 (expected eps > 0)"),
        ("momentum", 1.0, "Invalid momentum value: 1.0 (expected 0.0 <= momentum < 1.0)"),
        ("momentum", -0.1, "Invalid momentum value: -0.1 (expected 0.0 <= momentum < 1.0)"),
        ("dampening", 1.5, "Invalid dampening value: 1.5 (expected 0.0 <= dampening <= 1.0)"),
        ("c1", 0.0, "Invalid c1 value: 0.0 (expected 0.0 < c1 < 1.0)"),
        ("c1", 1.0, "Invalid c1 value: 1.0 (expected 0.0 < c1 < 1.0)"),
        ("std", math.inf, "Invalid std value: inf (expected 0.0 < std < inf)"),
        ("std", math.nan, "Invalid std value: nan (expected 0.0 < std < inf)"),
        ("steps", 0, "Invalid steps value: 0 (expected steps >= 1)"),
        (
            "line_search_fn",
            "strong",
            "Invalid line_search_fn value: 'strong' (expected one of 'armijo', 'wolfe')",
        ),
    ],
    ids=_readable,
)
def test_checks_reject_out_of_range_values(check, value, message):
    with pytest.raises(ValueError) as excinfo:
        CHECKS[check](value)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("check", "value"),
    [
        ("lr", "0.1"),
        ("lr", None),
        ("lr", True),
        ("lr", torch.tensor(0.1)),
        ("eps", 1j),
        ("momentum", [0.9]),
        ("steps", 2.0),
        ("steps", True),
    ],
    ids=_readable,
)
def test_checks_reject_wrong_types(check, value):
    with pytest.raises(TypeError):
        CHECKS[check](value)


def test_wrong_type_message_names_the_argument():
    with pytest.raises(TypeError, match="^lr must be a real number, got str$"):
        check_non_negative("lr", "0.1")
    with pytest.raises(TypeError, match="^steps must be an int, got float$"):
        check_int_at_least("steps", 2.0, 1)

