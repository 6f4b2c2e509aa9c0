"""The preconditioner benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import math


def _finite(values) -> bool:
    return bool(values) and all(math.isfinite(v) and v > 0 for v in values)


def test_bench_precond_quick(capsys, load_benchmark):
    """Both refresh sizes, every optimizer's step (and the peers', when installed)."""
    results = load_benchmark("bench_precond").main(["--quick"])
    for size, refresh in results["refresh"].items():
        for name, speed_ups in refresh["speed-ups"].items():
            assert _finite(speed_ups), f"{size}: {name}"
        assert refresh["warm start residual"] < 1
        assert refresh["residuals"]["Newton-Schulz to tol"] < refresh["warm start residual"]
    names = {row["optimizer"] for row in results["steps"]}
    assert {"SGD", "AdamW", "SGD-PH", "KFAC", "NKFAC", "AdamR"} <= names
    for row in results["steps"]:
        assert _finite(row["ratios"]), row["optimizer"]
    for row in results["peers"]:
        assert _finite(row["ratios"]), row["peer"]
    assert "whole step" in capsys.readouterr().out
