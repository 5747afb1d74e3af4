"""The driver-state monitor: samples in, states and events out. Deterministic: no wall clock, no
I/O; every time comes from the samples.

Pipeline per face sample (each layer is its own module, testable alone):
  signals (sanitise, relative to the calibration) -> eyes / mouth / head / attention trackers
  (time-stamped state machines and rolling windows) -> drowsiness level (hysteresis)
  -> alerts (ladder, cooldown, snooze marking, speed gating) -> Events.
"""

from __future__ import annotations

import logging

from driverwatch.config.monitor import MonitorConfig
from driverwatch.monitor.affect import FrustrationDetector, StressFusion
from driverwatch.monitor.attention import OFF, ON, AttentionTracker
from driverwatch.monitor.calibration import EYE_KEYS, Calibration
from driverwatch.monitor.drowsiness import DrowsinessEstimator
from driverwatch.monitor.escalation import Alert
from driverwatch.monitor.events import SEVERITY_RANK, Condition, Event, EventIds
from driverwatch.monitor.eyes import CLOSED, DOWN, EyeTracker
from driverwatch.monitor.head import NodDetector
from driverwatch.monitor.mindwandering import MindWanderingDetector
from driverwatch.monitor.mouth import YawnDetector
from driverwatch.monitor.remedies import Remedies
from driverwatch.monitor.signals import derive, learn, sanitize
from driverwatch.monitor.stress import StressMonitor
from driverwatch.samples import FaceFeatures, HeartFeatures, SpeedSample

log = logging.getLogger(__name__)

SNAPSHOT_SCHEMA = 1
SPEED_STALE_S = 5.0  # a speed older than this (monitor time) counts as unknown
DISTRACTION = ("long_distraction", "vats")
# Warnings the driver must answer by looking back at the road within `return_s`. Eye closures have
# their own limit (`unresponsive_s` of closed eyes; sleep is already critical at 3 s): counting 3 s
# from the microsleep warning would call a 4 s closure unresponsive and make that limit unreachable.
RESPOND_TO = DISTRACTION


def _r(v: float | None, n: int = 3) -> float | None:
    return None if v is None else round(v, n)


class Monitor:
    def __init__(self, cfg: MonitorConfig | None = None, drive_id: str = "drive"):
        self.cfg = cfg = cfg or MonitorConfig()
        self.ids = EventIds(drive_id)
        self.calib = Calibration(cfg.calibration)
        self.eyes = EyeTracker(cfg.eyes)
        self.yawns = YawnDetector(cfg.mouth)
        self.nods = NodDetector(cfg.head)
        self.attention = AttentionTracker(cfg.attention)
        self.drowsiness = DrowsinessEstimator(cfg.drowsiness)
        self._instants = {k: Condition(self.ids, k) for k in ("blink", "long_blink", "yawn", "nod")}
        a = cfg.alerts
        warn, crit = ((a.warning_after_s, "warning"),), ((a.critical_after_s, "critical"),)

        def alert(kind, ladder=(), cooldown=a.cooldown_s):
            return Alert(self.ids, kind, ladder, cooldown, a.update_interval_s)

        self.alerts: dict[str, Alert] = {
            "microsleep": alert("microsleep", cooldown=0.0),
            "sleep": alert("sleep", cooldown=0.0),
            "drowsy": alert("drowsy", cooldown=0.0),
            "long_distraction": alert("long_distraction", crit),
            "vats": alert("vats", crit),
            "unresponsive": alert("unresponsive"),
            "face_missing": alert("face_missing", warn),
            "eyes_unobservable": alert("eyes_unobservable", warn),
            "camera_blocked": alert("camera_blocked", warn),
            "camera_unavailable": alert("camera_unavailable", cooldown=0.0),
        }
        self._stress = StressMonitor(cfg.stress, self.ids, emit=False)  # its level is fused with the face's
        self.frustration = FrustrationDetector(cfg.frustration, cfg.calibration.memory_s, self.ids)
        self.fusion = StressFusion(cfg.remedies, self.ids)
        self.mind = MindWanderingDetector(cfg.mind_wandering, cfg.calibration.memory_s, self.ids)
        self.remedies = Remedies(cfg.remedies, self.ids)
        self.speed: SpeedSample | None = None
        self.snooze_until: float | None = None
        self.last_t: float | None = None
        self.face: bool | None = None
        self.counts = {"frames": 0, "out_of_order": 0, "gaps": 0, "nan_frames": 0}
        self._brightness: float | None = None
        self._signals = None

    # --- inputs ------------------------------------------------------------------------------------
    def update_speed(self, s: SpeedSample) -> None:
        self.speed = s

    def snooze(self, t: float, seconds: float) -> dict:
        """Mute notice chimes until t + seconds, capped at `alerts.snooze_max_s`; 0 cancels. Events
        still go out (marked `snoozed`); warnings and critical alarms are never muted. Returns what
        was applied: {"seconds": ..., "capped": bool}."""
        cap = self.cfg.alerts.snooze_max_s
        s = min(max(float(seconds), 0.0), cap)
        self.snooze_until = t + s if s > 0 else None
        log.info("notice chimes snoozed for %.0f s%s", s, f" (capped at {cap:g} s)" if seconds > cap else "")
        return {"seconds": s, "capped": seconds > cap}

    def recalibrate(self, t: float) -> list[Event]:
        """Forget the driver's baseline (a new driver): learn again from the next samples."""
        log.info("recalibrating at t=%.3f", t)
        self.calib.reset()
        self.frustration.forget()
        self.mind.forget()
        return self._stress.recalibrate(t) + self.fusion.end(t, "recalibrating")

    def kmh(self, t: float) -> float | None:
        s = self.speed
        return None if s is None or abs(t - s.t) > SPEED_STALE_S else s.kmh

    def _snoozed(self, t: float) -> bool:
        return self.snooze_until is not None and t < self.snooze_until

    def update_face(self, ff: FaceFeatures) -> list[Event]:
        bs = ff.blendshapes  # read by the affect layer, which checks each score itself
        ff, bad = sanitize(ff)
        t = ff.t
        if self.last_t is not None and not t > self.last_t:
            self.counts["out_of_order"] += 1
            return []
        self.counts["frames"] += 1
        self.counts["nan_frames"] += bad
        dt = 0.0
        if self.last_t is not None:
            dt = t - self.last_t
            if dt > self.cfg.max_gap_s:  # camera stall: unknown for the gap, no duration across it
                self.counts["gaps"] += 1
                dt = 0.0
                for tracker in (self.eyes, self.yawns, self.nods, self.attention):
                    tracker.reset()
                self.frustration.reset()
        self.last_t = t
        self.face = ff.face
        self._brightness = ff.brightness
        cfg = self.cfg
        laughing = dt > 0 and self._signals is not None and self._signals.squeeze
        s = self._signals = derive(ff, self.calib, cfg, laughing)
        learn(self.calib, ff, s, dt, cfg)

        out: list[Event] = []
        for ep in self.eyes.update(s):
            self.drowsiness.add(ep.kind, ep.t_end)
            if ep.kind in self._instants:
                ev = {"duration_s": round(ep.duration, 3)}
                out += self._instant(ep.kind, ep.t_start, ep.t_end, "info", ev)
        closed = self.eyes.state == CLOSED
        y = self.yawns.update(s)
        if y:
            self.drowsiness.add("yawn", y.t_end)
            out += self._instant("yawn", y.t_start, y.t_end, "info",
                                 {"duration_s": round(y.t_end - y.t_start, 3), "peak_mar": _r(y.peak_mar),
                                  "peak_jaw_open": _r(y.peak_jaw)})
        # lids nearer closed than open while looking down count as shut for a nod (they are not
        # measured as a closure there: see eyes.py)
        shut = closed or not s.eyes_observable or (self.eyes.state == DOWN and (s.closure or 0) >= cfg.eyes.open_closure)
        n = self.nods.update(s, shut)
        if n:
            self.drowsiness.add("nod", n.t_end)
            out += self._instant("nod", n.t_start, n.t_end, "notice",
                                 {"duration_s": round(n.t_end - n.t_start, 3), "depth_deg": round(n.depth_deg, 1),
                                  "fall_s": round(n.fall_s, 3), "recovery_s": round(n.rise_s, 3),
                                  "eyes_shut_share": round(n.closed_share, 2)})
        kmh = self.kmh(t)
        suppress = kmh is not None and kmh < cfg.attention.min_speed_kmh
        self.attention.update(s, closed, suppress, self.eyes.onset)
        support = self._stress.drowsy_support
        self.drowsiness.update(t, self.eyes.perclos(), support)
        out += self._rules(t, kmh, suppress)
        out += self._affect(t, ff.face, bs, s, closed, kmh, out)
        return self._mark_snoozed(out)

    def _mark_snoozed(self, events: list[Event]) -> list[Event]:
        """During a snooze, notices (not their ends) go out marked `snoozed`: the chime stays
        silent for them, the log and MQTT still get them. Warnings and critical are never marked."""
        for e in events:
            e.snoozed = e.severity == "notice" and e.type != "end" and self._snoozed(e.t)
        return events

    def _instant(self, kind: str, t0: float, t1: float, sev, evidence: dict) -> list[Event]:
        return [self._instants[kind].instant(t0, t1, sev, evidence)]

    def _rules(self, t: float, kmh: float | None, suppress: bool) -> list[Event]:
        cfg, at, eyes = self.cfg, self.attention, self.eyes
        snoozed = self._snoozed(t)
        out: list[Event] = []

        def upd(kind: str, active: bool, base="notice", evidence=None, t_start=None) -> None:
            evs = self.alerts[kind].update(t, active, base, evidence, t_start, snoozed)
            if kind in RESPOND_TO and any(SEVERITY_RANK[e.severity] >= 2 and e.type != "end" for e in evs):
                at.warn(t)
            out.extend(evs)

        closed_s = eyes.closed_for(t)
        ec = cfg.eyes
        ev = {"closed_s": round(closed_s, 3)}
        upd("microsleep", ec.microsleep_s - 1e-6 <= closed_s < ec.sleep_s - 1e-6, "warning", ev, eyes.onset)
        upd("sleep", closed_s >= ec.sleep_s - 1e-6, "critical", ev, eyes.onset)

        lvl = self.drowsiness.level
        upd("drowsy", lvl > 0, "warning" if lvl > 1 else "notice",
            dict(self.drowsiness.evidence, level=self.drowsiness.name))

        limit = at.glance_limit(kmh)
        away = 0.0 if at.away_since is None else t - at.away_since
        upd("long_distraction", not suppress and away >= limit - 1e-6, "warning",
            {"glance_s": round(away, 3), "limit_s": limit, "speed_kmh": kmh}, at.away_since)
        vats, vats_since = at.vats_total(t)
        upd("vats", not suppress and vats >= cfg.attention.vats_total_s - 1e-6, "warning",
            {"away_s": round(vats, 3), "window_s": cfg.attention.vats_window_s}, vats_since)
        upd("unresponsive", at.unresponsive(t), "critical",
            {"inattentive_s": round(t - (at.inattentive_since or t), 3), "eyes_closed_s": round(closed_s, 3),
             "warned_s_ago": None if at.warned_at is None else round(t - at.warned_at, 3)},
            at.inattentive_since)

        ac = cfg.attention
        blocked = at.dark_since is not None and t - at.dark_since >= ac.blocked_s - 1e-6
        upd("camera_blocked", blocked, "notice", {"brightness": _r(self._brightness, 1)}, at.dark_since)
        missing = not blocked and at.no_face_since is not None and t - at.no_face_since >= ac.face_missing_s - 1e-6
        upd("face_missing", missing, "notice", {}, at.no_face_since)
        hidden = at.hidden_eyes_since is not None and t - at.hidden_eyes_since >= ec.unobservable_s - 1e-6
        upd("eyes_unobservable", hidden, "notice", {}, at.hidden_eyes_since)
        return out

    def update_heart(self, hf: HeartFeatures) -> list[Event]:
        """Heart features -> stress events; drowsy_support feeds the drowsiness level (support only).
        The sensor's loss is data in this stream (sensor_ok=False, so a replay reproduces it):
        StressMonitor raises and ends `sensor_lost`, the only source of that event."""
        events = self._stress.update(hf)
        events += self.fusion.update(hf.t, self._stress.judged, self.frustration.active, self._affect_evidence)
        events += self.remedies.react(hf.t, events)
        return self._mark_snoozed(events)

    def update_health(self, t: float, source: str, ok: bool, detail: str = "") -> list[Event]:
        """The camera's availability -> camera_unavailable. Other sources report through their own
        data (the heart sensor: HeartFeatures.sensor_ok) and are ignored here."""
        if source != "camera":
            log.debug("update_health: ignoring source %r (only the camera is a health source)", source)
            return []
        alert = self.alerts["camera_unavailable"]
        # the first report's detail is kept to the end
        ev = None if ok or alert.open else {"source": source, "detail": detail}
        if not ok:  # nothing is known about the driver while it is away
            for tracker in (self.eyes, self.yawns, self.nods, self.attention):
                tracker.reset()
        return alert.update(t, not ok, "warning", ev, snoozed=self._snoozed(t))

    def heart_sensor(self) -> str | None:
        """"ok" / "lost" from the heart stream, None before any heart data."""
        last = self._stress.last
        if last is None:
            return None
        return "lost" if self._stress.lost.active or not last.sensor_ok else "ok"

    def finish(self, t: float) -> list[Event]:
        """End every open condition (end of a replay or shutdown)."""
        out: list[Event] = []
        for a in self.alerts.values():
            out += a.close(t)
        out += self._stress.finish(t)
        out += self.frustration.finish(t) + self.mind.finish(t) + self.fusion.end(t, "monitoring stopped")
        return out

    # --- affective and cognitive state: advisory, on-device (monitor/affect.py) ------------------
    def _affect(self, t: float, face: bool, bs, s, closed: bool, kmh: float | None, out: list[Event]) -> list[Event]:
        new = self.frustration.update(t, face, bs)
        mw = self.cfg.mind_wandering
        usable = bool(face) and not closed and self.calib.calibrated and (kmh is None or kmh >= mw.min_speed_kmh)
        new += self.mind.update(t, s.dir_yaw, s.dir_pitch, usable)
        new += self.fusion.update(t, self._stress.judged, self.frustration.active, self._affect_evidence)
        return new + self.remedies.react(t, out + new)

    def _affect_evidence(self) -> tuple[dict, dict]:
        return self._stress.evidence(), self.frustration.snapshot()

    def learned_profile(self) -> dict:
        """What this drive learnt about the driver, for their profile (None: not learnt)."""
        st = self._stress
        heart = ({"hr": round(st.baseline_hr, 2), "rmssd": _r(st.baseline_rmssd, 2)}
                 if st.calibrated and st.baseline_source == "drive" else None)
        face = self.frustration.neutral_levels() if self.frustration.learned_s >= self.cfg.frustration.neutral_s else None
        eyes = {k: round(v, 4) for k in EYE_KEYS if (v := self.calib.eye_level(k)) is not None}
        return {"heart": heart, "face": face, "eyes": eyes if self.calib.calibrated and eyes else None}

    def apply_profile(self, t: float, profile: dict) -> None:
        """Start from a stored driver profile: resting heart baseline, neutral face, open-eye levels
        (seeded into the rolling baseline, so this drive's own samples take over as they come)."""
        h = profile.get("heart") or {}
        if isinstance(h.get("hr"), int | float):
            self._stress.set_baseline(h["hr"], h.get("rmssd"))
        if profile.get("face"):
            self.frustration.set_neutral(profile["face"])
        for k, v in (profile.get("eyes") or {}).items():
            if k in self.calib.eyes and isinstance(v, int | float):
                for i in range(3):
                    self.calib.eyes[k].add(t - 3.0 + i, float(v))

    def affect_snapshot(self) -> dict:
        return {"stress": self.fusion.snapshot(), "frustration_like": self.frustration.snapshot(),
                "mind_wandering": self.mind.snapshot()}

    # --- state -------------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """Compact state; unknown is null / "unknown", never guessed as fine."""
        t = self.last_t
        s = self._signals
        camera_down = self.alerts["camera_unavailable"].open
        fresh = s is not None and not camera_down
        eyes_obs = s.eyes_observable if fresh and s.face else (False if fresh else None)
        eyes_state = self.eyes.state if fresh else "unknown"
        att = self.attention.state if fresh else "unknown"
        stress = self._stress.snapshot() if self._stress.last is not None else None  # null: no heart data
        active = [{"kind": a.kind, "severity": a.severity, "id": a.cond.id, "t_start": round(a.t_start, 3)}
                  for a in self.alerts.values() if a.open and a.clear_since is None and a.cond.active]
        kmh = self.kmh(t) if t is not None else None
        return {
            "schema": SNAPSHOT_SCHEMA,
            "t": _r(t, 4),
            "calibration": {"status": self.calib.status(), "progress": round(self.calib.progress, 3),
                            "heart": self._stress.calibrated if stress else None},
            "face_present": None if not fresh else bool(s.face),
            "eyes_observable": eyes_obs,
            "eyes": "looking_down" if eyes_state == DOWN else eyes_state,
            "attention": att if att in (ON, OFF) else "unknown",
            "drowsiness": self.drowsiness.name if fresh or self.drowsiness.level else "unknown",
            "perclos": _r(self.eyes.perclos()),
            "blink_rate_per_min": _r(self.eyes.blink_rate(t), 1) if t is not None else None,
            "stress": self.fusion.level,  # heart and face fused (monitor/affect.py); null = unknown
            "affect": self.affect_snapshot(),
            "hr_bpm": _r(stress["hr"], 0) if stress else None,  # the latest heart figures, null without them
            "rmssd_ms": _r(stress["rmssd"], 1) if stress else None,
            "heart_sensor": self.heart_sensor(),
            "speed_kmh": kmh,
            "snoozed": t is not None and self._snoozed(t),
            "snooze_s": round(self.snooze_until - t, 1) if t is not None and self._snoozed(t) else 0.0,
            "active": active,
            "degraded": (not fresh or att not in (ON, OFF) or eyes_obs is not True
                         or self.heart_sensor() == "lost"),
            "counts": dict(self.counts),
        }
