"""Layer 2 (mouth): yawns = a sustained wide opening with its rise and fall.

Speech, laughter and chewing open the mouth for fractions of a second at a time (and laughter
is broken by closures), so a yawn needs the opening held for `min_s` and a peak of `wide_mar`.
The opening is measured above the driver's neutral mouth, the peak as measured: a mouth that rests
with parted lips (a smiling portrait, MAR 0.18) starts higher, but the fully dropped jaw at a yawn's
peak reaches about the same MAR on every face (scripts/evaluate.py yawns: 0.66-0.91 on seven faces for
the smallest rendered yawn, where the rise above neutral was 0.48-0.85).

The mouth counts as open while MAR or, when blendshapes are known, jawOpen is past its opening line,
and the peak of either must reach its wide line. jawOpen is an alternative, not a replacement: it
follows the jaw when the lips hide it, but on the data at hand MAR separates yawns from speech
better (see MouthConfig.jaw_open)."""

from __future__ import annotations

from dataclasses import dataclass

from driverwatch.config.monitor import MouthConfig
from driverwatch.monitor.signals import Signals

RELEASE = 0.8  # the opening ends below this share of `open_mar` (hysteresis)


@dataclass(frozen=True, slots=True)
class Yawn:
    t_start: float
    t_end: float
    peak_mar: float | None  # above the driver's neutral
    peak_jaw: float | None = None  # jawOpen above neutral (None: no blendshapes)


def _peak(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


class YawnDetector:
    def __init__(self, cfg: MouthConfig):
        self.cfg = cfg
        self.t_open: float | None = None
        self.peak_mar: float | None = None
        self.peak_jaw: float | None = None
        self.peak_abs: float | None = None

    def reset(self) -> None:
        self.t_open = self.peak_mar = self.peak_jaw = self.peak_abs = None

    def update(self, s: Signals) -> Yawn | None:
        cfg = self.cfg
        mar, jaw = s.mar, s.jaw
        if mar is None and jaw is None:
            self.reset()
            return None

        def past(k: float) -> bool:
            return (mar is not None and mar >= cfg.open_mar * k) or (jaw is not None and jaw >= cfg.jaw_open * k)

        if self.t_open is None:
            if past(1.0):
                self.t_open, self.peak_mar, self.peak_jaw, self.peak_abs = s.t, mar, jaw, s.mar_abs
            return None
        self.peak_mar, self.peak_jaw = _peak(self.peak_mar, mar), _peak(self.peak_jaw, jaw)
        self.peak_abs = _peak(self.peak_abs, s.mar_abs)
        if past(RELEASE):
            return None  # still open (a mouth hanging open longer than max_s is no yawn: see below)
        t0, pm, pj, pa = self.t_open, self.peak_mar, self.peak_jaw, self.peak_abs
        self.reset()
        d = s.t - t0
        wide = (pa is not None and pa >= cfg.wide_mar) or (pj is not None and pj >= cfg.jaw_wide)
        if cfg.min_s - 1e-6 <= d <= cfg.max_s and wide:
            return Yawn(t0, s.t, pm, pj)
        return None
