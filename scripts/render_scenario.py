#!/usr/bin/env python3
"""Render scripted driving scenarios to video + ground truth: a thin wrapper over `driverwatch render`
that runs from a checkout without installing the package.

  scripts/render_scenario.py --list
  scripts/render_scenario.py microsleep yawns -o out/ --fps 15 --look ir --size 320x240
  scripts/render_scenario.py all -o out/
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from driverwatch.cli import main  # noqa: E402


def run(argv: list[str]) -> int:
    """`driverwatch [-c CONFIG] render ARGS`: the global --config (the monitor's calibration time
    sets where each script starts) goes before the sub-command."""
    glob, rest, it = [], [], iter(argv)
    for a in it:
        if a in ("-c", "--config"):
            glob += [a, next(it, "")]
        elif a.startswith("--config="):
            glob.append(a)
        else:
            rest.append(a)
    return main([*glob, "render", *rest])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
