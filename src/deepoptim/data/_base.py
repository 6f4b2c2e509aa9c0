"""The container every classification data set is returned in."""

from __future__ import annotations

import dataclasses

import torch

from deepoptim._checks import check_int_at_least


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ClassificationData:
    """A supervised classification problem held as four tensors.

    ``x_train``/``x_test`` are floating point with one sample per row (any trailing shape,
    the same for both); ``y_train``/``y_test`` are ``int64`` class indices in
    ``[0, num_classes)``. Instances are immutable; :meth:`to` returns a moved copy.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if not x.is_floating_point():
                raise ValueError(
                    f"Invalid x_{split} value: a {x.dtype} tensor (expected a floating point dtype)"
                )
            if y.dtype != torch.int64 or y.dim() != 1:
                raise ValueError(
                    f"Invalid y_{split} value: a {y.dtype} tensor of shape {tuple(y.shape)} "
                    "(expected a 1-D int64 tensor)"
                )
            if len(x) != len(y):
                raise ValueError(
                    f"Invalid y_{split} value: {len(y)} samples "
                    f"(expected {len(x)}, as many as x_{split})"
                )
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"Invalid x_test value: samples of shape {tuple(self.x_test.shape[1:])} "
                f"(expected {tuple(self.x_train.shape[1:])}, as in x_train)"
            )
        check_int_at_least("num_classes", self.num_classes, 1)

    @property
    def num_train(self) -> int:
        """Number of training samples."""
        return len(self.y_train)

    @property
    def num_test(self) -> int:
        """Number of test samples."""
        return len(self.y_test)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample (without the batch dimension)."""
        return tuple(self.x_train.shape[1:])

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> ClassificationData:
        """Return a copy whose tensors live on ``device``; floating tensors are cast to ``dtype``.

        ``None`` keeps the current device or dtype. Integer tensors (the labels) stay ``int64``.
        """
        if dtype is not None and not dtype.is_floating_point:
            raise ValueError(f"Invalid dtype value: {dtype} (expected a floating point dtype)")
        moved = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, torch.Tensor):
                cast = dtype if value.is_floating_point() else None
                moved[field.name] = value.to(device=device, dtype=cast)
        return dataclasses.replace(self, **moved)

    def __repr__(self) -> str:
        parts = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            shown = tuple(value.shape) if isinstance(value, torch.Tensor) else repr(value)
            parts.append(f"{field.name}={shown}")
        parts += [f"dtype={self.x_train.dtype}", f"device={self.x_train.device}"]
        return f"{type(self).__name__}({', '.join(parts)})"
