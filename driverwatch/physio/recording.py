"""Heart recordings from files, for replay and the sensor simulator.

Accepted files:
  WFDB record (path.hea / path.dat / base path)   one channel (`channel`, default the first)
  CSV of raw samples: "value" per line (needs `rate`), or "time,value" with an optional header; the time
      column is seconds, milliseconds (a ms timer: steps >= 1) or ISO date-times
The kind of a raw signal ("ecg" / "ppg") comes from the channel's or value column's name (ecg_mv, MLII,
ppg, pleth, ...) and, when the name says nothing, from the waveform (`beats.guess_kind`).
  serial log: lines "<seconds><TAB><line as the sensor sent it>", any protocol
  JSON lines with "ts" (device time, config `time_unit`)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from driverwatch.errors import InputError, UsageError

_NUM = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_LOG = re.compile(r"^([-+]?\d+(?:\.\d*)?)\t(.*)$")
_ECG_NAMES = re.compile(r"ecg|ekg|mlii|^v\d|^i+$|^avr|^avl|^avf|lead", re.I)
_PPG_NAMES = re.compile(r"ppg|pleth|bvp|^pulse|^ir$|^red$", re.I)


def _kind(name: str | None, t: np.ndarray, v: np.ndarray) -> str | None:
    if name and _ECG_NAMES.search(name):
        return "ecg"
    if name and _PPG_NAMES.search(name):
        return "ppg"
    if t.size < 2 or t[-1] <= t[0]:
        return None
    from driverwatch.physio.beats import guess_kind

    return guess_kind(v, (t.size - 1) / (t[-1] - t[0]))


@dataclass(slots=True)
class Recording:
    source: str
    t: np.ndarray | None = None  # raw sample times (s)
    v: np.ndarray | None = None  # raw sample values
    kind: str | None = None  # "ecg" / "ppg" when the file says so
    lines: list[tuple[float, str]] = field(default_factory=list)  # serial log: (s, line)

    @property
    def is_raw(self) -> bool:
        return self.t is not None

    @property
    def duration(self) -> float:
        if self.is_raw:
            return float(self.t[-1] - self.t[0]) if self.t.size else 0.0
        return self.lines[-1][0] - self.lines[0][0] if self.lines else 0.0


def _is_wfdb(p: Path) -> Path | None:
    base = p.with_suffix("") if p.suffix in (".hea", ".dat") else p
    return base if (base.parent / (base.name + ".hea")).exists() else None


def load_recording(path: str | Path, rate: float | None = None, channel: str | None = None,
                   time_unit: float = 1e-3, protocol: str | None = None) -> Recording:
    p = Path(path)
    base = _is_wfdb(p)
    if base is not None:
        from driverwatch.physio.wfdb_io import read_record

        rec = read_record(base)
        ch = rec.channel(channel)
        v = np.nan_to_num(ch.data, nan=float(np.nanmedian(ch.data)))
        t = np.arange(v.size) / ch.fs
        return Recording(f"{p.name}:{ch.name}", t, v, _kind(ch.name, t, v))
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise InputError(f"cannot read heart recording {p}: {err.strerror or err}") from None
    rows = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not rows:
        raise InputError(f"heart recording {p} is empty")
    if _LOG.match(rows[0]):
        lines = [(float(m[1]), m[2]) for m in map(_LOG.match, rows) if m]
        # "seconds<TAB>number" is also a raw CSV: a log when the sensor protocol says so, or when the
        # lines come slower than any sampled heart signal (< 5 per second: one per beat or second)
        plain = all(_NUM.match(x.strip()) for _, x in lines[:20])
        slow = len(lines) > 1 and float(np.median(np.diff([t for t, _ in lines]))) > 0.2
        if not plain or protocol in ("bpm", "rr", "json") or (slow and protocol != "raw"):
            return Recording(p.name, lines=lines)
    if rows[0].startswith("{"):
        import json

        lines = []
        for ln in rows:
            try:
                ts = json.loads(ln).get("ts")
                lines.append((float(ts) * time_unit, ln))
            except (ValueError, TypeError, AttributeError):
                continue
        if not lines:
            raise InputError(f"heart recording {p}: JSON lines need a 'ts' time field")
        return Recording(p.name, lines=lines)
    return _load_csv(p, rows, rate)


def _load_csv(p: Path, rows: list[str], rate: float | None) -> Recording:
    sep = "," if "," in rows[-1] else ("\t" if "\t" in rows[-1] else (";" if ";" in rows[-1] else None))
    split = [r.split(sep) if sep else [r] for r in rows]
    name = None
    if not all(_NUM.match(x.strip()) for x in split[0][-1:]):
        name = split[0][-1].strip().strip('"')  # header: the value column's name
        split = split[1:]
    ncol = len(split[0]) if split else 0
    try:
        vals = np.array([float(r[-1]) for r in split if len(r) == ncol])
    except ValueError as err:
        raise InputError(f"heart recording {p}: not a CSV of numbers ({err})") from None
    if vals.size < 10:
        raise InputError(f"heart recording {p}: too few samples ({vals.size})")
    if ncol == 1:
        if not rate:
            raise UsageError(f"heart recording {p} has no time column: give its sample rate (--heart-rate HZ)")
        t = np.arange(vals.size) / rate
        return Recording(p.name, t, vals, _kind(name, t, vals))
    first = [r[0].strip() for r in split if len(r) == ncol]
    if _NUM.match(first[0]):
        t = np.array([float(x) for x in first])
        if np.median(np.diff(t)) >= 1.0:  # a millisecond timer (no heart signal is sampled below 1 Hz)
            t = t / 1000.0
    else:
        try:
            t = np.array([datetime.fromisoformat(x).timestamp() for x in first])
        except ValueError:
            raise InputError(f"heart recording {p}: first column is neither a number nor a date-time") from None
    if rate:  # a given rate wins over a jittery time column
        t = t[0] + np.arange(t.size) / rate
    t = t - t[0]
    return Recording(p.name, t, vals, _kind(name, t, vals))
