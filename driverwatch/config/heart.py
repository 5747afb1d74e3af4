from pydantic import Field

from driverwatch.config.base import Section


class HeartConfig(Section):
    """The serial heart-rate sensor, beat detection, HRV and stress."""

    port: str | None = Field(None, title="Serial port", description="e.g. /dev/serial/by-id/...; empty = no heart sensor.")
