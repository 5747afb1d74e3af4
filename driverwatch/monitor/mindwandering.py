"""Mind-wandering (cognitive distraction): gaze concentrated on the road centre over a long window,
against the driver's own baseline. Advisory only: a `mind_wandering` notice, never a warning.

Percent Road Centre (PRC: share of gaze within `centre_deg` of the calibrated forward direction) rises
under cognitive load (Victor, Harbluk & Engström 2005), and the SD of horizontal gaze falls (Wang et al.
2014: the largest effect). Gaze is sampled every `_PERIOD_S` of sample time (frame-rate independent) over
a sliding `window_s`, judged every `_STEP_S`; the baseline is the median of the judged windows' PRC and SD
over the calibration memory, not learnt while a notice is active.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from driverwatch.config.affect import MindWanderingConfig
from driverwatch.monitor.calibration import RobustBaseline
from driverwatch.monitor.events import Condition, Event, EventIds

_PERIOD_S = 0.1
_STEP_S = 5.0


class MindWanderingDetector:
    def __init__(self, cfg: MindWanderingConfig, memory_s: float, ids: EventIds):
        self.cfg = cfg
        self.cond = Condition(ids, "mind_wandering")
        self._q: deque[tuple[float, float, bool, float]] = deque()  # (t, gaze yaw, in centre, seconds it stands for)
        self._last_sample = -math.inf
        self._prev_t: float | None = None
        self._acc = 0.0  # usable seconds since the last sample
        self._next_step: float | None = None
        self.base_prc = RobustBaseline(50.0, memory_s, _STEP_S)
        self.base_sd = RobustBaseline(50.0, memory_s, _STEP_S)
        self.observed_s = 0.0
        self.prc: float | None = None
        self.sd: float | None = None
        self.state: bool | None = None  # None = unknown

    def forget(self) -> None:
        self._q.clear()
        self._prev_t, self._acc = None, 0.0
        self.base_prc.clear()
        self.base_sd.clear()
        self.observed_s, self._next_step, self.state = 0.0, None, None

    def baseline(self) -> tuple[float, float] | None:
        if self.observed_s < self.cfg.baseline_s or len(self.base_prc) < 3:
            return None
        return self.base_prc.value, max(self.base_sd.value, self.cfg.min_sd_deg)

    def update(self, t: float, yaw: float | None, pitch: float | None, usable: bool) -> list[Event]:
        c = self.cfg
        if not c.enabled:
            return []
        dt = 0.0 if self._prev_t is None else min(max(t - self._prev_t, 0.0), 0.5)
        self._prev_t = t
        if usable and yaw is not None and pitch is not None:
            self._acc += dt
            if t - self._last_sample >= _PERIOD_S - 1e-9 and self._acc > 0:
                self._last_sample = t
                self._q.append((t, yaw, math.hypot(yaw, pitch) <= c.centre_deg, self._acc))
                self._acc = 0.0
        lo = t - c.window_s
        while self._q and self._q[0][0] < lo:
            self._q.popleft()
        if self._next_step is None:
            self._next_step = t + _STEP_S
        if t < self._next_step:
            return []
        self._next_step = t + _STEP_S
        return self._judge(t)

    def _judge(self, t: float) -> list[Event]:
        c = self.cfg
        w = np.fromiter((q[3] for q in self._q), float, len(self._q))
        if w.sum() < c.min_observed_share * c.window_s:  # seconds of gaze, whatever the frame rate
            self.prc = self.sd = self.state = None
            return [self.cond.end(t, {"reason": "unknown: gaze not observed"})] if self.cond.active else []
        yaws = np.fromiter((q[1] for q in self._q), float, len(self._q))
        centre = np.fromiter((q[2] for q in self._q), float, len(self._q))
        self.prc = float(np.average(centre, weights=w))
        mean = np.average(yaws, weights=w)
        self.sd = float(np.sqrt(np.average((yaws - mean) ** 2, weights=w)))
        base = self.baseline()
        if not self.cond.active:  # a notice does not teach the baseline
            self.observed_s += _STEP_S
            self.base_prc.add(t, self.prc)
            self.base_sd.add(t, self.sd)
        if base is None:
            self.state = None
            return []
        bprc, bsd = base
        ev = {"prc": round(self.prc, 3), "gaze_yaw_sd_deg": round(self.sd, 2), "baseline_prc": round(bprc, 3),
              "baseline_sd_deg": round(bsd, 2), "window_s": c.window_s}
        if not self.cond.active:
            on = self.prc >= bprc + c.prc_rise and self.sd <= bsd * (1.0 - c.sd_fall)
            self.state = on
            return [self.cond.start(t, "notice", ev, t_start=t - c.window_s)] if on else []
        off = self.prc < bprc + c.prc_rise / 2 or self.sd > bsd * (1.0 - c.sd_fall / 2)
        self.state = not off
        return [self.cond.end(t, ev)] if off else []

    def finish(self, t: float) -> list[Event]:
        return [self.cond.end(t, {"reason": "monitoring stopped"})] if self.cond.active else []

    def snapshot(self) -> dict:
        base = self.baseline()
        return {"active": self.state, "prc": None if self.prc is None else round(self.prc, 3),
                "gaze_yaw_sd_deg": None if self.sd is None else round(self.sd, 2), "baseline": base is not None}
