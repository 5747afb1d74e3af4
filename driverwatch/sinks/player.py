"""The live chime player: an `aplay` child process fed raw PCM through a non-blocking pipe,
paced to real time (`LEAD_S` ahead), so killing it silences an alarm at once."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile

from driverwatch.config.chime import ChimeConfig
from driverwatch.sinks.sounds import ALARM, Pattern

LEAD_S = 0.6  # PCM written ahead of real time: more than aplay's default 0.5 s buffer, so it starts at once


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


class PlayerProcess:
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


class Stream:
    """One pattern fed to one player process, paced to real time."""

    def __init__(self, player: PlayerProcess, pattern: Pattern, now: float):
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
