"""Configuration: one TOML file, validated by one pydantic model per concern.

Unknown keys are rejected and every error names its key path. Every setting has a default that
runs, so an empty file (or none) is a valid configuration. `config/driverwatch.toml` in the
repository is generated from these models (`driverwatch config default`).
"""

from __future__ import annotations

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
from driverwatch.config.speed import SpeedConfig
from driverwatch.config.vision import VisionConfig
from driverwatch.config.web import WebConfig
from driverwatch.errors import ConfigError

SYSTEM_CONFIG = Path("/etc/driverwatch/driverwatch.toml")


class Config(Section):
    """driverwatch configuration."""

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


def parse_config(data: dict, source: str = "<dict>") -> Config:
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
    return parse_config(data, str(path))


__all__ = ["Config", "ConfigError", "load_config", "parse_config", "default_config_path"]
