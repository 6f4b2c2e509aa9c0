"""Training and gradient helpers for the adapter tests."""

import torch
import torch.nn.functional as F


def train_steps(model: torch.nn.Module, ids: torch.Tensor, steps: int = 3,
                lr: float = 1e-2) -> None:
    """``steps`` AdamW steps of next-byte loss on ``ids``, on the trainable parameters only."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        logits = model(ids[:, :-1])
        F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten()).backward()
        optimizer.step()


def gradient_norms(model: torch.nn.Module, ids: torch.Tensor) -> dict[str, float]:
    """The gradient norm of every trainable parameter after one backward pass."""
    model.zero_grad()
    logits = model(ids[:, :-1])
    F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten()).backward()
    return {name: float(p.grad.norm()) for name, p in model.named_parameters()
            if p.requires_grad}
