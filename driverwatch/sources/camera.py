"""The live cabin camera: a capture thread that keeps only the newest frame.

A slow consumer never builds latency: the mailbox holds one frame, an unconsumed frame is replaced
and counted as dropped. Frames are stamped with the monotonic clock when they are read. When the
camera fails (unplugged, stream cut, busy) the thread releases it and reopens with backoff; the
consumer sees no frames and reports the camera unavailable. `device` may be a V4L2 index or path,
a network stream (e.g. an MJPEG URL), or a video file, which is then played at its own frame rate
(a bench stand-in for a camera; `loop` plays it again and again, timestamps still rising).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from pathlib import Path

from driverwatch.errors import DeviceError, InputError, PermissionDeniedError
from driverwatch.samples import Frame

log = logging.getLogger(__name__)

OPEN_TIMEOUT_MS = 2000
READ_TIMEOUT_MS = 1000
BACKOFF_S = (0.2, 0.5, 1.0)  # capped at 1 s, so a restored camera is back within 2 s


def _names_file(device) -> bool:
    """The setting names a path that is not a device node or stream: a video file stand-in."""
    return isinstance(device, str) and not device.isdigit() and not device.startswith("/dev/") \
        and "://" not in device and _device_path(device) is None


def _is_file_device(device) -> bool:
    return _names_file(device) and Path(device).is_file()


def check_video_file(path: str) -> None:
    """A video file as the camera must exist and decode at least one frame: otherwise it is an
    input error at start (one line, exit 66), never a camera that silently never delivers."""
    import cv2

    p = Path(path)
    if not p.exists():
        raise InputError(f"camera.device: video file not found: {p}")
    if not p.is_file():
        raise InputError(f"camera.device: expected a video file or a camera, got {'a directory' if p.is_dir() else 'a special file'}: {p}")
    if p.stat().st_size == 0:
        raise InputError(f"camera.device: video file is empty: {p}")
    cap = cv2.VideoCapture(str(p))
    try:
        ok = cap.isOpened() and cap.read()[0]
    finally:
        cap.release()
    if not ok:
        raise InputError(f"camera.device: no frame could be decoded from {p} (corrupt or not a video)")


def device_holders(path: str) -> list[str]:
    """Other processes that have `path` open (those we may look at), as "PID (name)"."""
    real = os.path.realpath(path)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == real for fd in fds):
                found.append(f"{pid} ({Path(f'/proc/{pid}/comm').read_text().strip()})")
        except OSError:
            continue
    return found


def _device_path(device) -> str | None:
    """The device node of a V4L2 camera setting, or None for streams and video files."""
    if isinstance(device, int) or (isinstance(device, str) and device.isdigit()):
        return f"/dev/video{int(device)}"
    if isinstance(device, str) and "://" not in device:
        if device.startswith("/dev/"):
            return device
        try:
            mode = os.stat(device).st_mode
        except OSError:
            return None
        return device if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) else None
    return None


def check_device_access(device) -> None:
    """Fail at start with one clear line for a camera we cannot use: missing, no permission, busy,
    or a video file that is missing or cannot be decoded."""
    if _names_file(device):
        check_video_file(device)
        return
    path = _device_path(device)
    if path is None:
        return
    if not os.path.exists(path):
        raise DeviceError(f"camera {path} does not exist (is it plugged in? `driverwatch check` lists cameras)")
    if not os.access(path, os.R_OK | os.W_OK):
        raise PermissionDeniedError(f"no permission to open camera {path} (add the user to the 'video' group)")
    holders = device_holders(path)
    if holders:
        raise DeviceError(f"camera {path} is busy: held by {', '.join(holders)}")


class CameraSource:
    def __init__(self, cfg, clock=time.monotonic):
        self.cfg = cfg
        self.clock = clock
        self.device = cfg.device
        self._file = _is_file_device(self.device)
        self._lock = threading.Condition()
        self._frame: Frame | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames = 0
        self.dropped = 0
        self.reconnects = 0
        self.connected = False
        self.ended = False  # a video-file device reached its end
        self.last_error = ""

    # -- consumer side -------------------------------------------------------------------------
    def get(self, timeout: float) -> Frame | None:
        """The newest frame not yet consumed, waiting up to `timeout` seconds; None if none came."""
        with self._lock:
            if self._frame is None:
                self._lock.wait(timeout)
            frame, self._frame = self._frame, None
            return frame

    def stats(self) -> dict:
        return {"frames": self.frames, "dropped": self.dropped, "reconnects": self.reconnects,
                "connected": self.connected, "error": self.last_error or None}

    # -- capture thread -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2.0)

    def _open(self):
        import cv2

        dev = self.device
        if isinstance(dev, str) and dev.isdigit():
            dev = int(dev)
        api = cv2.CAP_V4L2 if self.cfg.backend == "v4l2" else cv2.CAP_ANY
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
        cap = cv2.VideoCapture(dev, api, params)
        if not cap.isOpened():
            cap.release()
            return None
        if not self._file:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
            cap.set(cv2.CAP_PROP_FPS, self.cfg.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap

    def _publish(self, image) -> None:
        frame = Frame(t=self.clock(), image=image, index=self.frames)
        with self._lock:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.frames += 1
            self._lock.notify()

    def _run(self) -> None:
        import cv2

        attempt = 0
        while not self._stop.is_set():
            cap = self._open()
            if cap is None:
                self.connected = False
                self.last_error = f"cannot open camera {self.device}"
                delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                attempt += 1
                log.debug("%s; retrying in %.1f s", self.last_error, delay)
                self._stop.wait(delay)
                continue
            if self.frames and not self._file:
                self.reconnects += 1
            attempt = 0
            self.connected = True
            self.last_error = ""
            period = 1.0 / (cap.get(cv2.CAP_PROP_FPS) or self.cfg.fps) if self._file else 0.0
            next_t = time.monotonic()
            while not self._stop.is_set():
                ok, image = cap.read()
                if not ok or image is None:
                    break
                if period:  # a file stands in for a camera: deliver at its own rate
                    next_t += period
                    self._stop.wait(max(0.0, next_t - time.monotonic()))
                self._publish(image)
            cap.release()
            self.connected = False
            if self._file and self.cfg.loop and self.frames and not self._stop.is_set():
                continue  # play the file again; frames are stamped on read, so time keeps rising
            if self._file and not self._stop.is_set():
                self.ended = True
                with self._lock:
                    self._lock.notify()
                return
            if not self._stop.is_set():
                self.last_error = f"camera {self.device} stopped delivering frames"
                log.warning("%s; reconnecting", self.last_error)
