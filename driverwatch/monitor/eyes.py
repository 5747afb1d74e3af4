"""Layer 2 (eyes): closure episodes (blink, long blink, microsleep, sleep), PERCLOS, blink rate.

A small state machine on the relative closure, timed by sample timestamps:
  OPEN -> CLOSED   the lids pass `blink_closure`; the onset is dated back to the start of the fall
                   (from the lids' resting level, so a held squint is not part of the fall)
  CLOSED -> OPEN   the lids reopen past `open_closure`: one closure episode, classified by duration;
                   or they rest half open (below the blink line and `reopen_drop` below the
                   closure's deepest point) for `reopen_hold_s`: the episode ended where they left the
                   closed level (relaxed lids after a blink are no closure; the closed clock stops
                   meanwhile). Lids that hover at the line without coming up are still closed.
  OPEN -> DOWN     the gaze goes down (head + eye pitch): lowered lids there are not closed lids
  CLOSED -> DOWN   within a blink's time: the blink ended in a downward glance (lowered lids measure
                   as nearly closed, so the lid level cannot tell the two apart)
  DOWN -> CLOSED   coming back up under closed lids (a gaze-evoked blink, from the last down sample),
                   or lids at the closed level for longer than any instrument glance
  DOWN (blink)     lids that read open while looking down (the face's lids do not follow the gaze)
                   and then shut and reopen within a long blink's time: a blink inside the glance
                   (counted; longer closures there are left to the closed-level timer above)
"""

from __future__ import annotations

from dataclasses import dataclass

from driverwatch.config.monitor import EyesConfig
from driverwatch.monitor.signals import Signals
from driverwatch.monitor.windows import EventTimes, RollingShare

UNKNOWN, OPEN, CLOSED, DOWN = "unknown", "open", "closed", "down"
STALL_EPS = 0.03  # closure change within landmark noise: the lids are not moving


@dataclass(frozen=True, slots=True)
class Closure:
    """One finished eye closure."""

    kind: str  # blink | long_blink | microsleep | sleep
    t_start: float
    t_end: float

    @property
    def duration(self) -> float:
        return self.t_end - self.t_start


def classify(duration: float, cfg: EyesConfig) -> str:
    eps = 1e-6  # sample times are sums of float periods
    if duration + eps < cfg.long_blink_s:
        return "blink"
    if duration + eps < cfg.microsleep_s:
        return "long_blink"
    return "microsleep" if duration + eps < cfg.sleep_s else "sleep"


class EyeTracker:
    def __init__(self, cfg: EyesConfig):
        self.cfg = cfg
        self.state = UNKNOWN
        self.onset: float | None = None  # start of the current closure
        self._fall: float | None = None  # first sample of the current lid fall
        self._fall_forward = False  # ... and the gaze was not down then
        self._fall_max = 0.0  # deepest closure of the current fall, and when it was reached
        self._fall_max_t = 0.0
        self._rest = 0.0  # resting closure level (lowest since the last stall)
        self._down_closed: float | None = None  # lids at the closed level since, while looking down
        self._half_open: float | None = None  # closed lids came up to half open at (CLOSED only)
        self._peak = 0.0  # deepest closure of the current closed episode
        self._down_open = False  # DOWN: the lids read open (below open_closure) while looking down
        self._down_blink: float | None = None  # DOWN: lids shut since, after reading open
        self._prev_t: float | None = None
        self._prev_closed = False  # the previous sample had closed lids
        self.perclos_window = RollingShare(cfg.perclos_window_s, cfg.min_observed_share)
        self.trusted = True  # the closure measure has seen this driver's blinks (Signals.closure_trusted)
        self._blinks = EventTimes(cfg.perclos_window_s)

    # --- live state --------------------------------------------------------------------------
    def closed_for(self, t: float) -> float:
        """Seconds the eyes have been closed (0 when not closed; stopped while the lids are half open)."""
        if self.state != CLOSED or self.onset is None:
            return 0.0
        return (t if self._half_open is None else self._half_open) - self.onset

    def perclos(self) -> float | None:
        return self.perclos_window.share() if self.trusted else None

    def blink_rate(self, t: float) -> float | None:
        """Blinks per minute of observed time over the PERCLOS window, None when too little was seen
        or no blink of this driver was ever measured."""
        if self.perclos() is None:
            return None
        return self._blinks.count(t) * 60.0 / self.perclos_window.observed_s

    def reset(self) -> None:
        """Camera stall or lost eyes: forget the episode in progress (no duration across the gap)."""
        self.state = UNKNOWN
        self.onset = self._fall = self._down_closed = self._prev_t = self._half_open = self._down_blink = None
        self._down_open = False
        self._prev_closed = False
        self._rest = 0.0

    # --- update --------------------------------------------------------------------------------
    def update(self, s: Signals) -> list[Closure]:
        t = s.t
        out: list[Closure] = []
        self.trusted = s.closure_trusted
        if self._prev_t is not None:  # the interval since the last sample has that sample's state
            if self.state in (OPEN, CLOSED, DOWN):
                self.perclos_window.add(self._prev_t, t, self.state == CLOSED)
            else:
                self.perclos_window.advance(t)
        c = s.closure if s.eyes_observable else None
        if c is None:
            if self.state == CLOSED and self.onset is not None and t - self.onset >= self.cfg.microsleep_s:
                out.append(self._end(t))  # a live microsleep / sleep ends where the eyes are lost
            self.reset()
            self._prev_t = t
            return out

        cfg = self.cfg
        closed = c >= cfg.blink_closure
        dp = s.dir_pitch
        limit = cfg.down_exit_deg if self.state == DOWN else cfg.down_deg
        down = dp is not None and dp < -limit
        self._rest = min(self._rest, c)
        if c < self._rest + cfg.onset_closure:
            self._fall = None
        elif self._fall is None:
            self._fall, self._fall_max, self._fall_max_t = t, c, t
            self._fall_forward = not down
        elif c > self._fall_max + STALL_EPS:
            self._fall_max, self._fall_max_t = c, t
        elif c < cfg.open_closure and t - self._fall_max_t >= cfg.fall_stall_s - 1e-6:
            self._fall, self._rest = None, c  # the lids stopped more open than closed: a squint

        if self.state in (UNKNOWN, OPEN):
            # A fall that began with the gaze forward is a closure even when the gaze estimate then
            # sags (the iris is being covered); one that began looking down is lowered lids.
            if closed and self._fall is not None and self._fall_forward:
                self._close(self._fall, c)
            elif down:
                self._enter_down(t, closed)
            elif closed:
                self._close(t, c)
            else:
                self.state = OPEN
        elif self.state == CLOSED:
            if c < cfg.open_closure:
                out.append(self._end(t if self._half_open is None else self._half_open))
                self.state = OPEN
            elif not closed and c <= self._peak - cfg.reopen_drop:
                if self._half_open is None:
                    self._half_open = t
                elif t - self._half_open >= cfg.reopen_hold_s - 1e-6:
                    out.append(self._end(self._half_open))
                    self.state = OPEN
                    self._fall, self._rest = None, c  # a later closure is timed from this resting level
            elif down and t - self.onset < cfg.long_blink_s:
                out.append(self._end(t))
                self._enter_down(t, closed)
            else:
                self._half_open = None  # closed again (or only noise at the line): the closure goes on
                self._peak = max(self._peak, c)
        elif self.state == DOWN:
            if not down:
                if c >= cfg.open_closure:
                    self._close(self._prev_t if self._prev_closed and self._prev_t is not None else t, c)
                else:
                    self.state = OPEN
            elif closed:
                if self._down_blink is None and self._down_open:
                    self._down_blink = t if self._fall is None else self._fall
                self._down_open = False
                if self._down_closed is None:
                    self._down_closed = t
                elif t - self._down_closed >= cfg.down_closed_max_s - 1e-6:
                    self._down_blink = None
                    self._close(self._down_closed, c)
            else:
                if c < cfg.open_closure:
                    if self._down_blink is not None and t - self._down_blink < cfg.long_blink_s:
                        out.append(self._episode(self._down_blink, t))
                    self._down_blink = None
                    self._down_open = True
                self._down_closed = None
        self._prev_t = t
        self._prev_closed = closed
        return out

    def _enter_down(self, t: float, closed: bool) -> None:
        self.state = DOWN
        self.onset = self._down_blink = None
        self._down_open = False
        self._down_closed = t if closed else None

    def _close(self, onset: float, c: float) -> None:
        self.state = CLOSED
        self.onset = onset
        self._peak = c
        self._down_closed = self._half_open = None

    def _end(self, t: float) -> Closure:
        ep = self._episode(self.onset, t)
        self.onset = self._half_open = None
        return ep

    def _episode(self, t0: float, t: float) -> Closure:
        ep = Closure(classify(t - t0, self.cfg), t0, t)
        if ep.kind in ("blink", "long_blink"):
            self._blinks.add(t)
        return ep
