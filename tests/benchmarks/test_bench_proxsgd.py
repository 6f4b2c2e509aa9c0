"""The ProxSGD benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import math


def test_bench_proxsgd_quick(capsys, load_benchmark):
    results = load_benchmark("bench_proxsgd").main(quick=True)
    for ratios in results["steps_64"].values():
        assert all(math.isfinite(r) and r > 0 for r in ratios)
    inference = results["inference_0.5"]
    assert all(math.isfinite(r) and r > 0 for r in inference["speedup"])
    assert 0 < inference["flops"] < 1 and 0 < inference["params"] < 1
    assert "speed-up" in capsys.readouterr().out
