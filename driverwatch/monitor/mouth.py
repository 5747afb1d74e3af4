"""Layer 2 (mouth): yawns = a sustained wide opening with its rise and fall.

Speech, laughter and chewing open the mouth for fractions of a second at a time (and laughter
is broken by closures), so a yawn needs the opening held for `min_s` and a peak of `wide_mar`.

The opening is the blendshape jawOpen when known (it follows the jaw: a smile, pursed lips or a hand
at the mouth change MAR, not the jaw), else MAR. A candidate keeps the measure it started with."""

from __future__ import annotations

from dataclasses import dataclass

from driverwatch.config.monitor import MouthConfig
from driverwatch.monitor.signals import Signals

RELEASE = 0.8  # the opening ends below this share of `open_mar` (hysteresis)


@dataclass(frozen=True, slots=True)
class Yawn:
    t_start: float
    t_end: float
    peak: float  # of the measure below, above the driver's neutral
    measure: str = "mar"  # "mar" or "jaw_open"


class YawnDetector:
    def __init__(self, cfg: MouthConfig):
        self.cfg = cfg
        self.t_open: float | None = None
        self.peak = 0.0
        self.jaw = False  # the candidate is measured by jawOpen

    def reset(self) -> None:
        self.t_open = None
        self.peak = 0.0

    def update(self, s: Signals) -> Yawn | None:
        cfg = self.cfg
        jaw = s.jaw is not None if self.t_open is None else self.jaw
        m = s.jaw if jaw else s.mar
        if m is None:
            self.reset()
            return None
        open_at, wide = (cfg.jaw_open, cfg.jaw_wide) if jaw else (cfg.open_mar, cfg.wide_mar)
        if self.t_open is None:
            if m >= open_at:
                self.t_open, self.peak, self.jaw = s.t, m, jaw
            return None
        self.peak = max(self.peak, m)
        if m >= open_at * RELEASE:
            return None  # still open (a mouth hanging open longer than max_s is no yawn: see below)
        t0, peak = self.t_open, self.peak
        self.reset()
        d = s.t - t0
        if cfg.min_s - 1e-6 <= d <= cfg.max_s and peak >= wide:
            return Yawn(t0, s.t, peak, "jaw_open" if jaw else "mar")
        return None
