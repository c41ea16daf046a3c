"""benchmarks/reliability_report.py's quick path, with tiny counts, through its main(): it runs
and says "all 0", and a violation the oracle sees makes it fail with the seed and how to rerun it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import engine_fixtures  # noqa: E402
import reliability_report  # noqa: E402
from engine_fixtures import Violation  # noqa: E402

TINY = [
    "--seeds",
    "1",
    "--first-seed",
    "3",
    "--steps",
    "4",
    "--workers",
    "1",
    "--streamed",
    "1",
    "--kills",
    "1",
    "--rounds",
    "0",
]


def test_tiny_report_runs_every_kind_and_holds(capsys: pytest.CaptureFixture[str]) -> None:
    assert reliability_report.main(TINY) == 0
    out = capsys.readouterr().out
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line.startswith(("fault-scenario", "kill", "streamed"))
    }
    assert rows["fault-scenario"][2:4] == ["1", "5"]  # 1 seed run, its 4 steps + the final cycle
    assert rows["kill"][3] == "1"
    assert rows["streamed"][4] == "1" and rows["streamed"][7:9] == ["0", "0"]  # 1 run; no duplicate, none missed
    assert "all 0: the contract held" in out


def test_a_violation_the_oracle_sees_fails_the_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = engine_fixtures.Oracle.violations

    def planted(self: engine_fixtures.Oracle, final: bool) -> list[Violation]:
        return [*seen(self, final), Violation("duplicate", 1, "planted: more than one project for 006PLANTED")]

    monkeypatch.setattr(engine_fixtures.Oracle, "violations", planted)
    assert reliability_report.main([*TINY[:-6], "--streamed", "0", "--kills", "0", "--rounds", "0"]) == 1
    out = capsys.readouterr().out
    scenario_row = next(line.split() for line in out.splitlines() if line.startswith("fault-scenario"))
    assert scenario_row[5] == "1"  # the duplicate column
    assert "seed 3 (trigger" in out and "planted" in out
    assert "--scenario-seeds=3" in out and "BIGSYNC_SCENARIO_STEPS=4" in out
