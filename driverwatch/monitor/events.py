"""Monitor events: the one record that the chime, MQTT, outbox and log sinks carry.

Schema (version EVENT_SCHEMA), as JSON:
  schema     int     EVENT_SCHEMA
  id         str     stable id of the condition instance: "<drive_id>:<kind>:<n>"; the start,
                     updates and end of one condition share it, and `seq` orders them
  seq        int     0 for start, then 1, 2, ... for each update and the end
  type       str     "start" | "update" | "end"  (instantaneous events, e.g. a yawn, are a
                     "start" with t_end already set, followed by nothing)
  kind       str     e.g. blink, long_blink, microsleep, sleep, yawn, nod, drowsy, long_distraction, vats,
                     face_missing, eyes_unobservable, camera_blocked, unresponsive, stress,
                     camera_unavailable, sensor_lost
  severity   str     "info" | "notice" | "warning" | "critical"
  t          float   monitor time of this message (seconds on the source clock)
  t_start    float   when the condition began
  t_end      float?  when it ended (null while it lasts)
  evidence   object  the numbers behind the decision (durations, PERCLOS, counts, thresholds)
  snoozed    bool    present (true) only when the driver had muted notice chimes: the event is
                     logged and sent, but not chimed (warnings and critical alarms are never muted)
`Event.record()` adds `time` (UTC wall clock, ISO 8601), stamped once by the daemon as the event
leaves the pipeline; MQTT may add `delayed`. The monitor never reads the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EVENT_SCHEMA = 1

EventType = Literal["start", "update", "end"]
Severity = Literal["info", "notice", "warning", "critical"]
SEVERITY_RANK = {"info": 0, "notice": 1, "warning": 2, "critical": 3}


@dataclass(slots=True)
class Event:
    id: str
    seq: int
    type: EventType
    kind: str
    severity: Severity
    t: float
    t_start: float
    t_end: float | None = None
    evidence: dict = field(default_factory=dict)
    snoozed: bool = False
    time: str | None = field(default=None, compare=False)  # UTC wall clock, set by the daemon's shell
    _record: dict | None = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> dict:
        """The monitor's part: deterministic (no wall time), as `--events-out` and replays write it."""
        d = {
            "schema": EVENT_SCHEMA,
            "id": self.id,
            "seq": self.seq,
            "type": self.type,
            "kind": self.kind,
            "severity": self.severity,
            "t": round(self.t, 4),
            "t_start": round(self.t_start, 4),
            "t_end": None if self.t_end is None else round(self.t_end, 4),
            "evidence": self.evidence,
        }
        if self.snoozed:
            d["snoozed"] = True
        return d

    def record(self) -> dict:
        """to_json() plus `time` when stamped: built once, shared by the sinks (read-only)."""
        if self._record is None:
            self._record = self.to_json()
            if self.time is not None:
                self._record["time"] = self.time
        return self._record


class EventIds:
    """Deterministic ids: the n-th instance of a kind in a drive gets "<drive_id>:<kind>:<n>"."""

    def __init__(self, drive_id: str = "drive"):
        self.drive_id = drive_id
        self._counts: dict[str, int] = {}

    def new(self, kind: str) -> str:
        n = self._counts.get(kind, 0) + 1
        self._counts[kind] = n
        return f"{self.drive_id}:{kind}:{n}"


class Condition:
    """One condition's lifecycle as events: start -> update* -> end, sharing one id."""

    def __init__(self, ids: EventIds, kind: str):
        self.ids = ids
        self.kind = kind
        self.id: str | None = None
        self.seq = 0
        self.t_start = 0.0
        self.severity: Severity = "info"

    @property
    def active(self) -> bool:
        return self.id is not None

    def start(self, t: float, severity: Severity, evidence: dict, t_start: float | None = None) -> Event:
        self.id = self.ids.new(self.kind)
        self.seq = 0
        self.t_start = t if t_start is None else t_start
        self.severity = severity
        return Event(self.id, 0, "start", self.kind, severity, t, self.t_start, None, evidence)

    def update(self, t: float, severity: Severity, evidence: dict) -> Event:
        assert self.id is not None
        self.seq += 1
        self.severity = severity
        return Event(self.id, self.seq, "update", self.kind, severity, t, self.t_start, None, evidence)

    def end(self, t: float, evidence: dict, t_end: float | None = None) -> Event:
        assert self.id is not None
        self.seq += 1
        ev = Event(self.id, self.seq, "end", self.kind, self.severity, t, self.t_start,
                   t if t_end is None else t_end, evidence)
        self.id = None
        return ev

    def instant(self, t_start: float, t_end: float, severity: Severity, evidence: dict) -> Event:
        """A condition known only once it is over (a blink, a yawn): one start with t_end set."""
        return Event(self.ids.new(self.kind), 0, "start", self.kind, severity, t_end, t_start, t_end, evidence)
