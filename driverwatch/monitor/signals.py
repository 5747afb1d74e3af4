"""Layer 1: one frame's FaceFeatures -> signals relative to the driver's baseline.

Pure functions of the sample and the calibration: non-finite numbers become unknown (None), eye
opening becomes a closure 0..1 against the driver's own open level (glasses that lower EAR do not
look closed), angles become offsets from the driver's neutral pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from driverwatch.config.monitor import MonitorConfig
from driverwatch.monitor.calibration import Calibration
from driverwatch.samples import FaceFeatures

NUMERIC = ("face_score", "ear_left", "ear_right", "eye_open_left", "eye_open_right", "eye_visibility_left",
           "eye_visibility_right", "mar", "yaw", "pitch", "roll", "gaze_yaw", "gaze_pitch", "brightness")


def sanitize(ff: FaceFeatures) -> tuple[FaceFeatures, bool]:
    """A copy with NaN / inf / non-numbers replaced by None; True if anything was replaced."""
    kw = {}
    bad = False
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


def _eye_ratio(ff: FaceFeatures, calib: Calibration, side: str) -> float | None:
    """This eye's opening relative to its open level: the iris model's lid gap when there, else EAR."""
    for key in (f"eye_open_{side}", f"ear_{side}"):
        v = getattr(ff, key)
        level = calib.eye_level(key)
        if v is not None and level is not None and level > 1e-6:
            return v / level
    return None


def _rel(v: float | None, neutral: float) -> float | None:
    return None if v is None else v - neutral


def derive(ff: FaceFeatures, calib: Calibration, cfg: MonitorConfig) -> Signals:
    s = Signals(t=ff.t, face=ff.face, brightness=ff.brightness)
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
        s.mar = ff.mar - calib.neutral_mar()

    ec = cfg.eyes
    if s.yaw is not None and abs(s.yaw) > ec.max_yaw_deg:
        return s  # profile view: eye opening is not measurable
    ratios = []
    for side in ("left", "right"):
        vis = getattr(ff, f"eye_visibility_{side}")
        has_signal = getattr(ff, f"eye_open_{side}") is not None or getattr(ff, f"ear_{side}") is not None
        if not has_signal or (vis is not None and vis < ec.min_visibility):
            continue
        s.eyes_observable = True
        r = _eye_ratio(ff, calib, side)
        if r is not None:
            ratios.append(r)
    if ratios:
        s.openness = sum(ratios) / len(ratios)
        s.closure = min(max((1.0 - s.openness) / (1.0 - ec.closed_level), 0.0), 1.0)
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
    calib.add_mar(ff.t, ff.mar)
    down = s.dir_pitch is not None and s.dir_pitch < -cfg.eyes.down_exit_deg
    if s.eyes_observable and not down:
        calib.add_eyes(ff.t, {"eye_open_left": ff.eye_open_left, "eye_open_right": ff.eye_open_right,
                              "ear_left": ff.ear_left, "ear_right": ff.ear_right})
    if s.closure is None or s.closure < cfg.eyes.onset_closure:
        calib.add_pose(ff.t, {"yaw": ff.yaw, "pitch": ff.pitch, "gaze_yaw": ff.gaze_yaw,
                              "gaze_pitch": ff.gaze_pitch})
