"""The serial heart-rate sensor: a reader thread that survives unplugging, and hands `HeartFeatures`
to the consumer through a bounded queue (oldest dropped and counted), so it never blocks the camera path.

States: "connecting" (port not open yet), "ok" (valid data within `lost_after_s`), "lost" (no valid
data for `lost_after_s`, or the port vanished; features then carry sensor_ok=False once per
`update_s`). Reconnection uses a doubling backoff up to 0.5 s; the parser and the feature pipeline
restart on each reconnection (the device may have been replaced).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable

from driverwatch.config.heart import HeartConfig
from driverwatch.errors import DeviceError, InputError, PermissionDeniedError
from driverwatch.physio.pipeline import HeartPipeline
from driverwatch.physio.protocols import LineParser
from driverwatch.ratelimit import RateLimitedLog
from driverwatch.samples import HeartFeatures

log = logging.getLogger("driverwatch.heart")

MAX_LINE = 256  # bytes; longer lines are garbage (no protocol here comes close)
_BACKOFF_MIN, _BACKOFF_MAX = 0.1, 0.5  # re-opening a missing path twice a second is cheap
_READ_TIMEOUT = 0.1
# Read in batches: at 500 lines/s, waking per line costs more than all the maths. 50 ms of delay is
# nothing for heart features, and the tty buffer (4 KiB, ~0.35 s at 115200 baud) is far from full.
_BATCH_S = 0.05
_BATCH_BYTES = 2048


def _permission_message(port: str) -> str:
    return (f"permission denied on heart sensor port {port}: add the service user to the 'dialout' group "
            f"(sudo usermod -aG dialout $USER) or fix the device's udev rule")


def open_port(port: str, baud: int):
    """Open the serial port; PermissionDeniedError / DeviceError with a one-line message."""
    import serial

    try:
        return serial.Serial(port, baud, timeout=_READ_TIMEOUT)
    except serial.SerialException as err:
        if getattr(err, "errno", None) in (errno.EACCES, errno.EPERM) or "Permission denied" in str(err):
            raise PermissionDeniedError(_permission_message(port)) from None
        raise DeviceError(f"cannot open heart sensor port {port}: {err.strerror or err}") from None


class HeartSensor:
    def __init__(self, cfg: HeartConfig, clock: Callable[[], float] = time.monotonic,
                 on_samples: Callable[[list], None] | None = None):
        """`on_samples`, if given, is called on the reader thread with each line's parsed samples
        (kind, t, value), e.g. to record them."""
        if not cfg.port:
            raise DeviceError("no heart sensor port configured (heart.port)")
        self.cfg = cfg
        self.clock = clock
        self.on_samples = on_samples
        self.queue: queue.Queue[HeartFeatures] = queue.Queue(maxsize=cfg.queue_size)
        self.state = "connecting"
        self.stats: Counter[str] = Counter()
        self.parser = LineParser(cfg)
        self.pipeline = HeartPipeline(cfg)
        self._ser = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_valid: float | None = None
        self._last_lost_emit = 0.0
        self._buf = b""
        self._discarding = False
        self._skip_partial = False
        self._lock = threading.RLock()  # stats, parser, pipeline: the reader thread vs counters()
        self._warn = RateLimitedLog(log)
        self._last_error = ""

    # -- consumer side -----------------------------------------------------------------------------
    def start(self) -> HeartSensor:
        """Open the port once here so that a permission problem fails loudly at start-up; a missing
        device is not an error (it may be plugged in later)."""
        try:
            self._ser = open_port(self.cfg.port, self.cfg.baud)
            self._connected()
        except PermissionDeniedError:
            raise
        except DeviceError as err:
            log.warning("%s; retrying", err)
        self._since = self.clock()
        self._thread = threading.Thread(target=self._run, name="heart-sensor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        self._close()

    def drain(self) -> list[HeartFeatures]:
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                return out

    @property
    def connected(self) -> bool:
        """True while valid data arrives (state "ok")."""
        return self.state == "ok"

    @property
    def last_error(self) -> str:
        return self._last_error

    def counters(self) -> dict:
        with self._lock:  # the reader thread changes all of these under the same lock
            return {"state": self.state, **self.stats, **{f"lines_{k}": v for k, v in self.parser.counts.items()},
                    "protocol": self.parser.protocol, "protocol_changes": self.parser.changes,
                    "beats": self.pipeline.n_beats}

    # -- thread ------------------------------------------------------------------------------------
    def _put(self, hf: HeartFeatures) -> None:
        while True:
            try:
                self.queue.put_nowait(hf)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                    self._count("dropped")
                except queue.Empty:
                    pass

    def _count(self, key: str) -> int:
        with self._lock:
            self.stats[key] += 1
            return self.stats[key]

    def _connected(self) -> None:
        self._count("connects")
        self._warn.reset("open")
        self._buf = b""
        self._discarding = False
        self._skip_partial = True  # joined mid-stream: the first line may be cut
        with self._lock:
            self.parser = LineParser(self.cfg)
            self.pipeline = HeartPipeline(self.cfg)
        log.info("heart sensor: port %s open", self.cfg.port)

    def _close(self) -> None:
        if self._ser is not None:
            with contextlib.suppress(Exception):  # closing a vanished device may fail in any way
                self._ser.close()
            self._ser = None

    def _run(self) -> None:
        import serial

        backoff = _BACKOFF_MIN
        while not self._stop.is_set():
            if self._ser is None:
                try:
                    self._ser = open_port(self.cfg.port, self.cfg.baud)
                    self._connected()
                    backoff = _BACKOFF_MIN
                except DeviceError as err:
                    self._last_error = str(err)
                    self._warn("open", logging.WARNING, "%s; retrying", err)
                    self._count("open_failures")
                    self._check_lost(self.clock())
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, _BACKOFF_MAX)
                    continue
            try:
                data = self._ser.read(max(1, self._ser.in_waiting))
            except (serial.SerialException, OSError, TypeError) as err:
                self._last_error = f"heart sensor port {self.cfg.port} lost: {err}"
                log.warning("%s", self._last_error)
                self._count("disconnects")
                self._close()
                self._check_lost(self.clock())
                continue
            now = self.clock()
            if data:
                self._lines(data, now)
            self._check_lost(now)
            if data and len(data) < _BATCH_BYTES:
                self._stop.wait(_BATCH_S)  # let lines gather: one wake-up per batch, not per line

    def _lines(self, data: bytes, now: float) -> None:
        with self._lock:  # counters() reads the stats, the parser's counts and the pipeline
            self._lines_locked(data, now)

    def _lines_locked(self, data: bytes, now: float) -> None:
        self.stats["bytes"] += len(data)
        *lines, rest = (self._buf + data).split(b"\n")
        if self._discarding:  # inside an oversized line (already counted): drop up to its newline
            if lines:
                lines, self._discarding = lines[1:], False
            else:
                rest = b""
        if len(rest) > MAX_LINE:
            self.parser.invalid("too_long", rest[:40])
            rest, self._discarding = b"", True
        self._buf = rest
        for line in lines:
            if self._skip_partial:
                self._skip_partial = False
                if line:
                    self.parser.invalid("partial", line)
                continue
            if len(line) > MAX_LINE:
                self.parser.invalid("too_long", line[:40])
                continue
            changes = self.parser.changes
            samples = self.parser.parse(line.rstrip(b"\r"), now)
            if self.parser.changes != changes:  # `auto` was wrong: features from the wrong reading go
                self.pipeline = HeartPipeline(self.cfg)
            if samples:
                if self.on_samples:
                    self.on_samples(samples)
                self._last_valid = now
                if self.state != "ok":
                    self._last_error = ""
                    if self.state == "lost":
                        log.warning("heart sensor: data is back")
                    self.state = "ok"
                try:
                    feats = self.pipeline.feed(samples)
                except InputError as err:  # e.g. "raw" samples far too slow: start over, say why
                    self.stats["pipeline_errors"] += 1
                    self._warn("pipeline", logging.WARNING, "heart sensor: %s", err)
                    self.pipeline = HeartPipeline(self.cfg)
                    feats = []
                for hf in feats:
                    self._put(hf)

    def _check_lost(self, now: float) -> None:
        since = self._last_valid if self._last_valid is not None else self._since
        if now - since < self.cfg.lost_after_s:
            return
        if self.state != "lost":
            self.state = "lost"
            self._count("lost")
            self._last_error = self._last_error or f"no valid data from {self.cfg.port}"
            log.warning("heart sensor: no valid data for %.1f s: sensor lost", now - since)
            self._last_lost_emit = -float("inf")
        if now - self._last_lost_emit >= self.cfg.update_s:
            self._last_lost_emit = now
            self._put(HeartFeatures(t=now, sensor_ok=False))
