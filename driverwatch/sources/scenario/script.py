"""Scenario scripts: a TOML timeline of actions -> the driver's `State` at any time + expectations.

Every scenario starts with a calm stretch (the monitor's calibration time + `LEAD_S`); action times
in the file are seconds after it ("script time"), the rendered clip's time is `t0 + script time`.
Channels add up (head angles, gaze, jaw, position) or take the maximum (eye closure, sunglasses),
so actions may overlap. Each action is a trapezoid pulse: `ramp` seconds in, `hold` seconds at its
value, `ramp` seconds out, starting its hold at `at`. See scenarios/README.md for the format.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from driverwatch.errors import InputError
from driverwatch.sources.scenario.render import State

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
LEAD_S = 5.0  # calm seconds after calibration before the script starts
ADD = ("yaw", "pitch", "roll", "gaze_yaw", "gaze_pitch", "jaw", "tx", "ty", "tz", "brow", "press", "sneer", "smile")
EXPRESSIONS = ("brow", "press", "sneer", "smile")
MAX = ("closure_left", "closure_right", "shades")
ACTIONS = {"close_eyes", "glance", "yawn", "nod", "talk", "leave", "shades", "pose", "glances", "dim", "express",
           "scan", "stare"}


@dataclass(frozen=True)
class Pulse:
    channel: str
    start: float  # ramp-in begins
    ramp: float
    hold: float
    value: float
    ramp_out: float | None = None

    def at(self, t: np.ndarray) -> np.ndarray:
        ro = self.ramp if self.ramp_out is None else self.ramp_out
        a, b = self.start, self.start + self.ramp
        c = b + self.hold
        d = c + ro
        up = _smooth((t - a) / self.ramp) if self.ramp > 0 else (t >= a).astype(float)
        down = 1 - _smooth((t - c) / ro) if ro > 0 else (t < c).astype(float)
        return self.value * np.where(t < b, up, np.where(t <= c, 1.0, np.where(t < d, down, 0.0))) * (t >= a)


def _smooth(x):
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


@dataclass
class Expect:
    kind: str
    t_start: float  # clip time
    t_end: float

    def to_json(self) -> dict:
        return {"kind": self.kind, "t_start": round(self.t_start, 3), "t_end": round(self.t_end, 3)}


@dataclass
class Scenario:
    name: str
    description: str
    duration: float  # whole clip, seconds
    t0: float  # script start (end of calibration + lead)
    fps: float = 30.0
    width: int = 640
    height: int = 480
    look: str = "color"
    face: str = "astronaut"  # a name in faces.FACES or a photo path
    noise: float = 2.0
    blur: float = 0.0
    pulses: list[Pulse] = field(default_factory=list)
    expect: list[Expect] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)  # kinds that must not occur; "*" = any
    allow: list[str] = field(default_factory=list)  # exempt from "*"
    source: str = ""

    def states(self, times) -> list[State]:
        t = np.asarray(times, dtype=float)
        vals = {c: np.zeros_like(t) for c in ADD + MAX}
        for p in self.pulses:
            if p.channel in MAX:
                vals[p.channel] = np.maximum(vals[p.channel], p.at(t))
            else:
                vals[p.channel] += p.at(t)
        for c in ("closure_left", "closure_right", "jaw", "shades", *EXPRESSIONS):
            vals[c] = np.clip(vals[c], 0, 1)
        bright = np.ones_like(t)
        for p in self.pulses:
            if p.channel == "brightness":
                bright *= 1 + p.at(t)
        return [State(**{c: float(vals[c][i]) for c in vals}, brightness=float(bright[i])) for i in range(len(t))]

    def frame_times(self, fps: float | None = None) -> np.ndarray:
        fps = fps or self.fps
        return np.arange(int(math.floor(self.duration * fps + 1e-9))) / fps


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.toml"))


def scenario_path(name: str | Path) -> Path:
    p = Path(name)
    if p.suffix == ".toml" and p.is_file():
        return p
    q = SCENARIOS / f"{name}.toml"
    if q.is_file():
        return q
    raise InputError(f"unknown scenario {str(name)!r}: pick one of {', '.join(scenario_names())} or a .toml file")


def load_scenario(name: str | Path, calibration_s: float, **overrides) -> Scenario:
    """Parse a scenario (a name in scenarios/ or a TOML path). `calibration_s` is the monitor's
    (`MonitorConfig.calibration_s`); overrides (fps, width, height, look, noise, blur, face) win."""
    path = scenario_path(name)
    try:
        d = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"scenario {path}: not valid TOML: {err}") from None
    try:
        return _build(d, path, float(calibration_s), overrides)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"scenario {path}: {err}") from None


def _build(d: dict, path: Path, calibration_s: float, overrides: dict) -> Scenario:
    t0 = calibration_s + LEAD_S
    length = float(d["duration"])
    opts = {k: d[k] for k in ("fps", "width", "height", "look", "noise", "blur", "face") if k in d}
    opts.update({k: v for k, v in overrides.items() if v is not None})
    sc = Scenario(name=d.get("name", path.stem), description=d.get("description", ""),
                  duration=t0 + length, t0=t0, forbid=list(d.get("forbid", [])),
                  allow=list(d.get("allow", [])), source=path.read_text(encoding="utf-8"), **opts)
    rng = np.random.default_rng(int(d.get("seed", 1)))
    busy: list[tuple[float, float]] = []  # clip-time spans where eyes are scripted (no blinks there)
    for a in d.get("action", []):
        _action(sc, a, t0, busy, rng)
    _sway(sc, rng)
    bl = d.get("blinks", {"rate_per_min": 15})
    _blinks(sc, float(bl.get("rate_per_min", 15)), float(bl.get("duration", 0.3)), busy, rng)
    return sc


def _action(sc: Scenario, a: dict, t0: float, busy: list, rng) -> None:
    do = a["do"]
    if do not in ACTIONS:
        raise ValueError(f"unknown action {do!r} (one of {', '.join(sorted(ACTIONS))})")
    at = t0 + float(a["at"])
    hold = float(a.get("hold", 1.0))
    ramp = float(a.get("ramp", 0.1))
    add = sc.pulses.append
    span = (at - ramp / 2, at + hold + ramp / 2)  # half-way through the ramps
    if do == "close_eyes":
        amount = float(a.get("amount", 1.0))
        for ch in ("closure_left", "closure_right"):
            add(Pulse(ch, at - ramp, ramp, hold, amount))
        busy.append((at - ramp - 0.5, at + hold + ramp + 0.5))
    elif do in ("glance", "pose", "leave", "dim", "stare"):  # stare: gaze held (at 0 unless given)
        for ch in ("yaw", "pitch", "roll", "gaze_yaw", "gaze_pitch", "tx", "ty", "tz", "jaw"):
            if ch in a:
                add(Pulse(ch, at - ramp, ramp, hold, float(a[ch])))
        if "brightness" in a:
            add(Pulse("brightness", at - ramp, ramp, hold, float(a["brightness"]) - 1))
    elif do == "glances":  # repeated glances (VATS): n of `hold` s, `gap` s back on the road
        n, gap = int(a.get("n", 4)), float(a.get("gap", 1.0))
        for i in range(n):
            s = at + i * (hold + gap + ramp)
            for ch in ("yaw", "pitch", "gaze_yaw", "gaze_pitch"):
                if ch in a:
                    add(Pulse(ch, s - ramp, ramp, hold, float(a[ch])))
        span = (at - ramp / 2, at + n * (hold + gap + ramp) - gap - ramp / 2)
    elif do == "yawn":
        add(Pulse("jaw", at - 1.0, 1.0, hold, float(a.get("jaw", 0.9)), ramp_out=1.2))
        add(Pulse("pitch", at - 1.0, 1.0, hold, 6.0, ramp_out=1.2))
        for ch in ("closure_left", "closure_right"):
            add(Pulse(ch, at - 0.8, 0.8, hold, float(a.get("squint", 0.35)), ramp_out=1.0))
        span = (at - 0.5, at + hold + 0.6)
    elif do == "nod":  # nodding off: eyes close, head sinks, then jerks back up
        drop = float(a.get("pitch", -25.0))
        for ch in ("closure_left", "closure_right"):
            add(Pulse(ch, at - 0.3, 0.3, hold, 1.0, ramp_out=0.2))
        add(Pulse("pitch", at, hold, 0.0, drop, ramp_out=0.3))
        busy.append((at - 1, at + hold + 1))
    elif do == "talk":  # syllables: jaw pulses 0.1..`jaw` at ~4 Hz, small head motion
        t, end, jmax = at, at + hold, float(a.get("jaw", 0.3))
        while t < end:
            add(Pulse("jaw", t, 0.07, 0.04, float(rng.uniform(0.1, jmax)), ramp_out=0.09))
            t += float(rng.uniform(0.2, 0.32))
        add(Pulse("yaw", at, 1.0, max(0.0, hold - 2), float(a.get("yaw", 8.0))))
    elif do == "shades":
        add(Pulse("shades", at - ramp, ramp, hold, 1.0))
    elif do == "express":  # expression channels (0..1): brow (AU4), press (AU24), sneer (AU9), smile
        given = [ch for ch in EXPRESSIONS if ch in a]
        if not given:
            raise ValueError(f"express needs one of {', '.join(EXPRESSIONS)}")
        for ch in given:
            add(Pulse(ch, at - ramp, ramp, hold, float(a[ch])))
        for ch in ("jaw", "yaw", "pitch"):
            if ch in a:
                add(Pulse(ch, at - ramp, ramp, hold, float(a[ch])))
        if "squint" in a:  # laughing narrows the eyes (not a closure the monitor may count)
            for ch in ("closure_left", "closure_right"):
                add(Pulse(ch, at - ramp, ramp, hold, float(a["squint"])))
            busy.append((at - ramp - 0.5, at + hold + ramp + 0.5))
    elif do == "scan":  # normal driving gaze: fixations around the road ahead, mirror checks
        _scan(sc, at, hold, a, rng)
    for k in _as_list(a.get("expect", [])):
        sc.expect.append(Expect(k, *span))


def _scan(sc: Scenario, at: float, hold: float, a: dict, rng) -> None:
    """Gaze of an attentive driver for `hold` s: fixations of 0.3-1.2 s on points of the road scene
    (eye-in-head SD `spread` degrees, default 5, vertical a third of it; the head adds a quarter)
    and a mirror or instrument check every `check_every` s (default 12; 0.6-1.2 s each). The
    defaults give ~76 % of gaze within 8 degrees of the road centre and a horizontal SD of 8-11
    degrees per minute, as in normal driving; cognitive load raises the first and lowers the second
    (Victor, Harbluk & Engstrom 2005; Wang et al. 2014). A `stare` has 100 % and 0.6 degrees."""
    spread, every = float(a.get("spread", 5.0)), float(a.get("check_every", 12.0))
    t, end = at, at + hold
    while t < end:
        dwell = float(rng.uniform(0.3, 1.2))
        gy, gp = float(rng.normal(0, spread)), float(rng.normal(-1.0, spread / 3))
        for ch, val in (("gaze_yaw", gy), ("gaze_pitch", gp), ("yaw", 0.25 * gy), ("pitch", 0.25 * gp)):
            sc.pulses.append(Pulse(ch, t, 0.05, max(0.0, dwell - 0.1), val))
        t += dwell
    checks = (("yaw", 30.0, "gaze_yaw", 10.0), ("yaw", -18.0, "gaze_yaw", -12.0), ("pitch", -14.0, "gaze_pitch", -12.0))
    t = at + float(rng.uniform(2, every))
    while t < end - 2:
        h_ch, h_val, g_ch, g_val = checks[int(rng.integers(len(checks)))]
        dur = float(rng.uniform(0.6, 1.2))
        sc.pulses.append(Pulse(h_ch, t, 0.2, dur, h_val))
        sc.pulses.append(Pulse(g_ch, t, 0.15, dur, g_val))
        t += float(rng.uniform(0.6, 1.4)) * every


def _as_list(x) -> list:
    return [x] if isinstance(x, str) else list(x)


def _sway(sc: Scenario, rng) -> None:
    """Natural small head motion while driving: slow sums of sines, about +-2 degrees."""
    for ch, amp in (("yaw", 1.5), ("pitch", 1.0), ("roll", 0.8)):
        period = float(rng.uniform(6, 11))
        n = int(sc.duration / period) + 1
        for i in range(n):
            sc.pulses.append(Pulse(ch, i * period, period / 2, 0.0, float(rng.uniform(-amp, amp)),
                                   ramp_out=period / 2))


def _blinks(sc: Scenario, rate: float, dur: float, busy: list, rng) -> None:
    """Spontaneous blinks (~15/min while driving; 0.1-0.4 s each: Stern et al. 1994)."""
    if rate <= 0:
        return
    t = float(rng.uniform(0.5, 2.0))
    while t < sc.duration - 1:
        if not any(a <= t <= b for a, b in busy):
            close = dur * 0.3
            for ch in ("closure_left", "closure_right"):
                sc.pulses.append(Pulse(ch, t, close, dur * 0.1, 1.0, ramp_out=dur * 0.6))
        t += max(1.2, float(rng.exponential(60.0 / rate)))
