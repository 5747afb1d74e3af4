"""Helpers shared by the tests: a free loopback port, polling, the CLI as a process, JSONL files."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout: float = 10.0, step: float = 0.05):
    """Poll `pred` until it returns something truthy (returned) or `timeout` s pass (its last value)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def run_cli(*args, timeout: float = 60, check: bool = False, **kw) -> subprocess.CompletedProcess:
    """`python -m driverwatch ARGS` (paths and numbers as strings); check=True asserts exit status 0."""
    proc = subprocess.run([sys.executable, "-m", "driverwatch", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def read_jsonl(path: str | Path) -> list[dict]:
    """The complete lines of a JSONL file a process may still be writing ([] while it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.strip() and line.endswith("\n"):
            rows.append(json.loads(line))
    return rows


def live_config(tmp_path: Path, vehicle: str, camera, models_dir, broker_port: int, calibration_s: float,
                chime: str = 'output = "none"', mqtt: str = "") -> Path:
    """A config for `driverwatch run` against a test broker: files under tmp_path, a short calibration."""
    cfg = tmp_path / "driverwatch.toml"
    cfg.write_text(
        f'[daemon]\nvehicle_id = "{vehicle}"\nstate_dir = "{tmp_path / "state"}"\nlog_dir = "{tmp_path / "log"}"\n'
        f'[camera]\ndevice = "{camera}"\n'
        f'[vision]\nmodels_dir = "{models_dir}"\n'
        f'[monitor.calibration]\ncalibration_s = {calibration_s}\n'
        f'[chime]\n{chime}\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\n{mqtt}'
    )
    return cfg
