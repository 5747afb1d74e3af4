"""Affective and cognitive-state rules ([monitor.stress], [monitor.frustration], [monitor.mind_wandering],
[monitor.remedies]): advisory estimates against the driver's own baseline, never alarms. Times in seconds."""


from typing import Literal

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
    persist_share: float = Field(
        0.8, ge=0.5, le=1, title="Persistence share",
        description="Share of `min_duration_s` the new level must hold for it to be confirmed; a candidate "
        "is dropped once it has been off for more than the rest. 1.0 = every sample (a score jittering "
        "around the hysteresis line then never leaves a level: drivedb drive17b's first rest, +-0.25 per "
        "minute, stayed reported elevated for 5 min with no sample above the elevated line).")
    drowsy_hr_fall: float = Field(
        0.05, ge=0, le=1, title="Drowsiness support: HR fall",
        description="Relative HR fall below baseline (0.05 = -5 %) which, together with an RMSSD rise, is "
        "reported as supporting drowsiness evidence (parasympathetic shift before sleep onset; Vicente et al. "
        "2016). Never an alert on its own.")
    drowsy_rmssd_rise: float = Field(
        0.10, ge=0, le=2, title="Drowsiness support: RMSSD rise",
        description="Relative RMSSD rise over baseline (0.10 = +10 %) needed, with the HR fall, for the "
        "drowsiness support flag.")


class FrustrationConfig(Section):
    """Frustration-like facial activity: sustained brow lowering (AU4), lip pressing (AU24), nose
    wrinkling (AU9) and tight lips (a jaw-clench cue) above the driver's own neutral face. What is
    measured is facial activity, not an emotion: face-only frustration reading reached 62 % in a driving
    study (Ihme et al. 2018) and expressions are neither reliable nor specific signs of emotions (Barrett
    et al. 2019), so it is an advisory input to the stress state, never an alarm."""

    enabled: bool = Field(
        True, title="Enabled",
        description="Read the cues (needs the blendshape scores of the face model; unknown without them).")
    cue_rise: float = Field(
        0.25, gt=0, le=1, title="Cue rise",
        description="Score (0..1) above the driver's neutral level at which a cue counts as active. MediaPipe's "
        "blendshape scores of a held expression are ≈ 0.4-0.9 against ≈ 0-0.15 at rest; 0.25 keeps landmark "
        "noise and a relaxed face below it.")
    window_s: float = Field(
        10.0, ge=2, le=120, title="Window",
        description="Seconds over which the share of cue-active time is taken: 'over windows of seconds', so "
        "a passing frown or a grimace at glare is not an episode.")
    min_share: float = Field(
        0.6, gt=0, le=1, title="Episode share",
        description="Share of the window's observed time with an active cue that starts an episode.")
    release_share: float = Field(
        0.3, ge=0, lt=1, title="Release share",
        description="Share below which an episode ends (hysteresis).")
    min_observed_share: float = Field(
        0.5, gt=0, le=1, title="Min observed share",
        description="The state is unknown when less than this share of the window could be judged (no face, "
        "no scores, talking, smiling, blinking).")
    speech_jaw_open: float = Field(
        0.12, gt=0, le=1, title="Speech jaw opening",
        description="jawOpen above neutral from which the jaw moves (speech, yawning, eating): such frames "
        "and `hold_s` after them are not judged (lips press on /p b m/, brows move with prosody).")
    smile: float = Field(
        0.3, gt=0, le=1, title="Smile",
        description="mouthSmile above neutral from which a frame shows a smile and is not judged.")
    blink: float = Field(
        0.5, gt=0, le=1, title="Blink",
        description="eyeBlink score from which the lids are closing: the brows and cheeks move with a blink "
        "or a squeeze, so such frames (and `hold_s` after) are not judged.")
    hold_s: float = Field(
        1.0, ge=0, le=5, title="Exclusion hold",
        description="Seconds after speech, a smile or a blink that are not judged either (the pauses between "
        "syllables are shorter).")
    neutral_s: float = Field(
        20.0, gt=0, le=600, title="Neutral face after",
        description="Seconds of judged face before the neutral levels (medians over `[monitor.calibration]` "
        "memory_s) are trusted; unknown before, unless a driver profile supplied them.")


class MindWanderingConfig(Section):
    """Cognitive distraction ('mind-wandering', 'looked but did not see'): gaze concentrated on the road
    centre over a long window, against the driver's own baseline. Advisory only: a notice, never a warning
    (Euro NCAP 2026 does not score it)."""

    enabled: bool = Field(True, title="Enabled", description="Estimate it.")
    window_s: float = Field(
        60.0, ge=40, le=60, title="Window",
        description="Seconds of gaze per estimate: 40-60 s as in the studies the rule follows (Victor, Harbluk "
        "& Engström 2005; Wang et al. 2014).")
    centre_deg: float = Field(
        8.0, gt=0, le=20, title="Road centre radius",
        description="Degrees around the calibrated forward direction that count as the road centre (Victor et "
        "al. 2005 define Percent Road Centre on a circle of 8° radius).")
    prc_rise: float = Field(
        0.10, gt=0, le=1, title="PRC rise",
        description="Rise of Percent Road Centre over the driver's baseline (0.10 = 10 points) that counts as "
        "concentrated gaze; cognitive load raised PRC by ≈ 10-20 points (Victor et al. 2005).")
    sd_fall: float = Field(
        0.4, gt=0, lt=1, title="Gaze SD fall",
        description="Relative fall of the SD of horizontal gaze below the driver's baseline (0.4 = -40 %) that "
        "counts as narrowed gaze; the largest effect of cognitive load in Wang et al. 2014 (on-road study).")
    min_sd_deg: float = Field(
        2.0, ge=0, le=10, title="Baseline SD floor",
        description="Degrees: the baseline horizontal-gaze SD is at least this, so a driver whose normal gaze "
        "is already narrow is not judged against landmark noise.")
    baseline_s: float = Field(
        180.0, ge=60, le=1800, title="Baseline time",
        description="Seconds of observed gaze before the baseline (medians of the per-window PRC and SD over "
        "`[monitor.calibration]` memory_s, at least 3 windows) is trusted; unknown before.")
    min_observed_share: float = Field(
        0.7, gt=0, le=1, title="Min observed share",
        description="A window needs gaze for this share of its time, else it is not judged.")
    min_speed_kmh: float = Field(
        20.0, ge=0, le=200, title="Min speed",
        description="km/h below which the gaze pattern is not judged when the speed is known (queues, parking).")


class RemediesConfig(Section):
    """Responses that fit the state: a calm cue and an automation event for stress, a break suggestion
    after repeated drowsiness. Never the alarm ladder for an affective state."""

    stress_cue: Literal["soft", "none"] = Field(
        "soft", title="Stress cue",
        description="'soft': the stress state sounds the soft two-note notice chime once (a calm cue, not an "
        "alarm: warning beeps and alarms are for safety-critical states only); 'none': silent, logged only.")
    calm_automation: bool = Field(
        True, title="Calm automation event",
        description="Emit a `calm_suggestion` event when a stress state starts, for in-car automations (quieter "
        "media, cabin light, climate); the event log always has it, MQTT only with "
        "`privacy.affective_telemetry`.")
    calm_repeat_s: float = Field(
        900.0, ge=60, le=7200, title="Calm suggestion repeat",
        description="Seconds before another `calm_suggestion` (one per stress episode at most this often).")
    break_after_drowsy: int = Field(
        2, ge=1, le=10, title="Break after drowsy episodes",
        description="Drowsy states (notice or worse) within `break_window_s` after which a `break_suggestion` "
        "is emitted (a soft chime): rest is the only countermeasure to sleepiness that lasts "
        "(Horne & Reyner 1996; EU ADDW recommends a break).")
    break_window_s: float = Field(
        3600.0, ge=600, le=14400, title="Break window",
        description="Seconds in which drowsy episodes are counted for the break suggestion.")
    break_repeat_s: float = Field(
        1200.0, ge=60, le=7200, title="Break suggestion repeat",
        description="Seconds before the break suggestion is repeated while drowsiness keeps recurring.")
