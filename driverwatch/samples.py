"""The records that flow between the stages. Every record carries `t`: seconds on its source's
clock (a video's own timestamps on replay, a monotonic clock live), never a frame counter.

Eye and side conventions: "left" and "right" are the *driver's* left and right (MediaPipe's
landmark 263 is the outer corner of the driver's left eye). Angles are degrees; positive yaw = the
driver turns to their left, positive pitch = up, positive roll = head tilts to the driver's left.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        elif isinstance(v, tuple):
            v = [float(x) for x in v]
        elif isinstance(v, dict):
            v = _jsonable(v)
        out[k] = v
    return out


@dataclass(frozen=True, slots=True)
class Frame:
    t: float  # seconds
    image: np.ndarray  # uint8, HxWx3 BGR or HxW gray (IR cameras)
    index: int = 0  # sequence number for logs only; never used for timing


@dataclass(slots=True)
class FaceFeatures:
    """Per-frame face features. None means unknown (no face, or not measurable in this frame)."""

    t: float
    face: bool = False
    face_score: float | None = None  # landmark model's face presence, 0..1
    ear_left: float | None = None  # eye aspect ratio from the eye contour
    ear_right: float | None = None
    eye_open_left: float | None = None  # eyelid gap from the iris model / eye width
    eye_open_right: float | None = None
    eye_visibility_left: float | None = None  # 0..1, how well the eye region can be seen
    eye_visibility_right: float | None = None
    mar: float | None = None  # mouth aspect ratio
    yaw: float | None = None
    pitch: float | None = None
    roll: float | None = None
    gaze_yaw: float | None = None  # eye-in-head direction, degrees, same signs as head yaw/pitch
    gaze_pitch: float | None = None
    face_box: tuple[float, float, float, float] | None = None  # x, y, w, h as fractions of the frame
    brightness: float | None = None  # mean luma of the whole frame, 0..255 (dark / blocked camera)
    # Expression scores 0..1 from the blendshape model, MediaPipe's names (e.g. "eyeBlinkLeft",
    # "browDownLeft", "jawOpen"); only the scores the monitor uses. None = not computed / unknown.
    blendshapes: dict[str, float] | None = None

    def to_json(self) -> dict:
        """Exact values (a saved frames file replays to the same events), NaN / inf as null."""
        return _jsonable(asdict(self))

    @classmethod
    def from_json(cls, d: dict) -> FaceFeatures:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if kw.get("blendshapes") is not None:
            kw["blendshapes"] = {k: (math.nan if v is None else float(v)) for k, v in kw["blendshapes"].items()}
        if kw.get("face_box") is not None:
            kw["face_box"] = tuple(kw["face_box"])
        return cls(**kw)


@dataclass(slots=True)
class HeartFeatures:
    """Heart-rate features over a rolling window ending at `t`. None = unknown."""

    t: float
    hr: float | None = None  # bpm
    rmssd: float | None = None  # ms
    sdnn: float | None = None  # ms
    pnn50: float | None = None  # fraction 0..1
    lf_hf: float | None = None  # only with enough clean RR (minutes); else None
    quality: float | None = None  # share of accepted beats in the window, 0..1
    window_s: float | None = None  # seconds of data the window actually covers
    n_beats: int = 0
    sensor_ok: bool = True  # False while the sensor is lost

    def to_json(self) -> dict:
        return _jsonable(asdict(self))


@dataclass(frozen=True, slots=True)
class SpeedSample:
    t: float
    kmh: float
