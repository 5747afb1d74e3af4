"""Settings of the fleet-side tools (`driverwatch fleet ingest|report`), which run on a server, not
in a vehicle. They come from an optional TOML file (`--settings fleet.toml`, sections [mqtt],
[database], [ingest]) and command-line flags, which win. Unknown keys are rejected.
"""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from driverwatch.errors import ConfigError

_STRICT = ConfigDict(extra="forbid", validate_assignment=True)


class FleetMqtt(BaseModel):
    model_config = _STRICT
    host: str = Field("127.0.0.1", min_length=1, description="Broker host (any node of a cluster, or its load balancer).")
    port: int = Field(1883, ge=1, le=65535, description="Broker TCP port.")
    username: str | None = Field(None, description="Broker user name; empty = anonymous.")
    password_file: Path | None = Field(None, description="File whose first line is the broker password.")
    tls: bool = Field(False, description="Connect with TLS (system CAs unless `ca_file`).")
    ca_file: Path | None = Field(None, description="CA bundle for the broker's certificate.")
    topic_root: str = Field("driverwatch", min_length=1, description="Vehicles publish under <topic_root>/<vehicle_id>/.")
    group: str = Field("driverwatch-fleet", min_length=1, max_length=64,
                       description="Shared-subscription group: every consumer of one group gets a share of the messages.")
    client_id: str = Field(default_factory=lambda: f"driverwatch-fleet-{socket.gethostname()}", min_length=1,
                           max_length=128,
                           description="Stable, unique per consumer: the broker keeps this id's session (its "
                           "unacknowledged share) across restarts.")
    session_expiry_s: int = Field(86400, ge=1, le=4294967295,
                                  description="MQTT 5 session expiry: how long the broker keeps a vanished consumer's "
                                  "session and queued share for it. Must cover the longest consumer outage.")
    keepalive: int = Field(30, ge=5, le=3600, description="Seconds between pings when idle.")
    receive_maximum: int = Field(1000, ge=1, le=65535,
                                 description="Unacknowledged messages the broker may send this consumer (MQTT 5 "
                                 "Receive Maximum); the broker's own limit may be lower (mosquitto: max_inflight_messages).")

    @field_validator("topic_root", "group")
    @classmethod
    def _no_wildcards(cls, v: str) -> str:
        if any(c in v for c in "#+"):
            raise ValueError("must not contain MQTT wildcards (# or +)")
        return v.strip("/")


class FleetDatabase(BaseModel):
    model_config = _STRICT
    dsn: str = Field("", description="libpq connection string or URI; empty = the PG* environment variables "
                     "(PGHOST, PGUSER, PGPASSFILE, PGSSLMODE, ...).")
    connect_timeout_s: int = Field(10, ge=1, le=600, description="Timeout of one connection attempt.")


class FleetIngest(BaseModel):
    model_config = _STRICT
    batch_size: int = Field(500, ge=1, le=10000, description="Most messages written in one transaction.")
    batch_linger_ms: float = Field(20.0, ge=0, le=5000,
                                   description="How long a batch waits for more messages once the queue is empty.")
    retry_max_s: float = Field(10.0, gt=0, le=600, description="Longest wait between database reconnection attempts.")
    status_interval_s: float = Field(60.0, ge=1, description="Seconds between two progress lines in the log.")


class FleetSettings(BaseModel):
    model_config = _STRICT
    mqtt: FleetMqtt = Field(default_factory=FleetMqtt)
    database: FleetDatabase = Field(default_factory=FleetDatabase)
    ingest: FleetIngest = Field(default_factory=FleetIngest)


def one_line(err: BaseException) -> str:
    """An exception's message on one line (libpq's span several)."""
    text = " ".join(line.strip() for line in str(err).strip().splitlines() if line.strip())
    return text or type(err).__name__


def _error(err: ValidationError, source: str) -> ConfigError:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return ConfigError(f"{source}: {where}: {first['msg']}")


def load_settings(path: str | Path | None, overrides: dict[str, dict]) -> FleetSettings:
    """Settings from the TOML file (if any), then the non-None `overrides` per section."""
    data: dict = {}
    source = "fleet settings"
    if path is not None:
        source = str(path)
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"fleet settings file not found: {path}") from None
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"{path}: {err}") from None
    for section, values in overrides.items():
        values = {k: v for k, v in values.items() if v is not None}
        if values:
            if not isinstance(data.get(section, {}), dict):
                raise ConfigError(f"{source}: {section}: must be a table")
            data[section] = {**data.get(section, {}), **values}
    try:
        return FleetSettings.model_validate(data)
    except ValidationError as err:
        raise _error(err, source) from None
