"""Per-driver baseline: open-eye level, neutral mouth, neutral head pose and gaze.

Robust statistics (percentiles / medians) over a time-decimated rolling memory, so blinks, glances
and tracking spikes do not move the baseline, and the result does not depend on the frame rate.
Like openpilot's pose-offset learning (selfdrive/monitoring/helpers.py: 1 min of data before it
counts as calibrated, 6 min of memory), but timed in seconds of visible face, not frame counts.
"""

from __future__ import annotations

import bisect
from collections import deque

from driverwatch.config.monitor import CalibrationConfig

# Every baseline the monitor uses, and the percentile that estimates it.
EYE_KEYS = ("eye_open_left", "eye_open_right", "ear_left", "ear_right")
POSE_KEYS = ("yaw", "pitch", "gaze_yaw", "gaze_pitch")


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


class Calibration:
    """Learns the baselines from samples the caller marks as usable (face visible, eyes open for the
    pose, pose near neutral for the eyes). `learned_s` counts seconds of face, not frames."""

    def __init__(self, cfg: CalibrationConfig):
        self.cfg = cfg
        mk = lambda p: RobustBaseline(p, cfg.memory_s, cfg.sample_period_s)  # noqa: E731
        self.eyes = {k: mk(cfg.open_eye_percentile) for k in EYE_KEYS}
        self.pose = {k: mk(50.0) for k in POSE_KEYS}
        self.mar = mk(50.0)
        self.learned_s = 0.0
        self.t_calibrated: float | None = None

    def reset(self) -> None:
        for b in (*self.eyes.values(), *self.pose.values(), self.mar):
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

    def add_mar(self, t: float, v: float | None) -> None:
        if v is not None:
            self.mar.add(t, v)

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

    def status(self) -> str:
        return "calibrated" if self.calibrated else "calibrating"
