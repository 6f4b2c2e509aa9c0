"""The ProxSGD benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_proxsgd.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_proxsgd", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_proxsgd_quick(capsys):
    results = load_benchmark().main(quick=True)
    for ratios in results["steps_64"].values():
        assert all(math.isfinite(r) and r > 0 for r in ratios)
    inference = results["inference_0.5"]
    assert all(math.isfinite(r) and r > 0 for r in inference["speedup"])
    assert 0 < inference["flops"] < 1 and 0 < inference["params"] < 1
    assert "speed-up" in capsys.readouterr().out
