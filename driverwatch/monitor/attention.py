"""Layer 2 (attention): eyes on / off the road against the calibrated forward direction, glances,
VATS, unresponsiveness, and the camera's own states (face missing, eyes hidden, dark / blocked).

Every timer is a timestamp of when a state began, so durations come from sample times and a
camera stall (`reset`) never stretches them."""

from __future__ import annotations

from collections import deque

from driverwatch.config.monitor import AttentionConfig
from driverwatch.monitor.signals import Signals

ON, OFF, UNKNOWN = "on_road", "off_road", "unknown"


def _hold(t0: float | None, t: float, cond: bool) -> float | None:
    """Start time of a state that holds now (kept while it lasts), None when it does not."""
    if not cond:
        return None
    return t if t0 is None else t0


class AttentionTracker:
    def __init__(self, cfg: AttentionConfig):
        self.cfg = cfg
        self.state = UNKNOWN
        self.away_since: float | None = None  # current glance off the road
        self.on_since: float | None = None  # continuously on the road
        self.inattentive_since: float | None = None  # eyes closed or away
        self.warned_at: float | None = None  # last warning the driver must respond to
        self.no_face_since: float | None = None
        self.dark_since: float | None = None
        self.hidden_eyes_since: float | None = None
        self._glances: deque[tuple[float, float]] = deque()  # finished glances since the VATS reset

    def reset(self) -> None:
        self.state = UNKNOWN
        self.away_since = self.on_since = self.inattentive_since = None
        self.no_face_since = self.dark_since = self.hidden_eyes_since = None
        self._glances.clear()

    def _direction(self, s: Signals, eyes_closed: bool) -> tuple[float | None, float | None]:
        # Under closed lids the iris gaze is meaningless: the head alone says where the face points.
        return (s.yaw, s.pitch) if eyes_closed else (s.dir_yaw, s.dir_pitch)

    def _classify(self, s: Signals, eyes_closed: bool) -> str:
        y, p = self._direction(s, eyes_closed)
        if not s.face or y is None or p is None:
            return UNKNOWN
        # The road is an ellipse around forward with the per-axis limits as semi-axes: a diagonal
        # glance (22° aside and 16° down, ≈ 27° off axis) is off the road although neither angle
        # alone passes its limit.
        c = self.cfg
        m = c.hysteresis_deg if self.state == OFF else 0.0
        py = p / max(c.pitch_up_deg - m, 1.0) if p > 0 else p / max(c.pitch_down_deg - m, 1.0)
        return OFF if (y / max(c.yaw_deg - m, 1.0)) ** 2 + py ** 2 > 1.0 else ON

    def glance_limit(self, kmh: float | None) -> float:
        """Seconds of one glance away allowed at this speed (the speed band's, or the unknown-speed one)."""
        if kmh is None:
            return self.cfg.long_glance_s
        bands = self.cfg.long_glance_bands
        limit = bands[0]["glance_s"]
        for b in bands:
            if kmh >= b["from_kmh"]:
                limit = b["glance_s"]
        return limit

    def vats_total(self, t: float) -> tuple[float, float | None]:
        """(seconds away within the VATS window, start of the earliest glance counted)."""
        lo = t - self.cfg.vats_window_s
        glances = [(a, b) for a, b in self._glances if b > lo]
        if self.away_since is not None:
            glances.append((self.away_since, t))
        total = sum(b - max(a, lo) for a, b in glances)
        return total, (max(glances[0][0], lo) if glances else None)

    def update(self, s: Signals, eyes_closed: bool, suppress_away: bool, closed_since: float | None = None) -> None:
        """`closed_since`: the closure's onset (dated back to the start of the lid fall)."""
        t, c = s.t, self.cfg
        new = self._classify(s, eyes_closed)
        if new == OFF and self.away_since is None:
            self.away_since = t
        elif new != OFF and self.away_since is not None:
            self._glances.append((self.away_since, t))
            self.away_since = None
        if new == ON:
            if self.on_since is None:
                self.on_since = t
            if t - self.on_since >= c.vats_reset_s - 1e-6:
                self._glances.clear()
        else:
            self.on_since = None
        while self._glances and self._glances[0][1] < t - c.vats_window_s:
            self._glances.popleft()
        self.state = new

        inattentive = eyes_closed or (new == OFF and not suppress_away)
        if inattentive:
            if self.inattentive_since is None:
                self.inattentive_since = closed_since if eyes_closed and closed_since is not None else t
        else:
            self.inattentive_since = None
            if new == ON:
                self.warned_at = None  # back on the road with open eyes: the warning was answered

        self.no_face_since = _hold(self.no_face_since, t, not s.face)
        dark = s.brightness is not None and s.brightness < c.dark_brightness
        self.dark_since = _hold(self.dark_since, t, dark)
        self.hidden_eyes_since = _hold(self.hidden_eyes_since, t, s.face and not s.eyes_observable)

    def warn(self, t: float) -> None:
        if self.warned_at is None:
            self.warned_at = t

    def unresponsive(self, t: float) -> bool:
        """Eyes closed or away for `unresponsive_s`, or still away `return_s` after a distraction
        warning; the condition dates from `inattentive_since`."""
        c = self.cfg
        if self.inattentive_since is None:
            return False
        return (t - self.inattentive_since >= c.unresponsive_s - 1e-6
                or (self.warned_at is not None and t - self.warned_at >= c.return_s - 1e-6))
