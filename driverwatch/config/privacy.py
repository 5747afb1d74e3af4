"""[privacy]: what may leave the vehicle beyond states and events about driving safety."""

from pydantic import Field

from driverwatch.config.base import Section


class PrivacyConfig(Section):
    """Affective estimates (stress, frustration-like facial activity, mind-wandering) are made on the
    device for the driver's safety and stay there unless an operator turns their telemetry on."""

    affective_telemetry: bool = Field(
        False, title="Affective telemetry",
        description="Publish affective events and state over MQTT (kinds stress, frustration_like, "
        "mind_wandering, calm_suggestion, the `stress` state field and the heart figures hr_bpm / rmssd_ms it is made from). Off: they stay in the local event "
        "log and the chimes only. EU AI Act Art. 5(1)(f) prohibits inferring emotions of people at work (a "
        "fleet cab is a workplace) except for medical or safety reasons: turn it on only with a lawful "
        "basis and the drivers informed.")
