"""The heart part of the `driverwatch replay` command line: its options (`--heart FILE` ...), the
features of a recording for the replay's monitor, and the heart-only summary. The work itself is
physio/replay.py's `HeartReplay`."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import numpy as np

from driverwatch.config import Config, load_config
from driverwatch.physio.replay import HeartReplay
from driverwatch.samples import HeartFeatures


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


def open_replay(args: argparse.Namespace, cfg: Config | None = None) -> HeartReplay:
    """The HeartReplay the options ask for."""
    cfg = cfg or load_config(getattr(args, "config", None))
    return HeartReplay(args.heart, cfg, rate=getattr(args, "heart_rate", None),
                       channel=getattr(args, "heart_channel", None), protocol=getattr(args, "heart_protocol", None),
                       signal=getattr(args, "heart_signal", None), heart_out=getattr(args, "heart_out", None),
                       beats_out=getattr(args, "beats_out", None), drive_id=getattr(args, "drive_id", "replay"))


def heart_features(args: argparse.Namespace, cfg: Config | None = None) -> Iterator[HeartFeatures]:
    """`open_replay(args, cfg).features()`; the outputs close when the iteration ends (or
    `close_outputs(args)` is called, for a caller that stops early)."""
    replay = open_replay(args, cfg)
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
