"""A progress bar on stderr when it is a terminal; silent otherwise (logs, CI, systemd)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int | None, label: str = "", enabled: bool | None = None):
        self.total = total or None
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.n = 0
        self._last = 0.0
        self._t0 = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and (self.total is None or self.n < self.total):
            return
        self._last = now
        rate = self.n / max(now - self._t0, 1e-6)
        if self.total:
            frac = min(self.n / self.total, 1.0)
            bar = "#" * int(frac * 30)
            sys.stderr.write(f"\r{self.label} [{bar:<30}] {self.n}/{self.total} {rate:5.1f}/s")
        else:
            sys.stderr.write(f"\r{self.label} {self.n} {rate:5.1f}/s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
