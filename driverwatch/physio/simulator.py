"""`driverwatch sensor-sim`: play a heart recording into a pseudo-terminal, like a USB serial sensor.

The first line of stdout is the device path to configure as heart.port (flushed at once). The
recording is paced at real time divided by --speed (0 = as fast as the reader takes it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

PROTOCOLS = ("raw", "bpm", "rr", "json")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", help="WFDB record, CSV of raw samples, serial log (seconds<TAB>line) or JSON lines")
    p.add_argument("--protocol", choices=PROTOCOLS, help="what to send (default: raw for signals, "
                   "the logged lines for serial logs); bpm/rr/json send beats detected in the signal")
    p.add_argument("--rate", type=float, metavar="HZ", help="sample rate of a CSV without a time column")
    p.add_argument("--channel", metavar="NAME", help="WFDB channel (default: the first)")
    p.add_argument("--signal", choices=("ecg", "ppg"), help="kind of raw signal (for bpm/rr/json beats)")
    p.add_argument("--speed", type=float, default=1.0, help="playback speed factor; 0 = no pacing (default 1)")
    p.add_argument("--no-time", action="store_true", help="raw: send bare values without the millis column")
    p.add_argument("--loop", action="store_true", help="start over at the end, forever")
    p.add_argument("--garbage", type=float, default=0.0, metavar="P",
                   help="probability per line of injecting a bad line (random bytes, cut or oversized)")
    p.add_argument("--seed", type=int, default=0, help="random seed for --garbage")
    p.add_argument("--link", metavar="PATH", help="also make PATH a symlink to the device (re-pointed if it exists)")
    p.add_argument("--delay", type=float, default=0.0, metavar="S",
                   help="seconds to wait after printing the device before sending (time to open it)")
    p.add_argument("--hold", type=float, default=1.0, metavar="S",
                   help="seconds to keep the device open after the end (default 1)")


def _beats_lines(rec, protocol: str, kind: str) -> list[tuple[float, bytes]]:
    from driverwatch.physio.beats import detect_beats

    fs = (rec.t.size - 1) / (rec.t[-1] - rec.t[0])
    beats = rec.t[0] + detect_beats(rec.v, fs, kind)
    out = []
    recent: list[float] = []
    for prev, b in zip(beats[:-1], beats[1:], strict=True):
        rr = (b - prev) * 1000.0
        recent = [*recent[-4:], rr]
        if protocol == "rr":
            line = f"{rr:.0f}"
        elif protocol == "bpm":
            line = f"BPM:{60000.0 * len(recent) / sum(recent):.1f}"
        else:
            line = json.dumps({"ts": round(b * 1000), "rr": [round(rr)]})
        out.append((float(b), line.encode()))
    return out


def build_lines(rec, protocol: str | None, kind: str, no_time: bool = False) -> list[tuple[float, bytes]]:
    if not rec.is_raw:
        if protocol:
            raise SystemExit("sensor-sim: --protocol applies to raw signals; a serial log is sent as logged")
        return [(t, line.encode("utf-8", "replace")) for t, line in rec.lines]
    if protocol in (None, "raw"):
        if no_time:
            return [(float(t), f"{v:.6g}".encode()) for t, v in zip(rec.t, rec.v, strict=True)]
        return [(float(t), f"{round(t * 1000)},{v:.6g}".encode()) for t, v in zip(rec.t, rec.v, strict=True)]
    return _beats_lines(rec, protocol, kind)


def _garbage(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.4:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))).replace(b"\n", b"")
    if r < 0.7:
        return b"BPM:" if rng.random() < 0.5 else b"12,"  # cut off
    return b"9" * rng.randrange(300, 2000)  # oversized


def stream(lines: list[tuple[float, bytes]], speed: float, loop: bool, garbage: float,
           seed: int) -> Iterator[tuple[float, bytes]]:
    """(due time on the monotonic clock, bytes to write), with loops and injected garbage."""
    rng = random.Random(seed)
    t0 = time.monotonic()
    offset = 0.0
    span = lines[-1][0] - lines[0][0] + (lines[1][0] - lines[0][0] if len(lines) > 1 else 1.0)
    while True:
        for t, line in lines:
            due = t0 + (t - lines[0][0] + offset) / speed if speed > 0 else 0.0
            if garbage and rng.random() < garbage:
                yield due, _garbage(rng) + b"\n"
            yield due, line + b"\n"
        if not loop:
            return
        offset += span


def _link(path: str, target: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    os.symlink(target, tmp)
    os.replace(tmp, path)


def main(args: argparse.Namespace) -> int:
    import tty

    from driverwatch.config import load_config
    from driverwatch.physio.recording import load_recording

    cfg = load_config(args.config).heart
    rec = load_recording(Path(args.recording), rate=args.rate, channel=args.channel,
                         time_unit={"ms": 1e-3, "us": 1e-6, "s": 1.0}[cfg.time_unit])
    kind = args.signal or rec.kind or cfg.signal
    lines = build_lines(rec, args.protocol, kind, args.no_time)
    if not lines:
        raise SystemExit("sensor-sim: nothing to send")
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo or line editing: bytes pass as on a real serial line
    dev = os.ttyname(slave)
    if args.link:
        _link(args.link, dev)
    print(dev, flush=True)
    pending = bytearray()
    try:
        time.sleep(max(0.0, args.delay))
        for due, data in stream(lines, args.speed, args.loop, args.garbage, args.seed):
            delay = due - time.monotonic()
            if delay > 0.005 or len(pending) > 4096:
                if pending:
                    os.write(master, pending)  # blocks when the reader is slower: like flow control
                    pending.clear()
                if delay > 0:
                    time.sleep(delay)
            pending += data
        if pending:
            os.write(master, pending)
        time.sleep(max(0.0, args.hold))
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        os.close(master)  # "unplug": the reader's next read fails
        os.close(slave)
    return 0


if __name__ == "__main__":  # pragma: no cover
    from driverwatch.cli import main as cli_main

    sys.exit(cli_main(["sensor-sim", *sys.argv[1:]]))
