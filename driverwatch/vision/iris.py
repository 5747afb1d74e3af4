"""Iris and refined eye contour: iris_landmark.tflite on both eyes as one batch of two 64x64 crops.

Each eye's crop is centred between its corners (33/133: driver's right eye, 362/263: left eye),
rotated along the corner line and 2.3x the corner distance wide (MediaPipe's iris graph). The model
is trained on one eye side, so the driver's left eye is mirrored in and out.

Refined contour order (71 points; MediaPipe's refinement mapping): 0 = outer corner, 1..7 = lower
lid from outer to inner, 8 = inner corner, 9..15 = upper lid from outer to inner, then outer
rings and the brow. Iris: 0 = centre, 1..4 = points on the iris boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from driverwatch.vision.detector import to_rgb
from driverwatch.vision.litert import Model
from driverwatch.vision.roi import Roi, rect_to_roi

SIZE = 64
SCALE = 2.3
# (start corner, end corner, mirrored): index 0 = driver's right eye, 1 = driver's left eye
EYES = ((33, 133, False), (362, 263, True))


@dataclass(slots=True)
class Eye:
    contour: np.ndarray  # (71, 2) image pixels
    iris: np.ndarray  # (5, 2) image pixels, centre first
    crop: np.ndarray  # (64, 64, 3) uint8 RGB as fed to the model (mirrored for the driver's left eye)


# The refined contour's first 16 points as face-mesh indices (MediaPipe's iris refinement mapping),
# per eye: outer corner, lower lid outer -> inner, inner corner, upper lid outer -> inner.
MESH_CONTOURS = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398),
)
MESH_IRIS = ((468, 469, 470, 471, 472), (473, 474, 475, 476, 477))


def eyes_from_mesh(image: np.ndarray, landmarks: np.ndarray) -> tuple[Eye, Eye]:
    """Eyes from a 478-point mesh (FaceMesh V2): its lid points as a 16-point contour in the
    refined contour's order, its iris points, and the eye crop the iris model would see."""
    out = []
    for k, (a, b, flip) in enumerate(EYES):
        crop = to_rgb(eye_roi(landmarks, a, b).crop(image, SIZE, flip))
        out.append(Eye(landmarks[list(MESH_CONTOURS[k]), :2], landmarks[list(MESH_IRIS[k]), :2], crop))
    return tuple(out)


def mesh_with_iris(landmarks: np.ndarray, eyes: tuple[Eye, Eye]) -> np.ndarray:
    """(478, 2): the 468-point mesh followed by both irises, as FaceMesh V2 numbers them (the
    mirrored left-eye crop lists its iris boundary points 1 and 3 the other way round)."""
    return np.concatenate([landmarks[:, :2], eyes[0].iris, eyes[1].iris[[0, 3, 2, 1, 4]]])


def eye_roi(landmarks: np.ndarray, a: int, b: int) -> Roi:
    pa, pb = landmarks[a, :2], landmarks[b, :2]
    lo, hi = np.minimum(pa, pb), np.maximum(pa, pb)
    return rect_to_roi(lo[0], lo[1], hi[0], hi[1], pa, pb, SCALE)


class IrisLandmarker:
    def __init__(self, model_path, num_threads: int = 2):
        self.model = Model(model_path, num_threads, batch=2)

    def __call__(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[Eye, Eye]:
        """(driver's right eye, driver's left eye) from one batched invoke."""
        rois, crops = [], []
        for k, (a, b, flip) in enumerate(EYES):
            rois.append(eye_roi(landmarks, a, b))
            crops.append(to_rgb(rois[-1].crop(image, SIZE, flip)))
            self.model.set_input(k, crops[-1], 1 / 255.0)  # [0, 1]
        out = self.model.invoke()
        contours = out["output_eyes_contours_and_brows"].reshape(2, 71, 3)
        irises = out["output_iris"].reshape(2, 5, 3)
        return tuple(
            Eye(roi.to_image(contours[k, :, :2], SIZE, flip), roi.to_image(irises[k, :, :2], SIZE, flip),
                crops[k])
            for k, (roi, (_, _, flip)) in enumerate(zip(rois, EYES, strict=True))
        )
