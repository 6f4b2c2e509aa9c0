"""The curvature benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import math

import pytest


def _finite(values) -> bool:
    return bool(values) and all(math.isfinite(v) and v > 0 for v in values)


@pytest.mark.slow
def test_bench_curvature_quick(capsys, load_benchmark):
    """Runs every section on tiny problems (peers that are not installed are skipped)."""
    results = load_benchmark("bench_curvature").main(quick=True)
    for name, ratios in results["products small MLP"].items():
        assert _finite(ratios), name
    density = results["density MNIST-1D MLP"]["ratios"]
    assert _finite(density["serial / batched (cached)"])
    assert _finite(density["serial / batched (uncached)"])
    for section in ("topk equal accuracy", "topk equal budget"):
        for name, ratios in results[section]["ratios"].items():
            assert _finite(ratios), f"{section}: {name}"
    assert "top-5" in capsys.readouterr().out
