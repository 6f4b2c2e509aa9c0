"""The line-search benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_linesearch.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_linesearch", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_linesearch_quick(capsys):
    rows = load_benchmark().main(["--quick", "--steps", "20", "--block", "10"])
    assert {row["optimizer"] for row in rows} == {"Adam", "SLS", "AdamSLS", "AdamSLS-exact",
                                                  "KenSLS", "SaLSa", "PLASLS"}
    for row in rows:
        assert all(math.isfinite(row[key]) for key in ("ratio", "fwd", "bwd", "floor",
                                                       "vs_floor"))
        assert row["bwd"] == 1.0
        assert row["fwd"] >= 1.0
    assert "vs floor" in capsys.readouterr().out
