"""Configuration: one TOML file, validated by one pydantic model per concern.

Unknown keys are rejected and every error names its key path. Every setting has a default that
runs, so an empty file (or none) is a valid configuration. `config/driverwatch.toml` in the
repository is generated from these models (`driverwatch config default`).
"""

from __future__ import annotations

import copy
import logging
import os
import tomllib
from pathlib import Path

from pydantic import Field, ValidationError

from driverwatch.config.base import Section
from driverwatch.config.camera import CameraConfig
from driverwatch.config.chime import ChimeConfig
from driverwatch.config.daemon import DaemonConfig
from driverwatch.config.eventlog import EventLogConfig
from driverwatch.config.heart import HeartConfig
from driverwatch.config.monitor import MonitorConfig
from driverwatch.config.mqtt import MqttConfig
from driverwatch.config.privacy import PrivacyConfig
from driverwatch.config.profiles import ProfilesConfig
from driverwatch.config.speed import SpeedConfig
from driverwatch.config.vision import VisionConfig
from driverwatch.config.web import WebConfig
from driverwatch.errors import ConfigError

log = logging.getLogger(__name__)
SYSTEM_CONFIG = Path("/etc/driverwatch/driverwatch.toml")
MAX_DEPTH = 16  # the models nest 4 deep; anything far deeper is not a driverwatch config

# The config file's format version, and the keys each version renamed: (old path, new path). An
# older file is migrated on load with one warning per moved key, so an update never fails a start.
CONFIG_VERSION = 2
RENAMED: dict[int, list[tuple[str, str]]] = {
    2: [("heart.stress", "monitor.stress"),  # stress rules are the monitor's (a new port keeps calibration)
        ("chime.snooze_max_s", "monitor.alerts.snooze_max_s")],  # one snooze, the monitor's, one cap
}


class Config(Section):
    """driverwatch configuration."""

    version: int = Field(
        CONFIG_VERSION, ge=1, le=CONFIG_VERSION, title="Config version",
        description="Format version of this file. Files of an older version are migrated when loaded "
        "(renamed keys are moved, with a warning naming each).",
    )
    daemon: DaemonConfig = Field(default_factory=DaemonConfig, title="Daemon")
    camera: CameraConfig = Field(default_factory=CameraConfig, title="Camera")
    vision: VisionConfig = Field(default_factory=VisionConfig, title="Vision")
    monitor: MonitorConfig = Field(default_factory=MonitorConfig, title="Monitor")
    heart: HeartConfig = Field(default_factory=HeartConfig, title="Heart sensor")
    speed: SpeedConfig = Field(default_factory=SpeedConfig, title="Vehicle speed")
    chime: ChimeConfig = Field(default_factory=ChimeConfig, title="Chimes")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, title="MQTT")
    log: EventLogConfig = Field(default_factory=EventLogConfig, title="Event log")
    web: WebConfig = Field(default_factory=WebConfig, title="Live page")
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig, title="Privacy")
    profiles: ProfilesConfig = Field(default_factory=ProfilesConfig, title="Driver profiles")


def default_config_path() -> Path | None:
    """$DRIVERWATCH_CONFIG, else the system file if it exists, else None (built-in defaults)."""
    env = os.environ.get("DRIVERWATCH_CONFIG")
    if env:
        return Path(env)
    return SYSTEM_CONFIG if SYSTEM_CONFIG.exists() else None


def format_validation_error(err: ValidationError, source: str) -> str:
    parts = []
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"]) or "(root)"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        parts.append(f"{path}: {msg}")
    return f"invalid config {source}: " + "; ".join(parts)


def _depth(v, limit: int, level: int = 0) -> int:
    if level > limit or not isinstance(v, dict | list):
        return level
    items = v.values() if isinstance(v, dict) else v
    return max((_depth(x, limit, level + 1) for x in items), default=level)


def migrate(data: dict, source: str = "<dict>") -> dict:
    """Move the keys renamed since the file's `version` to their new paths (a copy)."""
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        return data  # validation names the bad value
    data = copy.deepcopy(data)
    for v in sorted(k for k in RENAMED if k > version):
        for old, new in RENAMED[v]:
            *parents, leaf = old.split(".")
            node = data
            for key in parents:
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict) or leaf not in node:
                continue
            *nparents, nleaf = new.split(".")
            target = data
            for key in nparents:
                target = target.setdefault(key, {})
                if not isinstance(target, dict):
                    raise ConfigError(f"invalid config {source}: {key}: expected a table")
            if nleaf in target:
                raise ConfigError(f"invalid config {source}: both {old} and its new name {new} are set")
            target[nleaf] = node.pop(leaf)
            log.warning("config %s: %s is now %s (config version %d); please update the file", source, old, new, v)
        data["version"] = v
    return data


def parse_config(data: dict, source: str = "<dict>") -> Config:
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise ConfigError(f"invalid config {source}: nested deeper than {MAX_DEPTH} levels")
    data = migrate(data, source)
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a config file; None means `default_config_path()` or built-in defaults."""
    path = Path(path) if path is not None else default_config_path()
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config {path}: {err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"invalid config {path}: not valid TOML: {err}") from None
    except RecursionError:  # tomllib recurses per nesting level
        raise ConfigError(f"invalid config {path}: nested too deeply (at most {MAX_DEPTH} levels)") from None
    return parse_config(data, str(path))


__all__ = ["CONFIG_VERSION", "Config", "ConfigError", "load_config", "migrate", "parse_config", "default_config_path"]
