"""Layer 3: drowsiness level (alert / drowsy / very drowsy ≈ KSS <= 6, 7, >= 8) from PERCLOS,
long blinks, microsleeps, yawns and nods, with hysteresis. Heart data only supports borderline
eye / mouth evidence; it never raises the level alone. A lone microsleep (fewer than
`microsleeps_very`) makes the driver drowsy only with another sign in the window
(`microsleep_needs_support`): it is warned on its own, but one closure is not minutes of drowsiness."""

from __future__ import annotations

from driverwatch.config.monitor import DrowsinessConfig
from driverwatch.monitor.windows import EventTimes

LEVELS = ("alert", "drowsy", "very_drowsy")
SIGNS = ("long_blink", "microsleep", "sleep", "yawn", "nod")


class DrowsinessEstimator:
    def __init__(self, cfg: DrowsinessConfig):
        self.cfg = cfg
        self.signs = {k: EventTimes(cfg.window_s) for k in SIGNS}
        self.level = 0
        self.known = False
        self._lower_since: float | None = None
        self.evidence: dict = {}

    def add(self, kind: str, t: float) -> None:
        if kind in self.signs:
            self.signs[kind].add(t)

    def raw_level(self, t: float, perclos: float | None, support: bool | None) -> tuple[int, dict]:
        c = self.cfg
        n = {k: w.count(t) for k, w in self.signs.items()}
        ev = {"perclos": None if perclos is None else round(perclos, 3), **{f"{k}s": v for k, v in n.items()}}
        held = c.perclos_release if self.level else 1.0  # hysteresis on the thresholds once raised
        lvl = 0
        reasons: list[str] = []

        def rule(level: int, hit: bool, why: str) -> None:
            nonlocal lvl
            if hit:
                lvl = max(lvl, level)
                reasons.append(why)

        p = -1.0 if perclos is None else perclos
        rule(2 if p >= c.perclos_very * held else 1, p >= c.perclos_drowsy * held, "perclos")
        very = n["sleep"] > 0 or n["microsleep"] >= c.microsleeps_very
        other = (n["long_blink"] > 0 or n["yawn"] > 0 or n["nod"] > 0 or bool(support)
                 or p >= c.support_share * c.perclos_drowsy)
        lone_ok = not c.microsleep_needs_support or other or self.level > 0
        rule(2 if very else 1, very or (n["microsleep"] >= c.microsleeps_drowsy and lone_ok), "microsleep")
        rule(2 if n["nod"] >= c.nods_very else 1, n["nod"] > 0, "nod")
        rule(1, n["long_blink"] >= c.long_blinks_drowsy, "long_blink")
        rule(1, n["yawn"] >= c.yawns_drowsy, "yawn")
        if lvl == 0 and support:
            k = c.support_share
            if ((perclos is not None and perclos >= k * c.perclos_drowsy)
                    or n["long_blink"] >= k * c.long_blinks_drowsy or n["yawn"] >= k * c.yawns_drowsy):
                lvl = 1
                reasons.append("heart_support")
        ev["reasons"] = reasons
        ev["heart_support"] = support
        return lvl, ev

    def update(self, t: float, perclos: float | None, support: bool | None) -> int:
        raw, ev = self.raw_level(t, perclos, support)
        self.evidence = ev
        self.known = perclos is not None or raw > 0
        if raw >= self.level:
            self.level = raw
            self._lower_since = None
        elif self._lower_since is None:
            self._lower_since = t
        elif t - self._lower_since >= self.cfg.release_s:
            self.level = raw
            self._lower_since = None
        return self.level

    @property
    def name(self) -> str:
        if not self.known and self.level == 0:
            return "unknown"
        return LEVELS[self.level]
