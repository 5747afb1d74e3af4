"""Monitor rules: every time is in seconds (never frames), every eye / mouth / pose threshold is
relative to the driver's own calibrated baseline."""

from typing import Annotated

from pydantic import ConfigDict, Field, field_validator, model_validator, with_config
from typing_extensions import TypedDict

from driverwatch.config.affect import FrustrationConfig, MindWanderingConfig, RemediesConfig, StressConfig
from driverwatch.config.base import Section


class CalibrationConfig(Section):
    """Per-driver baseline: open-eye level, neutral mouth, neutral head pose and gaze."""

    calibration_s: float = Field(
        60.0, gt=0, le=600, title="Calibration time",
        description="Seconds of visible, roughly forward-facing face after which the driver's baseline "
        "counts as learned (state `calibrated`). 60 s like openpilot's _POSE_OFFSET_MIN_COUNT (1 min "
        "cumulative); before that a provisional running baseline and conservative defaults apply.")
    memory_s: float = Field(
        360.0, gt=0, le=86400, title="Baseline memory",
        description="Seconds of history the baseline keeps learning from (a rolling window), so it follows "
        "slow changes (light, posture) but no single episode. 6 min like openpilot's "
        "_POSE_OFFSET_MAX_COUNT ('short term memory').")
    provisional_s: float = Field(
        1.0, gt=0, le=60, title="Provisional baseline after",
        description="Seconds of visible face before the provisional (running) baseline is used; blink "
        "detection works from then on. 1 s covers a few blinks' worth of open-eye samples.")
    sample_period_s: float = Field(
        0.1, gt=0, le=10, title="Baseline sample period",
        description="Seconds between samples kept for the robust statistics (time-based decimation, so "
        "the result does not depend on the camera's frame rate; 10 Hz is enough for slow baselines).")
    open_eye_percentile: float = Field(
        50.0, ge=30, le=95, title="Open-eye percentile",
        description="Percentile of the eye-opening samples taken as the open-eye level. Closed and "
        "half-closed frames (closure >= `eyes.open_closure`), downward glances and squeezed eyes are "
        "not learned from, so the median of the rest is the open eye, and a few seconds of wide-eyed "
        "talking at the start of a drive move it less than a higher percentile would (the talkingface "
        "clip: relaxed lids after a blink read closure 0.55-0.71 against a level learned from 4 s of "
        "wide-eyed talking).")
    max_pose_deg: float = Field(
        30.0, gt=0, le=90, title="Max pose for learning",
        description="Degrees from the current neutral pose beyond which a sample is not learned from "
        "(mirror / shoulder checks must not move the forward direction).")
    dip_depth: float = Field(
        0.75, ge=0.3, le=0.85, title="Blink dip depth",
        description="The driver's closed-eye level is learned from fast dips of the eye opening: the "
        "opening must fall to this share of the open level or below (a quarter of the lid gap gone). "
        "On narrow or hooded eyes and behind glasses the landmarks' closed eye reads 0.53-0.64 of open "
        "(issue 14), so such blinks qualify; talking flickers and squints do not reach it quickly.")
    dip_max_s: float = Field(
        0.5, ge=0.2, le=0.8, title="Blink dip max duration",
        description="Seconds from leaving the open level to being back: only dips this fast teach the "
        "closed level (blinks last 0.1-0.4 s, Euro NCAP DSM; smiles and squints are slower).")


class EyesConfig(Section):
    """Blinks, long blinks, microsleep, sleep, PERCLOS and eye observability."""

    closed_level: float = Field(
        0.15, ge=0, lt=1, title="Closed-eye level",
        description="Eye opening of fully closed eyes as a fraction of the driver's open level: EAR "
        "does not reach 0 when the lids meet (contour points stay apart). Closure = how far the "
        "opening has gone from the open level towards this one (0 = open, 1 = closed). Measured "
        "with FaceMesh V2: 0.08-0.15 on the real talkingface clip's blinks, 0.08-0.17 on rendered "
        "faces without glasses; 0.15 puts those closed eyes at closure >= 0.98, while a laugh that "
        "narrows the eyes to 0.40-0.52 of open stays at 0.56-0.71, below the 0.8 blink line (at "
        "0.25 it read 0.64-0.8: a false microsleep on a face that rests smiling). The default until "
        "the driver's own blinks teach a higher level (`closed_level_max`).")
    closed_level_max: float = Field(
        0.65, ge=0, le=0.7, title="Highest learned closed-eye level",
        description="Upper limit of the closed-eye level learned from the driver's blinks (median of the "
        "deepest points of the last 9 fast dips, at least 3). Faces whose closed eye reads 0.53-0.64 of "
        "open (issue 14: narrow eyes, glasses, grayscale) get their blinks' level; 0.7 at most, so "
        "lids at 0.75 of open (squints, relaxed lids) never read as closed.")
    blend_closed_level: float = Field(
        0.45, ge=0, lt=1, title="Closed-eye level (blendshapes)",
        description="1 - eyeBlink of fully closed eyes as a share of its open level, while the driver's "
        "blinks have not taught one. Measured with FaceMesh V2 + blendshapes on the talkingface clip: "
        "eyeBlink 0.07-0.25 open, 0.63-0.70 at full closure, i.e. 0.35-0.42 of open.")
    blend_closed_level_max: float = Field(
        0.6, ge=0, le=0.7, title="Highest learned closed-eye level (blendshapes)",
        description="Upper limit of the blendshape closed level learned from blinks. Squeezes and "
        "relaxed lids give eyeBlink 0.3-0.45 on the talkingface clip (0.6-0.8 of open), so a higher "
        "level would call them closed.")
    blink_closure: float = Field(
        0.8, gt=0, le=1, title="Closure of a blink",
        description="Closure (0..1, relative to the driver's own open level, so glasses that lower EAR do "
        "not look closed) the lids must reach to count as closed: the P80 criterion (Soukupová EAR "
        "thresholding, made relative). Shallower dips are squints or lids following a downward "
        "glance; the blink's onset is still dated back to the start of the lid's fall.")
    onset_closure: float = Field(
        0.2, gt=0, le=1, title="Closure at blink onset",
        description="A closure's onset is the first sample of the fall past this closure (the lid starts "
        "moving), so onsets do not lag by the frames the lid takes to close.")
    fall_stall_s: float = Field(
        0.25, gt=0, le=2, title="Lid fall stall",
        description="Seconds without further closing after which a partial closure (below "
        "`open_closure`) is a resting level (a squint while yawning, smiling or in glare), not the start "
        "of a blink: a later blink's onset is then dated from where the lids leave that level, not from "
        "the squint. Lids close within ≈ 0.1 s in a blink and keep moving in slow drowsy closures; lids "
        "resting nearer closed than open are a closure in progress.")
    open_closure: float = Field(
        0.5, gt=0, le=1, title="Closure that ends a blink",
        description="The eyes count as open again below this closure (hysteresis against landmark noise).")
    reopen_hold_s: float = Field(
        0.2, ge=0.1, le=0.5, title="Half-open lids end a closure after",
        description="Seconds the lids may stay between `open_closure` and `blink_closure` before the "
        "closure counts as ended where they left the closed level: after a normal blink the lids "
        "often rest half lowered (closure 0.55-0.71 for ~0.6 s on the talkingface clip), which must "
        "not stretch the blink into a microsleep. Shorter dips (landmark noise during a real closure) "
        "do not end it; the microsleep clock stops while the lids are half open.")
    reopen_drop: float = Field(
        0.2, ge=0.1, le=0.3, title="Half-open lids: rise from the deepest closure",
        description="Lids count as half open only once they have come up this far from the closure's "
        "deepest point (below the blink line alone is not enough): a held closure on a face whose shut "
        "lids read near the line hovers there (rendered glasses face 'henner', mesh + iris: closure "
        "0.69-0.82 through a 1.5 s microsleep, 0.70-0.89 through a 4 s sleep), while relaxed lids "
        "after a blink come up by 0.29-0.45 (talkingface). At most 0.3, so a real reopening is never "
        "missed; at least 0.1, so landmark noise cannot cut a closure.")
    long_blink_s: float = Field(
        0.5, gt=0, le=1.0, title="Long blink",
        description="Seconds: closures at least this long are long blinks (drowsiness sign; normal blinks "
        "last 0.1–0.4 s, Euro NCAP DSM protocol).")
    microsleep_s: float = Field(
        1.0, gt=0, le=3.0, title="Microsleep",
        description="Seconds: a closure this long is a microsleep (Euro NCAP DSM: 1–3 s).")
    sleep_s: float = Field(
        3.0, gt=0, le=6.0, title="Sleep",
        description="Seconds: a closure this long is sleep (Euro NCAP DSM: >= 3 s).")
    perclos_window_s: float = Field(
        60.0, gt=0, le=300, title="PERCLOS window",
        description="Seconds of the rolling PERCLOS window (Wierwille PERCLOS over 1 min).")
    min_observed_share: float = Field(
        0.6, gt=0, le=1, title="Min observed share",
        description="PERCLOS and blink rate are withheld (unknown) when the eyes were observable for less "
        "than this share of the window: an estimate over too little data is a guess.")
    min_visibility: float = Field(
        0.5, ge=0, le=1, title="Min eye visibility",
        description="eye_visibility below this makes an eye unobservable (occlusion, sunglasses, profile).")
    max_yaw_deg: float = Field(
        45.0, gt=0, le=90, title="Max yaw for eyes",
        description="Degrees of head yaw from neutral beyond which eye opening is not trusted (the far eye "
        "is foreshortened).")
    down_deg: float = Field(
        14.0, gt=0, le=45, title="Looking down",
        description="Degrees of head + eye-in-head gaze pitch below neutral from which the driver counts "
        "as looking down (instrument cluster, phone): the upper lid follows the gaze down (lid-gaze "
        "coupling), so lowered lids are not closed lids. Set above the ≈ 10-12° the iris model's gaze "
        "sags when lids close over a forward gaze (measured on the talkingface clip's blinks).")
    down_exit_deg: float = Field(
        11.0, gt=0, le=45, title="Looking down (exit)",
        description="Degrees below neutral above which looking down ends (hysteresis). Coming back up "
        "under closed lids is a blink that starts at the last downward sample (gaze-evoked blink).")
    down_closed_max_s: float = Field(
        2.0, gt=0, le=3.0, title="Max lowered-lid time",
        description="Seconds of lids at the closed level while looking down after which they count as "
        "closed after all (a dozing head sinks too): instrument-cluster glances are shorter (Euro "
        "NCAP DSM treats > 2 s glances as distraction), so microsleep is at worst 1 s late, sleep not.")
    unobservable_s: float = Field(
        3.0, gt=0, le=10, title="Eyes unobservable after",
        description="Seconds of face present but eyes unobservable before `eyes_unobservable` is raised "
        "(a shorter spell is a head turn).")
    squeeze_smile: float = Field(
        0.6, ge=0.4, le=1.0, title="Smile that squeezes the eyes",
        description="Rise of blendshape mouthSmile / cheekSquint above the driver's resting smile (its lower "
        "quartile), as a share of the headroom to 1.0 (a face can rest smiling: the bundled portrait scores "
        "0.91, a rendered Obama 0.90, whose laughs reach 0.99), from which closed eyes "
        "count as squeezed by a laugh, not closed (Euro NCAP DSM: no false alarms for laughing; an "
        "open jaw does not count, a sleeper's jaw drops too). Measured on the talkingface clip "
        "(FaceMesh V2): 0.89-0.92 while laughing against a resting 0.0-0.1, <= 0.54 around its "
        "blinks. 1.0 turns it off; at least 0.4, so a slight smile cannot hide a closure.")

    @model_validator(mode="after")
    def _ordered(self):
        if not self.long_blink_s <= self.microsleep_s <= self.sleep_s:
            raise ValueError("need long_blink_s <= microsleep_s <= sleep_s")
        return self


class MouthConfig(Section):
    """Yawns (sustained wide mouth opening with its rise and fall) versus talking, laughing, eating."""

    open_mar: float = Field(
        0.3, gt=0, title="Yawn opening",
        description="Mouth aspect ratio above the driver's neutral at which a yawn candidate starts; "
        "speech rarely holds it for long.")
    wide_mar: float = Field(
        0.6, gt=0.3, le=1.0, title="Yawn peak opening",
        description="The candidate must reach this MAR at its peak, as measured, not above neutral (the "
        "dropped jaw reaches it whatever the lips do at rest; yawns open wider than speech, whose MAR "
        "stays at 0.2-0.3; MAR-based yawn detection, e.g. Abtahi et al. YawDD 2014).")
    jaw_open: float = Field(
        0.4, ge=0.1, le=0.8, title="Yawn opening (jawOpen)",
        description="Blendshape jawOpen above the driver's neutral at which a yawn candidate starts, as "
        "an alternative to `open_mar` when blendshapes are known (the jaw, not the lips: a yawn "
        "behind pursed or stretched lips). Not a replacement: measured with FaceMesh V2, real talking "
        "and laughing (talkingface clip) reach jawOpen 0.23-0.36 at MAR 0.2-0.29, a rendered wide "
        "yawn (MAR 0.73) only 0.44, so MAR separates the two better on the data at hand.")
    jaw_wide: float = Field(
        0.6, ge=0.3, le=0.9, title="Yawn peak opening (jawOpen)",
        description="jawOpen above neutral at the peak that makes a held opening a yawn, as an "
        "alternative to `wide_mar` (a fully dropped jaw; well above speech's 0.36).")
    min_s: float = Field(
        1.5, gt=0, le=10, title="Yawn min duration",
        description="Seconds the wide opening must last: syllables and laughs open the mouth for "
        "< 0.5 s, chewing ~1 Hz; yawns last 3–8 s with >= 1.5 s wide open.")
    max_s: float = Field(
        10.0, gt=0, le=60, title="Yawn max duration",
        description="Seconds: an opening longer than this is not a yawn (mouth hanging open, singing).")


class HeadConfig(Section):
    """Head nods typical of dozing: a slow sink with the eyes shut, then a fast jerk back up."""

    nod_drop_deg: float = Field(
        12.0, gt=0, le=60, title="Nod depth",
        description="Degrees the head must pitch down from the pre-nod level.")
    nod_fall_s: float = Field(
        2.0, gt=0, le=10, title="Nod fall time",
        description="Seconds within which the drop must happen. Dozing heads sink passively in ~0.5–2 s "
        "as neck tone fades; slower drifts are posture changes.")
    nod_max_s: float = Field(
        3.0, gt=0, le=10, title="Nod max duration",
        description="Seconds from the start of the drop to the recovery; longer is a look down, not a nod.")
    nod_recover_deg: float = Field(
        5.0, gt=0, le=60, title="Nod recovery",
        description="Degrees within which the pitch must come back to its pre-nod level.")
    nod_fall_ratio: float = Field(
        1.5, ge=0, title="Nod fall / recovery time",
        description="The fall must take at least this many times as long as the recovery, both timed "
        "between the same two pitch levels: a dozing head sinks slowly and is jerked back up when the "
        "driver wakes, while a glance at the cluster goes down and up at the same quick pace. 1.5 "
        "leaves margin for landmark noise on a symmetric glance (measured ratio ≈ 1).")
    nod_closed_share: float = Field(
        0.5, ge=0, le=1, title="Nod eyes-shut share",
        description="Share of the dip's time the eyes must be shut (closed, lids at the closed level, or "
        "not observable): dozing nods come with closed eyes, while a blink during a glance down (a "
        "normal gaze-evoked blink, ≈ 0.1–0.3 s of a > 1 s glance) stays well below half.")
    nod_needs_eyes: bool = Field(
        True, title="Nod needs closed eyes",
        description="Apply `nod_closed_share`; off counts a nod from the head's movement alone (for "
        "cameras that cannot see the eyes, e.g. with sunglasses).")


@with_config(ConfigDict(extra="forbid"))
class GlanceBand(TypedDict):
    """One speed band: the long-distraction limit from `from_kmh` on (km/h, seconds)."""

    from_kmh: Annotated[float, Field(ge=0, le=300)]
    glance_s: Annotated[float, Field(gt=0, le=6.0)]  # ADDW (EU 2023/2590): at most 6 s


class AttentionConfig(Section):
    """Eyes-off-road against the calibrated forward direction: long distraction, VATS, missing face."""

    yaw_deg: float = Field(
        25.0, gt=0, le=60, title="Off-road yaw",
        description="Degrees of head+gaze yaw from the calibrated forward direction beyond which the "
        "driver looks off the road (openpilot _POSE_YAW_THRESHOLD 0.40 rad ≈ 23°). With the pitch limits "
        "it spans an ellipse around forward: a diagonal glance is off the road when it leaves the "
        "ellipse, even if neither angle alone passes its limit.")
    pitch_down_deg: float = Field(
        20.0, gt=0, le=45, title="Off-road pitch down",
        description="Degrees of head+gaze pitch below forward that count as off road (openpilot "
        "_POSE_PITCH_THRESHOLD 0.31 rad ≈ 18°; the instrument cluster is ≈ 20° down).")
    pitch_up_deg: float = Field(
        20.0, gt=0, le=45, title="Off-road pitch up",
        description="Degrees above forward that count as off road.")
    hysteresis_deg: float = Field(
        3.0, ge=0, le=10, title="Attention hysteresis",
        description="Degrees inside the limit the direction must come back before the driver counts as "
        "on the road again (no flicker at the boundary).")
    long_glance_s: float = Field(
        3.0, gt=0, le=6.0, title="Long distraction (speed unknown)",
        description="Seconds of one glance away that raise `long_distraction` when the vehicle speed is "
        "unknown (Euro NCAP DSM: 3 s, the strictest common limit, since the speed band is not known).")
    long_glance_bands: list[GlanceBand] = Field(
        default_factory=lambda: [{"from_kmh": 20.0, "glance_s": 6.0}, {"from_kmh": 50.0, "glance_s": 3.5}],
        title="Long distraction by speed",
        description="Speed bands for `long_distraction` at a known speed: each band applies from "
        "`from_kmh` up to the next band's, `glance_s` is its limit in seconds of one glance away. "
        "Defaults are EU ADDW Reg. (EU) 2023/2590: warn by 6 s at 20–50 km/h and by 3.5 s above 50 km/h "
        "(set 3.0 there for Euro NCAP's 3 s). Below the first band the limit is the first band's (and "
        "below `min_speed_kmh` distraction alerts are suppressed anyway).")

    @field_validator("long_glance_bands")
    @classmethod
    def _bands_sorted(cls, v: list) -> list:
        if not v:
            raise ValueError("needs at least one band")
        speeds = [b["from_kmh"] for b in v]
        if speeds != sorted(set(speeds)):
            raise ValueError("bands must be in increasing from_kmh order, each speed once")
        return v

    min_speed_kmh: float = Field(
        20.0, ge=0, le=20.0, title="Distraction min speed",
        description="km/h below which distraction alerts are suppressed when the speed is known (EU ADDW "
        "is active from 20 km/h; parking and queues need glances away). Drowsiness is never suppressed.")
    vats_total_s: float = Field(
        10.0, gt=0, le=10.0, title="VATS total",
        description="Seconds away in total within `vats_window_s` that raise `vats` (Euro NCAP visual "
        "attention time sharing: 10 s in 30 s).")
    vats_window_s: float = Field(
        30.0, gt=0, le=60, title="VATS window", description="Seconds of the VATS window (Euro NCAP: 30 s).")
    vats_reset_s: float = Field(
        2.0, gt=0, le=10, title="VATS reset",
        description="Seconds continuously on the road that reset the VATS total (Euro NCAP: 2 s).")
    unresponsive_s: float = Field(
        6.0, gt=0, le=10, title="Unresponsive",
        description="Seconds with eyes closed or away after which the driver counts as unresponsive "
        "(Euro NCAP DSM unresponsive driver: 6 s).")
    return_s: float = Field(
        3.0, gt=0, le=10, title="Return after warning",
        description="Seconds after a warning within which the driver must look back at the road with open "
        "eyes, else unresponsive (Euro NCAP DSM: 3 s).")
    face_missing_s: float = Field(
        2.0, gt=0, le=10, title="Face missing after",
        description="Seconds without a face before `face_missing` (shorter dropouts are tracking noise).")
    dark_brightness: float = Field(
        20.0, ge=0, le=255, title="Camera blocked brightness",
        description="Mean frame luma (0..255) below which the camera counts as dark or blocked (a hand "
        "or cloth over the lens; IR-lit cabins stay well above).")
    blocked_s: float = Field(
        2.0, gt=0, le=10, title="Camera blocked after",
        description="Seconds of a dark frame before `camera_blocked`.")


    @model_validator(mode="after")
    def _vats_reachable(self):
        if self.vats_window_s < self.vats_total_s:  # the total could never be reached: VATS off
            raise ValueError("vats_window_s must be >= vats_total_s")
        return self


class DrowsinessConfig(Section):
    """Alert / drowsy / very drowsy (≈ KSS <= 6, 7, >= 8) from eyes, yawns and nods, with hysteresis."""

    window_s: float = Field(
        300.0, gt=0, le=1800, title="Evidence window",
        description="Seconds over which long blinks, microsleeps, yawns and nods are counted (5 min: "
        "drowsiness builds over minutes, not seconds).")
    perclos_drowsy: float = Field(
        0.15, gt=0, le=1, title="PERCLOS drowsy",
        description="PERCLOS (P80, 1 min) from which the driver is drowsy (Wierwille 1994: 0.15 ≈ "
        "drowsy, KSS 7).")
    perclos_very: float = Field(
        0.30, gt=0, le=1, title="PERCLOS very drowsy",
        description="PERCLOS from which the driver is very drowsy (≈ KSS 8–9).")
    perclos_release: float = Field(
        0.8, gt=0, le=1, title="PERCLOS release factor",
        description="PERCLOS must fall below this factor times a threshold to count as below it "
        "(hysteresis).")
    long_blinks_drowsy: int = Field(
        5, gt=0, le=50, title="Long blinks drowsy",
        description="Long blinks (>= 0.5 s) within the window that make the driver drowsy (Euro NCAP DSM "
        "uses long eye closures as the drowsiness sign).")
    microsleeps_drowsy: int = Field(
        1, gt=0, le=5, title="Microsleeps drowsy",
        description="Microsleeps within the window that make the driver drowsy.")
    microsleep_needs_support: bool = Field(
        True, title="A lone microsleep needs support",
        description="While fewer than `microsleeps_very` microsleeps are in the window, they make the "
        "driver drowsy only with another sign there: a long blink, a yawn, a nod, PERCLOS at "
        "`support_share` of `perclos_drowsy`, or heart support. The microsleep itself is always "
        "warned; one closure alone (possibly a misread) does not start a drowsy state held for "
        "`release_s`. Two microsleeps or a sleep always count.")
    microsleeps_very: int = Field(
        2, gt=0, le=10, title="Microsleeps very drowsy",
        description="Microsleeps within the window (or one sleep) that make the driver very drowsy.")
    yawns_drowsy: int = Field(
        3, gt=0, le=20, title="Yawns drowsy",
        description="Yawns within the window that make the driver drowsy (frequent yawning precedes "
        "KSS 7).")
    nods_very: int = Field(
        2, gt=0, le=10, title="Nods very drowsy",
        description="Nods within the window that make the driver very drowsy (one nod = drowsy).")
    support_share: float = Field(
        0.6, gt=0, le=1, title="Borderline share",
        description="With heart-rate support (stress.drowsy_support), evidence at this share of the "
        "drowsy thresholds is enough. Heart data only supports; it never raises drowsiness alone.")
    release_s: float = Field(
        120.0, ge=0, le=1800, title="Drowsiness release",
        description="Seconds the evidence must stay below a level before the level is lowered (recovery "
        "from drowsiness is slow; no flicker).")


class AlertConfig(Section):
    """Escalation: notice -> warning -> critical by how long a condition lasts, with cooldowns."""

    warning_after_s: float = Field(
        5.0, ge=0, le=10, title="Notice to warning",
        description="Seconds a face-missing, eyes-unobservable or camera-blocked notice lasts before it is "
        "re-announced as a warning. (Drowsiness escalates by level instead: drowsy is a notice, very drowsy a "
        "warning.)")
    critical_after_s: float = Field(
        3.0, ge=0, le=10, title="Warning to critical",
        description="Seconds a long-distraction or VATS warning lasts before it becomes critical (Euro NCAP: "
        "escalate if the driver does not respond within 3 s). Eye closures escalate by their own length "
        "instead: a microsleep is a warning, sleep (>= 3 s) critical.")
    cooldown_s: float = Field(
        3.0, ge=0, le=300, title="Cooldown",
        description="Seconds a condition must stay clear before it ends; a recurrence within them continues "
        "the same announcement instead of starting a new one (no re-announcing every frame).")
    update_interval_s: float = Field(
        10.0, gt=0, le=600, title="Update interval",
        description="Seconds between evidence updates of a lasting condition whose severity did not change.")
    snooze_max_s: float = Field(
        1800.0, ge=0, le=1800, title="Maximum snooze",
        description="Seconds: the longest a driver (or a fleet's `set/snooze`) may mute notice chimes; a "
        "longer request is capped and the result says so. Muted events are still logged and sent (marked "
        "`snoozed`); warnings and critical alarms are never muted. At most 30 min, so early drowsiness "
        "signs cannot go unannounced for longer.")


class MonitorConfig(Section):
    """Drowsiness, inattention and escalation rules. Times in seconds, never frames."""

    max_gap_s: float = Field(
        0.5, gt=0, le=10, title="Max frame gap",
        description="Seconds between frames beyond which the camera counts as stalled: the state is unknown "
        "for the gap and no duration is stretched across it.")
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig, title="Calibration")
    eyes: EyesConfig = Field(default_factory=EyesConfig, title="Eyes")
    mouth: MouthConfig = Field(default_factory=MouthConfig, title="Mouth")
    head: HeadConfig = Field(default_factory=HeadConfig, title="Head")
    attention: AttentionConfig = Field(default_factory=AttentionConfig, title="Attention")
    drowsiness: DrowsinessConfig = Field(default_factory=DrowsinessConfig, title="Drowsiness")
    alerts: AlertConfig = Field(default_factory=AlertConfig, title="Alerts")
    stress: StressConfig = Field(default_factory=StressConfig, title="Stress (heart)")
    frustration: FrustrationConfig = Field(default_factory=FrustrationConfig, title="Frustration-like facial activity")
    mind_wandering: MindWanderingConfig = Field(default_factory=MindWanderingConfig, title="Mind-wandering")
    remedies: RemediesConfig = Field(default_factory=RemediesConfig, title="Remedies")
