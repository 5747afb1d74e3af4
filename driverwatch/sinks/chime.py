"""In-cab chimes: tones synthesised with numpy, played by an `aplay` child process fed raw PCM.

Why aplay and not a Python audio library: it ships with alsa-utils on every Raspberry Pi OS image
(no PortAudio / cffi build on the Pi), runs out of process (a stuck sound device cannot stall the
monitor or hold the GIL), and killing it silences an alarm at once. One idle aplay is kept started
(device open, waiting for input), so a chime costs a pipe write rather than a process start (a
`hw:` device is then held; `default`, via dmix, stays shared). PCM is written paced to real time
(a short lead over aplay's buffer), so an alarm stops within a tick (20 ms) of its condition's end.

Severity -> sound: notice = a soft two-note chime; warning = two bursts of three beeps; critical =
a pulsed alarm looping until that condition's end event (an instantaneous critical event plays a
1.5 s burst). Info is silent, and so are notices the monitor marks `snoozed`. Updates re-chime only after `repeat_s` or when the severity rises.
A higher-ranked sound cuts a lower one; a lower one waits up to `max_delay_s`, then is dropped.

Modules: sounds.py (synthesis, WAV), chime_plan.py (the pure decisions, shared by the live player
and `ChimeSink.render_wav`, so the WAV the demo writes is what the cab would have heard), player.py
(the aplay process), this one (the sink and its player thread).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

from driverwatch.config.chime import ChimeConfig
from driverwatch.monitor.events import Event
from driverwatch.paths import under_state
from driverwatch.sinks.chime_plan import RANK, ChimePlanner, Schedule, render  # noqa: F401 (re-exported)
from driverwatch.sinks.gpio import GpioOutputs
from driverwatch.sinks.player import PlayerProcess, Stream, player_argv, probe_player  # noqa: F401
from driverwatch.sinks.sounds import ALARM, Pattern, synth_patterns, write_wav  # noqa: F401

log = logging.getLogger(__name__)

TICK_S = 0.02  # player thread period while a sound plays
RETRY_S = 5.0  # a failed alarm player is restarted after this long


class ChimeSink:
    """Non-blocking: `handle()` only plans and wakes the player thread (microseconds)."""

    def __init__(self, cfg: ChimeConfig | None = None, wav_path: str | Path | None = None,
                 clock=time.monotonic, state_dir: Path | None = None):
        """`state_dir`: where a relative `cfg.wav_path` goes (the daemon's state directory)."""
        self.cfg = cfg = cfg or ChimeConfig()
        self.patterns = synth_patterns(cfg)
        self._clock = clock
        self._planner = ChimePlanner(cfg.repeat_s, cfg.enabled)
        self._sched = Schedule(cfg.max_delay_s)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
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
            self.snoozed += event.snoozed
            actions = self._planner.plan(event)
            self._last_t = event.t
            if not actions:
                return
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
                "snoozed": self.snoozed,
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

    def close(self) -> None:
        self.stop()

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
        stream: Stream | None = None
        self._standby: PlayerProcess | None = None
        current: str | None = None
        retry_at = standby_at = 0.0
        backoff = RETRY_S
        with contextlib.suppress(OSError):
            self._standby = PlayerProcess(self._argv, self._clock())
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
                        self._standby = PlayerProcess(self._argv, now)
        finally:
            if stream is not None:
                stream.player.kill()
            if self._standby is not None:
                self._standby.kill(graceful=True)  # end of input: aplay exits quietly
            with self._lock:
                self._playing = None

    def _stream(self, name: str, now: float) -> Stream | None:
        player, self._standby = self._standby, None
        if player is None or not player.alive():
            if player is not None:
                self._report(player)
                player.kill()
            try:
                player = PlayerProcess(self._argv, now)
            except OSError as err:
                with self._lock:
                    self._set_error(f"cannot start player {self._argv[0]}: {err}")
                return None
        self.played += 1
        log.debug("chime %s", name)
        return Stream(player, self.patterns[name], now)

    def _report(self, player: PlayerProcess) -> None:
        """A player that exited by itself: its error, or (exit 0 after playing) that output works."""
        if player.killed:
            return
        with self._lock:
            self._set_error(player.error())

    def _drive_gpio(self, stream: Stream | None, now: float) -> None:
        if not self._gpio.active:
            return
        buzz = bool(stream) and stream.pattern.name != "notice" and stream.pattern.sounding(now - stream.t0)
        self._gpio.set(buzzer=buzz, led=bool(self._planner.active) or bool(stream))
