"""MqttSink against a real mosquitto: topics, payloads, privacy filter, state rate limit,
commands, TLS / passwords, Home Assistant discovery, and bad input that must not stop it."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest
from fixtures.broker import PASSWORD, USER, Collector
from support.util import free_port, wait_for

from driverwatch.config.mqtt import MqttConfig
from driverwatch.monitor.events import Condition, EventIds
from driverwatch.sinks.commands import CommandError, parse_command
from driverwatch.sinks.mqtt import MqttSink, create_sink, event_payload, state_payload, stats_payload

FAST = {"reconnect_min_s": 0.2, "reconnect_max_s": 1.0}


def _sink(port, tmp_path, vehicle="v1", **kw) -> MqttSink:
    sink = MqttSink(MqttConfig(host="127.0.0.1", port=port, **{**FAST, **kw}), vehicle, tmp_path / "state")
    sink.start()
    return sink


def _event(i: int = 0, severity="warning", **evidence) -> dict:
    cond = Condition(EventIds(f"drive{i}"), "long_distraction")
    return cond.start(12.5, severity, {"duration_s": 2.4, **evidence}).to_json()


def test_events_availability_and_clean_stop(broker, tmp_path):
    sub = Collector(broker.port, "driverwatch/v1/#")
    sink = _sink(broker.port, tmp_path)
    assert sub.wait(lambda: sub.last("/available") == b"online")
    ev = _event(severity="critical", perclos=0.31)
    sink.publish_event({**ev, "time": "2026-01-02T03:04:05.000Z"})
    sink.publish_event(_event(1))
    assert sub.wait(lambda: len(sub.on("/events")) == 2)
    got = sub.json("/events")
    assert got[0] == {**ev, "time": "2026-01-02T03:04:05.000Z"}  # id, seq, t, evidence unchanged
    assert got[1]["id"] == "drive1:long_distraction:1" and got[1]["time"].endswith("Z")
    assert "delayed" not in got[0]
    assert wait_for(lambda: sink.outbox.depth() == 0)  # acknowledged -> deleted
    sink.publish_stats({"fps": 29.7, "dropped_frames": 3, "sensor": "ok", "uptime_s": 12.0})
    assert sub.wait(lambda: sub.on("/stats"))
    stats = sub.json("/stats")[0]
    assert stats["schema"] == 1 and stats["fps"] == 29.7 and stats["mqtt"]["outbox_depth"] >= 0
    sink.stop(clean=True)
    assert sub.wait(lambda: sub.last("/available") == b"stopped", 3)
    sub.close()
    # retained: a late subscriber sees the final availability
    late = Collector(broker.port, "driverwatch/v1/available")
    assert late.wait(lambda: late.on("/available") == [b"stopped"], 3)
    late.close()


def test_payloads_never_carry_images_or_raw_biometrics(broker, tmp_path, caplog):
    ev = _event(perclos=0.4, image=[[0, 1], [2, 3]], rr_ms=[812, 790, 805, 799, 801, 830],
                ecg=b"\x00\x01", thumbnail="/9j/" + "A" * 2000, box=[0.1, 0.2, 0.3, 0.4])
    ev["frame"] = [[1, 2, 3]]
    ev["raw_signal"] = list(range(500))
    payload, dropped = event_payload(ev)
    assert payload["evidence"] == {"duration_s": 2.4, "perclos": 0.4, "box": [0.1, 0.2, 0.3, 0.4]}
    assert set(payload) == {"schema", "id", "seq", "type", "kind", "severity", "t", "t_start", "t_end", "evidence"}
    assert {"frame", "raw_signal", "evidence.image", "evidence.rr_ms", "evidence.ecg",
            "evidence.thumbnail"} <= set(dropped)

    sub = Collector(broker.port, "driverwatch/v1/#")
    sink = _sink(broker.port, tmp_path)
    with caplog.at_level(logging.WARNING, logger="driverwatch.sinks.mqtt"):
        sink.publish_event(ev)
        sink.publish_state({"attention": "off_road", "drowsiness": 2, "hr": 71.0, "rr_ms": [800, 810],
                            "face_crop": "AAAA"})
    assert sub.wait(lambda: sub.on("/events") and sub.on("/state"))
    raw = sub.on("/events")[0] + sub.on("/state")[0]
    for word in (b"image", b"rr_ms", b"ecg", b"thumbnail", b"frame", b"raw_signal", b'"hr"', b"face_crop"):
        assert word not in raw
    assert sub.json("/state")[0]["attention"] == "off_road"
    assert any("not sending event keys" in r.getMessage() for r in caplog.records)
    sink.stop()
    sub.close()


def test_monitor_snapshot_passes_whole_but_biometrics_stay():
    snap = {"schema": 1, "t": 12.5, "calibration": {"status": "done", "progress": 1.0}, "face_present": True,
            "eyes_observable": True, "eyes": "open", "attention": "on_road", "drowsiness": "alert",
            "perclos": 0.08, "blink_rate_per_min": 14.2, "stress": "none", "speed_kmh": 88.0, "snoozed": False,
            "active": [{"kind": "yawn", "severity": "info", "id": "d:yawn:1", "t_start": 10.1}],
            "degraded": False, "counts": {"yawn": 1, "long_blink": 0}}
    payload, dropped = state_payload(snap)
    assert payload == snap and dropped == []
    payload, dropped = state_payload({**snap, "hr": 72.0, "counts": {"yawn": 1, "rmssd": 40.0}})
    assert "hr" not in payload and payload["counts"] == {"yawn": 1} and set(dropped) == {"hr", "counts.rmssd"}
    stats, dropped = stats_payload({"fps": 29.9, "heart": {"connected": True, "hr": 71.0, "beats": [1, 2]},
                                    "chime": {"ok": True, "last_error": None}})
    assert stats["heart"] == {"connected": True} and stats["chime"] == {"ok": True, "last_error": None}


@pytest.mark.slow
def test_state_is_retained_rate_limited_and_only_on_change(broker, tmp_path):
    sub = Collector(broker.port, "driverwatch/v1/state")
    sink = _sink(broker.port, tmp_path, state_interval_s=1.0)
    assert sub.wait(lambda: sink.health()["connected"])  # else the first snapshot sent is a later one
    t0 = time.monotonic()
    for i in range(20):  # 20 changes in ~0.4 s
        sink.publish_state({"t": i, "attention": "off_road" if i % 2 else "on_road", "drowsiness": i})
        time.sleep(0.02)
    assert sub.wait(lambda: len(sub.on("/state")) >= 2, 3)
    time.sleep(1.3)
    got = sub.json("/state")
    assert len(got) == 2, f"{len(got)} snapshots for 20 changes within one second"
    assert got[0]["drowsiness"] == 0 and got[-1]["drowsiness"] == 19  # the first, then the latest
    assert time.monotonic() - t0 >= 1.0
    for _ in range(5):  # unchanged (only t differs): nothing new
        sink.publish_state({"t": 99, "attention": "off_road", "drowsiness": 19})
    time.sleep(1.3)
    assert len(sub.on("/state")) == 2
    sink.stop()
    sub.close()
    late = Collector(broker.port, "driverwatch/v1/state")
    assert late.wait(lambda: late.json("/state") and late.json("/state")[0]["drowsiness"] == 19, 3)
    late.close()


def test_commands_validated_and_rejected(broker, tmp_path, caplog):
    sub = Collector(broker.port, "driverwatch/v1/command_result")
    pub = sub.client
    # A retained command would run again at every (re)subscription: refused when replayed.
    pub.publish("driverwatch/v1/set/recalibrate", b"{}", qos=1, retain=True).wait_for_publish(3)
    caplog.set_level(logging.WARNING, logger="driverwatch.sinks.mqtt")
    sink = _sink(broker.port, tmp_path)
    assert sub.wait(lambda: len(sub.on("command_result")) == 1)  # subscribed, retained one handled
    pub.publish("driverwatch/v1/set/snooze", b'{"minutes": 15, "id": "op-1"}', qos=1)
    pub.publish("driverwatch/v1/set/snooze", b"{bad json", qos=1)
    pub.publish("driverwatch/v1/set/snooze", b'{"minutes": 15, "max_severity": "critical"}', qos=1)
    pub.publish("driverwatch/v1/set/shutdown", b"{}", qos=1)
    pub.publish("driverwatch/v1/set/recalibrate", b"", qos=1)
    cmds = [sink.commands.get(timeout=5), sink.commands.get(timeout=5)]
    for cmd in cmds:  # an accepted command is answered once the daemon applied it
        sink.command_result(cmd, {"seconds": 900.0} if cmd["command"] == "snooze" else None)
    assert sub.wait(lambda: len(sub.on("command_result")) == 6)
    results = sub.json("command_result")
    rejected, accepted = [r for r in results if not r["ok"]], [r for r in results if r["ok"]]
    assert len(rejected) == 4 and [r["command"] for r in accepted] == ["snooze", "recalibrate"]
    assert "retained" in rejected[0]["error"]
    assert "not valid JSON" in rejected[1]["error"]
    assert "unknown key(s) 'max_severity'" in rejected[2]["error"]  # no remote way to mute alerts
    assert "unknown command 'shutdown'" in rejected[3]["error"]
    assert accepted[0]["applied"] == {"seconds": 900.0} and accepted[0]["id"] == "op-1"
    assert cmds == [{"command": "snooze", "minutes": 15.0, "seconds": 900.0, "id": "op-1"},
                    {"command": "recalibrate", "id": None}]
    assert sink.commands.empty()
    assert sink.health()["rejected_commands"] == 4
    assert any("rejected command" in r.getMessage() and "not valid JSON" in r.getMessage() for r in caplog.records)
    sink.stop()
    sub.close()


@pytest.mark.parametrize(("name", "payload", "error"), [
    ("snooze", b'{"minutes": -1}', "must be >= 0"),
    ("snooze", b'{"minutes": "15"}', "must be a number"),
    ("snooze", b'{"minutes": 5, "max_severity": "notice"}', "unknown key(s) 'max_severity'"),
    ("snooze", b'{"minutes": 5, "mute_all": true}', "unknown key(s) 'mute_all'"),
    ("snooze", b"[1, 2]", "must be a JSON object"),
    ("snooze", b"x" * 2000, "too large"),
    ("recalibrate", b'{"now": 1}', "unknown key(s) 'now'"),
    ("../snooze", b"{}", "unknown command"),
])
def test_parse_command_rejects(name, payload, error):
    with pytest.raises(CommandError, match=None) as exc:
        parse_command(name, payload)
    assert error in str(exc.value)


def test_parse_command_accepts_bare_minutes():
    assert parse_command("snooze", b"10") == {"command": "snooze", "minutes": 10.0, "seconds": 600.0, "id": None}


def test_tls_with_password_from_credentials_directory(secure_broker, pki, tmp_path, monkeypatch):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "mqtt-password").write_text(PASSWORD + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    sub = Collector(secure_broker.port, "driverwatch/tls1/#")  # the plain listener sees everything
    sink = _sink(secure_broker.tls_port, tmp_path, vehicle="tls1", username=USER, protocol="3.1.1",
                 tls={"enabled": True, "ca_file": str(pki["ca"])})
    assert wait_for(lambda: sink.health()["connected"]), sink.health()
    sink.publish_event(_event())
    assert sub.wait(lambda: sub.on("/events"))
    sink.stop()
    sub.close()


def test_tls_client_certificate(secure_broker, pki, tmp_path):
    sink = _sink(secure_broker.cert_port, tmp_path, vehicle="tls2",
                 tls={"enabled": True, "ca_file": str(pki["ca"]), "certfile": str(pki["client_crt"]),
                      "keyfile": str(pki["client_key"])})
    assert wait_for(lambda: sink.health()["connected"]), sink.health()
    sink.stop()


def _assert_keeps_running(sink: MqttSink, caplog, expect: str) -> None:
    assert wait_for(lambda: any(expect in r.getMessage() for r in caplog.records), 10), \
        [r.getMessage() for r in caplog.records]
    t0 = time.perf_counter()
    for i in range(50):
        assert sink.publish_event(_event(i)) is not None
    assert (time.perf_counter() - t0) / 50 < 0.01  # the caller does not wait for the network
    h = sink.health()
    assert h["connected"] is False and h["outbox_depth"] == 50 and expect in (h["last_error"] or "")
    t0 = time.monotonic()
    sink.stop()
    assert time.monotonic() - t0 < 5


def test_wrong_ca_is_logged_and_not_fatal(secure_broker, pki, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="driverwatch.sinks.mqtt")
    sink = _sink(secure_broker.tls_port, tmp_path, username=USER, password_file=str(pki["passwd"]),
                 tls={"enabled": True, "ca_file": str(pki["other_ca"])})
    _assert_keeps_running(sink, caplog, "certificate verify failed")
    assert "mqtt.tls.ca_file" in sink.health()["last_error"]


def test_wrong_password_is_logged_and_not_fatal(secure_broker, pki, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="driverwatch.sinks.mqtt")
    pw = tmp_path / "pw"
    pw.write_text("wrong\n")
    sink = _sink(secure_broker.tls_port, tmp_path, username=USER, password_file=str(pw),
                 tls={"enabled": True, "ca_file": str(pki["ca"])})
    _assert_keeps_running(sink, caplog, "refused the connection")
    assert "password" in sink.health()["last_error"]


def test_unreachable_host_is_logged_and_not_fatal(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="driverwatch.sinks.mqtt")
    sink = _sink(free_port(), tmp_path)  # nothing listens there
    _assert_keeps_running(sink, caplog, "Connection refused")


def test_hung_broker_never_blocks_the_caller(tmp_path):
    """A TCP peer that accepts and then never answers (no CONNACK): worst case for a blocking client."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        sink = _sink(srv.getsockname()[1], tmp_path)
        costs = []
        for i in range(200):
            t0 = time.perf_counter()
            sink.publish_event(_event(i))
            costs.append(time.perf_counter() - t0)
        costs.sort()
        assert costs[len(costs) // 2] < 0.005 and costs[-1] < 0.5
        assert sink.health()["connected"] is False and sink.outbox.depth() == 200
        sink.stop()


def test_bad_credentials_are_reported_but_do_not_stop_the_sink(broker, tmp_path, caplog):
    """A chime must not depend on a password file: the sink stays up, queues, says why it is offline."""
    sub = Collector(broker.port, "driverwatch/v/#")
    cfg = MqttConfig(host="127.0.0.1", port=broker.port, username="u", password_file=str(tmp_path / "nope"))
    with caplog.at_level(logging.ERROR, logger="driverwatch.sinks.mqtt"):
        sink = MqttSink(cfg, "v", tmp_path / "state")
    sink.start()
    assert sink.publish_event(_event()) is not None  # kept for when the password is fixed
    time.sleep(0.5)
    health = sink.health()
    assert health["connected"] is False and health["outbox_depth"] == 1
    assert "mqtt.password_file: cannot read" in health["last_error"] and "nope" in health["last_error"]
    assert sub.on("/available") == [] and sub.on("/events") == []  # never connected
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "not connecting" in msgs[0]
    sink.stop()
    sub.close()
    sink = MqttSink(MqttConfig(host="h", tls={"enabled": True, "ca_file": str(tmp_path / "none.pem")}), "v", tmp_path)
    assert "mqtt.tls.ca_file" in sink.health()["last_error"]
    sink.stop()


def test_info_events_stay_local_below_min_severity(tmp_path):
    blink = Condition(EventIds("d"), "blink").instant(1.0, 1.2, "info", {"duration_s": 0.2})
    drowsy = Condition(EventIds("d"), "drowsy").start(5.0, "notice", {"perclos": 0.2,
                                                                         "reasons": ["perclos", "yawns"]})
    sink = MqttSink(MqttConfig(host="127.0.0.1", port=free_port()), "v", tmp_path / "a")
    assert sink.publish_event(blink.to_json()) is None
    assert sink.publish_event(drowsy.to_json()) is not None
    assert sink.outbox.depth() == 1
    sink.stop()
    sink = MqttSink(MqttConfig(host="127.0.0.1", port=free_port(), min_severity="info"), "v", tmp_path / "b")
    assert sink.publish_event(blink.to_json()) is not None
    sink.stop()
    sink = MqttSink(MqttConfig(host="127.0.0.1", port=free_port(), min_severity="warning"), "v", tmp_path / "c")
    assert sink.publish_event(drowsy.to_json()) is None and sink.outbox.depth() == 0
    sink.stop()


def test_short_lists_of_strings_pass_but_denied_keys_never_do():
    ev = _event(reasons=["perclos", "long_blinks"], thresholds=[0.15, 0.3], rr=["812", "790"],
                samples=[1, 2, 3], mixed=["a", [1, 2]], long=list(range(50)), huge=["x" * 500])
    payload, dropped = event_payload(ev)
    assert payload["evidence"]["reasons"] == ["perclos", "long_blinks"]
    assert payload["evidence"]["thresholds"] == [0.15, 0.3]
    assert {"rr", "samples", "mixed", "long", "huge"} == {d.split(".")[1] for d in dropped}


def test_no_broker_says_so_once(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="driverwatch.sinks.mqtt"):
        assert create_sink(MqttConfig(), "v", tmp_path) is None
    lines = [r for r in caplog.records if r.name == "driverwatch.sinks.mqtt"]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO and "no broker configured" in lines[0].getMessage()
    assert not (tmp_path / "outbox.sqlite").exists()


def test_home_assistant_discovery_resent_on_birth(broker, tmp_path):
    sub = Collector(broker.port, "homeassistant/device/#")
    sink = _sink(broker.port, tmp_path, vehicle="van-7", discovery={"enabled": True})
    assert sub.wait(lambda: len(sub.on("/config")) == 1)
    topic, payload, _ = sub.messages[0]
    assert topic == "homeassistant/device/driverwatch_van-7/config"
    cfg = json.loads(payload)
    comps = cfg["cmps"]
    assert {c["name"] for c in comps.values()} == {"Driver state", "Drowsiness level", "Last alert"}
    assert {c["state_topic"] for c in comps.values()} == {"driverwatch/van-7/state", "driverwatch/van-7/events"}
    assert cfg["availability"][0]["topic"] == "driverwatch/van-7/available"
    assert cfg["dev"]["ids"] == ["driverwatch_van-7"]
    sub.client.publish("homeassistant/status", b"online", qos=1)  # Home Assistant restarted
    assert sub.wait(lambda: len(sub.on("/config")) == 2)
    sink.stop()
    sub.close()


def test_mqtt_311_and_offline_on_unclean_stop(broker, tmp_path):
    sub = Collector(broker.port, "driverwatch/v311/#")
    for n, protocol in enumerate(("3.1.1", "5"), 1):
        sink = _sink(broker.port, tmp_path / protocol, vehicle="v311", protocol=protocol)
        sink.publish_event(_event())
        assert sub.wait(lambda: sub.last("/available") == b"online" and len(sub.on("/events")) == n)  # noqa: B023
        sink.stop(clean=False)  # e.g. a fatal error: not 'stopped' but 'offline'
        assert sub.wait(lambda: sub.last("/available") == b"offline", 3)
    assert len(sub.on("/events")) == 2
    sub.close()


def test_events_carry_the_driver_at_the_wheel_when_they_were_queued(broker, tmp_path):
    sub = Collector(broker.port, "driverwatch/v1/#")
    sink = MqttSink(MqttConfig(host="127.0.0.1", port=broker.port, state_interval_s=0.1, **FAST), "v1",
                    tmp_path / "state")
    try:
        sink.publish_event(_event(0))  # queued (not yet sent: not started) before a driver was selected
        sink.set_driver("anna")
        sink.publish_event(_event(1))
        sink.publish_state({"attention": "on_road"})
        sink.start()
        assert sub.wait(lambda: len(sub.on("/events")) == 2 and sub.on("/state"))
        sink.set_driver("ben")
        sink.publish_event(_event(2))
        sink.set_driver(None)  # no profile selected
        sink.publish_event(_event(3))
        sink.publish_state({"attention": "on_road"})  # only the driver changed: a new state
        assert sub.wait(lambda: len(sub.on("/events")) == 4 and len(sub.on("/state")) == 2)
        drivers = {e["id"].split(":")[0]: e.get("driver") for e in sub.json("/events")}
        assert drivers == {"drive0": None, "drive1": "anna", "drive2": "ben", "drive3": None}
        assert "driver" not in sub.json("/events")[0] and "driver" not in sub.json("/events")[3]
        states = sub.json("/state")
        assert states[0]["driver"] == "anna" and "driver" not in states[1]
    finally:
        sink.stop()
        sub.close()
