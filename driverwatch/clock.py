"""Wall-clock time for records: one UTC ISO-8601 format, and the mapping from monotonic time.

The Pi has no RTC, so NTP steps the wall clock after boot: `wall_time_of` maps a monotonic time
to the wall clock *now*, at each call, so every record follows the step.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_iso(epoch_s: float) -> str:
    """Epoch seconds as UTC ISO 8601 with milliseconds and a Z: 2024-05-01T12:00:00.123Z."""
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now_iso() -> str:
    return utc_iso(time.time())


def wall_time_of(t_mono: float) -> float:
    """The wall-clock epoch time of `t_mono` (a time.monotonic() value), by the wall clock now."""
    return time.time() - (time.monotonic() - t_mono)
