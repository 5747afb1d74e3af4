"""The remote command surface: `<prefix>set/<command>` with a small JSON payload.

Only the commands below exist. Anything else (unknown name, malformed JSON, unknown keys, values out
of range, retained messages that would replay at every reconnect) is rejected with a one-line reason
and never executed. A snooze mutes notice-level chimes only (the monitor caps it at
`monitor.alerts.snooze_max_s`; the events are still logged and sent, marked `snoozed`); warning and
critical alerts cannot be muted remotely (there is no setting for it: the command has no severity key).

Validated commands are plain dicts handed to the daemon, e.g.
  {"command": "snooze", "minutes": 15.0, "seconds": 900.0, "id": "abc"}
  {"command": "recalibrate", "id": null}
  {"command": "driver", "driver": "anna", "id": null}   (null: no driver profile)
The MQTT sink answers a rejected one at once on `<prefix>command_result`; an accepted one is
answered by the daemon once applied, with what was applied (a snooze: `applied.minutes`, capped).
"""

from __future__ import annotations

import json
import math

MAX_PAYLOAD = 1024  # bytes


class CommandError(ValueError):
    """A rejected command; the message says why, in one line."""


def _payload(raw: bytes | str) -> dict:
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_PAYLOAD:
        raise CommandError(f"payload too large ({len(raw)} bytes > {MAX_PAYLOAD})")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CommandError(f"payload is not valid JSON: {err}") from None
    if isinstance(data, bool) or not isinstance(data, dict | int | float):
        raise CommandError("payload must be a JSON object")
    return data if isinstance(data, dict) else {"minutes": data}


def _check_keys(data: dict, allowed: set[str]) -> None:
    extra = sorted(set(data) - allowed - {"id"})
    if extra:
        raise CommandError(f"unknown key(s) {', '.join(map(repr, extra))}; allowed: {', '.join(sorted(allowed | {'id'}))}")
    cid = data.get("id")
    if cid is not None and (not isinstance(cid, str) or len(cid) > 64):
        raise CommandError("'id' must be a string of at most 64 characters")


def _snooze(data: dict) -> dict:
    _check_keys(data, {"minutes"})
    minutes = data.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not math.isfinite(minutes):
        raise CommandError("'minutes' must be a number")
    if minutes < 0:
        raise CommandError("'minutes' must be >= 0 (0 cancels a snooze; longer than the configured maximum is capped)")
    return {"command": "snooze", "minutes": float(minutes), "seconds": float(minutes) * 60, "id": data.get("id")}


def _recalibrate(data: dict) -> dict:
    _check_keys(data, set())
    return {"command": "recalibrate", "id": data.get("id")}


def _driver(data: dict) -> dict:
    """Another driver at the wheel: their profile (resting heart, neutral face, eye levels) is used."""
    from driverwatch.config.profiles import DRIVER_ID

    _check_keys(data, {"driver"})
    driver = data.get("driver")
    if driver is not None and (not isinstance(driver, str) or not DRIVER_ID.match(driver)):
        raise CommandError("'driver' must be null or 1-64 letters, digits, '.', '_' or '-'")
    return {"command": "driver", "driver": driver, "id": data.get("id")}


COMMANDS = {"snooze": _snooze, "recalibrate": _recalibrate, "driver": _driver}


def parse_command(name: str, payload: bytes | str, retained: bool = False) -> dict:
    """Validate one command (`name` is the topic part after `set/`). Raises CommandError."""
    if retained:
        raise CommandError("retained commands are refused (they would run again at every reconnect)")
    handler = COMMANDS.get(name)
    if handler is None:
        raise CommandError(f"unknown command {name!r}; known: {', '.join(COMMANDS)}")
    return handler(_payload(payload))
