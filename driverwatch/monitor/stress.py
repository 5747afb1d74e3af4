"""Stress level from heart features against the driver's resting baseline. Deterministic, no clock.

Baseline: the driver at their calmest. Every `_STEP_S` the medians of HR and RMSSD over the last
`calibration_s` of good-quality features form a candidate ("stretch"); the baseline is the stretch with
the lowest median HR within `memory_s` (or a stored profile's, when lower: `set_baseline`). The first
stretch is a provisional baseline, so a drive that starts stressed stops being its own reference once
the driver calms down (drivedb drive17b: 76 bpm mid-drive, ~68 in the final rest). Drowsiness support
uses the awake reference instead (the profile, else the drive's first stretch).

Score: the mean of the HR rise and the RMSSD fall relative to the baseline, each divided by its
"elevated" threshold (HR alone when the sensor gives no beats), so 1.0 is the elevated line; "high"
uses the high thresholds the same way. A level is entered at its line, left `hysteresis` below it, and
reported once it held `persist_share` of `min_duration_s` (a move down counts on through lower levels).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from driverwatch.config.affect import StressConfig
from driverwatch.monitor.events import Condition, Event, EventIds
from driverwatch.samples import HeartFeatures

LEVELS = ("normal", "elevated", "high")
_RANK = {lvl: i for i, lvl in enumerate(LEVELS)}
_SEVERITY = {"elevated": "notice", "high": "notice"}  # an affective state never takes the alarm ladder
_MAX_STEP_S = 5.0  # a gap between features counts at most this much towards calibration
_STEP_S = 10.0  # seconds of good features between baseline candidates (stretches)


class StressMonitor:
    def __init__(self, cfg: StressConfig | None = None, ids: EventIds | None = None, emit: bool = True):
        """`emit=False`: no `stress` events of its own (the Monitor fuses the level with the face)."""
        self.cfg: StressConfig = cfg or StressConfig()
        self.emit = emit
        self.ids = ids or EventIds()
        self.stress = Condition(self.ids, "stress")
        self.lost = Condition(self.ids, "sensor_lost")
        self._win: deque[tuple[float, float, float | None, float]] = deque()  # (t, hr, rmssd, step) good
        self._win_s = 0.0
        self._cal_s = 0.0  # seconds of good features seen (capped by the stretch)
        self._since_step = 0.0
        self._stretches: deque[tuple[float, float, float | None]] = deque()  # (t, hr, rmssd) candidates
        self.profile: tuple[float, float | None] | None = None
        self.baseline_hr: float | None = None
        self.baseline_rmssd: float | None = None
        self.baseline_source: str | None = None  # "drive" | "profile"
        self._awake: tuple[float, float | None] | None = None  # the drive's first stretch (drowsiness support)
        self.level: str | None = None  # reported level; None = unknown
        self._held = "normal"  # last known level (kept through unknown stretches for hysteresis)
        self._cand: str | None = None
        self._cand_t = 0.0
        self._cand_off = 0.0  # seconds since _cand_t the target was not on the candidate's side
        self._prev_t: float | None = None
        self._unknown_since: float | None = None
        self.last: HeartFeatures | None = None
        self.score: float | None = None
        self.high_score: float | None = None
        self.drowsy_support: bool | None = None

    @property
    def calibrated(self) -> bool:
        return self.baseline_hr is not None

    @property
    def judged(self) -> str | None:
        """The level for the stress state: the reported one, kept through an unknown spell shorter than
        `min_duration_s` (as the stress condition is), None when unknown."""
        if self.level is not None or not self.calibrated or self._unknown_since is None or self.last is None:
            return self.level
        return self._held if self.last.t - self._unknown_since < self.cfg.min_duration_s else None

    def evidence(self) -> dict:
        hf = self.last
        return {"level": self.judged, "hr": self._r(hf.hr if hf else None), "rmssd": self._r(hf.rmssd if hf else None),
                "baseline_hr": self._r(self.baseline_hr), "baseline_rmssd": self._r(self.baseline_rmssd),
                "baseline_source": self.baseline_source, "score": self._r(self.score)}

    def set_baseline(self, hr: float, rmssd: float | None) -> None:
        """A stored resting baseline (the driver's profile): used at once, and kept while no stretch
        of this drive is calmer."""
        self.profile = (float(hr), None if rmssd is None else float(rmssd))
        self._choose()

    def _choose(self) -> None:
        """The calmest candidate: the stretch (or profile) with the lowest median HR."""
        best, src = self.profile, "profile"
        for _, hr, rm in self._stretches:
            if best is None or hr < best[0]:
                best, src = (hr, rm), "drive"
        if best is None:
            return
        self.baseline_hr, self.baseline_rmssd = best
        self.baseline_source = src

    def _learn(self, hf: HeartFeatures, step: float) -> None:
        c = self.cfg
        self._win.append((hf.t, hf.hr, hf.rmssd, step))
        self._win_s += step
        while len(self._win) > 1 and self._win_s - self._win[0][3] >= c.calibration_s:
            self._win_s -= self._win.popleft()[3]
        self._cal_s = min(self._cal_s + step, c.calibration_s)
        self._since_step += step
        while self._stretches and self._stretches[0][0] < hf.t - c.memory_s:
            self._stretches.popleft()
        first = not self._stretches and self.baseline_hr is None
        if self._win_s >= c.calibration_s - 1e-6 and (first or self._since_step >= _STEP_S - 1e-6):
            self._since_step = 0.0
            rms = [w[2] for w in self._win if w[2] is not None]
            self._stretches.append((hf.t, float(np.median([w[1] for w in self._win])),
                                    float(np.median(rms)) if rms else None))
            if self._awake is None:
                self._awake = self._stretches[-1][1:]
            self._choose()

    def recalibrate(self, t: float) -> list[Event]:
        """Forget the baseline and what was judged against it (a new driver): an open stress
        condition ends, and the baseline is learnt again from the next good features."""
        events = [self.stress.end(t, {"reason": "recalibrating"})] if self.stress.active else []
        self._win.clear()
        self._stretches.clear()
        self._win_s = self._cal_s = self._since_step = 0.0
        self.profile = self._awake = None
        self.baseline_hr = self.baseline_rmssd = self.baseline_source = None
        self.level = self.score = self.high_score = self.drowsy_support = None
        self._held, self._cand, self._unknown_since = "normal", None, None
        return events

    def finish(self, t: float) -> list[Event]:
        """End the open conditions (end of a replay, shutdown)."""
        return [c.end(t, {"reason": "monitoring stopped"}) for c in (self.stress, self.lost) if c.active]

    def _good(self, hf: HeartFeatures) -> bool:
        return hf.sensor_ok and hf.hr is not None and hf.quality is not None and hf.quality >= self.cfg.min_quality

    def update(self, hf: HeartFeatures) -> list[Event]:
        c = self.cfg
        events: list[Event] = []
        step = 0.0 if self._prev_t is None else min(max(hf.t - self._prev_t, 0.0), _MAX_STEP_S)
        self._prev_t = hf.t
        self.last = hf
        if not hf.sensor_ok and not self.lost.active:
            events.append(self.lost.start(hf.t, "notice", {}))
        elif hf.sensor_ok and self.lost.active:
            events.append(self.lost.end(hf.t, {"lost_s": round(hf.t - self.lost.t_start, 2)}))
        good = self._good(hf)
        if good:
            self._learn(hf, step)
        if not self.calibrated:
            return events
        if not good:
            self.score = self.high_score = self.drowsy_support = None
            self.level = None
            if self._unknown_since is None:
                self._unknown_since = hf.t
            if self.stress.active and hf.t - self._unknown_since >= c.min_duration_s:
                self._held, self._cand = "normal", None  # coming back needs a fresh confirmation
                events.append(self.stress.end(hf.t, {"reason": "unknown: sensor lost or poor signal quality",
                                                     "quality": self._r(hf.quality)}, t_end=self._unknown_since))
            return events
        self._unknown_since = None
        hr_rise = hf.hr / self.baseline_hr - 1.0
        rm = hf.rmssd if self.baseline_rmssd and hf.rmssd is not None else None
        rm_fall = None if rm is None else 1.0 - rm / self.baseline_rmssd
        self.score = self._combine(hr_rise, c.elevated_hr_rise, rm_fall, c.elevated_rmssd_fall)
        self.high_score = self._combine(hr_rise, c.high_hr_rise, rm_fall, c.high_rmssd_fall)
        # Drowsiness support against the awake reference (the profile, else the drive's first stretch):
        # a dozing driver's heart slows below the calmest awake level, which the stress baseline follows.
        ref_hr, ref_rm = self.profile or self._awake or (self.baseline_hr, self.baseline_rmssd)
        self.drowsy_support = (None if hf.rmssd is None or not ref_rm else
                               bool(hf.hr / ref_hr - 1.0 <= -c.drowsy_hr_fall
                                    and hf.rmssd / ref_rm - 1.0 >= c.drowsy_rmssd_rise))
        self._step_candidate(self._target(), hf.t, step)
        changed_at = hf.t
        if self._cand is not None and hf.t - self._cand_t >= c.min_duration_s:
            self._held, self._cand, changed_at = self._cand, None, self._cand_t
        self.level = self._held
        evidence = {"hr": self._r(hf.hr), "rmssd": self._r(hf.rmssd), "baseline_hr": self._r(self.baseline_hr),
                    "baseline_rmssd": self._r(self.baseline_rmssd), "score": self._r(self.score),
                    "high_score": self._r(self.high_score), "quality": self._r(hf.quality)}
        if not self.emit:
            return events
        if self.level in _SEVERITY:
            sev = _SEVERITY[self.level]
            if not self.stress.active:
                events.append(self.stress.start(hf.t, sev, {"level": self.level, **evidence}, t_start=changed_at))
            elif self.stress.severity != sev:
                events.append(self.stress.update(hf.t, sev, {"level": self.level, **evidence}))
        elif self.stress.active:  # ended when the lower level began (it was confirmed only now)
            events.append(self.stress.end(hf.t, {"level": self.level, **evidence}, t_end=changed_at))
        return events

    def _step_candidate(self, target: str, t: float, step: float) -> None:
        """Track the level the score points to: a candidate is kept through short spells off its side
        (up to `1 - persist_share` of `min_duration_s`) and starts afresh after longer ones."""
        held, cand = _RANK[self._held], self._cand
        up = _RANK[target] > held
        if cand is not None and target != self._held and up == (_RANK[cand] > held):
            if abs(_RANK[target] - held) < abs(_RANK[cand] - held):
                self._cand = target  # still on the same side: the persistence counts on, to the nearer level
            return
        if cand is not None:
            self._cand_off += step
            if self._cand_off <= (1.0 - self.cfg.persist_share) * self.cfg.min_duration_s + 1e-9:
                return
        self._cand = None if target == self._held else target
        self._cand_t, self._cand_off = t, 0.0

    def _target(self) -> str:
        h = 1.0 - self.cfg.hysteresis
        s, hs = self.score, self.high_score
        if hs >= 1.0 or (self._held == "high" and hs >= h):
            return "high"
        if s >= 1.0 or (self._held in ("elevated", "high") and s >= h):
            return "elevated"
        return "normal"

    @staticmethod
    def _combine(hr_rise: float, hr_thr: float, rm_fall: float | None, rm_thr: float) -> float:
        a = hr_rise / hr_thr if hr_thr > 0 else 0.0
        if rm_fall is None:
            return a
        b = rm_fall / rm_thr if rm_thr > 0 else 0.0
        return (a + b) / 2.0

    @staticmethod
    def _r(v: float | None) -> float | None:
        return None if v is None else round(float(v), 3)

    def snapshot(self) -> dict:
        hf = self.last
        return {
            "level": self.level,
            "score": self._r(self.score),
            "calibrated": self.calibrated,
            "calibration_s": round(self._cal_s, 1),
            "baseline": {"hr": self._r(self.baseline_hr), "rmssd": self._r(self.baseline_rmssd),
                         "source": self.baseline_source},
            "hr": self._r(hf.hr) if hf else None,
            "rmssd": self._r(hf.rmssd) if hf else None,
            "quality": self._r(hf.quality) if hf else None,
            "sensor_ok": hf.sensor_ok if hf else None,
            "drowsy_support": self.drowsy_support,
        }
