"""The face pipeline: frame -> driver's face landmarks, eyes and per-frame features.

Detection runs only when there is no face to track: as in MediaPipe FaceMesh, the ROI for the next
frame comes from this frame's landmarks (rotated square around them, 1.5x), and tracking is lost
when the landmark model's face-presence score drops below `min_tracking_confidence` or the ROI
centre leaves the frame. Unlike MediaPipe, a lost track is re-detected in the same frame.

Face models (`VisionConfig.face_model`): the 468-point mesh + the iris model ('mesh-iris'), the same
feeding the blendshape model ('mesh-iris-blendshapes'), or FaceMesh V2 (478 points incl. iris) +
blendshapes ('facemesh-v2'); the last two need the Face Landmarker bundle, without which they run
as 'mesh-iris' with expression scores unknown (said once, in the log).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from driverwatch.config.vision import VisionConfig
from driverwatch.errors import InputError
from driverwatch.samples import FaceFeatures, Frame
from driverwatch.vision import features as F
from driverwatch.vision.blendshapes import BlendshapeModel
from driverwatch.vision.detector import Detection, FaceDetector
from driverwatch.vision.iris import Eye, IrisLandmarker, eyes_from_mesh, mesh_with_iris
from driverwatch.vision.landmarks import FaceLandmarker, FaceLandmarkerV2, detection_roi, tracking_roi
from driverwatch.vision.models import BUNDLE, BUNDLE_HINT, load_bundle, resolve_models_dir, verify_models
from driverwatch.vision.roi import Roi

log = logging.getLogger(__name__)
STAGES = ("detect", "roi", "landmarks", "iris", "blendshapes", "features")


@dataclass(slots=True)
class FaceResult:
    features: FaceFeatures
    landmarks: np.ndarray | None = None  # (468|478, 3) float32 image pixels, z scaled like x
    eyes: tuple[Eye, Eye] | None = None  # (driver's right, driver's left)
    timings: dict[str, float] = field(default_factory=dict)  # stage -> ms
    detected: bool = False  # the face detector ran on this frame


def check_image(image) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise InputError(f"frame image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(f"frame image must be uint8, got {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))):
        raise InputError(f"frame image must be HxW gray or HxWx3 BGR, got shape {image.shape}")
    if image.shape[0] < 16 or image.shape[1] < 16:
        raise InputError(f"frame image is empty or too small: {image.shape[1]}x{image.shape[0]}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return np.ascontiguousarray(image)  # views such as img[:, ::-1] (OpenCV needs positive strides)


def brightness(image: np.ndarray) -> float:
    """Mean luma of the whole frame, 0..255 (BT.601 weights on the channel means)."""
    m = cv2.mean(image)
    return m[0] if image.ndim == 2 else 0.114 * m[0] + 0.587 * m[1] + 0.299 * m[2]


class FacePipeline:
    def __init__(self, cfg: VisionConfig | None = None):
        self.cfg = cfg = cfg or VisionConfig()
        d = resolve_models_dir(cfg)
        verify_models(d)
        self.detector = FaceDetector(d / "face_detection_short_range.tflite", cfg.num_threads,
                                     cfg.min_detection_confidence)
        bundle = load_bundle(d) if cfg.face_model != "mesh-iris" else None
        if bundle is None and cfg.face_model != "mesh-iris":
            log.warning("%s not installed in %s: expression scores unknown, face model %r runs as "
                        "'mesh-iris' (%s)", BUNDLE, d, cfg.face_model, BUNDLE_HINT)
        self.face_model = cfg.face_model if bundle is not None else "mesh-iris"
        self.v2 = self.face_model == "facemesh-v2"
        if self.v2:
            name = "face_landmarks_detector.tflite"
            self.landmarker = FaceLandmarkerV2((name, bundle[name]), cfg.num_threads)
            self.iris = None
        else:
            self.landmarker = FaceLandmarker(d / "face_landmark.tflite", cfg.num_threads)
            self.iris = IrisLandmarker(d / "iris_landmark.tflite", cfg.num_threads)
        name = "face_blendshapes.tflite"
        self.blendshapes = BlendshapeModel((name, bundle[name]), cfg.num_threads) if bundle else None
        self._roi: Roi | None = None

    def reset(self) -> None:
        """Forget the tracked face: the next frame runs detection."""
        self._roi = None

    def _choose(self, dets: list[Detection], w: int, h: int) -> Detection:
        if self.cfg.driver_face == "central":
            c = np.array([w / 2, h / 2])
            return min(dets, key=lambda d: float(np.hypot(*(d.centre - c))))
        return max(dets, key=lambda d: d.area)

    def process(self, frame: Frame) -> FaceResult:
        image = check_image(frame.image)
        h, w = image.shape[:2]
        ms: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        t0 = time.perf_counter()
        feats = FaceFeatures(t=frame.t, brightness=brightness(image))
        ms["features"] = (time.perf_counter() - t0) * 1e3
        res = FaceResult(feats, timings=ms)

        lm, score = None, 0.0
        if self._roi is not None:
            t0 = time.perf_counter()
            lm, score = self.landmarker(image, self._roi)
            ms["landmarks"] += (time.perf_counter() - t0) * 1e3
        if lm is None or score < self.cfg.min_tracking_confidence:
            t0 = time.perf_counter()
            dets = self.detector(image)
            ms["detect"] = (time.perf_counter() - t0) * 1e3
            res.detected = True
            lm = None
            if dets:
                t0 = time.perf_counter()
                roi = detection_roi(self._choose(dets, w, h))
                t1 = time.perf_counter()
                lm, score = self.landmarker(image, roi)
                ms["roi"] += (t1 - t0) * 1e3
                ms["landmarks"] += (time.perf_counter() - t1) * 1e3
        if lm is None or score < self.cfg.min_tracking_confidence:
            self._roi = None
            feats.face_score = score if lm is not None else None
            return res

        t0 = time.perf_counter()
        roi = tracking_roi(lm)
        self._roi = roi if roi.inside(w, h) else None
        t1 = time.perf_counter()
        eyes = eyes_from_mesh(image, lm) if self.v2 else self.iris(image, lm)
        t2 = time.perf_counter()
        if self.blendshapes is not None:
            feats.blendshapes = self.blendshapes(lm if self.v2 else mesh_with_iris(lm, eyes))
        t3 = time.perf_counter()
        fill_features(feats, image, lm, eyes, score)
        t4 = time.perf_counter()
        ms["roi"] += (t1 - t0) * 1e3
        ms["iris"] = (t2 - t1) * 1e3
        ms["blendshapes"] = (t3 - t2) * 1e3
        ms["features"] += (t4 - t3) * 1e3
        res.landmarks, res.eyes = lm, eyes
        return res


def fill_features(feats: FaceFeatures, image: np.ndarray, lm: np.ndarray, eyes: tuple[Eye, Eye],
                  score: float) -> None:
    h, w = image.shape[:2]
    feats.face = True
    feats.face_score = score
    feats.ear_right = F.eye_aspect_ratio(lm, F.EAR_RIGHT)
    feats.ear_left = F.eye_aspect_ratio(lm, F.EAR_LEFT)
    feats.eye_open_right = F.eye_openness(eyes[0].contour)
    feats.eye_open_left = F.eye_openness(eyes[1].contour)
    feats.mar = F.mouth_aspect_ratio(lm)
    r = F.head_rotation(lm)
    feats.yaw, feats.pitch, feats.roll = F.euler_angles(r)
    skin = F.skin_luma(image, lm)
    vis = [F.eye_visibility(e, r, side, skin) for side, e in enumerate(eyes)]
    feats.eye_visibility_right, feats.eye_visibility_left = vis
    # One gaze for both eyes: the visibility-weighted mean of the per-eye angles.
    gz = [(g, v) for g, v in zip((F.eye_gaze(e) for e in eyes), vis, strict=True) if g is not None]
    wsum = sum(v for _, v in gz)
    if wsum > 0:
        feats.gaze_yaw = sum(g[0] * v for g, v in gz) / wsum
        feats.gaze_pitch = sum(g[1] * v for g, v in gz) / wsum
    (x0, y0), (x1, y1) = lm[:, :2].min(0).tolist(), lm[:, :2].max(0).tolist()
    x0, x1 = max(0.0, min(x0, w)), max(0.0, min(x1, w))
    y0, y1 = max(0.0, min(y0, h)), max(0.0, min(y1, h))
    feats.face_box = (x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h)
    for k in ("ear_left", "ear_right", "eye_open_left", "eye_open_right", "mar"):
        v = getattr(feats, k)
        if v is not None and not math.isfinite(v):
            setattr(feats, k, None)
