from pydantic import Field

from driverwatch.config.base import Section


class MonitorConfig(Section):
    """Drowsiness, inattention and escalation rules. Times in seconds, never frames."""

    calibration_s: float = Field(60.0, gt=0, title="Calibration time", description="Seconds of visible face used to learn the driver's baseline.")
