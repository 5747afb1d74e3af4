"""What the running daemon tells people about itself, fed from its loop: the terminal (console.py)
and the status file for `driverwatch status` (status.py). The live page is a sink of its own
(sinks/web/). The loop calls `tick` once per iteration: every STATUS_EVERY_S it takes one monitor
snapshot for both. `handle` is an event sink (the terminal's event lines)."""

from __future__ import annotations

import logging
import os
import time
from collections import deque

from driverwatch.daemon.console import Console, status_line
from driverwatch.daemon.status import STATUS_EVERY_S, StatusFile, status_path
from driverwatch.monitor.events import SEVERITY_RANK

log = logging.getLogger(__name__)

FPS_WINDOW_S = 5.0


class Live:
    def __init__(self, cfg, console: Console | None = None):
        self.console = console or Console()
        self.status = StatusFile(status_path(cfg))
        self.outputs: dict = {}
        self.recent: deque[dict] = deque(maxlen=5)
        self._next_status = 0.0
        self._fps_marks: deque[tuple[float, int]] = deque()
        self.t_begin = time.monotonic()

    def announce(self, cfg, log_file, mqtt, web) -> None:
        """One line at start: where events go."""
        self.outputs = {"event_log": str(log_file) if log_file else None,
                        "mqtt": f"{cfg.mqtt.host}:{cfg.mqtt.port} as vehicle {cfg.daemon.vehicle_id}" if mqtt else None,
                        "web": web.url if web else None, "status_file": str(self.status.path)}
        where = [f"log {log_file}" if log_file else "no event log (log.enabled = false)"]
        if mqtt:
            where.append(f"MQTT {self.outputs['mqtt']}")
        self.console.say("driverwatch: events go to " + ", ".join(where)
                         + (f"; live page at {web.url}" if web else "") + f"; `driverwatch status` reads {self.status.path}")

    # -- sinks -----------------------------------------------------------------------------------
    def handle(self, event) -> None:
        self.console.handle(event)
        if SEVERITY_RANK.get(event.severity, 0) >= SEVERITY_RANK["warning"] and event.type == "start":
            self.recent.appendleft({"time": time.strftime("%H:%M:%S"), "kind": event.kind, "severity": event.severity})

    # -- once per loop iteration --------------------------------------------------------------------
    def fps(self, now: float, frames: int) -> float | None:
        marks = self._fps_marks
        marks.append((now, frames))
        while len(marks) > 2 and now - marks[0][0] > FPS_WINDOW_S:
            marks.popleft()
        dt = now - marks[0][0]
        return round((frames - marks[0][1]) / dt, 1) if dt > 0.5 else None

    def tick(self, now: float, daemon) -> None:
        if now < self._next_status:
            return
        self._next_status = now + STATUS_EVERY_S
        snap = daemon.pipeline.snapshot()
        fps = self.fps(now, daemon.frames)
        self.console.status(now, status_line(snap, fps))
        self.write_status(daemon, snap, fps, running=True)

    def write_status(self, daemon, snap: dict | None, fps: float | None, running: bool) -> None:
        try:
            stats = daemon.stats(time.monotonic() - self.t_begin) if daemon.pipeline else {}
        except Exception:  # health reporting must never stop the monitor
            log.exception("could not collect the stats for the status file")
            stats = {}
        self.status.write({"schema": 1, "running": running, "pid": os.getpid(), "written": time.time(),
                           "fps": fps, "state": snap, "stats": stats, "recent": list(self.recent),
                           "outputs": self.outputs})

    def close(self, daemon=None) -> None:
        if daemon is not None:
            self.write_status(daemon, None, None, running=False)
        self.console.close()
