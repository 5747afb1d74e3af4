"""Rate-limited logging: a recurring problem (an unplugged sensor, a full disk, a bad line every
few milliseconds) is logged once per interval per key, with the number of messages it suppressed."""

from __future__ import annotations

import logging
import threading
import time

_MAX_KEYS = 256  # distinct keys remembered; the oldest is forgotten beyond this


class RateLimitedLog:
    """Logs a message for a key at most once per `interval` seconds; counts what it suppressed."""

    def __init__(self, logger: logging.Logger, interval: float = 60.0):
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, level: int, msg: str, *args) -> bool:
        """Log unless `key` was logged less than `interval` ago; True if it was logged."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False
            self._last.pop(key, None)
            self._last[key] = now
            if len(self._last) > _MAX_KEYS:
                old = next(iter(self._last))
                self._last.pop(old)
                self._suppressed.pop(old, None)
            n = self._suppressed.pop(key, 0)
        if n:
            msg += f" ({n} similar messages suppressed)"
        self.logger.log(level, msg, *args)
        return True

    def reset(self, key: str) -> None:
        with self._lock:
            self._last.pop(key, None)
            self._suppressed.pop(key, None)
