"""Layer 2 (head): nods typical of dozing: a fast pitch drop from the recent level and a recovery.

A deliberate look down holds; a nod falls within `nod_fall_s` and comes back within `nod_max_s`,
and (by default) with the eyes shut or hidden during the dip."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from driverwatch.config.monitor import HeadConfig
from driverwatch.monitor.signals import Signals


@dataclass(frozen=True, slots=True)
class Nod:
    t_start: float
    t_end: float
    depth_deg: float


class NodDetector:
    def __init__(self, cfg: HeadConfig):
        self.cfg = cfg
        self._hist: deque[tuple[float, float]] = deque()  # (t, pitch) over the last nod_fall_s
        self._start: float | None = None
        self._ref = 0.0
        self._low = 0.0
        self._eyes_shut = False

    def reset(self) -> None:
        self._hist.clear()
        self._start = None

    def update(self, s: Signals, eyes_shut: bool) -> Nod | None:
        p = s.pitch
        if p is None:
            self.reset()
            return None
        cfg, t = self.cfg, s.t
        if self._start is None:
            h = self._hist
            h.append((t, p))
            while h and h[0][0] < t - cfg.nod_fall_s:
                h.popleft()
            t_ref, ref = max(h, key=lambda x: x[1])
            if p <= ref - cfg.nod_drop_deg:
                self._start, self._ref, self._low, self._eyes_shut = t_ref, ref, p, eyes_shut
            return None
        self._low = min(self._low, p)
        self._eyes_shut |= eyes_shut
        if t - self._start > cfg.nod_max_s:  # held down: a look down, not a nod
            if p >= self._ref - cfg.nod_recover_deg:
                self.reset()
            return None
        if p < self._ref - cfg.nod_recover_deg:
            return None
        nod = Nod(self._start, t, self._ref - self._low)
        shut = self._eyes_shut
        self.reset()
        return nod if shut or not cfg.nod_needs_eyes else None
