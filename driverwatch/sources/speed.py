"""Vehicle speed from gpsd (its JSON protocol over TCP): a thread that keeps the newest speed.

gpsd reports TPV objects; `speed` is metres per second and is only meaningful with a 2D/3D fix
(`mode` >= 2). Each reading is stamped with the monotonic clock when it arrives; the monitor treats
a reading older than a few seconds as unknown, so a lost fix or a dead gpsd never reads as 0 km/h.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time

from driverwatch.samples import SpeedSample

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0, 5.0)


class GpsdSpeed:
    def __init__(self, host: str, port: int, clock=time.monotonic):
        self.host, self.port, self.clock = host, port, clock
        self._latest: SpeedSample | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="gpsd", daemon=True)
        self.readings = 0
        self.connected = False

    def start(self) -> GpsdSpeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sock:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=2)

    def take(self) -> SpeedSample | None:
        """The newest reading not yet taken."""
        with self._lock:
            s, self._latest = self._latest, None
            return s

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                with socket.create_connection((self.host, self.port), timeout=5) as sock:
                    self._sock = sock
                    sock.settimeout(None)
                    sock.sendall(b'?WATCH={"enable":true,"json":true};\n')
                    self.connected, attempt = True, 0
                    log.info("gpsd: connected to %s:%d", self.host, self.port)
                    for line in sock.makefile("rb"):
                        self._line(line)
            except OSError as err:
                if not self._stop.is_set() and attempt == 0:
                    log.warning("gpsd %s:%d: %s; speed unknown, retrying", self.host, self.port, err)
            self.connected = False
            delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            attempt += 1
            self._stop.wait(delay)

    def _line(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
        except ValueError:
            return  # gpsd speaks JSON; anything else is noise
        if not isinstance(msg, dict) or msg.get("class") != "TPV":
            return
        speed = msg.get("speed")
        if msg.get("mode", 0) < 2 or not isinstance(speed, int | float) or not 0 <= speed < 120:
            return  # no fix, or not a road speed (m/s)
        with self._lock:
            self._latest = SpeedSample(self.clock(), float(speed) * 3.6)
            self.readings += 1
