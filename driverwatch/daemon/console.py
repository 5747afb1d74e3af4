"""What `run` says on its standard output: where events go at start, each warning and critical
event as it happens (also under systemd, where it lands in the journal), and on a terminal a
one-line status (fps, face, calibration, heart rate) redrawn in place at most every few seconds."""

from __future__ import annotations

import sys
import time

from driverwatch.monitor.events import SEVERITY_RANK

STATUS_EVERY_S = 2.0
_CLEAR = "\r\x1b[K"


def _fmt_evidence(ev: dict) -> str:
    parts = []
    for k, v in list(ev.items())[:3]:
        if isinstance(v, float):
            v = f"{v:.3g}"
        elif isinstance(v, list | dict):
            continue
        parts.append(f"{k}={v}")
    return ", ".join(parts)


class Console:
    def __init__(self, stream=None, tty: bool | None = None, min_severity: str = "warning"):
        self.out = stream or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.min_rank = SEVERITY_RANK[min_severity]
        self._status_shown = False
        self._next_status = 0.0
        self._severity: dict[str, str] = {}  # open condition id -> severity last printed

    def say(self, line: str) -> None:
        try:
            self.out.write((_CLEAR if self._status_shown else "") + line + "\n")
            self.out.flush()
        except (OSError, ValueError):  # a closed terminal must never stop the monitor
            pass
        self._status_shown = False

    def handle(self, event) -> None:
        """Warning and critical events: their start (and escalations) and their end."""
        if SEVERITY_RANK.get(event.severity, 0) < self.min_rank:
            return
        clock = time.strftime("%H:%M:%S")
        if event.type == "end":
            self._severity.pop(event.id, None)
            self.say(f"{clock}  ended    {event.kind} (after {(event.t_end or event.t) - event.t_start:.1f} s)")
            return
        if event.type == "update" and self._severity.get(event.id) == event.severity:
            return  # an ongoing condition at the same severity is not news
        if event.t_end is None:
            self._severity[event.id] = event.severity
        span = f" {event.t_end - event.t_start:.2f} s" if event.t_end is not None else ""
        ev = _fmt_evidence(event.evidence)
        self.say(f"{clock}  {event.severity.upper():<8} {event.kind}{span}" + (f"  ({ev})" if ev else ""))

    def status(self, now: float, line: str) -> None:
        """The one-line status, on a terminal only, at most every STATUS_EVERY_S."""
        if not self.tty or now < self._next_status:
            return
        self._next_status = now + STATUS_EVERY_S
        try:
            self.out.write(_CLEAR + line)
            self.out.flush()
        except (OSError, ValueError):
            return
        self._status_shown = True

    def close(self) -> None:
        if self._status_shown:
            self.say("")


def status_line(snap: dict, fps: float | None) -> str:
    """fps, face, eyes, calibration, heart rate, stress: one short line."""
    cal = snap.get("calibration") or {}
    face = snap.get("face_present")
    parts = [f"{fps:4.1f} fps" if fps is not None else "-- fps",
             "face " + ("unknown" if face is None else "yes" if face else "NO"),
             f"eyes {snap.get('eyes')}", f"attention {snap.get('attention')}", f"drowsiness {snap.get('drowsiness')}",
             "calibrated" if cal.get("status") == "calibrated" else f"calibrating {100 * (cal.get('progress') or 0):.0f}%"]
    hr = snap.get("hr_bpm")
    sensor = snap.get("heart_sensor")
    if hr is not None:
        parts.append(f"HR {hr:.0f} bpm" + (f" stress {snap['stress']}" if snap.get("stress") else ""))
    elif sensor is not None:
        parts.append(f"HR unknown (sensor {sensor})")
    if snap.get("active"):
        parts.append("ALERT " + ",".join(a["kind"] for a in snap["active"]))
    return " | ".join(parts)
