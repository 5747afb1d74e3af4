"""[profiles]: per-driver baselines kept on the device (resting heart, neutral face, eye levels)."""

import re

from pydantic import Field, field_validator

from driverwatch.config.base import OptionalPath, Section

DRIVER_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ProfilesConfig(Section):
    """Driver profiles, so calibration is not relearned every drive. Stored only on the device."""

    driver: str | None = Field(
        None, title="Driver id",
        description="The driver whose profile is used from the start (an MQTT `set/driver` command changes "
        "it during a run). Letters, digits, '.', '_' and '-', at most 64; empty = no profile (the baselines "
        "are learnt each drive).")
    dir: OptionalPath = Field(
        None, title="Profile directory",
        description="Where profiles are kept (one JSON file per driver); empty = `profiles/` under the state "
        "directory.")
    retention_days: float = Field(
        90.0, gt=0, le=3650, title="Retention",
        description="Days after a profile's last use when it is deleted (data minimisation, GDPR Art. 5(1)(e)).")
    max_drivers: int = Field(
        50, ge=1, le=10000, title="Max profiles",
        description="Profiles kept at most; the least recently used are deleted beyond it.")

    @field_validator("driver")
    @classmethod
    def _driver_id(cls, v):
        if v is not None and v != "" and not DRIVER_ID.match(v):
            raise ValueError("letters, digits, '.', '_' and '-' only, 1-64 characters")
        return v or None
