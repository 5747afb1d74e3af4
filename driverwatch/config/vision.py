from pathlib import Path

from pydantic import Field

from driverwatch.config.base import Section


class VisionConfig(Section):
    """Face detection, landmarks and per-frame features (LiteRT)."""

    models_dir: Path | None = Field(
        None,
        title="Models directory",
        description="Where the .tflite models live. Empty: $STATE_DIRECTORY/models under systemd, "
        "else ~/.local/share/driverwatch/models.",
    )
