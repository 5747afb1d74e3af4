"""Layer 1: one frame's FaceFeatures -> signals relative to the driver's baseline.

Pure functions of the sample and the calibration: non-finite numbers become unknown (None), eye
opening becomes a closure 0..1 against the driver's own open and closed levels (glasses that lower
EAR do not look closed; narrow or hooded eyes whose closed lids still read half open do), angles
become offsets from the driver's neutral pose.

Eye closure per eye is the larger of the available measures, each normalised per driver (a measure
that cannot see this face's closed lids, e.g. eyeBlink from a mesh that does not follow them, or
landmarks that stay half open on hooded eyes, does not veto the other):
  geometry    the iris model's lid gap (else EAR) / its open level, closed level learned from blinks
  blendshape  1 - eyeBlink / its open level (the blendshape model's closure, trained across faces)
A smile well above the driver's resting smile (a share of the headroom to 1) squeezes the eyes (laughing): a closure then is not
counted as closed lids (Euro NCAP: no false alarms for laughing). A face that rests smiling (a
portrait's smile) is not squeezing. An open jaw is not: a sleeper's jaw drops too. A squeeze lasts
while the smile stays above SQUEEZE_STAY of the rise that started it (a laugh's smile score wavers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from driverwatch.config.monitor import MonitorConfig
from driverwatch.monitor.calibration import Calibration
from driverwatch.samples import FaceFeatures

SQUEEZE_MIN_RISE = 0.04  # smile rise above the rest's noise (p99 0.003-0.035 on rendered faces resting at 0.8-0.98)
SQUEEZE_STAY = 0.5  # share of that rise that keeps a squeeze going (hysteresis)
NUMERIC = ("face_score", "ear_left", "ear_right", "eye_open_left", "eye_open_right", "eye_visibility_left",
           "eye_visibility_right", "mar", "yaw", "pitch", "roll", "gaze_yaw", "gaze_pitch", "brightness")


def _finite(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def sanitize(ff: FaceFeatures) -> tuple[FaceFeatures, bool]:
    """A copy with NaN / inf / non-numbers replaced by None (blendshape scores: dropped); True if
    anything was replaced."""
    kw = {}
    bad = False
    if ff.blendshapes is not None:
        bs = {k: f for k, v in ff.blendshapes.items() if (f := _finite(v)) is not None}
        bad = len(bs) < len(ff.blendshapes)
        kw["blendshapes"] = bs or None
    for k in NUMERIC:
        v = getattr(ff, k)
        if v is None:
            continue
        try:
            v = float(v)
        except (TypeError, ValueError):
            v = math.nan
        if not math.isfinite(v):
            bad = True
            v = None
        kw[k] = v
    return FaceFeatures(t=float(ff.t), face=bool(ff.face), face_box=ff.face_box, **kw), bad


@dataclass(slots=True)
class Signals:
    t: float
    face: bool
    brightness: float | None = None
    eyes_observable: bool = False
    openness: float | None = None  # eye opening / the driver's open level (1 = normal open)
    closure: float | None = None  # 0 = open .. 1 = closed, relative to the driver's open level
    yaw: float | None = None  # head, degrees from neutral
    pitch: float | None = None
    dir_yaw: float | None = None  # head + eye-in-head gaze, degrees from the neutral direction
    dir_pitch: float | None = None
    mar: float | None = None  # mouth aspect ratio above the neutral mouth
    mar_abs: float | None = None  # mouth aspect ratio as measured
    jaw: float | None = None  # blendshape jawOpen above the driver's neutral (None: no blendshapes)
    squeeze: bool = False  # eyes squeezed by a laugh (closure not counted)
    lid_ratios: dict[str, float | None] | None = None  # per measure: opening / open level (both eyes)
    closure_trusted: bool = True  # False: calibrated without ever seeing a blink (see Calibration)
    closures: dict[str, float | None] | None = None  # per measure: its own closure (both eyes)


def _score(bs: dict[str, float] | None, *names: str) -> float | None:
    """The largest of the named blendshape scores that are present (None when none is)."""
    if not bs:
        return None
    vals = [bs[n] for n in names if n in bs]
    return max(vals) if vals else None


def _eye_ratio(ff: FaceFeatures, calib: Calibration, side: str) -> float | None:
    """This eye's opening relative to its open level: the iris model's lid gap when there, else EAR."""
    for key in (f"eye_open_{side}", f"ear_{side}"):
        v = getattr(ff, key)
        level = calib.eye_level(key)
        if v is not None and level is not None and level > 1e-6:
            return v / level
    return None


def _smile(ff: FaceFeatures) -> float | None:
    return _score(ff.blendshapes, "mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight")


def lid_opening(ff: FaceFeatures, side: str) -> float | None:
    """1 - eyeBlink of this eye (the driver's side: MediaPipe's eyeBlinkLeft is the driver's left)."""
    b = _score(ff.blendshapes, "eyeBlinkLeft" if side == "left" else "eyeBlinkRight")
    return None if b is None else 1.0 - min(max(b, 0.0), 1.0)


def _blend_ratio(ff: FaceFeatures, calib: Calibration, side: str) -> float | None:
    v = lid_opening(ff, side)
    level = calib.eye_level(f"lid_{side}")
    return None if v is None or level is None or level <= 1e-6 else v / level


def _mean(v: list[float]) -> float | None:
    return sum(v) / len(v) if v else None


def _closure(ratio: float, closed_level: float) -> float:
    return min(max((1.0 - ratio) / (1.0 - closed_level), 0.0), 1.0)


def _rel(v: float | None, neutral: float) -> float | None:
    return None if v is None else v - neutral


def derive(ff: FaceFeatures, calib: Calibration, cfg: MonitorConfig, squeezed: bool = False) -> Signals:
    """`squeezed`: the previous frame's eyes were squeezed by a laugh (Signals.squeeze)."""
    s = Signals(t=ff.t, face=ff.face, brightness=ff.brightness)
    s.closure_trusted = not calib.calibrated or calib.blinks_seen()
    if not ff.face:
        return s
    s.yaw = _rel(ff.yaw, calib.neutral("yaw"))
    s.pitch = _rel(ff.pitch, calib.neutral("pitch"))
    gy = _rel(ff.gaze_yaw, calib.neutral("gaze_yaw"))
    gp = _rel(ff.gaze_pitch, calib.neutral("gaze_pitch"))
    if s.yaw is not None:
        s.dir_yaw = s.yaw + (gy or 0.0)
    if s.pitch is not None:
        s.dir_pitch = s.pitch + (gp or 0.0)
    if ff.mar is not None:
        s.mar, s.mar_abs = ff.mar - calib.neutral_mar(), ff.mar
    jaw = _score(ff.blendshapes, "jawOpen")
    if jaw is not None:
        s.jaw = jaw - calib.neutral_jaw()

    ec = cfg.eyes
    smile, rest = _smile(ff), calib.neutral_smile()
    # the rise needed is a share of the headroom above the resting smile: a face that rests smiling
    # (0.9) cannot rise by 0.6, yet its laugh saturates the score
    if smile is not None and rest is not None:
        rise = max(ec.squeeze_smile * (1.0 - rest), SQUEEZE_MIN_RISE) * (SQUEEZE_STAY if squeezed else 1.0)
        s.squeeze = smile - rest >= rise
    if s.yaw is not None and abs(s.yaw) > ec.max_yaw_deg:
        return s  # profile view: eye opening is not measurable
    geo_level = calib.closed_level("geometry", ec.closed_level, ec.closed_level_max)
    blend_level = calib.closed_level("blendshape", ec.blend_closed_level, ec.blend_closed_level_max)
    geo, blend, closures = [], [], []
    for side in ("left", "right"):
        vis = getattr(ff, f"eye_visibility_{side}")
        has_signal = getattr(ff, f"eye_open_{side}") is not None or getattr(ff, f"ear_{side}") is not None
        if not has_signal or (vis is not None and vis < ec.min_visibility):
            continue
        s.eyes_observable = True
        eye = []
        r = _eye_ratio(ff, calib, side)
        if r is not None:
            geo.append(r)
            eye.append(_closure(r, geo_level))
        rb = _blend_ratio(ff, calib, side)
        if rb is not None:
            blend.append(rb)
            eye.append(_closure(rb, blend_level))
        if eye:
            closures.append(max(eye))
    s.lid_ratios = {"geometry": _mean(geo), "blendshape": _mean(blend)}
    s.closures = {"geometry": _mean([_closure(r, geo_level) for r in geo]),
                  "blendshape": _mean([_closure(r, blend_level) for r in blend])}
    s.openness = _mean(geo) if geo else _mean(blend)
    if closures:
        s.closure = _mean(closures)
        if s.squeeze:
            s.closure = min(s.closure, ec.onset_closure)
    return s


def learn(calib: Calibration, ff: FaceFeatures, s: Signals, dt: float, cfg: MonitorConfig) -> None:
    """Feed the baseline from this frame when it shows the driver's normal state: face visible,
    roughly forward (mirror checks must not move 'forward'), eyes open for the pose (the iris gaze
    under closed lids is meaningless), not looking down for the eye level."""
    if not ff.face:
        return
    lim = cfg.calibration.max_pose_deg
    forward = all(v is None or abs(v) <= lim for v in (s.yaw, s.pitch))
    if not forward:
        return
    calib.add_time(ff.t, dt)
    calib.add_mouth(ff.t, ff.mar, _score(ff.blendshapes, "jawOpen"), _smile(ff))
    down = s.dir_pitch is not None and s.dir_pitch < -cfg.eyes.down_exit_deg
    if s.eyes_observable and not down and not s.squeeze:
        # A measure's closed frames are left out once it has a level (the open level is the open
        # eye's); half-open ones still count, so a level learned while wide-eyed always comes down.
        c = s.closures or {}
        shut = lambda k: c.get(k) is not None and c[k] >= cfg.eyes.blink_closure  # noqa: E731
        if not shut("geometry"):
            calib.add_eyes(ff.t, {"eye_open_left": ff.eye_open_left, "eye_open_right": ff.eye_open_right,
                                  "ear_left": ff.ear_left, "ear_right": ff.ear_right})
        if not shut("blendshape"):
            calib.add_eyes(ff.t, {"lid_left": lid_opening(ff, "left"), "lid_right": lid_opening(ff, "right")})
        if s.lid_ratios is not None:
            calib.add_dips(ff.t, s.lid_ratios)
    elif s.lid_ratios is not None:
        calib.add_dips(ff.t, dict.fromkeys(s.lid_ratios))  # a glance down or a squeeze is no blink
    if s.closure is None or s.closure < cfg.eyes.onset_closure:
        calib.add_pose(ff.t, {"yaw": ff.yaw, "pitch": ff.pitch, "gaze_yaw": ff.gaze_yaw,
                              "gaze_pitch": ff.gaze_pitch})
