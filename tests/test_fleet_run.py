"""A real `driverwatch run` (a rendered microsleep drive played in real time as the camera) publishing
to mosquitto, a real `driverwatch fleet ingest` consuming into PostgreSQL, and the broker out of the
vehicle's reach while the microsleep happens (its link goes through a TCP relay the test cuts, as in
a dead zone): once it is back, every event the vehicle sends (its local event log, at
mqtt.min_severity and above) is in the database once, and the microsleep is an incident marked
delayed. (A broker restart, with its Mosquitto caveat, is test_fleet_scale's.)"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from support.util import free_port, read_jsonl, wait_for
from test_fleet_scale import Consumers

from driverwatch.monitor.events import SEVERITY_RANK

CALIBRATION_S = 5.0
OUTAGE_AFTER_EVENT_S = 7.0  # the link stays down this long after the microsleep: its events are late


class Relay:
    """TCP relay 127.0.0.1:port -> target; cut() drops every connection and stops listening."""

    def __init__(self, target: int):
        self.target, self.port = target, free_port()
        self.conns: list[socket.socket] = []
        self.server = None

    def open(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.server,), daemon=True).start()

    def _accept(self, server) -> None:
        while True:
            try:
                a, _ = server.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [a, b]
            for x, y in ((a, b), (b, a)):
                threading.Thread(target=self._pipe, args=(x, y), daemon=True).start()

    @staticmethod
    def _pipe(src, dst) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone would not
        self.server.close()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        self.conns = []


@pytest.fixture(scope="module")
def microsleep_clip(models_dir, tmp_path_factory):
    from driverwatch.sources.scenario import render_cached

    video, _truth = render_cached("microsleep", fps=15, cache_dir=tmp_path_factory.mktemp("clips"),
                                  models_dir=models_dir, calibration_s=CALIBRATION_S)
    return video


@pytest.mark.slow
def test_run_through_a_broker_outage_reaches_the_database(tmp_path, models_dir, broker, pg_dsn,
                                                         microsleep_clip):
    import psycopg

    group = Consumers(broker.port, pg_dsn, tmp_path)
    group.start("ingest-run")
    relay = Relay(broker.port)
    relay.open()
    cfg = tmp_path / "driverwatch.toml"
    cfg.write_text(
        f'[daemon]\nvehicle_id = "test-van"\nstate_dir = "{tmp_path / "state"}"\nlog_dir = "{tmp_path / "log"}"\n'
        f'[camera]\ndevice = "{microsleep_clip}"\n'
        f'[vision]\nmodels_dir = "{models_dir}"\n'
        f'[monitor.calibration]\ncalibration_s = {CALIBRATION_S}\n'
        f'[chime]\noutput = "none"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {relay.port}\nreconnect_min_s = 0.5\nreconnect_max_s = 2\n'
    )
    event_log = tmp_path / "log" / "events.jsonl"
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-c", str(cfg), "run"],
                              stderr=subprocess.PIPE, text=True)
    conn = psycopg.connect(pg_dsn, autocommit=True)
    try:
        def status():
            try:
                row = conn.execute("SELECT status FROM vehicles WHERE vehicle_id = 'test-van'").fetchone()
            except psycopg.errors.UndefinedTable:
                return None
            return row and row[0]

        assert wait_for(lambda: status() == "online", 60), "the vehicle never came online in the database"
        relay.cut()

        def microsleep_over():
            return [e for e in read_jsonl(event_log) if e["kind"] == "microsleep" and e.get("t_end") is not None]

        assert wait_for(microsleep_over, 90), f"no microsleep in the vehicle's log: {read_jsonl(event_log)}"
        time.sleep(OUTAGE_AFTER_EVENT_S)  # the outage's length (a scenario parameter, not a synchronisation)
        relay.open()

        def sent_by_vehicle():
            return {(e["id"], e["seq"]) for e in read_jsonl(event_log)
                    if SEVERITY_RANK[e["severity"]] >= SEVERITY_RANK["notice"]}

        def in_db():
            return {(r[0], r[1]) for r in conn.execute("SELECT event_id, seq FROM events WHERE vehicle_id = 'test-van'")}

        assert wait_for(lambda: microsleep_over() and {(e["id"], e["seq"]) for e in microsleep_over()} <= in_db(),
                        60), f"in the database: {sorted(in_db())}"
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
        assert wait_for(lambda: sent_by_vehicle() <= in_db() and status() == "stopped", 30), \
            f"missing: {sorted(sent_by_vehicle() - in_db())}"
        assert in_db() == sent_by_vehicle()  # nothing else, each once (the primary key)
        rows = conn.execute("SELECT event_id, severity, started_at, ended_at, delayed, messages FROM incidents "
                            "WHERE vehicle_id = 'test-van' AND kind = 'microsleep'").fetchall()
        assert rows, "no microsleep incident"
        ev_id, severity, started, ended, delayed, messages = rows[0]
        assert ev_id.endswith(":microsleep:1") and severity in ("warning", "critical")
        assert ended is not None and started <= ended and delayed is True
        logged = [e for e in read_jsonl(event_log) if e["id"] == ev_id]
        assert messages == len(logged)
        late = conn.execute("SELECT delayed, delay_s FROM events WHERE event_id = %s", (ev_id,)).fetchall()
        assert all(d and s >= OUTAGE_AFTER_EVENT_S - 2 for d, s in late), late
    finally:
        conn.close()
        relay.cut()
        if daemon.poll() is None:
            daemon.kill()
        codes = group.stop_all()
    assert codes == {"ingest-run": 0}
    assert "Traceback" not in daemon.stderr.read()
