"""Freezing a base model: every parameter off but a task head's (shared by every arm)."""

from __future__ import annotations

from torch import nn


def check_module(name: str, value: object, optional: bool = False) -> None:
    """Require an ``nn.Module`` (or ``None`` when ``optional``)."""
    if not (isinstance(value, nn.Module) or (optional and value is None)):
        raise TypeError(f"{name} must be an nn.Module{' or None' if optional else ''}, got "
                        f"{type(value).__name__}")


def freeze(model: nn.Module, head: nn.Module | None = None) -> nn.Module:
    """Turn ``requires_grad`` off for every parameter of ``model`` but those of ``head`` (a
    task head inside it, trained with every arm); returns ``model``."""
    check_module("model", model)
    check_module("head", head, optional=True)
    model.requires_grad_(False)
    if head is not None:
        head.requires_grad_(True)
    return model
