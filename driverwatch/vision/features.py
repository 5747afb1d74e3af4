"""Per-frame face features from the 468 face-mesh points and the two iris-model eyes.

All functions are pure (numpy in, floats out). Conventions are those of driverwatch.samples:
"left"/"right" are the driver's; positive yaw = the driver turns to their left, positive pitch = up,
positive roll = head tilts to the driver's left.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np

# ---- eye and mouth openness ------------------------------------------------------------------

# Soukupová & Čech (2016), "Real-Time Eye Blink Detection using Facial Landmarks": six points
# p1..p6 = outer corner, two upper-lid points, inner corner, two lower-lid points;
# EAR = (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|), in the image plane. Open eyes ≈ 0.25-0.35, closed < 0.1.
EAR_RIGHT = (33, 160, 158, 133, 153, 144)
EAR_LEFT = (263, 387, 385, 362, 380, 373)
# Mouth aspect ratio: mean of three inner-lip gaps (left, centre, right) / inner mouth width.
MOUTH_GAPS = ((82, 87), (13, 14), (312, 317))
MOUTH_CORNERS = (78, 308)


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return math.hypot(float(a[0] - b[0]), float(a[1] - b[1]))


def _gaps(pts: np.ndarray, a, b) -> list[float]:
    """Image-plane distances between pts[a[k]] and pts[b[k]] (plain floats: numpy's per-call
    overhead is most of the cost on a handful of points)."""
    return [math.hypot(xa - xb, ya - yb)
            for (xa, ya), (xb, yb) in zip(pts[list(a), :2].tolist(), pts[list(b), :2].tolist(), strict=True)]


def eye_aspect_ratio(lm: np.ndarray, idx: tuple[int, ...]) -> float | None:
    width, v1, v2 = _gaps(lm, idx[0:3], (idx[3], idx[5], idx[4]))
    return None if width < 1e-6 else (v1 + v2) / (2 * width)


def eye_openness(contour: np.ndarray) -> float | None:
    """Eyelid gap / eye width from the iris model's refined contour (finer than the face mesh's
    eye): mean distance of the three middle upper/lower lid pairs (contour 11/3, 12/4, 13/5)
    divided by the corner distance (0/8). Open ≈ 0.25-0.4, closed < 0.1."""
    width = _dist(contour[0], contour[8])
    if width < 1e-6:
        return None
    return sum(_gaps(contour, (11, 12, 13), (3, 4, 5))) / 3 / width


def mouth_aspect_ratio(lm: np.ndarray) -> float | None:
    width = _dist(lm[MOUTH_CORNERS[0]], lm[MOUTH_CORNERS[1]])
    if width < 1e-6:
        return None
    return sum(_gaps(lm, *zip(*MOUTH_GAPS, strict=True))) / len(MOUTH_GAPS) / width


# ---- head pose -------------------------------------------------------------------------------

_CANONICAL = np.array(
    json.loads((Path(__file__).parent / "data" / "canonical_face_model.json").read_text())["vertices"],
    np.float64)
# Fit only points above the mouth (forehead, brows, eyes, nose, cheeks): the jaw and lips move
# when talking or yawning and would tilt the fitted pitch.
_RIGID = np.flatnonzero(_CANONICAL[:, 1] > -2.5)
_CANON_RIGID = _CANONICAL[_RIGID] - _CANONICAL[_RIGID].mean(0)
_CANON_RIGID_SS = float((_CANON_RIGID**2).sum())


# The landmark model's depth (z) is its least reliable output: learnt, and it moves with the
# mouth (an open jaw added ~5 degrees of pitch-up on rendered faces of known pose). So only the
# image positions are fitted: each point's depth is the posed canonical face's, alternating with
# the fit (orthographic Procrustes with unknown depths; every step lowers the same squared error).
POSE_ITERATIONS = 8


_CANON_GRAM = _CANON_RIGID.T @ _CANON_RIGID
_FLIP_YZ = np.array([[1.0], [-1.0], [-1.0]])  # image (x right, y down, z away) -> camera frame


def _rotation_fit(m: np.ndarray) -> tuple[np.ndarray, float]:
    """R and scale s of the least-squares similarity canonical -> p (both centred), from the
    cross-covariance m = pᵀ·canonical."""
    # OpenCV's SVD: no BLAS/LAPACK thread pools for a 3x3 problem
    w, u, vt = cv2.SVDecomp(m)
    r = u @ vt
    if _det3(r) < 0:  # a reflection (det u * det vt = det r): flip the weakest axis
        u[:, 2] *= -1
        w[2] *= -1
        r = u @ vt
    return r, float(w.sum()) / _CANON_RIGID_SS


def _det3(r: np.ndarray) -> float:
    """det of a 3x3 in plain floats (np.linalg.det costs ~10 us per call, 18 calls a frame)."""
    a, b, c, d, e, f, g, h, i = r.ravel().tolist()
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def head_rotation(lm: np.ndarray) -> np.ndarray:
    """Rotation R (3x3) with camera ≈ s·R·canonical + t: a least-squares similarity fit (Umeyama
    1991) of MediaPipe's canonical face model (Apache-2.0, google/mediapipe face_geometry) to the
    landmarks' image positions (see POSE_ITERATIONS), in a right-handed camera frame x = image
    right, y = up, z = towards the camera (the model's depth, growing away from the camera, only
    seeds the first fit). Each refit is a 3x3 problem: with depths s·canonical·r₂ the depth row
    of the cross-covariance is s·r₂·(canonicalᵀ·canonical)."""
    # (the canonical points are centred, so centring the landmarks would not change m)
    m = (lm[_RIGID].T.astype(np.float64) @ _CANON_RIGID) * _FLIP_YZ
    r, s = _rotation_fit(m)
    for _ in range(POSE_ITERATIONS):
        m[2] = s * (r[2] @ _CANON_GRAM)
        r, s = _rotation_fit(m)
    return r


def euler_angles(r: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the face's forward axis f = R·z and side axis a = R·x
    (canonical +x points to the driver's left): yaw = atan2(f_x, f_z) (nose to image right = the
    driver's left), pitch = asin(f_y) (nose up), roll = atan2(-a_y, a_x) (the driver's left eye
    lower = head tilted to their left)."""
    f, a = r[:, 2], r[:, 0]
    yaw = math.degrees(math.atan2(f[0], f[2]))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, f[1]))))
    roll = math.degrees(math.atan2(-a[1], a[0]))
    return yaw, pitch, roll


# ---- gaze ------------------------------------------------------------------------------------

# Eyeball model: the iris centre sits on a sphere of radius EYE_RADIUS_MM around the eye's centre
# of rotation (≈ 10-11 mm: rotation centre ~13.5 mm behind the cornea apex, iris plane ~3 mm
# behind it), and the visible iris is IRIS_DIAMETER_MM wide (horizontal visible iris diameter,
# 11.7 ± 0.5 mm across adults, so it gives the image scale in pixels per mm without calibration).
# Looking straight ahead the iris centre lies midway between the eye corners horizontally and
# IRIS_ABOVE_CORNERS_MM above the corner line: calibrated on the two frontal, camera-looking faces
# in ../shared (talkingface clip median, astronaut image; both ≈ 1.7-2.1 mm).
EYE_RADIUS_MM = 10.5
IRIS_DIAMETER_MM = 11.7
IRIS_ABOVE_CORNERS_MM = 1.9


def eye_gaze(eye) -> tuple[float, float] | None:
    """(yaw, pitch) of one eye in the head, degrees: the iris centre's offset from its straight-ahead
    position (see above), along and across the corner line, converted to mm with the iris diameter, then to
    an angle with asin(offset / eyeball radius)."""
    c = eye.contour
    a, b = (c[0], c[8]) if c[0, 0] <= c[8, 0] else (c[8], c[0])  # image-left, image-right corner
    axis = b - a
    n = float(np.hypot(*axis))
    iris = eye.iris
    diam = (_dist(iris[1], iris[3]) + _dist(iris[2], iris[4])) / 2
    if n < 1e-6 or diam < 1e-6:
        return None
    e = axis / n
    off = iris[0] - (a + b) / 2
    mm = IRIS_DIAMETER_MM / diam
    along = float(off @ e) * mm  # + = towards image right = the driver's left
    across = float(off @ np.array([-e[1], e[0]])) * mm + IRIS_ABOVE_CORNERS_MM  # + = down
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, along / EYE_RADIUS_MM))))
    pitch = -math.degrees(math.asin(max(-1.0, min(1.0, across / EYE_RADIUS_MM))))
    return yaw, pitch


# ---- eye visibility --------------------------------------------------------------------------

# Skin reference points: forehead (151, 108, 337) and cheeks under the eyes (205, 425, 50, 280),
# outside any sunglasses.
SKIN_POINTS = (151, 108, 337, 205, 425, 50, 280)
# The eye patch inside the 64x64 iris crop: the corners lie at about 32 ± 14 px (the crop is 2.3
# eye widths wide), and the lid opening within ±5 px of the corner line.
_EYE_PATCH = (slice(27, 38), slice(19, 46))
# Eye-direction model for the geometric term: each eye looks out EYE_OUTWARD_DEG from the face's
# forward axis (the orbits face slightly sideways); an eye is fully observable up to VIS_FULL_DEG
# between that direction and the camera, and hidden (by the nose bridge / foreshortening) from
# VIS_NONE_DEG (with MediaPipe's mesh, the far eye at ~45-50° head yaw).
EYE_OUTWARD_DEG = 15.0
VIS_FULL_DEG, VIS_NONE_DEG = 35.0, 65.0
# Appearance term: a sunglass lens turns nearly the whole eye patch much darker than the skin. An
# open or closed eye leaves most of it bright (sclera, lid skin) and darkens only the iris and the
# lash line. Measured share of patch pixels under LENS_LUMA x skin luma (scripts/eye_patches.py):
# open and closed eyes 0.0-0.56 on seven rendered faces in colour and IR, 0.12-0.44 on the real
# talkingface clip; rendered lenses 0.98-1.0. The share ignores the lens rim the mesh often puts
# its lower lid on, whose bright edge made a texture measure read a lens as an eye.
LENS_LUMA = 0.35
LENS_SHARE_FULL, LENS_SHARE_NONE = 0.7, 0.9  # fully observable up to 0.7, hidden from 0.9
MIN_SKIN_LUMA = 12.0  # 0..255: below this the face itself is too dark to judge (unlit IR, night)


_SKIN = np.array(SKIN_POINTS)
_NEIGHBOURS = np.array([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
_LUMA_BGR = np.array([0.114, 0.587, 0.299], np.float32)


def skin_luma(image: np.ndarray, lm: np.ndarray) -> float | None:
    """Median luma (0..255) of 3x3 patches at SKIN_POINTS inside the frame."""
    h, w = image.shape[:2]
    xy = np.rint(lm[_SKIN, :2]).astype(np.intp)
    xy = xy[(xy[:, 0] >= 1) & (xy[:, 0] < w - 1) & (xy[:, 1] >= 1) & (xy[:, 1] < h - 1)]
    if not len(xy):
        return None
    px = image[xy[:, 1, None] + _NEIGHBOURS[:, 0], xy[:, 0, None] + _NEIGHBOURS[:, 1]].astype(np.float32)
    means = px.mean(1)
    vals = sorted(((means * _LUMA_BGR).sum(1) if image.ndim == 3 else means.ravel()).tolist())
    return (vals[(len(vals) - 1) // 2] + vals[len(vals) // 2]) / 2  # median


def _ramp(x: float, lo: float, hi: float) -> float:
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def lens_share(eye, skin: float) -> float:
    """Share of the iris crop's eye patch darker than LENS_LUMA x `skin` (a sunglass lens: ~1)."""
    patch = cv2.cvtColor(eye.crop[_EYE_PATCH], cv2.COLOR_RGB2GRAY)
    return float(np.count_nonzero(patch < LENS_LUMA * skin)) / patch.size


def eye_visibility(eye, rotation: np.ndarray, side: int, skin: float | None) -> float:
    """0..1 = geometric term x appearance term.
    Geometric: the angle θ between the camera axis and the eye's outward direction (head rotation
    applied to a forward vector turned EYE_OUTWARD_DEG to that eye's side); 1 up to VIS_FULL_DEG,
    falling linearly (in cos θ) to 0 at VIS_NONE_DEG.
    Appearance: 1 - ramp(LENS_SHARE_FULL..LENS_SHARE_NONE) of lens_share. 0 if the skin is darker
    than MIN_SKIN_LUMA."""
    sgn = 1.0 if side == 1 else -1.0  # canonical +x = the driver's left
    o = math.radians(EYE_OUTWARD_DEG)
    cos_t = float(rotation[2] @ np.array([sgn * math.sin(o), 0.0, math.cos(o)]))
    geom = _ramp(cos_t, math.cos(math.radians(VIS_NONE_DEG)), math.cos(math.radians(VIS_FULL_DEG)))
    if skin is None or skin < MIN_SKIN_LUMA:
        return 0.0
    return geom * (1.0 - _ramp(lens_share(eye, skin), LENS_SHARE_FULL, LENS_SHARE_NONE))
