"""A publishing process for the kill test: streams events through MqttSink and prints
"queued <n> <seq>" after each publish_event returned (i.e. after the outbox commit).

python helper_mqtt_publisher.py PORT OUTBOX VEHICLE [--count N] [--rate HZ] [--start I] [--keepalive S]
With --count 0 it only drains what the outbox holds, then stops cleanly.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from driverwatch.config.mqtt import MqttConfig
from driverwatch.sinks.mqtt import MqttSink


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("outbox", type=Path)
    p.add_argument("vehicle")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--rate", type=float, default=200.0, help="events per second; 0 = as fast as possible")
    p.add_argument("--keepalive", type=int, default=5)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    cfg = MqttConfig(host="127.0.0.1", port=args.port, keepalive=args.keepalive, reconnect_min_s=0.2,
                     reconnect_max_s=1.0, outbox={"path": args.outbox})
    sink = MqttSink(cfg, args.vehicle, args.outbox.parent)
    sink.start()
    for i in range(args.count):
        seq = sink.publish_event({"id": f"{args.vehicle}:yawn:{i}", "seq": 0, "type": "start", "kind": "yawn",
                                  "severity": "notice", "t": i * 0.01, "t_start": i * 0.01,
                                  "evidence": {"n": i}})
        print(f"queued {i} {seq}", flush=True)
        if args.rate:
            time.sleep(1 / args.rate)
    deadline = time.monotonic() + 30
    while sink.outbox.depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    print(f"drained depth={sink.outbox.depth()}", flush=True)
    sink.stop(clean=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
