from typing import Literal

from pydantic import Field

from driverwatch.config.base import Section


class SpeedConfig(Section):
    """Vehicle speed, so that distraction alerts follow the speed bands (EU ADDW) and are suppressed
    when the vehicle stands still. Unknown speed is reported as unknown, never as 0."""

    source: Literal["none", "gpsd"] = Field(
        "none", title="Speed source",
        description="'gpsd': the speed of the GPS fix from a local gpsd (TPV reports; present on most "
        "telematics Pis). 'none': speed unknown, the speed-independent limits apply.",
    )
    gpsd_host: str = Field("127.0.0.1", title="gpsd host", description="Host of gpsd's JSON socket.")
    gpsd_port: int = Field(2947, ge=1, le=65535, title="gpsd port", description="gpsd's TCP port (IANA 2947).")
