#!/usr/bin/env python3
"""What the live page costs the daemon: CPU per processed frame of `driverwatch run` with a looping
video file as the camera, in three set-ups, measured over the same steady window of each run:

  off     [web] enabled = false
  closed  [web] enabled = true, nobody has the page open
  open    [web] enabled = true, a client fetching the page's images and state as the page does

The daemon's CPU (user + system, from /proc/<pid>/stat) and its processed frames (from the status
file it rewrites every 2 s) are sampled after a warm-up and again at the end; the client runs in
this process, so its own cost is not counted. Set-ups are interleaved over --rounds to spread the
load of a busy machine evenly.

    .venv/bin/python scripts/bench_web.py [--duration 60] [--rounds 1] [--video CLIP]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def status(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def wait(pred, timeout: float):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if v := pred():
            return v
        time.sleep(0.2)
    raise SystemExit("timed out waiting for the daemon (see its log)")


class PageClient:
    """Does what the page does: one image after another, the state twice a second."""

    def __init__(self, url: str):
        self.url, self.images, self.stop = url, 0, threading.Event()
        self.threads = [threading.Thread(target=self._images, daemon=True), threading.Thread(target=self._state, daemon=True)]

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return r.read()

    def _images(self):
        n = 0
        while not self.stop.is_set():
            try:
                self._get(f"frame.jpg?n={n}")
                self.images += 1
            except OSError:
                time.sleep(0.2)
            n += 1

    def _state(self):
        while not self.stop.wait(0.5):
            with contextlib.suppress(OSError):
                self._get("api/state")

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(6)


def run_once(mode: str, video: Path, duration: float, warmup: float, work: Path, models_dir: str | None) -> dict:
    d = work / mode
    d.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cfg = d / "driverwatch.toml"
    cfg.write_text(f'[daemon]\nstate_dir = "{d / "state"}"\nlog_dir = "{d / "log"}"\n'
                   f'[camera]\ndevice = "{video}"\nloop = true\n[chime]\noutput = "none"\n'
                   + (f'[vision]\nmodels_dir = "{models_dir}"\n' if models_dir else "")
                   + f'[web]\nenabled = {"false" if mode == "off" else "true"}\nport = {port}\n')
    st_path = d / "state" / "status.json"
    log = (d / "daemon.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "driverwatch", "-q", "-c", str(cfg), "run",
                             "--duration", str(duration + warmup + 5)], stdout=log, stderr=log)
    try:
        wait(lambda: (s := status(st_path)) and s["stats"].get("frames", 0) > 0, 120)
        t_start = time.monotonic()
        client = PageClient(f"http://127.0.0.1:{port}/") if mode == "open" else None
        if client:
            client.__enter__()
        try:
            time.sleep(warmup)
            s0 = wait(lambda: status(st_path), 10)
            c0, w0 = cpu_s(proc.pid), time.monotonic()
            f0 = s0["stats"]["frames"]
            time.sleep(max(0.0, duration - (time.monotonic() - t_start - warmup)))
            old = s0["written"]
            s1 = wait(lambda: (s := status(st_path)) and s["written"] > old and s, 10)
            c1, w1 = cpu_s(proc.pid), time.monotonic()
        finally:
            if client:
                client.__exit__()
        frames = s1["stats"]["frames"] - f0
        web = s1["stats"].get("web") or {}
        return {"mode": mode, "frames": frames, "wall_s": round(w1 - w0, 1), "fps": round(frames / (w1 - w0), 2),
                "cpu_ms_per_frame": round((c1 - c0) * 1000 / max(frames, 1), 2),
                "cpu_share": round((c1 - c0) / (w1 - w0), 3), "served": web.get("served")}
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60.0, help="measured seconds per run (default 60)")
    ap.add_argument("--warmup", type=float, default=8.0, help="seconds after the first frame before measuring")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds of the three set-ups")
    ap.add_argument("--video", help="clip to loop as the camera (default: the demo drive, rendered once)")
    ap.add_argument("--models-dir")
    args = ap.parse_args()
    if args.video:
        video = Path(args.video).resolve()
    else:
        from driverwatch.sources.scenario import render_cached

        video, _ = render_cached("demo")
    results: dict[str, list[dict]] = {"off": [], "closed": [], "open": []}
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        for r in range(args.rounds):
            for mode in results:
                res = run_once(mode, video, args.duration, args.warmup, Path(tmp) / f"r{r}", args.models_dir)
                results[mode].append(res)
                print(json.dumps(res), flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.duration:g} s measured per run, "
          f"{args.rounds} round(s); camera: {video.name} (looping)")
    print(f"{'set-up':<8} {'fps':>6} {'CPU ms/frame':>13} {'CPU share':>10} {'images':>7}")
    base = statistics.median(r["cpu_ms_per_frame"] for r in results["off"])
    for mode, rs in results.items():
        ms = statistics.median(r["cpu_ms_per_frame"] for r in rs)
        print(f"{mode:<8} {statistics.median(r['fps'] for r in rs):6.1f} {ms:10.2f} ({ms / base - 1:+.0%})"
              f" {statistics.median(r['cpu_share'] for r in rs):8.2f} {rs[0]['served'] or 0:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
