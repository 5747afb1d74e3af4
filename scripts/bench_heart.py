#!/usr/bin/env python3
"""CPU cost of the heart path at ~500 Hz raw input, over the real serial path.

`driverwatch sensor-sim` plays drivedb drive17b's ECG (496 Hz, "millis,value" lines) into a pty at
real time; this process runs the HeartSensor thread (read, parse, beat detection, HRV) and measures
its own CPU time (process_time) against wall time. Target: < 2 % of one core. Repeats and prints
the median, since the machine is shared.

  .venv/bin/python scripts/bench_heart.py [--seconds 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECORD = REPO.parent / "shared" / "data" / "ecg" / "drive17b"


def run_once(seconds: float) -> tuple[float, dict]:
    from driverwatch.config.heart import HeartConfig
    from driverwatch.sources.heart import HeartSensor

    sim = subprocess.Popen([sys.executable, "-m", "driverwatch", "sensor-sim", str(RECORD), "--channel", "ECG",
                            "--loop"], stdout=subprocess.PIPE, text=True)
    try:
        dev = sim.stdout.readline().strip()
        sensor = HeartSensor(HeartConfig(port=dev, protocol="raw", signal="ecg")).start()
        time.sleep(3.0)  # warm-up: rate estimate, filters, first features
        sensor.drain()
        c0, w0 = time.process_time(), time.monotonic()
        n = 0
        while time.monotonic() - w0 < seconds:
            time.sleep(0.5)
            n += len(sensor.drain())  # the consumer's side, as the daemon does
        cpu, wall = time.process_time() - c0, time.monotonic() - w0
        stats = sensor.counters()
        sensor.stop()
    finally:
        sim.kill()
        sim.wait()
    stats["features"] = n
    return 100.0 * cpu / wall, stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not (RECORD.parent / "drive17b.hea").exists():
        print(f"missing {RECORD}.hea (../shared/data/ecg)", file=sys.stderr)
        return 1
    loads = []
    for i in range(args.repeats):
        pct, stats = run_once(args.seconds)
        rate = stats["lines_valid"] / max(1.0, stats.get("bytes", 0) and args.seconds + 3.0)
        loads.append(pct)
        print(f"run {i + 1}: {pct:.2f} % of one core  (~{rate:.0f} lines/s, {stats['beats']} beats, "
              f"{stats['features']} feature records, {stats.get('dropped', 0)} dropped, "
              f"invalid lines {stats['lines_lines'] - stats['lines_valid']})")
    med = statistics.median(loads)
    print(f"heart path CPU, median of {len(loads)}: {med:.2f} % of one core (target < 2 %)")
    return 0 if med < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
