"""Simulated vehicles for load tests of a fleet deployment (scripts/bench_fleet.py, the tests).

`simulate_fleet` makes what N vehicles publish (the payloads of driverwatch/sinks/mqtt.py: events
built from monitor Events with `time`, periodic stats, availability) and, for checking, the incident
each event id must become. `Publisher` sends them with QoS 1 from a few MQTT clients, re-sending a
share of the events (what a vehicle does when a PUBACK is lost), and re-sends anything the broker
did not acknowledge until it has.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from driverwatch.monitor.events import SEVERITY_RANK, Event

# (kind, instantaneous?, severities it may reach)
KINDS = [("drowsy", False, ("notice", "warning", "critical")), ("microsleep", False, ("warning", "critical")),
         ("nod", True, ("notice",)), ("yawn", True, ("notice",)), ("long_distraction", False, ("warning", "critical")),
         ("vats", False, ("notice", "warning")), ("stress", False, ("notice", "warning")),
         ("face_missing", False, ("notice",))]
SEVERITIES = list(SEVERITY_RANK)
STATS_EVERY_S = 60.0


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Expected:
    vehicle_id: str
    event_id: str
    kind: str
    severity: str
    started_at: datetime
    ended_at: datetime | None
    messages: int


@dataclass
class Fleet:
    messages: list[tuple[str, bytes]] = field(default_factory=list)  # (topic, payload) in publish order
    events: int = 0
    incidents: dict[tuple[str, str], Expected] = field(default_factory=dict)
    drive_s: float = 0.0


def simulate_vehicle(vehicle: str, n_events: int, start: datetime, rng: random.Random, root: str = "driverwatch",
                     affective: bool = True) -> Fleet:
    """One drive of one vehicle with exactly `n_events` event messages (the last condition may stay open)."""
    out = Fleet()
    drive = f"{vehicle}-{rng.randrange(16**8):08x}"
    counts: dict[str, int] = {}
    t = 30.0
    timeline: list[tuple[float, str, dict]] = []  # (monitor time, topic suffix, payload)
    kinds = [k for k in KINDS if affective or k[0] != "stress"]
    while out.events < n_events:
        kind, instant, sevs = rng.choice(kinds)
        counts[kind] = counts.get(kind, 0) + 1
        eid = f"{drive}:{kind}:{counts[kind]}"
        t += rng.uniform(20, 120)
        dur = rng.uniform(0.5, 4.0) if instant else rng.uniform(2, 40)
        if instant:
            evs = [Event(eid, 0, "start", kind, sevs[0], t + dur, t, t + dur, {"duration_s": round(dur, 2)})]
        else:
            n_upd = rng.randrange(0, len(sevs))
            evs = [Event(eid, 0, "start", kind, sevs[0], t, t, None, {"level": 0})]
            for i in range(n_upd):
                evs.append(Event(eid, i + 1, "update", kind, sevs[i + 1], t + dur * (i + 1) / (n_upd + 2), t, None,
                                 {"level": i + 1}))
            evs.append(Event(eid, n_upd + 1, "end", kind, sevs[n_upd], t + dur, t, t + dur,
                             {"duration_s": round(dur, 2)}))
        evs = evs[:n_events - out.events]
        for e in evs:
            d = e.to_json()
            d["time"] = iso(start + timedelta(seconds=e.t))
            timeline.append((e.t, "events", d))
        out.events += len(evs)
        last = evs[-1]
        out.incidents[(vehicle, eid)] = Expected(
            vehicle, eid, kind, max((e.severity for e in evs), key=SEVERITY_RANK.get),
            start + timedelta(seconds=t), start + timedelta(seconds=last.t_end) if last.t_end is not None else None,
            len(evs))
        t += dur
    t_last = t + 30.0
    out.drive_s = t_last
    s = 0.0
    while s <= t_last:
        timeline.append((s, "stats", {"schema": 1, "time": iso(start + timedelta(seconds=s)), "uptime_s": s + 12.0,
                                      "fps": 15.0}))
        s += STATS_EVERY_S
    timeline.sort(key=lambda x: x[0])
    prefix = f"{root}/{vehicle}/"
    out.messages.append((prefix + "available", b"online"))
    state = {"schema": 1, "time": iso(start), "drowsiness": "alert", "attention": "road"}
    if affective:
        state["stress"] = "calm"
    out.messages.append((prefix + "state", json.dumps(state).encode()))
    out.messages += [(prefix + what, json.dumps(d, separators=(",", ":")).encode()) for _, what, d in timeline]
    return out


def simulate_fleet(n_vehicles: int, n_events: int, seed: int = 1, start: datetime | None = None,
                   root: str = "driverwatch", affective_every: int = 1) -> Fleet:
    """Vehicles v000.. each with `n_events` event messages, interleaved as they would arrive. Every
    `affective_every`-th vehicle has affective telemetry on (publishes stress); the others never do."""
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    fleet = Fleet()
    streams = []
    for i in range(n_vehicles):
        v = simulate_vehicle(f"v{i:03d}", n_events, start + timedelta(minutes=rng.uniform(0, 60)), rng, root,
                             affective=i % affective_every == 0)
        fleet.events += v.events
        fleet.incidents.update(v.incidents)
        fleet.drive_s += v.drive_s
        streams.append(v.messages)
    # round-robin interleave: each vehicle's messages stay in order
    pos = [0] * len(streams)
    while any(p < len(s) for p, s in zip(pos, streams, strict=True)):
        for i, s in enumerate(streams):
            if pos[i] < len(s):
                fleet.messages.append(s[pos[i]])
                pos[i] += 1
    return fleet


def with_duplicates(messages: list[tuple[str, bytes]], share: float, seed: int = 2) -> list[tuple[str, bytes]]:
    """`messages` with a `share` of the events sent twice (the copy a little later)."""
    rng = random.Random(seed)
    out = list(messages)
    events = [m for m in messages if m[0].endswith("/events")]
    for m in rng.sample(events, int(len(events) * share)):
        i = out.index(m)
        out.insert(min(len(out), i + 1 + rng.randrange(0, 50)), m)
    return out


def _acked(info) -> bool:
    """PUBACK received (is_published() raises for a message queued while disconnected, even once
    paho has sent it after the reconnect)."""
    return bool(info._published)


class Publisher:
    """QoS 1 from `clients` MQTT connections (persistent sessions); `send` returns once the broker
    acknowledged every message, re-sending those it did not (a broker restart) until it has."""

    def __init__(self, host: str, port: int, clients: int = 4, name: str = "sim"):
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.clients = []
        self.connected = [threading.Event() for _ in range(clients)]
        for i in range(clients):
            c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{i}", protocol=paho.MQTTv5)
            c.max_inflight_messages_set(100)
            c.max_queued_messages_set(0)
            c.reconnect_delay_set(0.1, 1)
            ev = self.connected[i]
            c.on_connect = lambda cl, u, f, rc, p, ev=ev: ev.set() if not rc.is_failure else None
            c.on_disconnect = lambda cl, u, f, rc, p, ev=ev: ev.clear()
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            c.connect_async(host, port, keepalive=10, clean_start=False, properties=props)
            c.loop_start()
            self.clients.append(c)
        for ev in self.connected:
            if not ev.wait(20):
                raise TimeoutError("simulated vehicles could not connect to the broker")

    def send(self, messages: list[tuple[str, bytes]], timeout: float = 300.0, pace=None) -> None:
        """Publish all (a vehicle's messages always from the same client, in order); `pace(i)` is
        called before the i-th message (a hook for tests that act mid-stream)."""
        import time

        pending = []
        for i, (topic, payload) in enumerate(messages):
            if pace:
                pace(i)
            c = self.clients[hash(topic.split("/")[-2]) % len(self.clients)]
            pending.append((topic, payload, c, c.publish(topic, payload, qos=1)))
        deadline = time.monotonic() + timeout
        while pending:
            for *_, info in pending:
                with contextlib.suppress(RuntimeError, ValueError):  # sent while disconnected
                    info.wait_for_publish(max(0.01, min(2.0, deadline - time.monotonic())))
                if not _acked(info):
                    break
            left = [p for p in pending if not _acked(p[3])]
            if not left:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(left)} messages not acknowledged by the broker")
            # paho re-sends in-flight messages on reconnect; anything still pending a while after
            # a reconnect is sent again (the consumer side de-duplicates)
            if all(ev.is_set() for ev in self.connected):
                time.sleep(1.0)
                left = [p for p in left if not _acked(p[3])]
                pending = [(t, pl, c, c.publish(t, pl, qos=1)) for t, pl, c, _ in left]
            else:
                pending = left

    def close(self) -> None:
        for c in self.clients:
            c.disconnect()
            c.loop_stop()
