"""`driverwatch report`: the timeline plot a fleet analyst or installer opens."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

pytest.importorskip("matplotlib")


def _write(tmp_path):
    frames = tmp_path / "frames.jsonl"
    with open(frames, "w") as f:
        for i in range(300):  # 30 s at 10 fps; eyes closed 12-14 s, face gone 20-23 s
            t = i / 10
            face = not 20 <= t < 23
            ear = 0.12 if 12 <= t < 14 else 0.3
            f.write(json.dumps({"t": t, "face": face, "ear_left": ear if face else None,
                                "ear_right": ear if face else None, "mar": 0.2 if face else None,
                                "yaw": 2.0 if face else None, "pitch": -1.0 if face else None}) + "\n")
    events = tmp_path / "events.jsonl"
    rows = [
        {"id": "d:microsleep:1", "seq": 0, "type": "start", "kind": "microsleep", "severity": "warning",
         "t": 13.0, "t_start": 12.0, "t_end": None, "evidence": {}},
        {"id": "d:microsleep:1", "seq": 1, "type": "end", "kind": "microsleep", "severity": "warning",
         "t": 14.0, "t_start": 12.0, "t_end": 14.0, "evidence": {}},
        {"id": "d:face_missing:1", "seq": 0, "type": "start", "kind": "face_missing", "severity": "notice",
         "t": 22.0, "t_start": 20.0, "t_end": None, "evidence": {}},
    ]
    events.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return frames, events


@pytest.mark.slow
def test_png_and_html_show_the_events(tmp_path):
    frames, events = _write(tmp_path)
    png, page = tmp_path / "r.png", tmp_path / "r.html"
    for out in (png, page):
        proc = subprocess.run([sys.executable, "-m", "driverwatch", "report", str(frames), str(events), "-o", str(out)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    img = cv2.imread(str(png))
    assert img is not None and img.shape[1] > 1000
    # the warning span (orange) is painted somewhere in the plot
    orange = (img[..., 2] > 230) & (img[..., 1] > 180) & (img[..., 1] < 230) & (img[..., 0] < 200)
    assert orange.sum() > 1000
    text = page.read_text()
    rows = re.findall(r"<tr><td>([\d.]+)</td><td>([\d.]*)</td>.*?<td>(\w+)</td><td>", text)
    assert rows == [("12.00", "14.00", "microsleep"), ("20.00", "", "face_missing")]
    b64 = re.search(r"base64,([A-Za-z0-9+/=]+)", text).group(1)
    embedded = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
    assert embedded.shape == img.shape


def test_missing_input_is_a_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "driverwatch", "report", str(tmp_path / "nope.jsonl"),
                           "-o", str(tmp_path / "r.png")], capture_output=True, text=True)
    assert proc.returncode == 66
    assert "frames file not found" in proc.stderr and "Traceback" not in proc.stderr
