"""The whole live stack end to end: `driverwatch run` on a rendered drive (a video file stands in
for the camera and plays in real time) with a real mosquitto broker: availability, events with
stable ids and wall-clock time, the retained state, a remote command, and a clean stop."""

import json
import signal
import subprocess
import sys

import pytest
from fixtures.broker import Collector
from support.util import live_config

CALIBRATION_S = 5.0


@pytest.fixture(scope="module")
def microsleep_clip(models_dir, tmp_path_factory):
    from driverwatch.sources.scenario import render_cached

    video, _truth = render_cached("microsleep", fps=15, cache_dir=tmp_path_factory.mktemp("clips"),
                                  models_dir=models_dir, calibration_s=CALIBRATION_S)
    return video


@pytest.mark.slow
def test_run_publishes_events_state_and_availability(tmp_path, models_dir, broker, microsleep_clip):
    prefix = "driverwatch/test-van/"
    sub = Collector(broker.port, prefix + "#")
    cfg = live_config(tmp_path, "test-van", microsleep_clip, models_dir, broker.port, CALIBRATION_S)
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-c", str(cfg), "run"],
                              stderr=subprocess.PIPE, text=True)
    try:
        assert sub.wait(lambda: sub.last("available") == b"online", 30), "never online"
        sub.client.publish(prefix + "set/snooze", json.dumps({"minutes": 1, "id": "c1"}), qos=1)
        assert sub.wait(lambda: any(r.get("id") == "c1" for r in sub.json("command_result")), 10)
        result = next(r for r in sub.json("command_result") if r.get("id") == "c1")
        assert result["ok"] is True, result
        sub.client.publish(prefix + "set/driver", json.dumps({"driver": "anna", "id": "c2"}), qos=1)
        assert sub.wait(lambda: any(r.get("id") == "c2" and r["ok"] for r in sub.json("command_result")), 10)
        sub.client.publish(prefix + "set/open_doors", "{}", qos=1)  # not a command: rejected, not run

        def microsleep():
            return [e for e in sub.json("events") if e["kind"] == "microsleep" and e["type"] == "start"]

        assert sub.wait(lambda: microsleep(), 60), f"no microsleep event: {sub.json('events')}"
        ev = microsleep()[0]
        assert ev["id"].endswith(":microsleep:1") and ev["schema"] >= 1 and ev["time"].endswith("Z")
        assert ev["severity"] in ("warning", "critical")
        assert ev["driver"] == "anna"  # the driver set/driver selected, for the fleet's attribution
        states = sub.json("state")
        assert states and "drowsiness" in json.dumps(states[-1])
        # privacy: nothing that looks like an image or a raw signal crosses the network
        for topic, payload, _ in sub.messages:
            assert len(payload) < 8192, topic
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=5) == 0
        assert sub.wait(lambda: sub.last("available") == b"stopped", 5)
        rejected = [r for r in sub.json("command_result") if r.get("command") == "open_doors"]
        assert rejected and rejected[0]["ok"] is False, sub.json("command_result")
    finally:
        if daemon.poll() is None:
            daemon.kill()
        sub.close()
    assert "Traceback" not in daemon.stderr.read()
    log_lines = (tmp_path / "log" / "events.jsonl").read_text().splitlines()
    assert any(json.loads(line)["kind"] == "microsleep" for line in log_lines)
