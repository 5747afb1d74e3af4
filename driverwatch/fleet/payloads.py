"""What the fleet side accepts from vehicles: topics and payloads (see driverwatch/sinks/mqtt.py).

A message is parsed into one record (EventRec, StatsRec, StateRec, AvailRec) or raises BadPayload
with a reason; the consumer keeps rejected messages aside in the database. Unknown extra keys are
accepted (newer vehicles may send more); the types of the known ones are checked.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from driverwatch.monitor.events import SEVERITY_RANK

MAX_ID = 200
MAX_T = 1e9  # monitor seconds (31 years): keeps wall-clock arithmetic in range
TOPICS = ("events", "available", "state", "stats")
AVAILABILITY = ("online", "offline", "stopped")


class BadPayload(ValueError):
    pass


def _no_nul(v):
    """PostgreSQL text and jsonb hold neither NUL characters nor lone surrogates."""
    text = json.dumps(v, ensure_ascii=False)
    if "\x00" in text or "\\u0000" in text:
        raise ValueError("contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode (lone surrogate)") from None
    return v


class EventIn(BaseModel):
    model_config = ConfigDict(extra="allow", strict=False)
    schema_: int = Field(1, alias="schema", ge=1)
    id: str = Field(min_length=1, max_length=MAX_ID)
    seq: int = Field(ge=0, le=2**31 - 1)
    type: Literal["start", "update", "end"]
    kind: str = Field(min_length=1, max_length=64)
    severity: Literal["info", "notice", "warning", "critical"]
    t: float
    t_start: float
    t_end: float | None = None
    time: datetime | None = None
    delayed: bool = False
    delay_s: float | None = Field(None, ge=0)
    evidence: dict = Field(default_factory=dict)
    driver: str | None = Field(None, max_length=MAX_ID)

    @field_validator("t", "t_start", "t_end", "delay_s")
    @classmethod
    def _finite(cls, v):
        if v is not None and not (math.isfinite(v) and abs(v) <= MAX_T):
            raise ValueError(f"must be a finite number of seconds within +-{MAX_T:g}")
        return v

    @field_validator("time")
    @classmethod
    def _aware(cls, v):
        if v is not None and v.tzinfo is None:
            raise ValueError("must carry a time zone (UTC, ending in Z)")
        return v

    @field_validator("id", "kind", "driver", "evidence")
    @classmethod
    def _nul(cls, v):
        return _no_nul(v)


@dataclass(slots=True)
class EventRec:
    vehicle_id: str
    ev: EventIn
    payload: dict
    time: datetime  # of this message, UTC
    time_source: str  # 'vehicle' (payload `time`) or 'received'

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.vehicle_id, self.ev.id, self.ev.seq)

    def wall(self, t_mono: float | None) -> datetime | None:
        """The wall-clock time of monitor time `t_mono`, by this message's time and `t`."""
        return None if t_mono is None else self.time - timedelta(seconds=self.ev.t - t_mono)


@dataclass(slots=True)
class StatsRec:
    vehicle_id: str
    time: datetime
    uptime_s: float | None
    payload: dict


@dataclass(slots=True)
class StateRec:
    vehicle_id: str
    time: datetime
    payload: dict


@dataclass(slots=True)
class AvailRec:
    vehicle_id: str
    status: str


def _time(d: dict, received: datetime) -> tuple[datetime, str]:
    v = d.get("time")
    if v is None:
        return received, "received"
    if not isinstance(v, str):
        raise BadPayload("time: not an ISO 8601 string")
    try:
        t = datetime.fromisoformat(v)
    except ValueError:
        raise BadPayload(f"time: not ISO 8601: {v[:40]!r}") from None
    if t.tzinfo is None:
        raise BadPayload("time: no time zone")
    return t.astimezone(UTC), "vehicle"


def _json_object(payload: bytes) -> dict:
    try:
        d = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadPayload(f"not JSON: {err}") from None
    except RecursionError:
        raise BadPayload("not JSON: nested too deeply") from None
    if not isinstance(d, dict):
        raise BadPayload(f"not a JSON object but {type(d).__name__}")
    try:
        _no_nul(d)
    except ValueError as err:
        raise BadPayload(str(err)) from None
    return d


def split_topic(topic: str, root: str) -> tuple[str, str]:
    """(vehicle_id, kind of topic) of `<root>/<vehicle_id>/<kind>`."""
    parts = topic.split("/")
    roots = root.split("/")
    if len(parts) != len(roots) + 2 or parts[:len(roots)] != roots or parts[-1] not in TOPICS:
        raise BadPayload(f"unexpected topic {topic[:120]!r}")
    vehicle = parts[len(roots)]
    if not vehicle or len(vehicle) > MAX_ID:
        raise BadPayload("bad vehicle id in topic")
    return vehicle, parts[-1]


def parse(topic: str, payload: bytes, root: str, received: datetime):
    """One record for a message, or BadPayload."""
    vehicle, what = split_topic(topic, root)
    if what == "available":
        status = payload.decode("utf-8", "replace").strip()
        if status not in AVAILABILITY:
            raise BadPayload(f"availability {status[:40]!r} is not one of {', '.join(AVAILABILITY)}")
        return AvailRec(vehicle, status)
    d = _json_object(payload)
    if what == "events":
        try:
            ev = EventIn.model_validate(d)
        except ValidationError as err:
            e = err.errors()[0]
            raise BadPayload(f"event {'.'.join(map(str, e['loc'])) or '?'}: {e['msg']}") from None
        if ev.t_end is not None and ev.t_end < ev.t_start:
            raise BadPayload("event t_end before t_start")
        t, source = (ev.time.astimezone(UTC), "vehicle") if ev.time else (received, "received")
        rec = EventRec(vehicle, ev, d, t, source)
        try:
            rec.wall(ev.t_start), rec.wall(ev.t_end)
        except OverflowError:
            raise BadPayload("event time and t/t_start put the start out of the calendar") from None
        return rec
    t, _ = _time(d, received)
    if what == "stats":
        up = d.get("uptime_s")
        if up is not None and (not isinstance(up, int | float) or isinstance(up, bool) or not math.isfinite(up)):
            raise BadPayload("stats uptime_s: not a number")
        return StatsRec(vehicle, t, up, d)
    return StateRec(vehicle, t, d)


def rank(severity: str) -> int:
    return SEVERITY_RANK[severity]
