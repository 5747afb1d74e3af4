"""MediaPipe FaceMesh (legacy solution) landmarks for a video or image, as the reference for tests and
scripts/bench_vision.py. Runs ONLY in .venv-ref (scripts/reference_setup.sh): MediaPipe 0.10.18
needs numpy<2 and protobuf<5.

  .venv-ref/bin/python scripts/reference_facemesh.py INPUT OUT.npz [--refine] [--resize WxH]
      [--max-frames N] [--repeat N]

Writes: landmarks (N, 468|478, 3) float32 in image pixels (z scaled like x; NaN where no face),
ms (N,) time of FaceMesh.process per frame, width, height.
"""

import argparse
import os
import sys
import time

import cv2
import numpy as np


def frames(path, resize, max_frames):
    img = cv2.imread(path, cv2.IMREAD_COLOR) if not path.lower().endswith((".mp4", ".avi", ".mkv", ".mov")) else None
    if img is not None:
        yield cv2.resize(img, resize, interpolation=cv2.INTER_AREA) if resize else img
        return
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        sys.exit(f"cannot open {path}")
    n = 0
    while max_frames is None or n < max_frames:
        ok, img = cap.read()
        if not ok:
            break
        n += 1
        yield cv2.resize(img, resize, interpolation=cv2.INTER_AREA) if resize else img


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("out")
    ap.add_argument("--refine", action="store_true", help="refine_landmarks=True (478 points, iris)")
    ap.add_argument("--resize", help="WxH")
    ap.add_argument("--max-frames", type=int)
    ap.add_argument("--repeat", type=int, default=1, help="process the input N times (benchmarks)")
    a = ap.parse_args()
    resize = tuple(int(v) for v in a.resize.split("x")) if a.resize else None
    os.environ.setdefault("GLOG_minloglevel", "2")
    import mediapipe as mp

    is_image = not a.input.lower().endswith((".mp4", ".avi", ".mkv", ".mov"))
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=is_image, max_num_faces=1,
                                           refine_landmarks=a.refine)
    out, ms = [], []
    h = w = 0
    n = 478 if a.refine else 468
    for img in (im for _ in range(a.repeat) for im in frames(a.input, resize, a.max_frames)):
        h, w = img.shape[:2]
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        t0 = time.perf_counter()
        res = mesh.process(rgb)
        ms.append((time.perf_counter() - t0) * 1e3)
        if res.multi_face_landmarks:
            lm = res.multi_face_landmarks[0].landmark
            out.append(np.array([[p.x * w, p.y * h, p.z * w] for p in lm], np.float32))
        else:
            out.append(np.full((n, 3), np.nan, np.float32))
    if not out:
        sys.exit(f"no frames read from {a.input}")
    np.savez(a.out, landmarks=np.stack(out), ms=np.array(ms), width=w, height=h)


if __name__ == "__main__":
    main()
