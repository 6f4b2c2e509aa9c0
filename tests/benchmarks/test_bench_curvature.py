"""The curvature benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_curvature.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_curvature", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finite(values) -> bool:
    return bool(values) and all(math.isfinite(v) and v > 0 for v in values)


@pytest.mark.slow
def test_bench_curvature_quick(capsys):
    """Runs every section on tiny problems (peers that are not installed are skipped)."""
    results = load_benchmark().main(quick=True)
    for name, ratios in results["products small MLP"].items():
        assert _finite(ratios), name
    density = results["density MNIST-1D MLP"]["ratios"]
    assert _finite(density["serial / batched (cached)"])
    assert _finite(density["serial / batched (uncached)"])
    for section in ("topk equal accuracy", "topk equal budget"):
        for name, ratios in results[section]["ratios"].items():
            assert _finite(ratios), f"{section}: {name}"
    assert "top-5" in capsys.readouterr().out
