#!/usr/bin/env python3
"""Monitor cost per frame (target <= 0.5 ms on a Pi-class CPU): a scripted 10-minute drive at 30 fps
with blinks, glances, a look down at the cluster (a head dip the nod rule judges), a yawn,
microsleeps and face dropouts, expression scores with a held frown (the affect rules) and heart
features at 1 Hz. Prints median and p99 per update_face.

    .venv/bin/python scripts/bench_monitor.py [--minutes 10] [--fps 30]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from driverwatch.config.monitor import MonitorConfig
from driverwatch.monitor import Monitor
from driverwatch.samples import FaceFeatures, HeartFeatures, SpeedSample


def frame(t: float) -> FaceFeatures:
    k = t % 30.0
    if 20.0 <= k < 21.5 and int(t // 30) % 4 == 3:
        return FaceFeatures(t=t, face=False, brightness=100.0)
    shut = (t % 3.7) < 0.15 or (int(t // 30) % 5 == 4 and 10.0 <= k < 11.3)
    share = 0.08 if shut else 1.0
    yaw = 40.0 if 5.0 <= k < 7.5 else 2.0 + math.sin(3 * t)
    pitch = -2.0 + math.sin(2 * t) - (16.0 if 15.0 <= k < 16.2 else 0.0)
    mar = 0.7 if 25.0 <= k < 28.0 else 0.02 + 0.2 * max(0.0, math.sin(9 * t))
    frown = 0.6 if int(t // 60) % 3 == 2 else 0.05 + 0.03 * math.sin(5 * t)
    bs = {"browDownLeft": frown, "browDownRight": frown, "mouthPressLeft": frown, "mouthPressRight": frown,
          "noseSneerLeft": 0.01, "noseSneerRight": 0.01, "mouthRollLower": 0.03, "mouthRollUpper": 0.03,
          "jawOpen": mar / 2, "mouthSmileLeft": 0.02, "mouthSmileRight": 0.02,
          "eyeBlinkLeft": 0.9 if shut else 0.1, "eyeBlinkRight": 0.9 if shut else 0.1}
    return FaceFeatures(blendshapes=bs, t=t, face=True, face_score=0.9, ear_left=0.28 * share, ear_right=0.28 * share,
                        eye_open_left=0.32 * share, eye_open_right=0.31 * share, eye_visibility_left=1.0,
                        eye_visibility_right=1.0, mar=mar, yaw=yaw, pitch=pitch, roll=0.0,
                        gaze_yaw=0.5, gaze_pitch=10.0, brightness=110.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=30.0)
    args = ap.parse_args()
    n = int(args.minutes * 60 * args.fps)
    frames = [frame(i / args.fps) for i in range(n)]
    m = Monitor(MonitorConfig())
    ms = []
    events = 0
    for i, ff in enumerate(frames):
        if i % int(args.fps) == 0:
            m.update_speed(SpeedSample(ff.t, 90.0))
            m.update_heart(HeartFeatures(t=ff.t, hr=70.0 + 10 * (int(ff.t // 120) % 2), rmssd=50.0, quality=1.0))
        t0 = time.perf_counter()
        events += len(m.update_face(ff))
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    print(f"{n} frames ({args.minutes:g} min at {args.fps:g} fps), {events} events")
    print(f"update_face: median {statistics.median(ms):.3f} ms, p99 {p99:.3f} ms, max {ms[-1]:.3f} ms "
          f"(target <= 0.5 ms)")
    t0 = time.perf_counter()
    for _ in range(1000):
        m.snapshot()
    print(f"snapshot: {(time.perf_counter() - t0):.3f} ms each")


if __name__ == "__main__":
    main()
