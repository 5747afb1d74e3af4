"""The publishing process is SIGKILLed mid-stream: its last will says 'offline', the outbox file is
intact, and after a restart every event it had committed arrives (duplicates only by id)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fixtures.broker import Collector

HELPER = Path(__file__).with_name("helper_mqtt_publisher.py")
KEEPALIVE = 5


def _spawn(port: int, outbox: Path, vehicle: str, count: int) -> subprocess.Popen:
    # As fast as it can: the producer outruns the sender, so the kill leaves a backlog behind.
    return subprocess.Popen([sys.executable, str(HELPER), str(port), str(outbox), vehicle, "--count", str(count),
                             "--keepalive", str(KEEPALIVE), "--rate", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing(broker, tmp_path):
    vehicle = "killtest"
    sub = Collector(broker.port, f"driverwatch/{vehicle}/#")
    outbox = tmp_path / "state" / "outbox.sqlite"
    proc = _spawn(broker.port, outbox, vehicle, count=100_000)
    queued: list[int] = []
    reader = threading.Thread(target=lambda: [queued.append(int(line.split()[1])) for line in proc.stdout
                                              if line.startswith("queued")], daemon=True)
    reader.start()
    assert sub.wait(lambda: sub.last("/available") == b"online", 15), proc.stderr.read() if proc.poll() else ""
    deadline = time.monotonic() + 20
    while len(queued) < 3000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(queued) >= 3000, "publisher did not stream"
    assert len(sub.on("/events")) > 0, "nothing was delivered before the kill"

    proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    proc.wait()
    reader.join(5)
    # Last will within the keep-alive window (the kernel closes the socket, so usually at once).
    assert sub.wait(lambda: sub.last("/available") == b"offline", 1.5 * KEEPALIVE + 2)
    assert time.monotonic() - killed < 1.5 * KEEPALIVE + 2
    committed = queued[-1]
    with sqlite3.connect(outbox) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        left = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    assert left > 0, "the kill should have left unacknowledged events in the outbox"

    # Restart: the new process drains what the killed one committed, then stops cleanly.
    proc2 = _spawn(broker.port, outbox, vehicle, count=0)
    out, err = proc2.communicate(timeout=60)
    assert proc2.returncode == 0, err
    assert "drained depth=0" in out
    assert sub.wait(lambda: sub.last("/available") == b"stopped", 5)

    events = [json.loads(p) for p in sub.on("/events")]
    first_seen: list[int] = []
    by_id: dict[str, dict] = {}
    for e in events:
        if e["id"] in by_id:  # a duplicate is the same event again, nothing else
            same = {k: v for k, v in e.items() if k not in ("delayed", "delay_s")}
            assert same == {k: v for k, v in by_id[e["id"]].items() if k not in ("delayed", "delay_s")}
            continue
        by_id[e["id"]] = e
        first_seen.append(e["evidence"]["n"])
    assert first_seen == sorted(first_seen), "events arrived out of order"
    assert set(range(committed + 1)) <= set(first_seen), \
        f"lost {sorted(set(range(committed + 1)) - set(first_seen))[:10]}"
    assert len(events) >= committed + 1
    sub.close()
