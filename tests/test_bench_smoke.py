"""The benchmark harness runs end to end (a few seconds of each target); it asserts no speed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway_process import ROOT


def row_of(table: str, target: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"| {target} |"))


def test_bench_smoke_mode_reports_every_target(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        message = "wrk is missing; install Debian's package of that name (make test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path / "table.md"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    table = out.read_text()
    for target in (
        "upstream, direct",
        "raw byte relay (floor)",
        "seed-article gateway",
        "this gateway, openai",
        "this gateway, anthropic",
    ):
        row = row_of(table, target)
        assert row.rstrip().endswith("| 0 |"), row  # no errors
    assert "20 concurrent slow streams" in table and ": 0 errors" in table
    for target in ("the provider, direct", "this gateway, this machine"):  # the open-loop scenario
        row = row_of(table, target)
        assert "| 100.0% |" in row, row
