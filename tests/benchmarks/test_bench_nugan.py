"""The NuGAN benchmark runs in quick mode and gives finite ratios and counts (no timing
asserted)."""

from __future__ import annotations

import math


def test_bench_nugan_quick(capsys, load_benchmark):
    results = load_benchmark("bench_nugan").main(quick=True)
    assert len(results["overhead"]) == 3
    assert all(math.isfinite(r) and r > 0 for r in results["overhead"])
    assert len(results["warm"]) == len(results["cold"]) == len(results["difference"]) == 4
    assert all(1 <= count <= 60 for count in results["warm"] + results["cold"])
    assert all(math.isfinite(d) for d in results["difference"])
    out = capsys.readouterr().out
    assert "goal <= 1.5x" in out and "warm-started" in out
