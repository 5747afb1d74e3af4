"""Time-based rolling windows (seconds, never sample counts), O(1) amortised per update."""

from __future__ import annotations

from collections import deque


class RollingShare:
    """Time-weighted share of a window: intervals (t0, t1) tagged observed / hit.

    `share()` = hit time / observed time over the last `window_s`, or None when the observed time is
    below `min_observed` of the window (an estimate over too little data is a guess)."""

    def __init__(self, window_s: float, min_observed: float):
        self.window_s = window_s
        self.min_observed = min_observed
        self._q: deque[tuple[float, float, bool]] = deque()  # (t0, t1, hit) of observed intervals
        self._obs = 0.0
        self._hit = 0.0
        self.t = 0.0

    def add(self, t0: float, t1: float, hit: bool) -> None:
        if t1 <= t0:
            return
        self._q.append((t0, t1, hit))
        d = t1 - t0
        self._obs += d
        if hit:
            self._hit += d
        self.advance(t1)

    def advance(self, t: float) -> None:
        self.t = max(self.t, t)
        lo = self.t - self.window_s
        q = self._q
        while q and q[0][1] <= lo:
            t0, t1, hit = q.popleft()
            self._obs -= t1 - t0
            if hit:
                self._hit -= t1 - t0
        if q and q[0][0] < lo:  # trim the partly expired interval
            t0, t1, hit = q[0]
            self._obs -= lo - t0
            if hit:
                self._hit -= lo - t0
            q[0] = (lo, t1, hit)
        if not q:
            self._obs = self._hit = 0.0

    @property
    def observed_s(self) -> float:
        return max(self._obs, 0.0)

    def share(self) -> float | None:
        if self._obs < self.min_observed * self.window_s or self._obs <= 0:
            return None
        return min(max(self._hit / self._obs, 0.0), 1.0)


class EventTimes:
    """Timestamps of occurrences kept for `window_s` seconds."""

    def __init__(self, window_s: float):
        self.window_s = window_s
        self._q: deque[float] = deque()

    def add(self, t: float) -> None:
        self._q.append(t)

    def count(self, t: float) -> int:
        lo = t - self.window_s
        while self._q and self._q[0] < lo:
            self._q.popleft()
        return len(self._q)
