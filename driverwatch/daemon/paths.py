"""Where the daemon keeps its state and logs: systemd's directories when run as the service,
per-user XDG directories on a bench."""

from __future__ import annotations

import os
from pathlib import Path


def _first(env: str) -> Path | None:
    v = os.environ.get(env)
    return Path(v.split(":")[0]) if v else None


def state_dir(cfg) -> Path:
    if cfg.daemon.state_dir:
        return Path(cfg.daemon.state_dir)
    sysd = _first("STATE_DIRECTORY")
    if sysd:
        return sysd
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "driverwatch"


def log_dir(cfg) -> Path:
    if cfg.daemon.log_dir:
        return Path(cfg.daemon.log_dir)
    return _first("LOGS_DIRECTORY") or state_dir(cfg) / "log"
