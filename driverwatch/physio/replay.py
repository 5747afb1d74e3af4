"""Heart recordings through the same physio code as a live run, for `driverwatch replay --heart FILE`.

`HeartReplay(args, cfg).features()` yields time-ordered `HeartFeatures` (deterministic) and writes
`--heart-out` (one JSON object per feature record, with the stress level) and `--beats-out` (beat
times in seconds, one per line) as it goes. `heart_features(args, cfg)` is the same as a generator
that closes the outputs when it ends; `replay_heart(args)` is the whole heart-only replay.
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
from driverwatch.physio.protocols import TIME_UNIT_S, LineParser
from driverwatch.physio.recording import load_recording
from driverwatch.samples import HeartFeatures

_CHUNK_S = 1.0


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


class HeartReplay:
    """One heart recording through the live pipeline. `features()` yields the `HeartFeatures` and
    writes `--heart-out` / `--beats-out` as it goes; `close()` (or the `with` block) closes them."""

    def __init__(self, args: argparse.Namespace, cfg: Config | None = None):
        cfg = cfg or load_config(getattr(args, "config", None))
        hcfg = cfg.heart
        if getattr(args, "heart_protocol", None):
            hcfg = hcfg.model_copy(update={"protocol": args.heart_protocol})
        path = Path(args.heart)
        if not path.exists() and not path.with_suffix(".hea").exists() and not Path(f"{path}.hea").exists():
            raise InputError(f"heart recording not found: {path}")
        self.cfg = hcfg
        self.rec = load_recording(path, rate=args.heart_rate, channel=args.heart_channel,
                                  time_unit=TIME_UNIT_S[hcfg.time_unit], protocol=hcfg.protocol)
        kind = getattr(args, "heart_signal", None) or self.rec.kind or hcfg.signal
        self.pipeline = HeartPipeline(hcfg, kind=kind)
        heart_out, beats_out = getattr(args, "heart_out", None), getattr(args, "beats_out", None)
        # The stress level in --heart-out rows: the same StressMonitor the daemon's Monitor runs.
        self.stress = StressMonitor(cfg.monitor.stress, EventIds(getattr(args, "drive_id", "replay"))) if heart_out else None
        self._heart = open(heart_out, "w", encoding="utf-8") if heart_out else None  # noqa: SIM115
        self._beats = open(beats_out, "w", encoding="utf-8") if beats_out else None  # noqa: SIM115

    def __enter__(self) -> HeartReplay:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for f in (self._heart, self._beats):
            if f:
                f.close()
        self._heart = self._beats = None

    def features(self) -> Iterator[HeartFeatures]:
        pipe = self.pipeline
        for what, item in _samples(self.rec, self.cfg):
            yield from self._emit(pipe.add_raw(*item) if what == "raw" else pipe.feed(item))
        yield from self._emit(pipe.finish())
        if pipe.n_beats == 0 and self.rec.is_raw:
            raise InputError(f"no heart beats found in {self.rec.source} "
                             f"(wrong --heart-channel or --heart-signal?)")

    def _emit(self, feats: list[HeartFeatures]) -> Iterator[HeartFeatures]:
        beats = self.pipeline.new_beats
        if self._beats and beats:
            self._beats.write("".join(f"{b:.4f}\n" for b in beats))
        beats.clear()
        for hf in feats:
            if self.stress is not None and self._heart:
                self.stress.update(hf)
                row = hf.to_json()
                row["stress"] = self.stress.level
                row["stress_score"] = self.stress.snapshot()["score"]
                self._heart.write(json.dumps(row) + "\n")
            yield hf


def heart_features(args: argparse.Namespace, cfg: Config | None = None) -> Iterator[HeartFeatures]:
    """`HeartReplay(args, cfg).features()`; the outputs close when the iteration ends (or
    `close_outputs(args)` is called, for a caller that stops early)."""
    replay = HeartReplay(args, cfg)
    args._heart_replay = replay
    with replay:
        yield from replay.features()


def close_outputs(args: argparse.Namespace) -> None:
    replay = getattr(args, "_heart_replay", None)
    if replay is not None:
        replay.close()


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
