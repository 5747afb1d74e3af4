"""Affective estimates stay on the device unless `privacy.affective_telemetry` is on: through a real
mosquitto, no MQTT payload (events, state, stats) carries an affective kind or score."""

from __future__ import annotations

import pytest
from fixtures.broker import Collector
from test_affect import drive, frown

from driverwatch.config import Config, parse_config
from driverwatch.config.mqtt import MqttConfig
from driverwatch.monitor.events import SEVERITY_RANK, Condition, EventIds
from driverwatch.monitor.remedies import AFFECTIVE_KINDS, AUTOMATION_KINDS
from driverwatch.samples import HeartFeatures
from driverwatch.sinks.mqtt import MqttSink

WORDS = (b"stress", b"frustration", b"mind_wandering", b"calm_suggestion", b"affect")


def racing(t):
    return HeartFeatures(t=t, hr=65.0 if t < 130 else 95.0, rmssd=60.0 if t < 130 else 25.0, quality=1.0)


@pytest.fixture(scope="module")
def affective_drive():
    """Heart arousal, then a sustained frown: stress, frustration_like and calm_suggestion events."""
    events, m = drive(frown, at=(200.0, 30.0), duration=225.0, heart=racing, fps=10.0, finish=False)
    assert {"stress", "frustration_like", "calm_suggestion"} <= {e.kind for e in events}
    return events, m.snapshot()


def test_affective_telemetry_is_off_by_default():
    assert Config().privacy.affective_telemetry is False
    assert parse_config({"privacy": {"affective_telemetry": True}}).privacy.affective_telemetry is True


@pytest.mark.parametrize("affective", [False, True])
def test_mqtt_carries_affective_kinds_and_scores_only_when_turned_on(broker, tmp_path, affective_drive, affective):
    events, snap = affective_drive
    sub = Collector(broker.port, "driverwatch/v1/#")
    sink = MqttSink(MqttConfig(host="127.0.0.1", port=broker.port, reconnect_min_s=0.2, reconnect_max_s=1.0),
                    "v1", tmp_path / "state", affective=affective)
    sink.start()
    try:
        # mqtt.min_severity (notice) keeps the info events on the device, except those for automations
        every = [*events, Condition(EventIds("drive"), "face_missing").start(239.0, "notice", {})]  # safety: sent
        events = [e for e in every if SEVERITY_RANK[e.severity] >= sink.min_rank or e.kind in AUTOMATION_KINDS]
        assert len(events) < len(every)  # there are info events to leave out
        for e in every:
            sink.publish_event(e.to_json())
        sink.publish_state({**snap, "hr_bpm": 95.0, "rmssd_ms": 25.0})
        sink.publish_stats({"fps": 10.0, "driver": {"stress": snap["stress"], "perclos": 0.1}})
        safety = [e for e in events if e.kind not in AFFECTIVE_KINDS]
        n_events = len(events) if affective else len(safety)
        assert safety and sub.wait(lambda: len(sub.on("/events")) == n_events and sub.on("/state") and sub.on("/stats"))
        raw = b"".join(p for _, p, _ in sub.messages)
        got = {e["kind"] for e in sub.json("/events")}
        if affective:
            assert {"stress", "calm_suggestion"} <= got and got == {e.kind for e in events}  # the calm cue's info too
            assert sub.json("/state")[-1]["stress"] == snap["stress"] == "high"
        else:
            assert not got & AFFECTIVE_KINDS
            assert not [w for w in WORDS if w in raw], raw[:400]
            assert "stress" not in sub.json("/state")[-1] and "stress" not in sub.json("/stats")[-1]["driver"]
            assert "hr_bpm" not in sub.json("/state")[-1] and "rmssd_ms" not in sub.json("/state")[-1]
    finally:
        sink.stop(clean=True)
        sub.close()
