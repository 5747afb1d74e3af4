
from pydantic import Field

from driverwatch.config.base import OptionalPath, Section


class DaemonConfig(Section):
    """Identity, storage and privacy of the running daemon."""

    vehicle_id: str = Field(
        "bench", pattern=r"^[A-Za-z0-9_.-]{1,64}$", title="Vehicle id",
        description="Names this vehicle in MQTT topics and client id (letters, digits, _ . -).",
    )
    state_dir: OptionalPath = Field(
        None, title="State directory",
        description="The MQTT outbox and saved clips. Empty: $STATE_DIRECTORY under systemd, else ~/.local/state/driverwatch.",
    )
    log_dir: OptionalPath = Field(
        None, title="Log directory",
        description="JSONL event log. Empty: $LOGS_DIRECTORY under systemd, else <state_dir>/log.",
    )
    save_frames: bool = Field(
        False, title="Save frames",
        description="Privacy: camera frames are never stored unless this is true. Then only the frames just "
        "before each warning or critical alert are saved, on this device (<state_dir>/clips), never sent.",
    )
    clip_s: float = Field(
        5.0, gt=0, le=60, title="Clip length",
        description="Seconds of frames kept before an alert when save_frames is on: enough to see how it began.",
    )
    clip_fps: float = Field(
        5.0, gt=0, le=30, title="Clip frame rate",
        description="Frames per second stored in a clip; 5 shows a blink or a glance while keeping clips small.",
    )
    max_clips: int = Field(
        50, ge=1, title="Clips kept",
        description="The oldest clips are deleted beyond this many, so the disk never fills.",
    )
