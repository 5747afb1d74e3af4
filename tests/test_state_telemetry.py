"""`state` on change of a driver-facing field (figures ride along), HR and RMSSD in it, and the
`stats` heartbeat (state_seq, the moving figures), against a real mosquitto. HR and RMSSD are sent
only with privacy.affective_telemetry (tests/test_privacy.py)."""

from __future__ import annotations

from fixtures.broker import Collector
from test_mqtt import _sink

from driverwatch.sinks.telemetry import state_change_key, state_payload

SNAP = {"schema": 1, "t": 1.0, "calibration": {"status": "calibrating", "progress": 0.1, "heart": False},
        "face_present": True, "eyes_observable": True, "eyes": "open", "attention": "on_road", "drowsiness": "alert",
        "perclos": 0.05, "blink_rate_per_min": 14.0, "stress": None, "hr_bpm": 71.0, "rmssd_ms": 42.5,
        "heart_sensor": "ok", "speed_kmh": 60.0, "snoozed": False, "active": [], "degraded": False, "counts": {}}


def test_only_driver_facing_fields_make_a_new_state():
    base = state_change_key(state_payload(SNAP)[0])
    moving = {"t": 9.0, "perclos": 0.07, "blink_rate_per_min": 18.0, "hr_bpm": 88.0, "rmssd_ms": 30.1,
              "speed_kmh": 95.0, "eyes": "closed", "counts": {"blink": 3},
              "calibration": {"status": "calibrating", "progress": 0.5, "heart": False}}
    assert state_change_key(state_payload({**SNAP, **moving})[0]) == base
    for change in ({"drowsiness": "drowsy"}, {"attention": "off_road"}, {"face_present": False},
                   {"stress": "elevated"}, {"heart_sensor": "lost"}, {"degraded": True},
                   {"calibration": {"status": "calibrated", "progress": 1.0, "heart": False}},
                   {"active": [{"kind": "microsleep", "severity": "critical", "id": "d:microsleep:1", "t_start": 5.0}]}):
        assert state_change_key(state_payload({**SNAP, **change})[0]) != base, change
    payload, dropped = state_payload(SNAP)
    assert payload["hr_bpm"] == 71.0 and payload["rmssd_ms"] == 42.5 and dropped == []


def test_state_on_change_and_the_stats_heartbeat(broker, tmp_path):
    sub = Collector(broker.port, "driverwatch/v1/#")
    sink = _sink(broker.port, tmp_path, state_interval_s=0.1)
    sink.affective = True  # privacy.affective_telemetry: HR and RMSSD go with the affective estimates
    try:
        sink.publish_state(SNAP)
        assert sub.wait(lambda: len(sub.on("/state")) == 1, 5)
        for i in range(10):  # only the figures move: nothing new is sent
            sink.publish_state({**SNAP, "t": 2.0 + i, "perclos": 0.05 + i / 100, "hr_bpm": 70.0 + i})
        sink.publish_state({**SNAP, "t": 20.0, "drowsiness": "drowsy", "hr_bpm": 90.0})
        assert sub.wait(lambda: len(sub.on("/state")) == 2, 5)
        first, second = sub.json("/state")
        assert first["state_seq"] == 1 and first["hr_bpm"] == 71.0 and first["rmssd_ms"] == 42.5
        assert second["state_seq"] == 2 and second["drowsiness"] == "drowsy" and second["hr_bpm"] == 90.0
        sink.publish_stats({"fps": 15.0, "driver": {"t": 30.0, "perclos": 0.08, "hr_bpm": 92.0, "rmssd_ms": 28.0},
                            "web": {"url": "http://127.0.0.1:8470/", "watching": False, "served": 12}})
        assert sub.wait(lambda: sub.on("/stats"), 5)
        stats = sub.json("/stats")[0]
        assert stats["state_seq"] == 2, stats  # the retained state numbered 2 still holds
        assert stats["driver"] == {"t": 30.0, "perclos": 0.08, "hr_bpm": 92.0, "rmssd_ms": 28.0}
        assert stats["web"]["served"] == 12
        assert len(sub.on("/state")) == 2
    finally:
        sink.stop()
        sub.close()
