"""The event sinks: one contract (`Sink`) and one registry, used by `run` and `demo` alike.

A sink takes monitor `Event`s and must never block the monitor loop (it queues; a chime never
waits on the network). Every sink has
    handle(event)  one Event; `event.record()` is its JSON record with the UTC `time`, built once
                   for all sinks (read-only)
    health()       a small dict for the stats (or None)
    close()        stop threads, flush, release devices
and may have
    publish_state(snapshot)   the monitor's state, at the daemon's state interval (MQTT `state`)
    publish_stats(stats)      the daemon's health figures, at `mqtt.stats_interval_s`
    add_frame(frame)          each camera frame before vision (clips); set `needs_frames`
    add_result(frame, result) each processed frame with vision's FaceResult (the live page keeps
                              them by reference, only while it is open); set `needs_frames`
    commands                  a queue.Queue of validated commands (see commands.py) that the daemon
                              drains and applies, then calls `command_result(cmd, result)` on the
                              sink the command came from

Adding a sink (e.g. the live page): write a builder that returns the sink started, or None when
the config turns it off, and register it, here in BUILTIN or from a module the daemon imports:

    def build_web(ctx: SinkContext) -> Sink | None:
        if not ctx.cfg.web.enabled:
            return None
        return LivePage(ctx.cfg.web, ctx.state_dir).start()

    register(SinkSpec("web", sections=frozenset({"web"}), build=build_web))

`sections` are the config sections it is built from: a SIGHUP reload that changes one of them
closes this sink and builds it again alone (the others keep running). A builder reports its own
troubles (no audio device, broker down) and keeps the daemon running; raising DriverwatchError
or OSError makes a reload keep the running settings. `ctx.open_events` are the latest events of
the conditions that are open (a rebuilt sink can take them over: the chime sounds an alarm on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from driverwatch.errors import DriverwatchError
from driverwatch.monitor.events import Event

log = logging.getLogger(__name__)


@runtime_checkable
class Sink(Protocol):
    def handle(self, event: Event) -> None: ...

    def health(self) -> dict | None: ...

    def close(self) -> None: ...


@dataclass
class SinkContext:
    """What a builder needs: the config and where this run keeps its files."""

    cfg: object
    state_dir: Path
    log_dir: Path
    vehicle_id: str
    open_events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class SinkSpec:
    name: str
    sections: frozenset[str]  # config sections it is built from
    build: Callable[[SinkContext], Sink | None]
    needs_frames: bool = False  # only where camera frames flow (`run`, not `demo`)


REGISTRY: dict[str, SinkSpec] = {}


def register(spec: SinkSpec) -> None:
    """Add (or replace) a sink kind. Order of registration = order events are handed out."""
    REGISTRY[spec.name] = spec


# -- the built-in sinks ------------------------------------------------------------------------------
def _chime(ctx: SinkContext):
    from driverwatch.sinks.chime import ChimeSink

    sink = ChimeSink(ctx.cfg.chime, state_dir=ctx.state_dir)
    sink.start()
    for ev in ctx.open_events:
        sink.handle(ev)  # take over what is sounding
    return sink


def _eventlog(ctx: SinkContext):
    from driverwatch.sinks.eventlog import EventLog

    c = ctx.cfg.log
    return EventLog(ctx.log_dir, c.max_bytes, c.backups) if c.enabled else None


def _mqtt(ctx: SinkContext):
    from driverwatch.sinks.mqtt import create_sink

    try:
        sink = create_sink(ctx.cfg.mqtt, ctx.vehicle_id, ctx.state_dir, ctx.cfg.privacy.affective_telemetry)
    except (DriverwatchError, OSError) as err:  # e.g. an unwritable state dir for the outbox
        log.error("MQTT disabled: %s; events go to the local log only", err)
        return None
    if sink:
        sink.start()
    return sink


def _clips(ctx: SinkContext):
    d = ctx.cfg.daemon
    if not d.save_frames:
        return None
    from driverwatch.sinks.clips import ClipSink

    log.warning("save_frames is on: frames before alerts are stored in %s", ctx.state_dir / "clips")
    return ClipSink(ctx.state_dir / "clips", d.clip_s, d.clip_fps, d.max_clips)


def _web(ctx: SinkContext):
    from driverwatch.sinks.web import build

    return build(ctx)


BUILTIN = (
    SinkSpec("chime", frozenset({"chime"}), _chime),  # first: it never waits
    SinkSpec("eventlog", frozenset({"log", "daemon"}), _eventlog),
    SinkSpec("mqtt", frozenset({"mqtt", "daemon", "privacy"}), _mqtt),
    SinkSpec("clips", frozenset({"daemon"}), _clips, needs_frames=True),
    SinkSpec("web", frozenset({"web"}), _web, needs_frames=True),  # the live page: frames only to it (add_result)
)
for _spec in BUILTIN:
    register(_spec)


class OpenEvents:
    """The latest event of every open condition (what a rebuilt sink takes over)."""

    def __init__(self):
        self.open: dict[str, Event] = {}

    def handle(self, event: Event) -> None:
        if event.type == "end" or event.t_end is not None:
            self.open.pop(event.id, None)
        else:
            self.open[event.id] = event


class SinkSet:
    """The running sinks of one daemon or demo, by name; each can be rebuilt alone."""

    def __init__(self, frames: bool = True, extra: Iterable = ()):
        self.frames = frames  # build the sinks that need camera frames
        self.parts: dict[str, Sink | None] = {}
        self.tracker = OpenEvents()
        self.extra = list(extra)  # outputs owned by the caller (--events-out, a Timeline)

    def specs(self) -> list[SinkSpec]:
        return [s for s in REGISTRY.values() if self.frames or not s.needs_frames]

    def build(self, spec: SinkSpec, ctx: SinkContext) -> Sink | None:
        ctx.open_events = list(self.tracker.open.values())
        return spec.build(ctx)

    def build_all(self, ctx: SinkContext) -> SinkSet:
        for spec in self.specs():
            self.parts[spec.name] = self.build(spec, ctx)
        return self

    def get(self, name: str):
        return self.parts.get(name)

    def running(self) -> list[Sink]:
        return [s for s in self.parts.values() if s is not None]

    def handlers(self) -> list:
        """What the pipeline hands events to, in order."""
        return [*self.running(), self.tracker, *self.extra]

    def has(self, method: str) -> bool:
        return any(hasattr(s, method) for s in self.running())

    def call(self, method: str, *args) -> None:
        """`method(*args)` on every sink that has it; a failing sink is logged, never raised."""
        for s in self.running():
            fn = getattr(s, method, None)
            if fn is not None:
                try:
                    fn(*args)
                except Exception:
                    log.exception("sink %s: %s failed", type(s).__name__, method)

    def health(self) -> dict[str, dict | None]:
        return {name: s.health() for name, s in self.parts.items() if s is not None}

    def close_one(self, name: str) -> None:
        s = self.parts.pop(name, None)
        if s is not None:
            try:
                s.close()
            except Exception:
                log.exception("sink %s: close failed", name)

    def close(self) -> None:
        for name in list(self.parts):
            self.close_one(name)
