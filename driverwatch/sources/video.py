"""Recorded frame sources: a video file, an image sequence, or a single image.

Each frame is stamped with its source's own time: a video's presentation timestamps, an image
sequence's position at its nominal frame rate. Never a frame counter.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from driverwatch.errors import InputError
from driverwatch.samples import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp"}


class VideoFile:
    """Frames of a video file with their own timestamps (seconds from the start)."""

    def __init__(self, path: str | Path):
        import cv2

        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"video not found: {self.path}")
        if self.path.is_dir():
            raise InputError(f"expected a video file, got a directory: {self.path}")
        if self.path.stat().st_size == 0:
            raise InputError(f"video file is empty: {self.path}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise InputError(f"not a video OpenCV can decode: {self.path}")
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def __len__(self) -> int:
        return self.frame_count

    def __iter__(self) -> Iterator[Frame]:
        import cv2

        cap = self._cap
        index = 0
        last_t = -1.0
        period = 1.0 / self.fps if self.fps > 0 else 1 / 30
        try:
            while True:
                ok, image = cap.read()
                if not ok or image is None:
                    break
                t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if not t > last_t:  # containers without usable timestamps
                    t = index * period if last_t < 0 else last_t + period
                last_t = t
                yield Frame(t=t, image=image, index=index)
                index += 1
        finally:
            cap.release()
        if index == 0:
            raise InputError(f"no frame could be decoded from {self.path} (corrupt or not a video)")
        # A shortfall of more than a few frames against the container's count means truncation.
        if self.frame_count and index < self.frame_count - max(2, self.frame_count // 100):
            raise InputError(
                f"video truncated or corrupt: decoded {index} of {self.frame_count} frames from {self.path}"
            )


class ImageSequence:
    """A directory or glob of images in name order, stamped at a nominal frame rate."""

    def __init__(self, pattern: str | Path, fps: float = 30.0):
        p = Path(pattern)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file():
            files = [p]
        else:
            files = [Path(f) for f in sorted(glob.glob(str(pattern)))]
        if not files:
            raise InputError(f"no images found at {pattern}")
        self.files = files
        self.fps = fps

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[Frame]:
        import cv2

        for i, f in enumerate(self.files):
            image = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise InputError(f"cannot decode image: {f}")
            if image.ndim == 3 and image.shape[2] == 4:
                image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
            if image.dtype != "uint8":
                image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
            yield Frame(t=i / self.fps, image=image, index=i)


def open_recording(path: str | Path, fps: float = 30.0) -> VideoFile | ImageSequence:
    """A video file, an image file, a directory of images or a glob pattern."""
    s = str(path)
    if any(c in s for c in "*?[") and not os.path.exists(s):
        return ImageSequence(s, fps)
    p = Path(path)
    if p.is_dir() or p.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSequence(p, fps)
    return VideoFile(p)


def read_ahead(frames, depth: int = 4) -> Iterator[Frame]:
    """Decode the next frames on a thread while the caller works on this one (decoding releases the
    GIL). Lossless, unlike the live camera's newest-frame-wins: a replay must see every frame, so the
    queue is bounded and the reader waits. The reader's errors are raised here, in order."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def reader():
        try:
            for f in frames:
                while not stop.is_set():
                    try:
                        q.put(f, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item = done
        except BaseException as err:  # handed to the consumer
            item = err
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    t = threading.Thread(target=reader, name="replay-decode", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        t.join()
