from pydantic import Field

from driverwatch.config.base import Section


class ChimeConfig(Section):
    """In-cab chimes (ALSA) and optional GPIO buzzer / LED."""

    enabled: bool = Field(True, title="Enabled", description="Play chimes in the cab.")
