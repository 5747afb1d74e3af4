"""The wiring shared by `run`, `replay` and `demo`: samples go through one Monitor and its events
fan out to the sinks. Live runs and replays use this same code, so they give the same events."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Protocol

from driverwatch.monitor.events import SEVERITY_RANK, Event
from driverwatch.samples import FaceFeatures, HeartFeatures, SpeedSample

log = logging.getLogger(__name__)


class Sink(Protocol):
    def handle(self, event: Event) -> None: ...


class JsonlWriter:
    """One JSON object per line; flushed per line so a killed replay leaves a usable file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = self.path.open("w", encoding="utf-8")

    def write(self, obj: dict) -> None:
        self._f.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._f.flush()

    def handle(self, event: Event) -> None:
        self.write(event.to_json())

    def close(self) -> None:
        self._f.close()


class Timeline:
    """Collects events for the human-readable summary printed at the end of a replay or demo."""

    def __init__(self):
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def lines(self, include_info: bool = False) -> list[str]:
        out = []
        for e in self.events:
            if e.type == "update" or (e.severity == "info" and not include_info):
                continue
            if e.type == "end":
                out.append(f"{_clock(e.t)}  end    {e.kind:<18} (lasted {e.t - e.t_start:.1f} s)")
                continue
            span = f" {e.t_end - e.t_start:.2f} s" if e.t_end is not None else ""
            ev = ", ".join(f"{k}={_short(v)}" for k, v in list(e.evidence.items())[:4])
            out.append(f"{_clock(e.t)}  {e.severity:<8} {e.kind:<18}{span}  {ev}")
        return out

    def counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for e in self.events:
            if e.type == "start":
                c[e.kind] = c.get(e.kind, 0) + 1
        return c


def _clock(t: float) -> str:
    m, s = divmod(max(t, 0.0), 60)
    return f"{int(m):02d}:{s:06.3f}"


def _short(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


class Pipeline:
    """Monitor + sinks. Deterministic given the samples; sinks must not block (they queue)."""

    def __init__(self, cfg, drive_id: str, sinks: list[Sink] | None = None):
        from driverwatch.monitor import Monitor

        self.monitor = Monitor(cfg.monitor, drive_id=drive_id, heart_cfg=cfg.heart)
        self.sinks: list[Sink] = list(sinks or [])
        self.last_t: float | None = None
        self.event_count = 0
        self.monitor_ms = 0.0

    def _emit(self, events: list[Event]) -> list[Event]:
        for ev in events:
            self.event_count += 1
            for s in self.sinks:
                try:
                    s.handle(ev)
                except Exception:  # a broken sink must never stop the monitor
                    log.exception("sink %s failed on event %s", type(s).__name__, ev.id)
        return events

    def face(self, ff: FaceFeatures) -> list[Event]:
        self.last_t = ff.t
        t0 = time.perf_counter()
        events = self.monitor.update_face(ff)
        self.monitor_ms += (time.perf_counter() - t0) * 1000
        return self._emit(events)

    def heart(self, hf: HeartFeatures) -> list[Event]:
        return self._emit(self.monitor.update_heart(hf))

    def speed(self, s: SpeedSample) -> None:
        self.monitor.update_speed(s)

    def health(self, t: float, source: str, ok: bool, detail: str = "") -> list[Event]:
        return self._emit(self.monitor.update_health(t, source, ok, detail))

    def snapshot(self) -> dict:
        return self.monitor.snapshot()

    def finish(self) -> list[Event]:
        return self._emit(self.monitor.finish(self.last_t or 0.0))


def highest_severity(events: list[Event]) -> str | None:
    best = None
    for e in events:
        if best is None or SEVERITY_RANK[e.severity] > SEVERITY_RANK[best]:
            best = e.severity
    return best
