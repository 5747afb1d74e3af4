"""Chime sounds: tones synthesised with numpy (severity -> pattern), and WAV output.

notice = a soft two-note chime; warning = two bursts of three beeps; critical = a pulsed alarm
(`ALARM` loops until the condition ends; "critical" is its 1.5 s one-shot burst).
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from driverwatch.config.chime import ChimeConfig

ALARM = "alarm"  # the looping critical sound
NOTICE_DB = -10.0


@dataclass(frozen=True)
class Pattern:
    name: str
    pcm: np.ndarray  # int16 mono
    rate: int
    on: tuple[tuple[float, float], ...]  # tone intervals, seconds from the start (drives the buzzer)

    @property
    def duration(self) -> float:
        return len(self.pcm) / self.rate

    def sounding(self, offset: float) -> bool:
        offset %= self.duration if self.name == ALARM else float("inf")
        return any(a <= offset < b for a, b in self.on)


def _tone(freq: float, dur: float, rate: int, harmonics=(1.0,), decay_s: float | None = None) -> np.ndarray:
    t = np.arange(int(round(dur * rate))) / rate
    y = sum(a * np.sin(2 * np.pi * freq * (k + 1) * t) for k, a in enumerate(harmonics))
    y = y / max(np.abs(y).max(), 1e-9)
    env = np.ones_like(t)
    ramp = min(int(0.005 * rate), len(t) // 2)  # 5 ms fades: no clicks
    if ramp:
        env[:ramp] = np.linspace(0, 1, ramp)
        env[-ramp:] = np.linspace(1, 0, ramp)
    if decay_s:
        env *= np.exp(-t / decay_s)
    return y * env


def _sequence(parts, rate: int, amp: float, name: str) -> Pattern:
    """parts: (samples or None for silence, seconds) in order."""
    chunks, on, t = [], [], 0.0
    for y, dur in parts:
        n = int(round(dur * rate))
        if y is None:
            chunks.append(np.zeros(n))
        else:
            chunks.append(y[:n])
            on.append((round(t, 4), round(t + dur, 4)))
        t += dur
    pcm = np.clip(np.concatenate(chunks) * amp * 32767, -32767, 32767).astype(np.int16)
    return Pattern(name, pcm, rate, tuple(on))


def synth_patterns(cfg: ChimeConfig) -> dict[str, Pattern]:
    r, v = cfg.sample_rate, cfg.volume
    soft = v * 10 ** (NOTICE_DB / 20)
    bright = (1.0, 0.3, 0.2)  # harmonics make a beep easier to localise and hear over road noise
    n1, n2 = cfg.notice_hz, cfg.notice_hz * 4 / 3
    notice = _sequence([(_tone(n1, 0.16, r, (1.0, 0.1), 0.2), 0.16), (None, 0.04),
                        (_tone(n2, 0.45, r, (1.0, 0.1), 0.18), 0.45), (None, 0.05)], r, soft, "notice")
    beep = (_tone(cfg.warning_hz, 0.1, r, bright), 0.1)
    burst = [beep, (None, 0.06), beep, (None, 0.06), beep]
    warning = _sequence([*burst, (None, 0.3), *burst, (None, 0.1)], r, v, "warning")
    hi, lo = cfg.critical_hz, cfg.critical_hz * 3 / 4
    unit = []
    for f in (hi, lo, hi, lo):
        unit += [(_tone(f, 0.085, r, bright), 0.085), (None, 0.04)]
    alarm = _sequence(unit, r, v, ALARM)  # 0.5 s, loops seamlessly
    critical = _sequence(unit * 3, r, v, "critical")
    return {p.name: p for p in (notice, warning, critical, alarm)}


def write_wav(path: str | Path, pcm: np.ndarray, rate: int) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())
