"""Telemetry payloads: what may leave the vehicle, as compact JSON.

Only allow-listed keys with scalar values are sent: no images, no raw biometric signals
(see `event_payload`, `state_payload`, `stats_payload`).
"""

from __future__ import annotations

import json
import math

from driverwatch.monitor.events import EVENT_SCHEMA
from driverwatch.monitor.remedies import AFFECTIVE_KINDS

TELEMETRY_SCHEMA = 1

# What may leave the vehicle. Values must be scalars (numbers, booleans, null, short strings) or
# short lists of them (e.g. the drowsy event's `reasons`); only the keys named as nested may hold an
# object (or, for `active`, a short list of objects) of such scalars. Anything else is dropped with
# its key, and DENIED_KEYS (images, raw signals) are dropped whatever their value.
# `driver` in events and state: the id of the driver at the wheel (profiles.driver / `set/driver`),
# only while one is selected; in stats `driver` is the object of the driver figures.
EVENT_KEYS = frozenset({"schema", "id", "seq", "type", "kind", "severity", "t", "t_start", "t_end",
                        "evidence", "snoozed", "time", "driver"})
STATE_KEYS = frozenset({"schema", "t", "time", "calibration", "face_present", "eyes_observable", "eyes",
                        "attention", "drowsiness", "perclos", "blink_rate_per_min", "stress",
                        "speed_kmh", "snoozed", "snooze_s", "active", "degraded", "counts", "heart_sensor",
                        "hr_bpm", "rmssd_ms", "state_seq", "driver"})
STATS_KEYS = frozenset({"t", "time", "uptime_s", "fps", "frames", "dropped_frames", "bad_frames", "event_log_error", "camera_connected",
                        "camera_reconnects", "heart", "chime", "latency_ms_p50", "monitor_ms_per_frame",
                        "cpu_temp_c", "load", "version", "web", "driver", "state_seq"})
# Never sent, at any depth, whatever their value: images and raw biometric signals.
DENIED_KEYS = frozenset({"image", "images", "frame", "frames_raw", "jpeg", "png", "thumbnail", "pixels",
                         "crop", "face_crop", "landmarks", "rr", "rr_ms", "rr_intervals", "ibi", "ecg", "ppg",
                         "raw", "raw_signal", "signal", "samples", "waveform", "beats"})
# Heart-rate figures under these names: allowed as evidence of a stress event, not in state / stats
# (which carry the latest hr_bpm and rmssd_ms: figures, never the beats or the signal).
BIOMETRIC_KEYS = frozenset({"hr", "rmssd", "sdnn", "pnn50", "lf_hf", "baseline", "score"})
# Affective estimates (stress, frustration-like facial activity, mind-wandering): only with
# privacy.affective_telemetry; otherwise events of these kinds are not sent and these keys are dropped at
# any depth of every payload (they stay in the local log and the chimes).
# The heart figures the arousal estimate is made from (health data) go with them.
AFFECTIVE_KEYS = frozenset({"stress", "affect", "frustration_like", "mind_wandering", "calm_suggestion",
                            "stress_score", "hr_bpm", "rmssd_ms"})
MAX_STR = 200
MAX_LIST = 8
MAX_OBJECTS = 16


def _scalar(v):
    """The value if it may be sent, else a sentinel."""
    if v is None or isinstance(v, bool | int | str) and (not isinstance(v, str) or len(v) <= MAX_STR):
        return v
    if isinstance(v, float):
        return round(v, 5) if math.isfinite(v) else None
    if isinstance(v, list | tuple) and len(v) <= MAX_LIST and all(
            isinstance(x, int | float | str) and not isinstance(x, bool) for x in v):
        items = [_scalar(x) for x in v]
        return _DROP if any(x is _DROP for x in items) else items
    return _DROP


_DROP = object()


def _clean(d: dict, allowed: frozenset | None, nested: frozenset = frozenset(),
           deny: frozenset = DENIED_KEYS) -> tuple[dict, list[str]]:
    out, dropped = {}, []
    for k, v in d.items():
        if not isinstance(k, str) or k.lower() in deny or (allowed is not None and k not in allowed):
            dropped.append(str(k))
            continue
        if k in nested and isinstance(v, dict):
            v, sub = _clean(v, None, deny=deny)
            dropped += [f"{k}.{s}" for s in sub]
        elif k in nested and isinstance(v, list) and len(v) <= MAX_OBJECTS and all(isinstance(x, dict) for x in v):
            items = [_clean(x, None, deny=deny) for x in v]
            v = [x for x, _ in items]
            dropped += sorted({f"{k}[].{s}" for _, sub in items for s in sub})
        else:
            v = _scalar(v)
            if v is _DROP:
                dropped.append(k)
                continue
        out[k] = v
    return out, dropped


def event_payload(event: dict, affective: bool = True) -> tuple[dict | None, list[str]]:
    """(payload, dropped keys): the allow-listed part of an Event.to_json() dict; (None, ...) for an
    affective event when `affective` (privacy.affective_telemetry) is off."""
    if not affective and event.get("kind") in AFFECTIVE_KINDS:
        return None, []
    deny = DENIED_KEYS if affective else DENIED_KEYS | AFFECTIVE_KEYS
    out, dropped = _clean(event, EVENT_KEYS, nested=frozenset({"evidence"}), deny=deny)
    out["schema"] = event.get("schema", EVENT_SCHEMA)
    return out, dropped


def state_payload(snapshot: dict, affective: bool = True) -> tuple[dict, list[str]]:
    out, dropped = _clean(snapshot, STATE_KEYS, nested=frozenset({"calibration", "counts", "active"}),
                          deny=DENIED_KEYS | BIOMETRIC_KEYS | (frozenset() if affective else AFFECTIVE_KEYS))
    return {"schema": TELEMETRY_SCHEMA, **out}, dropped


# `state` is published when one of these driver-facing fields changes. The figures that move all the
# time (PERCLOS, blink rate, heart rate, RMSSD, speed, counts, calibration progress, and `eyes`, which
# a blink flips) ride along but publish nothing by themselves: the `stats` heartbeat carries them
# (`driver`) with `state_seq`, so a receiver knows the retained state still holds. Publishing every
# snapshot that differed was one state a second, ~40 MB a day per vehicle.
STATE_CHANGE_KEYS = ("face_present", "eyes_observable", "attention", "drowsiness", "stress", "heart_sensor",
                     "snoozed", "active", "degraded", "driver")


def state_change_key(payload: dict) -> tuple:
    """What must differ for a new `state` message."""
    cal = payload.get("calibration") or {}
    return (*(payload.get(k) for k in STATE_CHANGE_KEYS), cal.get("status"), cal.get("heart"))


def stats_payload(stats: dict, affective: bool = True) -> tuple[dict, list[str]]:
    out, dropped = _clean(stats, STATS_KEYS, nested=frozenset({"heart", "chime", "web", "driver"}),
                          deny=DENIED_KEYS | BIOMETRIC_KEYS | (frozenset() if affective else AFFECTIVE_KEYS))
    return {"schema": TELEMETRY_SCHEMA, **out}, dropped


def dumps(d: dict) -> bytes:
    return json.dumps(d, separators=(",", ":"), allow_nan=False).encode()

