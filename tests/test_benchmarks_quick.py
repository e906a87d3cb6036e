"""Each benchmark's ``--quick`` mode runs to completion and reports its figures (issue 7).

Benchmarks are not tests: nothing here asserts a timing or a target. It only keeps the scripts
from rotting: they must run, print their table, and report every figure the docs quote.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXPECTED_FIGURES = {
    "model_conversion": ["list_structure_per_s", "list_loads_per_s", "get_structure_per_s"],
    "sdk_overhead": [
        "bare_req_per_s",
        "sdk_req_per_s",
        "ratio_best",
        "transport_ratio_best",
        "cpu_ratio",
    ],
    "memory_streaming": ["stream_1000_growth_mb", "collect_5000_growth_mb"],
    "delivery_cost": ["baseline_calls_per_1000", "ours_calls_per_1000", "ratio"],
    "rate_limited_delivery": [
        "baseline_simulated_minutes",
        "ours_simulated_minutes",
        "ours_rate_fraction_of_limit",
    ],
    "receiver_throughput": ["events_per_s", "p50_ms", "p99_ms"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_quick_mode_completes_and_reports(name: str, tmp_path: Path) -> None:
    out_file = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--quick", "--json", str(out_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "==" in done.stdout, done.stdout
    assert "target:" in done.stdout, done.stdout
    report = json.loads(out_file.read_text())
    assert report["name"] == name
    assert report["quick"] is True
    assert report["rows"], "the table has no rows"
    for figure in EXPECTED_FIGURES[name]:
        value = report["figures"][figure]
        assert isinstance(value, int | float), (figure, value)
        assert math.isfinite(value), (figure, value)
    assert all(isinstance(target["met"], bool) for target in report["targets"])
