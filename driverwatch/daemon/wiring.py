"""The wiring shared by `run`, `replay` and `demo`: samples go through one Monitor and its events
fan out to the sinks. Live runs and replays use this same code, so they give the same events."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Protocol

from driverwatch.monitor.events import Event
from driverwatch.samples import FaceFeatures, HeartFeatures, SpeedSample

log = logging.getLogger(__name__)


class Handler(Protocol):
    """Anything events are handed to (the sinks of sinks/registry.py, a Timeline, a JsonlWriter)."""

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

    def lines(self, include_blinks: bool = False) -> list[str]:
        out = []
        for e in self.events:
            if e.type == "update" or (e.kind == "blink" and not include_blinks):
                continue
            if e.type == "end":
                lasted = e.t_end - e.t_start  # the end message comes a cooldown after t_end
                if e.evidence.get("open_at_end"):
                    out.append(f"{_clock(e.t)}  open   {e.kind:<18} (still open at the end, {lasted:.1f} s so far)")
                else:
                    out.append(f"{_clock(e.t)}  end    {e.kind:<18} (lasted {lasted:.1f} s)")
                continue
            span = f" {e.t_end - e.t_start:.2f} s" if e.t_end is not None else ""
            ev = ", ".join(f"{k}={_short(v)}" for k, v in list(e.evidence.items())[:4])
            out.append(f"{_clock(e.t)}  {e.severity:<8} {e.kind:<18}{span}  {ev}")
        return out


def _clock(t: float) -> str:
    m, s = divmod(max(t, 0.0), 60)
    return f"{int(m):02d}:{s:06.3f}"


def _short(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


class Pipeline:
    """Monitor + sinks. Deterministic given its inputs; sinks must not block (they queue).

    Every input goes through one of the methods below, so `record` (a JsonlWriter) captures all a
    monitor saw, in order, and `replay --from-inputs` feeds it back to give the same events.
    """

    def __init__(self, cfg, drive_id: str, sinks: list[Handler] | None = None, record: JsonlWriter | None = None,
                 to_utc=None):
        """`to_utc(t)`: the UTC ISO time of monitor time t, stamped once on each event (Event.time)."""
        from driverwatch.monitor import Monitor

        self.monitor = Monitor(cfg.monitor, drive_id=drive_id)
        self.sinks: list[Handler] = list(sinks or [])
        self.to_utc = to_utc
        self.record = record
        if record:  # what a replay needs to rebuild this very monitor
            record.write({"drive": {"id": drive_id, "monitor": cfg.monitor.model_dump(mode="json"),
                                    "heart": cfg.heart.model_dump(mode="json")}})
        self.last_t: float | None = None
        self.event_count = 0
        self.frames = 0
        self.monitor_ms = 0.0

    def _emit(self, events: list[Event]) -> list[Event]:
        for ev in events:
            self.event_count += 1
            if self.to_utc is not None:
                ev.time = self.to_utc(ev.t)
            for s in self.sinks:
                try:
                    s.handle(ev)
                except Exception:  # a broken sink must never stop the monitor
                    log.exception("sink %s failed on event %s", type(s).__name__, ev.id)
        return events

    def _record(self, kind: str, t: float, data) -> None:
        """Note the input's time (finish() ends nothing before it began) and, when recording, write
        it; `data` is a callable so that nothing is serialised per frame unless recording."""
        self.last_t = t if self.last_t is None else max(self.last_t, t)
        if self.record:
            try:
                self.record.write({kind: data()})
            except OSError as err:  # a full disk ends the recording, never the monitoring
                log.error("recording stopped: %s", err)
                self.record = None

    def face(self, ff: FaceFeatures) -> list[Event]:
        self._record("face", ff.t, ff.to_json)
        self.frames += 1
        t0 = time.perf_counter()
        events = self.monitor.update_face(ff)
        self.monitor_ms += (time.perf_counter() - t0) * 1000
        return self._emit(events)

    def heart(self, hf: HeartFeatures) -> list[Event]:
        self._record("heart", hf.t, hf.to_json)
        return self._emit(self.monitor.update_heart(hf))

    def speed(self, s: SpeedSample) -> None:
        self._record("speed", s.t, lambda: {"t": s.t, "kmh": s.kmh})
        self.monitor.update_speed(s)

    def health(self, t: float, source: str, ok: bool, detail: str = "") -> list[Event]:
        self._record("health", t, lambda: {"t": t, "source": source, "ok": ok, "detail": detail})
        return self._emit(self.monitor.update_health(t, source, ok, detail))

    def command(self, t: float, name: str, seconds: float = 0.0) -> dict:
        """A driver or fleet command that the monitor must know about: snooze, recalibrate.
        Returns what was applied (a snooze: {"seconds", "capped"}), for the command's result."""
        self._record("command", t, lambda: {"t": t, "name": name, "seconds": seconds})
        if name == "snooze":
            return self.monitor.snooze(t, seconds)
        if name == "recalibrate":
            self._emit(self.monitor.recalibrate(t))
        return {}

    def profile(self, t: float, profile: dict) -> None:
        """A stored driver profile applied to the monitor (recorded, so a replay starts from it too)."""
        self._record("profile", t, lambda: {"t": t, **profile})
        self.monitor.apply_profile(t, profile)

    def feed(self, row: dict) -> None:
        """One recorded input (a line of a `--record` file) back into the monitor."""
        (kind, d), = row.items()
        if kind == "face":
            self.face(FaceFeatures.from_json(d))
        elif kind == "heart":
            self.heart(HeartFeatures(**d))
        elif kind == "speed":
            self.speed(SpeedSample(d["t"], d["kmh"]))
        elif kind == "health":
            self.health(d["t"], d["source"], d["ok"], d.get("detail", ""))
        elif kind == "command":
            self.command(d["t"], d["name"], d.get("seconds", 0.0))
        elif kind == "profile":
            self.profile(d["t"], {k: v for k, v in d.items() if k != "t"})
        else:
            raise ValueError(f"unknown input {kind!r}")

    def snapshot(self) -> dict:
        return self.monitor.snapshot()

    def finish(self) -> list[Event]:
        """End what is open at the last input; a condition that had not cleared by then is marked
        `evidence.open_at_end` (the recording or the run ended, not the condition)."""
        t = self.last_t or 0.0
        events = self.monitor.finish(t)
        for e in events:
            if e.type == "end" and e.t_end is not None and e.t_end >= t - 1e-9:
                e.evidence = dict(e.evidence, open_at_end=True)
        return self._emit(events)
