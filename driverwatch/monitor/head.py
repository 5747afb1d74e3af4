"""Layer 2 (head): nods typical of dozing.

Nodding off is passive: neck tone fades and the head sinks, slowly, with the eyes closing or closed;
the sleeper then wakes with a fast corrective jerk back up. A deliberate glance at the cluster is
an active, quick movement down and an equally quick one back, with the eyes open (a blink during
the gaze shift is normal, a gaze-evoked blink). So a dip in head pitch counts as a nod when:
  - it is deep enough (`nod_drop_deg` below the pre-nod level) and over within `nod_max_s`;
  - the fall is slower than the recovery (`nod_fall_ratio`), both timed between the same two pitch
    levels (`nod_recover_deg` below the pre-nod level and 80 % of the depth), interpolated
    between samples so the result does not depend on the frame rate;
  - the eyes were shut (closed, lids at the closed level, or not observable) for at least
    `nod_closed_share` of the dip's time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from driverwatch.config.monitor import HeadConfig
from driverwatch.monitor.signals import Signals

DEEP = 0.8  # share of the depth that ends the fall / starts the recovery
ONSET = 0.1  # share of the depth that dates the start of the sinking


@dataclass(frozen=True, slots=True)
class Nod:
    t_start: float
    t_end: float
    depth_deg: float
    fall_s: float
    rise_s: float
    closed_share: float


def _cross(a: tuple, b: tuple, level: float) -> float:
    """Time at which pitch passes `level` between samples a and b (linear interpolation)."""
    (ta, pa), (tb, pb) = a[:2], b[:2]
    if pb == pa:
        return tb
    return ta + (tb - ta) * min(max((level - pa) / (pb - pa), 0.0), 1.0)


class NodDetector:
    def __init__(self, cfg: HeadConfig):
        self.cfg = cfg
        self._hist: deque[tuple[float, float, bool]] = deque()  # (t, pitch, eyes shut)
        self._start: float | None = None  # first sample below the drop line
        self._ref = 0.0
        self._low = 0.0
        self.last: Nod | None = None  # the last dip measured, nod or not

    def reset(self) -> None:
        self._hist.clear()
        self._start = None

    def update(self, s: Signals, eyes_shut: bool) -> Nod | None:
        p = s.pitch
        if p is None:
            self.reset()
            return None
        cfg, t, h = self.cfg, s.t, self._hist
        h.append((t, p, eyes_shut))
        if self._start is None or t - self._start > cfg.nod_max_s:
            while h and h[0][0] < t - cfg.nod_fall_s:
                h.popleft()
        if self._start is None:
            ref = max(x[1] for x in h)
            if p <= ref - cfg.nod_drop_deg:
                self._start, self._ref, self._low = t, ref, p
            return None
        self._low = min(self._low, p)
        if t - self._start > cfg.nod_max_s:  # held down: a look down, not a nod
            if p >= self._ref - cfg.nod_recover_deg:
                self.reset()
            return None
        if p < self._ref - cfg.nod_recover_deg:
            return None
        nod = self._judge()
        self.reset()
        return nod

    def _judge(self) -> Nod | None:
        """The dip is over (the pitch is back): measure its shape from the kept samples."""
        cfg, h, ref = self.cfg, list(self._hist), self._ref
        depth = ref - self._low
        up = ref - cfg.nod_recover_deg
        deep = min(ref - DEEP * depth, up)
        i_low = min(range(len(h)), key=lambda i: h[i][1])
        # fall: the last pass below `up` before the low, then the first pass below `deep`
        i = i_low
        while i > 0 and h[i - 1][1] < up:
            i -= 1
        t_up = _cross(h[i - 1], h[i], up) if i > 0 else h[0][0]
        j = i
        while h[j][1] > deep:
            j += 1
        t_deep = _cross(h[j - 1], h[j], deep) if j > 0 else h[0][0]
        # recovery: the last pass above `deep` after the low, then back above `up` (the last sample)
        k = len(h) - 1
        while k > i_low and h[k - 1][1] > deep:
            k -= 1
        t_rise = _cross(h[k - 1], h[k], deep)
        t_back = _cross(h[-2], h[-1], up)
        fall_s, rise_s = t_deep - t_up, t_back - t_rise
        # onset: where the head left the pre-nod level (ONSET of the depth below it)
        o = i
        while o > 0 and h[o - 1][1] < ref - ONSET * depth:
            o -= 1
        t0 = _cross(h[o - 1], h[o], ref - ONSET * depth) if o > 0 else h[0][0]
        shut = sum(b[0] - a[0] for a, b in zip(h[o:], h[o + 1:], strict=False) if a[2])
        share = shut / max(h[-1][0] - h[o][0], 1e-9)
        nod = Nod(t0, h[-1][0], depth, fall_s, rise_s, share)
        self.last = nod
        if fall_s < cfg.nod_fall_ratio * rise_s:
            return None  # as quick down as back up: a deliberate glance
        if cfg.nod_needs_eyes and share < cfg.nod_closed_share:
            return None  # eyes open through most of it
        return nod
