"""`driverwatch fleet ingest` at fleet scale and through failures, all real: mosquitto, PostgreSQL
and consumer processes (`python -m driverwatch fleet ingest`) in one shared-subscription group.

- 200 vehicles x 50 events plus 10 % QoS 1 duplicates, 3 consumers: every event stored once, every
  incident right.
- kill -9 of one consumer mid-stream, a broker restart, a PostgreSQL crash-restart: once the killed
  consumer is back (same client id, its session kept by the broker) nothing is lost or doubled.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from support.util import wait_for
from test_fleet import check_incidents

from driverwatch.fleet.simulate import Publisher, simulate_fleet, with_duplicates


class Consumers:
    def __init__(self, broker_port: int, dsn: str, log_dir):
        self.port, self.dsn, self.log_dir = broker_port, dsn, log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, cid: str) -> None:
        with open(self.log_dir / f"{cid}.log", "a") as log:  # the child keeps its own descriptor
            self.procs[cid] = subprocess.Popen(
                [sys.executable, "-m", "driverwatch", "-v", "fleet", "ingest", "--broker", f"127.0.0.1:{self.port}",
                 "--database", self.dsn, "--client-id", cid, "--group", "test-fleet"],
                stdout=log, stderr=subprocess.STDOUT)
        assert wait_for(lambda: "subscribed $share/test-fleet/" in self.log(cid)
                        or self.procs[cid].poll() is not None, 60), self.log(cid)
        assert self.procs[cid].poll() is None, self.log(cid)

    def log(self, cid: str) -> str:
        return (self.log_dir / f"{cid}.log").read_text(errors="replace")

    def kill9(self, cid: str) -> None:
        self.procs[cid].send_signal(signal.SIGKILL)
        self.procs[cid].wait()

    def stop_all(self) -> dict[str, int]:
        codes = {}
        for cid, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    codes[cid] = p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    codes[cid] = p.wait()
        return codes


def _count(conn, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


@pytest.mark.slow
def test_200_vehicles_3_consumers_every_event_once(broker, pg_dsn, tmp_path):
    import psycopg

    fleet = simulate_fleet(200, 50, seed=11)
    msgs = with_duplicates(fleet.messages, 0.10)
    assert fleet.events == 10_000 and len(msgs) - len(fleet.messages) == 1_000
    group = Consumers(broker.port, pg_dsn, tmp_path)
    for cid in ("ingest-a", "ingest-b", "ingest-c"):
        group.start(cid)
    pub = Publisher("127.0.0.1", broker.port, clients=4)
    try:
        pub.send(msgs)
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            # every delivered message processed (the duplicates too), by all three
            assert wait_for(lambda: _count(conn, "SELECT coalesce(sum(received), 0) FROM consumers") >= len(msgs),
                            180, step=0.5), _count(conn, "SELECT sum(received) FROM consumers")
            assert _count(conn, "SELECT count(*) FROM events") == fleet.events
            assert _count(conn, "SELECT count(DISTINCT (vehicle_id, event_id, seq)) FROM events") == fleet.events
            check_incidents(conn, fleet)
            shares = conn.execute("SELECT client_id, received, duplicates, rejected FROM consumers ORDER BY 1").fetchall()
            assert [s[0] for s in shares] == ["ingest-a", "ingest-b", "ingest-c"]
            assert all(s[1] > len(msgs) / 10 for s in shares), shares  # the group shares the load
            assert sum(s[2] for s in shares) >= 1_000 and sum(s[3] for s in shares) == 0
            assert _count(conn, "SELECT count(*) FROM vehicles WHERE status = 'online'") == 200
    finally:
        pub.close()
        codes = group.stop_all()
    assert codes == {"ingest-a": 0, "ingest-b": 0, "ingest-c": 0}
    assert "Traceback" not in "".join(group.log(c) for c in codes)


@pytest.mark.slow
def test_kill9_broker_restart_database_restart_lose_and_double_nothing(durable_broker, postgres, pg_dsn, tmp_path):
    import psycopg

    fleet = simulate_fleet(60, 50, seed=12)
    msgs = with_duplicates(fleet.messages, 0.10)
    half = len(msgs) // 2
    group = Consumers(durable_broker.port, pg_dsn, tmp_path)
    for cid in ("ingest-a", "ingest-b", "ingest-c"):
        group.start(cid)
    conn = psycopg.connect(pg_dsn, autocommit=True)
    pub = None
    received_b: list[int] = []

    def stored() -> int:
        try:
            return _count(conn, "SELECT count(*) FROM events")
        except psycopg.OperationalError:
            return 0

    def kill(i: int) -> None:
        if i == half // 2:
            assert wait_for(lambda: stored() > 0, 60)
            group.kill9("ingest-b")  # dies with a batch in hand: no PUBACK for it
            received_b.append(_count(conn, "SELECT coalesce(sum(received), 0) FROM consumers "
                                           "WHERE client_id = 'ingest-b'"))

    def crash_db(i: int) -> None:
        if i == half // 2:
            postgres.restart("immediate")  # a crash: committed batches survive by the WAL

    try:
        pub = Publisher("127.0.0.1", durable_broker.port, clients=3)
        pub.send(msgs[:half], pace=kill)
        pub.close()
        # The broker restarts while the consumers hold unacknowledged batches and ingest-b's share is
        # queued in its session. Mosquitto forgets shared subscriptions on a restart (not their queued
        # messages): vehicles come back once the consumers have subscribed again (see README).
        subscribed = {c: group.log(c).count("subscribed $share") for c in ("ingest-a", "ingest-c")}
        durable_broker.restart()
        assert wait_for(lambda: all(group.log(c).count("subscribed $share") > n for c, n in subscribed.items()), 60)
        pub = Publisher("127.0.0.1", durable_broker.port, clients=3)
        pub.send(msgs[half:], pace=crash_db)
        conn.close()
        conn = psycopg.connect(pg_dsn, autocommit=True)
        # the killed consumer's share waits in its session on the broker until it is back
        group.start("ingest-b")
        assert wait_for(lambda: stored() >= fleet.events, 180, step=0.5), f"{stored()} of {fleet.events} stored"
        assert _count(conn, "SELECT count(*) FROM events") == fleet.events
        check_incidents(conn, fleet)
        assert "session resumed" in group.log("ingest-b")
        # its share was held for it, and only it took it
        assert _count(conn, "SELECT received FROM consumers WHERE client_id = 'ingest-b'") > received_b[0]
        assert _count(conn, "SELECT coalesce(sum(rejected), 0) FROM consumers") == 0
    finally:
        conn.close()
        if pub:
            pub.close()
        codes = group.stop_all()
    assert all(c == 0 for c in codes.values()), codes
    logs = "".join(group.log(c) for c in codes)
    assert "Traceback" not in logs
    assert "cannot reach the database" in logs or "batch not stored" in logs  # the database outage was felt
