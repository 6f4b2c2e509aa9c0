"""The Sequential2D benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import math


def test_bench_sequential2d_quick(capsys, load_benchmark):
    results = load_benchmark("bench_sequential2d").main(quick=True, threads=None)
    assert set(results) == {"small"}
    for case in ("mlp", "skip"):
        res = results["small"][case]
        assert len(res["ratios"]) == 3
        assert all(math.isfinite(r) and r > 0 for r in res["ratios"])
        median, q1, q3 = res["ratio"]
        assert q1 <= median <= q3 and res["reference_ms"] > 0
    out = capsys.readouterr().out
    assert "MLP vs nn.Sequential" in out and "skip MLP vs hand-written" in out
