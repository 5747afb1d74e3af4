"""BlazeFace short-range face detector (face_detection_short_range.tflite, 128x128 input).

Anchors, box decoding and weighted NMS follow MediaPipe's face_detection_short_range graph
(SsdAnchorsCalculator + TensorsToDetectionsCalculator options)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from driverwatch.vision.litert import Model

SIZE = 128
NMS_IOU = 0.3  # MediaPipe: min_suppression_threshold


def ssd_anchors(size: int = SIZE, strides=(8, 16, 16, 16)) -> np.ndarray:
    """(896, 2) anchor centres in [0, 1]. With fixed_anchor_size every anchor is 1x1, and each
    layer puts 2 anchors per cell (aspect ratio 1 + the interpolated scale); consecutive layers
    with the same stride share their cells, so: 16x16x2 + 8x8x6 = 896."""
    centres = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)
        n = int(np.ceil(size / strides[i]))
        ys, xs = np.mgrid[0:n, 0:n]
        c = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(c, per_cell, axis=1).reshape(-1, 2))
        i = j
    return np.concatenate(centres).astype(np.float32)


ANCHORS = ssd_anchors()


@dataclass(slots=True)
class Detection:
    score: float
    box: np.ndarray  # x0, y0, x1, y1 in image pixels
    keypoints: np.ndarray  # (6, 2) pixels: driver's right eye, left eye, nose, mouth, right ear, left ear

    @property
    def area(self) -> float:
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))

    @property
    def centre(self) -> np.ndarray:
        return (self.box[:2] + self.box[2:]) / 2


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, kps: np.ndarray, iou: float = NMS_IOU):
    """MediaPipe's WEIGHTED non-max suppression: each cluster of overlapping candidates becomes one
    detection whose box and keypoints are the score-weighted mean of the cluster, with the score of
    its best member. Yields (score, box (4,), keypoints (6, 2))."""
    order = np.argsort(-scores)
    scores, boxes, kps = scores[order], boxes[order], kps[order]
    alive = np.ones(len(scores), bool)
    for i in range(len(scores)):
        if not alive[i]:
            continue
        member = alive & (_iou(boxes[i], boxes) > iou)
        member[i] = True
        w = scores[member][:, None]
        yield (float(scores[i]), (boxes[member] * w).sum(0) / w.sum(),
               (kps[member] * w[:, :, None]).sum(0) / w.sum())
        alive &= ~member


class FaceDetector:
    def __init__(self, model_path, num_threads: int = 2, min_score: float = 0.5):
        self.model = Model(model_path, num_threads)
        self.min_score = min_score

    def __call__(self, image: np.ndarray) -> list[Detection]:
        """Faces in a uint8 BGR or gray image, best score first (pixel coordinates)."""
        h, w = image.shape[:2]
        # Letterbox: scale the long side to 128 and centre, padding with black (as MediaPipe's
        # keep_aspect_ratio), in one warpAffine.
        s = SIZE / max(h, w)
        ox, oy = (SIZE - w * s) / 2, (SIZE - h * s) / 2
        m = np.array([[s, 0, ox], [0, s, oy]], np.float32)
        crop = cv2.warpAffine(image, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        self.model.set_input(0, to_rgb(crop), 2 / 255.0, -1.0)  # [-1, 1]
        out = self.model.invoke()
        raw = out["regressors"][0]
        logits = np.clip(out["classificators"][0, :, 0], -80, 80)
        scores = 1 / (1 + np.exp(-logits))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep], scores[keep], ANCHORS[keep]
        # Decode (x/y/w/h scale 128, anchors 1x1): offsets relative to the anchor centre.
        c = raw[:, :2] / SIZE + anchors
        half = raw[:, 2:4] / SIZE / 2
        boxes = np.concatenate([c - half, c + half], axis=1) * SIZE
        kps = (raw[:, 4:16].reshape(-1, 6, 2) / SIZE + anchors[:, None, :]) * SIZE
        # Undo the letterbox into image pixels.
        boxes = (boxes - [ox, oy, ox, oy]) / s
        kps = (kps - [ox, oy]) / s
        return [Detection(sc, b, k) for sc, b, k in weighted_nms(scores, boxes, kps)]


def to_rgb(img: np.ndarray) -> np.ndarray:
    """A BGR or gray uint8 crop as RGB (the models' channel order)."""
    return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB if img.ndim == 2 else cv2.COLOR_BGR2RGB)
