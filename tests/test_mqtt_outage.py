"""The broker is down for 30 s while 1,000 events are produced: after it comes back every one
arrives, in order, exactly once per id, marked as delayed; the caller was never held up."""

from __future__ import annotations

import statistics
import time

import pytest
from fixtures.broker import Collector

from driverwatch.config.mqtt import MqttConfig
from driverwatch.sinks.mqtt import MqttSink

OUTAGE_S = 30.0
N = 1000


@pytest.mark.slow
def test_broker_outage_30s_loses_nothing(durable_broker, tmp_path):
    vehicle = "outage"
    # A persistent subscriber: the broker keeps its subscription and queues for it across the restart.
    sub = Collector(durable_broker.port, f"driverwatch/{vehicle}/#", client_id="fleet-backend", persistent=True)
    cfg = MqttConfig(host="127.0.0.1", port=durable_broker.port, reconnect_min_s=0.2, reconnect_max_s=1.0)
    sink = MqttSink(cfg, vehicle, tmp_path)
    sink.start()
    assert sub.wait(lambda: sub.last("/available") == b"online", 10)

    durable_broker.stop()
    stopped = time.monotonic()
    costs = []
    for i in range(N):
        t0 = time.perf_counter()
        sink.publish_event({"id": f"drive:microsleep:{i}", "seq": 0, "type": "start", "kind": "microsleep",
                            "severity": "critical", "t": i * 0.025, "t_start": i * 0.025, "evidence": {"n": i}})
        costs.append(time.perf_counter() - t0)
        time.sleep(0.025)  # ~25 s of a stream, inside the outage
    assert sink.health()["connected"] is False
    assert sink.outbox.depth() == N
    # Never held up by the network: an SQLite commit, not a connect attempt or timeout.
    assert statistics.median(costs) < 0.005, f"median publish_event {statistics.median(costs) * 1e3:.2f} ms"
    assert max(costs) < 0.5, f"slowest publish_event {max(costs):.3f} s"
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
    durable_broker.start()

    assert sub.wait(lambda: len({e["id"] for e in sub.json("/events")}) >= N, 60), \
        f"only {len({e['id'] for e in sub.json('/events')})} of {N} arrived"
    events = sub.json("/events")
    first = []
    for e in events:
        if e["id"] not in first:
            first.append(e["id"])
    assert first == [f"drive:microsleep:{i}" for i in range(N)]  # all, in order, each id once after de-dup
    assert all(e["delayed"] is True and e["delay_s"] >= 5 for e in events[:N // 2])
    assert events[0]["delay_s"] >= OUTAGE_S - 3
    assert sink.health()["connected"] is True
    deadline = time.monotonic() + 5
    while sink.outbox.depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sink.outbox.depth() == 0  # deleted once acknowledged
    sink.stop()
    sub.close()
