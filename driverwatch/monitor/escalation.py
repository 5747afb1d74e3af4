"""Layer 4: a condition's announcements. The rules say each frame whether a condition holds and at
what base severity; an `Alert` turns that into start / update / end events:

- escalation: the severity climbs a ladder of (seconds since start, severity) rungs;
- cooldown: a condition must stay clear for `cooldown_s` before it ends, and a recurrence within it
  continues the same announcement (no re-announcing every frame); the end carries the real t_end;
- updates only on a severity change or every `update_interval_s`;
- a snooze marks notice-level events `snoozed` (the chime stays silent for them; the log and
  MQTT still get them); warning and critical events are never marked.
"""

from __future__ import annotations

from driverwatch.monitor.events import SEVERITY_RANK, Condition, Event, EventIds, Severity


def _max(a: Severity, b: Severity) -> Severity:
    return a if SEVERITY_RANK[a] >= SEVERITY_RANK[b] else b


class Alert:
    def __init__(self, ids: EventIds, kind: str, ladder: tuple[tuple[float, Severity], ...] = (),
                 cooldown_s: float = 0.0, update_interval_s: float = 10.0):
        self.cond = Condition(ids, kind)
        self.kind = kind
        self.ladder = ladder
        self.cooldown_s = cooldown_s
        self.update_interval_s = update_interval_s
        self.open = False  # the condition holds (announced or silenced)
        self.t_start = 0.0
        self.t_open = 0.0  # when it was detected (the ladder counts from here)
        self.severity: Severity = "info"
        self.clear_since: float | None = None
        self.recurrences = 0
        self._last_emit = 0.0
        self.evidence: dict = {}

    def _rung(self, t: float, base: Severity) -> Severity:
        sev = base
        for after, s in self.ladder:
            if t - self.t_open >= after - 1e-6:
                sev = _max(sev, s)
        return sev

    def update(self, t: float, active: bool, base: Severity = "notice", evidence: dict | None = None,
               t_start: float | None = None, snoozed: bool = False) -> list[Event]:
        if evidence is not None:
            self.evidence = evidence
        if not active:
            if not self.open:
                return []
            if self.clear_since is None:
                self.clear_since = t
            if t - self.clear_since >= self.cooldown_s - 1e-9:
                return self.close(t)
            return []
        out: list[Event] = []
        if not self.open:
            self.open = True
            self.t_open = t
            self.t_start = t if t_start is None else t_start
            self.recurrences = 0
        elif self.clear_since is not None:
            self.clear_since = None
            self.recurrences += 1
        sev = self._rung(t, base)
        ev = dict(self.evidence, duration_s=round(t - self.t_start, 3))
        if self.recurrences:
            ev["recurrences"] = self.recurrences
        if not self.cond.active:
            out.append(self.cond.start(t, sev, ev, t_start=self.t_start))
            self._last_emit = t
        elif sev != self.cond.severity or t - self._last_emit >= self.update_interval_s:
            out.append(self.cond.update(t, sev, ev))
            self._last_emit = t
        for e in out:
            e.snoozed = snoozed and sev == "notice"
        self.severity = sev
        return out

    def close(self, t: float) -> list[Event]:
        """End now (t_end = when it cleared, if it had); nothing if it was never announced."""
        if not self.open:
            return []
        t_end = self.clear_since if self.clear_since is not None else t
        self.open = False
        self.clear_since = None
        if not self.cond.active:
            return []
        ev = dict(self.evidence, duration_s=round(t_end - self.t_start, 3))
        return [self.cond.end(t, ev, t_end=t_end)]
