"""Local event log: every event as one JSON line, rotated by size (events.jsonl, .1, .2 ...).

Built on the standard library's RotatingFileHandler (thread-safe, flushes each line). A write that
fails (disk full, read-only file system) is logged once a minute and skipped, and a log directory
that cannot be opened is logged once (`EventLog.error`): it never raises into the monitor loop.
"""

from __future__ import annotations

import itertools
import json
import logging
import logging.handlers
from pathlib import Path

from driverwatch.clock import utc_now_iso
from driverwatch.monitor.events import Event
from driverwatch.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)
_ids = itertools.count()


class _Handler(logging.handlers.RotatingFileHandler):
    def __init__(self, *args, warn: RateLimitedLog, **kw):
        super().__init__(*args, **kw)
        self._warn = warn

    def handleError(self, record):  # noqa: N802 (logging API)
        import sys

        err = sys.exc_info()[1]
        self._warn("write", logging.ERROR, "event log %s: cannot write: %s; event skipped, continuing",
                   self.baseFilename, err)


class EventLog:
    def __init__(self, dir: str | Path, max_bytes: int = 5_000_000, backups: int = 5,
                 filename: str = "events.jsonl"):
        self.path = Path(dir) / filename
        self.error: str | None = None  # why events are not being written, for health reports
        self._handler = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handler = _Handler(self.path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8",
                               warn=RateLimitedLog(log))
        except OSError as err:
            # Chimes and MQTT must not stop for want of a log file: say so once and carry on.
            self.error = f"event log {self.path}: cannot open: {err.strerror or err}"
            log.error("%s; events are not logged locally (MQTT, if configured, still gets them)", self.error)
            return
        handler.setFormatter(logging.Formatter("%(message)s"))
        # A private logger, not attached to the root: events never mix with diagnostics.
        self._logger = logging.Logger(f"driverwatch.eventlog.{next(_ids)}")
        self._logger.propagate = False
        self._logger.addHandler(handler)
        self._handler = handler

    def write(self, event: dict) -> None:
        if self._handler is None:
            return
        if "time" not in event:
            event = {**event, "time": utc_now_iso()}
        try:
            line = json.dumps(event, separators=(",", ":"), allow_nan=False, default=str)
        except ValueError:  # NaN / inf in evidence: JSON has no such numbers
            line = json.dumps(_finite(event), separators=(",", ":"), default=str)
        self._logger.info(line)

    def handle(self, event: Event) -> None:
        self.write(event.record())

    def health(self) -> dict:
        return {"ok": self.error is None, "path": str(self.path), "last_error": self.error}

    def close(self) -> None:
        if self._handler is None:
            return
        self._logger.removeHandler(self._handler)
        self._handler.close()


def _finite(v):
    if isinstance(v, float):
        return v if v == v and abs(v) != float("inf") else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v
