#!/usr/bin/env python3
"""The appearance behind eye visibility, per clip: the share of the eye patch darker than
LENS_LUMA x skin luma (features.lens_share), as 5th / 50th / 95th percentile and max.

A rendered clip (VIDEO with VIDEO.truth.jsonl beside it, e.g. from `driverwatch render`) is split
into open eyes, closed eyes (closure >= 0.8) and sunglasses (shades >= 0.9); any other video is
reported as one group. --gray converts frames to grayscale first.

    scripts/eye_patches.py ~/.cache/driverwatch/scenarios/sunglasses-*.mp4 ../shared/data/video/*.mp4
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from driverwatch.config.vision import VisionConfig
from driverwatch.samples import Frame
from driverwatch.vision import features as F
from driverwatch.vision.pipeline import FacePipeline


def groups(video: Path, gray: bool) -> dict[str, list[float]]:
    truth_path = video.with_name(video.stem + ".truth.jsonl")
    truth = [json.loads(line) for line in truth_path.open()][1:] if truth_path.exists() else None
    pipe = FacePipeline(VisionConfig())
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    out: dict[str, list[float]] = {}
    i = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if gray:
            img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        res = pipe.process(Frame(t=i / fps, image=img, index=i))
        row = truth[i] if truth else None
        i += 1
        skin = F.skin_luma(img, res.landmarks) if res.eyes else None
        if not skin:
            continue
        if row is None:
            group = "all"
        elif row["shades"] >= 0.9:
            group = "shades"
        elif max(row["closure_left"], row["closure_right"]) >= 0.8:
            group = "closed"
        elif max(row["closure_left"], row["closure_right"]) < 0.2 and row["shades"] == 0:
            group = "open"
        else:
            continue
        out.setdefault(group, []).extend(F.lens_share(eye, skin) for eye in res.eyes)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("videos", nargs="+", type=Path)
    ap.add_argument("--gray", action="store_true")
    args = ap.parse_args()
    print("| clip | eyes | n | dark share p5 / p50 / p95 / max |\n|---|---|---|---|")
    for video in args.videos:
        for group, v in sorted(groups(video, args.gray).items()):
            p5, p50, p95 = np.percentile(v, [5, 50, 95])
            print(f"| {video.name} | {group} | {len(v)} | {p5:.2f} / {p50:.2f} / {p95:.2f} / {max(v):.2f} |")


if __name__ == "__main__":
    main()
