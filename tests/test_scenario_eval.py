"""The evaluator's CI subset end to end: rendered scenarios -> `driverwatch replay` -> verdicts.

Short calibration (10 s) and 10 fps keep it fast; the rules and thresholds are the shipped defaults."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ci_subset_meets_every_must_and_must_not(tmp_path, models_dir):
    cfg = tmp_path / "driverwatch.toml"
    cfg.write_text(f'[vision]\nmodels_dir = "{models_dir}"\n\n[monitor.calibration]\ncalibration_s = 10.0\n')
    report = tmp_path / "evaluation.md"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "evaluate.py"), "--subset", "ci", "--fps", "10", "--jobs", "2",
         "-c", str(cfg), "-o", str(report)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    text = report.read_text() if report.exists() else ""
    assert proc.returncode == 0, f"{proc.stderr[-1500:]}\n{text[:3000]}"
    verdicts = dict(re.findall(r"^\| (\w+) \| (PASS|\*\*FAIL\*\*) \|", text, re.M))
    assert verdicts == {"normal": "PASS", "microsleep": "PASS", "footwell_glance": "PASS", "yawns": "PASS"}
    # what each scenario must raise was raised, where the script put it
    kinds = {row[0]: row[1:] for row in re.findall(r"^\| (\w+) \| (\d+) \| (\d+) % \| (\d+) % \|", text, re.M)}
    assert kinds["microsleep"] == ("1", "100", "100")
    assert kinds["long_distraction"] == ("1", "100", "100")
    assert kinds["yawn"] == ("3", "100", "100")
