"""Local event log: every event as one JSON line, rotated by size (events.jsonl, .1, .2 ...).

Built on the standard library's RotatingFileHandler (thread-safe, flushes each line). A write that
fails (disk full, read-only file system) is logged once a minute and skipped; it never raises into
the monitor loop.
"""

from __future__ import annotations

import itertools
import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path

from driverwatch.sinks.outbox import RateLimitedLog

log = logging.getLogger(__name__)
_ids = itertools.count()


def utc_now_iso() -> str:
    """UTC wall clock, ISO 8601 with milliseconds and a Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handler = _Handler(self.path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8",
                               warn=RateLimitedLog(log))
        except OSError as err:
            from driverwatch.errors import InputError

            raise InputError(f"event log {self.path}: cannot open: {err.strerror or err}") from None
        handler.setFormatter(logging.Formatter("%(message)s"))
        # A private logger, not attached to the root: events never mix with diagnostics.
        self._logger = logging.Logger(f"driverwatch.eventlog.{next(_ids)}")
        self._logger.propagate = False
        self._logger.addHandler(handler)
        self._handler = handler

    def write(self, event: dict) -> None:
        if "time" not in event:
            event = {**event, "time": utc_now_iso()}
        try:
            line = json.dumps(event, separators=(",", ":"), allow_nan=False, default=str)
        except ValueError:  # NaN / inf in evidence: JSON has no such numbers
            line = json.dumps(_finite(event), separators=(",", ":"), default=str)
        self._logger.info(line)

    def close(self) -> None:
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
