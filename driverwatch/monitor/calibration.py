"""Per-driver baseline: open-eye level, closed-eye level, neutral mouth, neutral head pose and gaze.

Robust statistics (percentiles / medians) over a time-decimated rolling memory, so blinks, glances
and tracking spikes do not move the baseline, and the result does not depend on the frame rate.
Like openpilot's pose-offset learning (selfdrive/monitoring/helpers.py: 1 min of data before it
counts as calibrated, 6 min of memory), but timed in seconds of visible face, not frame counts.
"""

from __future__ import annotations

import bisect
from collections import deque

from driverwatch.config.monitor import CalibrationConfig

# Every baseline the monitor uses, and the percentile that estimates it. "lid_*" is 1 - eyeBlink
# (the blendshape model's eye closure turned into an opening, so it normalises like the others).
EYE_KEYS = ("eye_open_left", "eye_open_right", "ear_left", "ear_right", "lid_left", "lid_right")
# The two measures of eye opening whose closed level is learned from the driver's blinks.
MEASURES = ("geometry", "blendshape")
POSE_KEYS = ("yaw", "pitch", "gaze_yaw", "gaze_pitch")
# The resting smile is the lower quartile, not the median: laughs while it is learned must not lift
# the rest they are measured against (a drive that starts laughing would otherwise hide its laughs).
SMILE_PERCENTILE = 25.0


class RobustBaseline:
    """A percentile of one signal over a rolling memory, sampled at most every `period_s`.
    Kept as a sorted list beside the time-ordered queue, so a percentile is an index lookup."""

    def __init__(self, percentile: float, memory_s: float, period_s: float):
        self.percentile = percentile
        self.period_s = period_s
        self.size = max(int(memory_s / period_s), 8)
        self._q: deque[float] = deque()
        self._sorted: list[float] = []
        self._last_t = -1e18

    def add(self, t: float, x: float) -> None:
        if t - self._last_t < self.period_s - 1e-6:
            return
        self._last_t = t
        self._q.append(x)
        bisect.insort(self._sorted, x)
        if len(self._q) > self.size:
            old = self._q.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]

    def __len__(self) -> int:
        return len(self._q)

    @property
    def value(self) -> float | None:
        s = self._sorted
        if not s:
            return None
        k = (len(s) - 1) * self.percentile / 100.0  # linear interpolation, as numpy's default
        lo = int(k)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (k - lo)

    def clear(self) -> None:
        self._q.clear()
        self._sorted.clear()
        self._last_t = -1e18


class DipLevel:
    """The driver's closed-eye level of one opening measure (a share of the open level), learned
    from the deepest point of fast dips (blinks: the opening falls below `depth` of open and is back
    above `back` within `max_s`). Slow narrowings (smiles, squints, glare) are never fast dips.
    Median of the last dips, so a half blink or a tracking spike does not move it."""

    OPEN, BACK, KEEP, MIN_DIPS = 0.9, 0.85, 9, 3

    def __init__(self, depth: float, max_s: float):
        self.depth, self.max_s = depth, max_s
        self._t0: float | None = None  # last sample above OPEN (start of a possible dip)
        self._min = 1.0
        self._dips: deque[float] = deque(maxlen=self.KEEP)

    def add(self, t: float, r: float | None) -> None:
        if r is None:
            self._t0 = None
            return
        if r >= self.OPEN:
            if self._t0 is not None and self._min <= self.depth and t - self._t0 <= self.max_s + 1e-6:
                self._dips.append(self._min)
            self._t0, self._min = t, 1.0
        elif self._t0 is not None:
            self._min = min(self._min, r)
            if r >= self.BACK and self._min <= self.depth and t - self._t0 <= self.max_s + 1e-6:
                self._dips.append(self._min)
                self._t0, self._min = None, 1.0  # counted; wait for the opening to settle again
            elif t - self._t0 > self.max_s:
                self._t0 = None  # too slow for a blink

    @property
    def value(self) -> float | None:
        if len(self._dips) < self.MIN_DIPS:
            return None
        d = sorted(self._dips)
        return d[len(d) // 2]

    def clear(self) -> None:
        self._t0, self._min = None, 1.0
        self._dips.clear()


class Calibration:
    """Learns the baselines from samples the caller marks as usable (face visible, eyes open for the
    pose, pose near neutral for the eyes). `learned_s` counts seconds of face, not frames."""

    def __init__(self, cfg: CalibrationConfig):
        self.cfg = cfg
        mk = lambda p: RobustBaseline(p, cfg.memory_s, cfg.sample_period_s)  # noqa: E731
        self.eyes = {k: mk(cfg.open_eye_percentile) for k in EYE_KEYS}
        self.pose = {k: mk(50.0) for k in POSE_KEYS}
        self.mar = mk(50.0)
        self.jaw = mk(50.0)
        self.smile = mk(SMILE_PERCENTILE)  # the resting smile (blendshapes): some faces rest smiling
        self.dips = {k: DipLevel(cfg.dip_depth, cfg.dip_max_s) for k in MEASURES}
        self.learned_s = 0.0
        self.t_calibrated: float | None = None

    def reset(self) -> None:
        for b in (*self.eyes.values(), *self.pose.values(), self.mar, self.jaw, self.smile,
                  *self.dips.values()):
            b.clear()
        self.learned_s = 0.0
        self.t_calibrated = None

    # --- learning -----------------------------------------------------------------------------
    def add_time(self, t: float, dt: float) -> None:
        self.learned_s += dt
        if self.t_calibrated is None and self.learned_s >= self.cfg.calibration_s:
            self.t_calibrated = t

    def add_eyes(self, t: float, values: dict[str, float | None]) -> None:
        for k, v in values.items():
            if v is not None:
                self.eyes[k].add(t, v)

    def add_pose(self, t: float, values: dict[str, float | None]) -> None:
        for k, v in values.items():
            if v is not None:
                self.pose[k].add(t, v)

    def add_mouth(self, t: float, mar: float | None, jaw: float | None = None,
                  smile: float | None = None) -> None:
        for b, v in ((self.mar, mar), (self.jaw, jaw), (self.smile, smile)):
            if v is not None:
                b.add(t, v)

    def add_dips(self, t: float, ratios: dict[str, float | None]) -> None:
        for k, r in ratios.items():
            self.dips[k].add(t, r)

    # --- reading --------------------------------------------------------------------------------
    @property
    def calibrated(self) -> bool:
        return self.t_calibrated is not None

    @property
    def provisional(self) -> bool:
        """Enough data for a running baseline (blink detection works from here on)."""
        return self.learned_s >= self.cfg.provisional_s

    @property
    def progress(self) -> float:
        return min(self.learned_s / self.cfg.calibration_s, 1.0)

    def eye_level(self, key: str) -> float | None:
        b = self.eyes[key]
        if not self.provisional or len(b) < 3:
            return None
        return b.value

    def neutral(self, key: str) -> float:
        """Neutral pose angle; 0 (straight at the camera) until there is data."""
        b = self.pose[key]
        return (b.value or 0.0) if len(b) >= 3 else 0.0

    def neutral_mar(self) -> float:
        return (self.mar.value or 0.0) if len(self.mar) >= 3 else 0.0

    def neutral_jaw(self) -> float:
        return (self.jaw.value or 0.0) if len(self.jaw) >= 3 else 0.0

    def neutral_smile(self) -> float | None:
        """None until known: a smile is judged against the driver's own resting face only."""
        return self.smile.value if len(self.smile) >= 3 else None

    def blinks_seen(self) -> bool:
        """The driver's blinks were measured (some measure has learned a closed level). A face
        calibrated for a minute without one: closed lids of this face are not seen by the models,
        so eye-closure statistics (PERCLOS, blink rate) are unknown, not zero."""
        return any(d.value is not None for d in self.dips.values())

    def closed_level(self, measure: str, default: float, most: float) -> float:
        """This driver's closed-eye level of a measure: learned from the blinks, never below the
        default (a deep blink does not make closure harder to reach) nor above `most`."""
        v = self.dips[measure].value
        return default if v is None else min(max(v, default), most)

    def status(self) -> str:
        return "calibrated" if self.calibrated else "calibrating"
