"""Stress level from heart features against the driver's resting baseline. Deterministic, no clock.

Baseline: the medians of HR and RMSSD over the first `calibration_s` of good-quality features (or a
stored one given to `set_baseline`). Score: the mean of the HR rise and the RMSSD fall relative to the
baseline, each divided by its "elevated" threshold (HR alone when the sensor gives no beats), so 1.0 is
the elevated line; "high" uses the high thresholds the same way. A level is entered at its line, left
`hysteresis` below it, and reported only after it persisted `min_duration_s`.
"""

from __future__ import annotations

import numpy as np

from driverwatch.config.heart import HeartConfig, StressConfig
from driverwatch.monitor.events import Condition, Event, EventIds
from driverwatch.samples import HeartFeatures

LEVELS = ("normal", "elevated", "high")
_SEVERITY = {"elevated": "notice", "high": "warning"}
_MAX_STEP_S = 5.0  # a gap between features counts at most this much towards calibration


class StressMonitor:
    def __init__(self, cfg: HeartConfig | StressConfig | None = None, ids: EventIds | None = None):
        self.cfg: StressConfig = cfg.stress if isinstance(cfg, HeartConfig) else (cfg or StressConfig())
        self.ids = ids or EventIds()
        self.stress = Condition(self.ids, "stress")
        self.lost = Condition(self.ids, "sensor_lost")
        self._cal_hr: list[float] = []
        self._cal_rmssd: list[float] = []
        self._cal_s = 0.0
        self.baseline_hr: float | None = None
        self.baseline_rmssd: float | None = None
        self.level: str | None = None  # reported level; None = unknown
        self._held = "normal"  # last known level (kept through unknown stretches for hysteresis)
        self._cand: str | None = None
        self._cand_t = 0.0
        self._prev_t: float | None = None
        self._unknown_since: float | None = None
        self.last: HeartFeatures | None = None
        self.score: float | None = None
        self.high_score: float | None = None
        self.drowsy_support: bool | None = None

    @property
    def calibrated(self) -> bool:
        return self.baseline_hr is not None

    def set_baseline(self, hr: float, rmssd: float | None) -> None:
        """Use a stored baseline (e.g. the driver's profile) instead of calibrating."""
        self.baseline_hr, self.baseline_rmssd = float(hr), (None if rmssd is None else float(rmssd))

    def recalibrate(self, t: float) -> list[Event]:
        """Forget the baseline and what was judged against it (a new driver): an open stress
        condition ends, and the baseline is learnt again from the next good features."""
        events = [self.stress.end(t, {"reason": "recalibrating"})] if self.stress.active else []
        self._cal_hr, self._cal_rmssd, self._cal_s = [], [], 0.0
        self.baseline_hr = self.baseline_rmssd = None
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
        if not self.calibrated:
            if good:
                self._cal_hr.append(hf.hr)
                if hf.rmssd is not None:
                    self._cal_rmssd.append(hf.rmssd)
                self._cal_s += step
                if self._cal_s >= c.calibration_s:
                    self.set_baseline(float(np.median(self._cal_hr)),
                                      float(np.median(self._cal_rmssd)) if self._cal_rmssd else None)
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
        self.drowsy_support = (None if rm_fall is None else
                               bool(hr_rise <= -c.drowsy_hr_fall and -rm_fall >= c.drowsy_rmssd_rise))
        target = self._target()
        if target == self._held:
            self._cand = None
        elif target != self._cand:
            self._cand, self._cand_t = target, hf.t
        changed_at = hf.t
        if self._cand is not None and hf.t - self._cand_t >= c.min_duration_s:
            self._held, self._cand, changed_at = self._cand, None, self._cand_t
        self.level = self._held
        evidence = {"hr": self._r(hf.hr), "rmssd": self._r(hf.rmssd), "baseline_hr": self._r(self.baseline_hr),
                    "baseline_rmssd": self._r(self.baseline_rmssd), "score": self._r(self.score),
                    "high_score": self._r(self.high_score), "quality": self._r(hf.quality)}
        if self.level in _SEVERITY:
            sev = _SEVERITY[self.level]
            if not self.stress.active:
                events.append(self.stress.start(hf.t, sev, {"level": self.level, **evidence}, t_start=changed_at))
            elif self.stress.severity != sev:
                events.append(self.stress.update(hf.t, sev, {"level": self.level, **evidence}))
        elif self.stress.active:
            events.append(self.stress.end(hf.t, {"level": self.level, **evidence}))
        return events

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
            "baseline": {"hr": self._r(self.baseline_hr), "rmssd": self._r(self.baseline_rmssd)},
            "hr": self._r(hf.hr) if hf else None,
            "rmssd": self._r(hf.rmssd) if hf else None,
            "quality": self._r(hf.quality) if hf else None,
            "sensor_ok": hf.sensor_ok if hf else None,
            "drowsy_support": self.drowsy_support,
        }
