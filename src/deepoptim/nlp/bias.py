"""Association tests of embedding bias: WEAT/SEAT (effect size, permutation p-value) and MAC.

WEAT (Caliskan et al. 2017) compares two equal-size sets of target embeddings X, Y (e.g.
career / family words) by their association with two attribute sets A, B (male / female
names); SEAT (May et al. 2019) is the same test on sentence embeddings of the words in
templates ("This is X."). The caller embeds; everything here works on tensors of vectors, one
per row, in float64. With ``cos`` the cosine similarity:

    s(w, A, B) = mean_{a in A} cos(w, a) - mean_{b in B} cos(w, b)
    d(X, Y, A, B) = (mean_{x in X} s(x) - mean_{y in Y} s(y)) / std_{w in X u Y} s(w)

with the sample standard deviation (ddof=1) over all target vectors, as in May et al.
Sign: ``d > 0`` when X is closer to A (and Y to B) than the other way round; swapping X and Y,
or A and B, flips the sign; |d| <= 2 in theory, and "large" is above 0.8.

The one-sided permutation p-value of S(X, Y) = sum_x s(x) - sum_y s(y) is the fraction of the
equal-size partitions (X_i, Y_i) of X u Y with S(X_i, Y_i) > S(X, Y) (strictly; partitions
whose statistic equals the observed one up to rounding, ~1e-12 relative, do not count). When
there are at most ``exact_limit`` partitions (binom(2n, n): n <= 9 for the default 100,000),
all of them are enumerated, the observed one included; otherwise ``samples`` partitions are
drawn uniformly at random from a ``torch.Generator`` seeded with ``seed`` (the global RNG is
untouched), and the estimate has standard error sqrt(p (1 - p) / samples).
:class:`WeatResult` records which of the two was done.

MAC (Manzini et al. 2019) is the mean over targets t and attribute sets A_j of the mean cosine
distance ``1 - cos(t, a)`` over a in A_j: 1 for orthogonal vectors, 0 for identical ones;
the authors read a larger MAC as less bias.

Bias scores over several tests (Kenneweg et al. 2023: the mean |d| over the gender tests) are
the caller's to aggregate.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from deepoptim._checks import check_int_at_least

from ._inputs import check_vectors

__all__ = ["WeatResult", "association", "effect_size", "mac", "weat"]

_TIE_TOLERANCE = 1e-12  # relative to sum |s|: a statistic this close to the observed one ties
_CHUNK = 10_000  # partitions evaluated at once


@dataclasses.dataclass(frozen=True)
class WeatResult:
    """A WEAT/SEAT test: the effect size ``d``, its one-sided ``p_value``, whether the p-value
    is ``exact`` (all partitions enumerated) or sampled, and ``partitions``, how many it used."""

    effect_size: float
    p_value: float
    exact: bool
    partitions: int


def _cosines(words: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """The (len(words), len(attributes)) cosine similarities in float64."""
    words, attributes = F.normalize(words.double(), dim=1), F.normalize(attributes.double(), dim=1)
    return words @ attributes.T


def _check_sets(X: torch.Tensor, Y: torch.Tensor, A: torch.Tensor, B: torch.Tensor) -> None:
    dim = check_vectors("X", X, nonzero=True).shape[1]
    for name, value in (("Y", Y), ("A", A), ("B", B)):
        check_vectors(name, value, dim, nonzero=True)
    if len(X) != len(Y):
        raise ValueError(f"Invalid Y value: {len(Y)} vectors (expected {len(X)}, as many as X)")


def _associations(X: torch.Tensor, Y: torch.Tensor, A: torch.Tensor, B: torch.Tensor
                  ) -> torch.Tensor:
    """s(w, A, B) for the rows of X followed by those of Y (unchecked)."""
    words = torch.cat([X, Y])
    return _cosines(words, A).mean(dim=1) - _cosines(words, B).mean(dim=1)


def association(words: torch.Tensor, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``s(w, A, B)`` for every row ``w`` of ``words``: a float64 vector of ``len(words)``."""
    dim = check_vectors("words", words, nonzero=True).shape[1]
    check_vectors("A", A, dim, nonzero=True)
    check_vectors("B", B, dim, nonzero=True)
    return _cosines(words, A).mean(dim=1) - _cosines(words, B).mean(dim=1)


def _effect_size(s: torch.Tensor, n: int) -> float:
    spread = s.std(correction=1)
    if spread == 0:
        raise ValueError("Invalid X value: every target has the same association s(w, A, B) "
                         "(the effect size is undefined)")
    return float((s[:n].mean() - s[n:].mean()) / spread)


def effect_size(X: torch.Tensor, Y: torch.Tensor, A: torch.Tensor, B: torch.Tensor) -> float:
    """The WEAT effect size ``d(X, Y, A, B)`` (positive: X is closer to A, Y to B).

    X and Y hold the same number of target vectors; A and B at least one attribute vector
    each, all of one dimension and none zero.
    """
    _check_sets(X, Y, A, B)
    return _effect_size(_associations(X, Y, A, B), len(X))


def _exceeding(s: torch.Tensor, subsets: torch.Tensor, observed: torch.Tensor) -> int:
    """How many partitions, given by the indices of their first set, have S > observed."""
    statistic = 2 * s[subsets].sum(dim=1) - s.sum()
    return int((statistic - observed > _TIE_TOLERANCE * s.abs().sum()).sum())


def _p_value(s: torch.Tensor, n: int, exact_limit: int, samples: int, seed: int
             ) -> tuple[float, bool, int]:
    observed = 2 * s[:n].sum() - s.sum()
    total = math.comb(2 * n, n)
    count = 0
    if total <= exact_limit:
        combinations = itertools.combinations(range(2 * n), n)
        while chunk := list(itertools.islice(combinations, _CHUNK)):
            count += _exceeding(s, torch.tensor(chunk), observed)
        return count / total, True, total
    generator = torch.Generator().manual_seed(seed)
    for start in range(0, samples, _CHUNK):
        keys = torch.rand(min(_CHUNK, samples - start), 2 * n, generator=generator,
                          dtype=torch.float64)
        count += _exceeding(s, keys.argsort(dim=1)[:, :n], observed)
    return count / samples, False, samples


def weat(X: torch.Tensor, Y: torch.Tensor, A: torch.Tensor, B: torch.Tensor, *,
         exact_limit: int = 100_000, samples: int = 100_000, seed: int = 0) -> WeatResult:
    """The WEAT/SEAT test of targets X, Y against attributes A, B: ``d`` and its p-value.

    Args:
        X, Y: target vectors, one per row, as many in Y as in X.
        A, B: attribute vectors (any sizes), of the same dimension; no vector may be zero.
        exact_limit: enumerate every partition when there are at most this many
            (``math.comb(2 * len(X), len(X))``), sample otherwise.
        samples: the number of random partitions of the sampled test.
        seed: seeds the sampled test.
    """
    _check_sets(X, Y, A, B)
    check_int_at_least("exact_limit", exact_limit, 0)
    check_int_at_least("samples", samples, 1)
    check_int_at_least("seed", seed, 0)
    s = _associations(X, Y, A, B)
    d = _effect_size(s, len(X))
    p, exact, partitions = _p_value(s, len(X), exact_limit, samples, seed)
    return WeatResult(effect_size=d, p_value=p, exact=exact, partitions=partitions)


def mac(targets: torch.Tensor, attribute_sets: Sequence[torch.Tensor]) -> float:
    """Mean average cosine distance of ``targets`` to the ``attribute_sets`` (Manzini et al.).

    The mean over the rows t of ``targets`` and the sets A_j of mean_{a in A_j} (1 - cos(t, a)).
    """
    dim = check_vectors("targets", targets, nonzero=True).shape[1]
    if isinstance(attribute_sets, torch.Tensor) or not isinstance(attribute_sets, Sequence):
        raise TypeError("attribute_sets must be a sequence of Tensors, "
                        f"got {type(attribute_sets).__name__}")
    if len(attribute_sets) == 0:
        raise ValueError("Invalid attribute_sets value: [] (expected at least one set)")
    for j, attributes in enumerate(attribute_sets):
        check_vectors(f"attribute_sets[{j}]", attributes, dim, nonzero=True)
    distances = [1 - _cosines(targets, attributes).mean(dim=1) for attributes in attribute_sets]
    return float(torch.stack(distances).mean())
