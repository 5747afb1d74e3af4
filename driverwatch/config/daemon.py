from pathlib import Path

from pydantic import Field

from driverwatch.config.base import Section


class DaemonConfig(Section):
    """Identity, storage and privacy of the running daemon."""

    vehicle_id: str = Field(
        "bench", pattern=r"^[A-Za-z0-9_.-]{1,64}$", title="Vehicle id",
        description="Names this vehicle in MQTT topics and client id (letters, digits, _ . -).",
    )
    state_dir: Path | None = Field(
        None, title="State directory",
        description="Outbox and calibration storage. Empty: $STATE_DIRECTORY under systemd, else ~/.local/state/driverwatch.",
    )
    log_dir: Path | None = Field(
        None, title="Log directory",
        description="JSONL event log. Empty: $LOGS_DIRECTORY under systemd, else <state_dir>/log.",
    )
    save_frames: bool = Field(
        False, title="Save frames",
        description="Privacy: camera frames are never stored unless this is true (then only frames around alerts, on this device).",
    )
