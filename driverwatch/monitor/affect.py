"""Frustration-like facial activity and the fused stress state. Deterministic, no clock.

Named for what is measured: facial activity that often goes with frustration (brow lowering, lip
pressing, nose wrinkling, tight lips), never "anger" or any emotion: face-only emotion reading is weak
(Ihme et al. 2018: 62 % for frustration in a driving study; Barrett et al. 2019). It is an advisory input:
the stress state it feeds is announced with a calm cue at most, never the alarm ladder.

Frustration-like activity: per frame each cue's score above the driver's own neutral level (median of
judged frames over the calibration memory); frames with the jaw moving (speech, yawns), a smile or a
blink (jaw and smile against their own 20th percentile over all frames), and `hold_s` after them, are not
judged. An episode starts when cues were active for `min_share`
of the judged time in the last `window_s`, and ends below `release_share`.

Fused stress: heart arousal (StressMonitor) and the face episode; the level is "elevated" when either
says so, "high" when the heart says high or both agree; evidence lists the sources used ("heart",
"face") and which raised it. Unknown only when neither source is known.
"""

from __future__ import annotations

import math
from collections import deque

from driverwatch.config.affect import FrustrationConfig, RemediesConfig
from driverwatch.monitor.calibration import RobustBaseline
from driverwatch.monitor.events import Condition, Event, EventIds
from driverwatch.monitor.windows import RollingShare

# Cue -> MediaPipe blendshapes (mean of the sides) and the action unit it stands for (FACS, Ekman & Friesen).
CUES: dict[str, tuple[tuple[str, ...], str]] = {
    "brow_down": (("browDownLeft", "browDownRight"), "AU4 brow lowerer"),
    "lip_press": (("mouthPressLeft", "mouthPressRight"), "AU24 lip pressor"),
    "nose_wrinkle": (("noseSneerLeft", "noseSneerRight"), "AU9 nose wrinkler"),
    "tight_lips": (("mouthRollLower", "mouthRollUpper"), "AU28 lip suck / jaw clench cue"),
}
GUARDS = {"jaw": ("jawOpen",), "smile": ("mouthSmileLeft", "mouthSmileRight"), "blink": ("eyeBlinkLeft", "eyeBlinkRight")}
USED = tuple(n for names, _ in CUES.values() for n in names) + tuple(n for v in GUARDS.values() for n in v)
GUARD_NEUTRAL = ("jaw", "smile")
NEUTRAL_KEYS = tuple(CUES) + GUARD_NEUTRAL
MAX_STEP_S = 0.5  # a gap between frames counts at most this much


def _mean(bs: dict, names: tuple[str, ...]) -> float | None:
    vals = [bs.get(n) for n in names]
    vals = [float(v) for v in vals if isinstance(v, int | float) and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


class FrustrationDetector:
    def __init__(self, cfg: FrustrationConfig, memory_s: float, ids: EventIds):
        self.cfg = cfg
        self.cond = Condition(ids, "frustration_like")
        # cues: the median of judged frames; guards: a low percentile of all frames (the resting jaw and
        # smile the face comes back to, even if it talks or smiles most of the time)
        self.neutral = {k: RobustBaseline(20.0 if k in GUARD_NEUTRAL else 50.0, memory_s, 0.2) for k in NEUTRAL_KEYS}
        self.window = RollingShare(cfg.window_s, cfg.min_observed_share)
        self.learned_s = 0.0
        self.profile: dict[str, float] | None = None
        self.active: bool | None = None  # None = unknown
        self.share: float | None = None
        self.peak: dict[str, float] = {}
        self._prev_t: float | None = None
        self._excluded_until = -math.inf
        self._hits: deque[float] = deque()  # times of cue-active frames in the window

    def reset(self) -> None:
        """A camera stall: the window starts again (the neutral face is kept)."""
        self.window = RollingShare(self.cfg.window_s, self.cfg.min_observed_share)
        self._prev_t = None
        self._hits.clear()

    def forget(self) -> None:
        """A new driver: the neutral face is learnt again."""
        self.reset()
        for b in self.neutral.values():
            b.clear()
        self.learned_s, self.profile = 0.0, None

    def set_neutral(self, levels: dict[str, float]) -> None:
        """A stored neutral face (the driver's profile), used until this drive's own is learnt."""
        self.profile = {k: float(v) for k, v in levels.items() if k in NEUTRAL_KEYS}

    def _guard_levels(self, neutral: dict | None) -> dict[str, float]:
        out = {}
        for k in GUARD_NEUTRAL:
            b = self.neutral[k]
            out[k] = b.value if len(b) >= 3 else (neutral or {}).get(k, 0.0)
        return out

    def neutral_levels(self) -> dict[str, float] | None:
        if self.learned_s >= self.cfg.neutral_s:
            out = {k: b.value for k, b in self.neutral.items() if b.value is not None}
            return out if len(out) == len(NEUTRAL_KEYS) else None
        return self.profile

    def update(self, t: float, face: bool, bs: dict | None) -> list[Event]:
        c = self.cfg
        dt = 0.0 if self._prev_t is None else min(max(t - self._prev_t, 0.0), MAX_STEP_S)
        self._prev_t = t
        vals = None
        if face and bs:
            vals = {k: _mean(bs, names) for k, (names, _) in CUES.items()}
            vals.update({k: _mean(bs, names) for k, names in GUARDS.items()})
        neutral = self.neutral_levels()
        judged, hit, acts = False, False, {}
        if vals is not None and all(v is not None for v in vals.values()):
            # the guards' own resting levels are learnt from every frame (a face that smiles at rest
            # must not read as smiling all the time, or it would never be judged)
            for k in GUARD_NEUTRAL:
                self.neutral[k].add(t, vals[k])
            g = self._guard_levels(neutral)
            moving = (vals["jaw"] - g["jaw"] >= c.speech_jaw_open
                      or vals["smile"] - g["smile"] >= c.smile or vals["blink"] >= c.blink)
            if moving:
                self._excluded_until = t + c.hold_s
            elif t >= self._excluded_until:
                if not self.cond.active:  # an episode does not teach the neutral face
                    for k in CUES:
                        self.neutral[k].add(t, vals[k])
                    self.learned_s += dt
                if neutral is not None:
                    judged = True
                    acts = {k: vals[k] - neutral[k] for k in CUES}
                    hit = any(a >= c.cue_rise for a in acts.values())
        if judged:
            self.window.add(t - dt, t, hit)
            if hit:
                self._hits.append(t - dt)
        else:
            self.window.advance(t)
        share = self.share = self.window.share()
        while self._hits and self._hits[0] < t - c.window_s:
            self._hits.popleft()
        events: list[Event] = []
        if share is None or not c.enabled:
            self.active = None
            if self.cond.active:
                events.append(self.cond.end(t, {"reason": "unknown: face not judged"}))
            return events
        if self.cond.active:
            for k, a in acts.items():
                self.peak[k] = max(self.peak.get(k, -1.0), round(a, 3))
            if share < c.release_share:  # dated at the last cue-active frame
                events.append(self.cond.end(t, {"share": round(share, 3), "peak_rise": self.peak},
                                            t_end=self._hits[-1] + dt if self._hits else t))
        elif share >= c.min_share:
            self.peak = {k: round(a, 3) for k, a in acts.items()}
            cues = sorted(k for k, a in acts.items() if a >= c.cue_rise)
            events.append(self.cond.start(t, "info", {
                "measured": "frustration-like facial activity", "share": round(share, 3), "window_s": c.window_s,
                "cues": cues, "action_units": [CUES[k][1] for k in cues], "rise": self.peak},
                t_start=self._hits[0] if self._hits else t))
        self.active = self.cond.active
        return events

    def finish(self, t: float) -> list[Event]:
        return [self.cond.end(t, {"reason": "monitoring stopped"})] if self.cond.active else []

    def snapshot(self) -> dict:
        return {"active": self.active, "share": None if self.share is None else round(self.share, 3),
                "neutral": "learned" if self.learned_s >= self.cfg.neutral_s else
                ("profile" if self.profile else "learning")}


class StressFusion:
    """The stress state from heart arousal and frustration-like facial activity."""

    def __init__(self, cfg: RemediesConfig, ids: EventIds):
        self.cfg = cfg
        self.cond = Condition(ids, "stress")
        self.level: str | None = None
        self.sources: list[str] = []
        self.raised_by: list[str] = []
        self._key = None

    def update(self, t: float, heart: str | None, face: bool | None, evidence) -> list[Event]:
        """`evidence()` -> (heart evidence, face evidence), built only when the state changes."""
        sources = [s for s, v in (("heart", heart), ("face", face)) if v is not None]
        if not sources:
            level, by = None, []
        else:
            by = ([f"heart:{heart}"] if heart in ("elevated", "high") else []) + (["face"] if face else [])
            if heart == "high" or (heart == "elevated" and face):
                level = "high"
            elif by:
                level = "elevated"
            else:
                level = "normal"
        self.level, self.sources, self.raised_by = level, sources, by
        key = (level, tuple(sources), tuple(by))
        if key == self._key:
            return []
        self._key = key
        if level not in ("elevated", "high") and not self.cond.active:
            return []
        heart_ev, face_ev = evidence()
        ev = {"level": level, "sources": sources, "raised_by": by, "heart": heart_ev if heart else None,
              "face": face_ev if face is not None else None}
        if level in ("elevated", "high"):
            sev = "notice" if self.cfg.stress_cue == "soft" else "info"
            if not self.cond.active:
                return [self.cond.start(t, sev, ev)]
            return [self.cond.update(t, sev, ev)]
        if self.cond.active:
            return [self.cond.end(t, ev if level else {**ev, "reason": "unknown: no source"})]
        return []

    def end(self, t: float, reason: str) -> list[Event]:
        self._key = None
        self.level, self.sources, self.raised_by = None, [], []
        return [self.cond.end(t, {"reason": reason})] if self.cond.active else []

    def snapshot(self) -> dict:
        return {"level": self.level, "sources": self.sources, "raised_by": self.raised_by}
