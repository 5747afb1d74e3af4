"""Frames around alerts, saved on this device only when the user turned `daemon.save_frames` on.

Privacy: off by default; frames are never sent anywhere. When on, the newest `clip_s` seconds of
frames are kept in memory at `clip_fps`; a warning or critical event's start writes them as JPEGs to
`<state_dir>/clips/<event id>/` from a background thread (disk I/O never blocks the monitor loop).
At most `max_clips` clips are kept; the oldest are deleted first.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
from collections import deque
from pathlib import Path

from driverwatch.monitor.events import SEVERITY_RANK, Event
from driverwatch.samples import Frame

log = logging.getLogger(__name__)


class ClipSink:
    def __init__(self, root: Path, clip_s: float, clip_fps: float, max_clips: int):
        self.root = Path(root)
        self.clip_s = clip_s
        self.period = 1.0 / clip_fps
        self.max_clips = max_clips
        self._ring: deque[Frame] = deque()
        self._jobs: queue.Queue = queue.Queue(maxsize=4)
        self.dropped = 0
        self.saved = 0
        self._thread = threading.Thread(target=self._run, name="clips", daemon=True)
        self._thread.start()

    def add_frame(self, frame: Frame) -> None:
        if self._ring and frame.t - self._ring[-1].t < self.period:
            return
        self._ring.append(frame)
        while self._ring and frame.t - self._ring[0].t > self.clip_s:
            self._ring.popleft()

    def handle(self, event: Event) -> None:
        if event.type != "start" or SEVERITY_RANK[event.severity] < SEVERITY_RANK["warning"]:
            return
        try:
            self._jobs.put_nowait((event.id, list(self._ring)))
        except queue.Full:
            self.dropped += 1

    def health(self) -> dict:
        return {"saved": self.saved, "dropped": self.dropped}

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import cv2

        while (job := self._jobs.get()) is not None:
            event_id, frames = job
            folder = self.root / event_id.replace(":", "_")
            try:
                folder.mkdir(parents=True, exist_ok=True)
                for f in frames:
                    cv2.imwrite(str(folder / f"{f.t:012.3f}.jpg"), f.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
                self.saved += 1
                clips = sorted(self.root.iterdir(), key=lambda p: p.stat().st_mtime)
                for old in clips[: max(0, len(clips) - self.max_clips)]:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError as err:
                log.warning("could not save the clip of %s: %s", event_id, err)
