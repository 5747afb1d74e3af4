"""Where driverwatch keeps its files (a ground-floor module, used by every stage): systemd's
directories when run as the service, per-user XDG directories on a bench."""

from __future__ import annotations

import os
from pathlib import Path


def _first(env: str) -> Path | None:
    v = os.environ.get(env)
    return Path(v.split(":")[0]) if v else None


def state_dir(cfg) -> Path:
    if cfg.daemon.state_dir:
        return Path(cfg.daemon.state_dir).expanduser()
    sysd = _first("STATE_DIRECTORY")
    if sysd:
        return sysd
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "driverwatch"


def log_dir(cfg) -> Path:
    if cfg.daemon.log_dir:
        return Path(cfg.daemon.log_dir).expanduser()
    return _first("LOGS_DIRECTORY") or state_dir(cfg) / "log"


# -- the other places driverwatch reads or writes (one copy of the environment handling) ----------
def systemd_state_dir() -> Path | None:
    """$STATE_DIRECTORY (systemd StateDirectory=; the first if several), else None."""
    return _first("STATE_DIRECTORY")


def xdg_dir(env: str, default: str) -> Path:
    """$<env> (e.g. XDG_DATA_HOME), else ~/<default>, with driverwatch/ appended."""
    return Path(os.environ.get(env) or Path.home() / default) / "driverwatch"


def models_dir(configured: str | Path | None = None) -> Path:
    """The face models: `configured`, else $STATE_DIRECTORY/models (the service), else
    $XDG_DATA_HOME/driverwatch/models (~/.local/share/driverwatch/models)."""
    if configured:
        return Path(configured).expanduser()
    sysd = systemd_state_dir()
    return sysd / "models" if sysd else xdg_dir("XDG_DATA_HOME", ".local/share") / "models"


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/driverwatch (~/.cache/driverwatch): files that can be made again."""
    return xdg_dir("XDG_CACHE_HOME", ".cache")


def under_state(p: str | Path, state: Path | None = None) -> Path:
    """A configured file path: absolute as given (after ~), relative under `state` (the daemon's
    state directory), else under $STATE_DIRECTORY, else the working directory."""
    p = Path(p).expanduser()
    if p.is_absolute():
        return p
    base = state or systemd_state_dir()
    return base / p if base else p


def credential_path(p: str | Path) -> Path | None:
    """A relative name under $CREDENTIALS_DIRECTORY (systemd LoadCredential=) if that file exists."""
    cred = os.environ.get("CREDENTIALS_DIRECTORY")
    p = Path(p)
    if cred and not p.is_absolute() and (Path(cred) / p).exists():
        return Path(cred) / p
    return None
