"""Layer 2 (mouth): yawns = a sustained wide opening with its rise and fall.

Speech, laughter and chewing open the mouth for fractions of a second at a time (and laughter
is broken by closures), so a yawn needs the opening held for `min_s` and a peak of `wide_mar`."""

from __future__ import annotations

from dataclasses import dataclass

from driverwatch.config.monitor import MouthConfig
from driverwatch.monitor.signals import Signals

RELEASE = 0.8  # the opening ends below this share of `open_mar` (hysteresis)


@dataclass(frozen=True, slots=True)
class Yawn:
    t_start: float
    t_end: float
    peak_mar: float


class YawnDetector:
    def __init__(self, cfg: MouthConfig):
        self.cfg = cfg
        self.t_open: float | None = None
        self.peak = 0.0

    def reset(self) -> None:
        self.t_open = None
        self.peak = 0.0

    def update(self, s: Signals) -> Yawn | None:
        m = s.mar
        if m is None:
            self.reset()
            return None
        cfg = self.cfg
        if self.t_open is None:
            if m >= cfg.open_mar:
                self.t_open, self.peak = s.t, m
            return None
        self.peak = max(self.peak, m)
        if m >= cfg.open_mar * RELEASE:
            return None  # still open (a mouth hanging open longer than max_s is no yawn: see below)
        t0, peak = self.t_open, self.peak
        self.reset()
        d = s.t - t0
        if cfg.min_s - 1e-6 <= d <= cfg.max_s and peak >= cfg.wide_mar:
            return Yawn(t0, s.t, peak)
        return None
