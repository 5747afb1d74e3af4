"""A small reader for PhysioNet WFDB records (formats 212 and 16, incl. multi-frequency "16x32" layouts).

The `wfdb` package pulls in pandas and matplotlib, too heavy for a Pi; this reads the header and the
one .dat file and returns each channel in physical units at its own rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from driverwatch.errors import InputError

_FMT = re.compile(r"^(\d+)(?:x(\d+))?(?::(-?\d+))?(?:\+(\d+))?$")
_GAIN = re.compile(r"^([-+0-9.eE]+)?(?:\((-?\d+)\))?(?:/(\S+))?$")


@dataclass(slots=True)
class Channel:
    name: str
    fs: float  # samples per second of this channel
    units: str
    data: np.ndarray  # physical units (float); NaN where the sample was invalid


@dataclass(slots=True)
class Record:
    name: str
    frame_fs: float
    n_frames: int
    channels: list[Channel] = field(default_factory=list)

    def channel(self, name: str | None) -> Channel:
        if name is None:
            return self.channels[0]
        for ch in self.channels:
            if ch.name.lower() == name.lower():
                return ch
        raise InputError(f"WFDB record {self.name} has no channel {name!r} "
                         f"(has: {', '.join(c.name for c in self.channels)})")


def _record_base(path: str | Path) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".hea", ".dat", ".atr") else p


def read_header(path: str | Path) -> tuple[str, float, int, list[dict]]:
    base = _record_base(path)
    hea = base.parent / (base.name + ".hea")
    try:
        lines = [ln.strip() for ln in hea.read_text(encoding="ascii", errors="replace").splitlines()]
    except OSError as err:
        raise InputError(f"cannot read WFDB header {hea}: {err.strerror or err}") from None
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise InputError(f"WFDB header {hea} is empty")
    rec = lines[0].split()
    try:
        name, nsig = rec[0], int(rec[1])
        frame_fs = float(rec[2].split("/")[0].split("(")[0]) if len(rec) > 2 else 250.0
        n_frames = int(rec[3]) if len(rec) > 3 else -1
    except (IndexError, ValueError):
        raise InputError(f"WFDB header {hea}: bad record line {lines[0]!r}") from None
    sigs = []
    for ln in lines[1:1 + nsig]:
        f = ln.split(maxsplit=8)
        m = _FMT.match(f[1]) if len(f) > 1 else None
        if not m:
            raise InputError(f"WFDB header {hea}: bad signal line {ln!r}")
        fmt, spf, skew, offset = int(m[1]), int(m[2] or 1), int(m[3] or 0), int(m[4] or 0)
        if fmt not in (16, 212):
            raise InputError(f"WFDB header {hea}: format {fmt} not supported (only 16 and 212)")
        if skew or offset:
            raise InputError(f"WFDB header {hea}: skew/byte offset not supported")
        g = _GAIN.match(f[2]) if len(f) > 2 else None
        gain = float(g[1]) if g and g[1] else 0.0
        adczero = int(f[4]) if len(f) > 4 else 0
        baseline = int(g[2]) if g and g[2] is not None else adczero
        sigs.append({
            "file": f[0], "fmt": fmt, "spf": spf, "gain": gain or 200.0, "baseline": baseline,
            "units": (g[3] if g and g[3] else "mV"), "name": f[8].strip() if len(f) > 8 else f"sig{len(sigs)}",
        })
    if len(sigs) != nsig:
        raise InputError(f"WFDB header {hea}: {nsig} signals announced, {len(sigs)} described")
    if len({s["file"] for s in sigs}) != 1 or len({s["fmt"] for s in sigs}) != 1:
        raise InputError(f"WFDB header {hea}: only one .dat file with one format is supported")
    return name, frame_fs, n_frames, sigs


def _decode_212(raw: bytes) -> np.ndarray:
    b = np.frombuffer(raw[: len(raw) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int16)
    out = np.empty(b.shape[0] * 2, dtype=np.int16)
    out[0::2] = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
    out[1::2] = b[:, 2] | ((b[:, 1] & 0xF0) << 4)
    out[out > 2047] -= 4096
    return out


def read_record(path: str | Path) -> Record:
    """Read a record given its base path (with or without .hea/.dat)."""
    base = _record_base(path)
    name, frame_fs, n_frames, sigs = read_header(base)
    dat = base.parent / sigs[0]["file"]
    try:
        raw = dat.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read WFDB data {dat}: {err.strerror or err}") from None
    samples = _decode_212(raw) if sigs[0]["fmt"] == 212 else np.frombuffer(raw[: len(raw) // 2 * 2], "<i2")
    per_frame = sum(s["spf"] for s in sigs)
    avail = samples.size // per_frame
    if n_frames < 0:
        n_frames = avail
    elif avail < n_frames:
        raise InputError(f"WFDB data {dat} is truncated: {avail} of {n_frames} frames")
    frames = samples[: n_frames * per_frame].reshape(n_frames, per_frame)
    rec = Record(name, frame_fs, n_frames)
    col = 0
    invalid = -32768 if sigs[0]["fmt"] == 16 else -2048
    for s in sigs:
        d = frames[:, col:col + s["spf"]].reshape(-1)
        col += s["spf"]
        phys = (d.astype(float) - s["baseline"]) / s["gain"]
        phys[d == invalid] = np.nan
        rec.channels.append(Channel(s["name"], frame_fs * s["spf"], s["units"], phys))
    return rec
