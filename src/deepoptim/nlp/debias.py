"""Debiasing sentence embedders: the counterfactual pair loss, and Sent-Debias as the baseline.

Pair loss (Kenneweg, Schröder, Schulz, Hammer, ICPRAM 2023). For a batch of sentences x_i and
their counterfactuals x'_i (:func:`deepoptim.nlp.counterfactual_pairs`: "he" swapped for "she"
and so on), with e the embedder,

    L_deb = mean_{i, k} |e(x_i)_k - e(x'_i)_k|,

the mean absolute difference of the pair embeddings (their MAE; zero exactly when every pair
is embedded identically). The authors average it over the attribute sets (gender, race,
religion) and take it as a separate optimizer step, interleaved with the task loss and with
the classification head frozen; composing those steps is the caller's.

Sent-Debias (Liang et al. 2020). Each definitional set D_j holds the embeddings of one
sentence with each word of a set substituted (the sentence with "he" and with "she"). With
mu_j the mean of D_j, the bias subspace is spanned by the top ``k`` principal directions of
the centred vectors {w - mu_j : w in D_j, all j} (the right singular vectors of their stacked
matrix, computed in float64), and an embedding h is debiased by removing its projection,
h - V^T V h. The embedder itself is not changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from deepoptim._checks import check_int_at_least

from ._inputs import check_vectors

__all__ = ["bias_subspace", "debias_loss", "remove_subspace"]

_RANK_TOLERANCE = 1e-12  # singular values below this, relative to the largest, count as zero
_ORTHONORMAL_TOLERANCE = 1e-4


def debias_loss(embeddings: torch.Tensor, counterfactuals: torch.Tensor) -> torch.Tensor:
    """The mean absolute difference of the (batch, dim) embeddings of sentences and of their
    counterfactuals, row i with row i: a differentiable scalar, 0 for identical pairs."""
    for name, value in (("embeddings", embeddings), ("counterfactuals", counterfactuals)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a Tensor, got {type(value).__name__}")
        if value.dim() != 2 or not value.is_floating_point() or value.numel() == 0:
            raise ValueError(f"Invalid {name} value: a {value.dtype} tensor of shape "
                             f"{tuple(value.shape)} (expected a non-empty 2-D floating point "
                             "tensor, one embedding per row)")
    if counterfactuals.shape != embeddings.shape:
        raise ValueError(f"Invalid counterfactuals value: shape {tuple(counterfactuals.shape)} "
                         f"(expected {tuple(embeddings.shape)}, as embeddings)")
    return (embeddings - counterfactuals).abs().mean()


def bias_subspace(sets: torch.Tensor | Sequence[torch.Tensor], k: int = 1) -> torch.Tensor:
    """The Sent-Debias bias subspace: a (k, dim) tensor with orthonormal rows.

    Args:
        sets: the definitional sets, each a (size, dim) tensor of at least 2 embeddings (the
            sizes may differ), or a (sets, size, dim) tensor of equal-size sets, e.g. the
            (n, 2, dim) embeddings of n counterfactual pairs.
        k: the dimension of the subspace; the centred embeddings need rank >= k.
    """
    if isinstance(sets, torch.Tensor):
        if sets.dim() != 3:
            raise ValueError(f"Invalid sets value: a tensor of shape {tuple(sets.shape)} "
                             "(expected (sets, size, dim))")
        sets = list(sets.unbind(0))
    elif not isinstance(sets, Sequence):
        raise TypeError(f"sets must be a Tensor or a sequence of Tensors, "
                        f"got {type(sets).__name__}")
    if len(sets) == 0:
        raise ValueError("Invalid sets value: no sets (expected at least one)")
    dim = check_vectors("sets[0]", sets[0]).shape[1]
    for j, members in enumerate(sets):
        check_vectors(f"sets[{j}]", members, dim)
        if len(members) < 2:
            raise ValueError(f"Invalid sets[{j}] value: {len(members)} embedding "
                             "(expected at least 2)")
    check_int_at_least("k", k, 1)
    if k > dim:
        raise ValueError(f"Invalid k value: {k} (expected k <= {dim}, the dimension)")
    centred = torch.cat([members.double() - members.double().mean(dim=0) for members in sets])
    _, singular, directions = torch.linalg.svd(centred, full_matrices=False)
    if len(singular) < k or singular[k - 1] <= _RANK_TOLERANCE * singular[0]:
        rank = int((singular > _RANK_TOLERANCE * singular[0]).sum())
        raise ValueError(f"Invalid k value: {k} (the centred embeddings have rank {rank})")
    return directions[:k].to(sets[0].dtype)


def remove_subspace(embeddings: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """``embeddings`` (one per row) minus their projections on the rows of ``directions``,
    which must be orthonormal (as :func:`bias_subspace` returns them)."""
    dim = check_vectors("embeddings", embeddings).shape[1]
    check_vectors("directions", directions, dim)
    basis = directions.to(embeddings.dtype)
    identity = torch.eye(len(basis), dtype=basis.dtype, device=basis.device)
    error = float((basis @ basis.T - identity).abs().max())
    if error > _ORTHONORMAL_TOLERANCE:
        raise ValueError(f"Invalid directions value: rows that are not orthonormal "
                         f"(max |V V^T - I| = {error:.3g})")
    return embeddings - (embeddings @ basis.T) @ basis
