"""The landscape benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_landscape.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_landscape", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_landscape_quick(capsys):
    rows = load_benchmark().main(["--quick"])
    assert {row["versus"] for row in rows} >= {"loop"}
    for row in rows:
        assert all(math.isfinite(r) and r > 0 for r in row["ratios"])
    assert "grid points per second" in capsys.readouterr().out
