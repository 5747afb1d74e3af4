"""In-cab chimes: tones synthesised with numpy, played by an `aplay` child process fed raw PCM.

Why aplay and not a Python audio library: it ships with alsa-utils on every Raspberry Pi OS image
(no PortAudio / cffi build on the Pi), runs out of process (a stuck sound device cannot stall the
monitor or hold the GIL), and killing it silences an alarm at once. One idle aplay is kept started
(device open, waiting for input), so a chime costs a pipe write rather than a process start (a
`hw:` device is then held; `default`, via dmix, stays shared). PCM is written paced to real time
(a short lead over aplay's buffer), so an alarm stops within a tick (20 ms) of its condition's end.

Severity -> sound: notice = a soft two-note chime; warning = two bursts of three beeps; critical =
a pulsed alarm looping until that condition's end event (an instantaneous critical event plays a
1.5 s burst). Info is silent. Updates re-chime only after `repeat_s` or when the severity rises.
A higher-ranked sound cuts a lower one; a lower one waits up to `max_delay_s`, then is dropped.

The decisions (`ChimePlanner`, `_Schedule`) are pure functions of event times, shared by the live
player and `ChimeSink.render_wav`, so the WAV the demo writes is what the cab would have heard.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import subprocess
import tempfile
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from driverwatch.config.chime import ChimeConfig
from driverwatch.daemon.paths import under_state
from driverwatch.monitor.events import SEVERITY_RANK, Event
from driverwatch.sinks.gpio import GpioOutputs

log = logging.getLogger(__name__)

ALARM = "alarm"  # the looping critical sound
RANK = {"notice": 1, "warning": 2, "critical": 3, ALARM: 4}
LEAD_S = 0.6  # PCM written ahead of real time: more than aplay's default 0.5 s buffer, so it starts at once
TICK_S = 0.02  # player thread period while a sound plays
RETRY_S = 5.0  # a failed alarm player is restarted after this long
NOTICE_DB = -10.0


# ---- synthesis -------------------------------------------------------------------------------

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


# ---- decisions (pure) ------------------------------------------------------------------------

class ChimePlanner:
    """Event -> sound actions: ("play", name), ("loop", id), ("stop", id). Deterministic in `event.t`."""

    def __init__(self, repeat_s: float = 20.0, enabled: bool = True):
        self.repeat_s = repeat_s
        self.enabled = enabled
        self.active: dict[str, int] = {}  # id -> severity rank, conditions that have not ended
        self._last: dict[str, tuple[float, int]] = {}  # id -> (t, rank) of its last chime
        self.looping: set[str] = set()

    def plan(self, ev: Event) -> list[tuple[str, str]]:
        rank = SEVERITY_RANK.get(ev.severity, 0)
        if ev.type == "end":
            self.active.pop(ev.id, None)
            self._last.pop(ev.id, None)
            if ev.id in self.looping:
                self.looping.discard(ev.id)
                return [("stop", ev.id)]
            return []
        instant = ev.type == "start" and ev.t_end is not None
        if rank > 0 and not instant:
            self.active[ev.id] = rank
        out: list[tuple[str, str]] = []
        if ev.id in self.looping and rank < 3:  # downgraded from critical
            self.looping.discard(ev.id)
            out.append(("stop", ev.id))
        if rank == 3:
            if instant:
                out.append(("play", "critical"))
            elif ev.id not in self.looping:
                self.looping.add(ev.id)
                out.append(("loop", ev.id))
            return out
        if rank == 0 or not self.enabled:
            return out
        last = self._last.get(ev.id)
        if last is None or rank > last[1] or ev.t - last[0] >= self.repeat_s:
            if not instant:
                self._last[ev.id] = (ev.t, rank)
            out.append(("play", ev.severity))
        return out


class _Schedule:
    """Which sound should be playing. Loops (critical conditions) win; a one-shot cuts a lower-ranked
    one-shot; otherwise it waits, at most `max_delay_s`."""

    def __init__(self, max_delay_s: float):
        self.max_delay_s = max_delay_s
        self.loops: set[str] = set()
        self.pending: list[tuple[float, str]] = []  # (t requested, name)
        self.dropped = 0

    def apply(self, t: float, action: tuple[str, str]) -> None:
        verb, arg = action
        if verb == "loop":
            self.loops.add(arg)
        elif verb == "stop":
            self.loops.discard(arg)
        elif not any(name == arg for _, name in self.pending):
            self.pending.append((t, arg))

    def _take(self, now: float, above: int = 0) -> str | None:
        fresh = [(t, n) for t, n in self.pending if now - t <= self.max_delay_s]
        self.dropped += len(self.pending) - len(fresh)
        self.pending = fresh
        best = max(fresh, key=lambda p: RANK[p[1]], default=None)
        if best is None or RANK[best[1]] <= above:
            return None
        self.pending.remove(best)
        return best[1]

    def decide(self, now: float, current: str | None, done: bool) -> tuple[str | None, bool]:
        """(sound that should play from `now`, whether to start it afresh, cutting `current`)."""
        if self.loops:
            self._take(now, above=RANK[ALARM])  # only expires stale one-shots
            return ALARM, current != ALARM
        if current is not None and current != ALARM and not done:
            nxt = self._take(now, above=RANK[current])
            return (nxt, True) if nxt else (current, False)
        nxt = self._take(now)
        return nxt, nxt is not None


def render(patterns: dict[str, Pattern], actions: list[tuple[float, tuple[str, str]]], duration: float,
           max_delay_s: float = 2.0) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Offline: the PCM the player would produce for timed actions, and its (t0, t1, name) segments."""
    rate = next(iter(patterns.values())).rate
    out = np.zeros(int(round(duration * rate)), dtype=np.int16)
    sched = _Schedule(max_delay_s)
    segments: list[tuple[float, float, str]] = []
    cur: str | None = None
    t0 = 0.0
    i = 0

    def place(name: str, a: float, b: float) -> None:
        pcm = patterns[name].pcm
        i0, i1 = int(round(a * rate)), min(int(round(b * rate)), len(out))
        if i1 <= i0:
            return
        reps = -(-(i1 - i0) // len(pcm))
        out[i0:i1] = np.tile(pcm, reps)[: i1 - i0]
        segments.append((round(a, 4), round(min(b, duration), 4), name))

    while True:
        finish = t0 + patterns[cur].duration if cur not in (None, ALARM) else float("inf")
        t_ev = actions[i][0] if i < len(actions) else float("inf")
        now = min(finish, t_ev)
        if now >= duration or now == float("inf"):
            break
        done = finish <= t_ev
        while not done and i < len(actions) and actions[i][0] <= now:
            sched.apply(*actions[i])
            i += 1
        nxt, fresh = sched.decide(now, cur, done)
        if cur is not None and (fresh or nxt is None or done):
            place(cur, t0, now)
            cur = None
        if fresh:
            cur, t0 = nxt, now
    if cur is not None:
        place(cur, t0, min(duration, t0 + patterns[cur].duration if cur != ALARM else duration))
    return out, segments


def write_wav(path: str | Path, pcm: np.ndarray, rate: int) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())


# ---- the live player ----------------------------------------------------------------------------

def player_argv(cfg: ChimeConfig) -> list[str]:
    return [a.format(rate=cfg.sample_rate, device=cfg.device) for a in shlex.split(cfg.player)]


def probe_player(cfg: ChimeConfig, timeout: float = 3.0) -> str | None:
    """Open the audio device without playing anything (the player with empty input).
    None when it works, else a one-line reason."""
    argv = player_argv(cfg)
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except FileNotFoundError:
        return f"player not found: {argv[0]} (install alsa-utils)"
    except subprocess.TimeoutExpired:
        return f"player did not finish within {timeout:g} s (audio device {cfg.device!r} busy?)"
    if proc.returncode != 0:
        return _last_line(proc.stderr, f"{argv[0]} exited with status {proc.returncode}")
    return None


def _last_line(data: bytes, default: str) -> str:
    lines = [ln.strip() for ln in data.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else default


class _Proc:
    """A player process with its stdin as a non-blocking pipe and stderr kept in a temp file."""

    def __init__(self, argv: list[str], now: float):
        self.started = now
        self.killed = False
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 (closed in kill())
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._err)
        except OSError:
            self._err.close()
            raise
        os.set_blocking(self.proc.stdin.fileno(), False)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def error(self) -> str | None:
        """Why it exited, if it failed by itself (not killed by us)."""
        rc = self.proc.poll()
        if rc in (0, None) or self.killed or self._err.closed:
            return None
        self._err.seek(0)
        return _last_line(self._err.read(), f"player exited with status {rc}")

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()

    def kill(self, graceful: bool = False) -> None:
        """Stop it: at once (an alarm that must end now), or `graceful`: end of input, then wait."""
        self.killed = True
        if not graceful and self.proc.poll() is None:
            self.proc.terminate()  # before closing its input: at end of input aplay would drain its buffer
        self.close_stdin()
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=0.5 if not graceful else 2.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._err.close()


class _Stream:
    """One pattern fed to one player process, paced to real time."""

    def __init__(self, player: _Proc, pattern: Pattern, now: float):
        self.player = player
        self.pattern = pattern
        self.t0 = now
        self.pos = 0
        self._data = pattern.pcm.tobytes()

    @property
    def loop(self) -> bool:
        return self.pattern.name == ALARM

    def pump(self, now: float) -> None:
        stdin = self.player.proc.stdin
        if stdin.closed:
            return
        target = int((now - self.t0 + LEAD_S) * self.pattern.rate) * 2  # whole frames
        n = len(self._data)
        if not self.loop:
            target = min(target, n)
        while self.pos < target:
            a = self.pos % n
            try:
                self.pos += os.write(stdin.fileno(), self._data[a:min(n, a + target - self.pos)])
            except BlockingIOError:
                break
            except OSError:  # the player died (broken pipe)
                self.player.close_stdin()
                return
        if not self.loop and self.pos >= n:
            self.player.close_stdin()

    def finished(self, now: float) -> bool:
        """Process exited; for one-shots also the pattern's time has passed (aplay drains its buffer)."""
        if self.player.alive():
            if not self.loop and now - self.t0 > self.pattern.duration + LEAD_S + 2.0:
                self.player.kill()  # a hung player
            return False
        return self.loop or now - self.t0 >= self.pattern.duration


class ChimeSink:
    """Non-blocking: `handle()` only plans and wakes the player thread (microseconds)."""

    def __init__(self, cfg: ChimeConfig | None = None, wav_path: str | Path | None = None,
                 clock=time.monotonic, state_dir: Path | None = None):
        """`state_dir`: where a relative `cfg.wav_path` goes (the daemon's state directory)."""
        self.cfg = cfg = cfg or ChimeConfig()
        self.patterns = synth_patterns(cfg)
        self._clock = clock
        self._planner = ChimePlanner(cfg.repeat_s, cfg.enabled)
        self._sched = _Schedule(cfg.max_delay_s)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._snooze_until = float("-inf")
        self._argv = player_argv(cfg)
        self._ok: bool | None = None
        self._error: str | None = None
        self._playing: str | None = None
        self.played = 0
        self.snoozed = 0
        self._actions: list[tuple[float, tuple[str, str]]] = []  # output = "wav"
        self._wav_origin: float | None = None
        self._start_mono = 0.0
        self._last_t = 0.0
        self._wav_path = Path(wav_path) if wav_path else under_state(cfg.wav_path, state_dir)
        self._gpio = GpioOutputs(cfg.gpio_buzzer_pin, cfg.gpio_led_pin)
        if cfg.output == "none":
            self._set_error("output is 'none': critical alarms are not audible")

    # -- public API ----------------------------------------------------------------------------
    def start(self) -> None:
        if self.cfg.output == "alsa" and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="chime-player", daemon=True)
            self._thread.start()
        elif self.cfg.output == "wav":
            self._start_mono = self._clock()
            self._ok = True

    def handle(self, event: Event) -> None:
        with self._lock:
            actions = self._planner.plan(event)
            self._last_t = event.t
            if not actions:
                return
            if ("play", "notice") in actions and self._clock() < self._snooze_until:
                actions.remove(("play", "notice"))
                self.snoozed += 1
            if self.cfg.output == "wav":
                if self._wav_origin is None:  # live monitor time is monotonic; replays start near 0
                    start = self._start_mono
                    self._wav_origin = start if event.t >= start - 5 else 0.0
                self._actions += [(event.t - self._wav_origin, a) for a in actions]
                return
            now = self._clock()
            for a in actions:
                self._sched.apply(now, a)
        self._wake.set()

    def snooze(self, seconds: float) -> float:
        """Silence notice chimes for `seconds` (capped at snooze_max_s; <= 0 cancels). Warnings and
        critical alarms are never snoozed. Returns the seconds applied."""
        s = max(0.0, min(float(seconds), self.cfg.snooze_max_s))
        with self._lock:
            self._snooze_until = self._clock() + s if s > 0 else float("-inf")
        log.info("notice chimes snoozed for %.0f s", s)
        return s

    def health(self) -> dict:
        with self._lock:
            return {
                "ok": bool(self._ok) if self._ok is not None else None,
                "output": self.cfg.output,
                "device": self.cfg.device if self.cfg.output == "alsa" else (
                    str(self._wav_path) if self.cfg.output == "wav" else None),
                "last_error": self._error,
                "playing": self._playing,
                "alarms_active": len(self._planner.looping),
                "played": self.played,
                "dropped": self._sched.dropped,
                "snoozed_s": round(max(0.0, self._snooze_until - self._clock()), 1),
                "gpio": self._gpio.backend,
            }

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=3.0)
            self._thread = None
        if self.cfg.output == "wav" and self._actions:
            end = self._last_t - self._wav_origin
            if self._wav_origin:  # live: up to now, so an alarm still sounding at stop is heard
                end = max(end, self._clock() - self._wav_origin)
            end += 2.0
            pcm, _ = render(self.patterns, self._actions, end, self.cfg.max_delay_s)
            write_wav(self._wav_path, pcm, self.cfg.sample_rate)
            log.info("chimes written to %s (%.1f s)", self._wav_path, end)
            self._actions = []
        self._gpio.close()

    @classmethod
    def render_wav(cls, path: str | Path, events: list[Event], duration: float,
                   cfg: ChimeConfig | None = None) -> list[tuple[float, float, str]]:
        """Write the chimes `events` would play, placed at their monitor times, into one WAV of
        `duration` seconds. Returns the (t0, t1, sound) segments."""
        cfg = cfg or ChimeConfig()
        planner = ChimePlanner(cfg.repeat_s, cfg.enabled)
        actions = [(e.t, a) for e in sorted(events, key=lambda e: e.t) for a in planner.plan(e)]
        patterns = synth_patterns(cfg)
        pcm, segments = render(patterns, actions, duration, cfg.max_delay_s)
        write_wav(path, pcm, cfg.sample_rate)
        return segments

    # -- player thread -------------------------------------------------------------------------
    def _set_error(self, msg: str | None) -> None:
        if msg and msg != self._error:
            log.warning("chime output unavailable (the daemon keeps running): %s", msg)
        elif msg is None and self._error and self._ok is False:
            log.info("chime output works again")
        self._error = msg
        self._ok = msg is None

    def _run(self) -> None:
        """Keeps one idle player process ready (aplay started, device open, waiting for input), so
        a chime costs a pipe write, not a process start."""
        err = probe_player(self.cfg)
        with self._lock:
            self._set_error(err)
        stream: _Stream | None = None
        self._standby: _Proc | None = None
        current: str | None = None
        retry_at = standby_at = 0.0
        backoff = RETRY_S
        with contextlib.suppress(OSError):
            self._standby = _Proc(self._argv, self._clock())
        try:
            while not self._stopping:
                self._wake.wait(TICK_S if current else 1.0)
                self._wake.clear()
                now = self._clock()
                done = stream is None or stream.finished(now)
                if stream is not None and done:
                    if stream.loop:  # the alarm player died by itself: retry later, not every tick
                        retry_at = now + RETRY_S
                    self._report(stream.player)
                    stream.player.kill()
                    stream = None
                with self._lock:
                    nxt, fresh = self._sched.decide(now, current, done and current != ALARM)
                    if nxt == ALARM and stream is None and not fresh and now >= retry_at:
                        fresh = True  # the alarm player died: restart it
                if stream is not None and (fresh or nxt is None):
                    stream.player.kill()
                    stream = None
                current = nxt
                if fresh and nxt is not None and (nxt != ALARM or now >= retry_at):
                    stream = self._stream(nxt, now)
                    if stream is None and nxt == ALARM:
                        retry_at = now + RETRY_S
                if stream is not None:
                    stream.pump(now)
                with self._lock:
                    self._playing = stream.pattern.name if stream else None
                self._drive_gpio(stream, now)
                # the standby: replace it when used; when it dies by itself, report and back off
                sb = self._standby
                if sb is not None and not sb.alive():
                    self._report(sb)
                    sb.kill()
                    self._standby = None
                    standby_at, backoff = now + backoff, min(backoff * 2, 60.0)
                elif sb is not None and now - sb.started > 1.0 and self._error and self._ok is False:
                    with self._lock:
                        self._set_error(None)  # it has held the device open for a second: it works
                    backoff = RETRY_S
                if self._standby is None and now >= standby_at:
                    with contextlib.suppress(OSError):
                        self._standby = _Proc(self._argv, now)
        finally:
            if stream is not None:
                stream.player.kill()
            if self._standby is not None:
                self._standby.kill(graceful=True)  # end of input: aplay exits quietly
            with self._lock:
                self._playing = None

    def _stream(self, name: str, now: float) -> _Stream | None:
        player, self._standby = self._standby, None
        if player is None or not player.alive():
            if player is not None:
                self._report(player)
                player.kill()
            try:
                player = _Proc(self._argv, now)
            except OSError as err:
                with self._lock:
                    self._set_error(f"cannot start player {self._argv[0]}: {err}")
                return None
        self.played += 1
        log.debug("chime %s", name)
        return _Stream(player, self.patterns[name], now)

    def _report(self, player: _Proc) -> None:
        """A player that exited by itself: its error, or (exit 0 after playing) that output works."""
        if player.killed:
            return
        with self._lock:
            self._set_error(player.error())

    def _drive_gpio(self, stream: _Stream | None, now: float) -> None:
        if not self._gpio.active:
            return
        buzz = bool(stream) and stream.pattern.name != "notice" and stream.pattern.sounding(now - stream.t0)
        self._gpio.set(buzzer=buzz, led=bool(self._planner.active) or bool(stream))
