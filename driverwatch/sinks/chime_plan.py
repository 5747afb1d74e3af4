"""Chime decisions, pure functions of event times: which sound each event asks for
(`ChimePlanner`), which sound should be playing (`Schedule`), and the offline rendering of both
(`render`), shared by the live player and `ChimeSink.render_wav`, so the WAV the demo writes is
what the cab would have heard.
"""

from __future__ import annotations

import numpy as np

from driverwatch.monitor.events import SEVERITY_RANK, Event
from driverwatch.sinks.sounds import ALARM, Pattern

RANK = {"notice": 1, "warning": 2, "critical": 3, ALARM: 4}


class ChimePlanner:
    """Event -> sound actions: ("play", name), ("loop", id), ("stop", id). Deterministic in `event.t`.
    A snooze is the monitor's: events it marks `snoozed` (notices only) play nothing."""

    def __init__(self, repeat_s: float = 20.0, enabled: bool = True):
        self.repeat_s = repeat_s
        self.enabled = enabled
        self.active: dict[str, int] = {}  # id -> severity rank, conditions that have not ended
        self._last: dict[str, tuple[float, int]] = {}  # id -> (t, rank) of its last chime
        self.looping: set[str] = set()

    def plan(self, ev: Event) -> list[tuple[str, str]]:
        rank = SEVERITY_RANK.get(ev.severity, 0)
        if ev.type == "end":
            self.active.pop(ev.id, None)
            self._last.pop(ev.id, None)
            if ev.id in self.looping:
                self.looping.discard(ev.id)
                return [("stop", ev.id)]
            return []
        instant = ev.type == "start" and ev.t_end is not None
        if rank > 0 and not instant:
            self.active[ev.id] = rank
        out: list[tuple[str, str]] = []
        if ev.id in self.looping and rank < 3:  # downgraded from critical
            self.looping.discard(ev.id)
            out.append(("stop", ev.id))
        if rank == 3:
            if instant:
                out.append(("play", "critical"))
            elif ev.id not in self.looping:
                self.looping.add(ev.id)
                out.append(("loop", ev.id))
            return out
        if rank == 0 or not self.enabled or ev.snoozed:  # the monitor marks muted notices
            return out
        last = self._last.get(ev.id)
        if last is None or rank > last[1] or ev.t - last[0] >= self.repeat_s:
            if not instant:
                self._last[ev.id] = (ev.t, rank)
            out.append(("play", ev.severity))
        return out


class Schedule:
    """Which sound should be playing. Loops (critical conditions) win; a one-shot cuts a lower-ranked
    one-shot; otherwise it waits, at most `max_delay_s`."""

    def __init__(self, max_delay_s: float):
        self.max_delay_s = max_delay_s
        self.loops: set[str] = set()
        self.pending: list[tuple[float, str]] = []  # (t requested, name)
        self.dropped = 0

    def apply(self, t: float, action: tuple[str, str]) -> None:
        verb, arg = action
        if verb == "loop":
            self.loops.add(arg)
        elif verb == "stop":
            self.loops.discard(arg)
        elif not any(name == arg for _, name in self.pending):
            self.pending.append((t, arg))

    def _take(self, now: float, above: int = 0) -> str | None:
        fresh = [(t, n) for t, n in self.pending if now - t <= self.max_delay_s]
        self.dropped += len(self.pending) - len(fresh)
        self.pending = fresh
        best = max(fresh, key=lambda p: RANK[p[1]], default=None)
        if best is None or RANK[best[1]] <= above:
            return None
        self.pending.remove(best)
        return best[1]

    def decide(self, now: float, current: str | None, done: bool) -> tuple[str | None, bool]:
        """(sound that should play from `now`, whether to start it afresh, cutting `current`)."""
        if self.loops:
            self._take(now, above=RANK[ALARM])  # only expires stale one-shots
            return ALARM, current != ALARM
        if current is not None and current != ALARM and not done:
            nxt = self._take(now, above=RANK[current])
            return (nxt, True) if nxt else (current, False)
        nxt = self._take(now)
        return nxt, nxt is not None


def render(patterns: dict[str, Pattern], actions: list[tuple[float, tuple[str, str]]], duration: float,
           max_delay_s: float = 2.0) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Offline: the PCM the player would produce for timed actions, and its (t0, t1, name) segments."""
    rate = next(iter(patterns.values())).rate
    out = np.zeros(int(round(duration * rate)), dtype=np.int16)
    sched = Schedule(max_delay_s)
    segments: list[tuple[float, float, str]] = []
    cur: str | None = None
    t0 = 0.0
    i = 0

    def place(name: str, a: float, b: float) -> None:
        pcm = patterns[name].pcm
        i0, i1 = int(round(a * rate)), min(int(round(b * rate)), len(out))
        if i1 <= i0:
            return
        reps = -(-(i1 - i0) // len(pcm))
        out[i0:i1] = np.tile(pcm, reps)[: i1 - i0]
        segments.append((round(a, 4), round(min(b, duration), 4), name))

    while True:
        finish = t0 + patterns[cur].duration if cur not in (None, ALARM) else float("inf")
        t_ev = actions[i][0] if i < len(actions) else float("inf")
        now = min(finish, t_ev)
        if now >= duration or now == float("inf"):
            break
        done = finish <= t_ev
        while not done and i < len(actions) and actions[i][0] <= now:
            sched.apply(*actions[i])
            i += 1
        nxt, fresh = sched.decide(now, cur, done)
        if cur is not None and (fresh or nxt is None or done):
            place(cur, t0, now)
            cur = None
        if fresh:
            cur, t0 = nxt, now
    if cur is not None:
        place(cur, t0, min(duration, t0 + patterns[cur].duration if cur != ALARM else duration))
    return out, segments
