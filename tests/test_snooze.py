"""The snooze, end to end: `driverwatch run` on a rendered drive (the driver leaves the camera's
view: a face_missing notice) with a real mosquitto. A snooze mutes the notice chime only: the
event still reaches the event log and MQTT, marked snoozed; the state never shows an open
condition without an id; the command result says what was applied (capped by the config)."""

import json
import signal
import subprocess
import sys

import pytest
from fixtures.broker import Collector
from support.util import live_config

from driverwatch.config import Config
from driverwatch.daemon.wiring import Pipeline

CALIBRATION_S = 5.0


@pytest.fixture(scope="module")
def face_missing_clip(models_dir, tmp_path_factory):
    from driverwatch.sources.scenario import render_cached

    video, _truth = render_cached("face_missing", fps=15, cache_dir=tmp_path_factory.mktemp("clips"),
                                  models_dir=models_dir, calibration_s=CALIBRATION_S)
    return video


@pytest.mark.slow
def test_snoozed_notice_reaches_log_and_mqtt_marked(tmp_path, models_dir, broker, face_missing_clip):
    prefix = "driverwatch/snz/"
    sub = Collector(broker.port, prefix + "#")
    cfg = live_config(tmp_path, "snz", face_missing_clip, models_dir, broker.port, CALIBRATION_S,
                      chime=f'output = "wav"\nwav_path = "{tmp_path / "chimes.wav"}"', mqtt="state_interval_s = 0.2\n")
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-c", str(cfg), "run"],
                              stderr=subprocess.PIPE, text=True)
    try:
        assert sub.wait(lambda: sub.last("available") == b"online", 30), "never online"
        sub.client.publish(prefix + "set/snooze", json.dumps({"minutes": 60, "id": "s1"}), qos=1)
        assert sub.wait(lambda: any(r.get("id") == "s1" for r in sub.json("command_result")), 10)
        result = next(r for r in sub.json("command_result") if r.get("id") == "s1")
        # 60 min asked, the configured cap (monitor.alerts.snooze_max_s, 30 min) applied, and said so
        assert result["ok"] is True and result["applied"] == {"minutes": 30.0, "seconds": 1800.0, "capped": True}

        def face_missing():
            return [e for e in sub.json("events") if e["kind"] == "face_missing"]

        assert sub.wait(lambda: any(e["type"] == "end" for e in face_missing()), 60), sub.json("events")
        assert daemon.wait(timeout=30) == 0  # the clip ends: the daemon stops
    finally:
        if daemon.poll() is None:
            daemon.kill()
        sub.close()
    assert "Traceback" not in daemon.stderr.read()
    start = next(e for e in face_missing() if e["type"] == "start")
    assert start["severity"] == "notice" and start["snoozed"] is True
    states = sub.json("state")
    assert any(s["snoozed"] for s in states)
    opened = [a for s in states for a in s["active"]]
    assert any(a["kind"] == "face_missing" for a in opened), states
    assert all(a["id"] for a in opened), opened  # never an open condition with id null
    logged = [json.loads(line) for line in (tmp_path / "log" / "events.jsonl").read_text().splitlines()]
    assert [e["id"] for e in logged if e["kind"] == "face_missing"] == [e["id"] for e in face_missing()]
    assert any(e["kind"] == "face_missing" and e.get("snoozed") for e in logged)
    assert not (tmp_path / "chimes.wav").exists()  # the notice chime itself stayed silent


def test_snooze_is_one_monitor_input_capped_by_config():
    cfg = Config()
    p = Pipeline(cfg, drive_id="d")
    assert p.command(10.0, "snooze", 3600.0) == {"seconds": 1800.0, "capped": True}
    assert p.command(10.0, "snooze", 60.0) == {"seconds": 60.0, "capped": False}
    assert p.command(10.0, "snooze", 0.0) == {"seconds": 0.0, "capped": False}  # 0 cancels
    assert p.monitor.snooze_until is None


def test_the_old_chime_snooze_cap_is_migrated(tmp_path, caplog):
    from driverwatch.config import load_config

    cfg = tmp_path / "old.toml"
    cfg.write_text("[chime]\nsnooze_max_s = 600.0\n")  # a version-1 file: the cap was the chime's
    assert load_config(cfg).monitor.alerts.snooze_max_s == 600.0
    assert any("chime.snooze_max_s is now monitor.alerts.snooze_max_s" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_snooze_holds_when_a_reload_starts_a_new_monitor(tmp_path, models_dir, broker, face_missing_clip):
    prefix = "driverwatch/snz2/"
    sub = Collector(broker.port, prefix + "#")
    cfg = live_config(tmp_path, "snz2", face_missing_clip, models_dir, broker.port, CALIBRATION_S)
    record = tmp_path / "inputs.jsonl"
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-c", str(cfg), "run", "--record", str(record)],
                              stderr=subprocess.PIPE, text=True)
    try:
        assert sub.wait(lambda: sub.last("available") == b"online", 30), "never online"
        sub.client.publish(prefix + "set/snooze", json.dumps({"minutes": 10, "id": "s2"}), qos=1)
        assert sub.wait(lambda: any(r.get("id") == "s2" for r in sub.json("command_result")), 10)
        cfg.write_text(cfg.read_text().replace("[monitor.calibration]", "[monitor]\nmax_gap_s = 0.6\n"
                                                                        "[monitor.calibration]"))
        daemon.send_signal(signal.SIGHUP)  # a new monitor (the driver is calibrated again)
        assert sub.wait(lambda: any(e["kind"] == "face_missing" for e in sub.json("events")), 60), sub.json("events")
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
        sub.close()
    assert "Traceback" not in daemon.stderr.read()
    drives = [json.loads(line) for line in record.read_text().splitlines() if '"drive"' in line[:10]]
    assert len(drives) == 2, "the reload did not start a new monitor"
    start = next(e for e in sub.json("events") if e["kind"] == "face_missing" and e["type"] == "start")
    assert start["id"].startswith(drives[1]["drive"]["id"])  # raised by the new monitor ...
    assert start["snoozed"] is True  # ... which kept the snooze
