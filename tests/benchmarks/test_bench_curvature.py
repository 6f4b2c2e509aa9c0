"""The curvature benchmark runs in quick mode and gives finite ratios and true errors (no
timing asserted)."""

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
    assert _finite(density["serial / batched, cached (the default)"])
    assert _finite(density["serial / batched, uncached"])
    assert _finite(density["loop / vmap batched, cached"])
    assert _finite(density["serial / batched, cached, products alone"])
    assert _finite(density["ours batched / its products alone (bookkeeping)"])
    for problem in ("small MLP", "MNIST-1D MLP"):
        topk = results[f"topk equal accuracy {problem}"]
        assert _finite(topk["ratios"]["ours uncached / ours (caching)"])
        for name, ratios in topk["ratios"].items():
            assert _finite(ratios), f"{problem}: {name}"
        # each peer / ours ratio is, round by round, products x per product x around them
        for name, split in topk["split"].items():
            assert split["products"] > 0
            assert _finite(split["per product"]) and _finite(split["around the products"])
            factors = [split["products"] * p * a for p, a in zip(
                split["per product"], split["around the products"], strict=True)]
            assert factors == pytest.approx(topk["ratios"][name], rel=1e-9), name
        assert _finite(topk["share in products"]["ours, default tol"])
        # every timed method reached the target, measured against the float64 truth
        calibrated = [name for name in topk["errors"] if name != "ours, default tol"]
        assert all(topk["errors"][name] <= 1e-4 for name in calibrated)
        assert all(topk["matvecs"][name] > 0 for name in topk["errors"])
    assert "top-5" in capsys.readouterr().out
