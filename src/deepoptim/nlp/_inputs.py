"""Argument checks for sets of embedding vectors (one vector per row), shared by the package."""

from __future__ import annotations

import torch


def check_vectors(name: str, value: object, dim: int | None = None, *,
                  nonzero: bool = False) -> torch.Tensor:
    """Require a finite 2-D floating tensor with at least one row (of ``dim`` columns, if given).

    With ``nonzero`` every row must have a positive norm (a cosine needs one).
    Returns the tensor as given.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a Tensor, got {type(value).__name__}")
    if value.dim() != 2 or not value.is_floating_point():
        raise ValueError(f"Invalid {name} value: a {value.dtype} tensor of shape "
                         f"{tuple(value.shape)} (expected a 2-D floating point tensor, "
                         "one vector per row)")
    if len(value) == 0:
        raise ValueError(f"Invalid {name} value: 0 vectors (expected at least 1)")
    if dim is not None and value.shape[1] != dim:
        raise ValueError(f"Invalid {name} value: vectors of dimension {value.shape[1]} "
                         f"(expected {dim}, as the other sets)")
    if not torch.isfinite(value).all():
        raise ValueError(f"Invalid {name} value: contains non-finite entries")
    if nonzero and (value.norm(dim=1) == 0).any():
        raise ValueError(f"Invalid {name} value: contains a zero vector (its cosine is undefined)")
    return value
