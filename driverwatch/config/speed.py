from typing import Literal

from pydantic import Field, field_validator, model_validator

from driverwatch.config.base import Section
from driverwatch.config.heart import MAX_BAUD, DevicePath


class SpeedConfig(Section):
    """Vehicle speed, so that distraction alerts follow the speed bands (EU ADDW) and are suppressed
    when the vehicle stands still. Unknown speed is reported as unknown, never as 0."""

    source: Literal["none", "gpsd", "obd"] = Field(
        "none", title="Speed source",
        description="'gpsd': the speed of the GPS fix from a local gpsd (TPV reports; present on most "
        "telematics Pis). 'obd': the vehicle's own speed (OBD-II PID 0x0D) from an ELM327 adapter on "
        "obd_port (USB serial or Bluetooth rfcomm). 'none': speed unknown, the speed-independent limits apply.",
    )
    gpsd_host: str = Field("127.0.0.1", min_length=1, max_length=253, title="gpsd host",
                           description="Host of gpsd's JSON socket (a DNS name is at most 253 characters).")
    gpsd_port: int = Field(2947, ge=1, le=65535, title="gpsd port", description="gpsd's TCP port (IANA 2947).")
    obd_port: DevicePath = Field(
        None, title="OBD adapter port",
        description="Serial device of the ELM327 adapter: /dev/serial/by-id/... for USB, /dev/rfcomm0 for a "
        "Bluetooth adapter bound with `rfcomm bind`; required with source = 'obd'.")
    obd_baud: int = Field(
        38400, ge=9600, le=MAX_BAUD, title="OBD adapter baud rate",
        description="Serial speed of the adapter: 38400 for most ELM327 clones (genuine ones default to 9600 or "
        "38400; Bluetooth rfcomm ignores it).")
    obd_interval_s: float = Field(
        0.5, ge=0.1, le=5.0, title="OBD poll interval",
        description="Seconds between speed queries (010D). A reading older than a few seconds counts as unknown, "
        "so the interval stays well below that.")

    @field_validator("gpsd_host")
    @classmethod
    def _host(cls, v: str) -> str:
        if any(ord(c) <= 32 or ord(c) == 127 for c in v):
            raise ValueError("a host name cannot contain spaces, NUL or other control characters")
        return v

    @model_validator(mode="after")
    def _obd_needs_a_port(self):
        if self.source == "obd" and not self.obd_port:
            raise ValueError("source = 'obd' needs obd_port (the ELM327 adapter's serial device)")
        return self
