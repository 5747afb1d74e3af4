"""Remedial actions that fit the state, as data. An affective state gets a calm cue (the soft notice
chime or nothing) and an event for in-car automations; repeated drowsiness gets a break suggestion;
no affective state ever takes the alarm ladder (warning beeps, alarms)."""

from __future__ import annotations

from collections import deque

from driverwatch.config.affect import RemediesConfig
from driverwatch.monitor.events import Condition, Event, EventIds

# (state, event kind, cue, what it is for, source). Numbers: [monitor.remedies], in seconds.
RULES = (
    ("stress", "calm_suggestion", "none (the stress state's own cue: remedies.stress_cue)",
     "in-car automations: quieter media, calm lighting, climate",
     "calm, low-urgency cues for non-critical states: ISO 15006 / Edworthy et al. 1991 (urgency follows "
     "pitch and rate, so a soft two-note chime is not an alarm)"),
    ("drowsy", "break_suggestion", "soft notice chime",
     "suggest a break after `break_after_drowsy` drowsy states within `break_window_s`",
     "rest is the countermeasure to sleepiness that lasts (Horne & Reyner 1996); EU ADDW Reg. (EU) "
     "2023/2590 asks the system to recommend a break"),
)
AFFECTIVE_KINDS = frozenset({"stress", "frustration_like", "mind_wandering", "calm_suggestion"})
# Events meant for in-car automations: sent whatever `mqtt.min_severity` is (a calm suggestion is
# `info` so that it never chimes, yet an automation must receive it); affective ones still only with
# `privacy.affective_telemetry`.
AUTOMATION_KINDS = frozenset(rule[1] for rule in RULES)


class Remedies:
    def __init__(self, cfg: RemediesConfig, ids: EventIds):
        self.cfg = cfg
        self._calm = Condition(ids, "calm_suggestion")
        self._break = Condition(ids, "break_suggestion")
        self._drowsy: deque[float] = deque()
        self._last_calm: float | None = None
        self._last_break: float | None = None

    def react(self, t: float, events: list[Event]) -> list[Event]:
        c, out = self.cfg, []
        for e in events:
            if e.kind == "stress" and e.type == "start" and c.calm_automation and (
                    self._last_calm is None or t - self._last_calm >= c.calm_repeat_s):
                self._last_calm = t
                out.append(self._calm.instant(e.t_start, t, "info", {
                    "for": "stress", "stress_id": e.id, "level": e.evidence.get("level"),
                    "sources": e.evidence.get("sources"), "automation": "calm"}))
            elif e.kind == "drowsy" and e.type == "start":
                self._drowsy.append(t)
                while self._drowsy and self._drowsy[0] < t - c.break_window_s:
                    self._drowsy.popleft()
                if len(self._drowsy) >= c.break_after_drowsy and (
                        self._last_break is None or t - self._last_break >= c.break_repeat_s):
                    self._last_break = t
                    out.append(self._break.instant(self._drowsy[0], t, "notice", {
                        "for": "drowsy", "drowsy_episodes": len(self._drowsy), "window_s": c.break_window_s,
                        "suggestion": "take a break"}))
        return out
