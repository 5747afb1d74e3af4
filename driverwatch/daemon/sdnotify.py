"""A tiny sd_notify(3) client: datagrams to $NOTIFY_SOCKET (path or abstract "@name").

Without $NOTIFY_SOCKET (not under systemd, or Type= is not notify) every call is a no-op that
returns False. `watchdog()` may be called every frame: it only sends when half the watchdog
interval ($WATCHDOG_USEC) has passed since the last ping.
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, env: dict | None = None, clock=time.monotonic):
        env = os.environ if env is None else env
        self._clock = clock
        addr = env.get("NOTIFY_SOCKET") or None
        if addr and addr.startswith("@"):
            addr = "\0" + addr[1:]  # Linux abstract namespace
        self._addr = addr
        self._sock: socket.socket | None = None
        self._interval = _watchdog_interval(env)
        self._last_ping: float | None = None

    @property
    def enabled(self) -> bool:
        return self._addr is not None

    def notify(self, *assignments: str) -> bool:
        """Send "KEY=value" lines as one datagram; False when there is nowhere to send or it failed."""
        if self._addr is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(assignments).encode(), self._addr)
            return True
        except OSError as err:
            log.debug("sd_notify to %r failed: %s", self._addr, err)
            return False

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify("STATUS=" + text.replace("\n", " "))

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match the reload; older ones ignore it
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def watchdog_interval(self) -> float | None:
        """Seconds systemd waits for a ping before restarting us, or None when no watchdog is set."""
        return self._interval

    def watchdog(self, force: bool = False) -> bool:
        """Ping the watchdog, at most once per half interval unless `force`. True when sent."""
        if self._interval is None or self._addr is None:
            return False
        now = self._clock()
        if not force and self._last_ping is not None and now - self._last_ping < self._interval / 2:
            return False
        self._last_ping = now
        return self.notify("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _watchdog_interval(env) -> float | None:
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None  # no watchdog, or it is meant for another process
    return usec / 1e6
