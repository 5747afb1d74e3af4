"""Vehicle speed from the car's OBD-II port through an ELM327 adapter (python-OBD): a thread that polls
PID 0x0D and keeps the newest reading.

The adapter is a serial device: USB (/dev/serial/by-id/...) or Bluetooth bound with `rfcomm bind`
(/dev/rfcomm0). Each reading is stamped with the monotonic clock when it arrives; the monitor takes a
reading older than a few seconds as unknown, so a lost adapter or a car that stops answering never reads
as 0 km/h. A lost adapter is reconnected with a backoff.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from driverwatch.samples import SpeedSample

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
_MAX_NULLS = 5  # unanswered speed queries in a row: the adapter or the car is gone, connect again


class ObdSpeed:
    def __init__(self, port: str, baud: int | None = 38400, interval_s: float = 0.5, clock=time.monotonic):
        import importlib.util

        if importlib.util.find_spec("obd") is None:
            from driverwatch.errors import ConfigError

            raise ConfigError("speed.source = 'obd' needs python-OBD: pip install 'driverwatch[obd]'")
        self.port, self.baud, self.interval_s, self.clock = port, baud, interval_s, clock
        self._latest: SpeedSample | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conn = None
        self._thread = threading.Thread(target=self._run, name="obd", daemon=True)
        self.readings = 0
        self.connects = 0
        self.connected = False
        self.last_error = ""

    def start(self) -> ObdSpeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._close()

    def take(self) -> SpeedSample | None:
        """The newest reading not yet taken."""
        with self._lock:
            s, self._latest = self._latest, None
            return s

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        self.connected = False
        if conn is not None:
            with contextlib.suppress(Exception):  # a vanished adapter may fail in any way
                conn.close()

    def _connect(self) -> bool:
        import obd

        conn = obd.OBD(self.port, baudrate=self.baud, fast=False, timeout=1.0)
        if conn.status() != obd.OBDStatus.CAR_CONNECTED:
            self.last_error = f"OBD adapter {self.port}: {conn.status()}"
            with contextlib.suppress(Exception):
                conn.close()
            return False
        self._conn, self.connected, self.last_error = conn, True, ""
        self.connects += 1
        log.info("OBD: connected to %s (%s)", self.port, conn.protocol_name())
        return True

    def _run(self) -> None:
        import obd

        attempt = 0
        while not self._stop.is_set():
            if self._conn is None:
                try:
                    ok = self._connect()
                except Exception as err:  # noqa: BLE001 (python-OBD raises anything from the serial layer)
                    ok, self.last_error = False, f"OBD adapter {self.port}: {err}"
                if not ok:
                    if attempt == 0:
                        log.warning("%s; speed unknown, retrying", self.last_error)
                    self._stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                    attempt += 1
                    continue
                attempt, nulls = 0, 0
            t0 = self.clock()
            try:
                r = self._conn.query(obd.commands.SPEED, force=True)
            except Exception as err:  # noqa: BLE001
                r, self.last_error = None, str(err)
            if r is None or r.is_null() or self._conn.status() == obd.OBDStatus.NOT_CONNECTED:
                nulls += 1
                if nulls >= _MAX_NULLS or self._conn.status() == obd.OBDStatus.NOT_CONNECTED:
                    log.warning("OBD: no speed from %s; speed unknown, reconnecting", self.port)
                    self.last_error = self.last_error or f"no speed from {self.port}"
                    self._close()
                    continue
            else:
                nulls = 0
                kmh = float(r.value.to("km/h").magnitude)
                if 0 <= kmh <= 255:  # PID 0x0D is one byte of km/h
                    with self._lock:
                        self._latest = SpeedSample(self.clock(), kmh)
                        self.readings += 1
            self._stop.wait(max(0.0, self.interval_s - (self.clock() - t0)))
