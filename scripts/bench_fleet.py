#!/usr/bin/env python3
"""`driverwatch fleet ingest` throughput: messages/s stored for 1, 2 and 4 consumers (processes in one
shared-subscription group), with mosquitto and PostgreSQL (fsync on) on this machine too.

The messages (simulated vehicles' events and stats, 10 % duplicates) are first queued on the broker
for the group's sessions while no consumer runs; then the consumers start and the clock runs from
their first stored row until all are processed (so the publisher's speed does not count). A last
row measures the naive consumer (one transaction per message) for comparison.

    .venv/bin/python scripts/bench_fleet.py [--vehicles 100 --events 50 --consumers 1 2 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.broker import MOSQUITTO, Broker, free_port  # noqa: E402
from fixtures.postgres import Postgres, pg_bindir  # noqa: E402

from driverwatch.fleet.simulate import Publisher, simulate_fleet, with_duplicates  # noqa: E402

NAIVE_N = 1500


class QuietBroker(Broker):
    """The test broker without its per-packet debug log (a production broker does not log every message)."""

    def write_conf(self) -> None:
        super().write_conf()
        self.conf.write_text(self.conf.read_text().replace("log_type all", "log_type error\nlog_type warning"))


def run(n: int, msgs, broker: Broker, pg: Postgres, tmp: Path, batch_size: int, tag: str) -> tuple[float, int]:
    import psycopg

    dsn = pg.create_database()
    group = f"bench-{tag}"
    ids = [f"bench-{tag}-{i}" for i in range(n)]
    procs = []

    def start():
        for cid in ids:
            log = open(tmp / f"{cid}.log", "a")  # noqa: SIM115 - the child keeps it
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "driverwatch", "-v", "fleet", "ingest", "--broker", f"127.0.0.1:{broker.port}",
                 "--database", dsn, "--client-id", cid, "--group", group, "--batch-size", str(batch_size)],
                stdout=log, stderr=subprocess.STDOUT))
        for cid in ids:
            while "subscribed $share" not in (tmp / f"{cid}.log").read_text():
                time.sleep(0.05)

    def stop():
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        procs.clear()

    start()  # register the sessions and the shared subscription, then leave
    stop()  # sessions exist and are subscribed; now queue everything for them
    pub = Publisher("127.0.0.1", broker.port, clients=4, name=f"sim-{tag}")
    pub.send(msgs, timeout=600)
    pub.close()
    conn = psycopg.connect(dsn, autocommit=True)
    start()
    t0 = None
    total = len(msgs)
    while True:
        got = conn.execute("SELECT coalesce(sum(received), 0) FROM consumers").fetchone()[0]
        if got and t0 is None:
            t0 = time.perf_counter()
        if got >= total:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    stop()
    events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    conn.close()
    return total / elapsed, events


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=100)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--consumers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--no-naive", action="store_true", help="skip the one-transaction-per-message row")
    args = ap.parse_args()
    if MOSQUITTO is None or pg_bindir() is None:
        print("needs mosquitto and PostgreSQL (scripts/setup --dev)", file=sys.stderr)
        return 1
    fleet = simulate_fleet(args.vehicles, args.events, seed=7)
    msgs = with_duplicates(fleet.messages, 0.10)
    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    broker = QuietBroker(tmp / "broker", free_port())
    broker.dir.mkdir()
    broker.start()
    pg = Postgres(pg_bindir())
    pg.init()
    # a real server's durability: fsync on (the test fixture turns it off)
    conf = pg.data / "postgresql.conf"
    conf.write_text(conf.read_text().replace("fsync = off", "fsync = on").replace("full_page_writes = off", ""))
    pg.start()
    try:
        print(f"{len(msgs)} messages ({fleet.events} events of {args.vehicles} vehicles, stats, 10 % duplicates); "
              f"load average {Path('/proc/loadavg').read_text().split()[0]}")
        print("| consumers | batch | msg/s | events stored |")
        print("|---|---|---|---|")
        for n in args.consumers:
            rate, events = run(n, msgs, broker, pg, tmp, 500, f"{n}")
            print(f"| {n} | 500 | {rate:,.0f} | {events} of {fleet.events} |", flush=True)
        if not args.no_naive:
            few = msgs[:NAIVE_N]  # slow: a sample is enough
            n_ev = len({(t, json.loads(p)["id"], json.loads(p)["seq"]) for t, p in few if t.endswith("/events")})
            rate, events = run(1, few, broker, pg, tmp, 1, "naive")
            print(f"| 1 | 1 (a commit per message; first {NAIVE_N} messages) | {rate:,.0f} | {events} of {n_ev} |",
                  flush=True)
    finally:
        broker.stop()
        pg.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
