"""Rotated square regions of interest and their crops (MediaPipe's NormalizedRect + ImageToTensor)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class Roi:
    cx: float  # centre, image pixels
    cy: float
    size: float  # side of the square, pixels
    angle: float  # radians; the crop's x axis points along (cos, sin) in the image (y down)

    def matrix(self, out: int) -> np.ndarray:
        """2x3 affine map from crop pixels (0..out) to image pixels."""
        k = self.size / out
        c, s = math.cos(self.angle) * k, math.sin(self.angle) * k
        h = out / 2
        return np.array([[c, -s, self.cx - c * h + s * h], [s, c, self.cy - s * h - c * h]], np.float32)

    def crop(self, image: np.ndarray, out: int, flip: bool = False) -> np.ndarray:
        """The ROI resampled to out x out (uint8, same channels as `image`); `flip` mirrors it."""
        m = self.matrix(out)
        if flip:  # crop x' = out - x
            m = m @ np.array([[-1, 0, out], [0, 1, 0], [0, 0, 1]], np.float32)
        return cv2.warpAffine(image, m, (out, out), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)

    def to_image(self, pts: np.ndarray, out: int, flip: bool = False) -> np.ndarray:
        """Crop pixel coordinates (N, 2+) -> image pixels; a 3rd column (depth) is scaled alike."""
        pts = np.array(pts, np.float32, copy=True)
        if flip:
            pts[:, 0] = out - pts[:, 0]
        m = self.matrix(out)
        xy = pts[:, :2] @ m[:, :2].T + m[:, 2]
        if pts.shape[1] > 2:
            return np.concatenate([xy, pts[:, 2:] * (self.size / out)], axis=1)
        return xy

    def inside(self, width: int, height: int) -> bool:
        return 0 <= self.cx < width and 0 <= self.cy < height


def rect_to_roi(x0, y0, x1, y1, p_start, p_end, scale: float) -> Roi:
    """MediaPipe's DetectionsToRects (rotation from a keypoint vector, target angle 0) followed by
    RectTransformation(scale, square_long): centre of the axis-aligned box, side = long side x scale."""
    angle = math.atan2(p_end[1] - p_start[1], p_end[0] - p_start[0])
    size = max(x1 - x0, y1 - y0) * scale
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, float(size), angle)


def points_roi(pts: np.ndarray, i_start: int, i_end: int, scale: float) -> Roi:
    lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
    return rect_to_roi(lo[0], lo[1], hi[0], hi[1], pts[i_start], pts[i_end], scale)
