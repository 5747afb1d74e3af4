"""`driverwatch check`'s face line: does the configured camera see a face, and what to change if not.

When the daemon runs it holds the camera, so its status file answers; otherwise a child process
(killed after the timeout) reads a few frames and runs the face pipeline on them. The advice is the
live page's alignment guide (sinks/web/overlay.py)."""

from __future__ import annotations

import json
import subprocess
import sys

FRAMES = 8  # frames looked at (the first ones of a webcam are often dark while exposure settles)

_PROBE = """
import json, sys, time
import cv2
from driverwatch.config import load_config
from driverwatch.samples import Frame
from driverwatch.sinks.web.overlay import face_luma, guide
from driverwatch.vision.pipeline import FacePipeline
cfg = load_config(sys.argv[1] or None)
dev = str(cfg.camera.device)
src = int(dev) if dev.isdigit() else dev
cap = cv2.VideoCapture(src, cv2.CAP_V4L2) if dev.startswith("/dev/video") or dev.isdigit() else cv2.VideoCapture(src)
vision = FacePipeline(cfg.vision)
n = seen = 0
last = None
for _ in range(int(sys.argv[2])):
    ok, img = cap.read()
    if not ok or img is None:
        break
    n += 1
    res = vision.process(Frame(time.monotonic(), img))
    seen += bool(res.features.face)
    last = guide(res.features, img.shape, face_luma(img, res.features.face_box))
print(json.dumps({"frames": n, "faces": seen, "guide": last}))
"""


def check_face(cfg, config_path, timeout: float, earlier=()) -> list:
    """One Check; none when the configured camera's own line was not OK (nothing to look at)."""
    from driverwatch.daemon.check import Check
    from driverwatch.daemon.status import NotRunning, find_status, read_status

    cam = [c for c in earlier if c.item.startswith("camera ") and c.item.endswith("(configured)")]
    try:
        st = read_status(find_status(cfg))
    except NotRunning:
        st = None
    if st is not None:  # the daemon holds the camera: ask it
        face = (st.get("state") or {}).get("face_present")
        if face is None:
            return [Check("WARN", "face", "the running daemon does not know yet (no recent frame)")]
        return [Check("OK" if face else "WARN", "face", "the running daemon sees a face now" if face else
                      "the running daemon sees no face now: aim the camera at the driver (the live page helps: [web])")]
    if cam and cam[0].status != "OK":
        return []
    proc = subprocess.Popen([sys.executable, "-c", _PROBE, str(config_path or ""), str(FRAMES)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout + 5)  # + loading the models
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return [Check("WARN", "face", f"no answer within {timeout + 5:g} s")]
    try:
        r = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [Check("WARN", "face", "could not look for a face (camera or models unavailable: see above)")]
    if not r["frames"]:
        return [Check("WARN", "face", "no frame to look at (see the camera line)")]
    g = r["guide"] or {}
    seen = f"face in {r['faces']} of {r['frames']} frames"
    if not r["faces"]:
        return [Check("WARN", "face", f"the camera sees no face ({seen}): aim it at the driver's face, check the light")]
    if g.get("advice"):
        return [Check("WARN", "face", f"{seen}; " + "; ".join(g["advice"]))]
    return [Check("OK", "face", f"{seen}, centred, large enough, lit, both eyes visible")]
