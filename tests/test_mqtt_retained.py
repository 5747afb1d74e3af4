"""A command published retained would run again at every (re)connect: the sink refuses it and
clears it from the broker (a zero-length retained message), so it is not refused again at every
connect either. Against a real mosquitto."""

import json

from fixtures.broker import Collector
from test_mqtt import _sink

PREFIX = "driverwatch/v1/"


def _rejected_retained(sub):
    return [r for r in sub.json("command_result") if not r["ok"] and "retained" in r["error"]]


def test_retained_command_is_refused_and_cleared(broker, tmp_path):
    sub = Collector(broker.port, PREFIX + "#")
    pub = sub.client
    pub.publish(PREFIX + "set/snooze", json.dumps({"minutes": 5}), qos=1, retain=True).wait_for_publish(3)
    pub.publish(PREFIX + "set/recalibrate", b"{}", qos=1, retain=True).wait_for_publish(3)
    sink = _sink(broker.port, tmp_path)
    try:
        assert sub.wait(lambda: len(_rejected_retained(sub)) == 2), sub.json("command_result")
        # the sink cleared both: the zero-length retained messages reach us too
        assert sub.wait(lambda: {t for t, p, _ in sub.messages if not p} == {PREFIX + "set/snooze",
                                                                             PREFIX + "set/recalibrate"})
        assert sink.commands.empty()
        # a newcomer gets no retained command (a marker published after subscribing arrives after
        # any retained message would have)
        late = Collector(broker.port, PREFIX + "set/#")
        late.client.publish(PREFIX + "set/marker", b"x", qos=1)
        assert late.wait(lambda: late.on("set/marker"))
        assert [t for t, _, retained in late.messages if retained] == []
        late.close()
    finally:
        sink.stop()
    # the next connect is not refused again, and the clearing itself was not taken for a command
    sink = _sink(broker.port, tmp_path)
    try:
        assert sub.wait(lambda: sub.on("available").count(b"online") == 2)
        pub.publish(PREFIX + "set/shutdown", b"{}", qos=1)  # answered after anything retained
        assert sub.wait(lambda: any(r.get("command") == "shutdown" for r in sub.json("command_result")))
        assert len(_rejected_retained(sub)) == 2
        assert [r for r in sub.json("command_result") if "must be a number" in r.get("error", "")] == []
        assert sink.commands.empty()
    finally:
        sink.stop()
        sub.close()
