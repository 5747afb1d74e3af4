"""Heart recordings through the same physio code as a live run, for `driverwatch replay --heart FILE`.

`heart_features(args, cfg)` yields time-ordered `HeartFeatures` (deterministic) and writes
`--heart-out` (one JSON object per feature record, with the stress level) and `--beats-out` (beat
times in seconds, one per line) as it goes; `close_outputs(args)` closes them. `replay_heart(args)`
is the whole heart-only replay.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from driverwatch.config import Config, load_config
from driverwatch.errors import InputError
from driverwatch.monitor.events import EventIds
from driverwatch.monitor.stress import StressMonitor
from driverwatch.physio.pipeline import HeartPipeline
from driverwatch.physio.protocols import LineParser
from driverwatch.physio.recording import load_recording
from driverwatch.samples import HeartFeatures

_CHUNK_S = 1.0
_UNITS = {"ms": 1e-3, "us": 1e-6, "s": 1.0}


def add_heart_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("heart recording")
    g.add_argument("--heart", metavar="FILE", help="heart recording: serial log, CSV of raw samples or WFDB record")
    g.add_argument("--heart-rate", type=float, metavar="HZ", help="sample rate of a CSV without a time column")
    g.add_argument("--heart-channel", metavar="NAME", help="WFDB channel (e.g. ECG, MLII; default the first)")
    g.add_argument("--heart-protocol", choices=("auto", "bpm", "rr", "raw", "json"),
                   help="protocol of a serial log (default: heart.protocol from the config)")
    g.add_argument("--heart-signal", choices=("ecg", "ppg"),
                   help="kind of raw signal (default: ECG for ECG channels of WFDB records, else heart.signal)")
    g.add_argument("--heart-out", metavar="FILE.jsonl", help="write heart features with the stress level")
    g.add_argument("--beats-out", metavar="FILE.txt", help="write detected beat times (s), one per line")


class _Outputs:
    def __init__(self, heart_out: str | None, beats_out: str | None):
        self.heart = open(heart_out, "w", encoding="utf-8") if heart_out else None  # noqa: SIM115
        self.beats = open(beats_out, "w", encoding="utf-8") if beats_out else None  # noqa: SIM115

    def close(self) -> None:
        for f in (self.heart, self.beats):
            if f:
                f.close()


_open: dict[int, _Outputs] = {}


def close_outputs(args: argparse.Namespace) -> None:
    out = _open.pop(id(args), None)
    if out:
        out.close()


def _samples(rec, cfg) -> Iterator[tuple[str, list]]:
    """("raw", (t, v)) chunks or ("lines", samples) from the parser, in time order."""
    if rec.is_raw:
        n = max(1, round(_CHUNK_S * rec.t.size / max(rec.duration, 1e-9)))
        for i in range(0, rec.t.size, n):
            yield "raw", (rec.t[i:i + n], rec.v[i:i + n])
        return
    parser = LineParser(cfg)
    for t, line in rec.lines:
        yield "lines", parser.parse(line, t)


def heart_features(args: argparse.Namespace, cfg: Config | None = None) -> Iterator[HeartFeatures]:
    cfg = cfg or load_config(getattr(args, "config", None))
    hcfg = cfg.heart
    if getattr(args, "heart_protocol", None):
        hcfg = hcfg.model_copy(update={"protocol": args.heart_protocol})
    path = Path(args.heart)
    if not path.exists() and not path.with_suffix(".hea").exists() and not Path(f"{path}.hea").exists():
        raise InputError(f"heart recording not found: {path}")
    rec = load_recording(path, rate=args.heart_rate, channel=args.heart_channel,
                         time_unit=_UNITS[hcfg.time_unit], protocol=hcfg.protocol)
    kind = getattr(args, "heart_signal", None) or rec.kind or hcfg.signal
    pipe = HeartPipeline(hcfg, kind=kind)
    stress = StressMonitor(hcfg, EventIds(getattr(args, "drive_id", "replay")))
    out = _Outputs(getattr(args, "heart_out", None), getattr(args, "beats_out", None))
    _open[id(args)] = out

    def emit(feats: list[HeartFeatures]) -> Iterator[HeartFeatures]:
        if out.beats and pipe.new_beats:
            out.beats.write("".join(f"{b:.4f}\n" for b in pipe.new_beats))
        pipe.new_beats.clear()
        for hf in feats:
            stress.update(hf)
            if out.heart:
                row = hf.to_json()
                row["stress"] = stress.level
                row["stress_score"] = stress.snapshot()["score"]
                out.heart.write(json.dumps(row) + "\n")
            yield hf

    for what, item in _samples(rec, hcfg):
        feats = pipe.add_raw(*item) if what == "raw" else pipe.feed(item)
        yield from emit(feats)
    yield from emit(pipe.finish())
    if pipe.n_beats == 0 and rec.is_raw:
        raise InputError(f"no heart beats found in {rec.source} (wrong --heart-channel or --heart-signal?)")


def replay_heart(args: argparse.Namespace) -> int:
    """Heart-only replay: features (and outputs) for the whole file, a one-line summary on stdout."""
    cfg = load_config(getattr(args, "config", None))
    hrs, n = [], 0
    try:
        for hf in heart_features(args, cfg):
            n += 1
            if hf.hr is not None:
                hrs.append(hf.hr)
    finally:
        close_outputs(args)
    med = f"{float(np.median(hrs)):.1f} bpm" if hrs else "unknown"
    print(f"{n} heart feature records, median heart rate {med}")
    return 0
