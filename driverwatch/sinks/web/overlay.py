"""The live page's picture and alignment guide, computed on the page's thread (never in the frame
loop): the camera image scaled down, with the face box, the 468 landmarks, the eye contours and
irises drawn on it, and the checks an installer aims the camera by."""

from __future__ import annotations

import math

import cv2
import numpy as np

# BGR. The face box is pure green so a test (or a person) can find it in a screenshot.
BOX = (0, 255, 0)
LANDMARK = (255, 255, 0)
EYE = (0, 255, 255)
IRIS = (255, 0, 255)

# Alignment limits: the face should fill a good part of the frame near its centre, lit, both eyes seen.
CENTRE_TOL = (0.18, 0.22)  # |face centre - frame centre| as fractions of the frame (x, y)
MIN_FACE_W, MAX_FACE_W = 0.18, 0.75  # face width / frame width
MIN_FACE_PX = 100  # face width in camera pixels: the landmark model reads 192 px crops
DARK, BRIGHT = 45.0, 215.0  # face luma 0..255
MIN_EYE_VIS = 0.5
MAX_YAW, MAX_PITCH = 30.0, 25.0  # degrees from the camera axis
# the iris model's first 16 contour points: outer corner, lower lid outer -> inner corner (0-8),
# upper lid outer -> inner (9-15); drawn as one closed lid line
LID_LOOP = np.r_[0:9, 15:8:-1]


def render(image: np.ndarray, landmarks: np.ndarray | None, eyes, face_box, width: int) -> np.ndarray:
    """A scaled copy of `image` (BGR) with the overlay; the input is never modified."""
    h, w = image.shape[:2]
    s = min(1.0, width / w)
    out = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_LINEAR) if s < 1 else image.copy()
    if out.ndim == 2:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    oh, ow = out.shape[:2]
    if landmarks is not None:
        pts = np.round(landmarks[:, :2] * s).astype(np.int32)
        ok = (pts[:, 0] >= 0) & (pts[:, 0] < ow - 1) & (pts[:, 1] >= 0) & (pts[:, 1] < oh - 1)
        x, y = pts[ok, 0], pts[ok, 1]
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):  # 2x2 dots, vectorised
            out[y + dy, x + dx] = LANDMARK
    if eyes is not None:
        for eye in eyes:
            cv2.polylines(out, [np.round(eye.contour[LID_LOOP] * s).astype(np.int32)], True, EYE, 1, cv2.LINE_AA)
            c = eye.iris[0] * s
            r = max(2.0, float(np.linalg.norm(eye.iris[1] - eye.iris[3])) * s / 2)
            cv2.circle(out, (round(c[0]), round(c[1])), round(r), IRIS, 1, cv2.LINE_AA)
    if face_box is not None:
        x0, y0, bw, bh = face_box
        cv2.rectangle(out, (round(x0 * ow), round(y0 * oh)), (round((x0 + bw) * ow), round((y0 + bh) * oh)), BOX, 2)
    # the target area of the alignment guide: a dashed-looking thin frame in the centre
    cx, cy = ow // 2, oh // 2
    cv2.drawMarker(out, (cx, cy), (200, 200, 200), cv2.MARKER_CROSS, 16, 1)
    return out


def face_luma(image: np.ndarray, face_box) -> float | None:
    """Mean luma inside the face box (the face's own lighting, not the cabin's)."""
    if face_box is None:
        return None
    h, w = image.shape[:2]
    x0, y0, bw, bh = face_box
    a, b = int(x0 * w), int((x0 + bw) * w)
    c, d = int(y0 * h), int((y0 + bh) * h)
    if b - a < 2 or d - c < 2:
        return None
    m = cv2.mean(image[c:d:2, a:b:2])
    return m[0] if image.ndim == 2 else 0.114 * m[0] + 0.587 * m[1] + 0.299 * m[2]


def _num(v, nd=1):
    return None if v is None or not math.isfinite(v) else round(v, nd)


def guide(features, image_shape, luma: float | None) -> dict:
    """The alignment checks: each {"ok": bool | None, "text": what it is or what to change}."""
    h, w = image_shape[:2]
    if not features.face or features.face_box is None:
        text = "no face found: aim the camera at the driver's face (about 50-80 cm away), check it is lit"
        return {"ok": False, "checks": {"face": {"ok": False, "text": text}}, "advice": [text]}
    x0, y0, bw, bh = features.face_box
    dx, dy = x0 + bw / 2 - 0.5, y0 + bh / 2 - 0.5
    checks = {"face": {"ok": True, "text": "face found"}}
    if abs(dx) <= CENTRE_TOL[0] and abs(dy) <= CENTRE_TOL[1]:
        checks["centred"] = {"ok": True, "text": "face centred"}
    else:
        # the camera's image is not mirrored: a face right of centre needs the camera turned right
        moves = ([f"turn the camera {'right' if dx > 0 else 'left'}"] if abs(dx) > CENTRE_TOL[0] else []) + \
                ([f"tilt the camera {'down' if dy > 0 else 'up'}"] if abs(dy) > CENTRE_TOL[1] else [])
        checks["centred"] = {"ok": False, "text": "face off centre: " + " and ".join(moves)}
    px = bw * w
    if bw < MIN_FACE_W or px < MIN_FACE_PX:
        checks["size"] = {"ok": False, "text": f"face too small ({bw:.0%} of the width, {px:.0f} px): "
                          "move the camera closer or use a narrower lens"}
    elif bw > MAX_FACE_W:
        checks["size"] = {"ok": False, "text": f"face too large ({bw:.0%} of the width): move the camera further away"}
    else:
        checks["size"] = {"ok": True, "text": f"face size good ({bw:.0%} of the width, {px:.0f} px)"}
    if luma is None:
        checks["light"] = {"ok": None, "text": "lighting unknown"}
    elif luma < DARK:
        checks["light"] = {"ok": False, "text": f"face too dark (luma {luma:.0f}): add light (IR at night) or raise exposure"}
    elif luma > BRIGHT:
        checks["light"] = {"ok": False, "text": f"face overexposed (luma {luma:.0f}): shade the camera or lower exposure"}
    else:
        checks["light"] = {"ok": True, "text": f"face well lit (luma {luma:.0f})"}
    vis = [features.eye_visibility_right, features.eye_visibility_left]
    hidden = [side for side, v in zip(("right", "left"), vis, strict=True) if v is None or v < MIN_EYE_VIS]
    if hidden:
        checks["eyes"] = {"ok": False, "text": f"driver's {' and '.join(hidden)} eye not clearly visible: "
                          "check glare on glasses, hair, or move the camera closer to the line of sight"}
    else:
        checks["eyes"] = {"ok": True, "text": "both eyes visible"}
    yaw, pitch = features.yaw, features.pitch
    if yaw is not None and pitch is not None and (abs(yaw) > MAX_YAW or abs(pitch) > MAX_PITCH):
        checks["angle"] = {"ok": False, "text": f"camera sees the face at yaw {yaw:.0f}°, pitch {pitch:.0f}°: mount it "
                           "closer to straight ahead of the driver (behind the wheel or on the A-pillar)"}
    else:
        checks["angle"] = {"ok": True if yaw is not None else None, "text": "camera angle good"}
    advice = [c["text"] for c in checks.values() if c["ok"] is False]
    return {"ok": not advice, "checks": checks, "advice": advice}


def readout(features) -> dict:
    """The numbers shown beside the image."""
    f = features
    return {"face": f.face, "face_score": _num(f.face_score, 2),
            "ear": [_num(f.ear_right, 3), _num(f.ear_left, 3)],
            "eye_open": [_num(f.eye_open_right, 3), _num(f.eye_open_left, 3)],
            "eye_visibility": [_num(f.eye_visibility_right, 2), _num(f.eye_visibility_left, 2)],
            "yaw": _num(f.yaw), "pitch": _num(f.pitch), "roll": _num(f.roll),
            "gaze_yaw": _num(f.gaze_yaw), "gaze_pitch": _num(f.gaze_pitch),
            "mar": _num(f.mar, 3), "brightness": _num(f.brightness, 0)}
