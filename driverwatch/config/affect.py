"""Affective and cognitive-state rules ([monitor.stress], [monitor.frustration], [monitor.mind_wandering],
[monitor.remedies]): advisory estimates against the driver's own baseline, never alarms. Times in seconds."""


from pydantic import Field

from driverwatch.config.base import Section


class StressConfig(Section):
    """Arousal from heart rate and RMSSD against the driver's resting baseline."""

    calibration_s: float = Field(
        120.0, gt=0, le=600, title="Baseline stretch",
        description="Seconds of good-quality heart features in one stretch whose medians of HR and RMSSD are a "
        "candidate resting baseline. The first stretch gives a provisional baseline; after that the calmest "
        "stretch (lowest median HR) within `memory_s` is the baseline, so a drive that starts stressed is not "
        "its own reference (drivedb drive17b: the first 2 min are mid-drive, 76 bpm; the final rest ~68). "
        "Two minutes: HRV guidelines (Task Force of ESC/NASPE 1996; Shaffer & Ginsberg 2017) treat 1-5 min "
        "as the shortest stable short-term recordings.")
    memory_s: float = Field(
        3600.0, ge=60, le=86400, title="Baseline memory",
        description="Seconds of history in which the calmest stretch is looked for; older stretches are "
        "forgotten, so the baseline follows a driver whose resting rate changes over a long day. A stored "
        "driver profile (resting HR / RMSSD from earlier drives) counts as a stretch that never expires.")
    min_quality: float = Field(
        0.8, ge=0, le=1, title="Minimum quality",
        description="Share of accepted beats (0..1) below which the stress level is unknown: RMSSD is very "
        "sensitive to artefacts (a single missed beat inflates it), so only clean windows are judged.")
    elevated_hr_rise: float = Field(
        0.10, ge=0, le=2, title="Elevated: HR rise",
        description="Relative rise of heart rate over baseline (0.10 = +10 %) that counts as elevated. In "
        "drivedb (Healey & Picard 2005) record drive17b, HR while driving is ~12 % above the final rest.")
    elevated_rmssd_fall: float = Field(
        0.25, ge=0, le=1, title="Elevated: RMSSD fall",
        description="Relative fall of RMSSD below baseline (0.25 = -25 %) that counts as elevated; vagal "
        "withdrawal under acute stress lowers RMSSD (Kim et al. 2018, review of HRV and stress).")
    high_hr_rise: float = Field(
        0.25, ge=0, le=2, title="High: HR rise",
        description="Relative HR rise over baseline (0.25 = +25 %) that counts as high stress.")
    high_rmssd_fall: float = Field(
        0.50, ge=0, le=1, title="High: RMSSD fall",
        description="Relative RMSSD fall below baseline (0.50 = -50 %) that counts as high stress.")
    hysteresis: float = Field(
        0.3, ge=0, lt=1, title="Hysteresis",
        description="A level is left only when the score falls this fraction below the level's entry threshold "
        "(0.3 = 30 %), so that a value hovering near a threshold does not flap.")
    min_duration_s: float = Field(
        30.0, ge=0, le=600, title="Minimum duration",
        description="Seconds a new level must persist before it is reported (and an event is sent). HRV "
        "features are 60 s windows, so shorter changes are mostly noise.")
    drowsy_hr_fall: float = Field(
        0.05, ge=0, le=1, title="Drowsiness support: HR fall",
        description="Relative HR fall below baseline (0.05 = -5 %) which, together with an RMSSD rise, is "
        "reported as supporting drowsiness evidence (parasympathetic shift before sleep onset; Vicente et al. "
        "2016). Never an alert on its own.")
    drowsy_rmssd_rise: float = Field(
        0.10, ge=0, le=2, title="Drowsiness support: RMSSD rise",
        description="Relative RMSSD rise over baseline (0.10 = +10 %) needed, with the HR fall, for the "
        "drowsiness support flag.")
