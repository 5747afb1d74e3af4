"""Face mesh: face_landmark.tflite, 192x192 rotated crop in [0, 1] -> 468 points + face presence;
FaceMesh V2 (the Face Landmarker bundle's face_landmarks_detector.tflite), 256x256 -> 478 points
(468 mesh + iris 468-472 driver's right, 473-477 driver's left) + face presence."""

from __future__ import annotations

import numpy as np

from driverwatch.vision.detector import Detection, to_rgb
from driverwatch.vision.litert import Model
from driverwatch.vision.roi import Roi, points_roi, rect_to_roi

SIZE = 192
ROI_SCALE = 1.5  # MediaPipe: the face box (from detection or last landmarks) grown by 1.5
EYE_OUTER_RIGHT, EYE_OUTER_LEFT = 33, 263  # driver's right / left eye outer corners


def detection_roi(det: Detection) -> Roi:
    """Landmark ROI from a detection: box centre, rotation from the eye keypoints."""
    x0, y0, x1, y1 = det.box
    return rect_to_roi(x0, y0, x1, y1, det.keypoints[0], det.keypoints[1], ROI_SCALE)


def tracking_roi(landmarks: np.ndarray) -> Roi:
    """Next frame's ROI from this frame's landmarks, rotated so that 33 -> 263 is horizontal."""
    return points_roi(landmarks, EYE_OUTER_RIGHT, EYE_OUTER_LEFT, ROI_SCALE)


class FaceLandmarker:
    def __init__(self, model_path, num_threads: int = 2):
        self.model = Model(model_path, num_threads)

    def __call__(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        """(468, 3) float32 image-pixel landmarks (z scaled like x) and the face presence 0..1."""
        self.model.set_input(0, to_rgb(roi.crop(image, SIZE)), 1 / 255.0)  # [0, 1]
        out = self.model.invoke()
        pts = out["conv2d_21"].reshape(468, 3)
        score = float(1 / (1 + np.exp(-np.clip(out["conv2d_31"].item(), -100, 100))))
        return roi.to_image(pts, SIZE), score


class FaceLandmarkerV2:
    SIZE = 256

    def __init__(self, model, num_threads: int = 2):
        """`model`: a .tflite path or (name, bytes) from the bundle."""
        self.model = Model(model, num_threads)

    def __call__(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        """(478, 3) float32 image-pixel landmarks (z scaled like x) and the face presence 0..1."""
        self.model.set_input(0, to_rgb(roi.crop(image, self.SIZE)), 1 / 255.0)  # [0, 1]
        out = self.model.invoke()
        pts = out["Identity"].reshape(478, 3)
        score = float(1 / (1 + np.exp(-np.clip(out["Identity_1"].item(), -100, 100))))
        return roi.to_image(pts, self.SIZE), score
